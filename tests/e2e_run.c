/* End-to-end: the real bin/faultline on real fixtures under real libfiu.
 * Each test runs faultline as a child with its own report directory and
 * TMPDIR, then reads results.json and checks verdicts and measured
 * numbers, and that nothing (process, fifo, temporary file) is left. */
#include "testutil.h"

/* The shipped suite: fixed passes, leaky is caught, with the leak named
 * and counted, for both close() and malloc() failures. */
Test(e2e, shipped_scenarios, .timeout = 120)
{
	tu_env e = tu_env_new();
	char *out;
	/* The fixtures' scenarios; scenarios/servers/ is e2e_servers.c's. */
	const char *paths[] = {"scenarios/fd/", "scenarios/files/", "scenarios/mem/",
			       "scenarios/threads/", NULL};
	int status = tu_env_run(&e, paths, &out, 280);
	cr_assert_eq(status, 0, "exit %d, output:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	/* Every fixed mode passes, every leaky mode is caught. */
	json_t *sum = json_object_get(doc, "summary");
	long long total = json_integer_value(json_object_get(sum, "total"));
	cr_assert_geq(total, 4);
	cr_assert_eq(json_integer_value(json_object_get(sum, "passed")) +
			     json_integer_value(json_object_get(sum, "xfailed")),
		     total, "%s", out);
	size_t si;
	json_t *sx;
	json_array_foreach(json_object_get(doc, "scenarios"), si, sx)
	{
		const char *file = tu_str(sx, "file");
		int leaky = strstr(file, "_leaky") != NULL;
		cr_assert_str_eq(tu_str(sx, "verdict"), leaky ? "XFAIL" : "PASS",
				 "%s: %s", file, tu_str(sx, "message"));
	}

	json_t *s = tu_scenario(doc, "fixed keeps no fd when close");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS");
	json_t *leaks = json_object_get(s, "leaks");
	cr_assert_eq(tu_num(leaks, "fds"), 0);
	cr_assert_eq(tu_num(leaks, "threads"), 0);
	json_t *pt = json_object_get(json_object_get(s, "points"),
				     "posix/io/oc/close");
	double calls = tu_num(pt, "calls"), fired = tu_num(pt, "fired");
	cr_assert_gt(fired, 50, "close faults fired: %g", fired);
	/* p = 0.3: the share that fired is near it. */
	cr_assert(fired / calls > 0.2 && fired / calls < 0.4, "%g of %g", fired,
		  calls);
	json_t *ep = json_array_get(json_object_get(s, "episodes"), 0);
	cr_assert_str_eq(tu_str(ep, "state"), "recovered");
	cr_assert_lt(tu_num(ep, "recovery_s"), 0.5);

	s = tu_scenario(doc, "leaky loses fds when close");
	cr_assert_str_eq(tu_str(s, "verdict"), "XFAIL");
	leaks = json_object_get(s, "leaks");
	double leaked = tu_num(leaks, "fds");
	cr_assert_geq(leaked, 5, "leaked %g fds", leaked);
	char want[128];
	snprintf(want, sizeof want, "leaked %.0f fds (allowed 0): ", leaked);
	const char *msg = tu_str(s, "message");
	cr_assert(strncmp(msg, want, strlen(want)) == 0, "message: %s", msg);
	cr_assert(strstr(msg, "/fileproc.") && strstr(msg, "/in-*.txt"),
		  "the leaked files are named: %s", msg);
	json_t *f = json_object_get(s, "forensics");
	json_t *g0 = json_array_get(json_object_get(f, "fd_groups"), 0);
	/* The forensic listing agrees with the count, give or take the
	 * files of a batch in progress. */
	double listed = tu_num(f, "new_fd_count");
	cr_assert(listed >= leaked - 2 && listed <= leaked + 17,
		  "listed %g, leaked %g", listed, leaked);
	cr_assert_geq(tu_num(g0, "count"), leaked - 16);
	ep = json_array_get(json_object_get(s, "episodes"), 0);
	cr_assert_str_eq(tu_str(ep, "state"), "not recovered");

	s = tu_scenario(doc, "fixed frees its buffers");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS");
	leaks = json_object_get(s, "leaks");
	cr_assert_lt(tu_num(leaks, "rss"), 4 << 20);
	cr_assert_eq(tu_num(leaks, "fds"), 0);
	pt = json_object_get(json_object_get(s, "points"), "libc/mm/malloc");
	cr_assert_gt(tu_num(pt, "fired"), 5);

	s = tu_scenario(doc, "leaky loses buffers");
	cr_assert_str_eq(tu_str(s, "verdict"), "XFAIL");
	leaks = json_object_get(s, "leaks");
	cr_assert_gt(tu_num(leaks, "rss"), 4 << 20, "leaked %g bytes",
		     tu_num(leaks, "rss"));
	cr_assert(strstr(tu_str(s, "message"), "of RSS (allowed 4.0 MiB)"),
		  "%s", tu_str(s, "message"));

	/* JUnit and HTML next to it, and latest pointing at the run. */
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/latest/junit.xml", e.reports);
	char *junit = tu_slurp(path);
	cr_assert_eq(tu_count(junit, "<testcase "), total);
	cr_assert_eq(tu_count(junit, "<skipped "),
		     json_integer_value(json_object_get(sum, "xfailed")));
	cr_assert_eq(tu_count(junit, "<failure "), 0);
	snprintf(path, sizeof path, "%s/latest/index.html", e.reports);
	char *html = tu_slurp(path);
	cr_assert_geq(tu_count(html, "<svg"), total, "a chart per scenario");
	free(junit);
	free(html);
	char link[PATH_MAX];
	snprintf(path, sizeof path, "%s/latest", e.reports);
	ssize_t ln = readlink(path, link, sizeof link - 1);
	cr_assert_gt(ln, 0);
	link[ln] = '\0';
	cr_assert_str_eq(link, tu_str(json_object_get(doc, "run"), "id"));
	cr_assert_eq(tu_count_entries(e.tmp), 0, "temporary files left");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Every call of the documented API, with its results checked inside the
 * scenario (t:check) and here. */
Test(e2e, api_coverage, .timeout = 90)
{
	tu_env e = tu_env_new();
	char *out;
	const char *paths[] = {"tests/scenarios/api.lua", NULL};
	int status = tu_env_run(&e, paths, &out, 80);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "api: every documented call");
	if (strcmp(tu_str(s, "verdict"), "PASS") != 0) {
		char *dump = json_dumps(json_object_get(s, "expectations"),
					JSON_INDENT(1));
		cr_assert_fail("verdict %s: %s\n%s\n%s", tu_str(s, "verdict"),
			       tu_str(s, "message"), dump, out);
	}
	cr_assert_eq(status, 0);
	json_t *ex = json_object_get(s, "expectations");
	cr_assert_eq(json_array_size(ex), 49, "every check ran");
	cr_assert_eq(json_array_size(json_object_get(s, "targets")), 3,
		     "start, restart and start");
	/* 1 window + onetime + 3 episodes + the libfiu-mode window. */
	cr_assert_eq(json_array_size(json_object_get(s, "episodes")), 6);
	json_t *m = json_object_get(s, "mttr");
	cr_assert_eq(tu_num(m, "n"), 4, "4 judged recoveries");
	json_t *h = json_object_get(s, "health");
	cr_assert_gt(tu_num(h, "probes"), 20);
	cr_assert_geq(tu_num(h, "failed"), 2, "SICK and STOP were seen");
	json_t *log = json_object_get(s, "log");
	int logged = 0, printed = 0;
	size_t i;
	json_t *l;
	json_array_foreach(log, i, l)
	{
		logged |= strcmp(tu_str(l, "msg"), "logged 1 2") == 0;
		printed |= strcmp(tu_str(l, "msg"), "printed\t3") == 0;
	}
	cr_assert(logged && printed, "t:log and print reach the log");
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	/* The agent has no thread and keeps no fd; its memory is stated. */
	json_t *fp = json_object_get(t0, "footprint");
	cr_assert_eq(tu_num(fp, "threads"), 0);
	cr_assert_eq(tu_num(fp, "fds"), 0);
	cr_assert_gt(tu_num(fp, "bytes"), 0);
	cr_assert(strstr(tu_str(fp, "what"), "no thread, no fd"), "%s",
		  tu_str(fp, "what"));
	json_t *t1 = json_array_get(json_object_get(s, "targets"), 1);
	cr_assert_eq(json_integer_value(json_object_get(
			     json_object_get(t1, "exit"), "code")),
		     3);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Script and configuration errors name the file and the line, mark that
 * scenario ERROR, and the rest of the suite still runs. */
Test(e2e, errors_name_file_and_line, .timeout = 60)
{
	tu_env e = tu_env_new();
	char *out;
	const char *paths[] = {"tests/scenarios/errors_runtime.lua",
			       "tests/scenarios/errors_syntax.lua",
			       "tests/scenarios/errors_config.lua",
			       "tests/scenarios/errors_method.lua",
			       "tests/scenarios/errors_point.lua",
			       "tests/scenarios/errors_declared.lua",
			       "tests/scenarios/ok_minimal.lua",
			       NULL};
	int status = tu_env_run(&e, paths, &out, 50);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "error: runtime error on line 9");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"),
			 "tests/scenarios/errors_runtime.lua:9: attempt to "
			 "index a nil value"),
		  "%s", tu_str(s, "message"));
	json_t *err = json_object_get(s, "error");
	cr_assert(strstr(tu_str(err, "traceback"), "stack traceback"));

	s = tu_scenario(doc, "errors_syntax.lua");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(json_is_true(json_object_get(s, "load_error")));
	cr_assert(strstr(tu_str(s, "message"),
			 "tests/scenarios/errors_syntax.lua:5:"),
		  "%s", tu_str(s, "message"));

	s = tu_scenario(doc, "error: config");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"),
			 "tests/scenarios/errors_config.lua:4: target.cmd must be "
			 "a list of strings (got string)"),
		  "%s", tu_str(s, "message"));

	s = tu_scenario(doc, "error: bad option");
	cr_assert(strstr(tu_str(s, "message"),
			 "tests/scenarios/errors_method.lua:7: fault: unknown "
			 "option 'prob'"),
		  "%s", tu_str(s, "message"));

	s = tu_scenario(doc, "error: misspelled point");
	cr_assert(strstr(tu_str(s, "message"),
			 "unknown failure point 'posix/io/oc/clsoe' (did you "
			 "mean 'posix/io/oc/close'?)"),
		  "%s", tu_str(s, "message"));

	s = tu_scenario(doc, "error: misspelled declared point");
	cr_assert(strstr(tu_str(s, "message"),
			 "errors_declared.lua:8: fault: the target declares no "
			 "failure point 'fl/chan/send/blok' (did you mean "
			 "'fl/chan/send/block'?)"),
		  "%s", tu_str(s, "message"));

	s = tu_scenario(doc, "ok: minimal");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS");
	cr_assert_eq(tu_count_entries(e.tmp), 0);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* t:assert and t:fail end the run as FAIL, even inside a pcall; t:check
 * records and goes on. */
