#define _GNU_SOURCE
/* The results module's fields and rules: accessors that say what an absent
 * field reads as, verdicts, the run's summary, failure signatures, recovery
 * times and the check of figures. Reading a document (the head check,
 * blocks, slimming, the index by id) is results_read.c. */
#include "results.h"

#include "figures.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */

const char *fl_results_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

const char *fl_results_opt_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

double fl_results_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

long long fl_results_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v) && isfinite(json_real_value(v)))
		return llround(json_real_value(v));
	return 0;
}

int fl_results_bool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

json_t *fl_results_obj(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_object(v) ? v : NULL;
}

json_t *fl_results_arr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_array(v) ? v : NULL;
}

json_t *fl_results_scenarios(json_t *doc)
{
	return fl_results_arr(doc, "scenarios");
}

size_t fl_results_count(json_t *doc)
{
	return json_array_size(fl_results_scenarios(doc));
}

const char *fl_results_id(json_t *scenario)
{
	return fl_results_str(scenario, "id");
}

json_t *fl_results_by_id(json_t *doc, const char *id)
{
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
		if (!strcmp(fl_results_id(s), id))
			return s;
	return NULL;
}

fl_verdict fl_results_verdict(json_t *scenario)
{
	return fl_verdict_parse(
		json_string_value(json_object_get(scenario, "verdict")));
}

