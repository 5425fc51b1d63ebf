/* Slurm host lists, read the way Slurm 23.11 and later read them: the one
 * implementation the plugin, nam56r-launch and the admin map use. What is
 * accepted, refused and in which order names come is said in job/n56job.h;
 * tests/test_hostlist_slurm.c holds it against libslurm itself. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

/* A number in brackets has at most this many digits after its leading
 * zeros: every value and every sum of them stays far below ULONG_MAX. */
#define MAX_DIGITS 18

struct range {
	unsigned long lo, hi;
	int width; /* characters of lo as written: [08-10] prints 08 09 10 */
};

/* One name pattern: text[0] [group 0] text[1] ... [group k-1] text[k]. */
struct item {
	const char **text; /* k + 1 texts, lengths in tlen */
	size_t *tlen;
	size_t *r0, *nr;   /* group g: ranges r0[g] .. r0[g] + nr[g] - 1 */
	struct range *r;
	size_t k;
	unsigned long count; /* names it gives */
	size_t maxlen;       /* of its longest name */
};

struct ctx {
	const char *expr;
	char *err;
	size_t errlen;
	unsigned long total;
};

static void fail(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct ctx *c, const char *fmt, ...)
{
	char what[256];
	size_t len = strlen(c->expr);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* A long list is cut in the message: the reason matters more. */
	snprintf(c->err, c->errlen, "bad host list '%.*s%s': %s",
		 len > 80 ? 77 : (int)len, c->expr, len > 80 ? "..." : "",
		 what);
}

