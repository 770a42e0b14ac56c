/* End-to-end: the agent's control of every process of a target, through
 * the real bin/faultline and real libfiu. Windows opened after a server
 * forked its workers reach every worker, and closing them stops every
 * fault at once; counts and coverage include the children; actor names
 * stay deterministic in nested forks; each thread reads its own errno; the
 * target's signal handling is its own; the agent's memory does not grow
 * with the faults fired; a window armed before the start fails the very
 * first call; a program executed without the agent is noticed. Every
 * assertion is on counts: no test waits for time to pass. */
#include "testutil.h"

#include "../lib/agent_proto.h"

#include <ctype.h>

/* Writes text as <env dir>/name and runs it; returns the exit status. */
static int run_scenario(tu_env *e, const char *name, const char *text,
			char **out, double timeout_s)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", e->dir, name);
	tu_write(path, text);
	const char *args[] = {path, NULL};
	return tu_env_run(e, args, out, timeout_s);
}

/* The records of the newest run's journal file. */
static json_t *journal_records(tu_env *e)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/latest/journal-1.json", e->reports);
	json_t *j = tu_load_json(path);
	json_t *r = tu_calls(json_object_get(j, "records"));
	json_decref(j);
	return r;
}

/* How many records of a point an actor has, and the lowest and highest
 * call numbers among them. */
static int count_actor(json_t *recs, const char *point, const char *actor,
		       long long *lo, long long *hi)
{
	int n = 0;
	*lo = -1;
	*hi = -1;
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		if (strcmp(tu_str(r, "point"), point) || strcmp(tu_str(r, "actor"), actor))
			continue;
		long long k = (long long)tu_num(r, "n");
		if (*lo < 0 || k < *lo)
			*lo = k;
		if (k > *hi)
			*hi = k;
		n++;
	}
	return n;
}

/* Records of posix/io/oc/open by an actor with n in [from, to]. */
static int count_range(json_t *recs, const char *actor, long long from,
		       long long to)
{
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		long long k = (long long)tu_num(r, "n");
		n += !strcmp(tu_str(r, "point"), "posix/io/oc/open") &&
		     !strcmp(tu_str(r, "actor"), actor) && k >= from && k <= to;
	}
	return n;
}

static json_t *agent_process(json_t *target, const char *actor)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(json_object_get(target, "agent"), "processes"), i, p)
		if (!strcmp(tu_str(p, "actor"), actor))
			return p;
	return NULL;
}

/* A pre-forking server: the window opens after the three workers forked,
 * fails every open() in every worker and in every helper they fork (and
 * in a worker forked while it is open), and after t:clear() no process
 * fails anything. */
