/* Megatron's start-up rules as n56_plan_build enforces them: for each rule
 * a recipe that passes and one that fails with its exact message at the
 * recipe line it comes from; and all violations reported at once. Recipes
 * are the built-in NAM56R recipe with one line changed. */
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
	char want[1024];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->yaml = strdup(n56_builtin_recipe_yaml);
	f->pol.path = "site.yaml";
	*state = f;
	return f->yaml ? 0 : -1;
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

/* Replaces the one occurrence of old in the recipe text. */
static void edit(struct fixture *f, const char *old, const char *new)
{
	char *at = strstr(f->yaml, old), *s;
	size_t ol = strlen(old), nl = strlen(new), len = strlen(f->yaml);

	assert_non_null(at);
	assert_null(strstr(at + 1, old));
	s = malloc(len - ol + nl + 1);
	assert_non_null(s);
	memcpy(s, f->yaml, (size_t)(at - f->yaml));
	memcpy(s + (at - f->yaml), new, nl);
	strcpy(s + (at - f->yaml) + nl, at + ol);
	free(f->yaml);
	f->yaml = s;
}

static void append(struct fixture *f, const char *text)
{
	size_t len = strlen(f->yaml);
	char *s = realloc(f->yaml, len + strlen(text) + 1);

	assert_non_null(s);
	strcpy(s + len, text);
	f->yaml = s;
}

/* "t.yaml:L:C" of the text mark inside the unique text needle. */
static const char *loc(const struct fixture *f, const char *needle,
		       const char *mark)
{
	static char buf[64];
	const char *at = strstr(f->yaml, needle), *m, *bol;
	int line = 1;

	assert_non_null(at);
	m = strstr(at, mark);
	assert_non_null(m);
	bol = f->yaml;
	for (const char *c = f->yaml; c < m; c++)
		if (*c == '\n') {
			line++;
			bol = c + 1;
		}
	snprintf(buf, sizeof(buf), "t.yaml:%d:%d", line, (int)(m - bol) + 1);
	return buf;
}

static int build(struct fixture *f, long nodes, long gpus)
{
	struct n56_plan_request req = { nodes, gpus };

	if (n56_recipe_parse("t.yaml", f->yaml, strlen(f->yaml), &f->r,
			     &f->d)) {
		for (size_t i = 0; i < f->d.n; i++)
			print_error("parse: %s\n", f->d.v[i].msg);
		fail_msg("the test recipe does not parse");
	}
	return n56_plan_build(f->r, &f->pol, &req, &f->plan, &f->d);
}

static void expect(struct fixture *f, size_t i, const char *where,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void expect(struct fixture *f, size_t i, const char *where,
		   const char *fmt, ...)
{
	char got[1024], msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(f->want, sizeof(f->want), "%s: %s", where, msg);
	assert_true(i < f->d.n);
	n56_diag_format(&f->d.v[i], got, sizeof(got));
	assert_string_equal(got, f->want);
}

/* Drops the last build (plan, messages, parsed recipe) before another. */
static void reset(struct fixture *f)
{
	n56_plan_free(f->plan);
	f->plan = NULL;
	n56_diags_free(&f->d);
	n56_recipe_free(f->r);
	f->r = NULL;
}

static bool has_arg(const struct n56_plan *p, const char *a)
{
	for (size_t i = 0; i < p->argc; i++)
		if (!strcmp(p->argv[i], a))
			return true;
	return false;
}

static void test_builtin_passes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build(f, 1, 8), 0);
	assert_int_equal(f->d.n, 0);
	assert_int_equal(f->plan->par.world, 8);
	assert_int_equal(f->plan->par.dp, 4);
	assert_null(n56_env_find(&f->plan->fixed_policy,
				 "CUDA_DEVICE_MAX_CONNECTIONS"));
}

static void test_builtin_names_builtin(void **state)
{
	struct fixture *f = *state;
	struct n56_plan_request req = { 1, 3 };
	char got[1024];

	assert_int_equal(n56_recipe_builtin(&f->r, &f->d), 0);
	assert_int_equal(n56_plan_build(f->r, &f->pol, &req, &f->plan, &f->d),
			 -1);
	assert_true(f->d.n >= 1);
	n56_diag_format(&f->d.v[0], got, sizeof(got));
	assert_int_equal(strncmp(got, "builtin:", 8), 0);
}

static void test_world(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build(f, 1, 3), -1);
	assert_int_equal(f->d.n, 2);
	expect(f, 0, loc(f, "\n  tp: 1", "1"),
	       "world size 3 (1 node x 3 GPUs) is not a multiple of tp 1 x "
	       "pp 2 x cp 1 = 2: run on a multiple of 2 nodes, or choose tp, "
	       "pp and cp whose product divides 3");
	expect(f, 1, loc(f, "\n  ep: 1", "1"),
	       "world size 3 is not a multiple of the expert grid etp 1 x "
	       "ep 1 x pp 2 = 2: run on a multiple of 2 nodes, or choose "
	       "etp, ep and pp whose product divides 3");
}

