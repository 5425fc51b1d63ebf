/* Per-rank GPU memory model. Every term and its formula is documented in
 * nam56r.yaml(5), section MEMORY; the names below follow it.
 *
 * Units: bytes. s = seq_length / cp tokens of a sequence on a rank, b =
 * micro_batch_size, T = s * b, h = hidden_size, t = tp; "rep(x)" is x / t
 * with sequence parallelism and x without it (norms, dropout masks and the
 * inputs of column-parallel products), "shard(x)" is x / t. */
#include "config.h"

#include "policy/memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cost.h"
#include "policy/partition.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define GB 1e9
/* Allowance (nam56r.yaml(5), MEMORY): the CUDA context with cuBLAS's
 * workspaces, NCCL's buffers per process group of more than one rank,
 * and the caching allocator's fragmentation as a share of the peak. */
#define CUDA_CONTEXT_BYTES (0.75 * GIB)
#define NCCL_GROUP_BYTES (0.25 * GIB)
#define FRAGMENTATION 0.05
/* Megatron's default attention dropout (the unfused path keeps a mask). */
#define ATTENTION_DROPOUT_ON 1
/* Mamba's chunked scan keeps one fp32 state per chunk of this many
 * tokens (Megatron's chunk_size); the recurrent mixer one per 64. */
#define MAMBA_CHUNK 256.0
#define RECURRENT_CHUNK 64.0

static const char *const term_names[N56_MEM_NTERMS] = {
	"weights",     "master",    "grads",  "optimizer",
	"activations", "embedding", "logits", "allowance",
};

const char *n56_mem_term_name(enum n56_mem_term t)
{
	return (unsigned)t < N56_MEM_NTERMS ? term_names[t] : "?";
}

const char *n56_mem_verdict_name(enum n56_mem_verdict v)
{
	switch (v) {
	case N56_MEM_FITS:
		return "fits";
	case N56_MEM_TIGHT:
		return "tight";
	default:
		return "over";
	}
}

void n56_mem_inflight(int pp, int vpp, int rank, long m, double *out)
{
	long total, warm;

	for (int c = 0; c < vpp; c++)
		out[c] = 0;
	if (pp <= 1 || vpp <= 1) {
		/* 1F1B: pp - rank - 1 warm-up forwards, then one more before
		 * the first backward; never more than the microbatches. */
		long held = pp - rank;

		out[0] = (double)(held < m ? held : m);
		if (out[0] < 1)
			out[0] = 1;
		return;
	}
	/* Interleaved: get_pp_rank_microbatches' warm-up count with the
	 * group size pp, plus the first 1F1B forward; forward k runs model
	 * chunk (k / pp) % vpp. */
	total = m * vpp;
	warm = (long)(pp - rank - 1) * 2 + (long)(vpp - 1) * pp + 1;
	if (warm > total)
		warm = total;
	for (long k = 0; k < warm; k++)
		out[(k / pp) % vpp] += 1;
}

static double dim(const struct n56_int *i)
{
	return i->v > 0 ? (double)i->v : 0.0;
}

struct shape {
	double T, s, b, h, t, sp, cp, etp;
	double norm; /* bytes per token one norm keeps (see act_norm) */
	double vocab;
	bool scores;	/* the attention kernel keeps the score matrix */
	bool selective; /* core attention recomputed */
};

static double rep(const struct shape *g, double x)
{
	return g->sp ? x / g->t : x;
}

static double shard(const struct shape *g, double x)
{
	return x / g->t;
}