Test(agent, forked_children_follow_windows, .timeout = 60)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "forker.lua",
		"return { name = 'forker', seed = 3,\n"
		"  target = { cmd = { 'build/tests/targets/forker', '--port', '{port}', '--workers', '3' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.1)\n"
		"    t:fault('posix/io/oc/open', { p = 1, errno = 'EACCES' })\n"
		"    t:check(t:tcp('RUN 10\\n') == 'DONE 30 3 3\\n', 'every worker and helper failed')\n"
		"    t:check(t:tcp('SPAWN\\n') == 'SPAWNED\\n', 'a worker forked while the window is open')\n"
		"    t:check(t:tcp('RUN 10\\n') == 'DONE 40 4 4\\n', 'the new worker fails too')\n"
		"    local st = t:stats()['posix/io/oc/open']\n"
		"    t:check(st.calls == 77 and st.fired == 77, 'stats sum every process: ' .. st.calls .. ' ' .. st.fired)\n"
		"    t:clear()\n"
		"    t:check(t:tcp('RUN 10\\n') == 'DONE 0 0 4\\n', 'cleared everywhere')\n"
		"    st = t:stats()['posix/io/oc/open']\n"
		"    t:check(st.fired == 77, 'nothing fired after clear: ' .. st.fired)\n"
		"    t:stop()\n"
		"  end }\n",
		&out, 50);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "forker");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", out);
	json_t *pt = json_object_get(json_object_get(s, "points"), "posix/io/oc/open");
	cr_assert_eq(tu_num(pt, "calls"), 77);
	cr_assert_eq(tu_num(pt, "fired"), 77);
	json_t *recs = journal_records(&e);
	cr_assert_eq(json_array_size(recs), 77);
	long long lo, hi;
	/* Workers forked at the start, numbered in order; their calls counted
	 * from their first. */
	const char *workers[] = {"0f1", "0f2", "0f3"};
	for (int w = 0; w < 3; w++) {
		cr_assert_eq(count_actor(recs, "posix/io/oc/open", workers[w], &lo, &hi), 20,
			     "%s", workers[w]);
		cr_assert_eq(lo, 1);
		cr_assert_eq(hi, 20);
	}
	cr_assert_eq(count_actor(recs, "posix/io/oc/open", "0f4", &lo, &hi), 10);
	cr_assert(lo == 1 && hi == 10);
	/* Helpers: a fork inside a forked child counts its own forks from 1. */
	const char *helpers[] = {"0f1f1", "0f2f1", "0f3f1", "0f1f2", "0f2f2", "0f3f2", "0f4f1"};
	for (int h = 0; h < 7; h++) {
		cr_assert_eq(count_actor(recs, "posix/io/oc/open", helpers[h], &lo, &hi), 1,
			     "%s", helpers[h]);
		cr_assert_eq(lo, 1);
	}
	/* The helpers of the last run, after clear, fired nothing. */
	cr_assert_eq(count_actor(recs, "posix/io/oc/open", "0f1f3", &lo, &hi), 0);
	cr_assert_eq(count_actor(recs, "posix/io/oc/open", "0f4f2", &lo, &hi), 0);
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
		cr_assert_str_eq(tu_str(r, "errno"), "EACCES");
	json_decref(recs);
	/* Every process registered, with its parent. */
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	json_t *root = agent_process(t0, "0"), *w1 = agent_process(t0, "0f1"),
	       *h11 = agent_process(t0, "0f1f1");
	cr_assert(root && w1 && h11, "processes: %s",
		  json_dumps(json_object_get(t0, "agent"), 0));
	cr_assert_eq(tu_num(w1, "ppid"), tu_num(root, "pid"));
	cr_assert_eq(tu_num(h11, "ppid"), tu_num(w1, "pid"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* An after= trigger counted by an actor in a forked child, and replay of
 * faults that several processes fired. */
Test(agent, triggers_and_replay_across_processes, .timeout = 90)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "after.lua",
		"return { name = 'after in a child', seed = 5,\n"
		"  target = { cmd = { 'build/tests/targets/forker', '--port', '{port}', '--workers', '3' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.1)\n"
		"    t:fault('posix/io/oc/open', { p = 1, actors = '0f2*',\n"
		"            after = { point = 'posix/io/oc/open', calls = 5, actor = '0f2' } })\n"
		"    t:check(t:tcp('RUN 10\\n') == 'DONE 6 1 3\\n', 'calls 5 to 10 of 0f2 and its helper')\n"
		"    t:clear()\n"
		"    t:fault('posix/io/oc/open', { p = 0.5 })\n"
		"    t:tcp('RUN 40\\n')\n"
		"    t:clear()\n"
		"    t:stop()\n"
		"  end }\n",
		&out, 60);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "after in a child");
	json_t *w0 = json_array_get(json_object_get(s, "faults"), 0);
	cr_assert_str_eq(tu_str(w0, "trigger"), "calls");
	cr_assert(json_is_number(json_object_get(w0, "on")), "the window opened");
	double total = tu_num(json_object_get(s, "journal"), "total");
	char recorded[17];
	snprintf(recorded, sizeof recorded, "%s",
		 tu_str(json_object_get(s, "journal"), "digest"));
	/* The first window: calls 5 to 10 of 0f2 and its helper's only call,
	 * nothing of the other workers. */
	json_t *recs = journal_records(&e);
	cr_assert_eq(count_range(recs, "0f2", 1, 4), 0);
	cr_assert_eq(count_range(recs, "0f2", 5, 10), 6);
	cr_assert_eq(count_range(recs, "0f2f1", 1, 1), 1);
	cr_assert_eq(count_range(recs, "0f1", 1, 10), 0);
	cr_assert_eq(count_range(recs, "0f3", 1, 10), 0);
	cr_assert_eq(count_range(recs, "0f1f1", 1, 1), 0);
	json_decref(recs);
	json_decref(doc);
	free(out);
	/* Half of 123 calls in four processes and their helpers, replayed:
	 * exactly the same calls fail. */
	cr_assert_gt(total, 40);
	char journal[PATH_MAX + 64];
	snprintf(journal, sizeof journal, "%s/latest/journal-1.json", e.reports);
	char *rp[] = {"faultline", "replay", "--report-dir", e.reports, journal, NULL};
	status = tu_run(rp, e.tmp, &out, 60);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "faults identical"), "%s", out);
	free(out);
	doc = tu_latest(&e);
	s = tu_scenario(doc, "after in a child");
	cr_assert_str_eq(tu_str(json_object_get(s, "journal"), "digest"), recorded);
	cr_assert_eq(tu_num(json_object_get(s, "journal"), "total"), total);
	json_decref(doc);
	tu_env_free(&e);
}

