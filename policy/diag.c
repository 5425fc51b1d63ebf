#include "policy/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void n56_diag_add(struct n56_diags *d, const char *file, struct n56_pos pos,
		  const char *fmt, ...)
{
	va_list ap;
	struct n56_diag *g;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct n56_diag *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	g = &d->v[d->n];
	g->file = strdup(file ? file : "<input>");
	g->line = pos.line;
	g->col = pos.col;
	va_start(ap, fmt);
	if (vasprintf(&g->msg, fmt, ap) < 0)
		g->msg = NULL;
	va_end(ap);
	if (!g->msg)
		g->msg = strdup("out of memory");
	d->n++;
}

int n56_diag_format(const struct n56_diag *g, char *buf, size_t len)
{
	if (g->line > 0)
		return snprintf(buf, len, "%s:%d:%d: %s", g->file, g->line,
				g->col, g->msg);
	return snprintf(buf, len, "%s: %s", g->file, g->msg);
}

int n56_diag_format_error(const struct n56_diag *g, char *buf, size_t len)
{
	if (g->line > 0)
		return snprintf(buf, len, "%s:%d:%d: error: %s", g->file,
				g->line, g->col, g->msg);
	return snprintf(buf, len, "%s: error: %s", g->file, g->msg);
}

void n56_diags_free(struct n56_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}
