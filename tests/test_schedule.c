/* Unit tests of the schedule model (policy/schedule.c): the textbook
 * iterations for equal chunks, Megatron's warm-up counts and schedule
 * table, its rules on m and the group size, in-flight microbatches and
 * idle time, and the split search against brute force. */
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
#include "policy/schedule.h"

static double run(int pp, int vpp, long m, long group, double f, double b,
		  double p2p, struct n56_sched_result *res, bool ops)
{
	int S = pp * vpp;
	double fwd[S], bwd[S];
	struct n56_sched_problem pb = { pp, vpp, m, group, fwd, bwd, p2p };
	char err[256] = "";

	for (int s = 0; s < S; s++) {
		fwd[s] = f;
		bwd[s] = b;
	}
	if (n56_sched_simulate(&pb, res, ops, err, sizeof(err))) {
		print_message("pp %d vpp %d m %ld: %s\n", pp, vpp, m, err);
		fail();
	}
	return res->time;
}

static void assert_close(double got, double want)
{
	if (fabs(got - want) > 1e-9 * (fabs(want) + 1)) {
		print_message("got %.12g, want %.12g\n", got, want);
		fail();
	}
}

/* 1F1B: (m + p - 1)(f + b), every rank idle (p - 1)(f + b), rank r with
 * min(p - r, m) microbatches in flight. */
static void test_1f1b_textbook(void **state)
{
	static const int pps[] = { 1, 2, 3, 4, 8 };
	static const long ms[] = { 1, 2, 3, 4, 7, 8, 16, 32 };
	static const double ratios[] = { 1, 2, 2.5, 3 };

	(void)state;
	for (size_t a = 0; a < 5; a++)
		for (size_t c = 0; c < 8; c++)
			for (size_t k = 0; k < 4; k++) {
				struct n56_sched_result res;
				int p = pps[a];
				long m = ms[c];
				double f = 1.5, b = f * ratios[k];

				run(p, 1, m, 0, f, b, 0, &res, false);
				assert_close(res.time, (m + p - 1) * (f + b));
				assert_close(res.work, p * m * (f + b));
				for (int r = 0; r < p; r++) {
					long want = p - r < m ? p - r : m;

					assert_close(res.idle[r],
						     (p - 1) * (f + b));
					assert_int_equal(res.peak_inflight[r],
							 want);
				}
				n56_sched_result_free(&res);
			}
}

/* Interleaved, equal chunks, group = pp dividing m: a rank's forward is
 * vpp f, so (m + (p - 1) / v)(v f + v b) = (m v + p - 1)(f + b). */
static void test_interleaved_textbook(void **state)
{
	static const int pps[] = { 2, 3, 4, 8 };
	static const int vpps[] = { 2, 3, 4 };
	static const long mult[] = { 1, 2, 3, 8 };
	static const double ratios[] = { 1, 2, 3 };

	(void)state;
	for (size_t a = 0; a < 4; a++)
		for (size_t v = 0; v < 3; v++)
			for (size_t c = 0; c < 4; c++)
				for (size_t k = 0; k < 3; k++) {
					struct n56_sched_result res;
					int p = pps[a], vp = vpps[v];
					long m = p * mult[c];
					double f = 0.5, b = f * ratios[k];
					double ideal =
						(double)(m * vp + p - 1) *
						(f + b);

					run(p, vp, m, 0, f, b, 0, &res, false);
					assert_close(res.time, ideal);
					for (int r = 0; r < p; r++)
						assert_close(res.idle[r],
							     (p - 1) * (f + b));
					n56_sched_result_free(&res);
				}
}

/* A p2p latency l on every hand-off: 1F1B with one microbatch crosses
 * 2 (p - 1) hand-offs. */
