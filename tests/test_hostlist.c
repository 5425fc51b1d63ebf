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
		assert_int_equal(n56_hostlist_match(expr, want[i], err,
						    sizeof(err)), 1);
	}
	assert_int_equal(n56_hostlist_count(expr, err, sizeof(err)),
			 (long)nwant);
	n56_hostlist_free(hosts, n);
}

#define NAMES(expr, ...)                                                     \
	do {                                                                 \
		static const char *const w[] = {__VA_ARGS__};                \
		expect_names(expr, w, sizeof(w) / sizeof(w[0]));             \
	} while (0)

static void forms(void **state)
{
	(void)state;
	NAMES("n1", "n1");
	NAMES("n[1-3,7],gpu[009-010],login,a[05]x", "n1", "n2", "n3", "n7",
	      "gpu009", "gpu010", "login", "a05x");
	/* The width of the low end is kept, the high end's is not. */
	NAMES("n[08-10]", "n08", "n09", "n10");
	NAMES("n[8-010]", "n8", "n9", "n10");
	NAMES("n[099-101]", "n099", "n100", "n101");
	NAMES("n[00]", "n00");
	NAMES("[1-2]", "1", "2");
	/* Commas, blanks and newlines separate; empty parts are skipped. */
	NAMES(" a,,b\tc\nd, ", "a", "b", "c", "d");
	NAMES("n[1-2]-ib", "n1-ib", "n2-ib");
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
	NAMES("r[1-2]n[1,3]x", "r1n1x", "r1n3x", "r2n1x", "r2n3x");
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
	assert_int_equal(n56_hostlist_count("r[1-2]-n[01-36]", err,
					    sizeof(err)), 72);
	assert_int_equal(n56_hostlist_count("a,b,a,n[1-2],n1", err,
					    sizeof(err)), 6);
	assert_int_equal(n56_hostlist_count("x[1-65536]y[1-4]", err,
					    sizeof(err)), 262144);
	assert_int_equal(n56_hostlist_match("n[1-18]", "n19", err,
					    sizeof(err)), 0);
	assert_int_equal(n56_hostlist_match("n[1-18]", "n05", err,
					    sizeof(err)), 0);
	assert_int_equal(n56_hostlist_match("gpu[001-004,010]", "gpu3", err,
					    sizeof(err)), 0);
	assert_int_equal(n56_hostlist_match("a,b", "ab", err, sizeof(err)),
			 0);
	assert_int_equal(n56_hostlist_match("r[1-2]-n[3,5]", "r2-n4", err,
					    sizeof(err)), 0);
	assert_int_equal(n56_hostlist_match("r[1-2]-n[3,5]", "r2-n5", err,
					    sizeof(err)), 1);
	assert_int_equal(n56_hostlist_match("n1", NULL, err, sizeof(err)), 0);
	/* A bad list is bad whatever is looked for, even after a match. */
	assert_int_equal(n56_hostlist_match("n1,n[", "n1", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad host list 'n1,n[': missing ']'");
	assert_int_equal(n56_hostlist_match("n[", NULL, err, sizeof(err)), -1);
}

static void expect_refused(const char *expr, const char *msg)
{
	char **hosts = (char **)1, err[512] = "";
	size_t n = 7;

	assert_int_equal(n56_hostlist_expand(expr, &hosts, &n, err,
					     sizeof(err)), -1);
	assert_null(hosts);
	assert_int_equal(n, 0);
	assert_string_equal(err, msg);
	err[0] = '\0';
	assert_int_equal(n56_hostlist_count(expr, err, sizeof(err)), -1);
	assert_string_equal(err, msg);
	err[0] = '\0';
	assert_int_equal(n56_hostlist_match(expr, "n1", err, sizeof(err)),
			 -1);
	assert_string_equal(err, msg);
}

#define LIST_MSG "is not a list of numbers and ranges like [1-18] or " \
		 "[001-004,010]"

static void refusals(void **state)
{
	char big[400];

	(void)state;
	expect_refused("", "bad host list '': names no host");
	expect_refused(NULL, "bad host list '': names no host");
	expect_refused(" ,, ", "bad host list ' ,, ': names no host");
	expect_refused("n[1-", "bad host list 'n[1-': missing ']'");
	expect_refused("n1]", "bad host list 'n1]': ']' without '['");
	expect_refused("a]b[1]", "bad host list 'a]b[1]': ']' without '['");
	expect_refused("n[[1]]", "bad host list 'n[[1]]': '[' inside "
		       "brackets");
	expect_refused("n[5-1]", "bad host list 'n[5-1]': range '5-1' goes "
		       "down");
	expect_refused("n[01-1000,7-3]", "bad host list 'n[01-1000,7-3]': "
		       "range '7-3' goes down");
	expect_refused("n[]", "bad host list 'n[]': '[]' " LIST_MSG);
	expect_refused("n[a]", "bad host list 'n[a]': '[a]' " LIST_MSG);
	expect_refused("n[1,]", "bad host list 'n[1,]': '[1,]' " LIST_MSG);
	expect_refused("n[,1]", "bad host list 'n[,1]': '[,1]' " LIST_MSG);
	expect_refused("n[1,,2]", "bad host list 'n[1,,2]': '[1,,2]' "
		       LIST_MSG);
	expect_refused("n[1-]", "bad host list 'n[1-]': '[1-]' " LIST_MSG);
	expect_refused("n[-1]", "bad host list 'n[-1]': '[-1]' " LIST_MSG);
	expect_refused("n[1-2-3]", "bad host list 'n[1-2-3]': '[1-2-3]' "
		       LIST_MSG);
	expect_refused("n[+1]", "bad host list 'n[+1]': '[+1]' " LIST_MSG);
	expect_refused("n[ 1]", "bad host list 'n[ 1]': '[ 1]' " LIST_MSG);
	expect_refused("n[1x]", "bad host list 'n[1x]': '[1x]' " LIST_MSG);
	expect_refused("ok,n[2-1]", "bad host list 'ok,n[2-1]': range '2-1' "
		       "goes down");
	expect_refused("n[0-65536]", "bad host list 'n[0-65536]': range "
		       "'0-65536' names more than 65536 hosts (Slurm's "
		       "limit)");
	expect_refused("a[1-2,1-65535]b[1]", "bad host list "
		       "'a[1-2,1-65535]b[1]': '[1-2,1-65535]' names more than "
		       "65536 values (Slurm's limit for a bracket before the "
		       "last one)");
	expect_refused("x[1-2]y[1-3]z[1-65536]", "bad host list "
		       "'x[1-2]y[1-3]z[1-65536]': names more than 262144 "
		       "hosts");
	expect_refused("n[1-65536],m[1-65536],o[1-65536],p[1-65536],q1",
		       "bad host list 'n[1-65536],m[1-65536],o[1-65536],"
		       "p[1-65536],q1': names more than 262144 hosts");
	expect_refused("n[1234567890123456789]", "bad host list "
		       "'n[1234567890123456789]': number '1234567890123456789' "
		       "in '[1234567890123456789]' is too large");
	expect_refused("n99999999999999999999", "bad host list "
		       "'n99999999999999999999': 'n99999999999999999999' ends "
		       "in a number too large for Slurm");
	/* Leading zeros do not make a number large; a long name is. */
	NAMES("n[0000000000000000000001]", "n0000000000000000000001");
	memset(big, 'n', 300);
	big[300] = '\0';
	expect_refused(big, "bad host list 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		       "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...': a name "
		       "would be longer than 255 characters");
	memset(big, 'n', 250);
	snprintf(big + 250, sizeof(big) - 250, "[1-100000]");
	expect_refused(big, "bad host list 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		       "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...': range "
		       "'1-100000' names more than 65536 hosts (Slurm's "
		       "limit)");
	memset(big, 'n', 252);
	snprintf(big + 252, sizeof(big) - 252, "[99990-99999]");
	expect_refused(big, "bad host list 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		       "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...': a name "
		       "would be longer than 255 characters");
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
		cmocka_unit_test(small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
