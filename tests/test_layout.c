/* Unit tests of the pipeline split (policy/partition.c, policy/layout.c):
 * the exact search against brute force over every composition, the NAM56R
 * recipe at pp 2 and 4, vpp 1 and 2, with and without MTP, the native
 * pattern's bars and MTP suffix, Megatron's rule violations and the
 * hand-written split. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/cost.h"

/* ---- brute force ---- */

/* The cost-proportional boundaries, as the search derives them: boundary
 * s at the first layer where the prefix cost (with the embedding) reaches
 * s/nseg of the total, each segment keeping at least one layer. */
static void proportional(const struct n56_split_problem *pb, int *tb)
{
	int nseg = pb->pp * pb->vpp;
	double total = pb->first + pb->last, prefix[pb->n + 1];

	prefix[0] = 0;
	for (int i = 0; i < pb->n; i++)
		prefix[i + 1] = prefix[i] + pb->w[i];
	total += prefix[pb->n];
	tb[0] = 0;
	for (int s = 1; s <= nseg; s++) {
		int b = tb[s - 1] + 1;

		while (b < pb->n - (nseg - s) &&
		       prefix[b] + pb->first < total * s / nseg)
			b++;
		tb[s] = s == nseg ? pb->n : b;
	}
}

/* The search's tie-break key: round starts M[1..vpp-1], then every
 * stage's segment ends, stage by stage, round by round; each boundary
 * ranked by (distance from the proportional one, itself). */
static void split_key(const struct n56_split_problem *pb, const int *sizes,
		      int *key)
{
	int pp = pb->pp, vpp = pb->vpp, bound[pp * vpp + 1], tb[pp * vpp + 1],
	    k = 0;

	proportional(pb, tb);
	bound[0] = 0;
	for (int s = 0; s < pp * vpp; s++)
		bound[s + 1] = bound[s] + sizes[s];
	for (int v = 1; v < vpp; v++) {
		key[k++] = abs(bound[v * pp] - tb[v * pp]);
		key[k++] = bound[v * pp];
	}
	for (int t = 0; t < pp; t++)
		for (int v = 0; v < vpp; v++) {
			int s = v * pp + t + 1;

			key[k++] = abs(bound[s] - tb[s]);
			key[k++] = bound[s];
		}
}

static bool key_less(const int *a, const int *b, int len)
{
	for (int i = 0; i < len; i++)
		if (a[i] != b[i])
			return a[i] < b[i];
	return false;
}

/* The most expensive segment (virtual stage), top[0], and the next one,
 * top[1]: a segment's layers, plus the embedding on segment 0 and the
 * output, loss and MTP on the last. */
static void segment_top(const struct n56_split_problem *pb, const int *sizes,
			double top[2])
{
	int nseg = pb->pp * pb->vpp, at = 0;

	top[0] = top[1] = 0;
	for (int s = 0; s < nseg; s++) {
		double c = (s == 0 ? pb->first : 0) +
			   (s == nseg - 1 ? pb->last : 0);

		for (int i = at; i < at + sizes[s]; i++)
			c += pb->w[i];
		if (c > top[0]) {
			top[1] = top[0];
			top[0] = c;
		} else if (c > top[1]) {
			top[1] = c;
		}
		at += sizes[s];
	}
}

/* a before b in (stage, most expensive segment, next one) */
static int objective_cmp(double va, const double *ta, double vb,
			 const double *tb)
{
	if (va != vb)
		return va < vb ? -1 : 1;
	for (int i = 0; i < 2; i++)
		if (ta[i] != tb[i])
			return ta[i] < tb[i] ? -1 : 1;
	return 0;
}

struct brute {
	const struct n56_split_problem *pb;
	int nseg, keylen;
	int *cur, *best, *best_key, *key;
	double best_value, best_top[2];
	long visited;
};

