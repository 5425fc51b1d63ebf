/* The step core (step/core.h): MASTER_PORT, the node's shape against the
 * step and the admin map, the placer, the task layout, the TP verdict,
 * the step's GPUs and each rank's environment. Pure: the facts come in a
 * struct, the reasons go out as text. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step/core.h"
#include "job/n56job.h"
#include "topology/slurmblock.h"
#include "topology/util.h"

/* The reasons found so far, one per line, in the caller's buffer. */
struct reasons {
	char *buf;
	size_t len, at;
	int n;
};

static void __attribute__((format(printf, 2, 3)))
reason(struct reasons *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->n++;
	if (!r->buf || r->at + 1 >= r->len)
		return;
	if (r->at)
		r->buf[r->at++] = '\n';
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->at, r->len - r->at, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->at += (size_t)n < r->len - r->at ? (size_t)n
						    : r->len - r->at - 1;
	r->buf[r->at] = '\0';
}

int n56_step_tasks_per_node(const struct n56_step_facts *f, long *gpn,
			    char *err, size_t errlen)
{
	if (f->nnodes > 0 && f->ntasks % f->nnodes == 0 &&
	    (f->nlocal < 0 || f->nlocal == f->ntasks / f->nnodes)) {
		*gpn = f->ntasks / f->nnodes;
		return 0;
	}
	if (f->nlocal >= 0)
		n56_set_err(err, errlen,
			    "the step runs %ld tasks on %ld nodes "
			    "(%ld on this one); a NAM56R step runs the same "
			    "number of ranks on every node, one per GPU (srun "
			    "--ntasks-per-node=G)",
			    f->ntasks, f->nnodes, f->nlocal);
	else
		n56_set_err(err, errlen,
			    "the step runs %ld tasks on %ld "
			    "nodes; a NAM56R step runs the same number of "
			    "ranks on every node, one per GPU (srun "
			    "--ntasks-per-node=G)",
			    f->ntasks, f->nnodes);
	return -1;
}

int n56_step_distribution(const struct n56_step_facts *f, long gpn, char *err,
			  size_t errlen)
{
	return n56_distribution_check(f->distribution, f->plane_size, gpn, err,
				      errlen);
}

int n56_step_placer(const struct n56_plan *plan,
		    const struct n56_node_shape *shape, struct n56_placer **out,
		    struct n56_place_report *rep, char *err, size_t errlen)
{
	char why[512] = "";

	if (!n56_placer_new(&plan->par, shape, plan->nodes, out, rep, why,
			    sizeof(why)))
		return 0;
	n56_set_err(err, errlen, "placement: %s", why);
	return -1;
}

int n56_step_tp_verdict(const struct n56_place_report *rep,
			const struct n56_policy *policy, char *err,
			size_t errlen)
{
	if (rep->tp_in_island || !policy ||
	    !policy->topology.require_tp_in_island.v)
		return 0;
	n56_set_err(err, errlen,
		    "placement: %s (the site policy requires "
		    "every TP group inside one NVLink island)",
		    rep->why);
	return -1;
}

/* spank_nam56r(8) MASTER PORT: local mode's own port, what Slurm reserved
 * for the step, else a port no concurrent job on the first node can
 * compute (spank/ports.c), else (no job record) one from the job id. */
static int master_port(const struct n56_policy *p,
		       const struct n56_step_facts *f, int *port,
		       struct reasons *r)
{
	long base = p && p->record.master_port.v > 0 ? p->record.master_port.v
						     : N56_MASTER_PORT_DEFAULT;
	char why[512];

	if (f->port > 0) {
		*port = f->port;
		return 0;
	}
	if (f->resv_ports) {
		if (!n56_resv_ports_first(f->resv_ports, port))
			return 0;
		reason(r, "SLURM_STEP_RESV_PORTS is '%.64s', not a port range",
		       f->resv_ports);
		return -1;
	}
	if (f->port_key) {
		if (!n56_port_from_key(
			    base, f->port_key_what ? f->port_key_what : "CPU",
			    f->port_key, f->step_id, port, why, sizeof(why)))
			return 0;
		reason(r, "MASTER_PORT: %s", why);
		return -1;
	}
	*port = (int)(base + f->job_id % N56_PORT_JOB_SPREAD);
	return 0;
}

/* The step has some of the node's GPUs (list: the node's indices): the
 * islands of those GPUs only, renumbered in the list's order. 1 when the
 * list names gpn distinct GPUs of the node. */