static void test_world_passes_on_two_nodes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build(f, 2, 3), -1);
	/* 6 ranks: world rules hold, the batch rule is next in line. */
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "global_batch_size: 64", "64"),
	       "global batch 64 is not a multiple of micro batch 4 x data "
	       "parallel 3 = 12: use 60 or 72");
}

static void test_expert_grid(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  ep: 1\n", "\n  ep: 16\n");
	/* 128 = micro 4 x dp 16 x 2 microbatches, as interleaving needs */
	edit(f, "global_batch_size: 64", "global_batch_size: 128");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  ep: 16", "16"),
	       "world size 8 is not a multiple of the expert grid etp 1 x "
	       "ep 16 x pp 2 = 32: run on a multiple of 4 nodes, or choose "
	       "etp, ep and pp whose product divides 8");
	reset(f);
	assert_int_equal(build(f, 4, 8), 0);
	assert_true(has_arg(f->plan, "--expert-model-parallel-size"));
}

static void test_global_batch(void **state)
{
	struct fixture *f = *state;

	edit(f, "global_batch_size: 64", "global_batch_size: 60");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "global_batch_size: 60", "60"),
	       "global batch 60 is not a multiple of micro batch 4 x data "
	       "parallel 4 = 16: use 48 or 64");
}

static void test_global_batch_below_unit(void **state)
{
	struct fixture *f = *state;

	edit(f, "global_batch_size: 64", "global_batch_size: 8");
	assert_int_equal(build(f, 1, 8), -1);
	expect(f, 0, loc(f, "global_batch_size: 8", "8"),
	       "global batch 8 is not a multiple of micro batch 4 x data "
	       "parallel 4 = 16: use 16");
}

static void test_tp_heads(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  tp: 1\n", "\n  tp: 3\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 2);
	expect(f, 1, loc(f, "\n  tp: 3", "3"),
	       "tp 3: 56 attention heads, 8 query groups and 8 Mamba groups "
	       "allow tp 1, 2, 4 or 8");
}

static void test_tp_2_passes_and_derives_env(void **state)
{
	struct fixture *f = *state;
	const struct n56_env_entry *e;

	edit(f, "\n  tp: 1\n", "\n  tp: 2\n");
	edit(f, "sequence_parallel: false", "sequence_parallel: true");
	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--sequence-parallel"));
	e = n56_env_find(&f->plan->fixed_policy, "CUDA_DEVICE_MAX_CONNECTIONS");
	assert_non_null(e);
	assert_string_equal(e->value, "1");
	assert_int_equal(e->origin, N56_ORIGIN_DERIVED);
	assert_string_equal(n56_origin_name(e->origin), "derived");
	assert_string_equal(e->why,
			    "tp>1 (Megatron asserts it before Blackwell)");
}

static void test_query_groups(void **state)
{
	struct fixture *f = *state;

	edit(f, "heads: 56\n    query_groups: 8",
	     "heads: 64\n    query_groups: 12");
	edit(f, "heads: 56\n    groups: 8", "heads: 64\n    groups: 8");
	edit(f, "\n  tp: 1\n", "\n  tp: 8\n");
	assert_int_equal(build(f, 2, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  tp: 8", "8"),
	       "tp 8: 64 attention heads, 12 query groups and 8 Mamba groups "
	       "allow tp 1, 2 or 4");
}

/* Megatron checks these when it builds the Mamba mixer, not at start-up:
 * megatron/core/ssm/mamba_mixer.py lines 262 and 270 (heads and groups
 * divisible by tp) and 274 (groups divide heads) at the pinned commit; a
 * conformance exception (tests/megatron/exceptions.txt). */
static void test_mamba_heads_tp(void **state)
{
	struct fixture *f = *state;

	edit(f, "heads: 56\n    groups: 8", "heads: 60\n    groups: 4");
	edit(f, "\n  tp: 1\n", "\n  tp: 8\n");
	assert_int_equal(build(f, 2, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  tp: 8", "8"),
	       "tp 8: 56 attention heads, 8 query groups, 60 Mamba heads and "
	       "4 Mamba groups allow tp 1, 2 or 4");
}

static void test_mamba_groups(void **state)
{
	struct fixture *f = *state;

	edit(f, "heads: 56\n    groups: 8", "heads: 56\n    groups: 6");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "    groups: 6", "6"),
	       "Mamba groups 6 do not divide Mamba heads 56: use 1, 2, 4, 7, "
	       "8, 14, 28 or 56 groups");
}

/* Megatron turns sequence parallelism off at tp 1 and starts: the plan
 * passes the flag on rather than refuse (conformance corpus). */
static void test_sequence_parallel_at_tp1_passes(void **state)
{
	struct fixture *f = *state;

	edit(f, "sequence_parallel: false", "sequence_parallel: true");
	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--sequence-parallel"));
}

/* The value after flag in the plan's args, or NULL. */
static const char *arg_value(const struct n56_plan *p, const char *flag)
{
	for (size_t i = 0; i + 1 < p->argc; i++)
		if (!strcmp(p->argv[i], flag))
			return p->argv[i + 1];
	return NULL;
}

/* schedules.py forward_backward_pipelining_with_interleaving (lines
 * 1160-1180 at the pinned commit): pp <= group <= m, and m % group is 0
 * or at least pp; the group defaults to pp. */
