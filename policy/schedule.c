/* Pipeline schedule model and the split by simulated iteration time.
 *
 * The op order is Megatron-LM's (megatron/core/pipeline_parallel/
 * schedules.py): a rank runs w warm-up forwards, then pairs of one forward
 * and one backward, then the cool-down backwards.
 * - vpp 1: w = min(pp - rank - 1, m); forward and backward k of the rank
 *   are microbatch k.
 * - vpp > 1: w = min(2 (pp - rank - 1) + (vpp - 1) group, m vpp); the k-th
 *   forward is entry k of the schedule table (microbatches in groups of
 *   `group`, each group through chunk 0, then chunk 1, ...; the last
 *   group holds the remainder), the k-th backward is entry k with the
 *   chunk reversed (vpp - 1 - chunk).
 * - pp 1: forward and backward of each microbatch in turn.
 * The simulation is a data flow over that fixed order: an op starts when
 * its rank is free and its input has arrived; p2p is added to every
 * hand-off between ranks; a send never blocks its sender. With equal
 * chunks it gives the textbook iterations (m + pp - 1)(f + b) and, when
 * group divides m, (m + (pp - 1) / vpp)(f + b), f and b being a rank's
 * whole forward and backward (tests/test_schedule.c). */
#include "policy/schedule.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static long group_of(const struct n56_sched_problem *pb)
{
	return pb->group > 0 ? pb->group : pb->pp;
}

int n56_sched_check(int pp, int vpp, long m, long group, char *err,
		    size_t errlen)
{
	long g = group > 0 ? group : pp, rem;

	if (pp < 1 || vpp < 1)
		return fail(err, errlen,
			    "pp %d x vpp %d: both must be at least 1", pp, vpp);
	if (m < 1)
		return fail(err, errlen,
			    "%ld microbatches: an iteration needs at least "
			    "one",
			    m);
	if (vpp > 1 && pp < 2)
		return fail(err, errlen,
			    "vpp %d needs a pipeline: Megatron interleaves "
			    "chunks only with pp 2 or more",
			    vpp);
	if (vpp == 1)
		return 0;
	/* forward_backward_pipelining_with_interleaving's own checks */
	if (g > m || g < pp)
		return fail(err, errlen,
			    "the interleaved schedule needs a microbatch "
			    "group of pp %d to m %ld microbatches, not %ld",
			    pp, m, g);
	rem = m % g;
	if (rem > 0 && rem < pp)
		return fail(err, errlen,
			    "%ld microbatches leave a last group of %ld, "
			    "fewer than pp %d: Megatron's interleaved "
			    "schedule refuses it",
			    m, rem, pp);
	return 0;
}

long n56_sched_warmup(int pp, int vpp, long m, long group, int rank)
{
	long g = group > 0 ? group : pp, total = m * vpp, w;

	if (pp < 2)
		return 0;
	if (vpp == 1)
		w = pp - rank - 1;
	else
		w = 2L * (pp - rank - 1) + (long)(vpp - 1) * g;
	return w < total ? w : total;
}

/* Entry k of the schedule table: the microbatch and chunk of the rank's
 * k-th forward. */
static void table_entry(long m, int vpp, long g, long k, long *mb, int *chunk)
{
	long nfull = m / g, per = g * vpp;

	if (m % g == 0 || k < nfull * per) {
		long grp = k / per, in = k % per;

		*chunk = (int)(in / g);
		*mb = grp * g + in % g;
	} else {
		long in = k - nfull * per, size = m - nfull * g;

		*chunk = (int)(in / size);
		*mb = nfull * g + in % size;
	}
}

