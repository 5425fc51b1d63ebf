/* libFuzzer target: any bytes through the site-policy parser. Besides
 * crashes and leaks, it checks that a failed parse always says why and that
 * a successful one says nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct n56_diags d = { 0 };
	struct n56_policy *p = NULL;
	char line[256];
	int rc;

	rc = n56_policy_parse("fuzz.yaml", (const char *)data, size, &p, &d);
	if ((rc == 0) != (p != NULL) || (rc == 0) != (d.n == 0))
		abort();
	for (size_t i = 0; i < d.n; i++)
		n56_diag_format(&d.v[i], line, sizeof(line));
	if (p && (!p->record.field.v || !p->topology.island_source.v))
		abort();
	n56_policy_free(p);
	n56_diags_free(&d);
	return 0;
}
