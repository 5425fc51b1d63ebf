/* A node's topology: GPUs in CUDA order (matched by PCI bus id), NVLink
 * islands in DESIGN.md's order of trust, NUMA nodes, nearest NICs, and where
 * each fact came from. Live (hwloc with I/O, without OpenCL/GL) or from an
 * XML export; cached as XML for the plugin. Never calls Slurm. */
#ifndef NAM56R_TOPOLOGY_H
#define NAM56R_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/recipe.h"
#include "topology/placement.h"

enum n56_island_source {
	N56_ISLANDS_NONE = 0,        /* one island per GPU, degraded */
	N56_ISLANDS_ADMIN_MAP,       /* the site policy's map */
	N56_ISLANDS_NVML,            /* live NVML link state */
	N56_ISLANDS_HWLOC_DISTANCES, /* NVLinkBandwidth / XGMIBandwidth */
	N56_ISLANDS_PCI_SWITCH,      /* NVSwitch bridges in a PCI-only view */
};
/* "none", "admin-map", "nvml", "hwloc-distances", "pci-switch" */
const char *n56_island_source_name(enum n56_island_source s);

struct n56_topo_gpu {
	int index;      /* CUDA order: by PCI bus id */
	char pci[32];   /* "0000:5f:00.0" */
	int numa;       /* NUMA node os index, -1 when unknown */
	int island;     /* index into islands */
	char *nic;      /* nearest NIC name (e.g. "mlx5_0"), NULL if none */
	char *cpuset;   /* cores near the GPU, as a list "0-15,32-47" */
	char *name;     /* model, when known */
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
};

/* xml NULL = live discovery. policy may be NULL (no admin map); hostname
 * selects the admin map entries for this node (NULL = this host). */
int n56_topology_load(const char *xml, const struct n56_policy *policy,
		      const char *hostname, struct n56_topology **out,
		      char *err, size_t errlen);
void n56_topology_free(struct n56_topology *t);
/* The node shape placement needs. */
int n56_topology_shape(const struct n56_topology *t, struct n56_node_shape *s,
		       char *err, size_t errlen);
/* Node cache: an XML export plus what was found, root-owned. */
int n56_topology_cache_write(const struct n56_topology *t, const char *path,
			     char *err, size_t errlen);
int n56_topology_cache_read(const char *path, struct n56_topology **out,
			    char *err, size_t errlen);

#endif
