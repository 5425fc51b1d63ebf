/* The recipe (nam56r.yaml, schema 1) and the site policy (policy.yaml,
 * schema 1) as plain C structs. Every value remembers where it was written
 * so that validation can name the recipe line a violation comes from.
 * The schema is documented in man/nam56r.yaml.5 and man/nam56r-policy.5. */
#ifndef NAM56R_RECIPE_H
#define NAM56R_RECIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/diag.h"

/* Scalars: `set` is false when the key was absent (the default is then in v). */
struct n56_int {
	long v;
	bool set;
	struct n56_pos pos;
};
struct n56_bool {
	bool v;
	bool set;
	struct n56_pos pos;
};
struct n56_num { /* a real number, kept with its text for the native args */
	double v;
	char *text; /* NULL when unset */
	struct n56_pos pos;
};
struct n56_str {
	char *v; /* NULL when unset and without a default */
	struct n56_pos pos;
	bool set; /* false when the key was absent (v may hold the default) */
};
struct n56_intlist {
	long *v;
	size_t n;
	bool set;
	struct n56_pos pos;	  /* of the sequence */
	struct n56_pos *item_pos; /* of each item, n entries */
};
struct n56_strlist {
	char **v;
	size_t n;
	bool set;
	struct n56_pos pos;
	struct n56_pos *item_pos;
};
struct n56_kv {
	char *name;
	char *value;
	struct n56_pos pos; /* of the key */
};
struct n56_kvlist { /* a YAML mapping of strings, in file order */
	struct n56_kv *v;
	size_t n;
	bool set;
	struct n56_pos pos;
};

/* Block families of the NAM56R pattern. */
enum n56_family { N56_A = 0, N56_E, N56_M, N56_R, N56_NFAMILIES };
/* The family of a pattern letter (A, E, M, R), or -1 (policy/tile.c). */
int n56_family_of(char c);

struct n56_recipe {
	char *path;	     /* as given, or "builtin" */
	char sha256_hex[65]; /* of the exact bytes parsed */
	char *content;	     /* those bytes (NUL-terminated copy) */
	size_t content_len;

	struct n56_int schema; /* must be 1 */

	struct {
		struct n56_str pattern; /* letters A E M R, tiled to depth */
		struct n56_int depth;
		struct n56_int hidden_size;
		struct n56_int ffn_hidden_size;
		struct n56_int vocab_size;
		struct n56_str
			sparse_mode; /* tilelang | gather_scatter | none */
		/* rope | yarn | none | learned_absolute (default rope) */
		struct n56_str position_embedding;
		struct n56_bool linear_bias; /* default false */
		struct n56_bool rope_fusion; /* unset: on, off with DSA */
		struct {		     /* A blocks */
			struct n56_int heads;
			struct n56_int query_groups;
			struct n56_int kv_channels;
			struct {
				struct n56_bool enabled;
				struct n56_int q_lora_rank;
				struct n56_int kv_lora_rank;
				struct n56_int qk_head_dim;
				struct n56_int qk_pos_emb_head_dim;
				struct n56_int v_head_dim;
			} mla;
			struct {
				/* 0-based A ordinals that use DSA */
				struct n56_intlist a_layer_ranks;
				struct n56_int indexer_heads;
				struct n56_int indexer_head_dim;
				struct n56_int topk;
				struct n56_str
					backend; /* none|tilelang|cudnn */
			} dsa;
			struct {
				struct n56_intlist a_layer_ranks;
			} engram;
			struct n56_bool mhc;
		} attention;
		struct { /* M blocks */
			struct n56_int heads;
			struct n56_int groups;
			struct n56_int state_dim;
			struct n56_int head_dim;
		} mamba;
		struct { /* E blocks */
			struct n56_int experts;
			struct n56_int topk;
			struct n56_int ffn_hidden_size;
			struct n56_int shared_expert_size;
			struct n56_str dispatcher; /* allgather|alltoall|flex */
			struct n56_bool grouped_gemm;
			struct n56_str load_balancing;
			struct n56_num aux_loss_coeff;
			struct n56_bool mod; /* mixture of depths */
			struct n56_str
				router_score_function; /* softmax|sigmoid */
			struct n56_bool router_pre_softmax; /* unset: top-1 */
		} moe;
		struct {		      /* R blocks */
			struct n56_str mixer; /* e.g. m2rnn */
			struct n56_int state_dim;
		} recurrent;
		struct {
			struct n56_int depths;	/* 0 = no MTP */
			struct n56_str pattern; /* letters of one MTP depth */
			struct n56_num loss_scaling_factor;
		} mtp;
	} model;

