#define _GNU_SOURCE
#include "measure.h"

#include "progress.h"
#include "sites.h"
#include "util.h"
#include "windows.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The baseline waits for at least this many samples (however busy the
 * machine), but no longer than this. */
#define BASELINE_MIN_SAMPLES 5
#define BASELINE_WAIT_NS (5 * FL_NS_PER_SEC)
/* The final snapshot waits at most this long for the target to be
 * quiet. */
#define QUIET_MAX_NS (2 * FL_NS_PER_SEC)
/* A held snapshot looks at most this many times. */
#define HELD_LOOKS_MAX 32
#define CORE_TIMEOUT_NS (60 * FL_NS_PER_SEC)

static fl_session *cur_session(fl_ctx *ctx)
{
	return ctx->inst ? ctx->inst->sess : NULL;
}

/* ------------------------------------------------------------------ */
/* Samples                                                              */
/* ------------------------------------------------------------------ */

int fl_measure_last(fl_ctx *ctx, fl_sample *out)
{
	fl_session *s = cur_session(ctx);
	memset(out, 0, sizeof *out);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	int have = fl_series_last(&s->series, out);
	pthread_mutex_unlock(&s->lock);
	return have;
}

size_t fl_measure_count(fl_ctx *ctx)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	size_t n = (size_t)fl_series_count(&s->series);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void fl_measure_peak(fl_ctx *ctx, fl_sample *out)
{
	memset(out, 0, sizeof *out);
	fl_session *s = cur_session(ctx);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	fl_series_peak(&s->series, out);
	pthread_mutex_unlock(&s->lock);
}

void fl_measure_trend(fl_ctx *ctx, enum fl_figure fig, int64_t from_ns,
		      int64_t to_ns, fl_trend *out)
{
	memset(out, 0, sizeof *out);
	fl_session *s = cur_session(ctx);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	fl_series_trend(&s->series, fig, from_ns, to_ns, out);
	pthread_mutex_unlock(&s->lock);
}

/* Do two samples hold the same counts (fds, threads, processes)? */
static int same_counts(const fl_sample *a, const fl_sample *b)
{
	return a->v[FL_FIG_FDS] == b->v[FL_FIG_FDS] &&
	       a->v[FL_FIG_THREADS] == b->v[FL_FIG_THREADS] &&
	       a->v[FL_FIG_PROCS] == b->v[FL_FIG_PROCS];
}

int fl_measure_quiet_for(fl_ctx *ctx, int64_t hold_ns)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	const fl_sample *last = fl_series_back(&s->series, 0);
	int quiet = 0;
	if (last && fl_series_back(&s->series, 1)) {
		size_t k = 0;
		const fl_sample *prev;
		while ((prev = fl_series_back(&s->series, k + 1)) != NULL &&
		       same_counts(prev, last))
			k++;
		quiet = last->t_ns - fl_series_back(&s->series, k)->t_ns >=
			hold_ns;
	}
	pthread_mutex_unlock(&s->lock);
	return quiet;
}

int64_t fl_measure_end(fl_ctx *ctx)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return 0;
	fl_exit_info e = fl_instance_exit(ctx->inst);
	return e.exited ? e.t_ns : fl_session_now(s);
}

void fl_measure_recovery(fl_ctx *ctx, const fl_episode *e, int64_t within_ns,
			 int64_t hold_ns, fl_recovery *out)
{
	fl_session *s = cur_session(ctx);
	memset(out, 0, sizeof *out);
	if (!s) {
		out->state = FL_RECOVERY_FAILED;
		snprintf(out->why, sizeof out->why, "no run of the target");
		return;
	}
	int64_t now = fl_session_now(s);
	fl_sample *v;
	fl_worst *w;
	pthread_mutex_lock(&s->lock);
	/* Pinned when the window closed (fl_measure_poll), so every sample
	 * after it is there however late the script asks. */
	fl_series_pin(&s->series, e->off_ns);
	size_t n = fl_series_copy(&s->series, e->off_ns, INT64_MAX, &v, &w);
	pthread_mutex_unlock(&s->lock);
	fl_judge_recovery(v, w, n, ctx->health_results, ctx->nhealth,
			  &ctx->cfg.steady, &ctx->base, e->off_ns, hold_ns,
			  within_ns, now, out);
	free(v);
	free(w);
}

int fl_measure_steady(fl_ctx *ctx, int health, char *why, size_t whylen)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return -1;
	fl_sample *v;
	fl_worst *w;
	pthread_mutex_lock(&s->lock);
	const fl_sample *last = fl_series_back(&s->series, 0);
	size_t n = last ? fl_series_copy(&s->series, last->t_ns, last->t_ns,
					 &v, &w)
			: 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return -1;
	int ok = n > 0 && fl_judge_steady(&ctx->cfg.steady, &ctx->base, &v[n - 1],
					  w ? &w[n - 1] : NULL, health, why,
					  whylen);
	free(v);
	free(w);
	return ok;
}

