/* The HTML resilience report: one self-contained file (no request leaves
 * it: styles, charts and script are inline, and a Content-Security-Policy
 * forbids anything else). Charts are SVG drawn here, thinned out to one
 * minimum and one maximum per pixel column so long runs stay small.
 * Everything that came from a target or a scenario is escaped. */
#define _GNU_SOURCE
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_W 880
#define PANE_H 96
#define PANE_GAP 22
#define MARGIN_L 70
#define MARGIN_R 12
#define MARGIN_T 8

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void esc(fl_buf *b, const char *s)
{
	fl_escape_xml(b, s);
}

static void fmt_bytes(char *out, size_t len, double v)
{
	fl_fmt_bytes(out, len, v);
}

static const char *css =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;"
	"background:#f6f7f9}"
	"header,section{max-width:1100px;margin:0 auto;padding:12px 20px}"
	"h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:18px 0 6px}"
	"h3{font-size:14px;margin:14px 0 4px}"
	"table{border-collapse:collapse;background:#fff;margin:4px 0}"
	"td,th{border:1px solid #d8dce3;padding:3px 7px;text-align:left;"
	"vertical-align:top}th{background:#eef0f4;cursor:default}"
	"th.sortable{cursor:pointer}td.n{text-align:right;font-variant-numeric:"
	"tabular-nums}"
	".v{display:inline-block;min-width:52px;text-align:center;"
	"font-weight:600;border-radius:3px;padding:0 5px;color:#fff}"
	".v-PASS{background:#2e7d32}.v-FAIL{background:#c62828}"
	".v-ERROR{background:#6a1b9a}.v-XFAIL{background:#5d7a8c}"
	".v-XPASS{background:#e65100}.v-FLAKY{background:#b8860b}"
	".scenario{background:#fff;border:1px solid #d8dce3;border-radius:6px;"
	"margin:14px auto}"
	".msg{font-weight:600;white-space:pre-wrap}"
	"pre{background:#1d2330;color:#e8eaf0;padding:8px;overflow:auto;"
	"max-height:320px;white-space:pre-wrap;word-break:break-all}"
	"code{background:#eef0f4;padding:1px 4px;border-radius:3px}"
	".ok{color:#2e7d32}.bad{color:#c62828;font-weight:600}"
	".chart{position:relative}.tip{position:absolute;pointer-events:none;"
	"background:#1d2330;color:#fff;padding:3px 6px;border-radius:3px;"
	"font-size:12px;display:none;white-space:pre}"
	"svg text{font-size:11px;fill:#4a5263}.grid{stroke:#e3e6eb}"
	".win{fill:#ff7043;fill-opacity:.16}.band{fill:#43a047;"
	"fill-opacity:.12}.base{stroke:#43a047;stroke-dasharray:4 3}"
	".rec{stroke:#1565c0;stroke-dasharray:2 2}"
	".line{fill:none;stroke-width:1.4}"
	".l-fds{stroke:#d84315}.l-threads{stroke:#6a1b9a}.l-rss{stroke:#1565c0}"
	"#filter{padding:4px 8px;width:280px;margin:6px 0}"
	".muted{color:#6b7385}";

/* Inline script: sorting and filtering of the table, and values under the
 * mouse on the charts. It reads only data embedded in this file. */
