/* Binding one rank to its GPU: CPUs near the GPU within the cores Slurm
 * granted (never widened), memory on the GPU's NUMA node, and the nearest
 * NIC for the caller to publish. Used by the exec wrapper. */
#ifndef NAM56R_BIND_H
#define NAM56R_BIND_H

#include <hwloc.h>
#include <stdbool.h>
#include <stddef.h>

#include "topology/topology.h"

/* The CPUs a rank gets: near AND allowed. When that is empty (Slurm gave
 * the task cores far from its GPU) the allowed set is kept whole: returns
 * 1 then, 0 when the intersection was used, -1 on bad input. */
int n56_bind_target(hwloc_const_cpuset_t near, hwloc_const_cpuset_t allowed,
		    hwloc_cpuset_t out);

/* Binds the calling process for GPU `gpu` (CUDA index in t). nic_out gets
 * the nearest NIC ("" when none), msg what was done (for the log). Returns
 * 0, or -1 with the reason in msg when the CPU binding failed; a memory
 * policy that cannot be set is reported in msg but is not a failure. */
int n56_bind_rank(const struct n56_topology *t, int gpu, char *nic_out,
		  size_t niclen, char *msg, size_t msglen);

#endif
