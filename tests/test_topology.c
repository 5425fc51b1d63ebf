/* topology/: islands from every source, CUDA order, NUMA/NIC, the node
 * cache, the admin map's hostlists, and the real machines' exports in
 * ../shared/fixtures/topology (skipped when absent). The project's own
 * topologies are generated here: an XML skeleton with GPUs as PCI devices,
 * loaded by hwloc, NVLink distances added through hwloc's API, exported to
 * BUILDDIR/tests/data/topology and loaded back. */
#include "config.h"

#include <errno.h>
#include <hwloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "topology/topology.h"

#define FIXTURES SRCDIR "/../shared/fixtures/topology"
#define DATA BUILDDIR "/tests/data/topology"
#define FAKE_NVML BUILDDIR "/tests/fake_nvml/.libs/libfakenvml.so"

/* ---- generated topologies ---- */

struct spec {
	const char *name;
	int ngpus;
	const char *bus[8];  /* hwloc form "0000:18:00.0" */
	int nswitch;	     /* NVSwitch functions (10de, class 0680) */
	bool switch_subtype; /* mark them subtype="NVSwitch" as hwloc does */
	bool nic_near_gpu0;  /* an mlx5 beside GPU 0 under one PCI bridge */
	/* NVLinkBandwidth: island id per GPU (-1: no matrix); with
	 * via_switch, links go GPU-switch only, as on an NVSwitch board */
	int island[8];
	bool distances;
	bool via_switch;
};

static int gp;

static void obj_attrs(FILE *f, const char *type, int os, unsigned cpus,
		      unsigned nodes)
{
	fprintf(f,
		"<object type=\"%s\" os_index=\"%d\" cpuset=\"0x%08x\" "
		"complete_cpuset=\"0x%08x\" nodeset=\"0x%08x\" "
		"complete_nodeset=\"0x%08x\" gp_index=\"%d\"",
		type, os, cpus, cpus, nodes, nodes, ++gp);
}

static void pci_dev(FILE *f, const char *bus, const char *type,
		    const char *subtype, const char *osdev)
{
	fprintf(f,
		"<object type=\"PCIDev\" gp_index=\"%d\" pci_busid=\"%s\" "
		"pci_type=\"%s\" pci_link_speed=\"0.0\"%s%s%s",
		++gp, bus, type, subtype ? " subtype=\"" : "",
		subtype ? subtype : "", subtype ? "\"" : "");
	if (osdev)
		fprintf(f, ">%s</object>\n", osdev);
	else
		fprintf(f, "/>\n");
}

static void host_bridge(FILE *f, const char *bus)
{
	unsigned d = 0, b = 0;

	sscanf(bus, "%x:%x", &d, &b);
	fprintf(f,
		"<object type=\"Bridge\" gp_index=\"%d\" bridge_type=\"0-1\" "
		"depth=\"0\" bridge_pci=\"%04x:[%02x-%02x]\">\n",
		++gp, d, b, b);
}

static void nic_osdevs(char *buf, size_t len, const char *ofed, const char *net)
{
	snprintf(buf, len,
		 "<object type=\"OSDev\" gp_index=\"%d\" name=\"%s\" "
		 "osdev_type=\"2\"/><object type=\"OSDev\" gp_index=\"%d\" "
		 "name=\"%s\" osdev_type=\"3\"/>",
		 gp + 100, net, gp + 101, ofed);
	gp += 102;
}

/* Two packages of 4 PUs, one NUMA node each; GPUs split in halves between
 * them in the order given (not PCI order); one mlx5 NIC per package. */
static void write_skeleton(const struct spec *s, const char *path)
{
	FILE *f = fopen(path, "w");
	char osd[512];

	assert_non_null(f);
	gp = 0;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
		   "<topology version=\"2.0\">\n");
	fprintf(f,
		"<object type=\"Machine\" os_index=\"0\" cpuset=\"0x000000ff\" "
		"complete_cpuset=\"0x000000ff\" allowed_cpuset=\"0x000000ff\" "
		"nodeset=\"0x00000003\" complete_nodeset=\"0x00000003\" "
		"allowed_nodeset=\"0x00000003\" gp_index=\"%d\">\n",
		++gp);
	for (int p = 0; p < 2; p++) {
		unsigned cpus = 0xfu << (4 * p), node = 1u << p;
		char bus[32], ofed[16], net[16];

		obj_attrs(f, "Package", p, cpus, node);
		fprintf(f, ">\n");
		obj_attrs(f, "NUMANode", p, cpus, node);
		fprintf(f, " local_memory=\"1073741824\"/>\n");
		for (int c = 0; c < 4; c++) {
			obj_attrs(f, "Core", 4 * p + c, 1u << (4 * p + c),
				  node);
			fprintf(f, ">");
			obj_attrs(f, "PU", 4 * p + c, 1u << (4 * p + c), node);
			fprintf(f, "/></object>\n");
		}
		for (int g = p * s->ngpus / 2; g < (p + 1) * s->ngpus / 2;
		     g++) {
			host_bridge(f, s->bus[g]);
			if (g == 0 && s->nic_near_gpu0) {
				fprintf(f,
					"<object type=\"Bridge\" "
					"gp_index=\"%d\" "
					"bridge_type=\"1-1\" depth=\"1\" "
					"bridge_pci=\"0000:[%02x-%02x]\" "
					"pci_busid=\"%.10s.0\" "
					"pci_type=\"0604 [1000:c030] "
					"[0000:0000] 00\" "
					"pci_link_speed=\"0.0\">\n",
					++gp, 0x18, 0x19, "0000:17:00");
				nic_osdevs(osd, sizeof(osd), "mlx5_9", "ib9");
				pci_dev(f, "0000:19:00.0",
					"0207 [15b3:101b] [15b3:0007] 00", NULL,
					osd);
			}
			pci_dev(f, s->bus[g], "0302 [10de:2330] [10de:16c1] a1",
				NULL,
				"<info name=\"PCIDevice\" "
				"value=\"H100 SXM5\"/>");
			if (g == 0 && s->nic_near_gpu0)
				fprintf(f, "</object>\n");
			fprintf(f, "</object>\n");
		}
		snprintf(bus, sizeof(bus), "%04x:%02x:00.0", 0x100 + p, 1);
		snprintf(ofed, sizeof(ofed), "mlx5_%d", p);
		snprintf(net, sizeof(net), "ib%d", p);
		host_bridge(f, bus);
		nic_osdevs(osd, sizeof(osd), ofed, net);
		pci_dev(f, bus, "0207 [15b3:101b] [15b3:0007] 00", NULL, osd);
		fprintf(f, "</object>\n");
		if (p == 1)
			for (int w = 0; w < s->nswitch; w++) {
				snprintf(bus, sizeof(bus), "0000:%02x:00.0",
					 0x60 + w);
				host_bridge(f, bus);
				pci_dev(f, bus,
					"0680 [10de:22a3] [10de:1796] a1",
					s->switch_subtype ? "NVSwitch" : NULL,
					NULL);
				fprintf(f, "</object>\n");
			}
		fprintf(f, "</object>\n");
	}
	fprintf(f, "</object>\n</topology>\n");
	assert_int_equal(fclose(f), 0);
}

