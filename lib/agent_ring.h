/* The fault journal's ring (lib/agent_proto.h has its header and
 * records): how a thread of the target appends a fired fault, and how the
 * harness gives the room back. Shared by lib/agent.c (the writers) and
 * harness/journal.c (the one reader), so both sides of the protocol live
 * in one place, and the unit tests run the writers' code itself.
 *
 * Nothing is lost by design. A writer that finds the ring full waits for
 * the harness to drain it (backpressure) instead of dropping the record:
 * it rings the doorbell (a futex word the harness's drainer sleeps on)
 * and sleeps on the drained word, which the harness bumps and wakes after
 * every drain that made room. The wait is bounded (the header's wait_ns,
 * 10 s unless a test asks otherwise), so a harness that is gone or
 * stopped never hangs the target: a writer whose wait runs out counts its
 * record in lost and marks the ring stalled, and until the harness drains
 * again no other writer waits (each counts its record lost at once). The
 * harness reads lost and fails the run closed (ERROR) when it is not 0.
 *
 * Every part is a futex or an atomic in the shared region: it works the
 * same in every process of the target's tree (the futexes are not
 * private: their key is the memfd's page, whoever maps it), it takes no
 * lock, allocates nothing, and calls only async-signal-safe system calls
 * (clock_gettime, futex), so a fault fired inside a signal handler is
 * journaled like any other.
 */
#ifndef FL_AGENT_RING_H
#define FL_AGENT_RING_H

#include "agent_proto.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A sleeping writer looks again at least this often: a wake-up that went
 * astray costs this long, never the whole bound. */
#define FL_RING_SLICE_NS (100 * 1000000LL)

static inline int64_t fl_ring_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* FUTEX_WAIT for at most timeout_ns (relative; < 0: no limit), or
 * FUTEX_WAKE. errno is kept: the target's call has not been made yet, and
 * a window's record is written in a call that does not fail. */
static inline long fl_ring_futex(_Atomic uint32_t *word, int op, uint32_t val,
				 int64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
		ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
		tp = &ts;
	}
	int saved = errno;
	long r = syscall(SYS_futex, (uint32_t *)word, op, val, tp, NULL, 0);
	errno = saved;
	return r;
}

/* Wakes the harness's drainer. */
static inline void fl_ring_doorbell(fl_journal_hdr *j)
{
	atomic_fetch_add(&j->doorbell, 1);
	fl_ring_futex(&j->doorbell, FUTEX_WAKE, 1, -1);
}

/* Claims the next record for the caller to fill and publish
 * (fl_ring_publish). 1 with *idx; 0 when the ring stayed full for the
 * whole bound, or may_wait is 0 and it is full (the record is counted in
 * lost). waiting, if not NULL, is called with 1 before each sleep and 0
 * after it (the agent lets the calls of a signal handler that runs
 * meanwhile be decided as usual). */
static inline int fl_ring_claim(fl_journal_hdr *j, int may_wait,
				void (*waiting)(int), uint64_t *idx)
{
	uint64_t cap = j->capacity;
	int64_t start = 0, deadline = 0;
	int ok = 0;
	uint64_t w = atomic_load_explicit(&j->write_idx, memory_order_relaxed);
	for (;;) {
		uint64_t r = atomic_load_explicit(&j->read_idx,
						  memory_order_acquire);
		if (w < r) {
			/* w was read before the harness drained past it: not
			 * a full ring, an old index. */
			w = atomic_load(&j->write_idx);
			continue;
		}
		if (w - r < cap) {
			if (!atomic_compare_exchange_weak(&j->write_idx, &w,
							  w + 1))
				continue;
			/* Half full: the harness drains before anyone has to
			 * wait (one writer's index is exactly there). */
			if (w - r == cap / 2)
				fl_ring_doorbell(j);
			ok = 1;
			break;
		}
		/* Full: wait for the harness, within the bound. */
		if (!may_wait || j->wait_ns == 0 ||
		    atomic_load(&j->stalled))
			break;
		int64_t now = fl_ring_now();
		if (!start) {
			start = now;
			deadline = now + (int64_t)j->wait_ns;
			atomic_fetch_add(&j->waits, 1);
		}
		if (now >= deadline) {
			/* The harness is gone or stopped: nobody else waits
			 * until it drains again. */
			atomic_store(&j->stalled, 1);
			break;
		}
		/* Registered as a waiter before the drained word is read:
		 * a drain after that read changes the word (the wait returns
		 * at once), one before it is seen below, and the harness,
		 * which bumps the word before it looks for waiters, sees us. */
		atomic_fetch_add(&j->waiters, 1);
		uint32_t seen = atomic_load(&j->drained);
		fl_ring_doorbell(j);
		uint64_t r2 = atomic_load(&j->read_idx);
		if (atomic_load(&j->write_idx) - r2 >= cap) {
			int64_t slice = deadline - now;
			if (slice > FL_RING_SLICE_NS)
				slice = FL_RING_SLICE_NS;
			if (waiting)
				waiting(1);
			fl_ring_futex(&j->drained, FUTEX_WAIT, seen, slice);
			if (waiting)
				waiting(0);
		}
		atomic_fetch_sub(&j->waiters, 1);
		w = atomic_load_explicit(&j->write_idx, memory_order_relaxed);
	}
	if (start)
		atomic_fetch_add(&j->waited_ns, (uint64_t)(fl_ring_now() - start));
	if (!ok)
		atomic_fetch_add(&j->lost, 1);
	*idx = w;
	return ok;
}

/* The record a claimed index writes. */
static inline fl_journal_rec *fl_ring_rec(fl_journal_hdr *j,
					  fl_journal_rec *recs, uint64_t idx)
{
	return &recs[idx % j->capacity];
}

/* Makes a filled record visible to the harness. */
static inline void fl_ring_publish(fl_journal_hdr *j, fl_journal_rec *recs,
				   uint64_t idx)
{
	atomic_store_explicit(&fl_ring_rec(j, recs, idx)->seq, idx + 1,
			      memory_order_release);
}

/* The harness's side: the records before r are consumed. Clears a stall
 * and wakes the writers waiting for room. */
static inline void fl_ring_consumed(fl_journal_hdr *j, uint64_t r)
{
	atomic_store(&j->read_idx, r);
	atomic_store(&j->stalled, 0);
	atomic_fetch_add(&j->drained, 1);
	if (atomic_load(&j->waiters))
		fl_ring_futex(&j->drained, FUTEX_WAKE, INT_MAX, -1);
}

#endif
