/* slurmstepd side. The plan of the step is built once per node in
 * init_post_opt (as root, before the tasks fork; it reads only the carried
 * content, the admin's policy and the root-owned topology cache, never a
 * path a user gave), and each task applies its own rank's environment in
 * task_init. The decisions are the step core's (step/core.h): this file
 * gathers Slurm's facts for it and applies or reports what it says.
 * Nothing here returns an error before task_init: an error from init,
 * init_post_opt or user_init drains the node, so every problem is stored
 * and raised from task_init, which fails the job and only the job. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/memory.h"
#include "spank/plugin.h"
#include "topology/rankenv.h"

/* Step ids at or above this are Slurm's own (batch script, extern step,
 * interactive step): not training ranks. */
#define N56_FIRST_SPECIAL_STEP 0xfffffff0u

void n56_remote_fail(const char *fmt, ...)
{
	char *line = NULL, *joined = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (!line)
		return;
	if (asprintf(&joined, "%s%s%s", n56_st.error ? n56_st.error : "",
		     n56_st.error ? "\n" : "", line) >= 0) {
		free(n56_st.error);
		n56_st.error = joined;
	}
	free(line);
}

int n56_remote_init(spank_t sp, int ac, char **av)
{
	(void)sp;
	n56_st.args_ok =
		n56_spank_args_parse(ac, av, &n56_st.args, n56_st.args_err,
				     sizeof(n56_st.args_err)) == 0;
	if (!n56_st.args_ok)
		slurm_error(N56_LOG_PREFIX "plugstack.conf: %s",
			    n56_st.args_err);
	return 0;
}

/* Only the option's text reaches slurmstepd: remember that it was given,
 * never open it (we are root here). */
int n56_remote_option(const char *optval)
{
	n56_st.opt_seen = true;
	n56_st.opt_none = optval && !strcmp(optval, "none");
	return 0;
}

/* A value from the job's environment (the user's to set: bounded, so that
 * a huge variable cannot make slurmstepd allocate without end). */
static char *job_getenv(spank_t sp, const char *name)
{
	int len = 4096;

	for (int tries = 0; tries < 4; tries++, len *= 4) {
		char *buf = malloc((size_t)len);
		spank_err_t e;

		if (!buf)
			return NULL;
		e = spank_getenv(sp, name, buf, len);
		if (e == ESPANK_SUCCESS)
			return buf;
		free(buf);
		if (e != ESPANK_NOSPACE)
			return NULL;
	}
	return NULL;
}

/* The recipe as submitted: content, sha256 and name from the job env. */
static struct n56_recipe *carried_recipe(spank_t sp)
{
	char *b64 = job_getenv(sp, N56_CARRY_PREFIX N56_CARRY_CONTENT);
	char *sha = job_getenv(sp, N56_CARRY_PREFIX N56_CARRY_SHA);
	char *path = job_getenv(sp, N56_CARRY_PREFIX N56_CARRY_PATH);
	struct n56_recipe *r = NULL;
	struct n56_diags d = { 0 };
	char *buf = NULL, hex[65];
	size_t len;

	if (!b64) {
		n56_remote_fail(
			"the recipe given with --nam56r-recipe did "
			"not reach this node (" N56_CARRY_PREFIX
				N56_CARRY_CONTENT " is missing from the job "
			"environment; do not unset " N56_CARRY_PREFIX "* "
			"variables)");
		goto out;
	}
	if (n56_base64_decode(b64, &buf, &len)) {
		n56_remote_fail("the carried recipe is not valid base64");
		goto out;
	}
	n56_sha256_hex(buf, len, hex);
	if (!sha || strcmp(sha, hex)) {
		n56_remote_fail("the carried recipe has sha256 %.12s but the "
				"submission recorded %.12s; submit again",
				hex, sha ? sha : "(none)");
		goto out;
	}
	if (n56_recipe_parse(path ? path : "recipe", buf, len, &r, &d))
		n56_spank_diags(&d, N56_DIAGS_STEP, NULL);
out:
	n56_diags_free(&d);
	free(buf);
	free(b64);
	free(sha);
	free(path);
	return r;
}

