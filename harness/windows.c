#define _GNU_SOURCE
#include "windows.h"

#include "measure.h"
#include "progress.h"
#include "sweep.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Without t:settle(), the baseline is taken over at least this many
 * samples of the running target. */
#define AUTO_BASELINE_SAMPLES 5

/* A sweep given --points puts its own rules on those points for the whole
 * run: the script's windows then fail and record nothing. */
static int sweep_override(const fl_ctx *ctx)
{
	return ctx->opts->sweep && ctx->opts->sweep->npoints > 0;
}

/* Do the script's windows write rules into the region? Not in replay
 * (the recorded calls are on for the whole run) nor under a sweep's
 * --points. */
static int windows_write(const fl_ctx *ctx)
{
	return !ctx->replay && !sweep_override(ctx);
}

const char *fl_instance_point_name(const fl_instance *in, const fl_jentry *e)
{
	const char *name = fl_faults_slot_name(&in->faults, (int)e->slot);
	return name ? name : "?";
}

int fl_windows_any_open(const fl_ctx *ctx)
{
	for (int i = 0; i < ctx->nwindows; i++)
		if (ctx->windows[i].off_ns < 0)
			return 1;
	return 0;
}

int fl_windows_exact(const fl_window *w)
{
	/* Open from the first instruction: every call of every actor is
	 * under it, each decided by its own (actor, call number). It stays
	 * exact if it closes by call numbers or only at the stop; onetime
	 * (the first failure wins) only when one actor is named. */
	if (strcmp(w->trigger, "start") == 0)
		return w->spec.nth[0] || w->closed_at_stop ||
		       (w->spec.onetime && w->spec.actors[0] &&
			!strpbrk(w->spec.actors, "*?["));
	/* Opened at one actor's call, and failing only that actor's calls:
	 * other threads' calls at that moment depend on the interleaving. */
	if (strcmp(w->trigger, "calls") != 0 || !w->spec.after_actor[0] ||
	    strcmp(w->spec.actors, w->spec.after_actor) != 0)
		return 0;
	/* Closed by a count (onetime, nth) or only when the target
	 * stopped, never at a script moment that races its calls. */
	return w->spec.onetime || w->spec.nth[0] || w->closed_at_stop;
}

size_t fl_windows_fired(const fl_ctx *ctx, const fl_window *w)
{
	/* Armed for a start that never came: nothing fired. */
	if (w->instance >= ctx->ninstances)
		return 0;
	const fl_instance *in = ctx->instances[w->instance];
	if (!in->sess || w->on_ns < 0)
		return 0;
	/* A window opened now was applied by the agent between the request
	 * and its answer; one opened by a trigger at on_ns exactly. */
	int64_t from = strcmp(w->trigger, "time") == 0 ? w->sent_ns : w->on_ns;
	int64_t to = w->off_ns >= 0 ? w->off_ns : INT64_MAX;
	size_t n = 0;
	pthread_mutex_lock(&in->sess->lock);
	for (size_t i = 0; i < in->sess->njrecs; i++) {
		const fl_jentry *e = &in->sess->jrecs[i];
		if (e->kind == FL_JREC_FAULT && e->t_ns >= from && e->t_ns <= to &&
		    strcmp(fl_instance_point_name(in, e), w->spec.point) == 0)
			n++;
	}
	pthread_mutex_unlock(&in->sess->lock);
	return n;
}

fl_episode *fl_windows_last_episode(fl_ctx *ctx)
{
	return ctx->nepisodes ? &ctx->episodes[ctx->nepisodes - 1] : NULL;
}

/* A window opened while no other is open starts a new episode. */
static fl_episode *episode_for(fl_ctx *ctx, const char *point, int armed,
			       int64_t now)
{
	if (!fl_windows_any_open(ctx)) {
		ctx->episodes = fl_xrealloc(ctx->episodes,
					    (size_t)(ctx->nepisodes + 1) *
						    sizeof *ctx->episodes);
		fl_episode *e = &ctx->episodes[ctx->nepisodes++];
		memset(e, 0, sizeof *e);
		e->on_ns = armed ? -1 : now;
		e->off_ns = -1;
		e->within_s = -1;
	}
	fl_episode *e = &ctx->episodes[ctx->nepisodes - 1];
	size_t pl = strlen(e->points);
	if (!strstr(e->points, point))
		snprintf(e->points + pl, sizeof e->points - pl, "%s%s",
			 pl ? ", " : "", point);
	return e;
}