/* Runs a target alone: waits for READY on its stdout, sends sig, and
 * returns its exit status (128 + signal if one killed it); *text gets
 * what it printed. */
static int run_alone(char *const argv[], int sig, char **text)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t cap = 4096, len = 0;
	char *buf = calloc(1, cap);
	int sent = 0;
	for (;;) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		ssize_t n = read(p[0], buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!sent && strstr(buf, "READY\n")) {
			kill(pid, sig);
			sent = 1;
		}
	}
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	*text = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A program that blocks SIGTERM and reads it from a signalfd, and one that
 * waits for SIGUSR1 with sigwait, end the same way under faultline as
 * alone: the agent has no thread that could take their signals. */
Test(agent, signals_stay_the_targets, .timeout = 60)
{
	char *text;
	char *fd_argv[] = {"build/tests/targets/sigfd", "--threads", "2", NULL};
	int alone = run_alone(fd_argv, SIGTERM, &text);
	cr_assert_eq(alone, 0, "alone: %d %s", alone, text);
	cr_assert(strstr(text, "got SIGTERM"), "%s", text);
	free(text);
	char *wt_argv[] = {"build/tests/targets/sigwt", NULL};
	alone = run_alone(wt_argv, SIGUSR1, &text);
	cr_assert_eq(alone, 0, "alone: %d %s", alone, text);
	cr_assert(strstr(text, "got SIGUSR1"), "%s", text);
	free(text);

	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "signals.lua",
		"return {\n"
		" { name = 'signalfd', target = { cmd = { 'build/tests/targets/sigfd', '--threads', '2' },\n"
		"                                ready = { stdout = 'READY' } },\n"
		"   run = function(t)\n"
		"     t:settle(0.1)\n"
		"     t:check(t:sample().threads == 3, 'the target\\'s three threads, no agent thread')\n"
		"     local ex = t:stop { signal = 'TERM', grace = 10 }\n"
		"     t:check(ex.exited and ex.code == 0 and not ex.signal, 'SIGTERM read from the signalfd')\n"
		"     t:expect { exit = 0 }\n"
		"   end },\n"
		" { name = 'sigwait', target = { cmd = { 'build/tests/targets/sigwt' }, ready = { stdout = 'READY' } },\n"
		"   run = function(t)\n"
		"     t:settle(0.1)\n"
		"     t:signal('USR1')\n"
		"     local ex = t:wait_exit(10)\n"
		"     t:check(ex and ex.code == 0 and not ex.signal, 'SIGUSR1 taken by sigwait')\n"
		"     t:expect { exit = 0 }\n"
		"   end },\n"
		"}\n",
		&out, 50);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	const char *names[] = {"signalfd", "sigwait"};
	const char *said[] = {"got SIGTERM", "got SIGUSR1"};
	for (int k = 0; k < 2; k++) {
		json_t *s = tu_scenario(doc, names[k]);
		cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", out);
		json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
		json_t *ex = json_object_get(t0, "exit");
		cr_assert_eq(tu_num(ex, "code"), 0);
		cr_assert(json_is_null(json_object_get(ex, "signal")));
		cr_assert(strstr(tu_str(json_object_get(t0, "output"), "stdout_tail"), said[k]));
		cr_assert_eq(tu_num(json_object_get(t0, "footprint"), "threads"), 0);
	}
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Eight threads fail the same point at the same moments, each with the
 * errno the hash chose for its own call: every errno a thread saw is the
 * one the journal recorded for that (actor, n), in every run. */