static const char *script =
	"(function(){"
	"var t=document.getElementById('sc');"
	"if(t){var hs=t.querySelectorAll('th.sortable');"
	"hs.forEach(function(h,i){h.addEventListener('click',function(){"
	"var rows=Array.prototype.slice.call(t.tBodies[0].rows);"
	"var k=h.cellIndex,asc=h.dataset.asc!=='1';h.dataset.asc=asc?'1':'0';"
	"rows.sort(function(a,b){var x=a.cells[k].dataset.s,y=b.cells[k].dataset.s;"
	"var nx=parseFloat(x),ny=parseFloat(y);"
	"var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));"
	"return asc?c:-c;});"
	"rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});"
	"var f=document.getElementById('filter');"
	"if(f)f.addEventListener('input',function(){var q=f.value.toLowerCase();"
	"Array.prototype.forEach.call(t.tBodies[0].rows,function(r){"
	"r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});});}"
	"document.querySelectorAll('.chart').forEach(function(c){"
	"var d=JSON.parse(document.getElementById(c.dataset.src).textContent);"
	"var svg=c.querySelector('svg'),tip=c.querySelector('.tip');"
	"var x0=+c.dataset.x0,x1=+c.dataset.x1,tmax=+c.dataset.tmax;"
	"svg.addEventListener('mousemove',function(e){"
	"var r=svg.getBoundingClientRect();var px=(e.clientX-r.left)*"
	"(svg.viewBox.baseVal.width/r.width);"
	"if(px<x0||px>x1||!d.t.length){tip.style.display='none';return;}"
	"var tt=(px-x0)/(x1-x0)*tmax,lo=0,hi=d.t.length-1;"
	"while(lo<hi){var m=(lo+hi)>>1;if(d.t[m]<tt)lo=m+1;else hi=m;}"
	"var i=lo;tip.textContent='t='+d.t[i].toFixed(3)+' s\\nfds '+d.fds[i]+"
	"'\\nthreads '+d.threads[i]+'\\nRSS '+(d.rss[i]/1048576).toFixed(2)+' MiB';"
	"tip.style.display='block';tip.style.left=(e.clientX-r.left+12)+'px';"
	"tip.style.top=(e.clientY-r.top+8)+'px';});"
	"svg.addEventListener('mouseleave',function(){tip.style.display='none';});"
	"});})();";

struct series {
	size_t n;
	double *t;
	double *v[3];	/* fds, threads, rss */
};

static void series_load(json_t *js, struct series *s)
{
	memset(s, 0, sizeof *s);
	json_t *t = json_object_get(js, "t");
	s->n = json_array_size(t);
	s->t = fl_xmalloc((s->n + 1) * sizeof *s->t);
	static const char *const keys[3] = {"fds", "threads", "rss"};
	for (int k = 0; k < 3; k++)
		s->v[k] = fl_xmalloc((s->n + 1) * sizeof *s->v[k]);
	for (size_t i = 0; i < s->n; i++) {
		s->t[i] = json_number_value(json_array_get(t, i));
		for (int k = 0; k < 3; k++)
			s->v[k][i] = json_number_value(
				json_array_get(json_object_get(js, keys[k]), i));
	}
}

static void series_free(struct series *s)
{
	free(s->t);
	for (int k = 0; k < 3; k++)
		free(s->v[k]);
}

static void axis_label(char *out, size_t len, double v, int k)
{
	if (k == 2)
		fmt_bytes(out, len, v);
	else
		snprintf(out, len, "%g", v);
}

/* Draws one pane: figure k over time, with windows, baseline band and
 * recovery markers. */