Test(e2e, assert_and_fail, .timeout = 40)
{
	tu_env e = tu_env_new();
	char *out;
	const char *paths[] = {"tests/scenarios/fail_calls.lua", NULL};
	int status = tu_env_run(&e, paths, &out, 30);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "fail: t:assert false");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert_str_eq(tu_str(s, "message"),
			 "a check that fails but lets the run go on");
	json_t *ex = json_object_get(s, "expectations");
	cr_assert_eq(json_array_size(ex), 2);
	cr_assert_str_eq(tu_str(json_array_get(ex, 1), "message"),
			 "one is not two");
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(s, "log"), i, l)
		cr_assert_str_neq(tu_str(l, "msg"), "not reached");
	s = tu_scenario(doc, "fail: t:fail");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert_str_eq(tu_str(s, "message"), "failed on purpose");
	cr_assert_str_eq(tu_str(json_array_get(json_object_get(s, "expectations"), 0),
				"where"),
			 "tests/scenarios/fail_calls.lua:17");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A target's fd table starts as its own: descriptors faultline itself
 * inherited (a make jobserver's pipe, a CI runner's sockets; here an fd
 * this test leaves open without close-on-exec) do not reach it, and
 * faultline's region is closed by the agent. The shell lists its fds
 * while it waits for ls, holding nothing else: in a pipeline it would
 * hold the pipe's two ends until it had started both sides, and ls could
 * list them or not, as the two were scheduled. */
