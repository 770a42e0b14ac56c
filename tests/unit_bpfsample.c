/* The BPF sampler (harness/bpfsample.h) against /proc, on real processes:
 * the same fds, threads and resident bytes as the /proc sampler reads at
 * the same moment, the same answers for a zombie and a reaped pid, the
 * batch cut in runs, and a tree that falls back to /proc when an entry's
 * start time is not its process's. Needs root and the kernel's BTF: where
 * both are there, a program that does not load fails the test. */
#include "testutil.h"

#include "bpfsample.h"
#include "procfs.h"
#include "sampler.h"
#include "tree.h"
#include "util.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static void need_bpf(void)
{
	if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		cr_skip_test("BPF sampling needs root and /sys/kernel/btf/vmlinux");
	char why[256] = "";
	cr_assert_eq(fl_bpfs_load(why, sizeof why), 0,
		     "root with BTF, and the program did not load: %s", why);
	cr_assert(fl_bpfs_ready());
}

static void *block(void *arg)
{
	char c;
	while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A child with nfds more fds, 5 more threads and 16 MiB touched, blocked
 * until *release is closed (or it is killed). Returns its pid once it is
 * all there. */
static pid_t busy_child_fds(int *release, int nfds)
{
	int ready[2], rel[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(rel), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(rel[1]);
		for (int i = 0; i < nfds; i++)
			if (open("/dev/null", O_RDONLY) < 0)
				_exit(2);
		pthread_t th;
		for (int i = 0; i < 5; i++)
			if (pthread_create(&th, NULL, block, &rel[0]) != 0)
				_exit(3);
		size_t len = 16u << 20;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(4);
		memset(m, 1, len);
		if (write(ready[1], "x", 1) != 1)
			_exit(5);
		block(&rel[0]);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1, "the child did not get ready");
	close(ready[0]);
	*release = rel[1];
	return pid;
}

static pid_t busy_child(int *release)
{
	return busy_child_fds(release, 37);
}

static void end_child(pid_t pid, int release)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(release);
}

Test(bpfsample, the_figures_are_those_of_proc)
{
	need_bpf();
	int rel;
	pid_t pid = busy_child(&rel);
	fl_sampler s;
	cr_assert_eq(fl_sampler_open(&s, pid, 0), 0);
	fl_sample proc;
	cr_assert_eq(fl_sampler_read(&s, &proc), 0);
	fl_bpfs_ent e = {.pid = pid};
	cr_assert_eq(fl_bpfs_read(&e, 1), 0);
	cr_assert_eq(e.rc, FL_BPFS_OK);
	fl_sample bpf;
	cr_assert_eq(fl_sampler_from_batch(&s, &e, &bpf), 0);
	cr_assert_eq(bpf.v[FL_FIG_FDS], proc.v[FL_FIG_FDS], "fds %lld, /proc %lld",
		     (long long)bpf.v[FL_FIG_FDS], (long long)proc.v[FL_FIG_FDS]);
	cr_assert_eq(bpf.v[FL_FIG_THREADS], 6);
	cr_assert_eq(proc.v[FL_FIG_THREADS], 6);
	cr_assert_eq(bpf.v[FL_FIG_RSS], proc.v[FL_FIG_RSS], "rss %lld, /proc %lld",
		     (long long)bpf.v[FL_FIG_RSS], (long long)proc.v[FL_FIG_RSS]);
	cr_assert_geq(bpf.v[FL_FIG_FDS], 37 + 3);
	cr_assert_geq(bpf.v[FL_FIG_RSS], 16LL << 20);
	/* Its identity: the start time /proc/PID/stat gives. */
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	fl_proc_stat st;
	cr_assert_eq(fl_procfs_parse_stat(buf, (size_t)n, &st), 0);
	cr_assert_eq(fl_bpfs_start_ticks(&e), st.starttime);
	fl_sampler_close(&s);
	end_child(pid, rel);
}

/* The fd table is read 8 words at a time: tables of 4 words (a part of a
 * read), 16 (two whole reads) and 32 + 1 words give /proc's count. */
Test(bpfsample, fd_tables_of_every_size)
{
	need_bpf();
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	cr_assert_geq(rl.rlim_cur, 764, "no room for 700 fds");
	const int counts[] = {200, 700, 2100};
	for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
		if ((rlim_t)counts[c] + 64 > rl.rlim_cur)
			continue;
		int rel;
		pid_t pid = busy_child_fds(&rel, counts[c]);
		fl_sampler s;
		cr_assert_eq(fl_sampler_open(&s, pid, 0), 0);
		fl_sample proc, bpf;
		cr_assert_eq(fl_sampler_read(&s, &proc), 0);
		fl_bpfs_ent e = {.pid = pid};
		cr_assert_eq(fl_bpfs_read(&e, 1), 0);
		cr_assert_eq(fl_sampler_from_batch(&s, &e, &bpf), 0);
		cr_assert_eq(bpf.v[FL_FIG_FDS], proc.v[FL_FIG_FDS],
			     "%d fds: bpf %lld, /proc %lld", counts[c],
			     (long long)bpf.v[FL_FIG_FDS],
			     (long long)proc.v[FL_FIG_FDS]);
		cr_assert_geq(bpf.v[FL_FIG_FDS], counts[c]);
		cr_assert_eq(bpf.v[FL_FIG_RSS], proc.v[FL_FIG_RSS]);
		fl_sampler_close(&s);
		end_child(pid, rel);
	}
}

