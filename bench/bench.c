/* make bench: what faultline's measurements cost, side by side with the
 * alternatives, in one run. Prints figures; asserts nothing (machines are
 * shared and noisy: compare the ratios, not the absolute numbers).
 *
 *  1. One sample (fds, threads, RSS) of a process with 10, 1,000 and
 *     5,000 threads and 16, 10,000 and the most fds, and each of its
 *     three reads alone, beside /proc/PID/stat and counting fd entries,
 *     each in its own loop.
 *  2. The fixed cost of a scenario (spawn, ready, stop; and one that
 *     takes a baseline and judges leaks) beside starting the same target
 *     with libfiu's fiu-run and stopping it, round by round.
 *  3. Opening a fault window: the harness's write into the shared region
 *     and the round trip of that write to another process, beside the
 *     socket-pair round trip the agent used before, libfiu's
 *     remote-control fifo and its fiu-ctrl command.
 *  4. The cost of a wrapped call (read, close) bare, under libfiu's POSIX
 *     preload, and under faultline's agent with decisions off and on.
 *  5. The wall time of a suite at -j 1 and -j 2.
 *  6. One health probe (line protocol over TCP 127.0.0.1, ::1 and a Unix
 *     socket; HTTP), start to verdict, beside a plain connect + close; a
 *     wrong reply's verdict; how long after a recovery it is seen when
 *     probing back to back and when probing every 50 ms.
 *  7. The same probes of Debian's redis-server and nginx.
 *  8. Refusing a 94 MB results file of an unknown schema version: the
 *     reader's head check beside parsing the whole file first.
 *
 *  9. MTTR against a target that knows its own recovery moment.
 *  10. fork() bare, under libfiu's preload and under the agent, which
 *     populates its pages again in each child.
 *  11. The monitor thread's CPU time at 200 Hz, 1 kHz and 10 kHz for 1, 4
 *     and 16 targets, with the p50/p99 interval between samples and the
 *     ticks missed, beside a thread that only waits for the timer.
 *  12. A call under a sweep's window: read and close, and what unwinding
 *     its calling context costs.
 *  13. faultline check on scenarios/, per scenario, beside faultline list
 *     (which only loads the files) and the source pass alone (the Lua
 *     lexer and reader of the calls, in this process).
 *
 *  12. A call under a sweep's window (docs/sweep.md).
 *  13. The readers of results: gate at 5,000 and 50,000 against as many
 *     scenarios, trend over 100 runs of 1,000 scenarios, merge of 50
 *     shards of 100, on synthetic documents as large as real ones; wall
 *     time and the peak RSS of the faultline process beside the input's
 *     size, and beside an older faultline's when FL_BENCH_OLD names one.
 *
 * build/bench/bench FAULTLINE soak [SECONDS [HZ]] (make soak): faultline's
 * own memory over one long scenario.
 *
 * build/bench/bench FAULTLINE results PATH N writes section 13's synthetic
 * results document of N scenarios.
 *
 * build/bench/bench FAULTLINE [N...] runs only sections N.
 */
#define _GNU_SOURCE
#include "../lib/agent_proto.h"
#include "luascan.h"
#include "faults.h"
#include "journal.h"
#include "bpfsample.h"
#include "monitor.h"
#include "session.h"
#include "procfs.h"
#include "sampler.h"
#include "target.h"
#include "results.h"
#include "probe.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <math.h>
#include <sys/un.h>
#include <time.h>
#include <sys/mman.h>
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

static void *park(void *arg)
{
	int fd = *(int *)arg;
	char c;
	ssize_t r = read(fd, &c, 1);
	(void)r;
	return NULL;
}

/* A child holding nfds fds and nthreads threads until the pipe closes.
 * Returns its pid; *release is the pipe's write end. */
static pid_t holder(int nfds, int nthreads, int *release)
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
		for (int i = 3 + 1; i < nfds; i++)
			if (open("/dev/null", O_RDONLY) < 0) {
				perror("bench: open");
				_exit(1);
			}
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 * 1024);
		for (int i = 1; i < nthreads; i++) {
			pthread_t t;
			if (pthread_create(&t, &a, park, &p[0]) != 0) {
				perror("bench: pthread_create");
				_exit(1);
			}
		}
		park(&p[0]);
		_exit(0);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

/* Times one way of reading a figure in a loop of its own (never
 * interleaved with another: a directory walk between two timed samples
 * leaves the caches cold, which is how a 10,000-fd sample once looked
 * six times dearer than it is). At most n calls or budget_ns. Median and
 * p99 into med/p99; the value read into *val. */
enum method {
	M_SAMPLE,
	M_FSTATAT,
	M_NLINK,
	M_STATM,
	M_STAT,
	M_GETDENTS,
	M_BYNAME,	/* fd/ and task/ by name, as the sampler did before */
	M_BPF,		/* one run of the BPF sampler for this process */
	M_COUNT
};

static void time_method(fl_sampler *s, int statfd, enum method m, int n,
			int64_t budget_ns, int64_t *med, int64_t *p99,
			long *val)
{
	int64_t *v = calloc((size_t)n, sizeof *v);
	int k = 0;
	int64_t stop = fl_now_ns() + budget_ns;
	char buf[1024];
	for (; k < n && (k < 20 || fl_now_ns() < stop); k++) {
		int64_t t0 = fl_now_ns();
		fl_sample smp;
		switch (m) {
		case M_SAMPLE:
			if (fl_sampler_read(s, &smp) == 0)
				*val = (long)smp.v[FL_FIG_FDS];
			break;
		case M_FSTATAT:
			*val = fl_sampler_fds(s);
			break;
		case M_NLINK:
			*val = fl_sampler_threads(s);
			break;
		case M_STATM:
			*val = (long)fl_sampler_rss(s);
			break;
		case M_STAT: {
			ssize_t r = pread(statfd, buf, sizeof buf - 1, 0);
			if (r > 0) {
				buf[r] = '\0';
				fl_proc_stat st;
				if (fl_procfs_parse_stat(buf, (size_t)r, &st) == 0)
					*val = st.num_threads;
			}
			break;
		}
		case M_GETDENTS:
			*val = fl_procfs_count_dir(s->fddirfd);
			break;
		case M_BYNAME: {
			struct stat st;
			if (fstatat(s->procfd, "fd", &st, 0) == 0)
				*val = (long)st.st_size;
			if (fstatat(s->procfd, "task", &st, 0) < 0)
				*val = -1;
			break;
		}
		case M_BPF: {
			fl_bpfs_ent e = {.pid = s->pid};
			if (fl_bpfs_read(&e, 1) == 0 && e.rc == FL_BPFS_OK)
				*val = (long)e.fds;
			else
				*val = -1;
			break;
		}
		case M_COUNT:
			break;
		}
		v[k] = fl_now_ns() - t0;
	}
	qsort(v, (size_t)k, sizeof *v, cmp_i64);
	*med = v[k / 2];
	*p99 = v[k * 99 / 100];
	free(v);
}

static void bench_sampling(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int maxfds = rl.rlim_max > 1000000 ? 1000000 : (int)rl.rlim_max - 16;
	const struct {
		int fds, threads;
	} shapes[] = {{16, 10}, {16, 1000}, {16, 5000},
		      {16, 1}, {10000, 1}, {maxfds, 1}};
	printf("1. One sample of a process, and each way of reading its figures "
	       "alone, each timed\n   in its own loop (median of up to 2000 "
	       "calls, p99 in brackets)\n\n");
	char why[256] = "";
	int bpf = fl_bpfs_load(why, sizeof why) == 0;
	if (!bpf)
		printf("   the BPF sampler cannot load here (%s)\n\n", why);
	printf("   %6s %7s  %-17s %9s %9s %9s %9s  %-17s %10s  %-17s\n", "fds",
	       "threads", "faultline /proc", "fd size", "task/ nl", "by name",
	       "statm", "/proc/PID/stat", "getdents", "BPF, one process");
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		int release;
		pid_t pid = holder(shapes[k].fds, shapes[k].threads, &release);
		fl_sampler s;
		if (fl_sampler_open(&s, pid, FL_FDS_FSTATAT) < 0) {
			printf("   cannot open /proc/%d\n", (int)pid);
			continue;
		}
		/* Wait for the child to open its files and start its
		 * threads. */
		for (int i = 0; i < 3000; i++) {
			if (fl_sampler_fds(&s) >= shapes[k].fds - 1 &&
			    fl_sampler_threads(&s) >= shapes[k].threads)
				break;
			usleep(2000);
		}
		if (s.fddirfd < 0)
			s.fddirfd = openat(s.procfd, "fd",
					   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int statfd = openat(s.procfd, "stat", O_RDONLY | O_CLOEXEC);
		int64_t med[M_COUNT], p99[M_COUNT];
		long val[M_COUNT] = {0};
		for (int m = 0; m < M_COUNT; m++) {
			if (m == M_BPF && !bpf) {
				med[m] = p99[m] = 0;
				continue;
			}
			time_method(&s, statfd, (enum method)m, 2000,
				    m == M_STAT || m == M_GETDENTS
					    ? FL_NS_PER_SEC
					    : 2 * FL_NS_PER_SEC,
				    &med[m], &p99[m], &val[m]);
		}
		char c[M_COUNT][32], q[M_COUNT][32];
		for (int m = 0; m < M_COUNT; m++) {
			fl_fmt_duration(c[m], sizeof c[m], med[m]);
			fl_fmt_duration(q[m], sizeof q[m], p99[m]);
		}
		char a[48], e[48], b[48];
		snprintf(a, sizeof a, "%s (%s)", c[0], q[0]);
		snprintf(e, sizeof e, "%s (%s)", c[4], q[4]);
		snprintf(b, sizeof b, "%s (%s)", c[M_BPF], q[M_BPF]);
		printf("   %6ld %7ld  %-17s %9s %9s %9s %9s  %-17s %10s  %-17s\n",
		       val[M_GETDENTS], val[M_NLINK], a, c[M_FSTATAT], c[M_NLINK],
		       c[M_BYNAME], c[M_STATM], e, c[M_GETDENTS],
		       bpf ? b : "-");
		if (bpf && val[M_BPF] != val[M_FSTATAT])
			printf("   (counts differ: BPF %ld fds, fd size %ld)\n",
			       val[M_BPF], val[M_FSTATAT]);
		if (val[M_FSTATAT] != val[M_GETDENTS] || val[M_NLINK] != val[M_STAT])
			printf("   (counts differ: fd size %ld, getdents %ld; task/ "
			       "links - 2 %ld, stat %ld)\n",
			       val[M_FSTATAT], val[M_GETDENTS], val[M_NLINK],
			       val[M_STAT]);
		close(statfd);
		fl_sampler_close(&s);
		close(release);
		waitpid(pid, NULL, 0);
	}
	printf("\n   A faultline sample is the fd size, the link count of task/ "
	       "(threads + 2) and statm:\n   three calls whose cost depends on "
	       "neither count, the first two an fstat of\n   fd/ and task/ kept "
	       "open ('by name': both with fstatat, a path walk each, as\n   "
	       "before). /proc/PID/stat gives threads and RSS in one read but "
	       "sums every\n   thread; getdents counts fds one by one. BPF: the "
	       "same three figures in one\n   run of the BPF sampler (a "
	       "system call for every target of a tick, here\n   one "
	       "process); its fd count is the fd table's bitmap, O(max fds / "
	       "64).\n\n");
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

/* Runs the one scenario of file scen with faultline: its duration (from
 * results.json) in *scenario, the whole command's in *whole. 0 or -1. */
static int one_scenario(const char *faultline, const char *scen,
			const char *json, int64_t *scenario, int64_t *whole)
{
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof cmd, "%s run -q --no-report --json %s %s >/dev/null",
		 faultline, json, scen);
	int64_t t0 = fl_now_ns();
	int rc = system(cmd);
	*whole = fl_now_ns() - t0;
	json_error_t je;
	json_t *doc = json_load_file(json, 0, &je);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	*scenario = (int64_t)(json_number_value(json_object_get(s, "duration_s")) *
			      1e9);
	json_decref(doc);
	return rc == 0 && s ? 0 : -1;
}

