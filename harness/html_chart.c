/* Charts are SVG drawn from the samples, thinned to one pixel column
 * each: a column keeps its minimum and maximum (a one-sample spike stays
 * visible however long the run), the hover readout reads the same
 * per-column figures from a JSON block, and flat stretches collapse into
 * single path commands, so a minute at 1000 Hz costs no more than a
 * second. Everything that came from a target or a scenario is escaped. */
#define _GNU_SOURCE
#include "html_chart.h"

#include "figures.h"
#include "html.h"
#include "report.h"
#include "results.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chart geometry, in viewBox units; one unit per pixel column at the
 * page's usual width. */
#define CHART_W 880
#define MARGIN_L 72
#define MARGIN_R 8
#define PLOT_W (CHART_W - MARGIN_L - MARGIN_R)
#define PANE_H 84
#define PANE_GAP 26
#define MARGIN_T 16
#define STRIP_HEALTH_H 8
#define STRIP_FIRED_H 18
#define STRIP_GAP 10
#define AXIS_H 18
/* The least height a tolerance band is drawn with: "+1" on an axis that
 * runs to hundreds of fds, or "+0", would otherwise be a sliver no one
 * sees. */
#define BAND_MIN_H 4

/* Every figure of figures.h is charted; an optional one (files) only
 * where the scenario measured it. */
#define NFIG FL_FIG_COUNT

/* ------------------------------------------------------------------ */
/* Numbers in SVG: at most one decimal, none when it is zero. Coordinates
 * are most of a chart's bytes. */
/* A coordinate a results file cannot push outside what llround and a
 * page can take: NaN is 0, the rest is clamped far outside any chart. */
static double sane(double v)
{
	if (!(v == v))
		return 0;
	return v < -1e9 ? -1e9 : v > 1e9 ? 1e9 : v;
}

static void put_coord(fl_buf *b, double v)
{
	long long t = llround(sane(v) * 10);
	if (t < 0) {
		fl_buf_putc(b, '-');
		t = -t;
	}
	if (t % 10)
		fl_buf_printf(b, "%lld.%lld", t / 10, t % 10);
	else
		fl_buf_printf(b, "%lld", t / 10);
}

/* Writes a polyline as path commands, merging horizontal runs and using
 * V for vertical steps. */
struct pathw {
	fl_buf *b;
	int started, pending;
	long long lx, ly, px;	/* in tenths */
};

static void path_cmd(struct pathw *p, char cmd, long long v)
{
	fl_buf_putc(p->b, cmd);
	put_coord(p->b, (double)v / 10);
}

static void path_to(struct pathw *p, double xf, double yf)
{
	long long x = llround(sane(xf) * 10), y = llround(sane(yf) * 10);
	if (!p->started) {
		path_cmd(p, 'M', x);
		fl_buf_putc(p->b, ' ');
		put_coord(p->b, (double)y / 10);
		p->lx = x;
		p->ly = y;
		p->started = 1;
		return;
	}
	if (y == p->ly) {
		p->pending = 1;
		p->px = x;
		return;
	}
	if (p->pending) {
		path_cmd(p, 'H', p->px);
		p->lx = p->px;
		p->pending = 0;
	}
	if (x == p->lx) {
		path_cmd(p, 'V', y);
	} else {
		path_cmd(p, 'L', x);
		fl_buf_putc(p->b, ' ');
		put_coord(p->b, (double)y / 10);
	}
	p->lx = x;
	p->ly = y;
}

static void path_end(struct pathw *p)
{
	if (p->pending)
		path_cmd(p, 'H', p->px);
	p->pending = 0;
}

/* ------------------------------------------------------------------ */
/* Axes. */

/* A step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double range, int want)
{
	if (!(range > 0))
		return 1;
	double raw = range / want;
	double p = pow(10, floor(log10(raw)));
	double m = raw / p;
	double f = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10;
	return f * p > 0 ? f * p : 1;
}

/* Formats v with as many decimals as the step needs. */
static void fmt_tick(char *out, size_t len, double v, double step)
{
	int dec = 0;
	while (dec < 6 && fabs(step * pow(10, dec) - llround(step * pow(10, dec))) > 1e-6)
		dec++;
	snprintf(out, len, "%.*f", dec, v);
}

