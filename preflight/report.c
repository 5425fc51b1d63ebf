/* The preflight's report: one entry per communicator (per adjacent stage
 * pair for PP), judged against what the placement promised, printed as a
 * table for people and as JSON for tools. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "preflight/preflight.h"

const char *n56pf_verdict_name(enum n56pf_verdict v)
{
	switch (v) {
	case N56PF_PASS:
		return "PASS";
	case N56PF_INFO:
		return "INFO";
	case N56PF_FAIL:
		return "FAIL";
	}
	return "?";
}

static int add_group(struct n56pf_report *r, size_t *cap, enum n56pf_kind k,
		     long group, long stage, const long *ranks, long n)
{
	struct n56pf_group_result *e;

	if (r->ngroups == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *v = realloc(r->groups, ncap * sizeof(*r->groups));

		if (!v)
			return -1;
		r->groups = v;
		*cap = ncap;
	}
	e = &r->groups[r->ngroups];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->group = group;
	e->stage = stage;
	e->island = -1;
	e->ranks = malloc((size_t)n * sizeof(long));
	if (!e->ranks)
		return -1;
	memcpy(e->ranks, ranks, (size_t)n * sizeof(long));
	e->n = n;
	r->ngroups++;
	return 0;
}

int n56pf_report_init(struct n56pf_report *r, const struct n56pf_grid *g,
		      const struct n56pf_config *c, const size_t *sizes,
		      int nsizes, char *err, size_t errlen)
{
	size_t cap = 0;
	long *members = NULL;

	memset(r, 0, sizeof(*r));
	r->grid = *g;
	r->min_tp_busbw = c->min_tp_busbw;
	r->min_dp_busbw = c->min_dp_busbw;
	r->nsizes = nsizes < N56PF_MAX_SIZES ? nsizes : N56PF_MAX_SIZES;
	memcpy(r->sizes, sizes, (size_t)r->nsizes * sizeof(size_t));
	r->ranks = calloc((size_t)g->world, sizeof(*r->ranks));
	members = malloc((size_t)g->world * sizeof(long));
	if (!r->ranks || !members)
		goto nomem;
	for (long i = 0; i < g->world; i++) {
		r->ranks[i].rank = i;
		r->ranks[i].island = -1;
		r->ranks[i].local_rank = -1;
	}
	for (int k = 0; k < N56PF_NKINDS; k++) {
		long n = n56pf_group_size(g, k),
		     count = n56pf_group_count(g, k);

		if (n < 2)
			continue; /* a group of one has no link to check */
		for (long id = 0; id < count; id++) {
			n56pf_group_members(g, k, id, members);
			if (k != N56PF_PP) {
				if (add_group(r, &cap, k, id, -1, members, n))
					goto nomem;
				continue;
			}
			for (long s = 0; s + 1 < n; s++)
				if (add_group(r, &cap, k, id, s, members + s,
					      2))
					goto nomem;
		}
	}
	free(members);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for the report of %ld ranks",
		 g->world);
	free(members);
	n56pf_report_clear(r);
	return -1;
}

void n56pf_report_clear(struct n56pf_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i].ranks);
	free(r->groups);
	free(r->ranks);
	memset(r, 0, sizeof(*r));
}

static void human_size(size_t b, char *buf, size_t len)
{
	if (b >= (1UL << 30) && b % (1UL << 30) == 0)
		snprintf(buf, len, "%zuG", b >> 30);
	else if (b >= (1UL << 20) && b % (1UL << 20) == 0)
		snprintf(buf, len, "%zuM", b >> 20);
	else if (b >= (1UL << 10) && b % (1UL << 10) == 0)
		snprintf(buf, len, "%zuK", b >> 10);
	else
		snprintf(buf, len, "%zu", b);
}

static const char *group_label(const struct n56pf_group_result *e, char *buf,
			       size_t len)
{
	if (e->kind == N56PF_PP)
		snprintf(buf, len, "pp %ld stages %ld->%ld", e->group, e->stage,
			 e->stage + 1);
	else
		snprintf(buf, len, "%s %ld", n56pf_kind_name(e->kind),
			 e->group);
	return buf;
}

