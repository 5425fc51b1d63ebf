/* The step core (step/core.c) without Slurm: each decision with its exact
 * message. A hand-built plan, policy and node topology; the step's facts
 * as a front end would gather them. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "step/core.h"
#include "job/n56job.h"

struct world {
	struct n56_policy policy;
	struct n56_island_map_entry map[2];
	struct n56_plan plan;
	struct n56_topo_gpu gpus[N56_MAX_GPUS_PER_NODE];
	char nic[N56_MAX_GPUS_PER_NODE][16];
	struct n56_topology topo;
	struct n56_step_facts f;
	struct n56_step *step;
	struct n56_env env;
	char err[4096];
};

/* The plan: nodes x gpn ranks, tp (and dp for the rest). */
static void plan(struct world *w, long nodes, long gpn, long tp)
{
	w->plan.policy = &w->policy;
	w->plan.nodes = nodes;
	w->plan.gpus_per_node = gpn;
	w->plan.par = (struct n56_parallel){
		.tp = tp,
		.pp = 1,
		.vpp = 1,
		.ep = 1,
		.etp = 1,
		.cp = 1,
		.dp = nodes * gpn / tp,
		.world = nodes * gpn,
	};
	memset(w->plan.plan_sha256_hex, 'a', 64);
	w->f.nnodes = nodes;
	w->f.ntasks = nodes * gpn;
	w->f.nlocal = gpn;
}

/* The node: n GPUs whose islands are island[] as hwloc's distances found
 * them; GPU g's nearest NIC is "mlx5_g". */
static void node(struct world *w, int n, const int *island)
{
	w->topo.source = (char *)"t.xml";
	w->topo.gpus = w->gpus;
	w->topo.ngpus = n;
	w->topo.nislands = 0;
	w->topo.nodes_per_domain = 1;
	w->topo.island_source = N56_ISLANDS_HWLOC_DISTANCES;
	for (int g = 0; g < n; g++) {
		snprintf(w->nic[g], sizeof(w->nic[g]), "mlx5_%d", g);
		w->gpus[g].index = g;
		w->gpus[g].island = island[g];
		w->gpus[g].nic = w->nic[g];
		if (island[g] + 1 > w->topo.nislands)
			w->topo.nislands = island[g] + 1;
	}
}

static void admin_map(struct world *w, const char *gpus0, const char *dom0,
		      const char *gpus1, const char *dom1)
{
	w->map[0] = (struct n56_island_map_entry){
		(char *)"n[1-2]", (char *)gpus0, (char *)dom0, { 7, 7 }
	};
	w->map[1] = (struct n56_island_map_entry){
		(char *)"n[1-2]", (char *)gpus1, (char *)dom1, { 8, 7 }
	};
	w->policy.topology.islands = w->map;
	w->policy.topology.nislands = gpus1 ? 2 : 1;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->policy.path = (char *)"site.yaml";
	w->policy.record.master_port.v = 29500;
	w->policy.topology.nic_env.v = (char *)"NCCL_IB_HCA";
	w->f.node_id = 0;
	w->f.node_name = "n1";
	w->f.master = "n1";
	w->f.job_id = 4321;
	w->f.step_id = 3;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	n56_env_clear(&w->env);
	n56_step_free(w->step);
	free(w);
	return 0;
}

static int decide(struct world *w, const struct n56_topology *topo)
{
	n56_step_free(w->step);
	w->step = NULL;
	return n56_step_decide(&w->plan, topo, &w->f, &w->step, w->err,
			       sizeof(w->err));
}

static const char *env_value(const struct n56_env *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].name, name))
			return e->v[i].value;
	return NULL;
}

static const int one4[4] = { 0, 0, 0, 0 };
static const int pairs4[4] = { 0, 0, 1, 1 };
static const int halves8[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };
static const int pairs8[8] = { 0, 0, 1, 1, 2, 2, 3, 3 };

/* ---- the step's geometry ---- */

