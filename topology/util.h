/* Small helpers the topology library's files share. */
#ifndef NAM56R_TOPOLOGY_UTIL_H
#define NAM56R_TOPOLOGY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Fills a caller's error buffer; a NULL or empty buffer is allowed. */
static inline void __attribute__((format(printf, 3, 4)))
n56_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Union-find over GPU indices (up[i] == i for a root). The root is always
 * the smallest member, so island ids come out in GPU order. */
static inline int n56_uf_find(int *up, int x)
{
	while (up[x] != x)
		x = up[x] = up[up[x]];
	return x;
}

static inline void n56_uf_union(int *up, int a, int b)
{
	a = n56_uf_find(up, a);
	b = n56_uf_find(up, b);
	if (a != b)
		up[a > b ? a : b] = a < b ? a : b;
}

#endif