/* Op i of rank r in Megatron's order. */
static void op_at(const struct n56_sched_problem *pb, long g, long w, long i,
		  long *mb, int *chunk, bool *backward)
{
	long total = pb->m * pb->vpp, k;

	if (pb->pp == 1) {
		/* no pipelining: each microbatch through every chunk, then
		 * back (vpp is 1 here) */
		*mb = i / 2;
		*chunk = 0;
		*backward = i % 2 == 1;
		return;
	}
	if (i < w) {
		*backward = false;
		k = i;
	} else if (i < w + 2 * (total - w)) {
		*backward = (i - w) % 2 == 1;
		k = *backward ? (i - w) / 2 : w + (i - w) / 2;
	} else {
		*backward = true;
		k = i - w - (total - w);
	}
	if (pb->vpp == 1) {
		*mb = k;
		*chunk = 0;
		return;
	}
	table_entry(pb->m, pb->vpp, g, k, mb, chunk);
	if (*backward)
		*chunk = pb->vpp - 1 - *chunk;
}

size_t n56_sched_scratch_size(const struct n56_sched_problem *pb)
{
	return 2 * (size_t)pb->pp * (size_t)pb->vpp * (size_t)pb->m +
	       2 * (size_t)pb->pp;
}

/* The simulation. ends: 2 S m (forward ends, then backward ends, NAN
 * until run), then per rank its free time and next op index. */
static int simulate(const struct n56_sched_problem *pb, double *scr,
		    struct n56_sched_result *res, char *err, size_t errlen)
{
	int pp = pb->pp, S = pb->pp * pb->vpp;
	long m = pb->m, g = group_of(pb), per_rank = 2 * m * pb->vpp;
	double *fend = scr, *bend = scr + (size_t)S * m;
	double *free_at = bend + (size_t)S * m, *next = free_at + pp;
	long left = per_rank * pp, inflight_now[pp];
	double p2p = pp > 1 ? pb->p2p : 0;

	for (size_t i = 0; i < 2 * (size_t)S * m; i++)
		fend[i] = NAN;
	for (int r = 0; r < pp; r++) {
		free_at[r] = 0;
		next[r] = 0;
		inflight_now[r] = 0;
		if (res) {
			res->peak_inflight[r] = 0;
			res->idle[r] = 0;
			res->warmup[r] = n56_sched_warmup(pp, pb->vpp, m, g, r);
		}
	}
	if (res) {
		res->work = 0;
		res->nops = 0;
	}
	while (left > 0) {
		bool moved = false;

		for (int r = 0; r < pp; r++) {
			long w = n56_sched_warmup(pp, pb->vpp, m, g, r);

			for (long i = (long)next[r]; i < per_rank; i++) {
				long mb;
				int chunk, s;
				bool bwd;
				double ready, dur, start;

				op_at(pb, g, w, i, &mb, &chunk, &bwd);
				s = chunk * pp + r;
				if (!bwd) {
					ready = 0;
					if (s > 0) {
						ready = fend[(size_t)(s - 1) *
								     m +
							     mb];
						ready += p2p;
					}
					dur = pb->fwd[s];
				} else {
					ready = fend[(size_t)s * m + mb];
					if (s < S - 1) {
						double b =
							bend[(size_t)(s + 1) *
								     m +
							     mb];

						b += p2p;
						ready = isnan(b) || b > ready
								? b
								: ready;
					}
					dur = pb->bwd[s];
				}
				if (isnan(ready))
					break;
				start = ready > free_at[r] ? ready : free_at[r];
				free_at[r] = start + dur;
				(bwd ? bend : fend)[(size_t)s * m + mb] =
					free_at[r];
				next[r] = (double)(i + 1);
				left--;
				moved = true;
				inflight_now[r] += bwd ? -1 : 1;
				if (!res)
					continue;
				res->work += dur;
				res->idle[r] += dur; /* busy, for now */
				if (inflight_now[r] > res->peak_inflight[r])
					res->peak_inflight[r] = inflight_now[r];
				if (res->ops) {
					struct n56_sched_op *o =
						&res->ops[(size_t)r * per_rank +
							  i];

					*o = (struct n56_sched_op){
						r,   chunk, mb,
						bwd, start, free_at[r]
					};
					res->nops++;
				}
			}
		}
		if (!moved)
			return fail(err, errlen,
				    "internal: the schedule of pp %d vpp %d "
				    "m %ld deadlocks",
				    pp, pb->vpp, m);
	}
	if (res) {
		double t = 0;

		for (int r = 0; r < pp; r++)
			if (free_at[r] > t)
				t = free_at[r];
		res->time = t;
		for (int r = 0; r < pp; r++)
			res->idle[r] = t - res->idle[r];
	}
	return 0;
}

