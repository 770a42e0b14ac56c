#define _GNU_SOURCE
#include "expect.h"

#include "health.h"
#include "instance.h"
#include "measure.h"
#include "points.h"
#include "snapshot.h"
#include "util.h"
#include "windows.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Groups named in a leak message, at most. */
#define MESSAGE_GROUPS 4
#define SUMMARY_GROUPS 6

/* The groups behind a leaked count and how many of the baseline's items
 * went away, for its message. */
static void leak_groups(const fl_final *f, enum fl_figure fig,
			const fl_group **g, int *n, int *nnew, int *gone)
{
	*g = NULL;
	*n = *nnew = *gone = 0;
	if (fig == FL_FIG_FDS && f->fds.listed) {
		*g = f->fds.groups;
		*n = f->fds.ngroups;
		*nnew = f->fds.n;
		*gone = f->fds.ngone;
	} else if (fig == FL_FIG_THREADS && f->threads.listed) {
		*g = f->threads.groups;
		*n = f->threads.ngroups;
		*nnew = f->threads.n;
		*gone = f->threads.gone;
	} else if (fig == FL_FIG_FILES && f->files.listed) {
		*g = f->files.groups;
		*n = f->files.ngroups;
		*nnew = f->files.n;
		*gone = f->files.ngone;
	} else if (fig == FL_FIG_PROCS && f->procs.listed) {
		*g = f->procs.groups;
		*n = f->procs.ngroups;
		*nnew = f->procs.n;
		*gone = f->procs.gone;
	}
}

static void leak_message(fl_ctx *ctx, enum fl_figure fig, double leaked,
			 double allowed, double base, double fin, char *msg,
			 size_t len)
{
	char lv[48], av[48];
	const fl_figure_def *d = &fl_figures[fig];
	fl_figure_format(fig, leaked, lv, sizeof lv);
	fl_figure_format(fig, allowed, av, sizeof av);
	if (d->bytes) {
		char bb[48], fb[48];
		fl_figure_format(fig, base, bb, sizeof bb);
		fl_figure_format(fig, fin, fb, sizeof fb);
		snprintf(msg, len,
			 "leaked %s %s (allowed %s): %s at the end, %s at the "
			 "baseline",
			 lv, d->unit, av, fb, bb);
		return;
	}
	int n = snprintf(msg, len, "leaked %s %s (allowed %s)", lv, d->unit,
			 av);
	const fl_group *g;
	int ng, nnew, gone;
	leak_groups(&ctx->final, fig, &g, &ng, &nnew, &gone);
	if (n < 0 || (size_t)n >= len || (nnew == 0 && gone == 0))
		return;
	char summary[700] = "";
	if (ng > 0) {
		fl_forensics_summary(g, ng < SUMMARY_GROUPS ? ng : SUMMARY_GROUPS,
				     MESSAGE_GROUPS, summary, sizeof summary);
		if (ng > SUMMARY_GROUPS)
			strncat(summary, ", ...",
				sizeof summary - strlen(summary) - 1);
	}
	/* The count is the list's: new items less the baseline's that went
	 * away, and the message says both when some went. */
	if (gone == 0)
		n += snprintf(msg + n, len - (size_t)n, ": %s", summary);
	else if (nnew == 0)
		n += snprintf(msg + n, len - (size_t)n,
			      ": %d of the baseline's %s went away", gone,
			      d->unit);
	else
		n += snprintf(msg + n, len - (size_t)n,
			      ": %d new (%s), %d of the baseline's went away",
			      nnew, summary, gone);
	/* A target still letting go when the final look gave up: what it
	 * held then may be in use, and the author can wait for it. */
	if (ctx->final.snapshot && !ctx->final.quiet && n > 0 &&
	    (size_t)n < len)
		snprintf(msg + n, len - (size_t)n,
			 " (still changing after %.0f s: t:quiesce() before "
			 "t:stop() waits for it)",
			 (double)FL_SNAPSHOT_QUIET_MAX_NS / 1e9);
}

/* One figure judged per process: the process that leaked most against
 * allowed. Returns 1 held, 0 not, -1 when there is no per-process final
 * (the target had exited before the final look: its sum is judged). */
