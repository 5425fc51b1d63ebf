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

/* The one error form. */
static int format_error(char *buf, size_t len, const char *file, int line,
			int col, const char *msg)
{
	if (line > 0)
		return snprintf(buf, len, "%s:%d:%d: error: %s", file, line,
				col, msg);
	return snprintf(buf, len, "%s: error: %s", file, msg);
}

int n56_diag_format_error(const struct n56_diag *g, char *buf, size_t len)
{
	return format_error(buf, len, g->file, g->line, g->col, g->msg);
}

int n56_error_at(char *buf, size_t len, const char *file, struct n56_pos pos,
		 const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	n = format_error(buf, len, file ? file : "<input>", pos.line, pos.col,
			 n < 0 ? "out of memory" : msg);
	free(msg);
	return n;
}

/* A diagnostic with its rank of file and its index, for a stable qsort. */
struct keyed {
	size_t file_rank;
	size_t index;
	struct n56_diag g;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->g.line != y->g.line)
		return x->g.line < y->g.line ? -1 : 1;
	if (x->g.col != y->g.col)
		return x->g.col < y->g.col ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void n56_diags_sort(struct n56_diags *d)
{
	struct keyed *k;

	if (!d || d->n < 2)
		return;
	k = calloc(d->n, sizeof(*k));
	if (!k)
		return; /* unsorted, but every message still shown */
	for (size_t i = 0; i < d->n; i++) {
		size_t r = i;

		for (size_t j = 0; j < i; j++)
			if (d->v[j].file && d->v[i].file &&
			    !strcmp(d->v[j].file, d->v[i].file)) {
				r = k[j].file_rank;
				break;
			}
		k[i] = (struct keyed){ r, i, d->v[i] };
	}
	qsort(k, d->n, sizeof(*k), keyed_cmp);
	for (size_t i = 0; i < d->n; i++)
		d->v[i] = k[i].g;
	free(k);
}

void n56_diags_emit(struct n56_diags *d,
		    void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[1024];

	n56_diags_sort(d);
	for (size_t i = 0; d && i < d->n; i++) {
		n56_diag_format_error(&d->v[i], line, sizeof(line));
		emit(ctx, line);
	}
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
