/* A min-max partition of n weighted items into pp*vpp contiguous
 * non-empty segments (policy/partition.h): segment s belongs to group
 * s % pp, a group costs the sum of its segments, the first and the last
 * segment carry a fixed extra. The pipeline split of policy/layout.c is
 * this problem with layers as items and pipeline stages as groups; the
 * solver itself knows nothing of models (the words "stage", "round" and
 * "segment" below are the pipeline's: stage = group, round v = the v-th
 * segment of each group). Pure: never prints. */
#include "policy/partition.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void n56_split_equal(int n, int nseg, int *sizes)
{
	for (int s = 0; s < nseg; s++)
		sizes[s] = n / nseg + (s < n % nseg ? 1 : 0);
}

double n56_split_stage_costs(const struct n56_split_problem *pb,
			     const int *sizes, double *stage_cost)
{
	int nseg = pb->pp * pb->vpp, at = 0;
	double worst = 0;

	for (int p = 0; p < pb->pp; p++)
		stage_cost[p] = 0;
	for (int s = 0; s < nseg; s++) {
		double c = 0;

		for (int i = 0; i < sizes[s]; i++)
			c += pb->w[at + i];
		at += sizes[s];
		if (s == 0)
			c += pb->first;
		if (s == nseg - 1)
			c += pb->last;
		stage_cost[s % pb->pp] += c;
	}
	for (int p = 0; p < pb->pp; p++)
		if (stage_cost[p] > worst)
			worst = stage_cost[p];
	return worst;
}

/* The exact split.
 *
 * The objective is lexicographic: (1) the least most expensive physical
 * stage B1; among those splits (2) the least most expensive segment C1
 * (virtual stage: segment 0 with the embedding, the last with the
 * output, loss and MTP), then (2b) the least next most expensive
 * segment C2, because the output's segment alone often fixes C1 and
 * would leave the other chunks free (NAM56R at pp 4: 21 layers next to
 * 1-layer chunks); then (3) the tie-break below.
 *
 * A split is read stage by stage: stage t holds one segment in each round
 * v (virtual chunk), [X[v], E[v]), where X are the ends chosen for stage
 * t - 1 and round v runs from M[v] to M[v + 1] (M[0] = 0, M[vpp] = n).
 * So for fixed round starts M the split is a chain over the pp stages whose
 * state is the vector X: a depth-first branch and bound over that chain,
 * with every round start vector M tried in turn, is exhaustive, and these
 * cuts keep it exact:
 * - a stage may not cost the incumbent's value or more (we look for a
 *   strictly better split), a segment not more than its cap;
 * - the stages still to come can hold at most (best - 1) each and their
 *   segments at most the caps, so the stages chosen so far must hold at
 *   least the rest; the rest of a round must fit the caps of the stages
 *   after, and a round the caps of its pp segments;
 * - these cuts look ahead: a stage's later rounds add at least one layer
 *   each and at most up to their last possible end;
 * - a (stage, X, M) state that found nothing under the current bound
 *   finds nothing under any lower one (a failure memo that keeps the
 *   bound of each entry, sound because the bound only falls).
 * Costs are whole numbers (scaled FLOPs, see cost_scale), so "better"
 * is exact. Phase 1 in ascending order finds B1. Phase 2 lowers C1, then
 * C2, by a descent: each search looks for a split with every stage
 * within B1 under the next lower segment cost that occurs, stopping at
 * the first it meets, until none is left (the memo carries over).
 * Tie-break: phase 2 visits M, then each stage's ends in stage order,
 * every choice ordered by its distance from the same boundary of the
 * cost-proportional split (the nearer first, the smaller on a tie); the
 * first split a search meets under a cap is also the first under its own
 * lower figure, so the split kept is the first optimum in that fixed
 * order: ties go to the split nearest the proportional one and a recipe
 * always gets the same plan. Searches stop early at the lower bounds
 * (the mean stage or segment, the heaviest layer). Should phase 1 stop
 * at the work limit, phase 2 spends its own on a better B1 instead. */
#define NO_CAP INT64_MAX

/* Failed states: key (1, stage and flags, X, M[1..vpp-1]), then the
 * bound they failed under (two words); a 0 first word marks a free
 * slot. */
