/* The placement record into the job's Comment or AdminComment, from
 * slurmstepd as root. The plugin never links libslurm: slurmstepd already
 * has libslurmfull loaded, and its slurm_load_job / slurm_update_job are
 * found with dlsym at the moment they are needed (types from slurm.h). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/slurmapi.h"
#include "spank/plugin.h"

static void *sym(const char *name, char *err, size_t errlen)
{
	void *p = dlsym(RTLD_DEFAULT, name);

	if (!p)
		snprintf(err, errlen,
			 "%s is not loaded in this process "
			 "(slurmstepd without libslurmfull?)",
			 name);
	return p;
}

static const char *slurm_err(void)
{
	n56_get_errno_fn get =
		(n56_get_errno_fn)dlsym(RTLD_DEFAULT, "slurm_get_errno");
	n56_strerror_fn str =
		(n56_strerror_fn)dlsym(RTLD_DEFAULT, "slurm_strerror");

	if (get && str)
		return str(get());
	return strerror(errno);
}

int n56_publish_record(uint32_t job_id, int field, const char *record,
		       char *err, size_t errlen)
{
	n56_load_job_fn load =
		(n56_load_job_fn)sym("slurm_load_job", err, errlen);
	n56_update_job_fn update =
		(n56_update_job_fn)sym("slurm_update_job", err, errlen);
	n56_init_desc_fn init =
		(n56_init_desc_fn)sym("slurm_init_job_desc_msg", err, errlen);
	n56_free_info_fn release =
		(n56_free_info_fn)sym("slurm_free_job_info_msg", err, errlen);
	job_info_msg_t *info = NULL;
	job_desc_msg_t desc;
	char *merged = NULL;
	int rc = -1;

	if (!load || !update || !init || !release)
		return -1;
	int loaded = n56_slurm_load_job(load, &info, job_id, SHOW_ALL);
	if (loaded || !info || info->record_count < 1) {
		snprintf(err, errlen, "slurm_load_job(%u): %s", job_id,
			 slurm_err());
		goto out;
	}
	/* What the field holds now: the user's comment is kept. */
	const char *old = field == N56_RECORD_ADMIN_COMMENT
				  ? info->job_array[0].admin_comment
				  : info->job_array[0].comment;
	merged = n56_record_merge(old, record);
	if (!merged) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	init(&desc);
#ifdef HAVE_JOB_DESC_MSG_T_STEP_ID_JOB_ID
	desc.step_id.job_id = job_id;
#else
	desc.job_id = job_id;
#endif
	if (field == N56_RECORD_ADMIN_COMMENT)
		desc.admin_comment = merged;
	else
		desc.comment = merged;
	if (update(&desc)) {
		snprintf(err, errlen, "slurm_update_job(%u): %s", job_id,
			 slurm_err());
		goto out;
	}
	rc = 0;
out:
	if (info)
		release(info);
	free(merged);
	return rc;
}
