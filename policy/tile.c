/* Tiling: the recipe's family pattern repeated to the model depth, and the
 * native symbol of each layer for Megatron's --hybrid-layer-pattern. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/plan.h"

int n56_family_of(char c)
{
	switch (c) {
	case 'A':
		return N56_A;
	case 'E':
		return N56_E;
	case 'M':
		return N56_M;
	case 'R':
		return N56_R;
	default:
		return -1;
	}
}

bool n56_recipe_has_seam(const struct n56_recipe *r, const char *seam)
{
	for (size_t i = 0; i < r->runtime.seams.n; i++)
		if (r->runtime.seams.v[i] &&
		    !strcmp(r->runtime.seams.v[i], seam))
			return true;
	return false;
}

/* "12, 24, 36, 48": how messages list layer indices. */
static void format_int_list(char *buf, size_t len, const int *v, int n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%d", i ? ", " : "",
				 v[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static bool is_dsa_rank(const struct n56_layout *l, int ordinal)
{
	for (int i = 0; i < l->ndsa; i++)
		if (l->dsa_a_layer_ranks[i] == ordinal)
			return true;
	return false;
}

/* Checks the DSA ordinals against the number of A layers and keeps the
 * valid ones; each bad item is reported at its own position. */
static void tile_dsa_ranks(const struct n56_recipe *r, struct n56_layout *l,
			   struct n56_diags *d, int *bad)
{
	const struct n56_intlist *dl = &r->model.attention.dsa.a_layer_ranks;
	int na = l->counts[N56_A];

	if (!dl->n)
		return;
	if (!na) {
		n56_diag_add(d, r->path, dl->pos,
			     "model.attention.dsa.a_layer_ranks: the pattern "
			     "has no A layers: remove the list, or add A to "
			     "model.pattern");
		(*bad)++;
		return;
	}
	l->dsa_a_layer_ranks = calloc(dl->n, sizeof(int));
	if (!l->dsa_a_layer_ranks) {
		n56_diag_add(d, r->path, dl->pos, "out of memory");
		(*bad)++;
		return;
	}
	for (size_t i = 0; i < dl->n; i++) {
		struct n56_pos pos = dl->item_pos ? dl->item_pos[i] : dl->pos;
		long v = dl->v[i];

		if (v < 0 || v >= na) {
			n56_diag_add(
				d, r->path, pos,
				"model.attention.dsa.a_layer_ranks: %ld "
				"is not an A ordinal: the pattern tiled to "
				"depth %d has %d A layer%s (ordinals 0 to "
				"%d)",
				v, l->depth, na, na == 1 ? "" : "s", na - 1);
			(*bad)++;
			continue;
		}
		if (is_dsa_rank(l, (int)v)) {
			n56_diag_add(
				d, r->path, pos,
				"model.attention.dsa.a_layer_ranks: %ld "
				"is listed twice: list each A ordinal once",
				v);
			(*bad)++;
			continue;
		}
		l->dsa_a_layer_ranks[l->ndsa++] = (int)v;
	}
}

static int tile_letters(const struct n56_recipe *r, struct n56_layout *l,
			struct n56_diags *d)
{
	const char *pat = r->model.pattern.v;
	struct n56_pos ppos = r->model.pattern.pos;
	size_t plen;
	int bad = 0;

	if (!pat || !*pat) {
		n56_diag_add(d, r->path, ppos,
			     "model.pattern is empty: give the block families "
			     "as letters A, E, M, R (e.g. AEMEAEMEAEMR)");
		return -1;
	}
	plen = strlen(pat);
	for (size_t i = 0; i < plen; i++)
		if (n56_family_of(pat[i]) < 0) {
			struct n56_pos p = ppos;

			/* Point at the letter when the pattern is a plain
			 * scalar on one line. */
			if (p.line > 0)
				p.col += (int)i;
			n56_diag_add(
				d, r->path, p,
				"model.pattern: '%c' is not a block family:"
				" use A (attention), E (MoE), M (Mamba) or "
				"R (recurrent tail)",
				pat[i]);
			bad++;
		}
	if (r->model.depth.v < 1 || r->model.depth.v > 100000) {
		n56_diag_add(d, r->path, r->model.depth.pos,
			     "model.depth %ld: must be between 1 and 100000 "
			     "layers",
			     r->model.depth.v);
		bad++;
	}
	l->pattern = strdup(pat);
	if (!l->pattern)
		return -1;
	if (bad)
		return -1;
	l->depth = (int)r->model.depth.v;
	l->tiled = malloc((size_t)l->depth + 1);
	if (!l->tiled)
		return -1;
	for (int i = 0; i < l->depth; i++)
		l->tiled[i] = pat[(size_t)i % plen];
	l->tiled[l->depth] = '\0';
	return 0;
}

int n56_layout_tile(const struct n56_recipe *r, struct n56_layout *out,
		    struct n56_diags *d)
{
	struct n56_layout *l = out;
	bool mla = r->model.attention.mla.enabled.v;
	bool has_tail = n56_recipe_has_seam(r, "recurrent_tail");
	int bad = 0, a_ordinal = 0, plain = 0, latent = 0;
	size_t before = d->n;

	memset(l, 0, sizeof(*l));
	if (tile_letters(r, l, d) < 0) {
		if (d->n == before)
			n56_diag_add(d, r->path, r->model.pattern.pos,
				     "out of memory");
		return -1;
	}
	for (int i = 0; i < l->depth; i++)
		l->counts[n56_family_of(l->tiled[i])]++;

	if (l->counts[N56_R]) {
		l->r_layer_indices =
			calloc((size_t)l->counts[N56_R], sizeof(int));
		if (!l->r_layer_indices)
			goto oom;
		for (int i = 0; i < l->depth; i++)
			if (l->tiled[i] == 'R')
				l->r_layer_indices[l->nr++] = i + 1;
	}
	tile_dsa_ranks(r, l, d, &bad);

	l->native_pattern = malloc((size_t)l->depth + 1);
	if (!l->native_pattern)
		goto oom;
	for (int i = 0; i < l->depth; i++) {
		char c = l->tiled[i], sym = c;

		if (c == 'A') {
			if (is_dsa_rank(l, a_ordinal))
				sym = 'D';
			else
				sym = mla ? '+' : '*';
			a_ordinal++;
			if (sym == '*')
				plain++;
			else
				latent++;
		} else if (c == 'R') {
			/* A Mamba-shaped slot that the recurrent_tail seam
			 * replaces with the recurrent mixer. */
			sym = 'M';
		}
		l->native_pattern[i] = sym;
	}
	l->native_pattern[l->depth] = '\0';

	if (l->nr && !has_tail) {
		char idx[512];

		format_int_list(idx, sizeof(idx), l->r_layer_indices, l->nr);
		n56_diag_add(d, r->path, r->model.pattern.pos,
			     "R blocks at layer%s %s have no native lowering: "
			     "declare the runtime seam 'recurrent_tail' in "
			     "runtime.seams, or remove R from model.pattern",
			     l->nr > 1 ? "s" : "", idx);
		bad++;
	}
	if (plain && latent) {
		n56_diag_add(
			d, r->path, r->model.attention.dsa.a_layer_ranks.pos,
			"%d A layers would be plain attention ('*') and %d "
			"DSA ('D'): Megatron refuses '*' together with "
			"'D' or '+'; enable model.attention.mla or list "
			"every A ordinal (0 to %d) in "
			"model.attention.dsa.a_layer_ranks",
			plain, latent, l->counts[N56_A] - 1);
		bad++;
	}
	return bad ? -1 : 0;
oom:
	n56_diag_add(d, r->path, r->model.pattern.pos, "out of memory");
	return -1;
}

void n56_layout_clear(struct n56_layout *l)
{
	if (!l)
		return;
	free(l->pattern);
	free(l->tiled);
	free(l->r_layer_indices);
	free(l->dsa_a_layer_ranks);
	free(l->native_pattern);
	for (int i = 0; i < l->nstages && l->stages; i++)
		free(l->stages[i].letters);
	free(l->stages);
	n56_layout_schedule_clear(&l->sched);
	memset(l, 0, sizeof(*l));
}