static int get_u32(spank_t sp, spank_item_t item, uint32_t *v, const char *what)
{
	spank_err_t e = spank_get_item(sp, item, v);

	if (e != ESPANK_SUCCESS) {
		n56_remote_fail("cannot read %s from Slurm: %s", what,
				spank_strerror(e));
		return -1;
	}
	return 0;
}

/* No cache yet (slurmd started before the plugin was configured): the
 * first step discovers the node live, as root, and writes the cache. */
static int discover(const char *path, const char *dir, char *err, size_t errlen)
{
	char werr[512];

	/* slurmstepd runs threads: leave its environment alone. */
	struct n56_topology_opts o = { .nvml = true, .threaded = true };

	if (n56_topology_load_opts(&o, n56_st.policy, n56_st.node_name,
				   &n56_st.topo, err, errlen))
		return -1;
	struct n56_diags d = { 0 };

	if (mkdir(dir, 0755) && errno != EEXIST)
		snprintf(werr, sizeof(werr), "mkdir %s: %s", dir,
			 strerror(errno));
	else if (n56_path_trusted("the topology cache directory", dir, true,
				  &d))
		n56_diag_format(&d.v[0], werr, sizeof(werr));
	else if (!n56_topology_cache_write(n56_st.topo, path, werr,
					   sizeof(werr)))
		return 0;
	n56_diags_free(&d);
	slurm_info(N56_LOG_PREFIX "topology cache %s not written: %s", path,
		   werr);
	return 0;
}

/* A load with the admin map failed where one without it succeeds: the map
 * contradicts this node (a GPU it does not have, a bad list for it). */
static bool admin_map_broke_load(const char *path)
{
	struct n56_topology_opts o = { .xml = n56_st.args.topology,
				       .nvml = !n56_st.args.topology,
				       .threaded = true };
	struct n56_topology *t = NULL;
	char err[512];
	bool broke;

	if (!n56_st.policy || !n56_st.policy->topology.nislands ||
	    (!n56_st.args.topology && access(path, F_OK) == 0))
		return false;
	broke = !n56_topology_load_opts(&o, NULL, n56_st.node_name, &t, err,
					sizeof(err));
	n56_topology_free(t);
	return broke;
}

static int trusted(const char *what, const char *path, bool is_dir)
{
	struct n56_diags d = { 0 };
	int rc = n56_path_trusted(what, path, is_dir, &d);

	if (rc)
		n56_spank_diags(&d, N56_DIAGS_STEP, NULL);
	n56_diags_free(&d);
	return rc;
}

/* The node's topology: the admin's XML (plugstack topology=), else the
 * node cache the slurmd context wrote (a live discovery writes it when
 * there is none). Loading is all this does; the step core decides what
 * the node's shape means for the step. No usable topology leaves
 * n56_st.topo NULL (one island per node assumed); -1 fails the step. */
static int load_topology(void)
{
	char err[512] = "", path[4096];
	const char *dir = n56_spank_cache_dir(&n56_st.args, n56_st.policy);
	int rc;

	/* slurmstepd runs threads: the loads leave its environment alone. */
	struct n56_topology_opts o = { .xml = path, .threaded = true };

	/* Root reads these: the policy's rule (owned by root, not writable
	 * by others, no user's link along the name), or the step fails. */
	if (n56_st.args.topology) {
		snprintf(path, sizeof(path), "%s", n56_st.args.topology);
		if (trusted("the topology XML", path, false))
			return -1;
		rc = n56_topology_load_opts(&o, n56_st.policy, n56_st.node_name,
					    &n56_st.topo, err, sizeof(err));
	} else {
		snprintf(path, sizeof(path), "%s/topology.xml", dir);
		o.cache = true;
		if (access(dir, F_OK) == 0 &&
		    trusted("the topology cache directory", dir, true))
			return -1;
		if (access(path, F_OK) == 0) {
			if (trusted("the topology cache", path, false))
				return -1;
			rc = n56_topology_load_opts(&o, NULL, "", &n56_st.topo,
						    err, sizeof(err));
		} else {
			rc = discover(path, dir, err, sizeof(err));
		}
	}
	if (rc && admin_map_broke_load(path)) {
		n56_remote_fail("topology: %s", err);
		return -1;
	}
	if (!rc) {
		n56_st.topo_path = strdup(path);
		return 0;
	}
	slurm_info(N56_LOG_PREFIX "no topology (%s): one island per node "
				  "assumed",
		   err);
	n56_topology_free(n56_st.topo);
	n56_st.topo = NULL;
	return 0;
}

