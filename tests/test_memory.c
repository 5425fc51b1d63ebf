/* The per-rank memory model (policy/memory.c): the in-flight microbatches
 * of Megatron's schedules, each term of a small recipe against its formula
 * in nam56r.yaml(5) worked by hand, the distributed optimizer's sharding,
 * the capacity's sources, the warning band, and the refusal with its
 * exact message and a fix that the model says fits. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/memory.h"
#include "policy/plan.h"

/* A tiny GPT-like model whose terms are worked by hand below. */
static const char tiny[] = "schema: 1\n"
			   "model:\n"
			   "  pattern: AE\n"
			   "  depth: 2\n"
			   "  hidden_size: 64\n"
			   "  ffn_hidden_size: 256\n"
			   "  vocab_size: 128\n"
			   "  attention:\n"
			   "    heads: 4\n"
			   "parallelism:\n"
			   "  tp: 1\n"
			   "  pp: 1\n"
			   "batch:\n"
			   "  micro_batch_size: 1\n"
			   "  global_batch_size: 1\n"
			   "  seq_length: 8\n"
			   "runtime:\n"
			   "  command: [python3, pretrain_gpt.py]\n";

static struct n56_plan *build(const char *yaml, const char *policy, long nodes,
			      long gpus, struct n56_diags *d,
			      struct n56_recipe **r, struct n56_policy **p)
{
	struct n56_plan_request req = { nodes, gpus };
	struct n56_plan *plan = NULL;

	assert_int_equal(n56_recipe_parse("t.yaml", yaml, strlen(yaml), r, d),
			 0);
	if (policy)
		assert_int_equal(n56_policy_parse("site.yaml", policy,
						  strlen(policy), p, d),
				 0);
	else
		*p = n56_policy_empty();
	n56_plan_build(*r, *p, &req, &plan, d);
	return plan;
}

static char *with(const char *base, const char *extra)
{
	char *s = malloc(strlen(base) + strlen(extra) + 1);

	assert_non_null(s);
	strcpy(s, base);
	strcat(s, extra);
	return s;
}

static void test_inflight_1f1b(void **state)
{
	double v[1];

	(void)state;
	for (int rk = 0; rk < 4; rk++) {
		n56_mem_inflight(4, 1, rk, 8, v);
		assert_true(v[0] == 4 - rk);
	}
	/* fewer microbatches than stages: every one is in flight */
	n56_mem_inflight(4, 1, 0, 2, v);
	assert_true(v[0] == 2);
	n56_mem_inflight(4, 1, 3, 2, v);
	assert_true(v[0] == 1);
	n56_mem_inflight(1, 1, 0, 16, v);
	assert_true(v[0] == 1);
}

static void test_inflight_interleaved(void **state)
{
	double v[2];

	(void)state;
	/* pp 2, vpp 2, 4 microbatches: rank 0 warms up (2-0-1)*2 + 1*2 = 4
	 * forwards and runs one more: chunks 0 0 1 1 0 */
	n56_mem_inflight(2, 2, 0, 4, v);
	assert_true(v[0] == 3 && v[1] == 2);
	n56_mem_inflight(2, 2, 1, 4, v);
	assert_true(v[0] == 2 && v[1] == 1);
	/* 2 microbatches: all 4 forwards before the first backward */
	n56_mem_inflight(2, 2, 0, 2, v);
	assert_true(v[0] == 2 && v[1] == 2);
}

/* h 64, 4 heads (d 16), ffn 256, vocab 128, s 8, b 1: T = 8 tokens.
 * params: A 4 h^2 = 16384 + norm 64; E (dense) 3 h f = 49152 + norm 64;
 * embedding and output 128 x 64 = 8192 each; final norm 64: 82112. */
