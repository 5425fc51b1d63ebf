/* The per-rank environment for a small hand-built plan: every name, value
 * and the order, and the exact text of each refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topology/rankenv.h"

struct fixture {
	struct n56_policy policy;
	struct n56_plan plan;
	struct n56_env_entry fixed[2];
	struct n56_env_entry patch[2];
	struct n56_placer *pl;
	struct n56_env env;
	char err[256];
};

/* 2 nodes x 4 GPUs, islands {0,2} and {1,3}; tp 2, ep 2, pp 2, dp 2. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct n56_node_shape s = {
		.gpus = 4,
		.nislands = 2,
		.nodes_per_domain = 1,
		.island_of = { 0, 1, 0, 1 },
	};
	char err[256];

	if (!f)
		return -1;
	f->policy.topology.nic_env.v = (char *)"NCCL_IB_HCA";
	f->fixed[0] =
		(struct n56_env_entry){ (char *)"CUDA_DEVICE_MAX_CONNECTIONS",
					(char *)"1", N56_ORIGIN_DERIVED,
					(char *)"TP > 1 needs it" };
	f->fixed[1] =
		(struct n56_env_entry){ (char *)"NCCL_DEBUG", (char *)"WARN",
					N56_ORIGIN_SITE_PINNED, NULL };
	f->patch[0] = (struct n56_env_entry){ (char *)"NAM56R_R_LAYER_INDICES",
					      (char *)"12,24",
					      N56_ORIGIN_RECIPE, NULL };
	f->patch[1] = (struct n56_env_entry){ (char *)"NAM56R_SEAMS",
					      (char *)"recurrent_tail",
					      N56_ORIGIN_RECIPE, NULL };
	f->plan.policy = &f->policy;
	f->plan.nodes = 2;
	f->plan.gpus_per_node = 4;
	f->plan.par = (struct n56_parallel){
		.tp = 2,
		.pp = 2,
		.vpp = 1,
		.ep = 2,
		.etp = 1,
		.cp = 1,
		.dp = 2,
		.world = 8,
	};
	f->plan.fixed_policy = (struct n56_env){ f->fixed, 2 };
	f->plan.patch_surface = (struct n56_env){ f->patch, 2 };
	memset(f->plan.plan_sha256_hex, 'a', 64);
	if (n56_placer_new(&f->plan.par, &s, 2, &f->pl, NULL, err,
			   sizeof(err)) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_env_clear(&f->env);
	n56_placer_free(f->pl);
	free(f);
	return 0;
}

static void expect_env(const struct n56_env *e, const char *const *want,
		       size_t n)
{
	for (size_t i = 0; i < n && i < e->n; i++) {
		char got[256];

		snprintf(got, sizeof(got), "%s=%s", e->v[i].name,
			 e->v[i].value);
		assert_string_equal(got, want[i]);
	}
	assert_int_equal(e->n, n);
}

/* The entry called name, failing with the names present when absent. */
static const struct n56_env_entry *entry(const struct n56_env *e,
					 const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].name, name))
			return &e->v[i];
	print_error("%s is not in the environment of %zu variables\n", name,
		    e->n);
	fail();
	return NULL;
}

/* name=value of one variable, by name. */
static void expect_var(const struct n56_env *e, const char *name,
		       const char *value)
{
	char got[256], want[256];

	snprintf(got, sizeof(got), "%s=%s", name, entry(e, name)->value);
	snprintf(want, sizeof(want), "%s=%s", name, value);
	assert_string_equal(got, want);
}

