/* OpenMetrics text for Prometheus: the results of a run as gauges, written
 * atomically so that a textfile collector never reads half a file.
 *
 * Every family is a gauge, also the verdict (one sample per possible
 * verdict, 1 for the scenario's, like a stateset): node_exporter's textfile
 * collector parses the older Prometheus text format, which refuses the
 * stateset and info types but reads # UNIT and # EOF as comments, so gauges
 * keep one file valid for both parsers. No sample carries a timestamp (the
 * collector refuses them); faultline_run_start_timestamp_seconds says when
 * the run began. */
#define _GNU_SOURCE
#include "figures.h"
#include "report.h"
#include "sink.h"
#include "writers.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* A label value: backslash, double quote and newline escaped as the format
 * says; other control characters and invalid UTF-8 become U+FFFD, since a
 * label value must be UTF-8 and one stray byte would make the collector
 * drop the whole file. */
static void label_value(fl_buf *b, const char *value)
{
	const unsigned char *s = (const unsigned char *)(value ? value : "");
	size_t len = strlen((const char *)s);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = fl_utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			fl_buf_puts(b, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		if (s[i] == '\\')
			fl_buf_puts(b, "\\\\");
		else if (s[i] == '"')
			fl_buf_puts(b, "\\\"");
		else if (s[i] == '\n')
			fl_buf_puts(b, "\\n");
		else if (s[i] < 0x20 || s[i] == 0x7F)
			fl_buf_puts(b, "\xEF\xBF\xBD");
		else
			fl_buf_append(b, s + i, n);
		i += n;
	}
}

static void label(fl_buf *b, int first, const char *name, const char *value)
{
	fl_buf_printf(b, "%s%s=\"", first ? "{" : ",", name);
	label_value(b, value);
	fl_buf_putc(b, '"');
}

/* A number in the format's syntax: integers without an exponent, others
 * with enough digits to round-trip. */
static void value(fl_buf *b, double v)
{
	if (isnan(v))
		fl_buf_puts(b, "NaN");
	else if (isinf(v))
		fl_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		fl_buf_printf(b, "%.0f", v);
	else {
		/* The shortest form that reads back as the same double. */
		char t[40];
		for (int prec = 9; prec <= 17; prec++) {
			snprintf(t, sizeof t, "%.*g", prec, v);
			if (strtod(t, NULL) == v)
				break;
		}
		fl_buf_puts(b, t);
	}
}

static void family(fl_buf *b, const char *name, const char *unit,
		   const char *help)
{
	fl_buf_printf(b, "# TYPE %s gauge\n", name);
	if (unit)
		fl_buf_printf(b, "# UNIT %s %s\n", name, unit);
	fl_buf_printf(b, "# HELP %s %s\n", name, help);
}

/* One sample of a per-scenario family. */
static void scenario_sample(fl_buf *b, const char *name, json_t *s, double v)
{
	fl_buf_puts(b, name);
	label(b, 1, "scenario", fl_results_id(s));
	fl_buf_puts(b, "} ");
	value(b, v);
	fl_buf_putc(b, '\n');
}

static double faults_fired(json_t *s)
{
	double total = fl_results_num(fl_results_obj(s, "journal"), "total");
	if (!isnan(total))
		return total;
	double n = 0;
	const char *k;
	json_t *p;
	json_object_foreach(fl_results_obj(s, "points"), k, p)
		if (!isnan(fl_results_num(p, "fired")))
			n += fl_results_num(p, "fired");
	return n;
}

/* The run: what it was, when, how long, and its verdicts. */
static void run_families(fl_buf *b, json_t *doc)
{
	json_t *run = fl_results_obj(doc, "run");
	json_t *sum = fl_results_obj(doc, "summary");
	family(b, "faultline_run_info", NULL,
	       "The run: its id, faultline version and host (always 1).");
	fl_buf_puts(b, "faultline_run_info");
	label(b, 1, "run_id", fl_results_str(run, "id"));
	label(b, 0, "version", fl_results_str(doc, "faultline_version"));
	label(b, 0, "host", fl_results_str(fl_results_obj(run, "host"), "hostname"));
	fl_buf_puts(b, "} 1\n");
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *started = fl_results_str(run, "started");
	const char *end = strptime(started, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end && !*end) {
		family(b, "faultline_run_start_timestamp_seconds", "seconds",
		       "When the run started, in seconds since the epoch.");
		fl_buf_puts(b, "faultline_run_start_timestamp_seconds ");
		value(b, (double)timegm(&tm));
		fl_buf_putc(b, '\n');
	}
	family(b, "faultline_run_duration_seconds", "seconds",
	       "Wall time of the whole run.");
	fl_buf_puts(b, "faultline_run_duration_seconds ");
	value(b, fl_results_num(run, "duration_s"));
	fl_buf_putc(b, '\n');
	family(b, "faultline_run_exit_status", NULL,
	       "Exit status of the run: 0 passed, 1 a scenario failed, 2 a "
	       "scenario could not load, ended in ERROR or has no verdict.");
	fl_buf_puts(b, "faultline_run_exit_status ");
	value(b, fl_results_exit_status(doc));
	fl_buf_putc(b, '\n');
	family(b, "faultline_run_scenarios", NULL,
	       "Scenarios of the run by verdict.");
	for (int v = 0; v < FL_VERDICT_COUNT; v++) {
		fl_buf_puts(b, "faultline_run_scenarios");
		label(b, 1, "verdict", fl_verdict_name((fl_verdict)v));
		fl_buf_puts(b, "} ");
		value(b, (double)fl_results_summary_count(doc, (fl_verdict)v));
		fl_buf_putc(b, '\n');
	}
	family(b, "faultline_run_load_errors", NULL,
	       "Scenarios that could not be loaded.");
	fl_buf_puts(b, "faultline_run_load_errors ");
	value(b, (double)fl_results_int(sum, "load_errors"));
	fl_buf_putc(b, '\n');
}

