/* The node cache: the hwloc XML export of the node plus a record of what was
 * found (islands, their source, the fabric domain) as info attributes on the
 * root object, so that reading it back (about 1 ms) gives the same topology
 * without NVML. Written atomically, 0644, only into a root-owned directory
 * when running as root. */
#include "config.h"

#include "topology/topology.h"

#include <errno.h>
#include <hwloc.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC "nam56r."

static bool island_fact(const char *line, size_t len)
{
	static const char *const kinds[] = { "islands", "nvml", "admin map" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t k = strlen(kinds[i]);

		if (len > k && !strncmp(line, kinds[i], k))
			return true;
	}
	return false;
}

static int add_record(hwloc_topology_t h, const struct n56_topology *t)
{
	hwloc_obj_t root = hwloc_get_root_obj(h);
	char *gpus = NULL, *of = NULL, *own = NULL, num[16];
	size_t glen = 0, olen = 0, wlen = 0;
	FILE *g = open_memstream(&gpus, &glen), *o = open_memstream(&of, &olen);
	FILE *w = open_memstream(&own, &wlen);
	int ret = -1;

	if (!g || !o || !w)
		goto out;
	for (int i = 0; i < t->ngpus; i++) {
		fprintf(g, "%s%s", i ? "," : "", t->gpus[i].pci);
		fprintf(o, "%s%d", i ? "," : "", t->gpus[i].island);
		if (t->own_island_of)
			fprintf(w, "%s%d", i ? "," : "", t->own_island_of[i]);
	}
	fclose(g);
	fclose(o);
	fclose(w);
	g = o = w = NULL;
	snprintf(num, sizeof(num), "%d", t->nodes_per_domain);
	if (hwloc_obj_add_info(root, REC "cache", "1") < 0 ||
	    hwloc_obj_add_info(root, REC "island_source",
			       n56_island_source_name(t->island_source)) < 0 ||
	    hwloc_obj_add_info(root, REC "gpus", gpus) < 0 ||
	    hwloc_obj_add_info(root, REC "island_of", of) < 0 ||
	    hwloc_obj_add_info(root, REC "degraded", t->degraded ? "1" : "0") <
		    0 ||
	    hwloc_obj_add_info(root, REC "nodes_per_domain", num) < 0 ||
	    (t->domain &&
	     hwloc_obj_add_info(root, REC "domain", t->domain) < 0))
		goto out;
	/* The node's own islands beside the admin map's, for the check. */
	if (t->own_island_of && t->ngpus &&
	    (hwloc_obj_add_info(root, REC "own_source",
				n56_island_source_name(t->own_source)) < 0 ||
	     hwloc_obj_add_info(root, REC "own_island_of", own) < 0))
		goto out;
	/* Keep where the islands came from: the reader cannot ask again. */
	for (const char *p = t->facts; p && *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);

		if (!line)
			goto out;
		if (island_fact(p, len) &&
		    hwloc_obj_add_info(root, REC "fact", line) < 0) {
			free(line);
			goto out;
		}
		free(line);
		p += len + (p[len] == '\n');
	}
	ret = 0;
out:
	if (g)
		fclose(g);
	if (o)
		fclose(o);
	if (w)
		fclose(w);
	free(gpus);
	free(of);
	free(own);
	return ret;
}

