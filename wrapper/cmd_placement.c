/* nam56r-launch placement JOBID: the per-rank table of a job, rebuilt from
 * the nam56r record in its Comment or AdminComment and its node list
 * (placement is a pure function of both), read with slurm_load_job. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"
#include "policy/plan.h"
#include "topology/placement.h"
#include "wrapper/commands.h"

#define PROG "nam56r-launch placement: "

static void placement_usage(FILE *f)
{
	fprintf(f,
		"usage: nam56r-launch placement JOBID [--format text|json]\n\n"
		"Rebuilds the per-rank table of a job from the nam56r record "
		"in its Comment\nor AdminComment and its node list, read "
		"from slurmctld with libslurm.\nExit 2 when the job has no "
		"record.\n");
}

#ifdef HAVE_LIBSLURM
#include "job/slurmapi.h"

/* The job as slurmctld has it, through libslurm: loaded when the command
 * runs (dlopen, not linked), so that nam56r-launch runs on nodes without
 * Slurm's client library; only this command needs it. The library is the
 * soname configure found, whose structures are those of the slurm.h built
 * with; NAM56R_SLURM_LIBRARY names another file (the tests' stand-in). */
struct job_fields {
	char *comment, *admin_comment, *nodes;
};

static int load_job(const char *job, struct job_fields *out)
{
	const char *lib = getenv("NAM56R_SLURM_LIBRARY");
	void *h;
	unsigned long v;
	uint32_t id, task = NO_VAL;
	char *end = NULL;
	bool ok;
	int rc = -1;

	if (!lib || !*lib)
		lib = N56_SLURM_LIBRARY;
	/* JOBID or JOBID_TASK (an array task), as scontrol takes them. */
	errno = 0;
	ok = job[0] >= '0' && job[0] <= '9';
	v = ok ? strtoul(job, &end, 10) : 0;
	ok = ok && !errno && v && v < NO_VAL;
	id = (uint32_t)v;
	if (ok && *end == '_') {
		ok = end[1] >= '0' && end[1] <= '9';
		v = ok ? strtoul(end + 1, &end, 10) : 0;
		ok = ok && !errno && v < NO_VAL;
		task = (uint32_t)v;
	}
	if (!ok || *end) {
		fprintf(stderr,
			PROG "'%s' is not a job id (JOBID or "
			     "JOBID_TASK)\n",
			job);
		return -1;
	}
	/* RTLD_GLOBAL: libslurm loads its own plugins (auth/munge, hash),
	 * which take symbols such as slurm_conf from it by name. */
	h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr,
			PROG
			"cannot load %s (%s): placement reads the "
			"job from slurmctld through Slurm's client library; "
			"run it where Slurm's commands work\n",
			lib, dlerror());
		return -1;
	}
	void (*init)(const char *) =
		(void (*)(const char *))dlsym(h, "slurm_init");
	n56_load_job_fn load = (n56_load_job_fn)dlsym(h, "slurm_load_job");
	n56_free_info_fn release =
		(n56_free_info_fn)dlsym(h, "slurm_free_job_info_msg");
	n56_get_errno_fn get_errno =
		(n56_get_errno_fn)dlsym(h, "slurm_get_errno");
	n56_strerror_fn str = (n56_strerror_fn)dlsym(h, "slurm_strerror");
	job_info_msg_t *info = NULL;

	if (!load || !release || !str) {
		fprintf(stderr,
			PROG "%s has no slurm_load_job, "
			     "slurm_free_job_info_msg or slurm_strerror\n",
			lib);
		goto out;
	}
	if (init) /* Slurm 22.05 on; before, the first call reads the conf */
		init(NULL);
	if (n56_slurm_load_job(load, &info, id, SHOW_ALL) || !info) {
		fprintf(stderr, PROG "slurm_load_job(%s): %s\n", job,
			str(get_errno ? get_errno() : errno));
		goto out;
	}
	/* An array job gives all its tasks: JOBID_TASK names one, JOBID the
	 * job with that id, else the first (as `scontrol show job`). */
	slurm_job_info_t *j = NULL;
	for (uint32_t i = 0; i < info->record_count && !j; i++) {
		slurm_job_info_t *c = &info->job_array[i];

		if (task == NO_VAL
			    ? c->job_id == id
			    : c->array_job_id == id && c->array_task_id == task)
			j = c;
	}
	if (!j && task == NO_VAL && info->record_count)
		j = &info->job_array[0];
	if (!j) {
		fprintf(stderr, PROG "slurmctld knows no job %s\n", job);
		goto out;
	}
	out->comment = j->comment ? strdup(j->comment) : NULL;
	out->admin_comment = j->admin_comment ? strdup(j->admin_comment) : NULL;
	out->nodes = j->nodes ? strdup(j->nodes) : NULL;
	if ((j->comment && !out->comment) ||
	    (j->admin_comment && !out->admin_comment) ||
	    (j->nodes && !out->nodes)) {
		fprintf(stderr, PROG "out of memory\n");
		goto out;
	}
	rc = 0;
