/* The sections of one scenario. Bounds keep the page small however much a
 * scenario recorded: the results file keeps everything, and each table
 * says what it left out. */
#define _GNU_SOURCE
#include "html_scenario.h"

#include "figures.h"
#include "html.h"
#include "html_chart.h"
#include "report.h"
#include "results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAIL_BYTES 16384
#define MAX_ROWS 200
#define MAX_JOURNAL_ROWS 50
#define MAX_LOG_LINES 1000
#define NFIG FL_FIG_COUNT

static void expectations(fl_buf *b, json_t *s)
{
	json_t *ex = fl_results_arr(s, "expectations");
	if (!json_array_size(ex))
		return;
	fl_buf_puts(b, "<h3>Expectations</h3><table><tr><th></th><th>What</th>"
		       "<th>Measured</th><th>Allowed</th><th>Message</th>"
		       "<th>Where</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(ex, i, e)
	{
		int ok = fl_results_bool(e, "ok");
		fl_buf_printf(b, "<tr><td class=\"%s\">%s</td><td>",
			      ok ? "ok" : "bad", ok ? "✓" : "✗");
		fl_escape_xml(b, fl_results_str(e, "what"));
		fl_buf_printf(b, "</td><td class=\"%s\">", ok ? "" : "bad");
		fl_escape_xml(b, fl_results_str(e, "measured"));
		fl_buf_puts(b, "</td><td>");
		fl_escape_xml(b, fl_results_str(e, "allowed"));
		fl_buf_puts(b, "</td><td>");
		fl_escape_xml(b, fl_results_str(e, "message"));
		fl_buf_puts(b, "</td><td><code>");
		fl_escape_xml(b, fl_results_str(e, "where"));
		fl_buf_puts(b, "</code></td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void episodes(fl_buf *b, json_t *s)
{
	json_t *eps = fl_results_arr(s, "episodes");
	size_t n = json_array_size(eps);
	if (!n)
		return;
	json_t *m = fl_results_obj(s, "mttr");
	fl_buf_puts(b, "<h3>Fault windows and recovery</h3>");
	if (json_is_object(m)) {
		char a[32], p50[32], p95[32], mx[32];
		fl_html_seconds(a, sizeof a, fl_results_num(m, "mean_s"));
		fl_html_seconds(p50, sizeof p50, fl_results_num(m, "p50_s"));
		fl_html_seconds(p95, sizeof p95, fl_results_num(m, "p95_s"));
		fl_html_seconds(mx, sizeof mx, fl_results_num(m, "max_s"));
		fl_buf_printf(b, "<p>MTTR over %lld recovered episode%s: mean %s, "
				 "p50 %s, p95 %s, max %s</p>",
			      fl_results_int(m, "n"), fl_results_int(m, "n") == 1 ? "" : "s", a,
			      p50, p95, mx);
	}
	fl_buf_puts(b, "<table><tr><th>Points</th><th>On</th><th>Off</th>"
		       "<th>Recovery</th><th>Bound</th><th>Why not</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e)
	{
		if (i == MAX_ROWS) {
			fl_buf_printf(b, "<tr><td colspan=\"6\" class=\"muted\">"
					 "%zu more episodes in results.json"
					 "</td></tr>",
				      n - MAX_ROWS);
			break;
		}
		fl_buf_puts(b, "<tr><td><code>");
		fl_escape_xml(b, fl_results_str(e, "points"));
		fl_buf_printf(b, "</code></td><td class=\"n\">%.3f s</td>", fl_results_num(e, "on"));
		if (isnan(fl_results_num(e, "off")))
			fl_buf_puts(b, "<td>open</td>");
		else
			fl_buf_printf(b, "<td class=\"n\">%.3f s</td>", fl_results_num(e, "off"));
		if (!isnan(fl_results_num(e, "recovery_s"))) {
			char d[32];
			fl_html_seconds(d, sizeof d, fl_results_num(e, "recovery_s"));
			fl_buf_printf(b, "<td class=\"n ok\">%s</td>", d);
		} else {
			fl_buf_printf(b, "<td class=\"%s\">",
				      strcmp(fl_results_str(e, "state"), "not recovered") ? ""
										: "bad");
			fl_escape_xml(b, fl_results_str(e, "state"));
			fl_buf_puts(b, "</td>");
		}
		if (!isnan(fl_results_num(e, "within_s")))
			fl_buf_printf(b, "<td class=\"n\">%.2f s</td>", fl_results_num(e, "within_s"));
		else
			fl_buf_puts(b, "<td>–</td>");
		fl_buf_puts(b, "<td>");
		fl_escape_xml(b, fl_results_str(e, "why"));
		fl_buf_puts(b, "</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void groups_table(fl_buf *b, json_t *groups, const char *what)
{
	fl_buf_printf(b, "<table><tr><th>Count</th><th>%s</th></tr>", what);
	size_t i;
	json_t *e;
	json_array_foreach(groups, i, e)
	{
		if (i == MAX_ROWS)
			break;
		fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td><code>",
			      fl_results_int(e, "count"));
		fl_escape_xml(b, fl_results_str(e, "pattern"));
		fl_buf_puts(b, "</code></td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void thread_rows(fl_buf *b, json_t *threads)
{
	fl_buf_puts(b, "<table><tr><th>tid</th><th>name</th><th>state</th>"
		       "<th>wchan</th><th>syscall</th></tr>");
	size_t i;
	json_t *e;
	json_array_foreach(threads, i, e)
	{
		if (i == MAX_ROWS) {
			fl_buf_printf(b, "<tr><td colspan=\"5\" class=\"muted\">"
					 "%zu more in results.json</td></tr>",
				      json_array_size(threads) - MAX_ROWS);
			break;
		}
		if (json_is_string(e)) {
			fl_buf_puts(b, "<tr><td colspan=\"5\">");
			fl_escape_xml(b, json_string_value(e));
			fl_buf_puts(b, "</td></tr>");
			continue;
		}
		fl_buf_printf(b, "<tr><td class=\"n\">%lld</td><td>", fl_results_int(e, "tid"));
		fl_escape_xml(b, fl_results_str(e, "name"));
		fl_buf_puts(b, "</td><td>");
		fl_escape_xml(b, fl_results_str(e, "state"));
		fl_buf_puts(b, "</td><td>");
		fl_escape_xml(b, fl_results_str(e, "wchan"));
		fl_buf_puts(b, "</td><td>");
		fl_escape_xml(b, fl_results_str(e, "syscall"));
		fl_buf_puts(b, "</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void fd_lines(fl_buf *b, json_t *fds)
{
	fl_buf_puts(b, "<pre>");
	size_t i;
	json_t *e;
	json_array_foreach(fds, i, e)
	{
		if (i == MAX_ROWS) {
			fl_buf_printf(b, "… %zu more in results.json\n",
				      json_array_size(fds) - MAX_ROWS);
			break;
		}
		if (json_is_string(e)) {
			fl_escape_xml(b, json_string_value(e));
		} else {
			fl_buf_printf(b, "%5lld  ", fl_results_int(e, "fd"));
			fl_escape_xml(b, fl_results_str(e, "target"));
		}
		fl_buf_putc(b, '\n');
	}
	fl_buf_puts(b, "</pre>");
}

static void oom_precursor(fl_buf *b, json_t *s)
{
	json_t *o = fl_results_obj(s, "oom_precursor");
	if (!json_is_object(o))
		return;
	char rss[32], thr[32];
	fl_fmt_bytes(rss, sizeof rss, fl_results_num(o, "rss"));
	fl_fmt_bytes(thr, sizeof thr, fl_results_num(o, "threshold"));
	fl_buf_printf(b, "<h3>OOM precursor</h3><p class=\"bad\">RSS reached %s "
			 "(threshold %s) at %.3f s: faultline took this "
			 "snapshot before the memory ran out.</p>",
		      rss, thr, fl_results_num(o, "t"));
	if (fl_results_opt_str(o, "core")) {
		/* A file name in the report directory. */
		fl_buf_puts(b, "<p>core dump: <a href=\"");
		fl_escape_xml(b, fl_results_str(o, "core"));
		fl_buf_puts(b, "\"><code>");
		fl_escape_xml(b, fl_results_str(o, "core"));
		fl_buf_puts(b, "</code></a></p>");
	} else if (fl_results_opt_str(o, "core_error")) {
		fl_buf_puts(b, "<p class=\"muted\">no core dump: ");
		fl_escape_xml(b, fl_results_str(o, "core_error"));
		fl_buf_puts(b, "</p>");
	}
	if (json_array_size(fl_results_arr(o, "fd_groups")))
		groups_table(b, fl_results_arr(o, "fd_groups"), "Open fds");
	if (json_array_size(fl_results_arr(o, "thread_groups")))
		groups_table(b, fl_results_arr(o, "thread_groups"), "Threads");
	json_t *fds = fl_results_arr(o, "fds");
	if (json_array_size(fds)) {
		fl_buf_printf(b, "<details><summary>%lld open fds</summary>",
			      !isnan(fl_results_num(o, "fd_count"))
				      ? fl_results_int(o, "fd_count")
				      : (long long)json_array_size(fds));
		fd_lines(b, fds);
		fl_buf_puts(b, "</details>");
	}
	json_t *th = fl_results_arr(o, "threads");
	if (json_array_size(th)) {
		fl_buf_printf(b, "<details><summary>%zu threads</summary>",
			      json_array_size(th));
		thread_rows(b, th);
		fl_buf_puts(b, "</details>");
	}
	if (fl_results_opt_str(o, "smaps_rollup")) {
		fl_buf_puts(b, "<details><summary>smaps_rollup</summary><pre>");
		fl_escape_xml(b, fl_results_str(o, "smaps_rollup"));
		fl_buf_puts(b, "</pre></details>");
	}
}

static void forensics(fl_buf *b, json_t *s)
{
	json_t *f = fl_results_obj(s, "forensics");
	if (!json_is_object(f) && !json_is_object(fl_results_obj(s, "oom_precursor")))
		return;
	fl_buf_puts(b, "<h3>Leak forensics</h3>");
	json_t *l = fl_results_obj(s, "leaks");
	if (json_is_object(l)) {
		/* "fds +1, threads +0, RSS 0 B": every figure measured. */
		fl_buf_puts(b, "<p>final minus baseline: <b>");
		int n = 0;
		for (int k = 0; k < NFIG; k++) {
			double v = fl_results_num(l, fl_figures[k].key);
			if (isnan(v))
				continue;
			char txt[48];
			if (fl_figures[k].bytes)
				fl_figure_format_delta((enum fl_figure)k, v, txt, sizeof txt);
			else
				snprintf(txt, sizeof txt, "%+g", v);
			fl_buf_printf(b, "%s%s %s", n++ ? ", " : "",
				      fl_html_figure_label((enum fl_figure)k), txt);
		}
		fl_buf_puts(b, "</b></p>");
	}
	if (fl_results_opt_str(f, "unavailable")) {
		fl_buf_puts(b, "<p class=\"muted\">");
		fl_escape_xml(b, fl_results_str(f, "unavailable"));
		fl_buf_puts(b, "</p>");
	} else if (json_is_object(f)) {
		json_t *g = fl_results_arr(f, "fd_groups");
		fl_buf_printf(b, "<p>fds open at the end that were not at the "
				 "baseline: %lld</p>",
			      fl_results_int(f, "new_fd_count"));
		if (json_array_size(g)) {
			groups_table(b, g, "What they point to");
			fl_buf_puts(b, "<details><summary>every new fd</summary>");
			fd_lines(b, fl_results_arr(f, "new_fds"));
			fl_buf_puts(b, "</details>");
		}
		json_t *tg = fl_results_arr(f, "thread_groups");
		if (json_array_size(tg)) {
			fl_buf_puts(b, "<p>threads that were not there at the "
				       "baseline:</p>");
			groups_table(b, tg, "Threads (where blocked)");
		}
		json_t *th = fl_results_arr(f, "threads");
		if (json_array_size(th)) {
			fl_buf_printf(b, "<details><summary>all %zu threads at the "
					 "end</summary>",
				      json_array_size(th));
			thread_rows(b, th);
			fl_buf_puts(b, "</details>");
		}
	}
	/* Watched files are looked at also after the target exited. */
	json_t *fg = fl_results_arr(f, "file_groups");
	if (json_array_size(fg)) {
		fl_buf_printf(b, "<p>watched files that were not there at the "
				 "baseline: %lld</p>",
			      fl_results_int(f, "new_file_count"));
		groups_table(b, fg, "Files");
	}
	oom_precursor(b, s);
}

/* Counts of journal records by a key, most frequent first. */
struct tally {
	char *key;
	long long n;
};

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* Which point failed how, and which threads (actors) took the faults:
 * the shape of a long journal at a glance. */
static void journal_tallies(fl_buf *b, json_t *j, json_t *recs, int truncated)
{
	size_t n = json_array_size(recs);
	struct tally *by_point = fl_xcalloc(n, sizeof *by_point);
	struct tally *by_actor = fl_xcalloc(n, sizeof *by_actor);
	size_t np = 0, na = 0;
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		/* Point and errno, whole (a point name of any length must
		 * keep its tab: the key is split on it below). */
		fl_buf kb;
		fl_buf_init(&kb);
		fl_buf_printf(&kb, "%s\t%s", fl_results_str(r, "point"),
			      fl_results_str(r, "errno"));
		char *key = fl_buf_steal(&kb);
		size_t k;
		for (k = 0; k < np && strcmp(by_point[k].key, key); k++)
			;
		if (k == np)
			by_point[np++].key = key;
		else
			free(key);
		/* A run counts its calls. */
		long long calls = fl_results_int(r, "count");
		if (calls < 1)
			calls = 1;
		by_point[k].n += calls;
		const char *actor = fl_results_str(r, "actor");
		for (k = 0; k < na && strcmp(by_actor[k].key, actor); k++)
			;
		if (k == na)
			by_actor[na++].key = fl_xstrdup(actor);
		by_actor[k].n += calls;
	}
	qsort(by_point, np, sizeof *by_point, tally_cmp);
	qsort(by_actor, na, sizeof *by_actor, tally_cmp);
	json_t *digests = fl_results_obj(j, "digests");
	fl_buf_printf(b, "<table><tr><th>Point</th><th>errno</th><th>Faults%s</th>"
			 "%s</tr>",
		      truncated ? " (in the records kept)" : "",
		      digests ? "<th>Digest of the point</th>" : "");
	for (size_t k = 0; k < np; k++) {
		if (k < 50) {
			char *tab = strchr(by_point[k].key, '\t');
			*tab = '\0';
			fl_buf_puts(b, "<tr><td><code>");
			fl_escape_xml(b, by_point[k].key);
			fl_buf_puts(b, "</code></td><td>");
			fl_escape_xml(b, tab + 1);
			fl_buf_printf(b, "</td><td class=\"n\">%lld</td>",
				      by_point[k].n);
			if (digests) {
				fl_buf_puts(b, "<td><code>");
				fl_escape_xml(b, fl_results_str(digests, by_point[k].key));
				fl_buf_puts(b, "</code></td>");
			}
			fl_buf_puts(b, "</tr>");
		}
		free(by_point[k].key);
	}
	fl_buf_puts(b, "</table><p>by actor (thread): ");
	for (size_t k = 0; k < na; k++) {
		if (k < 30) {
			fl_buf_puts(b, k ? ", <code>" : "<code>");
			fl_escape_xml(b, by_actor[k].key);
			fl_buf_printf(b, "</code> %lld", by_actor[k].n);
		} else if (k == 30) {
			fl_buf_printf(b, ", and %zu more", na - 30);
		}
		free(by_actor[k].key);
	}
	fl_buf_puts(b, "</p>");
	free(by_point);
	free(by_actor);
}

/* The first records as plain text columns: a table row per fault would be
 * most of the page in a suite of long journals. */
static void journal_records(fl_buf *b, json_t *recs)
{
	size_t n = json_array_size(recs);
	fl_buf_printf(b, "<details><summary>the first %zu records</summary><pre>"
			 "%9s  %-28s %-8s %8s  %s\n",
		      n < MAX_JOURNAL_ROWS ? n : MAX_JOURNAL_ROWS, "t (s)", "point",
		      "actor", "call n", "errno");
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		if (i == MAX_JOURNAL_ROWS) {
			fl_buf_printf(b, "… %zu more in the journal file\n",
				      n - MAX_JOURNAL_ROWS);
			break;
		}
		fl_buf_printf(b, "%9.3f  ", fl_results_num(r, "t"));
		fl_escape_xml(b, fl_results_str(r, "point"));
		for (size_t w = strlen(fl_results_str(r, "point")); w < 28; w++)
			fl_buf_putc(b, ' ');
		fl_buf_putc(b, ' ');
		fl_escape_xml(b, fl_results_str(r, "actor"));
		for (size_t w = strlen(fl_results_str(r, "actor")); w < 8; w++)
			fl_buf_putc(b, ' ');
		fl_buf_printf(b, " %8lld  ", fl_results_int(r, "n"));
		fl_escape_xml(b, fl_results_str(r, "errno"));
		/* A run: the calls from n on, until its last. */
		long long count = fl_results_int(r, "count");
		if (count > 1)
			fl_buf_printf(b, "  x%lld, to call %lld at %.3f s", count,
				      fl_results_int(r, "n") + count - 1,
				      fl_results_num(r, "t_last"));
		fl_buf_putc(b, '\n');
	}
	fl_buf_puts(b, "</pre></details>");
}

static void journal(fl_buf *b, json_t *s)
{
	json_t *j = fl_results_obj(s, "journal");
	if (!j)
		return;
	json_t *recs = fl_results_arr(j, "records");
	size_t n = json_array_size(recs);
	fl_buf_puts(b, "<h3>Fault journal</h3><p>digest <code>");
	fl_escape_xml(b, fl_results_str(j, "digest"));
	fl_buf_printf(b, "</code> · %lld fault%s recorded", fl_results_int(j, "total"),
		      fl_results_int(j, "total") == 1 ? "" : "s");
	long long lost = fl_results_int(j, "lost");
	if (lost)
		fl_buf_printf(b, " · <span class=\"bad\">%lld lost</span> (the "
				 "digest does not cover them)",
			      lost);
	/* Older results have no waits: absent reads as 0 here. */
	long long waits = fl_results_int(j, "waits");
	if (waits > 0)
		fl_buf_printf(b, " · the target waited %lld time%s (%.3f s in all) "
				 "for the journal to be drained",
			      waits, waits == 1 ? "" : "s",
			      fl_results_num(j, "waited_s"));
	int truncated = fl_results_bool(j, "truncated");
	if (truncated)
		fl_buf_printf(b, " · the results keep the first %zu records", n);
	if (fl_results_opt_str(j, "file")) {
		/* A file beside this page (a relative link, which the policy
		 * allows since it is a navigation, not a load). */
		fl_buf_puts(b, " · every record: <a href=\"");
		fl_escape_xml(b, fl_results_str(j, "file"));
		fl_buf_puts(b, "\">");
		fl_escape_xml(b, fl_results_str(j, "file"));
		fl_buf_puts(b, "</a>");
	}
	fl_buf_puts(b, "</p>");
	if (!n)
		return;
	journal_tallies(b, j, recs, truncated);
	journal_records(b, recs);
}

static void coverage(fl_buf *b, json_t *s)
{
	json_t *p = fl_results_obj(s, "points");
	if (!json_object_size(p))
		return;
	fl_buf_puts(b, "<h3>Fault coverage</h3><table><tr><th>Point</th>"
		       "<th>Calls seen</th><th>Faults fired</th><th>Share</th>"
		       "</tr>");
	const char *k;
	json_t *v;
	json_object_foreach(p, k, v)
	{
		double fired = fl_results_num(v, "fired"), calls = fl_results_num(v, "calls");
		fl_buf_puts(b, "<tr><td><code>");
		fl_escape_xml(b, k);
		fl_buf_printf(b, "</code></td><td class=\"n\">%.0f</td>", calls);
		if (fired == 0)
			fl_buf_puts(b, "<td class=\"n bad\">0 (never fired)</td>");
		else
			fl_buf_printf(b, "<td class=\"n\">%.0f</td>", fired);
		if (calls > 0)
			fl_buf_printf(b, "<td class=\"n\">%.1f %%</td></tr>",
				      100 * fired / calls);
		else
			fl_buf_puts(b, "<td class=\"n\">–</td></tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void repeat(fl_buf *b, json_t *s)
{
	json_t *r = fl_results_obj(s, "repeat");
	if (!json_is_object(r))
		return;
	json_t *vs = fl_results_arr(r, "verdicts"), *ds = fl_results_arr(r, "digests");
	json_t *durs = fl_results_arr(r, "durations_s");
	fl_buf_printf(b, "<h3>Repeated %lld times</h3><table><tr><th>Run</th>"
			 "<th>Verdict</th><th>Journal digest</th>%s</tr>",
		      fl_results_int(r, "runs"),
		      json_array_size(durs) ? "<th>Duration</th>" : "");
	const char *d0 = json_string_value(json_array_get(ds, 0));
	fl_verdict v0 = fl_verdict_parse(json_string_value(json_array_get(vs, 0)));
	size_t n = json_array_size(vs) > json_array_size(ds) ? json_array_size(vs)
							      : json_array_size(ds);
	for (size_t i = 0; i < n && i < MAX_ROWS; i++) {
		json_t *vj = json_array_get(vs, i);
		fl_verdict v = fl_verdict_parse(json_string_value(vj));
		const char *d = json_string_value(json_array_get(ds, i));
		int vdiff = vj && v != v0;
		int ddiff = d && d0 && strcmp(d, d0);
		fl_buf_printf(b, "<tr><td class=\"n\">%zu</td><td class=\"%s\">", i + 1,
			      vdiff ? "bad" : "");
		fl_escape_xml(b, vj ? fl_verdict_name(v) : "–");
		fl_buf_printf(b, "</td><td class=\"%s\"><code>", ddiff ? "bad" : "");
		fl_escape_xml(b, d ? d : "–");
		fl_buf_puts(b, "</code></td>");
		if (json_array_size(durs))
			fl_buf_printf(b, "<td class=\"n\">%.2f s</td>",
				      json_number_value(json_array_get(durs, i)));
		fl_buf_puts(b, "</tr>");
	}
	fl_buf_puts(b, "</table>");
}

static void target_info(fl_buf *b, json_t *t)
{
	fl_buf_puts(b, "<p class=\"muted\">");
	json_t *argv = fl_results_arr(t, "argv");
	size_t i;
	json_t *a;
	fl_buf_puts(b, "command: <code>");
	json_array_foreach(argv, i, a)
	{
		if (i)
			fl_buf_putc(b, ' ');
		fl_escape_xml(b, json_string_value(a));
	}
	fl_buf_puts(b, "</code>");
	json_t *ex = fl_results_obj(t, "exit");
	if (json_is_object(ex)) {
		fl_buf_puts(b, " · ended: ");
		if (fl_results_opt_str(ex, "signal"))
			fl_escape_xml(b, fl_results_str(ex, "signal"));
		else if (!isnan(fl_results_num(ex, "code")))
			fl_buf_printf(b, "exit %lld", fl_results_int(ex, "code"));
		if (fl_results_bool(ex, "core_dumped"))
			fl_buf_puts(b, " (core dumped)");
		if (fl_results_opt_str(ex, "stopped_by")) {
			fl_buf_puts(b, " (stopped by ");
			fl_escape_xml(b, fl_results_str(ex, "stopped_by"));
			fl_buf_puts(b, ")");
		}
	}
	json_t *fp = fl_results_obj(t, "footprint");
	if (json_is_object(fp)) {
		fl_buf_printf(b, " · harness footprint subtracted: %lld fd, %lld "
				 "thread, %.0f KiB (",
			      fl_results_int(fp, "fds"), fl_results_int(fp, "threads"),
			      (double)fl_results_int(fp, "bytes") / 1024);
		fl_escape_xml(b, fl_results_str(fp, "what"));
		fl_buf_puts(b, ")");
	}
	json_t *sm = fl_results_obj(t, "sampling");
	if (json_is_object(sm)) {
		fl_buf_printf(b, " · %lld samples at %.0f Hz, %.1f µs each (",
			      fl_results_int(sm, "samples"), fl_results_num(sm, "hz"),
			      fl_results_num(sm, "mean_cost_us"));
		const char *method = fl_results_opt_str(sm, "method");
		json_t *from = json_object_get(sm, "bpf_from_s");
		if (method && !strcmp(method, "bpf") && json_is_number(from))
			fl_buf_printf(b, "BPF from %.2f s, /proc before it, ",
				      json_number_value(from));
		else
			fl_buf_puts(b, "/proc, ");
		fl_buf_puts(b, "fds by ");
		fl_escape_xml(b, fl_results_str(sm, "fd_method"));
		const char *why = fl_results_opt_str(sm, "bpf_error");
		if (why) {
			fl_buf_puts(b, "; the BPF sampler did not load: ");
			fl_escape_xml(b, why);
		}
		fl_buf_puts(b, ")");
		if (fl_results_int(sm, "errors"))
			fl_buf_printf(b, " · <span class=\"bad\">%lld sampling "
					 "errors</span>",
				      fl_results_int(sm, "errors"));
		if (fl_results_int(sm, "missed_ticks"))
			fl_buf_printf(b, " · %lld missed ticks",
				      fl_results_int(sm, "missed_ticks"));
	}
	fl_buf_puts(b, "</p>");
	/* The processes of the target's tree (its figures are their sum),
	 * and those that left its session, killed at the end. */
	json_t *procs = fl_results_arr(t, "processes");
	if (json_array_size(procs) > 1) {
		fl_buf_puts(b, "<p>processes (figures summed): ");
		size_t pi;
		json_t *pr;
		json_array_foreach(procs, pi, pr)
		{
			if (pi == 20) {
				fl_buf_printf(b, ", %zu more",
					      json_array_size(procs) - 20);
				break;
			}
			fl_buf_puts(b, pi ? ", " : "");
			/* null: no sample saw it, and it never ran the
			 * agent to say (known from its parent's wait). */
			const char *pname = fl_results_opt_str(pr, "name");
			fl_escape_xml(b, pname ? pname : "(unknown name)");
			fl_buf_printf(b, " %lld%s%s", fl_results_int(pr, "pid"),
				      fl_results_bool(pr, "root") ? " (started)" : "",
				      fl_results_bool(pr, "left_session")
					      ? " (left the session)"
				      : fl_results_bool(pr, "left_group")
					      ? " (left the group)"
					      : "");
			/* A crash is named where the process is. */
			const char *sig = fl_results_opt_str(pr, "signal");
			if (fl_results_bool(pr, "crashed") && sig) {
				fl_buf_puts(b, " <span class=\"bad\">(killed by ");
				fl_escape_xml(b, sig);
				fl_buf_printf(b, " at %.2f s)</span>",
					      fl_results_num(pr, "exited"));
			}
		}
		fl_buf_puts(b, "</p>");
	}
	const char *escaped =
		fl_results_opt_str(fl_results_obj(t, "escaped"), "message");
	if (escaped) {
		fl_buf_puts(b, "<p class=\"bad\">");
		fl_escape_xml(b, escaped);
		fl_buf_puts(b, "</p>");
	}
	if (fl_results_opt_str(t, "start_error")) {
		fl_buf_puts(b, "<p class=\"bad\">");
		fl_escape_xml(b, fl_results_str(t, "start_error"));
		fl_buf_puts(b, "</p>");
	}
}

static void output_tails(fl_buf *b, json_t *t, int run, int runs)
{
	json_t *o = fl_results_obj(t, "output");
	if (!json_is_object(o))
		return;
	static const char *const which[2] = {"stdout", "stderr"};
	for (int k = 0; k < 2; k++) {
		char key[32];
		snprintf(key, sizeof key, "%s_tail", which[k]);
		const char *tail = fl_results_str(o, key);
		snprintf(key, sizeof key, "%s_bytes", which[k]);
		long long total = fl_results_int(o, key);
		/* The page shows the last lines only; the results file keeps
		 * the whole captured tail. */
		size_t len = strlen(tail);
		const char *shown = tail;
		if (len > MAX_TAIL_BYTES) {
			shown = tail + len - MAX_TAIL_BYTES;
			const char *nl = strchr(shown, '\n');
			if (nl && nl[1])
				shown = nl + 1;
		}
		fl_buf_puts(b, "<details><summary>");
		if (runs > 1)
			fl_buf_printf(b, "run %d: ", run);
		fl_buf_printf(b, "%s (", which[k]);
		if (!total)
			fl_buf_puts(b, "empty");
		else if ((long long)strlen(shown) < total)
			fl_buf_printf(b, "last %zu of %lld bytes", strlen(shown), total);
		else
			fl_buf_printf(b, "%lld bytes", total);
		fl_buf_puts(b, ")</summary><pre>");
		fl_escape_xml(b, shown);
		fl_buf_puts(b, "</pre></details>");
	}
}

void fl_html_scenario(fl_buf *b, json_t *s, int idx)
{
	const char *v = fl_verdict_name(fl_results_verdict(s));
	fl_buf_printf(b, "<section class=\"scenario\" id=\"s%d\"><h2><span "
			 "class=\"v v-",
		      idx);
	fl_escape_xml(b, v);
	fl_buf_puts(b, "\">");
	fl_escape_xml(b, v);
	fl_buf_puts(b, "</span> ");
	fl_escape_xml(b, fl_results_str(s, "name"));
	fl_buf_puts(b, "<a class=\"up\" href=\"#table\">back to the table</a></h2>");
	if (fl_results_opt_str(s, "message")) {
		fl_buf_puts(b, "<p class=\"msg\">");
		fl_escape_xml(b, fl_results_str(s, "message"));
		fl_buf_puts(b, "</p>");
	}
	if (fl_results_opt_str(s, "description")) {
		fl_buf_puts(b, "<p>");
		fl_escape_xml(b, fl_results_str(s, "description"));
		fl_buf_puts(b, "</p>");
	}
	fl_buf_puts(b, "<p class=\"muted\">");
	fl_escape_xml(b, fl_results_id(s));
	fl_buf_printf(b, " · seed %lld · %.2f s", fl_results_int(s, "seed"),
		      fl_results_num(s, "duration_s"));
	json_t *xf = fl_results_obj(s, "xfail");
	if (json_is_object(xf)) {
		fl_buf_puts(b, " · expected to fail");
		if (fl_results_opt_str(xf, "reason")) {
			fl_buf_puts(b, ": ");
			fl_escape_xml(b, fl_results_str(xf, "reason"));
		}
	}
	if (fl_results_bool(s, "time_based_windows"))
		fl_buf_puts(b, " · fault windows opened on wall-clock time "
			       "(not deterministic)");
	json_t *replay = fl_results_obj(s, "replay");
	if (json_is_object(replay))
		fl_buf_printf(b, " · a replay of %lld recorded faults",
			      fl_results_int(replay, "faults"));
	fl_buf_puts(b, "</p>");
	const char *rerun = fl_results_rerun(s);
	if (rerun) {
		fl_buf_puts(b, "<p>re-run: <code>");
		fl_escape_xml(b, rerun);
		fl_buf_puts(b, "</code></p>");
	}
	size_t i;
	json_t *err = fl_results_obj(s, "error");
	if (json_is_object(err) && fl_results_opt_str(err, "traceback")) {
		fl_buf_puts(b, "<pre>");
		fl_escape_xml(b, fl_results_str(err, "traceback"));
		fl_buf_puts(b, "</pre>");
	}
	json_t *warnings = fl_results_arr(s, "warnings");
	if (json_array_size(warnings)) {
		fl_buf_puts(b, "<div class=\"warn\"><ul>");
		json_t *w;
		json_array_foreach(warnings, i, w)
		{
			fl_buf_puts(b, "<li>");
			fl_escape_xml(b, json_string_value(w));
			fl_buf_puts(b, "</li>");
		}
		fl_buf_puts(b, "</ul></div>");
	}
	repeat(b, s);
	expectations(b, s);
	json_t *targets = fl_results_arr(s, "targets");
	size_t nt = json_array_size(targets);
	json_t *t;
	json_array_foreach(targets, i, t)
	{
		if (nt > 1)
			fl_buf_printf(b, "<h3>Target run %zu of %zu</h3>", i + 1, nt);
		target_info(b, t);
		fl_html_chart(b, s, t, idx, (int)i, nt == 1);
	}
	episodes(b, s);
	forensics(b, s);
	journal(b, s);
	coverage(b, s);
	json_array_foreach(targets, i, t)
		output_tails(b, t, (int)i + 1, (int)nt);
	json_t *log = fl_results_arr(s, "log");
	if (json_array_size(log)) {
		fl_buf_printf(b, "<details><summary>log (%zu lines)</summary><pre>",
			      json_array_size(log));
		json_t *e;
		json_array_foreach(log, i, e)
		{
			if (i == MAX_LOG_LINES) {
				fl_buf_printf(b, "… %zu more in results.json\n",
					      json_array_size(log) - MAX_LOG_LINES);
				break;
			}
			fl_buf_printf(b, "%8.3f  ", fl_results_num(e, "t"));
			fl_escape_xml(b, fl_results_str(e, "msg"));
			fl_buf_putc(b, '\n');
		}
		fl_buf_puts(b, "</pre></details>");
	}
	fl_buf_puts(b, "</section>");
}
