/* Deterministic faults: the same seed fails the same calls in a
 * multi-threaded target, run after run; call-number, actor, thread-name
 * and event-triggered windows; the journal, its digest and lost records;
 * --repeat and FLAKY; replay and shrink. */
#include "testutil.h"

/* faultline run [extra...] path, with a long enough timeout. */
static int run(tu_env *e, char **extra, const char *path, char **out)
{
	const char *args[16];
	int n = 0;
	for (int i = 0; extra && extra[i] && n < 14; i++)
		args[n++] = extra[i];
	args[n++] = path;
	args[n] = NULL;
	return tu_env_run(e, args, out, 200);
}

static const char *digest_of(json_t *s, const char *point)
{
	json_t *j = json_object_get(s, "journal");
	if (!point)
		return tu_str(j, "digest");
	return tu_str(json_object_get(j, "digests"), point);
}

/* Four threads, p = 0.3: 20 runs, one journal. */
Test(determinism, same_seed_same_journal_in_20_runs, .timeout = 150)
{
	tu_env e = tu_env_new();
	char *out;
	char *extra[] = {"--repeat", "20", NULL};
	int status = run(&e, extra, "tests/scenarios/det/mt_close.lua", &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "det: close faults in four threads");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *rep = json_object_get(s, "repeat");
	cr_assert_eq(tu_num(rep, "runs"), 20);
	json_t *digests = json_object_get(rep, "digests");
	cr_assert_eq(json_array_size(digests), 20);
	for (size_t i = 1; i < 20; i++)
		cr_assert_str_eq(json_string_value(json_array_get(digests, i)),
				 json_string_value(json_array_get(digests, 0)),
				 "run %zu fired other faults", i + 1);
	json_t *j = json_object_get(s, "journal");
	double total = tu_num(j, "total");
	/* 4 x 300 closes at p = 0.3. */
	cr_assert(total > 280 && total < 440, "%g faults", total);
	cr_assert_eq(tu_num(j, "lost"), 0);
	int actors[5] = {0};
	size_t i;
	json_t *r;
	json_array_foreach(tu_calls(json_object_get(j, "records")), i, r)
	{
		const char *a = tu_str(r, "actor");
		cr_assert(strlen(a) == 3 && a[0] == '0' && a[1] == '.' &&
				  a[2] >= '1' && a[2] <= '4',
			  "actor %s", a);
		actors[a[2] - '0']++;
	}
	for (int k = 1; k <= 4; k++)
		cr_assert_gt(actors[k], 40, "actor 0.%d fired %d", k, actors[k]);
	char first[17];
	snprintf(first, sizeof first, "%s", digest_of(s, NULL));
	json_decref(doc);
	free(out);

	/* Another seed, other faults. */
	char *seed[] = {"--seed", "4", NULL};
	run(&e, seed, "tests/scenarios/det/mt_close.lua", &out);
	doc = tu_latest(&e);
	s = tu_scenario(doc, "det: close faults in four threads");
	cr_assert_str_neq(digest_of(s, NULL), first);
	json_decref(doc);
	free(out);

	/* A second point enabled alongside does not move close()'s faults. */
	run(&e, NULL, "tests/scenarios/det/mt_two_points.lua", &out);
	doc = tu_latest(&e);
	s = tu_scenario(doc, "det: close faults with open faults alongside");
	cr_assert_str_eq(digest_of(s, "posix/io/oc/close"), first);
	cr_assert_gt(tu_num(json_object_get(json_object_get(s, "points"),
					     "posix/io/oc/open"),
			    "fired"),
		     100);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A scenario whose faults depend on timing fires other faults from run to
 * run: --repeat says its journal varies, and keeps its verdict, since the
 * outcome did not change (FLAKY is for outcomes: tests/e2e_verify.c). */
Test(determinism, repeat_says_a_timed_journal_varies, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/timed.lua", e.dir);
	/* A thread closing files every 100 µs: how many close() calls a
	 * 0.3 s window sees varies from run to run. */
	tu_write(path,
		 "return { name = 'timed: close faults on a clock',\n"
		 "  target = { cmd = { 'build/tests/targets/tgt', '--churn' },\n"
		 "             ready = { stdout = 'READY' } },\n"
		 "  run = function(t) t:settle(0.2); t:fault('posix/io/oc/close', { p = 0.3 });\n"
		 "    t:sleep(0.3); t:clear(); t:stop() end }\n");
	char *out;
	char *extra[] = {"--repeat", "4", NULL};
	int status = run(&e, extra, path, &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "timed:");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	cr_assert(json_is_false(json_object_get(s, "exact")));
	json_t *rep = json_object_get(s, "repeat");
	cr_assert(json_is_true(json_object_get(rep, "journal_varies")));
	cr_assert(strstr(out, "journal varies (windows not tied to target events): "),
		  "%s", out);
	cr_assert(strstr(out, " different fault journals in 4 runs"), "%s", out);
	cr_assert(json_is_true(json_object_get(s, "time_based_windows")));
	cr_assert(strstr(out, "1 passed"), "%s", out);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* The calls of a scenario's journal records (runs expanded); the tests
 * let them go with the process. */
static json_t *recs_of(json_t *doc, const char *name)
{
	return tu_calls(json_object_get(json_object_get(tu_scenario(doc, name), "journal"),
					"records"));
}

/* nth, actors, thread names, windows opened by a call count or a line of
 * output, errnos derived from the seed, a point that never fired, and a
 * journal that overflowed. */
Test(determinism, selectors_and_triggers, .timeout = 90)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run(&e, NULL, "tests/scenarios/det/selectors.lua", &out);
	/* One scenario fails on purpose: its window never fires. */
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	size_t i;
	json_t *r;

	/* nth = "3,5-7,every 50" over 100 calls per thread: calls 3, 5, 6,
	 * 7, 50 and 100 of each of the 4 workers. */
	json_t *recs = recs_of(doc, "sel: nth");
	cr_assert_eq(json_array_size(recs), 24);
	json_array_foreach(recs, i, r)
	{
		long long n = (long long)tu_num(r, "n");
		cr_assert(n == 3 || (n >= 5 && n <= 7) || n == 50 || n == 100,
			  "call %lld fired", n);
	}

	recs = recs_of(doc, "sel: one actor");
	cr_assert_gt(json_array_size(recs), 30);
	json_array_foreach(recs, i, r)
		cr_assert_str_eq(tu_str(r, "actor"), "0.2");

	recs = recs_of(doc, "sel: thread name");
	cr_assert_gt(json_array_size(recs), 30);
	json_array_foreach(recs, i, r)
		cr_assert_str_eq(tu_str(r, "actor"), "0.3",
				 "mt-worker-3 is the third thread");

	/* p = 1 after the 40th open() of 0.1: its closes 40 to 100. */
	json_t *s = tu_scenario(doc, "sel: after calls");
	recs = recs_of(doc, "sel: after calls");
	cr_assert_eq(json_array_size(recs), 61, "%zu records: %s",
		     json_array_size(recs),
		     json_dumps(json_object_get(s, "faults"), 0));
	json_array_foreach(recs, i, r)
		cr_assert_geq(tu_num(r, "n"), 40);
	json_t *w = json_array_get(json_object_get(s, "faults"), 0);
	cr_assert_str_eq(tu_str(w, "trigger"), "calls");
	cr_assert(json_is_number(json_object_get(w, "on")), "the window opened");
	cr_assert(json_is_false(json_object_get(s, "time_based_windows")));

	s = tu_scenario(doc, "sel: on output");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	w = json_array_get(json_object_get(s, "faults"), 0);
	cr_assert_str_eq(tu_str(w, "trigger"), "output");
	cr_assert_gt(tu_num(w, "on"), 0.25, "opened by the line, not at once");

	/* Without errno, close() fails with its valid errnos, all of them
	 * appearing over 60 calls, the same way for the same seed. */
	recs = recs_of(doc, "sel: derived errno");
	cr_assert_eq(json_array_size(recs), 60, "%zu records",
		     json_array_size(recs));
	int eio = 0, eintr = 0, enospc = 0;
	json_array_foreach(recs, i, r)
	{
		const char *en = tu_str(r, "errno");
		eio += !strcmp(en, "EIO");
		eintr += !strcmp(en, "EINTR");
		enospc += !strcmp(en, "ENOSPC");
	}
	cr_assert(eio && eintr && enospc, "%d %d %d", eio, eintr, enospc);
	cr_assert_eq(eio + eintr + enospc, 60);

	/* A window that never fired tested nothing: a FAIL that says why. */
	s = tu_scenario(doc, "sel: never fired");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert(strstr(tu_str(s, "message"),
			 "fault window on posix/io/net/connect (") == tu_str(s, "message"),
		  "%s", tu_str(s, "message"));
	cr_assert(strstr(tu_str(s, "message"),
			 " never fired: 0 calls: the target never reached "
			 "posix/io/net/connect through a wrapped call"),
		  "%s", tu_str(s, "message"));
	cr_assert_eq(tu_num(json_array_get(json_object_get(s, "faults"), 0), "fired"), 0);
	w = json_array_get(json_object_get(tu_scenario(doc, "sel: nth"), "faults"), 0);
	cr_assert_eq(tu_num(w, "fired"), 24, "the window counts its faults");

	/* 60 000 faults between two samples (1 Hz): the ring holds 4 096,
	 * so the target waits for the harness to drain it, and every record
	 * arrives, however busy the machine. */
	s = tu_scenario(doc, "sel: full ring");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *j = json_object_get(s, "journal");
	cr_assert_eq(tu_num(j, "total"), 60000);
	cr_assert_eq(tu_num(j, "lost"), 0);
	cr_assert_eq(tu_num(j, "torn"), 0);
	/* Folded into runs (errnos derived call by call break them), the
	 * results keep the first 1 000 records. */
	cr_assert_leq(tu_num(j, "runs"), 60000);
	cr_assert_eq(json_is_true(json_object_get(j, "truncated")), tu_num(j, "runs") > 1000);
	cr_assert_eq(json_array_size(json_object_get(s, "warnings")), 0);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* replay fails exactly the recorded calls; shrink finds the two that
 * matter among ~290. */
Test(determinism, replay_and_shrink, .timeout = 180)
{
	tu_env e = tu_env_new();
	char *out;
	int status = run(&e, NULL, "tests/scenarios/det/pairleak.lua", &out);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "leaked 1 fds (allowed 0): 1 x /dev/zero"), "%s", out);
	free(out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "det: leaks only when two");
	double fired = tu_num(json_object_get(s, "journal"), "total");
	cr_assert_gt(fired, 200);
	const char *file = tu_str(json_object_get(s, "journal"), "file");
	cr_assert_str_eq(file, "journal-1.json");
	char journal[PATH_MAX + 64];
	snprintf(journal, sizeof journal, "%s/latest/journal-1.json", e.reports);
	char recorded[17];
	snprintf(recorded, sizeof recorded, "%s", tu_str(json_object_get(s, "journal"), "digest"));
	json_decref(doc);

	char *rp[] = {"faultline", "replay", "--report-dir", e.reports, journal, NULL};
	status = tu_run(rp, e.tmp, &out, 60);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "verdict FAIL (recorded FAIL); faults identical"), "%s", out);
	free(out);
	doc = tu_latest(&e);
	s = tu_scenario(doc, "det: leaks only when two");
	cr_assert_str_eq(tu_str(json_object_get(s, "journal"), "digest"), recorded);
	cr_assert_eq(tu_num(json_object_get(s, "replay"), "faults"), fired);
	json_decref(doc);

	char minpath[PATH_MAX + 32];
	snprintf(minpath, sizeof minpath, "%s/min.json", e.dir);
	char *sh[] = {"faultline", "shrink", "-o", minpath, journal, NULL};
	status = tu_run(sh, e.tmp, &out, 170);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "2 of "), "%s", out);
	cr_assert(strstr(out, "posix/io/oc/close  actor 0  call 137"), "%s", out);
	cr_assert(strstr(out, "posix/io/oc/close  actor 0  call 342"), "%s", out);
	free(out);
	json_t *min = tu_load_json(minpath);
	cr_assert_eq(json_array_size(json_object_get(min, "records")), 2);
	json_decref(min);
	/* The two alone reproduce the leak. */
	char *rp2[] = {"faultline", "replay", "--no-report", minpath, NULL};
	status = tu_run(rp2, e.tmp, &out, 60);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "leaked 1 fds"), "%s", out);
	free(out);
	tu_env_free(&e);
}
