/* Slurm's block topology as an island source: topology.conf and
 * topology.yaml parsed into blocks, the blocks into the policy's admin
 * map, and the step's node list held against them. The file format is
 * Slurm's (topology.conf(5), topology.yaml(5)); the code is our own. */
#include "config.h"

#include "job/n56job.h"
#include "topology/slurmblock.h"
#include "topology/topology.h"
#include "topology/util.h"
#include "policy/yamlutil.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- blocks as read, before the checks common to both formats ---- */

struct raw_block {
	char *name;
	struct n56_pos pos;
	char *nodes; /* NULL: no Nodes= */
	struct n56_pos nodes_pos;
};

struct raw {
	struct raw_block *v;
	size_t n, cap;
	long sizes[N56_SLURM_MAX_BLOCK_SIZES];
	size_t nsizes;
	int sizes_line; /* where BlockSizes was given, 0 when not */
};

static void raw_free(struct raw *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].nodes);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static struct raw_block *raw_add(struct raw *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct raw_block *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	return &r->v[r->n++];
}

void n56_slurm_blocks_free(struct n56_slurm_blocks *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].name);
		free(b->v[i].nodes);
	}
	free(b->v);
	free(b->file);
	free(b->topology);
	free(b);
}

/* BlockSizes, as Slurm takes them: the planning base size first, then
 * larger sizes, each the base times a power of two, at most 2^15. One
 * size; 0 when it is good, else the diagnostic is added. */
static int check_size(struct n56_diags *d, const char *file, struct n56_pos pos,
		      const long *sizes, size_t i)
{
	long base = sizes[0], v = sizes[i], ratio;

	if (v < 1 || v > N56_SLURM_MAX_BLOCK_SIZE) {
		n56_diag_add(d, file, pos,
			     "BlockSizes: %ld is not a node "
			     "count (give whole numbers from 1 to %ld)",
			     v, N56_SLURM_MAX_BLOCK_SIZE);
		return -1;
	}
	if (i == 0)
		return 0;
	if (v <= sizes[i - 1]) {
		n56_diag_add(d, file, pos,
			     "BlockSizes: %ld after %ld: each "
			     "size must be larger than the one before",
			     v, sizes[i - 1]);
		return -1;
	}
	ratio = v / base;
	if (v % base || (ratio & (ratio - 1)) || ratio > (1L << 15)) {
		n56_diag_add(d, file, pos,
			     "BlockSizes: %ld is not the base "
			     "size %ld times a power of two (at most 2^15)",
			     v, base);
		return -1;
	}
	return 0;
}

/* The checks on the blocks of either format: unique names, hostlists
 * Slurm can read, no node in two blocks, at least one block. */
static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct names of a host list (a block's nodes, or several blocks'
 * together: a node named twice is one node), or -1 with a message. */
static long distinct_count(const char *expr, char *msg, size_t len)
{
	char **h = NULL;
	size_t n = 0;
	long k = 0;

	/* Strict: Slurm 22.05 reads n[1-4 as n], a block names real
	 * hosts (and 23.11 on, which has blocks, refuses it). */
	if (n56_hostlist_count_strict(expr, msg, len) < 0 ||
	    n56_hostlist_expand(expr, &h, &n, msg, len))
		return -1;
	qsort(h, n, sizeof(*h), cmp_name);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(h[i], h[i - 1]))
			k++;
	n56_hostlist_free(h, n);
	return k;
}

static int finish(const char *file, struct raw *r, const char *topology,
		  struct n56_slurm_blocks **out, struct n56_diags *d)
{
	struct n56_slurm_blocks *b = NULL;
	size_t before = d->n;
	char msg[512];
	char *all = NULL;
	size_t alllen = 0;
	long sum = 0;

