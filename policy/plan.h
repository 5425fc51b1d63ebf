/* The plan: a recipe and a site policy, validated against Megatron's start-up
 * rules for a given allocation, translated to the three surfaces (generated
 * native args, fixed-policy env, runtime patch surface). Pure: never prints,
 * never calls Slurm. Placement lives in topology/placement.h. */
#ifndef NAM56R_PLAN_H
#define NAM56R_PLAN_H

#include "policy/recipe.h"
#include "policy/site.h"

struct n56_memory;

struct n56_parallel {
	long tp, pp, vpp, ep, etp, cp, dp, world;
	bool sequence_parallel;
	bool pp_before_dp; /* rank order tp-cp-ep-pp-dp instead of tp-cp-ep-dp-pp */
};

struct n56_stage {
	int pp, vpp;	  /* pipeline stage, virtual stage */
	int first;	  /* 0-based index of the first layer */
	int count;	  /* number of layers */
	char *letters;	  /* the recipe letters of those layers */
	double cost;	  /* estimated cost (FLOPs per token, fwd+bwd) */
	double mem_share; /* fraction of the model's parameters held */
};

/* The chosen split under the schedule model (policy/layout_schedule.c).
 * Times in seconds at layout.gpu_tflops. */
struct n56_layout_schedule {
	bool simulated; /* false: why says why not */
	char why[200];
	long microbatches, group;
	double backward_ratio, p2p_s, gpu_tflops;
	double time_s;	     /* the chosen split's iteration */
	double ideal_s;	     /* total work / pp: no bubble */
	double balanced_s;   /* the stage-balanced split (the old objective) */
	double equal_s;	     /* the equal-count split */
	double *idle_s;	     /* pp entries */
	long *peak_inflight; /* pp entries: (microbatch, chunk) pairs */
	long *warmup;	     /* pp entries: warm-up forwards */
	int *balanced_sizes; /* pp * vpp: the stage-balanced split */
	bool exact;	     /* the search finished (false: stopped) */
	unsigned long tried; /* splits simulated */
	double s_per_cost;   /* seconds per unit of stage cost */
};

struct n56_layout {
	char *pattern; /* the recipe's family pattern, as written */
	char *tiled;   /* depth letters */
	int depth;
	int counts[N56_NFAMILIES];
	int *r_layer_indices; /* 1-based positions of R blocks */
	int nr;
	int *dsa_a_layer_ranks; /* 0-based A ordinals using DSA */
	int ndsa;
	char *native_pattern;	  /* --hybrid-layer-pattern value */
	struct n56_stage *stages; /* pp*vpp, in segment order */
	int nstages;
	double imbalance_balanced; /* max stage cost / mean, chosen split */
	double imbalance_naive;	   /* same for the equal-count split */
	bool hand_split;	   /* recipe pinned layout.segments */
	bool split_exact; /* the balanced split is proven optimal (false:
			   the search hit its work limit; best found) */
	struct n56_layout_schedule sched;
};

enum n56_origin {
	N56_ORIGIN_SITE_PINNED = 0,
	N56_ORIGIN_RECIPE,
	N56_ORIGIN_SITE_DEFAULT,
	N56_ORIGIN_DERIVED, /* required by the generated args (e.g. TP>1) */
};
const char *n56_origin_name(enum n56_origin o); /* "site-pinned", ... */

struct n56_env_entry {
	char *name;
	char *value;
	enum n56_origin origin;
	char *why; /* for derived values: the rule; else NULL */
};

struct n56_env {
	struct n56_env_entry *v;
	size_t n;
};

struct n56_plan_request {
	long nodes;	    /* > 0 */
	long gpus_per_node; /* > 0; tasks per node = GPUs per node */
};

struct n56_plan {
	const struct n56_recipe *recipe; /* borrowed */
	const struct n56_policy *policy; /* borrowed */
	long nodes, gpus_per_node;
	struct n56_parallel par;
	struct n56_layout layout;
	char **argv; /* generated native args, NULL-terminated */
	size_t argc;
	char **command; /* runtime argv prefix (recipe runtime.command) */
	size_t ncommand;
	struct n56_env fixed_policy;  /* env of every rank (not NAM56R_*) */
	struct n56_env patch_surface; /* NAM56R_* values of the seams */
	char plan_sha256_hex[65];     /* hash of recipe sha + args + env */
	struct n56_memory *memory;    /* per-rank memory (policy/memory.h) */
};

/* Tiles pattern to depth and fills counts, R indices, DSA ranks and the
 * native pattern (without pipeline bars). Used by n56_plan_build. */
int n56_layout_tile(const struct n56_recipe *r, struct n56_layout *out,
		    struct n56_diags *d);

