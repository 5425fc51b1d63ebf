/* The SPANK plugin's state and its per-context entry points. plugin.c
 * dispatches on spank_context() into local.c (srun, sbatch, salloc: as the
 * user), remote.c (slurmstepd) and slurmd.c (slurmd). */
#ifndef NAM56R_SPANK_PLUGIN_H
#define NAM56R_SPANK_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#include <slurm/spank.h>

#include "step/core.h"
#include "policy/plan.h"
#include "spank/n56spank.h"
#include "topology/placement.h"
#include "topology/slurmblock.h"
#include "topology/topology.h"

#define N56_LOG_PREFIX "nam56r: "
#define N56_DEFAULT_CACHE_DIR "/var/cache/nam56r"

/* One plugin instance per process: srun/sbatch, slurmstepd or slurmd. */
struct n56_spank_state {
	struct n56_spank_args args;
	bool args_ok;
	char args_err[512];

	/* local/allocator: the option as processed, for idempotence */
	char *opt_value;
	int opt_rc;
	struct n56_recipe *recipe; /* the content every rank will run */
	char policy_sha[65];	   /* of the policy it was validated with */

	/* remote */
	bool opt_seen;	 /* --nam56r-recipe was given for this job */
	bool opt_none;	 /* ... as "none": a helper step, not training */
	bool active;	 /* this step is a NAM56R step */
	bool batch_step; /* the batch script: not a training rank */
	char *error;	 /* stored, raised from task_init only */
	struct n56_policy *policy;
	struct n56_plan *plan;
	struct n56_topology *topo;
	struct n56_step *step; /* this node's placement (step/core.h) */
	char *topo_path;       /* the XML the topology came from */
	char *policy_path;     /* "none" for the empty policy */
	char *policy_copy;     /* this step's copy of it, for the ranks */
	char *master;	       /* first node of the step */
	char *node_name;       /* this node, from the step's node list */
	char **hosts;	       /* the step's node list, expanded */
	size_t nhosts;
	uint32_t job_id, step_id, node_id, nnodes;
	int field; /* N56_RECORD_* where the record goes */
};

extern struct n56_spank_state n56_st;

/* local.c */
int n56_local_init(spank_t sp, int ac, char **av);
int n56_local_option(const char *optval);
int n56_local_post_opt(spank_t sp);
void n56_local_exit(void);

/* remote.c */
int n56_remote_init(spank_t sp, int ac, char **av);
int n56_remote_option(const char *optval);
int n56_remote_post_opt(spank_t sp);
int n56_remote_task_init(spank_t sp);
int n56_remote_task_post_fork(spank_t sp);
void n56_remote_exit(void);
/* Appends one line to the stored error (raised from task_init). */
void n56_remote_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The plugin's one printer of diagnostics (n56_diags_emit: sorted by file
 * and position, "file:line:col: error: msg"), each line led by
 * N56_LOG_PREFIX: to the submitting user's terminal, to the node's log
 * with a note after each line, or into the step's error (raised from
 * task_init, so the job fails with the lines in its output). */
enum n56_diags_to {
	N56_DIAGS_USER,
	N56_DIAGS_LOG,
	N56_DIAGS_STEP,
};
void n56_spank_diags(struct n56_diags *d, enum n56_diags_to to,
		     const char *note);

/* publish.c: the placement record into the job's Comment/AdminComment,
 * through the libslurm slurmstepd already loaded (never linked). */
int n56_publish_record(uint32_t job_id, int field, const char *record,
		       char *err, size_t errlen);

/* wrap.c: wrap=PATH (spank_prepend_task_argv, Slurm 23.11+). */
const char *n56_wrap_unsupported(void); /* why not here, or NULL */
int n56_remote_wrap(spank_t sp);	/* from task_init, after it */
/* jobcpus.c: the CPU ids job_id holds on node ("0-3,8"), or from Slurm
 * 24.11 on its GPU indices there ("2-5"); *what says which ("CPU",
 * "GPU"). From slurmctld. */
int n56_job_key_on_node(uint32_t job_id, const char *node, char *key,
			size_t len, const char **what, char *err,
			size_t errlen);

/* slurmd.c */
int n56_slurmd_init(spank_t sp, int ac, char **av);

/* Shared: the policy the plugstack names (trusted loader, or empty). */
int n56_spank_load_policy(const struct n56_spank_args *a,
			  struct n56_policy **out, struct n56_diags *d);
const char *n56_spank_cache_dir(const struct n56_spank_args *a,
				const struct n56_policy *p);

#endif
