#define _GNU_SOURCE
#include "wait.h"

#include "health.h"
#include "instance.h"
#include "measure.h"
#include "progress.h"
#include "util.h"
#include "windows.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Signals wake every session (the monitor), the watchdog's deadline and
 * the probes' are wake-up times: this is only a safety net. */
#define WAKE_MAX_NS (1000 * FL_NS_PER_MS)
/* Recovery is looked at again at least this often. */
#define RECOVERY_POLL_NS (20 * FL_NS_PER_MS)

static int aborting(fl_ctx *ctx)
{
	return fl_lua_abort_due(&ctx->host) != FL_ABORT_NONE;
}

/* The faults fired so far, for the live line on a terminal. */
static void show_faults(fl_ctx *ctx)
{
	uint64_t n = 0;
	for (int i = 0; i < ctx->ninstances; i++) {
		fl_session *s = ctx->instances[i]->sess;
		if (!s)
			continue;
		pthread_mutex_lock(&s->lock);
		n += s->njrecs;
		pthread_mutex_unlock(&s->lock);
	}
	fl_progress_faults(n);
}

int fl_wait(fl_ctx *ctx, int64_t deadline_ns, int return_on_news)
{
	for (;;) {
		if (aborting(ctx))
			return -ECANCELED;
		fl_measure_poll(ctx);
		fl_windows_poll(ctx);
		show_faults(ctx);
		int64_t now = fl_now_ns();
		if (now >= deadline_ns)
			return 0;
		if (fl_health_tick(ctx))
			continue;
		int64_t wake = deadline_ns;
		int64_t probe = fl_health_next_due(ctx);
		if (probe < wake)
			wake = probe;
		if (ctx->host.deadline_ns &&
		    ctx->host.deadline_ns + FL_NS_PER_MS < wake)
			wake = ctx->host.deadline_ns + FL_NS_PER_MS;
		if (wake > now + WAKE_MAX_NS)
			wake = now + WAKE_MAX_NS;
		fl_instance *in = ctx->inst;
		if (in && in->sess) {
			if (return_on_news == FL_WAIT_SAMPLES)
				fl_session_want_sample(in->sess);
			int news = fl_session_wait(in->sess, wake, -1);
			if (news && return_on_news)
				return 0;
		} else {
			int64_t left = wake - fl_now_ns();
			if (left > 0) {
				struct timespec ts = {left / FL_NS_PER_SEC,
						      left % FL_NS_PER_SEC};
				nanosleep(&ts, NULL);
			}
		}
	}
}

