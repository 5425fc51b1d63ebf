/* The site-policy parser and the trusted (root-owned) loader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/site.h"

#define DATA SRCDIR "/tests/data/parse/"
#define EXAMPLE SRCDIR "/examples/policy.yaml"

struct fixture {
	struct n56_diags d;
	struct n56_policy *p;
	char tmpdir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->tmpdir, "/tmp/n56-policy-XXXXXX");
	if (!mkdtemp(f->tmpdir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/policy.yaml", f->tmpdir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_policy_free(f->p);
	n56_diags_free(&f->d);
	unlink(f->path);
	rmdir(f->tmpdir);
	free(f);
	return 0;
}

static void check_diags(const struct n56_diags *d, const char *const *want,
			size_t nwant)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format(&d->v[i], buf, sizeof(buf));
		print_message("diag: %s\n", buf);
	}
	assert_int_equal(d->n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		n56_diag_format(&d->v[i], buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
}

#define FAILS(f, text, ...)                                                  \
	do {                                                                 \
		const char *const want_[] = { __VA_ARGS__ };                 \
		assert_int_equal(n56_policy_parse("p.yaml", text,            \
						  strlen(text), &(f)->p,     \
						  &(f)->d),                  \
				 -1);                                        \
		assert_null((f)->p);                                         \
		check_diags(&(f)->d, want_, sizeof(want_) / sizeof(*want_)); \
	} while (0)

static void assert_pos(struct n56_pos p, int line, int col)
{
	assert_int_equal(p.line, line);
	assert_int_equal(p.col, col);
}

/* Every field of examples/policy.yaml, as written there. */
static void test_example_round_trip(void **state)
{
	struct fixture *f = *state;
	struct n56_policy *p;
	static const char *const deny[] = {
		"LD_PRELOAD",
		"LD_*",
		"SLURM_*",
		"NAM56R_*",
		"CUDA_VISIBLE_DEVICES",
		"RANK",
		"WORLD_SIZE",
		"LOCAL_RANK",
		"MASTER_ADDR",
		"MASTER_PORT",
	};
	static const char *const cmds[] = { "python3", "python",
					    "/usr/bin/python3*",
					    "nam56r-preflight",
					    "n56-echo-runtime" };

	assert_int_equal(n56_policy_load(EXAMPLE, &f->p, &f->d), 0);
	p = f->p;
	assert_string_equal(p->path, EXAMPLE);
	assert_int_equal(p->schema.v, 1);
	assert_int_equal(p->env.pinned.n, 3);
	assert_string_equal(p->env.pinned.v[0].name,
			    "CUDA_DEVICE_MAX_CONNECTIONS");
	assert_string_equal(p->env.pinned.v[0].value, "1");
	assert_string_equal(p->env.pinned.v[1].name,
			    "TORCH_NCCL_ASYNC_ERROR_HANDLING");
	assert_string_equal(p->env.pinned.v[1].value, "1");
	assert_string_equal(p->env.pinned.v[2].name, "NCCL_NVLS_ENABLE");
	assert_string_equal(p->env.pinned.v[2].value, "0");
	assert_int_equal(p->env.defaults.n, 2);
	assert_string_equal(p->env.defaults.v[0].name,
			    "TORCH_NCCL_AVOID_RECORD_STREAMS");
	assert_string_equal(p->env.defaults.v[0].value, "1");
	assert_string_equal(p->env.defaults.v[1].name, "NCCL_DEBUG");
	assert_string_equal(p->env.defaults.v[1].value, "WARN");
	assert_int_equal(p->env.deny.n, sizeof(deny) / sizeof(*deny));
	for (size_t i = 0; i < p->env.deny.n; i++)
		assert_string_equal(p->env.deny.v[i], deny[i]);
	assert_false(p->env.allow.set);
	assert_int_equal(p->runtime.allowed_commands.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(p->runtime.allowed_commands.v[i], cmds[i]);
	assert_string_equal(p->topology.island_source.v, "auto");
	assert_true(p->topology.island_source.set);
	assert_false(p->topology.require_tp_in_island.v);
	assert_true(p->topology.require_tp_in_island.set);
	assert_int_equal(p->topology.nislands, 0);
	assert_string_equal(p->topology.nic_env.v, "NAM56R_NIC");
	assert_string_equal(p->topology.cache_dir.v, "/var/cache/nam56r");
	assert_string_equal(p->record.field.v, "comment");
	assert_true(p->record.field.set);
	assert_int_equal(p->record.master_port.v, 29500);
	assert_true(p->record.master_port.set);
	assert_null(p->preflight.min_tp_busbw_gbps.text);
	assert_null(p->preflight.min_dp_busbw_gbps.text);
}

static bool denied(const struct n56_policy *p, const char *name)
{
	for (size_t i = 0; i < p->env.deny.n; i++)
		if (!fnmatch(p->env.deny.v[i], name, 0))
			return true;
	return false;
}

/* The example recipe must be usable under the example policy: its env is
 * not denied and its runtime command is allowed. */
static void test_example_recipe_allowed(void **state)
{
	struct fixture *f = *state;
	struct n56_recipe *r = NULL;
	bool allowed = false;

	assert_int_equal(n56_policy_load(EXAMPLE, &f->p, &f->d), 0);
	assert_int_equal(
		n56_recipe_load(SRCDIR "/examples/nam56r.yaml", &r, &f->d), 0);
	for (size_t i = 0; i < r->env.n; i++)
		assert_false(denied(f->p, r->env.v[i].name));
	for (size_t i = 0; i < f->p->runtime.allowed_commands.n; i++)
		if (!fnmatch(f->p->runtime.allowed_commands.v[i],
			     r->runtime.command.v[0], 0))
			allowed = true;
	assert_true(allowed);
	assert_true(denied(f->p, "LD_LIBRARY_PATH"));
	assert_true(denied(f->p, "SLURM_PROCID"));
	assert_false(denied(f->p, "NCCL_IB_HCA"));
	n56_recipe_free(r);
}

static void check_defaults(const struct n56_policy *p)
{
	assert_string_equal(p->topology.island_source.v, "auto");
	assert_false(p->topology.island_source.set);
	assert_false(p->topology.require_tp_in_island.v);
	assert_false(p->topology.require_tp_in_island.set);
	assert_string_equal(p->record.field.v, "comment");
	assert_int_equal(p->record.master_port.v, 29500);
	assert_false(p->record.master_port.set);
	assert_string_equal(p->topology.cache_dir.v, "/var/cache/nam56r");
	assert_string_equal(p->topology.nic_env.v, "NAM56R_NIC");
	assert_int_equal(p->env.pinned.n, 0);
	assert_int_equal(p->env.deny.n, 0);
	assert_int_equal(p->runtime.allowed_commands.n, 0);
	assert_false(p->runtime.allowed_commands.set);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct n56_policy *empty = n56_policy_empty();

	assert_non_null(empty);
	assert_string_equal(empty->path, "none");
	check_defaults(empty);
	n56_policy_free(empty);
	assert_int_equal(
		n56_policy_parse("p.yaml", "schema: 1\n", 10, &f->p, &f->d), 0);
	assert_string_equal(f->p->path, "p.yaml");
	check_defaults(f->p);
}

static void test_admin_map(void **state)
{
	struct fixture *f = *state;
	const char *text =
		"schema: 1\ntopology:\n  island_source: admin-map\n"
		"  require_tp_in_island: true\n  islands:\n"
		"    - {nodes: \"n[1-18]\", gpus: \"0-3\", domain: nvl72-a}\n"
		"    - nodes: n[19-36]\n      domain: nvl72-b\n"
		"preflight: {min_tp_busbw_gbps: 350, min_dp_busbw_gbps: 40.5}\n"
		"env: {allow: [\"NCCL_*\", PYTHONPATH]}\n";

	assert_int_equal(
		n56_policy_parse("p.yaml", text, strlen(text), &f->p, &f->d),
		0);
	assert_string_equal(f->p->topology.island_source.v, "admin-map");
	assert_true(f->p->topology.require_tp_in_island.v);
	assert_int_equal(f->p->topology.nislands, 2);
	assert_pos(f->p->topology.islands_pos, 6, 5);
	assert_string_equal(f->p->topology.islands[0].nodes, "n[1-18]");
	assert_string_equal(f->p->topology.islands[0].gpus, "0-3");
	assert_string_equal(f->p->topology.islands[0].domain, "nvl72-a");
	assert_pos(f->p->topology.islands[0].pos, 6, 7);
	assert_string_equal(f->p->topology.islands[1].nodes, "n[19-36]");
	assert_null(f->p->topology.islands[1].gpus);
	assert_string_equal(f->p->topology.islands[1].domain, "nvl72-b");
	assert_pos(f->p->topology.islands[1].pos, 7, 7);
	assert_string_equal(f->p->preflight.min_tp_busbw_gbps.text, "350");
	assert_true(f->p->preflight.min_dp_busbw_gbps.v == 40.5);
	assert_int_equal(f->p->env.allow.n, 2);
	assert_string_equal(f->p->env.allow.v[0], "NCCL_*");
}

static void test_bad_islands(void **state)
{
	struct fixture *f = *state;

	FAILS(f,
	      "schema: 1\ntopology:\n  islands:\n"
	      "    - {nodes: \"n[1-2]\", gpus: \"0-3x\"}\n"
	      "    - {nodes: n1 n2, domain: d, extra: 1}\n"
	      "    - [n3]\n",
	      "p.yaml:4:7: missing required key 'domain' in "
	      "topology.islands[0]",
	      "p.yaml:4:31: topology.islands[0].gpus: '0-3x' is not a list of "
	      "GPU indices (write e.g. 0-3 or 0,2,4)",
	      "p.yaml:5:33: unknown key 'extra' in topology.islands[1] (known "
	      "keys: nodes, gpus, domain)",
	      "p.yaml:5:15: topology.islands[1].nodes: 'n1 n2' is not a Slurm "
	      "hostlist (no spaces: write n[1-18] or n1,n2)",
	      "p.yaml:6:7: topology.islands[2]: expected a mapping, got a "
	      "sequence");
	n56_diags_free(&f->d);
	FAILS(f, "schema: 1\ntopology: {islands: {nodes: n1}}\n",
	      "p.yaml:2:21: topology.islands: expected a list of {nodes, "
	      "gpus, domain}, got a mapping");
}

static void test_admin_map_needs_islands(void **state)
{
	FAILS((struct fixture *)*state,
	      "schema: 1\ntopology: {island_source: admin-map}\n",
	      "p.yaml:2:27: topology.island_source: admin-map needs "
	      "topology.islands (a list of {nodes, gpus, domain})");
}

static void test_pinned_denied(void **state)
{
	FAILS((struct fixture *)*state,
	      "schema: 1\nenv:\n  pinned: {LD_PRELOAD: x.so, A: 1}\n"
	      "  defaults: {A: 2, SLURM_X: 1}\n"
	      "  deny: [\"LD_*\", \"SLURM_*\", \"a b\"]\n",
	      "p.yaml:5:29: env.deny[2]: 'a b' is not a variable name or glob "
	      "(letters, digits, _ and * ? [ ])",
	      "p.yaml:3:12: env.pinned.LD_PRELOAD: denied by env.deny[0] "
	      "'LD_*' of the same policy (remove one of them)",
	      "p.yaml:4:20: env.defaults.SLURM_X: denied by env.deny[1] "
	      "'SLURM_*' of the same policy (remove one of them)",
	      "p.yaml:4:14: env.defaults.A: also pinned (line 3); a pinned "
	      "value always wins, so remove this default");
}

static void test_bad_scalars(void **state)
{
	FAILS((struct fixture *)*state,
	      "schema: 1\ntopology:\n  nic_env: 1NIC\n  cache_dir: var/cache\n"
	      "  require_tp_in_island: maybe\n  island_source: nvml\n",
	      "p.yaml:5:25: topology.require_tp_in_island: expected true or "
	      "false, got 'maybe'",
	      "p.yaml:6:18: topology.island_source: 'nvml' is not one of: "
	      "auto, per-node, admin-map, slurm-block",
	      "p.yaml:3:12: topology.nic_env: '1NIC' is not a valid "
	      "environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
	      "p.yaml:4:14: topology.cache_dir: 'var/cache' is not an "
	      "absolute path");
}

static void test_all_errors_at_once(void **state)
{
	struct fixture *f = *state;
	const char *const want[] = {
		DATA "policy-many-errors.yaml:8:3: unknown key "
		     "'allowed_command' in runtime (did you mean "
		     "'allowed_commands'?)",
		DATA "policy-many-errors.yaml:12:10: record.field: "
		     "'admincomment' is not one of: admin_comment, comment, "
		     "none",
		DATA "policy-many-errors.yaml:13:16: record.master_port: 70000 "
		     "is out of range (1024 to 64536)",
		DATA "policy-many-errors.yaml:15:22: "
		     "preflight.min_tp_busbw_gbps: expected a number, got "
		     "'fast'",
		DATA "policy-many-errors.yaml:5:5: env.pinned.LD_PRELOAD: "
		     "denied by env.deny[0] 'LD_*' of the same policy (remove "
		     "one of them)",
		DATA "policy-many-errors.yaml:10:18: topology.island_source: "
		     "admin-map needs topology.islands (a list of {nodes, "
		     "gpus, domain})",
	};

	assert_int_equal(
		n56_policy_load(DATA "policy-many-errors.yaml", &f->p, &f->d),
		-1);
	check_diags(&f->d, want, sizeof(want) / sizeof(*want));
}

static void test_file_level_errors(void **state)
{
	struct fixture *f = *state;

	FAILS(f, "# nothing\n",
	      "p.yaml: empty policy: expected a mapping with 'schema: 1'");
	n56_diags_free(&f->d);
	FAILS(f, "schema: 2\n",
	      "p.yaml:1:9: schema 2 is not supported by this nam56r-launch "
	      "(supported: 1)");
	n56_diags_free(&f->d);
	FAILS(f, "env: {}\n",
	      "p.yaml:1:1: missing required key 'schema' in the policy");
	n56_diags_free(&f->d);
	FAILS(f, "schema: 1\nrecords: {}\n",
	      "p.yaml:2:1: unknown key 'records' in the policy (did you mean "
	      "'record'?)");
	n56_diags_free(&f->d);
	FAILS(f, "schema: 1\nenv: {pinned: &p {A: 1}, defaults: *p}\n",
	      "p.yaml:2:15: anchors (&p) are not supported: write each value "
	      "out",
	      "p.yaml:2:36: aliases (*p) are not supported: write the value "
	      "out");
	n56_diags_free(&f->d);
	assert_int_equal(n56_policy_load(DATA "binary.yaml", &f->p, &f->d), -1);
	{
		const char *const want[] = {
			DATA "binary.yaml: not a text file (binary data at "
			     "byte 31)",
		};
		check_diags(&f->d, want, 1);
	}
}

/* Writes the example policy to the fixture's file with an owner and mode. */
static void write_policy(struct fixture *f, uid_t uid, gid_t gid, mode_t mode)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs("schema: 1\nenv: {pinned: {CUDA_DEVICE_MAX_CONNECTIONS: "
	      "\"1\"}}\n",
	      fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chown(f->path, uid, gid), 0);
	assert_int_equal(chmod(f->path, mode), 0);
}