struct split_memo {
	uint32_t *slot; /* cap entries of width words */
	size_t cap, used;
	size_t max_cap; /* it grows by doubling up to this many slots */
	int keylen, width;
};

struct split_search {
	int n, pp, vpp;
	int64_t *P; /* prefix costs, n + 1 */
	int64_t first, last, total;
	int64_t best, lb;
	int64_t cap;  /* most a segment may cost; NO_CAP: unbounded */
	int64_t cap2; /* most every segment but one may cost (NO_CAP) */
	int over;     /* segments so far above cap2: at most one */
	int falling;  /* what falls as the search goes: 0 best, 1 cap,
			  2 cap2 (the memo's bound) */
	int *m;	      /* round starts, vpp + 1 */
	int *ends;    /* current: ends[t * vpp + v] */
	int *best_ends;
	int *best_m;
	bool found;
	int *x;		    /* state vectors, (pp + 1) * vpp */
	int *tb;	    /* boundaries of the proportional split, nseg + 1 */
	int *zero;	    /* nseg + 1 zeros: targets of the ascending order */
	const int *target;  /* tb or zero: where each end choice starts */
	const int *mtarget; /* the same for the round starts */
	struct split_memo memo;
	unsigned long nodes, budget;
	bool stop;
};

static uint64_t memo_hash(const uint32_t *k, int len)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < len; i++) {
		h ^= k[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* The bound a failure holds under: it holds under any lower one too,
 * since a lower incumbent or cap only takes splits away. */
static int64_t memo_bound(const struct split_search *ss)
{
	return ss->falling == 0	  ? ss->best
	       : ss->falling == 1 ? ss->cap
				  : ss->cap2;
}

/* The slot holding key, or the empty one where it would go. */
static uint32_t *memo_find(const struct split_memo *mm, const uint32_t *key,
			   bool *hit)
{
	uint64_t h = memo_hash(key, mm->keylen);

	for (size_t i = h & (mm->cap - 1);; i = (i + 1) & (mm->cap - 1)) {
		uint32_t *s = mm->slot + i * (size_t)mm->width;

		if (s[0] == 0) {
			*hit = false;
			return s;
		}
		if (!memcmp(s, key, sizeof(uint32_t) * (size_t)mm->keylen)) {
			*hit = true;
			return s;
		}
	}
}

/* Doubles the table, keeping every entry; false when it may not grow
 * (at its ceiling, or out of memory). */
static bool memo_grow(struct split_memo *mm)
{
	struct split_memo big = *mm;
	size_t w = (size_t)mm->width;

	if (mm->cap >= mm->max_cap)
		return false;
	big.cap = mm->cap * 2;
	big.slot = calloc(big.cap * w, 4);
	if (!big.slot)
		return false;
	for (size_t i = 0; i < mm->cap; i++) {
		const uint32_t *o = mm->slot + i * w;
		bool hit;

		if (o[0])
			memcpy(memo_find(&big, o, &hit), o, 4 * w);
	}
	free(mm->slot);
	*mm = big;
	return true;
}

/* Returns the slot for the state (stage and flags, X, under the current
 * round starts): found (*hit) or the empty one; fills key. */
static uint32_t *memo_slot(const struct split_search *ss, int state,
			   const int *xv, uint32_t *key, bool *hit)
{
	const struct split_memo *mm = &ss->memo;

	key[0] = 1;
	key[1] = (uint32_t)state;
	for (int v = 0; v < ss->vpp; v++)
		key[v + 2] = (uint32_t)xv[v];
	for (int v = 1; v < ss->vpp; v++)
		key[ss->vpp + 1 + v] = (uint32_t)ss->m[v];
	return memo_find(mm, key, hit);
}

static int64_t memo_stored(const uint32_t *s, int keylen)
{
	return (int64_t)((uint64_t)s[keylen] << 32 | s[keylen + 1]);
}

static bool memo_failed(const struct split_search *ss, int state, const int *xv)
{
	uint32_t key[ss->memo.width];
	const uint32_t *s;
	bool hit;

	if (!ss->memo.slot)
		return false;
	s = memo_slot(ss, state, xv, key, &hit);
	return hit && memo_stored(s, ss->memo.keylen) >= memo_bound(ss);
}

static void memo_clear(struct split_memo *mm)
{
	if (mm->slot)
		memset(mm->slot, 0, mm->cap * (size_t)mm->width * 4);
	mm->used = 0;
}

static void memo_mark_failed(struct split_search *ss, int state, const int *xv)
{
	struct split_memo *mm = &ss->memo;
	uint32_t key[mm->width], *s;
	uint64_t b = (uint64_t)memo_bound(ss);
	bool hit;

	if (!mm->slot)
		return;
	if (mm->used * 2 >= mm->cap && !memo_grow(mm))
		memo_clear(mm); /* full: forget all (it only saves work) */
	s = memo_slot(ss, state, xv, key, &hit);
	if (hit && memo_stored(s, mm->keylen) >= (int64_t)b)
		return;
	if (!hit) {
		memcpy(s, key, sizeof(uint32_t) * (size_t)mm->keylen);
		mm->used++;
	}
	s[mm->keylen] = (uint32_t)(b >> 32);
	s[mm->keylen + 1] = (uint32_t)b;
}

/* Candidates in [lo, hi] by distance from a target, the smaller first on
 * a tie: the search meets splits close to the cost-proportional one
 * first, and the first optimum it meets is the one it keeps. */
struct outward {
	int lo, hi, target, k;
	bool down; /* next candidate is target - k */
	int at;
};

static struct outward outward_start(int lo, int hi, int target)
{
	if (target < lo)
		target = lo;
	if (target > hi)
		target = hi;
	return (struct outward){ lo, hi, target, 0, true, 0 };
}

static bool outward_next(struct outward *o)
{
	if (o->lo > o->hi)
		return false;
	for (;;) {
		int lo_c = o->target - o->k, hi_c = o->target + o->k;

		if (lo_c < o->lo && hi_c > o->hi)
			return false;
		if (o->k == 0) {
			o->k = 1;
			o->at = o->target;
			return true;
		}
		if (o->down) {
			o->down = false;
			if (lo_c >= o->lo) {
				o->at = lo_c;
				return true;
			}
		} else {
			o->down = true;
			o->k++;
			if (hi_c <= o->hi) {
				o->at = hi_c;
				return true;
			}
		}
	}
}

/* The last end e in [lo, hi] with P[e] - P[start] <= room (lo - 1 when
 * none), by bisection on the prefix costs. */
static int last_end_within(const struct split_search *ss, int start, int lo,
			   int hi, int64_t room)
{
	int a = lo - 1, z = hi;

	while (a < z) {
		int mid = a + (z - a + 1) / 2;

		if (ss->P[mid] - ss->P[start] <= room)
			a = mid;
		else
			z = mid - 1;
	}
	return a;
}

/* The first end e in [lo, hi] with P[e] >= floor (hi + 1 when none). */
static int first_end_from(const struct split_search *ss, int lo, int hi,
			  int64_t floor)
{
	int a = lo, z = hi + 1;

	while (a < z) {
		int mid = a + (z - a) / 2;

		if (ss->P[mid] < floor)
			a = mid + 1;
		else
			z = mid;
	}
	return a;
}

/* The most the next segment may cost: cap2 once one segment went above
 * it, else cap. Bounds on later segments use it too (loose, so sound). */
static int64_t seg_cap(const struct split_search *ss)
{
	return ss->over > 0 ? ss->cap2 : ss->cap;
}

/* The most k further segments may cost together: k times seg_cap, or,
 * while no segment went above cap2, one at cap and k - 1 at cap2.
 * Saturates far below overflow (every real cost sum stays within 2^61,
 * see cost_scale). */
static int64_t cap_sum(const struct split_search *ss, int64_t k)
{
	int64_t big = INT64_MAX / 4, cap = seg_cap(ss), one = 0;

	if (k < 1)
		return 0;
	if (cap == NO_CAP || cap > big / k)
		return big;
	if (ss->over == 0 && ss->cap2 != NO_CAP) {
		one = ss->cap - ss->cap2; /* the one segment above cap2 */
		cap = ss->cap2;
	}
	return cap * k + one;
}

/* The most the `stages` stages still to come may cost together: each
 * below the incumbent, and their vpp segments each within the caps. */
static int64_t stages_room(const struct split_search *ss, int stages)
{
	int64_t by_cap = cap_sum(ss, (int64_t)stages * ss->vpp);
	int64_t by_best = (int64_t)stages * (ss->best - 1);

	return by_cap < by_best ? by_cap : by_best;
}

/* The first end of stage t's segment in round v that leaves the rest of
 * the round, [e, M[v + 1]) plus the output on its last segment, within
 * the cap of the (pp - 1 - t) stages after it; lo when nothing is
 * capped or t is the last stage. */
static int first_end_under_cap(const struct split_search *ss, int t, int v,
			       int lo, int hi)
{
	int64_t tail = v == ss->vpp - 1 ? ss->last : 0;

	if (seg_cap(ss) == NO_CAP || t == ss->pp - 1)
		return lo;
	return first_end_from(ss, lo, hi,
			      ss->P[ss->m[v + 1]] + tail -
				      cap_sum(ss, ss->pp - 1 - t));
}

static void search_stage(struct split_search *ss, int t, int64_t done_cost,
			 int64_t worst);

/* Chooses stage t's end in round v and the rounds after it. */
static void search_round(struct split_search *ss, int t, int v,
			 int64_t stage_cost, int64_t done_cost, int64_t worst)
{
	const int *xv = ss->x + (size_t)t * ss->vpp;
	int *next = ss->x + (size_t)(t + 1) * ss->vpp;
	int start = xv[v], hi = ss->m[v + 1] - (ss->pp - 1 - t);
	int lo = start + 1;
	int64_t extra = 0, min_rest = 0, max_rest = 0, need, room;
	bool last_round = v == ss->vpp - 1, last_stage = t == ss->pp - 1;

	if (t == 0 && v == 0)
		extra += ss->first;
	if (last_stage && last_round)
		extra += ss->last;
	if (last_stage)
		lo = hi; /* the last stage ends every round */
	/* What this stage's later rounds add at least (one layer each, all
	 * of it on the last stage, enough to leave the stages after it
	 * within the cap) and at most (up to their last end, the cap). */
	for (int r = v + 1; r < ss->vpp; r++) {
		int from = xv[r], to = ss->m[r + 1] - (ss->pp - 1 - t);
		int64_t add = last_stage && r == ss->vpp - 1 ? ss->last : 0;
		int least = first_end_under_cap(ss, t, r,
						last_stage ? to : from + 1, to);
		int64_t most = ss->P[to] - ss->P[from] + add;

		if (least > to ||
		    ss->P[least] - ss->P[from] + add > seg_cap(ss))
			return; /* that round cannot keep to the cap */
		min_rest += ss->P[least] - ss->P[from] + add;
		max_rest += most < seg_cap(ss) ? most : seg_cap(ss);
	}
	lo = first_end_under_cap(ss, t, v, lo, hi);
	/* The stage must hold what the stages after it cannot: skip, by
	 * bisection on the prefix costs, the ends that leave too much. */
	need = ss->total - done_cost - stages_room(ss, ss->pp - 1 - t);
	if (lo < hi)
		lo = first_end_from(ss, lo, hi,
				    need - stage_cost - extra - max_rest +
					    ss->P[start]);
	/* the most this stage may take: below the incumbent, and this
	 * segment within the cap */
	room = ss->best - 1 - stage_cost - extra - min_rest;
	if (seg_cap(ss) != NO_CAP && seg_cap(ss) - extra < room)
		room = seg_cap(ss) - extra;
	hi = last_end_within(ss, start, lo, hi, room);
	for (struct outward o =
		     outward_start(lo, hi, ss->target[v * ss->pp + t + 1]);
	     outward_next(&o) && !ss->stop;) {
		int e = o.at, over = ss->over;
		int64_t c = stage_cost + extra + ss->P[e] - ss->P[start];

		if (++ss->nodes > ss->budget) {
			ss->stop = true;
			return;
		}
		/* the bound falls as improvements come: read it each time */
		need = ss->total - done_cost - stages_room(ss, ss->pp - 1 - t);
		if (c + min_rest > ss->best - 1 || c + max_rest < need)
			continue;
		next[v] = e;
		ss->ends[t * ss->vpp + v] = e;
		if (extra + ss->P[e] - ss->P[start] > ss->cap2)
			ss->over++;
		if (!last_round)
			search_round(ss, t, v + 1, c, done_cost, worst);
		else
			search_stage(ss, t + 1, done_cost + c,
				     c > worst ? c : worst);
		ss->over = over;
		/* an improvement may have made this prefix no better */
		if (worst >= ss->best)
			return;
	}
}

/* The memo's state word: the stage, whether a segment went above cap2,
 * and what falls (entries of one search phase mean nothing in another). */
static int memo_state(const struct split_search *ss, int t)
{
	return (ss->falling * ss->pp + t) * 2 + ss->over;
}

static void search_stage(struct split_search *ss, int t, int64_t done_cost,
			 int64_t worst)
{
	int64_t before = ss->best;

	if (t == ss->pp) {
		ss->best = worst;
		memcpy(ss->best_ends, ss->ends,
		       sizeof(int) * (size_t)(ss->pp * ss->vpp));
		memcpy(ss->best_m, ss->m, sizeof(int) * (size_t)(ss->vpp + 1));
		ss->found = true;
		if (ss->best <= ss->lb)
			ss->stop = true;
		return;
	}
	if (++ss->nodes > ss->budget) {
		ss->stop = true;
		return;
	}
	if (memo_failed(ss, memo_state(ss, t), ss->x + (size_t)t * ss->vpp))
		return;
	search_round(ss, t, 0, 0, done_cost, worst);
	if (ss->best == before && !ss->stop)
		memo_mark_failed(ss, memo_state(ss, t),
				 ss->x + (size_t)t * ss->vpp);
}

/* Tries every vector of round starts M[1..vpp-1], nearest the
 * proportional split first. */
static void search_rounds(struct split_search *ss, int v)
{
	if (v == ss->vpp) {
		int64_t floor0 = ss->first, floor1 = ss->last;

		/* stage 0 holds at least the first layer of every round,
		 * the last stage at least the last one */
		for (int r = 0; r < ss->vpp; r++) {
			floor0 += ss->P[ss->m[r] + 1] - ss->P[ss->m[r]];
			floor1 += ss->P[ss->m[r + 1]] - ss->P[ss->m[r + 1] - 1];
		}
		if (floor0 > ss->best - 1 || floor1 > ss->best - 1)
			return;
		memcpy(ss->x, ss->m, sizeof(int) * (size_t)ss->vpp);
		search_stage(ss, 0, 0, 0);
		return;
	}
	int lo = ss->m[v - 1] + ss->pp, hi = ss->n - ss->pp * (ss->vpp - v);

	if (ss->cap != NO_CAP && lo <= hi) {
		/* round v - 1 within pp segments of the cap, the rounds
		 * after it within theirs */
		int64_t head = v == 1 ? ss->first : 0;

		hi = last_end_within(ss, ss->m[v - 1], lo, hi,
				     cap_sum(ss, ss->pp) - head);
		lo = first_end_from(
			ss, lo, hi,
			ss->P[ss->n] + ss->last -
				cap_sum(ss, (int64_t)ss->pp * (ss->vpp - v)));
	}
	for (struct outward o = outward_start(lo, hi, ss->mtarget[v * ss->pp]);
	     outward_next(&o) && !ss->stop;) {
		/* every vector of round starts is work too */
		if (++ss->nodes > ss->budget) {
			ss->stop = true;
			return;
		}
		ss->m[v] = o.at;
		search_rounds(ss, v + 1);
	}
}

static int64_t split_value(const struct split_search *ss, const int *sizes)
{
	int64_t stage[ss->pp], worst = 0;
	int at = 0, nseg = ss->pp * ss->vpp;

	memset(stage, 0, sizeof(stage));
	for (int s = 0; s < nseg; s++) {
		int64_t c = ss->P[at + sizes[s]] - ss->P[at];

		if (s == 0)
			c += ss->first;
		if (s == nseg - 1)
			c += ss->last;
		stage[s % ss->pp] += c;
		at += sizes[s];
	}
	for (int p = 0; p < ss->pp; p++)
		if (stage[p] > worst)
			worst = stage[p];
	return worst;
}

/* The cost of layers [s, e) as one segment: the embedding rides on the
 * first segment, the output, loss and MTP on the last. */
static int64_t segment_value(const struct split_search *ss, int s, int e)
{
	return ss->P[e] - ss->P[s] + (s == 0 ? ss->first : 0) +
	       (e == ss->n ? ss->last : 0);
}

/* The largest cost any run of layers [s, e) can have as a segment that
 * is at most x (-1 when none): the segment caps worth trying, since a
 * split's most expensive segment is one of these values. */
static int64_t segment_value_at_most(const struct split_search *ss, int64_t x)
{
	int64_t best = -1;

	for (int s = 0; s < ss->n; s++) {
		int a = s, z = ss->n; /* a: last e known within x */

		while (a < z) {
			int mid = a + (z - a + 1) / 2;

			if (segment_value(ss, s, mid) <= x)
				a = mid;
			else
				z = mid - 1;
		}
		if (a > s && segment_value(ss, s, a) > best)
			best = segment_value(ss, s, a);
	}
	return best;
}

/* Segment sizes (in segment order) of stage-major ends. */
static void ends_to_sizes(const struct split_search *ss, const int *ends,
			  const int *m, int *sizes)
{
	for (int v = 0; v < ss->vpp; v++)
		for (int t = 0; t < ss->pp; t++) {
			int start = t ? ends[(t - 1) * ss->vpp + v] : m[v];

			sizes[v * ss->pp + t] = ends[t * ss->vpp + v] - start;
		}
}

/* A split that follows the cumulative cost: boundary s where the prefix
 * cost first reaches s/nseg of the total; a starting incumbent. */
static void split_proportional(const struct split_search *ss, int *sizes)
{
	int nseg = ss->pp * ss->vpp, prev = 0;

	for (int s = 1; s <= nseg; s++) {
		int b = prev + 1;
		double target = (double)ss->total * s / nseg;

		while (b < ss->n - (nseg - s) &&
		       (double)(ss->P[b] + ss->first) < target)
			b++;
		if (s == nseg)
			b = ss->n;
		sizes[s - 1] = b - prev;
		prev = b;
	}
}

/* The search works on whole numbers so that "better" is exact. Costs are
 * scaled by a power of two (exact in binary floating point) so that the
 * total stays within 2^50 and pp times it within 2^61: FLOPs figures
 * keep sub-FLOP resolution, integral test weights stay exact, and no sum
 * can overflow. Negative or non-finite costs count as 0. */
static double cost_scale(const struct n56_split_problem *pb)
{
	double total = 0, limit = ldexp(1, 50);

	if (ldexp(1, 61) / pb->pp < limit)
		limit = ldexp(1, 61) / pb->pp;
	for (int i = 0; i < pb->n; i++)
		if (isfinite(pb->w[i]) && pb->w[i] > 0)
			total += pb->w[i];
	if (isfinite(pb->first) && pb->first > 0)
		total += pb->first;
	if (isfinite(pb->last) && pb->last > 0)
		total += pb->last;
	if (!isfinite(total) || total <= 0)
		return 1;
	return ldexp(1, (int)floor(log2(limit / total)));
}

static int64_t whole_cost(double w, double scale)
{
	if (!isfinite(w) || w <= 0)
		return 0;
	return llround(w * scale);
}

/* One search under the bounds: the first split in the tie-break order
 * with every stage at most `bound`, every segment at most `cap` and all
 * but one at most `cap2`. Returns 1 (found, in best_ends), 0 (there is
 * none) or -1 (stopped at the work limit). */
static int split_within(struct split_search *ss, int64_t bound, int64_t cap,
			int64_t cap2)
{
	ss->best = bound + 1;
	ss->lb = bound; /* the first split found ends the search */
	ss->cap = cap;
	ss->cap2 = cap2;
	ss->over = 0;
	ss->found = false;
	ss->stop = false;
	search_rounds(ss, 1);
	if (ss->found)
		return 1;
	return ss->nodes > ss->budget ? -1 : 0;
}

/* The most expensive segment (rank 0) or the next one (rank 1). */
static int64_t split_segment_rank(const struct split_search *ss,
				  const int *sizes, int rank)
{
	int64_t top[2] = { 0, 0 };
	int at = 0;

	for (int s = 0; s < ss->pp * ss->vpp; s++) {
		int64_t c = segment_value(ss, at, at + sizes[s]);

		if (c > top[0]) {
			top[1] = top[0];
			top[0] = c;
		} else if (c > top[1]) {
			top[1] = c;
		}
		at += sizes[s];
	}
	return top[rank];
}

/* One search at cap c of the given rank (see least_cap). */
static int split_within_rank(struct split_search *ss, int64_t b1, int rank,
			     int64_t cap0, int64_t c)
{
	return rank ? split_within(ss, b1, cap0, c)
		    : split_within(ss, b1, c, NO_CAP);
}

/* The least cap of one rank (0: every segment, 1: every segment but
 * the most expensive, the cap of rank 0 staying at cap0), no lower than
 * lo, over splits whose stages are within b1, starting from that of
 * sizes. A descent: each search, in the tie-break order, looks for a
 * split under the next lower segment cost that occurs, until none is
 * left; the failure memo carries over, since a state that failed under
 * a cap fails under any lower one. The split of the last search found
 * is the first in the tie-break order under its own figure, so the one
 * kept. Returns the cap, sizes holding its split, or -1 when the work
 * limit stopped a search (sizes: the last split found). */
static int64_t least_cap(struct split_search *ss, int *sizes, int64_t b1,
			 int rank, int64_t cap0, int64_t lo)
{
	int64_t hi = split_segment_rank(ss, sizes, rank);
	int got;

	ss->falling = rank + 1;
	if (lo > hi)
		lo = hi; /* never skip the tie-break's search */
	/* first the tie-break's split at the figure of sizes */
	for (int64_t c = hi; c >= lo; c = segment_value_at_most(ss, hi - 1)) {
		got = split_within_rank(ss, b1, rank, cap0, c);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		ends_to_sizes(ss, ss->best_ends, ss->best_m, sizes);
		hi = split_segment_rank(ss, sizes, rank);
		if (hi <= lo)
			break;
	}
	return hi;
}

/* Phase 2: among the splits whose most expensive stage is at most that
 * of sizes (B1), the least most expensive segment C1, then among those
 * the least next most expensive segment C2 (the output's segment often
 * fixes C1 alone and would leave the others free), then the tie-break.
 * sizes holds B1's split on entry and the chosen one on return. Returns
 * -1 when the work limit (shared by all steps) stopped it: sizes is then
 * the best split found, its stages still within B1. B1 is the proven
 * optimum, so some stage reaches it and a segment holds at least 1/vpp
 * of it. */
static int split_capped(struct split_search *ss, int *sizes)
{
	int nseg = ss->pp * ss->vpp;
	int64_t b1 = split_value(ss, sizes), c1;
	int64_t lo = (ss->total + nseg - 1) / nseg;

	/* no segment is cheaper than the mean one, the heaviest layer, or
	 * the first and last layers with their extras */
	for (int i = 0; i < ss->n; i++)
		if (ss->P[i + 1] - ss->P[i] > lo)
			lo = ss->P[i + 1] - ss->P[i];
	if (nseg > 1 && segment_value(ss, 0, 1) > lo)
		lo = segment_value(ss, 0, 1);
	if (nseg > 1 && segment_value(ss, ss->n - 1, ss->n) > lo)
		lo = segment_value(ss, ss->n - 1, ss->n);
	if ((b1 + ss->vpp - 1) / ss->vpp > lo)
		lo = (b1 + ss->vpp - 1) / ss->vpp;
	c1 = least_cap(ss, sizes, b1, 0, NO_CAP, lo);
	if (c1 < 0)
		return -1;
	if (nseg < 2)
		return 0;
	/* the other segments share what the most expensive one leaves */
	lo = (ss->total - c1 + nseg - 2) / (nseg - 1);
	return least_cap(ss, sizes, b1, 1, c1, lo) < 0 ? -1 : 0;
}

unsigned long n56_split_budget = 10000000ul;

int n56_split_balanced_ex(const struct n56_split_problem *pb, int *sizes,
			  bool *exact)
{
	struct split_search ss = { 0 };
	int nseg = pb->pp * pb->vpp, rc = -1;
	int *cand = NULL;
	int64_t heaviest = 0;
	double scale;
	bool proven;

	if (exact)
		*exact = false;
	if (pb->pp < 1 || pb->vpp < 1 || pb->n < nseg)
		return -1;
	ss.n = pb->n;
	ss.pp = pb->pp;
	ss.vpp = pb->vpp;
	ss.budget = n56_split_budget;
	ss.P = calloc((size_t)pb->n + 1, sizeof(int64_t));
	ss.m = calloc((size_t)pb->vpp + 1, sizeof(int));
	ss.best_m = calloc((size_t)pb->vpp + 1, sizeof(int));
	ss.ends = calloc((size_t)nseg, sizeof(int));
	ss.best_ends = calloc((size_t)nseg, sizeof(int));
	ss.x = calloc((size_t)(pb->pp + 1) * pb->vpp, sizeof(int));
	ss.tb = calloc((size_t)nseg + 1, sizeof(int));
	ss.zero = calloc((size_t)nseg + 1, sizeof(int));
	cand = calloc((size_t)nseg, sizeof(int));
	if (!ss.P || !ss.m || !ss.best_m || !ss.ends || !ss.best_ends ||
	    !ss.x || !ss.tb || !ss.zero || !cand)
		goto out;
	scale = cost_scale(pb);
	for (int i = 0; i < pb->n; i++) {
		int64_t w = whole_cost(pb->w[i], scale);

		ss.P[i + 1] = ss.P[i] + w;
		if (w > heaviest)
			heaviest = w;
	}
	ss.first = whole_cost(pb->first, scale);
	ss.last = whole_cost(pb->last, scale);
	ss.total = ss.P[pb->n] + ss.first + ss.last;
	/* no split beats the mean stage, the heaviest layer, or the first
	 * and last segments' own layer plus their extras */
	ss.lb = (ss.total + pb->pp - 1) / pb->pp;
	if (heaviest > ss.lb)
		ss.lb = heaviest;
	if (pb->pp == 1)
		ss.lb = ss.total;
	/* the incumbent: the better of the equal and proportional splits,
	 * kept only as a fallback; the search must re-find its value */
	n56_split_equal(pb->n, nseg, sizes);
	split_proportional(&ss, cand);
	for (int s = 0; s < nseg; s++)
		ss.tb[s + 1] = ss.tb[s] + cand[s];
	if (split_value(&ss, cand) < split_value(&ss, sizes))
		memcpy(sizes, cand, sizeof(int) * (size_t)nseg);
	ss.best = split_value(&ss, sizes) + 1;
	ss.memo.keylen = 2 * pb->vpp + 1;
	ss.memo.width = ss.memo.keylen + 2;
	/* a power of two of slots, from 256 (a small search touches a few
	 * KiB) doubling up to at most 8 MiB */
	ss.memo.max_cap = 1u << 18;
	while (ss.memo.max_cap > 1024 &&
	       ss.memo.max_cap * (size_t)ss.memo.width * 4 > (8u << 20))
		ss.memo.max_cap >>= 1;
	ss.memo.cap = 256;
	ss.memo.slot = calloc(ss.memo.cap * (size_t)ss.memo.width, 4);
	/* without a memo the search is slower but still exact */
	ss.m[0] = 0;
	ss.m[pb->vpp] = pb->n;
	/* Phase 1, round starts and ends in ascending order (small early
	 * segments first; measured faster than the proportional order),
	 * finds the least most expensive stage, B1. */
	ss.target = ss.zero;
	ss.mtarget = ss.zero;
	ss.cap = NO_CAP;
	ss.cap2 = NO_CAP;
	search_rounds(&ss, 1);
	if (ss.found)
		ends_to_sizes(&ss, ss.best_ends, ss.best_m, sizes);
	proven = ss.nodes <= ss.budget;
	/* phase 2 searches in the tie-break order, on its own budget */
	ss.target = ss.tb;
	ss.mtarget = ss.tb;
	ss.nodes = 0;
	if (proven) {
		if (split_capped(&ss, sizes) < 0)
			proven = false;
	} else {
		/* B1 itself is not proven: spend phase 2 on a better
		 * one (or the tie-break's at B1), the caps off */
		ss.best = split_value(&ss, sizes) + 1;
		ss.found = false;
		ss.stop = false;
		search_rounds(&ss, 1);
		if (ss.found)
			ends_to_sizes(&ss, ss.best_ends, ss.best_m, sizes);
	}
	if (exact)
		*exact = proven;
	rc = 0;
out:
	free(cand);
	free(ss.best_m);
	free(ss.P);
	free(ss.m);
	free(ss.ends);
	free(ss.best_ends);
	free(ss.x);
	free(ss.tb);
	free(ss.zero);
	free(ss.memo.slot);
	return rc;
}

int n56_split_balanced(const struct n56_split_problem *pb, int *sizes)
{
	return n56_split_balanced_ex(pb, sizes, NULL);
}
