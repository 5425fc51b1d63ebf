/* libFuzzer target: any bytes, one arg a line, through the check of native
 * args against Megatron's parser table (policy/megatron_args.c). Besides
 * crashes, it checks that a refusal always reports and a pass never does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/megatron_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ctx, size_t i, const char *why)
{
	(void)i;
	if (!why || !*why)
		abort();
	(*(size_t *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), **argv;
	size_t argc = 0, reports = 0;
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv = calloc(size + 2, sizeof(char *));
	if (!argv) {
		free(buf);
		return 0;
	}
	for (char *s = buf, *nl; s; s = nl) {
		nl = strchr(s, '\n');
		if (nl)
			*nl++ = '\0';
		argv[argc++] = s;
	}
	rc = n56_megatron_args_check(argv, argc, count, &reports);
	if ((rc == 0) != (reports == 0))
		abort();
	free(argv);
	free(buf);
	return 0;
}
