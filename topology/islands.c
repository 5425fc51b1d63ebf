/* NVLink/xGMI islands from the sources that need no live GPU: the site's
 * admin map (Slurm host lists, read by job/hostlist.c, and GPU lists to
 * named domains),
 * hwloc's link-bandwidth distances, and NVSwitch functions on the PCI bus. */
#include "config.h"

#include "job/n56job.h"
#include "topology/topology.h"
#include "topology/util.h"

#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The distinct names of several host lists (a domain spread over map
 * entries): a node the map names twice is still one node. */
struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *s)
{
	n56_hostlist_free(s->v, s->n);
	s->v = NULL;
	s->n = 0;
}

static int names_add_list(struct names *s, const char *expr, char *err,
			  size_t errlen)
{
	char **v, **nv;
	size_t n;

	if (n56_hostlist_expand(expr, &v, &n, err, errlen) < 0)
		return -1;
	nv = realloc(s->v, sizeof(*nv) * (s->n + n + 1));
	if (!nv) {
		n56_hostlist_free(v, n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(nv + s->n, v, sizeof(*v) * n);
	s->v = nv;
	s->n += n;
	free(v);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static long distinct(struct names *s)
{
	long n = 0;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), str_cmp);
	for (size_t i = 0; i < s->n; i++)
		n += !i || strcmp(s->v[i], s->v[i - 1]);
	return n;
}

int n56_gpu_list_parse(const char *list, int n, bool *in, char *err,
		       size_t errlen)
{
	const char *p = list;

	for (int i = 0; i < n; i++)
		in[i] = false;
	if (!list || !*list)
		goto bad;
	while (*p) {
		char *e;
		long lo, hi;

		if (*p < '0' || *p > '9')
			goto bad;
		lo = hi = strtol(p, &e, 10);
		p = e;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtol(p, &e, 10);
			p = e;
		}
		if (*p && *p != ',')
			goto bad;
		if (*p == ',' && !*++p)
			goto bad;
		if (hi < lo)
			goto bad;
		if (hi >= n) {
			snprintf(err, errlen,
				 "GPU %ld is not on this node (it has %d "
				 "GPU%s, 0-%d)",
				 hi, n, n == 1 ? "" : "s", n - 1);
			return -1;
		}
		for (long g = lo; g <= hi; g++)
			in[g] = true;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "bad GPU list '%s': expected CUDA indices like 0-3 or 0,2",
		 list ? list : "");
	return -1;
}

/* The nodes of each domain of the map; the placement needs one count for
 * every domain, so a map whose domains differ in size gives 1 (and says). */
static int domain_node_count(struct n56_topology *t, const struct n56_policy *p,
			     char *err, size_t errlen)
{
	long common = -1;
	bool differ = false;

	for (size_t i = 0; i < p->topology.nislands; i++) {
		const char *d = p->topology.islands[i].domain;
		struct names all = { 0 };
		bool first = true;
		long n;

		for (size_t j = 0; j < i && first; j++)
			first = strcmp(p->topology.islands[j].domain, d) != 0;
		if (!first)
			continue;
		for (size_t j = i; j < p->topology.nislands; j++) {
			if (strcmp(p->topology.islands[j].domain, d))
				continue;
			if (names_add_list(&all, p->topology.islands[j].nodes,
					   err, errlen) < 0) {
				names_free(&all);
				return -1;
			}
		}
		n = distinct(&all);
		names_free(&all);
		if (common >= 0 && n != common)
			differ = true;
		if (common < 0 || n < common)
			common = n;
	}
	if (differ) {
		n56_topo_fact(t,
			      "%s: domains span different node counts; "
			      "nodes per domain taken as 1",
			      p->topology.islands_from ? "slurm-block"
						       : "admin map");
		common = 1;
	}
	t->nodes_per_domain = common > 0 ? (int)common : 1;
	return 0;
}

static int map_error(const struct n56_policy *p,
		     const struct n56_island_map_entry *e, size_t i,
		     const char *what, const char *msg, char *err,
		     size_t errlen)
{
	if (p->topology.islands_from)
		n56_error_at(err, errlen, p->topology.islands_from, e->pos,
			     "block %s: %s", e->domain, msg);
	else
		n56_error_at(err, errlen, p->path ? p->path : "policy", e->pos,
			     "topology.islands[%zu].%s: %s", i, what, msg);
	return -1;
}