static void bench_fixed_cost(const char *faultline)
{
	enum { K = 21 };
	printf("2. Fixed cost of a scenario beside libfiu's launcher (fileproc "
	       "--mode fixed; median of %d\n   rounds, each round running all "
	       "four one after the other)\n\n", K);
	char dir[] = "/tmp/fl-bench.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return;
	}
	char noop[PATH_MAX], judged[PATH_MAX], json[PATH_MAX];
	snprintf(noop, sizeof noop, "%s/noop.lua", dir);
	snprintf(judged, sizeof judged, "%s/judged.lua", dir);
	snprintf(json, sizeof json, "%s/results.json", dir);
	static const char head[] =
		"return { name = 'cost',\n"
		"  target = { cmd = { 'fixtures/bin/fileproc', '--mode', 'fixed',\n"
		"             '--port', '{port}', '--dir', '{tmpdir}' },\n"
		"             ready = { stdout = 'READY' } },\n";
	FILE *f = fopen(noop, "w");
	fprintf(f, "%s  run = function(t) t:stop() end }\n", head);
	fclose(f);
	/* A judged scenario: a baseline (its held snapshot), the stop with
	 * the final forensics, and leaks judged. hold = 0 and 10 kHz keep the
	 * held looks at their minimum, two sample periods (200 µs). */
	f = fopen(judged, "w");
	fprintf(f, "%s  sample = { hz = 10000 }, recovery = { hold = 0 },\n"
		   "  run = function(t) t:settle(0.001); t:stop()\n"
		   "    t:expect { leaked = { fds = 0, threads = 0 } } end }\n",
		head);
	fclose(f);

	int port = 20000 + (int)(getpid() % 20000);
	char portbuf[16];
	snprintf(portbuf, sizeof portbuf, "%d", port);
	char *bare[] = {"fixtures/bin/fileproc", "--mode", "fixed", "--port",
			portbuf, "--dir", dir, NULL};
	char *fiurun[] = {"fiu-run", "-x", "fixtures/bin/fileproc", "--mode",
			  "fixed", "--port", portbuf, "--dir", dir, NULL};
	int64_t vb[K], vf[K], vn[K], vj[K], wn[K], wj[K];
	int fiu_ok = 1, fl_ok = 1;
	for (int i = 0; i < K; i++) {
		vb[i] = launch_ready_stop(bare, "READY");
		vf[i] = launch_ready_stop(fiurun, "READY");
		fiu_ok &= vf[i] >= 0;
		fl_ok &= one_scenario(faultline, noop, json, &vn[i], &wn[i]) == 0;
		fl_ok &= one_scenario(faultline, judged, json, &vj[i], &wj[i]) == 0;
	}
	if (!fl_ok)
		printf("   a faultline run failed\n");
	int64_t mf = median(vf, K);
	const struct {
		const char *what;
		int64_t *v;
		int ratio;
	} rows[] = {
		{"bare target (no libfiu)", vb, 0},
		{"fiu-run -x (libfiu's launcher)", vf, 0},
		{"faultline: spawn, ready, stop", vn, 1},
		{"  (the whole faultline command)", wn, 1},
		{"faultline, judged: + baseline, final look, leaks", vj, 1},
		{"  (the whole faultline command)", wj, 1},
	};
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		char a[32];
		int64_t m = median(rows[r].v, K);
		fl_fmt_duration(a, sizeof a, m);
		if (r == 1 && !fiu_ok)
			printf("   %-50s %10s\n", rows[r].what, "not available");
		else if (rows[r].ratio && fiu_ok)
			printf("   %-50s %10s   %.2fx fiu-run\n", rows[r].what, a,
			       (double)m / (double)mf);
		else
			printf("   %-50s %10s\n", rows[r].what, a);
	}
	printf("\n   A faultline scenario also connects its agent and samples; "
	       "the judged one\n   (sample.hz = 10000, recovery.hold = 0) takes "
	       "a 1 ms baseline, looks at the\n   fd tables and threads at both "
	       "ends of two sample periods at the baseline\n   and at the end, "
	       "and judges the leaks. Goal: at most 1.2x fiu-run.\n\n");
	char cmd[PATH_MAX + 16];
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
	if (fl_faults_create(&f, 1, "linux", 0, 0, 0, 0) < 0)
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

/* Runs callbench in its mode (with an argument: NULL for none) and
 * returns its first two figures and, when c is not NULL, its third
 * (calls: __read_chk's ns per call). */
static int callbench_n(char **env, const char *mode, const char *arg,
		       double *a, double *b, double *c)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		char *argv[] = {"build/bench/callbench", (char *)mode,
				(char *)arg, NULL};
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
	double unused;
	return sscanf(buf, "%*s %lf %*s %lf %*s %lf", a, b, c ? c : &unused) >=
			       (c ? 3 : 2)
		       ? 0
		       : -1;
}

static int callbench(char **env, const char *mode, double *a, double *b,
		     double *c)
{
	return callbench_n(env, mode, NULL, a, b, c);
}

/* callbench under the agent, with the region made here (and, for on,
 * a window at p = 0 on both points, open from the first instruction);
 * sweep: the windows are a sweep's (FL_SWEEP_RECORD records every call's
 * site, FL_SWEEP_SITE compares every call's site with one that is never
 * called), and arg callbench's argument. */
static int callbench_sweep(const char *mode, const char *arg, int on,
			   int sweep, double *a, double *b, double *c)
{
	fl_faults f;
	if (fl_faults_create(&f, 1, "linux", 0, 0, sweep ? FL_SITES_RECORD : 0,
			     0) < 0)
		return -1;
	if (sweep)
		fl_faults_set_sweep(&f, sweep, 1, NULL, 1);
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
	int r = callbench_n(env, mode, arg, a, b, c);
	fl_faults_free(&f);
	return r;
}

static int callbench_agent(const char *mode, int on, double *a, double *b,
			   double *c)
{
	return callbench_sweep(mode, NULL, on, 0, a, b, c);
}

static void bench_calls(void)
{
	printf("4. A wrapped call: read(-1, buf, 0), close(-1) and "
	       "__read_chk(-1, buf, 0, 1),\n   CPU time, best of 5 rounds of 2 "
	       "million (read: libfiu's wrapper; close: the\n   agent's; "
	       "__read_chk, what a fortified build calls: lib/agent_wrap.c)\n\n");
	double br, bc, bk, pr, pc, pk, ar, ac, ak, xr, xc, xk;
	if (callbench(NULL, "calls", &br, &bc, &bk) < 0) {
		printf("   callbench failed\n\n");
		return;
	}
	char *env_pre[] = {"LD_PRELOAD=/usr/lib/fiu/fiu_posix_preload.so", NULL};
	callbench(env_pre, "calls", &pr, &pc, &pk);
	/* The agent counts every call of every point from the start:
	 * decisions off until a window opens. */
	callbench_agent("calls", 0, &ar, &ac, &ak);
	callbench_agent("calls", 1, &xr, &xc, &xk);
	printf("   %-44s %8s %8s %11s\n", "", "read", "close", "__read_chk");
	printf("   %-44s %6.1f ns %6.1f ns %8.1f ns\n", "bare", br, bc, bk);
	printf("   %-44s %6.1f ns %6.1f ns %8.1f ns\n",
	       "libfiu POSIX preload, point off", pr, pc, pk);
	printf("   %-44s %6.1f ns %6.1f ns %8.1f ns\n",
	       "faultline agent, decisions off", ar, ac, ak);
	printf("   %-44s %6.1f ns %6.1f ns %8.1f ns\n",
	       "faultline agent, window open (p = 0)", xr, xc, xk);
	printf("\n   overhead over bare: preload %.1f / %.1f ns; agent off %.1f / "
	       "%.1f ns (%.2fx / %.2fx the preload's); agent on %.1f / %.1f ns "
	       "(%.2fx / %.2fx)\n",
	       pr - br, pc - bc, ar - br, ac - bc, (ar - br) / (pr - br),
	       (ac - bc) / (pc - bc), xr - br, xc - bc, (xr - br) / (pr - br),
	       (xc - bc) / (pc - bc));
	printf("   __read_chk through the agent's wrapper: %.1f ns over bare off, "
	       "%.1f ns on\n   (libfiu's preload alone does not see __read_chk: "
	       "%.1f ns)\n",
	       ak - bk, xk - bk, pk - bk);
	printf("   (target: within 2x of the preload's own overhead)\n\n");
}

static void bench_sites(void)
{
	printf("12. A call under a sweep's window (docs/sweep.md): CPU time of "
	       "read(-1, buf, 0) and\n   close(-1), best of 5 rounds of 100 000, "
	       "and what unwinding costs\n\n");
	double pr, pc, rr, rc, sr, sc, k;
	if (callbench_sweep("calls", "100000", 1, 0, &pr, &pc, &k) < 0 ||
	    callbench_sweep("calls", "100000", 1, FL_SWEEP_RECORD, &rr, &rc, &k) < 0 ||
	    callbench_sweep("calls", "100000", 1, FL_SWEEP_SITE, &sr, &sc, &k) < 0) {
		printf("   callbench failed\n\n");
		return;
	}
	printf("   %-52s %8s %8s\n", "", "read", "close");
	printf("   %-52s %5.0f ns %5.0f ns\n",
	       "window open (p = 0): decided, nothing recorded", pr, pc);
	printf("   %-52s %5.0f ns %5.0f ns\n",
	       "record mode: the call's site unwound and recorded", rr, rc);
	printf("   %-52s %5.0f ns %5.0f ns\n",
	       "site mode: the call's site unwound and compared", sr, sc);
	printf("\n   a recorded call costs %.2f / %.2f us more than an unrecorded "
	       "one; without\n   a sweep (or target.origins) nothing is unwound: "
	       "one branch on the rule\n",
	       (rr - pr) / 1e3, (rc - pc) / 1e3);
	/* The unwinders a sweep could use, on the same walk. */
	char line[128];
	FILE *p = popen("build/bench/callbench unwind", "r");
	double g = -1, gl = -1, lu = -1;
	if (p && fgets(line, sizeof line, p))
		sscanf(line, "gcc %lf glibc %lf libunwind %lf", &g, &gl, &lu);
	if (p)
		pclose(p);
	printf("\n   8 return addresses from a call 12 frames deep:\n");
	printf("   %-52s %8.0f ns\n", "libgcc _Unwind_Backtrace (the agent's)", g);
	printf("   %-52s %8.0f ns\n", "glibc backtrace()", gl);
	if (lu >= 0)
		printf("   %-52s %8.0f ns\n", "libunwind unw_backtrace (cached)", lu);
	else
		printf("   %-52s %8s\n", "libunwind unw_backtrace", "not installed");
	printf("   (libunwind is faster once its per-thread cache is warm, but "
	       "that cache is\n   half a MiB of the target's RSS per thread, and a "
	       "miss takes the loader's\n   lock; the agent's unwinder takes no "
	       "lock and allocates nothing)\n\n");
}