static int check_dir(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path);
	struct stat st;
	int ret = -1;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (stat(dirname(copy), &st) < 0) {
		n56_error_at(err, errlen, path, N56_NOPOS,
			     "cache directory: %s", strerror(errno));
		goto out;
	}
	if (geteuid() == 0 && st.st_uid != 0) {
		n56_error_at(err, errlen, path, N56_NOPOS,
			     "the cache directory is owned by uid %u, not "
			     "root; refusing to write the node cache there as "
			     "root (chown root it or set topology.cache_dir)",
			     (unsigned)st.st_uid);
		goto out;
	}
	if (geteuid() == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		n56_error_at(err, errlen, path, N56_NOPOS,
			     "the cache directory is writable by group or "
			     "others; refusing to write the node cache there "
			     "as root (chmod go-w it)");
		goto out;
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

int n56_topology_cache_write(const struct n56_topology *t, const char *path,
			     char *err, size_t errlen)
{
	hwloc_topology_t dup = NULL;
	char *tmp = NULL;
	int fd, ret = -1;

	if (!t->hwloc) {
		n56_error_at(err, errlen, path, N56_NOPOS,
			     "no hwloc topology to export");
		return -1;
	}
	if (check_dir(path, err, errlen) < 0)
		return -1;
	/* The record goes on a copy: the caller's topology stays as loaded. */
	if (hwloc_topology_dup(&dup, t->hwloc) < 0 || add_record(dup, t) < 0) {
		n56_error_at(err, errlen, path, N56_NOPOS,
			     "cannot prepare the cache: %s", strerror(errno));
		goto out;
	}
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		n56_error_at(err, errlen, tmp, N56_NOPOS,
			     "cannot create a temporary file: %s",
			     strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	close(fd);
	if (hwloc_topology_export_xml(dup, tmp, 0) < 0) {
		n56_error_at(err, errlen, tmp, N56_NOPOS,
			     "hwloc XML export failed: %s", strerror(errno));
		goto out_unlink;
	}
	if (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
		n56_error_at(err, errlen, path, N56_NOPOS,
			     "cannot install the cache: %s", strerror(errno));
		goto out_unlink;
	}
	ret = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	free(tmp);
	if (dup)
		hwloc_topology_destroy(dup);
	return ret;
}

int n56_topology_cache_read(const char *path, struct n56_topology **out,
			    char *err, size_t errlen)
{
	struct n56_topology_opts o = { .xml = path, .cache = true };

	return n56_topology_load_opts(&o, NULL, "", out, err, errlen);
}

static int source_by_name(const char *s, enum n56_island_source *out)
{
	static const enum n56_island_source all[] = {
		N56_ISLANDS_NONE,	N56_ISLANDS_ADMIN_MAP,
		N56_ISLANDS_NVML,	N56_ISLANDS_HWLOC_DISTANCES,
		N56_ISLANDS_PCI_SWITCH, N56_ISLANDS_SLURM_BLOCK
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (s && !strcmp(s, n56_island_source_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* The node's own islands (written when the admin map decided): ids in
 * 0..ngpus-1, one per GPU. Absent in caches written before: 0. */
static int own_record_read(struct n56_topology *t, hwloc_obj_t root)
{
	const char *src = hwloc_obj_get_info_by_name(root, REC "own_source");
	const char *of = hwloc_obj_get_info_by_name(root, REC "own_island_of");
	enum n56_island_source s;
	const char *p = of;
	char *end;
	int *v;

	if (!src && !of)
		return 0;
	if (!src || !of || source_by_name(src, &s) < 0 || !t->ngpus)
		return -1;
	v = malloc(sizeof(int) * t->ngpus);
	if (!v)
		return -1;
	for (int i = 0; i < t->ngpus; i++) {
		long x = strtol(p, &end, 10);

		if (end == p || x < 0 || x >= t->ngpus ||
		    (*end != ',' && *end != '\0')) {
			free(v);
			return -1;
		}
		v[i] = (int)x;
		p = *end ? end + 1 : end;
	}
	if (*p) {
		free(v);
		return -1;
	}
	t->own_island_of = v;
	t->own_source = s;
	return 0;
}

int n56_cache_record_read(struct n56_topology *t, int *label, char *err,
			  size_t errlen)
{
	hwloc_obj_t root = hwloc_get_root_obj(t->hwloc);
	const char *src, *gpus, *of, *deg, *npd, *dom;
	const char *p;
	char *end;

	if (!hwloc_obj_get_info_by_name(root, REC "cache"))
		return 0;
	src = hwloc_obj_get_info_by_name(root, REC "island_source");
	gpus = hwloc_obj_get_info_by_name(root, REC "gpus");
	of = hwloc_obj_get_info_by_name(root, REC "island_of");
	deg = hwloc_obj_get_info_by_name(root, REC "degraded");
	npd = hwloc_obj_get_info_by_name(root, REC "nodes_per_domain");
	dom = hwloc_obj_get_info_by_name(root, REC "domain");
	if (!gpus || !of || !deg || !npd ||
	    source_by_name(src, &t->island_source) < 0)
		goto bad;
	/* The record must describe this XML's GPUs, in the same order. */
	p = gpus;
	for (int i = 0; i < t->ngpus; i++) {
		size_t len = strlen(t->gpus[i].pci);

		if (strncmp(p, t->gpus[i].pci, len) ||
		    (p[len] != ',' && p[len] != '\0') ||
		    (p[len] == '\0' && i != t->ngpus - 1)) {
			n56_error_at(err, errlen, t->source, N56_NOPOS,
				     "the cache record names GPUs %s, the XML "
				     "has others; rewrite the cache",
				     gpus);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	if (*p)
		goto bad_gpus;
	p = of;
	for (int i = 0; i < t->ngpus; i++) {
		long v = strtol(p, &end, 10);

		if (end == p || v < 0 || v >= t->ngpus ||
		    (*end != ',' && *end != '\0'))
			goto bad;
		label[i] = (int)v;
		p = *end ? end + 1 : end;
	}
	if (*p)
		goto bad;
	t->degraded = !strcmp(deg, "1");
	t->nodes_per_domain = (int)strtol(npd, &end, 10);
	if (*end || t->nodes_per_domain < 1)
		goto bad;
	if (dom && !(t->domain = strdup(dom))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (own_record_read(t, root) < 0)
		goto bad;
	n56_topo_fact(t, "islands: %s, from the cache record",
		      n56_island_source_name(t->island_source));
	for (unsigned i = 0; i < root->infos_count; i++)
		if (!strcmp(root->infos[i].name, REC "fact"))
			n56_topo_fact(t, "cache: %s", root->infos[i].value);
	return 1;
bad_gpus:
	n56_error_at(err, errlen, t->source, N56_NOPOS,
		     "the cache record names GPUs %s, the XML has others; "
		     "rewrite the cache",
		     gpus);
	return -1;
bad:
	n56_error_at(err, errlen, t->source, N56_NOPOS,
		     "damaged nam56r-launch cache record on the XML root; "
		     "delete the file to rediscover");
	return -1;
}
