#include "policy/yamlutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values quoted in messages are cut to this many bytes: a megabyte-long
 * scalar must not become a megabyte-long error line. */
#define SHOWN "%.60s"

struct n56_pos n56_ypos(const yaml_node_t *node)
{
	struct n56_pos p = { 0, 0 };

	if (node) {
		p.line = (int)node->start_mark.line + 1;
		p.col = (int)node->start_mark.column + 1;
	}
	return p;
}

static void __attribute__((format(printf, 3, 0)))
vadd(struct n56_yctx *y, struct n56_pos pos, const char *fmt, va_list ap)
{
	char *msg = NULL;

	/* A file of a million mistakes gets the first few reported and the
	 * parse cut short, not a million lines. */
	if (y->nerr >= N56_MAX_ERRORS) {
		if (y->nerr++ == N56_MAX_ERRORS)
			n56_diag_add(y->d, y->file, pos,
				     "too many errors "
				     "(more than %d); stopping here",
				     N56_MAX_ERRORS);
		return;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	n56_diag_add(y->d, y->file, pos, "%s", msg ? msg : "out of memory");
	free(msg);
	y->nerr++;
}

void n56_yerr_at(struct n56_yctx *y, struct n56_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(y, pos, fmt, ap);
	va_end(ap);
}

void n56_yerr(struct n56_yctx *y, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(y, n56_ypos(node), fmt, ap);
	va_end(ap);
}

bool n56_env_name_valid(const char *s)
{
	if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z')))
		return false;
	for (s++; *s; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* Optimal string alignment distance: a swapped pair of letters ("modle")
 * counts as one edit, as people make that typo most. */
size_t n56_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *d, r;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	d = calloc((la + 1) * (lb + 1), sizeof(*d));
	if (!d)
		return SIZE_MAX;
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

int n56_check_text(const char *name, const char *buf, size_t len,
		   struct n56_diags *d)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned long cp;

		/* Control characters other than tab and line ends are
		 * binary too; libyaml would refuse them less clearly. */
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7f)
			goto binary;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			goto binary;
		}
		if (len - i - 1 < n)
			goto binary;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto binary;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and values past U+10FFFF
		 * are not text either. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto binary;
		i += n + 1;
	}
	return 0;
binary:
	n56_diag_add(d, name, (struct n56_pos){ 0, 0 },
		     "not a text file (binary data at byte %zu)", i + 1);
	return -1;
}

/* libyaml's own message, placed at its problem mark. A tab is the most
 * common cause and libyaml's words do not mention it, so we do. */