/* Units for an RSS axis. */
static double byte_unit(double hi, const char **name)
{
	if (hi >= 1024.0 * 1024 * 1024) {
		*name = "GiB";
		return 1024.0 * 1024 * 1024;
	}
	if (hi >= 1024.0 * 1024) {
		*name = "MiB";
		return 1024.0 * 1024;
	}
	if (hi >= 1024) {
		*name = "KiB";
		return 1024;
	}
	*name = "B";
	return 1;
}

/* ------------------------------------------------------------------ */
/* The samples of one run of the target, gathered per pixel column. */

struct column {
	int n;
	double mn[NFIG], mx[NFIG];
	size_t imn[NFIG], imx[NFIG];
	int probes, failed;	/* health probes in this column */
	int fired;		/* faults of the journal's records in it */
};

struct plot {
	size_t n;
	double *t, *v[NFIG];
	double tmax;
	int nfig;		/* the figures charted, in table order */
	enum fl_figure fig[NFIG];
	struct column col[PLOT_W];
	int have_health, have_journal;
	double lo[NFIG], hi[NFIG];
};

static int col_of(const struct plot *p, double t)
{
	/* Clamped as a double: a time a results file makes huge, infinite
	 * or NaN must not reach the conversion to int. */
	double c = floor(t / p->tmax * PLOT_W);
	if (!(c >= 0))
		return 0;
	if (c >= PLOT_W)
		return PLOT_W - 1;
	return (int)c;
}

static double xpos(const struct plot *p, double t)
{
	if (t < 0)
		t = 0;
	if (t > p->tmax)
		t = p->tmax;
	return MARGIN_L + t / p->tmax * PLOT_W;
}

static struct plot *plot_load(json_t *sc, json_t *target, int single_target)
{
	json_t *js = fl_results_obj(target, "series");
	if (!json_is_object(js))
		return NULL;
	struct plot *p = fl_xcalloc(1, sizeof *p);
	json_t *t = fl_results_arr(js, "t");
	p->n = json_array_size(t);
	p->t = fl_xmalloc((p->n + 1) * sizeof *p->t);
	for (int k = 0; k < NFIG; k++)
		p->v[k] = fl_xmalloc((p->n + 1) * sizeof *p->v[k]);
	json_t *arr[NFIG];
	for (int k = 0; k < NFIG; k++) {
		arr[k] = fl_results_arr(js, fl_figures[k].key);
		/* An optional figure is charted when it was sampled. */
		if (!fl_figures[k].optional || (p->n && json_array_size(arr[k]) == p->n))
			p->fig[p->nfig++] = (enum fl_figure)k;
	}
	for (size_t i = 0; i < p->n; i++) {
		p->t[i] = json_number_value(json_array_get(t, i));
		for (int k = 0; k < NFIG; k++)
			p->v[k][i] = json_number_value(json_array_get(arr[k], i));
	}
	p->tmax = p->n ? p->t[p->n - 1] : 0;
	double ext = fl_results_num(fl_results_obj(target, "exit"), "t");
	if (ext > p->tmax)
		p->tmax = ext;
	if (!(p->tmax > 0))
		p->tmax = 1;
	for (size_t i = 0; i < p->n; i++) {
		struct column *c = &p->col[col_of(p, p->t[i])];
		for (int j = 0; j < p->nfig; j++) {
			int k = p->fig[j];
			double v = p->v[k][i];
			if (!c->n || v < c->mn[k]) {
				c->mn[k] = v;
				c->imn[k] = i;
			}
			if (!c->n || v > c->mx[k]) {
				c->mx[k] = v;
				c->imx[k] = i;
			}
		}
		c->n++;
	}
	/* Health probes and fired faults share the clock of the target's
	 * run; with several runs (t:restart) they are not split per run, so
	 * they are drawn only when there is one. */
	if (single_target) {
		json_t *h = fl_results_obj(sc, "health");
		json_t *ht = fl_results_arr(h, "t"), *ok = fl_results_arr(h, "ok");
		size_t i;
		json_t *v;
		json_array_foreach(ht, i, v)
		{
			struct column *c = &p->col[col_of(p, json_number_value(v))];
			c->probes++;
			if (!json_is_true(json_array_get(ok, i)))
				c->failed++;
			p->have_health = 1;
		}
		json_t *recs = fl_results_arr(fl_results_obj(sc, "journal"),
					       "records");
		json_array_foreach(recs, i, v)
		{
			double at = fl_results_num(v, "t");
			if (isnan(at))
				continue;
			/* A run's calls are spread over the columns from its
			 * first to its last. */
			long long count = fl_results_int(v, "count");
			double last = fl_results_num(v, "t_last");
			if (count < 1)
				count = 1;
			if (isnan(last) || last < at)
				last = at;
			int c0 = col_of(p, at), c1 = col_of(p, last);
			long long span = c1 - c0 + 1;
			for (int c = c0; c <= c1; c++)
				p->col[c].fired += (int)(count / span +
							 (c - c0 < count % span));
			p->have_journal = 1;
		}
	}
	return p;
}

