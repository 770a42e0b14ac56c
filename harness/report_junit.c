/* JUnit XML: one testcase per scenario. FAIL, XPASS and FLAKY are
 * failures, ERROR is an error, XFAIL is reported as skipped with its
 * reason (it passed, in CI's terms, but a person may want to see it). */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

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

/* "scenarios/fd/close.lua" -> "scenarios.fd.close" */
static void classname(const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s", file);
	size_t n = strlen(out);
	if (n > 4 && strcmp(out + n - 4, ".lua") == 0)
		out[n - 4] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '/')
			*p = '.';
}

static void failure_body(fl_buf *b, json_t *s)
{
	fl_buf c;
	fl_buf_init(&c);
	fl_buf_printf(&c, "%s\n", str(s, "message"));
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(s, "expectations"), i, e)
	{
		if (json_is_true(json_object_get(e, "ok")))
			continue;
		fl_buf_printf(&c, "  %s %s\n", str(e, "where"), str(e, "message"));
	}
	/* A flaky scenario: what each repetition gave. */
	json_t *rep = json_object_get(s, "repeat");
	json_t *verdicts = json_object_get(rep, "verdicts");
	json_t *digests = json_object_get(rep, "digests");
	for (size_t k = 0; k < json_array_size(verdicts); k++) {
		const char *d = json_string_value(json_array_get(digests, k));
		fl_buf_printf(&c, "  run %zu: %s%s%s\n", k + 1,
			      json_string_value(json_array_get(verdicts, k))
				      ? json_string_value(json_array_get(verdicts, k))
				      : "?",
			      d ? ", journal " : "", d ? d : "");
	}
	json_t *journal = json_object_get(s, "journal");
	if (json_is_string(json_object_get(journal, "digest")))
		fl_buf_printf(&c, "fault journal digest %s (%lld faults)\n",
			      str(journal, "digest"),
			      (long long)json_integer_value(
				      json_object_get(journal, "total")));
	json_t *err = json_object_get(s, "error");
	if (json_is_object(err) && json_object_get(err, "traceback"))
		fl_buf_printf(&c, "%s\n", str(err, "traceback"));
	fl_buf_printf(&c, "seed %lld; re-run: %s\n",
		      (long long)json_integer_value(json_object_get(s, "seed")),
		      str(s, "rerun"));
	fl_escape_xml(b, c.data);
	fl_buf_free(&c);
}

int fl_report_junit(json_t *doc, const char *path)
{
	json_t *sc = json_object_get(doc, "scenarios");
	json_t *sum = json_object_get(doc, "summary");
	json_t *run = json_object_get(doc, "run");
	long long failures =
		json_integer_value(json_object_get(sum, "failed")) +
		json_integer_value(json_object_get(sum, "xpassed")) +
		json_integer_value(json_object_get(sum, "flaky"));
	long long errors = json_integer_value(json_object_get(sum, "errors"));
	long long skipped = json_integer_value(json_object_get(sum, "xfailed"));
	double total_time = json_number_value(json_object_get(run, "duration_s"));

	fl_buf b;
	fl_buf_init(&b);
	fl_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fl_buf_printf(&b,
		      "<testsuites name=\"faultline\" tests=\"%zu\" "
		      "failures=\"%lld\" errors=\"%lld\" skipped=\"%lld\" "
		      "time=\"%.3f\">\n",
		      json_array_size(sc), failures, errors, skipped, total_time);
	fl_buf_puts(&b, "  <testsuite name=\"faultline\"");
	attr(&b, "timestamp", str(run, "started"));
	attr(&b, "hostname", str(json_object_get(run, "host"), "hostname"));
	fl_buf_printf(&b,
		      " tests=\"%zu\" failures=\"%lld\" errors=\"%lld\" "
		      "skipped=\"%lld\" time=\"%.3f\">\n",
		      json_array_size(sc), failures, errors, skipped, total_time);
	fl_buf_puts(&b, "    <properties>\n");
	fl_buf_puts(&b, "      <property name=\"faultline_version\"");
	attr(&b, "value", str(doc, "faultline_version"));
	fl_buf_puts(&b, "/>\n    </properties>\n");

	size_t i;
	json_t *s;
	json_array_foreach(sc, i, s)
	{
		char cls[512];
		classname(str(s, "file"), cls, sizeof cls);
		const char *v = str(s, "verdict");
		fl_buf_puts(&b, "    <testcase");
		attr(&b, "classname", cls);
		attr(&b, "name", str(s, "name"));
		attr(&b, "file", str(s, "file"));
		fl_buf_printf(&b, " time=\"%.3f\">\n",
			      json_number_value(json_object_get(s, "duration_s")));
		if (!strcmp(v, "FAIL") || !strcmp(v, "XPASS") ||
		    !strcmp(v, "FLAKY")) {
			fl_buf_puts(&b, "      <failure");
			attr(&b, "type", v);
			attr(&b, "message", str(s, "message"));
			fl_buf_puts(&b, ">");
			failure_body(&b, s);
			fl_buf_puts(&b, "</failure>\n");
		} else if (!strcmp(v, "ERROR")) {
			fl_buf_puts(&b, "      <error");
			attr(&b, "type", v);
			attr(&b, "message", str(s, "message"));
			fl_buf_puts(&b, ">");
			failure_body(&b, s);
			fl_buf_puts(&b, "</error>\n");
		} else if (!strcmp(v, "XFAIL")) {
			char msg[1200];
			snprintf(msg, sizeof msg, "expected failure: %s",
				 str(s, "message"));
			fl_buf_puts(&b, "      <skipped");
			attr(&b, "message", msg);
			fl_buf_puts(&b, "/>\n");
		}
		json_t *targets = json_object_get(s, "targets");
		json_t *last = json_array_get(targets, json_array_size(targets) - 1);
		json_t *out = json_object_get(last, "output");
		if (out) {
			fl_buf_puts(&b, "      <system-out>");
			fl_escape_xml(&b, str(out, "stdout_tail"));
			fl_buf_puts(&b, "</system-out>\n      <system-err>");
			fl_escape_xml(&b, str(out, "stderr_tail"));
			fl_buf_puts(&b, "</system-err>\n");
		}
		fl_buf_puts(&b, "    </testcase>\n");
	}
	fl_buf_puts(&b, "  </testsuite>\n</testsuites>\n");
	int r = fl_write_file_atomic(path, b.data, b.len);
	fl_buf_free(&b);
	return r;
}