Test(agent, each_thread_reads_its_own_errno, .timeout = 120)
{
	tu_env e = tu_env_new();
	char obs[PATH_MAX], text[PATH_MAX * 2];
	snprintf(obs, sizeof obs, "%s/obs.txt", e.dir);
	snprintf(text, sizeof text,
		 "return { name = 'errnos', seed = 11,\n"
		 "  target = { autostart = false, cmd = { 'build/tests/targets/errnos', '%s', '8', '2000' } },\n"
		 "  run = function(t)\n"
		 "    t:fault('posix/io/oc/open', { p = 1 })\n"
		 "    t:start()\n"
		 "    t:wait_exit(60)\n"
		 "    t:expect { exit = 0 }\n"
		 "  end }\n",
		 obs);
	long long mismatches = 0, compared = 0;
	for (int run = 0; run < 5; run++) {
		char *out;
		int status = run_scenario(&e, "errnos.lua", text, &out, 100);
		cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
		free(out);
		json_t *recs = journal_records(&e);
		cr_assert_eq(json_array_size(recs), 16000);
		/* recorded[k][n]: the errno the agent chose for actor 0.k. */
		static int recorded[9][2001];
		memset(recorded, 0, sizeof recorded);
		size_t i;
		json_t *r;
		json_array_foreach(recs, i, r)
		{
			int k = atoi(tu_str(r, "actor") + 2);
			long long n = (long long)tu_num(r, "n");
			cr_assert(k >= 1 && k <= 8 && n >= 1 && n <= 2000, "%s %lld",
				  tu_str(r, "actor"), n);
			json_t *en = json_object_get(r, "errno");
			const char *name = json_string_value(en);
			int err = 0;
			static const struct {
				const char *name;
				int err;
			} known[] = {{"EACCES", EACCES}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
				     {"ENOENT", ENOENT}, {"ENOMEM", ENOMEM}, {"ENOSPC", ENOSPC},
				     {"EROFS", EROFS}};
			for (size_t q = 0; name && q < sizeof known / sizeof known[0]; q++)
				if (!strcmp(name, known[q].name))
					err = known[q].err;
			cr_assert(err, "errno %s", name ? name : "?");
			recorded[k][n] = err;
		}
		json_decref(recs);
		FILE *f = fopen(obs, "r");
		cr_assert_not_null(f);
		int k, n, err, lines = 0;
		int distinct[256] = {0};
		while (fscanf(f, "%d %d %d", &k, &n, &err) == 3) {
			cr_assert(k >= 1 && k <= 8 && n >= 1 && n <= 2000);
			mismatches += recorded[k][n] != err;
			compared++;
			lines++;
			if (err > 0 && err < 256)
				distinct[err] = 1;
		}
		fclose(f);
		cr_assert_eq(lines, 16000, "every call failed and was seen");
		int kinds = 0;
		for (int q = 0; q < 256; q++)
			kinds += distinct[q];
		cr_assert_geq(kinds, 5, "the errnos differ from call to call");
	}
	cr_assert_eq(mismatches, 0, "%lld of %lld calls saw another errno", mismatches,
		     compared);
	tu_env_free(&e);
}

/* A journal ring of 8 records that the harness drains only when a writer
 * waits for room (the test hooks of docs/hacking.md), with the harness
 * under ASan: eight threads fire 16 000 faults, every one of them waits
 * its turn, and every record arrives, each thread's calls 1..2000 once;
 * forked workers (the region's futexes are shared) likewise. */
