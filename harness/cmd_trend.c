/* faultline trend: the nightly history. Reads the results files of many
 * runs and writes one self-contained page with, per scenario, its verdicts,
 * MTTR and leaks across the runs, in run order (run.started). The page has
 * no script: charts are SVG, values show as tooltips through <title>, and
 * the same policy as the report forbids everything else. */
#define _GNU_SOURCE
#include "cli.h"
#include "html.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char trend_usage[] =
	"usage: faultline trend [options] RESULTS... -o FILE\n"
	"\n"
	"Writes an HTML page with each scenario's verdicts, MTTR (mean, p95)\n"
	"and the leak of every figure faultline measures across the given\n"
	"runs, ordered by when they started: the history of nightly runs.\n"
	"RESULTS are results.json files, or report directories holding one.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE      the page to write (required)\n"
	"  --title TEXT           the page's title (default: faultline trend)\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 written, 2 bad usage or an unreadable results file,\n"
	"3 the page could not be written.\n";

#define CW 300
#define CH 120
#define CL 52
#define CR 8
#define CT 18
#define CB 22

static const char css_head[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;"
	"background:#f6f7f9}"
	"header,section{max-width:1100px;margin:0 auto;padding:10px 20px}"
	"h1{font-size:22px;margin:8px 0}h2{font-size:16px;margin:14px 0 4px}"
	"table{border-collapse:collapse;background:#fff;margin:4px 0}"
	"td,th{border:1px solid #d8dce3;padding:2px 7px;text-align:left;"
	"vertical-align:top}th{background:#eef0f4}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	".v{display:inline-block;min-width:48px;text-align:center;"
	"font-weight:600;border-radius:3px;padding:0 4px;color:#fff;"
	"font-size:12px}"
	".v-NONE{background:#c9ced8}"
	".scenario{background:#fff;border:1px solid #d8dce3;border-radius:6px;"
	"margin:14px auto;max-width:1060px}"
	".charts{display:flex;flex-wrap:wrap;gap:8px}"
	".charts svg{width:340px;max-width:100%;background:#fff}"
	"svg text{font-size:10px;fill:#4a5263}svg text.ct{font-size:11px;"
	"font-weight:600;fill:#1d2330}"
	".frame{fill:#fff;stroke:#c9ced8}.grid{stroke:#eceef2}"
	".ln{fill:none;stroke-width:1.6}.l0{stroke:#1565c0}.l1{stroke:#d84315}"
	".p0{fill:#1565c0}.p1{fill:#d84315}"
	".strip rect{stroke:#fff}.sNONE{fill:#e3e6eb}"
	"svg text.t0{fill:#1565c0}svg text.t1{fill:#d84315}"
	/* ... then each verdict's and each figure's colours ... */
	".bad{color:#c62828;font-weight:600}.muted{color:#6b7385}"
	"code{background:#eef0f4;padding:1px 4px;border-radius:3px}";

/* What the page draws of one scenario in one run: a few numbers, kept
 * while the run's document is let go (runs are read one at a time). */
struct point {
	fl_verdict verdict;
	char *name;		/* NULL when the run names it not */
	double mttr[3];		/* mean, p95, max */
	double fired;
	double leak[FL_FIG_COUNT];
};

struct run {
	char path[PATH_MAX];
	char *started, *id, *version;
	double summary[FL_VERDICT_COUNT], exit_status;
	/* Its scenarios, the first of each id, in its order; ids[k] is the
	 * id of points[k]. */
	char **ids;
	struct point *points;
	size_t n;
	/* By scenario number of the page (struct page): NULL when the run
	 * has no such scenario. */
	const struct point **at;
	int order;
};

static void esc(fl_buf *b, const char *s)
{
	fl_escape_xml(b, s);
}

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	int c = strcmp(x->started, y->started);
	if (c)
		return c;
	c = strcmp(x->id, y->id);
	return c ? c : x->order - y->order;
}

/* An axis label for a run: its date, or its time when the runs shown all
 * started on the same day. */
static void run_label(char *out, size_t len, const char *started,
		      const char *other)
{
	if (strlen(started) >= 16 && !strncmp(started, other, 10))
		snprintf(out, len, "%.5s", started + 11);
	else
		snprintf(out, len, "%.10s", started);
}

static double nice_ceiling(double v)
{
	if (!(v > 0))
		return 1;
	double p = pow(10, floor(log10(v)));
	double m = v / p;
	double f = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
	return f * p;
}

enum unit { U_COUNT, U_SECONDS, U_BYTES };

static void fmt_value(char *out, size_t len, double v, enum unit u)
{
	if (v == 0)
		snprintf(out, len, "0");
	else if (u == U_SECONDS)
		fl_fmt_seconds(out, len, v);
	else if (u == U_BYTES)
		fl_fmt_bytes(out, len, v);
	else
		snprintf(out, len, "%g", v);
}

/* A line of a small chart: its name in the key, the suffix of its
 * classes (l0, p0, t0 for "0"; lf-fds... for "f-fds") and a value per
 * run. */
struct line {
	const char *name;
	const char *cls;
	const double *vals;
};

static double chart_top(const struct line *lines, int nlines, int nruns,
			enum unit u)
{
	double mx = 0;
	for (int l = 0; l < nlines; l++)
		for (int r = 0; r < nruns; r++)
			if (!isnan(lines[l].vals[r]) && lines[l].vals[r] > mx)
				mx = lines[l].vals[r];
	double top;
	if (u == U_BYTES) {
		/* Binary units, so the ticks read 8 MiB rather than 7.6 MiB. */
		double unit = mx >= 1048576 ? 1048576 : 1024;
		top = nice_ceiling(mx / unit) * unit;
		if (mx <= 0)
			top = 1048576;
	} else {
		top = nice_ceiling(mx);
	}
	if (u == U_COUNT && top < 1)
		top = 1;
	if (u == U_SECONDS && mx <= 0)
		top = 0.001;
	return top;
}

/* A small chart of a few figures across the runs; a run without the
 * figure (no such scenario, nothing measured) leaves a gap. */
static void small_chart(fl_buf *b, const char *title, const struct run *runs,
			int nruns, const struct line *lines, int nlines, enum unit u)
{
	double top = chart_top(lines, nlines, nruns, u);
	double pw = CW - CL - CR, ph = CH - CT - CB;
#define X(r) (CL + (nruns > 1 ? (double)(r) / (nruns - 1) * pw : pw / 2))
#define Y(v) (CT + ph - (v) / top * ph)
	fl_buf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
		      CW, CH);
	esc(b, title);
	fl_buf_printf(b, "\"><text class=\"ct\" x=\"%d\" y=\"12\">", CL);
	esc(b, title);
	fl_buf_printf(b, "</text><rect class=\"frame\" x=\"%d\" y=\"%d\" "
			 "width=\"%.0f\" height=\"%.0f\"/>",
		      CL, CT, pw, ph);
	for (int q = 0; q <= 2; q++) {
		double v = top * q / 2;
		char lab[32];
		fmt_value(lab, sizeof lab, v, u);
		fl_buf_printf(b,
			      "<line class=\"grid\" x1=\"%d\" x2=\"%.0f\" y1=\"%.1f\" "
			      "y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" "
			      "text-anchor=\"end\">%s</text>",
			      CL, CL + pw, Y(v), Y(v), CL - 3, Y(v) + 3, lab);
	}
	char first[32], last[32];
	run_label(first, sizeof first, runs[0].started, runs[nruns - 1].started);
	run_label(last, sizeof last, runs[nruns - 1].started, runs[0].started);
	fl_buf_printf(b, "<text x=\"%d\" y=\"%d\">", CL, CH - 6);
	esc(b, first);
	fl_buf_puts(b, "</text>");
	if (nruns > 1) {
		fl_buf_printf(b, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"end\">",
			      CL + pw, CH - 6);
		esc(b, last);
		fl_buf_puts(b, "</text>");
	}
	/* The key, top right. */
	for (int l = nlines - 1, x = CW - CR; l >= 0; l--) {
		fl_buf_printf(b, "<text class=\"t%s\" x=\"%d\" y=\"12\" "
				 "text-anchor=\"end\">━ ",
			      lines[l].cls, x);
		esc(b, lines[l].name);
		fl_buf_puts(b, "</text>");
		x -= 12 + 7 * (int)strlen(lines[l].name);
	}
	for (int l = 0; l < nlines; l++) {
		const double *vals = lines[l].vals;
		fl_buf_printf(b, "<path class=\"ln l%s\" d=\"", lines[l].cls);
		int pen = 0;
		for (int r = 0; r < nruns; r++) {
			if (isnan(vals[r])) {
				pen = 0;
				continue;
			}
			fl_buf_printf(b, "%c%.1f %.1f", pen ? 'L' : 'M', X(r),
				      Y(vals[r]));
			pen = 1;
		}
		fl_buf_puts(b, "\"/>");
		for (int r = 0; r < nruns; r++) {
			if (isnan(vals[r]))
				continue;
			char v[32];
			fmt_value(v, sizeof v, vals[r], u);
			fl_buf_printf(b, "<circle class=\"p%s\" cx=\"%.1f\" cy=\"%.1f\" "
					 "r=\"2.5\"><title>",
				      lines[l].cls, X(r), Y(vals[r]));
			esc(b, lines[l].name);
			fl_buf_printf(b, " %s, run ", v);
			esc(b, runs[r].id);
			fl_buf_puts(b, " (");
			esc(b, runs[r].started);
			fl_buf_puts(b, ")</title></circle>");
		}
	}
	fl_buf_puts(b, "</svg>");
#undef X
#undef Y
}

