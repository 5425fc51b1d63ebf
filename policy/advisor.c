/* The pp/vpp advisor (policy/advisor.h). Each other shape is a whole
 * plan of a copy of the recipe with parallelism.pp and vpp replaced and
 * no hand split (that belongs to the recipe's own shape), so it obeys
 * every rule the recipe's shape obeys. */
#include "policy/advisor.h"
#include "policy/cost.h"
#include "policy/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void from_layout(struct n56_alternative *a, const struct n56_plan *p)
{
	const struct n56_layout_schedule *s = &p->layout.sched;

	a->dp = p->par.dp;
	a->mem_share = 0;
	for (long r = 0; r < p->par.pp; r++) {
		double share = 0;

		for (int i = 0; i < p->layout.nstages; i++)
			if (p->layout.stages[i].pp == r)
				share += p->layout.stages[i].mem_share;
		if (share > a->mem_share)
			a->mem_share = share;
	}
	a->m = s->microbatches;
	a->exact = p->layout.split_exact;
	if (!s->simulated) {
		a->valid = false;
		snprintf(a->why, sizeof(a->why), "not simulated: %s", s->why);
		return;
	}
	a->valid = true;
	a->time_s = s->time_s;
	a->ideal_s = s->ideal_s;
	a->bubble = s->time_s > 0 ? 1 - s->ideal_s / s->time_s : 0;
}

static void plan_shape(const struct n56_plan *plan, struct n56_alternative *a)
{
	struct n56_recipe copy = *plan->recipe;
	struct n56_plan_request req = { plan->nodes, plan->gpus_per_node };
	struct n56_diags d = { 0 };
	struct n56_plan *alt = NULL;

	/* a shallow copy: n56_plan_build only reads the recipe */
	copy.parallel.pp.v = a->pp;
	copy.parallel.pp.set = true;
	copy.parallel.vpp.v = a->vpp;
	copy.parallel.vpp.set = true;
	copy.layout.segments.set = false;
	if (n56_plan_build(&copy, plan->policy, &req, &alt, &d)) {
		a->valid = false;
		snprintf(a->why, sizeof(a->why), "%s",
			 d.n && d.v[0].msg ? d.v[0].msg : "not planned");
	} else {
		from_layout(a, alt);
	}
	n56_plan_free(alt);
	n56_diags_free(&d);
}

void n56_advice_free(struct n56_advice *a)
{
	if (!a)
		return;
	free(a->v);
	memset(a, 0, sizeof(*a));
}

int n56_plan_advise(const struct n56_plan *plan, struct n56_advice *out)
{
	const struct n56_parallel *par = &plan->par;
	long grid = par->tp * par->cp, ranks, cap = 1;
	unsigned long saved, saved_stage;
	int depth = plan->layout.depth;

	memset(out, 0, sizeof(*out));
	out->best = -1;
	if (grid < 1 || par->world % grid)
		return 0;
	ranks = par->world / grid;
	for (long pp = 1; pp <= ranks && pp <= depth; pp++)
		if (ranks % pp == 0)
			cap += N56_ADVISOR_MAX_VPP;
	out->v = calloc((size_t)cap, sizeof(*out->v));
	if (!out->v)
		return -1;
	out->v[0] = (struct n56_alternative){ .pp = par->pp,
					      .vpp = par->vpp,
					      .current = true };
	from_layout(&out->v[0], plan);
	out->n = 1;
	saved = n56_sched_split_budget;
	saved_stage = n56_split_budget;
	if (saved > N56_ADVISOR_BUDGET)
		n56_sched_split_budget = N56_ADVISOR_BUDGET;
	if (saved_stage > N56_ADVISOR_BUDGET)
		n56_split_budget = N56_ADVISOR_BUDGET;
	for (long pp = 1; pp <= ranks && pp <= depth; pp++) {
		if (ranks % pp)
			continue;
		for (long vpp = 1; vpp <= N56_ADVISOR_MAX_VPP; vpp++) {
			struct n56_alternative *a = &out->v[out->n];

			if (vpp > 1 && pp < 2)
				break;
			if (pp * vpp > depth)
				break;
			if (pp == par->pp && vpp == par->vpp)
				continue;
			*a = (struct n56_alternative){ .pp = pp, .vpp = vpp };
			plan_shape(plan, a);
			out->n++;
		}
	}
	n56_sched_split_budget = saved;
	n56_split_budget = saved_stage;
	for (size_t i = 1; i < out->n; i++)
		out->v[i].more_memory =
			out->v[i].mem_share > out->v[0].mem_share * 1.10;
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].valid &&
		    (!out->v[i].more_memory || out->v[i].pp == par->pp) &&
		    (out->best < 0 ||
		     out->v[i].time_s < out->v[out->best].time_s))
			out->best = (long)i;
	return 0;
}