static hwloc_obj_t pci_by_bus(hwloc_topology_t h, const char *bus)
{
	unsigned d, b, dev, fn;

	assert_int_equal(sscanf(bus, "%x:%x:%x.%x", &d, &b, &dev, &fn), 4);
	return hwloc_get_pcidev_by_busid(h, d, b, dev, fn);
}

/* Writes DATA/<name>.xml: the skeleton, plus NVLinkBandwidth added with
 * hwloc's distances API, exported by hwloc. */
static void make_topology(const struct spec *s, char *path, size_t len)
{
	char raw[512];
	hwloc_topology_t h;

	mkdir(BUILDDIR "/tests/data", 0755);
	mkdir(DATA, 0755);
	snprintf(raw, sizeof(raw), DATA "/%s.skeleton.xml", s->name);
	snprintf(path, len, DATA "/%s.xml", s->name);
	write_skeleton(s, raw);
	assert_int_equal(hwloc_topology_init(&h), 0);
	hwloc_topology_set_io_types_filter(h, HWLOC_TYPE_FILTER_KEEP_ALL);
	assert_int_equal(hwloc_topology_set_xml(h, raw), 0);
	assert_int_equal(hwloc_topology_load(h), 0);
	if (s->distances) {
		int n = s->ngpus + (s->via_switch ? s->nswitch : 0);
		hwloc_obj_t objs[16];
		hwloc_uint64_t v[256] = { 0 };
		hwloc_distances_add_handle_t dh;

		for (int g = 0; g < s->ngpus; g++)
			assert_non_null(objs[g] = pci_by_bus(h, s->bus[g]));
		for (int w = 0; s->via_switch && w < s->nswitch; w++) {
			char bus[32];

			snprintf(bus, sizeof(bus), "0000:%02x:00.0", 0x60 + w);
			assert_non_null(objs[s->ngpus + w] =
						pci_by_bus(h, bus));
		}
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++) {
				bool gi = i < s->ngpus, gj = j < s->ngpus;

				if (i == j)
					v[i * n + j] = 0;
				else if (s->via_switch)
					v[i * n + j] = gi != gj ? 25000 : 0;
				else if (s->island[i] == s->island[j])
					v[i * n + j] = 150000;
			}
		dh = hwloc_distances_add_create(
			h, "NVLinkBandwidth",
			HWLOC_DISTANCES_KIND_FROM_USER |
				HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH,
			0);
		assert_non_null(dh);
		assert_int_equal(
			hwloc_distances_add_values(h, dh, n, objs, v, 0), 0);
		assert_int_equal(hwloc_distances_add_commit(h, dh, 0), 0);
	}
	assert_int_equal(hwloc_topology_export_xml(h, path, 0), 0);
	hwloc_topology_destroy(h);
	unlink(raw);
}

static struct n56_topology *load(const char *xml)
{
	struct n56_topology *t = NULL;
	char err[1024] = "";

