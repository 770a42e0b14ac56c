/* Survival of every process of the target, end to end: the real
 * bin/faultline on tests/targets/workercrash (a master whose worker 1
 * dies by SIGSEGV while the master and worker 0 live on) and
 * tests/targets/reaper (a master that reaps its worker at once, so no
 * sample sees the zombie: the agent's record of the master's wait says
 * how it ended). A crash in a forked worker fails the run and names the
 * process, whoever reaped it; the sweep calls the
 * site that makes it crash "crashed"; a script that expects the worker's
 * signal passes; a crash is the headline whatever failed before it. The
 * scenarios wait for lines, for the zombie and for the exit, never for a
 * duration. */
#include "testutil.h"

#define WC "build/tests/targets/workercrash"
#define WC_SRC "tests/targets/workercrash.c"

static json_t *run_text(tu_env *e, const char *text, int *status, char **out)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/s.lua", e->dir);
	tu_write(path, text);
	const char *args[] = {path, NULL};
	*status = tu_env_run(e, args, out, 90);
	return tu_latest(e);
}

/* The number after "prefix" in the scenario's captured stdout. */
static long stdout_number(json_t *s, const char *prefix)
{
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	const char *tail = tu_str(json_object_get(t, "output"), "stdout_tail");
	const char *p = strstr(tail, prefix);
	cr_assert_not_null(p, "no '%s' in stdout: %s", prefix, tail);
	return atol(p + strlen(prefix));
}

/* The process pid in the first target's processes[]. */
static json_t *process(json_t *s, long pid)
{
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(t, "processes"), i, p)
		if (json_integer_value(json_object_get(p, "pid")) == pid)
			return p;
	cr_assert_fail("no process %ld in processes[]", pid);
	return NULL;
}

/* The script waits until faultline saw a process of the tree as a
 * zombie (the master keeps its crashed worker unreaped). */
#define WAIT_ZOMBIE                                                           \
	"    t:wait_output('CRASH')\n"                                            \
	"    assert(t:wait_until(function()\n"                                    \
	"      for _, p in ipairs(t:processes()) do\n"                            \
	"        if p.zombie then zombie = p.pid; return true end\n"              \
	"      end\n"                                                             \
	"      return false\n"                                                    \
	"    end, 60), 'no zombie')\n"