static void trusted_ok(struct fixture *f)
{
	assert_int_equal(n56_policy_load_trusted(f->path, &f->p, &f->d), 0);
	assert_int_equal(f->d.n, 0);
	assert_int_equal(f->p->env.pinned.n, 1);
}

static void trusted_refused(struct fixture *f, const char *why)
{
	char want[512];
	const char *const wantv[] = { want };

	snprintf(want, sizeof(want),
		 "%s: refusing the site policy: %s "
		 "(chown root:root %s; chmod go-w %s)",
		 f->path, why, f->path, f->path);
	assert_int_equal(n56_policy_load_trusted(f->path, &f->p, &f->d), -1);
	assert_null(f->p);
	check_diags(&f->d, wantv, 1);
}

#define NEEDS_ROOT()                \
	do {                        \
		if (geteuid() != 0) \
			skip();     \
	} while (0)

static void test_trusted_root_0644(void **state)
{
	NEEDS_ROOT();
	write_policy(*state, 0, 0, 0644);
	trusted_ok(*state);
}

static void test_trusted_uid_1000(void **state)
{
	NEEDS_ROOT();
	write_policy(*state, 1000, 0, 0644);
	trusted_refused(*state, "owned by uid 1000, not root");
}

static void test_trusted_0666(void **state)
{
	NEEDS_ROOT();
	write_policy(*state, 0, 0, 0666);
	trusted_refused(*state, "writable by others");
}

