/* Reading recipe and policy files: regular files only, bounded size, and the
 * sha256 that identifies what was read. */
#include "policy/recipe.h"
#include "policy/yamlutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

static const struct n56_pos nopos = { 0, 0 };

int n56_read_fd(int fd, const char *path, size_t max, char **buf, size_t *len,
		struct n56_diags *d)
{
	struct stat st;
	char *data = NULL;
	size_t used = 0;
	int rc = -1;

	if (fstat(fd, &st) < 0) {
		n56_diag_add(d, path, nopos, "cannot stat: %s",
			     strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		n56_diag_add(d, path, nopos, "is a directory, not a YAML file");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		n56_diag_add(d, path, nopos,
			     "not a regular file (a device, FIFO or socket)");
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		n56_diag_add(d, path, nopos,
			     "too large (%lld bytes, at most "
			     "%zu)",
			     (long long)st.st_size, max);
		goto out;
	}
	/* Read to EOF rather than trusting st_size: the file may grow while
	 * we read, and the size limit must still hold. The buffer starts at
	 * the size seen (plus room to notice growth) and doubles up to
	 * max + 1, so a small file costs a small allocation; one more byte
	 * always stays free for the terminating NUL. */
	size_t cap = (size_t)st.st_size + 4096;
	if (cap > max + 1)
		cap = max + 1;
	data = malloc(cap + 1);
	if (!data) {
		n56_diag_add(d, path, nopos, "out of memory");
		goto out;
	}
	for (;;) {
		if (used == cap) { /* cap <= max here: a full max + 1 failed */
			size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			char *nd = realloc(data, ncap + 1);
			if (!nd) {
				n56_diag_add(d, path, nopos, "out of memory");
				goto out;
			}
			data = nd;
			cap = ncap;
		}
		ssize_t r = read(fd, data + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			n56_diag_add(d, path, nopos, "cannot read: %s",
				     strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used > max) {
			n56_diag_add(d, path, nopos,
				     "too large (more than "
				     "%zu bytes)",
				     max);
			goto out;
		}
	}
	data[used] = '\0';
	*buf = data;
	*len = used;
	data = NULL;
	rc = 0;
out:
	free(data);
	return rc;
}

int n56_read_file(const char *path, size_t max, char **buf, size_t *len,
		  struct n56_diags *d)
{
	int fd, rc;

	/* O_NONBLOCK: opening a FIFO must not hang; fstat refuses it next. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		n56_diag_add(d, path, nopos, "cannot open: %s",
			     strerror(errno));
		return -1;
	}
	rc = n56_read_fd(fd, path, max, buf, len, d);
	close(fd);
	return rc;
}

void n56_sha256_hex(const void *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[64] = '\0';
}
