/* The pp/vpp advisor: the recipe's shape beside the other pipeline
 * shapes the allocation allows (same tp, cp, ep and batch; pp dividing
 * world / (tp x cp), any vpp the depth allows up to 8), each planned and
 * simulated by the same model (policy/advisor.c). Pure: never prints;
 * the recipe is never changed. */
#ifndef NAM56R_ADVISOR_H
#define NAM56R_ADVISOR_H

#include "policy/plan.h"

struct n56_alternative {
	long pp, vpp, dp, m;
	bool current;  /* the recipe's own shape */
	bool valid;    /* planned and simulated; else why */
	char why[256]; /* the first reason it is not (a plan error) */
	double time_s, ideal_s, bubble; /* bubble: 1 - ideal / time */
	bool exact;			/* its split search finished */
	double mem_share; /* most parameters one rank holds, of the model */
	bool more_memory; /* more than the recipe's shape: not advised,
			     since the model does not know the memory */
};

struct n56_advice {
	struct n56_alternative *v; /* the current shape first */
	size_t n;
	long best; /* index of the fastest valid shape; -1: none */
};

/* Plans each shape. The fastest is the quickest valid one of the
 * recipe's pp, or of another pp whose ranks hold at most 10% more
 * parameters than the recipe's (another vpp only moves chunks; fewer
 * stages may not fit, and the model does not know the memory) for plan's recipe, policy and allocation. Returns 0,
 * or -1 when out of memory. */
int n56_plan_advise(const struct n56_plan *plan, struct n56_advice *out);
void n56_advice_free(struct n56_advice *a);

#define N56_ADVISOR_MAX_VPP 8
/* Work limit of each other shape's split searches, the stage-balanced one
 * and the schedule's (the recipe's own shape gets n56_split_budget and
 * n56_sched_split_budget): the advice must stay quick. */
#define N56_ADVISOR_BUDGET 200000ul

#endif