/* callbench under the agent with windows at p = 1 on read and close, so
 * that every call fails and is journaled, while the harness's drainer
 * (harness/journal.c) empties the ring as it does in a run. capacity:
 * the ring's records; wait_ms: how long a writer waits for room (0: the
 * rule before backpressure, a full ring counts the record lost). */
static int callbench_journal(int capacity, long wait_ms, double *rd,
			     double *cl, size_t *records, fl_journal_stats *st)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%d", capacity);
	setenv("FL_TEST_JOURNAL_CAPACITY", buf, 1);
	snprintf(buf, sizeof buf, "%ld", wait_ms);
	setenv("FL_TEST_JOURNAL_WAIT_MS", buf, 1);
	fl_faults f;
	int r = fl_faults_create(&f, 1, "linux", 0, 0, 0, 0);
	unsetenv("FL_TEST_JOURNAL_CAPACITY");
	unsetenv("FL_TEST_JOURNAL_WAIT_MS");
	if (r < 0)
		return -1;
	char err[256];
	fl_fault_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.p = 1;
	spec.err = EIO;
	spec.failnum = 1;
	for (int i = 0; i < 2; i++) {
		snprintf(spec.point, sizeof spec.point, "%s",
			 i ? "posix/io/oc/close" : "posix/io/rw/read");
		fl_faults_enable(&f, &spec, err, sizeof err, 0);
	}
	fl_journal j;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	fl_jentry *v = NULL;
	size_t n = 0, cap = 0;
	if (fl_journal_attach(&j, f.shm, f.shm_size) < 0 ||
	    fl_journal_pump_start(&j, &lock, 0, &v, &n, &cap,
				  5 * FL_NS_PER_MS) < 0) {
		fl_faults_free(&f);
		return -1;
	}
	int fd = fl_faults_fd(&f);
	fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
	char **env = agent_env("lib/faultline-agent.so",
			       "/usr/lib/fiu/fiu_posix_preload.so", fd);
	double chk;
	r = callbench_n(env, "calls", "20000", rd, cl, &chk);
	fl_journal_pump_stop(&j);
	fl_journal_drain_final(&j, 0, &v, &n, &cap);
	fl_journal_get_stats(&j, st);
	*records = n;
	free(v);
	fl_journal_close(&j);
	fl_faults_free(&f);
	return r;
}

static void bench_journal(void)
{
	printf("14. A fired fault: read(-1, buf, 0) and close(-1) failing at "
	       "p = 1, each one\n   journaled, CPU time per call, best of 5 "
	       "rounds of 20 000; the harness's\n   drainer empties the ring "
	       "meanwhile (300 000 records a run)\n\n");
	static const struct {
		int capacity;
		long wait_ms;
		const char *what;
	} rows[] = {
		{FL_JOURNAL_CAPACITY, 10000, "ring 4 096, a full ring waits (now)"},
		{FL_JOURNAL_CAPACITY_MAX, 10000, "ring 32 768, a full ring waits (before)"},
		{FL_JOURNAL_CAPACITY, 0, "ring 4 096, a full ring drops"},
		{64, 10000, "ring 64, a full ring waits (now)"},
		{64, 0, "ring 64, a full ring drops (before)"},
	};
	printf("   %-42s %8s %8s %9s %8s %7s\n", "", "read", "close", "records",
	       "lost", "waits");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		double rd, cl;
		size_t n;
		fl_journal_stats st;
		if (callbench_journal(rows[i].capacity, rows[i].wait_ms, &rd, &cl,
				      &n, &st) < 0) {
			printf("   %-42s %s\n", rows[i].what, "callbench failed");
			continue;
		}
		printf("   %-42s %5.0f ns %5.0f ns %9zu %8llu %7llu\n",
		       rows[i].what, rd, cl, n, (unsigned long long)st.lost,
		       (unsigned long long)st.waits);
	}
	printf("\n   A record costs the same either way until the ring is "
	       "full; then the writer\n   waits for the drainer instead of "
	       "losing it (docs/determinism.md, the journal)\n\n");
}

/* One way of writing a journal: the records (folded or not) as a
 * journal file's JSON, dumped; its wall time and size. */
static void journal_write_cost(const fl_fault_rec *v, size_t n, int fold,
			       double *secs, size_t *bytes, size_t *records,
			       char digest[17])
{
	int64_t t0 = fl_now_ns();
	size_t nr = n;
	fl_fault_rec *recs;
	if (fold) {
		recs = fl_journal_fold(v, n, &nr);
	} else {
		recs = fl_xmalloc((n + 1) * sizeof *recs);
		memcpy(recs, v, n * sizeof *recs);
	}
	fl_journal_file jf = {.scenario_file = "redis.lua", .scenario_id = "redis.lua#1",
			      .name = "redis: accept4", .verdict = "PASS",
			      .recs = recs, .nrecs = nr};
	json_t *doc = fl_journal_file_json(&jf);
	char *text = json_dumps(doc, JSON_INDENT(1));
	fl_journal_digest(recs, nr, digest);
	*secs = (double)(fl_now_ns() - t0) / 1e9;
	*bytes = text ? strlen(text) : 0;
	*records = nr;
	free(text);
	json_decref(doc);
	free(recs);
}

static void bench_journal_files(void)
{
	enum { CALLS = 100000 };
	printf("15. A journal of 100 000 faults, as a server's accept loop "
	       "fires them (one\n   thread, one point, one errno) and 334 "
	       "of another thread's interleaved:\n   the journal file's JSON "
	       "built and dumped, and the digest, wall time\n\n");
	fl_fault_rec *v = fl_xcalloc(CALLS + 1000, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < CALLS; i++) {
		fl_fault_rec *r = &v[n++];
		snprintf(r->point, sizeof r->point, "posix/io/net/accept4");
		snprintf(r->actor, sizeof r->actor, "0");
		r->n = 22 + i;
		r->err = ECONNABORTED;
		r->t = 0.6 + (double)i * 1.7e-6;
		if (i % 300 == 0) {
			r = &v[n++];
			snprintf(r->point, sizeof r->point, "posix/io/oc/close");
			snprintf(r->actor, sizeof r->actor, "0.1");
			r->n = 1 + i / 300;
			r->err = i % 600 ? EIO : EINTR;
			r->t = 0.6 + (double)i * 1.7e-6;
		}
	}
	double s_calls, s_runs;
	size_t b_calls, b_runs, r_calls, r_runs;
	char d_calls[17], d_runs[17];
	/* Folded first: the unfolded run's hundreds of thousands of freed
	 * JSON objects would slow whatever allocates after them. */
	journal_write_cost(v, n, 1, &s_runs, &b_runs, &r_runs, d_runs);
	journal_write_cost(v, n, 0, &s_calls, &b_calls, &r_calls, d_calls);
	printf("   %-36s %9s %12s %9s  %s\n", "", "records", "bytes", "time",
	       "digest");
	printf("   %-36s %9zu %12zu %7.3f s  %s\n",
	       "a record per call (before)", r_calls, b_calls, s_calls, d_calls);
	printf("   %-36s %9zu %12zu %7.3f s  %s\n",
	       "run-length records (now)", r_runs, b_runs, s_runs, d_runs);
	printf("\n   the digest is the same (%s): it is over the calls, folded "
	       "or not\n\n",
	       strcmp(d_calls, d_runs) ? "NOT the same: a bug" : "yes");
	free(v);
}