Test(survival, a_crashed_worker_fails_the_run_and_is_named, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'a worker crashes',\n"
		"  target = { cmd = { '" WC "', '--crash', '1' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    local zombie\n" WAIT_ZOMBIE
		"    t:stop()\n"
		"    t:expect { exit = 0 }\n"
		"  end,\n"
		"}\n",
		&status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	long pid = stdout_number(s, "CRASH pid=");
	cr_assert_eq(status, 1, "a FAIL exits 1 (%d)\n%s", status, out);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	char want[128];
	snprintf(want, sizeof want,
		 "target did not survive: workercrash pid %ld killed by SIGSEGV "
		 "at ",
		 pid);
	const char *msg = tu_str(s, "message");
	cr_assert(!strncmp(msg, want, strlen(want)), "message: %s", msg);
	cr_assert(strstr(out, want), "the console says it:\n%s", out);
	/* The master exited 0 as asked: only the worker failed. */
	json_t *p = process(s, pid);
	cr_assert_str_eq(tu_str(p, "end"), "killed");
	cr_assert_str_eq(tu_str(p, "signal"), "SIGSEGV");
	cr_assert(json_is_true(json_object_get(p, "crashed")));
	cr_assert(json_is_false(json_object_get(p, "root")));
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	json_t *root = process(s, (long)json_integer_value(json_object_get(t, "pid")));
	cr_assert_str_eq(tu_str(root, "end"), "exited");
	cr_assert_eq(json_integer_value(json_object_get(root, "exit_code")), 0);
	cr_assert(json_is_false(json_object_get(root, "crashed")));
	/* Worker 0 was ended by faultline or its master: no crash. */
	size_t i, crashed = 0;
	json_array_foreach(json_object_get(t, "processes"), i, p)
		crashed += json_is_true(json_object_get(p, "crashed"));
	cr_assert_eq(crashed, 1, "one process crashed");
	/* The report lists it as killed. */
	char html[PATH_MAX];
	snprintf(html, sizeof html, "%s/latest/index.html", e.reports);
	char *page = tu_slurp(html);
	cr_assert(strstr(page, "(killed by SIGSEGV at "), "the page names the crash");
	free(page);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(survival, a_worker_crash_the_script_expects_passes, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'a worker crash expected',\n"
		"  target = { cmd = { '" WC "', '--crash', '1' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    local zombie\n" WAIT_ZOMBIE
		"    t:expect { pid = zombie, signal = 'SIGSEGV' }\n"
		"    t:stop()\n"
		"    t:expect { exit = 0 }\n"
		"  end,\n"
		"}\n",
		&status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s\n%s",
			 tu_str(s, "message"), out);
	cr_assert_eq(status, 0);
	long pid = stdout_number(s, "CRASH pid=");
	json_t *p = process(s, pid);
	cr_assert_str_eq(tu_str(p, "signal"), "SIGSEGV");
	cr_assert(json_is_false(json_object_get(p, "crashed")), "expected");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(survival, a_crash_is_the_headline_over_earlier_failures, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'crash after a failure',\n"
		"  target = { cmd = { 'sh', '-c', 'echo READY; while [ ! -e \"$1\" ]; do sleep 0.01; done; kill -SEGV $$',\n"
		"                     'sh', '{tmpdir}/go' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    -- The target dies once the file is there: after READY.\n"
		"    assert(io.open(t.tmpdir .. '/go', 'w')):close()\n"
		"    t:wait_until(function() return false end, 60)\n"
		"    t:check(false, 'a failure recorded before the survival check')\n"
		"    t:stop()\n"
		"  end,\n"
		"}\n",
		&status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	const char *msg = tu_str(s, "message");
	const char *want = "target did not survive: killed by SIGSEGV at ";
	cr_assert(!strncmp(msg, want, strlen(want)), "headline: %s", msg);
	/* The other failure is still listed. */
	size_t i, failed = 0;
	json_t *x;
	json_array_foreach(json_object_get(s, "expectations"), i, x)
		failed += json_is_false(json_object_get(x, "ok"));
	cr_assert_eq(failed, 2, "both failures are listed:\n%s", out);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A worker its parent reaps at once (tests/targets/reaper.c serve): the
 * scenario waits until faultline knows the worker, lets it end (a file
 * it waits for), waits for the master to say it reaped it, then stops.
 * No zombie is left for a sample to see (in practice: the assertions
 * hold whichever way faultline learnt the end). */
#define REAPER "build/tests/targets/reaper"

static json_t *run_reaped(tu_env *e, const char *how, const char *mode,
			  const char *extra, int *status, char **out)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "return { name = 'a worker reaped at once',\n"
		 "  target = { cmd = { '" REAPER "', 'serve', '--go', '{tmpdir}/go',\n"
		 "                     '--how', '%s'%s },\n"
		 "             ready = { stdout = 'WORKER' } },\n"
		 "  run = function(t)\n"
		 "    local worker\n"
		 "    assert(t:wait_until(function()\n"
		 "      for _, p in ipairs(t:processes()) do\n"
		 "        if not p.root then worker = p.pid; return true end\n"
		 "      end\n"
		 "      return false\n"
		 "    end, 60), 'no worker')\n"
		 "    assert(io.open(t.tmpdir .. '/go', 'w')):close()\n"
		 "    assert(t:wait_output('REAPED pid=' .. worker, { past = true, timeout = 60 }))\n"
		 "%s"
		 "    t:stop()\n"
		 "    t:expect { exit = 0 }\n"
		 "  end,\n"
		 "}\n",
		 how, mode, extra);
	return run_text(e, text, status, out);
}

