/* Placement: which node and GPU each global rank gets.
 *
 * Megatron fixes the rank order; we only choose the GPU. Ranks fill nodes in
 * order (node = rank / G), so pipeline stages, the outermost coordinate,
 * follow node order. Inside a node, local ranks take the GPUs island by
 * island, so that runs of consecutive ranks (TP groups, then expert groups)
 * land inside one NVLink island whenever the island sizes allow it. All
 * nodes share one local->GPU table, computed once; a rank's placement is then
 * a few divisions. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/placement.h"
#include "topology/util.h"

struct n56_placer {
	struct n56_parallel par;
	long edp; /* expert data-parallel size: world / (ETP*EP*PP) */
	long nodes;
	int gpus;
	int nislands;
	int nodes_per_domain;
	int local_gpu[N56_MAX_GPUS_PER_NODE];  /* local rank -> CUDA index */
	int gpu_local[N56_MAX_GPUS_PER_NODE];  /* CUDA index -> local rank */
	int gpu_island[N56_MAX_GPUS_PER_NODE]; /* CUDA index -> node island */
	/* n56_placer_set_node_domains: the first island id of each node,
	 * and whether the node is one island (of a domain); NULL before. */
	int *node_island;
	unsigned char *node_whole;
};

/* Appends to a fixed buffer, truncating silently: the report text is for
 * people, and a cut-off list is better than none. */
static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static int check_parallel(const struct n56_parallel *par, long world, char *err,
			  size_t errlen)
{
	const struct {
		const char *name;
		long v;
	} sizes[] = {
		{ "tp", par->tp },   { "cp", par->cp }, { "ep", par->ep },
		{ "etp", par->etp }, { "dp", par->dp }, { "pp", par->pp },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i].v < 1) {
			n56_set_err(err, errlen,
				    "%s is %ld; every parallel size must be at "
				    "least 1",
				    sizes[i].name, sizes[i].v);
			return -1;
		}
	}
	if (par->world != world) {
		n56_set_err(
			err, errlen,
			"the plan's world size is %ld but the allocation has "
			"%ld GPUs; plan for the same nodes and GPUs per node",
			par->world, world);
		return -1;
	}
	/* Products are checked by division so that huge sizes cannot
	 * overflow. */
	if (world % par->tp || (world / par->tp) % par->cp ||
	    (world / par->tp / par->cp) % par->pp ||
	    world / par->tp / par->cp / par->pp != par->dp) {
		n56_set_err(
			err, errlen,
			"tp %ld x cp %ld x dp %ld x pp %ld is not the world "
			"size %ld; make dp = world / (tp*cp*pp)",
			par->tp, par->cp, par->dp, par->pp, world);
		return -1;
	}
	if (world % par->etp || (world / par->etp) % par->ep ||
	    (world / par->etp / par->ep) % par->pp) {
		n56_set_err(
			err, errlen,
			"the expert grid etp %ld x ep %ld x pp %ld does not "
			"divide the world size %ld; choose etp and ep so that "
			"etp*ep*pp divides it",
			par->etp, par->ep, par->pp, world);
		return -1;
	}
	/* Megatron asserts this when PP is not the outermost coordinate:
	 * otherwise the dense and expert pipeline groups differ. */
	if (par->pp_before_dp && par->etp * par->ep != par->tp * par->cp) {
		n56_set_err(
			err, errlen,
			"rank order tp-cp-ep-pp-dp needs the same "
			"data-parallel size for dense and expert layers, but "
			"etp*ep is %ld and tp*cp is %ld; use tp-cp-ep-dp-pp "
			"or make them equal",
			par->etp * par->ep, par->tp * par->cp);
		return -1;
	}
	return 0;
}

static int check_shape(const struct n56_node_shape *s, char *err, size_t errlen)
{
	if (s->gpus < 1 || s->gpus > N56_MAX_GPUS_PER_NODE) {
		n56_set_err(err, errlen,
			    "a node has %d GPUs; placement handles 1 to %d",
			    s->gpus, N56_MAX_GPUS_PER_NODE);
		return -1;
	}
	if (s->nislands < 1 || s->nislands > s->gpus) {
		n56_set_err(
			err, errlen,
			"the node shape has %d islands for %d GPUs; it needs "
			"1 to %d",
			s->nislands, s->gpus, s->gpus);
		return -1;
	}
	for (int g = 0; g < s->gpus; g++) {
		if (s->island_of[g] < 0 || s->island_of[g] >= s->nislands) {
			n56_set_err(
				err, errlen,
				"GPU %d is in island %d, outside 0..%d; number "
				"the islands from 0",
				g, s->island_of[g], s->nislands - 1);
			return -1;
		}
	}
	if (s->nodes_per_domain < 0) {
		n56_set_err(
			err, errlen,
			"nodes_per_domain is %d; use 1 for islands that stop "
			"at the node",
			s->nodes_per_domain);
		return -1;
	}
	return 0;
}