	struct {
		struct n56_int tp, pp, vpp, ep, etp, cp;
		struct n56_bool sequence_parallel;
		struct n56_str rank_order; /* tp-cp-ep-dp-pp | tp-cp-ep-pp-dp */
		/* p2p|a2a|allgather|a2a+p2p; unset: p2p, allgather with DSA */
		struct n56_str cp_comm_type;
	} parallel;

	struct {
		struct n56_int micro_batch_size;
		struct n56_int global_batch_size;
		struct n56_int seq_length;
	} batch;

	struct {
		struct n56_strlist command; /* argv[0..] of the runtime */
		struct {
			struct n56_str
				impl; /* none|local|transformer_engine|full_iteration */
			struct n56_strlist modules;
			struct n56_int warmup_steps;
		} cuda_graphs;
		struct n56_strlist seams; /* patch seams the runtime provides */
		struct n56_strlist extra_args; /* appended native args */
	} runtime;

	struct {
		/* hand-written split: layer count of each pp*vpp segment */
		struct n56_intlist segments;
		/* measured cost per block family, overriding the model */
		struct n56_num cost[N56_NFAMILIES];
		/* the schedule model: backward time over forward time (2),
		 * latency of a p2p hand-off in microseconds (0), achieved
		 * TFLOP/s of one GPU to turn costs into time (400) */
		struct n56_num backward_ratio, p2p_latency_us, gpu_tflops;
	} layout;

	struct { /* memory knobs (policy/memory.c) */
		struct n56_str
			recompute; /* none|selective|full (default none) */
		struct n56_int recompute_layers; /* full: layers per chunk */
		struct n56_bool distributed_optimizer; /* default false */
		/* auto|flash|fused|unfused|local (default auto) */
		struct n56_str attention_backend;
		/* transformer_engine|local (default transformer_engine) */
		struct n56_str transformer_impl;
		struct n56_num
			gpu_memory_gb; /* capacity when nothing else says */
	} memory;

	struct n56_kvlist env; /* env the user asks for */
};

/* Parse from a file or a buffer. `name` is used in messages. On error returns
 * -1, appends every problem found to `d`, and *out is NULL. */
int n56_recipe_load(const char *path, struct n56_recipe **out,
		    struct n56_diags *d);
int n56_recipe_parse(const char *name, const char *buf, size_t len,
		     struct n56_recipe **out, struct n56_diags *d);
/* The built-in NAM56R default (the public launcher profile). */
int n56_recipe_builtin(struct n56_recipe **out, struct n56_diags *d);
extern const char n56_builtin_recipe_yaml[];
void n56_recipe_free(struct n56_recipe *r);
/* The largest recipe the plugin carries to the compute nodes (it travels
 * in the job's environment), in bytes. */
#define N56_RECIPE_CARRY_MAX (64 * 1024)
/* Refuses a recipe larger than N56_RECIPE_CARRY_MAX: one diagnostic on the
 * recipe's file, -1. The plugin, validate and plan all check it. */
int n56_recipe_check_carry(const struct n56_recipe *r, struct n56_diags *d);

/* Loads a file of at most max bytes into a NUL-terminated buffer. Refuses
 * directories, devices and FIFOs. Returns -1 with a message in d. */
int n56_read_file(const char *path, size_t max, char **buf, size_t *len,
		  struct n56_diags *d);
void n56_sha256_hex(const void *buf, size_t len, char out[65]);

#endif
