/* nam56r-launch inside a job step: exec the training runtime with the
 * generated native args only. When the SPANK plugin ran (NAM56R_PLAN_SHA256
 * is set), the rank's environment is already there and the recipe is the
 * content carried from submission; without the plugin the same environment
 * is computed here from SLURM_* and set before the exec. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/plan.h"
#include "spank/n56spank.h"
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
	char **args; /* after `--` (or the first non-option word) */
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
		"policy\n                ($NAM56R_POLICY, set by the plugin, "
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
		"nam56r-launch(1), spank_nam56r(8).\n", NAM56R_SYSCONFDIR);
}

/* 0 ok, 1 --help shown, -1 usage error (message printed). */
static int parse_opts(int argc, char **argv, struct exec_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			exec_usage(stdout);
			return 1;
		}
		if (!strncmp(a, "--runtime-words", 15) &&
		    (!a[15] || a[15] == '=')) {
			const char *v = a[15] ? a + 16 :
					i + 1 < argc ? argv[++i] : NULL;
			char *end;

			errno = 0;
			o->runtime_words = v ? strtol(v, &end, 10) : 0;
			if (!v || !*v || *end || errno ||
			    o->runtime_words < 1 || o->runtime_words > 64) {
				fprintf(stderr, PROG "--runtime-words needs a "
					"number from 1 to 64, not '%s'\n",
					v ? v : "");
				return -1;
			}
			continue;
		}
		if (!strncmp(a, "--recipe", 8))
			dst = &o->recipe;
		else if (!strncmp(a, "--policy", 8))
			dst = &o->policy;
		else if (!strncmp(a, "--runtime", 9))
			dst = &o->runtime;
		if (!dst) {
			if (a[0] == '-') {
				fprintf(stderr, PROG "unknown option '%s' "
					"(runtime arguments go after --)\n", a);
				return -1;
			}
			break;
		}
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen != (dst == &o->runtime ? 9u : 8u)) {
			fprintf(stderr, PROG "unknown option '%s'\n", a);
			return -1;
		}
		if (eq) {
			*dst = eq + 1;
		} else if (i + 1 < argc) {
			*dst = argv[++i];
		} else {
			fprintf(stderr, PROG "%s needs a value\n", a);
			return -1;
		}
	}
	o->args = argv + i;
	o->nargs = argc - i;
	if (o->runtime_words && o->runtime) {
		fprintf(stderr, PROG "--runtime and --runtime-words exclude "
			"each other\n");
		return -1;
	}
	if (o->runtime_words > o->nargs) {
		fprintf(stderr, PROG "--runtime-words %ld, but only %d "
			"argument%s follow\n", o->runtime_words, o->nargs,
			o->nargs == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* The site policy of a job step: $NAM56R_POLICY (the plugin sets it to the
 * policy it used; "none" for the empty one), else the installed one, read
 * with the ownership rule of a site policy. */
static int load_policy(struct n56_policy **out, const char **path)
{
	struct n56_diags d = {0};
	const char *env = getenv("NAM56R_POLICY");
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
	struct n56_diags d = {0};
	char *buf = NULL, hex[65];
	size_t len;
	int rc = -1;

	if (!b64 || n56_base64_decode(b64, &buf, &len)) {
		fprintf(stderr, PROG "the plugin ran (NAM56R_PLAN_SHA256 is "
			"set) but " N56_CARRY_PREFIX N56_CARRY_CONTENT " is %s\n",
			b64 ? "not base64" : "missing");
		goto out;
	}
	n56_sha256_hex(buf, len, hex);
	if (!sha || strcmp(sha, hex)) {
		fprintf(stderr, PROG "the carried recipe has sha256 %.12s, the "
			"submission recorded %.12s\n", hex, sha ? sha : "none");
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
#define N56_SITE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
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

/* CUDA_VISIBLE_DEVICES in the numbering of the GPUs Slurm gave the step. */
static char *translate_devices(const char *ours, const char *slurm)
{
	char *out = NULL, *a = strdup(ours), *b = strdup(slurm);
	char *sv = NULL, *list[N56_MAX_GPUS_PER_NODE];
	size_t n = 0, len = 0;
	FILE *f = NULL;

	if (!a || !b)
		goto out;
	for (char *t = strtok_r(b, ",", &sv); t && n < N56_MAX_GPUS_PER_NODE;
	     t = strtok_r(NULL, ",", &sv))
		list[n++] = t;
	f = open_memstream(&out, &len);
	if (!f)
		goto out;
	sv = NULL;
	int first = 1;
	for (char *t = strtok_r(a, ",", &sv); t;
	     t = strtok_r(NULL, ",", &sv), first = 0) {
		long i = strtol(t, NULL, 10);

		if (i < 0 || (size_t)i >= n) {
			fclose(f);
			free(out);
			out = NULL;
			goto out;
		}
		fprintf(f, "%s%s", first ? "" : ",", list[i]);
	}
	fclose(f);
out:
	free(a);
	free(b);
	return out;
}

/* DESIGN.md "Placement", as the plugin checks it: the admin map's islands
 * for this node agree with the node's own, and the node has one GPU per
 * rank of the step. 0 when placement may go on, -1 after the message. */
static int check_node(const struct n56_plan *plan,
		      const struct n56_policy *policy,
		      const struct n56_topology *topo,
		      const struct n56_node_shape *shape, const char *host)
{
	struct n56_node_shape own, map, step;
	const char *by = NULL;
	char dom[256], why[1024];
	int r;

	if (n56_topology_own_shape(topo, &own, &by, why, sizeof(why)))
		return 0;
	r = n56_admin_map_shape(policy, host, own.gpus, &map, dom,
				sizeof(dom), why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, PROG "topology: %s\n", why);
		return -1;
	}
	struct n56_shape_view a = {&map, n56_site_islands_by(policy), dom};
	struct n56_shape_view s = {&own, by, NULL};
	char fix[1024];
	n56_site_islands_fix(policy, NULL, fix, sizeof(fix));
	if (r > 0 && n56_shape_check(&a, &s, host, why, sizeof(why))) {
		fprintf(stderr, PROG "%s; fix %s or the node, or run with "
			"island_source per-node\n", why, fix);
		return -1;
	}
	n56_node_shape_assumed(&step, (int)plan->gpus_per_node);
	a = (struct n56_shape_view){&step, "the step", NULL};
	s = (struct n56_shape_view){shape, "hwloc", NULL};
	if (step.gpus != shape->gpus &&
	    n56_shape_check(&a, &s, host, why, sizeof(why))) {
		fprintf(stderr, PROG "%s (topology %s): run one rank per GPU "
			"(srun --ntasks-per-node=%d)\n", why, topo->source,
			shape->gpus);
		return -1;
	}
	return 0;
}

/* No plugin: this rank's environment, computed as task_init would. */
static int set_rank_env(const struct n56_plan *plan,
			const struct n56_policy *policy,
			struct n56_topology *topo, long rank, long node,
			int *gpu)
{
	struct n56_node_shape shape;
	struct n56_placer *pl = NULL;
	struct n56_place_report rep;
	struct n56_rank_place place;
	struct n56_env env = {0};
	char err[512], **hosts = NULL;
	size_t nhosts = 0;
	const char *nodelist = getenv("SLURM_STEP_NODELIST");
	int rc = -1;

	if (!nodelist)
		nodelist = getenv("SLURM_JOB_NODELIST");
	if (!nodelist || n56_hostlist_expand(nodelist, &hosts, &nhosts, err,
					     sizeof(err))) {
		fprintf(stderr, PROG "the step's node list: %s\n",
			nodelist ? err : "SLURM_STEP_NODELIST is not set");
		goto out;
	}
	if (!topo || n56_topology_shape(topo, &shape, err, sizeof(err)))
		n56_node_shape_assumed(&shape, (int)plan->gpus_per_node);
	else if (check_node(plan, policy, topo, &shape,
			    node >= 0 && (size_t)node < nhosts ? hosts[node] :
			    NULL))
		goto out;
	if (n56_placer_new(&plan->par, &shape, plan->nodes, &pl, &rep, err,
			   sizeof(err))) {
		fprintf(stderr, PROG "placement: %s\n", err);
		goto out;
	}
	/* island_source slurm-block: no TP or expert group across blocks. */
	char berr[2048];
	if (n56_placer_slurm_blocks(pl, policy, hosts, nhosts, &rep, berr,
				    sizeof(berr))) {
		fprintf(stderr, PROG "placement: %s\n", berr);
		goto out;
	}
	if (!rep.tp_in_island && policy->topology.require_tp_in_island.v) {
		fprintf(stderr, PROG "placement: %s (the site policy requires "
			"every TP group inside one NVLink island)\n", rep.why);
		goto out;
	}
	n56_place_rank(pl, rank, &place);
	if (place.node != node) {
		fprintf(stderr, PROG "rank %ld is placed on node %ld but runs "
			"on node %ld; use the block distribution (srun -m "
			"block)\n", rank, place.node, node);
		goto out;
	}
	*gpu = place.gpu;
	long base = policy->record.master_port.v > 0 ?
		    policy->record.master_port.v : 29500;
	long job = env_long("SLURM_JOB_ID", NULL);
	int port = (int)(base + (job > 0 ? job % 1000 : 0));
	/* Slurm's reservation (MpiParams=ports) wins; without the plugin
	 * there is no job record to compute a collision-free port from, so
	 * the job id picks one (spank_nam56r(8), MASTER PORT). */
	const char *resv = getenv("SLURM_STEP_RESV_PORTS");
	if (resv && n56_resv_ports_first(resv, &port)) {
		fprintf(stderr, PROG "SLURM_STEP_RESV_PORTS is '%.64s', not a "
			"port range\n", resv);
		goto out;
	}
	const char *nic = topo && place.gpu < topo->ngpus ?
			  topo->gpus[place.gpu].nic : NULL;
	if (n56_rank_env(plan, pl, rank, hosts[0],
			 port, nic, &env,
			 err, sizeof(err))) {
		fprintf(stderr, PROG "per-rank environment: %s\n", err);
		goto out;
	}
	const char *slurm_gpus = getenv("CUDA_VISIBLE_DEVICES");
	char *slurm_copy = slurm_gpus ? strdup(slurm_gpus) : NULL;
	/* A rank never goes to a GPU Slurm did not give the step. */
	if (slurm_gpus) {
		long k = *slurm_gpus ? 1 : 0;

		for (const char *c = slurm_gpus; *c; c++)
			k += *c == ',';
		if (k != plan->gpus_per_node) {
			fprintf(stderr, PROG "Slurm gave this step %ld GPUs "
				"(%.256s) for %ld ranks on this node: a NAM56R "
				"step runs one rank per GPU of the step (srun "
				"--ntasks-per-node=%ld, or give the step %ld "
				"GPUs with --gpus-per-node=%ld)\n", k,
				slurm_gpus, plan->gpus_per_node, k,
				plan->gpus_per_node, plan->gpus_per_node);
			free(slurm_copy);
			goto out;
		}
	}
	for (size_t i = 0; i < env.n; i++) {
		const struct n56_env_entry *e = &env.v[i];
		char *dev = NULL;

		if (slurm_copy && !strcmp(e->name, "CUDA_VISIBLE_DEVICES")) {
			dev = translate_devices(e->value, slurm_copy);
			if (!dev) {
				fprintf(stderr, PROG "placement put a rank "
					"outside the GPUs Slurm gave the step "
					"(%s of %s)\n", e->value, slurm_copy);
				free(slurm_copy);
				goto out;
			}
		}
		/* Site defaults yield to what the user exported. */
		if (setenv(e->name, dev ? dev : e->value,
			   e->origin != N56_ORIGIN_SITE_DEFAULT)) {
			fprintf(stderr, PROG "setenv %s: %s\n", e->name,
				strerror(errno));
			free(dev);
			free(slurm_copy);
			goto out;
		}
		free(dev);
	}
	free(slurm_copy);
	if (n56_shape_signature(&shape, err, sizeof(err)) ||
	    setenv(N56_ENV_NODE_SHAPE, err, 1)) {
		fprintf(stderr, PROG "setenv " N56_ENV_NODE_SHAPE ": %s\n",
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	n56_env_clear(&env);
	n56_placer_free(pl);
	n56_hostlist_free(hosts, nhosts);
	return rc;
}

/* The plugin set the rank's env in task_init, but whatever ran between it
 * and this exec (srun env X=Y nam56r-launch) could have changed it: apply
 * the plan's fixed policy and patch surface again, as task_init does
 * (site defaults still yield to the user's own export). */
static int apply_plan_env(const struct n56_plan *plan)
{
	const struct n56_env *lists[] = {&plan->fixed_policy,
					 &plan->patch_surface};

	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			const struct n56_env_entry *e = &lists[l]->v[i];

			if (setenv(e->name, e->value,
				   e->origin != N56_ORIGIN_SITE_DEFAULT)) {
				fprintf(stderr, PROG "setenv %s: %s\n",
					e->name, strerror(errno));
				return -1;
			}
		}
	return 0;
}

static struct n56_topology *load_topology(const struct n56_policy *p)
{
	const char *env = getenv("NAM56R_TOPOLOGY");
	struct n56_topology *t = NULL;
	char path[4096], err[512];

	if (env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		const char *dir = p->topology.cache_dir.v &&
				  p->topology.cache_dir.v[0] ?
				  p->topology.cache_dir.v : "/var/cache/nam56r";
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

int n56_cmd_exec(int argc, char **argv)
{
	struct exec_opts o;
	struct n56_policy *policy = NULL;
	struct n56_recipe *recipe = NULL;
	struct n56_plan *plan = NULL;
	struct n56_topology *topo = NULL;
	struct n56_diags d = {0};
	const char *policy_path;
	char **cmd = NULL, **merged = NULL, **final = NULL, *real = NULL;
	size_t ncmd = 0, nmerged = 0;
	char err[1024];
	int rc = N56_EXIT_USAGE, gpu = -1;
	bool plugin = getenv("NAM56R_PLAN_SHA256") != NULL;

	int p = parse_opts(argc, argv, &o);
	if (p)
		return p > 0 ? N56_EXIT_OK : N56_EXIT_USAGE;
	long rank = env_long("SLURM_PROCID", NULL);
	long nodes = env_long("SLURM_STEP_NUM_NODES", "SLURM_NNODES");
	long ntasks = env_long("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS");
	long node = env_long("SLURM_NODEID", NULL);
	if (rank < 0 || nodes <= 0 || ntasks <= 0 || node < 0) {
		fprintf(stderr, PROG "not inside a job step (SLURM_PROCID, "
			"SLURM_NNODES, SLURM_NTASKS, SLURM_NODEID): run it "
			"with srun, or use `nam56r-launch local`\n");
		goto out;
	}
	if (ntasks % nodes) {
		fprintf(stderr, PROG "the step runs %ld tasks on %ld nodes; "
			"a NAM56R step runs the same number of ranks on every "
			"node (srun --ntasks-per-node=G)\n", ntasks, nodes);
		goto out;
	}
	/* Every rank sees the same distribution: refusing it here fails the
	 * whole step, not the ranks that happen to land on another node. */
	if (n56_distribution_check(getenv("SLURM_DISTRIBUTION"),
				   getenv("SLURM_DIST_PLANESIZE"),
				   ntasks / nodes, err, sizeof(err))) {
		fprintf(stderr, PROG "%s\n", err);
		rc = N56_EXIT_FAIL;
		goto out;
	}
	/* In a job step the site policy is the one the plugin placed the
	 * step with; a policy the user names would let the rank run what the
	 * site does not allow. */
	if (o.policy) {
		fprintf(stderr, PROG "--policy %s: inside a job step the site "
			"policy applies (%s); --policy is for plan, "
			"validate and local outside Slurm\n", o.policy,
			plugin ? "the one the plugin used" :
			"$NAM56R_POLICY or " NAM56R_SYSCONFDIR
			"/nam56r/policy.yaml");
		goto out;
	}
	if (load_policy(&policy, &policy_path))
		goto out;
	if (plugin) {
		if (o.recipe)
			fprintf(stderr, PROG "--recipe %s ignored: the plugin "
				"placed this step with the recipe given to "
				"--nam56r-recipe\n", o.recipe);
		if (carried_recipe(&recipe))
			goto out;
	} else if (o.recipe ? n56_recipe_load(o.recipe, &recipe, &d) :
		   n56_recipe_builtin(&recipe, &d)) {
		n56_print_diags(PROG, &d);
		goto out;
	}
	struct n56_plan_request req = {nodes, ntasks / nodes};
	if (n56_plan_build(recipe, policy, &req, &plan, &d)) {
		n56_print_diags(PROG, &d);
		goto out;
	}
	if (plugin) {
		const char *want = getenv("NAM56R_PLAN_SHA256");

		if (strcmp(want, plan->plan_sha256_hex)) {
			fprintf(stderr, PROG "the plan here (%.12s) differs "
				"from the plugin's (%.12s): is the same policy "
				"used? (NAM56R_POLICY=%s)\n",
				plan->plan_sha256_hex, want, policy_path);
			rc = N56_EXIT_FAIL;
			goto out;
		}
		if (apply_plan_env(plan)) {
			rc = N56_EXIT_FAIL;
			goto out;
		}
		gpu = (int)env_long("NAM56R_GPU", NULL);
		topo = load_topology(policy);
	} else {
		if (n56_policy_slurm_blocks(policy, getenv("SLURM_CONF"), &d)) {
			n56_print_diags(PROG, &d);
			rc = N56_EXIT_FAIL;
			goto out;
		}
		topo = load_topology(policy);
		if (set_rank_env(plan, policy, topo, rank, node, &gpu)) {
			rc = N56_EXIT_FAIL;
			goto out;
		}
	}
	/* Bind before the exec; a binding that fails is reported, the rank
	 * still runs where Slurm put it. */
	if (topo && gpu >= 0 && gpu < topo->ngpus) {
		char nic[128] = "", msg[512] = "";

		if (n56_bind_rank(topo, gpu, nic, sizeof(nic), msg,
				  sizeof(msg)))
			fprintf(stderr, PROG "rank %ld: %s\n", rank, msg);
		else if (getenv("NAM56R_VERBOSE"))
			fprintf(stderr, PROG "rank %ld: %s\n", rank, msg);
	}
	if (o.runtime) {
		cmd = split_words(o.runtime, &ncmd);
	} else if (o.runtime_words) {
		/* The step's own command line, as the plugin's wrap= found
		 * it: the runtime, then the user's args (merged as ever). */
		cmd = calloc((size_t)o.runtime_words + 1, sizeof(*cmd));
		for (long i = 0; cmd && i < o.runtime_words; i++)
			cmd[ncmd++] = strdup(o.args[i]);
		o.args += o.runtime_words;
		o.nargs -= (int)o.runtime_words;
	} else {
		cmd = calloc(plan->ncommand + 1, sizeof(*cmd));
		for (size_t i = 0; cmd && i < plan->ncommand; i++)
			cmd[ncmd++] = strdup(plan->command[i]);
	}
	if (!cmd || !ncmd || !cmd[0]) {
		fprintf(stderr, PROG "no runtime to exec: the recipe has no "
			"runtime.command (or give --runtime CMD)\n");
		goto out;
	}
	real = resolve_runtime(cmd[0]);
	if (!real) {
		fprintf(stderr, PROG "exec %s: %s\n", cmd[0], strerror(errno));
		rc = N56_EXIT_EXEC;
		goto out;
	}
	if (!command_allowed(policy, cmd[0], real)) {
		fprintf(stderr, PROG "runtime '%s' is not allowed by the site "
			"policy %s (runtime.allowed_commands; it is %s)\n",
			cmd[0], policy_path, real);
		goto out;
	}
	if (n56_args_merge(plan->argv, plan->argc, o.args, (size_t)o.nargs,
			   &merged, &nmerged, err, sizeof(err))) {
		fprintf(stderr, PROG "%s\n", err);
		goto out;
	}
	final = calloc(ncmd + nmerged + 1, sizeof(*final));
	if (!final) {
		rc = N56_EXIT_FAIL;
		goto out;
	}
	memcpy(final, cmd, ncmd * sizeof(*final));
	memcpy(final + ncmd, merged, nmerged * sizeof(*final));
	fflush(NULL);
	/* The file that was checked, not another PATH lookup. */
	execv(real, final);
	fprintf(stderr, PROG "exec %s: %s\n", final[0], strerror(errno));
	rc = N56_EXIT_EXEC;
out:
	free(real);
	free(final);
	free(merged);
	for (size_t i = 0; cmd && i < ncmd; i++)
		free(cmd[i]);
	free(cmd);
	n56_topology_free(topo);
	if (plan)
		n56_plan_free(plan);
	n56_recipe_free(recipe);
	n56_policy_free(policy);
	n56_diags_free(&d);
	return rc;
}