/* The order in which the node's islands receive local ranks. Islands whose
 * size is a multiple of TP go first (they hold whole TP groups), then the
 * rest; largest first within each class, so that the leftovers that must
 * share a TP group are the small islands, and ties keep island-id order. */
static void island_order(const int *size, int n, long tp, int *order)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	/* Insertion sort: n <= 64 and it is stable. */
	for (int i = 1; i < n; i++) {
		int cur = order[i], j = i;

		while (j > 0) {
			int prev = order[j - 1];
			bool cur_whole = size[cur] % tp == 0;
			bool prev_whole = size[prev] % tp == 0;

			if (cur_whole == prev_whole ? size[cur] <= size[prev]
						    : !cur_whole)
				break;
			order[j] = prev;
			j--;
		}
		order[j] = cur;
	}
}

/* "0,1 | 2,3" or "0-3 | 4-7": each island's GPUs in CUDA order. */
static void describe_islands(const struct n56_placer *pl, char *buf, size_t len)
{
	for (int i = 0; i < pl->nislands; i++) {
		int run_start = -1, prev = -1;
		bool first = true;

		if (i > 0)
			append(buf, len, " | ");
		for (int g = 0; g <= pl->gpus; g++) {
			bool in = g < pl->gpus && pl->gpu_island[g] == i;

			if (in && run_start >= 0 && g == prev + 1) {
				prev = g;
				continue;
			}
			if (run_start >= 0) {
				append(buf, len, "%s%d", first ? "" : ",",
				       run_start);
				if (prev == run_start + 1)
					append(buf, len, ",%d", prev);
				else if (prev > run_start)
					append(buf, len, "-%d", prev);
				first = false;
				run_start = -1;
			}
			if (in)
				run_start = prev = g;
		}
	}
}

/* "islands of 2" or "islands of 4, 2 and 2" (sizes in island order). */
static void describe_sizes(const int *size, int n, char *buf, size_t len)
{
	bool same = true;

	for (int i = 1; i < n; i++)
		same = same && size[i] == size[0];
	if (n == 1) {
		append(buf, len, "one island of %d", size[0]);
		return;
	}
	if (same) {
		append(buf, len, "islands of %d", size[0]);
		return;
	}
	append(buf, len, "islands of ");
	for (int i = 0; i < n; i++)
		append(buf, len, "%s%d",
		       i == 0	    ? ""
		       : i == n - 1 ? " and "
				    : ", ",
		       size[i]);
}

/* Whether every run of `group` consecutive ranks, aligned at multiples of
 * group, stays in one island; when not, why. Structural: O(islands). */