Test(agent, a_full_journal_makes_writers_wait_and_loses_nothing, .timeout = 240)
{
	setenv("FL_TEST_ASAN", "1", 1);
	setenv("FL_TEST_JOURNAL_CAPACITY", "8", 1);
	setenv("FL_TEST_JOURNAL_DRAIN", "waiters", 1);
	tu_env e = tu_env_new();
	char obs[PATH_MAX], text[PATH_MAX * 2];
	snprintf(obs, sizeof obs, "%s/obs.txt", e.dir);
	snprintf(text, sizeof text,
		 "return { name = 'tiny ring', seed = 11,\n"
		 "  target = { autostart = false, cmd = { 'build/tests/targets/errnos', '%s', '8', '2000' } },\n"
		 "  run = function(t)\n"
		 "    t:fault('posix/io/oc/open', { p = 1 })\n"
		 "    t:start()\n"
		 "    t:wait_exit(200)\n"
		 "    t:expect { exit = 0 }\n"
		 "  end }\n",
		 obs);
	char *out;
	int status = run_scenario(&e, "tiny.lua", text, &out, 230);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	free(out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "tiny ring");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *j = json_object_get(s, "journal");
	cr_assert_eq(tu_num(j, "total"), 16000);
	cr_assert_eq(tu_num(j, "lost"), 0);
	cr_assert_eq(tu_num(j, "torn"), 0);
	/* The ring is drained only for a waiting writer: 16 000 records
	 * through 8 slots made writers wait at least 1 999 times. */
	cr_assert_geq(tu_num(j, "waits"), 1999);
	json_decref(doc);
	json_t *recs = journal_records(&e);
	long long lo, hi;
	for (int k = 1; k <= 8; k++) {
		char actor[8];
		snprintf(actor, sizeof actor, "0.%d", k);
		cr_assert_eq(count_actor(recs, "posix/io/oc/open", actor, &lo, &hi), 2000,
			     "%s", actor);
		cr_assert_eq(lo, 1);
		cr_assert_eq(hi, 2000);
	}
	json_decref(recs);

	/* Forked workers and their helpers write through the same 8. */
	status = run_scenario(
		&e, "forker.lua",
		"return { name = 'tiny ring forker', seed = 3,\n"
		"  target = { cmd = { 'build/tests/targets/forker', '--port', '{port}', '--workers', '3' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.1)\n"
		"    t:fault('posix/io/oc/open', { p = 1, errno = 'EACCES' })\n"
		"    t:check(t:tcp('RUN 10\\n') == 'DONE 30 3 3\\n', 'every worker and helper failed')\n"
		"    t:clear()\n"
		"    t:stop()\n"
		"  end }\n",
		&out, 120);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	free(out);
	doc = tu_latest(&e);
	s = tu_scenario(doc, "tiny ring forker");
	j = json_object_get(s, "journal");
	cr_assert_eq(tu_num(j, "lost"), 0);
	cr_assert_eq(tu_num(j, "total"),
		     tu_num(json_object_get(json_object_get(s, "points"), "posix/io/oc/open"),
			    "fired"));
	json_decref(doc);
	recs = journal_records(&e);
	for (int w = 1; w <= 3; w++) {
		char actor[8];
		snprintf(actor, sizeof actor, "0f%d", w);
		cr_assert_eq(count_actor(recs, "posix/io/oc/open", actor, &lo, &hi), 10,
			     "%s", actor);
	}
	json_decref(recs);
	tu_env_free(&e);
}

/* A harness that never drains during the run (test hook "end") and a
 * wait bound of 20 ms: the target is held once, for the bound, then
 * carries on; the 992 records that found no room are counted, and the
 * run is an ERROR that names them, never a PASS. */
Test(agent, lost_journal_records_make_the_run_an_error, .timeout = 120)
{
	setenv("FL_TEST_ASAN", "1", 1);
	setenv("FL_TEST_JOURNAL_CAPACITY", "8", 1);
	setenv("FL_TEST_JOURNAL_DRAIN", "end", 1);
	setenv("FL_TEST_JOURNAL_WAIT_MS", "20", 1);
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "lost.lua",
		"return { name = 'lost records', seed = 1,\n"
		"  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:fault('posix/io/oc/close', { p = 1, nth = '1-1000' })\n"
		"    t:check(t:tcp('CLOSEBURST 1000\\n', { timeout = 60 }) == 'FAILED 1000\\n', 'every close failed')\n"
		"    t:clear(); t:stop()\n"
		"  end }\n",
		&out, 110);
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "the fault journal lost 992 records"), "%s", out);
	free(out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "lost records");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR");
	cr_assert(strstr(tu_str(s, "message"), "the fault journal lost 992 records: "),
		  "%s", tu_str(s, "message"));
	json_t *j = json_object_get(s, "journal");
	cr_assert_eq(tu_num(j, "total"), 8);
	cr_assert_eq(tu_num(j, "lost"), 992);
	cr_assert_eq(tu_num(j, "waits"), 1);
	cr_assert_geq(tu_num(j, "waited_s"), 0.020);
	/* The expectations themselves held: it is the journal that fails. */
	json_t *x;
	size_t i;
	json_array_foreach(json_object_get(s, "expectations"), i, x)
		cr_assert(json_is_true(json_object_get(x, "ok")), "%s", tu_str(x, "what"));
	json_decref(doc);
	tu_env_free(&e);
}

