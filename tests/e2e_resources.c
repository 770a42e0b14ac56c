/* Resources beyond fds, threads and RSS: files in a watched directory, the
 * trend of a figure, and the OOM precursor's snapshot (with a core). */
#include "testutil.h"

static json_t *run_file(const char *dir, const char *text, int *status,
			char **out)
{
	char path[PATH_MAX + 32], reports[PATH_MAX + 32], tmp[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/s.lua", dir);
	snprintf(reports, sizeof reports, "%s/reports", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	mkdir(tmp, 0700);
	tu_write(path, text);
	char *argv[] = {"faultline", "run", "--report-dir", reports, path, NULL};
	*status = tu_run(argv, tmp, out, 60);
	char rp[PATH_MAX + 64];
	snprintf(rp, sizeof rp, "%s/latest/results.json", reports);
	return tu_load_json(rp);
}

Test(resources, watched_directory, .timeout = 40)
{
	char *dir = tu_tempdir();
	int status;
	char *out;
	json_t *doc = run_file(
		dir,
		"local tgt = 'build/tests/targets/tgt'\n"
		"return {\n"
		" { name = 'files: left behind', target = { cmd = { tgt, '--port', '{port}' },\n"
		"     ready = { stdout = 'READY' }, watch = '{tmpdir}' },\n"
		"   steady = { files = '+0' },\n"
		"   run = function(t)\n"
		"     t:settle(0.2)\n"
		"     t:check(t:sample().files == 0 and t:baseline().files == 0, 'empty at first')\n"
		"     t:tcp('TOUCH ' .. t.tmpdir .. ' 7\\n')\n"
		"     t:sleep(0.1)\n"
		"     t:check(t:sample().files == 7, 'seven files: ' .. tostring(t:sample().files))\n"
		"     t:stop()\n"
		"     t:expect { leaked = { files = 0 }, peak = { files = 10 } }\n"
		"   end },\n"
		" { name = 'files: after a fatal exit', target = { cmd = { tgt, '--port', '{port}' },\n"
		"     ready = { stdout = 'READY' }, watch = '{tmpdir}' },\n"
		"   run = function(t)\n"
		"     t:settle(0.2)\n"
		"     t:tcp('TOUCH ' .. t.tmpdir .. ' 3\\n')\n"
		"     t:tcp('EXIT 1\\n')\n"
		"     t:wait_exit(2)\n"
		"     t:expect { leaked = { files = 0 } }\n"
		"   end },\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 1, "%s", out);
	json_t *s = tu_scenario(doc, "files: left behind");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert_str_eq(tu_str(s, "message"),
			 "leaked 7 files (allowed 0): 7 x {tmpdir}/tmp-*");
	json_t *ex = json_object_get(s, "expectations");
	cr_assert(json_is_true(json_object_get(json_array_get(ex, 0), "ok")));
	cr_assert(json_is_true(json_object_get(json_array_get(ex, 1), "ok")));
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "files"), 7);
	json_t *f = json_object_get(s, "forensics");
	cr_assert_eq(tu_num(f, "new_file_count"), 7);
	json_t *series = json_object_get(json_array_get(json_object_get(s, "targets"), 0),
					 "series");
	json_t *files = json_object_get(series, "files");
	cr_assert_eq(json_integer_value(json_array_get(files, json_array_size(files) - 1)), 7);

	/* The process is gone; its files are not. */
	s = tu_scenario(doc, "files: after a fatal exit");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert_str_eq(tu_str(s, "message"),
			 "leaked 3 files (allowed 0): 3 x {tmpdir}/tmp-*");
	json_decref(doc);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

Test(resources, trend_of_rss, .timeout = 40)
{
	char *dir = tu_tempdir();
	int status;
	char *out;
	/* 48 MiB more in 12 steps at least 0.1 s apart: since the baseline
	 * the slope is above 1 MiB/s (unless the steps took 48 s, past the
	 * test's timeout) and at most 40 MiB/s (the sleeps alone take
	 * 1.2 s), however loaded the machine is. */
	json_t *doc = run_file(
		dir,
		"return { name = 'trend: growing', target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
		"    ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    for i = 1, 12 do t:tcp('ALLOC ' .. (i * 4) .. '\\n'); t:sleep(0.1) end\n"
		"    t:expect { trend = { rss = '1MiB/s', fds = '1/s' } }\n"
		"    t:expect { trend = { rss = '6000MiB/min' } }\n"
		"    t:stop()\n"
		"  end }\n",
		&status, &out);
	cr_assert_eq(status, 1, "%s", out);
	json_t *s = tu_scenario(doc, "trend: growing");
	json_t *ex = json_object_get(s, "expectations");
	cr_assert_eq(json_array_size(ex), 3);
	json_t *fds = json_array_get(ex, 0), *rss = json_array_get(ex, 1),
	       *slow = json_array_get(ex, 2);
	cr_assert_str_eq(tu_str(fds, "what"), "trend fds");
	cr_assert(json_is_true(json_object_get(fds, "ok")));
	cr_assert_str_eq(tu_str(rss, "what"), "trend rss");
	cr_assert(json_is_false(json_object_get(rss, "ok")));
	double mib_s = atof(tu_str(rss, "measured"));
	cr_assert(mib_s > 1 && mib_s <= 40, "%s", tu_str(rss, "message"));
	cr_assert(strstr(tu_str(rss, "measured"), "MiB/s"), "%s",
		  tu_str(rss, "measured"));
	cr_assert(strstr(tu_str(rss, "message"), "rss grows "), "%s", tu_str(rss, "message"));
	cr_assert(strstr(tu_str(rss, "message"), "(allowed 1.0 MiB/s, fit r²="),
		  "%s", tu_str(rss, "message"));
	/* 6000 MiB/min is 100 MiB/s: that holds. */
	cr_assert(json_is_true(json_object_get(slow, "ok")), "%s", tu_str(slow, "message"));
	json_decref(doc);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

Test(resources, oom_precursor_snapshot_and_core, .timeout = 90)
{
	char *dir = tu_tempdir();
	int status;
	char *out;
	json_t *doc = run_file(
		dir,
		"return { name = 'oom: precursor', target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
		"    ready = { stdout = 'READY' }, oom = { rss = '40MiB', core = true } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    t:tcp('LEAKFD 5\\n')\n"
		"    t:tcp('THREADS 2 grow\\n')\n"
		"    t:tcp('ALLOC 64\\n')\n"
		"    t:sleep(0.3)\n"
		"    t:stop()\n"
		"  end }\n",
		&status, &out);
	cr_assert_eq(status, 0, "%s", out);
	json_t *s = tu_scenario(doc, "oom: precursor");
	json_t *o = json_object_get(s, "oom_precursor");
	cr_assert(json_is_object(o), "no OOM precursor dump");
	cr_assert_geq(tu_num(o, "rss"), 40 << 20);
	cr_assert_eq(tu_num(o, "threshold"), 40 << 20);
	/* The snapshot saw the state when RSS crossed: 5 leaked fds on
	 * /dev/null, two extra threads. */
	int devnull = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(o, "fds"), i, e)
		devnull += !strcmp(tu_str(e, "target"), "/dev/null");
	cr_assert_geq(devnull, 5);
	int grow = 0;
	json_array_foreach(json_object_get(o, "threads"), i, e)
		grow += !strncmp(tu_str(e, "name"), "grow-", 5);
	cr_assert_eq(grow, 2);
	cr_assert(strstr(tu_str(o, "smaps_rollup"), "Rss:"), "%s",
		  tu_str(o, "smaps_rollup"));
	/* gdb (gcore) is one of the packages make deps installs. */
	const char *core = tu_str(o, "core");
	cr_assert(*core, "no core: %s", tu_str(o, "core_error"));
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/reports/latest/%s", dir, core);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	cr_assert_gt(st.st_size, 40 << 20, "a core holds the memory");
	json_decref(doc);
	free(out);
	tu_rmrf(dir);
	free(dir);
}
