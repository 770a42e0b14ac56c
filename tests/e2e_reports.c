/* End to end: the commands that read results files (gate, trend, merge,
 * report) and the files they write (HTML, JUnit, OpenMetrics), on crafted
 * results in tests/data whose differences are known:
 *
 *   gate_old.json -> gate_new.json (MTTR: each episode's recovery_s)
 *     a  unchanged                          c  MTTR +40 % but only +0.4 ms
 *     b  MTTR median 100 -> 130 ms (+30 %)  d  PASS -> FAIL
 *     e  0 -> 2 leaked fds (allowed)        f  XFAIL in both, leak grew
 *     g  FAIL in both                       h  FAIL -> PASS
 *     i  PASS -> XFAIL with a failed "leaked threads"
 *     j  removed                            k  new
 *     l  MTTR 200 -> 100 ms                 m  one episode on each side
 *     n  +50 ms within a baseline spread of 100 ms
 *   trend_{1,2,3}.json  three nights: a's MTTR 100, 200, 300 ms, leaked fds
 *     0, 1, 4; gone.lua only in the first
 *   shard_{1,2}.json    shards 1/2 (a, b) and 2/2 (c) of one run
 *   features.json       journal, FLAKY with repeats, a point that never
 *     fired, an OOM precursor, 3000 samples, hostile text everywhere */
#include "testutil.h"

#include <ctype.h>
#include <math.h>
#include <sys/resource.h>

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Is there a line in the gate's table with this result, check and
 * scenario (columns separated by spaces)? */
