/* What every nam56r-launch command shares for talking to a user. */
#ifndef NAM56R_CLI_H
#define NAM56R_CLI_H

#include "policy/diag.h"

/* The commands' one printer of diagnostics (n56_diags_emit): sorted by
 * file and position, each on stderr as "PREFIXfile:line:col: error: msg"
 * ("file: error: msg" with no position). The prefix rule (nam56r-launch(1)
 * DIAGNOSTICS): "" for plan, validate and topology, which print like a
 * compiler; "nam56r-launch: " where the line lands in a job's output (exec
 * mode, local), so that it says who wrote it. */
void n56_print_diags(const char *prefix, struct n56_diags *d);
/* Each line of text (the step core's reasons) on stderr after prefix. */
void n56_print_lines(const char *prefix, const char *text);

#endif
