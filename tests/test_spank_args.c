/* The plugin's pure logic: plugstack arguments, the request seen at
 * submission, base64, the placement record (format, parse, merge with an
 * existing comment) and the ARGS contradiction check. The host list has
 * its own tests (test_hostlist, test_hostlist_slurm). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/argmerge.h"
#include "spank/n56spank.h"

struct fixture {
	struct n56_spank_args args;
	char err[512];
	char **merged;
	size_t nmerged;
	char *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->args.record = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	n56_spank_args_clear(&f->args);
	free(f->merged);
	free(f->s);
	free(f);
	return 0;
}

/* ---- plugstack arguments ---- */

static void args_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		n56_spank_args_parse(0, NULL, &f->args, f->err, sizeof(f->err)),
		0);
	assert_string_equal(f->args.policy,
			    NAM56R_SYSCONFDIR "/nam56r/policy.yaml");
	assert_null(f->args.cache_dir);
	assert_null(f->args.topology);
	assert_false(f->args.no_policy);
	assert_int_equal(f->args.record, -1);
	assert_null(f->args.wrap); /* off unless the site asks */
}

static void args_all_keys(void **state)
{
	struct fixture *f = *state;
	char *av[] = { "policy=/etc/site/p.yaml", "cache_dir=/var/c",
		       "topology=/etc/t.xml", "record=admin_comment",
		       "wrap=/usr/bin/nam56r-launch" };

	assert_int_equal(
		n56_spank_args_parse(5, av, &f->args, f->err, sizeof(f->err)),
		0);
	assert_string_equal(f->args.policy, "/etc/site/p.yaml");
	assert_string_equal(f->args.cache_dir, "/var/c");
	assert_string_equal(f->args.topology, "/etc/t.xml");
	assert_int_equal(f->args.record, N56_RECORD_ADMIN_COMMENT);
	assert_string_equal(f->args.wrap, "/usr/bin/nam56r-launch");
}

static void args_policy_none(void **state)
{
	struct fixture *f = *state;
	char *av[] = { "policy=none" };

	assert_int_equal(
		n56_spank_args_parse(1, av, &f->args, f->err, sizeof(f->err)),
		0);
	assert_true(f->args.no_policy);
}

static void args_unknown_key(void **state)
{
	struct fixture *f = *state;
	char *av[] = { "policy=/p", "polcy=/x" };

	assert_int_equal(
		n56_spank_args_parse(2, av, &f->args, f->err, sizeof(f->err)),
		-1);
	assert_string_equal(f->err,
			    "unknown plugstack argument 'polcy' "
			    "(keys: policy, cache_dir, topology, record, "
			    "wrap)");
}

static void args_bad_forms(void **state)
{
	struct fixture *f = *state;
	char *noval[] = { "policy=" };
	char *nokey[] = { "=x" };
	char *rel[] = { "policy=etc/p.yaml" };
	char *relc[] = { "cache_dir=cache" };
	char *rec[] = { "record=Comment" };
	char *wrap[] = { "wrap=nam56r-launch" };

	assert_int_equal(n56_spank_args_parse(1, noval, &f->args, f->err,
					      sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "plugstack argument 'policy=': expected "
			    "key=value (keys: policy, cache_dir, topology, "
			    "record, wrap)");
	assert_int_equal(n56_spank_args_parse(1, nokey, &f->args, f->err,
					      sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "plugstack argument '=x': expected "
			    "key=value (keys: policy, cache_dir, topology, "
			    "record, wrap)");
	assert_int_equal(
		n56_spank_args_parse(1, rel, &f->args, f->err, sizeof(f->err)),
		-1);
	assert_string_equal(f->err, "policy=etc/p.yaml: give an absolute path "
				    "(or policy=none)");
	assert_int_equal(
		n56_spank_args_parse(1, relc, &f->args, f->err, sizeof(f->err)),
		-1);
	assert_string_equal(f->err, "cache_dir=cache: give an absolute path");
	assert_int_equal(
		n56_spank_args_parse(1, rec, &f->args, f->err, sizeof(f->err)),
		-1);
	assert_string_equal(f->err, "record=Comment: expected comment, "
				    "admin_comment or none");
	assert_int_equal(
		n56_spank_args_parse(1, wrap, &f->args, f->err, sizeof(f->err)),
		-1);
	assert_string_equal(f->err, "wrap=nam56r-launch: give an absolute "
				    "path");
	/* A failed parse leaves nothing allocated behind. */
	assert_null(f->args.policy);
}

static void record_field_names(void **state)
{
	(void)state;
	assert_int_equal(n56_record_field_parse("comment"), N56_RECORD_COMMENT);
	assert_int_equal(n56_record_field_parse("admin_comment"),
			 N56_RECORD_ADMIN_COMMENT);
	assert_int_equal(n56_record_field_parse("none"), N56_RECORD_NONE);
	assert_int_equal(n56_record_field_parse("AdminComment"), -1);
	assert_int_equal(n56_record_field_parse(NULL), -1);
}

/* ---- the request visible at submission ---- */

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; fake_env && fake_env[i]; i += 2)
		if (!strcmp(fake_env[i], name))
			return fake_env[i + 1];
	return NULL;
}