/* Where faultline learnt a reaped worker's end: from its parent's wait
 * (the agent's record), or from the zombie if a sample caught it. */
static void assert_learnt(json_t *p)
{
	const char *from = tu_str(p, "end_from");
	cr_assert(!strcmp(from, "parent") || !strcmp(from, "wait"),
		  "end_from %s", from);
}

/* The survival failure names worker pid, "(reaped by pid master)" when
 * its parent's wait told its end (not when a sample saw its zombie),
 * and the signal. */
static void assert_message(const char *msg, long pid, long master,
			   const char *sig)
{
	char want[160];
	snprintf(want, sizeof want, "target did not survive: reaper pid %ld ",
		 pid);
	cr_assert(!strncmp(msg, want, strlen(want)), "message: %s", msg);
	const char *rest = msg + strlen(want);
	snprintf(want, sizeof want, "(reaped by pid %ld) ", master);
	if (!strncmp(rest, "(reaped", 7)) {
		cr_assert(!strncmp(rest, want, strlen(want)), "message: %s", msg);
		rest += strlen(want);
	}
	snprintf(want, sizeof want, "killed by %s at ", sig);
	cr_assert(!strncmp(rest, want, strlen(want)), "message: %s", msg);
}

static void a_worker_reaped_at_once_crashed(const char *mode)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_reaped(&e, "segv", mode, "", &status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	long pid = stdout_number(s, "REAPED pid=");
	cr_assert_eq(status, 1, "a FAIL exits 1 (%d)\n%s", status, out);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	assert_message(tu_str(s, "message"), pid,
		       (long)json_integer_value(json_object_get(t, "pid")),
		       "SIGSEGV");
	json_t *p = process(s, pid);
	cr_assert_str_eq(tu_str(p, "end"), "killed");
	cr_assert_str_eq(tu_str(p, "signal"), "SIGSEGV");
	cr_assert(json_is_false(json_object_get(p, "core")), "no core (RLIMIT_CORE 0)");
	cr_assert(json_is_true(json_object_get(p, "crashed")));
	assert_learnt(p);
	/* The master, and the worker it started again, did not crash. */
	size_t i, crashed = 0;
	json_array_foreach(json_object_get(t, "processes"), i, p)
		crashed += json_is_true(json_object_get(p, "crashed"));
	cr_assert_eq(crashed, 1, "one process crashed");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(survival, a_worker_its_master_reaps_in_a_sigchld_handler_crashed,
     .timeout = 120)
{
	a_worker_reaped_at_once_crashed("");
}

Test(survival, a_worker_its_master_reaps_in_a_blocking_waitpid_crashed,
     .timeout = 120)
{
	a_worker_reaped_at_once_crashed(", '--block'");
}

Test(survival, a_worker_reaped_at_once_that_exited_0_survived, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	/* The script may also judge its end itself, by pid. */
	json_t *doc = run_reaped(&e, "exit0", "",
				 "    t:expect { pid = worker, exit = 0 }\n",
				 &status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s\n%s",
			 tu_str(s, "message"), out);
	cr_assert_eq(status, 0);
	long pid = stdout_number(s, "REAPED pid=");
	json_t *p = process(s, pid);
	cr_assert_str_eq(tu_str(p, "end"), "exited");
	cr_assert_eq(json_integer_value(json_object_get(p, "exit_code")), 0);
	cr_assert(json_is_false(json_object_get(p, "crashed")));
	assert_learnt(p);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A master whose workers die as their first action, each reaped at once
 * in its SIGCHLD handler before the next starts (tests/targets/reaper.c
 * loop): a crash loop. Most workers live less than a sampling round, so
 * no sample sees them; their parent's wait records them all. */
static json_t *run_loop(tu_env *e, int n, const char *how, int *status,
			char **out)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "return { name = 'a crash loop',\n"
		 "  target = { cmd = { '" REAPER "', 'loop', '%d', '--how', '%s' },\n"
		 "             ready = { stdout = 'LOOPED' } },\n"
		 "  run = function(t)\n"
		 "    t:stop()\n"
		 "    t:expect { exit = 0 }\n"
		 "  end,\n"
		 "}\n",
		 n, how);
	return run_text(e, text, status, out);
}