static int gate_row(const char *out, const char *result, const char *check,
		    const char *scenario)
{
	const char *p = out;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[1024];
		snprintf(line, sizeof line, "%.*s", (int)(n < 1023 ? n : 1023), p);
		char want[128];
		snprintf(want, sizeof want, " %s ", scenario);
		if (!strncmp(line, result, strlen(result)) &&
		    line[strlen(result)] == ' ' && strstr(line, check) &&
		    strstr(line, want))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static int gate(char **out, const char *extra1, const char *extra2,
		const char *junit)
{
	char *argv[16];
	int n = 0;
	argv[n++] = "faultline";
	argv[n++] = "gate";
	argv[n++] = "--baseline";
	argv[n++] = "tests/data/gate_old.json";
	if (extra1)
		argv[n++] = (char *)extra1;
	if (extra2)
		argv[n++] = (char *)extra2;
	if (junit) {
		argv[n++] = "--junit";
		argv[n++] = (char *)junit;
	}
	argv[n++] = "tests/data/gate_new.json";
	argv[n] = NULL;
	return tu_run(argv, NULL, out, 20);
}

/* The default gate fails on exactly the five known regressions, lists the
 * improvements and the rest, and leaves alone what it must not judge. */
Test(gate, defaults_find_the_known_regressions, .timeout = 30)
{
	char *out;
	int status = gate(&out, NULL, NULL, NULL);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(gate_row(out, "FAIL", "mttr", "b.lua"), "%s", out);
	cr_assert(gate_row(out, "FAIL", "verdict", "d.lua"), "%s", out);
	cr_assert(gate_row(out, "FAIL", "leaks", "e.lua"), "%s", out);
	cr_assert(gate_row(out, "FAIL", "leaks", "i.lua"), "%s", out);
	/* Removed is a failure unless allowed. */
	cr_assert(gate_row(out, "FAIL", "verdict", "j.lua") &&
			  strstr(out, "removed: in the baseline, not in the new results"),
		  "%s", out);
	/* b: median 100 -> 130 ms against 5 ms + 2 ms spread + 20 ms. */
	cr_assert(strstr(out, "100.0 ms (5)") && strstr(out, "130.0 ms (5)") &&
			  strstr(out, "slower: median +30.0 ms, allowed 27.0 ms "
				      "(resolution 5.0 ms + spread 2.0 ms + 20 % of "
				      "the old median 20.0 ms); 25 of 25 pairs slower"),
		  "%s", out);
	/* Below the floor, XFAIL in both, failing in both: no failure. */
	cr_assert_not(gate_row(out, "FAIL", "mttr", "c.lua"), "%s", out);
	cr_assert_not(strstr(out, " f.lua "), "XFAIL in both is skipped:\n%s", out);
	cr_assert(gate_row(out, "info", "verdict", "g.lua"), "%s", out);
	cr_assert(strstr(out, "still failing"), "%s", out);
	cr_assert(gate_row(out, "better", "verdict", "h.lua"), "%s", out);
	cr_assert(gate_row(out, "better", "mttr", "l.lua"), "%s", out);
	cr_assert(gate_row(out, "info", "verdict", "k.lua") &&
			  strstr(out, "new scenario"),
		  "%s", out);
	/* One episode on each side: said, not guessed. */
	cr_assert(gate_row(out, "info", "mttr", "m.lua") &&
			  strstr(out, "MTTR not compared: 1 and 1 episodes"),
		  "%s", out);
	/* n's median grew by 50 ms, within its baseline's 100 ms spread. */
	cr_assert_not(gate_row(out, "FAIL", "mttr", "n.lua"), "%s", out);
	cr_assert_eq(tu_count(out, "\nFAIL "), 5, "%s", out);
	cr_assert(strstr(out, "gate: FAIL: 1 newly failing, 1 removed, 2 new leaks, "
			      "1 MTTR regression (13 scenarios compared, 2 "
			      "improvements)"),
		  "%s", out);
	free(out);
}

/* The threshold and the floor move the MTTR verdicts as documented. */
Test(gate, threshold_and_floor, .timeout = 30)
{
	char *out;
	/* +30 ms is within 5 ms + 2 ms + 50 % of 100 ms. */
	int status = gate(&out, "--mttr-threshold", "50%", NULL);
	cr_assert_eq(status, 1, "%s", out);
	cr_assert_not(gate_row(out, "FAIL", "mttr", "b.lua"), "%s", out);
	cr_assert(strstr(out, "gate: FAIL: 1 newly failing, 1 removed, 2 new leaks ("),
		  "%s", out);
	free(out);
	/* The same as a fraction. */
	status = gate(&out, "--mttr-threshold", "0.5", NULL);
	cr_assert_not(gate_row(out, "FAIL", "mttr", "b.lua"), "%s", out);
	free(out);
	/* A floor of 100 µs lets c's +0.4 ms count (allowed 0.1 + 0 + 0.2 ms). */
	status = gate(&out, "--mttr-floor", "100us", NULL);
	cr_assert_eq(status, 1);
	cr_assert(gate_row(out, "FAIL", "mttr", "c.lua"), "%s", out);
	cr_assert(strstr(out, "2 MTTR regressions"), "%s", out);
	free(out);
	/* A floor above b's +30 ms hides it. */
	status = gate(&out, "--mttr-floor", "0.05", NULL);
	cr_assert_not(gate_row(out, "FAIL", "mttr", "b.lua"), "%s", out);
	free(out);
	/* Two episodes are enough for m only when asked; one is never. */
	status = gate(&out, "--mttr-min-episodes", "6", NULL);
	cr_assert_not(gate_row(out, "FAIL", "mttr", "b.lua"), "%s", out);
	cr_assert(strstr(out, "MTTR not compared: 5 and 5 episodes (needs 6 on "
			      "each side)"),
		  "%s", out);
	free(out);
}

Test(gate, same_results_pass, .timeout = 20)
{
	char *out;
	char *argv[] = {"faultline", "gate", "--baseline", "tests/data/gate_new.json",
			"tests/data/gate_new.json", NULL};
	int status = tu_run(argv, NULL, &out, 10);
	cr_assert_eq(status, 0, "%s", out);
	/* Failing in both is listed, and is not a new failure. */
	cr_assert_eq(tu_count(out, "\nFAIL "), 0, "%s", out);
	cr_assert(gate_row(out, "info", "verdict", "d.lua"), "%s", out);
	cr_assert_eq(tu_count(out, "still failing"), 2, "%s", out);
	cr_assert(strstr(out, "gate: PASS (13 scenarios compared, 0 improvements)"),
		  "%s", out);
	free(out);
}

Test(gate, usage_errors, .timeout = 20)
{
	char *out;
	cr_assert_eq(gate(&out, "--mttr-threshold", "20", NULL), 2, "%s", out);
	cr_assert(strstr(out, "20% or 0.2"), "%s", out);
	free(out);
	cr_assert_eq(gate(&out, "--mttr-floor", "5 parsecs", NULL), 2, "%s", out);
	free(out);
	cr_assert_eq(gate(&out, "--mttr-min-episodes", "1", NULL), 2, "%s", out);
	cr_assert(strstr(out, "at least 2"), "%s", out);
	free(out);
	char *a1[] = {"faultline", "gate", "tests/data/gate_new.json", NULL};
	cr_assert_eq(tu_run(a1, NULL, &out, 10), 2);
	cr_assert(strstr(out, "--baseline"), "%s", out);
	free(out);
	char *a2[] = {"faultline", "gate", "--baseline", "tests/data/gate_old.json",
		      "no/such/results.json", NULL};
	cr_assert_eq(tu_run(a2, NULL, &out, 10), 2);
	cr_assert(strstr(out, "no/such/results.json"), "%s", out);
	free(out);
	char *a3[] = {"faultline", "gate", "--baseline", "GNUmakefile",
		      "tests/data/gate_new.json", NULL};
	cr_assert_eq(tu_run(a3, NULL, &out, 10), 2);
	free(out);
	char *a4[] = {"faultline", "gate", "--help", NULL};
	cr_assert_eq(tu_run(a4, NULL, &out, 10), 0);
	cr_assert(strstr(out, "newly failing") && strstr(out, "--mttr-floor") &&
			  strstr(out, "--allow-removed") &&
			  strstr(out, "interquartile range"),
		  "%s", out);
	free(out);
}

/* One testcase per check: 12 scenarios of NEW with 3 checks each, f
 * (XFAIL in both) with its verdict only, and the removed j: 38; five
 * failures. */
Test(gate, junit_one_testcase_per_check, .timeout = 20)
{
	char *dir = tu_tempdir();
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/gate.xml", dir);
	char *out;
	cr_assert_eq(gate(&out, NULL, NULL, path), 1, "%s", out);
	char *x = tu_slurp(path);
	cr_assert_eq(tu_count(x, "<testcase "), 38, "%s", x);
	cr_assert_eq(tu_count(x, "<failure "), 5, "%s", x);
	cr_assert(strstr(x, "tests=\"38\" failures=\"5\""), "%s", x);
	cr_assert(strstr(x, "classname=\"gate.d\" name=\"verdict\""), "%s", x);
	cr_assert(strstr(x, "<failure type=\"newly failing\""), "%s", x);
	cr_assert(strstr(x, "<failure type=\"MTTR regression\""), "%s", x);
	cr_assert(strstr(x, "<failure type=\"removed\""), "%s", x);
	cr_assert_eq(tu_count(x, "<failure type=\"new leak\""), 2, "%s", x);
	if (access("/usr/bin/xmllint", X_OK) == 0) {
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
		cr_assert_eq(system(cmd), 0, "xmllint refused %s", path);
	}
	free(x);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* gate_new.json with one change, written to dir/name; the path. */
typedef void (*doc_edit)(json_t *doc);

static char *edited(const char *dir, const char *name, doc_edit edit)
{
	json_t *doc = tu_load_json("tests/data/gate_new.json");
	edit(doc);
	char *path = malloc(PATH_MAX);
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0, "%s", path);
	json_decref(doc);
	return path;
}

static json_t *scenario_a(json_t *doc)
{
	return json_array_get(json_object_get(doc, "scenarios"), 0);
}

static void verdict_null(json_t *d) { json_object_set_new(scenario_a(d), "verdict", json_null()); }
static void verdict_missing(json_t *d) { json_object_del(scenario_a(d), "verdict"); }
static void verdict_crashed(json_t *d) { json_object_set_new(scenario_a(d), "verdict", json_string("CRASHED")); }
static void verdict_five(json_t *d) { json_object_set_new(scenario_a(d), "verdict", json_integer(5)); }
static void no_scenarios(json_t *d) { json_object_set_new(d, "scenarios", json_array()); }
static void version_two(json_t *d) { json_object_set_new(d, "schema_version", json_integer(2)); }
static void drop_a(json_t *d) { json_array_remove(json_object_get(d, "scenarios"), 0); }
static void no_id(json_t *d) { json_object_del(scenario_a(d), "id"); }
static void twice(json_t *d)
{
	json_array_append_new(json_object_get(d, "scenarios"),
			      json_deep_copy(scenario_a(d)));
}
static void mttr_negative(json_t *d)
{
	json_object_set_new(json_object_get(scenario_a(d), "mttr"), "mean_s",
			    json_real(-0.1));
}
static void recovery_negative(json_t *d)
{
	json_t *ep = json_array_get(json_object_get(scenario_a(d), "episodes"), 0);
	json_object_set_new(ep, "recovery_s", json_real(-0.05));
}
static void leak_text(json_t *d)
{
	json_object_set_new(json_object_get(scenario_a(d), "leaks"), "fds",
			    json_string("3"));
}
static void recovery_huge(json_t *d)
{
	size_t i;
	json_t *ep;
	json_array_foreach(json_object_get(scenario_a(d), "episodes"), i, ep)
		json_object_set_new(ep, "recovery_s", json_real(1e308));
	json_object_set_new(json_object_get(scenario_a(d), "mttr"), "mean_s",
			    json_real(1e308));
}

/* Runs the gate of OLD and NEW; the exit status, *out its output. */
static int gate2(const char *old, const char *new_, const char *extra,
		 char **out)
{
	char *argv[8];
	int n = 0;
	argv[n++] = "faultline";
	argv[n++] = "gate";
	argv[n++] = "--baseline";
	argv[n++] = (char *)old;
	if (extra)
		argv[n++] = (char *)extra;
	argv[n++] = (char *)new_;
	argv[n] = NULL;
	return tu_run(argv, NULL, out, 20);
}

/* Whatever the gate cannot judge fails it, with a line that names it: a
 * verdict that is missing, null or not a verdict (in either file), a
 * scenario gone from NEW, one without an id or given twice, figures no
 * measurement gives; an input it cannot use at all is a usage error. */
Test(gate, fails_closed, .timeout = 60)
{
	char *dir = tu_tempdir();
	const char *base = "tests/data/gate_new.json";
	char *out;
	static const struct {
		const char *name;
		doc_edit edit;
		const char *says;
	} verdicts[] = {
		{"null.json", verdict_null, "no verdict in the new results (null)"},
		{"missing.json", verdict_missing, "no verdict in the new results (missing)"},
		{"crashed.json", verdict_crashed,
		 "no verdict in the new results (\"CRASHED\", not a verdict)"},
		{"five.json", verdict_five, "no verdict in the new results (5, not a verdict)"},
	};
	for (size_t k = 0; k < sizeof verdicts / sizeof verdicts[0]; k++) {
		char *p = edited(dir, verdicts[k].name, verdicts[k].edit);
		cr_assert_eq(gate2(base, p, NULL, &out), 1, "%s:\n%s", verdicts[k].name, out);
		cr_assert(gate_row(out, "FAIL", "verdict", "a.lua") &&
				  strstr(out, verdicts[k].says),
			  "%s:\n%s", verdicts[k].name, out);
		cr_assert(strstr(out, "1 without a verdict"), "%s", out);
		free(out);
		/* The same in the baseline. */
		cr_assert_eq(gate2(p, base, NULL, &out), 1, "%s:\n%s", verdicts[k].name, out);
		cr_assert(strstr(out, "no verdict in the baseline"), "%s", out);
		free(out);
		free(p);
	}

	/* Removed: a failure by default, listed with --allow-removed. */
	char *p = edited(dir, "dropped.json", drop_a);
	cr_assert_eq(gate2(base, p, NULL, &out), 1, "%s", out);
	cr_assert(gate_row(out, "FAIL", "verdict", "a.lua"), "%s", out);
	cr_assert(strstr(out, "gate: FAIL: 1 removed ("), "%s", out);
	free(out);
	cr_assert_eq(gate2(base, p, "--allow-removed", &out), 0, "%s", out);
	cr_assert(gate_row(out, "info", "verdict", "a.lua"), "%s", out);
	cr_assert(strstr(out, "gate: PASS (12 scenarios compared, 0 improvements, "
			      "1 removed, allowed)"),
		  "%s", out);
	free(out);
	free(p);

	/* No id, an id twice. */
	p = edited(dir, "noid.json", no_id);
	cr_assert_eq(gate2(base, p, NULL, &out), 1, "%s", out);
	cr_assert(strstr(out, "scenario 1 of the new results has no id"), "%s", out);
	free(out);
	free(p);
	p = edited(dir, "twice.json", twice);
	cr_assert_eq(gate2(base, p, NULL, &out), 1, "%s", out);
	cr_assert(gate_row(out, "FAIL", "id", "a.lua") &&
			  strstr(out, "hold 2 scenarios with this id"),
		  "%s", out);
	free(out);
	free(p);

	/* Figures no measurement gives. */
	static const struct {
		const char *name;
		doc_edit edit;
		const char *says;
	} figures[] = {
		{"mttr.json", mttr_negative, "mttr mean_s is negative"},
		{"episode.json", recovery_negative, "episode 1's recovery_s is negative"},
		{"leak.json", leak_text, "leaked fds is not a number"},
	};
	for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++) {
		p = edited(dir, figures[k].name, figures[k].edit);
		cr_assert_eq(gate2(base, p, NULL, &out), 1, "%s:\n%s", figures[k].name, out);
		cr_assert(gate_row(out, "FAIL", "figures", "a.lua") &&
				  strstr(out, figures[k].says),
			  "%s:\n%s", figures[k].name, out);
		cr_assert(strstr(out, "1 with bad figures"), "%s", out);
		free(out);
		free(p);
	}
	/* A huge MTTR is slower, and prints as what it is. */
	p = edited(dir, "huge.json", recovery_huge);
	cr_assert_eq(gate2(base, p, NULL, &out), 1, "%s", out);
	cr_assert(gate_row(out, "FAIL", "mttr", "a.lua"), "%s", out);
	cr_assert(strstr(out, "1e+308 s (5)"), "%s", out);
	cr_assert_not(strstr(out, "-9223372036"), "%s", out);
	free(out);
	free(p);
	/* Not finite cannot even be read. */
	char inf[PATH_MAX + 16];
	snprintf(inf, sizeof inf, "%s/inf.json", dir);
	char *text = tu_slurp(base);
	char *at = strstr(text, "\"recovery_s\": 0.099");
	cr_assert_not_null(at);
	FILE *f = fopen(inf, "w");
	fprintf(f, "%.*s\"recovery_s\": 1e999%s", (int)(at - text), text,
		at + strlen("\"recovery_s\": 0.099"));
	fclose(f);
	free(text);
	cr_assert_eq(gate2(base, inf, NULL, &out), 2, "%s", out);
	free(out);

	/* Unusable inputs: no scenarios, another schema version. */
	p = edited(dir, "empty.json", no_scenarios);
	cr_assert_eq(gate2(base, p, NULL, &out), 2, "%s", out);
	cr_assert(strstr(out, "has no scenarios: an empty run cannot pass a gate"),
		  "%s", out);
	free(out);
	cr_assert_eq(gate2(p, base, NULL, &out), 2, "%s", out);
	cr_assert(strstr(out, "(the baseline) has no scenarios"), "%s", out);
	free(out);
	free(p);
	p = edited(dir, "v2.json", version_two);
	cr_assert_eq(gate2(base, p, NULL, &out), 2, "%s", out);
	cr_assert(strstr(out, "schema version 2 is not supported"), "%s", out);
	free(out);
	free(p);
	tu_rmrf(dir);
	free(dir);
}

