/* The waiter: how a blocked channel operation or context wait sleeps and
 * is woken, without lost wake-ups and without allocating. */
#define _POSIX_C_SOURCE 200809L
#include "flrt_internal.h"

#include <errno.h>

struct timespec flrt__deadline_in(long timeout_ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

int flrt__time_reached(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static int earlier(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int flrt__waiter_init(struct flrt__waiter *w, struct flrt_ctx *ctx, void *elem)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&w->lock, NULL);
	atomic_init(&w->state, FLRT__WAITING);
	w->elem = elem;
	w->next = w->prev = NULL;
	w->queued = 0;
	w->ctx = NULL;
	w->ctx_next = w->ctx_prev = NULL;
	if (ctx == NULL)
		return 0;
	/* Checked under the context's lock: either the cancel came first and
	 * is seen here, or it comes later and finds the waiter in the list. */
	pthread_mutex_lock(&ctx->lock);
	int err = flrt__ctx_err(ctx);
	if (err == 0) {
		w->ctx = ctx;
		w->ctx_next = ctx->waiters;
		if (ctx->waiters != NULL)
			ctx->waiters->ctx_prev = w;
		ctx->waiters = w;
	}
	pthread_mutex_unlock(&ctx->lock);
	if (err != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
	return err;
}

/* The state and the context's error are read with the waiter's lock held,
 * and whoever changes them takes that lock before signalling, so a change
 * made after the check finds the waiter already asleep in the wait. */
int flrt__waiter_park(struct flrt__waiter *w, const struct timespec *deadline, int *why)
{
	struct timespec limit = { 0, 0 };
	int has_limit = deadline != NULL;
	if (has_limit)
		limit = *deadline;
	if (w->ctx != NULL && w->ctx->has_deadline &&
	    (!has_limit || earlier(&w->ctx->deadline, &limit))) {
		limit = w->ctx->deadline;
		has_limit = 1;
	}
	int state;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		state = atomic_load(&w->state);
		if (state == FLRT__DONE || state == FLRT__CLOSED)
			break;
		if (state == FLRT__WAITING) {
			int reason = w->ctx != NULL ? flrt__ctx_err(w->ctx) : 0;
			if (reason == 0 && has_limit && flrt__time_reached(&limit))
				reason = -ETIMEDOUT;
			if (reason != 0) {
				int expected = FLRT__WAITING;
				if (atomic_compare_exchange_strong(&w->state, &expected, FLRT__GAVE_UP)) {
					*why = reason;
					state = FLRT__GAVE_UP;
					break;
				}
				continue; /* A partner claimed it just now. */
			}
		}
		/* A claimed waiter waits without a limit: its partner is about
		 * to finish, and giving up is no longer possible. */
		if (state == FLRT__CLAIMED || !has_limit)
			pthread_cond_wait(&w->cond, &w->lock);
		else
			pthread_cond_timedwait(&w->cond, &w->lock, &limit);
	}
	pthread_mutex_unlock(&w->lock);
	return state;
}

int flrt__waiter_claim(struct flrt__waiter *w)
{
	int expected = FLRT__WAITING;
	return atomic_compare_exchange_strong(&w->state, &expected, FLRT__CLAIMED);
}

void flrt__waiter_finish(struct flrt__waiter *w, int state)
{
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->state, state);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void flrt__waiter_destroy(struct flrt__waiter *w)
{
	struct flrt_ctx *ctx = w->ctx;
	if (ctx != NULL) {
		pthread_mutex_lock(&ctx->lock);
		if (w->ctx_prev != NULL)
			w->ctx_prev->ctx_next = w->ctx_next;
		else
			ctx->waiters = w->ctx_next;
		if (w->ctx_next != NULL)
			w->ctx_next->ctx_prev = w->ctx_prev;
		pthread_mutex_unlock(&ctx->lock);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}
