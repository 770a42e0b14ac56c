/* faultline under its own faults: bin/faultline run under libfiu's
 * fiu-run, with its malloc, calloc and realloc, its writes or its opens
 * failing at random (FIU_PRNG_SEED makes each run repeatable), on a suite
 * of one scenario that passes and one that always fails. Whatever breaks,
 * what faultline reports must not mislead:
 *   - it never exits 0: a suite with a FAIL in it did not pass;
 *   - an exit of 0 or 1 comes with a complete results file (parsed, of
 *     the schema, every scenario with a verdict, its summary's status the
 *     exit status), and `latest` points at that run;
 *   - an exit of 3 says why on a "faultline:" line;
 *   - an exit of 2 comes with complete results (a scenario ended in
 *     ERROR) or a "faultline:" line (the run could not start);
 *   - a death by a signal is a failure unless faultline said why first
 *     (the out-of-memory policy: "faultline: out of memory", then abort);
 *   - a hang is a failure (its threads' stacks are in the message).
 * FL_TORTURE_RUNS sets the number of runs (make check: 24; make torture:
 * 300); run i fails kind i mod 3 with FIU_PRNG_SEED i + 1. */
#include "testutil.h"

static const char pass_lua[] =
	"return { name = 'torture: passes',\n"
	"  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
	"             ready = { port = '{port}' } },\n"
	"  run = function(t) t:settle(0.1); t:check(true, 'fine') end }\n";

static const char fail_lua[] =
	"return { name = 'torture: always fails',\n"
	"  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
	"             ready = { port = '{port}' } },\n"
	"  run = function(t) t:settle(0.1); t:check(false, 'fails on purpose') end }\n";

static const struct {
	const char *what;
	const char *enable[3];
	double p[3];
} kinds[] = {
	{"malloc", {"libc/mm/malloc", "libc/mm/calloc", "libc/mm/realloc"},
	 {0.0005, 0.002, 0.01}},
	{"write", {"posix/io/rw/write", "posix/io/rw/writev", NULL}, {0.005, 0.02, 0.05}},
	{"open", {"posix/io/oc/open", NULL, NULL}, {0.02, 0.1, 0.3}},
};

/* Is the results file complete? NULL if so, else why not. */
static const char *incomplete(const char *path, int status, char *why,
			      size_t len)
{
	json_error_t e;
	json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &e);
	if (!doc) {
		snprintf(why, len, "%s: %s", path, e.text);
		return why;
	}
	const char *bad = NULL;
	json_t *sc = json_object_get(doc, "scenarios");
	json_t *sum = json_object_get(doc, "summary");
	if (strcmp(tu_str(doc, "schema"), "faultline.results"))
		bad = "no schema";
	else if (json_array_size(sc) != 2)
		bad = "not both scenarios";
	else if (!json_is_integer(json_object_get(sum, "exit_status")) ||
		 json_integer_value(json_object_get(sum, "exit_status")) != status)
		bad = "its summary's exit status is not the exit status";
	size_t i;
	json_t *s;
	json_array_foreach(sc, i, s)
	{
		const char *v = tu_str(s, "verdict");
		if (strcmp(v, "PASS") && strcmp(v, "FAIL") && strcmp(v, "ERROR"))
			bad = "a scenario without a verdict";
	}
	if (bad)
		snprintf(why, len, "%s: %s", path, bad);
	json_decref(doc);
	return bad ? why : NULL;
}

/* The threads' stacks of a process, by gdb (a make deps package). */
static char *stacks_of(pid_t pid)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd,
		 "gdb -p %d -batch -ex 'thread apply all bt' 2>/dev/null | grep '^#'",
		 (int)pid);
	FILE *f = popen(cmd, "r");
	if (!f)
		return strdup("(gdb did not run)");
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 >= cap)
			break;
	}
	buf[len] = '\0';
	pclose(f);
	return buf;
}