/* The nightly history: runs in order of run.started whatever the order
 * given, each figure where it belongs, nothing executable. */
Test(trend, runs_in_order_with_their_figures, .timeout = 20)
{
	char *dir = tu_tempdir();
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/trend.html", dir);
	char *out;
	char *argv[] = {"faultline",		   "trend",
			"tests/data/trend_3.json", "tests/data/trend_1.json",
			"tests/data/trend_2.json", "-o",
			path,			   NULL};
	int status = tu_run(argv, NULL, &out, 10);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "trend of 3 runs from 2026-01-01T02:00:00Z to "
			      "2026-01-03T02:00:00Z"),
		  "%s", out);
	char *h = tu_slurp(path);
	cr_assert(strstr(h, "3 runs from 2026-01-01T02:00:00Z to "
			    "2026-01-03T02:00:00Z, 3 scenarios."));
	const char *m1 = strstr(h, "mean 100.0 ms, run 20260101T020000Z-1");
	const char *m2 = strstr(h, "mean 200.0 ms, run 20260102T020000Z-2");
	const char *m3 = strstr(h, "mean 300.0 ms, run 20260103T020000Z-3");
	cr_assert(m1 && m2 && m3 && m1 < m2 && m2 < m3, "MTTR in run order");
	cr_assert(strstr(h, "p95 450.0 ms, run 20260103T020000Z-3"));
	const char *f1 = strstr(h, "fds 0, run 20260101T020000Z-1");
	const char *f3 = strstr(h, "fds 4, run 20260103T020000Z-3");
	cr_assert(f1 && f3 && f1 < f3, "leaked fds in run order");
	cr_assert(strstr(h, "PASS, run 20260101T020000Z-1"));
	cr_assert(strstr(h, "FAIL, run 20260103T020000Z-3"));
	cr_assert(strstr(h, "not run, run 20260103T020000Z-3"), "gone.lua");
	/* No script at all, and the policy says so. */
	cr_assert_null(strstr(h, "<script"));
	cr_assert(strstr(h, "script-src 'none'"));
	cr_assert(strstr(h, "alpha &lt;script&gt;alert(&#39;trend&#39;)"));
	free(h);
	free(out);
	char *a2[] = {"faultline", "trend", "tests/data/trend_1.json", NULL};
	cr_assert_eq(tu_run(a2, NULL, &out, 10), 2);
	cr_assert(strstr(out, "-o FILE"), "%s", out);
	free(out);
	char *a3[] = {"faultline", "trend", "-o", path, "nope.json", NULL};
	cr_assert_eq(tu_run(a3, NULL, &out, 10), 2);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* Thousands of scenarios, matched by id through the index: NEW in the
 * reverse order of OLD, one removed, one newly failing, one id given
 * twice in each file. Every look-up must find the scenario a walk would. */
static char *many(const char *dir, const char *name, int reverse)
{
	json_t *doc = tu_load_json("tests/data/gate_new.json");
	json_t *a = json_deep_copy(scenario_a(doc));
	json_t *scs = json_array();
	for (int i = 0; i < 3000; i++) {
		int k = reverse ? 2999 - i : i;
		/* NEW lacks s/1234.lua; s/77.lua fails in it. */
		if (reverse && k == 1234)
			continue;
		json_t *s = json_deep_copy(a);
		char id[64];
		snprintf(id, sizeof id, "s/%d.lua", k);
		json_object_set_new(s, "id", json_string(id));
		if (reverse && k == 77)
			json_object_set_new(s, "verdict", json_string("FAIL"));
		json_array_append_new(scs, s);
		/* An id given twice, apart: s/500.lua in NEW, s/900.lua in OLD. */
		if ((reverse && k == 500) || (!reverse && k == 900))
			json_array_insert_new(scs, 0, json_deep_copy(s));
	}
	json_object_set_new(doc, "scenarios", scs);
	json_decref(a);
	char *path = malloc(PATH_MAX);
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0, "%s", path);
	json_decref(doc);
	return path;
}

/* How many lines of the gate's table begin with this result. */
static int rows(const char *out, const char *result)
{
	int n = 0;
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, result, strlen(result)) && p[strlen(result)] == ' ';
	return n;
}

