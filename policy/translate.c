/* The generated native args: the recipe as Megatron-LM flags, and nothing
 * else. Env never goes into argv (it is the fixed policy's surface), and
 * there is no VPP flag: the `|` segments of the hybrid pattern carry it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/plan.h"

struct argv_builder {
	char **v;
	size_t n, cap;
	bool oom;
};

static void push(struct argv_builder *b, const char *s)
{
	char *dup;

	if (b->oom)
		return;
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char **v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			b->oom = true;
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	dup = strdup(s);
	if (!dup) {
		b->oom = true;
		return;
	}
	b->v[b->n++] = dup;
	b->v[b->n] = NULL;
}

static void push_long(struct argv_builder *b, const char *flag, long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", v);
	push(b, flag);
	push(b, num);
}

/* Optional integer: only when the recipe gives a positive value. */
static void push_opt(struct argv_builder *b, const char *flag,
		     const struct n56_int *v)
{
	if (v->v > 0)
		push_long(b, flag, v->v);
}

static void push_str(struct argv_builder *b, const char *flag,
		     const struct n56_str *v)
{
	if (!v->v)
		return;
	push(b, flag);
	push(b, v->v);
}

static void push_num(struct argv_builder *b, const char *flag,
		     const struct n56_num *v)
{
	if (!v->text)
		return;
	push(b, flag);
	push(b, v->text);
}

/* DSA's absorbed MLA has no fused RoPE kernel: off with DSA unless the
 * recipe says otherwise (then validate refuses it). */
bool n56_rope_fusion_on(const struct n56_recipe *r, const struct n56_layout *l)
{
	if (r->model.rope_fusion.set)
		return r->model.rope_fusion.v;
	return l->ndsa == 0;
}

/* DSA's indexer needs the whole sequence: all-gather context parallelism. */
const char *n56_cp_comm_type(const struct n56_recipe *r,
			     const struct n56_layout *l)
{
	if (r->parallel.cp_comm_type.v)
		return r->parallel.cp_comm_type.v;
	return l->ndsa ? "allgather" : "p2p";
}

/* Top-1 softmax routing needs the softmax before the top-k (a softmax over
 * one score has a zero gradient); sinkhorn routes otherwise. */
bool n56_router_pre_softmax(const struct n56_recipe *r)
{
	const typeof(r->model.moe) *moe = &r->model.moe;

	if (moe->router_pre_softmax.set)
		return moe->router_pre_softmax.v;
	return moe->topk.v == 1 && moe->router_score_function.v &&
	       !strcmp(moe->router_score_function.v, "softmax") &&
	       !(moe->load_balancing.v &&
		 !strcmp(moe->load_balancing.v, "sinkhorn"));
}

static void translate_parallel(struct argv_builder *b,
			       const struct n56_recipe *r,
			       const struct n56_layout *l,
			       const struct n56_parallel *par)
{
	push_long(b, "--tensor-model-parallel-size", par->tp);
	push_long(b, "--pipeline-model-parallel-size", par->pp);
	push_long(b, "--context-parallel-size", par->cp);
	push_long(b, "--expert-model-parallel-size", par->ep);
	push_long(b, "--expert-tensor-parallel-size", par->etp);
	if (par->sequence_parallel)
		push(b, "--sequence-parallel");
	if (par->pp_before_dp)
		push(b, "--use-tp-pp-dp-mapping");
	if (par->cp > 1) {
		push(b, "--cp-comm-type");
		push(b, n56_cp_comm_type(r, l));
	}
}

static void translate_model(struct argv_builder *b, const struct n56_recipe *r,
			    const struct n56_layout *l)
{
	const typeof(r->model.attention) *at = &r->model.attention;
	/* `D` or `+` in the pattern turn multi-latent attention on. */
	bool mla_on = strchr(l->native_pattern, 'D') ||
		      strchr(l->native_pattern, '+');

	push_long(b, "--micro-batch-size", r->batch.micro_batch_size.v);
	push_long(b, "--global-batch-size", r->batch.global_batch_size.v);
	push_long(b, "--seq-length", r->batch.seq_length.v);
	push_long(b, "--max-position-embeddings", r->batch.seq_length.v);

	push_opt(b, "--hidden-size", &r->model.hidden_size);
	push_opt(b, "--ffn-hidden-size", &r->model.ffn_hidden_size);
	push_opt(b, "--num-attention-heads", &at->heads);
	push_opt(b, "--kv-channels", &at->kv_channels);
	push_opt(b, "--vocab-size", &r->model.vocab_size);
	push_str(b, "--position-embedding-type", &r->model.position_embedding);
	if (!r->model.linear_bias.v)
		push(b, "--disable-bias-linear");
	if (!n56_rope_fusion_on(r, l))
		push(b, "--no-rope-fusion");
	if (!mla_on && at->query_groups.v > 0 &&
	    at->query_groups.v < at->heads.v) {
		push(b, "--group-query-attention");
		push_long(b, "--num-query-groups", at->query_groups.v);
	}
	if (mla_on) {
		push(b, "--multi-latent-attention");
		push_opt(b, "--q-lora-rank", &at->mla.q_lora_rank);
		push_opt(b, "--kv-lora-rank", &at->mla.kv_lora_rank);
		push_opt(b, "--qk-head-dim", &at->mla.qk_head_dim);
		push_opt(b, "--qk-pos-emb-head-dim",
			 &at->mla.qk_pos_emb_head_dim);
		push_opt(b, "--v-head-dim", &at->mla.v_head_dim);
	}
	if (l->ndsa) {
		push_opt(b, "--dsa-indexer-n-heads", &at->dsa.indexer_heads);
		push_opt(b, "--dsa-indexer-head-dim",
			 &at->dsa.indexer_head_dim);
		push_opt(b, "--dsa-indexer-topk", &at->dsa.topk);
		push_str(b, "--dsa-kernel-backend", &at->dsa.backend);
	}
	if (strchr(l->native_pattern, 'M')) {
		push_opt(b, "--mamba-num-heads", &r->model.mamba.heads);
		push_opt(b, "--mamba-num-groups", &r->model.mamba.groups);
		push_opt(b, "--mamba-state-dim", &r->model.mamba.state_dim);
		push_opt(b, "--mamba-head-dim", &r->model.mamba.head_dim);
	}
}

