/* How a child ended, as its parent's own wait returned it: the agent's
 * ring of reaped children (lib/agent_proto.h) and its reader
 * (fl_faults_reaped), under ASan and UBSan, and the agent's wrappers of
 * wait, waitpid, wait3, wait4 and waitid (lib/agent_reap.c) on a real
 * target under the real libfiu preload (tests/targets/reaper.c): each
 * way of reaping records exactly the child it reaped with its status and
 * the process that reaped it (a forked child that reaps names itself); a
 * peek (WNOWAIT), WNOHANG with nothing ready and a stopped or continued
 * child record nothing; a fault injected at posix/proc/waitpid still
 * fails the call, which then reaps and records nothing. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/agent_proto.h"
#include "faults.h"

#define AGENT "lib/faultline-agent.so"
#define TARGET "build/tests/targets/reaper"

/* ------------------------------------------------------------------ */
/* The ring                                                             */
/* ------------------------------------------------------------------ */

Test(reaped, the_first_record_since_a_moment_is_the_one_taken)
{
	fl_faults f;
	fl_shm_view v;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
	fl_reaped_end r;
	cr_assert_eq(fl_faults_reaped(&f, 100, 0, &r), 0, "nothing yet");
	/* pid 100 exits 1 at 10 ns; its pid, reused, is killed at 20. */
	fl_shm_reaped_put(&v, 100, 1 << 8, 50, 10);
	fl_shm_reaped_put(&v, 200, SIGSEGV, 50, 15);
	fl_shm_reaped_put(&v, 100, SIGSEGV | 0x80, 60, 20);
	cr_assert_eq(fl_faults_reaped(&f, 100, 0, &r), 1);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1,
		  "status %#x", r.status);
	cr_assert_eq(r.t_ns, 10);
	cr_assert_eq(r.reaper, 50);
	cr_assert_eq(fl_faults_reaped(&f, 100, 11, &r), 1);
	cr_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV &&
			  WCOREDUMP(r.status),
		  "status %#x", r.status);
	cr_assert_eq(r.t_ns, 20);
	cr_assert_eq(r.reaper, 60);
	cr_assert_eq(fl_faults_reaped(&f, 100, 21, &r), 0, "none since");
	cr_assert_eq(fl_faults_reaped(&f, 300, 0, &r), 0, "another pid");
	fl_faults_free(&f);
}

Test(reaped, a_full_ring_keeps_the_newest_records)
{
	fl_faults f;
	fl_shm_view v;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
	int total = FL_MAX_REAPED + 10;
	for (int i = 0; i < total; i++)
		fl_shm_reaped_put(&v, 1000 + i, (i & 0x7f) << 8, 7, 100 + i);
	fl_reaped_end r;
	/* The first ten were overwritten; the others are whole. */
	for (int i = 0; i < 10; i++)
		cr_assert_eq(fl_faults_reaped(&f, 1000 + i, 0, &r), 0,
			     "record %d was overwritten", i);
	for (int i = 10; i < total; i++) {
		cr_assert_eq(fl_faults_reaped(&f, 1000 + i, 0, &r), 1,
			     "record %d", i);
		cr_assert_eq(WEXITSTATUS(r.status), i & 0x7f);
		cr_assert_eq(r.t_ns, 100 + i);
	}
	/* An overwritten record is not read as the one now in its slot. */
	fl_reaped_rec rec;
	cr_assert_eq(fl_shm_reaped_get(&v, 0, &rec), -1);
	cr_assert_eq(fl_shm_reaped_get(&v, FL_MAX_REAPED, &rec), 1);
	cr_assert_eq(rec.pid, 1000 + FL_MAX_REAPED);
	fl_faults_free(&f);
}