Test(gate, matches_thousands_of_scenarios_by_id, .timeout = 120)
{
	char *dir = tu_tempdir();
	char *old = many(dir, "old.json", 0), *new_ = many(dir, "new.json", 1);
	char *out;
	cr_assert_eq(gate2(old, new_, "-q", &out), 1, "%s", out);
	cr_assert(gate_row(out, "FAIL", "verdict", "s/1234.lua") &&
			  strstr(out, "removed: in the baseline, not in the new results"),
		  "%s", out);
	cr_assert(gate_row(out, "FAIL", "verdict", "s/77.lua") &&
			  strstr(out, "newly failing"),
		  "%s", out);
	cr_assert(gate_row(out, "FAIL", "id", "s/500.lua") &&
			  strstr(out, "the new results hold 2 scenarios with this id"),
		  "%s", out);
	cr_assert(gate_row(out, "FAIL", "id", "s/900.lua") &&
			  strstr(out, "the baseline holds 2 scenarios with this id"),
		  "%s", out);
	/* Those four and nothing else: every other id found its match. */
	cr_assert_eq(rows(out, "FAIL"), 4, "%s", out);
	cr_assert(strstr(out, "gate: FAIL: 1 newly failing, 1 removed, 2 bad "
			      "scenarios (3000 scenarios compared"),
		  "%s", out);
	free(out);
	/* The other way round: 1234 is new, and the rest unchanged. */
	cr_assert_eq(gate2(new_, old, "--allow-removed", &out), 1, "%s", out);
	cr_assert(gate_row(out, "info", "verdict", "s/1234.lua") &&
			  strstr(out, "new scenario"),
		  "%s", out);
	cr_assert(gate_row(out, "better", "verdict", "s/77.lua"), "%s", out);
	/* The baseline holds s/500.lua twice: it is compared with nothing. */
	cr_assert(gate_row(out, "info", "verdict", "s/500.lua"), "%s", out);
	cr_assert_eq(rows(out, "FAIL"), 2, "only the two ids given twice:\n%s", out);
	/* A verdict and an MTTR line for each of the two. */
	cr_assert_eq(rows(out, "info"), 4, "%s", out);
	free(out);
	free(old);
	free(new_);
	tu_rmrf(dir);
	free(dir);
}

/* Trend reads each run alone and keeps a few numbers of each scenario:
 * the first scenario of an id stands for it in its run, a scenario
 * without an id is not shown, each is named by its newest name. */
Test(trend, first_of_an_id_and_newest_name, .timeout = 30)
{
	char *dir = tu_tempdir();
	char p1[PATH_MAX], p2[PATH_MAX], page[PATH_MAX];
	snprintf(p1, sizeof p1, "%s/r1.json", dir);
	snprintf(p2, sizeof p2, "%s/r2.json", dir);
	snprintf(page, sizeof page, "%s/t.html", dir);
	tu_write(p1, "{\"schema\": \"faultline.results\", \"schema_version\": 1,"
		     " \"run\": {\"id\": \"R1\", \"started\": \"2026-01-01T00:00:00Z\"},"
		     " \"scenarios\": ["
		     "  {\"id\": \"x.lua\", \"name\": \"old x\", \"verdict\": \"PASS\","
		     "   \"mttr\": {\"mean_s\": 0.125}},"
		     "  {\"id\": \"x.lua\", \"name\": \"dup x\", \"verdict\": \"FAIL\","
		     "   \"mttr\": {\"mean_s\": 9}},"
		     "  {\"name\": \"no id\", \"verdict\": \"FAIL\"},"
		     "  {\"id\": \"y.lua\", \"name\": \"y\", \"verdict\": \"PASS\"}]}");
	tu_write(p2, "{\"schema\": \"faultline.results\", \"schema_version\": 1,"
		     " \"run\": {\"id\": \"R2\", \"started\": \"2026-01-02T00:00:00Z\"},"
		     " \"scenarios\": ["
		     "  {\"id\": \"y.lua\", \"name\": \"\", \"verdict\": \"FAIL\"},"
		     "  {\"id\": \"x.lua\", \"name\": \"new x\", \"verdict\": \"PASS\","
		     "   \"mttr\": {\"mean_s\": 0.25}}]}");
	char *out;
	char *argv[] = {"faultline", "trend", "-q", p2, p1, "-o", page, NULL};
	cr_assert_eq(tu_run(argv, NULL, &out, 20), 0, "%s", out);
	free(out);
	char *h = tu_slurp(page);
	cr_assert(strstr(h, ", 2 scenarios.</p>"), "no-id scenario not shown");
	/* The newest run's order: y, then x. */
	const char *y = strstr(h, "<h2>y</h2>"), *x = strstr(h, "<h2>new x</h2>");
	cr_assert(y && x && y < x, "sections in the newest run's order");
	cr_assert_null(strstr(h, "dup x"));
	cr_assert_null(strstr(h, "old x"));
	cr_assert_null(strstr(h, "no id"));
	/* R1's x is its first: PASS with 125 ms, never the copy's 9 s. */
	cr_assert(strstr(h, "mean 125.0 ms, run R1"), "first of the id");
	cr_assert(strstr(h, "mean 250.0 ms, run R2"));
	cr_assert_null(strstr(h, "mean 9.00 s"));
	cr_assert(strstr(h, "PASS, run R1"));
	cr_assert(strstr(h, "FAIL, run R2"), "y failed in R2");
	free(h);
	tu_rmrf(dir);
	free(dir);
}

/* The merged scenarios are the shards' own, unchanged, in shard order; the
 * summary is counted from them; given in any order, the shards merge to
 * the same bytes. */
Test(merge, shards_merge_to_the_same_bytes, .timeout = 30)
{
	char *dir = tu_tempdir();
	char d1[PATH_MAX], d2[PATH_MAX], path[PATH_MAX + 32];
	snprintf(d1, sizeof d1, "%s/m1", dir);
	snprintf(d2, sizeof d2, "%s/m2", dir);
	char *out;
	char *a1[] = {"faultline", "merge", "-q", "tests/data/shard_1.json",
		      "tests/data/shard_2.json", "-o", d1, NULL};
	char *a2[] = {"faultline", "merge", "-q", "tests/data/shard_2.json",
		      "tests/data/shard_1.json", "-o", d2, NULL};
	cr_assert_eq(tu_run(a1, NULL, &out, 20), 0, "%s", out);
	free(out);
	cr_assert_eq(tu_run(a2, NULL, &out, 20), 0, "%s", out);
	free(out);
	snprintf(path, sizeof path, "%s/results.json", d1);
	json_t *m1 = tu_load_json(path);
	snprintf(path, sizeof path, "%s/results.json", d2);
	json_t *m2 = tu_load_json(path);
	json_t *s1 = tu_load_json("tests/data/shard_1.json");
	json_t *s2 = tu_load_json("tests/data/shard_2.json");
	json_t *want = json_array();
	json_array_extend(want, json_object_get(s1, "scenarios"));
	json_array_extend(want, json_object_get(s2, "scenarios"));
	/* As the writer writes reals (10 significant digits). */
	char *text = json_dumps(want, JSON_REAL_PRECISION(10));
	json_decref(want);
	want = json_loads(text, 0, NULL);
	free(text);
	cr_assert(json_equal(json_object_get(m1, "scenarios"), want),
		  "the shards' scenarios, unchanged, in shard order");
	static const char *const same[] = {"scenarios", "summary", "schema",
					   "schema_version", "faultline_version"};
	for (size_t k = 0; k < sizeof same / sizeof *same; k++) {
		char *t1 = json_dumps(json_object_get(m1, same[k]),
				      JSON_ENCODE_ANY | JSON_INDENT(1));
		char *t2 = json_dumps(json_object_get(m2, same[k]),
				      JSON_ENCODE_ANY | JSON_INDENT(1));
		cr_assert_str_eq(t1, t2, "%s", same[k]);
		free(t1);
		free(t2);
	}
	json_t *sum = json_object_get(m1, "summary");
	size_t i;
	json_t *sc;
	long passed = 0, failed = 0;
	json_array_foreach(want, i, sc)
	{
		passed += !strcmp(tu_str(sc, "verdict"), "PASS");
		failed += !strcmp(tu_str(sc, "verdict"), "FAIL");
	}
	cr_assert_eq(tu_num(sum, "total"), json_array_size(want));
	cr_assert_eq(tu_num(sum, "passed"), passed);
	cr_assert_eq(tu_num(sum, "failed"), failed);
	json_decref(want);
	json_decref(s1);
	json_decref(s2);
	json_decref(m1);
	json_decref(m2);
	tu_rmrf(dir);
	free(dir);
}

/* Two shards given in the wrong order make one run: shard order, counts
 * recomputed, provenance recorded, the run's span from the earliest start
 * to the latest end. */
