/* nam56r-launch plan / validate: the recipe and the site policy, validated
 * for an allocation before any job exists, and the full plan (layers,
 * stages, generated args, env, patch surface, placement) for people (text)
 * or tools (JSON). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "step/core.h"
#include "policy/megatron.h"
#include "policy/memory.h"
#include "policy/plan.h"
#include "topology/placement.h"
#include "topology/topology.h"
#include "wrapper/commands.h"
#include "wrapper/cli.h"
#include "topology/slurmblock.h"
#include "job/n56job.h"
#include "wrapper/picture.h"
#include "wrapper/plan_schedule.h"

enum format { FORMAT_TEXT, FORMAT_JSON };

struct plan_opts {
	const char *recipe;   /* NULL: the built-in recipe */
	const char *policy;   /* NULL: no site policy */
	const char *topology; /* NULL: assumed shape */
	long nodes;
	long gpus; /* 0: from the topology, else 8 */
	enum format format;
	long max_nodes_shown;
	const char *picture;   /* --picture FILE.svg; NULL: none */
	const char *partition; /* Slurm partition for the GPU memory, or NULL */
	const char *nodelist;  /* the job's nodes (--nodelist), or NULL */
	bool nodes_given;      /* --nodes on the command line */
};

struct plan_inputs {
	struct n56_recipe *recipe;
	struct n56_policy *policy;
	struct n56_topology *topo;
	struct n56_plan *plan;
	struct n56_placer *placer;
	struct n56_node_shape shape;
	struct n56_place_report report;
	struct n56_advice advice;
	struct n56_diags diags;
	char **hosts; /* --nodelist expanded, in order */
	size_t nhosts;
};

static void plan_usage(FILE *f)
{
	fputs("usage: nam56r-launch plan [--recipe F] [--policy F] "
	      "[--nodes N]\n"
	      "         [--gpus-per-node G] [--topology XML] "
	      "[--format text|json]\n"
	      "         [--max-nodes-shown N] [--picture FILE.svg]\n"
	      "         [--partition P] [--nodelist HOSTLIST]\n\n"
	      "Validates the recipe for N nodes of G GPUs and prints the "
	      "full plan:\n"
	      "parallel sizes, layer map, pipeline stages, generated native "
	      "args,\n"
	      "fixed-policy env with each value's origin, the runtime patch "
	      "surface,\n"
	      "the rank placement, each pipeline rank's predicted GPU memory, "
	      "the simulated\n"
	      "pipeline schedule and advice on pp and vpp.\n\n"
	      "  --recipe F           nam56r.yaml (default: the built-in "
	      "NAM56R recipe)\n"
	      "  --policy F           site policy.yaml (default: none)\n"
	      "  --nodes N            number of nodes (default 1)\n"
	      "  --gpus-per-node G    GPUs (= tasks) per node (default: the "
	      "topology's,\n"
	      "                       else 8)\n"
	      "  --topology XML       hwloc XML export of one node (default: "
	      "one NVLink\n"
	      "                       island per node assumed)\n"
	      "  --format F           text (default) or json\n"
	      "  --max-nodes-shown N  nodes drawn in the text placement "
	      "(default 4)\n"
	      "  --picture FILE.svg   also draw the placement and one "
	      "iteration of the\n"
	      "                       schedule as an SVG picture\n"
	      "  --partition P        Slurm partition whose GPU memory the "
	      "policy gives\n"
	      "                       (memory.partitions)\n"
	      "  --nodelist HOSTLIST  the job's nodes in order (n[1-4]): the "
	      "node count,\n"
	      "                       and with island_source slurm-block "
	      "their blocks\n"
	      "  -h, --help           this help\n\n"
	      "Exit status: 0 ok, 2 invalid recipe, policy or usage, 1 other "
	      "failure.\n",
	      f);
}

static void validate_usage(FILE *f)
{
	fputs("usage: nam56r-launch validate [--recipe F] [--policy F] "
	      "[--nodes N]\n"
	      "         [--gpus-per-node G] [--partition P]\n\n"
	      "Checks the recipe against the site policy, Megatron's "
	      "start-up rules\n"
	      "and the GPU memory for N nodes of G GPUs and prints the "
	      "verdict:\n"
	      "'recipe OK: ...', or every "
	      "error as file:line:col: error: message.\n\n"
	      "  --recipe F           nam56r.yaml (default: the built-in "
	      "NAM56R recipe)\n"
	      "  --policy F           site policy.yaml (default: none)\n"
	      "  --nodes N            number of nodes (default 1)\n"
	      "  --gpus-per-node G    GPUs (= tasks) per node (default 8)\n"
	      "  --partition P        Slurm partition whose GPU memory the "
	      "policy gives\n"
	      "                       (memory.partitions)\n"
	      "  -h, --help           this help\n\n"
	      "Exit status: 0 valid, 2 invalid recipe, policy or usage, 1 "
	      "other failure.\n",
	      f);
}