Test(torture, faultline_under_its_own_faults, .timeout = 1800)
{
	cr_assert_eq(access("/usr/bin/fiu-run", X_OK), 0,
		     "fiu-run is missing: make deps installs fiu-utils");
	const char *env_runs = getenv("FL_TORTURE_RUNS");
	int runs = env_runs && atoi(env_runs) > 0 ? atoi(env_runs) : 24;
	tu_env e = tu_env_new();
	char suite[PATH_MAX + 32], path[PATH_MAX + 64];
	snprintf(suite, sizeof suite, "%s/suite", e.dir);
	mkdir(suite, 0755);
	snprintf(path, sizeof path, "%s/pass.lua", suite);
	tu_write(path, pass_lua);
	snprintf(path, sizeof path, "%s/fail.lua", suite);
	tu_write(path, fail_lua);
	int by_status[256] = {0}, aborted = 0;
	for (int i = 0; i < runs; i++) {
		int k = i % 3;
		double p = kinds[k].p[(i / 3) % 3];
		char reports[PATH_MAX + 64], json[PATH_MAX + 64], seed[32];
		snprintf(reports, sizeof reports, "%s/r%d", e.dir, i);
		snprintf(json, sizeof json, "%s/r%d.json", e.dir, i);
		snprintf(seed, sizeof seed, "%d", i + 1);
		setenv("FIU_PRNG_SEED", seed, 1);
		char c[3][128];
		char *argv[24];
		int n = 0;
		argv[n++] = "fiu-run";
		argv[n++] = "-x";
		argv[n++] = "-f";
		argv[n++] = "";
		for (int j = 0; j < 3 && kinds[k].enable[j]; j++) {
			snprintf(c[j], sizeof c[j], "enable_random name=%s,probability=%g",
				 kinds[k].enable[j], p);
			argv[n++] = "-c";
			argv[n++] = c[j];
		}
		argv[n++] = (char *)tu_bin();
		argv[n++] = "run";
		argv[n++] = "--report-dir";
		argv[n++] = reports;
		argv[n++] = "--json";
		argv[n++] = json;
		argv[n++] = suite;
		argv[n] = NULL;
		/* tu_start runs argv[0] as bin/faultline: run fiu-run by hand. */
		int pfd[2];
		cr_assert_eq(pipe(pfd), 0);
		pid_t pid = fork();
		if (pid == 0) {
			dup2(pfd[1], 1);
			dup2(pfd[1], 2);
			close(pfd[0]);
			close(pfd[1]);
			setenv("TMPDIR", e.tmp, 1);
			setenv("NO_COLOR", "1", 1);
			execv("/usr/bin/fiu-run", argv);
			_exit(127);
		}
		close(pfd[1]);
		/* Its output, until it ends or 60 s pass (a run takes about 1 s
		 * on an idle machine). */
		size_t cap = 65536, len = 0;
		char *out = malloc(cap);
		double deadline = tu_now() + 60;
		int hung = 0;
		for (;;) {
			double now = tu_now();
			if (now >= deadline) {
				hung = 1;
				break;
			}
			double left = deadline - now;
			struct pollfd pfdw = {pfd[0], POLLIN, 0};
			if (poll(&pfdw, 1, (int)(left * 1000) + 1) <= 0)
				continue;
			if (len + 4096 > cap)
				out = realloc(out, cap *= 2);
			ssize_t got = read(pfd[0], out + len, cap - len - 1);
			if (got <= 0)
				break;
			len += (size_t)got;
		}
		out[len] = '\0';
		unsetenv("FIU_PRNG_SEED");
		if (hung) {
			char *stacks = stacks_of(pid);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pfd[0]);
			cr_assert_fail("run %d (%s faults, p=%g, seed %s) hangs:\n%s\n%s",
				       i, kinds[k].what, p, seed, stacks, out);
		}
		close(pfd[0]);
		int wstatus;
		waitpid(pid, &wstatus, 0);
		int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
						: 128 + WTERMSIG(wstatus);
		by_status[status & 255]++;
		const char *label = kinds[k].what;
		/* The suite holds a FAIL: exit 0 is never right. */
		cr_assert_neq(status, 0, "run %d (%s faults, p=%g, seed %s) exited 0:\n%s",
			      i, label, p, seed, out);
		char why[PATH_MAX + 128];
		if (status == 1) {
			const char *bad = incomplete(json, status, why, sizeof why);
			cr_assert_null(bad, "run %d (%s, p=%g, seed %s) exited 1 with %s:\n%s",
				       i, label, p, seed, bad, out);
			char latest[PATH_MAX + 64];
			snprintf(latest, sizeof latest, "%s/latest/results.json", reports);
			bad = incomplete(latest, status, why, sizeof why);
			cr_assert_null(bad, "run %d (%s, p=%g, seed %s): latest: %s:\n%s", i,
				       label, p, seed, bad, out);
		}
		if (status == 3)
			cr_assert(strstr(out, "faultline: "),
				  "run %d (%s, p=%g, seed %s) exited 3 without a reason:\n%s",
				  i, label, p, seed, out);
		/* 2: a scenario ended in ERROR, whose results are complete, or
		 * faultline could not start the run and said why. */
		if (status == 2 && !strstr(out, "faultline: ")) {
			const char *bad = incomplete(json, status, why, sizeof why);
			cr_assert_null(bad, "run %d (%s, p=%g, seed %s) exited 2 with %s:\n%s",
				       i, label, p, seed, bad, out);
		}
		if (status >= 128) {
			/* Only the out-of-memory policy may end faultline by a
			 * signal, and only after it said so. */
			aborted++;
			cr_assert(status == 128 + SIGABRT &&
					  strstr(out, "faultline: out of memory"),
				  "run %d (%s, p=%g, seed %s) died by signal %d without "
				  "saying why:\n%s",
				  i, label, p, seed, status - 128, out);
		}
		free(out);
	}
	cr_log_info("%d runs: exit 1 x%d, 2 x%d, 3 x%d, out of memory x%d", runs,
		    by_status[1], by_status[2], by_status[3], aborted);
	printf("torture: %d runs: exit 1 x%d, 2 x%d, 3 x%d, out of memory x%d\n",
	       runs, by_status[1], by_status[2], by_status[3], aborted);
	tu_env_free(&e);
}
