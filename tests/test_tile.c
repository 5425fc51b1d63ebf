/* n56_layout_tile: patterns tiled to any depth, counts, R indices, DSA
 * ordinals and the native symbols. Recipes are filled by hand so that the
 * tiling is tested apart from the parser. */
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
	struct n56_layout l;
	struct n56_diags d;
	long dsa[32];
	struct n56_pos dsa_pos[32];
	char *seams[4];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->r.path = "t.yaml";
	f->r.model.pattern.v = "AEMEAEMEAEMR";
	f->r.model.pattern.pos = (struct n56_pos){ 6, 12 };
	f->r.model.depth.v = 52;
	f->r.model.attention.mla.enabled.v = true;
	f->seams[0] = "recurrent_tail";
	f->r.runtime.seams.v = f->seams;
	f->r.runtime.seams.n = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_layout_clear(&f->l);
	n56_diags_free(&f->d);
	free(f);
	return 0;
}

static void set_dsa(struct fixture *f, const long *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f->dsa[i] = v[i];
		f->dsa_pos[i] = (struct n56_pos){ 20, 22 + 3 * (int)i };
	}
	f->r.model.attention.dsa.a_layer_ranks.v = f->dsa;
	f->r.model.attention.dsa.a_layer_ranks.n = n;
	f->r.model.attention.dsa.a_layer_ranks.set = true;
	f->r.model.attention.dsa.a_layer_ranks.pos = (struct n56_pos){ 20, 21 };
	f->r.model.attention.dsa.a_layer_ranks.item_pos = f->dsa_pos;
}

static const char *diag_text(const struct fixture *f, size_t i)
{
	static char buf[1024];

	assert_true(i < f->d.n);
	n56_diag_format(&f->d.v[i], buf, sizeof(buf));
	return buf;
}

static void test_nam56r(void **state)
{
	struct fixture *f = *state;
	static const long dsa[] = { 1, 2, 3, 5, 6, 7, 9, 10, 11 };
	static const int r_idx[] = { 12, 24, 36, 48 };

	set_dsa(f, dsa, 9);
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_int_equal(f->d.n, 0);
	assert_int_equal(f->l.depth, 52);
	assert_string_equal(f->l.pattern, "AEMEAEMEAEMR");
	assert_string_equal(f->l.tiled, "AEMEAEMEAEMRAEMEAEMEAEMRAEMEAEMEAE"
					"MRAEMEAEMEAEMRAEME");
	assert_int_equal(f->l.counts[N56_A], 13);
	assert_int_equal(f->l.counts[N56_E], 22);
	assert_int_equal(f->l.counts[N56_M], 13);
	assert_int_equal(f->l.counts[N56_R], 4);
	assert_int_equal(f->l.nr, 4);
	assert_memory_equal(f->l.r_layer_indices, r_idx, sizeof(r_idx));
	assert_int_equal(f->l.ndsa, 9);
	/* A ordinals 0, 4, 8, 12 are MLA ('+'); the rest DSA ('D'); R -> M. */
	assert_string_equal(f->l.native_pattern, "+EMEDEMEDEMM"
						 "DEME+EMEDEMM"
						 "DEMEDEME+EMM"
						 "DEMEDEMEDEMM"
						 "+EME");
	assert_null(strchr(f->l.native_pattern, '|'));
}

static void test_depth_shorter_than_pattern(void **state)
{
	struct fixture *f = *state;

	f->r.model.depth.v = 5;
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_string_equal(f->l.tiled, "AEMEA");
	assert_string_equal(f->l.native_pattern, "+EME+");
	assert_int_equal(f->l.counts[N56_A], 2);
	assert_int_equal(f->l.counts[N56_R], 0);
	assert_int_equal(f->l.nr, 0);
}

static void test_odd_pattern_plain_attention(void **state)
{
	struct fixture *f = *state;

	f->r.model.pattern.v = "MMA";
	f->r.model.depth.v = 7;
	f->r.model.attention.mla.enabled.v = false;
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_string_equal(f->l.tiled, "MMAMMAM");
	assert_string_equal(f->l.native_pattern, "MM*MM*M");
	assert_int_equal(f->l.counts[N56_M], 5);
	assert_int_equal(f->l.counts[N56_A], 2);
}