/* Activations of one A block for one microbatch. */
static double act_attention(const struct n56_recipe *r, const struct shape *g,
			    bool dsa)
{
	double h = g->h, T = g->T;
	double nq = dim(&r->model.attention.heads);
	double a;

	/* norm input, the projections' input, the output dropout mask */
	a = rep(g, T * (g->norm + 2 * h + 1 * h));
	if (r->model.attention.mla.enabled.v) {
		double qr = dim(&r->model.attention.mla.q_lora_rank);
		double kr = dim(&r->model.attention.mla.kv_lora_rank);
		double dn = dim(&r->model.attention.mla.qk_head_dim);
		double dr = dim(&r->model.attention.mla.qk_pos_emb_head_dim);
		double dv = dim(&r->model.attention.mla.v_head_dim);

		/* the latents and their norms (replicated), then per head
		 * q and k (with the rotary part), v and the context */
		a += T * 2 * (2 * qr + 2 * (kr + dr));
		a += shard(g, T * 2 * nq * (2 * (dn + dr) + 2 * dv));
	} else {
		double d = dim(&r->model.attention.kv_channels);
		double ng = dim(&r->model.attention.query_groups);

		if (d <= 0 && nq > 0)
			d = h / nq;
		if (ng <= 0)
			ng = nq;
		/* q, k, v, the context (the output projection's input) */
		a += shard(g, T * 2 * (nq * d + 2 * ng * d + nq * d));
	}
	if (g->scores && !g->selective)
		/* softmax output (2), dropout mask (1), its output (2) per
		 * score; causal or not, the kernel stores all s x s */
		a += shard(g, (ATTENTION_DROPOUT_ON ? 5.0 : 2.0) * g->b * nq *
				      g->s * g->s);
	else
		/* flash/fused: the fp32 log-sum-exp of each query row */
		a += shard(g, T * nq * 4);
	if (dsa) {
		double ih = dim(&r->model.attention.dsa.indexer_heads);
		double id = dim(&r->model.attention.dsa.indexer_head_dim);
		double k = dim(&r->model.attention.dsa.topk);

		/* indexer q, its key, fp32 head weights, int64 top-k ids */
		a += T * (2 * ih * id + 2 * id + 4 * ih + 8 * k);
	}
	return a;
}

/* Activations of one E block (MoE, or a dense SwiGLU MLP). */
static double act_moe(const struct n56_recipe *r, const struct shape *g)
{
	double h = g->h, T = g->T;
	double ex = dim(&r->model.moe.experts);
	double k = dim(&r->model.moe.topk);
	double fe = dim(&r->model.moe.ffn_hidden_size);
	double fs = dim(&r->model.moe.shared_expert_size);
	double etp = g->etp;
	double a = rep(g, T * (g->norm + 2 * h + 1 * h));

	if (ex <= 0)
		/* fc1 output (2F) and fc2 input (F), bf16: Megatron's
		 * SwiGLU (bias-swiglu fusion, on by default) keeps only its
		 * input */
		return a + shard(g, T * 6 * dim(&r->model.ffn_hidden_size));
	if (fe <= 0)
		fe = dim(&r->model.ffn_hidden_size);
	if (k <= 0 || k > ex)
		k = k > ex ? ex : 1;
	/* router and dispatch: fp32 scores, the bool routing map and its
	 * bf16 probabilities per expert (7 E per token); per routed token
	 * the int64 top-k ids, sort map and permutation (24), the fp32 and
	 * bf16 probabilities (6) */
	a += T * ex * 7 + T * k * 30;
	/* per routed token: the permuted input (2h), fc1 output and fc2
	 * input (6 Fe / etp); the probabilities are applied inside the
	 * experts, so their outputs are not kept */
	a += T * k * (2 * h + 6 * fe / etp);
	if (fs > 0)
		a += shard(g, T * 6 * fs);
	return a;
}

static double act_mamba(const struct n56_recipe *r, const struct shape *g)
{
	double h = g->h, T = g->T;
	double nh = dim(&r->model.mamba.heads);
	double p = dim(&r->model.mamba.head_dim);
	double gr = dim(&r->model.mamba.groups);
	double n = dim(&r->model.mamba.state_dim);
	double di;

	if (p <= 0 && nh > 0)
		p = 2 * h / nh;
	if (gr <= 0)
		gr = 1;
	di = nh * p;
	/* in_proj output (z, x, B, C, dt), conv output, fp32 dt, the scan
	 * output, the gated norm's input pair, out_proj input, and one fp32
	 * state (nh x p x n) per chunk */
	return rep(g, T * (g->norm + 3 * h)) +
	       shard(g, T * (2 * (2 * di + 2 * gr * n + nh) +
			     2 * (di + 2 * gr * n) + 4 * nh + 2 * di + 4 * di +
			     2 * di) +
				4 * di * n * T / MAMBA_CHUNK);
}

static double act_recurrent(const struct n56_recipe *r, const struct shape *g)
{
	double h = g->h, T = g->T, n = dim(&r->model.recurrent.state_dim);

	/* q, k, v, forget inputs, the output projection's input, one fp32
	 * matrix state (h/n heads of n x n) per chunk */
	return rep(g, T * (g->norm + 3 * h)) +
	       shard(g,
		     T * (2 * 4 * h + 2 * h) + 4 * h * n * T / RECURRENT_CHUNK);
}

