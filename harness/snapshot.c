/* Snapshots of a target's processes: their fd tables, threads and the
 * watched directory at one look, and what they hold over a hold period.
 * They read the session's process tree and samples under its lock;
 * delta.c compares two of them, measure.c makes the baseline and the
 * final figures of them. */
#define _GNU_SOURCE
#include "snapshot.h"

#include "delta.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A held snapshot looks at most this many times. */
#define HELD_LOOKS_MAX 32

/* A directory's entries are listed by name, so two listings compare
 * entry by entry. */
static int cmp_target(const void *a, const void *b)
{
	return strcmp(((const fl_fd_entry *)a)->target,
		      ((const fl_fd_entry *)b)->target);
}

/* The entries of a directory, sorted by name (none if it does not
 * exist). */
int fl_snapshot_list_dir(const char *dir, fl_fd_entry **out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0, cap = 0;
	fl_fd_entry *v = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			v = fl_xrealloc(v, cap * sizeof *v);
		}
		memset(&v[n], 0, sizeof v[n]);
		snprintf(v[n].target, sizeof v[n].target, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_target);
	for (size_t i = 0; i < n; i++)
		v[i].fd = (int)i;
	*out = v;
	return (int)n;
}

void fl_snapshot_free(fl_base_snapshot *b)
{
	free(b->fds);
	free(b->threads);
	free(b->files);
	free(b->procs);
	memset(b, 0, sizeof *b);
}

/* One process to look at, copied out of the tree under the lock. */
struct look {
	fl_proc_entry e;
	int procfd;		/* a dup of the tree's /proc/PID */
};

/* The processes of the tree to look at: a full walk first, so the look
 * is exact whatever the discovery rounds missed. *out malloc'd. */
