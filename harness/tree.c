#define _GNU_SOURCE
#include "tree.h"

#include "bpfsample.h"
#include "guardian.h"
#include "procfs.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* At most this many new pids are looked at in one round; beyond, the
 * oldest are skipped (the full walks find what they missed). */
#define PROBE_MAX 4096
/* Orphans waiting for another look at their environment (deferred()),
 * and for how long at most. */
#define FL_TREE_DEFERRED 32
#define FL_TREE_DEFER_NS (200 * FL_NS_PER_MS)

/* ------------------------------------------------------------------ */
/* One process                                                          */
/* ------------------------------------------------------------------ */

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A process's own line of stat: task/PID/stat, which the kernel prints
 * for that one thread, O(1), where /proc/PID/stat sums every thread. */
static int read_task_stat(int dirfd, const char *prefix, pid_t pid,
			  fl_proc_stat *st)
{
	char path[96], buf[1024];
	snprintf(path, sizeof path, "%s%d/task/%d/stat", prefix, (int)pid,
		 (int)pid);
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : -ESRCH;
	buf[n] = '\0';
	return fl_procfs_parse_stat(buf, (size_t)n, st);
}

/* The stat line of the process whose /proc/PID directory is dirfd. */
static int stat_at(int dirfd, fl_proc_stat *st)
{
	char buf[1024];
	int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : -ESRCH;
	buf[n] = '\0';
	return fl_procfs_parse_stat(buf, (size_t)n, st);
}

/* The same through the process's own /proc/PID directory. */
static int proc_stat(const fl_member *p, fl_proc_stat *st)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "task/%d/stat", (int)p->pid);
	int fd = openat(p->sampler.procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : -ESRCH;
	buf[n] = '\0';
	return fl_procfs_parse_stat(buf, (size_t)n, st);
}

static void note_identity(fl_tree *t, fl_member *p, const fl_proc_stat *st)
{
	snprintf(p->comm, sizeof p->comm, "%s", st->comm);
	/* The parent it was found with: once orphaned, faultline or init
	 * would say nothing of where it came from. */
	if (!p->ppid)
		p->ppid = st->ppid;
	p->starttime = st->starttime;
	p->left_group = st->pgrp != t->pgid;
	p->left_session = st->session != t->sid;
}

