/* The fixed-policy env of every rank and the runtime patch surface.
 * Precedence: site pinned (always wins), then the recipe where the site
 * allows, then site defaults, then values the generated args require.
 * NAM56R_* names are the patch surface: only the plan writes them. */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/plan.h"

const char *n56_origin_name(enum n56_origin o)
{
	switch (o) {
	case N56_ORIGIN_SITE_PINNED:
		return "site-pinned";
	case N56_ORIGIN_RECIPE:
		return "recipe";
	case N56_ORIGIN_SITE_DEFAULT:
		return "site-default";
	case N56_ORIGIN_DERIVED:
		return "derived";
	}
	return "unknown";
}

int n56_env_add(struct n56_env *e, const char *name, const char *value,
		enum n56_origin origin, const char *why)
{
	struct n56_env_entry *v, *x;

	v = realloc(e->v, (e->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	e->v = v;
	x = &v[e->n];
	x->name = strdup(name);
	x->value = strdup(value);
	x->origin = origin;
	x->why = why ? strdup(why) : NULL;
	if (!x->name || !x->value || (why && !x->why)) {
		free(x->name);
		free(x->value);
		free(x->why);
		return -1;
	}
	e->n++;
	return 0;
}

void n56_env_clear(struct n56_env *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
		free(e->v[i].why);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

const struct n56_env_entry *n56_env_find(const struct n56_env *e,
					 const char *name)
{
	for (size_t i = 0; e && i < e->n; i++)
		if (!strcmp(e->v[i].name, name))
			return &e->v[i];
	return NULL;
}

const char *n56_env_deny_rule(const struct n56_policy *p, const char *name)
{
	for (size_t i = 0; p && i < p->env.deny.n; i++)
		if (p->env.deny.v[i] && !fnmatch(p->env.deny.v[i], name, 0))
			return p->env.deny.v[i];
	return NULL;
}

static bool env_name_allowed(const struct n56_policy *p, const char *name)
{
	if (!p || !p->env.allow.n)
		return true;
	for (size_t i = 0; i < p->env.allow.n; i++)
		if (p->env.allow.v[i] && !fnmatch(p->env.allow.v[i], name, 0))
			return true;
	return false;
}

/* What the plugin computes for every rank (identity, placement, the GPUs,
 * the rendezvous) and what Slurm, torch and MPI launchers set: never from a
 * recipe, whatever the policy's deny list says. */
static const char *const computed_names[] = {
	"RANK",
	"WORLD_SIZE",
	"LOCAL_RANK",
	"LOCAL_WORLD_SIZE",
	"GROUP_RANK",
	"GROUP_WORLD_SIZE",
	"ROLE_RANK",
	"ROLE_WORLD_SIZE",
	"ROLE_NAME",
	"MASTER_ADDR",
	"MASTER_PORT",
	"CUDA_VISIBLE_DEVICES",
	"GPU_DEVICE_ORDINAL",
	"ROCR_VISIBLE_DEVICES",
	"HIP_VISIBLE_DEVICES",
	"TORCHELASTIC_*",
	"SLURM_*",
	"SLURMD_*",
	"SRUN_*",
	"SPANK_*",
	"PMI_*",
	"PMIX_*",
	"OMPI_*",
};

/* Names that change which program or code a rank runs (the exec search
 * path, the loader, the interpreter's start-up hooks, plugin libraries):
 * refused unless the policy's env.allow names them. */
static const char *const code_names[] = {
	"PATH",
	"LD_*",
	"PYTHONSTARTUP",
	"PYTHONPATH",
	"PYTHONHOME",
	"PYTHONUSERBASE",
	"PYTHONPLATLIBDIR",
	"PYTHONBREAKPOINT",
	"PYTHONINSPECT",
	"PYTHONEXECUTABLE",
	"BASH_ENV",
	"ENV",
	"IFS",
	"PS4",
	"SHELLOPTS",
	"BASHOPTS",
	"GCONV_PATH",
	"GLIBC_TUNABLES",
	"CUDA_INJECTION64_PATH",
	"NCCL_NET_PLUGIN",
	"NCCL_TUNER_PLUGIN",
	"NCCL_PROFILER_PLUGIN",
};

static const char *match_table(const char *const *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!fnmatch(t[i], name, 0))
			return t[i];
	return NULL;
}

const char *n56_env_computed_rule(const struct n56_policy *p, const char *name)
{
	/* The NIC variable is computed too, under the name the site chose. */
	if (p && p->topology.nic_env.v && *p->topology.nic_env.v &&
	    !strcmp(p->topology.nic_env.v, name))
		return "topology.nic_env";
	return match_table(computed_names,
			   sizeof(computed_names) / sizeof(computed_names[0]),
			   name);
}

/* Allowed for a code-loading name: an env.allow entry that matches it and
 * is more than a bare "*" (which would open them all by accident). */
static bool code_name_allowed(const struct n56_policy *p, const char *name)
{
	for (size_t i = 0; p && i < p->env.allow.n; i++) {
		const char *a = p->env.allow.v[i];

		if (a && strcmp(a, "*") && !fnmatch(a, name, 0))
			return true;
	}
	return false;
}

const char *n56_env_code_rule(const struct n56_policy *p, const char *name)
{
	const char *rule = match_table(
		code_names, sizeof(code_names) / sizeof(code_names[0]), name);

	return rule && !code_name_allowed(p, name) ? rule : NULL;
}

bool n56_env_name_denied(const struct n56_policy *p, const char *name)
{
	return !strncmp(name, "NAM56R_", 7) || n56_env_computed_rule(p, name) ||
	       n56_env_deny_rule(p, name) || n56_env_code_rule(p, name) ||
	       !env_name_allowed(p, name);
}

static bool env_name_valid(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static const char *kv_value(const struct n56_kvlist *kv, const char *name)
{
	for (size_t i = 0; i < kv->n; i++)
		if (!strcmp(kv->v[i].name, name))
			return kv->v[i].value;
	return NULL;
}

/* "A, B*" for the allow-list message. */
static void strlist_text(const struct n56_strlist *l, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 l->v[i] ? l->v[i] : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* One recipe env entry: refused (with a diag), skipped, or added. */
static int merge_recipe_entry(const struct n56_recipe *r,
			      const struct n56_policy *p,
			      const struct n56_kv *kv, struct n56_env *out,
			      struct n56_diags *d)
{
	const char *rule, *pinned;
	char list[512];

	if (!env_name_valid(kv->name)) {
		n56_diag_add(d, r->path, kv->pos,
			     "env '%s': not an environment variable name "
			     "(letters, digits and '_', not starting with a "
			     "digit)",
			     kv->name);
		return 1;
	}
	if (!strncmp(kv->name, "NAM56R_", 7)) {
		n56_diag_add(d, r->path, kv->pos,
			     "env %s: NAM56R_* names are the runtime patch "
			     "surface, written by the plan from the recipe: "
			     "remove it from env and set the model or runtime "
			     "key instead",
			     kv->name);
		return 1;
	}
	if (n56_env_computed_rule(p, kv->name)) {
		n56_diag_add(d, r->path, kv->pos,
			     "env %s: computed for every rank by the plugin "
			     "(rank identity, placement, GPUs, rendezvous) or "
			     "set by Slurm: a recipe never sets it",
			     kv->name);
		return 1;
	}
	pinned = p ? kv_value(&p->env.pinned, kv->name) : NULL;
	if (pinned) {
		if (strcmp(pinned, kv->value)) {
			n56_diag_add(d, r->path, kv->pos,
				     "env %s is pinned by the site policy to "
				     "%s",
				     kv->name, pinned);
			return 1;
		}
		return 0; /* same value: the pin already carries it */
	}
	rule = n56_env_deny_rule(p, kv->name);
	if (rule) {
		n56_diag_add(d, r->path, kv->pos,
			     "env %s: denied by the site policy (rule '%s')",
			     kv->name, rule);
		return 1;
	}
	if (n56_env_code_rule(p, kv->name)) {
		n56_diag_add(d, r->path, kv->pos,
			     "env %s: it changes which program or code a rank "
			     "runs; refused unless the site policy lists it in "
			     "env.allow",
			     kv->name);
		return 1;
	}
	if (!env_name_allowed(p, kv->name)) {
		strlist_text(&p->env.allow, list, sizeof(list));
		n56_diag_add(d, r->path, kv->pos,
			     "env %s: not allowed by the site policy (allowed: "
			     "%s)",
			     kv->name, list);
		return 1;
	}
	if (n56_env_find(out, kv->name)) {
		n56_diag_add(d, r->path, kv->pos,
			     "env %s is set twice: keep one", kv->name);
		return 1;
	}
	if (n56_env_add(out, kv->name, kv->value, N56_ORIGIN_RECIPE, NULL)) {
		n56_diag_add(d, r->path, kv->pos, "out of memory");
		return 1;
	}
	return 0;
}

int n56_env_merge(const struct n56_recipe *r, const struct n56_policy *p,
		  struct n56_env *out, struct n56_diags *d)
{
	int bad = 0;

	for (size_t i = 0; p && i < p->env.pinned.n; i++) {
		const struct n56_kv *kv = &p->env.pinned.v[i];

		if (n56_env_find(out, kv->name))
			continue;
		if (n56_env_add(out, kv->name, kv->value,
				N56_ORIGIN_SITE_PINNED, NULL))
			goto oom;
	}
	for (size_t i = 0; i < r->env.n; i++)
		bad += merge_recipe_entry(r, p, &r->env.v[i], out, d);
	for (size_t i = 0; p && i < p->env.defaults.n; i++) {
		const struct n56_kv *kv = &p->env.defaults.v[i];

		if (n56_env_find(out, kv->name))
			continue;
		if (n56_env_add(out, kv->name, kv->value,
				N56_ORIGIN_SITE_DEFAULT, NULL))
			goto oom;
	}
	return bad ? -1 : 0;
oom:
	n56_diag_add(d, p->path, p->env.pinned.pos, "out of memory");
	return -1;
}

/* "1,2,3": the patch surface's list format (no spaces, for parsers). */
static char *join_ints(const int *v, int n)
{
	size_t len = (size_t)n * 12 + 1, used = 0;
	char *s = malloc(len);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, len - used, "%s%d",
					 i ? "," : "", v[i]);
	return s;
}

static int add_owned(struct n56_env *out, const char *name, char *value)
{
	int rc;

	if (!value)
		return -1;
	rc = n56_env_add(out, name, value, N56_ORIGIN_RECIPE, NULL);
	free(value);
	return rc;
}

/* Only R fails closed (in n56_layout_tile): it has no native block at all.
 * mHC, Engram, MoD and the sparse mode modify native blocks that Megatron
 * runs anyway; the NAM56R runtime reads them from here, and the public
 * profile declares no seam for them, so they ride the patch surface. */
int n56_patch_surface(const struct n56_recipe *r, const struct n56_layout *l,
		      struct n56_env *out, struct n56_diags *d)
{
	const struct n56_strlist *seams = &r->runtime.seams;
	const struct n56_intlist *eng =
		&r->model.attention.engram.a_layer_ranks;
	int rc = 0;

	if (seams->n) {
		size_t len = 1, used = 0;
		char *s;

		for (size_t i = 0; i < seams->n; i++)
			len += strlen(seams->v[i]) + 1;
		s = malloc(len);
		if (s) {
			s[0] = '\0';
			for (size_t i = 0; i < seams->n; i++)
				used += (size_t)snprintf(s + used, len - used,
							 "%s%s", i ? "," : "",
							 seams->v[i]);
		}
		rc |= add_owned(out, "NAM56R_SEAMS", s);
	}
	if (l->nr && n56_recipe_has_seam(r, "recurrent_tail")) {
		rc |= add_owned(out, "NAM56R_R_LAYER_INDICES",
				join_ints(l->r_layer_indices, l->nr));
		if (r->model.recurrent.mixer.v)
			rc |= n56_env_add(out, "NAM56R_R_MIXER",
					  r->model.recurrent.mixer.v,
					  N56_ORIGIN_RECIPE, NULL);
	}
	if (l->ndsa)
		rc |= add_owned(out, "NAM56R_DSA_A_LAYER_RANKS",
				join_ints(l->dsa_a_layer_ranks, l->ndsa));
	if (eng->n) {
		int *v = calloc(eng->n, sizeof(int));

		if (v) {
			for (size_t i = 0; i < eng->n; i++)
				v[i] = (int)eng->v[i];
			rc |= add_owned(out, "NAM56R_ENGRAM_A_LAYER_RANKS",
					join_ints(v, (int)eng->n));
			free(v);
		} else {
			rc = -1;
		}
	}
	if (r->model.attention.mhc.v)
		rc |= n56_env_add(out, "NAM56R_MHC", "1", N56_ORIGIN_RECIPE,
				  NULL);
	if (r->model.moe.mod.v)
		rc |= n56_env_add(out, "NAM56R_MOD", "1", N56_ORIGIN_RECIPE,
				  NULL);
	if (r->model.sparse_mode.v && strcmp(r->model.sparse_mode.v, "none"))
		rc |= n56_env_add(out, "NAM56R_SPARSE_MODE",
				  r->model.sparse_mode.v, N56_ORIGIN_RECIPE,
				  NULL);
	if (rc)
		n56_diag_add(d, r->path, r->runtime.seams.pos, "out of memory");
	return rc ? -1 : 0;
}
