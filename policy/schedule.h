/* Pipeline schedule model: the op order of Megatron-LM's 1F1B schedules
 * (forward_backward_pipelining_without_interleaving for vpp 1,
 * ..._with_interleaving for vpp > 1, forward_backward_no_pipelining for
 * pp 1), simulated with per-chunk forward and backward times, and the split
 * of the layers that minimises the simulated iteration time
 * (policy/schedule.c). Pure: never prints. */
#ifndef NAM56R_SCHEDULE_H
#define NAM56R_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

/* One iteration's schedule problem. Virtual stage s (segment s of the
 * split) is chunk s / pp of rank s % pp. Times are in any one unit. */
struct n56_sched_problem {
	int pp, vpp;
	long m;		   /* microbatches per iteration, >= 1 */
	long group;	   /* microbatches per virtual-stage group; 0: pp */
	const double *fwd; /* pp * vpp forward times, by virtual stage */
	const double *bwd; /* pp * vpp backward times */
	double p2p;	   /* added to every hand-off between ranks */
};

/* One op of the simulated schedule. */
struct n56_sched_op {
	int rank, chunk;
	long mb;
	bool backward;
	double start, end;
};

struct n56_sched_result {
	double time;		  /* the iteration: last op's end */
	double work;		  /* sum of every op's time over all ranks */
	double *idle;		  /* pp: time - rank's busy time */
	long *peak_inflight;	  /* pp: most (microbatch, chunk) pairs whose
				 forward ran and backward did not */
	long *warmup;		  /* pp: Megatron's warm-up forward count */
	struct n56_sched_op *ops; /* every op, by rank then order; or NULL */
	size_t nops;
};

/* The most ops (2 m pp vpp) one simulation takes: memory and time stay
 * bounded whatever the batch (16 bytes of state per op). */
#define N56_SCHED_MAX_OPS (1L << 22)

/* Megatron's checks on m and the group size (schedules.py, interleaved
 * schedule; vpp 1 and pp 1 accept any m >= 1). Returns 0, or -1 with the
 * reason in err. */
int n56_sched_check(int pp, int vpp, long m, long group, char *err,
		    size_t errlen);

/* Megatron's warm-up forward count of a rank (get_pp_rank_microbatches,
 * training, no overlap of expert communication). */
long n56_sched_warmup(int pp, int vpp, long m, long group, int rank);

/* Simulates the iteration: each rank runs its ops in Megatron's order,
 * each op starting when the rank is free and its input is there (the
 * forward of the virtual stage before, + p2p; the backward of the one
 * after, + p2p; its own forward). Sends do not block the sender. With
 * keep_ops, res->ops lists every op. Returns 0, or -1 with err (bad
 * sizes, a rule of n56_sched_check, more than N56_SCHED_MAX_OPS ops, out
 * of memory). */
int n56_sched_simulate(const struct n56_sched_problem *pb,
		       struct n56_sched_result *res, bool keep_ops, char *err,
		       size_t errlen);
void n56_sched_result_free(struct n56_sched_result *res);

/* The iteration time alone (no per-rank figures); -1 on an error. Uses
 * scratch space of n56_sched_scratch_size(pb) doubles when given. */
size_t n56_sched_scratch_size(const struct n56_sched_problem *pb);
double n56_sched_time(const struct n56_sched_problem *pb, double *scratch);

/* The split of n layers into pp * vpp contiguous non-empty segments that
 * minimises the simulated iteration time. Layer i costs w[i] (forward +
 * backward); `first` is added to segment 0, `last` (output, loss, MTP) to
 * the last segment, which Megatron always puts on the last rank. A
 * segment of cost c runs forward c * scale / (1 + ratio) and backward
 * ratio times that. */
struct n56_sched_split {
	const double *w;
	int n;
	double first, last;
	int pp, vpp;
	long m, group;
	double ratio; /* backward / forward, > 0 */
	double scale; /* time per unit of cost, > 0 */
	double p2p;   /* in time */
};

/* Fills the problem's forward and backward times (pp * vpp each) for a
 * split. */
void n56_sched_split_times(const struct n56_sched_split *sp, const int *sizes,
			   double *fwd, double *bwd);

/* Branch and bound over the cuts, from the incumbent in sizes (nseg
 * entries, a valid split): the search only replaces it by a split that is
 * faster by more than a part in 10^9, so ties keep the incumbent. It
 * simulates in whole units (layer times rounded to 2^-k s, all sums and
 * maxima exact), so every machine picks the same split. Cuts
 * whose lower bound (each rank's work, the pipeline fill before it and
 * drain after it, the least the remaining layers add) reaches the best
 * time found are skipped. *exact is false when the search stopped after
 * n56_sched_split_budget simulated splits (then sizes is the best found);
 * *tried counts them. Returns the iteration time of sizes, or -1 (bad
 * sizes, a rule of n56_sched_check, out of memory). */
double n56_sched_split_best(const struct n56_sched_split *sp, int *sizes,
			    bool *exact, unsigned long *tried);
extern unsigned long n56_sched_split_budget;

/* The chosen split's schedule, every op kept, from a planned layout
 * (policy/layout_schedule.c). */
struct n56_layout;
int n56_layout_schedule_ops(const struct n56_layout *l, int pp, int vpp,
			    struct n56_sched_result *res, char *err,
			    size_t errlen);

#endif
