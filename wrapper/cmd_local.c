/* nam56r-launch local: one node, no Slurm. Builds the plan for 1 node x N
 * GPUs, places the ranks (the step core, as the plugin does, for a step on
 * this node's first N GPUs), and starts N children, each with the per-rank
 * environment the plugin would give and the argv the exec wrapper would
 * exec (CMD, the generated native args, then ARGS). Its exit status is
 * the worst child's. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "step/core.h"
#include "job/n56job.h"
#include "policy/argmerge.h"
#include "policy/plan.h"
#include "topology/placement.h"
#include "topology/rankenv.h"
#include "topology/topology.h"
#include "wrapper/commands.h"
#include "wrapper/cli.h"

#define PROG "nam56r-launch local: "
/* After the first rank fails, the others get this long to finish (a
 * collective they wait in will never complete) before SIGTERM. */
#define GRACE_S 30

struct local_opts {
	long n;
	const char *recipe, *policy, *topology, *gpu_order;
	int master_port;
	char **cmd; /* CMD [ARGS...] after `--` */
	int ncmd;
};

static void local_usage(FILE *f)
{
	fprintf(f,
		"usage: nam56r-launch local -n N [--recipe F] [--policy F] "
		"[--topology XML]\n"
		"                           [--gpu-order LIST] [--master-port "
		"P] -- CMD [ARGS...]\n\n"
		"Starts N ranks on this node without Slurm, each with the "
		"per-rank environment\nthe plugin would give (MASTER_ADDR "
		"127.0.0.1, a free port), running\nCMD, the generated native "
		"args, then ARGS. Exit status: the worst rank's.\n\n"
		"  -n N              ranks, one per GPU of this node\n"
		"  --recipe F        recipe (default: the built-in NAM56R "
		"recipe)\n"
		"  --policy F        site policy (default: none)\n"
		"  --topology XML    read the node from an hwloc XML export "
		"instead of live\n"
		"  --gpu-order LIST  run local rank i on GPU LIST[i] (e.g. "
		"0,4,1,5,...), against\n"
		"                    the plan: for proving that the preflight "
		"catches a bad placement\n"
		"  --master-port P   rendezvous port (default: a free one)\n");
}

/* -n and --master-port: an integer in 1..max. */
static int local_number(const char *name, const char *v, long max, long *x)
{
	char *end;

	errno = 0;
	*x = strtol(v, &end, 10);
	if (errno || !*v || *end || *x < 1 || *x > max) {
		fprintf(stderr, PROG "%s: '%s' is not an integer in 1..%ld\n",
			name, v, max);
		return -1;
	}
	return 0;
}

