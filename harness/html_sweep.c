/* The HTML report's map of a sweep (faultline sweep): every site of every
 * scenario swept, grouped by source file and function, coloured by its
 * outcome, each with the call that failed, what happened, its stack and
 * the command that replays its fault, and a link to its run's section. */
#define _GNU_SOURCE
#include "html_sweep.h"

#include "report.h"
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A CSS class for an outcome name ("not tried" -> "o-not-tried"). */
static void outcome_class(fl_buf *b, const char *outcome)
{
	fl_buf_puts(b, "o o-");
	for (const char *p = *outcome ? outcome : "unknown"; *p; p++)
		fl_buf_putc(b, *p == ' ' ? '-' : *p);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The file a site's row is grouped under: its label frame's source file,
 * else its module. */
static const char *site_file(json_t *site)
{
	const char *f = fl_results_opt_str(site, "file");
	if (f)
		return base_name(f);
	json_t *fr = json_array_get(fl_results_arr(site, "stack"), 0);
	const char *m = fl_results_opt_str(fr, "module");
	return m ? base_name(m) : "(unknown)";
}

static const char *site_function(json_t *site)
{
	const char *f = fl_results_opt_str(site, "function");
	return f ? f : "(unknown)";
}

struct row {
	json_t *site;
	const char *file, *function;
	long long line;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (!c)
		c = strcmp(x->function, y->function);
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

static void site_row(fl_buf *b, json_t *ids, json_t *site)
{
	const char *outcome = fl_results_str(site, "outcome");
	fl_buf_puts(b, "<tr><td><code>");
	fl_escape_xml(b, fl_results_str(site, "at"));
	fl_buf_puts(b, "</code>");
	const char *via = fl_results_opt_str(site, "via");
	if (via) {
		fl_buf_puts(b, "<br><span class=\"muted\">via ");
		fl_escape_xml(b, via);
		fl_buf_puts(b, "</span>");
	}
	fl_buf_puts(b, "</td><td>");
	fl_escape_xml(b, fl_results_str(site, "point"));
	fl_buf_puts(b, "</td><td><span class=\"");
	outcome_class(b, outcome);
	fl_buf_puts(b, "\">");
	fl_escape_xml(b, *outcome ? outcome : "?");
	fl_buf_puts(b, "</span></td><td>");
	const char *detail = fl_results_str(site, "detail");
	if (*detail) {
		fl_buf_puts(b, "<span class=\"msg\">");
		fl_escape_xml(b, detail);
		fl_buf_puts(b, "</span>");
	}
	fl_buf_puts(b, "<details><summary>stack, replay</summary><ol class=\"stack\">");
	size_t i;
	json_t *fr;
	json_array_foreach(fl_results_arr(site, "stack"), i, fr)
	{
		fl_buf_puts(b, "<li><code>");
		fl_escape_xml(b, fl_results_str(fr, "at"));
		fl_buf_puts(b, "</code></li>");
	}
	fl_buf_puts(b, "</ol>");
	fl_buf_printf(b, "<p class=\"muted\">site %s, first reached by actor ",
		      fl_results_str(site, "id"));
	fl_escape_xml(b, fl_results_str(site, "actor"));
	fl_buf_printf(b, " (%lld calls in the reference run)</p>",
		      fl_results_int(site, "calls"));
	const char *replay = fl_results_opt_str(site, "replay");
	if (replay) {
		fl_buf_puts(b, "<p>replay: <code>");
		fl_escape_xml(b, replay);
		fl_buf_puts(b, "</code></p>");
	}
	fl_buf_puts(b, "</details>");
	const char *rid = fl_results_opt_str(site, "result");
	json_t *idx = rid ? json_object_get(ids, rid) : NULL;
	if (json_is_integer(idx))
		fl_buf_printf(b, " <a href=\"#s%d\">its run</a>",
			      (int)json_integer_value(idx));
	fl_buf_puts(b, "</td></tr>");
}

static void scenario_map(fl_buf *b, json_t *ids, json_t *sc)
{
	json_t *ref = fl_results_obj(sc, "reference");
	json_t *sites = fl_results_arr(sc, "sites");
	fl_buf_puts(b, "<h3>");
	fl_escape_xml(b, fl_results_str(sc, "name"));
	fl_buf_puts(b, " <span class=\"muted\">");
	fl_escape_xml(b, fl_results_str(sc, "id"));
	const char *rv = fl_results_opt_str(ref, "verdict");
	if (rv)
		fl_buf_printf(b, " · reference run %s", rv);
	fl_buf_printf(b, " · %zu site%s", json_array_size(sites),
		      json_array_size(sites) == 1 ? "" : "s");
	fl_buf_puts(b, "</span></h3>");
	if (rv && strcmp(rv, "PASS")) {
		fl_buf_puts(b, "<p class=\"warn\">The reference run, with no fault, "
			       "did not pass: ");
		fl_escape_xml(b, fl_results_str(ref, "message"));
		fl_buf_puts(b, "</p>");
	}
	size_t n = json_array_size(sites);
	if (!n)
		return;
	struct row *rows = calloc(n, sizeof *rows);
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *site = json_array_get(sites, i);
		rows[i] = (struct row){site, site_file(site), site_function(site),
				       fl_results_int(site, "line")};
	}
	qsort(rows, n, sizeof *rows, cmp_row);
	fl_buf_puts(b, "<table class=\"map\"><thead><tr><th>site</th><th>point"
		       "</th><th>outcome</th><th>what happened</th></tr></thead>"
		       "<tbody>");
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(rows[i].file, rows[i - 1].file)) {
			fl_buf_puts(b, "<tr class=\"file\"><th colspan=\"4\">");
			fl_escape_xml(b, rows[i].file);
			fl_buf_puts(b, "</th></tr>");
		}
		if (!i || strcmp(rows[i].file, rows[i - 1].file) ||
		    strcmp(rows[i].function, rows[i - 1].function)) {
			fl_buf_puts(b, "<tr class=\"fn\"><td colspan=\"4\">");
			fl_escape_xml(b, rows[i].function);
			fl_buf_puts(b, "</td></tr>");
		}
		site_row(b, ids, rows[i].site);
	}
	fl_buf_puts(b, "</tbody></table>");
	free(rows);
}