/* Processes of the target that executed a program without the agent are
 * out of a window's reach: say so. */
static void note_executed(fl_ctx *ctx, fl_instance *in)
{
	fl_proc_info *procs;
	int n = fl_faults_procs(&in->faults, &procs);
	for (int i = 0; i < n; i++)
		if (procs[i].state == FL_PROC_EXECUTED)
			fl_ctx_log(ctx,
				   "note: process %d (actor %s) executed %s "
				   "without the agent: no fault reaches it "
				   "(target.inherit = true keeps the agent "
				   "across exec)",
				   (int)procs[i].pid, procs[i].actor,
				   procs[i].now[0] ? procs[i].now : "a program");
	free(procs);
}

static void log_open(fl_ctx *ctx, const fl_fault_spec *spec,
		     const fl_output_trigger *out, int armed)
{
	const char *en = spec->err ? fl_errno_name(spec->err) : NULL;
	fl_ctx_log(ctx, "fault %s: %s p=%g%s%s%s%s%s%s%s", armed ? "armed" : "on",
		   spec->point, spec->p, spec->err ? " errno=" : "",
		   en ? en : (spec->err ? "?" : ""),
		   spec->onetime ? " onetime" : "", spec->nth[0] ? " nth=" : "",
		   spec->nth, spec->actors[0] ? " actors=" : "", spec->actors);
	if (out && out->text)
		fl_ctx_log(ctx, "armed: on a line with '%s'", out->text);
	else if (spec->after_point[0])
		fl_ctx_log(ctx, "armed: after call %llu of %s%s%s",
			   (unsigned long long)spec->after_n, spec->after_point,
			   spec->after_actor[0] ? " by " : "",
			   spec->after_actor);
}

int fl_windows_open(fl_ctx *ctx, const fl_fault_spec *spec,
		    const fl_output_trigger *out, const char *optional,
		    char *err, size_t errlen)
{
	fl_instance *in = ctx->inst;
	/* Before the target runs, the window is written into the region of
	 * its next start, before its first instruction (batch jobs, start-up
	 * paths). */
	int before_start = !in || !in->running;
	if (before_start && out && out->text) {
		snprintf(err, errlen, "on_output needs a running target: start "
				      "it first");
		return -ESRCH;
	}
	if (!before_start && !fl_ctx_target_live(ctx)) {
		snprintf(err, errlen, "no running target to inject faults into");
		return -ESRCH;
	}
	if (!before_start && !ctx->base.valid) {
		/* Faults without a settled baseline: take it over what was
		 * seen since the target became ready (never its start-up). */
		if (fl_measure_baseline(ctx, in->ready_ns, AUTO_BASELINE_SAMPLES,
					err, errlen) < 0)
			return -ENODATA;
		fl_ctx_log(ctx, "(baseline taken automatically before the "
				"first fault; call t:settle() to choose it)");
	}
	int64_t sent = before_start ? 0 : fl_session_now(in->sess);
	fl_waiter *waiter = NULL;
	if (out && out->text) {
		/* Opened by the monitor's sighting of the line, not now. */
		waiter = fl_xcalloc(1, sizeof *waiter);
		if (fl_session_add_waiter(in->sess, waiter, out->streams,
					  out->text, out->regex, err,
					  errlen) < 0) {
			free(waiter);
			return -EINVAL;
		}
	} else if (windows_write(ctx) && !before_start) {
		/* In replay the recorded calls are on for the whole run. */
		int r = fl_faults_enable(&in->faults, spec, err, errlen,
					 FL_AGENT_TIMEOUT_MS);
		if (r < 0)
			return r;
	}
	int armed = waiter || spec->after_point[0];
	int64_t now = before_start ? 0 : fl_session_now(in->sess);
	episode_for(ctx, spec->point, armed, now);
	ctx->windows = fl_xrealloc(ctx->windows, (size_t)(ctx->nwindows + 1) *
							 sizeof *ctx->windows);
	fl_window *w = &ctx->windows[ctx->nwindows++];
	memset(w, 0, sizeof *w);
	w->spec = *spec;
	w->on_ns = armed ? -1 : now;
	w->off_ns = -1;
	w->episode = ctx->nepisodes - 1;
	w->instance = before_start ? ctx->ninstances : ctx->ninstances - 1;
	w->waiter = waiter;
	w->sent_ns = sent;
	if (optional)
		snprintf(w->optional, sizeof w->optional, "%s", optional);
	snprintf(w->trigger, sizeof w->trigger, "%s",
		 waiter			  ? "output"
		 : spec->after_point[0] ? "calls"
		 : before_start		  ? "start"
					  : "time");
	log_open(ctx, spec, out, armed);
	if (!before_start)
		fl_progress_phase(FL_PHASE_FAULTS);
	if (before_start)
		fl_ctx_log(ctx, "(from the first instruction of the next start)");
	else
		note_executed(ctx, in);
	return 0;
}

