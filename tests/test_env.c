/* The fixed-policy env (pinned > recipe > defaults > derived, deny and allow
 * lists, the NAM56R_* reservation) and the runtime patch surface. Recipes
 * and policies are filled by hand: the merge is tested apart from YAML. */
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
	struct n56_recipe r;
	struct n56_policy p;
	struct n56_layout l;
	struct n56_env env;
	struct n56_diags d;
	struct n56_kv renv[8];
	struct n56_kv pinned[4];
	struct n56_kv defaults[4];
	char *deny[4];
	char *allow[4];
	char *seams[4];
	long engram[4];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->r.path = "r.yaml";
	f->p.path = "p.yaml";
	f->r.env.v = f->renv;
	f->p.env.pinned.v = f->pinned;
	f->p.env.defaults.v = f->defaults;
	f->p.env.deny.v = f->deny;
	f->p.env.allow.v = f->allow;
	f->r.runtime.seams.v = f->seams;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_env_clear(&f->env);
	n56_layout_clear(&f->l);
	n56_diags_free(&f->d);
	free(f);
	return 0;
}

static void recipe_env(struct fixture *f, const char *name, const char *value)
{
	size_t i = f->r.env.n++;

	f->renv[i] = (struct n56_kv){ (char *)name,
				      (char *)value,
				      { 30 + (int)i, 3 } };
}

static const char *diag_text(const struct fixture *f, size_t i)
{
	static char buf[1024];

	assert_true(i < f->d.n);
	n56_diag_format(&f->d.v[i], buf, sizeof(buf));
	return buf;
}

static void assert_entry(const struct fixture *f, const char *name,
			 const char *value, enum n56_origin origin)
{
	const struct n56_env_entry *e = n56_env_find(&f->env, name);

	assert_non_null(e);
	assert_string_equal(e->value, value);
	assert_string_equal(n56_origin_name(e->origin),
			    n56_origin_name(origin));
}

static void test_origin_names(void **state)
{
	(void)state;
	assert_string_equal(n56_origin_name(N56_ORIGIN_SITE_PINNED),
			    "site-pinned");
	assert_string_equal(n56_origin_name(N56_ORIGIN_RECIPE), "recipe");
	assert_string_equal(n56_origin_name(N56_ORIGIN_SITE_DEFAULT),
			    "site-default");
	assert_string_equal(n56_origin_name(N56_ORIGIN_DERIVED), "derived");
}

static void test_precedence(void **state)
{
	struct fixture *f = *state;

	f->pinned[0] = (struct n56_kv){ "NCCL_IB_HCA", "mlx5", { 3, 5 } };
	f->p.env.pinned.n = 1;
	f->defaults[0] = (struct n56_kv){ "NCCL_DEBUG", "WARN", { 6, 5 } };
	f->defaults[1] = (struct n56_kv){ "OMP_NUM_THREADS", "4", { 7, 5 } };
	f->p.env.defaults.n = 2;
	recipe_env(f, "NCCL_DEBUG", "INFO");
	recipe_env(f, "NCCL_IB_HCA", "mlx5");
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), 0);
	assert_int_equal(f->d.n, 0);
	assert_int_equal(f->env.n, 3);
	/* In precedence order: pinned, recipe, then the defaults left. */
	assert_string_equal(f->env.v[0].name, "NCCL_IB_HCA");
	assert_entry(f, "NCCL_IB_HCA", "mlx5", N56_ORIGIN_SITE_PINNED);
	assert_string_equal(f->env.v[1].name, "NCCL_DEBUG");
	assert_entry(f, "NCCL_DEBUG", "INFO", N56_ORIGIN_RECIPE);
	assert_entry(f, "OMP_NUM_THREADS", "4", N56_ORIGIN_SITE_DEFAULT);
	assert_null(n56_env_find(&f->env, "NOT_THERE"));
}

static void test_pinned_conflict(void **state)
{
	struct fixture *f = *state;

	f->pinned[0] = (struct n56_kv){ "NCCL_IB_HCA", "mlx5", { 3, 5 } };
	f->p.env.pinned.n = 1;
	recipe_env(f, "NCCL_IB_HCA", "mlx4");
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env NCCL_IB_HCA is pinned by the "
			    "site policy to mlx5");
	assert_entry(f, "NCCL_IB_HCA", "mlx5", N56_ORIGIN_SITE_PINNED);
}

static void test_deny_globs(void **state)
{
	struct fixture *f = *state;

	f->deny[0] = "LD_*";
	f->deny[1] = "PYTHONPATH";
	f->p.env.deny.n = 2;
	recipe_env(f, "LD_PRELOAD", "/tmp/x.so");
	recipe_env(f, "PYTHONPATH", "/tmp");
	recipe_env(f, "NCCL_DEBUG", "INFO");
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 2);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env LD_PRELOAD: denied by the site "
			    "policy (rule 'LD_*')");
	assert_string_equal(diag_text(f, 1),
			    "r.yaml:31:3: env PYTHONPATH: denied by the site "
			    "policy (rule 'PYTHONPATH')");
	assert_entry(f, "NCCL_DEBUG", "INFO", N56_ORIGIN_RECIPE);
	assert_true(n56_env_name_denied(&f->p, "LD_LIBRARY_PATH"));
	assert_false(n56_env_name_denied(&f->p, "NCCL_DEBUG"));
	assert_string_equal(n56_env_deny_rule(&f->p, "LD_AUDIT"), "LD_*");
}

