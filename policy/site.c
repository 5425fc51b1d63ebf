/* The site policy (policy.yaml, schema 1): YAML -> struct n56_policy, and
 * the ownership rule that makes a policy file trustworthy. */
#include "policy/site.h"
#include "policy/yamlutil.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const char *const island_sources[] = { "auto", "per-node", "admin-map",
					      "slurm-block", NULL };
static const char *const record_fields[] = { "admin_comment", "comment", "none",
					     NULL };

static void walk_env(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "pinned",
		  .type = N56_Y_KVMAP,
		  .dst = &p->env.pinned },
		{ .name = "defaults",
		  .type = N56_Y_KVMAP,
		  .dst = &p->env.defaults },
		{ .name = "deny", .type = N56_Y_STRLIST, .dst = &p->env.deny },
		{ .name = "allow",
		  .type = N56_Y_STRLIST,
		  .dst = &p->env.allow },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_runtime(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "allowed_commands",
		  .type = N56_Y_STRLIST,
		  .dst = &p->runtime.allowed_commands },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

/* One entry of the admin island map: {nodes, gpus, domain}. */
static void read_island(struct n56_yctx *y, yaml_node_t *n, const char *path,
			struct n56_island_map_entry *e)
{
	struct n56_str nodes = { 0 }, gpus = { 0 }, domain = { 0 };
	const struct n56_ykey keys[] = {
		{ .name = "nodes",
		  .type = N56_Y_STR,
		  .dst = &nodes,
		  .required = true },
		{ .name = "gpus", .type = N56_Y_STR, .dst = &gpus },
		{ .name = "domain",
		  .type = N56_Y_STR,
		  .dst = &domain,
		  .required = true },
	};
	size_t before = y->nerr;

	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
	if (nodes.v && strpbrk(nodes.v, " \t"))
		n56_yerr_at(y, nodes.pos,
			    "%s.nodes: '%s' is not a Slurm "
			    "hostlist (no spaces: write n[1-18] or "
			    "n1,n2)",
			    path, nodes.v);
	if (gpus.v && strspn(gpus.v, "0123456789,-") != strlen(gpus.v))
		n56_yerr_at(y, gpus.pos,
			    "%s.gpus: '%s' is not a list of GPU "
			    "indices (write e.g. 0-3 or 0,2,4)",
			    path, gpus.v);
	if (y->nerr != before) {
		n56_str_clear(&nodes);
		n56_str_clear(&gpus);
		n56_str_clear(&domain);
		return;
	}
	e->nodes = nodes.v;
	e->gpus = gpus.v;
	e->domain = domain.v;
	e->pos = n56_ypos(n);
}

static void free_islands(struct n56_island_map_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].nodes);
		free(v[i].gpus);
		free(v[i].domain);
	}
	free(v);
}

static void read_islands(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 void *dst)
{
	struct n56_policy *p = dst;
	struct n56_island_map_entry *v;
	size_t cnt;

	if (!n || n->type != YAML_SEQUENCE_NODE) {
		n56_yerr(y, n,
			 "%s: expected a list of {nodes, gpus, domain}, "
			 "got %s",
			 path, n56_ynode_kind(n));
		return;
	}
	cnt = (size_t)(n->data.sequence.items.top -
		       n->data.sequence.items.start);
	v = calloc(cnt + 1, sizeof(*v));
	if (!v) {
		n56_yerr(y, n, "out of memory");
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *item = yaml_document_get_node(
			&y->doc, n->data.sequence.items.start[i]);
		char ipath[128];

		snprintf(ipath, sizeof(ipath), "%.100s[%zu]", path, i);
		read_island(y, item, ipath, &v[i]);
	}
	free_islands(p->topology.islands, p->topology.nislands);
	p->topology.islands = v;
	p->topology.nislands = cnt;
	p->topology.islands_pos = n56_ypos(n);
}