static void bench_forks(void)
{
	printf("10. fork(), the child's exit and the wait: CPU time of parent "
	       "and child, mean\n   of 400 (the agent maps its region's control "
	       "part again in each child)\n\n");
	double b0, b1, p0, p1, a0, a1;
	if (callbench(NULL, "forks", &b0, &b1, NULL) < 0) {
		printf("   callbench failed\n\n");
		return;
	}
	char *env_pre[] = {"LD_PRELOAD=/usr/lib/fiu/fiu_posix_preload.so", NULL};
	callbench(env_pre, "forks", &p0, &p1, NULL);
	callbench_agent("forks", 0, &a0, &a1, NULL);
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void sleep_until_ns(int64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / FL_NS_PER_SEC),
			      .tv_nsec = (long)(t % FL_NS_PER_SEC)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* A server for the probe figures, in a child process: PING answered with
 * FAIL until *recover_at (monotonic, shared with the parent), PONG after;
 * HTTP answered with 200 and a 2-byte body. One connection at a time, as
 * probes come one at a time. */
typedef struct probe_server {
	pid_t pid;
	int port4, port6, port_http;	/* port6 0: no ::1 here */
	char dir[32], path[108];
	volatile int64_t *recover_at;
} probe_server;

static int listen_on(int family, int *port, const char *path)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	if (family == AF_UNIX) {
		struct sockaddr_un *a = (struct sockaddr_un *)&ss;
		a->sun_family = AF_UNIX;
		snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
		sl = sizeof *a;
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		close(fd);
		return -1;
	}
	if (family == AF_INET6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else if (family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void serve_probes(int lfd[4], volatile int64_t *recover_at)
{
	for (;;) {
		struct pollfd p[4];
		int n = 0;
		for (int i = 0; i < 4; i++)
			if (lfd[i] >= 0)
				p[n++] = (struct pollfd){lfd[i], POLLIN, 0};
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			char buf[2048];
			size_t have = 0;
			int http = p[i].fd == lfd[3];
			while (have + 1 < sizeof buf) {
				ssize_t r = recv(fd, buf + have,
						 sizeof buf - 1 - have, 0);
				if (r <= 0)
					break;
				have += (size_t)r;
				buf[have] = '\0';
				if (strstr(buf, http ? "\r\n\r\n" : "\n"))
					break;
			}
			const char *reply =
				http ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				       "Connection: close\r\n\r\nok"
				: fl_now_ns() >= *recover_at ? "PONG\n"
							      : "FAIL\n";
			if (have && send(fd, reply, strlen(reply),
					 MSG_NOSIGNAL) < 0) {
				/* The client went away: nothing to do. */
			}
			/* A line server keeps the connection until the client
			 * closes it; an HTTP one closes after the reply. */
			while (!http && recv(fd, buf, sizeof buf, 0) > 0)
				;
			close(fd);
		}
	}
}

static int probe_server_start(probe_server *s)
{
	memset(s, 0, sizeof *s);
	s->recover_at = mmap(NULL, sizeof *s->recover_at,
			     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
	if (s->recover_at == MAP_FAILED)
		return -1;
	*s->recover_at = 0;
	snprintf(s->dir, sizeof s->dir, "/tmp/fl-bench-p.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(s->path, sizeof s->path, "%s/probe.sock", s->dir);
	int lfd[4];
	lfd[0] = listen_on(AF_INET, &s->port4, NULL);
	lfd[1] = listen_on(AF_INET6, &s->port6, NULL);
	lfd[2] = listen_on(AF_UNIX, NULL, s->path);
	lfd[3] = listen_on(AF_INET, &s->port_http, NULL);
	if (lfd[0] < 0 || lfd[2] < 0 || lfd[3] < 0)
		return -1;
	if (lfd[1] < 0)
		s->port6 = 0;
	s->pid = fork();
	if (s->pid == 0) {
		serve_probes(lfd, s->recover_at);
		_exit(0);
	}
	for (int i = 0; i < 4; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	return s->pid > 0 ? 0 : -1;
}

static void probe_server_stop(probe_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	unlink(s->path);
	rmdir(s->dir);
	munmap((void *)s->recover_at, sizeof *s->recover_at);
}

/* n runs of a probe; prints median and p99 of start-to-verdict. Returns
 * the median, or -1 when one failed (with its reason). */
static int64_t probe_latency(const char *what, const fl_probe *p, int n,
			     int want_ok)
{
	int64_t *v = calloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		fl_probe_result r;
		if (fl_probe_run(p, &r) != want_ok) {
			printf("   %-40s %s\n", what,
			       r.ok ? "passed (unexpected)" : r.detail);
			free(v);
			return -1;
		}
		v[i] = r.end_ns - r.start_ns;
	}
	print_latency(what, v, (size_t)n);
	qsort(v, (size_t)n, sizeof *v, cmp_i64);
	int64_t med = v[n / 2];
	free(v);
	return med;
}

static int64_t connect_close(const char *what, int port, int n)
{
	int64_t *v = calloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		int64_t t0 = fl_now_ns();
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
			printf("   connect: %s\n", strerror(errno));
			if (fd >= 0)
				close(fd);
			free(v);
			return -1;
		}
		close(fd);
		v[i] = fl_now_ns() - t0;
	}
	print_latency(what, v, (size_t)n);
	qsort(v, (size_t)n, sizeof *v, cmp_i64);
	int64_t med = v[n / 2];
	free(v);
	return med;
}

/* How long after the target recovered its recovery is seen: probing
 * back to back, and probing every interval (results dated by their reply
 * in both). Runs are spread over the interval's phases. */
static void recovery_resolution(probe_server *s, int64_t interval)
{
	enum { RUNS = 20 };
	fl_probe p = {.addr = {.family = AF_INET, .port = s->port4},
		      .send = "PING\n",
		      .send_len = 5,
		      .expect = "PONG"};
	double b2b[RUNS], periodic[RUNS];
	unsigned attempts = 0;
	int64_t busy = 0;
	for (int i = 0; i < RUNS; i++) {
		/* Back to back from 20 ms before the recovery. */
		int64_t t0 = fl_now_ns();
		*s->recover_at = t0 + 20 * FL_NS_PER_MS;
		fl_probe_loop loop = {.deadline_ns = t0 + FL_NS_PER_SEC};
		fl_probe_result r;
		if (fl_probe_until_ok(&p, &loop, &r) != 0) {
			printf("   back to back: %s\n", r.detail);
			return;
		}
		b2b[i] = (double)(fl_probe_result_time(&r) - *s->recover_at);
		attempts += loop.attempts;
		busy += fl_probe_result_time(&r) - t0;
		/* Every interval, the recovery at a different phase. */
		t0 = fl_now_ns();
		*s->recover_at = t0 + 20 * FL_NS_PER_MS + interval * i / RUNS;
		for (int64_t next = t0;; next += interval) {
			sleep_until_ns(next);
			if (fl_probe_run(&p, &r))
				break;
		}
		periodic[i] = (double)(fl_probe_result_time(&r) - *s->recover_at);
	}
	qsort(b2b, RUNS, sizeof b2b[0], cmp_double);
	qsort(periodic, RUNS, sizeof periodic[0], cmp_double);
	char a[32], b[32], c[32], d[32];
	fl_fmt_duration(a, sizeof a, (int64_t)b2b[RUNS / 2]);
	fl_fmt_duration(b, sizeof b, (int64_t)b2b[RUNS - 1]);
	fl_fmt_duration(c, sizeof c, (int64_t)periodic[RUNS / 2]);
	fl_fmt_duration(d, sizeof d, (int64_t)periodic[RUNS - 1]);
	printf("\n   recovery seen after it happened (%d recoveries):\n", RUNS);
	printf("   %-40s median %10s   max %10s\n", "probing back to back", a, b);
	char iv[32];
	fl_fmt_duration(iv, sizeof iv, interval);
	char label[64];
	snprintf(label, sizeof label, "a probe every %s", iv);
	printf("   %-40s median %10s   max %10s\n", label, c, d);
	printf("   back to back against a failing target: %.0f probes/s\n",
	       (double)attempts / ((double)busy / 1e9));
}

static void bench_probes(void)
{
	enum { N = 2000 };
	printf("6. One health probe, start to verdict, on loopback, beside a "
	       "plain connect + close\n   (median of %d; a server that answers "
	       "one connection at a time)\n\n", N);
	probe_server s;
	if (probe_server_start(&s) < 0) {
		printf("   could not start the probe server: %s\n\n",
		       strerror(errno));
		return;
	}
	*s.recover_at = 0;
	connect_close("plain connect + close, TCP 127.0.0.1", s.port4, N);
	fl_probe p = {.addr = {.family = AF_INET, .port = s.port4},
		      .send = "PING\n",
		      .send_len = 5,
		      .expect = "PONG"};
	probe_latency("PING/PONG probe, TCP 127.0.0.1", &p, N, 1);
	if (s.port6) {
		p.addr = (fl_probe_addr){.family = AF_INET6, .port = s.port6};
		probe_latency("PING/PONG probe, TCP ::1", &p, N, 1);
	}
	p.addr = (fl_probe_addr){.family = AF_UNIX, .path = s.path};
	probe_latency("PING/PONG probe, Unix socket", &p, N, 1);
	fl_probe h = {.addr = {.family = AF_INET, .port = s.port_http},
		      .http_path = "/health"};
	probe_latency("HTTP GET /health -> 200, 127.0.0.1", &h, N, 1);
	h.expect = "ok";
	probe_latency("HTTP GET /health -> 200, body 'ok'", &h, N, 1);
	/* A wrong reply now fails when it is complete. */
	*s.recover_at = INT64_MAX;
	p.addr = (fl_probe_addr){.family = AF_INET, .port = s.port4};
	probe_latency("FAIL reply to a PONG probe: failed after", &p, N, 0);
	printf("   (before this probe, a FAIL reply failed only at the "
	       "timeout, 500 ms by default)\n");
	recovery_resolution(&s, 50 * FL_NS_PER_MS);
	probe_server_stop(&s);
	printf("\n");
}

/* Starts argv (stdout and stderr to /dev/null) in its own process group. */
static pid_t start_quiet(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop_quiet(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int have_program(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Waits (up to 5 s) until a probe of the server passes. */
static int wait_up(const fl_probe *p)
{
	fl_probe_loop loop = {.deadline_ns = fl_now_ns() + 5 * FL_NS_PER_SEC,
			      .gap_ns = 10 * FL_NS_PER_MS};
	fl_probe_result r;
	if (fl_probe_until_ok(p, &loop, &r) == 0)
		return 0;
	printf("   not up after 5 s: %s\n", r.detail);
	return -1;
}

static void bench_real_servers(void)
{
	enum { N = 1000 };
	printf("7. Health probes of real servers (Debian's redis-server and "
	       "nginx; median of %d)\n\n", N);
	char dir[] = "/tmp/fl-bench-srv.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return;
	}
	int have6 = 0;
	{
		int p6 = 0, fd = listen_on(AF_INET6, &p6, NULL);
		have6 = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	if (have_program("redis-server")) {
		int port = fl_probe_free_port();
		char portbuf[16], sock[160], bind[32];
		snprintf(portbuf, sizeof portbuf, "%d", port);
		snprintf(sock, sizeof sock, "%s/redis.sock", dir);
		snprintf(bind, sizeof bind, "%s", have6 ? "127.0.0.1 ::1"
							: "127.0.0.1");
		char *argv[] = {"redis-server", "--port", portbuf, "--bind",
				bind, "--save", "", "--appendonly", "no",
				"--dir", dir, "--unixsocket", sock,
				"--unixsocketperm", "700", NULL};
		pid_t pid = start_quiet(argv);
		fl_probe p = {.addr = {.family = AF_INET, .port = port},
			      .send = "PING\r\n",
			      .send_len = 6,
			      .expect = "+PONG\r\n"};
		if (wait_up(&p) == 0) {
			connect_close("redis: plain connect + close", port, N);
			probe_latency("redis PING -> +PONG, TCP 127.0.0.1", &p, N, 1);
			if (have6) {
				p.addr.family = AF_INET6;
				probe_latency("redis PING -> +PONG, TCP ::1", &p, N,
					      1);
			}
			p.addr = (fl_probe_addr){.family = AF_UNIX, .path = sock};
			probe_latency("redis PING -> +PONG, Unix socket", &p, N, 1);
			p.addr = (fl_probe_addr){.family = AF_INET, .port = port};
			p.send = "GET nokey\r\n";
			p.send_len = 11;
			probe_latency("redis GET nokey (no +PONG): failed after",
				      &p, N, 0);
		}
		stop_quiet(pid);
	} else {
		printf("   redis-server not installed (make deps-bench installs "
		       "it)\n");
	}
	if (have_program("nginx")) {
		int port = fl_probe_free_port();
		char conf[PATH_MAX], sock[160], v6[48] = "";
		if (have6)
			snprintf(v6, sizeof v6, "listen [::1]:%d;", port);
		snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
		snprintf(sock, sizeof sock, "%s/nginx.sock", dir);
		FILE *f = fopen(conf, "w");
		if (!f) {
			perror(conf);
			goto out;
		}
		fprintf(f,
			"daemon off; master_process off; worker_processes 1;\n"
			"pid %s/nginx.pid; error_log stderr;\n"
			"events { worker_connections 64; }\n"
			"http { access_log off;\n"
			"  client_body_temp_path %s/cb; proxy_temp_path %s/px;\n"
			"  fastcgi_temp_path %s/fc; uwsgi_temp_path %s/uw;\n"
			"  scgi_temp_path %s/sc;\n"
			"  server { listen 127.0.0.1:%d; %s listen unix:%s;\n"
			"    location = /health { return 200 \"ok\\n\"; }\n"
			"    location = /down { return 503; } } }\n",
			dir, dir, dir, dir, dir, dir, port, v6, sock);
		fclose(f);
		char *argv[] = {"nginx", "-p", dir, "-c", conf, "-e", "stderr",
				NULL};
		pid_t pid = start_quiet(argv);
		fl_probe h = {.addr = {.family = AF_INET, .port = port},
			      .http_path = "/health"};
		if (wait_up(&h) == 0) {
			connect_close("nginx: plain connect + close", port, N);
			probe_latency("nginx GET /health -> 200, 127.0.0.1", &h,
				      N, 1);
			h.expect = "ok";
			probe_latency("nginx GET /health -> 200, body 'ok'", &h, N, 1);
			h.expect = NULL;
			if (have6) {
				h.addr.family = AF_INET6;
				probe_latency("nginx GET /health -> 200, TCP ::1", &h, N,
					      1);
			}
			h.addr = (fl_probe_addr){.family = AF_UNIX, .path = sock};
			probe_latency("nginx GET /health -> 200, Unix socket", &h, N, 1);
			h.addr = (fl_probe_addr){.family = AF_INET, .port = port};
			h.http_path = "/down";
			probe_latency("nginx GET /down (503): failed after", &h,
				      N, 0);
		}
		stop_quiet(pid);
	} else {
		printf("   nginx not installed (make deps-bench installs "
		       "nginx-light)\n");
	}
out:;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	printf("\n");
}

/* ------------------------------------------------------------------ */
/* 11: the monitor at its limit. */

/* The intervals between consecutive samples of a session (ns). */
static size_t intervals(fl_session *s, int64_t from_ns, int64_t **out)
{
	fl_sample *v;
	pthread_mutex_lock(&s->lock);
	size_t n = fl_series_copy(&s->series, from_ns, INT64_MAX, &v, NULL);
	pthread_mutex_unlock(&s->lock);
	int64_t *d = malloc((n + 1) * sizeof *d);
	size_t k = 0;
	for (size_t i = 1; i < n; i++)
		d[k++] = v[i].t_ns - v[i - 1].t_ns;
	free(v);
	*out = d;
	return k;
}

/* The floor of a method: a thread that waits for a timerfd at the rate
 * and, at each tick, reads the three figures of n processes the way a
 * sample does, with nothing else: no lock, no series, no journal. /proc:
 * statm, and fstat of fd/ and task/, all kept open; bpf: one run of the
 * BPF sampler over the n pids. n = 0: it only waits. Its CPU time and
 * the ticks it missed over window_ns. */
struct floor_thread {
	int64_t period_ns, window_ns, cpu_ns;
	uint64_t missed;
	int n;
	int bpf;
	fl_sampler *samplers;
	fl_bpfs_ent *ents;
};

static void *floor_main(void *arg)
{
	struct floor_thread *it = arg;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = {{0, it->period_ns}, {0, it->period_ns}};
	if (it->period_ns >= FL_NS_PER_SEC)
		its.it_interval.tv_sec = its.it_value.tv_sec = 1;
	timerfd_settime(fd, 0, &its, NULL);
	struct timespec c0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	int64_t end = fl_now_ns() + it->window_ns;
	while (fl_now_ns() < end) {
		uint64_t x;
		if (read(fd, &x, sizeof x) < 0)
			break;
		if (x > 1)
			it->missed += x - 1;
		if (it->bpf && it->n) {
			(void)fl_bpfs_read(it->ents, (size_t)it->n);
			continue;
		}
		for (int i = 0; i < it->n; i++) {
			fl_sample smp;
			(void)fl_sampler_read(&it->samplers[i], &smp);
		}
	}
	close(fd);
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	it->cpu_ns = ((int64_t)ts.tv_sec - c0.tv_sec) * FL_NS_PER_SEC +
		     ts.tv_nsec - c0.tv_nsec;
	return NULL;
}

/* Runs the floor thread over the n sessions' processes; its CPU in % of
 * a core, and its missed ticks in *missed. */
static double floor_percent(double hz, double window_s, fl_session **sess,
			    int n, int bpf, uint64_t *missed)
{
	struct floor_thread it = {(int64_t)(1e9 / hz), (int64_t)(window_s * 1e9),
				  0, 0, n, bpf, NULL, NULL};
	it.samplers = calloc((size_t)n + 1, sizeof *it.samplers);
	it.ents = calloc((size_t)n + 1, sizeof *it.ents);
	int ok = 1;
	for (int i = 0; i < n && ok; i++) {
		ok = fl_sampler_open(&it.samplers[i], sess[i]->child.pid, 0) == 0;
		it.ents[i].pid = sess[i]->child.pid;
	}
	pthread_t t;
	double pct = -1;
	if (ok && pthread_create(&t, NULL, floor_main, &it) == 0) {
		pthread_join(t, NULL);
		pct = 100.0 * (double)it.cpu_ns / (double)it.window_ns;
	}
	for (int i = 0; i < n; i++)
		fl_sampler_close(&it.samplers[i]);
	free(it.samplers);
	free(it.ents);
	*missed = it.missed;
	return pct;
}

/* The machine's steal time and total time so far, in clock ticks, from
 * /proc/stat's cpu line: the time the hypervisor ran something else
 * while this VM's CPUs wanted to run. 0 or -1. */
static int steal_ticks(long long *steal, long long *total)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	long long v[8] = {0};
	int n = fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0],
		       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return -1;
	*steal = v[7];
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	return 0;
}

/* What the monitor did over one window with the n sessions running. */
struct window {
	double cpu_pct, sampling_pct, rate;
	char p50[32], p99[32];
	uint64_t missed;	/* the most ticks one target missed */
	int ok;
};

static void monitor_window(fl_session **sess, int n, double window_s,
			   struct window *w)
{
	enum { MAXT = 16 };
	memset(w, 0, sizeof *w);
	int64_t t0 = fl_now_ns(), cpu0 = fl_monitor_cpu_ns();
	/* Missed ticks are counted per target; the targets of a rate share
	 * one timer, so each misses the same ticks: the most any target
	 * missed is printed. */
	uint64_t samples0 = 0, cost0 = 0, missed0[MAXT] = {0};
	int64_t rel0[MAXT];
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&sess[i]->lock);
		samples0 += fl_series_count(&sess[i]->series);
		cost0 += sess[i]->sample_cost_total_ns;
		missed0[i] = sess[i]->missed_ticks;
		pthread_mutex_unlock(&sess[i]->lock);
		rel0[i] = fl_session_now(sess[i]);
	}
	usleep((useconds_t)(window_s * 1e6));
	int64_t t1 = fl_now_ns(), cpu1 = fl_monitor_cpu_ns();
	uint64_t samples1 = 0, cost1 = 0;
	int64_t *all = NULL;
	size_t nall = 0;
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&sess[i]->lock);
		samples1 += fl_series_count(&sess[i]->series);
		cost1 += sess[i]->sample_cost_total_ns;
		if (sess[i]->missed_ticks - missed0[i] > w->missed)
			w->missed = sess[i]->missed_ticks - missed0[i];
		pthread_mutex_unlock(&sess[i]->lock);
		int64_t *d;
		size_t k = intervals(sess[i], rel0[i], &d);
		all = realloc(all, (nall + k + 1) * sizeof *all);
		memcpy(all + nall, d, k * sizeof *d);
		nall += k;
		free(d);
	}
	if (nall == 0) {
		free(all);
		return;
	}
	qsort(all, nall, sizeof *all, cmp_i64);
	double wall = (double)(t1 - t0);
	w->cpu_pct = 100.0 * (double)(cpu1 - cpu0) / wall;
	w->sampling_pct = 100.0 * (double)(cost1 - cost0) / wall;
	w->rate = (double)(samples1 - samples0) / (wall / 1e9);
	fl_fmt_duration(w->p50, sizeof w->p50, all[nall / 2]);
	fl_fmt_duration(w->p99, sizeof w->p99, all[nall * 99 / 100]);
	w->ok = 1;
	free(all);
}

