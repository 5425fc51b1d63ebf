/* topology/slurmblock.c: Slurm's block topology as an island source.
 * topology.conf and topology.yaml parsed (every malformed line with its
 * exact message), found beside slurm.conf as Slurm finds it, turned into
 * the policy's admin map, and the step's nodes held against the blocks
 * by the placer. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "topology/slurmblock.h"
#include "topology/topology.h"

/* ---- helpers ---- */

/* Every diagnostic as the user sees it, one per line. */
static char *joined(const struct n56_diags *d)
{
	char *out = NULL, line[2048];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	for (size_t i = 0; i < d->n; i++) {
		n56_diag_format_error(&d->v[i], line, sizeof(line));
		fprintf(f, "%s%s", i ? "\n" : "", line);
	}
	fclose(f);
	return out;
}

static struct n56_slurm_blocks *conf_ok(const char *text)
{
	struct n56_diags d = { 0 };
	struct n56_slurm_blocks *b = NULL;
	int rc = n56_slurm_blocks_parse_conf("t.conf", text, strlen(text), &b,
					     &d);

	if (rc) {
		char *all = joined(&d);

		fprintf(stderr, "unexpected errors:\n%s\n", all);
		free(all);
	}
	assert_int_equal(rc, 0);
	assert_non_null(b);
	assert_int_equal(d.n, 0);
	n56_diags_free(&d);
	return b;
}

/* The conf parse fails with exactly `want` (lines joined by \n). */
static void conf_bad(const char *text, const char *want)
{
	struct n56_diags d = { 0 };
	struct n56_slurm_blocks *b = (void *)1;
	char *all;

	assert_int_equal(n56_slurm_blocks_parse_conf("t.conf", text,
						     strlen(text), &b, &d),
			 -1);
	assert_null(b);
	all = joined(&d);
	if (strcmp(all, want))
		fprintf(stderr, "input:\n%s\ngot:\n%s\nwant:\n%s\n", text, all,
			want);
	assert_string_equal(all, want);
	free(all);
	n56_diags_free(&d);
}

static struct n56_slurm_blocks *yaml_ok(const char *text, const char *want)
{
	struct n56_diags d = { 0 };
	struct n56_slurm_blocks *b = NULL;
	int rc = n56_slurm_blocks_parse_yaml("t.yaml", text, strlen(text), want,
					     "p.yaml", &b, &d);

	if (rc) {
		char *all = joined(&d);

		fprintf(stderr, "unexpected errors:\n%s\n", all);
		free(all);
	}
	assert_int_equal(rc, 0);
	assert_non_null(b);
	n56_diags_free(&d);
	return b;
}

static void yaml_bad(const char *text, const char *want_topology,
		     const char *want)
{
	struct n56_diags d = { 0 };
	struct n56_slurm_blocks *b = (void *)1;
	char *all;

	assert_int_equal(
		n56_slurm_blocks_parse_yaml("t.yaml", text, strlen(text),
					    want_topology, "p.yaml", &b, &d),
		-1);
	assert_null(b);
	all = joined(&d);
	if (strcmp(all, want))
		fprintf(stderr, "input:\n%s\ngot:\n%s\nwant:\n%s\n", text, all,
			want);
	assert_string_equal(all, want);
	free(all);
	n56_diags_free(&d);
}

/* ---- topology.conf ---- */

static void test_conf_good(void **state)
{
	struct n56_slurm_blocks *b;

	(void)state;
	b = conf_ok("# NVL72 racks\n"
		    "\n"
		    "BlockName=b1 Nodes=n[1-18]   # rack 1\n"
		    "blockname=b2   nodes = n[19-36]\n"
		    "  BlockName=\"b 3\" \\\n"
		    "     Nodes=\"gpu[001-002],gpu010\"\r\n"
		    "BlockName=spare\n"
		    "BLOCKSIZES=18,36,72\n");
	assert_string_equal(b->file, "t.conf");
	assert_null(b->topology);
	assert_int_equal(b->n, 4);
	assert_string_equal(b->v[0].name, "b1");
	assert_string_equal(b->v[0].nodes, "n[1-18]");
	assert_int_equal(b->v[0].nnodes, 18);
	assert_int_equal(b->v[0].pos.line, 3);
	assert_int_equal(b->v[0].pos.col, 11);
	assert_string_equal(b->v[1].name, "b2");
	assert_string_equal(b->v[1].nodes, "n[19-36]");
	assert_int_equal(b->v[1].pos.line, 4);
	assert_int_equal(b->v[1].pos.col, 11);
	assert_string_equal(b->v[2].name, "b 3");
	assert_string_equal(b->v[2].nodes, "gpu[001-002],gpu010");
	assert_int_equal(b->v[2].nnodes, 3);
	assert_int_equal(b->v[2].pos.line, 5);
	assert_int_equal(b->v[2].pos.col, 14);
	/* A block of no node (Slurm 25.05+ allows it). */
	assert_string_equal(b->v[3].name, "spare");
	assert_null(b->v[3].nodes);
	assert_int_equal(b->v[3].nnodes, 0);
	assert_int_equal(b->nsizes, 3);
	assert_int_equal(b->sizes[0], 18);
	assert_int_equal(b->sizes[2], 72);
	n56_slurm_blocks_free(b);
	/* Escapes as Slurm reads them: \# is a '#', \\ a backslash, and
	 * at the end of a line no continuation. */
	b = conf_ok("BlockName=a\\#1 Nodes=n1\n"
		    "BlockName=c\\\\\n"
		    "BlockName=d Nodes=n2 # x \\\n"
		    "BlockName=e Nodes=n3\n");
	assert_int_equal(b->n, 4);
	assert_string_equal(b->v[0].name, "a#1");
	assert_string_equal(b->v[1].name, "c\\");
	assert_null(b->v[1].nodes);
	assert_string_equal(b->v[2].name, "d");
	assert_string_equal(b->v[3].name, "e");
	assert_int_equal(b->v[3].pos.line, 4);
	n56_slurm_blocks_free(b);
	/* A continuation on the last line, without a line end. */
	b = conf_ok("BlockName=a \\\n Nodes=n1 \\");
	assert_int_equal(b->n, 1);
	assert_string_equal(b->v[0].nodes, "n1");
	n56_slurm_blocks_free(b);
}

