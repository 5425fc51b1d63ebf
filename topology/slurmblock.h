/* Slurm's block topology (topology/block) as a source of NVLink islands:
 * topology.conf's `BlockName=b1 Nodes=n[1-18]` lines and `BlockSizes=`,
 * or the block topology of a topology.yaml (Slurm 25.05+), each block one
 * NVLink domain of all the GPUs of its nodes. The site policy asks for it
 * with topology.island_source slurm-block (man 5 nam56r-policy).
 *
 * Reads files only: never calls Slurm, never prints. Every problem of a
 * file is a diagnostic "file:line:col: message" (n56_diag_format_error
 * adds "error:"), or "file: message" for the file as a whole. */
#ifndef NAM56R_SLURMBLOCK_H
#define NAM56R_SLURMBLOCK_H

#include <stddef.h>

#include "policy/diag.h"
#include "policy/site.h"
#include "topology/placement.h"

/* Slurm's default configuration when SLURM_CONF is not set. */
#define N56_SLURM_CONF_DEFAULT "/etc/slurm/slurm.conf"
/* Largest topology file read. */
#define N56_SLURM_TOPOLOGY_MAX_BYTES (16 * 1024 * 1024)
/* BlockSizes: the base size and at most 15 levels of doubling above it. */
#define N56_SLURM_MAX_BLOCK_SIZES 16
/* The largest block size taken (in nodes). */
#define N56_SLURM_MAX_BLOCK_SIZE (1L << 20)

struct n56_slurm_block {
	char *name;
	char *nodes;	    /* Slurm hostlist; NULL for a block of no node */
	long nnodes;	    /* distinct node names, 0 when nodes is NULL */
	struct n56_pos pos; /* of the block's name */
};

struct n56_slurm_blocks {
	char *file;	/* the file read (the name given to the parser) */
	char *topology; /* topology.yaml: the topology used; NULL otherwise */
	struct n56_slurm_block *v;
	size_t n;
	long sizes[N56_SLURM_MAX_BLOCK_SIZES]; /* BlockSizes / block_sizes */
	size_t nsizes;			       /* 0 when not given */
};

/* topology.conf (Slurm's key=value format: case-insensitive keys, '#'
 * comments, '\' at the end of a line continues it). 0 with *out, or -1
 * with every problem in d and *out NULL. */
int n56_slurm_blocks_parse_conf(const char *name, const char *buf, size_t len,
				struct n56_slurm_blocks **out,
				struct n56_diags *d);
/* topology.yaml: the block topology named `topology`; when NULL, the
 * cluster default if it is a block topology, else the only block
 * topology of the file. `policy` names the policy file in messages about
 * `topology` (NULL: "the site policy"). As the parser above. */
int n56_slurm_blocks_parse_yaml(const char *name, const char *buf, size_t len,
				const char *topology, const char *policy,
				struct n56_slurm_blocks **out,
				struct n56_diags *d);
/* The file as Slurm finds it: `file` when not NULL (YAML when its name
 * ends in .yaml or .yml), else topology.yaml, or topology.conf when there
 * is no topology.yaml, in the directory of slurm_conf (NULL:
 * N56_SLURM_CONF_DEFAULT). topology and policy as above. */
int n56_slurm_blocks_load(const char *slurm_conf, const char *file,
			  const char *topology, const char *policy,
			  struct n56_slurm_blocks **out, struct n56_diags *d);
void n56_slurm_blocks_free(struct n56_slurm_blocks *b);

/* island_source slurm-block: reads Slurm's blocks (n56_slurm_blocks_load
 * with the policy's slurm_topology_file and slurm_topology) into p's
 * admin map, one domain per block of nodes, all GPUs of its nodes, and
 * sets p->topology.islands_from to the file. 0 when done, already done,
 * or when p takes its islands from elsewhere; -1 with the problems in d
 * (p unchanged). */
int n56_policy_slurm_blocks(struct n56_policy *p, const char *slurm_conf,
			    struct n56_diags *d);

/* Who decided the site's islands, for messages: "Slurm's block topology" with
 * island_source slurm-block (once read), else "the admin map". */
const char *n56_site_islands_by(const struct n56_policy *p);
/* What to fix when they contradict a node: "the blocks of FILE", or
 * "topology.islands in PATH" (PATH NULL: the policy's own path). */
void n56_site_islands_fix(const struct n56_policy *p, const char *path,
			  char *buf, size_t len);

/* The step's placement against Slurm's blocks, for the job's nodes in
 * order (hosts[i] is node i of the step): every TP group and every expert
 * group (etp*ep ranks) that spans nodes must stay in one block. 0 when p
 * does not use slurm-block (nothing done) or when every group does: then
 * each block the job uses is one island of the placement (island ids in
 * the order the job meets the blocks) and rep's verdicts follow the
 * blocks. -1 with the message in err when a group would cross blocks
 * (naming the group, the blocks with their nodes, and what to ask Slurm
 * for) or on bad input. */
int n56_placer_slurm_blocks(struct n56_placer *pl, const struct n56_policy *p,
			    char *const *hosts, size_t nhosts,
			    struct n56_place_report *rep, char *err,
			    size_t errlen);

#endif
