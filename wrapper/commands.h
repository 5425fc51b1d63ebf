/* nam56r-launch subcommands. Exit codes: 0 ok, 2 invalid input or usage,
 * 1 other failure, 127 exec failed. */
#ifndef NAM56R_COMMANDS_H
#define NAM56R_COMMANDS_H

#define N56_EXIT_OK 0
#define N56_EXIT_FAIL 1
#define N56_EXIT_USAGE 2
#define N56_EXIT_EXEC 127

int n56_cmd_plan(int argc, char **argv);
int n56_cmd_validate(int argc, char **argv);
int n56_cmd_topology(int argc, char **argv);
int n56_cmd_placement(int argc, char **argv);
int n56_cmd_exec(int argc, char **argv); /* default: inside a job step */
int n56_cmd_preflight(int argc, char **argv);
int n56_cmd_local(int argc, char **argv); /* start N local ranks, no Slurm */

#endif
