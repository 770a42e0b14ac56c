/* Every output names every figure of figures.h: a results document made
 * from the table (a leak, a baseline, samples and a failed expectation for
 * each figure) is rendered by every row of the table of writers, the gate
 * and the trend page,
 * and each output is searched for each figure. Adding a row to fl_figures
 * adds it to the document, so an output that lists figures by hand fails
 * here. */
#include "testutil.h"

#include "cli.h"
#include "figures.h"
#include "html.h"
#include "report.h"
#include "results.h"
#include "writers.h"

#include <sys/resource.h>

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

TestSuite(outputs, .init = setup, .fini = teardown);

/* The leak of figure k in the new run: distinct for every figure, and a
 * size for one measured in bytes. */
static double leak_of(int k)
{
	return fl_figures[k].bytes ? (k + 3) * 1048576.0 : k + 3;
}

static void add_figures(json_t *o, int k_offset, double scale)
{
	for (int k = 0; k < FL_FIG_COUNT; k++)
		json_object_set_new(o, fl_figures[k].key,
				    json_real(scale * leak_of(k) + k_offset));
}

/* A results document with one scenario; leaking says whether its leaks
 * are the figures' (else 0). */
static json_t *document(int leaking, const char *run_id, const char *started)
{
	json_t *sc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s,s:f}", "id",
			       "s.lua", "file", "s.lua", "name", "synthetic",
			       "verdict", leaking ? "FAIL" : "PASS", "message",
			       "leaked", "seed", 1, "duration_s", 1.0, "rerun",
			       "faultline run s.lua", "hold_s", 0.1);
	json_t *steady = json_object(), *base = json_object(), *fin = json_object(),
	       *leaks = json_object(), *series = json_object(),
	       *expects = json_array();
	json_object_set_new(base, "from", json_real(0));
	json_object_set_new(base, "to", json_real(0.1));
	add_figures(base, 10, 0);
	add_figures(fin, 10, leaking);
	add_figures(leaks, 0, leaking);
	json_t *t = json_array();
	for (int i = 0; i < 20; i++)
		json_array_append_new(t, json_real(i * 0.1));
	json_object_set_new(series, "t", t);
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const char *key = fl_figures[k].key;
		json_object_set_new(steady, key, json_string("+0"));
		json_t *v = json_array();
		for (int i = 0; i < 20; i++)
			json_array_append_new(v, json_real(10 + (i >= 10) * leaking *
								  leak_of(k)));
		json_object_set_new(series, key, v);
		if (!leaking)
			continue;
		char what[64], measured[64], message[128];
		snprintf(what, sizeof what, "leaked %s", key);
		fl_figure_format((enum fl_figure)k, leak_of(k), measured, sizeof measured);
		snprintf(message, sizeof message, "%s %s (allowed 0)", what, measured);
		json_array_append_new(expects,
				      json_pack("{s:s,s:b,s:s,s:s,s:s,s:s}", "what", what,
						"ok", 0, "measured", measured, "allowed",
						"0", "message", message, "where", "s.lua:1"));
	}
	json_object_set_new(sc, "steady", steady);
	json_object_set_new(sc, "baseline", base);
	json_object_set_new(sc, "final", fin);
	json_object_set_new(sc, "leaks", leaks);
	json_object_set_new(sc, "forensics", json_pack("{s:i}", "new_fd_count", 0));
	json_object_set_new(sc, "expectations", expects);
	json_object_set_new(sc, "targets",
			    json_pack("[{s:[s],s:i,s:o}]", "argv", "t", "pid", 1,
				      "series", series));
	json_t *doc = json_pack("{s:s,s:i,s:s,s:{s:s,s:s,s:f,s:{s:s}},s:[o]}",
				"schema", FL_RESULTS_SCHEMA, "schema_version",
				FL_RESULTS_SCHEMA_VERSION, "faultline_version", "test",
				"run", "id", run_id, "started", started, "duration_s",
				1.0, "host", "hostname", "h", "scenarios", sc);
	cr_assert_not_null(doc);
	cr_assert_eq(fl_results_summarize(doc), 0);
	return doc;
}

