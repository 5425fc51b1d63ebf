/* A node's topology: GPUs in CUDA order (matched by PCI bus id), NVLink
 * islands in their sources' order of trust (nam56r-launch(1), topology),
 * NUMA nodes, nearest NICs, and where each fact came from. Live (hwloc with I/O, without OpenCL/GL) or from an
 * XML export; cached as XML for the plugin. Never calls Slurm. */
#ifndef NAM56R_TOPOLOGY_H
#define NAM56R_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/site.h"
#include "topology/placement.h"

struct hwloc_topology;

enum n56_island_source {
	N56_ISLANDS_NONE = 0,	     /* one island per GPU, degraded */
	N56_ISLANDS_ADMIN_MAP,	     /* the site policy's map */
	N56_ISLANDS_NVML,	     /* live NVML link state */
	N56_ISLANDS_HWLOC_DISTANCES, /* NVLinkBandwidth / XGMIBandwidth */
	N56_ISLANDS_PCI_SWITCH,	     /* NVSwitch bridges in a PCI-only view */
	N56_ISLANDS_SLURM_BLOCK,     /* Slurm's blocks, as the admin map */
};
/* "none", "admin-map", "nvml", "hwloc-distances", "pci-switch",
 * "slurm-block" */
const char *n56_island_source_name(enum n56_island_source s);
/* Whether the site decided the islands (the admin map or Slurm's blocks):
 * then the node's own view is kept beside them, to be checked. */
static inline bool n56_island_source_is_site(enum n56_island_source s)
{
	return s == N56_ISLANDS_ADMIN_MAP || s == N56_ISLANDS_SLURM_BLOCK;
}

struct n56_topo_gpu {
	int index;	  /* CUDA order: by PCI bus id */
	char pci[32];	  /* "0000:5f:00.0" */
	int numa;	  /* NUMA node os index, -1 when unknown */
	int island;	  /* index into islands */
	char *nic;	  /* nearest NIC name (e.g. "mlx5_0"), NULL if none */
	char *cpuset;	  /* cores near the GPU, as a list "0-15,32-47" */
	char *name;	  /* model, when known */
	char *numa_nodes; /* all NUMA nodes near the GPU, as a list "0-3" */
};

struct n56_topology {
	char *source; /* "live" or the XML path */
	struct n56_topo_gpu *gpus;
	int ngpus;
	int **islands; /* nislands arrays of GPU indices */
	int *island_size;
	int nislands;
	enum n56_island_source island_source;
	bool degraded;
	char *facts; /* human text: where each fact came from */
	/* Multi-node NVLink: how many consecutive nodes share one domain
	 * (admin map), 1 when islands stop at the node. */
	int nodes_per_domain;
	char *domain; /* admin-map domain or NVML fabric clique, or NULL */
	struct hwloc_topology *hwloc; /* owned: cache export and binding */
	/* When the admin map decided the islands: what the node found itself
	 * (NVML, hwloc distances, PCI switch), so that the map can be
	 * checked against it; N56_ISLANDS_NONE and NULL when it found
	 * nothing. Island ids numbered like islands (by lowest GPU). */
	enum n56_island_source own_source;
	int *own_island_of; /* ngpus entries, or NULL */
};

/* How to load; n56_topology_load() is the usual case of it. */
struct n56_topology_opts {
	const char *xml;	  /* NULL = live discovery */
	bool nvml;		  /* ask NVML (n56_topology_load: when live) */
	const char *nvml_library; /* NULL: $NAM56R_NVML_LIBRARY, then
				   * libnvidia-ml.so.1 */
	bool cache;		  /* the XML must carry the cache record */
	/* The caller runs other threads (slurmstepd): leave the process
	 * environment alone, at the price of hwloc loading its plugins. */
	bool threaded;
};
int n56_topology_load_opts(const struct n56_topology_opts *o,
			   const struct n56_policy *policy,
			   const char *hostname, struct n56_topology **out,
			   char *err, size_t errlen);

/* xml NULL = live discovery. policy may be NULL (no admin map); hostname
 * selects the admin map entries for this node (NULL = this host). */
int n56_topology_load(const char *xml, const struct n56_policy *policy,
		      const char *hostname, struct n56_topology **out,
		      char *err, size_t errlen);

/* The parts of a loaded policy that the topology code judges: every admin
 * map entry's nodes is a valid Slurm hostlist. Appends one diagnostic per
 * bad entry (the admin map's message, at the entry) and returns -1. */
