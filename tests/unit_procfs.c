/* /proc parsing on canned text, and the sampler on real processes. */
#include "testutil.h"

#include "procfs.h"
#include "sampler.h"

#include <criterion/parameterized.h>

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
