/* job/hostlist.c against libslurm itself: every list of the corpus below
 * goes through slurm_hostlist_create, slurm_hostlist_count and
 * slurm_hostlist_shift until empty, and through n56_hostlist_expand,
 * n56_hostlist_count and n56_hostlist_match; both must give the same names
 * in the same order, or both refuse. Where they may not, the entry says
 * why, and the test checks that the difference is still the documented
 * one: lists we refuse that Slurm accepts (junk Slurm lets through), and
 * lists that older Slurm releases read otherwise than 23.11 and later.
 * Built only when configure found libslurm; otherwise it says so and
 * exits 77 (skipped). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBSLURM

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <slurm/slurm.h>
#include <slurm/slurm_version.h>

#include "job/n56job.h"

/* SAME: both give the same names or both refuse.
 * REFUSED: we refuse a list that Slurm accepts (every release).
 * SINCE: the same from Slurm `rel` on; older releases differ.
 * UNTIL: the same before Slurm `rel`; from it Slurm accepts, we refuse. */
enum how { SAME, REFUSED, SINCE, UNTIL };

struct entry {
	const char *expr;
	enum how how;
	long rel;
};

#define V2302 SLURM_VERSION_NUM(23, 2, 0)
#define V2311 SLURM_VERSION_NUM(23, 11, 0)

static char long_name[300];
static char too_many[] = "n[1-65536],m[1-65536],o[1-65536],p[1-65536],q1";

static const struct entry corpus[] = {
	/* plain names */
	{"n1", SAME, 0},
	{"login", SAME, 0},
	{"a,b,c", SAME, 0},
	{"n1,n2,n3", SAME, 0},
	{"n01,n1", SAME, 0},
	{"n9,n10", SAME, 0},
	{"n09,n10", SAME, 0},
	{"n9,n010", SAME, 0},
	{"node-1.example.com,node-2.example.com", SAME, 0},
	{"007", SAME, 0},
	{"n0", SAME, 0},
	{"n1,n1", SAME, 0},
	{"a b\tc", SAME, 0},
	{"n18446744073709551614", SAME, 0},
	/* one bracket */
	{"n[1-3]", SAME, 0},
	{"n[1-3,7]", SAME, 0},
	{"n[7,1-3]", SAME, 0},
	{"n[0-9]", SAME, 0},
	{"n[9-11]", SAME, 0},
	{"n[1]", SAME, 0},
	{"n[5-5]", SAME, 0},
	{"gpu[001-004,010]", SAME, 0},
	{"n[01-3]", SAME, 0},
	{"n[8-010]", SAME, 0},
	{"n[010-012]", SAME, 0},
	{"n[99-101]", SAME, 0},
	{"n[099-101]", SAME, 0},
	{"n[00]", SAME, 0},
	{"n[000-002]", SAME, 0},
	{"[1-2]", SAME, 0},
	{"n[1-3],gpu[1-2],login", SAME, 0},
	{"n[1-65536]", SAME, 0},
	/* text after a bracket: Slurm 23.11 on */
	{"n[0-1]-ib", SINCE, V2311},
	{"[01-02]x", SINCE, V2311},
	{"a[05]x", SINCE, V2311},
	{"ab[1-2]cd[3-4]ef", SINCE, V2311},
	{"r[1-2]n[1-2]x", SINCE, V2311},
	/* several brackets in one name */
	{"rack[1-2]-n[01-02]", SAME, 0},
	{"a[1-2]b[3-4]c[5-6]", SAME, 0},
	{"n[1-2][3]", SAME, 0},
	{"n[1-2]-[3-4]", SAME, 0},
	{"r[1-2]c[1-2]n[1-2]g[1-2]", SAME, 0},
	{"r[1-3]n[01-02],login", SAME, 0},
	{"a[1,3]b[2,4]", SAME, 0},
	{"r[01-02]-n[1-3,5]", SAME, 0},
	{"a[1-2]b[1-3]c[1-2]d[1-2]e[1-2]", SAME, 0},
	/* duplicates: kept, in order */
	{"n[1-3],n2", SAME, 0},
	{"n[1-3,2]", SAME, 0},
	{"n[1-2],n[2-3]", SAME, 0},
	{"n[1,1]", SAME, 0},
	{"a,b,a", SAME, 0},
	{"n[1-2],n[1-2]", SAME, 0},
	{"n1,n[1-2],n1", SAME, 0},
	{"a[1-2]b[1],a1b1", SAME, 0},
	/* empty parts */
	{"a,,b", SAME, 0},
	{"a,", SAME, 0},
	{",a", SAME, 0},
	{" , a ,, b , ", SAME, 0},
	{"n[1-2],,n[3-4]", SAME, 0},
	{"", REFUSED, 0},   /* Slurm: an empty list */
	{",", REFUSED, 0},
	{"  ", REFUSED, 0},
	/* malformed: both refuse */
	{"n[3-1]", SAME, 0},
	{"n[a]", SAME, 0},
	{"n[1,]", SAME, 0},
	{"n[,1]", SAME, 0},
	{"n[1,,2]", SAME, 0},
	{"n[]", SAME, 0},
	{"n[-3]", SAME, 0},
	{"n[1--3]", SAME, 0},
	{"n[1-2-3]", SAME, 0},
	{"n[1x]", SAME, 0},
	{"n[1-70000]", SAME, 0},
	{"n[0-65536]", SAME, 0},
	{"a[1-2,1-65535]b[1]", SAME, 0},
	{"a[1]b[x]c[1]", SAME, 0},
	{"a[1]b[1]c[x]", SAME, 0},
	{"ok,n[2-1]", SAME, 0},
	/* 23.11 on reads a ']' after a bracket as text */
	{"n[1-2]]", UNTIL, V2311},
	{"n[[1]]", UNTIL, V2311},
	/* 22.05 took a missing ']' as part of a name, and a newline too */
	{"n[1-2", SINCE, V2302},
	{"a\nb", SINCE, V2302},
	/* Slurm lets these through; we refuse them */
	{"n1]", REFUSED, 0},
	{"a]b[1-2]", REFUSED, 0},
	{"n[+1]", REFUSED, 0},
	{"n[ 1]", REFUSED, 0},
	{"n[1,\t2]", REFUSED, 0},
	{"n[1-]", REFUSED, 0},
	{"a[x]b[1-2]c[3]", REFUSED, 0}, /* Slurm: no host, no error */
	{"n99999999999999999999", REFUSED, 0},
	{"n[99999999999999999999]", REFUSED, 0},
	{"x[1-2]y[1-3]z[1-65536]", REFUSED, 0},
	{too_many, REFUSED, 0},
	{long_name, REFUSED, 0},
};

