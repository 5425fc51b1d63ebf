/* topology/bind.c: the target CPU set (near AND allowed, never wider than
 * what Slurm gave), and n56_bind_rank on a generated topology, run in this
 * process with its affinity saved and restored around each test. */
#include "config.h"

#include <errno.h>
#include <hwloc.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "topology/bind.h"

#define DATA BUILDDIR "/tests/data/topology"

static char *target_of(const char *near, const char *allowed, int *ret)
{
	hwloc_bitmap_t n = hwloc_bitmap_alloc(), a = hwloc_bitmap_alloc(),
		       o = hwloc_bitmap_alloc();
	char *s = NULL;

	assert_int_equal(hwloc_bitmap_list_sscanf(n, near), 0);
	assert_int_equal(hwloc_bitmap_list_sscanf(a, allowed), 0);
	*ret = n56_bind_target(n, a, o);
	if (*ret >= 0)
		assert_true(hwloc_bitmap_list_asprintf(&s, o) >= 0);
	hwloc_bitmap_free(n);
	hwloc_bitmap_free(a);
	hwloc_bitmap_free(o);
	return s;
}

static void expect_target(const char *near, const char *allowed,
			  const char *want, int want_ret)
{
	int r;
	char *s = target_of(near, allowed, &r);

	assert_int_equal(r, want_ret);
	assert_string_equal(s, want);
	free(s);
}

static void test_target(void **state)
{
	int r;

	(void)state;
	expect_target("0-15", "8-23", "8-15", 0);
	expect_target("0-15,32-47", "0-63", "0-15,32-47", 0);
	expect_target("0-15", "4", "4", 0);
	/* Slurm gave cores far from the GPU: its set stays whole. */
	expect_target("0-15", "16-31", "16-31", 1);
	/* GPU cores unknown: Slurm's set. */
	expect_target("", "2-5", "2-5", 1);
	/* Nothing allowed is bad input. */
	assert_null(target_of("0-3", "", &r));
	assert_int_equal(r, -1);
}

/* Never widened, over many pseudo-random pairs. */
static void test_target_never_widens(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int k = 0; k < 2000; k++) {
		hwloc_bitmap_t n = hwloc_bitmap_alloc(),
			       a = hwloc_bitmap_alloc(),
			       o = hwloc_bitmap_alloc();
		int r;

		for (int c = 0; c < 128; c++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) & 1)
				hwloc_bitmap_set(n, c);
			if ((seed >> 17) % 5 == 0)
				hwloc_bitmap_set(a, c);
		}
		r = n56_bind_target(n, a, o);
		if (hwloc_bitmap_iszero(a)) {
			assert_int_equal(r, -1);
		} else {
			assert_true(hwloc_bitmap_isincluded(o, a));
			assert_false(hwloc_bitmap_iszero(o));
			if (r == 0)
				assert_true(hwloc_bitmap_isincluded(o, n));
			else
				assert_false(hwloc_bitmap_intersects(n, a));
		}
		hwloc_bitmap_free(n);
		hwloc_bitmap_free(a);
		hwloc_bitmap_free(o);
	}
}

/* One package of PUs 0-1 and NUMA node 0 with the GPU, one of PUs 2-3
 * (node 1) without; an mlx5 beside the GPU. */