static void test_allow_list(void **state)
{
	struct fixture *f = *state;

	f->allow[0] = "NCCL_*";
	f->allow[1] = "TORCH_*";
	f->p.env.allow.n = 2;
	recipe_env(f, "NCCL_DEBUG", "INFO");
	recipe_env(f, "HOME", "/root");
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:31:3: env HOME: not allowed by the site "
			    "policy (allowed: NCCL_*, TORCH_*)");
	assert_true(n56_env_name_denied(&f->p, "HOME"));
	assert_false(n56_env_name_denied(&f->p, "TORCH_NCCL_BLOCKING_WAIT"));
}

static void test_patch_surface_names_refused(void **state)
{
	struct fixture *f = *state;

	recipe_env(f, "NAM56R_R_LAYER_INDICES", "1,2");
	assert_int_equal(n56_env_merge(&f->r, NULL, &f->env, &f->d), -1);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env NAM56R_R_LAYER_INDICES: NAM56R_* "
			    "names are the runtime patch surface, written by "
			    "the plan from the recipe: remove it from env and "
			    "set the model or runtime key instead");
	assert_true(n56_env_name_denied(NULL, "NAM56R_SEAMS"));
	assert_int_equal(f->env.n, 0);
}

static void test_bad_name_and_duplicate(void **state)
{
	struct fixture *f = *state;

	recipe_env(f, "1BAD", "x");
	recipe_env(f, "A-B", "x");
	recipe_env(f, "OK_1", "x");
	recipe_env(f, "OK_1", "y");
	assert_int_equal(n56_env_merge(&f->r, NULL, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 3);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env '1BAD': not an environment "
			    "variable name (letters, digits and '_', not "
			    "starting with a digit)");
	assert_string_equal(diag_text(f, 2),
			    "r.yaml:33:3: env OK_1 is set twice: keep one");
	assert_entry(f, "OK_1", "x", N56_ORIGIN_RECIPE);
}

static void test_patch_surface(void **state)
{
	struct fixture *f = *state;
	struct n56_env *e = &f->env;

	f->r.model.pattern.v = "AEMR";
	f->r.model.depth.v = 8;
	f->r.model.attention.mla.enabled.v = true;
	f->seams[0] = "recurrent_tail";
	f->seams[1] = "mla_shared_spec";
	f->r.runtime.seams.n = 2;
	f->r.model.recurrent.mixer.v = "m2rnn";
	f->engram[0] = 0;
	f->engram[1] = 1;
	f->r.model.attention.engram.a_layer_ranks.v = f->engram;
	f->r.model.attention.engram.a_layer_ranks.n = 2;
	f->r.model.attention.mhc.v = true;
	f->r.model.moe.mod.v = true;
	f->r.model.sparse_mode.v = "gather_scatter";
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_int_equal(n56_patch_surface(&f->r, &f->l, e, &f->d), 0);
	assert_entry(f, "NAM56R_SEAMS", "recurrent_tail,mla_shared_spec",
		     N56_ORIGIN_RECIPE);
	assert_entry(f, "NAM56R_R_LAYER_INDICES", "4,8", N56_ORIGIN_RECIPE);
	assert_entry(f, "NAM56R_R_MIXER", "m2rnn", N56_ORIGIN_RECIPE);
	assert_entry(f, "NAM56R_ENGRAM_A_LAYER_RANKS", "0,1",
		     N56_ORIGIN_RECIPE);
	assert_entry(f, "NAM56R_MHC", "1", N56_ORIGIN_RECIPE);
	assert_entry(f, "NAM56R_MOD", "1", N56_ORIGIN_RECIPE);
	assert_entry(f, "NAM56R_SPARSE_MODE", "gather_scatter",
		     N56_ORIGIN_RECIPE);
	assert_null(n56_env_find(e, "NAM56R_DSA_A_LAYER_RANKS"));
	for (size_t i = 0; i < e->n; i++)
		assert_int_equal(strncmp(e->v[i].name, "NAM56R_", 7), 0);
}

static void test_patch_surface_minimal(void **state)
{
	struct fixture *f = *state;
	static long dsa[] = { 0 };

	f->r.model.pattern.v = "AM";
	f->r.model.depth.v = 2;
	f->r.model.attention.dsa.a_layer_ranks.v = dsa;
	f->r.model.attention.dsa.a_layer_ranks.n = 1;
	f->r.model.sparse_mode.v = "none";
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_int_equal(n56_patch_surface(&f->r, &f->l, &f->env, &f->d), 0);
	assert_int_equal(f->env.n, 1);
	assert_entry(f, "NAM56R_DSA_A_LAYER_RANKS", "0", N56_ORIGIN_RECIPE);
}

