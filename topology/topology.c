/* Loading a node's topology: hwloc (live with I/O, or an XML export), the
 * GPUs in CUDA order (PCI bus id), their NUMA node, cores and nearest NIC,
 * then the islands from the most trusted source that answers. */
#include "config.h"

#include "topology/topology.h"

#include <errno.h>
#include <hwloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *n56_island_source_name(enum n56_island_source s)
{
	switch (s) {
	case N56_ISLANDS_ADMIN_MAP:
		return "admin-map";
	case N56_ISLANDS_NVML:
		return "nvml";
	case N56_ISLANDS_HWLOC_DISTANCES:
		return "hwloc-distances";
	case N56_ISLANDS_PCI_SWITCH:
		return "pci-switch";
	case N56_ISLANDS_SLURM_BLOCK:
		return "slurm-block";
	case N56_ISLANDS_NONE:
		break;
	}
	return "none";
}

void n56_topo_fact(struct n56_topology *t, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL, *all = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if (asprintf(&all, "%s%s\n", t->facts ? t->facts : "", line) >= 0) {
		free(t->facts);
		t->facts = all;
	}
	free(line);
}

/* Islands are numbered by their lowest GPU index, so that equal topologies
 * give equal numbers whatever the source. */
int n56_topo_set_islands(struct n56_topology *t, const int *label)
{
	int n = t->ngpus, k = 0;
	int *id = malloc(sizeof(int) * (n ? n : 1));

	if (!id)
		return -1;
	for (int i = 0; i < n; i++)
		id[i] = -1;
	for (int i = 0; i < n; i++) {
		if (id[i] >= 0)
			continue;
		for (int j = i; j < n; j++)
			if (id[j] < 0 && label[j] == label[i])
				id[j] = k;
		k++;
	}
	for (int i = 0; i < t->nislands; i++)
		free(t->islands[i]);
	free(t->islands);
	free(t->island_size);
	t->islands = calloc(k ? k : 1, sizeof(int *));
	t->island_size = calloc(k ? k : 1, sizeof(int));
	t->nislands = 0;
	if (!t->islands || !t->island_size) {
		free(id);
		return -1;
	}
	t->nislands = k;
	for (int s = 0; s < k; s++) {
		int m = 0;
		t->islands[s] = malloc(sizeof(int) * n);
		if (!t->islands[s]) {
			free(id);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (id[i] == s) {
				t->islands[s][m++] = i;
				t->gpus[i].island = s;
			}
		t->island_size[s] = m;
	}
	free(id);
	return 0;
}

void n56_topology_free(struct n56_topology *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->ngpus; i++) {
		free(t->gpus[i].nic);
		free(t->gpus[i].cpuset);
		free(t->gpus[i].name);
		free(t->gpus[i].numa_nodes);
	}
	free(t->gpus);
	for (int i = 0; i < t->nislands; i++)
		free(t->islands[i]);
	free(t->islands);
	free(t->island_size);
	free(t->source);
	free(t->facts);
	free(t->domain);
	free(t->own_island_of);
	if (t->hwloc)
		hwloc_topology_destroy(t->hwloc);
	free(t);
}

static bool is_io(hwloc_obj_t o)
{
	return hwloc_obj_type_is_io(o->type);
}

/* Display (03xx) or processing accelerator (1200) functions of NVIDIA and
 * AMD: a GPU, also when no GPU backend named it. */
static bool is_gpu_pci(hwloc_obj_t o)
{
	unsigned v, c;

	if (o->type != HWLOC_OBJ_PCI_DEVICE)
		return false;
	v = o->attr->pcidev.vendor_id;
	c = o->attr->pcidev.class_id;
	return (v == 0x10de || v == 0x1002) &&
	       ((c >> 8) == 0x03 || c == 0x1200);
}

static hwloc_obj_t pci_parent(hwloc_obj_t o)
{
	while (o && o->type != HWLOC_OBJ_PCI_DEVICE)
		o = o->parent;
	return o;
}

/* CUDA/NVML/RSMI OS devices sit under their PCI GPU; an MI300 in CPX mode
 * has six of them under one PCI device, which stays one GPU. */