	if (!r->n) {
		n56_diag_add(d, file, (struct n56_pos){ 0, 0 },
			     "no block: island_source slurm-block reads "
			     "topology/block's blocks (BlockName=NAME "
			     "Nodes=HOSTLIST lines; topology.conf(5))");
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->v = calloc(r->n, sizeof(*b->v))) ||
	    !(b->file = strdup(file)) ||
	    (topology && !(b->topology = strdup(topology)))) {
		n56_slurm_blocks_free(b);
		n56_diag_add(d, file, (struct n56_pos){ 0, 0 },
			     "out of memory");
		return -1;
	}
	for (size_t i = 0; i < r->n && d->n - before < N56_MAX_ERRORS; i++) {
		struct raw_block *rb = &r->v[i];
		long cnt;

		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->v[j].name, rb->name)) {
				n56_diag_add(d, file, rb->pos,
					     "block '%s' is "
					     "already defined on line %d",
					     rb->name, r->v[j].pos.line);
				break;
			}
		if (!rb->nodes)
			continue;
		if (strpbrk(rb->nodes, " \t")) {
			n56_diag_add(d, file, rb->nodes_pos,
				     "block '%s': "
				     "nodes '%s' has a space (write a Slurm "
				     "hostlist such as n[1-18] or n1,n2)",
				     rb->name, rb->nodes);
			continue;
		}
		cnt = distinct_count(rb->nodes, msg, sizeof(msg));
		if (cnt < 0) {
			n56_diag_add(d, file, rb->nodes_pos, "block '%s': %s",
				     rb->name, msg);
			continue;
		}
		b->v[i].nnodes = cnt;
		sum += cnt;
	}
	/* A node in two blocks: all nodes at once, then (only when they
	 * overlap) block by block to say which. */
	if (d->n == before) {
		FILE *f = open_memstream(&all, &alllen);
		bool first = true;
		long distinct;

		for (size_t i = 0; f && i < r->n; i++)
			if (r->v[i].nodes) {
				fprintf(f, "%s%s", first ? "" : ",",
					r->v[i].nodes);
				first = false;
			}
		if (!f || fclose(f)) {
			n56_diag_add(d, file, (struct n56_pos){ 0, 0 },
				     "out of memory");
			goto out;
		}
		distinct = *all ? distinct_count(all, msg, sizeof(msg)) : 0;
		if (distinct < 0) {
			n56_diag_add(d, file, (struct n56_pos){ 0, 0 }, "%s",
				     msg);
		} else if (distinct == 0) {
			n56_diag_add(d, file, (struct n56_pos){ 0, 0 },
				     "no block names a node (Nodes=)");
		} else if (distinct < sum) {
			for (size_t i = 1; i < r->n && d->n == before; i++) {
				for (size_t j = 0; j < i; j++) {
					char *two = NULL;
					long c;

					if (!r->v[i].nodes || !r->v[j].nodes)
						continue;
					if (asprintf(&two, "%s,%s",
						     r->v[j].nodes,
						     r->v[i].nodes) < 0)
						two = NULL;
					c = two ? distinct_count(two, msg,
								 sizeof(msg))
						: -1;
					free(two);
					if (c < 0 ||
					    c == b->v[i].nnodes +
							    b->v[j].nnodes)
						continue;
					n56_diag_add(
						d, file, r->v[i].nodes_pos,
						"block '%s' shares nodes with "
						"block '%s' (line %d): a node "
						"is in one block, one NVLink "
						"domain",
						r->v[i].name, r->v[j].name,
						r->v[j].pos.line);
					break;
				}
			}
		}
	}
out:
	free(all);
	if (d->n != before) {
		n56_slurm_blocks_free(b);
		return -1;
	}
	for (size_t i = 0; i < r->n; i++) {
		b->v[i].name = r->v[i].name;
		b->v[i].nodes = r->v[i].nodes;
		b->v[i].pos = r->v[i].pos;
		r->v[i].name = r->v[i].nodes = NULL;
	}
	b->n = r->n;
	memcpy(b->sizes, r->sizes, sizeof(b->sizes));
	b->nsizes = r->nsizes;
	*out = b;
	return 0;
}

/* ---- topology.conf ---- */

/* A character of a logical line (continuations joined) and where it was
 * in the file. */
struct lchar {
	char c;
	int line, col;
};

struct conf {
	const char *file;
	struct n56_diags *d;
	size_t before;
	struct raw r;
	bool oom;
};

static bool too_many(const struct conf *c)
{
	return c->d->n - c->before >= N56_MAX_ERRORS;
}

static struct n56_pos at(const struct lchar *l)
{
	return (struct n56_pos){ l->line, l->col };
}

/* "BlockName" etc., as written, for messages. */
static char *text_of(const struct lchar *l, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = l[i].c;
	s[n] = '\0';
	return s;
}

static bool key_is(const char *key, const char *name)
{
	return !strcasecmp(key, name);
}

static void conf_sizes(struct conf *c, const struct lchar *v, size_t n,
		       struct n56_pos keypos)
{
	size_t i = 0;

	if (c->r.sizes_line) {
		n56_diag_add(c->d, c->file, keypos,
			     "BlockSizes is already "
			     "set on line %d",
			     c->r.sizes_line);
		return;
	}
	c->r.sizes_line = keypos.line;
	while (i <= n) {
		size_t s = i;
		long val = 0;
		bool digits = true;

		while (i < n && v[i].c != ',')
			i++;
		if (i == s) {
			n56_diag_add(c->d, c->file,
				     s < n ? at(&v[s]) : at(&v[n - 1]),
				     "BlockSizes: an empty size (write "
				     "sizes such as 18,36,72)");
			c->r.nsizes = 0;
			return;
		}
		for (size_t k = s; k < i; k++) {
			if (v[k].c < '0' || v[k].c > '9' || val > (1L << 40)) {
				digits = false;
				break;
			}
			val = val * 10 + (v[k].c - '0');
		}
		if (!digits) {
			char *t = text_of(v + s, i - s);

			n56_diag_add(c->d, c->file, at(&v[s]),
				     "BlockSizes: "
				     "'%s' is not a node count (write sizes "
				     "such as 18,36,72)",
				     t ? t : "");
			free(t);
			c->r.nsizes = 0;
			return;
		}
		if (c->r.nsizes == N56_SLURM_MAX_BLOCK_SIZES) {
			n56_diag_add(c->d, c->file, at(&v[s]),
				     "BlockSizes: "
				     "more than %d sizes",
				     N56_SLURM_MAX_BLOCK_SIZES);
			c->r.nsizes = 0;
			return;
		}
		c->r.sizes[c->r.nsizes] = val;
		if (check_size(c->d, c->file, at(&v[s]), c->r.sizes,
			       c->r.nsizes)) {
			c->r.nsizes = 0;
			return;
		}
		c->r.nsizes++;
		i++; /* past the comma, or past the end */
	}
}

/* Keys Slurm's other topology plugins write in topology.conf. */
static const char *other_plugin(const char *key)
{
	if (key_is(key, "SwitchName") || key_is(key, "Switches") ||
	    key_is(key, "LinkSpeed"))
		return "topology/tree";
	if (key_is(key, "RingName"))
		return "topology/ring";
	return NULL;
}

