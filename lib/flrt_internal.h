/* What the runtime's files share and programs do not see: the waiter a
 * blocked channel operation or context wait parks on, the runtime's own
 * failure points, and the process-wide counters. */
#ifndef FLRT_INTERNAL_H
#define FLRT_INTERNAL_H

#include "flrt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* The runtime's points, declared in flrt_point.c (section "fl_points"), so
 * any binary that links one of its parts lists all three. */
extern const char flrt__point_panic[];
extern const char flrt__point_defer_panic[];
extern const char flrt__point_chan_send_block[];

/* Process-wide counters (flrt_stats_get). */
extern atomic_ulong flrt__panics, flrt__recovered, flrt__deferred,
	flrt__defer_panics, flrt__blocked_sends, flrt__stuck_sends,
	flrt__workers, flrt__workers_running;

/* The life of a waiter. A partner that finds it in a queue claims it
 * (WAITING -> CLAIMED) before touching its element, and then ends it
 * (DONE or CLOSED). The waiter itself gives up only from WAITING
 * (-> GAVE_UP), so exactly one side decides the outcome. */
enum flrt__wait_state {
	FLRT__WAITING,
	FLRT__CLAIMED,
	FLRT__DONE,
	FLRT__CLOSED,
	FLRT__GAVE_UP,
};

/* One blocked operation. It lives on the blocked thread's stack and is
 * linked into a channel queue (under the channel's lock) and into its
 * context's list (under the context's lock). Lock order: channel, then
 * waiter; context, then waiter; a waiter's thread never holds its own
 * waiter lock while taking another. */
struct flrt__waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int state;
	void *elem;			/* copied from (send) or into (recv) */
	struct flrt__waiter *next, *prev;	/* channel queue */
	int queued;			/* still in a channel queue */
	struct flrt_ctx *ctx;
	struct flrt__waiter *ctx_next, *ctx_prev;
};

/* Absolute CLOCK_MONOTONIC time timeout_ms from now. */
struct timespec flrt__deadline_in(long timeout_ms);
int flrt__time_reached(const struct timespec *deadline);

/* Prepares a waiter and registers it with ctx (may be NULL). Returns 0, or
 * ctx's error when it is already done (and nothing is registered). */
int flrt__waiter_init(struct flrt__waiter *w, struct flrt_ctx *ctx, void *elem);

/* Sleeps until a partner ends the waiter, ctx is done or deadline (NULL:
 * none) passes. Returns the final state; on GAVE_UP, *why is -ETIMEDOUT or
 * the context's error. Does not unlink the waiter from any queue. */
int flrt__waiter_park(struct flrt__waiter *w, const struct timespec *deadline, int *why);

/* Called by a partner holding the lock of the queue w is in: claims w.
 * Returns 1 when the partner now owns the outcome, 0 when w gave up. */
int flrt__waiter_claim(struct flrt__waiter *w);

/* Ends a claimed waiter with state (DONE or CLOSED) and wakes it. */
void flrt__waiter_finish(struct flrt__waiter *w, int state);

/* Unregisters from the context and releases the waiter's lock and
 * condition. The waiter must be out of every channel queue. */
void flrt__waiter_destroy(struct flrt__waiter *w);

/* The context's error, noticing a deadline that has passed. */
int flrt__ctx_err(struct flrt_ctx *ctx);

#endif