static int leak_each(fl_ctx *ctx, const char *where, enum fl_figure f,
		     double allowed)
{
	fl_proc_leak pl;
	if (!fl_measure_leak_each(ctx, f, &pl))
		return -1;
	int ok = pl.leaked <= allowed + 1e-9;
	char lv[48], av[48], msg[1024], what[64];
	fl_figure_format(f, pl.leaked, lv, sizeof lv);
	fl_figure_format(f, allowed, av, sizeof av);
	snprintf(what, sizeof what, "leaked %s per process", fl_figures[f].key);
	if (fl_figures[f].bytes) {
		char bb[48], fb[48];
		fl_figure_format(f, pl.base, bb, sizeof bb);
		fl_figure_format(f, pl.fin, fb, sizeof fb);
		snprintf(msg, sizeof msg,
			 "leaked %s %s in %s pid %d (allowed %s): %s at the end, "
			 "%s at the baseline",
			 lv, fl_figures[f].unit, pl.comm, (int)pl.pid, av, fb, bb);
	} else {
		snprintf(msg, sizeof msg, "leaked %s %s in %s pid %d (allowed %s)%s%s",
			 lv, fl_figures[f].unit, pl.comm, (int)pl.pid, av,
			 pl.summary[0] ? ": " : "", pl.summary);
	}
	fl_ctx_expect(ctx, where, what, ok, lv, av, msg);
	return ok;
}

int fl_expect_leaks(fl_ctx *ctx, const char *where,
		    const double allowed[FL_FIG_COUNT], int per_process,
		    char *err, size_t errlen)
{
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (!isnan(allowed[f]) && fl_figures[f].optional &&
		    !ctx->cfg.watch) {
			snprintf(err, errlen,
				 "leaked.%s needs target.watch = \"DIR\"",
				 fl_figures[f].key);
			return -EINVAL;
		}
	}
	if (!ctx->base.valid) {
		/* Without a baseline (a batch job, faulted from its first
		 * instruction) what can be judged is what it left in the
		 * watched directory, against its state before the start. */
		int only_files = 1;
		for (int f = 0; f < FL_FIG_COUNT; f++)
			if (!isnan(allowed[f]) && f != FL_FIG_FILES)
				only_files = 0;
		if (!only_files) {
			snprintf(err, errlen,
				 "leaks of fds, threads and RSS need a baseline: "
				 "call t:settle() while the target runs (a batch "
				 "job without one is judged on leaked.files, "
				 "against target.watch before its start, and on "
				 "its exit)");
			return -ENODATA;
		}
		int r = fl_measure_final_since_start(ctx, err, errlen);
		if (r < 0)
			return r;
	}
	if (!ctx->final.have && ctx->inst && ctx->inst->running &&
	    ctx->base_inst == ctx->ninstances - 1)
		fl_measure_final(ctx);
	if (!ctx->final.have) {
		snprintf(err, errlen,
			 "no final measurement (no samples at the end)");
		return -ENODATA;
	}
	int all = 1;
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (isnan(allowed[f]))
			continue;
		if (per_process && !fl_figures[f].tree) {
			int each = leak_each(ctx, where, f, allowed[f]);
			if (each >= 0) {
				all &= each;
				continue;
			}
			fl_ctx_log(ctx, "leaked.%s per process: the target had "
					"exited before the final look; its "
					"processes' sum is judged",
				   fl_figures[f].key);
		}
		double base = ctx->final.base[f];
		double fin = fl_sample_figure(&ctx->final.fig, f);
		double leaked = fl_measure_leak(ctx, f);
		int ok = leaked <= allowed[f] + 1e-9;
		char lv[48], av[48], msg[1024], what[48];
		fl_figure_format(f, leaked, lv, sizeof lv);
		fl_figure_format(f, allowed[f], av, sizeof av);
		snprintf(what, sizeof what, "leaked %s", fl_figures[f].key);
		leak_message(ctx, f, leaked, allowed[f], base, fin, msg,
			     sizeof msg);
		fl_ctx_expect(ctx, where, what, ok, lv, av, msg);
		all &= ok;
	}
	return all;
}

