/* The split under the schedule model: the recipe's schedule keys, the
 * microbatch count, and the split of least simulated iteration time
 * (policy/schedule.c), with the figures plan shows beside it.
 *
 * Time of a segment per microbatch: its cost (FLOPs per token, forward +
 * backward) x micro batch x sequence tokens / (tp x cp) GPUs sharing it,
 * at gpu_tflops; forward 1 / (1 + ratio) of it, backward the rest. */
#include "policy/cost.h"
#include "policy/schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BACKWARD_RATIO 2.0
#define DEFAULT_GPU_TFLOPS 400.0

void n56_layout_schedule_clear(struct n56_layout_schedule *s)
{
	if (!s)
		return;
	free(s->idle_s);
	free(s->peak_inflight);
	free(s->warmup);
	free(s->balanced_sizes);
	memset(s, 0, sizeof(*s));
}

static double key_or(const struct n56_num *n, double dflt)
{
	return n->text ? n->v : dflt;
}

static int read_keys(const struct n56_recipe *r,
		     struct n56_layout_schedule *out, struct n56_diags *d)
{
	const struct n56_num *br = &r->layout.backward_ratio;
	const struct n56_num *tf = &r->layout.gpu_tflops;
	const struct n56_num *lat = &r->layout.p2p_latency_us;
	size_t errs = d->n;

	if (br->text && !(isfinite(br->v) && br->v > 0))
		n56_diag_add(d, r->path, br->pos,
			     "layout.backward_ratio is %s: give a positive "
			     "number, the backward time over the forward "
			     "time (e.g. 2)",
			     br->text);
	if (tf->text && !(isfinite(tf->v) && tf->v > 0))
		n56_diag_add(d, r->path, tf->pos,
			     "layout.gpu_tflops is %s: give a positive "
			     "number, the TFLOP/s one GPU achieves",
			     tf->text);
	if (lat->text && !(isfinite(lat->v) && lat->v >= 0))
		n56_diag_add(d, r->path, lat->pos,
			     "layout.p2p_latency_us is %s: give a number of "
			     "microseconds, 0 or more",
			     lat->text);
	if (d->n > errs)
		return -1;
	out->backward_ratio = key_or(br, DEFAULT_BACKWARD_RATIO);
	out->gpu_tflops = key_or(tf, DEFAULT_GPU_TFLOPS);
	out->p2p_s = key_or(lat, 0) * 1e-6;
	return 0;
}

/* The microbatch count, or 0 with the reason (the validation reports
 * the batch rules). */
static long microbatches(const struct n56_recipe *r,
			 const struct n56_parallel *par, char *why, size_t len)
{
	long gb = r->batch.global_batch_size.v;
	long mb = r->batch.micro_batch_size.v;

	if (par->dp < 1 || mb < 1 || gb < 1 || mb > gb / par->dp ||
	    gb % (mb * par->dp)) {
		snprintf(why, len,
			 "global batch %ld is not a whole number of micro "
			 "batches %ld x data parallel %ld",
			 gb, mb, par->dp);
		return 0;
	}
	return gb / (mb * par->dp);
}

static double simulate_sizes(const struct n56_sched_split *sp, const int *sizes,
			     struct n56_sched_result *res)
{
	int S = sp->pp * sp->vpp;
	double fwd[S], bwd[S];
	struct n56_sched_problem pb = { sp->pp, sp->vpp, sp->m,	 sp->group,
					fwd,	bwd,	 sp->p2p };

	n56_sched_split_times(sp, sizes, fwd, bwd);
	if (!res)
		return n56_sched_time(&pb, NULL);
	return n56_sched_simulate(&pb, res, false, NULL, 0) ? -1 : res->time;
}

int n56_layout_schedule(const struct n56_recipe *r,
			const struct n56_parallel *par,
			const struct n56_layer_costs *costs, int *sizes,
			bool hand, struct n56_layout_schedule *out,
			struct n56_diags *d)
{
	int S = (int)(par->pp * par->vpp);
	int equal[S > 0 ? S : 1];
	struct n56_sched_split sp;
	struct n56_sched_result res = { 0 };
	double tokens, gpus;
	long m;

