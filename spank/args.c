/* plugstack.conf arguments and the request a submission can see. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spank/n56spank.h"

#ifndef NAM56R_SYSCONFDIR
#define NAM56R_SYSCONFDIR "/etc"
#endif

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static int arg_policy(struct n56_spank_args *a, const char *v, char *err,
		      size_t errlen)
{
	if (!strcmp(v, "none")) {
		a->no_policy = true;
		return set_str(&a->policy, "none");
	}
	if (v[0] != '/') {
		snprintf(err, errlen,
			 "policy=%s: give an absolute path "
			 "(or policy=none)",
			 v);
		return -1;
	}
	a->no_policy = false;
	return set_str(&a->policy, v);
}

static int arg_abs_path(char **dst, const char *key, const char *v, char *err,
			size_t errlen)
{
	if (v[0] != '/') {
		snprintf(err, errlen, "%s=%s: give an absolute path", key, v);
		return -1;
	}
	return set_str(dst, v);
}

static int arg_cache_dir(struct n56_spank_args *a, const char *v, char *err,
			 size_t errlen)
{
	return arg_abs_path(&a->cache_dir, "cache_dir", v, err, errlen);
}

static int arg_topology(struct n56_spank_args *a, const char *v, char *err,
			size_t errlen)
{
	return arg_abs_path(&a->topology, "topology", v, err, errlen);
}

static int arg_wrap(struct n56_spank_args *a, const char *v, char *err,
		    size_t errlen)
{
	return arg_abs_path(&a->wrap, "wrap", v, err, errlen);
}

static int arg_record(struct n56_spank_args *a, const char *v, char *err,
		      size_t errlen)
{
	int f = n56_record_field_parse(v);

	if (f < 0) {
		snprintf(err, errlen,
			 "record=%s: expected comment, "
			 "admin_comment or none",
			 v);
		return -1;
	}
	a->record = f;
	return 0;
}

/* The table of plugstack keys (pyxis style): anything else is refused. */
static const struct {
	const char *key;
	int (*set)(struct n56_spank_args *, const char *, char *, size_t);
} arg_table[] = {
	{ "policy", arg_policy },     { "cache_dir", arg_cache_dir },
	{ "topology", arg_topology }, { "record", arg_record },
	{ "wrap", arg_wrap },
};