/* Issue 13 item 3: the names the plugin computes are never settable from
 * a recipe, whatever the deny list says (here: an empty policy). */
static void test_computed_names_refused(void **state)
{
	struct fixture *f = *state;

	f->p.topology.nic_env.v = "NCCL_IB_HCA";
	recipe_env(f, "GROUP_RANK", "0");
	recipe_env(f, "LOCAL_WORLD_SIZE", "8");
	recipe_env(f, "CUDA_VISIBLE_DEVICES", "0");
	recipe_env(f, "TORCHELASTIC_RUN_ID", "x");
	recipe_env(f, "SLURM_PROCID", "0");
	recipe_env(f, "NCCL_IB_HCA", "mlx5_0");
	recipe_env(f, "NCCL_DEBUG", "INFO");
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 6);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env GROUP_RANK: computed for every "
			    "rank by the plugin (rank identity, placement, "
			    "GPUs, rendezvous) or set by Slurm: a recipe never "
			    "sets it");
	assert_string_equal(diag_text(f, 1),
			    "r.yaml:31:3: env LOCAL_WORLD_SIZE: computed for "
			    "every rank by the plugin (rank identity, "
			    "placement, GPUs, rendezvous) or set by Slurm: a "
			    "recipe never sets it");
	assert_string_equal(diag_text(f, 5),
			    "r.yaml:35:3: env NCCL_IB_HCA: computed for every "
			    "rank by the plugin (rank identity, placement, "
			    "GPUs, rendezvous) or set by Slurm: a recipe never "
			    "sets it");
	assert_entry(f, "NCCL_DEBUG", "INFO", N56_ORIGIN_RECIPE);
	assert_int_equal(f->env.n, 1);
	assert_true(n56_env_name_denied(&f->p, "MASTER_PORT"));
	assert_string_equal(n56_env_computed_rule(&f->p, "SLURM_JOB_ID"),
			    "SLURM_*");
	assert_string_equal(n56_env_computed_rule(&f->p, "NCCL_IB_HCA"),
			    "topology.nic_env");
	assert_null(n56_env_computed_rule(NULL, "NCCL_IB_HCA"));
}

/* PATH, PYTHONSTARTUP, LD_*: refused unless env.allow names them; a bare
 * "*" in env.allow does not. */
static void test_code_names_need_allow(void **state)
{
	struct fixture *f = *state;

	recipe_env(f, "PATH", "/tmp/evil:/usr/bin");
	recipe_env(f, "PYTHONSTARTUP", "/tmp/s.py");
	recipe_env(f, "LD_LIBRARY_PATH", "/tmp");
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 3);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env PATH: it changes which program "
			    "or code a rank runs; refused unless the site "
			    "policy lists it in env.allow");
	assert_string_equal(diag_text(f, 1),
			    "r.yaml:31:3: env PYTHONSTARTUP: it changes which "
			    "program or code a rank runs; refused unless the "
			    "site policy lists it in env.allow");
	assert_int_equal(f->env.n, 0);
	n56_diags_free(&f->d);

	f->allow[0] = "*";
	f->p.env.allow.n = 1;
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 3);
	n56_diags_free(&f->d);

	f->allow[1] = "PYTHONSTARTUP";
	f->allow[2] = "LD_LIBRARY_*";
	f->p.env.allow.n = 3;
	assert_int_equal(n56_env_merge(&f->r, &f->p, &f->env, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(diag_text(f, 0),
			    "r.yaml:30:3: env PATH: it changes which program "
			    "or code a rank runs; refused unless the site "
			    "policy lists it in env.allow");
	assert_entry(f, "PYTHONSTARTUP", "/tmp/s.py", N56_ORIGIN_RECIPE);
	assert_entry(f, "LD_LIBRARY_PATH", "/tmp", N56_ORIGIN_RECIPE);
	assert_null(n56_env_code_rule(&f->p, "PYTHONSTARTUP"));
	assert_string_equal(n56_env_code_rule(&f->p, "PATH"), "PATH");
}

static void test_env_add_and_clear(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		n56_env_add(&f->env, "X", "1", N56_ORIGIN_DERIVED, "because"),
		0);
	assert_string_equal(f->env.v[0].why, "because");
	n56_env_clear(&f->env);
	assert_int_equal(f->env.n, 0);
	assert_null(f->env.v);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_origin_names),
		T(test_precedence),
		T(test_pinned_conflict),
		T(test_deny_globs),
		T(test_allow_list),
		T(test_patch_surface_names_refused),
		T(test_bad_name_and_duplicate),
		T(test_patch_surface),
		T(test_patch_surface_minimal),
		T(test_computed_names_refused),
		T(test_code_names_need_allow),
		T(test_env_add_and_clear),
	};
#undef T

	return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
