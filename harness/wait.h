/* Waiting while the world goes on: while a script waits, output triggers
 * open their windows, health probes run on schedule, the OOM precursor is
 * noticed. Waits never raise a Lua error:
 * they return -ECANCELED when the run is aborting (watchdog, interrupt,
 * failed t:assert), so their callers can let go of what they hold before
 * fl_lua_check_abort raises. */
#ifndef FL_WAIT_H
#define FL_WAIT_H

#include "ctx.h"

/* What ends a wait early (fl_wait's return_on_news). */
enum {
	FL_WAIT_DEADLINE = 0,	/* only the deadline */
	FL_WAIT_SAMPLES = 1,	/* a new sample, or a line, exit or signal */
	FL_WAIT_EVENTS = 2,	/* a line a waiter matched, an exit, a signal */
};

/* Waits until deadline_ns (monotonic), or until the monitor has news of the
 * kind return_on_news asks for. The thread sleeps in between: a sample it
 * did not ask for does not wake it. 0, or -ECANCELED. */
int fl_wait(fl_ctx *ctx, int64_t deadline_ns, int return_on_news);

/* Waits for a line of the current run's output that contains text (or
 * matches it as a POSIX ERE). past: lines already captured count too.
 * 1 found (*line malloc'd), 0 timed out or the output ended, -EINVAL for a
 * bad regex (err says why), -ECANCELED, -ESRCH without a running target. */
int fl_wait_output(fl_ctx *ctx, const char *text, int streams, int regex,
		   int past, double timeout_s, char **line, char *err,
		   size_t errlen);
/* Waits for the current run to exit by itself: 1 exited, 0 timed out,
 * -ECANCELED, -ESRCH when it never started. */
int fl_wait_exit(fl_ctx *ctx, double timeout_s);
/* Waits until fds and threads have not changed for hold_s: 1, 0 when that
 * did not happen within within_s (or the target exited), -ECANCELED. */
int fl_wait_quiet(fl_ctx *ctx, double hold_s, double within_s);
/* Waits until the latest episode's recovery is decided (within_s < 0: no
 * bound but the scenario's deadline) and records it on the episode.
 * 0, -ENOENT no episode, -EBUSY its window is still open, -ENODATA no
 * baseline, -ECANCELED. */
int fl_wait_recovery(fl_ctx *ctx, double within_s, int64_t hold_ns,
		     fl_recovery *out);

#endif