static void proc_gone(fl_member *p, int64_t now_ns)
{
	if (!p->is_root)
		fl_guardian_forget_pid(p->pid);
	p->state = FL_MEMBER_GONE;
	if (p->exit_ns < 0)
		p->exit_ns = now_ns;
	/* Its figures stay those of its last sample (the report's). */
	if (p->sampler_ok) {
		fl_sampler_close(&p->sampler);
		p->sampler_ok = 0;
	}
	if (p->pidfd >= 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
}

/* Its end from a wait status (a zombie's stat field 52 is one). */
static void note_end_status(fl_member *p, int status)
{
	p->end_known = 1;
	p->end_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	p->end_core = WIFSIGNALED(status) && WCOREDUMP(status);
	p->end_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

static const char *const end_from_names[FL_END_FROM_COUNT] = {
	[FL_END_WAIT] = "wait",
	[FL_END_PARENT] = "parent",
	[FL_END_AGENT] = "agent",
};

const char *fl_end_from_name(int from)
{
	return from >= 0 && from < FL_END_FROM_COUNT ? end_from_names[from]
						     : "wait";
}

int fl_tree_settle_ends(fl_tree *t, const struct fl_faults *faults,
			int again)
{
	if (!faults)
		return 0;
	int settled = 0;
	for (size_t i = 0; i < t->n; i++) {
		fl_member *p = &t->procs[i];
		if (p->is_root || p->state != FL_MEMBER_GONE || p->end_known ||
		    (p->parent_looked && !again))
			continue;
		p->parent_looked = 1;
		fl_reaped_end r;
		/* Only a record made since it was found: a pid is reused
		 * only once its process is reaped. */
		if (!fl_faults_reaped(faults, p->pid, t->start_ns + p->first_ns,
				      &r))
			continue;
		note_end_status(p, r.status);
		p->end_from = FL_END_PARENT;
		p->reaper = r.reaper;
		/* Reaped at once: the parent's moment is the nearer one. */
		if (r.t_ns - t->start_ns < p->exit_ns)
			p->exit_ns = r.t_ns - t->start_ns;
		settled++;
	}
	return settled;
}

static void count_dropped(fl_tree *t, const fl_end_key *key);
static fl_member *proc_new(fl_tree *t);

/* Was a process with this pid found before the record r? A member, or
 * one compact() dropped a moment ago (its parent's record may come after
 * it went): if that one's end was unknown, the record's is counted. */
static int found_before(fl_tree *t, const fl_reaped_end *r)
{
	int64_t rel = r->t_ns - t->start_ns;
	for (size_t i = 0; i < t->n; i++)
		if (t->procs[i].pid == r->pid && t->procs[i].first_ns <= rel)
			return 1;
	size_t kept = t->nrecent_drops < FL_TREE_RECENT_DROPS
			      ? t->nrecent_drops
			      : FL_TREE_RECENT_DROPS;
	for (size_t i = 0; i < kept; i++) {
		if (t->recent_drops[i].pid != r->pid ||
		    t->recent_drops[i].first_ns > rel)
			continue;
		if (t->recent_drops[i].end_unknown) {
			t->recent_drops[i].end_unknown = 0;
			fl_member m;
			memset(&m, 0, sizeof m);
			note_end_status(&m, r->status);
			m.exit_ns = rel;
			fl_end_key k;
			if (fl_tree_end_key(t, &m, &k))
				count_dropped(t, &k);
		}
		return 1;
	}
	return 0;
}

int fl_tree_take_reaped(fl_tree *t, const struct fl_faults *faults)
{
	if (!faults || (t->reaped_read_at_end && !t->ended))
		return 0;
	fl_reaped_end recs[64];
	size_t got;
	int added = 0;
	while ((got = fl_faults_reaped_next(faults, &t->reaped_cursor, recs,
					    64, &t->reaped_lost,
					    t->ended)) > 0) {
		for (size_t k = 0; k < got; k++) {
			const fl_reaped_end *r = &recs[k];
			if (r->t_ns < t->start_ns || r->pid <= 0 ||
			    found_before(t, r))
				continue;
			fl_member *p = proc_new(t);
			p->pid = r->pid;
			p->ppid = r->reaper;
			p->reaper = r->reaper;
			p->unseen = 1;
			p->state = FL_MEMBER_GONE;
			p->first_ns = p->exit_ns = r->t_ns - t->start_ns;
			p->parent_looked = 1;
			note_end_status(p, r->status);
			p->end_from = FL_END_PARENT;
			if (!fl_faults_proc_name(faults, r->pid, r->t_ns, p->comm,
						 sizeof p->comm))
				p->comm[0] = '\0';
			/* It shared its parent's group and session unless it
			 * said otherwise, which nothing saw. */
			for (int f = 0; f < FL_FIG_COUNT; f++)
				p->v[f] = 0;
			t->n++;
			t->seen++;
			t->unseen++;
			added++;
		}
		if (got < 64)
			break;
	}
	return added;
}

int fl_tree_end_key(const fl_tree *t, const fl_member *p, fl_end_key *k)
{
	if (p->is_root || !p->end_known || !p->end_signal)
		return 0;
	k->sig = p->end_signal;
	k->after_stop = t->stop_ns >= 0 && p->exit_ns >= t->stop_ns;
	k->killed = p->killed;
	k->expected = p->end_expected;
	k->sent = k->sig <= 64 && (p->sent_signals >> (k->sig - 1)) & 1;
	return 1;
}

int fl_tree_signal(fl_tree *t, pid_t pid, int sig)
{
	long i = fl_tree_find(t, pid);
	if (i < 0 || t->procs[i].is_root ||
	    t->procs[i].state != FL_MEMBER_LIVE || t->procs[i].pidfd < 0)
		return -ESRCH;
	fl_member *p = &t->procs[i];
	if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
		return -errno;
	if (sig > 0 && sig <= 64)
		p->sent_signals |= 1ULL << (sig - 1);
	return 0;
}

/* An exited process: reaped here if faultline adopted it, else a zombie
 * until its parent reaps it (its /proc entry goes then). Either way its
 * end is noted while it can be read: waitid's status, or the zombie's
 * exit_code in stat (the parent reaps it later, and then it is gone). */
static void proc_exited(fl_member *p, int64_t now_ns)
{
	if (p->exit_ns < 0)
		p->exit_ns = now_ns;
	if (p->pidfd >= 0) {
		siginfo_t info;
		memset(&info, 0, sizeof info);
		if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &info,
			   WEXITED | WNOHANG) == 0 &&
		    info.si_pid != 0) {
			if (!p->end_known) {
				p->end_known = 1;
				p->end_signal = info.si_code == CLD_EXITED
							? 0
							: info.si_status;
				p->end_code = info.si_code == CLD_EXITED
						      ? info.si_status
						      : 0;
				p->end_core = info.si_code == CLD_DUMPED;
			}
			proc_gone(p, now_ns);
			return;
		}
	}
	fl_proc_stat st;
	if (!p->sampler_ok || proc_stat(p, &st) < 0) {
		proc_gone(p, now_ns);
		return;
	}
	/* A process that is not a zombie yet (its pidfd said it exited a
	 * moment before the kernel marked it) is looked at again at the
	 * next sample; a leader whose own thread ended while others run is
	 * a 'Z' too, but its pidfd does not say it exited. */
	struct pollfd pf = {p->pidfd, POLLIN, 0};
	if (!p->end_known && st.state == 'Z' && st.exit_code >= 0 &&
	    (p->pidfd < 0 || poll(&pf, 1, 0) > 0))
		note_end_status(p, st.exit_code);
	p->state = FL_MEMBER_ZOMBIE;
}