static void brute_walk(struct brute *b, int s, int left)
{
	if (s == b->nseg - 1) {
		double stage[b->pb->pp], v, top[2];
		int cmp;

		b->cur[s] = left;
		b->visited++;
		v = n56_split_stage_costs(b->pb, b->cur, stage);
		segment_top(b->pb, b->cur, top);
		split_key(b->pb, b->cur, b->key);
		/* lexicographic: stage, segments, then the key */
		cmp = objective_cmp(v, top, b->best_value, b->best_top);
		if (cmp < 0 ||
		    (cmp == 0 && key_less(b->key, b->best_key, b->keylen))) {
			b->best_value = v;
			b->best_top[0] = top[0];
			b->best_top[1] = top[1];
			memcpy(b->best, b->cur, sizeof(int) * b->nseg);
			memcpy(b->best_key, b->key, sizeof(int) * b->keylen);
		}
		return;
	}
	for (int k = 1; k <= left - (b->nseg - 1 - s); k++) {
		b->cur[s] = k;
		brute_walk(b, s + 1, left - k);
	}
}

/* The best split by (most expensive stage, most expensive segment, next
 * most expensive segment, the search's tie-break key) over every
 * composition; returns its stage value and fills top with its two
 * segment values. */
static double brute_force(const struct n56_split_problem *pb, int *best,
			  double top[2])
{
	int nseg = pb->pp * pb->vpp, keylen = 2 * (nseg + pb->vpp - 1);
	int cur[nseg], key[keylen], best_key[keylen];
	struct brute b = {
		.pb = pb,
		.nseg = nseg,
		.keylen = keylen,
		.cur = cur,
		.best = best,
		.best_key = best_key,
		.key = key,
		.best_value = 1e300,
		.best_top = { 1e300, 1e300 },
	};

	for (int i = 0; i < keylen; i++)
		best_key[i] = 1 << 30;
	brute_walk(&b, 0, pb->n);
	top[0] = b.best_top[0];
	top[1] = b.best_top[1];
	return b.best_value;
}

/* A small deterministic generator, so failures replay. */
static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static void test_exact_matches_brute_force(void **state)
{
	uint32_t seed = 12345;
	int cases = 0;

	(void)state;
	for (int pp = 1; pp <= 3; pp++) {
		for (int vpp = 1; vpp <= 3; vpp++) {
			int nseg = pp * vpp;

			for (int n = nseg; n <= nseg + 6 && n <= 11; n++) {
				for (int rep = 0; rep < 6; rep++) {
					double w[n];
					int got[nseg], want[nseg];
					double stage[pp], vg, vw, sg[2], sw[2];
					struct n56_split_problem pb = {
						.w = w,
						.n = n,
						.pp = pp,
						.vpp = vpp,
					};
					bool exact = false;

					for (int i = 0; i < n; i++)
						w[i] = 1 + lcg(&seed) % 9;
					/* sometimes heavy ends, like the
					 * embedding and the output layer */
					pb.first =
						rep % 3 ? 0 : lcg(&seed) % 12;
					pb.last = rep % 2 ? lcg(&seed) % 30 : 0;
					assert_int_equal(
						n56_split_balanced_ex(&pb, got,
								      &exact),
						0);
					assert_true(exact);
					vw = brute_force(&pb, want, sw);
					vg = n56_split_stage_costs(&pb, got,
								   stage);
					segment_top(&pb, got, sg);
					if (objective_cmp(vg, sg, vw, sw) ||
					    memcmp(got, want, sizeof(got))) {
						print_error("pp %d vpp %d n %d "
							    "rep %d: got "
							    "%g/%g/%g want "
							    "%g/%g/%g\n",
							    pp, vpp, n, rep, vg,
							    sg[0], sg[1], vw,
							    sw[0], sw[1]);
						for (int k = 0; k < nseg; k++)
							print_error(
								"  segment %d:"
								" got %d want "
								"%d\n",
								k, got[k],
								want[k]);
						fail();
					}
					cases++;
				}
			}
		}
	}
	assert_true(cases > 200);
}