static void test_rank_env_exact(void **state)
{
	struct fixture *f = *state;
	/* Rank 5: node 1, local rank 1. Island 0 ({0,2}) takes local ranks
	 * 0 and 1, so local rank 1 runs on GPU 2, global island 1*2+0. */
	static const char *const want[] = {
		"RANK=5",
		"WORLD_SIZE=8",
		"LOCAL_RANK=1",
		"LOCAL_WORLD_SIZE=4",
		"GROUP_RANK=1",
		"MASTER_ADDR=n001",
		"MASTER_PORT=29500",
		"CUDA_VISIBLE_DEVICES=0,2,1,3",
		"NAM56R_TP_RANK=1",
		"NAM56R_CP_RANK=0",
		"NAM56R_EP_RANK=1",
		"NAM56R_DP_RANK=0",
		"NAM56R_PP_RANK=1",
		"NAM56R_ISLAND=2",
		("NAM56R_PLAN_SHA256=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		"CUDA_DEVICE_MAX_CONNECTIONS=1",
		"NCCL_DEBUG=WARN",
		"NAM56R_R_LAYER_INDICES=12,24",
		"NAM56R_SEAMS=recurrent_tail",
		"NCCL_IB_HCA=mlx5_1",
	};

	assert_int_equal(n56_rank_env(&f->plan, f->pl, 5, "n001", 29500,
				      "mlx5_1", &f->env, f->err,
				      sizeof(f->err)),
			 0);
	expect_env(&f->env, want, sizeof(want) / sizeof(want[0]));
	/* Origins travel with the copied entries. */
	assert_int_equal(entry(&f->env, "NCCL_DEBUG")->origin,
			 N56_ORIGIN_SITE_PINNED);
	assert_string_equal(entry(&f->env, "CUDA_DEVICE_MAX_CONNECTIONS")->why,
			    "TP > 1 needs it");
	assert_null(entry(&f->env, "NAM56R_R_LAYER_INDICES")->why);
	n56_env_clear(&f->env);
	assert_int_equal(f->env.n, 0);
	assert_null(f->env.v);

	/* No NIC known: its variable is left out. */
	assert_int_equal(n56_rank_env(&f->plan, f->pl, 5, "n001", 29500, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 0);
	expect_env(&f->env, want, sizeof(want) / sizeof(want[0]) - 1);
	n56_env_clear(&f->env);

	/* The site pinned the NIC variable itself: the pin wins. */
	f->fixed[1].name = (char *)"NCCL_IB_HCA";
	f->fixed[1].value = (char *)"mlx5_0";
	assert_int_equal(n56_rank_env(&f->plan, f->pl, 5, "n001", 29500,
				      "mlx5_1", &f->env, f->err,
				      sizeof(f->err)),
			 0);
	assert_int_equal(f->env.n, sizeof(want) / sizeof(want[0]) - 1);
	expect_var(&f->env, "NCCL_IB_HCA", "mlx5_0");
	assert_int_equal(entry(&f->env, "NCCL_IB_HCA")->origin,
			 N56_ORIGIN_SITE_PINNED);
}

static void test_rank_env_every_rank(void **state)
{
	struct fixture *f = *state;

	/* Rank identity matches the placement for every rank. */
	for (long r = 0; r < 8; r++) {
		struct n56_rank_place p;
		char want[32];

		n56_place_rank(f->pl, r, &p);
		assert_int_equal(n56_rank_env(&f->plan, f->pl, r, "n001", 1,
					      NULL, &f->env, f->err,
					      sizeof(f->err)),
				 0);
		snprintf(want, sizeof(want), "%ld", r);
		expect_var(&f->env, "RANK", want);
		snprintf(want, sizeof(want), "%d", p.local_rank);
		expect_var(&f->env, "LOCAL_RANK", want);
		snprintf(want, sizeof(want), "%ld", p.pp);
		expect_var(&f->env, "NAM56R_PP_RANK", want);
		snprintf(want, sizeof(want), "%ld", p.tp);
		expect_var(&f->env, "NAM56R_TP_RANK", want);
		snprintf(want, sizeof(want), "%ld", p.dp);
		expect_var(&f->env, "NAM56R_DP_RANK", want);
		n56_env_clear(&f->env);
	}
}

static void test_rank_env_refusals(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(n56_rank_env(&f->plan, f->pl, 8, "n001", 29500, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "rank 8 is outside 0..7 of the plan");
	assert_int_equal(f->env.n, 0);
	assert_int_equal(n56_rank_env(&f->plan, f->pl, -1, "n001", 29500, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "rank -1 is outside 0..7 of the plan");
	assert_int_equal(n56_rank_env(&f->plan, f->pl, 0, "", 29500, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "no master address: pass the first host "
				    "of the job's node list");
	assert_int_equal(n56_rank_env(&f->plan, f->pl, 0, NULL, 29500, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "no master address: pass the first host "
				    "of the job's node list");
	assert_int_equal(n56_rank_env(&f->plan, f->pl, 0, "n001", 0, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "master port 0 is outside 1..65535; set "
				    "record.master_port in the site policy");
	assert_int_equal(n56_rank_env(&f->plan, f->pl, 0, "n001", 65536, NULL,
				      &f->env, f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "master port 65536 is outside 1..65535; "
			    "set record.master_port in the site policy");
	assert_int_equal(n56_rank_env(NULL, f->pl, 0, "n001", 1, NULL, &f->env,
				      f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "the rank environment needs a plan, a "
				    "placement and a result");
	n56_env_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rank_env_exact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rank_env_every_rank, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rank_env_refusals, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