static void test_p2p_latency(void **state)
{
	struct n56_sched_result res;

	(void)state;
	run(4, 1, 1, 0, 1, 2, 0.25, &res, false);
	assert_close(res.time, 4 * 3 + 6 * 0.25);
	n56_sched_result_free(&res);
	/* pp 1 has no hand-off */
	run(1, 1, 3, 0, 1, 2, 5, &res, false);
	assert_close(res.time, 9);
	n56_sched_result_free(&res);
}

/* get_pp_rank_microbatches: 2 (p - r - 1) + (v - 1) group, capped at
 * m v; vpp 1: p - r - 1, capped at m. */
static void test_warmup_counts(void **state)
{
	(void)state;
	assert_int_equal(n56_sched_warmup(4, 1, 8, 0, 0), 3);
	assert_int_equal(n56_sched_warmup(4, 1, 8, 0, 3), 0);
	assert_int_equal(n56_sched_warmup(4, 1, 2, 0, 0), 2);
	assert_int_equal(n56_sched_warmup(4, 2, 8, 0, 0), 10);
	assert_int_equal(n56_sched_warmup(4, 2, 8, 0, 1), 8);
	assert_int_equal(n56_sched_warmup(4, 2, 8, 0, 3), 4);
	assert_int_equal(n56_sched_warmup(4, 2, 8, 6, 3), 6);
	assert_int_equal(n56_sched_warmup(2, 4, 2, 0, 0), 8); /* all */
	assert_int_equal(n56_sched_warmup(1, 1, 8, 0, 0), 0);
}

/* The table in schedules.py's comment: PP2 N3 M5 with VP2, microbatch
 * 0 1 2 0 1 2 3 4 3 4, chunk 0 0 0 1 1 1 0 0 1 1. Rank 0's forwards in
 * order follow it, its backwards follow it with the chunks reversed. */
static void test_schedule_table(void **state)
{
	static const long mb[] = { 0, 1, 2, 0, 1, 2, 3, 4, 3, 4 };
	static const int ch[] = { 0, 0, 0, 1, 1, 1, 0, 0, 1, 1 };
	struct n56_sched_result res;
	int nf = 0, nb = 0;

	(void)state;
	run(2, 2, 5, 3, 1, 2, 0, &res, true);
	assert_int_equal(res.nops, 2 * 2 * 5 * 2);
	for (size_t i = 0; i < 20; i++) {
		const struct n56_sched_op *o = &res.ops[i];

		assert_int_equal(o->rank, 0);
		if (!o->backward) {
			assert_int_equal(o->mb, mb[nf]);
			assert_int_equal(o->chunk, ch[nf]);
			nf++;
		} else {
			assert_int_equal(o->mb, mb[nb]);
			assert_int_equal(o->chunk, 1 - ch[nb]);
			nb++;
		}
	}
	/* warm-up 2 (2 - 0 - 1) + 1 x 3 = 5 forwards, then pairs */
	assert_int_equal(res.warmup[0], 5);
	for (int i = 0; i < 5; i++)
		assert_false(res.ops[i].backward);
	assert_false(res.ops[5].backward);
	assert_true(res.ops[6].backward);
	/* in flight: the warm-up and the first steady forward */
	assert_int_equal(res.peak_inflight[0], 6);
	assert_int_equal(res.peak_inflight[1], 4);
	n56_sched_result_free(&res);
}

/* schedules.py lines 1160-1180: the group lies in [pp, m], and the last
 * group is whole or at least pp. */