Test(e2e, target_inherits_only_stdio, .timeout = 40)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/fds.lua", e.dir);
	tu_write(path, "return { name = 'fds', target = { exits = true,\n"
		       "  cmd = { '/bin/sh', '-c', 'ls /proc/$$/fd; exit' } },\n"
		       "  run = function(t) t:wait_exit(10); t:expect { exit = 0 } end }\n");
	int stray = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: inherited */
	cr_assert_geq(stray, 3);
	const char *args[] = {path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 30);
	close(stray);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *t0 = json_array_get(json_object_get(tu_scenario(doc, "fds"), "targets"), 0);
	cr_assert_str_eq(tu_str(json_object_get(t0, "output"), "stdout_tail"), "0\n1\n2\n");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A script that never returns is stopped by the watchdog, even when it
 * wraps its loop in pcall. */
Test(e2e, watchdog_stops_endless_scripts, .timeout = 40)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/loops.lua", e.dir);
	tu_write(path,
		 "return {\n"
		 "  { name = 'loop: plain', timeout = 1,\n"
		 "    target = { cmd = { 'build/tests/targets/tgt' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t) while true do end end },\n"
		 "  { name = 'loop: pcall', timeout = 1,\n"
		 "    target = { cmd = { 'build/tests/targets/tgt' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t) while true do pcall(function() while true do end end) end end },\n"
		 "  { name = 'loop: sleeping', timeout = 1,\n"
		 "    target = { cmd = { 'build/tests/targets/tgt' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t) while true do t:sleep(0.1) end end },\n"
		 "}\n");
	char *out;
	const char *paths[] = {path, NULL};
	double t0 = tu_now();
	int status = tu_env_run(&e, paths, &out, 30);
	double took = tu_now() - t0;
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	cr_assert_lt(took, 12, "three 1 s watchdogs took %.1f s", took);
	json_t *doc = tu_latest(&e);
	const char *names[] = {"loop: plain", "loop: pcall", "loop: sleeping"};
	for (int i = 0; i < 3; i++) {
		json_t *s = tu_scenario(doc, names[i]);
		cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
		cr_assert(strstr(tu_str(s, "message"), "timed out after 1.0 s"),
			  "%s: %s", names[i], tu_str(s, "message"));
		cr_assert_lt(tu_num(s, "duration_s"), 3.5);
	}
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A target that ignores SIGTERM is killed after the grace period, and a
 * script error in the middle of a run still stops the target: no process
 * and no temporary file stay behind. */