#define NCORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* LeakSanitizer (configure --enable-sanitizers) reads this: libslurm 22.05
 * leaks the copy of a range it refuses, inside slurm_hostlist_create
 * (tests/valgrind.supp names the same leak, more narrowly, for memcheck,
 * which still sees a hostlist this test would fail to destroy). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:slurm_hostlist_create_dims\n";
}

/* What libslurm makes of expr: the names (NULL when it refuses). */
static char **slurm_names(const char *expr, size_t *n, int *count)
{
	/* hostlist_t became a struct (taken by pointer) in 23.11. */
	__typeof__(slurm_hostlist_create("")) hl = slurm_hostlist_create(expr);
	char **v = NULL, *h;
	size_t cap = 0;

	*n = 0;
	*count = -1;
	if (!hl)
		return NULL;
	*count = slurm_hostlist_count(hl);
	while ((h = slurm_hostlist_shift(hl))) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[(*n)++] = h;
	}
	slurm_hostlist_destroy(hl);
	if (!v)
		v = calloc(1, sizeof(*v)); /* accepted, no names */
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; *s && o + 5 < len; s++)
		o += (size_t)snprintf(buf + o, len - o,
				      *s == '\n' ? "\\n" : *s == '\t' ? "\\t" :
				      "%c", *s);
	if (*s)
		snprintf(buf + o, len - o, "...");
}