static void plot_free(struct plot *p)
{
	if (!p)
		return;
	free(p->t);
	for (int k = 0; k < NFIG; k++)
		free(p->v[k]);
	free(p);
}

/* The tolerance band of figure k around the baseline, as the scenario's
 * steady-state hypothesis writes it ("+2", "±10%", "+8MiB", "-1"). */
static int tolerance_band(json_t *sc, int k, double base, double *lo, double *hi)
{
	const char *tol = fl_results_opt_str(fl_results_obj(sc, "steady"),
					     fl_figures[k].key);
	if (!tol || isnan(base))
		return -1;
	const char *p = tol;
	int up = 1, down = 0;
	if (!strncmp(p, "\xC2\xB1", 2)) {
		down = 1;
		p += 2;
	} else if (!strncmp(p, "+-", 2)) {
		down = 1;
		p += 2;
	} else if (*p == '+') {
		p++;
	} else if (*p == '-') {
		up = 0;
		down = 1;
		p++;
	}
	double v;
	char unit[16] = "";
	if (sscanf(p, "%lf%15s", &v, unit) < 1)
		return -1;
	double amount = v;
	if (unit[0] == '%') {
		amount = base * v / 100.0;
	} else if (fl_figures[k].bytes && unit[0]) {
		char full[48];
		snprintf(full, sizeof full, "%g%s", v, unit);
		if (fl_parse_bytes(full, &amount) < 0)
			return -1;
	}
	*hi = up ? base + amount : base;
	*lo = down ? base - amount : base;
	return 0;
}

/* The value axis of a pane: its range, tick step and unit. */
struct axis {
	double alo, ahi, step;
	double unit;		/* 1, or 1024^n for a size */
	const char *uname;	/* "", "KiB", ... */
	double y1;		/* the pane's bottom */
};

static double axis_y(const struct axis *a, double v)
{
	return a->y1 - (v - a->alo) / (a->ahi - a->alo) * PANE_H;
}

/* An axis that holds lo..hi (the data and the baseline) in round steps. */
static void axis_fit(struct axis *a, double lo, double hi, int bytes, int top)
{
	a->y1 = top + PANE_H;
	a->unit = 1;
	a->uname = "";
	if (!isfinite(lo)) {
		lo = 0;
		hi = 1;
	}
	if (bytes)
		a->unit = byte_unit(hi, &a->uname);
	if (hi - lo < 1e-9)
		hi = lo + (bytes ? a->unit : 2);
	a->step = nice_step((hi - lo) / a->unit, 3) * a->unit;
	if (!bytes && a->step < 1)
		a->step = 1;
	a->alo = floor(lo / a->step) * a->step;
	a->ahi = ceil(hi / a->step) * a->step;
	if (a->ahi - a->alo < a->step)
		a->ahi = a->alo + a->step;
	if (a->alo < 0 && lo >= 0)
		a->alo = 0;
}

/* The grid, one path for the pane: value ticks across, time ticks down
 * (the labels of the time axis are under the last pane); then the value
 * labels. Loops over ticks stop at 20: a step lost in the rounding of a
 * huge value must not spin. */