static int check_problem(const struct n56_sched_problem *pb, char *err,
			 size_t errlen)
{
	if (n56_sched_check(pb->pp, pb->vpp, pb->m, pb->group, err, errlen))
		return -1;
	if (pb->m > N56_SCHED_MAX_OPS / 2 / pb->vpp / pb->pp)
		return fail(err, errlen,
			    "%ld microbatches x pp %d x vpp %d: more than the "
			    "%ld ops the model simulates",
			    pb->m, pb->pp, pb->vpp, N56_SCHED_MAX_OPS);
	if (!pb->fwd || !pb->bwd)
		return fail(err, errlen, "internal: no chunk times");
	for (int s = 0; s < pb->pp * pb->vpp; s++)
		if (!(isfinite(pb->fwd[s]) && pb->fwd[s] >= 0 &&
		      isfinite(pb->bwd[s]) && pb->bwd[s] >= 0))
			return fail(err, errlen,
				    "chunk %d has a forward or backward time "
				    "that is not a finite number >= 0",
				    s);
	if (!(isfinite(pb->p2p) && pb->p2p >= 0))
		return fail(err, errlen,
			    "the p2p latency is not a finite number >= 0");
	return 0;
}

void n56_sched_result_free(struct n56_sched_result *res)
{
	if (!res)
		return;
	free(res->idle);
	free(res->peak_inflight);
	free(res->warmup);
	free(res->ops);
	memset(res, 0, sizeof(*res));
}

int n56_sched_simulate(const struct n56_sched_problem *pb,
		       struct n56_sched_result *res, bool keep_ops, char *err,
		       size_t errlen)
{
	double *scr = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (check_problem(pb, err, errlen))
		return -1;
	scr = malloc(sizeof(double) * n56_sched_scratch_size(pb));
	res->idle = calloc((size_t)pb->pp, sizeof(double));
	res->peak_inflight = calloc((size_t)pb->pp, sizeof(long));
	res->warmup = calloc((size_t)pb->pp, sizeof(long));
	if (keep_ops)
		res->ops = calloc(2 * (size_t)pb->m * pb->vpp * pb->pp,
				  sizeof(*res->ops));
	if (!scr || !res->idle || !res->peak_inflight || !res->warmup ||
	    (keep_ops && !res->ops)) {
		fail(err, errlen, "out of memory in the schedule model");
		goto out;
	}
	rc = simulate(pb, scr, res, err, errlen);
out:
	free(scr);
	if (rc)
		n56_sched_result_free(res);
	return rc;
}

double n56_sched_time(const struct n56_sched_problem *pb, double *scratch)
{
	struct n56_sched_result res = { 0 };
	double *scr = scratch, t = -1;
	double idle[pb->pp > 0 ? pb->pp : 1];
	long peak[pb->pp > 0 ? pb->pp : 1], warm[pb->pp > 0 ? pb->pp : 1];

	if (check_problem(pb, NULL, 0))
		return -1;
	if (!scr)
		scr = malloc(sizeof(double) * n56_sched_scratch_size(pb));
	if (!scr)
		return -1;
	res.idle = idle;
	res.peak_inflight = peak;
	res.warmup = warm;
	if (simulate(pb, scr, &res, NULL, 0) == 0)
		t = res.time;
	if (scr != scratch)
		free(scr);
	return t;
}

void n56_sched_split_times(const struct n56_sched_split *sp, const int *sizes,
			   double *fwd, double *bwd)
{
	int nseg = sp->pp * sp->vpp, at = 0;

	for (int s = 0; s < nseg; s++) {
		double c = 0;

		for (int i = 0; i < sizes[s]; i++)
			c += sp->w[at + i];
		at += sizes[s];
		if (s == 0)
			c += sp->first;
		if (s == nseg - 1)
			c += sp->last;
		fwd[s] = c * sp->scale / (1 + sp->ratio);
		bwd[s] = fwd[s] * sp->ratio;
	}
}

