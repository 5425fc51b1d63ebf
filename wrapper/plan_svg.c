/* plan --picture FILE.svg: the placement (nodes x GPUs, islands, TP
 * groups, pipeline stages, and under each GPU a bar of its rank's
 * predicted peak memory), the memory per pipeline rank against the GPU's
 * capacity, over one simulated iteration of the schedule, a time chart
 * per pipeline rank: forwards light and backwards dark in the colour of
 * their chunk, the microbatch written in the op when it fits, idle time
 * left grey. Plain SVG 1.1, no script, no external resource. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy/memory.h"
#include "policy/schedule.h"
#include "wrapper/plan_schedule.h"

#define WIDTH 1200
#define MARGIN 20
#define LABEL_W 80
#define CELL_W 64
#define CELL_H 48
#define ROW_H 26
/* the memory bar under a GPU cell's text, and a pipeline rank's bar */
#define MEM_BAR_H 7
#define MEM_ROW_W 600
#define MEM_STEP_W 104
#define GB 1e9
#define MAX_NODES_DRAWN 8
/* one rect (and a tooltip) per op: beyond this a browser crawls */
#define MAX_OPS_DRAWN 65536

/* Chunk hues, forward (light) and backward (dark) shades. */
static const char *const fwd_fill[] = { "#9ecae1", "#a1d99b", "#fdd0a2",
					"#dadaeb", "#fcbba1", "#c7e9c0" };
static const char *const bwd_fill[] = { "#3182bd", "#31a354", "#e6550d",
					"#756bb1", "#de2d26", "#238b45" };
/* Stage colours of the placement cells. */
static const char *const stage_fill[] = { "#fbb4ae", "#b3cde3", "#ccebc5",
					  "#decbe4", "#fed9a6", "#ffffcc",
					  "#e5d8bd", "#fddaec" };
/* Memory use in steps of a tenth of the scale (the capacity, else the
 * largest rank): green when light, red when nearly full. */
static const char *const mem_fill[] = { "#006837", "#1a9850", "#66bd63",
					"#a6d96a", "#d9ef8b", "#fee08b",
					"#fdae61", "#f46d43", "#d73027",
					"#a50026" };
#define NCOLOURS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The scale the memory is drawn against: the GPU's capacity, or with none
 * known the largest rank's peak. */
static double mem_scale(const struct n56_memory *m)
{
	if (m->capacity > 0)
		return m->capacity;
	return m->rank[m->worst].total > 0 ? m->rank[m->worst].total : 1;
}

static double mem_share(const struct n56_memory *m, int pp)
{
	double s = m->rank[pp].total / mem_scale(m);

	return s < 0 ? 0 : s;
}

static const char *mem_colour(double share)
{
	int step = (int)(share * NCOLOURS(mem_fill));

	if (step >= NCOLOURS(mem_fill))
		step = NCOLOURS(mem_fill) - 1;
	return mem_fill[step < 0 ? 0 : step];
}

static const char *mem_verdict(const struct n56_memory *m, int pp)
{
	return m->capacity > 0 ? n56_mem_verdict_name(m->rank[pp].verdict)
			       : "unchecked";
}

static bool has_memory(const struct n56_plan *p)
{
	return p->memory && p->memory->rank && p->memory->npp == (int)p->par.pp;
}

static void escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

/* A GPU cell's bar: its pipeline rank's peak against the scale, in the
 * colour of its tenth. */
static void draw_cell_memory(FILE *f, int x, int y, int w,
			     const struct n56_memory *m, long rank, int pp)
{
	double share = mem_share(m, pp);

	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"#fff\" stroke=\"#666\" stroke-width=\"0.5\"/>\n"
		"<rect class=\"mem\" x=\"%d\" y=\"%d\" width=\"%.2f\" "
		"height=\"%d\" fill=\"%s\"><title>memory: rank %ld, "
		"pipeline rank %d: %.1f GB, %.0f%% of %.1f GB (%s)"
		"</title></rect>\n",
		x, y, w, MEM_BAR_H, x, y, w * (share < 1 ? share : 1),
		MEM_BAR_H, mem_colour(share), rank, pp, m->rank[pp].total / GB,
		100 * share, mem_scale(m) / GB,
		m->capacity > 0 ? "the capacity" : "the largest rank");
}

