/* job/hostlist.c against libslurm itself: every list of the corpus below
 * goes through slurm_hostlist_create, slurm_hostlist_count and
 * slurm_hostlist_shift until empty, and through n56_hostlist_expand,
 * n56_hostlist_count and n56_hostlist_match; both must give the same names
 * in the same order, or both refuse: on every list, whichever release
 * it is built with (job/hostlist.c follows the release's reading; lists
 * below that releases read differently say so). Built only when configure found libslurm; otherwise it says so and
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

static char long_name[300];
static char too_many[] = "n[1-65536],m[1-65536],o[1-65536],p[1-65536],q1";

static const char *const corpus[] = {
	/* plain names */
	"n1",
	"login",
	"a,b,c",
	"n1,n2,n3",
	"n01,n1",
	"n9,n10",
	"n09,n10",
	"n9,n010",
	"node-1.example.com,node-2.example.com",
	"007",
	"n0",
	"n1,n1",
	"a b\tc",
	"n18446744073709551614",
	/* one bracket */
	"n[1-3]",
	"n[1-3,7]",
	"n[7,1-3]",
	"n[0-9]",
	"n[9-11]",
	"n[1]",
	"n[5-5]",
	"gpu[001-004,010]",
	"n[01-3]",
	"n[8-010]",
	"n[010-012]",
	"n[99-101]",
	"n[099-101]",
	"n[00]",
	"n[000-002]",
	"[1-2]",
	"n[1-3],gpu[1-2],login",
	"n[1-65536]",
	/* text after a bracket: refused before Slurm 23.11 */
	"n[0-1]-ib",
	"[01-02]x",
	"a[05]x",
	"ab[1-2]cd[3-4]ef",
	"r[1-2]n[1-2]x",
	/* several brackets in one name */
	"rack[1-2]-n[01-02]",
	"a[1-2]b[3-4]c[5-6]",
	"n[1-2][3]",
	"n[1-2]-[3-4]",
	"r[1-2]c[1-2]n[1-2]g[1-2]",
	"r[1-3]n[01-02],login",
	"a[1,3]b[2,4]",
	"r[01-02]-n[1-3,5]",
	"a[1-2]b[1-3]c[1-2]d[1-2]e[1-2]",
	/* duplicates: kept, in order */
	"n[1-3],n2",
	"n[1-3,2]",
	"n[1-2],n[2-3]",
	"n[1,1]",
	"a,b,a",
	"n[1-2],n[1-2]",
	"n1,n[1-2],n1",
	"a[1-2]b[1],a1b1",
	/* empty parts */
	"a,,b",
	"a,",
	",a",
	" , a ,, b , ",
	"n[1-2],,n[3-4]",
	"", /* no name, no error */
	",",
	"  ",
	/* malformed: refused */
	"n[3-1]",
	"n[a]",
	"n[1,]",
	"n[,1]",
	"n[1,,2]",
	"n[]",
	"n[-3]",
	"n[1--3]",
	"n[1-2-3]",
	"n[1x]",
	"n[1-70000]",
	"n[0-65536]",
	"a[1-2,1-65535]b[1]",
	"a[1]b[x]c[1]",
	"a[1]b[1]c[x]",
	"ok,n[2-1]",
	/* a ']' after a bracket: text from 23.11 on, refused before */
	"n[1-2]]",
	"n[[1]]",
	/* 22.05 makes a name of a '[' without ']' (n[1-2 is n]) and of a
	 * newline; 23.02 on refuses the one and splits at the other */
	"n[1-2",
	"a\nb",
	/* junk Slurm reads: a ']' alone is text, strtoul reads the numbers
	 * (blanks and a sign skipped, too large is 2^64-1), a range without
	 * an end is its start */
	"n1]",
	"a]b[1-2]",
	"n[+1]",
	"n[ 1]",
	"n[1,\t2]",
	"n[1-]",
	"a[x]b[1-2]c[3]", /* no host, no error */
	"n99999999999999999999",
	"n[99999999999999999999]",
	"x[1-2]y[1-3]z[1-65536]",
	too_many,
	long_name,
	/* strtoul's reading, and Slurm's checks of it */
	"n[1a-3]", /* what follows lo is not looked at: n01 n02 n03 */
	"n[1, 2]", /* " 2" is 2, two wide */
	"n[1-+3]",
	"n[1- 3]",
	"n[ 1-2 ]", /* "2 " leaves text after hi */
	"n[ -3]",
	"n[1-  -3]", /* -3 is 2^64-3: too many */
	"n[0x1]",
	"n[-]",
	"n[08-010]",
	"n[18446744073709551615]",
	"n0018446744073709551616",
	"n[000]x,[1]x,[1]",
	/* text after the last bracket */
	"n[1-2]5",
	"n[1-2]]x",
	"x[1-2]]",
	"a[1-2]b[3]c]",
	"n[1,2]x[3]y",
	"n[1-2]-ib,m[3]-ib",
	"n[1-]x",
	"a[1]b[2]c",
	/* brackets Slurm does not pair as it cuts the list */
	"a[1[2]",
	"a[b[1]",
	"a]b[1,2]",
	"a[1]]b[2]",
	"a[1 ]b[2",
	"[",
	"[1-2",
	"n[1-2],[",
	"a\n",
	"\n\n",
	/* a bad bracket further left than the one before the last: no
	 * host from that name, no error; too many values there: cut */
	"a[0]b[x]c[1]d[1]",
	"ok,a[x]b[1]c[1]",
	"a[x]b[y]c[1-2]d[3]",
	"a[1-2,1-65535]b[1]c[1]",
	"a[1-3,65530-65535,1-65535,7]b[1-2]c[1]",
	"a[1-65536]b[1]c[1-2]",
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
				      *s == '\n'   ? "\\n"
				      : *s == '\t' ? "\\t"
						   : "%c",
				      *s);
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
	int refused =
		n56_hostlist_expand(expr, &mine, &nmine, err, sizeof(err)) != 0;

	theirs = slurm_names(expr, &ntheirs, &count);
	if (refused != (mycount < 0)) {
		snprintf(why, whylen, "expand and count disagree");
	} else if (refused || !theirs) {
		rc = refused && !theirs;
		snprintf(why, whylen, "%s",
			 refused ? err : "Slurm refuses, we accept");
		if (refused && theirs)
			snprintf(why, whylen,
				 "Slurm gives %zu names, we "
				 "refuse: %s",
				 ntheirs, err);
	} else if (nmine != ntheirs || mycount != count) {
		snprintf(why, whylen,
			 "we give %zu names (count %ld), Slurm "
			 "%zu (count %d)",
			 nmine, mycount, ntheirs, count);
	} else {
		rc = 1;
		for (size_t i = 0; i < nmine && rc; i++) {
			if (strcmp(mine[i], theirs[i])) {
				snprintf(why, whylen,
					 "name %zu: ours '%s', "
					 "Slurm's '%s'",
					 i, mine[i], theirs[i]);
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
	size_t same = 0, wrong = 0;
	char why[1024], show[128];

	(void)state;
	memset(long_name, 'n', sizeof(long_name) - 1);
	for (size_t i = 0; i < NCORPUS; i++) {
		int ok = agree(corpus[i], why, sizeof(why));

		same += ok;
		if (!ok) {
			wrong++;
			printable(corpus[i], show, sizeof(show));
			printf("DIFFER '%s': %s\n", show, why);
		}
	}
	printf("hostlist corpus: %zu lists; %zu agree with libslurm of Slurm "
	       "%ld.%02ld.%ld, %zu differ\n",
	       NCORPUS, same, SLURM_VERSION_MAJOR(ver),
	       SLURM_VERSION_MINOR(ver), SLURM_VERSION_MICRO(ver), wrong);
	assert_int_equal(wrong, 0);
	assert_true(NCORPUS >= 110);
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