/* 25 000 faults fired and journalled: the target's RSS, as the harness
 * reports it, does not move, and the agent's footprint is the region it
 * made resident from the start. */
Test(agent, footprint_does_not_grow_with_faults, .timeout = 90)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "rss.lua",
		"return { name = 'rss under faults', sample = { hz = 200 },\n"
		"  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:tcp('CLOSEBURST 100\\n')\n"
		"    local b = t:settle(0.3)\n"
		"    t:fault('posix/io/oc/close', { p = 1 })\n"
		"    t:check(t:tcp('CLOSEBURST 25000\\n', { timeout = 60 }) == 'FAILED 25000\\n', 'all failed')\n"
		"    t:clear()\n"
		"    local a = t:sample()\n"
		"    t:log(string.format('rss before %d after %d', b.rss, a.rss))\n"
		"    t:stop()\n"
		"    t:expect { leaked = { rss = 0, fds = 0, threads = 0 } }\n"
		"  end }\n",
		&out, 80);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "rss under faults");
	json_t *j = json_object_get(s, "journal");
	cr_assert_geq(tu_num(j, "total"), 25000);
	cr_assert_eq(tu_num(j, "lost"), 0);
	json_t *leaks = json_object_get(s, "leaks");
	cr_assert_eq(tu_num(leaks, "rss"), 0, "RSS grew by %g bytes", tu_num(leaks, "rss"));
	/* The samples from the baseline to the final look (before the stop
	 * tears the process down): flat. */
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	json_t *series = json_object_get(t0, "series");
	json_t *ts = json_object_get(series, "t"), *rss = json_object_get(series, "rss");
	double from = tu_num(json_object_get(s, "baseline"), "from");
	double to = tu_num(json_object_get(s, "final"), "t");
	double lo = 1e18, hi = -1e18;
	int n = 0;
	for (size_t i = 0; i < json_array_size(ts); i++) {
		double t = json_number_value(json_array_get(ts, i));
		if (t < from || t > to)
			continue;
		double v = json_number_value(json_array_get(rss, i));
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		n++;
	}
	cr_assert_gt(n, 50, "%d samples", n);
	cr_assert_gt(lo, 0);
	cr_assert_eq(hi - lo, 0, "RSS moved between %g and %g under faults", lo, hi);
	json_t *fp = json_object_get(t0, "footprint");
	/* The whole region is stated (each process makes every page of it
	 * resident), with the agent's own pages; not more than a few MB. */
	fl_shm_hdr layout;
	double region = (double)fl_shm_layout(&layout, 0, 0, FL_JOURNAL_CAPACITY);
	cr_assert_geq(tu_num(fp, "bytes"), region, "the region (%g bytes) is stated",
		      region);
	cr_assert_lt(tu_num(fp, "bytes"), region + (4 << 20), "%g bytes stated",
		     tu_num(fp, "bytes"));
	cr_assert_eq(tu_num(fp, "fds"), 0);
	cr_assert_eq(tu_num(fp, "threads"), 0);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A batch job: the window is written before the target starts, so its
 * very first open() fails; no other does. */
