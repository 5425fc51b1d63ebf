/* topology/homog.c: the node homogeneity check (spank_nam56r(8)).
 * The pure check on hand-made shapes (every case with its exact message),
 * the admin map's shape, the island signature, and the check end to end on
 * topologies generated here (GPUs as PCI devices, NVLink distances through
 * hwloc's API, the fake NVML library), through the node cache, and on the
 * real machines' exports in ../shared/fixtures/topology (skipped when
 * absent). */
#include "config.h"

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

/* ---- shapes by hand ---- */

/* A shape from island ids per GPU, e.g. {0,0,1,1}. */
static struct n56_node_shape shape_of(int gpus, const int *island, int npd)
{
	struct n56_node_shape s;

	memset(&s, 0, sizeof(s));
	s.gpus = gpus;
	s.nodes_per_domain = npd;
	for (int g = 0; g < gpus; g++) {
		s.island_of[g] = island[g];
		if (island[g] + 1 > s.nislands)
			s.nislands = island[g] + 1;
	}
	return s;
}

static const int one8[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
static const int halves8[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };
static const int interleaved8[8] = { 0, 0, 1, 1, 0, 0, 1, 1 };
static const int single4[4] = { 0, 1, 2, 3 };

static int check(const struct n56_node_shape *a, const char *aby,
		 const char *dom, const struct n56_node_shape *s,
		 const char *sby, const char *host, char *why, size_t len)
{
	struct n56_shape_view av = { a, aby, dom }, sv = { s, sby, NULL };

	return n56_shape_check(&av, &sv, host, why, len);
}

static void test_map_confirmed(void **state)
{
	struct n56_node_shape a = shape_of(8, halves8, 1);
	struct n56_node_shape s = shape_of(8, halves8, 1);
	char why[512];

	(void)state;
	assert_int_equal(check(&a, "the admin map", "hgx-a", &s, "nvml", "n3",
			       why, sizeof(why)),
			 0);
	assert_string_equal(why, "homogeneity: n3: 8 GPUs and the islands of "
				 "the admin map confirmed by nvml (0-3 | "
				 "4-7)");
}

static void test_map_island_split_by_node(void **state)
{
	struct n56_node_shape a = shape_of(8, one8, 1);
	struct n56_node_shape s = shape_of(8, halves8, 1);
	char why[512];

	(void)state;
	assert_int_equal(check(&a, "the admin map", "nvl72-a", &s, "nvml", "n3",
			       why, sizeof(why)),
			 -1);
	assert_string_equal(why, "the admin map puts GPUs 0-7 of n3 in domain "
				 "nvl72-a, but nvml on n3 finds islands 0-3 "
				 "| 4-7");
}

static void test_map_island_without_domain(void **state)
{
	struct n56_node_shape a = shape_of(8, halves8, 1);
	struct n56_node_shape s = shape_of(8, interleaved8, 1);
	char why[512];

	(void)state;
	assert_int_equal(check(&a, "the admin map", NULL, &s, "hwloc-distances",
			       NULL, why, sizeof(why)),
			 -1);
	assert_string_equal(why, "the admin map puts GPUs 0-3 of this node in "
				 "one island, but hwloc-distances on this "
				 "node finds islands 0-1,4-5 | 2-3,6-7");
}

static void test_map_second_island_broken(void **state)
{
	/* The first island holds; the second spans two of the node's. */
	const int a_isl[4] = { 0, 0, 1, 1 }, s_isl[4] = { 0, 0, 1, 2 };
	struct n56_node_shape a = shape_of(4, a_isl, 1);
	struct n56_node_shape s = shape_of(4, s_isl, 1);
	char why[512];

	(void)state;
	assert_int_equal(check(&a, "the admin map", "b", &s, "nvml", "n1", why,
			       sizeof(why)),
			 -1);
	assert_string_equal(why, "the admin map puts GPUs 2-3 of n1 in domain "
				 "b, but nvml on n1 finds islands 0-1 | 2 | "
				 "3");
}

static void test_finer_map_holds(void **state)
{
	/* A finer split than the node's only costs bandwidth. */
	struct n56_node_shape a = shape_of(8, halves8, 1);
	struct n56_node_shape s = shape_of(8, one8, 1);
	char why[512];

	(void)state;
	assert_int_equal(check(&a, "the admin map", "x", &s, "pci-switch", "n2",
			       why, sizeof(why)),
			 0);
	assert_string_equal(why, "homogeneity: n2: 8 GPUs and the islands of "
				 "the admin map confirmed by pci-switch "
				 "(0-7)");
}

static void test_gpu_count_differs(void **state)
{
	struct n56_node_shape a, s = shape_of(8, halves8, 1);
	char why[512];

	(void)state;
	n56_node_shape_assumed(&a, 4);
	assert_int_equal(check(&a, "the step", NULL, &s, "hwloc", "n7", why,
			       sizeof(why)),
			 -1);
	assert_string_equal(why, "the step expects 4 GPUs on n7, but hwloc on "
				 "n7 finds 8");
	n56_node_shape_assumed(&a, 1);
	assert_int_equal(check(&a, "the step", NULL, &s, "hwloc", "n7", why,
			       sizeof(why)),
			 -1);
	assert_string_equal(why, "the step expects 1 GPU on n7, but hwloc on "
				 "n7 finds 8");
}

static void test_no_evidence_trusts_map(void **state)
{
	struct n56_node_shape a = shape_of(4, (const int[]){ 0, 0, 1, 1 }, 1);
	struct n56_node_shape s = shape_of(4, single4, 1);
	char why[512];

	(void)state;
	s.degraded = true;
	assert_int_equal(check(&a, "the admin map", "s0", &s, "none",
			       "lassen12", why, sizeof(why)),
			 0);
	assert_string_equal(why, "homogeneity: lassen12: 4 GPUs as the admin "
				 "map says; its islands are not checked (the "
				 "node has no evidence of its own: islands "
				 "none)");
	/* The count is checked even then. */
	s.gpus = 2;
	assert_int_equal(check(&a, "the admin map", "s0", &s, "none",
			       "lassen12", why, sizeof(why)),
			 -1);
	assert_string_equal(why, "the admin map expects 4 GPUs on lassen12, "
				 "but none on lassen12 finds 2");
}

static void test_multi_node_domain(void **state)
{
	struct n56_node_shape a = shape_of(8, one8, 18);
	struct n56_node_shape s = shape_of(8, halves8, 1);
	char why[512];

	(void)state;
	/* Its part on this node is checked... */
	assert_int_equal(check(&a, "the admin map", "rack2", &s, "nvml",
			       "nvl20", why, sizeof(why)),
			 -1);
	assert_string_equal(why, "the admin map puts GPUs 0-7 of nvl20 in "
				 "domain rack2, but nvml on nvl20 finds "
				 "islands 0-3 | 4-7");
	/* ...its reach to the other nodes is not. */
	s = shape_of(8, one8, 1);
	assert_int_equal(check(&a, "the admin map", "rack2", &s, "nvml",
			       "nvl20", why, sizeof(why)),
			 0);
	assert_string_equal(why, "homogeneity: nvl20: 8 GPUs and the islands "
				 "of the admin map confirmed by nvml (0-7); "
				 "its domains span 18 nodes, which one node "
				 "cannot check");
}

/* ---- the island signature ---- */

static void test_signature(void **state)
{
	struct n56_node_shape s = shape_of(8, halves8, 1);
	char buf[64];

	(void)state;
	assert_int_equal(n56_shape_signature(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "4+4");
	s = shape_of(4, single4, 1);
	assert_int_equal(n56_shape_signature(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1+1+1+1");
	s = shape_of(8, one8, 18);
	assert_int_equal(n56_shape_signature(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "8@18");
	n56_node_shape_assumed(&s, 6);
	assert_int_equal(n56_shape_signature(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "6");
	/* Too small: refused, never cut. */
	s = shape_of(8, halves8, 1);
	assert_int_equal(n56_shape_signature(&s, buf, 3), -1);
	assert_int_equal(n56_shape_signature(&s, buf, 0), -1);
	s = shape_of(8, one8, 18);
	assert_int_equal(n56_shape_signature(&s, buf, 3), -1);
}

/* ---- the admin map's shape ---- */

static struct n56_policy *policy_with(const struct n56_island_map_entry *e,
				      size_t n, const char *source)
{
	struct n56_policy *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->path = strdup("site.yaml");
	p->topology.islands = calloc(n ? n : 1, sizeof(*e));
	assert_non_null(p->topology.islands);
	for (size_t i = 0; i < n; i++) {
		p->topology.islands[i] = e[i];
		p->topology.islands[i].nodes = strdup(e[i].nodes);
		p->topology.islands[i].gpus =
			e[i].gpus ? strdup(e[i].gpus) : NULL;
		p->topology.islands[i].domain = strdup(e[i].domain);
	}
	p->topology.nislands = n;
	if (source)
		p->topology.island_source.v = strdup(source);
	return p;
}

static void policy_free(struct n56_policy *p)
{
	if (!p)
		return;
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

static const struct n56_island_map_entry split_map[] = {
	{ .nodes = "n[1-4]", .gpus = "0-3", .domain = "a", .pos = { 5, 7 } },
	{ .nodes = "n[1-4]", .gpus = "4-7", .domain = "b", .pos = { 6, 7 } },
};

static void test_admin_map_shape(void **state)
{
	struct n56_policy *p = policy_with(split_map, 2, NULL);
	struct n56_node_shape s;
	char dom[64], err[512] = "";

	(void)state;
	assert_int_equal(n56_admin_map_shape(p, "n3", 8, &s, dom, sizeof(dom),
					     err, sizeof(err)),
			 1);
	assert_int_equal(s.gpus, 8);
	assert_int_equal(s.nislands, 2);
	assert_int_equal(s.island_of[3], 0);
	assert_int_equal(s.island_of[4], 1);
	assert_int_equal(s.nodes_per_domain, 4);
	assert_string_equal(dom, "a");
	/* A node the map does not name: nothing to check. */
	assert_int_equal(n56_admin_map_shape(p, "login1", 8, &s, dom,
					     sizeof(dom), err, sizeof(err)),
			 0);
	assert_string_equal(dom, "");
	/* The map names GPUs the node does not have. */
	assert_int_equal(n56_admin_map_shape(p, "n3", 4, &s, dom, sizeof(dom),
					     err, sizeof(err)),
			 -1);
	assert_string_equal(err, "site.yaml:6:7: error: "
				 "topology.islands[1].gpus: GPU 7 is not on "
				 "this node (it has 4 GPUs, 0-3)");
	assert_int_equal(n56_admin_map_shape(p, "n3", 0, &s, dom, sizeof(dom),
					     err, sizeof(err)),
			 -1);
	assert_string_equal(err, "0 GPUs: not a node placement supports");
	policy_free(p);
	/* No policy, or per-node: no map to check. */
	assert_int_equal(n56_admin_map_shape(NULL, "n3", 8, &s, dom,
					     sizeof(dom), err, sizeof(err)),
			 0);
	p = policy_with(NULL, 0, "per-node");
	assert_int_equal(n56_admin_map_shape(p, "n3", 8, &s, dom, sizeof(dom),
					     err, sizeof(err)),
			 0);
	policy_free(p);
}

/* ---- generated topologies ---- */

static int gp;

/* One package, one NUMA node, 4 PUs; each GPU under its own host bridge;
 * NVLinkBandwidth between GPUs of equal island[] (none when island is
 * NULL), added through hwloc's API and exported by hwloc. */
static void make_node(const char *name, int n, const char *const *bus,
		      const int *island, char *path, size_t len)
{
	char raw[512];
	FILE *f;
	hwloc_topology_t h;

	mkdir(BUILDDIR "/tests/data", 0755);
	mkdir(DATA, 0755);
	snprintf(raw, sizeof(raw), DATA "/%s.skeleton.xml", name);
	snprintf(path, len, DATA "/%s.xml", name);
	assert_non_null(f = fopen(raw, "w"));
	gp = 0;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
		"<topology version=\"2.0\">\n"
		"<object type=\"Machine\" os_index=\"0\" cpuset=\"0xf\" "
		"complete_cpuset=\"0xf\" allowed_cpuset=\"0xf\" "
		"nodeset=\"0x1\" complete_nodeset=\"0x1\" "
		"allowed_nodeset=\"0x1\" gp_index=\"%d\">\n",
		++gp);
	fprintf(f,
		"<object type=\"NUMANode\" os_index=\"0\" cpuset=\"0xf\" "
		"complete_cpuset=\"0xf\" nodeset=\"0x1\" "
		"complete_nodeset=\"0x1\" gp_index=\"%d\" "
		"local_memory=\"1073741824\"/>\n",
		++gp);
	for (int c = 0; c < 4; c++)
		fprintf(f,
			"<object type=\"PU\" os_index=\"%d\" "
			"cpuset=\"0x%x\" complete_cpuset=\"0x%x\" "
			"nodeset=\"0x1\" complete_nodeset=\"0x1\" "
			"gp_index=\"%d\"/>\n",
			c, 1u << c, 1u << c, ++gp);
	for (int g = 0; g < n; g++) {
		unsigned d = 0, b = 0;

		sscanf(bus[g], "%x:%x", &d, &b);
		fprintf(f,
			"<object type=\"Bridge\" gp_index=\"%d\" "
			"bridge_type=\"0-1\" depth=\"0\" "
			"bridge_pci=\"%04x:[%02x-%02x]\">\n",
			++gp, d, b, b);
		fprintf(f,
			"<object type=\"PCIDev\" gp_index=\"%d\" "
			"pci_busid=\"%s\" pci_type=\"0302 [10de:2330] "
			"[10de:16c1] a1\" pci_link_speed=\"0.0\"/>\n"
			"</object>\n",
			++gp, bus[g]);
	}
	fprintf(f, "</object>\n</topology>\n");
	assert_int_equal(fclose(f), 0);
	assert_int_equal(hwloc_topology_init(&h), 0);
	hwloc_topology_set_io_types_filter(h, HWLOC_TYPE_FILTER_KEEP_ALL);
	assert_int_equal(hwloc_topology_set_xml(h, raw), 0);
	assert_int_equal(hwloc_topology_load(h), 0);
	if (island) {
		hwloc_obj_t objs[8];
		hwloc_uint64_t v[64] = { 0 };
		hwloc_distances_add_handle_t dh;

		for (int g = 0; g < n; g++) {
			unsigned d, b, dev, fn;

			assert_int_equal(sscanf(bus[g], "%x:%x:%x.%x", &d, &b,
						&dev, &fn),
					 4);
			objs[g] = hwloc_get_pcidev_by_busid(h, d, b, dev, fn);
			assert_non_null(objs[g]);
		}
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if (i != j && island[i] == island[j])
					v[i * n + j] = 150000;
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

/* CUDA order (PCI) is 18, 2a, 3a, 5d: islands {18,2a} and {3a,5d}. */
static const char *const bus4[] = { "0000:5d:00.0", "0000:18:00.0",
				    "0000:3a:00.0", "0000:2a:00.0" };
static const int pairs4[] = { 1, 0, 1, 0 };

/* The fake NVML's "bridge4" node: NVML finds {1a,3b} and {86,af}. */
static const char *const bridge4[] = { "0000:3b:00.0", "0000:1a:00.0",
				       "0000:af:00.0", "0000:86:00.0" };

struct world {
	struct n56_policy *policy;
	struct n56_topology *topo;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	n56_topology_free(w->topo);
	policy_free(w->policy);
	free(w);
	unsetenv("NAM56R_NVML_LIBRARY");
	unsetenv("FAKE_NVML_SCENARIO");
	return 0;
}

/* The check as the plugin runs it: the admin map's shape for host against
 * the node's own; returns the check's result, the message in why. */
static int node_check(const struct world *w, const char *host, char *why,
		      size_t len)
{
	struct n56_node_shape own, map;
	const char *by = NULL;
	char dom[64], err[512] = "";
	int r;

	assert_int_equal(
		n56_topology_own_shape(w->topo, &own, &by, err, sizeof(err)),
		0);
	r = n56_admin_map_shape(w->policy, host, own.gpus, &map, dom,
				sizeof(dom), err, sizeof(err));
	assert_int_equal(r, 1);
	return check(&map, "the admin map", dom, &own, by, host, why, len);
}

static void load_with_map(struct world *w, const char *xml, bool nvml,
			  const char *host)
{
	struct n56_topology_opts o = { .xml = xml, .nvml = nvml };
	char err[512] = "";

	if (n56_topology_load_opts(&o, w->policy, host, &w->topo, err,
				   sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(w->topo->island_source, N56_ISLANDS_ADMIN_MAP);
}

static void test_distances_contradict_map(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "n[1-4]",
		  .gpus = "0-3",
		  .domain = "nvl-a",
		  .pos = { 3, 5 } },
	};
	struct world *w = *state;
	char path[512], why[512];

	make_node("homog-pairs4", 4, bus4, pairs4, path, sizeof(path));
	w->policy = policy_with(e, 1, NULL);
	load_with_map(w, path, false, "n3");
	/* Placement still has the map's islands; the node's own are kept. */
	assert_int_equal(w->topo->nislands, 1);
	assert_int_equal(w->topo->own_source, N56_ISLANDS_HWLOC_DISTANCES);
	assert_int_equal(node_check(w, "n3", why, sizeof(why)), -1);
	assert_string_equal(why, "the admin map puts GPUs 0-3 of n3 in domain "
				 "nvl-a, but hwloc-distances on n3 finds "
				 "islands 0-1 | 2-3");
}

static void test_distances_confirm_map(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "n[1-4]", .gpus = "0-1", .domain = "a" },
		{ .nodes = "n[1-4]", .gpus = "2-3", .domain = "b" },
	};
	struct world *w = *state;
	char path[512], why[512];

	make_node("homog-pairs4", 4, bus4, pairs4, path, sizeof(path));
	w->policy = policy_with(e, 2, NULL);
	load_with_map(w, path, false, "n2");
	assert_int_equal(node_check(w, "n2", why, sizeof(why)), 0);
	assert_string_equal(why, "homogeneity: n2: 4 GPUs and the islands of "
				 "the admin map confirmed by hwloc-distances "
				 "(0-1 | 2-3); its domains span 4 nodes, "
				 "which one node cannot check");
}

static void test_nvml_contradicts_map(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "gpu[01-16]", .domain = "hgx", .pos = { 9, 3 } },
	};
	struct world *w = *state;
	char path[512], why[512];

	setenv("NAM56R_NVML_LIBRARY", FAKE_NVML, 1);
	setenv("FAKE_NVML_SCENARIO", "bridge4", 1);
	make_node("homog-bridge4", 4, bridge4, NULL, path, sizeof(path));
	w->policy = policy_with(e, 1, NULL);
	load_with_map(w, path, true, "gpu07");
	assert_int_equal(w->topo->own_source, N56_ISLANDS_NVML);
	assert_int_equal(node_check(w, "gpu07", why, sizeof(why)), -1);
	assert_string_equal(why, "the admin map puts GPUs 0-3 of gpu07 in "
				 "domain hgx, but nvml on gpu07 finds islands "
				 "0-1 | 2-3");
}

static void test_no_evidence_map_trusted(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "n1", .gpus = "0-3", .domain = "d" },
	};
	struct world *w = *state;
	char path[512], why[512];

	make_node("homog-pcie4", 4, bus4, NULL, path, sizeof(path));
	w->policy = policy_with(e, 1, NULL);
	load_with_map(w, path, false, "n1");
	assert_int_equal(w->topo->own_source, N56_ISLANDS_NONE);
	assert_null(w->topo->own_island_of);
	assert_non_null(strstr(w->topo->facts,
			       "islands: the node has no evidence of its own "
			       "to check the admin map against"));
	assert_int_equal(node_check(w, "n1", why, sizeof(why)), 0);
	assert_string_equal(why, "homogeneity: n1: 4 GPUs as the admin map "
				 "says; its islands are not checked (the node "
				 "has no evidence of its own: islands none)");
}

/* slurmd writes the cache with the map; the step reads it without the
 * policy and must still see the node's own islands. */
static void test_cache_keeps_own_islands(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "n[1-4]",
		  .gpus = "0-3",
		  .domain = "nvl-a",
		  .pos = { 3, 5 } },
	};
	struct world *w = *state;
	struct n56_topology *back = NULL;
	char path[512], cache[512], why[512], err[512] = "";

	make_node("homog-pairs4", 4, bus4, pairs4, path, sizeof(path));
	w->policy = policy_with(e, 1, NULL);
	load_with_map(w, path, false, "n4");
	snprintf(cache, sizeof(cache), DATA "/homog-cache.xml");
	if (n56_topology_cache_write(w->topo, cache, err, sizeof(err)))
		fail_msg("%s", err);
	if (n56_topology_cache_read(cache, &back, err, sizeof(err)))
		fail_msg("%s", err);
	n56_topology_free(w->topo);
	w->topo = back;
	assert_int_equal(back->island_source, N56_ISLANDS_ADMIN_MAP);
	assert_int_equal(back->own_source, N56_ISLANDS_HWLOC_DISTANCES);
	assert_int_equal(back->own_island_of[1], 0);
	assert_int_equal(back->own_island_of[2], 1);
	assert_int_equal(node_check(w, "n4", why, sizeof(why)), -1);
	assert_string_equal(why, "the admin map puts GPUs 0-3 of n4 in domain "
				 "nvl-a, but hwloc-distances on n4 finds "
				 "islands 0-1 | 2-3");
	unlink(cache);
}