static int is_sep(char ch)
{
	return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n';
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int digits_of(unsigned long v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* A run of digits at p (at least one, else -1): its value and width. */
static int read_number(struct ctx *c, const char *p, const char *end,
		       const char *open, const char *close,
		       unsigned long *v, int *width)
{
	const char *q = p, *s;

	while (q < end && is_digit(*q))
		q++;
	if (q == p)
		return -1;
	for (s = p; s < q - 1 && *s == '0'; s++)
		;
	if (q - s > MAX_DIGITS) {
		fail(c, "number '%.*s' in '%.*s' is too large", (int)(q - p),
		     p, (int)(close - open + 1), open);
		return -2;
	}
	*v = 0;
	for (; s < q; s++)
		*v = *v * 10 + (unsigned long)(*s - '0');
	*width = (int)(q - p);
	return (int)(q - p);
}

/* The ranges between open '[' and close ']'. */
static int parse_group(struct ctx *c, struct item *it, const char *open,
		       const char *close, bool last)
{
	const char *p = open + 1;
	size_t g = it->k;
	unsigned long count = 0;
	int maxw = 0;

	it->r0[g] = g ? it->r0[g - 1] + it->nr[g - 1] : 0;
	it->nr[g] = 0;
	for (;;) {
		struct range *r = &it->r[it->r0[g] + it->nr[g]];
		int n = read_number(c, p, close, open, close, &r->lo,
				    &r->width);

		if (n == -2)
			return -1;
		if (n < 0)
			goto syntax;
		p += n;
		r->hi = r->lo;
		if (p < close && *p == '-') {
			int w;

			n = read_number(c, p + 1, close, open, close, &r->hi,
					&w);
			if (n == -2)
				return -1;
			if (n < 0)
				goto syntax;
			if (r->hi < r->lo) {
				fail(c, "range '%.*s' goes down",
				     (int)(p + 1 + n - (p - r->width)),
				     p - r->width);
				return -1;
			}
			if (r->hi - r->lo >= (unsigned long)
			    N56_HOSTLIST_MAX_RANGE) {
				fail(c, "range '%.*s' names more than %ld "
				     "hosts (Slurm's limit)",
				     (int)(p + 1 + n - (p - r->width)),
				     p - r->width, N56_HOSTLIST_MAX_RANGE);
				return -1;
			}
			p += 1 + n;
		}
		count += r->hi - r->lo + 1;
		if (!last && count > (unsigned long)N56_HOSTLIST_MAX_RANGE) {
			fail(c, "'%.*s' names more than %ld values (Slurm's "
			     "limit for a bracket before the last one)",
			     (int)(close - open + 1), open,
			     N56_HOSTLIST_MAX_RANGE);
			return -1;
		}
		if (digits_of(r->hi) > maxw)
			maxw = digits_of(r->hi);
		if (r->width > maxw)
			maxw = r->width;
		it->nr[g]++;
		if (p == close)
			break;
		if (*p != ',')
			goto syntax;
		p++;
	}
	/* Saturates just above the limit: the caller refuses it. */
	if (count > (unsigned long)N56_HOSTLIST_MAX_HOSTS ||
	    it->count > (unsigned long)N56_HOSTLIST_MAX_HOSTS / count)
		it->count = (unsigned long)N56_HOSTLIST_MAX_HOSTS + 1;
	else
		it->count *= count;
	it->maxlen += (size_t)maxw;
	it->k++;
	return 0;
syntax:
	fail(c, "'%.*s' is not a list of numbers and ranges like [1-18] or "
	     "[001-004,010]", (int)(close - open + 1), open);
	return -1;
}

static void item_free(struct item *it)
{
	free(it->text);
	free(it->tlen);
	free(it->r0);
	free(it->nr);
	free(it->r);
}

/* One name pattern, [p, end), with balanced brackets (checked by the
 * caller). */
static int parse_item(struct ctx *c, const char *p, const char *end,
		      struct item *it)
{
	size_t len = (size_t)(end - p), slots = len / 2 + 2;

	memset(it, 0, sizeof(*it));
	it->text = calloc(slots, sizeof(*it->text));
	it->tlen = calloc(slots, sizeof(*it->tlen));
	it->r0 = calloc(slots, sizeof(*it->r0));
	it->nr = calloc(slots, sizeof(*it->nr));
	it->r = calloc(slots, sizeof(*it->r));
	if (!it->text || !it->tlen || !it->r0 || !it->nr || !it->r) {
		snprintf(c->err, c->errlen, "out of memory");
		return -1;
	}
	it->count = 1;
	for (;;) {
		const char *open = memchr(p, '[', (size_t)(end - p)), *close;

		it->text[it->k] = p;
		it->tlen[it->k] = (size_t)((open ? open : end) - p);
		it->maxlen += it->tlen[it->k];
		if (!open)
			break;
		close = memchr(open, ']', (size_t)(end - open));
		if (parse_group(c, it, open, close,
				!memchr(close, '[', (size_t)(end - close))))
			return -1;
		p = close + 1;
	}
	if (it->maxlen > N56_HOSTNAME_MAX) {
		fail(c, "a name would be longer than %d characters",
		     N56_HOSTNAME_MAX);
		return -1;
	}
	/* Slurm reads a plain name's trailing digits as a number and writes
	 * it back: one that does not fit an unsigned long comes back as
	 * another name. */
	if (!it->k) {
		const char *d = end;
		unsigned long v = 0;
		bool over = false;

		while (d > p && is_digit(d[-1]))
			d--;
		for (; d < end && !over; d++) {
			unsigned long digit = (unsigned long)(*d - '0');

			over = v > (ULONG_MAX - digit) / 10;
			v = v * 10 + digit;
		}
		if (over) {
			fail(c, "'%.*s' ends in a number too large for Slurm",
			     (int)len, p);
			return -1;
		}
	}
	return 0;
}

typedef int (*name_fn)(const char *name, size_t len, void *arg);

/* Every name of it, in Slurm's order: the last bracket fastest, then the
 * first, the second, ..., the one before the last slowest. fn returns 0 to
 * go on, else that value is returned; -2 when out of memory. */
static int item_walk(const struct item *it, name_fn fn, void *arg)
{
	char name[N56_HOSTNAME_MAX + 1];
	size_t *ri = NULL, k = it->k;
	unsigned long *v = NULL;
	int rc = -2;

	if (!k) {
		memcpy(name, it->text[0], it->tlen[0]);
		name[it->tlen[0]] = '\0';
		return fn(name, it->tlen[0], arg);
	}
	ri = calloc(k, sizeof(*ri));
	v = calloc(k, sizeof(*v));
	if (!ri || !v)
		goto out;
	for (size_t g = 0; g < k; g++)
		v[g] = it->r[it->r0[g]].lo;
	for (;;) {
		size_t len = 0;

		for (size_t g = 0; g <= k; g++) {
			memcpy(name + len, it->text[g], it->tlen[g]);
			len += it->tlen[g];
			if (g < k) {
				const struct range *r = &it->r[it->r0[g] +
							       ri[g]];

				len += (size_t)snprintf(name + len,
							sizeof(name) - len,
							"%0*lu", r->width,
							v[g]);
			}
		}
		name[len] = '\0';
		if ((rc = fn(name, len, arg)))
			goto out;
		/* The next combination: an odometer over the groups in the
		 * order k-1, 0, 1, ..., k-2. */
		size_t j;
		for (j = 0; j < k; j++) {
			size_t g = j ? j - 1 : k - 1;
			const struct range *r = &it->r[it->r0[g] + ri[g]];

			if (v[g] < r->hi) {
				v[g]++;
				break;
			}
			if (ri[g] + 1 < it->nr[g]) {
				ri[g]++;
				v[g] = it->r[it->r0[g] + ri[g]].lo;
				break;
			}
			ri[g] = 0;
			v[g] = it->r[it->r0[g]].lo;
		}
		if (j == k)
			break;
	}
	rc = 0;
out:
	free(ri);
	free(v);
	return rc;
}

/* Reads the whole list; with fn, calls it for every name in order. The
 * whole list is checked before the first call (pass 1), so fn never sees
 * a name of a list that is refused. Returns 0, fn's positive value, or -1
 * with err (fn returns -2 when out of memory). */
static int hostlist_run(struct ctx *c, name_fn fn, void *arg)
{
	for (int pass = 0; pass < (fn ? 2 : 1); pass++) {
		const char *p = c->expr;

		c->total = 0;
		while (*p) {
			const char *start;
			bool open = false;
			struct item it;
			int rc;

			while (*p && is_sep(*p))
				p++;
			if (!*p)
				break;
			for (start = p; *p && (open || !is_sep(*p)); p++) {
				if (*p == '[' && open) {
					fail(c, "'[' inside brackets");
					return -1;
				}
				if (*p == ']' && !open) {
					fail(c, "']' without '['");
					return -1;
				}
				if (*p == '[' || *p == ']')
					open = *p == '[';
			}
			if (open) {
				fail(c, "missing ']'");
				return -1;
			}
			if (parse_item(c, start, p, &it)) {
				item_free(&it);
				return -1;
			}
			c->total += it.count;
			if (c->total > (unsigned long)N56_HOSTLIST_MAX_HOSTS) {
				item_free(&it);
				fail(c, "names more than %ld hosts",
				     N56_HOSTLIST_MAX_HOSTS);
				return -1;
			}
			rc = pass ? item_walk(&it, fn, arg) : 0;
			item_free(&it);
			if (rc == -2)
				snprintf(c->err, c->errlen, "out of memory");
			if (rc)
				return rc == -2 ? -1 : rc;
		}
		if (!c->total) {
			fail(c, "names no host");
			return -1;
		}
	}
	return 0;
}

long n56_hostlist_count(const char *expr, char *err, size_t errlen)
{
	struct ctx c = {expr ? expr : "", err, errlen, 0};

	if (hostlist_run(&c, NULL, NULL))
		return -1;
	return (long)c.total;
}

struct match_arg {
	const char *host;
	size_t len;
};

static int match_one(const char *name, size_t len, void *arg)
{
	const struct match_arg *m = arg;

	return len == m->len && !memcmp(name, m->host, len);
}

int n56_hostlist_match(const char *expr, const char *host, char *err,
		       size_t errlen)
{
	struct ctx c = {expr ? expr : "", err, errlen, 0};
	struct match_arg m = {host, host ? strlen(host) : 0};
	int rc;

	if (!host) {
		/* Still say whether the list is good. */
		return hostlist_run(&c, NULL, NULL) ? -1 : 0;
	}
	rc = hostlist_run(&c, match_one, &m);
	return rc < 0 ? -1 : rc;
}

struct expand_arg {
	char **v;
	size_t n, cap;
};

static int add_one(const char *name, size_t len, void *arg)
{
	struct expand_arg *e = arg;

	if (e->n == e->cap || !(e->v[e->n] = strndup(name, len)))
		return -2;
	e->n++;
	return 0;
}

void n56_hostlist_free(char **hosts, size_t n)
{
	if (!hosts)
		return;
	for (size_t i = 0; i < n; i++)
		free(hosts[i]);
	free(hosts);
}

int n56_hostlist_expand(const char *expr, char ***hosts, size_t *n,
			char *err, size_t errlen)
{
	struct ctx c = {expr ? expr : "", err, errlen, 0};
	struct expand_arg e = {0};
	int rc;

	*hosts = NULL;
	*n = 0;
	if (hostlist_run(&c, NULL, NULL))
		return -1;
	e.cap = c.total;
	e.v = calloc(e.cap, sizeof(*e.v));
	if (!e.v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = hostlist_run(&c, add_one, &e);
	if (rc || e.n != e.cap) {
		if (!rc)
			snprintf(err, errlen, "out of memory");
		n56_hostlist_free(e.v, e.n);
		return -1;
	}
	*hosts = e.v;
	*n = e.n;
	return 0;
}
