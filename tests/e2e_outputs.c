/* End to end: the outputs made from results.
 *
 * Watched files (target.watch) are a figure like fds and threads in every
 * output: the gate compares their count, OpenMetrics exports their leak,
 * the trend page charts it. From crafted results (tests/data/shard_1.json
 * with a files leak added) and from a real run of the shipped fatalexit
 * scenarios.
 *
 * A file that cannot be written makes run, merge, report and replay exit
 * non-zero, naming it, and the other files are still written. */
#include "testutil.h"

/* shard_1.json with s/a.lua leaving `files` watched files behind, under
 * another run id and start; returns the file's path (malloc'd). */
static char *with_files(const char *dir, const char *name, double files,
			const char *run_id, const char *started)
{
	json_t *doc = tu_load_json("tests/data/shard_1.json");
	json_t *run = json_object_get(doc, "run");
	json_object_set_new(run, "id", json_string(run_id));
	json_object_set_new(run, "started", json_string(started));
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "id"), "s/a.lua");
	json_object_set_new(json_object_get(s, "leaks"), "files", json_real(files));
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	json_decref(doc);
	return strdup(path);
}

/* Files left behind where the old run left none fail the gate like fds
 * do, and their count shows in the table. */
Test(outputs, gate_compares_watched_files, .timeout = 20)
{
	char *dir = tu_tempdir();
	char *old = with_files(dir, "old.json", 0, "r1", "2026-01-01T00:00:00Z");
	char *new = with_files(dir, "new.json", 4, "r2", "2026-01-02T00:00:00Z");
	char *out;
	char *argv[] = {"faultline", "gate", "--baseline", old, new, NULL};
	int status = tu_run(argv, NULL, &out, 10);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "0 fds, 0 threads, 0 files 0 fds, 0 threads, 4 files "
			      "new leak: 4 files left behind (none before)"),
		  "%s", out);
	cr_assert(strstr(out, "gate: FAIL: 1 new leak ("), "%s", out);
	free(out);
	/* And the other way round: an improvement. */
	char *back[] = {"faultline", "gate", "--baseline", new, old, NULL};
	cr_assert_eq(tu_run(back, NULL, &out, 10), 0, "%s", out);
	cr_assert(strstr(out, "files no longer left behind"), "%s", out);
	free(out);
	char *help[] = {"faultline", "gate", "--help", NULL};
	cr_assert_eq(tu_run(help, NULL, &out, 10), 0);
	/* The help lists the gated figures from the table: procs too. */
	cr_assert(strstr(out, "files or procs in NEW"), "%s", out);
	cr_assert(strstr(out, "\"leaked files\""), "%s", out);
	cr_assert(strstr(out, "\"leaked procs\""), "%s", out);
	free(out);
	free(old);
	free(new);
	tu_rmrf(dir);
	free(dir);
}

Test(outputs, trend_charts_watched_files, .timeout = 20)
{
	char *dir = tu_tempdir();
	char *a = with_files(dir, "a.json", 0, "r1", "2026-01-01T00:00:00Z");
	char *b = with_files(dir, "b.json", 4, "r2", "2026-01-02T00:00:00Z");
	char page[PATH_MAX + 16];
	snprintf(page, sizeof page, "%s/trend.html", dir);
	char *out;
	char *argv[] = {"faultline", "trend", "-q", a, b, "-o", page, NULL};
	cr_assert_eq(tu_run(argv, NULL, &out, 10), 0, "%s", out);
	free(out);
	char *h = tu_slurp(page);
	const char *p1 = strstr(h, "watched files 0, run r1");
	const char *p2 = strstr(h, "watched files 4, run r2");
	cr_assert(p1 && p2 && p1 < p2, "files in run order");
	cr_assert(strstr(h, "<path class=\"ln lf-files\""));
	cr_assert(strstr(h, "<th>watched files</th>"));
	/* s/b.lua watched nothing: no files line on its chart. */
	const char *sb = strstr(h, "<section class=\"scenario\" id=\"s1\"");
	cr_assert_not_null(sb);
	cr_assert_null(strstr(sb, "lf-files"));
	free(h);
	free(a);
	free(b);
	tu_rmrf(dir);
	free(dir);
}

/* A real run of the leaky and the fixed fatalexit scenarios: the leaky
 * one's files are exported to OpenMetrics and counted by the gate. */
Test(outputs, run_exports_watched_files, .timeout = 120)
{
	tu_env e = tu_env_new();
	char prom[PATH_MAX + 16], json[PATH_MAX + 16];
	snprintf(prom, sizeof prom, "%s/m.prom", e.dir);
	snprintf(json, sizeof json, "%s/r.json", e.dir);
	const char *args[] = {"--openmetrics", prom, "--json", json,
			      "scenarios/files/fatalexit_write_fixed.lua",
			      "scenarios/files/fatalexit_write_leaky.lua", NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 100);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	free(out);
	json_t *doc = tu_load_json(json);
	json_t *leaky = tu_scenario(doc, "leaky");
	double files = tu_num(json_object_get(leaky, "leaks"), "files");
	cr_assert_gt(files, 0, "the leaky fixture leaves files behind");
	char *text = tu_slurp(prom);
	char want[256];
	snprintf(want, sizeof want,
		 "faultline_scenario_leaked_files{scenario=\"%s\"} %.0f\n",
		 tu_str(leaky, "id"), files);
	cr_assert(strstr(text, want), "no '%s' in\n%s", want, text);
	cr_assert(strstr(text, "# TYPE faultline_scenario_leaked_files gauge\n"));
	free(text);

	/* The same results with the leak taken away are the baseline: the
	 * files left behind are a new leak even though the scenario is
	 * XFAIL in both (its verdict is all that is watched then), so the
	 * fixed one is made to leak instead. */
	json_t *fixed = tu_scenario(doc, "fixed");
	char base[PATH_MAX + 16], now[PATH_MAX + 16];
	snprintf(base, sizeof base, "%s/base.json", e.dir);
	snprintf(now, sizeof now, "%s/now.json", e.dir);
	json_object_set_new(json_object_get(fixed, "leaks"), "files", json_real(0));
	cr_assert_eq(json_dump_file(doc, base, 0), 0);
	json_object_set_new(json_object_get(fixed, "leaks"), "files", json_real(2));
	cr_assert_eq(json_dump_file(doc, now, 0), 0);
	char *argv[] = {"faultline", "gate", "--baseline", base, now, NULL};
	status = tu_run(argv, NULL, &out, 10);
	cr_assert_eq(status, 1, "%s", out);
	cr_assert(strstr(out, "2 files left behind (none before)"), "%s", out);
	free(out);
	json_decref(doc);
	tu_env_free(&e);
}