int fl_expect_peaks(fl_ctx *ctx, const char *where,
		    const double allowed[FL_FIG_COUNT], char *err,
		    size_t errlen)
{
	if (!ctx->inst || !ctx->inst->sess) {
		snprintf(err, errlen, "the target was never started");
		return -ESRCH;
	}
	fl_sample peak;
	fl_measure_peak(ctx, &peak);
	int all = 1;
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (isnan(allowed[f]))
			continue;
		double v = fl_sample_figure(&peak, f);
		char mv[48], av[48], msg[200], what[48];
		fl_figure_format(f, v, mv, sizeof mv);
		fl_figure_format(f, allowed[f], av, sizeof av);
		snprintf(what, sizeof what, "peak %s", fl_figures[f].key);
		snprintf(msg, sizeof msg, "peak %s %s (allowed %s)",
			 fl_figures[f].key, mv, av);
		int ok = v <= allowed[f];
		fl_ctx_expect(ctx, where, what, ok, mv, av, msg);
		all &= ok;
	}
	return all;
}

static void rate_text(enum fl_figure f, double per_s, char *out, size_t len)
{
	if (fl_figures[f].bytes) {
		char a[32];
		fl_fmt_bytes(a, sizeof a, per_s);
		snprintf(out, len, "%s/s", a);
	} else {
		snprintf(out, len, "%.2f/s", per_s);
	}
}

int fl_expect_trends(fl_ctx *ctx, const char *where,
		     const double allowed[FL_FIG_COUNT], double window_s,
		     char *err, size_t errlen)
{
	fl_instance *in = ctx->inst;
	if (!in || !in->sess) {
		snprintf(err, errlen, "the target was never started");
		return -ESRCH;
	}
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (!isnan(allowed[f]) && fl_figures[f].optional &&
		    !ctx->cfg.watch) {
			snprintf(err, errlen, "trend.%s needs target.watch",
				 fl_figures[f].key);
			return -EINVAL;
		}
	}
	int64_t end = fl_measure_end(ctx);
	int64_t from;
	if (window_s > 0)
		from = end - (int64_t)(window_s * 1e9);
	else if (ctx->base.valid && ctx->base_inst == ctx->ninstances - 1)
		from = ctx->base.to_ns;
	else
		from = in->ready_ns;
	int all = 1;
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (isnan(allowed[f]))
			continue;
		const char *key = fl_figures[f].key;
		fl_trend tr;
		fl_measure_trend(ctx, f, from, end, &tr);
		char what[48], measured[64], allow[64], msg[300];
		snprintf(what, sizeof what, "trend %s", key);
		if (!tr.valid) {
			snprintf(msg, sizeof msg,
				 "%s trend: not enough samples over %.1f s", key,
				 (double)(end - from) / 1e9);
			fl_ctx_expect(ctx, where, what, 0, "no data", "", msg);
			all = 0;
			continue;
		}
		rate_text(f, tr.slope_per_s, measured, sizeof measured);
		rate_text(f, allowed[f], allow, sizeof allow);
		int ok = tr.slope_per_s <= allowed[f];
		snprintf(msg, sizeof msg,
			 "%s %s %s over %.1f s (allowed %s, fit r²=%.2f)", key,
			 tr.slope_per_s >= 0 ? "grows" : "shrinks", measured,
			 (double)(end - from) / 1e9, allow, tr.r2);
		fl_ctx_expect(ctx, where, what, ok, measured, allow, msg);
		all &= ok;
	}
	return all;
}

static uint64_t members_survival(fl_ctx *ctx, fl_instance *in,
				 const char *where, const char *what);

/* A process of the tree other than the first, as an exit. */
static fl_exit_info member_exit(const fl_member *p)
{
	fl_exit_info e;
	memset(&e, 0, sizeof e);
	e.exited = p->state != FL_MEMBER_LIVE;
	e.signal = p->end_signal;
	e.code = p->end_code;
	e.core = p->end_core;
	e.t_ns = p->exit_ns;
	return e;
}


/* "still running", "SIGSEGV", "exit 3". */
static void end_text(const fl_exit_info *e, char *out, size_t len)
{
	if (!e->exited)
		snprintf(out, len, "still running");
	else if (e->signal)
		snprintf(out, len, "%s", fl_signal_name(e->signal));
	else
		snprintf(out, len, "exit %d", e->code);
}

int fl_expect_exit(fl_ctx *ctx, const char *where, long long code)
{
	fl_exit_info e = fl_instance_exit(ctx->inst);
	char desc[96], av[32], msg[256];
	end_text(&e, desc, sizeof desc);
	int ok = e.exited && !e.signal && e.code == code;
	snprintf(av, sizeof av, "exit %lld", code);
	snprintf(msg, sizeof msg, "exit status: %s (expected exit %lld)", desc,
		 code);
	fl_ctx_expect(ctx, where, "exit", ok, desc, av, msg);
	if (ctx->inst)
		ctx->inst->exit_acknowledged = 1;
	return ok;
}

