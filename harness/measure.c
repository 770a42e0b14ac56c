#define _GNU_SOURCE
#include "measure.h"

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

/* The final look waits for at least this many sample periods after the
 * last window closed... */
#define FINAL_MIN_PERIODS 5
/* ...but never longer than this. */
#define FINAL_MIN_SPAN_CAP_NS (300 * FL_NS_PER_MS)
/* Two looks at the fd table this far apart (at least 3 periods): an fd
 * only passing through is not a leak. */
#define FD_LOOK_GAP_NS (30 * FL_NS_PER_MS)
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

int fl_measure_baseline(fl_ctx *ctx, int64_t window_ns, char *err,
			size_t errlen)
{
	fl_instance *in = ctx->inst;
	if (!fl_ctx_target_live(ctx)) {
		snprintf(err, errlen, "no running target to take a baseline of");
		return -ESRCH;
	}
	fl_session *s = in->sess;
	int64_t now = fl_session_now(s);
	pthread_mutex_lock(&s->lock);
	int r = fl_judge_baseline(s->samples, s->nsamples, now - window_ns, now,
				  &ctx->base);
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		snprintf(err, errlen,
			 "no sample in the baseline window (sampling at %.0f Hz)",
			 ctx->cfg.hz);
		return r;
	}
	ctx->base_inst = ctx->ninstances - 1;
	/* A new baseline starts a new measurement: no final yet. */
	fl_measure_final_free(&ctx->final);
	fl_base_snapshot *b = &ctx->base_snap;
	fl_measure_base_free(b);
	b->nfds = fl_procfs_fd_table(s->child.procfd, &b->fds);
	if (b->nfds < 0)
		b->nfds = 0;
	fl_ctx_abbreviate(ctx, b->fds, b->nfds);
	b->nfiles = s->watch_path[0] ? list_dir(s->watch_path, &b->files) : 0;
	b->nthreads = fl_procfs_threads(s->child.procfd, &b->threads);
	if (b->nthreads < 0)
		b->nthreads = 0;
	char rss[32];
	fl_fmt_bytes(rss, sizeof rss, ctx->base.v[FL_FIG_RSS]);
	fl_ctx_log(ctx,
		   "baseline over %.2f s (%zu samples): %g fds, %g threads, %s RSS",
		   (double)window_ns / 1e9, ctx->base.samples,
		   ctx->base.v[FL_FIG_FDS], ctx->base.v[FL_FIG_THREADS], rss);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Final                                                                */
/* ------------------------------------------------------------------ */

void fl_measure_final_free(fl_final *f)
{
	free(f->fds.items);
	free(f->fds.groups);
	free(f->threads.items);
	free(f->threads.groups);
	free(f->threads.all);
	free(f->files.items);
	free(f->files.groups);
	memset(f, 0, sizeof *f);
}

/* The final figures over the last window_ns up to end_ns: for counts
 * (fds, threads, files) the lowest sample, which is what stayed (a leak
 * shows in every sample; an fd a batch holds for a moment does not); for
 * RSS, which moves both ways, the median. */
static int window_final(fl_session *s, int64_t end_ns, int64_t window_ns,
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

/* The watched directory's entries that were not there at the baseline.
 * Works after the target exited: a fatal exit is when files stay. Returns
 * how many entries there are now. */
static int files_forensics(fl_ctx *ctx, fl_session *s, fl_final *f)
{
	if (!s->watch_path[0])
		return 0;
	fl_fd_entry *now;
	int n = list_dir(s->watch_path, &now);
	fl_fd_entry *fresh = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *fresh);
	int k = 0;
	for (int i = 0; i < n; i++) {
		int old = 0;
		for (int j = 0; j < ctx->base_snap.nfiles && !old; j++)
			old = !strcmp(ctx->base_snap.files[j].target,
				      now[i].target);
		if (!old) {
			fresh[k] = now[i];
			fresh[k].fd = k;
			k++;
		}
	}
	free(now);
	fl_ctx_abbreviate(ctx, fresh, k);
	f->files.listed = 1;
	f->files.items = fresh;
	f->files.n = k;
	f->files.ngroups = fl_forensics_group_fds(fresh, k, &f->files.groups);
	return n;
}

/* The end of the final window: after the faults, over a few samples,
 * waiting for them if the script stops right after t:clear(). */