static void test_conf_bad_lines(void **state)
{
	(void)state;
	conf_bad("Include /etc/slurm/blocks.conf\n",
		 "t.conf:1:1: error: Include is not followed here: give the "
		 "file that holds the blocks with "
		 "topology.slurm_topology_file in the site policy");
	conf_bad("BlockName=b0 Nodes=n0\n  include x\n",
		 "t.conf:2:3: error: Include is not followed here: give the "
		 "file that holds the blocks with "
		 "topology.slurm_topology_file in the site policy");
	conf_bad("BlockName=b1 Nodes=n1\nBlockName\n",
		 "t.conf:2:1: error: 'BlockName' without '=': expected "
		 "Key=Value");
	conf_bad("BlockName=\n", "t.conf:1:1: error: BlockName= has no value");
	conf_bad("BlockName=\"\" Nodes=n1\n",
		 "t.conf:1:11: error: BlockName is empty");
	conf_bad("=b1\n", "t.conf:1:1: error: expected Key=Value, got '=b1'");
	conf_bad("BlockName=b1 Nodes=n1 ;x\n",
		 "t.conf:1:23: error: expected Key=Value, got ';x'");
	conf_bad("BlockName+=b1\n",
		 "t.conf:1:10: error: '+=' is not used in topology/block's "
		 "topology.conf (write Key=Value)");
	conf_bad("BlockName=\"b1 Nodes=n1\n",
		 "t.conf:1:11: error: a quoted value without its closing "
		 "'\"'");
	conf_bad("BlockName=\"b1\"x Nodes=n1\n",
		 "t.conf:1:15: error: expected a space after the value of "
		 "BlockName");
	conf_bad("BlockName=b1 Nodes=n1 BlockName=b2 Nodes=n2\n",
		 "t.conf:1:23: error: a second BlockName on one line (one "
		 "block a line)");
	conf_bad("Nodes=n[1-4]\nBlockName=b1 Nodes=n5\n",
		 "t.conf:1:1: error: Nodes outside a BlockName line (write "
		 "BlockName=NAME Nodes=HOSTLIST)");
	conf_bad("BlockName=b1 Nodes=n1 Nodes=n2\n",
		 "t.conf:1:23: error: Nodes is already given for block 'b1'");
	conf_bad("BlockName=b1 Nodes=\"\"\n",
		 "t.conf:1:20: error: block 'b1': Nodes is empty");
	conf_bad("BlockName=b1 Nodes=n1 LinkSpeed=100\n",
		 "t.conf:1:23: error: unknown key 'LinkSpeed' in a BlockName "
		 "line (known: Nodes)");
	conf_bad("BlockName=b1 Nodes=n1 BlockSizes=1\n",
		 "t.conf:1:23: error: unknown key 'BlockSizes' in a "
		 "BlockName line (known: Nodes)");
	conf_bad("SwitchName=s0 Nodes=n[1-4]\n",
		 "t.conf:1:1: error: SwitchName is topology/tree's: "
		 "island_source slurm-block reads topology/block's BlockName "
		 "lines");
	conf_bad("RingName=r0 Nodes=n[1-4]\n",
		 "t.conf:1:1: error: RingName is topology/ring's: "
		 "island_source slurm-block reads topology/block's BlockName "
		 "lines");
	conf_bad("BlockName=b1 Nodes=n1\nBlockSize=4\n",
		 "t.conf:2:1: error: unknown key 'BlockSize' (topology/block "
		 "knows BlockName, Nodes and BlockSizes)");
	/* Every bad line is reported, not only the first. */
	conf_bad("Foo=1\nBlockName=b1 Nodes=n1\nBar=2\n",
		 "t.conf:1:1: error: unknown key 'Foo' (topology/block knows "
		 "BlockName, Nodes and BlockSizes)\n"
		 "t.conf:3:1: error: unknown key 'Bar' (topology/block knows "
		 "BlockName, Nodes and BlockSizes)");
	/* The position of a key on a continued line is on that line. */
	conf_bad("BlockName=b1 \\\n  Nodes=n1 Speed=1\n",
		 "t.conf:2:12: error: unknown key 'Speed' in a BlockName "
		 "line (known: Nodes)");
}

static void test_conf_bad_sizes(void **state)
{
	(void)state;
	conf_bad("BlockSizes=\n", "t.conf:1:1: error: BlockSizes= has no "
				  "value");
	conf_bad("BlockSizes=\"\"\n", "t.conf:1:1: error: BlockSizes is "
				      "empty");
	conf_bad("BlockSizes=4,x\n", "t.conf:1:14: error: BlockSizes: 'x' "
				     "is not a node count (write sizes such "
				     "as 18,36,72)");
	conf_bad("BlockSizes=-4\n", "t.conf:1:12: error: BlockSizes: '-4' "
				    "is not a node count (write sizes such "
				    "as 18,36,72)");
	conf_bad("BlockSizes=4,,8\n", "t.conf:1:14: error: BlockSizes: an "
				      "empty size (write sizes such as "
				      "18,36,72)");
	conf_bad("BlockSizes=4,\n", "t.conf:1:13: error: BlockSizes: an "
				    "empty size (write sizes such as "
				    "18,36,72)");
	conf_bad("BlockSizes=0\n", "t.conf:1:12: error: BlockSizes: 0 is "
				   "not a node count (give whole numbers "
				   "from 1 to 1048576)");
	conf_bad("BlockSizes=2,4194304\n",
		 "t.conf:1:14: error: BlockSizes: 4194304 is not a node count "
		 "(give whole numbers from 1 to 1048576)");
	conf_bad("BlockSizes=99999999999999999999999\n",
		 "t.conf:1:12: error: BlockSizes: '99999999999999999999999' "
		 "is not a node count (write sizes such as 18,36,72)");
	conf_bad("BlockSizes=4,12\n", "t.conf:1:14: error: BlockSizes: 12 "
				      "is not the base size 4 times a power "
				      "of two (at most 2^15)");
	conf_bad("BlockSizes=1,65536\n", "t.conf:1:14: error: BlockSizes: "
					 "65536 is not the base size 1 times "
					 "a power of two (at most 2^15)");
	conf_bad("BlockSizes=8,4\n", "t.conf:1:14: error: BlockSizes: 4 "
				     "after 8: each size must be larger than "
				     "the one before");
	conf_bad("BlockSizes=4\nBlockName=b1 Nodes=n1\nBlockSizes=8\n",
		 "t.conf:3:1: error: BlockSizes is already set on line 1");
	conf_bad("BlockSizes=1,2,4,8,16,32,64,128,256,512,1024,2048,4096,"
		 "8192,16384,32768,65536\n",
		 "t.conf:1:73: error: BlockSizes: more than 16 sizes");
}

