/* Nothing downstream of a run may mislead: --repeat calls FLAKY only an
 * outcome that changed (tests/targets/dies dies by exit 3 or by SIGUSR1,
 * as told: the same expectation failing another way), or an exact
 * scenario's journal that changed; every run's journal is kept. Replay
 * says whether the faults that fired are the recorded ones and whether
 * the failure is the recorded one; shrink verifies the recorded failure
 * before it searches and its answer before it prints it. */
#include "testutil.h"

static const char dies_lua[] =
	"local mode = os.getenv('FL_DIES_MODE') or 'exit3'\n"
	"local state = os.getenv('FL_DIES_STATE') or '/dev/null'\n"
	"return { name = 'dies: one close fault kills it',\n"
	"  target = { cmd = { 'build/tests/targets/dies', '--mode', mode,\n"
	"                     '--state', state },\n"
	"             ready = { stdout = 'READY' } },\n"
	"  run = function(t)\n"
	"    t:settle(0.1)\n"
	"    t:fault('posix/io/oc/close', { p = 1, onetime = true })\n"
	"    t:sleep(0.3)\n"
	"  end }\n";

/* The scenario file, and the state file the alternate mode counts in. */
static void dies_setup(tu_env *e, char *path, size_t len, const char *mode)
{
	snprintf(path, len, "%s/dies.lua", e->dir);
	tu_write(path, dies_lua);
	char state[PATH_MAX + 32];
	snprintf(state, sizeof state, "%s/state", e->dir);
	unlink(state);
	setenv("FL_DIES_MODE", mode, 1);
	setenv("FL_DIES_STATE", state, 1);
}

