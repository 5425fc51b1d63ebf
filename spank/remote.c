/* slurmstepd side. The plan of the step is built once per node in
 * init_post_opt (as root, before the tasks fork; it reads only the carried
 * content, the admin's policy and the root-owned topology cache, never a
 * path a user gave), and each task applies its own rank's environment in
 * task_init. Nothing here returns an error before task_init: an error from
 * init, init_post_opt or user_init drains the node, so every problem is
 * stored and raised from task_init, which fails the job and only the job. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void fail_diags(const struct n56_diags *d)
{
	char line[1024];

	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format_error(&d->v[i], line, sizeof(line));
		n56_remote_fail("%s", line);
	}
}

int n56_remote_init(spank_t sp, int ac, char **av)
{
	(void)sp;
	n56_st.args_ok = n56_spank_args_parse(ac, av, &n56_st.args,
					      n56_st.args_err,
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
	struct n56_diags d = {0};
	char *buf = NULL, hex[65];
	size_t len;

	if (!b64) {
		n56_remote_fail("the recipe given with --nam56r-recipe did "
				"not reach this node (" N56_CARRY_PREFIX
				N56_CARRY_CONTENT " is missing from the job "
				"environment; do not unset SLURM_SPANK_* "
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
				"submission recorded %.12s; submit again", hex,
				sha ? sha : "(none)");
		goto out;
	}
	if (n56_recipe_parse(path ? path : "recipe", buf, len, &r, &d))
		fail_diags(&d);
out:
	n56_diags_free(&d);
	free(buf);
	free(b64);
	free(sha);
	free(path);
	return r;
}

static int get_u32(spank_t sp, spank_item_t item, uint32_t *v,
		   const char *what)
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
static int discover(const char *path, const char *dir, char *err,
		    size_t errlen)
{
	char werr[512];

	/* slurmstepd runs threads: leave its environment alone. */
	struct n56_topology_opts o = {.nvml = true, .threaded = true};

	if (n56_topology_load_opts(&o, n56_st.policy, n56_st.node_name,
				   &n56_st.topo, err, errlen))
		return -1;
	struct n56_diags d = {0};

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

/* Topology: the admin's XML (plugstack topology=), else the node cache the
 * slurmd context wrote; when neither is usable, the assumed shape. */
/* The step has some of the node's GPUs (SLURM_STEP_GPUS, the node's
 * indices): the islands of those GPUs only, renumbered. 1 when built. */
static int sub_shape(const char *list, long gpn)
{
	struct n56_node_shape s = {0};
	int idx[N56_MAX_GPUS_PER_NODE], n = 0, map[N56_MAX_GPUS_PER_NODE];
	const char *p = list;

	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			return 0;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long v = a; v <= b; v++) {
			if (n == N56_MAX_GPUS_PER_NODE || v < 0 ||
			    v >= n56_st.shape.gpus)
				return 0;
			for (int k = 0; k < n; k++)
				if (idx[k] == v)
					return 0;
			idx[n++] = (int)v;
		}
		if (*end && *end != ',')
			return 0;
		p = *end ? end + 1 : end;
	}
	if (n != gpn)
		return 0;
	for (int k = 0; k < N56_MAX_GPUS_PER_NODE; k++)
		map[k] = -1;
	s.gpus = n;
	for (int i = 0; i < n; i++) {
		int old = n56_st.shape.island_of[idx[i]];

		if (old < 0 || old >= N56_MAX_GPUS_PER_NODE)
			return 0;
		if (map[old] < 0)
			map[old] = s.nislands++;
		s.island_of[i] = map[old];
		n56_st.gpu_of[i] = idx[i];
	}
	s.nodes_per_domain = n56_st.shape.nodes_per_domain;
	s.degraded = n56_st.shape.degraded;
	s.assumed = n56_st.shape.assumed;
	n56_st.shape = s;
	return 1;
}

/* A load with the admin map failed where one without it succeeds: the map
 * contradicts this node (a GPU it does not have, a bad list for it). */
