/* faultline sweep, end to end: the real bin/faultline, the real agent and
 * libfiu, on tests/targets/sitetgt (whose calls carry marker comments,
 * so the tests know their lines) and on the fileproc fixture. Every
 * assertion is on what results.json, junit.xml or the exit status say;
 * none on timing. */
#include "testutil.h"

#define SITETGT_SRC "tests/targets/sitetgt.c"

/* The line of "SITE name" in a source file. */
static int marker_line(const char *file, const char *name)
{
	char *src = tu_slurp(file), want[64];
	snprintf(want, sizeof want, "SITE %s */", name);
	char *at = strstr(src, want);
	cr_assert_not_null(at, "no marker %s in %s", name, file);
	int line = 1;
	for (char *p = src; p < at; p++)
		line += *p == '\n';
	free(src);
	return line;
}

/* A batch scenario around sitetgt with these extra arguments (a Lua list
 * body), its close() calls in a window from the first instruction. */
static char *write_site_scenario(const char *dir, const char *name,
				 const char *args)
{
	char *path;
	cr_assert(asprintf(&path, "%s/%s.lua", dir, name) > 0);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"return {\n"
		"  name = '%s', seed = 1, timeout = 20,\n"
		"  target = { cmd = { 'build/tests/targets/sitetgt', '--loops', '3'%s%s },\n"
		"             autostart = false, exits = true },\n"
		"  run = function(t)\n"
		"    t:fault('posix/io/oc/close', { p = 0 })\n"
		"    t:start()\n"
		"    t:wait_exit(10)\n"
		"    t:expect { exit = 0 }\n"
		"  end,\n"
		"}\n",
		name, *args ? ", " : "", args);
	fclose(f);
	return path;
}

/* Runs faultline sweep with args (NULL-terminated, after "sweep"), the
 * report in dir/reports; returns the exit status, the output in *out. */
static int sweep(const char *dir, char **out, ...)
{
	char reports[PATH_MAX];
	snprintf(reports, sizeof reports, "%s/reports", dir);
	char *argv[32] = {"faultline", "sweep", "--report-dir", reports};
	int n = 4;
	va_list ap;
	va_start(ap, out);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 31;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, dir, out, 120);
}

static json_t *latest(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/reports/latest/results.json", dir);
	return tu_load_json(path);
}

/* The map's site whose label is file:line, in the first scenario. */
static json_t *site_at(json_t *doc, const char *file, int line)
{
	json_t *sc = json_array_get(
		json_object_get(json_object_get(doc, "sweep"), "scenarios"), 0);
	size_t i;
	json_t *s;
	char want[128];
	snprintf(want, sizeof want, "%s:%d ", file, line);
	json_array_foreach(json_object_get(sc, "sites"), i, s)
		if (!strncmp(tu_str(s, "at"), want, strlen(want)))
			return s;
	return NULL;
}

static int count_outcome(json_t *doc, const char *outcome)
{
	json_t *counts = json_object_get(json_object_get(doc, "sweep"), "counts");
	return (int)json_integer_value(json_object_get(counts, outcome));
}