Test(agent, window_armed_before_the_first_instruction, .timeout = 60)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "first.lua",
		"return { name = 'first call', seed = 1,\n"
		"  target = { autostart = false, cmd = { 'build/tests/targets/firstcall' } },\n"
		"  run = function(t)\n"
		"    t:fault('posix/io/oc/open', { nth = '1', errno = 'EMFILE' })\n"
		"    t:start()\n"
		"    t:wait_exit(10)\n"
		"    t:expect { exit = 0 }\n"
		"  end }\n",
		&out, 50);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "first call");
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	const char *so = tu_str(json_object_get(t0, "output"), "stdout_tail");
	char want[64];
	snprintf(want, sizeof want, "first open: failed errno %d\n", EMFILE);
	cr_assert(strstr(so, want), "%s", so);
	cr_assert(strstr(so, "then 0 of 9 failed"), "%s", so);
	json_t *recs = journal_records(&e);
	cr_assert_eq(json_array_size(recs), 1);
	json_t *r = json_array_get(recs, 0);
	cr_assert_str_eq(tu_str(r, "actor"), "0");
	cr_assert_eq(tu_num(r, "n"), 1);
	json_decref(recs);
	json_t *w = json_array_get(json_object_get(s, "faults"), 0);
	cr_assert_str_eq(tu_str(w, "trigger"), "start");
	cr_assert_eq(tu_num(w, "on"), 0);
	/* Open from the first instruction and closed by a call number: the
	 * same seed fails the same call in every run. */
	cr_assert(json_is_true(json_object_get(w, "exact")));
	json_t *pt = json_object_get(json_object_get(s, "points"), "posix/io/oc/open");
	cr_assert_eq(tu_num(pt, "calls"), 10);
	cr_assert_eq(tu_num(pt, "fired"), 1);
	json_decref(doc);
	free(out);

	/* Armed before the start on the 4th call of the main thread, with the
	 * script waiting meanwhile: calls 4 to 10 fail. */
	status = run_scenario(
		&e, "armed.lua",
		"return { name = 'armed first', seed = 1,\n"
		"  target = { autostart = false, cmd = { 'build/tests/targets/firstcall' } },\n"
		"  run = function(t)\n"
		"    t:fault('posix/io/oc/open', { after = { point = 'posix/io/oc/open', calls = 4, actor = '0' } })\n"
		"    t:sleep(0.05)\n"
		"    t:start()\n"
		"    t:wait_exit(10)\n"
		"    t:expect { exit = 0 }\n"
		"  end }\n",
		&out, 50);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	doc = tu_latest(&e);
	s = tu_scenario(doc, "armed first");
	t0 = json_array_get(json_object_get(s, "targets"), 0);
	so = tu_str(json_object_get(t0, "output"), "stdout_tail");
	cr_assert(strstr(so, "first open: ok") && strstr(so, "then 7 of 9 failed"), "%s", so);
	w = json_array_get(json_object_get(s, "faults"), 0);
	cr_assert_str_eq(tu_str(w, "trigger"), "calls");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A shell that executes the real program: without inherit the program
 * runs without the agent, and faultline says so and stops subtracting the
 * agent's memory; with inherit the program's agent registers again as the
 * same process and the window reaches it. */
Test(agent, exec_with_and_without_the_agent, .timeout = 60)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "exec.lua",
		"local cmd = { '/bin/sh', '-c', 'exec build/tests/targets/tgt --port \"$1\"', 'sh', '{port}' }\n"
		"return {\n"
		" { name = 'exec, agent dropped', target = { cmd = cmd, ready = { stdout = 'READY' } },\n"
		"   run = function(t)\n"
		"     local b = t:settle(0.2)\n"
		"     t:check(b.rss > 1048576, 'the program\\'s own RSS, nothing subtracted: ' .. b.rss)\n"
		"     t:fault('posix/io/oc/close', { p = 1, optional = 'the program runs without the agent' })\n"
		"     t:check(t:tcp('CLOSEBURST 10\\n') == 'FAILED 0\\n', 'no agent, no fault')\n"
		"     t:clear(); t:stop()\n"
		"   end },\n"
		" { name = 'exec, agent inherited', target = { cmd = cmd, inherit = true, ready = { stdout = 'READY' } },\n"
		"   run = function(t)\n"
		"     t:settle(0.2)\n"
		"     t:fault('posix/io/oc/close', { p = 1 })\n"
		"     t:check(t:tcp('CLOSEBURST 10\\n') == 'FAILED 10\\n', 'the new image has the agent')\n"
		"     t:clear(); t:stop()\n"
		"   end },\n"
		"}\n",
		&out, 50);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "agent dropped");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", out);
	/* faultline said so when the script opened the window. */
	int noted = 0;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(s, "log"), i, l)
		noted |= strstr(tu_str(l, "msg"), "/tgt without the agent: no fault "
						  "reaches it") != NULL;
	cr_assert(noted, "%s", json_dumps(json_object_get(s, "log"), 0));
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	json_t *p = agent_process(t0, "0");
	cr_assert_not_null(p);
	const char *now = tu_str(p, "now");
	cr_assert(strlen(now) > 4 && !strcmp(now + strlen(now) - 4, "/tgt"), "now %s", now);
	/* Nothing of the agent's is left in it to subtract. */
	json_t *fp = json_object_get(t0, "footprint");
	cr_assert_eq(tu_num(fp, "bytes"), 0);
	cr_assert_eq(tu_num(fp, "fds"), 0);
	s = tu_scenario(doc, "agent inherited");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", out);
	t0 = json_array_get(json_object_get(s, "targets"), 0);
	p = agent_process(t0, "0");
	cr_assert_not_null(p);
	cr_assert_eq(tu_num(p, "images"), 2, "sh, then the program");
	/* With inherit the region's fd stays for the programs it executes. */
	cr_assert_eq(tu_num(json_object_get(t0, "footprint"), "fds"), 1);
	json_decref(doc);
	free(out);

	/* Not optional, the window that could not reach the program fails
	 * the scenario, and the reason names the program and the fix. */
	status = run_scenario(
		&e, "exec2.lua",
		"return { name = 'exec, unreached', target = { cmd = { '/bin/sh', '-c', "
		"'exec build/tests/targets/tgt --port \"$1\"', 'sh', '{port}' }, "
		"ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    t:fault('posix/io/oc/close', { p = 1 })\n"
		"    t:tcp('CLOSEBURST 10\\n')\n"
		"    t:clear(); t:stop()\n"
		"  end }\n",
		&out, 50);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "/tgt without the agent, so no fault reached it") &&
			  strstr(out, "target.inherit = true"),
		  "%s", out);
	free(out);
	tu_env_free(&e);
}