json_t *fl_results_new(const char *faultline_version, json_t *run,
		       json_t *scenarios)
{
	json_t *doc = json_object();
	int bad = !doc || !run || !json_is_array(scenarios);
	bad = bad || json_object_set_new(doc, "schema", json_string(FL_RESULTS_SCHEMA));
	bad = bad || json_object_set_new(doc, "schema_version",
					 json_integer(FL_RESULTS_SCHEMA_VERSION));
	bad = bad || json_object_set_new(doc, "faultline_version",
					 json_string(faultline_version));
	bad = bad || json_object_set(doc, "run", run);
	bad = bad || json_object_set(doc, "scenarios", scenarios);
	bad = bad || fl_results_summarize(doc) < 0;
	json_decref(run);
	json_decref(scenarios);
	if (bad) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void fl_results_counts(json_t *doc, fl_verdict_counts *c)
{
	memset(c, 0, sizeof *c);
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
		fl_verdict_count(c, fl_results_verdict(s),
				 fl_results_bool(s, "load_error"));
}

json_t *fl_results_summary_new(const fl_verdict_counts *c)
{
	json_t *sum = json_object();
	if (!sum)
		return NULL;
	int bad = json_object_set_new(sum, "total", json_integer((json_int_t)c->total));
	for (int v = 0; v < FL_VERDICT_COUNT; v++)
		bad |= json_object_set_new(sum, fl_verdict_summary_key((fl_verdict)v),
					   json_integer((json_int_t)c->n[v]));
	bad |= json_object_set_new(sum, "load_errors",
				   json_integer((json_int_t)c->load_errors));
	bad |= json_object_set_new(sum, "exit_status",
				   json_integer(fl_verdict_exit_status(c)));
	if (bad) {
		json_decref(sum);
		return NULL;
	}
	return sum;
}

int fl_results_summarize(json_t *doc)
{
	fl_verdict_counts c;
	fl_results_counts(doc, &c);
	json_t *sum = fl_results_summary_new(&c);
	if (!sum)
		return -ENOMEM;
	return json_object_set_new(doc, "summary", sum) ? -ENOMEM : 0;
}

long long fl_results_summary_count(json_t *doc, fl_verdict v)
{
	return fl_results_int(fl_results_obj(doc, "summary"),
			      fl_verdict_summary_key(v));
}

void fl_results_summary_line(json_t *doc, fl_buf *b)
{
	for (int v = 0; v < FL_VERDICT_COUNT; v++) {
		long long n = fl_results_summary_count(doc, (fl_verdict)v);
		if (n || v == FL_VERDICT_PASS || v == FL_VERDICT_FAIL)
			fl_buf_printf(b, "%s%lld %s", v ? ", " : "", n,
				      fl_verdict_summary_key((fl_verdict)v));
	}
}

int fl_results_exit_status(json_t *doc)
{
	json_t *v = json_object_get(fl_results_obj(doc, "summary"), "exit_status");
	return json_is_integer(v) ? (int)json_integer_value(v) : 2;
}

/* ------------------------------------------------------------------ */
/* Failures and figures                                                */

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *fl_results_rerun(json_t *scenario)
{
	const char *cmd = fl_results_opt_str(scenario, "rerun");
	if (!cmd || !*cmd || fl_results_bool(scenario, "load_error"))
		return NULL;
	if (fl_results_verdict(scenario) != FL_VERDICT_ERROR)
		return cmd;
	/* An ERROR after a target started (a script error, an interruption,
	 * a measurement that failed) may come out otherwise next time. */
	size_t i;
	json_t *t;
	json_array_foreach(fl_results_arr(scenario, "targets"), i, t)
	{
		if (fl_results_int(t, "pid") > 0 && !fl_results_opt_str(t, "start_error"))
			return cmd;
	}
	return NULL;
}

/* Expectations whose measured value names the outcome itself (a status,
 * a signal), not an amount that varies from run to run. */
static int outcome_expectation(const char *what)
{
	return !strcmp(what, "survival") || !strcmp(what, "exit") ||
	       !strcmp(what, "signal");
}

void fl_results_failure_signature(json_t *scenario, const char *only,
				  fl_buf *out)
{
	json_t *ex = fl_results_arr(scenario, "expectations");
	size_t n = json_array_size(ex), k = 0, i;
	char **items = fl_xcalloc(n + 1, sizeof *items);
	json_t *e;
	json_array_foreach(ex, i, e)
	{
		if (fl_results_bool(e, "ok"))
			continue;
		const char *what = fl_results_str(e, "what");
		if (only && strcmp(what, only))
			continue;
		fl_buf item;
		fl_buf_init(&item);
		fl_buf_puts(&item, *what ? what : "(unnamed)");
		if (outcome_expectation(what))
			fl_buf_printf(&item, " (%s)", fl_results_str(e, "measured"));
		items[k++] = fl_buf_steal(&item);
	}
	qsort(items, k, sizeof *items, cmp_cstr);
	int first = 1;
	for (i = 0; i < k; i++) {
		if (i == 0 || strcmp(items[i], items[i - 1]))
			fl_buf_printf(out, "%s%s", first ? "" : "; ", items[i]);
		first = 0;
	}
	for (i = 0; i < k; i++)
		free(items[i]);
	free(items);
}

int fl_results_recoveries(json_t *scenario, double **out, size_t *n,
			  char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	json_t *eps = fl_results_arr(scenario, "episodes");
	size_t i, k = 0;
	json_t *e;
	double *v = fl_xmalloc((json_array_size(eps) + 1) * sizeof *v);
	json_array_foreach(eps, i, e)
	{
		json_t *r = json_object_get(e, "recovery_s");
		if (!r || json_is_null(r))
			continue;
		double x = json_is_number(r) ? json_number_value(r) : NAN;
		if (!isfinite(x) || x < 0) {
			snprintf(err, errlen,
				 "episode %zu: recovery_s is %s", i + 1,
				 !json_is_number(r) ? "not a number"
				 : x < 0	    ? "negative"
						    : "not finite");
			free(v);
			return -EINVAL;
		}
		v[k++] = x;
	}
	if (k == 0) {
		free(v);
		return 0;
	}
	*out = v;
	*n = k;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The largest value of the array t that is below x, or NaN. */
static double before(json_t *t, double x)
{
	double best = NAN;
	size_t i;
	json_t *v;
	json_array_foreach(t, i, v)
	{
		double y = json_is_number(v) ? json_number_value(v) : NAN;
		if (y < x - 1e-9 && !(y <= best))
			best = y;
	}
	return best;
}

/* Does the array t hold x (to a nanosecond)? */
static int holds(json_t *t, double x)
{
	size_t i;
	json_t *v;
	json_array_foreach(t, i, v)
		if (json_is_number(v) && fabs(json_number_value(v) - x) < 1e-9)
			return 1;
	return 0;
}

double fl_results_recovery_resolution(json_t *scenario)
{
	json_t *health_t = fl_results_arr(fl_results_obj(scenario, "health"), "t");
	/* Samples share the episodes' clock only while there is one run of
	 * the target; after a restart, the health probes alone say. */
	json_t *targets = fl_results_arr(scenario, "targets");
	json_t *series_t =
		json_array_size(targets) == 1
			? fl_results_arr(fl_results_obj(json_array_get(targets, 0),
							"series"),
					 "t")
			: NULL;
	json_t *eps = fl_results_arr(scenario, "episodes");
	double *gaps = fl_xmalloc((json_array_size(eps) + 1) * sizeof *gaps);
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(eps, i, e)
	{
		double at = fl_results_num(e, "recovered_at");
		double off = fl_results_num(e, "off");
		if (!isfinite(at) || isnan(fl_results_num(e, "recovery_s")))
			continue;
		/* The observation that dated it, and the one of the same kind
		 * before it, which still saw the fault's effect. */
		double prev = holds(health_t, at)   ? before(health_t, at)
			      : holds(series_t, at) ? before(series_t, at)
						    : NAN;
		if (isnan(prev))
			continue;
		/* Nothing before the window's end can date a recovery. */
		if (isfinite(off) && prev < off)
			prev = off;
		gaps[n++] = at - prev;
	}
	double r = NAN;
	if (n) {
		qsort(gaps, n, sizeof *gaps, cmp_double);
		r = n % 2 ? gaps[n / 2] : (gaps[n / 2 - 1] + gaps[n / 2]) / 2;
	}
	free(gaps);
	return r;
}

/* A figure that must be a finite number, or null (not measured). */
static const char *bad_number(json_t *v, int nonnegative)
{
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_number(v))
		return "not a number";
	double x = json_number_value(v);
	if (!isfinite(x))
		return "not finite";
	if (nonnegative && x < 0)
		return "negative";
	return NULL;
}

int fl_results_bad_figures(json_t *scenario, fl_buf *why)
{
	int bad = 0;
	static const char *const mttr_keys[] = {"n", "mean_s", "p50_s", "p95_s",
						"max_s"};
	json_t *m = json_object_get(scenario, "mttr");
	if (m && !json_is_null(m) && !json_is_object(m)) {
		fl_buf_printf(why, "%smttr is not an object", bad++ ? "; " : "");
	} else {
		for (size_t k = 0; k < sizeof mttr_keys / sizeof *mttr_keys; k++) {
			const char *w = bad_number(json_object_get(m, mttr_keys[k]), 1);
			if (w)
				fl_buf_printf(why, "%smttr %s is %s", bad++ ? "; " : "",
					      mttr_keys[k], w);
		}
	}
	json_t *l = json_object_get(scenario, "leaks");
	if (l && !json_is_null(l) && !json_is_object(l)) {
		fl_buf_printf(why, "%sleaks is not an object", bad++ ? "; " : "");
	} else {
		/* A leak may be negative (fewer at the end than at the
		 * baseline); it cannot be infinite. */
		for (int k = 0; k < FL_FIG_COUNT; k++) {
			const char *w = bad_number(json_object_get(l, fl_figures[k].key), 0);
			if (w)
				fl_buf_printf(why, "%sleaked %s is %s", bad++ ? "; " : "",
					      fl_figures[k].key, w);
		}
	}
	json_t *eps = json_object_get(scenario, "episodes");
	if (eps && !json_is_null(eps) && !json_is_array(eps)) {
		fl_buf_printf(why, "%sepisodes is not an array", bad++ ? "; " : "");
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(eps, i, e)
		{
			const char *w = bad_number(json_object_get(e, "recovery_s"), 1);
			if (w)
				fl_buf_printf(why, "%sepisode %zu's recovery_s is %s",
					      bad++ ? "; " : "", i + 1, w);
		}
	}
	return bad;
}