static void test_interleaved_schedule_too_few(void **state)
{
	struct fixture *f = *state;

	/* 4 x 8: dp 16, 64 / (4 x 16) = 1 microbatch < pp 2 */
	assert_int_equal(build(f, 4, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "global_batch_size: 64", "64"),
	       "global batch 64 gives 1 microbatch per iteration (global / "
	       "(micro 4 x dp 16)); with vpp 2 Megatron's interleaved "
	       "schedule needs at least pp 2: use global batch 128, or vpp 1");
}

static void test_interleaved_schedule_remainder(void **state)
{
	struct fixture *f = *state;

	/* 1 x 8: dp 4, 48 / (4 x 4) = 3 microbatches, 3 % 2 = 1 < pp */
	edit(f, "global_batch_size: 64", "global_batch_size: 48");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "global_batch_size: 48", "48"),
	       "global batch 48 gives 3 microbatches per iteration (global / "
	       "(micro 4 x dp 4)); with vpp 2 Megatron's interleaved "
	       "schedule needs a multiple of pp 2: use global batch 32 or 64,"
	       " or vpp 1");
}

static void test_interleaved_schedule_vpp1_passes(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  vpp: 2\n", "\n  vpp: 1\n");
	edit(f, "global_batch_size: 64", "global_batch_size: 48");
	assert_int_equal(build(f, 1, 8), 0);
}

static void test_position_embedding(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build(f, 1, 8), 0);
	assert_string_equal(arg_value(f->plan, "--position-embedding-type"),
			    "rope");
	reset(f);
	edit(f, "  sparse_mode: tilelang\n",
	     "  sparse_mode: tilelang\n  position_embedding: learned_absolute\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "position_embedding: learned", "learned"),
	       "model.position_embedding learned_absolute with MTP "
	       "(model.mtp.depths 2): Megatron's multi-token prediction "
	       "supports rope and none only: use position_embedding: rope, "
	       "or mtp.depths: 0");
}

static void test_dsa_derives_no_bias_no_rope_fusion(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--disable-bias-linear"));
	assert_true(has_arg(f->plan, "--no-rope-fusion"));
}

static void test_dsa_refuses_bias_and_rope_fusion(void **state)
{
	struct fixture *f = *state;

	edit(f, "  sparse_mode: tilelang\n",
	     "  sparse_mode: tilelang\n  linear_bias: true\n"
	     "  rope_fusion: true\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 2);
	expect(f, 0, loc(f, "linear_bias: true", "true"),
	       "model.linear_bias true with DSA attention (9 DSA layers): "
	       "DSA's absorbed MLA has no linear bias: set linear_bias: "
	       "false, or turn DSA off (model.attention.dsa.a_layer_ranks: "
	       "[])");
	expect(f, 1, loc(f, "rope_fusion: true", "true"),
	       "model.rope_fusion true with DSA attention: Megatron has no "
	       "fused RoPE for DSA: remove rope_fusion (the plan turns it off "
	       "with DSA), or turn DSA off");
}

static void no_dsa(struct fixture *f)
{
	edit(f, "a_layer_ranks: [1, 2, 3, 5, 6, 7, 9, 10, 11]",
	     "a_layer_ranks: []");
}

static void test_rope_fusion_on_without_dsa(void **state)
{
	struct fixture *f = *state;

	no_dsa(f);
	assert_int_equal(build(f, 1, 8), 0);
	assert_false(has_arg(f->plan, "--no-rope-fusion"));
}

static void test_moe_bias_needs_etp1(void **state)
{
	struct fixture *f = *state;

	no_dsa(f);
	edit(f, "  sparse_mode: tilelang\n",
	     "  sparse_mode: tilelang\n  linear_bias: true\n");
	edit(f, "\n  etp: 1\n", "\n  etp: 2\n");
	assert_int_equal(build(f, 2, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "linear_bias: true", "true"),
	       "model.linear_bias true with MoE and etp 2: Megatron supports "
	       "a bias in experts only at etp 1: set linear_bias: false, or "
	       "parallelism.etp: 1");
	reset(f);
	edit(f, "\n  etp: 2\n", "\n  etp: 1\n");
	assert_int_equal(build(f, 2, 8), 0);
	assert_false(has_arg(f->plan, "--disable-bias-linear"));
}

static void test_kv_channels(void **state)
{
	struct fixture *f = *state;

	edit(f, "hidden_size: 3584", "hidden_size: 3600");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "hidden_size: 3600", "3600"),
	       "hidden_size 3600 is not a multiple of 56 attention heads, and "
	       "model.attention.kv_channels is not set: set kv_channels (the "
	       "size of one head), or a hidden size that is a multiple of 56");
	reset(f);
	edit(f, "    query_groups: 8\n",
	     "    query_groups: 8\n"
	     "    kv_channels: 64\n");
	assert_int_equal(build(f, 1, 8), 0);
	assert_string_equal(arg_value(f->plan, "--kv-channels"), "64");
}