/* Equal weights and no extras: the optimum is the equal split's value. */
static void test_uniform_weights(void **state)
{
	double w[24];
	int got[8], eq[8];
	double stage[4];
	struct n56_split_problem pb = { .w = w, .n = 24, .pp = 4, .vpp = 2 };

	(void)state;
	for (int i = 0; i < 24; i++)
		w[i] = 5;
	assert_int_equal(n56_split_balanced(&pb, got), 0);
	n56_split_equal(24, 8, eq);
	assert_true(n56_split_stage_costs(&pb, got, stage) ==
		    n56_split_stage_costs(&pb, eq, stage));
	assert_true(stage[0] == 30);
}

static void test_equal_split(void **state)
{
	int sizes[5];

	(void)state;
	n56_split_equal(52, 5, sizes);
	assert_int_equal(sizes[0], 11);
	assert_int_equal(sizes[1], 11);
	assert_int_equal(sizes[2], 10);
	assert_int_equal(sizes[3], 10);
	assert_int_equal(sizes[4], 10);
}

static void test_too_few_layers(void **state)
{
	double w[3] = { 1, 1, 1 };
	int sizes[4];
	struct n56_split_problem pb = { .w = w, .n = 3, .pp = 2, .vpp = 2 };

	(void)state;
	assert_int_equal(n56_split_balanced(&pb, sizes), -1);
}

/* Huge, negative and non-finite costs: scaled or counted as 0, never a
 * crash or an overflow; the two huge layers land on different stages. */
static void test_extreme_costs(void **state)
{
	double w[6] = { 1e300, 1, -5, NAN, 1, 1e300 };
	int sizes[2];
	double stage[2];
	struct n56_split_problem pb = { .w = w, .n = 6, .pp = 2, .vpp = 1 };
	bool exact = false;

	(void)state;
	assert_int_equal(n56_split_balanced_ex(&pb, sizes, &exact), 0);
	assert_true(exact);
	assert_true(sizes[0] >= 1 && sizes[1] >= 1);
	assert_int_equal(sizes[0] + sizes[1], 6);
	assert_true(sizes[0] <= 5);
	w[3] = 1; /* the stage costs need finite inputs */
	w[2] = 1;
	n56_split_stage_costs(&pb, sizes, stage);
	assert_true(stage[0] < 1.5e300 && stage[1] < 1.5e300);
}

/* The work limit keeps a valid split and says it is not proven. */
static void test_budget(void **state)
{
	double w[40];
	int sizes[8], total = 0;
	bool exact = true;
	unsigned long saved = n56_split_budget;
	struct n56_split_problem pb = {
		.w = w,
		.n = 40,
		.pp = 4,
		.vpp = 2,
		.last = 17,
	};

	(void)state;
	for (int i = 0; i < 40; i++)
		w[i] = 1 + (i * 7) % 5;
	n56_split_budget = 3;
	assert_int_equal(n56_split_balanced_ex(&pb, sizes, &exact), 0);
	n56_split_budget = saved;
	assert_false(exact);
	for (int s = 0; s < 8; s++) {
		assert_true(sizes[s] >= 1);
		total += sizes[s];
	}
	assert_int_equal(total, 40);
}

/* ---- the recipe path ---- */

struct fixture {
	struct n56_recipe *r;
	struct n56_layout l;
	struct n56_parallel par;
	struct n56_diags d;
};

static const char *yaml_override;