/* 0, 1 when --help was answered, -1 on a usage error (said). */
static int parse_local(int argc, char **argv, struct local_opts *o)
{
	static const struct option opts[] = {
		{ "recipe", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "topology", required_argument, NULL, 't' },
		{ "gpu-order", required_argument, NULL, 'g' },
		{ "master-port", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long x;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0; /* GNU: restart the scan for this argv */
	opterr = 0;
	/* "+": the first word that is no option ends them (the command
	 * must follow "--", checked below) */
	while ((c = getopt_long(argc, argv, "+:hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (local_number("-n", optarg, N56_MAX_GPUS_PER_NODE,
					 &x))
				return -1;
			o->n = x;
			break;
		case 'P':
			if (local_number("--master-port", optarg, 65535, &x))
				return -1;
			o->master_port = (int)x;
			break;
		case 'r':
			o->recipe = optarg;
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 't':
			o->topology = optarg;
			break;
		case 'g':
			o->gpu_order = optarg;
			break;
		case 'h':
			local_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, PROG "%s needs a value\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr,
				PROG "unknown option '%s' (the command "
				     "goes after --)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--")) {
		fprintf(stderr,
			PROG "unknown option '%s' (the command goes "
			     "after --)\n",
			argv[optind]);
		return -1;
	}
	if (o->n < 1) {
		fprintf(stderr, PROG "-n N is required: the number of ranks\n");
		return -1;
	}
	if (optind >= argc) {
		fprintf(stderr, PROG "no command: give it after --, e.g. "
				     "`-- nam56r-preflight`\n");
		return -1;
	}
	o->cmd = argv + optind;
	o->ncmd = argc - optind;
	return 0;
}

/* "0,4,1,5": N distinct GPU indices below ngpus, as CUDA_VISIBLE_DEVICES. */
static int parse_gpu_order(const char *s, long n, int ngpus, char *out,
			   size_t outlen)
{
	bool seen[N56_MAX_GPUS_PER_NODE] = { 0 };
	const char *p = s;
	size_t used = 0;
	long count = 0;

	while (*p) {
		char *end;
		long g;

		errno = 0;
		g = strtol(p, &end, 10);
		if (errno || end == p || (*end && *end != ',') || g < 0 ||
		    g >= ngpus || seen[g]) {
			fprintf(stderr,
				PROG "--gpu-order %s: each entry must "
				     "be a distinct GPU index in 0..%d\n",
				s, ngpus - 1);
			return -1;
		}
		seen[g] = true;
		used += (size_t)snprintf(out + used, outlen - used, "%s%ld",
					 count ? "," : "", g);
		count++;
		p = *end ? end + 1 : end;
	}
	if (count != n) {
		fprintf(stderr,
			PROG "--gpu-order %s names %ld GPUs for %ld "
			     "ranks\n",
			s, count, n);
		return -1;
	}
	return 0;
}

/* A port nobody listens on now; the kernel picks it. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* The node's topology (the XML, or live) for N ranks. *usable is it when
 * it has at least N GPUs (the step core then places on the first N);
 * otherwise one island of N GPUs is assumed, and said. A bad XML is a
 * usage error. */
static int node_topology(const struct local_opts *o, const struct n56_policy *p,
			 struct n56_topology **topo,
			 const struct n56_topology **usable)
{
	struct n56_node_shape s;
	char err[512];

	*usable = NULL;
	if (n56_topology_load(o->topology, p, NULL, topo, err, sizeof(err)) ||
	    n56_topology_shape(*topo, &s, err, sizeof(err))) {
		if (o->topology) {
			fprintf(stderr, PROG "topology %s: %s\n", o->topology,
				err);
			return -1;
		}
		fprintf(stderr,
			PROG "live topology: %s; assuming one NVLink "
			     "island of %ld GPUs\n",
			err, o->n);
		n56_topology_free(*topo);
		*topo = NULL;
		return 0;
	}
	if (s.gpus < o->n) {
		if (o->topology) {
			fprintf(stderr,
				PROG "topology %s has %d GPUs, fewer "
				     "than -n %ld\n",
				o->topology, s.gpus, o->n);
			return -1;
		}
		fprintf(stderr,
			PROG "this node shows %d GPUs for %ld ranks; "
			     "assuming one NVLink island of %ld\n",
			s.gpus, o->n, o->n);
		return 0;
	}
	*usable = *topo;
	return 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void kill_all(const pid_t *pids, long n, int sig)
{
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], sig);
}

/* Exports one rank's environment in the child and execs. Never returns. */
static void exec_rank(const struct n56_env *env, const char *devices,
		      const struct n56_node_shape *s,
		      const struct n56_policy *p, char **argv)
{
	for (size_t i = 0; i < env->n; i++) {
		const struct n56_env_entry *e = &env->v[i];
		const char *v = e->value;

		if (devices && !strcmp(e->name, "CUDA_VISIBLE_DEVICES"))
			v = devices;
		/* Site defaults yield to what the user exported, as in the
		 * exec wrapper. */
		setenv(e->name, v, e->origin != N56_ORIGIN_SITE_DEFAULT);
	}
	if (s->degraded)
		setenv(N56_ENV_ISLANDS_DEGRADED, "1", 1);
	/* The site's preflight thresholds, unless the operator set them. */
	if (p->preflight.min_tp_busbw_gbps.text)
		setenv(N56_ENV_PREFLIGHT_MIN_TP_BUSBW,
		       p->preflight.min_tp_busbw_gbps.text, 0);
	if (p->preflight.min_dp_busbw_gbps.text)
		setenv(N56_ENV_PREFLIGHT_MIN_DP_BUSBW,
		       p->preflight.min_dp_busbw_gbps.text, 0);
	execvp(argv[0], argv);
	fprintf(stderr, PROG "exec %s: %s\n", argv[0], strerror(errno));
	_exit(N56_EXIT_EXEC);
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return N56_EXIT_FAIL;
}

/* Waits for every child; the worst exit status wins. Once one fails, the
 * rest get GRACE_S seconds, then SIGTERM (and SIGKILL 5 s later): those
 * we stop do not count, the failure that caused it does. */
static int wait_all(pid_t *pids, long n)
{
	long left = n;
	int worst = 0;
	time_t deadline = 0, kill_at = 0;
	bool terminated = false;

	while (left > 0) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid > 0) {
			for (long i = 0; i < n; i++) {
				int code;

				if (pids[i] != pid)
					continue;
				pids[i] = 0;
				left--;
				code = status_code(st);
				if (code && !terminated) {
					fprintf(stderr,
						PROG "rank %ld exited "
						     "with status %d\n",
						i, code);
					if (code > worst)
						worst = code;
				}
				if (code && !deadline)
					deadline = time(NULL) + GRACE_S;
			}
			continue;
		}
		if (pid < 0 && errno != EINTR)
			break;
		if (got_signal) {
			kill_all(pids, n, got_signal);
			if (!worst)
				worst = 128 + got_signal;
			got_signal = 0;
		}
		if (deadline && !terminated && time(NULL) >= deadline) {
			fprintf(stderr,
				PROG "stopping the %ld ranks still "
				     "running\n",
				left);
			kill_all(pids, n, SIGTERM);
			terminated = true;
			kill_at = time(NULL) + 5;
		}
		if (terminated && time(NULL) >= kill_at)
			kill_all(pids, n, SIGKILL);
		usleep(20 * 1000);
	}
	return worst;
}

