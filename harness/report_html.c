/* The HTML resilience report: one self-contained file. Styles, charts and
 * script are inline, and a Content-Security-Policy lets nothing else load:
 * no request leaves the page, and only the one script and the one style
 * sheet written here (named by their SHA-256) may run or apply, so even a
 * byte that escaped escaping could not execute.
 *
 * This file writes the page and its summary (the gate, the verdicts, the
 * run, failures and warnings, the table of scenarios); html.c holds the
 * page shell (policy, palette, style, script), html_chart.c the charts and
 * html_scenario.c each scenario's section. */
#define _GNU_SOURCE
#include "report.h"

#include "html.h"
#include "html_scenario.h"
#include "html_sweep.h"
#include "sink.h"
#include "writers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFIG FL_FIG_COUNT

static double fired_total(json_t *sc)
{
	json_t *j = fl_results_obj(sc, "journal");
	if (!isnan(fl_results_num(j, "total")))
		return fl_results_num(j, "total");
	double n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(fl_results_obj(sc, "points"), k, v)
		if (!isnan(fl_results_num(v, "fired")))
			n += fl_results_num(v, "fired");
	return n;
}

static void cell_num(fl_buf *b, double v, const char *text, int bad)
{
	if (isnan(v)) {
		fl_buf_puts(b, "<td class=\"n muted\" data-s=\"\">–</td>");
		return;
	}
	fl_buf_printf(b, "<td class=\"n%s\" data-s=\"%.9g\">%s</td>",
		      bad ? " bad" : "", v, text);
}

static void cell_seconds(fl_buf *b, double s)
{
	char txt[32];
	if (!isnan(s))
		fl_html_seconds(txt, sizeof txt, s);
	cell_num(b, s, txt, 0);
}

static void cell_count(fl_buf *b, double v, int flag_positive)
{
	char txt[32];
	snprintf(txt, sizeof txt, "%g", v);
	cell_num(b, v, txt, flag_positive && v > 0);
}

/* How much of a message the table shows: its first line, up to this many
 * characters; the whole message is the cell's title (a tooltip). */
#define MESSAGE_CHARS 120

/* The message cell: why a scenario is not a plain PASS (an XFAIL's
 * reason, a FAIL's expectation, an ERROR's cause), readable without a
 * click; the full text on hover; sorted and filtered by its text. */
static void cell_message(fl_buf *b, const char *msg)
{
	if (!*msg) {
		fl_buf_puts(b, "<td class=\"msgcol muted\" data-s=\"\"></td>");
		return;
	}
	/* The first line, cut at a character boundary. */
	const unsigned char *s = (const unsigned char *)msg;
	size_t line = strcspn(msg, "\n"), at = 0;
	int chars = 0;
	while (at < line && chars < MESSAGE_CHARS) {
		uint32_t cp;
		size_t n = fl_utf8_decode(s + at, line - at, &cp);
		at += n ? n : 1;
		chars++;
	}
	int cut = at < strlen(msg);
	char *shown = strndup(msg, at);
	if (!shown)
		fl_out_of_memory();
	fl_buf_puts(b, "<td class=\"msgcol\" data-s=\"");
	fl_escape_xml(b, msg);
	fl_buf_puts(b, "\"");
	if (cut) {
		fl_buf_puts(b, " title=\"");
		fl_escape_xml(b, msg);
		fl_buf_puts(b, "\"");
	}
	fl_buf_puts(b, ">");
	fl_escape_xml(b, shown);
	if (cut)
		fl_buf_puts(b, "\xE2\x80\xA6");	/* … */
	fl_buf_puts(b, "</td>");
	free(shown);
}

/* The head of the table of scenarios: every figure's leak has a column;
 * an optional figure's only when a scenario measured it (shown). */
