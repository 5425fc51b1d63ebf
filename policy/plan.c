/* The plan: tile, size, validate, split, translate, merge env. Every step
 * runs even after an earlier one found violations, so that the user sees
 * all of them at once; only the output is withheld. */
#include "config.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/plan.h"
#include "policy/memory.h"

static void hash_line(struct sha256_ctx *c, const char *a, const char *b)
{
	sha256_update(c, strlen(a), (const uint8_t *)a);
	if (b) {
		sha256_update(c, 1, (const uint8_t *)"=");
		sha256_update(c, strlen(b), (const uint8_t *)b);
	}
	sha256_update(c, 1, (const uint8_t *)"\n");
}

/* What every rank runs: the recipe's exact bytes (by their hash), the
 * argv and both env surfaces. */
static void plan_hash(struct n56_plan *plan)
{
	struct sha256_ctx c;
	uint8_t dig[SHA256_DIGEST_SIZE];

	sha256_init(&c);
	hash_line(&c, plan->recipe->sha256_hex, NULL);
	for (size_t i = 0; i < plan->ncommand; i++)
		hash_line(&c, plan->command[i], NULL);
	hash_line(&c, "--", NULL);
	for (size_t i = 0; i < plan->argc; i++)
		hash_line(&c, plan->argv[i], NULL);
	for (size_t i = 0; i < plan->fixed_policy.n; i++)
		hash_line(&c, plan->fixed_policy.v[i].name,
			  plan->fixed_policy.v[i].value);
	for (size_t i = 0; i < plan->patch_surface.n; i++)
		hash_line(&c, plan->patch_surface.v[i].name,
			  plan->patch_surface.v[i].value);
	sha256_digest(&c, sizeof(dig), dig);
	for (size_t i = 0; i < sizeof(dig); i++)
		snprintf(plan->plan_sha256_hex + 2 * i, 3, "%02x", dig[i]);
}

static int copy_command(struct n56_plan *plan, const struct n56_recipe *r)
{
	const struct n56_strlist *c = &r->runtime.command;

	plan->command = calloc(c->n + 1, sizeof(char *));
	if (!plan->command)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		plan->command[i] = strdup(c->v[i]);
		if (!plan->command[i])
			return -1;
		plan->ncommand++;
	}
	return 0;
}

/* The generated flag named by word ("--flag" or "--flag=value"), as an
 * index into the generated part of argv, or -1. */
static long generated_flag(char *const *gen, size_t ngen, const char *word)
{
	size_t len;

	if (strncmp(word, "--", 2) || !word[2])
		return -1;
	len = strcspn(word, "=");
	for (size_t i = 0; i < ngen; i++)
		if (!strncmp(gen[i], "--", 2) && strlen(gen[i]) == len &&
		    !strncmp(gen[i], word, len))
			return (long)i;
	return -1;
}

/* runtime.extra_args obeys the rule of ARGS after `--`: a flag the
 * translation generated is the recipe's, never given again, with or
 * without a value. The list is what the translation produced, so every
 * flag it learns to generate is covered. */
static int check_extra_args(const struct n56_recipe *r,
			    const struct n56_plan *plan, struct n56_diags *d)
{
	const struct n56_strlist *x = &r->runtime.extra_args;
	size_t ngen = plan->argc - x->n;
	int bad = 0;

	for (size_t i = 0; i < x->n; i++) {
		long g = x->v[i] ? generated_flag(plan->argv, ngen, x->v[i])
				 : -1;
		const char *val;

		if (g < 0)
			continue;
		val = (size_t)g + 1 < ngen &&
				      strncmp(plan->argv[g + 1], "--", 2)
			      ? plan->argv[g + 1]
			      : NULL;
		n56_diag_add(d, r->path, x->item_pos ? x->item_pos[i] : x->pos,
			     "runtime.extra_args: %.*s is generated from the "
			     "recipe (the plan gives '%s%s%s'): change the "
			     "recipe key, not extra_args",
			     (int)strcspn(x->v[i], "="), x->v[i], plan->argv[g],
			     val ? " " : "", val ? val : "");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* The split needs sane sizes and a tiled pattern; the validation has
 * already reported why they are not. */
static bool split_possible(const struct n56_parallel *par,
			   const struct n56_layout *l)
{
	return l->tiled && par->pp >= 1 && par->vpp >= 1 &&
	       (par->vpp == 1 || par->pp > 1) && par->pp <= l->depth &&
	       par->vpp <= l->depth && par->pp * par->vpp <= l->depth;
}

int n56_plan_build(const struct n56_recipe *r, const struct n56_policy *p,
		   const struct n56_plan_request *req, struct n56_plan **out,
		   struct n56_diags *d)
{
	return n56_plan_build_mem(r, p, req, NULL, out, d);
}

int n56_plan_build_mem(const struct n56_recipe *r, const struct n56_policy *p,
		       const struct n56_plan_request *req,
		       const struct n56_mem_capacity_in *cap,
		       struct n56_plan **out, struct n56_diags *d)
{
	struct n56_plan *plan;
	size_t before = d->n;
	bool tiled;

	*out = NULL;
	plan = calloc(1, sizeof(*plan));
	if (!plan) {
		n56_diag_add(d, r->path, r->schema.pos, "out of memory");
		return -1;
	}
	plan->recipe = r;
	plan->policy = p;
	plan->nodes = req->nodes;
	plan->gpus_per_node = req->gpus_per_node;
	n56_parallel_from_recipe(r, req, &plan->par);

	tiled = n56_layout_tile(r, &plan->layout, d) == 0;
	n56_plan_validate(r, p, req, &plan->par, &plan->layout, d);
	n56_env_merge(r, p, &plan->fixed_policy, d);
	n56_validate_env_couplings(r, p, &plan->par, &plan->fixed_policy, d);
	if (tiled && split_possible(&plan->par, &plan->layout))
		n56_layout_split(r, &plan->par, &plan->layout, d);
	if (d->n > before)
		goto fail;
	{
		plan->memory = calloc(1, sizeof(*plan->memory));
		if (!plan->memory ||
		    n56_memory_build(r, p, &plan->par, &plan->layout, cap,
				     plan->memory, d) ||
		    n56_memory_check(r, p, req, &plan->par, &plan->layout, cap,
				     plan->memory, d)) {
			if (d->n == before)
				n56_diag_add(d, r->path, r->schema.pos,
					     "out of memory");
			goto fail;
		}
	}

	if (n56_plan_translate(r, &plan->par, &plan->layout, &plan->argv,
			       &plan->argc) ||
	    n56_patch_surface(r, &plan->layout, &plan->patch_surface, d) ||
	    copy_command(plan, r)) {
		if (d->n == before)
			n56_diag_add(d, r->path, r->schema.pos,
				     "out of memory");
		goto fail;
	}
	if (check_extra_args(r, plan, d))
		goto fail;
	plan_hash(plan);
	*out = plan;
	return 0;
fail:
	n56_plan_free(plan);
	return -1;
}

void n56_plan_free(struct n56_plan *plan)
{
	if (!plan)
		return;
	n56_memory_clear(plan->memory);
	free(plan->memory);
	n56_layout_clear(&plan->layout);
	n56_argv_free(plan->argv);
	for (size_t i = 0; plan->command && plan->command[i]; i++)
		free(plan->command[i]);
	free(plan->command);
	n56_env_clear(&plan->fixed_policy);
	n56_env_clear(&plan->patch_surface);
	free(plan);
}
