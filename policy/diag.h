/* Diagnostics: every error the libraries find, as `file:line:col: message`.
 * Libraries never print; they append here and return -1. The commands and
 * the plugin print them sorted by position, each as
 * `file:line:col: error: message` (n56_diags_emit). */
#ifndef NAM56R_DIAG_H
#define NAM56R_DIAG_H

#include <stddef.h>

/* A place in an input file; line and col are 1-based, 0 when unknown
 * (then only the file is named). */
struct n56_pos {
	int line;
	int col;
};
#define N56_NOPOS ((struct n56_pos){ 0, 0 })

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
/* The same as a compiler error, "file:line:col: error: msg" (or "file:
 * error: msg" with no line), the form every command and the plugin show a
 * user. */
int n56_diag_format_error(const struct n56_diag *g, char *buf, size_t len);
/* That form for an error that is not collected in n56_diags (an err
 * buffer of the topology code that names a file). */
int n56_error_at(char *buf, size_t len, const char *file, struct n56_pos pos,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Orders d as a user reads them: file by file (in the order each file was
 * first named), within a file by line then column, a diagnostic without a
 * position first; stable, so that messages at one place keep their order
 * of discovery. */
void n56_diags_sort(struct n56_diags *d);
/* Sorts d, then hands each diagnostic in the error form to emit: the one
 * path from n56_diags to a user, for the commands' printer and the
 * plugin's. */
void n56_diags_emit(struct n56_diags *d,
		    void (*emit)(void *ctx, const char *line), void *ctx);
void n56_diags_free(struct n56_diags *d);

#endif