static void test_tasks_per_node(void **state)
{
	struct world *w = *state;
	long gpn = 0;

	plan(w, 2, 8, 1);
	assert_int_equal(
		n56_step_tasks_per_node(&w->f, &gpn, w->err, sizeof(w->err)),
		0);
	assert_int_equal(gpn, 8);
	w->f.ntasks = 15;
	w->f.nlocal = 7;
	assert_int_equal(
		n56_step_tasks_per_node(&w->f, &gpn, w->err, sizeof(w->err)),
		-1);
	assert_string_equal(w->err,
			    "the step runs 15 tasks on 2 nodes (7 on "
			    "this one); a NAM56R step runs the same number "
			    "of ranks on every node, one per GPU (srun "
			    "--ntasks-per-node=G)");
	/* Even over the step, uneven on this node. */
	w->f.ntasks = 16;
	w->f.nlocal = 6;
	assert_int_equal(
		n56_step_tasks_per_node(&w->f, &gpn, w->err, sizeof(w->err)),
		-1);
	/* The wrapper does not know its node's task count. */
	w->f.ntasks = 15;
	w->f.nlocal = -1;
	assert_int_equal(
		n56_step_tasks_per_node(&w->f, &gpn, w->err, sizeof(w->err)),
		-1);
	assert_string_equal(w->err,
			    "the step runs 15 tasks on 2 nodes; a "
			    "NAM56R step runs the same number of ranks on "
			    "every node, one per GPU (srun "
			    "--ntasks-per-node=G)");
	w->f.nnodes = 0;
	assert_int_equal(
		n56_step_tasks_per_node(&w->f, &gpn, w->err, sizeof(w->err)),
		-1);
}

static void test_cyclic_refused(void **state)
{
	struct world *w = *state;

	assert_int_equal(
		n56_step_distribution(&w->f, 8, w->err, sizeof(w->err)), 0);
	w->f.distribution = "block";
	assert_int_equal(
		n56_step_distribution(&w->f, 8, w->err, sizeof(w->err)), 0);
	w->f.distribution = "plane";
	w->f.plane_size = "8";
	assert_int_equal(
		n56_step_distribution(&w->f, 8, w->err, sizeof(w->err)), 0);
	w->f.distribution = "cyclic";
	w->f.plane_size = NULL;
	assert_int_equal(
		n56_step_distribution(&w->f, 8, w->err, sizeof(w->err)), -1);
	assert_string_equal(w->err,
			    "the step's tasks are distributed "
			    "'cyclic' (srun -m), but NAM56R ranks follow "
			    "Megatron's order in blocks of 8 per node: use "
			    "the block distribution (srun -m block, the "
			    "default)");
}

/* ---- the node's shape ---- */

static void test_shape_more_ranks_than_gpus(void **state)
{
	struct world *w = *state;

	plan(w, 2, 8, 1);
	node(w, 4, pairs4);
	assert_int_equal(decide(w, &w->topo), -1);
	assert_null(w->step);
	assert_string_equal(w->err,
			    "the step expects 8 GPUs on n1, but hwloc "
			    "on n1 finds 4 (topology t.xml): run at most one "
			    "rank per GPU (srun --ntasks-per-node=4)");
	/* The caller says where the topology came from. */
	w->f.topology_path = "/var/cache/nam56r/topology.xml";
	assert_int_equal(decide(w, &w->topo), -1);
	assert_non_null(strstr(w->err, "(topology "
				       "/var/cache/nam56r/topology.xml)"));
}

