/* make bench: what faultline's measurements cost, side by side with the
 * alternatives, in one run. Prints figures; asserts nothing (machines are
 * shared and noisy: compare the ratios, not the absolute numbers).
 *
 *  1. One sample (fds, threads, RSS) of a process holding 10, 1 000 and
 *     10 000 fds, beside counting its /proc/PID/fd entries.
 *  2. The fixed cost of a scenario (spawn, ready, stop) beside starting
 *     the same target with libfiu's fiu-run and stopping it.
 *  3. Opening a fault window: the harness's write into the shared region
 *     and the round trip of that write to another process, beside the
 *     socket-pair round trip the agent used before, libfiu's
 *     remote-control fifo and its fiu-ctrl command.
 *  4. The cost of a wrapped call (read, close) bare, under libfiu's POSIX
 *     preload, and under faultline's agent with decisions off and on.
 *  5. The wall time of a suite at -j 1 and -j 2.
 *  6. fork() bare, under libfiu's preload and under the agent, which
 *     populates its pages again in each child.
 */
#define _GNU_SOURCE
#include "../lib/agent_proto.h"
#include "faults.h"
#include "journal.h"
#include "procfs.h"
#include "sampler.h"
#include "target.h"
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
#include <sys/socket.h>
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
	printf("\n   A faultline scenario also makes its fault region, samples at "
	       "200 Hz, takes a\n   final look at the fd table and threads, and "
	       "waits for the target to exit.\n\n");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
}

extern char **environ;

/* The environment a target gets from faultline, built here by hand. */
static char **agent_env(const char *agent, const char *preload, int shm_fd)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = fl_xcalloc(n + 8, sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	char buf[8192];
	snprintf(buf, sizeof buf, "LD_PRELOAD=%s:%s", agent, preload);
	env[k++] = fl_xstrdup(buf);
	snprintf(buf, sizeof buf, "%s=%d", FL_ENV_SHM_FD, shm_fd);
	env[k++] = fl_xstrdup(buf);
	return env;
}

static void reap(fl_child *c)
{
	kill(-c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	fl_child_close(c);
}

static void print_latency(const char *what, int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_i64);
	char med[32], p99[32];
	fl_fmt_duration(med, sizeof med, v[n / 2]);
	fl_fmt_duration(p99, sizeof p99, v[n * 99 / 100]);
	printf("   %-40s median %10s   p99 %10s\n", what, med, p99);
}

/* The control of today: the harness writes the rule into the shared
 * region, and a process of the target sees it at its next call. Measured
 * as (a) the harness's cost of opening and closing a window, and (b) the
 * round trip from that write to a process that maps the region (a forked
 * child spinning on the point's rule, as a target's next call would read
 * it) and back through the same memory. */
static int64_t bench_region(void)
{
	fl_faults f;
	if (fl_faults_create(&f, 1, "linux", 0, 0) < 0)
		return -1;
	fl_shm_view v;
	if (fl_shm_view_of(f.shm, f.shm_size, &v) < 0) {
		fl_faults_free(&f);
		return -1;
	}
	int slot = fl_shm_point_get(&v, "posix/io/rw/read", 1, NULL);
	fl_fault_spec spec;
	memset(&spec, 0, sizeof spec);
	snprintf(spec.point, sizeof spec.point, "posix/io/rw/read");
	spec.p = 1;
	spec.failnum = 1;
	char err[256];
	enum { N = 5000 };
	static int64_t w[N], rt[N];
	for (int i = 0; i < N; i++) {
		int64_t t0 = fl_now_ns();
		fl_faults_enable(&f, &spec, err, sizeof err, 0);
		fl_faults_disable(&f, spec.point, err, sizeof err, 0);
		w[i] = (fl_now_ns() - t0) / 2;
	}
	print_latency("harness: open or close a window", w, N);
	/* The acknowledgement goes back through the point's fired count. */
	_Atomic uint64_t *rule = &v.points[slot].rule;
	_Atomic uint64_t *ack = &v.points[slot].fired;
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t seen = 0;
		for (int i = 0; i < N; i++) {
			while (atomic_load(rule) == seen)
				;
			seen = atomic_load(rule);
			atomic_store(ack, (uint64_t)i + 1);
		}
		_exit(0);
	}
	for (int i = 0; i < N; i++) {
		int64_t t0 = fl_now_ns();
		if (i % 2 == 0)
			fl_faults_enable(&f, &spec, err, sizeof err, 0);
		else
			fl_faults_disable(&f, spec.point, err, sizeof err, 0);
		while (atomic_load(ack) != (uint64_t)i + 1)
			;
		rt[i] = fl_now_ns() - t0;
	}
	waitpid(pid, NULL, 0);
	print_latency("write, seen by another process, ack", rt, N);
	int64_t med = rt[N / 2];
	fl_faults_free(&f);
	return med;
}

