/* The job contract: what the SPANK plugin carries from submission to the
 * compute nodes and what nam56r-launch, the preflight and the ranks read
 * there. The names of the carried and per-rank variables, base64 for the
 * carried recipe, the placement record in the job's Comment or
 * AdminComment, Slurm host lists, and what both sides compute alike from a
 * step (MASTER_PORT, the task layout check). Both sides use these
 * constants and functions: no other C file spells the names. Nothing here
 * calls Slurm or prints; errors go to the caller's buffer. */
#ifndef NAM56R_JOB_H
#define NAM56R_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- carried from submission to every task ----
 * spank_job_control_setenv("NAM56R_RECIPE_B64") shows up as
 * SLURM_SPANK_NAM56R_RECIPE_B64 in the batch environment; srun exports the
 * same names itself, so one name reaches every task. */
#define N56_CARRY_PREFIX "SLURM_SPANK_"
#define N56_CARRY_CONTENT "NAM56R_RECIPE_B64"
#define N56_CARRY_SHA "NAM56R_RECIPE_SHA256"
#define N56_CARRY_PATH "NAM56R_RECIPE_PATH"
/* The sha256 of the site policy the submission (sbatch, or the srun that
 * starts the step) validated with: each node compares its own. */
#define N56_CARRY_POLICY_SHA "NAM56R_POLICY_SHA256"
/* The largest recipe carried is N56_RECIPE_CARRY_MAX (policy/recipe.h),
 * checked by n56_recipe_check_carry: validate and plan refuse what the
 * plugin could not carry. */

/* ---- set in each task (by the plugin, or by nam56r-launch without it) */
#define N56_ENV_POLICY "NAM56R_POLICY"	   /* the policy used; "none" */
#define N56_ENV_TOPOLOGY "NAM56R_TOPOLOGY" /* the topology XML used */
#define N56_ENV_GPU "NAM56R_GPU"	   /* the rank's CUDA index */
/* The island signature of the node shape placement used ("4+4"): every
 * rank carries it so that tools can compare the nodes of a step. */
#define N56_ENV_NODE_SHAPE "NAM56R_NODE_SHAPE"
/* The plan's sha256: its presence says the plugin placed the step. */
#define N56_ENV_PLAN_SHA "NAM56R_PLAN_SHA256"
/* The rank's coordinates in the parallel groups, and its NVLink island. */
#define N56_ENV_TP_RANK "NAM56R_TP_RANK"
#define N56_ENV_CP_RANK "NAM56R_CP_RANK"
#define N56_ENV_EP_RANK "NAM56R_EP_RANK"
#define N56_ENV_DP_RANK "NAM56R_DP_RANK"
#define N56_ENV_PP_RANK "NAM56R_PP_RANK"
#define N56_ENV_ISLAND "NAM56R_ISLAND"
/* Set by the user: say more (the plugin and nam56r-launch). */
#define N56_ENV_VERBOSE "NAM56R_VERBOSE"
/* Set by `nam56r-launch local` for nam56r-preflight: the islands were
 * degraded, and the bus bandwidths the preflight must reach (GB/s). */
#define N56_ENV_ISLANDS_DEGRADED "NAM56R_ISLANDS_DEGRADED"
#define N56_ENV_PREFLIGHT_MIN_TP_BUSBW "NAM56R_PREFLIGHT_MIN_TP_BUSBW"
#define N56_ENV_PREFLIGHT_MIN_DP_BUSBW "NAM56R_PREFLIGHT_MIN_DP_BUSBW"

/* ---- base64 (RFC 4648, padded) of the carried recipe ----
 * decode refuses anything but the alphabet. */
char *n56_base64_encode(const void *buf, size_t len);
int n56_base64_decode(const char *s, char **out, size_t *outlen);

/* ---- the placement record: one line in the job's Comment or
 * AdminComment, written by the plugin, read by `nam56r-launch placement`.
 * nam56r:1 sha256=<12 hex> world=W nodes=N gpn=G tp= cp= ep= etp= dp= pp=
 * vpp= order=tp-cp-ep-dp-pp islands=4+4 master=HOST:PORT */
