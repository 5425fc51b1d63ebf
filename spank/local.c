/* Submission side (srun, sbatch, salloc), running as the submitting user:
 * read the recipe, validate it, carry its content to the compute nodes.
 *
 * What is checked here: every recipe rule, the site policy (env deny list,
 * allowed runtime), and Megatron's start-up rules for the request this
 * process can see (-N/--nodes, --ntasks-per-node, --gpus-per-node, --gres
 * on its command line, or SLURM_* of the allocation an srun runs in), and
 * the GPU memory fit against the partition it asks for (-p). When
 * the geometry is not visible (#SBATCH lines, node ranges), the smallest
 * world the recipe's own sizes allow is checked instead, and the rest is
 * checked again on the compute nodes for the real step. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/memory.h"
#include "spank/plugin.h"

int n56_local_init(spank_t sp, int ac, char **av)
{
	(void)sp;
	n56_st.args_ok =
		n56_spank_args_parse(ac, av, &n56_st.args, n56_st.args_err,
				     sizeof(n56_st.args_err)) == 0;
	if (!n56_st.args_ok) {
		/* An admin's mistake: every submission says so until fixed. */
		fprintf(stderr, N56_LOG_PREFIX "plugstack.conf: %s\n",
			n56_st.args_err);
		return -1;
	}
	return 0;
}

/* The carried content, when this is an srun inside a job submitted with
 * the same --nam56r-recipe value: what was submitted runs, not the file as
 * it is now (edited, deleted, or not visible on this node). */
static int carried_recipe(const char *optval, struct n56_recipe **out,
			  struct n56_diags *d)
{
	const char *b64 = getenv(N56_CARRY_PREFIX N56_CARRY_CONTENT);
	const char *sha = getenv(N56_CARRY_PREFIX N56_CARRY_SHA);
	const char *path = getenv(N56_CARRY_PREFIX N56_CARRY_PATH);
	char *buf = NULL, hex[65];
	size_t len;
	int rc = -1;

	*out = NULL;
	if (!b64 || !sha || !path || !getenv("SLURM_JOB_ID") ||
	    strcmp(path, optval))
		return 0;
	if (n56_base64_decode(b64, &buf, &len)) {
		n56_diag_add(d, optval, (struct n56_pos){ 0, 0 },
			     "the recipe carried from submission is damaged "
			     "(" N56_CARRY_PREFIX N56_CARRY_CONTENT " is not "
			     "base64); submit the job again");
		goto out;
	}
	n56_sha256_hex(buf, len, hex);
	if (strcmp(hex, sha)) {
		n56_diag_add(d, optval, (struct n56_pos){ 0, 0 },
			     "the recipe carried from submission has sha256 "
			     "%.12s, expected %.12s; submit the job again",
			     hex, sha);
		goto out;
	}
	rc = n56_recipe_parse(optval, buf, len, out, d) ? -1 : 1;
out:
	free(buf);
	return rc;
}

/* This process's own command line: the options it was given. */
static char **own_argv(int *argc, char **blob)
{
	FILE *f = fopen("/proc/self/cmdline", "re");
	size_t cap = 0, len = 0;
	char **v = NULL;
	int n = 0;

	*argc = 0;
	*blob = NULL;
	if (!f)
		return NULL;
	len = (size_t)getdelim(blob, &cap, 0x1, f); /* no 0x01 in argv */
	fclose(f);
	if ((ssize_t)len <= 0 || !*blob)
		return NULL;
	for (size_t i = 0; i < len; i++)
		n += (*blob)[i] == 0;
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return NULL;
	n = 0;
	for (size_t i = 0; i < len; i += strlen(*blob + i) + 1)
		v[n++] = *blob + i;
	*argc = n;
	return v;
}

/* `srun --nam56r-recipe=none` inside a recipe job: Slurm hands the
 * callback the job's value from the environment first; the command line,
 * which wins, says this is a helper step. */
static bool argv_says_none(void)
{
	int argc;
	char *blob;
	char **argv = own_argv(&argc, &blob);
	bool none = false;

	for (int i = 1; argv && i < argc; i++) {
		if (!strcmp(argv[i], "--") || argv[i][0] != '-')
			break;
		if (!strcmp(argv[i], "--nam56r-recipe=none") ||
		    (!strcmp(argv[i], "--nam56r-recipe") && i + 1 < argc &&
		     !strcmp(argv[i + 1], "none")))
			none = true;
	}
	free(argv);
	free(blob);
	return none;
}

/* srun may run inside an allocation: its SLURM_* describe it. sbatch and
 * salloc create a new job: an outer job's SLURM_* say nothing about it,
 * only their own input variables do. */
static const char *run_getenv(const char *name)
{
	return getenv(name);
}