static void table_head(fl_buf *b, const int *shown)
{
	fl_buf_puts(b, "<section id=\"table\"><h2>Scenarios</h2><input id=\"filter\" "
		       "type=\"search\" placeholder=\"filter by name, verdict, "
		       "file, tag\" aria-label=\"filter the scenarios\">"
		       "<span id=\"shown\" class=\"muted\"></span>"
		       "<table id=\"sc\"><thead><tr>");
	static const char *const cols[] = {"Verdict", "Scenario", "Message",
					   "MTTR mean", "MTTR p95", "MTTR max"};
	for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
		fl_buf_printf(b, "<th class=\"sortable\" scope=\"col\">%s</th>",
			      cols[k]);
	for (int k = 0; k < NFIG; k++)
		if (shown[k])
			fl_buf_printf(b, "<th class=\"sortable\" scope=\"col\">Leaked "
					 "%s</th>",
				      fl_html_figure_label((enum fl_figure)k));
	fl_buf_puts(b, "<th class=\"sortable\" scope=\"col\">Faults fired</th>"
		       "<th class=\"sortable\" scope=\"col\">Time</th>"
		       "</tr></thead><tbody>");
}

/* Scenario i's row of the table. */
static void table_row(fl_buf *b, json_t *s, size_t i, const int *shown)
{
	fl_verdict verdict = fl_results_verdict(s);
	const char *v = fl_verdict_name(verdict);
	fl_buf_puts(b, "<tr data-verdict=\"");
	fl_escape_xml(b, v);
	fl_buf_printf(b, "\"><td data-s=\"%d\"><span class=\"v v-",
		      fl_verdict_rank(verdict));
	fl_escape_xml(b, v);
	fl_buf_puts(b, "\">");
	fl_escape_xml(b, v);
	fl_buf_puts(b, "</span></td><td data-s=\"");
	fl_escape_xml(b, fl_results_str(s, "name"));
	fl_buf_printf(b, "\"><a href=\"#s%zu\">", i);
	fl_escape_xml(b, fl_results_str(s, "name"));
	fl_buf_puts(b, "</a><br><span class=\"muted\">");
	fl_escape_xml(b, fl_results_id(s));
	size_t ti;
	json_t *tag;
	json_array_foreach(fl_results_arr(s, "tags"), ti, tag)
	{
		fl_buf_puts(b, ti ? ", " : " · ");
		fl_escape_xml(b, json_string_value(tag));
	}
	fl_buf_puts(b, "</span></td>");
	cell_message(b, fl_results_str(s, "message"));
	json_t *m = fl_results_obj(s, "mttr");
	int hm = json_is_object(m);
	cell_seconds(b, hm ? fl_results_num(m, "mean_s") : NAN);
	cell_seconds(b, hm ? fl_results_num(m, "p95_s") : NAN);
	cell_seconds(b, hm ? fl_results_num(m, "max_s") : NAN);
	json_t *l = fl_results_obj(s, "leaks");
	for (int k = 0; k < NFIG; k++) {
		if (!shown[k])
			continue;
		double leak = fl_results_num(l, fl_figures[k].key);
		char txt[48] = "";
		fl_figure_format((enum fl_figure)k, leak, txt, sizeof txt);
		/* More things left behind than at the baseline is bad
		 * news; a size is judged by its expectation. */
		cell_num(b, leak, txt, fl_figures[k].count && leak > 0);
	}
	cell_count(b, fired_total(s), 0);
	cell_seconds(b, fl_results_num(s, "duration_s"));
	fl_buf_puts(b, "</tr>");
}

/* What the page needs of every scenario before it writes the first:
 * gathered by a survey of the scenarios, small beside them. */
struct html {
	fl_sink *out, *sections;	/* the page; the scenarios' sections */
	int shown[NFIG];		/* the table's optional columns */
	fl_buf failures, warnings;	/* the header's lists */
	int timebased, lost;
	json_t *ids;			/* id -> number of its first scenario */
	size_t surveyed, written;
	fl_buf b, script;
};

