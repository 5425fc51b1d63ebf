/* The recipe (nam56r.yaml, schema 1): YAML -> struct n56_recipe.
 * Only shape, types, ranges and enumerations are checked here; whether the
 * numbers fit together (heads % tp, layers % pp, ...) is validate.c's job. */
#include "policy/recipe.h"
#include "policy/yamlutil.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIZE_RANGE 1, INT32_MAX	 /* dimensions, degrees, counts >= 1 */
#define COUNT_RANGE 0, INT32_MAX /* counts that may be zero, indices */

/* The extra level lets a range macro expand into two arguments. */
#define K_INT(n, d, range) K_INT_(n, d, range)
#define K_REQ_INT(n, d, range) K_REQ_INT_(n, d, range)
#define K_INTS(n, d, range) K_INTS_(n, d, range)
#define K_INT_(n, d, lo, hi)                                                 \
	{                                                                    \
		.name = n, .type = N56_Y_INT, .dst = d, .min = lo, .max = hi \
	}
#define K_REQ_INT_(n, d, lo, hi)                                              \
	{                                                                     \
		.name = n, .type = N56_Y_INT, .dst = d, .min = lo, .max = hi, \
		.required = true                                              \
	}
#define K_BOOL(n, d)                                    \
	{                                               \
		.name = n, .type = N56_Y_BOOL, .dst = d \
	}
#define K_STR(n, d, c)                                               \
	{                                                            \
		.name = n, .type = N56_Y_STR, .dst = d, .choices = c \
	}
#define K_NUM(n, d)                                    \
	{                                              \
		.name = n, .type = N56_Y_NUM, .dst = d \
	}
#define K_INTS_(n, d, lo, hi)                                          \
	{                                                              \
		.name = n, .type = N56_Y_INTLIST, .dst = d, .min = lo, \
		.max = hi                                              \
	}
#define K_STRS(n, d, c)                                                  \
	{                                                                \
		.name = n, .type = N56_Y_STRLIST, .dst = d, .choices = c \
	}
#define K_MAP(n, f, d)                                            \
	{                                                         \
		.name = n, .type = N56_Y_MAP, .walk = f, .dst = d \
	}
#define K_REQ_MAP(n, f, d)                                         \
	{                                                          \
		.name = n, .type = N56_Y_MAP, .walk = f, .dst = d, \
		.required = true                                   \
	}
#define K_CUSTOM(n, f, d, req)                                        \
	{                                                             \
		.name = n, .type = N56_Y_CUSTOM, .walk = f, .dst = d, \
		.required = req                                       \
	}
#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const char *const sparse_modes[] = { "tilelang", "gather_scatter",
					    "none", NULL };
static const char *const dsa_backends[] = { "none", "tilelang", "cudnn", NULL };
static const char *const dispatchers[] = { "allgather", "alltoall", "flex",
					   NULL };
/* Megatron's --moe-router-load-balancing-type choices. */
static const char *const balancers[] = {
	"aux_loss", "seq_aux_loss", "global_aux_loss", "sinkhorn", "none", NULL
};
static const char *const graph_impls[] = { "none", "local",
					   "transformer_engine",
					   "full_iteration", NULL };
static const char *const graph_modules[] = {
	"attn", "mlp", "moe", "moe_router", "moe_preprocess", "mamba", NULL
};
/* Megatron's --position-embedding-type values a hybrid model takes. */
static const char *const position_embeddings[] = { "rope", "yarn", "none",
						   "learned_absolute", NULL };
static const char *const cp_comm_types[] = { "p2p", "a2a", "allgather",
					     "a2a+p2p", NULL };
static const char *const score_functions[] = { "softmax", "sigmoid", NULL };
static const char *const recomputes[] = { "none", "selective", "full", NULL };
/* Megatron's --attention-backend choices. */
static const char *const attention_backends[] = { "auto",    "flash", "fused",
						  "unfused", "local", NULL };
static const char *const transformer_impls[] = { "transformer_engine", "local",
						 NULL };
static const char *const rank_orders[] = { "tp-cp-ep-dp-pp", "tp-cp-ep-pp-dp",
					   NULL };

