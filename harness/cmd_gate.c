/* faultline gate: compares a run with a baseline run (the last release's
 * results) and fails on what a release must not bring: a scenario that
 * newly fails, a new leak, or a recovery that got slower. */
#define _GNU_SOURCE
#include "cli.h"
#include "figures.h"
#include "report.h"
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
	"                 from it, and is FAIL, ERROR, XPASS or FLAKY in NEW;\n"
	"                 or one without a readable verdict in NEW\n";
/* ... "new leak", written from the table of figures ... */
static const char usage_tail[] =
	"  MTTR           the mean or p95 recovery time grew by more than the\n"
	"                 threshold and by more than the floor (both must hold,\n"
	"                 so microsecond noise cannot fail a release); scenarios\n"
	"                 XFAIL in both runs are not checked\n"
	"  new crash or   a site of a sweep (faultline sweep) that crashes or\n"
	"  leak at a      leaks when its call fails, where the same site (its\n"
	"  site           scenario, point and the functions of its stack) did\n"
	"                 not in OLD\n"
	"\n"
	"A scenario that fails in both runs is listed as still failing and\n"
	"does not fail the gate; one missing from NEW is listed as removed.\n"
	"\n"
	"options:\n"
	"  --baseline OLD         the results to compare with (required)\n"
	"  --mttr-threshold R     allowed MTTR growth: 20% or 0.2 (default 20%)\n"
	"  --mttr-floor D         growth below this never fails: 5ms, 0.5s,\n"
	"                         200us, or seconds (default 5ms)\n"
	"  --junit FILE           also write JUnit XML, one testcase per check\n"
	"  -q, --quiet            print only the failed checks and the verdict\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 the gate passed, 1 it failed, 2 bad usage or an\n"
	"unreadable results file, 3 the --junit file could not be written.\n";

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

enum outcome { OK, INFO, BETTER, FAILED };

/* What the table's first column says: a failed check reads like a failed
 * scenario. */
static const char *outcome_name(enum outcome o)
{
	static const char *const names[] = {"ok", "info", "better"};
	return o == FAILED ? fl_verdict_name(FL_VERDICT_FAIL) : names[o];
}

struct check {
	char *scenario;
	const char *name;	/* verdict, leaks, mttr mean, mttr p95 */
	enum outcome outcome;
	char *old_value, *new_value, *detail;
	const char *kind;	/* for the closing count of failures */
};

struct gate {
	double threshold, floor_s;
	struct check *checks;
	size_t n, cap;
	int newly_failing, new_leaks, mttr_regressions, improvements;
};

static void add(struct gate *g, const char *scenario, const char *name,
		enum outcome outcome, const char *kind, const char *old_value,
		const char *new_value, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static void add(struct gate *g, const char *scenario, const char *name,
		enum outcome outcome, const char *kind, const char *old_value,
		const char *new_value, const char *fmt, ...)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->checks = fl_xrealloc(g->checks, g->cap * sizeof *g->checks);
	}
	struct check *c = &g->checks[g->n++];
	c->scenario = fl_xstrdup(scenario);
	c->name = name;
	c->outcome = outcome;
	c->kind = kind;
	c->old_value = fl_xstrdup(old_value);
	c->new_value = fl_xstrdup(new_value);
	fl_buf d;
	fl_buf_init(&d);
	va_list ap;
	va_start(ap, fmt);
	fl_buf_vprintf(&d, fmt, ap);
	va_end(ap);
	c->detail = fl_buf_steal(&d);
	if (outcome == BETTER)
		g->improvements++;
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

