#include "wrapper/cli.h"

#include <stdio.h>
#include <string.h>

static void to_stderr(void *prefix, const char *line)
{
	fprintf(stderr, "%s%s\n", (const char *)prefix, line);
}

void n56_print_diags(const char *prefix, struct n56_diags *d)
{
	n56_diags_emit(d, to_stderr, (void *)prefix);
}

void n56_print_lines(const char *prefix, const char *text)
{
	for (const char *s = text, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		fprintf(stderr, "%s%.*s\n", prefix,
			(int)(nl ? (size_t)(nl - s) : strlen(s)), s);
	}
}
