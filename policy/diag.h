/* Diagnostics: every error the libraries find, as `file:line:col: message`.
 * Libraries never print; they append here and return -1. */
#ifndef NAM56R_DIAG_H
#define NAM56R_DIAG_H

#include <stddef.h>

/* A place in an input file; line and col are 1-based, 0 when unknown
 * (then only the file is named). */
struct n56_pos {
	int line;
	int col;
};

struct n56_diag {
	char *file; /* "builtin" for the built-in recipe */
	int line;
	int col;
	char *msg;
};

struct n56_diags {
	struct n56_diag *v;
	size_t n;
	size_t cap;
};

/* Appends one diagnostic; never fails visibly (an allocation failure keeps
 * the count and stores a fixed "out of memory" text). */
void n56_diag_add(struct n56_diags *d, const char *file, struct n56_pos pos,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Writes "file:line:col: msg" (or "file: msg" with no line) to buf. */
int n56_diag_format(const struct n56_diag *g, char *buf, size_t len);
/* The same as a compiler error, "file:line:col: error: msg", the form every
 * command and the plugin show a user. */
int n56_diag_format_error(const struct n56_diag *g, char *buf, size_t len);
void n56_diags_free(struct n56_diags *d);

#endif