/* One square per run, coloured by the verdict. */
static void verdict_strip(fl_buf *b, const struct run *runs, int nruns,
			  size_t sid)
{
	int w = nruns * 10;
	fl_buf_printf(b, "<svg class=\"strip\" viewBox=\"0 0 %d 12\" width=\"%d\" "
			 "height=\"12\" role=\"img\" aria-label=\"verdicts\">",
		      w, w);
	for (int r = 0; r < nruns; r++) {
		const struct point *s = runs[r].at[sid];
		/* NONE: not run (no verdict class is spelled so). */
		const char *v = s ? fl_verdict_name(s->verdict) : "NONE";
		fl_buf_printf(b, "<rect class=\"s%s\" x=\"%d\" y=\"0\" width=\"10\" "
				 "height=\"12\"><title>",
			      v, r * 10);
		esc(b, s ? v : "not run");
		fl_buf_puts(b, ", run ");
		esc(b, runs[r].id);
		fl_buf_puts(b, " (");
		esc(b, runs[r].started);
		fl_buf_puts(b, ")</title></rect>");
	}
	fl_buf_puts(b, "</svg>");
}

static void cell(fl_buf *b, double v, enum unit u, int bad)
{
	if (isnan(v)) {
		fl_buf_puts(b, "<td class=\"n muted\">–</td>");
		return;
	}
	char t[32];
	fmt_value(t, sizeof t, v, u);
	fl_buf_printf(b, "<td class=\"n%s\">%s</td>", bad ? " bad" : "", t);
}