static void test_conf_bad_blocks(void **state)
{
	(void)state;
	conf_bad("BlockName=b1 Nodes=n[3-1]\n",
		 "t.conf:1:20: error: block 'b1': bad host list 'n[3-1]': "
		 "range '3-1' goes down");
	conf_bad("BlockName=b1 Nodes=n[1-4\n",
		 "t.conf:1:20: error: block 'b1': bad host list 'n[1-4': "
		 "missing ']'");
	conf_bad("BlockName=b1 Nodes=\"n1 n2\"\n",
		 "t.conf:1:21: error: block 'b1': nodes 'n1 n2' has a space "
		 "(write a Slurm hostlist such as n[1-18] or n1,n2)");
	conf_bad("BlockName=b1 Nodes=n[1-2]\nBlockName=b1 Nodes=n[3-4]\n",
		 "t.conf:2:11: error: block 'b1' is already defined on line "
		 "1");
	conf_bad("BlockName=b1 Nodes=n[1-4]\nBlockName=b2 Nodes=n[5-8]\n"
		 "BlockName=b3 Nodes=n[8-9]\n",
		 "t.conf:3:20: error: block 'b3' shares nodes with block 'b2' "
		 "(line 2): a node is in one block, one NVLink domain");
	conf_bad("", "t.conf: error: no block: island_source slurm-block "
		     "reads topology/block's blocks (BlockName=NAME "
		     "Nodes=HOSTLIST lines; topology.conf(5))");
	conf_bad("# nothing but a comment\n\n",
		 "t.conf: error: no block: island_source slurm-block "
		 "reads topology/block's blocks (BlockName=NAME "
		 "Nodes=HOSTLIST lines; topology.conf(5))");
	conf_bad("BlockName=b1\nBlockSizes=4\n",
		 "t.conf: error: no block names a node (Nodes=)");
	conf_bad("BlockName=b1 Nodes=n\001\n",
		 "t.conf: error: not a text file (binary data at byte 21)");
}

/* ---- topology.yaml ---- */

static const char two_topologies[] = "---\n"
				     "- topology: fabric\n"
				     "  cluster_default: true\n"
				     "  tree:\n"
				     "    switches:\n"
				     "      - switch: s0\n"
				     "        nodes: n[1-4]\n"
				     "- topology: nvl\n"
				     "  cluster_default: false\n"
				     "  block:\n"
				     "    block_sizes: [2, 4]\n"
				     "    blocks:\n"
				     "      - block: b1\n"
				     "        nodes: n[1-2]\n"
				     "      - block: b2\n"
				     "        nodes: n[3-4]\n"
				     "      - block: empty\n"
				     "- topology: flat1\n"
				     "  flat: true\n";

static void test_yaml_good(void **state)
{
	struct n56_slurm_blocks *b;

	(void)state;
	/* The only block topology (the default is a tree). */
	b = yaml_ok(two_topologies, NULL);
	assert_string_equal(b->file, "t.yaml");
	assert_string_equal(b->topology, "nvl");
	assert_int_equal(b->n, 3);
	assert_string_equal(b->v[0].name, "b1");
	assert_string_equal(b->v[0].nodes, "n[1-2]");
	assert_int_equal(b->v[0].nnodes, 2);
	assert_int_equal(b->v[0].pos.line, 13);
	assert_int_equal(b->v[0].pos.col, 16);
	assert_string_equal(b->v[1].name, "b2");
	assert_null(b->v[2].nodes);
	assert_int_equal(b->nsizes, 2);
	assert_int_equal(b->sizes[1], 4);
	n56_slurm_blocks_free(b);
	/* Named by the policy. */
	b = yaml_ok(two_topologies, "nvl");
	assert_string_equal(b->topology, "nvl");
	n56_slurm_blocks_free(b);
	/* The cluster default when it is a block topology. */
	b = yaml_ok("- topology: a\n"
		    "  block:\n"
		    "    blocks: [{block: x, nodes: n1}]\n"
		    "- topology: b\n"
		    "  cluster_default: true\n"
		    "  block:\n"
		    "    blocks: [{block: y, nodes: n2}]\n",
		    NULL);
	assert_string_equal(b->topology, "b");
	assert_string_equal(b->v[0].name, "y");
	n56_slurm_blocks_free(b);
}

