/* The preflight's command line: its own options, plus the few Megatron args
 * that fix the communicators. It is exec'd with the whole generated argv,
 * so every other argument is skipped rather than refused. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"
#include "preflight/preflight.h"

enum opt_type {
	OPT_SIZE,
	OPT_FLAG,
	OPT_GBPS,
	OPT_FORMAT,
	OPT_PATH,
	OPT_BYTES,
	OPT_COUNT,
	OPT_HELP
};

struct opt {
	const char *name;
	enum opt_type type;
	size_t off; /* offset of the field in struct n56pf_config */
	long min;   /* OPT_SIZE / OPT_COUNT: smallest value allowed */
};

#define OFF(f) offsetof(struct n56pf_config, f)
static const struct opt opts[] = {
	{ "--tensor-model-parallel-size", OPT_SIZE, OFF(tp), 1 },
	{ "--pipeline-model-parallel-size", OPT_SIZE, OFF(pp), 1 },
	{ "--context-parallel-size", OPT_SIZE, OFF(cp), 1 },
	{ "--expert-model-parallel-size", OPT_SIZE, OFF(ep), 1 },
	{ "--expert-tensor-parallel-size", OPT_SIZE, OFF(etp), 1 },
	{ "--use-tp-pp-dp-mapping", OPT_FLAG, OFF(pp_before_dp), 0 },
	{ "--min-tp-busbw", OPT_GBPS, OFF(min_tp_busbw), 0 },
	{ "--min-dp-busbw", OPT_GBPS, OFF(min_dp_busbw), 0 },
	{ "--format", OPT_FORMAT, OFF(format), 0 },
	{ "--json", OPT_PATH, OFF(json_path), 0 },
	{ "--min-bytes", OPT_BYTES, OFF(min_bytes), 0 },
	{ "--max-bytes", OPT_BYTES, OFF(max_bytes), 0 },
	{ "--warmup", OPT_COUNT, OFF(warmup), 0 },
	{ "--iters", OPT_COUNT, OFF(iters), 1 },
	{ "--timeout", OPT_SIZE, OFF(timeout_s), 1 },
	{ "--help", OPT_HELP, 0, 0 },
	{ "-h", OPT_HELP, 0, 0 },
};
#undef OFF

void n56pf_usage(FILE *f)
{
	fprintf(f,
		"usage: nam56r-preflight [OPTIONS] [MEGATRON ARGS...]\n\n"
		"Builds the TP, CP, DP, PP and EP communicators that Megatron's "
		"rank order\nimplies, checks each rank's NAM56R_*_RANK, and "
		"measures NCCL bus bandwidth.\nRun by `nam56r-launch local -n N "
		"-- nam56r-preflight` or in a job step.\n\n"
		"  --min-tp-busbw GBPS  threshold for TP groups expected on "
		"NVLink (default:\n"
		"                       $" N56_ENV_PREFLIGHT_MIN_TP_BUSBW
		", else "
		"100)\n"
		"  --min-dp-busbw GBPS  threshold for DP groups (default:\n"
		"                       $" N56_ENV_PREFLIGHT_MIN_DP_BUSBW
		", else "
		"none)\n"
		"  --format text|json   report on stdout (rank 0)\n"
		"  --json FILE          also write the JSON report to FILE\n"
		"  --min-bytes SIZE     smallest message (default 1M)\n"
		"  --max-bytes SIZE     largest message (default 1G); sizes "
		"step by 4x\n"
		"  --warmup N           untimed iterations per size (default "
		"5)\n"
		"  --iters N            timed iterations per size (default "
		"20)\n"
		"  --timeout SECONDS    bootstrap connect/accept limit "
		"(default 120)\n\n"
		"Exit status: 0 every group met its threshold, 1 a group "
		"failed or a check\nbroke, 2 invalid arguments.\n");
}