/* What n56_cmd_local holds while its ranks run. */
struct local_run {
	struct n56_recipe *recipe;
	struct n56_policy *policy;
	struct n56_plan *plan;
	struct n56_topology *topo; /* as loaded, NULL when none */
	struct n56_step *step;
	struct n56_env *envs; /* one per rank */
	pid_t *pids;
	char **merged, **argv_rank;
	size_t nmerged;
	char devices[N56_MAX_GPUS_PER_NODE * 4]; /* --gpu-order */
	int port;
};

static void local_run_free(struct local_run *lr, long n)
{
	for (long r = 0; lr->envs && r < n; r++)
		n56_env_clear(&lr->envs[r]);
	free(lr->envs);
	free(lr->pids);
	free(lr->argv_rank);
	free(lr->merged);
	n56_step_free(lr->step);
	n56_topology_free(lr->topo);
	n56_plan_free(lr->plan);
	n56_recipe_free(lr->recipe);
	n56_policy_free(lr->policy);
}

/* The policy, the recipe and the plan for 1 node x N GPUs. */
static int local_plan(const struct local_opts *o, struct local_run *lr)
{
	struct n56_plan_request req = { 1, o->n };
	struct n56_diags d = { 0 };
	int rc = N56_EXIT_USAGE;

	if (o->policy ? n56_policy_load(o->policy, &lr->policy, &d)
		      : !(lr->policy = n56_policy_empty()))
		goto out;
	if (o->recipe ? n56_recipe_load(o->recipe, &lr->recipe, &d)
		      : n56_recipe_builtin(&lr->recipe, &d))
		goto out;
	if (!n56_plan_build(lr->recipe, lr->policy, &req, &lr->plan, &d))
		rc = N56_EXIT_OK;
out:
	n56_print_diags(PROG, &d);
	n56_diags_free(&d);
	return rc;
}

/* This node's placement by the step core: a step of N ranks on the first
 * N GPUs, MASTER_ADDR 127.0.0.1 and the given (or a free) port. */
static int local_place(const struct local_opts *o, struct local_run *lr)
{
	struct n56_step_facts f = { .nnodes = 1,
				    .ntasks = o->n,
				    .nlocal = o->n,
				    .master = "127.0.0.1" };
	const struct n56_topology *usable = NULL;
	char first_n[32], err[4096];

	if (node_topology(o, lr->policy, &lr->topo, &usable))
		return N56_EXIT_USAGE;
	if (usable && usable->ngpus > o->n) {
		snprintf(first_n, sizeof(first_n), "0-%ld", o->n - 1);
		f.step_gpus = first_n;
	}
	lr->port = f.port = o->master_port ? o->master_port : free_port();
	if (lr->port < 0) {
		fprintf(stderr, PROG "no free port on 127.0.0.1: %s\n",
			strerror(errno));
		return N56_EXIT_FAIL;
	}
	if (n56_step_decide(lr->plan, usable, &f, &lr->step, err,
			    sizeof(err))) {
		n56_print_lines(PROG, err);
		return N56_EXIT_USAGE;
	}
	if (!lr->step->report.tp_in_island)
		fprintf(stderr, PROG "placement: %s\n", lr->step->report.why);
	if (o->gpu_order) {
		if (parse_gpu_order(o->gpu_order, o->n,
				    lr->topo ? lr->topo->ngpus : (int)o->n,
				    lr->devices, sizeof(lr->devices)))
			return N56_EXIT_USAGE;
		fprintf(stderr,
			PROG "GPU order forced to %s, against the "
			     "plan\n",
			lr->devices);
	}
	return N56_EXIT_OK;
}

/* Every rank's argv and environment, before the first fork, so that a
 * bad plan starts no rank at all. */