#define N56_RECORD_TAG "nam56r:1"
#define N56_RECORD_SEP " | "
#define N56_RECORD_MAX_ISLANDS 64
/* Where the record goes (the policy's record.field, plugstack record=). */
enum { N56_RECORD_NONE = 0, N56_RECORD_COMMENT, N56_RECORD_ADMIN_COMMENT };
struct n56_record {
	char sha12[13];
	long world, nodes, gpn, tp, cp, ep, etp, dp, pp, vpp;
	char order[32];
	int island_size[N56_RECORD_MAX_ISLANDS];
	int nislands;
	char master[256]; /* HOST:PORT */
};
/* The N56_RECORD_* a record.field text names ("comment", "admin_comment",
 * "none"), or -1. */
int n56_record_field_parse(const char *s);
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

/* ---- Slurm host lists ("n[1-3,7],gpu[009-010],rack[1-2]-n[01-02]") ----
 * Read as the Slurm release built against reads them (slurm_hostlist_create,
 * then slurm_hostlist_shift until empty; configure's SLURM_VERSION_NUMBER,
 * the newest reading without Slurm's headers): names are split at commas
 * and blanks (and newlines from 23.02 on), except between a '[' and the
 * first ']' after it; empty parts are skipped, so an empty list names no
 * host and is no error. A bracket holds numbers and ranges read by strtoul
 * (lo-hi or lo, printed as wide as lo is written: [08-10] gives 08 09 10,
 * [ 1] gives 01); several brackets in one name give every combination, in
 * Slurm's order (the last bracket varies fastest, then the first, the
 * second, ... the one before the last slowest); duplicates are kept, in
 * order. Text after the last bracket is read from 23.11 on (refused
 * before); a '[' without ']' is refused from 23.02 on (22.05 makes it a
 * name); Slurm's own limits are kept: 65536 numbers in a range and in the
 * bracket before the last (further left, the rest is dropped). Refused,
 * with a message: what Slurm refuses, and more than N56_HOSTLIST_MAX_HOSTS
 * names in all (ours, for memory). Names are any length. */
#define N56_HOSTLIST_MAX_HOSTS (1L << 22)
/* hosts: a malloc'd array of n malloc'd names, in Slurm's order. */
int n56_hostlist_expand(const char *expr, char ***hosts, size_t *n, char *err,
			size_t errlen);
void n56_hostlist_free(char **hosts, size_t n);
/* The number of names (duplicates counted, as slurm_hostlist_count), or
 * -1 with a message. Expands nothing. */
long n56_hostlist_count(const char *expr, char *err, size_t errlen);
/* 1 when host is one of the names of expr, 0 when not, -1 with a message
 * when expr is bad. */
int n56_hostlist_match(const char *expr, const char *host, char *err,
		       size_t errlen);
/* The number of names, as n56_hostlist_count, of a list also fit to name
 * real hosts: brackets paired and not nested, at least one name. For the
 * admin map, whatever the release reads. */
long n56_hostlist_count_strict(const char *expr, char *err, size_t errlen);

/* ---- computed alike by the plugin and by nam56r-launch ---- */

/* MASTER_PORT (job/ports.c). The first port of SLURM_STEP_RESV_PORTS;
 * else base + (lowest CPU id the job holds on the step's first node) *
 * N56_PORT_STEPS + step id % N56_PORT_STEPS: distinct for jobs that share
 * that node (they hold disjoint CPUs), and for up to N56_PORT_STEPS
 * concurrent steps of one job. */
#define N56_PORT_STEPS 32
int n56_resv_ports_first(const char *s, int *port);
/* The same with the key's kind named in messages ("CPU" or "GPU"). */
int n56_port_from_key(long base, const char *what, const char *list,
		      uint32_t step_id, int *port, char *err, size_t errlen);
int n56_port_from_cpus(long base, const char *cpus, uint32_t step_id, int *port,
		       char *err, size_t errlen);

/* The step's SLURM_DISTRIBUTION (and SLURM_DIST_PLANESIZE) against the
 * block layout placement assumes (job/steplayout.c): 0 when it is, -1
 * with err saying what to use. */
int n56_distribution_check(const char *dist, const char *plane_size,
			   long tasks_per_node, char *err, size_t errlen);

#endif
