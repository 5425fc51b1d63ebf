/* Unit tests of the cost model (policy/cost.c) on tiny dimensions whose
 * products are worked out by hand in the comments: MACs per token, then
 * forward + backward FLOPs = 6 x MACs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/cost.h"

/* The figures are sums of small integers, exact in a double: a tolerance
 * far below 1 still tells a wrong term from rounding. */
#define TOL 1e-9

/* actual within tol of expected; else both, the difference and the
 * tolerance are printed, and the test fails at the caller's line. */
#define assert_near(actual, expected, tol) \
	check_near((actual), (expected), (tol), #actual, __FILE__, __LINE__)

static void check_near(double actual, double expected, double tol,
		       const char *what, const char *file, int line)
{
	if (fabs(actual - expected) <= tol)
		return;
	print_error("%s = %.17g, expected %.17g (difference %.3g, tolerance "
		    "%.3g)\n",
		    what, actual, expected, actual - expected, tol);
	_fail(file, line);
}

static int setup(void **state)
{
	struct n56_recipe *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->path = "t.yaml";
	r->model.hidden_size.v = 8;
	r->model.ffn_hidden_size.v = 6;
	r->model.vocab_size.v = 10;
	r->model.attention.heads.v = 2;
	r->model.attention.query_groups.v = 1;
	r->batch.seq_length.v = 7;
	r->model.mamba.heads.v = 2;
	r->model.mamba.head_dim.v = 4;
	r->model.mamba.groups.v = 1;
	r->model.mamba.state_dim.v = 3;
	r->model.moe.experts.v = 4;
	r->model.moe.topk.v = 2;
	r->model.moe.ffn_hidden_size.v = 3;
	r->model.moe.shared_expert_size.v = 5;
	r->model.recurrent.state_dim.v = 2;
	r->model.mtp.pattern.v = "AE";
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	free(*state); /* every string in it is a literal */
	return 0;
}

static void enable_mla(struct n56_recipe *r)
{
	r->model.attention.mla.enabled.v = true;
	r->model.attention.mla.q_lora_rank.v = 2;
	r->model.attention.mla.kv_lora_rank.v = 3;
	r->model.attention.mla.qk_head_dim.v = 4;
	r->model.attention.mla.qk_pos_emb_head_dim.v = 1;
	r->model.attention.mla.v_head_dim.v = 2;
	r->model.attention.dsa.topk.v = 2;
	r->model.attention.dsa.indexer_heads.v = 2;
	r->model.attention.dsa.indexer_head_dim.v = 3;
}

/* h 8, 2 heads of d = 8/2 = 4, 1 group: Q 8*2*4 = 64, K+V 2*8*1*4 = 64,
 * out 2*4*8 = 64: 192. Seq 7: (7+1)/2 = 4 keys, QK + AV 2*2*4*4 = 64. */
static void test_attention_plain(void **state)
{
	struct n56_block_cost c = n56_cost_attention(*state, false);

	assert_near(c.params, 192, TOL);
	assert_near(c.flops, 6 * (192 + 64), TOL);
}

/* MLA: q 8*2 + 2*2*(4+1) = 36, kv down 8*(3+1) = 32, kv up 3*2*(4+2) =
 * 36, out 2*2*8 = 32: 136. Per key 2*(4+1) + 2*2 = 14, 4 keys: 56. */
static void test_attention_mla(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_block_cost c;

	enable_mla(r);
	c = n56_cost_attention(r, false);
	assert_near(c.params, 136, TOL);
	assert_near(c.flops, 6 * (136 + 56), TOL);
}

/* DSA: top-2 of a causal 7: (1 + 2*6)/7 = 13/7 keys, 14 * 13/7 = 26.
 * Indexer: q 2*2*3 = 12, k 8*3 = 24, weights 8*2 = 16 (52), scores
 * 2*3*4 = 24. 136 + 52 + 24 + 26 = 238. */
static void test_attention_dsa(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_block_cost c;

	enable_mla(r);
	c = n56_cost_attention(r, true);
	assert_near(c.params, 136 + 52, TOL);
	assert_near(c.flops, 6 * 238, TOL);
	/* a top-k above the sequence changes nothing but the indexer */
	r->model.attention.dsa.topk.v = 100;
	c = n56_cost_attention(r, true);
	assert_near(c.flops, 6 * (136 + 52 + 24 + 56), TOL);
}

/* Mamba: d_inner 2*4 = 8; in_proj 8*(2*8 + 2*1*3 + 2) = 192, conv
 * 4*(8 + 6) = 56, scan 2*8*3 = 48, out 8*8 = 64: 360 MACs. Params add
 * A, D, dt bias (3*2) and the norm (8): 192 + 56 + 6 + 8 + 64 = 326. */
static void test_mamba(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_block_cost c = n56_cost_mamba(r);

	assert_near(c.flops, 6 * 360, TOL);
	assert_near(c.params, 326, TOL);
	/* unset head_dim: expand 2, 2*8/2 = 8 per head, d_inner 16:
	 * 8*(32+6+2) + 4*(16+6) + 2*16*3 + 16*8 = 320+88+96+128 = 632 */
	r->model.mamba.head_dim.v = 0;
	c = n56_cost_mamba(r);
	assert_near(c.flops, 6 * 632, TOL);
}

/* MoE: router 8*4 = 32, top-2 SwiGLU 2*3*8*3 = 144, shared 3*8*5 = 120:
 * 296. Params: 32 + 4 experts * 72 + 120 = 440. */
static void test_moe(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_block_cost c = n56_cost_moe(r);

	assert_near(c.flops, 6 * 296, TOL);
	assert_near(c.params, 440, TOL);
	/* no experts: a dense SwiGLU of ffn 6, 3*8*6 = 144 */
	r->model.moe.experts.v = 0;
	c = n56_cost_moe(r);
	assert_near(c.flops, 6 * 144, TOL);
	assert_near(c.params, 144, TOL);
}

/* R: 5*8*8 = 320 projections + 3*8*2 = 48 state work. */
static void test_recurrent(void **state)
{
	struct n56_block_cost c = n56_cost_recurrent(*state);

	assert_near(c.flops, 6 * 368, TOL);
	assert_near(c.params, 320 + 16, TOL);
}

/* Output: 8*10 = 80 MACs (480 FLOPs) + CE 5*10 forward, x3: 150.
 * Embedding: 3*8 FLOPs, 80 params. MTP depth "AE" (no MLA): projection
 * 2*8*8 = 128 MACs, plain A 6*256, E 6*296, the output 630. */
static void test_ends_and_mtp(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_block_cost o = n56_cost_output(r);
	struct n56_block_cost e = n56_cost_embedding(r);
	struct n56_block_cost m = n56_cost_mtp_depth(r);

	assert_near(o.flops, 630, TOL);
	assert_near(o.params, 80, TOL);
	assert_near(e.flops, 24, TOL);
	assert_near(e.params, 80, TOL);
	assert_near(m.flops, 6 * 128 + 6 * 256 + 6 * 296 + 630, TOL);
	assert_near(m.params, 128 + 192 + 440, TOL);
}

/* The per-layer table: DSA picked by A ordinal, MTP depths on the last
 * segment, overrides in FLOPs. */
static void test_layer_costs(void **state)
{
	struct n56_recipe *r = *state;
	int dsa[] = { 1 };
	struct n56_layout l = {
		.tiled = "AEAMR",
		.depth = 5,
		.dsa_a_layer_ranks = dsa,
		.ndsa = 1,
	};
	struct n56_layer_costs c;
	struct n56_diags d = { 0 };
	struct n56_block_cost mtp;

	enable_mla(r);
	r->model.mtp.depths.v = 2;
	mtp = n56_cost_mtp_depth(r);
	assert_int_equal(n56_layer_costs_build(r, &l, &c, &d), 0);
	assert_near(c.flops[0], n56_cost_attention(r, false).flops, TOL);
	assert_near(c.flops[2], n56_cost_attention(r, true).flops, TOL);
	assert_near(c.flops[1], n56_cost_moe(r).flops, TOL);
	assert_near(c.flops[3], n56_cost_mamba(r).flops, TOL);
	assert_near(c.flops[4], n56_cost_recurrent(r).flops, TOL);
	assert_near(c.last.flops, n56_cost_output(r).flops + 2 * mtp.flops,
		    TOL);
	assert_near(c.first.params, 80, TOL);
	assert_near(c.total_params,
		    c.params[0] + c.params[1] + c.params[2] + c.params[3] +
			    c.params[4] + c.first.params + c.last.params,
		    TOL);
	n56_layer_costs_free(&c);

	/* a measured A figure replaces both A variants and the MTP's A */
	r->layout.cost[N56_A].v = 1000;
	r->layout.cost[N56_A].text = "1000";
	assert_int_equal(n56_layer_costs_build(r, &l, &c, &d), 0);
	assert_near(c.flops[0], 1000, TOL);
	assert_near(c.flops[2], 1000, TOL);
	mtp.flops += 1000 - n56_cost_attention(r, false).flops;
	assert_near(c.last.flops, n56_cost_output(r).flops + 2 * mtp.flops,
		    TOL);
	n56_layer_costs_free(&c);
	n56_layer_costs_free(NULL);
	assert_int_equal((int)d.n, 0);
}

static void test_bad_override(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_layout l = { .tiled = "AE", .depth = 2 };
	struct n56_layer_costs c;
	struct n56_diags d = { 0 };
	char buf[256];

	r->layout.cost[N56_M].v = -3;
	r->layout.cost[N56_M].text = "-3";
	r->layout.cost[N56_M].pos = (struct n56_pos){ 41, 8 };
	assert_int_equal(n56_layer_costs_build(r, &l, &c, &d), -1);
	assert_int_equal((int)d.n, 1);
	n56_diag_format(&d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "t.yaml:41:8: layout.cost.M is -3: give a "
				 "positive number of FLOPs per token (forward "
				 "+ backward) for one M block");
	n56_diags_free(&d);
}

static void test_bad_letter(void **state)
{
	struct n56_recipe *r = *state;
	struct n56_layout l = { .tiled = "AQ", .depth = 2 };
	struct n56_layer_costs c;
	struct n56_diags d = { 0 };
	char buf[256];

	r->model.pattern.pos = (struct n56_pos){ 4, 12 };
	assert_int_equal(n56_layer_costs_build(r, &l, &c, &d), -1);
	assert_int_equal((int)d.n, 1);
	n56_diag_format(&d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "t.yaml:4:12: layer 2 has unknown block "
				 "letter 'Q': use A, E, M or R");
	n56_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attention_plain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attention_mla, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attention_dsa, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mamba, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ends_and_mtp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_layer_costs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_override, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_letter, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
