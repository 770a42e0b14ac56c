/* End-to-end: the shipped scenarios of the runtime-based fixtures, run by
 * the real bin/faultline under libfiu. Each test checks the verdicts (the
 * fixed mode passes, the leaky mode is an expected failure) and the kind
 * and the count of what leaked, from results.json. The counts asserted are
 * well below what a run measures (see fixtures/README.md), so a loaded
 * machine does not fail them, yet far above what the fixed mode leaks.
 * Last, each fixture's fixed mode runs under valgrind and must release
 * every byte and fd at SIGTERM. */
#include "testutil.h"

struct env {
	char *dir;
	char reports[PATH_MAX];
	char tmp[PATH_MAX];
	json_t *doc;
};

static struct env run_scenarios(const char *const *paths, double timeout)
{
	struct env e;
	e.dir = tu_tempdir();
	snprintf(e.reports, sizeof e.reports, "%s/reports", e.dir);
	snprintf(e.tmp, sizeof e.tmp, "%s/tmp", e.dir);
	mkdir(e.tmp, 0700);
	char *argv[16];
	int n = 0;
	argv[n++] = "faultline";
	argv[n++] = "run";
	argv[n++] = "--report-dir";
	argv[n++] = e.reports;
	for (int i = 0; paths[i] && n < 15; i++)
		argv[n++] = (char *)paths[i];
	argv[n] = NULL;
	char *out;
	int status = tu_run(argv, e.tmp, &out, timeout);
	cr_assert_eq(status, 0, "faultline exit %d:\n%s", status, out);
	free(out);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/latest/results.json", e.reports);
	e.doc = tu_load_json(path);
	return e;
}

static void env_free(struct env *e)
{
	json_decref(e->doc);
	/* Whatever a fixture made under the run's TMPDIR went with its
	 * scenario's scratch directory. */
	cr_assert_leq(tu_count_entries(e->tmp), 0, "left in TMPDIR: %d entries",
		      tu_count_entries(e->tmp));
	tu_rmrf(e->dir);
	free(e->dir);
}

static json_t *scenario(struct env *e, const char *name, const char *verdict)
{
	json_t *s = tu_scenario(e->doc, name);
	cr_assert_str_eq(tu_str(s, "verdict"), verdict, "%s: %s (%s)", name, tu_str(s, "verdict"),
			 tu_str(s, "message"));
	return s;
}

static double leak(json_t *s, const char *figure)
{
	json_t *leaks = json_object_get(s, "leaks");
	cr_assert(json_is_object(leaks), "no leaks in %s", tu_str(s, "name"));
	return tu_num(leaks, figure);
}

static json_t *exit_of(json_t *s)
{
	json_t *targets = json_object_get(s, "targets");
	return json_object_get(json_array_get(targets, json_array_size(targets) - 1), "exit");
}

/* The first group of a forensics list, or NULL. */
static json_t *first_group(json_t *s, const char *list)
{
	json_t *f = json_object_get(s, "forensics");
	return json_array_get(json_object_get(f, list), 0);
}

static const char *message(json_t *s)
{
	return tu_str(s, "message");
}

Test(fixtures, chanworker_leaks_blocked_workers, .timeout = 120)
{
	const char *paths[] = { "scenarios/threads/chanworker_block_fixed.lua",
				"scenarios/threads/chanworker_block_leaky.lua", NULL };
	struct env e = run_scenarios(paths, 100);
	json_t *fixed = scenario(&e, "chanworker fixed", "PASS");
	cr_assert_leq(leak(fixed, "threads"), 0);
	cr_assert_eq(tu_num(exit_of(fixed), "code"), 0);
	json_t *leaky = scenario(&e, "chanworker leaky", "XFAIL");
	double threads = leak(leaky, "threads");
	/* 20 % of 100 requests a second for 2 s: about 40. */
	cr_assert_geq(threads, 15, "leaked %g threads", threads);
	cr_assert_leq(threads, 120, "leaked %g threads", threads);
	cr_assert(strstr(message(leaky), "x worker-* (in futex)") != NULL, "%s", message(leaky));
	json_t *group = first_group(leaky, "thread_groups");
	cr_assert_str_eq(tu_str(group, "pattern"), "worker-* (in futex)");
	cr_assert_eq(tu_num(group, "count"), threads);
	/* Each blocked worker pins its 64 KiB buffer. */
	cr_assert_gt(leak(leaky, "rss"), threads * 64 * 1024 * 0.8);
	env_free(&e);
}