static void pane_grid(fl_buf *b, const struct plot *p, const struct axis *a,
		      int top)
{
	fl_buf_puts(b, "<path class=\"grid\" d=\"");
	int q = 0;
	for (double v = a->alo; v <= a->ahi + a->step / 2 && q < 20; v += a->step, q++) {
		fl_buf_printf(b, "M%d ", MARGIN_L);
		put_coord(b, axis_y(a, v));
		fl_buf_printf(b, "h%d", PLOT_W);
	}
	double tstep = nice_step(p->tmax, 8);
	q = 0;
	for (double t = tstep; t < p->tmax * (1 - 1e-9) && q < 20; t += tstep, q++) {
		fl_buf_putc(b, 'M');
		put_coord(b, xpos(p, t));
		fl_buf_printf(b, " %.0fv%d", (double)top, PANE_H);
	}
	fl_buf_puts(b, "\"/>");
	q = 0;
	for (double v = a->alo; v <= a->ahi + a->step / 2 && q < 20; v += a->step, q++) {
		char lab[48];
		fmt_tick(lab, sizeof lab, v / a->unit, a->step / a->unit);
		fl_buf_printf(b,
			      "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s%s%s"
			      "</text>",
			      MARGIN_L - 4, axis_y(a, v) + 4, lab,
			      a->uname[0] ? " " : "", a->uname);
	}
}

/* The line, one pixel column at a time: a column with several samples is
 * a vertical stroke from the first of its extremes to the other, in time
 * order, so spikes survive and the shape stays. */
static void pane_line(fl_buf *b, const struct plot *p, int k,
		      const struct axis *a)
{
	fl_buf_printf(b, "<path class=\"line l-%s\" d=\"", fl_figures[k].key);
	struct pathw pw = {.b = b};
	for (int c = 0; c < PLOT_W; c++) {
		const struct column *col = &p->col[c];
		if (!col->n)
			continue;
		double x = MARGIN_L + c + 0.5;
		double first = col->imn[k] <= col->imx[k] ? col->mn[k] : col->mx[k];
		double second = col->imn[k] <= col->imx[k] ? col->mx[k] : col->mn[k];
		path_to(&pw, x, axis_y(a, first));
		if (second != first)
			path_to(&pw, x, axis_y(a, second));
	}
	path_end(&pw);
	fl_buf_puts(b, "\"/>");
}

