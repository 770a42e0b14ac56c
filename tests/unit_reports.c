/* What a reader of the reports must see without digging: the reason of a
 * scenario that is not a plain PASS in the table of the HTML report (cut,
 * escaped, whole on hover); a tolerance band of "+1" or "+0" on a chart
 * whose axis runs to hundreds; JUnit classnames made of the scenario's
 * path without dots or empty packages; the trend page naming a scenario
 * by its newest name, also when the newest run lacks it. */
#include "testutil.h"

#include "cli.h"
#include "figures.h"
#include "report.h"
#include "results.h"

static char *dir;

static void setup(void)
{
	dir = tu_tempdir();
}

static void teardown(void)
{
	tu_rmrf(dir);
	free(dir);
}

TestSuite(reports, .init = setup, .fini = teardown);

/* A scenario of file with a name, a verdict and a message ("" for none),
 * 40 samples of fds (5, then 300 in the middle: an axis up to 300) and
 * threads (2), and the steady state of steady_json. */
static json_t *scenario(const char *file, const char *name, const char *verdict,
			const char *message, const char *steady_json)
{
	json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s}", "id", file, "file",
			      file, "name", name, "verdict", verdict, "message", message,
			      "seed", 1, "duration_s", 1.0, "rerun", "faultline run x");
	cr_assert_not_null(s);
	json_t *t = json_array(), *fds = json_array(), *threads = json_array(),
	       *rss = json_array();
	for (int i = 0; i < 40; i++) {
		json_array_append_new(t, json_real(i * 0.05));
		json_array_append_new(fds, json_integer(i >= 15 && i < 25 ? 300 : 5));
		json_array_append_new(threads, json_integer(2));
		json_array_append_new(rss, json_integer(4 << 20));
	}
	json_t *series = json_pack("{s:o,s:o,s:o,s:o}", "t", t, "fds", fds, "threads",
				   threads, "rss", rss);
	json_object_set_new(s, "targets",
			    json_pack("[{s:[s],s:i,s:o}]", "argv", "tgt", "pid", 1,
				      "series", series));
	json_object_set_new(s, "baseline",
			    json_pack("{s:f,s:f,s:i,s:i,s:i}", "from", 0.0, "to", 0.5,
				      "fds", 5, "threads", 2, "rss", 4 << 20));
	json_error_t err;
	json_object_set_new(s, "steady", json_loads(steady_json, 0, &err));
	return s;
}

static json_t *document(json_t *scenarios, const char *run_id, const char *started)
{
	json_t *doc = json_pack("{s:s,s:i,s:s,s:{s:s,s:s,s:f,s:{s:s}},s:o}", "schema",
				FL_RESULTS_SCHEMA, "schema_version",
				FL_RESULTS_SCHEMA_VERSION, "faultline_version", "test",
				"run", "id", run_id, "started", started, "duration_s",
				1.0, "host", "hostname", "h", "scenarios", scenarios);
	cr_assert_not_null(doc);
	cr_assert_eq(fl_results_summarize(doc), 0);
	return doc;
}

static char *render(int (*writer)(json_t *, const char *), json_t *doc,
		    const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_eq(writer(doc, path), 0, "%s", name);
	return tu_slurp(path);
}

/* The text of the n-th <td class="msgcol ..."> of the scenario table. */
static char *message_cell(const char *html, int n)
{
	const char *p = strstr(html, "<table id=\"sc\">");
	cr_assert_not_null(p);
	for (int i = 0; i <= n; i++) {
		p = strstr(p + 1, "<td class=\"msgcol");
		cr_assert_not_null(p, "no message cell %d", n);
	}
	const char *end = strstr(p, "</td>");
	return strndup(p, (size_t)(end - p) + 5);
}

Test(reports, table_shows_each_message_cut_and_escaped)
{
	/* 130 two-byte characters: the cut must fall between two of them. */
	char accents[300] = "";
	for (int i = 0; i < 130; i++)
		strcat(accents, "\xC3\xA9");
	char long_msg[1024];
	snprintf(long_msg, sizeof long_msg,
		 "leaked 239 fds (allowed 0): 239 x <script>alert(\"x\")</script> %s\n"
		 "second line",
		 accents);
	json_t *sc = json_pack("[o,o,o]",
			       scenario("a.lua", "passes", "PASS", "", "{}"),
			       scenario("b.lua", "leaky", "XFAIL", long_msg, "{}"),
			       scenario("c.lua", "fails", "FAIL", "recovery took 2.1 s (allowed 0.5 s)",
					"{}"));
	json_t *doc = document(sc, "r1", "2026-01-01T00:00:00Z");
	char *h = render(fl_report_html, doc, "index.html");
	cr_assert(strstr(h, ">Scenario</th><th class=\"sortable\" scope=\"col\">Message</th>"),
		  "no Message column after Scenario");

	char *c = message_cell(h, 0);
	cr_assert_str_eq(c, "<td class=\"msgcol muted\" data-s=\"\"></td>");
	free(c);

	c = message_cell(h, 1);
	cr_assert_null(strstr(c, "<script>"), "%s", c);
	cr_assert(strstr(c, " title=\"leaked 239 fds (allowed 0): 239 x &lt;script&gt;"
			    "alert(&quot;x&quot;)&lt;/script&gt; "),
		  "%s", c);
	cr_assert(strstr(c, "\nsecond line\">"), "the title lacks the second line: %s", c);
	/* Shown: the first line's first 120 characters, then an ellipsis. */
	const char *shown = strchr(strstr(c, "second line\""), '>') + 1;
	char want[1024];
	int before = (int)strlen("leaked 239 fds (allowed 0): 239 x <script>alert(\"x\")</script> ");
	snprintf(want, sizeof want,
		 "leaked 239 fds (allowed 0): 239 x &lt;script&gt;alert(&quot;x&quot;)"
		 "&lt;/script&gt; %.*s\xE2\x80\xA6</td>",
		 (120 - before) * 2, accents);
	cr_assert_str_eq(shown, want);
	free(c);

	c = message_cell(h, 2);
	cr_assert_str_eq(c, "<td class=\"msgcol\" data-s=\"recovery took 2.1 s (allowed "
			    "0.5 s)\">recovery took 2.1 s (allowed 0.5 s)</td>");
	free(c);
	free(h);
	json_decref(doc);
}