static void test_dsa_cp_comm_type(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  cp: 1\n", "\n  cp: 2\n");
	assert_int_equal(build(f, 2, 8), 0);
	assert_string_equal(arg_value(f->plan, "--cp-comm-type"), "allgather");
	reset(f);
	edit(f, "\n  cp: 2\n", "\n  cp: 2\n  cp_comm_type: p2p\n");
	assert_int_equal(build(f, 2, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "cp_comm_type: p2p", "p2p"),
	       "parallelism.cp_comm_type p2p with DSA attention and cp 2: DSA "
	       "needs allgather: remove cp_comm_type (the plan derives "
	       "allgather), or set it to allgather");
}

static void test_top1_router(void **state)
{
	struct fixture *f = *state;

	edit(f, "    topk: 4\n", "    topk: 1\n");
	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--moe-router-pre-softmax"));
	reset(f);
	edit(f, "    topk: 1\n",
	     "    topk: 1\n    router_pre_softmax: false\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "router_pre_softmax: false", "false"),
	       "model.moe.router_pre_softmax false with top-1 softmax "
	       "routing: a softmax over one score has no gradient: remove "
	       "router_pre_softmax (the plan turns it on), use topk 2 or "
	       "more, or router_score_function: sigmoid");
}

static void test_cuda_graph_modules(void **state)
{
	struct fixture *f = *state;

	edit(f, "modules: [attn, mamba, moe_router, moe_preprocess]",
	     "modules: [attn, moe, moe_router, mlp]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 3);
	expect(f, 0, loc(f, "modules: [attn, moe,", "moe,"),
	       "runtime.cuda_graphs.modules: moe and moe_router exclude each "
	       "other: keep one");
	expect(f, 1, loc(f, "moe_router, mlp]", "mlp"),
	       "runtime.cuda_graphs.modules: mlp captures dense MLP layers, "
	       "and every E block is MoE: remove it, or use moe_router");
	expect(f, 2, loc(f, "modules: [attn, moe,", "moe,"),
	       "runtime.cuda_graphs.modules: moe needs drop-and-pad expert "
	       "capacity, which a recipe does not set: use moe_router and "
	       "moe_preprocess");
}

static void test_cuda_graph_router_needs_experts(void **state)
{
	struct fixture *f = *state;

	edit(f, "    experts: 16\n", "    experts: 1\n");
	edit(f, "modules: [attn, mamba, moe_router, moe_preprocess]",
	     "modules: [attn, mamba, moe_router]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "mamba, moe_router]", "moe_r"),
	       "runtime.cuda_graphs.modules: moe_router needs MoE layers with "
	       "more than one expert (the model has one expert): remove it");
}

static void test_cuda_graph_preprocess_needs_router(void **state)
{
	struct fixture *f = *state;

	edit(f, "modules: [attn, mamba, moe_router, moe_preprocess]",
	     "modules: [attn, mamba, moe_preprocess]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "mamba, moe_preprocess]", "moe_pre"),
	       "runtime.cuda_graphs.modules: moe_preprocess needs moe_router "
	       "with impl transformer_engine: add moe_router");
	reset(f);
	/* the local implementation graphs the router with the preprocess */
	edit(f, "impl: transformer_engine", "impl: local");
	assert_int_equal(build(f, 1, 8), 0);
}

static void test_cuda_graph_full_iteration(void **state)
{
	struct fixture *f = *state;

	edit(f, "impl: transformer_engine", "impl: full_iteration");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "modules: [attn", "["),
	       "runtime.cuda_graphs.modules with impl full_iteration: a "
	       "full-iteration graph captures everything: remove modules, or "
	       "use impl transformer_engine or local");
	reset(f);
	edit(f, "modules: [attn, mamba, moe_router, moe_preprocess]",
	     "modules: []");
	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--no-check-for-nan-in-loss-and-grad"));
}

static void test_extra_args_grammar(void **state)
{
	struct fixture *f = *state;

	edit(f, "extra_args: []", "extra_args: [--sed, \"1\", --bf16]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 2);
	expect(f, 0, loc(f, "extra_args: [", "--sed"),
	       "runtime.extra_args: --sed is not an option of Megatron-LM (did "
	       "you mean --seed?)");
	expect(f, 1, loc(f, "extra_args: [", "\"1\""),
	       "runtime.extra_args: '1' is not an option and no option before "
	       "it takes it as a value: Megatron refuses unrecognized "
	       "arguments");
	reset(f);
	edit(f, "--sed,", "--seed,");
	assert_int_equal(build(f, 1, 8), 0);
}

static void test_vocab_size_required(void **state)
{
	struct fixture *f = *state;

	edit(f, "  vocab_size: 131072\n", "");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "hidden_size: 3584", "3584"),
	       "model.vocab_size is not set: Megatron needs the vocabulary size "
	       "(--vocab-size) to build the embedding and the output layer: set "
	       "it to the tokenizer's vocabulary size");
}

