/* The recipe parser: every error path with its exact message and place,
 * all errors reported at once, defaults, and every field of the example. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/recipe.h"
#include "policy/yamlutil.h"

#define DATA SRCDIR "/tests/data/parse/"
#define EXAMPLE SRCDIR "/examples/nam56r.yaml"

/* The smallest valid recipe: each inline case adds one section to it. */
#define MINIMAL                                            \
	"schema: 1\n"                                      \
	"model: {pattern: AEMR, hidden_size: 64}\n"        \
	"batch: {global_batch_size: 8, seq_length: 128}\n" \
	"runtime: {command: [python3]}\n"
#define MINIMAL_LINES 4

struct fixture {
	struct n56_diags d;
	struct n56_recipe *r;
	char tmpdir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->tmpdir, "/tmp/n56-recipe-XXXXXX");
	if (!mkdtemp(f->tmpdir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	n56_recipe_free(f->r);
	n56_diags_free(&f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmpdir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Formats every diagnostic and compares it with the expected lines. */
static void check_diags(const struct n56_diags *d, const char *const *want,
			size_t nwant)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format(&d->v[i], buf, sizeof(buf));
		print_message("diag: %s\n", buf);
	}
	assert_int_equal(d->n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		n56_diag_format(&d->v[i], buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
}

static void parse_fails(struct fixture *f, const char *text,
			const char *const *want, size_t nwant)
{
	assert_int_equal(
		n56_recipe_parse("t.yaml", text, strlen(text), &f->r, &f->d),
		-1);
	assert_null(f->r);
	check_diags(&f->d, want, nwant);
}

#define FAILS(f, text, ...)                                                    \
	do {                                                                   \
		const char *const want_[] = { __VA_ARGS__ };                   \
		parse_fails(f, text, want_, sizeof(want_) / sizeof(want_[0])); \
	} while (0)

static void load_fails(struct fixture *f, const char *path,
		       const char *const *want, size_t nwant)
{
	assert_int_equal(n56_recipe_load(path, &f->r, &f->d), -1);
	assert_null(f->r);
	check_diags(&f->d, want, nwant);
}

#define LOAD_FAILS(f, path, ...)                                              \
	do {                                                                  \
		const char *const want_[] = { __VA_ARGS__ };                  \
		load_fails(f, path, want_, sizeof(want_) / sizeof(want_[0])); \
	} while (0)

static void test_misspelt_key_suggests(void **state)
{
	FAILS(*state, MINIMAL "parallelism:\n  tpp: 2\n",
	      "t.yaml:6:3: unknown key 'tpp' in parallelism (did you mean "
	      "'tp'?)");
}

static void test_misspelt_top_key_suggests(void **state)
{
	FAILS(*state, MINIMAL "envv: {}\n",
	      "t.yaml:5:1: unknown key 'envv' in the recipe (did you mean "
	      "'env'?)");
}

static void test_unknown_key_lists_known(void **state)
{
	FAILS(*state, MINIMAL "batch2: 1\n",
	      "t.yaml:5:1: unknown key 'batch2' in the recipe (did you mean "
	      "'batch'?)");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, MINIMAL "layout: {speed: 3}\n",
	      "t.yaml:5:10: unknown key 'speed' in layout (known keys: "
	      "segments, cost, backward_ratio, p2p_latency_us, "
	      "gpu_tflops)");
}

static void test_tab_indent(void **state)
{
	LOAD_FAILS(*state, DATA "tab.yaml",
		   DATA "tab.yaml:4:1: found a tab character that violates "
			"indentation (while scanning a plain scalar); YAML "
			"does not allow tabs here: indent with spaces");
}

static void test_syntax_error(void **state)
{
	FAILS(*state, "schema: 1\nmodel: {pattern: A\n",
	      "t.yaml:3:1: did not find expected ',' or '}' (while parsing "
	      "a flow mapping)");
}

static void test_empty_file(void **state)
{
	LOAD_FAILS(*state, DATA "empty.yaml",
		   DATA "empty.yaml: empty recipe: expected a mapping with "
			"'schema: 1'");
}

static void test_comments_only(void **state)
{
	LOAD_FAILS(*state, DATA "comments.yaml",
		   DATA "comments.yaml: empty recipe: expected a mapping "
			"with 'schema: 1'");
}

static void test_document_marker_only(void **state)
{
	FAILS(*state, "---\n",
	      "t.yaml: empty recipe: expected a mapping with 'schema: 1'");
}

static void test_binary_nul(void **state)
{
	LOAD_FAILS(*state, DATA "binary.yaml",
		   DATA "binary.yaml: not a text file (binary data at byte "
			"31)");
}

static void test_binary_bad_utf8(void **state)
{
	struct fixture *f = *state;
	const char text[] = "schema: 1\n# caf\xc3\xa9 is fine, \xff is not\n";
	const char overlong[] = "a: \xc0\xaf\n";
	const char surrogate[] = "a: \xed\xa0\x80\n";

	assert_int_equal(n56_recipe_parse("t.yaml", text, sizeof(text) - 1,
					  &f->r, &f->d),
			 -1);
	assert_int_equal(n56_recipe_parse("t.yaml", overlong,
					  sizeof(overlong) - 1, &f->r, &f->d),
			 -1);
	assert_int_equal(n56_recipe_parse("t.yaml", surrogate,
					  sizeof(surrogate) - 1, &f->r, &f->d),
			 -1);
	{
		const char *const want[] = {
			"t.yaml: not a text file (binary data at byte 28)",
			"t.yaml: not a text file (binary data at byte 4)",
			"t.yaml: not a text file (binary data at byte 4)",
		};
		check_diags(&f->d, want, 3);
	}
}

static void test_missing_file(void **state)
{
	LOAD_FAILS(*state, DATA "no-such.yaml",
		   DATA "no-such.yaml: cannot open: No such file or "
			"directory");
}

static void test_directory(void **state)
{
	LOAD_FAILS(*state, SRCDIR "/tests/data/parse",
		   SRCDIR "/tests/data/parse: is a directory, not a YAML "
			  "file");
}

static void test_fifo(void **state)
{
	struct fixture *f = *state;
	char path[128], want[192];

	snprintf(path, sizeof(path), "%s/fifo", f->tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want),
		 "%s: not a regular file (a device, "
		 "FIFO or socket)",
		 path);
	LOAD_FAILS(f, path, want);
}

static void collect_line(void *ctx, const char *line)
{
	char *buf = ctx;

	strcat(buf, line);
	strcat(buf, "\n");
}

/* What the printers show: file by file in the order first named, by line
 * and column within a file, a message without a position first, and
 * messages at one place in the order found. */
static void test_diags_sorted(void **state)
{
	struct n56_diags d = { 0 };
	char out[1024] = "";

	(void)state;
	n56_diag_add(&d, "r.yaml", (struct n56_pos){ 4, 15 }, "a");
	n56_diag_add(&d, "r.yaml", (struct n56_pos){ 3, 1 }, "b");
	n56_diag_add(&d, "p.yaml", (struct n56_pos){ 2, 1 }, "c");
	n56_diag_add(&d, "r.yaml", (struct n56_pos){ 5, 3 }, "d");
	n56_diag_add(&d, "r.yaml", (struct n56_pos){ 4, 3 }, "e");
	n56_diag_add(&d, "r.yaml", (struct n56_pos){ 4, 3 }, "f");
	n56_diag_add(&d, "r.yaml", (struct n56_pos){ 0, 0 }, "g");
	n56_diag_add(&d, "p.yaml", (struct n56_pos){ 1, 9 }, "h");
	n56_diags_emit(&d, collect_line, out);
	assert_string_equal(out, "r.yaml: error: g\n"
				 "r.yaml:3:1: error: b\n"
				 "r.yaml:4:3: error: e\n"
				 "r.yaml:4:3: error: f\n"
				 "r.yaml:4:15: error: a\n"
				 "r.yaml:5:3: error: d\n"
				 "p.yaml:1:9: error: h\n"
				 "p.yaml:2:1: error: c\n");
	n56_diags_free(&d);
}

/* MINIMAL and one comment line: len bytes in all. */
static char *padded_recipe(size_t len)
{
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, MINIMAL, strlen(MINIMAL));
	buf[strlen(MINIMAL)] = '#';
	buf[len - 1] = '\n';
	buf[len] = '\0';
	return buf;
}

