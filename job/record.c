/* The placement record the plugin writes into the job's Comment or
 * AdminComment and `nam56r-launch placement` reads back: format, parse,
 * merge into the text already there. Unit-tested in
 * tests/test_spank_args.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

int n56_record_field_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "comment"))
		return N56_RECORD_COMMENT;
	if (!strcmp(s, "admin_comment"))
		return N56_RECORD_ADMIN_COMMENT;
	if (!strcmp(s, "none"))
		return N56_RECORD_NONE;
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
		     N56_RECORD_TAG
		     " sha256=%s world=%ld nodes=%ld gpn=%ld "
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
	static const char *const keys[] = {
		"sha256", "world", "nodes", "gpn", "tp",    "cp",      "ep",
		"etp",	  "dp",	   "pp",    "vpp", "order", "islands", "master"
	};
	long *nums[] = { NULL,	 &r->world, &r->nodes, &r->gpn, &r->tp, &r->cp,
			 &r->ep, &r->etp,   &r->dp,    &r->pp,	&r->vpp };
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
			snprintf(err, errlen,
				 "placement record: '%s' is not "
				 "key=value",
				 tok);
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
			if (strlen(v) != 12 ||
			    strspn(v, "0123456789abcdef") != 12)
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
		snprintf(err, errlen, "placement record: bad value %s=%s", tok,
			 v);
		goto out;
	}
	if (seen != (1u << (sizeof(keys) / sizeof(keys[0]))) - 1) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!(seen & (1u << k))) {
				snprintf(err, errlen,
					 "placement record: "
					 "missing %s=",
					 keys[k]);
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
	if (asprintf(&out, "%.*s%s%s", (int)before, old, record, p + len) < 0)
		return NULL;
	return out;
}
