/* base64 (RFC 4648, padded) of the recipe the plugin carries to every
 * task: a small pure function pair, unit-tested in tests/test_spank_args.c. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *n56_base64_encode(const void *buf, size_t len)
{
	const unsigned char *in = buf;
	size_t olen = 4 * ((len + 2) / 3);
	char *out = malloc(olen + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int n56_base64_decode(const char *s, char **out, size_t *outlen)
{
	size_t len = strlen(s), n = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (len % 4)
		return -1;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* A padding character followed by data is damage. */
			if (pad || (v[k] = b64_value(s[i + k])) < 0)
				goto fail;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		buf[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			buf[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			buf[n++] = (unsigned char)w;
	}
	buf[n] = 0;
	*out = (char *)buf;
	*outlen = n;
	return 0;
fail:
	free(buf);
	return -1;
}
