/* Slurm hostlist expansion. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

void n56_hostlist_free(char **hosts, size_t n)
{
	if (!hosts)
		return;
	for (size_t i = 0; i < n; i++)
		free(hosts[i]);
	free(hosts);
}

static int push_host(char ***hosts, size_t *n, size_t *cap, char *h)
{
	if (!h)
		return -1;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **nv = realloc(*hosts, nc * sizeof(*nv));

		if (!nv) {
			free(h);
			return -1;
		}
		*hosts = nv;
		*cap = nc;
	}
	(*hosts)[(*n)++] = h;
	return 0;
}

/* The most hosts one expression may expand to (a typo must not make us
 * allocate gigabytes). */
#define N56_HOSTLIST_MAX (1L << 20)

int n56_hostlist_expand(const char *expr, char ***hosts, size_t *n,
			char *err, size_t errlen)
{
	size_t cap = 0;
	const char *p = expr;

	*hosts = NULL;
	*n = 0;
	if (!expr || !*expr) {
		snprintf(err, errlen, "empty host list");
		return -1;
	}
	while (*p) {
		/* One item: prefix[ranges]suffix, items split by commas
		 * outside brackets. */
		const char *start = p, *lb = NULL, *rb = NULL;

		while (*p && *p != ',') {
			if (*p == '[') {
				if (lb)
					goto bad;
				lb = p;
				rb = strchr(p, ']');
				if (!rb)
					goto bad;
				p = rb;
			}
			p++;
		}
		if (p == start)
			goto bad;
		if (!lb) {
			if (push_host(hosts, n, &cap,
				      strndup(start, (size_t)(p - start))))
				goto nomem;
		} else {
			int plen = (int)(lb - start);
			const char *suf = rb + 1;
			int slen = (int)(p - suf);
			const char *r = lb + 1;

			while (r < rb) {
				char *end;
				long a, b;
				int width = 0;

				if (!isdigit((unsigned char)*r))
					goto bad;
				for (const char *d = r; isdigit(
					     (unsigned char)*d); d++)
					width++;
				a = strtol(r, &end, 10);
				b = a;
				if (*end == '-') {
					const char *s2 = end + 1;

					if (!isdigit((unsigned char)*s2))
						goto bad;
					b = strtol(s2, &end, 10);
				}
				if (b < a || end > rb ||
				    (*end != ',' && end != rb) ||
				    (long)*n + (b - a) >= N56_HOSTLIST_MAX)
					goto bad;
				for (long v = a; v <= b; v++) {
					char *h;

					if (asprintf(&h, "%.*s%0*ld%.*s", plen,
						     start, width, v, slen,
						     suf) < 0)
						goto nomem;
					if (push_host(hosts, n, &cap, h))
						goto nomem;
				}
				r = *end == ',' ? end + 1 : end;
			}
		}
		if (*p == ',')
			p++;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad host list '%s' (expected e.g. "
		 "n[1-4,7],login1)", expr);
	goto fail;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	n56_hostlist_free(*hosts, *n);
	*hosts = NULL;
	*n = 0;
	return -1;
}
