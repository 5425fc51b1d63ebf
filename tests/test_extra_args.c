/* runtime.extra_args against the generated native args (issue 13 item 2):
 * a flag the translation generated cannot be given again from the recipe,
 * as `--flag value` or `--flag=value`, with the same value or another;
 * flags the translation does not generate pass through. The recipe is the
 * built-in one with its extra_args replaced. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/plan.h"

struct fixture {
	char *yaml;
	struct n56_recipe *r;
	struct n56_policy pol;
	struct n56_plan *plan;
	struct n56_diags d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->pol.path = "site.yaml";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_plan_free(f->plan);
	n56_recipe_free(f->r);
	n56_diags_free(&f->d);
	free(f->yaml);
	free(f);
	return 0;
}

/* The built-in recipe with `extra_args: LIST` (a flow sequence). */
static int build_with(struct fixture *f, const char *list)
{
	struct n56_plan_request req = { 2, 8 };
	const char *at = strstr(n56_builtin_recipe_yaml, "extra_args:");
	const char *eol;
	size_t len;

	assert_non_null(at);
	eol = strchr(at, '\n');
	assert_non_null(eol);
	len = (size_t)(at - n56_builtin_recipe_yaml);
	f->yaml = malloc(len + strlen(list) + strlen(eol) + 16);
	assert_non_null(f->yaml);
	memcpy(f->yaml, n56_builtin_recipe_yaml, len);
	sprintf(f->yaml + len, "extra_args: %s%s", list, eol);
	if (n56_recipe_parse("t.yaml", f->yaml, strlen(f->yaml), &f->r, &f->d))
		fail_msg("the test recipe does not parse: %s",
			 f->d.n ? f->d.v[0].msg : "?");
	return n56_plan_build(f->r, &f->pol, &req, &f->plan, &f->d);
}

static const char *diag(const struct fixture *f, size_t i)
{
	static char buf[1024];

	assert_true(i < f->d.n);
	n56_diag_format(&f->d.v[i], buf, sizeof(buf));
	return buf;
}

/* The line of extra_args in the test recipe, for the positions. */
static int extra_line(const struct fixture *f)
{
	int line = 1;

	for (const char *c = f->yaml; c < strstr(f->yaml, "extra_args:"); c++)
		line += *c == '\n';
	return line;
}

static void test_generated_flag_with_value(void **state)
{
	struct fixture *f = *state;
	char want[512];

	assert_int_equal(build_with(f, "[--tensor-model-parallel-size, \"8\"]"),
			 -1);
	assert_null(f->plan);
	assert_int_equal(f->d.n, 1);
	snprintf(want, sizeof(want),
		 "t.yaml:%d:16: runtime.extra_args: "
		 "--tensor-model-parallel-size is generated from the recipe "
		 "(the plan gives '--tensor-model-parallel-size 1'): change "
		 "the recipe key, not extra_args",
		 extra_line(f));
	assert_string_equal(diag(f, 0), want);
}

static void test_generated_flag_equals_form(void **state)
{
	struct fixture *f = *state;
	char want[512];

	assert_int_equal(build_with(f, "[--log-interval, \"1\", "
				       "--micro-batch-size=4]"),
			 -1);
	assert_int_equal(f->d.n, 1);
	snprintf(want, sizeof(want),
		 "t.yaml:%d:37: runtime.extra_args: --micro-batch-size is "
		 "generated from the recipe (the plan gives "
		 "'--micro-batch-size 4'): change the recipe key, not "
		 "extra_args",
		 extra_line(f));
	assert_string_equal(diag(f, 0), want);
}

/* The same value is refused too: the flag is the recipe's. */
static void test_generated_switch_and_pattern(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build_with(f,
				    "[--hybrid-layer-pattern, x, "
				    "--pipeline-model-parallel-size, \"2\"]"),
			 -1);
	assert_int_equal(f->d.n, 2);
	assert_non_null(strstr(diag(f, 0), "--hybrid-layer-pattern is "
					   "generated from the recipe"));
	assert_non_null(strstr(diag(f, 1),
			       "(the plan gives "
			       "'--pipeline-model-parallel-size 2')"));
}

/* Flags the translation does not generate, and values that only look
 * like a generated flag's name, pass through after the generated args. */
static void test_other_flags_appended(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build_with(f, "[--log-interval, \"10\", "
				       "--save=--micro-batch-size]"),
			 0);
	assert_non_null(f->plan);
	assert_true(f->plan->argc >= 3);
	assert_string_equal(f->plan->argv[f->plan->argc - 3], "--log-interval");
	assert_string_equal(f->plan->argv[f->plan->argc - 1],
			    "--save=--micro-batch-size");
}

/* A name that only starts like a generated flag is no Megatron option at
 * all: refused by the parser-table check (policy/megatron_args.c). */
static void test_lookalike_flag_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build_with(f, "[--tensor-model-parallel-size-x, "
				       "\"2\"]"),
			 -1);
	assert_non_null(strstr(diag(f, 0),
			       "--tensor-model-parallel-size-x is "
			       "not an option of Megatron-LM (did you mean "
			       "--tensor-model-parallel-size?)"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_generated_flag_with_value),
		T(test_generated_flag_equals_form),
		T(test_generated_switch_and_pattern),
		T(test_other_flags_appended),
		T(test_lookalike_flag_refused),
	};
#undef T

	return cmocka_run_group_tests_name("extra_args", tests, NULL, NULL);
}