Test(merge, shards_make_one_run, .timeout = 20)
{
	char *dir = tu_tempdir();
	char outdir[PATH_MAX], path[PATH_MAX + 32];
	snprintf(outdir, sizeof outdir, "%s/merged", dir);
	char *out;
	char *argv[] = {"faultline", "merge", "tests/data/shard_2.json",
			"tests/data/shard_1.json", "-o", outdir, NULL};
	int status = tu_run(argv, NULL, &out, 10);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "merged 2 results files: 3 scenarios: 1 passed, 1 "
			      "failed, 1 xfailed"),
		  "%s", out);
	snprintf(path, sizeof path, "%s/results.json", outdir);
	json_t *doc = tu_load_json(path);
	json_t *sc = json_object_get(doc, "scenarios");
	cr_assert_eq(json_array_size(sc), 3);
	cr_assert_str_eq(tu_str(json_array_get(sc, 0), "id"), "s/a.lua");
	cr_assert_str_eq(tu_str(json_array_get(sc, 1), "id"), "s/b.lua");
	cr_assert_str_eq(tu_str(json_array_get(sc, 2), "id"), "s/c.lua");
	json_t *sum = json_object_get(doc, "summary");
	cr_assert_eq(tu_num(sum, "total"), 3);
	cr_assert_eq(tu_num(sum, "passed"), 1);
	cr_assert_eq(tu_num(sum, "failed"), 1);
	cr_assert_eq(tu_num(sum, "xfailed"), 1);
	cr_assert_eq(tu_num(sum, "exit_status"), 1);
	json_t *run = json_object_get(doc, "run");
	cr_assert_str_eq(tu_str(run, "started"), "2026-01-05T00:00:00Z");
	/* Shard 1 began 10 s later and took 30 s; shard 2 took 20 s. */
	cr_assert_float_eq(tu_num(run, "duration_s"), 40.0, 1e-9);
	json_t *from = json_object_get(run, "merged_from");
	cr_assert_eq(json_array_size(from), 2);
	cr_assert_eq(tu_num(json_object_get(json_array_get(from, 0), "shard"), "index"), 1);
	cr_assert_eq(tu_num(json_array_get(from, 0), "scenarios"), 2);
	cr_assert_str_eq(tu_str(json_array_get(from, 1), "file"), "tests/data/shard_2.json");
	cr_assert_null(json_object_get(run, "shard"), "a merged run is no shard");
	cr_assert(strstr(tu_str(run, "command"), "merge tests/data/shard_2.json "
						 "tests/data/shard_1.json -o "),
		  "the command as typed: %s", tu_str(run, "command"));
	json_decref(doc);
	snprintf(path, sizeof path, "%s/junit.xml", outdir);
	char *x = tu_slurp(path);
	cr_assert_eq(tu_count(x, "<testcase "), 3);
	free(x);
	snprintf(path, sizeof path, "%s/index.html", outdir);
	char *h = tu_slurp(path);
	cr_assert(strstr(h, "merged from</th><td>2 results files"));
	free(h);
	free(out);

	/* The merged results are results: the gate reads them. */
	char *a2[] = {"faultline", "gate", "--baseline", outdir, outdir, NULL};
	cr_assert_eq(tu_run(a2, NULL, &out, 10), 0, "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

Test(merge, duplicates_conflicts_and_missing_shards, .timeout = 20)
{
	char *dir = tu_tempdir();
	char outdir[PATH_MAX], path[PATH_MAX + 32];
	snprintf(outdir, sizeof outdir, "%s/m", dir);
	char *out;
	/* The same shard twice: identical results, kept once. */
	char *a1[] = {"faultline", "merge", "tests/data/shard_1.json",
		      "tests/data/shard_1.json", "tests/data/shard_2.json", "-o",
		      outdir, NULL};
	cr_assert_eq(tu_run(a1, NULL, &out, 10), 0, "%s", out);
	cr_assert(strstr(out, "2 scenarios given twice with identical results, "
			      "kept once"),
		  "%s", out);
	snprintf(path, sizeof path, "%s/results.json", outdir);
	json_t *doc = tu_load_json(path);
	cr_assert_eq(json_array_size(json_object_get(doc, "scenarios")), 3);
	json_decref(doc);
	free(out);
	/* The same id with different results: refused, naming both, and
	 * before anything is written (the check is a pass of its own). */
	char refused[PATH_MAX + 16];
	snprintf(refused, sizeof refused, "%s/refused", dir);
	char *a2[] = {"faultline", "merge", "tests/data/shard_1.json",
		      "tests/data/shard_2_conflict.json", "-o", refused, NULL};
	cr_assert_eq(tu_run(a2, NULL, &out, 10), 2, "%s", out);
	cr_assert(strstr(out, "scenario s/a.lua is in both tests/data/shard_1.json "
			      "and tests/data/shard_2_conflict.json"),
		  "%s", out);
	struct stat none;
	cr_assert_neq(stat(refused, &none), 0, "nothing written for a refused merge");
	free(out);
	/* A shard broken after its scenarios: refused, nothing written. */
	char broken[PATH_MAX + 16];
	snprintf(broken, sizeof broken, "%s/broken.json", dir);
	char *text = tu_slurp("tests/data/shard_2.json");
	char *end = strrchr(text, '}');
	cr_assert_not_null(end);
	*end = '\0';
	char *cut = malloc(strlen(text) + 16);
	sprintf(cut, "%s, \"x\": }\n", text);
	tu_write(broken, cut);
	free(cut);
	free(text);
	char *a6[] = {"faultline", "merge", "tests/data/shard_1.json", broken, "-o",
		      refused, NULL};
	cr_assert_eq(tu_run(a6, NULL, &out, 10), 2, "%s", out);
	cr_assert(strstr(out, "broken.json:"), "%s", out);
	cr_assert_neq(stat(refused, &none), 0, "nothing written for a broken shard");
	free(out);
	/* A shard rewritten between the two reads (a CI job still
	 * uploading it): what the first read counted is not what the
	 * second would write, so nothing is written. The test hook renames
	 * a file between the passes. */
	char moving[PATH_MAX + 16], swap[PATH_MAX + 16], hook[3 * PATH_MAX];
	char changed[PATH_MAX + 16], results[PATH_MAX + 32];
	snprintf(moving, sizeof moving, "%s/moving.json", dir);
	snprintf(swap, sizeof swap, "%s/swap.json", dir);
	snprintf(changed, sizeof changed, "%s/changed", dir);
	snprintf(results, sizeof results, "%s/results.json", changed);
	static const char *const replacements[] = {
		/* s/c.lua now PASS where it was XFAIL */
		"tests/data/shard_2_conflict.json",
		/* s/c.lua gone (the other two are shard 1's) */
		"tests/data/shard_1.json"};
	static const char *const says[] = {
		"moving.json changed while it was merged (scenario s/c.lua)",
		"2 of 3 scenarios were there on the second read"};
	for (int k = 0; k < 2; k++) {
		char *t2 = tu_slurp("tests/data/shard_2.json");
		tu_write(moving, t2);
		free(t2);
		t2 = tu_slurp(replacements[k]);
		tu_write(swap, t2);
		free(t2);
		snprintf(hook, sizeof hook, "%s:%s", swap, moving);
		setenv("FL_TEST_MERGE_RENAME", hook, 1);
		char *a7[] = {"faultline", "merge", "tests/data/shard_1.json",
			      moving, "-o", changed, NULL};
		int st = tu_run(a7, NULL, &out, 10);
		unsetenv("FL_TEST_MERGE_RENAME");
		cr_assert_eq(st, 2, "%s", out);
		cr_assert(strstr(out, says[k]), "%s", out);
		cr_assert_neq(stat(results, &none), 0,
			      "nothing written for a shard that changed");
		free(out);
	}
	/* Shards of different splits. */
	char *a3[] = {"faultline", "merge", "tests/data/shard_1.json",
		      "tests/data/shard_other_split.json", "-o", outdir, NULL};
	cr_assert_eq(tu_run(a3, NULL, &out, 10), 2, "%s", out);
	free(out);
	/* One shard of two: written, but the status says incomplete. */
	char only[PATH_MAX + 8];
	snprintf(only, sizeof only, "%s/only", dir);
	char *a4[] = {"faultline", "merge", "tests/data/shard_1.json", "-o", only,
		      NULL};
	cr_assert_eq(tu_run(a4, NULL, &out, 10), 1, "%s", out);
	cr_assert(strstr(out, "only 1 of 2 shards"), "%s", out);
	snprintf(path, sizeof path, "%s/index.html", only);
	cr_assert_gt(file_size(path), 1000);
	free(out);
	char *a5[] = {"faultline", "merge", "tests/data/shard_1.json", NULL};
	cr_assert_eq(tu_run(a5, NULL, &out, 10), 2, "%s", out);
	cr_assert(strstr(out, "-o DIR"), "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* A scenario's journal file follows it into the merged directory, renamed
 * after its new place; a name that leaves the directory is not followed. */
Test(merge, journals_follow_their_scenarios, .timeout = 20)
{
	char *dir = tu_tempdir();
	char shard[PATH_MAX], path[PATH_MAX + 32], outdir[PATH_MAX + 8];
	snprintf(shard, sizeof shard, "%s/shard", dir);
	mkdir(shard, 0755);
	json_t *doc = tu_load_json("tests/data/shard_2.json");
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	json_object_set_new(s, "journal",
			    json_pack("{s:s,s:i,s:i,s:b,s:[],s:s}", "digest",
				      "00000000000000aa", "total", 3, "lost", 0,
				      "truncated", 1, "records", "file",
				      "journal-1.json"));
	json_t *s2 = json_deep_copy(s);
	json_object_set_new(s2, "id", json_string("s/d.lua"));
	json_object_set_new(json_object_get(s2, "journal"), "file",
			    json_string("../../etc/passwd"));
	json_array_append_new(json_object_get(doc, "scenarios"), s2);
	snprintf(path, sizeof path, "%s/results.json", shard);
	cr_assert_eq(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
	snprintf(path, sizeof path, "%s/journal-1.json", shard);
	tu_write(path, "{\"records\": \"the whole journal\"}\n");
	snprintf(outdir, sizeof outdir, "%s/m", dir);
	char *out;
	char *argv[] = {"faultline", "merge", "tests/data/shard_1.json", shard, "-o",
			outdir, NULL};
	cr_assert_eq(tu_run(argv, NULL, &out, 10), 0, "%s", out);
	cr_assert(strstr(out, "journal ../../etc/passwd of s/d.lua not copied"),
		  "%s", out);
	free(out);
	/* Shard 1 has two scenarios: s/c.lua is the third. */
	snprintf(path, sizeof path, "%s/journal-3.json", outdir);
	char *copy = tu_slurp(path);
	cr_assert_str_eq(copy, "{\"records\": \"the whole journal\"}\n");
	free(copy);
	snprintf(path, sizeof path, "%s/results.json", outdir);
	doc = tu_load_json(path);
	json_t *sc = json_object_get(doc, "scenarios");
	cr_assert_str_eq(tu_str(json_object_get(json_array_get(sc, 2), "journal"), "file"),
			 "journal-3.json");
	cr_assert_null(json_object_get(json_object_get(json_array_get(sc, 3), "journal"),
				       "file"));
	json_decref(doc);
	snprintf(path, sizeof path, "%s/journal-4.json", outdir);
	cr_assert_lt(file_size(path), 0);
	snprintf(path, sizeof path, "%s/index.html", outdir);
	char *h = tu_slurp(path);
	cr_assert(strstr(h, "every record: <a href=\"journal-3.json\">"));
	free(h);
	tu_rmrf(dir);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* OpenMetrics, parsed back. */

struct sample {
	char name[128];
	char labels[1024];	/* name=value pairs, unescaped, '|'-separated */
	double value;
};

/* Parses one exposition strictly enough to catch what a collector would
 * refuse: metadata before samples, a family's samples together, label
 * escapes, numbers, and # EOF at the end. Returns the number of samples;
 * fails the test on any error. */
static int om_parse(const char *text, struct sample *out, int max)
{
	int n = 0, lineno = 0;
	char family[128] = "";
	char seen[64][128];
	int nseen = 0, eof = 0;
	const char *p = text;
	while (*p) {
		lineno++;
		size_t len = strcspn(p, "\n");
		cr_assert_eq(p[len], '\n', "line %d does not end", lineno);
		char line[4096];
		cr_assert_lt(len, sizeof line);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + 1;
		cr_assert_not(eof, "text after # EOF (line %d)", lineno);
		if (!strcmp(line, "# EOF")) {
			eof = 1;
			continue;
		}
		if (line[0] == '#') {
			char kw[16], name[128], rest[512] = "";
			int k = sscanf(line, "# %15s %127s %511[^\n]", kw, name, rest);
			cr_assert_geq(k, 2, "line %d: %s", lineno, line);
			if (!strcmp(kw, "TYPE")) {
				for (int i = 0; i < nseen; i++)
					cr_assert_str_neq(seen[i], name,
							  "family %s twice", name);
				cr_assert_lt(nseen, 64);
				snprintf(seen[nseen++], sizeof seen[0], "%s", name);
				snprintf(family, sizeof family, "%s", name);
				cr_assert_str_eq(rest, "gauge", "line %d", lineno);
			} else if (!strcmp(kw, "UNIT")) {
				cr_assert_str_eq(name, family);
				char suffix[64];
				snprintf(suffix, sizeof suffix, "_%s", rest);
				cr_assert(strlen(name) > strlen(suffix) &&
						  !strcmp(name + strlen(name) - strlen(suffix),
							  suffix),
					  "unit %s is no suffix of %s", rest, name);
			} else {
				cr_assert_str_eq(kw, "HELP", "line %d", lineno);
				cr_assert_str_eq(name, family);
			}
			continue;
		}
		cr_assert_lt(n, max);
		struct sample *s = &out[n++];
		const char *q = line;
		size_t nl = strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789_:");
		cr_assert(nl > 0 && nl < sizeof s->name, "line %d", lineno);
		memcpy(s->name, q, nl);
		s->name[nl] = '\0';
		cr_assert_str_eq(s->name, family, "line %d: sample outside its family",
				 lineno);
		q += nl;
		s->labels[0] = '\0';
		size_t ll = 0;
		if (*q == '{') {
			q++;
			while (*q != '}') {
				size_t kl = strspn(q, "abcdefghijklmnopqrstuvwxyz_");
				cr_assert(kl > 0 && q[kl] == '=' && q[kl + 1] == '"',
					  "line %d: %s", lineno, line);
				if (ll)
					s->labels[ll++] = '|';
				memcpy(s->labels + ll, q, kl + 1);
				ll += kl + 1;
				q += kl + 2;
				while (*q != '"') {
					cr_assert(*q, "line %d: open label", lineno);
					char c = *q++;
					if (c == '\\') {
						c = *q++;
						cr_assert(c == '\\' || c == '"' || c == 'n',
							  "line %d: bad escape", lineno);
						if (c == 'n')
							c = '\n';
					}
					cr_assert_lt(ll, sizeof s->labels - 2);
					s->labels[ll++] = c;
				}
				q++;
				if (*q == ',')
					q++;
			}
			q++;
			s->labels[ll] = '\0';
		}
		cr_assert_eq(*q, ' ', "line %d", lineno);
		char *end;
		s->value = strtod(q + 1, &end);
		cr_assert(end != q + 1 && *end == '\0', "line %d: value", lineno);
	}
	cr_assert(eof, "no # EOF");
	/* No two samples alike: a collector refuses the whole file. */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			cr_assert(strcmp(out[i].name, out[j].name) ||
					  strcmp(out[i].labels, out[j].labels),
				  "duplicate %s{%s}", out[i].name, out[i].labels);
	return n;
}

static double om_value(const struct sample *s, int n, const char *name,
		       const char *labels)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s[i].name, name) && !strcmp(s[i].labels, labels))
			return s[i].value;
	cr_assert_fail("no sample %s{%s}", name, labels);
	return NAN;
}

static int om_has(const struct sample *s, int n, const char *name,
		  const char *labels)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s[i].name, name) && !strcmp(s[i].labels, labels))
			return 1;
	return 0;
}

