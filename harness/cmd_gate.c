/* faultline gate: compares a run with a baseline run (the last release's
 * results) and fails on what a release must not bring: a scenario that
 * newly fails, a new leak, or a recovery that got slower. It fails closed:
 * whatever it cannot judge (a scenario gone from the new run, a verdict it
 * cannot read, a figure no measurement can give) fails the gate with a
 * line that names it, and an input it cannot use at all is a usage
 * error. */
#define _GNU_SOURCE
#include "cli.h"
#include "compare.h"
#include "figures.h"
#include "gate.h"
#include "report.h"
#include "text.h"
#include "sweep.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage_head[] =
	"usage: faultline gate --baseline OLD [options] NEW\n"
	"\n"
	"Compares the results file NEW with the results file OLD (results.json\n"
	"files, or report directories holding one), scenario by scenario\n"
	"(matched by id), prints a table of what changed, improvements too,\n"
	"and fails on:\n"
	"\n"
	"  newly failing  a scenario that was PASS or XFAIL in OLD, or absent\n"
	"                 from it, and is FAIL, ERROR, XPASS or FLAKY in NEW\n"
	"  no verdict     a scenario of either file whose verdict is missing,\n"
	"                 null or not one faultline writes\n"
	"  removed        a scenario of OLD that NEW does not have (unless\n"
	"                 --allow-removed)\n"
	"  bad scenario   a scenario without an id, or an id given twice\n"
	"  bad figures    an MTTR or recovery time that is negative, not\n"
	"                 finite or not a number, a leak that is not finite\n";
/* ... "new leak", written from the table of figures ... */
static const char usage_tail[] =
	"  MTTR           the recovery times of NEW's episodes are slower\n"
	"                 than OLD's beyond what the measurement can tell\n"
	"                 apart (below); scenarios XFAIL in both runs are not\n"
	"                 checked\n"
	"  new crash or   a site of a sweep (faultline sweep) that crashes or\n"
	"  leak at a      leaks when its call fails, where the same site (its\n"
	"  site           scenario, point and the functions of its stack) did\n"
	"                 not in OLD\n"
	"\n"
	"MTTR is compared on the episodes' distributions (each episode's\n"
	"recovery_s), never on one mean. With fewer than --mttr-min-episodes\n"
	"recovered episodes on either side it is not compared, and the table\n"
	"says so (\"MTTR not compared: 1 and 1 episodes\"). Otherwise NEW is\n"
	"slower when its median exceeds OLD's median by more than the\n"
	"allowance AND at least 3 in 4 of the (OLD, NEW) episode pairs have\n"
	"the NEW one slower. The allowance is the sum of:\n"
	"  - the resolution: how finely recovery was dated (the time from the\n"
	"    observation before the one that dated it; the larger of the two\n"
	"    runs'), at least --mttr-floor;\n"
	"  - the baseline's own spread: the interquartile range of OLD's\n"
	"    recovery times;\n"
	"  - --mttr-threshold times OLD's median.\n"
	"Faster is the mirror image, and is listed as an improvement.\n"
	"\n"
	"A scenario that fails in both runs is listed as still failing and\n"
	"does not fail the gate.\n"
	"\n"
	"options:\n"
	"  --baseline OLD         the results to compare with (required)\n"
	"  --allow-removed        a scenario of OLD missing from NEW is listed,\n"
	"                         not a failure\n"
	"  --mttr-threshold R     allowed MTTR growth beyond the noise: 20% or\n"
	"                         0.2 of OLD's median (default 20%)\n"
	"  --mttr-floor D         the least resolution assumed: 5ms, 0.5s,\n"
	"                         200us, or seconds (default 5ms)\n"
	"  --mttr-min-episodes N  recovered episodes needed on each side to\n"
	"                         compare MTTR (default 3, at least 2)\n"
	"  --junit FILE           also write JUnit XML, one testcase per check\n"
	"  -q, --quiet            print only the failed checks and the verdict\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 the gate passed, 1 it failed, 2 bad usage or an\n"
	"unusable results file (unreadable, another schema or version than the\n"
	"other file, no scenarios), 3 the --junit file could not be written.\n";

