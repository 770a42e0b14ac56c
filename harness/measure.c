#define _GNU_SOURCE
#include "measure.h"

#include "delta.h"
#include "progress.h"
#include "sites.h"
#include "snapshot.h"
#include "util.h"
#include "windows.h"

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
	fl_snapshot_free(b);
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
	if (fl_snapshot_held(ctx, in, ctx->cfg.hold_ns, &now, &quiet) < 0 ||
	    !fl_ctx_target_live(ctx)) {
		fl_snapshot_free(&now);
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
	fl_snapshot_free(&f->snap);
	memset(f, 0, sizeof *f);
}

/* The baseline's snapshot is dropped where the scenario drops its
 * context (scenario.c); snapshot.c owns how. */
void fl_measure_base_free(fl_base_snapshot *b)
{
	fl_snapshot_free(b);
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
		int n = fl_snapshot_list_dir(s->watch_path, &now);
		fl_ctx_abbreviate(ctx, now, n);
		fl_delta_fds(ctx->base_snap.files, ctx->base_snap.nfiles, now, n,
			     1, NULL, 0, 0, &f->files);
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
	int r = fl_snapshot_quiet(ctx, in, ctx->cfg.hold_ns,
				  FL_SNAPSHOT_QUIET_MAX_NS, &snap, &quiet);
	if (r < 0 || fl_instance_exit(in).exited) {
		/* It died while the harness looked: the samples before the
		 * exit are its final figures. */
		fl_snapshot_free(&snap);
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
	int multi = fl_delta_multi_process(base, &snap);
	fl_delta_fds(base->fds, base->nfds, snap.fds, snap.nfds, 0, snap.procs,
		     snap.nprocs, multi, &f->fds);
	fl_delta_threads(base, &snap, &f->threads);
	fl_delta_procs(base, &snap, &f->procs);
	if (s->watch_path[0])
		fl_delta_fds(base->files, base->nfiles, snap.files, snap.nfiles,
			     1, NULL, 0, 0, &f->files);
	f->baseline_fd_count = base->nfds;
	if (!quiet)
		fl_ctx_log(ctx,
			   "the target did not quiesce within %.1f s: the final "
			   "fd table may hold fds in use",
			   (double)FL_SNAPSHOT_QUIET_MAX_NS / 1e9);
	f->snap = snap;
}

void fl_measure_before_start(fl_ctx *ctx, const char *watch_path)
{
	free(ctx->start_files);
	ctx->nstart_files = fl_snapshot_list_dir(watch_path, &ctx->start_files);
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
	int n = fl_snapshot_list_dir(in->sess->watch_path, &now);
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
	fl_delta_fds(ctx->start_files, ctx->nstart_files, now, n, 1, NULL, 0,
		     0, &f->files);
	free(now);
	return 0;
}

double fl_measure_leak(const fl_ctx *ctx, enum fl_figure fig)
{
	return fl_sample_figure(&ctx->final.fig, fig) - ctx->final.base[fig];
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
			fin = fl_delta_proc_count(snap, p, fig);
			int bc = fl_delta_proc_count(base, p, fig);
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
	fl_delta_proc_label(snap->procs, snap->nprocs, out->pid, label,
			    sizeof label);
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
