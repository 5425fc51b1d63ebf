/* The pipeline split as a generic min-max partition (policy/partition.c):
 * n items of weight w[] (layers of a cost) into pp*vpp contiguous
 * non-empty segments, segment s in group (pipeline stage) s % pp. Knows
 * nothing of recipes or models. Pure: never prints. */
#ifndef NAM56R_PARTITION_H
#define NAM56R_PARTITION_H

#include <stdbool.h>

/* The pipeline split problem: n layers of cost w[], `first` added to
 * segment 0, `last` to segment pp*vpp-1; segment s runs on stage s % pp.
 * Stage cost = sum of its segments. */
struct n56_split_problem {
	const double *w;
	int n;
	double first, last;
	int pp, vpp;
};

/* Equal layer counts: sizes differ by at most one, the larger first. */
void n56_split_equal(int n, int nseg, int *sizes);
/* Exact minimum of the most expensive stage over all splits into pp*vpp
 * contiguous non-empty segments; among those, the least most expensive
 * segment (with its extras), then the least next most expensive one;
 * remaining ties go to the split nearest the cost-proportional one
 * (policy/partition.c gives the exact order). Returns 0, or -1 when
 * n < pp*vpp or memory runs out. */
int n56_split_balanced(const struct n56_split_problem *pb, int *sizes);
/* The same; *exact is false when a search phase stopped after
 * n56_split_budget steps (then sizes is the best split found so far, at
 * worst the better of the equal and proportional splits; when only the
 * segment phase stopped, its stages are still optimal). */
int n56_split_balanced_ex(const struct n56_split_problem *pb, int *sizes,
			  bool *exact);
/* Work limit of each of the two search phases (the stage phase, the
 * segment phase), in steps (candidate ends and round starts tried): a
 * submission must not hang on a pathological shape. A count, not a
 * clock, so that the same recipe always gets the same plan. */
extern unsigned long n56_split_budget;
/* Stage costs (pp entries) of a split; returns the most expensive. */
double n56_split_stage_costs(const struct n56_split_problem *pb,
			     const int *sizes, double *stage_cost);

#endif