static void request_long_and_short(void **state)
{
	struct n56_request_seen r;
	char *av[] = { "sbatch",
		       "-J",
		       "-N",
		       "--ntasks-per-node=8",
		       "--gpus-per-node",
		       "a100:8",
		       "-N2",
		       "job.sh",
		       "-N",
		       "9",
		       NULL };

	(void)state;
	fake_env = NULL;
	n56_request_from_cmdline(10, av, fake_getenv, &r);
	/* -J takes "-N" as its value; the script's own -N 9 is not ours. */
	assert_int_equal(r.nodes, 2);
	assert_int_equal(r.tasks_per_node, 8);
	assert_int_equal(r.gpus_per_node, 8);
	assert_int_equal(r.ntasks, 0);
	assert_true(r.tasks_per_node_argv);
	assert_true(r.gpus_per_node_argv);
}

static void request_values_as_next_word(void **state)
{
	struct n56_request_seen r;
	char *av[] = { "sbatch", "--nam56r-recipe",
		       "r.yaml", "--job-name",
		       "train",	 "-N",
		       "4",	 "--gpus-per-node=8",
		       "job.sh", NULL };

	(void)state;
	fake_env = NULL;
	n56_request_from_cmdline(9, av, fake_getenv, &r);
	assert_int_equal(r.nodes, 4);
	assert_int_equal(r.gpus_per_node, 8);
}

static void request_gres_and_env(void **state)
{
	struct n56_request_seen r;
	static const char *const env[] = { "SLURM_JOB_NUM_NODES",
					   "4",
					   "SLURM_NTASKS_PER_NODE",
					   "8",
					   "SLURM_NTASKS",
					   "32",
					   NULL };
	char *av[] = { "srun", "--gres=nic:1,gpu:h100:4", "-l", "prog", NULL };

	(void)state;
	fake_env = env;
	n56_request_from_cmdline(4, av, fake_getenv, &r);
	assert_int_equal(r.nodes, 4);
	assert_int_equal(r.tasks_per_node, 8);
	assert_int_equal(r.gpus_per_node, 4);
	assert_int_equal(r.ntasks, 32);
	/* Inherited tasks per node are not held against --gres. */
	assert_false(r.tasks_per_node_argv);
	assert_true(r.gpus_per_node_argv);
	fake_env = NULL;
}

static void request_ranges_unknown(void **state)
{
	struct n56_request_seen r;
	char *av[] = {
		"salloc", "--nodes=2-4", "-n", "x", "--", "-N", "3", NULL
	};

	(void)state;
	fake_env = NULL;
	n56_request_from_cmdline(7, av, fake_getenv, &r);
	assert_int_equal(r.nodes, 0);
	assert_int_equal(r.ntasks, 0);
	assert_int_equal(r.gpus_per_node, 0);
}

/* The partition: -p/--partition in every form, the last one winning,
 * never the script's own; else the program's own variable. */
static void request_partition_argv(void **state)
{
	static const struct {
		int argc;
		char *argv[8];
		const char *want;
	} c[] = {
		{ 3, { "sbatch", "--partition=gpu", "job.sh" }, "gpu" },
		{ 4, { "sbatch", "--partition", "gpu", "job.sh" }, "gpu" },
		{ 4, { "sbatch", "-p", "gpu", "job.sh" }, "gpu" },
		{ 3, { "sbatch", "-pgpu", "job.sh" }, "gpu" },
		{ 3, { "sbatch", "-lpgpu", "job.sh" }, "gpu" },
		{ 4, { "srun", "-p", "a,b", "prog" }, "a,b" },
		{ 5, { "sbatch", "-p", "a", "--partition=b", "job.sh" }, "b" },
		/* the script's -p and a value that looks like -p are not ours */
		{ 5, { "sbatch", "-J", "-p", "job.sh", "-pother" }, NULL },
		{ 5,
		  { "sbatch", "--job-name", "-p", "job.sh", "-pother" },
		  NULL },
		{ 5, { "salloc", "--", "-p", "x", "cmd" }, NULL },
		{ 3, { "sbatch", "--partition=", "job.sh" }, NULL },
		/* no such long option: --partition-ish prefixes are not ours */
		{ 4, { "sbatch", "--partitions", "x", "job.sh" }, NULL },
	};

	(void)state;
	fake_env = NULL;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct n56_request_seen r;

		n56_request_from_cmdline(c[i].argc, (char **)c[i].argv,
					 fake_getenv, &r);
		if (c[i].want)
			assert_string_equal(r.partition, c[i].want);
		else
			assert_null(r.partition);
	}
}