static void test_cp_comm_a2a_p2p(void **state)
{
	struct fixture *f = *state;

	no_dsa(f);
	edit(f, "\n  cp: 1\n", "\n  cp: 2\n  cp_comm_type: a2a+p2p\n");
	assert_int_equal(build(f, 2, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "cp_comm_type: a2a", "a2a"),
	       "parallelism.cp_comm_type a2a+p2p needs hierarchical "
	       "context-parallel sizes, which a recipe cannot give: use p2p, "
	       "a2a or allgather");
	reset(f);
	edit(f, "cp_comm_type: a2a+p2p", "cp_comm_type: a2a");
	assert_int_equal(build(f, 2, 8), 0);
	assert_string_equal(arg_value(f->plan, "--cp-comm-type"), "a2a");
}

static void test_node_dsa_backend(void **state)
{
	struct fixture *f = *state;
	char *have[] = { "cudnn" };

	f->pol.node.dsa_backends.v = have;
	f->pol.node.dsa_backends.n = 1;
	f->pol.node.dsa_backends.set = true;
	assert_int_equal(build(f, 1, 8), -1);
	f->pol.node.dsa_backends.n = 0;
	f->pol.node.dsa_backends.set = false;
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "backend: tilelang", "tilelang"),
	       "model.attention.dsa.backend tilelang: the site's nodes have no "
	       "tilelang DSA kernels (policy site.yaml: node.dsa_backends): "
	       "use backend none (Megatron's PyTorch fallback), or cudnn");
	reset(f);
	edit(f, "backend: tilelang", "backend: cudnn");
	f->pol.node.dsa_backends.n = 1;
	f->pol.node.dsa_backends.set = true;
	assert_int_equal(build(f, 1, 8), 0);
	f->pol.node.dsa_backends.n = 0;
	f->pol.node.dsa_backends.set = false;
}

static void test_node_without_te(void **state)
{
	struct fixture *f = *state;
	char none[] = "none";

	f->pol.node.transformer_engine.v = none;
	f->pol.node.transformer_engine.set = true;
	assert_int_equal(build(f, 1, 8), -1);
	f->pol.node.transformer_engine.v = NULL;
	f->pol.node.transformer_engine.set = false;
	assert_int_equal(f->d.n, 1);
	expect(f, 0, "t.yaml",
	       "the site's nodes have no Transformer Engine (policy site.yaml: "
	       "node.transformer_engine none), and the generated args use it, "
	       "Megatron's default transformer implementation: ask the site "
	       "admin for nodes with Transformer Engine 2.17.1");
}

static void test_rank_order_expert_dp(void **state)
{
	struct fixture *f = *state;

	edit(f, "rank_order: tp-cp-ep-dp-pp", "rank_order: tp-cp-ep-pp-dp");
	edit(f, "\n  cp: 1\n", "\n  cp: 2\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "rank_order: tp-cp-ep-pp-dp", "tp"),
	       "rank_order tp-cp-ep-pp-dp with pp 2: Megatron needs the same "
	       "data-parallel size for attention (world / (tp 1 x cp 2 x pp) "
	       "= 2) and experts (world / (etp 1 x ep 1 x pp) = 4): use "
	       "rank_order tp-cp-ep-dp-pp, or sizes with tp x cp = etp x ep");
}

static void test_context_parallel(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  cp: 1\n", "\n  cp: 2\n");
	edit(f, "seq_length: 4096", "seq_length: 4098");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "seq_length: 4098", "4098"),
	       "seq_length 4098 is not a multiple of 2 x cp 2 = 4 (context "
	       "parallelism cuts each sequence into 2 x cp chunks): use 4096 "
	       "or 4100");
}

static void test_context_parallel_passes(void **state)
{
	struct fixture *f = *state;
	const struct n56_env_entry *e;

	edit(f, "\n  cp: 1\n", "\n  cp: 2\n");
	assert_int_equal(build(f, 1, 8), 0);
	assert_int_equal(f->plan->par.dp, 2);
	e = n56_env_find(&f->plan->fixed_policy, "CUDA_DEVICE_MAX_CONNECTIONS");
	assert_non_null(e);
	assert_string_equal(e->why,
			    "cp>1 (Megatron asserts it before Blackwell)");
}

static void test_expert_parallel(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  ep: 1\n", "\n  ep: 5\n");
	/* 5 nodes x 2 GPUs: dp 5, the expert grid 10 fits, 80 = 4 x 5 x 4. */
	edit(f, "global_batch_size: 64", "global_batch_size: 80");
	assert_int_equal(build(f, 5, 2), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  ep: 5", "5"),
	       "ep 5: 16 experts allow ep 1, 2, 4, 8 or 16");
}

static void test_expert_parallel_needs_experts(void **state)
{
	struct fixture *f = *state;

	edit(f, "    experts: 16\n", "");
	edit(f, "\n  ep: 1\n", "\n  ep: 2\n");
	assert_int_equal(build(f, 1, 8), -1);
	expect(f, 0, loc(f, "\n  ep: 2", "2"),
	       "ep 2 needs experts: set model.moe.experts to a multiple of "
	       "2, or use ep 1");
}