void fl_measure_poll(fl_ctx *ctx)
{
	fl_measure_check_oom(ctx);
	fl_session *s = cur_session(ctx);
	fl_episode *e = fl_windows_last_episode(ctx);
	if (!s || !e || e->off_ns < 0)
		return;
	pthread_mutex_lock(&s->lock);
	fl_series_pin(&s->series, e->off_ns);
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                            */
/* ------------------------------------------------------------------ */

/* The entries of a directory as "dir/name" paths, sorted by name (fd is
 * the position). Returns the count (0 for a missing directory). */
static int cmp_target(const void *a, const void *b)
{
	return strcmp(((const fl_fd_entry *)a)->target,
		      ((const fl_fd_entry *)b)->target);
}

/* The entries of a directory, sorted by name (none if it does not
 * exist). */
static int list_dir(const char *dir, fl_fd_entry **out)
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

void fl_measure_base_free(fl_base_snapshot *b)
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
		fl_measure_base_free(out);
		return -ESRCH;
	}
	fl_ctx_abbreviate(ctx, fds, (int)nfds);
	out->fds = fds;
	out->nfds = (int)nfds;
	out->threads = th;
	out->nthreads = (int)nth;
	out->nfiles = s->watch_path[0] ? list_dir(s->watch_path, &out->files)
				       : 0;
	fl_ctx_abbreviate(ctx, out->files, out->nfiles);
	return 0;
}

/* Do two looks at an fd see the same open file? The same target, or the
 * same path once one of them reads " (deleted)": a file the program
 * unlinked while it kept it open is still the fd it leaked (a leaky
 * batch's files are deleted by the next batch). */
static int same_target(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return 1;
	static const char del[] = " (deleted)";
	size_t la = strlen(a), lb = strlen(b), ld = sizeof del - 1;
	if (la == lb + ld && !strcmp(a + lb, del))
		return !strncmp(a, b, lb);
	if (lb == la + ld && !strcmp(b + la, del))
		return !strncmp(a, b, la);
	return 0;
}

static int same_proc(const fl_proc_entry *a, const fl_proc_entry *b)
{
	return a->pid == b->pid && a->starttime == b->starttime;
}

/* What two looks have in common: the processes, the fds (same process,
 * number and target), threads and files present in both. Fills out
 * (owned). */
static void intersect_snapshots(const fl_base_snapshot *a,
				const fl_base_snapshot *b, fl_base_snapshot *out)
{
	memset(out, 0, sizeof *out);
	out->procs = fl_xmalloc((size_t)(b->nprocs + 1) * sizeof *out->procs);
	for (int i = 0; i < b->nprocs; i++)
		for (int j = 0; j < a->nprocs; j++)
			if (same_proc(&a->procs[j], &b->procs[i])) {
				fl_proc_entry e = b->procs[i];
				e.nfds = e.nthreads = 0;
				out->procs[out->nprocs++] = e;
				break;
			}
	out->fds = fl_xmalloc((size_t)(b->nfds + 1) * sizeof *out->fds);
	for (int i = 0; i < b->nfds; i++)
		for (int j = 0; j < a->nfds; j++)
			if (a->fds[j].pid == b->fds[i].pid &&
			    a->fds[j].fd == b->fds[i].fd &&
			    same_target(a->fds[j].target, b->fds[i].target)) {
				out->fds[out->nfds++] = b->fds[i];
				break;
			}
	out->threads = fl_xmalloc((size_t)(b->nthreads + 1) *
				  sizeof *out->threads);
	for (int i = 0; i < b->nthreads; i++)
		for (int j = 0; j < a->nthreads; j++)
			if (a->threads[j].tid == b->threads[i].tid) {
				out->threads[out->nthreads++] = b->threads[i];
				break;
			}
	out->files = fl_xmalloc((size_t)(b->nfiles + 1) * sizeof *out->files);
	for (int i = 0; i < b->nfiles; i++)
		for (int j = 0; j < a->nfiles; j++)
			if (strcmp(a->files[j].target, b->files[i].target) == 0) {
				out->files[out->nfiles++] = b->files[i];
				break;
			}
	/* Each process's counts are what was kept of it. */
	for (int k = 0; k < out->nprocs; k++) {
		fl_proc_entry *e = &out->procs[k];
		for (int i = 0; i < out->nfds; i++)
			e->nfds += out->fds[i].pid == e->pid;
		for (int i = 0; i < out->nthreads; i++)
			e->nthreads += out->threads[i].pid == e->pid;
	}
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
 * thing, in the same process). quiet: the sampler never saw fewer fds,
 * threads or processes than it keeps (nothing kept was only passing
 * through). The looks must cover the window with no gap over a quarter of
 * it: when the harness was not scheduled for longer, an fd reopened at
 * the same number after the gap would pass for one held all along, so the
 * window is counted again from the look after the gap (more looks keep
 * only less, never drop what is held). Returns 0 or -ESRCH. */