int fl_windows_arm_start(fl_ctx *ctx, fl_instance *in, char *err,
			 size_t errlen)
{
	if (!windows_write(ctx))
		return 0;
	for (int i = 0; i < ctx->nwindows; i++) {
		fl_window *w = &ctx->windows[i];
		if (w->instance != ctx->ninstances - 1 || w->off_ns >= 0)
			continue;
		int r = fl_faults_enable(&in->faults, &w->spec, err, errlen,
					 FL_AGENT_TIMEOUT_MS);
		if (r < 0)
			return r;
	}
	return 0;
}

static void drop_waiter(fl_ctx *ctx, fl_window *w)
{
	if (!w->waiter)
		return;
	fl_session_remove_waiter(ctx->instances[w->instance]->sess, w->waiter);
	free(w->waiter);
	w->waiter = NULL;
}

int fl_windows_close(fl_ctx *ctx, const char *point, char *err, size_t errlen)
{
	fl_instance *in = ctx->inst;
	int r = 0;
	/* A sweep's --points end when the target is stopped, as the
	 * windows do. */
	if (fl_ctx_target_live(ctx) &&
	    (windows_write(ctx) || (ctx->stopping && sweep_override(ctx))))
		r = fl_faults_disable(&in->faults, point, err, errlen,
				      FL_AGENT_TIMEOUT_MS);
	/* A trigger that fired since the last look opened its window before
	 * this moment. */
	fl_windows_poll(ctx);
	int64_t now = fl_ctx_now(ctx);
	int still_open = 0, closed = 0;
	for (int i = 0; i < ctx->nwindows; i++) {
		fl_window *w = &ctx->windows[i];
		if (w->off_ns >= 0)
			continue;
		if (!point || strcmp(point, "*") == 0 ||
		    strcmp(point, w->spec.point) == 0) {
			drop_waiter(ctx, w);
			w->off_ns = now;
			w->closed_at_stop = ctx->stopping;
			closed++;
			fl_ctx_log(ctx, "fault off: %s", w->spec.point);
		} else {
			still_open = 1;
		}
	}
	fl_episode *e = fl_windows_last_episode(ctx);
	if (closed && !still_open && e && e->off_ns < 0)
		e->off_ns = now;
	if (closed && !still_open && !ctx->stopping)
		fl_progress_phase(FL_PHASE_RUNNING);
	return r;
}

/* An output trigger whose line arrived: the window opens now. */
static void poll_output(fl_ctx *ctx, fl_window *w)
{
	fl_instance *in = ctx->instances[w->instance];
	pthread_mutex_lock(&in->sess->lock);
	int matched = w->waiter->matched;
	int64_t at = w->waiter->t_ns;
	pthread_mutex_unlock(&in->sess->lock);
	if (!matched || !in->running)
		return;
	drop_waiter(ctx, w);
	char err[256];
	if (windows_write(ctx) &&
	    fl_faults_enable(&in->faults, &w->spec, err, sizeof err,
			     FL_AGENT_TIMEOUT_MS) < 0) {
		fl_ctx_log(ctx, "output trigger: %s", err);
		return;
	}
	w->on_ns = fl_session_now(in->sess);
	fl_episode *e = w->episode >= 0 ? &ctx->episodes[w->episode] : NULL;
	if (e && e->on_ns < 0)
		e->on_ns = w->on_ns;
	fl_ctx_log(ctx, "fault on: %s (the line arrived at %.3f s)",
		   w->spec.point, (double)at / 1e9);
}