/* What the plugin carries: a recipe of exactly N56_RECIPE_CARRY_MAX bytes
 * passes, one byte more is refused with the plugin's message. */
static void test_carry_limit(void **state)
{
	struct fixture *f = *state;
	char *buf = padded_recipe(N56_RECIPE_CARRY_MAX), got[256];

	assert_int_equal(
		n56_recipe_parse("big.yaml", buf, strlen(buf), &f->r, &f->d),
		0);
	assert_int_equal(f->r->content_len, 65536);
	assert_int_equal(n56_recipe_check_carry(f->r, &f->d), 0);
	assert_int_equal(f->d.n, 0);
	n56_recipe_free(f->r);
	f->r = NULL;
	free(buf);
	buf = padded_recipe(N56_RECIPE_CARRY_MAX + 1);
	assert_int_equal(
		n56_recipe_parse("big.yaml", buf, strlen(buf), &f->r, &f->d),
		0);
	assert_int_equal(n56_recipe_check_carry(f->r, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	n56_diag_format_error(&f->d.v[0], got, sizeof(got));
	assert_string_equal(got, "big.yaml: error: the recipe is 65537 bytes; "
				 "at most 65536 are carried to the compute "
				 "nodes (shorten its comments)");
	free(buf);
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	char path[128], want[192];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/big.yaml", f->tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < N56_RECIPE_MAX_BYTES / 16 + 1; i++)
		fputs("# padding line\n\n", fp);
	fclose(fp);
	snprintf(want, sizeof(want), "%s: too large (%d bytes, at most %d)",
		 path, (N56_RECIPE_MAX_BYTES / 16 + 1) * 16,
		 N56_RECIPE_MAX_BYTES);
	LOAD_FAILS(f, path, want);
}

/* The reader sizes its buffer from fstat and grows it: a file of exactly
 * the limit is read whole, and a file that reports size 0 (procfs) but
 * holds more than the first guess still reads to its end or stops at the
 * limit. */
static void test_read_sizes(void **state)
{
	struct fixture *f = *state;
	struct n56_diags d = { 0 };
	char path[128], msg[256], *buf = NULL;
	size_t len = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/exact", f->tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 10000; i++)
		fputc('a' + i % 26, fp);
	fclose(fp);
	assert_int_equal(n56_read_file(path, 10000, &buf, &len, &d), 0);
	assert_int_equal(len, 10000);
	assert_int_equal(buf[9999], 'a' + 9999 % 26);
	assert_int_equal(buf[10000], '\0');
	free(buf);
	assert_int_equal(n56_read_file(path, 9999, &buf, &len, &d), -1);
	assert_int_equal(d.n, 1);
	n56_diag_format(&d.v[0], msg, sizeof(msg));
	assert_non_null(strstr(msg, "too large (10000 bytes, at most 9999)"));
	n56_diags_free(&d);

	/* st_size 0, content well above the first 4 KiB guess */
	if (n56_read_file("/proc/self/smaps", 1 << 20, &buf, &len, &d)) {
		n56_diags_free(&d);
		skip();
	}
	assert_true(len > 16384);
	assert_int_equal(strlen(buf), len);
	free(buf);
	assert_int_equal(
		n56_read_file("/proc/self/smaps", 5000, &buf, &len, &d), -1);
	assert_int_equal(d.n, 1);
	n56_diag_format(&d.v[0], msg, sizeof(msg));
	assert_string_equal(msg, "/proc/self/smaps: too large (more than "
				 "5000 bytes)");
	n56_diags_free(&d);
}

static void test_wrong_type_int(void **state)
{
	FAILS(*state,
	      MINIMAL "parallelism: {tp: two, pp: \"2\", ep: 1.5, "
		      "cp: [1], vpp: }\n",
	      "t.yaml:5:19: parallelism.tp: expected an integer, got 'two'",
	      "t.yaml:5:28: parallelism.pp: expected an integer, got a "
	      "quoted string '2'",
	      "t.yaml:5:37: parallelism.ep: expected an integer, got '1.5'",
	      "t.yaml:5:46: parallelism.cp: expected an integer, got a "
	      "sequence",
	      "t.yaml:5:56: parallelism.vpp: expected an integer, got an "
	      "empty value");
}

static void test_wrong_type_bool(void **state)
{
	FAILS(*state,
	      MINIMAL "parallelism:\n  sequence_parallel: yes\n"
		      "model2: 1\n",
	      "t.yaml:6:22: parallelism.sequence_parallel: expected true or "
	      "false, got 'yes'",
	      "t.yaml:7:1: unknown key 'model2' in the recipe (did you mean "
	      "'model'?)");
}

static void test_wrong_type_string(void **state)
{
	FAILS(*state, MINIMAL "parallelism:\n  rank_order: {tp: 1}\n",
	      "t.yaml:6:15: parallelism.rank_order: expected a string, got "
	      "a mapping");
}

static void test_wrong_type_number(void **state)
{
	FAILS(*state,
	      MINIMAL "layout:\n  cost: {A: fast, E: 0x10, M: -1, "
		      "R: .nan}\n",
	      "t.yaml:6:13: layout.cost.A: expected a number, got 'fast'",
	      "t.yaml:6:22: layout.cost.E: expected a number, got '0x10'",
	      "t.yaml:6:31: layout.cost.M: -1 is out of range (a number "
	      "from 0 up)",
	      "t.yaml:6:38: layout.cost.R: expected a number, got '.nan'");
}

static void test_wrong_type_intlist(void **state)
{
	FAILS(*state, MINIMAL "layout: {segments: 26}\nmodel2: {}\n",
	      "t.yaml:5:20: layout.segments: expected a list of integers, "
	      "got '26'",
	      "t.yaml:6:1: unknown key 'model2' in the recipe (did you mean "
	      "'model'?)");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, MINIMAL "layout: {segments: [13, x, -1]}\n",
	      "t.yaml:5:25: layout.segments[1]: expected an integer, got "
	      "'x'",
	      "t.yaml:5:28: layout.segments[2]: -1 is out of range (0 to "
	      "2147483647)");
}

static void test_wrong_type_strlist(void **state)
{
	FAILS(*state,
	      "schema: 1\nmodel: {pattern: AEMR, hidden_size: 64}\n"
	      "batch: {global_batch_size: 8, seq_length: 128}\n"
	      "runtime:\n  command: python3\n  seams: [a, {b: 1}, \"\"]\n"
	      "  cuda_graphs: {modules: [attn, mlpp]}\n",
	      "t.yaml:5:12: runtime.command: expected a list of strings, got "
	      "'python3'",
	      "t.yaml:6:14: runtime.seams[1]: expected a string, got a "
	      "mapping",
	      "t.yaml:6:22: runtime.seams[2]: expected a string, got a "
	      "quoted string ''",
	      "t.yaml:7:33: runtime.cuda_graphs.modules[1]: 'mlpp' is not "
	      "one of: attn, mlp, moe, moe_router, moe_preprocess, mamba");
}

static void test_wrong_type_env(void **state)
{
	FAILS(*state, MINIMAL "env: [A, B]\n",
	      "t.yaml:5:6: env: expected a mapping of NAME: value, got a "
	      "sequence");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, MINIMAL "env:\n  A: [1]\n  B:\n  1X: y\n  A: z\n",
	      "t.yaml:6:6: env.A: expected a value, got a sequence",
	      "t.yaml:7:5: env.B: expected a value, got an empty value "
	      "(write \"\" for an empty string)",
	      "t.yaml:8:3: env: '1X' is not a valid environment variable "
	      "name ([A-Za-z_][A-Za-z0-9_]*)",
	      "t.yaml:9:3: duplicate key 'A' in env (first at line 6)");
}