static double act_block(const struct n56_recipe *r, const struct shape *g,
			char ch, bool dsa)
{
	switch (ch) {
	case 'A':
		return act_attention(r, g, dsa);
	case 'E':
		return act_moe(r, g);
	case 'M':
		return act_mamba(r, g);
	case 'R':
		return act_recurrent(r, g);
	default:
		return 0;
	}
}

/* Parameters of one block, split by how they are held. */
struct params {
	double tp;     /* split over tp */
	double rep;    /* replicated (norms, router) */
	double expert; /* split over ep x etp */
};

static void block_params(const struct n56_recipe *r, char ch, bool dsa,
			 struct params *p)
{
	double h = dim(&r->model.hidden_size);
	double ex = dim(&r->model.moe.experts);

	p->rep += h; /* the block's pre-norm */
	switch (ch) {
	case 'A':
		p->tp += n56_cost_attention(r, dsa).params;
		break;
	case 'E':
		if (ex > 0) {
			double fe = dim(&r->model.moe.ffn_hidden_size);
			double fs = dim(&r->model.moe.shared_expert_size);

			if (fe <= 0)
				fe = dim(&r->model.ffn_hidden_size);
			p->expert += ex * 3 * h * fe;
			p->tp += 3 * h * fs;
			p->rep += h * ex;
		} else {
			p->tp += 3 * h * dim(&r->model.ffn_hidden_size);
		}
		break;
	case 'M':
		p->tp += n56_cost_mamba(r).params;
		break;
	case 'R':
		p->tp += n56_cost_recurrent(r).params;
		break;
	default:
		break;
	}
}

static bool is_dsa(const struct n56_layout *l, int a_ordinal)
{
	for (int i = 0; i < l->ndsa; i++)
		if (l->dsa_a_layer_ranks[i] == a_ordinal)
			return true;
	return false;
}

static bool str_is(const struct n56_str *s, const char *v)
{
	return s->v && !strcmp(s->v, v);
}

static double policy_num(const struct n56_num *n, double dflt)
{
	return n->text ? n->v : dflt;
}

/* The capacity one partition gets: its policy entry, else the policy's
 * default, else the recipe's; 0 when none says. */
static double partition_capacity(const struct n56_recipe *r,
				 const struct n56_policy *p, const char *name,
				 size_t len, const char **source,
				 const char **entry)
{
	*entry = NULL;
	for (size_t i = 0; p && name && i < p->memory.partitions.n; i++) {
		const char *n = p->memory.partitions.v[i].name;

		if (strlen(n) == len && !strncmp(n, name, len)) {
			*source = "policy partition";
			*entry = n;
			return strtod(p->memory.partitions.v[i].value, NULL) *
			       GB;
		}
	}
	if (p && p->memory.gpu_memory_gb.text) {
		*source = "policy";
		return p->memory.gpu_memory_gb.v * GB;
	}
	if (r->memory.gpu_memory_gb.text) {
		*source = "recipe";
		return r->memory.gpu_memory_gb.v * GB;
	}
	*source = "unknown";
	return 0;
}

/* The node's NVML total, else the job's partition: a list "a,b" (the job
 * may start in any of them) gets the smallest capacity any of its
 * partitions has; one without an entry has the policy's default. */
static void capacity_of(const struct n56_recipe *r, const struct n56_policy *p,
			const struct n56_mem_capacity_in *cap,
			struct n56_memory *m)
{
	const char *list = cap && cap->partition ? cap->partition : "";

	m->capacity = 0;
	m->capacity_source = "unknown";
	m->capacity_partition = NULL;
	if (cap && cap->node_bytes > 0) {
		m->capacity = cap->node_bytes;
		m->capacity_source = "node";
		return;
	}
	for (bool any = false;; list++) {
		size_t len = strcspn(list, ",");
		const char *source, *entry;
		double c;

		/* each name of the list ("a,,b": two); none: the default */
		if (len || (!*list && !any)) {
			c = partition_capacity(r, p, len ? list : NULL, len,
					       &source, &entry);
			any = true;
			if (c > 0 && (m->capacity <= 0 || c < m->capacity)) {
				m->capacity = c;
				m->capacity_source = source;
				m->capacity_partition = entry;
			}
		}
		list += len;
		if (!*list)
			break;
	}
}

static int nccl_groups(const struct n56_parallel *par)
{
	long sizes[] = { par->tp, par->pp, par->dp, par->ep, par->cp };
	int n = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		n += sizes[i] > 1;
	return n;
}