static bool admin_map_broke_load(const char *path)
{
	struct n56_topology_opts o = {.xml = n56_st.args.topology,
				      .nvml = !n56_st.args.topology,
				      .threaded = true};
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

/* DESIGN.md "Placement": one rank per GPU of the node (or of the GPUs
 * Slurm named for the step); anything else would place ranks on GPUs the
 * node's topology does not describe. */
static void step_gpus_mismatch(const char *path, long gpn,
			       const char *step_gpus)
{
	struct n56_node_shape step;
	struct n56_shape_view a = {&step, "the step", NULL};
	struct n56_shape_view s = {&n56_st.shape, "hwloc", NULL};
	char why[1024];

	n56_node_shape_assumed(&step, (int)gpn);
	n56_shape_check(&a, &s, n56_st.node_name, why, sizeof(why));
	if (gpn > n56_st.shape.gpus)
		n56_remote_fail("%s (topology %s): run at most one rank per "
				"GPU (srun --ntasks-per-node=%d)", why, path,
				n56_st.shape.gpus);
	else
		n56_remote_fail("%s (topology %s; Slurm names the step's GPUs "
				"as '%s'): run one rank per GPU (srun "
				"--ntasks-per-node=%d) or ask for %ld GPUs per "
				"node (--gpus-per-node=%ld) so that Slurm "
				"names them",
				why, path, step_gpus ? step_gpus : "(none)",
				n56_st.shape.gpus, gpn, gpn);
}

/* DESIGN.md "Placement": the admin map's islands for this node must agree
 * with what the node finds itself; a contradiction fails the tasks (from
 * task_init) instead of placing TP groups across islands. */
static void check_admin_map(void)
{
	struct n56_node_shape own, map;
	const char *by = NULL;
	char dom[256], why[1024], err[512];
	int r;

	if (!n56_st.topo || !n56_st.policy ||
	    n56_topology_own_shape(n56_st.topo, &own, &by, err, sizeof(err)))
		return;
	r = n56_admin_map_shape(n56_st.policy, n56_st.node_name, own.gpus,
				&map, dom, sizeof(dom), err, sizeof(err));
	if (r < 0) {
		n56_remote_fail("topology: %s", err);
		return;
	}
	if (r == 0)
		return;
	struct n56_shape_view a = {&map, n56_site_islands_by(n56_st.policy),
				   dom};
	struct n56_shape_view s = {&own, by, NULL};
	char fix[1024];
	n56_site_islands_fix(n56_st.policy, n56_st.policy_path, fix,
			     sizeof(fix));
	if (n56_shape_check(&a, &s, n56_st.node_name, why, sizeof(why)))
		n56_remote_fail("%s; fix %s or the node, or run with "
				"island_source per-node", why, fix);
	else
		slurm_info(N56_LOG_PREFIX "%s", why);
}

static int trusted(const char *what, const char *path, bool is_dir)
{
	struct n56_diags d = {0};
	int rc = n56_path_trusted(what, path, is_dir, &d);

	if (rc)
		fail_diags(&d);
	n56_diags_free(&d);
	return rc;
}

static void load_shape(long gpn, const char *step_gpus)
{
	char err[512] = "", path[4096];
	const char *dir = n56_spank_cache_dir(&n56_st.args, n56_st.policy);
	int rc;

	/* slurmstepd runs threads: the loads leave its environment alone. */
	struct n56_topology_opts o = {.xml = path, .threaded = true};

	/* Root reads these: the policy's rule (owned by root, not writable
	 * by others, no user's link along the name), or the step fails. */
	if (n56_st.args.topology) {
		snprintf(path, sizeof(path), "%s", n56_st.args.topology);
		if (trusted("the topology XML", path, false))
			return;
		rc = n56_topology_load_opts(&o, n56_st.policy,
					    n56_st.node_name, &n56_st.topo,
					    err, sizeof(err));
	} else {
		snprintf(path, sizeof(path), "%s/topology.xml", dir);
		o.cache = true;
		if (access(dir, F_OK) == 0 &&
		    trusted("the topology cache directory", dir, true))
			return;
		if (access(path, F_OK) == 0) {
			if (trusted("the topology cache", path, false))
				return;
			rc = n56_topology_load_opts(&o, NULL, "", &n56_st.topo,
						    err, sizeof(err));
		} else {
			rc = discover(path, dir, err, sizeof(err));
		}
	}
	if (rc && admin_map_broke_load(path)) {
		n56_remote_fail("topology: %s", err);
		return;
	}
	if (!rc && !n56_topology_shape(n56_st.topo, &n56_st.shape, err,
				       sizeof(err))) {
		n56_st.topo_path = strdup(path);
		for (int i = 0; i < N56_MAX_GPUS_PER_NODE; i++)
			n56_st.gpu_of[i] = i;
		if (n56_st.shape.gpus == gpn ||
		    (step_gpus && sub_shape(step_gpus, gpn)))
			return;
		step_gpus_mismatch(path, gpn, step_gpus);
		return;
	} else {
		slurm_info(N56_LOG_PREFIX "no topology (%s): one island per "
			   "node assumed", err);
	}
	n56_topology_free(n56_st.topo);
	n56_st.topo = NULL;
	free(n56_st.topo_path);
	n56_st.topo_path = NULL;
	n56_node_shape_assumed(&n56_st.shape, (int)gpn);
}

static void split_list(const char *s, char ***out, size_t *n)
{
	char *copy = strdup(s), *save = NULL;

	*out = NULL;
	*n = 0;
	if (!copy)
		return;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		char **nv = realloc(*out, (*n + 1) * sizeof(*nv));

		if (!nv)
			break;
		*out = nv;
		(*out)[(*n)++] = strdup(t);
	}
	free(copy);
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
		n56_remote_fail("the site policy %s on %s (sha256 %.12s) is not "
				"the one this step was submitted with (%.12s): "
				"it changed in between; start the step again "
				"(replace the policy with a rename, never in "
				"place)", n56_st.policy_path ?
				n56_st.policy_path : "(none)",
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
	struct n56_diags d = {0};
	int fd = -1;

	if (n56_st.args.no_policy || !p->content)
		return;
	if (mkdir(dir, 0755) && errno != EEXIST)
		goto fail;
	if (n56_path_trusted("the step's policy directory", dir, true, &d))
		goto fail;
	if (asprintf(&path, "%s/policy-%u.%u.%s.yaml", dir, n56_st.job_id,
		     n56_st.step_id, n56_st.node_name ? n56_st.node_name :
		     "node") < 0) {
		path = NULL;
		goto fail;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto fail;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0644) ||
	    write(fd, p->content, p->content_len) !=
	    (ssize_t)p->content_len || close(fd) || rename(tmp, path)) {
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
		   "the ranks read %s", dir, d.n ? d.v[0].msg :
		   strerror(errno), n56_st.policy_path);
	free(path);
	free(tmp);
	n56_diags_free(&d);
}