static void judge_group(struct n56pf_report *r, struct n56pf_group_result *e)
{
	int islands[e->n > 0 ? e->n : 1];
	char label[64], list[96], size[24];
	double last;
	int top = r->nsizes - 1;

	for (long i = 0; i < e->n; i++)
		islands[i] = r->ranks[e->ranks[i]].island;
	e->island = e->n > 0 ? islands[0] : -1;
	for (long i = 1; i < e->n; i++)
		if (islands[i] != e->island)
			e->island = -1;
	e->expect_nvlink = e->kind == N56PF_TP &&
			   n56pf_expect_nvlink(islands, e->n, r->degraded);
	for (int i = 0; i < r->nsizes; i++)
		e->busbw[i] = e->measured ? n56pf_busbw(e->kind, e->n,
							(double)r->sizes[i],
							e->time_us[i] * 1e-6)
					  : 0;
	e->threshold = 0;
	if (e->expect_nvlink)
		e->threshold = r->min_tp_busbw;
	else if (e->kind == N56PF_DP)
		e->threshold = r->min_dp_busbw;

	group_label(e, label, sizeof(label));
	n56pf_format_ranks(e->ranks, e->n, list, sizeof(list));
	if (!e->verified) {
		e->verdict = N56PF_FAIL;
		snprintf(e->why, sizeof(e->why), "%s (ranks %s): %s", label,
			 list,
			 e->verify_why[0]
				 ? e->verify_why
				 : "its communicator was not verified");
		return;
	}
	if (!e->measured || top < 0) {
		e->verdict = N56PF_INFO;
		snprintf(e->why, sizeof(e->why),
			 "members verified; not "
			 "measured");
		return;
	}
	last = e->busbw[top];
	human_size(r->sizes[top], size, sizeof(size));
	if (e->threshold > 0 && last < e->threshold) {
		e->verdict = N56PF_FAIL;
		if (e->expect_nvlink)
			snprintf(e->why, sizeof(e->why),
				 "%s (ranks %s, "
				 "island %d) should be on NVLink but reached "
				 "%.1f GB/s at %s, below %.1f GB/s",
				 label, list, e->island, last, size,
				 e->threshold);
		else
			snprintf(e->why, sizeof(e->why),
				 "%s (ranks %s) "
				 "reached %.1f GB/s at %s, below %.1f GB/s",
				 label, list, last, size, e->threshold);
		return;
	}
	if (e->threshold > 0) {
		e->verdict = N56PF_PASS;
		snprintf(e->why, sizeof(e->why),
			 "%.1f GB/s at %s >= %.1f "
			 "GB/s",
			 last, size, e->threshold);
		return;
	}
	e->verdict = N56PF_INFO;
	if (e->kind == N56PF_TP && r->degraded)
		snprintf(e->why, sizeof(e->why),
			 "islands unknown (degraded): "
			 "no NVLink expectation");
	else if (e->kind == N56PF_TP)
		snprintf(e->why, sizeof(e->why),
			 "spans islands: not expected "
			 "on NVLink");
	else
		snprintf(e->why, sizeof(e->why), "no threshold");
}

void n56pf_report_judge(struct n56pf_report *r)
{
	r->verdict = N56PF_PASS;
	for (size_t i = 0; i < r->ngroups; i++) {
		judge_group(r, &r->groups[i]);
		if (r->groups[i].verdict == N56PF_FAIL)
			r->verdict = N56PF_FAIL;
	}
	for (long i = 0; i < r->grid.world; i++)
		if (!r->ranks[i].coords_ok)
			r->verdict = N56PF_FAIL;
}

int n56pf_format_ranks(const long *ranks, long n, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return -1;
	buf[0] = '\0';
	for (long i = 0; i < n;) {
		long j = i;
		char piece[48];
		size_t pl;

		while (j + 1 < n && ranks[j + 1] == ranks[j] + 1)
			j++;
		if (j > i)
			snprintf(piece, sizeof(piece), "%s%ld-%ld",
				 i ? "," : "", ranks[i], ranks[j]);
		else
			snprintf(piece, sizeof(piece), "%s%ld", i ? "," : "",
				 ranks[i]);
		pl = strlen(piece);
		if (used + pl + 4 >= len) {
			/* Keep what fits and say the list goes on. */
			if (used + 4 < len)
				memcpy(buf + used, ",...", 5);
			return -1;
		}
		memcpy(buf + used, piece, pl + 1);
		used += pl;
		i = j + 1;
	}
	return 0;
}

static const char *order_name(const struct n56pf_grid *g)
{
	return g->pp_before_dp ? "tp-cp-ep-pp-dp" : "tp-cp-ep-dp-pp";
}