/* One pane: figure k with its axis, band, baseline and line. */
static void pane(fl_buf *b, const struct plot *p, json_t *sc, int k, int top)
{
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < p->n; i++) {
		lo = fmin(lo, p->v[k][i]);
		hi = fmax(hi, p->v[k][i]);
	}
	json_t *base = fl_results_obj(sc, "baseline");
	double bval = fl_results_num(base, fl_figures[k].key);
	double bfrom = fl_results_num(base, "from");
	if (isnan(bfrom))
		bfrom = 0;
	double band_lo = NAN, band_hi = NAN;
	tolerance_band(sc, k, bval, &band_lo, &band_hi);
	if (!isnan(bval)) {
		lo = fmin(lo, bval);
		hi = fmax(hi, bval);
	}
	/* Show the band's edge when it is near the data; a generous
	 * tolerance far above would flatten the line. */
	if (!isnan(band_hi) && band_hi > hi && band_hi - hi <= (hi - lo) + 2)
		hi = band_hi;
	if (!isnan(band_lo) && band_lo < lo && lo - band_lo <= (hi - lo) + 2)
		lo = band_lo;
	struct axis a;
	axis_fit(&a, lo, hi, fl_figures[k].bytes, top);
	fl_buf_printf(b, "<text class=\"pt\" x=\"%d\" y=\"%.0f\">%s</text>",
		      MARGIN_L, (double)top - 5, fl_figures[k].title);
	fl_buf_printf(b, "<rect class=\"pane\" x=\"%d\" y=\"%.0f\" width=\"%d\" "
			 "height=\"%d\"/>",
		      MARGIN_L, (double)top, PLOT_W, PANE_H);
	if (!isnan(band_lo) && !isnan(band_hi)) {
		double bt = axis_y(&a, fmin(band_hi, a.ahi));
		double bb = axis_y(&a, fmax(band_lo, a.alo));
		double bx = xpos(p, bfrom);
		/* A thin band grows to BAND_MIN_H away from the baseline (both
		 * ways for a band around it), inside the pane. */
		if (bb - bt < BAND_MIN_H) {
			double grow = BAND_MIN_H - (bb - bt);
			int up = band_hi > bval, down = band_lo < bval;
			double share = up && down ? grow / 2 : grow;
			if (up || !down)
				bt -= share;
			if (down)
				bb += share;
			if (bt < top) {
				bb += top - bt;
				bt = top;
			}
			if (bb > a.y1) {
				bt -= bb - a.y1;
				bb = a.y1;
			}
		}
		const char *tol = fl_results_str(fl_results_obj(sc, "steady"),
						  fl_figures[k].key);
		fl_buf_printf(b,
			      "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" "
			      "width=\"%.1f\" height=\"%.1f\"><title>"
			      "steady state: baseline ",
			      bx, bt, MARGIN_L + PLOT_W - bx, bb - bt);
		fl_escape_xml(b, tol);
		fl_buf_puts(b, "</title></rect>");
		/* The tolerance, written above the band, else below it, else
		 * inside it, always inside the pane. */
		double ly = bt - 2 >= top + 10	  ? bt - 2
			    : bb + 10 <= a.y1 - 2 ? bb + 10
						  : top + 10;
		fl_buf_printf(b, "<text class=\"bandlab\" x=\"%d\" y=\"%.1f\" "
				 "text-anchor=\"end\">",
			      MARGIN_L + PLOT_W - 3, ly);
		fl_escape_xml(b, tol);
		fl_buf_puts(b, "</text>");
	}
	pane_grid(b, p, &a, top);
	if (!isnan(bval)) {
		double y = axis_y(&a, bval);
		char lab[48];
		fl_figure_format((enum fl_figure)k, bval, lab, sizeof lab);
		fl_buf_printf(b,
			      "<line class=\"base\" x1=\"%.1f\" x2=\"%d\" y1=\"%.1f\" "
			      "y2=\"%.1f\"><title>baseline %s</title></line>",
			      xpos(p, bfrom), MARGIN_L + PLOT_W, y, y, lab);
	}
	pane_line(b, p, k, &a);
}

/* Fault windows of one chart, merged where they touch at this scale (a
 * scenario with hundreds of short episodes would otherwise draw a rect
 * per window per pixel). */
static void windows(fl_buf *b, const struct plot *p, json_t *sc, int top,
		    int height)
{
	json_t *faults = fl_results_arr(sc, "faults");
	size_t n = json_array_size(faults);
	if (!n)
		return;
	double *on = fl_xmalloc(n * sizeof *on), *off = fl_xmalloc(n * sizeof *off);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *w = json_array_get(faults, i);
		double a = fl_results_num(w, "on"), z = fl_results_num(w, "off");
		if (isnan(a))
			continue;
		if (isnan(z) || z > p->tmax)
			z = p->tmax;
		if (a > p->tmax)
			continue;
		/* Insertion by start time; windows arrive nearly sorted. */
		size_t j = m;
		while (j > 0 && on[j - 1] > a) {
			on[j] = on[j - 1];
			off[j] = off[j - 1];
			j--;
		}
		on[j] = a;
		off[j] = z;
		m++;
	}
	double px_s = p->tmax / PLOT_W;
	for (size_t i = 0; i < m;) {
		double a = on[i], z = off[i];
		size_t j = i + 1;
		while (j < m && on[j] <= z + px_s) {
			z = fmax(z, off[j]);
			j++;
		}
		double xa = xpos(p, a), xz = xpos(p, z);
		fl_buf_printf(b,
			      "<rect class=\"win\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
			      "height=\"%d\"><title>",
			      xa, top, xz - xa < 1 ? 1 : xz - xa, height);
		if (j - i == 1) {
			json_t *w = NULL;
			size_t q;
			json_t *f;
			json_array_foreach(faults, q, f)
				if (fl_results_num(f, "on") == a)
					w = f;
			fl_escape_xml(b, fl_results_str(w, "point"));
			fl_buf_printf(b, " from %.3f s to %.3f s", a, z);
		} else {
			fl_buf_printf(b, "%zu fault windows from %.3f s to %.3f s",
				      j - i, a, z);
		}
		fl_buf_puts(b, "</title></rect>");
		i = j;
	}
	free(on);
	free(off);
}