Test(fixtures, connpool_leaks_sockets, .timeout = 120)
{
	const char *paths[] = { "scenarios/fd/connpool_netfail_fixed.lua",
				"scenarios/fd/connpool_netfail_leaky.lua", NULL };
	struct env e = run_scenarios(paths, 100);
	json_t *fixed = scenario(&e, "connpool fixed", "PASS");
	cr_assert_leq(leak(fixed, "fds"), 0);
	json_t *leaky = scenario(&e, "connpool leaky", "XFAIL");
	double fds = leak(leaky, "fds");
	/* 200 calls a second for 2 s, 30 % of connects and 10 % of sends
	 * failing: well over a hundred. */
	cr_assert_geq(fds, 60, "leaked %g fds", fds);
	json_t *group = first_group(leaky, "fd_groups");
	cr_assert_str_eq(tu_str(group, "pattern"), "socket", "%s", message(leaky));
	cr_assert_eq(tu_num(group, "count"), fds);
	env_free(&e);
}

Test(fixtures, deferpanic_leaks_leases_and_inputs, .timeout = 120)
{
	const char *paths[] = { "scenarios/fd/deferpanic_audit_fixed.lua",
				"scenarios/fd/deferpanic_audit_leaky.lua", NULL };
	struct env e = run_scenarios(paths, 100);
	json_t *fixed = scenario(&e, "deferpanic fixed", "PASS");
	cr_assert_leq(leak(fixed, "fds"), 0);
	json_t *leaky = scenario(&e, "deferpanic leaky", "XFAIL");
	double fds = leak(leaky, "fds");
	/* 30 % of 100 jobs a second for 2 s, two fds each: about 120. */
	cr_assert_geq(fds, 40, "leaked %g fds", fds);
	json_t *groups = json_object_get(json_object_get(leaky, "forensics"), "fd_groups");
	cr_assert_eq(json_array_size(groups), 2u, "%s", message(leaky));
	double inputs = 0, leases = 0;
	for (size_t i = 0; i < 2; i++) {
		json_t *g = json_array_get(groups, i);
		const char *pattern = tu_str(g, "pattern");
		if (strstr(pattern, "/input.txt"))
			inputs = tu_num(g, "count");
		if (strstr(pattern, "/job-*.lock"))
			leases = tu_num(g, "count");
	}
	/* One input and one lease per panicking audit, no more. */
	cr_assert_gt(leases, 0, "%s", message(leaky));
	cr_assert_eq(inputs, leases, "%s", message(leaky));
	env_free(&e);
}

Test(fixtures, fatalexit_leaves_its_files, .timeout = 120)
{
	const char *paths[] = { "scenarios/files/fatalexit_write_fixed.lua",
				"scenarios/files/fatalexit_write_leaky.lua", NULL };
	struct env e = run_scenarios(paths, 100);
	json_t *fixed = scenario(&e, "fatalexit fixed", "PASS");
	cr_assert_leq(leak(fixed, "files"), 0);
	cr_assert_eq(tu_num(exit_of(fixed), "code"), 0);
	json_t *leaky = scenario(&e, "fatalexit leaky", "XFAIL");
	cr_assert_eq(tu_num(exit_of(leaky), "code"), 1, "the leaky mode did not exit(1)");
	/* Exactly the 8 files of the job that hit the error. */
	cr_assert(strstr(message(leaky), "leaked 8 files") != NULL, "%s", message(leaky));
	json_t *f = json_object_get(leaky, "forensics");
	cr_assert_eq(tu_num(f, "new_file_count"), 8);
	json_t *group = first_group(leaky, "file_groups");
	cr_assert(strstr(tu_str(group, "pattern"), "{tmpdir}/spool/job-") != NULL);
	env_free(&e);
}

Test(fixtures, cachegrow_grows_rss_and_trips_the_oom_precursor, .timeout = 150)
{
	const char *paths[] = { "scenarios/mem/cachegrow_rss_fixed.lua",
				"scenarios/mem/cachegrow_rss_leaky.lua",
				"scenarios/mem/cachegrow_oom_fixed.lua",
				"scenarios/mem/cachegrow_oom_leaky.lua", NULL };
	struct env e = run_scenarios(paths, 140);
	const double mib = 1024 * 1024;
	json_t *fixed = scenario(&e, "cachegrow fixed keeps", "PASS");
	cr_assert_lt(leak(fixed, "rss"), 4 * mib);
	json_t *leaky = scenario(&e, "cachegrow leaky grows", "XFAIL");
	/* 500 new 16 KiB values a second for about 2.5 s: some 20 MiB. */
	cr_assert_gt(leak(leaky, "rss"), 10 * mib, "%s", message(leaky));
	json_t *flat = scenario(&e, "cachegrow fixed stays flat", "PASS");
	cr_assert(json_is_null(json_object_get(flat, "oom_precursor")),
		  "the OOM precursor fired for the bounded cache");
	json_t *climb = scenario(&e, "cachegrow leaky climbs", "XFAIL");
	cr_assert(strstr(message(climb), "rss grows") != NULL, "%s", message(climb));
	json_t *oom = json_object_get(climb, "oom_precursor");
	cr_assert(json_is_object(oom), "no OOM-precursor dump");
	cr_assert_geq(tu_num(oom, "rss"), 96 * mib);
	cr_assert_gt(tu_num(oom, "fd_count"), 0);
	cr_assert_gt(json_array_size(json_object_get(oom, "threads")), 0u);
	cr_assert(strstr(tu_str(oom, "smaps_rollup"), "Rss:") != NULL);
	env_free(&e);
}