Test(e2e, hang_and_error_leave_nothing, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/hang.lua", e.dir);
	tu_write(path,
		 "return {\n"
		 "  { name = 'hang: ignores SIGTERM',\n"
		 "    target = { cmd = { 'build/tests/targets/tgt', '--ignore-term', '--ready', 'MARK-HANG-1' },\n"
		 "               ready = { stdout = 'MARK-HANG-1' } },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.2)\n"
		 "      local e = t:stop { grace = 0.3 }\n"
		 "      t:check(e.signal == 'SIGKILL', 'killed: ' .. tostring(e.signal))\n"
		 "      t:expect { signal = 'SIGKILL' }\n"
		 "    end },\n"
		 "  { name = 'hang: script error mid-run',\n"
		 "    target = { cmd = { 'build/tests/targets/tgt', '--ignore-term', '--child', '--ready', 'MARK-HANG-2' },\n"
		 "               ready = { stdout = 'MARK-HANG-2' } },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.2)\n"
		 "      t:fault('posix/io/oc/close', { p = 0.5 })\n"
		 "      error('boom in the middle')\n"
		 "    end },\n"
		 "}\n");
	char *out;
	const char *paths[] = {path, NULL};
	int status = tu_env_run(&e, paths, &out, 40);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "hang: ignores SIGTERM");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *ex = json_object_get(
		json_array_get(json_object_get(s, "targets"), 0), "exit");
	cr_assert_str_eq(tu_str(ex, "stopped_by"),
			 "SIGTERM, then SIGKILL after 0.3 s");
	s = tu_scenario(doc, "hang: script error mid-run");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"), "hang.lua:17: boom in the middle"),
		  "%s", tu_str(s, "message"));
	ex = json_object_get(json_array_get(json_object_get(s, "targets"), 0),
			     "exit");
	cr_assert(json_is_true(json_object_get(ex, "stragglers_killed")),
		  "the child left in the group was killed");
	cr_assert_eq(tu_wait_gone("MARK-HANG-", 2), 0, "target processes left");
	cr_assert_eq(tu_count_entries(e.tmp), 0, "temporary files left");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

static pid_t wait_for_marker(const char *marker, double timeout_s)
{
	pid_t pids[4];
	double deadline = tu_now() + timeout_s;
	while (tu_now() < deadline) {
		if (tu_find_marked(marker, pids, 4) > 0)
			return pids[0];
		usleep(20000);
	}
	return 0;
}

static const char long_scenario[] =
	"return { name = 'long', timeout = 60,\n"
	"  target = { cmd = { 'build/tests/targets/tgt', '--ignore-term', '--child', '--ready', '%s' },\n"
	"             ready = { stdout = '%s' } },\n"
	"  run = function(t) t:settle(0.2); t:fault('posix/io/oc/close', { p = 0.1 }); t:sleep(30) end }\n";

/* faultline killed with SIGKILL: its guardian ends the targets (and their
 * children) and removes the temporary directory. */
Test(e2e, harness_killed_leaves_nothing, .timeout = 30)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32], text[1024];
	snprintf(path, sizeof path, "%s/long.lua", e.dir);
	snprintf(text, sizeof text, long_scenario, "MARK-KILL-9", "MARK-KILL-9");
	tu_write(path, text);
	char *argv[] = {"faultline", "run", "--report-dir", e.reports, path, NULL};
	tu_proc p = tu_start(argv, e.tmp);
	pid_t target = wait_for_marker("MARK-KILL-9", 10);
	cr_assert_gt(target, 0, "the target did not start");
	cr_assert_eq(tu_count_entries(e.tmp), 1, "faultline's temporary dir");
	usleep(300000);
	kill(p.pid, SIGKILL);
	tu_finish(p, NULL, 5);
	cr_assert_eq(tu_wait_gone("MARK-KILL-9", 3), 0,
		     "target or its child outlived faultline");
	double deadline = tu_now() + 3;
	while (tu_count_entries(e.tmp) != 0 && tu_now() < deadline)
		usleep(20000);
	cr_assert_eq(tu_count_entries(e.tmp), 0, "temporary files left");
	tu_env_free(&e);
}

