/* nam56r-launch placement JOBID: the per-rank table of a job, rebuilt from
 * the nam56r record in `scontrol show job` and the job's node list
 * (placement is a pure function of both). scontrol runs without a shell. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/n56job.h"
#include "policy/plan.h"
#include "topology/placement.h"
#include "wrapper/commands.h"

#define PROG "nam56r-launch placement: "

static void placement_usage(FILE *f)
{
	fprintf(f, "usage: nam56r-launch placement JOBID [--format text|json]\n\n"
		   "Rebuilds the per-rank table of a job from the nam56r record "
		   "in its Comment\nor AdminComment (`scontrol show job`) and its "
		   "node list. Exit 2 when the job\nhas no record.\n");
}

/* Runs argv (PATH lookup, no shell) and returns its stdout; its stderr
 * goes to ours. -1 when it could not run or exited non-zero. */
static int run_capture(char *const argv[], char **out)
{
	int fd[2], status;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	pid_t pid;

	*out = NULL;
	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execvp(argv[0], argv);
		fprintf(stderr, PROG "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb)
				break;
			buf = nb;
		}
		ssize_t n = read(fd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf || !WIFEXITED(status) || WEXITSTATUS(status)) {
		free(buf);
		return -1;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

/* The value of `Key=` that starts a line of scontrol's output (after its
 * indentation): the rest of the line, trailing blanks cut. */
static char *field_line(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		const char *q = p + strspn(p, " \t");

		if (strncmp(q, key, klen) || q[klen] != '=')
			continue;
		q += klen + 1;
		size_t n = strcspn(q, "\n");
		while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
			n--;
		return strndup(q, n);
	}
	return NULL;
}

/* A single `Key=value` token anywhere (NodeList=, not ReqNodeList=). */
static char *field_token(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = text; (p = strstr(p, key)); p += klen) {
		if ((p != text && p[-1] != ' ' && p[-1] != '\n') ||
		    p[klen] != '=')
			continue;
		const char *v = p + klen + 1;
		return strndup(v, strcspn(v, " \t\n"));
	}
	return NULL;
}

static void shape_from_record(const struct n56_record *r,
			      struct n56_node_shape *s)
{
	int g = 0, sum = 0;