out:
	if (info)
		release(info);
	/* libslurm stays loaded: it keeps threads and atexit handlers. */
	return rc;
}
#else
struct job_fields {
	char *comment, *admin_comment, *nodes;
};

static int load_job(const char *job, struct job_fields *out)
{
	(void)job;
	(void)out;
	fprintf(stderr,
		PROG "this nam56r-launch was built without Slurm's "
		     "client library (slurm/slurm.h and libslurm.so), which "
		     "placement needs to read the job\n");
	return -1;
}
#endif

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

/* The options: JOBID and --format. 0, or the exit status to return. */
static int placement_args(int argc, char **argv, const char **job,
			  const char **format)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 0; /* GNU: restart the scan for this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			*format = optarg;
			break;
		case 'h':
			placement_usage(stdout);
			return N56_EXIT_OK;
		default:
			fprintf(stderr,
				c == ':' ? PROG "%s needs a value\n"
					 : PROG "unknown option '%s'\n",
				argv[optind - 1]);
			placement_usage(stderr);
			return N56_EXIT_USAGE;
		}
	}
	if (optind < argc)
		*job = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, PROG "unexpected argument '%s'\n",
			argv[optind]);
		placement_usage(stderr);
		return N56_EXIT_USAGE;
	}
	if (!*job || !**job || strspn(*job, "0123456789_") != strlen(*job)) {
		fprintf(stderr, PROG "give one job id (JOBID or "
				     "JOBID_TASK)\n");
		placement_usage(stderr);
		return N56_EXIT_USAGE;
	}
	if (strcmp(*format, "text") && strcmp(*format, "json")) {
		fprintf(stderr,
			PROG "--format must be text or json, not "
			     "'%s'\n",
			*format);
		return N56_EXIT_USAGE;
	}
	return -1;
}

/* The job's record, from Comment or else AdminComment. 1 found, 0 not
 * (said), -1 a damaged record (said). */
static int job_record(const char *job, const struct job_fields *jf,
		      struct n56_record *rec)
{
	const char *fields[] = { jf->comment, jf->admin_comment };
	static const char *const keys[] = { "Comment", "AdminComment" };
	char err[512];
	int found = 0;

	for (size_t k = 0; k < 2 && found <= 0; k++) {
		found = n56_record_find(fields[k], rec, err, sizeof(err));
		if (found < 0) {
			fprintf(stderr, PROG "job %s %s: %s\n", job, keys[k],
				err);
			return -1;
		}
	}
	if (!found)
		fprintf(stderr,
			PROG
			"job %s has no nam56r placement record "
			"(it was not submitted with --nam56r-recipe, no step "
			"has started yet, or the site publishes none)\n",
			job);
	return found;
}

/* The placer the record describes (its sizes, order and node shape). */
static int record_placer(const char *job, const struct n56_record *rec,
			 struct n56_placer **pl)
{
	struct n56_parallel par = {
		.tp = rec->tp,
		.pp = rec->pp,
		.vpp = rec->vpp,
		.ep = rec->ep,
		.etp = rec->etp,
		.cp = rec->cp,
		.dp = rec->dp,
		.world = rec->world,
		.pp_before_dp = !strcmp(rec->order, "tp-cp-ep-pp-dp"),
	};
	struct n56_node_shape shape;
	struct n56_place_report rep;
	char err[512];

