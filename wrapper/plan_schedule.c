/* plan's schedule section: the simulated iteration of the chosen split
 * beside the stage-balanced and equal-count splits, each rank's idle time
 * and in-flight microbatches, and the advice on pp and vpp. */
#include <stdio.h>
#include <string.h>

#include "wrapper/plan_schedule.h"

static const char *schedule_name(const struct n56_parallel *par)
{
	if (par->pp < 2)
		return "no pipelining";
	return par->vpp > 1 ? "interleaved 1F1B" : "1F1B";
}

static void sizes_text(const int *v, int n, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%d", i ? "," : "",
				       v[i]);
}

static void shape_name(const struct n56_alternative *a,
		       const struct n56_alternative *cur, char *buf, size_t len)
{
	if (a->pp == cur->pp)
		snprintf(buf, len, "vpp %ld", a->vpp);
	else
		snprintf(buf, len, "pp %ld vpp %ld (dp %ld, %ld microbatches)",
			 a->pp, a->vpp, a->dp, a->m);
}

void n56_advice_verdict(const struct n56_advice *a, char *buf, size_t len)
{
	const struct n56_alternative *cur, *best;
	char name[96];

	if (!a->n || !a->v[0].valid) {
		snprintf(buf, len,
			 "no advice: the recipe's shape was not "
			 "simulated");
		return;
	}
	cur = &a->v[0];
	if (a->best <= 0 || a->v[a->best].time_s >= cur->time_s * (1 - 0.005)) {
		snprintf(buf, len,
			 "pp %ld vpp %ld is the fastest of the %zu shapes "
			 "tried (bubble %.0f%%)",
			 cur->pp, cur->vpp, a->n, 100 * cur->bubble);
		return;
	}
	best = &a->v[a->best];
	shape_name(best, cur, name, sizeof(name));
	snprintf(buf, len,
		 "%s would take %.0f%% less per iteration (bubble %.0f%% vs "
		 "%.0f%%; a GPU holds up to %.0f%% of the parameters vs "
		 "%.0f%%); the recipe is not changed",
		 name, 100 * (1 - best->time_s / cur->time_s),
		 100 * best->bubble, 100 * cur->bubble, 100 * best->mem_share,
		 100 * cur->mem_share);
}

void n56_print_schedule(FILE *f, const struct n56_plan *p,
			const struct n56_advice *a)
{
	const struct n56_layout_schedule *s = &p->layout.sched;
	const struct n56_parallel *par = &p->par;
	int S = p->layout.nstages;
	char buf[512];

	if (!s->simulated) {
		fprintf(f, "schedule: not simulated: %s\n\n", s->why);
		return;
	}
	fprintf(f,
		"schedule: Megatron %s, %ld microbatches (global %ld / "
		"(micro %ld x dp %ld)), group %ld; backward %.3g x forward, "
		"p2p %.3g us, %.4g TFLOP/s per GPU\n",
		schedule_name(par), s->microbatches,
		p->recipe->batch.global_batch_size.v,
		p->recipe->batch.micro_batch_size.v, par->dp, s->group,
		s->backward_ratio, s->p2p_s * 1e6, s->gpu_tflops);
	fprintf(f,
		"  iteration %.4g s simulated, %.3fx the ideal %.4g s (work "
		"/ pp); bubble %.1f%%\n",
		s->time_s, s->time_s / s->ideal_s, s->ideal_s,
		100 * (1 - s->ideal_s / s->time_s));
	if (p->layout.hand_split) {
		fprintf(f, "  hand split (layout.segments), taken as "
			   "written\n");
	} else {
		sizes_text(s->balanced_sizes, S, buf, sizeof(buf));
		fprintf(f,
			"  stage-balanced split %s: %.3fx; split search: %s "
			"(%lu splits simulated)\n",
			buf, s->balanced_s / s->ideal_s,
			s->exact ? "exact"
				 : "stopped at its work limit, best found",
			s->tried);
	}
	fprintf(f, "  equal-count split: %.3fx\n", s->equal_s / s->ideal_s);
	fprintf(f, "  %-4s %-10s %-7s %s\n", "rank", "idle", "warm-up",
		"in flight (microbatch x chunk, peak)");
	for (long r = 0; r < par->pp; r++)
		fprintf(f, "  %-4ld %-10.4g %-7ld %ld\n", r, s->idle_s[r],
			s->warmup[r], s->peak_inflight[r]);
	if (a && a->n) {
		const struct n56_alternative *cur = &a->v[0];

		n56_advice_verdict(a, buf, sizeof(buf));
		fprintf(f, "advice: %s\n", buf);
		fprintf(f, "  %-4s %-4s %-4s %-5s %-10s %-8s %s\n", "pp", "vpp",
			"dp", "m", "iteration", "bubble", "vs recipe");
		for (size_t i = 0; i < a->n; i++) {
			const struct n56_alternative *x = &a->v[i];

			if (!x->valid)
				continue;
			fprintf(f,
				"  %-4ld %-4ld %-4ld %-5ld %-10.4g %-8.1f "
				"%+.1f%%%s%s%s\n",
				x->pp, x->vpp, x->dp, x->m, x->time_s,
				100 * x->bubble,
				100 * (x->time_s / cur->time_s - 1),
				x->current ? " (recipe)" : "",
				x->exact ? "" : " (search stopped)",
				x->more_memory ? " (more parameters per GPU)"
					       : "");
		}
		fprintf(f,
			"  (%zu shapes tried; those not listed are not "
			"allowed: plan --format json says why; another pp "
			"whose GPUs hold over 10%% more\n  parameters "
			"than the recipe's is not advised, as memory is "
			"not modelled)\n",
			a->n);
	}
	fprintf(f, "\n");
}