static void test_env_duplicate(void **state)
{
	FAILS(*state, MINIMAL "env:\n  A: 1\n  A: 2\n",
	      "t.yaml:7:3: duplicate key 'A' in env (first at line 6)");
}

static void test_too_many_variables(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	fputs(MINIMAL "env:\n", fp);
	for (int i = 0; i <= N56_MAX_VARS; i++)
		fprintf(fp, "  V%d: x\n", i);
	fclose(fp);
	assert_int_equal(n56_recipe_parse("t.yaml", text, len, &f->r, &f->d),
			 -1);
	free(text);
	{
		const char *const want[] = {
			"t.yaml:6:3: env: too many variables (4097, at most "
			"4096)",
		};
		check_diags(&f->d, want, 1);
	}
}

static void test_int_overflow(void **state)
{
	FAILS(*state,
	      MINIMAL "parallelism:\n  tp: 99999999999999999999\n"
		      "  pp: -99999999999999999999\n  ep: 2147483648\n",
	      "t.yaml:6:7: parallelism.tp: 99999999999999999999 is out of "
	      "range (1 to 2147483647)",
	      "t.yaml:7:7: parallelism.pp: -99999999999999999999 is out of "
	      "range (1 to 2147483647)",
	      "t.yaml:8:7: parallelism.ep: 2147483648 is out of range (1 to "
	      "2147483647)");
}