/* One logical line: `BlockName=NAME Nodes=HOSTLIST` or `BlockSizes=...`
 * (Slurm's Key=Value pairs, a value "quoted" when it has spaces). */
/* Slurm's `Include FILE` (no '=') at l[i]: said and true. */
static bool conf_include(struct conf *c, const struct lchar *l, size_t i,
			 size_t n)
{
	static const char inc[] = "include";
	size_t k = 0;

	if (n - i <= 7 || !isspace((unsigned char)l[i + 7].c))
		return false;
	while (k < 7 && tolower((unsigned char)l[i + k].c) == inc[k])
		k++;
	if (k < 7)
		return false;
	n56_diag_add(c->d, c->file, at(&l[i]),
		     "Include is not followed "
		     "here: give the file that holds the blocks with "
		     "topology.slurm_topology_file in the site policy");
	return true;
}

/* One Key=Value of a line. */
struct pair {
	char *key, *val;
	size_t vs, ve; /* the value's characters in the line */
	struct n56_pos keypos, valpos;
};

static void pair_clear(struct pair *p)
{
	free(p->key);
	free(p->val);
	p->key = p->val = NULL;
}

/* The key at l[*i] up to its '=': 0, or -1 when said. */
static int pair_key(struct conf *c, const struct lchar *l, size_t n, size_t *i,
		    struct pair *p)
{
	size_t ks = *i, ke;

	while (*i < n && (isalnum((unsigned char)l[*i].c) || l[*i].c == '_' ||
			  l[*i].c == '.'))
		(*i)++;
	ke = *i;
	p->keypos = at(&l[ks]);
	if (ke == ks) {
		char *t = text_of(l + ks, n - ks > 24 ? 24 : n - ks);

		n56_diag_add(c->d, c->file, p->keypos,
			     "expected Key=Value, "
			     "got '%s'",
			     t ? t : "");
		free(t);
		return -1;
	}
	while (*i < n && isspace((unsigned char)l[*i].c))
		(*i)++;
	if (*i + 1 < n && strchr("-*+/", l[*i].c) && l[*i + 1].c == '=') {
		n56_diag_add(c->d, c->file, at(&l[*i]),
			     "'%c=' is not used in "
			     "topology/block's topology.conf (write "
			     "Key=Value)",
			     l[*i].c);
		return -1;
	}
	p->key = text_of(l + ks, ke - ks);
	if (*i == n || l[*i].c != '=') {
		n56_diag_add(c->d, c->file, p->keypos,
			     "'%s' without '=': "
			     "expected Key=Value",
			     p->key ? p->key : "");
		return -1;
	}
	(*i)++;
	if (!p->key)
		c->oom = true;
	return p->key ? 0 : -1;
}

/* The value after the '=' (quoted or up to a space): 0, or -1 when
 * said. */
static int pair_value(struct conf *c, const struct lchar *l, size_t n,
		      size_t *i, struct pair *p)
{
	bool quoted = false;

	while (*i < n && isspace((unsigned char)l[*i].c))
		(*i)++;
	if (*i < n && l[*i].c == '"') {
		quoted = true;
		p->valpos = at(&l[*i]);
		p->vs = ++*i;
		while (*i < n && l[*i].c != '"')
			(*i)++;
		if (*i == n) {
			n56_diag_add(c->d, c->file, p->valpos,
				     "a quoted value "
				     "without its closing '\"'");
			return -1;
		}
		p->ve = (*i)++;
		if (p->ve > p->vs)
			p->valpos = at(&l[p->vs]);
	} else {
		p->vs = *i;
		while (*i < n && !isspace((unsigned char)l[*i].c))
			(*i)++;
		p->ve = *i;
		p->valpos = p->vs < n ? at(&l[p->vs]) : p->keypos;
	}
	if (!quoted && p->ve == p->vs) {
		n56_diag_add(c->d, c->file, p->keypos, "%s= has no value",
			     p->key);
		return -1;
	}
	if (*i < n && !isspace((unsigned char)l[*i].c)) {
		n56_diag_add(c->d, c->file, at(&l[*i]),
			     "expected a space "
			     "after the value of %s",
			     p->key);
		return -1;
	}
	p->val = text_of(l + p->vs, p->ve - p->vs);
	if (!p->val)
		c->oom = true;
	return p->val ? 0 : -1;
}

/* BlockName=NAME starts the line's block: 0, or -1 when said. */
static int pair_block(struct conf *c, struct pair *p, struct raw_block **blk)
{
	if (*blk) {
		n56_diag_add(c->d, c->file, p->keypos,
			     "a second BlockName on "
			     "one line (one block a line)");
		return -1;
	}
	if (!*p->val) {
		n56_diag_add(c->d, c->file, p->valpos, "BlockName is empty");
		return -1;
	}
	*blk = raw_add(&c->r);
	if (!*blk) {
		c->oom = true;
		return -1;
	}
	(*blk)->name = p->val;
	(*blk)->pos = p->valpos;
	p->val = NULL;
	return 0;
}