static int held_snapshot(fl_ctx *ctx, fl_instance *in, int64_t window_ns,
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
	int64_t end = last + window_ns;
	/* However starved, a held snapshot ends: looks keep going past the
	 * window only this much longer. */
	int64_t give_up = end + QUIET_MAX_NS;
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
		if (now - last > max_gap && now - last > 2 * took && now < give_up)
			end = now + window_ns;
		last = now;
		intersect_snapshots(out, &look, &kept);
		fl_measure_base_free(out);
		fl_measure_base_free(&look);
		*out = kept;
		if (now >= end || now >= give_up)
			break;
	}
	for (int i = 0; i < out->nthreads; i++)
		fl_procfs_thread_detail(&out->threads[i]);
	int64_t floor[FL_FIG_COUNT];
	sampled_floor(s, t0, fl_session_now(s), floor);
	*quiet = (floor[FL_FIG_FDS] == INT64_MAX ||
		  out->nfds <= floor[FL_FIG_FDS]) &&
		 (floor[FL_FIG_THREADS] == INT64_MAX ||
		  out->nthreads <= floor[FL_FIG_THREADS]) &&
		 (floor[FL_FIG_PROCS] == INT64_MAX ||
		  out->nprocs <= floor[FL_FIG_PROCS]);
	return 0;
}

/* A held snapshot once the target is quiet, looking again while it is
 * not, at most max_ns: the last held snapshot then (*quiet = 0). */
static int quiet_snapshot(fl_ctx *ctx, fl_instance *in, int64_t hold_ns,
			  int64_t max_ns, fl_base_snapshot *out, int *quiet)
{
	int64_t give_up = fl_now_ns() + max_ns;
	if (ctx->host.deadline_ns && ctx->host.deadline_ns < give_up)
		give_up = ctx->host.deadline_ns;
	for (;;) {
		if (held_snapshot(ctx, in, hold_ns, out, quiet) < 0)
			return -ESRCH;
		if (*quiet || fl_now_ns() >= give_up ||
		    fl_instance_exit(in).exited)
			return 0;
		fl_measure_base_free(out);
	}
}

/* ------------------------------------------------------------------ */
/* Baseline                                                             */
/* ------------------------------------------------------------------ */

/* The baseline over [from, to] from the samples kept (from is moved up
 * to the oldest kept, so the window it reports is the one it covered). */
static int series_baseline(fl_session *s, int64_t from_ns, int64_t to_ns,
			   fl_baseline *out)
{
	fl_sample *v;
	pthread_mutex_lock(&s->lock);
	int64_t oldest = fl_series_oldest(&s->series);
	if (oldest > from_ns && fl_series_count(&s->series) >
					s->series.ring_len + s->series.pin_len)
		from_ns = oldest;
	size_t n = fl_series_copy(&s->series, from_ns, to_ns, &v, NULL);
	pthread_mutex_unlock(&s->lock);
	int r = fl_judge_baseline(v, n, from_ns, to_ns, out);
	free(v);
	return r;
}

int fl_measure_baseline(fl_ctx *ctx, int64_t from_ns, size_t min_samples,
			char *err, size_t errlen)
{
	fl_instance *in = ctx->inst;
	if (!fl_ctx_target_live(ctx)) {
		snprintf(err, errlen, "no running target to take a baseline of");
		return -ESRCH;
	}
	fl_session *s = in->sess;
	/* Enough samples, however busy the machine: wait for them rather
	 * than fail by timing. Enough is what the caller asks, else five or
	 * as many as the window holds at the sampling rate (at least one). */
	int64_t give_up = fl_now_ns() + BASELINE_WAIT_NS;
	fl_progress_phase(FL_PHASE_BASELINE);
	size_t want = min_samples;
	if (!want) {
		int64_t span = fl_session_now(s) - from_ns;
		want = span > 0 ? (size_t)(span / s->period_ns) : 0;
		if (want > BASELINE_MIN_SAMPLES)
			want = BASELINE_MIN_SAMPLES;
		if (want < 1)
			want = 1;
	}
	int r;
	for (;;) {
		int64_t now = fl_session_now(s);
		r = series_baseline(s, from_ns, now, &ctx->base);
		if ((r == 0 && ctx->base.samples >= want) ||
		    fl_now_ns() >= give_up || !fl_ctx_target_live(ctx) ||
		    fl_lua_abort_due(&ctx->host) != FL_ABORT_NONE)
			break;
		fl_session_want_sample(s);
		fl_session_wait(s, fl_now_ns() + s->period_ns, -1);
	}
	if (r < 0) {
		snprintf(err, errlen,
			 "no sample of the running target in the baseline window "
			 "(sampling at %.0f Hz)",
			 ctx->cfg.hz);
		return r;
	}
	ctx->base_inst = ctx->ninstances - 1;
	/* A new baseline starts a new measurement: no final yet. */
	fl_measure_final_free(&ctx->final);
	fl_base_snapshot *b = &ctx->base_snap;
	fl_measure_base_free(b);
	/* Each process's own baseline, and the trend since the baseline
	 * counted from here on whatever its length. */
	pthread_mutex_lock(&s->lock);
	fl_tree_set_baseline(&s->tree);
	s->each_steady = ctx->cfg.steady;
	s->each_on = ctx->cfg.steady.per_process;
	fl_series_mark(&s->series, ctx->base.to_ns);
	pthread_mutex_unlock(&s->lock);
	/* What it holds, looked at over a hold period: not a request's
	 * socket or a batch's file that happens to be open now. */
	fl_base_snapshot now;
	int quiet;
	if (held_snapshot(ctx, in, ctx->cfg.hold_ns, &now, &quiet) < 0 ||
	    !fl_ctx_target_live(ctx)) {
		fl_measure_base_free(&now);
		snprintf(err, errlen, "the target exited during the baseline");
		return -ESRCH;
	}
	*b = now;
	fl_progress_phase(fl_windows_any_open(ctx) ? FL_PHASE_FAULTS
						   : FL_PHASE_RUNNING);
	char rss[32];
	fl_fmt_bytes(rss, sizeof rss, ctx->base.v[FL_FIG_RSS]);
	fl_ctx_log(ctx,
		   "baseline over %.2f s (%zu samples): %g fds, %g threads, %s "
		   "RSS, %g processes; fd tables %d fds, %d threads",
		   (double)(ctx->base.to_ns - ctx->base.from_ns) / 1e9,
		   ctx->base.samples, ctx->base.v[FL_FIG_FDS],
		   ctx->base.v[FL_FIG_THREADS], rss, ctx->base.v[FL_FIG_PROCS],
		   b->nfds, b->nthreads);
	return 0;
}