static void test_megatron_rules(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(n56_sched_check(4, 2, 8, 0, err, sizeof(err)), 0);
	assert_int_equal(n56_sched_check(4, 2, 10, 6, err, sizeof(err)), 0);
	assert_int_equal(n56_sched_check(4, 1, 3, 0, err, sizeof(err)), 0);
	assert_int_equal(n56_sched_check(4, 2, 2, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "the interleaved schedule needs a microbatch "
				 "group of pp 4 to m 2 microbatches, not 4");
	assert_int_equal(n56_sched_check(4, 2, 8, 3, err, sizeof(err)), -1);
	assert_string_equal(err, "the interleaved schedule needs a microbatch "
				 "group of pp 4 to m 8 microbatches, not 3");
	assert_int_equal(n56_sched_check(4, 2, 10, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "10 microbatches leave a last group of 2, "
				 "fewer than pp 4: Megatron's interleaved "
				 "schedule refuses it");
	assert_int_equal(n56_sched_check(1, 2, 8, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "vpp 2 needs a pipeline: Megatron interleaves "
				 "chunks only with pp 2 or more");
	assert_int_equal(n56_sched_check(2, 1, 0, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "0 microbatches: an iteration needs at least "
				 "one");
	/* the simulation refuses what the rules refuse */
	{
		double t[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
		struct n56_sched_problem pb = { 4, 2, 10, 0, t, t, 0 };
		struct n56_sched_result res;

		assert_int_equal(
			n56_sched_simulate(&pb, &res, false, err, sizeof(err)),
			-1);
		assert_null(res.idle);
		assert_true(n56_sched_time(&pb, NULL) < 0);
		/* past the ops the model simulates: refused, no allocation */
		pb = (struct n56_sched_problem){ 2, 2, (1L << 20) + 2, 0, t,
						 t, 0 };
		assert_int_equal(
			n56_sched_simulate(&pb, &res, false, err, sizeof(err)),
			-1);
		assert_string_equal(err, "1048578 microbatches x pp 2 x vpp 2: "
					 "more than the 4194304 ops the model "
					 "simulates");
	}
}

/* Uneven chunks: the slowest stage paces 1F1B. Stage times 1+2, 3+6,
 * 1+2 with m 4: fill/drain of the first, then 4 x 9 on the middle one,
 * then the last stage's share: checked against a hand count. */
static void test_uneven_chunks(void **state)
{
	double f[3] = { 1, 3, 1 }, b[3] = { 2, 6, 2 };
	struct n56_sched_problem pb = { 3, 1, 4, 0, f, b, 0 };
	struct n56_sched_result res;
	char err[128];

	(void)state;
	assert_int_equal(n56_sched_simulate(&pb, &res, false, err, sizeof(err)),
			 0);
	/* F0 on rank 0 [0,1]; rank 1 runs 4 F + 4 B = 36 from t = 1, its
	 * last B needs B(3) of rank 2 (2 after F(3) there); it then hands
	 * back to rank 0 for a last B of 2: at least 1 + 36 + 2 */
	assert_true(res.time >= 39 - 1e-9);
	assert_close(res.time, n56_sched_time(&pb, NULL));
	assert_close(res.idle[1], res.time - 36);
	n56_sched_result_free(&res);
}

/* ---- the split ---- */

static double split_time(const struct n56_sched_split *sp, const int *sizes)
{
	int S = sp->pp * sp->vpp;
	double fwd[S], bwd[S];
	struct n56_sched_problem pb = { sp->pp, sp->vpp, sp->m,	 sp->group,
					fwd,	bwd,	 sp->p2p };

	n56_sched_split_times(sp, sizes, fwd, bwd);
	return n56_sched_time(&pb, NULL);
}

/* Every composition of n into S parts, the least time. */
static double brute(const struct n56_sched_split *sp, int *sizes, int s,
		    int left, double best)
{
	int S = sp->pp * sp->vpp;

	if (s == S - 1) {
		double t;

		sizes[s] = left;
		t = split_time(sp, sizes);
		return t < best ? t : best;
	}
	for (int k = 1; k <= left - (S - 1 - s); k++) {
		sizes[s] = k;
		best = brute(sp, sizes, s + 1, left - k, best);
	}
	return best;
}

static void test_split_vs_brute_force(void **state)
{
	static const int shapes[][3] = {
		/* pp, vpp, m */
		{ 2, 1, 4 }, { 3, 1, 6 }, { 2, 2, 4 }, { 2, 2, 6 },
		{ 3, 2, 3 }, { 4, 1, 4 }, { 2, 3, 2 },
	};
	unsigned seed = 12345;

	(void)state;
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
		for (int trial = 0; trial < 6; trial++) {
			int pp = shapes[k][0], vpp = shapes[k][1], n = 11;
			int S = pp * vpp, sizes[S], scratch[S];
			double w[n], got, want;
			struct n56_sched_split sp = {
				.w = w,
				.n = n,
				.pp = pp,
				.vpp = vpp,
				.m = shapes[k][2],
				.ratio = 1 + trial % 3,
				.scale = 0.001,
				.p2p = trial % 2 ? 0.3 : 0,
			};
			bool exact;
			unsigned long tried;

			for (int i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				w[i] = 100 + (seed >> 16) % 900;
			}
			sp.first = trial * 50;
			sp.last = trial * 400;
			for (int s = 0; s < S; s++)
				sizes[s] = s < S - 1 ? 1 : n - (S - 1);
			got = n56_sched_split_best(&sp, sizes, &exact, &tried);
			want = brute(&sp, scratch, 0, n, INFINITY);
			assert_true(exact);
			assert_true(tried > 0);
			assert_close(got, want);
			assert_close(split_time(&sp, sizes), got);
		}
}

/* A tie keeps the incumbent: a free middle layer gives {1, 2} and
 * {2, 1} the same stages. */
static void test_split_tie_keeps_incumbent(void **state)
{
	double w[3] = { 2, 0, 2 };
	struct n56_sched_split sp = { .w = w,
				      .n = 3,
				      .pp = 2,
				      .vpp = 1,
				      .m = 4,
				      .ratio = 2,
				      .scale = 1 };
	int a[2] = { 1, 2 }, b[2] = { 2, 1 };
	bool exact;

	(void)state;
	assert_close(n56_sched_split_best(&sp, a, &exact, NULL), 5 * 2);
	assert_true(exact);
	assert_int_equal(a[0], 1);
	assert_close(n56_sched_split_best(&sp, b, &exact, NULL), 5 * 2);
	assert_int_equal(b[0], 2);
}

/* At its work limit the search says so and keeps the best found. */
static void test_split_budget(void **state)
{
	double w[40];
	int sizes[8];
	struct n56_sched_split sp = { .w = w,
				      .n = 40,
				      .pp = 4,
				      .vpp = 2,
				      .m = 8,
				      .ratio = 2,
				      .scale = 1 };
	unsigned long saved = n56_sched_split_budget;
	double t0, t;
	bool exact = true;

	(void)state;
	for (int i = 0; i < 40; i++)
		w[i] = 1 + (i * 7) % 5;
	for (int s = 0; s < 8; s++)
		sizes[s] = 5;
	t0 = split_time(&sp, sizes);
	n56_sched_split_budget = 50;
	t = n56_sched_split_best(&sp, sizes, &exact, NULL);
	n56_sched_split_budget = saved;
	assert_false(exact);
	assert_true(t > 0 && t <= t0);
	assert_close(split_time(&sp, sizes), t);
}

static void test_split_bad_input(void **state)
{
	double w[3] = { 1, 1, 1 };
	int sizes[2] = { 1, 1 };
	struct n56_sched_split sp = { .w = w,
				      .n = 3,
				      .pp = 2,
				      .vpp = 1,
				      .m = 2,
				      .ratio = 2,
				      .scale = 1 };
	bool exact = true;

	(void)state;
	/* sizes do not add up to n */
	assert_true(n56_sched_split_best(&sp, sizes, &exact, NULL) < 0);
	assert_false(exact);
	sizes[1] = 2;
	sp.ratio = 0;
	assert_true(n56_sched_split_best(&sp, sizes, &exact, NULL) < 0);
	sp.ratio = 2;
	sp.vpp = 2; /* 4 segments of 3 layers */
	assert_true(n56_sched_split_best(&sp, sizes, &exact, NULL) < 0);
}

/* ---- the layout's schedule (policy/layout_schedule.c) ---- */

struct lfix {
	struct n56_recipe *r;
	struct n56_parallel par;
	struct n56_layer_costs c;
	double w[8];
	struct n56_layout_schedule out;
	struct n56_diags d;
};

static int lsetup(void **state)
{
	struct lfix *f = calloc(1, sizeof(*f));

	if (!f || n56_recipe_builtin(&f->r, &f->d))
		return -1;
	/* 8 equal layers, no ends; 4 microbatches at pp 2 */
	for (int i = 0; i < 8; i++)
		f->w[i] = 3e9;
	f->c = (struct n56_layer_costs){ .depth = 8, .flops = f->w };
	f->par = (struct n56_parallel){ .tp = 2,
					.pp = 2,
					.vpp = 1,
					.cp = 1,
					.ep = 1,
					.etp = 1,
					.dp = 4,
					.world = 16 };
	f->r->batch.global_batch_size.v = 64;
	f->r->batch.micro_batch_size.v = 4;
	f->r->batch.seq_length.v = 1000;
	*state = f;
	return 0;
}

static int lteardown(void **state)
{
	struct lfix *f = *state;

	n56_layout_schedule_clear(&f->out);
	n56_diags_free(&f->d);
	n56_recipe_free(f->r);
	free(f);
	return 0;
}

static void set_num(struct n56_num *n, const char *text, double v, int line)
{
	n->text = (char *)text;
	n->v = v;
	n->pos = (struct n56_pos){ line, 3 };
}

/* Units: a layer of 3e9 FLOPs per token x 4000 tokens over tp 2 at 400
 * TFLOP/s is 15 ms (5 forward, 10 backward); 4 layers a stage, 1F1B. */
static void test_layout_units(void **state)
{
	struct lfix *f = *state;
	int sizes[2] = { 4, 4 };

	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, sizes, false,
					     &f->out, &f->d),
			 0);
	assert_true(f->out.simulated);
	assert_int_equal(f->out.microbatches, 4);
	assert_close(f->out.time_s, (4 + 2 - 1) * 4 * 0.015);
	assert_close(f->out.ideal_s, 4 * 4 * 0.015);
	assert_close(f->out.equal_s, f->out.time_s);
	assert_true(f->out.exact);
	assert_int_equal(sizes[0], 4);
	assert_close(f->out.idle_s[0], 0.06);
	assert_int_equal(f->out.peak_inflight[0], 2);
	/* a ratio of 3 and 100 us per hand-off, 2 TFLOP/s: 3 s a layer */
	set_num(&f->r->layout.backward_ratio, "3", 3, 1);
	set_num(&f->r->layout.p2p_latency_us, "100", 100, 2);
	set_num(&f->r->layout.gpu_tflops, "2", 2, 3);
	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, sizes, false,
					     &f->out, &f->d),
			 0);
	{
		struct n56_sched_result res;

		run(2, 1, 4, 0, 4 * 0.75, 4 * 2.25, 100e-6, &res, false);
		assert_close(f->out.time_s, res.time);
		assert_true(res.time > 5 * 4 * 3.0);
		n56_sched_result_free(&res);
	}
	memset(&f->r->layout.backward_ratio, 0, sizeof(struct n56_num));
	memset(&f->r->layout.p2p_latency_us, 0, sizeof(struct n56_num));
	memset(&f->r->layout.gpu_tflops, 0, sizeof(struct n56_num));
}

/* A hand split is kept and timed; the search moves an uneven one. */
static void test_layout_hand_split(void **state)
{
	struct lfix *f = *state;
	int hand[2] = { 6, 2 }, free_split[2] = { 6, 2 };

	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, hand, true,
					     &f->out, &f->d),
			 0);
	assert_int_equal(hand[0], 6);
	/* the first stage paces it: rank 1 runs inside its gaps */
	assert_close(f->out.time_s, 4 * 6 * 0.015);
	assert_close(f->out.balanced_s, f->out.time_s);
	assert_null(f->out.balanced_sizes);
	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, free_split,
					     false, &f->out, &f->d),
			 0);
	assert_int_equal(free_split[0], 4);
	assert_int_equal(f->out.balanced_sizes[0], 6);
	assert_close(f->out.balanced_s, 4 * 6 * 0.015);
	assert_close(f->out.time_s, 5 * 4 * 0.015);
}