static bool is_gpu_osdev(hwloc_obj_t o)
{
	const char *n = o->name ? o->name : "";

	if (o->attr->osdev.type != HWLOC_OBJ_OSDEV_GPU &&
	    o->attr->osdev.type != HWLOC_OBJ_OSDEV_COPROC)
		return false;
	return !strncmp(n, "cuda", 4) || !strncmp(n, "nvml", 4) ||
	       !strncmp(n, "rsmi", 4);
}

static int pci_cmp(const void *a, const void *b)
{
	hwloc_obj_t x = *(hwloc_obj_t const *)a, y = *(hwloc_obj_t const *)b;
	unsigned long kx = ((unsigned long)x->attr->pcidev.domain << 24) |
			   ((unsigned long)x->attr->pcidev.bus << 16) |
			   (x->attr->pcidev.dev << 8) | x->attr->pcidev.func;
	unsigned long ky = ((unsigned long)y->attr->pcidev.domain << 24) |
			   ((unsigned long)y->attr->pcidev.bus << 16) |
			   (y->attr->pcidev.dev << 8) | y->attr->pcidev.func;

	return kx < ky ? -1 : kx > ky;
}

static int add_obj(hwloc_obj_t **v, int *n, hwloc_obj_t o)
{
	hwloc_obj_t *nv;

	for (int i = 0; i < *n; i++)
		if ((*v)[i] == o)
			return 0;
	nv = realloc(*v, sizeof(*nv) * (*n + 1));
	if (!nv)
		return -1;
	nv[(*n)++] = o;
	*v = nv;
	return 0;
}

/* CUDA numbers the NVIDIA devices alone, ROCm the AMD ones alone: a node
 * with any NVIDIA GPU takes NVIDIA's index space (an AMD display adapter
 * beside it is no CUDA device), else AMD's. Returns how many of the other
 * vendor were left out of v. */
static int keep_runtime_vendor(hwloc_obj_t *v, int *n, unsigned *vendor)
{
	int k = 0, nv = 0;

	for (int i = 0; i < *n; i++)
		nv += v[i]->attr->pcidev.vendor_id == 0x10de;
	*vendor = nv ? 0x10de : 0x1002;
	for (int i = 0; i < *n; i++)
		if (v[i]->attr->pcidev.vendor_id == *vendor)
			v[k++] = v[i];
	k = *n - k;
	*n -= k;
	return k;
}

static int find_gpus(hwloc_topology_t h, hwloc_obj_t **out, int *n,
		     int *npartitions, int *nother, unsigned *vendor)
{
	hwloc_obj_t o = NULL;

	*out = NULL;
	*n = 0;
	*npartitions = 0;
	while ((o = hwloc_get_next_pcidev(h, o)))
		if (is_gpu_pci(o) && add_obj(out, n, o))
			return -1;
	o = NULL;
	while ((o = hwloc_get_next_osdev(h, o))) {
		hwloc_obj_t p;

		if (!is_gpu_osdev(o))
			continue;
		if (!strncmp(o->name, "rsmi", 4))
			(*npartitions)++;
		p = pci_parent(o);
		if (p && add_obj(out, n, p))
			return -1;
	}
	*nother = keep_runtime_vendor(*out, n, vendor);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), pci_cmp);
	return 0;
}

static int nic_rank(hwloc_obj_t o)
{
	if (o->type != HWLOC_OBJ_OS_DEVICE)
		return 0;
	if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS)
		return 3;
	if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK)
		return o->name && !strncmp(o->name, "ib", 2) ? 2 : 1;
	return 0;
}

static void consider_nic(hwloc_obj_t o, hwloc_obj_t *best, int *rank)
{
	int r = nic_rank(o);

	if (!r || !o->name)
		return;
	if (r > *rank || (r == *rank && strcmp(o->name, (*best)->name) < 0)) {
		*best = o;
		*rank = r;
	}
}

static void nics_below(hwloc_obj_t o, hwloc_obj_t *best, int *rank)
{
	for (hwloc_obj_t c = o->io_first_child; c; c = c->next_sibling) {
		consider_nic(c, best, rank);
		nics_below(c, best, rank);
	}
}

static hwloc_obj_t non_io_ancestor(hwloc_obj_t o)
{
	while (o && is_io(o))
		o = o->parent;
	return o;
}