static int parse_count(const char *cmd, const char *opt, const char *s,
		       long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max) {
		fprintf(stderr,
			"nam56r-launch %s: %s '%s': give a whole number from 1 "
			"to %ld\n",
			cmd, opt, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

#define GO_ON (-1)

/* One option's value into o: 0, or -1 after the message. */
static int set_option(const char *cmd, int c, const char *v,
		      struct plan_opts *o)
{
	switch (c) {
	case 'r':
		o->recipe = v;
		break;
	case 'p':
		o->policy = v;
		break;
	case 't':
		o->topology = v;
		break;
	case 'T':
		o->partition = v;
		break;
	case 'P':
		o->picture = v;
		break;
	case 'L':
		o->nodelist = v;
		break;
	case 'n':
		o->nodes_given = true;
		return parse_count(cmd, "--nodes", v, N56_MAX_NODES, &o->nodes);
	case 'g':
		return parse_count(cmd, "--gpus-per-node", v,
				   N56_MAX_GPUS_PER_NODE, &o->gpus);
	case 'm':
		return parse_count(cmd, "--max-nodes-shown", v, N56_MAX_NODES,
				   &o->max_nodes_shown);
	case 'f':
		if (!strcmp(v, "text")) {
			o->format = FORMAT_TEXT;
		} else if (!strcmp(v, "json")) {
			o->format = FORMAT_JSON;
		} else {
			fprintf(stderr,
				"nam56r-launch %s: --format '%s': use "
				"text or json\n",
				cmd, v);
			return -1;
		}
		break;
	}
	return 0;
}

/* Returns GO_ON, or the exit status: N56_EXIT_OK after --help,
 * N56_EXIT_USAGE on a bad option. */
static int parse_opts(const char *cmd, bool full, int argc, char **argv,
		      struct plan_opts *o)
{
	static const struct option longopts[] = {
		{ "recipe", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "gpus-per-node", required_argument, NULL, 'g' },
		{ "topology", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "max-nodes-shown", required_argument, NULL, 'm' },
		{ "picture", required_argument, NULL, 'P' },
		{ "partition", required_argument, NULL, 'T' },
		{ "nodelist", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	void (*usage)(FILE *) = full ? plan_usage : validate_usage;
	int c;

	memset(o, 0, sizeof(*o));
	o->nodes = 1;
	o->max_nodes_shown = 4;
	optind = 0; /* GNU: restart the scan for this argv */
	opterr = 0;
	int idx = -1;

	while ((c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
		bool plan_only = c == 't' || c == 'f' || c == 'm' || c == 'P' ||
				 c == 'L';

		if (plan_only && !full) {
			/* argv[optind - 1] may be the option's value */
			fprintf(stderr,
				"nam56r-launch %s: unknown option '--%s'\n",
				cmd, longopts[idx].name);
			usage(stderr);
			return N56_EXIT_USAGE;
		}
		if (c == 'h') {
			usage(stdout);
			return N56_EXIT_OK;
		}
		if (c == ':' || c == '?') {
			fprintf(stderr,
				c == ':' ? "nam56r-launch %s: %s needs "
					   "a value\n"
					 : "nam56r-launch %s: unknown "
					   "option '%s'\n",
				cmd, argv[optind - 1]);
			usage(stderr);
			return N56_EXIT_USAGE;
		}
		if (set_option(cmd, c, optarg, o))
			return N56_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "nam56r-launch %s: unexpected argument '%s'\n",
			cmd, argv[optind]);
		usage(stderr);
		return N56_EXIT_USAGE;
	}
	return GO_ON;
}

static void inputs_free(struct plan_inputs *in)
{
	n56_advice_free(&in->advice);
	n56_placer_free(in->placer);
	n56_plan_free(in->plan);
	n56_topology_free(in->topo);
	n56_policy_free(in->policy);
	n56_recipe_free(in->recipe);
	n56_diags_free(&in->diags);
	n56_hostlist_free(in->hosts, in->nhosts);
}

/* Recipe and policy; every error of both is printed. */
static int load_inputs(const struct plan_opts *o, struct plan_inputs *in)
{
	int rc;

	if (o->recipe)
		rc = n56_recipe_load(o->recipe, &in->recipe, &in->diags);
	else
		rc = n56_recipe_builtin(&in->recipe, &in->diags);
	/* What the plugin would refuse to carry is refused here too. */
	if (!rc && n56_recipe_check_carry(in->recipe, &in->diags))
		rc = -1;
	if (o->policy) {
		if (n56_policy_load(o->policy, &in->policy, &in->diags) ||
		    n56_policy_check_topology(in->policy, &in->diags))
			rc = -1;
	} else {
		in->policy = n56_policy_empty();
		if (!in->policy) {
			fprintf(stderr, "nam56r-launch: out of memory\n");
			return N56_EXIT_FAIL;
		}
	}
	if (rc || !in->policy) {
		n56_print_diags("", &in->diags);
		return N56_EXIT_USAGE;
	}
	/* island_source slurm-block: the blocks of the job's nodes, from
	 * Slurm's topology file beside $SLURM_CONF. */
	if (o->nodelist &&
	    n56_policy_slurm_blocks(in->policy, getenv("SLURM_CONF"),
				    &in->diags)) {
		n56_print_diags("", &in->diags);
		return N56_EXIT_USAGE;
	}
	return N56_EXIT_OK;
}

/* The plan for the request. Returns an exit status; 0 with in->plan. */
static int build_plan(const struct plan_opts *o, struct plan_inputs *in)
{
	struct n56_plan_request req = { o->nodes, o->gpus ? o->gpus : 8 };
	struct n56_mem_capacity_in cap = { 0, o->partition };

	if (in->topo)
		req.gpus_per_node = in->shape.gpus;
	if (n56_plan_build_mem(in->recipe, in->policy, &req, &cap, &in->plan,
			       &in->diags)) {
		n56_print_diags("", &in->diags);
		return N56_EXIT_USAGE;
	}
	return N56_EXIT_OK;
}

static int load_topology(const struct plan_opts *o, struct plan_inputs *in)
{
	char err[512] = "";

	if (!o->topology) {
		n56_node_shape_assumed(&in->shape, o->gpus ? (int)o->gpus : 8);
		return N56_EXIT_OK;
	}
	if (n56_topology_load(o->topology, in->policy,
			      in->nhosts ? in->hosts[0] : NULL, &in->topo, err,
			      sizeof(err)) ||
	    n56_topology_shape(in->topo, &in->shape, err, sizeof(err))) {
		fprintf(stderr, "nam56r-launch plan: %s\n", err);
		return N56_EXIT_USAGE;
	}
	if (o->gpus && o->gpus != in->shape.gpus) {
		fprintf(stderr,
			"nam56r-launch plan: --gpus-per-node %ld, but %s has "
			"%d GPUs: drop --gpus-per-node or give the matching "
			"topology\n",
			o->gpus, o->topology, in->shape.gpus);
		return N56_EXIT_USAGE;
	}
	return N56_EXIT_OK;
}

static const char *order_name(const struct n56_parallel *par)
{
	return par->pp_before_dp ? "tp-cp-ep-pp-dp" : "tp-cp-ep-dp-pp";
}

static const char *family_letters = "AEMR";

static void print_int_list(const char *label, const int *v, int n)
{
	if (!n)
		return;
	printf("  %s:", label);
	for (int i = 0; i < n; i++)
		printf("%s %d", i ? "," : "", v[i]);
	printf("\n");
}

static void print_layout(const struct n56_plan *p)
{
	const struct n56_layout *l = &p->layout;

	printf("layers: %s tiled to depth %d:", l->pattern, l->depth);
	for (int f = 0; f < N56_NFAMILIES; f++)
		printf(" %c%d", family_letters[f], l->counts[f]);
	printf("\n");
	print_int_list("R layers (1-based)", l->r_layer_indices, l->nr);
	print_int_list("DSA A ordinals (0-based)", l->dsa_a_layer_ranks,
		       l->ndsa);
	printf("  native pattern: %s\n\n", l->native_pattern);

	printf("stages: pp %ld x vpp %ld = %d segment%s, %s split; "
	       "imbalance %.3f (equal-count split: %.3f)\n",
	       p->par.pp, p->par.vpp, l->nstages, l->nstages == 1 ? "" : "s",
	       l->hand_split	    ? "hand"
	       : l->sched.simulated ? "least-iteration-time"
				    : "cost-balanced",
	       l->imbalance_balanced, l->imbalance_naive);
	printf("  %-3s %-3s %-9s %-6s %-10s %s\n", "pp", "vpp", "layers",
	       "count", "cost", "letters");
	for (int i = 0; i < l->nstages; i++) {
		const struct n56_stage *s = &l->stages[i];
		char range[32];

		snprintf(range, sizeof(range), "%d-%d", s->first,
			 s->first + s->count - 1);
		printf("  %-3d %-3d %-9s %-6d %-10.3g %s\n", s->pp, s->vpp,
		       range, s->count, s->cost, s->letters);
	}
	if (!l->split_exact)
		printf("split: search stopped at its work limit; best split "
		       "found shown (not proven optimal)\n");
	printf("\n");
}

/* One flag per line, with its values. */
static void print_args(const struct n56_plan *p)
{
	printf("runtime command:");
	for (size_t i = 0; i < p->ncommand; i++)
		printf(" %s", p->command[i]);
	printf("\ngenerated native args (%zu):\n", p->argc);
	for (size_t i = 0; i < p->argc;) {
		printf("  %s", p->argv[i++]);
		while (i < p->argc && strncmp(p->argv[i], "--", 2))
			printf(" %s", p->argv[i++]);
		printf("\n");
	}
	printf("\n");
}

static void print_env(const char *title, const struct n56_env *e)
{
	size_t w = 0;

	printf("%s:\n", title);
	if (!e->n)
		printf("  (none)\n");
	for (size_t i = 0; i < e->n; i++) {
		size_t l = strlen(e->v[i].name) + strlen(e->v[i].value) + 1;

		if (l > w)
			w = l;
	}
	for (size_t i = 0; i < e->n; i++) {
		char kv[1024];

		snprintf(kv, sizeof(kv), "%s=%s", e->v[i].name, e->v[i].value);
		printf("  %-*s  %s%s%s\n", (int)w, kv,
		       n56_origin_name(e->v[i].origin), e->v[i].why ? ": " : "",
		       e->v[i].why ? e->v[i].why : "");
	}
	printf("\n");
}

static const char *placement_source(const struct plan_opts *o,
				    const struct plan_inputs *in, char *buf,
				    size_t len)
{
	const char *from =
		o->nodelist ? in->policy->topology.islands_from : NULL;

	if (!o->topology && !from)
		return "assumed: one island per node";
	if (!o->topology)
		snprintf(buf, len,
			 "assumed: one island per node; NVLink "
			 "domains: the blocks of %s",
			 from);
	else
		snprintf(buf, len, "%s, islands from %s%s%s%s", o->topology,
			 n56_island_source_name(in->topo->island_source),
			 in->shape.degraded ? " (degraded: islands unknown)"
					    : "",
			 from ? "; NVLink domains: the blocks of " : "",
			 from ? from : "");
	return buf;
}

static void print_placement(const struct plan_opts *o,
			    const struct plan_inputs *in)
{
	const struct n56_plan *p = in->plan;
	long world = p->par.world, rows;
	char src[512];

	rows = o->max_nodes_shown * p->gpus_per_node;
	if (rows > world)
		rows = world;
	printf("placement (%s):\n", placement_source(o, in, src, sizeof(src)));
	printf("  TP groups inside one island: %s; expert groups: %s; "
	       "pipeline in node order: %s\n",
	       in->report.tp_in_island ? "yes" : "NO",
	       in->report.ep_in_island ? "yes" : "no",
	       in->report.pp_in_node_order ? "yes" : "no");
	if (in->report.why[0])
		printf("  %s\n", in->report.why);
	printf("  %-6s %-5s %-5s %-3s %-6s %-4s %-4s %-4s %-5s %s\n", "rank",
	       "node", "local", "gpu", "island", "tp", "cp", "ep", "dp", "pp");
	for (long r = 0; r < rows; r++) {
		struct n56_rank_place rp;

		n56_place_rank(in->placer, r, &rp);
		printf("  %-6ld %-5ld %-5d %-3d %-6d %-4ld %-4ld %-4ld %-5ld "
		       "%ld\n",
		       rp.rank, rp.node, rp.local_rank, rp.gpu, rp.island,
		       rp.tp, rp.cp, rp.ep, rp.dp, rp.pp);
	}
	if (rows < world)
		printf("  ... %ld more ranks\n", world - rows);
	printf("\n");
}

/* Node software the args need, where the site policy does not say it. */
static void print_node_needs(const struct n56_plan *p)
{
	const char *need;

	if (p->policy->node.transformer_engine.set &&
	    p->policy->node.dsa_backends.set)
		return;
	for (size_t i = 0;
	     (need = n56_node_requirement(p->recipe, &p->layout, i)); i++)
		printf("node must have: %s\n", need);
}

static json_t *megatron_json(const struct n56_plan *p)
{
	json_t *m = json_object(), *needs = json_array();
	const char *need;

	json_object_set_new(m, "commit", json_string(N56_MEGATRON_COMMIT));
	json_object_set_new(m, "date", json_string(N56_MEGATRON_DATE));
	for (size_t i = 0;
	     (need = n56_node_requirement(p->recipe, &p->layout, i)); i++)
		json_array_append_new(needs, json_string(need));
	json_object_set_new(m, "node_needs", needs);
	return m;
}

#define GB 1e9

/* A plan within the policy's warn band of the limit: said, not refused. */
static void memory_warning(const struct n56_plan *p)
{
	const struct n56_memory *m = p->memory;

	if (m && m->rank && m->verdict == N56_MEM_TIGHT)
		fprintf(stderr,
			"nam56r-launch: warning: GPU memory: pipeline "
			"rank %d needs %.1f GB, within %.0f%% of the "
			"%.1f GB limit (%.1f GB from the %s)\n",
			m->worst, m->rank[m->worst].total / GB,
			m->warn_band * 100, m->limit / GB, m->capacity / GB,
			m->capacity_source);
}

/* One row per pipeline rank: each term, the total and the verdict. */
static void print_memory(const struct n56_plan *p)
{
	const struct n56_memory *m = p->memory;

	if (!m || !m->rank)
		return;
	printf("memory per rank (GB; predicted peak, %ld microbatches per "
	       "iteration):\n",
	       m->microbatches);
	printf("  %-4s %-5s", "pp", "held");
	for (int t = 0; t < N56_MEM_NTERMS; t++)
		printf(" %11s", n56_mem_term_name(t));
	printf(" %8s  verdict\n", "total");
	for (int i = 0; i < m->npp; i++) {
		const struct n56_mem_rank *x = &m->rank[i];
		double held = 0;

		for (int v = 0; v < x->nvirtual; v++)
			held += x->inflight[v];
		printf("  %-4d %-5g", x->pp, held);
		for (int t = 0; t < N56_MEM_NTERMS; t++)
			printf(" %11.2f", x->term[t] / GB);
		printf(" %8.2f  %s\n", x->total / GB,
		       m->capacity > 0 ? n56_mem_verdict_name(x->verdict)
				       : "unchecked");
	}
	if (m->capacity > 0)
		printf("  capacity %.1f GB (%s), headroom %.0f%%: limit %.1f GB; "
		       "warning within %.0f%%\n\n",
		       m->capacity / GB, m->capacity_source, m->headroom * 100,
		       m->limit / GB, m->warn_band * 100);
	else
		printf("  capacity unknown: set memory.gpu_memory_gb in the "
		       "policy or the recipe to check the fit\n\n");
	memory_warning(p);
}

static json_t *memory_json(const struct n56_plan *p)
{
	const struct n56_memory *m = p->memory;
	json_t *j = json_object(), *ranks = json_array();

	for (int i = 0; m && i < m->npp; i++) {
		const struct n56_mem_rank *x = &m->rank[i];
		json_t *r = json_object(), *terms = json_object();
		json_t *fl = json_array();

		json_object_set_new(r, "pp", json_integer(x->pp));
		json_object_set_new(r, "stage", json_integer(x->stage));
		for (int v = 0; v < x->nvirtual; v++)
			json_array_append_new(fl, json_real(x->inflight[v]));
		json_object_set_new(r, "inflight_microbatches", fl);
		for (int t = 0; t < N56_MEM_NTERMS; t++)
			json_object_set_new(
				terms, n56_mem_term_name(t),
				json_integer((json_int_t)x->term[t]));
		json_object_set_new(r, "terms_bytes", terms);
		json_object_set_new(r, "allocated_bytes",
				    json_integer((json_int_t)x->allocated));
		json_object_set_new(r, "total_bytes",
				    json_integer((json_int_t)x->total));
		json_object_set_new(
			r, "verdict",
			json_string(m->capacity > 0
					    ? n56_mem_verdict_name(x->verdict)
					    : "unchecked"));
		json_array_append_new(ranks, r);
	}
	json_object_set_new(j, "ranks", ranks);
	json_object_set_new(j, "capacity_bytes",
			    json_integer(m ? (json_int_t)m->capacity : 0));
	json_object_set_new(j, "capacity_source",
			    json_string(m ? m->capacity_source : "unknown"));
	json_object_set_new(j, "headroom", json_real(m ? m->headroom : 0));
	json_object_set_new(j, "limit_bytes",
			    json_integer(m ? (json_int_t)m->limit : 0));
	json_object_set_new(
		j, "verdict",
		json_string(m && m->capacity > 0
				    ? n56_mem_verdict_name(m->verdict)
				    : "unchecked"));
	return j;
}

static int print_text(const struct plan_opts *o, const struct plan_inputs *in)
{
	const struct n56_plan *p = in->plan;
	const struct n56_parallel *par = &p->par;
	bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	printf("recipe: %s sha256=%s\n", p->recipe->path,
	       p->recipe->sha256_hex);
	printf("policy: %s\n", p->policy->path);
	printf("plan sha256=%s\n", p->plan_sha256_hex);
	printf("megatron: rules of Megatron-LM %.12s (%s)\n",
	       N56_MEGATRON_COMMIT, N56_MEGATRON_DATE);
	print_node_needs(p);
	printf("\n");
	printf("parallel: world %ld = %ld node%s x %ld GPUs\n", par->world,
	       p->nodes, p->nodes == 1 ? "" : "s", p->gpus_per_node);
	printf("  tp %ld  pp %ld  vpp %ld  cp %ld  ep %ld  etp %ld  dp %ld  "
	       "(order %s, sequence parallel %s)\n\n",
	       par->tp, par->pp, par->vpp, par->cp, par->ep, par->etp, par->dp,
	       order_name(par), par->sequence_parallel ? "on" : "off");
	print_layout(p);
	print_memory(p);
	n56_print_schedule(stdout, p, &in->advice);
	print_args(p);
	print_env("fixed policy env (every rank)", &p->fixed_policy);
	print_env("runtime patch surface", &p->patch_surface);
	print_placement(o, in);
	fflush(stdout);
	if (n56_placement_picture(stdout, p, in->placer, &in->shape, color,
				  o->max_nodes_shown) < 0) {
		fprintf(stderr, "nam56r-launch plan: cannot draw the "
				"placement\n");
		return N56_EXIT_FAIL;
	}
	return ferror(stdout) ? N56_EXIT_FAIL : N56_EXIT_OK;
}

static json_t *int_array(const int *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *layout_json(const struct n56_layout *l)
{
	json_t *o = json_object(), *counts = json_object();
	json_t *stages = json_array(), *imb = json_object();

	json_object_set_new(o, "pattern", json_string(l->pattern));
	json_object_set_new(o, "depth", json_integer(l->depth));
	for (int f = 0; f < N56_NFAMILIES; f++) {
		char k[2] = { family_letters[f], '\0' };

		json_object_set_new(counts, k, json_integer(l->counts[f]));
	}
	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "r_layer_indices",
			    int_array(l->r_layer_indices, l->nr));
	json_object_set_new(o, "dsa_a_layer_ranks",
			    int_array(l->dsa_a_layer_ranks, l->ndsa));
	json_object_set_new(o, "native_pattern",
			    json_string(l->native_pattern));
	for (int i = 0; i < l->nstages; i++) {
		const struct n56_stage *s = &l->stages[i];
		json_t *j = json_object(), *layers = json_array();

		for (int k = 0; k < s->count; k++)
			json_array_append_new(layers,
					      json_integer(s->first + k));
		json_object_set_new(j, "pp", json_integer(s->pp));
		json_object_set_new(j, "vpp", json_integer(s->vpp));
		json_object_set_new(j, "layers", layers);
		json_object_set_new(j, "letters", json_string(s->letters));
		json_object_set_new(j, "cost", json_real(s->cost));
		json_object_set_new(j, "mem_share", json_real(s->mem_share));
		json_array_append_new(stages, j);
	}
	json_object_set_new(o, "stages", stages);
	json_object_set_new(imb, "balanced", json_real(l->imbalance_balanced));
	json_object_set_new(imb, "naive", json_real(l->imbalance_naive));
	json_object_set_new(o, "imbalance", imb);
	json_object_set_new(o, "hand_split", json_boolean(l->hand_split));
	json_object_set_new(o, "split_exact", json_boolean(l->split_exact));
	return o;
}

static json_t *parallel_json(const struct n56_plan *p)
{
	const struct n56_parallel *par = &p->par;
	json_t *o = json_object();

	json_object_set_new(o, "tp", json_integer(par->tp));
	json_object_set_new(o, "pp", json_integer(par->pp));
	json_object_set_new(o, "vpp", json_integer(par->vpp));
	json_object_set_new(o, "ep", json_integer(par->ep));
	json_object_set_new(o, "etp", json_integer(par->etp));
	json_object_set_new(o, "cp", json_integer(par->cp));
	json_object_set_new(o, "dp", json_integer(par->dp));
	json_object_set_new(o, "world", json_integer(par->world));
	json_object_set_new(o, "nodes", json_integer(p->nodes));
	json_object_set_new(o, "gpus_per_node", json_integer(p->gpus_per_node));
	json_object_set_new(o, "sequence_parallel",
			    json_boolean(par->sequence_parallel));
	json_object_set_new(o, "rank_order", json_string(order_name(par)));
	return o;
}

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *env_json(const struct n56_env *e, bool origins)
{
	json_t *o = json_object();

	for (size_t i = 0; i < e->n; i++)
		json_object_set_new(
			o, e->v[i].name,
			json_string(origins ? n56_origin_name(e->v[i].origin)
					    : e->v[i].value));
	return o;
}

static json_t *plan_json(const struct plan_opts *o,
			 const struct plan_inputs *in)
{
	const struct n56_plan *p = in->plan;
	json_t *j = json_object(), *recipe = json_object(), *rep;
	json_t *why = json_object();
	char src[512];

	json_object_set_new(recipe, "path", json_string(p->recipe->path));
	json_object_set_new(recipe, "sha256",
			    json_string(p->recipe->sha256_hex));
	json_object_set_new(j, "recipe", recipe);
	json_object_set_new(j, "policy", json_string(p->policy->path));
	json_object_set_new(j, "plan_sha256", json_string(p->plan_sha256_hex));
	json_object_set_new(j, "megatron", megatron_json(p));
	json_object_set_new(j, "layout", layout_json(&p->layout));
	json_object_set_new(j, "schedule", n56_schedule_json(p, &in->advice));
	json_object_set_new(j, "parallel", parallel_json(p));
	json_object_set_new(j, "memory", memory_json(p));
	json_object_set_new(j, "command",
			    strings_json(p->command, p->ncommand));
	json_object_set_new(j, "generated_native_args",
			    strings_json(p->argv, p->argc));
	json_object_set_new(j, "fixed_policy",
			    env_json(&p->fixed_policy, false));
	json_object_set_new(j, "fixed_policy_origin",
			    env_json(&p->fixed_policy, true));
	for (size_t i = 0; i < p->fixed_policy.n; i++)
		if (p->fixed_policy.v[i].why)
			json_object_set_new(
				why, p->fixed_policy.v[i].name,
				json_string(p->fixed_policy.v[i].why));
	json_object_set_new(j, "fixed_policy_why", why);
	json_object_set_new(j, "patch_surface",
			    env_json(&p->patch_surface, false));
	rep = json_object();
	json_object_set_new(
		rep, "source",
		json_string(placement_source(o, in, src, sizeof(src))));
	json_object_set_new(rep, "tp_in_island",
			    json_boolean(in->report.tp_in_island));
	json_object_set_new(rep, "ep_in_island",
			    json_boolean(in->report.ep_in_island));
	json_object_set_new(rep, "pp_in_node_order",
			    json_boolean(in->report.pp_in_node_order));
	json_object_set_new(rep, "why", json_string(in->report.why));
	json_object_set_new(j, "placement_report", rep);
	return j;
}

/* The small object is dumped whole; the placement (one row per rank, up to
 * 131,072 and more) is streamed so that memory stays flat in the world. */
static int print_json(const struct plan_opts *o, const struct plan_inputs *in)
{
	json_t *j = plan_json(o, in);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	long world = in->plan->par.world;
	char *end;

	json_decref(j);
	if (!s) {
		fprintf(stderr, "nam56r-launch plan: out of memory\n");
		return N56_EXIT_FAIL;
	}
	end = strrchr(s, '}');
	if (!end) {
		free(s);
		return N56_EXIT_FAIL;
	}
	while (end > s && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	fwrite(s, 1, (size_t)(end - s), stdout);
	free(s);
	fputs(",\n  \"placement\": [", stdout);
	for (long r = 0; r < world; r++) {
		struct n56_rank_place rp;

		n56_place_rank(in->placer, r, &rp);
		printf("%s\n    {\"rank\": %ld, \"node\": %ld, \"local_rank\": "
		       "%d, \"gpu\": %d, \"island\": %d, \"tp\": %ld, \"cp\": "
		       "%ld, \"ep\": %ld, \"dp\": %ld, \"pp\": %ld}",
		       r ? "," : "", rp.rank, rp.node, rp.local_rank, rp.gpu,
		       rp.island, rp.tp, rp.cp, rp.ep, rp.dp, rp.pp);
	}
	fputs("\n  ]\n}\n", stdout);
	return fflush(stdout) || ferror(stdout) ? N56_EXIT_FAIL : N56_EXIT_OK;
}

/* Writes the SVG beside, then renames it into place: a failed run never
 * leaves half a picture under the name asked for. */
static int write_picture(const struct plan_opts *o,
			 const struct plan_inputs *in)
{
	size_t len = strlen(o->picture) + 16;
	char tmp[len], err[256] = "";
	FILE *f;
	int rc = -1;

	snprintf(tmp, len, "%s.tmpXXXXXX", o->picture);
	{
		int fd = mkstemp(tmp);
		mode_t um = umask(0);

		umask(um); /* mkstemp's 0600 would hide the picture */
		if (fd >= 0 && fchmod(fd, 0666 & ~um))
			fd = (close(fd), -1);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			fprintf(stderr,
				"nam56r-launch plan: --picture %s: cannot "
				"write there: %s\n",
				o->picture, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	if (n56_plan_svg(f, in->plan, in->placer, &in->shape, err,
			 sizeof(err)) == 0)
		rc = 0;
	if (fclose(f) && rc == 0) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, o->picture)) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		rc = -1;
	}
	if (rc) {
		unlink(tmp);
		fprintf(stderr, "nam56r-launch plan: --picture %s: %s\n",
			o->picture, err);
	}
	return rc;
}

/* The placement of the plan and the step core's TP verdict on it: a
 * warning, or an error when the site policy requires TP in one island. */
static int place_plan(const struct plan_opts *o, struct plan_inputs *in)
{
	char err[2048] = "";
	bool required;

	if (n56_step_placer(in->plan, &in->shape, &in->placer, &in->report, err,
			    sizeof(err))) {
		fprintf(stderr, "nam56r-launch plan: %s\n", err);
		return N56_EXIT_USAGE;
	}
	/* island_source slurm-block: as the step refuses it. */
	if (o->nodelist) {
		if (n56_placer_slurm_blocks(in->placer, in->policy, in->hosts,
					    in->nhosts, &in->report, err,
					    sizeof(err))) {
			fprintf(stderr, "nam56r-launch plan: error: %s\n", err);
			return N56_EXIT_USAGE;
		}
	} else if (in->policy->topology.island_source.v &&
		   !strcmp(in->policy->topology.island_source.v,
			   "slurm-block")) {
		fprintf(stderr,
			"nam56r-launch plan: note: island_source "
			"slurm-block: give --nodelist to hold the job's nodes "
			"against Slurm's blocks\n");
	}
	if (in->report.tp_in_island)
		return N56_EXIT_OK;
	required = n56_step_tp_verdict(&in->report, in->policy, err,
				       sizeof(err)) < 0;
	fprintf(stderr, "nam56r-launch plan: %s: %s\n",
		required ? "error" : "warning",
		in->report.why[0] ? in->report.why
				  : "a TP group spans NVLink islands");
	if (!required)
		return N56_EXIT_OK;
	fprintf(stderr, "nam56r-launch plan: the site policy requires TP "
			"inside one island (topology.require_tp_in_island)\n");
	return N56_EXIT_USAGE;
}

int n56_cmd_plan(int argc, char **argv)
{
	struct plan_opts o;
	struct plan_inputs in = { 0 };
	int rc = parse_opts("plan", true, argc, argv, &o);

	if (rc != GO_ON)
		return rc;
	if (o.nodelist) {
		char err[512];

		if (n56_hostlist_expand(o.nodelist, &in.hosts, &in.nhosts, err,
					sizeof(err))) {
			fprintf(stderr, "nam56r-launch plan: --nodelist: %s\n",
				err);
			return N56_EXIT_USAGE;
		}
		if (!in.nhosts) {
			fprintf(stderr,
				"nam56r-launch plan: --nodelist '%s' "
				"names no node\n",
				o.nodelist);
			rc = N56_EXIT_USAGE;
			goto out;
		}
		if (o.nodes_given && (size_t)o.nodes != in.nhosts) {
			fprintf(stderr,
				"nam56r-launch plan: --nodes %ld, but "
				"--nodelist %s names %zu nodes: give one of "
				"them\n",
				o.nodes, o.nodelist, in.nhosts);
			rc = N56_EXIT_USAGE;
			goto out;
		}
		o.nodes = (long)in.nhosts;
	}
	rc = load_inputs(&o, &in);
	if (!rc)
		rc = load_topology(&o, &in);
	if (!rc)
		rc = build_plan(&o, &in);
	if (!rc)
		rc = place_plan(&o, &in);
	if (rc)
		goto out;
	if (n56_plan_advise(in.plan, &in.advice)) {
		fprintf(stderr, "nam56r-launch plan: out of memory\n");
		rc = N56_EXIT_FAIL;
		goto out;
	}
	if (o.picture && write_picture(&o, &in)) {
		rc = N56_EXIT_FAIL;
		goto out;
	}
	rc = o.format == FORMAT_JSON ? print_json(&o, &in)
				     : print_text(&o, &in);
out:
	inputs_free(&in);
	return rc;
}

/* validate sees no topology: with one island per node assumed, a TP group
 * wider than a node can never sit in one island. An admin island map
 * (multi-node NVLink) may say otherwise, so then the check is left to
 * plan --topology and the plugin. */
static int check_assumed_islands(struct plan_inputs *in)
{
	const struct n56_policy *p = in->policy;
	char err[1024] = "";

	if (p->topology.nislands ||
	    (p->topology.island_source.v &&
	     !strcmp(p->topology.island_source.v, "slurm-block")))
		return N56_EXIT_OK;
	n56_node_shape_assumed(&in->shape, (int)in->plan->gpus_per_node);
	if (n56_step_placer(in->plan, &in->shape, &in->placer, &in->report, err,
			    sizeof(err))) {
		fprintf(stderr, "nam56r-launch validate: %s\n", err);
		return N56_EXIT_USAGE;
	}
	if (!n56_step_tp_verdict(&in->report, p, err, sizeof(err))) {
		if (!in->report.tp_in_island)
			fprintf(stderr,
				"nam56r-launch validate: warning: "
				"%s\n",
				in->report.why);
		return N56_EXIT_OK;
	}
	fprintf(stderr,
		"%s: error: %s: the site policy requires TP inside "
		"one island (topology.require_tp_in_island)\n",
		p->path, in->report.why);
	return N56_EXIT_USAGE;
}

int n56_cmd_validate(int argc, char **argv)
{
	struct plan_opts o;
	struct plan_inputs in = { 0 };
	const struct n56_parallel *par;
	int rc = parse_opts("validate", false, argc, argv, &o);

	if (rc != GO_ON)
		return rc;
	rc = load_inputs(&o, &in);
	if (!rc)
		rc = build_plan(&o, &in);
	if (!rc)
		rc = check_assumed_islands(&in);
	if (!rc) {
		par = &in.plan->par;
		printf("recipe OK: %s sha256=%s world=%ld tp=%ld pp=%ld "
		       "vpp=%ld ep=%ld etp=%ld cp=%ld dp=%ld\n",
		       in.recipe->path, in.recipe->sha256_hex, par->world,
		       par->tp, par->pp, par->vpp, par->ep, par->etp, par->cp,
		       par->dp);
		memory_warning(in.plan);
	}
	inputs_free(&in);
	return rc;
}
