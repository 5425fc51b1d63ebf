/* The host list of the job contract (job/hostlist.c): the names and their
 * order, count and match, and the exact message of every refusal.
 * tests/test_hostlist_slurm.c compares the same code with libslurm. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "job/n56job.h"

/* The release job/hostlist.c follows (configure's; the newest without). */
#ifdef N56_SLURM_VERSION_NUMBER
#define SLURM_REL N56_SLURM_VERSION_NUMBER
#else
#define SLURM_REL 0x1a0500
#endif
#define SINCE(major, minor) (SLURM_REL >= (((major) << 16) | ((minor) << 8)))

static void expect_names(const char *expr, const char *const *want,
			 size_t nwant)
{
	char **hosts = NULL, err[512] = "";
	size_t n = 0;

	if (n56_hostlist_expand(expr, &hosts, &n, err, sizeof(err)))
		fail_msg("'%s': %s", expr, err);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(hosts[i], want[i]);
		assert_int_equal(
			n56_hostlist_match(expr, want[i], err, sizeof(err)), 1);
	}
	assert_int_equal(n56_hostlist_count(expr, err, sizeof(err)),
			 (long)nwant);
	n56_hostlist_free(hosts, n);
}

#define NAMES(expr, ...)                                         \
	do {                                                     \
		static const char *const w[] = { __VA_ARGS__ };  \
		expect_names(expr, w, sizeof(w) / sizeof(w[0])); \
	} while (0)

static void expect_refused(const char *expr, const char *msg);

static void forms(void **state)
{
	(void)state;
	NAMES("n1", "n1");
	NAMES("n[1-3,7],gpu[009-010],login", "n1", "n2", "n3", "n7", "gpu009",
	      "gpu010", "login");
	/* The width of the low end is kept, the high end's is not. */
	NAMES("n[08-10]", "n08", "n09", "n10");
	NAMES("n[8-010]", "n8", "n9", "n10");
	NAMES("n[099-101]", "n099", "n100", "n101");
	NAMES("n[00]", "n00");
	NAMES("[1-2]", "1", "2");
	/* Commas and blanks separate (newlines from 23.02 on); empty parts
	 * are skipped. */
#if SINCE(23, 2)
	NAMES(" a,,b\tc\nd, ", "a", "b", "c", "d");
#else
	NAMES(" a,,b\tc\nd, ", "a", "b", "c\nd");
#endif
	/* Text after the last bracket: 23.11 on. */
#if SINCE(23, 11)
	NAMES("n[1-2]-ib,a[05]x", "n1-ib", "n2-ib", "a05x");
	NAMES("n[1-2]]", "n1]", "n2]");
	NAMES("n[[1]]", "n[1]");
#else
	expect_refused("n[1-2]-ib",
		       "bad host list 'n[1-2]-ib': '-ib' follows "
		       "a bracket (Slurm reads text there from 23.11 on)");
	expect_refused("n[1-2]]",
		       "bad host list 'n[1-2]]': ']' follows a "
		       "bracket (Slurm reads text there from 23.11 on)");
#endif
	/* strtoul reads the numbers: blanks and a sign are skipped but
	 * count in the width; a range without an end is its start. */
	NAMES("n[+1],n[ 2],n[1-]", "n01", "n02", "n1");
	NAMES("n[1, 2]", "n1", "n02");
	NAMES("n[1a-3]", "n01", "n02", "n03");
	/* A ']' alone is text. */
	NAMES("n1],a]b[1-2]", "n1]", "a]b1", "a]b2");
	/* Numbers past 2^64-1 are 2^64-1, as wide as written. */
	NAMES("n99999999999999999999", "n18446744073709551615");
	NAMES("n[0099999999999999999999]", "n0018446744073709551615");
	NAMES("n[0000000000000000000001]", "n0000000000000000000001");
}

static void several_brackets(void **state)
{
	(void)state;
	NAMES("rack[1-2]-n[01-02]", "rack1-n01", "rack1-n02", "rack2-n01",
	      "rack2-n02");
	NAMES("n[1-2][3]", "n13", "n23");
	/* Slurm's order: the last bracket fastest, then the first, then
	 * the second. */
	NAMES("a[1-2]b[3-4]c[5-6]", "a1b3c5", "a1b3c6", "a2b3c5", "a2b3c6",
	      "a1b4c5", "a1b4c6", "a2b4c5", "a2b4c6");
	NAMES("r[1-2]n[1,3]", "r1n1", "r1n3", "r2n1", "r2n3");
	/* A bad bracket left of the one before the last: Slurm drops the
	 * name; too many values there: it drops the rest. */
	NAMES("ok,a[x]b[1-2]c[3]", "ok");
	NAMES("a[1-2,7-65542,9]b[1]c[5-6]", "a1b1c5", "a1b1c6", "a2b1c5",
	      "a2b1c6");
}