/* Steps that would start half-way: a layout the plan cannot honour
 * fails every task of every node here, before any exec. The distribution
 * is the same on every node; the local task ids against the placement
 * back it up. */
static int check_layout(spank_t sp, long gpn, uint32_t nlocal)
{
	char *dist = job_getenv(sp, "SLURM_DISTRIBUTION");
	char *plane = job_getenv(sp, "SLURM_DIST_PLANESIZE");
	char err[512];
	int rc = n56_distribution_check(dist, plane, gpn, err, sizeof(err));

	free(dist);
	free(plane);
	if (rc) {
		n56_remote_fail("%s", err);
		return -1;
	}
	for (uint32_t i = 0; i < nlocal; i++) {
		uint32_t gid;

		if (spank_get_item(sp, S_JOB_LOCAL_TO_GLOBAL_ID, i, &gid) !=
		    ESPANK_SUCCESS)
			continue;
		struct n56_rank_place place;

		n56_place_rank(n56_st.placer, (long)gid, &place);
		if (place.node != (long)n56_st.node_id) {
			n56_remote_fail("Slurm starts rank %u on node %u of "
					"the step, but NAM56R places it on "
					"node %ld: use the block distribution "
					"(srun -m block, the default)", gid,
					n56_st.node_id, place.node);
			return -1;
		}
	}
	return 0;
}

/* spank_nam56r(8) MASTER PORT: what Slurm reserved for the step, else a
 * port no concurrent job on the first node can compute (ports.c). */
static int step_master_port(spank_t sp, long base)
{
	char *resv = job_getenv(sp, "SLURM_STEP_RESV_PORTS");
	char cpus[1024], err[512];
	const char *what = "CPU";

	if (resv) {
		int bad = n56_resv_ports_first(resv, &n56_st.master_port);

		if (bad)
			n56_remote_fail("SLURM_STEP_RESV_PORTS is '%.64s', not "
					"a port range", resv);
		free(resv);
		return bad;
	}
	if (n56_job_key_on_node(n56_st.job_id, n56_st.master, cpus,
				sizeof(cpus), &what, err, sizeof(err)) ||
	    n56_port_from_key(base, what, cpus, n56_st.step_id,
			      &n56_st.master_port, err, sizeof(err))) {
		n56_remote_fail("MASTER_PORT: %s", err);
		return -1;
	}
	return 0;
}