static void test_yaml_choose(void **state)
{
	(void)state;
	yaml_bad(two_topologies, "nvl72",
		 "t.yaml: error: no topology 'nvl72' "
		 "(topology.slurm_topology in p.yaml); the file has: fabric, "
		 "nvl, flat1");
	yaml_bad(two_topologies, "fabric",
		 "t.yaml:2:13: error: topology 'fabric' "
		 "(topology.slurm_topology in p.yaml) is a tree topology, not "
		 "block");
	yaml_bad("- topology: a\n  flat: true\n", NULL,
		 "t.yaml: error: no block topology: island_source slurm-block "
		 "reads the blocks of a topology with block: {block_sizes, "
		 "blocks} (topology.yaml(5))");
	yaml_bad("- topology: a\n"
		 "  block: {blocks: [{block: x, nodes: n1}]}\n"
		 "- topology: b\n"
		 "  block: {blocks: [{block: y, nodes: n2}]}\n"
		 "- topology: c\n"
		 "  cluster_default: true\n"
		 "  flat: true\n",
		 NULL,
		 "t.yaml: error: 2 block topologies (a, b) and none is the "
		 "cluster default: name the one whose blocks are NVLink "
		 "domains with topology.slurm_topology in p.yaml");
}

static void test_yaml_bad(void **state)
{
	(void)state;
	yaml_bad("", NULL,
		 "t.yaml: error: empty topology.yaml: expected a list of "
		 "topologies (- topology: NAME with block: {block_sizes, "
		 "blocks})");
	yaml_bad("[]\n", NULL,
		 "t.yaml: error: no topology: expected a list of topologies "
		 "(- topology: NAME with block: {block_sizes, blocks})");
	yaml_bad("topology: a\nblock: {}\n", NULL,
		 "t.yaml:1:1: error: expected a list of topologies (- "
		 "topology: NAME ...) at the top, got a mapping");
	yaml_bad("- topology: a\n  block: {blocks: [{block: x, nodes: n1}]}\n"
		 "  tree: {}\n",
		 NULL,
		 "t.yaml:1:3: error: [0]: topology 'a' needs exactly one of "
		 "block, flat, ring, torus3d and tree (it has 2)");
	yaml_bad("- cluster_default: true\n  flat: true\n", NULL,
		 "t.yaml:1:3: error: missing required key 'topology' in [0]");
	yaml_bad("- topology: a\n  switch: s1\n", NULL,
		 "t.yaml:2:3: error: unknown key 'switch' in [0] (known keys: "
		 "topology, cluster_default, block, tree, flat, ring, "
		 "torus3d)");
	yaml_bad("- topology: a\n  block:\n    blocks: n[1-4]\n", NULL,
		 "t.yaml:3:13: error: [0].block.blocks: expected a list of "
		 "{block, nodes}, got a scalar");
	yaml_bad("- topology: a\n  block:\n    block_sizes: [4]\n", NULL,
		 "t.yaml:3:5: error: missing required key 'blocks' in "
		 "[0].block");
	yaml_bad("- topology: a\n  block:\n    blocks:\n"
		 "      - {nodes: n1}\n"
		 "      - {block: b, nodes: n2, speed: 1}\n",
		 NULL,
		 "t.yaml:4:9: error: missing required key 'block' in "
		 "[0].block.blocks[0]\n"
		 "t.yaml:5:31: error: unknown key 'speed' in "
		 "[0].block.blocks[1] (known keys: block, nodes)");
	yaml_bad("- topology: a\n  block:\n    block_sizes: [4, 6]\n"
		 "    blocks: [{block: b, nodes: n1}]\n",
		 NULL,
		 "t.yaml:3:22: error: BlockSizes: 6 is not the base size 4 "
		 "times a power of two (at most 2^15)");
	yaml_bad("- topology: a\n  block:\n    block_sizes: [0]\n"
		 "    blocks: [{block: b, nodes: n1}]\n",
		 NULL,
		 "t.yaml:3:19: error: [0].block.block_sizes[0]: 0 is out of "
		 "range (1 to 1048576)");
	yaml_bad("- topology: a\n  block:\n    blocks:\n"
		 "      - {block: \"\", nodes: n1}\n",
		 NULL,
		 "t.yaml:4:17: error: [0].block.blocks[0].block: "
		 "expected a string, got a quoted string ''");
	yaml_bad("- topology: a\n  block:\n    blocks:\n"
		 "      - block: b1\n        nodes: n[1-2\n",
		 NULL,
		 "t.yaml:5:16: error: block 'b1': bad host list 'n[1-2': "
		 "missing ']'");
	yaml_bad("- topology: a\n  block:\n    blocks:\n"
		 "      - {block: b1, nodes: \"n[1-2]\"}\n"
		 "      - {block: b1, nodes: \"n[3-4]\"}\n",
		 NULL,
		 "t.yaml:5:17: error: block 'b1' is already defined on line "
		 "4");
	yaml_bad("- topology: a\n  block: {blocks: [{block: x, nodes: n1}]}\n"
		 "- topology: a\n  flat: true\n",
		 NULL,
		 "t.yaml:3:13: error: topology 'a' is already defined on "
		 "line 1");
	yaml_bad("- topology: a\n  block:\n    blocks:\n"
		 "      - {block: b1, nodes: \"n[1-2]\"}\n"
		 "      - {block: b2, nodes: \"n[2-3]\"}\n",
		 NULL,
		 "t.yaml:5:28: error: block 'b2' shares nodes with block 'b1' "
		 "(line 4): a node is in one block, one NVLink domain");
	yaml_bad("- topology: a\n  block: &x {blocks: []}\n", NULL,
		 "t.yaml:2:10: error: anchors (&x) are not supported: write "
		 "each value out");
}

/* ---- where Slurm keeps it ---- */

static char tmpdir[64];

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static int load(const char *conf_name, const char *file, const char *topology,
		struct n56_slurm_blocks **b, char **msg)
{
	char conf[256], fpath[256];
	struct n56_diags d = { 0 };
	int rc;

	snprintf(conf, sizeof(conf), "%s/%s", tmpdir, conf_name);
	if (file)
		snprintf(fpath, sizeof(fpath), "%s/%s", tmpdir, file);
	rc = n56_slurm_blocks_load(conf, file ? fpath : NULL, topology,
				   "p.yaml", b, &d);
	*msg = joined(&d);
	n56_diags_free(&d);
	return rc;
}

