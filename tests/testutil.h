/* Helpers for the end-to-end tests: run bin/faultline as a child, read the
 * results it wrote, and look for processes the tests started. Every test
 * runs from the project's top directory (make does that). */
#ifndef FL_TESTUTIL_H
#define FL_TESTUTIL_H

#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The harness binary under test: bin/faultline, or the sanitizer build
 * when FL_TEST_ASAN is set. */
static inline const char *tu_bin(void)
{
	const char *asan = getenv("FL_TEST_ASAN");
	return asan && *asan ? "bin/faultline-asan" : "bin/faultline";
}

static inline double tu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh directory under /tmp for one test's reports and TMPDIR. */
static inline char *tu_tempdir(void)
{
	char tmpl[] = "/tmp/fl-test.XXXXXX";
	char *d = mkdtemp(tmpl);
	cr_assert_not_null(d, "mkdtemp: %s", strerror(errno));
	return strdup(d);
}

static inline void tu_rmrf(const char *path)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	int r = system(cmd);
	(void)r;
}

/* Number of entries in a directory (without . and ..), -1 if missing. */
static inline int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

typedef struct tu_proc {
	pid_t pid;
	int out_fd;		/* stdout and stderr, merged */
} tu_proc;

/* Starts faultline with argv (argv[0] is ignored and replaced by the
 * binary); env_tmpdir becomes its TMPDIR. */
static inline tu_proc tu_start(char *const argv[], const char *env_tmpdir)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (env_tmpdir)
			setenv("TMPDIR", env_tmpdir, 1);
		setenv("NO_COLOR", "1", 1);
		setenv("ASAN_OPTIONS", "exitcode=99:detect_leaks=1", 1);
		setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=99", 1);
		int n = 0;
		while (argv[n])
			n++;
		char **av = calloc((size_t)n + 1, sizeof *av);
		av[0] = (char *)tu_bin();
		for (int i = 1; i < n; i++)
			av[i] = argv[i];
		execv(av[0], av);
		_exit(127);
	}
	close(p[1]);
	return (tu_proc){pid, p[0]};
}

/* Waits for it (at most timeout_s, then SIGKILL), collecting its output.
 * Returns the exit status (128+signal if killed). *out is malloc'd. */
static inline int tu_finish(tu_proc pr, char **out, double timeout_s)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	double deadline = tu_now() + timeout_s;
	for (;;) {
		double left = deadline - tu_now();
		if (left <= 0) {
			kill(pr.pid, SIGKILL);
			break;
		}
		struct pollfd pfd = {pr.out_fd, POLLIN, 0};
		int r = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (r <= 0)
			continue;
		if (len + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t n = read(pr.out_fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(pr.out_fd);
	int status;
	waitpid(pr.pid, &status, 0);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs faultline to the end. */
static inline int tu_run(char *const argv[], const char *tmpdir, char **out,
			 double timeout_s)
{
	return tu_finish(tu_start(argv, tmpdir), out, timeout_s);
}

static inline json_t *tu_load_json(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "%s: %s (line %d)", path, e.text, e.line);
	return doc;
}

/* The scenario whose name contains needle. */
static inline json_t *tu_scenario(json_t *doc, const char *needle)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		const char *n = json_string_value(json_object_get(s, "name"));
		if (n && strstr(n, needle))
			return s;
	}
	cr_assert_fail("no scenario named like '%s' in the results", needle);
	return NULL;
}

static inline const char *tu_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static inline double tu_num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* Does a process with this pid exist (and is not a zombie)? */
/* A journal's records with every run expanded into its calls (a run is
 * count consecutive calls from n, the last at t_last; the calls between
 * get times spread evenly): one object per call, as the tests count
 * them. A new reference. */
static inline json_t *tu_calls(json_t *records)
{
	json_t *out = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r)
	{
		json_t *c = json_object_get(r, "count");
		long long count = c ? (long long)json_integer_value(c) : 1;
		double t = json_number_value(json_object_get(r, "t"));
		json_t *tl = json_object_get(r, "t_last");
		double t_last = tl ? json_number_value(tl) : t;
		long long n = (long long)json_integer_value(json_object_get(r, "n"));
		for (long long k = 0; k < count; k++) {
			json_t *x = json_deep_copy(r);
			json_object_del(x, "count");
			json_object_del(x, "t_last");
			json_object_set_new(x, "n", json_integer(n + k));
			json_object_set_new(x, "t", json_real(count > 1 ? t + (t_last - t) * (double)k /
										  (double)(count - 1)
									: t));
			json_array_append_new(out, x);
		}
	}
	return out;
}

static inline int tu_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Pids of live processes whose command line contains marker (the tests
 * give each target they start a unique argument). */
static inline int tu_find_marked(const char *marker, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL && n < max) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		pid_t pid = (pid_t)atoi(de->d_name);
		if (strstr(buf, marker) && tu_alive(pid))
			out[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

/* Waits until no process carries the marker; returns how many remain. */
static inline int tu_wait_gone(const char *marker, double timeout_s)
{
	double deadline = tu_now() + timeout_s;
	pid_t pids[64];
	int n;
	while ((n = tu_find_marked(marker, pids, 64)) > 0 && tu_now() < deadline)
		usleep(20000);
	return n;
}

/* A whole file, NUL-terminated (the caller frees it). */
static inline char *tu_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)len + 1);
	size_t got = fread(s, 1, (size_t)len, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

/* How many times needle occurs in hay. */
static inline long long tu_count(const char *hay, const char *needle)
{
	long long n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* What one test made: a directory with its reports and its TMPDIR. */
typedef struct tu_env {
	char *dir;
	char reports[PATH_MAX];
	char tmp[PATH_MAX];
} tu_env;

static inline tu_env tu_env_new(void)
{
	tu_env e;
	e.dir = tu_tempdir();
	snprintf(e.reports, sizeof e.reports, "%s/reports", e.dir);
	snprintf(e.tmp, sizeof e.tmp, "%s/tmp", e.dir);
	mkdir(e.tmp, 0700);
	return e;
}

static inline void tu_env_free(tu_env *e)
{
	tu_rmrf(e->dir);
	free(e->dir);
}

/* The results.json of the newest run in the env's report directory. */
static inline json_t *tu_latest(tu_env *e)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/latest/results.json", e->reports);
	return tu_load_json(path);
}

/* Runs "faultline run --report-dir <env's reports> ARGS..." with the env's
 * TMPDIR. Returns the exit status; *out gets the output. */
static inline int tu_env_run(tu_env *e, const char *const *args, char **out,
			     double timeout_s)
{
	char *argv[40];
	int n = 0;
	argv[n++] = "faultline";
	argv[n++] = "run";
	argv[n++] = "--report-dir";
	argv[n++] = e->reports;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return tu_run(argv, e->tmp, out, timeout_s);
}

/* Writes a scenario file. */
static inline void tu_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

#endif
