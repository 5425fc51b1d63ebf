/* The preflight's logic without a GPU: argument parsing, Megatron's groups
 * against a brute-force enumeration, the NVLink expectation, thresholds,
 * verdicts, and the text and JSON reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "preflight/preflight.h"

/* A fake environment for the getenv_fn hooks. */
static const char *fake_env[16][2];

static void env_set(const char *name, const char *value)
{
	for (int i = 0; i < 16; i++)
		if (!fake_env[i][0] || !strcmp(fake_env[i][0], name)) {
			fake_env[i][0] = name;
			fake_env[i][1] = value;
			return;
		}
	fail_msg("fake environment full");
}

static const char *env_get(const char *name)
{
	for (int i = 0; i < 16 && fake_env[i][0]; i++)
		if (!strcmp(fake_env[i][0], name))
			return fake_env[i][1];
	return NULL;
}

static int setup(void **state)
{
	memset(fake_env, 0, sizeof(fake_env));
	return 0;
}

static int parse(struct n56pf_config *c, char *err, size_t len, ...)
{
	char *argv[32] = { "nam56r-preflight" };
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, len);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	return n56pf_parse_args(argc, argv, env_get, c, err, len);
}

static void test_parse_defaults(void **state)
{
	struct n56pf_config c;
	char err[256];

	assert_int_equal(parse(&c, err, sizeof(err), NULL), 0);
	assert_int_equal(c.tp, 1);
	assert_int_equal(c.pp, 1);
	assert_int_equal(c.cp, 1);
	assert_int_equal(c.ep, 1);
	assert_int_equal(c.etp, 0);
	assert_false(c.pp_before_dp);
	assert_true(c.min_tp_busbw == N56PF_DEFAULT_MIN_TP_BUSBW);
	assert_true(c.min_dp_busbw == 0);
	assert_int_equal(c.format, N56PF_TEXT);
	assert_null(c.json_path);
	assert_int_equal(c.min_bytes, 1 << 20);
	assert_int_equal(c.max_bytes, 1 << 30);
	n56pf_config_clear(&c);
}

static void test_parse_megatron_args(void **state)
{
	struct n56pf_config c;
	char err[256];

	/* The generated argv, with runtime args the preflight must skip. */
	assert_int_equal(parse(&c, err, sizeof(err), "--num-layers", "52",
			       "--tensor-model-parallel-size", "8",
			       "--hybrid-layer-pattern", "M*-E",
			       "--pipeline-model-parallel-size=4",
			       "--context-parallel-size", "2",
			       "--expert-model-parallel-size", "16",
			       "--expert-tensor-parallel-size", "1",
			       "--use-tp-pp-dp-mapping", "--sequence-parallel",
			       "--json", "/tmp/x.json", "--format=json",
			       "--min-tp-busbw", "250.5", "--max-bytes", "64M",
			       "--min-bytes", "4K", "--iters", "3",
			       "--warmup=0", NULL),
			 0);
	assert_int_equal(c.tp, 8);
	assert_int_equal(c.pp, 4);
	assert_int_equal(c.cp, 2);
	assert_int_equal(c.ep, 16);
	assert_int_equal(c.etp, 1);
	assert_true(c.pp_before_dp);
	assert_string_equal(c.json_path, "/tmp/x.json");
	assert_int_equal(c.format, N56PF_JSON);
	assert_true(c.min_tp_busbw == 250.5);
	assert_int_equal(c.max_bytes, 64 << 20);
	assert_int_equal(c.min_bytes, 4 << 10);
	assert_int_equal(c.iters, 3);
	assert_int_equal(c.warmup, 0);
	n56pf_config_clear(&c);
}