/* Validates and translates. Returns 0 and *out, or -1 with *every* violation
 * in d (each naming the recipe line and what would fix it). */
int n56_plan_build(const struct n56_recipe *r, const struct n56_policy *p,
		   const struct n56_plan_request *req, struct n56_plan **out,
		   struct n56_diags *d);
/* The same, with what says the GPU's memory for the fit check: the
 * node's NVML total and the Slurm partition (policy/memory.h; NULL: the
 * policy's default, else the recipe's). */
struct n56_mem_capacity_in;
int n56_plan_build_mem(const struct n56_recipe *r, const struct n56_policy *p,
		       const struct n56_plan_request *req,
		       const struct n56_mem_capacity_in *cap,
		       struct n56_plan **out, struct n56_diags *d);
void n56_plan_free(struct n56_plan *plan);
void n56_layout_clear(struct n56_layout *l);

/* Cost-balanced split of the tiled layers into pp*vpp contiguous segments
 * (policy/layout.c). Fills l->stages, the imbalances, and rewrites
 * l->native_pattern with `|` bars and the `/` MTP suffix. */
int n56_layout_split(const struct n56_recipe *r, const struct n56_parallel *par,
		     struct n56_layout *l, struct n56_diags *d);

void n56_layout_schedule_clear(struct n56_layout_schedule *s);

/* Env name checks shared by the plan and the plugin. */
bool n56_env_name_denied(const struct n56_policy *p, const char *name);
const struct n56_env_entry *n56_env_find(const struct n56_env *e,
					 const char *name);

/* The steps of n56_plan_build, for the tests and the plugin. Each appends
 * every violation it finds to d and returns -1 when it found one. */
bool n56_recipe_has_seam(const struct n56_recipe *r, const char *seam);
/* Parallel sizes of the recipe for the request; dp is 0 when the world is
 * not a multiple of tp*pp*cp. */
void n56_parallel_from_recipe(const struct n56_recipe *r,
			      const struct n56_plan_request *req,
			      struct n56_parallel *par);
/* Megatron's start-up rules (policy/validate.c). */
int n56_plan_validate(const struct n56_recipe *r, const struct n56_policy *p,
		      const struct n56_plan_request *req,
		      const struct n56_parallel *par,
		      const struct n56_layout *l, struct n56_diags *d);
/* Env the generated args depend on: checks the merged env and adds the
 * missing values as N56_ORIGIN_DERIVED (policy/validate.c). */
int n56_validate_env_couplings(const struct n56_recipe *r,
			       const struct n56_policy *p,
			       const struct n56_parallel *par,
			       struct n56_env *env, struct n56_diags *d);
/* Generated native args, NULL-terminated (policy/translate.c). */
int n56_plan_translate(const struct n56_recipe *r,
		       const struct n56_parallel *par,
		       const struct n56_layout *l, char ***argv, size_t *argc);
void n56_argv_free(char **argv);
/* Values the translation derives where the recipe leaves them unset
 * (policy/translate.c; nam56r.yaml(5) says which and why). */
bool n56_rope_fusion_on(const struct n56_recipe *r, const struct n56_layout *l);
const char *n56_cp_comm_type(const struct n56_recipe *r,
			     const struct n56_layout *l);
bool n56_router_pre_softmax(const struct n56_recipe *r);
/* The i-th piece of node software the generated args need (i from 0), or
 * NULL past the last (policy/validate.c). */
const char *n56_node_requirement(const struct n56_recipe *r,
				 const struct n56_layout *l, size_t i);
/* Fixed policy: site pinned, recipe, site defaults (policy/env.c). */
int n56_env_merge(const struct n56_recipe *r, const struct n56_policy *p,
		  struct n56_env *out, struct n56_diags *d);
/* NAM56R_* values of the declared seams (policy/env.c). */
int n56_patch_surface(const struct n56_recipe *r, const struct n56_layout *l,
		      struct n56_env *out, struct n56_diags *d);
int n56_env_add(struct n56_env *e, const char *name, const char *value,
		enum n56_origin origin, const char *why);
/* Frees the entries and empties e (also declared in topology/rankenv.h). */
void n56_env_clear(struct n56_env *e);
/* The built-in rule that reserves name for the plugin, Slurm or torch
 * (never settable from a recipe), or NULL. */
const char *n56_env_computed_rule(const struct n56_policy *p, const char *name);
/* The built-in rule that makes name load code (PATH, LD_*, PYTHONSTARTUP,
 * ...) when env.allow does not name it, or NULL. */
const char *n56_env_code_rule(const struct n56_policy *p, const char *name);
/* The deny rule (glob) that refuses name, or NULL. */
const char *n56_env_deny_rule(const struct n56_policy *p, const char *name);

#endif