static void test_shape_fewer_ranks_than_gpus(void **state)
{
	struct world *w = *state;

	plan(w, 2, 4, 1);
	node(w, 8, halves8);
	assert_int_equal(decide(w, &w->topo), -1);
	assert_string_equal(w->err,
			    "the step expects 4 GPUs on n1, but hwloc "
			    "on n1 finds 8 (topology t.xml; Slurm names the "
			    "step's GPUs as '(none)'): run one rank per GPU "
			    "(srun --ntasks-per-node=8) or ask for 4 GPUs per "
			    "node (--gpus-per-node=4) so that Slurm names "
			    "them");
	/* Slurm names 3 GPUs for 4 ranks, or one twice. */
	w->f.step_gpus = "2-4";
	assert_int_equal(decide(w, &w->topo), -1);
	assert_non_null(strstr(w->err, "the step's GPUs as '2-4'"));
	w->f.step_gpus = "2,3,3,4";
	assert_int_equal(decide(w, &w->topo), -1);
	/* The step's GPUs 2-5: their islands only, renumbered. */
	w->f.step_gpus = "2-3,5,4";
	assert_int_equal(decide(w, &w->topo), 0);
	assert_int_equal(w->step->shape.gpus, 4);
	assert_int_equal(w->step->shape.nislands, 2);
	assert_int_equal(w->step->shape.island_of[1], 0);
	assert_int_equal(w->step->shape.island_of[2], 1);
	assert_int_equal(w->step->gpu_of[0], 2);
	assert_int_equal(w->step->gpu_of[2], 5);
	assert_int_equal(w->step->gpu_of[3], 4);
}

static void test_no_topology(void **state)
{
	struct world *w = *state;

	plan(w, 2, 4, 2);
	assert_int_equal(decide(w, NULL), 0);
	assert_null(w->step->topo);
	assert_true(w->step->shape.assumed);
	assert_int_equal(w->step->shape.gpus, 4);
	assert_string_equal(w->step->no_topology, "");
	/* A topology without a GPU is not used, and the step says why. */
	node(w, 0, one4);
	assert_int_equal(decide(w, &w->topo), 0);
	assert_null(w->step->topo);
	assert_true(w->step->shape.assumed);
	assert_string_equal(w->step->no_topology,
			    "t.xml: error: no GPU found (no "
			    "NVIDIA or AMD PCI display/accelerator device)");
}

/* ---- the admin map ---- */

static void test_admin_map_contradicts_node(void **state)
{
	struct world *w = *state;

	plan(w, 2, 4, 1);
	node(w, 4, pairs4);
	admin_map(w, "0-3", "nvl-a", NULL, NULL);
	assert_int_equal(decide(w, &w->topo), -1);
	assert_string_equal(w->err,
			    "the admin map puts GPUs 0-3 of n1 in "
			    "domain nvl-a, but hwloc-distances on n1 finds "
			    "islands 0-1 | 2-3; fix topology.islands in "
			    "site.yaml or the node, or run with island_source "
			    "per-node");
	/* Without the node's name there is no entry to check (local). */
	w->f.node_name = NULL;
	assert_int_equal(decide(w, &w->topo), 0);
	assert_string_equal(w->step->homogeneity, "");
}

static void test_admin_map_agrees(void **state)
{
	struct world *w = *state;

	plan(w, 2, 4, 2);
	node(w, 4, pairs4);
	admin_map(w, "0-1", "a", "2-3", "b");
	assert_int_equal(decide(w, &w->topo), 0);
	assert_string_equal(w->step->homogeneity,
			    "homogeneity: n1: 4 GPUs "
			    "and the islands of the admin map confirmed by "
			    "hwloc-distances (0-1 | 2-3); its domains span 2 "
			    "nodes, which one node cannot check");
	/* A map naming a GPU the node does not have. */
	admin_map(w, "0-7", "a", NULL, NULL);
	assert_int_equal(decide(w, &w->topo), -1);
	assert_string_equal(w->err,
			    "topology: site.yaml:7:7: error: "
			    "topology.islands[0].gpus: GPU 7 is not on this "
			    "node (it has 4 GPUs, 0-3)");
}

/* The step's shape and the map both wrong: both reasons, one a line. */
static void test_every_shape_reason(void **state)
{
	struct world *w = *state;
	const char *nl;

	plan(w, 2, 4, 1);
	node(w, 8, halves8);
	admin_map(w, "0-7", "nvl-a", NULL, NULL);
	assert_int_equal(decide(w, &w->topo), -1);
	nl = strchr(w->err, '\n');
	assert_non_null(nl);
	assert_true(!strncmp(w->err, "the step expects 4 GPUs on n1", 29));
	assert_true(!strncmp(nl + 1, "the admin map puts GPUs 0-7 of n1", 33));
}