static void test_sizes_at_least_one(void **state)
{
	FAILS(*state, MINIMAL "parallelism: {tp: 0, cp: -2}\n",
	      "t.yaml:5:19: parallelism.tp: 0 is out of range (1 to "
	      "2147483647)",
	      "t.yaml:5:26: parallelism.cp: -2 is out of range (1 to "
	      "2147483647)");
}

static void test_bad_enum(void **state)
{
	FAILS(*state, MINIMAL "parallelism: {rank_order: tp-dp-pp}\n",
	      "t.yaml:5:27: parallelism.rank_order: 'tp-dp-pp' is not one "
	      "of: tp-cp-ep-dp-pp, tp-cp-ep-pp-dp");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state,
	      "schema: 1\nmodel:\n  pattern: AEMR\n  hidden_size: 64\n"
	      "  sparse_mode: fast\n  moe: {dispatcher: nccl, "
	      "load_balancing: auxloss}\n  attention: {dsa: {backend: "
	      "flash}}\n"
	      "batch: {global_batch_size: 8, seq_length: 128}\n"
	      "runtime: {command: [python3], cuda_graphs: {impl: te}}\n",
	      "t.yaml:5:16: model.sparse_mode: 'fast' is not one of: "
	      "tilelang, gather_scatter, none",
	      "t.yaml:6:21: model.moe.dispatcher: 'nccl' is not one of: "
	      "allgather, alltoall, flex",
	      "t.yaml:6:43: model.moe.load_balancing: 'auxloss' is not one "
	      "of: aux_loss, seq_aux_loss, global_aux_loss, sinkhorn, none",
	      "t.yaml:7:30: model.attention.dsa.backend: 'flash' is not one "
	      "of: none, tilelang, cudnn",
	      "t.yaml:9:51: runtime.cuda_graphs.impl: 'te' is not one of: "
	      "none, local, transformer_engine, full_iteration");
}

static void test_bad_pattern_letter(void **state)
{
	FAILS(*state,
	      "schema: 1\nmodel:\n  pattern: AEMEAEMEXEMR\n"
	      "  hidden_size: 64\n  mtp: {pattern: \"AD\"}\n"
	      "batch: {global_batch_size: 8, seq_length: 128}\n"
	      "runtime: {command: [python3]}\n",
	      "t.yaml:3:20: model.pattern: 'X' is not a block letter (A "
	      "attention, E MoE, M Mamba, R recurrent)",
	      "t.yaml:5:20: model.mtp.pattern: 'D' is not a block letter (A "
	      "attention, E MoE, M Mamba, R recurrent)");
}

static void test_missing_required(void **state)
{
	FAILS(*state,
	      "model: {depth: 4}\nbatch: {micro_batch_size: 1}\n"
	      "runtime: {seams: []}\n",
	      "t.yaml:1:8: missing required key 'pattern' in model",
	      "t.yaml:1:8: missing required key 'hidden_size' in model",
	      "t.yaml:2:8: missing required key 'global_batch_size' in batch",
	      "t.yaml:2:8: missing required key 'seq_length' in batch",
	      "t.yaml:3:10: missing required key 'command' in runtime",
	      "t.yaml:1:1: missing required key 'schema' in the recipe");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, "schema: 1\n",
	      "t.yaml:1:1: missing required key 'model' in the recipe",
	      "t.yaml:1:1: missing required key 'batch' in the recipe",
	      "t.yaml:1:1: missing required key 'runtime' in the recipe");
}

static void test_empty_command(void **state)
{
	FAILS(*state,
	      "schema: 1\nmodel: {pattern: AEMR, hidden_size: 64}\n"
	      "batch: {global_batch_size: 8, seq_length: 128}\n"
	      "runtime: {command: []}\n",
	      "t.yaml:4:20: runtime.command: must name the program to run, "
	      "e.g. [python3, pretrain_hybrid.py]");
}

static void test_duplicate_key(void **state)
{
	FAILS(*state, MINIMAL "parallelism:\n  tp: 2\n  pp: 2\n  tp: 4\n",
	      "t.yaml:8:3: duplicate key 'tp' in parallelism (first at line "
	      "6)");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, MINIMAL "schema: 1\n",
	      "t.yaml:5:1: duplicate key 'schema' in the recipe (first at "
	      "line 1)");
}