static void print_window(const char *rate, const char *targets,
			 const char *method, const struct window *w,
			 double floor_pct, uint64_t floor_missed)
{
	if (!w->ok) {
		printf("   %8s %7s %6s  (no samples)\n", rate, targets, method);
		return;
	}
	printf("   %8s %7s %6s %7.1f %% %12.1f %% %10.0f %9s %9s %7llu "
	       "%6.1f %% %7llu\n",
	       rate, targets, method, w->cpu_pct, w->sampling_pct, w->rate,
	       w->p50, w->p99, (unsigned long long)w->missed, floor_pct,
	       (unsigned long long)floor_missed);
}

static void bench_monitor(void)
{
	enum { MAXT = 16 };
	const double rates[] = {200, 1000, 10000};
	const int counts[] = {1, 4, 16};
	const double window_s = 2.0;
	printf("11. The monitor thread at its limit: idle targets (sleep) sampled "
	       "for %.0f s by each\n   method in turn; its CPU time (the "
	       "thread's own clock), the samples' share\n   of it, and the "
	       "interval between samples (p50 / p99 over every target)\n\n",
	       window_s);
	if (fl_monitor_start() < 0) {
		printf("   cannot start the monitor\n\n");
		return;
	}
	char why[256] = "";
	int bpf = fl_bpfs_load(why, sizeof why) == 0;
	if (!bpf)
		printf("   the BPF sampler cannot load here (%s): /proc alone\n\n",
		       why);
	long long steal0 = 0, total0 = 0, steal1 = 0, total1 = 0;
	int have_steal = steal_ticks(&steal0, &total0) == 0;
	printf("   %8s %7s %6s %9s %14s %10s %9s %9s %7s %8s %7s\n", "rate",
	       "targets", "method", "monitor", "of it sampling", "samples/s",
	       "p50", "p99", "missed", "floor", "missed");
	for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
		char rate[16];
		snprintf(rate, sizeof rate, "%.0f Hz", rates[r]);
		uint64_t fmissed = 0;
		double fpct = floor_percent(rates[r], window_s, NULL, 0, 0,
					    &fmissed);
		printf("   %8s %7s %6s %9s %14s %10s %9s %9s %7s %6.1f %% %7llu\n",
		       rate, "none", "", "", "", "", "", "", "", fpct,
		       (unsigned long long)fmissed);
		for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
			int n = counts[c];
			fl_session *sess[MAXT];
			int ok = 1;
			for (int i = 0; i < n; i++) {
				char *argv[] = {"sleep", "1000", NULL};
				fl_spawn_spec spec = {.argv = argv, .envp = environ};
				fl_child child;
				char err[256] = "";
				sess[i] = calloc(1, sizeof *sess[i]);
				if (fl_target_spawn(&spec, &child, err, sizeof err) < 0 ||
				    fl_session_init(sess[i], &child, rates[r], 0) < 0 ||
				    fl_monitor_add(sess[i]) < 0) {
					printf("   cannot start target %d: %s\n", i, err);
					ok = 0;
					n = i + 1;
					break;
				}
			}
			/* Settle, then a window with each method, the same
			 * processes. */
			struct window wp, wb;
			memset(&wb, 0, sizeof wb);
			fl_monitor_use_bpf(0);
			usleep(200000);
			if (ok)
				monitor_window(sess, n, window_s, &wp);
			if (ok && bpf && fl_monitor_use_bpf(1) == 0) {
				usleep(100000);
				monitor_window(sess, n, window_s, &wb);
			}
			fl_monitor_use_bpf(0);
			/* The same processes, read by the floor thread alone,
			 * with the monitor no longer sampling them. */
			for (int i = 0; i < n; i++)
				fl_monitor_remove(sess[i]);
			uint64_t pmissed = 0, bmissed = 0;
			double ppct = ok ? floor_percent(rates[r], window_s, sess,
							 n, 0, &pmissed)
					 : -1;
			double bpct = ok && bpf ? floor_percent(rates[r], window_s,
								sess, n, 1,
								&bmissed)
						: -1;
			for (int i = 0; i < n; i++) {
				fl_target_kill_group(&sess[i]->child, SIGKILL);
				waitpid(sess[i]->child.pid, NULL, 0);
				fl_session_destroy(sess[i]);
				free(sess[i]);
			}
			if (!ok)
				continue;
			char targets[16];
			snprintf(targets, sizeof targets, "%d", n);
			print_window(rate, targets, "/proc", &wp, ppct, pmissed);
			if (bpf)
				print_window("", "", "bpf", &wb, bpct, bmissed);
		}
	}
	fl_monitor_stop();
	have_steal &= steal_ticks(&steal1, &total1) == 0 && total1 > total0;
	if (have_steal)
		printf("\n   steal time the kernel reported over this section "
		       "(/proc/stat): %.1f %% of\n   the CPUs' time\n",
		       100.0 * (double)(steal1 - steal0) /
			       (double)(total1 - total0));
	printf("\n   monitor: its thread's CPU time over the window, in %% of a "
	       "core; of it\n   sampling: the reads alone; missed: the ticks "
	       "one target missed. /proc:\n   three system calls a process "
	       "(FAULTLINE_SAMPLER=procfs); bpf: one run of\n   the BPF "
	       "sampler a tick for every target (the default once it has "
	       "loaded).\n   floor: a thread that only waits for a timer at the "
	       "rate and reads the\n   same figures of the same processes the "
	       "same way (none: only waits), with\n   its own missed ticks: "
	       "what this machine costs and misses whatever the\n   monitor "
	       "does. Goals: 16 targets at 1 kHz under 10 %% of a core; one\n"
	       "   target at 10 kHz with a p99 interval within 2 periods and "
	       "no missed\n   tick (idle machine).\n\n");
}

