/* Megatron's rank grids and the communicator groups they imply. Each kind
 * of group is one axis of a four-axis grid (dense: tp cp dp pp, expert:
 * etp ep edp pp, the first axis varying fastest): a group is the set of
 * ranks that differ only along that axis. */
#include <stdlib.h>
#include <string.h>

#include "job/n56job.h"
#include "preflight/preflight.h"

#define NAXES 4

const char *n56pf_kind_name(enum n56pf_kind k)
{
	static const char *const names[N56PF_NKINDS] = { "tp", "cp", "dp", "pp",
							 "ep" };

	return (unsigned)k < N56PF_NKINDS ? names[k] : "?";
}

int n56pf_grid_init(struct n56pf_grid *g, long world,
		    const struct n56pf_config *c, char *err, size_t errlen)
{
	long etp = c->etp > 0 ? c->etp : c->tp; /* Megatron's default */

	memset(g, 0, sizeof(*g));
	if (world < 1) {
		snprintf(err, errlen,
			 "WORLD_SIZE %ld is not a positive rank "
			 "count",
			 world);
		return -1;
	}
	if (world % (c->tp * c->cp * c->pp)) {
		snprintf(err, errlen,
			 "world %ld is not a multiple of tp %ld x "
			 "cp %ld x pp %ld",
			 world, c->tp, c->cp, c->pp);
		return -1;
	}
	if (world % (etp * c->ep * c->pp)) {
		snprintf(err, errlen,
			 "world %ld is not a multiple of etp %ld x "
			 "ep %ld x pp %ld",
			 world, etp, c->ep, c->pp);
		return -1;
	}
	/* Megatron asserts that both grids give the same pipeline groups;
	 * with pp before dp that holds only when dp and edp agree. */
	if (c->pp_before_dp && c->pp > 1 && etp * c->ep != c->tp * c->cp) {
		snprintf(
			err, errlen,
			"with --use-tp-pp-dp-mapping and pp %ld, "
			"etp %ld x ep %ld must equal tp %ld x cp %ld (Megatron "
			"requires the expert and dense data-parallel sizes to "
			"agree)",
			c->pp, etp, c->ep, c->tp, c->cp);
		return -1;
	}
	g->world = world;
	g->tp = c->tp;
	g->cp = c->cp;
	g->pp = c->pp;
	g->ep = c->ep;
	g->etp = etp;
	g->dp = world / (c->tp * c->cp * c->pp);
	g->edp = world / (etp * c->ep * c->pp);
	g->pp_before_dp = c->pp_before_dp;
	return 0;
}

/* The axes of the grid a kind lives on, and which axis is the kind's. */
static int kind_axes(const struct n56pf_grid *g, enum n56pf_kind k,
		     long size[NAXES])
{
	bool expert = k == N56PF_EP;
	long inner = expert ? g->edp : g->dp;
	int dp_axis = g->pp_before_dp ? 3 : 2, pp_axis = 5 - dp_axis;

	size[0] = expert ? g->etp : g->tp;
	size[1] = expert ? g->ep : g->cp;
	size[dp_axis] = inner;
	size[pp_axis] = g->pp;
	switch (k) {
	case N56PF_TP:
		return 0;
	case N56PF_CP:
		return 1;
	case N56PF_DP:
		return dp_axis;
	case N56PF_PP:
		return pp_axis;
	case N56PF_EP:
		return 1;
	default:
		return 0;
	}
}

static void split_rank(const long size[NAXES], long rank, long c[NAXES])
{
	for (int i = 0; i < NAXES; i++) {
		c[i] = rank % size[i];
		rank /= size[i];
	}
}

static long join_rank(const long size[NAXES], const long c[NAXES])
{
	long rank = 0;

	for (int i = NAXES - 1; i >= 0; i--)
		rank = rank * size[i] + c[i];
	return rank;
}

void n56pf_coords_of(const struct n56pf_grid *g, long rank,
		     struct n56pf_coords *out)
{
	long size[NAXES], c[NAXES];
	int dp_axis = g->pp_before_dp ? 3 : 2, pp_axis = 5 - dp_axis;

	kind_axes(g, N56PF_TP, size);
	split_rank(size, rank, c);
	out->tp = c[0];
	out->cp = c[1];
	out->dp = c[dp_axis];
	out->pp = c[pp_axis];
	kind_axes(g, N56PF_EP, size);
	split_rank(size, rank, c);
	out->etp = c[0];
	out->ep = c[1];
	out->edp = c[dp_axis];
}