static void test_schema_2(void **state)
{
	FAILS(*state, "schema: 2\nfuture_section: {}\n",
	      "t.yaml:1:9: schema 2 is not supported by this nam56r-launch "
	      "(supported: 1)");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state,
	      "schema: one\nmodel: {pattern: AEMR, hidden_size: 64}\n"
	      "batch: {global_batch_size: 8, seq_length: 128}\n"
	      "runtime: {command: [python3]}\n",
	      "t.yaml:1:9: schema: expected an integer, got 'one'");
}

static void test_sequence_for_mapping(void **state)
{
	FAILS(*state, MINIMAL "parallelism: [tp, 2]\n",
	      "t.yaml:5:14: parallelism: expected a mapping, got a "
	      "sequence");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, "- schema: 1\n",
	      "t.yaml:1:1: expected a mapping with 'schema: 1' at the top, "
	      "got a sequence");
	n56_diags_free(&((struct fixture *)*state)->d);
	FAILS(*state, MINIMAL "[a]: 1\n",
	      "t.yaml:5:1: the recipe: expected a key name, got a sequence");
}

static void test_anchors_aliases(void **state)
{
	FAILS(*state,
	      "schema: 1\nmodel: &m {pattern: AEMR, hidden_size: 64}\n"
	      "batch: {global_batch_size: 8, seq_length: 128}\n"
	      "runtime: {command: [python3]}\nlayout: *m\n",
	      "t.yaml:2:8: anchors (&m) are not supported: write each value "
	      "out",
	      "t.yaml:5:9: aliases (*m) are not supported: write the value "
	      "out");
}

static void test_billion_laughs(void **state)
{
	FAILS(*state, "a: &a [x, x]\nb: &b [*a, *a]\n",
	      "t.yaml:1:4: anchors (&a) are not supported: write each value "
	      "out",
	      "t.yaml:2:4: anchors (&b) are not supported: write each value "
	      "out",
	      "t.yaml:2:8: aliases (*a) are not supported: write the value "
	      "out",
	      "t.yaml:2:12: aliases (*a) are not supported: write the value "
	      "out");
}

static void test_second_document(void **state)
{
	FAILS(*state, MINIMAL "---\nschema: 1\n",
	      "t.yaml:5:1: a second YAML document: only one is allowed "
	      "(remove this '---' and what follows)");
}

static void test_nul_escape(void **state)
{
	FAILS(*state, MINIMAL "env: {A: \"x\\0y\"}\n",
	      "t.yaml:5:10: env.A: a NUL character is not allowed");
}

/* libyaml's scanner is quadratic in nesting depth: deep input is refused
 * at the limit, long before that costs anything. */
static void test_deep_nesting(void **state)
{
	struct fixture *f = *state;
	size_t depth = 100000, len = 3 + 2 * depth;
	char *text = malloc(len + 1);

	assert_non_null(text);
	memcpy(text, "a: ", 3);
	memset(text + 3, '[', depth);
	memset(text + 3 + depth, ']', depth);
	text[len] = '\0';
	assert_int_equal(n56_recipe_parse("t.yaml", text, len, &f->r, &f->d),
			 -1);
	free(text);
	{
		const char *const want[] = {
			"t.yaml:1:35: nested more than 32 levels deep (these "
			"files need at most 5)",
		};
		check_diags(&f->d, want, 1);
	}
}

static void test_control_character(void **state)
{
	FAILS(*state, "schema: 1\n# bell \a\n",
	      "t.yaml: not a text file (binary data at byte 18)");
}

/* A file of many mistakes gets the first 50 and a note, not all of them. */
static void test_too_many_errors(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	char buf[256];

	assert_non_null(fp);
	for (int i = 0; i < 1000; i++)
		fprintf(fp, "unknown%d: 1\n", i);
	fclose(fp);
	assert_int_equal(n56_recipe_parse("t.yaml", text, len, &f->r, &f->d),
			 -1);
	free(text);
	assert_int_equal(f->d.n, 51);
	n56_diag_format(&f->d.v[49], buf, sizeof(buf));
	assert_string_equal(buf,
			    "t.yaml:50:1: unknown key 'unknown49' in the "
			    "recipe (known keys: schema, model, parallelism, "
			    "batch, runtime, layout, memory, env)");
	n56_diag_format(&f->d.v[50], buf, sizeof(buf));
	assert_string_equal(buf, "t.yaml:51:1: too many errors (more than "
				 "50); stopping here");
}

/* Every section's mistake comes back from one run, in file order within
 * each mapping. */
static void test_all_errors_at_once(void **state)
{
	LOAD_FAILS(*state, DATA "many-errors.yaml",
		   DATA "many-errors.yaml:4:15: model.pattern: 'X' is not a "
			"block letter (A attention, E MoE, M Mamba, R "
			"recurrent)",
		   DATA "many-errors.yaml:5:3: unknown key 'hiden_size' in "
			"model (did you mean 'hidden_size'?)",
		   DATA "many-errors.yaml:7:12: model.attention.heads: "
			"expected an integer, got 'fifty'",
		   DATA "many-errors.yaml:8:20: model.attention.mla.enabled: "
			"expected true or false, got 'yes'",
		   DATA "many-errors.yaml:4:3: missing required key "
			"'hidden_size' in model",
		   DATA "many-errors.yaml:10:7: parallelism.tp: 0 is out of "
			"range (1 to 2147483647)",
		   DATA "many-errors.yaml:11:15: parallelism.rank_order: "
			"'dp-first' is not one of: tp-cp-ep-dp-pp, "
			"tp-cp-ep-pp-dp",
		   DATA "many-errors.yaml:13:3: missing required key "
			"'seq_length' in batch",
		   DATA "many-errors.yaml:15:12: runtime.command: must name "
			"the program to run, e.g. [python3, "
			"pretrain_hybrid.py]",
		   DATA "many-errors.yaml:17:3: env: 'BAD-NAME' is not a "
			"valid environment variable name "
			"([A-Za-z_][A-Za-z0-9_]*)");
}