/* spank_nam56r(8) SITE POLICY: one policy for the whole step. The
 * submission carries the sha256 of the policy it validated with (the srun
 * that starts the step, else sbatch); a node that reads other bytes fails
 * the step, whichever of the two changed. */
static int same_policy(spank_t sp)
{
	char *want = job_getenv(sp, N56_CARRY_PREFIX N56_CARRY_POLICY_SHA);
	int rc = 0;

	if (want && strcmp(want, n56_st.policy->sha256_hex)) {
		n56_remote_fail(
			"the site policy %s on %s (sha256 %.12s) is not "
			"the one this step was submitted with (%.12s): "
			"it changed in between; start the step again "
			"(replace the policy with a rename, never in "
			"place)",
			n56_st.policy_path ? n56_st.policy_path : "(none)",
			n56_st.node_name ? n56_st.node_name : "this node",
			n56_st.policy->sha256_hex, want);
		rc = -1;
	}
	free(want);
	return rc;
}

/* The bytes this node's plan used, as a root-owned file for the step's
 * ranks: nam56r-launch reads it (NAM56R_POLICY) instead of the site file,
 * which may have been replaced since. Removed when the step ends. The
 * node's name is in the file's: a cache_dir that several nodes share
 * (a shared file system, or the test cluster's nodes on one host) must
 * not let one node's step end remove the copy another node's ranks read. */
static void policy_snapshot(void)
{
	const struct n56_policy *p = n56_st.policy;
	const char *dir = n56_spank_cache_dir(&n56_st.args, p);
	char *path = NULL, *tmp = NULL;
	struct n56_diags d = { 0 };
	int fd = -1;

	if (n56_st.args.no_policy || !p->content)
		return;
	if (mkdir(dir, 0755) && errno != EEXIST)
		goto fail;
	if (n56_path_trusted("the step's policy directory", dir, true, &d))
		goto fail;
	if (asprintf(&path, "%s/policy-%u.%u.%s.yaml", dir, n56_st.job_id,
		     n56_st.step_id,
		     n56_st.node_name ? n56_st.node_name : "node") < 0) {
		path = NULL;
		goto fail;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto fail;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0644) ||
	    write(fd, p->content, p->content_len) != (ssize_t)p->content_len ||
	    close(fd) || rename(tmp, path)) {
		if (fd >= 0)
			unlink(tmp);
		goto fail;
	}
	n56_st.policy_copy = path;
	free(tmp);
	n56_diags_free(&d);
	return;
fail:
	slurm_info(N56_LOG_PREFIX "no per-step copy of the policy in %s (%s): "
				  "the ranks read %s",
		   dir, d.n ? d.v[0].msg : strerror(errno), n56_st.policy_path);
	free(path);
	free(tmp);
	n56_diags_free(&d);
}

/* What the job environment says about the step: copies, freed together
 * once the step is placed. */
struct step_env {
	uint32_t ntasks, nlocal;
	char *dist, *plane, *resv, *step_gpus, *cvd;
	char key[1024]; /* the job's CPUs (or GPUs) on the step's first node */
	long *local_ranks;
};

static void step_env_free(struct step_env *e)
{
	free(e->dist);
	free(e->plane);
	free(e->resv);
	free(e->step_gpus);
	free(e->cvd);
	free(e->local_ranks);
}

/* Whether this step's tasks are NAM56R ranks to place: not a step that
 * opted out, not Slurm's own (batch script, extern, interactive). */