static void test_trusted_0664_group_root(void **state)
{
	NEEDS_ROOT();
	write_policy(*state, 0, 0, 0664);
	trusted_ok(*state);
}

static void test_trusted_0664_group_1000(void **state)
{
	NEEDS_ROOT();
	write_policy(*state, 0, 1000, 0664);
	trusted_refused(*state, "writable by group 1000, not root");
}

/* Loading `path` is refused because of directory `dir`. */
static void dir_refused(struct fixture *f, const char *path, const char *dir,
			const char *why)
{
	char want[768];
	const char *const wantv[] = { want };

	snprintf(want, sizeof(want),
		 "%s: refusing the site policy: its "
		 "directory %s is %s, so others could replace the file (chown "
		 "root:root %s; chmod go-w %s)",
		 path, dir, why, dir, dir);
	assert_int_equal(n56_policy_load_trusted(path, &f->p, &f->d), -1);
	assert_null(f->p);
	check_diags(&f->d, wantv, 1);
	n56_diags_free(&f->d);
}

/* Whoever can write a directory above the policy can replace the file:
 * each directory must be root's and not writable by others, unless it is
 * sticky (as /tmp, which every fixture sits under). */
static void test_trusted_directory_modes(void **state)
{
	struct fixture *f = *state;

	NEEDS_ROOT();
	write_policy(f, 0, 0, 0644);
	assert_int_equal(chmod(f->tmpdir, 0777), 0);
	dir_refused(f, f->path, f->tmpdir, "writable by others");
	assert_int_equal(chmod(f->tmpdir, 01777), 0);
	trusted_ok(f);
	n56_policy_free(f->p);
	f->p = NULL;
	assert_int_equal(chmod(f->tmpdir, 0775), 0);
	assert_int_equal(chown(f->tmpdir, 0, 0), 0);
	trusted_ok(f);
	n56_policy_free(f->p);
	f->p = NULL;
	assert_int_equal(chown(f->tmpdir, 0, 1000), 0);
	dir_refused(f, f->path, f->tmpdir, "writable by group 1000, not root");
	assert_int_equal(chown(f->tmpdir, 1000, 0), 0);
	assert_int_equal(chmod(f->tmpdir, 0755), 0);
	dir_refused(f, f->path, f->tmpdir, "owned by uid 1000, not root");
	assert_int_equal(chown(f->tmpdir, 0, 0), 0);
	assert_int_equal(chmod(f->tmpdir, 0777), 0);
	/* a relative name is checked from the working directory up */
	{
		char *cwd = getcwd(NULL, 0);

		assert_non_null(cwd);
		assert_int_equal(chdir(f->tmpdir), 0);
		dir_refused(f, "policy.yaml", f->tmpdir, "writable by others");
		assert_int_equal(chdir(cwd), 0);
		free(cwd);
	}
	assert_int_equal(chmod(f->tmpdir, 0700), 0);
}

