/* The step helpers of job/ports.c and job/steplayout.c: MASTER_PORT
 * (the first reserved port of SLURM_STEP_RESV_PORTS, the computed port from
 * the job's CPUs on the first node) and the task distribution check, with
 * their exact messages. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "job/n56job.h"

static void resv_ports(void **state)
{
	int p = 0;

	(void)state;
	assert_int_equal(n56_resv_ports_first("12000-12007", &p), 0);
	assert_int_equal(p, 12000);
	assert_int_equal(n56_resv_ports_first("12005,12010-12011", &p), 0);
	assert_int_equal(p, 12005);
	assert_int_equal(n56_resv_ports_first("40001", &p), 0);
	assert_int_equal(p, 40001);
	assert_int_equal(n56_resv_ports_first("", &p), -1);
	assert_int_equal(n56_resv_ports_first("x-1", &p), -1);
	assert_int_equal(n56_resv_ports_first("70000", &p), -1);
	assert_int_equal(n56_resv_ports_first("0-3", &p), -1);
	assert_int_equal(n56_resv_ports_first("12000x", &p), -1);
}

/* Jobs sharing the first node hold disjoint CPUs: distinct ports; the
 * steps of one job are told apart by the step id. */
static void from_cpus(void **state)
{
	char err[256];
	int a, b, c, d;

	(void)state;
	assert_int_equal(
		n56_port_from_cpus(29500, "0-3", 0, &a, err, sizeof(err)), 0);
	assert_int_equal(
		n56_port_from_cpus(29500, "4-7", 0, &b, err, sizeof(err)), 0);
	assert_int_equal(
		n56_port_from_cpus(29500, "0-3", 1, &c, err, sizeof(err)), 0);
	assert_int_equal(
		n56_port_from_cpus(29500, "1,3", 0, &d, err, sizeof(err)), 0);
	assert_int_equal(a, 29500);
	assert_int_equal(b, 29500 + 4 * N56_PORT_STEPS);
	assert_int_equal(c, 29501);
	assert_int_equal(d, 29500 + N56_PORT_STEPS);
	/* The highest CPU that still fits below 65536. */
	assert_int_equal(n56_port_from_cpus(29500, "1125", N56_PORT_STEPS - 1,
					    &a, err, sizeof(err)),
			 0);
	assert_true(a <= 65535);
	/* Past it the slots wrap (1126 slots of 32 above 29500), so no CPU
	 * id fails the step. */
	assert_int_equal(
		n56_port_from_cpus(29500, "1126", 0, &a, err, sizeof(err)), 0);
	assert_int_equal(a, 29500);
	assert_int_equal(
		n56_port_from_cpus(29500, "1127-1130", 5, &a, err, sizeof(err)),
		0);
	assert_int_equal(a, 29500 + N56_PORT_STEPS + 5);
	/* The highest base the policy takes, and the highest CPU id a node
	 * could have: the port stays in range. */
	for (long cpu = 0; cpu < 100000; cpu += 997) {
		char key[16];

		snprintf(key, sizeof(key), "%ld", cpu);
		assert_int_equal(n56_port_from_cpus(64536, key, 31, &a, err,
						    sizeof(err)),
				 0);
		assert_in_range(a, 64536, 65535);
	}
	assert_int_equal(n56_port_from_cpus(29500, "", 0, &a, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "the job's CPUs on its first node are '', "
				 "not a CPU list");
	assert_int_equal(n56_port_from_cpus(80, "0", 0, &a, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "record.master_port 80 leaves no room for "
				 "the per-job ports (use 1024..65503)");
}

static void distribution(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(
		n56_distribution_check(NULL, NULL, 8, err, sizeof(err)), 0);
	assert_int_equal(
		n56_distribution_check("block", NULL, 8, err, sizeof(err)), 0);
	assert_int_equal(n56_distribution_check("block:cyclic", NULL, 8, err,
						sizeof(err)),
			 0);
	assert_int_equal(
		n56_distribution_check("plane", "8", 8, err, sizeof(err)), 0);
	assert_int_equal(
		n56_distribution_check("cyclic", NULL, 8, err, sizeof(err)),
		-1);
	assert_string_equal(err,
			    "the step's tasks are distributed 'cyclic' "
			    "(srun -m), but NAM56R ranks follow Megatron's "
			    "order in blocks of 8 per node: use the block "
			    "distribution (srun -m block, the default)");
	assert_int_equal(n56_distribution_check("cyclic:block", NULL, 8, err,
						sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "distributed 'cyclic' (srun -m)"));
	assert_int_equal(
		n56_distribution_check("arbitrary", NULL, 8, err, sizeof(err)),
		-1);
	assert_int_equal(
		n56_distribution_check("plane", "2", 8, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "the step's tasks are distributed plane=2 "
			    "(srun -m), but its 8 ranks per node must be "
			    "consecutive: use the block distribution (srun -m "
			    "block, the default) or -m plane=8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resv_ports),
		cmocka_unit_test(from_cpus),
		cmocka_unit_test(distribution),
	};

	return cmocka_run_group_tests_name("ports", tests, NULL, NULL);
}