static fl_member *proc_new(fl_tree *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->procs = fl_xrealloc(t->procs, t->cap * sizeof *t->procs);
	}
	fl_member *p = &t->procs[t->n];
	memset(p, 0, sizeof *p);
	p->pidfd = -1;
	p->exit_ns = -1;
	for (int f = 0; f < FL_FIG_COUNT; f++)
		p->v[f] = -1;
	return p;
}

/* ------------------------------------------------------------------ */
/* The tree                                                             */
/* ------------------------------------------------------------------ */

static void discover_from(pid_t root);

int fl_tree_init(fl_tree *t, pid_t pid, int procfd, int pidfd,
		 int64_t start_ns)
{
	memset(t, 0, sizeof *t);
	t->start_ns = start_ns;
	t->stop_ns = -1;
	fl_member *p = proc_new(t);
	p->pid = pid;
	p->is_root = 1;
	p->fp.fd = -1;
	int r = fl_sampler_open_dir(&p->sampler, pid, procfd, pidfd, 0);
	if (r < 0)
		return r;
	p->sampler_ok = 1;
	t->n = 1;
	t->seen = 1;
	/* The root was forked into its own group (target.c) from the
	 * harness's session: that is where the target started, whatever it
	 * does later. */
	t->pgid = pid;
	t->sid = getsid(0);
	const char *knob = getenv("FL_TEST_REAPED_READ");
	t->reaped_read_at_end = knob && strcmp(knob, "end") == 0;
	fl_proc_stat st;
	if (proc_stat(p, &st) == 0)
		note_identity(t, p, &st);
	discover_from(pid);
	return 0;
}

void fl_tree_free(fl_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		fl_member *p = &t->procs[i];
		if (p->state != FL_MEMBER_GONE && !p->is_root)
			fl_guardian_forget_pid(p->pid);
		if (p->sampler_ok)
			fl_sampler_close(&p->sampler);
		if (p->pidfd >= 0)
			close(p->pidfd);
	}
	free(t->procs);
	free(t->dropped);
	memset(t, 0, sizeof *t);
}

long fl_tree_find(const fl_tree *t, pid_t pid)
{
	for (size_t i = t->n; i-- > 0;)
		if (t->procs[i].pid == pid && t->procs[i].state != FL_MEMBER_GONE)
			return (long)i;
	return -1;
}

int fl_tree_add(fl_tree *t, pid_t pid, int pidfd, int64_t now_ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		int err = -errno;
		close(pidfd);
		return err;
	}
	/* The pidfd was opened first: if the process it names still runs,
	 * the pid was still its own when /proc/PID was opened. */
	struct pollfd pf = {pidfd, POLLIN, 0};
	if (poll(&pf, 1, 0) != 0) {
		/* Exited before it was found: a zombie still holds its pid
		 * (no other process has it), so its stat is its own, and how
		 * it ended is known (a worker that crashed at once). It is
		 * kept as a member that is gone, for the survival check. */
		fl_proc_stat st;
		int zombie = stat_at(procfd, &st) == 0 && st.state == 'Z' &&
			     st.exit_code >= 0;
		/* A full walk finds it again while it stays a zombie. */
		for (size_t i = 0; zombie && i < t->n; i++)
			if (t->procs[i].pid == pid &&
			    t->procs[i].starttime == st.starttime)
				zombie = 0;
		fl_member *z = zombie ? proc_new(t) : NULL;
		if (!z || fl_sampler_open_dir(&z->sampler, pid, procfd, pidfd,
					      0) < 0) {
			if (!z)
				close(procfd);
			close(pidfd);
			return -ESRCH;
		}
		z->sampler_ok = 1;
		z->pid = pid;
		z->pidfd = pidfd;
		z->fp.fd = -1;
		z->first_ns = z->exit_ns = now_ns - t->start_ns;
		z->state = FL_MEMBER_ZOMBIE;
		note_identity(t, z, &st);
		note_end_status(z, st.exit_code);
		/* A zombie holds no fd, no thread, no memory. */
		z->v[FL_FIG_FDS] = z->v[FL_FIG_THREADS] = z->v[FL_FIG_RSS] = 0;
		z->v[FL_FIG_PROCS] = 1;
		fl_guardian_watch_pid(pid, z->starttime);
		t->n++;
		t->seen++;
		return 0;
	}
	fl_member *p = proc_new(t);
	p->pid = pid;
	p->pidfd = pidfd;
	p->fp.fd = -1;
	p->first_ns = now_ns - t->start_ns;
	int r = fl_sampler_open_dir(&p->sampler, pid, procfd, pidfd, 0);
	if (r < 0) {
		close(pidfd);
		return r;
	}
	p->sampler_ok = 1;
	fl_proc_stat st;
	if (proc_stat(p, &st) == 0)
		note_identity(t, p, &st);
	/* The guardian ends the target's process group if faultline dies;
	 * a descendant may leave the group at any moment, so each is also
	 * known to it by pid (and start time). */
	fl_guardian_watch_pid(pid, p->starttime);
	t->n++;
	t->seen++;
	return 0;
}