static bool groups_in_island(const struct n56_placer *pl, const int *size,
			     const int *order, long group, const char *what,
			     char *why, size_t whylen)
{
	long g = pl->gpus;
	char islands[256] = "";
	char sizes[128] = "";

	if (group == 1)
		return true;
	if (pl->nodes_per_domain > 1) {
		long domain = (long)pl->nodes_per_domain * g;

		/* A group is aligned at a multiple of its size; it stays in
		 * its domain iff domains are multiples of it (or the job
		 * fits in one domain). The last, partial domain then also
		 * holds whole groups, since the world is a multiple of the
		 * group. */
		if (domain % group == 0 || pl->nodes * g <= domain)
			return true;
		snprintf(why, whylen,
			 "%s %ld does not divide the %ld GPUs of an NVLink "
			 "domain (%d nodes x %ld GPUs), so some %s groups "
			 "cross domains",
			 what, group, domain, pl->nodes_per_domain, g, what);
		return false;
	}
	describe_islands(pl, islands, sizeof(islands));
	if (group > g) {
		snprintf(why, whylen,
			 "%s %ld spans %ld nodes of %ld GPUs, and NVLink "
			 "islands stop at the node (islands: GPUs %s)",
			 what, group, (group + g - 1) / g, g, islands);
		return false;
	}
	if (g % group) {
		snprintf(why, whylen,
			 "%s %ld does not divide the %ld GPUs of a node, so "
			 "some %s groups straddle two nodes",
			 what, group, g, what);
		return false;
	}
	{
		bool ok = true;
		int biggest = 0;
		long start = 0;
		int sorted[N56_MAX_GPUS_PER_NODE];

		for (int i = 0; i < pl->nislands; i++) {
			int is = order[i];

			if (size[is] && (start % group || size[is] % group))
				ok = false;
			start += size[is];
			sorted[i] = size[is];
			if (size[is] > biggest)
				biggest = size[is];
		}
		if (ok)
			return true;
		describe_sizes(sorted, pl->nislands, sizes, sizeof(sizes));
		if (biggest < group)
			snprintf(why, whylen,
				 "%s %ld needs islands of at least %ld GPUs; "
				 "this node has %s (GPUs %s)",
				 what, group, group, sizes, islands);
		else
			snprintf(why, whylen,
				 "%s %ld needs islands whose sizes are "
				 "multiples of %ld; this node has %s (GPUs %s)",
				 what, group, group, sizes, islands);
		return false;
	}
}

int n56_placer_new(const struct n56_parallel *par,
		   const struct n56_node_shape *shape, long nodes,
		   struct n56_placer **out, struct n56_place_report *rep,
		   char *err, size_t errlen)
{
	struct n56_placer *pl = NULL;
	struct n56_place_report r = { 0 };
	int size[N56_MAX_GPUS_PER_NODE] = { 0 };
	int order[N56_MAX_GPUS_PER_NODE];
	int rc = -1;

	if (out)
		*out = NULL;
	if (!par || !shape || !out) {
		n56_set_err(err, errlen,
			    "placement needs the parallel sizes, "
			    "a node shape and a result pointer");
		goto out;
	}
	if (check_shape(shape, err, errlen) < 0)
		goto out;
	/* The bound keeps node * islands inside an int island id. */
	if (nodes < 1 || nodes > N56_MAX_NODES) {
		n56_set_err(err, errlen,
			    "the allocation has %ld nodes; "
			    "placement needs 1 to %ld",
			    nodes, N56_MAX_NODES);
		goto out;
	}
	if (check_parallel(par, nodes * shape->gpus, err, errlen) < 0)
		goto out;
	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		n56_set_err(err, errlen, "placement: %s", strerror(errno));
		goto out;
	}
	pl->par = *par;
	pl->edp = par->world / (par->etp * par->ep * par->pp);
	pl->nodes = nodes;
	pl->gpus = shape->gpus;
	pl->nislands = shape->nislands;
	pl->nodes_per_domain =
		shape->nodes_per_domain > 1 ? shape->nodes_per_domain : 1;
	for (int g = 0; g < shape->gpus; g++) {
		pl->gpu_island[g] = shape->island_of[g];
		size[shape->island_of[g]]++;
	}
	island_order(size, shape->nislands, par->tp, order);
	{
		int local = 0;

		for (int i = 0; i < shape->nislands; i++)
			for (int g = 0; g < shape->gpus; g++)
				if (shape->island_of[g] == order[i]) {
					pl->local_gpu[local] = g;
					pl->gpu_local[g] = local++;
				}
	}

	r.tp_in_island = groups_in_island(pl, size, order, par->tp, "tp", r.why,
					  sizeof(r.why));
	{
		char ep_why[sizeof(r.why)] = "";

		r.ep_in_island =
			groups_in_island(pl, size, order, par->etp * par->ep,
					 "etp*ep", ep_why, sizeof(ep_why));
		if (r.tp_in_island && !r.ep_in_island)
			memcpy(r.why, ep_why, sizeof(r.why));
	}
	/* Ranks fill nodes in order and every rank order Megatron offers
	 * grows with the stage, so stage p+1 never sits before stage p. */
	r.pp_in_node_order = true;
	if (shape->degraded && (!r.tp_in_island || !r.ep_in_island)) {
		static const char pre[] =
			"islands unknown (one per GPU, degraded): ";
		size_t keep = sizeof(r.why) - sizeof(pre);

		/* Shift the reason right to make room for the prefix. */
		memmove(r.why + sizeof(pre) - 1, r.why, keep);
		r.why[sizeof(r.why) - 1] = '\0';
		memcpy(r.why, pre, sizeof(pre) - 1);
	}
	*out = pl;
	pl = NULL;
	rc = 0;