/* Scenario i's lines of the header: its failure, its warnings. */
static void survey_problems(struct html *h, json_t *s, size_t i)
{
	fl_verdict verdict = fl_results_verdict(s);
	const char *v = fl_verdict_name(verdict);
	fl_buf *b = &h->failures;
	if (!fl_verdict_good(verdict)) {
		fl_buf_puts(b, "<li><span class=\"v v-");
		fl_escape_xml(b, v);
		fl_buf_puts(b, "\">");
		fl_escape_xml(b, v);
		fl_buf_printf(b, "</span> <a href=\"#s%zu\">", i);
		fl_escape_xml(b, fl_results_str(s, "name"));
		fl_buf_puts(b, "</a>");
		const char *msg = fl_results_str(s, "message");
		if (*msg) {
			size_t n = strcspn(msg, "\n");
			char *line = strndup(msg, n > 300 ? 300 : n);
			fl_buf_puts(b, ": ");
			fl_escape_xml(b, line ? line : "");
			free(line);
		}
		fl_buf_puts(b, "</li>");
	}
	fl_buf *warn = &h->warnings;
	const char *k;
	json_t *pt;
	json_object_foreach(fl_results_obj(s, "points"), k, pt)
	{
		if (fl_results_num(pt, "fired") != 0)
			continue;
		fl_buf_puts(warn, "<li>Point <code>");
		fl_escape_xml(warn, k);
		fl_buf_printf(warn, "</code> was enabled but never fired "
				    "in <a href=\"#s%zu\">",
			      i);
		fl_escape_xml(warn, fl_results_str(s, "name"));
		fl_buf_printf(warn, "</a> (%.0f calls seen): a misspelt "
				    "name, or a path the target never "
				    "took.</li>",
			      fl_results_num(pt, "calls"));
	}
	size_t wi;
	json_t *w;
	json_array_foreach(fl_results_arr(s, "warnings"), wi, w)
	{
		fl_buf_printf(warn, "<li><a href=\"#s%zu\">", i);
		fl_escape_xml(warn, fl_results_str(s, "name"));
		fl_buf_puts(warn, "</a>: ");
		fl_escape_xml(warn, json_string_value(w));
		fl_buf_puts(warn, "</li>");
	}
	if (fl_results_bool(s, "time_based_windows"))
		h->timebased++;
	if (fl_results_int(fl_results_obj(s, "journal"), "lost") > 0)
		h->lost++;
}

/* What a reader must see first: the failures with their messages, and
 * what makes the results less trustworthy than they look. */
static void problems(fl_buf *b, json_t *doc, struct html *h)
{
	if (h->failures.len) {
		fl_buf_puts(b, "<h2>Failures</h2><ul class=\"problems\">");
		fl_buf_append(b, h->failures.data, h->failures.len);
		fl_buf_puts(b, "</ul>");
	}

	/* Warnings. */
	fl_buf warn;
	fl_buf_init(&warn);
	json_t *run = fl_results_obj(doc, "run");
	if (fl_results_opt_str(run, "interrupted")) {
		fl_buf_puts(&warn, "<li>The run was interrupted (");
		fl_escape_xml(&warn, fl_results_str(run, "interrupted"));
		fl_buf_puts(&warn, "): scenarios after it did not run.</li>");
	}
	if (h->warnings.len)
		fl_buf_append(&warn, h->warnings.data, h->warnings.len);
	if (h->timebased)
		fl_buf_printf(&warn, "<li>%d scenario%s opened fault windows on "
				     "wall-clock time: which calls fail can "
				     "differ between runs.</li>",
			      h->timebased, h->timebased == 1 ? "" : "s");
	if (h->lost)
		fl_buf_printf(&warn, "<li>%d scenario%s lost fault journal "
				     "records (a full journal was not drained "
				     "in time): their digests do not cover "
				     "every fault.</li>",
			      h->lost, h->lost == 1 ? "" : "s");
	if (warn.len) {
		fl_buf_puts(b, "<div class=\"warn\"><b>Warnings</b><ul>");
		fl_buf_append(b, warn.data, warn.len);
		fl_buf_puts(b, "</ul></div>");
	}
	fl_buf_free(&warn);
}

