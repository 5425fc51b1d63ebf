/* What of the site policy only the topology code can judge, checked when
 * the policy is loaded (validate, plan, the plugin) rather than when a node
 * first matches itself against the admin map. */
#include "config.h"
#include "job/n56job.h"
#include "topology/topology.h"

#include <stdio.h>

int n56_policy_check_topology(const struct n56_policy *p, struct n56_diags *d)
{
	int rc = 0;

	for (size_t i = 0; p && i < p->topology.nislands; i++) {
		const struct n56_island_map_entry *e = &p->topology.islands[i];
		char err[512];

		/* At the same place as the admin map's errors (islands.c);
		 * stricter than Slurm's reading, which takes n[1- or n1] as
		 * some name: an entry must name real hosts. */
		if (n56_hostlist_count_strict(e->nodes, err, sizeof(err)) < 0) {
			n56_diag_add(d, p->path ? p->path : "policy", e->pos,
				     "topology.islands[%zu].nodes: %s", i, err);
			rc = -1;
		}
	}
	return rc;
}
