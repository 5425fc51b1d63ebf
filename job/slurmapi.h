/* The libslurm functions both sides call by name, never by linking: the
 * plugin finds them with dlsym in the libslurmfull slurmstepd has loaded,
 * `nam56r-launch placement` in the libslurm it dlopen()s. The compiler
 * never checks such a call against slurm.h, so their types are checked
 * here, at build time, against the headers of the Slurm built for (26.05
 * changed slurm_load_job; a mismatch went unnoticed until its jobs had no
 * record). Include only where slurm/slurm.h is available. */
#ifndef NAM56R_JOB_SLURMAPI_H
#define NAM56R_JOB_SLURMAPI_H

#include <stdint.h>

#include <slurm/slurm.h>

#ifdef HAVE_SLURM_LOAD_JOB_STEP_ID
typedef int (*n56_load_job_fn)(job_info_msg_t **, slurm_step_id_t, uint16_t);
#else
typedef int (*n56_load_job_fn)(job_info_msg_t **, uint32_t, uint16_t);
#endif
typedef int (*n56_update_job_fn)(job_desc_msg_t *);
typedef void (*n56_init_desc_fn)(job_desc_msg_t *);
typedef void (*n56_free_info_fn)(job_info_msg_t *);
typedef int (*n56_get_errno_fn)(void);
typedef char *(*n56_strerror_fn)(int);

#define N56_SAME_TYPE(fn, type)                                             \
	_Static_assert(__builtin_types_compatible_p(__typeof__(&fn), type), \
		       #fn " differs from slurm.h: fix its typedef")
N56_SAME_TYPE(slurm_load_job, n56_load_job_fn);
N56_SAME_TYPE(slurm_update_job, n56_update_job_fn);
N56_SAME_TYPE(slurm_init_job_desc_msg, n56_init_desc_fn);
N56_SAME_TYPE(slurm_free_job_info_msg, n56_free_info_fn);
/* slurm_get_errno is gone from slurm.h in newer releases (24.11 sets
 * errno itself): looked up where it exists, never checked here. */
N56_SAME_TYPE(slurm_strerror, n56_strerror_fn);

/* slurm_load_job(job_id) for the release built for: 26.05 names the job
 * by a slurm_step_id_t, passed by value. */
static inline int n56_slurm_load_job(n56_load_job_fn load,
				     job_info_msg_t **info, uint32_t job_id,
				     uint16_t flags)
{
#ifdef HAVE_SLURM_LOAD_JOB_STEP_ID
	slurm_step_id_t id = SLURM_STEP_ID_INITIALIZER;

	id.job_id = job_id;
	return load(info, id, flags);
#else
	return load(info, job_id, flags);
#endif
}

#endif