/* faultline report writes the HTML, JUnit and OpenMetrics of a results
 * file; every optional part of a scenario shows, and the metrics read
 * back as the numbers in the file. */
Test(report, regenerates_every_output, .timeout = 30)
{
	char *dir = tu_tempdir();
	char outdir[PATH_MAX], prom[PATH_MAX], path[PATH_MAX + 32];
	snprintf(outdir, sizeof outdir, "%s/r", dir);
	snprintf(prom, sizeof prom, "%s/faultline.prom", dir);
	char *out;
	char *argv[] = {"faultline", "report", "tests/data/features.json", "-o",
			outdir, "--openmetrics", prom, NULL};
	int status = tu_run(argv, NULL, &out, 20);
	cr_assert_eq(status, 0, "%s", out);
	free(out);

	char *text = tu_slurp(prom);
	static struct sample s[512];
	int n = om_parse(text, s, 512);
	cr_assert_gt(n, 40);
	cr_assert_eq(om_value(s, n, "faultline_run_exit_status", ""), 1);
	cr_assert_eq(om_value(s, n, "faultline_run_scenarios", "verdict=FLAKY"), 1);
	cr_assert_eq(om_value(s, n, "faultline_run_scenarios", "verdict=PASS"), 1);
	cr_assert_eq(om_value(s, n, "faultline_run_scenarios", "verdict=FAIL"), 0);
	cr_assert_eq(om_value(s, n, "faultline_run_start_timestamp_seconds", ""),
		     1767657600);
	cr_assert_eq(om_value(s, n, "faultline_scenario_verdict",
			      "scenario=feat.lua|verdict=FLAKY"),
		     1);
	cr_assert_eq(om_value(s, n, "faultline_scenario_verdict",
			      "scenario=feat.lua|verdict=PASS"),
		     0);
	cr_assert_eq(om_value(s, n, "faultline_scenario_ok", "scenario=feat.lua"), 0);
	cr_assert_float_eq(om_value(s, n, "faultline_scenario_mttr_mean_seconds",
				    "scenario=feat.lua"),
			   0.004, 1e-12);
	cr_assert_float_eq(om_value(s, n, "faultline_scenario_mttr_p95_seconds",
				    "scenario=feat.lua"),
			   0.006, 1e-12);
	cr_assert_eq(om_value(s, n, "faultline_scenario_leaked_fds", "scenario=feat.lua"), 1);
	cr_assert_eq(om_value(s, n, "faultline_scenario_faults_fired", "scenario=feat.lua"),
		     40);
	cr_assert_eq(om_value(s, n, "faultline_scenario_point_faults_fired",
			      "scenario=feat.lua|point=posix/io/rw/reed"),
		     0);
	cr_assert_float_eq(om_value(s, n, "faultline_scenario_duration_seconds",
				    "scenario=feat.lua"),
			   1.5, 1e-12);
	/* The hostile id, escaped and read back. */
	cr_assert_eq(om_value(s, n, "faultline_scenario_ok",
			      "scenario=q\"uo\\te\nd.lua"),
		     1);
	cr_assert(strstr(text, "scenario=\"q\\\"uo\\\\te\\nd.lua\""), "%s", text);
	cr_assert_not(om_has(s, n, "faultline_scenario_mttr_mean_seconds",
			     "scenario=absent"));
	free(text);

	snprintf(path, sizeof path, "%s/index.html", outdir);
	char *h = tu_slurp(path);
	cr_assert(strstr(h, "Repeated 3 times"));
	cr_assert(strstr(h, "ffeeddccbbaa9988"));
	cr_assert(strstr(h, "0 (never fired)"));
	cr_assert(strstr(h, "was enabled but never fired"));
	cr_assert(strstr(h, "OOM precursor"));
	cr_assert(strstr(h, "RSS reached 512.0 MiB (threshold 500.0 MiB) at 1.200 s"));
	cr_assert(strstr(h, "digest <code>0123456789abcdef</code> · 40 faults recorded"));
	cr_assert(strstr(h, "2 lost"));
	cr_assert(strstr(h, "<tr><th>shard</th><td>1/1</td></tr>"));
	cr_assert(strstr(h, "<button type=\"button\" class=\"v v-FLAKY\""));
	cr_assert(strstr(h, "re-run: <code>faultline run --seed 1 feat.lua</code>"));
	cr_assert(strstr(h, "class=\"win\""), "fault window shaded");
	cr_assert(strstr(h, "class=\"rec\""), "recovery marker");
	cr_assert(strstr(h, "class=\"band\""), "tolerance band");
	cr_assert(strstr(h, "class=\"h-bad\""), "failed health probes");
	cr_assert(strstr(h, "class=\"oom\""), "OOM marker");
	cr_assert(strstr(h, "<path class=\"line l-files\""), "watched files pane");
	cr_assert(strstr(h, "watched files that were not there at the baseline: 1"));
	cr_assert(strstr(h, "{tmpdir}/spool/job-*.tmp"));
	cr_assert(strstr(h, "final minus baseline: <b>fds +1, threads +0, RSS 0 B, "
			    "watched files +1</b>"));
	/* Nothing from the target became markup: two script elements (the
	 * page's and one chart's data), no img, no textarea. */
	cr_assert_eq(tu_count(h, "<script"), 2);
	cr_assert_null(strstr(h, "<img"));
	cr_assert_null(strstr(h, "</textarea>"));
	cr_assert_null(strstr(h, "PWNED'</script>"));
	cr_assert_gt(tu_count(h, "&lt;script&gt;document.title=&#39;PWNED&#39;"), 5);
	cr_assert_null(strstr(h, "unsafe-inline"));
	free(h);

	snprintf(path, sizeof path, "%s/junit.xml", outdir);
	char *x = tu_slurp(path);
	cr_assert_null(strstr(x, "<script"));
	cr_assert_null(strstr(x, "]]>"));
	cr_assert(strstr(x, "<failure type=\"FLAKY\""));
	cr_assert(strstr(x, "&lt;script&gt;document.title"));
	free(x);
	snprintf(path, sizeof path, "%s/results.json", outdir);
	json_t *copy = tu_load_json(path);
	json_decref(copy);

	char *a2[] = {"faultline", "report", "tests/data/nope.json", NULL};
	cr_assert_eq(tu_run(a2, NULL, &out, 10), 2);
	free(out);
	char *a3[] = {"faultline", "report", "--help", NULL};
	cr_assert_eq(tu_run(a3, NULL, &out, 10), 0);
	cr_assert(strstr(out, "usage: faultline report"));
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* The policy names the page's script and style by their SHA-256, so only
 * they run; recomputed here with sha256sum. */
static void hash_of(const char *text, char *b64, size_t len)
{
	char *dir = tu_tempdir();
	char path[PATH_MAX], cmd[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/t", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	FILE *p = popen(cmd, "r");
	char hex[65] = "";
	cr_assert_eq(fscanf(p, "%64s", hex), 1);
	pclose(p);
	unsigned char bin[32];
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		bin[i] = (unsigned char)v;
	}
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789+/";
	size_t o = 0;
	for (int i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)bin[i] << 16;
		if (i + 1 < 32)
			v |= (unsigned)bin[i + 1] << 8;
		if (i + 2 < 32)
			v |= bin[i + 2];
		b64[o++] = abc[(v >> 18) & 63];
		b64[o++] = abc[(v >> 12) & 63];
		b64[o++] = i + 1 < 32 ? abc[(v >> 6) & 63] : '=';
		b64[o++] = i + 2 < 32 ? abc[v & 63] : '=';
	}
	b64[o] = '\0';
	cr_assert_lt(o, len);
	tu_rmrf(dir);
	free(dir);
}