static void test_terms_by_hand(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	struct n56_plan *plan = build(tiny, NULL, 1, 1, &d, &r, &p);
	const struct n56_mem_rank *x;

	(void)state;
	assert_non_null(plan);
	x = &plan->memory->rank[0];
	assert_true(x->term[N56_MEM_WEIGHTS] == 2.0 * 82112);
	assert_true(x->term[N56_MEM_MASTER] == 4.0 * 82112);
	assert_true(x->term[N56_MEM_GRADS] == 4.0 * 82112);
	assert_true(x->term[N56_MEM_OPTIM] == 8.0 * 82112);
	/* a norm keeps 2h + 4 = 132 bytes per token (Transformer Engine's);
	 * A: T (132 + 3 h) + T 2 (q k v context = 4 h) + T heads 4 (lse) =
	 * 6816; E: T (132 + 3 h) + T 6 f = 14880 */
	assert_true(x->term[N56_MEM_ACT] == 6816 + 14880);
	/* ids T 8 + dropout mask T h */
	assert_true(x->term[N56_MEM_EMBED] == 64 + 512);
	/* final norm T (132 + 2 h), the saved softmax T V 4, the bf16
	 * logits T V 2 once */
	assert_true(x->term[N56_MEM_LOGITS] == 2080 + 4096 + 2048);
	assert_true(x->allocated == 18.0 * 82112 + 21696 + 576 + 8224);
	assert_int_equal(plan->memory->verdict, N56_MEM_FITS);
	assert_string_equal(plan->memory->capacity_source, "unknown");
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
}

/* Megatron's unfused path keeps 5 bytes per score (softmax output, the
 * dropout mask, its output): 5 b heads s^2 = 1280 instead of the lse. */
static void test_unfused_scores_and_selective(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	char *y = with(tiny, "memory:\n  attention_backend: unfused\n");
	struct n56_plan *plan = build(y, NULL, 1, 1, &d, &r, &p);

	(void)state;
	assert_non_null(plan);
	assert_true(plan->memory->rank[0].term[N56_MEM_ACT] ==
		    6816 - 128 + 1280 + 14880);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	free(y);
	y = with(tiny, "memory:\n  attention_backend: unfused\n"
		       "  recompute: selective\n");
	plan = build(y, NULL, 1, 1, &d, &r, &p);
	assert_non_null(plan);
	assert_true(plan->memory->rank[0].term[N56_MEM_ACT] == 6816 + 14880);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
	free(y);
}

/* Full recompute keeps each layer's input (T 2 h = 1024) and rebuilds the
 * largest layer (the E block) once. */
static void test_full_recompute(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	char *y = with(tiny, "memory:\n  recompute: full\n");
	struct n56_plan *plan = build(y, NULL, 1, 1, &d, &r, &p);

	(void)state;
	assert_non_null(plan);
	assert_true(plan->memory->rank[0].term[N56_MEM_ACT] ==
		    2 * 1024 + 14880);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
	free(y);
}

/* The distributed optimizer shards master and Adam states over dp (4). */
static void test_distributed_optimizer(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	char *y = with(tiny, "memory:\n  distributed_optimizer: true\n");
	char *y2 = strdup(y);
	struct n56_plan *plan;

	(void)state;
	/* global batch 4 for dp 4 */
	memcpy(strstr(y2, "global_batch_size: 1"), "global_batch_size: 4", 20);
	plan = build(y2, NULL, 1, 4, &d, &r, &p);
	assert_non_null(plan);
	assert_true(plan->memory->rank[0].term[N56_MEM_MASTER] ==
		    4.0 * 82112 / 4);
	assert_true(plan->memory->rank[0].term[N56_MEM_OPTIM] ==
		    8.0 * 82112 / 4);
	assert_true(plan->memory->rank[0].term[N56_MEM_GRADS] == 4.0 * 82112);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
	free(y);
	free(y2);
}