/* The control channel faultline's agent used before: one message over a
 * SOCK_SEQPACKET socket pair to a thread of another process, and its
 * reply. */
static int64_t bench_socket_rtt(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	enum { N = 5000 };
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		char buf[256];
		for (;;) {
			ssize_t n = recv(sv[1], buf, sizeof buf, 0);
			if (n <= 0)
				_exit(0);
			if (send(sv[1], "ok slot=1", 9, MSG_NOSIGNAL) < 0)
				_exit(0);
		}
	}
	close(sv[1]);
	static int64_t v[N];
	const char *cmd = "enable point=posix/io/rw/read p=1";
	for (int i = 0; i < N; i++) {
		int64_t t0 = fl_now_ns();
		char buf[64];
		if (send(sv[0], cmd, strlen(cmd), MSG_NOSIGNAL) < 0 ||
		    recv(sv[0], buf, sizeof buf, 0) <= 0)
			break;
		v[i] = fl_now_ns() - t0;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	print_latency("socket pair round trip (the old agent)", v, N);
	return v[N / 2];
}

static int64_t bench_fifo_rtt(const char *dir, double *fiuctrl_ns)
{
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s/ctl", dir);
	char *env[4];
	char pre[PATH_MAX + 64], fifo[PATH_MAX + 32];
	snprintf(pre, sizeof pre,
		 "LD_PRELOAD=/usr/lib/fiu/fiu_run_preload.so:/usr/lib/fiu/fiu_posix_preload.so");
	snprintf(fifo, sizeof fifo, "FIU_CTRL_FIFO=%s", base);
	env[0] = pre;
	env[1] = fifo;
	env[2] = "PATH=/usr/bin:/bin";
	env[3] = NULL;
	char *argv[] = {"build/tests/targets/tgt", NULL};
	fl_spawn_spec spec = {.argv = argv, .envp = env};
	fl_child c;
	char err[256];
	if (fl_target_spawn(&spec, &c, err, sizeof err) < 0) {
		printf("   libfiu fifo: %s\n", err);
		return -1;
	}
	char in[PATH_MAX + 32], out[PATH_MAX + 32];
	snprintf(in, sizeof in, "%s-%d.in", base, (int)c.pid);
	snprintf(out, sizeof out, "%s-%d.out", base, (int)c.pid);
	for (int i = 0; i < 500 && access(out, F_OK) != 0; i++)
		usleep(2000);
	/* The other order deadlocks: .in for writing first, then .out. */
	int wfd = open(in, O_WRONLY | O_CLOEXEC);
	int rfd = wfd >= 0 ? open(out, O_RDONLY | O_CLOEXEC) : -1;
	if (wfd < 0 || rfd < 0) {
		printf("   libfiu fifo: cannot open %s\n", in);
		reap(&c);
		return -1;
	}
	enum { N = 5000 };
	static int64_t v[N];
	for (int i = 0; i < N; i++) {
		const char *cmd = i % 2 ? "disable name=bench/none\n"
				       : "enable name=bench/none\n";
		int64_t t0 = fl_now_ns();
		if (write(wfd, cmd, strlen(cmd)) < 0)
			break;
		char buf[16];
		if (read(rfd, buf, sizeof buf) <= 0)
			break;
		v[i] = fl_now_ns() - t0;
	}
	print_latency("libfiu remote control (fifo, kept open)", v, N);
	int64_t med = v[N / 2];
	close(wfd);
	close(rfd);
	/* fiu-ctrl: a shell script and a process per command. */
	enum { M = 30 };
	int64_t w[M];
	char cmd[PATH_MAX * 2];
	snprintf(cmd, sizeof cmd,
		 "fiu-ctrl -c 'disable name=bench/none' -f %s %d >/dev/null 2>&1",
		 base, (int)c.pid);
	int ok = 1;
	for (int i = 0; i < M && ok; i++) {
		int64_t t0 = fl_now_ns();
		ok = system(cmd) == 0;
		w[i] = fl_now_ns() - t0;
	}
	if (ok) {
		print_latency("fiu-ctrl (a process per command)", w, M);
		*fiuctrl_ns = (double)w[M / 2];
	} else {
		printf("   fiu-ctrl: not available\n");
		*fiuctrl_ns = -1;
	}
	reap(&c);
	unlink(in);
	unlink(out);
	return med;
}