/* A cache with a damaged own-islands record is refused like any other
 * damage. */
static void test_cache_own_record_damaged(void **state)
{
	struct world *w = *state;
	struct n56_topology *back = NULL;
	const struct n56_island_map_entry e[] = {
		{ .nodes = "n1", .gpus = "0-3", .domain = "d" },
	};
	char path[512], cache[512], err[512] = "", *buf = NULL;
	size_t len = 0;
	FILE *f;

	make_node("homog-pairs4", 4, bus4, pairs4, path, sizeof(path));
	w->policy = policy_with(e, 1, NULL);
	load_with_map(w, path, false, "n1");
	snprintf(cache, sizeof(cache), DATA "/homog-damaged.xml");
	if (n56_topology_cache_write(w->topo, cache, err, sizeof(err)))
		fail_msg("%s", err);
	assert_non_null(f = fopen(cache, "r"));
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	char *at = strstr(buf, "value=\"0,0,1,1\"");
	assert_non_null(at);
	memcpy(at, "value=\"0,0,9,1\"", 15);
	assert_non_null(f = fopen(cache, "w"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
	assert_int_equal(
		n56_topology_cache_read(cache, &back, err, sizeof(err)), -1);
	assert_null(back);
	assert_string_equal(err,
			    DATA "/homog-damaged.xml: error: damaged "
				 "nam56r-launch cache record on the XML root; "
				 "delete the file to rediscover");
	unlink(cache);
}

/* Without a map, the node's own shape is what it loaded. */
static void test_own_shape_without_map(void **state)
{
	struct world *w = *state;
	struct n56_node_shape s;
	const char *by = NULL;
	char path[512], err[512] = "", sig[32];

	make_node("homog-pairs4", 4, bus4, pairs4, path, sizeof(path));
	if (n56_topology_load(path, NULL, "n1", &w->topo, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(
		n56_topology_own_shape(w->topo, &s, &by, err, sizeof(err)), 0);
	assert_string_equal(by, "hwloc-distances");
	assert_false(s.degraded);
	assert_int_equal(n56_shape_signature(&s, sig, sizeof(sig)), 0);
	assert_string_equal(sig, "2+2");
	assert_null(w->topo->own_island_of);
}

/* ---- the real machines ---- */

static bool have_fixtures(void)
{
	struct stat st;

	return stat(FIXTURES, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_fixture_ipa20_two_islands(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "ipa[1-20]", .domain = "ipa", .pos = { 2, 3 } },
	};
	struct world *w = *state;
	char why[512];

	if (!have_fixtures()) {
		print_message("skipped: %s is absent\n", FIXTURES);
		skip();
	}
	w->policy = policy_with(e, 1, NULL);
	load_with_map(w, FIXTURES "/derived_ipa20-2islands.xml", false,
		      "ipa20");
	assert_int_equal(node_check(w, "ipa20", why, sizeof(why)), -1);
	assert_string_equal(why, "the admin map puts GPUs 0-3 of ipa20 in "
				 "domain ipa, but hwloc-distances on ipa20 "
				 "finds islands 0-1 | 2-3");
}

static void test_fixture_dgx2_confirms(void **state)
{
	const struct n56_island_map_entry e[] = {
		{ .nodes = "dgx[1-4]", .gpus = "0-7", .domain = "left" },
		{ .nodes = "dgx[1-4]", .gpus = "8-15", .domain = "right" },
	};
	struct world *w = *state;
	char why[512];

	if (!have_fixtures()) {
		print_message("skipped: %s is absent\n", FIXTURES);
		skip();
	}
	w->policy = policy_with(e, 2, NULL);
	load_with_map(w, FIXTURES "/derived_dgx2-pcionly.xml", false, "dgx2");
	assert_int_equal(node_check(w, "dgx2", why, sizeof(why)), 0);
	assert_string_equal(why, "homogeneity: dgx2: 16 GPUs and the islands "
				 "of the admin map confirmed by pci-switch "
				 "(0-15); its domains span 4 nodes, which one "
				 "node cannot check");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_confirmed),
		cmocka_unit_test(test_map_island_split_by_node),
		cmocka_unit_test(test_map_island_without_domain),
		cmocka_unit_test(test_map_second_island_broken),
		cmocka_unit_test(test_finer_map_holds),
		cmocka_unit_test(test_gpu_count_differs),
		cmocka_unit_test(test_no_evidence_trusts_map),
		cmocka_unit_test(test_multi_node_domain),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_admin_map_shape),
		cmocka_unit_test_setup_teardown(test_distances_contradict_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_distances_confirm_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvml_contradicts_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_evidence_map_trusted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_keeps_own_islands,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_own_record_damaged,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_shape_without_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixture_ipa20_two_islands,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixture_dgx2_confirms,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