static void vmarker(fl_buf *b, const char *cls, double x, int top, int height,
		    const char *title)
{
	fl_buf_printf(b,
		      "<line class=\"%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
		      "y2=\"%d\"><title>",
		      cls, x, x, top, top + height);
	fl_escape_xml(b, title);
	fl_buf_puts(b, "</title></line>");
}

/* Appends a run-length list: [count, v1.., count, v1.., ...] where each
 * group is `width` numbers (or nulls) that hold for `count` columns. */
struct rle {
	fl_buf *b;
	int width, count, started;
	double last[2];
	int last_null;
};

static void rle_put(fl_buf *b, double v, int is_null)
{
	if (is_null)
		fl_buf_puts(b, "null");
	else
		fl_buf_printf(b, "%.10g", v);
}

static void rle_flush(struct rle *r)
{
	if (!r->count)
		return;
	fl_buf_printf(r->b, "%s%d", r->started ? "," : "", r->count);
	for (int w = 0; w < r->width; w++) {
		fl_buf_putc(r->b, ',');
		rle_put(r->b, r->last[w], r->last_null);
	}
	r->started = 1;
	r->count = 0;
}

static void rle_add(struct rle *r, const double *v, int is_null)
{
	int same = r->count && is_null == r->last_null;
	for (int w = 0; same && !is_null && w < r->width; w++)
		same = v[w] == r->last[w];
	if (!same) {
		rle_flush(r);
		for (int w = 0; w < r->width; w++)
			r->last[w] = is_null ? 0 : v[w];
		r->last_null = is_null;
	}
	r->count++;
}

/* The figures under the mouse, per pixel column: each figure's minimum
 * and the spread to its maximum (RSS in KiB). A column without a sample
 * holds the figures of the one before (they are step functions), and the
 * columns are run-length coded: a flat minute is one entry. Numbers only,
 * so the block cannot contain markup. */
static void hover_data(fl_buf *b, const struct plot *p, const char *id)
{
	fl_buf_printf(b,
		      "<script type=\"application/json\" id=\"%s\">{\"x0\":%d,"
		      "\"n\":%d,\"tmax\":%.6f",
		      id, MARGIN_L, PLOT_W, p->tmax);
	int first = PLOT_W, last = -1;
	for (int c = 0; c < PLOT_W; c++)
		if (p->col[c].n) {
			if (c < first)
				first = c;
			last = c;
		}
	for (int j = 0; j < p->nfig; j++) {
		int k = p->fig[j];
		double div = fl_figures[k].bytes ? 1024 : 1;
		struct rle r = {.b = b, .width = 2};
		fl_buf_printf(b, ",\"%s\":[", fl_figures[k].short_key);
		double held[2] = {0, 0};
		for (int c = 0; c < PLOT_W; c++) {
			const struct column *col = &p->col[c];
			if (col->n) {
				held[0] = col->mn[k] / div;
				held[1] = (col->mx[k] - col->mn[k]) / div;
			}
			rle_add(&r, held, c < first || c > last);
		}
		rle_flush(&r);
		fl_buf_putc(b, ']');
	}
	for (int q = 0; q < 3; q++) {
		static const char *const counts[3] = {"hp", "hf", "jf"};
		if (q < 2 ? !p->have_health : !p->have_journal)
			continue;
		struct rle r = {.b = b, .width = 1};
		fl_buf_printf(b, ",\"%s\":[", counts[q]);
		for (int c = 0; c < PLOT_W; c++) {
			double v = q == 0   ? p->col[c].probes
				   : q == 1 ? p->col[c].failed
					    : p->col[c].fired;
			rle_add(&r, &v, 0);
		}
		rle_flush(&r);
		fl_buf_putc(b, ']');
	}
	fl_buf_puts(b, "}</script>");
}

/* Markers across every pane: when each episode recovered, or the deadline
 * it missed, and the OOM precursor snapshot. */