static double fired(json_t *s)
{
	json_t *j = fl_results_obj(s, "journal");
	if (!isnan(fl_results_num(j, "total")))
		return fl_results_num(j, "total");
	double n = 0;
	const char *k;
	json_t *p;
	json_object_foreach(fl_results_obj(s, "points"), k, p)
		n += fl_results_num(p, "fired");
	return n;
}

/* A figure's leak in a table of runs: counts are bad above 0, sizes are
 * judged by their expectations. */
static void leak_cell(fl_buf *b, enum fl_figure k, double v)
{
	cell(b, v, fl_figures[k].bytes ? U_BYTES : U_COUNT,
	     fl_figures[k].count && v > 0);
}

/* The figures' leak headers: "Leaked fds", then the others' labels. */
static void leak_headers(fl_buf *b)
{
	for (int k = 0; k < FL_FIG_COUNT; k++)
		fl_buf_printf(b, "<th>%s%s</th>", k ? "" : "Leaked ",
			      fl_html_figure_label((enum fl_figure)k));
}

/* Is any run's value a number? An optional figure the scenario never
 * measured gets no line. */
static int any_value(const double *v, int nruns)
{
	for (int r = 0; r < nruns; r++)
		if (!isnan(v[r]))
			return 1;
	return 0;
}