static int tree_procs(fl_session *s, struct look **out)
{
	pthread_mutex_lock(&s->lock);
	fl_tree *t = &s->tree;
	fl_tree_walk(t, fl_now_ns());
	fl_tree_refresh(t);
	struct look *v = fl_xcalloc(t->n + 1, sizeof *v);
	int n = 0;
	for (size_t i = 0; i < t->n; i++) {
		const fl_member *p = &t->procs[i];
		if (p->state == FL_MEMBER_GONE || !p->sampler_ok)
			continue;
		struct look *l = &v[n];
		l->procfd = fcntl(p->sampler.procfd, F_DUPFD_CLOEXEC, 0);
		if (l->procfd < 0)
			continue;
		l->e.pid = p->pid;
		l->e.ppid = p->ppid;
		l->e.starttime = p->starttime;
		snprintf(l->e.comm, sizeof l->e.comm, "%s", p->comm);
		l->e.state = p->state == FL_MEMBER_ZOMBIE ? 'Z' : 'R';
		l->e.is_root = p->is_root;
		l->e.left_group = p->left_group;
		l->e.left_session = p->left_session;
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	*out = v;
	return n;
}

/* The fd tables, threads and watched files of the current run's processes
 * at one moment, without the harness's own footprint (the region's
 * descriptor, in each process that holds it; the agent has no thread).
 * Returns 0, or -ESRCH when the root is gone. */
static int take_snapshot(fl_ctx *ctx, fl_instance *in, fl_base_snapshot *out)
{
	fl_session *s = in->sess;
	memset(out, 0, sizeof *out);
	struct look *procs;
	int np = tree_procs(s, &procs);
	size_t nfds = 0, capfds = 0, nth = 0, capth = 0;
	fl_fd_entry *fds = NULL;
	fl_thread_entry *th = NULL;
	int r = 0;
	out->procs = fl_xcalloc((size_t)np + 1, sizeof *out->procs);
	for (int i = 0; i < np; i++) {
		struct look *l = &procs[i];
		fl_fd_entry *pf = NULL;
		fl_thread_entry *pt = NULL;
		int npf = 0, npt = 0;
		if (l->e.state != 'Z') {
			npf = fl_procfs_fd_table(l->procfd, &pf);
			/* Which threads are there; what they are is read once,
			 * for those a held snapshot keeps. */
			npt = fl_procfs_thread_ids(l->procfd, &pt);
		}
		/* What the agent holds in this process: the region's
		 * descriptor while it keeps it (the agent has no thread). */
		fl_footprint fp;
		fl_faults_footprint(&in->faults, l->procfd, l->e.pid, &fp);
		int skip_fd = fp.fds ? fp.fd : -1;
		close(l->procfd);
		if (npf < 0 || npt < 0) {
			free(pf);
			free(pt);
			if (l->e.is_root)
				r = -ESRCH;
			continue; /* it ended meanwhile */
		}
		fl_proc_entry *e = &out->procs[out->nprocs++];
		*e = l->e;
		for (int k = 0; k < npf; k++) {
			if (pf[k].fd == skip_fd)
				continue;
			if (nfds == capfds) {
				capfds = capfds ? capfds * 2 : 64;
				fds = fl_xrealloc(fds, capfds * sizeof *fds);
			}
			fds[nfds] = pf[k];
			fds[nfds++].pid = l->e.pid;
			e->nfds++;
		}
		for (int k = 0; k < npt; k++) {
			if (nth == capth) {
				capth = capth ? capth * 2 : 16;
				th = fl_xrealloc(th, capth * sizeof *th);
			}
			th[nth] = pt[k];
			th[nth++].pid = l->e.pid;
			e->nthreads++;
		}
		free(pf);
		free(pt);
	}
	free(procs);
	if (r < 0 || out->nprocs == 0 || !out->procs[0].is_root) {
		free(fds);
		free(th);
		fl_snapshot_free(out);
		return -ESRCH;
	}
	fl_ctx_abbreviate(ctx, fds, (int)nfds);
	out->fds = fds;
	out->nfds = (int)nfds;
	out->threads = th;
	out->nthreads = (int)nth;
	out->nfiles = s->watch_path[0]
			      ? fl_snapshot_list_dir(s->watch_path, &out->files)
			      : 0;
	fl_ctx_abbreviate(ctx, out->files, out->nfiles);
	return 0;
}

/* The fewest fds, threads and processes the sampler saw over [from, to]. */
static void sampled_floor(fl_session *s, int64_t from, int64_t to,
			  int64_t floor[FL_FIG_COUNT])
{
	for (int f = 0; f < FL_FIG_COUNT; f++)
		floor[f] = INT64_MAX;
	pthread_mutex_lock(&s->lock);
	const fl_sample *x;
	for (size_t k = 0; (x = fl_series_back(&s->series, k)) != NULL; k++) {
		if (x->t_ns < from)
			break;
		if (x->t_ns > to)
			continue;
		for (int f = 0; f < FL_FIG_COUNT; f++)
			if (x->v[f] < floor[f])
				floor[f] = x->v[f];
	}
	pthread_mutex_unlock(&s->lock);
}

/* What the target holds, not what passes through it: looks at its fd
 * tables, threads and files at every sample over window_ns, and keeps what
 * was there at every look (the same fd number pointing to the same
 * thing, in the same process). quiet: nothing held through the first half
 * of the window was let go in the second (a target still closing, one
 * after another, what a burst opened is not done; an fd that comes and
 * goes all along is in neither half), and the sampler never saw fewer
 * fds, threads or processes than it keeps (nothing kept was only passing
 * through). The looks must cover the window with no gap over a quarter of
 * it: when the harness was not scheduled for longer, an fd reopened at
 * the same number after the gap would pass for one held all along, so the
 * window is counted again from the look after the gap (more looks keep
 * only less, never drop what is held). Returns 0 or -ESRCH. */
int fl_snapshot_held(fl_ctx *ctx, fl_instance *in, int64_t window_ns,
		     fl_base_snapshot *out, int *quiet)
{
	fl_session *s = in->sess;
	int64_t step = s->period_ns;
	/* At least two sample periods, so the sampler sees the window too;
	 * a window no longer than that is looked at at its two ends. */
	if (window_ns <= 2 * step) {
		window_ns = 2 * step;
		step = window_ns;
	}
	if (window_ns / step > HELD_LOOKS_MAX)
		step = window_ns / HELD_LOOKS_MAX;
	int64_t max_gap = window_ns / 4 > 2 * step ? window_ns / 4 : 2 * step;
	int64_t t0 = fl_session_now(s);
	int64_t last = fl_now_ns();
	if (take_snapshot(ctx, in, out) < 0)
		return -ESRCH;
	/* What every look of each half of the window saw. */
	fl_base_snapshot half[2];
	fl_delta_common(out, out, &half[0]);
	memset(&half[1], 0, sizeof half[1]);
	int have_second = 0;
	int64_t end = last + window_ns;
	/* However starved, a held snapshot ends: looks keep going past the
	 * window only this much longer. */
	int64_t give_up = end + FL_SNAPSHOT_QUIET_MAX_NS;
	for (;;) {
		int64_t next = fl_now_ns() + step;
		if (next > end)
			next = end;
		while (fl_now_ns() < next && !fl_instance_exit(in).exited)
			fl_session_wait(s, next, -1);
		fl_base_snapshot look, kept;
		int64_t now = fl_now_ns();
		if (fl_instance_exit(in).exited || take_snapshot(ctx, in, &look) < 0)
			break; /* gone: what it held until then */
		/* A look at a large table takes time of its own: that much
		 * between looks is the instrument, not a gap. */
		int64_t took = fl_now_ns() - now;
		if (now - last > max_gap && now - last > 2 * took &&
		    now < give_up) {
			end = now + window_ns;
			/* The halves start again with the window. */
			fl_snapshot_free(&half[0]);
			fl_snapshot_free(&half[1]);
			fl_delta_common(&look, &look, &half[0]);
			have_second = 0;
		} else {
			int k = now >= end - window_ns / 2;
			fl_base_snapshot h;
			if (k && !have_second)
				fl_delta_common(&look, &look, &h);
			else
				fl_delta_common(&half[k], &look, &h);
			fl_snapshot_free(&half[k]);
			half[k] = h;
			have_second |= k;
		}
		last = now;
		fl_delta_common(out, &look, &kept);
		fl_snapshot_free(out);
		fl_snapshot_free(&look);
		*out = kept;
		if (now >= end || now >= give_up)
			break;
	}
	for (int i = 0; i < out->nthreads; i++)
		fl_procfs_thread_detail(&out->threads[i]);
	int64_t floor[FL_FIG_COUNT];
	sampled_floor(s, t0, fl_session_now(s), floor);
	int released = 0;
	if (have_second) {
		fl_base_snapshot both;
		fl_delta_common(&half[0], &half[1], &both);
		released = both.nfds < half[0].nfds ||
			   both.nthreads < half[0].nthreads ||
			   both.nprocs < half[0].nprocs;
		fl_snapshot_free(&both);
	}
	fl_snapshot_free(&half[0]);
	fl_snapshot_free(&half[1]);
	*quiet = !released &&
		 (floor[FL_FIG_FDS] == INT64_MAX ||
		  out->nfds <= floor[FL_FIG_FDS]) &&
		 (floor[FL_FIG_THREADS] == INT64_MAX ||
		  out->nthreads <= floor[FL_FIG_THREADS]) &&
		 (floor[FL_FIG_PROCS] == INT64_MAX ||
		  out->nprocs <= floor[FL_FIG_PROCS]);
	return 0;
}

/* A held snapshot once the target is quiet, looking again while it is
 * not, at most max_ns: the last held snapshot then (*quiet = 0). */
int fl_snapshot_quiet(fl_ctx *ctx, fl_instance *in, int64_t hold_ns,
		      int64_t max_ns, fl_base_snapshot *out, int *quiet)
{
	int64_t give_up = fl_now_ns() + max_ns;
	if (ctx->host.deadline_ns && ctx->host.deadline_ns < give_up)
		give_up = ctx->host.deadline_ns;
	for (;;) {
		if (fl_snapshot_held(ctx, in, hold_ns, out, quiet) < 0)
			return -ESRCH;
		if (*quiet || fl_now_ns() >= give_up ||
		    fl_instance_exit(in).exited)
			return 0;
		fl_snapshot_free(out);
	}
}
