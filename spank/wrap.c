/* wrap=PATH: a NAM56R step whose command is the recipe's runtime
 * (`srun --nam56r-recipe=r.yaml python3 pretrain_hybrid.py ...`) runs
 * through nam56r-launch without the user naming it, by
 * spank_prepend_task_argv (Slurm 23.11+). The runtime still gets the
 * generated args only; the user's own args are merged and checked by
 * nam56r-launch as ever. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <slurm/slurm_version.h>

#include "spank/plugin.h"

const char *n56_wrap_unsupported(void)
{
#if HAVE_DECL_SPANK_PREPEND_TASK_ARGV
	return NULL;
#else
	static char msg[600];

	if (!n56_st.args.wrap)
		return NULL;
	snprintf(msg, sizeof(msg),
		 "wrap=%s needs Slurm 23.11 or later "
		 "(spank_prepend_task_argv); this plugin is built for Slurm "
		 "%d.%02d: remove wrap= and run srun nam56r-launch ...",
		 n56_st.args.wrap, SLURM_VERSION_MAJOR(SLURM_VERSION_NUMBER),
		 SLURM_VERSION_MINOR(SLURM_VERSION_NUMBER));
	return msg;
#endif
}

#if HAVE_DECL_SPANK_PREPEND_TASK_ARGV
static void join_words(char *buf, size_t len, int n, char *const *w)
{
	size_t used = 0;

	buf[0] = 0;
	for (int i = 0; i < n && used + 1 < len; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", i ? " " : "",
				 w[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}
#endif

int n56_remote_wrap(spank_t sp)
{
	if (!n56_st.args.wrap || !n56_st.active || n56_st.batch_step ||
	    n56_st.error || !n56_st.plan)
		return 0;
#if HAVE_DECL_SPANK_PREPEND_TASK_ARGV
	const struct n56_plan *p = n56_st.plan;
	int argc = 0;
	char **argv = NULL;
	char got[512], want[512], num[16];

	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    argc < 1 || !argv || !argv[0]) {
		slurm_error(N56_LOG_PREFIX "wrap=: cannot read the step's "
					   "command line");
		return -1;
	}
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "nam56r-launch"))
		return 0; /* named by the user: nothing to add */
	int n = (int)p->ncommand;
	int same = n > 0 && argc >= n;
	for (int i = 0; same && i < n; i++)
		same = !strcmp(argv[i], p->command[i]);
	if (!same) {
		join_words(got, sizeof(got), argc < 8 ? argc : 8, argv);
		join_words(want, sizeof(want), n, p->command);
		slurm_error(N56_LOG_PREFIX
			    "the step runs '%s'; with wrap= a "
			    "NAM56R step runs the recipe's runtime.command "
			    "'%s' (then its own args), or srun nam56r-launch "
			    "...",
			    got, n ? want : "(none)");
		slurm_error(N56_LOG_PREFIX "job %u step %u not started (the "
					   "node stays up)",
			    n56_st.job_id, n56_st.step_id);
		return -1;
	}
	snprintf(num, sizeof(num), "%d", n);
	const char *pre[] = { n56_st.args.wrap, "--runtime-words", num, "--" };
	spank_err_t e = spank_prepend_task_argv(sp, 4, pre);
	if (e != ESPANK_SUCCESS) {
		slurm_error(N56_LOG_PREFIX "wrap=: spank_prepend_task_argv: "
					   "%s",
			    spank_strerror(e));
		return -1;
	}
	return 0;
#else
	(void)sp;
	return 0; /* refused at init: n56_wrap_unsupported() */
#endif
}