/* Ctrl-C: the running scenario ends as ERROR "interrupted", the report is
 * written, the target is gone, exit status 130. */
Test(e2e, interrupt_writes_the_report, .timeout = 30)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32], text[1024];
	snprintf(path, sizeof path, "%s/long.lua", e.dir);
	snprintf(text, sizeof text, long_scenario, "MARK-INT-2", "MARK-INT-2");
	tu_write(path, text);
	char *argv[] = {"faultline", "run", "--report-dir", e.reports, path, NULL};
	tu_proc p = tu_start(argv, e.tmp);
	cr_assert_gt(wait_for_marker("MARK-INT-2", 10), 0);
	usleep(500000);
	kill(p.pid, SIGINT);
	char *out;
	int status = tu_finish(p, &out, 15);
	cr_assert_eq(status, 130, "exit %d:\n%s", status, out);
	cr_assert_eq(tu_wait_gone("MARK-INT-2", 2), 0);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "long");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"), "interrupted by SIGINT"), "%s",
		  tu_str(s, "message"));
	cr_assert_eq(tu_count_entries(e.tmp), 0);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Survival, readiness and leaks of threads and fds, with forensics. */
Test(e2e, judged_failures, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/judged.lua", e.dir);
	tu_write(path,
		 "local tgt = 'build/tests/targets/tgt'\n"
		 "return {\n"
		 "  { name = 'judged: crash',\n"
		 "    target = { cmd = { tgt, '--crash-after', '400' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t) t:settle(0.2); t:sleep(0.6) end },\n"
		 "  { name = 'judged: never ready',\n"
		 "    target = { cmd = { tgt, '--no-ready' }, ready = { stdout = 'READY', timeout = 0.5 } },\n"
		 "    run = function(t) end },\n"
		 "  { name = 'judged: exits before ready',\n"
		 "    target = { cmd = { tgt, '--no-ready', '--exit-after', '100', '--code', '4' },\n"
		 "               ready = { stdout = 'READY' } },\n"
		 "    run = function(t) end },\n"
		 "  { name = 'judged: leaks threads',\n"
		 "    target = { cmd = { tgt, '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.3)\n"
		 "      t:tcp('THREADS 3 leak\\n')\n"
		 "      t:tcp('LEAKFD 17\\n')\n"
		 "      t:sleep(0.3)\n"
		 "      t:stop()\n"
		 "      t:expect { leaked = { fds = 0, threads = 0 } }\n"
		 "    end },\n"
		 "  { name = 'judged: missing program',\n"
		 "    target = { cmd = { 'build/tests/targets/no-such-program' } },\n"
		 "    run = function(t) end },\n"
		 "}\n");
	char *out;
	const char *paths[] = {path, NULL};
	int status = tu_env_run(&e, paths, &out, 50);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "judged: crash");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert(strstr(tu_str(s, "message"),
			 "target did not survive: killed by SIGSEGV"),
		  "%s", tu_str(s, "message"));
	s = tu_scenario(doc, "judged: never ready");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert_str_eq(tu_str(s, "message"),
			 "the target was not ready within 0.5 s: no line "
			 "containing 'READY' on stdout; it printed nothing");
	s = tu_scenario(doc, "judged: exits before ready");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"),
			 "the target ended before it was ready (exit status 4)"),
		  "%s", tu_str(s, "message"));
	s = tu_scenario(doc, "judged: leaks threads");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	json_t *ex = json_object_get(s, "expectations");
	const char *fdmsg = tu_str(json_array_get(ex, 0), "message");
	const char *thmsg = tu_str(json_array_get(ex, 1), "message");
	cr_assert_str_eq(fdmsg, "leaked 17 fds (allowed 0): 17 x /dev/null");
	cr_assert(strncmp(thmsg, "leaked 3 threads (allowed 0): 3 x leak-* (in ",
			  45) == 0,
		  "%s", thmsg);
	s = tu_scenario(doc, "judged: missing program");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"),
			 "cannot run 'build/tests/targets/no-such-program': No "
			 "such file or directory"),
		  "%s", tu_str(s, "message"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* The target starts as if from a shell: no signal blocked and none
 * ignored, whatever the harness blocks and ignores itself (SIGPIPE, the
 * signals its monitor reads) and whatever faultline was started with
 * ignored (an exec keeps that: here a real-time signal and SIGHUP, as
 * nohup or a CI runner leave it). The child between vfork and exec
 * resets them; grep reads its own mask from /proc/self/status. */
Test(e2e, a_target_starts_with_no_signal_blocked_or_ignored, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/sig.lua", e.dir);
	tu_write(path,
		 "return { name = 'spawn: signals',\n"
		 "  target = { cmd = { 'sh', '-c', 'grep -E \"^Sig(Blk|Ign):\" /proc/self/status; exec sleep 30' },\n"
		 "             ready = { stdout = 'SigIgn:' } },\n"
		 "  run = function(t)\n"
		 "    t:log('blk ' .. tostring(t:wait_output('SigBlk:', { past = true, timeout = 1 })))\n"
		 "    t:log('ign ' .. tostring(t:wait_output('SigIgn:', { past = true, timeout = 1 })))\n"
		 "    t:stop()\n"
		 "  end }\n");
	struct sigaction ignore;
	memset(&ignore, 0, sizeof ignore);
	ignore.sa_handler = SIG_IGN;
	cr_assert_eq(sigaction(SIGRTMAX, &ignore, NULL), 0);
	cr_assert_eq(sigaction(SIGHUP, &ignore, NULL), 0);
	char *out;
	const char *paths[] = {path, NULL};
	tu_env_run(&e, paths, &out, 40);
	signal(SIGRTMAX, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "spawn: signals");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s\n%s",
			 tu_str(s, "message"), out);
	const char *blk = NULL, *ign = NULL;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(s, "log"), i, l) {
		const char *m = tu_str(l, "msg");
		if (!strncmp(m, "blk ", 4))
			blk = m;
		if (!strncmp(m, "ign ", 4))
			ign = m;
	}
	cr_assert_not_null(blk, "%s", out);
	cr_assert_not_null(ign, "%s", out);
	cr_assert_str_eq(blk, "blk SigBlk:\t0000000000000000");
	cr_assert_str_eq(ign, "ign SigIgn:\t0000000000000000");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Injected close() failures: by default the fd is released (Linux); with
 * close = "libfiu" it stays open, as libfiu's own wrapper leaves it. The
 * same seed fails the same calls; another seed fails others. */
