/* make bench: what faultline's measurements cost, side by side with the
 * alternatives, in one run. Prints figures; asserts nothing (machines are
 * shared and noisy: compare the ratios, not the absolute numbers).
 *
 *  1. One sample (fds, threads, RSS) of a process holding 10, 1 000 and
 *     10 000 fds, beside counting its /proc/PID/fd entries.
 *  2. The fixed cost of a scenario (spawn, ready, stop) beside starting
 *     the same target with libfiu's fiu-run and stopping it.
 */
#define _GNU_SOURCE
#include "procfs.h"
#include "sampler.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t median(int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_i64);
	return v[n / 2];
}

/* A child holding n fds open until it reads from the pipe. */
static pid_t holder(int n, int *release)
{
	int p[2];
	if (pipe(p) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		for (int i = 0; i < n; i++)
			if (open("/dev/null", O_RDONLY) < 0) {
				perror("bench: open");
				_exit(1);
			}
		char c;
		ssize_t r = read(p[0], &c, 1);
		(void)r;
		_exit(0);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

static int readdir_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void bench_sampling(void)
{
	static const int sizes[] = {10, 1000, 10000};
	printf("1. One sample of a process vs counting its /proc/PID/fd entries\n"
	       "   (median of 2000 calls; 'sample' reads fds, threads and RSS)\n\n");
	printf("   %8s  %16s  %18s  %18s  %8s\n", "open fds", "faultline sample",
	       "getdents64 count", "opendir/readdir", "ratio");
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		int release;
		pid_t pid = holder(sizes[k], &release);
		fl_sampler fast, slow;
		fl_sample smp;
		/* Wait for the child to open its files. */
		fl_sampler_open(&fast, pid, FL_FDS_FSTATAT);
		for (int i = 0; i < 500; i++) {
			if (fl_sampler_read(&fast, &smp) == 0 &&
			    smp.fds >= sizes[k])
				break;
			usleep(2000);
		}
		fl_sampler_open(&slow, pid, FL_FDS_GETDENTS);
		enum { N = 2000 };
		static int64_t a[N], b[N], c[N];
		int fds_seen = 0, fds_counted = 0;
		for (int i = 0; i < N; i++) {
			int64_t t0 = fl_now_ns();
			fl_sampler_read(&fast, &smp);
			int64_t t1 = fl_now_ns();
			fds_seen = smp.fds;
			fl_sample s2;
			fl_sampler_read(&slow, &s2);
			int64_t t2 = fl_now_ns();
			fds_counted = readdir_count(pid);
			int64_t t3 = fl_now_ns();
			a[i] = t1 - t0;
			b[i] = t2 - t1;
			c[i] = t3 - t2;
		}
		int64_t ma = median(a, N), mb = median(b, N), mc = median(c, N);
		char sa[32], sb[32], sc[32];
		fl_fmt_duration(sa, sizeof sa, ma);
		fl_fmt_duration(sb, sizeof sb, mb);
		fl_fmt_duration(sc, sizeof sc, mc);
		printf("   %8d  %16s  %18s  %18s  %7.1fx\n", fds_seen, sa, sb, sc,
		       (double)mc / (double)ma);
		if (fds_seen != fds_counted)
			printf("   (counts differ: %d vs %d)\n", fds_seen,
			       fds_counted);
		fl_sampler_close(&fast);
		fl_sampler_close(&slow);
		close(release);
		waitpid(pid, NULL, 0);
	}
	printf("\n   ratio = opendir/readdir count / faultline sample\n\n");
}

/* Starts argv with stdout on a pipe, waits for a line containing ready,
 * sends SIGTERM and reaps it. Returns the elapsed time, or -1. */
static int64_t launch_ready_stop(char *const argv[], const char *ready)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	int64_t t0 = fl_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	size_t have = 0;
	int ok = 0;
	while (!ok) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		ssize_t n = read(p[0], buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		ok = strstr(buf, ready) != NULL;
		if (have > 3000)
			have = 0;
	}
	kill(-pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(p[0]);
	int64_t t1 = fl_now_ns();
	return ok ? t1 - t0 : -1;
}

static void bench_fixed_cost(const char *faultline)
{
	enum { K = 15 };
	printf("2. Fixed cost of a scenario: spawn, wait until ready, stop\n"
	       "   (fixtures/bin/fileproc --mode fixed; median of %d)\n\n", K);
	char dir[] = "/tmp/fl-bench.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return;
	}
	char scen[PATH_MAX], json[PATH_MAX];
	snprintf(scen, sizeof scen, "%s/noop.lua", dir);
	snprintf(json, sizeof json, "%s/results.json", dir);
	FILE *f = fopen(scen, "w");
	fprintf(f,
		"local list = {}\n"
		"for i = 1, %d do list[i] = {\n"
		"  name = 'noop ' .. i,\n"
		"  target = { cmd = { 'fixtures/bin/fileproc', '--mode', 'fixed',\n"
		"             '--port', '{port}', '--dir', '{tmpdir}' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  run = function(t) t:stop() end } end\n"
		"return list\n",
		K);
	fclose(f);

	/* faultline: the whole command, and each scenario's own duration. */
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "%s run -q --no-report --json %s %s >/dev/null",
		 faultline, json, scen);
	int64_t t0 = fl_now_ns();
	int rc = system(cmd);
	int64_t whole = fl_now_ns() - t0;
	json_error_t je;
	json_t *doc = json_load_file(json, 0, &je);
	int64_t per[K];
	size_t n = 0;
	if (rc == 0 && doc) {
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(doc, "scenarios"), i, s)
			if (n < K)
				per[n++] = (int64_t)(json_number_value(json_object_get(
							     s, "duration_s")) *
						     1e9);
	}
	json_decref(doc);

	int port = 20000 + (int)(getpid() % 20000);
	char portbuf[16];
	snprintf(portbuf, sizeof portbuf, "%d", port);
	char *bare[] = {"fixtures/bin/fileproc", "--mode", "fixed", "--port",
			portbuf, "--dir", dir, NULL};
	char *fiurun[] = {"fiu-run", "-x", "fixtures/bin/fileproc", "--mode",
			  "fixed", "--port", portbuf, "--dir", dir, NULL};
	int64_t vb[K], vf[K];
	int fiu_ok = 1;
	for (int i = 0; i < K; i++) {
		vb[i] = launch_ready_stop(bare, "READY");
		vf[i] = launch_ready_stop(fiurun, "READY");
		if (vf[i] < 0)
			fiu_ok = 0;
	}
	char a[32], b[32], c[32], d[32];
	int64_t mper = n ? median(per, n) : -1;
	int64_t mb = median(vb, K), mf = median(vf, K);
	fl_fmt_duration(a, sizeof a, mper);
	fl_fmt_duration(b, sizeof b, whole / K);
	fl_fmt_duration(c, sizeof c, mb);
	fl_fmt_duration(d, sizeof d, mf);
	printf("   %-46s %12s\n", "bare target (no libfiu)", c);
	if (fiu_ok)
		printf("   %-46s %12s\n", "fiu-run -x (libfiu's launcher)", d);
	else
		printf("   %-46s %12s\n", "fiu-run -x (libfiu's launcher)",
		       "not available");
	if (n)
		printf("   %-46s %12s   %.2fx fiu-run\n",
		       "faultline scenario (spawn, ready, stop)", a,
		       fiu_ok ? (double)mper / (double)mf : 0.0);
	else
		printf("   faultline run failed (exit %d)\n", rc);
	printf("   %-46s %12s   %.2fx fiu-run\n",
	       "faultline run, whole command / scenarios", b,
	       fiu_ok ? (double)(whole / K) / (double)mf : 0.0);
	printf("\n   A faultline scenario also connects its agent, samples at "
	       "200 Hz, takes a\n   final look at the fd table and threads, and "
	       "waits for the target to exit.\n\n");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	const char *faultline = argc > 1 ? argv[1] : "bin/faultline";
	printf("faultline bench (%ld CPUs)\n\n", sysconf(_SC_NPROCESSORS_ONLN));
	bench_sampling();
	bench_fixed_cost(faultline);
	return 0;
}
