/* Whether the step's task layout is the one placement assumes: ranks in
 * blocks of G consecutive global ids per node, in node order (srun -m
 * block, or -m plane=G). Every node sees the same SLURM_DISTRIBUTION, so
 * a refusal here fails every rank, not half of them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

int n56_distribution_check(const char *dist, const char *plane_size,
			   long tasks_per_node, char *err, size_t errlen)
{
	size_t len;

	if (!dist || !*dist)
		return 0; /* srun's default: block */
	len = strcspn(dist, ":,");
	if (len == 5 && !strncmp(dist, "block", 5))
		return 0;
	if (len == 5 && !strncmp(dist, "plane", 5)) {
		char *end;
		long p = plane_size ? strtol(plane_size, &end, 10) : -1;

		if (plane_size && end != plane_size && !*end &&
		    p == tasks_per_node)
			return 0;
		snprintf(err, errlen,
			 "the step's tasks are distributed "
			 "plane=%s (srun -m), but its %ld ranks per node must "
			 "be consecutive: use the block distribution (srun -m "
			 "block, the default) or -m plane=%ld",
			 plane_size ? plane_size : "?", tasks_per_node,
			 tasks_per_node);
		return -1;
	}
	snprintf(err, errlen,
		 "the step's tasks are distributed '%.*s' (srun "
		 "-m), but NAM56R ranks follow Megatron's order in blocks of "
		 "%ld per node: use the block distribution (srun -m block, the "
		 "default)",
		 (int)len, dist, tasks_per_node);
	return -1;
}