static void read_example(char **buf, size_t *len)
{
	struct n56_diags d = { 0 };

	assert_int_equal(n56_read_file(EXAMPLE, 1 << 20, buf, len, &d), 0);
	n56_diags_free(&d);
}

static void test_builtin_is_the_example(void **state)
{
	struct fixture *f = *state;
	struct n56_recipe *file = NULL;
	char *buf;
	size_t len;
	char sha[65];

	read_example(&buf, &len);
	n56_sha256_hex(buf, len, sha);
	assert_int_equal(n56_recipe_builtin(&f->r, &f->d), 0);
	assert_int_equal(n56_recipe_load(EXAMPLE, &file, &f->d), 0);
	assert_int_equal(f->d.n, 0);
	assert_string_equal(f->r->path, "builtin");
	assert_string_equal(file->path, EXAMPLE);
	assert_string_equal(f->r->sha256_hex, sha);
	assert_string_equal(file->sha256_hex, sha);
	assert_int_equal(f->r->content_len, len);
	assert_memory_equal(f->r->content, buf, len);
	assert_int_equal(f->r->content[len], '\0');
	assert_int_equal(f->r->model.depth.v, file->model.depth.v);
	free(buf);
	n56_recipe_free(file);
}

static void test_sha256_known_vector(void **state)
{
	char sha[65];

	(void)state;
	n56_sha256_hex("abc", 3, sha);
	assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a3"
				 "96177a9cb410ff61f20015ad");
}

static void assert_pos(struct n56_pos p, int line, int col)
{
	assert_int_equal(p.line, line);
	assert_int_equal(p.col, col);
}

static void assert_strs(const struct n56_strlist *l, const char *const *want,
			size_t n)
{
	assert_true(l->set);
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->v[i], want[i]);
}

