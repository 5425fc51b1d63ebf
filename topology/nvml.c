/* NVLink islands from NVML on the live node. Debian's hwloc has no NVML
 * backend, and hwloc 2.9's drops NVLink versions above 4 (A100 and later),
 * so the library is asked directly. It is dlopen()ed: a node without the
 * NVIDIA driver still runs the launcher. The few NVML types used are
 * declared here, with the layout of the driver's nvml.h. */
#include "config.h"

#include "topology/topology.h"
#include "topology/util.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvml_return;	      /* nvmlReturn_t: 0 = NVML_SUCCESS */
typedef struct nvml_dev *nvml_device; /* nvmlDevice_t */

struct nvml_pci_info { /* nvmlPciInfo_t (v3 call) */
	char bus_id_legacy[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pci_device_id;
	unsigned int pci_subsystem_id;
	char bus_id[32];
};

struct nvml_fabric_info { /* nvmlGpuFabricInfo_t */
	unsigned char cluster_uuid[16];
	nvml_return status;
	unsigned int clique_id;
	unsigned char state;
};

struct nvml_fabric_info_v2 { /* nvmlGpuFabricInfo_v2_t */
	unsigned int version;
	unsigned char cluster_uuid[16];
	nvml_return status;
	unsigned int clique_id;
	unsigned char state;
	unsigned int health_mask;
};

#define NVML_FEATURE_ENABLED 1
#define NVML_NVLINK_DEVICE_TYPE_GPU 0
#define NVML_NVLINK_DEVICE_TYPE_SWITCH 2
#define NVML_GPU_FABRIC_STATE_COMPLETED 3
#define NVML_FABRIC_INFO_V2 \
	((unsigned int)(sizeof(struct nvml_fabric_info_v2) | (2u << 24)))
/* NVML_NVLINK_MAX_LINKS is 18 up to Blackwell; ask a few more and stop at
 * the first link the driver refuses. */
#define MAX_LINKS 32

struct nvml {
	void *lib;
	nvml_return (*init)(void);
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*count)(unsigned int *);
	nvml_return (*by_index)(unsigned int, nvml_device *);
	nvml_return (*pci_info)(nvml_device, struct nvml_pci_info *);
	nvml_return (*link_state)(nvml_device, unsigned int, int *);
	nvml_return (*remote_pci)(nvml_device, unsigned int,
				  struct nvml_pci_info *);
	nvml_return (*remote_type)(nvml_device, unsigned int, int *);
	nvml_return (*fabric)(nvml_device, struct nvml_fabric_info *);
	nvml_return (*fabric_v)(nvml_device, struct nvml_fabric_info_v2 *);
	nvml_return (*name)(nvml_device, char *, unsigned int);
};

static const char *nvml_err(const struct nvml *n, nvml_return r)
{
	static char buf[32];

	if (n->error_string)
		return n->error_string(r);
	snprintf(buf, sizeof(buf), "NVML error %d", r);
	return buf;
}

static int nvml_open(struct nvml *n, const char *library, char *why,
		     size_t whylen)
{
	memset(n, 0, sizeof(*n));
	if (!library)
		library = getenv("NAM56R_NVML_LIBRARY");
	if (!library || !*library)
		library = "libnvidia-ml.so.1";
	n->lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!n->lib) {
		const char *e = dlerror();

		snprintf(why, whylen, "cannot load %s: %s", library,
			 e ? e : "unknown error");
		return -1;
	}
	/* dlsym returns void *; the casts through a union keep -Wpedantic
	 * quiet about object-to-function pointer conversion. */
#define SYM(field, name)                            \
	do {                                        \
		union {                             \
			void *p;                    \
			__typeof__(n->field) f;     \
		} u = { .p = dlsym(n->lib, name) }; \
		n->field = u.f;                     \
	} while (0)
	SYM(init, "nvmlInit_v2");
	SYM(shutdown, "nvmlShutdown");
	SYM(error_string, "nvmlErrorString");
	SYM(count, "nvmlDeviceGetCount_v2");
	SYM(by_index, "nvmlDeviceGetHandleByIndex_v2");
	SYM(pci_info, "nvmlDeviceGetPciInfo_v3");
	SYM(link_state, "nvmlDeviceGetNvLinkState");
	SYM(remote_pci, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
	SYM(remote_type, "nvmlDeviceGetNvLinkRemoteDeviceType");
	SYM(fabric, "nvmlDeviceGetGpuFabricInfo");
	SYM(fabric_v, "nvmlDeviceGetGpuFabricInfoV");
	SYM(name, "nvmlDeviceGetName");
#undef SYM
	if (!n->init || !n->shutdown || !n->count || !n->by_index ||
	    !n->pci_info || !n->link_state || !n->remote_pci) {
		snprintf(why, whylen,
			 "%s lacks nvmlInit_v2, nvmlDeviceGetPciInfo_v3 or "
			 "the NVLink calls (driver too old)",
			 library);
		dlclose(n->lib);
		n->lib = NULL;
		return -1;
	}
	return 0;
}