/* A block pattern: a string of A E M R, with the bad letter's own column
 * in the message so that a long pattern's typo is easy to find. */
static void read_pattern(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 void *dst)
{
	struct n56_str *pat = dst;
	struct n56_str tmp = { 0 };
	const char *s;

	n56_yread_str(y, n, path, &tmp, NULL);
	if (!tmp.v)
		return;
	s = tmp.v;
	for (size_t i = 0; s[i]; i++) {
		if (strchr("AEMR", s[i]))
			continue;
		struct n56_pos pos = tmp.pos;
		/* Quoted scalars start one column before their text. */
		pos.col += (int)i +
			   (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE);
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			n56_yerr_at(y, pos,
				    "%s: byte 0x%02x is not a block "
				    "letter (A attention, E MoE, M Mamba, "
				    "R recurrent)",
				    path, (unsigned char)s[i]);
		else
			n56_yerr_at(y, pos,
				    "%s: '%c' is not a block letter "
				    "(A attention, E MoE, M Mamba, "
				    "R recurrent)",
				    path, s[i]);
		n56_str_clear(&tmp);
		return;
	}
	free(pat->v);
	*pat = tmp;
}

static void walk_mla(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_BOOL("enabled", &r->model.attention.mla.enabled),
		K_INT("q_lora_rank", &r->model.attention.mla.q_lora_rank,
		      SIZE_RANGE),
		K_INT("kv_lora_rank", &r->model.attention.mla.kv_lora_rank,
		      SIZE_RANGE),
		K_INT("qk_head_dim", &r->model.attention.mla.qk_head_dim,
		      SIZE_RANGE),
		K_INT("qk_pos_emb_head_dim",
		      &r->model.attention.mla.qk_pos_emb_head_dim, SIZE_RANGE),
		K_INT("v_head_dim", &r->model.attention.mla.v_head_dim,
		      SIZE_RANGE),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_dsa(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INTS("a_layer_ranks", &r->model.attention.dsa.a_layer_ranks,
		       COUNT_RANGE),
		K_INT("indexer_heads", &r->model.attention.dsa.indexer_heads,
		      SIZE_RANGE),
		K_INT("indexer_head_dim",
		      &r->model.attention.dsa.indexer_head_dim, SIZE_RANGE),
		K_INT("topk", &r->model.attention.dsa.topk, SIZE_RANGE),
		K_STR("backend", &r->model.attention.dsa.backend, dsa_backends),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_engram(struct n56_yctx *y, yaml_node_t *n, const char *path,
			void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INTS("a_layer_ranks",
		       &r->model.attention.engram.a_layer_ranks, COUNT_RANGE),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_attention(struct n56_yctx *y, yaml_node_t *n, const char *path,
			   void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INT("heads", &r->model.attention.heads, SIZE_RANGE),
		K_INT("query_groups", &r->model.attention.query_groups,
		      SIZE_RANGE),
		K_INT("kv_channels", &r->model.attention.kv_channels,
		      SIZE_RANGE),
		K_MAP("mla", walk_mla, r),
		K_MAP("dsa", walk_dsa, r),
		K_MAP("engram", walk_engram, r),
		K_BOOL("mhc", &r->model.attention.mhc),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_mamba(struct n56_yctx *y, yaml_node_t *n, const char *path,
		       void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INT("heads", &r->model.mamba.heads, SIZE_RANGE),
		K_INT("groups", &r->model.mamba.groups, SIZE_RANGE),
		K_INT("state_dim", &r->model.mamba.state_dim, SIZE_RANGE),
		K_INT("head_dim", &r->model.mamba.head_dim, SIZE_RANGE),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_moe(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INT("experts", &r->model.moe.experts, SIZE_RANGE),
		K_INT("topk", &r->model.moe.topk, SIZE_RANGE),
		K_INT("ffn_hidden_size", &r->model.moe.ffn_hidden_size,
		      SIZE_RANGE),
		K_INT("shared_expert_size", &r->model.moe.shared_expert_size,
		      COUNT_RANGE),
		K_STR("dispatcher", &r->model.moe.dispatcher, dispatchers),
		K_BOOL("grouped_gemm", &r->model.moe.grouped_gemm),
		K_STR("load_balancing", &r->model.moe.load_balancing,
		      balancers),
		K_NUM("aux_loss_coeff", &r->model.moe.aux_loss_coeff),
		K_BOOL("mod", &r->model.moe.mod),
		K_STR("router_score_function",
		      &r->model.moe.router_score_function, score_functions),
		K_BOOL("router_pre_softmax", &r->model.moe.router_pre_softmax),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_recurrent(struct n56_yctx *y, yaml_node_t *n, const char *path,
			   void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_STR("mixer", &r->model.recurrent.mixer, NULL),
		K_INT("state_dim", &r->model.recurrent.state_dim, SIZE_RANGE),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_mtp(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INT("depths", &r->model.mtp.depths, COUNT_RANGE),
		K_CUSTOM("pattern", read_pattern, &r->model.mtp.pattern, false),
		K_NUM("loss_scaling_factor", &r->model.mtp.loss_scaling_factor),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_model(struct n56_yctx *y, yaml_node_t *n, const char *path,
		       void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_CUSTOM("pattern", read_pattern, &r->model.pattern, true),
		K_INT("depth", &r->model.depth, SIZE_RANGE),
		K_REQ_INT("hidden_size", &r->model.hidden_size, SIZE_RANGE),
		K_INT("ffn_hidden_size", &r->model.ffn_hidden_size, SIZE_RANGE),
		K_INT("vocab_size", &r->model.vocab_size, SIZE_RANGE),
		K_STR("sparse_mode", &r->model.sparse_mode, sparse_modes),
		K_STR("position_embedding", &r->model.position_embedding,
		      position_embeddings),
		K_BOOL("linear_bias", &r->model.linear_bias),
		K_BOOL("rope_fusion", &r->model.rope_fusion),
		K_MAP("attention", walk_attention, r),
		K_MAP("mamba", walk_mamba, r),
		K_MAP("moe", walk_moe, r),
		K_MAP("recurrent", walk_recurrent, r),
		K_MAP("mtp", walk_mtp, r),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_parallelism(struct n56_yctx *y, yaml_node_t *n,
			     const char *path, void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INT("tp", &r->parallel.tp, SIZE_RANGE),
		K_INT("pp", &r->parallel.pp, SIZE_RANGE),
		K_INT("vpp", &r->parallel.vpp, SIZE_RANGE),
		K_INT("ep", &r->parallel.ep, SIZE_RANGE),
		K_INT("etp", &r->parallel.etp, SIZE_RANGE),
		K_INT("cp", &r->parallel.cp, SIZE_RANGE),
		K_BOOL("sequence_parallel", &r->parallel.sequence_parallel),
		K_STR("rank_order", &r->parallel.rank_order, rank_orders),
		K_STR("cp_comm_type", &r->parallel.cp_comm_type, cp_comm_types),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_batch(struct n56_yctx *y, yaml_node_t *n, const char *path,
		       void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INT("micro_batch_size", &r->batch.micro_batch_size,
		      SIZE_RANGE),
		K_REQ_INT("global_batch_size", &r->batch.global_batch_size,
			  SIZE_RANGE),
		K_REQ_INT("seq_length", &r->batch.seq_length, SIZE_RANGE),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_cuda_graphs(struct n56_yctx *y, yaml_node_t *n,
			     const char *path, void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_STR("impl", &r->runtime.cuda_graphs.impl, graph_impls),
		K_STRS("modules", &r->runtime.cuda_graphs.modules,
		       graph_modules),
		K_INT("warmup_steps", &r->runtime.cuda_graphs.warmup_steps,
		      COUNT_RANGE),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_runtime(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		{ .name = "command",
		  .type = N56_Y_STRLIST,
		  .dst = &r->runtime.command,
		  .required = true },
		K_MAP("cuda_graphs", walk_cuda_graphs, r),
		K_STRS("seams", &r->runtime.seams, NULL),
		K_STRS("extra_args", &r->runtime.extra_args, NULL),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
	if (r->runtime.command.set && r->runtime.command.n == 0)
		n56_yerr_at(y, r->runtime.command.pos,
			    "%s.command: must name the program to run, e.g. "
			    "[python3, pretrain_hybrid.py]",
			    path);
}

static void walk_cost(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_NUM("A", &r->layout.cost[N56_A]),
		K_NUM("E", &r->layout.cost[N56_E]),
		K_NUM("M", &r->layout.cost[N56_M]),
		K_NUM("R", &r->layout.cost[N56_R]),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_layout(struct n56_yctx *y, yaml_node_t *n, const char *path,
			void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_INTS("segments", &r->layout.segments, COUNT_RANGE),
		K_MAP("cost", walk_cost, r),
		K_NUM("backward_ratio", &r->layout.backward_ratio),
		K_NUM("p2p_latency_us", &r->layout.p2p_latency_us),
		K_NUM("gpu_tflops", &r->layout.gpu_tflops),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_memory(struct n56_yctx *y, yaml_node_t *n, const char *path,
			void *dst)
{
	struct n56_recipe *r = dst;
	const struct n56_ykey keys[] = {
		K_STR("recompute", &r->memory.recompute, recomputes),
		K_INT("recompute_layers", &r->memory.recompute_layers,
		      SIZE_RANGE),
		K_BOOL("distributed_optimizer",
		       &r->memory.distributed_optimizer),
		K_STR("attention_backend", &r->memory.attention_backend,
		      attention_backends),
		K_STR("transformer_impl", &r->memory.transformer_impl,
		      transformer_impls),
		K_NUM("gpu_memory_gb", &r->memory.gpu_memory_gb),
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static int set_defaults(struct n56_recipe *r)
{
	r->parallel.tp.v = 1;
	r->parallel.pp.v = 1;
	r->parallel.vpp.v = 1;
	r->parallel.ep.v = 1;
	r->parallel.cp.v = 1;
	r->parallel.sequence_parallel.v = false;
	r->batch.micro_batch_size.v = 1;
	r->model.attention.mla.enabled.v = false;
	r->model.mtp.depths.v = 0;
	r->model.moe.topk.v = 2;
	r->model.moe.grouped_gemm.v = true;
	r->runtime.cuda_graphs.warmup_steps.v = 3;
	r->memory.recompute_layers.v = 1;
	if (n56_str_default(&r->parallel.rank_order, "tp-cp-ep-dp-pp") ||
	    n56_str_default(&r->model.mtp.pattern, "AE") ||
	    n56_str_default(&r->model.attention.dsa.backend, "tilelang") ||
	    n56_str_default(&r->model.moe.dispatcher, "alltoall") ||
	    n56_str_default(&r->model.moe.load_balancing, "aux_loss") ||
	    n56_str_default(&r->runtime.cuda_graphs.impl, "none") ||
	    n56_str_default(&r->model.sparse_mode, "none") ||
	    n56_str_default(&r->model.position_embedding, "rope") ||
	    n56_str_default(&r->model.moe.router_score_function, "softmax"))
		return -1;
	return 0;
}

/* Defaults that depend on other values, once everything is read. */
static void derive_defaults(struct n56_recipe *r)
{
	if (!r->model.depth.set && r->model.pattern.v)
		r->model.depth.v = (long)strlen(r->model.pattern.v);
	if (!r->parallel.etp.set)
		r->parallel.etp.v = r->parallel.tp.v;
	if (!r->model.attention.query_groups.set)
		r->model.attention.query_groups.v = r->model.attention.heads.v;
}

int n56_recipe_parse(const char *name, const char *buf, size_t len,
		     struct n56_recipe **out, struct n56_diags *d)
{
	struct n56_recipe *r;
	struct n56_yctx y = { .file = name, .top = "the recipe", .d = d };
	yaml_node_t *root;
	int rc = -1;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(name)) ||
	    !(r->content = malloc(len + 1)) || set_defaults(r) < 0) {
		n56_diag_add(d, name, (struct n56_pos){ 0, 0 },
			     "out of memory");
		goto out;
	}
	memcpy(r->content, buf, len);
	r->content[len] = '\0';
	r->content_len = len;
	n56_sha256_hex(buf, len, r->sha256_hex);

	root = n56_yload(&y, "recipe", buf, len);
	if (!root || !n56_yschema_supported(&y, root))
		goto out;
	{
		const struct n56_ykey keys[] = {
			K_REQ_INT_("schema", &r->schema, LONG_MIN, LONG_MAX),
			K_REQ_MAP("model", walk_model, r),
			K_MAP("parallelism", walk_parallelism, r),
			K_REQ_MAP("batch", walk_batch, r),
			K_REQ_MAP("runtime", walk_runtime, r),
			K_MAP("layout", walk_layout, r),
			K_MAP("memory", walk_memory, r),
			{ .name = "env", .type = N56_Y_KVMAP, .dst = &r->env },
		};
		n56_ywalk_map(&y, root, "", keys, NKEYS(keys));
	}
	derive_defaults(r);
	if (y.nerr == 0) {
		*out = r;
		r = NULL;
		rc = 0;
	}
out:
	n56_yctx_free(&y);
	n56_recipe_free(r);
	return rc;
}

int n56_recipe_load(const char *path, struct n56_recipe **out,
		    struct n56_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (n56_read_file(path, N56_RECIPE_MAX_BYTES, &buf, &len, d) < 0)
		return -1;
	rc = n56_recipe_parse(path, buf, len, out, d);
	free(buf);
	return rc;
}

int n56_recipe_builtin(struct n56_recipe **out, struct n56_diags *d)
{
	return n56_recipe_parse("builtin", n56_builtin_recipe_yaml,
				strlen(n56_builtin_recipe_yaml), out, d);
}

int n56_recipe_check_carry(const struct n56_recipe *r, struct n56_diags *d)
{
	if (r->content_len <= N56_RECIPE_CARRY_MAX)
		return 0;
	n56_diag_add(d, r->path, (struct n56_pos){ 0, 0 },
		     "the recipe is %zu bytes; at most %d are carried to the "
		     "compute nodes (shorten its comments)",
		     r->content_len, N56_RECIPE_CARRY_MAX);
	return -1;
}

void n56_recipe_free(struct n56_recipe *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->content);
	n56_str_clear(&r->model.pattern);
	n56_str_clear(&r->model.sparse_mode);
	n56_str_clear(&r->model.position_embedding);
	n56_str_clear(&r->model.moe.router_score_function);
	n56_str_clear(&r->parallel.cp_comm_type);
	n56_intlist_clear(&r->model.attention.dsa.a_layer_ranks);
	n56_str_clear(&r->model.attention.dsa.backend);
	n56_intlist_clear(&r->model.attention.engram.a_layer_ranks);
	n56_str_clear(&r->model.moe.dispatcher);
	n56_str_clear(&r->model.moe.load_balancing);
	n56_num_clear(&r->model.moe.aux_loss_coeff);
	n56_str_clear(&r->model.recurrent.mixer);
	n56_str_clear(&r->model.mtp.pattern);
	n56_num_clear(&r->model.mtp.loss_scaling_factor);
	n56_str_clear(&r->parallel.rank_order);
	n56_strlist_clear(&r->runtime.command);
	n56_str_clear(&r->runtime.cuda_graphs.impl);
	n56_strlist_clear(&r->runtime.cuda_graphs.modules);
	n56_strlist_clear(&r->runtime.seams);
	n56_strlist_clear(&r->runtime.extra_args);
	n56_intlist_clear(&r->layout.segments);
	for (int f = 0; f < N56_NFAMILIES; f++)
		n56_num_clear(&r->layout.cost[f]);
	n56_num_clear(&r->layout.backward_ratio);
	n56_num_clear(&r->layout.p2p_latency_us);
	n56_num_clear(&r->layout.gpu_tflops);
	n56_str_clear(&r->memory.recompute);
	n56_str_clear(&r->memory.attention_backend);
	n56_str_clear(&r->memory.transformer_impl);
	n56_num_clear(&r->memory.gpu_memory_gb);
	n56_kvlist_clear(&r->env);
	free(r);
}