/* The height attribute of each <rect class="band" ...>, at most max. */
static int band_heights(const char *h, double *out, int max)
{
	int n = 0;
	for (const char *p = h; (p = strstr(p, "<rect class=\"band\"")) && n < max; p++) {
		const char *a = strstr(p, "height=\"");
		cr_assert_not_null(a);
		out[n++] = strtod(a + 8, NULL);
	}
	return n;
}

Test(reports, tolerance_band_is_visible_and_labelled)
{
	json_t *sc = json_pack("[o]", scenario("a.lua", "spiky", "PASS", "",
					       "{\"fds\":\"+1\",\"threads\":\"+0\"}"));
	json_t *doc = document(sc, "r1", "2026-01-01T00:00:00Z");
	char *h = render(fl_report_html, doc, "index.html");
	double heights[8];
	int n = band_heights(h, heights, 8);
	/* fds and threads have a tolerance; rss has none, so no band. */
	cr_assert_eq(n, 2, "%d bands", n);
	for (int i = 0; i < n; i++)
		cr_assert_geq(heights[i], 4.0, "band %d is %.1f high", i, heights[i]);
	cr_assert(strstr(h, "<text class=\"bandlab\"") && strstr(h, "text-anchor=\"end\">+1</text>"),
		  "no label for the fds band");
	cr_assert(strstr(h, "text-anchor=\"end\">+0</text>"), "no label for the threads band");
	cr_assert(strstr(h, "baseline and steady-state tolerance (fds +1, threads +0)"),
		  "the legend does not give the tolerances");
	free(h);
	json_decref(doc);
}

Test(reports, junit_classnames_are_dotted_paths)
{
	static const char *const files[][2] = {
		{"./1_http.lua", "1_http"},
		{"scenarios/fd/close.lua", "scenarios.fd.close"},
		{"../up/x.lua", "up.x"},
		{"/abs/dir/y.lua", "abs.dir.y"},
		{".hidden/z.lua", "hidden.z"},
		{"./a//b/./c.lua", "a.b.c"},
		{"plain", "plain"},
	};
	size_t n = sizeof files / sizeof files[0];
	json_t *sc = json_array();
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "case %zu", i);
		json_array_append_new(sc, scenario(files[i][0], name, "PASS", "", "{}"));
	}
	json_t *doc = document(sc, "r1", "2026-01-01T00:00:00Z");
	char *x = render(fl_report_junit, doc, "junit.xml");
	for (size_t i = 0; i < n; i++) {
		char want[128];
		snprintf(want, sizeof want, "classname=\"%s\" name=\"case %zu\"", files[i][1], i);
		cr_assert(strstr(x, want), "%s: no %s in\n%s", files[i][0], want, x);
	}
	cr_assert_null(strstr(x, "classname=\"."), "%s", x);
	free(x);
	json_decref(doc);
}

static char *write_doc(json_t *doc, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_eq(fl_report_json(doc, path), 0);
	return strdup(path);
}

Test(reports, trend_names_scenarios_by_their_newest_name)
{
	json_t *r1 = document(json_pack("[o,o]",
					scenario("s.lua", "old name", "PASS", "", "{}"),
					scenario("t.lua", "t", "PASS", "", "{}")),
			      "r1", "2026-01-01T00:00:00Z");
	json_t *r2 = document(json_pack("[o,o]",
					scenario("s.lua", "new name", "FAIL", "x", "{}"),
					scenario("t.lua", "t", "PASS", "", "{}")),
			      "r2", "2026-01-02T00:00:00Z");
	/* The newest run lacks s.lua. */
	json_t *r3 = document(json_pack("[o]", scenario("t.lua", "t", "PASS", "", "{}")),
			      "r3", "2026-01-03T00:00:00Z");
	char *p1 = write_doc(r1, "r1.json"), *p2 = write_doc(r2, "r2.json"),
	     *p3 = write_doc(r3, "r3.json");
	char page[PATH_MAX];
	snprintf(page, sizeof page, "%s/trend.html", dir);
	/* Given out of order: the runs are ordered by their start. */
	char *argv[] = {"faultline", "trend", "-q", p3, p1, p2, "-o", page, NULL};
	cr_assert_eq(fl_cmd_trend(7, argv + 1), 0);
	char *h = tu_slurp(page);
	cr_assert(strstr(h, "\">new name</a><br><span class=\"muted\">s.lua · not in the "
			    "newest run</span>"),
		  "the table does not name s.lua by its newest name");
	cr_assert(strstr(h, "<h2>new name</h2>"), "the section does not");
	cr_assert_null(strstr(h, "old name"));
	cr_assert_null(strstr(h, "\">s.lua</a>"));
	free(h);
	free(p1);
	free(p2);
	free(p3);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
}
