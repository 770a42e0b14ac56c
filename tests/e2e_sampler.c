/* How faultline samples, end to end: FAULTLINE_SAMPLER=procfs, bpf and
 * auto give the same figures to a scenario (37 more fds, 5 more threads
 * and 16 MiB more, exactly), the results say which method read them, and
 * a value faultline does not know stops the run before it starts. */
#include "testutil.h"

static const char scenario[] =
	"local tgt = 'build/tests/targets/tgt'\n"
	"return { name = 'sampler', target = { cmd = { tgt, '--port', '{port}' },\n"
	"    ready = { stdout = 'READY' } },\n"
	"  run = function(t)\n"
	"    t:settle(0.2)\n"
	"    local b = t:baseline()\n"
	"    t:tcp('LEAKFD 37\\n')\n"
	"    t:tcp('THREADS 5 w\\n')\n"
	"    t:tcp('ALLOC 16\\n')\n"
	"    local seen\n"
	"    local ok = t:wait_until(function(s)\n"
	"      seen = s\n"
	"      return s.fds - b.fds == 37 and s.threads - b.threads == 5\n"
	"        and s.rss - b.rss >= 16 * 1048576\n"
	"    end, 30)\n"
	"    t:check(ok, string.format('fds +%d threads +%d rss +%d',\n"
	"      seen.fds - b.fds, seen.threads - b.threads, seen.rss - b.rss))\n"
	"    t:tcp('CLOSEFD\\n')\n"
	"    t:tcp('FREE\\n')\n"
	"    t:stop()\n"
	"  end }\n";

static json_t *sampling_of(json_t *doc)
{
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	json_t *tg = json_array_get(json_object_get(s, "targets"), 0);
	return json_object_get(tg, "sampling");
}

static json_t *run_with(const char *mode, int *status, char **out)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/s.lua", e.dir);
	tu_write(path, scenario);
	setenv("FAULTLINE_SAMPLER", mode, 1);
	const char *args[] = {path, NULL};
	*status = tu_env_run(&e, args, out, 90);
	unsetenv("FAULTLINE_SAMPLER");
	json_t *doc = *status == 0 || *status == 1 ? tu_latest(&e) : NULL;
	tu_env_free(&e);
	return doc;
}

static int bpf_possible(void)
{
	return geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

Test(sampler, procfs_reads_proc, .timeout = 120)
{
	int status;
	char *out;
	json_t *doc = run_with("procfs", &status, &out);
	cr_assert_eq(status, 0, "%s", out);
	json_t *sm = sampling_of(doc);
	cr_assert_str_eq(tu_str(sm, "method"), "procfs");
	cr_assert(json_is_null(json_object_get(sm, "bpf_from_s")));
	cr_assert_gt(tu_num(sm, "samples"), 10);
	json_decref(doc);
	free(out);
}

Test(sampler, bpf_reads_the_same_figures, .timeout = 120)
{
	if (!bpf_possible())
		cr_skip_test("BPF sampling needs root and /sys/kernel/btf/vmlinux");
	int status;
	char *out;
	json_t *doc = run_with("bpf", &status, &out);
	cr_assert_eq(status, 0, "%s", out);
	json_t *sm = sampling_of(doc);
	cr_assert_str_eq(tu_str(sm, "method"), "bpf");
	cr_assert(json_is_number(json_object_get(sm, "bpf_from_s")));
	cr_assert_geq(tu_num(sm, "bpf_from_s"), 0);
	json_decref(doc);
	free(out);
}

/* Auto loads the program on its own thread once the monitor has sampled
 * for 250 ms: the figures are the same whichever read them, and BPF never
 * read a sample before then. */
Test(sampler, auto_takes_over_after_a_quarter_second, .timeout = 120)
{
	int status;
	char *out;
	json_t *doc = run_with("auto", &status, &out);
	cr_assert_eq(status, 0, "%s", out);
	json_t *sm = sampling_of(doc);
	const char *m = tu_str(sm, "method");
	cr_assert(!strcmp(m, "bpf") || !strcmp(m, "procfs"), "method %s", m);
	if (!strcmp(m, "bpf"))
		cr_assert_geq(tu_num(sm, "bpf_from_s"), 0.25);
	else
		cr_assert(json_is_null(json_object_get(sm, "bpf_from_s")));
	json_decref(doc);
	free(out);
}

Test(sampler, an_unknown_sampler_stops_the_run, .timeout = 60)
{
	int status;
	char *out;
	json_t *doc = run_with("proc", &status, &out);
	cr_assert_null(doc);
	cr_assert_eq(status, 3, "status %d: %s", status, out);
	cr_assert(strstr(out, "FAULTLINE_SAMPLER='proc': expected auto, bpf or "
			      "procfs"),
		  "%s", out);
	free(out);
}

/* The sanitized binary loads and runs the program too, at the start
 * (bpf) and on the monitor's loader thread, which forks its calibration
 * child beside the running threads (auto); any report of the sanitizers
 * fails the run. */
Test(sampler, the_sanitized_binary_samples_both_ways, .timeout = 240)
{
	setenv("FL_TEST_ASAN", "1", 1);
	const char *modes[] = {"bpf", "auto"};
	for (size_t i = 0; i < 2; i++) {
		if (!strcmp(modes[i], "bpf") && !bpf_possible())
			continue;
		int status;
		char *out;
		json_t *doc = run_with(modes[i], &status, &out);
		cr_assert_eq(status, 0, "%s: %s", modes[i], out);
		cr_assert_null(strstr(out, "Sanitizer"), "%s", out);
		json_t *sm = sampling_of(doc);
		if (!strcmp(modes[i], "bpf"))
			cr_assert_str_eq(tu_str(sm, "method"), "bpf");
		json_decref(doc);
		free(out);
	}
	unsetenv("FL_TEST_ASAN");
}

/* A sampler that cannot load: FAULTLINE_SAMPLER=bpf does not start and
 * says why; auto samples through /proc, and the results give the reason
 * once the load was tried (it may still be on its way when a short
 * scenario ends: then there is none yet). */
Test(sampler, a_sampler_that_cannot_load_says_why, .timeout = 120)
{
	setenv("FL_TEST_BPFS_FAIL", "1", 1);
	int status;
	char *out;
	json_t *doc = run_with("bpf", &status, &out);
	cr_assert_null(doc);
	cr_assert_eq(status, 3, "status %d: %s", status, out);
	cr_assert(strstr(out, "FAULTLINE_SAMPLER=bpf, but the BPF sampler "
			      "cannot load: FL_TEST_BPFS_FAIL is set"),
		  "%s", out);
	free(out);
	doc = run_with("auto", &status, &out);
	cr_assert_eq(status, 0, "%s", out);
	json_t *sm = sampling_of(doc);
	cr_assert_str_eq(tu_str(sm, "method"), "procfs");
	json_t *why = json_object_get(sm, "bpf_error");
	cr_assert(json_is_null(why) ||
			  !strcmp(json_string_value(why),
				  "FL_TEST_BPFS_FAIL is set"),
		  "bpf_error %s", json_dumps(why, JSON_ENCODE_ANY));
	json_decref(doc);
	free(out);
	unsetenv("FL_TEST_BPFS_FAIL");
}