static char *write_doc(json_t *doc, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_eq(fl_report_json(doc, path), 0);
	return strdup(path);
}

/* Runs a command of the CLI in this process, its stdout into a string. */
static char *capture(int (*cmd)(int, char **), char **argv, int *status)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/stdout", dir);
	fflush(stdout);
	int saved = dup(1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	dup2(fd, 1);
	close(fd);
	int argc = 0;
	while (argv[argc])
		argc++;
	*status = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return tu_slurp(path);
}

static void has(const char *text, const char *what, const char *output,
		const char *figure)
{
	cr_assert(strstr(text, what), "%s does not mention figure %s: no '%s'",
		  output, figure, what);
}

Test(outputs, every_writer_names_every_figure)
{
	json_t *doc = document(1, "r2", "2026-01-02T00:00:00Z");
	/* Every row of the table of writers names every figure's key. */
	char *out[FL_WRITER_COUNT];
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, fl_writers[w].option);
		cr_assert_eq(fl_writer_write(&fl_writers[w], doc, path), 0, "%s",
			     fl_writers[w].name);
		out[w] = tu_slurp(path);
		for (int k = 0; k < FL_FIG_COUNT; k++)
			has(out[w], fl_figures[k].key, fl_writers[w].name,
			    fl_figures[k].key);
	}
	/* And each says it in its own way. */
	char *json = out[FL_WRITER_JSON], *junit = out[FL_WRITER_JUNIT],
	     *html = out[FL_WRITER_HTML], *om = out[FL_WRITER_OPENMETRICS];
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const fl_figure_def *f = &fl_figures[k];
		const char *label = fl_html_figure_label(f->id);
		char want[256], value[64];
		snprintf(want, sizeof want, "\"%s\":", f->key);
		has(json, want, "results.json", f->key);

		fl_figure_format_delta(f->id, leak_of(k), value, sizeof value);
		snprintf(want, sizeof want, "%s %s", f->key, value);
		has(junit, want, "junit.xml", f->key);

		/* Its pane, its line, its column and its leak in words. */
		snprintf(want, sizeof want, ">%s</text>", f->title);
		has(html, want, "index.html (chart pane)", f->key);
		snprintf(want, sizeof want, "<path class=\"line l-%s\"", f->key);
		has(html, want, "index.html (chart line)", f->key);
		snprintf(want, sizeof want, ">Leaked %s</th>", label);
		has(html, want, "index.html (table)", f->key);
		snprintf(want, sizeof want, ",\"%s\":[", f->short_key);
		has(html, want, "index.html (hover data)", f->key);
		snprintf(want, sizeof want, "[\"%s\",\"%s\",", f->short_key, label);
		has(html, want, "index.html (hover readout)", f->key);
		fl_figure_format(f->id, leak_of(k), value, sizeof value);
		snprintf(want, sizeof want, "%s +%s", label, value);
		has(html, want, "index.html (forensics)", f->key);

		snprintf(want, sizeof want,
			 "faultline_scenario_leaked_%s%s{scenario=\"s.lua\"} %.0f\n",
			 f->key, f->bytes ? "_bytes" : "", leak_of(k));
		has(om, want, "OpenMetrics", f->key);
	}
	for (int w = 0; w < FL_WRITER_COUNT; w++)
		free(out[w]);
	json_decref(doc);
}

