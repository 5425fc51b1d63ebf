/* Cost model and pipeline split of a NAM56R-family model (policy/cost.c,
 * policy/layout.c; the split's solver is policy/partition.c). Costs are
 * FLOPs per token, forward + backward, estimated from the recipe's
 * dimensions; memory is parameters. The formulas are in policy/cost.c and
 * in nam56r.yaml(5), PIPELINE LAYOUT. Pure: never prints. */
#ifndef NAM56R_COST_H
#define NAM56R_COST_H

#include "policy/partition.h"
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
	double *flops;		     /* depth entries */
	double *params;		     /* depth entries */
	struct n56_block_cost first; /* embedding, on pipeline stage 0 */
	struct n56_block_cost last;  /* head + loss + MTP, on the last stage */
	double total_params;	     /* layers + first + last */
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