/* 1 when ours and Slurm's agree on expr (names, order, count). */
static int agree(const char *expr, char *why, size_t whylen)
{
	char **mine = NULL, **theirs, err[512];
	size_t nmine = 0, ntheirs;
	int count, rc = 0;
	long mycount = n56_hostlist_count(expr, err, sizeof(err));
	int refused = n56_hostlist_expand(expr, &mine, &nmine, err,
					  sizeof(err)) != 0;

	theirs = slurm_names(expr, &ntheirs, &count);
	if (refused != (mycount < 0)) {
		snprintf(why, whylen, "expand and count disagree");
	} else if (refused || !theirs) {
		rc = refused && !theirs;
		snprintf(why, whylen, "%s", refused ? err :
			 "Slurm refuses, we accept");
		if (refused && theirs)
			snprintf(why, whylen, "Slurm gives %zu names, we "
				 "refuse: %s", ntheirs, err);
	} else if (nmine != ntheirs || mycount != count) {
		snprintf(why, whylen, "we give %zu names (count %ld), Slurm "
			 "%zu (count %d)", nmine, mycount, ntheirs, count);
	} else {
		rc = 1;
		for (size_t i = 0; i < nmine && rc; i++) {
			if (strcmp(mine[i], theirs[i])) {
				snprintf(why, whylen, "name %zu: ours '%s', "
					 "Slurm's '%s'", i, mine[i],
					 theirs[i]);
				rc = 0;
			} else if (n56_hostlist_match(expr, mine[i], err,
						      sizeof(err)) != 1) {
				snprintf(why, whylen, "'%s' does not match",
					 mine[i]);
				rc = 0;
			}
			/* A list that big: matching every name is slow. */
			if (nmine > 64 && i == 8)
				break;
		}
	}
	n56_hostlist_free(mine, nmine);
	free_names(theirs, ntheirs);
	return rc;
}

static void corpus_against_libslurm(void **state)
{
	/* The release of the slurm.h it was built with: libslurm's own
	 * slurm_api_version() gives the API number, not the release. */
	long ver = SLURM_VERSION_NUMBER;
	size_t same = 0, documented = 0, wrong = 0;
	char why[1024], show[128];

	(void)state;
	memset(long_name, 'n', sizeof(long_name) - 1);
	for (size_t i = 0; i < NCORPUS; i++) {
		const struct entry *e = &corpus[i];
		int ok = agree(e->expr, why, sizeof(why));
		int expect = e->how == SAME ||
			     (e->how == SINCE && ver >= e->rel) ||
			     (e->how == UNTIL && ver < e->rel);
		char **mine = NULL, err[512];
		size_t nmine = 0;

		printable(e->expr, show, sizeof(show));
		if (expect) {
			same += ok;
			if (!ok) {
				wrong++;
				printf("DIFFER '%s': %s\n", show, why);
			}
			continue;
		}
		/* A documented difference: we must refuse where the entry
		 * says so, and Slurm must still differ. */
		int we_refuse = n56_hostlist_expand(e->expr, &mine, &nmine,
						    err, sizeof(err)) != 0;
		n56_hostlist_free(mine, nmine);
		if (ok || ((e->how == REFUSED || e->how == UNTIL) &&
			   !we_refuse)) {
			wrong++;
			printf("NOT AS DOCUMENTED '%s': %s\n", show,
			       ok ? "Slurm now agrees: update the corpus" :
			       why);
			continue;
		}
		documented++;
		printf("documented difference '%s': %s\n", show, why);
	}
	printf("hostlist corpus: %zu lists; %zu agree with libslurm of Slurm "
	       "%ld.%02ld.%ld, %zu differ as documented, %zu otherwise\n",
	       NCORPUS, same, SLURM_VERSION_MAJOR(ver),
	       SLURM_VERSION_MINOR(ver), SLURM_VERSION_MICRO(ver), documented,
	       wrong);
	assert_int_equal(wrong, 0);
	assert_true(NCORPUS >= 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_against_libslurm),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	printf("SKIP: configure found no libslurm (slurm/slurm.h and "
	       "libslurm.so, Debian's libslurm-dev): the host list is not "
	       "compared with Slurm's\n");
	return 77;
}

#endif
