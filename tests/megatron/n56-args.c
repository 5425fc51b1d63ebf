/* n56-args: for the Megatron conformance harness, what the product says of
 * a recipe and what args the recipe implies, whatever the verdict.
 *
 * Reads lines "ID RECIPE NODES GPUS_PER_NODE [POLICY]" on stdin and writes
 * one JSON object a line:
 *   {"id": ID, "ok": bool, "errors": [...], "world": N,
 *    "args": [...] | null, "env": {...}}
 * "ok" and "errors" are n56_plan_build's verdict (what `validate` says);
 * "args" and "env" are the translation and the fixed-policy environment
 * built step by step without the verdict, so that a refused recipe can be
 * tried on Megatron too; "args" is null when no args can be built (the
 * pattern does not tile, or the sizes leave no split). Not installed. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/megatron.h"
#include "policy/plan.h"

static json_t *diags_json(const struct n56_diags *d)
{
	json_t *a = json_array();
	char line[4096];

	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format(&d->v[i], line, sizeof(line));
		json_array_append_new(a, json_string(line));
	}
	return a;
}

static json_t *argv_json(char **argv)
{
	json_t *a = json_array();

	for (char **p = argv; p && *p; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

static json_t *env_json(const struct n56_env *e)
{
	json_t *o = json_object();

	for (size_t i = 0; i < e->n; i++)
		json_object_set_new(o, e->v[i].name,
				    json_string(e->v[i].value));
	return o;
}

/* The steps of n56_plan_build, each kept going past violations. */
static json_t *unchecked(const struct n56_recipe *r, const struct n56_policy *p,
			 const struct n56_plan_request *req, json_t *out)
{
	struct n56_diags scratch = { 0 };
	struct n56_parallel par;
	struct n56_layout l = { 0 };
	struct n56_env env = { 0 };
	char **argv = NULL;
	size_t argc = 0;
	json_t *args = json_null();

	n56_parallel_from_recipe(r, req, &par);
	if (n56_layout_tile(r, &l, &scratch) == 0 && par.pp >= 1 &&
	    par.vpp >= 1 && par.pp * par.vpp <= l.depth &&
	    (par.vpp == 1 || par.pp > 1)) {
		/* A split that fails (a bad hand split) implies no args. */
		if (n56_layout_split(r, &par, &l, &scratch) == 0 &&
		    n56_plan_translate(r, &par, &l, &argv, &argc) == 0)
			args = argv_json(argv);
	}
	n56_env_merge(r, p, &env, &scratch);
	n56_validate_env_couplings(r, p, &par, &env, &scratch);
	json_object_set_new(out, "env", env_json(&env));
	json_object_set_new(out, "world", json_integer(par.world));
	n56_argv_free(argv);
	n56_env_clear(&env);
	n56_layout_clear(&l);
	n56_diags_free(&scratch);
	return args;
}

static void one(const char *id, const char *path, long nodes, long gpus,
		const char *policy_path)
{
	struct n56_diags d = { 0 };
	struct n56_recipe *r = NULL;
	struct n56_policy *p = NULL;
	struct n56_plan *plan = NULL;
	struct n56_plan_request req = { nodes, gpus };
	json_t *out = json_object();
	char *text;

	json_object_set_new(out, "id", json_string(id));
	if (policy_path)
		n56_policy_load(policy_path, &p, &d);
	else
		p = n56_policy_empty();
	if (p && n56_recipe_load(path, &r, &d) == 0) {
		n56_plan_build(r, p, &req, &plan, &d);
		json_object_set_new(out, "args", unchecked(r, p, &req, out));
	} else {
		json_object_set_new(out, "args", json_null());
	}
	json_object_set_new(out, "ok", json_boolean(plan != NULL));
	json_object_set_new(out, "errors", diags_json(&d));
	text = json_dumps(out, JSON_COMPACT);
	if (text)
		puts(text);
	free(text);
	json_decref(out);
	n56_plan_free(plan);
	n56_recipe_free(r);
	n56_policy_free(p);
	n56_diags_free(&d);
}

int main(int argc, char **argv)
{
	char line[8192];

	if (argc == 2 && !strcmp(argv[1], "--megatron")) {
		printf("%s (%s)\n", N56_MEGATRON_COMMIT, N56_MEGATRON_DATE);
		return 0;
	}
	if (argc > 1) {
		fprintf(argc == 2 && (!strcmp(argv[1], "-h") ||
				      !strcmp(argv[1], "--help"))
				? stdout
				: stderr,
			"usage: n56-args < LINES | n56-args --megatron\n"
			"  each line: ID RECIPE NODES GPUS_PER_NODE [POLICY]\n"
			"  prints one JSON object a line: the verdict, the "
			"args the recipe implies and the env\n");
		return argc == 2 && argv[1][0] == '-' && argv[1][1] == 'h' ? 0
									   : 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		char id[256], path[4096], pol[4096];
		long nodes, gpus;
		int n = sscanf(line, "%255s %4095s %ld %ld %4095s", id, path,
			       &nodes, &gpus, pol);

		if (n < 4) {
			fprintf(stderr, "n56-args: bad line: %s", line);
			return 2;
		}
		one(id, path, nodes, gpus, n == 5 ? pol : NULL);
		fflush(stdout);
	}
	return 0;
}