static int local_envs(const struct local_opts *o, struct local_run *lr)
{
	const struct n56_plan *plan = lr->plan;
	char err[1024];

	if (n56_args_merge(plan->argv, plan->argc, o->cmd + 1,
			   (size_t)o->ncmd - 1, &lr->merged, &lr->nmerged, err,
			   sizeof(err))) {
		fprintf(stderr, PROG "%s\n", err);
		return N56_EXIT_USAGE;
	}
	lr->argv_rank = calloc(lr->nmerged + 2, sizeof(*lr->argv_rank));
	lr->envs = calloc((size_t)o->n, sizeof(*lr->envs));
	lr->pids = calloc((size_t)o->n, sizeof(*lr->pids));
	if (!lr->argv_rank || !lr->envs || !lr->pids) {
		fprintf(stderr, PROG "%s\n", strerror(ENOMEM));
		return N56_EXIT_FAIL;
	}
	lr->argv_rank[0] = o->cmd[0];
	memcpy(lr->argv_rank + 1, lr->merged,
	       lr->nmerged * sizeof(*lr->merged));
	for (long r = 0; r < o->n; r++)
		if (n56_step_rank_env(lr->step, r, &lr->envs[r], NULL, err,
				      sizeof(err))) {
			fprintf(stderr, PROG "rank %ld: %s\n", r, err);
			return N56_EXIT_FAIL;
		}
	return N56_EXIT_OK;
}

/* Forks the ranks and waits for them: the worst exit status. */
static int run_ranks(const struct local_opts *o, struct local_run *lr)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	long started = 0;
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	fflush(NULL);
	for (long r = 0; r < o->n; r++) {
		pid_t pid = fork();

		if (pid == 0) {
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			exec_rank(&lr->envs[r],
				  o->gpu_order ? lr->devices : NULL,
				  &lr->step->shape, lr->policy, lr->argv_rank);
		}
		if (pid < 0) {
			fprintf(stderr, PROG "fork rank %ld: %s\n", r,
				strerror(errno));
			kill_all(lr->pids, started, SIGTERM);
			wait_all(lr->pids, started);
			rc = N56_EXIT_FAIL;
			goto restore;
		}
		lr->pids[r] = pid;
		started++;
	}
	rc = wait_all(lr->pids, o->n);
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

int n56_cmd_local(int argc, char **argv)
{
	struct local_opts o;
	struct local_run lr = { 0 };
	const struct n56_parallel *par;
	int rc = parse_local(argc, argv, &o);

	if (rc)
		return rc > 0 ? N56_EXIT_OK : N56_EXIT_USAGE;
	if ((rc = local_plan(&o, &lr)) || (rc = local_place(&o, &lr)) ||
	    (rc = local_envs(&o, &lr)))
		goto out;
	par = &lr.plan->par;
	fprintf(stderr,
		PROG "%ld ranks, tp %ld pp %ld cp %ld ep %ld dp %ld, "
		     "master 127.0.0.1:%d, plan %.12s\n",
		o.n, par->tp, par->pp, par->cp, par->ep, par->dp, lr.port,
		lr.plan->plan_sha256_hex);
	rc = run_ranks(&o, &lr);
out:
	local_run_free(&lr, o.n);
	return rc;
}

/* The preflight program: beside this binary (build tree or bindir), else
 * from PATH. */
static void preflight_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(buf, len, "nam56r-preflight");
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/nam56r-preflight", self) >= len ||
	    access(buf, X_OK) != 0)
		snprintf(buf, len, "nam56r-preflight");
}

static bool in_path(const char *name)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	while (p && *p) {
		size_t len = strcspn(p, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, name) <
			    (int)sizeof(buf) &&
		    len && access(buf, X_OK) == 0)
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

/* nam56r-launch preflight -n N [local options] [-- PREFLIGHT ARGS]: local
 * mode running nam56r-preflight on every rank. */
int n56_cmd_preflight(int argc, char **argv)
{
	char path[PATH_MAX + 32];
	char **v;
	int n = 0, i, rc;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: nam56r-launch preflight -n N [--recipe F] "
			       "[--policy F] [--topology XML]\n"
			       "                               [--gpu-order "
			       "LIST] [-- PREFLIGHT ARGS...]\n\n"
			       "Runs nam56r-preflight on N local ranks "
			       "(nam56r-launch local) with the\nplan's native "
			       "args; see `nam56r-preflight --help` for its "
			       "options.\n");
			return N56_EXIT_OK;
		}
		if (!strcmp(argv[i], "--"))
			break;
	}
	v = calloc((size_t)argc + 3, sizeof(*v));
	if (!v) {
		fprintf(stderr, "nam56r-launch preflight: %s\n",
			strerror(ENOMEM));
		return N56_EXIT_FAIL;
	}
	preflight_path(path, sizeof(path));
	if (!strchr(path, '/') && !in_path(path)) {
		fprintf(stderr,
			"nam56r-launch preflight: nam56r-preflight is "
			"neither beside nam56r-launch nor in PATH; it is built "
			"only where configure finds the CUDA runtime and "
			"NCCL\n");
		free(v);
		return N56_EXIT_EXEC;
	}
	v[n++] = "local";
	for (int j = 1; j < i; j++)
		v[n++] = argv[j];
	v[n++] = "--";
	v[n++] = path;
	for (int j = i + 1; j < argc; j++)
		v[n++] = argv[j];
	rc = n56_cmd_local(n, v);
	free(v);
	return rc;
}