static void markers(fl_buf *b, const struct plot *p, json_t *sc, int height,
		    int single_target)
{
	size_t i;
	json_t *e;
	json_array_foreach(fl_results_arr(sc, "episodes"), i, e)
	{
		double at = fl_results_num(e, "recovered_at");
		double off = fl_results_num(e, "off"), within = fl_results_num(e, "within_s");
		char title[160];
		if (!isnan(at)) {
			char d[32];
			fl_html_seconds(d, sizeof d, fl_results_num(e, "recovery_s"));
			snprintf(title, sizeof title, "recovered at %.3f s, %s after "
				 "the fault window", at, d);
			vmarker(b, "rec", xpos(p, at), MARGIN_T, height, title);
		} else if (!strcmp(fl_results_str(e, "state"), "not recovered") &&
			   !isnan(off) && !isnan(within) && off + within <= p->tmax) {
			snprintf(title, sizeof title,
				 "not recovered by %.3f s (within %.2f s of the "
				 "window's end)",
				 off + within, within);
			vmarker(b, "miss", xpos(p, off + within), MARGIN_T, height,
				title);
		}
	}
	json_t *oom = fl_results_obj(sc, "oom_precursor");
	double t = fl_results_num(oom, "t");
	if (oom && !isnan(t) && single_target) {
		char rb[32], title[96];
		fl_fmt_bytes(rb, sizeof rb, fl_results_num(oom, "rss"));
		snprintf(title, sizeof title,
			 "OOM precursor snapshot at %.3f s (RSS %s)", t, rb);
		vmarker(b, "oom", xpos(p, t), MARGIN_T, height, title);
	}
}

/* The labels of the time axis (the panes draw its grid). */
static void time_axis(fl_buf *b, const struct plot *p, int y)
{
	double tstep = nice_step(p->tmax, 8);
	for (int q = 0; q <= 20 && q * tstep <= p->tmax * (1 + 1e-9); q++) {
		double t = q * tstep;
		char lab[32];
		fmt_tick(lab, sizeof lab, t, tstep);
		fl_buf_printf(b,
			      "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
			      "%s s</text>",
			      xpos(p, t), y, lab);
	}
}

/* The health probes under the panes: runs of columns in the same state,
 * one rect each. */
static void health_strip(fl_buf *b, const struct plot *p, int top)
{
	fl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
			 "health</text>",
		      MARGIN_L - 4, top + STRIP_HEALTH_H);
	for (int c = 0; c < PLOT_W;) {
		int state = p->col[c].failed ? 2 : p->col[c].probes ? 1 : 0;
		int d = c + 1;
		while (d < PLOT_W) {
			int s2 = p->col[d].failed ? 2 : p->col[d].probes ? 1 : 0;
			/* Columns without probes continue the run. */
			if (s2 && s2 != state && state)
				break;
			if (!state)
				state = s2;
			d++;
		}
		if (state)
			fl_buf_printf(b,
				      "<rect class=\"%s\" x=\"%d\" y=\"%d\" "
				      "width=\"%d\" height=\"%d\"/>",
				      state == 2 ? "h-bad" : "h-ok", MARGIN_L + c,
				      top, d - c, STRIP_HEALTH_H);
		c = d;
	}
}

/* How many faults fired in each pixel column, as bars. */
static void fired_strip(fl_buf *b, const struct plot *p, int top)
{
	int mx = 1;
	for (int c = 0; c < PLOT_W; c++)
		if (p->col[c].fired > mx)
			mx = p->col[c].fired;
	fl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
			 "fired</text><path class=\"fired\" d=\"",
		      MARGIN_L - 4, top + STRIP_FIRED_H);
	for (int c = 0; c < PLOT_W; c++) {
		if (!p->col[c].fired)
			continue;
		double h = 2 + (STRIP_FIRED_H - 2) * (double)p->col[c].fired / mx;
		fl_buf_printf(b, "M%d.5 %dv", MARGIN_L + c, top + STRIP_FIRED_H);
		put_coord(b, -h);
	}
	fl_buf_printf(b, "\"><title>faults fired per pixel column (at most %d)"
			 "</title></path>",
		      mx);
}