static json_t *reals(const double *v, long n)
{
	json_t *a = json_array();

	for (long i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *longs(const long *v, long n)
{
	json_t *a = json_array();

	for (long i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

json_t *n56_schedule_json(const struct n56_plan *p, const struct n56_advice *a)
{
	const struct n56_layout_schedule *s = &p->layout.sched;
	json_t *o = json_object(), *alts = json_array();
	char verdict[512];

	json_object_set_new(o, "simulated", json_boolean(s->simulated));
	if (!s->simulated) {
		json_object_set_new(o, "why", json_string(s->why));
		return o;
	}
	json_object_set_new(o, "schedule", json_string(schedule_name(&p->par)));
	json_object_set_new(o, "microbatches", json_integer(s->microbatches));
	json_object_set_new(o, "group", json_integer(s->group));
	json_object_set_new(o, "backward_ratio", json_real(s->backward_ratio));
	json_object_set_new(o, "p2p_latency_us", json_real(s->p2p_s * 1e6));
	json_object_set_new(o, "gpu_tflops", json_real(s->gpu_tflops));
	json_object_set_new(o, "iteration_s", json_real(s->time_s));
	json_object_set_new(o, "ideal_s", json_real(s->ideal_s));
	json_object_set_new(o, "bubble", json_real(1 - s->ideal_s / s->time_s));
	json_object_set_new(o, "stage_balanced_s", json_real(s->balanced_s));
	json_object_set_new(o, "equal_count_s", json_real(s->equal_s));
	json_object_set_new(o, "search_exact", json_boolean(s->exact));
	json_object_set_new(o, "splits_simulated",
			    json_integer((json_int_t)s->tried));
	json_object_set_new(o, "idle_s", reals(s->idle_s, p->par.pp));
	json_object_set_new(o, "warmup", longs(s->warmup, p->par.pp));
	json_object_set_new(o, "peak_inflight",
			    longs(s->peak_inflight, p->par.pp));
	if (!a)
		return o;
	for (size_t i = 0; i < a->n; i++) {
		const struct n56_alternative *x = &a->v[i];
		json_t *j = json_object();

		json_object_set_new(j, "pp", json_integer(x->pp));
		json_object_set_new(j, "vpp", json_integer(x->vpp));
		json_object_set_new(j, "current", json_boolean(x->current));
		json_object_set_new(j, "valid", json_boolean(x->valid));
		if (x->valid) {
			json_object_set_new(j, "dp", json_integer(x->dp));
			json_object_set_new(j, "microbatches",
					    json_integer(x->m));
			json_object_set_new(j, "iteration_s",
					    json_real(x->time_s));
			json_object_set_new(j, "bubble", json_real(x->bubble));
			json_object_set_new(j, "search_exact",
					    json_boolean(x->exact));
			json_object_set_new(j, "mem_share",
					    json_real(x->mem_share));
			json_object_set_new(j, "more_memory",
					    json_boolean(x->more_memory));
		} else {
			json_object_set_new(j, "why", json_string(x->why));
		}
		json_array_append_new(alts, j);
	}
	json_object_set_new(o, "alternatives", alts);
	n56_advice_verdict(a, verdict, sizeof(verdict));
	json_object_set_new(o, "advice", json_string(verdict));
	return o;
}