static void check_verdict(struct gate *g, const char *id, json_t *o, json_t *n)
{
	fl_verdict ov = o ? fl_results_verdict(o) : FL_VERDICT_UNKNOWN;
	const char *ovs = o ? fl_verdict_name(ov) : "-";
	if (!n) {
		add(g, id, "verdict", INFO, NULL, ovs, "-",
		    "removed: not in the new results");
		return;
	}
	fl_verdict nv = fl_results_verdict(n);
	const char *nvs = fl_verdict_name(nv);
	char msg[240];
	first_line(msg, sizeof msg, fl_results_str(n, "message"));
	/* The gate cannot tell whether a scenario without a readable
	 * verdict passed, so it does not let it through. */
	if (nv == FL_VERDICT_UNKNOWN) {
		add(g, id, "verdict", FAILED, "newly failing", ovs, nvs,
		    "no verdict: the new results do not say whether it passed");
		g->newly_failing++;
		return;
	}
	if (!fl_verdict_good(nv)) {
		if (!o || fl_verdict_good(ov)) {
			add(g, id, "verdict", FAILED, "newly failing", ovs, nvs,
			    "newly failing%s%s", *msg ? ": " : "", msg);
			g->newly_failing++;
		} else {
			add(g, id, "verdict", INFO, NULL, ovs, nvs,
			    "still failing%s%s", *msg ? ": " : "", msg);
		}
		return;
	}
	if (!o)
		add(g, id, "verdict", INFO, NULL, ovs, nvs, "new scenario");
	else if (!fl_verdict_good(ov))
		add(g, id, "verdict", BETTER, NULL, ovs, nvs, "fixed: no longer fails");
	else if (ov != nv)
		add(g, id, "verdict", INFO, NULL, ovs, nvs, "verdict changed");
	else
		add(g, id, "verdict", OK, NULL, ovs, nvs, "unchanged");
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

static void check_leaks(struct gate *g, const char *id, json_t *o, json_t *n)
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
		fl_figure_format(f->id, a, as, sizeof as);
		fl_figure_format(f->id, b, bs, sizeof bs);
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
	if (why.len) {
		add(g, id, "leaks", FAILED, "new leak", oldv.data, newv.data,
		    "new leak: %s", why.data);
		g->new_leaks++;
	} else if (better.len) {
		add(g, id, "leaks", BETTER, NULL, oldv.data, newv.data, "%s",
		    better.data);
	} else {
		add(g, id, "leaks", OK, NULL, oldv.data, newv.data, "no new leak");
	}
	fl_buf_free(&oldv);
	fl_buf_free(&newv);
	fl_buf_free(&why);
	fl_buf_free(&better);
}

static void check_mttr(struct gate *g, const char *id, json_t *o, json_t *n,
		       const char *key, const char *name)
{
	json_t *om = o ? fl_results_obj(o, "mttr") : NULL;
	json_t *nm = fl_results_obj(n, "mttr");
	double a = fl_results_num(om, key), b = fl_results_num(nm, key);
	char av[32] = "-", bv[32] = "-";
	if (!isnan(a))
		fl_fmt_duration(av, sizeof av, (int64_t)llround(a * 1e9));
	if (!isnan(b))
		fl_fmt_duration(bv, sizeof bv, (int64_t)llround(b * 1e9));
	if (isnan(a) && isnan(b)) {
		add(g, id, name, OK, NULL, av, bv, "not measured");
		return;
	}
	if (isnan(b)) {
		add(g, id, name, INFO, NULL, av, bv,
		    "no longer measured (no recovered episode)");
		return;
	}
	if (isnan(a)) {
		add(g, id, name, INFO, NULL, av, bv, "measured for the first time");
		return;
	}
	double d = b - a;
	double rel = a > 0 ? d / a : (d > 0 ? INFINITY : 0);
	char floor_txt[32];
	fl_fmt_duration(floor_txt, sizeof floor_txt, (int64_t)llround(g->floor_s * 1e9));
	if (d > g->floor_s && rel > g->threshold) {
		add(g, id, name, FAILED, "MTTR regression", av, bv,
		    "slower by %.1f %% (allowed %.1f %% and %s)", rel * 100,
		    g->threshold * 100, floor_txt);
		g->mttr_regressions++;
	} else if (-d > g->floor_s && -rel > g->threshold) {
		add(g, id, name, BETTER, NULL, av, bv, "faster by %.1f %%", -rel * 100);
	} else {
		add(g, id, name, OK, NULL, av, bv, "within %.1f %% or %s (%+.1f %%)",
		    g->threshold * 100, floor_txt, rel * 100);
	}
}

/* "20%" or "0.2". */
static int parse_ratio(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
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
	if (end == s || errno || !(v >= 0))
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
	if (fl_results_load(path, &doc, err, sizeof err) < 0) {
		fprintf(stderr, "faultline gate: %s\n", err);
		return NULL;
	}
	return doc;
}

/* "scenarios/fd/close.lua#2" -> "gate.scenarios.fd.close#2", as the
 * run's JUnit names its classes, so the two line up in a CI's view. */
