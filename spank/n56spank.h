/* Pure helpers of the SPANK plugin alone: the plugstack argument table and
 * the allocation request seen at submission. What the plugin shares with
 * nam56r-launch (carried names, base64, the placement record, host lists,
 * MASTER_PORT, the step layout check) is the job contract, job/n56job.h.
 * None of this calls Slurm or prints; errors go to the caller's buffer. */
#ifndef NAM56R_SPANK_H
#define NAM56R_SPANK_H

#include <stdbool.h>
#include <stddef.h>

#include "job/n56job.h"

/* plugstack.conf arguments: `key=value`; unknown keys are refused. */
struct n56_spank_args {
	char *policy; /* policy=PATH (default SYSCONFDIR/nam56r/policy.yaml) */
	char *cache_dir; /* cache_dir=DIR (default: the policy's) */
	char *topology;	 /* topology=XML: use this export, not live discovery */
	bool no_policy;	 /* policy=none: run with the empty policy */
	int record; /* record=: -1 = the policy decides, else N56_RECORD_* */
	char *wrap; /* wrap=PATH: run steps through this nam56r-launch */
};

int n56_spank_args_parse(int ac, char **av, struct n56_spank_args *out,
			 char *err, size_t errlen);
void n56_spank_args_clear(struct n56_spank_args *a);

/* What the submission asked for, as far as the submitting process can see
 * it: its own options (argv) and the Slurm input environment. 0 = unknown. */
struct n56_request_seen {
	long nodes;
	long tasks_per_node;
	long gpus_per_node;
	long ntasks;
	/* Given on the command line (not inherited from the environment):
	 * only these are held against each other. */
	bool tasks_per_node_argv;
	bool gpus_per_node_argv;
	/* The partition (or list "a,b") the job asks for, borrowed from argv
	 * or from getenv_fn's value; NULL: none named (Slurm's default). */
	const char *partition;
};
/* getenv_fn lets tests supply an environment. The partition comes from
 * -p/--partition, else from the variable the program reads (argv[0]:
 * sbatch SBATCH_PARTITION, salloc SALLOC_PARTITION, srun
 * SLURM_PARTITION); an srun inside a job (SLURM_JOB_ID) runs in the job's
 * partition, SLURM_JOB_PARTITION, whatever it names. */
void n56_request_from_cmdline(int argc, char **argv,
			      const char *(*getenv_fn)(const char *),
			      struct n56_request_seen *out);

#endif