static void walk_topology(struct n56_yctx *y, yaml_node_t *n, const char *path,
			  void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "island_source",
		  .type = N56_Y_STR,
		  .dst = &p->topology.island_source,
		  .choices = island_sources },
		{ .name = "require_tp_in_island",
		  .type = N56_Y_BOOL,
		  .dst = &p->topology.require_tp_in_island },
		{ .name = "islands",
		  .type = N56_Y_CUSTOM,
		  .walk = read_islands,
		  .dst = p },
		{ .name = "nic_env",
		  .type = N56_Y_STR,
		  .dst = &p->topology.nic_env },
		{ .name = "cache_dir",
		  .type = N56_Y_STR,
		  .dst = &p->topology.cache_dir },
		{ .name = "slurm_topology_file",
		  .type = N56_Y_STR,
		  .dst = &p->topology.slurm_topology_file },
		{ .name = "slurm_topology",
		  .type = N56_Y_STR,
		  .dst = &p->topology.slurm_topology },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_record(struct n56_yctx *y, yaml_node_t *n, const char *path,
			void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "field",
		  .type = N56_Y_STR,
		  .dst = &p->record.field,
		  .choices = record_fields },
		{ .name = "master_port",
		  .type = N56_Y_INT,
		  .dst = &p->record.master_port,
		  .min = N56_MASTER_PORT_MIN,
		  .max = N56_MASTER_PORT_MAX },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static const char *const node_dsa_backends[] = { "tilelang", "cudnn", NULL };

static void walk_node(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "transformer_engine",
		  .type = N56_Y_STR,
		  .dst = &p->node.transformer_engine },
		{ .name = "dsa_backends",
		  .type = N56_Y_STRLIST,
		  .dst = &p->node.dsa_backends,
		  .choices = node_dsa_backends },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

static void walk_memory(struct n56_yctx *y, yaml_node_t *n, const char *path,
			void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "headroom_percent",
		  .type = N56_Y_NUM,
		  .dst = &p->memory.headroom_percent },
		{ .name = "warn_percent",
		  .type = N56_Y_NUM,
		  .dst = &p->memory.warn_percent },
		{ .name = "gpu_memory_gb",
		  .type = N56_Y_NUM,
		  .dst = &p->memory.gpu_memory_gb },
		{ .name = "partitions",
		  .type = N56_Y_KVMAP,
		  .dst = &p->memory.partitions },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
	if (p->memory.headroom_percent.text &&
	    p->memory.headroom_percent.v >= 100)
		n56_yerr_at(y, p->memory.headroom_percent.pos,
			    "%s.headroom_percent is %s: give a percentage "
			    "below 100",
			    path, p->memory.headroom_percent.text);
	for (size_t i = 0; i < p->memory.partitions.n; i++) {
		const struct n56_kv *kv = &p->memory.partitions.v[i];
		char *end;
		double gb = strtod(kv->value, &end);

		if (end == kv->value || *end || !(gb > 0) || gb > 1e6)
			n56_yerr_at(y, kv->pos,
				    "%s.partitions.%s is '%s': give the GPU "
				    "memory of that partition in GB, e.g. 141",
				    path, kv->name, kv->value);
	}
}

static void walk_preflight(struct n56_yctx *y, yaml_node_t *n, const char *path,
			   void *dst)
{
	struct n56_policy *p = dst;
	const struct n56_ykey keys[] = {
		{ .name = "min_tp_busbw_gbps",
		  .type = N56_Y_NUM,
		  .dst = &p->preflight.min_tp_busbw_gbps },
		{ .name = "min_dp_busbw_gbps",
		  .type = N56_Y_NUM,
		  .dst = &p->preflight.min_dp_busbw_gbps },
	};
	n56_ywalk_map(y, n, path, keys, NKEYS(keys));
}

/* Deny and allow entries are names or shell globs over names. */
static void check_globs(struct n56_yctx *y, const struct n56_strlist *l,
			const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strspn(l->v[i],
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
			   "nopqrstuvwxyz0123456789_*?[]!-") != strlen(l->v[i]))
			n56_yerr_at(y, l->item_pos[i],
				    "%s[%zu]: '%s' is not a "
				    "variable name or glob (letters, digits, _ "
				    "and * ? [ ])",
				    path, i, l->v[i]);
}

/* A name the policy both sets and forbids is a contradiction the admin
 * must resolve: we cannot tell which one was meant. */
static void check_kv_denied(struct n56_yctx *y, const struct n56_kvlist *kv,
			    const struct n56_strlist *deny, const char *path)
{
	for (size_t i = 0; i < kv->n; i++) {
		for (size_t j = 0; j < deny->n; j++) {
			if (fnmatch(deny->v[j], kv->v[i].name, 0))
				continue;
			n56_yerr_at(y, kv->v[i].pos,
				    "%s.%s: denied by "
				    "env.deny[%zu] '%s' of the same policy "
				    "(remove one of them)",
				    path, kv->v[i].name, j, deny->v[j]);
			break;
		}
	}
}