/* Every "WORKER pid=P" line of the target's stdout, in order. */
static size_t worker_pids(json_t *s, long *pids, size_t max)
{
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	const char *p = tu_str(json_object_get(t, "output"), "stdout_tail");
	size_t n = 0;
	while ((p = strstr(p, "WORKER pid=")) && n < max) {
		p += strlen("WORKER pid=");
		pids[n++] = atol(p);
	}
	return n;
}

static size_t count_crashed(json_t *s)
{
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	size_t i, n = 0;
	json_t *p;
	json_array_foreach(json_object_get(t, "processes"), i, p)
		n += json_is_true(json_object_get(p, "crashed"));
	return n;
}

Test(survival, workers_that_crash_before_any_sample_fail_the_run_counted,
     .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_loop(&e, 50, "segv", &status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_eq(status, 1, "a FAIL exits 1 (%d)\n%s", status, out);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	long master = (long)json_integer_value(json_object_get(t, "pid"));
	long pids[64];
	cr_assert_eq(worker_pids(s, pids, 64), 50, "the target started 50");
	/* One failure names the first and counts them all, however each
	 * one's end was learnt (its zombie, if a sample caught it, or its
	 * parent's wait). */
	const char *msg = tu_str(s, "message");
	assert_message(msg, pids[0], master, "SIGSEGV");
	cr_assert(strstr(msg, ", and 49 more processes crashed (50 in all)"),
		  "message: %s", msg);
	cr_assert(strstr(out, "(50 in all)"), "the console says it:\n%s", out);
	/* Results: each worker, crashed, its parent the master. */
	cr_assert_eq(json_integer_value(json_object_get(t, "crashed_processes")),
		     50);
	cr_assert_eq(count_crashed(s), 50, "all 50 listed");
	for (int i = 0; i < 50; i++) {
		json_t *p = process(s, pids[i]);
		cr_assert_str_eq(tu_str(p, "signal"), "SIGSEGV");
		cr_assert(json_is_true(json_object_get(p, "crashed")));
		cr_assert_eq(json_integer_value(json_object_get(p, "ppid")), master);
		assert_learnt(p);
		if (json_is_true(json_object_get(p, "unseen"))) {
			cr_assert_str_eq(tu_str(p, "end_from"), "parent");
			cr_assert_eq(json_integer_value(json_object_get(p, "reaper")),
				     master);
			/* Named from the agent's process table. */
			cr_assert_str_eq(tu_str(p, "name"), "reaper");
			cr_assert_eq(json_real_value(json_object_get(p, "found")),
				     json_real_value(json_object_get(p, "exited")));
		}
	}
	json_t *sampling = json_object_get(t, "sampling");
	cr_assert_eq(json_integer_value(json_object_get(sampling, "reaped_lost")), 0);
	cr_assert_geq(json_integer_value(json_object_get(sampling, "processes")), 51);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(survival, a_crash_loop_past_what_the_report_keeps_is_counted_whole,
     .timeout = 180)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	/* More than the tree keeps of processes that are gone: those it
	 * drops are counted, never lost. */
	json_t *doc = run_loop(&e, 300, "abort", &status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	const char *msg = tu_str(s, "message");
	cr_assert(strstr(msg, "killed by SIGABRT at "), "message: %s", msg);
	cr_assert(strstr(msg, ", and 299 more processes crashed (300 in all)"),
		  "message: %s", msg);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	cr_assert_eq(json_integer_value(json_object_get(t, "crashed_processes")),
		     300);
	json_t *sampling = json_object_get(t, "sampling");
	size_t listed = count_crashed(s);
	size_t dropped = (size_t)json_integer_value(json_object_get(sampling, "dropped"));
	cr_assert_leq(listed, 300);
	cr_assert_geq(dropped, 300 - listed, "listed %zu, dropped %zu", listed,
		      dropped);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(survival, short_lived_workers_that_exit_0_pass, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_loop(&e, 50, "exit0", &status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s\n%s",
			 tu_str(s, "message"), out);
	cr_assert_eq(status, 0);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	cr_assert_eq(json_integer_value(json_object_get(t, "crashed_processes")), 0);
	long pids[64];
	cr_assert_eq(worker_pids(s, pids, 64), 50);
	/* Each is there, exited 0, whether a sample saw it or not. */
	for (int i = 0; i < 50; i++) {
		json_t *p = process(s, pids[i]);
		cr_assert_str_eq(tu_str(p, "end"), "exited");
		cr_assert_eq(json_integer_value(json_object_get(p, "exit_code")), 0);
	}
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* The agent's ring of reaped children holds this many records
 * (FL_MAX_REAPED, lib/agent_proto.h). */
#define REAPED_RING 1024

/* The number in "lost N record" of msg, or -1. */
static long lost_in(const char *msg)
{
	const char *p = strstr(msg, "the ring of reaped children lost ");
	if (!p)
		return -1;
	return atol(p + strlen("the ring of reaped children lost "));
}

/* Workers that all exit 0, with the harness reading the ring of reaped
 * children only once the tree has ended (the test knob
 * FL_TEST_REAPED_READ=end, docs/hacking.md), under ASan: n children, n
 * records in a ring of 1024. Returns the scenario's results; *lost the
 * results' sampling.reaped_lost. */
static json_t *run_read_at_end(tu_env *e, int n, int *status, char **out,
			       long *lost, json_t **doc)
{
	setenv("FL_TEST_ASAN", "1", 1);
	setenv("FL_TEST_REAPED_READ", "end", 1);
	*doc = run_loop(e, n, "exit0", status, out);
	json_t *s = json_array_get(json_object_get(*doc, "scenarios"), 0);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	cr_assert_eq(json_integer_value(json_object_get(t, "crashed_processes")), 0);
	json_t *sampling = json_object_get(t, "sampling");
	cr_assert(json_is_integer(json_object_get(sampling, "reaped_lost")));
	*lost = (long)json_integer_value(json_object_get(sampling, "reaped_lost"));
	return s;
}

/* A crash among reaps whose records were overwritten unread would go
 * unseen: a run that lost records of the ring is an ERROR that says how
 * many, never a PASS, though every expectation held. No timing: with
 * the ring read only at the end, n reaps lose exactly n - 1024. */
Test(survival, lost_records_of_reaped_children_make_the_run_an_error,
     .timeout = 240)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	long lost;
	json_t *doc;

	/* As many as the ring holds: nothing lost, PASS. */
	json_t *s = run_read_at_end(&e, 1024, &status, &out, &lost, &doc);
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s\n%s",
			 tu_str(s, "message"), out);
	cr_assert_eq(status, 0);
	cr_assert_eq(lost, 0);
	json_decref(doc);
	free(out);

	/* One more, and 76 more: each is lost, and named. */
	const int n[] = {1025, 1100};
	for (int i = 0; i < 2; i++) {
		s = run_read_at_end(&e, n[i], &status, &out, &lost, &doc);
		long want = n[i] - REAPED_RING;
		cr_assert_eq(status, 2, "an ERROR exits 2 (%d)\n%s", status, out);
		cr_assert_str_eq(tu_str(s, "verdict"), "ERROR", "%s", out);
		cr_assert_eq(lost, want, "%d children: %ld lost", n[i], lost);
		const char *msg = tu_str(s, "message");
		cr_assert_eq(lost_in(msg), lost, "message: %s", msg);
		char head[160];
		snprintf(head, sizeof head,
			 "the ring of reaped children lost %ld record%s: more "
			 "than 1024 children were reaped between two reads of it",
			 want, want == 1 ? "" : "s");
		cr_assert(strstr(msg, head), "message: %s", msg);
		cr_assert(strstr(msg, "the run is not judged"), "message: %s", msg);
		cr_assert(strstr(out, head), "the console says it:\n%s", out);
		/* And the run's log. */
		int logged = 0;
		size_t k;
		json_t *l;
		json_array_foreach(json_object_get(s, "log"), k, l)
			logged |= lost_in(tu_str(l, "msg")) == lost;
		cr_assert(logged, "the log says it");
		/* The expectations themselves held: it is the ring that
		 * fails. */
		json_t *x;
		json_array_foreach(json_object_get(s, "expectations"), k, x)
			cr_assert(json_is_true(json_object_get(x, "ok")), "%s",
				  tu_str(x, "what"));
		json_decref(doc);
		free(out);
	}
	tu_env_free(&e);
}

/* t:signal(name, pid) (tests/targets/reaper.c serve): the script sends
 * SIGSEGV to the worker alone; its master reaps it and starts another.
 * That end is the script's doing (excused for that process and that
 * signal only); the new worker, crashing on its own, is not. */
static json_t *run_signal(tu_env *e, const char *after, int *status,
			  char **out)
{
	char text[4096];
	snprintf(text, sizeof text,
		 "return { name = 'a worker signalled',\n"
		 "  target = { cmd = { '" REAPER "', 'serve', '--go', '{tmpdir}/go' },\n"
		 "             ready = { stdout = 'WORKER' } },\n"
		 "  run = function(t)\n"
		 "    local function worker(not_this)\n"
		 "      local w\n"
		 "      assert(t:wait_until(function()\n"
		 "        for _, p in ipairs(t:processes()) do\n"
		 "          if not p.root and not p.zombie and p.pid ~= not_this then w = p.pid; return true end\n"
		 "        end\n"
		 "        return false\n"
		 "      end, 60), 'no worker')\n"
		 "      return w\n"
		 "    end\n"
		 "    local first = worker()\n"
		 "    -- Not a process of the tree: refused, nothing sent.\n"
		 "    local ok, err = pcall(t.signal, t, 'SEGV', 1)\n"
		 "    assert(not ok and err:find('pid 1 is not a live process of this target', 1, true), err)\n"
		 "    t:signal('SEGV', first)\n"
		 "    assert(t:wait_output('REAPED pid=' .. first, { past = true, timeout = 60 }))\n"
		 "    local second = worker(first)\n"
		 "%s"
		 "    t:stop()\n"
		 "    t:expect { exit = 0 }\n"
		 "  end,\n"
		 "}\n",
		 after);
	return run_text(e, text, status, out);
}

Test(survival, a_signal_the_script_sent_one_worker_is_no_crash, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_signal(&e, "", &status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s\n%s",
			 tu_str(s, "message"), out);
	cr_assert_eq(status, 0);
	long first = stdout_number(s, "REAPED pid=");
	json_t *p = process(s, first);
	cr_assert_str_eq(tu_str(p, "signal"), "SIGSEGV");
	cr_assert(json_is_false(json_object_get(p, "crashed")), "sent by the script");
	/* The master replaced it: a second worker, alive until the stop. */
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	size_t i, workers = 0;
	json_array_foreach(json_object_get(t, "processes"), i, p)
		workers += json_is_false(json_object_get(p, "root"));
	cr_assert_geq(workers, 2, "the worker and its replacement");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(survival, a_worker_that_crashes_by_itself_after_one_was_signalled_fails,
     .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	/* The second worker raises SIGSEGV itself once the file is there:
	 * the same signal, another process, not excused. */
	json_t *doc = run_signal(
		&e,
		"    assert(io.open(t.tmpdir .. '/go', 'w')):close()\n"
		"    assert(t:wait_output('REAPED pid=' .. second, { past = true, timeout = 60 }))\n",
		&status, &out);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	const char *tail = tu_str(json_object_get(t, "output"), "stdout_tail");
	const char *r1 = strstr(tail, "REAPED pid=");
	cr_assert_not_null(r1);
	const char *r2 = strstr(r1 + 1, "REAPED pid=");
	cr_assert_not_null(r2, "the second worker was reaped: %s", tail);
	long first = atol(r1 + strlen("REAPED pid="));
	long second = atol(r2 + strlen("REAPED pid="));
	assert_message(tu_str(s, "message"), second,
		       (long)json_integer_value(json_object_get(t, "pid")),
		       "SIGSEGV");
	cr_assert(json_is_false(json_object_get(process(s, first), "crashed")));
	cr_assert(json_is_true(json_object_get(process(s, second), "crashed")));
	cr_assert_eq(json_integer_value(json_object_get(t, "crashed_processes")), 1);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* The line of "SITE name" in the target's source. */
static int marker_line(const char *name)
{
	char *src = tu_slurp(WC_SRC), want[64];
	snprintf(want, sizeof want, "SITE %s */", name);
	char *at = strstr(src, want);
	cr_assert_not_null(at, "no marker %s", name);
	int line = 1;
	for (char *p = src; p < at; p++)
		line += *p == '\n';
	free(src);
	return line;
}

static json_t *site_at(json_t *doc, int line)
{
	json_t *sc = json_array_get(
		json_object_get(json_object_get(doc, "sweep"), "scenarios"), 0);
	size_t i;
	json_t *s;
	char want[64];
	snprintf(want, sizeof want, "workercrash.c:%d ", line);
	json_array_foreach(json_object_get(sc, "sites"), i, s)
		if (!strncmp(tu_str(s, "at"), want, strlen(want)))
			return s;
	return NULL;
}

Test(survival, the_sweep_calls_a_site_that_crashes_a_worker_crashed,
     .timeout = 300)
{
	char *dir = tu_tempdir();
	char scen[PATH_MAX], reports[PATH_MAX];
	snprintf(scen, sizeof scen, "%s/workers.lua", dir);
	snprintf(reports, sizeof reports, "%s/reports", dir);
	/* Each worker's close() is past before READY: the master waits for
	 * it to say it is up, or to die. */
	tu_write(scen, "return { name = 'workers', seed = 1, timeout = 30,\n"
		       "  target = { cmd = { '" WC "' }, ready = { stdout = 'READY' },\n"
		       "             autostart = false },\n"
		       "  run = function(t)\n"
		       "    t:fault('posix/io/oc/close', { p = 0 })\n"
		       "    t:start()\n"
		       "    t:stop()\n"
		       "    t:expect { exit = 0 }\n"
		       "  end,\n"
		       "}\n");
	char *argv[] = {"faultline", "sweep", "--report-dir", reports, "-j", "2",
			scen, NULL};
	char *out;
	int st = tu_run(argv, dir, &out, 280);
	cr_assert_eq(st, 1, "a finding: exit 1 (%d)\n%s", st, out);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/latest/results.json", reports);
	json_t *doc = tu_load_json(path);
	json_t *w1 = site_at(doc, marker_line("w1-close"));
	cr_assert_not_null(w1, "worker 1's close is a site\n%s", out);
	cr_assert_str_eq(tu_str(w1, "outcome"), "crashed", "%s",
			 tu_str(w1, "detail"));
	/* Named by its actor (the same in every run) and where it
	 * crashed. */
	char want[128];
	snprintf(want, sizeof want,
		 "crashed: SIGSEGV in workercrash (actor 0f2) at "
		 "workercrash.c:%d (crash)",
		 marker_line("nowhere"));
	cr_assert_str_eq(tu_str(w1, "detail"), want);
	cr_assert(json_is_true(json_object_get(w1, "confirmed")));
	json_t *w0 = site_at(doc, marker_line("w0-close"));
	cr_assert_not_null(w0, "worker 0's close is a site");
	cr_assert_str_eq(tu_str(w0, "outcome"), "handled", "%s",
			 tu_str(w0, "detail"));
	json_decref(doc);
	free(out);
	tu_rmrf(dir);
	free(dir);
}
