/* Per-rank GPU memory model of a plan (policy/memory.c): what each pipeline
 * rank holds at its peak (weights, fp32 master weights, gradients, Adam
 * states, activations times the microbatches in flight, the output layer's
 * logits) plus a stated allowance, against the GPU's capacity less the
 * site's headroom. The formulas are in man/nam56r.yaml.5 (MEMORY). Pure:
 * never prints. */
#ifndef NAM56R_MEMORY_H
#define NAM56R_MEMORY_H

#include "policy/plan.h"

enum n56_mem_term {
	N56_MEM_WEIGHTS = 0, /* bf16 parameters */
	N56_MEM_MASTER,	     /* fp32 master copies */
	N56_MEM_GRADS,	     /* fp32 main gradients */
	N56_MEM_OPTIM,	     /* Adam first and second moments, fp32 */
	N56_MEM_ACT,	     /* layer activations x in-flight microbatches */
	N56_MEM_EMBED,	     /* embedding input and dropout mask */
	N56_MEM_LOGITS,	     /* output layer and loss (and each MTP depth) */
	N56_MEM_ALLOWANCE,   /* CUDA context, NCCL, CUDA graphs, fragments */
	N56_MEM_NTERMS
};
/* "weights", "master", ... as in the JSON and the text table. */
const char *n56_mem_term_name(enum n56_mem_term t);

enum n56_mem_verdict { N56_MEM_FITS = 0, N56_MEM_TIGHT, N56_MEM_OVER };
const char *n56_mem_verdict_name(enum n56_mem_verdict v); /* fits|tight|over */

struct n56_mem_rank {
	int pp;			     /* pipeline rank */
	double term[N56_MEM_NTERMS]; /* bytes */
	double allocated;	     /* sum of all terms but the allowance */
	double total;		     /* allocated + allowance */
	double *inflight; /* microbatches held per virtual stage, nvirtual */
	int nvirtual;
	int stage; /* the segment of the largest activations */
	enum n56_mem_verdict verdict;
};

struct n56_memory {
	struct n56_mem_rank *rank; /* pp entries */
	int npp;
	int worst;	 /* index of the rank with the largest total */
	double capacity; /* bytes of one GPU; 0 when unknown */
	const char *capacity_source;	/* "recipe", "policy", "policy
				      * partition", "node" or "unknown" */
	const char *capacity_partition; /* the policy's memory.partitions
					 * entry used (borrowed), or NULL */
	double headroom;   /* fraction of capacity the policy keeps free */
	double warn_band;  /* fraction of capacity below the limit that warns */
	double limit;	   /* capacity * (1 - headroom) */
	long microbatches; /* per pipeline per iteration */
	enum n56_mem_verdict verdict; /* of the worst rank */
};

/* What the capacity comes from, most trusted first: the node's NVML total
 * (node_bytes > 0), the policy's per-partition or default value, the
 * recipe's memory.gpu_memory_gb. partition may be NULL, one name or a
 * Slurm list "a,b": the job may start in any, so the smallest capacity
 * of them applies (a partition without an entry has the default). */
struct n56_mem_capacity_in {
	double node_bytes;
	const char *partition;
};

/* In-flight microbatches per virtual stage of pipeline rank `rank`, in
 * units of that virtual stage's activations, under Megatron's 1F1B
 * schedule (vpp 1: min(pp - rank, m)) or its interleaved schedule (the
 * warm-up count of get_pp_rank_microbatches plus the first 1F1B forward,
 * the forwards taken in groups of pp per model chunk). out has vpp
 * entries. This is the seam where the layout issue's schedule model can
 * replace it. */
void n56_mem_inflight(int pp, int vpp, int rank, long microbatches,
		      double *out);

/* Builds the model for a split layout (l->stages set). Returns 0, or -1
 * (out of memory, no stages) with a diag. */
int n56_memory_build(const struct n56_recipe *r, const struct n56_policy *p,
		     const struct n56_parallel *par, const struct n56_layout *l,
		     const struct n56_mem_capacity_in *cap,
		     struct n56_memory *out, struct n56_diags *d);
void n56_memory_clear(struct n56_memory *m);

/* The cheapest changes that make the worst rank fit, each checked with
 * the model and, where req is given, with every start-up rule
 * (n56_plan_validate): text like "recompute: selective (peak 118.2 GB)".
 * Writes at most n entries into buf (each len bytes); returns how many. */
size_t n56_memory_fixes(const struct n56_recipe *r, const struct n56_policy *p,
			const struct n56_plan_request *req,
			const struct n56_parallel *par,
			const struct n56_layout *l,
			const struct n56_mem_capacity_in *cap, char (*buf)[160],
			size_t n);

/* Refuses (appends a diag, returns -1) when the worst rank exceeds the
 * limit: names the rank, its stage, the dominant terms and the fixes. */
int n56_memory_check(const struct n56_recipe *r, const struct n56_policy *p,
		     const struct n56_plan_request *req,
		     const struct n56_parallel *par, const struct n56_layout *l,
		     const struct n56_mem_capacity_in *cap,
		     const struct n56_memory *m, struct n56_diags *d);

#endif
