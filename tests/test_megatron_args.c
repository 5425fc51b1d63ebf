/* Native args against Megatron's argument-parser table
 * (policy/megatron_args.c): each way argparse refuses, and what it takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/megatron_args.h"

struct seen {
	size_t n;
	size_t index[8];
	char why[8][512];
};

static void record(void *ctx, size_t i, const char *why)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->index[s->n] = i;
		snprintf(s->why[s->n], sizeof(s->why[0]), "%s", why);
	}
	s->n++;
}

#define CHECK(seen, ...)                                                       \
	do {                                                                   \
		char *argv_[] = { __VA_ARGS__ };                               \
		memset(&(seen), 0, sizeof(seen));                              \
		rc = n56_megatron_args_check(argv_,                            \
					     sizeof(argv_) / sizeof(argv_[0]), \
					     record, &(seen));                 \
	} while (0)

static void test_known_args_pass(void **state)
{
	struct seen s;
	int rc;

	(void)state;
	CHECK(s, "--seed", "1234", "--bf16", "--lr", "-0.5", "--cp-comm-type",
	      "p2p", "a2a", "--position-embedding-type=rope",
	      "--hidden-dropout", "0.0");
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 0);
	assert_true(n56_megatron_flag_known("--hybrid-layer-pattern"));
	assert_false(n56_megatron_flag_known("--hybrid-layer-patern"));
}

static void test_unknown_flag(void **state)
{
	struct seen s;
	int rc;

	(void)state;
	CHECK(s, "--seed", "1", "--hybrid-layer-patern", "M");
	assert_int_equal(rc, -1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.index[0], 2);
	assert_string_equal(s.why[0], "--hybrid-layer-patern is not an option "
				      "of Megatron-LM (did you mean "
				      "--hybrid-layer-pattern?)");
	/* its value is then a stray argument, as argparse sees it */
	assert_int_equal(s.index[1], 3);
	assert_string_equal(s.why[1], "'M' is not an option and no option "
				      "before it takes it as a value: Megatron "
				      "refuses unrecognized arguments");
}

static void test_values(void **state)
{
	struct seen s;
	int rc;

	(void)state;
	CHECK(s, "--seed", "abc", "--bf16=1", "--position-embedding-type",
	      "foo", "--cp-comm-type", "--lr");
	assert_int_equal(rc, -1);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.why[0], "--seed takes an integer, not 'abc'");
	assert_string_equal(s.why[1], "--bf16 takes no value (remove '=1')");
	assert_string_equal(s.why[2],
			    "--position-embedding-type 'foo' is not one of "
			    "Megatron's choices (learned_absolute, rope, yarn, "
			    "mrope, relative, none)");
	assert_string_equal(s.why[3], "--cp-comm-type takes a value, none "
				      "given");
	assert_string_equal(s.why[4], "--lr takes a value, none given");
}

static void test_short_option(void **state)
{
	struct seen s;
	int rc;

	(void)state;
	CHECK(s, "-x");
	assert_int_equal(rc, -1);
	assert_string_equal(s.why[0], "'-x': Megatron's options are long "
				      "(--name)");
	CHECK(s, "--");
	assert_int_equal(rc, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_args_pass),
		cmocka_unit_test(test_unknown_flag),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_short_option),
	};

	return cmocka_run_group_tests_name("megatron_args", tests, NULL, NULL);
}
