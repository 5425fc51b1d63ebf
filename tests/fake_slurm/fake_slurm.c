/* A stand-in libslurm for tests/placement-cli.sh: the few functions
 * `nam56r-launch placement` loads, answering from the environment instead
 * of slurmctld. FAKE_SLURM_COMMENT, FAKE_SLURM_ADMIN_COMMENT and
 * FAKE_SLURM_NODES fill the job (unset: NULL); FAKE_SLURM_ERRNO makes
 * slurm_load_job fail with that Slurm errno ("invalid_job_id": the one
 * slurmctld gives for an unknown job); FAKE_SLURM_ARRAY=1 answers
 * with two array tasks, 0 on gpu[01-02] and 1 on FAKE_SLURM_NODES. Built
 * against slurm.h, so its structures are those nam56r-launch reads. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

static int fake_errno;

void slurm_init(const char *conf)
{
	(void)conf;
}

int slurm_get_errno(void)
{
	return fake_errno;
}

char *slurm_strerror(int errnum)
{
	return errnum == ESLURM_INVALID_JOB_ID ? "Invalid job id specified"
					       : "fake libslurm error";
}

static char *env_dup(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

static void fill(slurm_job_info_t *j, uint32_t id, const char *nodes)
{
	j->job_id = id;
	j->array_job_id = 0;
	j->array_task_id = NO_VAL;
	j->comment = env_dup("FAKE_SLURM_COMMENT");
	j->admin_comment = env_dup("FAKE_SLURM_ADMIN_COMMENT");
	j->nodes = nodes ? strdup(nodes) : env_dup("FAKE_SLURM_NODES");
}

#ifdef HAVE_SLURM_LOAD_JOB_STEP_ID
int slurm_load_job(job_info_msg_t **resp, slurm_step_id_t step_id,
		   uint16_t show_flags)
{
	uint32_t job_id = step_id.job_id;
#else
int slurm_load_job(job_info_msg_t **resp, uint32_t job_id, uint16_t show_flags)
{
#endif
	const char *e = getenv("FAKE_SLURM_ERRNO");
	int array = getenv("FAKE_SLURM_ARRAY") != NULL;
	job_info_msg_t *m;

	(void)show_flags;
	*resp = NULL;
	if (e) {
		fake_errno = strcmp(e, "invalid_job_id")
				     ? atoi(e)
				     : ESLURM_INVALID_JOB_ID;
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	m->record_count = array ? 2 : 1;
	m->job_array = calloc(m->record_count, sizeof(*m->job_array));
	if (!m->job_array) {
		free(m);
		return -1;
	}
	if (array) {
		for (uint32_t i = 0; i < 2; i++) {
			fill(&m->job_array[i], job_id + 1 + i,
			     i ? NULL : "gpu[01-02]");
			m->job_array[i].array_job_id = job_id;
			m->job_array[i].array_task_id = i;
		}
	} else {
		fill(&m->job_array[0], job_id, NULL);
	}
	*resp = m;
	return 0;
}

void slurm_free_job_info_msg(job_info_msg_t *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->record_count; i++) {
		free(m->job_array[i].comment);
		free(m->job_array[i].admin_comment);
		free(m->job_array[i].nodes);
	}
	free(m->job_array);
	free(m);
}