static void parser_error(struct n56_yctx *y, const yaml_parser_t *p,
			 const char *buf, size_t len)
{
	struct n56_pos pos;
	const char *hint = "";

	if (p->error == YAML_MEMORY_ERROR) {
		n56_yerr_at(y, (struct n56_pos){ 0, 0 }, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		n56_yerr_at(y, (struct n56_pos){ 0, 0 }, "%s at byte %zu",
			    p->problem ? p->problem : "unreadable input",
			    p->problem_offset + 1);
		return;
	}
	pos.line = (int)p->problem_mark.line + 1;
	pos.col = (int)p->problem_mark.column + 1;
	if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t')
		hint = "; YAML does not allow tabs here: indent with spaces";
	if (p->context)
		n56_yerr_at(y, pos, "%s (%s)%s",
			    p->problem ? p->problem : "syntax error",
			    p->context, hint);
	else
		n56_yerr_at(y, pos, "%s%s",
			    p->problem ? p->problem : "syntax error", hint);
}

static struct n56_pos mark_pos(yaml_mark_t m)
{
	return (struct n56_pos){ (int)m.line + 1, (int)m.column + 1 };
}

/* First pass over the events: syntax errors, anchors, aliases and extra
 * documents are refused before the tree is built. An alias makes one node
 * appear in many places (exponentially many, in a "billion laughs"), and
 * a recipe never needs one. */
static int check_events(struct n56_yctx *y, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int docs = 0, depth = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		n56_yerr_at(y, (struct n56_pos){ 0, 0 }, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		const yaml_char_t *anchor = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(y, &p, buf, len);
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs == 2) {
				n56_yerr_at(y, mark_pos(ev.start_mark),
					    "a second YAML document: only one "
					    "is allowed (remove this '---' "
					    "and what follows)");
				rc = -1;
			}
			break;
		case YAML_ALIAS_EVENT:
			n56_yerr_at(y, mark_pos(ev.start_mark),
				    "aliases (*" SHOWN ") are not supported: "
				    "write the value out",
				    (const char *)ev.data.alias.anchor);
			rc = -1;
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		/* libyaml's scanner costs O(depth) per token, so deep
		 * nesting ("[[[[...") is quadratic: stop long before. */
		if (depth > N56_MAX_DEPTH) {
			n56_yerr_at(y, mark_pos(ev.start_mark),
				    "nested more than %d levels deep (these "
				    "files need at most 5)",
				    N56_MAX_DEPTH);
			rc = -1;
			done = true;
		}
		if (anchor) {
			n56_yerr_at(y, mark_pos(ev.start_mark),
				    "anchors (&" SHOWN ") are not supported: "
				    "write each value out",
				    (const char *)anchor);
			rc = -1;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

int n56_yload_doc(struct n56_yctx *y, const char *buf, size_t len,
		  yaml_node_t **root)
{
	yaml_parser_t p;
	yaml_node_t *r;
	struct n56_pos nopos = { 0, 0 };

	*root = NULL;
	if (n56_check_text(y->file, buf, len, y->d) < 0) {
		y->nerr++;
		return -1;
	}
	if (check_events(y, buf, len) < 0)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		n56_yerr_at(y, nopos, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &y->doc)) {
		parser_error(y, &p, buf, len);
		yaml_parser_delete(&p);
		return -1;
	}
	y->loaded = true;
	yaml_parser_delete(&p);
	r = yaml_document_get_root_node(&y->doc);
	/* No document, or "---" alone: nothing was written. */
	if (r && !(r->type == YAML_SCALAR_NODE && r->data.scalar.length == 0 &&
		   r->data.scalar.style == YAML_PLAIN_SCALAR_STYLE))
		*root = r;
	return 0;
}

yaml_node_t *n56_yload(struct n56_yctx *y, const char *what, const char *buf,
		       size_t len)
{
	yaml_node_t *root;
	struct n56_pos nopos = { 0, 0 };

	if (n56_yload_doc(y, buf, len, &root) < 0)
		return NULL;
	if (!root) {
		n56_yerr_at(y, nopos,
			    "empty %s: expected a mapping with 'schema: 1'",
			    what);
		return NULL;
	}
	if (root->type != YAML_MAPPING_NODE) {
		n56_yerr(y, root,
			 "expected a mapping with 'schema: 1' at the top, "
			 "got %s",
			 n56_ynode_kind(root));
		return NULL;
	}
	return root;
}

void n56_yctx_free(struct n56_yctx *y)
{
	if (y && y->loaded) {
		yaml_document_delete(&y->doc);
		y->loaded = false;
	}
}

const char *n56_ynode_kind(const yaml_node_t *node)
{
	if (!node)
		return "nothing";
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

/* Builds a key path for messages; a path too long for the buffer is cut,
 * which only shortens a message. */
static void __attribute__((format(printf, 3, 4)))
key_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(buf, len, fmt, ap) < 0 && len)
		buf[0] = '\0';
	va_end(ap);
}

static bool is_plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* Says what was found where a typed scalar was expected, e.g. "'two'",
 * "a mapping", "an empty value", "a quoted string '2'". Writes into buf. */
static const char *describe(const yaml_node_t *n, char *buf, size_t len)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return n56_ynode_kind(n);
	if (n->data.scalar.length == 0 && is_plain(n))
		return "an empty value";
	snprintf(buf, len, "%s'" SHOWN "'",
		 is_plain(n) ? "" : "a quoted string ",
		 (const char *)n->data.scalar.value);
	return buf;
}

/* The text of a scalar, or NULL (with a diagnostic) when the node is not
 * a scalar or hides a NUL byte behind an escape. */
