/* `faultline points [TARGET]`: without a target, every point a scenario
 * may name; with one, the points it declares, then each point its calls
 * reach (with the functions and whose wrapper), then the calls no point
 * covers; warnings (on stderr, after the list) say why faults cannot reach
 * a static, Go or private-libfiu binary, or miss a fortified call;
 * anything that is not an ELF file is exit status 2. And the points
 * faultline adds, fired in a fortified program under `faultline run`. */
#include "testutil.h"
#include "../lib/points_table.h"

#define ELF_DIR "build/tests/elf/"

static int points(const char *target, char **out)
{
	char *argv[] = { "faultline", "points", (char *)target, NULL };
	return tu_run(argv, NULL, out, 30);
}

/* The line that starts with a point's name followed by the functions
 * that reach it, or NULL. */
static const char *point_line(const char *out, const char *point)
{
	size_t len = strlen(point);
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, point, len) == 0 && p[len] == ' ')
			return p;
	return NULL;
}

/* Whether the line at line (up to its end) contains text. */
static int line_has(const char *line, const char *text)
{
	if (!line)
		return 0;
	size_t n = strcspn(line, "\n");
	const char *hit = strstr(line, text);
	return hit && hit < line + n;
}

static const char *line_starting(const char *out, const char *text)
{
	size_t len = strlen(text);
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, text, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			return p;
	return NULL;
}