/* ------------------------------------------------------------------ */
/* The writer. A family's samples are together in the file, but each
 * scenario has a sample in most families: the samples of the first
 * per-scenario family go straight to the file, those of each other
 * family to a spool of its own, copied in at the end. */

enum {
	FAM_INFO,	/* faultline_scenario_info, straight to the file */
	FAM_VERDICT,
	FAM_OK,
	FAM_DURATION,
	FAM_MTTR_MEAN,
	FAM_MTTR_P95,
	FAM_MTTR_MAX,
	FAM_LEAK,	/* FL_FIG_COUNT of them, one per figure */
	FAM_FIRED = FAM_LEAK + FL_FIG_COUNT,
	FAM_POINT_CALLS,
	FAM_POINT_FIRED,
	FAM_COUNT
};

struct fam {
	char name[128];
	const char *unit, *help;
	const char *obj, *key;	/* a number at scenario[.obj].key */
	fl_sink *spool;
	size_t samples;
};

struct om {
	char path[PATH_MAX];
	fl_sink *out;
	struct fam fam[FAM_COUNT];
	fl_buf b;
};

static void om_family(struct om *m, int f, const char *name, const char *unit,
		      const char *help, const char *obj, const char *key)
{
	snprintf(m->fam[f].name, sizeof m->fam[f].name, "%s", name);
	m->fam[f].unit = unit;
	m->fam[f].help = help;
	m->fam[f].obj = obj;
	m->fam[f].key = key;
}

static void *om_create(void)
{
	struct om *m = fl_xcalloc(1, sizeof *m);
	fl_buf_init(&m->b);
	om_family(m, FAM_INFO, "faultline_scenario_info", NULL,
		  "A scenario: its name, file and seed (always 1).", NULL, NULL);
	om_family(m, FAM_VERDICT, "faultline_scenario_verdict", NULL,
		  "1 for the scenario's verdict, 0 for the others.", NULL, NULL);
	om_family(m, FAM_OK, "faultline_scenario_ok", NULL,
		  "1 when the scenario passed or failed as expected.", NULL, NULL);
	om_family(m, FAM_DURATION, "faultline_scenario_duration_seconds",
		  "seconds", "From the start of the scenario to its verdict.",
		  NULL, "duration_s");
	om_family(m, FAM_MTTR_MEAN, "faultline_scenario_mttr_mean_seconds",
		  "seconds", "Mean time to recovery over the recovered episodes.",
		  "mttr", "mean_s");
	om_family(m, FAM_MTTR_P95, "faultline_scenario_mttr_p95_seconds",
		  "seconds", "95th percentile of the recovery times.", "mttr",
		  "p95_s");
	om_family(m, FAM_MTTR_MAX, "faultline_scenario_mttr_max_seconds",
		  "seconds", "Longest recovery time.", "mttr", "max_s");
	/* faultline_scenario_leaked_fds, ..._rss_bytes: every figure. */
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const fl_figure_def *f = &fl_figures[k];
		char name[128];
		snprintf(name, sizeof name, "faultline_scenario_leaked_%s%s", f->key,
			 f->bytes ? "_bytes" : "");
		om_family(m, FAM_LEAK + k, name, f->bytes ? "bytes" : NULL, f->help,
			  "leaks", f->key);
	}
	om_family(m, FAM_FIRED, "faultline_scenario_faults_fired", NULL,
		  "Faults injected into the target during the scenario.", NULL,
		  NULL);
	om_family(m, FAM_POINT_CALLS, "faultline_scenario_point_calls", NULL,
		  "Calls of a failure point seen while it was enabled.", NULL,
		  NULL);
	om_family(m, FAM_POINT_FIRED, "faultline_scenario_point_faults_fired",
		  NULL, "Faults injected at a failure point.", NULL, NULL);
	return m;
}