/* The split search.
 *
 * Depth first over the segments in order, each segment's end tried
 * outward from the incumbent's (nearest first). A node's lower bound:
 * - each rank r: its first op (microbatch 0 on virtual stage r) waits for
 *   the forwards of stages 0..r-1, its last (microbatch m - 1 back on
 *   stage r) is followed by the backwards of stages r-1..0, and in between
 *   it runs m times its load: the stages decided so far give part of the
 *   fill and drain and of the load, the output's cost is the last rank's
 *   from the start. This part only grows with the segment's end.
 * - interleaved, rank r with decided chunks c1 and c2: its first
 *   forward of c1 waits for microbatch 0's forwards through every stage
 *   before it and follows only the group x c1 warm-up forwards of the
 *   rank's earlier chunks; its last backward of c2 precedes only the last
 *   group's backwards of the earlier chunks and microbatch m - 1's
 *   backwards through every stage before it; the rest of the rank's work
 *   lies between.
 * - the last virtual stage: all the work before and after it runs once
 *   (microbatch 0's forwards up to it, microbatch m - 1's backwards from
 *   it), its own m times, the output and the last layer at least.
 * - the ranks that still get segments share the layers left: the most
 *   loaded one runs at least m times their mean final load. This part
 *   only grows as the segment's end falls.
 * So once a direction's part reaches the best time found, every end
 * further that way is skipped. A leaf under the bound is simulated. */
struct sched_search {
	const struct n56_sched_split *sp;
	int S, pp;
	long group; /* microbatches per group */
	double *P;  /* prefix layer times (per microbatch, f + b), n + 1 */
	double first, last, total;
	double unit;	/* whole units per second (a power of two) */
	double *segt;	/* decided segment times */
	double *segpre; /* prefix of segt, S + 1 */
	double *K;	/* rank loads of the decided segments */
	int *sizes, *best_sizes, *target;
	double best;
	double *fwd, *bwd, *scratch;
	struct n56_sched_problem prob;
	unsigned long steps, budget, tried;
	unsigned long sim_cost;
	bool stop;
};

unsigned long n56_sched_split_budget = 2000000ul;

#define TIE (1 - 1e-9)

static double seg_time(const struct sched_search *ss, int s, int from, int to)
{
	double t = ss->P[to] - ss->P[from];

	if (s == 0)
		t += ss->first;
	if (s == ss->S - 1)
		t += ss->last;
	return t;
}

/* The part of the bound that grows with the end of segment s (s + 1
 * segments decided). */