void n56pf_report_text(FILE *f, const struct n56pf_report *r)
{
	const struct n56pf_grid *g = &r->grid;
	long bad_ranks = 0;
	char size[24], label[64], list[96];

	fprintf(f,
		"nam56r-preflight: %s  world %ld: tp %ld cp %ld dp %ld pp "
		"%ld, ep %ld etp %ld edp %ld, order %s%s%s\n",
		n56pf_verdict_name(r->verdict), g->world, g->tp, g->cp, g->dp,
		g->pp, g->ep, g->etp, g->edp, order_name(g),
		r->nccl_version[0] ? ", NCCL " : "", r->nccl_version);
	fprintf(f, "thresholds: TP on NVLink %.1f GB/s, DP %s", r->min_tp_busbw,
		r->min_dp_busbw > 0 ? "" : "none");
	if (r->min_dp_busbw > 0)
		fprintf(f, "%.1f GB/s", r->min_dp_busbw);
	fprintf(f, "%s\n\n", r->degraded ? "; islands degraded" : "");

	for (long i = 0; i < g->world; i++)
		bad_ranks += !r->ranks[i].coords_ok;
	if (g->world <= 64 || bad_ranks) {
		fprintf(f, "%6s  %-20s %-14s %6s  %s\n", "rank", "host", "gpu",
			"island", "coords");
		for (long i = 0; i < g->world; i++) {
			const struct n56pf_rank_info *ri = &r->ranks[i];

			if (g->world > 64 && ri->coords_ok)
				continue;
			fprintf(f, "%6ld  %-20.20s %-14.14s %6d  %s\n",
				ri->rank, ri->host[0] ? ri->host : "-",
				ri->pci[0] ? ri->pci : "-", ri->island,
				ri->coords_ok ? "ok" : ri->coords_why);
		}
		fprintf(f, "\n");
	}

	fprintf(f, "%-20s %-12s %6s %6s ", "group", "ranks", "island",
		"nvlink");
	for (int i = 0; i < r->nsizes; i++) {
		human_size(r->sizes[i], size, sizeof(size));
		fprintf(f, "%7s", size);
	}
	fprintf(f, " %7s  %s\n", "min", "verdict");
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct n56pf_group_result *e = &r->groups[i];

		n56pf_format_ranks(e->ranks, e->n, list, sizeof(list));
		fprintf(f, "%-20s %-12s ", group_label(e, label, sizeof(label)),
			list);
		if (e->island >= 0)
			fprintf(f, "%6d ", e->island);
		else
			fprintf(f, "%6s ", "mixed");
		fprintf(f, "%6s ",
			e->kind != N56PF_TP ? "-"
			: e->expect_nvlink  ? "yes"
					    : "no");
		for (int j = 0; j < r->nsizes; j++)
			if (e->measured)
				fprintf(f, "%7.1f", e->busbw[j]);
			else
				fprintf(f, "%7s", "-");
		if (e->threshold > 0)
			fprintf(f, " %7.1f", e->threshold);
		else
			fprintf(f, " %7s", "-");
		fprintf(f, "  %s  %s\n", n56pf_verdict_name(e->verdict),
			e->why);
	}
	fprintf(f,
		"\nbus bandwidth in GB/s (nccl-tests convention): "
		"all-reduce for tp/dp, all-to-all for ep,\nsend/recv for pp, "
		"the ring exchange for cp; the slowest rank of each group "
		"counts.\n");
	if (r->verdict == N56PF_FAIL) {
		fprintf(f, "\nFAILED:\n");
		for (long i = 0; i < g->world; i++)
			if (!r->ranks[i].coords_ok)
				fprintf(f, "  rank %ld: %s\n", i,
					r->ranks[i].coords_why);
		for (size_t i = 0; i < r->ngroups; i++)
			if (r->groups[i].verdict == N56PF_FAIL)
				fprintf(f, "  %s\n", r->groups[i].why);
	}
}