int fl_measure_processes(fl_ctx *ctx, fl_proc_entry **out)
{
	*out = NULL;
	fl_session *s = cur_session(ctx);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	const fl_tree *t = &s->tree;
	fl_proc_entry *v = fl_xcalloc(t->n + 1, sizeof *v);
	int n = 0;
	for (size_t i = 0; i < t->n; i++) {
		const fl_member *p = &t->procs[i];
		if (p->state == FL_MEMBER_GONE || p->v[FL_FIG_FDS] < 0)
			continue;
		fl_proc_entry *e = &v[n++];
		e->pid = p->pid;
		e->ppid = p->ppid;
		e->starttime = p->starttime;
		snprintf(e->comm, sizeof e->comm, "%s", p->comm);
		e->state = p->state == FL_MEMBER_ZOMBIE ? 'Z' : 'R';
		e->is_root = p->is_root;
		e->left_group = p->left_group;
		e->left_session = p->left_session;
		e->nfds = (int)p->v[FL_FIG_FDS];
		e->nthreads = (int)p->v[FL_FIG_THREADS];
		e->rss = p->v[FL_FIG_RSS];
	}
	pthread_mutex_unlock(&s->lock);
	*out = v;
	return n;
}

void fl_measure_mark(fl_ctx *ctx, int64_t from_ns)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	fl_series_mark(&s->series, from_ns);
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Final                                                                */
/* ------------------------------------------------------------------ */

static void new_fds_free(fl_new_fds *n)
{
	free(n->items);
	free(n->groups);
	free(n->gone);
}

void fl_measure_final_free(fl_final *f)
{
	new_fds_free(&f->fds);
	free(f->threads.items);
	free(f->threads.groups);
	free(f->threads.all);
	new_fds_free(&f->files);
	free(f->procs.items);
	free(f->procs.groups);
	fl_measure_base_free(&f->snap);
	memset(f, 0, sizeof *f);
}

/* The final figures from the samples just before end_ns (a run that
 * exited): the lowest count over the window (what stayed), the median
 * RSS. */
static int samples_final(fl_session *s, int64_t end_ns, int64_t window_ns,
			 fl_sample *out)
{
	fl_sample *v;
	pthread_mutex_lock(&s->lock);
	size_t n = fl_series_copy(&s->series, end_ns - window_ns, end_ns, &v,
				  NULL);
	fl_sample last;
	int have_last = fl_series_last(&s->series, &last);
	pthread_mutex_unlock(&s->lock);
	fl_baseline b;
	int r = fl_judge_baseline(v, n, end_ns - window_ns, end_ns, &b);
	if (r < 0 && have_last) {
		*out = last;
		r = 0;
	} else if (r == 0) {
		out->t_ns = end_ns;
		for (size_t i = 0; i < n; i++)
			for (int f = 0; f < FL_FIG_COUNT; f++)
				if (i == 0 || v[i].v[f] < out->v[f])
					out->v[f] = v[i].v[f];
		out->v[FL_FIG_RSS] = (int64_t)llround(b.v[FL_FIG_RSS]);
	}
	free(v);
	return r;
}

static int same_fd(const fl_fd_entry *a, const fl_fd_entry *b, int by_name)
{
	if (by_name)
		return strcmp(a->target, b->target) == 0;
	return a->fd == b->fd && a->pid == b->pid &&
	       same_target(a->target, b->target);
}