static double bound_fill(const struct sched_search *ss, int decided)
{
	double lb = 0, p2p = ss->pp > 1 ? ss->prob.p2p : 0;

	for (int r = 0; r < ss->pp; r++) {
		int k = r < decided ? r : decided;
		double load = ss->K[r];
		double v;

		/* the last segment, still to come, holds the output and
		 * the last layer */
		if (r == ss->pp - 1 && decided < ss->S)
			load += ss->last + ss->P[ss->sp->n] -
				ss->P[ss->sp->n - 1];
		v = ss->segpre[k] + 2.0 * r * p2p + (double)ss->sp->m * load;
		if (v > lb)
			lb = v;
	}
	/* Interleaved, rank r: its first forward of chunk c1 (stage v1,
	 * microbatch 0) waits for microbatch 0's forwards through stages
	 * 0..v1-1 and comes after only the group x c1 warm-up forwards of
	 * its chunks before c1; its last backward of chunk c2 (stage v2,
	 * microbatch m - 1) is followed only by the last group's backwards
	 * of its chunks before c2, and microbatch m - 1's backwards through
	 * stages v2-1..0 follow it. Everything else of the rank runs in
	 * between. The two ends are chosen apart, over decided stages (a
	 * rank's earlier chunks are then decided too). */
	if (ss->sp->vpp > 1) {
		double rho = ss->sp->ratio, g = (double)ss->group;
		double gl =
			(double)(ss->sp->m % ss->group ? ss->sp->m % ss->group
						       : ss->group);

		for (int r = 0; r < ss->pp && r < decided; r++) {
			double load = ss->K[r], head = 0, tail = 0;
			double fsum = 0, bsum = 0;

			if (r == ss->pp - 1 && decided < ss->S)
				load += ss->last + ss->P[ss->sp->n] -
					ss->P[ss->sp->n - 1];
			for (int v = r; v < decided; v += ss->pp) {
				double h = ss->segpre[v] / (1 + rho) -
					   g * fsum + (double)v * p2p;
				double t = ss->segpre[v] * rho / (1 + rho) -
					   gl * bsum + (double)v * p2p;

				if (v == r || h > head)
					head = h;
				if (v == r || t > tail)
					tail = t;
				fsum += ss->segt[v] / (1 + rho);
				bsum += ss->segt[v] * rho / (1 + rho);
			}
			if (head + (double)ss->sp->m * load + tail > lb)
				lb = head + (double)ss->sp->m * load + tail;
		}
	}
	/* The last virtual stage: its first forward waits for every
	 * forward before it, its last backward comes after its m forwards
	 * and backwards with no round trip between, and the backwards of
	 * every stage before it follow. */
	{
		double t_last = decided >= ss->S ? ss->segt[ss->S - 1]
						 : ss->last + ss->P[ss->sp->n] -
							   ss->P[ss->sp->n - 1];
		double v = ss->total + (double)(ss->sp->m - 1) * t_last +
			   2.0 * (ss->S - 1) * p2p;

		if (v > lb)
			lb = v;
	}
	return lb;
}

/* The part that grows as the end falls: the mean final load of the ranks
 * that still get a segment, the layers from `pos` on shared among them. */
static double bound_share(const struct sched_search *ss, int decided, int pos)
{
	double sum = ss->P[ss->sp->n] - ss->P[pos];
	bool pending[ss->pp];
	int np = 0;

	if (decided >= ss->S)
		return 0;
	for (int r = 0; r < ss->pp; r++)
		pending[r] = false;
	for (int s = decided; s < ss->S && np < ss->pp; s++)
		if (!pending[s % ss->pp]) {
			pending[s % ss->pp] = true;
			np++;
		}
	for (int r = 0; r < ss->pp; r++)
		if (pending[r])
			sum += ss->K[r] + (r == ss->pp - 1 ? ss->last : 0);
	return (double)ss->sp->m * sum / np;
}

/* The chunk times of a split in whole units: a segment's time is a sum of
 * whole layer times, its forward the floor of its share, its backward the
 * rest; so every simulated time is a whole number below 2^51, every sum
 * and max exact, and the same split wins on every machine. */
static void split_times_whole(const struct sched_search *ss, const int *sizes)
{
	for (int s = 0, at = 0; s < ss->S; s++) {
		double t = seg_time(ss, s, at, at + sizes[s]);

		at += sizes[s];
		ss->fwd[s] = floor(t / (1 + ss->sp->ratio));
		ss->bwd[s] = t - ss->fwd[s];
	}
}

static double simulate_split(struct sched_search *ss, const int *sizes)
{
	split_times_whole(ss, sizes);
	ss->steps += ss->sim_cost;
	ss->tried++;
	return n56_sched_time(&ss->prob, ss->scratch);
}

