/* /proc parsing on canned text, and the sampler on real processes. */
#include "testutil.h"

#include "procfs.h"
#include "sampler.h"

#include <criterion/parameterized.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* Fixed-size strings: Criterion copies parameters into the test's own
 * process, where pointers into this one would not be valid. */
struct stat_case {
	char text[256];
	int pid;
	char comm[64];
	char state;
	long threads;
	long rss_pages;
	int ppid;
};

/* Real lines, and names that try to confuse a parser: spaces, parentheses,
 * a ") " inside the name. */
static struct stat_case stat_cases[] = {
	{"1234 (fileproc) S 1 1234 1234 0 -1 4194560 110 0 0 0 3 5 0 0 20 0 1 "
	 "0 4321 5931008 420 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 "
	 "1 0 0 0 0 0\n",
	 1234, "fileproc", 'S', 1, 420, 1},
	{"42 (a) b) R 7 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 5 0 99 100 7 0 0\n", 42,
	 "a) b", 'R', 5, 7, 7},
	{"9 (with spaces here) D 3 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 12 0 1 2 3 4\n",
	 9, "with spaces here", 'D', 12, 3, 3},
	{"77 ((nested) (parens)) Z 2 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n",
	 77, "(nested) (parens)", 'Z', 1, 0, 2},
	{"5 () S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 1 0 9", 5, "", 'S', 3, 9, 1},
};

ParameterizedTestParameters(procfs, parse_stat)
{
	return cr_make_param_array(struct stat_case, stat_cases,
				   sizeof stat_cases / sizeof stat_cases[0]);
}

ParameterizedTest(struct stat_case *c, procfs, parse_stat)
{
	fl_proc_stat st;
	cr_assert_eq(fl_procfs_parse_stat(c->text, strlen(c->text), &st), 0,
		     "failed on: %s", c->text);
	cr_assert_eq(st.pid, c->pid);
	cr_assert_str_eq(st.comm, c->comm);
	cr_assert_eq(st.state, c->state);
	cr_assert_eq(st.num_threads, c->threads);
	cr_assert_eq(st.rss_pages, c->rss_pages);
	cr_assert_eq(st.ppid, c->ppid);
}

/* Field 52, exit_code (Linux 3.5 on): a zombie's says how it ended, as a
 * wait status; a line without it says -1. */
Test(procfs, parse_stat_exit_code)
{
	const char *zombie =
		"812 (worker) Z 811 811 811 0 -1 4228 96 0 0 0 0 0 0 0 20 0 1 0 "
		"52 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 "
		"0 0 0 0 0 0 0 0 139\n";
	fl_proc_stat st;
	cr_assert_eq(fl_procfs_parse_stat(zombie, strlen(zombie), &st), 0);
	cr_assert_eq(st.state, 'Z');
	cr_assert_eq(st.exit_code, 139, "SIGSEGV (11) with a core (0x80)");
	const char *short_line =
		"9 (x) S 3 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 12 0 1 2 3 4\n";
	cr_assert_eq(fl_procfs_parse_stat(short_line, strlen(short_line), &st), 0);
	cr_assert_eq(st.exit_code, -1);
}

