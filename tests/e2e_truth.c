/* What a verdict may claim, end to end on tests/targets/truth.c, a target
 * whose ground truth is known: a crash is a survival failure whatever the
 * script does next; a window that never fired fails; a misspelled field is
 * an error with a did-you-mean; an fd held for a moment is not a leak and
 * a leak's count is the list behind it; the automatic baseline is the
 * running target's; a health probe that never passed cannot pass. */
#include "testutil.h"

#include <math.h>

#define TRUTH "'build/tests/targets/truth'"

static json_t *run_text(tu_env *e, const char *text, int *status, char **out)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/s.lua", e->dir);
	tu_write(path, text);
	const char *args[] = {path, NULL};
	*status = tu_env_run(e, args, out, 60);
	return tu_latest(e);
}

static json_t *expectation(json_t *s, const char *what)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(s, "expectations"), i, x)
		if (!strcmp(tu_str(x, "what"), what))
			return x;
	return NULL;
}

/* The target dies by SIGSEGV inside the window; the script goes on and
 * its next calls fail. The verdict is the crash, with where and when. */
Test(truth, crash_is_a_survival_failure, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'crash in a window',\n"
		"  target = { cmd = { " TRUTH ", '--crash-on-read-error' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    t:fault('posix/io/rw/read', { p = 1, errno = 'EIO' })\n"
		"    t:sleep(0.5)\n"
		"    t:clear()\n"
		"    t:expect { leaked = { fds = 0 } }\n"
		"    local s = t:stats()      -- the target is gone: this errs\n"
		"    t:stop()\n"
		"  end }\n",
		&status, &out);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "crash in a window");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", tu_str(s, "message"));
	const char *msg = tu_str(s, "message");
	cr_assert(strstr(msg, "target did not survive: killed by SIGSEGV") == msg,
		  "%s", msg);
	cr_assert(json_is_null(json_object_get(s, "error")),
		  "the script's error after the crash is not the verdict");
	json_t *ex = json_object_get(json_array_get(json_object_get(s, "targets"), 0),
				     "exit");
	cr_assert_str_eq(tu_str(ex, "signal"), "SIGSEGV");
	cr_assert(json_is_false(json_object_get(ex, "expected")));
	/* The leak check ran on the samples before the exit. */
	json_t *leak = expectation(s, "leaked fds");
	cr_assert_not_null(leak);
	cr_assert(json_is_true(json_object_get(leak, "ok")), "%s",
		  tu_str(leak, "message"));
	cr_assert_str_eq(tu_str(json_object_get(s, "final"), "source"),
			 "samples before the exit");
	/* The script's own error is still said, as a warning. */
	cr_assert(strstr(json_dumps(json_object_get(s, "warnings"), 0),
			 "the script stopped after the target died"),
		  "%s", json_dumps(json_object_get(s, "warnings"), 0));
	cr_assert(strstr(out, "FAIL   crash in a window"), "%s", out);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A scenario that asked for the exit keeps it: t:wait_exit. */
Test(truth, an_awaited_crash_is_the_scripts, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'awaited crash',\n"
		"  target = { cmd = { " TRUTH ", '--crash-on-read-error' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    t:fault('posix/io/rw/read', { p = 1 })\n"
		"    local e = t:wait_exit(5)\n"
		"    t:check(e and e.signal == 'SIGSEGV', 'dies as it should')\n"
		"  end }\n",
		&status, &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "awaited crash");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *ex = json_object_get(json_array_get(json_object_get(s, "targets"), 0),
				     "exit");
	cr_assert(json_is_true(json_object_get(ex, "expected")));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A window whose point the target never reaches, and one whose calls all
 * come from other threads, tested nothing: each fails and says why; a
 * window that says why it may not fire does not. */