static int sub_shape(struct n56_step *s, const char *list, long gpn)
{
	struct n56_node_shape sub = { 0 };
	int idx[N56_MAX_GPUS_PER_NODE], n = 0, map[N56_MAX_GPUS_PER_NODE];
	const char *p = list;

	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			return 0;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long v = a; v <= b; v++) {
			if (n == N56_MAX_GPUS_PER_NODE || v < 0 ||
			    v >= s->shape.gpus)
				return 0;
			for (int k = 0; k < n; k++)
				if (idx[k] == v)
					return 0;
			idx[n++] = (int)v;
		}
		if (*end && *end != ',')
			return 0;
		p = *end ? end + 1 : end;
	}
	if (n != gpn)
		return 0;
	for (int k = 0; k < N56_MAX_GPUS_PER_NODE; k++)
		map[k] = -1;
	sub.gpus = n;
	for (int i = 0; i < n; i++) {
		int old = s->shape.island_of[idx[i]];

		if (old < 0 || old >= N56_MAX_GPUS_PER_NODE)
			return 0;
		if (map[old] < 0)
			map[old] = sub.nislands++;
		sub.island_of[i] = map[old];
	}
	sub.nodes_per_domain = s->shape.nodes_per_domain;
	sub.degraded = s->shape.degraded;
	sub.assumed = s->shape.assumed;
	s->shape = sub;
	memcpy(s->gpu_of, idx, (size_t)n * sizeof(*idx));
	return 1;
}

/* spank_nam56r(8) "One rank per GPU of the node": anything else would
 * place ranks on GPUs the node's topology does not describe. */
static void step_gpus_mismatch(const struct n56_step *s,
			       const struct n56_step_facts *f, long gpn,
			       struct reasons *r)
{
	struct n56_node_shape step;
	struct n56_shape_view a = { &step, "the step", NULL };
	struct n56_shape_view seen = { &s->shape, "hwloc", NULL };
	const char *path =
		f->topology_path ? f->topology_path : s->topo->source;
	char why[1024];

	n56_node_shape_assumed(&step, (int)gpn);
	n56_shape_check(&a, &seen, f->node_name, why, sizeof(why));
	if (gpn > s->shape.gpus)
		reason(r,
		       "%s (topology %s): run at most one rank per GPU "
		       "(srun --ntasks-per-node=%d)",
		       why, path, s->shape.gpus);
	else
		reason(r,
		       "%s (topology %s; Slurm names the step's GPUs as "
		       "'%s'): run one rank per GPU (srun "
		       "--ntasks-per-node=%d) or ask for %ld GPUs per node "
		       "(--gpus-per-node=%ld) so that Slurm names them",
		       why, path, f->step_gpus ? f->step_gpus : "(none)",
		       s->shape.gpus, gpn, gpn);
}

/* The shape placement uses: the topology's when the node has one GPU per
 * rank, the islands of the step's GPUs when Slurm names that many, one
 * island per node when there is no usable topology. */
static int node_shape(struct n56_step *s, const struct n56_topology *topo,
		      const struct n56_step_facts *f, struct reasons *r)
{
	long gpn = s->plan->gpus_per_node;

	for (int i = 0; i < N56_MAX_GPUS_PER_NODE; i++)
		s->gpu_of[i] = i;
	if (!topo || n56_topology_shape(topo, &s->shape, s->no_topology,
					sizeof(s->no_topology))) {
		n56_node_shape_assumed(&s->shape, (int)gpn);
		return 0;
	}
	s->topo = topo;
	if (s->shape.gpus == gpn ||
	    (f->step_gpus && sub_shape(s, f->step_gpus, gpn)))
		return 0;
	step_gpus_mismatch(s, f, gpn, r);
	return -1;
}

/* spank_nam56r(8) "Node homogeneity": the admin map's islands for this
 * node must agree with what the node finds itself; a contradiction fails
 * the step instead of placing TP groups across islands. */
static int admin_map_check(struct n56_step *s, const struct n56_policy *p,
			   const char *host, struct reasons *r)
{
	struct n56_node_shape own, map;
	const char *by = NULL;
	char dom[256], why[1024];
	int found;

	if (!s->topo || !p || !host ||
	    n56_topology_own_shape(s->topo, &own, &by, why, sizeof(why)))
		return 0;
	found = n56_admin_map_shape(p, host, own.gpus, &map, dom, sizeof(dom),
				    why, sizeof(why));
	if (found < 0) {
		reason(r, "topology: %s", why);
		return -1;
	}
	if (!found)
		return 0;
	struct n56_shape_view a = { &map, n56_site_islands_by(p), dom };
	struct n56_shape_view seen = { &own, by, NULL };
	if (n56_shape_check(&a, &seen, host, why, sizeof(why))) {
		char fix[1024];

		n56_site_islands_fix(p, p->path, fix, sizeof(fix));
		reason(r,
		       "%s; fix %s or the node, or run with island_source "
		       "per-node",
		       why, fix);
		return -1;
	}
	snprintf(s->homogeneity, sizeof(s->homogeneity), "%s", why);
	return 0;
}