Test(procfs, parse_stat_rejects_garbage)
{
	fl_proc_stat st;
	const char *bad[] = {"", "hello", "12 (x", "x (y) S 1 2 3",
			     "12 (x) S 1 2", "(x) S 1 2 3 4 5 6 7 8 9 10"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(fl_procfs_parse_stat(bad[i], strlen(bad[i]), &st),
			     -EINVAL, "accepted '%s'", bad[i]);
}

Test(procfs, status_field)
{
	const char *text = "Name:\tfileproc\nThreads:\t3\nVmRSS:\t    4096 kB\n"
			   "VmHWM:\t8 kB\n";
	long long v;
	cr_assert_eq(fl_procfs_status_field(text, "VmRSS", &v), 0);
	cr_assert_eq(v, 4096LL * 1024);
	cr_assert_eq(fl_procfs_status_field(text, "Threads", &v), 0);
	cr_assert_eq(v, 3);
	cr_assert_eq(fl_procfs_status_field(text, "VmSwap", &v), -ENOENT);
	/* "Vm" must not match "VmRSS": the key is the whole name. */
	cr_assert_eq(fl_procfs_status_field(text, "Vm", &v), -ENOENT);
}

Test(procfs, describe_syscall)
{
	char out[64];
	fl_procfs_describe_syscall("running", out, sizeof out);
	cr_assert_str_eq(out, "running");
	fl_procfs_describe_syscall("202 0x7f 0x80 0x0 0x0 0x0 0x0 0x7ff 0x7f",
				   out, sizeof out);
	cr_assert_str_eq(out, "futex");
	fl_procfs_describe_syscall("0 0x3 0x7ffd 0x10 0 0 0 0 0", out, sizeof out);
	cr_assert_str_eq(out, "read");
	fl_procfs_describe_syscall("-1 0x7ffd 0x7f", out, sizeof out);
	cr_assert_str_eq(out, "in user space");
	fl_procfs_describe_syscall("99999 0 0", out, sizeof out);
	cr_assert_str_eq(out, "syscall 99999");
}

Test(procfs, count_dir_counts_entries)
{
	char *dir = tu_tempdir();
	for (int i = 0; i < 37; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/f%d", dir, i);
		close(open(p, O_CREAT | O_WRONLY, 0600));
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert_eq(fl_procfs_count_dir(fd), 37);
	/* Counting twice rewinds: same answer. */
	cr_assert_eq(fl_procfs_count_dir(fd), 37);
	close(fd);
	tu_rmrf(dir);
	free(dir);
}

/* A child that holds n extra fds and waits. */
static pid_t holder(int n, int *release)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		for (int i = 0; i < n; i++)
			open("/dev/null", O_RDONLY);
		char c;
		ssize_t r = read(p[0], &c, 1);
		(void)r;
		_exit(0);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

Test(sampler, counts_fds_both_ways)
{
	int release;
	pid_t pid = holder(500, &release);
	/* Let the child open its files. */
	fl_sampler a, b;
	fl_sample sa, sb;
	cr_assert_eq(fl_sampler_open(&a, pid, FL_FDS_FSTATAT), 0);
	cr_assert_eq(fl_sampler_open(&b, pid, FL_FDS_GETDENTS), 0);
	for (int i = 0; i < 200; i++) {
		cr_assert_eq(fl_sampler_read(&a, &sa), 0);
		if (sa.v[FL_FIG_FDS] >= 500)
			break;
		usleep(5000);
	}
	cr_assert_eq(fl_sampler_read(&a, &sa), 0);
	cr_assert_eq(fl_sampler_read(&b, &sb), 0);
	/* What the test runner left open, the pipe end and 500 files. */
	cr_assert_eq(sa.v[FL_FIG_FDS], sb.v[FL_FIG_FDS],
		     "fstatat says %lld, getdents %lld",
		     (long long)sa.v[FL_FIG_FDS], (long long)sb.v[FL_FIG_FDS]);
	cr_assert_geq(sa.v[FL_FIG_FDS], 501);
	cr_assert_leq(sa.v[FL_FIG_FDS], 600);
	cr_assert_eq(sa.v[FL_FIG_THREADS], 1);
	cr_assert_gt(sa.v[FL_FIG_RSS], 0);
	close(release);
	waitpid(pid, NULL, 0);
	/* Reaped: the kept /proc/PID fd now refuses, whatever reuses the
	 * pid. */
	cr_assert_eq(fl_sampler_read(&a, &sa), -ESRCH);
	fl_sampler_close(&a);
	fl_sampler_close(&b);
}

/* fd/ and task/ are kept open and read with fstat; a harness out of fds
 * reads them by name. Both give the same figures, and each figure alone
 * refuses once the process is reaped (an open task/ of a reaped process
 * still answers, with no thread: that is read as gone). */
Test(sampler, kept_dirs_and_names_agree_and_refuse_after_the_reap)
{
	int release;
	pid_t pid = holder(40, &release);
	fl_sampler kept, named;
	fl_sample sk, sn;
	cr_assert_eq(fl_sampler_open(&kept, pid, FL_FDS_FSTATAT), 0);
	cr_assert_geq(kept.fddirfd, 0);
	cr_assert_geq(kept.taskfd, 0);
	/* No fd left for the two directories: what the sampler does then. */
	struct rlimit old, none;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	int probe = open("/dev/null", O_RDONLY);
	cr_assert_geq(probe, 0);
	close(probe);
	none = old;
	none.rlim_cur = (rlim_t)probe + 2; /* room for /proc/PID and statm */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(procfd, 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
	int r = fl_sampler_open_dir(&named, pid, procfd, -1, FL_FDS_FSTATAT);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(r, 0);
	cr_assert_eq(named.fddirfd, -1);
	cr_assert_eq(named.taskfd, -1);
	for (int i = 0; i < 200; i++) {
		cr_assert_eq(fl_sampler_read(&kept, &sk), 0);
		if (sk.v[FL_FIG_FDS] >= 40)
			break;
		usleep(5000);
	}
	cr_assert_eq(fl_sampler_read(&kept, &sk), 0);
	cr_assert_eq(fl_sampler_read(&named, &sn), 0);
	cr_assert_eq(sk.v[FL_FIG_FDS], sn.v[FL_FIG_FDS]);
	cr_assert_eq(sk.v[FL_FIG_FDS], tu_count_entries(strcat(path, "/fd")));
	cr_assert_eq(sk.v[FL_FIG_THREADS], 1);
	cr_assert_eq(sn.v[FL_FIG_THREADS], 1);
	close(release);
	waitpid(pid, NULL, 0);
	cr_assert_eq(fl_sampler_fds(&kept), -ESRCH);
	cr_assert_eq(fl_sampler_threads(&kept), -ESRCH);
	cr_assert_eq(fl_sampler_read(&kept, &sk), -ESRCH);
	cr_assert_eq(fl_sampler_threads(&named), -ESRCH);
	cr_assert_eq(fl_sampler_read(&named, &sn), -ESRCH);
	fl_sampler_close(&kept);
	fl_sampler_close(&named);
}

Test(procfs, fd_table_and_threads_of_self)
{
	int fd = open("/dev/null", O_RDONLY);
	int procfd = open("/proc/self", O_RDONLY | O_DIRECTORY);
	fl_fd_entry *v;
	int n = fl_procfs_fd_table(procfd, &v);
	cr_assert_gt(n, 3);
	int found = 0;
	for (int i = 0; i < n; i++) {
		if (v[i].fd == fd) {
			cr_assert_str_eq(v[i].target, "/dev/null");
			found = 1;
		}
		if (i)
			cr_assert_lt(v[i - 1].fd, v[i].fd, "not sorted");
	}
	cr_assert(found);
	free(v);
	fl_thread_entry *th;
	int nt = fl_procfs_threads(procfd, &th);
	cr_assert_geq(nt, 1);
	cr_assert_eq(th[0].tid, getpid());
	free(th);
	close(procfd);
	close(fd);
}

Test(procfs, parse_statm)
{
	long size, rss;
	const char *t = "8815 369 336 1 0 8281 0\n";
	cr_assert_eq(fl_procfs_parse_statm(t, strlen(t), &size, &rss), 0);
	cr_assert_eq(size, 8815);
	cr_assert_eq(rss, 369);
	/* A zombie's: no memory at all. */
	t = "0 0 0 0 0 0 0\n";
	cr_assert_eq(fl_procfs_parse_statm(t, strlen(t), &size, &rss), 0);
	cr_assert_eq(size, 0);
	cr_assert_eq(rss, 0);
	cr_assert_eq(fl_procfs_parse_statm("", 0, &size, &rss), -EINVAL);
	t = "12\n";
	cr_assert_eq(fl_procfs_parse_statm(t, strlen(t), &size, &rss), -EINVAL);
}

Test(procfs, parse_last_pid)
{
	const char *t = "6.32 5.20 6.38 9/126 12240\n";
	cr_assert_eq(fl_procfs_parse_last_pid(t, strlen(t)), 12240);
	t = "0.00 0.00 0.00 1/1 1";
	cr_assert_eq(fl_procfs_parse_last_pid(t, strlen(t)), 1);
	t = "0.00 0.00 0.00 1/1 12x\n";
	cr_assert_eq(fl_procfs_parse_last_pid(t, strlen(t)), -EINVAL);
	cr_assert_eq(fl_procfs_parse_last_pid("", 0), -EINVAL);
}

Test(procfs, parse_pids)
{
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	cr_assert_eq(fl_procfs_parse_pids("12 345 6789 ", &v, &n, &cap), 3);
	cr_assert_eq(fl_procfs_parse_pids("", &v, &n, &cap), 0);
	cr_assert_eq(fl_procfs_parse_pids("42\n", &v, &n, &cap), 1);
	cr_assert_eq(n, 4);
	cr_assert_eq(v[0], 12);
	cr_assert_eq(v[1], 345);
	cr_assert_eq(v[2], 6789);
	cr_assert_eq(v[3], 42);
	free(v);
}

static void *parked(void *arg)
{
	int fd = *(int *)arg;
	char c;
	ssize_t r = read(fd, &c, 1);
	(void)r;
	return NULL;
}

/* The sampler's thread count is the link count of /proc/PID/task less 2
 * ("." and ".."): this checks the kernel keeps it so, thread by thread. */
Test(sampler, threads_are_the_link_count_of_task_less_two)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	fl_sampler s;
	cr_assert_eq(fl_sampler_open(&s, getpid(), 0), 0);
	long before = fl_sampler_threads(&s);
	cr_assert_eq(before, tu_count_entries("/proc/self/task"));
	pthread_t t[5];
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(pthread_create(&t[i], NULL, parked, &p[0]), 0);
		cr_assert_eq(fl_sampler_threads(&s), before + i + 1);
		cr_assert_eq(fl_sampler_threads(&s),
			     tu_count_entries("/proc/self/task"));
	}
	close(p[1]);
	for (int i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(fl_sampler_threads(&s), before);
	/* statm's resident set against /proc/PID/stat's. */
	fl_sample x;
	cr_assert_eq(fl_sampler_read(&s, &x), 0);
	cr_assert_gt(x.v[FL_FIG_RSS], 0);
	cr_assert_eq(x.v[FL_FIG_THREADS], before);
	fl_sampler_close(&s);
	close(p[0]);
}

/* A zombie is an exit: the sampler says -ESRCH before the reap. */
Test(sampler, a_zombie_has_exited)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(procfd, 0);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(pidfd, 0);
	fl_sampler s;
	cr_assert_eq(fl_sampler_open_dir(&s, pid, procfd, pidfd, 0), 0);
	/* The pidfd is readable once it exited: it is a zombie now. */
	struct pollfd pf = {pidfd, POLLIN, 0};
	cr_assert_eq(poll(&pf, 1, 30000), 1);
	fl_sample x;
	cr_assert_eq(fl_sampler_read(&s, &x), -ESRCH);
	waitpid(pid, NULL, 0);
	cr_assert_eq(fl_sampler_read(&s, &x), -ESRCH);
	fl_sampler_close(&s);
	close(pidfd);
}

Test(procfs, children_and_environ)
{
	pid_t kids[2];
	int p[2];
	cr_assert_eq(pipe(p), 0);
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char c;
			close(p[1]);
			ssize_t r = read(p[0], &c, 1);
			_exit(r < 0);
		}
	}
	int self = open("/proc/self", O_RDONLY | O_DIRECTORY);
	pid_t *v;
	int n = fl_procfs_children(self, &v);
	int found = 0;
	for (int i = 0; i < n; i++)
		found += v[i] == kids[0] || v[i] == kids[1];
	cr_assert_eq(found, 2);
	free(v);
	/* The environment it started with: its first and last entries are
	 * there, a name nobody has is not. */
	char env[65536];
	int efd = openat(self, "environ", O_RDONLY);
	ssize_t got = 0, r;
	while ((r = read(efd, env + got, sizeof env - 1 - (size_t)got)) > 0)
		got += r;
	close(efd);
	cr_assert_gt(got, 0);
	env[got] = '\0';
	const char *lastent = env;
	for (ssize_t i = 0; i + 1 < got; i++)
		if (env[i] == '\0')
			lastent = env + i + 1;
	const char *ents[2] = {env, lastent};
	for (int k = 0; k < 2; k++) {
		char name[256], value[4096], want[4096];
		const char *eq = strchr(ents[k], '=');
		cr_assert_not_null(eq, "%s", ents[k]);
		snprintf(name, sizeof name, "%.*s", (int)(eq - ents[k]), ents[k]);
		snprintf(want, sizeof want, "%s", eq + 1);
		cr_assert_eq(fl_procfs_environ_value(self, name, value,
						     sizeof value),
			     1, "%s", name);
		cr_assert_str_eq(value, want);
	}
	char value[64];
	cr_assert_eq(fl_procfs_environ_value(self, "FL_NO_SUCH_NAME", value,
					     sizeof value),
		     0);
	close(self);
	close(p[1]);
	close(p[0]);
	for (int i = 0; i < 2; i++)
		waitpid(kids[i], NULL, 0);
}

/* An environment that reads empty says so (-EAGAIN), apart from one
 * without the name (0): a process inside an exec reads empty for a
 * moment, and an orphan caught there is looked at again rather than
 * placed without its tree's marker. A process started with no
 * environment reads empty for good. */
Test(procfs, an_empty_environment_is_told_apart)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *argv[] = {"sleep", "30", NULL};
		char *envp[] = {NULL};
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	char value[64];
	int r = -1;
	/* Until the exec has gone through, the environment is the
	 * parent's: wait for the new program's. */
	for (int i = 0; i < 5000; i++) {
		int dir = open(path, O_RDONLY | O_DIRECTORY);
		cr_assert_geq(dir, 0);
		char comm[32] = "";
		int cfd = openat(dir, "comm", O_RDONLY);
		ssize_t n = read(cfd, comm, sizeof comm - 1);
		close(cfd);
		if (n > 0 && !strncmp(comm, "sleep", 5)) {
			r = fl_procfs_environ_value(dir, "PATH", value,
						    sizeof value);
			close(dir);
			break;
		}
		close(dir);
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(r, -EAGAIN);
}