static void request_partition_env(void **state)
{
	struct n56_request_seen r;
	static const char *const env[] = { "SBATCH_PARTITION",
					   "sb",
					   "SALLOC_PARTITION",
					   "sa",
					   "SLURM_PARTITION",
					   "sr",
					   NULL };
	static const char *const job[] = { "SLURM_PARTITION",
					   "sr",
					   "SLURM_JOB_ID",
					   "7",
					   "SLURM_JOB_PARTITION",
					   "running",
					   NULL };
	char *sb[] = { "/usr/bin/sbatch", "job.sh", NULL };
	char *sa[] = { "salloc", "cmd", NULL };
	char *sr[] = { "srun", "cmd", NULL };
	char *sr_p[] = { "srun", "-p", "mine", "cmd", NULL };
	char *sb_p[] = { "sbatch", "-p", "mine", "job.sh", NULL };
	char *other[] = { "nam56r-launch", "cmd", NULL };

	(void)state;
	fake_env = env;
	/* each program reads its own variable, the option wins */
	n56_request_from_cmdline(2, sb, fake_getenv, &r);
	assert_string_equal(r.partition, "sb");
	n56_request_from_cmdline(2, sa, fake_getenv, &r);
	assert_string_equal(r.partition, "sa");
	n56_request_from_cmdline(2, sr, fake_getenv, &r);
	assert_string_equal(r.partition, "sr");
	n56_request_from_cmdline(4, sb_p, fake_getenv, &r);
	assert_string_equal(r.partition, "mine");
	n56_request_from_cmdline(2, other, fake_getenv, &r);
	assert_null(r.partition);
	/* an srun inside a job: the job's partition, whatever it names */
	fake_env = job;
	n56_request_from_cmdline(2, sr, fake_getenv, &r);
	assert_string_equal(r.partition, "running");
	n56_request_from_cmdline(4, sr_p, fake_getenv, &r);
	assert_string_equal(r.partition, "running");
	/* sbatch inside a job submits a new one: its SLURM_* say nothing
	 * (the plugin hides them from sbatch; here sbatch reads only
	 * SBATCH_PARTITION) */
	n56_request_from_cmdline(2, sb, fake_getenv, &r);
	assert_null(r.partition);
	fake_env = NULL;
}

/* ---- base64 ---- */

static void base64_vectors(void **state)
{
	static const char *const plain[] = { "",     "f",     "fo",    "foo",
					     "foob", "fooba", "foobar" };
	static const char *const enc[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < 7; i++) {
		char *dec;
		size_t len;

		f->s = n56_base64_encode(plain[i], strlen(plain[i]));
		assert_string_equal(f->s, enc[i]);
		assert_int_equal(n56_base64_decode(f->s, &dec, &len), 0);
		assert_int_equal(len, strlen(plain[i]));
		assert_memory_equal(dec, plain[i], len);
		free(dec);
		free(f->s);
		f->s = NULL;
	}
}

static void base64_binary_round_trip(void **state)
{
	struct fixture *f = *state;
	unsigned char bin[256];
	char *dec;
	size_t len;

	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)(255 - i);
	f->s = n56_base64_encode(bin, sizeof(bin));
	assert_int_equal(strlen(f->s), 344);
	assert_int_equal(n56_base64_decode(f->s, &dec, &len), 0);
	assert_int_equal(len, 256);
	assert_memory_equal(dec, bin, 256);
	free(dec);
}

static void base64_refuses_damage(void **state)
{
	/* Zh== and Zm9=: bits after the data that are not zero (no
	 * encoder writes them; nettle refuses them). */
	static const char *const bad[] = {
		"Zg=",	    "Zg=A",  "Z===",   "Zm9v!A==", "=Zm9",
		"Zg==Zg==", "Zm 9v", "Zm9v\n", "Zh==",	   "Zm9="
	};
	char *dec;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(n56_base64_decode(bad[i], &dec, &len), -1);
		assert_null(dec);
	}
}

