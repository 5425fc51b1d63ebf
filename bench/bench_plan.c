/* bench_plan: the whole placement table of a large job, streamed as the
 * plan's JSON placement rows to /dev/null. Shows that the plan is linear in
 * ranks and that streaming keeps memory flat (peak RSS).
 *
 *   bench/bench_plan [RANKS...]     (default 8192 32768 131072)
 *
 * Shape: 8 GPUs per node in one NVLink island (HGX), tp 8, ep 8, pp 4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "topology/placement.h"

#define REPEATS 5
#define GPUS 8

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One full plan: build the placer, then every row, as `plan --format
 * json` writes the placement array. */
static int plan_once(long ranks, FILE *out)
{
	struct n56_node_shape shape;
	struct n56_parallel par = {
		.tp = 8,
		.pp = 4,
		.vpp = 1,
		.ep = 8,
		.etp = 1,
		.cp = 1,
		.world = ranks,
	};
	struct n56_placer *pl = NULL;
	struct n56_place_report rep;
	char err[512];

	par.dp = ranks / (par.tp * par.cp * par.pp);
	n56_node_shape_assumed(&shape, GPUS);
	if (n56_placer_new(&par, &shape, ranks / GPUS, &pl, &rep, err,
			   sizeof(err)) < 0) {
		fprintf(stderr, "bench_plan: %s\n", err);
		return -1;
	}
	fputs("\"placement\":[", out);
	for (long r = 0; r < ranks; r++) {
		struct n56_rank_place p;

		n56_place_rank(pl, r, &p);
		fprintf(out,
			"%s{\"rank\":%ld,\"node\":%ld,\"local_rank\":%d,"
			"\"gpu\":%d,\"island\":%d,\"tp\":%ld,\"cp\":%ld,"
			"\"ep\":%ld,\"dp\":%ld,\"pp\":%ld}",
			r ? "," : "", p.rank, p.node, p.local_rank, p.gpu,
			p.island, p.tp, p.cp, p.ep, p.dp, p.pp);
	}
	fputs("]\n", out);
	n56_placer_free(pl);
	return fflush(out) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const long defaults[] = { 8192, 32768, 131072 };
	long ranks[16];
	double per_rank[16];
	int n = 0;
	FILE *out = fopen("/dev/null", "w");
	struct rusage ru;

	if (!out) {
		perror("bench_plan: /dev/null");
		return 1;
	}
	for (int i = 1; i < argc && n < 16; i++) {
		ranks[n] = strtol(argv[i], NULL, 10);
		if (ranks[n] < 32 || ranks[n] % 32) {
			fprintf(stderr,
				"bench_plan: %s: ranks must be a "
				"multiple of 32 (tp 8 x pp 4)\n",
				argv[i]);
			return 2;
		}
		n++;
	}
	if (n == 0)
		for (; n < 3; n++)
			ranks[n] = defaults[n];

	printf("%10s %8s %12s %12s %10s\n", "ranks", "nodes", "median_ms",
	       "ns_per_rank", "vs_first");
	for (int i = 0; i < n; i++) {
		double t[REPEATS];

		for (int k = 0; k < REPEATS; k++) {
			double t0 = now_s();

			if (plan_once(ranks[i], out) < 0)
				return 1;
			t[k] = now_s() - t0;
		}
		qsort(t, REPEATS, sizeof(t[0]), cmp_double);
		per_rank[i] = t[REPEATS / 2] / (double)ranks[i];
		printf("%10ld %8ld %12.3f %12.1f %10.2f\n", ranks[i],
		       ranks[i] / GPUS, t[REPEATS / 2] * 1e3, per_rank[i] * 1e9,
		       per_rank[i] / per_rank[0]);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %ld KiB (all sizes, JSON streamed to /dev/null, "
	       "median of %d)\n",
	       ru.ru_maxrss, REPEATS);
	fclose(out);
	return 0;
}