static const char *submit_getenv(const char *name)
{
	return strncmp(name, "SLURM_", 6) ? getenv(name) : NULL;
}

/* The request to validate against: what is visible, else the smallest
 * world the recipe's sizes allow (pp nodes of lcm(tp*cp, etp*ep) GPUs);
 * *partition: the partition (list) it names, malloc'd, or NULL. */
static bool request_for(const struct n56_recipe *r,
			struct n56_plan_request *req, char **partition,
			struct n56_diags *d)
{
	struct n56_request_seen seen;
	int argc;
	char *blob;
	char **argv = own_argv(&argc, &blob);
	long gpn;

	n56_request_from_cmdline(
		argc, argv,
		spank_context() == S_CTX_ALLOCATOR ? submit_getenv : run_getenv,
		&seen);
	*partition = seen.partition ? strdup(seen.partition) : NULL;
	if (seen.partition && !*partition)
		n56_diag_add(d, r->path, (struct n56_pos){ 0, 0 },
			     "out of memory");
	free(argv);
	free(blob);
	gpn = seen.gpus_per_node ? seen.gpus_per_node : seen.tasks_per_node;
	if (!gpn && seen.nodes && seen.ntasks && seen.ntasks % seen.nodes == 0)
		gpn = seen.ntasks / seen.nodes;
	/* An srun starts a step: its ranks per node are its tasks, which
	 * may be fewer than the GPUs the job holds (SLURM_GPUS_PER_NODE). */
	if (spank_context() == S_CTX_LOCAL && !seen.gpus_per_node_argv) {
		if (seen.tasks_per_node_argv)
			gpn = seen.tasks_per_node;
		else if (seen.nodes && seen.ntasks &&
			 seen.ntasks % seen.nodes == 0)
			gpn = seen.ntasks / seen.nodes;
		else if (seen.tasks_per_node)
			gpn = seen.tasks_per_node;
	}
	if (seen.gpus_per_node_argv && seen.tasks_per_node_argv &&
	    seen.gpus_per_node != seen.tasks_per_node)
		n56_diag_add(d, r->path, (struct n56_pos){ 0, 0 },
			     "the request has %ld tasks per node but %ld GPUs "
			     "per node; a NAM56R step runs one rank per GPU "
			     "(use --ntasks-per-node=%ld)",
			     seen.tasks_per_node, seen.gpus_per_node,
			     seen.gpus_per_node);
	if (seen.nodes && gpn) {
		req->nodes = seen.nodes;
		req->gpus_per_node = gpn;
		return true;
	}
	long tp = r->parallel.tp.v > 0 ? r->parallel.tp.v : 1;
	long cp = r->parallel.cp.v > 0 ? r->parallel.cp.v : 1;
	long ep = r->parallel.ep.v > 0 ? r->parallel.ep.v : 1;
	long etp = r->parallel.etp.v > 0 ? r->parallel.etp.v : 1;
	long pp = r->parallel.pp.v > 0 ? r->parallel.pp.v : 1;
	long a = tp * cp, b = etp * ep, x = a, y = b;
	while (y) {
		long t = x % y;
		x = y;
		y = t;
	}
	req->gpus_per_node = a / x * b;
	req->nodes = pp;
	if (req->gpus_per_node > N56_MAX_GPUS_PER_NODE) {
		req->nodes *= req->gpus_per_node / 8;
		req->gpus_per_node = 8;
	}
	return false;
}