/* The first line of the captured output that the waiter would match. */
static char *find_in_tail(fl_session *sess, const fl_waiter *w)
{
	static const int streams[2] = {FL_STDOUT, FL_STDERR};
	for (int k = 0; k < 2; k++) {
		if (!(w->streams & streams[k]))
			continue;
		char *tail = fl_stream_tail(sess, streams[k], NULL);
		char *save = NULL;
		for (char *line = strtok_r(tail, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			int hit = w->is_regex
					  ? regexec(&w->re, line, 0, NULL, 0) == 0
					  : strstr(line, w->text) != NULL;
			if (hit) {
				char *copy = fl_xstrdup(line);
				free(tail);
				return copy;
			}
		}
		free(tail);
	}
	return NULL;
}

int fl_wait_output(fl_ctx *ctx, const char *text, int streams, int regex,
		   int past, double timeout_s, char **line, char *err,
		   size_t errlen)
{
	*line = NULL;
	if (!fl_ctx_target_live(ctx)) {
		snprintf(err, errlen, "the target is not running");
		return -ESRCH;
	}
	fl_session *s = ctx->inst->sess;
	/* The waiter lives on the heap and is unlinked on every way out,
	 * so the monitor never holds a pointer into a dead stack frame. */
	fl_waiter *w = fl_xcalloc(1, sizeof *w);
	if (fl_session_add_waiter(s, w, streams, text, regex, err, errlen) < 0) {
		free(w);
		return -EINVAL;
	}
	int r = 0;
	if (past)
		*line = find_in_tail(s, w);
	int64_t deadline = fl_now_ns() + (int64_t)(timeout_s * 1e9);
	while (!*line) {
		pthread_mutex_lock(&s->lock);
		int matched = w->matched;
		int ended = s->exit.exited && s->out.eof && s->err.eof;
		if (matched)
			*line = fl_xstrdup(w->line);
		pthread_mutex_unlock(&s->lock);
		if (matched || ended || fl_now_ns() >= deadline)
			break;
		if (fl_wait(ctx, deadline, FL_WAIT_EVENTS) < 0) {
			r = -ECANCELED;
			break;
		}
	}
	fl_session_remove_waiter(s, w);
	free(w);
	if (r < 0) {
		free(*line);
		*line = NULL;
		return r;
	}
	return *line ? 1 : 0;
}

int fl_wait_exit(fl_ctx *ctx, double timeout_s)
{
	fl_instance *in = ctx->inst;
	if (!in || !in->sess)
		return -ESRCH;
	int64_t deadline = fl_now_ns() + (int64_t)(timeout_s * 1e9);
	while (!fl_instance_exit(in).exited && fl_now_ns() < deadline)
		if (fl_wait(ctx, deadline, FL_WAIT_EVENTS) < 0)
			return -ECANCELED;
	return fl_instance_exit(in).exited;
}

int fl_wait_quiet(fl_ctx *ctx, double hold_s, double within_s)
{
	int64_t deadline = fl_now_ns() + (int64_t)(within_s * 1e9);
	int64_t hold_ns = (int64_t)(hold_s * 1e9);
	for (;;) {
		if (fl_measure_quiet_for(ctx, hold_ns))
			return 1;
		if (!fl_ctx_target_live(ctx) || fl_now_ns() >= deadline)
			return 0;
		if (fl_wait(ctx, deadline, FL_WAIT_SAMPLES) < 0)
			return -ECANCELED;
	}
}

int fl_wait_recovery(fl_ctx *ctx, double within_s, int64_t hold_ns,
		     fl_recovery *out)
{
	memset(out, 0, sizeof *out);
	fl_episode *e = fl_windows_last_episode(ctx);
	if (!e)
		return -ENOENT;
	if (e->off_ns < 0)
		return -EBUSY;
	if (!ctx->base.valid)
		return -ENODATA;
	int64_t within_ns = within_s >= 0 ? (int64_t)(within_s * 1e9) : -1;
	fl_progress_phase(FL_PHASE_RECOVERY);
	/* Health is part of the steady state: probe back to back until it
	 * passes, so the moment it came back is known to one probe's round
	 * trip, whatever the scenario's probe interval. */
	if (ctx->cfg.steady.health && fl_ctx_target_live(ctx)) {
		int64_t origin = ctx->inst->sess->child.start_ns;
		int64_t deadline = within_ns >= 0
					   ? origin + e->off_ns + within_ns
					   : ctx->host.deadline_ns;
		if (fl_health_until_ok(ctx, deadline) == -ECANCELED)
			return -ECANCELED;
	}
	/* Without a bound, wait at most until the scenario's deadline. */
	for (;;) {
		fl_measure_recovery(ctx, e, within_ns, hold_ns, out);
		if (out->state != FL_RECOVERY_PENDING)
			break;
		if (!fl_ctx_target_live(ctx)) {
			out->state = FL_RECOVERY_FAILED;
			snprintf(out->why, sizeof out->why,
				 "the target exited before it recovered");
			break;
		}
		if (fl_wait(ctx, fl_now_ns() + RECOVERY_POLL_NS, FL_WAIT_SAMPLES) <
		    0)
			return -ECANCELED;
	}
	e->rec = *out;
	e->judged = 1;
	e->within_s = within_s;
	fl_progress_phase(fl_windows_any_open(ctx) ? FL_PHASE_FAULTS
						   : FL_PHASE_RUNNING);
	return 0;
}