/* "nginx pid 12": how a process is named in forensics. */
static void proc_label(const fl_proc_entry *procs, int nprocs, pid_t pid,
		       char *out, size_t len)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == pid) {
			snprintf(out, len, "%s pid %d", procs[i].comm, (int)pid);
			return;
		}
	snprintf(out, len, "pid %d", (int)pid);
}

/* Groups items of several processes: each process's own groups, labelled
 * with the process when there is more than one (multi), largest first. */
static int group_per_process(const void *items, size_t size, int n,
			     pid_t (*pid_of)(const void *),
			     int (*group)(const void *, int, fl_group **),
			     const fl_proc_entry *procs, int nprocs, int multi,
			     fl_group **out)
{
	if (!multi)
		return group(items, n, out);
	const char *v = items;
	fl_group *all = NULL;
	int nall = 0;
	char *subset = fl_xmalloc((size_t)(n > 0 ? n : 1) * size);
	pid_t *done = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *done);
	int ndone = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = pid_of(v + (size_t)i * size);
		int seen = 0;
		for (int k = 0; k < ndone && !seen; k++)
			seen = done[k] == pid;
		if (seen)
			continue;
		done[ndone++] = pid;
		int ns = 0;
		for (int k = i; k < n; k++)
			if (pid_of(v + (size_t)k * size) == pid)
				memcpy(subset + (size_t)ns++ * size,
				       v + (size_t)k * size, size);
		fl_group *g;
		int ng = group(subset, ns, &g);
		char label[64];
		proc_label(procs, nprocs, pid, label, sizeof label);
		all = fl_xrealloc(all, (size_t)(nall + ng + 1) * sizeof *all);
		for (int k = 0; k < ng; k++) {
			all[nall + k] = g[k];
			snprintf(all[nall + k].proc, sizeof all[nall + k].proc,
				 "%s", label);
		}
		nall += ng;
		free(g);
	}
	free(subset);
	free(done);
	/* Largest first, as for one process (a stable insertion sort). */
	for (int i = 1; i < nall; i++) {
		fl_group g = all[i];
		int j = i;
		while (j > 0 && all[j - 1].count < g.count) {
			all[j] = all[j - 1];
			j--;
		}
		all[j] = g;
	}
	if (!all)
		all = fl_xmalloc(sizeof *all);
	*out = all;
	return nall;
}

static pid_t fd_pid(const void *x)
{
	return ((const fl_fd_entry *)x)->pid;
}

static pid_t thread_pid(const void *x)
{
	return ((const fl_thread_entry *)x)->pid;
}

static int group_fds(const void *v, int n, fl_group **out)
{
	return fl_forensics_group_fds(v, n, out);
}

static int group_threads(const void *v, int n, fl_group **out)
{
	return fl_forensics_group_threads(v, n, out);
}

/* More than one process at either look: forensics name the process. */
static int multi_process(const fl_base_snapshot *a, const fl_base_snapshot *b)
{
	return a->nprocs > 1 || b->nprocs > 1;
}

/* What of now was not in base (new) and what of base is not in now
 * (gone); entries match by process, number and target (by target alone
 * for files). */
static void diff_fds(const fl_fd_entry *base, int nbase, const fl_fd_entry *now,
		     int nnow, int by_name, const fl_proc_entry *procs,
		     int nprocs, int multi, fl_new_fds *out)
{
	out->listed = 1;
	out->items = fl_xmalloc((size_t)(nnow + 1) * sizeof *out->items);
	out->gone = fl_xmalloc((size_t)(nbase + 1) * sizeof *out->gone);
	for (int i = 0; i < nnow; i++) {
		int old = 0;
		for (int j = 0; j < nbase && !old; j++)
			old = same_fd(&base[j], &now[i], by_name);
		if (!old)
			out->items[out->n++] = now[i];
	}
	for (int j = 0; j < nbase; j++) {
		int kept = 0;
		for (int i = 0; i < nnow && !kept; i++)
			kept = same_fd(&base[j], &now[i], by_name);
		if (!kept)
			out->gone[out->ngone++] = base[j];
	}
	out->ngroups = group_per_process(out->items, sizeof *out->items,
					 out->n, fd_pid, group_fds, procs,
					 nprocs, multi && !by_name,
					 &out->groups);
}

static void diff_threads(const fl_base_snapshot *base,
			 const fl_base_snapshot *now, fl_new_threads *out)
{
	out->listed = 1;
	out->n = fl_forensics_new_threads(base->threads, base->nthreads,
					  now->threads, now->nthreads, -1,
					  &out->items);
	out->ngroups = group_per_process(out->items, sizeof *out->items,
					 out->n, thread_pid, group_threads,
					 now->procs, now->nprocs,
					 multi_process(base, now), &out->groups);
	out->gone = base->nthreads - (now->nthreads - out->n);
	out->all = fl_xmalloc((size_t)(now->nthreads + 1) * sizeof *out->all);
	memcpy(out->all, now->threads, (size_t)now->nthreads * sizeof *out->all);
	out->nall = now->nthreads;
}

