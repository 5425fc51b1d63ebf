/* spank_nam56r.so: the SPANK entry points. Each one switches on
 * spank_context() into the file of that context; nothing else lives here. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm_version.h>

#include "spank/plugin.h"

SPANK_PLUGIN(nam56r, 1);

#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(25, 5, 0)
/* Slurm 25.05+: should slurm_spank_init fail in slurmstepd, fail the job
 * and leave the node up (the default drains it). The plugin's own
 * remote init never fails; this covers what Slurm does around it. */
int slurm_spank_init_failure_mode = ESPANK_JOB_FAILURE;
#endif

struct n56_spank_state n56_st = { .opt_rc = 0, .field = -1 };

static int opt_recipe(int val, const char *optval, int remote)
{
	(void)val;
	if (remote)
		return n56_remote_option(optval);
	return n56_local_option(optval);
}

static struct spank_option recipe_option = {
	"nam56r-recipe",
	"FILE",
	"NAM56R recipe (nam56r.yaml): validated now, its content runs on "
	"every rank (see spank_nam56r(8))",
	1,
	0,
	opt_recipe,
};

/* Registered in every context that parses options (sbatch needs the
 * dynamic registration; a static table is ignored there). */
static int register_option(spank_t sp)
{
	spank_err_t rc = spank_option_register(sp, &recipe_option);

	if (rc != ESPANK_SUCCESS) {
		slurm_error(N56_LOG_PREFIX "cannot register --nam56r-recipe: "
					   "%s",
			    spank_strerror(rc));
		return -1;
	}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		if (register_option(sp))
			return -1;
		if (n56_local_init(sp, ac, av))
			return -1;
		if (n56_wrap_unsupported()) {
			fprintf(stderr, N56_LOG_PREFIX "plugstack.conf: %s\n",
				n56_wrap_unsupported());
			return -1;
		}
		return 0;
	case S_CTX_REMOTE:
		/* Never an error here: it would drain the node. */
		register_option(sp);
		n56_remote_init(sp, ac, av);
		if (n56_st.args_ok && n56_wrap_unsupported()) {
			n56_st.args_ok = false;
			snprintf(n56_st.args_err, sizeof(n56_st.args_err), "%s",
				 n56_wrap_unsupported());
			slurm_error(N56_LOG_PREFIX "plugstack.conf: %s",
				    n56_st.args_err);
		}
		return 0;
	case S_CTX_SLURMD:
		return n56_slurmd_init(sp, ac, av);
	default:
		return 0;
	}
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return n56_local_post_opt(sp);
	case S_CTX_REMOTE:
		return n56_remote_post_opt(sp);
	default:
		return 0;
	}
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	if (n56_remote_task_init(sp))
		return -1;
	return n56_remote_wrap(sp);
}

int slurm_spank_task_post_fork(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return n56_remote_task_post_fork(sp);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		n56_local_exit();
		break;
	case S_CTX_REMOTE:
		n56_remote_exit();
		break;
	default:
		break;
	}
	n56_spank_args_clear(&n56_st.args);
	return 0;
}

struct diags_sink {
	enum n56_diags_to to;
	const char *note;
};

static void diag_line(void *ctx, const char *line)
{
	const struct diags_sink *s = ctx;

	switch (s->to) {
	case N56_DIAGS_USER:
		fprintf(stderr, N56_LOG_PREFIX "%s%s\n", line, s->note);
		break;
	case N56_DIAGS_LOG:
		slurm_error(N56_LOG_PREFIX "%s%s", line, s->note);
		break;
	case N56_DIAGS_STEP:
		n56_remote_fail("%s%s", line, s->note);
		break;
	}
}

void n56_spank_diags(struct n56_diags *d, enum n56_diags_to to,
		     const char *note)
{
	struct diags_sink s = { to, note ? note : "" };

	n56_diags_emit(d, diag_line, &s);
}

int n56_spank_load_policy(const struct n56_spank_args *a,
			  struct n56_policy **out, struct n56_diags *d)
{
	spank_context_t ctx = spank_context();

	if (a->no_policy) {
		*out = n56_policy_empty();
		if (!*out) {
			n56_diag_add(d, "policy", (struct n56_pos){ 0, 0 },
				     "out of memory");
			return -1;
		}
		return 0;
	}
	if (n56_policy_load_trusted(a->policy, out, d))
		return -1;
	if (n56_policy_check_topology(*out, d)) {
		n56_policy_free(*out);
		*out = NULL;
		return -1;
	}
	/* island_source slurm-block: Slurm's blocks, from its topology file
	 * beside the slurm.conf that slurmd (and so slurmstepd) reads. The
	 * submitting side places nothing: it does not read them. */
	if ((ctx == S_CTX_REMOTE || ctx == S_CTX_SLURMD) &&
	    n56_policy_slurm_blocks(*out, getenv("SLURM_CONF"), d)) {
		n56_policy_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

const char *n56_spank_cache_dir(const struct n56_spank_args *a,
				const struct n56_policy *p)
{
	if (a->cache_dir)
		return a->cache_dir;
	if (p && p->topology.cache_dir.v && p->topology.cache_dir.v[0])
		return p->topology.cache_dir.v;
	return N56_DEFAULT_CACHE_DIR;
}