Test(truth, a_fault_that_never_fired_fails, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"local function scenario(name, point, opts)\n"
		"  return { name = name,\n"
		"    target = { cmd = { " TRUTH ", '--reader' },\n"
		"               ready = { stdout = 'READY' } },\n"
		"    run = function(t)\n"
		"      t:settle(0.1)\n"
		"      t:fault(point, opts)\n"
		"      t:sleep(0.3)\n"
		"      t:clear()\n"
		"    end }\n"
		"end\n"
		"return {\n"
		"  scenario('never reached', 'posix/io/net/accept', { p = 1 }),\n"
		"  scenario('nobody', 'posix/io/rw/read', { p = 1, actors = 'nobody' }),\n"
		"  scenario('optional', 'posix/io/net/accept',\n"
		"           { p = 1, optional = 'no client in this test' }),\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "never reached");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert(strstr(tu_str(s, "message"),
			 "never fired: 0 calls: the target never reached "
			 "posix/io/net/accept through a wrapped call"),
		  "%s", tu_str(s, "message"));
	s = tu_scenario(doc, "nobody");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	const char *msg = tu_str(s, "message");
	cr_assert(strstr(msg, "calls, none failed: none by an actor matching "
			      "'nobody'"),
		  "%s", msg);
	/* The count is the agent's: the reader thread made at least one
	 * read in 0.3 s. */
	cr_assert(strstr(msg, "never fired: 0 calls") == NULL, "%s", msg);
	s = tu_scenario(doc, "optional");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *w = json_array_get(json_object_get(s, "faults"), 0);
	cr_assert_str_eq(tu_str(w, "optional"), "no client in this test");
	cr_assert_eq(tu_num(w, "fired"), 0);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Misspelled fields and options are errors that name the file, the line
 * and the field meant. */