int fl_expect_signal(fl_ctx *ctx, const char *where, int sig)
{
	fl_exit_info e = fl_instance_exit(ctx->inst);
	char desc[96], msg[256];
	end_text(&e, desc, sizeof desc);
	int ok = e.exited && e.signal == sig;
	snprintf(msg, sizeof msg, "ended by: %s (expected %s)", desc,
		 fl_signal_name(sig));
	fl_ctx_expect(ctx, where, "signal", ok, desc, fl_signal_name(sig), msg);
	if (ctx->inst)
		ctx->inst->exit_acknowledged = 1;
	return ok;
}

int fl_expect_process_end(fl_ctx *ctx, const char *where, pid_t pid, int sig,
			  long long code)
{
	fl_instance *in = ctx->inst;
	char desc[96] = "not a process of the target", name[40] = "",
	     av[48], msg[400];
	int ok = 0;
	if (in && in->sess && in->sess->tree_ok) {
		fl_session *s = in->sess;
		pthread_mutex_lock(&s->lock);
		for (size_t i = s->tree.n; i-- > 0;)
			if (s->tree.procs[i].pid == pid)
				fl_tree_look(&s->tree, i, fl_now_ns());
		pthread_mutex_unlock(&s->lock);
		/* Gone unseen: its parent's wait may say how. */
		fl_instance_settle_ends(in);
		pthread_mutex_lock(&s->lock);
		/* The last process with that pid (pids are reused). */
		fl_member *p = NULL;
		for (size_t i = s->tree.n; i-- > 0 && !p;)
			if (s->tree.procs[i].pid == pid)
				p = &s->tree.procs[i];
		if (p) {
			fl_exit_info e = member_exit(p);
			snprintf(name, sizeof name, "%s ", p->comm);
			if (e.exited && !p->end_known)
				snprintf(desc, sizeof desc,
					 "unknown (its parent reaped it before "
					 "faultline saw how it ended)");
			else
				end_text(&e, desc, sizeof desc);
			ok = e.exited && p->end_known &&
			     (sig ? p->end_signal == sig
				  : !p->end_signal && p->end_code == code);
			p->end_expected = 1;
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (sig)
		snprintf(av, sizeof av, "%s", fl_signal_name(sig));
	else
		snprintf(av, sizeof av, "exit %lld", code);
	snprintf(msg, sizeof msg, "%spid %d ended by: %s (expected %s)", name,
		 (int)pid, desc, av);
	fl_ctx_expect(ctx, where, sig ? "signal" : "exit", ok, desc, av, msg);
	return ok;
}

int fl_expect_survived(fl_ctx *ctx, const char *where)
{
	fl_instance *in = ctx->inst;
	fl_exit_info e = fl_instance_exit(in);
	char desc[96], msg[256];
	end_text(&e, desc, sizeof desc);
	int ok = !e.exited || (in && in->stop_requested);
	if (e.exited && e.signal && e.signal != SIGTERM && e.signal != SIGKILL)
		ok = 0;
	snprintf(msg, sizeof msg, "survival: %s", desc);
	fl_ctx_expect(ctx, where, "survived", ok, desc, "running", msg);
	if (in)
		in->exit_acknowledged = 1;
	/* Every process of the tree survives, or it did not. */
	if (in && members_survival(ctx, in, where, "survived") > 0)
		ok = 0;
	return ok;
}

int fl_expect_steady(fl_ctx *ctx, const char *where, char *err, size_t errlen)
{
	if (!ctx->base.valid) {
		snprintf(err, errlen, "steady needs a baseline");
		return -ENODATA;
	}
	/* The health condition is judged on a probe made now, not on one
	 * made before the last action of the script. */
	int health = fl_health_latest(ctx);
	if (ctx->cfg.steady.health && fl_ctx_target_live(ctx))
		health = fl_health_probe_now(ctx)->ok;
	char why[192] = "no sample yet";
	int ok = fl_measure_steady(ctx, health, why, sizeof why) == 1;
	char msg[300];
	snprintf(msg, sizeof msg, "steady state %s%s%s",
		 ok ? "holds" : "broken", ok ? "" : ": ", ok ? "" : why);
	fl_ctx_expect(ctx, where, "steady", ok, ok ? "holds" : why, "holds", msg);
	return ok;
}

static void recovery_failure(fl_ctx *ctx, const fl_recovery *rec,
			     double within, char *out, size_t len)
{
	fl_episode *e = fl_windows_last_episode(ctx);
	snprintf(out, len,
		 "not recovered within %.2f s after the fault window on %s "
		 "(%.2f s to %.2f s): %s",
		 within, e ? e->points : "?", e ? (double)e->on_ns / 1e9 : 0,
		 e ? (double)e->off_ns / 1e9 : 0, rec->why);
}

int fl_expect_recovery(fl_ctx *ctx, const char *where,
		       const fl_recovery *rec, double within_s)
{
	char msg[600], measured[64], allowed[64];
	int ok = rec->state == FL_RECOVERY_OK;
	if (ok) {
		snprintf(measured, sizeof measured, "%.3f s",
			 (double)rec->recovery_ns / 1e9);
		snprintf(msg, sizeof msg, "recovered in %.3f s (allowed %.2f s)",
			 (double)rec->recovery_ns / 1e9, within_s);
	} else {
		snprintf(measured, sizeof measured, "not recovered");
		recovery_failure(ctx, rec, within_s, msg, sizeof msg);
	}
	snprintf(allowed, sizeof allowed, "%.3f s", within_s);
	fl_ctx_expect(ctx, where, "recovery", ok, measured, allowed, msg);
	return ok;
}

void fl_expect_episode_failed(fl_ctx *ctx, const char *where, int index,
			      int count, const fl_recovery *rec,
			      double within_s)
{
	char msg[600], ep[700], allowed[32];
	recovery_failure(ctx, rec, within_s, msg, sizeof msg);
	snprintf(ep, sizeof ep, "episode %d of %d: %s", index, count, msg);
	snprintf(allowed, sizeof allowed, "%.3f s", within_s);
	fl_ctx_expect(ctx, where, "recovery", 0, "not recovered", allowed, ep);
}

void fl_expect_episodes_held(fl_ctx *ctx, const char *where, int count,
			     const fl_mttr *m, double within_s)
{
	char msg[200], measured[64], allowed[64];
	snprintf(msg, sizeof msg,
		 "%d episodes recovered: MTTR %.3f s (p95 %.3f s, max %.3f s, "
		 "allowed %.2f s)",
		 count, m->mean_s, m->p95_s, m->max_s, within_s);
	snprintf(measured, sizeof measured, "max %.3f s", m->max_s);
	snprintf(allowed, sizeof allowed, "%.3f s", within_s);
	fl_ctx_expect(ctx, where, "recovery", 1, measured, allowed, msg);
}

/* The survival failure of the processes but the first that a signal
 * faultline did not send killed, since the last time it was told: one
 * failure that names the first of them to end and counts the others, those the
 * tree no longer lists included ("target did not survive: gt pid 12
 * killed by SIGSEGV at 0.63 s"; "target did not survive: reaper pid 40
 * (reaped by pid 31) killed by SIGABRT at 0.12 s, and 49 more processes
 * crashed (50 in all)"). No stderr line: the processes share it, and
 * its last line may be another's. Returns how many it told of. */
static uint64_t members_survival(fl_ctx *ctx, fl_instance *in,
				 const char *where, const char *what)
{
	if (!in->sess || !in->sess->tree_ok)
		return 0;
	fl_instance_judge_ends(ctx, in);
	fl_session *s = in->sess;
	const fl_member *first = NULL;
	uint64_t n = 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->tree.n; i++) {
		fl_member *p = &s->tree.procs[i];
		if (!p->crashed || p->crash_reported)
			continue;
		p->crash_reported = 1;
		/* The first to crash: where a crash loop began. */
		if (!first || p->exit_ns < first->exit_ns)
			first = p;
		n++;
	}
	if (in->dropped_crashed > in->dropped_crashed_reported) {
		n += in->dropped_crashed - in->dropped_crashed_reported;
		in->dropped_crashed_reported = in->dropped_crashed;
	}
	if (!n) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	char desc[96], msg[700], head[300], reaper[48] = "";
	if (first) {
		fl_exit_info e = member_exit(first);
		fl_exit_describe(&e, desc, sizeof desc);
		if (first->end_from == FL_END_PARENT && first->reaper > 0)
			snprintf(reaper, sizeof reaper, " (reaped by pid %d)",
				 (int)first->reaper);
		snprintf(head, sizeof head, "%s pid %d%s %s at %.2f s",
			 first->comm[0] ? first->comm : "process of unknown name",
			 (int)first->pid, reaper, desc, (double)e.t_ns / 1e9);
	} else {
		/* Only processes the tree had dropped (it keeps a bounded
		 * number of those that are gone). */
		snprintf(desc, sizeof desc, "killed by a signal");
		snprintf(head, sizeof head,
			 "a process of its tree killed by a signal faultline "
			 "did not send");
	}
	pthread_mutex_unlock(&s->lock);
	if (n > 1)
		snprintf(msg, sizeof msg,
			 "target did not survive: %s, and %llu more process%s "
			 "crashed (%llu in all)",
			 head, (unsigned long long)(n - 1), n == 2 ? "" : "es",
			 (unsigned long long)n);
	else
		snprintf(msg, sizeof msg, "target did not survive: %s", head);
	fl_ctx_expect(ctx, where, what, 0, desc, "running", msg);
	return n;
}

void fl_expect_survival(fl_ctx *ctx)
{
	for (int i = 0; i < ctx->ninstances; i++) {
		fl_instance *in = ctx->instances[i];
		if (fl_instance_died_on_its_own(ctx, in)) {
			fl_exit_info e = fl_instance_exit(in);
			char desc[96], msg[512], line[256];
			fl_exit_describe(&e, desc, sizeof desc);
			fl_instance_last_stderr(in, line, sizeof line);
			snprintf(msg, sizeof msg,
				 "target did not survive: %s at %.2f s%s%s", desc,
				 (double)e.t_ns / 1e9,
				 line[0] ? "; last stderr line: " : "", line);
			fl_ctx_expect(ctx, NULL, "survival", 0, desc, "running",
				      msg);
		}
		members_survival(ctx, in, NULL, "survival");
	}
}

/* Why calls of a window's point did not fail, from what its options ask
 * and what the agent counted. */
static void unfired_reason(const fl_ctx *ctx, const fl_window *w, char *out,
			   size_t len)
{
	json_t *st = json_object_get(ctx->point_stats, w->spec.point);
	json_t *calls = json_object_get(st, "calls");
	if (w->instance >= ctx->ninstances) {
		snprintf(out, len, "it was opened for a start that never came");
		return;
	}
	/* Faults cannot reach a process without the agent. */
	fl_instance *in = ctx->instances[w->instance];
	if (!fl_faults_registered(&in->faults)) {
		snprintf(out, len,
			 "no faultline agent ever ran in the target (a static "
			 "or Go binary, or one that clears LD_PRELOAD)");
		return;
	}
	for (int i = 0; i < in->faults.nseen; i++) {
		const fl_proc_info *p = &in->faults.seen[i];
		if (p->pid == in->faults.root && p->now[0]) {
			snprintf(out, len,
				 "the target executed %s without the agent, so "
				 "no fault reached it (target.inherit = true "
				 "keeps the agent across exec)",
				 p->now);
			return;
		}
	}
	if (w->on_ns < 0) {
		if (w->spec.after_point[0])
			snprintf(out, len,
				 "it never opened: call %llu of %s%s%s never "
				 "came",
				 (unsigned long long)w->spec.after_n,
				 w->spec.after_point,
				 w->spec.after_actor[0] ? " by actor " : "",
				 w->spec.after_actor);
		else
			snprintf(out, len,
				 "it never opened: no line of output matched "
				 "its trigger");
		return;
	}
	if (!json_is_integer(calls)) {
		snprintf(out, len,
			 "the agent could not count its calls (the target "
			 "died)");
		return;
	}
	long long n = (long long)json_integer_value(calls);
	if (n == 0) {
		/* What it calls instead, if its imports say. */
		char similar[300] = "";
		fl_points_reach r;
		if (ctx->program && fl_points_reach_of(ctx->program, &r) == 0) {
			fl_points_similar_calls(&r, w->spec.point, similar,
						sizeof similar);
			fl_points_reach_free(&r);
		}
		snprintf(out, len,
			 "0 calls: the target never reached %s through a "
			 "wrapped call%s%s",
			 w->spec.point, similar[0] ? "; it calls " : "",
			 similar);
		return;
	}
	int k = snprintf(out, len, "%lld call%s, none failed", n,
			 n == 1 ? "" : "s");
	if (k < 0 || (size_t)k >= len)
		return;
	if (w->spec.actors[0])
		snprintf(out + k, len - (size_t)k,
			 ": none by an actor matching '%s'", w->spec.actors);
	else if (w->spec.nth[0])
		snprintf(out + k, len - (size_t)k,
			 ": none with a call number in '%s'", w->spec.nth);
	else if (w->spec.p < 1)
		snprintf(out + k, len - (size_t)k, " at p = %g (seed %llu)",
			 w->spec.p, (unsigned long long)ctx->cfg.seed);
}

void fl_expect_windows_fired(fl_ctx *ctx)
{
	/* Replay checks the faults it fired itself; a sweep's windows fail
	 * one site's call, or nothing, by design (cmd_sweep.c judges
	 * whether the site was reached). */
	if (ctx->replay || ctx->opts->sweep)
		return;
	for (int i = 0; i < ctx->nwindows; i++) {
		const fl_window *w = &ctx->windows[i];
		if (w->optional[0] || fl_windows_fired(ctx, w) > 0)
			continue;
		/* One expectation per point and run: the first window that
		 * did not fire speaks for the others. */
		int seen = 0, total = 0, unfired = 0;
		for (int j = 0; j < ctx->nwindows; j++) {
			const fl_window *x = &ctx->windows[j];
			if (x->instance != w->instance ||
			    strcmp(x->spec.point, w->spec.point) != 0 ||
			    x->optional[0])
				continue;
			total++;
			int none = fl_windows_fired(ctx, x) == 0;
			unfired += none;
			if (none && j < i)
				seen = 1;
		}
		if (seen)
			continue;
		char why[400], msg[800], measured[64], where[96] = "";
		unfired_reason(ctx, w, why, sizeof why);
		if (w->on_ns >= 0)
			snprintf(where, sizeof where, " (%.2f s to %.2f s)",
				 (double)w->on_ns / 1e9,
				 w->off_ns >= 0 ? (double)w->off_ns / 1e9 : -1.0);
		if (total > 1)
			snprintf(msg, sizeof msg,
				 "%d of %d fault windows on %s never fired: %s "
				 "(a scenario whose faults never fire tests "
				 "nothing; say optional = \"why\" if that is "
				 "fine)",
				 unfired, total, w->spec.point, why);
		else
			snprintf(msg, sizeof msg,
				 "fault window on %s%s never fired: %s (a "
				 "scenario whose faults never fire tests "
				 "nothing; say optional = \"why\" if that is "
				 "fine)",
				 w->spec.point, where, why);
		snprintf(measured, sizeof measured, "0 faults");
		fl_ctx_expect(ctx, NULL, "fault fired", 0, measured,
			      "at least 1", msg);
	}
}

void fl_expect_baseline_health(fl_ctx *ctx)
{
	if (!ctx->cfg.steady.health || !ctx->base.valid)
		return;
	/* The probes of the baseline window; without one there, the first
	 * after it. */
	size_t first = ctx->nhealth, n = 0, passed = 0;
	for (size_t i = 0; i < ctx->nhealth; i++) {
		const fl_health_result *h = &ctx->health_results[i];
		if (h->t_ns < ctx->base.from_ns)
			continue;
		if (h->t_ns > ctx->base.to_ns && n > 0)
			break;
		if (first == ctx->nhealth)
			first = i;
		n++;
		passed += h->ok != 0;
		if (h->t_ns > ctx->base.to_ns)
			break;
	}
	if (passed)
		return;
	char msg[600];
	if (n == 0)
		snprintf(msg, sizeof msg,
			 "the health probe never ran during or after the "
			 "baseline (%.2f s to %.2f s): the steady state it is "
			 "part of was never observed",
			 (double)ctx->base.from_ns / 1e9,
			 (double)ctx->base.to_ns / 1e9);
	else
		snprintf(msg, sizeof msg,
			 "the health probe never passed during the baseline "
			 "(%zu probe%s from %.2f s to %.2f s; first: %s): the "
			 "steady state it is part of was never observed",
			 n, n == 1 ? "" : "s", (double)ctx->base.from_ns / 1e9,
			 (double)ctx->base.to_ns / 1e9,
			 ctx->health_results[first].detail[0]
				 ? ctx->health_results[first].detail
				 : "failed");
	fl_ctx_expect(ctx, NULL, "baseline health", 0, "never passed",
		      "passes", msg);
}