static void pair_nodes(struct conf *c, struct pair *p, struct raw_block *blk)
{
	if (!blk)
		n56_diag_add(c->d, c->file, p->keypos,
			     "Nodes outside a "
			     "BlockName line (write BlockName=NAME "
			     "Nodes=HOSTLIST)");
	else if (blk->nodes)
		n56_diag_add(c->d, c->file, p->keypos,
			     "Nodes is already given "
			     "for block '%s'",
			     blk->name);
	else if (!*p->val)
		n56_diag_add(c->d, c->file, p->valpos,
			     "block '%s': Nodes is "
			     "empty",
			     blk->name);
	else {
		blk->nodes = p->val;
		blk->nodes_pos = p->valpos;
		p->val = NULL;
	}
}

/* A key topology/block does not know: one message for the line (what
 * follows would only repeat it). */
static void pair_unknown(struct conf *c, const struct pair *p,
			 const struct raw_block *blk)
{
	if (blk)
		n56_diag_add(c->d, c->file, p->keypos,
			     "unknown key '%s' in a "
			     "BlockName line (known: Nodes)",
			     p->key);
	else if (other_plugin(p->key))
		n56_diag_add(c->d, c->file, p->keypos,
			     "%s is %s's: "
			     "island_source slurm-block reads topology/block's "
			     "BlockName lines",
			     p->key, other_plugin(p->key));
	else
		n56_diag_add(c->d, c->file, p->keypos,
			     "unknown key '%s' "
			     "(topology/block knows BlockName, Nodes and "
			     "BlockSizes)",
			     p->key);
}

/* One line of topology.conf: its Key=Value pairs, the first error of the
 * line said and the rest of it left. */
static void conf_line(struct conf *c, struct lchar *l, size_t n)
{
	struct raw_block *blk = NULL;
	size_t i = 0;

	while (i < n && isspace((unsigned char)l[i].c))
		i++;
	if (i == n || conf_include(c, l, i, n))
		return;
	while (i < n && !too_many(c)) {
		struct pair p = { 0 };
		int stop = 0;

		while (i < n && isspace((unsigned char)l[i].c))
			i++;
		if (i == n)
			break;
		if (pair_key(c, l, n, &i, &p) || pair_value(c, l, n, &i, &p))
			stop = 1;
		else if (key_is(p.key, "BlockName"))
			stop = pair_block(c, &p, &blk);
		else if (key_is(p.key, "Nodes"))
			pair_nodes(c, &p, blk);
		else if (key_is(p.key, "BlockSizes") && !blk && p.ve == p.vs)
			n56_diag_add(c->d, c->file, p.keypos,
				     "BlockSizes is empty");
		else if (key_is(p.key, "BlockSizes") && !blk)
			conf_sizes(c, l + p.vs, p.ve - p.vs, p.keypos);
		else {
			pair_unknown(c, &p, blk);
			stop = 1;
		}
		pair_clear(&p);
		if (stop)
			return;
	}
}

/* Backslash escapes as Slurm reads them: "\x" is x. */
static size_t unescape(struct lchar *l, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (l[i].c == '\\') {
			if (++i == n)
				break;
		}
		l[j++] = l[i];
	}
	return j;
}

int n56_slurm_blocks_parse_conf(const char *name, const char *buf, size_t len,
				struct n56_slurm_blocks **out,
				struct n56_diags *d)
{
	struct conf c = { .file = name, .d = d, .before = d->n };
	struct lchar *l = NULL;
	size_t n = 0, cap = 0, p = 0;
	int line = 0;
	int rc = -1;

	*out = NULL;
	if (n56_check_text(name, buf, len, d) < 0)
		return -1;
	while (p < len && !too_many(&c) && !c.oom) {
		size_t ls = p, e = p, end, cut, k, nbs = 0;
		int bs = 0;
		bool more;

		line++;
		while (e < len && buf[e] != '\n')
			e++;
		end = e;
		if (end > ls && buf[end - 1] == '\r')
			end--;
		p = e < len ? e + 1 : e;
		/* A '#' after an even number of backslashes starts a
		 * comment. */
		cut = end;
		for (size_t i = ls; i < end; i++) {
			if (buf[i] == '#' && bs % 2 == 0) {
				cut = i;
				break;
			}
			bs = buf[i] == '\\' ? bs + 1 : 0;
		}
		/* An odd number of backslashes at the end continues the
		 * line on the next (blanks after them allowed); the line
		 * break reads as a space. */
		k = cut;
		while (k > ls && isspace((unsigned char)buf[k - 1]))
			k--;
		while (k > ls && buf[k - 1] == '\\') {
			k--;
			nbs++;
		}
		more = nbs % 2 == 1;
		if (more)
			cut = k + nbs - 1;
		if (n + (cut - ls) + 2 > cap) {
			size_t ncap = (n + (cut - ls) + 2) * 2;
			struct lchar *nl = realloc(l, ncap * sizeof(*nl));

			if (!nl) {
				c.oom = true;
				break;
			}
			l = nl;
			cap = ncap;
		}
		for (size_t i = ls; i < cut; i++)
			l[n++] = (struct lchar){ buf[i], line,
						 (int)(i - ls + 1) };
		if (more && p < len) {
			l[n++] = (struct lchar){ ' ', line,
						 (int)(cut - ls + 1) };
			continue;
		}
		conf_line(&c, l, unescape(l, n));
		n = 0;
	}
	if (n && !too_many(&c) && !c.oom)
		conf_line(&c, l, unescape(l, n));
	free(l);
	if (c.oom) {
		n56_diag_add(d, name, (struct n56_pos){ 0, 0 },
			     "out of memory");
		goto out;
	}
	if (d->n != c.before)
		goto out;
	rc = finish(name, &c.r, NULL, out, d);
out:
	raw_free(&c.r);
	return rc;
}

