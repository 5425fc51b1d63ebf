/* Pipeline split of the tiled layers into pp*vpp contiguous segments, the
 * stage table, and the native pattern with `|` bars and the `/` MTP
 * suffix (Megatron's hybrid pattern rules: segments % pp == 0,
 * vpp = segments / pp, MTP on the last pipeline stage).
 *
 * Segment s is virtual chunk v = s / pp of pipeline stage p = s % pp, as
 * Megatron interleaves model chunks. A physical stage costs the sum of its
 * vpp segments, plus the embedding on stage 0 (first segment) and the
 * output layer, loss and MTP depths on the last segment's stage. */
#include "policy/cost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The native symbol of an MTP block letter; -1 for letters Megatron's MTP
 * cannot carry. */
static int mtp_symbol(const struct n56_recipe *r, char ch)
{
	switch (ch) {
	case 'A':
		return r->model.attention.mla.enabled.v ? '+' : '*';
	case 'E':
		return 'E';
	case 'M':
		return 'M';
	default:
		return -1;
	}
}

static void check_mtp(const struct n56_recipe *r, struct n56_diags *d)
{
	const struct n56_str *pat = &r->model.mtp.pattern;
	long depths = r->model.mtp.depths.v;

	if (depths < 0) {
		n56_diag_add(d, r->path, r->model.mtp.depths.pos,
			     "model.mtp.depths is %ld: give 0 (no MTP) or a "
			     "positive number of MTP depths",
			     depths);
		return;
	}
	if (depths == 0)
		return;
	if (!pat->v || !*pat->v) {
		n56_diag_add(d, r->path, r->model.mtp.depths.pos,
			     "model.mtp.depths is %ld but model.mtp.pattern "
			     "is empty: give the letters of one MTP depth "
			     "(e.g. AE) or set depths to 0",
			     depths);
		return;
	}
	for (const char *c = pat->v; *c; c++) {
		if (mtp_symbol(r, *c) >= 0)
			continue;
		if (*c == '|')
			n56_diag_add(d, r->path, pat->pos,
				     "model.mtp.pattern \"%s\" contains '|': "
				     "MTP sits whole on the last pipeline "
				     "stage, remove the bar",
				     pat->v);
		else if (*c == 'R')
			n56_diag_add(d, r->path, pat->pos,
				     "model.mtp.pattern \"%s\" contains R: "
				     "Megatron's MTP layers have no "
				     "recurrent mixer, use A, E or M",
				     pat->v);
		else
			n56_diag_add(d, r->path, pat->pos,
				     "model.mtp.pattern \"%s\" has unknown "
				     "letter '%c': use A, E or M",
				     pat->v, *c);
		return;
	}
}

/* A hand-written split (layout.segments): one count per segment, adding
 * up to the depth. A segment may be empty: Megatron's hybrid pattern
 * allows `||`, and a hand split may want it (e.g. a light first stage). */
static void check_hand_split(const struct n56_recipe *r, long nseg,
			     const struct n56_parallel *par, int depth,
			     struct n56_diags *d)
{
	const struct n56_intlist *seg = &r->layout.segments;
	long sum = 0;

	if ((long)seg->n != nseg) {
		n56_diag_add(d, r->path, seg->pos,
			     "layout.segments has %zu entries but pp %ld x "
			     "vpp %ld = %ld segments: give one layer count "
			     "per segment",
			     seg->n, par->pp, par->vpp, nseg);
		return;
	}
	for (size_t i = 0; i < seg->n; i++)
		sum += seg->v[i]; /* the parser keeps each in 0..INT32_MAX */
	if (sum != depth)
		n56_diag_add(d, r->path, seg->pos,
			     "layout.segments adds up to %ld layers but the "
			     "depth is %d: the counts must add up to the "
			     "depth",
			     sum, depth);
}

static struct n56_pos split_pos(const struct n56_recipe *r,
				const struct n56_parallel *par)
{
	if (par->vpp > 1 && r->parallel.vpp.set)
		return r->parallel.vpp.pos;
	return r->parallel.pp.pos;
}

/* Per-layer symbols with `|` between segments (when there is more than
 * one) and `/` + the MTP depth's symbols per MTP depth. */
static char *native_with_bars(const struct n56_recipe *r, const char *syms,
			      const int *sizes, int nseg)
{
	const char *mtp = r->model.mtp.pattern.v ? r->model.mtp.pattern.v : "";
	long depths = r->model.mtp.depths.v > 0 ? r->model.mtp.depths.v : 0;
	size_t len = strlen(syms) + (size_t)nseg +
		     (size_t)depths * (strlen(mtp) + 1) + 1;
	char *out = malloc(len), *o = out;
	int at = 0;

	if (!out)
		return NULL;
	for (int s = 0; s < nseg; s++) {
		if (s > 0 && nseg > 1)
			*o++ = '|';
		memcpy(o, syms + at, (size_t)sizes[s]);
		o += sizes[s];
		at += sizes[s];
	}
	for (long k = 0; k < depths; k++) {
		*o++ = '/';
		for (const char *c = mtp; *c; c++)
			*o++ = (char)mtp_symbol(r, *c);
	}
	*o = '\0';
	return out;
}

