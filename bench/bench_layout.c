/* bench_layout: time the exact pipeline split (policy/layout.c).
 *
 *   bench/bench_layout [DEPTH...]
 *
 * For the built-in NAM56R recipe tiled to each depth (default 52 and
 * 1024), times the cost model and the split for every pp x vpp with
 * pp*vpp <= 64 that Megatron accepts (vpp > 1 needs pp > 1), and prints
 * one line per shape: the best of several runs, whether the search
 * finished (exact) or stopped at its work limit, the balanced and
 * equal-count imbalances, and the chosen split's most expensive and next
 * most expensive segment (virtual stage) over the mean segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/cost.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void print_diags(const struct n56_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char buf[512];

		n56_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(stderr, "bench_layout: %s\n", buf);
	}
}

/* The most expensive segment and the next one over the mean segment. */
static void segment_figures(const struct n56_split_problem *pb,
			    const int *sizes, double *top, double *next)
{
	int nseg = pb->pp * pb->vpp, at = 0;
	double sum = 0, t0 = 0, t1 = 0;

	for (int s = 0; s < nseg; s++) {
		double c = (s == 0 ? pb->first : 0) +
			   (s == nseg - 1 ? pb->last : 0);

		for (int i = at; i < at + sizes[s]; i++)
			c += pb->w[i];
		at += sizes[s];
		sum += c;
		if (c > t0) {
			t1 = t0;
			t0 = c;
		} else if (c > t1) {
			t1 = c;
		}
	}
	*top = sum > 0 ? t0 / (sum / nseg) : 1;
	*next = sum > 0 ? t1 / (sum / nseg) : 1;
}

/* One shape: returns 0, or -1 when the split failed. */
static int bench_shape(const struct n56_recipe *r, const struct n56_layout *l,
		       const struct n56_layer_costs *c, int pp, int vpp)
{
	struct n56_split_problem pb = {
		.w = c->flops,
		.n = c->depth,
		.first = c->first.flops,
		.last = c->last.flops,
		.pp = pp,
		.vpp = vpp,
	};
	int nseg = pp * vpp, *sizes = calloc((size_t)nseg, sizeof(int));
	int *eq = calloc((size_t)nseg, sizeof(int));
	double *stage = calloc((size_t)pp, sizeof(double));
	double best_t = 1e9, worst, sum = 0, bal, naive, top, next;
	bool exact = false;
	int runs = 0, rc = -1;

	(void)r;
	(void)l;
	if (!sizes || !eq || !stage)
		goto out;
	/* repeat until 0.2 s have passed (at least 3 runs, at most 50) */
	for (double t0 = now_s(); runs < 3 || (runs < 50 && now_s() - t0 < 0.2);
	     runs++) {
		double t = now_s();

		if (n56_split_balanced_ex(&pb, sizes, &exact) < 0)
			goto out;
		t = now_s() - t;
		if (t < best_t)
			best_t = t;
		if (!exact)
			break; /* a stopped search takes as long each time */
	}
	worst = n56_split_stage_costs(&pb, sizes, stage);
	for (int p = 0; p < pp; p++)
		sum += stage[p];
	bal = worst / (sum / pp);
	n56_split_equal(pb.n, nseg, eq);
	worst = n56_split_stage_costs(&pb, eq, stage);
	naive = worst / (sum / pp);
	segment_figures(&pb, sizes, &top, &next);
	printf("depth %4d pp %2d vpp %2d  split %10.3f ms  %s  balanced %.4f "
	       "naive %.4f  segments %.4f next %.4f\n",
	       pb.n, pp, vpp, best_t * 1e3, exact ? "exact  " : "LIMITED", bal,
	       naive, top, next);
	rc = 0;
out:
	free(sizes);
	free(eq);
	free(stage);
	return rc;
}

static int bench_depth(int depth)
{
	struct n56_recipe *r = NULL;
	struct n56_layout l = { 0 };
	struct n56_layer_costs c = { 0 };
	struct n56_diags d = { 0 };
	double t;
	int rc = -1;

	if (n56_recipe_builtin(&r, &d) < 0)
		goto out;
	r->model.depth.v = depth;
	if (n56_layout_tile(r, &l, &d) < 0)
		goto out;
	t = now_s();
	if (n56_layer_costs_build(r, &l, &c, &d) < 0)
		goto out;
	printf("depth %4d cost model %.3f ms\n", depth, (now_s() - t) * 1e3);
	for (int pp = 1; pp <= 64; pp *= 2)
		for (int vpp = 1; pp * vpp <= 64; vpp *= 2) {
			if (vpp > 1 && pp == 1)
				continue;
			if (pp * vpp > depth)
				continue;
			if (bench_shape(r, &l, &c, pp, vpp) < 0)
				goto out;
			fflush(stdout);
		}
	rc = 0;
out:
	print_diags(&d);
	n56_diags_free(&d);
	n56_layer_costs_free(&c);
	n56_layout_clear(&l);
	n56_recipe_free(r);
	return rc;
}

int main(int argc, char **argv)
{
	int depths[16] = { 52, 1024 }, n = 2;

	if (argc > 1) {
		n = 0;
		for (int i = 1; i < argc && n < 16; i++) {
			char *end;
			long v = strtol(argv[i], &end, 10);

			if (*end || v < 1 || v > 100000) {
				fprintf(stderr, "usage: bench_layout "
						"[DEPTH...]\n");
				return 2;
			}
			depths[n++] = (int)v;
		}
	}
	printf("work limit %lu search steps per split\n", n56_split_budget);
	for (int i = 0; i < n; i++)
		if (bench_depth(depths[i]) < 0)
			return 1;
	return 0;
}