static char *between(const char *h, const char *open, const char *close)
{
	const char *a = strstr(h, open);
	cr_assert_not_null(a, "no %s", open);
	a += strlen(open);
	const char *z = strstr(a, close);
	cr_assert_not_null(z);
	return strndup(a, (size_t)(z - a));
}

Test(report, policy_hashes_match_script_and_style, .timeout = 20)
{
	char *dir = tu_tempdir();
	char *out;
	char *argv[] = {"faultline", "report", "tests/data/shard_1.json", "-o", dir,
			"-q", NULL};
	cr_assert_eq(tu_run(argv, NULL, &out, 10), 0, "%s", out);
	free(out);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/index.html", dir);
	char *h = tu_slurp(path);
	char *script = between(h, "<script>", "</script>");
	char *style = between(h, "<style>", "</style>");
	char *policy = between(h, "Content-Security-Policy\" content=\"", "\"");
	char want[128], b64[64];
	hash_of(script, b64, sizeof b64);
	snprintf(want, sizeof want, "script-src 'sha256-%s'", b64);
	cr_assert(strstr(policy, want), "%s not in %s", want, policy);
	hash_of(style, b64, sizeof b64);
	snprintf(want, sizeof want, "style-src 'sha256-%s'", b64);
	cr_assert(strstr(policy, want), "%s not in %s", want, policy);
	cr_assert(strstr(policy, "default-src 'none'"));
	free(script);
	free(style);
	free(policy);
	free(h);
	tu_rmrf(dir);
	free(dir);
}

/* The hover data's run-length lists, [count, lo, spread, ...], expanded
 * into columns. Returns the number of columns. */