static void pane(fl_buf *b, const struct series *s, int k, double tmax,
		 int top, json_t *sc)
{
	static const char *const names[3] = {"fds", "threads", "rss"};
	static const char *const titles[3] = {"open fds", "threads", "RSS"};
	double x0 = MARGIN_L, x1 = CHART_W - MARGIN_R;
	double y0 = top, y1 = top + PANE_H;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[k][i] < lo)
			lo = s->v[k][i];
		if (s->v[k][i] > hi)
			hi = s->v[k][i];
	}
	json_t *base = json_object_get(sc, "baseline");
	double bval = json_is_object(base) ? num(base, names[k]) : NAN;
	/* The tolerance band, as the steady-state hypothesis states it. */
	const char *tol = json_string_value(
		json_object_get(json_object_get(sc, "steady"), names[k]));
	double band_lo = NAN, band_hi = NAN;
	if (!isnan(bval) && tol) {
		double v;
		char unit[16] = "";
		const char *p = tol;
		int up = 1, down = 0;
		if (!strncmp(p, "±", strlen("±"))) {
			down = 1;
			p += strlen("±");
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
		if (sscanf(p, "%lf%15s", &v, unit) >= 1) {
			double amount = v;
			if (unit[0] == '%')
				amount = bval * v / 100.0;
			else if (k == 2 && unit[0]) {
				double bytes;
				char full[48];
				snprintf(full, sizeof full, "%g%s", v, unit);
				if (fl_parse_bytes(full, &bytes) == 0)
					amount = bytes;
			}
			band_hi = up ? bval + amount : bval;
			band_lo = down ? bval - amount : bval;
		}
	}
	if (!isnan(bval)) {
		if (bval < lo)
			lo = bval;
		if (bval > hi)
			hi = bval;
	}
	if (!isnan(band_hi) && band_hi > hi && band_hi - bval < (hi - lo + 1) * 2)
		hi = band_hi;
	if (!isfinite(lo)) {
		lo = 0;
		hi = 1;
	}
	if (hi - lo < 1e-9) {
		hi += k == 2 ? 1048576 : 1;
		lo -= k == 2 ? 0 : 1;
		if (lo < 0)
			lo = 0;
	}
	double pad = (hi - lo) * 0.08;
	hi += pad;
	lo = lo - pad < 0 && lo >= 0 ? 0 : lo - pad;
#define X(t) (x0 + ((t) / (tmax > 0 ? tmax : 1)) * (x1 - x0))
#define Y(v) (y1 - (((v)-lo) / (hi - lo)) * (y1 - y0))
	char l1[32], l2[32];
	axis_label(l1, sizeof l1, hi, k);
	axis_label(l2, sizeof l2, lo, k);
	fl_buf_printf(b,
		      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
		      "fill=\"#fff\" stroke=\"#d8dce3\"/>",
		      x0, y0, x1 - x0, PANE_H);
	fl_buf_printf(b, "<text x=\"4\" y=\"%.1f\">%s</text>", y0 + 12,
		      titles[k]);
	fl_buf_printf(b, "<text x=\"4\" y=\"%.1f\">", y0 + 26);
	esc(b, l1);
	fl_buf_printf(b, "</text><text x=\"4\" y=\"%.1f\">", y1 - 2);
	esc(b, l2);
	fl_buf_puts(b, "</text>");
	/* Fault windows. */
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(sc, "faults"), i, w)
	{
		double on = num(w, "on"), off = num(w, "off");
		if (isnan(off))
			off = tmax;
		fl_buf_printf(b,
			      "<rect class=\"win\" x=\"%.1f\" y=\"%.1f\" "
			      "width=\"%.1f\" height=\"%d\"><title>",
			      X(on), y0, X(off) - X(on) < 1 ? 1 : X(off) - X(on),
			      PANE_H);
		esc(b, str(w, "point"));
		fl_buf_printf(b, " %.2f s to %.2f s</title></rect>", on, off);
	}
	if (!isnan(band_lo) && !isnan(band_hi)) {
		double bt = Y(band_hi < hi ? band_hi : hi);
		double bb = Y(band_lo > lo ? band_lo : lo);
		if (bb > bt)
			fl_buf_printf(b,
				      "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" "
				      "width=\"%.1f\" height=\"%.1f\"/>",
				      x0, bt, x1 - x0, bb - bt);
	}
	if (!isnan(bval))
		fl_buf_printf(b,
			      "<line class=\"base\" x1=\"%.1f\" x2=\"%.1f\" "
			      "y1=\"%.1f\" y2=\"%.1f\"><title>baseline</title>"
			      "</line>",
			      x0, x1, Y(bval), Y(bval));
	json_t *e;
	json_array_foreach(json_object_get(sc, "episodes"), i, e)
	{
		double at = num(e, "recovered_at");
		if (isnan(at))
			continue;
		fl_buf_printf(b,
			      "<line class=\"rec\" x1=\"%.1f\" x2=\"%.1f\" "
			      "y1=\"%.1f\" y2=\"%.1f\"><title>recovered after "
			      "%.3f s</title></line>",
			      X(at), X(at), y0, y1, num(e, "recovery_s"));
	}
	/* The series: per pixel column its minimum and maximum. */
	fl_buf_printf(b, "<polyline class=\"line l-%s\" points=\"", names[k]);
	int cols = (int)(x1 - x0);
	size_t j = 0;
	for (int c = 0; c <= cols && j < s->n; c++) {
		double tcol = (double)(c + 1) / cols * tmax;
		double mn = INFINITY, mx = -INFINITY;
		size_t first = j;
		while (j < s->n && (s->t[j] <= tcol || c == cols)) {
			if (s->v[k][j] < mn)
				mn = s->v[k][j];
			if (s->v[k][j] > mx)
				mx = s->v[k][j];
			j++;
		}
		if (j == first)
			continue;
		double x = X(s->t[first]);
		/* Draw in time order: the first value's side first. */
		if (s->v[k][first] >= mx - 1e-9 && mx != mn)
			fl_buf_printf(b, "%.1f,%.1f %.1f,%.1f ", x, Y(mx), x,
				      Y(mn));
		else if (mx != mn)
			fl_buf_printf(b, "%.1f,%.1f %.1f,%.1f ", x, Y(mn), x,
				      Y(mx));
		else
			fl_buf_printf(b, "%.1f,%.1f ", x, Y(mn));
	}
	fl_buf_puts(b, "\"/>");