void fl_html_sweep(fl_buf *b, json_t *doc, json_t *ids)
{
	json_t *sweep = fl_results_obj(doc, "sweep");
	if (!sweep)
		return;
	fl_buf_puts(b, "<section id=\"sweep\"><h2>Error paths</h2><p>");
	const char *k;
	json_t *v;
	long long total = 0;
	json_object_foreach(fl_results_obj(sweep, "counts"), k, v)
		total += json_integer_value(v);
	fl_buf_printf(b, "%lld site%s", total, total == 1 ? "" : "s");
	json_object_foreach(fl_results_obj(sweep, "counts"), k, v)
	{
		fl_buf_puts(b, " <span class=\"");
		outcome_class(b, k);
		fl_buf_printf(b, "\">%lld ", (long long)json_integer_value(v));
		fl_escape_xml(b, k);
		fl_buf_puts(b, "</span>");
	}
	fl_buf_printf(b, "</p><p class=\"muted\">Each site is the calling context "
			 "of a call (%lld frames); its run failed call %lld from "
			 "it and was judged by the scenario's expectations and "
			 "survival. A finding ran twice; flaky: the two runs "
			 "disagreed.</p>",
		      fl_results_int(sweep, "depth"), fl_results_int(sweep, "nth"));
	size_t i;
	json_t *sc;
	json_array_foreach(fl_results_arr(sweep, "scenarios"), i, sc)
		scenario_map(b, ids, sc);
	fl_buf_puts(b, "</section>");
}
