#define _GNU_SOURCE
#include "measure.h"

#include "sites.h"
#include "util.h"

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
	int have = s->nsamples > 0;
	if (have)
		*out = s->samples[s->nsamples - 1];
	pthread_mutex_unlock(&s->lock);
	return have;
}

size_t fl_measure_count(fl_ctx *ctx)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	size_t n = s->nsamples;
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
	for (size_t i = 0; i < s->nsamples; i++)
		for (int f = 0; f < FL_FIG_COUNT; f++)
			if (s->samples[i].v[f] > out->v[f])
				out->v[f] = s->samples[i].v[f];
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
	fl_judge_trend(s->samples, s->nsamples, fig, from_ns, to_ns, out);
	pthread_mutex_unlock(&s->lock);
}

int fl_measure_quiet_for(fl_ctx *ctx, int64_t hold_ns)
{
	fl_session *s = cur_session(ctx);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	size_t n = s->nsamples;
	int quiet = 0;
	if (n > 1) {
		const fl_sample *last = &s->samples[n - 1];
		size_t i = n - 1;
		while (i > 0 &&
		       s->samples[i - 1].v[FL_FIG_FDS] == last->v[FL_FIG_FDS] &&
		       s->samples[i - 1].v[FL_FIG_THREADS] ==
			       last->v[FL_FIG_THREADS])
			i--;
		quiet = last->t_ns - s->samples[i].t_ns >= hold_ns;
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
	pthread_mutex_lock(&s->lock);
	fl_judge_recovery(s->samples, s->nsamples, ctx->health_results,
			  ctx->nhealth, &ctx->cfg.steady, &ctx->base, e->off_ns,
			  hold_ns, within_ns, now, out);
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Baseline                                                             */
/* ------------------------------------------------------------------ */

/* The entries of a directory as "dir/name" paths, sorted by name (fd is
 * the position). Returns the count (0 for a missing directory). */
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
	for (size_t i = 1; i < n; i++) {
		fl_fd_entry e = v[i];
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1].target, e.target) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = e;
	}
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
	memset(b, 0, sizeof *b);
}

/* The fd table, threads and watched files of the current run at one
 * moment, without the harness's own footprint (the region's descriptor,
 * while the target holds it; the agent has no thread). Returns 0, or
 * -ESRCH when the process is gone. */
