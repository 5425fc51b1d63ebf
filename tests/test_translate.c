/* The generated native args against reviewed goldens (tests/golden, one
 * argument per line), and the properties every argv must have: no env,
 * no VPP flag, the split pattern as --hybrid-layer-pattern. */
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
	struct n56_recipe *r;
	struct n56_policy pol;
	struct n56_plan *plan;
	struct n56_diags d;
	char *golden;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->pol.path = "none";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_plan_free(f->plan);
	n56_recipe_free(f->r);
	n56_diags_free(&f->d);
	free(f->golden);
	free(f);
	return 0;
}

static void load(struct fixture *f, const char *recipe)
{
	char path[4096];

	if (!recipe) {
		assert_int_equal(n56_recipe_builtin(&f->r, &f->d), 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", SRCDIR, recipe);
	if (n56_recipe_load(path, &f->r, &f->d)) {
		for (size_t i = 0; i < f->d.n; i++)
			print_error("%s\n", f->d.v[i].msg);
		fail_msg("%s does not load", path);
	}
}

static void plan(struct fixture *f, long nodes, long gpus)
{
	struct n56_plan_request req = { nodes, gpus };

	if (n56_plan_build(f->r, &f->pol, &req, &f->plan, &f->d)) {
		for (size_t i = 0; i < f->d.n; i++)
			print_error("%s\n", f->d.v[i].msg);
		fail_msg("the plan does not build");
	}
}

static char *without_bars(const char *s)
{
	char *o = strdup(s), *w = o;

	assert_non_null(o);
	for (; *s; s++)
		if (*s != '|')
			*w++ = *s;
	*w = '\0';
	return o;
}

static int count_bars(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '|';
	return n;
}

static void assert_golden(struct fixture *f, const char *name)
{
	char path[4096];
	size_t len = 0, i = 0;
	char *line, *save = NULL;

	snprintf(path, sizeof(path), "%s/tests/golden/%s", SRCDIR, name);
	assert_int_equal(n56_read_file(path, 1 << 20, &f->golden, &len, &f->d),
			 0);
	for (line = strtok_r(f->golden, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		assert_true(i < f->plan->argc);
		/* Where the bars go is the split's choice (policy/layout.c,
		 * tested there): the golden pattern has none. */
		if (i &&
		    !strcmp(f->plan->argv[i - 1], "--hybrid-layer-pattern")) {
			char *bare = without_bars(f->plan->argv[i]);

			assert_string_equal(bare, line);
			free(bare);
			continue;
		}
		assert_string_equal(f->plan->argv[i], line);
	}
	assert_int_equal(i, f->plan->argc);
	assert_null(f->plan->argv[f->plan->argc]);
}

/* What every generated argv must satisfy, whatever the recipe. */
static void assert_argv_properties(const struct n56_plan *p)
{
	size_t n_pattern = 0;

	for (size_t i = 0; i < p->argc; i++) {
		const char *a = p->argv[i];
		const char *eq = strchr(a, '=');

		/* NAME=VALUE is env, which belongs to the fixed policy. */
		if (eq && a[0] >= 'A' && a[0] <= 'Z')
			fail_msg("env in argv: %s", a);
		assert_null(strstr(a, "virtual-pipeline"));
		if (!strcmp(a, "--hybrid-layer-pattern")) {
			n_pattern++;
			assert_true(i + 1 < p->argc);
			assert_string_equal(p->argv[i + 1],
					    p->layout.native_pattern);
		}
	}
	assert_int_equal(n_pattern, 1);
	assert_int_equal(count_bars(p->layout.native_pattern),
			 p->par.pp * p->par.vpp - 1);
}

static void test_builtin_1x8(void **state)
{
	struct fixture *f = *state;

	load(f, NULL);
	plan(f, 1, 8);
	assert_golden(f, "builtin-1x8.args");
	assert_argv_properties(f->plan);
	/* pp 2 x vpp 2 = 4 segments, MTP depth 2 after `/`. */
	assert_int_equal(count_bars(f->plan->layout.native_pattern), 3);
	assert_int_equal(f->plan->layout.nstages, 4);
}

/* 4 x 8 is refused (one microbatch, fewer than interleaving's group):
 * tests/test_validate.c. */
static void test_nam56r_2x8(void **state)
{
	struct fixture *f = *state;

	load(f, "examples/nam56r.yaml");
	plan(f, 2, 8);
	assert_golden(f, "nam56r-2x8.args");
	assert_argv_properties(f->plan);
	assert_int_equal(f->plan->par.dp, 8);
	assert_int_equal(f->plan->par.world, 16);
}

static void test_gqa_tp2(void **state)
{
	struct fixture *f = *state;

	load(f, "tests/data/plan/gqa-tp2.yaml");
	plan(f, 1, 8);
	assert_golden(f, "gqa-tp2-1x8.args");
	assert_argv_properties(f->plan);
	assert_true(f->plan->par.pp_before_dp);
}

static void test_dense_graphs(void **state)
{
	struct fixture *f = *state;

	load(f, "tests/data/plan/dense-graphs.yaml");
	plan(f, 1, 8);
	assert_golden(f, "dense-graphs-1x8.args");
	assert_argv_properties(f->plan);
}

/* The plan hash changes with what the ranks run, not with how the world
 * is cut into nodes (another world changes the microbatch count, and so
 * may change the split of least iteration time). */
static void test_plan_hash(void **state)
{
	struct fixture *f = *state;
	struct n56_plan *other = NULL;
	struct n56_plan_request req = { 2, 4 };
	char first[65];

	load(f, NULL);
	plan(f, 1, 8);
	assert_int_equal(strlen(f->plan->plan_sha256_hex), 64);
	strcpy(first, f->plan->plan_sha256_hex);
	assert_int_equal(n56_plan_build(f->r, &f->pol, &req, &other, &f->d), 0);
	assert_string_equal(other->plan_sha256_hex, first);
	n56_plan_free(other);
	other = NULL;
	req.nodes = 1;
	f->r->batch.global_batch_size.v = 128;
	assert_int_equal(n56_plan_build(f->r, &f->pol, &req, &other, &f->d), 0);
	assert_string_not_equal(other->plan_sha256_hex, first);
	n56_plan_free(other);
}

static void test_command_copied(void **state)
{
	struct fixture *f = *state;

	load(f, NULL);
	plan(f, 1, 8);
	assert_int_equal(f->plan->ncommand, 2);
	assert_string_equal(f->plan->command[0], "python3");
	assert_string_equal(f->plan->command[1], "pretrain_hybrid.py");
	assert_null(f->plan->command[2]);
}

static void test_free_null(void **state)
{
	(void)state;
	n56_plan_free(NULL);
	n56_layout_clear(NULL);
	n56_argv_free(NULL);
	n56_env_clear(NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_builtin_1x8), T(test_nam56r_2x8),
		T(test_gqa_tp2),     T(test_dense_graphs),
		T(test_plan_hash),   T(test_command_copied),
		T(test_free_null),
	};
#undef T

	return cmocka_run_group_tests_name("translate", tests, NULL, NULL);
}