/* island_source slurm-block: the domains are Slurm's blocks, so an admin
 * map beside them would be a second answer; the keys that say where the
 * blocks are mean nothing with another source. */
static void check_slurm_block(struct n56_yctx *y, struct n56_policy *p)
{
	const struct n56_str *src = &p->topology.island_source;
	bool block = src->v && !strcmp(src->v, "slurm-block");
	const struct n56_str *file = &p->topology.slurm_topology_file;
	const struct n56_str *name = &p->topology.slurm_topology;

	if (block && p->topology.nislands)
		n56_yerr_at(y, p->topology.islands_pos,
			    "topology.islands: island_source slurm-block takes "
			    "the NVLink domains from Slurm's block topology; "
			    "remove topology.islands, or use island_source "
			    "admin-map");
	if (!block && file->set)
		n56_yerr_at(y, file->pos,
			    "topology.slurm_topology_file: "
			    "only read with island_source slurm-block (it is "
			    "%s)",
			    src->v ? src->v : "auto");
	if (!block && name->set)
		n56_yerr_at(y, name->pos,
			    "topology.slurm_topology: only "
			    "read with island_source slurm-block (it is %s)",
			    src->v ? src->v : "auto");
	if (file->set && file->v[0] != '/')
		n56_yerr_at(y, file->pos,
			    "topology.slurm_topology_file: "
			    "'%s' is not an absolute path",
			    file->v);
}

static void check_policy(struct n56_yctx *y, struct n56_policy *p)
{
	check_globs(y, &p->env.deny, "env.deny");
	check_globs(y, &p->env.allow, "env.allow");
	check_kv_denied(y, &p->env.pinned, &p->env.deny, "env.pinned");
	check_kv_denied(y, &p->env.defaults, &p->env.deny, "env.defaults");
	for (size_t i = 0; i < p->env.defaults.n; i++)
		for (size_t j = 0; j < p->env.pinned.n; j++)
			if (!strcmp(p->env.defaults.v[i].name,
				    p->env.pinned.v[j].name))
				n56_yerr_at(y, p->env.defaults.v[i].pos,
					    "env.defaults.%s: also pinned "
					    "(line %d); a pinned value always "
					    "wins, so remove this default",
					    p->env.defaults.v[i].name,
					    p->env.pinned.v[j].pos.line);
	if (p->topology.island_source.v &&
	    !strcmp(p->topology.island_source.v, "admin-map") &&
	    p->topology.nislands == 0)
		n56_yerr_at(y, p->topology.island_source.pos,
			    "topology.island_source: admin-map needs "
			    "topology.islands (a list of {nodes, gpus, "
			    "domain})");
	check_slurm_block(y, p);
	if (p->topology.nic_env.set &&
	    !n56_env_name_valid(p->topology.nic_env.v))
		n56_yerr_at(y, p->topology.nic_env.pos,
			    "topology.nic_env: "
			    "'%s' is not a valid environment variable name "
			    "([A-Za-z_][A-Za-z0-9_]*)",
			    p->topology.nic_env.v);
	if (p->topology.cache_dir.set && p->topology.cache_dir.v[0] != '/')
		n56_yerr_at(y, p->topology.cache_dir.pos,
			    "topology.cache_dir: '%s' is not an absolute "
			    "path",
			    p->topology.cache_dir.v);
}

static int set_defaults(struct n56_policy *p)
{
	p->record.master_port.v = N56_MASTER_PORT_DEFAULT;
	p->topology.require_tp_in_island.v = false;
	if (n56_str_default(&p->topology.island_source, "auto") ||
	    n56_str_default(&p->record.field, "comment") ||
	    n56_str_default(&p->topology.cache_dir, "/var/cache/nam56r") ||
	    n56_str_default(&p->topology.nic_env, "NAM56R_NIC"))
		return -1;
	return 0;
}

struct n56_policy *n56_policy_empty(void)
{
	struct n56_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->schema.v = 1;
	n56_sha256_hex("", 0, p->sha256_hex);
	if (!(p->path = strdup("none")) || set_defaults(p) < 0) {
		n56_policy_free(p);
		return NULL;
	}
	return p;
}

