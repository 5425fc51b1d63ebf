/* The CPUs a job holds on one node, from slurmctld, through the libslurm
 * slurmstepd already loaded (as publish.c does): the key of the computed
 * MASTER_PORT when Slurm reserved no port for the step. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <slurm/slurm.h>

#include "spank/plugin.h"

typedef int (*load_job_fn)(job_info_msg_t **, uint32_t, uint16_t);
typedef void (*free_info_fn)(job_info_msg_t *);
typedef int (*cpus_on_node_fn)(char *, size_t, job_resources_t *,
			       const char *);

int n56_job_cpus_on_node(uint32_t job_id, const char *node, char *cpus,
			 size_t len, char *err, size_t errlen)
{
	load_job_fn load = (load_job_fn)dlsym(RTLD_DEFAULT, "slurm_load_job");
	free_info_fn release = (free_info_fn)dlsym(RTLD_DEFAULT,
						   "slurm_free_job_info_msg");
	cpus_on_node_fn on_node = (cpus_on_node_fn)dlsym(
		RTLD_DEFAULT, "slurm_job_cpus_allocated_str_on_node");
	job_info_msg_t *info = NULL;
	int rc = -1;

	if (!load || !release || !on_node) {
		snprintf(err, errlen, "slurm_load_job is not loaded in this "
			 "process (slurmstepd without libslurmfull?)");
		return -1;
	}
	if (load(&info, job_id, SHOW_ALL | SHOW_DETAIL) || !info) {
		snprintf(err, errlen, "slurm_load_job(%u): %s", job_id,
			 strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < info->record_count; i++) {
		slurm_job_info_t *j = &info->job_array[i];

		if (j->job_id != job_id || !j->job_resrcs)
			continue;
		if (on_node(cpus, len, j->job_resrcs, node) == 0 && *cpus) {
			rc = 0;
			goto out;
		}
	}
	snprintf(err, errlen, "slurmctld names no CPUs of job %u on %s",
		 job_id, node);
out:
	if (info)
		release(info);
	return rc;
}
