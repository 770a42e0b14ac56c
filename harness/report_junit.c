/* JUnit XML: one testcase per scenario. A verdict that is not good is a
 * failure, or an error when the harness could not judge (ERROR, or no
 * readable verdict); XFAIL is reported as skipped with its reason (it
 * passed, in CI's terms, but a person may want to see it). A sweep's
 * results have a testcase per site: each site's run is a scenario entry,
 * and a site the sweep did not try is a skipped testcase saying why. */
#define _GNU_SOURCE
#include "figures.h"
#include "report.h"
#include "sink.h"
#include "writers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An attribute. A parser turns a raw newline in an attribute value into a
 * space, so newlines are written as character references: a multi-line
 * message keeps its lines in CI's display. */
static void attr(fl_buf *b, const char *name, const char *value)
{
	fl_buf_printf(b, " %s=\"", name);
	fl_buf v;
	fl_buf_init(&v);
	fl_escape_xml(&v, value);
	for (size_t i = 0; i < v.len; i++) {
		if (v.data[i] == '\n')
			fl_buf_puts(b, "&#10;");
		else if (v.data[i] == '\r')
			fl_buf_puts(b, "&#13;");
		else if (v.data[i] == '\t')
			fl_buf_puts(b, "&#9;");
		else
			fl_buf_putc(b, v.data[i]);
	}
	fl_buf_free(&v);
	fl_buf_putc(b, '"');
}

/* The classname of a scenario file: its path as dotted packages, the way
 * CI groups test classes. "scenarios/fd/close.lua" -> "scenarios.fd.close",
 * "./1_http.lua" -> "1_http", "../suite/a.lua" -> "suite.a": no empty,
 * "." or ".." component, and no leading dot, whatever path the run was
 * given. */
static void classname(const char *file, char *out, size_t len)
{
	size_t n = strlen(file), at = 0;
	if (n > 4 && strcmp(file + n - 4, ".lua") == 0)
		n -= 4;
	for (size_t i = 0; i < n && len > 1;) {
		size_t part = strcspn(file + i, "/");
		if (i + part > n)
			part = n - i;
		/* Dots that start a component ("..", ".", ".hidden") would
		 * make an empty package. */
		size_t skip = 0;
		while (skip < part && file[i + skip] == '.')
			skip++;
		if (part > skip) {
			int w = snprintf(out + at, len - at, "%s%.*s", at ? "." : "",
					 (int)(part - skip), file + i + skip);
			at = w < 0 ? at : at + (size_t)w >= len ? len - 1 : at + (size_t)w;
		}
		i += part + 1;
	}
	if (at == 0)
		snprintf(out, len, "scenario");
}

/* What CI calls a verdict. */
enum junit_kind { JUNIT_PASSED, JUNIT_SKIPPED, JUNIT_FAILURE, JUNIT_ERROR };

static enum junit_kind junit_kind(fl_verdict v)
{
	if (fl_verdict_good(v))
		return v == FL_VERDICT_PASS ? JUNIT_PASSED : JUNIT_SKIPPED;
	return v == FL_VERDICT_ERROR || v == FL_VERDICT_UNKNOWN ? JUNIT_ERROR
								: JUNIT_FAILURE;
}

