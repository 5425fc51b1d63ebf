/* nam56r-launch inside a job step: exec the training runtime with the
 * generated native args only. When the SPANK plugin ran (NAM56R_PLAN_SHA256
 * is set), the rank's environment is already there and the recipe is the
 * content carried from submission; without the plugin the same environment
 * is computed here from SLURM_* and set before the exec. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "step/core.h"
#include "job/n56job.h"
#include "policy/argmerge.h"
#include "policy/memory.h"
#include "policy/plan.h"
#include "topology/bind.h"
#include "topology/placement.h"
#include "topology/rankenv.h"
#include "topology/slurmblock.h"
#include "topology/topology.h"
#include "wrapper/commands.h"
#include "wrapper/cli.h"

#ifndef NAM56R_SYSCONFDIR
#define NAM56R_SYSCONFDIR "/etc"
#endif
#define PROG "nam56r-launch: "

struct exec_opts {
	const char *recipe;
	const char *policy;
	const char *runtime;
	long runtime_words; /* --runtime-words N: ARGS start with the runtime */
	char **args;	    /* after `--` (or the first non-option word) */
	int nargs;
};

static void exec_usage(FILE *f)
{
	fprintf(f,
		"usage: nam56r-launch [--recipe F] [--policy F] [--runtime CMD] "
		"[--] [ARGS...]\n\n"
		"Inside a job step (srun nam56r-launch): execs the recipe's "
		"runtime with the\ngenerated native args, the recipe's extra "
		"args, then ARGS (an ARG may add\nflags, never change a "
		"generated one: that is exit 2).\n\n"
		"  --recipe F    recipe when no --nam56r-recipe was given to "
		"Slurm (default:\n                the built-in NAM56R recipe)\n"
		"  --policy F    refused here (exit 2): a job step uses the site "
		"policy\n                ($" N56_ENV_POLICY
		", set by the plugin, "
		"else %s/nam56r/policy.yaml);\n                --policy is for "
		"plan, validate and local\n"
		"  --runtime CMD run CMD (split at spaces) instead of the "
		"recipe's runtime.command;\n                it must be allowed "
		"by the policy's runtime.allowed_commands\n"
		"  --runtime-words N\n"
		"                the first N ARGS are the runtime command "
		"(how the plugin's\n                wrap= runs `srun python3 "
		"x.py ...` through nam56r-launch)\n"
		"  --help        this text\n\n"
		"Exit: 0 never (the runtime replaces this process), 2 invalid "
		"input, 1 other\nfailure, 127 the exec failed. See "
		"nam56r-launch(1), spank_nam56r(8).\n",
		NAM56R_SYSCONFDIR);
}

