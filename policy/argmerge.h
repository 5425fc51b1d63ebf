/* The user's ARGS after `--` against the generated native args
 * (policy/argmerge.c), for nam56r-launch's exec and local modes. */
#ifndef NAM56R_POLICY_ARGMERGE_H
#define NAM56R_POLICY_ARGMERGE_H

#include <stddef.h>

/* Generated native args vs the user's ARGS after `--`: a flag the plan
 * generated with another value is a contradiction (-1, err names both);
 * an exact repeat is dropped; the rest is appended. out is NULL-terminated,
 * the strings borrowed from the inputs. */
int n56_args_merge(char *const *gen, size_t ngen, char *const *user,
		   size_t nuser, char ***out, size_t *nout, char *err,
		   size_t errlen);

#endif
