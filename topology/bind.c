/* Rank binding: sched_{get,set}affinity for the CPUs, so that Slurm's grant
 * is read from the process itself; hwloc_set_membind for memory on a live
 * topology, the set_mempolicy system call when the topology came from the
 * node cache (hwloc binds only through a topology it discovered). */
#include "config.h"

#include "topology/bind.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MPOL_BIND_MODE 2 /* MPOL_BIND of <linux/mempolicy.h> */

int n56_bind_target(hwloc_const_cpuset_t near, hwloc_const_cpuset_t allowed,
		    hwloc_cpuset_t out)
{
	if (!allowed || !out || hwloc_bitmap_iszero(allowed))
		return -1;
	if (near && hwloc_bitmap_intersects(near, allowed)) {
		hwloc_bitmap_and(out, near, allowed);
		return 0;
	}
	hwloc_bitmap_copy(out, allowed);
	return 1;
}

static int get_affinity(hwloc_cpuset_t set)
{
	for (int ncpu = 1024; ncpu <= (1 << 20); ncpu *= 4) {
		size_t size = CPU_ALLOC_SIZE(ncpu);
		cpu_set_t *c = CPU_ALLOC(ncpu);

		if (!c)
			return -1;
		CPU_ZERO_S(size, c);
		if (sched_getaffinity(0, size, c) == 0) {
			hwloc_bitmap_zero(set);
			for (int i = 0; i < ncpu; i++)
				if (CPU_ISSET_S(i, size, c))
					hwloc_bitmap_set(set, i);
			CPU_FREE(c);
			return 0;
		}
		CPU_FREE(c);
		if (errno != EINVAL)
			return -1;
	}
	return -1;
}

static int set_affinity(hwloc_const_cpuset_t set)
{
	int last = hwloc_bitmap_last(set), cpu, r;
	size_t size;
	cpu_set_t *c;

	if (last < 0)
		return -1;
	size = CPU_ALLOC_SIZE(last + 1);
	c = CPU_ALLOC(last + 1);
	if (!c)
		return -1;
	CPU_ZERO_S(size, c);
	hwloc_bitmap_foreach_begin(cpu, set) CPU_SET_S(cpu, size, c);
	hwloc_bitmap_foreach_end();
	r = sched_setaffinity(0, size, c);
	CPU_FREE(c);
	return r;
}

static int bind_memory(const struct n56_topology *t,
		       hwloc_const_nodeset_t nodes)
{
	unsigned long mask[16] = { 0 };
	int node;

	if (t->hwloc && hwloc_topology_is_thissystem(t->hwloc))
		return hwloc_set_membind(t->hwloc, nodes, HWLOC_MEMBIND_BIND,
					 HWLOC_MEMBIND_PROCESS |
						 HWLOC_MEMBIND_BYNODESET);
	hwloc_bitmap_foreach_begin(node,
				   nodes) if (node < (int)(sizeof(mask) * 8))
		mask[node / (8 * sizeof(long))] |=
		1UL << (node % (8 * sizeof(long)));
	hwloc_bitmap_foreach_end();
	return (int)syscall(SYS_set_mempolicy, MPOL_BIND_MODE, mask,
			    sizeof(mask) * 8);
}

int n56_bind_rank(const struct n56_topology *t, int gpu, char *nic_out,
		  size_t niclen, char *msg, size_t msglen)
{
	const struct n56_topo_gpu *g;
	hwloc_cpuset_t near = hwloc_bitmap_alloc();
	hwloc_cpuset_t allowed = hwloc_bitmap_alloc();
	hwloc_cpuset_t target = hwloc_bitmap_alloc();
	hwloc_nodeset_t nodes = hwloc_bitmap_alloc();
	char *a = NULL, *b = NULL;
	int used_allowed, ret = -1;
	size_t off;

	if (niclen)
		nic_out[0] = '\0';
	if (!near || !allowed || !target || !nodes) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	if (!t || gpu < 0 || gpu >= t->ngpus) {
		snprintf(msg, msglen, "GPU %d is not on this node (it has %d)",
			 gpu, t ? t->ngpus : 0);
		goto out;
	}
	g = &t->gpus[gpu];
	if (g->nic)
		snprintf(nic_out, niclen, "%s", g->nic);
	if (get_affinity(allowed) < 0) {
		snprintf(msg, msglen, "sched_getaffinity: %s", strerror(errno));
		goto out;
	}
	if (!g->cpuset || hwloc_bitmap_list_sscanf(near, g->cpuset) < 0)
		hwloc_bitmap_zero(near);
	used_allowed = n56_bind_target(near, allowed, target);
	if (used_allowed < 0) {
		snprintf(msg, msglen, "no CPU in this process's affinity");
		goto out;
	}
	if (set_affinity(target) < 0) {
		snprintf(msg, msglen, "sched_setaffinity: %s", strerror(errno));
		goto out;
	}
	hwloc_bitmap_list_asprintf(&a, target);
	hwloc_bitmap_list_asprintf(&b, allowed);
	if (used_allowed)
		off = snprintf(msg, msglen,
			       "kept Slurm's CPUs %s (none of GPU %d's cores "
			       "%s is among them)",
			       a ? a : "?", gpu,
			       g->cpuset ? g->cpuset : "unknown");
	else
		off = snprintf(msg, msglen, "CPUs %s (GPU %d's cores %s",
			       a ? a : "?", gpu,
			       g->cpuset ? g->cpuset : "unknown");
	if (!used_allowed && off < msglen)
		off += snprintf(msg + off, msglen - off, " within Slurm's %s)",
				b ? b : "?");
	if (g->numa_nodes &&
	    hwloc_bitmap_list_sscanf(nodes, g->numa_nodes) == 0 &&
	    !hwloc_bitmap_iszero(nodes)) {
		int r = bind_memory(t, nodes);

		if (off < msglen && r < 0)
			off += snprintf(msg + off, msglen - off,
					"; memory not bound to NUMA %s: %s",
					g->numa_nodes, strerror(errno));
		else if (off < msglen)
			off += snprintf(msg + off, msglen - off,
					"; memory on NUMA %s", g->numa_nodes);
	} else if (off < msglen) {
		off += snprintf(msg + off, msglen - off,
				"; NUMA node unknown, memory not bound");
	}
	if (off < msglen)
		snprintf(msg + off, msglen - off, "; NIC %s",
			 g->nic ? g->nic : "none");
	ret = 0;
out:
	free(a);
	free(b);
	hwloc_bitmap_free(near);
	hwloc_bitmap_free(allowed);
	hwloc_bitmap_free(target);
	hwloc_bitmap_free(nodes);
	return ret;
}
