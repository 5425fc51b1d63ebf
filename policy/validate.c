/* Megatron's start-up rules, checked at submit time for the allocation the
 * job asks for, so that a job that can never start is refused before it is
 * queued. Every violation names the recipe line it comes from and the
 * values that would work, computed from the recipe; all are reported. */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/megatron.h"
#include "policy/megatron_args.h"
#include "policy/plan.h"

/* Bounds that keep every product below LONG_MAX. */
#define MAX_SIZE 1000000L
#define MAX_NODES 1000000L
#define MAX_GPUS_PER_NODE 1024L
/* Candidate values are searched up to here (larger ones are never sane). */
#define MAX_CANDIDATE 65536L
#define MAX_ALTERNATIVES 16

struct alts {
	long v[MAX_ALTERNATIVES];
	size_t n;
	bool more;
};

static void alts_add(struct alts *a, long v)
{
	if (a->n < MAX_ALTERNATIVES)
		a->v[a->n++] = v;
	else
		a->more = true;
}

/* "1, 2, 4 or 8" */
static const char *alts_text(const struct alts *a, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < a->n && used < len; i++) {
		const char *sep = !i				? ""
				  : (i + 1 == a->n && !a->more) ? " or "
								: ", ";
		int w = snprintf(buf + used, len - used, "%s%ld", sep, a->v[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (a->more && used < len)
		snprintf(buf + used, len - used, ", ...");
	return buf;
}

static void divisors(long n, struct alts *a)
{
	for (long i = 1; i <= n && i <= MAX_CANDIDATE; i++)
		if (n % i == 0)
			alts_add(a, i);
}

static long gcd(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

void n56_parallel_from_recipe(const struct n56_recipe *r,
			      const struct n56_plan_request *req,
			      struct n56_parallel *par)
{
	const char *order = r->parallel.rank_order.v;
	long grid;

	memset(par, 0, sizeof(*par));
	par->tp = r->parallel.tp.v;
	par->pp = r->parallel.pp.v;
	par->vpp = r->parallel.vpp.v;
	par->ep = r->parallel.ep.v;
	par->etp = r->parallel.etp.v;
	par->cp = r->parallel.cp.v;
	par->sequence_parallel = r->parallel.sequence_parallel.v;
	par->pp_before_dp = order && !strcmp(order, "tp-cp-ep-pp-dp");
	if (req->nodes > 0 && req->nodes <= MAX_NODES &&
	    req->gpus_per_node > 0 && req->gpus_per_node <= MAX_GPUS_PER_NODE)
		par->world = req->nodes * req->gpus_per_node;
	if (par->tp < 1 || par->pp < 1 || par->cp < 1 || par->tp > MAX_SIZE ||
	    par->pp > MAX_SIZE || par->cp > MAX_SIZE || !par->world)
		return;
	grid = par->tp * par->pp * par->cp;
	if (par->world % grid == 0)
		par->dp = par->world / grid;
}

/* The pattern's native Mamba slots: M blocks and R blocks lowered to M. */
static int mamba_layers(const struct n56_layout *l)
{
	if (!l->native_pattern)
		return l->counts[N56_M];
	return l->counts[N56_M] + l->counts[N56_R];
}

static int check_request(const struct n56_recipe *r,
			 const struct n56_plan_request *req,
			 struct n56_diags *d)
{
	struct n56_pos none = { 0, 0 };
	int bad = 0;

	if (req->nodes < 1 || req->nodes > MAX_NODES) {
		n56_diag_add(d, r->path, none,
			     "%ld nodes requested: use 1 to %ld nodes",
			     req->nodes, MAX_NODES);
		bad++;
	}
	if (req->gpus_per_node < 1 || req->gpus_per_node > MAX_GPUS_PER_NODE) {
		n56_diag_add(d, r->path, none,
			     "%ld GPUs per node requested: use 1 to %ld",
			     req->gpus_per_node, MAX_GPUS_PER_NODE);
		bad++;
	}
	return bad;
}

static int check_positive(const struct n56_recipe *r, const char *key,
			  const struct n56_int *v, long max,
			  struct n56_diags *d)
{
	if (v->v >= 1 && v->v <= max)
		return 0;
	if (!v->set && !v->v) {
		n56_diag_add(d, r->path, v->pos,
			     "%s is not set: Megatron needs it (1 to %ld)", key,
			     max);
		return 1;
	}
	n56_diag_add(d, r->path, v->pos, "%s %ld: use a value from 1 to %ld",
		     key, v->v, max);
	return 1;
}

/* Sizes that every later rule divides by. */
static int check_sizes(const struct n56_recipe *r, struct n56_diags *d)
{
	int bad = 0;

	bad += check_positive(r, "parallelism.tp", &r->parallel.tp, MAX_SIZE,
			      d);
	bad += check_positive(r, "parallelism.pp", &r->parallel.pp, MAX_SIZE,
			      d);
	bad += check_positive(r, "parallelism.vpp", &r->parallel.vpp, MAX_SIZE,
			      d);
	bad += check_positive(r, "parallelism.ep", &r->parallel.ep, MAX_SIZE,
			      d);
	bad += check_positive(r, "parallelism.etp", &r->parallel.etp, MAX_SIZE,
			      d);
	bad += check_positive(r, "parallelism.cp", &r->parallel.cp, MAX_SIZE,
			      d);
	bad += check_positive(r, "batch.micro_batch_size",
			      &r->batch.micro_batch_size, MAX_SIZE, d);
	bad += check_positive(r, "batch.global_batch_size",
			      &r->batch.global_batch_size, 1L << 40, d);
	bad += check_positive(r, "batch.seq_length", &r->batch.seq_length,
			      1L << 40, d);
	bad += check_positive(r, "model.attention.heads",
			      &r->model.attention.heads, MAX_CANDIDATE, d);
	/* The runtime gets the generated args only: no tokenizer gives it. */
	if (!r->model.vocab_size.set) {
		n56_diag_add(d, r->path, r->model.hidden_size.pos,
			     "model.vocab_size is not set: Megatron needs the "
			     "vocabulary size (--vocab-size) to build the "
			     "embedding and the output layer: set it to the "
			     "tokenizer's vocabulary size");
		bad++;
	}
	return bad;
}

/* The smallest node count step that makes the world a multiple of grid. */
static long node_step(long grid, long gpus_per_node)
{
	return grid / gcd(grid, gpus_per_node);
}

static void rule_world(const struct n56_recipe *r,
		       const struct n56_plan_request *req,
		       const struct n56_parallel *par, struct n56_diags *d)
{
	long grid = par->tp * par->pp * par->cp;

	if (par->world % grid == 0)
		return;
	n56_diag_add(d, r->path, r->parallel.tp.pos,
		     "world size %ld (%ld node%s x %ld GPUs) is not a multiple "
		     "of tp %ld x pp %ld x cp %ld = %ld: run on a multiple of "
		     "%ld nodes, or choose tp, pp and cp whose product divides "
		     "%ld",
		     par->world, req->nodes, req->nodes == 1 ? "" : "s",
		     req->gpus_per_node, par->tp, par->pp, par->cp, grid,
		     node_step(grid, req->gpus_per_node), par->world);
}

static void rule_expert_grid(const struct n56_recipe *r,
			     const struct n56_plan_request *req,
			     const struct n56_parallel *par,
			     struct n56_diags *d)
{
	long grid = par->etp * par->ep * par->pp;

	if (par->world % grid == 0)
		return;
	n56_diag_add(
		d, r->path, r->parallel.ep.pos,
		"world size %ld is not a multiple of the expert grid etp "
		"%ld x ep %ld x pp %ld = %ld: run on a multiple of %ld "
		"nodes, or choose etp, ep and pp whose product divides %ld",
		par->world, par->etp, par->ep, par->pp, grid,
		node_step(grid, req->gpus_per_node), par->world);
}

static void rule_batch(const struct n56_recipe *r,
		       const struct n56_parallel *par, struct n56_diags *d)
{
	long gb = r->batch.global_batch_size.v;
	long mb = r->batch.micro_batch_size.v;
	long unit, lo, hi;

	if (!par->dp || mb > (1L << 40) / par->dp)
		return;
	unit = mb * par->dp;
	if (gb % unit == 0)
		return;
	lo = gb / unit * unit;
	hi = lo + unit;
	if (lo)
		n56_diag_add(
			d, r->path, r->batch.global_batch_size.pos,
			"global batch %ld is not a multiple of micro batch "
			"%ld x data parallel %ld = %ld: use %ld or %ld",
			gb, mb, par->dp, unit, lo, hi);
	else
		n56_diag_add(
			d, r->path, r->batch.global_batch_size.pos,
			"global batch %ld is not a multiple of micro batch "
			"%ld x data parallel %ld = %ld: use %ld",
			gb, mb, par->dp, unit, hi);
}

/* Whether tensor parallelism t splits every head family evenly. */
static bool tp_fits(const struct n56_recipe *r, const struct n56_layout *l,
		    long t)
{
	long heads = r->model.attention.heads.v;
	long groups = r->model.attention.query_groups.v;
	long mheads = r->model.mamba.heads.v;
	long mgroups = r->model.mamba.groups.v;

	if (heads % t)
		return false;
	if (groups > 0 && groups % t && t % groups)
		return false;
	if (mamba_layers(l) > 0) {
		if (mheads > 0 && mheads % t)
			return false;
		if (mgroups > 0 && mgroups % t)
			return false;
	}
	return true;
}

static void tp_candidates(const struct n56_recipe *r,
			  const struct n56_layout *l, struct alts *a)
{
	long heads = r->model.attention.heads.v;

	for (long t = 1; t <= heads && t <= MAX_CANDIDATE; t++)
		if (tp_fits(r, l, t))
			alts_add(a, t);
}

/* "56 attention heads, 8 query groups and 8 Mamba groups" */
static void tp_constraints_text(const struct n56_recipe *r,
				const struct n56_layout *l, char *buf,
				size_t len)
{
	char item[4][64];
	int n = 0;
	size_t used = 0;

	snprintf(item[n++], sizeof(item[0]), "%ld attention heads",
		 r->model.attention.heads.v);
	if (r->model.attention.query_groups.set)
		snprintf(item[n++], sizeof(item[0]), "%ld query groups",
			 r->model.attention.query_groups.v);
	if (mamba_layers(l) > 0) {
		long mh = r->model.mamba.heads.v;

		/* Equal head counts are said once. */
		if (mh > 0 && mh != r->model.attention.heads.v)
			snprintf(item[n++], sizeof(item[0]), "%ld Mamba heads",
				 mh);
		if (r->model.mamba.groups.v > 0)
			snprintf(item[n++], sizeof(item[0]), "%ld Mamba groups",
				 r->model.mamba.groups.v);
	}
	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++) {
		const char *sep = !i ? "" : (i + 1 == n) ? " and " : ", ";
		int w = snprintf(buf + used, len - used, "%s%s", sep, item[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static void rule_tp_heads(const struct n56_recipe *r,
			  const struct n56_layout *l,
			  const struct n56_parallel *par, struct n56_diags *d)
{
	struct alts a = { 0 };
	char what[256], list[256];

	if (tp_fits(r, l, par->tp))
		return;
	tp_candidates(r, l, &a);
	tp_constraints_text(r, l, what, sizeof(what));
	n56_diag_add(d, r->path, r->parallel.tp.pos, "tp %ld: %s allow tp %s",
		     par->tp, what, alts_text(&a, list, sizeof(list)));
}

static void rule_mamba_groups(const struct n56_recipe *r,
			      const struct n56_layout *l, struct n56_diags *d)
{
	long mh = r->model.mamba.heads.v, mg = r->model.mamba.groups.v;
	struct alts a = { 0 };
	char list[256];

	if (mamba_layers(l) == 0 || mh <= 0 || mg <= 0 || mh % mg == 0)
		return;
	divisors(mh, &a);
	n56_diag_add(d, r->path, r->model.mamba.groups.pos,
		     "Mamba groups %ld do not divide Mamba heads %ld: use %s "
		     "groups",
		     mg, mh, alts_text(&a, list, sizeof(list)));
}

static void rule_context_parallel(const struct n56_recipe *r,
				  const struct n56_parallel *par,
				  struct n56_diags *d)
{
	long seq = r->batch.seq_length.v, unit = 2 * par->cp, lo;

	if (par->cp <= 1 || seq % unit == 0)
		return;
	lo = seq / unit * unit;
	if (lo)
		n56_diag_add(d, r->path, r->batch.seq_length.pos,
			     "seq_length %ld is not a multiple of 2 x cp %ld = "
			     "%ld (context parallelism cuts each sequence into "
			     "2 x cp chunks): use %ld or %ld",
			     seq, par->cp, unit, lo, lo + unit);
	else
		n56_diag_add(d, r->path, r->batch.seq_length.pos,
			     "seq_length %ld is not a multiple of 2 x cp %ld = "
			     "%ld (context parallelism cuts each sequence into "
			     "2 x cp chunks): use %ld",
			     seq, par->cp, unit, unit);
}

static void rule_expert_parallel(const struct n56_recipe *r,
				 const struct n56_parallel *par,
				 struct n56_diags *d)
{
	long experts = r->model.moe.experts.v;
	struct alts a = { 0 };
	char list[256];

	if (par->ep <= 1)
		return;
	if (experts <= 0) {
		n56_diag_add(d, r->path, r->parallel.ep.pos,
			     "ep %ld needs experts: set model.moe.experts to a "
			     "multiple of %ld, or use ep 1",
			     par->ep, par->ep);
		return;
	}
	if (experts % par->ep == 0)
		return;
	divisors(experts, &a);
	n56_diag_add(d, r->path, r->parallel.ep.pos,
		     "ep %ld: %ld experts allow ep %s", par->ep, experts,
		     alts_text(&a, list, sizeof(list)));
}

static bool str_is(const struct n56_str *s, const char *v)
{
	return s->v && !strcmp(s->v, v);
}

static bool has_module(const struct n56_recipe *r, const char *m)
{
	const struct n56_strlist *x = &r->runtime.cuda_graphs.modules;

	for (size_t i = 0; i < x->n; i++)
		if (x->v[i] && !strcmp(x->v[i], m))
			return true;
	return false;
}

static struct n56_pos module_pos(const struct n56_recipe *r, const char *m)
{
	const struct n56_strlist *x = &r->runtime.cuda_graphs.modules;

	for (size_t i = 0; i < x->n; i++)
		if (x->v[i] && !strcmp(x->v[i], m) && x->item_pos)
			return x->item_pos[i];
	return x->pos;
}

/* Megatron (arguments.py validate_args): MTP needs rope or no position
 * embedding. */
static void rule_position_embedding(const struct n56_recipe *r,
				    struct n56_diags *d)
{
	const struct n56_str *pe = &r->model.position_embedding;

	if (r->model.mtp.depths.v <= 0 || str_is(pe, "rope") ||
	    str_is(pe, "none"))
		return;
	n56_diag_add(d, r->path, pe->set ? pe->pos : r->model.mtp.depths.pos,
		     "model.position_embedding %s with MTP (model.mtp.depths "
		     "%ld): Megatron's multi-token prediction supports rope "
		     "and none only: use position_embedding: rope, or "
		     "mtp.depths: 0",
		     pe->v, r->model.mtp.depths.v);
}

/* Megatron (TransformerConfig): DSA's absorbed MLA has no linear bias and
 * no fused RoPE; a bias in experts needs ETP 1. */
static void rule_bias_and_fusion(const struct n56_recipe *r,
				 const struct n56_layout *l,
				 const struct n56_parallel *par,
				 struct n56_diags *d)
{
	if (l->ndsa && r->model.linear_bias.v)
		n56_diag_add(d, r->path, r->model.linear_bias.pos,
			     "model.linear_bias true with DSA attention (%d "
			     "DSA layer%s): DSA's absorbed MLA has no linear "
			     "bias: set linear_bias: false, or turn DSA off "
			     "(model.attention.dsa.a_layer_ranks: [])",
			     l->ndsa, l->ndsa == 1 ? "" : "s");
	/* Megatron turns the fusion off itself unless the embedding is rope. */
	if (l->ndsa && r->model.rope_fusion.set && r->model.rope_fusion.v &&
	    str_is(&r->model.position_embedding, "rope"))
		n56_diag_add(d, r->path, r->model.rope_fusion.pos,
			     "model.rope_fusion true with DSA attention: "
			     "Megatron has no fused RoPE for DSA: remove "
			     "rope_fusion (the plan turns it off with DSA), or "
			     "turn DSA off");
	if (r->model.linear_bias.v && l->counts[N56_E] && par->etp > 1)
		n56_diag_add(d, r->path, r->model.linear_bias.pos,
			     "model.linear_bias true with MoE and etp %ld: "
			     "Megatron supports a bias in experts only at etp "
			     "1: set linear_bias: false, or parallelism.etp: 1",
			     par->etp);
}

/* Megatron (arguments.py): without kv_channels, the head size is
 * hidden_size / heads and must be whole. MLA sizes its heads itself. */
static void rule_kv_channels(const struct n56_recipe *r,
			     const struct n56_layout *l, struct n56_diags *d)
{
	long h = r->model.hidden_size.v, heads = r->model.attention.heads.v;

	(void)l;
	if (r->model.attention.kv_channels.set || heads <= 0 || h % heads == 0)
		return;
	n56_diag_add(d, r->path, r->model.hidden_size.pos,
		     "hidden_size %ld is not a multiple of %ld attention "
		     "heads, and model.attention.kv_channels is not set: set "
		     "kv_channels (the size of one head), or a hidden size "
		     "that is a multiple of %ld",
		     h, heads, heads);
}

/* Megatron (TransformerConfig): DSA's indexer sees the whole sequence, so
 * context parallelism must all-gather it. */
static void rule_cp_comm(const struct n56_recipe *r, const struct n56_layout *l,
			 const struct n56_parallel *par, struct n56_diags *d)
{
	const struct n56_str *t = &r->parallel.cp_comm_type;

	if (str_is(t, "a2a+p2p") && par->cp > 1)
		n56_diag_add(d, r->path, t->pos,
			     "parallelism.cp_comm_type a2a+p2p needs "
			     "hierarchical context-parallel sizes, which a "
			     "recipe cannot give: use p2p, a2a or allgather");
	if (!l->ndsa || par->cp <= 1 || !t->v || str_is(t, "allgather"))
		return;
	n56_diag_add(d, r->path, t->pos,
		     "parallelism.cp_comm_type %s with DSA attention and cp "
		     "%ld: DSA needs allgather: remove cp_comm_type (the plan "
		     "derives allgather), or set it to allgather",
		     t->v, par->cp);
}

/* Megatron (TransformerConfig): top-1 softmax routing needs the softmax
 * before the top-k. The plan derives it; an explicit false is refused. */
static void rule_router(const struct n56_recipe *r, const struct n56_layout *l,
			struct n56_diags *d)
{
	const typeof(r->model.moe) *moe = &r->model.moe;

	if (!l->counts[N56_E] || moe->topk.v != 1 ||
	    !str_is(&moe->router_score_function, "softmax") ||
	    str_is(&moe->load_balancing, "sinkhorn") ||
	    n56_router_pre_softmax(r))
		return;
	n56_diag_add(d, r->path, moe->router_pre_softmax.pos,
		     "model.moe.router_pre_softmax false with top-1 softmax "
		     "routing: a softmax over one score has no gradient: "
		     "remove router_pre_softmax (the plan turns it on), use "
		     "topk 2 or more, or router_score_function: sigmoid");
}

/* Megatron (TransformerConfig.__post_init__ and validate_args): which
 * CUDA-graph modules fit the model and the implementation. */
static void rule_cuda_graphs(const struct n56_recipe *r,
			     const struct n56_layout *l, struct n56_diags *d)
{
	const typeof(r->runtime.cuda_graphs) *cg = &r->runtime.cuda_graphs;
	bool local = str_is(&cg->impl, "local");
	bool router = has_module(r, "moe_router") ||
		      (local && has_module(r, "moe_preprocess"));
	bool experts = l->counts[N56_E] && r->model.moe.experts.v > 1;

	if (!cg->impl.v || str_is(&cg->impl, "none"))
		return;
	if (str_is(&cg->impl, "full_iteration")) {
		if (cg->modules.n)
			n56_diag_add(d, r->path, cg->modules.pos,
				     "runtime.cuda_graphs.modules with impl "
				     "full_iteration: a full-iteration graph "
				     "captures everything: remove modules, or "
				     "use impl transformer_engine or local");
		return;
	}
	if (has_module(r, "moe") && has_module(r, "moe_router"))
		n56_diag_add(d, r->path, module_pos(r, "moe"),
			     "runtime.cuda_graphs.modules: moe and "
			     "moe_router exclude each other: keep one");
	if (!local && has_module(r, "moe_preprocess") &&
	    !has_module(r, "moe_router"))
		n56_diag_add(d, r->path, module_pos(r, "moe_preprocess"),
			     "runtime.cuda_graphs.modules: moe_preprocess "
			     "needs moe_router with impl %s: add moe_router",
			     cg->impl.v);
	if (!experts) {
		const char *m = has_module(r, "moe")	      ? "moe"
				: has_module(r, "moe_router") ? "moe_router"
				: router		      ? "moe_preprocess"
							      : NULL;
		if (m)
			n56_diag_add(d, r->path, module_pos(r, m),
				     "runtime.cuda_graphs.modules: %s needs "
				     "MoE layers with more than one expert "
				     "(the model has %s): remove it",
				     m,
				     l->counts[N56_E] ? "one expert"
						      : "no E blocks");
		return;
	}
	/* Every E block is MoE (Megatron's moe_layer_freq 1): no dense MLP. */
	if (has_module(r, "mlp"))
		n56_diag_add(d, r->path, module_pos(r, "mlp"),
			     "runtime.cuda_graphs.modules: mlp captures dense "
			     "MLP layers, and every E block is MoE: remove "
			     "it, or use moe_router");
	/* Megatron graphs a whole MoE layer only with drop-and-pad routing,
	 * which a recipe cannot choose. */
	if (has_module(r, "moe"))
		n56_diag_add(d, r->path, module_pos(r, "moe"),
			     "runtime.cuda_graphs.modules: moe needs "
			     "drop-and-pad expert capacity, which a recipe "
			     "does not set: use moe_router and moe_preprocess");
}

/* The value runtime.extra_args gives FLAG ("--flag V" or "--flag=V"; the
 * last one wins, as argparse takes it), or NULL. */
static const char *extra_value(const struct n56_recipe *r, const char *flag)
{
	const struct n56_strlist *x = &r->runtime.extra_args;
	size_t fl = strlen(flag);
	const char *v = NULL;

	for (size_t i = 0; i < x->n; i++) {
		const char *a = x->v[i];

		if (!a || strncmp(a, flag, fl))
			continue;
		if (a[fl] == '=')
			v = a + fl + 1;
		else if (!a[fl] && i + 1 < x->n)
			v = x->v[i + 1];
	}
	return v;
}

/* Megatron's rules on the memory knobs: TransformerConfig.__post_init__
 * (megatron/core/transformer/transformer_config.py, the CUDA-graph checks
 * of recomputation) and validate_args (megatron/training/arguments.py,
 * --attention-backend local) at the commit policy/megatron.h names. */
static void rule_memory_knobs(const struct n56_recipe *r, struct n56_diags *d)
{
	const typeof(r->runtime.cuda_graphs) *cg = &r->runtime.cuda_graphs;
	const char *impl = cg->impl.v;
	bool graphs = impl && strcmp(impl, "none");
	bool full_graph =
		graphs && (!strcmp(impl, "full_iteration") || !cg->modules.n);
	const char *spec = extra_value(r, "--spec");
	const char *drop = extra_value(r, "--attention-dropout");

	if (str_is(&r->memory.recompute, "full") && graphs &&
	    strcmp(impl, "full_iteration"))
		n56_diag_add(d, r->path, r->memory.recompute.pos,
			     "memory.recompute full with "
			     "runtime.cuda_graphs.impl %s: Megatron "
			     "recomputes whole layers only under a "
			     "full-iteration CUDA graph: use impl "
			     "full_iteration (without modules) or none, or "
			     "memory.recompute: selective",
			     impl);
	/* Selective recompute is Megatron's default module, the core
	 * attention; a graph that captures it cannot replay its dropout. */
	if (str_is(&r->memory.recompute, "selective") &&
	    (full_graph || (graphs && has_module(r, "attn"))) &&
	    !(drop && strtod(drop, NULL) == 0.0))
		n56_diag_add(d, r->path, r->memory.recompute.pos,
			     "memory.recompute selective recomputes the core "
			     "attention, which runtime.cuda_graphs (impl %s%s)"
			     " captures, and Megatron cannot replay attention "
			     "dropout (0.1 unless --attention-dropout says "
			     "otherwise) in a graph: add \"--attention-"
			     "dropout\", \"0.0\" to runtime.extra_args, take "
			     "attn out of the graph's modules, or use "
			     "memory.recompute: none",
			     impl, full_graph ? "" : ", module attn");
	if (str_is(&r->memory.attention_backend, "local") &&
	    !(spec && !strcmp(spec, "local")))
		n56_diag_add(d, r->path, r->memory.attention_backend.pos,
			     "memory.attention_backend local: Megatron takes "
			     "--attention-backend local only with --spec "
			     "local, which the hybrid model does not use: use "
			     "unfused (it keeps the same score matrix), "
			     "flash, fused or auto");
}

/* Megatron (parallel_state.initialize_model_parallel): with pp before dp
 * in the rank order, the expert grid must have the same data-parallel size
 * as the attention grid: tp x cp = etp x ep. */
static void rule_rank_order(const struct n56_recipe *r,
			    const struct n56_parallel *par, struct n56_diags *d)
{
	long edp, egrid = par->etp * par->ep * par->pp;

	if (!par->pp_before_dp || par->pp <= 1 || !par->dp || !egrid ||
	    par->world % egrid)
		return;
	edp = par->world / egrid;
	if (edp == par->dp)
		return;
	n56_diag_add(d, r->path, r->parallel.rank_order.pos,
		     "rank_order tp-cp-ep-pp-dp with pp %ld: Megatron needs "
		     "the same data-parallel size for attention (world / (tp "
		     "%ld x cp %ld x pp) = %ld) and experts (world / (etp %ld "
		     "x ep %ld x pp) = %ld): use rank_order tp-cp-ep-dp-pp, "
		     "or sizes with tp x cp = etp x ep",
		     par->pp, par->tp, par->cp, par->dp, par->etp, par->ep,
		     edp);
}

static bool list_has(const struct n56_strlist *l, const char *v)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] && !strcmp(l->v[i], v))
			return true;
	return false;
}

/* The DSA kernel backend the args ask for, or NULL (none, or no DSA). */
static const char *dsa_backend_used(const struct n56_recipe *r,
				    const struct n56_layout *l)
{
	const char *b = r->model.attention.dsa.backend.v;

	return l->ndsa && b && strcmp(b, "none") ? b : NULL;
}

const char *n56_node_requirement(const struct n56_recipe *r,
				 const struct n56_layout *l, size_t i)
{
	static const char te[] =
		"Transformer Engine " N56_MEGATRON_TE_VERSION
		" (Megatron's default transformer implementation; the "
		"version Megatron " N56_MEGATRON_DATE " pins)";
	const char *b = dsa_backend_used(r, l);

	if (i == 0)
		return te;
	if (i == 1 && b)
		return !strcmp(b, "tilelang")
			       ? "TileLang DSA kernels (--dsa-kernel-backend "
				 "tilelang)"
			       : "cuDNN DSA kernels and flash_mla "
				 "(--dsa-kernel-backend cudnn)";
	return NULL;
}

/* What the site says its nodes have (policy node:) against what the args
 * need; where the policy says nothing, `plan` lists the needs. */
static void rule_node_software(const struct n56_recipe *r,
			       const struct n56_policy *p,
			       const struct n56_layout *l, struct n56_diags *d)
{
	const struct n56_str *te = p ? &p->node.transformer_engine : NULL;
	const char *b = dsa_backend_used(r, l);
	struct n56_pos none = { 0, 0 };

	if (te && te->v && !strcmp(te->v, "none"))
		n56_diag_add(d, r->path, none,
			     "the site's nodes have no Transformer Engine "
			     "(policy %s: node.transformer_engine none), and "
			     "the generated args use it, Megatron's default "
			     "transformer implementation: ask the site admin "
			     "for nodes with Transformer Engine %s",
			     p->path, N56_MEGATRON_TE_VERSION);
	if (!b || !p || !p->node.dsa_backends.set ||
	    list_has(&p->node.dsa_backends, b))
		return;
	n56_diag_add(d, r->path,
		     r->model.attention.dsa.backend.set
			     ? r->model.attention.dsa.backend.pos
			     : r->model.attention.dsa.a_layer_ranks.pos,
		     "model.attention.dsa.backend %s: the site's nodes have "
		     "no %s DSA kernels (policy %s: node.dsa_backends): use "
		     "backend none (Megatron's PyTorch fallback)%s%s",
		     b, b, p->path, p->node.dsa_backends.n ? ", or " : "",
		     p->node.dsa_backends.n ? p->node.dsa_backends.v[0] : "");
}

/* Megatron's interleaved 1F1B schedule (pipeline_parallel/schedules.py,
 * forward_backward_pipelining_with_interleaving), checked when a step
 * runs: with the default group of pp microbatches per virtual stage, the
 * microbatch count must be at least pp and, past a whole group, leave no
 * remainder smaller than pp, i.e. be a multiple of pp. */
static void rule_interleaved_schedule(const struct n56_recipe *r,
				      const struct n56_parallel *par,
				      struct n56_diags *d)
{
	long gb = r->batch.global_batch_size.v;
	long mb = r->batch.micro_batch_size.v, m, unit, lo, hi;

	if (par->vpp <= 1 || par->pp <= 1 || !par->dp ||
	    mb > (1L << 40) / par->dp)
		return;
	unit = mb * par->dp;
	if (gb % unit)
		return; /* rule_batch says it */
	m = gb / unit;
	if (m >= par->pp && m % par->pp == 0)
		return;
	lo = m / par->pp * par->pp * unit;
	hi = (m / par->pp + 1) * par->pp * unit;
	if (lo)
		n56_diag_add(d, r->path, r->batch.global_batch_size.pos,
			     "global batch %ld gives %ld microbatch%s per "
			     "iteration (global / (micro %ld x dp %ld)); with "
			     "vpp %ld Megatron's interleaved schedule needs a "
			     "multiple of pp %ld: use global batch %ld or %ld, "
			     "or vpp 1",
			     gb, m, m == 1 ? "" : "es", mb, par->dp, par->vpp,
			     par->pp, lo, hi);
	else
		n56_diag_add(d, r->path, r->batch.global_batch_size.pos,
			     "global batch %ld gives %ld microbatch%s per "
			     "iteration (global / (micro %ld x dp %ld)); with "
			     "vpp %ld Megatron's interleaved schedule needs at "
			     "least pp %ld: use global batch %ld, or vpp 1",
			     gb, m, m == 1 ? "" : "es", mb, par->dp, par->vpp,
			     par->pp, hi);
}

/* Flags the translation owns, or that Megatron forbids with a hybrid
 * pattern: extra_args may not carry them. */
static const struct {
	const char *flag;
	const char *why;
} forbidden_extra[] = {
	{ "--group-query-attention", NULL },
	{ "--num-query-groups", NULL },
	{ "--num-virtual-stages-per-pipeline-rank",
	  "the hybrid pattern's '|' segments carry VPP: set parallelism.vpp" },
	{ "--microbatch-group-size-per-virtual-pipeline-stage",
	  "validation checks the interleaved schedule with Megatron's "
	  "default group of pp microbatches" },
	{ "--num-layers-per-virtual-pipeline-stage",
	  "the hybrid pattern's '|' segments carry VPP: set parallelism.vpp" },
	{ "--pipeline-model-parallel-layout",
	  "Megatron forbids it with a hybrid pattern: set layout.segments" },
	{ "--account-for-embedding-in-pipeline-split",
	  "Megatron forbids it with a hybrid pattern: set layout.segments" },
	{ "--account-for-loss-in-pipeline-split",
	  "Megatron forbids it with a hybrid pattern: set layout.segments" },
	{ "--hybrid-override-pattern",
	  "the plan generates --hybrid-layer-pattern from model.pattern" },
};

static void rule_extra_args(const struct n56_recipe *r, bool mla_on,
			    struct n56_diags *d)
{
	const struct n56_strlist *x = &r->runtime.extra_args;

	for (size_t i = 0; i < x->n; i++) {
		struct n56_pos pos = x->item_pos ? x->item_pos[i] : x->pos;
		const char *a = x->v[i];

		if (!a)
			continue;
		for (size_t k = 0;
		     k < sizeof(forbidden_extra) / sizeof(forbidden_extra[0]);
		     k++) {
			const char *f = forbidden_extra[k].flag;
			size_t fl = strlen(f);

			if (strncmp(a, f, fl) || (a[fl] && a[fl] != '='))
				continue;
			if (forbidden_extra[k].why)
				n56_diag_add(d, r->path, pos,
					     "runtime.extra_args: %s is not "
					     "allowed: %s",
					     f, forbidden_extra[k].why);
			else if (mla_on)
				n56_diag_add(d, r->path, pos,
					     "runtime.extra_args: %s with "
					     "multi-latent attention: MLA "
					     "excludes grouped-query attention;"
					     " remove it, or disable "
					     "model.attention.mla and DSA",
					     f);
			else
				n56_diag_add(d, r->path, pos,
					     "runtime.extra_args: %s is "
					     "generated from "
					     "model.attention.query_groups: "
					     "set it there",
					     f);
		}
	}
}

struct extra_report {
	const struct n56_recipe *r;
	struct n56_diags *d;
};

static void report_extra(void *ctx, size_t i, const char *why)
{
	const struct extra_report *x = ctx;
	const struct n56_strlist *e = &x->r->runtime.extra_args;

	n56_diag_add(x->d, x->r->path, e->item_pos ? e->item_pos[i] : e->pos,
		     "runtime.extra_args: %s", why);
}

/* extra_args as Megatron's argparse reads them (policy/megatron_args.c). */
static void rule_extra_args_grammar(const struct n56_recipe *r,
				    struct n56_diags *d)
{
	struct extra_report x = { r, d };

	n56_megatron_args_check(r->runtime.extra_args.v,
				r->runtime.extra_args.n, report_extra, &x);
}

static void rule_virtual_pipeline(const struct n56_recipe *r,
				  const struct n56_layout *l,
				  const struct n56_parallel *par,
				  struct n56_diags *d)
{
	if (par->vpp > 1 && par->pp <= 1) {
		n56_diag_add(d, r->path, r->parallel.vpp.pos,
			     "vpp %ld needs pp > 1 (virtual stages interleave "
			     "a pipeline): set vpp 1, or pp 2 or more",
			     par->vpp);
		return;
	}
	if (!l->tiled)
		return;
	if (par->pp > l->depth) {
		n56_diag_add(
			d, r->path, r->parallel.pp.pos,
			"pp %ld is more pipeline stages than the %d layers "
			"of the model: use pp %d or less",
			par->pp, l->depth, l->depth);
		return;
	}
	if (par->pp * par->vpp > l->depth)
		n56_diag_add(d, r->path, r->parallel.vpp.pos,
			     "pp %ld x vpp %ld = %ld pipeline segments exceed "
			     "the %d layers of the model: use vpp %ld or less",
			     par->pp, par->vpp, par->pp * par->vpp, l->depth,
			     l->depth / par->pp);
}

/* Engram has no native flag: its ordinals go to the patch surface, and a
 * wrong one would silently select no layer. */
static void rule_engram(const struct n56_recipe *r, const struct n56_layout *l,
			struct n56_diags *d)
{
	const struct n56_intlist *e = &r->model.attention.engram.a_layer_ranks;
	int na = l->counts[N56_A];

	if (!l->tiled || !e->n)
		return;
	if (!na) {
		n56_diag_add(
			d, r->path, e->pos,
			"model.attention.engram.a_layer_ranks: the pattern "
			"has no A layers: remove the list, or add A to "
			"model.pattern");
		return;
	}
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i] < 0 || e->v[i] >= na)
			n56_diag_add(
				d, r->path,
				e->item_pos ? e->item_pos[i] : e->pos,
				"model.attention.engram.a_layer_ranks: "
				"%ld is not an A ordinal: the pattern tiled "
				"to depth %d has %d A layer%s (ordinals 0 "
				"to %d)",
				e->v[i], l->depth, na, na == 1 ? "" : "s",
				na - 1);
}

static bool command_allowed(const struct n56_policy *p, const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	for (size_t i = 0; i < p->runtime.allowed_commands.n; i++) {
		const char *g = p->runtime.allowed_commands.v[i];

		if (g && (!fnmatch(g, argv0, 0) || !fnmatch(g, base, 0)))
			return true;
	}
	return false;
}

static void rule_command(const struct n56_recipe *r, const struct n56_policy *p,
			 struct n56_diags *d)
{
	const struct n56_strlist *cmd = &r->runtime.command;
	char list[512];
	size_t used = 0;

	if (!p || !p->runtime.allowed_commands.n)
		return;
	if (!cmd->n || !cmd->v[0]) {
		n56_diag_add(d, r->path, cmd->pos,
			     "runtime.command is empty: the site policy %s "
			     "requires a command it allows",
			     p->path);
		return;
	}
	if (command_allowed(p, cmd->v[0]))
		return;
	list[0] = '\0';
	for (size_t i = 0;
	     i < p->runtime.allowed_commands.n && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
				 i ? ", " : "",
				 p->runtime.allowed_commands.v[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	n56_diag_add(d, r->path, cmd->item_pos ? cmd->item_pos[0] : cmd->pos,
		     "runtime.command '%s' is not allowed by the site policy "
		     "(allowed: %s)",
		     cmd->v[0], list);
}

int n56_plan_validate(const struct n56_recipe *r, const struct n56_policy *p,
		      const struct n56_plan_request *req,
		      const struct n56_parallel *par,
		      const struct n56_layout *l, struct n56_diags *d)
{
	size_t before = d->n;
	bool mla_on = r->model.attention.mla.enabled.v || l->ndsa > 0;

	rule_command(r, p, d);
	{
		size_t seen = d->n;

		rule_extra_args(r, mla_on, d);
		if (d->n == seen) /* one message an arg */
			rule_extra_args_grammar(r, d);
	}
	rule_engram(r, l, d);
	/* The arithmetic rules divide by these sizes. */
	if (check_request(r, req, d) + check_sizes(r, d))
		return -1;
	rule_world(r, req, par, d);
	rule_expert_grid(r, req, par, d);
	rule_batch(r, par, d);
	rule_tp_heads(r, l, par, d);
	rule_mamba_groups(r, l, d);
	rule_context_parallel(r, par, d);
	rule_expert_parallel(r, par, d);
	rule_virtual_pipeline(r, l, par, d);
	rule_interleaved_schedule(r, par, d);
	rule_rank_order(r, par, d);
	rule_position_embedding(r, d);
	rule_bias_and_fusion(r, l, par, d);
	rule_kv_channels(r, l, d);
	rule_cp_comm(r, l, par, d);
	rule_router(r, l, d);
	rule_cuda_graphs(r, l, d);
	rule_memory_knobs(r, d);
	rule_node_software(r, p, l, d);
	return d->n > before ? -1 : 0;
}

/* Where an env value came from, for the message that refuses it. */
static void env_source(const struct n56_recipe *r, const struct n56_policy *p,
		       const struct n56_env_entry *e, const char **file,
		       struct n56_pos *pos)
{
	const struct n56_kvlist *kv = NULL;

	*file = r->path;
	pos->line = pos->col = 0;
	if (e->origin == N56_ORIGIN_RECIPE) {
		kv = &r->env;
	} else if (p && e->origin == N56_ORIGIN_SITE_PINNED) {
		kv = &p->env.pinned;
		*file = p->path;
	} else if (p && e->origin == N56_ORIGIN_SITE_DEFAULT) {
		kv = &p->env.defaults;
		*file = p->path;
	}
	for (size_t i = 0; kv && i < kv->n; i++)
		if (!strcmp(kv->v[i].name, e->name))
			*pos = kv->v[i].pos;
}

/* Requires name=want in env: a value set elsewhere is a violation that says
 * where it was set; a missing one is derived. */
static int require_env(const struct n56_recipe *r, const struct n56_policy *p,
		       struct n56_env *env, const char *name, const char *want,
		       const char *why, struct n56_diags *d)
{
	const struct n56_env_entry *e = n56_env_find(env, name);
	const char *file, *fix;
	struct n56_pos pos;

	if (!e)
		return n56_env_add(env, name, want, N56_ORIGIN_DERIVED, why);
	if (!strcmp(e->value, want))
		return 0;
	env_source(r, p, e, &file, &pos);
	switch (e->origin) {
	case N56_ORIGIN_SITE_PINNED:
		fix = "ask the site admin to change the pin, or change the "
		      "recipe";
		break;
	case N56_ORIGIN_SITE_DEFAULT:
		fix = "override the site default in the recipe's env";
		break;
	default:
		fix = "set it to that value, or remove it from env";
		break;
	}
	n56_diag_add(d, file, pos,
		     "env %s=%s (%s) must be \"%s\" because %s: %s", name,
		     e->value, n56_origin_name(e->origin), want, why, fix);
	return -1;
}

int n56_validate_env_couplings(const struct n56_recipe *r,
			       const struct n56_policy *p,
			       const struct n56_parallel *par,
			       struct n56_env *env, struct n56_diags *d)
{
	const char *impl = r->runtime.cuda_graphs.impl.v;
	const struct n56_env_entry *alloc;
	int rc = 0;

	if (par->tp > 1 || par->cp > 1)
		rc |= require_env(
			r, p, env, "CUDA_DEVICE_MAX_CONNECTIONS", "1",
			par->tp > 1
				? "tp>1 (Megatron asserts it before Blackwell)"
				: "cp>1 (Megatron asserts it before Blackwell)",
			d);
	alloc = n56_env_find(env, "PYTORCH_CUDA_ALLOC_CONF");
	if (impl && !strcmp(impl, "transformer_engine") && alloc &&
	    strstr(alloc->value, "expandable_segments:True"))
		rc |= require_env(r, p, env, "NCCL_GRAPH_REGISTER", "0",
				  "Transformer Engine CUDA graphs with "
				  "expandable_segments:True need it",
				  d);
	return rc ? -1 : 0;
}