Test(truth, misspelled_fields_are_errors, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return {\n"
		"  { name = 'steddy',\n"
		"    target = { cmd = { " TRUTH " }, ready = { stdout = 'READY' } },\n"
		"    steddy = { fds = '+0' },\n"
		"    run = function(t) end },\n"
		"  { name = 'timout',\n"
		"    target = { cmd = { " TRUTH " },\n"
		"      ready = { stdout = 'READY', timout = 2 } },\n"
		"    run = function(t) end },\n"
		"  { name = 'nan',\n"
		"    target = { cmd = { " TRUTH " }, ready = { stdout = 'READY' } },\n"
		"    timeout = 0/0,\n"
		"    run = function(t) end },\n"
		"  { name = 'option',\n"
		"    target = { cmd = { " TRUTH " }, ready = { stdout = 'READY' } },\n"
		"    run = function(t) t:fault('posix/io/rw/read', { p = 1, ernno = 'EIO' }) end },\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	char want[PATH_MAX + 128];
	json_t *s = tu_scenario(doc, "steddy");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	snprintf(want, sizeof want,
		 "%s/s.lua:4: unknown field 'steddy' in the scenario (did you "
		 "mean 'steady'?)",
		 e.dir);
	cr_assert_str_eq(tu_str(s, "message"), want);
	s = tu_scenario(doc, "timout");
	snprintf(want, sizeof want,
		 "%s/s.lua:8: unknown field 'timout' in target.ready (did you "
		 "mean 'timeout'?)",
		 e.dir);
	cr_assert_str_eq(tu_str(s, "message"), want);
	s = tu_scenario(doc, "nan");
	cr_assert(strstr(tu_str(s, "message"), "timeout must be a finite number"),
		  "%s", tu_str(s, "message"));
	s = tu_scenario(doc, "option");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"),
			 "s.lua:16: fault: unknown option 'ernno' (did you mean "
			 "'errno'?)"),
		  "%s", tu_str(s, "message"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* An fd held 40 ms at a time is not a leak; fds kept by a bug are, and
 * the message names exactly as many as it counts. */
Test(truth, one_snapshot_per_leak, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return {\n"
		"  { name = 'transient',\n"
		"    target = { cmd = { " TRUTH ", '--transient', '40' },\n"
		"               ready = { stdout = 'READY' } },\n"
		"    steady = { fds = '+1' },\n"
		"    run = function(t)\n"
		"      t:settle(0.5)\n"
		"      t:stop()\n"
		"      t:expect { leaked = { fds = 0, threads = 0 } }\n"
		"    end },\n"
		"  { name = 'leaky', xfail = { match = 'leaked %d+ fds' },\n"
		"    target = { cmd = { " TRUTH ", '--port', '{port}', '--transient', '40' },\n"
		"               ready = { stdout = 'READY' } },\n"
		"    steady = { fds = '+1' },\n"
		"    run = function(t)\n"
		"      t:settle(0.3)\n"
		"      t:fault('posix/io/rw/pread', { p = 1 })\n"
		"      t:check(t:tcp('PREAD 7\\n') == 'DONE 7\\n', 'seven preads failed')\n"
		"      t:clear()\n"
		"      t:stop()\n"
		"      t:expect { leaked = { fds = 0 } }\n"
		"    end },\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "transient");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "fds"), 0);
	s = tu_scenario(doc, "leaky");
	cr_assert_str_eq(tu_str(s, "verdict"), "XFAIL", "%s", tu_str(s, "message"));
	/* Seven failed preads, seven fds on /dev/null kept: the count and the
	 * list are the same seven, and the fds the transient thread holds
	 * for 40 ms are not among them. */
	cr_assert_str_eq(tu_str(s, "message"),
			 "leaked 7 fds (allowed 0): 7 x /dev/null");
	json_t *f = json_object_get(s, "forensics");
	cr_assert_eq(tu_num(f, "new_fd_count"), 7);
	cr_assert_eq(json_array_size(json_object_get(f, "gone_fds")), 0);
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "fds"), 7);
	json_t *fin = json_object_get(s, "final");
	cr_assert_str_eq(tu_str(fin, "source"), "snapshot");
	cr_assert(json_is_true(json_object_get(fin, "quiet")));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Requests 10 ms apart whose connections close 150 ms after their
 * replies (each by a thread of its own), then t:stop() at once: when the
 * final look starts, the target is still letting them go, one every 10 ms,
 * for longer than a hold period (0.1 s). The final look waits until over
 * a hold period nothing it first saw is released, so nothing is a leak
 * (without that rule, the five closed last were counted). A real leak
 * beside them is counted exactly, and quiet. */
Test(truth, a_burst_still_closing_is_not_a_leak, .timeout = 90)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"local function burst(t)\n"
		"  for i = 1, 20 do\n"
		"    t:check(t:tcp('PING\\n') == 'PONG\\n', 'request ' .. i)\n"
		"    t:sleep(0.01)\n"
		"  end\n"
		"end\n"
		"return {\n"
		"  { name = 'lingering',\n"
		"    target = { cmd = { " TRUTH ", '--port', '{port}', '--linger', '150' },\n"
		"               ready = { stdout = 'READY' } },\n"
		"    run = function(t)\n"
		"      t:settle(0.3)\n"
		"      burst(t)\n"
		"      t:stop()\n"
		"      t:expect { leaked = { fds = 0, threads = 0 } }\n"
		"    end },\n"
		"  { name = 'leaky', xfail = { match = 'leaked %d+ fds' },\n"
		"    target = { cmd = { " TRUTH ", '--port', '{port}', '--linger', '150' },\n"
		"               ready = { stdout = 'READY' } },\n"
		"    run = function(t)\n"
		"      t:settle(0.3)\n"
		"      burst(t)\n"
		"      t:fault('posix/io/rw/pread', { p = 1 })\n"
		"      t:check(t:tcp('PREAD 3\\n') == 'DONE 3\\n', 'three preads failed')\n"
		"      t:clear()\n"
		"      t:stop()\n"
		"      t:expect { leaked = { fds = 0 } }\n"
		"    end },\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "lingering");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "fds"), 0);
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "threads"), 0);
	cr_assert(json_is_true(json_object_get(json_object_get(s, "final"), "quiet")));
	s = tu_scenario(doc, "leaky");
	cr_assert_str_eq(tu_str(s, "verdict"), "XFAIL", "%s", tu_str(s, "message"));
	cr_assert_str_eq(tu_str(s, "message"),
			 "leaked 3 fds (allowed 0): 3 x /dev/null");
	cr_assert(json_is_true(json_object_get(json_object_get(s, "final"), "quiet")));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Without t:settle(), the baseline is the running target's: the threads
 * it starts before it says READY are part of it, its start-up is not. */
Test(truth, automatic_baseline_is_after_ready, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'slow start',\n"
		"  target = { cmd = { " TRUTH ", '--slow-start', '300', '--threads', '3' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:fault('posix/io/oc/open', { p = 1, optional = 'nothing opens' })\n"
		"    t:sleep(0.1)\n"
		"    t:clear()\n"
		"    t:stop()\n"
		"    t:expect { leaked = { fds = 0, threads = 0 } }\n"
		"  end }\n",
		&status, &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "slow start");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *b = json_object_get(s, "baseline");
	cr_assert_eq(tu_num(b, "threads"), 4, "the main thread and three");
	cr_assert_geq(tu_num(b, "samples"), 5, "enough samples, waited for");
	cr_assert_geq(tu_num(b, "from"),
		      tu_num(json_array_get(json_object_get(s, "targets"), 0),
			     "ready_s"),
		      "no sample from before READY");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A steady state that includes health cannot pass when the probe never
 * passed. */