/* Walks up from the GPU by hand (hwloc_get_common_ancestor_obj() crashed on
 * I/O objects of files with NICs): the first level with a NIC wins, and
 * InfiniBand-like devices beat Ethernet there. */
static hwloc_obj_t nearest_nic(hwloc_topology_t h, hwloc_obj_t gpu)
{
	hwloc_obj_t best = NULL;
	int rank = 0;

	for (hwloc_obj_t a = gpu->parent; a; a = a->parent) {
		if (is_io(a)) {
			nics_below(a, &best, &rank);
		} else {
			hwloc_obj_t o = NULL;

			while ((o = hwloc_get_next_osdev(h, o))) {
				hwloc_obj_t na = non_io_ancestor(o);

				if (na && (na == a ||
					   hwloc_obj_is_in_subtree(h, na, a)))
					consider_nic(o, &best, &rank);
			}
		}
		if (best)
			return best;
	}
	return NULL;
}

static char *gpu_model(hwloc_obj_t gpu)
{
	const char *m = NULL;

	for (hwloc_obj_t c = gpu->io_first_child; c && !m; c = c->next_sibling)
		m = hwloc_obj_get_info_by_name(c, "GPUModel");
	if (!m)
		m = hwloc_obj_get_info_by_name(gpu, "PCIDevice");
	return m ? strdup(m) : NULL;
}

static int describe_gpu(hwloc_topology_t h, hwloc_obj_t o,
			struct n56_topo_gpu *g)
{
	hwloc_obj_t near = non_io_ancestor(o), nic;

	snprintf(g->pci, sizeof(g->pci), "%04x:%02x:%02x.%x",
		 (unsigned)o->attr->pcidev.domain, o->attr->pcidev.bus,
		 o->attr->pcidev.dev, o->attr->pcidev.func);
	g->numa = -1;
	if (near && near->nodeset && !hwloc_bitmap_iszero(near->nodeset)) {
		g->numa = hwloc_bitmap_first(near->nodeset);
		if (hwloc_bitmap_list_asprintf(&g->numa_nodes, near->nodeset) <
		    0)
			return -1;
	}
	if (near && near->cpuset &&
	    hwloc_bitmap_list_asprintf(&g->cpuset, near->cpuset) < 0)
		return -1;
	nic = nearest_nic(h, o);
	if (nic && !(g->nic = strdup(nic->name)))
		return -1;
	g->name = gpu_model(o);
	return 0;
}

/* The I/O filters: PCI devices and bridges kept whole, so that NVSwitch
 * functions (class 0680, "unimportant" to hwloc) and the PCI paths to the
 * NICs stay; OS devices as hwloc finds them important. */