static void search_segment(struct sched_search *ss, int s, int pos)
{
	int n = ss->sp->n, r = s % ss->pp;
	int lo = pos + 1, hi = n - (ss->S - 1 - s);
	int up, down, target;
	bool up_dead = false, down_dead = false, go_up = true;

	if (s == ss->S - 1)
		lo = hi = n;
	target = ss->target[s];
	if (target < lo)
		target = lo;
	if (target > hi)
		target = hi;
	up = target;
	down = target - 1;
	while (!ss->stop) {
		int e;
		double t, lb_up, lb_down;

		if (up > hi)
			up_dead = true;
		if (down < lo)
			down_dead = true;
		if (up_dead && down_dead)
			break;
		if (go_up ? up_dead : down_dead)
			go_up = !go_up;
		e = go_up ? up++ : down--;
		go_up = !go_up;
		if (++ss->steps > ss->budget) {
			ss->stop = true;
			break;
		}
		t = seg_time(ss, s, pos, e);
		ss->segt[s] = t;
		ss->segpre[s + 1] = ss->segpre[s] + t;
		ss->K[r] += t;
		ss->sizes[s] = e - pos;
		lb_up = bound_fill(ss, s + 1);
		lb_down = bound_share(ss, s + 1, e);
		if (lb_up >= ss->best * TIE || lb_down >= ss->best * TIE) {
			/* each part rules out its whole direction */
			if (lb_up >= ss->best * TIE)
				up_dead = true;
			if (lb_down >= ss->best * TIE)
				down_dead = true;
		} else if (s + 1 < ss->S) {
			search_segment(ss, s + 1, e);
		} else {
			double time = simulate_split(ss, ss->sizes);

			if (time >= 0 && time < ss->best * TIE) {
				ss->best = time;
				memcpy(ss->best_sizes, ss->sizes,
				       sizeof(int) * (size_t)ss->S);
			}
		}
		ss->K[r] -= t;
	}
}

/* Moves of 1, 2, 4 or 8 layers across one cut while any makes the split
 * faster: a strong incumbent for the exact search, at a few simulations
 * (a move may cross a tie that a one-layer move cannot). */
static void improve_locally(struct sched_search *ss)
{
	int *cand = ss->sizes;
	bool better = true;

	for (int round = 0; better && round < 1000 && !ss->stop; round++) {
		better = false;
		for (int c = 0; c + 1 < ss->S && !ss->stop; c++) {
			for (int k = 0; k < 8; k++) {
				/* 1, 2, 4 or 8 layers, either way */
				int d = (k % 2 ? -1 : 1) * (1 << (k / 2));
				double t;

				memcpy(cand, ss->best_sizes,
				       sizeof(int) * (size_t)ss->S);
				cand[c] += d;
				cand[c + 1] -= d;
				if (cand[c] < 1 || cand[c + 1] < 1)
					continue;
				if (ss->steps > ss->budget) {
					ss->stop = true;
					break;
				}
				t = simulate_split(ss, cand);
				if (t >= 0 && t < ss->best * TIE) {
					ss->best = t;
					memcpy(ss->best_sizes, cand,
					       sizeof(int) * (size_t)ss->S);
					better = true;
				}
			}
		}
	}
}

