/* Cost model of NAM56R-family blocks: FLOPs per token, forward + backward,
 * and parameter counts, from the recipe's dimensions.
 *
 * Conventions (also in nam56r.yaml(5), PIPELINE LAYOUT):
 * - A matrix product of an [in] vector by an [in x out] weight is in*out
 *   multiply-adds (MACs) per token; forward FLOPs = 2 * MACs.
 * - Backward costs twice the forward (gradients of inputs and of weights),
 *   so forward + backward = 3 * forward = 6 * MACs.
 * - Norms, activations, biases, residual adds, rotary embedding and
 *   routing/top-k selection are left out: they are memory-bound and small
 *   next to the products counted here.
 * - Attention is causal: query i sees i keys, so a sequence of s tokens
 *   averages (s + 1) / 2 keys per query; a DSA layer sees min(i, topk).
 * - Unset dimensions take Megatron's defaults: kv_channels = hidden / heads,
 *   query_groups = heads, Mamba head_dim = 2 * hidden / heads (expand 2),
 *   MoE ffn = ffn_hidden_size. */
#include "policy/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* forward + backward FLOPs of `macs` multiply-adds */
#define FWD_BWD_FLOPS(macs) (6.0 * (macs))
/* Megatron's Mamba causal conv1d width (d_conv) */
#define MAMBA_CONV_WIDTH 4.0
/* Cross-entropy forward per vocabulary entry: max, subtract, exp, sum,
 * and the log of the target: about five FLOPs. */
#define CE_FLOPS_PER_VOCAB 5.0

static double dim(const struct n56_int *i)
{
	return i->v > 0 ? (double)i->v : 0.0;
}

/* Average keys per query of a causal sequence of s tokens, each query
 * seeing at most `window` keys (window <= 0: unlimited). */
static double causal_keys(double s, double window)
{
	if (s <= 0)
		return 0;
	if (window <= 0 || window >= s)
		return (s + 1) / 2;
	/* sum_{i=1..s} min(i, k) = k(k+1)/2 + (s-k)k */
	return (window * (window + 1) / 2 + (s - window) * window) / s;
}

static double seq_len(const struct n56_recipe *r)
{
	return dim(&r->batch.seq_length);
}

/* The projections of an A block, in MACs per token (= parameters), and
 * the per-key cost of its score and value products. */
static void attention_shape(const struct n56_recipe *r, double *proj,
			    double *per_key)
{
	double h = dim(&r->model.hidden_size);
	double heads = dim(&r->model.attention.heads);

	if (r->model.attention.mla.enabled.v) {
		/* MLA: queries through a low-rank latent (when q_lora_rank
		 * is set), keys/values through the kv latent plus the shared
		 * rotary key; up-projections per head. */
		double qr = dim(&r->model.attention.mla.q_lora_rank);
		double kr = dim(&r->model.attention.mla.kv_lora_rank);
		double dn = dim(&r->model.attention.mla.qk_head_dim);
		double dr = dim(&r->model.attention.mla.qk_pos_emb_head_dim);
		double dv = dim(&r->model.attention.mla.v_head_dim);
		double q = qr > 0 ? h * qr + qr * heads * (dn + dr)
				  : h * heads * (dn + dr);

		*proj = q + h * (kr + dr) + kr * heads * (dn + dv) +
			heads * dv * h;
		*per_key = heads * (dn + dr) + heads * dv;
	} else {
		double d = dim(&r->model.attention.kv_channels);
		double g = dim(&r->model.attention.query_groups);

		if (d <= 0 && heads > 0)
			d = h / heads;
		if (g <= 0)
			g = heads;
		*proj = h * heads * d + 2 * h * g * d + heads * d * h;
		*per_key = 2 * heads * d;
	}
}

struct n56_block_cost n56_cost_attention(const struct n56_recipe *r, bool dsa)
{
	struct n56_block_cost c = { 0, 0 };
	double proj, per_key, s = seq_len(r), keys;

	attention_shape(r, &proj, &per_key);
	keys = causal_keys(s, 0);
	c.params = proj;
	if (dsa) {
		/* DSA: the main attention reads only the top-k keys; the
		 * lightning indexer scores every causal key with its own
		 * small heads (queries from the q latent when there is one,
		 * one shared key, per-head weights from the hidden state). */
		double h = dim(&r->model.hidden_size);
		double ih = dim(&r->model.attention.dsa.indexer_heads);
		double id = dim(&r->model.attention.dsa.indexer_head_dim);
		double qr = r->model.attention.mla.enabled.v
				    ? dim(&r->model.attention.mla.q_lora_rank)
				    : 0;
		double iproj = (qr > 0 ? qr : h) * ih * id + h * id + h * ih;

		keys = causal_keys(s, dim(&r->model.attention.dsa.topk));
		c.params += iproj;
		proj += iproj + ih * id * causal_keys(s, 0);
	}
	c.flops = FWD_BWD_FLOPS(proj + per_key * keys);
	return c;
}