/* ---- topology.yaml ---- */

struct ytopo {
	struct n56_str name;
	struct n56_bool cluster_default;
	const char *kind; /* "block", "tree", ... ; NULL when none */
	int nkinds;
	struct n56_pos pos;
	struct n56_intlist sizes;
	struct raw blocks;
};

struct ydoc {
	struct ytopo *v;
	size_t n;
};

static void ytopo_clear(struct ytopo *t)
{
	n56_str_clear(&t->name);
	n56_intlist_clear(&t->sizes);
	raw_free(&t->blocks);
}

static void kind(struct ytopo *t, const char *k)
{
	t->kind = k;
	t->nkinds++;
}

/* Only the block topologies are read; the others are Slurm's alone. */
static void kind_tree(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      void *dst)
{
	(void)y, (void)n, (void)path;
	kind(dst, "tree");
}

static void kind_flat(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      void *dst)
{
	(void)y, (void)n, (void)path;
	kind(dst, "flat");
}

static void kind_ring(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      void *dst)
{
	(void)y, (void)n, (void)path;
	kind(dst, "ring");
}

static void kind_torus3d(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 void *dst)
{
	(void)y, (void)n, (void)path;
	kind(dst, "torus3d");
}

static void read_yblock(struct n56_yctx *y, yaml_node_t *n, const char *path,
			struct raw *r)
{
	struct n56_str name = { 0 }, nodes = { 0 };
	const struct n56_ykey keys[] = {
		{ .name = "block",
		  .type = N56_Y_STR,
		  .dst = &name,
		  .required = true },
		{ .name = "nodes", .type = N56_Y_STR, .dst = &nodes },
	};
	size_t before = y->nerr;
	struct raw_block *b;

	n56_ywalk_map(y, n, path, keys, sizeof(keys) / sizeof(keys[0]));
	if (y->nerr != before || !(b = raw_add(r))) {
		if (y->nerr == before)
			n56_yerr(y, n, "out of memory");
		n56_str_clear(&name);
		n56_str_clear(&nodes);
		return;
	}
	b->name = name.v;
	b->pos = name.pos;
	b->nodes = nodes.v;
	b->nodes_pos = nodes.pos;
}

static void read_yblocks(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 void *dst)
{
	struct ytopo *t = dst;

	if (!n || n->type != YAML_SEQUENCE_NODE) {
		n56_yerr(y, n, "%s: expected a list of {block, nodes}, got %s",
			 path, n56_ynode_kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top && y->nerr <= N56_MAX_ERRORS;
	     it++) {
		char sub[300];

		snprintf(sub, sizeof(sub), "%.256s[%ld]", path,
			 (long)(it - n->data.sequence.items.start));
		read_yblock(y, yaml_document_get_node(&y->doc, *it), sub,
			    &t->blocks);
	}
}

static void walk_yblock(struct n56_yctx *y, yaml_node_t *n, const char *path,
			void *dst)
{
	struct ytopo *t = dst;
	const struct n56_ykey keys[] = {
		{ .name = "block_sizes",
		  .type = N56_Y_INTLIST,
		  .dst = &t->sizes,
		  .min = 1,
		  .max = N56_SLURM_MAX_BLOCK_SIZE },
		{ .name = "blocks",
		  .type = N56_Y_CUSTOM,
		  .walk = read_yblocks,
		  .dst = t,
		  .required = true },
	};

	kind(t, "block");
	n56_ywalk_map(y, n, path, keys, sizeof(keys) / sizeof(keys[0]));
	if (t->sizes.n > N56_SLURM_MAX_BLOCK_SIZES) {
		n56_yerr_at(y, t->sizes.pos,
			    "%s.block_sizes: more than %d "
			    "sizes",
			    path, N56_SLURM_MAX_BLOCK_SIZES);
		return;
	}
	for (size_t i = 0; i < t->sizes.n; i++) {
		t->blocks.sizes[i] = t->sizes.v[i];
		if (check_size(y->d, y->file, t->sizes.item_pos[i],
			       t->blocks.sizes, i)) {
			y->nerr++;
			t->blocks.nsizes = 0;
			return;
		}
		t->blocks.nsizes = i + 1;
	}
}

static void read_ytopo(struct n56_yctx *y, yaml_node_t *n, const char *path,
		       struct ytopo *t)
{
	const struct n56_ykey keys[] = {
		{ .name = "topology",
		  .type = N56_Y_STR,
		  .dst = &t->name,
		  .required = true },
		{ .name = "cluster_default",
		  .type = N56_Y_BOOL,
		  .dst = &t->cluster_default },
		{ .name = "block",
		  .type = N56_Y_MAP,
		  .walk = walk_yblock,
		  .dst = t },
		{ .name = "tree",
		  .type = N56_Y_CUSTOM,
		  .walk = kind_tree,
		  .dst = t },
		{ .name = "flat",
		  .type = N56_Y_CUSTOM,
		  .walk = kind_flat,
		  .dst = t },
		{ .name = "ring",
		  .type = N56_Y_CUSTOM,
		  .walk = kind_ring,
		  .dst = t },
		{ .name = "torus3d",
		  .type = N56_Y_CUSTOM,
		  .walk = kind_torus3d,
		  .dst = t },
	};
	size_t before = y->nerr;

	t->pos = n56_ypos(n);
	n56_ywalk_map(y, n, path, keys, sizeof(keys) / sizeof(keys[0]));
	if (y->nerr == before && t->nkinds != 1)
		n56_yerr(y, n,
			 "%s: topology '%s' needs exactly one of block, "
			 "flat, ring, torus3d and tree (it has %d)",
			 path, t->name.v, t->nkinds);
}

/* "a, b, c" of the names of the topologies that are `k` (NULL: all). */
static void names_of(const struct ydoc *doc, const char *k, char *buf,
		     size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < doc->n; i++) {
		int w;

		if (k && (!doc->v[i].kind || strcmp(doc->v[i].kind, k)))
			continue;
		w = snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
			     doc->v[i].name.v);
		if (w < 0 || (size_t)w >= len - at)
			break;
		at += (size_t)w;
	}
}

