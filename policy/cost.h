/* Cost model and pipeline split of a NAM56R-family model (policy/cost.c,
 * policy/layout.c). Costs are FLOPs per token, forward + backward, estimated
 * from the recipe's dimensions; memory is parameters. The formulas are in
 * policy/cost.c and in man/layout.txt. Pure: never prints. */
#ifndef NAM56R_COST_H
#define NAM56R_COST_H

#include "policy/plan.h"

/* One block: work per token and the parameters it holds. */
struct n56_block_cost {
	double flops;  /* per token, forward + backward (3x forward) */
	double params; /* parameter count */
};

/* What the split needs: a cost per depth layer, the fixed extras of the
 * first segment (embedding) and of the last (output layer, loss, MTP). */
struct n56_layer_costs {
	int depth;
	double *flops;  /* depth entries */
	double *params; /* depth entries */
	struct n56_block_cost first; /* embedding, on pipeline stage 0 */
	struct n56_block_cost last;  /* head + loss + MTP, on the last stage */
	double total_params;         /* layers + first + last */
};

/* Per-family blocks from the recipe's dimensions (no overrides applied).
 * `dsa` selects the DeepSeek sparse attention variant of an A block. */
struct n56_block_cost n56_cost_attention(const struct n56_recipe *r, bool dsa);
struct n56_block_cost n56_cost_mamba(const struct n56_recipe *r);
struct n56_block_cost n56_cost_moe(const struct n56_recipe *r);
struct n56_block_cost n56_cost_recurrent(const struct n56_recipe *r);
struct n56_block_cost n56_cost_embedding(const struct n56_recipe *r);
struct n56_block_cost n56_cost_output(const struct n56_recipe *r);
/* One MTP depth: projection + its pattern's layers + the output layer. */
struct n56_block_cost n56_cost_mtp_depth(const struct n56_recipe *r);

/* Fills *c for the tiled layers of l (l->tiled, l->dsa_a_layer_ranks),
 * applying the recipe's layout.cost overrides. Returns -1 with a diag when
 * an override is not a positive finite number or a letter is unknown. */
int n56_layer_costs_build(const struct n56_recipe *r,
			  const struct n56_layout *l, struct n56_layer_costs *c,
			  struct n56_diags *d);
void n56_layer_costs_free(struct n56_layer_costs *c);

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
 * (policy/layout.c gives the exact order). Returns 0, or -1 when
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

/* The schedule model of a split (policy/layout_schedule.c): reads the
 * recipe's layout.backward_ratio, p2p_latency_us and gpu_tflops, the
 * microbatch count global / (micro x dp), simulates the split in sizes,
 * the equal-count split, and, unless hand is set, replaces sizes by the
 * split of least simulated time (sizes on entry is its incumbent and the
 * stage-balanced split kept in out->balanced_sizes). When the schedule
 * cannot be simulated (a batch or schedule rule the validation reports),
 * out->simulated is false with the reason and sizes is kept. Returns -1
 * with a diag for a bad layout key or no memory. */
int n56_layout_schedule(const struct n56_recipe *r,
			const struct n56_parallel *par,
			const struct n56_layer_costs *costs, int *sizes,
			bool hand, struct n56_layout_schedule *out,
			struct n56_diags *d);

#endif