/* "00000000:5F:00.0" (NVML) and "0000:5f:00.0" (hwloc) name the same
 * function: compare numbers, not text. */
static bool parse_bus_id(const char *s, unsigned long *key)
{
	unsigned int d, b, dev, f;

	if (sscanf(s, "%x:%x:%x.%x", &d, &b, &dev, &f) != 4)
		return false;
	*key = ((unsigned long)d << 24) | (b << 16) | (dev << 8) | f;
	return true;
}

static int find_gpu(const unsigned long *keys, int ngpus, const char *bus)
{
	unsigned long k;

	if (!parse_bus_id(bus, &k))
		return -1;
	for (int i = 0; i < ngpus; i++)
		if (keys[i] == k)
			return i;
	return -1;
}

static void add_fact(char *facts, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_fact(char *facts, size_t len, const char *fmt, ...)
{
	size_t used = strlen(facts);
	va_list ap;

	if (used + 2 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(facts + used, len - used - 1, fmt, ap);
	va_end(ap);
	used = strlen(facts);
	facts[used] = '\n';
	facts[used + 1] = '\0';
}

/* A GPU's multi-node NVLink clique, when the fabric manager registered it:
 * "uuid/clique". An all-zero cluster UUID means no multi-node fabric. */
static bool fabric_clique(const struct nvml *n, nvml_device dev, char *out,
			  size_t len, bool *zero_uuid)
{
	unsigned char uuid[16];
	unsigned int clique;
	bool any = false;
	int p;

	*zero_uuid = false;
	if (n->fabric_v) {
		struct nvml_fabric_info_v2 v = { .version =
							 NVML_FABRIC_INFO_V2 };

		if (n->fabric_v(dev, &v) != 0 || v.status != 0 ||
		    v.state != NVML_GPU_FABRIC_STATE_COMPLETED)
			return false;
		memcpy(uuid, v.cluster_uuid, sizeof(uuid));
		clique = v.clique_id;
	} else if (n->fabric) {
		struct nvml_fabric_info v = { 0 };

		if (n->fabric(dev, &v) != 0 || v.status != 0 ||
		    v.state != NVML_GPU_FABRIC_STATE_COMPLETED)
			return false;
		memcpy(uuid, v.cluster_uuid, sizeof(uuid));
		clique = v.clique_id;
	} else {
		return false;
	}
	for (int i = 0; i < 16; i++)
		any = any || uuid[i];
	if (!any) {
		*zero_uuid = true;
		return false;
	}
	p = 0;
	for (int i = 0; i < 16 && p + 3 < (int)len; i++)
		p += snprintf(out + p, len - p, "%02x", uuid[i]);
	snprintf(out + p, len - p, "/%u", clique);
	return true;
}

/* One scan of NVML's devices against hwloc's GPUs. */
struct scan {
	int ngpus;
	unsigned long *keys; /* hwloc's PCI bus ids, as numbers */
	int *up;	     /* union-find over the GPUs */
	char (*clique)[80];  /* each GPU's fabric clique, or "" */
	bool *on_switch;     /* a link to an NVSwitch */
	int nlinks, nseen, nzero;
};

static void scan_free(struct scan *s)
{
	free(s->keys);
	free(s->up);
	free(s->clique);
	free(s->on_switch);
}

static int scan_init(struct scan *s, char (*pci)[32], int ngpus,
		     struct n56_nvml_found *out)
{
	size_t n = ngpus ? (size_t)ngpus : 1;

	*s = (struct scan){ .ngpus = ngpus };
	s->keys = calloc(n, sizeof(*s->keys));
	s->up = calloc(n, sizeof(*s->up));
	s->clique = calloc(n, sizeof(*s->clique));
	s->on_switch = calloc(n, sizeof(*s->on_switch));
	if (!s->keys || !s->up || !s->clique || !s->on_switch) {
		snprintf(out->why, sizeof(out->why), "out of memory");
		return -1;
	}
	for (int i = 0; i < ngpus; i++) {
		s->up[i] = i;
		if (out->name)
			out->name[i][0] = '\0';
		if (!parse_bus_id(pci[i], &s->keys[i])) {
			snprintf(out->why, sizeof(out->why),
				 "bad PCI bus id '%s'", pci[i]);
			return -1;
		}
	}
	return 0;
}

/* GPU g's active links: peers joined, a switch noted. */
static void scan_links(const struct nvml *n, nvml_device dev, int g,
		       struct scan *s)
{
	for (unsigned int l = 0; l < MAX_LINKS; l++) {
		struct nvml_pci_info rp;
		int active = 0, type = -1, peer;

		if (n->link_state(dev, l, &active) != 0)
			break;
		if (active != NVML_FEATURE_ENABLED)
			continue;
		s->nlinks++;
		if (n->remote_type && n->remote_type(dev, l, &type) != 0)
			type = -1;
		if (type == NVML_NVLINK_DEVICE_TYPE_SWITCH) {
			s->on_switch[g] = true;
			continue;
		}
		if (n->remote_pci(dev, l, &rp) != 0)
			continue;
		rp.bus_id[sizeof(rp.bus_id) - 1] = '\0';
		peer = find_gpu(s->keys, s->ngpus, rp.bus_id);
		if (peer >= 0)
			n56_uf_union(s->up, g, peer);
	}
}

/* NVML's device d: its GPU among hwloc's, its name, links and clique. */
static void scan_device(const struct nvml *n, unsigned int d, struct scan *s,
			struct n56_nvml_found *out)
{
	struct nvml_pci_info pi;
	nvml_device dev;
	bool zero;
	int g;

	if (n->by_index(d, &dev) != 0 || n->pci_info(dev, &pi) != 0)
		return;
	pi.bus_id[sizeof(pi.bus_id) - 1] = '\0';
	g = find_gpu(s->keys, s->ngpus, pi.bus_id);
	if (g < 0) {
		add_fact(out->facts, sizeof(out->facts),
			 "nvml: device %u (%s) "
			 "is not among hwloc's GPUs; ignored",
			 d, pi.bus_id);
		return;
	}
	s->nseen++;
	if (out->name) {
		if (n->name &&
		    n->name(dev, out->name[g], sizeof(out->name[g])) != 0)
			out->name[g][0] = '\0';
		out->name[g][sizeof(out->name[g]) - 1] = '\0';
	}
	scan_links(n, dev, g, s);
	if (fabric_clique(n, dev, s->clique[g], sizeof(s->clique[g]), &zero))
		snprintf(out->domain, sizeof(out->domain), "%s", s->clique[g]);
	s->nzero += zero;
}

/* GPUs on NVSwitch form one island, as do GPUs of one fabric clique;
 * the labels and the facts. */
static void scan_islands(struct scan *s, struct n56_nvml_found *out)
{
	int nswitch = 0;

	for (int i = 0; i < s->ngpus; i++) {
		if (!s->on_switch[i])
			continue;
		nswitch++;
		for (int j = i + 1; j < s->ngpus; j++)
			if (s->on_switch[j])
				n56_uf_union(s->up, i, j);
	}
	for (int i = 0; i < s->ngpus; i++)
		for (int j = i + 1; j < s->ngpus; j++)
			if (s->clique[i][0] &&
			    !strcmp(s->clique[i], s->clique[j]))
				n56_uf_union(s->up, i, j);
	for (int i = 0; i < s->ngpus; i++)
		out->label[i] = n56_uf_find(s->up, i);
	add_fact(out->facts, sizeof(out->facts),
		 "islands: nvml: %d active NVLink links on %d of %d GPUs; %d "
		 "GPU%s linked to NVSwitch (one island)",
		 s->nlinks, s->nseen, s->ngpus, nswitch,
		 nswitch == 1 ? "" : "s");
	if (s->nzero)
		add_fact(out->facts, sizeof(out->facts),
			 "nvml: fabric info with an all-zero cluster UUID on "
			 "%d GPU%s: no multi-node NVLink",
			 s->nzero, s->nzero == 1 ? "" : "s");
	if (out->domain[0])
		add_fact(out->facts, sizeof(out->facts),
			 "nvml: multi-node NVLink clique %s (nodes per domain "
			 "unknown from one node: the admin map sets it)",
			 out->domain);
}

int n56_nvml_islands(const char *library, char (*pci)[32], int ngpus,
		     struct n56_nvml_found *out)
{
	struct nvml n;
	struct scan s;
	unsigned int count = 0;
	nvml_return r;
	int ret = -1;

	out->domain[0] = '\0';
	out->facts[0] = '\0';
	out->why[0] = '\0';
	if (scan_init(&s, pci, ngpus, out) < 0)
		goto out_free;
	if (nvml_open(&n, library, out->why, sizeof(out->why)) < 0)
		goto out_free;
	if ((r = n.init()) != 0) {
		snprintf(out->why, sizeof(out->why), "nvmlInit_v2: %s",
			 nvml_err(&n, r));
		goto out_close;
	}
	if ((r = n.count(&count)) != 0) {
		snprintf(out->why, sizeof(out->why),
			 "nvmlDeviceGetCount_v2: %s", nvml_err(&n, r));
		goto out_shutdown;
	}
	for (unsigned int d = 0; d < count; d++)
		scan_device(&n, d, &s, out);
	if (!s.nseen) {
		snprintf(out->why, sizeof(out->why),
			 "NVML sees none of hwloc's %d GPUs", ngpus);
		goto out_shutdown;
	}
	scan_islands(&s, out);
	ret = 0;
out_shutdown:
	n.shutdown();
out_close:
	dlclose(n.lib);
out_free:
	scan_free(&s);
	return ret;
}