static void test_single_letter(void **state)
{
	struct fixture *f = *state;

	f->r.model.pattern.v = "R";
	f->r.model.depth.v = 3;
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_string_equal(f->l.native_pattern, "MMM");
	assert_int_equal(f->l.nr, 3);
	assert_int_equal(f->l.r_layer_indices[2], 3);
}

static void test_r_without_seam(void **state)
{
	struct fixture *f = *state;

	f->r.runtime.seams.n = 0;
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(diag_text(f, 0),
			    "t.yaml:6:12: R blocks at layers 12, 24, 36, 48 "
			    "have no native lowering: declare the runtime "
			    "seam 'recurrent_tail' in runtime.seams, or remove "
			    "R from model.pattern");
}

static void test_dsa_rank_out_of_range(void **state)
{
	struct fixture *f = *state;
	static const long dsa[] = { 1, 13, 2, 2 };

	set_dsa(f, dsa, 4);
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), -1);
	assert_int_equal(f->d.n, 2);
	assert_string_equal(diag_text(f, 0),
			    "t.yaml:20:25: model.attention.dsa.a_layer_ranks: "
			    "13 is not an A ordinal: the pattern tiled to "
			    "depth 52 has 13 A layers (ordinals 0 to 12)");
	assert_string_equal(diag_text(f, 1),
			    "t.yaml:20:31: model.attention.dsa.a_layer_ranks: "
			    "2 is listed twice: list each A ordinal once");
	assert_int_equal(f->l.ndsa, 2);
}

static void test_dsa_without_attention(void **state)
{
	struct fixture *f = *state;
	static const long dsa[] = { 0, 1 };

	f->r.model.pattern.v = "ME";
	f->r.model.depth.v = 4;
	set_dsa(f, dsa, 2);
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(diag_text(f, 0),
			    "t.yaml:20:21: model.attention.dsa.a_layer_ranks: "
			    "the pattern has no A layers: remove the list, or "
			    "add A to model.pattern");
}

static void test_plain_mixed_with_dsa(void **state)
{
	struct fixture *f = *state;
	static const long dsa[] = { 0 };

	f->r.model.pattern.v = "AE";
	f->r.model.depth.v = 6;
	f->r.model.attention.mla.enabled.v = false;
	set_dsa(f, dsa, 1);
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_string_equal(diag_text(f, 0),
			    "t.yaml:20:21: 2 A layers would be plain attention "
			    "('*') and 1 DSA ('D'): Megatron refuses '*' "
			    "together with 'D' or '+'; enable "
			    "model.attention.mla or list every A ordinal (0 to "
			    "2) in model.attention.dsa.a_layer_ranks");
}

static void test_all_dsa_without_mla(void **state)
{
	struct fixture *f = *state;
	static const long dsa[] = { 0, 1 };

	f->r.model.pattern.v = "AE";
	f->r.model.depth.v = 4;
	f->r.model.attention.mla.enabled.v = false;
	set_dsa(f, dsa, 2);
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), 0);
	assert_string_equal(f->l.native_pattern, "DEDE");
}

static void test_bad_letter_and_depth(void **state)
{
	struct fixture *f = *state;

	f->r.model.pattern.v = "AEX";
	f->r.model.depth.v = 0;
	f->r.model.depth.pos = (struct n56_pos){ 7, 10 };
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), -1);
	assert_int_equal(f->d.n, 2);
	assert_string_equal(diag_text(f, 0),
			    "t.yaml:6:14: model.pattern: 'X' is not a block "
			    "family: use A (attention), E (MoE), M (Mamba) or "
			    "R (recurrent tail)");
	assert_string_equal(diag_text(f, 1),
			    "t.yaml:7:10: model.depth 0: must be between 1 "
			    "and 100000 layers");
	assert_null(f->l.tiled);
}

static void test_empty_pattern(void **state)
{
	struct fixture *f = *state;

	f->r.model.pattern.v = "";
	assert_int_equal(n56_layout_tile(&f->r, &f->l, &f->d), -1);
	assert_string_equal(diag_text(f, 0),
			    "t.yaml:6:12: model.pattern is empty: give the "
			    "block families as letters A, E, M, R (e.g. "
			    "AEMEAEMEAEMR)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nam56r, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_shorter_than_pattern,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_odd_pattern_plain_attention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_letter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_r_without_seam, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dsa_rank_out_of_range,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsa_without_attention,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_mixed_with_dsa,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_dsa_without_mla, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_letter_and_depth,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_pattern, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("tile", tests, NULL, NULL);
}