Test(verify, repeat_flaky_when_the_failure_changes, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	dies_setup(&e, path, sizeof path, "alternate");
	const char *args[] = {"--repeat", "2", path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "dies:");
	/* Both runs FAIL on survival: only the outcome tells them apart. */
	cr_assert_str_eq(tu_str(s, "verdict"), "FLAKY");
	cr_assert_str_eq(tu_str(s, "message"),
			 "flaky over 2 runs: FAIL x2; the failure differs: survival "
			 "(exit status 3) x1, survival (killed by SIGUSR1) x1");
	json_t *rep = json_object_get(s, "repeat");
	json_t *failures = json_object_get(rep, "failures");
	cr_assert_str_eq(json_string_value(json_array_get(failures, 0)),
			 "survival (exit status 3)");
	cr_assert_str_eq(json_string_value(json_array_get(failures, 1)),
			 "survival (killed by SIGUSR1)");
	/* Every run's journal is kept, each with how its run failed. */
	json_t *journals = json_object_get(rep, "journals");
	cr_assert_eq(json_array_size(journals), 2);
	cr_assert_str_eq(json_string_value(json_array_get(journals, 0)), "journal-1.json");
	cr_assert_str_eq(json_string_value(json_array_get(journals, 1)), "journal-1-2.json");
	for (size_t k = 0; k < 2; k++) {
		char jp[PATH_MAX + 64];
		snprintf(jp, sizeof jp, "%s/latest/%s", e.reports,
			 json_string_value(json_array_get(journals, k)));
		json_t *j = tu_load_json(jp);
		cr_assert_eq(json_array_size(json_object_get(j, "records")), 1);
		cr_assert_str_eq(tu_str(json_object_get(j, "failure"), "signature"),
				 json_string_value(json_array_get(failures, k)));
		json_decref(j);
	}
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(verify, repeat_keeps_a_verdict_that_failed_the_same_way, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	dies_setup(&e, path, sizeof path, "usr1");
	const char *args[] = {"--repeat", "3", path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "dies:");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", tu_str(s, "message"));
	json_t *failures = json_object_get(json_object_get(s, "repeat"), "failures");
	cr_assert_eq(json_array_size(failures), 3);
	for (size_t k = 0; k < 3; k++)
		cr_assert_str_eq(json_string_value(json_array_get(failures, k)),
				 "survival (killed by SIGUSR1)");
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* A window tied to one actor's calls is exact: its journal must not
 * change, and when it does (here: the run's length decides how many calls
 * the target makes after SIGUSR2) that is FLAKY. */
Test(verify, repeat_flaky_when_an_exact_journal_changes, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/exact.lua", e.dir);
	tu_write(path,
		 "return { name = 'exact: close faults after the 10th call',\n"
		 "  target = { cmd = { 'build/tests/targets/dies', '--mode', 'churn' },\n"
		 "             ready = { stdout = 'READY' } },\n"
		 "  run = function(t)\n"
		 "    t:fault('posix/io/oc/close', { p = 0.5, actors = '0',\n"
		 "      after = { point = 'posix/io/oc/close', calls = 10, actor = '0' } })\n"
		 "    t:signal('USR2'); t:sleep(0.3); t:stop() end }\n");
	const char *args[] = {"--repeat", "3", path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "exact:");
	cr_assert(json_is_true(json_object_get(s, "exact")), "%s", out);
	cr_assert_str_eq(tu_str(s, "verdict"), "FLAKY", "%s", tu_str(s, "message"));
	cr_assert(strstr(tu_str(s, "message"), "flaky over 3 runs: PASS x3; "),
		  "%s", tu_str(s, "message"));
	cr_assert(strstr(tu_str(s, "message"), " different fault journals"),
		  "%s", tu_str(s, "message"));
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Runs a command of faultline; its exit status, its output in *out. */
static int tool(tu_env *e, char **out, const char *a, const char *b,
		const char *c, const char *d, const char *f)
{
	char *argv[] = {"faultline", (char *)a, (char *)b, (char *)c, (char *)d,
			(char *)f, NULL};
	return tu_run(argv, e->tmp, out, 120);
}

Test(verify, replay_and_shrink_check_the_failure_itself, .timeout = 300)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	dies_setup(&e, path, sizeof path, "exit3");
	const char *args[] = {path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	free(out);
	char journal[PATH_MAX + 64], min[PATH_MAX + 64];
	snprintf(journal, sizeof journal, "%s/latest/journal-1.json", e.reports);
	snprintf(min, sizeof min, "%s/min.json", e.dir);

	/* The same faults, the same death. */
	status = tool(&e, &out, "replay", "--no-report", journal, NULL, NULL);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "fired set equals the recorded set: digest "), "%s", out);
	cr_assert(strstr(out, "0 recorded did not fire, 0 fired were not recorded"),
		  "%s", out);
	cr_assert(strstr(out, "failure survival (exit status 3) (recorded survival "
			      "(exit status 3)): the same"),
		  "%s", out);
	free(out);

	/* The same faults and the same verdict, another death: not the
	 * recorded failure. */
	setenv("FL_DIES_MODE", "usr1", 1);
	status = tool(&e, &out, "replay", "--no-report", journal, NULL, NULL);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "verdict FAIL (recorded FAIL)"), "%s", out);
	cr_assert(strstr(out, "failure survival (killed by SIGUSR1) (recorded "
			      "survival (exit status 3)): differs"),
		  "%s", out);
	free(out);
	/* Shrink will not search for a failure the replays do not bring. */
	status = tool(&e, &out, "shrink", "-o", min, journal, NULL);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "not reproducible: 0 of 3 replays of the 1 recorded "
			      "faults failed 'survival' the same way as the "
			      "recorded run did (survival (exit status 3))"),
		  "%s", out);
	cr_assert_eq(tu_count(out, "survival (killed by SIGUSR1)"), 3, "%s", out);
	cr_assert_neq(access(min, F_OK), 0, "no answer may be written");
	free(out);
	/* Nor one that comes and goes. */
	setenv("FL_DIES_MODE", "alternate", 1);
	status = tool(&e, &out, "shrink", "-o", min, journal, NULL);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "not reproducible: 2 of 3 replays"), "%s", out);
	cr_assert_neq(access(min, F_OK), 0, "no answer may be written");
	free(out);

	/* The recorded failure, verified, then the answer, verified. */
	setenv("FL_DIES_MODE", "exit3", 1);
	status = tool(&e, &out, "shrink", "-o", min, journal, NULL);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "the recorded faults fail 'survival' in each of 3 "
			      "replays: survival (exit status 3)"),
		  "%s", out);
	cr_assert(strstr(out, "1 of 1 faults still fail 'survival' the same way "
			      "(0 replays, the answer verified by 3 more)"),
		  "%s", out);
	free(out);
	status = tool(&e, &out, "replay", "--no-report", min, NULL, NULL);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	free(out);
	tu_env_free(&e);
}

