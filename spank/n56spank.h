/* Pure helpers shared by the SPANK plugin and nam56r-launch: the plugstack
 * argument table, base64 for the carried recipe, the placement record
 * (format, parse, merge into an existing job comment), Slurm hostlist
 * expansion and the allocation request seen at submission. None of this
 * calls Slurm or prints; errors go to the caller's buffer. */
#ifndef NAM56R_SPANK_H
#define NAM56R_SPANK_H

#include <stdbool.h>
#include <stddef.h>

/* Names of what the plugin carries from submission to the compute side.
 * spank_job_control_setenv("NAM56R_RECIPE_B64") shows up as
 * SLURM_SPANK_NAM56R_RECIPE_B64 in the batch environment; srun exports the
 * same names itself, so one name reaches every task. */
#define N56_CARRY_CONTENT "NAM56R_RECIPE_B64"
#define N56_CARRY_SHA "NAM56R_RECIPE_SHA256"
#define N56_CARRY_PATH "NAM56R_RECIPE_PATH"
/* The sha256 of the site policy the submission (sbatch, or the srun that
 * starts the step) validated with: each node compares its own. */
#define N56_CARRY_POLICY_SHA "NAM56R_POLICY_SHA256"
#define N56_CARRY_PREFIX "SLURM_SPANK_"
/* Set in each task by the plugin, read by the exec wrapper. */
#define N56_ENV_POLICY "NAM56R_POLICY"
#define N56_ENV_TOPOLOGY "NAM56R_TOPOLOGY"
#define N56_ENV_GPU "NAM56R_GPU"
/* The island signature of the node shape placement used ("4+4"): every
 * rank carries it so that tools can compare the nodes of a step. */
#define N56_ENV_NODE_SHAPE "NAM56R_NODE_SHAPE"

/* The largest recipe the plugin carries (it travels in the environment). */
#define N56_RECIPE_MAX (64 * 1024)

/* plugstack.conf arguments: `key=value`; unknown keys are refused. */
struct n56_spank_args {
	char *policy;    /* policy=PATH (default SYSCONFDIR/nam56r/policy.yaml) */
	char *cache_dir; /* cache_dir=DIR (default: the policy's) */
	char *topology;  /* topology=XML: use this export, not live discovery */
	bool no_policy;  /* policy=none: run with the empty policy */
	int record;      /* record=: -1 = the policy decides, else N56_RECORD_* */
	char *wrap;      /* wrap=PATH: run steps through this nam56r-launch */
};
enum { N56_RECORD_NONE = 0, N56_RECORD_COMMENT, N56_RECORD_ADMIN_COMMENT };

int n56_spank_args_parse(int ac, char **av, struct n56_spank_args *out,
			 char *err, size_t errlen);
void n56_spank_args_clear(struct n56_spank_args *a);
/* The record field named by a policy's record.field text. */
int n56_record_field_parse(const char *s);

/* base64 (RFC 4648, padded). decode refuses anything but the alphabet. */
char *n56_base64_encode(const void *buf, size_t len);
int n56_base64_decode(const char *s, char **out, size_t *outlen);

/* The placement record: one line in the job's Comment or AdminComment.
 * nam56r:1 sha256=<12 hex> world=W nodes=N gpn=G tp= cp= ep= etp= dp= pp=
 * vpp= order=tp-cp-ep-dp-pp islands=4+4 master=HOST:PORT */
#define N56_RECORD_TAG "nam56r:1"
#define N56_RECORD_SEP " | "
#define N56_RECORD_MAX_ISLANDS 64
struct n56_record {
	char sha12[13];
	long world, nodes, gpn, tp, cp, ep, etp, dp, pp, vpp;
	char order[32];
	int island_size[N56_RECORD_MAX_ISLANDS];
	int nislands;
	char master[256]; /* HOST:PORT */
};
int n56_record_format(const struct n56_record *r, char *buf, size_t len);
/* Finds the record inside a whole job field and parses it. Returns 1 when
 * found and valid, 0 when the text has no record, -1 with err when the
 * record is damaged. */
int n56_record_find(const char *field, struct n56_record *r, char *err,
		    size_t errlen);
/* The new field value: the old text with any older nam56r record replaced
 * by `record`, or `record` appended after N56_RECORD_SEP. Never loses the
 * rest of the old text. Returns a malloc'd string or NULL (no memory). */
char *n56_record_merge(const char *old, const char *record);

/* Slurm hostlist expressions: "n[1-3,7],gpu[001-002],login". */
int n56_hostlist_expand(const char *expr, char ***hosts, size_t *n,
			char *err, size_t errlen);
void n56_hostlist_free(char **hosts, size_t n);

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

/* Generated native args vs the user's ARGS after `--`: a flag the plan
 * generated with another value is a contradiction (-1, err names both);
 * an exact repeat is dropped; the rest is appended. out is NULL-terminated,
 * the strings borrowed from the inputs. */
int n56_args_merge(char *const *gen, size_t ngen, char *const *user,
		   size_t nuser, char ***out, size_t *nout, char *err,
		   size_t errlen);

/* MASTER_PORT (spank/ports.c). The first port of SLURM_STEP_RESV_PORTS;
 * else base + (lowest CPU id the job holds on the step's first node) *
 * N56_PORT_STEPS + step id % N56_PORT_STEPS: distinct for jobs that share
 * that node (they hold disjoint CPUs), and for up to N56_PORT_STEPS
 * concurrent steps of one job. */
#include <stdint.h>
#define N56_PORT_STEPS 32
int n56_resv_ports_first(const char *s, int *port);
/* The same with the key's kind named in messages ("CPU" or "GPU"). */
int n56_port_from_key(long base, const char *what, const char *list,
		      uint32_t step_id, int *port, char *err, size_t errlen);
int n56_port_from_cpus(long base, const char *cpus, uint32_t step_id,
		       int *port, char *err, size_t errlen);

/* The step's SLURM_DISTRIBUTION (and SLURM_DIST_PLANESIZE) against the
 * block layout placement assumes (spank/steplayout.c): 0 when it is, -1
 * with err saying what to use. */
int n56_distribution_check(const char *dist, const char *plane_size,
			   long tasks_per_node, char *err, size_t errlen);

#endif