/* What cannot be simulated is said, not reported twice: the batch and
 * the interleaving rules are the validation's. */
static void test_layout_not_simulated(void **state)
{
	struct lfix *f = *state;
	int sizes[4] = { 2, 2, 2, 2 };

	f->r->batch.global_batch_size.v = 60;
	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, sizes, false,
					     &f->out, &f->d),
			 0);
	assert_false(f->out.simulated);
	assert_string_equal(f->out.why,
			    "global batch 60 is not a whole number of micro "
			    "batches 4 x data parallel 4");
	f->r->batch.global_batch_size.v = 16; /* m = 1 */
	f->par.vpp = 2;
	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, sizes, false,
					     &f->out, &f->d),
			 0);
	assert_false(f->out.simulated);
	assert_string_equal(f->out.why,
			    "the interleaved schedule needs a microbatch "
			    "group of pp 2 to m 1 microbatches, not 2");
	assert_int_equal((int)f->d.n, 0);
}

static void test_layout_bad_keys(void **state)
{
	struct lfix *f = *state;
	int sizes[2] = { 4, 4 };
	char buf[3][256];

	set_num(&f->r->layout.backward_ratio, "0", 0, 7);
	set_num(&f->r->layout.gpu_tflops, "0.0", 0, 8);
	set_num(&f->r->layout.p2p_latency_us, "inf", INFINITY, 9);
	assert_int_equal(n56_layout_schedule(f->r, &f->par, &f->c, sizes, false,
					     &f->out, &f->d),
			 -1);
	assert_int_equal((int)f->d.n, 3);
	for (int i = 0; i < 3; i++)
		n56_diag_format(&f->d.v[i], buf[i], sizeof(buf[i]));
	assert_string_equal(buf[0], "builtin:7:3: layout.backward_ratio is 0: "
				    "give a positive number, the backward "
				    "time over the forward time (e.g. 2)");
	assert_string_equal(buf[1], "builtin:8:3: layout.gpu_tflops is 0.0: "
				    "give a positive number, the TFLOP/s one "
				    "GPU achieves");
	assert_string_equal(buf[2], "builtin:9:3: layout.p2p_latency_us is "
				    "inf: give a number of microseconds, 0 or "
				    "more");
	assert_false(f->out.simulated);
	memset(&f->r->layout.backward_ratio, 0, sizeof(struct n56_num));
	memset(&f->r->layout.p2p_latency_us, 0, sizeof(struct n56_num));
	memset(&f->r->layout.gpu_tflops, 0, sizeof(struct n56_num));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1f1b_textbook),
		cmocka_unit_test(test_interleaved_textbook),
		cmocka_unit_test(test_p2p_latency),
		cmocka_unit_test(test_warmup_counts),
		cmocka_unit_test(test_schedule_table),
		cmocka_unit_test(test_megatron_rules),
		cmocka_unit_test(test_uneven_chunks),
		cmocka_unit_test(test_split_vs_brute_force),
		cmocka_unit_test(test_split_tie_keeps_incumbent),
		cmocka_unit_test(test_split_budget),
		cmocka_unit_test(test_split_bad_input),
		cmocka_unit_test_setup_teardown(test_layout_units, lsetup,
						lteardown),
		cmocka_unit_test_setup_teardown(test_layout_hand_split, lsetup,
						lteardown),
		cmocka_unit_test_setup_teardown(test_layout_not_simulated,
						lsetup, lteardown),
		cmocka_unit_test_setup_teardown(test_layout_bad_keys, lsetup,
						lteardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