static const char *scalar_text(struct n56_yctx *y, yaml_node_t *n,
			       const char *path, const char *expected)
{
	char got[96];

	if (!n || n->type != YAML_SCALAR_NODE) {
		n56_yerr(y, n, "%s: expected %s, got %s", path, expected,
			 describe(n, got, sizeof(got)));
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length) {
		n56_yerr(y, n, "%s: a NUL character is not allowed", path);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* Decimal integers only: "0x10", "1e3" and "1_000" are refused rather than
 * guessed at. */
static bool read_long(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      long min, long max, long *out)
{
	const char *s = scalar_text(y, n, path, "an integer");
	char got[96];
	const char *p;
	char *end;
	long v;

	if (!s)
		return false;
	p = s + (*s == '-' || *s == '+');
	if (!is_plain(n) || !*p || strspn(p, "0123456789") != strlen(p)) {
		n56_yerr(y, n, "%s: expected an integer, got %s", path,
			 describe(n, got, sizeof(got)));
		return false;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || v < min || v > max) {
		n56_yerr(y, n, "%s: " SHOWN " is out of range (%ld to %ld)",
			 path, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static void read_int(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     const struct n56_ykey *k)
{
	struct n56_int *dst = k->dst;
	long v;

	if (!read_long(y, n, path, k->min, k->max, &v))
		return;
	dst->v = v;
	dst->set = true;
	dst->pos = n56_ypos(n);
}

static void read_bool(struct n56_yctx *y, yaml_node_t *n, const char *path,
		      struct n56_bool *dst)
{
	const char *s = scalar_text(y, n, path, "true or false");
	char got[96];

	if (!s)
		return;
	/* Only the two YAML 1.2 spellings: "yes", "on" and "1" mean
	 * different things to different readers. */
	if (!is_plain(n) || (strcmp(s, "true") && strcmp(s, "false"))) {
		n56_yerr(y, n, "%s: expected true or false, got %s", path,
			 describe(n, got, sizeof(got)));
		return;
	}
	dst->v = !strcmp(s, "true");
	dst->set = true;
	dst->pos = n56_ypos(n);
}

static void read_num(struct n56_yctx *y, yaml_node_t *n, const char *path,
		     struct n56_num *dst)
{
	const char *s = scalar_text(y, n, path, "a number");
	char got[96];
	char *end, *text;
	double v;

	if (!s)
		return;
	/* strtod also takes "inf", "nan" and hex floats; none of them is a
	 * sensible coefficient or cost. */
	if (!is_plain(n) || !*s || strspn(s, "0123456789.eE+-") != strlen(s)) {
		n56_yerr(y, n, "%s: expected a number, got %s", path,
			 describe(n, got, sizeof(got)));
		return;
	}
	errno = 0;
	v = strtod(s, &end);
	if (*end || end == s) {
		n56_yerr(y, n, "%s: expected a number, got %s", path,
			 describe(n, got, sizeof(got)));
		return;
	}
	if (errno == ERANGE || !isfinite(v) || v < 0) {
		n56_yerr(y, n,
			 "%s: " SHOWN " is out of range (a number "
			 "from 0 up)",
			 path, s);
		return;
	}
	text = strdup(s);
	if (!text) {
		n56_yerr(y, n, "out of memory");
		return;
	}
	free(dst->text);
	dst->text = text;
	dst->v = v;
	dst->pos = n56_ypos(n);
}

static bool in_choices(const char *s, const char *const *choices)
{
	for (size_t i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return true;
	return false;
}

static void choices_err(struct n56_yctx *y, yaml_node_t *n, const char *path,
			const char *s, const char *const *choices)
{
	char list[512] = "";
	size_t used = 0;

	for (size_t i = 0; choices[i] && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? ", " : "", choices[i]);
	n56_yerr(y, n, "%s: '" SHOWN "' is not one of: %s", path, s, list);
}

/* A non-empty string, optionally one of `choices`; NULL after an error. */
static const char *string_value(struct n56_yctx *y, yaml_node_t *n,
				const char *path, const char *const *choices)
{
	const char *s = scalar_text(y, n, path, "a string");
	char got[96];

	if (!s)
		return NULL;
	if (!*s) {
		n56_yerr(y, n, "%s: expected a string, got %s", path,
			 describe(n, got, sizeof(got)));
		return NULL;
	}
	if (choices && !in_choices(s, choices)) {
		choices_err(y, n, path, s, choices);
		return NULL;
	}
	return s;
}

void n56_yread_str(struct n56_yctx *y, yaml_node_t *n, const char *path,
		   struct n56_str *dst, const char *const *choices)
{
	const char *s = string_value(y, n, path, choices);
	char *copy;

	if (!s)
		return;
	copy = strdup(s);
	if (!copy) {
		n56_yerr(y, n, "out of memory");
		return;
	}
	free(dst->v);
	dst->v = copy;
	dst->set = true;
	dst->pos = n56_ypos(n);
}

static bool expect_seq(struct n56_yctx *y, yaml_node_t *n, const char *path,
		       const char *expected)
{
	char got[96];

	if (n && n->type == YAML_SEQUENCE_NODE)
		return true;
	n56_yerr(y, n, "%s: expected %s, got %s", path, expected,
		 describe(n, got, sizeof(got)));
	return false;
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
			n->data.sequence.items.start);
}

static void read_intlist(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 const struct n56_ykey *k)
{
	struct n56_intlist *dst = k->dst;
	size_t cnt, ok = 0;
	long *v;
	struct n56_pos *ipos;
	bool bad = false;

	if (!expect_seq(y, n, path, "a list of integers"))
		return;
	cnt = seq_len(n);
	v = calloc(cnt + 1, sizeof(*v));
	ipos = calloc(cnt + 1, sizeof(*ipos));
	if (!v || !ipos) {
		n56_yerr(y, n, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cnt && y->nerr <= N56_MAX_ERRORS; i++) {
		yaml_node_t *it = yaml_document_get_node(
			&y->doc, n->data.sequence.items.start[i]);
		char ipath[256];

		key_path(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (!read_long(y, it, ipath, k->min, k->max, &v[ok])) {
			bad = true;
			continue;
		}
		ipos[ok++] = n56_ypos(it);
	}
	if (bad || ok < cnt) /* a bad item, or cut short by errors */
		goto out;
	free(dst->v);
	free(dst->item_pos);
	dst->v = v;
	dst->item_pos = ipos;
	dst->n = ok;
	dst->set = true;
	dst->pos = n56_ypos(n);
	v = NULL;
	ipos = NULL;
out:
	free(v);
	free(ipos);
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void read_strlist(struct n56_yctx *y, yaml_node_t *n, const char *path,
			 const struct n56_ykey *k)
{
	struct n56_strlist *dst = k->dst;
	size_t cnt, ok = 0;
	char **v;
	struct n56_pos *ipos;
	bool bad = false;

	if (!expect_seq(y, n, path, "a list of strings"))
		return;
	cnt = seq_len(n);
	v = calloc(cnt + 1, sizeof(*v));
	ipos = calloc(cnt + 1, sizeof(*ipos));
	if (!v || !ipos) {
		n56_yerr(y, n, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cnt && y->nerr <= N56_MAX_ERRORS; i++) {
		yaml_node_t *it = yaml_document_get_node(
			&y->doc, n->data.sequence.items.start[i]);
		char ipath[256];
		const char *s;

		key_path(ipath, sizeof(ipath), "%s[%zu]", path, i);
		s = string_value(y, it, ipath, k->choices);
		if (!s) {
			bad = true;
			continue;
		}
		v[ok] = strdup(s);
		if (!v[ok]) {
			n56_yerr(y, it, "out of memory");
			bad = true;
			continue;
		}
		ipos[ok++] = n56_ypos(it);
	}
	if (bad || ok < cnt) /* a bad item, or cut short by errors */
		goto out;
	free_strs(dst->v, dst->n);
	free(dst->item_pos);
	dst->v = v;
	dst->item_pos = ipos;
	dst->n = ok;
	dst->set = true;
	dst->pos = n56_ypos(n);
	v = NULL;
	ipos = NULL;
out:
	free_strs(v, ok);
	free(ipos);
}

static void free_kvs(struct n56_kv *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* NAME: value pairs, in file order. Numbers and booleans keep their text
 * ("1", "true") because that is what the environment will hold. */
static void read_kvmap(struct n56_yctx *y, yaml_node_t *n, const char *path,
		       struct n56_kvlist *dst)
{
	yaml_node_pair_t *pair;
	size_t cnt, ok = 0;
	struct n56_kv *v;
	bool bad = false;
	char got[96];

	if (!n || n->type != YAML_MAPPING_NODE) {
		n56_yerr(y, n, "%s: expected a mapping of NAME: value, got %s",
			 path, describe(n, got, sizeof(got)));
		return;
	}
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	/* Duplicates are found by comparing with every earlier name. */
	if (cnt > N56_MAX_VARS) {
		n56_yerr(y, n, "%s: too many variables (%zu, at most %d)", path,
			 cnt, N56_MAX_VARS);
		return;
	}
	v = calloc(cnt + 1, sizeof(*v));
	if (!v) {
		n56_yerr(y, n, "out of memory");
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top && y->nerr <= N56_MAX_ERRORS;
	     pair++) {
		yaml_node_t *kn = yaml_document_get_node(&y->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(&y->doc, pair->value);
		const char *name = scalar_text(y, kn, path, "a variable name");
		const char *val;
		char vpath[256];
		bool dup = false;

		if (!name) {
			bad = true;
			continue;
		}
		if (!n56_env_name_valid(name)) {
			n56_yerr(y, kn,
				 "%s: '" SHOWN "' is not a valid "
				 "environment variable name "
				 "([A-Za-z_][A-Za-z0-9_]*)",
				 path, name);
			bad = true;
			continue;
		}
		/* Against every earlier key, read well or not, so that a
		 * duplicate is named even when the first value was bad. */
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start;
		     q < pair && !dup; q++) {
			yaml_node_t *qn =
				yaml_document_get_node(&y->doc, q->key);
			if (qn && qn->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)qn->data.scalar.value,
				    name)) {
				n56_yerr(y, kn,
					 "duplicate key '%s' in %s "
					 "(first at line %d)",
					 name, path,
					 (int)qn->start_mark.line + 1);
				dup = true;
			}
		}
		if (dup) {
			bad = true;
			continue;
		}
		key_path(vpath, sizeof(vpath), "%s.%s", path, name);
		val = scalar_text(y, vn, vpath, "a value");
		if (!val) {
			bad = true;
			continue;
		}
		if (!*val && is_plain(vn)) {
			n56_yerr(y, vn,
				 "%s: expected a value, got an empty "
				 "value (write \"\" for an empty string)",
				 vpath);
			bad = true;
			continue;
		}
		v[ok].name = strdup(name);
		v[ok].value = strdup(val);
		v[ok].pos = n56_ypos(kn);
		if (!v[ok].name || !v[ok].value) {
			n56_yerr(y, kn, "out of memory");
			free(v[ok].name);
			free(v[ok].value);
			v[ok].name = v[ok].value = NULL;
			bad = true;
			continue;
		}
		ok++;
	}
	if (bad) {
		free_kvs(v, ok);
		return;
	}
	free_kvs(dst->v, dst->n);
	dst->v = v;
	dst->n = ok;
	dst->set = true;
	dst->pos = n56_ypos(n);
}

/* "did you mean" for a misspelt key; the list of keys when nothing is
 * close enough to be a plausible typo. */
static void unknown_key(struct n56_yctx *y, yaml_node_t *kn, const char *name,
			const char *where, const struct n56_ykey *keys,
			size_t nkeys)
{
	size_t best = SIZE_MAX, bi = 0;
	char list[768] = "";
	size_t used = 0;

	for (size_t i = 0; i < nkeys; i++) {
		size_t dist = n56_edit_distance(name, keys[i].name);
		if (dist < best) {
			best = dist;
			bi = i;
		}
	}
	if (nkeys && best <= (strlen(keys[bi].name) + 2) / 3) {
		n56_yerr(y, kn,
			 "unknown key '" SHOWN "' in %s (did you mean "
			 "'%s'?)",
			 name, where, keys[bi].name);
		return;
	}
	for (size_t i = 0; i < nkeys && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? ", " : "", keys[i].name);
	n56_yerr(y, kn, "unknown key '" SHOWN "' in %s (known keys: %s)", name,
		 where, list);
}

void n56_ywalk_map(struct n56_yctx *y, yaml_node_t *node, const char *path,
		   const struct n56_ykey *keys, size_t nkeys)
{
	const char *where = *path ? path : y->top;
	yaml_node_t **first;
	yaml_node_pair_t *pair;
	char got[96];

	if (!node || node->type != YAML_MAPPING_NODE) {
		n56_yerr(y, node, "%s: expected a mapping, got %s", where,
			 describe(node, got, sizeof(got)));
		return;
	}
	first = calloc(nkeys + 1, sizeof(*first));
	if (!first) {
		n56_yerr(y, node, "out of memory");
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top && y->nerr <= N56_MAX_ERRORS;
	     pair++) {
		yaml_node_t *kn = yaml_document_get_node(&y->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(&y->doc, pair->value);
		const char *name = scalar_text(y, kn, where, "a key name");
		const struct n56_ykey *k;
		char sub[256];
		size_t i;

		if (!name)
			continue;
		for (i = 0; i < nkeys; i++)
			if (!strcmp(keys[i].name, name))
				break;
		if (i == nkeys) {
			unknown_key(y, kn, name, where, keys, nkeys);
			continue;
		}
		if (first[i]) {
			n56_yerr(y, kn,
				 "duplicate key '%s' in %s (first at "
				 "line %d)",
				 name, where,
				 (int)first[i]->start_mark.line + 1);
			continue;
		}
		first[i] = kn;
		k = &keys[i];
		key_path(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "",
			 name);
		switch (k->type) {
		case N56_Y_INT:
			read_int(y, vn, sub, k);
			break;
		case N56_Y_BOOL:
			read_bool(y, vn, sub, k->dst);
			break;
		case N56_Y_STR:
			n56_yread_str(y, vn, sub, k->dst, k->choices);
			break;
		case N56_Y_NUM:
			read_num(y, vn, sub, k->dst);
			break;
		case N56_Y_INTLIST:
			read_intlist(y, vn, sub, k);
			break;
		case N56_Y_STRLIST:
			read_strlist(y, vn, sub, k);
			break;
		case N56_Y_KVMAP:
			read_kvmap(y, vn, sub, k->dst);
			break;
		case N56_Y_MAP:
		case N56_Y_CUSTOM:
			k->walk(y, vn, sub, k->dst);
			break;
		}
	}
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].required && !first[i])
			n56_yerr(y, node, "missing required key '%s' in %s",
				 keys[i].name, where);
	free(first);
}

void n56_str_clear(struct n56_str *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void n56_num_clear(struct n56_num *n)
{
	free(n->text);
	memset(n, 0, sizeof(*n));
}

void n56_intlist_clear(struct n56_intlist *l)
{
	free(l->v);
	free(l->item_pos);
	memset(l, 0, sizeof(*l));
}

void n56_strlist_clear(struct n56_strlist *l)
{
	free_strs(l->v, l->n);
	free(l->item_pos);
	memset(l, 0, sizeof(*l));
}

void n56_kvlist_clear(struct n56_kvlist *l)
{
	free_kvs(l->v, l->n);
	memset(l, 0, sizeof(*l));
}

int n56_str_default(struct n56_str *s, const char *v)
{
	char *copy = strdup(v);

	if (!copy)
		return -1;
	free(s->v);
	s->v = copy;
	s->set = false;
	return 0;
}

/* A schema other than 1 would mostly produce unknown-key noise: say the
 * one thing that matters and stop. Returns false when it is not 1. */
bool n56_yschema_supported(struct n56_yctx *y, yaml_node_t *root)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);
		const char *s;
		char *end;
		long val;

		if (!k || k->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, "schema"))
			continue;
		if (!v || v->type != YAML_SCALAR_NODE ||
		    v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return true; /* the walk reports the type error */
		s = (const char *)v->data.scalar.value;
		val = strtol(s, &end, 10);
		if (*s && !*end && val != 1) {
			n56_yerr(y, v,
				 "schema %.20s is not supported by this "
				 "nam56r-launch (supported: 1)",
				 s);
			return false;
		}
		return true;
	}
	return true;
}