static void classname(const char *id, char *out, size_t len)
{
	snprintf(out, len, "gate.%s", id);
	char *lua = strstr(out, ".lua");
	if (lua && (lua[4] == '\0' || lua[4] == '#'))
		memmove(lua, lua + 4, strlen(lua + 4) + 1);
	for (char *p = out; *p; p++)
		if (*p == '/')
			*p = '.';
}

static void attr(fl_buf *b, const char *name, const char *value)
{
	fl_buf_printf(b, " %s=\"", name);
	fl_escape_xml(b, value);
	fl_buf_putc(b, '"');
}

static int write_junit(const struct gate *g, const char *path,
		       const char *old_path, const char *new_path)
{
	size_t failures = 0;
	for (size_t i = 0; i < g->n; i++)
		failures += g->checks[i].outcome == FAILED;
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fl_buf_printf(&b,
		      "<testsuites name=\"faultline gate\" tests=\"%zu\" "
		      "failures=\"%zu\" errors=\"0\">\n"
		      "  <testsuite name=\"faultline gate\" tests=\"%zu\" "
		      "failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"0\">\n"
		      "    <properties>\n",
		      g->n, failures, g->n, failures);
	fl_buf_puts(&b, "      <property name=\"baseline\"");
	attr(&b, "value", old_path);
	fl_buf_puts(&b, "/>\n      <property name=\"results\"");
	attr(&b, "value", new_path);
	fl_buf_printf(&b,
		      "/>\n      <property name=\"mttr_threshold\" value=\"%g\"/>\n"
		      "      <property name=\"mttr_floor_s\" value=\"%g\"/>\n"
		      "    </properties>\n",
		      g->threshold, g->floor_s);
	for (size_t i = 0; i < g->n; i++) {
		const struct check *c = &g->checks[i];
		char cls[PATH_MAX + 16];
		classname(c->scenario, cls, sizeof cls);
		fl_buf_puts(&b, "    <testcase");
		attr(&b, "classname", cls);
		attr(&b, "name", c->name);
		fl_buf_puts(&b, " time=\"0\">");
		fl_buf local;
		fl_buf_init(&local);
		fl_buf_printf(&local, "%s: %s -> %s: %s", c->scenario, c->old_value,
			      c->new_value, c->detail);
		if (c->outcome == FAILED) {
			fl_buf_puts(&b, "\n      <failure");
			attr(&b, "type", c->kind);
			attr(&b, "message", local.data);
			fl_buf_puts(&b, ">");
			fl_escape_xml(&b, local.data);
			fl_buf_puts(&b, "</failure>\n    ");
		} else if (c->outcome != OK) {
			fl_buf_puts(&b, "\n      <system-out>");
			fl_escape_xml(&b, outcome_name(c->outcome));
			fl_buf_puts(&b, ": ");
			fl_escape_xml(&b, local.data);
			fl_buf_puts(&b, "</system-out>\n    ");
		}
		fl_buf_free(&local);
		fl_buf_puts(&b, "</testcase>\n");
	}
	fl_buf_puts(&b, "  </testsuite>\n</testsuites>\n");
	int r = fl_write_file_atomic(path, b.data, b.len);
	fl_buf_free(&b);
	return r;
}

/* Column widths count characters, not bytes: µs is two bytes wide. */
static int width(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xC0) != 0x80;
	return w;
}

static void cell(const char *s, int w)
{
	fputs(s, stdout);
	for (int i = width(s); i < w; i++)
		putchar(' ');
}

static void print_table(const struct gate *g, int quiet)
{
	int ws = 8, wo = 3, wn = 3;
	for (size_t i = 0; i < g->n; i++) {
		const struct check *c = &g->checks[i];
		if (c->outcome == OK || (quiet && c->outcome != FAILED))
			continue;
		if (width(c->scenario) > ws)
			ws = width(c->scenario);
		if (width(c->old_value) > wo)
			wo = width(c->old_value);
		if (width(c->new_value) > wn)
			wn = width(c->new_value);
	}
	if (ws > 60)
		ws = 60;
	int header = 0;
	/* Failures first, then improvements, then the rest. */
	static const enum outcome order[] = {FAILED, BETTER, INFO};
	for (size_t o = 0; o < 3; o++) {
		for (size_t i = 0; i < g->n; i++) {
			const struct check *c = &g->checks[i];
			if (c->outcome != order[o] || (quiet && c->outcome != FAILED))
				continue;
			if (!header) {
				cell("RESULT", 7);
				cell(" CHECK", 11);
				putchar(' ');
				cell("SCENARIO", ws);
				putchar(' ');
				cell("OLD", wo);
				putchar(' ');
				cell("NEW", wn);
				puts(" WHAT");
				header = 1;
			}
			cell(outcome_name(c->outcome), 7);
			putchar(' ');
			cell(c->name, 10);
			putchar(' ');
			cell(c->scenario, ws);
			putchar(' ');
			cell(c->old_value, wo);
			putchar(' ');
			cell(c->new_value, wn);
			printf(" %s\n", c->detail);
		}
	}
	if (!header && !quiet)
		puts("no change");
}