static void test_mla_excludes_gqa(void **state)
{
	struct fixture *f = *state;

	edit(f, "extra_args: []", "extra_args: [--group-query-attention]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "extra_args: [", "--group"),
	       "runtime.extra_args: --group-query-attention with "
	       "multi-latent attention: MLA excludes grouped-query attention; "
	       "remove it, or disable model.attention.mla and DSA");
}

static void test_gqa_without_mla(void **state)
{
	struct fixture *f = *state;

	edit(f, "      enabled: true\n", "      enabled: false\n");
	edit(f, "a_layer_ranks: [1, 2, 3, 5, 6, 7, 9, 10, 11]",
	     "a_layer_ranks: []");
	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--group-query-attention"));
	assert_true(has_arg(f->plan, "--num-query-groups"));
	assert_false(has_arg(f->plan, "--multi-latent-attention"));
}

static void test_vpp_needs_pp(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  pp: 2\n", "\n  pp: 1\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  vpp: 2", "2"),
	       "vpp 2 needs pp > 1 (virtual stages interleave a pipeline): "
	       "set vpp 1, or pp 2 or more");
}

static void test_vpp_exceeds_depth(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  vpp: 2\n", "\n  vpp: 32\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  vpp: 32", "32"),
	       "pp 2 x vpp 32 = 64 pipeline segments exceed the 52 layers of "
	       "the model: use vpp 26 or less");
}

static void test_pp_exceeds_depth(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  pp: 2\n", "\n  pp: 64\n");
	edit(f, "\n  vpp: 2\n", "\n  vpp: 1\n");
	assert_int_equal(build(f, 8, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "\n  pp: 64", "64"),
	       "pp 64 is more pipeline stages than the 52 layers of the "
	       "model: use pp 52 or less");
}

/* The MTP rules belong to the pipeline split (policy/layout.c): here only
 * that the violation is reported once, at the MTP pattern. */
static void test_mtp_letters(void **state)
{
	struct fixture *f = *state;
	char got[1024];
	const char *where;

	edit(f, "pattern: AE\n", "pattern: AR\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	where = loc(f, "pattern: AR", "AR");
	n56_diag_format(&f->d.v[0], got, sizeof(got));
	assert_int_equal(strncmp(got, where, strlen(where)), 0);
}

static void test_engram_ordinal(void **state)
{
	struct fixture *f = *state;

	edit(f, "a_layer_ranks: [0]", "a_layer_ranks: [13]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "a_layer_ranks: [13]", "13"),
	       "model.attention.engram.a_layer_ranks: 13 is not an A "
	       "ordinal: the pattern tiled to depth 52 has 13 A layers "
	       "(ordinals 0 to 12)");
}

static void test_forbidden_extra_arg(void **state)
{
	struct fixture *f = *state;

	edit(f, "extra_args: []",
	     "extra_args: [--num-virtual-stages-per-pipeline-rank=2]");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "extra_args: [", "--num"),
	       "runtime.extra_args: --num-virtual-stages-per-pipeline-rank is "
	       "not allowed: the hybrid pattern's '|' segments carry VPP: set "
	       "parallelism.vpp");
}

static void test_cuda_device_max_connections_recipe(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  tp: 1\n", "\n  tp: 2\n");
	append(f, "  CUDA_DEVICE_MAX_CONNECTIONS: \"8\"\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "  CUDA_DEVICE_MAX_CONNECTIONS", "CUDA"),
	       "env CUDA_DEVICE_MAX_CONNECTIONS=8 (recipe) must be \"1\" "
	       "because tp>1 (Megatron asserts it before Blackwell): set it "
	       "to that value, or remove it from env");
}

static void test_cuda_device_max_connections_site(void **state)
{
	struct fixture *f = *state;
	struct n56_kv kv = { "CUDA_DEVICE_MAX_CONNECTIONS", "32", { 4, 5 } };

	f->pol.env.defaults.v = &kv;
	f->pol.env.defaults.n = 1;
	edit(f, "\n  tp: 1\n", "\n  tp: 2\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, "site.yaml:4:5",
	       "env CUDA_DEVICE_MAX_CONNECTIONS=32 (site-default) must be "
	       "\"1\" because tp>1 (Megatron asserts it before Blackwell): "
	       "override the site default in the recipe's env");
	/* At tp 1 the same default is fine. */
	reset(f);
	edit(f, "\n  tp: 2\n", "\n  tp: 1\n");
	assert_int_equal(build(f, 1, 8), 0);
	f->pol.env.defaults.n = 0;
}

static void test_graph_register_derived(void **state)
{
	struct fixture *f = *state;
	const struct n56_env_entry *e;

	append(f, "  PYTORCH_CUDA_ALLOC_CONF: \"expandable_segments:True\"\n");
	assert_int_equal(build(f, 1, 8), 0);
	e = n56_env_find(&f->plan->fixed_policy, "NCCL_GRAPH_REGISTER");
	assert_non_null(e);
	assert_string_equal(e->value, "0");
	assert_int_equal(e->origin, N56_ORIGIN_DERIVED);
}

static void test_graph_register_conflict(void **state)
{
	struct fixture *f = *state;

	append(f, "  PYTORCH_CUDA_ALLOC_CONF: \"expandable_segments:True\"\n"
		  "  NCCL_GRAPH_REGISTER: \"1\"\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "  NCCL_GRAPH_REGISTER", "NCCL"),
	       "env NCCL_GRAPH_REGISTER=1 (recipe) must be \"0\" because "
	       "Transformer Engine CUDA graphs with expandable_segments:True "
	       "need it: set it to that value, or remove it from env");
}