/* The usage, whose "new leak" names the figures the gate compares: every
 * leak expectation, and the counts of the figures that are gated. */
static void usage(FILE *out)
{
	fl_buf leak, gated;
	fl_buf_init(&leak);
	fl_buf_init(&gated);
	int ngated = 0, seen = 0;
	for (int k = 0; k < FL_FIG_COUNT; k++)
		ngated += fl_figures[k].gated;
	fl_buf_puts(&leak, "a leak expectation (");
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		fl_buf_printf(&leak, "%s\"leaked %s\"", k ? ", " : "", fl_figures[k].key);
		if (fl_figures[k].gated) {
			seen++;
			fl_buf_printf(&gated, "%s%s",
				      seen == 1 ? "" : seen == ngated ? " or " : ", ",
				      fl_figures[k].key);
		}
	}
	fl_buf_printf(&leak, ") that failed in NEW but not in OLD, or leaked %s in "
			     "NEW where OLD had none; scenarios XFAIL in both "
			     "runs are not checked",
		      gated.data);
	fl_buf text;
	fl_buf_init(&text);
	fl_buf_puts(&text, usage_head);
	fl_buf_wrap(&text, "  new leak       ", 17, 72, leak.data);
	fl_buf_puts(&text, usage_tail);
	fputs(text.data, out);
	fl_buf_free(&text);
	fl_buf_free(&leak);
	fl_buf_free(&gated);
}

