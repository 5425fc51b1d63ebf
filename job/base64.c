/* base64 (RFC 4648, padded) of the recipe the plugin carries to every
 * task, through nettle's codec. nettle's decoder skips blanks and takes
 * any data before the padding: the check before it keeps the contract's
 * rule that the carried text is the alphabet alone, in groups of four,
 * '=' only as the last one or two characters. Unit-tested in
 * tests/test_spank_args.c. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "job/n56job.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *n56_base64_encode(const void *buf, size_t len)
{
	size_t olen = BASE64_ENCODE_RAW_LENGTH(len);
	char *out = malloc(olen + 1);

	if (!out)
		return NULL;
	base64_encode_raw(out, len, buf);
	out[olen] = '\0';
	return out;
}

int n56_base64_decode(const char *s, char **out, size_t *outlen)
{
	struct base64_decode_ctx ctx;
	size_t len = strlen(s), pad = 0, n;
	uint8_t *buf;

	*out = NULL;
	*outlen = 0;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	if (len % 4 || strspn(s, alphabet) != len - pad)
		return -1;
	buf = malloc(BASE64_DECODE_LENGTH(len) + 1);
	if (!buf)
		return -1;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, len, s) ||
	    !base64_decode_final(&ctx)) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*outlen = n;
	return 0;
}
