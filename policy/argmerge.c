/* The user's ARGS after `--` against the generated native args: the plan
 * owns every flag it generated; the user may add, never change. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/argmerge.h"

/* "--flag" or "-f"; "-1" and "-0.5" are values. */
static int is_flag(const char *s)
{
	return s[0] == '-' &&
	       (s[1] == '-' ? s[2] != 0 : isalpha((unsigned char)s[1]));
}

/* One flag occurrence in an argv: its name (without "=value"), its value
 * (NULL for a switch), and how many words it spans. */
struct flag {
	const char *name;
	size_t name_len;
	const char *value;
	size_t nwords;
};

static struct flag flag_at(char *const *v, size_t n, size_t i)
{
	struct flag f = { v[i], strlen(v[i]), NULL, 1 };
	const char *eq = v[i][1] == '-' ? strchr(v[i], '=') : NULL;

	if (eq) {
		f.name_len = (size_t)(eq - v[i]);
		f.value = eq + 1;
	} else if (i + 1 < n && !is_flag(v[i + 1])) {
		f.value = v[i + 1];
		f.nwords = 2;
	}
	return f;
}

/* The generated occurrence of a flag name, if any. */
static int find_generated(char *const *gen, size_t ngen, const struct flag *u,
			  struct flag *out)
{
	for (size_t i = 0; i < ngen; i++) {
		if (!is_flag(gen[i]))
			continue;
		struct flag g = flag_at(gen, ngen, i);
		if (g.name_len == u->name_len &&
		    !strncmp(g.name, u->name, u->name_len)) {
			*out = g;
			return 1;
		}
		i += g.nwords - 1;
	}
	return 0;
}

static void describe(const struct flag *f, char *buf, size_t len)
{
	if (f->value)
		snprintf(buf, len, "%.*s %s", (int)f->name_len, f->name,
			 f->value);
	else
		snprintf(buf, len, "%.*s", (int)f->name_len, f->name);
}

int n56_args_merge(char *const *gen, size_t ngen, char *const *user,
		   size_t nuser, char ***out, size_t *nout, char *err,
		   size_t errlen)
{
	char **v = calloc(ngen + nuser + 1, sizeof(*v));
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ngen; i++)
		v[n++] = gen[i];
	for (size_t i = 0; i < nuser; i++) {
		struct flag u, g;

		if (!is_flag(user[i])) {
			v[n++] = user[i];
			continue;
		}
		u = flag_at(user, nuser, i);
		if (find_generated(gen, ngen, &u, &g)) {
			bool same = (!u.value && !g.value) ||
				    (u.value && g.value &&
				     !strcmp(u.value, g.value));
			if (!same) {
				char a[256], b[256];

				describe(&u, a, sizeof(a));
				describe(&g, b, sizeof(b));
				snprintf(err, errlen,
					 "argument '%s' "
					 "contradicts the generated '%s' "
					 "(change the recipe, not the "
					 "command line)",
					 a, b);
				free(v);
				return -1;
			}
			/* An exact repeat adds nothing: drop it. */
			i += u.nwords - 1;
			continue;
		}
		for (size_t k = 0; k < u.nwords; k++)
			v[n++] = user[i + k];
		i += u.nwords - 1;
	}
	v[n] = NULL;
	*out = v;
	*nout = n;
	return 0;
}