struct n56_block_cost n56_cost_mamba(const struct n56_recipe *r)
{
	struct n56_block_cost c;
	double h = dim(&r->model.hidden_size);
	double nh = dim(&r->model.mamba.heads);
	double p = dim(&r->model.mamba.head_dim);
	double g = dim(&r->model.mamba.groups);
	double n = dim(&r->model.mamba.state_dim);
	double di, in_proj, conv;

	if (p <= 0 && nh > 0)
		p = 2 * h / nh;
	if (g <= 0)
		g = 1;
	di = nh * p;
	/* in_proj makes z and x (d_inner each), B and C (groups x state)
	 * and dt (one per head); the conv runs over x, B and C. */
	in_proj = h * (2 * di + 2 * g * n + nh);
	conv = MAMBA_CONV_WIDTH * (di + 2 * g * n);
	/* The scan: each head's (head_dim x state) state is decayed and
	 * updated by x B^T, then read by C: 2 * d_inner * state MACs. */
	c.flops = FWD_BWD_FLOPS(in_proj + conv + 2 * di * n + di * h);
	/* + A, D and dt bias per head, the gated norm over d_inner */
	c.params = in_proj + conv + 3 * nh + di + di * h;
	return c;
}

struct n56_block_cost n56_cost_moe(const struct n56_recipe *r)
{
	struct n56_block_cost c;
	double h = dim(&r->model.hidden_size);
	double ex = dim(&r->model.moe.experts);
	double k = dim(&r->model.moe.topk);
	double fe = dim(&r->model.moe.ffn_hidden_size);
	double fs = dim(&r->model.moe.shared_expert_size);

	if (fe <= 0)
		fe = dim(&r->model.ffn_hidden_size);
	if (ex <= 0) {
		/* no experts: the block is a dense SwiGLU MLP */
		c.params = 3 * h * dim(&r->model.ffn_hidden_size);
		c.flops = FWD_BWD_FLOPS(c.params);
		return c;
	}
	if (k <= 0 || k > ex)
		k = k > ex ? ex : 1;
	/* router, then top-k SwiGLU experts (gate, up, down), then the
	 * shared expert every token passes through. Every expert's weights
	 * are held; MoD's skipped tokens are not modelled (capacity is a
	 * runtime choice). */
	c.flops = FWD_BWD_FLOPS(h * ex + k * 3 * h * fe + 3 * h * fs);
	c.params = h * ex + ex * 3 * h * fe + 3 * h * fs;
	return c;
}

struct n56_block_cost n56_cost_recurrent(const struct n56_recipe *r)
{
	struct n56_block_cost c;
	double h = dim(&r->model.hidden_size);
	double n = dim(&r->model.recurrent.state_dim);

	/* An M2RNN-style mixer: query, key, value and forget-gate input
	 * projections and an output projection (5 h^2), and per token a
	 * matrix state of h/n heads x (n x n): transition product, k v^T
	 * update and query readout, n^2 MACs each per head = 3 h n. */
	c.flops = FWD_BWD_FLOPS(5 * h * h + 3 * h * n);
	c.params = 5 * h * h + h * n;
	return c;
}

struct n56_block_cost n56_cost_embedding(const struct n56_recipe *r)
{
	struct n56_block_cost c;
	double h = dim(&r->model.hidden_size);

	/* A row gather: no products; count the copy of h values forward
	 * and the scatter-add of their gradient backward. Its weight of
	 * vocab x hidden is what matters, in memory. */
	c.flops = 3 * h;
	c.params = dim(&r->model.vocab_size) * h;
	return c;
}

struct n56_block_cost n56_cost_output(const struct n56_recipe *r)
{
	struct n56_block_cost c;
	double h = dim(&r->model.hidden_size);
	double v = dim(&r->model.vocab_size);

	/* logits (h x vocab) and cross-entropy over the vocabulary; the
	 * output weight is untied from the embedding on a pipeline */
	c.flops = FWD_BWD_FLOPS(h * v) + 3 * CE_FLOPS_PER_VOCAB * v;
	c.params = h * v;
	return c;
}

/* Cost of one block letter of an MTP depth: no DSA there (Megatron builds
 * MTP layers from the plain attention spec). */
static struct n56_block_cost mtp_block(const struct n56_recipe *r, char ch)
{
	struct n56_block_cost z = { 0, 0 };

