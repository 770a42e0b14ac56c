/* What changed between two snapshots (delta.c), on snapshots made here:
 * no process is spawned. A held snapshot keeps what two looks have in
 * common; the final forensics are what is new and what is gone, grouped
 * per process when there are several. */
#include "testutil.h"

#include "delta.h"

static fl_fd_entry fd(pid_t pid, int n, const char *t)
{
	fl_fd_entry e;
	memset(&e, 0, sizeof e);
	e.pid = pid;
	e.fd = n;
	snprintf(e.target, sizeof e.target, "%s", t);
	return e;
}

static fl_thread_entry thread(pid_t pid, pid_t tid, const char *name)
{
	fl_thread_entry e;
	memset(&e, 0, sizeof e);
	e.pid = pid;
	e.tid = tid;
	snprintf(e.name, sizeof e.name, "%s", name);
	return e;
}

static fl_proc_entry proc(pid_t pid, unsigned long long start,
			  const char *comm)
{
	fl_proc_entry e;
	memset(&e, 0, sizeof e);
	e.pid = pid;
	e.starttime = start;
	snprintf(e.comm, sizeof e.comm, "%s", comm);
	return e;
}

static void snapshot_free(fl_base_snapshot *b)
{
	free(b->fds);
	free(b->threads);
	free(b->files);
	free(b->procs);
}

Test(delta, common_keeps_what_both_looks_hold)
{
	fl_proc_entry pa[] = {proc(10, 100, "srv"), proc(11, 200, "worker")};
	/* pid 11 again, but started later: another process. */
	fl_proc_entry pb[] = {proc(10, 100, "srv"), proc(11, 300, "worker")};
	/* fd 4 was unlinked between the looks: still the same open file.
	 * fd 5 was closed and its number reused: not held. */
	fl_fd_entry fa[] = {fd(10, 3, "socket:[1]"), fd(10, 4, "/tmp/a.txt"),
			    fd(10, 5, "/tmp/b.txt"), fd(11, 3, "pipe:[2]")};
	fl_fd_entry fb[] = {fd(10, 3, "socket:[1]"),
			    fd(10, 4, "/tmp/a.txt (deleted)"),
			    fd(10, 5, "/tmp/c.txt"), fd(11, 3, "pipe:[2]")};
	fl_thread_entry ta[] = {thread(10, 10, "srv"), thread(10, 12, "io")};
	fl_thread_entry tb[] = {thread(10, 10, "srv"), thread(10, 13, "io")};
	fl_base_snapshot a = {fa, 4, ta, 2, NULL, 0, pa, 2};
	fl_base_snapshot b = {fb, 4, tb, 2, NULL, 0, pb, 2};
	fl_base_snapshot out;
	fl_delta_common(&a, &b, &out);
	cr_assert_eq(out.nprocs, 1, "processes kept: %d, want 1", out.nprocs);
	cr_assert_eq(out.procs[0].pid, 10);
	/* fd 3 of pid 11 is in both looks by number and target: an fd is
	 * matched by its process's pid, whatever its start. */
	cr_assert_eq(out.nfds, 3, "fds kept: %d, want 3", out.nfds);
	cr_assert_str_eq(out.fds[1].target, "/tmp/a.txt (deleted)");
	cr_assert_eq(out.nthreads, 1, "threads kept: %d, want 1",
		     out.nthreads);
	cr_assert_eq(out.procs[0].nfds, 2, "pid 10 keeps %d fds, want 2",
		     out.procs[0].nfds);
	cr_assert_eq(out.procs[0].nthreads, 1, "pid 10 keeps %d threads, want 1",
		     out.procs[0].nthreads);
	snapshot_free(&out);
}

Test(delta, new_and_gone_fds_per_process)
{
	fl_proc_entry procs[] = {proc(10, 100, "srv"), proc(11, 200, "worker")};
	fl_fd_entry base[] = {fd(10, 3, "socket:[1]"), fd(11, 3, "pipe:[2]")};
	fl_fd_entry now[] = {fd(10, 3, "socket:[1]"), fd(10, 4, "socket:[5]"),
			     fd(11, 4, "/tmp/in-001.txt"),
			     fd(11, 5, "/tmp/in-002.txt")};
	fl_new_fds out;
	memset(&out, 0, sizeof out);
	fl_delta_fds(base, 2, now, 4, 0, procs, 2, 1, &out);
	cr_assert_eq(out.n, 3, "new fds: %d, want 3", out.n);
	cr_assert_eq(out.ngone, 1, "gone fds: %d, want 1", out.ngone);
	cr_assert_eq(out.gone[0].pid, 11);
	cr_assert_eq(out.ngroups, 2, "groups: %d, want 2", out.ngroups);
	/* Largest first, each named after its process. */
	cr_assert_eq(out.groups[0].count, 2);
	cr_assert_str_eq(out.groups[0].proc, "worker pid 11");
	cr_assert_str_eq(out.groups[1].proc, "srv pid 10");
	free(out.items);
	free(out.gone);
	free(out.groups);

	/* One process: the groups name none. */
	memset(&out, 0, sizeof out);
	fl_delta_fds(base, 2, now, 4, 0, procs, 2, 0, &out);
	cr_assert_eq(out.ngroups, 2, "groups: %d, want 2", out.ngroups);
	cr_assert_str_eq(out.groups[0].proc, "");
	free(out.items);
	free(out.gone);
	free(out.groups);
}