/* ------------------------------------------------------------------ */
/* The sweep: a site that newly crashes or leaks                        */
/* ------------------------------------------------------------------ */

struct sweep_old {
	json_t *old;		/* OLD's document */
	const char *key;	/* the site looked for */
	json_t *found;
};

static void find_old_site(json_t *sc, json_t *site, void *arg)
{
	struct sweep_old *o = arg;
	char key[1024];
	fl_sweep_site_match(sc, site, key, sizeof key);
	if (!o->found && !strcmp(key, o->key))
		o->found = site;
}

/* A crash or a leak of a site of NEW's sweep fails the gate unless the
 * same site (by its scenario, point and functions: fl_sweep_site_match,
 * since offsets and lines move from build to build) crashed or leaked in
 * OLD too. */
static void check_site(json_t *sc, json_t *site, void *arg)
{
	void **a = arg;
	struct gate *g = a[0];
	json_t *old = a[1];
	const char *outcome = fl_results_str(site, "outcome");
	int crashed = !strcmp(outcome, "crashed"), leaked = !strcmp(outcome, "leaked");
	char key[1024], name[1200];
	fl_sweep_site_match(sc, site, key, sizeof key);
	snprintf(name, sizeof name, "%s: %s at %s", fl_results_str(sc, "id"),
		 fl_results_str(site, "point"), fl_results_str(site, "at"));
	struct sweep_old o = {old, key, NULL};
	fl_sweep_each_site(old, find_old_site, &o);
	const char *was = o.found ? fl_results_str(o.found, "outcome") : "-";
	if (!crashed && !leaked) {
		if (o.found && (!strcmp(was, "crashed") || !strcmp(was, "leaked")) &&
		    !strcmp(outcome, "handled"))
			add(g, name, "site", BETTER, NULL, was, outcome,
			    "fixed: its failed call is handled now");
		return;
	}
	if (!strcmp(was, outcome)) {
		add(g, name, "site", INFO, NULL, was, outcome, "still %s: %s",
		    outcome, fl_results_str(site, "detail"));
		return;
	}
	add(g, name, "site", FAILED, crashed ? "newly failing" : "new leak", was,
	    outcome, "newly %s when its call fails: %s",
	    crashed ? "crashes" : "leaks", fl_results_str(site, "detail"));
	if (crashed)
		g->newly_failing++;
	else
		g->new_leaks++;
}

static void check_sweep(struct gate *g, json_t *old, json_t *new)
{
	void *arg[2] = {g, old};
	fl_sweep_each_site(new, check_site, arg);
}

/* Every check of every scenario of NEW, and the removed ones; how many
 * were removed. */
static size_t compare(struct gate *g, json_t *old, json_t *new)
{
	size_t i;
	json_t *n, *o;
	check_sweep(g, old, new);
	fl_results_foreach(new, i, n)
	{
		/* A sweep's site runs are judged by site, above: their ids
		 * hold offsets that move from build to build. */
		if (fl_results_obj(n, "sweep_site"))
			continue;
		const char *id = fl_results_id(n);
		o = fl_results_by_id(old, id);
		check_verdict(g, id, o, n);
		/* A scenario expected to fail in both runs is known to be
		 * broken: only its verdict is watched. */
		int both_xfail = o && fl_results_verdict(o) == FL_VERDICT_XFAIL &&
				 fl_results_verdict(n) == FL_VERDICT_XFAIL;
		if (both_xfail)
			continue;
		check_leaks(g, id, o, n);
		check_mttr(g, id, o, n, "mean_s", "mttr mean");
		check_mttr(g, id, o, n, "p95_s", "mttr p95");
	}
	size_t removed = 0;
	fl_results_foreach(old, i, o)
	{
		if (fl_results_obj(o, "sweep_site"))
			continue;
		if (!fl_results_by_id(new, fl_results_id(o))) {
			check_verdict(g, fl_results_id(o), o, NULL);
			removed++;
		}
	}
	return removed;
}

