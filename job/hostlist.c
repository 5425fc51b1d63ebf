/* Slurm host lists, read the way the libslurm this is built against reads
 * them (slurm_hostlist_create, then slurm_hostlist_shift until empty): the
 * one implementation the plugin, nam56r-launch and the admin map use. What
 * is accepted, refused and in which order names come is said in
 * job/n56job.h; tests/test_hostlist_slurm.c holds it against libslurm. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

/* The release whose reading is followed: configure's, else the newest. */
#define REL(major, minor) (((major) << 16) | ((minor) << 8))
#ifdef N56_SLURM_VERSION_NUMBER
#define SLURM_REL N56_SLURM_VERSION_NUMBER
#else
#define SLURM_REL REL(26, 5)
#endif
/* 23.02 split at newlines and refused a '[' without ']'; 23.11 reads text
 * after the last bracket of a name. */
#define NEWLINE_SEPARATES (SLURM_REL >= REL(23, 2))
#define UNCLOSED_REFUSED (SLURM_REL >= REL(23, 2))
#define TEXT_AFTER_BRACKET (SLURM_REL >= REL(23, 11))

/* Slurm's limits: numbers in one range, values of the bracket before the
 * last one (deeper ones are cut there), ranges in one bracket (Slurm
 * exits beyond it). */
#define MAX_RANGE 65536UL
#define MAX_PREFIX 65536UL
#define MAX_RANGES (256 * 1024)

struct range {
	unsigned long lo, hi;
	size_t width; /* characters of lo as written: [08-10] prints 08 09 10 */
};

/* One name pattern: text[0] [group 0] text[1] ... [group k-1] text[k]; or,
 * with k == 0, the one name in plain. */