static bool training_step(spank_t sp)
{
	char *carried = job_getenv(sp, N56_CARRY_PREFIX N56_CARRY_CONTENT);

	n56_st.active = (n56_st.opt_seen || carried) && !n56_st.opt_none;
	free(carried);
	if (!n56_st.active)
		return false;
	if (spank_get_item(sp, S_JOB_STEPID, &n56_st.step_id) ==
		    ESPANK_SUCCESS &&
	    n56_st.step_id >= N56_FIRST_SPECIAL_STEP) {
		n56_st.batch_step = true;
		return false;
	}
	if (!n56_st.args_ok) {
		n56_remote_fail("plugstack.conf: %s", n56_st.args_err);
		return false;
	}
	return true;
}

/* Slurm's ids and counts of the step. */
static int read_counts(spank_t sp, struct step_env *e, struct n56_step_facts *f)
{
	if (get_u32(sp, S_JOB_ID, &n56_st.job_id, "the job id") ||
	    get_u32(sp, S_JOB_NNODES, &n56_st.nnodes, "the node count") ||
	    get_u32(sp, S_JOB_NODEID, &n56_st.node_id, "the node index") ||
	    get_u32(sp, S_JOB_TOTAL_TASK_COUNT, &e->ntasks, "the task count") ||
	    get_u32(sp, S_JOB_LOCAL_TASK_COUNT, &e->nlocal, "the local tasks"))
		return -1;
	f->nnodes = n56_st.nnodes;
	f->ntasks = e->ntasks;
	f->nlocal = e->nlocal;
	f->node_id = n56_st.node_id;
	f->job_id = n56_st.job_id;
	f->step_id = n56_st.step_id;
	return 0;
}

/* The site policy the plugstack names, and the recipe as submitted. */
static struct n56_recipe *policy_and_recipe(spank_t sp)
{
	struct n56_diags d = { 0 };

	if (n56_spank_load_policy(&n56_st.args, &n56_st.policy, &d)) {
		n56_spank_diags(&d, N56_DIAGS_STEP, NULL);
		n56_diags_free(&d);
		return NULL;
	}
	n56_st.policy_path = strdup(n56_st.args.policy);
	return carried_recipe(sp);
}

/* Ranks per node and the task distribution: the same on every node, so
 * that a refusal fails every task of every node before any exec. */
static int step_geometry(spank_t sp, struct step_env *e,
			 struct n56_step_facts *f, long *gpn)
{
	char err[1024];

	if (n56_step_tasks_per_node(f, gpn, err, sizeof(err))) {
		n56_remote_fail("%s", err);
		return -1;
	}
	e->dist = job_getenv(sp, "SLURM_DISTRIBUTION");
	e->plane = job_getenv(sp, "SLURM_DIST_PLANESIZE");
	f->distribution = e->dist;
	f->plane_size = e->plane;
	if (n56_step_distribution(f, *gpn, err, sizeof(err))) {
		n56_remote_fail("%s", err);
		return -1;
	}
	return 0;
}

/* The plan, its memory fit held to the job's partition as at submission
 * (memory.partitions), so that a node never refuses what sbatch took. */
static int build_plan(spank_t sp, const struct n56_recipe *r, long gpn)
{
	struct n56_plan_request req = { n56_st.nnodes, gpn };
	struct n56_diags d = { 0 };
	char *part = job_getenv(sp, "SLURM_JOB_PARTITION");
	struct n56_mem_capacity_in cap = { 0, part };
	int rc = n56_plan_build_mem(r, n56_st.policy, &req, &cap, &n56_st.plan,
				    &d);

	if (rc)
		n56_spank_diags(&d, N56_DIAGS_STEP, NULL);
	n56_diags_free(&d);
	free(part);
	return rc;
}

