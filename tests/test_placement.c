/* Placement: property tests over many parallel layouts and island
 * structures, plus the exact text of every refusal and broken rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topology/placement.h"
#include "wrapper/picture.h"

struct fixture {
	struct n56_placer *pl;
	struct n56_place_report rep;
	char err[512];
	unsigned char *seen; /* per (node, gpu): already given a rank */
	long *island_of_rank;
	size_t cap;
	long combos; /* layouts checked by the property test */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_placer_free(f->pl);
	free(f->seen);
	free(f->island_of_rank);
	free(f);
	return 0;
}

static struct n56_parallel par_of(long tp, long cp, long ep, long etp, long pp,
				  long world, bool pp_before_dp)
{
	struct n56_parallel p = {
		.tp = tp,
		.cp = cp,
		.ep = ep,
		.etp = etp,
		.pp = pp,
		.vpp = 1,
		.world = world,
		.pp_before_dp = pp_before_dp,
	};

	p.dp = world / (tp * cp * pp);
	return p;
}

/* Shapes of the property test. */
enum structure {
	ONE_PER_NODE,
	TWO_HALVES,	 /* GPUs 0..G/2-1 and G/2..G-1 */
	TWO_INTERLEAVED, /* even and odd GPUs: CUDA order is not island order */
	SINGLETONS,
	DOMAINS_OF_18, /* NVL72-like: 18 nodes share one NVLink domain */
	NSTRUCTURES,
};

static bool make_shape(enum structure st, int gpus, struct n56_node_shape *s)
{
	memset(s, 0, sizeof(*s));
	s->gpus = gpus;
	s->nodes_per_domain = 1;
	switch (st) {
	case ONE_PER_NODE:
		s->nislands = 1;
		return true;
	case TWO_HALVES:
		if (gpus < 2)
			return false;
		s->nislands = 2;
		for (int g = 0; g < gpus; g++)
			s->island_of[g] = g >= gpus / 2;
		return true;
	case TWO_INTERLEAVED:
		if (gpus < 2)
			return false;
		s->nislands = 2;
		for (int g = 0; g < gpus; g++)
			s->island_of[g] = g % 2;
		return true;
	case SINGLETONS:
		s->nislands = gpus;
		s->degraded = true;
		for (int g = 0; g < gpus; g++)
			s->island_of[g] = g;
		return true;
	case DOMAINS_OF_18:
		s->nislands = 1;
		s->nodes_per_domain = 18;
		return true;
	default:
		return false;
	}
}

/* The island a GPU belongs to, straight from the shape. */
static long expected_island(const struct n56_node_shape *s, long node, int gpu)
{
	if (s->nodes_per_domain > 1)
		return node / s->nodes_per_domain;
	return node * s->nislands + s->island_of[gpu];
}

/* Whether some placement that fills nodes in rank order could keep every
 * aligned run of `group` consecutive ranks in one island. Written from the
 * definition, independently of the placer: a run must not leave its node
 * (or its domain), and a node's islands must have room for G/group whole
 * runs. */
static bool possible(const struct n56_node_shape *s, long nodes, long group)
{
	long world = nodes * s->gpus;
	int size[N56_MAX_GPUS_PER_NODE] = { 0 };
	long fits = 0;

	for (long first = 0; first < world; first += group) {
		long a = first / s->gpus, b = (first + group - 1) / s->gpus;

		if (s->nodes_per_domain > 1) {
			if (a / s->nodes_per_domain != b / s->nodes_per_domain)
				return false;
		} else if (a != b) {
			return false;
		}
	}
	if (s->nodes_per_domain > 1)
		return true;
	for (int g = 0; g < s->gpus; g++)
		size[s->island_of[g]]++;
	for (int i = 0; i < s->nislands; i++)
		fits += size[i] / group;
	return fits * group == s->gpus;
}

static bool runs_in_island(const long *island_of_rank, long world, long group)
{
	for (long r = 0; r < world; r++)
		if (island_of_rank[r] != island_of_rank[r - r % group])
			return false;
	return true;
}