#undef X
#undef Y
}

static void chart(fl_buf *b, json_t *sc, json_t *target, int idx, int tidx)
{
	json_t *js = json_object_get(target, "series");
	if (!json_is_object(js))
		return;
	struct series s;
	series_load(js, &s);
	double tmax = s.n ? s.t[s.n - 1] : 1;
	json_t *ex = json_object_get(target, "exit");
	if (json_is_number(json_object_get(ex, "t")) && num(ex, "t") > tmax)
		tmax = num(ex, "t");
	if (tmax <= 0)
		tmax = 1;
	int height = MARGIN_T + 3 * PANE_H + 2 * PANE_GAP + 24;
	char id[64];
	snprintf(id, sizeof id, "d%d-%d", idx, tidx);
	fl_buf_printf(b,
		      "<div class=\"chart\" data-src=\"%s\" data-x0=\"%d\" "
		      "data-x1=\"%d\" data-tmax=\"%.6f\">",
		      id, MARGIN_L, CHART_W - MARGIN_R, tmax);
	fl_buf_printf(b,
		      "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" "
		      "role=\"img\" aria-label=\"fds, threads and RSS over "
		      "time\">",
		      CHART_W, height);
	for (int k = 0; k < 3; k++)
		pane(b, &s, k, tmax, MARGIN_T + k * (PANE_H + PANE_GAP), sc);
	int ybase = MARGIN_T + 3 * PANE_H + 2 * PANE_GAP + 14;
	for (int q = 0; q <= 4; q++) {
		double x = MARGIN_L + (double)q / 4 * (CHART_W - MARGIN_L - MARGIN_R);
		fl_buf_printf(b,
			      "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
			      "%.2f s</text>",
			      x, ybase, tmax * q / 4);
	}
	fl_buf_puts(b, "</svg><div class=\"tip\"></div></div>");
	/* The data for the hover readout, as JSON that cannot close the
	 * script element. */
	char *dump = json_dumps(js, JSON_COMPACT | JSON_ENSURE_ASCII |
					    JSON_REAL_PRECISION(7));
	fl_buf_printf(b, "<script type=\"application/json\" id=\"%s\">", id);
	if (dump)
		fl_escape_script_json(b, dump);
	fl_buf_puts(b, "</script>");
	free(dump);
	series_free(&s);
}

static void cell_num(fl_buf *b, double v, const char *fmt)
{
	if (isnan(v)) {
		fl_buf_puts(b, "<td class=\"n\" data-s=\"-1\">–</td>");
		return;
	}
	char txt[64];
	snprintf(txt, sizeof txt, fmt, v);
	fl_buf_printf(b, "<td class=\"n\" data-s=\"%.9g\">%s</td>", v, txt);
}

static double fired_total(json_t *sc)
{
	double n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(sc, "points"), k, v)
		n += num(v, "fired");
	return n;
}