/* The step's node list: the first node (MASTER_ADDR) and this one. */
static int step_hosts(spank_t sp, struct n56_step_facts *f)
{
	char *nodelist = job_getenv(sp, "SLURM_STEP_NODELIST");
	char **hosts = NULL, err[512];
	size_t nhosts = 0;
	int rc = -1;

	if (!nodelist)
		nodelist = job_getenv(sp, "SLURM_JOB_NODELIST");
	if (!nodelist ||
	    n56_hostlist_expand(nodelist, &hosts, &nhosts, err, sizeof(err))) {
		n56_remote_fail("the step's node list: %s",
				nodelist ? err : "SLURM_STEP_NODELIST unset");
		goto out;
	}
	if (nhosts != n56_st.nnodes || n56_st.node_id >= nhosts) {
		char *het = job_getenv(sp, "SLURM_HET_SIZE");

		if (het)
			n56_remote_fail("this step spans %zu nodes of the "
					"components of a heterogeneous job "
					"(srun --het-group=...), %u of them in "
					"this component: NAM56R places a step "
					"of one component; run the training "
					"step with srun --het-group=N",
					nhosts, n56_st.nnodes);
		else
			n56_remote_fail("the step's node list %s has %zu "
					"nodes, Slurm says %u",
					nodelist, nhosts, n56_st.nnodes);
		free(het);
		goto out;
	}
	n56_st.master = strdup(hosts[0]);
	n56_st.node_name = strdup(hosts[n56_st.node_id]);
	f->master = n56_st.master;
	f->node_name = n56_st.node_name;
	/* kept for the step: Slurm's blocks are held against these names */
	n56_st.hosts = hosts;
	n56_st.nhosts = nhosts;
	f->hosts = hosts;
	f->nhosts = nhosts;
	hosts = NULL;
	nhosts = 0;
	rc = 0;
out:
	n56_hostlist_free(hosts, nhosts);
	free(nodelist);
	return rc;
}

/* spank_nam56r(8) MASTER PORT: what Slurm reserved for the step, else the
 * job's key on the first node, from slurmctld (the core computes). */
static int port_facts(spank_t sp, struct step_env *e, struct n56_step_facts *f)
{
	char err[512];

	e->resv = job_getenv(sp, "SLURM_STEP_RESV_PORTS");
	f->resv_ports = e->resv;
	if (e->resv)
		return 0;
	if (n56_job_key_on_node(n56_st.job_id, n56_st.master, e->key,
				sizeof(e->key), &f->port_key_what, err,
				sizeof(err))) {
		n56_remote_fail("MASTER_PORT: %s", err);
		return -1;
	}
	f->port_key = e->key;
	return 0;
}

/* The step's GPUs, and the global ranks Slurm starts on this node. */
static int gpu_and_task_facts(spank_t sp, struct step_env *e,
			      struct n56_step_facts *f)
{
	e->step_gpus = job_getenv(sp, "SLURM_STEP_GPUS");
	if (!e->step_gpus)
		e->step_gpus = job_getenv(sp, "SLURM_JOB_GPUS");
	e->cvd = job_getenv(sp, "CUDA_VISIBLE_DEVICES");
	f->step_gpus = e->step_gpus;
	f->visible_devices = e->cvd;
	f->gpus_required = true;
	f->topology_path = n56_st.topo ? n56_st.topo_path : NULL;
	e->local_ranks =
		calloc(e->nlocal ? e->nlocal : 1, sizeof(*e->local_ranks));
	if (!e->local_ranks) {
		n56_remote_fail("the step's tasks: %s", strerror(ENOMEM));
		return -1;
	}
	for (uint32_t i = 0; i < e->nlocal; i++) {
		uint32_t gid;

		if (spank_get_item(sp, S_JOB_LOCAL_TO_GLOBAL_ID, i, &gid) ==
		    ESPANK_SUCCESS)
			e->local_ranks[f->nlocal_ranks++] = gid;
	}
	f->local_ranks = e->local_ranks;
	return 0;
}

