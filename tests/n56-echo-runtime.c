/* n56-echo-runtime: the project's stand-in for a training runtime.
 *
 * The integration tests and the demo exec it where Megatron would run, then
 * read back exactly what it was given: its argv and its whole environment,
 * written to $N56_ECHO_DIR/<hostname>.<rank>.txt (rank from SLURM_PROCID,
 * else RANK) or to stdout when N56_ECHO_DIR is unset. The file format is
 * counted, so that a test can tell argv from env without guessing:
 *
 *   argc N
 *   <N lines: argv[0] .. argv[N-1]>
 *   envc M
 *   <M lines: NAME=VALUE>
 *
 * Exit status: 0, or 1 when the file cannot be written (with a message). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void write_record(FILE *f, int argc, char **argv)
{
	size_t envc = 0;

	fprintf(f, "argc %d\n", argc);
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s\n", argv[i]);
	for (char **e = environ; *e; e++)
		envc++;
	fprintf(f, "envc %zu\n", envc);
	for (char **e = environ; *e; e++)
		fprintf(f, "%s\n", *e);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("N56_ECHO_DIR");
	const char *rank = getenv("SLURM_PROCID");
	char host[HOST_NAME_MAX + 1] = "unknown";
	char path[PATH_MAX];
	FILE *f;

	if (!dir || !*dir) {
		write_record(stdout, argc, argv);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (!rank || !*rank)
		rank = getenv("RANK");
	if (!rank || !*rank)
		rank = "norank";
	/* The UTS namespace of each fake node gives it its own hostname. */
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s.%s.txt", dir, host, rank) >=
	    (int)sizeof(path)) {
		fprintf(stderr,
			"n56-echo-runtime: path too long: %s/%s.%s.txt\n", dir,
			host, rank);
		return 1;
	}
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "n56-echo-runtime: open %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	write_record(f, argc, argv);
	if (fclose(f) != 0) {
		fprintf(stderr, "n56-echo-runtime: write %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	return 0;
}
