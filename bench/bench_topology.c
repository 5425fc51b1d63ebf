/* bench_topology: live topology discovery (hwloc with I/O, OpenCL/GL
 * excluded, NVML when present) against reading the node cache back.
 *   bench/bench_topology [RUNS] [CACHE-PATH]
 * Prints the median and the spread of each, in milliseconds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "topology/topology.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%-12s median %8.3f ms  min %8.3f  max %8.3f  (%d runs)\n", what,
	       v[n / 2], v[0], v[n - 1], n);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 20;
	/* A private directory by default: as root, the cache refuses a
	 * directory others can write to, such as /tmp itself. */
	char dir[] = "/tmp/nam56r-bench-XXXXXX", path[64];
	const char *cache = argc > 2 ? argv[2] : path;
	double *live = calloc(runs > 0 ? runs : 1, sizeof(double));
	double *cached = calloc(runs > 0 ? runs : 1, sizeof(double));
	struct n56_topology *t = NULL;
	char err[1024];
	int ngpus = 0;

	if (runs < 1 || !live || !cached) {
		fprintf(stderr, "usage: bench_topology [RUNS>0] [CACHE]\n");
		return 2;
	}
	if (argc <= 2) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/topology.xml", dir);
	}
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();

		if (n56_topology_load(NULL, NULL, NULL, &t, err, sizeof(err)) <
		    0) {
			fprintf(stderr, "live load: %s\n", err);
			return 1;
		}
		live[i] = now_ms() - t0;
		ngpus = t->ngpus;
		if (i < runs - 1)
			n56_topology_free(t);
	}
	if (n56_topology_cache_write(t, cache, err, sizeof(err)) < 0) {
		fprintf(stderr, "cache write: %s\n", err);
		return 1;
	}
	n56_topology_free(t);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();

		if (n56_topology_cache_read(cache, &t, err, sizeof(err)) < 0) {
			fprintf(stderr, "cache read: %s\n", err);
			return 1;
		}
		cached[i] = now_ms() - t0;
		n56_topology_free(t);
	}
	printf("topology of this node: %d GPU%s; cache %s\n", ngpus,
	       ngpus == 1 ? "" : "s", cache);
	report("live load", live, runs);
	report("cache read", cached, runs);
	qsort(live, runs, sizeof(double), cmp_double);
	qsort(cached, runs, sizeof(double), cmp_double);
	printf("live / cache (medians): %.1fx\n",
	       live[runs / 2] / cached[runs / 2]);
	unlink(cache);
	if (argc <= 2)
		rmdir(dir);
	free(live);
	free(cached);
	return 0;
}
