/* Helpers over libyaml's document API for the recipe and policy parsers:
 * table-driven mapping walks (unknown and duplicate keys refused), typed
 * scalar readers that remember the value's line:col, and libyaml errors
 * turned into `file:line:col: problem (context)` diagnostics. */
#ifndef NAM56R_YAMLUTIL_H
#define NAM56R_YAMLUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "policy/recipe.h"

/* One parse: the document, the file name for messages, what the top-level
 * mapping is called in messages ("the recipe") and where errors go. */
struct n56_yctx {
	yaml_document_t doc;
	bool loaded;
	const char *file;
	const char *top;
	struct n56_diags *d;
	size_t nerr;
};

enum n56_ytype {
	N56_Y_INT,     /* struct n56_int */
	N56_Y_BOOL,    /* struct n56_bool: true or false only */
	N56_Y_STR,     /* struct n56_str; `choices` restricts the value */
	N56_Y_NUM,     /* struct n56_num: finite, >= 0 */
	N56_Y_INTLIST, /* struct n56_intlist; items in [min, max] */
	N56_Y_STRLIST, /* struct n56_strlist; items from `choices` if set */
	N56_Y_KVMAP,   /* struct n56_kvlist: NAME: scalar, names env-like */
	N56_Y_MAP,     /* nested mapping walked by `walk` */
	N56_Y_CUSTOM,  /* any node handed to `walk` (custom readers) */
};

typedef void (*n56_ywalk_fn)(struct n56_yctx *y, yaml_node_t *node,
			     const char *path, void *dst);

/* A row of a mapping table: key name, how to read its value and where to. */
struct n56_ykey {
	const char *name;
	enum n56_ytype type;
	void *dst;
	bool required;
	long min, max;		    /* N56_Y_INT and N56_Y_INTLIST */
	const char *const *choices; /* NULL-terminated; N56_Y_STR/STRLIST */
	n56_ywalk_fn walk;	    /* N56_Y_MAP and N56_Y_CUSTOM */
};

/* Loads buf into y->doc. Refuses binary data, syntax errors, anchors and
 * aliases, nesting deeper than N56_MAX_DEPTH and more than one document.
 * `what` ("recipe" or "policy") names the file kind in the empty-file
 * message. Returns the root node, or NULL after adding a diagnostic. */
yaml_node_t *n56_yload(struct n56_yctx *y, const char *what, const char *buf,
		       size_t len);
void n56_yctx_free(struct n56_yctx *y);
/* The same checks and load for a document of any shape: 0 with *root the
 * root node, or NULL when nothing was written; -1 after a diagnostic. */
int n56_yload_doc(struct n56_yctx *y, const char *buf, size_t len,
		  yaml_node_t **root);

/* Adds a diagnostic at a node's start mark and counts it. */
void n56_yerr(struct n56_yctx *y, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void n56_yerr_at(struct n56_yctx *y, struct n56_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct n56_pos n56_ypos(const yaml_node_t *node);

/* Walks a mapping node with a key table. `path` names the mapping in
 * messages ("parallelism", "model.attention"; "" for the top, which is
 * then called y->top). Keys absent from the file keep what the caller
 * preset in their dst. */
void n56_ywalk_map(struct n56_yctx *y, yaml_node_t *node, const char *path,
		   const struct n56_ykey *keys, size_t nkeys);

/* A schema other than 1 in the root mapping: reports it and returns false
 * (the caller then stops, as the rest would be unknown-key noise). */
bool n56_yschema_supported(struct n56_yctx *y, yaml_node_t *root);

/* What a node is, for "expected X, got Y" messages. */
const char *n56_ynode_kind(const yaml_node_t *node);

/* Typed readers, usable outside tables (e.g. the items of a sequence). */
void n56_yread_str(struct n56_yctx *y, yaml_node_t *node, const char *path,
		   struct n56_str *out, const char *const *choices);

/* Release what the readers allocated and reset the value to unset. */
void n56_str_clear(struct n56_str *s);
void n56_num_clear(struct n56_num *n);
void n56_intlist_clear(struct n56_intlist *l);
void n56_strlist_clear(struct n56_strlist *l);
void n56_kvlist_clear(struct n56_kvlist *l);
/* Sets a default string (set stays false); -1 when out of memory. */
int n56_str_default(struct n56_str *s, const char *v);

/* Whether s is a valid environment variable name. */
bool n56_env_name_valid(const char *s);
/* Edit distance between two short strings (for "did you mean"). */
size_t n56_edit_distance(const char *a, const char *b);

/* Refuses binary data: a NUL or other control byte, or invalid UTF-8
 * (1-based byte offset in the message). */
int n56_check_text(const char *name, const char *buf, size_t len,
		   struct n56_diags *d);

/* Reads the whole of an open file of at most max bytes (fileio.c). */
int n56_read_fd(int fd, const char *path, size_t max, char **buf, size_t *len,
		struct n56_diags *d);

/* Upper bounds for input files. */
#define N56_RECIPE_MAX_BYTES (1024 * 1024)
#define N56_POLICY_MAX_BYTES (1024 * 1024)
/* Errors reported before a parse gives up. */
#define N56_MAX_ERRORS 50
/* Deepest nesting of mappings and sequences accepted. */
#define N56_MAX_DEPTH 32
/* Most variables one env mapping may set. */
#define N56_MAX_VARS 4096

#endif