/* Counts a dropped process's end by its key. */
static void count_dropped(fl_tree *t, const fl_end_key *key)
{
	fl_end_key k;
	memset(&k, 0, sizeof k);	/* compared whole */
	k.sig = key->sig;
	k.after_stop = key->after_stop;
	k.killed = key->killed;
	k.expected = key->expected;
	k.sent = key->sent;
	for (size_t i = 0; i < t->ndropped; i++)
		if (!memcmp(&t->dropped[i].key, &k, sizeof k)) {
			t->dropped[i].n++;
			return;
		}
	t->dropped = fl_xrealloc(t->dropped,
				 (t->ndropped + 1) * sizeof *t->dropped);
	t->dropped[t->ndropped].key = k;
	t->dropped[t->ndropped].n = 1;
	t->ndropped++;
}

/* A member compact() drops: its pid is remembered a while (with whether
 * its end is still to come from its parent's record), and its end
 * counted by what survival looks at. */
static void drop(fl_tree *t, const fl_member *p)
{
	size_t at = t->nrecent_drops++ % FL_TREE_RECENT_DROPS;
	t->recent_drops[at].pid = p->pid;
	t->recent_drops[at].first_ns = p->first_ns;
	t->recent_drops[at].end_unknown = !p->is_root && !p->end_known;
	t->dropped_procs++;
	fl_end_key k;
	if (fl_tree_end_key(t, p, &k))
		count_dropped(t, &k);
}

/* Drops the oldest reaped processes beyond FL_TREE_KEEP_GONE; those a
 * signal killed go last (the survival check and the report name them). */

static void compact(fl_tree *t)
{
	size_t gone = 0;
	for (size_t i = 0; i < t->n; i++)
		gone += t->procs[i].state == FL_MEMBER_GONE;
	if (gone <= 2 * FL_TREE_KEEP_GONE)
		return;
	size_t ndrop = gone - FL_TREE_KEEP_GONE;
	/* The oldest of those no signal killed go first; then, past the
	 * bound, the newest of those a signal killed, so the report names
	 * the first crashes (where a crash loop began) and counts the
	 * others. */
	unsigned char *out = fl_xcalloc(t->n, 1);
	for (size_t i = 0; i < t->n && ndrop; i++) {
		const fl_member *p = &t->procs[i];
		if (!p->is_root && p->state == FL_MEMBER_GONE &&
		    !(p->end_known && p->end_signal)) {
			out[i] = 1;
			ndrop--;
		}
	}
	for (size_t i = t->n; i-- > 0 && ndrop;) {
		const fl_member *p = &t->procs[i];
		if (!out[i] && !p->is_root && p->state == FL_MEMBER_GONE) {
			out[i] = 1;
			ndrop--;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (out[i]) {
			drop(t, &t->procs[i]);
			continue;
		}
		t->procs[k++] = t->procs[i];
	}
	t->n = k;
	free(out);
}

size_t fl_tree_batch_pids(const fl_tree *t, struct fl_bpfs_ent *out,
			  size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		const fl_member *p = &t->procs[i];
		if (p->state != FL_MEMBER_LIVE || !p->sampler_ok)
			continue;
		if (out && n < cap)
			out[n].pid = p->pid;
		n++;
	}
	return n;
}

/* The batch's entry for p: in member order, so the next one is looked at
 * first. NULL when there is none, or when its start time is not p's (the
 * pid now names another process: /proc, through p's own /proc/PID, will
 * say it is gone). */
static const struct fl_bpfs_ent *batch_entry(const struct fl_bpfs_ent *b,
					     size_t n, size_t *next,
					     const fl_member *p)
{
	const struct fl_bpfs_ent *e = NULL;
	if (*next < n && b[*next].pid == p->pid)
		e = &b[*next];
	for (size_t i = 0; !e && i < n; i++)
		if (b[i].pid == p->pid)
			e = &b[i];
	if (!e)
		return NULL;
	*next = (size_t)(e - b) + 1;
	if (e->rc == FL_BPFS_NOTASK)
		return e;
	if (!p->starttime || fl_bpfs_start_ticks(e) != p->starttime)
		return NULL;
	return e;
}