static int setup_recipe(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *y = yaml_override ? yaml_override : n56_builtin_recipe_yaml;

	if (!f)
		return -1;
	if (n56_recipe_parse(yaml_override ? "test.yaml" : "builtin", y,
			     strlen(y), &f->r, &f->d) < 0) {
		for (size_t i = 0; i < f->d.n; i++) {
			char buf[512];

			n56_diag_format(&f->d.v[i], buf, sizeof(buf));
			print_error("%s\n", buf);
		}
		n56_diags_free(&f->d);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_recipe(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	n56_layout_clear(&f->l);
	n56_recipe_free(f->r);
	n56_diags_free(&f->d);
	free(f);
	return 0;
}

static void print_diags(const struct n56_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char buf[512];

		n56_diag_format(&d->v[i], buf, sizeof(buf));
		print_error("%s\n", buf);
	}
}

/* Tiles the recipe and splits it at pp x vpp; returns the split's rc. */
static int split_at(struct fixture *f, long pp, long vpp)
{
	n56_layout_clear(&f->l);
	n56_diags_free(&f->d);
	if (n56_layout_tile(f->r, &f->l, &f->d) < 0) {
		print_diags(&f->d);
		return -2;
	}
	f->par = (struct n56_parallel){ .tp = 1,
					.pp = pp,
					.vpp = vpp,
					.ep = 1,
					.etp = 1,
					.cp = 1,
					.dp = 1 };
	f->par.world = pp;
	return n56_layout_split(f->r, &f->par, &f->l, &f->d);
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* The native pattern: the tiled symbols with bars between segments, then
 * one `/` + MTP symbols per depth. */
static void check_native(const struct fixture *f)
{
	const struct n56_layout *l = &f->l;
	const char *p = l->native_pattern;
	long depths = f->r->model.mtp.depths.v;
	int layers = 0;

	assert_int_equal(count_char(p, '|'),
			 l->nstages > 1 ? l->nstages - 1 : 0);
	assert_int_equal(count_char(p, '/'), depths);
	for (int s = 0; s < l->nstages; s++) {
		assert_true(l->stages[s].count >= 1);
		assert_int_equal(l->stages[s].first, layers);
		assert_int_equal(l->stages[s].pp, s % f->par.pp);
		assert_int_equal(l->stages[s].vpp, s / f->par.pp);
		assert_int_equal((int)strlen(l->stages[s].letters),
				 l->stages[s].count);
		assert_memory_equal(l->stages[s].letters, l->tiled + layers,
				    l->stages[s].count);
		layers += l->stages[s].count;
	}
	assert_int_equal(layers, l->depth);
	/* each segment's symbols, then the suffix */
	for (int s = 0; s < l->nstages; s++) {
		const char *bar = strchr(p, '|');
		const char *end = bar ? bar : strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (s == l->nstages - 1) {
			const char *slash = strchr(p, '/');

			len = slash ? (size_t)(slash - p) : strlen(p);
		}
		assert_int_equal((int)len, l->stages[s].count);
		p += len + (s < l->nstages - 1 ? 1 : 0);
	}
	for (long k = 0; k < depths; k++) {
		assert_int_equal(*p, '/');
		p++;
		/* MLA on in NAM56R: A -> '+', E -> 'E' */
		for (const char *m = f->r->model.mtp.pattern.v; *m; m++, p++)
			assert_int_equal(*p, *m == 'A' ? '+' : *m);
	}
	assert_int_equal(*p, '\0');
}

static void check_nam56r(struct fixture *f, long pp, long vpp)
{
	double share = 0, naive_check;

	if (split_at(f, pp, vpp) != 0) {
		print_diags(&f->d);
		fail();
	}
	assert_int_equal(f->l.nstages, pp * vpp);
	check_native(f);
	assert_false(f->l.hand_split);
	/* the split is the schedule model's, from the stage-balanced one:
	 * never slower than it, and when proven, than the equal split */
	assert_true(f->l.sched.simulated);
	assert_true(f->l.split_exact == f->l.sched.exact);
	assert_true(f->l.sched.time_s <= f->l.sched.balanced_s * (1 + 1e-12));
	if (f->l.sched.exact)
		assert_true(f->l.sched.time_s <=
			    f->l.sched.equal_s * (1 + 1e-12));
	assert_true(f->l.sched.time_s >= f->l.sched.ideal_s * (1 - 1e-12));
	assert_true(f->l.imbalance_balanced >= 1.0);
	for (int s = 0; s < f->l.nstages; s++)
		share += f->l.stages[s].mem_share;
	assert_true(share > 0.999999 && share < 1.000001);
	/* the naive figure is the equal split's */
	{
		int sizes[pp * vpp];
		double stage[pp], sum = 0, worst;
		struct n56_layer_costs c;
		struct n56_split_problem pb;

		assert_int_equal(n56_layer_costs_build(f->r, &f->l, &c, &f->d),
				 0);
		pb = (struct n56_split_problem){
			.w = c.flops,
			.n = c.depth,
			.first = c.first.flops,
			.last = c.last.flops,
			.pp = (int)pp,
			.vpp = (int)vpp,
		};
		n56_split_equal(c.depth, (int)(pp * vpp), sizes);
		worst = n56_split_stage_costs(&pb, sizes, stage);
		for (int p = 0; p < pp; p++)
			sum += stage[p];
		naive_check = worst / (sum / pp);
		n56_layer_costs_free(&c);
	}
	assert_true(naive_check > f->l.imbalance_naive - 1e-12 &&
		    naive_check < f->l.imbalance_naive + 1e-12);
	print_message("NAM56R pp %ld vpp %ld mtp %ld m %ld: imbalance %.4f "
		      "naive %.4f, iteration %.4fx ideal (stage-balanced "
		      "%.4fx, equal %.4fx)%s pattern %s\n",
		      pp, vpp, f->r->model.mtp.depths.v,
		      f->l.sched.microbatches, f->l.imbalance_balanced,
		      f->l.imbalance_naive,
		      f->l.sched.time_s / f->l.sched.ideal_s,
		      f->l.sched.balanced_s / f->l.sched.ideal_s,
		      f->l.sched.equal_s / f->l.sched.ideal_s,
		      f->l.sched.exact ? "" : " (search stopped)",
		      f->l.native_pattern);
}

static void test_nam56r(void **state)
{
	struct fixture *f = *state;
	static const long shapes[][2] = {
		{ 2, 1 }, { 2, 2 }, { 4, 1 }, { 4, 2 }
	};

	for (size_t i = 0; i < 4; i++)
		check_nam56r(f, shapes[i][0], shapes[i][1]);
	/* without MTP */
	f->r->model.mtp.depths.v = 0;
	for (size_t i = 0; i < 4; i++)
		check_nam56r(f, shapes[i][0], shapes[i][1]);
}

/* The balanced split of NAM56R is optimal: no single boundary move of
 * one layer lowers the most expensive stage (a local check that holds
 * for any optimum, on the real cost figures). */
static void test_nam56r_no_better_neighbour(void **state)
{
	struct fixture *f = *state;
	struct n56_layer_costs c;
	struct n56_split_problem pb;
	int nseg = 8, sizes[8];
	double stage[4], best;

	assert_int_equal(split_at(f, 4, 2), 0);
	assert_int_equal(n56_layer_costs_build(f->r, &f->l, &c, &f->d), 0);
	pb = (struct n56_split_problem){
		.w = c.flops,
		.n = c.depth,
		.first = c.first.flops,
		.last = c.last.flops,
		.pp = 4,
		.vpp = 2,
	};
	/* the stage-balanced split the schedule search started from */
	assert_non_null(f->l.sched.balanced_sizes);
	for (int s = 0; s < nseg; s++)
		sizes[s] = f->l.sched.balanced_sizes[s];
	best = n56_split_stage_costs(&pb, sizes, stage);
	for (int s = 0; s + 1 < nseg; s++) {
		for (int dir = -1; dir <= 1; dir += 2) {
			int a = sizes[s] + dir, b = sizes[s + 1] - dir;

			if (a < 1 || b < 1)
				continue;
			sizes[s] = a;
			sizes[s + 1] = b;
			assert_true(n56_split_stage_costs(&pb, sizes, stage) >=
				    best);
			sizes[s] -= dir;
			sizes[s + 1] += dir;
		}
	}
	n56_layer_costs_free(&c);
}

/* On the real NAM56R costs, with the output's heavy segment: the split
 * at pp 2 vpp 2 and pp 4 vpp 1 (20825 compositions each) is the brute
 * force's by (stage, most expensive segment, next one, tie-break). */
static void test_nam56r_matches_brute_force(void **state)
{
	struct fixture *f = *state;
	static const int shapes[][2] = { { 2, 2 }, { 4, 1 } };

	for (size_t i = 0; i < 2; i++) {
		int pp = shapes[i][0], vpp = shapes[i][1], nseg = pp * vpp;
		int got[nseg], want[nseg];
		double vw, sw[2], vg, sg[2], stage[pp];
		struct n56_layer_costs c;
		struct n56_split_problem pb;
		bool exact = false;

		assert_int_equal(split_at(f, pp, vpp), 0);
		assert_int_equal(n56_layer_costs_build(f->r, &f->l, &c, &f->d),
				 0);
		pb = (struct n56_split_problem){
			.w = c.flops,
			.n = c.depth,
			.first = c.first.flops,
			.last = c.last.flops,
			.pp = pp,
			.vpp = vpp,
		};
		assert_int_equal(n56_split_balanced_ex(&pb, got, &exact), 0);
		assert_true(exact);
		vw = brute_force(&pb, want, sw);
		vg = n56_split_stage_costs(&pb, got, stage);
		segment_top(&pb, got, sg);
		/* FLOPs sums in another order may differ in the last bit */
		assert_true(fabs(vg - vw) <= 1e-9 * vw);
		assert_true(fabs(sg[0] - sw[0]) <= 1e-9 * sw[0]);
		assert_true(fabs(sg[1] - sw[1]) <= 1e-9 * sw[1]);
		assert_memory_equal(got, want, sizeof(got));
		/* the plan starts its schedule search from the same split */
		for (int s = 0; s < nseg; s++)
			assert_int_equal(f->l.sched.balanced_sizes[s], got[s]);
		n56_layer_costs_free(&c);
	}
}

/* Every work limit keeps a valid split whose stages are never worse than
 * the equal split's; a limit that lets the stage search finish but stops
 * the segment search keeps the optimal stages and still says "not
 * proven"; once proven, the split is the unlimited one. NAM56R at pp 4
 * vpp 2, where the segment search does most of the work. */
static void test_budget_phases(void **state)
{
	struct fixture *f = *state;
	struct n56_layer_costs c;
	struct n56_split_problem pb;
	double stage[4], best, naive;
	int full[8], sizes[8], eq[8];
	bool exact = false, seen_phase2_stop = false;
	unsigned long saved = n56_split_budget;

	assert_int_equal(split_at(f, 4, 2), 0);
	assert_int_equal(n56_layer_costs_build(f->r, &f->l, &c, &f->d), 0);
	pb = (struct n56_split_problem){
		.w = c.flops,
		.n = c.depth,
		.first = c.first.flops,
		.last = c.last.flops,
		.pp = 4,
		.vpp = 2,
	};
	assert_int_equal(n56_split_balanced_ex(&pb, full, &exact), 0);
	assert_true(exact);
	best = n56_split_stage_costs(&pb, full, stage);
	n56_split_equal(pb.n, 8, eq);
	naive = n56_split_stage_costs(&pb, eq, stage);
	for (unsigned long b = 1; b <= saved; b *= 2) {
		int total = 0;
		double v;

		n56_split_budget = b;
		assert_int_equal(n56_split_balanced_ex(&pb, sizes, &exact), 0);
		n56_split_budget = saved;
		for (int s = 0; s < 8; s++) {
			assert_true(sizes[s] >= 1);
			total += sizes[s];
		}
		assert_int_equal(total, pb.n);
		v = n56_split_stage_costs(&pb, sizes, stage);
		assert_true(v >= best && v <= naive);
		if (exact) {
			assert_memory_equal(sizes, full, sizeof(full));
			break;
		}
		if (v == best && memcmp(sizes, full, sizeof(full)))
			seen_phase2_stop = true;
	}
	n56_layer_costs_free(&c);
	assert_true(exact);
	assert_true(seen_phase2_stop);
}

static void expect_one_diag(const struct fixture *f, const char *text)
{
	char buf[512];

	if (f->d.n != 1) {
		print_diags(&f->d);
		fail_msg("expected one diagnostic, got %zu", f->d.n);
	}
	n56_diag_format(&f->d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, text);
}

static void test_too_many_segments(void **state)
{
	struct fixture *f = *state;

	f->r->model.depth.v = 6;
	f->r->model.attention.dsa.a_layer_ranks.n = 0; /* 2 A layers now */
	assert_int_equal(split_at(f, 4, 2), -1);
	expect_one_diag(f, "builtin:57:8: pp 4 x vpp 2 = 8 segments but "
			   "depth is 6: each segment needs at least one layer");
}

static void test_mtp_with_r(void **state)
{
	struct fixture *f = *state;

	free(f->r->model.mtp.pattern.v);
	f->r->model.mtp.pattern.v = strdup("AR");
	assert_int_equal(split_at(f, 2, 2), -1);
	expect_one_diag(f, "builtin:51:14: model.mtp.pattern \"AR\" contains "
			   "R: Megatron's MTP layers have no recurrent mixer, "
			   "use A, E or M");
}

static void test_mtp_with_bar(void **state)
{
	struct fixture *f = *state;

	free(f->r->model.mtp.pattern.v);
	f->r->model.mtp.pattern.v = strdup("A|E");
	assert_int_equal(split_at(f, 2, 2), -1);
	expect_one_diag(f, "builtin:51:14: model.mtp.pattern \"A|E\" contains "
			   "'|': MTP sits whole on the last pipeline stage, "
			   "remove the bar");
}

static void test_mtp_unknown_letter(void **state)
{
	struct fixture *f = *state;

	free(f->r->model.mtp.pattern.v);
	f->r->model.mtp.pattern.v = strdup("AX");
	assert_int_equal(split_at(f, 2, 2), -1);
	expect_one_diag(f, "builtin:51:14: model.mtp.pattern \"AX\" has "
			   "unknown letter 'X': use A, E or M");
}

static void test_mtp_empty(void **state)
{
	struct fixture *f = *state;

	free(f->r->model.mtp.pattern.v);
	f->r->model.mtp.pattern.v = strdup("");
	assert_int_equal(split_at(f, 2, 2), -1);
	expect_one_diag(f, "builtin:50:13: model.mtp.depths is 2 but "
			   "model.mtp.pattern is empty: give the letters of "
			   "one MTP depth (e.g. AE) or set depths to 0");
}

/* ---- hand-written splits ---- */

#define HAND_YAML(SEGMENTS)                          \
	"schema: 1\n"                                \
	"model:\n"                                   \
	"  pattern: AEMEAEMEAEMR\n"                  \
	"  depth: 24\n"                              \
	"  hidden_size: 1024\n"                      \
	"  ffn_hidden_size: 4096\n"                  \
	"  vocab_size: 32000\n"                      \
	"  attention:\n"                             \
	"    heads: 16\n"                            \
	"    query_groups: 16\n"                     \
	"  mamba:\n"                                 \
	"    heads: 16\n"                            \
	"    groups: 1\n"                            \
	"    state_dim: 64\n"                        \
	"  moe:\n"                                   \
	"    experts: 8\n"                           \
	"    topk: 2\n"                              \
	"  recurrent:\n"                             \
	"    mixer: m2rnn\n"                         \
	"    state_dim: 64\n"                        \
	"parallelism:\n"                             \
	"  pp: 2\n"                                  \
	"  vpp: 2\n"                                 \
	"batch:\n"                                   \
	"  micro_batch_size: 1\n"                    \
	"  global_batch_size: 8\n"                   \
	"  seq_length: 1024\n"                       \
	"runtime:\n"                                 \
	"  command: [python3, pretrain_hybrid.py]\n" \
	"  seams: [recurrent_tail]\n"                \
	"layout:\n"                                  \
	"  segments: " SEGMENTS "\n"

static int setup_hand_ok(void **state)
{
	yaml_override = HAND_YAML("[3, 9, 6, 6]");
	return setup_recipe(state);
}

static void test_hand_split_used(void **state)
{
	struct fixture *f = *state;
	static const int want[] = { 3, 9, 6, 6 };

	if (split_at(f, 2, 2) != 0) {
		print_diags(&f->d);
		fail();
	}
	assert_true(f->l.hand_split);
	for (int s = 0; s < 4; s++)
		assert_int_equal(f->l.stages[s].count, want[s]);
	assert_string_equal(f->l.native_pattern, "*EM|E*EME*EMM|*EME*E|ME*EMM");
	assert_true(f->l.imbalance_balanced >= 1.0);
}

static int setup_hand_count(void **state)
{
	yaml_override = HAND_YAML("[3, 9, 12]");
	return setup_recipe(state);
}

static void test_hand_split_count(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(split_at(f, 2, 2), -1);
	expect_one_diag(f, "test.yaml:32:13: layout.segments has 3 entries "
			   "but pp 2 x vpp 2 = 4 segments: give one layer "
			   "count per segment");
}

static int setup_hand_sum(void **state)
{
	yaml_override = HAND_YAML("[3, 9, 6, 7]");
	return setup_recipe(state);
}

static void test_hand_split_sum(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(split_at(f, 2, 2), -1);
	expect_one_diag(f, "test.yaml:32:13: layout.segments adds up to 25 "
			   "layers but the depth is 24: the counts must add "
			   "up to the depth");
}

static int teardown_hand(void **state)
{
	yaml_override = NULL;
	return teardown_recipe(state);
}

/* An empty segment: Megatron's hybrid pattern takes `||` (the
 * conformance corpus), so a hand split may ask for one. */
static void test_hand_split_zero(void **state)
{
	struct fixture *f = *state;

	long *seg = f->r->layout.segments.v;

	seg[2] += seg[1];
	seg[1] = 0;
	assert_int_equal(split_at(f, 2, 2), 0);
	assert_int_equal(f->l.stages[1].count, 0);
	assert_int_equal(f->l.stages[2].count, (int)seg[2]);
	assert_non_null(strstr(f->l.native_pattern, "||"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_split),
		cmocka_unit_test(test_exact_matches_brute_force),
		cmocka_unit_test(test_uniform_weights),
		cmocka_unit_test(test_too_few_layers),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_extreme_costs),
		cmocka_unit_test_setup_teardown(test_nam56r, setup_recipe,
						teardown_recipe),
		cmocka_unit_test_setup_teardown(test_nam56r_no_better_neighbour,
						setup_recipe, teardown_recipe),
		cmocka_unit_test_setup_teardown(test_nam56r_matches_brute_force,
						setup_recipe, teardown_recipe),
		cmocka_unit_test_setup_teardown(test_budget_phases,
						setup_recipe, teardown_recipe),
		cmocka_unit_test_setup_teardown(test_too_many_segments,
						setup_recipe, teardown_recipe),
		cmocka_unit_test_setup_teardown(test_mtp_with_r, setup_recipe,
						teardown_recipe),
		cmocka_unit_test_setup_teardown(test_mtp_with_bar, setup_recipe,
						teardown_recipe),
		cmocka_unit_test_setup_teardown(test_mtp_unknown_letter,
						setup_recipe, teardown_recipe),
		cmocka_unit_test_setup_teardown(test_mtp_empty, setup_recipe,
						teardown_recipe),
		cmocka_unit_test_setup_teardown(test_hand_split_used,
						setup_hand_ok, teardown_hand),
		cmocka_unit_test_setup_teardown(
			test_hand_split_count, setup_hand_count, teardown_hand),
		cmocka_unit_test_setup_teardown(test_hand_split_sum,
						setup_hand_sum, teardown_hand),
		cmocka_unit_test_setup_teardown(test_hand_split_zero,
						setup_hand_ok, teardown_hand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