static void set_filters(hwloc_topology_t h)
{
	hwloc_topology_set_type_filter(h, HWLOC_OBJ_PCI_DEVICE,
				       HWLOC_TYPE_FILTER_KEEP_ALL);
	hwloc_topology_set_type_filter(h, HWLOC_OBJ_BRIDGE,
				       HWLOC_TYPE_FILTER_KEEP_ALL);
	hwloc_topology_set_type_filter(h, HWLOC_OBJ_OS_DEVICE,
				       HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
}

/* OpenCL and GL cost about half a second on a GPU node; CUDA would create a
 * context on every GPU; NVML we ask ourselves. */
static const char *const excluded_components[] = { "opencl", "gl", "cuda",
						   "levelzero" };

/* Debian's hwloc loads its plugins (OpenCL, GL, libxml2, libpciaccess)
 * with dlopen in every hwloc_topology_init(): about 1.2 ms even for a small
 * XML, OpenCL/GL pull in the GPU stacks, and libpciaccess leaks its PCI
 * name table on every discovery. None is needed: hwloc's Linux backend
 * reads PCI from sysfs and its built-in parser reads XML. They are kept
 * out through hwloc's own variable, set only around the init and only when
 * the caller has not set it. */
static bool plugins_blacklist_begin(void)
{
	if (getenv("HWLOC_PLUGINS_BLACKLIST"))
		return false;
	return setenv("HWLOC_PLUGINS_BLACKLIST",
		      "hwloc_opencl,hwloc_gl,hwloc_pci,hwloc_xml_libxml",
		      1) == 0;
}

static int open_hwloc(const char *xml, bool threaded, hwloc_topology_t *out,
		      char *err, size_t errlen)
{
	hwloc_topology_t h;
	struct stat st;
	bool blacklisted;
	int r;

	*out = NULL;
	if (xml && stat(xml, &st) < 0) {
		n56_error_at(err, errlen, xml, N56_NOPOS,
			     "cannot read the topology XML: %s",
			     strerror(errno));
		return -1;
	}
	if (xml && !S_ISREG(st.st_mode)) {
		n56_error_at(err, errlen, xml, N56_NOPOS,
			     "not a regular file; give an hwloc XML export "
			     "(lstopo --of xml)");
		return -1;
	}
	blacklisted = !threaded && plugins_blacklist_begin();
	r = hwloc_topology_init(&h);
	if (blacklisted)
		unsetenv("HWLOC_PLUGINS_BLACKLIST");
	if (r < 0) {
		snprintf(err, errlen, "hwloc_topology_init: %s",
			 strerror(errno));
		return -1;
	}
	set_filters(h);
	if (xml) {
		if (hwloc_topology_set_xml(h, xml) < 0) {
			n56_error_at(err, errlen, xml, N56_NOPOS,
				     "not a valid hwloc XML export (check it "
				     "with `lstopo --input %s`)",
				     xml);
			goto fail;
		}
	} else {
		for (size_t i = 0; i < sizeof(excluded_components) /
					       sizeof(excluded_components[0]);
		     i++)
			hwloc_topology_set_components(
				h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
				excluded_components[i]);
	}
	if (hwloc_topology_load(h) < 0) {
		if (xml)
			n56_error_at(err, errlen, xml, N56_NOPOS,
				     "not a valid hwloc XML export (check it "
				     "with `lstopo --input %s`)",
				     xml);
		else
			snprintf(err, errlen,
				 "hwloc could not discover this "
				 "node's topology: %s",
				 strerror(errno));
		goto fail;
	}
	*out = h;
	return 0;
fail:
	hwloc_topology_destroy(h);
	return -1;
}

static int islands_from_nvml(struct n56_topology *t, const char *library,
			     int *label)
{
	char(*pci)[32] = malloc(sizeof(*pci) * (t->ngpus ? t->ngpus : 1));
	char(*name)[96] = malloc(sizeof(*name) * (t->ngpus ? t->ngpus : 1));
	struct n56_nvml_found *f = calloc(1, sizeof(*f));
	int r = -1;

	if (!pci || !name || !f)
		goto out;
	for (int i = 0; i < t->ngpus; i++)
		memcpy(pci[i], t->gpus[i].pci, sizeof(pci[i]));
	f->label = label;
	f->name = name;
	r = n56_nvml_islands(library, pci, t->ngpus, f);
	/* hwloc's live view has no model names without its PCI plugin. */
	for (int i = 0; r == 0 && i < t->ngpus; i++)
		if (!t->gpus[i].name && name[i][0] &&
		    !(t->gpus[i].name = strdup(name[i]))) {
			r = -2;
			goto out;
		}
	if (f->facts[0])
		n56_topo_fact(t, "%.*s", (int)strlen(f->facts) - 1, f->facts);
	if (r < 0) {
		n56_topo_fact(t, "nvml: not used: %s", f->why);
		r = 0;
		goto out;
	}
	/* The admin map's domain, when it decided, stays the domain. */
	r = 1;
	if (f->domain[0] && !t->domain && !(t->domain = strdup(f->domain)))
		r = -1;
out:
	free(pci);
	free(name);
	free(f);
	return r < 0 ? -1 : r;
}

static void singleton_labels(int *label, int n)
{
	for (int i = 0; i < n; i++)
		label[i] = i;
}

/* The node's own evidence, in the order of trust after the admin map: NVML,
 * hwloc distances, NVSwitch functions on PCI. 1 with label and *src set
 * when one decided, 0 when none did, -1 when out of memory. */
static int own_islands(struct n56_topology *t,
		       const struct n56_topology_opts *o, hwloc_obj_t *gpu_obj,
		       int *label, enum n56_island_source *src)
{
	int r;

	if (o->nvml && !t->ngpus) {
		n56_topo_fact(t, "nvml: not asked (no GPU on the PCI bus)");
	} else if (o->nvml) {
		r = islands_from_nvml(t, o->nvml_library, label);
		if (r)
			*src = N56_ISLANDS_NVML;
		if (r)
			return r;
	} else {
		n56_topo_fact(t, "nvml: not asked (%s)",
			      o->xml ? "XML input: NVML describes only the "
				       "live node"
				     : "disabled");
	}
	singleton_labels(label, t->ngpus);
	r = n56_islands_distances(t, gpu_obj, label);
	if (r) {
		*src = N56_ISLANDS_HWLOC_DISTANCES;
		return r;
	}
	singleton_labels(label, t->ngpus);
	r = n56_islands_pci_switch(t, gpu_obj, label);
	if (r) {
		*src = N56_ISLANDS_PCI_SWITCH;
		return r;
	}
	singleton_labels(label, t->ngpus);
	return 0;
}

/* The admin map decided: keep what the node finds itself beside it, with
 * island ids numbered by lowest GPU like the islands. */
static int keep_own_islands(struct n56_topology *t,
			    const struct n56_topology_opts *o,
			    hwloc_obj_t *gpu_obj)
{
	int n = t->ngpus ? t->ngpus : 1;
	int *label = malloc(sizeof(int) * n), *id = malloc(sizeof(int) * n);
	enum n56_island_source src = N56_ISLANDS_NONE;
	int r, k = 0;

	if (!label || !id)
		goto oom;
	singleton_labels(label, t->ngpus);
	r = own_islands(t, o, gpu_obj, label, &src);
	if (r < 0)
		goto oom;
	if (r == 0) {
		n56_topo_fact(t, "islands: the node has no evidence of its "
				 "own to check the admin map against");
		free(label);
		free(id);
		return 0;
	}
	for (int i = 0; i < t->ngpus; i++)
		id[i] = -1;
	for (int i = 0; i < t->ngpus; i++) {
		if (id[i] >= 0)
			continue;
		for (int j = i; j < t->ngpus; j++)
			if (id[j] < 0 && label[j] == label[i])
				id[j] = k;
		k++;
	}
	free(label);
	t->own_island_of = id;
	t->own_source = src;
	return 0;
oom:
	free(label);
	free(id);
	return -1;
}

static int find_islands(struct n56_topology *t,
			const struct n56_topology_opts *o,
			const struct n56_policy *policy, const char *host,
			hwloc_obj_t *gpu_obj, char *err, size_t errlen)
{
	int *label = malloc(sizeof(int) * (t->ngpus ? t->ngpus : 1));
	enum n56_island_source src = N56_ISLANDS_NONE;
	int r, ret = -1;

	if (!label) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	singleton_labels(label, t->ngpus);
	r = n56_islands_admin_map(t, policy, host, label, err, errlen);
	if (r < 0)
		goto out;
	if (r > 0) {
		t->island_source = policy->topology.islands_from
					   ? N56_ISLANDS_SLURM_BLOCK
					   : N56_ISLANDS_ADMIN_MAP;
		if (keep_own_islands(t, o, gpu_obj) < 0)
			goto oom;
		goto done;
	}
	r = n56_cache_record_read(t, label, err, errlen);
	if (r < 0)
		goto out;
	if (r > 0)
		goto done; /* the record names its own source */
	if (o->cache) {
		n56_error_at(err, errlen, o->xml, N56_NOPOS,
			     "no nam56r-launch cache record on the XML root "
			     "(write the cache with nam56r-launch, not "
			     "lstopo)");
		goto out;
	}
	r = own_islands(t, o, gpu_obj, label, &src);
	if (r < 0)
		goto oom;
	if (r > 0) {
		t->island_source = src;
		goto done;
	}
	t->island_source = N56_ISLANDS_NONE;
	t->degraded = t->ngpus > 0;
	if (t->ngpus)
		n56_topo_fact(t, "islands: none found (no admin map entry, no "
				 "NVML, no NVLink/xGMI distances, no NVSwitch "
				 "on PCI): one island per GPU, degraded");
done:
	if (n56_topo_set_islands(t, label) < 0)
		goto oom;
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(label);
	return ret;
}

int n56_topology_load_opts(const struct n56_topology_opts *o,
			   const struct n56_policy *policy,
			   const char *hostname, struct n56_topology **out,
			   char *err, size_t errlen)
{
	struct n56_topology *t = calloc(1, sizeof(*t));
	hwloc_obj_t *gpu_obj = NULL;
	char host[256];
	int npart = 0, nother = 0, ret = -1;
	unsigned vendor = 0;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->nodes_per_domain = 1;
	if (!hostname) {
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		hostname = host;
	}
	if (!(t->source = strdup(o->xml ? o->xml : "live")))
		goto oom;
	if (open_hwloc(o->xml, o->threaded, &t->hwloc, err, errlen) < 0)
		goto out;
	if (o->xml)
		n56_topo_fact(t, "source: hwloc %s XML import of %s",
			      HWLOC_VERSION, o->xml);
	else
		n56_topo_fact(t,
			      "source: live hwloc %s discovery with I/O, "
			      "PCI from sysfs (opencl, gl, cuda, levelzero "
			      "components and opencl, gl, pci plugins "
			      "excluded)",
			      HWLOC_VERSION);
	if (find_gpus(t->hwloc, &gpu_obj, &t->ngpus, &npart, &nother, &vendor) <
	    0)
		goto oom;
	t->gpus = calloc(t->ngpus ? t->ngpus : 1, sizeof(*t->gpus));
	if (!t->gpus)
		goto oom;
	for (int i = 0; i < t->ngpus; i++) {
		t->gpus[i].index = i;
		if (describe_gpu(t->hwloc, gpu_obj[i], &t->gpus[i]) < 0)
			goto oom;
	}
	n56_topo_fact(t,
		      "gpus: %d PCI devices (NVIDIA 10de / AMD 1002, "
		      "class 03xx or 1200, or under a CUDA/NVML/RSMI "
		      "device)",
		      t->ngpus);
	if (nother)
		n56_topo_fact(t,
			      "gpus: %d %s device%s left out: the %s "
			      "runtime numbers %s GPUs only",
			      nother, vendor == 0x10de ? "AMD" : "NVIDIA",
			      nother == 1 ? "" : "s",
			      vendor == 0x10de ? "CUDA" : "ROCm",
			      vendor == 0x10de ? "NVIDIA" : "AMD");
	if (npart > t->ngpus)
		n56_topo_fact(t,
			      "gpus: %d RSMI devices are partitions of "
			      "the %d PCI GPUs; a GPU is a PCI device",
			      npart, t->ngpus);
	n56_topo_fact(t, "gpu order: PCI bus id (domain:bus:dev.fn), as "
			 "CUDA_DEVICE_ORDER=PCI_BUS_ID; not hwloc's order");
	n56_topo_fact(t, "numa, cpuset: the GPU's nearest non-I/O ancestor");
	n56_topo_fact(t, "nic: first OpenFabrics/Network device up the GPU's "
			 "PCI path (InfiniBand names preferred)");
	if (find_islands(t, o, policy, hostname, gpu_obj, err, errlen) < 0)
		goto out;
	*out = t;
	t = NULL;
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(gpu_obj);
	n56_topology_free(t);
	return ret;
}

int n56_topology_load(const char *xml, const struct n56_policy *policy,
		      const char *hostname, struct n56_topology **out,
		      char *err, size_t errlen)
{
	struct n56_topology_opts o = { .xml = xml, .nvml = xml == NULL };

	return n56_topology_load_opts(&o, policy, hostname, out, err, errlen);
}

int n56_topology_shape(const struct n56_topology *t, struct n56_node_shape *s,
		       char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (t->ngpus < 1) {
		n56_error_at(err, errlen, t->source, N56_NOPOS,
			     "no GPU found (no NVIDIA or AMD PCI "
			     "display/accelerator device)");
		return -1;
	}
	if (t->ngpus > N56_MAX_GPUS_PER_NODE) {
		n56_error_at(err, errlen, t->source, N56_NOPOS,
			     "%d GPUs, more than the %d per node placement "
			     "supports",
			     t->ngpus, N56_MAX_GPUS_PER_NODE);
		return -1;
	}
	s->gpus = t->ngpus;
	for (int i = 0; i < t->ngpus; i++)
		s->island_of[i] = t->gpus[i].island;
	s->nislands = t->nislands;
	s->nodes_per_domain = t->nodes_per_domain > 0 ? t->nodes_per_domain : 1;
	s->degraded = t->degraded;
	s->assumed = false;
	return 0;
}
