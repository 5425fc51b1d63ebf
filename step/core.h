/* The step core: every decision about where a step's ranks run on one
 * node, made once. From the plan (and the policy it was built with), the
 * node's topology and the step's facts as the caller found them, it gives
 * this node's placement and each rank's environment, or the reason the
 * step must fail. The plugin's slurmstepd side, nam56r-launch in a job
 * step, local mode and plan call it; they gather the facts and apply or
 * print the results. No Slurm call, no printing, no environment read. */
#ifndef NAM56R_STEP_CORE_H
#define NAM56R_STEP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/plan.h"
#include "topology/placement.h"
#include "topology/rankenv.h"
#include "topology/topology.h"

/* The step as its caller found it (Slurm's items and SLURM_* variables,
 * or local mode's own). Strings are borrowed; NULL is "not set". */
struct n56_step_facts {
	long nnodes;	       /* nodes of the step */
	long ntasks;	       /* tasks of the step */
	long nlocal;	       /* tasks on this node; -1 when not known */
	long node_id;	       /* this node's index in the step's node list */
	const char *node_name; /* its name: the admin map's entry for it and
				* the messages; NULL: the map is not checked */
	/* The step's node names in order (island_source slurm-block: the
	 * groups held against Slurm's blocks); NULL: not checked. */
	char *const *hosts;
	size_t nhosts;
	const char *master; /* MASTER_ADDR: the step's first node */
	/* Global ranks Slurm starts on this node, held against placement
	 * (none: not checked). */
	const long *local_ranks;
	size_t nlocal_ranks;
	const char *distribution; /* SLURM_DISTRIBUTION */
	const char *plane_size;	  /* SLURM_DIST_PLANESIZE */
	/* The step's GPUs as the node's indices ("2-5", SLURM_STEP_GPUS,
	 * else SLURM_JOB_GPUS): placement uses their islands when the node
	 * has more GPUs than the step runs ranks. */
	const char *step_gpus;
	/* CUDA_VISIBLE_DEVICES as Slurm set it for the step: one rank per
	 * entry, and each rank's list is translated into it. */
	const char *visible_devices;
	bool gpus_required;	   /* no visible_devices fails the step */
	const char *topology_path; /* for messages; NULL: the topology's */
	/* MASTER_PORT, the first of these that is set: port (> 0), the first
	 * of resv_ports (SLURM_STEP_RESV_PORTS), the port computed from
	 * port_key (the job's lowest CPU, or GPU, id on the step's first
	 * node; port_key_what says which), else the policy's base + job_id
	 * mod N56_PORT_JOB_SPREAD (no job record to compute from). */
	int port;
	const char *resv_ports;
	const char *port_key;
	const char *port_key_what; /* "CPU" or "GPU"; NULL: "CPU" */
	uint32_t job_id, step_id;
};

/* This node's placement of the step. */
struct n56_step {
	const struct n56_plan *plan;	   /* borrowed */
	const struct n56_topology *topo;   /* borrowed; NULL: none usable */
	struct n56_node_shape shape;	   /* the shape placement used */
	int gpu_of[N56_MAX_GPUS_PER_NODE]; /* shape's GPU -> node's index */
	struct n56_placer *placer;
	struct n56_place_report report; /* tp_in_island false: why says */
	char *master;
	int master_port;
	long node_id;
	char **gpus; /* visible_devices, split; NULL: not translated */
	size_t ngpus;
	/* For the caller's log: the admin map's check when it held, and
	 * why a topology it was given is not used ("" when none). */
	char homogeneity[1024];
	char no_topology[512];
};

/* Ranks per node: the same number on every node (and nlocal on this one,
 * when known). 0 with *gpn, or -1 with the message. */
int n56_step_tasks_per_node(const struct n56_step_facts *f, long *gpn,
			    char *err, size_t errlen);
/* The distribution every node sees against the block layout placement
 * assumes: 0, or -1 with what to use. */
int n56_step_distribution(const struct n56_step_facts *f, long gpn, char *err,
			  size_t errlen);
/* The placer for shape: 0, or -1 with "placement: ..." in err. */
int n56_step_placer(const struct n56_plan *plan,
		    const struct n56_node_shape *shape, struct n56_placer **out,
		    struct n56_place_report *rep, char *err, size_t errlen);
/* A TP group across islands: 0 when TP stays in islands or the policy
 * allows it (rep->why says why, for a warning), -1 with the reason when
 * the policy's topology.require_tp_in_island refuses it. */
int n56_step_tp_verdict(const struct n56_place_report *rep,
			const struct n56_policy *policy, char *err,
			size_t errlen);
/* Every decision of this node, in this order: MASTER_PORT, the node's
 * shape against the step and against the policy's admin map, the placer,
 * the groups against Slurm's blocks (island_source slurm-block), this
 * node's ranks against placement, the TP verdict, the step's GPUs.
 * topo may be NULL (one island per node assumed). 0 with *out, or -1
 * with every reason found, one per line, in err. */
int n56_step_decide(const struct n56_plan *plan,
		    const struct n56_topology *topo,
		    const struct n56_step_facts *f, struct n56_step **out,
		    char *err, size_t errlen);
void n56_step_free(struct n56_step *s);
/* One rank's environment (topology/rankenv.h) with CUDA_VISIBLE_DEVICES
 * in Slurm's numbering of the step's GPUs, and in *node_gpu the node's
 * index of its GPU. -1 with the message when the rank is not this
 * node's or its GPU is not the step's. Free with n56_env_clear. */
int n56_step_rank_env(const struct n56_step *s, long rank, struct n56_env *out,
		      int *node_gpu, char *err, size_t errlen);

#endif