/* island_source per-node, or a map with no entries: 1 or 0 when decided
 * here, -1 when the map must be read. */
static int map_without_entries(struct n56_topology *t,
			       const struct n56_policy *policy, int *label)
{
	const char *src = policy->topology.island_source.v;

	if (src && !strcmp(src, "per-node")) {
		for (int i = 0; i < t->ngpus; i++)
			label[i] = 0;
		n56_topo_fact(t, "islands: admin-map: the site policy says "
				 "island_source per-node (all GPUs of a node "
				 "form one island)");
		return 1;
	}
	if (policy->topology.nislands)
		return -1;
	if (src && !strcmp(src, "admin-map"))
		n56_topo_fact(t, "admin map: island_source admin-map but the "
				 "policy has no islands");
	if (src && !strcmp(src, "slurm-block"))
		n56_topo_fact(t, "slurm-block: island_source slurm-block but "
				 "Slurm's blocks were not read");
	return 0;
}

/* Entry i's GPUs of this host into label (the domain's first entry's
 * index). 1 when the entry names the host, 0 when not, -1 with err. */
static int label_entry(const struct n56_policy *policy, size_t i,
		       const char *host, const char *shorthost, bool *in, int n,
		       int *label, char *err, size_t errlen)
{
	const struct n56_island_map_entry *e = &policy->topology.islands[i];
	char msg[512];
	size_t dom = i;
	int m;

	/* As the policy check refuses it (policy_check.c). */
	if (n56_hostlist_count_strict(e->nodes, msg, sizeof(msg)) < 0)
		return map_error(policy, e, i, "nodes", msg, err, errlen);
	m = n56_hostlist_match(e->nodes, host, msg, sizeof(msg));
	if (m == 0 && strcmp(host, shorthost))
		m = n56_hostlist_match(e->nodes, shorthost, msg, sizeof(msg));
	if (m <= 0)
		return m < 0 ? map_error(policy, e, i, "nodes", msg, err,
					 errlen)
			     : 0;
	if (!e->gpus) {
		for (int g = 0; g < n; g++)
			in[g] = true;
	} else if (n56_gpu_list_parse(e->gpus, n, in, msg, sizeof(msg)) < 0) {
		return map_error(policy, e, i, "gpus", msg, err, errlen);
	}
	for (size_t j = 0; j < i; j++)
		if (!strcmp(policy->topology.islands[j].domain, e->domain)) {
			dom = j;
			break;
		}
	for (int g = 0; g < n; g++) {
		if (!in[g])
			continue;
		if (label[g] >= 0 && label[g] != (int)dom) {
			snprintf(msg, sizeof(msg),
				 "GPU %d of %s is already in "
				 "domain '%s'; a GPU belongs to one domain",
				 g, host,
				 policy->topology.islands[label[g]].domain);
			return map_error(policy, e, i, "gpus", msg, err,
					 errlen);
		}
		label[g] = (int)dom;
	}
	return 1;
}

/* The host is in the map: GPUs of no domain become islands of their own,
 * the domain's node count is checked, and the facts say where from. */