/* "gate: FAIL: 1 newly failing, 2 new leaks (11 scenarios compared, ...)" */
static void print_closing(const struct gate *g, size_t compared, size_t removed)
{
	int failed = g->newly_failing + g->new_leaks + g->mttr_regressions;
	printf("\ngate: %s",
	       fl_verdict_name(failed ? FL_VERDICT_FAIL : FL_VERDICT_PASS));
	const char *sep = ": ";
	if (g->newly_failing) {
		printf("%s%d newly failing", sep, g->newly_failing);
		sep = ", ";
	}
	if (g->new_leaks) {
		printf("%s%d new leak%s", sep, g->new_leaks, g->new_leaks == 1 ? "" : "s");
		sep = ", ";
	}
	if (g->mttr_regressions)
		printf("%s%d MTTR regression%s", sep, g->mttr_regressions,
		       g->mttr_regressions == 1 ? "" : "s");
	printf(" (%zu scenarios compared, %d improvement%s", compared,
	       g->improvements, g->improvements == 1 ? "" : "s");
	if (removed)
		printf(", %zu removed", removed);
	printf(")\n");
	fflush(stdout);
}

struct gate_opts {
	const char *old_arg, *junit;
	int quiet;
};

/* -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct gate *g, struct gate_opts *o)
{
	static const struct option longopts[] = {
		{"baseline", required_argument, NULL, 'b'},
		{"mttr-threshold", required_argument, NULL, 't'},
		{"mttr-floor", required_argument, NULL, 'f'},
		{"junit", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o->old_arg = optarg;
			break;
		case 't':
			if (parse_ratio(optarg, &g->threshold) < 0) {
				fprintf(stderr, "faultline gate: --mttr-threshold "
						"needs a share like 20%% or 0.2, "
						"not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			break;
		case 'f':
			if (parse_duration(optarg, &g->floor_s) < 0) {
				fprintf(stderr, "faultline gate: --mttr-floor needs "
						"a duration like 5ms, 0.5s or "
						"200us, not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			break;
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
			usage(stderr);
			return FL_EXIT_USAGE;
		}
	}
	const char *wrong = !o->old_arg ? "name the results to compare with: "
					  "--baseline OLD"
			    : argc - optind != 1 ? "give exactly one new results "
						   "file after the options"
						 : NULL;
	if (wrong) {
		fprintf(stderr, "faultline gate: %s\n\n", wrong);
		usage(stderr);
		return FL_EXIT_USAGE;
	}
	return -1;
}

int fl_cmd_gate(int argc, char **argv)
{
	struct gate g;
	memset(&g, 0, sizeof g);
	g.threshold = 0.2;
	g.floor_s = 0.005;
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
	size_t removed = compare(&g, old, new);
	if (!o.quiet) {
		printf("faultline gate: OLD %s (run %s, %zu scenarios)\n", old_path,
		       fl_results_str(fl_results_obj(old, "run"), "id"),
		       fl_results_count(old));
		printf("                NEW %s (run %s, %zu scenarios)\n", new_path,
		       fl_results_str(fl_results_obj(new, "run"), "id"),
		       fl_results_count(new));
		char fl[32];
		fl_fmt_duration(fl, sizeof fl, (int64_t)llround(g.floor_s * 1e9));
		printf("MTTR may grow by up to %.1f %% or %s\n\n", g.threshold * 100, fl);
	}
	print_table(&g, o.quiet);
	print_closing(&g, fl_results_count(new), removed);
	int failed = g.newly_failing + g.new_leaks + g.mttr_regressions;
	status = failed ? FL_EXIT_FAILED : FL_EXIT_OK;
	if (o.junit) {
		int r = write_junit(&g, o.junit, old_path, new_path);
		if (r < 0) {
			fprintf(stderr, "faultline gate: %s: %s\n", o.junit, strerror(-r));
			status = FL_EXIT_INTERNAL;
		}
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