int fl_tree_sample(fl_tree *t, int64_t now_ns, struct fl_faults *faults,
		   const struct fl_bpfs_ent *batch, size_t nbatch,
		   fl_sample *out, int64_t *raw_rss)
{
	size_t next = 0;
	int64_t rel = now_ns - t->start_ns;
	int64_t sum[FL_FIG_COUNT] = {0};
	*raw_rss = 0;
	int counted = 0;
	for (size_t i = 0; i < t->n; i++) {
		fl_member *p = &t->procs[i];
		if (p->state == FL_MEMBER_GONE)
			continue;
		if (p->state == FL_MEMBER_ZOMBIE) {
			proc_exited(p, rel);
			if (p->state == FL_MEMBER_ZOMBIE) {
				sum[FL_FIG_PROCS]++;
				counted++;
			}
			continue;
		}
		fl_sample x;
		const struct fl_bpfs_ent *e =
			batch ? batch_entry(batch, nbatch, &next, p) : NULL;
		int r = e ? fl_sampler_from_batch(&p->sampler, e, &x)
			  : fl_sampler_read(&p->sampler, &x);
		/* An entry the batch could not answer (no fd table) was
		 * read from /proc. */
		if (e && (e->rc == FL_BPFS_OK || e->rc == FL_BPFS_NOTASK ||
			  e->rc == FL_BPFS_NOMM))
			t->batch_reads++;
		if (r == -ESRCH) {
			if (p->is_root)
				return -ESRCH;
			proc_exited(p, rel);
			if (p->state == FL_MEMBER_ZOMBIE) {
				sum[FL_FIG_PROCS]++;
				counted++;
			}
			continue;
		}
		if (r == 0) {
			/* Looked at every sample until the agent registered in
			 * it (its pages are resident from then on), then every
			 * FL_TREE_FOOTPRINT_NS (an exec may drop it). */
			if (faults && (!p->fp_ns || p->fp.bytes == 0 ||
				       now_ns - p->fp_ns >= FL_TREE_FOOTPRINT_NS)) {
				fl_faults_footprint(faults, p->sampler.procfd,
						    p->pid, &p->fp);
				p->fp_ns = now_ns;
			}
			*raw_rss += x.v[FL_FIG_RSS];
			x.v[FL_FIG_RSS] -= p->fp.bytes +
					   p->fp.tls_bytes * x.v[FL_FIG_THREADS];
			x.v[FL_FIG_FDS] -= p->fp.fds;
			x.v[FL_FIG_THREADS] -= p->fp.threads;
			p->v[FL_FIG_FDS] = x.v[FL_FIG_FDS];
			p->v[FL_FIG_THREADS] = x.v[FL_FIG_THREADS];
			p->v[FL_FIG_RSS] = x.v[FL_FIG_RSS];
			p->v[FL_FIG_PROCS] = 1;
			for (int f = 0; f < FL_FIG_COUNT; f++)
				if (p->v[f] > p->peak[f])
					p->peak[f] = p->v[f];
		} else {
			/* Its main thread ended and others run on, or a read
			 * failed: the figures last seen stand in. */
			t->sample_errors++;
			if (p->v[FL_FIG_FDS] < 0)
				continue;
		}
		sum[FL_FIG_FDS] += p->v[FL_FIG_FDS];
		sum[FL_FIG_THREADS] += p->v[FL_FIG_THREADS];
		sum[FL_FIG_RSS] += p->v[FL_FIG_RSS];
		sum[FL_FIG_PROCS]++;
		counted++;
	}
	for (int f = 0; f < FL_FIG_COUNT; f++)
		out->v[f] = sum[f];
	/* Before compact() may drop them: those that went this round, and
	 * those that came and went unseen. */
	fl_tree_settle_ends(t, faults, 0);
	fl_tree_take_reaped(t, faults);
	compact(t);
	return counted;
}

void fl_tree_worst(const fl_tree *t, const fl_steady *st, fl_worst *out)
{
	memset(out, 0, sizeof *out);
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (!st->tol[f].set || fl_figures[f].tree)
			continue;
		double worst = -INFINITY;
		for (size_t i = 0; i < t->n; i++) {
			const fl_member *p = &t->procs[i];
			if (p->state != FL_MEMBER_LIVE || p->v[f] < 0)
				continue;
			double base = p->has_base ? (double)p->base[f] : 0;
			double e = fl_tolerance_excess(&st->tol[f], base,
						       (double)p->v[f]);
			if (out->pid[f] == 0 || e > worst) {
				worst = e;
				out->pid[f] = p->pid;
				out->v[f] = p->v[f];
				out->base[f] = p->has_base ? p->base[f] : 0;
			}
		}
	}
}

void fl_tree_set_baseline(fl_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		fl_member *p = &t->procs[i];
		p->has_base = p->state == FL_MEMBER_LIVE && p->v[FL_FIG_FDS] >= 0;
		if (p->has_base)
			memcpy(p->base, p->v, sizeof p->base);
	}
}

void fl_tree_check(fl_tree *t, int64_t now_ns)
{
	fl_tree_walk(t, now_ns);
	for (size_t i = 0; i < t->n; i++)
		fl_tree_look(t, i, now_ns);
}

void fl_tree_look(fl_tree *t, size_t i, int64_t now_ns)
{
	if (i >= t->n)
		return;
	fl_member *p = &t->procs[i];
	if (p->is_root || p->state == FL_MEMBER_GONE || p->pidfd < 0)
		return;
	struct pollfd pf = {p->pidfd, POLLIN, 0};
	if (poll(&pf, 1, 0) > 0)
		proc_exited(p, now_ns - t->start_ns);
}

void fl_tree_refresh(fl_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		fl_member *p = &t->procs[i];
		fl_proc_stat st;
		if (p->state == FL_MEMBER_LIVE && p->sampler_ok &&
		    proc_stat(p, &st) == 0)
			note_identity(t, p, &st);
	}
}