/* ------------------------------------------------------------------ */
/* make soak: faultline's own memory over a long scenario.              */

/* A process's resident set and its peak (VmRSS, VmHWM), in bytes. */
static int vm_of(pid_t pid, long long *rss, long long *hwm)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (fl_procfs_status_field(buf, "VmRSS", rss) < 0 ||
	    fl_procfs_status_field(buf, "VmHWM", hwm) < 0)
		return -1;
	return 0;
}

static void soak(const char *faultline, double seconds, double hz)
{
	printf("soak: one scenario of %.0f s at %.0f Hz (a fault window and a "
	       "recovery every 10 s),\n      faultline's memory as it runs\n\n",
	       seconds, hz);
	char dir[] = "/tmp/fl-soak.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return;
	}
	char scen[PATH_MAX], json[PATH_MAX];
	snprintf(scen, sizeof scen, "%s/soak.lua", dir);
	snprintf(json, sizeof json, "%s/results.json", dir);
	FILE *f = fopen(scen, "w");
	fprintf(f,
		"return { name = 'soak', timeout = %.0f, sample = { hz = %.0f },\n"
		"  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
		"             ready = { stdout = 'READY' } },\n"
		"  steady = { fds = '+2', threads = '+0' },\n"
		"  run = function(t)\n"
		"    t:settle(1)\n"
		"    local stop_at = t:now() + %.0f\n"
		"    while t:now() < stop_at do\n"
		"      t:fault('posix/io/rw/read', { p = 0.5, optional = 'an idle target reads nothing' })\n"
		"      t:sleep(1)\n"
		"      t:clear()\n"
		"      t:expect_recovery { within = 2 }\n"
		"      t:tcp('PING\\n')\n"
		"      t:sleep(9)\n"
		"    end\n"
		"    t:expect { trend = { rss = '1MiB/s', fds = '1/s' } }\n"
		"    t:stop()\n"
		"    t:expect { leaked = { fds = 0, threads = 0 } }\n"
		"  end }\n",
		seconds + 120, hz, seconds);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execl(faultline, faultline, "run", "-q", "--no-report", "--json",
		      json, scen, (char *)NULL);
		_exit(127);
	}
	int64_t t0 = fl_now_ns();
	double next = 0, step = seconds / 10 < 5 ? 5 : seconds / 10;
	long long rss = 0, hwm = 0;
	printf("   %10s %12s %12s\n", "elapsed", "RSS", "peak RSS");
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		double el = (double)(fl_now_ns() - t0) / 1e9;
		long long r, h;
		if (vm_of(pid, &r, &h) == 0) {
			rss = r;
			hwm = h;
		}
		if (el >= next) {
			char a[32], b[32];
			fl_fmt_bytes(a, sizeof a, (double)rss);
			fl_fmt_bytes(b, sizeof b, (double)hwm);
			printf("   %8.0f s %12s %12s\n", el, a, b);
			fflush(stdout);
			next += step;
		}
		usleep(200000);
	}
	char b[32];
	fl_fmt_bytes(b, sizeof b, (double)hwm);
	json_error_t je;
	json_t *doc = json_load_file(json, 0, &je);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	json_t *sm = json_object_get(t, "sampling");
	printf("\n   peak RSS of faultline: %s over %.0f s (%lld samples, %lld "
	       "missed ticks; the series\n   keeps %.1f MiB); verdict %s%s%s\n\n",
	       b, (double)(fl_now_ns() - t0) / 1e9,
	       (long long)json_integer_value(json_object_get(sm, "samples")),
	       (long long)json_integer_value(json_object_get(sm, "missed_ticks")),
	       (double)json_integer_value(json_object_get(sm, "kept_bytes")) /
		       (1 << 20),
	       json_string_value(json_object_get(s, "verdict"))
		       ? json_string_value(json_object_get(s, "verdict"))
		       : "(none)",
	       json_is_string(json_object_get(s, "message")) ? ": " : "",
	       json_is_string(json_object_get(s, "message"))
		       ? json_string_value(json_object_get(s, "message"))
		       : "");
	json_decref(doc);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
}

/* Is section k asked for? No section numbers after the binary: all. */
static int want(int argc, char **argv, int k)
{
	if (argc <= 2)
		return 1;
	for (int i = 2; i < argc; i++)
		if (atoi(argv[i]) == k)
			return 1;
	return 0;
}

/* Runs fn in a child; its wall time and peak RSS. */
static void in_child(int (*fn)(const char *), const char *path, double *secs,
		     long *maxrss_kib, int *status)
{
	int64_t t0 = fl_now_ns();
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(path) & 0xff);
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	wait4(pid, &st, 0, &ru);
	*secs = (double)(fl_now_ns() - t0) / 1e9;
	*maxrss_kib = ru.ru_maxrss;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int load_with_reader(const char *path)
{
	json_t *doc;
	char err[512];
	int r = fl_results_load(path, &doc, err, sizeof err);
	json_decref(doc);
	return r == -ENOTSUP ? 0 : 1;
}

static int load_whole_first(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	if (!doc)
		return 1;
	json_int_t v = json_integer_value(json_object_get(doc, "schema_version"));
	json_decref(doc);
	return v == FL_RESULTS_SCHEMA_VERSION ? 1 : 0;
}

static void bench_results_head(void)
{
	printf("8. Refusing a results file of an unknown schema version (94 MB)\n\n");
	char dir[] = "/tmp/fl-bench-r.XXXXXX";
	if (!mkdtemp(dir))
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/results.json", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	/* A scenario with a long series, like a run's, repeated. */
	fl_buf one;
	fl_buf_init(&one);
	fl_buf_puts(&one, "{\"id\": \"s.lua\", \"verdict\": \"PASS\", \"targets\": "
			  "[{\"series\": {\"t\": [");
	for (int i = 0; i < 4000; i++)
		fl_buf_printf(&one, "%s%.3f", i ? ", " : "", i * 0.001);
	fl_buf_puts(&one, "], \"fds\": [");
	for (int i = 0; i < 4000; i++)
		fl_buf_printf(&one, "%s%d", i ? ", " : "", 5 + i % 3);
	fl_buf_puts(&one, "]}}]}");
	fputs("{\n \"schema\": \"faultline.results\",\n \"schema_version\": 2,\n"
	      " \"scenarios\": [", f);
	long size = 0;
	for (int i = 0; size < 94000000L; i++) {
		if (i)
			fputs(",\n", f);
		fputs(one.data, f);
		size += (long)one.len + 2;
	}
	fputs("]}\n", f);
	fclose(f);
	fl_buf_free(&one);
	double ta, tb;
	long ra, rb;
	int sa, sb;
	in_child(load_with_reader, path, &ta, &ra, &sa);
	in_child(load_whole_first, path, &tb, &rb, &sb);
	printf("   %-44s %8.3f s %9ld KiB peak RSS%s\n",
	       "fl_results_load (checks the first 4 KiB)", ta, ra,
	       sa ? " (did not refuse it!)" : "");
	printf("   %-44s %8.3f s %9ld KiB peak RSS%s\n",
	       "json_load_file, then the check", tb, rb,
	       sb ? " (did not refuse it!)" : "");
	printf("\n   whole parse / head check: %.0fx the time, %.0fx the memory\n\n",
	       tb / (ta > 0 ? ta : 1e-9), (double)rb / (double)(ra > 0 ? ra : 1));
	unlink(path);
	rmdir(dir);
}

/* MTTR against a target that knows when it recovered
 * (tests/targets/cooldown.c: its last failed fsync plus 300 ms): how far
 * faultline's figure is from the target's, per probe kind, with probes
 * every 50 ms between windows. */