int n56_memory_build(const struct n56_recipe *r, const struct n56_policy *p,
		     const struct n56_parallel *par, const struct n56_layout *l,
		     const struct n56_mem_capacity_in *cap,
		     struct n56_memory *m, struct n56_diags *d)
{
	int pp = (int)par->pp, vpp = (int)par->vpp;
	struct shape g;
	double cpv = par->cp > 0 ? (double)par->cp : 1;
	double tpv = par->tp > 0 ? (double)par->tp : 1;
	double epv =
		(par->ep > 0 ? par->ep : 1) * (par->etp > 0 ? par->etp : 1);
	double dpv = par->dp > 0
			     ? (double)(par->dp * (par->cp > 0 ? par->cp : 1))
			     : 1;
	double edp =
		par->world > 0 ? par->world / (epv * (pp > 0 ? pp : 1)) : 1;
	bool distopt = r->memory.distributed_optimizer.v;
	bool full = str_is(&r->memory.recompute, "full");
	bool local_impl = str_is(&r->memory.transformer_impl, "local");
	double chunk_layers = r->memory.recompute_layers.v > 0
				      ? (double)r->memory.recompute_layers.v
				      : 1;
	long mb = 1;
	int *a_ord = NULL;

	memset(m, 0, sizeof(*m));
	if (!l->stages || l->nstages != pp * vpp || pp < 1 || vpp < 1) {
		n56_diag_add(d, r->path, r->schema.pos,
			     "memory model: the layout has no pipeline split");
		return -1;
	}
	if (edp < 1)
		edp = 1;
	g.b = (double)r->batch.micro_batch_size.v;
	g.s = (double)r->batch.seq_length.v / cpv;
	g.T = g.s * g.b;
	g.h = dim(&r->model.hidden_size);
	g.t = tpv;
	g.sp = par->sequence_parallel;
	g.cp = cpv;
	g.etp = par->etp > 0 ? (double)par->etp : 1;
	g.vocab = dim(&r->model.vocab_size);
	/* Megatron's local implementation: torch's RMSNorm keeps an fp32
	 * copy of its input, the bf16 normalized input and the fp32 rstd
	 * (6h + 4 per token); Transformer Engine's fused norm keeps its bf16
	 * input and the rstd (2h + 4). The local attention is unfused. */
	g.norm = local_impl ? 6 * g.h + 4 : 2 * g.h + 4;
	g.scores = local_impl ||
		   str_is(&r->memory.attention_backend, "unfused") ||
		   str_is(&r->memory.attention_backend, "local");
	g.selective = str_is(&r->memory.recompute, "selective");
	if (par->dp > 0 && r->batch.micro_batch_size.v > 0)
		mb = r->batch.global_batch_size.v /
		     (r->batch.micro_batch_size.v * par->dp);
	if (mb < 1)
		mb = 1;
	m->microbatches = mb;
	capacity_of(r, p, cap, m);
	m->headroom =
		policy_num(p ? &p->memory.headroom_percent : NULL, 5) / 100;
	m->warn_band = policy_num(p ? &p->memory.warn_percent : NULL, 3) / 100;
	m->limit = m->capacity * (1 - m->headroom);
	m->npp = pp;
	m->rank = calloc((size_t)pp, sizeof(*m->rank));
	a_ord = calloc((size_t)l->depth + 1, sizeof(int));
	if (!m->rank || !a_ord)
		goto oom;
	/* the A ordinal of each layer, for the DSA choice */
	for (int i = 0, a = 0; i < l->depth; i++)
		a_ord[i] = l->tiled[i] == 'A' ? a++ : -1;