/* A path no file can be written at: under a regular file. */
static void unwritable(const char *dir, char *out, size_t len, const char *name)
{
	char plain[PATH_MAX];
	snprintf(plain, sizeof plain, "%s/plain", dir);
	tu_write(plain, "x");
	snprintf(out, len, "%s/%s", plain, name);
}

Test(outputs, run_fails_without_its_results_file, .timeout = 60)
{
	tu_env e = tu_env_new();
	char bad[PATH_MAX + 32], junit[PATH_MAX + 32];
	unwritable(e.dir, bad, sizeof bad, "r.json");
	snprintf(junit, sizeof junit, "%s/r.xml", e.dir);
	char *argv[] = {"faultline", "run", "--no-report", "--json", bad, "--junit",
			junit, "tests/scenarios/ok_minimal.lua", NULL};
	char *out;
	int status = tu_run(argv, e.tmp, &out, 50);
	cr_assert_eq(status, 3, "the scenario passed but its results are lost:\n%s",
		     out);
	cr_assert(strstr(out, "PASS   ok: minimal"), "%s", out);
	cr_assert(strstr(out, "cannot write ") && strstr(out, "plain/r.json"), "%s",
		  out);
	struct stat st;
	cr_assert_eq(stat(junit, &st), 0, "the other file is written");
	free(out);
	/* A report directory that cannot be made. */
	char *argv2[] = {"faultline", "run", "--report-dir", bad,
			 "tests/scenarios/ok_minimal.lua", NULL};
	status = tu_run(argv2, e.tmp, &out, 50);
	cr_assert_eq(status, 3, "%s", out);
	cr_assert(strstr(out, "cannot write "), "%s", out);
	free(out);
	tu_env_free(&e);
}

Test(outputs, merge_and_report_fail_on_a_file_they_cannot_write, .timeout = 30)
{
	char *dir = tu_tempdir();
	char bad[PATH_MAX + 32], good[PATH_MAX + 32], prom[PATH_MAX + 32];
	unwritable(dir, bad, sizeof bad, "out");
	snprintf(good, sizeof good, "%s/good", dir);
	char *out;
	char *m1[] = {"faultline", "merge", "tests/data/shard_1.json",
		      "tests/data/shard_2.json", "-o", bad, NULL};
	cr_assert_eq(tu_run(m1, NULL, &out, 10), 3, "%s", out);
	cr_assert(strstr(out, "plain/out"), "%s", out);
	free(out);
	/* The directory is fine, the extra file is not. */
	unwritable(dir, prom, sizeof prom, "m.prom");
	char *m2[] = {"faultline", "merge", "tests/data/shard_1.json",
		      "tests/data/shard_2.json", "-o", good, "--openmetrics", prom,
		      NULL};
	cr_assert_eq(tu_run(m2, NULL, &out, 10), 3, "%s", out);
	cr_assert(strstr(out, "plain/m.prom"), "%s", out);
	char idx[PATH_MAX + 48];
	snprintf(idx, sizeof idx, "%s/index.html", good);
	struct stat st;
	cr_assert_eq(stat(idx, &st), 0, "the directory was written");
	free(out);
	char *r1[] = {"faultline", "report", "tests/data/shard_1.json", "-o", bad,
		      "-q", NULL};
	cr_assert_eq(tu_run(r1, NULL, &out, 10), 3, "%s", out);
	free(out);
	char *r2[] = {"faultline", "report", "tests/data/shard_1.json", "-o", good,
		      "--openmetrics", prom, NULL};
	cr_assert_eq(tu_run(r2, NULL, &out, 10), 3, "%s", out);
	cr_assert_null(strstr(out, "report: 2 scenarios"), "no success line: %s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* A replay whose verdict and faults came back, but whose report could not
 * be written, does not exit 0. */
Test(outputs, replay_fails_without_its_report, .timeout = 90)
{
	tu_env e = tu_env_new();
	const char *args[] = {"scenarios/fd/fileproc_close_fixed.lua", NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 60);
	cr_assert_eq(status, 0, "%s", out);
	free(out);
	char journal[PATH_MAX + 48], bad[PATH_MAX + 32];
	snprintf(journal, sizeof journal, "%s/latest/journal-1.json", e.reports);
	struct stat st;
	cr_assert_eq(stat(journal, &st), 0, "the run fired faults");
	unwritable(e.dir, bad, sizeof bad, "reports");
	char *argv[] = {"faultline", "replay", "--report-dir", bad, journal, NULL};
	status = tu_run(argv, e.tmp, &out, 60);
	cr_assert(strstr(out, "faults identical"), "%s", out);
	cr_assert_eq(status, 3, "%s", out);
	free(out);
	tu_env_free(&e);
}