/* The gate compares every gated figure's count, and its help names them. */
Test(outputs, gate_compares_every_gated_figure)
{
	json_t *old = document(0, "r1", "2026-01-01T00:00:00Z");
	json_t *new = document(1, "r2", "2026-01-02T00:00:00Z");
	/* Without the failed expectations, only the counts can fail it. */
	json_object_set_new(json_array_get(json_object_get(new, "scenarios"), 0),
			    "expectations", json_array());
	char *po = write_doc(old, "old.json"), *pn = write_doc(new, "new.json");
	char *argv[] = {"gate", "--baseline", po, pn, NULL};
	int status;
	char *out = capture(fl_cmd_gate, argv, &status);
	cr_assert_eq(status, 1, "%s", out);
	char *help_argv[] = {"gate", "--help", NULL};
	char *help = capture(fl_cmd_gate, help_argv, &status);
	int gated = 0;
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const fl_figure_def *f = &fl_figures[k];
		char want[128], value[64];
		snprintf(want, sizeof want, "\"leaked %s\"", f->key);
		has(help, want, "gate --help", f->key);
		if (!f->gated)
			continue;
		gated++;
		fl_figure_format(f->id, leak_of(k), value, sizeof value);
		snprintf(want, sizeof want, "%s %s left behind (none before)", value,
			 f->unit);
		has(out, want, "the gate", f->key);
	}
	cr_assert_geq(gated, 3, "fds, threads and files are gated");
	cr_assert(strstr(out, "1 new leak"), "%s", out);
	free(help);
	free(out);
	free(po);
	free(pn);
	json_decref(old);
	json_decref(new);
}

Test(outputs, trend_shows_every_figure)
{
	json_t *old = document(0, "r1", "2026-01-01T00:00:00Z");
	json_t *new = document(1, "r2", "2026-01-02T00:00:00Z");
	char *po = write_doc(old, "old.json"), *pn = write_doc(new, "new.json");
	char page[PATH_MAX];
	snprintf(page, sizeof page, "%s/trend.html", dir);
	char *argv[] = {"trend", "-q", po, pn, "-o", page, NULL};
	int status;
	free(capture(fl_cmd_trend, argv, &status));
	cr_assert_eq(status, 0);
	char *h = tu_slurp(page);
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const fl_figure_def *f = &fl_figures[k];
		char want[256], value[64];
		fl_figure_format(f->id, leak_of(k), value, sizeof value);
		snprintf(want, sizeof want, "%s %s, run r2", fl_html_figure_label(f->id),
			 value);
		has(h, want, "the trend page (chart)", f->key);
		snprintf(want, sizeof want, "class=\"ln lf-%s\"", f->key);
		has(h, want, "the trend page (line)", f->key);
	}
	free(h);
	free(po);
	free(pn);
	json_decref(old);
	json_decref(new);
}

/* A write that fails is an error for every writer, wherever it fails: a
 * file size limit makes the kernel refuse (EFBIG) whichever write crosses
 * it, the last flush of a buffer included, and nothing is left under the
 * file's name. (The results file of a small run is written by its last
 * flush alone: losing that error once left an empty results.json behind
 * a run that exited as if it were complete.) */
Test(outputs, a_failed_write_is_an_error_and_leaves_no_file)
{
	json_t *doc = document(1, "r3", "2026-01-03T00:00:00Z");
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		static const rlim_t limits[] = {0, 1, 100, 500};
		for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
			rlim_t limit = limits[l];
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s/out-%d-%lu", dir, w,
				 (unsigned long)limit);
			pid_t pid = fork();
			cr_assert_geq(pid, 0);
			if (pid == 0) {
				signal(SIGXFSZ, SIG_IGN);
				struct rlimit rl = {limit, limit};
				if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
					_exit(10);
				int r = fl_writer_write(&fl_writers[w], doc, path);
				_exit(r == -EFBIG ? 0 : r == 0 ? 11 : 12);
			}
			int st;
			cr_assert_eq(waitpid(pid, &st, 0), pid);
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
				  "%s with a %lu-byte limit: %s", fl_writers[w].name,
				  (unsigned long)limit,
				  WEXITSTATUS(st) == 11 ? "reported written"
							: "another error");
			cr_assert_neq(access(path, F_OK), 0,
				      "%s left %s behind", fl_writers[w].name, path);
		}
	}
	json_decref(doc);
}