int n56_spank_args_parse(int ac, char **av, struct n56_spank_args *out,
			 char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->record = -1;
	if (set_str(&out->policy, NAM56R_SYSCONFDIR "/nam56r/policy.yaml"))
		goto nomem;
	for (int i = 0; i < ac; i++) {
		const char *eq = strchr(av[i], '=');
		size_t klen, k;

		if (!eq || eq == av[i] || !eq[1]) {
			snprintf(err, errlen,
				 "plugstack argument '%s': "
				 "expected key=value (keys: policy, "
				 "cache_dir, topology, record, wrap)",
				 av[i]);
			goto fail;
		}
		klen = (size_t)(eq - av[i]);
		for (k = 0; k < sizeof(arg_table) / sizeof(arg_table[0]); k++)
			if (strlen(arg_table[k].key) == klen &&
			    !strncmp(arg_table[k].key, av[i], klen))
				break;
		if (k == sizeof(arg_table) / sizeof(arg_table[0])) {
			snprintf(err, errlen,
				 "unknown plugstack argument "
				 "'%.*s' (keys: policy, cache_dir, topology, "
				 "record, wrap)",
				 (int)klen, av[i]);
			goto fail;
		}
		if (arg_table[k].set(out, eq + 1, err, errlen))
			goto fail;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	n56_spank_args_clear(out);
	return -1;
}

void n56_spank_args_clear(struct n56_spank_args *a)
{
	if (!a)
		return;
	free(a->policy);
	free(a->cache_dir);
	free(a->topology);
	free(a->wrap);
	memset(a, 0, sizeof(*a));
	a->record = -1;
}

/* A count option's value: a plain positive number, else unknown (0): a
 * range such as "2-4" is only settled by the scheduler. */
static long count_value(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return 0;
	return v;
}

/* --gres=gpu:8, gpu:a100:8, or several: "gpu:4,nic:1". */
static long gres_gpus(const char *s)
{
	const char *p = strstr(s, "gpu");

	while (p && p != s && p[-1] != ',')
		p = strstr(p + 1, "gpu");
	if (!p)
		return 0;
	const char *end = strchr(p, ',');
	const char *colon = NULL;
	for (const char *q = p; *q && (!end || q < end); q++)
		if (*q == ':')
			colon = q;
	if (!colon)
		return 1;
	char num[32];
	size_t n = end ? (size_t)(end - colon - 1) : strlen(colon + 1);
	if (n >= sizeof(num))
		return 0;
	memcpy(num, colon + 1, n);
	num[n] = 0;
	return count_value(num);
}

/* Short options of sbatch/srun/salloc that take a separate argument, so
 * that their values are not mistaken for the script or the command. */
static const char short_with_arg[] = "AaBbcCDdeGiJLMmnNopqrSTtWwx";

/* Long options that take a value, which may come as the next word
 * ("--job-name train"): that word is skipped, not taken for the script. */
static const char *const long_with_arg[] = {
	"--nam56r-recipe", "--job-name",     "--partition",
	"--account",	   "--time",	     "--output",
	"--error",	   "--input",	     "--chdir",
	"--qos",	   "--constraint",   "--mem",
	"--mem-per-cpu",   "--mem-per-gpu",  "--cpus-per-task",
	"--cpus-per-gpu",  "--gpus",	     "--gpus-per-task",
	"--export",	   "--comment",	     "--dependency",
	"--reservation",   "--nodelist",     "--exclude",
	"--mpi",	   "--distribution", "--cpu-bind",
	"--licenses",	   "--array",	     "--begin",
	"--signal",	   "--wckey",	     "--network",
	"--mail-type",	   "--mail-user",    "--time-min",
	"--deadline",	   "--clusters",     "--gpu-bind",
	"--nice",
};

static bool takes_value(const char *opt, size_t len)
{
	for (size_t k = 0; k < sizeof(long_with_arg) / sizeof(*long_with_arg);
	     k++)
		if (strlen(long_with_arg[k]) == len &&
		    !strncmp(long_with_arg[k], opt, len))
			return true;
	return false;
}

enum req_field { RF_NODES, RF_TPN, RF_GPN, RF_NTASKS, RF_GRES, RF_PARTITION };
static const struct {
	const char *name;
	char shortopt;
	enum req_field f;
} req_opts[] = {
	{ "--nodes", 'N', RF_NODES },	  { "--ntasks-per-node", 0, RF_TPN },
	{ "--gpus-per-node", 0, RF_GPN }, { "--ntasks", 'n', RF_NTASKS },
	{ "--gres", 0, RF_GRES },	  { "--partition", 'p', RF_PARTITION },
};

static void req_set(struct n56_request_seen *o, enum req_field f, const char *v)
{
	switch (f) {
	case RF_NODES:
		o->nodes = count_value(v);
		break;
	case RF_TPN:
		o->tasks_per_node = count_value(v);
		break;
	case RF_GPN: { /* "8" or "a100:8" */
		const char *c = v ? strrchr(v, ':') : NULL;
		o->gpus_per_node = count_value(c ? c + 1 : v);
		break;
	}
	case RF_NTASKS:
		o->ntasks = count_value(v);
		break;
	case RF_GRES:
		o->gpus_per_node = v ? gres_gpus(v) : 0;
		break;
	case RF_PARTITION:
		o->partition = v && *v ? v : NULL;
		break;
	}
}

/* The program's own partition variable (sbatch(1), salloc(1), srun(1):
 * "Same as -p, --partition"), by the name it was started as. */
static const char *partition_env(int argc, char **argv)
{
	static const char *const vars[][2] = {
		{ "sbatch", "SBATCH_PARTITION" },
		{ "salloc", "SALLOC_PARTITION" },
		{ "srun", "SLURM_PARTITION" },
	};
	const char *prog, *slash;

	if (argc < 1 || !argv || !argv[0])
		return NULL;
	slash = strrchr(argv[0], '/');
	prog = slash ? slash + 1 : argv[0];
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!strcmp(prog, vars[i][0]))
			return vars[i][1];
	return NULL;
}

