/* The NCCL preflight's pure logic: the Megatron args it reads, the rank
 * grids and the communicator groups Megatron builds from them, what each
 * group is expected to reach, the verdicts, and the report. No CUDA, no
 * NCCL: the GPU program (preflight/main.c) measures, this judges, and the
 * unit tests check it without a GPU. Never prints except to the FILE given. */
#ifndef NAM56R_PREFLIGHT_H
#define NAM56R_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Communicator kinds, in the order they are built and reported. */
enum n56pf_kind {
	N56PF_TP = 0,
	N56PF_CP,
	N56PF_DP,
	N56PF_PP,
	N56PF_EP,
	N56PF_NKINDS
};
const char *n56pf_kind_name(enum n56pf_kind k); /* "tp", "cp", ... */

#define N56PF_MAX_SIZES 16
#define N56PF_DEFAULT_MIN_TP_BUSBW 100.0 /* GB/s, an NVLink TP group */

enum n56pf_format { N56PF_TEXT = 0, N56PF_JSON };

struct n56pf_config {
	/* Megatron's parallel sizes, from the generated native args. */
	long tp, pp, cp, ep, etp; /* etp 0: not given, Megatron uses tp */
	bool pp_before_dp;	  /* --use-tp-pp-dp-mapping */
	/* Thresholds in GB/s of bus bandwidth at the largest size; 0 = not
	 * checked. Command line, else NAM56R_PREFLIGHT_MIN_*_BUSBW, else
	 * the default (TP 100 for groups expected on NVLink, DP none). */
	double min_tp_busbw, min_dp_busbw;
	enum n56pf_format format;
	char *json_path;	     /* --json FILE, NULL when not asked */
	size_t min_bytes, max_bytes; /* sizes: min_bytes * 4^k up to max */
	int warmup, iters;
	long timeout_s; /* bootstrap: connect/accept limit */
	bool help;
};

/* Reads the preflight's own options and the Megatron args it needs from
 * argv (argv[0] is the program), ignoring every other argument. getenv_fn
 * supplies the NAM56R_PREFLIGHT_* defaults (NULL: no environment). Returns
 * 0, or -1 with a message naming the argument in err. */
int n56pf_parse_args(int argc, char **argv,
		     const char *(*getenv_fn)(const char *name),
		     struct n56pf_config *c, char *err, size_t errlen);
void n56pf_config_clear(struct n56pf_config *c);
void n56pf_usage(FILE *f);
/* Parses "1073741824", "64K", "1M", "1G" (binary units). */
int n56pf_parse_bytes(const char *s, size_t *out);
/* The message sizes, min_bytes * 4^k up to max_bytes; returns the count. */
int n56pf_sizes(const struct n56pf_config *c, size_t out[N56PF_MAX_SIZES]);

/* The two rank grids of Megatron's parallel_state: dense ranks
 * tp + TP*(cp + CP*(dp + DP*pp)) and expert ranks
 * etp + ETP*(ep + EP*(edp + EDP*pp)); pp_before_dp swaps dp (edp) and pp. */
struct n56pf_grid {
	long world, tp, cp, dp, pp, ep, etp, edp;
	bool pp_before_dp;
};
struct n56pf_coords {
	long tp, cp, dp, pp, ep, etp, edp;
};
int n56pf_grid_init(struct n56pf_grid *g, long world,
		    const struct n56pf_config *c, char *err, size_t errlen);
void n56pf_coords_of(const struct n56pf_grid *g, long rank,
		     struct n56pf_coords *out);
/* Size of each group of a kind, and how many groups there are. */
long n56pf_group_size(const struct n56pf_grid *g, enum n56pf_kind k);
long n56pf_group_count(const struct n56pf_grid *g, enum n56pf_kind k);
/* The group a rank belongs to (the ncclCommSplit colour) and its index in
 * it (the key; for PP, the stage). */
void n56pf_group_of(const struct n56pf_grid *g, enum n56pf_kind k, long rank,
		    long *group, long *index);