static void failure_body(fl_buf *b, json_t *s)
{
	fl_buf c;
	fl_buf_init(&c);
	fl_buf_printf(&c, "%s\n", fl_results_str(s, "message"));
	size_t i;
	json_t *e;
	json_array_foreach(fl_results_arr(s, "expectations"), i, e)
	{
		if (fl_results_bool(e, "ok"))
			continue;
		fl_buf_printf(&c, "  %s %s\n", fl_results_str(e, "where"), fl_results_str(e, "message"));
	}
	/* What the target left behind, every figure measured. */
	json_t *leaks = fl_results_obj(s, "leaks");
	int shown = 0;
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		double v = fl_results_num(leaks, fl_figures[k].key);
		if (isnan(v))
			continue;
		char txt[48];
		fl_figure_format_delta((enum fl_figure)k, v, txt, sizeof txt);
		fl_buf_printf(&c, "%s%s %s", shown++ ? ", " : "final minus baseline: ",
			      fl_figures[k].key, txt);
	}
	if (shown)
		fl_buf_putc(&c, '\n');
	/* A flaky scenario: what each repetition gave. */
	json_t *rep = fl_results_obj(s, "repeat");
	json_t *verdicts = fl_results_arr(rep, "verdicts");
	json_t *digests = fl_results_arr(rep, "digests");
	for (size_t k = 0; k < json_array_size(verdicts); k++) {
		const char *d = json_string_value(json_array_get(digests, k));
		fl_verdict v = fl_verdict_parse(
			json_string_value(json_array_get(verdicts, k)));
		fl_buf_printf(&c, "  run %zu: %s%s%s\n", k + 1, fl_verdict_name(v),
			      d ? ", journal " : "", d ? d : "");
	}
	json_t *journal = fl_results_obj(s, "journal");
	if (fl_results_opt_str(journal, "digest"))
		fl_buf_printf(&c, "fault journal digest %s (%lld faults)\n",
			      fl_results_str(journal, "digest"),
			      fl_results_int(journal, "total"));
	/* A sweep's site: the call that failed and its stack. */
	json_t *ss = fl_results_obj(s, "sweep_site");
	json_t *site = fl_results_obj(ss, "site");
	if (site) {
		fl_buf_printf(&c, "failed call: %s at %s\n",
			      fl_results_str(site, "point"), fl_results_str(site, "at"));
		size_t k;
		json_t *fr;
		json_array_foreach(fl_results_arr(site, "stack"), k, fr)
			fl_buf_printf(&c, "  #%zu %s\n", k, fl_results_str(fr, "at"));
	}
	json_t *err = fl_results_obj(s, "error");
	if (err && json_object_get(err, "traceback"))
		fl_buf_printf(&c, "%s\n", fl_results_str(err, "traceback"));
	const char *rerun = fl_results_rerun(s);
	if (rerun)
		fl_buf_printf(&c, "seed %lld; re-run: %s\n", fl_results_int(s, "seed"),
			      rerun);
	else
		fl_buf_printf(&c, "seed %lld\n", fl_results_int(s, "seed"));
	fl_escape_xml(b, c.data);
	fl_buf_free(&c);
}

/* Calls fn for every site a sweep did not try (its map says why). */
static void each_untried(json_t *doc, void (*fn)(json_t *sc, json_t *site, void *),
			 void *arg)
{
	size_t i, j;
	json_t *sc, *site;
	json_array_foreach(fl_results_arr(fl_results_obj(doc, "sweep"), "scenarios"),
			   i, sc)
		json_array_foreach(fl_results_arr(sc, "sites"), j, site)
			if (!strcmp(fl_results_str(site, "outcome"), "not tried"))
				fn(sc, site, arg);
}

static void count_untried(json_t *sc, json_t *site, void *arg)
{
	(void)sc;
	(void)site;
	(*(long long *)arg)++;
}

static void untried_case(json_t *sc, json_t *site, void *arg)
{
	fl_buf *b = arg;
	char cls[512], name[1024];
	classname(fl_results_str(sc, "file"), cls, sizeof cls);
	snprintf(name, sizeof name, "%s: %s at %s", fl_results_str(sc, "name"),
		 fl_results_str(site, "point"), fl_results_str(site, "at"));
	fl_buf_puts(b, "    <testcase");
	attr(b, "classname", cls);
	attr(b, "name", name);
	attr(b, "file", fl_results_str(sc, "file"));
	fl_buf_puts(b, " time=\"0.000\">\n      <skipped");
	attr(b, "message", fl_results_str(site, "detail"));
	fl_buf_puts(b, "/>\n    </testcase>\n");
}

/* The writer: the counts of the header come from a survey of the
 * scenarios; then a testcase per scenario, each written as it comes. */
struct junit {
	fl_sink *out;
	json_t *head;
	long long kinds[JUNIT_ERROR + 1];
	size_t count;
	fl_buf b;
};

static void *junit_create(void)
{
	struct junit *j = fl_xcalloc(1, sizeof *j);
	fl_buf_init(&j->b);
	return j;
}

static void junit_destroy(void *state)
{
	struct junit *j = state;
	fl_sink_discard(j->out);
	json_decref(j->head);
	fl_buf_free(&j->b);
	free(j);
}

static void junit_survey(void *state, json_t *s)
{
	struct junit *j = state;
	j->kinds[junit_kind(fl_results_verdict(s))]++;
	j->count++;
}