static void test_graph_register_without_graphs(void **state)
{
	struct fixture *f = *state;

	edit(f, "impl: transformer_engine", "impl: none");
	append(f, "  PYTORCH_CUDA_ALLOC_CONF: \"expandable_segments:True\"\n"
		  "  NCCL_GRAPH_REGISTER: \"1\"\n");
	assert_int_equal(build(f, 1, 8), 0);
	assert_false(has_arg(f->plan, "--cuda-graph-impl"));
}

static void test_command_not_allowed(void **state)
{
	struct fixture *f = *state;
	char *allowed[] = { "torchrun", "/opt/*/bin/python3" };

	f->pol.runtime.allowed_commands.v = allowed;
	f->pol.runtime.allowed_commands.n = 2;
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "command: [", "python3"),
	       "runtime.command 'python3' is not allowed by the site policy "
	       "(allowed: torchrun, /opt/*/bin/python3)");
	f->pol.runtime.allowed_commands.n = 0;
}

static void test_command_allowed_by_basename(void **state)
{
	struct fixture *f = *state;
	char *allowed[] = { "python3" };

	f->pol.runtime.allowed_commands.v = allowed;
	f->pol.runtime.allowed_commands.n = 1;
	edit(f, "command: [python3,", "command: [/usr/bin/python3,");
	assert_int_equal(build(f, 1, 8), 0);
	f->pol.runtime.allowed_commands.n = 0;
}

static void test_all_violations_at_once(void **state)
{
	struct fixture *f = *state;

	edit(f, "\n  tp: 1\n", "\n  tp: 3\n");
	edit(f, "\n  ep: 1\n", "\n  ep: 5\n");
	edit(f, "global_batch_size: 64", "global_batch_size: 60");
	edit(f, "sequence_parallel: false", "sequence_parallel: true");
	edit(f, "seams: [recurrent_tail, ", "seams: [");
	append(f, "  LD_PRELOAD: /tmp/x.so\n  NAM56R_SEAMS: x\n");
	f->pol.env.deny.v = (char *[]){ "LD_*" };
	f->pol.env.deny.n = 1;
	assert_int_equal(build(f, 3, 8), -1);
	/* R without its seam; world 24 fits tp 3 x pp 2, so the batch rule
	 * runs with dp 4; the expert grid, tp vs heads, ep; both env. */
	assert_int_equal(f->d.n, 7);
	expect(f, 0, loc(f, "pattern: AEMEAEMEAEMR", "AEMEAEMEAEMR"),
	       "R blocks at layers 12, 24, 36, 48 have no native lowering: "
	       "declare the runtime seam 'recurrent_tail' in runtime.seams, or "
	       "remove R from model.pattern");
	expect(f, 1, loc(f, "\n  ep: 5", "5"),
	       "world size 24 is not a multiple of the expert grid etp 1 x "
	       "ep 5 x pp 2 = 10: run on a multiple of 5 nodes, or choose "
	       "etp, ep and pp whose product divides 24");
	expect(f, 2, loc(f, "global_batch_size: 60", "60"),
	       "global batch 60 is not a multiple of micro batch 4 x data "
	       "parallel 4 = 16: use 48 or 64");
	expect(f, 3, loc(f, "\n  tp: 3", "3"),
	       "tp 3: 56 attention heads, 8 query groups and 8 Mamba groups "
	       "allow tp 1, 2, 4 or 8");
	expect(f, 4, loc(f, "\n  ep: 5", "5"),
	       "ep 5: 16 experts allow ep 1, 2, 4, 8 or 16");
	expect(f, 5, loc(f, "  LD_PRELOAD", "LD_"),
	       "env LD_PRELOAD: denied by the site policy (rule 'LD_*')");
	expect(f, 6, loc(f, "  NAM56R_SEAMS", "NAM56R"),
	       "env NAM56R_SEAMS: NAM56R_* names are the runtime patch "
	       "surface, written by the plan from the recipe: remove it from "
	       "env and set the model or runtime key instead");
	assert_null(f->plan);
	f->pol.env.deny.n = 0;
}

/* Megatron's TransformerConfig: full recompute only under a full-iteration
 * CUDA graph (or none). */
static void test_full_recompute_needs_full_graph(void **state)
{
	struct fixture *f = *state;

	edit(f, "\nmemory:\n", "\nmemory:\n  recompute: full\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "recompute: full", "full"),
	       "memory.recompute full with runtime.cuda_graphs.impl "
	       "transformer_engine: Megatron recomputes whole layers only "
	       "under a full-iteration CUDA graph: use impl full_iteration "
	       "(without modules) or none, or memory.recompute: selective");
	reset(f);
	edit(f, "impl: transformer_engine", "impl: none");
	edit(f, "modules: [attn, mamba, moe_router, moe_preprocess]",
	     "modules: []");
	assert_int_equal(build(f, 1, 8), 0);
	assert_true(has_arg(f->plan, "--recompute-granularity"));
	assert_string_equal(arg_value(f->plan, "--recompute-granularity"),
			    "full");
}