static void bench_control(void)
{
	printf("3. Opening a fault window: the shared region beside a socket "
	       "round trip\n   and libfiu's remote control\n\n");
	char dir[] = "/tmp/fl-bench-rc.XXXXXX";
	if (!mkdtemp(dir))
		return;
	int64_t region = bench_region();
	int64_t sock = bench_socket_rtt();
	double fiuctrl;
	int64_t fifo = bench_fifo_rtt(dir, &fiuctrl);
	if (region > 0 && sock > 0)
		printf("\n   socket round trip / region round trip: %.0fx",
		       (double)sock / (double)region);
	if (region > 0 && fifo > 0)
		printf("; libfiu fifo / region: %.0fx", (double)fifo / (double)region);
	printf("\n   (nothing waits for the target: a window is open in every "
	       "process\n   once the write is visible)\n\n");
	rmdir(dir);
}

/* Runs callbench (its mode and count) and returns its figures. */
static int callbench(char **env, const char *mode, double *a, double *b)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		char *argv[] = {"build/bench/callbench", (char *)mode, NULL};
		execve(argv[0], argv, env ? env : environ);
		_exit(127);
	}
	close(p[1]);
	char buf[128];
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%*s %lf %*s %lf", a, b) == 2 ? 0 : -1;
}

/* callbench under the agent, with the region made here (and, for on,
 * a window at p = 0 on both points, open from the first instruction). */
static int callbench_agent(const char *mode, int on, double *a, double *b)
{
	fl_faults f;
	if (fl_faults_create(&f, 1, "linux", 0, 0) < 0)
		return -1;
	char err[256];
	fl_fault_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.p = 0;
	spec.failnum = 1;
	for (int i = 0; on && i < 2; i++) {
		snprintf(spec.point, sizeof spec.point, "%s",
			 i ? "posix/io/oc/close" : "posix/io/rw/read");
		fl_faults_enable(&f, &spec, err, sizeof err, 0);
	}
	int fd = fl_faults_fd(&f);
	fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
	char **env = agent_env("lib/faultline-agent.so",
			       "/usr/lib/fiu/fiu_posix_preload.so", fd);
	int r = callbench(env, mode, a, b);
	fl_faults_free(&f);
	return r;
}

static void bench_calls(void)
{
	printf("4. A wrapped call: read(-1, buf, 0) and close(-1), CPU time, best "
	       "of 5 rounds\n   of 2 million\n\n");
	double br, bc, pr, pc, ar, ac, xr, xc;
	if (callbench(NULL, "calls", &br, &bc) < 0) {
		printf("   callbench failed\n\n");
		return;
	}
	char *env_pre[] = {"LD_PRELOAD=/usr/lib/fiu/fiu_posix_preload.so", NULL};
	callbench(env_pre, "calls", &pr, &pc);
	/* The agent counts every call of every point from the start:
	 * decisions off until a window opens. */
	callbench_agent("calls", 0, &ar, &ac);
	callbench_agent("calls", 1, &xr, &xc);
	printf("   %-44s %8s %8s\n", "", "read", "close");
	printf("   %-44s %6.1f ns %6.1f ns\n", "bare", br, bc);
	printf("   %-44s %6.1f ns %6.1f ns\n", "libfiu POSIX preload, point off", pr, pc);
	printf("   %-44s %6.1f ns %6.1f ns\n", "faultline agent, decisions off", ar, ac);
	printf("   %-44s %6.1f ns %6.1f ns\n", "faultline agent, window open (p = 0)", xr, xc);
	printf("\n   overhead over bare: preload %.1f / %.1f ns; agent off %.1f / "
	       "%.1f ns (%.2fx / %.2fx the preload's); agent on %.1f / %.1f ns "
	       "(%.2fx / %.2fx)\n",
	       pr - br, pc - bc, ar - br, ac - bc, (ar - br) / (pr - br),
	       (ac - bc) / (pc - bc), xr - br, xc - bc, (xr - br) / (pr - br),
	       (xc - bc) / (pc - bc));
	printf("   (target: within 2x of the preload's own overhead)\n\n");
}