/* MTTR, then every figure's leak: the counts on one chart, each size on
 * its own (their scales differ). */
static void scenario_charts(fl_buf *b, const struct run *runs, int nruns,
			    double *const *v, double *const *leak)
{
	fl_buf_puts(b, "<div class=\"charts\">");
	struct line mttr[2] = {{"mean", "0", v[0]}, {"p95", "1", v[1]}};
	small_chart(b, "MTTR", runs, nruns, mttr, 2, U_SECONDS);
	struct line counts[FL_FIG_COUNT];
	char cls[FL_FIG_COUNT][64];
	int ncounts = 0;
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const fl_figure_def *f = &fl_figures[k];
		snprintf(cls[k], sizeof cls[k], "f-%s", f->key);
		if (f->optional && !any_value(leak[k], nruns))
			continue;
		struct line ln = {fl_html_figure_label(f->id), cls[k], leak[k]};
		if (!f->bytes) {
			counts[ncounts++] = ln;
			continue;
		}
		char title[96];
		snprintf(title, sizeof title, "leaked %s", ln.name);
		small_chart(b, title, runs, nruns, &ln, 1, U_BYTES);
	}
	if (ncounts)
		small_chart(b, "leaked", runs, nruns, counts, ncounts, U_COUNT);
	fl_buf_puts(b, "</div>");
}

/* The name a scenario had in the newest run that has one for it: a
 * scenario renamed, or missing from the latest run, is still shown by
 * its name, never by its file. Its id when no run names it. */
static const char *newest_name(const struct run *runs, int nruns, size_t sid,
			       const char *id)
{
	for (int r = nruns - 1; r >= 0; r--) {
		const struct point *s = runs[r].at[sid];
		if (s && s->name)
			return s->name;
	}
	return id;
}