static int take_snapshot(fl_ctx *ctx, fl_instance *in, fl_base_snapshot *out)
{
	fl_session *s = in->sess;
	memset(out, 0, sizeof *out);
	fl_footprint fp;
	fl_faults_footprint(&in->faults, s->child.procfd, s->child.pid, &fp);
	int skip_fd = fp.fds ? fp.fd : -1;
	fl_fd_entry *fds = NULL;
	int nfds = fl_procfs_fd_table(s->child.procfd, &fds);
	fl_thread_entry *th = NULL;
	int nth = fl_procfs_threads(s->child.procfd, &th);
	if (nfds < 0 || nth < 0) {
		free(fds);
		free(th);
		return -ESRCH;
	}
	int k = 0;
	for (int i = 0; i < nfds; i++)
		if (fds[i].fd != skip_fd)
			fds[k++] = fds[i];
	fl_ctx_abbreviate(ctx, fds, k);
	out->fds = fds;
	out->nfds = k;
	out->threads = th;
	out->nthreads = nth;
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

/* What two looks have in common: the fds (same number, same target),
 * threads and files present in both. Fills out (owned). */
static void intersect_snapshots(const fl_base_snapshot *a,
				const fl_base_snapshot *b, fl_base_snapshot *out)
{
	memset(out, 0, sizeof *out);
	out->fds = fl_xmalloc((size_t)(b->nfds + 1) * sizeof *out->fds);
	for (int i = 0; i < b->nfds; i++)
		for (int j = 0; j < a->nfds; j++)
			if (a->fds[j].fd == b->fds[i].fd &&
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
}

/* The fewest fds and threads the sampler saw over [from, to]. */
static void sampled_floor(fl_session *s, int64_t from, int64_t to,
			  int64_t *fds, int64_t *threads)
{
	*fds = *threads = INT64_MAX;
	pthread_mutex_lock(&s->lock);
	for (size_t i = s->nsamples; i-- > 0;) {
		const fl_sample *x = &s->samples[i];
		if (x->t_ns < from)
			break;
		if (x->t_ns > to)
			continue;
		if (x->v[FL_FIG_FDS] < *fds)
			*fds = x->v[FL_FIG_FDS];
		if (x->v[FL_FIG_THREADS] < *threads)
			*threads = x->v[FL_FIG_THREADS];
	}
	pthread_mutex_unlock(&s->lock);
}

/* What the target holds, not what passes through it: looks at its fd
 * table, threads and files at every sample over window_ns, and keeps what
 * was there at every look (the same fd number pointing to the same
 * thing). quiet: the sampler never saw fewer fds or threads than it keeps
 * (nothing kept was only passing through). Returns 0 or -ESRCH. */
static int held_snapshot(fl_ctx *ctx, fl_instance *in, int64_t window_ns,
			 fl_base_snapshot *out, int *quiet)
{
	fl_session *s = in->sess;
	int64_t step = s->period_ns;
	if (window_ns < 2 * step)
		window_ns = 2 * step;
	if (window_ns / step > HELD_LOOKS_MAX)
		step = window_ns / HELD_LOOKS_MAX;
	int64_t t0 = fl_session_now(s);
	if (take_snapshot(ctx, in, out) < 0)
		return -ESRCH;
	int64_t end = fl_now_ns() + window_ns;
	for (;;) {
		int64_t next = fl_now_ns() + step;
		if (next > end)
			next = end;
		while (fl_now_ns() < next && !fl_instance_exit(in).exited)
			fl_session_wait(s, next, -1);
		fl_base_snapshot look, kept;
		if (fl_instance_exit(in).exited || take_snapshot(ctx, in, &look) < 0)
			break; /* gone: what it held until then */
		intersect_snapshots(out, &look, &kept);
		fl_measure_base_free(out);
		fl_measure_base_free(&look);
		*out = kept;
		if (fl_now_ns() >= end)
			break;
	}
	int64_t floor_fds, floor_threads;
	sampled_floor(s, t0, fl_session_now(s), &floor_fds, &floor_threads);
	*quiet = (floor_fds == INT64_MAX || out->nfds <= floor_fds) &&
		 (floor_threads == INT64_MAX || out->nthreads <= floor_threads);
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
		pthread_mutex_lock(&s->lock);
		r = fl_judge_baseline(s->samples, s->nsamples, from_ns, now,
				      &ctx->base);
		pthread_mutex_unlock(&s->lock);
		if ((r == 0 && ctx->base.samples >= want) ||
		    fl_now_ns() >= give_up || !fl_ctx_target_live(ctx) ||
		    fl_lua_abort_due(&ctx->host) != FL_ABORT_NONE)
			break;
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
	char rss[32];
	fl_fmt_bytes(rss, sizeof rss, ctx->base.v[FL_FIG_RSS]);
	fl_ctx_log(ctx,
		   "baseline over %.2f s (%zu samples): %g fds, %g threads, %s "
		   "RSS; fd table %d fds, %d threads",
		   (double)(ctx->base.to_ns - ctx->base.from_ns) / 1e9,
		   ctx->base.samples, ctx->base.v[FL_FIG_FDS],
		   ctx->base.v[FL_FIG_THREADS], rss, b->nfds, b->nthreads);
	return 0;
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
	memset(f, 0, sizeof *f);
}

/* The final figures from the samples just before end_ns (a run that
 * exited): the lowest count over the window (what stayed), the median
 * RSS. */
static int samples_final(fl_session *s, int64_t end_ns, int64_t window_ns,
			 fl_sample *out)
{
	pthread_mutex_lock(&s->lock);
	fl_baseline b;
	int r = fl_judge_baseline(s->samples, s->nsamples, end_ns - window_ns,
				  end_ns, &b);
	if (r < 0 && s->nsamples > 0) {
		*out = s->samples[s->nsamples - 1];
		r = 0;
	} else if (r == 0) {
		out->t_ns = end_ns;
		int first = 1;
		for (size_t i = 0; i < s->nsamples; i++) {
			const fl_sample *x = &s->samples[i];
			if (x->t_ns < end_ns - window_ns || x->t_ns > end_ns)
				continue;
			for (int f = 0; f < FL_FIG_COUNT; f++)
				if (first || x->v[f] < out->v[f])
					out->v[f] = x->v[f];
			first = 0;
		}
		out->v[FL_FIG_RSS] = (int64_t)llround(b.v[FL_FIG_RSS]);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int same_fd(const fl_fd_entry *a, const fl_fd_entry *b, int by_name)
{
	if (by_name)
		return strcmp(a->target, b->target) == 0;
	return a->fd == b->fd && same_target(a->target, b->target);
}

/* What of now was not in base (new) and what of base is not in now
 * (gone); entries match by number and target (by target alone for
 * files). */
static void diff_fds(const fl_fd_entry *base, int nbase, const fl_fd_entry *now,
		     int nnow, int by_name, fl_new_fds *out)
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
	out->ngroups = fl_forensics_group_fds(out->items, out->n, &out->groups);
}

static void diff_threads(const fl_base_snapshot *base,
			 const fl_base_snapshot *now, fl_new_threads *out)
{
	out->listed = 1;
	out->n = fl_forensics_new_threads(base->threads, base->nthreads,
					  now->threads, now->nthreads, -1,
					  &out->items);
	out->ngroups = fl_forensics_group_threads(out->items, out->n,
						  &out->groups);
	out->gone = base->nthreads - (now->nthreads - out->n);
	out->all = fl_xmalloc((size_t)(now->nthreads + 1) * sizeof *out->all);
	memcpy(out->all, now->threads, (size_t)now->nthreads * sizeof *out->all);
	out->nall = now->nthreads;
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
			 &f->files);
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
	f->fig.v[FL_FIG_FILES] = s->watch_path[0] ? snap.nfiles : -1;
	for (int k = 0; k < FL_FIG_COUNT; k++)
		f->base[k] = ctx->base.v[k];
	f->base[FL_FIG_FDS] = base->nfds;
	f->base[FL_FIG_THREADS] = base->nthreads;
	if (s->watch_path[0])
		f->base[FL_FIG_FILES] = base->nfiles;
	diff_fds(base->fds, base->nfds, snap.fds, snap.nfds, 0, &f->fds);
	diff_threads(base, &snap, &f->threads);
	if (s->watch_path[0])
		diff_fds(base->files, base->nfiles, snap.files, snap.nfiles, 1,
			 &f->files);
	f->baseline_fd_count = base->nfds;
	if (!quiet)
		fl_ctx_log(ctx,
			   "the target did not quiesce within %.1f s: the final "
			   "fd table may hold fds in use",
			   (double)QUIET_MAX_NS / 1e9);
	fl_measure_base_free(&snap);
}

double fl_measure_leak(const fl_ctx *ctx, enum fl_figure fig)
{
	return fl_sample_figure(&ctx->final.fig, fig) - ctx->final.base[fig];
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
