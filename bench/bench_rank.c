/* bench_rank: what one task pays for its own placement, as the plugin's
 * task_init does it: build the placer (O(GPUs per node)), place one rank
 * (O(1)), and build its environment. Checks that none of it allocates in
 * proportion to the world size (malloc'd bytes via mallinfo2).
 *
 *   bench/bench_rank            (exit 1 if an allocation grows with world) */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topology/placement.h"
#include "topology/rankenv.h"

#define REPEATS 5
#define CALLS 2000000L
#define GPUS 8

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
	return t[n / 2];
}

static struct n56_parallel par_for(long world)
{
	struct n56_parallel par = {
		.tp = 8,
		.pp = 4,
		.vpp = 1,
		.ep = 8,
		.etp = 1,
		.cp = 1,
		.world = world,
	};

	par.dp = world / (par.tp * par.cp * par.pp);
	return par;
}

static struct n56_placer *placer_for(long world)
{
	struct n56_node_shape shape;
	struct n56_parallel par = par_for(world);
	struct n56_placer *pl = NULL;
	char err[512];

	n56_node_shape_assumed(&shape, GPUS);
	if (n56_placer_new(&par, &shape, world / GPUS, &pl, NULL, err,
			   sizeof(err)) < 0)
		fprintf(stderr, "bench_rank: %s\n", err);
	return pl;
}

/* Bytes still allocated after placing, and after building one rank's env,
 * for a job of `world` ranks. */
static int heap_use(long world, size_t *placer_bytes, size_t *env_bytes,
		    size_t *place_bytes)
{
	struct n56_plan plan;
	struct n56_env env = { 0 };
	struct n56_rank_place p;
	size_t base, after;
	struct n56_placer *pl;
	char err[256];

	memset(&plan, 0, sizeof(plan));
	plan.par = par_for(world);
	memset(plan.plan_sha256_hex, 'a', 64);
	base = mallinfo2().uordblks;
	pl = placer_for(world);
	if (!pl)
		return -1;
	after = mallinfo2().uordblks;
	*placer_bytes = after - base;
	for (long r = 0; r < world; r += 997)
		n56_place_rank(pl, r, &p);
	*place_bytes = mallinfo2().uordblks - after;
	if (n56_rank_env(&plan, pl, world - 1, "n00001", 29500, NULL, &env, err,
			 sizeof(err)) < 0) {
		fprintf(stderr, "bench_rank: %s\n", err);
		n56_placer_free(pl);
		return -1;
	}
	*env_bytes = mallinfo2().uordblks - after;
	n56_env_clear(&env);
	n56_placer_free(pl);
	return 0;
}

int main(void)
{
	static const long worlds[] = { 32, 131072 };
	size_t placer_b[2], env_b[2], place_b[2];
	double t[REPEATS], t_new[REPEATS], t_env[REPEATS];
	struct n56_placer *pl = placer_for(131072);
	struct n56_plan plan;
	long sink = 0;
	int rc = 0;

	if (!pl)
		return 1;
	/* n56_place_rank on random ranks of a 131,072-rank job. */
	for (int k = 0; k < REPEATS; k++) {
		unsigned long x = 12345 + (unsigned long)k;
		double t0 = now_ns();

		for (long i = 0; i < CALLS; i++) {
			struct n56_rank_place p;

			x = x * 6364136223846793005UL + 1442695040888963407UL;
			n56_place_rank(pl, (long)((x >> 33) % 131072), &p);
			sink += p.gpu + p.pp + p.dp;
		}
		t[k] = (now_ns() - t0) / CALLS;
	}
	/* What task_init pays: a fresh placer and one rank's env. */
	memset(&plan, 0, sizeof(plan));
	plan.par = par_for(131072);
	memset(plan.plan_sha256_hex, 'a', 64);
	for (int k = 0; k < REPEATS; k++) {
		double t0 = now_ns(), t1;

		for (int i = 0; i < 10000; i++) {
			struct n56_placer *q = placer_for(131072);
			struct n56_rank_place p;

			n56_place_rank(q, 131071 - i, &p);
			sink += p.gpu;
			n56_placer_free(q);
		}
		t1 = now_ns();
		t_new[k] = (t1 - t0) / 10000;
		for (int i = 0; i < 10000; i++) {
			struct n56_env env;
			char err[256];

			if (n56_rank_env(&plan, pl, 131071 - i, "n00001", 29500,
					 "mlx5_0", &env, err,
					 sizeof(err)) < 0) {
				fprintf(stderr, "bench_rank: %s\n", err);
				return 1;
			}
			sink += (long)env.n;
			n56_env_clear(&env);
		}
		t_env[k] = (now_ns() - t1) / 10000;
	}
	n56_placer_free(pl);

	printf("n56_place_rank, 131072-rank job: %.1f ns per call (median of "
	       "%d x %ld calls)\n",
	       median(t, REPEATS), REPEATS, CALLS);
	printf("placer_new + place_rank + free (task_init path): %.1f ns "
	       "(median of %d x 10000)\n",
	       median(t_new, REPEATS), REPEATS);
	printf("n56_rank_env + n56_env_clear: %.1f ns (median of %d x "
	       "10000)\n",
	       median(t_env, REPEATS), REPEATS);

	for (int i = 0; i < 2; i++) {
		if (heap_use(worlds[i], &placer_b[i], &env_b[i], &place_b[i]) <
		    0)
			return 1;
		printf("world %6ld: placer %zu bytes, place_rank %zu bytes, "
		       "one rank env %zu bytes\n",
		       worlds[i], placer_b[i], place_b[i], env_b[i]);
	}
	if (placer_b[0] == 0) {
		/* ASan and friends bring their own malloc. */
		printf("SKIP: mallinfo2 sees no allocations (another malloc "
		       "is in use); the allocation check needs glibc's\n");
	} else if (placer_b[0] != placer_b[1] || place_b[0] || place_b[1]) {
		printf("FAIL: an allocation grows with the world size\n");
		rc = 1;
	} else {
		printf("ok: no allocation grows with the world size\n");
	}
	/* The rank env holds decimal strings: a longer rank number may cost
	 * a malloc size class more, never an amount per rank. */
	if (env_b[1] > env_b[0] + 256) {
		printf("FAIL: the rank env grows with the world size\n");
		rc = 1;
	}
	if (sink == 42)
		printf("(checksum)\n"); /* keeps the calls from being elided */
	return rc;
}