static void scenario_section(fl_buf *b, const struct run *runs, int nruns,
			     const char *id, size_t sid, int idx)
{
	const char *name = newest_name(runs, nruns, sid, id);
	fl_buf_printf(b, "<section class=\"scenario\" id=\"s%d\"><h2>", idx);
	esc(b, name);
	fl_buf_puts(b, "</h2><p class=\"muted\">");
	esc(b, id);
	fl_buf_puts(b, "</p>");
	verdict_strip(b, runs, nruns, sid);
	/* MTTR mean, p95, max and faults fired; each figure's leak. */
	double *v[4], *leak[FL_FIG_COUNT];
	for (int k = 0; k < 4; k++)
		v[k] = fl_xmalloc((size_t)nruns * sizeof *v[k]);
	for (int k = 0; k < FL_FIG_COUNT; k++)
		leak[k] = fl_xmalloc((size_t)nruns * sizeof *leak[k]);
	for (int r = 0; r < nruns; r++) {
		const struct point *s = runs[r].at[sid];
		for (int k = 0; k < 3; k++)
			v[k][r] = s ? s->mttr[k] : NAN;
		v[3][r] = s ? s->fired : NAN;
		for (int k = 0; k < FL_FIG_COUNT; k++)
			leak[k][r] = s ? s->leak[k] : NAN;
	}
	scenario_charts(b, runs, nruns, v, leak);
	fl_buf_puts(b, "<details><summary>every run</summary><table><tr>"
		       "<th>Started</th><th>Run</th><th>Verdict</th>"
		       "<th>MTTR mean</th><th>p95</th><th>max</th>");
	leak_headers(b);
	fl_buf_puts(b, "<th>Faults fired</th></tr>");
	for (int r = nruns - 1; r >= 0; r--) {
		const struct point *s = runs[r].at[sid];
		fl_buf_puts(b, "<tr><td>");
		esc(b, runs[r].started);
		fl_buf_puts(b, "</td><td>");
		esc(b, runs[r].id);
		fl_buf_puts(b, "</td><td>");
		if (s) {
			const char *vn = fl_verdict_name(s->verdict);
			fl_buf_printf(b, "<span class=\"v v-%s\">%s</span>", vn, vn);
		} else {
			fl_buf_puts(b, "<span class=\"muted\">not run</span>");
		}
		fl_buf_puts(b, "</td>");
		for (int k = 0; k < 3; k++)
			cell(b, v[k][r], U_SECONDS, 0);
		for (int k = 0; k < FL_FIG_COUNT; k++)
			leak_cell(b, (enum fl_figure)k, leak[k][r]);
		cell(b, v[3][r], U_COUNT, 0);
		fl_buf_puts(b, "</tr>");
	}
	fl_buf_puts(b, "</table></details></section>");
	for (int k = 0; k < 4; k++)
		free(v[k]);
	for (int k = 0; k < FL_FIG_COUNT; k++)
		free(leak[k]);
}

/* The page's scenarios: ids[sid], numbered in the order the page shows
 * them. */
struct page {
	const char **ids;
	size_t n;
};

/* Numbers the scenarios: those of the latest run in its order, then any
 * that only older runs have; and points each run's at[] at its own. */
static void number_scenarios(struct page *pg, struct run *runs, int nruns)
{
	json_t *seen = json_object();	/* id -> its number */
	if (!seen)
		fl_out_of_memory();
	size_t cap = 0;
	for (int r = nruns - 1; r >= 0; r--)
		cap += runs[r].n;
	pg->ids = fl_xcalloc(cap + 1, sizeof *pg->ids);
	pg->n = 0;
	for (int r = nruns - 1; r >= 0; r--)
		for (size_t k = 0; k < runs[r].n; k++) {
			const char *id = runs[r].ids[k];
			if (json_object_get(seen, id))
				continue;
			if (json_object_set_new(seen, id, json_integer((json_int_t)pg->n)))
				fl_out_of_memory();
			pg->ids[pg->n++] = id;
		}
	for (int r = 0; r < nruns; r++) {
		runs[r].at = fl_xcalloc(pg->n + 1, sizeof *runs[r].at);
		for (size_t k = 0; k < runs[r].n; k++) {
			json_t *sid = json_object_get(seen, runs[r].ids[k]);
			runs[r].at[json_integer_value(sid)] = &runs[r].points[k];
		}
	}
	json_decref(seen);
}