static int junit_begin(void *state, json_t *doc, const char *path)
{
	struct junit *j = state;
	int r = fl_sink_open(path, &j->out);
	if (r < 0)
		return r;
	j->head = json_incref(doc);
	json_t *run = fl_results_obj(doc, "run");
	long long untried = 0;
	each_untried(doc, count_untried, &untried);
	long long failures = j->kinds[JUNIT_FAILURE], errors = j->kinds[JUNIT_ERROR],
		  skipped = j->kinds[JUNIT_SKIPPED] + untried;
	double total_time = fl_results_num(run, "duration_s");
	if (isnan(total_time))
		total_time = 0;

	fl_buf *b = &j->b;
	fl_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fl_buf_printf(b,
		      "<testsuites name=\"faultline\" tests=\"%zu\" "
		      "failures=\"%lld\" errors=\"%lld\" skipped=\"%lld\" "
		      "time=\"%.3f\">\n",
		      j->count + (size_t)untried, failures, errors, skipped,
		      total_time);
	fl_buf_puts(b, "  <testsuite name=\"faultline\"");
	attr(b, "timestamp", fl_results_str(run, "started"));
	attr(b, "hostname", fl_results_str(fl_results_obj(run, "host"), "hostname"));
	fl_buf_printf(b,
		      " tests=\"%zu\" failures=\"%lld\" errors=\"%lld\" "
		      "skipped=\"%lld\" time=\"%.3f\">\n",
		      j->count + (size_t)untried, failures, errors, skipped,
		      total_time);
	fl_buf_puts(b, "    <properties>\n");
	fl_buf_puts(b, "      <property name=\"faultline_version\"");
	attr(b, "value", fl_results_str(doc, "faultline_version"));
	fl_buf_puts(b, "/>\n    </properties>\n");
	fl_sink_take(j->out, b);
	return fl_sink_error(j->out);
}

static int junit_scenario(void *state, json_t *s)
{
	struct junit *j = state;
	fl_buf *b = &j->b;
	char cls[512];
	classname(fl_results_str(s, "file"), cls, sizeof cls);
	fl_verdict verdict = fl_results_verdict(s);
	const char *v = fl_verdict_name(verdict);
	enum junit_kind kind = junit_kind(verdict);
	fl_buf_puts(b, "    <testcase");
	attr(b, "classname", cls);
	attr(b, "name", fl_results_str(s, "name"));
	attr(b, "file", fl_results_str(s, "file"));
	double duration = fl_results_num(s, "duration_s");
	fl_buf_printf(b, " time=\"%.3f\">\n", isnan(duration) ? 0 : duration);
	if (kind == JUNIT_FAILURE || kind == JUNIT_ERROR) {
		const char *tag = kind == JUNIT_FAILURE ? "failure" : "error";
		fl_buf_printf(b, "      <%s", tag);
		attr(b, "type", v);
		attr(b, "message", fl_results_str(s, "message"));
		fl_buf_puts(b, ">");
		failure_body(b, s);
		fl_buf_printf(b, "</%s>\n", tag);
	} else if (kind == JUNIT_SKIPPED) {
		char msg[1200];
		snprintf(msg, sizeof msg, "expected failure: %s",
			 fl_results_str(s, "message"));
		fl_buf_puts(b, "      <skipped");
		attr(b, "message", msg);
		fl_buf_puts(b, "/>\n");
	}
	json_t *targets = fl_results_arr(s, "targets");
	json_t *last = json_array_get(targets, json_array_size(targets) - 1);
	json_t *out = fl_results_obj(last, "output");
	if (out) {
		fl_buf_puts(b, "      <system-out>");
		fl_escape_xml(b, fl_results_str(out, "stdout_tail"));
		fl_buf_puts(b, "</system-out>\n      <system-err>");
		fl_escape_xml(b, fl_results_str(out, "stderr_tail"));
		fl_buf_puts(b, "</system-err>\n");
	}
	fl_buf_puts(b, "    </testcase>\n");
	fl_sink_take(j->out, b);
	return fl_sink_error(j->out);
}

static int junit_end(void *state)
{
	struct junit *j = state;
	each_untried(j->head, untried_case, &j->b);
	fl_buf_puts(&j->b, "  </testsuite>\n</testsuites>\n");
	fl_sink_take(j->out, &j->b);
	fl_sink *out = j->out;
	j->out = NULL;
	junit_destroy(j);
	return fl_sink_commit(out);
}

const fl_writer_ops fl_report_junit_ops = {
	.create = junit_create,
	.survey = junit_survey,
	.begin = junit_begin,
	.scenario = junit_scenario,
	.end = junit_end,
	.destroy = junit_destroy,
};

int fl_report_junit(json_t *doc, const char *path)
{
	return fl_writer_write(&fl_writers[FL_WRITER_JUNIT], doc, path);
}