int n56_policy_parse(const char *name, const char *buf, size_t len,
		     struct n56_policy **out, struct n56_diags *d)
{
	struct n56_policy *p = NULL;
	struct n56_yctx y = { .file = name, .top = "the policy", .d = d };
	yaml_node_t *root;
	int rc = -1;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(name)) || set_defaults(p) < 0) {
		n56_diag_add(d, name, (struct n56_pos){ 0, 0 },
			     "out of memory");
		goto out;
	}
	n56_sha256_hex(buf, len, p->sha256_hex);
	root = n56_yload(&y, "policy", buf, len);
	if (!root || !n56_yschema_supported(&y, root))
		goto out;
	{
		const struct n56_ykey keys[] = {
			{ .name = "schema",
			  .type = N56_Y_INT,
			  .dst = &p->schema,
			  .min = LONG_MIN,
			  .max = LONG_MAX,
			  .required = true },
			{ .name = "env",
			  .type = N56_Y_MAP,
			  .walk = walk_env,
			  .dst = p },
			{ .name = "runtime",
			  .type = N56_Y_MAP,
			  .walk = walk_runtime,
			  .dst = p },
			{ .name = "topology",
			  .type = N56_Y_MAP,
			  .walk = walk_topology,
			  .dst = p },
			{ .name = "record",
			  .type = N56_Y_MAP,
			  .walk = walk_record,
			  .dst = p },
			{ .name = "preflight",
			  .type = N56_Y_MAP,
			  .walk = walk_preflight,
			  .dst = p },
			{ .name = "node",
			  .type = N56_Y_MAP,
			  .walk = walk_node,
			  .dst = p },
			{ .name = "memory",
			  .type = N56_Y_MAP,
			  .walk = walk_memory,
			  .dst = p },
		};
		n56_ywalk_map(&y, root, "", keys, NKEYS(keys));
	}
	check_policy(&y, p);
	if (y.nerr == 0 && len && !(p->content = malloc(len))) {
		n56_diag_add(d, name, (struct n56_pos){ 0, 0 },
			     "out of memory");
		goto out;
	}
	if (y.nerr == 0) {
		if (len)
			memcpy(p->content, buf, len);
		p->content_len = len;
		*out = p;
		p = NULL;
		rc = 0;
	}
out:
	n56_yctx_free(&y);
	n56_policy_free(p);
	return rc;
}

int n56_policy_load(const char *path, struct n56_policy **out,
		    struct n56_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (n56_read_file(path, N56_POLICY_MAX_BYTES, &buf, &len, d) < 0)
		return -1;
	rc = n56_policy_parse(path, buf, len, out, d);
	free(buf);
	return rc;
}

/* Why st is not safe to trust (owned by someone other than root, or
 * writable by someone else), in buf; NULL when it is. A sticky directory
 * (as /tmp) may be writable by all: there only an entry's owner, root
 * here, may rename or remove it. */
static const char *not_roots_alone(const struct stat *st, char *buf, size_t len)
{
	bool sticky = S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);

	if (st->st_uid != 0) {
		snprintf(buf, len, "owned by uid %lu, not root",
			 (unsigned long)st->st_uid);
		return buf;
	}
	if (!sticky && (st->st_mode & S_IWOTH))
		return "writable by others";
	if (!sticky && (st->st_mode & S_IWGRP) && st->st_gid != 0) {
		snprintf(buf, len, "writable by group %lu, not root",
			 (unsigned long)st->st_gid);
		return buf;
	}
	return NULL;
}

/* One directory above the policy, under the same rules as the file. */
static int check_dir(const char *what, const char *policy, const char *dir,
		     struct n56_diags *d)
{
	static const struct n56_pos nopos = { 0, 0 };
	struct stat st;
	const char *why;
	char whybuf[64];

	if (stat(dir, &st) < 0) {
		n56_diag_add(d, policy, nopos,
			     "refusing %s: cannot stat its "
			     "directory %s: %s",
			     what, dir, strerror(errno));
		return -1;
	}
	why = not_roots_alone(&st, whybuf, sizeof(whybuf));
	if (!why)
		return 0;
	n56_diag_add(d, policy, nopos,
		     "refusing %s: its directory %s is "
		     "%s, so others could replace the file (chown root:root "
		     "%s; chmod go-w %s)",
		     what, dir, why, dir, dir);
	return -1;
}

/* Every directory from / down to the file's own, in path (absolute). */
static int check_dirs_of(const char *what, const char *policy, const char *path,
			 struct n56_diags *d)
{
	size_t n = strlen(path);
	char *dir = malloc(n + 2);
	int rc = 0;

