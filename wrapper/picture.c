/* The picture of the placement in the text plan: one row per node, one cell
 * per GPU in CUDA order, `|` where the NVLink island changes, and in each
 * cell the rank, its TP group and its pipeline stage. People read it to see
 * at a glance that TP groups stay inside islands and stages follow nodes. */
#include <stdio.h>
#include <string.h>

#include "wrapper/picture.h"

/* Stage colours: red, green, yellow, blue, magenta, cyan, then again. */
static const int stage_colour[] = { 31, 32, 33, 34, 35, 36 };

static int digits(long v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static const char *order_name(const struct n56_parallel *par)
{
	return par->pp_before_dp ? "tp-cp-ep-pp-dp" : "tp-cp-ep-dp-pp";
}

static void print_header(FILE *f, const struct n56_node_shape *shape,
			 int label_w, int cell_w, bool domains)
{
	fprintf(f, "%*s  ", label_w, "");
	for (int g = 0; g < shape->gpus; g++) {
		char head[32];

		if (domains)
			snprintf(head, sizeof(head), "GPU %d", g);
		else
			snprintf(head, sizeof(head), "GPU %d i%d", g,
				 shape->island_of[g]);
		if (g > 0)
			fputs(!domains && shape->island_of[g] !=
						      shape->island_of[g - 1]
				      ? " | "
				      : "   ",
			      f);
		fprintf(f, "%-*s", g + 1 < shape->gpus ? cell_w : 0, head);
	}
	fputc('\n', f);
}

int n56_placement_picture(FILE *f, const struct n56_plan *plan,
			  const struct n56_placer *pl,
			  const struct n56_node_shape *shape, bool color,
			  long max_nodes)
{
	const struct n56_parallel *par;
	long nodes, shown, world;
	int gpus, npd, cell_w, label_w;
	bool domains;

	(void)plan; /* everything drawn comes from the placement itself */
	if (!f || !pl || !shape)
		return -1;
	par = n56_placer_parallel(pl);
	nodes = n56_placer_nodes(pl);
	gpus = n56_placer_gpus(pl);
	npd = n56_placer_nodes_per_domain(pl);
	domains = npd > 1;
	world = par->world;
	if (shape->gpus != gpus)
		return -1;
	shown = max_nodes < 0 || max_nodes > nodes ? nodes : max_nodes;

	/* Every cell as wide as the widest "rN tN pN" or header. */
	cell_w = 1 + digits(world - 1) + 2 + digits(world / par->tp - 1) + 2 +
		 digits(par->pp - 1);
	if (cell_w < 6 + digits(gpus - 1) + digits(shape->nislands))
		cell_w = 6 + digits(gpus - 1) + digits(shape->nislands);
	label_w = 5 + digits(nodes > 0 ? nodes - 1 : 0);

	fprintf(f,
		"placement: %ld node%s x %d GPU%s, tp %ld cp %ld ep %ld "
		"etp %ld dp %ld pp %ld, order %s\n",
		nodes, nodes == 1 ? "" : "s", gpus, gpus == 1 ? "" : "s",
		par->tp, par->cp, par->ep, par->etp, par->dp, par->pp,
		order_name(par));
	print_header(f, shape, label_w, cell_w, domains);
	for (long n = 0; n < shown; n++) {
		if (domains && n % npd == 0)
			fprintf(f,
				"%*s  -- NVLink domain %ld (nodes %ld-%ld)\n",
				label_w, "", n / npd, n,
				(n / npd + 1) * npd - 1 < nodes - 1
					? (n / npd + 1) * npd - 1
					: nodes - 1);
		fprintf(f, "node %*ld  ", label_w - 5, n);
		for (int g = 0; g < gpus; g++) {
			struct n56_rank_place p;
			char cell[64];
			int len;

			n56_place_rank(pl, n56_rank_on_gpu(pl, n, g), &p);
			if (g > 0)
				fputs(!domains && shape->island_of[g] !=
							      shape->island_of
								      [g - 1]
					      ? " | "
					      : "   ",
				      f);
			len = snprintf(cell, sizeof(cell), "r%ld t%ld p%ld",
				       p.rank, p.rank / par->tp, p.pp);
			if (color)
				fprintf(f, "\033[%dm%s\033[0m",
					stage_colour
						[p.pp %
						 (long)(sizeof(stage_colour) /
							sizeof(int))],
					cell);
			else
				fputs(cell, f);
			/* Pad outside the colour codes so columns align. */
			if (g + 1 < gpus)
				fprintf(f, "%*s", cell_w - len, "");
		}
		fputc('\n', f);
	}
	if (shown < nodes)
		fprintf(f, "... %ld more node%s\n", nodes - shown,
			nodes - shown == 1 ? "" : "s");
	fprintf(f,
		"legend: rN global rank, tN TP group (ranks N*%ld..), pN "
		"pipeline stage%s",
		par->tp,
		domains ? ""
			: "; iN NVLink island of the GPU, | island "
			  "border");
	if (color)
		fputs("; colour = pipeline stage", f);
	fputc('\n', f);
	if (domains)
		fprintf(f, "islands: every %d nodes form one NVLink domain\n",
			npd);
	else if (shape->assumed)
		fputs("islands: no topology given; all GPUs of a node assumed "
		      "to be one island\n",
		      f);
	else if (shape->degraded)
		fputs("islands: unknown (degraded); one island per GPU\n", f);
	return ferror(f) ? -1 : 0;
}