Test(fixtures, allocfail_loses_memory_or_crashes, .timeout = 120)
{
	const char *paths[] = { "scenarios/mem/allocfail_malloc_fixed.lua",
				"scenarios/mem/allocfail_malloc_leaky.lua",
				"scenarios/mem/allocfail_null_leaky.lua", NULL };
	struct env e = run_scenarios(paths, 100);
	const double mib = 1024 * 1024;
	json_t *fixed = scenario(&e, "allocfail fixed", "PASS");
	cr_assert_lt(leak(fixed, "rss"), 4 * mib);
	json_t *leaky = scenario(&e, "allocfail leaky loses", "XFAIL");
	/* About 25 payloads of 256 KiB a second for 2 s: some 12 MiB. */
	cr_assert_gt(leak(leaky, "rss"), 6 * mib, "%s", message(leaky));
	json_t *crash = scenario(&e, "allocfail leaky crashes", "XFAIL");
	cr_assert_str_eq(tu_str(exit_of(crash), "signal"), "SIGSEGV");
	env_free(&e);
}

/* Starts argv with stdout and stderr merged into a pipe and no other fd
 * inherited (so valgrind's fd report lists only what the program opened). */
static tu_proc start_program(char *const argv[])
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		close_range(3, ~0u, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	return (tu_proc){ pid, p[0] };
}

/* Reads the output until a line contains text (within timeout_s); keeps
 * what was read in buf. */
static int wait_for_line(int fd, const char *text, char *buf, size_t cap, double timeout_s)
{
	size_t len = 0;
	double deadline = tu_now() + timeout_s;
	while (tu_now() < deadline && len + 1 < cap) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, text))
			return 1;
	}
	return 0;
}

/* Every fixture in fixed mode, under valgrind, answers SIGTERM with exit
 * status 0 having released everything: no memory error, no definite leak
 * (either would be exit status 9), and no fd left open but the three
 * standard ones. */
Test(fixtures, fixed_modes_release_everything_at_sigterm, .timeout = 240)
{
	char *dir = tu_tempdir();
	char spool[PATH_MAX + 16];
	snprintf(spool, sizeof spool, "%s/spool", dir);
	struct {
		const char *name;
		const char *extra[3];
	} fixtures[] = {
		{ "chanworker", { NULL } },	    { "connpool", { NULL } },
		{ "deferpanic", { "--dir", dir } }, { "fatalexit", { "--dir", spool } },
		{ "cachegrow", { NULL } },	    { "allocfail", { NULL } },
	};
	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
		char bin[64];
		snprintf(bin, sizeof bin, "fixtures/bin/%s", fixtures[i].name);
		char *argv[16] = { "valgrind", "-q", "--error-exitcode=9", "--leak-check=full",
				   "--errors-for-leak-kinds=definite", "--track-fds=yes", bin,
				   "--mode", "fixed", "--port", "0" };
		int n = 11;
		for (int k = 0; fixtures[i].extra[k]; k++)
			argv[n++] = (char *)fixtures[i].extra[k];
		argv[n] = NULL;
		tu_proc pr = start_program(argv);
		char head[4096];
		cr_assert(wait_for_line(pr.out_fd, "READY", head, sizeof head, 60),
			  "%s never became ready: %s", bin, head);
		usleep(1000000);
		kill(pr.pid, SIGTERM);
		char *out;
		int status = tu_finish(pr, &out, 60);
		cr_assert_eq(status, 0, "%s: exit %d:\n%s", bin, status, out);
		cr_assert(strstr(out, "BYE ") != NULL, "%s: %s", bin, out);
		/* No fd was inherited, so valgrind lists only fds the fixture
		 * itself left open (and nothing when only 0, 1 and 2 are). */
		cr_assert_null(strstr(out, "Open file descriptor"), "%s kept fds open:\n%s", bin,
			       out);
		free(out);
	}
	/* deferpanic removed its work directory; fatalexit's spool is empty. */
	cr_assert_eq(tu_count_entries(spool), 0);
	cr_assert_eq(tu_count_entries(dir), 1, "left in %s", dir);
	tu_rmrf(dir);
	free(dir);
}
