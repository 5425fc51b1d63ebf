/* bench_schedule: the split of least simulated iteration time
 * (policy/schedule.c) against today's stage-balanced split and the
 * equal-count split, and the time its search takes.
 *
 *   bench/bench_schedule figures   the NAM56R figures: pp 2 vpp 2, pp 4
 *                                  vpp 2, pp 2/4/8 vpp 1, each at m = pp,
 *                                  2pp, 4pp, 8pp microbatches
 *   bench/bench_schedule search [DEPTH...]
 *                                  the search at each depth (default 52
 *                                  and 1024), pp x vpp up to 64, m from pp
 *                                  (or 1) to 128
 *
 * The built-in NAM56R recipe (MTP 2), backward 2 x forward, no p2p
 * latency; each time is a ratio to the ideal, the total work over pp (no
 * bubble). Split time: one run (the search is deterministic), wall clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/cost.h"
#include "policy/schedule.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct model {
	struct n56_recipe *r;
	struct n56_layout l;
	struct n56_layer_costs c;
};

static int load(struct model *md, long depth)
{
	struct n56_diags d = { 0 };

	memset(md, 0, sizeof(*md));
	if (n56_recipe_builtin(&md->r, &d))
		goto bad;
	md->r->model.depth.v = depth;
	if (n56_layout_tile(md->r, &md->l, &d) ||
	    n56_layer_costs_build(md->r, &md->l, &md->c, &d))
		goto bad;
	return 0;
bad:
	for (size_t i = 0; i < d.n; i++) {
		char buf[512];

		n56_diag_format(&d.v[i], buf, sizeof(buf));
		fprintf(stderr, "bench_schedule: %s\n", buf);
	}
	n56_diags_free(&d);
	return -1;
}

static void unload(struct model *md)
{
	n56_layer_costs_free(&md->c);
	n56_layout_clear(&md->l);
	n56_recipe_free(md->r);
}

static double sim(const struct n56_sched_split *sp, const int *sizes)
{
	int S = sp->pp * sp->vpp;
	double fwd[S], bwd[S];
	struct n56_sched_problem pb = { sp->pp, sp->vpp, sp->m,	 sp->group,
					fwd,	bwd,	 sp->p2p };

	n56_sched_split_times(sp, sizes, fwd, bwd);
	return n56_sched_time(&pb, NULL);
}

struct row {
	double fresh, today, equal, ideal, secs;
	bool exact;
	unsigned long tried;
	char split[512];
};

/* One shape at m microbatches: -1 when Megatron refuses it. */
static int shape(const struct model *md, int pp, int vpp, long m,
		 struct row *out)
{
	int S = pp * vpp, sizes[S], eq[S];
	struct n56_split_problem pb = {
		.w = md->c.flops,
		.n = md->c.depth,
		.first = md->c.first.flops,
		.last = md->c.last.flops,
		.pp = pp,
		.vpp = vpp,
	};
	/* micro 4 x seq 4096 tokens at 400 TFLOP/s: seconds */
	struct n56_sched_split sp = {
		.w = md->c.flops,
		.n = md->c.depth,
		.first = md->c.first.flops,
		.last = md->c.last.flops,
		.pp = pp,
		.vpp = vpp,
		.m = m,
		.ratio = 2,
		.scale = 4.0 * 4096 / 400e12,
	};
	double total = md->c.first.flops + md->c.last.flops, t0;
	size_t at = 0;

	if (n56_sched_check(pp, vpp, m, 0, NULL, 0) || md->c.depth < S)
		return -1;
	for (int i = 0; i < md->c.depth; i++)
		total += md->c.flops[i];
	out->ideal = total * sp.scale * (double)m / pp;
	n56_split_equal(md->c.depth, S, eq);
	out->equal = sim(&sp, eq) / out->ideal;
	if (n56_split_balanced(&pb, sizes))
		return -1;
	out->today = sim(&sp, sizes) / out->ideal;
	t0 = now_s();
	out->fresh = n56_sched_split_best(&sp, sizes, &out->exact, &out->tried);
	out->secs = now_s() - t0;
	out->fresh /= out->ideal;
	out->split[0] = '\0';
	for (int s = 0; s < S && at < sizeof(out->split) - 8; s++)
		at += (size_t)snprintf(out->split + at, sizeof(out->split) - at,
				       "%s%d", s ? "," : "", sizes[s]);
	return 0;
}

static int figures(void)
{
	static const int shapes[][2] = {
		{ 2, 2 }, { 4, 2 }, { 2, 1 }, { 4, 1 }, { 8, 1 }
	};
	static const int mult[] = { 1, 2, 4, 8 };
	struct model md;

	if (load(&md, 52))
		return 1;
	printf("| pp | vpp | m | new split | today's split | equal-count | "
	       "search | new split's sizes |\n|---|---|---|---|---|---|---|"
	       "---|\n");
	for (size_t k = 0; k < 5; k++)
		for (size_t j = 0; j < 4; j++) {
			int pp = shapes[k][0], vpp = shapes[k][1];
			long m = (long)pp * mult[j];
			struct row r;

			if (shape(&md, pp, vpp, m, &r)) {
				printf("| %d | %d | %ld | refused by "
				       "Megatron's rules | | | | |\n",
				       pp, vpp, m);
				continue;
			}
			printf("| %d | %d | %ld | %.3f | %.3f | %.3f | %s "
			       "%.2g s | %s |\n",
			       pp, vpp, m, r.fresh, r.today, r.equal,
			       r.exact ? "exact" : "STOPPED", r.secs, r.split);
		}
	unload(&md);
	return 0;
}

static int search(int argc, char **argv)
{
	static const long ms[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
	long depths[16] = { 52, 1024 };
	int nd = 2;

	if (argc > 0) {
		nd = 0;
		for (int i = 0; i < argc && nd < 16; i++)
			depths[nd++] = strtol(argv[i], NULL, 10);
	}
	printf("| depth | pp x vpp | m | search time | exact | splits "
	       "simulated | new / ideal | today's / ideal |\n"
	       "|---|---|---|---|---|---|---|---|\n");
	for (int k = 0; k < nd; k++) {
		struct model md;

		if (load(&md, depths[k]))
			return 1;
		for (int pp = 1; pp <= 64; pp *= 2)
			for (int vpp = 1; pp * vpp <= 64; vpp *= 2) {
				if (vpp > 1 && pp < 2)
					break;
				for (size_t j = 0; j < 8; j++) {
					struct row r;

					if (ms[j] < pp && pp > 1)
						continue;
					if (shape(&md, pp, vpp, ms[j], &r))
						continue;
					printf("| %ld | %d x %d | %ld | %.3g s "
					       "| %s | %lu | %.3f | %.3f |\n",
					       depths[k], pp, vpp, ms[j],
					       r.secs, r.exact ? "yes" : "NO",
					       r.tried, r.fresh, r.today);
					fflush(stdout);
				}
			}
		unload(&md);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *budget = getenv("N56_SCHED_BUDGET");

	/* the plan's own limit unless asked for another, to see how far
	 * from exact a stopped search was */
	if (budget && *budget)
		n56_sched_split_budget = strtoul(budget, NULL, 10);
	if (argc >= 2 && !strcmp(argv[1], "figures"))
		return figures();
	if (argc >= 2 && !strcmp(argv[1], "search"))
		return search(argc - 2, argv + 2);
	fprintf(stderr, "usage: bench/bench_schedule figures | search "
			"[DEPTH...]\n");
	return 2;
}
