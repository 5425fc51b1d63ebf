/* Native args against the argument parser of the Megatron-LM commit that
 * policy/megatron.h names (policy/megatron_args.c). */
#ifndef NAM56R_MEGATRON_ARGS_H
#define NAM56R_MEGATRON_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Called once for each problem: the index of the arg it is about and a
 * sentence that says what is wrong. */
typedef void (*n56_args_report)(void *ctx, size_t index, const char *why);

/* Checks argv[0..argc) as Megatron's argparse would read it: known long
 * options only, each with the values it takes, of its type and among its
 * choices. Returns 0, or -1 after reporting every problem. */
int n56_megatron_args_check(char *const *argv, size_t argc,
			    n56_args_report report, void *ctx);
bool n56_megatron_flag_known(const char *name);

#endif