/* Every field of examples/nam56r.yaml, as written there. */
static void test_example_round_trip(void **state)
{
	struct fixture *f = *state;
	struct n56_recipe *r;
	static const long dsa[] = { 1, 2, 3, 5, 6, 7, 9, 10, 11 };
	static const char *const cmd[] = { "python3", "pretrain_hybrid.py" };
	static const char *const mods[] = { "attn", "mamba", "moe_router",
					    "moe_preprocess" };
	static const char *const seams[] = { "recurrent_tail",
					     "mtp_native_hopper_ce",
					     "hybrid_schedule_plan",
					     "mla_shared_spec" };

	assert_int_equal(n56_recipe_load(EXAMPLE, &f->r, &f->d), 0);
	r = f->r;
	assert_int_equal(r->schema.v, 1);
	assert_pos(r->schema.pos, 3, 9);
	assert_string_equal(r->model.pattern.v, "AEMEAEMEAEMR");
	assert_true(r->model.pattern.set);
	assert_pos(r->model.pattern.pos, 6, 12);
	assert_int_equal(r->model.depth.v, 52);
	assert_true(r->model.depth.set);
	assert_pos(r->model.depth.pos, 7, 10);
	assert_int_equal(r->model.hidden_size.v, 3584);
	assert_int_equal(r->model.ffn_hidden_size.v, 9216);
	assert_int_equal(r->model.vocab_size.v, 131072);
	assert_string_equal(r->model.sparse_mode.v, "tilelang");
	assert_true(r->model.sparse_mode.set);
	assert_int_equal(r->model.attention.heads.v, 56);
	assert_int_equal(r->model.attention.query_groups.v, 8);
	assert_true(r->model.attention.query_groups.set);
	assert_false(r->model.attention.kv_channels.set);
	assert_true(r->model.attention.mla.enabled.v);
	assert_int_equal(r->model.attention.mla.q_lora_rank.v, 64);
	assert_int_equal(r->model.attention.mla.kv_lora_rank.v, 64);
	assert_int_equal(r->model.attention.mla.qk_head_dim.v, 64);
	assert_int_equal(r->model.attention.mla.qk_pos_emb_head_dim.v, 32);
	assert_int_equal(r->model.attention.mla.v_head_dim.v, 64);
	assert_int_equal(r->model.attention.dsa.a_layer_ranks.n, 9);
	assert_memory_equal(r->model.attention.dsa.a_layer_ranks.v, dsa,
			    sizeof(dsa));
	assert_pos(r->model.attention.dsa.a_layer_ranks.pos, 23, 22);
	assert_pos(r->model.attention.dsa.a_layer_ranks.item_pos[8], 23, 48);
	assert_int_equal(r->model.attention.dsa.indexer_heads.v, 8);
	assert_int_equal(r->model.attention.dsa.indexer_head_dim.v, 64);
	assert_int_equal(r->model.attention.dsa.topk.v, 512);
	assert_string_equal(r->model.attention.dsa.backend.v, "tilelang");
	assert_int_equal(r->model.attention.engram.a_layer_ranks.n, 1);
	assert_int_equal(r->model.attention.engram.a_layer_ranks.v[0], 0);
	assert_true(r->model.attention.mhc.v);
	assert_int_equal(r->model.mamba.heads.v, 56);
	assert_int_equal(r->model.mamba.groups.v, 8);
	assert_int_equal(r->model.mamba.state_dim.v, 128);
	assert_int_equal(r->model.mamba.head_dim.v, 64);
	assert_int_equal(r->model.moe.experts.v, 16);
	assert_int_equal(r->model.moe.topk.v, 4);
	assert_int_equal(r->model.moe.ffn_hidden_size.v, 896);
	assert_int_equal(r->model.moe.shared_expert_size.v, 1024);
	assert_string_equal(r->model.moe.dispatcher.v, "alltoall");
	assert_true(r->model.moe.grouped_gemm.v);
	assert_true(r->model.moe.grouped_gemm.set);
	assert_string_equal(r->model.moe.load_balancing.v, "aux_loss");
	assert_string_equal(r->model.moe.aux_loss_coeff.text, "0.001");
	assert_true(r->model.moe.aux_loss_coeff.v == 0.001);
	assert_true(r->model.moe.mod.v);
	assert_string_equal(r->model.recurrent.mixer.v, "m2rnn");
	assert_int_equal(r->model.recurrent.state_dim.v, 128);
	assert_int_equal(r->model.mtp.depths.v, 2);
	assert_string_equal(r->model.mtp.pattern.v, "AE");
	assert_true(r->model.mtp.pattern.set);
	assert_string_equal(r->model.mtp.loss_scaling_factor.text, "0.1");
	assert_int_equal(r->parallel.tp.v, 1);
	assert_int_equal(r->parallel.pp.v, 2);
	assert_int_equal(r->parallel.vpp.v, 2);
	assert_int_equal(r->parallel.ep.v, 1);
	assert_int_equal(r->parallel.etp.v, 1);
	assert_true(r->parallel.etp.set);
	assert_int_equal(r->parallel.cp.v, 1);
	assert_false(r->parallel.sequence_parallel.v);
	assert_true(r->parallel.sequence_parallel.set);
	assert_string_equal(r->parallel.rank_order.v, "tp-cp-ep-dp-pp");
	assert_int_equal(r->batch.micro_batch_size.v, 4);
	assert_int_equal(r->batch.global_batch_size.v, 64);
	assert_int_equal(r->batch.seq_length.v, 4096);
	assert_pos(r->batch.seq_length.pos, 67, 15);
	assert_strs(&r->runtime.command, cmd, 2);
	assert_pos(r->runtime.command.item_pos[1], 70, 22);
	assert_string_equal(r->runtime.cuda_graphs.impl.v,
			    "transformer_engine");
	assert_strs(&r->runtime.cuda_graphs.modules, mods, 4);
	assert_int_equal(r->runtime.cuda_graphs.warmup_steps.v, 3);
	assert_true(r->runtime.cuda_graphs.warmup_steps.set);
	assert_strs(&r->runtime.seams, seams, 4);
	assert_true(r->runtime.extra_args.set);
	assert_int_equal(r->runtime.extra_args.n, 0);
	assert_true(r->memory.distributed_optimizer.v);
	assert_false(r->layout.segments.set);
	for (int i = 0; i < N56_NFAMILIES; i++)
		assert_null(r->layout.cost[i].text);
	assert_true(r->env.set);
	assert_int_equal(r->env.n, 1);
	assert_string_equal(r->env.v[0].name,
			    "TORCH_NCCL_AVOID_RECORD_STREAMS");
	assert_string_equal(r->env.v[0].value, "1");
	assert_pos(r->env.v[0].pos, 84, 3);
}

/* What a minimal recipe gets for every key it leaves out. */
static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct n56_recipe *r;
	const char *text = MINIMAL "model2: x\n";

	/* A failed parse must not leak its half-built defaults either. */
	assert_int_equal(
		n56_recipe_parse("t.yaml", text, strlen(text), &f->r, &f->d),
		-1);
	n56_diags_free(&f->d);
	text = "schema: 1\nmodel: {pattern: AEMR, hidden_size: 64, "
	       "attention: {heads: 12}}\n"
	       "batch: {global_batch_size: 8, seq_length: 128}\n"
	       "runtime: {command: [python3]}\nparallelism: {tp: 4}\n";
	assert_int_equal(
		n56_recipe_parse("t.yaml", text, strlen(text), &f->r, &f->d),
		0);
	r = f->r;
	assert_string_equal(r->path, "t.yaml");
	assert_false(r->model.depth.set);
	assert_int_equal(r->model.depth.v, 4);
	assert_pos(r->model.depth.pos, 0, 0);
	assert_int_equal(r->parallel.tp.v, 4);
	assert_int_equal(r->parallel.pp.v, 1);
	assert_int_equal(r->parallel.vpp.v, 1);
	assert_int_equal(r->parallel.ep.v, 1);
	assert_int_equal(r->parallel.cp.v, 1);
	assert_false(r->parallel.etp.set);
	assert_int_equal(r->parallel.etp.v, 4);
	assert_false(r->parallel.sequence_parallel.set);
	assert_false(r->parallel.sequence_parallel.v);
	assert_false(r->parallel.rank_order.set);
	assert_string_equal(r->parallel.rank_order.v, "tp-cp-ep-dp-pp");
	assert_int_equal(r->batch.micro_batch_size.v, 1);
	assert_false(r->model.attention.query_groups.set);
	assert_int_equal(r->model.attention.query_groups.v, 12);
	assert_false(r->model.attention.mla.enabled.v);
	assert_int_equal(r->model.mtp.depths.v, 0);
	assert_string_equal(r->model.mtp.pattern.v, "AE");
	assert_string_equal(r->model.attention.dsa.backend.v, "tilelang");
	assert_int_equal(r->model.moe.topk.v, 2);
	assert_string_equal(r->model.moe.dispatcher.v, "alltoall");
	assert_true(r->model.moe.grouped_gemm.v);
	assert_false(r->model.moe.grouped_gemm.set);
	assert_string_equal(r->model.moe.load_balancing.v, "aux_loss");
	assert_string_equal(r->runtime.cuda_graphs.impl.v, "none");
	assert_int_equal(r->runtime.cuda_graphs.warmup_steps.v, 3);
	assert_string_equal(r->model.sparse_mode.v, "none");
	assert_false(r->model.sparse_mode.set);
	assert_null(r->model.recurrent.mixer.v);
	assert_null(r->model.moe.aux_loss_coeff.text);
	assert_false(r->env.set);
	assert_int_equal(r->env.n, 0);
	assert_false(r->runtime.seams.set);
}