Test(e2e, close_semantics_and_seed, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/close.lua", e.dir);
	tu_write(path,
		 "local function scenario(name, mode)\n"
		 "  return { name = name, seed = 5,\n"
		 "    target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
		 "               ready = { stdout = 'READY' }, close = mode },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.3)\n"
		 "      t:fault('posix/io/oc/close', { p = 0.25 })\n"
		 "      t:log(t:tcp('CLOSEBURST 400\\n'))\n"
		 "      t:clear()\n"
		 "      t:sleep(0.3)\n"
		 "      t:expect { leaked = { fds = 0 } }\n"
		 "    end }\n"
		 "end\n"
		 "return { scenario('close: linux', 'linux'), scenario('close: libfiu', 'libfiu') }\n");
	char *out;
	const char *paths[] = {path, NULL};
	tu_env_run(&e, paths, &out, 40);
	json_t *doc = tu_latest(&e);
	json_t *lin = tu_scenario(doc, "close: linux");
	json_t *fiu = tu_scenario(doc, "close: libfiu");
	cr_assert_str_eq(tu_str(lin, "verdict"), "PASS", "%s", tu_str(lin, "message"));
	cr_assert_str_eq(tu_str(fiu, "verdict"), "FAIL");
	const char *failed_lin = NULL, *failed_fiu = NULL;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(lin, "log"), i, l)
		if (strncmp(tu_str(l, "msg"), "FAILED ", 7) == 0)
			failed_lin = tu_str(l, "msg");
	json_array_foreach(json_object_get(fiu, "log"), i, l)
		if (strncmp(tu_str(l, "msg"), "FAILED ", 7) == 0)
			failed_fiu = tu_str(l, "msg");
	cr_assert_not_null(failed_lin);
	cr_assert_not_null(failed_fiu);
	/* Same seed, same single-threaded calls: the same failures. */
	cr_assert_str_eq(failed_lin, failed_fiu);
	int nfailed = atoi(failed_lin + 7);
	cr_assert(nfailed > 60 && nfailed < 140, "%d of 400 at p=0.25", nfailed);
	/* Every /dev/null whose close failed is still open (the harness's
	 * own connection may be among the leaks too, as a socket). */
	json_t *groups = json_object_get(json_object_get(fiu, "forensics"), "fd_groups");
	int devnull = -1;
	json_array_foreach(groups, i, l)
		if (!strcmp(tu_str(l, "pattern"), "/dev/null"))
			devnull = (int)tu_num(l, "count");
	cr_assert_eq(devnull, nfailed, "libfiu mode keeps every failed fd");
	double leaked = tu_num(json_object_get(fiu, "leaks"), "fds");
	cr_assert(leaked == nfailed || leaked == nfailed + 1, "leaked %g", leaked);
	json_decref(doc);
	free(out);

	/* Another seed: other calls fail. */
	char *argv[] = {"faultline", "run", "--seed", "6", "--report-dir",
			e.reports, path, NULL};
	tu_run(argv, e.tmp, &out, 40);
	doc = tu_latest(&e);
	lin = tu_scenario(doc, "close: linux");
	const char *other = NULL;
	json_array_foreach(json_object_get(lin, "log"), i, l)
		if (strncmp(tu_str(l, "msg"), "FAILED ", 7) == 0)
			other = tu_str(l, "msg");
	cr_assert_not_null(other);
	cr_assert_eq(json_integer_value(json_object_get(lin, "seed")), 6);
	char want[64];
	snprintf(want, sizeof want, "FAILED %d\n", nfailed);
	/* A different count is overwhelmingly likely; equal counts would
	 * still be different calls, but the count is what we can see. */
	cr_assert_str_neq(other, want);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* 1000 Hz sampling works; captured output stays bounded; what a target
 * prints cannot run in the report or break the JUnit XML. */
