/* MASTER_PORT of a step (spank_nam56r(8), MASTER PORT): the first port
 * Slurm reserved for the step (with MpiParams=ports, Slurm 22.05 reserves
 * ports for every step and sets SLURM_STEP_RESV_PORTS), else a port
 * computed from what the job holds on the step's first node. Jobs that
 * share a node hold disjoint CPUs there, so the lowest CPU id is a key no
 * concurrent job on that node shares; where libslurm no longer gives a
 * job's CPUs per node (24.11 on), its lowest GPU index there, GPUs being
 * just as disjoint; the step id tells the steps of one job apart. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

/* "12000-12003" or "12000,12005-12007": the first port. */
int n56_resv_ports_first(const char *s, int *port)
{
	char *end;
	long p;

	if (!s || !*s)
		return -1;
	p = strtol(s, &end, 10);
	if (end == s || p < 1 || p > 65535 ||
	    (*end && *end != '-' && *end != ','))
		return -1;
	*port = (int)p;
	return 0;
}

int n56_port_from_cpus(long base, const char *cpus, uint32_t step_id, int *port,
		       char *err, size_t errlen)
{
	return n56_port_from_key(base, "CPU", cpus, step_id, port, err, errlen);
}

int n56_port_from_key(long base, const char *what, const char *cpus,
		      uint32_t step_id, int *port, char *err, size_t errlen)
{
	long span = 65536 - base, cpu;
	char *end;

	if (base < 1024 || base > 65535 - N56_PORT_STEPS) {
		snprintf(err, errlen,
			 "record.master_port %ld leaves no room "
			 "for the per-job ports (use 1024..%d)",
			 base, 65535 - N56_PORT_STEPS);
		return -1;
	}
	cpu = cpus ? strtol(cpus, &end, 10) : -1;
	if (!cpus || end == cpus || cpu < 0) {
		snprintf(err, errlen,
			 "the job's %ss on its first node are "
			 "'%s', not a %s list",
			 what, cpus ? cpus : "(none)", what);
		return -1;
	}
	/* Past the last slot the keys wrap: two jobs on one first node then
	 * share a port only when their keys differ by a multiple of the slots
	 * (1126 CPUs at the default base; spank_nam56r(8) MASTER PORT). */
	cpu %= span / N56_PORT_STEPS;
	*port = (int)(base + cpu * N56_PORT_STEPS + step_id % N56_PORT_STEPS);
	return 0;
}