static void diff_procs(const fl_base_snapshot *base,
		       const fl_base_snapshot *now, fl_new_procs *out)
{
	out->listed = 1;
	out->items = fl_xmalloc((size_t)(now->nprocs + 1) * sizeof *out->items);
	for (int i = 0; i < now->nprocs; i++) {
		int old = 0;
		for (int j = 0; j < base->nprocs && !old; j++)
			old = same_proc(&base->procs[j], &now->procs[i]);
		if (!old)
			out->items[out->n++] = now->procs[i];
	}
	out->gone = base->nprocs - (now->nprocs - out->n);
	out->ngroups = fl_forensics_group_procs(out->items, out->n,
						&out->groups);
}

/* When the last window of the current run closed, or -1. */
static int64_t last_window_off(const fl_ctx *ctx)
{
	int64_t last_off = -1;
	for (int i = 0; i < ctx->nwindows; i++)
		if (ctx->windows[i].instance == ctx->ninstances - 1 &&
		    ctx->windows[i].off_ns > last_off)
			last_off = ctx->windows[i].off_ns;
	return last_off;
}

/* A run that exited before the final look: its figures are the last
 * samples before the exit; what it left on disk is there to list. */
static void final_after_exit(fl_ctx *ctx, fl_instance *in, fl_final *f)
{
	fl_session *s = in->sess;
	fl_exit_info ex = fl_instance_exit(in);
	int64_t span = ctx->cfg.final_window_ns;
	int64_t last_off = last_window_off(ctx);
	if (last_off >= 0 && ex.t_ns - last_off < span && ex.t_ns > last_off)
		span = ex.t_ns - last_off;
	if (samples_final(s, ex.t_ns, span, &f->fig) < 0)
		return;
	f->have = 1;
	f->at_ns = ex.t_ns;
	f->unavailable = "the target had exited before the final look";
	for (int k = 0; k < FL_FIG_COUNT; k++)
		f->base[k] = ctx->base.v[k];
	if (s->watch_path[0]) {
		fl_fd_entry *now;
		int n = list_dir(s->watch_path, &now);
		fl_ctx_abbreviate(ctx, now, n);
		diff_fds(ctx->base_snap.files, ctx->base_snap.nfiles, now, n, 1,
			 NULL, 0, 0, &f->files);
		free(now);
		f->fig.v[FL_FIG_FILES] = n;
		f->base[FL_FIG_FILES] = ctx->base_snap.nfiles;
	}
}

void fl_measure_final(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	fl_final *f = &ctx->final;
	if (f->have || !in || !in->sess || fl_measure_count(ctx) == 0)
		return;
	if (fl_instance_exit(in).exited) {
		final_after_exit(ctx, in, f);
		return;
	}
	fl_base_snapshot snap;
	memset(&snap, 0, sizeof snap);
	int quiet = 0;
	int r = quiet_snapshot(ctx, in, ctx->cfg.hold_ns, QUIET_MAX_NS, &snap,
			       &quiet);
	if (r < 0 || fl_instance_exit(in).exited) {
		/* It died while the harness looked: the samples before the
		 * exit are its final figures. */
		fl_measure_base_free(&snap);
		if (fl_instance_exit(in).exited)
			final_after_exit(ctx, in, f);
		return;
	}
	fl_session *s = in->sess;
	/* Where each fd was opened, while the agent's table still says so
	 * (when it keeps one: target.origins, a sweep). */
	fl_sites_origins(&in->faults, s->child.pid, snap.fds, snap.nfds);
	int64_t end = fl_session_now(s);
	fl_sample last;
	samples_final(s, end, ctx->cfg.hold_ns > ctx->cfg.final_window_ns
				      ? ctx->cfg.hold_ns
				      : ctx->cfg.final_window_ns,
		      &last);
	/* One snapshot gives each count and the list behind it; the
	 * baseline's counts are its own snapshot's. */
	int same = ctx->base.valid && ctx->base_inst == ctx->ninstances - 1;
	const fl_base_snapshot *b = &ctx->base_snap;
	static const fl_base_snapshot none;
	const fl_base_snapshot *base = same ? b : &none;
	f->have = 1;
	f->snapshot = 1;
	f->quiet = quiet;
	f->at_ns = end;
	f->fig = last;
	f->fig.t_ns = end;
	f->fig.v[FL_FIG_FDS] = snap.nfds;
	f->fig.v[FL_FIG_THREADS] = snap.nthreads;
	f->fig.v[FL_FIG_PROCS] = snap.nprocs;
	f->fig.v[FL_FIG_FILES] = s->watch_path[0] ? snap.nfiles : -1;
	for (int k = 0; k < FL_FIG_COUNT; k++)
		f->base[k] = ctx->base.v[k];
	f->base[FL_FIG_FDS] = base->nfds;
	f->base[FL_FIG_THREADS] = base->nthreads;
	if (same)
		f->base[FL_FIG_PROCS] = base->nprocs;
	if (s->watch_path[0])
		f->base[FL_FIG_FILES] = base->nfiles;
	int multi = multi_process(base, &snap);
	diff_fds(base->fds, base->nfds, snap.fds, snap.nfds, 0, snap.procs,
		 snap.nprocs, multi, &f->fds);
	diff_threads(base, &snap, &f->threads);
	diff_procs(base, &snap, &f->procs);
	if (s->watch_path[0])
		diff_fds(base->files, base->nfiles, snap.files, snap.nfiles, 1,
			 NULL, 0, 0, &f->files);
	f->baseline_fd_count = base->nfds;
	if (!quiet)
		fl_ctx_log(ctx,
			   "the target did not quiesce within %.1f s: the final "
			   "fd table may hold fds in use",
			   (double)QUIET_MAX_NS / 1e9);
	f->snap = snap;
}

