/* The site policy (policy.yaml, schema 1) as a plain C struct, its
 * loaders (policy/site.c) and the rule that makes a file root may trust.
 * Every value remembers where it was written, as the recipe's do
 * (policy/recipe.h). The schema is documented in man/nam56r-policy.5. */
#ifndef NAM56R_SITE_H
#define NAM56R_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/diag.h"
#include "policy/recipe.h"

/* Admin map entry: which nodes/GPUs form one NVLink domain. */
struct n56_island_map_entry {
	char *nodes;  /* Slurm hostlist expression, e.g. "n[1-18]" */
	char *gpus;   /* CUDA indices, e.g. "0-3"; NULL = all */
	char *domain; /* name of the NVLink domain */
	struct n56_pos pos;
};

/* MASTER_PORT when Slurm reserves no ports for the step is
 * record.master_port plus an offset (spank_nam56r(8) MASTER PORT): with a
 * job record, a slot of N56_PORT_STEPS ports per CPU (or GPU) that wraps
 * before 65536; without one (nam56r-launch in a step the plugin did not
 * see), the job id mod N56_PORT_JOB_SPREAD. The policy takes only bases
 * whose largest offset still ends below 65536, and no privileged port. */
#define N56_MASTER_PORT_DEFAULT 29500
#define N56_PORT_JOB_SPREAD 1000
#define N56_MASTER_PORT_MIN 1024
#define N56_MASTER_PORT_MAX (65535 - (N56_PORT_JOB_SPREAD - 1))

struct n56_policy {
	char *path; /* NULL-free: "none" when no policy file */
	struct n56_int schema;
	struct {
		struct n56_kvlist pinned;   /* always wins */
		struct n56_kvlist defaults; /* a recipe may override */
		struct n56_strlist
			deny; /* names or globs a recipe may not set */
		struct n56_strlist allow; /* when set: only these names/globs */
	} env;
	struct {
		struct n56_strlist allowed_commands; /* globs on argv[0] */
	} runtime;
	struct {
		/* auto|per-node|admin-map|slurm-block */
		struct n56_str island_source;
		struct n56_bool require_tp_in_island;
		/* The admin map; with slurm-block, Slurm's blocks once
		 * n56_policy_slurm_blocks() read them (one entry per block,
		 * pos in islands_from). */
		struct n56_island_map_entry *islands;
		size_t nislands;
		struct n56_pos islands_pos;
		/* The file the islands were read from; NULL: the policy. */
		char *islands_from;
		/* slurm-block: Slurm's topology file instead of the one
		 * beside slurm.conf, and the topology of a topology.yaml
		 * whose blocks are the NVLink domains. */
		struct n56_str slurm_topology_file;
		struct n56_str slurm_topology;
		struct n56_str
			nic_env; /* env name that receives the nearest NIC */
		struct n56_str cache_dir;
	} topology;
	struct {
		struct n56_str field; /* admin_comment|comment|none */
		struct n56_int master_port;
	} record;
	struct {
		struct n56_num min_tp_busbw_gbps;
		struct n56_num min_dp_busbw_gbps;
	} preflight;
	/* sha256 of the bytes parsed (of "" for the empty policy): the
	 * plugin carries it with the step so that every node can check that
	 * it reads the same policy. */
	char sha256_hex[65];
	/* The bytes parsed (NULL for the empty policy), e.g. for the plugin's
	 * per-step copy. */
	char *content;
	size_t content_len;
	struct { /* what the site's compute nodes have installed */
		/* Transformer Engine version, or "none"; unset: not said */
		struct n56_str transformer_engine;
		/* DSA kernel backends whose packages the nodes have */
		struct n56_strlist dsa_backends;
	} node;
	struct { /* GPU memory fit (policy/memory.c) */
		struct n56_num headroom_percent; /* kept free; default 5 */
		struct n56_num warn_percent;	 /* warn band; default 3 */
		struct n56_num gpu_memory_gb;	 /* every partition */
		struct n56_kvlist partitions;	 /* NAME: GB per partition */
	} memory;
};

int n56_policy_load(const char *path, struct n56_policy **out,
		    struct n56_diags *d);
int n56_policy_parse(const char *name, const char *buf, size_t len,
		     struct n56_policy **out, struct n56_diags *d);
/* The rule of a site policy for another path root reads or writes (the
 * topology cache and its directory, an admin's XML): owned by root, not
 * writable by others (a sticky directory may be), the same for every
 * directory above it as named and as resolved, and no symbolic link a
 * user owns along the name. 0, or -1 with why in d ("refusing WHAT: "). */
int n56_path_trusted(const char *what, const char *path, bool is_dir,
		     struct n56_diags *d);
/* As n56_policy_load, but refuses a file that is not owned by root or that
 * others may write (group-writable only with group root), checked on the
 * open file itself so that the file cannot be swapped in between; a
 * symbolic link a user owns along the name is refused, and the parser's
 * messages are withheld when others may not read the file. */
int n56_policy_load_trusted(const char *path, struct n56_policy **out,
			    struct n56_diags *d);
/* An empty policy (no file): nothing pinned, nothing denied. */
struct n56_policy *n56_policy_empty(void);
void n56_policy_free(struct n56_policy *p);

#endif