static void test_parse_env_thresholds(void **state)
{
	struct n56pf_config c;
	char err[256];

	env_set("NAM56R_PREFLIGHT_MIN_TP_BUSBW", "300");
	env_set("NAM56R_PREFLIGHT_MIN_DP_BUSBW", "40");
	assert_int_equal(parse(&c, err, sizeof(err), NULL), 0);
	assert_true(c.min_tp_busbw == 300);
	assert_true(c.min_dp_busbw == 40);
	n56pf_config_clear(&c);
	/* The command line wins over the environment. */
	assert_int_equal(
		parse(&c, err, sizeof(err), "--min-dp-busbw", "0", NULL), 0);
	assert_true(c.min_tp_busbw == 300);
	assert_true(c.min_dp_busbw == 0);
	n56pf_config_clear(&c);
	env_set("NAM56R_PREFLIGHT_MIN_TP_BUSBW", "fast");
	assert_int_equal(parse(&c, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "NAM56R_PREFLIGHT_MIN_TP_BUSBW: 'fast' is "
				 "not a bandwidth in GB/s (a number >= 0)");
}

static void expect_parse_error(const char *msg, ...)
{
	char *argv[8] = { "nam56r-preflight" }, err[256];
	struct n56pf_config c;
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, msg);
	while ((a = va_arg(ap, char *)) && argc < 7)
		argv[argc++] = a;
	va_end(ap);
	assert_int_equal(
		n56pf_parse_args(argc, argv, env_get, &c, err, sizeof(err)),
		-1);
	assert_string_equal(err, msg);
	assert_null(c.json_path); /* freed on failure */
}

static void test_parse_errors(void **state)
{
	expect_parse_error("--tensor-model-parallel-size: 'x' is not an "
			   "integer of at least 1",
			   "--tensor-model-parallel-size", "x", NULL);
	expect_parse_error("--pipeline-model-parallel-size: '0' is not an "
			   "integer of at least 1",
			   "--pipeline-model-parallel-size=0", NULL);
	expect_parse_error("--context-parallel-size needs a value",
			   "--context-parallel-size", NULL);
	expect_parse_error("--use-tp-pp-dp-mapping takes no value",
			   "--use-tp-pp-dp-mapping=1", NULL);
	expect_parse_error("--format: 'xml' is neither text nor json",
			   "--format", "xml", NULL);
	expect_parse_error("--min-tp-busbw: '-3' is not a bandwidth in GB/s "
			   "(a number >= 0)",
			   "--min-tp-busbw", "-3", NULL);
	expect_parse_error("--max-bytes: '1T' is not a size such as "
			   "1048576, 64K, 1M or 1G",
			   "--max-bytes", "1T", NULL);
	expect_parse_error("--json: the file name is empty", "--json=", NULL);
	expect_parse_error("--iters: '0' is not an integer of at least 1",
			   "--iters", "0", NULL);
	expect_parse_error("--min-bytes 2147483648 is larger than "
			   "--max-bytes 1073741824",
			   "--json", "a.json", "--min-bytes", "2G", NULL);
}

static void test_sizes(void **state)
{
	struct n56pf_config c = { .min_bytes = 1 << 20, .max_bytes = 1 << 30 };
	size_t s[N56PF_MAX_SIZES], b;
	int n = n56pf_sizes(&c, s);

	assert_int_equal(n, 6); /* 1M 4M 16M 64M 256M 1G */
	for (int i = 0; i < n; i++)
		assert_int_equal(s[i], (size_t)1 << (20 + 2 * i));
	c.max_bytes = 100 << 20; /* stops below the limit */
	assert_int_equal(n56pf_sizes(&c, s), 4);
	assert_int_equal(n56pf_parse_bytes("1GiB", &b), 0);
	assert_int_equal(b, 1 << 30);
	assert_int_equal(n56pf_parse_bytes("0", &b), -1);
	assert_int_equal(n56pf_parse_bytes("-1M", &b), -1);
	assert_int_equal(n56pf_parse_bytes("1Mx", &b), -1);
}