/* The message with the temporary directory written as D. */
static void assert_msg(char *msg, const char *want)
{
	char *p;
	size_t n = strlen(tmpdir);

	while ((p = strstr(msg, tmpdir))) {
		*p = 'D';
		memmove(p + 1, p + n, strlen(p + n) + 1);
	}
	assert_string_equal(msg, want);
	free(msg);
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/n56-slurmblock.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	rm("topology.conf");
	rm("topology.yaml");
	rm("nvl.yaml");
	rm("blocks.txt");
	return rmdir(tmpdir);
}

static void test_load(void **state)
{
	struct n56_slurm_blocks *b = NULL;
	char *msg;

	(void)state;
	/* Neither file. */
	assert_int_equal(load("slurm.conf", NULL, NULL, &b, &msg), -1);
	assert_msg(msg, "D/topology.conf: error: cannot open: no "
			"topology.yaml or topology.conf beside "
			"D/slurm.conf; island_source slurm-block in "
			"p.yaml reads Slurm's topology/block configuration "
			"(or the file topology.slurm_topology_file names)");
	/* topology.conf beside slurm.conf. */
	put("topology.conf", "BlockName=c1 Nodes=n[1-2]\n");
	assert_int_equal(load("slurm.conf", NULL, NULL, &b, &msg), 0);
	assert_msg(msg, "");
	assert_string_equal(b->v[0].name, "c1");
	assert_non_null(strstr(b->file, "/topology.conf"));
	n56_slurm_blocks_free(b);
	/* A topology.yaml wins, as in Slurm. */
	put("topology.yaml", "- topology: t\n  block:\n"
			     "    blocks: [{block: y1, nodes: n1}]\n");
	assert_int_equal(load("slurm.conf", NULL, NULL, &b, &msg), 0);
	free(msg);
	assert_string_equal(b->v[0].name, "y1");
	assert_string_equal(b->topology, "t");
	n56_slurm_blocks_free(b);
	rm("topology.yaml");
	/* A topology name needs a topology.yaml. */
	assert_int_equal(load("slurm.conf", NULL, "t", &b, &msg), -1);
	assert_msg(msg, "D/topology.conf: error: topology.slurm_topology 't' "
			"in p.yaml names a topology of a topology.yaml, and "
			"this is a topology.conf");
	/* The policy's file: YAML by its name, else topology.conf's
	 * format. */
	put("nvl.yaml", "- topology: n\n  block:\n"
			"    blocks: [{block: z1, nodes: n9}]\n");
	assert_int_equal(load("slurm.conf", "nvl.yaml", NULL, &b, &msg), 0);
	free(msg);
	assert_string_equal(b->v[0].name, "z1");
	n56_slurm_blocks_free(b);
	put("blocks.txt", "BlockName=t1 Nodes=x[1-3]\n");
	assert_int_equal(load("slurm.conf", "blocks.txt", NULL, &b, &msg), 0);
	free(msg);
	assert_string_equal(b->v[0].name, "t1");
	assert_int_equal(b->v[0].nnodes, 3);
	n56_slurm_blocks_free(b);
	assert_int_equal(load("slurm.conf", "absent.conf", NULL, &b, &msg), -1);
	assert_msg(msg, "D/absent.conf: error: cannot open: No such file or "
			"directory");
	/* Errors carry the file's path. */
	put("topology.conf", "BlockName=c1 Nodes=n[2-1]\n");
	assert_int_equal(load("slurm.conf", NULL, NULL, &b, &msg), -1);
	assert_msg(msg, "D/topology.conf:1:20: error: block 'c1': bad "
			"host list 'n[2-1]': range '2-1' goes down");
}

/* ---- the policy ---- */

static struct n56_policy *policy(const char *text)
{
	struct n56_diags d = { 0 };
	struct n56_policy *p = NULL;
	int rc = n56_policy_parse("p.yaml", text, strlen(text), &p, &d);

	if (rc) {
		char *all = joined(&d);

		fprintf(stderr, "%s\n", all);
		free(all);
	}
	assert_int_equal(rc, 0);
	n56_diags_free(&d);
	return p;
}

static void policy_bad(const char *text, const char *want)
{
	struct n56_diags d = { 0 };
	struct n56_policy *p = NULL;
	char *all;

	assert_int_equal(n56_policy_parse("p.yaml", text, strlen(text), &p, &d),
			 -1);
	all = joined(&d);
	assert_string_equal(all, want);
	free(all);
	n56_diags_free(&d);
}

static void test_policy_keys(void **state)
{
	struct n56_policy *p;

	(void)state;
	p = policy("schema: 1\ntopology:\n  island_source: slurm-block\n"
		   "  slurm_topology_file: /etc/slurm/nvl.yaml\n"
		   "  slurm_topology: nvl\n");
	assert_string_equal(p->topology.island_source.v, "slurm-block");
	assert_string_equal(p->topology.slurm_topology_file.v,
			    "/etc/slurm/nvl.yaml");
	assert_string_equal(p->topology.slurm_topology.v, "nvl");
	assert_null(p->topology.islands_from);
	assert_int_equal(p->topology.nislands, 0);
	n56_policy_free(p);
	policy_bad("schema: 1\ntopology:\n  island_source: slurm-block\n"
		   "  islands:\n    - {nodes: n1, domain: a}\n",
		   "p.yaml:5:5: error: topology.islands: island_source "
		   "slurm-block takes the NVLink domains from Slurm's block "
		   "topology; remove topology.islands, or use island_source "
		   "admin-map");
	policy_bad("schema: 1\ntopology:\n"
		   "  slurm_topology_file: /etc/slurm/topology.conf\n"
		   "  slurm_topology: nvl\n",
		   "p.yaml:3:24: error: topology.slurm_topology_file: only "
		   "read with island_source slurm-block (it is auto)\n"
		   "p.yaml:4:19: error: topology.slurm_topology: only read "
		   "with island_source slurm-block (it is auto)");
	policy_bad("schema: 1\ntopology:\n  island_source: slurm-block\n"
		   "  slurm_topology_file: topology.conf\n",
		   "p.yaml:4:24: error: topology.slurm_topology_file: "
		   "'topology.conf' is not an absolute path");
}