/* The ranks Slurm starts on this node, against placement: a layout the
 * plan cannot honour fails the step before any rank starts. */
static int check_local_ranks(const struct n56_step *s,
			     const struct n56_step_facts *f, struct reasons *r)
{
	long world = s->plan->par.world;

	for (size_t i = 0; i < f->nlocal_ranks; i++) {
		struct n56_rank_place place;
		long rank = f->local_ranks[i];

		if (rank < 0 || rank >= world) {
			reason(r,
			       "Slurm starts rank %ld on node %ld of the "
			       "step, outside the plan's ranks 0..%ld",
			       rank, f->node_id, world - 1);
			return -1;
		}
		n56_place_rank(s->placer, rank, &place);
		if (place.node != f->node_id) {
			reason(r,
			       "Slurm starts rank %ld on node %ld of the "
			       "step, but NAM56R places it on node %ld: use "
			       "the block distribution (srun -m block, the "
			       "default)",
			       rank, f->node_id, place.node);
			return -1;
		}
	}
	return 0;
}

/* "2,3,4,5": the entries, in order. -1 when out of memory. */
static int split_list(const char *list, char ***out, size_t *n)
{
	char *copy = strdup(list), *save = NULL;
	size_t cap = 1;

	*out = NULL;
	*n = 0;
	for (const char *c = list; *c; c++)
		cap += *c == ',';
	if (!copy || !(*out = calloc(cap, sizeof(**out)))) {
		free(copy);
		return -1;
	}
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (!((*out)[*n] = strdup(t))) {
			free(copy);
			return -1;
		}
		(*n)++;
	}
	free(copy);
	return 0;
}

/* The GPUs Slurm gave the step, in its order: a rank's CUDA indices are
 * positions in this list. A rank never goes to a GPU Slurm did not give
 * the step: one rank per GPU, or the step fails. */
static int step_gpus(struct n56_step *s, const struct n56_step_facts *f,
		     struct reasons *r)
{
	const char *vd = f->visible_devices;
	const char *host = f->node_name ? f->node_name : "this node";
	long gpn = s->plan->gpus_per_node;

	if (!vd && !f->gpus_required)
		return 0;
	if (!vd || (!*vd && f->gpus_required)) {
		reason(r,
		       "Slurm gave this step no GPUs on %s (no "
		       "CUDA_VISIBLE_DEVICES) for %ld ranks: ask for one GPU "
		       "per rank (--gpus-per-node=%ld)",
		       host, gpn, gpn);
		return -1;
	}
	if (split_list(vd, &s->gpus, &s->ngpus)) {
		reason(r, "the step's GPUs: %s", strerror(ENOMEM));
		return -1;
	}
	if (s->ngpus != (size_t)gpn) {
		reason(r,
		       "Slurm gave this step %zu GPUs on %s (%.256s) for "
		       "%ld ranks: a NAM56R step runs one rank per GPU of the "
		       "step (srun --ntasks-per-node=%zu, or give the step %ld "
		       "GPUs with --gpus-per-node=%ld)",
		       s->ngpus, host, vd, gpn, s->ngpus, gpn, gpn);
		return -1;
	}
	return 0;
}

int n56_step_decide(const struct n56_plan *plan,
		    const struct n56_topology *topo,
		    const struct n56_step_facts *f, struct n56_step **out,
		    char *err, size_t errlen)
{
	struct reasons r = { err, errlen, 0, 0 };
	struct n56_step *s = NULL;
	char line[2048];

	if (err && errlen)
		err[0] = '\0';
	if (out)
		*out = NULL;
	if (!plan || !f || !out) {
		reason(&r, "the step core needs a plan, the step's facts and "
			   "a result");
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s || (f->master && !(s->master = strdup(f->master)))) {
		reason(&r, "the step's placement: %s", strerror(ENOMEM));
		goto fail;
	}
	s->plan = plan;
	s->node_id = f->node_id;
	if (master_port(plan->policy, f, &s->master_port, &r))
		goto fail;
	node_shape(s, topo, f, &r);
	admin_map_check(s, plan->policy, f->node_name, &r);
	if (r.n)
		goto fail;
	if (n56_step_placer(plan, &s->shape, &s->placer, &s->report, line,
			    sizeof(line))) {
		reason(&r, "%s", line);
		goto fail;
	}
	/* island_source slurm-block: no TP or expert group across blocks. */
	if (f->hosts && plan->policy &&
	    n56_placer_slurm_blocks(s->placer, plan->policy, f->hosts,
				    f->nhosts, &s->report, line,
				    sizeof(line))) {
		reason(&r, "placement: %s", line);
		goto fail;
	}
	if (check_local_ranks(s, f, &r))
		goto fail;
	if (n56_step_tp_verdict(&s->report, plan->policy, line, sizeof(line)))
		reason(&r, "%s", line);
	step_gpus(s, f, &r);
	if (r.n)
		goto fail;
	*out = s;
	return 0;
fail:
	n56_step_free(s);
	return -1;
}