	if (n56_topology_load(xml, NULL, "node1", &t, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return t;
}

/* The island of the GPU at a PCI bus id, through the CUDA order. */
static int island_of_bus(const struct n56_topology *t, const char *bus)
{
	for (int i = 0; i < t->ngpus; i++)
		if (!strcmp(t->gpus[i].pci, bus))
			return t->gpus[i].island;
	fail_msg("no GPU at %s", bus);
	return -1;
}

static void assert_cuda_order(const struct n56_topology *t)
{
	for (int i = 0; i < t->ngpus; i++) {
		assert_int_equal(t->gpus[i].index, i);
		if (i)
			assert_true(strcmp(t->gpus[i - 1].pci, t->gpus[i].pci) <
				    0);
	}
}

static bool has_fact(const struct n56_topology *t, const char *text)
{
	return t->facts && strstr(t->facts, text);
}

static const struct spec hgx8 = {
	.name = "hgx8-nvswitch",
	.ngpus = 8,
	.bus = { "0000:db:00.0", "0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0",
		 "0000:5d:00.0", "0000:9a:00.0", "0000:ab:00.0",
		 "0000:ba:00.0" },
	.nswitch = 4,
	.switch_subtype = true,
	.distances = true,
	.via_switch = true,
};

static void test_nvswitch_island_of_8(void **state)
{
	char path[512];
	struct n56_topology *t;

	(void)state;
	make_topology(&hgx8, path, sizeof(path));
	t = load(path);
	assert_int_equal(t->ngpus, 8);
	assert_cuda_order(t);
	assert_string_equal(t->gpus[0].pci, "0000:18:00.0");
	assert_string_equal(t->gpus[7].pci, "0000:db:00.0");
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_size[0], 8);
	assert_int_equal(t->island_source, N56_ISLANDS_HWLOC_DISTANCES);
	assert_false(t->degraded);
	assert_true(has_fact(t, "islands: hwloc-distances NVLinkBandwidth "
				"(switch transforms applied)"));
	n56_topology_free(t);
}

static const struct spec two_of_4 = {
	.name = "two-islands-of-4",
	.ngpus = 8,
	.bus = { "0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0",
		 "0000:9a:00.0", "0000:ab:00.0", "0000:ba:00.0",
		 "0000:db:00.0" },
	/* islands cross the package split on purpose: {18,2a,9a,ab} */
	.island = { 0, 0, 1, 1, 0, 0, 1, 1 },
	.distances = true,
	.nic_near_gpu0 = true,
};

static void test_two_islands_of_4(void **state)
{
	char path[512];
	struct n56_topology *t;
	struct n56_node_shape s;
	char err[256];

	(void)state;
	make_topology(&two_of_4, path, sizeof(path));
	t = load(path);
	assert_int_equal(t->nislands, 2);
	assert_int_equal(t->island_source, N56_ISLANDS_HWLOC_DISTANCES);
	assert_int_equal(island_of_bus(t, "0000:18:00.0"),
			 island_of_bus(t, "0000:ab:00.0"));
	assert_int_equal(island_of_bus(t, "0000:3a:00.0"),
			 island_of_bus(t, "0000:db:00.0"));
	assert_int_not_equal(island_of_bus(t, "0000:18:00.0"),
			     island_of_bus(t, "0000:3a:00.0"));
	assert_true(has_fact(t, "islands: hwloc-distances NVLinkBandwidth\n"));
	/* NUMA and cores from the package the GPU hangs off. */
	assert_int_equal(t->gpus[0].numa, 0);
	assert_string_equal(t->gpus[0].cpuset, "0-3");
	assert_int_equal(t->gpus[7].numa, 1);
	assert_string_equal(t->gpus[7].cpuset, "4-7");
	assert_string_equal(t->gpus[7].numa_nodes, "1");
	assert_string_equal(t->gpus[0].name, "H100 SXM5");
	/* NICs: the one under GPU 0's own PCI bridge beats the package's;
	 * the OpenFabrics name beats the ib netdev of the same card. */
	assert_string_equal(t->gpus[0].nic, "mlx5_9");
	assert_string_equal(t->gpus[1].nic, "mlx5_0");
	assert_string_equal(t->gpus[5].nic, "mlx5_1");
	assert_int_equal(n56_topology_shape(t, &s, err, sizeof(err)), 0);
	assert_int_equal(s.gpus, 8);
	assert_int_equal(s.nislands, 2);
	assert_int_equal(s.nodes_per_domain, 1);
	assert_false(s.degraded);
	for (int i = 0; i < 8; i++)
		assert_int_equal(s.island_of[i], t->gpus[i].island);
	n56_topology_free(t);
}

static const struct spec pcie4 = {
	.name = "pcie-only",
	.ngpus = 4,
	.bus = { "0000:3b:00.0", "0000:1a:00.0", "0000:af:00.0",
		 "0000:86:00.0" },
};

static void test_pcie_only_is_degraded(void **state)
{
	char path[512], err[256];
	struct n56_topology *t;
	struct n56_node_shape s;

	(void)state;
	make_topology(&pcie4, path, sizeof(path));
	t = load(path);
	assert_int_equal(t->ngpus, 4);
	assert_int_equal(t->nislands, 4);
	assert_int_equal(t->island_source, N56_ISLANDS_NONE);
	assert_true(t->degraded);
	assert_string_equal(n56_island_source_name(t->island_source), "none");
	assert_int_equal(n56_topology_shape(t, &s, err, sizeof(err)), 0);
	assert_true(s.degraded);
	assert_int_equal(s.nislands, 4);
	n56_topology_free(t);
}

static const struct spec pci_nvswitch = {
	.name = "nvswitch-pci-view",
	.ngpus = 8,
	.bus = { "0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0",
		 "0000:9a:00.0", "0000:ab:00.0", "0000:ba:00.0",
		 "0000:db:00.0" },
	.nswitch = 6,
};

static void test_nvswitch_pci_view(void **state)
{
	char path[512];
	struct n56_topology *t;

	(void)state;
	make_topology(&pci_nvswitch, path, sizeof(path));
	t = load(path);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_size[0], 8);
	assert_int_equal(t->island_source, N56_ISLANDS_PCI_SWITCH);
	assert_true(has_fact(t, "islands: pci-switch: 6 NVSwitch functions"));
	n56_topology_free(t);
}

/* ---- the admin map ---- */

static struct n56_policy *policy_with(const struct n56_island_map_entry *e,
				      size_t n)
{
	struct n56_policy *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->path = strdup("site.yaml");
	p->topology.islands = calloc(n, sizeof(*e));
	assert_non_null(p->topology.islands);
	for (size_t i = 0; i < n; i++) {
		p->topology.islands[i] = e[i];
		p->topology.islands[i].nodes = strdup(e[i].nodes);
		p->topology.islands[i].gpus =
			e[i].gpus ? strdup(e[i].gpus) : NULL;
		p->topology.islands[i].domain = strdup(e[i].domain);
	}
	p->topology.nislands = n;
	return p;
}

static void policy_free(struct n56_policy *p)
{
	for (size_t i = 0; i < p->topology.nislands; i++) {
		free(p->topology.islands[i].nodes);
		free(p->topology.islands[i].gpus);
		free(p->topology.islands[i].domain);
	}
	free(p->topology.islands);
	free(p->topology.island_source.v);
	free(p->path);
	free(p);
}

static const struct spec tray4 = {
	.name = "gb200-tray",
	.ngpus = 4,
	.bus = { "0008:01:00.0", "0009:01:00.0", "0018:01:00.0",
		 "0019:01:00.0" },
};

static void test_admin_map_nvl72(void **state)
{
	/* NVL72: 18 trays of 4 GPUs per NVLink domain, 2 racks. */
	const struct n56_island_map_entry e[] = {
		{ .nodes = "nvl[01-18]", .domain = "rack1", .pos = { 12, 7 } },
		{ .nodes = "nvl[19-36]", .domain = "rack2", .pos = { 13, 7 } },
	};
	struct n56_policy *p = policy_with(e, 2);
	struct n56_topology *t = NULL;
	struct n56_node_shape s;
	char path[512], err[512];

	(void)state;
	make_topology(&tray4, path, sizeof(path));
	assert_int_equal(n56_topology_load(path, p, "nvl20.cluster.example", &t,
					   err, sizeof(err)),
			 0);
	assert_int_equal(t->island_source, N56_ISLANDS_ADMIN_MAP);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_size[0], 4);
	assert_int_equal(t->nodes_per_domain, 18);
	assert_string_equal(t->domain, "rack2");
	assert_int_equal(n56_topology_shape(t, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nodes_per_domain, 18);
	n56_topology_free(t);
	/* A node the map does not name falls through to detection. */
	assert_int_equal(
		n56_topology_load(path, p, "login1", &t, err, sizeof(err)), 0);
	assert_int_equal(t->island_source, N56_ISLANDS_NONE);
	assert_int_equal(t->nodes_per_domain, 1);
	assert_true(has_fact(t, "admin map: no entry names host 'login1'"));
	n56_topology_free(t);
	policy_free(p);
}