out:
	if (rep)
		*rep = r;
	free(pl);
	return rc;
}

/* Whether the group of `group` ranks that straddles the boundary before
 * node i+1 (when one does) stays in one domain; a group that straddles a
 * node of no domain does not. */
static long first_crossing(const struct n56_placer *pl, const long *domain,
			   long group)
{
	for (long i = 0; i + 1 < pl->nodes; i++) {
		long r = (i + 1) * (long)pl->gpus;

		if (r % group == 0)
			continue;
		if (domain[i] < 0 || domain[i] != domain[i + 1])
			return i;
	}
	return -1;
}

/* The verdict for groups of `group` ranks under per-node domains. */
static bool groups_in_domains(struct n56_placer *pl, const long *domain,
			      bool any_free, const int *size, const int *order,
			      long group, const char *what, char *why,
			      size_t whylen)
{
	long i = first_crossing(pl, domain, group);
	int npd = pl->nodes_per_domain;
	bool ok;

	if (group == 1)
		return true;
	if (i >= 0) {
		long r = (i + 1) * (long)pl->gpus;

		snprintf(why, whylen,
			 "%s %ld: the group of ranks %ld-%ld spans nodes %ld "
			 "and %ld, which are not in one NVLink domain",
			 what, group, r / group * group,
			 r / group * group + group - 1, i, i + 1);
		return false;
	}
	if (!any_free)
		return true;
	/* Groups on a node of no domain stay on it (else they crossed):
	 * its own islands decide, as for islands that stop at the node. */
	pl->nodes_per_domain = 1;
	ok = groups_in_island(pl, size, order, group, what, why, whylen);
	pl->nodes_per_domain = npd;
	return ok;
}

int n56_placer_set_node_domains(struct n56_placer *pl, const long *domain,
				long n, struct n56_place_report *rep, char *err,
				size_t errlen)
{
	int size[N56_MAX_GPUS_PER_NODE] = { 0 };
	int order[N56_MAX_GPUS_PER_NODE];
	struct n56_place_report r = { 0 };
	long maxdom = -1, next = 0;
	bool any_free = false;
	int *base = NULL, *id = NULL;
	unsigned char *whole = NULL;

	if (!pl || !domain || n < 1 || n != pl->nodes) {
		n56_set_err(err, errlen,
			    "node domains: %ld nodes given for a "
			    "placement of %ld",
			    n, pl ? pl->nodes : 0);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		if (domain[i] > maxdom)
			maxdom = domain[i];
		any_free = any_free || domain[i] < 0;
	}
	if (maxdom >= (long)INT_MAX / 2) {
		n56_set_err(err, errlen,
			    "node domains: domain %ld is out of "
			    "range",
			    maxdom);
		return -1;
	}
	base = malloc(sizeof(*base) * (size_t)n);
	whole = malloc((size_t)n);
	id = malloc(sizeof(*id) * (size_t)(maxdom + 1 > 0 ? maxdom + 1 : 1));
	if (!base || !whole || !id) {
		free(base);
		free(whole);
		free(id);
		n56_set_err(err, errlen, "node domains: out of memory");
		return -1;
	}
	for (long d = 0; d <= maxdom; d++)
		id[d] = -1;
	for (long i = 0; i < n; i++) {
		if (domain[i] < 0)
			continue;
		if (id[domain[i]] < 0)
			id[domain[i]] = (int)next++;
		base[i] = id[domain[i]];
		whole[i] = 1;
	}
	for (long i = 0; i < n; i++) {
		if (domain[i] >= 0)
			continue;
		if (next > (long)INT_MAX - pl->nislands) {
			free(base);
			free(whole);
			free(id);
			n56_set_err(err, errlen,
				    "node domains: too many "
				    "islands");
			return -1;
		}
		base[i] = (int)next;
		whole[i] = 0;
		next += pl->nislands;
	}
	free(id);
	for (int g = 0; g < pl->gpus; g++)
		size[pl->gpu_island[g]]++;
	island_order(size, pl->nislands, pl->par.tp, order);
	r.tp_in_island =
		groups_in_domains(pl, domain, any_free, size, order, pl->par.tp,
				  "tp", r.why, sizeof(r.why));
	{
		char ep_why[sizeof(r.why)] = "";

		r.ep_in_island =
			groups_in_domains(pl, domain, any_free, size, order,
					  pl->par.etp * pl->par.ep, "etp*ep",
					  ep_why, sizeof(ep_why));
		if (r.tp_in_island && !r.ep_in_island)
			memcpy(r.why, ep_why, sizeof(r.why));
	}
	r.pp_in_node_order = true;
	free(pl->node_island);
	free(pl->node_whole);
	pl->node_island = base;
	pl->node_whole = whole;
	if (rep)
		*rep = r;
	return 0;
}