/* Selective recompute (the core attention) inside a graph that captures
 * the attention cannot replay attention dropout. */
static void test_selective_recompute_graphed_attention(void **state)
{
	struct fixture *f = *state;

	edit(f, "\nmemory:\n", "\nmemory:\n  recompute: selective\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "recompute: selective", "selective"),
	       "memory.recompute selective recomputes the core attention, "
	       "which runtime.cuda_graphs (impl transformer_engine, module "
	       "attn) captures, and Megatron cannot replay attention dropout "
	       "(0.1 unless --attention-dropout says otherwise) in a graph: "
	       "add \"--attention-dropout\", \"0.0\" to runtime.extra_args, "
	       "take attn out of the graph's modules, or use "
	       "memory.recompute: none");
	reset(f);
	edit(f, "extra_args: []", "extra_args: [--attention-dropout=0]");
	assert_int_equal(build(f, 1, 8), 0);
	reset(f);
	edit(f, "extra_args: [--attention-dropout=0]", "extra_args: []");
	edit(f, "modules: [attn, mamba, moe_router, moe_preprocess]",
	     "modules: [mamba, moe_router, moe_preprocess]");
	assert_int_equal(build(f, 1, 8), 0);
	reset(f);
	/* no modules: the graph captures whole layers, attention included */
	edit(f, "modules: [mamba, moe_router, moe_preprocess]", "modules: []");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "recompute: selective", "selective"),
	       "memory.recompute selective recomputes the core attention, "
	       "which runtime.cuda_graphs (impl transformer_engine) "
	       "captures, and Megatron cannot replay attention dropout "
	       "(0.1 unless --attention-dropout says otherwise) in a graph: "
	       "add \"--attention-dropout\", \"0.0\" to runtime.extra_args, "
	       "take attn out of the graph's modules, or use "
	       "memory.recompute: none");
}

/* validate_args: --attention-backend local needs --spec local. */
static void test_attention_backend_local(void **state)
{
	struct fixture *f = *state;

	edit(f, "\nmemory:\n", "\nmemory:\n  attention_backend: local\n");
	assert_int_equal(build(f, 1, 8), -1);
	assert_int_equal(f->d.n, 1);
	expect(f, 0, loc(f, "attention_backend: local", "local"),
	       "memory.attention_backend local: Megatron takes "
	       "--attention-backend local only with --spec local, which the "
	       "hybrid model does not use: use unfused (it keeps the same "
	       "score matrix), flash, fused or auto");
	reset(f);
	edit(f, "attention_backend: local", "attention_backend: unfused");
	assert_int_equal(build(f, 1, 8), 0);
	assert_string_equal(arg_value(f->plan, "--attention-backend"),
			    "unfused");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_builtin_passes),
		T(test_builtin_names_builtin),
		T(test_world),
		T(test_world_passes_on_two_nodes),
		T(test_expert_grid),
		T(test_global_batch),
		T(test_global_batch_below_unit),
		T(test_tp_heads),
		T(test_tp_2_passes_and_derives_env),
		T(test_query_groups),
		T(test_mamba_heads_tp),
		T(test_mamba_groups),
		T(test_sequence_parallel_at_tp1_passes),
		T(test_interleaved_schedule_too_few),
		T(test_interleaved_schedule_remainder),
		T(test_interleaved_schedule_vpp1_passes),
		T(test_position_embedding),
		T(test_dsa_derives_no_bias_no_rope_fusion),
		T(test_dsa_refuses_bias_and_rope_fusion),
		T(test_rope_fusion_on_without_dsa),
		T(test_moe_bias_needs_etp1),
		T(test_kv_channels),
		T(test_dsa_cp_comm_type),
		T(test_top1_router),
		T(test_cuda_graph_modules),
		T(test_cuda_graph_router_needs_experts),
		T(test_cuda_graph_preprocess_needs_router),
		T(test_cuda_graph_full_iteration),
		T(test_rank_order_expert_dp),
		T(test_extra_args_grammar),
		T(test_vocab_size_required),
		T(test_cp_comm_a2a_p2p),
		T(test_node_dsa_backend),
		T(test_node_without_te),
		T(test_context_parallel),
		T(test_context_parallel_passes),
		T(test_expert_parallel),
		T(test_expert_parallel_needs_experts),
		T(test_mla_excludes_gqa),
		T(test_gqa_without_mla),
		T(test_vpp_needs_pp),
		T(test_vpp_exceeds_depth),
		T(test_pp_exceeds_depth),
		T(test_mtp_letters),
		T(test_engram_ordinal),
		T(test_forbidden_extra_arg),
		T(test_cuda_device_max_connections_recipe),
		T(test_cuda_device_max_connections_site),
		T(test_graph_register_derived),
		T(test_graph_register_conflict),
		T(test_graph_register_without_graphs),
		T(test_command_not_allowed),
		T(test_command_allowed_by_basename),
		T(test_all_violations_at_once),
		T(test_full_recompute_needs_full_graph),
		T(test_selective_recompute_graphed_attention),
		T(test_attention_backend_local),
	};
#undef T

	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