/* This node's placement (step/core.h); what it notes goes to the log. */
static void place_step(const struct n56_step_facts *f)
{
	const struct n56_step *s;
	char err[4096];

	if (n56_step_decide(n56_st.plan, n56_st.topo, f, &n56_st.step, err,
			    sizeof(err))) {
		n56_remote_fail("%s", err);
		return;
	}
	s = n56_st.step;
	if (s->no_topology[0])
		slurm_info(N56_LOG_PREFIX "no topology (%s): one island per "
					  "node assumed",
			   s->no_topology);
	if (s->homogeneity[0])
		slurm_info(N56_LOG_PREFIX "%s", s->homogeneity);
	if (!s->report.tp_in_island)
		slurm_info(N56_LOG_PREFIX "placement: %s", s->report.why);
}

int n56_remote_post_opt(spank_t sp)
{
	struct step_env e = { 0 };
	struct n56_step_facts f = { 0 };
	struct n56_recipe *r = NULL;
	long gpn;

	if (!training_step(sp) || read_counts(sp, &e, &f) ||
	    !(r = policy_and_recipe(sp)))
		goto out;
	if (step_geometry(sp, &e, &f, &gpn) || build_plan(sp, r, gpn) ||
	    step_hosts(sp, &f) || same_policy(sp))
		goto out;
	policy_snapshot();
	n56_st.field =
		n56_st.args.record >= 0
			? n56_st.args.record
			: n56_record_field_parse(n56_st.policy->record.field.v);
	if (n56_st.field < 0)
		n56_st.field = N56_RECORD_COMMENT;
	if (port_facts(sp, &e, &f) || load_topology() ||
	    gpu_and_task_facts(sp, &e, &f))
		goto out;
	place_step(&f);
out:
	/* The plan borrows the recipe: keep it for the step's lifetime. */
	if (n56_st.plan)
		n56_st.plan->recipe = r;
	else
		n56_recipe_free(r);
	step_env_free(&e);
	return 0;
}

static int set_env(spank_t sp, const char *name, const char *value,
		   int overwrite)
{
	spank_err_t e = spank_setenv(sp, name, value, overwrite);

	if (e == ESPANK_SUCCESS || (e == ESPANK_ENV_EXISTS && !overwrite))
		return 0;
	slurm_error(N56_LOG_PREFIX "cannot set %s: %s", name,
		    spank_strerror(e));
	return -1;
}

/* The rank's environment into the task: site defaults yield to what the
 * user exported; everything else (rank identity, pinned, the recipe) is
 * the plan's. Then what nam56r-launch reads: the node's shape, the GPU,
 * the policy and the topology this node placed with. */
static int apply_env(spank_t sp, const struct n56_env *env, int gpu)
{
	const struct n56_step *s = n56_st.step;
	char num[32], sig[256];

	for (size_t i = 0; i < env->n; i++) {
		const struct n56_env_entry *e = &env->v[i];

		if (set_env(sp, e->name, e->value,
			    e->origin != N56_ORIGIN_SITE_DEFAULT))
			return -1;
	}
	snprintf(num, sizeof(num), "%d", gpu);
	if (n56_shape_signature(&s->shape, sig, sizeof(sig)) ||
	    set_env(sp, N56_ENV_NODE_SHAPE, sig, 1))
		return -1;
	if (set_env(sp, N56_ENV_GPU, num, 1) ||
	    set_env(sp, N56_ENV_POLICY,
		    n56_st.policy_copy ? n56_st.policy_copy
				       : n56_st.policy_path,
		    1) ||
	    (s->topo && n56_st.topo_path &&
	     set_env(sp, N56_ENV_TOPOLOGY, n56_st.topo_path, 1)))
		return -1;
	return 0;
}

/* On the job's stderr (and slurmd's log), one line per problem. */
static void report_failure(void)
{
	for (char *s = n56_st.error, *nl; s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		slurm_error(N56_LOG_PREFIX "%.*s",
			    (int)(nl ? (size_t)(nl - s) : strlen(s)), s);
	}
	slurm_error(N56_LOG_PREFIX
		    "job %u step %u not started: fix the "
		    "recipe or the request, or run a step that is not "
		    "training with srun --nam56r-recipe=none (the node stays "
		    "up)",
		    n56_st.job_id, n56_st.step_id);
}