static void test_capacity_sources(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	char *y = with(tiny, "memory:\n  gpu_memory_gb: 40\n");
	struct n56_plan *plan = build(y, NULL, 1, 1, &d, &r, &p);
	struct n56_plan_request req = { 1, 1 };
	struct n56_mem_capacity_in part = { 0, "big" }, node = { 2e9, "big" };
	static const char pol[] = "schema: 1\nmemory:\n  gpu_memory_gb: 80\n"
				  "  headroom_percent: 10\n"
				  "  partitions:\n    big: 141\n";

	(void)state;
	assert_non_null(plan);
	assert_string_equal(plan->memory->capacity_source, "recipe");
	assert_true(plan->memory->capacity == 40e9);
	assert_true(plan->memory->limit == 40e9 * 0.95);
	n56_plan_free(plan);
	n56_policy_free(p);
	assert_int_equal(
		n56_policy_parse("site.yaml", pol, strlen(pol), &p, &d), 0);
	assert_int_equal(n56_plan_build(r, p, &req, &plan, &d), 0);
	assert_string_equal(plan->memory->capacity_source, "policy");
	assert_true(plan->memory->capacity == 80e9);
	assert_true(plan->memory->limit == 72e9);
	n56_plan_free(plan);
	assert_int_equal(n56_plan_build_mem(r, p, &req, &part, &plan, &d), 0);
	assert_string_equal(plan->memory->capacity_source, "policy partition");
	assert_true(plan->memory->capacity == 141e9);
	n56_plan_free(plan);
	assert_int_equal(n56_plan_build_mem(r, p, &req, &node, &plan, &d), 0);
	assert_string_equal(plan->memory->capacity_source, "node");
	assert_true(plan->memory->capacity == 2e9);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
	free(y);
}

/* A job that names several partitions may start in any of them: the
 * smallest capacity among them applies, a partition without an entry
 * having the policy's default; the refusal names the partition. */
static void test_capacity_partition_list(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	struct n56_plan *plan;
	struct n56_plan_request req = { 1, 1 };
	struct n56_mem_capacity_in cap = { 0, NULL };
	static const char pol[] = "schema: 1\nmemory:\n  gpu_memory_gb: 80\n"
				  "  partitions:\n    big: 141\n    huge: 192\n"
				  "    small: 40\n";
	static const char nodflt[] = "schema: 1\nmemory:\n  partitions:\n"
				     "    big: 141\n";
	static const struct {
		const char *list;
		double gb;
		const char *source, *entry;
	} want[] = {
		{ "big", 141, "policy partition", "big" },
		{ "huge,big", 141, "policy partition", "big" },
		{ "big,small,huge", 40, "policy partition", "small" },
		{ "big,other", 80, "policy", NULL }, /* other: the default */
		{ "huge,,big,", 141, "policy partition", "big" },
		{ ",", 80, "policy", NULL },
		{ "bigger", 80, "policy", NULL }, /* names match whole */
		{ "bi", 80, "policy", NULL },
	};

	(void)state;
	assert_int_equal(n56_recipe_parse("t.yaml", tiny, strlen(tiny), &r, &d),
			 0);
	assert_int_equal(
		n56_policy_parse("site.yaml", pol, strlen(pol), &p, &d), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cap.partition = want[i].list;
		assert_int_equal(
			n56_plan_build_mem(r, p, &req, &cap, &plan, &d), 0);
		assert_true(plan->memory->capacity == want[i].gb * 1e9);
		assert_string_equal(plan->memory->capacity_source,
				    want[i].source);
		if (want[i].entry)
			assert_string_equal(plan->memory->capacity_partition,
					    want[i].entry);
		else
			assert_null(plan->memory->capacity_partition);
		n56_plan_free(plan);
	}
	n56_policy_free(p);
	/* no default: a partition without an entry says nothing, the others
	 * still apply; none known: unknown, nothing refused */
	assert_int_equal(
		n56_policy_parse("site.yaml", nodflt, strlen(nodflt), &p, &d),
		0);
	cap.partition = "other,big";
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), 0);
	assert_true(plan->memory->capacity == 141e9);
	n56_plan_free(plan);
	cap.partition = "other";
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), 0);
	assert_true(plan->memory->capacity == 0);
	assert_string_equal(plan->memory->capacity_source, "unknown");
	n56_plan_free(plan);
	n56_policy_free(p);
	n56_recipe_free(r);
	assert_int_equal(d.n, 0);
	n56_diags_free(&d);
}

