/* What every nam56r-launch command shares for talking to a user. */
#ifndef NAM56R_CLI_H
#define NAM56R_CLI_H

#include "policy/diag.h"

/* Each diagnostic on stderr as "PREFIXfile:line:col: error: msg". */
void n56_print_diags(const char *prefix, const struct n56_diags *d);
/* Each line of text (the step core's reasons) on stderr after prefix. */
void n56_print_lines(const char *prefix, const char *text);

#endif
