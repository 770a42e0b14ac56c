/* Contexts: a done flag with a reason, a deadline, and a tree of children
 * that are done when their parent is. No timer thread: a deadline is
 * noticed by whoever looks (waiters sleep until the earliest deadline that
 * applies to them). */
#define _POSIX_C_SOURCE 200809L
#include "flrt_internal.h"

#include <errno.h>

static int earlier(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int flrt__ctx_err(struct flrt_ctx *ctx)
{
	int err = __atomic_load_n(&ctx->err, __ATOMIC_SEQ_CST);
	if (err != 0 || !ctx->has_deadline || !flrt__time_reached(&ctx->deadline))
		return err;
	int expected = 0;
	__atomic_compare_exchange_n(&ctx->err, &expected, -ETIMEDOUT, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return __atomic_load_n(&ctx->err, __ATOMIC_SEQ_CST);
}

int flrt_ctx_init(struct flrt_ctx *ctx, struct flrt_ctx *parent, long timeout_ms)
{
	int rc = pthread_mutex_init(&ctx->lock, NULL);
	if (rc != 0)
		return -rc;
	ctx->parent = parent;
	ctx->children = ctx->next = ctx->prev = NULL;
	ctx->waiters = NULL;
	ctx->err = 0;
	ctx->has_deadline = timeout_ms >= 0;
	if (ctx->has_deadline)
		ctx->deadline = flrt__deadline_in(timeout_ms);
	if (parent == NULL)
		return 0;
	pthread_mutex_lock(&parent->lock);
	if (parent->has_deadline && (!ctx->has_deadline || earlier(&parent->deadline, &ctx->deadline))) {
		ctx->deadline = parent->deadline;
		ctx->has_deadline = 1;
	}
	ctx->err = flrt__ctx_err(parent);
	ctx->next = parent->children;
	if (parent->children != NULL)
		parent->children->prev = ctx;
	parent->children = ctx;
	pthread_mutex_unlock(&parent->lock);
	return 0;
}

/* Lock order: a context before its children, and a context before its
 * waiters. */
static void cancel_with(struct flrt_ctx *ctx, int err)
{
	pthread_mutex_lock(&ctx->lock);
	int expected = 0;
	__atomic_compare_exchange_n(&ctx->err, &expected, err, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	for (struct flrt__waiter *w = ctx->waiters; w != NULL; w = w->ctx_next) {
		pthread_mutex_lock(&w->lock);
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	for (struct flrt_ctx *child = ctx->children; child != NULL; child = child->next)
		cancel_with(child, __atomic_load_n(&ctx->err, __ATOMIC_SEQ_CST));
	pthread_mutex_unlock(&ctx->lock);
}

void flrt_ctx_cancel(struct flrt_ctx *ctx)
{
	cancel_with(ctx, -ECANCELED);
}

int flrt_ctx_err(struct flrt_ctx *ctx)
{
	return flrt__ctx_err(ctx);
}

int flrt_ctx_wait(struct flrt_ctx *ctx, long timeout_ms)
{
	struct flrt__waiter w;
	int err = flrt__waiter_init(&w, ctx, NULL);
	if (err != 0)
		return err;
	struct timespec deadline = flrt__deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	int why = 0;
	flrt__waiter_park(&w, timeout_ms < 0 ? NULL : &deadline, &why);
	flrt__waiter_destroy(&w);
	/* Nobody claims a context waiter: it always gives up, either because
	 * the context is done or because its own time ran out. */
	return flrt__ctx_err(ctx);
}

void flrt_ctx_destroy(struct flrt_ctx *ctx)
{
	flrt_ctx_cancel(ctx);
	struct flrt_ctx *parent = ctx->parent;
	if (parent != NULL) {
		pthread_mutex_lock(&parent->lock);
		if (ctx->prev != NULL)
			ctx->prev->next = ctx->next;
		else
			parent->children = ctx->next;
		if (ctx->next != NULL)
			ctx->next->prev = ctx->prev;
		pthread_mutex_unlock(&parent->lock);
	}
	pthread_mutex_destroy(&ctx->lock);
}