static void test_grid_errors(void **state)
{
	struct n56pf_config c = { .tp = 4, .pp = 1, .cp = 1, .ep = 1 };
	struct n56pf_grid g;
	char err[256];

	assert_int_equal(n56pf_grid_init(&g, 6, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "world 6 is not a multiple of tp 4 x cp 1 x "
				 "pp 1");
	c.tp = 1;
	c.ep = 3;
	assert_int_equal(n56pf_grid_init(&g, 8, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "world 8 is not a multiple of etp 1 x ep 3 "
				 "x pp 1");
	assert_int_equal(n56pf_grid_init(&g, 0, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "WORLD_SIZE 0 is not a positive rank count");
	c.tp = 2;
	c.ep = 2;
	c.pp = 2;
	c.etp = 2;
	c.pp_before_dp = true;
	assert_int_equal(n56pf_grid_init(&g, 16, &c, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "with --use-tp-pp-dp-mapping and pp 2, etp 2 "
			    "x ep 2 must equal tp 2 x cp 1 (Megatron requires "
			    "the expert and dense data-parallel sizes to "
			    "agree)");
	c.pp = 1;
	c.etp = 0;
	c.pp_before_dp = false;
	/* Megatron's default expert TP is the TP size. */
	c.tp = 2;
	c.ep = 2;
	assert_int_equal(n56pf_grid_init(&g, 8, &c, err, sizeof(err)), 0);
	assert_int_equal(g.etp, 2);
	assert_int_equal(g.edp, 2);
	assert_int_equal(g.dp, 4);
}

/* Brute force: coordinates from the formulas of parallel_state, written
 * out as nested loops, and groups as "ranks equal in every other axis". */
struct brute {
	long tp, cp, dp, pp, ep, etp, edp;
};

static void brute_coords(const struct n56pf_grid *g, struct brute *out)
{
	for (long pp = 0; pp < g->pp; pp++)
		for (long dp = 0; dp < g->dp; dp++)
			for (long cp = 0; cp < g->cp; cp++)
				for (long tp = 0; tp < g->tp; tp++) {
					long r =
						g->pp_before_dp
							? tp + g->tp * (cp +
									g->cp * (pp +
										 g->pp * dp))
							: tp + g->tp * (cp +
									g->cp * (dp +
										 g->dp * pp));

					out[r].tp = tp;
					out[r].cp = cp;
					out[r].dp = dp;
					out[r].pp = pp;
				}
	for (long pp = 0; pp < g->pp; pp++)
		for (long edp = 0; edp < g->edp; edp++)
			for (long ep = 0; ep < g->ep; ep++)
				for (long etp = 0; etp < g->etp; etp++) {
					long r =
						g->pp_before_dp
							? etp + g->etp * (ep +
									  g->ep * (pp +
										   g->pp * edp))
							: etp + g->etp * (ep +
									  g->ep * (edp +
										   g->edp *
											   pp));

					out[r].etp = etp;
					out[r].ep = ep;
					out[r].edp = edp;
				}
}

/* Same group of kind k: equal in every coordinate of k's grid but k's. */
static bool brute_same_group(enum n56pf_kind k, const struct brute *a,
			     const struct brute *b)
{
	switch (k) {
	case N56PF_TP:
		return a->cp == b->cp && a->dp == b->dp && a->pp == b->pp;
	case N56PF_CP:
		return a->tp == b->tp && a->dp == b->dp && a->pp == b->pp;
	case N56PF_DP:
		return a->tp == b->tp && a->cp == b->cp && a->pp == b->pp;
	case N56PF_PP:
		return a->tp == b->tp && a->cp == b->cp && a->dp == b->dp;
	case N56PF_EP:
		return a->etp == b->etp && a->edp == b->edp && a->pp == b->pp;
	default:
		return false;
	}
}

static long brute_index(enum n56pf_kind k, const struct brute *a)
{
	switch (k) {
	case N56PF_TP:
		return a->tp;
	case N56PF_CP:
		return a->cp;
	case N56PF_DP:
		return a->dp;
	case N56PF_PP:
		return a->pp;
	default:
		return a->ep;
	}
}

static void check_grid(long tp, long cp, long pp, long dp, long ep, long etp,
		       bool pp_before_dp)
{
	struct n56pf_config c = { .tp = tp,
				  .cp = cp,
				  .pp = pp,
				  .ep = ep,
				  .etp = etp,
				  .pp_before_dp = pp_before_dp };
	long world = tp * cp * pp * dp;
	struct n56pf_grid g;
	struct brute *b = calloc((size_t)world, sizeof(*b));
	long *members = calloc((size_t)world, sizeof(long));
	long *uses = calloc((size_t)world, sizeof(long));
	char err[256];

	assert_non_null(b);
	assert_non_null(members);
	assert_non_null(uses);
	assert_int_equal(n56pf_grid_init(&g, world, &c, err, sizeof(err)), 0);
	brute_coords(&g, b);
	for (long r = 0; r < world; r++) {
		struct n56pf_coords x;

		n56pf_coords_of(&g, r, &x);
		assert_int_equal(x.tp, b[r].tp);
		assert_int_equal(x.cp, b[r].cp);
		assert_int_equal(x.dp, b[r].dp);
		assert_int_equal(x.pp, b[r].pp);
		assert_int_equal(x.ep, b[r].ep);
		assert_int_equal(x.etp, b[r].etp);
		assert_int_equal(x.edp, b[r].edp);
	}
	for (int k = 0; k < N56PF_NKINDS; k++) {
		long size = n56pf_group_size(&g, k);
		long count = n56pf_group_count(&g, k);

		assert_int_equal(size * count, world);
		memset(uses, 0, (size_t)world * sizeof(long));
		for (long r = 0; r < world; r++) {
			long grp, idx, n = 0;

			n56pf_group_of(&g, k, r, &grp, &idx);
			assert_in_range(grp, 0, count - 1);
			assert_int_equal(idx, brute_index(k, &b[r]));
			uses[grp]++;
			n56pf_group_members(&g, k, grp, members);
			/* The members are exactly the brute-force group,
			 * ordered by their index in it. */
			for (long s = 0; s < world; s++)
				if (brute_same_group(k, &b[r], &b[s])) {
					long at = brute_index(k, &b[s]);

					assert_in_range(at, 0, size - 1);
					assert_int_equal(members[at], s);
					n++;
				}
			assert_int_equal(n, size);
		}
		for (long i = 0; i < count; i++)
			assert_int_equal(uses[i], size);
	}
	free(b);
	free(members);
	free(uses);
}

static void test_groups_brute_force(void **state)
{
	static const long tps[] = { 1, 2, 4, 8 };
	static const long cps[] = { 1, 2 };
	static const long pps[] = { 1, 2, 3, 4 };
	static const long dps[] = { 1, 2, 3, 4 };
	static const long eps[] = { 1, 2, 4, 8 };
	static const long etps[] = { 0, 1, 2 };
	int combos = 0;

	for (size_t a = 0; a < 4; a++)
		for (size_t b = 0; b < 2; b++)
			for (size_t p = 0; p < 4; p++)
				for (size_t d = 0; d < 4; d++)
					for (size_t e = 0; e < 4; e++)
						for (size_t t = 0; t < 3; t++) {
							long world = tps[a] *
								     cps[b] *
								     pps[p] *
								     dps[d];
							long etp =
								etps[t] ? etps[t]
									: tps[a];

							if (world %
							    (etp * eps[e] *
							     pps[p]))
								continue;
							check_grid(
								tps[a], cps[b],
								pps[p], dps[d],
								eps[e], etps[t],
								false);
							/* Megatron refuses pp-before-dp when dp and edp differ. */
							if (pps[p] == 1 ||
							    etp * eps[e] ==
								    tps[a] *
									    cps[b])
								check_grid(
									tps[a],
									cps[b],
									pps[p],
									dps[d],
									eps[e],
									etps[t],
									true);
							combos++;
						}
	assert_true(combos > 100);
}

static void test_env_coords(void **state)
{
	struct n56pf_config c = { .tp = 2, .cp = 1, .pp = 2, .ep = 2 };
	struct n56pf_grid g;
	char err[512];

	assert_int_equal(n56pf_grid_init(&g, 8, &c, err, sizeof(err)), 0);
	/* Rank 5: tp 1, dp 0, pp 1; expert grid etp 1, ep 0, edp 0. */
	env_set("NAM56R_TP_RANK", "1");
	env_set("NAM56R_CP_RANK", "0");
	env_set("NAM56R_EP_RANK", "0");
	env_set("NAM56R_DP_RANK", "0");
	env_set("NAM56R_PP_RANK", "1");
	assert_int_equal(
		n56pf_check_env_coords(&g, 5, env_get, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	env_set("NAM56R_TP_RANK", "0");
	env_set("NAM56R_PP_RANK", "");
	assert_int_equal(
		n56pf_check_env_coords(&g, 5, env_get, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "NAM56R_TP_RANK=0 but Megatron's order "
			    "gives 1; NAM56R_PP_RANK= but Megatron's order "
			    "gives 1");
	/* Rank 2: tp 0, dp 1, pp 0; expert ep 1. */
	assert_int_equal(
		n56pf_check_env_coords(&g, 2, env_get, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "NAM56R_EP_RANK=0 but Megatron's order "
			    "gives 1; NAM56R_DP_RANK=0 but Megatron's order "
			    "gives 1; NAM56R_PP_RANK= but Megatron's order "
			    "gives 0");
	memset(fake_env, 0, sizeof(fake_env));
	assert_int_equal(
		n56pf_check_env_coords(&g, 0, env_get, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NAM56R_TP_RANK is not set, Megatron's "
				    "order gives 0"));
}

static void test_busbw(void **state)
{
	/* 1e9 bytes in one second is an algbw of 1 GB/s. */
	assert_true(n56pf_busbw(N56PF_TP, 2, 1e9, 1) == 1.0);
	assert_true(n56pf_busbw(N56PF_DP, 8, 1e9, 1) == 1.75);
	assert_true(n56pf_busbw(N56PF_EP, 8, 1e9, 1) == 0.875);
	assert_true(n56pf_busbw(N56PF_PP, 2, 1e9, 0.5) == 2.0);
	/* CP: the ring exchange, each rank's whole buffer to its next */
	assert_true(n56pf_busbw(N56PF_CP, 4, 1e9, 0.5) == 2.0);
	assert_true(n56pf_busbw(N56PF_TP, 2, 1e9, 0) == 0);
}

static void test_expect_nvlink(void **state)
{
	int same[] = { 3, 3, 3, 3 }, mixed[] = { 0, 0, 1, 1 },
	    unknown[] = { -1, -1 };

	assert_true(n56pf_expect_nvlink(same, 4, false));
	assert_false(n56pf_expect_nvlink(same, 4, true));
	assert_false(n56pf_expect_nvlink(mixed, 4, false));
	assert_false(n56pf_expect_nvlink(unknown, 2, false));
	assert_false(n56pf_expect_nvlink(same, 1, false));
}

/* A report for a world of tp x dp ranks on one island unless said. */
static void make_report(struct n56pf_report *r, long tp, long dp, double min_tp,
			double min_dp)
{
	struct n56pf_config c = { .tp = tp,
				  .cp = 1,
				  .pp = 1,
				  .ep = 1,
				  .min_tp_busbw = min_tp,
				  .min_dp_busbw = min_dp,
				  .min_bytes = 1 << 20,
				  .max_bytes = 1 << 30 };
	struct n56pf_grid g;
	size_t sizes[N56PF_MAX_SIZES];
	char err[256];
	int n = n56pf_sizes(&c, sizes);

	assert_int_equal(n56pf_grid_init(&g, tp * dp, &c, err, sizeof(err)), 0);
	assert_int_equal(
		n56pf_report_init(r, &g, &c, sizes, n, err, sizeof(err)), 0);
	for (long i = 0; i < g.world; i++) {
		r->ranks[i].island = 0;
		r->ranks[i].coords_ok = true;
	}
	for (size_t i = 0; i < r->ngroups; i++)
		r->groups[i].verified = true;
}

/* Times that give busbw GB/s at every size for an all-reduce of n ranks. */
static void set_busbw(struct n56pf_report *r, struct n56pf_group_result *e,
		      double busbw)
{
	e->measured = true;
	for (int i = 0; i < r->nsizes; i++) {
		double algbw = busbw * e->n / (2.0 * (e->n - 1));

		e->time_us[i] = (double)r->sizes[i] / (algbw * 1e9) * 1e6;
	}
}

static void test_judge_tp_nvlink(void **state)
{
	struct n56pf_report r;

	make_report(&r, 2, 1, 100, 0);
	assert_int_equal(r.ngroups, 1);
	assert_int_equal(r.groups[0].kind, N56PF_TP);
	set_busbw(&r, &r.groups[0], 330);
	n56pf_report_judge(&r);
	assert_true(r.groups[0].expect_nvlink);
	assert_int_equal(r.groups[0].island, 0);
	assert_true(r.groups[0].busbw[r.nsizes - 1] > 329.9 &&
		    r.groups[0].busbw[r.nsizes - 1] < 330.1);
	assert_int_equal(r.groups[0].verdict, N56PF_PASS);
	assert_string_equal(r.groups[0].why, "330.0 GB/s at 1G >= 100.0 GB/s");
	assert_int_equal(r.verdict, N56PF_PASS);

	/* Off NVLink (P2P disabled): the same group must fail, by name. */
	set_busbw(&r, &r.groups[0], 27);
	n56pf_report_judge(&r);
	assert_int_equal(r.groups[0].verdict, N56PF_FAIL);
	assert_string_equal(r.groups[0].why,
			    "tp 0 (ranks 0-1, island 0) should be on NVLink "
			    "but reached 27.0 GB/s at 1G, below 100.0 GB/s");
	assert_int_equal(r.verdict, N56PF_FAIL);
	n56pf_report_clear(&r);
}

static void test_judge_not_expected(void **state)
{
	struct n56pf_report r;

	make_report(&r, 4, 2, 100, 0);
	assert_int_equal(r.ngroups, 2 + 4); /* 2 TP, 4 DP groups */
	r.ranks[2].island = 1;		    /* TP group 0 spans islands */
	for (size_t i = 0; i < r.ngroups; i++)
		set_busbw(&r, &r.groups[i], 20);
	n56pf_report_judge(&r);
	assert_false(r.groups[0].expect_nvlink);
	assert_int_equal(r.groups[0].island, -1);
	assert_int_equal(r.groups[0].verdict, N56PF_INFO);
	assert_string_equal(r.groups[0].why,
			    "spans islands: not expected on NVLink");
	assert_int_equal(r.groups[1].verdict, N56PF_FAIL); /* on island 0 */
	assert_int_equal(r.groups[2].kind, N56PF_DP);
	assert_int_equal(r.groups[2].verdict, N56PF_INFO);
	assert_string_equal(r.groups[2].why, "no threshold");
	assert_int_equal(r.verdict, N56PF_FAIL);
	/* Degraded islands: no TP group is expected on NVLink. */
	r.degraded = true;
	n56pf_report_judge(&r);
	assert_int_equal(r.groups[1].verdict, N56PF_INFO);
	assert_string_equal(r.groups[1].why, "islands unknown (degraded): no "
					     "NVLink expectation");
	assert_int_equal(r.verdict, N56PF_PASS);
	n56pf_report_clear(&r);
}

static void test_judge_dp_and_checks(void **state)
{
	struct n56pf_report r;

	make_report(&r, 1, 2, 100, 50);
	assert_int_equal(r.ngroups, 1);
	assert_int_equal(r.groups[0].kind, N56PF_DP);
	set_busbw(&r, &r.groups[0], 40);
	n56pf_report_judge(&r);
	assert_int_equal(r.groups[0].verdict, N56PF_FAIL);
	assert_string_equal(r.groups[0].why, "dp 0 (ranks 0-1) reached 40.0 "
					     "GB/s at 1G, below 50.0 GB/s");
	set_busbw(&r, &r.groups[0], 60);
	n56pf_report_judge(&r);
	assert_int_equal(r.verdict, N56PF_PASS);
	/* A communicator that holds other ranks fails whatever its speed. */
	r.groups[0].verified = false;
	snprintf(r.groups[0].verify_why, sizeof(r.groups[0].verify_why),
		 "communicator holds 3 ranks");
	n56pf_report_judge(&r);
	assert_int_equal(r.groups[0].verdict, N56PF_FAIL);
	assert_string_equal(r.groups[0].why, "dp 0 (ranks 0-1): communicator "
					     "holds 3 ranks");
	/* A rank whose NAM56R_*_RANK disagree fails the whole run. */
	r.groups[0].verified = true;
	r.ranks[1].coords_ok = false;
	n56pf_report_judge(&r);
	assert_int_equal(r.groups[0].verdict, N56PF_PASS);
	assert_int_equal(r.verdict, N56PF_FAIL);
	n56pf_report_clear(&r);
}

static void test_report_groups_pp(void **state)
{
	struct n56pf_config c = { .tp = 2,
				  .cp = 1,
				  .pp = 3,
				  .ep = 1,
				  .min_bytes = 1 << 20,
				  .max_bytes = 1 << 20 };
	struct n56pf_grid g;
	struct n56pf_report r;
	size_t sizes[N56PF_MAX_SIZES];
	char err[256];
	int n = n56pf_sizes(&c, sizes);

	assert_int_equal(n56pf_grid_init(&g, 12, &c, err, sizeof(err)), 0);
	assert_int_equal(
		n56pf_report_init(&r, &g, &c, sizes, n, err, sizeof(err)), 0);
	/* 6 TP groups, 6 DP groups of 2, 4 pipelines x 2 stage pairs. */
	assert_int_equal(r.ngroups, 6 + 6 + 8);
	for (size_t i = 0; i < r.ngroups; i++) {
		const struct n56pf_group_result *e = &r.groups[i];

		if (e->kind != N56PF_PP)
			continue;
		assert_int_equal(e->n, 2);
		/* Stage s -> s+1 of one pipeline: 4 ranks apart (tp*dp). */
		assert_int_equal(e->ranks[1] - e->ranks[0], 4);
		assert_int_equal(e->ranks[0] / 4, e->stage);
	}
	n56pf_report_clear(&r);
}

static void test_format_ranks(void **state)
{
	long a[] = { 0, 1, 2, 3 }, b[] = { 0, 2, 4 }, c[] = { 0, 1, 4, 5, 9 };
	char buf[64], small[10];

	assert_int_equal(n56pf_format_ranks(a, 4, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0-3");
	assert_int_equal(n56pf_format_ranks(b, 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0,2,4");
	assert_int_equal(n56pf_format_ranks(c, 5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0-1,4-5,9");
	assert_int_equal(n56pf_format_ranks(c, 5, small, sizeof(small)), -1);
	assert_string_equal(small, "0-1,...");
}

static void test_report_json(void **state)
{
	struct n56pf_report r;
	json_error_t jerr;
	json_t *root, *grp;
	char *text;

	make_report(&r, 2, 1, 100, 0);
	set_busbw(&r, &r.groups[0], 27);
	snprintf(r.nccl_version, sizeof(r.nccl_version), "2.28.9");
	snprintf(r.ranks[0].host, sizeof(r.ranks[0].host), "gpu-a");
	n56pf_report_judge(&r);
	text = n56pf_report_json(&r);
	assert_non_null(text);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "verdict")),
			    "FAIL");
	assert_int_equal(json_integer_value(json_object_get(root, "world")), 2);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(root, "parallel"), "tp")),
			 2);
	assert_int_equal(json_array_size(json_object_get(root, "sizes")), 6);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(root, "ranks"), 0),
			"host")),
		"gpu-a");
	grp = json_array_get(json_object_get(root, "groups"), 0);
	assert_string_equal(json_string_value(json_object_get(grp, "kind")),
			    "tp");
	assert_true(json_is_true(json_object_get(grp, "expect_nvlink")));
	assert_int_equal(json_array_size(json_object_get(grp, "ranks")), 2);
	assert_true(json_real_value(json_object_get(grp, "busbw_gbps")) > 26.9);
	assert_true(json_real_value(json_object_get(grp, "busbw_gbps")) < 27.1);
	assert_true(json_real_value(json_object_get(grp, "threshold_gbps")) ==
		    100.0);
	assert_string_equal(json_string_value(json_object_get(grp, "verdict")),
			    "FAIL");
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(grp, "results"), 5),
			"bytes")),
		1 << 30);
	json_decref(root);
	free(text);
	n56pf_report_clear(&r);
}