static void bench_mttr(const char *faultline)
{
	printf("9. MTTR against the target's own recovery moment (cooldown: "
	       "last failed\n   fsync + 300 ms; probe interval 50 ms; 10 "
	       "episodes each)\n\n");
	char dir[] = "/tmp/fl-bench-mttr.XXXXXX";
	if (!mkdtemp(dir)) {
		printf("   (no temporary directory)\n\n");
		return;
	}
	char path[PATH_MAX], reports[PATH_MAX];
	snprintf(path, sizeof path, "%s/mttr.lua", dir);
	snprintf(reports, sizeof reports, "%s/reports", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fputs("local cmd = { 'build/tests/targets/cooldown', '--port', '{port}' }\n"
	      "local tcp = { tcp = '{port}', send = 'PING\\n', expect = 'PONG',\n"
	      "              interval = 0.05 }\n"
	      "local function fn(t) return t:tcp('PING\\n') == 'PONG\\n' end\n"
	      "local function s(name, health)\n"
	      "  return { name = name, timeout = 60,\n"
	      "    target = { cmd = cmd, ready = { stdout = 'READY' }, health = health,\n"
	      "      health_interval = type(health) == 'function' and 0.05 or nil },\n"
	      "    steady = { fds = '+1', threads = '+0', health = true },\n"
	      "    run = function(t) t:settle(0.3)\n"
	      "      t:episodes { point = 'posix/io/sync/fsync', p = 1, count = 10,\n"
	      "                   on = 0.1, off = 0.5, within = 1 } end }\n"
	      "end\n"
	      "return { s('tcp probe', tcp), s('function probe', fn) }\n",
	      f);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execl(faultline, faultline, "run", "--report-dir", reports, path,
		      (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	char rp[PATH_MAX + 32];
	snprintf(rp, sizeof rp, "%s/latest/results.json", reports);
	char err[256];
	json_t *doc = NULL;
	if (fl_results_load(rp, &doc, err, sizeof err) < 0) {
		printf("   (no results: %s)\n\n", err);
		return;
	}
	printf("   %-16s %12s %12s %12s\n", "probe", "median |d|", "max |d|",
	       "episodes");
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		json_t *recs = json_object_get(json_object_get(s, "journal"),
					       "records");
		double d[64];
		size_t nd = 0, k;
		json_t *ep, *r;
		json_array_foreach(json_object_get(s, "episodes"), k, ep)
		{
			double on = json_number_value(json_object_get(ep, "on"));
			double off = json_number_value(json_object_get(ep, "off"));
			double last = -1;
			size_t j;
			json_array_foreach(recs, j, r)
			{
				double t = json_number_value(json_object_get(r, "t"));
				if (t >= on - 0.01 && t <= off && t > last)
					last = t;
			}
			json_t *rs = json_object_get(ep, "recovery_s");
			if (last < 0 || !json_is_number(rs) || nd == 64)
				continue;
			d[nd++] = fabs(json_number_value(rs) - (last + 0.3 - off));
		}
		qsort(d, nd, sizeof *d, cmp_double);
		printf("   %-16s %9.2f ms %9.2f ms %12zu\n",
		       json_string_value(json_object_get(s, "name")),
		       nd ? d[nd / 2] * 1e3 : NAN, nd ? d[nd - 1] * 1e3 : NAN,
		       nd);
	}
	printf("   (interval probing alone would be up to 50 ms late)\n\n");
	json_decref(doc);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("   (could not remove %s)\n", dir);
}

/* ------------------------------------------------------------------ */
/* 12. The readers of results: gate, trend and merge on synthetic       */
/* results documents as large as real ones.                             */

/* One scenario as a run writes it (JSON_INDENT(1), at the depth of the
 * scenarios array), with its id, name, file and verdict left as marks
 * to fill in: a 1 s scenario sampled at 100 Hz, one fault window with 20
 * journal records, 3 recovered episodes, 40 health probes: about the
 * 12 KB a scenario of the issue's shards took. */
static char *scenario_template(void)
{
	json_t *t = json_array(), *fds = json_array(), *thr = json_array(),
	       *rss = json_array();
	for (int i = 0; i < 100; i++) {
		json_array_append_new(t, json_real(0.0039 + i * 0.010001 + i * 1e-9));
		json_array_append_new(fds, json_integer(6 + (i > 20) + (i > 60)));
		json_array_append_new(thr, json_integer(1 + (i > 3)));
		json_array_append_new(rss, json_integer(1839104 + 4096 * (i % 37)));
	}
	json_t *ht = json_array(), *hok = json_array(), *hlat = json_array(),
	       *hwhy = json_array();
	for (int i = 0; i < 40; i++) {
		json_array_append_new(ht, json_real(0.0098 + i * 0.0250 + i * 1e-9));
		json_array_append_new(hok, json_boolean(i < 10 || i > 20));
		json_array_append_new(hlat, json_real(0.151 + (i % 7) * 0.031));
		json_array_append_new(hwhy, i < 10 || i > 20 ? json_null()
					    : json_string("reply 'FAIL\\n' did not contain 'PONG'"));
	}
	json_t *recs = json_array();
	for (int i = 0; i < 20; i++)
		json_array_append_new(recs, json_pack("{s:s,s:s,s:i,s:s,s:f}", "point",
						      "posix/io/sync/fsync", "actor", "0.1",
						      "n", 139 + i, "errno", "EIO", "t",
						      0.411264817 + i * 0.0011));
	json_t *eps = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(
			eps, json_pack("{s:s,s:f,s:f,s:s,s:f,s:f,s:f,s:n}", "points",
				       "posix/io/sync/fsync", "on", 0.1 + i * 0.3, "off",
				       0.2 + i * 0.3, "state", "recovered", "recovery_s",
				       0.05 + 0.001 * i, "recovered_at",
				       0.0098 + (9 + 12 * i) * 0.0250 + (9 + 12 * i) * 1e-9,
				       "within_s", 1.0, "why"));
	json_t *log = json_array();
	for (int i = 0; i < 6; i++)
		json_array_append_new(log, json_pack("{s:f,s:s}", "t", 0.1 * i, "msg",
						     "fault on: posix/io/sync/fsync p=1"));
	json_t *s = json_pack(
		"{s:s,s:i,s:s,s:s,s:n,s:[s],s:i,s:s,s:n,s:b,s:f,s:f,s:n,s:s,s:n}",
		"file", "@FILE@", "index", 1, "id", "@ID@", "name", "@NAME@",
		"description", "tags", "bench", "seed", 1, "verdict", "@VERDICT@",
		"message", "load_error", 0, "duration_s", 1.138365313, "started",
		1795971127.0, "xfail", "rerun", "bin/faultline run --seed 1 @FILE@#1",
		"error");
	json_object_set_new(
		s, "targets",
		json_pack("[{s:[s,s,s],s:i,s:n,s:f,s:{s:b,s:n,s:s,s:b,s:f},"
			  "s:{s:f,s:i,s:f,s:f,s:i,s:s},s:{s:o,s:b,s:o,s:o,s:o},"
			  "s:{s:s,s:s,s:i,s:i}}]",
			  "argv", "build/tests/targets/cooldown", "--port", "57049",
			  "pid", 419, "start_error", "ready_s", 0.009608826, "exit",
			  "exited", 1, "code", "signal", "SIGTERM", "core_dumped", 0,
			  "t", 1.138126889, "sampling", "hz", 100.0, "samples", 100,
			  "mean_cost_us", 4.2, "max_cost_us", 49.1, "errors", 0,
			  "fd_method", "fstatat", "series", "t", t, "downsampled", 0,
			  "fds", fds, "threads", thr, "rss", rss, "output",
			  "stdout_tail", "READY\n", "stderr_tail", "", "stdout_bytes", 6,
			  "stderr_bytes", 0));
	json_object_set_new(s, "baseline",
			    json_pack("{s:f,s:f,s:i,s:f,s:f,s:f,s:n}", "from", 0.0097,
				      "to", 0.3097, "samples", 59, "fds", 9.0, "threads",
				      2.0, "rss", 1970176.0, "files"));
	json_object_set_new(s, "final",
			    json_pack("{s:f,s:s,s:b,s:i,s:i,s:i,s:n}", "t", 1.115,
				      "source", "snapshot", "quiet", 1, "fds", 8,
				      "threads", 2, "rss", 1970176, "files"));
	json_object_set_new(s, "leaks",
			    json_pack("{s:f,s:f,s:f,s:n}", "fds", 0.0, "threads", 0.0,
				      "rss", 0.0, "files"));
	json_object_set_new(s, "forensics",
			    json_pack("{s:[],s:i,s:[],s:[],s:[],s:i}", "new_fds",
				      "new_fd_count", 0, "gone_fds", "fd_groups",
				      "new_threads", "baseline_fd_count", 8));
	json_object_set_new(s, "faults",
			    json_pack("[{s:s,s:f,s:f,s:f,s:n,s:s,s:i}]", "point",
				      "posix/io/sync/fsync", "on", 0.41, "off", 0.61,
				      "p", 1.0, "errno", "trigger", "time", "fired", 20));
	json_object_set_new(s, "journal",
			    json_pack("{s:s,s:i,s:i,s:b,s:o}", "digest",
				      "fd52a637f66f7de0", "total", 20, "lost", 0,
				      "truncated", 0, "records", recs));
	json_object_set_new(s, "points",
			    json_pack("{s:{s:i,s:i}}", "posix/io/sync/fsync", "calls",
				      20, "fired", 20));
	json_object_set_new(s, "episodes", eps);
	json_object_set_new(s, "mttr",
			    json_pack("{s:i,s:f,s:f,s:f,s:f}", "n", 3, "mean_s", 0.051,
				      "p50_s", 0.051, "p95_s", 0.052, "max_s", 0.052));
	json_object_set_new(s, "health",
			    json_pack("{s:i,s:i,s:s,s:o,s:o,s:o,s:o}", "probes", 40,
				      "failed", 11, "kind", "tcp", "t", ht, "ok", hok,
				      "latency_ms", hlat, "why", hwhy));
	json_object_set_new(s, "expectations",
			    json_pack("[{s:s,s:b,s:s,s:s,s:s}]", "what", "recovery",
				      "ok", 1, "measured", "0.052 s", "allowed",
				      "1.000 s", "message", "recovered in 0.052 s"));
	json_object_set_new(s, "log", log);
	char *text = json_dumps(s, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(s);
	if (!text)
		return NULL;
	/* Two levels deeper, as an element of "scenarios". */
	fl_buf b;
	fl_buf_init(&b);
	for (const char *p = text; *p; p++) {
		fl_buf_putc(&b, *p);
		if (*p == '\n')
			fl_buf_puts(&b, "  ");
	}
	free(text);
	return fl_buf_steal(&b);
}

/* Writes the template with its marks filled in for scenario k. */
static void put_scenario(FILE *f, const char *tmpl, long k, const char *verdict)
{
	for (const char *p = tmpl; *p;) {
		const char *m = strchr(p, '@');
		if (!m) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(m - p), f);
		if (!strncmp(m, "@FILE@", 6)) {
			fprintf(f, "scenarios/s%ld.lua", k);
			p = m + 6;
		} else if (!strncmp(m, "@ID@", 4)) {
			fprintf(f, "scenarios/s%ld.lua#1", k);
			p = m + 4;
		} else if (!strncmp(m, "@NAME@", 6)) {
			fprintf(f, "scenario %ld", k);
			p = m + 6;
		} else if (!strncmp(m, "@VERDICT@", 9)) {
			fputs(verdict, f);
			p = m + 9;
		} else {
			fputc('@', f);
			p = m + 1;
		}
	}
}

/* A results document of scenarios first .. first + n - 1, every
 * fail_every-th FAIL (0: none); shard I/N when total > 0. Its size. */
static long write_results(const char *path, const char *tmpl, long first,
			  long n, long fail_every, const char *started,
			  const char *run_id, int shard, int total)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	long passed = 0, failed = 0;
	fprintf(f, "{\n \"schema\": \"faultline.results\",\n \"schema_version\": 1,\n"
		   " \"faultline_version\": \"bench\",\n \"run\": {\n  \"id\": \"%s\",\n"
		   "  \"started\": \"%s\",\n  \"duration_s\": 60.5,\n"
		   "  \"command\": \"bin/faultline run scenarios\",\n  \"seed\": 1,\n"
		   "  \"jobs\": 2,\n  \"repeat\": 1,\n",
		run_id, started);
	if (total > 0)
		fprintf(f, "  \"shard\": {\n   \"index\": %d,\n   \"total\": %d\n  },\n",
			shard, total);
	else
		fputs("  \"shard\": null,\n", f);
	fputs("  \"interrupted\": null\n },\n \"scenarios\": [\n  ", f);
	for (long k = first; k < first + n; k++) {
		int fail = fail_every > 0 && k % fail_every == fail_every - 1;
		if (k > first)
			fputs(",\n  ", f);
		put_scenario(f, tmpl, k, fail ? "FAIL" : "PASS");
		fail ? failed++ : passed++;
	}
	fprintf(f, "\n ],\n \"summary\": {\n  \"total\": %ld,\n  \"passed\": %ld,\n"
		   "  \"failed\": %ld,\n  \"errors\": 0,\n  \"xfailed\": 0,\n"
		   "  \"xpassed\": 0,\n  \"flaky\": 0,\n  \"load_errors\": 0,\n"
		   "  \"exit_status\": %d\n }\n}\n",
		n, passed, failed, failed ? 1 : 0);
	long size = ftell(f);
	if (fclose(f) != 0)
		return -1;
	return size;
}

/* Runs a faultline command, its output thrown away: its wall time and
 * the peak RSS of its process (wait4's rusage of that child alone). */
static int time_command(char *const argv[], double *secs, double *cpu,
			long *maxrss_kib)
{
	int64_t t0 = fl_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	*secs = (double)(fl_now_ns() - t0) / 1e9;
	/* User and system time: the wall time of a busy machine says little. */
	*cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	*maxrss_kib = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One line of the table: the command's figures, beside its input. */
static void reader_line(const char *what, const char *faultline,
			char *const argv[], double input_bytes, int want_status)
{
	double secs = 0;
	long kib = 0;
	char *av[64];
	size_t n = 0;
	av[n++] = (char *)faultline;
	for (; argv[n - 1] && n < 63; n++)
		av[n] = argv[n - 1];
	av[n] = NULL;
	double cpu = 0;
	int st = time_command(av, &secs, &cpu, &kib);
	printf("   %-8s %8.2f s wall %8.2f s CPU %7.0f MB peak RSS = %5.2fx the "
	       "input%s\n",
	       what, secs, cpu, kib / 1024.0, kib * 1024.0 / input_bytes,
	       st == want_status ? "" : " (unexpected exit status!)");
	fflush(stdout);
}

static void bench_readers(const char *faultline, const char *old)
{
	char *tmpl = scenario_template();
	printf("13. The readers of results on synthetic runs as large as real "
	       "ones (a scenario:\n    100 samples, 40 health probes, 20 journal "
	       "records, 3 episodes; %.1f KB of JSON)\n",
	       tmpl ? strlen(tmpl) / 1e3 : 0.0);
	if (old)
		printf("    'before' is %s\n", old);
	else
		printf("    (FL_BENCH_OLD=path/to/an-older/faultline adds its "
		       "figures beside)\n");
	printf("\n");
	char dir[] = "/tmp/fl-bench-readers.XXXXXX";
	if (!mkdtemp(dir) || !tmpl) {
		printf("   (no temporary directory)\n\n");
		free(tmpl);
		return;
	}
	char a[PATH_MAX], b[PATH_MAX], out[PATH_MAX], stamp[64], id[64];
	const char *bins[2] = {old, faultline};
	const char *names[2] = {"before", "now"};

	/* gate: the same 5,000 scenarios, then 50,000, with 1 in 100 newly
	 * failing. */
	/* FL_BENCH_READERS=merge (or gate, trend: a comma list) runs only
	 * those. */
	const char *only = getenv("FL_BENCH_READERS");
	static const long gate_n[] = {5000, 50000};
	for (size_t g = 0; g < 2 && (!only || strstr(only, "gate")); g++) {
		snprintf(a, sizeof a, "%s/old.json", dir);
		snprintf(b, sizeof b, "%s/new.json", dir);
		long sa = write_results(a, tmpl, 0, gate_n[g], 0,
					"2026-11-28T02:00:00Z", "old", 0, 0);
		long sb = write_results(b, tmpl, 0, gate_n[g], 100,
					"2026-11-29T02:00:00Z", "new", 0, 0);
		if (sa < 0 || sb < 0) {
			printf("   (could not write the results)\n\n");
			break;
		}
		printf("   gate, %ld against %ld scenarios (%.0f MB + %.0f MB of "
		       "JSON)\n",
		       gate_n[g], gate_n[g], sa / 1e6, sb / 1e6);
		for (int w = 0; w < 2; w++) {
			if (!bins[w])
				continue;
			/* The old gate scans the baseline once per scenario:
			 * 100 times the work at ten times the scenarios. */
			if (w == 0 && gate_n[g] > 5000) {
				printf("   %-8s not run: quadratic (100x the "
				       "time of 5,000)\n", names[w]);
				continue;
			}
			char *argv[] = {"gate", "-q", "--baseline", a, b, NULL};
			reader_line(names[w], bins[w], argv, (double)(sa + sb), 1);
		}
		unlink(a);
		unlink(b);
		printf("\n");
	}

	/* trend: 10, then 100 nightly runs of the same 1,000 scenarios. */
	static const int trend_runs[] = {10, 100};
	for (size_t g = 0; g < 2 && (!only || strstr(only, "trend")); g++) {
		enum { SCEN = 1000 };
		int runs = trend_runs[g];
		char **argv = fl_xcalloc((size_t)runs + 8, sizeof *argv);
		int n = 0;
		argv[n++] = "trend";
		argv[n++] = "-q";
		argv[n++] = "-o";
		snprintf(out, sizeof out, "%s/trend.html", dir);
		argv[n++] = out;
		double total = 0;
		for (int r = 0; r < runs; r++) {
			char *p = fl_xmalloc(PATH_MAX);
			snprintf(p, PATH_MAX, "%s/run-%03d.json", dir, r);
			snprintf(stamp, sizeof stamp, "2026-%02d-%02dT02:00:00Z",
				 8 + r / 28, 1 + r % 28);
			snprintf(id, sizeof id, "nightly-%03d", r);
			long sz = write_results(p, tmpl, r % 7, SCEN, 50 + r, stamp, id, 0, 0);
			if (sz < 0) {
				printf("   (could not write the results)\n");
				free(p);
				break;
			}
			total += (double)sz;
			argv[n++] = p;
		}
		argv[n] = NULL;
		if (n == runs + 4) {
			printf("   trend, %d runs of %d scenarios (%.0f MB of JSON)\n",
			       runs, SCEN, total / 1e6);
			for (int w = 0; w < 2; w++) {
				if (!bins[w])
					continue;
				/* The old reader makes a system call per byte: ten
				 * runs show it. */
				if (w == 0 && runs > 10) {
					printf("   %-8s not run: a read(2) per byte of "
					       "JSON (10 runs, 10x)\n", names[w]);
					continue;
				}
				reader_line(names[w], bins[w], argv, total, 0);
			}
		}
		for (int k = 4; k < n; k++) {
			unlink(argv[k]);
			free(argv[k]);
		}
		free(argv);
		unlink(out);
		printf("\n");
	}

	/* merge: 50 shards of 100 scenarios. */
	if (!only || strstr(only, "merge")) {
		enum { SHARDS = 50, SCEN = 100 };
		char *argv[SHARDS + 8];
		int n = 0;
		argv[n++] = "merge";
		argv[n++] = "-q";
		argv[n++] = "-o";
		snprintf(out, sizeof out, "%s/merged", dir);
		argv[n++] = out;
		double total = 0;
		for (int s = 0; s < SHARDS; s++) {
			char *p = fl_xmalloc(PATH_MAX);
			snprintf(p, PATH_MAX, "%s/shard-%02d.json", dir, s + 1);
			snprintf(id, sizeof id, "shard-%02d", s + 1);
			long sz = write_results(p, tmpl, (long)s * SCEN, SCEN, 0,
						"2026-11-29T02:00:00Z", id, s + 1, SHARDS);
			if (sz < 0) {
				printf("   (could not write the results)\n");
				free(p);
				break;
			}
			total += (double)sz;
			argv[n++] = p;
		}
		argv[n] = NULL;
		if (n == SHARDS + 4) {
			printf("   merge, %d shards of %d scenarios (%.0f MB of JSON)\n",
			       SHARDS, SCEN, total / 1e6);
			for (int w = 0; w < 2; w++) {
				if (!bins[w])
					continue;
				reader_line(names[w], bins[w], argv, total, 0);
				char cmd[PATH_MAX + 16];
				snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
				if (system(cmd) != 0)
					printf("   (could not remove %s)\n", out);
			}
		}
		for (int k = 4; k < n; k++) {
			unlink(argv[k]);
			free(argv[k]);
		}
		printf("\n");
	}
	free(tmpl);
	rmdir(dir);
}

/* The wall time of a shell command, in ns; -1 when it failed. */
static int64_t shell_time(const char *cmd)
{
	int64_t t0 = fl_now_ns();
	int rc = system(cmd);
	return rc == 0 ? fl_now_ns() - t0 : -1;
}

/* The scenario files under dir, recursively (at most max). */
static size_t lua_files(const char *dir, char **out, size_t n, size_t max)
{
	DIR *d = opendir(dir);
	if (!d)
		return n;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len = strlen(e->d_name);
		if (e->d_type == DT_DIR)
			n = lua_files(path, out, n, max);
		else if (len > 4 && !strcmp(e->d_name + len - 4, ".lua"))
			out[n++] = fl_xstrdup(path);
	}
	closedir(d);
	return n;
}

static void bench_check(const char *faultline)
{
	printf("16. faultline check on scenarios/ (median of 7 rounds)\n");
	char *files[256];
	size_t nfiles = lua_files("scenarios", files, 0, 256);
	char cmd[PATH_MAX + 64];
	/* The scenarios: list's lines. */
	snprintf(cmd, sizeof cmd, "%s list scenarios 2>/dev/null | wc -l",
		 faultline);
	int nscen = 0;
	FILE *f = popen(cmd, "r");
	if (!f || fscanf(f, "%d", &nscen) != 1 || nscen <= 0) {
		printf("   (faultline list scenarios failed)\n\n");
		if (f)
			pclose(f);
		goto out;
	}
	pclose(f);
	int64_t check[7], list[7], scan[7];
	char check_cmd[PATH_MAX + 64], list_cmd[PATH_MAX + 64];
	snprintf(check_cmd, sizeof check_cmd,
		 "%s check scenarios >/dev/null 2>&1", faultline);
	snprintf(list_cmd, sizeof list_cmd, "%s list scenarios >/dev/null 2>&1",
		 faultline);
	for (int r = 0; r < 7; r++) {
		check[r] = shell_time(check_cmd);
		list[r] = shell_time(list_cmd);
		int64_t t0 = fl_now_ns();
		for (size_t i = 0; i < nfiles; i++) {
			char *text;
			size_t len;
			if (fl_read_file(files[i], &text, &len) < 0)
				continue;
			fl_luascan sc;
			char err[256];
			fl_luascan_scan(text, len, &sc, err, sizeof err);
			fl_luascan_free(&sc);
			free(text);
		}
		scan[r] = fl_now_ns() - t0;
	}
	if (median(check, 7) < 0 || median(list, 7) < 0) {
		printf("   (faultline check or list failed)\n\n");
		goto out;
	}
	printf("   %d scenarios in %zu files\n", nscen, nfiles);
	printf("   %-46s %8.2f ms  (%.2f ms per scenario)\n",
	       "faultline check scenarios", median(check, 7) / 1e6,
	       median(check, 7) / 1e6 / nscen);
	printf("   %-46s %8.2f ms  (%.2f ms per scenario)\n",
	       "faultline list scenarios (loads them only)",
	       median(list, 7) / 1e6, median(list, 7) / 1e6 / nscen);
	printf("   %-46s %8.3f ms  (%.3f ms per file)\n\n",
	       "the source pass alone, in process", median(scan, 7) / 1e6,
	       median(scan, 7) / 1e6 / (double)(nfiles ? nfiles : 1));
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
}

int main(int argc, char **argv)
{
	const char *faultline = argc > 1 ? argv[1] : "bin/faultline";
	/* build/bench/bench FAULTLINE soak [SECONDS [HZ]] (make soak). */
	if (argc > 2 && strcmp(argv[2], "soak") == 0) {
		soak(faultline, argc > 3 ? atof(argv[3]) : 600,
		     argc > 4 ? atof(argv[4]) : 1000);
		return 0;
	}
	/* build/bench/bench FAULTLINE results PATH N: the synthetic results
	 * document of section 13, N scenarios, to try a reader on. */
	if (argc > 4 && strcmp(argv[2], "results") == 0) {
		char *tmpl = scenario_template();
		long size = tmpl ? write_results(argv[3], tmpl, 0, atol(argv[4]), 100,
						 "2026-11-29T02:00:00Z", "bench", 0, 0)
				 : -1;
		free(tmpl);
		if (size < 0)
			return 1;
		printf("%s: %ld bytes\n", argv[3], size);
		return 0;
	}
	printf("faultline bench (%ld CPUs)\n\n", sysconf(_SC_NPROCESSORS_ONLN));
	if (want(argc, argv, 1))
		bench_sampling();
	if (want(argc, argv, 2))
		bench_fixed_cost(faultline);
	if (want(argc, argv, 3))
		bench_control();
	if (want(argc, argv, 4))
		bench_calls();
	if (want(argc, argv, 5))
		bench_jobs(faultline);
	if (want(argc, argv, 6))
		bench_probes();
	if (want(argc, argv, 7))
		bench_real_servers();
	if (want(argc, argv, 8))
		bench_results_head();
	if (want(argc, argv, 9))
		bench_mttr(faultline);
	if (want(argc, argv, 10))
		bench_forks();
	if (want(argc, argv, 11))
		bench_monitor();
	if (want(argc, argv, 12))
		bench_sites();
	if (want(argc, argv, 13))
		bench_readers(faultline, getenv("FL_BENCH_OLD"));
	if (want(argc, argv, 14))
		bench_journal();
	if (want(argc, argv, 15))
		bench_journal_files();
	if (want(argc, argv, 16))
		bench_check(faultline);
	return 0;
}