static void om_destroy(void *state)
{
	struct om *m = state;
	fl_sink_discard(m->out);
	for (int f = 0; f < FAM_COUNT; f++)
		fl_sink_discard(m->fam[f].spool);
	fl_buf_free(&m->b);
	free(m);
}

static int om_begin(void *state, json_t *doc, const char *path)
{
	struct om *m = state;
	snprintf(m->path, sizeof m->path, "%s", path);
	int r = fl_sink_open(path, &m->out);
	if (r < 0)
		return r;
	run_families(&m->b, doc);
	fl_sink_take(m->out, &m->b);
	return fl_sink_error(m->out);
}

/* Moves the sample in m->b to family f (its header first, for the
 * family written straight to the file). */
static int om_put(struct om *m, int f)
{
	struct fam *fa = &m->fam[f];
	fl_sink *to = m->out;
	if (f != FAM_INFO) {
		if (!fa->spool) {
			int r = fl_sink_spool(m->path, &fa->spool);
			if (r < 0)
				return r;
		}
		to = fa->spool;
	} else if (!fa->samples) {
		fl_buf h;
		fl_buf_init(&h);
		family(&h, fa->name, fa->unit, fa->help);
		fl_sink_take(to, &h);
		fl_buf_free(&h);
	}
	fa->samples++;
	fl_sink_take(to, &m->b);
	return fl_sink_error(to);
}

static int om_scenario(void *state, json_t *s)
{
	struct om *m = state;
	fl_buf *b = &m->b;
	char seed[32];
	snprintf(seed, sizeof seed, "%lld", fl_results_int(s, "seed"));
	fl_buf_puts(b, "faultline_scenario_info");
	label(b, 1, "scenario", fl_results_id(s));
	label(b, 0, "name", fl_results_str(s, "name"));
	label(b, 0, "file", fl_results_str(s, "file"));
	label(b, 0, "seed", seed);
	fl_buf_puts(b, "} 1\n");
	int r = om_put(m, FAM_INFO);
	fl_verdict verdict = fl_results_verdict(s);
	for (int v = 0; v < FL_VERDICT_COUNT; v++) {
		fl_buf_puts(b, "faultline_scenario_verdict");
		label(b, 1, "scenario", fl_results_id(s));
		label(b, 0, "verdict", fl_verdict_name((fl_verdict)v));
		fl_buf_printf(b, "} %d\n", verdict == (fl_verdict)v);
	}
	if (r == 0)
		r = om_put(m, FAM_VERDICT);
	scenario_sample(b, "faultline_scenario_ok", s, fl_verdict_good(verdict));
	if (r == 0)
		r = om_put(m, FAM_OK);
	for (int f = FAM_DURATION; f < FAM_FIRED && r == 0; f++) {
		struct fam *fa = &m->fam[f];
		double v = fl_results_num(fa->obj ? fl_results_obj(s, fa->obj) : s,
					  fa->key);
		if (isnan(v))
			continue;
		scenario_sample(b, fa->name, s, v);
		r = om_put(m, f);
	}
	scenario_sample(b, "faultline_scenario_faults_fired", s, faults_fired(s));
	if (r == 0)
		r = om_put(m, FAM_FIRED);
	/* Per failure point: calls seen while it was enabled, faults
	 * fired. */
	for (int k = 0; k < 2 && r == 0; k++) {
		int f = k ? FAM_POINT_FIRED : FAM_POINT_CALLS;
		const char *point;
		json_t *p;
		json_object_foreach(fl_results_obj(s, "points"), point, p)
		{
			/* A count the target could not report has no sample,
			 * rather than a 0 it did not measure. */
			double v = fl_results_num(p, k ? "fired" : "calls");
			if (isnan(v))
				continue;
			fl_buf_puts(b, m->fam[f].name);
			label(b, 1, "scenario", fl_results_id(s));
			label(b, 0, "point", point);
			fl_buf_puts(b, "} ");
			value(b, v);
			fl_buf_putc(b, '\n');
			if ((r = om_put(m, f)) < 0)
				break;
		}
	}
	fl_buf_reset(b);
	return r;
}

static int om_end(void *state)
{
	struct om *m = state;
	for (int f = FAM_INFO + 1; f < FAM_COUNT; f++) {
		struct fam *fa = &m->fam[f];
		if (!fa->samples)
			continue;
		family(&m->b, fa->name, fa->unit, fa->help);
		fl_sink_take(m->out, &m->b);
		fl_sink_copy(m->out, fa->spool);
	}
	fl_sink_puts(m->out, "# EOF\n");
	fl_sink *out = m->out;
	m->out = NULL;
	om_destroy(m);
	return fl_sink_commit(out);
}

const fl_writer_ops fl_report_openmetrics_ops = {
	.create = om_create,
	.begin = om_begin,
	.scenario = om_scenario,
	.end = om_end,
	.destroy = om_destroy,
};

int fl_report_openmetrics(json_t *doc, const char *path)
{
	return fl_writer_write(&fl_writers[FL_WRITER_OPENMETRICS], doc, path);
}
