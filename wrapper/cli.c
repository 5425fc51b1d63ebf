#include "wrapper/cli.h"

#include <stdio.h>
#include <string.h>

void n56_print_diags(const char *prefix, const struct n56_diags *d)
{
	char line[1024];

	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format_error(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s%s\n", prefix, line);
	}
}

void n56_print_lines(const char *prefix, const char *text)
{
	for (const char *s = text, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		fprintf(stderr, "%s%.*s\n", prefix,
			(int)(nl ? (size_t)(nl - s) : strlen(s)), s);
	}
}