Test(reaped, the_records_are_read_once_in_order_and_losses_counted)
{
	fl_faults f;
	fl_shm_view v;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
	uint64_t cursor = 0, lost = 0;
	fl_reaped_end out[8];
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0), 0);
	for (int i = 0; i < 5; i++)
		fl_shm_reaped_put(&v, 10 + i, i << 8, 3, 100 + i);
	/* At most max at a time, then the rest, then nothing. */
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 3, &lost, 0), 3);
	cr_assert_eq(out[0].pid, 10);
	cr_assert_eq(out[2].pid, 12);
	cr_assert_eq(out[2].reaper, 3);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0), 2);
	cr_assert_eq(out[1].pid, 14);
	cr_assert_eq(WEXITSTATUS(out[1].status), 4);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0), 0);
	cr_assert_eq(lost, 0);
	/* A record being written stops the reading until it is done. */
	uint64_t n = atomic_fetch_add(&v.hdr->nreaped, 1);
	atomic_store(&v.reaped[n & (FL_MAX_REAPED - 1)].seq, 2 * n + 1);
	fl_shm_reaped_put(&v, 20, 0, 3, 200);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0), 0);
	cr_assert_eq(cursor, n);
	/* Its writer died: once many later records came, it is given up
	 * as lost and the reading goes on. */
	for (int i = 0; i < 100; i++)
		fl_shm_reaped_put(&v, 30 + i, 0, 3, 300 + i);
	size_t got = 0, k;
	while ((k = fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0)) > 0)
		got += k;
	cr_assert_eq(got, 101, "pid 20 and the 100 after it (%zu)", got);
	cr_assert_eq(lost, 1);
	/* A reader that fell a ring behind counts what it never read. */
	uint64_t before = cursor;
	for (int i = 0; i < FL_MAX_REAPED + 40; i++)
		fl_shm_reaped_put(&v, 5000 + i, 0, 3, 1000 + i);
	got = 0;
	while ((k = fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0)) > 0)
		got += k;
	cr_assert_eq(got, FL_MAX_REAPED);
	cr_assert_eq(lost, 1 + 40);
	cr_assert_eq(cursor, before + FL_MAX_REAPED + 40);
	fl_faults_free(&f);
}

/* A writer that died in the middle of the ring's last records: while a
 * writer may be left, the reading waits for it; once the tree has ended
 * (no writer left), the record is lost and the records after it read. */
Test(reaped, once_no_writer_is_left_a_record_being_written_is_lost)
{
	fl_faults f;
	fl_shm_view v;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
	uint64_t cursor = 0, lost = 0;
	fl_reaped_end out[8];
	fl_shm_reaped_put(&v, 10, 0, 3, 100);
	uint64_t n = atomic_fetch_add(&v.hdr->nreaped, 1);
	atomic_store(&v.reaped[n & (FL_MAX_REAPED - 1)].seq, 2 * n + 1);
	fl_shm_reaped_put(&v, 12, SIGSEGV, 3, 120);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0), 1);
	cr_assert_eq(out[0].pid, 10);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 0), 0);
	cr_assert_eq(cursor, 1, "it waits at the record being written");
	cr_assert_eq(lost, 0);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 1), 1);
	cr_assert_eq(out[0].pid, 12);
	cr_assert_eq(WTERMSIG(out[0].status), SIGSEGV);
	cr_assert_eq(lost, 1);
	cr_assert_eq(cursor, 3);
	cr_assert_eq(fl_faults_reaped_next(&f, &cursor, out, 8, &lost, 1), 0);
	cr_assert_eq(lost, 1, "counted once");
	fl_faults_free(&f);
}

/* ------------------------------------------------------------------ */
/* The agent, on a real target                                          */
/* ------------------------------------------------------------------ */

/* Runs reaper mode under the agent with the region f (or, without f,
 * not started by faultline); its stdout into out. Returns its exit
 * status, or 128 + the signal that ended it. */