/* Windows the agent opened itself, after a number of calls: the journal
 * records the moment. */
static void poll_calls(fl_ctx *ctx, int k)
{
	fl_instance *in = ctx->instances[k];
	pthread_mutex_lock(&in->sess->lock);
	for (; in->jseen < in->sess->njrecs; in->jseen++) {
		const fl_jentry *e = &in->sess->jrecs[in->jseen];
		if (e->kind != FL_JREC_WINDOW)
			continue;
		const char *point = fl_instance_point_name(in, e);
		for (int i = 0; i < ctx->nwindows; i++) {
			fl_window *w = &ctx->windows[i];
			if (w->instance != k || w->on_ns >= 0 ||
			    strcmp(w->trigger, "calls") != 0 ||
			    strcmp(w->spec.point, point) != 0)
				continue;
			w->on_ns = e->t_ns;
			if (w->episode >= 0 &&
			    ctx->episodes[w->episode].on_ns < 0)
				ctx->episodes[w->episode].on_ns = e->t_ns;
			fl_ctx_log(ctx,
				   "fault on: %s (after call %llu of %s by "
				   "actor %s)",
				   w->spec.point,
				   (unsigned long long)w->spec.after_n,
				   w->spec.after_point, e->actor);
		}
	}
	pthread_mutex_unlock(&in->sess->lock);
}

void fl_windows_poll(fl_ctx *ctx)
{
	for (int i = 0; i < ctx->nwindows; i++) {
		fl_window *w = &ctx->windows[i];
		if (w->on_ns >= 0 || w->off_ns >= 0 || !w->waiter)
			continue;
		if (w->instance < ctx->ninstances &&
		    ctx->instances[w->instance]->sess)
			poll_output(ctx, w);
	}
	for (int k = 0; k < ctx->ninstances; k++)
		if (ctx->instances[k]->sess)
			poll_calls(ctx, k);
}