void fl_measure_before_start(fl_ctx *ctx, const char *watch_path)
{
	free(ctx->start_files);
	ctx->nstart_files = list_dir(watch_path, &ctx->start_files);
	fl_ctx_abbreviate(ctx, ctx->start_files, ctx->nstart_files);
	ctx->start_inst = ctx->ninstances - 1;
}

int fl_measure_final_since_start(fl_ctx *ctx, char *err, size_t errlen)
{
	fl_instance *in = ctx->inst;
	fl_final *f = &ctx->final;
	if (f->have)
		return 0;
	if (!in || !in->sess || ctx->start_inst != ctx->ninstances - 1 ||
	    !in->sess->watch_path[0]) {
		snprintf(err, errlen, "no listing of target.watch from before "
				      "this run's start");
		return -ENODATA;
	}
	fl_fd_entry *now;
	int n = list_dir(in->sess->watch_path, &now);
	fl_ctx_abbreviate(ctx, now, n);
	memset(f, 0, sizeof *f);
	f->have = 1;
	f->since_start = 1;
	f->snapshot = 1;
	f->quiet = 1;
	f->at_ns = fl_session_now(in->sess);
	f->unavailable = "no baseline: only the watched directory is "
			 "compared, with its state before the start";
	f->fig.v[FL_FIG_FILES] = n;
	f->base[FL_FIG_FILES] = ctx->nstart_files;
	diff_fds(ctx->start_files, ctx->nstart_files, now, n, 1, NULL, 0, 0,
		 &f->files);
	free(now);
	return 0;
}

double fl_measure_leak(const fl_ctx *ctx, enum fl_figure fig)
{
	return fl_sample_figure(&ctx->final.fig, fig) - ctx->final.base[fig];
}

/* A process's count of a figure in a snapshot (fds, threads), or -1 when
 * it is not in it. */
static int proc_count(const fl_base_snapshot *b, const fl_proc_entry *p,
		      enum fl_figure fig)
{
	for (int i = 0; i < b->nprocs; i++)
		if (same_proc(&b->procs[i], p))
			return fig == FL_FIG_FDS ? b->procs[i].nfds
						 : b->procs[i].nthreads;
	return -1;
}

