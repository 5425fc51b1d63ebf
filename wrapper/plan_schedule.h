/* plan's schedule section and the pp/vpp advice, in text and JSON, and
 * the SVG picture of the placement and one iteration
 * (wrapper/plan_schedule.c, wrapper/plan_svg.c). */
#ifndef NAM56R_PLAN_SCHEDULE_H
#define NAM56R_PLAN_SCHEDULE_H

#include <jansson.h>
#include <stdio.h>

#include "policy/advisor.h"
#include "policy/plan.h"
#include "topology/placement.h"

void n56_print_schedule(FILE *f, const struct n56_plan *p,
			const struct n56_advice *a);
json_t *n56_schedule_json(const struct n56_plan *p, const struct n56_advice *a);
/* "pp 2 vpp 1 would take 12% less per iteration (bubble 4% vs 19%)", or
 * why the recipe's shape stands. */
void n56_advice_verdict(const struct n56_advice *a, char *buf, size_t len);

/* Writes the SVG document (where the schedule was not simulated, the
 * placement and why); returns -1 with err on a write error. */
int n56_plan_svg(FILE *f, const struct n56_plan *p, const struct n56_placer *pl,
		 const struct n56_node_shape *shape, char *err, size_t errlen);

#endif