static int64_t final_end(fl_ctx *ctx, fl_session *s, int64_t *span)
{
	int64_t last_off = -1;
	for (int i = 0; i < ctx->nwindows; i++)
		if (ctx->windows[i].instance == ctx->ninstances - 1 &&
		    ctx->windows[i].off_ns > last_off)
			last_off = ctx->windows[i].off_ns;
	int64_t min_span = FINAL_MIN_PERIODS * s->period_ns;
	if (min_span > FINAL_MIN_SPAN_CAP_NS)
		min_span = FINAL_MIN_SPAN_CAP_NS;
	if (!fl_instance_exit(ctx->inst).exited && last_off >= 0) {
		int64_t since = fl_session_now(s) - last_off;
		if (since < min_span) {
			int64_t until = fl_now_ns() + (min_span - since);
			while (fl_now_ns() < until &&
			       !fl_instance_exit(ctx->inst).exited)
				fl_session_wait(s, until, -1);
		}
	}
	fl_exit_info ex = fl_instance_exit(ctx->inst);
	int64_t end = ex.exited ? ex.t_ns : fl_session_now(s);
	*span = ctx->cfg.final_window_ns;
	if (*span < min_span)
		*span = min_span;
	if (last_off >= 0 && end - last_off < *span && end - last_off >= min_span)
		*span = end - last_off;
	return end;
}

/* What is new in the fd table and the thread list since the baseline. */
static void live_forensics(fl_ctx *ctx, fl_instance *in, fl_final *f)
{
	fl_session *s = in->sess;
	/* Two looks at the fd table, a few samples apart: an fd that is only
	 * passing through (opened and closed between them) is not a leak. */
	fl_fd_entry *a = NULL, *b = NULL;
	int na = fl_procfs_fd_table(s->child.procfd, &a);
	int64_t gap = 3 * s->period_ns;
	if (gap < FD_LOOK_GAP_NS)
		gap = FD_LOOK_GAP_NS;
	struct timespec ts = {gap / FL_NS_PER_SEC, gap % FL_NS_PER_SEC};
	nanosleep(&ts, NULL);
	int nb = fl_procfs_fd_table(s->child.procfd, &b);
	fl_ctx_abbreviate(ctx, a, na);
	fl_ctx_abbreviate(ctx, b, nb);
	int same = ctx->base.valid && ctx->base_inst == ctx->ninstances - 1;
	const fl_base_snapshot *base = &ctx->base_snap;
	if (na >= 0 && nb >= 0) {
		f->fds.listed = 1;
		f->fds.n = fl_forensics_new_fds(
			same ? base->fds : NULL, same ? base->nfds : 0, a, na, b,
			nb, in->faults.hello ? in->faults.agent_fd : -1,
			&f->fds.items);
		f->fds.ngroups = fl_forensics_group_fds(f->fds.items, f->fds.n,
							&f->fds.groups);
	}
	free(a);
	free(b);
	fl_thread_entry *th = NULL;
	int nth = fl_procfs_threads(s->child.procfd, &th);
	if (nth >= 0) {
		f->threads.listed = 1;
		f->threads.n = fl_forensics_new_threads(
			same ? base->threads : NULL, same ? base->nthreads : 0,
			th, nth, in->faults.hello ? in->faults.agent_tid : -1,
			&f->threads.items);
		f->threads.ngroups = fl_forensics_group_threads(
			f->threads.items, f->threads.n, &f->threads.groups);
		f->threads.all = th;
		f->threads.nall = nth;
	} else {
		free(th);
	}
	f->baseline_fd_count = same ? base->nfds : 0;
}

void fl_measure_final(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	fl_final *f = &ctx->final;
	if (f->have || !in || !in->sess || fl_measure_count(ctx) == 0)
		return;
	fl_session *s = in->sess;
	int64_t span;
	int64_t end = final_end(ctx, s, &span);
	if (window_final(s, end, span, &f->fig) < 0)
		return;
	f->have = 1;
	f->at_ns = end;
	int files_now = files_forensics(ctx, s, f);
	int exited = fl_instance_exit(in).exited;
	if (exited && s->watch_path[0])
		/* What a dead target left on disk is what is there now. */
		f->fig.v[FL_FIG_FILES] = files_now;
	if (exited) {
		f->unavailable = "the target had exited before the final look";
		return;
	}
	live_forensics(ctx, in, f);
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