static int run_target(fl_faults *f, const char *mode, char *out, size_t len)
{
	char pre[PATH_MAX], shm[64] = "FL_UNUSED=1";
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s:%s", AGENT,
		 "/usr/lib/fiu/fiu_posix_preload.so");
	if (f) {
		int fd = fl_faults_fd(f);
		fcntl(fd, F_SETFD, 0);
		snprintf(shm, sizeof shm, "%s=%d", FL_ENV_SHM_FD, fd);
	}
	char *env[] = {pre, shm, "PATH=/usr/bin:/bin", NULL};
	char *argv[] = {TARGET, (char *)mode, NULL};
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execve(TARGET, argv, env);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < len - 1 && (r = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (f)
		fl_faults_spawned(f, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The pid of "CASE name pid=P" in out. */
static pid_t case_pid(const char *out, const char *name)
{
	char want[96];
	snprintf(want, sizeof want, "CASE %s pid=", name);
	const char *at = strstr(out, want);
	cr_assert_not_null(at, "no %s in:\n%s", name, out);
	return (pid_t)atoi(at + strlen(want));
}

/* How many complete records the ring holds for pid. */
static int records_of(fl_faults *f, pid_t pid)
{
	fl_shm_view v;
	cr_assert_eq(fl_shm_view_of(f->shm, f->shm_size, &v), 0);
	uint64_t end = atomic_load(&v.hdr->nreaped);
	int n = 0;
	for (uint64_t i = 0; i < end; i++) {
		fl_reaped_rec r;
		n += fl_shm_reaped_get(&v, i, &r) == 1 && r.pid == pid;
	}
	return n;
}

static const struct {
	const char *name;
	int sig;	/* killed by it, or 0 */
	int code;	/* else its exit status */
	const char *reaper;	/* the case that reaped it; NULL: main */
} cases[] = {
	{"wait-exit3", 0, 3, NULL},
	{"waitpid-segv", SIGSEGV, 0, NULL},
	{"waitpid-nostatus-exit5", 0, 5, NULL},
	{"wait3-abrt", SIGABRT, 0, NULL},
	{"wait4-exit0", 0, 0, NULL},
	{"waitid-kill", SIGKILL, 0, NULL},
	{"waitid-nowait-exit7", 0, 7, NULL},
	{"wnohang-exit9", 0, 9, NULL},
	{"stopped-exit11", 0, 11, NULL},
	{"grandchild-exit13", 0, 13, "middle"},
	{"middle", 0, 0, NULL},
	{"handler-segv", SIGSEGV, 0, NULL},
};
#define NCASES (sizeof cases / sizeof cases[0])

Test(reaped, each_wait_records_the_child_it_reaped_once, .timeout = 60)
{
	fl_faults f;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	char out[4096];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t before = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	cr_assert_eq(run_target(&f, "waits", out, sizeof out), 0, "%s", out);
	fl_shm_view v;
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
	/* One record per child: no peek, no WNOHANG 0, no stop or
	 * continue made one. */
	cr_assert_eq(atomic_load(&v.hdr->nreaped), NCASES, "%llu records",
		     (unsigned long long)atomic_load(&v.hdr->nreaped));
	pid_t main_pid = case_pid(out, "main");
	for (size_t i = 0; i < NCASES; i++) {
		pid_t pid = case_pid(out, cases[i].name);
		cr_assert_eq(records_of(&f, pid), 1, "%s", cases[i].name);
		fl_reaped_end r;
		cr_assert_eq(fl_faults_reaped(&f, pid, before, &r), 1, "%s",
			     cases[i].name);
		cr_assert_geq(r.t_ns, before);
		/* A forked child that reaps is named, not its parent: the
		 * agent's pid follows the fork. */
		pid_t reaper = cases[i].reaper ? case_pid(out, cases[i].reaper)
					       : main_pid;
		cr_assert_eq(r.reaper, reaper, "%s: reaped by %s (%d), not %d",
			     cases[i].name,
			     cases[i].reaper ? cases[i].reaper : "main",
			     (int)reaper, (int)r.reaper);
		int st = r.status;
		if (cases[i].sig)
			cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == cases[i].sig &&
					  !WCOREDUMP(st),
				  "%s: status %#x", cases[i].name, st);
		else
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == cases[i].code,
				  "%s: status %#x", cases[i].name, st);
	}
	fl_faults_free(&f);
}

Test(reaped, a_fault_at_waitpid_still_fails_it_and_records_nothing,
     .timeout = 60)
{
	fl_faults f;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	fl_fault_spec spec;
	memset(&spec, 0, sizeof spec);
	snprintf(spec.point, sizeof spec.point, "posix/proc/waitpid");
	spec.p = 1;
	spec.err = EINTR;
	spec.failnum = 1;
	char err[256];
	cr_assert_eq(fl_faults_enable(&f, &spec, err, sizeof err, 0), 0, "%s", err);
	char out[4096];
	cr_assert_eq(run_target(&f, "faulted", out, sizeof out), 0, "%s", out);
	char want[64];
	snprintf(want, sizeof want, "WAITPID r=-1 errno=%d\n", EINTR);
	cr_assert(strstr(out, want), "libfiu's waitpid failed it:\n%s", out);
	/* wait4 (no point) reaped it afterwards: one record, exit 4. */
	pid_t pid = case_pid(out, "faulted");
	cr_assert_eq(records_of(&f, pid), 1);
	fl_reaped_end r;
	cr_assert_eq(fl_faults_reaped(&f, pid, 0, &r), 1);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 4,
		  "status %#x", r.status);
	fl_point_stats *stats;
	int n = fl_faults_stats(&f, &stats, err, sizeof err, 0);
	cr_assert_geq(n, 0, "%s", err);
	uint64_t fired = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(stats[i].point, "posix/proc/waitpid"))
			fired = stats[i].fired;
	free(stats);
	cr_assert_eq(fired, 1, "the fault was counted as fired");
	fl_faults_free(&f);
}

Test(reaped, not_started_by_faultline_the_waits_just_pass, .timeout = 60)
{
	char out[4096];
	cr_assert_eq(run_target(NULL, "waits", out, sizeof out), 0, "%s", out);
	for (size_t i = 0; i < NCASES; i++)
		case_pid(out, cases[i].name);
}