static void test_admin_map_gpu_split(void **state)
{
	/* lassen-like: NVLink pairs {0,1} and {2,3} only the operator
	 * knows. */
	const struct n56_island_map_entry e[] = {
		{ .nodes = "lassen[1-4]", .gpus = "0-1", .domain = "a" },
		{ .nodes = "lassen[1-4]", .gpus = "2,3", .domain = "b" },
	};
	struct n56_policy *p = policy_with(e, 2);
	struct n56_topology *t = NULL;
	char path[512], err[512];

	(void)state;
	make_topology(&pcie4, path, sizeof(path));
	assert_int_equal(
		n56_topology_load(path, p, "lassen3", &t, err, sizeof(err)), 0);
	assert_int_equal(t->nislands, 2);
	assert_int_equal(t->gpus[0].island, t->gpus[1].island);
	assert_int_equal(t->gpus[2].island, t->gpus[3].island);
	assert_int_not_equal(t->gpus[0].island, t->gpus[2].island);
	assert_false(t->degraded);
	assert_int_equal(t->nodes_per_domain, 4);
	n56_topology_free(t);
	policy_free(p);
}

static void test_admin_map_racks(void **state)
{
	/* Two brackets in one name, as Slurm reads them; a node named by
	 * two entries of a domain counts once. */
	const struct n56_island_map_entry e[] = {
		{ .nodes = "rack[1-2]-n[01-02]", .domain = "d" },
		{ .nodes = "rack1-n01,rack1-n02", .domain = "d" },
	};
	struct n56_policy *p = policy_with(e, 2);
	struct n56_topology *t = NULL;
	char path[512], err[512];

	(void)state;
	make_topology(&pcie4, path, sizeof(path));
	assert_int_equal(
		n56_topology_load(path, p, "rack2-n02", &t, err, sizeof(err)),
		0);
	assert_int_equal(t->island_source, N56_ISLANDS_ADMIN_MAP);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->nodes_per_domain, 4);
	n56_topology_free(t);
	policy_free(p);
}

static void expect_map_error(const struct n56_island_map_entry *e, size_t n,
			     const char *host, const char *msg)
{
	struct n56_policy *p = policy_with(e, n);
	struct n56_topology *t = NULL;
	char path[512], err[512] = "";

	make_topology(&pcie4, path, sizeof(path));
	assert_int_equal(n56_topology_load(path, p, host, &t, err, sizeof(err)),
			 -1);
	assert_null(t);
	assert_string_equal(err, msg);
	policy_free(p);
}

static void test_admin_map_errors(void **state)
{
	const struct n56_island_map_entry bad_nodes[] = {
		{ .nodes = "n[1-", .domain = "d", .pos = { 4, 9 } }
	};
	const struct n56_island_map_entry bad_gpu[] = {
		{ .nodes = "n1", .gpus = "0-7", .domain = "d", .pos = { 5, 3 } }
	};
	const struct n56_island_map_entry twice[] = { { .nodes = "n1",
							.gpus = "0-2",
							.domain = "x",
							.pos = { 5, 3 } },
						      { .nodes = "n[1-2]",
							.gpus = "2-3",
							.domain = "y",
							.pos = { 8, 3 } } };

	(void)state;
	expect_map_error(bad_nodes, 1, "n1",
			 "site.yaml:4:9: error: topology.islands[0].nodes: bad "
			 "host list 'n[1-': missing ']'");
	expect_map_error(bad_gpu, 1, "n1",
			 "site.yaml:5:3: error: topology.islands[0].gpus: GPU "
			 "7 is not on this node (it has 4 GPUs, 0-3)");
	expect_map_error(twice, 2, "n1",
			 "site.yaml:8:3: error: topology.islands[1].gpus: GPU "
			 "2 of n1 is already in domain 'x'; a GPU belongs to "
			 "one domain");
}

/* The admin map's hostlists, checked when the policy is loaded: the same
 * message as when a node reads the map, one per bad entry. */
static void test_policy_check_topology(void **state)
{
	const struct n56_island_map_entry map[] = {
		{ .nodes = "n[1-18]", .domain = "a", .pos = { 5, 7 } },
		{ .nodes = "n[1-", .domain = "b", .pos = { 6, 7 } },
		{ .nodes = "m]", .domain = "c", .pos = { 7, 7 } }
	};
	struct n56_policy *p = policy_with(map, 3);
	struct n56_diags d = { 0 };
	char buf[512];

	(void)state;
	assert_int_equal(n56_policy_check_topology(p, &d), -1);
	assert_int_equal(d.n, 2);
	n56_diag_format_error(&d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "site.yaml:6:7: error: topology.islands[1]."
				 "nodes: bad host list 'n[1-': missing ']'");
	n56_diag_format_error(&d.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "site.yaml:7:7: error: topology.islands[2]."
				 "nodes: bad host list 'm]': ']' without '['");
	n56_diags_free(&d);
	policy_free(p);
	p = policy_with(map, 1);
	assert_int_equal(n56_policy_check_topology(p, &d), 0);
	assert_int_equal(d.n, 0);
	policy_free(p);
	assert_int_equal(n56_policy_check_topology(NULL, &d), 0);
}

/* CUDA numbers NVIDIA devices alone: an AMD display adapter ahead in PCI
 * order takes no index, so the H100 is GPU 0 (CUDA_VISIBLE_DEVICES=0,
 * LOCAL_RANK 0). With AMD GPUs alone, AMD's index space stays. */
static void test_gpu_vendor_index_space(void **state)
{
	struct n56_topology *t = NULL;
	struct n56_node_shape s;
	char err[512];

	(void)state;
	assert_int_equal(n56_topology_load(SRCDIR "/tests/data/hwloc/"
						  "nvidia-amd-display.xml",
					   NULL, "n1", &t, err, sizeof(err)),
			 0);
	assert_int_equal(t->ngpus, 1);
	assert_int_equal(t->gpus[0].index, 0);
	assert_string_equal(t->gpus[0].pci, "0000:c1:00.0");
	assert_true(has_fact(t, "gpus: 1 AMD device left out: the CUDA "
				"runtime numbers NVIDIA GPUs only"));
	assert_int_equal(n56_topology_shape(t, &s, err, sizeof(err)), 0);
	assert_int_equal(s.gpus, 1);
	n56_topology_free(t);

	assert_int_equal(n56_topology_load(SRCDIR "/tests/data/hwloc/"
						  "amd-only.xml",
					   NULL, "n1", &t, err, sizeof(err)),
			 0);
	assert_int_equal(t->ngpus, 2);
	assert_string_equal(t->gpus[0].pci, "0000:03:00.0");
	assert_string_equal(t->gpus[1].pci, "0000:c1:00.0");
	assert_int_equal(t->gpus[1].index, 1);
	assert_false(has_fact(t, "left out"));
	n56_topology_free(t);
}