/* The topology whose blocks are the NVLink domains, or NULL after a
 * diagnostic. */
static struct ytopo *choose(struct n56_yctx *y, struct ydoc *doc,
			    const char *want, const char *policy)
{
	char names[512];
	struct ytopo *only = NULL;
	size_t nblock = 0;

	if (!policy)
		policy = "the site policy";
	if (want) {
		for (size_t i = 0; i < doc->n; i++) {
			struct ytopo *t = &doc->v[i];

			if (strcmp(t->name.v, want))
				continue;
			if (strcmp(t->kind, "block")) {
				n56_yerr_at(y, t->name.pos,
					    "topology '%s' "
					    "(topology.slurm_topology in %s) "
					    "is a %s topology, not block",
					    want, policy, t->kind);
				return NULL;
			}
			return t;
		}
		names_of(doc, NULL, names, sizeof(names));
		n56_yerr_at(y, (struct n56_pos){ 0, 0 },
			    "no topology '%s' "
			    "(topology.slurm_topology in %s); the file has: "
			    "%s",
			    want, policy, names);
		return NULL;
	}
	for (size_t i = 0; i < doc->n; i++) {
		struct ytopo *t = &doc->v[i];

		if (t->cluster_default.v) {
			if (!strcmp(t->kind, "block"))
				return t;
			break;
		}
	}
	for (size_t i = 0; i < doc->n; i++)
		if (!strcmp(doc->v[i].kind, "block")) {
			only = &doc->v[i];
			nblock++;
		}
	if (nblock == 1)
		return only;
	if (!nblock) {
		n56_yerr_at(y, (struct n56_pos){ 0, 0 },
			    "no block topology: "
			    "island_source slurm-block reads the blocks of a "
			    "topology with block: {block_sizes, blocks} "
			    "(topology.yaml(5))");
		return NULL;
	}
	names_of(doc, "block", names, sizeof(names));
	n56_yerr_at(y, (struct n56_pos){ 0, 0 },
		    "%zu block topologies (%s) "
		    "and none is the cluster default: name the one whose "
		    "blocks are NVLink domains with topology.slurm_topology "
		    "in %s",
		    nblock, names, policy);
	return NULL;
}

int n56_slurm_blocks_parse_yaml(const char *name, const char *buf, size_t len,
				const char *topology, const char *policy,
				struct n56_slurm_blocks **out,
				struct n56_diags *d)
{
	struct n56_yctx y = { .file = name, .top = "topology.yaml", .d = d };
	struct ydoc doc = { 0 };
	yaml_node_t *root;
	struct ytopo *t;
	int rc = -1;

	*out = NULL;
	if (n56_yload_doc(&y, buf, len, &root) < 0)
		goto out;
	if (!root) {
		n56_yerr_at(&y, (struct n56_pos){ 0, 0 },
			    "empty topology.yaml: "
			    "expected a list of topologies (- topology: NAME "
			    "with block: {block_sizes, blocks})");
		goto out;
	}
	if (root->type != YAML_SEQUENCE_NODE) {
		n56_yerr(&y, root,
			 "expected a list of topologies (- topology: "
			 "NAME ...) at the top, got %s",
			 n56_ynode_kind(root));
		goto out;
	}
	doc.n = (size_t)(root->data.sequence.items.top -
			 root->data.sequence.items.start);
	doc.v = calloc(doc.n ? doc.n : 1, sizeof(*doc.v));
	if (!doc.v) {
		n56_yerr(&y, root, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < doc.n && y.nerr <= N56_MAX_ERRORS; i++) {
		char path[32];

		snprintf(path, sizeof(path), "[%zu]", i);
		read_ytopo(&y,
			   yaml_document_get_node(
				   &y.doc, root->data.sequence.items.start[i]),
			   path, &doc.v[i]);
	}
	for (size_t i = 0; i < doc.n && !y.nerr; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(doc.v[i].name.v, doc.v[j].name.v)) {
				n56_yerr_at(&y, doc.v[i].name.pos,
					    "topology "
					    "'%s' is already defined on line "
					    "%d",
					    doc.v[i].name.v,
					    doc.v[j].name.pos.line);
				break;
			}
	if (y.nerr)
		goto out;
	if (!doc.n) {
		n56_yerr_at(&y, (struct n56_pos){ 0, 0 },
			    "no topology: "
			    "expected a list of topologies (- topology: NAME "
			    "with block: {block_sizes, blocks})");
		goto out;
	}
	t = choose(&y, &doc, topology, policy);
	if (t)
		rc = finish(name, &t->blocks, t->name.v, out, d);
out:
	for (size_t i = 0; i < doc.n; i++)
		ytopo_clear(&doc.v[i]);
	free(doc.v);
	n56_yctx_free(&y);
	return rc;
}

/* ---- where Slurm keeps it ---- */

static bool yaml_name(const char *path)
{
	size_t n = strlen(path);

	return (n >= 5 && !strcmp(path + n - 5, ".yaml")) ||
	       (n >= 4 && !strcmp(path + n - 4, ".yml"));
}

int n56_slurm_blocks_load(const char *slurm_conf, const char *file,
			  const char *topology, const char *policy,
			  struct n56_slurm_blocks **out, struct n56_diags *d)
{
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	bool yaml;
	int rc = -1;