Test(sweep, names_the_crashing_site_and_its_replay_reproduces_it, .timeout = 120)
{
	char *dir = tu_tempdir();
	char *scen = write_site_scenario(dir, "crash", "'--crash-b'");
	char *out;
	int st = sweep(dir, &out, "-j", "2", scen, NULL);
	cr_assert_eq(st, 1, "a finding: exit 1 (%d)\n%s", st, out);
	json_t *doc = latest(dir);
	/* Three close() calls: close_a, close_b, open_c. */
	json_t *sc = json_array_get(json_object_get(json_object_get(doc, "sweep"),
						    "scenarios"), 0);
	cr_assert_str_eq(tu_str(json_object_get(sc, "reference"), "verdict"), "PASS");
	cr_assert_eq(json_array_size(json_object_get(sc, "sites")), 3, "%s", out);
	cr_assert_eq(count_outcome(doc, "handled"), 2);
	cr_assert_eq(count_outcome(doc, "crashed"), 1);
	json_t *b = site_at(doc, "sitetgt.c", marker_line(SITETGT_SRC, "close-b"));
	cr_assert_not_null(b, "close_b's call is a site");
	cr_assert_str_eq(tu_str(b, "outcome"), "crashed");
	cr_assert_str_eq(tu_str(b, "function"), "close_b");
	char want[128];
	snprintf(want, sizeof want, "crashed: SIGSEGV at sitetgt.c:%d (close_b)",
		 marker_line(SITETGT_SRC, "crash-b"));
	cr_assert_str_eq(tu_str(b, "detail"), want);
	cr_assert(json_is_true(json_object_get(b, "confirmed")), "ran twice, same");
	json_t *a = site_at(doc, "sitetgt.c", marker_line(SITETGT_SRC, "close-a"));
	cr_assert_not_null(a);
	cr_assert_str_eq(tu_str(a, "outcome"), "handled");
	/* The entry of the crashing site: a FAIL with the replay command. */
	json_t *e = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
		if (!strcmp(tu_str(s, "id"), tu_str(b, "result")))
			e = s;
	cr_assert_not_null(e);
	cr_assert_str_eq(tu_str(e, "verdict"), "FAIL");
	const char *replay = tu_str(b, "replay");
	cr_assert_str_eq(tu_str(e, "rerun"), replay);
	cr_assert(strstr(replay, " sweep --site "), "%s", replay);
	cr_assert(strstr(out, replay), "the console names the replay");

	/* The replay command fails exactly that call again. */
	char rdir[PATH_MAX];
	snprintf(rdir, sizeof rdir, "%s/replay", dir);
	mkdir(rdir, 0755);
	/* replay is "bin/faultline sweep --site ID --actor 0 FILE": run as
	 * it is, with the report elsewhere. */
	char *argv[16], rep[PATH_MAX];
	snprintf(rep, sizeof rep, "%s/reports", rdir);
	int n = 0;
	char *copy = strdup(replay);
	for (char *tok = strtok(copy, " "); tok && n < 12; tok = strtok(NULL, " ")) {
		argv[n++] = tok;
		if (n == 2) {
			argv[n++] = "--report-dir";
			argv[n++] = rep;
		}
	}
	argv[n] = NULL;
	char *rout;
	st = tu_run(argv, rdir, &rout, 60);
	cr_assert_eq(st, 1, "%s", rout);
	json_t *rdoc = latest(rdir);
	json_t *rs = json_array_get(json_object_get(rdoc, "scenarios"), 0);
	cr_assert_eq(json_array_size(json_object_get(rdoc, "scenarios")), 1);
	json_t *rss = json_object_get(rs, "sweep_site");
	cr_assert_str_eq(tu_str(rss, "outcome"), "crashed");
	cr_assert_str_eq(tu_str(rss, "detail"), want);
	json_t *fired = json_object_get(rss, "fired");
	cr_assert_str_eq(tu_str(fired, "point"), "posix/io/oc/close");
	json_decref(rdoc);
	free(rout);
	free(copy);
	json_decref(doc);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

Test(sweep, a_site_whose_two_runs_disagree_is_flaky, .timeout = 120)
{
	char *dir = tu_tempdir();
	char args[PATH_MAX + 32];
	snprintf(args, sizeof args, "'--flaky', '%s/turns'", dir);
	char *scen = write_site_scenario(dir, "flaky", args);
	char *out;
	int st = sweep(dir, &out, scen, NULL);
	cr_assert_eq(st, 1, "flaky fails the sweep (%d)\n%s", st, out);
	json_t *doc = latest(dir);
	json_t *a = site_at(doc, "sitetgt.c", marker_line(SITETGT_SRC, "close-a"));
	cr_assert_not_null(a);
	/* The first run exits 3, the second handles it: flaky, not a
	 * finding. */
	cr_assert_str_eq(tu_str(a, "outcome"), "flaky", "%s", tu_str(a, "detail"));
	cr_assert(strstr(tu_str(a, "detail"), "exited in the first run"), "%s",
		  tu_str(a, "detail"));
	cr_assert(strstr(tu_str(a, "detail"), "handled in the second"), "%s",
		  tu_str(a, "detail"));
	cr_assert_eq(count_outcome(doc, "flaky"), 1);
	cr_assert_eq(count_outcome(doc, "exited"), 0, "not reported as a finding");
	cr_assert_eq(count_outcome(doc, "handled"), 2);
	json_decref(doc);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

Test(sweep, a_budget_says_what_was_not_tried, .timeout = 120)
{
	char *dir = tu_tempdir();
	char *scen = write_site_scenario(dir, "budget", "");
	char *out;
	int st = sweep(dir, &out, "--budget", "1", scen, NULL);
	cr_assert_eq(st, 0, "one site tried, handled (%d)\n%s", st, out);
	json_t *doc = latest(dir);
	cr_assert_eq(count_outcome(doc, "handled"), 1);
	cr_assert_eq(count_outcome(doc, "not tried"), 2);
	cr_assert_eq(json_array_size(json_object_get(doc, "scenarios")), 1,
		     "one run, one entry");
	json_t *sc = json_array_get(json_object_get(json_object_get(doc, "sweep"),
						    "scenarios"), 0);
	size_t i;
	json_t *s;
	int said = 0;
	json_array_foreach(json_object_get(sc, "sites"), i, s)
		if (!strcmp(tu_str(s, "outcome"), "not tried"))
			said += strstr(tu_str(s, "detail"), "budget of 1 run") != NULL;
	cr_assert_eq(said, 2);
	cr_assert(strstr(out, "not tried:"), "%s", out);
	cr_assert_eq(tu_count(out, "budget of 1 run"), 2, "%s", out);
	/* In JUnit: a testcase per site, those not tried skipped. */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/reports/latest/junit.xml", dir);
	char *xml = tu_slurp(path);
	cr_assert_eq(tu_count(xml, "<testcase "), 3, "%s", xml);
	cr_assert_eq(tu_count(xml, "<skipped message=\"not tried: the budget"), 2,
		     "%s", xml);
	free(xml);
	json_decref(doc);
	free(out);

	/* --nth beyond what the reference saw: nothing to try. */
	st = sweep(dir, &out, "--nth", "4", scen, NULL);
	cr_assert_eq(st, 0, "%s", out);
	doc = latest(dir);
	cr_assert_eq(count_outcome(doc, "not tried"), 3);
	cr_assert(strstr(out, "fewer than --nth 4"), "%s", out);
	json_decref(doc);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

Test(sweep, junit_has_a_testcase_per_site, .timeout = 120)
{
	char *dir = tu_tempdir();
	char *scen = write_site_scenario(dir, "junit", "'--crash-b'");
	char *out;
	int st = sweep(dir, &out, "-j", "2", scen, NULL);
	cr_assert_eq(st, 1, "%s", out);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/reports/latest/junit.xml", dir);
	char *xml = tu_slurp(path);
	cr_assert_eq(tu_count(xml, "<testcase "), 3, "%s", xml);
	cr_assert_eq(tu_count(xml, "<failure"), 1);
	char want[64];
	snprintf(want, sizeof want, "sitetgt.c:%d (close_b)",
		 marker_line(SITETGT_SRC, "close-b"));
	cr_assert(strstr(xml, want), "the testcase names the site");
	free(xml);
	/* The HTML report's map: the site under its file and function,
	 * coloured by its outcome. */
	snprintf(path, sizeof path, "%s/reports/latest/index.html", dir);
	char *html = tu_slurp(path);
	cr_assert(strstr(html, "<section id=\"sweep\"><h2>Error paths</h2>"));
	cr_assert(strstr(html, "<tr class=\"fn\"><td colspan=\"4\">close_b</td></tr>"));
	char row[128];
	snprintf(row, sizeof row, "<code>%s</code>", want);
	char *at = strstr(html, row);
	cr_assert_not_null(at, "a row for the site");
	cr_assert(strstr(at, "<span class=\"o o-crashed\">crashed</span>"));
	cr_assert(strstr(at, "sweep --site "), "its replay command");
	free(html);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* A fixture: where the leak was born                                   */
/* ------------------------------------------------------------------ */

#define FILEPROC_SRC "fixtures/fileproc.c"

/* The line of the first line of a file that contains text, after the
 * line that contains after (NULL: from the start). */
static int line_of(const char *file, const char *after, const char *text)
{
	char *src = tu_slurp(file);
	char *from = after ? strstr(src, after) : src;
	cr_assert_not_null(from, "%s has no '%s'", file, after);
	char *at = strstr(from, text);
	cr_assert_not_null(at, "%s has no '%s'", file, text);
	int line = 1;
	for (char *p = src; p < at; p++)
		line += *p == '\n';
	free(src);
	return line;
}

/* fileproc in a mode, its close() calls failing in a short window after
 * the baseline; nothing may leak. The window opens at an unlink: while a
 * batch's files are deleted, so the next close after writing is always a
 * batch's first file's, whatever the timing, and --nth 2 always fails its
 * second file's (with one file of the batch open). */
static char *write_fileproc_scenario(const char *dir, const char *mode,
				     const char *extra)
{
	char *path;
	cr_assert(asprintf(&path, "%s/fileproc_%s.lua", dir, mode) > 0);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"return {\n"
		"  name = 'fileproc %s under close() failures', seed = 1, timeout = 30,\n"
		"  target = { cmd = { 'fixtures/bin/fileproc', '--mode', '%s',\n"
		"                     '--port', '{port}', '--batch', '8', '--dir', '{tmpdir}' },\n"
		"             ready = { stdout = 'READY' }%s },\n"
		"  sample = { hz = 200 },\n"
		"  steady = { fds = '+9', threads = '+0' },\n"
		"  run = function(t)\n"
		"    t:settle(0.3)\n"
		"    t:fault('posix/io/oc/close', { p = 0.3, errno = 'EIO',\n"
		"                                 after = { point = 'posix/io/dir/unlink', calls = 8 } })\n"
		"    t:sleep(0.5)\n"
		"    t:clear()\n"
		"    t:stop()\n"
		"    t:expect { exit = 0, leaked = { fds = 0 } }\n"
		"  end,\n"
		"}\n",
		mode, mode, extra);
	fclose(f);
	return path;
}

Test(sweep, a_leaky_fixture_names_the_leaking_call_and_where_its_fd_was_opened,
     .timeout = 180)
{
	char *dir = tu_tempdir();
	char *scen = write_fileproc_scenario(dir, "leaky", "");
	char *out;
	/* The first close after writing a batch's first file leaks nothing
	 * (no file of the batch is open yet); the second leaks the first
	 * file's fd: --nth 2. */
	int st = sweep(dir, &out, "-j", "2", "--nth", "2", scen, NULL);
	cr_assert_eq(st, 1, "%d\n%s", st, out);
	json_t *doc = latest(dir);
	int produce = line_of(FILEPROC_SRC, "static int produce_file",
			      "if (close(fd) != 0) {");
	int opened = line_of(FILEPROC_SRC, "static int consume_file",
			     "int fd = open(path, O_RDONLY");
	json_t *s = site_at(doc, "fileproc.c", produce);
	cr_assert_not_null(s, "the close in produce_file is a site\n%s", out);
	cr_assert_str_eq(tu_str(s, "function"), "produce_file");
	cr_assert_str_eq(tu_str(s, "outcome"), "leaked", "%s", tu_str(s, "detail"));
	char want[128];
	snprintf(want, sizeof want, "opened at fileproc.c:%d (consume_file)", opened);
	cr_assert(strstr(tu_str(s, "detail"), want), "%s", tu_str(s, "detail"));
	cr_assert(strstr(tu_str(s, "detail"), "leaked 1 fds"), "%s",
		  tu_str(s, "detail"));
	cr_assert(json_is_true(json_object_get(s, "confirmed")));
	/* The leaked fd's group in the site's run says where it was born. */
	json_t *e = NULL;
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(doc, "scenarios"), i, x)
		if (!strcmp(tu_str(x, "id"), tu_str(s, "result")))
			e = x;
	cr_assert_not_null(e);
	json_t *g = json_array_get(json_object_get(json_object_get(e, "forensics"),
						   "fd_groups"), 0);
	cr_assert_str_eq(tu_str(g, "opened_at"), want + strlen("opened at "));
	cr_assert_eq(count_outcome(doc, "leaked"), 1, "only that site leaks");
	json_decref(doc);
	free(out);
	free(scen);

	/* The fixed mode closes on every path: no site fails. */
	scen = write_fileproc_scenario(dir, "fixed", "");
	st = sweep(dir, &out, "-j", "2", "--nth", "2", scen, NULL);
	cr_assert_eq(st, 0, "%d\n%s", st, out);
	doc = latest(dir);
	json_t *sc = json_array_get(json_object_get(json_object_get(doc, "sweep"),
						    "scenarios"), 0);
	size_t nsites = json_array_size(json_object_get(sc, "sites"));
	cr_assert_geq(nsites, 2, "%s", out);
	cr_assert_eq((size_t)count_outcome(doc, "handled"), nsites, "%s", out);
	json_decref(doc);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

Test(sweep, run_with_origins_says_where_leaked_fds_were_opened, .timeout = 120)
{
	char *dir = tu_tempdir();
	char *scen = write_fileproc_scenario(dir, "leaky", ", origins = true");
	char reports[PATH_MAX];
	snprintf(reports, sizeof reports, "%s/reports", dir);
	/* -v: the console gives each failed expectation in full (without
	 * it, a leak this long is its brief, "leaked 50 fds (allowed 0)"). */
	char *argv[] = {"faultline", "run", "-v", "--report-dir", reports, scen, NULL};
	char *out;
	int st = tu_run(argv, dir, &out, 90);
	cr_assert_eq(st, 1, "the leak fails the run\n%s", out);
	char want[128];
	snprintf(want, sizeof want, ", opened at fileproc.c:%d (consume_file)",
		 line_of(FILEPROC_SRC, "static int consume_file",
			 "int fd = open(path, O_RDONLY"));
	cr_assert(strstr(out, want), "the leak message says where:\n%s", out);
	json_t *doc = latest(dir);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	json_t *fds = json_object_get(json_object_get(s, "forensics"), "new_fds");
	cr_assert_gt(json_array_size(fds), 0);
	size_t i;
	json_t *fd;
	json_array_foreach(fds, i, fd)
		if (strstr(tu_str(fd, "target"), "/in-"))
			cr_assert(strstr(want, tu_str(fd, "opened_at")), "%s",
				  tu_str(fd, "opened_at"));
	json_decref(doc);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* The gate and merge                                                   */
/* ------------------------------------------------------------------ */

/* Sweeps the scenario at path into dir/name/reports. */
static int sweep_into(const char *dir, const char *name, const char *scen,
		      const char *shard, char **out)
{
	char sub[PATH_MAX];
	snprintf(sub, sizeof sub, "%s/%s", dir, name);
	mkdir(sub, 0755);
	if (shard)
		return sweep(sub, out, "--shard", shard, scen, NULL);
	return sweep(sub, out, "-j", "2", scen, NULL);
}

Test(sweep, the_gate_fails_on_a_site_that_newly_crashes, .timeout = 120)
{
	char *dir = tu_tempdir();
	/* The release: every close handled. */
	char *scen = write_site_scenario(dir, "gated", "");
	char *out;
	cr_assert_eq(sweep_into(dir, "old", scen, NULL, &out), 0, "%s", out);
	free(out);
	free(scen);
	/* The candidate: the same scenario, and now close_b crashes. */
	scen = write_site_scenario(dir, "gated", "'--crash-b'");
	cr_assert_eq(sweep_into(dir, "new", scen, NULL, &out), 1, "%s", out);
	free(out);
	char old[PATH_MAX], new[PATH_MAX];
	snprintf(old, sizeof old, "%s/old/reports/latest", dir);
	snprintf(new, sizeof new, "%s/new/reports/latest", dir);
	char *argv[] = {"faultline", "gate", "--baseline", old, new, NULL};
	int st = tu_run(argv, dir, &out, 30);
	cr_assert_eq(st, 1, "the gate fails\n%s", out);
	char want[128];
	snprintf(want, sizeof want, "sitetgt.c:%d (close_b)",
		 marker_line(SITETGT_SRC, "close-b"));
	cr_assert(strstr(out, want), "it names the site\n%s", out);
	cr_assert(strstr(out, "newly crashes when its call fails"), "%s", out);
	cr_assert(strstr(out, "1 newly failing"), "%s", out);
	free(out);
	/* The same sweep against itself: nothing new. */
	char *argv2[] = {"faultline", "gate", "--baseline", new, new, NULL};
	st = tu_run(argv2, dir, &out, 30);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "still crashed"), "%s", out);
	free(out);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}

Test(sweep, shards_merge_into_one_map, .timeout = 120)
{
	char *dir = tu_tempdir();
	char *scen = write_site_scenario(dir, "sharded", "'--crash-b'");
	char *out;
	int s1 = sweep_into(dir, "s1", scen, "1/2", &out);
	free(out);
	int s2 = sweep_into(dir, "s2", scen, "2/2", &out);
	free(out);
	/* One of the two shares has the crashing site. */
	cr_assert(s1 == 1 || s2 == 1, "%d %d", s1, s2);
	char a[PATH_MAX], b[PATH_MAX], m[PATH_MAX];
	snprintf(a, sizeof a, "%s/s1/reports/latest", dir);
	snprintf(b, sizeof b, "%s/s2/reports/latest", dir);
	snprintf(m, sizeof m, "%s/merged", dir);
	/* Each share ran its own sites only. */
	char ra[PATH_MAX], rb[PATH_MAX];
	snprintf(ra, sizeof ra, "%s/results.json", a);
	snprintf(rb, sizeof rb, "%s/results.json", b);
	json_t *da = tu_load_json(ra), *db = tu_load_json(rb);
	size_t na = json_array_size(json_object_get(da, "scenarios"));
	size_t nb = json_array_size(json_object_get(db, "scenarios"));
	cr_assert_eq(na + nb, 3, "the three sites split between shares: %zu + %zu",
		     na, nb);
	cr_assert_eq(count_outcome(da, "other shard") + count_outcome(db, "other shard"),
		     3);
	json_decref(da);
	json_decref(db);
	char *argv[] = {"faultline", "merge", a, b, "-o", m, NULL};
	int st = tu_run(argv, dir, &out, 30);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	char mr[PATH_MAX];
	snprintf(mr, sizeof mr, "%s/results.json", m);
	json_t *doc = tu_load_json(mr);
	cr_assert_eq(json_array_size(json_object_get(doc, "scenarios")), 3);
	cr_assert_eq(count_outcome(doc, "other shard"), 0, "every site from its shard");
	cr_assert_eq(count_outcome(doc, "crashed"), 1);
	cr_assert_eq(count_outcome(doc, "handled"), 2);
	json_decref(doc);
	free(scen);
	tu_rmrf(dir);
	free(dir);
}