/* ---- TP in an island ---- */

static void test_tp_across_islands(void **state)
{
	struct world *w = *state;
	char want[1024];

	plan(w, 2, 4, 4);
	node(w, 4, pairs4);
	/* The policy allows it: placed, the report says why. */
	assert_int_equal(decide(w, &w->topo), 0);
	assert_false(w->step->report.tp_in_island);
	assert_string_equal(w->step->report.why,
			    "tp 4 needs islands of at "
			    "least 4 GPUs; this node has islands of 2 (GPUs "
			    "0,1 | 2,3)");
	/* The policy requires TP inside one island. */
	snprintf(want, sizeof(want),
		 "placement: %s (the site policy requires "
		 "every TP group inside one NVLink island)",
		 w->step->report.why);
	w->policy.topology.require_tp_in_island.v = true;
	assert_int_equal(decide(w, &w->topo), -1);
	assert_string_equal(w->err, want);
	/* tp 2 fits the islands. */
	plan(w, 2, 4, 2);
	assert_int_equal(decide(w, &w->topo), 0);
	assert_true(w->step->report.tp_in_island);
}

static void test_placer_refuses(void **state)
{
	struct world *w = *state;

	plan(w, 2, 4, 1);
	w->plan.par.world = 7;
	assert_int_equal(decide(w, NULL), -1);
	assert_true(!strncmp(w->err, "placement: ", 11));
}

/* ---- the task layout ---- */

static void test_local_ranks_against_placement(void **state)
{
	struct world *w = *state;
	long block[4] = { 4, 5, 6, 7 }, cyclic[4] = { 1, 3, 5, 7 },
	     out[1] = { 9 };

	plan(w, 2, 4, 1);
	w->f.node_id = 1;
	w->f.node_name = "n2";
	w->f.local_ranks = block;
	w->f.nlocal_ranks = 4;
	assert_int_equal(decide(w, NULL), 0);
	w->f.local_ranks = cyclic;
	assert_int_equal(decide(w, NULL), -1);
	assert_string_equal(w->err,
			    "Slurm starts rank 1 on node 1 of the "
			    "step, but NAM56R places it on node 0: use the "
			    "block distribution (srun -m block, the default)");
	w->f.local_ranks = out;
	w->f.nlocal_ranks = 1;
	assert_int_equal(decide(w, NULL), -1);
	assert_string_equal(w->err, "Slurm starts rank 9 on node 1 of the "
				    "step, outside the plan's ranks 0..7");
}

/* ---- the step's GPUs ---- */

static void test_gpus_outside_the_step(void **state)
{
	struct world *w = *state;

	plan(w, 1, 4, 1);
	w->f.visible_devices = "2,3,4,5,6,7";
	assert_int_equal(decide(w, NULL), -1);
	assert_string_equal(w->err,
			    "Slurm gave this step 6 GPUs on n1 "
			    "(2,3,4,5,6,7) for 4 ranks: a NAM56R step runs "
			    "one rank per GPU of the step (srun "
			    "--ntasks-per-node=6, or give the step 4 GPUs "
			    "with --gpus-per-node=4)");
	/* The plugin: Slurm must give the step its GPUs. */
	w->f.gpus_required = true;
	w->f.visible_devices = NULL;
	assert_int_equal(decide(w, NULL), -1);
	assert_string_equal(w->err,
			    "Slurm gave this step no GPUs on n1 (no "
			    "CUDA_VISIBLE_DEVICES) for 4 ranks: ask for one "
			    "GPU per rank (--gpus-per-node=4)");
	w->f.visible_devices = "";
	assert_int_equal(decide(w, NULL), -1);
	assert_non_null(strstr(w->err, "no GPUs on n1"));
	/* The wrapper without Slurm's GPUs: its own numbering. */
	w->f.gpus_required = false;
	w->f.visible_devices = NULL;
	assert_int_equal(decide(w, NULL), 0);
	assert_null(w->step->gpus);
	/* One rank per GPU of the step: never another GPU. */
	w->f.visible_devices = "4,5,6,7";
	assert_int_equal(decide(w, NULL), 0);
	assert_int_equal(w->step->ngpus, 4);
	assert_int_equal(n56_step_rank_env(w->step, 2, &w->env, NULL, w->err,
					   sizeof(w->err)),
			 0);
	assert_string_equal(env_value(&w->env, "CUDA_VISIBLE_DEVICES"),
			    "4,5,6,7");
	n56_env_clear(&w->env);
	/* A list that is not one of the step's GPUs. */
	w->step->ngpus = 2;
	assert_int_equal(n56_step_rank_env(w->step, 2, &w->env, NULL, w->err,
					   sizeof(w->err)),
			 -1);
	w->step->ngpus = 4;
	assert_string_equal(w->err, "placement put a rank outside the 2 GPUs "
				    "Slurm gave the step (0,1,2,3)");
}