int fl_measure_leak_each(fl_ctx *ctx, enum fl_figure fig, fl_proc_leak *out)
{
	memset(out, 0, sizeof *out);
	const fl_final *f = &ctx->final;
	if (!f->have || !f->snapshot || fl_figures[fig].tree)
		return 0;
	const fl_base_snapshot *snap = &f->snap;
	int same = ctx->base.valid && ctx->base_inst == ctx->ninstances - 1;
	static const fl_base_snapshot none;
	const fl_base_snapshot *base = same ? &ctx->base_snap : &none;
	fl_session *s = cur_session(ctx);
	for (int i = 0; i < snap->nprocs; i++) {
		const fl_proc_entry *p = &snap->procs[i];
		double fin, b;
		if (fig == FL_FIG_RSS) {
			/* RSS per process: its latest sample against its
			 * sample at the baseline. */
			fin = b = 0;
			if (!s)
				continue;
			pthread_mutex_lock(&s->lock);
			long k = fl_tree_find(&s->tree, p->pid);
			if (k >= 0) {
				const fl_member *tp = &s->tree.procs[k];
				fin = (double)tp->v[FL_FIG_RSS];
				b = tp->has_base ? (double)tp->base[FL_FIG_RSS] : 0;
			}
			pthread_mutex_unlock(&s->lock);
		} else {
			fin = proc_count(snap, p, fig);
			int bc = proc_count(base, p, fig);
			b = bc < 0 ? 0 : bc;
		}
		if (out->found && fin - b <= out->leaked)
			continue;
		out->found = 1;
		out->pid = p->pid;
		snprintf(out->comm, sizeof out->comm, "%s", p->comm);
		out->leaked = fin - b;
		out->base = b;
		out->fin = fin;
	}
	if (!out->found)
		return 0;
	/* Its share of the forensics, for the message. */
	const fl_group *g = NULL;
	int ng = 0;
	if (fig == FL_FIG_FDS) {
		g = f->fds.groups;
		ng = f->fds.ngroups;
	} else if (fig == FL_FIG_THREADS) {
		g = f->threads.groups;
		ng = f->threads.ngroups;
	}
	char label[64];
	proc_label(snap->procs, snap->nprocs, out->pid, label, sizeof label);
	size_t len = 0;
	for (int i = 0; i < ng && len < sizeof out->summary; i++) {
		if (g[i].proc[0] && strcmp(g[i].proc, label) != 0)
			continue;
		len += (size_t)snprintf(out->summary + len,
					sizeof out->summary - len, "%s%d x %s",
					len ? ", " : "", g[i].count,
					g[i].pattern);
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* The OOM precursor                                                    */
/* ------------------------------------------------------------------ */

/* Runs gcore on the target, waiting at most a minute. Returns the core's
 * path (malloc'd) or NULL with the reason in why. */
static char *take_core(fl_ctx *ctx, pid_t pid, char *why, size_t whylen)
{
	if (!ctx->opts->artifact_dir) {
		snprintf(why, whylen, "no report directory to keep a core in");
		return NULL;
	}
	char prefix[PATH_MAX];
	snprintf(prefix, sizeof prefix, "%s/core-%s", ctx->opts->artifact_dir,
		 ctx->cfg.name);
	for (char *p = prefix + strlen(ctx->opts->artifact_dir) + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '_';
	char pidbuf[32];
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	pid_t g = fork();
	if (g == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("gcore", "gcore", "-o", prefix, pidbuf, (char *)NULL);
		_exit(127);
	}
	if (g < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return NULL;
	}
	int status = 0;
	int64_t deadline = fl_now_ns() + CORE_TIMEOUT_NS;
	while (waitpid(g, &status, WNOHANG) == 0) {
		if (fl_now_ns() > deadline) {
			kill(g, SIGKILL);
			waitpid(g, &status, 0);
			snprintf(why, whylen, "gcore did not finish within 60 s");
			return NULL;
		}
		struct timespec ts = {0, 20 * FL_NS_PER_MS};
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "gcore failed (exit %d; is gdb installed?)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return NULL;
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s.%d", prefix, (int)pid);
	return fl_xstrdup(path);
}

void fl_measure_check_oom(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	fl_oom *o = &ctx->oom;
	if (o->hit || !in || !in->sess)
		return;
	fl_session *s = in->sess;
	pthread_mutex_lock(&s->lock);
	int hit = s->oom_hit;
	pthread_mutex_unlock(&s->lock);
	if (!hit)
		return;
	/* The monitor wrote the snapshot before it set oom_hit; it no longer
	 * touches it. */
	o->hit = 1;
	o->t_ns = s->oom_t_ns;
	o->rss = s->oom_sample_rss;
	o->threshold = ctx->cfg.oom_rss;
	if (s->oom_nfds >= 0 && s->oom_fds) {
		o->fds = fl_xmalloc((size_t)(s->oom_nfds + 1) * sizeof *o->fds);
		memcpy(o->fds, s->oom_fds, (size_t)s->oom_nfds * sizeof *o->fds);
		o->nfds = s->oom_nfds;
		fl_ctx_abbreviate(ctx, o->fds, o->nfds);
		o->nfd_groups = fl_forensics_group_fds(o->fds, o->nfds,
						       &o->fd_groups);
	}
	if (s->oom_nthreads >= 0 && s->oom_threads) {
		o->threads = fl_xmalloc((size_t)(s->oom_nthreads + 1) *
					sizeof *o->threads);
		memcpy(o->threads, s->oom_threads,
		       (size_t)s->oom_nthreads * sizeof *o->threads);
		o->nthreads = s->oom_nthreads;
		o->nthread_groups = fl_forensics_group_threads(
			o->threads, o->nthreads, &o->thread_groups);
	}
	o->smaps = s->oom_smaps ? fl_xstrdup(s->oom_smaps) : NULL;
	char rss[32], lim[32];
	fl_fmt_bytes(rss, sizeof rss, (double)o->rss);
	fl_fmt_bytes(lim, sizeof lim, o->threshold);
	fl_ctx_log(ctx, "OOM precursor: RSS %s reached %s at %.3f s: fd table, "
			"threads and smaps_rollup saved",
		   rss, lim, (double)o->t_ns / 1e9);
	o->core_asked = ctx->cfg.oom_core;
	if (ctx->cfg.oom_core && !fl_instance_exit(in).exited) {
		char why[256];
		char *path = take_core(ctx, s->child.pid, why, sizeof why);
		if (path) {
			fl_ctx_log(ctx, "OOM precursor: core written to %s", path);
			const char *base = strrchr(path, '/');
			o->core = fl_xstrdup(base ? base + 1 : path);
			free(path);
		} else {
			fl_ctx_log(ctx, "OOM precursor: no core: %s", why);
			o->core_error = fl_xstrdup(why);
		}
	}
}