static int write_page(const char *path, const char *title, struct run *runs,
		      int nruns)
{
	struct page pg;
	number_scenarios(&pg, runs, nruns);
	fl_buf css;
	fl_buf_init(&css);
	fl_buf_puts(&css, css_head);
	fl_html_verdict_css(&css, ".v-%s", "background");
	fl_html_verdict_css(&css, ".s%s", "fill");
	fl_html_figure_css(&css, ".lf-%s", "stroke");
	fl_html_figure_css(&css, ".pf-%s", "fill");
	fl_html_figure_css(&css, "svg text.tf-%s", "fill");
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
			"charset=\"utf-8\">");
	fl_html_csp(&b, css.data, NULL);
	fl_buf_puts(&b, "<meta name=\"viewport\" content=\"width=device-width\">"
			"<title>");
	esc(&b, title);
	fl_buf_printf(&b, "</title><style>%s</style></head><body><header><h1>",
		      css.data);
	fl_buf_free(&css);
	esc(&b, title);
	fl_buf_printf(&b, "</h1><p>%d run%s from ", nruns, nruns == 1 ? "" : "s");
	esc(&b, runs[0].started);
	fl_buf_puts(&b, " to ");
	esc(&b, runs[nruns - 1].started);
	fl_buf_printf(&b, ", %zu scenarios.</p>", pg.n);

	/* The runs, newest first. */
	fl_buf_puts(&b, "<table><tr><th>Started</th><th>Run</th><th>faultline</th>");
	for (int v = 0; v < FL_VERDICT_COUNT; v++) {
		const char *key = fl_verdict_summary_key((fl_verdict)v);
		fl_buf_printf(&b, "<th>%c%s</th>", key[0] - 'a' + 'A', key + 1);
	}
	fl_buf_puts(&b, "<th>Exit</th></tr>");
	for (int r = nruns - 1; r >= 0; r--) {
		fl_buf_puts(&b, "<tr><td>");
		esc(&b, runs[r].started);
		fl_buf_puts(&b, "</td><td>");
		esc(&b, runs[r].id);
		fl_buf_puts(&b, "</td><td>");
		esc(&b, runs[r].version);
		fl_buf_puts(&b, "</td>");
		for (int v = 0; v < FL_VERDICT_COUNT; v++) {
			double n = runs[r].summary[v];
			cell(&b, n, U_COUNT, !fl_verdict_good((fl_verdict)v) && n > 0);
		}
		double status = runs[r].exit_status;
		cell(&b, status, U_COUNT, status > 0);
		fl_buf_puts(&b, "</tr>");
	}
	fl_buf_puts(&b, "</table>");

	/* Every scenario on one line: its verdicts and latest figures. */
	fl_buf_puts(&b, "<h2>Scenarios</h2><table><tr><th>Scenario</th>"
			"<th>Verdicts, oldest to newest</th><th>MTTR mean</th>");
	leak_headers(&b);
	fl_buf_puts(&b, "</tr>");
	for (size_t i = 0; i < pg.n; i++) {
		const char *id = pg.ids[i];
		const struct point *last = runs[nruns - 1].at[i];
		fl_buf_printf(&b, "<tr><td><a href=\"#s%zu\">", i);
		esc(&b, newest_name(runs, nruns, i, id));
		fl_buf_puts(&b, "</a><br><span class=\"muted\">");
		esc(&b, id);
		if (!last)
			fl_buf_puts(&b, " · not in the newest run");
		fl_buf_puts(&b, "</span></td><td>");
		verdict_strip(&b, runs, nruns, i);
		fl_buf_puts(&b, "</td>");
		cell(&b, last ? last->mttr[0] : NAN, U_SECONDS, 0);
		for (int k = 0; k < FL_FIG_COUNT; k++)
			leak_cell(&b, (enum fl_figure)k, last ? last->leak[k] : NAN);
		fl_buf_puts(&b, "</tr>");
	}
	fl_buf_puts(&b, "</table></header>");
	for (size_t i = 0; i < pg.n; i++)
		scenario_section(&b, runs, nruns, pg.ids[i], i, (int)i);
	fl_buf_puts(&b, "</body></html>\n");
	int r = fl_write_file_atomic(path, b.data, b.len);
	fl_buf_free(&b);
	free(pg.ids);
	return r;
}

/* Reads a run's results and keeps what the page draws of it; the
 * document itself is let go, so one run's is in memory at a time. 0, or
 * -errno with a sentence in err. */
