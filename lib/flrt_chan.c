/* Channels: a ring buffer plus queues of blocked senders and receivers,
 * in the manner of Go's. A blocked operation is a waiter on its own stack;
 * the partner that completes it copies the element directly to or from
 * the waiter, so an unbuffered send hands its value straight over. */
#define _POSIX_C_SOURCE 200809L
#include "flrt_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct queue {
	struct flrt__waiter *head, *tail;
};

struct flrt_chan {
	pthread_mutex_t lock;
	size_t elem_size, capacity, head, count;
	int closed;
	struct queue senders, receivers;
	/* Sends held by fl/chan/send/block: no receiver is ever paired with
	 * them; only a close, their timeout or their context ends them. */
	struct queue stuck;
	unsigned char *ring;
};

static void enqueue(struct queue *q, struct flrt__waiter *w)
{
	w->next = NULL;
	w->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	w->queued = 1;
}

static void unlink_waiter(struct queue *q, struct flrt__waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->next = w->prev = NULL;
	w->queued = 0;
}

/* The first waiter in q that has not given up, claimed and unlinked; NULL
 * when there is none. Waiters that gave up are unlinked on the way (they
 * unlink themselves too, if they get the lock first). */
static struct flrt__waiter *claim_first(struct queue *q)
{
	while (q->head != NULL) {
		struct flrt__waiter *w = q->head;
		unlink_waiter(q, w);
		if (flrt__waiter_claim(w))
			return w;
	}
	return NULL;
}

int flrt_chan_make(struct flrt_chan **out, size_t elem_size, size_t capacity)
{
	*out = NULL;
	if (elem_size == 0 || (capacity > 0 && elem_size > SIZE_MAX / capacity))
		return -EINVAL;
	struct flrt_chan *ch = calloc(1, sizeof *ch);
	if (ch == NULL)
		return -ENOMEM;
	if (capacity > 0 && (ch->ring = malloc(elem_size * capacity)) == NULL) {
		free(ch);
		return -ENOMEM;
	}
	int rc = pthread_mutex_init(&ch->lock, NULL);
	if (rc != 0) {
		free(ch->ring);
		free(ch);
		return -rc;
	}
	ch->elem_size = elem_size;
	ch->capacity = capacity;
	*out = ch;
	return 0;
}

int flrt_chan_free(struct flrt_chan *ch)
{
	if (ch == NULL)
		return 0;
	pthread_mutex_lock(&ch->lock);
	int busy = ch->senders.head != NULL || ch->receivers.head != NULL || ch->stuck.head != NULL;
	pthread_mutex_unlock(&ch->lock);
	if (busy)
		return -EBUSY;
	pthread_mutex_destroy(&ch->lock);
	free(ch->ring);
	free(ch);
	return 0;
}

static void wake_all(struct queue *q)
{
	struct flrt__waiter *w;
	while ((w = claim_first(q)) != NULL)
		flrt__waiter_finish(w, FLRT__CLOSED);
}

int flrt_chan_close(struct flrt_chan *ch)
{
	pthread_mutex_lock(&ch->lock);
	int was_closed = ch->closed;
	ch->closed = 1;
	wake_all(&ch->receivers);
	wake_all(&ch->senders);
	wake_all(&ch->stuck);
	pthread_mutex_unlock(&ch->lock);
	return was_closed ? -EPIPE : 0;
}

size_t flrt_chan_len(struct flrt_chan *ch)
{
	pthread_mutex_lock(&ch->lock);
	size_t n = ch->count;
	pthread_mutex_unlock(&ch->lock);
	return n;
}

static size_t queue_length(const struct queue *q)
{
	size_t n = 0;
	for (const struct flrt__waiter *w = q->head; w != NULL; w = w->next)
		n++;
	return n;
}

size_t flrt_chan_waiting(struct flrt_chan *ch)
{
	pthread_mutex_lock(&ch->lock);
	size_t n = queue_length(&ch->senders) + queue_length(&ch->receivers) +
		   queue_length(&ch->stuck);
	pthread_mutex_unlock(&ch->lock);
	return n;
}

/* Sleeps in a queue the channel lock was held to join; returns the
 * operation's result. Takes the lock again only to leave the queue after
 * giving up. */
static int block(struct flrt_chan *ch, struct queue *q, struct flrt__waiter *w,
		 const struct timespec *deadline)
{
	enqueue(q, w);
	pthread_mutex_unlock(&ch->lock);
	int why = 0, state = flrt__waiter_park(w, deadline, &why);
	if (state == FLRT__GAVE_UP) {
		pthread_mutex_lock(&ch->lock);
		if (w->queued)
			unlink_waiter(q, w);
		pthread_mutex_unlock(&ch->lock);
	}
	flrt__waiter_destroy(w);
	return state == FLRT__DONE ? 0 : state == FLRT__CLOSED ? -EPIPE : why;
}

enum { BLOCK, NONBLOCK };

