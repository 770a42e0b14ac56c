/* The harness under AddressSanitizer and UBSan, and the agent under
 * valgrind: memory errors and leaks in either would show here. */
#include "testutil.h"

static int has_sanitizer_report(const char *out)
{
	return strstr(out, "AddressSanitizer") || strstr(out, "LeakSanitizer") ||
	       strstr(out, "runtime error:") || strstr(out, "UndefinedBehavior");
}

/* The shipped suite, script errors, a hanging target and an interrupted
 * run, all through bin/faultline-asan. */
Test(tools, harness_under_asan, .timeout = 180)
{
	setenv("FL_TEST_ASAN", "1", 1);
	char *dir = tu_tempdir();
	char reports[PATH_MAX + 16], tmp[PATH_MAX + 16];
	snprintf(reports, sizeof reports, "%s/reports", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	mkdir(tmp, 0700);
	char *out;
	char *a1[] = {"faultline", "run", "--report-dir", reports,
		      "scenarios/fd/fileproc_close_fixed.lua",
		      "scenarios/fd/fileproc_close_leaky.lua",
		      "scenarios/mem/fileproc_malloc_leaky.lua",
		      "tests/scenarios/det/mt_close.lua",
		      NULL};
	int status = tu_run(a1, tmp, &out, 150);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert_not(has_sanitizer_report(out), "%s", out);
	free(out);

	char *a2[] = {"faultline", "run", "--report-dir", reports,
		      "tests/scenarios/errors_runtime.lua",
		      "tests/scenarios/errors_syntax.lua",
		      "tests/scenarios/errors_config.lua",
		      "tests/scenarios/errors_point.lua",
		      "tests/scenarios/fail_calls.lua",
		      "tests/scenarios/api.lua",
		      NULL};
	status = tu_run(a2, tmp, &out, 150);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	cr_assert_not(has_sanitizer_report(out), "%s", out);
	cr_assert(strstr(out, "PASS   api: every documented call"), "%s", out);
	free(out);

	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/long.lua", dir);
	tu_write(path, "return { name = 'long', target = { cmd = { "
		       "'build/tests/targets/tgt', '--ignore-term', '--ready', "
		       "'MARK-ASAN-INT' }, ready = { stdout = 'MARK-ASAN-INT' } },"
		       " run = function(t) t:settle(0.2); t:sleep(30) end }\n");
	char *a3[] = {"faultline", "run", "--report-dir", reports, path, NULL};
	tu_proc p = tu_start(a3, tmp);
	pid_t pids[2];
	double deadline = tu_now() + 15;
	while (tu_find_marked("MARK-ASAN-INT", pids, 2) == 0 && tu_now() < deadline)
		usleep(20000);
	usleep(400000);
	kill(p.pid, SIGTERM);
	status = tu_finish(p, &out, 20);
	cr_assert_eq(status, 143, "exit %d:\n%s", status, out);
	cr_assert_not(has_sanitizer_report(out), "%s", out);
	cr_assert_eq(tu_wait_gone("MARK-ASAN-INT", 2), 0);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* The agent inside a target run by valgrind (inherit = true lets the
 * agent pass from valgrind's launcher into the program it runs): faults
 * fire, and valgrind finds no error (it would exit 9). */
Test(tools, agent_under_valgrind, .timeout = 120)
{
	char *dir = tu_tempdir();
	char reports[PATH_MAX + 16], tmp[PATH_MAX + 16], path[PATH_MAX + 16],
		path2[PATH_MAX + 16];
	snprintf(reports, sizeof reports, "%s/reports", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	snprintf(path, sizeof path, "%s/vg.lua", dir);
	mkdir(tmp, 0700);
	tu_write(path,
		 "return { name = 'valgrind: agent', timeout = 90,\n"
		 "  target = { inherit = true,\n"
		 "    cmd = { 'valgrind', '--quiet', '--error-exitcode=9', '--leak-check=no',\n"
		 "            'build/tests/targets/tgt', '--port', '{port}' },\n"
		 "    ready = { stdout = 'READY', timeout = 60 }, stop = { grace = 30 } },\n"
		 "  steady = { fds = '+50', threads = '+2' },\n"
		 "  run = function(t)\n"
		 "    t:settle(0.3)\n"
		 "    t:fault('posix/io/oc/close', { p = 0.5 })\n"
		 "    local r = t:tcp('CLOSEBURST 300\\n', { timeout = 30 })\n"
		 "    local n = tonumber(r:match('FAILED (%d+)'))\n"
		 "    t:check(n > 100 and n < 200, 'about half failed: ' .. tostring(n))\n"
		 "    t:clear()\n"
		 "    t:stop()\n"
		 "    t:expect { exit = 0 }\n"
		 "  end }\n");
	snprintf(path2, sizeof path2, "%s/vgmt.lua", dir);
	/* Threads through the agent's pthread_create wrapper, decisions and
	 * journal writes from four of them at once. */
	tu_write(path2,
		 "return { name = 'valgrind: agent with threads', timeout = 90,\n"
		 "  target = { inherit = true,\n"
		 "    cmd = { 'valgrind', '--quiet', '--error-exitcode=9', '--leak-check=no',\n"
		 "            'build/tests/targets/mt', '--port', '{port}' },\n"
		 "    ready = { stdout = 'READY', timeout = 60 }, stop = { grace = 30 } },\n"
		 "  steady = { fds = '+50', threads = '+6' },\n"
		 "  run = function(t)\n"
		 "    t:settle(0.3)\n"
		 "    t:fault('posix/io/oc/close', { p = 0.3, actors = '0.*' })\n"
		 "    local r = t:tcp('RUN 200\\n', { timeout = 60 })\n"
		 "    t:check(r and r:match('^DONE'), 'workers done: ' .. tostring(r))\n"
		 "    t:clear()\n"
		 "    t:stop { signal = 'KILL' }\n"
		 "  end }\n");
	char *out;
	char *argv[] = {"faultline", "run", "--report-dir", reports, path, NULL};
	int status = tu_run(argv, tmp, &out, 110);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	char rp[PATH_MAX + 48];
	snprintf(rp, sizeof rp, "%s/latest/results.json", reports);
	json_t *doc = tu_load_json(rp);
	json_t *s = tu_scenario(doc, "valgrind: agent");
	json_t *pt = json_object_get(json_object_get(s, "points"),
				     "posix/io/oc/close");
	cr_assert_geq(tu_num(pt, "fired"), 100);
	json_decref(doc);
	free(out);
	char *argv2[] = {"faultline", "run", "--report-dir", reports, path2, NULL};
	status = tu_run(argv2, tmp, &out, 110);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	doc = tu_load_json(rp);
	s = tu_scenario(doc, "valgrind: agent with threads");
	json_t *j = json_object_get(s, "journal");
	cr_assert_gt(tu_num(j, "total"), 150, "%g faults", tu_num(j, "total"));
	/* Under valgrind too, the faults are the workers'. */
	size_t i;
	json_t *r;
	json_array_foreach(tu_calls(json_object_get(j, "records")), i, r)
		cr_assert(strncmp(tu_str(r, "actor"), "0.", 2) == 0);
	/* Killed at the end, the target cannot exit 9: read valgrind's
	 * error reports from its stderr instead. */
	const char *err = tu_str(json_object_get(json_array_get(json_object_get(s, "targets"), 0), "output"),
				 "stderr_tail");
	cr_assert_null(strstr(err, "Invalid read"), "%s", err);
	cr_assert_null(strstr(err, "Invalid write"), "%s", err);
	cr_assert_null(strstr(err, "uninitialised"), "%s", err);
	json_decref(doc);
	free(out);
	tu_rmrf(dir);
	free(dir);
}