	*out = NULL;
	if (!policy)
		policy = "the site policy";
	if (file) {
		if (!(path = strdup(file)))
			goto oom;
		yaml = yaml_name(path);
	} else {
		const char *conf = slurm_conf && *slurm_conf
					   ? slurm_conf
					   : N56_SLURM_CONF_DEFAULT;
		const char *slash = strrchr(conf, '/');
		int dirlen = slash ? (int)(slash - conf) : 1;
		const char *dir = slash ? conf : ".";

		if (slash == conf)
			dirlen = 0; /* "/slurm.conf": the root */
		if (asprintf(&path, "%.*s/topology.yaml", dirlen, dir) < 0) {
			path = NULL;
			goto oom;
		}
		yaml = access(path, F_OK) == 0;
		if (!yaml) {
			free(path);
			if (asprintf(&path, "%.*s/topology.conf", dirlen, dir) <
			    0) {
				path = NULL;
				goto oom;
			}
			if (access(path, F_OK)) {
				n56_diag_add(d, path, (struct n56_pos){ 0, 0 },
					     "cannot open: no topology.yaml or "
					     "topology.conf beside %s; "
					     "island_source slurm-block in %s "
					     "reads Slurm's topology/block "
					     "configuration (or the file "
					     "topology.slurm_topology_file "
					     "names)",
					     conf, policy);
				goto out;
			}
		}
	}
	if (!yaml && topology) {
		n56_diag_add(d, path, (struct n56_pos){ 0, 0 },
			     "topology."
			     "slurm_topology '%s' in %s names a topology of "
			     "a topology.yaml, and this is a topology.conf",
			     topology, policy);
		goto out;
	}
	if (n56_read_file(path, N56_SLURM_TOPOLOGY_MAX_BYTES, &buf, &len, d))
		goto out;
	rc = yaml ? n56_slurm_blocks_parse_yaml(path, buf, len, topology,
						policy, out, d)
		  : n56_slurm_blocks_parse_conf(path, buf, len, out, d);
	goto out;
oom:
	n56_diag_add(d, file ? file : "topology", (struct n56_pos){ 0, 0 },
		     "out of memory");
out:
	free(buf);
	free(path);
	return rc;
}

/* ---- the policy's admin map from the blocks ---- */

static bool uses_blocks(const struct n56_policy *p)
{
	return p && p->topology.island_source.v &&
	       !strcmp(p->topology.island_source.v, "slurm-block");
}

int n56_policy_slurm_blocks(struct n56_policy *p, const char *slurm_conf,
			    struct n56_diags *d)
{
	struct n56_slurm_blocks *b = NULL;
	struct n56_island_map_entry *v;
	size_t n = 0;

