/* slurmd context: discover this node's topology once, when slurmd starts,
 * and write the root-owned cache the tasks read. Never fails slurmd: every
 * problem is logged, and tasks then fall back to the assumed shape. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spank/plugin.h"

int n56_slurmd_init(spank_t sp, int ac, char **av)
{
	struct n56_spank_args *a = &n56_st.args;
	struct n56_policy *policy = NULL;
	struct n56_topology *t = NULL;
	struct n56_diags d = { 0 };
	char err[512] = "", host[256] = "", path[4096];
	const char *dir;

	(void)sp;
	if (n56_spank_args_parse(ac, av, a, err, sizeof(err))) {
		slurm_error(N56_LOG_PREFIX "plugstack.conf: %s (topology not "
					   "cached)",
			    err);
		return 0;
	}
	/* The admin map of the policy names nodes; without a policy the
	 * node's own view is used. */
	if (n56_spank_load_policy(a, &policy, &d)) {
		n56_spank_diags(&d, N56_DIAGS_LOG, NULL);
		policy = NULL;
	}
	dir = n56_spank_cache_dir(a, policy);
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	/* slurmd runs threads: leave its environment alone. */
	struct n56_topology_opts o = { .xml = a->topology,
				       .nvml = a->topology == NULL,
				       .threaded = true };
	if (n56_topology_load_opts(&o, policy, host, &t, err, sizeof(err))) {
		slurm_error(N56_LOG_PREFIX "topology discovery: %s", err);
		goto out;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		slurm_error(N56_LOG_PREFIX "cannot create %s: %s", dir,
			    strerror(errno));
		goto out;
	}
	/* Root writes there: the policy's rule, or no cache. */
	n56_diags_free(&d);
	if (n56_path_trusted("the topology cache directory", dir, true, &d)) {
		n56_spank_diags(&d, N56_DIAGS_LOG, " (topology not cached)");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/topology.xml", dir);
	if (n56_topology_cache_write(t, path, err, sizeof(err))) {
		slurm_error(N56_LOG_PREFIX "topology cache %s: %s", path, err);
		goto out;
	}
	slurm_info(N56_LOG_PREFIX "topology of %s cached in %s: %d GPU(s), "
				  "%d island(s) (%s)",
		   host, path, t->ngpus, t->nislands,
		   n56_island_source_name(t->island_source));
out:
	n56_topology_free(t);
	n56_policy_free(policy);
	n56_diags_free(&d);
	return 0;
}