static int read_run(struct run *run, char *err, size_t errlen)
{
	json_t *doc;
	int r = fl_results_read(run->path, FL_RESULTS_KEEP_FIGURES, &doc, err,
				errlen);
	if (r < 0)
		return r;
	json_t *info = fl_results_obj(doc, "run");
	run->started = fl_xstrdup(fl_results_str(info, "started"));
	run->id = fl_xstrdup(fl_results_str(info, "id"));
	run->version = fl_xstrdup(fl_results_str(doc, "faultline_version"));
	json_t *sum = fl_results_obj(doc, "summary");
	for (int v = 0; v < FL_VERDICT_COUNT; v++)
		run->summary[v] = fl_results_num(sum, fl_verdict_summary_key((fl_verdict)v));
	run->exit_status = fl_results_num(sum, "exit_status");
	size_t n = fl_results_count(doc);
	run->ids = fl_xcalloc(n + 1, sizeof *run->ids);
	run->points = fl_xcalloc(n + 1, sizeof *run->points);
	/* The first scenario of each id stands for it (fl_results_by_id). */
	fl_results_index *ix = fl_results_index_new(doc);
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
	{
		const char *id = fl_results_id(s);
		if (!*id || fl_results_index_get(ix, id) != s)
			continue;
		struct point *p = &run->points[run->n];
		run->ids[run->n++] = fl_xstrdup(id);
		p->verdict = fl_results_verdict(s);
		const char *name = fl_results_str(s, "name");
		p->name = *name ? fl_xstrdup(name) : NULL;
		json_t *m = fl_results_obj(s, "mttr");
		p->mttr[0] = fl_results_num(m, "mean_s");
		p->mttr[1] = fl_results_num(m, "p95_s");
		p->mttr[2] = fl_results_num(m, "max_s");
		p->fired = fired(s);
		json_t *l = fl_results_obj(s, "leaks");
		for (int k = 0; k < FL_FIG_COUNT; k++)
			p->leak[k] = fl_results_num(l, fl_figures[k].key);
	}
	fl_results_index_free(ix);
	json_decref(doc);
	return 0;
}

static void free_run(struct run *run)
{
	free(run->started);
	free(run->id);
	free(run->version);
	for (size_t k = 0; k < run->n; k++) {
		free(run->ids[k]);
		free(run->points[k].name);
	}
	free(run->ids);
	free(run->points);
	free(run->at);
}

int fl_cmd_trend(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"title", required_argument, NULL, 'T'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *title = "faultline trend";
	int quiet = 0, ch;
	optind = 1;
	while ((ch = fl_cli_getopt("trend", argc, argv, "o:qh", longopts)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'T':
			title = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(trend_usage, stdout);
			return FL_EXIT_OK;
		default:
			return FL_EXIT_USAGE;
		}
	}
	if (!out)
		return fl_cli_usage_error("trend", "say where the page goes with "
						   "-o FILE");
	int n = argc - optind;
	if (n < 1)
		return fl_cli_usage_error("trend", "no results file given");
	struct run *runs = fl_xcalloc((size_t)n, sizeof *runs);
	int status = FL_EXIT_OK;
	for (int i = 0; i < n; i++) {
		const char *arg = argv[optind + i];
		fl_results_path(arg, runs[i].path, sizeof runs[i].path);
		char err[PATH_MAX + 256];
		if (read_run(&runs[i], err, sizeof err) < 0) {
			fprintf(stderr, "faultline trend: %s\n", err);
			status = FL_EXIT_USAGE;
			goto done;
		}
		runs[i].order = i;
	}
	qsort(runs, (size_t)n, sizeof *runs, run_cmp);
	int r = write_page(out, title, runs, n);
	if (r < 0) {
		fprintf(stderr, "faultline trend: %s: %s\n", out, strerror(-r));
		status = FL_EXIT_INTERNAL;
	} else if (!quiet) {
		printf("trend of %d run%s from %s to %s: %s\n", n, n == 1 ? "" : "s",
		       runs[0].started, runs[n - 1].started, out);
	}
done:
	for (int i = 0; i < n; i++)
		free_run(&runs[i]);
	free(runs);
	return status;
}