/* ---- MASTER_PORT ---- */

static int port_of(struct world *w)
{
	if (decide(w, NULL))
		return -1;
	return w->step->master_port;
}

static void test_master_port(void **state)
{
	struct world *w = *state;

	plan(w, 1, 4, 1);
	/* No job record (the wrapper): base + job id mod 1000. */
	assert_int_equal(port_of(w), 29500 + 321);
	/* The job's lowest CPU on the first node, and the step id. */
	w->f.port_key = "4-7";
	assert_int_equal(port_of(w), 29500 + 4 * N56_PORT_STEPS + 3);
	w->f.port_key_what = "GPU";
	w->f.port_key = "";
	assert_int_equal(port_of(w), -1);
	assert_string_equal(w->err, "MASTER_PORT: the job's GPUs on its first "
				    "node are '', not a GPU list");
	/* Slurm's reservation wins. */
	w->f.resv_ports = "41003-41011";
	assert_int_equal(port_of(w), 41003);
	w->f.resv_ports = "none";
	assert_int_equal(port_of(w), -1);
	assert_string_equal(w->err, "SLURM_STEP_RESV_PORTS is 'none', not a "
				    "port range");
	/* Local mode's own port wins over all. */
	w->f.port = 29999;
	assert_int_equal(port_of(w), 29999);
	/* The policy's base. */
	w->f.port = 0;
	w->f.resv_ports = NULL;
	w->f.port_key = NULL;
	w->policy.record.master_port.v = 30000;
	assert_int_equal(port_of(w), 30000 + 321);
	w->policy.record.master_port.v = 0;
	assert_int_equal(port_of(w), N56_MASTER_PORT_DEFAULT + 321);
	/* The highest base the policy takes: the largest offset of either
	 * scheme still ends at 65535. */
	w->policy.record.master_port.v = N56_MASTER_PORT_MAX;
	w->f.job_id = 1999;
	assert_int_equal(port_of(w), 65535);
	w->f.port_key = "4095";
	w->f.port_key_what = "CPU";
	assert_in_range(port_of(w), N56_MASTER_PORT_MAX, 65535);
}

/* ---- a rank's environment ---- */