int fl_tree_walk(fl_tree *t, int64_t now_ns)
{
	int added = 0;
	/* Members found here are walked in turn (the loop reaches them). */
	for (size_t i = 0; i < t->n; i++) {
		if (t->procs[i].state != FL_MEMBER_LIVE || !t->procs[i].sampler_ok)
			continue;
		pid_t *kids;
		int nk = fl_procfs_children(t->procs[i].sampler.procfd, &kids);
		for (int k = 0; k < nk; k++) {
			if (fl_tree_find(t, kids[k]) >= 0)
				continue;
			int pfd = pidfd_open(kids[k]);
			if (pfd >= 0 && fl_tree_add(t, kids[k], pfd, now_ns) == 0)
				added++;
		}
		free(kids);
	}
	return added;
}

/* ------------------------------------------------------------------ */
/* Discovery across trees                                               */
/* ------------------------------------------------------------------ */

/* Processes faultline adopted that no tree claimed: reaped when they
 * exit, killed at the end of the run. */
struct stray {
	pid_t pid;
	int pidfd;
};

static struct {
	pthread_mutex_t lock;
	int loadavg_fd;
	long cursor;		/* pids up to here were looked at; -1: none */
	long pid_max;
	pid_t self, self_pgid, self_sid;
	struct stray *strays;
	size_t nstrays, cap;
	struct deferred {
		pid_t pid;
		int64_t since_ns;
	} deferred[FL_TREE_DEFERRED];	/* deferred() */
	size_t ndeferred;
} disc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.loadavg_fd = -1,
	.cursor = -1,
};