static void translate_moe(struct argv_builder *b, const struct n56_recipe *r,
			  const struct n56_layout *l)
{
	const typeof(r->model.moe) *moe = &r->model.moe;

	if (!l->counts[N56_E])
		return;
	push_opt(b, "--num-experts", &moe->experts);
	push_opt(b, "--moe-router-topk", &moe->topk);
	push_opt(b, "--moe-ffn-hidden-size", &moe->ffn_hidden_size);
	push_opt(b, "--moe-shared-expert-intermediate-size",
		 &moe->shared_expert_size);
	push_str(b, "--moe-token-dispatcher-type", &moe->dispatcher);
	if (moe->grouped_gemm.v)
		push(b, "--moe-grouped-gemm");
	push_str(b, "--moe-router-load-balancing-type", &moe->load_balancing);
	push_num(b, "--moe-aux-loss-coeff", &moe->aux_loss_coeff);
	push_str(b, "--moe-router-score-function", &moe->router_score_function);
	if (n56_router_pre_softmax(r))
		push(b, "--moe-router-pre-softmax");
}

static void translate_runtime(struct argv_builder *b,
			      const struct n56_recipe *r)
{
	const typeof(r->runtime.cuda_graphs) *cg = &r->runtime.cuda_graphs;

	/* The depth is carried by the pattern's `/` suffix. */
	if (r->model.mtp.depths.v > 0)
		push_num(b, "--mtp-loss-scaling-factor",
			 &r->model.mtp.loss_scaling_factor);
	if (cg->impl.v && strcmp(cg->impl.v, "none")) {
		push(b, "--cuda-graph-impl");
		push(b, cg->impl.v);
		if (cg->modules.n) {
			push(b, "--cuda-graph-modules");
			for (size_t i = 0; i < cg->modules.n; i++)
				push(b, cg->modules.v[i]);
		}
		push_opt(b, "--cuda-graph-warmup-steps", &cg->warmup_steps);
		/* A full-iteration graph cannot hold the NaN check's sync. */
		if (!strcmp(cg->impl.v, "full_iteration"))
			push(b, "--no-check-for-nan-in-loss-and-grad");
	}
}

/* The memory knobs (nam56r.yaml(5), MEMORY); nothing when unset. */
static void translate_memory(struct argv_builder *b, const struct n56_recipe *r)
{
	const typeof(r->memory) *m = &r->memory;

	if (m->recompute.v && !strcmp(m->recompute.v, "selective")) {
		push(b, "--recompute-granularity");
		push(b, "selective");
	} else if (m->recompute.v && !strcmp(m->recompute.v, "full")) {
		push(b, "--recompute-granularity");
		push(b, "full");
		push(b, "--recompute-method");
		push(b, "uniform");
		push_long(b, "--recompute-num-layers", m->recompute_layers.v);
	}
	if (m->distributed_optimizer.v)
		push(b, "--use-distributed-optimizer");
	push_str(b, "--attention-backend", &m->attention_backend);
	push_str(b, "--transformer-impl", &m->transformer_impl);
}

int n56_plan_translate(const struct n56_recipe *r,
		       const struct n56_parallel *par,
		       const struct n56_layout *l, char ***argv, size_t *argc)
{
	struct argv_builder b = { 0 };

	*argv = NULL;
	*argc = 0;
	if (!l->native_pattern)
		return -1;
	translate_parallel(&b, r, l, par);
	translate_model(&b, r, l);
	translate_moe(&b, r, l);
	translate_runtime(&b, r);
	translate_memory(&b, r);
	push(&b, "--hybrid-layer-pattern");
	push(&b, l->native_pattern);
	for (size_t i = 0; i < r->runtime.extra_args.n; i++)
		push(&b, r->runtime.extra_args.v[i]);
	if (!b.v) /* never: the parallel sizes are always there */
		b.oom = true;
	if (b.oom) {
		n56_argv_free(b.v);
		return -1;
	}
	*argv = b.v;
	*argc = b.n;
	return 0;
}

void n56_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}