void n56_step_free(struct n56_step *s)
{
	if (!s)
		return;
	n56_placer_free(s->placer);
	for (size_t i = 0; s->gpus && i < s->ngpus; i++)
		free(s->gpus[i]);
	free(s->gpus);
	free(s->master);
	free(s);
}

/* A rank's CUDA_VISIBLE_DEVICES (positions in the step's GPUs) in
 * Slurm's numbering; NULL when an entry is not one of the step's. */
static char *translate_devices(const struct n56_step *s, const char *ours)
{
	char *out = NULL, *copy = strdup(ours), *save = NULL;
	size_t len = 0;
	bool bad = false, first = true;
	FILE *f;

	if (!copy)
		return NULL;
	f = open_memstream(&out, &len);
	if (!f) {
		free(copy);
		return NULL;
	}
	for (char *t = strtok_r(copy, ",", &save); t && !bad;
	     t = strtok_r(NULL, ",", &save)) {
		char *end;
		long i = strtol(t, &end, 10);

		bad = *end || i < 0 || (size_t)i >= s->ngpus;
		if (!bad)
			fprintf(f, "%s%s", first ? "" : ",", s->gpus[i]);
		first = false;
	}
	if (fclose(f) || bad) {
		free(out);
		out = NULL;
	}
	free(copy);
	return out;
}

/* CUDA_VISIBLE_DEVICES of env in Slurm's numbering of the step's GPUs. */
static int translate_env(const struct n56_step *s, struct n56_env *env,
			 char *err, size_t errlen)
{
	for (size_t i = 0; s->gpus && i < env->n; i++) {
		struct n56_env_entry *e = &env->v[i];
		char *dev;

		if (strcmp(e->name, "CUDA_VISIBLE_DEVICES"))
			continue;
		dev = translate_devices(s, e->value);
		if (!dev) {
			n56_set_err(err, errlen,
				    "placement put a rank outside "
				    "the %zu GPUs Slurm gave the step (%s)",
				    s->ngpus, e->value);
			return -1;
		}
		free(e->value);
		e->value = dev;
	}
	return 0;
}

int n56_step_rank_env(const struct n56_step *s, long rank, struct n56_env *out,
		      int *node_gpu, char *err, size_t errlen)
{
	const struct n56_topology *t = s->topo;
	struct n56_rank_place place;
	const char *nic = NULL;
	char why[512];
	int gpu;

	memset(out, 0, sizeof(*out));
	if (rank < 0 || rank >= s->plan->par.world) {
		n56_set_err(err, errlen,
			    "per-rank environment: rank %ld is "
			    "outside 0..%ld of the plan",
			    rank, s->plan->par.world - 1);
		return -1;
	}
	n56_place_rank(s->placer, rank, &place);
	if (place.node != s->node_id) {
		n56_set_err(err, errlen,
			    "rank %ld is placed on node %ld but "
			    "Slurm started it on node %ld; use the default "
			    "block distribution (srun -m block)",
			    rank, place.node, s->node_id);
		return -1;
	}
	/* The placed GPU as the node's index (the step may hold only some
	 * of the node's GPUs). */
	gpu = t && place.gpu >= 0 && place.gpu < N56_MAX_GPUS_PER_NODE
		      ? s->gpu_of[place.gpu]
		      : place.gpu;
	if (t && gpu >= 0 && gpu < t->ngpus)
		nic = t->gpus[gpu].nic;
	if (n56_rank_env(s->plan, s->placer, rank, s->master, s->master_port,
			 nic, out, why, sizeof(why))) {
		n56_set_err(err, errlen, "per-rank environment: %s", why);
		return -1;
	}
	if (translate_env(s, out, err, errlen)) {
		n56_env_clear(out);
		return -1;
	}
	if (node_gpu)
		*node_gpu = gpu;
	return 0;
}