static void summary_table(fl_buf *b, json_t *doc)
{
	json_t *sc = json_object_get(doc, "scenarios");
	fl_buf_puts(b, "<section><h2>Scenarios</h2><input id=\"filter\" "
		       "placeholder=\"filter by name, verdict, file…\">"
		       "<table id=\"sc\"><thead><tr>");
	static const char *const cols[] = {
		"Verdict", "Scenario",	 "MTTR mean", "MTTR p95", "MTTR max",
		"Leaked fds", "Leaked threads", "Leaked RSS", "Faults fired",
		"Time"};
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
		fl_buf_printf(b, "<th class=\"sortable\">%s</th>", cols[i]);
	fl_buf_puts(b, "</tr></thead><tbody>");
	size_t i;
	json_t *s;
	json_array_foreach(sc, i, s)
	{
		const char *v = str(s, "verdict");
		fl_buf_printf(b,
			      "<tr><td data-s=\"%s\"><span class=\"v v-%s\">%s"
			      "</span></td><td data-s=\"",
			      v, v, v);
		esc(b, str(s, "name"));
		fl_buf_printf(b, "\"><a href=\"#s%zu\">", i);
		esc(b, str(s, "name"));
		fl_buf_puts(b, "</a><br><span class=\"muted\">");
		esc(b, str(s, "id"));
		fl_buf_puts(b, "</span></td>");
		json_t *m = json_object_get(s, "mttr");
		cell_num(b, json_is_object(m) ? num(m, "mean_s") : NAN, "%.3f s");
		cell_num(b, json_is_object(m) ? num(m, "p95_s") : NAN, "%.3f s");
		cell_num(b, json_is_object(m) ? num(m, "max_s") : NAN, "%.3f s");
		json_t *l = json_object_get(s, "leaks");
		cell_num(b, json_is_object(l) ? num(l, "fds") : NAN, "%g");
		cell_num(b, json_is_object(l) ? num(l, "threads") : NAN, "%g");
		if (json_is_object(l)) {
			char rb[32];
			fmt_bytes(rb, sizeof rb, num(l, "rss"));
			fl_buf_printf(b, "<td class=\"n\" data-s=\"%.0f\">%s</td>",
				      num(l, "rss"), rb);
		} else {
			cell_num(b, NAN, "%g");
		}
		cell_num(b, fired_total(s), "%g");
		cell_num(b, num(s, "duration_s"), "%.2f s");
		fl_buf_puts(b, "</tr>");
	}
	fl_buf_puts(b, "</tbody></table></section>");
}