/* More entries than one run takes: every run is filled, a reaped pid says
 * so, and nothing past n is touched. */
Test(bpfsample, a_batch_longer_than_a_run)
{
	need_bpf();
	int rel;
	pid_t pid = busy_child(&rel);
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	size_t n = 2 * FL_BPFS_BATCH + 77;
	fl_bpfs_ent *ents = calloc(n + 1, sizeof *ents);
	for (size_t i = 0; i < n; i++)
		ents[i].pid = i % 3 == 0 ? pid : i % 3 == 1 ? getpid() : gone;
	ents[n].pid = pid;
	ents[n].rc = 12345;
	cr_assert_eq(fl_bpfs_read(ents, n), 0);
	for (size_t i = 0; i < n; i++) {
		if (i % 3 == 2) {
			cr_assert_eq(ents[i].rc, FL_BPFS_NOTASK, "entry %zu", i);
			continue;
		}
		cr_assert_eq(ents[i].rc, FL_BPFS_OK, "entry %zu", i);
		if (i % 3 == 0) {
			cr_assert_eq(ents[i].threads, 6, "entry %zu", i);
			cr_assert_eq(ents[i].fds, ents[0].fds, "entry %zu", i);
			cr_assert_eq(ents[i].rss_pages, ents[0].rss_pages,
				     "entry %zu", i);
		}
	}
	cr_assert_eq(ents[n].rc, 12345, "an entry past n was written");
	free(ents);
	end_child(pid, rel);
}

/* A zombie has no memory and its pidfd says it exited: gone, as /proc
 * says. */
