/* nam56r-launch topology: the GPUs, NVLink islands, NUMA nodes and nearest
 * NICs of this node (or of an XML export), and where each fact came from. */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/site.h"
#include "topology/slurmblock.h"
#include "topology/topology.h"
#include "wrapper/commands.h"
#include "wrapper/cli.h"

/* The policy parser lives in libn56policy; a build without it still shows
 * the topology, it only cannot read --policy. */
#pragma weak n56_policy_load
#pragma weak n56_policy_free

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nam56r-launch topology [--topology XML] [--policy F] "
		"[--hostname H] [--format text|json]\n\n"
		"Shows the GPUs (CUDA order = PCI bus id), NVLink/xGMI "
		"islands, NUMA nodes,\nnearby cores and nearest NICs of this "
		"node, or of an hwloc XML export,\nand where each fact came "
		"from.\n\n"
		"  --topology XML  read an hwloc XML export (lstopo --of xml) "
		"instead of this node\n"
		"  --policy F      site policy: its admin island map applies\n"
		"  --hostname H    the node the admin map is matched against "
		"(default: this host)\n"
		"  --format F      text (default) or json\n"
		"  -h, --help      this help\n");
}

static json_t *facts_json(const char *facts)
{
	json_t *a = json_array();

	for (const char *p = facts; p && *p;) {
		size_t len = strcspn(p, "\n");

		json_array_append_new(a, json_stringn(p, len));
		p += len + (p[len] == '\n');
	}
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int print_json(const struct n56_topology *t)
{
	json_t *o = json_object(), *gpus = json_array(), *isl = json_array();
	int r;

	for (int i = 0; i < t->ngpus; i++) {
		const struct n56_topo_gpu *g = &t->gpus[i];
		json_t *j = json_object();

		json_object_set_new(j, "index", json_integer(g->index));
		json_object_set_new(j, "pci", json_string(g->pci));
		json_object_set_new(j, "numa",
				    g->numa >= 0 ? json_integer(g->numa)
						 : json_null());
		json_object_set_new(j, "island", json_integer(g->island));
		json_object_set_new(j, "nic", str_or_null(g->nic));
		json_object_set_new(j, "cpuset", str_or_null(g->cpuset));
		json_object_set_new(j, "numa_nodes",
				    str_or_null(g->numa_nodes));
		json_object_set_new(j, "name", str_or_null(g->name));
		json_array_append_new(gpus, j);
	}
	for (int s = 0; s < t->nislands; s++) {
		json_t *a = json_array();

		for (int k = 0; k < t->island_size[s]; k++)
			json_array_append_new(a,
					      json_integer(t->islands[s][k]));
		json_array_append_new(isl, a);
	}
	json_object_set_new(o, "source", json_string(t->source));
	json_object_set_new(o, "gpus", gpus);
	json_object_set_new(o, "islands", isl);
	json_object_set_new(
		o, "island_source",
		json_string(n56_island_source_name(t->island_source)));
	json_object_set_new(o, "degraded", json_boolean(t->degraded));
	json_object_set_new(o, "nodes_per_domain",
			    json_integer(t->nodes_per_domain));
	json_object_set_new(o, "domain", str_or_null(t->domain));
	json_object_set_new(o, "facts", facts_json(t->facts));
	r = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	return r < 0 ? N56_EXIT_FAIL : N56_EXIT_OK;
}

static void print_text(const struct n56_topology *t)
{
	printf("topology of %s: %d GPU%s, %d island%s (%s%s)\n\n", t->source,
	       t->ngpus, t->ngpus == 1 ? "" : "s", t->nislands,
	       t->nislands == 1 ? "" : "s",
	       n56_island_source_name(t->island_source),
	       t->degraded ? ", degraded: islands unknown" : "");
	if (t->ngpus) {
		printf("%-4s %-13s %-6s %-5s %-10s %-16s %s\n", "gpu", "pci",
		       "island", "numa", "nic", "cpus", "model");
		for (int i = 0; i < t->ngpus; i++) {
			const struct n56_topo_gpu *g = &t->gpus[i];
			char numa[16] = "-";

			if (g->numa >= 0)
				snprintf(numa, sizeof(numa), "%d", g->numa);
			printf("%-4d %-13s %-6d %-5s %-10s %-16s %s\n",
			       g->index, g->pci, g->island, numa,
			       g->nic ? g->nic : "-",
			       g->cpuset ? g->cpuset : "-",
			       g->name ? g->name : "-");
		}
		printf("\n");
	}
	for (int s = 0; s < t->nislands; s++) {
		printf("island %d:", s);
		for (int k = 0; k < t->island_size[s]; k++)
			printf(" %d", t->islands[s][k]);
		printf("\n");
	}
	if (t->nodes_per_domain > 1 || t->domain)
		printf("NVLink domain: %s, %d node%s per domain\n",
		       t->domain ? t->domain : "-", t->nodes_per_domain,
		       t->nodes_per_domain == 1 ? "" : "s");
	printf("\nfacts:\n");
	for (const char *p = t->facts; p && *p;) {
		size_t len = strcspn(p, "\n");

		printf("  %.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

static int load_policy(const char *path, struct n56_policy **out)
{
	struct n56_diags d = { 0 };
	int ret = 0;

	if (!n56_policy_load) {
		fprintf(stderr, "nam56r-launch: topology: this build cannot "
				"read a policy file\n");
		return -1;
	}
	if (n56_policy_load(path, out, &d) < 0) {
		n56_print_diags("", &d);
		if (!d.n)
			fprintf(stderr, "%s: cannot load the policy\n", path);
		ret = -1;
	} else if (n56_policy_slurm_blocks(*out, getenv("SLURM_CONF"), &d)) {
		/* island_source slurm-block: Slurm's blocks beside
		 * $SLURM_CONF. */
		n56_print_diags("", &d);
		n56_policy_free(*out);
		*out = NULL;
		ret = -1;
	}
	n56_diags_free(&d);
	return ret;
}

int n56_cmd_topology(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "topology", required_argument, NULL, 't' },
		{ "policy", required_argument, NULL, 'p' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *xml = NULL, *policy_path = NULL, *host = NULL;
	const char *format = "text";
	struct n56_policy *policy = NULL;
	struct n56_topology *t = NULL;
	char err[1024];
	int c, ret = N56_EXIT_USAGE;

	optind = 0; /* GNU: restart the scan for this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			xml = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'h':
			usage(stdout);
			return N56_EXIT_OK;
		default:
			fprintf(stderr,
				c == ':' ? "nam56r-launch: topology: "
					   "%s needs a value\n"
					 : "nam56r-launch: topology: "
					   "unknown option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return N56_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"nam56r-launch: topology: unexpected argument "
			"'%s'\n",
			argv[optind]);
		usage(stderr);
		return N56_EXIT_USAGE;
	}
	if (strcmp(format, "text") && strcmp(format, "json")) {
		fprintf(stderr,
			"nam56r-launch: topology: --format must be "
			"text or json, not '%s'\n",
			format);
		return N56_EXIT_USAGE;
	}
	if (policy_path && load_policy(policy_path, &policy) < 0)
		goto out;
	if (n56_topology_load(xml, policy, host, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "nam56r-launch: topology: %s\n", err);
		/* A bad file is bad input; a live discovery that fails is
		 * this node's problem. */
		ret = xml || policy_path ? N56_EXIT_USAGE : N56_EXIT_FAIL;
		goto out;
	}
	if (!strcmp(format, "json")) {
		ret = print_json(t);
	} else {
		print_text(t);
		ret = N56_EXIT_OK;
	}
out:
	n56_topology_free(t);
	if (policy && n56_policy_free)
		n56_policy_free(policy);
	return ret;
}