	for (int rk = 0; rk < pp; rk++) {
		struct n56_mem_rank *x = &m->rank[rk];
		struct params pa = { 0, 0, 0 };
		double act = 0, peak_chunk = 0, best_seg = -1;

		x->pp = rk;
		x->nvirtual = vpp;
		x->inflight = calloc((size_t)vpp, sizeof(double));
		if (!x->inflight)
			goto oom;
		n56_mem_inflight(pp, vpp, rk, mb, x->inflight);
		for (int v = 0; v < vpp; v++) {
			int si = v * pp + rk;
			const struct n56_stage *st = &l->stages[si];
			double seg = 0, stored = 0, chunk = 0;
			int in_chunk = 0;

			for (int i = st->first; i < st->first + st->count;
			     i++) {
				char ch = l->tiled[i];
				bool dsa = ch == 'A' && is_dsa(l, a_ord[i]);
				double a = act_block(r, &g, ch, dsa);

				block_params(r, ch, dsa, &pa);
				seg += a;
				/* full recompute keeps each chunk's input and
				 * rebuilds one chunk at a time in backward */
				if (in_chunk == 0)
					stored += rep(&g, g.T * 2 * g.h);
				chunk += a;
				if (++in_chunk >= chunk_layers) {
					if (chunk > peak_chunk)
						peak_chunk = chunk;
					chunk = 0;
					in_chunk = 0;
				}
			}
			if (chunk > peak_chunk)
				peak_chunk = chunk;
			act += x->inflight[v] * (full ? stored : seg);
			if (seg > best_seg) {
				best_seg = seg;
				x->stage = si;
			}
			if (si == 0) {
				/* int64 token ids, embedding dropout mask */
				x->term[N56_MEM_EMBED] =
					x->inflight[v] *
					(g.T * 8 + rep(&g, g.T * g.h));
				pa.tp += g.vocab * g.h;
			}
			if (si == pp * vpp - 1) {
				/* final norm input and output and per logit
				 * the fp32 softmax the loss saves (4), for
				 * each microbatch held and again for each MTP
				 * depth with its norms, concatenation and
				 * layers; once, the bf16 logits of the
				 * microbatch being computed (2) */
				double out = rep(&g, g.T * (g.norm + 2 * g.h)) +
					     shard(&g, g.T * g.vocab * 4);
				double depths = (double)r->model.mtp.depths.v;
				double mtp = rep(&g, g.T * 8 * g.h);
				const char *q = r->model.mtp.pattern.v;

				pa.tp += g.vocab * g.h;
				pa.rep += g.h;
				for (; depths > 0 && q && *q; q++) {
					struct params one = { 0, 0, 0 };

					mtp += act_block(r, &g, *q, false);
					block_params(r, *q, false, &one);
					pa.tp += depths * one.tp;
					pa.rep += depths * one.rep;
					pa.expert += depths * one.expert;
				}
				if (depths > 0) {
					pa.tp += depths * 2 * g.h * g.h;
					pa.rep += depths * 3 * g.h;
				}
				x->term[N56_MEM_LOGITS] =
					x->inflight[v] *
						(out + depths * (mtp + out)) +
					shard(&g, g.T * g.vocab * 2);
			}
		}
		if (full)
			act += peak_chunk;
		x->term[N56_MEM_ACT] = act;
		{
			double local = pa.tp / tpv + pa.rep;
			double ex = pa.expert / epv;

			x->term[N56_MEM_WEIGHTS] = 2 * (local + ex);
			x->term[N56_MEM_GRADS] = 4 * (local + ex);
			x->term[N56_MEM_MASTER] =
				4 *
				(distopt ? local / dpv + ex / edp : local + ex);
			x->term[N56_MEM_OPTIM] =
				8 *
				(distopt ? local / dpv + ex / edp : local + ex);
		}
		x->allocated = 0;
		for (int t = 0; t < N56_MEM_ALLOWANCE; t++)
			x->allocated += x->term[t];
		x->term[N56_MEM_ALLOWANCE] =
			CUDA_CONTEXT_BYTES +
			NCCL_GROUP_BYTES * nccl_groups(par) +
			FRAGMENTATION * x->allocated;
		if (r->runtime.cuda_graphs.impl.v &&
		    !str_is(&r->runtime.cuda_graphs.impl, "none")) {
			/* captured graphs keep a static input buffer per
			 * layer and microbatch held (their saved tensors live
			 * in the graph pool instead of the allocator's, so
			 * they are not counted twice) */
			double held = 0;

			for (int v = 0; v < vpp; v++)
				held += x->inflight[v] *
					l->stages[v * pp + rk].count;
			x->term[N56_MEM_ALLOWANCE] +=
				held * rep(&g, 2 * g.T * g.h);
		}
		x->total = x->allocated + x->term[N56_MEM_ALLOWANCE];
		if (x->total > m->rank[m->worst].total)
			m->worst = rk;
	}
	for (int rk = 0; rk < pp; rk++) {
		struct n56_mem_rank *x = &m->rank[rk];

		if (m->capacity <= 0)
			x->verdict = N56_MEM_FITS;
		else if (x->total > m->limit)
			x->verdict = N56_MEM_OVER;
		else if (x->total > m->limit - m->warn_band * m->capacity)
			x->verdict = N56_MEM_TIGHT;
		else
			x->verdict = N56_MEM_FITS;
	}
	m->verdict = m->rank[m->worst].verdict;
	free(a_ord);
	return 0;
oom:
	free(a_ord);
	n56_memory_clear(m);
	n56_diag_add(d, r->path, r->schema.pos,
		     "out of memory in the memory model");
	return -1;
}