static void test_policy_blocks(void **state)
{
	char text[512], dom[64], err[512] = "", fix[512];
	struct n56_diags d = { 0 };
	struct n56_node_shape s;
	struct n56_policy *p;
	char *msg;

	(void)state;
	put("topology.conf", "BlockName=b1 Nodes=n[1-2]\nBlockName=e\n"
			     "BlockName=b2 Nodes=n[3-4]\nBlockSizes=2\n");
	snprintf(text, sizeof(text),
		 "schema: 1\ntopology:\n  island_source: slurm-block\n"
		 "  slurm_topology_file: %s/topology.conf\n",
		 tmpdir);
	p = policy(text);
	assert_int_equal(n56_policy_slurm_blocks(p, NULL, &d), 0);
	assert_int_equal(d.n, 0);
	assert_non_null(strstr(p->topology.islands_from, "/topology.conf"));
	/* The empty block names no domain. */
	assert_int_equal(p->topology.nislands, 2);
	assert_string_equal(p->topology.islands[0].nodes, "n[1-2]");
	assert_null(p->topology.islands[0].gpus);
	assert_string_equal(p->topology.islands[0].domain, "b1");
	assert_int_equal(p->topology.islands[1].pos.line, 3);
	assert_int_equal(p->topology.islands[1].pos.col, 11);
	/* Read once. */
	assert_int_equal(n56_policy_slurm_blocks(p, NULL, &d), 0);
	assert_int_equal(p->topology.nislands, 2);
	/* As the admin map: all the GPUs of a block's nodes, one domain. */
	assert_int_equal(n56_admin_map_shape(p, "n3", 4, &s, dom, sizeof(dom),
					     err, sizeof(err)),
			 1);
	assert_int_equal(s.gpus, 4);
	assert_int_equal(s.nislands, 1);
	assert_int_equal(s.nodes_per_domain, 2);
	assert_string_equal(dom, "b2");
	assert_int_equal(n56_admin_map_shape(p, "n9", 4, &s, dom, sizeof(dom),
					     err, sizeof(err)),
			 0);
	/* What the messages call them and what to fix. */
	assert_string_equal(n56_site_islands_by(p), "Slurm's block topology");
	n56_site_islands_fix(p, "/etc/nam56r/policy.yaml", fix, sizeof(fix));
	assert_msg(strdup(fix), "the blocks of D/topology.conf");
	/* A node whose own islands split its block's GPUs. */
	{
		struct n56_node_shape own;
		struct n56_shape_view a = { &s, n56_site_islands_by(p), "b2" };
		struct n56_shape_view o = { &own, "nvml", NULL };

		assert_int_equal(n56_admin_map_shape(p, "n3", 4, &s, dom,
						     sizeof(dom), err,
						     sizeof(err)),
				 1);
		memset(&own, 0, sizeof(own));
		own.gpus = 4;
		own.nislands = 2;
		own.nodes_per_domain = 1;
		own.island_of[2] = own.island_of[3] = 1;
		assert_int_equal(
			n56_shape_check(&a, &o, "n3", err, sizeof(err)), -1);
		assert_string_equal(err, "Slurm's block topology puts GPUs "
					 "0-3 of n3 in domain b2, but nvml on "
					 "n3 finds islands 0-1 | 2-3");
	}
	n56_policy_free(p);
	p = policy("schema: 1\ntopology:\n  island_source: admin-map\n"
		   "  islands: [{nodes: n1, domain: a}]\n");
	assert_string_equal(n56_site_islands_by(p), "the admin map");
	n56_site_islands_fix(p, NULL, fix, sizeof(fix));
	assert_string_equal(fix, "topology.islands in p.yaml");
	n56_site_islands_fix(p, "/etc/nam56r/policy.yaml", fix, sizeof(fix));
	assert_string_equal(fix, "topology.islands in /etc/nam56r/policy.yaml");
	n56_policy_free(p);
	/* Another source: nothing read. */
	p = policy("schema: 1\ntopology:\n  island_source: auto\n");
	assert_int_equal(
		n56_policy_slurm_blocks(p, "/nonexistent/slurm.conf", &d), 0);
	assert_null(p->topology.islands_from);
	n56_policy_free(p);
	/* The file's problems, with its path. */
	put("topology.conf", "BlockName=b1 Nodes=n[1-2]\nSwitchName=s\n");
	p = policy(text);
	assert_int_equal(n56_policy_slurm_blocks(p, NULL, &d), -1);
	msg = joined(&d);
	assert_msg(msg, "D/topology.conf:2:1: error: SwitchName is "
			"topology/tree's: island_source slurm-block reads "
			"topology/block's BlockName lines");
	assert_null(p->topology.islands_from);
	assert_int_equal(p->topology.nislands, 0);
	n56_diags_free(&d);
	n56_policy_free(p);
}

/* ---- the step's nodes against the blocks ---- */

static struct n56_policy *block_policy(const char *conf)
{
	char text[512];
	struct n56_diags d = { 0 };
	struct n56_policy *p;

	put("topology.conf", conf);
	snprintf(text, sizeof(text),
		 "schema: 1\ntopology:\n  island_source: slurm-block\n"
		 "  slurm_topology_file: %s/topology.conf\n",
		 tmpdir);
	p = policy(text);
	assert_int_equal(n56_policy_slurm_blocks(p, NULL, &d), 0);
	return p;
}

static struct n56_parallel par(long tp, long ep, long pp, long world)
{
	struct n56_parallel x = { .tp = tp,
				  .ep = ep,
				  .etp = 1,
				  .cp = 1,
				  .pp = pp,
				  .vpp = 1,
				  .world = world };

	x.dp = world / (tp * pp);
	return x;
}

/* A placer for hosts (4 GPUs each, one island) against the blocks; the
 * return of n56_placer_slurm_blocks, its message in err. */
