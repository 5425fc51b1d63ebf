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

#include <slurm/slurm.h>

#include "spank/plugin.h"

#ifdef HAVE_SLURM_LOAD_JOB_STEP_ID
typedef int (*load_job_fn)(job_info_msg_t **, slurm_step_id_t, uint16_t);
#else
typedef int (*load_job_fn)(job_info_msg_t **, uint32_t, uint16_t);
#endif
typedef int (*update_job_fn)(job_desc_msg_t *);
typedef void (*init_desc_fn)(job_desc_msg_t *);
typedef void (*free_info_fn)(job_info_msg_t *);
typedef int (*get_errno_fn)(void);
typedef char *(*strerror_fn)(int);

/* The functions are found by name at run time, so the compiler never
 * checks a call against slurm.h: check the types here, at build time,
 * against the headers of the Slurm the plugin is built for (26.05 changed
 * slurm_load_job; a mismatch went unnoticed until its jobs had no record). */
#define N56_SAME_TYPE(fn, type)                                               \
	_Static_assert(__builtin_types_compatible_p(__typeof__(&fn), type),  \
		       #fn " differs from slurm.h: fix its typedef")
N56_SAME_TYPE(slurm_load_job, load_job_fn);
N56_SAME_TYPE(slurm_update_job, update_job_fn);
N56_SAME_TYPE(slurm_init_job_desc_msg, init_desc_fn);
N56_SAME_TYPE(slurm_free_job_info_msg, free_info_fn);

static void *sym(const char *name, char *err, size_t errlen)
{
	void *p = dlsym(RTLD_DEFAULT, name);

	if (!p)
		snprintf(err, errlen, "%s is not loaded in this process "
			 "(slurmstepd without libslurmfull?)", name);
	return p;
}

static const char *slurm_err(void)
{
	get_errno_fn get = (get_errno_fn)dlsym(RTLD_DEFAULT,
					       "slurm_get_errno");
	strerror_fn str = (strerror_fn)dlsym(RTLD_DEFAULT, "slurm_strerror");

	if (get && str)
		return str(get());
	return strerror(errno);
}

int n56_publish_record(uint32_t job_id, int field, const char *record,
		       char *err, size_t errlen)
{
	load_job_fn load = (load_job_fn)sym("slurm_load_job", err, errlen);
	update_job_fn update = (update_job_fn)sym("slurm_update_job", err,
						  errlen);
	init_desc_fn init = (init_desc_fn)sym("slurm_init_job_desc_msg", err,
					      errlen);
	free_info_fn release = (free_info_fn)sym("slurm_free_job_info_msg",
						 err, errlen);
	job_info_msg_t *info = NULL;
	job_desc_msg_t desc;
	char *merged = NULL;
	int rc = -1;

	if (!load || !update || !init || !release)
		return -1;
#ifdef HAVE_SLURM_LOAD_JOB_STEP_ID
	/* The type must match slurm.h's exactly: the function is found by
	 * name, so the compiler cannot check the call against it. */
	slurm_step_id_t id = SLURM_STEP_ID_INITIALIZER;

	id.job_id = job_id;
	int loaded = load(&info, id, SHOW_ALL);
#else
	int loaded = load(&info, job_id, SHOW_ALL);
#endif
	if (loaded || !info || info->record_count < 1) {
		snprintf(err, errlen, "slurm_load_job(%u): %s", job_id,
			 slurm_err());
		goto out;
	}
	/* What the field holds now: the user's comment is kept. */
	const char *old = field == N56_RECORD_ADMIN_COMMENT ?
			  info->job_array[0].admin_comment :
			  info->job_array[0].comment;
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
