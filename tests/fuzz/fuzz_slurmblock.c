/* libFuzzer target: any bytes through both readers of Slurm's block
 * topology, topology.conf and topology.yaml. Besides crashes and leaks, it
 * checks that a failed parse always says why, that a successful one says
 * nothing, and that what it returns holds together: named blocks with a
 * positive node count where they name nodes, and BlockSizes Slurm would
 * take. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/slurmblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, struct n56_slurm_blocks *b, struct n56_diags *d)
{
	char line[512];

	if ((rc == 0) != (b != NULL) || (rc == 0) != (d->n == 0))
		abort();
	for (size_t i = 0; i < d->n; i++)
		if (n56_diag_format_error(&d->v[i], line, sizeof(line)) < 0 ||
		    !d->v[i].msg[0])
			abort();
	if (!b)
		return;
	if (!b->n || !b->file || b->nsizes > N56_SLURM_MAX_BLOCK_SIZES)
		abort();
	for (size_t i = 0; i < b->n; i++) {
		if (!b->v[i].name || !b->v[i].name[0] || b->v[i].pos.line < 1)
			abort();
		if ((b->v[i].nodes != NULL) != (b->v[i].nnodes > 0))
			abort();
	}
	for (size_t i = 1; i < b->nsizes; i++)
		if (b->sizes[i] <= b->sizes[i - 1] || b->sizes[i] % b->sizes[0])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n56_diags d = { 0 };
	struct n56_slurm_blocks *b = NULL;
	int rc;

	rc = n56_slurm_blocks_parse_conf("fuzz.conf", (const char *)data, size,
					 &b, &d);
	check(rc, b, &d);
	n56_slurm_blocks_free(b);
	n56_diags_free(&d);
	b = NULL;
	rc = n56_slurm_blocks_parse_yaml("fuzz.yaml", (const char *)data, size,
					 size % 2 ? "nvl" : NULL, "fuzz-policy",
					 &b, &d);
	check(rc, b, &d);
	n56_slurm_blocks_free(b);
	n56_diags_free(&d);
	return 0;
}
