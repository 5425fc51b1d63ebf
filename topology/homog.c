/* Node homogeneity: every node places ranks as if all nodes had the shape
 * it was told (the admin map) or assumes (its own); before it does, it
 * checks that shape against what it finds itself and refuses instead of
 * placing ranks wrongly (spank_nam56r(8), Node homogeneity). Pure: no
 * I/O. */
#include "config.h"

#include "topology/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The GPUs of island isl of s as a list "0-3,6" into buf. */
static void island_list(const struct n56_node_shape *s, int isl, char *buf,
			size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int g = 0; g < s->gpus; g++) {
		int end = g;

		if (s->island_of[g] != isl)
			continue;
		while (end + 1 < s->gpus && s->island_of[end + 1] == isl)
			end++;
		if (at < len)
			at += (size_t)snprintf(buf + at, len - at,
					       end > g ? "%s%d-%d" : "%s%d",
					       at ? "," : "", g, end);
		g = end;
	}
}

/* The islands of s as "0-3 | 4-7", in island order. */
static void islands_text(const struct n56_node_shape *s, char *buf, size_t len)
{
	char one[256];
	size_t at = 0;

	buf[0] = '\0';
	for (int isl = 0; isl < s->nislands && at < len; isl++) {
		island_list(s, isl, one, sizeof(one));
		if (one[0])
			at += (size_t)snprintf(buf + at, len - at, "%s%s",
					       at ? " | " : "", one);
	}
}

int n56_shape_check(const struct n56_shape_view *assumed,
		    const struct n56_shape_view *seen, const char *host,
		    char *why, size_t whylen)
{
	const struct n56_node_shape *a = assumed->shape, *s = seen->shape;
	char list[256], found[1024];

	host = host && *host ? host : "this node";
	if (a->gpus != s->gpus) {
		snprintf(why, whylen,
			 "%s expects %d GPU%s on %s, but %s on %s finds %d",
			 assumed->by, a->gpus, a->gpus == 1 ? "" : "s", host,
			 seen->by, host, s->gpus);
		return -1;
	}
	if (s->degraded || s->assumed) {
		snprintf(why, whylen,
			 "homogeneity: %s: %d GPUs as %s says; its islands "
			 "are not checked (the node has no evidence of its "
			 "own: islands %s)",
			 host, a->gpus, assumed->by, seen->by);
		return 0;
	}
	/* Every assumed island inside one island the node sees: a finer
	 * assumed split only costs bandwidth, a coarser one is wrong. For a
	 * multi-node domain this is its part on this node. */
	for (int isl = 0; isl < a->nislands; isl++) {
		int first = 0;

		while (first < a->gpus && a->island_of[first] != isl)
			first++;
		for (int g = first + 1; g < a->gpus; g++) {
			if (a->island_of[g] != isl ||
			    s->island_of[g] == s->island_of[first])
				continue;
			island_list(a, isl, list, sizeof(list));
			islands_text(s, found, sizeof(found));
			if (assumed->domain && *assumed->domain)
				snprintf(why, whylen,
					 "%s puts GPUs %s of %s in domain %s, "
					 "but %s on %s finds islands %s",
					 assumed->by, list, host,
					 assumed->domain, seen->by, host,
					 found);
			else
				snprintf(why, whylen,
					 "%s puts GPUs %s of %s in one island, "
					 "but %s on %s finds islands %s",
					 assumed->by, list, host, seen->by,
					 host, found);
			return -1;
		}
	}
	islands_text(s, found, sizeof(found));
	if (a->nodes_per_domain > 1)
		snprintf(why, whylen,
			 "homogeneity: %s: %d GPUs and the islands of %s "
			 "confirmed by %s (%s); its domains span %d nodes, "
			 "which one node cannot check",
			 host, a->gpus, assumed->by, seen->by, found,
			 a->nodes_per_domain);
	else
		snprintf(why, whylen,
			 "homogeneity: %s: %d GPUs and the islands of %s "
			 "confirmed by %s (%s)",
			 host, a->gpus, assumed->by, seen->by, found);
	return 0;
}

int n56_topology_own_shape(const struct n56_topology *t,
			   struct n56_node_shape *s, const char **by, char *err,
			   size_t errlen)
{
	if (n56_topology_shape(t, s, err, errlen) < 0)
		return -1;
	s->nodes_per_domain = 1;
	*by = n56_island_source_name(t->island_source);
	if (!n56_island_source_is_site(t->island_source))
		return 0;
	*by = n56_island_source_name(t->own_source);
	s->nislands = 0;
	for (int g = 0; g < t->ngpus; g++) {
		/* No evidence: one island per GPU, as the loader degrades. */
		int isl = t->own_island_of ? t->own_island_of[g] : g;

		s->island_of[g] = isl;
		if (isl + 1 > s->nislands)
			s->nislands = isl + 1;
	}
	s->degraded = !t->own_island_of;
	return 0;
}

int n56_admin_map_shape(const struct n56_policy *policy, const char *host,
			int ngpus, struct n56_node_shape *s, char *domain,
			size_t domainlen, char *err, size_t errlen)
{
	struct n56_topology t = { .ngpus = ngpus, .nodes_per_domain = 1 };
	int label[N56_MAX_GPUS_PER_NODE], r;

	memset(s, 0, sizeof(*s));
	if (domainlen)
		domain[0] = '\0';
	if (ngpus < 1 || ngpus > N56_MAX_GPUS_PER_NODE) {
		snprintf(err, errlen, "%d GPUs: not a node placement supports",
			 ngpus);
		return -1;
	}
	/* per-node is the site's choice of one island per node, not a map
	 * of islands: there is nothing of the map's to check. */
	if (!policy || (policy->topology.island_source.v &&
			!strcmp(policy->topology.island_source.v, "per-node")))
		return 0;
	if (!(t.gpus = calloc((size_t)ngpus, sizeof(*t.gpus)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = n56_islands_admin_map(&t, policy, host, label, err, errlen);
	if (r > 0 && n56_topo_set_islands(&t, label) < 0) {
		snprintf(err, errlen, "out of memory");
		r = -1;
	}
	if (r > 0) {
		s->gpus = ngpus;
		for (int g = 0; g < ngpus; g++)
			s->island_of[g] = t.gpus[g].island;
		s->nislands = t.nislands;
		s->nodes_per_domain = t.nodes_per_domain;
		if (domainlen)
			snprintf(domain, domainlen, "%s",
				 t.domain ? t.domain : "");
	}
	t.hwloc = NULL;
	free(t.gpus);
	t.gpus = NULL;
	t.ngpus = 0;
	for (int i = 0; i < t.nislands; i++)
		free(t.islands[i]);
	free(t.islands);
	free(t.island_size);
	free(t.facts);
	free(t.domain);
	return r;
}

int n56_shape_signature(const struct n56_node_shape *s, char *buf, size_t len)
{
	size_t at = 0;
	int n;

	if (!len)
		return -1;
	buf[0] = '\0';
	for (int isl = 0; isl < s->nislands; isl++) {
		int size = 0;

		for (int g = 0; g < s->gpus; g++)
			size += s->island_of[g] == isl;
		n = snprintf(buf + at, len - at, "%s%d", isl ? "+" : "", size);
		if (n < 0 || (size_t)n >= len - at)
			return -1;
		at += (size_t)n;
	}
	if (s->nodes_per_domain > 1) {
		n = snprintf(buf + at, len - at, "@%d", s->nodes_per_domain);
		if (n < 0 || (size_t)n >= len - at)
			return -1;
	}
	return 0;
}
