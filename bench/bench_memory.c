/* bench_memory: time the per-rank memory model (policy/memory.c) on the
 * built-in NAM56R recipe planned for 16,384 nodes x 8 GPUs = 131,072 ranks.
 *
 *   bench/bench_memory [PP VPP]...
 *
 * For each pp x vpp (default 2x2, the recipe's; 8x2; 16x1; 32x1), builds
 * the plan once, then times n56_memory_build alone (the model is one entry
 * per pipeline rank: its cost does not grow with dp) and the refusal path
 * (n56_memory_fixes, which rebuilds the model for each candidate change,
 * including a new split for twice the pp; the global batch is 2 pp
 * microbatches per pipeline), and prints the best and the
 * median of the runs in microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/memory.h"

#define NODES 16384L
#define GPUS 8L
#define RUNS 41

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Replaces the one occurrence of old in s (a malloc'd string). */
static char *replace(char *s, const char *old, const char *new)
{
	char *at = s ? strstr(s, old) : NULL, *out;
	size_t n;

	if (!at) {
		free(s);
		return NULL;
	}
	n = strlen(s) - strlen(old) + strlen(new) + 1;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%.*s%s%s", (int)(at - s), s, new,
			 at + strlen(old));
	free(s);
	return out;
}

/* The built-in recipe with pp and vpp, and a global batch of 2 pp
 * microbatches per pipeline (micro batch 4). */
static char *recipe_text(long pp, long vpp)
{
	char line[64], gbs[64];
	long dp = NODES * GPUS / pp;

	snprintf(line, sizeof(line), "  pp: %ld\n  vpp: %ld\n", pp, vpp);
	snprintf(gbs, sizeof(gbs), "global_batch_size: %ld", 4 * dp * 2 * pp);
	return replace(replace(strdup(n56_builtin_recipe_yaml),
			       "  pp: 2\n  vpp: 2\n", line),
		       "global_batch_size: 64", gbs);
}

static int bench(long pp, long vpp)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r = NULL;
	struct n56_policy *p = n56_policy_empty();
	struct n56_plan *plan = NULL;
	struct n56_plan_request req = { NODES, GPUS };
	struct n56_mem_capacity_in cap = { 80e9, NULL };
	char *y = recipe_text(pp, vpp), fixes[6][160];
	double t[RUNS], f[RUNS];
	size_t nf = 0;
	int rc = -1;

	if (!y || !p || n56_recipe_parse("builtin", y, strlen(y), &r, &d) ||
	    n56_plan_build(r, p, &req, &plan, &d)) {
		for (size_t i = 0; i < d.n; i++) {
			char buf[1024];

			n56_diag_format(&d.v[i], buf, sizeof(buf));
			fprintf(stderr, "bench_memory: pp %ld vpp %ld: %s\n",
				pp, vpp, buf);
		}
		goto out;
	}
	for (int i = 0; i < RUNS; i++) {
		struct n56_memory m;
		double t0 = now_us();

		if (n56_memory_build(r, p, &plan->par, &plan->layout, &cap, &m,
				     &d))
			goto out;
		t[i] = now_us() - t0;
		n56_memory_clear(&m);
		t0 = now_us();
		nf = n56_memory_fixes(r, p, &req, &plan->par, &plan->layout,
				      &cap, fixes, 6);
		f[i] = now_us() - t0;
	}
	qsort(t, RUNS, sizeof(double), cmp);
	qsort(f, RUNS, sizeof(double), cmp);
	printf("world %ld pp %-3ld vpp %-2ld dp %-6ld model best %8.1f us "
	       "median %8.1f us | refusal fixes (%zu found) best %8.1f us "
	       "median %8.1f us\n",
	       plan->par.world, pp, vpp, plan->par.dp, t[0], t[RUNS / 2], nf,
	       f[0], f[RUNS / 2]);
	rc = 0;
out:
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
	free(y);
	return rc;
}

int main(int argc, char **argv)
{
	static const long dflt[][2] = {
		{ 2, 2 }, { 8, 2 }, { 16, 1 }, { 32, 1 }
	};
	int bad = 0;

	if (argc > 1 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: bench_memory [PP VPP]...\n");
		return 0;
	}
	if (argc > 1) {
		for (int i = 1; i + 1 < argc; i += 2)
			bad |= bench(atol(argv[i]), atol(argv[i + 1]));
	} else {
		for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
			bad |= bench(dflt[i][0], dflt[i][1]);
	}
	return bad ? 1 : 0;
}
