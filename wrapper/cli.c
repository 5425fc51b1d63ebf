#include "wrapper/cli.h"

#include <stdio.h>

void n56_print_diags(const char *prefix, const struct n56_diags *d)
{
	char line[1024];

	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format_error(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s%s\n", prefix, line);
	}
}
