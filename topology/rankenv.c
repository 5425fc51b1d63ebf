/* The per-rank environment: identity from the placement, then the plan's
 * fixed policy and patch surface. The plugin's task_init and the wrapper
 * both call this, so a rank sees the same env whichever of them ran. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"
#include "topology/rankenv.h"
#include "topology/util.h"

static int env_add(struct n56_env *e, size_t *cap, const char *name,
		   const char *value, enum n56_origin origin, const char *why)
{
	struct n56_env_entry *ent;

	if (e->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct n56_env_entry *v = realloc(e->v, ncap * sizeof(*v));

		if (!v)
			return -1;
		e->v = v;
		*cap = ncap;
	}
	ent = &e->v[e->n];
	ent->name = strdup(name);
	ent->value = strdup(value ? value : "");
	ent->why = why ? strdup(why) : NULL;
	ent->origin = origin;
	e->n++; /* counted even when a copy failed, so clear frees it */
	if (!ent->name || !ent->value || (why && !ent->why))
		return -1;
	return 0;
}

static int env_add_long(struct n56_env *e, size_t *cap, const char *name,
			long v, const char *why)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return env_add(e, cap, name, buf, N56_ORIGIN_DERIVED, why);
}

static int env_copy(struct n56_env *e, size_t *cap, const struct n56_env *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (env_add(e, cap, src->v[i].name, src->v[i].value,
			    src->v[i].origin, src->v[i].why) < 0)
			return -1;
	return 0;
}

/* Own lookup rather than policy's n56_env_find: the plugin links only what
 * it needs, and this is three lines. */
static bool env_has(const struct n56_env *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0)
			return true;
	return false;
}

int n56_rank_env(const struct n56_plan *plan, const struct n56_placer *pl,
		 long rank, const char *master_addr, int master_port,
		 const char *nic, struct n56_env *out, char *err, size_t errlen)
{
	static const char placed[] = "placement of this rank";
	struct n56_rank_place p;
	struct n56_env e = { 0 };
	size_t cap = 0;
	char devices[N56_MAX_GPUS_PER_NODE * 3 + 1];
	const char *nic_env = NULL;
	long world;
	int rc = -1;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!plan || !pl || !out) {
		n56_set_err(err, errlen,
			    "the rank environment needs a plan, a "
			    "placement and a result");
		return -1;
	}
	world = n56_placer_parallel(pl)->world;
	if (rank < 0 || rank >= world) {
		n56_set_err(err, errlen,
			    "rank %ld is outside 0..%ld of the plan", rank,
			    world - 1);
		return -1;
	}
	if (!master_addr || !*master_addr) {
		n56_set_err(err, errlen,
			    "no master address: pass the first host "
			    "of the job's node list");
		return -1;
	}
	if (master_port < 1 || master_port > 65535) {
		n56_set_err(err, errlen,
			    "master port %d is outside 1..65535; set "
			    "record.master_port in the site policy",
			    master_port);
		return -1;
	}
	if (n56_visible_devices(pl, devices, sizeof(devices)) < 0) {
		n56_set_err(err, errlen, "CUDA_VISIBLE_DEVICES does not fit");
		return -1;
	}
	n56_place_rank(pl, rank, &p);
	if (nic && plan->policy && plan->policy->topology.nic_env.v &&
	    *plan->policy->topology.nic_env.v)
		nic_env = plan->policy->topology.nic_env.v;

	if (env_add_long(&e, &cap, "RANK", rank, placed) < 0 ||
	    env_add_long(&e, &cap, "WORLD_SIZE", world, placed) < 0 ||
	    env_add_long(&e, &cap, "LOCAL_RANK", p.local_rank, placed) < 0 ||
	    env_add_long(&e, &cap, "LOCAL_WORLD_SIZE", n56_placer_gpus(pl),
			 placed) < 0 ||
	    env_add_long(&e, &cap, "GROUP_RANK", p.node, placed) < 0 ||
	    env_add(&e, &cap, "MASTER_ADDR", master_addr, N56_ORIGIN_DERIVED,
		    "first host of the job") < 0 ||
	    env_add_long(&e, &cap, "MASTER_PORT", master_port,
			 "site policy record.master_port") < 0 ||
	    env_add(&e, &cap, "CUDA_VISIBLE_DEVICES", devices,
		    N56_ORIGIN_DERIVED,
		    "GPU of local rank 0, 1, ...: LOCAL_RANK selects the "
		    "placed GPU") < 0 ||
	    env_add_long(&e, &cap, N56_ENV_TP_RANK, p.tp, placed) < 0 ||
	    env_add_long(&e, &cap, N56_ENV_CP_RANK, p.cp, placed) < 0 ||
	    env_add_long(&e, &cap, N56_ENV_EP_RANK, p.ep, placed) < 0 ||
	    env_add_long(&e, &cap, N56_ENV_DP_RANK, p.dp, placed) < 0 ||
	    env_add_long(&e, &cap, N56_ENV_PP_RANK, p.pp, placed) < 0 ||
	    env_add_long(&e, &cap, N56_ENV_ISLAND, p.island, placed) < 0 ||
	    env_add(&e, &cap, N56_ENV_PLAN_SHA, plan->plan_sha256_hex,
		    N56_ORIGIN_DERIVED,
		    "hash of the plan every rank runs") < 0 ||
	    env_copy(&e, &cap, &plan->fixed_policy) < 0 ||
	    env_copy(&e, &cap, &plan->patch_surface) < 0)
		goto nomem;
	/* A value the site pinned under the same name wins over the
	 * discovered NIC. */
	if (nic_env && !env_has(&plan->fixed_policy, nic_env) &&
	    env_add(&e, &cap, nic_env, nic, N56_ORIGIN_DERIVED,
		    "nearest NIC of the placed GPU (topology.nic_env)") < 0)
		goto nomem;
	*out = e;
	memset(&e, 0, sizeof(e));
	rc = 0;
	goto out;
nomem:
	n56_set_err(err, errlen, "rank environment: %s", strerror(ENOMEM));
out:
	n56_env_clear(&e);
	return rc;
}

/* n56_env_clear is policy/env.c's: the plan's own env lists need it, and
 * policy/ cannot depend on topology/. */