/* The placement grid; returns its height. */
static int draw_placement(FILE *f, int y0, const struct n56_plan *p,
			  const struct n56_placer *pl,
			  const struct n56_node_shape *shape)
{
	long nodes = p->nodes,
	     shown = nodes < MAX_NODES_DRAWN ? nodes : MAX_NODES_DRAWN;
	int gpus = shape->gpus, y = y0;

	fprintf(f,
		"<text x=\"%d\" y=\"%d\" class=\"h\">Placement: %ld node%s x "
		"%d GPUs (cell: rank, tp rank, pipeline stage; colour: "
		"stage; thick line: NVLink island border%s)</text>\n",
		MARGIN, y + 14, nodes, nodes == 1 ? "" : "s", gpus,
		has_memory(p) ? "; bar: predicted peak GPU memory, scale "
				"below"
			      : "");
	y += 24;
	for (long n = 0; n < shown; n++) {
		int x = MARGIN + LABEL_W;

		fprintf(f, "<text x=\"%d\" y=\"%d\">node %ld</text>\n", MARGIN,
			y + CELL_H / 2 + 4, n);
		for (int g = 0; g < gpus; g++) {
			long rank = n56_rank_on_gpu(pl, n, g);
			struct n56_rank_place rp;
			const char *fill = "#eeeeee";

			if (rank >= 0) {
				n56_place_rank(pl, rank, &rp);
				fill = stage_fill[rp.pp % NCOLOURS(stage_fill)];
			}
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%d\" "
				"height=\"%d\" fill=\"%s\" stroke=\"#666\"/>\n",
				x, y, CELL_W - 4, CELL_H, fill);
			if (rank >= 0)
				fprintf(f,
					"<text x=\"%d\" y=\"%d\" class=\"c\">"
					"r%ld</text>\n<text x=\"%d\" y=\"%d\" "
					"class=\"c\">tp%ld pp%ld</text>\n",
					x + 4, y + 15, rank, x + 4, y + 31,
					rp.tp, rp.pp);
			if (rank >= 0 && has_memory(p))
				draw_cell_memory(f, x + 4, y + CELL_H - 11,
						 CELL_W - 12, p->memory, rank,
						 (int)rp.pp);
			if (g > 0 &&
			    shape->island_of[g] != shape->island_of[g - 1])
				fprintf(f,
					"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
					"y2=\"%d\" stroke=\"#000\" "
					"stroke-width=\"3\"/>\n",
					x - 3, y - 2, x - 3, y + CELL_H + 2);
			x += CELL_W;
		}
		y += CELL_H + 6;
	}
	if (shown < nodes) {
		fprintf(f,
			"<text x=\"%d\" y=\"%d\">... %ld more nodes</text>\n",
			MARGIN + LABEL_W, y + 12, nodes - shown);
		y += 20;
	}
	return y - y0;
}

static int memory_height(const struct n56_plan *p)
{
	return has_memory(p) ? 24 + (int)p->par.pp * ROW_H + 20 + 40 + 10 : 0;
}

/* One bar per pipeline rank: its predicted peak (the figures of plan's
 * memory table) against the capacity and its limit, or with no capacity
 * against the largest rank; then the colour scale with its GB figures.
 * Returns its height (memory_height). */