/* A run that cannot write its results file exits 3 whatever its verdicts
 * (a FAIL here: 1 would send a CI on to merge results that do not
 * exist), says why, and leaves `latest` where it was. results.json is
 * made unwritable by a directory of that name in every run directory
 * the run may get (its id is the time and faultline's pid, known once
 * forked). */
Test(verify, no_results_file_exits_3_and_latest_stays, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	dies_setup(&e, path, sizeof path, "exit3");
	const char *args[] = {path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 100);
	cr_assert_eq(status, 1, "%s", out);
	free(out);
	char latest[PATH_MAX + 32], before[PATH_MAX], after[PATH_MAX];
	snprintf(latest, sizeof latest, "%s/latest", e.reports);
	ssize_t n = readlink(latest, before, sizeof before - 1);
	cr_assert_gt(n, 0);
	before[n] = '\0';

	int go[2], pfd[2];
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		setenv("TMPDIR", e.tmp, 1);
		setenv("NO_COLOR", "1", 1);
		execl(tu_bin(), tu_bin(), "run", "--report-dir", e.reports, path,
		      (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	close(pfd[1]);
	time_t now = time(NULL);
	for (int s = 0; s < 60; s++) {
		time_t t = now + s;
		struct tm tm;
		gmtime_r(&t, &tm);
		char stamp[32], dir[PATH_MAX + 128];
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(dir, sizeof dir, "%s/%s-%d", e.reports, stamp, (int)pid);
		mkdir(dir, 0755);
		strcat(dir, "/results.json");
		mkdir(dir, 0755);
	}
	cr_assert_eq(write(go[1], "x", 1), 1);
	close(go[1]);
	status = tu_finish((tu_proc){pid, pfd[0]}, &out, 100);
	cr_assert_eq(status, 3, "a FAIL without its results file exits 3:\n%s", out);
	cr_assert(strstr(out, "FAIL   dies:"), "%s", out);
	cr_assert(strstr(out, "results.json: Is a directory"), "%s", out);
	cr_assert(strstr(out, "faultline: the run's results could not be written"),
		  "%s", out);
	n = readlink(latest, after, sizeof after - 1);
	cr_assert_gt(n, 0);
	after[n] = '\0';
	cr_assert_str_eq(after, before, "latest moved to a run without results");
	free(out);
	tu_env_free(&e);
}

/* A run killed before it wrote anything leaves no empty run directory:
 * the guardian removes it, and only when it is empty. */
Test(verify, killed_run_leaves_no_empty_directory, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/long.lua", e.dir);
	tu_write(path,
		 "return { name = 'long: sleeps', target = { cmd = {\n"
		 "  'build/tests/targets/tgt', '--port', '{port}' },\n"
		 "  ready = { port = '{port}' } },\n"
		 "  run = function(t) print('sleeping'); t:sleep(60) end }\n");
	char *argv[] = {"faultline", "run", "-v", "--report-dir", e.reports, path, NULL};
	tu_proc pr = tu_start(argv, e.tmp);
	/* Wait until the scenario runs (its log line): the run directory
	 * exists by then. */
	char buf[4096] = "";
	size_t len = 0;
	double deadline = tu_now() + 60;
	while (tu_now() < deadline && !strstr(buf, "sleeping")) {
		struct pollfd p = {pr.out_fd, POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t got = read(pr.out_fd, buf + len, sizeof buf - len - 1);
		if (got <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
	}
	cr_assert(strstr(buf, "sleeping"), "the scenario never started:\n%s", buf);
	cr_assert_eq(tu_count_entries(e.reports), 1, "the run directory exists");
	kill(pr.pid, SIGKILL);
	char *out;
	tu_finish(pr, &out, 30);
	free(out);
	/* The guardian notices faultline is gone. */
	deadline = tu_now() + 30;
	while (tu_count_entries(e.reports) > 0 && tu_now() < deadline)
		usleep(20000);
	cr_assert_eq(tu_count_entries(e.reports), 0, "an empty run directory stayed");
	tu_env_free(&e);
}