/* ---- the placement record ---- */

static void example_record(struct n56_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->sha12, "ab12cd34ef56");
	r->world = 16;
	r->nodes = 2;
	r->gpn = 8;
	r->tp = 2;
	r->cp = 1;
	r->ep = 2;
	r->etp = 1;
	r->dp = 4;
	r->pp = 2;
	r->vpp = 2;
	strcpy(r->order, "tp-cp-ep-dp-pp");
	r->island_size[0] = 4;
	r->island_size[1] = 4;
	r->nislands = 2;
	strcpy(r->master, "n1:29517");
}

static const char example_line[] =
	"nam56r:1 sha256=ab12cd34ef56 world=16 nodes=2 gpn=8 tp=2 cp=1 "
	"ep=2 etp=1 dp=4 pp=2 vpp=2 order=tp-cp-ep-dp-pp islands=4+4 "
	"master=n1:29517";

static void record_format_exact(void **state)
{
	struct n56_record r;
	char buf[512], small[40];

	(void)state;
	example_record(&r);
	assert_int_equal(n56_record_format(&r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, example_line);
	assert_int_equal(n56_record_format(&r, small, sizeof(small)), -1);
}

static void record_round_trip_in_comment(void **state)
{
	struct n56_record r, back;
	char buf[512], field[700], err[256];

	(void)state;
	example_record(&r);
	assert_int_equal(n56_record_format(&r, buf, sizeof(buf)), 0);
	snprintf(field, sizeof(field), "run 7 of sweep" N56_RECORD_SEP "%s",
		 buf);
	assert_int_equal(n56_record_find(field, &back, err, sizeof(err)), 1);
	assert_memory_equal(&r, &back, sizeof(r));
	/* A record followed by more text (someone appended after us). */
	snprintf(field, sizeof(field), "%s" N56_RECORD_SEP "later note", buf);
	assert_int_equal(n56_record_find(field, &back, err, sizeof(err)), 1);
	assert_string_equal(back.master, "n1:29517");
}

static void record_absent_and_damaged(void **state)
{
	struct n56_record r;
	char err[256];

	(void)state;
	assert_int_equal(n56_record_find(NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(n56_record_find("", &r, err, sizeof(err)), 0);
	assert_int_equal(
		n56_record_find("see nam56r:10 docs", &r, err, sizeof(err)), 0);
	assert_int_equal(
		n56_record_find("xnam56r:1 world=2", &r, err, sizeof(err)), 0);
	assert_int_equal(n56_record_find("nam56r:1 sha256=ab12cd34ef56 "
					 "world=x",
					 &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "placement record: bad value world=x");
	assert_int_equal(
		n56_record_find("nam56r:1 sha256=AB12", &r, err, sizeof(err)),
		-1);
	assert_string_equal(err, "placement record: bad value sha256=AB12");
	assert_int_equal(n56_record_find("nam56r:1 sha256=ab12cd34ef56 "
					 "world=2",
					 &r, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "placement record: missing nodes=");
	assert_int_equal(
		n56_record_find("nam56r:1 garbage", &r, err, sizeof(err)), -1);
	assert_string_equal(err, "placement record: 'garbage' is not "
				 "key=value");
	assert_int_equal(
		n56_record_find("nam56r:1 islands=4+x", &r, err, sizeof(err)),
		-1);
	assert_string_equal(err, "placement record: bad value islands=4+x");
}

static void record_ignores_unknown_keys(void **state)
{
	struct n56_record r;
	char field[600], err[256];

	(void)state;
	snprintf(field, sizeof(field), "%s future=1", example_line);
	assert_int_equal(n56_record_find(field, &r, err, sizeof(err)), 1);
	assert_int_equal(r.world, 16);
}

static void merge_cases(void **state)
{
	struct fixture *f = *state;
	const char *rec = "nam56r:1 sha256=000000000000 world=1";

	f->s = n56_record_merge(NULL, rec);
	assert_string_equal(f->s, rec);
	free(f->s);
	f->s = n56_record_merge("", rec);
	assert_string_equal(f->s, rec);
	free(f->s);
	/* The user's comment is kept, the record appended. */
	f->s = n56_record_merge("my sweep 3", rec);
	assert_string_equal(f->s, "my sweep 3 | nam56r:1 sha256=000000000000 "
				  "world=1");
	free(f->s);
	/* An older record is replaced, both neighbours kept. */
	f->s = n56_record_merge("before | nam56r:1 sha256=111111111111 "
				"world=8 | after",
				rec);
	assert_string_equal(f->s, "before | nam56r:1 sha256=000000000000 "
				  "world=1 | after");
	free(f->s);
	f->s = n56_record_merge("nam56r:1 sha256=111111111111 world=8", rec);
	assert_string_equal(f->s, rec);
}

/* ---- ARGS after -- against the generated args ---- */

static char *gen[] = { "--tensor-model-parallel-size",
		       "2",
		       "--sequence-parallel",
		       "--lr=0.0003",
		       "--hybrid-layer-pattern",
		       "AEME|AEMR",
		       "--loss-scale",
		       "-1" };

static void merge_args_appends_new(void **state)
{
	struct fixture *f = *state;
	char *user[] = { "--train-iters", "10", "--use-flash", "data.bin" };

	assert_int_equal(n56_args_merge(gen, 8, user, 4, &f->merged,
					&f->nmerged, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(f->nmerged, 12);
	assert_string_equal(f->merged[8], "--train-iters");
	assert_string_equal(f->merged[9], "10");
	assert_string_equal(f->merged[10], "--use-flash");
	assert_string_equal(f->merged[11], "data.bin");
	assert_null(f->merged[12]);
}

static void merge_args_drops_repeats(void **state)
{
	struct fixture *f = *state;
	char *user[] = { "--tensor-model-parallel-size",
			 "2",
			 "--lr",
			 "0.0003",
			 "--sequence-parallel",
			 "--loss-scale=-1" };

	assert_int_equal(n56_args_merge(gen, 8, user, 6, &f->merged,
					&f->nmerged, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(f->nmerged, 8);
}

static void merge_args_contradictions(void **state)
{
	struct fixture *f = *state;
	char *tp[] = { "--tensor-model-parallel-size=4" };
	char *lr[] = { "--x", "--lr", "0.1" };
	char *sw[] = { "--sequence-parallel", "yes" };
	char *neg[] = { "--loss-scale", "-2" };

	assert_int_equal(n56_args_merge(gen, 8, tp, 1, &f->merged, &f->nmerged,
					f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "argument '--tensor-model-parallel-size "
			    "4' contradicts the generated "
			    "'--tensor-model-parallel-size 2' (change the "
			    "recipe, not the command line)");
	assert_null(f->merged);
	assert_int_equal(n56_args_merge(gen, 8, lr, 3, &f->merged, &f->nmerged,
					f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "argument '--lr 0.1' contradicts the "
			    "generated '--lr 0.0003' (change the recipe, not "
			    "the command line)");
	assert_int_equal(n56_args_merge(gen, 8, sw, 2, &f->merged, &f->nmerged,
					f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "argument '--sequence-parallel yes' "
			    "contradicts the generated '--sequence-parallel' "
			    "(change the recipe, not the command line)");
	assert_int_equal(n56_args_merge(gen, 8, neg, 2, &f->merged, &f->nmerged,
					f->err, sizeof(f->err)),
			 -1);
	assert_string_equal(f->err,
			    "argument '--loss-scale -2' contradicts "
			    "the generated '--loss-scale -1' (change the "
			    "recipe, not the command line)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(args_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(args_all_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(args_policy_none, setup,
						teardown),
		cmocka_unit_test_setup_teardown(args_unknown_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(args_bad_forms, setup,
						teardown),
		cmocka_unit_test_setup_teardown(record_field_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(request_long_and_short, setup,
						teardown),
		cmocka_unit_test_setup_teardown(request_values_as_next_word,
						setup, teardown),
		cmocka_unit_test_setup_teardown(request_gres_and_env, setup,
						teardown),
		cmocka_unit_test_setup_teardown(request_ranges_unknown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(request_partition_argv, setup,
						teardown),
		cmocka_unit_test_setup_teardown(request_partition_env, setup,
						teardown),
		cmocka_unit_test_setup_teardown(base64_vectors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(base64_binary_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(base64_refuses_damage, setup,
						teardown),
		cmocka_unit_test_setup_teardown(record_format_exact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(record_round_trip_in_comment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(record_absent_and_damaged,
						setup, teardown),
		cmocka_unit_test_setup_teardown(record_ignores_unknown_keys,
						setup, teardown),
		cmocka_unit_test_setup_teardown(merge_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(merge_args_appends_new, setup,
						teardown),
		cmocka_unit_test_setup_teardown(merge_args_drops_repeats, setup,
						teardown),
		cmocka_unit_test_setup_teardown(merge_args_contradictions,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
