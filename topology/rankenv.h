/* The per-rank environment (spank_nam56r(8), ENVIRONMENT), computed the
 * same way by the plugin (task_init) and by the wrapper when no plugin
 * ran. */
#ifndef NAM56R_RANKENV_H
#define NAM56R_RANKENV_H

#include "policy/plan.h"
#include "topology/placement.h"

/* Fills out with, in this order: RANK WORLD_SIZE LOCAL_RANK LOCAL_WORLD_SIZE
 * GROUP_RANK MASTER_ADDR MASTER_PORT CUDA_VISIBLE_DEVICES NAM56R_TP_RANK
 * NAM56R_CP_RANK NAM56R_EP_RANK NAM56R_DP_RANK NAM56R_PP_RANK NAM56R_ISLAND
 * NAM56R_PLAN_SHA256, then the plan's fixed policy, then its patch surface.
 * nic may be NULL (then the policy's nic_env is not set). Returns -1 with a
 * message in err on failure. Free with n56_env_clear. */
int n56_rank_env(const struct n56_plan *plan, const struct n56_placer *pl,
		 long rank, const char *master_addr, int master_port,
		 const char *nic, struct n56_env *out, char *err,
		 size_t errlen);
void n56_env_clear(struct n56_env *e);

#endif