struct item {
	const char **text; /* k + 1 texts, lengths in tlen */
	size_t *tlen;
	size_t *r0, *nr; /* group g: ranges r0[g] .. r0[g] + nr[g] - 1 */
	struct range *r;
	size_t k, nranges;
	char *plain;
	unsigned long count; /* names it gives */
	size_t maxlen;	     /* of its longest name */
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
	return ch == ',' || ch == ' ' || ch == '\t' ||
	       (NEWLINE_SEPARATES && ch == '\n');
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* isspace() of the C locale, as strtoul skips it. */
static int is_space(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static const char *last_of(const char *p, const char *end, char ch)
{
	const char *q = NULL;

	for (; p < end; p++)
		if (*p == ch)
			q = p;
	return q;
}

/* strtoul(p, &q, 10) on [p, end): blanks, a sign, digits; a value past
 * ULONG_MAX is ULONG_MAX. Returns q, or p when there is no digit. */
static const char *to_ulong(const char *p, const char *end, unsigned long *v)
{
	const char *q = p;
	bool neg = false, over = false;

	*v = 0;
	while (q < end && is_space(*q))
		q++;
	if (q < end && (*q == '+' || *q == '-'))
		neg = *q++ == '-';
	if (q == end || !is_digit(*q))
		return p;
	for (; q < end && is_digit(*q); q++) {
		unsigned long d = (unsigned long)(*q - '0');

		over = over || *v > (ULONG_MAX - d) / 10;
		*v = *v * 10 + d;
	}
	if (over)
		*v = ULONG_MAX;
	else if (neg)
		*v = -*v;
	return q;
}

/* v in decimal, zero-padded to width, at buf: its length. */
static size_t put_number(char *buf, unsigned long v, size_t width)
{
	char digits[24];
	size_t n = (size_t)snprintf(digits, sizeof(digits), "%lu", v);
	size_t pad = width > n ? width - n : 0;

	memset(buf, '0', pad);
	memcpy(buf + pad, digits, n);
	return pad + n;
}

/* One range between commas, [p, end), as Slurm reads it: lo, or lo-hi,
 * or lo- (just lo); each number through strtoul (so " 1" and "+1" are 1,
 * printed two wide); what follows lo is not looked at when hi is there.
 * 0; -1 when Slurm refuses it for its form, -2 (err set) for its values. */
static int parse_range(struct ctx *c, const char *p, const char *end,
		       struct range *r)
{
	const char *dash = memchr(p, '-', (size_t)(end - p));
	const char *lo_end = dash ? dash : end, *q;

	if (memchr(p, 'x', (size_t)(end - p)) ||
	    (dash && dash + 1 < end && dash[1] == '-'))
		return -1;
	r->width = (size_t)(lo_end - p);
	q = to_ulong(p, lo_end, &r->lo);
	if (q == p)
		return -1;
	r->hi = r->lo;
	if (dash && dash + 1 < end) {
		const char *h = dash + 1;

		q = to_ulong(h, end, &r->hi);
		if (q == h || q != end)
			return -1;
	} else if (q != lo_end) {
		return -1;
	}
	if (r->lo > r->hi) {
		fail(c, "range '%.*s' goes down", (int)(end - p), p);
		return -2;
	}
	/* lo 0 to hi ULONG_MAX wraps to 0 in Slurm, which then loops or
	 * loses names: refused like any range too large. */
	if (r->hi - r->lo >= MAX_RANGE) {
		fail(c,
		     "range '%.*s' names more than %lu hosts (Slurm's "
		     "limit)",
		     (int)(end - p), p, MAX_RANGE);
		return -2;
	}
	return 0;
}

/* The ranges between open '[' and close ']' as group g of it: 0; -1 with
 * err when Slurm refuses them; -2 with err when Slurm would exit. */
static int parse_group(struct ctx *c, struct item *it, size_t g,
		       const char *open, const char *close)
{
	const char *p = open + 1;

	it->r0[g] = it->nranges;
	it->nr[g] = 0;
	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(close - p));
		const char *end = comma ? comma : close;
		int rc;

		if (it->nr[g] == MAX_RANGES) {
			fail(c,
			     "'%.*s' holds more than %d ranges (Slurm "
			     "exits on it)",
			     (int)(close - open + 1), open, MAX_RANGES);
			return -2;
		}
		rc = parse_range(c, p, end, &it->r[it->nranges]);
		if (rc == -1)
			fail(c,
			     "'%.*s' is not a list of numbers and ranges "
			     "like [1-18] or [001-004,010]",
			     (int)(close - open + 1), open);
		if (rc)
			return -1;
		it->nranges++;
		it->nr[g]++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static void item_free(struct item *it)
{
	free(it->text);
	free(it->tlen);
	free(it->r0);
	free(it->nr);
	free(it->r);
	free(it->plain);
}

/* A name without brackets, [p, end) then more: Slurm reads its trailing
 * digits as a number and writes it back, ULONG_MAX when it is larger. */
static int plain_item(struct ctx *c, struct item *it, const char *p,
		      const char *end, const char *more)
{
	size_t len = (size_t)(end - p), mlen = strlen(more);
	const char *d;
	unsigned long v;
	char *s = malloc(len + mlen + 1);

	if (!s) {
		snprintf(c->err, c->errlen, "out of memory");
		return -1;
	}
	memcpy(s, p, len);
	memcpy(s + len, more, mlen + 1);
	len += mlen;
	d = s + len;
	while (d > s && is_digit(d[-1]))
		d--;
	if (d < s + len) {
		to_ulong(d, s + len, &v);
		put_number(s + (d - s), v, (size_t)(s + len - d));
	}
	it->plain = s;
	it->count = 1;
	it->maxlen = len;
	return 0;
}

/* Slurm's reading of the brackets before the last one: from the right,
 * the last '[' of what is left and the last ']' after it. Returns the
 * number of such groups; their positions go to opens and closes,
 * right to left. */
static size_t inner_groups(const char *p, const char *end, const char **opens,
			   const char **closes)
{
	size_t n = 0;

	for (;;) {
		const char *open = last_of(p, end, '[');
		const char *close = open ? last_of(open, end, ']') : NULL;

		if (!close)
			return n;
		opens[n] = open;
		closes[n++] = close;
		end = open;
	}
}

/* The names of one bracket past the one before the last: a range that
 * takes its count past MAX_PREFIX and those after it give none. */
static void cut_group(struct item *it, size_t g)
{
	unsigned long n = 0;

	for (size_t i = 0; i < it->nr[g]; i++) {
		const struct range *r = &it->r[it->r0[g] + i];

		n += r->hi - r->lo + 1;
		if (n > MAX_PREFIX) {
			it->nr[g] = i;
			return;
		}
	}
}

static int item_alloc(struct ctx *c, struct item *it, size_t len)
{
	size_t slots = len / 2 + 2;

	it->text = calloc(slots, sizeof(*it->text));
	it->tlen = calloc(slots, sizeof(*it->tlen));
	it->r0 = calloc(slots, sizeof(*it->r0));
	it->nr = calloc(slots, sizeof(*it->nr));
	it->r = calloc(slots, sizeof(*it->r));
	if (!it->text || !it->tlen || !it->r0 || !it->nr || !it->r) {
		snprintf(c->err, c->errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Counts the names of a pattern, the groups parsed. */
static void item_count(struct item *it)
{
	it->count = 1;
	for (size_t g = 0; g < it->k; g++) {
		unsigned long n = 0, maxw = 0;

		for (size_t i = 0; i < it->nr[g]; i++) {
			const struct range *r = &it->r[it->r0[g] + i];

			n += r->hi - r->lo + 1;
			if (r->width > maxw)
				maxw = r->width;
		}
		/* Saturates just above the limit: the caller refuses it. */
		if (n > (unsigned long)N56_HOSTLIST_MAX_HOSTS ||
		    it->count > (unsigned long)N56_HOSTLIST_MAX_HOSTS / n)
			it->count = (unsigned long)N56_HOSTLIST_MAX_HOSTS + 1;
		else
			it->count *= n;
		/* A number is at most 20 digits, or its width. */
		it->maxlen += maxw > 20 ? maxw : 20;
	}
	for (size_t g = 0; g <= it->k; g++)
		it->maxlen += it->tlen[g];
}

static void reverse(const char **v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		const char *t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/* The values group g (the bracket before the last) names, past
 * MAX_PREFIX: Slurm refuses the list. */
static bool prefix_over(const struct item *it, size_t g)
{
	unsigned long n = 0;

	for (size_t i = 0; i < it->nr[g]; i++) {
		const struct range *r = &it->r[it->r0[g] + i];

		n += r->hi - r->lo + 1;
		if (n > MAX_PREFIX)
			return true;
	}
	return false;
}

/* A name with brackets, [p, end): open is its last '[', close the first
 * ']' after it, what follows close the text after every name. */
static int pattern_item(struct ctx *c, struct item *it, const char *p,
			const char *open, const char *close, const char *end)
{
	size_t slots = (size_t)(end - p) / 2 + 2, n, k;
	const char **o = calloc(slots, sizeof(*o));
	const char **cl = calloc(slots, sizeof(*cl));
	int rc = -1;

	if (!o || !cl || item_alloc(c, it, (size_t)(end - p))) {
		snprintf(c->err, c->errlen, "out of memory");
		goto out;
	}
	n = inner_groups(p, open, o, cl);
	reverse(o, n);
	reverse(cl, n);
	o[n] = open;
	cl[n] = close;
	k = it->k = n + 1;
	it->text[0] = p;
	it->tlen[0] = (size_t)(o[0] - p);
	for (size_t g = 0; g < k; g++) {
		it->text[g + 1] = cl[g] + 1;
		it->tlen[g + 1] =
			(size_t)((g + 1 < k ? o[g + 1] : end) - cl[g] - 1);
	}
	/* Slurm reads the last bracket, the one before it, then each one
	 * further left for every value of the one on its right: a bad one
	 * of the first two refuses the list, a bad one further left leaves
	 * the name without a host and without a word. */
	for (size_t i = 0; i < k; i++) {
		size_t g = k - 1 - i;
		int r = parse_group(c, it, g, o[g], cl[g]);

		if (r == -2 || (r && i < 2))
			goto out;
		if (r) {
			it->count = 0;
			rc = 0;
			goto out;
		}
		if (i == 1 && prefix_over(it, g)) {
			fail(c,
			     "'%.*s' names more than %lu values (Slurm's "
			     "limit for a bracket before the last one)",
			     (int)(cl[g] - o[g] + 1), o[g], MAX_PREFIX);
			goto out;
		}
		if (i >= 2)
			cut_group(it, g);
	}
	item_count(it);
	rc = 0;
out:
	free(o);
	free(cl);
	return rc;
}

/* One name pattern, [p, end): a token of the list. */
static int parse_item(struct ctx *c, const char *p, const char *end,
		      struct item *it)
{
	const char *open = last_of(p, end, '['), *close;

	memset(it, 0, sizeof(*it));
	if (!open)
		return plain_item(c, it, p, end, "");
	close = memchr(open, ']', (size_t)(end - open));
	if (!close) {
		if (UNCLOSED_REFUSED) {
			fail(c, "missing ']'");
			return -1;
		}
		/* 22.05 closes it: "n[1-2" is the name "n]", "[12" is
		 * "12". */
		if (open > p)
			return plain_item(c, it, p, open, "]");
		return plain_item(c, it, open + 1, end, "");
	}
	if (close + 1 < end && !TEXT_AFTER_BRACKET) {
		fail(c,
		     "'%.*s' follows a bracket (Slurm reads text there "
		     "from 23.11 on)",
		     (int)(end - close - 1), close + 1);
		return -1;
	}
	return pattern_item(c, it, p, open, close, end);
}

typedef int (*name_fn)(const char *name, size_t len, void *arg);

/* Every name of it, in Slurm's order: the last bracket fastest, then the
 * first, the second, ..., the one before the last slowest. fn returns 0 to
 * go on, else that value is returned; -2 when out of memory. */
static int item_walk(const struct item *it, name_fn fn, void *arg)
{
	size_t *ri = NULL, k = it->k;
	unsigned long *v = NULL;
	char *name = NULL;
	int rc = -2;

	if (it->plain)
		return fn(it->plain, it->maxlen, arg);
	if (!it->count)
		return 0;
	ri = calloc(k, sizeof(*ri));
	v = calloc(k, sizeof(*v));
	name = malloc(it->maxlen + 1);
	if (!ri || !v || !name)
		goto out;
	for (size_t g = 0; g < k; g++)
		v[g] = it->r[it->r0[g]].lo;
	for (;;) {
		size_t len = 0, j;

		for (size_t g = 0; g <= k; g++) {
			memcpy(name + len, it->text[g], it->tlen[g]);
			len += it->tlen[g];
			if (g < k)
				len += put_number(
					name + len, v[g],
					it->r[it->r0[g] + ri[g]].width);
		}
		name[len] = '\0';
		if ((rc = fn(name, len, arg)))
			goto out;
		/* The next combination: an odometer over the groups in the
		 * order k-1, 0, 1, ..., k-2. */
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
	free(name);
	return rc;
}

/* The next name of the list at *pp, cut as Slurm cuts them: at
 * separators, except those between a '[' and the first ']' after it.
 * Returns its start (its end in *endp) or NULL at the end of the list. */
static const char *next_token(const char **pp, const char **endp)
{
	const char *p = *pp, *parse, *stop;

	while (*p && is_sep(*p))
		p++;
	if (!*p)
		return NULL;
	parse = stop = p;
	for (;;) {
		const char *open, *close;

		while (*stop && !is_sep(*stop))
			stop++;
		/* Skip the pairs that end before stop; one that ends past it
		 * takes the name on to its ']'. */
		for (;;) {
			open = strchr(parse, '[');
			close = open && open <= stop ? strchr(parse, ']')
						     : NULL;
			if (!close || close < open || close >= stop)
				break;
			parse = close + 1;
		}
		if (!close || close < open)
			break;
		stop = close;
	}
	*endp = stop;
	while (*stop && is_sep(*stop))
		stop++;
	*pp = stop;
	return p;
}

/* Reads the whole list; with fn, calls it for every name in order. The
 * whole list is checked before the first call (pass 1), so fn never sees
 * a name of a list that is refused. Returns 0, fn's positive value, or -1
 * with err (fn returns -2 when out of memory). */
static int hostlist_run(struct ctx *c, name_fn fn, void *arg)
{
	for (int pass = 0; pass < (fn ? 2 : 1); pass++) {
		const char *p = c->expr, *start, *end;

		c->total = 0;
		while ((start = next_token(&p, &end))) {
			struct item it;
			int rc;

			if (parse_item(c, start, end, &it)) {
				item_free(&it);
				return -1;
			}
			c->total += it.count;
			if (c->total > (unsigned long)N56_HOSTLIST_MAX_HOSTS) {
				item_free(&it);
				fail(c,
				     "names more than %ld hosts (a limit of "
				     "ours: Slurm has none)",
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
	}
	return 0;
}

long n56_hostlist_count(const char *expr, char *err, size_t errlen)
{
	struct ctx c = { expr ? expr : "", err, errlen, 0 };

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
	struct ctx c = { expr ? expr : "", err, errlen, 0 };
	struct match_arg m = { host, host ? strlen(host) : 0 };
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

int n56_hostlist_expand(const char *expr, char ***hosts, size_t *n, char *err,
			size_t errlen)
{
	struct ctx c = { expr ? expr : "", err, errlen, 0 };
	struct expand_arg e = { 0 };
	int rc;

	*hosts = NULL;
	*n = 0;
	if (hostlist_run(&c, NULL, NULL))
		return -1;
	e.cap = c.total;
	/* One more: an empty list still gives an array to free. */
	e.v = calloc(e.cap + 1, sizeof(*e.v));
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

long n56_hostlist_count_strict(const char *expr, char *err, size_t errlen)
{
	struct ctx c = { expr ? expr : "", err, errlen, 0 };
	bool open = false;
	long n;

	/* Slurm reads n[1-, n1] or n[[1]] as some name (by release): a
	 * site's map means none of them. */
	for (const char *p = c.expr; *p; p++) {
		if (*p == '[' && open) {
			fail(&c, "'[' inside brackets");
			return -1;
		}
		if (*p == ']' && !open) {
			fail(&c, "']' without '['");
			return -1;
		}
		if (*p == '[' || *p == ']')
			open = *p == '[';
		else if (open && is_sep(*p) && *p != ',') {
			fail(&c, "a blank inside brackets");
			return -1;
		}
	}
	if (open) {
		fail(&c, "missing ']'");
		return -1;
	}
	n = n56_hostlist_count(expr, err, errlen);
	if (!n)
		fail(&c, "names no host");
	return n > 0 ? n : -1;
}