void n56_placer_free(struct n56_placer *pl)
{
	if (!pl)
		return;
	free(pl->node_island);
	free(pl->node_whole);
	free(pl);
}

void n56_place_rank(const struct n56_placer *pl, long rank,
		    struct n56_rank_place *out)
{
	const struct n56_parallel *p = &pl->par;
	long q;

	out->rank = rank;
	out->node = rank / pl->gpus;
	out->local_rank = (int)(rank % pl->gpus);
	out->gpu = pl->local_gpu[out->local_rank];
	if (pl->node_island)
		out->island =
			pl->node_island[out->node] +
			(pl->node_whole[out->node] ? 0
						   : pl->gpu_island[out->gpu]);
	else if (pl->nodes_per_domain > 1)
		out->island = (int)(out->node / pl->nodes_per_domain);
	else
		out->island = (int)(out->node * pl->nislands +
				    pl->gpu_island[out->gpu]);

	/* Dense: tp + TP*(cp + CP*(dp + DP*pp)), or with pp before dp
	 * tp + TP*(cp + CP*(pp + PP*dp)). */
	out->tp = rank % p->tp;
	q = rank / p->tp;
	out->cp = q % p->cp;
	q /= p->cp;
	if (p->pp_before_dp) {
		out->pp = q % p->pp;
		out->dp = q / p->pp;
	} else {
		out->dp = q % p->dp;
		out->pp = q / p->dp;
	}
	/* Expert: etp + ETP*(ep + EP*(edp + EDP*pp)); Megatron builds it
	 * from the same order string, so pp-before-dp swaps edp and pp. */
	out->etp = rank % p->etp;
	q = rank / p->etp;
	out->ep = q % p->ep;
	q /= p->ep;
	if (p->pp_before_dp)
		out->edp = q / p->pp;
	else
		out->edp = q % pl->edp;
}

long n56_rank_at(const struct n56_placer *pl, long node, int local_rank)
{
	if (node < 0 || node >= pl->nodes || local_rank < 0 ||
	    local_rank >= pl->gpus)
		return -1;
	return node * pl->gpus + local_rank;
}

long n56_rank_on_gpu(const struct n56_placer *pl, long node, int gpu)
{
	if (gpu < 0 || gpu >= pl->gpus)
		return -1;
	return n56_rank_at(pl, node, pl->gpu_local[gpu]);
}

int n56_visible_devices(const struct n56_placer *pl, char *buf, size_t len)
{
	size_t used = 0;

	if (!buf || len == 0)
		return -1;
	buf[0] = '\0';
	for (int l = 0; l < pl->gpus; l++) {
		int n = snprintf(buf + used, len - used, "%s%d", l ? "," : "",
				 pl->local_gpu[l]);

		if (n < 0 || (size_t)n >= len - used) {
			buf[0] = '\0';
			return -1;
		}
		used += (size_t)n;
	}
	return 0;
}

void n56_node_shape_assumed(struct n56_node_shape *s, int gpus)
{
	memset(s, 0, sizeof(*s));
	if (gpus > N56_MAX_GPUS_PER_NODE)
		gpus = N56_MAX_GPUS_PER_NODE;
	s->gpus = gpus;
	s->nislands = 1;
	s->nodes_per_domain = 1;
	s->assumed = true;
}

long n56_placer_nodes(const struct n56_placer *pl)
{
	return pl->nodes;
}

int n56_placer_gpus(const struct n56_placer *pl)
{
	return pl->gpus;
}

int n56_placer_nodes_per_domain(const struct n56_placer *pl)
{
	return pl->nodes_per_domain;
}

const struct n56_parallel *n56_placer_parallel(const struct n56_placer *pl)
{
	return &pl->par;
}