Test(e2e, fast_sampling_bounded_output_escaped, .timeout = 40)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/fast.lua", e.dir);
	tu_write(path,
		 "return { name = 'fast: 1000 Hz and hostile output',\n"
		 "  sample = { hz = 1000 },\n"
		 "  target = { cmd = { 'build/tests/targets/tgt', '--spam', '40000',\n"
		 "    '--print', '<script>alert(1)</script></textarea>]]><b>x' },\n"
		 "    ready = { stdout = 'READY' } },\n"
		 "  run = function(t) t:settle(1.0); t:stop(); t:fail('<script>alert(2)</script>]]>') end }\n");
	char *out;
	const char *paths[] = {path, NULL};
	tu_env_run(&e, paths, &out, 30);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "fast:");
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	json_t *sm = json_object_get(t0, "sampling");
	cr_assert_gt(tu_num(sm, "samples"), 700, "%g samples in ~1.1 s",
		     tu_num(sm, "samples"));
	cr_assert_float_eq(tu_num(sm, "hz"), 1000, 1);
	json_t *o = json_object_get(t0, "output");
	cr_assert_gt(tu_num(o, "stdout_bytes"), 2000000);
	cr_assert_leq(strlen(tu_str(o, "stdout_tail")), 65536);
	cr_assert_eq(tu_num(o, "stdout_lines"), 40003, "%g lines",
		     tu_num(o, "stdout_lines"));
	char p2[PATH_MAX + 64];
	snprintf(p2, sizeof p2, "%s/latest/index.html", e.reports);
	char *html = tu_slurp(p2);
	cr_assert_null(strstr(html, "<script>alert"));
	cr_assert_null(strstr(html, "</textarea>"));
	cr_assert_null(strstr(html, "<b>x"));
	cr_assert_not_null(strstr(html, "&lt;script&gt;alert(1)"));
	snprintf(p2, sizeof p2, "%s/latest/junit.xml", e.reports);
	char *junit = tu_slurp(p2);
	cr_assert_null(strstr(junit, "]]>"));
	cr_assert_null(strstr(junit, "<script>"));
	cr_assert_not_null(strstr(junit, "&lt;script&gt;alert(2)"));
	free(html);
	free(junit);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(e2e, usage_errors, .timeout = 20)
{
	char *out;
	char *a1[] = {"faultline", NULL};
	cr_assert_eq(tu_run(a1, NULL, &out, 10), 2);
	cr_assert(strstr(out, "usage: faultline"));
	free(out);
	char *a2[] = {"faultline", "run", NULL};
	cr_assert_eq(tu_run(a2, NULL, &out, 10), 2);
	cr_assert(strstr(out, "no scenario given"));
	free(out);
	char *a3[] = {"faultline", "run", "--bogus", "x", NULL};
	cr_assert_eq(tu_run(a3, NULL, &out, 10), 2);
	free(out);
	char *a4[] = {"faultline", "run", "no/such/dir", NULL};
	cr_assert_eq(tu_run(a4, NULL, &out, 10), 2);
	cr_assert(strstr(out, "no/such/dir: No such file or directory"), "%s", out);
	free(out);
	char *a5[] = {"faultline", "run", "--seed", "-3", "scenarios", NULL};
	cr_assert_eq(tu_run(a5, NULL, &out, 10), 2);
	free(out);
	char *a6[] = {"faultline", "run", "--help", NULL};
	cr_assert_eq(tu_run(a6, NULL, &out, 10), 0);
	cr_assert(strstr(out, "--report-dir"));
	free(out);
	char *a7[] = {"faultline", "list", "scenarios", NULL};
	cr_assert_eq(tu_run(a7, NULL, &out, 10), 0);
	cr_assert_geq(tu_count(out, "scenarios/"), 4, "%s", out);
	cr_assert(strstr(out, "scenarios/fd/fileproc_close_fixed.lua\tfileproc "
			      "fixed keeps no fd when close() fails\t"
			      "tags=fd,fileproc,smoke\tseed=1\n"),
		  "%s", out);
	free(out);
	char *a8[] = {"faultline", "points", NULL};
	cr_assert_eq(tu_run(a8, NULL, &out, 10), 0);
	cr_assert(strstr(out, "posix/io/oc/close\n") && strstr(out, "libc/mm/malloc\n"));
	free(out);
}