Test(points, fixture_points_come_first, .timeout = 60)
{
	char *out;
	int status = points("fixtures/bin/chanworker", &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	const char *head = strstr(out, "# fixtures/bin/chanworker declares these failure points:");
	const char *own = line_starting(out, "chanworker/slow");
	const char *block = line_starting(out, "fl/chan/send/block");
	const char *dpanic = line_starting(out, "fl/defer/panic");
	const char *panic = line_starting(out, "fl/panic");
	const char *reach = strstr(out, "# Its calls reach these points");
	const char *close = point_line(out, "posix/io/oc/close");
	cr_assert(head && own && block && dpanic && panic && reach && close, "%s", out);
	cr_assert(head < own && own < block && panic < reach && reach < close,
		  "declared points after the reached ones:\n%s", out);
	cr_assert(line_has(close, "close (faultline)"), "%s", out);
	cr_assert_null(strstr(out, "warning"), "a warning for a fixture:\n%s", out);
	free(out);
}

Test(points, without_target_every_point_a_scenario_may_name, .timeout = 60)
{
	char *argv[] = { "faultline", "points", NULL };
	char *out;
	cr_assert_eq(tu_run(argv, NULL, &out, 30), 0);
	cr_assert_not_null(line_starting(out, "libc/mm/malloc"));
	cr_assert_not_null(line_starting(out, "posix/io/net/accept4"));
	cr_assert_not_null(line_starting(out, "posix/io/oc/openat"));
	cr_assert_not_null(line_starting(out, "posix/io/net/epoll_wait"));
	cr_assert_null(strstr(out, "fl/"), "%s", out);
	cr_assert_eq(tu_count(out, "\n"), (long long)FL_POINT_TABLE_LEN, "%s", out);
	free(out);
}

Test(points, static_binary_is_warned_about, .timeout = 60)
{
	struct stat st;
	if (stat(ELF_DIR "static", &st) != 0)
		cr_skip_test("no static libc to build " ELF_DIR "static with (libc6-dev)");
	char *out;
	cr_assert_eq(points(ELF_DIR "static", &out), 0);
	cr_assert(strstr(out, "warning: " ELF_DIR "static is statically linked") != NULL, "%s", out);
	cr_assert(strstr(out, "LD_PRELOAD is ignored") != NULL, "%s", out);
	free(out);
}

/* The fortified calls of a _FORTIFY_SOURCE build reach the points of
 * their plain functions: nothing to warn about. */
Test(points, fortified_calls_reach_their_points, .timeout = 60)
{
	char *out;
	cr_assert_eq(points(ELF_DIR "fortified", &out), 0);
	cr_assert(line_has(point_line(out, "posix/io/rw/read"), "__read_chk (faultline)"), "%s",
		  out);
	cr_assert(line_has(point_line(out, "posix/io/oc/open"), "__open_2 (faultline)"), "%s",
		  out);
	cr_assert_null(strstr(out, "warning"), "%s", out);
	free(out);
	cr_assert_eq(points(ELF_DIR "plain", &out), 0);
	cr_assert(line_has(point_line(out, "posix/io/rw/read"), "read (libfiu)"), "%s", out);
	cr_assert_null(strstr(out, "warning"), "%s", out);
	free(out);
}

/* A fortified call no wrapper covers is named, on its own and in the
 * warning; __memcpy_chk, no point's, never is. */
Test(points, a_fortified_call_no_wrapper_covers_is_named, .timeout = 60)
{
	char *out;
	cr_assert_eq(points(ELF_DIR "gap", &out), 0);
	cr_assert(strstr(out, "# No failure point covers these calls: faults cannot reach "
			      "them.\n#   I/O: __write_chk\n"),
		  "%s", out);
	cr_assert(strstr(out, "warning: " ELF_DIR "gap was built with _FORTIFY_SOURCE and calls "
			      "__write_chk (instead of write, point posix/io/rw/write)"),
		  "%s", out);
	cr_assert_null(strstr(out, "memcpy"), "%s", out);
	/* Its library's write() reaches the write point. */
	cr_assert(line_has(point_line(out, "posix/io/rw/write"), "write (libfiu, from libgap.so)"),
		  "%s", out);
	free(out);
}

Test(points, go_and_private_libfiu_are_warned_about, .timeout = 60)
{
	char *out;
	cr_assert_eq(points(ELF_DIR "golike", &out), 0);
	cr_assert(strstr(out, "is a Go program") != NULL, "%s", out);
	free(out);
	cr_assert_eq(points(ELF_DIR "fiustatic", &out), 0);
	cr_assert(strstr(out, "contains its own copy of libfiu") != NULL, "%s", out);
	free(out);
}

Test(points, not_an_elf_file_is_exit_2, .timeout = 60)
{
	char *out;
	cr_assert_eq(points("README.md", &out), 2);
	cr_assert(strstr(out, "README.md: not an ELF file") != NULL, "%s", out);
	free(out);
	cr_assert_eq(points("no/such/program", &out), 2);
	cr_assert(strstr(out, "No such file or directory") != NULL, "%s", out);
	free(out);
	char *argv[] = { "faultline", "points", "a", "b", NULL };
	cr_assert_eq(tu_run(argv, NULL, &out, 30), 2);
	free(out);
}

/* What a new user sees for the servers Debian ships (when installed):
 * accept4 and the other calls libfiu misses now reach points. */
Test(points, real_servers, .timeout = 60)
{
	const struct {
		const char *bin, *point, *call;
	} want[] = {
		{ "/usr/bin/redis-server", "posix/io/net/accept4", "accept4 (faultline)" },
		{ "/usr/bin/redis-server", "posix/io/net/epoll_wait", "epoll_wait (faultline)" },
		{ "/usr/bin/redis-server", "posix/stdio/sp/fprintf", "__fprintf_chk (faultline)" },
		{ "/usr/sbin/nginx", "posix/io/oc/openat", "openat64 (faultline)" },
		{ "/usr/sbin/nginx", "posix/io/net/sendfile", "sendfile64 (faultline)" },
		{ "/usr/sbin/nginx", "libc/mm/posix_memalign", "posix_memalign (faultline)" },
		{ "/usr/bin/memcached", "posix/io/net/poll", "__poll_chk (faultline)" },
		{ "/usr/bin/memcached", "posix/io/net/epoll_wait",
		  "epoll_wait (faultline, from libevent" },
	};
	int tried = 0;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct stat st;
		if (stat(want[i].bin, &st) != 0)
			continue;
		char *out;
		cr_assert_eq(points(want[i].bin, &out), 0);
		cr_assert(line_has(point_line(out, want[i].point), want[i].call), "%s: %s\n%s",
			  want[i].bin, want[i].call, out);
		cr_assert_null(strstr(out, "warning"), "%s", out);
		free(out);
		tried++;
	}
	if (!tried)
		cr_skip_test("none of redis-server, nginx, memcached is installed");
}

/* The errno number of a name from the journal ("EMFILE"). */
static int errno_of(const char *name)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && !strcmp(n, name))
			return e;
	}
	return -1;
}