	switch (ch) {
	case 'A':
		return n56_cost_attention(r, false);
	case 'E':
		return n56_cost_moe(r);
	case 'M':
		return n56_cost_mamba(r);
	default:
		return z;
	}
}

static bool override_set(const struct n56_recipe *r, int fam)
{
	return r->layout.cost[fam].text != NULL;
}

struct n56_block_cost n56_cost_mtp_depth(const struct n56_recipe *r)
{
	struct n56_block_cost c = { 0, 0 }, out = n56_cost_output(r);
	double h = dim(&r->model.hidden_size);
	const char *p = r->model.mtp.pattern.v;

	/* DeepSeek-style depth: norms, [hidden ; embedding of the next
	 * token] projected 2h -> h, its layers, then the shared output
	 * layer and its own loss. The output weight is shared, so only
	 * the projection and the layers add parameters. */
	c.flops = FWD_BWD_FLOPS(2 * h * h) + out.flops;
	c.params = 2 * h * h;
	for (; p && *p; p++) {
		struct n56_block_cost b = mtp_block(r, *p);
		int fam = n56_family_of(*p);

		if (fam >= 0 && override_set(r, fam))
			b.flops = r->layout.cost[fam].v;
		c.flops += b.flops;
		c.params += b.params;
	}
	return c;
}

static bool is_dsa(const struct n56_layout *l, int a_ordinal)
{
	for (int i = 0; i < l->ndsa; i++)
		if (l->dsa_a_layer_ranks[i] == a_ordinal)
			return true;
	return false;
}

static const char *const family_key[N56_NFAMILIES] = { "A", "E", "M", "R" };

int n56_layer_costs_build(const struct n56_recipe *r,
			  const struct n56_layout *l, struct n56_layer_costs *c,
			  struct n56_diags *d)
{
	struct n56_block_cost fam[N56_NFAMILIES], dsa;
	size_t errs = d->n;
	int a_ordinal = 0;

	memset(c, 0, sizeof(*c));
	/* Overrides are measured figures in the model's own unit (FLOPs per
	 * token, forward + backward), so they mix with the modelled ones. */
	for (int f = 0; f < N56_NFAMILIES; f++) {
		const struct n56_num *o = &r->layout.cost[f];

		if (o->text && !(isfinite(o->v) && o->v > 0))
			n56_diag_add(d, r->path, o->pos,
				     "layout.cost.%s is %s: give a positive "
				     "number of FLOPs per token (forward + "
				     "backward) for one %s block",
				     family_key[f], o->text, family_key[f]);
	}
	if (d->n > errs)
		return -1;
	fam[N56_A] = n56_cost_attention(r, false);
	dsa = n56_cost_attention(r, true);
	fam[N56_E] = n56_cost_moe(r);
	fam[N56_M] = n56_cost_mamba(r);
	fam[N56_R] = n56_cost_recurrent(r);
	for (int f = 0; f < N56_NFAMILIES; f++) {
		if (!override_set(r, f))
			continue;
		fam[f].flops = r->layout.cost[f].v;
		if (f == N56_A)
			dsa.flops = r->layout.cost[f].v;
	}

	c->depth = l->depth;
	c->flops = calloc(l->depth > 0 ? l->depth : 1, sizeof(double));
	c->params = calloc(l->depth > 0 ? l->depth : 1, sizeof(double));
	if (!c->flops || !c->params) {
		n56_diag_add(d, r->path, (struct n56_pos){ 0, 0 },
			     "out of memory in the cost model");
		n56_layer_costs_free(c);
		return -1;
	}
	for (int i = 0; i < l->depth; i++) {
		int f = n56_family_of(l->tiled[i]);
		struct n56_block_cost b;

		if (f < 0) {
			n56_diag_add(d, r->path, r->model.pattern.pos,
				     "layer %d has unknown block letter '%c': "
				     "use A, E, M or R",
				     i + 1, l->tiled[i]);
			n56_layer_costs_free(c);
			return -1;
		}
		b = fam[f];
		if (f == N56_A && is_dsa(l, a_ordinal++))
			b = dsa;
		c->flops[i] = b.flops;
		c->params[i] = b.params;
		c->total_params += b.params;
	}
	c->first = n56_cost_embedding(r);
	c->last = n56_cost_output(r);
	for (long k = 0; k < r->model.mtp.depths.v; k++) {
		struct n56_block_cost m = n56_cost_mtp_depth(r);

		c->last.flops += m.flops;
		c->last.params += m.params;
	}
	c->total_params += c->first.params + c->last.params;
	return 0;
}

void n56_layer_costs_free(struct n56_layer_costs *c)
{
	if (!c)
		return;
	free(c->flops);
	free(c->params);
	c->flops = c->params = NULL;
}
