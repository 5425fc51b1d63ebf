/* nam56r-launch: one program, one subcommand per file (wrapper/cmd_*.c).
 * With no subcommand, or after `--`, it is the exec wrapper of a job step. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "wrapper/commands.h"

/* Weak: a subcommand whose code was not built (the preflight without NCCL)
 * is absent from the table rather than faked. */
#pragma weak n56_cmd_plan
#pragma weak n56_cmd_validate
#pragma weak n56_cmd_topology
#pragma weak n56_cmd_placement
#pragma weak n56_cmd_exec
#pragma weak n56_cmd_preflight
#pragma weak n56_cmd_local

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "plan", n56_cmd_plan, "print the full plan (text or JSON)" },
	{ "validate", n56_cmd_validate,
	  "check a recipe: the verdict and its errors" },
	{ "topology", n56_cmd_topology,
	  "GPUs, NVLink islands, NUMA nodes and NICs of this node" },
	{ "placement", n56_cmd_placement,
	  "per-rank table of a job, from its placement record" },
	{ "preflight", n56_cmd_preflight,
	  "NCCL bandwidth check of the planned groups" },
	{ "local", n56_cmd_local,
	  "start N local ranks with the per-rank environment (no Slurm)" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nam56r-launch COMMAND [OPTIONS]\n"
		"       srun nam56r-launch [--recipe F] [--runtime CMD] [--] [ARGS...]\n\n"
		"Launches NAM56R-family hybrid models on Megatron-style runtimes.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].run)
			fprintf(f, "  %-10s %s\n", commands[i].name,
				commands[i].summary);
	fprintf(f,
		"\nWith no command, execs the training runtime with the "
		"generated native args.\n"
		"Run 'nam56r-launch COMMAND --help' for a command's options; "
		"see nam56r-launch(1).\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
		usage(stdout);
		return N56_EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("nam56r-launch %s\n", PACKAGE_VERSION);
		return N56_EXIT_OK;
	}
	if (argc >= 2 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]);
		     i++)
			if (commands[i].run &&
			    !strcmp(argv[1], commands[i].name))
				return commands[i].run(argc - 1, argv + 1);
		fprintf(stderr, "nam56r-launch: unknown command '%s'\n",
			argv[1]);
		usage(stderr);
		return N56_EXIT_USAGE;
	}
	if (!n56_cmd_exec) {
		fprintf(stderr, "nam56r-launch: exec mode is not built\n");
		return N56_EXIT_FAIL;
	}
	return n56_cmd_exec(argc, argv);
}