int n56_local_option(const char *optval)
{
	struct n56_diags d = { 0 };
	struct n56_policy *policy = NULL;
	struct n56_recipe *r = NULL;
	struct n56_plan *plan = NULL;
	struct n56_plan_request req;
	struct n56_mem_capacity_in cap = { 0, NULL };
	char *partition = NULL;
	int rc = -1;

	/* Slurm may call an option callback twice with the same value. */
	if (n56_st.opt_value && !strcmp(n56_st.opt_value, optval))
		return n56_st.opt_rc;
	if (!n56_st.args_ok)
		return -1;
	/* `srun --nam56r-recipe=none` inside a NAM56R job: a helper step
	 * (hostname, a data copy) that is not a training step. */
	if (optval && (!strcmp(optval, "none") ||
		       (spank_context() == S_CTX_LOCAL && argv_says_none()))) {
		n56_recipe_free(n56_st.recipe);
		n56_st.recipe = NULL;
		unsetenv(N56_CARRY_PREFIX N56_CARRY_CONTENT);
		unsetenv(N56_CARRY_PREFIX N56_CARRY_SHA);
		unsetenv(N56_CARRY_PREFIX N56_CARRY_PATH);
		unsetenv(N56_CARRY_PREFIX N56_CARRY_POLICY_SHA);
		rc = 0;
		goto out;
	}
	if (!optval || !*optval) {
		fprintf(stderr, N56_LOG_PREFIX "--nam56r-recipe needs a file "
					       "name\n");
		goto out;
	}
	/* Read as the user who submits: a set-uid caller would read with
	 * rights the user does not have. */
	if (geteuid() != getuid()) {
		fprintf(stderr,
			N56_LOG_PREFIX "refusing to read %s with "
				       "elevated rights (euid %u, uid %u)\n",
			optval, (unsigned)geteuid(), (unsigned)getuid());
		goto out;
	}
	int carried = carried_recipe(optval, &r, &d);
	if (carried < 0)
		goto report;
	if (!carried && n56_recipe_load(optval, &r, &d))
		goto report;
	/* It travels in the environment: check before any other work. */
	if (n56_recipe_check_carry(r, &d))
		goto report;
	if (n56_spank_load_policy(&n56_st.args, &policy, &d))
		goto report;
	bool known = request_for(r, &req, &partition, &d);
	if (d.n)
		goto report;
	/* the GPU memory of the partition the job asks for (-p a,b: the
	 * smallest among them); none named: the policy's default */
	cap.partition = partition;
	if (n56_plan_build_mem(r, policy, &req, &cap, &plan, &d))
		goto report;
	if (!known && getenv(N56_ENV_VERBOSE))
		fprintf(stderr,
			N56_LOG_PREFIX
			"%s: geometry not visible at "
			"submission; checked for %ld node(s) x %ld GPU(s), the "
			"real step is checked on the compute nodes\n",
			optval, req.nodes, req.gpus_per_node);
	n56_recipe_free(n56_st.recipe);
	n56_st.recipe = r;
	r = NULL;
	snprintf(n56_st.policy_sha, sizeof(n56_st.policy_sha), "%s",
		 policy->sha256_hex);
	rc = 0;
	goto out;
report:
	n56_spank_diags(&d, N56_DIAGS_USER, NULL);
	/* An srun inside a job starts a step; anything else submits. */
	fprintf(stderr,
		N56_LOG_PREFIX "%s: refused (%zu error%s); nothing "
			       "was %s\n",
		optval, d.n, d.n == 1 ? "" : "s",
		getenv("SLURM_JOB_ID") ? "started" : "submitted");
	if (getenv("SLURM_JOB_ID") && spank_context() == S_CTX_LOCAL)
		fprintf(stderr,
			N56_LOG_PREFIX "a step that is not training "
				       "(hostname, a copy) runs with srun "
				       "--nam56r-recipe=none\n");
out:
	free(partition);
	n56_plan_free(plan);
	n56_policy_free(policy);
	n56_recipe_free(r);
	n56_diags_free(&d);
	free(n56_st.opt_value);
	n56_st.opt_value = optval ? strdup(optval) : NULL;
	n56_st.opt_rc = rc;
	return rc;
}

/* Carry the content: in the job control environment (sbatch, salloc: the
 * batch script sees SLURM_SPANK_*, also with --export=NONE) and in this
 * process's environment (srun exports it to its tasks). */
int n56_local_post_opt(spank_t sp)
{
	const struct n56_recipe *r = n56_st.recipe;
	char *b64;
	int rc = -1;

	if (!r)
		return n56_st.opt_rc;
	b64 = n56_base64_encode(r->content, r->content_len);
	if (!b64) {
		fprintf(stderr, N56_LOG_PREFIX "out of memory\n");
		return -1;
	}
	const char *names[] = { N56_CARRY_CONTENT, N56_CARRY_SHA,
				N56_CARRY_PATH, N56_CARRY_POLICY_SHA };
	const char *values[] = { b64, r->sha256_hex, r->path,
				 n56_st.policy_sha };
	for (int i = 0; i < 4; i++) {
		char full[64];
		spank_err_t e =
			spank_job_control_setenv(sp, names[i], values[i], 1);

		/* srun inside an existing allocation has no job control
		 * environment of its own: its exported env carries it. */
		if (e != ESPANK_SUCCESS && spank_context() == S_CTX_ALLOCATOR) {
			fprintf(stderr,
				N56_LOG_PREFIX "cannot carry the "
					       "recipe to the job: %s\n",
				spank_strerror(e));
			goto out;
		}
		snprintf(full, sizeof(full), N56_CARRY_PREFIX "%s", names[i]);
		if (setenv(full, values[i], 1)) {
			fprintf(stderr, N56_LOG_PREFIX "cannot set %s\n", full);
			goto out;
		}
	}
	rc = 0;
out:
	free(b64);
	return rc;
}

void n56_local_exit(void)
{
	n56_recipe_free(n56_st.recipe);
	n56_st.recipe = NULL;
	free(n56_st.opt_value);
	n56_st.opt_value = NULL;
}