static json_t *ranks_array(const long *ranks, long n)
{
	json_t *a = json_array();

	for (long i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer(ranks[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Adds one key; a failed allocation is remembered in *bad. */
static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*bad = true;
}

static json_t *group_json(const struct n56pf_report *r,
			  const struct n56pf_group_result *e, bool *bad)
{
	json_t *o = json_object(), *res = json_array();
	int top = r->nsizes - 1;

	if (!o || !res) {
		json_decref(o);
		json_decref(res);
		*bad = true;
		return NULL;
	}
	put(o, "kind", json_string(n56pf_kind_name(e->kind)), bad);
	put(o, "group", json_integer(e->group), bad);
	if (e->kind == N56PF_PP)
		put(o, "stages",
		    json_pack("[II]", (json_int_t)e->stage,
			      (json_int_t)e->stage + 1),
		    bad);
	put(o, "ranks", ranks_array(e->ranks, e->n), bad);
	put(o, "island", e->island >= 0 ? json_integer(e->island) : json_null(),
	    bad);
	put(o, "expect_nvlink", json_boolean(e->expect_nvlink), bad);
	put(o, "verified", json_boolean(e->verified), bad);
	put(o, "measured", json_boolean(e->measured), bad);
	for (int i = 0; e->measured && i < r->nsizes; i++) {
		json_t *one = json_pack(
			"{sIsfsf}", "bytes", (json_int_t)r->sizes[i], "time_us",
			e->time_us[i], "busbw_gbps", e->busbw[i]);

		if (!one || json_array_append_new(res, one) < 0)
			*bad = true;
	}
	put(o, "results", res, bad);
	put(o, "busbw_gbps",
	    e->measured && top >= 0 ? json_real(e->busbw[top]) : json_null(),
	    bad);
	put(o, "threshold_gbps",
	    e->threshold > 0 ? json_real(e->threshold) : json_null(), bad);
	put(o, "verdict", json_string(n56pf_verdict_name(e->verdict)), bad);
	put(o, "why", json_string(e->why), bad);
	return o;
}

char *n56pf_report_json(const struct n56pf_report *r)
{
	const struct n56pf_grid *g = &r->grid;
	json_t *root = json_object(), *sizes = json_array(),
	       *ranks = json_array(), *groups = json_array();
	bool bad = !root || !sizes || !ranks || !groups;
	char *text = NULL;

	if (bad) {
		json_decref(sizes);
		json_decref(ranks);
		json_decref(groups);
		goto out;
	}
	put(root, "verdict", json_string(n56pf_verdict_name(r->verdict)), &bad);
	put(root, "world", json_integer(g->world), &bad);
	put(root, "parallel",
	    json_pack("{sIsIsIsIsIsIsIss}", "tp", (json_int_t)g->tp, "cp",
		      (json_int_t)g->cp, "dp", (json_int_t)g->dp, "pp",
		      (json_int_t)g->pp, "ep", (json_int_t)g->ep, "etp",
		      (json_int_t)g->etp, "edp", (json_int_t)g->edp, "order",
		      order_name(g)),
	    &bad);
	put(root, "nccl_version", json_string(r->nccl_version), &bad);
	put(root, "plan_sha256",
	    r->plan_sha256[0] ? json_string(r->plan_sha256) : json_null(),
	    &bad);
	put(root, "islands_degraded", json_boolean(r->degraded), &bad);
	put(root, "thresholds",
	    json_pack("{s:o,s:o}", "min_tp_busbw_gbps",
		      r->min_tp_busbw > 0 ? json_real(r->min_tp_busbw)
					  : json_null(),
		      "min_dp_busbw_gbps",
		      r->min_dp_busbw > 0 ? json_real(r->min_dp_busbw)
					  : json_null()),
	    &bad);
	for (int i = 0; i < r->nsizes; i++)
		if (json_array_append_new(
			    sizes, json_integer((json_int_t)r->sizes[i])))
			bad = true;
	put(root, "sizes", sizes, &bad);
	for (long i = 0; i < g->world; i++) {
		const struct n56pf_rank_info *ri = &r->ranks[i];
		json_t *o = json_pack("{sIsssssisisb}", "rank",
				      (json_int_t)ri->rank, "host", ri->host,
				      "gpu_pci", ri->pci, "island", ri->island,
				      "local_rank", ri->local_rank, "coords_ok",
				      ri->coords_ok);

		if (o && !ri->coords_ok)
			put(o, "why", json_string(ri->coords_why), &bad);
		if (!o || json_array_append_new(ranks, o) < 0)
			bad = true;
	}
	put(root, "ranks", ranks, &bad);
	for (size_t i = 0; i < r->ngroups; i++) {
		json_t *o = group_json(r, &r->groups[i], &bad);

		if (!o || json_array_append_new(groups, o) < 0)
			bad = true;
	}
	put(root, "groups", groups, &bad);
	if (!bad)
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(root);
	return text;
}