	if (!dir) {
		n56_diag_add(d, policy, (struct n56_pos){ 0, 0 },
			     "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (path[i] != '/')
			continue;
		memcpy(dir, path, i ? i : 1);
		dir[i ? i : 1] = '\0';
		rc = check_dir(what, policy, dir, d);
	}
	free(dir);
	return rc;
}

/* The directories above the policy, both as named (a symbolic link there
 * could be repointed) and as resolved (the file's real directory could
 * be renamed into), and the resolved name must still be the file open on
 * fd. */
static int check_parents(const char *path, const struct stat *fst,
			 struct n56_diags *d)
{
	static const struct n56_pos nopos = { 0, 0 };
	char *abs = NULL, *real = NULL;
	struct stat rst;
	int rc = -1;

	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		char *cwd = getcwd(NULL, 0);

		if (cwd && (abs = malloc(strlen(cwd) + strlen(path) + 2)))
			sprintf(abs, "%s/%s", cwd, path);
		free(cwd);
	}
	real = realpath(path, NULL);
	if (!abs || !real) {
		n56_diag_add(d, path, nopos,
			     "refusing the site policy: "
			     "cannot resolve its path: %s",
			     strerror(errno));
		goto out;
	}
	if (stat(real, &rst) < 0 || rst.st_dev != fst->st_dev ||
	    rst.st_ino != fst->st_ino) {
		n56_diag_add(d, path, nopos,
			     "refusing the site policy: the "
			     "file changed while it was being checked");
		goto out;
	}
	if (check_dirs_of("the site policy", path, abs, d) == 0 &&
	    (!strcmp(abs, real) ||
	     check_dirs_of("the site policy", path, real, d) == 0))
		rc = 0;
out:
	free(abs);
	free(real);
	return rc;
}

/* A symbolic link a user owns, anywhere along the name (the last part
 * too): in a sticky directory such as /tmp a user may create one, and
 * root would follow it wherever it points. */
static int check_links(const char *what, const char *path, const char *abs,
		       struct n56_diags *d)
{
	size_t n = strlen(abs);
	char *part = malloc(n + 1);
	int rc = 0;

	if (!part) {
		n56_diag_add(d, path, (struct n56_pos){ 0, 0 },
			     "out of memory");
		return -1;
	}
	for (size_t i = 1; i <= n && rc == 0; i++) {
		struct stat st;

		if (i < n && abs[i] != '/')
			continue;
		memcpy(part, abs, i);
		part[i] = '\0';
		if (lstat(part, &st) == 0 && S_ISLNK(st.st_mode) &&
		    st.st_uid != 0) {
			n56_diag_add(d, path, (struct n56_pos){ 0, 0 },
				     "refusing %s: %s is a symbolic link owned "
				     "by uid %lu, not root (a user could point "
				     "it anywhere)",
				     what, part, (unsigned long)st.st_uid);
			rc = -1;
		}
	}
	free(part);
	return rc;
}

static char *absolute(const char *path)
{
	char *abs = NULL, *cwd;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (cwd && (abs = malloc(strlen(cwd) + strlen(path) + 2)))
		sprintf(abs, "%s/%s", cwd, path);
	free(cwd);
	return abs;
}

int n56_path_trusted(const char *what, const char *path, bool is_dir,
		     struct n56_diags *d)
{
	static const struct n56_pos nopos = { 0, 0 };
	char *abs = absolute(path), *real = NULL, whybuf[64];
	const char *why;
	struct stat st;
	int rc = -1;

	if (!abs) {
		n56_diag_add(d, path, nopos, "out of memory");
		return -1;
	}
	if (check_links(what, path, abs, d))
		goto out;
	if (stat(path, &st) < 0) {
		n56_diag_add(d, path, nopos, "refusing %s: cannot stat: %s",
			     what, strerror(errno));
		goto out;
	}
	if (is_dir != !!S_ISDIR(st.st_mode)) {
		n56_diag_add(d, path, nopos, "refusing %s: not a %s", what,
			     is_dir ? "directory" : "regular file");
		goto out;
	}
	why = not_roots_alone(&st, whybuf, sizeof(whybuf));
	if (why && !(is_dir && (st.st_mode & S_ISVTX))) {
		n56_diag_add(d, path, nopos,
			     "refusing %s: %s (chown root:root "
			     "%s; chmod go-w %s)",
			     what, why, path, path);
		goto out;
	}
	real = realpath(path, NULL);
	if (!real) {
		n56_diag_add(d, path, nopos,
			     "refusing %s: cannot resolve "
			     "its path: %s",
			     what, strerror(errno));
		goto out;
	}
	if (check_dirs_of(what, path, abs, d) == 0 &&
	    (!strcmp(abs, real) || check_dirs_of(what, path, real, d) == 0))
		rc = 0;
out:
	free(abs);
	free(real);
	return rc;
}

