/* The text plan's picture of the placement: nodes x GPUs, island borders,
 * each GPU with its rank, TP group and PP stage; colour on a terminal. */
#ifndef NAM56R_PICTURE_H
#define NAM56R_PICTURE_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/plan.h"
#include "topology/placement.h"

/* Prints at most max_nodes nodes (then a "... N more nodes" line). */
int n56_placement_picture(FILE *f, const struct n56_plan *plan,
			  const struct n56_placer *pl,
			  const struct n56_node_shape *shape, bool color,
			  long max_nodes);

#endif