/* The refusal says which partition's capacity it held the plan to. */
static void test_refusal_names_partition(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	struct n56_plan *plan = build(tiny, NULL, 1, 1, &d, &r, &p);
	struct n56_plan_request req = { 1, 1 };
	struct n56_mem_capacity_in cap = { 0, "big,tiny" };
	static const char pol[] = "schema: 1\nmemory:\n  partitions:\n"
				  "    big: 141\n    tiny: 0.5\n";
	char buf[2048];

	(void)state;
	n56_plan_free(plan);
	n56_policy_free(p);
	assert_int_equal(
		n56_policy_parse("site.yaml", pol, strlen(pol), &p, &d), 0);
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), -1);
	assert_int_equal(d.n, 1);
	n56_diag_format(&d.v[0], buf, sizeof(buf));
	print_message("%s\n", buf);
	assert_non_null(strstr(buf, "limit (0.5 GB from the policy partition "
				    "tiny (the smallest of big,tiny) less 5% "
				    "headroom)"));
	n56_diags_free(&d);
	cap.partition = "tiny";
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), -1);
	n56_diag_format(&d.v[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "limit (0.5 GB from the policy partition "
				    "tiny less 5% headroom)"));
	n56_diags_free(&d);
	cap.partition = "big";
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), 0);
	n56_plan_free(plan);
	n56_policy_free(p);
	n56_recipe_free(r);
	n56_diags_free(&d);
}

static void test_policy_errors(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_policy *p = NULL;
	char buf[512];
	static const char bad[] =
		"schema: 1\nmemory:\n  headroom_percent: 100\n"
		"  partitions:\n    gpu: lots\n";

	(void)state;
	assert_int_equal(
		n56_policy_parse("site.yaml", bad, strlen(bad), &p, &d), -1);
	assert_int_equal(d.n, 2);
	n56_diag_format(&d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "site.yaml:3:21: memory.headroom_percent is "
				 "100: give a percentage below 100");
	n56_diag_format(&d.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "site.yaml:5:5: memory.partitions.gpu is "
				 "'lots': give the GPU memory of that "
				 "partition in GB, e.g. 141");
	n56_diags_free(&d);
}

/* base with the first `old` replaced by `new` (which must be there). */
static char *replaced(const char *base, const char *old, const char *new)
{
	const char *at = strstr(base, old);
	char *s;

	assert_non_null(at);
	s = malloc(strlen(base) - strlen(old) + strlen(new) + 1);
	assert_non_null(s);
	memcpy(s, base, (size_t)(at - base));
	strcpy(s + (at - base), new);
	strcat(s, at + strlen(old));
	return s;
}

/* The built-in's peak and fits at 141 GB on 1 x 8: the fit, or the
 * refusal's message, and the peak of its worst rank ("-" when refused). */
static void fit_141(const char *yaml, char *buf, size_t len, char *peak)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	struct n56_plan *plan =
		build(yaml, "schema: 1\nmemory:\n  gpu_memory_gb: 141\n", 1, 8,
		      &d, &r, &p);

	buf[0] = 0;
	strcpy(peak, "-");
	if (d.n)
		n56_diag_format(&d.v[0], buf, len);
	if (plan) {
		assert_int_equal(plan->memory->verdict, N56_MEM_FITS);
		snprintf(peak, 16, "%d %.1f", plan->memory->worst,
			 plan->memory->rank[plan->memory->worst].total / 1e9);
	}
	print_message("%s%s\n", buf, peak);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
}

/* The built-in recipe (the distributed optimizer on) on one node of
 * 141 GB GPUs: refused, naming the rank, its stage, the dominant terms and
 * the fixes; each fix, applied, then fits with the peak it names (the plan
 * of the changed recipe splits the layers again, and so did the advice).
 * On two nodes it fits as it is. */