static void test_rank_env(void **state)
{
	struct world *w = *state;
	static const char *const names[] = { "RANK",
					     "WORLD_SIZE",
					     "LOCAL_RANK",
					     "LOCAL_WORLD_SIZE",
					     "GROUP_RANK",
					     "MASTER_ADDR",
					     "MASTER_PORT",
					     "CUDA_VISIBLE_DEVICES",
					     "NAM56R_TP_RANK",
					     "NAM56R_CP_RANK",
					     "NAM56R_EP_RANK",
					     "NAM56R_DP_RANK",
					     "NAM56R_PP_RANK",
					     "NAM56R_ISLAND",
					     "NAM56R_PLAN_SHA256",
					     "NCCL_IB_HCA" };
	int gpu = -1;

	/* Node 1 of 2, the step's GPUs 4-7 of an 8-GPU node in islands of
	 * two; Slurm numbers them 0-3 for the step. */
	plan(w, 2, 4, 2);
	node(w, 8, pairs8);
	w->f.node_id = 1;
	w->f.node_name = "n2";
	w->f.step_gpus = "4-7";
	w->f.visible_devices = "0,1,2,3";
	w->f.resv_ports = "41003";
	assert_int_equal(decide(w, &w->topo), 0);
	assert_int_equal(n56_step_rank_env(w->step, 7, &w->env, &gpu, w->err,
					   sizeof(w->err)),
			 0);
	assert_int_equal(w->env.n, 16);
	for (size_t i = 0; i < 16; i++)
		assert_string_equal(w->env.v[i].name, names[i]);
	assert_string_equal(env_value(&w->env, "RANK"), "7");
	assert_string_equal(env_value(&w->env, "LOCAL_RANK"), "3");
	assert_string_equal(env_value(&w->env, "GROUP_RANK"), "1");
	assert_string_equal(env_value(&w->env, "MASTER_ADDR"), "n1");
	assert_string_equal(env_value(&w->env, "MASTER_PORT"), "41003");
	assert_string_equal(env_value(&w->env, "CUDA_VISIBLE_DEVICES"),
			    "0,1,2,3");
	assert_string_equal(env_value(&w->env, "NAM56R_TP_RANK"), "1");
	assert_string_equal(env_value(&w->env, "NAM56R_DP_RANK"), "3");
	assert_string_equal(env_value(&w->env, "NAM56R_ISLAND"), "3");
	/* The node's GPU 7, and its NIC. */
	assert_int_equal(gpu, 7);
	assert_string_equal(env_value(&w->env, "NCCL_IB_HCA"), "mlx5_7");
	n56_env_clear(&w->env);
	/* Rank 0 runs on node 0, not here. */
	assert_int_equal(n56_step_rank_env(w->step, 0, &w->env, &gpu, w->err,
					   sizeof(w->err)),
			 -1);
	assert_string_equal(w->err,
			    "rank 0 is placed on node 0 but Slurm "
			    "started it on node 1; use the default block "
			    "distribution (srun -m block)");
	assert_int_equal(n56_step_rank_env(w->step, 8, &w->env, &gpu, w->err,
					   sizeof(w->err)),
			 -1);
	assert_string_equal(w->err, "per-rank environment: rank 8 is outside "
				    "0..7 of the plan");
	/* No master address. */
	w->f.master = NULL;
	assert_int_equal(decide(w, &w->topo), 0);
	assert_int_equal(n56_step_rank_env(w->step, 7, &w->env, &gpu, w->err,
					   sizeof(w->err)),
			 -1);
	assert_string_equal(w->err,
			    "per-rank environment: no master address: "
			    "pass the first host of the job's node list");
}

static void test_bad_calls(void **state)
{
	struct world *w = *state;
	struct n56_step *s = (struct n56_step *)w;

	n56_step_free(NULL);
	assert_int_equal(
		n56_step_decide(NULL, NULL, &w->f, &s, w->err, sizeof(w->err)),
		-1);
	assert_null(s);
	assert_string_equal(w->err, "the step core needs a plan, the step's "
				    "facts and a result");
	/* An error buffer too small, or none: still refused. */
	plan(w, 2, 8, 1);
	node(w, 4, pairs4);
	assert_int_equal(
		n56_step_decide(&w->plan, &w->topo, &w->f, &s, w->err, 8), -1);
	assert_string_equal(w->err, "the ste");
	assert_int_equal(
		n56_step_decide(&w->plan, &w->topo, &w->f, &s, NULL, 0), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tasks_per_node),
		T(test_cyclic_refused),
		T(test_shape_more_ranks_than_gpus),
		T(test_shape_fewer_ranks_than_gpus),
		T(test_no_topology),
		T(test_admin_map_contradicts_node),
		T(test_admin_map_agrees),
		T(test_every_shape_reason),
		T(test_tp_across_islands),
		T(test_placer_refuses),
		T(test_local_ranks_against_placement),
		T(test_gpus_outside_the_step),
		T(test_master_port),
		T(test_rank_env),
		T(test_bad_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
