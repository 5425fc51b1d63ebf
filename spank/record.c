/* The placement record, base64 for the carried recipe, and Slurm hostlist
 * expansion: small pure functions, unit-tested in tests/test_spank_args.c. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spank/n56spank.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *n56_base64_encode(const void *buf, size_t len)
{
	const unsigned char *in = buf;
	size_t olen = 4 * ((len + 2) / 3);
	char *out = malloc(olen + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int n56_base64_decode(const char *s, char **out, size_t *outlen)
{
	size_t len = strlen(s), n = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (len % 4)
		return -1;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* A padding character followed by data is damage. */
			if (pad || (v[k] = b64_value(s[i + k])) < 0)
				goto fail;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		buf[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			buf[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			buf[n++] = (unsigned char)w;
	}
	buf[n] = 0;
	*out = (char *)buf;
	*outlen = n;
	return 0;
fail:
	free(buf);
	return -1;
}

int n56_record_format(const struct n56_record *r, char *buf, size_t len)
{
	char isl[N56_RECORD_MAX_ISLANDS * 4 + 1] = "";
	size_t off = 0;
	int n;

	for (int i = 0; i < r->nislands && i < N56_RECORD_MAX_ISLANDS; i++)
		off += (size_t)snprintf(isl + off, sizeof(isl) - off, "%s%d",
					i ? "+" : "", r->island_size[i]);
	n = snprintf(buf, len,
		     N56_RECORD_TAG " sha256=%s world=%ld nodes=%ld gpn=%ld "
		     "tp=%ld cp=%ld ep=%ld etp=%ld dp=%ld pp=%ld vpp=%ld "
		     "order=%s islands=%s master=%s",
		     r->sha12, r->world, r->nodes, r->gpn, r->tp, r->cp, r->ep,
		     r->etp, r->dp, r->pp, r->vpp, r->order,
		     r->nislands ? isl : "0", r->master);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Where the record starts in a field: the tag at the start or after the
 * separator we write (or any space). */
static const char *record_start(const char *field)
{
	const char *p = field;

	while ((p = strstr(p, N56_RECORD_TAG))) {
		if ((p == field || p[-1] == ' ') &&
		    (p[strlen(N56_RECORD_TAG)] == ' ' ||
		     !p[strlen(N56_RECORD_TAG)]))
			return p;
		p++;
	}
	return NULL;
}

/* Length of the record text: up to the next separator or the end. */
static size_t record_len(const char *p)
{
	const char *sep = strstr(p, N56_RECORD_SEP);

	return sep ? (size_t)(sep - p) : strlen(p);
}

static int parse_long(const char *v, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	return errno || end == v || *end || *out < 0 ? -1 : 0;
}

int n56_record_find(const char *field, struct n56_record *r, char *err,
		    size_t errlen)
{
	static const char *const keys[] = {"sha256", "world", "nodes", "gpn",
		"tp", "cp", "ep", "etp", "dp", "pp", "vpp", "order", "islands",
		"master"};
	long *nums[] = {NULL, &r->world, &r->nodes, &r->gpn, &r->tp, &r->cp,
		&r->ep, &r->etp, &r->dp, &r->pp, &r->vpp};
	unsigned seen = 0;
	const char *p;
	char *text = NULL, *save = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!field || !(p = record_start(field)))
		return 0;
	text = strndup(p, record_len(p));
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	strtok_r(text, " ", &save); /* the tag */
	for (char *tok; (tok = strtok_r(NULL, " ", &save));) {
		char *eq = strchr(tok, '=');
		size_t k;

		if (!eq) {
			snprintf(err, errlen, "placement record: '%s' is not "
				 "key=value", tok);
			goto out;
		}
		*eq = 0;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strcmp(keys[k], tok))
				break;
		if (k == sizeof(keys) / sizeof(keys[0]))
			continue; /* a newer writer's key: ignore */
		const char *v = eq + 1;
		if (k == 0) {
			if (strlen(v) != 12 || strspn(v, "0123456789abcdef")
			    != 12)
				goto bad;
			memcpy(r->sha12, v, 13);
		} else if (k < 11) {
			if (parse_long(v, nums[k]))
				goto bad;
		} else if (k == 11) {
			if (strlen(v) >= sizeof(r->order))
				goto bad;
			strcpy(r->order, v);
		} else if (k == 12) {
			r->nislands = 0;
			for (const char *q = v; *q;) {
				char *end;
				long s = strtol(q, &end, 10);

				if (end == q || s < 0 || s > 4096 ||
				    r->nislands == N56_RECORD_MAX_ISLANDS ||
				    (*end && *end != '+'))
					goto bad;
				r->island_size[r->nislands++] = (int)s;
				q = *end ? end + 1 : end;
			}
		} else {
			if (strlen(v) >= sizeof(r->master))
				goto bad;
			strcpy(r->master, v);
		}
		seen |= 1u << k;
		continue;
bad:
		snprintf(err, errlen, "placement record: bad value %s=%s",
			 tok, v);
		goto out;
	}
	if (seen != (1u << (sizeof(keys) / sizeof(keys[0]))) - 1) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!(seen & (1u << k))) {
				snprintf(err, errlen, "placement record: "
					 "missing %s=", keys[k]);
				break;
			}
		goto out;
	}
	rc = 1;
out:
	free(text);
	return rc;
}

char *n56_record_merge(const char *old, const char *record)
{
	const char *p = old ? record_start(old) : NULL;
	char *out = NULL;

	if (!old || !*old)
		return strdup(record);
	if (!p) {
		if (asprintf(&out, "%s" N56_RECORD_SEP "%s", old, record) < 0)
			return NULL;
		return out;
	}
	/* Replace the older record in place: what was before and after it
	 * stays as it was. */
	size_t before = (size_t)(p - old), len = record_len(p);
	if (asprintf(&out, "%.*s%s%s", (int)before, old, record,
		     p + len) < 0)
		return NULL;
	return out;
}

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