/* Everything the placement promises, for one layout. */
static void check_layout(struct fixture *f, const struct n56_parallel *par,
			 const struct n56_node_shape *s, long nodes)
{
	long world = nodes * s->gpus;
	char vis[N56_MAX_GPUS_PER_NODE * 3 + 1];

	n56_placer_free(f->pl);
	f->pl = NULL;
	assert_int_equal(n56_placer_new(par, s, nodes, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	if ((size_t)world > f->cap) {
		free(f->seen);
		free(f->island_of_rank);
		f->seen = malloc((size_t)world);
		f->island_of_rank = malloc((size_t)world * sizeof(long));
		assert_non_null(f->seen);
		assert_non_null(f->island_of_rank);
		f->cap = (size_t)world;
	}
	memset(f->seen, 0, (size_t)world);
	assert_int_equal(n56_visible_devices(f->pl, vis, sizeof(vis)), 0);

	for (long r = 0; r < world; r++) {
		struct n56_rank_place p;
		long dense, expert;

		n56_place_rank(f->pl, r, &p);
		assert_int_equal(p.rank, r);
		/* Ranks fill nodes in order: PP, outermost, follows nodes. */
		assert_int_equal(p.node, r / s->gpus);
		assert_int_equal(p.local_rank, r % s->gpus);
		assert_in_range(p.gpu, 0, s->gpus - 1);
		assert_int_equal(f->seen[p.node * s->gpus + p.gpu], 0);
		f->seen[p.node * s->gpus + p.gpu] = 1;
		assert_int_equal(n56_rank_at(f->pl, p.node, p.local_rank), r);
		assert_int_equal(n56_rank_on_gpu(f->pl, p.node, p.gpu), r);
		assert_int_equal(p.island, expected_island(s, p.node, p.gpu));
		f->island_of_rank[r] = p.island;

		assert_in_range(p.tp, 0, par->tp - 1);
		assert_in_range(p.cp, 0, par->cp - 1);
		assert_in_range(p.dp, 0, par->dp - 1);
		assert_in_range(p.pp, 0, par->pp - 1);
		assert_in_range(p.etp, 0, par->etp - 1);
		assert_in_range(p.ep, 0, par->ep - 1);
		if (par->pp_before_dp)
			dense = p.tp +
				par->tp * (p.cp +
					   par->cp * (p.pp + par->pp * p.dp));
		else
			dense = p.tp +
				par->tp * (p.cp +
					   par->cp * (p.dp + par->dp * p.pp));
		assert_int_equal(dense, r);
		{
			long edp = world / (par->etp * par->ep * par->pp);

			assert_in_range(p.edp, 0, edp - 1);
			if (par->pp_before_dp)
				expert = p.etp +
					 par->etp *
						 (p.ep +
						  par->ep * (p.pp +
							     par->pp * p.edp));
			else
				expert = p.etp +
					 par->etp * (p.ep +
						     par->ep * (p.edp +
								edp * p.pp));
		}
		assert_int_equal(expert, r);
		/* CUDA_VISIBLE_DEVICES item LOCAL_RANK is the placed GPU. */
		{
			const char *c = vis;

			for (int i = 0; i < p.local_rank; i++) {
				c = strchr(c, ',');
				assert_non_null(c);
				c++;
			}
			assert_int_equal(atoi(c), p.gpu);
		}
	}
	/* The table, walked node by node in CUDA order, gives each
	 * (node, GPU) exactly one rank, the one that was placed there. */
	for (long n = 0; n < nodes; n++)
		for (int g = 0; g < s->gpus; g++) {
			long r = n56_rank_on_gpu(f->pl, n, g);
			struct n56_rank_place p;

			assert_true(f->seen[n * s->gpus + g]);
			n56_place_rank(f->pl, r, &p);
			assert_int_equal(p.node, n);
			assert_int_equal(p.gpu, g);
		}

	assert_int_equal(f->rep.tp_in_island,
			 runs_in_island(f->island_of_rank, world, par->tp));
	assert_int_equal(f->rep.tp_in_island, possible(s, nodes, par->tp));
	assert_int_equal(
		f->rep.ep_in_island,
		runs_in_island(f->island_of_rank, world, par->etp * par->ep));
	/* Groups fit in an island only if each island splits into whole
	 * groups; then every island order keeps them aligned, so the placer
	 * that keeps TP whole keeps expert groups whole too, when possible. */
	assert_int_equal(f->rep.ep_in_island,
			 possible(s, nodes, par->etp * par->ep));
	assert_true(f->rep.pp_in_node_order);
	if (f->rep.tp_in_island && f->rep.ep_in_island)
		assert_string_equal(f->rep.why, "");
	else
		assert_true(strlen(f->rep.why) > 0);
	n56_placer_free(f->pl);
	f->pl = NULL;
	f->combos++;
}

static void test_properties(void **state)
{
	struct fixture *f = *state;
	static const long tps[] = { 1, 2, 4, 8, 16 };
	static const long cps[] = { 1, 2 };
	static const long eps[] = { 1, 2, 4, 8 };
	static const long pps[] = { 1, 2, 4 };
	static const long nodes_list[] = { 1, 2, 3, 4, 5, 6, 7, 8, 18, 72 };
	static const int gpus_list[] = { 1, 2, 4, 8 };
#define N(a) (sizeof(a) / sizeof((a)[0]))
	long refused = 0;

	for (size_t a = 0; a < N(tps); a++)
		for (size_t b = 0; b < N(cps); b++)
			for (size_t c = 0; c < N(eps); c++)
				for (int etp_is_tp = 0; etp_is_tp < 2;
				     etp_is_tp++)
					for (size_t d = 0; d < N(pps); d++)
						for (size_t e = 0;
						     e < N(nodes_list); e++)
							for (size_t g = 0;
							     g < N(gpus_list);
							     g++)
								for (int st = 0;
								     st <
								     NSTRUCTURES;
								     st++)
									for (int order =
										     0;
									     order <
									     2;
									     order++) {
										long tp = tps[a],
										     etp = etp_is_tp
												   ? tp
												   : 1;
										long world =
											nodes_list
												[e] *
											gpus_list
												[g];
										struct n56_node_shape
											s;
										struct n56_parallel
											par;

										if (etp_is_tp &&
										    tp == 1)
											continue; /* same layout as etp 1 */
										if (!make_shape(
											    st,
											    gpus_list
												    [g],
											    &s))
											continue;
										par = par_of(
											tp,
											cps[b],
											eps[c],
											etp,
											pps[d],
											world,
											order);
										if (world % (tp *
											     cps[b] *
											     pps[d]) ||
										    world % (etp *
											     eps[c] *
											     pps[d]) ||
										    (order &&
										     etp * eps[c] !=
											     tp * cps[b])) {
											/* Megatron would refuse this world size. */
											par.dp =
												1;
											assert_int_equal(
												n56_placer_new(
													&par,
													&s,
													nodes_list
														[e],
													&f->pl,
													&f->rep,
													f->err,
													sizeof(f->err)),
												-1);
											assert_null(
												f->pl);
											assert_true(
												strlen(f->err) >
												0);
											refused++;
											continue;
										}
										check_layout(
											f,
											&par,
											&s,
											nodes_list
												[e]);
									}
#undef N
	/* The loops must have covered a real range, both kinds. */
	assert_true(f->combos > 5000);
	assert_true(refused > 1000);
}

/* Islands of different sizes: those that hold whole TP groups go first,
 * largest first. */
static void test_heterogeneous(void **state)
{
	struct fixture *f = *state;
	struct n56_node_shape s = {
		.gpus = 8,
		.nislands = 3,
		.nodes_per_domain = 1,
		.island_of = { 0, 1, 1, 2, 2, 2, 2, 0 },
	};
	struct n56_parallel par = par_of(2, 1, 1, 1, 1, 16, false);
	char vis[64];

	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_true(f->rep.tp_in_island);
	assert_int_equal(n56_visible_devices(f->pl, vis, sizeof(vis)), 0);
	assert_string_equal(vis, "3,4,5,6,0,7,1,2");
	check_layout(f, &par, &s, 2);

	par = par_of(4, 1, 1, 1, 1, 16, false);
	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_false(f->rep.tp_in_island);
	assert_string_equal(
		f->rep.why,
		"tp 4 needs islands whose sizes are multiples of 4; this node "
		"has islands of 4, 2 and 2 (GPUs 0,7 | 1,2 | 3-6)");
	check_layout(f, &par, &s, 2);

	/* 3 + 1: no order keeps pairs whole; the placer must say so. */
	s = (struct n56_node_shape){
		.gpus = 4,
		.nislands = 2,
		.nodes_per_domain = 1,
		.island_of = { 0, 0, 1, 0 },
	};
	par = par_of(2, 1, 1, 1, 1, 4, false);
	assert_int_equal(n56_placer_new(&par, &s, 1, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_false(f->rep.tp_in_island);
	assert_string_equal(
		f->rep.why,
		"tp 2 needs islands whose sizes are multiples of 2; this node "
		"has islands of 3 and 1 (GPUs 0,1,3 | 2)");
	check_layout(f, &par, &s, 1);
}

/* Every way of splitting a 4-GPU node into islands (ids 0..3, some maybe
 * unused), and a deterministic sample for 8 GPUs: the report must match both
 * the definition of "possible" and the placement actually made. */
static void test_all_island_assignments(void **state)
{
	struct fixture *f = *state;
	static const long groups[][2] = {
		/* tp, ep */
		{ 1, 1 }, { 1, 2 }, { 2, 1 }, { 2, 2 },
		{ 1, 4 }, { 4, 1 }, { 2, 4 },
	};
	unsigned long x = 88172645463325252UL;
	long checked = 0;

	for (int gpus = 4; gpus <= 8; gpus += 4) {
		int cases = gpus == 4 ? 256 : 2000;

		for (int c = 0; c < cases; c++) {
			struct n56_node_shape s = {
				.gpus = gpus,
				.nislands = 4,
				.nodes_per_domain = 1,
			};

			for (int g = 0, code = c; g < gpus; g++) {
				if (gpus == 4) {
					s.island_of[g] = code % 4;
					code /= 4;
				} else {
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					s.island_of[g] = (int)(x % 4);
				}
			}
			for (size_t k = 0;
			     k < sizeof(groups) / sizeof(groups[0]); k++) {
				struct n56_parallel par =
					par_of(groups[k][0], 1, groups[k][1], 1,
					       1, 2L * gpus, false);

				check_layout(f, &par, &s, 2);
				checked++;
			}
		}
	}
	assert_int_equal(checked, (256 + 2000) * 7);
}

static void test_reasons(void **state)
{
	struct fixture *f = *state;
	struct n56_node_shape s = {
		.gpus = 4,
		.nislands = 2,
		.nodes_per_domain = 1,
		.island_of = { 0, 0, 1, 1 },
	};
	struct n56_parallel par = par_of(4, 1, 1, 1, 2, 8, false);

	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_false(f->rep.tp_in_island);
	assert_true(f->rep.ep_in_island);
	assert_string_equal(
		f->rep.why,
		"tp 4 needs islands of at least 4 GPUs; this node has "
		"islands of 2 (GPUs 0,1 | 2,3)");
	n56_placer_free(f->pl);

	/* TP fits, the expert group does not: the reason is about experts. */
	par = par_of(2, 1, 4, 1, 1, 8, false);
	s.degraded = true;
	s.island_of[1] = 1;
	s.island_of[2] = 0;
	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_true(f->rep.tp_in_island);
	assert_false(f->rep.ep_in_island);
	assert_string_equal(
		f->rep.why,
		"islands unknown (one per GPU, degraded): etp*ep 4 needs "
		"islands of at least 4 GPUs; this node has islands of 2 "
		"(GPUs 0,2 | 1,3)");
	n56_placer_free(f->pl);

	n56_node_shape_assumed(&s, 4);
	par = par_of(8, 1, 1, 1, 1, 8, false);
	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(
		f->rep.why,
		"tp 8 spans 2 nodes of 4 GPUs, and NVLink islands stop at the "
		"node (islands: GPUs 0-3)");
	n56_placer_free(f->pl);

	/* The same TP inside an NVL72-like domain of 18 nodes x 4. */
	s.nodes_per_domain = 18;
	par = par_of(8, 1, 1, 1, 1, 144, false);
	assert_int_equal(n56_placer_new(&par, &s, 36, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_true(f->rep.tp_in_island);
	n56_placer_free(f->pl);
	par = par_of(16, 1, 1, 1, 1, 144, false);
	assert_int_equal(n56_placer_new(&par, &s, 36, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_false(f->rep.tp_in_island);
	assert_string_equal(
		f->rep.why,
		"tp 16 does not divide the 72 GPUs of an NVLink domain "
		"(18 nodes x 4 GPUs), so some tp groups cross domains");
	check_layout(f, &par, &s, 36);

	n56_node_shape_assumed(&s, 6);
	par = par_of(4, 1, 1, 1, 1, 12, false);
	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	assert_string_equal(
		f->rep.why,
		"tp 4 does not divide the 6 GPUs of a node, so some tp groups "
		"straddle two nodes");
	check_layout(f, &par, &s, 2);
}

static void expect_refusal(struct fixture *f, const struct n56_parallel *par,
			   const struct n56_node_shape *s, long nodes,
			   const char *msg)
{
	static int sentinel;
	struct n56_placer *pl = (struct n56_placer *)&sentinel;

	/* The result pointer must be reset, not left as it was. */
	assert_int_equal(n56_placer_new(par, s, nodes, &pl, &f->rep, f->err,
					sizeof(f->err)),
			 -1);
	assert_null(pl);
	assert_string_equal(f->err, msg);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct n56_node_shape s;
	struct n56_parallel par = par_of(2, 1, 1, 1, 1, 8, false);

	n56_node_shape_assumed(&s, 4);
	expect_refusal(
		f, &par, &s, 3,
		"the plan's world size is 8 but the allocation has 12 GPUs; "
		"plan for the same nodes and GPUs per node");
	expect_refusal(f, &par, &s, 0,
		       "the allocation has 0 nodes; placement needs 1 to "
		       "16777216");
	expect_refusal(
		f, &par, &s, N56_MAX_NODES + 1,
		"the allocation has 16777217 nodes; placement needs 1 to "
		"16777216");
	par.dp = 3;
	expect_refusal(
		f, &par, &s, 2,
		"tp 2 x cp 1 x dp 3 x pp 1 is not the world size 8; make "
		"dp = world / (tp*cp*pp)");
	par = par_of(2, 1, 3, 1, 1, 8, false);
	expect_refusal(
		f, &par, &s, 2,
		"the expert grid etp 1 x ep 3 x pp 1 does not divide the world "
		"size 8; choose etp and ep so that etp*ep*pp divides it");
	par = par_of(2, 1, 4, 1, 1, 8, true);
	expect_refusal(
		f, &par, &s, 2,
		"rank order tp-cp-ep-pp-dp needs the same data-parallel size "
		"for dense and expert layers, but etp*ep is 4 and tp*cp is 2; "
		"use tp-cp-ep-dp-pp or make them equal");
	par = par_of(2, 1, 1, 1, 1, 8, false);
	par.etp = 0;
	expect_refusal(f, &par, &s, 2,
		       "etp is 0; every parallel size must be at least 1");
	par.etp = 1;
	s.island_of[3] = 2;
	expect_refusal(f, &par, &s, 2,
		       "GPU 3 is in island 2, outside 0..0; number the islands "
		       "from 0");
	n56_node_shape_assumed(&s, 4);
	s.nislands = 5;
	expect_refusal(
		f, &par, &s, 2,
		"the node shape has 5 islands for 4 GPUs; it needs 1 to 4");
	n56_node_shape_assumed(&s, 0);
	expect_refusal(f, &par, &s, 2,
		       "a node has 0 GPUs; placement handles 1 to 64");
	n56_node_shape_assumed(&s, 4);
	s.nodes_per_domain = -1;
	expect_refusal(
		f, &par, &s, 2,
		"nodes_per_domain is -1; use 1 for islands that stop at the "
		"node");
}

static void test_bounds_and_buffers(void **state)
{
	struct fixture *f = *state;
	struct n56_node_shape s = {
		.gpus = 4,
		.nislands = 2,
		.nodes_per_domain = 1,
		.island_of = { 0, 1, 0, 1 },
	};
	struct n56_parallel par = par_of(2, 1, 1, 1, 1, 8, false);
	char vis[8];

	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, NULL, f->err,
					sizeof(f->err)),
			 0);
	assert_int_equal(n56_visible_devices(f->pl, vis, sizeof(vis)), 0);
	assert_string_equal(vis, "0,2,1,3");
	assert_int_equal(n56_visible_devices(f->pl, vis, 7), -1);
	assert_string_equal(vis, "");
	assert_int_equal(n56_rank_at(f->pl, 2, 0), -1);
	assert_int_equal(n56_rank_at(f->pl, 0, 4), -1);
	assert_int_equal(n56_rank_at(f->pl, -1, 0), -1);
	assert_int_equal(n56_rank_on_gpu(f->pl, 1, 4), -1);
	assert_int_equal(n56_rank_on_gpu(f->pl, 1, 2), 5);
	assert_int_equal(n56_placer_nodes(f->pl), 2);
	assert_int_equal(n56_placer_gpus(f->pl), 4);
	assert_int_equal(n56_placer_nodes_per_domain(f->pl), 1);
	assert_int_equal(n56_placer_parallel(f->pl)->tp, 2);
	n56_placer_free(NULL);

	n56_node_shape_assumed(&s, 8);
	assert_true(s.assumed);
	assert_false(s.degraded);
	assert_int_equal(s.nislands, 1);
	for (int g = 0; g < 8; g++)
		assert_int_equal(s.island_of[g], 0);
}

static char *picture(const struct n56_placer *pl,
		     const struct n56_node_shape *s, bool color, long max)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(n56_placement_picture(f, NULL, pl, s, color, max), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_picture(void **state)
{
	struct fixture *f = *state;
	struct n56_node_shape s = {
		.gpus = 4,
		.nislands = 2,
		.nodes_per_domain = 1,
		.island_of = { 0, 1, 0, 1 },
	};
	struct n56_parallel par = par_of(2, 1, 1, 1, 2, 8, false);
	char *text;

	assert_int_equal(n56_placer_new(&par, &s, 2, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	/* GPUs in CUDA order; ranks 0,1 (TP group 0) on GPUs 0 and 2, the
	 * two GPUs of island 0. */
	text = picture(f->pl, &s, false, -1);
	assert_string_equal(
		text,
		"placement: 2 nodes x 4 GPUs, tp 2 cp 1 ep 1 etp 1 dp 2 pp 2, "
		"order tp-cp-ep-dp-pp\n"
		"        GPU 0 i0 | GPU 1 i1 | GPU 2 i0 | GPU 3 i1\n"
		"node 0  r0 t0 p0 | r2 t1 p0 | r1 t0 p0 | r3 t1 p0\n"
		"node 1  r4 t2 p1 | r6 t3 p1 | r5 t2 p1 | r7 t3 p1\n"
		"legend: rN global rank, tN TP group (ranks N*2..), pN "
		"pipeline stage; iN NVLink island of the GPU, | island "
		"border\n");
	free(text);

	/* One row only, in colour: stage 0 in red, and no stage 1 row. */
	text = picture(f->pl, &s, true, 1);
	assert_non_null(strstr(text, "\033[31mr0 t0 p0\033[0m | "));
	assert_null(strstr(text, "\033[32m"));
	assert_non_null(strstr(text, "\n... 1 more node\n"));
	assert_non_null(strstr(text, "; colour = pipeline stage\n"));
	free(text);

	/* A shape that is not the placer's is refused. */
	s.gpus = 8;
	assert_int_equal(
		n56_placement_picture(stdout, NULL, f->pl, &s, false, -1), -1);
}

static void test_picture_domains(void **state)
{
	struct fixture *f = *state;
	struct n56_node_shape s;
	struct n56_parallel par = par_of(8, 1, 1, 1, 1, 80, false);
	char *text;

	n56_node_shape_assumed(&s, 4);
	s.assumed = false;
	s.nodes_per_domain = 18;
	assert_int_equal(n56_placer_new(&par, &s, 20, &f->pl, &f->rep, f->err,
					sizeof(f->err)),
			 0);
	text = picture(f->pl, &s, false, 19);
	assert_non_null(strstr(
		text,
		"         -- NVLink domain 0 (nodes 0-17)\n"
		"node  0  r0 t0 p0    r1 t0 p0    r2 t0 p0    r3 t0 p0\n"));
	assert_non_null(strstr(text,
			       "         -- NVLink domain 1 (nodes 18-19)\n"
			       "node 18  r72 t9 p0"));
	assert_non_null(strstr(text, "\n... 1 more node\nlegend: "));
	assert_non_null(strstr(
		text, "islands: every 18 nodes form one NVLink domain\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_properties, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_heterogeneous, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_all_island_assignments,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_and_buffers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_picture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_picture_domains, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