int n56_remote_post_opt(spank_t sp)
{
	struct n56_diags d = {0};
	struct n56_recipe *r = NULL;
	char *carried = job_getenv(sp, N56_CARRY_PREFIX N56_CARRY_CONTENT);
	char *nodelist = NULL, *cvd = NULL;
	char **hosts = NULL;
	size_t nhosts = 0;
	uint32_t ntasks, nlocal;
	char err[512];

	n56_st.active = (n56_st.opt_seen || carried) && !n56_st.opt_none;
	free(carried);
	if (!n56_st.active)
		return 0;
	if (spank_get_item(sp, S_JOB_STEPID, &n56_st.step_id) ==
	    ESPANK_SUCCESS && n56_st.step_id >= N56_FIRST_SPECIAL_STEP) {
		n56_st.batch_step = true;
		return 0;
	}
	if (!n56_st.args_ok) {
		n56_remote_fail("plugstack.conf: %s", n56_st.args_err);
		return 0;
	}
	if (get_u32(sp, S_JOB_ID, &n56_st.job_id, "the job id") ||
	    get_u32(sp, S_JOB_NNODES, &n56_st.nnodes, "the node count") ||
	    get_u32(sp, S_JOB_NODEID, &n56_st.node_id, "the node index") ||
	    get_u32(sp, S_JOB_TOTAL_TASK_COUNT, &ntasks, "the task count") ||
	    get_u32(sp, S_JOB_LOCAL_TASK_COUNT, &nlocal, "the local tasks"))
		return 0;
	if (n56_spank_load_policy(&n56_st.args, &n56_st.policy, &d)) {
		fail_diags(&d);
		goto out;
	}
	n56_st.policy_path = strdup(n56_st.args.policy);
	if (!(r = carried_recipe(sp)))
		goto out;
	if (!n56_st.nnodes || ntasks % n56_st.nnodes ||
	    nlocal != ntasks / n56_st.nnodes) {
		n56_remote_fail("the step runs %u tasks on %u nodes (%u on "
				"this one); a NAM56R step runs the same "
				"number of ranks on every node, one per GPU "
				"(srun --ntasks-per-node=G)", ntasks,
				n56_st.nnodes, nlocal);
		goto out;
	}
	long gpn = (long)(ntasks / n56_st.nnodes);
	struct n56_plan_request req = {n56_st.nnodes, gpn};
	if (n56_plan_build(r, n56_st.policy, &req, &n56_st.plan, &d)) {
		fail_diags(&d);
		goto out;
	}
	nodelist = job_getenv(sp, "SLURM_STEP_NODELIST");
	if (!nodelist)
		nodelist = job_getenv(sp, "SLURM_JOB_NODELIST");
	if (!nodelist || n56_hostlist_expand(nodelist, &hosts, &nhosts, err,
					     sizeof(err))) {
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
					"nodes, Slurm says %u", nodelist,
					nhosts, n56_st.nnodes);
		free(het);
		goto out;
	}
	n56_st.master = strdup(hosts[0]);
	n56_st.node_name = strdup(hosts[n56_st.node_id]);
	if (same_policy(sp))
		goto out;
	policy_snapshot();
	long base = n56_st.policy->record.master_port.v > 0 ?
		    n56_st.policy->record.master_port.v :
		    N56_DEFAULT_MASTER_PORT;
	if (step_master_port(sp, base))
		goto out;
	n56_st.field = n56_st.args.record >= 0 ? n56_st.args.record :
		       n56_record_field_parse(n56_st.policy->record.field.v);
	if (n56_st.field < 0)
		n56_st.field = N56_RECORD_COMMENT;

	char *step_gpus = job_getenv(sp, "SLURM_STEP_GPUS");
	if (!step_gpus)
		step_gpus = job_getenv(sp, "SLURM_JOB_GPUS");
	load_shape(gpn, step_gpus);
	free(step_gpus);
	check_admin_map();
	if (n56_st.error)
		goto out;
	struct n56_place_report rep;
	if (n56_placer_new(&n56_st.plan->par, &n56_st.shape, n56_st.nnodes,
			   &n56_st.placer, &rep, err, sizeof(err))) {
		n56_remote_fail("placement: %s", err);
		goto out;
	}
	/* island_source slurm-block: no TP or expert group across blocks. */
	char berr[2048];
	if (n56_placer_slurm_blocks(n56_st.placer, n56_st.policy, hosts,
				    nhosts, &rep, berr, sizeof(berr))) {
		n56_remote_fail("placement: %s", berr);
		goto out;
	}
	if (check_layout(sp, gpn, nlocal))
		goto out;
	if (!rep.tp_in_island && n56_st.policy->topology.require_tp_in_island.v)
		n56_remote_fail("placement: %s (the site policy requires "
				"every TP group inside one NVLink island)",
				rep.why);
	else if (!rep.tp_in_island)
		slurm_info(N56_LOG_PREFIX "placement: %s", rep.why);

	/* The GPUs Slurm gave the step, in its order: our CUDA indices of
	 * the node are positions in this list. A rank never goes to a GPU
	 * Slurm did not give the step: one rank per GPU, or the step fails. */
	cvd = job_getenv(sp, "CUDA_VISIBLE_DEVICES");
	if (!cvd || !*cvd) {
		n56_remote_fail("Slurm gave this step no GPUs on %s (no "
				"CUDA_VISIBLE_DEVICES) for %ld ranks: ask for "
				"one GPU per rank (--gpus-per-node=%ld)",
				n56_st.node_name, gpn, gpn);
		goto out;
	}
	split_list(cvd, &n56_st.slurm_gpus, &n56_st.nslurm_gpus);
	if (n56_st.nslurm_gpus != (size_t)gpn) {
		n56_remote_fail("Slurm gave this step %zu GPUs on %s (%.256s) "
				"for %ld ranks: a NAM56R step runs one rank "
				"per GPU of the step (srun "
				"--ntasks-per-node=%zu, or give the step %ld "
				"GPUs with --gpus-per-node=%ld)",
				n56_st.nslurm_gpus, n56_st.node_name, cvd, gpn,
				n56_st.nslurm_gpus, gpn, gpn);
		goto out;
	}