	shape_from_record(rec, &shape);
	if (n56_placer_new(&par, &shape, rec->nodes, pl, &rep, err,
			   sizeof(err))) {
		fprintf(stderr,
			PROG "job %s: the record does not describe a "
			     "valid placement: %s\n",
			job, err);
		return -1;
	}
	return 0;
}

static json_t *rank_json(const struct n56_rank_place *p, char **hosts)
{
	return json_pack("{s:I s:I s:s s:i s:i s:i s:I s:I s:I s:I s:I}",
			 "rank", (json_int_t)p->rank, "node",
			 (json_int_t)p->node, "host", hosts[p->node],
			 "local_rank", p->local_rank, "gpu", p->gpu, "island",
			 p->island, "tp", (json_int_t)p->tp, "cp",
			 (json_int_t)p->cp, "ep", (json_int_t)p->ep, "dp",
			 (json_int_t)p->dp, "pp", (json_int_t)p->pp);
}

/* Every rank's place, as a table or as JSON on stdout. */
static int print_placement(const char *job, const struct n56_record *rec,
			   const struct n56_placer *pl, char **hosts, bool json)
{
	json_t *rows = json ? json_array() : NULL;
	char line[1024] = "";
	struct n56_rank_place p;

	if (json && !rows)
		return N56_EXIT_FAIL;
	n56_record_format(rec, line, sizeof(line));
	if (!json)
		printf("job %s: %s\n%6s %-12s %10s %4s %6s %4s %4s %4s %4s "
		       "%4s\n",
		       job, line, "rank", "node", "local_rank", "gpu", "island",
		       "tp", "cp", "ep", "dp", "pp");
	for (long r = 0; r < rec->world; r++) {
		n56_place_rank(pl, r, &p);
		if (rows)
			json_array_append_new(rows, rank_json(&p, hosts));
		else
			printf("%6ld %-12s %10d %4d %6d %4ld %4ld %4ld %4ld "
			       "%4ld\n",
			       p.rank, hosts[p.node], p.local_rank, p.gpu,
			       p.island, p.tp, p.cp, p.ep, p.dp, p.pp);
	}
	if (!rows)
		return N56_EXIT_OK;
	json_t *o = json_pack("{s:s s:s s:s s:I s:I s:o}", "job", job, "sha256",
			      rec->sha12, "master", rec->master, "world",
			      (json_int_t)rec->world, "nodes",
			      (json_int_t)rec->nodes, "placement", rows);
	if (!o)
		return N56_EXIT_FAIL;
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
	return N56_EXIT_OK;
}

int n56_cmd_placement(int argc, char **argv)
{
	const char *job = NULL, *format = "text";
	struct job_fields jf = { 0 };
	char **hosts = NULL, err[512];
	size_t nhosts = 0;
	struct n56_record rec;
	struct n56_placer *pl = NULL;
	int rc = placement_args(argc, argv, &job, &format);

	if (rc >= 0)
		return rc;
	rc = N56_EXIT_FAIL;
	if (load_job(job, &jf))
		goto out;
	rc = N56_EXIT_USAGE;
	if (job_record(job, &jf, &rec) <= 0)
		goto out;
	if (!jf.nodes || !*jf.nodes) {
		fprintf(stderr, PROG "job %s has no node list yet\n", job);
		goto out;
	}
	if (n56_hostlist_expand(jf.nodes, &hosts, &nhosts, err, sizeof(err))) {
		fprintf(stderr, PROG "job %s: its node list: %s\n", job, err);
		rc = N56_EXIT_FAIL;
		goto out;
	}
	if ((long)nhosts < rec.nodes || rec.nodes <= 0 || rec.gpn <= 0) {
		fprintf(stderr,
			PROG "the record says %ld nodes but job %s has "
			     "%zu (%s)\n",
			rec.nodes, job, nhosts, jf.nodes);
		goto out;
	}
	if (record_placer(job, &rec, &pl))
		goto out;
	rc = print_placement(job, &rec, pl, hosts, !strcmp(format, "json"));
out:
	n56_placer_free(pl);
	n56_hostlist_free(hosts, nhosts);
	free(jf.comment);
	free(jf.admin_comment);
	free(jf.nodes);
	return rc;
}