static void free_stages(struct n56_layout *l)
{
	for (int s = 0; s < l->nstages; s++)
		free(l->stages[s].letters);
	free(l->stages);
	l->stages = NULL;
	l->nstages = 0;
}

/* Most expensive physical stage over the mean. */
static double imbalance(const struct n56_split_problem *pb, const int *sizes,
			double *stage_cost)
{
	double worst = n56_split_stage_costs(pb, sizes, stage_cost), sum = 0;

	for (int p = 0; p < pb->pp; p++)
		sum += stage_cost[p];
	return sum > 0 ? worst / (sum / pb->pp) : 1.0;
}

int n56_layout_split(const struct n56_recipe *r, const struct n56_parallel *par,
		     struct n56_layout *l, struct n56_diags *d)
{
	struct n56_layer_costs costs = { 0 };
	struct n56_split_problem pb;
	size_t errs = d->n;
	int *sizes = NULL, *naive = NULL;
	double *stage_cost = NULL;
	long nseg;
	char *native = NULL;
	int rc = -1, at = 0;
	bool exact = true; /* a hand split is taken as written */

	if (par->pp < 1 || par->vpp < 1) {
		n56_diag_add(d, r->path, split_pos(r, par),
			     "pp %ld x vpp %ld: both must be at least 1",
			     par->pp, par->vpp);
		return -1;
	}
	nseg = par->pp * par->vpp;
	if (nseg > l->depth)
		n56_diag_add(d, r->path, split_pos(r, par),
			     "pp %ld x vpp %ld = %ld segments but depth is "
			     "%d: each segment needs at least one layer",
			     par->pp, par->vpp, nseg, l->depth);
	check_mtp(r, d);
	if (r->layout.segments.set)
		check_hand_split(r, nseg, par, l->depth, d);
	if (!l->tiled || (int)strlen(l->tiled) != l->depth ||
	    !l->native_pattern || (int)strlen(l->native_pattern) != l->depth)
		n56_diag_add(d, r->path, r->model.pattern.pos,
			     "internal: the layout is not tiled to depth %d "
			     "before the split",
			     l->depth);
	if (d->n > errs)
		return -1;
	if (n56_layer_costs_build(r, l, &costs, d) < 0)
		return -1;

	pb = (struct n56_split_problem){
		.w = costs.flops,
		.n = l->depth,
		.first = costs.first.flops,
		.last = costs.last.flops,
		.pp = (int)par->pp,
		.vpp = (int)par->vpp,
	};
	sizes = calloc((size_t)nseg, sizeof(int));
	naive = calloc((size_t)nseg, sizeof(int));
	stage_cost = calloc((size_t)par->pp, sizeof(double));
	if (!sizes || !naive || !stage_cost)
		goto oom;
	n56_split_equal(l->depth, (int)nseg, naive);
	if (r->layout.segments.set) {
		for (long s = 0; s < nseg; s++)
			sizes[s] = (int)r->layout.segments.v[s];
	} else if (n56_split_balanced_ex(&pb, sizes, &exact) < 0) {
		goto oom;
	}
	/* the schedule model picks the split of least iteration time,
	 * starting from the stage-balanced one */
	if (n56_layout_schedule(r, par, &costs, sizes, r->layout.segments.set,
				&l->sched, d) < 0)
		goto out;
	if (l->sched.simulated && !r->layout.segments.set)
		exact = l->sched.exact;
	native = native_with_bars(r, l->native_pattern, sizes, (int)nseg);
	if (!native)
		goto oom;

	free_stages(l);
	l->stages = calloc((size_t)nseg, sizeof(*l->stages));
	if (!l->stages)
		goto oom;
	l->nstages = (int)nseg;
	for (long s = 0; s < nseg; s++) {
		struct n56_stage *st = &l->stages[s];
		double params = 0;

		st->pp = (int)(s % par->pp);
		st->vpp = (int)(s / par->pp);
		st->first = at;
		st->count = sizes[s];
		st->letters = strndup(l->tiled + at, (size_t)sizes[s]);
		if (!st->letters)
			goto oom;
		for (int i = at; i < at + sizes[s]; i++) {
			st->cost += costs.flops[i];
			params += costs.params[i];
		}
		if (s == 0) {
			st->cost += costs.first.flops;
			params += costs.first.params;
		}
		if (s == nseg - 1) {
			st->cost += costs.last.flops;
			params += costs.last.params;
		}
		st->mem_share = costs.total_params > 0
					? params / costs.total_params
					: 0;
		at += sizes[s];
	}
	l->imbalance_balanced = imbalance(&pb, sizes, stage_cost);
	l->imbalance_naive = imbalance(&pb, naive, stage_cost);
	l->hand_split = r->layout.segments.set;
	l->split_exact = exact;
	free(l->native_pattern);
	l->native_pattern = native;
	native = NULL;
	rc = 0;
	goto out;
oom:
	n56_diag_add(d, r->path, (struct n56_pos){ 0, 0 },
		     "out of memory while splitting the layers");
out:
	free(native);
	free(sizes);
	free(naive);
	free(stage_cost);
	n56_layer_costs_free(&costs);
	return rc;
}