/* The parser quotes what it read; a file the users cannot read must not
 * reach them that way (the plugin shows these messages in the job's
 * output). */
static void withhold(struct n56_diags *d, size_t from, const char *path)
{
	size_t n = d->n - from;

	for (size_t i = from; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	d->n = from;
	n56_diag_add(d, path, (struct n56_pos){ 0, 0 },
		     "not a valid site policy (%zu error%s, not shown: the "
		     "file is not readable by others; as root, run "
		     "nam56r-launch validate --policy %s)",
		     n, n == 1 ? "" : "s", path);
}

static bool changed_while_read(int fd, const struct stat *before, size_t len)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return false;
	return len == 0 || (size_t)now.st_size != len ||
	       now.st_size != before->st_size ||
	       now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	       now.st_mtim.tv_nsec != before->st_mtim.tv_nsec;
}

/* As sshd's StrictModes: whoever can write the policy controls every job's
 * environment, so only root may, and only root may replace it: the same
 * rules hold for every directory above it. The file's own checks use
 * fstat on the descriptor we then read, so the file cannot be swapped
 * between check and use. */
int n56_policy_load_trusted(const char *path, struct n56_policy **out,
			    struct n56_diags *d)
{
	static const struct n56_pos nopos = { 0, 0 };
	struct stat st;
	const char *why;
	char *buf = NULL, whybuf[64];
	size_t len = 0;
	int fd, rc = -1;

	size_t before = d->n;
	char *abs = absolute(path);
	int tries = 0;

	*out = NULL;
	if (!abs) {
		n56_diag_add(d, path, nopos, "out of memory");
		return -1;
	}
	rc = check_links("the site policy", path, abs, d);
	free(abs);
	if (rc)
		return -1;
	rc = -1;
again:
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		n56_diag_add(d, path, nopos, "cannot open: %s",
			     strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		n56_diag_add(d, path, nopos, "cannot stat: %s",
			     strerror(errno));
		goto out;
	}
	why = not_roots_alone(&st, whybuf, sizeof(whybuf));
	if (why) {
		n56_diag_add(d, path, nopos,
			     "refusing the site policy: %s "
			     "(chown root:root %s; chmod go-w %s)",
			     why, path, path);
		goto out;
	}
	if (check_parents(path, &st, d) < 0)
		goto out;
	if (n56_read_fd(fd, path, N56_POLICY_MAX_BYTES, &buf, &len, d) < 0)
		goto out;
	/* An admin rewriting the file in place (not write-and-rename): what
	 * was read may be a truncated or half-written file. Read it again
	 * once it holds still (for half a second at most). */
	if (changed_while_read(fd, &st, len) && ++tries < 20) {
		struct timespec ts = { 0, 25 * 1000 * 1000 };

		free(buf);
		buf = NULL;
		close(fd);
		nanosleep(&ts, NULL);
		goto again;
	}
	rc = n56_policy_parse(path, buf, len, out, d);
	if (rc && !(st.st_mode & S_IROTH))
		withhold(d, before, path);
out:
	free(buf);
	close(fd);
	return rc;
}

void n56_policy_free(struct n56_policy *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->content);
	n56_kvlist_clear(&p->env.pinned);
	n56_kvlist_clear(&p->env.defaults);
	n56_strlist_clear(&p->env.deny);
	n56_strlist_clear(&p->env.allow);
	n56_strlist_clear(&p->runtime.allowed_commands);
	n56_str_clear(&p->topology.island_source);
	free_islands(p->topology.islands, p->topology.nislands);
	n56_str_clear(&p->topology.nic_env);
	n56_str_clear(&p->topology.cache_dir);
	free(p->topology.islands_from);
	n56_str_clear(&p->topology.slurm_topology_file);
	n56_str_clear(&p->topology.slurm_topology);
	n56_str_clear(&p->record.field);
	n56_num_clear(&p->preflight.min_tp_busbw_gbps);
	n56_str_clear(&p->node.transformer_engine);
	n56_strlist_clear(&p->node.dsa_backends);
	n56_num_clear(&p->memory.headroom_percent);
	n56_num_clear(&p->memory.warn_percent);
	n56_num_clear(&p->memory.gpu_memory_gb);
	n56_kvlist_clear(&p->memory.partitions);
	n56_num_clear(&p->preflight.min_dp_busbw_gbps);
	free(p);
}