/* A symbolic link is checked both ways: the directories on the name given
 * and those of the file it resolves to. */
static void test_trusted_symlink_directories(void **state)
{
	struct fixture *f = *state;
	char sub[160], real[192], link[192];

	NEEDS_ROOT();
	snprintf(sub, sizeof(sub), "%s/sub", f->tmpdir);
	snprintf(real, sizeof(real), "%s/real.yaml", sub);
	snprintf(link, sizeof(link), "%s/link.yaml", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	/* the fixture's path, in a safe directory, links to sub/real.yaml */
	write_policy(f, 0, 0, 0644);
	assert_int_equal(rename(f->path, real), 0);
	assert_int_equal(symlink(real, f->path), 0);
	trusted_ok(f);
	n56_policy_free(f->p);
	f->p = NULL;
	assert_int_equal(chmod(sub, 0777), 0);
	dir_refused(f, f->path, sub, "writable by others");
	/* a link in an unsafe directory to a file in a safe one */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(rename(real, f->path), 0);
	assert_int_equal(symlink(f->path, link), 0);
	dir_refused(f, link, sub, "writable by others");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(sub), 0);
}

/* Even a root-owned policy must be a regular file we can read. */
static void test_trusted_missing_and_directory(void **state)
{
	struct fixture *f = *state;
	char want[256];
	const char *const wantv[] = { want };

	snprintf(want, sizeof(want),
		 "%s: cannot open: No such file or "
		 "directory",
		 f->path);
	assert_int_equal(n56_policy_load_trusted(f->path, &f->p, &f->d), -1);
	check_diags(&f->d, wantv, 1);
	n56_diags_free(&f->d);
	NEEDS_ROOT();
	assert_int_equal(chmod(f->tmpdir, 0755), 0);
	snprintf(want, sizeof(want), "%s: is a directory, not a YAML file",
		 f->tmpdir);
	assert_int_equal(n56_policy_load_trusted(f->tmpdir, &f->p, &f->d), -1);
	check_diags(&f->d, wantv, 1);
}