int n56pf_parse_bytes(const char *s, size_t *out)
{
	char *end;
	unsigned long long v, mult = 1;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (*end) {
		case 'K':
		case 'k':
			mult = 1ULL << 10;
			break;
		case 'M':
		case 'm':
			mult = 1ULL << 20;
			break;
		case 'G':
		case 'g':
			mult = 1ULL << 30;
			break;
		default:
			return -1;
		}
		if (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
			return -1;
	}
	if (v == 0 || v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static int parse_gbps(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int set_opt(const struct opt *o, const char *val, struct n56pf_config *c,
		   char *err, size_t errlen)
{
	char *field = (char *)c + o->off;
	long l;

	switch (o->type) {
	case OPT_SIZE:
	case OPT_COUNT:
		if (parse_long(val, o->min, &l) < 0 ||
		    (o->type == OPT_COUNT && l > 1000000)) {
			snprintf(err, errlen,
				 "%s: '%s' is not an integer of "
				 "at least %ld",
				 o->name, val, o->min);
			return -1;
		}
		if (o->type == OPT_SIZE)
			*(long *)field = l;
		else
			*(int *)field = (int)l;
		return 0;
	case OPT_GBPS:
		if (parse_gbps(val, (double *)field) < 0) {
			snprintf(err, errlen,
				 "%s: '%s' is not a bandwidth in "
				 "GB/s (a number >= 0)",
				 o->name, val);
			return -1;
		}
		return 0;
	case OPT_FORMAT:
		if (!strcmp(val, "text"))
			c->format = N56PF_TEXT;
		else if (!strcmp(val, "json"))
			c->format = N56PF_JSON;
		else {
			snprintf(err, errlen,
				 "--format: '%s' is neither "
				 "text nor json",
				 val);
			return -1;
		}
		return 0;
	case OPT_PATH:
		if (!*val) {
			snprintf(err, errlen, "%s: the file name is empty",
				 o->name);
			return -1;
		}
		free(c->json_path);
		c->json_path = strdup(val);
		if (!c->json_path) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case OPT_BYTES:
		if (n56pf_parse_bytes(val, (size_t *)field) < 0) {
			snprintf(err, errlen,
				 "%s: '%s' is not a size such "
				 "as 1048576, 64K, 1M or 1G",
				 o->name, val);
			return -1;
		}
		return 0;
	case OPT_FLAG:
	case OPT_HELP:
		break;
	}
	return 0;
}

static int env_gbps(const char *(*getenv_fn)(const char *), const char *name,
		    double *out, char *err, size_t errlen)
{
	const char *v = getenv_fn ? getenv_fn(name) : NULL;

	if (!v || !*v)
		return 0;
	if (parse_gbps(v, out) < 0) {
		snprintf(err, errlen,
			 "%s: '%s' is not a bandwidth in GB/s (a "
			 "number >= 0)",
			 name, v);
		return -1;
	}
	return 0;
}

int n56pf_parse_args(int argc, char **argv,
		     const char *(*getenv_fn)(const char *name),
		     struct n56pf_config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->tp = c->pp = c->cp = c->ep = 1;
	c->min_tp_busbw = N56PF_DEFAULT_MIN_TP_BUSBW;
	c->min_bytes = 1UL << 20;
	c->max_bytes = 1UL << 30;
	c->warmup = 5;
	c->iters = 20;
	c->timeout_s = 120;
	/* The environment gives the defaults; the command line wins. */
	if (env_gbps(getenv_fn, N56_ENV_PREFLIGHT_MIN_TP_BUSBW,
		     &c->min_tp_busbw, err, errlen) < 0 ||
	    env_gbps(getenv_fn, N56_ENV_PREFLIGHT_MIN_DP_BUSBW,
		     &c->min_dp_busbw, err, errlen) < 0)
		goto fail;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = NULL, *val = NULL;
		const struct opt *o = NULL;
		size_t len;

		if (!a || a[0] != '-')
			continue;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (strlen(opts[j].name) == len &&
			    !strncmp(opts[j].name, a, len)) {
				o = &opts[j];
				break;
			}
		if (!o)
			continue; /* a runtime arg: not ours to judge */
		if (o->type == OPT_FLAG || o->type == OPT_HELP) {
			if (eq) {
				snprintf(err, errlen, "%s takes no value",
					 o->name);
				goto fail;
			}
			if (o->type == OPT_HELP)
				c->help = true;
			else
				*(bool *)((char *)c + o->off) = true;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			snprintf(err, errlen, "%s needs a value", o->name);
			goto fail;
		}
		if (set_opt(o, val, c, err, errlen) < 0)
			goto fail;
	}
	if (c->min_bytes > c->max_bytes) {
		snprintf(err, errlen,
			 "--min-bytes %zu is larger than "
			 "--max-bytes %zu",
			 c->min_bytes, c->max_bytes);
		goto fail;
	}
	return 0;
fail:
	n56pf_config_clear(c);
	return -1;
}

void n56pf_config_clear(struct n56pf_config *c)
{
	if (!c)
		return;
	free(c->json_path);
	c->json_path = NULL;
}

int n56pf_sizes(const struct n56pf_config *c, size_t out[N56PF_MAX_SIZES])
{
	int n = 0;

	for (size_t s = c->min_bytes; s <= c->max_bytes && n < N56PF_MAX_SIZES;
	     s *= 4) {
		out[n++] = s;
		if (s > SIZE_MAX / 4)
			break;
	}
	return n;
}