static const char topo_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
	"<topology version=\"2.0\">\n"
	"<object type=\"Machine\" os_index=\"0\" cpuset=\"0x0000000f\" "
	"complete_cpuset=\"0x0000000f\" allowed_cpuset=\"0x0000000f\" "
	"nodeset=\"0x00000003\" complete_nodeset=\"0x00000003\" "
	"allowed_nodeset=\"0x00000003\" gp_index=\"1\">\n"
	"<object type=\"Package\" os_index=\"0\" cpuset=\"0x00000003\" "
	"complete_cpuset=\"0x00000003\" nodeset=\"0x00000001\" "
	"complete_nodeset=\"0x00000001\" gp_index=\"2\">\n"
	"<object type=\"NUMANode\" os_index=\"0\" cpuset=\"0x00000003\" "
	"complete_cpuset=\"0x00000003\" nodeset=\"0x00000001\" "
	"complete_nodeset=\"0x00000001\" gp_index=\"3\"/>\n"
	"<object type=\"PU\" os_index=\"0\" cpuset=\"0x00000001\" "
	"complete_cpuset=\"0x00000001\" nodeset=\"0x00000001\" "
	"complete_nodeset=\"0x00000001\" gp_index=\"4\"/>\n"
	"<object type=\"PU\" os_index=\"1\" cpuset=\"0x00000002\" "
	"complete_cpuset=\"0x00000002\" nodeset=\"0x00000001\" "
	"complete_nodeset=\"0x00000001\" gp_index=\"5\"/>\n"
	"<object type=\"Bridge\" gp_index=\"6\" bridge_type=\"0-1\" "
	"depth=\"0\" bridge_pci=\"0000:[18-19]\">\n"
	"<object type=\"PCIDev\" gp_index=\"7\" pci_busid=\"0000:18:00.0\" "
	"pci_type=\"0302 [10de:2330] [10de:16c1] a1\" "
	"pci_link_speed=\"0.0\"/>\n"
	"<object type=\"PCIDev\" gp_index=\"8\" pci_busid=\"0000:19:00.0\" "
	"pci_type=\"0207 [15b3:101b] [15b3:0007] 00\" pci_link_speed=\"0.0\">"
	"<object type=\"OSDev\" gp_index=\"9\" name=\"mlx5_0\" "
	"osdev_type=\"3\"/></object>\n"
	"</object>\n</object>\n"
	"<object type=\"Package\" os_index=\"1\" cpuset=\"0x0000000c\" "
	"complete_cpuset=\"0x0000000c\" nodeset=\"0x00000002\" "
	"complete_nodeset=\"0x00000002\" gp_index=\"10\">\n"
	"<object type=\"NUMANode\" os_index=\"1\" cpuset=\"0x0000000c\" "
	"complete_cpuset=\"0x0000000c\" nodeset=\"0x00000002\" "
	"complete_nodeset=\"0x00000002\" gp_index=\"11\"/>\n"
	"<object type=\"PU\" os_index=\"2\" cpuset=\"0x00000004\" "
	"complete_cpuset=\"0x00000004\" nodeset=\"0x00000002\" "
	"complete_nodeset=\"0x00000002\" gp_index=\"12\"/>\n"
	"<object type=\"PU\" os_index=\"3\" cpuset=\"0x00000008\" "
	"complete_cpuset=\"0x00000008\" nodeset=\"0x00000002\" "
	"complete_nodeset=\"0x00000002\" gp_index=\"13\"/>\n"
	"</object>\n</object>\n</topology>\n";

struct fixture {
	struct n56_topology *t;
	cpu_set_t saved;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	FILE *x;

	if (!f)
		return -1;
	mkdir(BUILDDIR "/tests/data", 0755);
	mkdir(DATA, 0755);
	x = fopen(DATA "/bind.xml", "w");
	if (!x)
		return -1;
	fputs(topo_xml, x);
	fclose(x);
	if (n56_topology_load(DATA "/bind.xml", NULL, "n1", &f->t, err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		free(f);
		return -1;
	}
	if (sched_getaffinity(0, sizeof(f->saved), &f->saved) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sched_setaffinity(0, sizeof(f->saved), &f->saved);
	syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0);
	n56_topology_free(f->t);
	free(f);
	return 0;
}

/* What the kernel answers to MPOL_BIND on NUMA node `node`, asked here
 * directly with the mask the binder passes: 0, or the errno (a machine
 * without the node says EINVAL, a container that filters set_mempolicy
 * EPERM, a kernel without NUMA ENOSYS). The default policy is restored. */
static int mempolicy_probe(int node)
{
	unsigned long mask[16] = { 0 };
	int e = 0;

	mask[node / (8 * sizeof(long))] |= 1UL << (node % (8 * sizeof(long)));
	if (syscall(SYS_set_mempolicy, 2 /* MPOL_BIND */, mask,
		    sizeof(mask) * 8) < 0)
		e = errno;
	syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0);
	return e;
}

/* The message's memory part for NUMA `node`, from the probe. */
static void memory_part(int node, char *buf, size_t len)
{
	int e = mempolicy_probe(node);

	if (e)
		snprintf(buf, len, "; memory not bound to NUMA %d: %s", node,
			 strerror(e));
	else
		snprintf(buf, len, "; memory on NUMA %d", node);
}

/* The CPUs the rank must get, worked out here: the GPU's cores 0-1 within
 * what the process had, else what it had. */
static void expected_cpus(const cpu_set_t *had, cpu_set_t *want, bool *near)
{
	CPU_ZERO(want);
	for (int c = 0; c <= 1; c++)
		if (CPU_ISSET(c, had))
			CPU_SET(c, want);
	*near = CPU_COUNT(want) > 0;
	if (!*near)
		*want = *had;
}