	for (int i = 0; i < r->nislands; i++)
		sum += r->island_size[i];
	if (sum != r->gpn || r->gpn > N56_MAX_GPUS_PER_NODE) {
		n56_node_shape_assumed(s, (int)r->gpn);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->gpus = (int)r->gpn;
	s->nislands = r->nislands;
	s->nodes_per_domain = 1;
	/* The record keeps island sizes, not GPU ids: islands are taken as
	 * consecutive CUDA indices. */
	for (int i = 0; i < r->nislands; i++)
		for (int k = 0; k < r->island_size[i]; k++)
			s->island_of[g++] = i;
}

int n56_cmd_placement(int argc, char **argv)
{
	const char *job = NULL, *format = "text";
	char *show = NULL, *names = NULL, *nodelist = NULL, *field = NULL;
	char **hosts = NULL;
	size_t nhosts = 0;
	struct n56_record rec;
	struct n56_placer *pl = NULL;
	struct n56_place_report rep;
	char err[512];
	int rc = N56_EXIT_USAGE, found = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			placement_usage(stdout);
			return N56_EXIT_OK;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			format = argv[++i];
		} else if (!strncmp(argv[i], "--format=", 9)) {
			format = argv[i] + 9;
		} else if (argv[i][0] != '-' && !job) {
			job = argv[i];
		} else {
			fprintf(stderr, PROG "unexpected argument '%s'\n",
				argv[i]);
			placement_usage(stderr);
			return N56_EXIT_USAGE;
		}
	}
	if (!job || strspn(job, "0123456789_") != strlen(job) ||
	    (strcmp(format, "text") && strcmp(format, "json"))) {
		placement_usage(stderr);
		return N56_EXIT_USAGE;
	}
	char *show_argv[] = {"scontrol", "show", "job", (char *)job, NULL};
	if (run_capture(show_argv, &show)) {
		fprintf(stderr, PROG "`scontrol show job %s` failed\n", job);
		rc = N56_EXIT_FAIL;
		goto out;
	}
	/* The record may be in either field; Comment first (the default). */
	static const char *const keys[] = {"Comment", "AdminComment"};
	for (size_t k = 0; k < 2 && found <= 0; k++) {
		free(field);
		field = field_line(show, keys[k]);
		found = n56_record_find(field, &rec, err, sizeof(err));
		if (found < 0) {
			fprintf(stderr, PROG "job %s %s: %s\n", job, keys[k],
				err);
			goto out;
		}
	}
	if (!found) {
		fprintf(stderr, PROG "job %s has no nam56r placement record "
			"(it was not submitted with --nam56r-recipe, no step "
			"has started yet, or the site publishes none)\n", job);
		goto out;
	}
	nodelist = field_token(show, "NodeList");
	if (!nodelist || !strcmp(nodelist, "(null)")) {
		fprintf(stderr, PROG "job %s has no node list yet\n", job);
		goto out;
	}
	char *names_argv[] = {"scontrol", "show", "hostnames", nodelist, NULL};
	if (run_capture(names_argv, &names)) {
		fprintf(stderr, PROG "`scontrol show hostnames %s` failed\n",
			nodelist);
		rc = N56_EXIT_FAIL;
		goto out;
	}
	for (char *s = names, *save = NULL, *t;
	     (t = strtok_r(s, "\n", &save)); s = NULL) {
		char **nv = realloc(hosts, (nhosts + 1) * sizeof(*nv));

		if (!nv)
			goto out;
		hosts = nv;
		hosts[nhosts++] = strdup(t);
	}
	if ((long)nhosts < rec.nodes || rec.nodes <= 0 || rec.gpn <= 0) {
		fprintf(stderr, PROG "the record says %ld nodes but job %s has "
			"%zu (%s)\n", rec.nodes, job, nhosts, nodelist);
		goto out;
	}
	struct n56_parallel par = {
		.tp = rec.tp, .pp = rec.pp, .vpp = rec.vpp, .ep = rec.ep,
		.etp = rec.etp, .cp = rec.cp, .dp = rec.dp, .world = rec.world,
		.pp_before_dp = !strcmp(rec.order, "tp-cp-ep-pp-dp"),
	};
	struct n56_node_shape shape;
	shape_from_record(&rec, &shape);
	if (n56_placer_new(&par, &shape, rec.nodes, &pl, &rep, err,
			   sizeof(err))) {
		fprintf(stderr, PROG "job %s: the record does not describe a "
			"valid placement: %s\n", job, err);
		goto out;
	}
	json_t *rows = !strcmp(format, "json") ? json_array() : NULL;
	char line[1024] = "";
	n56_record_format(&rec, line, sizeof(line));
	if (!rows)
		printf("job %s: %s\n%6s %-12s %10s %4s %6s %4s %4s %4s %4s "
		       "%4s\n", job, line, "rank", "node", "local_rank", "gpu", "island", "tp",
		       "cp", "ep", "dp", "pp");
	for (long r = 0; r < rec.world; r++) {
		struct n56_rank_place p;

		n56_place_rank(pl, r, &p);
		if (rows) {
			json_array_append_new(rows, json_pack(
				"{s:I s:I s:s s:i s:i s:i s:I s:I s:I s:I s:I}",
				"rank", (json_int_t)p.rank,
				"node", (json_int_t)p.node,
				"host", hosts[p.node],
				"local_rank", p.local_rank, "gpu", p.gpu,
				"island", p.island, "tp", (json_int_t)p.tp,
				"cp", (json_int_t)p.cp, "ep", (json_int_t)p.ep,
				"dp", (json_int_t)p.dp, "pp",
				(json_int_t)p.pp));
			continue;
		}
		printf("%6ld %-12s %10d %4d %6d %4ld %4ld %4ld %4ld %4ld\n",
		       p.rank, hosts[p.node], p.local_rank, p.gpu, p.island,
		       p.tp, p.cp, p.ep, p.dp, p.pp);
	}
	if (rows) {
		json_t *o = json_pack("{s:s s:s s:s s:I s:I s:o}", "job", job,
				      "sha256", rec.sha12, "master",
				      rec.master, "world",
				      (json_int_t)rec.world, "nodes",
				      (json_int_t)rec.nodes, "placement", rows);
		if (!o) {
			rc = N56_EXIT_FAIL;
			goto out;
		}
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	}
	rc = N56_EXIT_OK;
out:
	n56_placer_free(pl);
	n56_hostlist_free(hosts, nhosts);
	free(show);
	free(names);
	free(nodelist);
	free(field);
	return rc;
}