/* A batch job faulted from its first instruction and judged on what it
 * left behind, with no baseline: the watched directory at the end against
 * its state just before the start. The fixed job cleans its temporary
 * file up on the failed write, the leaky one leaves it, and the message
 * names it. Leaks of fds without a baseline stay an error that says how. */
Test(agent, batch_job_leftovers_without_a_baseline, .timeout = 60)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run_scenario(
		&e, "batch.lua",
		"local function job(mode) return {\n"
		"  name = 'batch ' .. mode, seed = 1,\n"
		"  target = { autostart = false, exits = true, watch = '{tmpdir}/spool',\n"
		"    cmd = { 'build/tests/targets/batch', '--spool', '{tmpdir}/spool',\n"
		"            '--out', '{tmpdir}/out', '--mode', mode, '--jobs', '4' } },\n"
		"  run = function(t)\n"
		"    t:fault('posix/io/rw/write', { nth = '3', errno = 'ENOSPC' })\n"
		"    t:start()\n"
		"    t:wait_exit(10)\n"
		"    t:expect { exit = 1 }\n"
		"    t:expect { leaked = { files = 0 } }\n"
		"  end } end\n"
		"local fds = job('fixed'); fds.name = 'batch fds'\n"
		"fds.run = function(t) t:start(); t:wait_exit(10); t:expect { leaked = { fds = 0 } } end\n"
		"return { job('fixed'), job('leaky'), fds }\n",
		&out, 50);
	/* An ERROR among the results: exit 2. */
	cr_assert_eq(status, 2, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "batch fixed");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", out);
	json_t *fin = json_object_get(s, "final");
	cr_assert_eq(tu_num(fin, "files"), 0);
	cr_assert(strstr(tu_str(fin, "source"), "before the start"), "%s", tu_str(fin, "source"));
	/* Only the watched directory is judged: no fd figure is made up. */
	cr_assert(json_is_null(json_object_get(fin, "fds")));
	s = tu_scenario(doc, "batch leaky");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "files"), 1);
	cr_assert(strstr(tu_str(s, "message"), "1 x {tmpdir}/spool/job-3.tmp"), "%s",
		  tu_str(s, "message"));
	s = tu_scenario(doc, "batch fds");
	cr_assert_str_eq(tu_str(s, "verdict"), "ERROR", "%s", out);
	cr_assert(strstr(tu_str(s, "message"), "need a baseline") &&
			  strstr(tu_str(s, "message"), "leaked.files"),
		  "%s", tu_str(s, "message"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}