static char *cpu_list(const cpu_set_t *s)
{
	hwloc_bitmap_t b = hwloc_bitmap_alloc();
	char *out = NULL;

	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, s))
			hwloc_bitmap_set(b, c);
	assert_true(hwloc_bitmap_list_asprintf(&out, b) >= 0);
	hwloc_bitmap_free(b);
	return out;
}

/* The whole message and the CPU set, for the NUMA node the GPU names. */
static void expect_bind(struct fixture *f, int numa)
{
	char nic[32], msg[512], want[1024], mem[256];
	cpu_set_t now, cpus;
	bool near;
	char *a, *b;

	expected_cpus(&f->saved, &cpus, &near);
	memory_part(numa, mem, sizeof(mem));
	a = cpu_list(&cpus);
	b = cpu_list(&f->saved);
	if (near)
		snprintf(want, sizeof(want),
			 "CPUs %s (GPU 0's cores 0-1 "
			 "within Slurm's %s)%s; NIC mlx5_0",
			 a, b, mem);
	else
		snprintf(want, sizeof(want),
			 "kept Slurm's CPUs %s (none of "
			 "GPU 0's cores 0-1 is among them)%s; NIC mlx5_0",
			 a, mem);
	free(a);
	free(b);
	assert_int_equal(
		n56_bind_rank(f->t, 0, nic, sizeof(nic), msg, sizeof(msg)), 0);
	print_message("bind: %s\n", msg);
	assert_string_equal(nic, "mlx5_0");
	assert_string_equal(msg, want);
	assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
	assert_true(CPU_EQUAL(&now, &cpus));
}

/* GPU 0 on NUMA node 0: bound there exactly when the kernel lets this
 * process bind to node 0. */
static void test_bind_rank(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->t->ngpus, 1);
	assert_string_equal(f->t->gpus[0].numa_nodes, "0");
	expect_bind(f, 0);
}

/* A NUMA node no machine has here: never bound, and said why. */
static void test_bind_rank_numa_absent(void **state)
{
	struct fixture *f = *state;

	assert_int_not_equal(mempolicy_probe(1000), 0);
	free(f->t->gpus[0].numa_nodes);
	f->t->gpus[0].numa_nodes = strdup("1000");
	assert_non_null(f->t->gpus[0].numa_nodes);
	expect_bind(f, 1000);
}

static void test_bind_keeps_slurm_set(void **state)
{
	struct fixture *f = *state;
	char nic[32], msg[512], want[256];
	cpu_set_t only, now;
	int c0 = 0;

	/* Slurm gave one CPU, c0, and the GPU's cores are elsewhere. */
	while (c0 < CPU_SETSIZE - 1 && !CPU_ISSET(c0, &f->saved))
		c0++;
	CPU_ZERO(&only);
	CPU_SET(c0, &only);
	free(f->t->gpus[0].cpuset);
	assert_true(asprintf(&f->t->gpus[0].cpuset, "%d-%d", c0 + 1, c0 + 8) >
		    0);
	assert_int_equal(sched_setaffinity(0, sizeof(only), &only), 0);
	assert_int_equal(
		n56_bind_rank(f->t, 0, nic, sizeof(nic), msg, sizeof(msg)), 0);
	assert_int_equal(sched_getaffinity(0, sizeof(now), &now), 0);
	assert_true(CPU_EQUAL(&now, &only));
	snprintf(want, sizeof(want),
		 "kept Slurm's CPUs %d (none of GPU 0's cores %d-%d is among "
		 "them)",
		 c0, c0 + 1, c0 + 8);
	assert_memory_equal(msg, want, strlen(want));
}

static void test_bind_bad_gpu(void **state)
{
	struct fixture *f = *state;
	char nic[32] = "x", msg[512];

	assert_int_equal(
		n56_bind_rank(f->t, 3, nic, sizeof(nic), msg, sizeof(msg)), -1);
	assert_string_equal(msg, "GPU 3 is not on this node (it has 1)");
	assert_string_equal(nic, "");
	assert_int_equal(
		n56_bind_rank(NULL, 0, nic, sizeof(nic), msg, sizeof(msg)), -1);
	assert_string_equal(msg, "GPU 0 is not on this node (it has 0)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_target_never_widens),
		cmocka_unit_test_setup_teardown(test_bind_rank, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bind_rank_numa_absent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_keeps_slurm_set,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_bad_gpu, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