static int place(const struct n56_policy *p, const struct n56_parallel *x,
		 char *const *hosts, size_t n, struct n56_placer **pl,
		 struct n56_place_report *rep, char *err, size_t errlen)
{
	struct n56_node_shape s;
	char e[512];

	n56_node_shape_assumed(&s, 4);
	assert_int_equal(n56_placer_new(x, &s, (long)n, pl, rep, e, sizeof(e)),
			 0);
	return n56_placer_slurm_blocks(*pl, p, hosts, n, rep, err, errlen);
}

static const char blocks22[] =
	"BlockName=b1 Nodes=n[1-2]\nBlockName=b2 Nodes=n[3-4]\n";

static void test_place_in_blocks(void **state)
{
	struct n56_policy *p = block_policy(blocks22);
	char *hosts[] = { "n1", "n2", "n3", "n4" };
	struct n56_parallel x = par(8, 1, 1, 16);
	struct n56_place_report rep;
	struct n56_rank_place rp;
	struct n56_placer *pl = NULL;
	char err[1024] = "";

	(void)state;
	/* TP groups of 8 over 2 nodes of 4 GPUs: n1-n2 and n3-n4. */
	assert_int_equal(place(p, &x, hosts, 4, &pl, &rep, err, sizeof(err)),
			 0);
	assert_true(rep.tp_in_island);
	assert_true(rep.ep_in_island);
	assert_string_equal(rep.why, "");
	/* One island per block, in the order the job meets them. */
	n56_place_rank(pl, 0, &rp);
	assert_int_equal(rp.island, 0);
	n56_place_rank(pl, 7, &rp);
	assert_int_equal(rp.node, 1);
	assert_int_equal(rp.island, 0);
	n56_place_rank(pl, 8, &rp);
	assert_int_equal(rp.island, 1);
	n56_place_rank(pl, 15, &rp);
	assert_int_equal(rp.island, 1);
	n56_placer_free(pl);
	/* The job starts in the second block: it is island 0. */
	{
		char *rev[] = { "n3", "n4", "n1", "n2" };

		assert_int_equal(
			place(p, &x, rev, 4, &pl, &rep, err, sizeof(err)), 0);
		n56_place_rank(pl, 0, &rp);
		assert_int_equal(rp.island, 0);
		n56_place_rank(pl, 9, &rp);
		assert_int_equal(rp.island, 1);
		n56_placer_free(pl);
	}
	/* Short names match the blocks' node names. */
	{
		char *fq[] = { "n1.cluster", "n2.cluster" };
		struct n56_parallel y = par(8, 1, 1, 8);

		assert_int_equal(
			place(p, &y, fq, 2, &pl, &rep, err, sizeof(err)), 0);
		assert_true(rep.tp_in_island);
		n56_placer_free(pl);
	}
	n56_policy_free(p);
}

static void test_place_across_blocks(void **state)
{
	struct n56_policy *p = block_policy(blocks22);
	struct n56_place_report rep;
	struct n56_placer *pl = NULL;
	char err[1024] = "";

	(void)state;
	{
		/* n2 and n3: the one TP group crosses. */
		char *hosts[] = { "n2", "n3" };
		struct n56_parallel x = par(8, 1, 1, 8);

		assert_int_equal(
			place(p, &x, hosts, 2, &pl, &rep, err, sizeof(err)),
			-1);
		assert_msg(strdup(err),
			   "TP group 0 (ranks 0-7, tp 8) would span block b1 "
			   "(n[1-2]) and block b2 (n[3-4]), at the job's nodes "
			   "n2 and n3: the blocks of D/topology.conf are "
			   "separate NVLink domains. Ask Slurm for whole "
			   "segments of one block with --segment=2 (or a "
			   "multiple of 2 that divides the job's 2 nodes; "
			   "Slurm 24.05+) or for the nodes of one block, or "
			   "make tp at most 4 (the GPUs of a node)");
		n56_placer_free(pl);
	}
	{
		/* Four nodes, tp 16: the group spans both blocks. */
		char *hosts[] = { "n1", "n2", "n3", "n4" };
		struct n56_parallel x = par(16, 1, 1, 16);

		assert_int_equal(
			place(p, &x, hosts, 4, &pl, &rep, err, sizeof(err)),
			-1);
		assert_non_null(strstr(err, "TP group 0 (ranks 0-15, tp 16) "
					    "would span block b1 (n[1-2]) and "
					    "block b2 (n[3-4]), at the job's "
					    "nodes n2 and n3"));
		assert_non_null(strstr(err, "separate NVLink domains. No block "
					    "holds the 4 nodes a group spans "
					    "(the largest has 2): make tp at "
					    "most 8 (2 nodes of 4 GPUs)"));
		n56_placer_free(pl);
	}
	{
		/* Expert groups cross where TP groups do not. */
		char *hosts[] = { "n2", "n3" };
		struct n56_parallel x = par(1, 8, 1, 8);

		assert_int_equal(
			place(p, &x, hosts, 2, &pl, &rep, err, sizeof(err)),
			-1);
		assert_non_null(strstr(err, "expert group 0 (ranks 0-7, "
					    "etp*ep 8) would span block b1 "
					    "(n[1-2]) and block b2 (n[3-4])"));
		assert_non_null(strstr(err, "or make etp*ep at most 4 (the "
					    "GPUs of a node)"));
		n56_placer_free(pl);
	}
	{
		/* Blocks of one node: no segment helps. */
		struct n56_policy *one = block_policy(
			"BlockName=b1 Nodes=n1\nBlockName=b2 Nodes=n2\n");
		char *hosts[] = { "n1", "n2" };
		struct n56_parallel x = par(8, 1, 1, 8);

		assert_int_equal(
			place(one, &x, hosts, 2, &pl, &rep, err, sizeof(err)),
			-1);
		assert_msg(strdup(err),
			   "TP group 0 (ranks 0-7, tp 8) would span block b1 "
			   "(n1) and block b2 (n2), at the job's nodes n1 and "
			   "n2: the blocks of D/topology.conf are separate "
			   "NVLink domains. No block holds the 2 nodes a group "
			   "spans (the largest has 1): make tp at most 4 (1 "
			   "node of 4 GPUs)");
		n56_placer_free(pl);
		n56_policy_free(one);
	}
	{
		/* A node of no block. */
		char *hosts[] = { "n4", "n5" };
		struct n56_parallel x = par(8, 1, 1, 8);

		assert_int_equal(
			place(p, &x, hosts, 2, &pl, &rep, err, sizeof(err)),
			-1);
		assert_non_null(strstr(err, "would span block b2 (n[3-4]) and "
					    "n5, which is in no block, at the "
					    "job's nodes n4 and n5"));
		n56_placer_free(pl);
	}
	{
		/* Groups inside a node may cross nothing: the nodes of no
		 * block keep their own islands. */
		char *hosts[] = { "n4", "n5" };
		struct n56_parallel x = par(4, 1, 1, 8);
		struct n56_rank_place rp;

		assert_int_equal(
			place(p, &x, hosts, 2, &pl, &rep, err, sizeof(err)), 0);
		assert_true(rep.tp_in_island);
		n56_place_rank(pl, 0, &rp);
		assert_int_equal(rp.island, 0);
		n56_place_rank(pl, 4, &rp);
		assert_int_equal(rp.island, 1);
		n56_placer_free(pl);
	}
	n56_policy_free(p);
}