static int rle_expand(json_t *a, double *lo, double *spread, int max)
{
	int n = 0;
	cr_assert(json_is_array(a));
	cr_assert_eq(json_array_size(a) % 3, 0);
	for (size_t i = 0; i < json_array_size(a); i += 3) {
		json_int_t count = json_integer_value(json_array_get(a, i));
		cr_assert_gt(count, 0);
		for (json_int_t k = 0; k < count; k++) {
			cr_assert_lt(n, max);
			lo[n] = json_number_value(json_array_get(a, i + 1));
			spread[n] = json_number_value(json_array_get(a, i + 2));
			n++;
		}
	}
	return n;
}

/* A minute at 1000 Hz (60 000 samples) makes a small page: each chart
 * keeps one minimum and one maximum per pixel column, the hover data the
 * same per column (run-length coded), and a one-sample spike survives. */
Test(report, long_runs_stay_small, .timeout = 60)
{
	json_t *doc = tu_load_json("tests/data/shard_1.json");
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	json_t *t = json_array(), *fds = json_array(), *th = json_array(),
	       *rss = json_array();
	for (int i = 0; i < 60000; i++) {
		json_array_append_new(t, json_real(i * 0.001));
		/* One spike to 500 fds at 31.4159 s; a slow RSS ramp. */
		json_array_append_new(fds, json_integer(i == 31416 ? 500 : 5 + (i / 7000)));
		json_array_append_new(th, json_integer(1 + (i % 1000 == 0)));
		json_array_append_new(rss, json_integer(1048576 + (json_int_t)i * 64));
	}
	json_t *target = json_pack("{s:[s],s:i,s:n,s:f,s:{s:o,s:o,s:o,s:o,s:b}}",
				   "argv", "tgt", "pid", 1, "start_error",
				   "ready_s", 0.01, "series", "t", t, "fds", fds,
				   "threads", th, "rss", rss, "downsampled", 0);
	json_object_set_new(s, "targets", json_pack("[o]", target));
	char *dir = tu_tempdir();
	char in[PATH_MAX], outdir[PATH_MAX + 8], path[PATH_MAX + 32];
	snprintf(in, sizeof in, "%s/results.json", dir);
	cr_assert_eq(json_dump_file(doc, in, JSON_COMPACT), 0);
	json_decref(doc);
	snprintf(outdir, sizeof outdir, "%s/out", dir);
	char *out;
	char *argv[] = {"faultline", "report", in, "-o", outdir, "-q", NULL};
	cr_assert_eq(tu_run(argv, NULL, &out, 30), 0, "%s", out);
	free(out);
	snprintf(path, sizeof path, "%s/index.html", outdir);
	long size = file_size(path);
	cr_assert_gt(size, 5000);
	cr_assert_lt(size, 100 * 1024, "%ld bytes for a minute at 1000 Hz", size);
	char *h = tu_slurp(path);
	/* The hover data: one entry per pixel column (800). */
	char *blob = between(h, "<script type=\"application/json\" id=\"d0-0\">",
			     "</script>");
	json_error_t e;
	json_t *d = json_loads(blob, 0, &e);
	cr_assert_not_null(d, "%s", e.text);
	static double lo[1000], spread[1000];
	cr_assert_eq(tu_num(d, "n"), 800);
	cr_assert_eq(rle_expand(json_object_get(d, "fds"), lo, spread, 1000), 800);
	/* The spike is in its column: minimum 9 (i / 7000 = 4), spread 491. */
	size_t col = (size_t)(31.416 / 59.999 * 800);
	cr_assert_eq(spread[col], 491, "column %zu", col);
	cr_assert_eq(lo[col], 9);
	/* Its neighbours have no spread. */
	cr_assert_eq(spread[col - 2], 0);
	cr_assert_eq(spread[col + 2], 0);
	/* Flat stretches are coded once: fds change 9 times, and a column
	 * holds a new value or a spread in few other places. */
	cr_assert_lt(json_array_size(json_object_get(d, "fds")), 3 * 40);
	cr_assert_eq(rle_expand(json_object_get(d, "rss"), lo, spread, 1000), 800);
	cr_assert_float_eq(lo[0], 1024, 1e-9, "RSS in KiB");
	/* The fds line reaches the spike's height: the highest point of its
	 * path (the smallest y) is in the pane's upper fifth, the rest of
	 * the line near the bottom; flat stretches cost one command each. */
	char *line = between(h, "<path class=\"line l-fds\" d=\"", "\"");
	cr_assert_lt(strlen(line), 4000, "%zu bytes of path", strlen(line));
	double ymin = 1e9, ymax = -1e9;
	for (const char *q = line; *q; q++) {
		double y;
		if (*q == 'V') {
			y = strtod(q + 1, NULL);
		} else if (*q == 'M' || *q == 'L') {
			char *end;
			strtod(q + 1, &end);
			y = strtod(end, NULL);
		} else {
			continue;
		}
		ymin = y < ymin ? y : ymin;
		ymax = y > ymax ? y : ymax;
	}
	/* The pane spans y 16 to 100. */
	cr_assert_lt(ymin, 16 + 84 * 0.2, "top of the line at y %g", ymin);
	cr_assert_gt(ymax, 16 + 84 * 0.8, "bottom of the line at y %g", ymax);
	json_decref(d);
	free(line);
	free(blob);
	free(h);
	tu_rmrf(dir);
	free(dir);
}

/* merge holds one scenario at a time, never the shards: over shards of
 * many small numbers (what a Jansson tree spends most on, about four
 * times their text) its peak memory stays below the size of its input,
 * where a merge that held the inputs whole took five times it. Memory,
 * not time: the bound does not move with the machine's load. The plain
 * build is measured, since a sanitizer's shadow memory is not the
 * program's. */
Test(merge, memory_stays_below_the_input, .timeout = 180)
{
	enum { SHARDS = 20, SCEN = 50, NUMS = 3500 };
	char *dir = tu_tempdir();
	char *argv[SHARDS + 8];
	char outdir[PATH_MAX];
	snprintf(outdir, sizeof outdir, "%s/merged", dir);
	int n = 0;
	argv[n++] = "bin/faultline";
	argv[n++] = "merge";
	argv[n++] = "-q";
	argv[n++] = "-o";
	argv[n++] = outdir;
	double input = 0;
	for (int s = 0; s < SHARDS; s++) {
		char *p = malloc(PATH_MAX);
		snprintf(p, PATH_MAX, "%s/shard-%02d.json", dir, s + 1);
		FILE *f = fopen(p, "w");
		cr_assert_not_null(f);
		fprintf(f, "{\"schema\": \"faultline.results\", \"schema_version\": 1, "
			   "\"faultline_version\": \"t\", \"run\": {\"id\": \"r%d\", "
			   "\"started\": \"2026-01-05T00:00:00Z\", \"duration_s\": 1, "
			   "\"shard\": {\"index\": %d, \"total\": %d}}, \"scenarios\": [",
			s, s + 1, SHARDS);
		for (int k = 0; k < SCEN; k++) {
			fprintf(f, "%s{\"id\": \"s%d-%d.lua\", \"name\": \"s\", "
				   "\"verdict\": \"PASS\", \"duration_s\": 1, \"samples\": [",
				k ? ", " : "", s, k);
			for (int i = 0; i < NUMS; i++)
				fprintf(f, "%s%.6f", i ? "," : "", (s * SCEN + k + i) * 1e-3);
			fputs("]}", f);
		}
		fputs("], \"summary\": {\"total\": 50, \"passed\": 50, \"exit_status\": 0}}\n", f);
		input += (double)ftell(f);
		cr_assert_eq(fclose(f), 0);
		argv[n++] = p;
	}
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	struct rusage ru;
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	double peak = (double)ru.ru_maxrss * 1024;
	cr_assert_gt(input, 30e6, "input %.0f bytes", input);
	cr_assert_lt(peak, input, "peak RSS %.1f MB for %.1f MB of shards", peak / 1e6,
		     input / 1e6);
	/* And everything was written: the last shard's last scenario. */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/results.json", outdir);
	json_t *doc = tu_load_json(path);
	json_t *sc = json_object_get(doc, "scenarios");
	cr_assert_eq(json_array_size(sc), SHARDS * SCEN);
	char last[64];
	snprintf(last, sizeof last, "s%d-%d.lua", SHARDS - 1, SCEN - 1);
	cr_assert_str_eq(tu_str(json_array_get(sc, SHARDS * SCEN - 1), "id"), last);
	json_decref(doc);
	for (int k = 5; k < n; k++)
		free(argv[k]);
	tu_rmrf(dir);
	free(dir);
}