static int draw_memory(FILE *f, int y0, const struct n56_plan *p)
{
	const struct n56_memory *m = p->memory;
	int x0 = MARGIN + LABEL_W, y = y0, pp = (int)p->par.pp;
	double scale = mem_scale(m);
	int rows_top;

	if (m->capacity > 0)
		fprintf(f,
			"<text x=\"%d\" y=\"%d\" class=\"h\">GPU memory: "
			"predicted peak per pipeline rank against the %.1f GB "
			"capacity (%s%s%s), limit %.1f GB (%.0f%% headroom)"
			"</text>\n",
			MARGIN, y + 14, m->capacity / GB, m->capacity_source,
			m->capacity_partition ? " " : "",
			m->capacity_partition ? m->capacity_partition : "",
			m->limit / GB, m->headroom * 100);
	else
		fprintf(f,
			"<text x=\"%d\" y=\"%d\" class=\"h\">GPU memory: "
			"predicted peak per pipeline rank relative to the "
			"largest rank, %.1f GB (capacity unknown: set "
			"memory.gpu_memory_gb to check the fit)</text>\n",
			MARGIN, y + 14, scale / GB);
	y += 24;
	rows_top = y;
	for (int r = 0; r < pp; r++) {
		const struct n56_mem_rank *x = &m->rank[r];
		double share = mem_share(m, r);
		int big = 0;

		for (int t = 1; t < N56_MEM_NTERMS; t++)
			if (x->term[t] > x->term[big])
				big = t;
		fprintf(f,
			"<text x=\"%d\" y=\"%d\">rank %d</text>\n<rect "
			"x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"#f0f0f0\"/>\n<rect class=\"memrow\" "
			"x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
			"fill=\"%s\"><title>memory: pipeline rank %d: %.1f "
			"GB, %.0f%% of %.1f GB (%s)</title></rect>\n<text "
			"x=\"%d\" y=\"%d\">%.1f GB, %.0f%% of %.1f GB, %s; "
			"largest term: %s %.1f GB</text>\n",
			MARGIN, y + ROW_H / 2 + 4, r, x0, y, MEM_ROW_W,
			ROW_H - 6, x0, y, MEM_ROW_W * (share < 1 ? share : 1),
			ROW_H - 6, mem_colour(share), r, x->total / GB,
			100 * share, scale / GB,
			m->capacity > 0 ? "the capacity" : "the largest rank",
			x0 + MEM_ROW_W + 8, y + ROW_H / 2 + 4, x->total / GB,
			100 * share, scale / GB, mem_verdict(m, r),
			n56_mem_term_name(big), x->term[big] / GB);
		y += ROW_H;
	}
	if (m->capacity > 0) { /* the limit across the bars */
		double lx = x0 + MEM_ROW_W * m->limit / m->capacity;

		fprintf(f,
			"<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" "
			"y2=\"%d\" stroke=\"#000\" stroke-dasharray=\"4,3\"/>\n"
			"<text x=\"%.2f\" y=\"%d\" class=\"c\">limit "
			"%.1f GB</text>\n",
			lx, rows_top - 2, lx, y - 4, lx - 60, y + 10,
			m->limit / GB);
	}
	y += 20;
	/* the scale: a tenth each, with its GB */
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" class=\"c\">colour and length of "
		"the bars: the predicted peak in steps of 10%% of %s, %.1f GB"
		"</text>\n",
		x0, y + 11,
		m->capacity > 0 ? "the GPU's capacity" : "the largest rank",
		scale / GB);
	for (int k = 0; k < NCOLOURS(mem_fill); k++) {
		int x = x0 + k * MEM_STEP_W;
		double lo = scale * k / NCOLOURS(mem_fill) / GB;
		double hi = scale * (k + 1) / NCOLOURS(mem_fill) / GB;

		fprintf(f,
			"<rect class=\"memscale\" x=\"%d\" y=\"%d\" "
			"width=\"14\" height=\"14\" fill=\"%s\"/><text "
			"x=\"%d\" y=\"%d\" class=\"c\">%.*f-%.*f GB</text>\n",
			x, y + 18, mem_fill[k], x + 17, y + 29,
			lo >= 100 ? 0 : 1, lo, hi >= 100 ? 0 : 1, hi);
	}
	y += 40 + 10;
	return y - y0;
}

static int draw_schedule(FILE *f, int y0, const struct n56_plan *p,
			 const struct n56_sched_result *res)
{
	const struct n56_layout_schedule *s = &p->layout.sched;
	int pp = (int)p->par.pp, y = y0, x0 = MARGIN + LABEL_W;
	double span = WIDTH - x0 - MARGIN, t = res->time;

	fprintf(f,
		"<text x=\"%d\" y=\"%d\" class=\"h\">One iteration: %ld "
		"microbatches, %.4g s simulated, %.3fx the ideal, bubble "
		"%.1f%% (light: forward, dark: backward, colour: chunk, "
		"number: microbatch, grey: idle)</text>\n",
		MARGIN, y + 14, s->microbatches, t, t / s->ideal_s,
		100 * (1 - s->ideal_s / t));
	y += 24;
	for (int r = 0; r < pp; r++) {
		fprintf(f,
			"<text x=\"%d\" y=\"%d\">rank %d</text>\n<rect x=\"%d\" "
			"y=\"%d\" width=\"%.1f\" height=\"%d\" "
			"fill=\"#d9d9d9\"/>\n",
			MARGIN, y + ROW_H / 2 + 4, r, x0, y, span, ROW_H - 4);
		for (size_t i = 0; i < res->nops; i++) {
			const struct n56_sched_op *o = &res->ops[i];
			double x, w;

			if (o->rank != r)
				continue;
			x = x0 + span * o->start / t;
			w = span * (o->end - o->start) / t;
			fprintf(f,
				"<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
				"height=\"%d\" fill=\"%s\" stroke=\"#fff\" "
				"stroke-width=\"0.5\"><title>%s mb %ld chunk "
				"%d: %.4g-%.4g s</title></rect>\n",
				x, y, w > 0.3 ? w : 0.3, ROW_H - 4,
				(o->backward ? bwd_fill
					     : fwd_fill)[o->chunk %
							 NCOLOURS(fwd_fill)],
				o->backward ? "backward" : "forward", o->mb,
				o->chunk, o->start, o->end);
			if (w >= 14)
				fprintf(f,
					"<text x=\"%.2f\" y=\"%d\" class=\"%s\">"
					"%ld</text>\n",
					x + w / 2, y + ROW_H / 2 + 2,
					o->backward ? "ob" : "of", o->mb);
		}
		y += ROW_H;
	}
	/* the time axis */
	for (int k = 0; k <= 4; k++)
		fprintf(f,
			"<text x=\"%.1f\" y=\"%d\" class=\"c\">%.3g s</text>\n",
			x0 + span * k / 4 - (k == 4 ? 30 : 0), y + 12,
			t * k / 4);
	y += 20;
	/* the chunk colours */
	for (int c = 0; c < p->par.vpp && c < NCOLOURS(fwd_fill); c++) {
		int x = x0 + c * 240;

		fprintf(f,
			"<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" "
			"fill=\"%s\"/><rect x=\"%d\" y=\"%d\" width=\"14\" "
			"height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">"
			"chunk %d forward, backward</text>\n",
			x, y, fwd_fill[c], x + 16, y, bwd_fill[c], x + 36,
			y + 12, c);
	}
	y += 24;
	return y - y0;
}