void n56_memory_clear(struct n56_memory *m)
{
	if (!m)
		return;
	for (int i = 0; m->rank && i < m->npp; i++)
		free(m->rank[i].inflight);
	free(m->rank);
	memset(m, 0, sizeof(*m));
}

/* The most segments an equal-split fix is offered for (its list must fit
 * one line of the message). */
#define N56_EQUAL_SPLIT_MAX 16

/* One candidate change, applied to copies of the recipe and sizes. */
struct candidate {
	struct n56_recipe r;
	struct n56_parallel par;
	bool resplit;
	char what[96];
};

/* The candidate's peak on its worst rank (negative, less one, when it does
 * not fit), or -1 when the candidate breaks a start-up rule: a fix that
 * Megatron would refuse (full recompute with per-module CUDA graphs, a
 * micro batch the interleaved schedule cannot take) is no fix. */
static double peak_with(const struct candidate *c, const struct n56_policy *p,
			const struct n56_plan_request *req,
			const struct n56_layout *l,
			const struct n56_mem_capacity_in *cap, int *rank)
{
	struct n56_diags d = { 0 };
	struct n56_layout nl;
	struct n56_memory m;
	const struct n56_layout *use = l;
	double peak = -1;

	memset(&nl, 0, sizeof(nl));
	if (c->resplit) {
		if (n56_layout_tile(&c->r, &nl, &d) ||
		    n56_layout_split(&c->r, &c->par, &nl, &d))
			goto out;
		use = &nl;
	}
	if (req && n56_plan_validate(&c->r, p, req, &c->par, use, &d))
		goto out;
	if (n56_memory_build(&c->r, p, &c->par, use, cap, &m, &d) == 0) {
		peak = m.rank[m.worst].total;
		*rank = m.worst;
		if (m.rank[m.worst].total > m.limit)
			peak = -peak - 1;
		n56_memory_clear(&m);
	}
out:
	n56_layout_clear(&nl);
	n56_diags_free(&d);
	return peak;
}

/* Sets the candidate's micro batch to the largest divisor of global / dp
 * below the recipe's that fits (and passes the rules), the divisors found
 * up to the root; false when none does. */
static bool fitting_micro_batch(struct candidate *c, const struct n56_policy *p,
				const struct n56_plan_request *req,
				const struct n56_layout *l,
				const struct n56_mem_capacity_in *cap)
{
	long mbs = c->r.batch.micro_batch_size.v;
	long dpn = c->par.dp > 0 ? c->par.dp : 1;
	long q = c->r.batch.global_batch_size.v % dpn
			 ? 0
			 : c->r.batch.global_batch_size.v / dpn;
	int rank;

	for (long i = 1; q > 0 && i <= q / i; i++) {
		long hi = q / i; /* i ascending: hi descending */

		if (q % i || hi >= mbs)
			continue;
		c->r.batch.micro_batch_size.v = hi;
		if (peak_with(c, p, req, l, cap, &rank) >= 0)
			return true;
	}
	for (long i = q > 0 ? (long)sqrt((double)q) + 1 : 0; i >= 1; i--) {
		if (q % i || i >= mbs || i > q / i)
			continue;
		c->r.batch.micro_batch_size.v = i;
		if (peak_with(c, p, req, l, cap, &rank) >= 0)
			return true;
	}
	c->r.batch.micro_batch_size.v = mbs;
	return false;
}

/* The candidate with layout.segments set to the equal-count split; false
 * when the recipe has a hand split, the plan's split is already equal, or
 * the list would not fit a line. */
static bool equal_split(const struct n56_recipe *r,
			const struct n56_parallel *par,
			const struct n56_layout *l, long *seg,
			struct candidate *c)
{
	long nseg = par->pp * par->vpp;
	int sizes[N56_EQUAL_SPLIT_MAX];
	bool same = true;
	int at = 0;