long n56pf_group_size(const struct n56pf_grid *g, enum n56pf_kind k)
{
	long size[NAXES];

	return size[kind_axes(g, k, size)];
}

long n56pf_group_count(const struct n56pf_grid *g, enum n56pf_kind k)
{
	return g->world / n56pf_group_size(g, k);
}

void n56pf_group_of(const struct n56pf_grid *g, enum n56pf_kind k, long rank,
		    long *group, long *index)
{
	long size[NAXES], c[NAXES], id = 0, mult = 1;
	int axis = kind_axes(g, k, size);

	split_rank(size, rank, c);
	/* The colour: the other axes in grid order, mixed radix. */
	for (int i = 0; i < NAXES; i++) {
		if (i == axis)
			continue;
		id += c[i] * mult;
		mult *= size[i];
	}
	*group = id;
	*index = c[axis];
}

void n56pf_group_members(const struct n56pf_grid *g, enum n56pf_kind k,
			 long group, long *out)
{
	long size[NAXES], c[NAXES];
	int axis = kind_axes(g, k, size);

	for (int i = 0; i < NAXES; i++) {
		if (i == axis)
			continue;
		c[i] = group % size[i];
		group /= size[i];
	}
	for (long j = 0; j < size[axis]; j++) {
		c[axis] = j;
		out[j] = join_rank(size, c);
	}
}

static const char *default_getenv(const char *name)
{
	return getenv(name);
}

int n56pf_check_env_coords(const struct n56pf_grid *g, long rank,
			   const char *(*getenv_fn)(const char *name),
			   char *err, size_t errlen)
{
	struct n56pf_coords c;
	struct {
		const char *name;
		long want;
	} v[5];
	size_t used = 0;
	int bad = 0;

	if (!getenv_fn)
		getenv_fn = default_getenv;
	n56pf_coords_of(g, rank, &c);
	v[0].name = N56_ENV_TP_RANK, v[0].want = c.tp;
	v[1].name = N56_ENV_CP_RANK, v[1].want = c.cp;
	v[2].name = N56_ENV_EP_RANK, v[2].want = c.ep;
	v[3].name = N56_ENV_DP_RANK, v[3].want = c.dp;
	v[4].name = N56_ENV_PP_RANK, v[4].want = c.pp;
	if (errlen)
		err[0] = '\0';
	for (int i = 0; i < 5; i++) {
		const char *s = getenv_fn(v[i].name);
		char *end = NULL;
		long got = s && *s ? strtol(s, &end, 10) : -1;
		int n;

		if (s && *s && !*end && got == v[i].want)
			continue;
		if (!s)
			n = snprintf(err + used, errlen - used,
				     "%s%s is not "
				     "set, Megatron's order gives %ld",
				     bad ? "; " : "", v[i].name, v[i].want);
		else
			n = snprintf(err + used, errlen - used,
				     "%s%s=%s but "
				     "Megatron's order gives %ld",
				     bad ? "; " : "", v[i].name, s, v[i].want);
		bad++;
		if (n > 0 && used + (size_t)n < errlen)
			used += (size_t)n;
		else
			used = errlen ? errlen - 1 : 0;
	}
	return bad ? -1 : 0;
}

double n56pf_busbw(enum n56pf_kind k, long n, double bytes, double seconds)
{
	double algbw;

	if (seconds <= 0 || n < 1)
		return 0;
	algbw = bytes / seconds / 1e9;
	switch (k) {
	case N56PF_TP:
	case N56PF_DP: /* all-reduce: 2(n-1)/n of the data crosses a link */
		return algbw * 2.0 * (double)(n - 1) / (double)n;
	case N56PF_EP: /* all-to-all: (n-1)/n leaves each rank */
		return algbw * (double)(n - 1) / (double)n;
	default: /* send/recv: between two stages (PP), to the ring's next
		  * rank (CP); every byte crosses a link */
		return algbw;
	}
}

bool n56pf_expect_nvlink(const int *islands, long n, bool degraded)
{
	if (degraded || n < 2)
		return false;
	for (long i = 0; i < n; i++)
		if (islands[i] < 0 || islands[i] != islands[0])
			return false;
	return true;
}