Test(truth, health_never_met_fails, .timeout = 60)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'sick from the start',\n"
		"  target = { cmd = { " TRUTH ", '--port', '{port}', '--answer', 'SICK' },\n"
		"             ready = { stdout = 'READY' },\n"
		"             health = { tcp = '{port}', send = 'PING\\n', expect = 'PONG',\n"
		"                        interval = 0.05 } },\n"
		"  steady = { fds = '+1', health = true },\n"
		"  run = function(t)\n"
		"    t:settle(0.3)\n"
		"    t:stop()\n"
		"  end }\n",
		&status, &out);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *s = tu_scenario(doc, "sick from the start");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert(strstr(tu_str(s, "message"),
			 "the health probe never passed during the baseline"),
		  "%s", tu_str(s, "message"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* The target's own recovery moment is the window's last failed fsync plus
 * its 300 ms cooldown. How close faultline's MTTR comes to it is a
 * measurement (make bench prints it: within about a probe's round trip);
 * what a test can hold without depending on the machine's speed is the
 * rule: recovery is never dated before the target recovered, it is dated
 * by the first good reply after the window, and that reply came from
 * back-to-back probing, not from the next 50 ms tick (the probe that
 * failed before it ended after the target's recovery minus one interval,
 * so no interval-sized gap was left). */
static void check_mttr(json_t *s)
{
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s: %s",
			 tu_str(s, "name"), tu_str(s, "message"));
	json_t *recs = tu_calls(json_object_get(json_object_get(s, "journal"), "records"));
	size_t i, k;
	json_t *ep, *r;
	int checked = 0;
	json_array_foreach(json_object_get(s, "episodes"), i, ep)
	{
		double on = tu_num(ep, "on"), off = tu_num(ep, "off");
		double last = -1;
		json_array_foreach(recs, k, r)
		{
			double t = tu_num(r, "t");
			if (t >= on - 0.01 && t <= off && t > last)
				last = t;
		}
		cr_assert_geq(last, 0, "%s: episode %zu fired no fault",
			      tu_str(s, "name"), i + 1);
		double target_mttr = last + 0.300 - off;
		double mttr = tu_num(ep, "recovery_s");
		double at = tu_num(ep, "recovered_at");
		cr_assert_geq(mttr, target_mttr - 1e-6,
			      "%s episode %zu: faultline says %.4f s, before the "
			      "target recovered (%.4f s after the window closed)",
			      tu_str(s, "name"), i + 1, mttr, target_mttr);
		/* Dated by the first passing probe after the window. */
		json_t *h = json_object_get(s, "health");
		json_t *ht = json_object_get(h, "t"), *hok = json_object_get(h, "ok");
		double first_ok = -1, last_fail = -1;
		for (size_t j = 0; j < json_array_size(ht); j++) {
			double t = json_number_value(json_array_get(ht, j));
			if (t < off)
				continue;
			if (json_is_true(json_array_get(hok, j))) {
				first_ok = t;
				break;
			}
			last_fail = t;
		}
		cr_assert(fabs(at - first_ok) < 1e-6,
			  "%s episode %zu: recovered at %.6f s, first good "
			  "probe at %.6f s",
			  tu_str(s, "name"), i + 1, at, first_ok);
		/* Back to back: the failing probe just before the good one
		 * was made after the target's cooldown ended less one probe
		 * interval (50 ms), i.e. probing did not wait for a tick. */
		cr_assert_gt(last_fail, off + target_mttr - 0.050,
			     "%s episode %zu: the last failed probe at %.4f s, "
			     "the target recovered at %.4f s",
			     tu_str(s, "name"), i + 1, last_fail,
			     off + target_mttr);
		checked++;
	}
	cr_assert_gt(checked, 0, "%s: no episode", tu_str(s, "name"));
}

Test(truth, mttr_is_the_targets, .timeout = 90)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"local cmd = { 'build/tests/targets/cooldown', '--port', '{port}' }\n"
		"local tcp = { tcp = '{port}', send = 'PING\\n', expect = 'PONG',\n"
		"              interval = 0.05 }\n"
		"local function fn(t) local r = t:tcp('PING\\n')\n"
		"  return r == 'PONG\\n', tostring(r) end\n"
		"local function once(t)\n"
		"  t:settle(0.3)\n"
		"  t:fault('posix/io/sync/fsync', { p = 1 })\n"
		"  t:sleep(0.2)\n"
		"  t:clear()\n"
		"  t:expect_recovery { within = 1 }\n"
		"end\n"
		"local function scenario(name, health, run)\n"
		"  return { name = name, run = run,\n"
		"    target = { cmd = cmd, ready = { stdout = 'READY' }, health = health,\n"
		"               health_interval = type(health) == 'function' and 0.05 or nil },\n"
		"    steady = { fds = '+1', threads = '+0', health = true } }\n"
		"end\n"
		"return {\n"
		"  scenario('mttr: tcp probe', tcp, once),\n"
		"  scenario('mttr: function probe', fn, once),\n"
		"  scenario('mttr: episodes', tcp, function(t)\n"
		"    t:settle(0.3)\n"
		"    t:episodes { point = 'posix/io/sync/fsync', p = 1, count = 3,\n"
		"                 on = 0.2, off = 0.6, within = 1 }\n"
		"  end),\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	check_mttr(tu_scenario(doc, "mttr: tcp probe"));
	check_mttr(tu_scenario(doc, "mttr: function probe"));
	check_mttr(tu_scenario(doc, "mttr: episodes"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A script cannot reach the harness: not its /proc, not files outside
 * {tmpdir} for writing, not unbounded memory, not a finalizer the
 * watchdog cannot stop; and a number that is not a number is an error.
 * Each of these is an ERROR that says so, and the suite goes on. */
Test(truth, scripts_cannot_reach_the_harness, .timeout = 90)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"local function s(name, run)\n"
		"  return { name = name, run = run,\n"
		"    target = { cmd = { " TRUTH " }, ready = { stdout = 'READY' } } }\n"
		"end\n"
		"return {\n"
		"  s('own proc', function(t) io.open('/proc/self/environ') end),\n"
		"  s('own mem', function(t) io.open('/proc/thread-self/../../mem', 'r+') end),\n"
		"  s('write outside', function(t) io.open('/tmp/fl-outside-tmpdir', 'w') end),\n"
		"  s('write inside', function(t)\n"
		"    local f = assert(io.open(t.tmpdir .. '/note', 'w'))\n"
		"    f:write('ok'); f:close()\n"
		"    t:check(io.open(t.tmpdir .. '/note'):read('a') == 'ok', 'read back')\n"
		"    for line in io.lines('/proc/version') do t:log(line) end\n"
		"  end),\n"
		"  s('memory', function(t)\n"
		"    local k = {}\n"
		"    for i = 1, 1e9 do k[i] = string.rep('x', 4096) .. i end\n"
		"  end),\n"
		"  s('finalizer', function(t)\n"
		"    setmetatable({}, { __gc = function() while true do end end })\n"
		"  end),\n"
		"  s('nan', function(t) t:fault('posix/io/rw/read', { p = 0/0 }) end),\n"
		"}\n",
		&status, &out);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	struct {
		const char *name, *verdict, *message;
	} want[] = {
		{"own proc", "ERROR", "/proc/self/environ is faultline's own process"},
		{"own mem", "ERROR", "is faultline's own process"},
		{"write outside", "ERROR", "a scenario writes files only under its {tmpdir}"},
		{"write inside", "PASS", NULL},
		{"memory", "ERROR", "the script used more than 256 MiB"},
		{"finalizer", "ERROR", "__gc finalizers are not available in a scenario"},
		{"nan", "ERROR", "option 'p' must be a finite number"},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		json_t *s = tu_scenario(doc, want[i].name);
		cr_assert_str_eq(tu_str(s, "verdict"), want[i].verdict, "%s: %s",
				 want[i].name, tu_str(s, "message"));
		if (want[i].message)
			cr_assert(strstr(tu_str(s, "message"), want[i].message),
				  "%s: %s", want[i].name, tu_str(s, "message"));
	}
	cr_assert_eq(access("/tmp/fl-outside-tmpdir", F_OK), -1,
		     "nothing was written outside");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}