static int listed(const fl_point_def *d, int e)
{
	for (int i = 0; i < FL_POINT_MAX_ERRNOS && d->errnos[i]; i++)
		if (d->errnos[i] == e)
			return 1;
	return 0;
}

/* accept4 on loopback, openat (plain and __openat_2) and __read_chk in a
 * fortified program: each window fires on exactly the calls it names, the
 * program sees those failures with the journal's errnos, and a derived
 * errno is one the table lists for the point. */
Test(points, new_points_fire_in_a_fortified_program, .timeout = 90)
{
	tu_env e = tu_env_new();
	const char *args[] = { "tests/scenarios/points/fortio.lua", NULL };
	char *out;
	int status = tu_env_run(&e, args, &out, 60);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert_null(strstr(out, "warning"), "%s", out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "points: accept4");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));

	json_t *pts = json_object_get(s, "points");
	const char *names[] = { "posix/io/net/accept4", "posix/io/oc/openat", "posix/io/rw/read" };
	for (size_t i = 0; i < 3; i++) {
		json_t *p = json_object_get(pts, names[i]);
		cr_assert_eq(tu_num(p, "calls"), 10, "%s calls", names[i]);
		cr_assert_eq(tu_num(p, "fired"), 2, "%s fired", names[i]);
	}

	json_t *j = json_object_get(s, "journal");
	cr_assert_eq(tu_num(j, "total"), 6);
	cr_assert_eq(tu_num(j, "lost"), 0);
	const struct {
		const char *point;
		long long n;
	} want[] = {
		{ "posix/io/net/accept4", 2 }, { "posix/io/oc/openat", 3 },
		{ "posix/io/oc/openat", 4 },   { "posix/io/net/accept4", 4 },
		{ "posix/io/rw/read", 5 },     { "posix/io/rw/read", 10 },
	};
	/* The program's reply lists the errnos it saw, in the order the
	 * calls failed: the journal's order in time. */
	char *logtext = json_dumps(json_object_get(s, "log"), 0);
	const char *log = logtext ? strstr(logtext, "errnos=") : NULL;
	cr_assert_not_null(log);
	int seen[6];
	cr_assert_eq(sscanf(log, "errnos=%d,%d,%d,%d,%d,%d", &seen[0], &seen[1], &seen[2],
			    &seen[3], &seen[4], &seen[5]),
		     6, "%s", log);
	json_t *recs = tu_calls(json_object_get(j, "records"));
	cr_assert_eq(json_array_size(recs), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *r = json_array_get(recs, i);
		cr_assert_str_eq(tu_str(r, "point"), want[i].point, "record %zu", i);
		cr_assert_eq((long long)tu_num(r, "n"), want[i].n, "record %zu", i);
		cr_assert_str_eq(tu_str(r, "actor"), "0");
		int err = errno_of(tu_str(r, "errno"));
		cr_assert_eq(err, seen[i], "record %zu: journal %s, program %d", i,
			     tu_str(r, "errno"), seen[i]);
		if (!strcmp(want[i].point, "posix/io/net/accept4"))
			cr_assert_eq(err, EMFILE, "the scenario's errno");
		else
			cr_assert(listed(fl_point_def_find(want[i].point), err),
				  "%s failed with %s, not one of its errnos", want[i].point,
				  tu_str(r, "errno"));
	}
	free(logtext);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Two scenarios start the same program whose fortified call no wrapper
 * covers: the run says so once, in one scenario's warnings. */
Test(points, run_warns_once_per_program, .timeout = 90)
{
	tu_env e = tu_env_new();
	const char *args[] = { "-j", "2", "tests/scenarios/points/gap_twice.lua", NULL };
	char *out;
	int status = tu_env_run(&e, args, &out, 60);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert_eq(tu_count(out, "calls __write_chk (instead of write, point "
				   "posix/io/rw/write)"),
		     1, "%s", out);
	cr_assert_null(strstr(out, "memcpy"), "%s", out);
	json_t *doc = tu_latest(&e);
	int warned = 0;
	size_t i;
	json_t *sc;
	json_array_foreach(json_object_get(doc, "scenarios"), i, sc)
	{
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(sc, "warnings"), k, w)
			warned += strstr(json_string_value(w), "__write_chk") != NULL;
	}
	cr_assert_eq(warned, 1);
	cr_assert_eq(json_array_size(json_object_get(doc, "scenarios")), 2);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}