/* Members of a group, by index; out holds n56pf_group_size entries. */
void n56pf_group_members(const struct n56pf_grid *g, enum n56pf_kind k,
			 long group, long *out);
/* Compares a rank's coordinates with the NAM56R_{TP,CP,EP,DP,PP}_RANK
 * values the launcher gave it (getenv_fn NULL: getenv). Returns 0, or -1
 * with every mismatch, naming both values, in err. */
int n56pf_check_env_coords(const struct n56pf_grid *g, long rank,
			   const char *(*getenv_fn)(const char *name),
			   char *err, size_t errlen);

/* Bus bandwidth (nccl-tests convention) in GB/s (1e9 bytes/s) of a
 * collective of `bytes` per rank over n ranks that took `seconds`. */
double n56pf_busbw(enum n56pf_kind k, long n, double bytes, double seconds);

/* Expected: a TP group belongs on NVLink when it has more than one rank,
 * all of them in one NAM56R_ISLAND, and the islands were not degraded. */
bool n56pf_expect_nvlink(const int *islands, long n, bool degraded);

enum n56pf_verdict {
	N56PF_PASS = 0, /* met its threshold */
	N56PF_INFO,	/* measured, no threshold applies */
	N56PF_FAIL,
};
const char *n56pf_verdict_name(enum n56pf_verdict v);

/* What one rank saw, gathered at rank 0. */
struct n56pf_rank_info {
	long rank;
	int island; /* NAM56R_ISLAND, -1 when absent */
	int local_rank;
	char host[64];
	char pci[32]; /* PCI bus id of the GPU it used */
	bool coords_ok;
	char coords_why[160];
};

/* One measured (or verified) group: a communicator, or for PP one pair of
 * adjacent stages (stage, stage + 1) of a pipeline. */
struct n56pf_group_result {
	enum n56pf_kind kind;
	long group;    /* colour */
	long stage;    /* PP: the sending stage; else -1 */
	long n;	       /* ranks */
	long *ranks;   /* owned */
	bool verified; /* the communicator holds exactly these ranks */
	char verify_why[160];
	bool measured;
	double time_us[N56PF_MAX_SIZES]; /* slowest rank, per iteration */
	double busbw[N56PF_MAX_SIZES];	 /* GB/s */
	bool expect_nvlink;
	int island;	  /* shared island, -1 when the ranks span several */
	double threshold; /* GB/s, 0 = none */
	enum n56pf_verdict verdict;
	char why[512];
};

struct n56pf_report {
	struct n56pf_grid grid;
	double min_tp_busbw, min_dp_busbw;
	bool degraded;
	int nsizes;
	size_t sizes[N56PF_MAX_SIZES];
	struct n56pf_rank_info *ranks;	   /* world entries, owned */
	struct n56pf_group_result *groups; /* owned */
	size_t ngroups;
	enum n56pf_verdict verdict; /* PASS or FAIL */
	char nccl_version[32];
	char plan_sha256[65];
};

/* Allocates the rank table and one result per group (PP: per adjacent
 * pair) with its members filled; the caller fills measurements. */
int n56pf_report_init(struct n56pf_report *r, const struct n56pf_grid *g,
		      const struct n56pf_config *c, const size_t *sizes,
		      int nsizes, char *err, size_t errlen);
void n56pf_report_clear(struct n56pf_report *r);
/* Fills busbw from time_us, the islands, expectations, thresholds and
 * every verdict, and the overall one. */
void n56pf_report_judge(struct n56pf_report *r);
/* "0-3", "0,2,4,6", "0-1,4-5": ranks as a short list. */
int n56pf_format_ranks(const long *ranks, long n, char *buf, size_t len);
void n56pf_report_text(FILE *f, const struct n56pf_report *r);
/* JSON text (jansson), malloc'd; NULL on allocation failure. */
char *n56pf_report_json(const struct n56pf_report *r);

#endif