int n56_policy_check_topology(const struct n56_policy *p, struct n56_diags *d);
void n56_topology_free(struct n56_topology *t);
/* The node shape placement needs. */
int n56_topology_shape(const struct n56_topology *t, struct n56_node_shape *s,
		       char *err, size_t errlen);
/* Node cache: an XML export plus what was found, root-owned. */
int n56_topology_cache_write(const struct n56_topology *t, const char *path,
			     char *err, size_t errlen);
int n56_topology_cache_read(const char *path, struct n56_topology **out,
			    char *err, size_t errlen);

/* Node homogeneity (spank_nam56r(8)): a node places ranks as if
 * every node looked like the shape it was told (the admin map) or assumes
 * (its own, for all nodes); these check that against what it sees. */

/* One side of a comparison: a shape and who says so, for the message. */
struct n56_shape_view {
	const struct n56_node_shape *shape;
	const char *by;	    /* "admin map", "nvml", "the step", ... */
	const char *domain; /* the admin map's domain of its islands, or NULL */
};
/* 0 when the node's own view (seen) confirms the assumed one, with a line
 * for the facts in why saying what was and was not checked; -1 with the
 * message in why when it contradicts it: different GPU counts, or an
 * assumed island spanning GPUs that seen puts in different islands (for a
 * multi-node domain: its GPUs on this node). A seen shape without
 * evidence (degraded or assumed) leaves the islands unchecked, and so
 * does a domain's reach beyond this node (why says so). Pure. */
int n56_shape_check(const struct n56_shape_view *assumed,
		    const struct n56_shape_view *seen, const char *host,
		    char *why, size_t whylen);
/* The node's own shape: the islands it found itself (also when the admin
 * map decided); degraded when it found none. -1 as n56_topology_shape. */
int n56_topology_own_shape(const struct n56_topology *t,
			   struct n56_node_shape *s, const char **by, char *err,
			   size_t errlen);
/* The admin map's shape for host on a node of ngpus GPUs: 1 when the map
 * names host (domain gets the first domain of its GPUs, or ""), 0 when it
 * does not (no policy, no map, or island_source per-node), -1 with a
 * file:line:col message (a GPU the node does not have, a bad list). Pure:
 * reads only the policy. */
int n56_admin_map_shape(const struct n56_policy *policy, const char *host,
			int ngpus, struct n56_node_shape *s, char *domain,
			size_t domainlen, char *err, size_t errlen);
/* The island signature of a shape, island sizes in island order joined by
 * '+' ("4+4", "8", "1+1+1+1"), with "@N" appended for N nodes per
 * domain; for NAM56R_NODE_SHAPE. -1 when it does not fit. */
int n56_shape_signature(const struct n56_node_shape *s, char *buf, size_t len);

/* Internals, declared here for the tests and the bench. */

/* Between the topology/ files: facts, islands from labels, and the
 * island sources (each returns 1 when it decided, 0 when it could not,
 * -1 with a message on bad input). gpu_obj[i] is GPU i's PCI object. */
struct hwloc_obj;
void n56_topo_fact(struct n56_topology *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int n56_topo_set_islands(struct n56_topology *t, const int *label);
int n56_islands_admin_map(struct n56_topology *t,
			  const struct n56_policy *policy, const char *host,
			  int *label, char *err, size_t errlen);
int n56_islands_distances(struct n56_topology *t, struct hwloc_obj **gpu_obj,
			  int *label);
int n56_islands_pci_switch(struct n56_topology *t, struct hwloc_obj **gpu_obj,
			   int *label);
/* The cache record on the XML root: 1 and the labels when present. */
int n56_cache_record_read(struct n56_topology *t, int *label, char *err,
			  size_t errlen);

/* GPU list "0-3,6": marks in[0..n-1]; -1 with a message when an index is
 * out of range or the list is malformed. */
int n56_gpu_list_parse(const char *list, int n, bool *in, char *err,
		       size_t errlen);

/* What n56_nvml_islands finds: label[i] an island label (GPUs with equal
 * labels share one), name[i] (when name is not NULL) the model NVML
 * reports, or ""; domain the fabric clique ("<cluster uuid>/<clique id>")
 * or ""; facts one line per finding; why, on failure, the reason. The
 * caller gives label and name arrays of ngpus entries. */
struct n56_nvml_found {
	int *label;
	char (*name)[96];
	char domain[96];
	char facts[2048];
	char why[256];
};

/* NVML islands of the GPUs whose PCI bus ids are given (CUDA order).
 * Returns 0, or -1 when NVML is unusable (out->why says so). */
int n56_nvml_islands(const char *library, char (*pci)[32], int ngpus,
		     struct n56_nvml_found *out);

#endif