int n56_remote_task_init(spank_t sp)
{
	struct n56_env env = { 0 };
	uint32_t rank;
	char err[1024];
	int rc, gpu = -1;

	if (!n56_st.active || n56_st.batch_step)
		return 0;
	if (!n56_st.error && !n56_st.step)
		n56_remote_fail("the step was not placed on this node");
	if (n56_st.error)
		goto fail;
	if (spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS) {
		n56_remote_fail("cannot read this task's global rank");
		goto fail;
	}
	if (n56_step_rank_env(n56_st.step, (long)rank, &env, &gpu, err,
			      sizeof(err))) {
		n56_remote_fail("%s", err);
		goto fail;
	}
	rc = apply_env(sp, &env, gpu);
	n56_env_clear(&env);
	return rc;
fail:
	report_failure();
	return -1;
}

/* The record, once per step: from node 0's first task, as root. */
int n56_remote_task_post_fork(spank_t sp)
{
	struct n56_record rec;
	uint32_t rank;
	char line[1024], err[512] = "the record does not fit in 1024 bytes";

	if (!n56_st.active || n56_st.batch_step || n56_st.error ||
	    !n56_st.step || n56_st.field == N56_RECORD_NONE)
		return 0;
	if (spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS ||
	    rank != 0)
		return 0;
	const struct n56_parallel *p = &n56_st.plan->par;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.sha12, n56_st.plan->recipe->sha256_hex, 12);
	rec.world = p->world;
	rec.nodes = n56_st.plan->nodes;
	rec.gpn = n56_st.plan->gpus_per_node;
	rec.tp = p->tp;
	rec.cp = p->cp;
	rec.ep = p->ep;
	rec.etp = p->etp;
	rec.dp = p->dp;
	rec.pp = p->pp;
	rec.vpp = p->vpp;
	snprintf(rec.order, sizeof(rec.order), "%s",
		 p->pp_before_dp ? "tp-cp-ep-pp-dp" : "tp-cp-ep-dp-pp");
	for (int g = 0; g < n56_st.step->shape.gpus; g++) {
		int isl = n56_st.step->shape.island_of[g];

		if (isl >= 0 && isl < N56_RECORD_MAX_ISLANDS) {
			rec.island_size[isl]++;
			if (isl + 1 > rec.nislands)
				rec.nislands = isl + 1;
		}
	}
	snprintf(rec.master, sizeof(rec.master), "%s:%d", n56_st.step->master,
		 n56_st.step->master_port);
	if (n56_record_format(&rec, line, sizeof(line)) ||
	    n56_publish_record(n56_st.job_id, n56_st.field, line, err,
			       sizeof(err)))
		slurm_info(N56_LOG_PREFIX "placement record not published: "
					  "%s",
			   err);
	return 0;
}

void n56_remote_exit(void)
{
	/* The step borrows the plan and the topology: it goes first. */
	n56_step_free(n56_st.step);
	n56_st.step = NULL;
	if (n56_st.plan) {
		n56_recipe_free((struct n56_recipe *)n56_st.plan->recipe);
		n56_plan_free(n56_st.plan);
		n56_st.plan = NULL;
	}
	n56_policy_free(n56_st.policy);
	n56_topology_free(n56_st.topo);
	free(n56_st.topo_path);
	free(n56_st.policy_path);
	/* The step is over: its copy of the policy goes. */
	if (n56_st.policy_copy)
		unlink(n56_st.policy_copy);
	free(n56_st.policy_copy);
	n56_st.policy_copy = NULL;
	n56_hostlist_free(n56_st.hosts, n56_st.nhosts);
	n56_st.hosts = NULL;
	n56_st.nhosts = 0;
	free(n56_st.master);
	free(n56_st.node_name);
	free(n56_st.error);
	n56_st.policy = NULL;
	n56_st.topo = NULL;
	n56_st.topo_path = n56_st.policy_path = NULL;
	n56_st.master = n56_st.node_name = NULL;
	n56_st.error = NULL;
}
