/* Native args against Megatron-LM's own argument parser: every flag the
 * parser takes at the pinned commit (policy/megatron-flags.inc, generated
 * from that parser by tests/megatron/flags.py), how many values it takes,
 * their type and choices. argparse refuses an unknown flag (it is built
 * with allow_abbrev=False), a missing or stray value and a bad choice at
 * start-up; this says so at submission instead. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/megatron_args.h"
#include "policy/yamlutil.h"

enum { N56_NARGS_OPT = -1, N56_NARGS_ANY = -2, N56_NARGS_SOME = -3 };
enum { N56_ARG_STR, N56_ARG_INT, N56_ARG_FLOAT };

struct megatron_flag {
	const char *name;
	int nargs;
	int type;
	const char *choices; /* "a|b|c", or NULL */
};

static const struct megatron_flag flags[] = {
#include "policy/megatron-flags.inc"
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static int cmp_flag(const void *key, const void *elem)
{
	return strcmp(key, ((const struct megatron_flag *)elem)->name);
}

static const struct megatron_flag *find_flag(const char *name)
{
	return bsearch(name, flags, NFLAGS, sizeof(flags[0]), cmp_flag);
}

bool n56_megatron_flag_known(const char *name)
{
	return find_flag(name) != NULL;
}

static const char *nearest_flag(const char *name)
{
	const char *best = NULL;
	size_t bd = 4, nl = strlen(name);

	for (size_t i = 0; i < NFLAGS; i++) {
		size_t fl = strlen(flags[i].name), dd;

		/* the length difference bounds the distance from below */
		if ((fl > nl ? fl - nl : nl - fl) >= bd)
			continue;
		dd = n56_edit_distance(name, flags[i].name);

		if (dd < bd) {
			bd = dd;
			best = flags[i].name;
		}
	}
	return best;
}

/* argparse takes a token as a value unless it looks like an option; a
 * negative number is a value (Megatron has no option that looks like one). */
static bool looks_like_value(const char *t)
{
	char *end;

	if (t[0] != '-' || !t[1])
		return true;
	errno = 0;
	strtod(t, &end);
	return !*end && end != t;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *c = choices; c && *c;) {
		const char *bar = strchr(c, '|');
		size_t len = bar ? (size_t)(bar - c) : strlen(c);

		if (len == n && !strncmp(c, v, n))
			return true;
		c = bar ? bar + 1 : NULL;
	}
	return false;
}

/* One value of flag f: its type and choices. */
static bool value_ok(const struct megatron_flag *f, const char *v, char *why,
		     size_t len)
{
	char *end;

	errno = 0;
	if (f->type == N56_ARG_INT) {
		(void)strtol(v, &end, 10);
		if (!*v || *end || errno) {
			snprintf(why, len, "%s takes an integer, not '%s'",
				 f->name, v);
			return false;
		}
	} else if (f->type == N56_ARG_FLOAT) {
		(void)strtod(v, &end);
		if (!*v || *end || errno) {
			snprintf(why, len, "%s takes a number, not '%s'",
				 f->name, v);
			return false;
		}
	}
	if (f->choices && !choice_ok(f->choices, v)) {
		char list[512];
		size_t j = 0;

		for (const char *c = f->choices; *c && j + 3 < sizeof(list);
		     c++) {
			if (*c == '|') {
				list[j++] = ',';
				list[j++] = ' ';
			} else {
				list[j++] = *c;
			}
		}
		list[j] = '\0';
		snprintf(why, len,
			 "%s '%s' is not one of Megatron's choices "
			 "(%s)",
			 f->name, v, list);
		return false;
	}
	return true;
}

int n56_megatron_args_check(char *const *argv, size_t argc,
			    n56_args_report report, void *ctx)
{
	char why[1024];
	int bad = 0, suggested = 0;

	for (size_t i = 0; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct megatron_flag *f;
		char name[256];
		size_t taken = 0, nl;

		if (!a)
			continue;
		if (a[0] != '-' || a[1] != '-' || !a[2]) {
			if (a[0] == '-' && a[1] && a[1] != '-' &&
			    !looks_like_value(a))
				snprintf(why, sizeof(why),
					 "'%s': Megatron's options are long "
					 "(--name)",
					 a);
			else
				snprintf(why, sizeof(why),
					 "'%s' is not an option and no option "
					 "before it takes it as a value: "
					 "Megatron refuses unrecognized "
					 "arguments",
					 a);
			report(ctx, i, why);
			bad++;
			continue;
		}
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof(name)) {
			report(ctx, i, "option name too long");
			bad++;
			continue;
		}
		memcpy(name, a, nl);
		name[nl] = '\0';
		f = find_flag(name);
		if (!f) {
			/* a few suggestions are enough to see the typo */
			const char *near =
				suggested++ < 16 ? nearest_flag(name) : NULL;

			if (near)
				snprintf(why, sizeof(why),
					 "%s is not an option of Megatron-LM "
					 "(did you mean %s?)",
					 name, near);
			else
				snprintf(why, sizeof(why),
					 "%s is not an option of Megatron-LM",
					 name);
			report(ctx, i, why);
			bad++;
			continue;
		}
		if (eq) {
			if (f->nargs == 0) {
				snprintf(why, sizeof(why),
					 "%s takes no value (remove '=%s')",
					 name, eq + 1);
				report(ctx, i, why);
				bad++;
			} else if (!value_ok(f, eq + 1, why, sizeof(why))) {
				report(ctx, i, why);
				bad++;
			}
			continue;
		}
		/* the values that follow, as argparse consumes them */
		while (i + 1 < argc && argv[i + 1] &&
		       looks_like_value(argv[i + 1]) &&
		       (f->nargs < 0 || taken < (size_t)f->nargs) &&
		       !(f->nargs == N56_NARGS_OPT && taken == 1)) {
			if (!value_ok(f, argv[i + 1], why, sizeof(why))) {
				report(ctx, i + 1, why);
				bad++;
			}
			i++;
			taken++;
		}
		if ((f->nargs > 0 && taken < (size_t)f->nargs) ||
		    (f->nargs == N56_NARGS_SOME && !taken)) {
			if (f->nargs > 1)
				snprintf(why, sizeof(why),
					 "%s takes %d values, %zu given", name,
					 f->nargs, taken);
			else
				snprintf(why, sizeof(why),
					 "%s takes a value, none given", name);
			report(ctx, i, why);
			bad++;
		}
	}
	return bad ? -1 : 0;
}