Test(delta, files_match_by_name_alone)
{
	fl_fd_entry base[] = {fd(0, 0, "/w/a"), fd(0, 1, "/w/b")};
	/* Listed again: the positions moved, the names did not. */
	fl_fd_entry now[] = {fd(0, 0, "/w/0"), fd(0, 1, "/w/a"),
			     fd(0, 2, "/w/b")};
	fl_new_fds out;
	memset(&out, 0, sizeof out);
	fl_delta_fds(base, 2, now, 3, 1, NULL, 0, 1, &out);
	cr_assert_eq(out.n, 1, "new files: %d, want 1", out.n);
	cr_assert_str_eq(out.items[0].target, "/w/0");
	cr_assert_eq(out.ngone, 0, "gone files: %d, want 0", out.ngone);
	free(out.items);
	free(out.gone);
	free(out.groups);
}

Test(delta, threads_and_processes)
{
	fl_proc_entry pb[] = {proc(10, 100, "srv")};
	fl_proc_entry pn[] = {proc(10, 100, "srv"), proc(12, 400, "helper"),
			      proc(13, 500, "helper")};
	fl_thread_entry tb[] = {thread(10, 10, "srv"), thread(10, 11, "io")};
	fl_thread_entry tn[] = {thread(10, 10, "srv"), thread(12, 12, "helper"),
				thread(13, 13, "helper")};
	fl_base_snapshot base = {NULL, 0, tb, 2, NULL, 0, pb, 1};
	fl_base_snapshot now = {NULL, 0, tn, 3, NULL, 0, pn, 3};
	fl_new_threads th;
	memset(&th, 0, sizeof th);
	fl_delta_threads(&base, &now, &th);
	cr_assert_eq(th.n, 2, "new threads: %d, want 2", th.n);
	cr_assert_eq(th.gone, 1, "gone threads: %d, want 1", th.gone);
	cr_assert_eq(th.nall, 3, "threads at the end: %d, want 3", th.nall);
	/* Several processes: each new thread's group names its own. */
	cr_assert_eq(th.ngroups, 2, "thread groups: %d, want 2", th.ngroups);
	cr_assert_str_eq(th.groups[0].proc, "helper pid 12");
	free(th.items);
	free(th.groups);
	free(th.all);

	fl_new_procs pr;
	memset(&pr, 0, sizeof pr);
	fl_delta_procs(&base, &now, &pr);
	cr_assert_eq(pr.n, 2, "new processes: %d, want 2", pr.n);
	cr_assert_eq(pr.gone, 0, "gone processes: %d, want 0", pr.gone);
	cr_assert_eq(pr.ngroups, 1, "process groups: %d, want 1", pr.ngroups);
	cr_assert_eq(pr.groups[0].count, 2);
	free(pr.items);
	free(pr.groups);
}

Test(delta, a_process_count_and_label)
{
	fl_proc_entry procs[] = {proc(10, 100, "srv"), proc(11, 200, "worker")};
	procs[1].nfds = 7;
	procs[1].nthreads = 3;
	fl_base_snapshot b = {NULL, 0, NULL, 0, NULL, 0, procs, 2};
	fl_proc_entry same = proc(11, 200, "worker");
	fl_proc_entry reused = proc(11, 900, "worker");
	cr_assert_eq(fl_delta_proc_count(&b, &same, FL_FIG_FDS), 7);
	cr_assert_eq(fl_delta_proc_count(&b, &same, FL_FIG_THREADS), 3);
	cr_assert_eq(fl_delta_proc_count(&b, &reused, FL_FIG_FDS), -1,
		     "a pid handed out again is another process");
	char label[64];
	fl_delta_proc_label(procs, 2, 11, label, sizeof label);
	cr_assert_str_eq(label, "worker pid 11");
	fl_delta_proc_label(procs, 2, 99, label, sizeof label);
	cr_assert_str_eq(label, "pid 99");
	cr_assert(fl_delta_multi_process(&b, &b));
	fl_base_snapshot one = {NULL, 0, NULL, 0, NULL, 0, procs, 1};
	cr_assert_not(fl_delta_multi_process(&one, &one));
}