	if (r->layout.segments.set || nseg < 2 || nseg > N56_EQUAL_SPLIT_MAX ||
	    nseg > l->depth || l->nstages != nseg)
		return false;
	n56_split_equal(l->depth, (int)nseg, sizes);
	at = snprintf(c->what, sizeof(c->what), "layout.segments: [");
	for (long s = 0; s < nseg; s++) {
		seg[s] = sizes[s];
		same &= l->stages[s].count == sizes[s];
		at += snprintf(c->what + at, sizeof(c->what) - (size_t)at,
			       "%s%d", s ? ", " : "", sizes[s]);
		if (at >= (int)sizeof(c->what) - 2)
			return false;
	}
	snprintf(c->what + at, sizeof(c->what) - (size_t)at, "]");
	if (same)
		return false;
	c->r.layout.segments = (struct n56_intlist){ .v = seg,
						     .n = (size_t)nseg,
						     .set = true };
	c->resplit = true;
	return true;
}

size_t n56_memory_fixes(const struct n56_recipe *r, const struct n56_policy *p,
			const struct n56_plan_request *req,
			const struct n56_parallel *par,
			const struct n56_layout *l,
			const struct n56_mem_capacity_in *cap, char (*buf)[160],
			size_t n)
{
	static struct n56_str selective = { .v = (char *)"selective",
					    .set = true };
	static struct n56_str full = { .v = (char *)"full", .set = true };
	/* cheapest first: what costs no compute, then the layout, then
	 * recompute, the batch and the parallel sizes */
	static const int order[] = { 0, 1, 7, 2, 3, 4, 5, 6 };
	struct candidate c;
	size_t got = 0;
	long heads = r->model.attention.heads.v;
	long seg[N56_EQUAL_SPLIT_MAX];

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]) && got < n;
	     o++) {
		int k = order[o];
		double peak;
		int rank = 0;

		c.r = *r;
		c.par = *par;
		/* split again as the plan of the changed recipe does: the
		 * split follows the microbatches (a smaller micro batch, a
		 * smaller dp give more) and the sizes; a hand split stays */
		c.resplit = !r->layout.segments.set;
		c.what[0] = 0;
		switch (k) {
		case 0: /* the score matrix goes with selective recompute */
			if (!(str_is(&r->memory.attention_backend, "unfused") ||
			      str_is(&r->memory.attention_backend, "local")) ||
			    str_is(&r->memory.recompute, "selective") ||
			    str_is(&r->memory.recompute, "full"))
				continue;
			c.r.memory.recompute = selective;
			snprintf(c.what, sizeof(c.what),
				 "memory.recompute: selective");
			break;
		case 1:
			if (r->memory.distributed_optimizer.v ||
			    par->dp * par->cp <= 1)
				continue;
			c.r.memory.distributed_optimizer.v = true;
			snprintf(c.what, sizeof(c.what),
				 "memory.distributed_optimizer: true");
			break;
		case 2:
			if (str_is(&r->memory.recompute, "full"))
				continue;
			c.r.memory.recompute = full;
			c.r.memory.recompute_layers.v = 1;
			snprintf(c.what, sizeof(c.what),
				 "memory.recompute: full");
			break;
		case 3: /* a smaller micro batch, the global batch kept */
			if (!fitting_micro_batch(&c, p, req, l, cap))
				continue;
			snprintf(c.what, sizeof(c.what),
				 "batch.micro_batch_size: %ld",
				 c.r.batch.micro_batch_size.v);
			break;
		case 4: /* twice the tensor parallelism out of dp */
			if (par->dp % 2 || (heads > 0 && heads % (par->tp * 2)))
				continue;
			c.par.tp *= 2;
			c.par.dp /= 2;
			c.r.parallel.tp.v = c.par.tp;
			snprintf(c.what, sizeof(c.what), "parallelism.tp: %ld",
				 c.par.tp);
			break;
		case 5: /* twice the pipeline out of dp (a new split) */
			if (par->dp % 2 || r->layout.segments.set ||
			    par->pp * 2 * par->vpp > l->depth)
				continue;
			c.par.pp *= 2;
			c.par.dp /= 2;
			c.r.parallel.pp.v = c.par.pp;
			c.resplit = true;
			snprintf(c.what, sizeof(c.what), "parallelism.pp: %ld",
				 c.par.pp);
			break;
		case 6: /* only when no single change fits: the distributed
			 * optimizer with full recompute where the rules allow
			 * it, else with the largest micro batch that fits */
			if (got || r->memory.distributed_optimizer.v ||
			    par->dp * par->cp <= 1)
				continue;
			c.r.memory.distributed_optimizer.v = true;
			if (!str_is(&r->memory.recompute, "full")) {
				c.r.memory.recompute = full;
				c.r.memory.recompute_layers.v = 1;
				snprintf(c.what, sizeof(c.what),
					 "memory.distributed_optimizer: true "
					 "with memory.recompute: full");
				if (peak_with(&c, p, req, l, cap, &rank) >= 0)
					break;
				c.r.memory = r->memory;
				c.r.memory.distributed_optimizer.v = true;
			}
			if (!fitting_micro_batch(&c, p, req, l, cap))
				continue;
			snprintf(c.what, sizeof(c.what),
				 "memory.distributed_optimizer: true with "
				 "batch.micro_batch_size: %ld",
				 c.r.batch.micro_batch_size.v);
			break;
		case 7: /* the equal-count split (as Megatron's own launchers
			 * cut): the least-time split may load one chunk with
			 * the layers the output layer's stage sheds */
			if (!equal_split(r, par, l, seg, &c))
				continue;
			break;
		}
		peak = peak_with(&c, p, req, l, cap, &rank);
		if (peak < 0)
			continue;
		snprintf(buf[got++], 160,
			 "%s (peak %.1f GB on pipeline rank %d)", c.what,
			 peak / GB, rank);
	}
	return got;
}

