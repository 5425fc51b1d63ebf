/* Placement: which node and GPU each global rank gets. A pure function of
 * the parallel sizes and rank order, the node count, and the per-node island
 * structure; never calls Slurm or hwloc. Megatron's rank order is fixed
 * (tp-cp-ep-dp-pp, PP outermost); placement only chooses GPUs. */
#ifndef NAM56R_PLACEMENT_H
#define NAM56R_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/plan.h"

#define N56_MAX_GPUS_PER_NODE 64
#define N56_MAX_NODES (1L << 24)

/* What one node looks like (all nodes alike unless the admin map says
 * otherwise). GPUs are CUDA indices 0..gpus-1. */
struct n56_node_shape {
	int gpus;
	int island_of[N56_MAX_GPUS_PER_NODE]; /* island id of each GPU */
	int nislands;
	/* Multi-node NVLink (NVL72-like): consecutive groups of this many nodes
	 * share one NVLink domain, and all their GPUs form one island. 1 for
	 * islands that stop at the node. */
	int nodes_per_domain;
	bool degraded; /* islands unknown: one per GPU, assumed */
	bool assumed;  /* no topology given at all: one island per node */
};

struct n56_rank_place {
	long rank;
	long node;	/* 0-based index in the job's node list */
	int local_rank; /* index among the node's ranks */
	int gpu;	/* CUDA index on the node */
	int island;	/* global island id (domain-wide for multi-node) */
	long tp, cp, ep, etp, dp, edp, pp;
};

/* A rule that placement could not keep. Each flag is true exactly when
 * some placement (ranks filling nodes in order) could keep the rule, and
 * then this one does. */
struct n56_place_report {
	bool tp_in_island;     /* every TP group inside one island */
	bool ep_in_island;     /* every group of etp*ep expert ranks too */
	bool pp_in_node_order; /* stage p+1 never on an earlier node */
	char why[512];	       /* the first broken rule; "" when none */
};

/* Checks and precomputes (O(gpus)); must succeed before the calls below.
 * Returns -1 with a message in err when nodes*gpus != world. */
struct n56_placer;
int n56_placer_new(const struct n56_parallel *par,
		   const struct n56_node_shape *shape, long nodes,
		   struct n56_placer **out, struct n56_place_report *rep,
		   char *err, size_t errlen);
void n56_placer_free(struct n56_placer *pl);
/* Multi-node NVLink domains by node, from the job's node list (Slurm's
 * blocks): domain[i] >= 0 is the domain of the job's node i (nodes of
 * equal value share one, all their GPUs in it), -1 a node whose islands
 * stop at the node (the shape's). n must be the placer's node count.
 * Island ids become one per domain, numbered in node order, then the
 * islands of the nodes of no domain. rep's tp and ep verdicts are
 * computed again: a group keeps its rule when all its nodes share one
 * domain, or when it lies in one island of a node of no domain. -1 with
 * a message on bad input or when out of memory. */
int n56_placer_set_node_domains(struct n56_placer *pl, const long *domain,
				long n, struct n56_place_report *rep, char *err,
				size_t errlen);
/* One rank's placement: O(1) in the world size, no allocation. */
void n56_place_rank(const struct n56_placer *pl, long rank,
		    struct n56_rank_place *out);
/* The rank that runs on (node, local_rank): the inverse, also O(1). */
long n56_rank_at(const struct n56_placer *pl, long node, int local_rank);
/* The rank that runs on GPU `gpu` (CUDA index) of `node`; -1 when out of
 * range. O(1). */
long n56_rank_on_gpu(const struct n56_placer *pl, long node, int gpu);
/* What the placer was built for (for pictures and records). */
long n56_placer_nodes(const struct n56_placer *pl);
int n56_placer_gpus(const struct n56_placer *pl);
int n56_placer_nodes_per_domain(const struct n56_placer *pl);
const struct n56_parallel *n56_placer_parallel(const struct n56_placer *pl);
/* CUDA_VISIBLE_DEVICES for a node: the GPU of local rank 0 first, then 1,
 * ..., so that torch.cuda.set_device(LOCAL_RANK) selects the placed GPU. */
int n56_visible_devices(const struct n56_placer *pl, char *buf, size_t len);
/* The shape used when no topology is known: one island of all GPUs. */
void n56_node_shape_assumed(struct n56_node_shape *s, int gpus);

#endif