static void duplicates_kept(void **state)
{
	(void)state;
	NAMES("n[1-3],n2", "n1", "n2", "n3", "n2");
	NAMES("n[1-3,2]", "n1", "n2", "n3", "n2");
	NAMES("a,b,a", "a", "b", "a");
}

static void count_and_match(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(n56_hostlist_count("n[1-18]", err, sizeof(err)), 18);
	assert_int_equal(
		n56_hostlist_count("r[1-2]-n[01-36]", err, sizeof(err)), 72);
	assert_int_equal(
		n56_hostlist_count("a,b,a,n[1-2],n1", err, sizeof(err)), 6);
	assert_int_equal(
		n56_hostlist_count("x[1-65536]y[1-4]", err, sizeof(err)),
		262144);
	assert_int_equal(n56_hostlist_match("n[1-18]", "n19", err, sizeof(err)),
			 0);
	assert_int_equal(n56_hostlist_match("n[1-18]", "n05", err, sizeof(err)),
			 0);
	assert_int_equal(n56_hostlist_match("gpu[001-004,010]", "gpu3", err,
					    sizeof(err)),
			 0);
	assert_int_equal(n56_hostlist_match("a,b", "ab", err, sizeof(err)), 0);
	assert_int_equal(
		n56_hostlist_match("r[1-2]-n[3,5]", "r2-n4", err, sizeof(err)),
		0);
	assert_int_equal(
		n56_hostlist_match("r[1-2]-n[3,5]", "r2-n5", err, sizeof(err)),
		1);
	assert_int_equal(n56_hostlist_match("n1", NULL, err, sizeof(err)), 0);
	assert_int_equal(n56_hostlist_match("", "n1", err, sizeof(err)), 0);
#if SINCE(23, 2)
	/* A bad list is bad whatever is looked for, even after a match. */
	assert_int_equal(n56_hostlist_match("n1,n[", "n1", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n1,n[': missing ']'");
	assert_int_equal(n56_hostlist_match("n[", NULL, err, sizeof(err)), -1);
#else
	/* 22.05 closes an open bracket: n[1-2 is the name n]. */
	assert_int_equal(n56_hostlist_match("n1,n[1-2", "n]", err, sizeof(err)),
			 1);
	assert_int_equal(n56_hostlist_match("[12", "12", err, sizeof(err)), 1);
#endif
}

static void expect_refused(const char *expr, const char *msg)
{
	char **hosts = (char **)1, err[512] = "";
	size_t n = 7;

	assert_int_equal(
		n56_hostlist_expand(expr, &hosts, &n, err, sizeof(err)), -1);
	assert_null(hosts);
	assert_int_equal(n, 0);
	assert_string_equal(err, msg);
	err[0] = '\0';
	assert_int_equal(n56_hostlist_count(expr, err, sizeof(err)), -1);
	assert_string_equal(err, msg);
	err[0] = '\0';
	assert_int_equal(n56_hostlist_match(expr, "n1", err, sizeof(err)), -1);
	assert_string_equal(err, msg);
}

static void names_none(const char *expr)
{
	char **hosts = (char **)1, err[256] = "";
	size_t n = 7;

	assert_int_equal(
		n56_hostlist_expand(expr, &hosts, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	n56_hostlist_free(hosts, n);
	assert_int_equal(n56_hostlist_count(expr, err, sizeof(err)), 0);
	assert_int_equal(n56_hostlist_match(expr, "n1", err, sizeof(err)), 0);
}

#define NAMES_NONE(expr) names_none(expr)

#define LIST_MSG                                              \
	"is not a list of numbers and ranges like [1-18] or " \
	"[001-004,010]"

static void refusals(void **state)
{
	char big[400];

	(void)state;
	expect_refused("n[5-1]", "bad host list 'n[5-1]': range '5-1' goes "
				 "down");
	expect_refused("n[01-1000,7-3]", "bad host list 'n[01-1000,7-3]': "
					 "range '7-3' goes down");
	expect_refused("n[]", "bad host list 'n[]': '[]' " LIST_MSG);
	expect_refused("n[a]", "bad host list 'n[a]': '[a]' " LIST_MSG);
	expect_refused("n[1,]", "bad host list 'n[1,]': '[1,]' " LIST_MSG);
	expect_refused("n[,1]", "bad host list 'n[,1]': '[,1]' " LIST_MSG);
	expect_refused("n[1,,2]",
		       "bad host list 'n[1,,2]': '[1,,2]' " LIST_MSG);
	expect_refused("n[-1]", "bad host list 'n[-1]': '[-1]' " LIST_MSG);
	expect_refused("n[1--3]",
		       "bad host list 'n[1--3]': '[1--3]' " LIST_MSG);
	expect_refused("n[1-2-3]",
		       "bad host list 'n[1-2-3]': '[1-2-3]' " LIST_MSG);
	expect_refused("n[1x]", "bad host list 'n[1x]': '[1x]' " LIST_MSG);
	expect_refused("n[0x1]", "bad host list 'n[0x1]': '[0x1]' " LIST_MSG);
	expect_refused("ok,n[2-1]", "bad host list 'ok,n[2-1]': range '2-1' "
				    "goes down");
	expect_refused("n[0-65536]",
		       "bad host list 'n[0-65536]': range "
		       "'0-65536' names more than 65536 hosts (Slurm's "
		       "limit)");
	/* A negative end is 2^64 less: too many. */
	expect_refused("n[1- -3]",
		       "bad host list 'n[1- -3]': range "
		       "'1- -3' names more than 65536 hosts (Slurm's limit)");
	expect_refused("a[1-2,1-65535]b[1]",
		       "bad host list "
		       "'a[1-2,1-65535]b[1]': '[1-2,1-65535]' names more than "
		       "65536 values (Slurm's limit for a bracket before the "
		       "last one)");
	/* The one before the last is read before those left of it. */
	expect_refused("a[x]b[y]c[1]",
		       "bad host list 'a[x]b[y]c[1]': '[y]' " LIST_MSG);
	expect_refused("a[1]b[1]c[x]",
		       "bad host list 'a[1]b[1]c[x]': '[x]' " LIST_MSG);
	expect_refused("a[1-65535]b[1-64]c[1-2]",
		       "bad host list "
		       "'a[1-65535]b[1-64]c[1-2]': names more than 4194304 "
		       "hosts (a limit of ours: Slurm has none)");
#if SINCE(23, 2)
	expect_refused("n[1-", "bad host list 'n[1-': missing ']'");
#endif
	/* A long list is cut in the message. */
	memset(big, 'n', 250);
	snprintf(big + 250, sizeof(big) - 250, "[1-100000]");
	expect_refused(big,
		       "bad host list 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		       "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...': range "
		       "'1-100000' names more than 65536 hosts (Slurm's "
		       "limit)");
}

/* What Slurm accepts that names no host, or hosts no site has. */
static void empty_and_odd(void **state)
{
	char big[400], err[256];

	(void)state;
	NAMES_NONE("");
	NAMES_NONE(NULL);
	NAMES_NONE(" ,, ");
	NAMES_NONE("a[x]b[1-2]c[3]");
	/* Names of any length. */
	memset(big, 'n', 300);
	big[300] = '\0';
	{
		const char *want[] = { big };

		expect_names(big, want, 1);
	}
	assert_int_equal(n56_hostlist_count("n[1-65536],m[1-65536],"
					    "o[1-65536],p[1-65536],q1",
					    err, sizeof(err)),
			 262145);
	assert_int_equal(
		n56_hostlist_count("x[1-2]y[1-3]z[1-65536]", err, sizeof(err)),
		393216);
	/* The strict reading of the admin map refuses what Slurm reads
	 * as some name, whatever the release. */
	assert_int_equal(n56_hostlist_count_strict("n[1-", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n[1-': missing ']'");
	assert_int_equal(n56_hostlist_count_strict("n1]", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n1]': ']' without '['");
	assert_int_equal(n56_hostlist_count_strict("n[[1]]", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n[[1]]': '[' inside "
				 "brackets");
	assert_int_equal(n56_hostlist_count_strict("n[1, 2]", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n[1, 2]': a blank inside "
				 "brackets");
	assert_int_equal(n56_hostlist_count_strict(" , ", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list ' , ': names no host");
	assert_int_equal(n56_hostlist_count_strict("n[5-1]", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n[5-1]': range '5-1' goes "
				 "down");
	assert_int_equal(
		n56_hostlist_count_strict("n[1-4],m2", err, sizeof(err)), 5);
}

/* A message that does not fit the caller's buffer is cut, not
 * overflowed. */
static void small_buffer(void **state)
{
	char err[12];

	(void)state;
	assert_int_equal(n56_hostlist_count("n[5-1]", err, sizeof(err)), -1);
	assert_string_equal(err, "bad host li");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forms),
		cmocka_unit_test(several_brackets),
		cmocka_unit_test(duplicates_kept),
		cmocka_unit_test(count_and_match),
		cmocka_unit_test(refusals),
		cmocka_unit_test(empty_and_odd),
		cmocka_unit_test(small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