static void test_layout_and_env_values(void **state)
{
	struct fixture *f = *state;
	const char *text =
		MINIMAL "layout:\n  segments: [13, 13, 13, 13]\n"
			"  cost: {A: 1.5, E: 2, M: 1e0, R: 0.75}\n"
			"env:\n  NCCL_DEBUG: INFO\n  FLAG: true\n  N: 8\n"
			"  EMPTY: \"\"\n";

	assert_int_equal(
		n56_recipe_parse("t.yaml", text, strlen(text), &f->r, &f->d),
		0);
	assert_int_equal(f->r->layout.segments.n, 4);
	assert_int_equal(f->r->layout.segments.v[3], 13);
	assert_pos(f->r->layout.segments.item_pos[3], 6, 26);
	assert_string_equal(f->r->layout.cost[N56_A].text, "1.5");
	assert_true(f->r->layout.cost[N56_A].v == 1.5);
	assert_true(f->r->layout.cost[N56_E].v == 2.0);
	assert_true(f->r->layout.cost[N56_M].v == 1.0);
	assert_string_equal(f->r->layout.cost[N56_R].text, "0.75");
	assert_pos(f->r->layout.cost[N56_R].pos, 7, 35);
	assert_int_equal(f->r->env.n, 4);
	assert_string_equal(f->r->env.v[0].name, "NCCL_DEBUG");
	assert_string_equal(f->r->env.v[0].value, "INFO");
	assert_string_equal(f->r->env.v[1].value, "true");
	assert_string_equal(f->r->env.v[2].value, "8");
	assert_string_equal(f->r->env.v[3].name, "EMPTY");
	assert_string_equal(f->r->env.v[3].value, "");
}

/* The parser works on a length, not a terminator: bytes after len are not
 * part of the recipe, and the stored copy ends where the input did. */
static void test_buffer_not_terminated(void **state)
{
	struct fixture *f = *state;
	const char text[] = MINIMAL "parallelism: {tp: 2}\n";
	size_t len = strlen(MINIMAL);

	assert_int_equal(n56_recipe_parse("t.yaml", text, len, &f->r, &f->d),
			 0);
	assert_false(f->r->parallel.tp.set);
	assert_int_equal(f->r->parallel.tp.v, 1);
	assert_int_equal(f->r->content_len, len);
	assert_int_equal(f->r->content[len], '\0');
	assert_memory_equal(f->r->content, text, len);
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(n56_edit_distance("tpp", "tp"), 1);
	assert_int_equal(n56_edit_distance("modle", "model"), 1);
	assert_int_equal(n56_edit_distance("", "abc"), 3);
	assert_int_equal(n56_edit_distance("kitten", "sitting"), 3);
}

static void test_free_null(void **state)
{
	(void)state;
	n56_recipe_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_misspelt_key_suggests),
		T(test_misspelt_top_key_suggests),
		T(test_unknown_key_lists_known),
		T(test_tab_indent),
		T(test_syntax_error),
		T(test_empty_file),
		T(test_comments_only),
		T(test_document_marker_only),
		T(test_binary_nul),
		T(test_binary_bad_utf8),
		T(test_missing_file),
		T(test_directory),
		T(test_fifo),
		T(test_diags_sorted),
		T(test_carry_limit),
		T(test_too_large),
		T(test_read_sizes),
		T(test_wrong_type_int),
		T(test_wrong_type_bool),
		T(test_wrong_type_string),
		T(test_wrong_type_number),
		T(test_wrong_type_intlist),
		T(test_wrong_type_strlist),
		T(test_wrong_type_env),
		T(test_env_duplicate),
		T(test_too_many_variables),
		T(test_int_overflow),
		T(test_sizes_at_least_one),
		T(test_bad_enum),
		T(test_bad_pattern_letter),
		T(test_missing_required),
		T(test_empty_command),
		T(test_duplicate_key),
		T(test_schema_2),
		T(test_sequence_for_mapping),
		T(test_anchors_aliases),
		T(test_billion_laughs),
		T(test_second_document),
		T(test_nul_escape),
		T(test_deep_nesting),
		T(test_control_character),
		T(test_too_many_errors),
		T(test_all_errors_at_once),
		T(test_builtin_is_the_example),
		T(test_sha256_known_vector),
		T(test_example_round_trip),
		T(test_defaults),
		T(test_layout_and_env_values),
		T(test_buffer_not_terminated),
		T(test_edit_distance),
		T(test_free_null),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