/* The first line of a message, for a table cell. */
static void first_line(char *out, size_t len, const char *msg)
{
	size_t n = strcspn(msg, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/* What a scenario's verdict field holds when it is not a verdict:
 * "missing", "null", "\"CRASHED\"", "5". */
static void describe_verdict(json_t *s, char *out, size_t len)
{
	json_t *v = json_object_get(s, "verdict");
	if (!v) {
		snprintf(out, len, "missing");
	} else if (json_is_null(v)) {
		snprintf(out, len, "null");
	} else if (json_is_string(v)) {
		fl_buf b;
		fl_buf_init(&b);
		fl_text_console(&b, json_string_value(v));
		snprintf(out, len, "\"%.60s\", not a verdict", b.data ? b.data : "");
		fl_buf_free(&b);
	} else {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		snprintf(out, len, "%.60s, not a verdict", text ? text : "?");
		free(text);
	}
}

/* Returns whether the verdicts could be compared at all. */
static int check_verdict(fl_gate *g, const char *id, json_t *o, json_t *n)
{
	fl_verdict ov = o ? fl_results_verdict(o) : FL_VERDICT_UNKNOWN;
	const char *ovs = o ? fl_verdict_name(ov) : "-";
	fl_verdict nv = fl_results_verdict(n);
	const char *nvs = fl_verdict_name(nv);
	char what[128];
	/* The gate cannot tell whether a scenario without a readable verdict
	 * passed, in either run, so it does not let it through. */
	if (nv == FL_VERDICT_UNKNOWN) {
		describe_verdict(n, what, sizeof what);
		fl_gate_add(g, id, "verdict", FL_GATE_FAILED, FL_GATE_NO_VERDICT,
			    ovs, nvs,
			    "no verdict in the new results (%s): they do not say "
			    "whether it passed",
			    what);
		return 0;
	}
	if (o && ov == FL_VERDICT_UNKNOWN) {
		describe_verdict(o, what, sizeof what);
		fl_gate_add(g, id, "verdict", FL_GATE_FAILED, FL_GATE_NO_VERDICT,
			    ovs, nvs,
			    "no verdict in the baseline (%s): nothing to compare the "
			    "new verdict with",
			    what);
		return 0;
	}
	char msg[240];
	first_line(msg, sizeof msg, fl_results_str(n, "message"));
	if (!fl_verdict_good(nv)) {
		if (!o || fl_verdict_good(ov))
			fl_gate_add(g, id, "verdict", FL_GATE_FAILED, FL_GATE_NEWLY_FAILING,
				    ovs, nvs,
				    "newly failing%s%s", *msg ? ": " : "", msg);
		else
			fl_gate_add(g, id, "verdict", FL_GATE_INFO, -1,
				    ovs, nvs,
				    "still failing%s%s", *msg ? ": " : "", msg);
		return 1;
	}
	if (!o)
		fl_gate_add(g, id, "verdict", FL_GATE_INFO, -1,
			    ovs, nvs, "new scenario");
	else if (!fl_verdict_good(ov))
		fl_gate_add(g, id, "verdict", FL_GATE_BETTER, -1,
			    ovs, nvs, "fixed: no longer fails");
	else if (ov != nv)
		fl_gate_add(g, id, "verdict", FL_GATE_INFO, -1,
			    ovs, nvs, "verdict changed");
	else
		fl_gate_add(g, id, "verdict", FL_GATE_OK, -1,
			    ovs, nvs, "unchanged");
	return 1;
}

/* Figures no measurement gives fail the gate, named; 0 when there are
 * none, so the scenario's figures can be compared. */
static int check_figures(fl_gate *g, const char *id, json_t *o, json_t *n)
{
	fl_buf why;
	fl_buf_init(&why);
	int bad = 0;
	fl_buf part;
	fl_buf_init(&part);
	if (fl_results_bad_figures(n, &part)) {
		fl_buf_printf(&why, "new results: %s", part.data);
		bad = 1;
	}
	fl_buf_reset(&part);
	if (o && fl_results_bad_figures(o, &part)) {
		fl_buf_printf(&why, "%sbaseline: %s", bad ? "; " : "", part.data);
		bad = 1;
	}
	if (bad)
		fl_gate_add(g, id, "figures", FL_GATE_FAILED, FL_GATE_BAD_FIGURES,
			    "-", "-",
			    "figures no measurement gives: %s", why.data);
	fl_buf_free(&part);
	fl_buf_free(&why);
	return bad;
}

/* The failed leak expectation named `what` ("leaked fds"), or NULL. */
static json_t *failed_leak(json_t *s, const char *what)
{
	size_t i;
	json_t *e;
	json_array_foreach(fl_results_arr(s, "expectations"), i, e)
	{
		if (!fl_results_bool(e, "ok") &&
		    !strcmp(fl_results_str(e, "what"), what))
			return e;
	}
	return NULL;
}

static void check_leaks(fl_gate *g, const char *id, json_t *o, json_t *n)
{
	fl_buf why, better;
	fl_buf_init(&why);
	fl_buf_init(&better);
	size_t i;
	json_t *e;
	/* Leak expectations that failed now and did not before. */
	json_array_foreach(fl_results_arr(n, "expectations"), i, e)
	{
		const char *what = fl_results_str(e, "what");
		if (strncmp(what, "leaked", 6) || fl_results_bool(e, "ok"))
			continue;
		if (o && failed_leak(o, what))
			continue;
		fl_buf_printf(&why, "%s%s %s (allowed %s)", why.len ? "; " : "",
			      what, fl_results_str(e, "measured"), fl_results_str(e, "allowed"));
	}
	/* And the other way round: fixed. */
	if (o) {
		json_array_foreach(fl_results_arr(o, "expectations"), i, e)
		{
			const char *what = fl_results_str(e, "what");
			if (strncmp(what, "leaked", 6) ||
			    fl_results_bool(e, "ok") || failed_leak(n, what))
				continue;
			fl_buf_printf(&better, "%s%s no longer fails (was %s)",
				      better.len ? "; " : "", what, fl_results_str(e, "measured"));
		}
	}
	/* Counts of the gated figures (fds, threads, files): things left
	 * behind where the old run left none, even within the scenario's
	 * allowance. */
	json_t *ol = o ? fl_results_obj(o, "leaks") : NULL;
	json_t *nl = fl_results_obj(n, "leaks");
	fl_buf oldv, newv;
	fl_buf_init(&oldv);
	fl_buf_init(&newv);
	for (int k = 0; k < FL_FIG_COUNT; k++) {
		const fl_figure_def *f = &fl_figures[k];
		if (!f->gated)
			continue;
		double a = fl_results_num(ol, f->key), b = fl_results_num(nl, f->key);
		char as[48], bs[48];
		fl_fmt_figure(f->id, a, as, sizeof as);
		fl_fmt_figure(f->id, b, bs, sizeof bs);
		if (!isnan(b))
			fl_buf_printf(&newv, "%s%s %s", newv.len ? ", " : "", bs, f->unit);
		if (!isnan(a))
			fl_buf_printf(&oldv, "%s%s %s", oldv.len ? ", " : "", as, f->unit);
		if (!o || !ol)
			continue;
		if (b > 0 && !(a > 0)) {
			char what[64];
			snprintf(what, sizeof what, "leaked %s", f->key);
			/* Named already by its failed expectation. */
			if (!failed_leak(n, what) || failed_leak(o, what))
				fl_buf_printf(&why, "%s%s %s left behind (none before)",
					      why.len ? "; " : "", bs, f->unit);
		} else if (a > 0 && !(b > 0)) {
			fl_buf_printf(&better, "%s%s no longer left behind",
				      better.len ? "; " : "", f->unit);
		}
	}
	if (!oldv.len)
		fl_buf_puts(&oldv, "-");
	if (!newv.len)
		fl_buf_puts(&newv, "-");
	if (why.len)
		fl_gate_add(g, id, "leaks", FL_GATE_FAILED, FL_GATE_NEW_LEAK,
			    oldv.data, newv.data,
			    "new leak: %s", why.data);
	else if (better.len)
		fl_gate_add(g, id, "leaks", FL_GATE_BETTER, -1,
			    oldv.data, newv.data, "%s",
			    better.data);
	else
		fl_gate_add(g, id, "leaks", FL_GATE_OK, -1,
			    oldv.data, newv.data, "no new leak");
	fl_buf_free(&oldv);
	fl_buf_free(&newv);
	fl_buf_free(&why);
	fl_buf_free(&better);
}

/* "29.6 ms (5)": a median and how many episodes it is of. */
static void median_cell(char *out, size_t len, double median, size_t n)
{
	if (n == 0) {
		snprintf(out, len, "-");
		return;
	}
	char m[48];
	fl_fmt_seconds(m, sizeof m, median);
	snprintf(out, len, "%s (%zu)", m, n);
}

static void check_mttr(fl_gate *g, const char *id, json_t *o, json_t *n)
{
	double *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	char err[128];
	/* check_figures has refused values these would not read. */
	if ((o && fl_results_recoveries(o, &a, &na, err, sizeof err) < 0) ||
	    fl_results_recoveries(n, &b, &nb, err, sizeof err) < 0) {
		free(a);
		free(b);
		return;
	}
	fl_compare_result r;
	fl_compare_mttr(a, na, o ? fl_results_recovery_resolution(o) : NAN, b, nb,
			fl_results_recovery_resolution(n), &g->mttr, &r);
	free(a);
	free(b);
	char av[64], bv[64];
	median_cell(av, sizeof av, r.median_old, na);
	median_cell(bv, sizeof bv, r.median_new, nb);
	if (na == 0 && nb == 0) {
		fl_gate_add(g, id, "mttr", FL_GATE_OK, -1,
			    av, bv, "not measured");
		return;
	}
	if (r.outcome == FL_COMPARE_NOT_COMPARED) {
		fl_gate_add(g, id, "mttr", FL_GATE_INFO, -1, av, bv,
			    "MTTR not compared: %zu and %zu episodes (needs %zu on each "
			    "side)",
			    na, nb, g->mttr.min_episodes);
		return;
	}
	char d[48], allow[48], res[48], spread[48], rel[48];
	fl_fmt_seconds(d, sizeof d, r.median_new - r.median_old);
	fl_fmt_seconds(allow, sizeof allow, r.allowance);
	fl_fmt_seconds(res, sizeof res, r.resolution);
	fl_fmt_seconds(spread, sizeof spread, r.spread);
	fl_fmt_seconds(rel, sizeof rel, r.relative);
	size_t pairs = na * nb;
	double slower = r.slower_pairs * (double)pairs;
	char because[256];
	snprintf(because, sizeof because,
		 "median %s%s, allowed %s (resolution %s + spread %s + %.0f %% "
		 "of the old median %s); %.4g of %zu pairs slower",
		 r.median_new >= r.median_old ? "+" : "", d, allow, res, spread,
		 g->mttr.threshold * 100, rel, slower, pairs);
	if (r.outcome == FL_COMPARE_SLOWER) {
		fl_gate_add(g, id, "mttr", FL_GATE_FAILED, FL_GATE_MTTR,
			    av, bv, "slower: %s", because);
	} else if (r.outcome == FL_COMPARE_FASTER) {
		fl_gate_add(g, id, "mttr", FL_GATE_BETTER, -1,
			    av, bv, "faster: %s", because);
	} else {
		fl_gate_add(g, id, "mttr", FL_GATE_OK, -1,
			    av, bv, "within the noise: %s", because);
	}
}

/* "20%" or "0.2". */
static int parse_ratio(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0) || !isfinite(v))
		return -1;
	if (!strcmp(end, "%")) {
		*out = v / 100;
		return 0;
	}
	/* A bare number above 1 is almost surely a percentage without its
	 * sign; refusing it beats reading 20 as 2000 %. */
	if (*end || v > 1)
		return -1;
	*out = v;
	return 0;
}