out:
	/* The plan borrows the recipe: keep it for the step's lifetime. */
	if (n56_st.plan)
		n56_st.plan->recipe = r;
	else
		n56_recipe_free(r);
	n56_hostlist_free(hosts, nhosts);
	free(nodelist);
	free(cvd);
	n56_diags_free(&d);
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

/* CUDA_VISIBLE_DEVICES in Slurm's numbering of the step's GPUs. */
static char *translate_devices(const char *ours)
{
	char *out = NULL, *copy = strdup(ours), *save = NULL;
	size_t len = 0;
	FILE *f;

	if (!copy)
		return NULL;
	f = open_memstream(&out, &len);
	if (!f) {
		free(copy);
		return NULL;
	}
	int first = 1, bad = 0;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save), first = 0) {
		long i = strtol(t, NULL, 10);

		if (i < 0 || (size_t)i >= n56_st.nslurm_gpus) {
			bad = 1;
			break;
		}
		fprintf(f, "%s%s", first ? "" : ",", n56_st.slurm_gpus[i]);
	}
	fclose(f);
	free(copy);
	if (bad) {
		free(out);
		return NULL;
	}
	return out;
}

int n56_remote_task_init(spank_t sp)
{
	struct n56_env env = {0};
	struct n56_rank_place place;
	uint32_t rank;
	char err[512], num[32], sig[256];
	int rc = -1;

	if (!n56_st.active || n56_st.batch_step)
		return 0;
	if (n56_st.error)
		goto fail;
	if (spank_get_item(sp, S_TASK_GLOBAL_ID, &rank) != ESPANK_SUCCESS) {
		n56_remote_fail("cannot read this task's global rank");
		goto fail;
	}
	n56_place_rank(n56_st.placer, (long)rank, &place);
	if (place.node != (long)n56_st.node_id) {
		n56_remote_fail("rank %u is placed on node %ld but Slurm "
				"started it on node %u; use the default "
				"block distribution (srun -m block)", rank,
				place.node, n56_st.node_id);
		goto fail;
	}
	/* The placed GPU as the node's CUDA index (the step may hold only
	 * some of the node's GPUs). */
	int node_gpu = n56_st.topo && place.gpu >= 0 &&
		       place.gpu < N56_MAX_GPUS_PER_NODE ?
		       n56_st.gpu_of[place.gpu] : place.gpu;
	const char *nic = NULL;
	if (n56_st.topo && node_gpu >= 0 && node_gpu < n56_st.topo->ngpus)
		nic = n56_st.topo->gpus[node_gpu].nic;
	if (n56_rank_env(n56_st.plan, n56_st.placer, (long)rank,
			 n56_st.master, n56_st.master_port, nic, &env, err,
			 sizeof(err))) {
		n56_remote_fail("per-rank environment: %s", err);
		goto fail;
	}
	for (size_t i = 0; i < env.n; i++) {
		const struct n56_env_entry *e = &env.v[i];
		/* Site defaults yield to what the user exported; everything
		 * else (rank identity, pinned, the recipe) is the plan's. */
		int overwrite = e->origin != N56_ORIGIN_SITE_DEFAULT;
		char *dev = NULL;

		if (!strcmp(e->name, "CUDA_VISIBLE_DEVICES")) {
			dev = translate_devices(e->value);
			if (!dev) {
				n56_remote_fail("placement put a rank outside "
						"the %zu GPUs Slurm gave the "
						"step (%s)", n56_st.nslurm_gpus,
						e->value);
				goto fail;
			}
		}
		if (set_env(sp, e->name, dev ? dev : e->value, overwrite)) {
			free(dev);
			goto out;
		}
		free(dev);
	}
	snprintf(num, sizeof(num), "%d", node_gpu);
	if (n56_shape_signature(&n56_st.shape, sig, sizeof(sig)) ||
	    set_env(sp, N56_ENV_NODE_SHAPE, sig, 1))
		goto out;
	if (set_env(sp, N56_ENV_GPU, num, 1) ||
	    set_env(sp, N56_ENV_POLICY, n56_st.policy_copy ?
		    n56_st.policy_copy : n56_st.policy_path, 1) ||
	    (n56_st.topo_path &&
	     set_env(sp, N56_ENV_TOPOLOGY, n56_st.topo_path, 1)))
		goto out;
	rc = 0;
	goto out;
fail:
	/* On the job's stderr (and slurmd's log), one line per problem. */
	for (char *s = n56_st.error, *nl; s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		slurm_error(N56_LOG_PREFIX "%.*s",
			    (int)(nl ? (size_t)(nl - s) : strlen(s)), s);
	}
	slurm_error(N56_LOG_PREFIX "job %u step %u not started: fix the "
		    "recipe or the request, or run a step that is not "
		    "training with srun --nam56r-recipe=none (the node stays "
		    "up)", n56_st.job_id, n56_st.step_id);
out:
	n56_env_clear(&env);
	return rc;
}