static void legend(fl_buf *b, const struct plot *p, json_t *sc)
{
	fl_buf_puts(b, "<div class=\"legend\"><span><i class=\"k-win\"></i>fault "
		       "window</span><span><i class=\"k-band\"></i>baseline and "
		       "steady-state tolerance");
	/* The tolerances themselves: a band a few pixels high is easy to
	 * miss, its numbers are not. */
	json_t *steady = fl_results_obj(sc, "steady");
	int ntol = 0;
	for (int f = 0; f < p->nfig; f++) {
		int k = (int)p->fig[f];
		const char *tol = fl_results_opt_str(steady, fl_figures[k].key);
		if (!tol)
			continue;
		fl_buf_puts(b, ntol++ ? ", " : " (");
		fl_buf_printf(b, "%s ", fl_figures[k].key);
		fl_escape_xml(b, tol);
	}
	fl_buf_puts(b, ntol ? ")" : "");
	fl_buf_puts(b, "</span><span><i class=\"k-rec\"></i>recovered"
		       "</span><span><i class=\"k-miss\"></i>recovery deadline "
		       "missed</span>");
	if (p->have_health)
		fl_buf_puts(b, "<span><i class=\"k-hbad\"></i>health probe "
			       "failed</span>");
	if (p->have_journal) {
		json_t *j = fl_results_obj(sc, "journal");
		fl_buf_puts(b, "<span><i class=\"k-fired\"></i>faults fired");
		if (fl_results_bool(j, "truncated"))
			fl_buf_printf(b, " (the first %zu records)",
				      json_array_size(fl_results_arr(j, "records")));
		fl_buf_puts(b, "</span>");
	}
	if (fl_results_obj(sc, "oom_precursor"))
		fl_buf_puts(b, "<span><i class=\"k-oom\"></i>OOM precursor"
			       "</span>");
	size_t per_col_max = 0;
	for (int c = 0; c < PLOT_W; c++)
		if ((size_t)p->col[c].n > per_col_max)
			per_col_max = (size_t)p->col[c].n;
	if (per_col_max > 2)
		fl_buf_printf(b, "<span class=\"muted\">%zu samples drawn as the "
				 "minimum and maximum of each pixel column"
				 "</span>",
			      p->n);
	fl_buf_puts(b, "</div>");
}

void fl_html_chart(fl_buf *b, json_t *sc, json_t *target, int idx, int tidx,
		   int single_target)
{
	struct plot *p = plot_load(sc, target, single_target);
	if (!p)
		return;
	/* The panes, then the strips that have something to show, then the
	 * time axis. */
	int panes_bottom = MARGIN_T + p->nfig * PANE_H + (p->nfig - 1) * PANE_GAP;
	int y = panes_bottom;
	int health_top = -1, fired_top = -1;
	if (p->have_health) {
		health_top = y + STRIP_GAP;
		y = health_top + STRIP_HEALTH_H;
	}
	if (p->have_journal) {
		fired_top = y + STRIP_GAP;
		y = fired_top + STRIP_FIRED_H;
	}
	int height = y + AXIS_H;
	char id[64];
	snprintf(id, sizeof id, "d%d-%d", idx, tidx);
	fl_buf_printf(b, "<div class=\"chart\" data-src=\"%s\">", id);
	fl_buf_printf(b,
		      "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
		      "aria-label=\"",
		      CHART_W, height);
	/* "open fds, threads and RSS over time" */
	for (int j = 0; j < p->nfig; j++)
		fl_buf_printf(b, "%s%s", j == 0 ? "" : j == p->nfig - 1 ? " and " : ", ",
			      fl_figures[p->fig[j]].title);
	fl_buf_puts(b, " over time\">");
	for (int j = 0; j < p->nfig; j++)
		pane(b, p, sc, p->fig[j], MARGIN_T + j * (PANE_H + PANE_GAP));
	/* Fault windows and markers span every pane: one time axis. */
	windows(b, p, sc, MARGIN_T, panes_bottom - MARGIN_T);
	markers(b, p, sc, panes_bottom - MARGIN_T, single_target);
	time_axis(b, p, height - 4);
	if (p->have_health)
		health_strip(b, p, health_top);
	if (p->have_journal)
		fired_strip(b, p, fired_top);
	fl_buf_printf(b,
		      "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%d\" "
		      "visibility=\"hidden\"/>",
		      MARGIN_T, y);
	fl_buf_puts(b, "</svg><div class=\"tip\" hidden></div></div>");
	legend(b, p, sc);
	hover_data(b, p, id);
	plot_free(p);
}