/* 0 ok, 1 --help shown, -1 usage error (message printed). */
static int parse_opts(int argc, char **argv, struct exec_opts *o)
{
	static const struct option opts[] = {
		{ "recipe", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "runtime", required_argument, NULL, 'R' },
		{ "runtime-words", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0; /* GNU: restart the scan for this argv */
	opterr = 0;
	/* "+": the runtime's own arguments start at the first word that is
	 * no option of ours, or after "--" */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->recipe = optarg;
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 'R':
			o->runtime = optarg;
			break;
		case 'w':
			errno = 0;
			o->runtime_words = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || o->runtime_words < 1 ||
			    o->runtime_words > 64) {
				fprintf(stderr,
					PROG "--runtime-words needs a "
					     "number from 1 to 64, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'h':
			exec_usage(stdout);
			return 1;
		case ':':
			if (!strcmp(argv[optind - 1], "--runtime-words"))
				fprintf(stderr,
					PROG "--runtime-words needs a "
					     "number from 1 to 64, not ''\n");
			else
				fprintf(stderr, PROG "%s needs a value\n",
					argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr,
				PROG "unknown option '%s' (runtime "
				     "arguments go after --)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->runtime_words && o->runtime) {
		fprintf(stderr, PROG "--runtime and --runtime-words exclude "
				     "each other\n");
		return -1;
	}
	if (o->runtime_words > o->nargs) {
		fprintf(stderr,
			PROG "--runtime-words %ld, but only %d "
			     "argument%s follow\n",
			o->runtime_words, o->nargs, o->nargs == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* The site policy of a job step: $NAM56R_POLICY (the plugin sets it to the
 * policy it used; "none" for the empty one), else the installed one, read
 * with the ownership rule of a site policy. */
static int load_policy(struct n56_policy **out, const char **path)
{
	struct n56_diags d = { 0 };
	const char *env = getenv(N56_ENV_POLICY);
	static const char def[] = NAM56R_SYSCONFDIR "/nam56r/policy.yaml";
	int rc;

	if (env && !strcmp(env, "none")) {
		*path = "none";
		*out = n56_policy_empty();
		rc = *out ? 0 : -1;
	} else if (env || access(def, F_OK) == 0) {
		*path = env ? env : def;
		rc = n56_policy_load_trusted(*path, out, &d);
	} else {
		*path = "none";
		*out = n56_policy_empty();
		rc = *out ? 0 : -1;
	}
	if (rc)
		n56_print_diags(PROG, &d);
	n56_diags_free(&d);
	return rc;
}

/* The recipe the plugin carried: its sha256 must match what the
 * submission recorded. */
static int carried_recipe(struct n56_recipe **out)
{
	const char *b64 = getenv(N56_CARRY_PREFIX N56_CARRY_CONTENT);
	const char *sha = getenv(N56_CARRY_PREFIX N56_CARRY_SHA);
	const char *path = getenv(N56_CARRY_PREFIX N56_CARRY_PATH);
	struct n56_diags d = { 0 };
	char *buf = NULL, hex[65];
	size_t len;
	int rc = -1;

	if (!b64 || n56_base64_decode(b64, &buf, &len)) {
		fprintf(stderr,
			PROG "the plugin ran (" N56_ENV_PLAN_SHA " is "
			     "set) but " N56_CARRY_PREFIX N56_CARRY_CONTENT
			     " is %s\n",
			b64 ? "not base64" : "missing");
		goto out;
	}
	n56_sha256_hex(buf, len, hex);
	if (!sha || strcmp(sha, hex)) {
		fprintf(stderr,
			PROG "the carried recipe has sha256 %.12s, the "
			     "submission recorded %.12s\n",
			hex, sha ? sha : "none");
		goto out;
	}
	if (n56_recipe_parse(path ? path : "recipe", buf, len, out, &d)) {
		n56_print_diags(PROG, &d);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	n56_diags_free(&d);
	return rc;
}

static long env_long(const char *a, const char *b)
{
	const char *v = getenv(a);
	char *end;
	long n;

	if (!v && b)
		v = getenv(b);
	if (!v || !*v)
		return -1;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

/* "python3 train.py" -> argv; NULL-terminated, strings owned. */
static char **split_words(const char *s, size_t *n)
{
	char *copy = strdup(s), *save = NULL;
	char **v = calloc(strlen(s) / 2 + 2, sizeof(*v));

	*n = 0;
	if (!copy || !v) {
		free(copy);
		free(v);
		return NULL;
	}
	for (char *t = strtok_r(copy, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save))
		v[(*n)++] = strdup(t);
	free(copy);
	return v;
}

/* Where a bare command name in runtime.allowed_commands is looked up: the
 * system's own directories, never the user's PATH. */
#define N56_SITE_PATH                                        \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
	"/sbin:/bin"

/* NAME on the search path SEARCH, as a real path (symbolic links
 * resolved): malloc'd, or NULL when no executable file has that name. */
static char *lookup(const char *name, const char *search)
{
	char *copy = strdup(search ? search : N56_SITE_PATH), *save = NULL;
	char *found = NULL;

	if (!copy)
		return NULL;
	for (char *d = strtok_r(copy, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *path = NULL;

		/* An empty entry is the cwd, as for execvp. */
		if (asprintf(&path, "%s/%s", *d ? d : ".", name) < 0)
			break;
		if (access(path, X_OK) == 0)
			found = realpath(path, NULL);
		free(path);
	}
	free(copy);
	return found;
}

/* The program argv0 names, as execvp would find it (through $PATH when it
 * has no '/'), as a real path; NULL with errno when there is none. */
static char *resolve_runtime(const char *argv0)
{
	char *r;

	if (strchr(argv0, '/')) {
		if (access(argv0, X_OK))
			return NULL;
		return realpath(argv0, NULL);
	}
	r = lookup(argv0, getenv("PATH") ? getenv("PATH") : N56_SITE_PATH);
	if (!r)
		errno = ENOENT;
	return r;
}

/* nam56r-policy(5) runtime.allowed_commands: the resolved executable is
 * matched, never the name the user typed. A pattern with a '/' matches the
 * real path ('*' does not cross '/'); a literal path also matches through
 * its own symbolic links. A pattern without '/' matches the command's name
 * when that name, looked up in the system directories (N56_SITE_PATH),
 * is the very same file: a shim earlier in the user's PATH is not. The
 * list says which programs a rank may become; it is not a sandbox (the
 * job script could run anything without the wrapper). */
static bool command_allowed(const struct n56_policy *p, const char *argv0,
			    const char *real)
{
	const struct n56_strlist *l = &p->runtime.allowed_commands;
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (!l->set || !l->n)
		return true;
	for (size_t i = 0; i < l->n; i++) {
		const char *g = l->v[i];
		char *site;
		bool ok;

		if (!g)
			continue;
		if (strchr(g, '/')) {
			if (!fnmatch(g, real, FNM_PATHNAME))
				return true;
			if (strpbrk(g, "*?[") || !(site = realpath(g, NULL)))
				continue;
			ok = !strcmp(site, real);
			free(site);
			if (ok)
				return true;
			continue;
		}
		if (fnmatch(g, base, 0))
			continue;
		site = lookup(base, N56_SITE_PATH);
		ok = site && !strcmp(site, real);
		free(site);
		if (ok)
			return true;
	}
	return false;
}

/* The step's node list: MASTER_ADDR (its first node) and this node's
 * name, borrowed from *hosts. */
static int step_hosts(struct n56_step_facts *f, char ***hosts, size_t *nhosts)
{
	const char *nodelist = getenv("SLURM_STEP_NODELIST");
	char err[512];

	if (!nodelist)
		nodelist = getenv("SLURM_JOB_NODELIST");
	if (!nodelist ||
	    n56_hostlist_expand(nodelist, hosts, nhosts, err, sizeof(err))) {
		fprintf(stderr, PROG "the step's node list: %s\n",
			nodelist ? err : "SLURM_STEP_NODELIST is not set");
		return -1;
	}
	if (!*nhosts) {
		/* Slurm reads an empty list as no node and no error. */
		fprintf(stderr,
			PROG "the step's node list '%s' names no "
			     "node\n",
			nodelist);
		n56_hostlist_free(*hosts, 0);
		*hosts = NULL;
		return -1;
	}
	f->master = *nhosts ? (*hosts)[0] : NULL;
	f->node_name =
		(size_t)f->node_id < *nhosts ? (*hosts)[f->node_id] : NULL;
	f->hosts = *hosts;
	f->nhosts = *nhosts;
	return 0;
}

/* What the rest of SLURM_* says: the step's GPUs (Slurm's numbering,
 * when it set it), the reserved ports, the job id; this task's rank is
 * the only one of its node the wrapper knows. Without the plugin there is
 * no job record for the port's key: the job id picks the port. */
static void step_env_facts(struct n56_step_facts *f, const long *rank)
{
	long job = env_long("SLURM_JOB_ID", NULL);

	f->local_ranks = rank;
	f->nlocal_ranks = 1;
	f->step_gpus = getenv("SLURM_STEP_GPUS");
	if (!f->step_gpus)
		f->step_gpus = getenv("SLURM_JOB_GPUS");
	f->visible_devices = getenv("CUDA_VISIBLE_DEVICES");
	f->resv_ports = getenv("SLURM_STEP_RESV_PORTS");
	f->job_id = job > 0 ? (uint32_t)job : 0;
}

/* The rank's environment: site defaults yield to what the user exported,
 * as in task_init; then the node's shape. */
static int apply_rank_env(const struct n56_env *env,
			  const struct n56_node_shape *shape)
{
	char sig[256];

	for (size_t i = 0; i < env->n; i++) {
		const struct n56_env_entry *e = &env->v[i];

		if (setenv(e->name, e->value,
			   e->origin != N56_ORIGIN_SITE_DEFAULT)) {
			fprintf(stderr, PROG "setenv %s: %s\n", e->name,
				strerror(errno));
			return -1;
		}
	}
	if (n56_shape_signature(shape, sig, sizeof(sig)) ||
	    setenv(N56_ENV_NODE_SHAPE, sig, 1)) {
		fprintf(stderr, PROG "setenv " N56_ENV_NODE_SHAPE ": %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* No plugin: this rank's environment, decided by the step core as for
 * task_init; *gpu gets the node's index of its GPU. */
static int set_rank_env(const struct n56_plan *plan,
			const struct n56_topology *topo,
			struct n56_step_facts *f, long rank, int *gpu)
{
	struct n56_step *s = NULL;
	struct n56_env env = { 0 };
	char err[4096], **hosts = NULL;
	size_t nhosts = 0;
	int rc = -1;

	if (step_hosts(f, &hosts, &nhosts))
		goto out;
	step_env_facts(f, &rank);
	if (n56_step_decide(plan, topo, f, &s, err, sizeof(err)) ||
	    n56_step_rank_env(s, rank, &env, gpu, err, sizeof(err))) {
		n56_print_lines(PROG, err);
		goto out;
	}
	rc = apply_rank_env(&env, &s->shape);
out:
	n56_env_clear(&env);
	n56_step_free(s);
	n56_hostlist_free(hosts, nhosts);
	return rc;
}

/* The plugin set the rank's env in task_init, but whatever ran between it
 * and this exec (srun env X=Y nam56r-launch) could have changed it: apply
 * the plan's fixed policy and patch surface again, as task_init does
 * (site defaults still yield to the user's own export). */
static int apply_plan_env(const struct n56_plan *plan)
{
	const struct n56_env *lists[] = { &plan->fixed_policy,
					  &plan->patch_surface };

	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			const struct n56_env_entry *e = &lists[l]->v[i];

			if (setenv(e->name, e->value,
				   e->origin != N56_ORIGIN_SITE_DEFAULT)) {
				fprintf(stderr, PROG "setenv %s: %s\n", e->name,
					strerror(errno));
				return -1;
			}
		}
	return 0;
}

static struct n56_topology *load_topology(const struct n56_policy *p)
{
	const char *env = getenv(N56_ENV_TOPOLOGY);
	struct n56_topology *t = NULL;
	char path[4096], err[512];

	if (env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		const char *dir =
			p->topology.cache_dir.v && p->topology.cache_dir.v[0]
				? p->topology.cache_dir.v
				: "/var/cache/nam56r";
		snprintf(path, sizeof(path), "%s/topology.xml", dir);
	}
	if (access(path, R_OK))
		return NULL;
	/* The plugin's cache carries its islands; an admin XML does not. */
	if (n56_topology_cache_read(path, &t, err, sizeof(err)) &&
	    n56_topology_load(path, p, NULL, &t, err, sizeof(err))) {
		fprintf(stderr, PROG "topology %s: %s (not binding)\n", path,
			err);
		return NULL;
	}
	return t;
}

/* What n56_cmd_exec holds until the exec. */
struct exec_run {
	struct n56_policy *policy;
	const char *policy_path;
	struct n56_recipe *recipe;
	struct n56_plan *plan;
	struct n56_topology *topo;
	char **cmd; /* the runtime's argv, NULL-terminated */
	size_t ncmd;
};

static void exec_run_free(struct exec_run *x)
{
	for (size_t i = 0; x->cmd && i < x->ncmd; i++)
		free(x->cmd[i]);
	free(x->cmd);
	n56_topology_free(x->topo);
	n56_plan_free(x->plan);
	n56_recipe_free(x->recipe);
	n56_policy_free(x->policy);
}

/* This task's place in the step, from SLURM_*: the step core's counts
 * and task distribution, the same on every rank (a refusal fails the
 * whole step, not the ranks that happen to land on another node). */
static int step_counts(struct n56_step_facts *f, long *rank, long *gpn)
{
	char err[1024];

	*rank = env_long("SLURM_PROCID", NULL);
	f->nnodes = env_long("SLURM_STEP_NUM_NODES", "SLURM_NNODES");
	f->ntasks = env_long("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS");
	f->node_id = env_long("SLURM_NODEID", NULL);
	f->nlocal = -1;
	if (*rank < 0 || f->nnodes <= 0 || f->ntasks <= 0 || f->node_id < 0) {
		fprintf(stderr, PROG
			"not inside a job step (SLURM_PROCID, "
			"SLURM_NNODES, SLURM_NTASKS, SLURM_NODEID): run it "
			"with srun, or use `nam56r-launch local`\n");
		return N56_EXIT_USAGE;
	}
	if (n56_step_tasks_per_node(f, gpn, err, sizeof(err))) {
		fprintf(stderr, PROG "%s\n", err);
		return N56_EXIT_USAGE;
	}
	f->distribution = getenv("SLURM_DISTRIBUTION");
	f->plane_size = getenv("SLURM_DIST_PLANESIZE");
	if (n56_step_distribution(f, *gpn, err, sizeof(err))) {
		fprintf(stderr, PROG "%s\n", err);
		return N56_EXIT_FAIL;
	}
	return N56_EXIT_OK;
}

/* The site policy, the recipe (the plugin's carried one, else --recipe or
 * the built-in) and the plan of the step. */
static int load_plan(const struct exec_opts *o, bool plugin,
		     const struct n56_step_facts *f, long gpn,
		     struct exec_run *x)
{
	struct n56_plan_request req = { f->nnodes, gpn };
	struct n56_diags d = { 0 };
	int rc = N56_EXIT_USAGE;

	/* In a job step the site policy is the one the plugin placed the
	 * step with; a policy the user names would let the rank run what
	 * the site does not allow. */
	if (o->policy) {
		fprintf(stderr,
			PROG "--policy %s: inside a job step the site "
			     "policy applies (%s); --policy is for plan, "
			     "validate and local outside Slurm\n",
			o->policy,
			plugin ? "the one the plugin used"
			       : "$" N56_ENV_POLICY " or " NAM56R_SYSCONFDIR
				 "/nam56r/policy.yaml");
		return rc;
	}
	if (load_policy(&x->policy, &x->policy_path))
		return rc;
	if (plugin) {
		if (o->recipe)
			fprintf(stderr,
				PROG
				"--recipe %s ignored: the plugin "
				"placed this step with the recipe given to "
				"--nam56r-recipe\n",
				o->recipe);
		if (carried_recipe(&x->recipe))
			return rc;
	} else if (o->recipe ? n56_recipe_load(o->recipe, &x->recipe, &d)
			     : n56_recipe_builtin(&x->recipe, &d)) {
		goto out;
	}
	/* the memory fit held to the job's partition, as at submission */
	struct n56_mem_capacity_in cap = { 0, getenv("SLURM_JOB_PARTITION") };

	if (!n56_plan_build_mem(x->recipe, x->policy, &req, &cap, &x->plan, &d))
		rc = N56_EXIT_OK;
out:
	n56_print_diags(PROG, &d);
	n56_diags_free(&d);
	return rc;
}

/* The plugin placed the rank: its plan must be ours, and what ran
 * between task_init and this exec must not have changed the plan's env. */
static int plugin_rank(struct exec_run *x, int *gpu)
{
	const char *want = getenv(N56_ENV_PLAN_SHA);

	if (strcmp(want, x->plan->plan_sha256_hex)) {
		fprintf(stderr,
			PROG "the plan here (%.12s) differs from the "
			     "plugin's (%.12s): is the same policy used? "
			     "(" N56_ENV_POLICY "=%s)\n",
			x->plan->plan_sha256_hex, want, x->policy_path);
		return N56_EXIT_FAIL;
	}
	if (apply_plan_env(x->plan))
		return N56_EXIT_FAIL;
	*gpu = (int)env_long(N56_ENV_GPU, NULL);
	x->topo = load_topology(x->policy);
	return N56_EXIT_OK;
}

/* Bind before the exec; a binding that fails is reported, the rank still
 * runs where Slurm put it. */
static void bind_rank(const struct n56_topology *topo, int gpu, long rank)
{
	char nic[128] = "", msg[512] = "";

	if (!topo || gpu < 0 || gpu >= topo->ngpus)
		return;
	if (n56_bind_rank(topo, gpu, nic, sizeof(nic), msg, sizeof(msg)))
		fprintf(stderr, PROG "rank %ld: %s\n", rank, msg);
	else if (getenv(N56_ENV_VERBOSE))
		fprintf(stderr, PROG "rank %ld: %s\n", rank, msg);
}

/* The runtime: --runtime CMD, the first N ARGS (--runtime-words N, the
 * plugin's wrap=), else the recipe's runtime.command. */
static int runtime_argv(struct exec_opts *o, struct exec_run *x)
{
	if (o->runtime) {
		x->cmd = split_words(o->runtime, &x->ncmd);
	} else if (o->runtime_words) {
		x->cmd = calloc((size_t)o->runtime_words + 1, sizeof(*x->cmd));
		for (long i = 0; x->cmd && i < o->runtime_words; i++)
			x->cmd[x->ncmd++] = strdup(o->args[i]);
		o->args += o->runtime_words;
		o->nargs -= (int)o->runtime_words;
	} else {
		x->cmd = calloc(x->plan->ncommand + 1, sizeof(*x->cmd));
		for (size_t i = 0; x->cmd && i < x->plan->ncommand; i++)
			x->cmd[x->ncmd++] = strdup(x->plan->command[i]);
	}
	if (!x->cmd || !x->ncmd || !x->cmd[0]) {
		fprintf(stderr,
			PROG "no runtime to exec: the recipe has no "
			     "runtime.command (or give --runtime CMD)\n");
		return N56_EXIT_USAGE;
	}
	return N56_EXIT_OK;
}

/* Execs the runtime the policy allows with the generated args, then the
 * user's; returns only on failure, with the exit status. */
static int exec_runtime(const struct exec_opts *o, struct exec_run *x)
{
	char **merged = NULL, ** final = NULL, *real, err[1024];
	size_t nmerged = 0;
	int rc = N56_EXIT_USAGE;

	real = resolve_runtime(x->cmd[0]);
	if (!real) {
		fprintf(stderr, PROG "exec %s: %s\n", x->cmd[0],
			strerror(errno));
		return N56_EXIT_EXEC;
	}
	if (!command_allowed(x->policy, x->cmd[0], real)) {
		fprintf(stderr,
			PROG "runtime '%s' is not allowed by the site "
			     "policy %s (runtime.allowed_commands; it is %s)\n",
			x->cmd[0], x->policy_path, real);
		goto out;
	}
	if (n56_args_merge(x->plan->argv, x->plan->argc, o->args,
			   (size_t)o->nargs, &merged, &nmerged, err,
			   sizeof(err))) {
		fprintf(stderr, PROG "%s\n", err);
		goto out;
	}
	final = calloc(x->ncmd + nmerged + 1, sizeof(*final));
	if (!final) {
		rc = N56_EXIT_FAIL;
		goto out;
	}
	memcpy(final, x->cmd, x->ncmd * sizeof(*final));
	memcpy(final + x->ncmd, merged, nmerged * sizeof(*final));
	fflush(NULL);
	/* The file that was checked, not another PATH lookup. */
	execv(real, final);
	fprintf(stderr, PROG "exec %s: %s\n", final[0], strerror(errno));
	rc = N56_EXIT_EXEC;
out:
	free(real);
	free(final);
	free(merged);
	return rc;
}

int n56_cmd_exec(int argc, char **argv)
{
	struct exec_opts o;
	struct exec_run x = { 0 };
	struct n56_step_facts f = { 0 };
	bool plugin = getenv(N56_ENV_PLAN_SHA) != NULL;
	long rank, gpn;
	int rc, gpu = -1;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc > 0 ? N56_EXIT_OK : N56_EXIT_USAGE;
	if ((rc = step_counts(&f, &rank, &gpn)) ||
	    (rc = load_plan(&o, plugin, &f, gpn, &x)))
		goto out;
	if (plugin) {
		rc = plugin_rank(&x, &gpu);
	} else {
		struct n56_diags d = { 0 };

		/* island_source slurm-block: the blocks beside $SLURM_CONF,
		 * as the plugin reads them in slurmstepd. */
		if (n56_policy_slurm_blocks(x.policy, getenv("SLURM_CONF"),
					    &d)) {
			n56_print_diags(PROG, &d);
			n56_diags_free(&d);
			rc = N56_EXIT_FAIL;
			goto out;
		}
		x.topo = load_topology(x.policy);
		if (set_rank_env(x.plan, x.topo, &f, rank, &gpu))
			rc = N56_EXIT_FAIL;
	}
	if (rc)
		goto out;
	bind_rank(x.topo, gpu, rank);
	rc = runtime_argv(&o, &x);
	if (!rc)
		rc = exec_runtime(&o, &x);
out:
	exec_run_free(&x);
	return rc;
}