/* "5ms", "0.5s", "200us", "200µs", or a bare number of seconds. */
static int parse_duration(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0) || !isfinite(v))
		return -1;
	while (*end == ' ')
		end++;
	double mul;
	if (!*end || !strcmp(end, "s"))
		mul = 1;
	else if (!strcmp(end, "ms"))
		mul = 1e-3;
	else if (!strcmp(end, "us") || !strcmp(end, "µs"))
		mul = 1e-6;
	else if (!strcmp(end, "ns"))
		mul = 1e-9;
	else
		return -1;
	*out = v * mul;
	return 0;
}

static json_t *load(const char *arg, char *path, size_t len)
{
	fl_results_path(arg, path, len);
	char err[PATH_MAX + 256];
	json_t *doc;
	/* The gate reads figures, never the sampled series: each scenario
	 * is slimmed as it is read. */
	if (fl_results_read(path, FL_RESULTS_KEEP_FIGURES, &doc, err,
			    sizeof err) < 0) {
		fprintf(stderr, "faultline gate: %s\n", err);
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------------ */
/* The sweep: a site that newly crashes or leaks                        */
/* ------------------------------------------------------------------ */

/* Indexes a site of OLD's sweep by its match key (the first with it). */
static void index_old_site(json_t *sc, json_t *site, void *arg)
{
	json_t *by_key = arg;
	char key[1024];
	fl_sweep_site_match(sc, site, key, sizeof key);
	if (!json_object_get(by_key, key) && json_object_set(by_key, key, site))
		fl_out_of_memory();
}

/* A crash or a leak of a site of NEW's sweep fails the gate unless the
 * same site (by its scenario, point and functions: fl_sweep_site_match,
 * since offsets and lines move from build to build) crashed or leaked in
 * OLD too. */
static void check_site(json_t *sc, json_t *site, void *arg)
{
	void **a = arg;
	fl_gate *g = a[0];
	json_t *old_sites = a[1];
	const char *outcome = fl_results_str(site, "outcome");
	int crashed = !strcmp(outcome, "crashed"), leaked = !strcmp(outcome, "leaked");
	char key[1024], name[1200];
	fl_sweep_site_match(sc, site, key, sizeof key);
	snprintf(name, sizeof name, "%s: %s at %s", fl_results_str(sc, "id"),
		 fl_results_str(site, "point"), fl_results_str(site, "at"));
	json_t *found = json_object_get(old_sites, key);
	const char *was = found ? fl_results_str(found, "outcome") : "-";
	if (!crashed && !leaked) {
		if (found && (!strcmp(was, "crashed") || !strcmp(was, "leaked")) &&
		    !strcmp(outcome, "handled"))
			fl_gate_add(g, name, "site", FL_GATE_BETTER, -1,
				    was, outcome,
				    "fixed: its failed call is handled now");
		return;
	}
	if (!strcmp(was, outcome)) {
		fl_gate_add(g, name, "site", FL_GATE_INFO, -1,
			    was, outcome, "still %s: %s",
			    outcome, fl_results_str(site, "detail"));
		return;
	}
	fl_gate_add(g, name, "site", FL_GATE_FAILED, crashed ? FL_GATE_NEWLY_FAILING : FL_GATE_NEW_LEAK,
		    was,
		    outcome, "newly %s when its call fails: %s",
		    crashed ? "crashes" : "leaks", fl_results_str(site, "detail"));
}

static void check_sweep(fl_gate *g, json_t *old, json_t *new)
{
	/* OLD's sites by their match key, looked up once per site of NEW. */
	json_t *old_sites = json_object();
	if (!old_sites)
		fl_out_of_memory();
	fl_sweep_each_site(old, index_old_site, old_sites);
	void *arg[2] = {g, old_sites};
	fl_sweep_each_site(new, check_site, arg);
	json_decref(old_sites);
}

/* Is scenario k of doc the first with its id? */
static int first_with_id(json_t *doc, const fl_results_index *ix, size_t k)
{
	json_t *s = json_array_get(fl_results_scenarios(doc), k);
	return fl_results_index_get(ix, fl_results_id(s)) == s;
}

/* A scenario that cannot be matched (no id, or an id given twice) fails
 * the gate: one copy could hide a failure of the other. Returns whether
 * scenario k of doc can be compared. */
static int check_identity(fl_gate *g, json_t *doc,
			  const fl_results_index *ix, const char *which, size_t k)
{
	json_t *s = json_array_get(fl_results_scenarios(doc), k);
	const char *id = fl_results_id(s);
	char label[64];
	if (!*id) {
		snprintf(label, sizeof label, "(%s #%zu)", which, k + 1);
		fl_gate_add(g, label, "id", FL_GATE_FAILED, FL_GATE_BAD_SCENARIO,
			    "-", "-",
			    "scenario %zu of the %s has no id: it cannot be matched", k + 1,
			    which);
		return 0;
	}
	size_t times = fl_results_index_count(ix, id);
	if (times > 1) {
		if (first_with_id(doc, ix, k))
			fl_gate_add(g, id, "id", FL_GATE_FAILED, FL_GATE_BAD_SCENARIO,
				    "-", "-",
				    "the %s hold%s %zu scenarios with this id: which one "
				    "counts cannot be told",
				    which, strcmp(which, "baseline") ? "" : "s", times);
		return 0;
	}
	return 1;
}

/* Every check of every scenario of NEW, and the removed ones. */
static void compare(fl_gate *g, json_t *old, json_t *new)
{
	size_t i;
	json_t *n, *o;
	/* Each document's scenarios by id, built once: every look-up below
	 * takes constant time. */
	fl_results_index *old_ix = fl_results_index_new(old);
	fl_results_index *new_ix = fl_results_index_new(new);
	check_sweep(g, old, new);
	fl_results_foreach(old, i, o)
		check_identity(g, old, old_ix, "baseline", i);
	fl_results_foreach(new, i, n)
	{
		/* A sweep's site runs are judged by site, above: their ids
		 * hold offsets that move from build to build. */
		if (fl_results_obj(n, "sweep_site"))
			continue;
		if (!check_identity(g, new, new_ix, "new results", i))
			continue;
		const char *id = fl_results_id(n);
		o = fl_results_index_get(old_ix, id);
		/* A baseline scenario given twice was failed above; compare
		 * with nothing rather than with one of them. */
		if (o && fl_results_index_count(old_ix, id) > 1)
			o = NULL;
		int comparable = check_verdict(g, id, o, n);
		if (check_figures(g, id, o, n) || !comparable)
			continue;
		/* A scenario expected to fail in both runs is known to be
		 * broken: only its verdict is watched. */
		int both_xfail = o && fl_results_verdict(o) == FL_VERDICT_XFAIL &&
				 fl_results_verdict(n) == FL_VERDICT_XFAIL;
		if (both_xfail)
			continue;
		check_leaks(g, id, o, n);
		check_mttr(g, id, o, n);
	}
	fl_results_foreach(old, i, o)
	{
		if (fl_results_obj(o, "sweep_site"))
			continue;
		const char *id = fl_results_id(o);
		if (!*id || !first_with_id(old, old_ix, i) ||
		    fl_results_index_get(new_ix, id))
			continue;
		g->removed++;
		const char *ovs = fl_verdict_name(fl_results_verdict(o));
		if (g->allow_removed)
			fl_gate_add(g, id, "verdict", FL_GATE_INFO, -1,
				    ovs, "-",
				    "removed: not in the new results (allowed)");
		else
			fl_gate_add(g, id, "verdict", FL_GATE_FAILED, FL_GATE_REMOVED,
				    ovs, "-",
				    "removed: in the baseline, not in the new results "
				    "(--allow-removed lets it go)");
	}
	fl_results_index_free(old_ix);
	fl_results_index_free(new_ix);
}

struct gate_opts {
	const char *old_arg, *junit;
	int quiet;
};

/* -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, fl_gate *g, struct gate_opts *o)
{
	static const struct option longopts[] = {
		{"baseline", required_argument, NULL, 'b'},
		{"allow-removed", no_argument, NULL, 'A'},
		{"mttr-threshold", required_argument, NULL, 't'},
		{"mttr-floor", required_argument, NULL, 'f'},
		{"mttr-min-episodes", required_argument, NULL, 'm'},
		{"junit", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = fl_cli_getopt("gate", argc, argv, "qh", longopts)) != -1) {
		switch (ch) {
		case 'b':
			o->old_arg = optarg;
			break;
		case 'A':
			g->allow_removed = 1;
			break;
		case 't':
			if (parse_ratio(optarg, &g->mttr.threshold) < 0) {
				fprintf(stderr, "faultline gate: --mttr-threshold "
						"needs a share like 20%% or 0.2, "
						"not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			break;
		case 'f':
			if (parse_duration(optarg, &g->mttr.floor_s) < 0) {
				fprintf(stderr, "faultline gate: --mttr-floor needs "
						"a duration like 5ms, 0.5s or "
						"200us, not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			break;
		case 'm': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || errno || v < 2 || v > 1000000) {
				fprintf(stderr, "faultline gate: --mttr-min-episodes "
						"needs a whole number of at least 2 "
						"(one episode has no spread), not "
						"'%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			g->mttr.min_episodes = (size_t)v;
			break;
		}
		case 'j':
			o->junit = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return FL_EXIT_OK;
		default:
			return FL_EXIT_USAGE;
		}
	}
	const char *wrong = !o->old_arg ? "name the results to compare with: "
					  "--baseline OLD"
			    : argc - optind != 1 ? "give exactly one new results "
						   "file after the options"
						 : NULL;
	if (wrong)
		return fl_cli_usage_error("gate", "%s", wrong);
	return -1;
}

/* Inputs the gate cannot compare at all: 0, or the usage exit status
 * after a line for each. */
static int check_inputs(json_t *old, const char *old_path, json_t *new,
			const char *new_path)
{
	int bad = 0;
	json_int_t ov = json_integer_value(json_object_get(old, "schema_version"));
	json_int_t nv = json_integer_value(json_object_get(new, "schema_version"));
	if (ov != nv) {
		fprintf(stderr,
			"faultline gate: %s has results schema version %lld, %s "
			"version %lld: compare results of one version\n",
			old_path, (long long)ov, new_path, (long long)nv);
		bad = 1;
	}
	if (fl_results_count(old) == 0) {
		fprintf(stderr, "faultline gate: %s (the baseline) has no "
				"scenarios: there is nothing to compare with\n",
			old_path);
		bad = 1;
	}
	if (fl_results_count(new) == 0) {
		fprintf(stderr, "faultline gate: %s has no scenarios: an empty "
				"run cannot pass a gate\n",
			new_path);
		bad = 1;
	}
	return bad ? FL_EXIT_USAGE : 0;
}

int fl_cmd_gate(int argc, char **argv)
{
	fl_gate g;
	memset(&g, 0, sizeof g);
	g.mttr.threshold = 0.2;
	g.mttr.floor_s = 0.005;
	g.mttr.min_episodes = 3;
	struct gate_opts o = {0};
	int status = parse_opts(argc, argv, &g, &o);
	if (status >= 0)
		return status;
	char old_path[PATH_MAX], new_path[PATH_MAX];
	json_t *old = load(o.old_arg, old_path, sizeof old_path);
	if (!old)
		return FL_EXIT_USAGE;
	json_t *new = load(argv[optind], new_path, sizeof new_path);
	if (!new) {
		json_decref(old);
		return FL_EXIT_USAGE;
	}
	status = check_inputs(old, old_path, new, new_path);
	if (status) {
		json_decref(old);
		json_decref(new);
		return status;
	}
	compare(&g, old, new);
	if (!o.quiet) {
		char *oid = fl_gate_console(fl_results_str(fl_results_obj(old, "run"), "id"));
		char *nid = fl_gate_console(fl_results_str(fl_results_obj(new, "run"), "id"));
		printf("faultline gate: OLD %s (run %s, %zu scenarios)\n", old_path,
		       oid, fl_results_count(old));
		printf("                NEW %s (run %s, %zu scenarios)\n", new_path,
		       nid, fl_results_count(new));
		free(oid);
		free(nid);
		char fl[48];
		fl_fmt_seconds(fl, sizeof fl, g.mttr.floor_s);
		printf("MTTR: medians of at least %zu episodes on each side; may "
		       "grow by the resolution (at least %s) + the baseline's "
		       "spread + %.1f %% of its median, and fails only with 3 "
		       "in 4 episode pairs slower\n\n",
		       g.mttr.min_episodes, fl, g.mttr.threshold * 100);
	}
	fl_gate_print_table(&g, o.quiet);
	fl_gate_print_closing(&g, fl_results_count(new));
	status = fl_gate_failed_total(&g) ? FL_EXIT_FAILED : FL_EXIT_OK;
	if (o.junit) {
		int r = fl_gate_write_junit(&g, o.junit, old_path, new_path);
		if (r < 0) {
			fprintf(stderr, "faultline gate: %s: %s\n", o.junit, strerror(-r));
			status = FL_EXIT_INTERNAL;
		}
	}
	/* A verdict nobody could read is no verdict. */
	if (fflush(stdout) != 0) {
		fprintf(stderr, "faultline gate: cannot write to standard output\n");
		if (status == FL_EXIT_OK)
			status = FL_EXIT_INTERNAL;
	}
	for (size_t k = 0; k < g.n; k++) {
		free(g.checks[k].scenario);
		free(g.checks[k].old_value);
		free(g.checks[k].new_value);
		free(g.checks[k].detail);
	}
	free(g.checks);
	json_decref(old);
	json_decref(new);
	return status;
}