/* Issue 13 item 6: a link a user owns (as in a sticky /tmp) is refused
 * wherever it points; root's own link is followed. */
static void test_trusted_user_link(void **state)
{
	struct fixture *f = *state;
	char link[160], want[512];
	const char *const wantv[] = { want };

	NEEDS_ROOT();
	write_policy(f, 0, 0, 0644);
	snprintf(link, sizeof(link), "%s/link.yaml", f->tmpdir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(n56_policy_load_trusted(link, &f->p, &f->d), 0);
	n56_policy_free(f->p);
	f->p = NULL;
	assert_int_equal(lchown(link, 1000, 1000), 0);
	snprintf(want, sizeof(want),
		 "%s: refusing the site policy: %s is a "
		 "symbolic link owned by uid 1000, not root (a user could "
		 "point it anywhere)",
		 link, link);
	assert_int_equal(n56_policy_load_trusted(link, &f->p, &f->d), -1);
	unlink(link);
	assert_null(f->p);
	check_diags(&f->d, wantv, 1);
}

/* A policy others cannot read: its parse errors are not quoted. */
static void test_trusted_unreadable_withheld(void **state)
{
	struct fixture *f = *state;
	char want[512];
	const char *const wantv[] = { want };
	FILE *fp;

	NEEDS_ROOT();
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("schema: 1\nTOPSECRET: 1\nrecords: {}\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->path, 0600), 0);
	snprintf(want, sizeof(want),
		 "%s: not a valid site policy (2 errors, "
		 "not shown: the file is not readable by others; as root, run "
		 "nam56r-launch validate --policy %s)",
		 f->path, f->path);
	assert_int_equal(n56_policy_load_trusted(f->path, &f->p, &f->d), -1);
	check_diags(&f->d, wantv, 1);
	n56_diags_free(&f->d);
	/* Readable by all: the parser's own messages, as before. */
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(n56_policy_load_trusted(f->path, &f->p, &f->d), -1);
	assert_int_equal(f->d.n, 2);
}

/* The same rule for the topology cache directory root writes into. */
static void test_path_trusted_dir(void **state)
{
	struct fixture *f = *state;
	char want[512];
	const char *const wantv[] = { want };

	NEEDS_ROOT();
	assert_int_equal(n56_path_trusted("the topology cache directory",
					  f->tmpdir, true, &f->d),
			 0);
	assert_int_equal(chown(f->tmpdir, 1000, 1000), 0);
	snprintf(want, sizeof(want),
		 "%s: refusing the topology cache "
		 "directory: owned by uid 1000, not root (chown root:root %s; "
		 "chmod go-w %s)",
		 f->tmpdir, f->tmpdir, f->tmpdir);
	assert_int_equal(n56_path_trusted("the topology cache directory",
					  f->tmpdir, true, &f->d),
			 -1);
	assert_int_equal(chown(f->tmpdir, 0, 0), 0);
	check_diags(&f->d, wantv, 1);
	n56_diags_free(&f->d);
	write_policy(f, 0, 0, 0644);
	snprintf(want, sizeof(want),
		 "%s: refusing the topology cache: not a "
		 "directory",
		 f->path);
	assert_int_equal(
		n56_path_trusted("the topology cache", f->path, true, &f->d),
		-1);
	check_diags(&f->d, wantv, 1);
}

static void test_free_null(void **state)
{
	(void)state;
	n56_policy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_example_round_trip),
		T(test_example_recipe_allowed),
		T(test_defaults),
		T(test_admin_map),
		T(test_bad_islands),
		T(test_admin_map_needs_islands),
		T(test_pinned_denied),
		T(test_bad_scalars),
		T(test_all_errors_at_once),
		T(test_file_level_errors),
		T(test_trusted_root_0644),
		T(test_trusted_uid_1000),
		T(test_trusted_0666),
		T(test_trusted_0664_group_root),
		T(test_trusted_0664_group_1000),
		T(test_trusted_missing_and_directory),
		T(test_trusted_directory_modes),
		T(test_trusted_symlink_directories),
		T(test_trusted_user_link),
		T(test_trusted_unreadable_withheld),
		T(test_path_trusted_dir),
		T(test_free_null),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
