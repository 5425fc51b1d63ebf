/* libFuzzer target: any bytes as a Slurm host list through job/hostlist.c
 * (count, match, expand). Besides crashes and leaks, it checks that the
 * three agree: a list is refused by all or none, with a message; expand
 * gives count names (none for an empty list, as Slurm), each of them
 * matches. Names may hold anything Slurm lets through (n1], n[1] from
 * n[[1]] on 23.11, a blank inside brackets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = malloc(size + 1), err[512], **hosts = NULL;
	size_t n = 0;
	long count;
	int m;

	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0'; /* a NUL inside ends the list, as in C */
	err[0] = '\0';
	count = n56_hostlist_count(expr, err, sizeof(err));
	if (count < 0 ? !err[0] : count > N56_HOSTLIST_MAX_HOSTS)
		abort();
	err[0] = '\0';
	m = n56_hostlist_match(expr, "n1", err, sizeof(err));
	if ((m < 0) != (count < 0) || (m < 0 && !err[0]))
		abort();
	/* Expanding a big list is slow under the sanitizers: count and
	 * match have walked it already. */
	if (count > 4096) {
		free(expr);
		return 0;
	}
	err[0] = '\0';
	if (n56_hostlist_expand(expr, &hosts, &n, err, sizeof(err))) {
		if (count >= 0 || !err[0] || hosts || n)
			abort();
		free(expr);
		return 0;
	}
	if (count < 0 || (long)n != count)
		abort();
	for (size_t i = 0; i < n && i < 16; i++)
		if (!hosts[i] ||
		    n56_hostlist_match(expr, hosts[i], err, sizeof(err)) != 1)
			abort();
	n56_hostlist_free(hosts, n);
	free(expr);
	return 0;
}