static void test_place_not_blocks(void **state)
{
	struct n56_policy *p = policy("schema: 1\n");
	char *hosts[] = { "n2", "n3" };
	struct n56_parallel x = par(8, 1, 1, 8);
	struct n56_place_report rep;
	struct n56_placer *pl = NULL;
	struct n56_rank_place rp;
	char err[512] = "";

	(void)state;
	/* Another source: the placement is untouched. */
	assert_int_equal(place(p, &x, hosts, 2, &pl, &rep, err, sizeof(err)),
			 0);
	assert_false(rep.tp_in_island);
	n56_place_rank(pl, 4, &rp);
	assert_int_equal(rp.island, 1);
	n56_placer_free(pl);
	n56_policy_free(p);
	/* slurm-block whose blocks were not read. */
	p = policy("schema: 1\ntopology: {island_source: slurm-block}\n");
	assert_int_equal(place(p, &x, hosts, 2, &pl, &rep, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "island_source slurm-block: Slurm's blocks "
				 "were not read");
	n56_placer_free(pl);
	n56_policy_free(p);
}

/* The placer's own rule for per-node domains, without names. */
static void test_node_domains(void **state)
{
	struct n56_node_shape s;
	struct n56_parallel x = par(2, 1, 1, 8);
	struct n56_place_report rep;
	struct n56_placer *pl = NULL;
	struct n56_rank_place rp;
	char err[512] = "";
	long dom[2] = { -1, 7 };

	(void)state;
	/* Two islands of 2 per node: tp 2 keeps to them on the free node. */
	memset(&s, 0, sizeof(s));
	s.gpus = 4;
	s.nislands = 2;
	s.nodes_per_domain = 1;
	s.island_of[2] = s.island_of[3] = 1;
	assert_int_equal(n56_placer_new(&x, &s, 2, &pl, &rep, err, sizeof(err)),
			 0);
	assert_int_equal(
		n56_placer_set_node_domains(pl, dom, 2, &rep, err, sizeof(err)),
		0);
	assert_true(rep.tp_in_island);
	n56_place_rank(pl, 0, &rp);
	assert_int_equal(rp.island, 1); /* after the one domain */
	n56_place_rank(pl, 2, &rp);
	assert_int_equal(rp.island, 2);
	n56_place_rank(pl, 5, &rp);
	assert_int_equal(rp.island, 0); /* domain 7, the first met */
	/* tp 4 on the free node spans its two islands. */
	n56_placer_free(pl);
	x = par(4, 1, 1, 8);
	assert_int_equal(n56_placer_new(&x, &s, 2, &pl, &rep, err, sizeof(err)),
			 0);
	assert_int_equal(
		n56_placer_set_node_domains(pl, dom, 2, &rep, err, sizeof(err)),
		0);
	assert_false(rep.tp_in_island);
	assert_string_equal(rep.why, "tp 4 needs islands of at least 4 GPUs; "
				     "this node has islands of 2 (GPUs 0,1 | "
				     "2,3)");
	n56_placer_free(pl);
	/* A group across two domains. */
	x = par(8, 1, 1, 8);
	dom[0] = 3;
	assert_int_equal(n56_placer_new(&x, &s, 2, &pl, &rep, err, sizeof(err)),
			 0);
	assert_int_equal(
		n56_placer_set_node_domains(pl, dom, 2, &rep, err, sizeof(err)),
		0);
	assert_false(rep.tp_in_island);
	assert_string_equal(rep.why, "tp 8: the group of ranks 0-7 spans nodes "
				     "0 and 1, which are not in one NVLink "
				     "domain");
	assert_int_equal(
		n56_placer_set_node_domains(pl, dom, 3, &rep, err, sizeof(err)),
		-1);
	assert_string_equal(err, "node domains: 3 nodes given for a "
				 "placement of 2");
	n56_placer_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_good),
		cmocka_unit_test(test_conf_bad_lines),
		cmocka_unit_test(test_conf_bad_sizes),
		cmocka_unit_test(test_conf_bad_blocks),
		cmocka_unit_test(test_yaml_good),
		cmocka_unit_test(test_yaml_choose),
		cmocka_unit_test(test_yaml_bad),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_policy_keys),
		cmocka_unit_test(test_policy_blocks),
		cmocka_unit_test(test_place_in_blocks),
		cmocka_unit_test(test_place_across_blocks),
		cmocka_unit_test(test_place_not_blocks),
		cmocka_unit_test(test_node_domains),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
