/* What a job holds on one node, from slurmctld, through the libslurm
 * slurmstepd already loaded (as publish.c does): the key of the computed
 * MASTER_PORT when Slurm reserved no port for the step. Up to Slurm 23.11
 * libslurm gives the job's CPU ids on a node; from 24.11 on it no longer
 * exports that function, and the key is the job's GPU indices on the node
 * (the per-node GRES detail), which concurrent jobs hold as disjointly. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/slurmapi.h"
#include "spank/plugin.h"

typedef int (*cpus_on_node_fn)(char *, size_t, job_resources_t *, const char *);

/* "gpu:h200:4(IDX:2-5)" or "gpu(IDX:0,2-3)": the list after IDX:. */
static int gres_gpu_indices(const char *detail, char *out, size_t len)
{
	const char *at = detail ? strstr(detail, "IDX:") : NULL;
	size_t n = 0;

	if (!at)
		return -1;
	for (at += 4; *at && *at != ')' && *at != ' ' && n + 1 < len; at++)
		out[n++] = *at;
	out[n] = '\0';
	return n ? 0 : -1;
}

/* The GPU indices of job j on node, from its per-node GRES detail. */
static int gpus_on_node(const slurm_job_info_t *j, const char *node, char *out,
			size_t len)
{
	char **hosts = NULL, herr[128];
	size_t nhosts = 0;
	int rc = -1;

	if (!j->nodes || !j->gres_detail_str ||
	    n56_hostlist_expand(j->nodes, &hosts, &nhosts, herr, sizeof(herr)))
		return -1;
	for (size_t i = 0; i < nhosts && i < j->gres_detail_cnt; i++)
		if (!strcmp(hosts[i], node)) {
			rc = gres_gpu_indices(j->gres_detail_str[i], out, len);
			break;
		}
	n56_hostlist_free(hosts, nhosts);
	return rc;
}

int n56_job_key_on_node(uint32_t job_id, const char *node, char *key,
			size_t len, const char **what, char *err, size_t errlen)
{
	n56_load_job_fn load =
		(n56_load_job_fn)dlsym(RTLD_DEFAULT, "slurm_load_job");
	n56_free_info_fn release = (n56_free_info_fn)dlsym(
		RTLD_DEFAULT, "slurm_free_job_info_msg");
	cpus_on_node_fn on_node = (cpus_on_node_fn)dlsym(
		RTLD_DEFAULT, "slurm_job_cpus_allocated_str_on_node");
	job_info_msg_t *info = NULL;
	int rc = -1, loaded;

	if (!load || !release) {
		snprintf(err, errlen,
			 "slurm_load_job is not loaded in this "
			 "process (slurmstepd without libslurmfull?)");
		return -1;
	}
	loaded =
		n56_slurm_load_job(load, &info, job_id, SHOW_ALL | SHOW_DETAIL);
	if (loaded || !info) {
		snprintf(err, errlen, "slurm_load_job(%u): %s", job_id,
			 strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < info->record_count; i++) {
		slurm_job_info_t *j = &info->job_array[i];

		if (j->job_id != job_id)
			continue;
		if (on_node && j->job_resrcs &&
		    on_node(key, len, j->job_resrcs, node) == 0 && *key) {
			*what = "CPU";
			rc = 0;
			goto out;
		}
		if (!on_node && gpus_on_node(j, node, key, len) == 0) {
			*what = "GPU";
			rc = 0;
			goto out;
		}
	}
	snprintf(err, errlen, "slurmctld names no %s of job %u on %s",
		 on_node ? "CPUs" : "GPUs", job_id, node);
out:
	if (info)
		release(info);
	return rc;
}