int fl_tree_become_subreaper(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static long last_pid(void)
{
	if (disc.loadavg_fd < 0) {
		disc.loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
		if (disc.loadavg_fd < 0)
			return -errno;
		disc.self = getpid();
		disc.self_pgid = getpgid(0);
		disc.self_sid = getsid(0);
		disc.pid_max = 4194304;
		char buf[32];
		int fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			if (n > 0) {
				buf[n] = '\0';
				disc.pid_max = atol(buf);
			}
			close(fd);
		}
	}
	char buf[128];
	ssize_t n = pread(disc.loadavg_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return fl_procfs_parse_last_pid(buf, (size_t)n);
}

static int is_root_of(fl_tree **trees, size_t ntrees, pid_t pid)
{
	for (size_t k = 0; k < ntrees; k++)
		if (trees[k]->n && trees[k]->procs[0].pid == pid)
			return 1;
	return 0;
}

static int is_stray(pid_t pid)
{
	for (size_t i = 0; i < disc.nstrays; i++)
		if (disc.strays[i].pid == pid)
			return 1;
	return 0;
}

/* Orphans whose environment read empty, looked at again each round for
 * up to FL_TREE_DEFER_NS. With add: 0 to look later (a pid starts or
 * keeps waiting), 1 to place it now (it waited long enough, or the list
 * is full). Without: a waiting pid stops waiting. */
static int deferred(pid_t pid, int add, int64_t now_ns)
{
	for (size_t i = 0; i < disc.ndeferred; i++) {
		if (disc.deferred[i].pid != pid)
			continue;
		if (add && now_ns - disc.deferred[i].since_ns < FL_TREE_DEFER_NS)
			return 0;
		disc.deferred[i] = disc.deferred[--disc.ndeferred];
		return 1;
	}
	if (!add || disc.ndeferred == FL_TREE_DEFERRED)
		return 1;
	disc.deferred[disc.ndeferred++] = (struct deferred){pid, now_ns};
	return 0;
}

/* A child of faultline that no tree knows: whose orphan is it?
 *  - one in faultline's session and in its own process group or
 *    faultline's is faultline's own child: a target between its fork and
 *    its exec, or a helper (gcore); never an orphan, never reaped here;
 *  - one whose marker (FL_TARGET=<root>) names a tree's root is that
 *    tree's; a marker naming no tree is a target's that is not (or no
 *    longer) watched: left alone;
 *  - without a marker: the tree whose process group it is in; failing
 *    that, one that left faultline's session belongs to the only tree
 *    running, unless marker_only (a tree is ending, others may run);
 *  - what is left and did leave the session is a stray, reaped when it
 *    exits and killed at the end of the run. */
static void adopt(fl_tree **trees, size_t ntrees, pid_t pid, int marker_only,
		  int64_t now_ns)
{
	fl_proc_stat st;
	if (read_task_stat(AT_FDCWD, "/proc/", pid, &st) < 0)
		return;
	if (st.session == disc.self_sid &&
	    (st.pgrp == pid || st.pgrp == disc.self_pgid))
		return;
	int pidfd = pidfd_open(pid);
	if (pidfd < 0)
		return; /* a thread, or gone */
	char path[64], mark[32];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int env = procfd >= 0 ? fl_procfs_environ_value(procfd, FL_TREE_MARKER,
							mark, sizeof mark)
			      : -ESRCH;
	if (procfd >= 0)
		close(procfd);
	/* An environment that reads empty is one caught inside an exec
	 * (a daemon that double-forked and execs): its marker is there a
	 * moment later. It is looked at again every round, and placed
	 * without one only if it still reads empty FL_TREE_DEFER_NS on (it
	 * was started with no environment). */
	if (env == -EAGAIN && !deferred(pid, 1, now_ns)) {
		close(pidfd);
		return;
	}
	deferred(pid, 0, now_ns);
	int marked = env == 1;
	fl_tree *owner = NULL;
	for (size_t k = 0; k < ntrees && !owner; k++) {
		if (marked ? atol(mark) == trees[k]->procs[0].pid
			   : st.pgrp == trees[k]->pgid)
			owner = trees[k];
	}
	if (!owner && !marked && !marker_only && st.session != disc.self_sid) {
		size_t running = 0;
		fl_tree *only = NULL;
		for (size_t k = 0; k < ntrees; k++)
			if (!trees[k]->ending) {
				running++;
				only = trees[k];
			}
		if (running == 1)
			owner = only;
	}
	if (owner) {
		if (fl_tree_add(owner, pid, pidfd, now_ns) == 0)
			owner->found_orphans++;
		return;
	}
	if (marked || marker_only || st.session == disc.self_sid ||
	    is_stray(pid)) {
		close(pidfd);
		return;
	}
	if (disc.nstrays == disc.cap) {
		disc.cap = disc.cap ? disc.cap * 2 : 8;
		disc.strays = fl_xrealloc(disc.strays,
					  disc.cap * sizeof *disc.strays);
	}
	disc.strays[disc.nstrays++] = (struct stray){pid, pidfd};
}

static int known(fl_tree **trees, size_t ntrees, pid_t pid)
{
	if (pid == fl_guardian_pid() || is_root_of(trees, ntrees, pid) ||
	    is_stray(pid))
		return 1;
	for (size_t k = 0; k < ntrees; k++)
		if (fl_tree_find(trees[k], pid) >= 0)
			return 1;
	return 0;
}

/* Faultline's children that are no target and no member: orphans. */
static void adopt_children(fl_tree **trees, size_t ntrees, int marker_only,
			   int64_t now_ns)
{
	int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (self < 0)
		return;
	pid_t *kids;
	int nk = fl_procfs_children(self, &kids);
	close(self);
	/* A deferred pid no longer among them went (or was placed). */
	for (size_t d = 0; d < disc.ndeferred;) {
		int there = 0;
		for (int i = 0; i < nk && !there; i++)
			there = kids[i] == disc.deferred[d].pid;
		if (there)
			d++;
		else
			disc.deferred[d] = disc.deferred[--disc.ndeferred];
	}
	for (int i = 0; i < nk; i++)
		if (!known(trees, ntrees, kids[i]))
			adopt(trees, ntrees, kids[i], marker_only, now_ns);
	free(kids);
}

static void reap_strays(void)
{
	for (size_t i = 0; i < disc.nstrays;) {
		siginfo_t info;
		memset(&info, 0, sizeof info);
		int r = waitid((idtype_t)P_PIDFD, (id_t)disc.strays[i].pidfd,
			       &info, WEXITED | WNOHANG);
		if ((r == 0 && info.si_pid != 0) || (r < 0 && errno == ECHILD)) {
			close(disc.strays[i].pidfd);
			disc.strays[i] = disc.strays[--disc.nstrays];
			continue;
		}
		i++;
	}
}

/* One new pid: a member's child joins its tree; faultline's child is an
 * orphan to place. Returns 1 if it was faultline's child. */
static int probe(fl_tree **trees, size_t ntrees, pid_t pid, int64_t now_ns)
{
	fl_proc_stat st;
	if (read_task_stat(AT_FDCWD, "/proc/", pid, &st) < 0)
		return 0;
	if (st.ppid == disc.self)
		return 1;
	for (size_t k = 0; k < ntrees; k++) {
		if (trees[k]->ending || fl_tree_find(trees[k], st.ppid) < 0)
			continue;
		if (fl_tree_find(trees[k], pid) >= 0)
			return 0;
		int pidfd = pidfd_open(pid);
		if (pidfd >= 0)
			fl_tree_add(trees[k], pid, pidfd, now_ns);
		return 0;
	}
	return 0;
}

/* Everything a new root forks has a later pid: the next round looks at
 * the pids from the root's on, even those handed out before the tree
 * existed. */
static void discover_from(pid_t root)
{
	pthread_mutex_lock(&disc.lock);
	long last = last_pid();
	if (disc.cursor < 0) {
		disc.cursor = root;
	} else {
		/* Is the root at or before the cursor (pids wrap)? */
		long behind = (disc.cursor - root + disc.pid_max) % disc.pid_max;
		if (behind < disc.pid_max / 2)
			disc.cursor = root;
	}
	(void)last;
	pthread_mutex_unlock(&disc.lock);
}

int fl_tree_pids_moved(void)
{
	pthread_mutex_lock(&disc.lock);
	long last = last_pid();
	int moved = (last > 0 && last != disc.cursor) || disc.ndeferred > 0;
	pthread_mutex_unlock(&disc.lock);
	return moved;
}

void fl_tree_discover(fl_tree **trees, size_t ntrees, int full,
		      int64_t now_ns)
{
	pthread_mutex_lock(&disc.lock);
	long last = last_pid();
	int orphans = full || disc.ndeferred > 0;
	if (last > 0 && disc.cursor < 0) {
		disc.cursor = last;
		orphans = 1;
	} else if (last > 0 && last != disc.cursor) {
		/* A cursor ahead of the last pid: a tree's root moved it back
		 * past a wrap, or the last pid did; either way the span is
		 * taken forward, with the wrap. */
		long span = last > disc.cursor
				    ? last - disc.cursor
				    : disc.pid_max - disc.cursor + last;
		long pid = disc.cursor;
		if (span > PROBE_MAX) {
			pid = last - PROBE_MAX;
			if (pid < 1)
				pid += disc.pid_max;
			span = PROBE_MAX;
			orphans = 1;
		}
		for (long i = 0; i < span; i++) {
			pid++;
			if (pid >= disc.pid_max)
				pid = 1;
			orphans |= probe(trees, ntrees, (pid_t)pid, now_ns);
		}
		disc.cursor = last;
	}
	if (orphans)
		adopt_children(trees, ntrees, 0, now_ns);
	if (disc.nstrays)
		reap_strays();
	pthread_mutex_unlock(&disc.lock);
}

void fl_tree_end_strays(void)
{
	pthread_mutex_lock(&disc.lock);
	for (size_t i = 0; i < disc.nstrays; i++) {
		syscall(SYS_pidfd_send_signal, disc.strays[i].pidfd, SIGKILL,
			NULL, 0);
		siginfo_t info;
		waitid((idtype_t)P_PIDFD, (id_t)disc.strays[i].pidfd, &info,
		       WEXITED);
		close(disc.strays[i].pidfd);
	}
	disc.nstrays = 0;
	pthread_mutex_unlock(&disc.lock);
}

int fl_tree_live_others(const fl_tree *t)
{
	int n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += !t->procs[i].is_root && t->procs[i].state == FL_MEMBER_LIVE;
	return n;
}

int fl_tree_end(fl_tree *t, int64_t wait_ns)
{
	int64_t deadline = fl_now_ns() + wait_ns;
	int killed = 0;
	fl_tree *self[1] = {t};
	for (int round = 0; round < 8; round++) {
		int64_t now = fl_now_ns();
		fl_tree_walk(t, now);
		pthread_mutex_lock(&disc.lock);
		adopt_children(self, 1, 1, now);
		pthread_mutex_unlock(&disc.lock);
		fl_tree_refresh(t);
		int sent = 0;
		for (size_t i = 0; i < t->n; i++) {
			fl_member *p = &t->procs[i];
			if (p->is_root || p->state != FL_MEMBER_LIVE || p->killed)
				continue;
			if (syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL,
				    NULL, 0) == 0) {
				p->killed = 1;
				killed++;
				sent++;
			}
		}
		/* Wait for each to exit; those whose parent is gone are
		 * faultline's to reap now. */
		for (size_t i = 0; i < t->n; i++) {
			fl_member *p = &t->procs[i];
			if (p->is_root || p->state == FL_MEMBER_GONE || p->pidfd < 0)
				continue;
			int64_t left = deadline - fl_now_ns();
			struct pollfd pf = {p->pidfd, POLLIN, 0};
			if (poll(&pf, 1, left > 0 ? (int)(left / FL_NS_PER_MS) + 1
						  : 0) > 0)
				proc_exited(p, fl_now_ns() - t->start_ns);
		}
		if (!sent || fl_now_ns() >= deadline)
			break;
	}
	/* A zombie whose parent was killed too becomes faultline's child
	 * a moment later (or its parent reaped it before dying). */
	for (;;) {
		int zombies = 0;
		for (size_t i = 0; i < t->n; i++) {
			fl_member *p = &t->procs[i];
			if (!p->is_root && p->state == FL_MEMBER_ZOMBIE) {
				proc_exited(p, fl_now_ns() - t->start_ns);
				zombies += p->state == FL_MEMBER_ZOMBIE;
			}
		}
		if (!zombies || fl_now_ns() >= deadline)
			break;
		struct timespec ts = {0, FL_NS_PER_MS};
		nanosleep(&ts, NULL);
	}
	t->ended = 1;
	return killed;
}

int fl_tree_escapees(const fl_tree *t, char *msg, size_t len)
{
	fl_buf b;
	fl_buf_init(&b);
	int n = 0, session = 0;
	for (size_t i = 0; i < t->n; i++) {
		const fl_member *p = &t->procs[i];
		if (!p->killed || !(p->left_group || p->left_session))
			continue;
		fl_buf_printf(&b, "%s%s (pid %d)", n++ ? ", " : "", p->comm,
			      (int)p->pid);
		session |= p->left_session;
	}
	msg[0] = '\0';
	if (n)
		snprintf(msg, len, "%d process%s left the target's %s: %s, "
				   "killed",
			 n, n == 1 ? "" : "es",
			 session ? "session" : "process group", b.data);
	fl_buf_free(&b);
	return n;
}