	if (!uses_blocks(p) || p->topology.islands_from)
		return 0;
	if (n56_slurm_blocks_load(slurm_conf, p->topology.slurm_topology_file.v,
				  p->topology.slurm_topology.v, p->path, &b, d))
		return -1;
	v = calloc(b->n, sizeof(*v));
	if (!v || !(p->topology.islands_from = strdup(b->file))) {
		free(v);
		n56_slurm_blocks_free(b);
		n56_diag_add(d, p->path, (struct n56_pos){ 0, 0 },
			     "out of memory");
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (!b->v[i].nodes)
			continue;
		v[n].nodes = b->v[i].nodes;
		v[n].domain = b->v[i].name;
		v[n].pos = b->v[i].pos;
		b->v[i].nodes = b->v[i].name = NULL;
		n++;
	}
	n56_slurm_blocks_free(b);
	free(p->topology.islands);
	p->topology.islands = v;
	p->topology.nislands = n;
	return 0;
}

const char *n56_site_islands_by(const struct n56_policy *p)
{
	return p && p->topology.islands_from ? "Slurm's block topology"
					     : "the admin map";
}

void n56_site_islands_fix(const struct n56_policy *p, const char *path,
			  char *buf, size_t len)
{
	if (p && p->topology.islands_from)
		snprintf(buf, len, "the blocks of %s",
			 p->topology.islands_from);
	else
		snprintf(buf, len, "topology.islands in %s",
			 path		? path
			 : p && p->path ? p->path
					: "the site policy");
}

/* ---- the step's nodes against the blocks ---- */

/* The block (admin map entry) of host, or -1; *hint is the last hit,
 * tried first (a job's nodes come block by block). -2 on a bad list. */
static long block_of(const struct n56_policy *p, const char *host, long *hint,
		     char *err, size_t errlen)
{
	char shorthost[256];
	size_t n = p->topology.nislands;

	snprintf(shorthost, sizeof(shorthost), "%s", host);
	shorthost[strcspn(shorthost, ".")] = '\0';
	for (size_t k = 0; k <= n; k++) {
		size_t b = k == 0 ? (size_t)(*hint >= 0 ? *hint : 0) : k - 1;
		const char *expr = p->topology.islands[b].nodes;
		int m;

		if (k > 0 && (long)b == *hint)
			continue;
		if (k == 0 && *hint < 0)
			continue;
		m = n56_hostlist_match(expr, host, err, errlen);
		if (m == 0 && strcmp(host, shorthost))
			m = n56_hostlist_match(expr, shorthost, err, errlen);
		if (m < 0)
			return -2;
		if (m) {
			*hint = (long)b;
			return (long)b;
		}
	}
	return -1;
}

static long gcd(long a, long b)
{
	while (b) {
		long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void side(const struct n56_policy *p, long dom, const char *host,
		 char *buf, size_t len)
{
	if (dom >= 0)
		snprintf(buf, len, "block %s (%s)",
			 p->topology.islands[dom].domain,
			 p->topology.islands[dom].nodes);
	else
		snprintf(buf, len, "%s, which is in no block", host);
}

/* The most nodes a block of p has (0 when none can be counted). */
static long largest_block(const struct n56_policy *p)
{
	long most = 0;

	for (size_t k = 0; k < p->topology.nislands; k++) {
		char msg[256];
		long c = n56_hostlist_count(p->topology.islands[k].nodes, msg,
					    sizeof(msg));

		if (c > most)
			most = c;
	}
	return most;
}

/* The first group of `group` ranks that would cross blocks: the message,
 * and -1; 0 when none does. */
static int crossing(const struct n56_policy *p, char *const *hosts,
		    size_t nhosts, const long *dom, long gpn, long group,
		    const char *what, const char *size_name, char *err,
		    size_t errlen)
{
	if (group <= 1)
		return 0;
	for (size_t i = 0; i + 1 < nhosts; i++) {
		long r = (long)(i + 1) * gpn, g = r / group;
		/* The nodes one group spans, and so the segment size that
		 * keeps every group in one block. */
		long k = group / gcd(group, gpn), most;
		char a[512], b[512], todo[512];

		if (r % group == 0 || (dom[i] >= 0 && dom[i] == dom[i + 1]))
			continue;
		side(p, dom[i], hosts[i], a, sizeof(a));
		side(p, dom[i + 1], hosts[i + 1], b, sizeof(b));
		most = largest_block(p);
		if (k <= most)
			snprintf(todo, sizeof(todo),
				 "Ask Slurm for whole segments of one block "
				 "with --segment=%ld (or a multiple of %ld "
				 "that divides the job's %zu nodes; Slurm "
				 "24.05+) or for the nodes of one block, or "
				 "make %s at most %ld (the GPUs of a node)",
				 k, k, nhosts, size_name, gpn);
		else
			snprintf(todo, sizeof(todo),
				 "No block holds the %ld nodes a group spans "
				 "(the largest has %ld): make %s at most %ld "
				 "(%ld node%s of %ld GPUs)",
				 k, most, size_name,
				 most > 0 ? most * gpn : gpn,
				 most > 0 ? most : 1, most > 1 ? "s" : "", gpn);
		n56_set_err(err, errlen,
			    "%s group %ld (ranks %ld-%ld, %s %ld) would span "
			    "%s and %s, at the job's nodes %s and %s: the "
			    "blocks of %s are separate NVLink domains. %s",
			    what, g, g * group, g * group + group - 1,
			    size_name, group, a, b, hosts[i], hosts[i + 1],
			    p->topology.islands_from, todo);
		return -1;
	}
	return 0;
}

int n56_placer_slurm_blocks(struct n56_placer *pl, const struct n56_policy *p,
			    char *const *hosts, size_t nhosts,
			    struct n56_place_report *rep, char *err,
			    size_t errlen)
{
	const struct n56_parallel *par;
	long *dom, hint = -1, gpn, ep;
	int rc = -1;

	if (!uses_blocks(p))
		return 0;
	if (!pl || !p->topology.islands_from) {
		n56_set_err(err, errlen,
			    "island_source slurm-block: Slurm's "
			    "blocks were not read");
		return -1;
	}
	if ((long)nhosts != n56_placer_nodes(pl) || !hosts) {
		n56_set_err(err, errlen,
			    "the step has %zu node names for %ld "
			    "nodes",
			    nhosts, n56_placer_nodes(pl));
		return -1;
	}
	par = n56_placer_parallel(pl);
	gpn = n56_placer_gpus(pl);
	dom = malloc(sizeof(*dom) * (nhosts ? nhosts : 1));
	if (!dom) {
		n56_set_err(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < nhosts; i++) {
		char msg[512];

		dom[i] = block_of(p, hosts[i], &hint, msg, sizeof(msg));
		if (dom[i] == -2) {
			n56_set_err(err, errlen, "%s: %s",
				    p->topology.islands_from, msg);
			goto out;
		}
	}
	ep = par->etp * par->ep;
	if (crossing(p, hosts, nhosts, dom, gpn, par->tp, "TP", "tp", err,
		     errlen) ||
	    (ep != par->tp && crossing(p, hosts, nhosts, dom, gpn, ep, "expert",
				       "etp*ep", err, errlen)))
		goto out;
	if (n56_placer_set_node_domains(pl, dom, (long)nhosts, rep, err,
					errlen))
		goto out;
	rc = 0;
out:
	free(dom);
	return rc;
}