int n56_memory_check(const struct n56_recipe *r, const struct n56_policy *p,
		     const struct n56_plan_request *req,
		     const struct n56_parallel *par, const struct n56_layout *l,
		     const struct n56_mem_capacity_in *cap,
		     const struct n56_memory *m, struct n56_diags *d)
{
	const struct n56_mem_rank *x;
	const struct n56_stage *st;
	int order[N56_MEM_NTERMS];
	char fixes[6][160], fixtext[1024], terms[256], held[64], from[192];
	size_t nf, used = 0, hu = 0;

	if (m->capacity <= 0 || m->verdict != N56_MEM_OVER)
		return 0;
	/* "policy partition small (the smallest of small,big)" */
	if (m->capacity_partition && cap && cap->partition &&
	    strchr(cap->partition, ','))
		snprintf(from, sizeof(from),
			 "%s %.60s (the smallest of %.100s)",
			 m->capacity_source, m->capacity_partition,
			 cap->partition);
	else if (m->capacity_partition)
		snprintf(from, sizeof(from), "%s %.100s", m->capacity_source,
			 m->capacity_partition);
	else
		snprintf(from, sizeof(from), "%s", m->capacity_source);
	x = &m->rank[m->worst];
	st = &l->stages[x->stage];
	held[0] = 0;
	for (int v = 0; v < x->nvirtual && hu < sizeof(held); v++) {
		int w = snprintf(held + hu, sizeof(held) - hu, "%s%g",
				 v ? "+" : "", x->inflight[v]);
		if (w < 0)
			break;
		hu += (size_t)w;
	}
	for (int i = 0; i < N56_MEM_NTERMS; i++)
		order[i] = i;
	for (int i = 1; i < N56_MEM_NTERMS; i++)
		for (int j = i;
		     j > 0 && x->term[order[j]] > x->term[order[j - 1]]; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	snprintf(terms, sizeof(terms), "%s %.1f GB, %s %.1f GB, %s %.1f GB",
		 term_names[order[0]], x->term[order[0]] / GB,
		 term_names[order[1]], x->term[order[1]] / GB,
		 term_names[order[2]], x->term[order[2]] / GB);
	nf = n56_memory_fixes(r, p, req, par, l, cap, fixes, 6);
	fixtext[0] = 0;
	for (size_t i = 0; i < nf && used < sizeof(fixtext); i++) {
		int w = snprintf(fixtext + used, sizeof(fixtext) - used, "%s%s",
				 i ? "; or " : "", fixes[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	n56_diag_add(
		d, r->path, r->batch.micro_batch_size.pos,
		"GPU memory: pipeline rank %d (virtual stage %d, layers %d-%d "
		"'%s') needs %.1f GB at its peak, more than the %.1f GB "
		"limit (%.1f GB from the %s less %.0f%% headroom); "
		"largest terms: %s (%s microbatches in flight); %s%s",
		x->pp, x->stage / m->npp, st->first + 1, st->first + st->count,
		st->letters ? st->letters : "", x->total / GB, m->limit / GB,
		m->capacity / GB, from, m->headroom * 100, terms, held,
		nf ? "fits with: "
		   : "no change of recompute, micro "
		     "batch, distributed optimizer, split, "
		     "tp or pp fits: use more GPUs",
		fixtext);
	return -1;
}