/* The scenario table's other fields, xfail.match, XPASS, and the run
 * options that choose scenarios and outputs. */
Test(e2e, config_fields_and_options, .timeout = 60)
{
	tu_env e = tu_env_new();
	char json[PATH_MAX + 16], junit[PATH_MAX + 16], html[PATH_MAX + 16],
		prom[PATH_MAX + 16];
	snprintf(json, sizeof json, "%s/r.json", e.dir);
	snprintf(junit, sizeof junit, "%s/r.xml", e.dir);
	snprintf(html, sizeof html, "%s/r.html", e.dir);
	snprintf(prom, sizeof prom, "%s/r.prom", e.dir);
	char *out;
	char *argv[] = {"faultline", "run", "-q", "--no-report", "--json", json,
			"--junit", junit, "--html", html, "--openmetrics", prom,
			"tests/scenarios/api_config.lua", NULL};
	int status = tu_run(argv, e.tmp, &out, 50);
	cr_assert_eq(status, 1, "an XPASS and a mismatched xfail fail the run:\n%s",
		     out);
	/* -q: only the failures and the closing line. */
	cr_assert_null(strstr(out, "PASS   config: autostart off"), "%s", out);
	cr_assert(strstr(out, "XPASS  config: xfail that passes"), "%s", out);
	cr_assert(strstr(out, "5 passed, 1 failed, 1 xpassed"), "%s", out);
	cr_assert_eq(tu_count_entries(e.dir), 5, "no report directory made");
	char *om = tu_slurp(prom);
	cr_assert(strstr(om, "faultline_run_exit_status 1\n"), "%s", om);
	cr_assert(strstr(om, "# EOF\n"), "%s", om);
	free(om);
	json_t *doc = tu_load_json(json);
	const char *pass[] = {"config: env, cwd", "config: output limit",
			      "config: ready on a port", "config: autostart off",
			      "config: a target that exits"};
	for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++) {
		json_t *s = tu_scenario(doc, pass[i]);
		cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s: %s", pass[i],
				 tu_str(s, "message"));
	}
	json_t *s = tu_scenario(doc, "config: output limit");
	json_t *o = json_object_get(
		json_array_get(json_object_get(s, "targets"), 0), "output");
	cr_assert_leq(strlen(tu_str(o, "stdout_tail")), 8192);
	cr_assert_gt(tu_num(o, "stdout_bytes"), 250000);
	s = tu_scenario(doc, "config: xfail that fails for another reason");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert_str_eq(tu_str(s, "message"),
			 "failed, but not as expected (xfail.match 'leaked %d+ "
			 "fds'): something else broke");
	s = tu_scenario(doc, "config: xfail that passes");
	cr_assert_str_eq(tu_str(s, "verdict"), "XPASS");
	json_decref(doc);
	char *x = tu_slurp(junit);
	cr_assert_eq(tu_count(x, "<testcase "), 7);
	cr_assert_eq(tu_count(x, "<failure "), 2, "the FAIL and the XPASS");
	free(x);
	x = tu_slurp(html);
	cr_assert(strstr(x, "config: xfail that passes"));
	free(x);
	free(out);

	/* --tags picks scenarios; none matching is a usage error
	 * (tests/e2e_cli.c checks its message). */
	char *t1[] = {"faultline", "run", "--no-report", "--tags", "det,nope",
		      "tests/scenarios/det/", NULL};
	status = tu_run(t1, e.tmp, &out, 40);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "2 passed, 0 failed ("), "%s", out);
	free(out);
	char *t2[] = {"faultline", "run", "--no-report", "--tags", "nope",
		      "scenarios/", NULL};
	status = tu_run(t2, e.tmp, &out, 20);
	cr_assert_eq(status, 2, "%s", out);
	cr_assert(strstr(out, "no scenario carries the tag 'nope'"), "%s", out);
	free(out);
	tu_env_free(&e);
}