/* The record, once per step: from node 0's first task, as root. */
int n56_remote_task_post_fork(spank_t sp)
{
	struct n56_record rec;
	uint32_t rank;
	char line[1024], err[512] = "the record does not fit in 1024 bytes";

	if (!n56_st.active || n56_st.batch_step || n56_st.error ||
	    !n56_st.plan || n56_st.field == N56_RECORD_NONE)
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
	for (int g = 0; g < n56_st.shape.gpus; g++) {
		int isl = n56_st.shape.island_of[g];

		if (isl >= 0 && isl < N56_RECORD_MAX_ISLANDS) {
			rec.island_size[isl]++;
			if (isl + 1 > rec.nislands)
				rec.nislands = isl + 1;
		}
	}
	snprintf(rec.master, sizeof(rec.master), "%s:%d", n56_st.master,
		 n56_st.master_port);
	if (n56_record_format(&rec, line, sizeof(line)) ||
	    n56_publish_record(n56_st.job_id, n56_st.field, line, err,
			       sizeof(err)))
		slurm_info(N56_LOG_PREFIX "placement record not published: "
			   "%s", err);
	return 0;
}

void n56_remote_exit(void)
{
	if (n56_st.plan) {
		n56_recipe_free((struct n56_recipe *)n56_st.plan->recipe);
		n56_plan_free(n56_st.plan);
		n56_st.plan = NULL;
	}
	n56_placer_free(n56_st.placer);
	n56_policy_free(n56_st.policy);
	n56_topology_free(n56_st.topo);
	n56_hostlist_free(n56_st.slurm_gpus, n56_st.nslurm_gpus);
	free(n56_st.topo_path);
	free(n56_st.policy_path);
	/* The step is over: its copy of the policy goes. */
	if (n56_st.policy_copy)
		unlink(n56_st.policy_copy);
	free(n56_st.policy_copy);
	n56_st.policy_copy = NULL;
	free(n56_st.master);
	free(n56_st.node_name);
	free(n56_st.error);
	n56_st.placer = NULL;
	n56_st.policy = NULL;
	n56_st.topo = NULL;
	n56_st.slurm_gpus = NULL;
	n56_st.topo_path = n56_st.policy_path = NULL;
	n56_st.master = n56_st.node_name = NULL;
	n56_st.error = NULL;
}