static void test_report_text(void **state)
{
	struct n56pf_report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	make_report(&r, 2, 1, 100, 0);
	set_busbw(&r, &r.groups[0], 27);
	n56pf_report_judge(&r);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	n56pf_report_text(f, &r);
	fclose(f);
	assert_non_null(strstr(buf, "nam56r-preflight: FAIL  world 2: tp 2 "
				    "cp 1 dp 1 pp 1, ep 1 etp 2 edp 1, order "
				    "tp-cp-ep-dp-pp\n"));
	assert_non_null(strstr(buf, "   27.0   100.0  FAIL  tp 0 (ranks "
				    "0-1, island 0) should be on NVLink"));
	assert_non_null(strstr(buf, "\nFAILED:\n  tp 0 (ranks 0-1, island 0)"));
	free(buf);
	n56pf_report_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_defaults, setup),
		cmocka_unit_test_setup(test_parse_megatron_args, setup),
		cmocka_unit_test_setup(test_parse_env_thresholds, setup),
		cmocka_unit_test_setup(test_parse_errors, setup),
		cmocka_unit_test_setup(test_sizes, setup),
		cmocka_unit_test_setup(test_grid_errors, setup),
		cmocka_unit_test_setup(test_groups_brute_force, setup),
		cmocka_unit_test_setup(test_env_coords, setup),
		cmocka_unit_test_setup(test_busbw, setup),
		cmocka_unit_test_setup(test_expect_nvlink, setup),
		cmocka_unit_test_setup(test_judge_tp_nvlink, setup),
		cmocka_unit_test_setup(test_judge_not_expected, setup),
		cmocka_unit_test_setup(test_judge_dp_and_checks, setup),
		cmocka_unit_test_setup(test_report_groups_pp, setup),
		cmocka_unit_test_setup(test_format_ranks, setup),
		cmocka_unit_test_setup(test_report_json, setup),
		cmocka_unit_test_setup(test_report_text, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