static void run_facts(fl_buf *b, json_t *doc)
{
	json_t *run = fl_results_obj(doc, "run");
	fl_buf_puts(b, "<table class=\"facts\">");
	fl_buf_puts(b, "<tr><th>run</th><td>");
	fl_escape_xml(b, fl_results_str(run, "id"));
	fl_buf_puts(b, "</td></tr><tr><th>started</th><td>");
	fl_escape_xml(b, fl_results_str(run, "started"));
	fl_buf_printf(b, "</td></tr><tr><th>duration</th><td>%.2f s</td></tr>",
		      fl_results_num(run, "duration_s"));
	fl_buf_puts(b, "<tr><th>seed</th><td>");
	if (!isnan(fl_results_num(run, "seed")))
		fl_buf_printf(b, "%lld (every scenario)", fl_results_int(run, "seed"));
	else
		fl_buf_puts(b, "each scenario's own (below, with the command "
			       "that re-runs it)");
	fl_buf_puts(b, "</td></tr><tr><th>command</th><td><code>");
	fl_escape_xml(b, fl_results_str(run, "command"));
	fl_buf_puts(b, "</code></td></tr><tr><th>faultline</th><td>");
	fl_escape_xml(b, fl_results_str(doc, "faultline_version"));
	fl_buf_puts(b, "</td></tr>");
	json_t *host = fl_results_obj(run, "host");
	if (json_is_object(host)) {
		fl_buf_puts(b, "<tr><th>machine</th><td>");
		fl_escape_xml(b, fl_results_str(host, "hostname"));
		fl_buf_puts(b, " · ");
		fl_escape_xml(b, fl_results_str(host, "kernel"));
		fl_buf_printf(b, " · %lld CPUs · libfiu ", fl_results_int(host, "cpus"));
		fl_escape_xml(b, fl_results_str(host, "libfiu"));
		fl_buf_puts(b, "</td></tr>");
	}
	json_t *shard = fl_results_obj(run, "shard");
	if (json_is_object(shard))
		fl_buf_printf(b, "<tr><th>shard</th><td>%lld/%lld</td></tr>",
			      fl_results_int(shard, "index"), fl_results_int(shard, "total"));
	json_t *from = fl_results_arr(run, "merged_from");
	if (json_array_size(from)) {
		fl_buf_printf(b, "<tr><th>merged from</th><td>%zu results files:"
				 "<ul>",
			      json_array_size(from));
		size_t i;
		json_t *f;
		json_array_foreach(from, i, f)
		{
			fl_buf_puts(b, "<li>");
			json_t *sh = fl_results_obj(f, "shard");
			if (json_is_object(sh))
				fl_buf_printf(b, "shard %lld/%lld: ",
					      fl_results_int(sh, "index"),
					      fl_results_int(sh, "total"));
			fl_escape_xml(b, fl_results_str(f, "id"));
			fl_buf_printf(b, ", %lld scenarios, %.1f s on ",
				      fl_results_int(f, "scenarios"), fl_results_num(f, "duration_s"));
			fl_escape_xml(b, fl_results_str(fl_results_obj(f, "host"), "hostname"));
			fl_buf_puts(b, " <span class=\"muted\">");
			fl_escape_xml(b, fl_results_str(f, "file"));
			fl_buf_puts(b, "</span></li>");
		}
		fl_buf_puts(b, "</ul></td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void header(fl_buf *b, json_t *doc, struct html *h)
{
	json_t *sum = fl_results_obj(doc, "summary");
	long long status = fl_results_exit_status(doc);
	const char *gate = fl_verdict_name(status ? FL_VERDICT_FAIL : FL_VERDICT_PASS);
	fl_buf_puts(b, "<header id=\"top\"><h1>faultline resilience report</h1>");
	static const char *const meaning[] = {
		"every scenario passed or failed as expected",
		"a scenario failed, passed unexpectedly (XPASS) or was flaky",
		"a scenario could not load, ended in ERROR or has no verdict"};
	fl_buf_printf(b, "<div class=\"gate gate-%s\">Gate: %s</div> "
			 "<span>exit status %lld: %s</span>",
		      status ? "fail" : "pass", gate, status,
		      status >= 0 && status <= 2 ? meaning[status] : "internal error");
	fl_buf_puts(b, "<p>");
	for (int v = 0; v < FL_VERDICT_COUNT; v++) {
		const char *name = fl_verdict_name((fl_verdict)v);
		long long n = fl_results_summary_count(doc, (fl_verdict)v);
		fl_buf_printf(b,
			      "<button type=\"button\" class=\"v v-%s%s\" "
			      "data-verdict=\"%s\" aria-pressed=\"false\" "
			      "title=\"show only %s scenarios (click again to "
			      "undo)\">%lld %s</button>",
			      name, n ? "" : " zero", name, name, n,
			      fl_verdict_summary_key((fl_verdict)v));
	}
	fl_buf_printf(b, " <span class=\"muted\">of %lld scenarios", fl_results_int(sum, "total"));
	if (fl_results_int(sum, "load_errors"))
		fl_buf_printf(b, ", %lld could not load", fl_results_int(sum, "load_errors"));
	fl_buf_puts(b, "</span></p>");
	run_facts(b, doc);
	problems(b, doc, h);
	fl_buf_puts(b, "</header>");
}

static void *html_create(void)
{
	struct html *h = fl_xcalloc(1, sizeof *h);
	for (int k = 0; k < NFIG; k++)
		h->shown[k] = !fl_figures[k].optional;
	fl_buf_init(&h->failures);
	fl_buf_init(&h->warnings);
	fl_buf_init(&h->b);
	fl_buf_init(&h->script);
	h->ids = json_object();
	if (!h->ids)
		fl_out_of_memory();
	return h;
}

static void html_destroy(void *state)
{
	struct html *h = state;
	fl_sink_discard(h->out);
	fl_sink_discard(h->sections);
	fl_buf_free(&h->failures);
	fl_buf_free(&h->warnings);
	fl_buf_free(&h->b);
	fl_buf_free(&h->script);
	json_decref(h->ids);
	free(h);
}

static void html_survey(void *state, json_t *s)
{
	struct html *h = state;
	size_t i = h->surveyed++;
	for (int k = 0; k < NFIG; k++)
		h->shown[k] |= !isnan(fl_results_num(fl_results_obj(s, "leaks"),
						     fl_figures[k].key));
	survey_problems(h, s, i);
	/* The sweep map links a site to its run, the first entry of its
	 * id. */
	const char *id = fl_results_id(s);
	if (!json_object_get(h->ids, id) &&
	    json_object_set_new(h->ids, id, json_integer((json_int_t)i)))
		fl_out_of_memory();
}

static int html_begin(void *state, json_t *doc, const char *path)
{
	struct html *h = state;
	int r = fl_sink_open(path, &h->out);
	if (r == 0)
		r = fl_sink_spool(path, &h->sections);
	if (r < 0)
		return r;
	fl_buf css;
	fl_buf_init(&css);
	fl_html_report_css(&css);
	long long failed = 0;
	for (int v = 0; v < FL_VERDICT_COUNT; v++)
		if (!fl_verdict_good((fl_verdict)v))
			failed += fl_results_summary_count(doc, (fl_verdict)v);
	fl_buf *b = &h->b;
	fl_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
		       "charset=\"utf-8\">");
	fl_html_report_script(&h->script);
	fl_html_csp(b, css.data, h->script.data);
	fl_buf_puts(b, "<meta name=\"viewport\" content=\"width=device-width\">"
		       "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	fl_buf_printf(b, "faultline: %s, %lld passed, %lld failed",
		      fl_verdict_name(fl_results_exit_status(doc) ? FL_VERDICT_FAIL
								  : FL_VERDICT_PASS),
		      fl_results_summary_count(doc, FL_VERDICT_PASS), failed);
	fl_buf_printf(b, "</title><style>%s</style></head><body>", css.data);
	fl_buf_free(&css);
	header(b, doc, h);
	fl_buf_puts(b, "<main>");
	fl_html_sweep(b, doc, h->ids);
	table_head(b, h->shown);
	fl_sink_take(h->out, b);
	/* What the survey kept is written. */
	fl_buf_free(&h->failures);
	fl_buf_free(&h->warnings);
	return fl_sink_error(h->out);
}

static int html_scenario(void *state, json_t *s)
{
	struct html *h = state;
	size_t i = h->written++;
	table_row(&h->b, s, i, h->shown);
	fl_sink_take(h->out, &h->b);
	fl_html_scenario(&h->b, s, (int)i);
	fl_sink_take(h->sections, &h->b);
	int r = fl_sink_error(h->out);
	return r ? r : fl_sink_error(h->sections);
}

static int html_end(void *state)
{
	struct html *h = state;
	fl_sink_puts(h->out, "</tbody></table></section>");
	fl_sink_copy(h->out, h->sections);
	fl_sink_printf(h->out, "</main><script>%s</script></body></html>\n",
		       h->script.data);
	fl_sink *out = h->out;
	h->out = NULL;
	html_destroy(h);
	return fl_sink_commit(out);
}

const fl_writer_ops fl_report_html_ops = {
	.create = html_create,
	.survey = html_survey,
	.begin = html_begin,
	.scenario = html_scenario,
	.end = html_end,
	.destroy = html_destroy,
};

int fl_report_html(json_t *doc, const char *path)
{
	return fl_writer_write(&fl_writers[FL_WRITER_HTML], doc, path);
}