Test(bpfsample, a_zombie_is_gone)
{
	need_bpf();
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(pidfd, 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(procfd, 0);
	struct pollfd pf = {pidfd, POLLIN, 0};
	cr_assert_eq(poll(&pf, 1, 10000), 1);
	fl_sampler s;
	cr_assert_eq(fl_sampler_open_dir(&s, pid, procfd, pidfd, 0), 0);
	fl_bpfs_ent e = {.pid = pid};
	cr_assert_eq(fl_bpfs_read(&e, 1), 0);
	cr_assert_neq(e.rc, FL_BPFS_OK, "a zombie read as live");
	cr_assert_neq(e.rc, FL_BPFS_NOTASK, "a zombie's pid is still taken");
	fl_sample x;
	cr_assert_eq(fl_sampler_from_batch(&s, &e, &x), -ESRCH);
	cr_assert_eq(fl_sampler_read(&s, &x), -ESRCH);
	fl_sampler_close(&s);
	waitpid(pid, NULL, 0);
	close(pidfd);
}

/* A tree takes a batch's entry only when its start time is its root's:
 * an entry that names another process is read again from /proc. */
Test(bpfsample, a_tree_reads_proc_when_the_entry_is_not_its_process)
{
	need_bpf();
	int rel;
	pid_t pid = busy_child(&rel);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(procfd, 0);
	fl_tree t;
	cr_assert_eq(fl_tree_init(&t, pid, procfd, pidfd, fl_now_ns()), 0);
	fl_bpfs_ent e[2];
	cr_assert_eq(fl_tree_batch_pids(&t, NULL, 0), 1);
	cr_assert_eq(fl_tree_batch_pids(&t, e, 2), 1);
	cr_assert_eq(e[0].pid, pid);
	cr_assert_eq(fl_bpfs_read(e, 1), 0);

	fl_sample a, b;
	int64_t raw;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	cr_assert_eq(fl_tree_sample(&t, fl_now_ns(), NULL, e, 1, &a, &raw), 1);
	cr_assert_eq(t.batch_reads, 1);
	/* Another process's start time: the same figures, from /proc. */
	e[0].start_ns += 5000000000ULL;
	e[0].fds = e[0].threads = e[0].rss_pages = 999999;
	cr_assert_eq(fl_tree_sample(&t, fl_now_ns(), NULL, e, 1, &b, &raw), 1);
	cr_assert_eq(t.batch_reads, 1, "an entry of another process was used");
	cr_assert_eq(b.v[FL_FIG_FDS], a.v[FL_FIG_FDS]);
	cr_assert_eq(b.v[FL_FIG_THREADS], 6);
	cr_assert_eq(b.v[FL_FIG_RSS], a.v[FL_FIG_RSS]);
	/* No entry at all: /proc too. */
	cr_assert_eq(fl_tree_sample(&t, fl_now_ns(), NULL, NULL, 0, &b, &raw), 1);
	cr_assert_eq(t.batch_reads, 1);
	cr_assert_eq(b.v[FL_FIG_THREADS], 6);
	fl_tree_free(&t);
	end_child(pid, rel);
	close(pidfd);
}

Test(bpfsample, faultline_sampler_is_read_strictly)
{
	enum fl_bpfs_mode m;
	char err[128] = "";
	unsetenv("FAULTLINE_SAMPLER");
	cr_assert_eq(fl_bpfs_configure(&m, err, sizeof err), 0);
	cr_assert_eq(m, FL_BPFS_AUTO);
	setenv("FAULTLINE_SAMPLER", "procfs", 1);
	cr_assert_eq(fl_bpfs_configure(&m, err, sizeof err), 0);
	cr_assert_eq(m, FL_BPFS_OFF);
	setenv("FAULTLINE_SAMPLER", "bpf", 1);
	cr_assert_eq(fl_bpfs_configure(&m, err, sizeof err), 0);
	cr_assert_eq(m, FL_BPFS_REQUIRED);
	setenv("FAULTLINE_SAMPLER", "BPF", 1);
	cr_assert_eq(fl_bpfs_configure(&m, err, sizeof err), -1);
	cr_assert_str_eq(err, "FAULTLINE_SAMPLER='BPF': expected auto, bpf or procfs");
	unsetenv("FAULTLINE_SAMPLER");
}

/* statm's resident pages, whichever way this kernel sums them: children
 * that touched 3 to 38 pages (their counters' per-CPU shares differ from
 * child to child) read the same through the program as through statm.
 * A loader that took the wrong way (the shared count where statm sums
 * the CPUs' shares, or the reverse) fails here. */
Test(bpfsample, resident_pages_are_statms_whatever_the_per_cpu_shares)
{
	need_bpf();
	for (int k = 0; k < 8; k++) {
		int ready[2], hold[2];
		cr_assert_eq(pipe(ready), 0);
		cr_assert_eq(pipe(hold), 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(ready[0]);
			close(hold[1]);
			size_t len = (size_t)(3 + 5 * k) * 4096;
			char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				_exit(2);
			for (size_t at = 0; at < len; at += 4096)
				m[at] = 1;
			char c = 'x';
			if (write(ready[1], &c, 1) != 1)
				_exit(3);
			while (read(hold[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		close(ready[1]);
		close(hold[0]);
		char c;
		cr_assert_eq(read(ready[0], &c, 1), 1);
		fl_sampler s;
		cr_assert_eq(fl_sampler_open(&s, pid, 0), 0);
		int64_t statm = fl_sampler_rss(&s);
		fl_bpfs_ent e = {.pid = pid};
		cr_assert_eq(fl_bpfs_read(&e, 1), 0);
		cr_assert_eq(e.rc, FL_BPFS_OK);
		cr_assert_eq(e.rss_pages * 4096, statm,
			     "child %d: program %lld pages, statm %lld bytes "
			     "(shared counts alone: %lld pages)",
			     k, e.rss_pages, (long long)statm, e.rss_quick);
		fl_sampler_close(&s);
		close(hold[1]);
		close(ready[0]);
		waitpid(pid, NULL, 0);
	}
}

/* A program that cannot load says why, and nothing reads through it. */
Test(bpfsample, a_program_that_cannot_load_says_why)
{
	setenv("FL_TEST_BPFS_FAIL", "1", 1);
	char why[256] = "", err[256] = "";
	cr_assert_eq(fl_bpfs_error(err, sizeof err), 0, "nothing was tried yet");
	cr_assert_eq(fl_bpfs_load(why, sizeof why), -1);
	cr_assert_str_eq(why, "FL_TEST_BPFS_FAIL is set");
	cr_assert_eq(fl_bpfs_error(err, sizeof err), 1);
	cr_assert_str_eq(err, "FL_TEST_BPFS_FAIL is set");
	cr_assert_not(fl_bpfs_ready());
	fl_bpfs_ent e = {.pid = getpid()};
	cr_assert_eq(fl_bpfs_read(&e, 1), -ENOSYS);
	unsetenv("FL_TEST_BPFS_FAIL");
}

/* An entry that says a live process has no thread is not taken: /proc
 * gives the sample (no BPF needed: the entry is made up). */
Test(bpfsample, an_entry_with_no_thread_is_asked_of_proc)
{
	int rel;
	pid_t pid = busy_child(&rel);
	fl_sampler s;
	cr_assert_eq(fl_sampler_open(&s, pid, 0), 0);
	fl_bpfs_ent e[2] = {{.pid = pid, .rc = FL_BPFS_OK, .fds = 999,
			     .threads = 0, .rss_pages = 1},
			    {.pid = pid, .rc = FL_BPFS_OK, .fds = 7,
			     .threads = 2, .rss_pages = 3}};
	fl_bpfs_vet(e, 2);
	cr_assert_eq(e[0].rc, FL_BPFS_ASK_PROC);
	cr_assert_eq(e[1].rc, FL_BPFS_OK);
	fl_sample x;
	cr_assert_eq(fl_sampler_from_batch(&s, &e[0], &x), 0);
	cr_assert_eq(x.v[FL_FIG_THREADS], 6);
	cr_assert_neq(x.v[FL_FIG_FDS], 999);
	fl_sampler_close(&s);
	end_child(pid, rel);
}