static int map_matched(struct n56_topology *t, const struct n56_policy *policy,
		       const char *host, int *label, char *err, size_t errlen)
{
	const char *from = policy->topology.islands_from;
	const char *file = from ? from : policy->path ? policy->path : "policy";
	char msg[512];

	for (int g = 0; g < t->ngpus; g++)
		if (label[g] < 0) {
			label[g] = (int)policy->topology.nislands + g;
			n56_topo_fact(t,
				      "admin map: GPU %d of '%s' is in no "
				      "domain: an island of its own",
				      g, host);
		}
	if (domain_node_count(t, policy, msg, sizeof(msg)) < 0) {
		n56_error_at(err, errlen, file, N56_NOPOS, "%s%s",
			     from ? "" : "topology.islands: ", msg);
		return -1;
	}
	for (int g = 0; g < t->ngpus && !t->domain; g++)
		if (label[g] < (int)policy->topology.nislands &&
		    !(t->domain = strdup(
			      policy->topology.islands[label[g]].domain))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	n56_topo_fact(t,
		      "islands: %s of %s for host '%s' (domain %s, %d "
		      "node%s per domain)",
		      from ? "slurm-block" : "admin-map",
		      from	     ? from
		      : policy->path ? policy->path
				     : "the site policy",
		      host, t->domain ? t->domain : "-", t->nodes_per_domain,
		      t->nodes_per_domain == 1 ? "" : "s");
	return 1;
}

int n56_islands_admin_map(struct n56_topology *t,
			  const struct n56_policy *policy, const char *host,
			  int *label, char *err, size_t errlen)
{
	char shorthost[256];
	bool *in = NULL, matched = false;
	int n = t->ngpus, ret;

	if (!policy)
		return 0;
	if ((ret = map_without_entries(t, policy, label)) >= 0)
		return ret;
	host = host ? host : "";
	snprintf(shorthost, sizeof(shorthost), "%s", host);
	shorthost[strcspn(shorthost, ".")] = '\0';
	in = calloc(n ? n : 1, sizeof(*in));
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		label[i] = -1;
	ret = -1;
	for (size_t i = 0; i < policy->topology.nislands; i++) {
		int m = label_entry(policy, i, host, shorthost, in, n, label,
				    err, errlen);

		if (m < 0)
			goto out;
		matched |= m > 0;
	}
	if (matched) {
		ret = map_matched(t, policy, host, label, err, errlen);
		goto out;
	}
	for (int i = 0; i < n; i++)
		label[i] = i;
	if (policy->topology.islands_from)
		n56_topo_fact(t, "slurm-block: no block of %s names host '%s'",
			      policy->topology.islands_from, host);
	else
		n56_topo_fact(t, "admin map: no entry names host '%s'", host);
	ret = 0;
out:
	free(in);
	return ret;
}

static bool is_nvswitch(hwloc_obj_t o)
{
	if (o->type != HWLOC_OBJ_PCI_DEVICE)
		return o->subtype && !strcmp(o->subtype, "NVSwitch");
	return (o->attr->pcidev.vendor_id == 0x10de &&
		o->attr->pcidev.class_id == 0x0680) ||
	       (o->subtype && !strcmp(o->subtype, "NVSwitch"));
}

static int gpu_of(hwloc_obj_t o, hwloc_obj_t *gpu_obj, int ngpus)
{
	while (o && o->type != HWLOC_OBJ_PCI_DEVICE)
		o = o->parent;
	for (int i = 0; o && i < ngpus; i++)
		if (gpu_obj[i] == o)
			return i;
	return -1;
}

/* Joins, in up[0..ngpus-1], the GPUs that one matrix links: GPU objects
 * (partitions of one GPU count as that GPU) and NVSwitches are nodes, any
 * bandwidth > 0 between two of them an edge. Packages (POWER8's GPU-CPU
 * NVLink) are not nodes: a CPU in between does not make an island. */
static int join_matrix(struct hwloc_distances_s *d, hwloc_obj_t *gpu_obj,
		       int ngpus, int *up)
{
	unsigned n = d->nbobjs;
	int *node = malloc(sizeof(int) * (ngpus + n));
	int *g = malloc(sizeof(int) * (n ? n : 1));
	int mapped = 0;

	if (!node || !g) {
		free(node);
		free(g);
		return -1;
	}
	for (unsigned i = 0; i < ngpus + n; i++)
		node[i] = i;
	for (unsigned i = 0; i < n; i++) {
		g[i] = d->objs[i] ? gpu_of(d->objs[i], gpu_obj, ngpus) : -1;
		if (g[i] >= 0) {
			n56_uf_union(node, ngpus + i, g[i]);
			mapped++;
		} else if (!d->objs[i] || !is_nvswitch(d->objs[i])) {
			g[i] = -2; /* not a node of the link graph */
		}
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (g[i] != -2 && g[j] != -2 &&
			    (d->values[i * n + j] || d->values[j * n + i]))
				n56_uf_union(node, ngpus + i, ngpus + j);
	for (int a = 0; a < ngpus; a++)
		for (int b = a + 1; b < ngpus; b++)
			if (n56_uf_find(node, a) == n56_uf_find(node, b))
				n56_uf_union(up, a, b);
	free(node);
	free(g);
	return mapped;
}

/* GPU-to-NVSwitch links become GPU-to-GPU links. */
static int switch_transforms(hwloc_topology_t h, struct hwloc_distances_s *d)
{
	if (hwloc_distances_transform(
		    h, d, HWLOC_DISTANCES_TRANSFORM_MERGE_SWITCH_PORTS, NULL,
		    0) < 0)
		return -1;
	return hwloc_distances_transform(
		h, d, HWLOC_DISTANCES_TRANSFORM_TRANSITIVE_CLOSURE, NULL, 0);
}

int n56_islands_distances(struct n56_topology *t, hwloc_obj_t *gpu_obj,
			  int *label)
{
	static const char *const names[] = { "NVLinkBandwidth",
					     "XGMIBandwidth" };
	int *up = malloc(sizeof(int) * (t->ngpus ? t->ngpus : 1));
	int used = 0;

	if (!up)
		return -1;
	for (int i = 0; i < t->ngpus; i++)
		up[i] = i;
	for (size_t k = 0; k < 2 && !used && t->ngpus; k++) {
		struct hwloc_distances_s **d;
		unsigned nr = 0;

		if (hwloc_distances_get_by_name(t->hwloc, names[k], &nr, NULL,
						0) < 0 ||
		    !nr)
			continue;
		d = calloc(nr, sizeof(*d));
		if (!d) {
			free(up);
			return -1;
		}
		if (hwloc_distances_get_by_name(t->hwloc, names[k], &nr, d, 0) <
		    0)
			nr = 0;
		for (unsigned i = 0; i < nr; i++) {
			bool sw = false;
			const char *how = "";
			int m;

			for (unsigned j = 0; j < d[i]->nbobjs; j++)
				sw = sw || (d[i]->objs[j] &&
					    is_nvswitch(d[i]->objs[j]));
			/* Only with a switch in the matrix: on POWER8 the
			 * closure would wipe the direct GPU links. */
			if (sw) {
				how = " (switch transforms applied)";
				if (switch_transforms(t->hwloc, d[i]) < 0)
					how = " (switch transforms failed; "
					      "links followed through the "
					      "switches)";
			}
			m = join_matrix(d[i], gpu_obj, t->ngpus, up);
			if (m < 0) {
				for (unsigned j = 0; j < nr; j++)
					hwloc_distances_release(t->hwloc, d[j]);
				free(d);
				free(up);
				return -1;
			}
			if (m > 0) {
				used = 1;
				n56_topo_fact(t,
					      "islands: hwloc-distances "
					      "%s%s",
					      names[k], how);
			}
		}
		for (unsigned i = 0; i < nr; i++)
			hwloc_distances_release(t->hwloc, d[i]);
		free(d);
	}
	for (int i = 0; i < t->ngpus; i++)
		label[i] = n56_uf_find(up, i);
	free(up);
	return used;
}

/* HGX boards wire every GPU to every NVSwitch, and a PCI-only view cannot
 * tell links apart: the NVIDIA GPUs of a node with NVSwitch functions on its
 * bus share them. AMD GPUs are not on NVSwitch and stay alone. */
int n56_islands_pci_switch(struct n56_topology *t, hwloc_obj_t *gpu_obj,
			   int *label)
{
	hwloc_obj_t o = NULL;
	int nsw = 0, nnv = 0;

	while ((o = hwloc_get_next_pcidev(t->hwloc, o)))
		nsw += is_nvswitch(o);
	if (!nsw)
		return 0;
	for (int i = 0; i < t->ngpus; i++) {
		bool nv = gpu_obj[i]->attr->pcidev.vendor_id == 0x10de;

		label[i] = nv ? -1 : i;
		nnv += nv;
	}
	if (!nnv)
		return 0;
	n56_topo_fact(t,
		      "islands: pci-switch: %d NVSwitch function%s (PCI "
		      "10de class 0680) on the bus; the %d NVIDIA GPUs "
		      "share them",
		      nsw, nsw == 1 ? "" : "s", nnv);
	return 1;
}