static void expectations(fl_buf *b, json_t *s)
{
	json_t *ex = json_object_get(s, "expectations");
	if (!json_array_size(ex))
		return;
	fl_buf_puts(b, "<h3>Expectations</h3><table><tr><th></th><th>What</th>"
		       "<th>Measured</th><th>Allowed</th><th>Message</th>"
		       "<th>Where</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(ex, i, e)
	{
		int ok = json_is_true(json_object_get(e, "ok"));
		fl_buf_printf(b, "<tr><td class=\"%s\">%s</td><td>",
			      ok ? "ok" : "bad", ok ? "✓" : "✗");
		esc(b, str(e, "what"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "measured"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "allowed"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "message"));
		fl_buf_puts(b, "</td><td>");
		esc(b, str(e, "where"));
		fl_buf_puts(b, "</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void episodes(fl_buf *b, json_t *s)
{
	json_t *eps = json_object_get(s, "episodes");
	if (!json_array_size(eps))
		return;
	fl_buf_puts(b, "<h3>Fault windows and recovery</h3><table><tr>"
		       "<th>Points</th><th>On</th><th>Off</th><th>Recovery</th>"
		       "<th>Bound</th><th>Why not</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e)
	{
		fl_buf_puts(b, "<tr><td>");
		esc(b, str(e, "points"));
		fl_buf_printf(b, "</td><td class=\"n\">%.3f s</td>", num(e, "on"));
		if (isnan(num(e, "off")))
			fl_buf_puts(b, "<td>open</td>");
		else
			fl_buf_printf(b, "<td class=\"n\">%.3f s</td>",
				      num(e, "off"));
		if (!isnan(num(e, "recovery_s")))
			fl_buf_printf(b, "<td class=\"n ok\">%.3f s</td>",
				      num(e, "recovery_s"));
		else {
			fl_buf_puts(b, "<td>");
			esc(b, str(e, "state"));
			fl_buf_puts(b, "</td>");
		}
		if (!isnan(num(e, "within_s")))
			fl_buf_printf(b, "<td class=\"n\">%.2f s</td>",
				      num(e, "within_s"));
		else
			fl_buf_puts(b, "<td>–</td>");
		fl_buf_puts(b, "<td>");
		esc(b, str(e, "why"));
		fl_buf_puts(b, "</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void forensics(fl_buf *b, json_t *s)
{
	json_t *f = json_object_get(s, "forensics");
	if (!json_is_object(f))
		return;
	fl_buf_puts(b, "<h3>Leak forensics</h3>");
	if (json_object_get(f, "unavailable")) {
		fl_buf_puts(b, "<p class=\"muted\">");
		esc(b, str(f, "unavailable"));
		fl_buf_puts(b, "</p>");
		return;
	}
	json_t *g = json_object_get(f, "fd_groups");
	fl_buf_printf(b, "<p>fds open at the end that were not at the baseline: "
			 "%lld</p>",
		      (long long)json_integer_value(json_object_get(f, "new_fd_count")));
	size_t i;
	json_t *e;
	if (json_array_size(g)) {
		fl_buf_puts(b, "<table><tr><th>Count</th><th>What</th></tr>");
		json_array_foreach(g, i, e)
		{
			fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td><code>",
				      (long long)json_integer_value(
					      json_object_get(e, "count")));
			esc(b, str(e, "pattern"));
			fl_buf_puts(b, "</code></td></tr>");
		}
		fl_buf_puts(b, "</table>");
		fl_buf_puts(b, "<details><summary>every new fd</summary><pre>");
		json_array_foreach(json_object_get(f, "new_fds"), i, e)
		{
			fl_buf_printf(b, "%5lld  ",
				      (long long)json_integer_value(
					      json_object_get(e, "fd")));
			esc(b, str(e, "target"));
			fl_buf_putc(b, '\n');
		}
		fl_buf_puts(b, "</pre></details>");
	}
	json_t *tg = json_object_get(f, "thread_groups");
	if (json_array_size(tg)) {
		fl_buf_puts(b, "<p>threads that were not there at the baseline:"
			       "</p><table><tr><th>Count</th><th>Threads (where "
			       "blocked)</th></tr>");
		json_array_foreach(tg, i, e)
		{
			fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td><code>",
				      (long long)json_integer_value(
					      json_object_get(e, "count")));
			esc(b, str(e, "pattern"));
			fl_buf_puts(b, "</code></td></tr>");
		}
		fl_buf_puts(b, "</table>");
	}
	json_t *th = json_object_get(f, "threads");
	if (json_array_size(th)) {
		fl_buf_puts(b, "<details><summary>all threads at the end</summary>"
			       "<table><tr><th>tid</th><th>name</th><th>state</th>"
			       "<th>wchan</th><th>syscall</th></tr>");
		json_array_foreach(th, i, e)
		{
			fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td>",
				      (long long)json_integer_value(
					      json_object_get(e, "tid")));
			esc(b, str(e, "name"));
			fl_buf_puts(b, "</td><td>");
			esc(b, str(e, "state"));
			fl_buf_puts(b, "</td><td>");
			esc(b, str(e, "wchan"));
			fl_buf_puts(b, "</td><td>");
			esc(b, str(e, "syscall"));
			fl_buf_puts(b, "</td></tr>");
		}
		fl_buf_puts(b, "</table></details>");
	}
}

static void points(fl_buf *b, json_t *s)
{
	json_t *p = json_object_get(s, "points");
	if (!json_object_size(p))
		return;
	fl_buf_puts(b, "<h3>Fault coverage</h3><table><tr><th>Point</th>"
		       "<th>Calls seen</th><th>Faults fired</th></tr>");
	const char *k;
	json_t *v;
	json_object_foreach(p, k, v)
	{
		double fired = num(v, "fired");
		fl_buf_puts(b, "<tr><td><code>");
		esc(b, k);
		fl_buf_printf(b,
			      "</code></td><td class=\"n\">%.0f</td><td "
			      "class=\"n%s\">%.0f%s</td></tr>",
			      num(v, "calls"), fired == 0 ? " bad" : "", fired,
			      fired == 0 ? " (never fired)" : "");
	}
	fl_buf_puts(b, "</table>");
}

static void target_info(fl_buf *b, json_t *t)
{
	fl_buf_puts(b, "<p class=\"muted\">");
	json_t *argv = json_object_get(t, "argv");
	size_t i;
	json_t *a;
	fl_buf_puts(b, "command: <code>");
	json_array_foreach(argv, i, a)
	{
		if (i)
			fl_buf_putc(b, ' ');
		esc(b, json_string_value(a));
	}
	fl_buf_puts(b, "</code>");
	json_t *ex = json_object_get(t, "exit");
	if (json_is_object(ex)) {
		fl_buf_puts(b, " · ended: ");
		if (json_is_string(json_object_get(ex, "signal")))
			esc(b, str(ex, "signal"));
		else if (json_is_integer(json_object_get(ex, "code")))
			fl_buf_printf(b, "exit %lld",
				      (long long)json_integer_value(
					      json_object_get(ex, "code")));
		if (json_is_string(json_object_get(ex, "stopped_by"))) {
			fl_buf_puts(b, " (stopped by ");
			esc(b, str(ex, "stopped_by"));
			fl_buf_puts(b, ")");
		}
	}
	json_t *fp = json_object_get(t, "footprint");
	if (json_is_object(fp)) {
		fl_buf_printf(b,
			      " · harness footprint subtracted: %lld fd, %lld "
			      "thread (",
			      (long long)json_integer_value(json_object_get(fp, "fds")),
			      (long long)json_integer_value(
				      json_object_get(fp, "threads")));
		esc(b, str(fp, "what"));
		fl_buf_puts(b, ")");
	}
	json_t *sm = json_object_get(t, "sampling");
	if (json_is_object(sm))
		fl_buf_printf(b,
			      " · %lld samples at %.0f Hz, %.1f µs each (%s)",
			      (long long)json_integer_value(
				      json_object_get(sm, "samples")),
			      num(sm, "hz"), num(sm, "mean_cost_us"),
			      str(sm, "fd_method"));
	fl_buf_puts(b, "</p>");
	if (json_is_string(json_object_get(t, "start_error"))) {
		fl_buf_puts(b, "<p class=\"bad\">");
		esc(b, str(t, "start_error"));
		fl_buf_puts(b, "</p>");
	}
}

static void output_tails(fl_buf *b, json_t *t)
{
	json_t *o = json_object_get(t, "output");
	if (!json_is_object(o))
		return;
	static const char *const which[2] = {"stdout", "stderr"};
	for (int k = 0; k < 2; k++) {
		char key[32];
		snprintf(key, sizeof key, "%s_tail", which[k]);
		const char *tail = str(o, key);
		snprintf(key, sizeof key, "%s_bytes", which[k]);
		fl_buf_printf(b,
			      "<details><summary>%s (last %zu of %lld bytes)"
			      "</summary><pre>",
			      which[k], strlen(tail),
			      (long long)json_integer_value(json_object_get(o, key)));
		esc(b, tail);
		fl_buf_puts(b, "</pre></details>");
	}
}

static void scenario_section(fl_buf *b, json_t *s, int idx)
{
	const char *v = str(s, "verdict");
	fl_buf_printf(b, "<section class=\"scenario\" id=\"s%d\"><h2><span "
			 "class=\"v v-%s\">%s</span> ",
		      idx, v, v);
	esc(b, str(s, "name"));
	fl_buf_puts(b, "</h2>");
	if (json_is_string(json_object_get(s, "message"))) {
		fl_buf_puts(b, "<p class=\"msg\">");
		esc(b, str(s, "message"));
		fl_buf_puts(b, "</p>");
	}
	if (json_is_string(json_object_get(s, "description"))) {
		fl_buf_puts(b, "<p>");
		esc(b, str(s, "description"));
		fl_buf_puts(b, "</p>");
	}
	fl_buf_puts(b, "<p class=\"muted\">");
	esc(b, str(s, "id"));
	fl_buf_printf(b, " · seed %lld · %.2f s",
		      (long long)json_integer_value(json_object_get(s, "seed")),
		      num(s, "duration_s"));
	json_t *xf = json_object_get(s, "xfail");
	if (json_is_object(xf)) {
		fl_buf_puts(b, " · expected to fail");
		if (json_is_string(json_object_get(xf, "reason"))) {
			fl_buf_puts(b, ": ");
			esc(b, str(xf, "reason"));
		}
	}
	if (json_is_true(json_object_get(s, "time_based_windows")))
		fl_buf_puts(b, " · fault windows opened on wall-clock time "
			       "(not deterministic)");
	fl_buf_puts(b, "<br>re-run: <code>");
	esc(b, str(s, "rerun"));
	fl_buf_puts(b, "</code></p>");
	json_t *err = json_object_get(s, "error");
	if (json_is_object(err) && json_is_string(json_object_get(err, "traceback"))) {
		fl_buf_puts(b, "<pre>");
		esc(b, str(err, "traceback"));
		fl_buf_puts(b, "</pre>");
	}
	expectations(b, s);
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(s, "targets"), i, t)
	{
		if (json_array_size(json_object_get(s, "targets")) > 1)
			fl_buf_printf(b, "<h3>Target run %zu</h3>", i + 1);
		target_info(b, t);
		chart(b, s, t, idx, (int)i);
	}
	episodes(b, s);
	forensics(b, s);
	points(b, s);
	json_array_foreach(json_object_get(s, "targets"), i, t)
		output_tails(b, t);
	json_t *log = json_object_get(s, "log");
	if (json_array_size(log)) {
		fl_buf_puts(b, "<details><summary>log</summary><pre>");
		json_t *e;
		json_array_foreach(log, i, e)
		{
			fl_buf_printf(b, "%8.3f  ", num(e, "t"));
			esc(b, str(e, "msg"));
			fl_buf_putc(b, '\n');
		}
		fl_buf_puts(b, "</pre></details>");
	}
	fl_buf_puts(b, "</section>");
}

int fl_report_html(json_t *doc, const char *path)
{
	json_t *sum = json_object_get(doc, "summary");
	json_t *run = json_object_get(doc, "run");
	fl_buf b;
	fl_buf_init(&b);
	long long passed = json_integer_value(json_object_get(sum, "passed"));
	long long failed = json_integer_value(json_object_get(sum, "failed"));
	fl_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
			"charset=\"utf-8\"><meta http-equiv=\"Content-Security-"
			"Policy\" content=\"default-src 'none'; style-src "
			"'unsafe-inline'; script-src 'unsafe-inline'; img-src "
			"data:\"><meta name=\"viewport\" content=\"width=device-"
			"width\"><title>");
	fl_buf_printf(&b, "faultline: %lld passed, %lld failed</title><style>%s"
			  "</style></head><body><header><h1>faultline "
			  "resilience report</h1><p>",
		      passed, failed, css);
	static const char *const verdicts[][2] = {
		{"passed", "PASS"},   {"failed", "FAIL"}, {"errors", "ERROR"},
		{"xfailed", "XFAIL"}, {"xpassed", "XPASS"}, {"flaky", "FLAKY"}};
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++)
		fl_buf_printf(&b, "<span class=\"v v-%s\">%lld %s</span> ",
			      verdicts[i][1],
			      (long long)json_integer_value(
				      json_object_get(sum, verdicts[i][0])),
			      verdicts[i][0]);
	long long status = json_integer_value(json_object_get(sum, "exit_status"));
	fl_buf_printf(&b, "</p><p><b>Gate: %s</b> (exit status %lld)</p>",
		      status == 0 ? "pass" : "fail", status);
	fl_buf_puts(&b, "<table>");
	static const char *const meta[][2] = {
		{"id", "run"},	     {"started", "started"},
		{"command", "command"}, {"seed", "seed"}};
	for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
		json_t *v = json_object_get(run, meta[i][0]);
		if (!v || json_is_null(v))
			continue;
		fl_buf_printf(&b, "<tr><th>%s</th><td>", meta[i][1]);
		if (json_is_string(v))
			esc(&b, json_string_value(v));
		else if (json_is_integer(v))
			fl_buf_printf(&b, "%lld", (long long)json_integer_value(v));
		fl_buf_puts(&b, "</td></tr>");
	}
	fl_buf_printf(&b, "<tr><th>duration</th><td>%.2f s</td></tr>",
		      num(run, "duration_s"));
	fl_buf_puts(&b, "<tr><th>faultline</th><td>");
	esc(&b, str(doc, "faultline_version"));
	fl_buf_puts(&b, "</td></tr>");
	json_t *host = json_object_get(run, "host");
	if (json_is_object(host)) {
		fl_buf_puts(&b, "<tr><th>machine</th><td>");
		esc(&b, str(host, "hostname"));
		fl_buf_puts(&b, " · ");
		esc(&b, str(host, "kernel"));
		fl_buf_printf(&b, " · %lld CPUs · libfiu ",
			      (long long)json_integer_value(json_object_get(host, "cpus")));
		esc(&b, str(host, "libfiu"));
		fl_buf_puts(&b, "</td></tr>");
	}
	fl_buf_puts(&b, "</table></header>");
	summary_table(&b, doc);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
		scenario_section(&b, s, (int)i);
	fl_buf_printf(&b, "<script>%s</script></body></html>\n", script);
	int r = fl_write_file_atomic(path, b.data, b.len);
	fl_buf_free(&b);
	return r;
}