static void test_policy_per_node(void **state)
{
	struct n56_policy *p = policy_with(NULL, 0);
	struct n56_topology *t = NULL;
	char path[512], err[256];

	(void)state;
	p->topology.island_source.v = strdup("per-node");
	make_topology(&pcie4, path, sizeof(path));
	assert_int_equal(n56_topology_load(path, p, "n1", &t, err, sizeof(err)),
			 0);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_source, N56_ISLANDS_ADMIN_MAP);
	n56_topology_free(t);
	policy_free(p);
}

static void test_gpu_list(void **state)
{
	bool in[4];
	char err[256] = "";

	(void)state;
	assert_int_equal(n56_gpu_list_parse("0-3", 4, in, err, sizeof(err)), 0);
	assert_true(in[0] && in[1] && in[2] && in[3]);
	assert_int_equal(n56_gpu_list_parse("0,2", 4, in, err, sizeof(err)), 0);
	assert_true(in[0] && !in[1] && in[2] && !in[3]);
	assert_int_equal(n56_gpu_list_parse("5", 4, in, err, sizeof(err)), -1);
	assert_string_equal(err, "GPU 5 is not on this node (it has 4 GPUs, "
				 "0-3)");
	assert_int_equal(n56_gpu_list_parse("3-1", 4, in, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "bad GPU list '3-1': expected CUDA indices "
				 "like 0-3 or 0,2");
	assert_int_equal(n56_gpu_list_parse("1,", 4, in, err, sizeof(err)), -1);
	assert_string_equal(err, "bad GPU list '1,': expected CUDA indices "
				 "like 0-3 or 0,2");
	assert_int_equal(n56_gpu_list_parse("x", 4, in, err, sizeof(err)), -1);
	assert_string_equal(err, "bad GPU list 'x': expected CUDA indices "
				 "like 0-3 or 0,2");
}

/* ---- NVML, through the fake library ---- */

static int nvml_setup(void **state)
{
	(void)state;
	setenv("NAM56R_NVML_LIBRARY", FAKE_NVML, 1);
	return 0;
}

static int nvml_teardown(void **state)
{
	(void)state;
	unsetenv("NAM56R_NVML_LIBRARY");
	unsetenv("FAKE_NVML_SCENARIO");
	return 0;
}

static struct n56_topology *load_nvml(const struct spec *s,
				      const char *scenario)
{
	struct n56_topology_opts o = { .nvml = true };
	struct n56_topology *t = NULL;
	char path[512], err[512] = "";

	make_topology(s, path, sizeof(path));
	o.xml = path;
	setenv("FAKE_NVML_SCENARIO", scenario, 1);
	if (n56_topology_load_opts(&o, NULL, "n1", &t, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return t;
}

static void test_nvml_hgx8(void **state)
{
	struct n56_topology *t;

	(void)state;
	t = load_nvml(&two_of_4, "hgx8");
	/* NVML (all links to NVSwitch) outranks the hwloc matrix of two
	 * islands that the same XML carries. */
	assert_int_equal(t->island_source, N56_ISLANDS_NVML);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_size[0], 8);
	assert_null(t->domain);
	assert_string_equal(t->gpus[0].name, "H100 SXM5");
	assert_true(has_fact(t, "islands: nvml: 144 active NVLink links on 8 "
				"of 8 GPUs; 8 GPUs linked to NVSwitch (one "
				"island)"));
	n56_topology_free(t);
}

static const struct spec vm2 = {
	.name = "h200-vm",
	.ngpus = 2,
	.bus = { "0000:00:06.0", "0000:00:07.0" },
};

static void test_nvml_vm_switch_unseen(void **state)
{
	struct n56_topology *t;

	(void)state;
	t = load_nvml(&vm2, "vm2");
	assert_int_equal(t->island_source, N56_ISLANDS_NVML);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_size[0], 2);
	assert_false(t->degraded);
	n56_topology_free(t);
}

static void test_nvml_gb200_clique(void **state)
{
	struct n56_topology *t;

	(void)state;
	t = load_nvml(&tray4, "gb200");
	assert_int_equal(t->island_source, N56_ISLANDS_NVML);
	assert_int_equal(t->nislands, 1);
	assert_string_equal(t->domain,
			    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/32766");
	assert_true(has_fact(t, "nvml: multi-node NVLink clique "
				"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/32766"));
	n56_topology_free(t);
}

static void test_nvml_zero_uuid_rejected(void **state)
{
	struct n56_topology *t;

	(void)state;
	t = load_nvml(&tray4, "gb200-zero");
	assert_int_equal(t->island_source, N56_ISLANDS_NVML);
	assert_int_equal(t->nislands, 4);
	assert_null(t->domain);
	assert_true(has_fact(t, "nvml: fabric info with an all-zero cluster "
				"UUID on 4 GPUs: no multi-node NVLink"));
	n56_topology_free(t);
}

static void test_nvml_gpu_links(void **state)
{
	struct n56_topology *t;

	(void)state;
	t = load_nvml(&pcie4, "bridge4");
	assert_int_equal(t->island_source, N56_ISLANDS_NVML);
	assert_int_equal(t->nislands, 2);
	assert_int_equal(island_of_bus(t, "0000:1a:00.0"),
			 island_of_bus(t, "0000:3b:00.0"));
	assert_int_equal(island_of_bus(t, "0000:86:00.0"),
			 island_of_bus(t, "0000:af:00.0"));
	assert_int_not_equal(island_of_bus(t, "0000:1a:00.0"),
			     island_of_bus(t, "0000:86:00.0"));
	n56_topology_free(t);
}

static void test_nvml_unusable_falls_through(void **state)
{
	struct n56_topology *t;

	(void)state;
	t = load_nvml(&hgx8, "initfail");
	assert_int_equal(t->island_source, N56_ISLANDS_HWLOC_DISTANCES);
	assert_true(has_fact(t, "nvml: not used: nvmlInit_v2: Driver Not "
				"Loaded"));
	n56_topology_free(t);
	setenv("NAM56R_NVML_LIBRARY", DATA "/no-such-libnvidia-ml.so", 1);
	t = load_nvml(&pcie4, "hgx8");
	assert_int_equal(t->island_source, N56_ISLANDS_NONE);
	assert_true(has_fact(t, "nvml: not used: cannot load " DATA
				"/no-such-libnvidia-ml.so"));
	n56_topology_free(t);
	/* GPUs NVML does not know (other bus ids) are not NVML's to group. */
	setenv("NAM56R_NVML_LIBRARY", FAKE_NVML, 1);
	t = load_nvml(&pcie4, "gb200");
	assert_int_equal(t->island_source, N56_ISLANDS_NONE);
	assert_true(has_fact(t, "nvml: not used: NVML sees none of hwloc's 4 "
				"GPUs"));
	n56_topology_free(t);
}

/* ---- the cache ---- */

static void assert_same_topology(const struct n56_topology *a,
				 const struct n56_topology *b)
{
	assert_int_equal(a->ngpus, b->ngpus);
	for (int i = 0; i < a->ngpus; i++) {
		assert_string_equal(a->gpus[i].pci, b->gpus[i].pci);
		assert_int_equal(a->gpus[i].numa, b->gpus[i].numa);
		assert_int_equal(a->gpus[i].island, b->gpus[i].island);
		assert_true((!a->gpus[i].nic && !b->gpus[i].nic) ||
			    !strcmp(a->gpus[i].nic, b->gpus[i].nic));
		assert_string_equal(a->gpus[i].cpuset, b->gpus[i].cpuset);
	}
	assert_int_equal(a->nislands, b->nislands);
	for (int s = 0; s < a->nislands; s++) {
		assert_int_equal(a->island_size[s], b->island_size[s]);
		assert_memory_equal(a->islands[s], b->islands[s],
				    sizeof(int) * a->island_size[s]);
	}
	assert_int_equal(a->island_source, b->island_source);
	assert_int_equal(a->degraded, b->degraded);
	assert_int_equal(a->nodes_per_domain, b->nodes_per_domain);
	assert_true((!a->domain && !b->domain) ||
		    !strcmp(a->domain, b->domain));
}

static void test_cache_round_trip(void **state)
{
	const char *cache = DATA "/cache-nvml.xml";
	struct n56_topology *t, *back = NULL;
	struct stat st;
	char err[512] = "";

	(void)state;
	/* Islands NVML found must survive without NVML. */
	t = load_nvml(&tray4, "gb200");
	assert_int_equal(n56_topology_cache_write(t, cache, err, sizeof(err)),
			 0);
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	setenv("NAM56R_NVML_LIBRARY", DATA "/no-such-libnvidia-ml.so", 1);
	assert_int_equal(
		n56_topology_cache_read(cache, &back, err, sizeof(err)), 0);
	assert_same_topology(t, back);
	assert_int_equal(back->island_source, N56_ISLANDS_NVML);
	assert_true(has_fact(back, "islands: nvml, from the cache record"));
	assert_true(has_fact(back, "cache: nvml: multi-node NVLink clique"));
	/* Writing twice replaces, and the loaded topology is unchanged. */
	assert_int_equal(
		n56_topology_cache_write(back, cache, err, sizeof(err)), 0);
	n56_topology_free(back);
	back = NULL;
	assert_int_equal(
		n56_topology_cache_read(cache, &back, err, sizeof(err)), 0);
	assert_same_topology(t, back);
	n56_topology_free(back);
	n56_topology_free(t);
}

static void test_cache_admin_map_round_trip(void **state)
{
	const struct n56_island_map_entry e[] = { { .nodes = "nvl[01-18]",
						    .domain = "rack1" } };
	struct n56_policy *p = policy_with(e, 1);
	const char *cache = DATA "/cache-admin.xml";
	struct n56_topology *t = NULL, *back = NULL;
	char path[512], err[512] = "";

	(void)state;
	make_topology(&tray4, path, sizeof(path));
	assert_int_equal(
		n56_topology_load(path, p, "nvl07", &t, err, sizeof(err)), 0);
	assert_int_equal(n56_topology_cache_write(t, cache, err, sizeof(err)),
			 0);
	assert_int_equal(
		n56_topology_cache_read(cache, &back, err, sizeof(err)), 0);
	assert_same_topology(t, back);
	assert_int_equal(back->nodes_per_domain, 18);
	n56_topology_free(back);
	n56_topology_free(t);
	policy_free(p);
}

/* Replaces the first `from` in a file by `to` (same length). */
static void patch_file(const char *path, const char *from, const char *to)
{
	FILE *f = fopen(path, "r+");
	char *buf = calloc(1, 1 << 20), *p;
	size_t len;

	assert_non_null(f);
	assert_non_null(buf);
	len = fread(buf, 1, (1 << 20) - 1, f);
	p = strstr(buf, from);
	assert_non_null(p);
	memcpy(p, to, strlen(to));
	rewind(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

static void test_cache_errors(void **state)
{
	const char *cache = DATA "/cache-mismatch.xml";
	struct n56_topology *t = NULL, *a;
	char path[512], err[1024] = "";

	(void)state;
	make_topology(&pcie4, path, sizeof(path));
	assert_int_equal(n56_topology_cache_read(path, &t, err, sizeof(err)),
			 -1);
	assert_null(t);
	assert_string_equal(err, DATA "/pcie-only.xml: error: no nam56r-launch "
				      "cache record on the XML root (write "
				      "the cache with nam56r-launch, not "
				      "lstopo)");
	a = load(path);
	assert_int_equal(n56_topology_cache_write(a, "/nonexistent-dir/c.xml",
						  err, sizeof(err)),
			 -1);
	assert_string_equal(err, "/nonexistent-dir/c.xml: error: cache "
				 "directory: No such file or directory");
	assert_int_equal(n56_topology_cache_write(a, cache, err, sizeof(err)),
			 0);
	n56_topology_free(a);
	/* A record whose GPUs are not the XML's. */
	patch_file(cache, "value=\"0000:1a:00.0,", "value=\"0000:1b:00.0,");
	assert_int_equal(n56_topology_cache_read(cache, &t, err, sizeof(err)),
			 -1);
	assert_string_equal(err, DATA "/cache-mismatch.xml: error: the cache "
				      "record names GPUs "
				      "0000:1b:00.0,0000:3b:00.0,"
				      "0000:86:00.0,0000:af:00.0, the XML has "
				      "others; rewrite the cache");
	/* A damaged island list. */
	patch_file(cache, "value=\"0000:1b:00.0,", "value=\"0000:1a:00.0,");
	patch_file(cache, "value=\"0,1,2,3\"", "value=\"0,1,2,9\"");
	assert_int_equal(n56_topology_cache_read(cache, &t, err, sizeof(err)),
			 -1);
	assert_string_equal(err, DATA "/cache-mismatch.xml: error: damaged "
				      "nam56r-launch cache record on the XML "
				      "root; delete the file to rediscover");
	assert_null(t);
}

static void test_cache_dir_ownership(void **state)
{
	struct n56_topology *t;
	char path[512], err[512] = "";
	const char *dir = DATA "/not-root-owned";

	(void)state;
	if (geteuid() != 0)
		skip();
	make_topology(&pcie4, path, sizeof(path));
	t = load(path);
	mkdir(dir, 0755);
	assert_int_equal(chown(dir, 12345, 12345), 0);
	assert_int_equal(n56_topology_cache_write(t, DATA "/not-root-owned/c",
						  err, sizeof(err)),
			 -1);
	assert_string_equal(err,
			    DATA "/not-root-owned/c: error: the cache "
				 "directory is owned by uid 12345, not root; "
				 "refusing to "
				 "write the node cache there as root (chown "
				 "root it or set topology.cache_dir)");
	rmdir(dir);
	n56_topology_free(t);
}

/* ---- bad input, live ---- */

static void expect_load_error(const char *xml, const char *msg)
{
	struct n56_topology *t = NULL;
	char err[1024] = "";

	assert_int_equal(
		n56_topology_load(xml, NULL, "n1", &t, err, sizeof(err)), -1);
	assert_null(t);
	assert_string_equal(err, msg);
}

static void test_bad_xml(void **state)
{
	FILE *f;

	(void)state;
	mkdir(BUILDDIR "/tests/data", 0755);
	mkdir(DATA, 0755);
	expect_load_error(DATA "/missing.xml",
			  DATA "/missing.xml: error: cannot read the topology "
			       "XML: No such file or directory");
	expect_load_error(DATA, DATA ": error: not a regular file; give an "
				     "hwloc XML export (lstopo --of xml)");
	f = fopen(DATA "/garbage.xml", "w");
	assert_non_null(f);
	fputs("<topology version=\"2.0\"><object type=\"Nonsense\"", f);
	fclose(f);
	expect_load_error(DATA "/garbage.xml",
			  DATA "/garbage.xml: error: not a valid hwloc XML "
			       "export (check it with `lstopo --input " DATA
			       "/garbage.xml`)");
}

static void test_live(void **state)
{
	struct n56_topology *t = NULL;
	struct n56_node_shape s;
	char err[512] = "";

	(void)state;
	setenv("NAM56R_NVML_LIBRARY", DATA "/no-such-libnvidia-ml.so", 1);
	assert_int_equal(
		n56_topology_load(NULL, NULL, NULL, &t, err, sizeof(err)), 0);
	unsetenv("NAM56R_NVML_LIBRARY");
	assert_string_equal(t->source, "live");
	assert_true(has_fact(t, "source: live hwloc"));
	assert_cuda_order(t);
	if (t->ngpus == 0) {
		assert_int_equal(n56_topology_shape(t, &s, err, sizeof(err)),
				 -1);
		assert_string_equal(err, "live: error: no GPU found (no "
					 "NVIDIA or AMD PCI display/"
					 "accelerator device)");
		assert_true(has_fact(t, "nvml: not asked (no GPU on the PCI "
					"bus)"));
	}
	n56_topology_free(t);
	n56_topology_free(NULL);
}

/* The environment is the caller's: a value it set stays, and a threaded
 * caller's is never touched. */
static void test_environment_left_alone(void **state)
{
	struct n56_topology_opts o = { .threaded = true };
	struct n56_topology *t = NULL;
	char path[512], err[512] = "";

	(void)state;
	make_topology(&pcie4, path, sizeof(path));
	o.xml = path;
	setenv("HWLOC_PLUGINS_BLACKLIST", "hwloc_gl", 1);
	assert_int_equal(
		n56_topology_load(path, NULL, "n1", &t, err, sizeof(err)), 0);
	assert_string_equal(getenv("HWLOC_PLUGINS_BLACKLIST"), "hwloc_gl");
	n56_topology_free(t);
	unsetenv("HWLOC_PLUGINS_BLACKLIST");
	assert_int_equal(
		n56_topology_load_opts(&o, NULL, "n1", &t, err, sizeof(err)),
		0);
	assert_null(getenv("HWLOC_PLUGINS_BLACKLIST"));
	assert_int_equal(t->ngpus, 4);
	n56_topology_free(t);
}

/* ---- real machines (../shared/fixtures/topology) ---- */

struct fixture {
	const char *file;
	enum n56_island_source source;
	int ngpus; /* 0: any */
	/* islands as groups of PCI bus ids ("" ends a group), or NULL for
	 * one island per GPU */
	const char *groups[24];
};

static const struct fixture fixtures[] = {
	{ "hwloc-v2.14_nvidiaDGX2.xml",
	  N56_ISLANDS_HWLOC_DISTANCES,
	  16,
	  { "*" } },
	{ "hwloc-v2.14_power8gpudistances.xml",
	  N56_ISLANDS_HWLOC_DISTANCES,
	  4,
	  { "0002:01:00.0", "0003:01:00.0", "", "000a:01:00.0",
	    "000b:01:00.0" } },
	{ "hwloc-v2.14_32em64t-2n8c2t-pci-normalio.xml",
	  N56_ISLANDS_NONE,
	  0,
	  { NULL } },
	{ "mpibind_eas-tioga.xml", N56_ISLANDS_HWLOC_DISTANCES, 8, { "*" } },
	{ "mpibind_coral-lassen.xml", N56_ISLANDS_NONE, 4, { NULL } },
	{ "mpibind_g4dnmetal.xml", N56_ISLANDS_NONE, 8, { NULL } },
	{ "flux-core_ipa20.xml", N56_ISLANDS_HWLOC_DISTANCES, 4, { "*" } },
	{ "flux-core_tuo.SPX.xml", N56_ISLANDS_HWLOC_DISTANCES, 4, { "*" } },
	{ "flux-core_tuo.CPX.xml", N56_ISLANDS_HWLOC_DISTANCES, 4, { "*" } },
	{ "derived_ipa20-2islands.xml",
	  N56_ISLANDS_HWLOC_DISTANCES,
	  4,
	  { "0000:5f:00.0", "0000:4e:00.0", "", "0000:db:00.0",
	    "0000:cb:00.0" } },
	{ "derived_dgx2-pcionly.xml", N56_ISLANDS_PCI_SWITCH, 16, { "*" } },
	{ "selfmade_h200-vm-2gpu.xml", N56_ISLANDS_NONE, 2, { NULL } },
};

static bool have_fixtures(void)
{
	struct stat st;

	return stat(FIXTURES "/README.md", &st) == 0;
}

static void check_fixture(const struct fixture *fx)
{
	char path[512];
	struct n56_topology *t;
	int ngroups = 0, members = 0;

	snprintf(path, sizeof(path), FIXTURES "/%s", fx->file);
	t = load(path);
	if (fx->ngpus)
		assert_int_equal(t->ngpus, fx->ngpus);
	assert_true(t->ngpus > 0);
	assert_cuda_order(t);
	if (t->island_source != fx->source)
		fail_msg("%s: island source %s, want %s", fx->file,
			 n56_island_source_name(t->island_source),
			 n56_island_source_name(fx->source));
	assert_int_equal(t->degraded, fx->source == N56_ISLANDS_NONE);
	if (!fx->groups[0]) {
		assert_int_equal(t->nislands, t->ngpus);
	} else if (!strcmp(fx->groups[0], "*")) {
		assert_int_equal(t->nislands, 1);
	} else {
		int first = -1;

		for (int i = 0; fx->groups[i]; i++) {
			if (!*fx->groups[i]) {
				first = -1;
				continue;
			}
			if (first < 0) {
				first = island_of_bus(t, fx->groups[i]);
				ngroups++;
			} else {
				assert_int_equal(
					island_of_bus(t, fx->groups[i]), first);
			}
			members++;
		}
		assert_int_equal(t->nislands, ngroups);
		assert_int_equal(members, t->ngpus);
	}
	n56_topology_free(t);
}

static void test_fixtures(void **state)
{
	(void)state;
	if (!have_fixtures()) {
		print_message("[  SKIP    ] %s absent: real-machine fixtures "
			      "not checked\n",
			      FIXTURES);
		skip();
	}
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		check_fixture(&fixtures[i]);
}

static void test_fixture_nics_and_numa(void **state)
{
	struct n56_topology *t;

	(void)state;
	if (!have_fixtures())
		skip();
	/* ipa20: SNC4, 8 NUMA nodes; each H100 has an mlx5 on its root
	 * complex. */
	t = load(FIXTURES "/flux-core_ipa20.xml");
	for (int i = 0; i < t->ngpus; i++) {
		assert_true(t->gpus[i].numa >= 0);
		assert_non_null(t->gpus[i].nic);
		assert_true(!strncmp(t->gpus[i].nic, "mlx5_", 5));
	}
	n56_topology_free(t);
	/* CPX: 24 RSMI partitions are 4 GPUs; the facts say so. */
	t = load(FIXTURES "/flux-core_tuo.CPX.xml");
	assert_true(has_fact(t, "gpus: 24 RSMI devices are partitions of the "
				"4 PCI GPUs; a GPU is a PCI device"));
	n56_topology_free(t);
}

static void test_fixture_vm_with_nvml(void **state)
{
	struct n56_topology_opts o = { .xml = FIXTURES
				       "/selfmade_h200-vm-2gpu.xml",
				       .nvml = true };
	struct n56_topology *t = NULL;
	char err[512] = "";

	(void)state;
	if (!have_fixtures())
		skip();
	setenv("FAKE_NVML_SCENARIO", "vm2", 1);
	assert_int_equal(
		n56_topology_load_opts(&o, NULL, "vm", &t, err, sizeof(err)),
		0);
	assert_int_equal(t->island_source, N56_ISLANDS_NVML);
	assert_int_equal(t->nislands, 1);
	assert_int_equal(t->island_size[0], 2);
	/* No model in the XML's PCI devices: NVML names them. */
	assert_string_equal(t->gpus[0].name, "NVIDIA H200");
	assert_string_equal(t->gpus[1].name, "NVIDIA H200");
	n56_topology_free(t);
}

static void test_fixture_lassen_admin_map(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "lassen[1-795]", .gpus = "0-1", .domain = "s0" },
		{ .nodes = "lassen[1-795]", .gpus = "2-3", .domain = "s1" },
	};
	struct n56_policy *p;
	struct n56_topology *t = NULL;
	char err[512] = "";

	(void)state;
	if (!have_fixtures())
		skip();
	p = policy_with(e, 2);
	assert_int_equal(n56_topology_load(FIXTURES "/mpibind_coral-lassen.xml",
					   p, "lassen12", &t, err, sizeof(err)),
			 0);
	assert_int_equal(t->island_source, N56_ISLANDS_ADMIN_MAP);
	assert_int_equal(t->nislands, 2);
	assert_int_equal(t->gpus[1].island, 0);
	assert_int_equal(t->gpus[2].island, 1);
	assert_int_equal(t->nodes_per_domain, 795);
	n56_topology_free(t);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvswitch_island_of_8),
		cmocka_unit_test(test_two_islands_of_4),
		cmocka_unit_test(test_pcie_only_is_degraded),
		cmocka_unit_test(test_nvswitch_pci_view),
		cmocka_unit_test(test_admin_map_nvl72),
		cmocka_unit_test(test_admin_map_gpu_split),
		cmocka_unit_test(test_admin_map_racks),
		cmocka_unit_test(test_admin_map_errors),
		cmocka_unit_test(test_policy_check_topology),
		cmocka_unit_test(test_gpu_vendor_index_space),
		cmocka_unit_test(test_policy_per_node),
		cmocka_unit_test(test_gpu_list),
		cmocka_unit_test_setup_teardown(test_nvml_hgx8, nvml_setup,
						nvml_teardown),
		cmocka_unit_test_setup_teardown(test_nvml_vm_switch_unseen,
						nvml_setup, nvml_teardown),
		cmocka_unit_test_setup_teardown(test_nvml_gb200_clique,
						nvml_setup, nvml_teardown),
		cmocka_unit_test_setup_teardown(test_nvml_zero_uuid_rejected,
						nvml_setup, nvml_teardown),
		cmocka_unit_test_setup_teardown(test_nvml_gpu_links, nvml_setup,
						nvml_teardown),
		cmocka_unit_test_setup_teardown(
			test_nvml_unusable_falls_through, nvml_setup,
			nvml_teardown),
		cmocka_unit_test_setup_teardown(test_cache_round_trip,
						nvml_setup, nvml_teardown),
		cmocka_unit_test(test_cache_admin_map_round_trip),
		cmocka_unit_test(test_cache_errors),
		cmocka_unit_test(test_cache_dir_ownership),
		cmocka_unit_test(test_bad_xml),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_environment_left_alone),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_nics_and_numa),
		cmocka_unit_test_setup_teardown(test_fixture_vm_with_nvml,
						nvml_setup, nvml_teardown),
		cmocka_unit_test(test_fixture_lassen_admin_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