/* Faults journaled so far in every run of the target. */
static uint64_t replay_fired(fl_ctx *ctx)
{
	uint64_t n = 0;
	for (int k = 0; k < ctx->ninstances; k++) {
		fl_session *s = ctx->instances[k]->sess;
		if (!s)
			continue;
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->njrecs; i++)
			n += s->jrecs[i].kind == FL_JREC_FAULT;
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

#define REPLAY_STALL_NS (2 * FL_NS_PER_SEC)
#define REPLAY_WAIT_NS (15 * FL_NS_PER_SEC)

void fl_windows_replay_settle(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	if (!ctx->replay || !in || !in->sess || !fl_ctx_target_live(ctx))
		return;
	uint64_t want = 0;
	for (size_t i = 0; i < ctx->nreplay; i++)
		want += ctx->replay[i].count > 1 ? ctx->replay[i].count : 1;
	int64_t start = fl_now_ns(), moved = start;
	uint64_t seen = replay_fired(ctx);
	int64_t give_up = start + REPLAY_WAIT_NS;
	if (ctx->host.deadline_ns && ctx->host.deadline_ns < give_up)
		give_up = ctx->host.deadline_ns;
	while (seen < want && fl_ctx_target_live(ctx)) {
		int64_t now = fl_now_ns();
		if (now >= give_up || now - moved >= REPLAY_STALL_NS)
			break;
		/* A sample drains the journal. */
		fl_session_want_sample(in->sess);
		fl_session_wait(in->sess, now + 10 * in->sess->period_ns, -1);
		uint64_t n = replay_fired(ctx);
		if (n > seen)
			moved = fl_now_ns();
		seen = n;
	}
	if (fl_now_ns() - start >= FL_NS_PER_SEC / 10)
		fl_ctx_log(ctx, "replay: waited %.2f s for the recorded faults "
				"(%llu of %llu fired)",
			   (double)(fl_now_ns() - start) / 1e9,
			   (unsigned long long)seen, (unsigned long long)want);
}

int fl_windows_load_replay(fl_ctx *ctx, fl_instance *in, char *err,
			   size_t errlen)
{
	size_t i = 0;
	while (i < ctx->nreplay) {
		const char *point = ctx->replay[i].point;
		fl_buf lines;
		fl_buf_init(&lines);
		size_t j = i;
		for (; j < ctx->nreplay && !strcmp(ctx->replay[j].point, point); j++)
			fl_buf_printf(&lines, "%s %llu %d\n", ctx->replay[j].actor,
				      (unsigned long long)ctx->replay[j].n,
				      ctx->replay[j].err);
		int r = fl_faults_replay(&in->faults, point, lines.data, err,
					 errlen, FL_AGENT_TIMEOUT_MS);
		fl_buf_free(&lines);
		if (r < 0)
			return r;
		fl_fault_spec spec;
		memset(&spec, 0, sizeof spec);
		snprintf(spec.point, sizeof spec.point, "%s", point);
		spec.p = 1;
		spec.failnum = 1;
		spec.replay = 1;
		r = fl_faults_enable(&in->faults, &spec, err, errlen,
				     FL_AGENT_TIMEOUT_MS);
		if (r < 0)
			return r;
		i = j;
	}
	fl_ctx_log(ctx, "replay: %zu recorded faults loaded", ctx->nreplay);
	return 0;
}

int fl_windows_arm_sweep(fl_ctx *ctx, fl_instance *in, char *err,
			 size_t errlen)
{
	const fl_sweep_opts *sw = ctx->opts->sweep;
	for (int i = 0; sw && i < sw->npoints; i++) {
		fl_fault_spec spec;
		memset(&spec, 0, sizeof spec);
		snprintf(spec.point, sizeof spec.point, "%s", sw->points[i]);
		spec.p = 1;
		spec.failnum = 1;
		int r = fl_faults_enable(&in->faults, &spec, err, errlen,
					 FL_AGENT_TIMEOUT_MS);
		if (r < 0)
			return r;
	}
	if (sw && sw->npoints)
		fl_ctx_log(ctx, "sweep: %s on %d point pattern(s) from the first "
				"instruction to the stop",
			   sw->mode == FL_SWEEP_RECORD ? "recording sites"
						       : "one site's call",
			   sw->npoints);
	return 0;
}

static int window_names(const fl_ctx *ctx, const char *point)
{
	for (int w = 0; w < ctx->nwindows; w++)
		if (strcmp(ctx->windows[w].spec.point, point) == 0)
			return 1;
	return 0;
}

void fl_windows_collect_stats(fl_ctx *ctx, fl_instance *in)
{
	fl_point_stats *ps;
	char err[256];
	int n = fl_faults_stats(&in->faults, &ps, err, sizeof err, 500);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		/* Every known point is counted; the report shows those the
		 * scenario touched. */
		if (!ps[i].calls && !ps[i].fired && !ps[i].active &&
		    !window_names(ctx, ps[i].point))
			continue;
		json_t *o = json_object_get(ctx->point_stats, ps[i].point);
		if (!o) {
			o = json_pack("{s:I,s:I}", "calls", (json_int_t)0,
				      "fired", (json_int_t)0);
			json_object_set_new(ctx->point_stats, ps[i].point, o);
		}
		json_object_set_new(
			o, "calls",
			json_integer(json_integer_value(json_object_get(o, "calls")) +
				     (json_int_t)ps[i].calls));
		json_object_set_new(
			o, "fired",
			json_integer(json_integer_value(json_object_get(o, "fired")) +
				     (json_int_t)ps[i].fired));
	}
	free(ps);
}

int fl_windows_stats(fl_ctx *ctx, fl_point_stats **out, char *err,
		     size_t errlen)
{
	if (!fl_ctx_target_live(ctx)) {
		snprintf(err, errlen, "the target is not running");
		return -ESRCH;
	}
	return fl_faults_stats(&ctx->inst->faults, out, err, errlen,
			       FL_AGENT_TIMEOUT_MS);
}

int fl_windows_set_close_mode(fl_ctx *ctx, const char *mode, char *err,
			      size_t errlen)
{
	if (!fl_ctx_target_live(ctx)) {
		snprintf(err, errlen, "the target is not running");
		return -ESRCH;
	}
	return fl_faults_set_close(&ctx->inst->faults, mode, err, errlen,
				   FL_AGENT_TIMEOUT_MS);
}