static void test_refusal_and_fix(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	char buf[2048], peak[16];
	const char *y = n56_builtin_recipe_yaml;
	char *fixed;
	struct n56_plan *plan;

	(void)state;
	fit_141(y, buf, sizeof(buf), peak);
	assert_string_equal(peak, "-");
	assert_string_equal(
		buf,
		"t.yaml:65:21: GPU memory: pipeline rank 0 (virtual stage 1, "
		"layers 26-51 'EMEAEMEAEMRAEMEAEMEAEMRAEM') needs 160.2 GB at its "
		"peak, more than the 133.9 GB limit (141.0 GB from the policy "
		"less 5% headroom); largest terms: activations 106.2 GB, "
		"allowance 18.7 GB, grads 15.6 GB (3+2 microbatches in flight); "
		"fits with: layout.segments: [13, 13, 13, 13] (peak 124.7 GB on "
		"pipeline rank 1); or batch.micro_batch_size: 2 (peak 128.1 GB "
		"on pipeline rank 0)");
	/* Full recompute would fit but Megatron refuses it under the
	 * recipe's per-module CUDA graphs: not offered, and refused. */
	fixed = replaced(y, "  distributed_optimizer: true\n",
			 "  distributed_optimizer: true\n  recompute: full\n");
	plan = build(fixed, "schema: 1\nmemory:\n  gpu_memory_gb: 1000\n", 1, 8,
		     &d, &r, &p);
	assert_null(plan);
	n56_diag_format(&d.v[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "memory.recompute full with "
				    "runtime.cuda_graphs.impl "
				    "transformer_engine"));
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
	free(fixed);
	/* Each fix offered, applied, fits with the peak it named. */
	fixed = replaced(y, "  distributed_optimizer: true\n",
			 "  distributed_optimizer: true\nlayout:\n"
			 "  segments: [13, 13, 13, 13]\n");
	fit_141(fixed, buf, sizeof(buf), peak);
	assert_string_equal(peak, "1 124.7");
	free(fixed);
	fixed = replaced(y, "micro_batch_size: 4\n", "micro_batch_size: 2\n");
	fit_141(fixed, buf, sizeof(buf), peak);
	assert_string_equal(peak, "0 128.1");
	free(fixed);
	/* Two nodes: dp 8 shards the optimizer further; it fits. */
	plan = build(y, "schema: 1\nmemory:\n  gpu_memory_gb: 141\n", 2, 8, &d,
		     &r, &p);
	assert_non_null(plan);
	assert_int_equal(plan->memory->verdict, N56_MEM_FITS);
	snprintf(buf, sizeof(buf), "%.1f",
		 plan->memory->rank[plan->memory->worst].total / 1e9);
	assert_string_equal(buf, "125.8");
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
}

/* Within warn_percent of the limit: a warning verdict, not a refusal. */
static void test_tight(void **state)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r;
	struct n56_policy *p;
	struct n56_plan *plan = build(tiny, NULL, 1, 1, &d, &r, &p);
	struct n56_plan_request req = { 1, 1 };
	struct n56_mem_capacity_in cap = { 0, NULL };
	double total = plan->memory->rank[0].total;

	(void)state;
	n56_plan_free(plan);
	/* limit = 0.95 capacity; tight above limit - 0.03 capacity */
	cap.node_bytes = total / 0.93;
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), 0);
	assert_int_equal(plan->memory->verdict, N56_MEM_TIGHT);
	n56_plan_free(plan);
	cap.node_bytes = total / 0.90;
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), 0);
	assert_int_equal(plan->memory->verdict, N56_MEM_FITS);
	n56_plan_free(plan);
	cap.node_bytes = total / 0.96;
	assert_int_equal(n56_plan_build_mem(r, p, &req, &cap, &plan, &d), -1);
	assert_null(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inflight_1f1b),
		cmocka_unit_test(test_inflight_interleaved),
		cmocka_unit_test(test_terms_by_hand),
		cmocka_unit_test(test_unfused_scores_and_selective),
		cmocka_unit_test(test_full_recompute),
		cmocka_unit_test(test_distributed_optimizer),
		cmocka_unit_test(test_capacity_sources),
		cmocka_unit_test(test_capacity_partition_list),
		cmocka_unit_test(test_refusal_names_partition),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_refusal_and_fix),
		cmocka_unit_test(test_tight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