static int chan_send(struct flrt_chan *ch, const void *elem, const struct timespec *deadline,
		     struct flrt_ctx *ctx, int mode)
{
	/* Asked before the lock: libfiu takes its own lock and calls the
	 * agent's decision function. A try-send never blocks, so the point
	 * does not apply to it. */
	int stuck = mode == BLOCK && flrt_fail(flrt__point_chan_send_block) != 0;
	struct flrt__waiter w;
	if (mode == BLOCK) {
		int err = flrt__waiter_init(&w, ctx, (void *)elem);
		if (err != 0)
			return err;
	}
	pthread_mutex_lock(&ch->lock);
	int rc = 0;
	if (ch->closed) {
		rc = -EPIPE;
	} else if (stuck) {
		atomic_fetch_add(&flrt__blocked_sends, 1);
		atomic_fetch_add(&flrt__stuck_sends, 1);
		rc = block(ch, &ch->stuck, &w, deadline); /* Unlocks. */
		atomic_fetch_sub(&flrt__stuck_sends, 1);
		return rc;
	} else {
		struct flrt__waiter *receiver = claim_first(&ch->receivers);
		if (receiver != NULL) {
			memcpy(receiver->elem, elem, ch->elem_size);
			flrt__waiter_finish(receiver, FLRT__DONE);
		} else if (ch->count < ch->capacity) {
			size_t tail = (ch->head + ch->count) % ch->capacity;
			memcpy(ch->ring + tail * ch->elem_size, elem, ch->elem_size);
			ch->count++;
		} else if (mode == NONBLOCK) {
			rc = -EAGAIN;
		} else {
			return block(ch, &ch->senders, &w, deadline); /* Unlocks. */
		}
	}
	pthread_mutex_unlock(&ch->lock);
	if (mode == BLOCK)
		flrt__waiter_destroy(&w);
	return rc;
}

static int chan_recv(struct flrt_chan *ch, void *elem, const struct timespec *deadline,
		     struct flrt_ctx *ctx, int mode)
{
	struct flrt__waiter w;
	if (mode == BLOCK) {
		int err = flrt__waiter_init(&w, ctx, elem);
		if (err != 0)
			return err;
	}
	pthread_mutex_lock(&ch->lock);
	int rc = 0;
	if (ch->count > 0) {
		memcpy(elem, ch->ring + ch->head * ch->elem_size, ch->elem_size);
		ch->head = (ch->head + 1) % ch->capacity;
		ch->count--;
		/* The slot just freed goes to the longest-waiting sender. */
		struct flrt__waiter *sender = claim_first(&ch->senders);
		if (sender != NULL) {
			size_t tail = (ch->head + ch->count) % ch->capacity;
			memcpy(ch->ring + tail * ch->elem_size, sender->elem, ch->elem_size);
			ch->count++;
			flrt__waiter_finish(sender, FLRT__DONE);
		}
	} else {
		struct flrt__waiter *sender = claim_first(&ch->senders);
		if (sender != NULL) {
			memcpy(elem, sender->elem, ch->elem_size);
			flrt__waiter_finish(sender, FLRT__DONE);
		} else if (ch->closed) {
			memset(elem, 0, ch->elem_size);
			rc = -EPIPE;
		} else if (mode == NONBLOCK) {
			rc = -EAGAIN;
		} else {
			rc = block(ch, &ch->receivers, &w, deadline); /* Unlocks. */
			if (rc == -EPIPE)
				memset(elem, 0, ch->elem_size);
			return rc;
		}
	}
	pthread_mutex_unlock(&ch->lock);
	if (mode == BLOCK)
		flrt__waiter_destroy(&w);
	return rc;
}

int flrt_chan_send(struct flrt_chan *ch, const void *elem)
{
	return chan_send(ch, elem, NULL, NULL, BLOCK);
}

int flrt_chan_send_timeout(struct flrt_chan *ch, const void *elem, long timeout_ms)
{
	struct timespec deadline = flrt__deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	return chan_send(ch, elem, &deadline, NULL, BLOCK);
}

int flrt_chan_send_ctx(struct flrt_chan *ch, const void *elem, struct flrt_ctx *ctx)
{
	return chan_send(ch, elem, NULL, ctx, BLOCK);
}

int flrt_chan_try_send(struct flrt_chan *ch, const void *elem)
{
	return chan_send(ch, elem, NULL, NULL, NONBLOCK);
}

int flrt_chan_recv(struct flrt_chan *ch, void *elem)
{
	return chan_recv(ch, elem, NULL, NULL, BLOCK);
}

int flrt_chan_recv_timeout(struct flrt_chan *ch, void *elem, long timeout_ms)
{
	struct timespec deadline = flrt__deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
	return chan_recv(ch, elem, &deadline, NULL, BLOCK);
}

int flrt_chan_recv_ctx(struct flrt_chan *ch, void *elem, struct flrt_ctx *ctx)
{
	return chan_recv(ch, elem, NULL, ctx, BLOCK);
}

int flrt_chan_try_recv(struct flrt_chan *ch, void *elem)
{
	return chan_recv(ch, elem, NULL, NULL, NONBLOCK);
}