int n56_plan_svg(FILE *f, const struct n56_plan *p, const struct n56_placer *pl,
		 const struct n56_node_shape *shape, char *err, size_t errlen)
{
	struct n56_sched_result res;
	long nodes = p->nodes < MAX_NODES_DRAWN ? p->nodes : MAX_NODES_DRAWN;
	int height, width = WIDTH, y = MARGIN;
	bool simulated;
	char why[256] = "";

	if (p->layout.sched.simulated &&
	    2 * p->layout.sched.microbatches * p->layout.nstages >
		    MAX_OPS_DRAWN) {
		memset(&res, 0, sizeof(res));
		snprintf(why, sizeof(why),
			 "%ld ops (2 x %ld microbatches x %d chunks), more "
			 "than the %d a picture draws",
			 2 * p->layout.sched.microbatches * p->layout.nstages,
			 p->layout.sched.microbatches, p->layout.nstages,
			 MAX_OPS_DRAWN);
		simulated = false;
	} else {
		simulated = n56_layout_schedule_ops(&p->layout, (int)p->par.pp,
						    (int)p->par.vpp, &res, why,
						    sizeof(why)) == 0;
	}
	/* title, placement (+ "more nodes"), gap, chart or its note */
	height = MARGIN + 46 + 24 + (int)nodes * (CELL_H + 6) +
		 (nodes < p->nodes ? 20 : 0) + 10 + memory_height(p) +
		 (simulated ? 24 + (int)p->par.pp * ROW_H + 20 + 24 : 24) +
		 MARGIN;
	if (CELL_W * shape->gpus + MARGIN * 2 + LABEL_W > width)
		width = CELL_W * shape->gpus + MARGIN * 2 + LABEL_W;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
		"<style>text{font:12px sans-serif;fill:#222}"
		".h{font-weight:bold}.c{font-size:11px}"
		".of{font-size:10px;text-anchor:middle;fill:#000}"
		".ob{font-size:10px;text-anchor:middle;fill:#fff}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
		width, height, width, height);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"h\">nam56r-launch plan: ",
		MARGIN, y + 14);
	escaped(f, p->recipe->path);
	fprintf(f,
		", world %ld = tp %ld x pp %ld x cp %ld x dp %ld, vpp %ld"
		"</text>\n<text x=\"%d\" y=\"%d\" class=\"c\">",
		p->par.world, p->par.tp, p->par.pp, p->par.cp, p->par.dp,
		p->par.vpp, MARGIN, y + 30);
	escaped(f, p->layout.native_pattern);
	fputs("</text>\n", f);
	y += 46;
	y += draw_placement(f, y, p, pl, shape);
	y += 10;
	if (has_memory(p))
		y += draw_memory(f, y, p);
	if (simulated) {
		draw_schedule(f, y, p, &res);
	} else {
		fprintf(f,
			"<text x=\"%d\" y=\"%d\" class=\"h\">Schedule "
			"not drawn: ",
			MARGIN, y + 14);
		escaped(f, why);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	n56_sched_result_free(&res);
	if (ferror(f)) {
		snprintf(err, errlen, "write error");
		return -1;
	}
	return 0;
}