double n56_sched_split_best(const struct n56_sched_split *sp, int *sizes,
			    bool *exact, unsigned long *tried)
{
	struct sched_search ss = { 0 };
	int S = sp->pp * sp->vpp, sum = 0;
	double result = -1;

	if (exact)
		*exact = false;
	if (tried)
		*tried = 0;
	if (sp->pp < 1 || sp->vpp < 1 || sp->n < S || !(sp->ratio > 0) ||
	    !(sp->scale > 0) ||
	    n56_sched_check(sp->pp, sp->vpp, sp->m, sp->group, NULL, 0) ||
	    sp->m > N56_SCHED_MAX_OPS / 2 / S)
		return -1;
	for (int s = 0; s < S; s++) {
		if (sizes[s] < 1)
			return -1;
		sum += sizes[s];
	}
	if (sum != sp->n)
		return -1;
	ss.sp = sp;
	ss.S = S;
	ss.pp = sp->pp;
	ss.group = sp->group > 0 ? sp->group : sp->pp;
	ss.budget = n56_sched_split_budget;
	ss.P = calloc((size_t)sp->n + 1, sizeof(double));
	ss.segt = calloc((size_t)S, sizeof(double));
	ss.segpre = calloc((size_t)S + 1, sizeof(double));
	ss.K = calloc((size_t)sp->pp, sizeof(double));
	ss.sizes = calloc((size_t)S, sizeof(int));
	ss.best_sizes = calloc((size_t)S, sizeof(int));
	ss.target = calloc((size_t)S, sizeof(int));
	ss.fwd = calloc((size_t)S, sizeof(double));
	ss.bwd = calloc((size_t)S, sizeof(double));
	ss.prob = (struct n56_sched_problem){
		.pp = sp->pp,
		.vpp = sp->vpp,
		.m = sp->m,
		.group = sp->group,
		.fwd = ss.fwd,
		.bwd = ss.bwd,
		.p2p = sp->p2p,
	};
	if (!ss.P || !ss.segt || !ss.segpre || !ss.K || !ss.sizes ||
	    !ss.best_sizes || !ss.target || !ss.fwd || !ss.bwd)
		goto out;
	ss.scratch = malloc(sizeof(double) * n56_sched_scratch_size(&ss.prob));
	if (!ss.scratch)
		goto out;
	/* a simulation weighs as much as the steps of its ops */
	ss.sim_cost = 1 + (unsigned long)(2 * sp->m * S) / 8;
	/* whole units of 2^-k s, k such that no simulated time (at most m
	 * times all the work plus every hand-off of every microbatch) reaches
	 * 2^50: exact in a double */
	{
		double most = (sp->first + sp->last) * sp->scale;
		int e;

		for (int i = 0; i < sp->n; i++)
			most += sp->w[i] * sp->scale;
		most = most * (double)sp->m +
		       2.0 * (double)sp->m * S * (sp->p2p > 0 ? sp->p2p : 0);
		if (!(most > 0) || !isfinite(most))
			goto out;
		frexp(most, &e);
		ss.unit = ldexp(1.0, 50 - e);
	}
	for (int i = 0; i < sp->n; i++)
		ss.P[i + 1] = ss.P[i] + rint(sp->w[i] * sp->scale * ss.unit);
	ss.first = rint(sp->first * sp->scale * ss.unit);
	ss.last = rint(sp->last * sp->scale * ss.unit);
	ss.total = ss.P[sp->n] + ss.first + ss.last;
	ss.prob.p2p = rint(sp->p2p * ss.unit);
	memcpy(ss.best_sizes, sizes, sizeof(int) * (size_t)S);
	ss.best = simulate_split(&ss, sizes);
	if (ss.best < 0)
		goto out;
	improve_locally(&ss);
	/* the same descent from the equal-count split: where it ends
	 * lower, it is the incumbent (ties keep the caller's) */
	{
		int *mine = malloc(sizeof(int) * (size_t)S);
		double t, mine_t = ss.best;

		if (!mine)
			goto out;
		memcpy(mine, ss.best_sizes, sizeof(int) * (size_t)S);
		for (int s = 0; s < S; s++)
			ss.best_sizes[s] = sp->n / S + (s < sp->n % S);
		t = simulate_split(&ss, ss.best_sizes);
		ss.best = t >= 0 ? t : INFINITY;
		improve_locally(&ss);
		if (!(ss.best < mine_t * TIE)) {
			ss.best = mine_t;
			memcpy(ss.best_sizes, mine, sizeof(int) * (size_t)S);
		}
		free(mine);
	}
	/* the search tries each end outward from the improved split's */
	for (int s = 0, at = 0; s < S; s++) {
		at += ss.best_sizes[s];
		ss.target[s] = at;
	}
	if (!ss.stop)
		search_segment(&ss, 0, 0);
	memcpy(sizes, ss.best_sizes, sizeof(int) * (size_t)S);
	result = ss.best / ss.unit;
	if (exact)
		*exact = !ss.stop;
	if (tried)
		*tried = ss.tried;
out:
	free(ss.P);
	free(ss.segt);
	free(ss.segpre);
	free(ss.K);
	free(ss.sizes);
	free(ss.best_sizes);
	free(ss.target);
	free(ss.fwd);
	free(ss.bwd);
	free(ss.scratch);
	return result;
}