static bool is_srun(int argc, char **argv)
{
	const char *v = partition_env(argc, argv);

	return v && !strcmp(v, "SLURM_PARTITION");
}

void n56_request_from_cmdline(int argc, char **argv,
			      const char *(*getenv_fn)(const char *),
			      struct n56_request_seen *out)
{
	const char *penv = partition_env(argc, argv);

	/* Input environment first (options given on the line win): inside
	 * an allocation srun inherits its geometry. */
	static const struct {
		const char *env;
		enum req_field f;
	} envs[] = {
		{ "SLURM_JOB_NUM_NODES", RF_NODES },
		{ "SLURM_NNODES", RF_NODES },
		{ "SLURM_NTASKS_PER_NODE", RF_TPN },
		{ "SLURM_GPUS_PER_NODE", RF_GPN },
		{ "SBATCH_GPUS_PER_NODE", RF_GPN },
		{ "SALLOC_GPUS_PER_NODE", RF_GPN },
		{ "SLURM_NTASKS", RF_NTASKS },
	};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; getenv_fn && i < sizeof(envs) / sizeof(envs[0]);
	     i++) {
		const char *v = getenv_fn(envs[i].env);
		struct n56_request_seen tmp = *out;

		if (!v)
			continue;
		req_set(&tmp, envs[i].f, v);
		/* The first variable that gives a value wins. */
		if (envs[i].f == RF_NODES && !out->nodes)
			out->nodes = tmp.nodes;
		else if (envs[i].f == RF_TPN && !out->tasks_per_node)
			out->tasks_per_node = tmp.tasks_per_node;
		else if (envs[i].f == RF_GPN && !out->gpus_per_node)
			out->gpus_per_node = tmp.gpus_per_node;
		else if (envs[i].f == RF_NTASKS && !out->ntasks)
			out->ntasks = tmp.ntasks;
	}
	if (getenv_fn && penv)
		req_set(out, RF_PARTITION, getenv_fn(penv));
	/* argv[0] is the program; stop at the first word that is not an
	 * option (the script or the command, whose own options are not
	 * ours) or at "--". */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!a || a[0] != '-' || !strcmp(a, "--"))
			break;
		if (a[1] == '-') {
			const char *eq = strchr(a, '=');
			size_t len = eq ? (size_t)(eq - a) : strlen(a);
			size_t k;

			for (k = 0; k < sizeof(req_opts) / sizeof(req_opts[0]);
			     k++)
				if (strlen(req_opts[k].name) == len &&
				    !strncmp(req_opts[k].name, a, len))
					break;
			if (k == sizeof(req_opts) / sizeof(req_opts[0])) {
				if (!eq && takes_value(a, len))
					i++;
				continue;
			}
			if (eq)
				req_set(out, req_opts[k].f, eq + 1);
			else if (i + 1 < argc)
				req_set(out, req_opts[k].f, argv[++i]);
			out->tasks_per_node_argv |= req_opts[k].f == RF_TPN;
			out->gpus_per_node_argv |= req_opts[k].f == RF_GPN ||
						   req_opts[k].f == RF_GRES;
			continue;
		}
		/* A cluster of short options: "-N2", "-N 2", "-lN2". */
		for (const char *c = a + 1; *c; c++) {
			if (!strchr(short_with_arg, *c))
				continue;
			const char *v =
				c[1] ? c + 1
				     : (i + 1 < argc ? argv[++i] : NULL);
			for (size_t k = 0;
			     k < sizeof(req_opts) / sizeof(req_opts[0]); k++)
				if (req_opts[k].shortopt == *c)
					req_set(out, req_opts[k].f, v);
			break;
		}
	}
	/* A step of an existing job runs on the job's nodes. */
	if (getenv_fn && is_srun(argc, argv) && getenv_fn("SLURM_JOB_ID")) {
		const char *jp = getenv_fn("SLURM_JOB_PARTITION");

		if (jp && *jp)
			out->partition = jp;
	}
}