static void bench_forks(void)
{
	printf("6. fork(), the child's exit and the wait: CPU time of parent "
	       "and child, mean\n   of 400 (the agent maps its region's control "
	       "part again in each child)\n\n");
	double b0, b1, p0, p1, a0, a1;
	if (callbench(NULL, "forks", &b0, &b1) < 0) {
		printf("   callbench failed\n\n");
		return;
	}
	char *env_pre[] = {"LD_PRELOAD=/usr/lib/fiu/fiu_posix_preload.so", NULL};
	callbench(env_pre, "forks", &p0, &p1);
	callbench_agent("forks", 0, &a0, &a1);
	printf("   %-44s %8.1f µs\n", "bare", b0);
	printf("   %-44s %8.1f µs\n", "libfiu POSIX preload", p0);
	printf("   %-44s %8.1f µs   (+%.1f µs; the region is %.0f KiB)\n",
	       "faultline agent", a0, a0 - p0, a1);
	printf("\n");
}

static void bench_jobs(const char *faultline)
{
	printf("5. A suite of 8 scenarios (fileproc under close() failures, "
	       "about 1.5 s each) at -j 1 and -j 2\n\n");
	char dir[] = "/tmp/fl-bench-j.XXXXXX";
	if (!mkdtemp(dir))
		return;
	char scen[PATH_MAX];
	snprintf(scen, sizeof scen, "%s/suite.lua", dir);
	FILE *f = fopen(scen, "w");
	fprintf(f,
		"local list = {}\n"
		"for i = 1, 8 do list[i] = { name = 'suite ' .. i, seed = i,\n"
		"  target = { cmd = { 'fixtures/bin/fileproc', '--mode', 'fixed',\n"
		"             '--port', '{port}', '--dir', '{tmpdir}' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  steady = { fds = '+2' },\n"
		"  run = function(t) t:settle(0.3); t:fault('posix/io/oc/close', { p = 0.3 });\n"
		"    t:sleep(1); t:clear(); t:expect_recovery { within = 0.5 }; t:stop();\n"
		"    t:expect { leaked = { fds = 0 } } end } end\n"
		"return list\n");
	fclose(f);
	double wall[2];
	for (int j = 1; j <= 2; j++) {
		char cmd[PATH_MAX * 2];
		snprintf(cmd, sizeof cmd, "%s run -q --no-report -j %d %s >/dev/null",
			 faultline, j, scen);
		int64_t t0 = fl_now_ns();
		int rc = system(cmd);
		wall[j - 1] = (double)(fl_now_ns() - t0) / 1e9;
		printf("   -j %d: %.2f s%s\n", j, wall[j - 1],
		       rc == 0 ? "" : " (a scenario failed)");
	}
	printf("\n   speed-up at -j 2: %.2fx\n\n", wall[0] / wall[1]);
	unlink(scen);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const char *faultline = argc > 1 ? argv[1] : "bin/faultline";
	printf("faultline bench (%ld CPUs)\n\n", sysconf(_SC_NPROCESSORS_ONLN));
	bench_sampling();
	bench_fixed_cost(faultline);
	bench_control();
	bench_calls();
	bench_jobs(faultline);
	bench_forks();
	return 0;
}