	n56_layout_schedule_clear(out);
	if (read_keys(r, out, d))
		return -1;
	m = microbatches(r, par, out->why, sizeof(out->why));
	if (!m)
		return 0;
	out->microbatches = m;
	out->group = par->pp;
	if (n56_sched_check((int)par->pp, (int)par->vpp, m, 0, out->why,
			    sizeof(out->why)))
		return 0;
	if (m > N56_SCHED_MAX_OPS / 2 / S) {
		snprintf(out->why, sizeof(out->why),
			 "%ld microbatches x pp %ld x vpp %ld: more than the "
			 "%ld ops the model simulates",
			 m, par->pp, par->vpp, N56_SCHED_MAX_OPS);
		return 0;
	}
	tokens = (double)r->batch.micro_batch_size.v *
		 (double)r->batch.seq_length.v;
	gpus = (double)(par->tp > 0 ? par->tp : 1) *
	       (double)(par->cp > 0 ? par->cp : 1);
	if (!(tokens > 0)) {
		snprintf(out->why, sizeof(out->why),
			 "no tokens per microbatch (batch.seq_length)");
		return 0;
	}
	sp = (struct n56_sched_split){
		.w = costs->flops,
		.n = costs->depth,
		.first = costs->first.flops,
		.last = costs->last.flops,
		.pp = (int)par->pp,
		.vpp = (int)par->vpp,
		.m = m,
		.group = 0,
		.ratio = out->backward_ratio,
		.scale = tokens / gpus / (out->gpu_tflops * 1e12),
		.p2p = out->p2p_s,
	};
	n56_split_equal(sp.n, S, equal);
	out->equal_s = simulate_sizes(&sp, equal, NULL);
	out->exact = true;
	if (!hand) {
		out->balanced_sizes = malloc(sizeof(int) * (size_t)S);
		if (!out->balanced_sizes)
			goto oom;
		memcpy(out->balanced_sizes, sizes, sizeof(int) * (size_t)S);
		out->balanced_s = simulate_sizes(&sp, sizes, NULL);
		if (n56_sched_split_best(&sp, sizes, &out->exact, &out->tried) <
		    0)
			goto oom;
	}
	if (simulate_sizes(&sp, sizes, &res) < 0)
		goto oom;
	if (hand)
		out->balanced_s = res.time;
	out->time_s = res.time;
	out->ideal_s = res.work / (double)par->pp;
	out->idle_s = res.idle;
	out->peak_inflight = res.peak_inflight;
	out->warmup = res.warmup;
	out->s_per_cost = sp.scale;
	out->simulated = true;
	return 0;
oom:
	n56_sched_result_free(&res);
	n56_diag_add(d, r->path, (struct n56_pos){ 0, 0 },
		     "out of memory in the schedule model");
	n56_layout_schedule_clear(out);
	return -1;
}

int n56_layout_schedule_ops(const struct n56_layout *l, int pp, int vpp,
			    struct n56_sched_result *res, char *err,
			    size_t errlen)
{
	const struct n56_layout_schedule *s = &l->sched;
	int S = pp * vpp;
	double fwd[S > 0 ? S : 1], bwd[S > 0 ? S : 1];
	struct n56_sched_problem pb = { pp,  vpp, s->microbatches, s->group,
					fwd, bwd, s->p2p_s };

	memset(res, 0, sizeof(*res));
	if (!s->simulated || l->nstages != S) {
		snprintf(err, errlen, "the schedule was not simulated: %s",
			 s->why[0] ? s->why : "no split");
		return -1;
	}
	for (int i = 0; i < S; i++) {
		double c = l->stages[i].cost * s->s_per_cost;

		fwd[i] = c / (1 + s->backward_ratio);
		bwd[i] = fwd[i] * s->backward_ratio;
	}
	return n56_sched_simulate(&pb, res, true, err, errlen);
}
