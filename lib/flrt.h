/*
 * flrt: Go-style cleanup and concurrency for C targets, with failure points
 * a faultline scenario can fire.
 *
 *   defer / panic / recover   flrt_frame_begin/end or FLRT_SCOPE, flrt_defer,
 *                             flrt_panicf, flrt_run, flrt_boundary_begin +
 *                             setjmp + flrt_recover
 *   channels                  flrt_chan_make, _send, _recv, _close, each
 *                             also with a timeout or a context
 *   contexts                  flrt_ctx_init (cancel, deadline, parent)
 *   workers                   flrt_worker_start/join, flrt_go: named
 *                             threads whose panics are recovered
 *   failure points            FLRT_POINT("app/x") declares a point in the
 *                             binary's "fl_points" section; flrt_fail()
 *                             asks libfiu whether it fires now
 *
 * The runtime's own points: "fl/panic" (flrt_checkpoint panics),
 * "fl/defer/panic" (a deferred call panics before doing its work) and
 * "fl/chan/send/block" (a send behaves as if no receiver will ever come).
 *
 * Programs link lib/libflrt.a with the shared libfiu (-lfiu, never
 * libfiu.a: a static copy is a second libfiu that faultline's agent and
 * libfiu's preload never talk to) and -lpthread.
 *
 * Functions return 0 or a negative errno, and never print, except that an
 * unrecovered panic writes one line to stderr before the process exits with
 * status 2, as Go's runtime does. State is per thread: every call is
 * thread-safe, none is async-signal-safe.
 */
#ifndef FLRT_H
#define FLRT_H

#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Failure points */

/* Declares a failure point and evaluates to its name, so one macro both
 * lists the point (faultline points TARGET reads the "fl_points" section
 * of the binary) and names it where it is checked:
 *
 *     int err = flrt_fail(FLRT_POINT("cache/insert"));
 *     if (err != 0)
 *             return -err;
 *
 * The name must be a string literal. */
#define FLRT_POINT(name)                                                       \
	(__extension__({                                                       \
		static const char flrt_point_name_[]                           \
			__attribute__((used, section("fl_points"), aligned(1))) = \
				name;                                          \
		flrt_point_name_;                                              \
	}))

/* Whether the point fires on this call: 0 when it does not, else the errno
 * the scenario chose for it (EIO when it chose none). */
int flrt_fail(const char *point);

/* ------------------------------------------------------------------ */
/* defer / panic / recover */

/* Deferred calls one thread can have pending at once, over all its
 * frames. */
#define FLRT_DEFER_MAX 256
#define FLRT_MESSAGE_MAX 160

typedef void flrt_fn(void *arg);

/* What a panic carries. */
struct flrt_panic {
	int code;		/* nonzero: an errno value or the program's own */
	void *value;		/* the program's payload, or NULL */
	const char *point;	/* the failure point that raised it, or NULL */
	const char *file;	/* where it was raised */
	int line;
	unsigned replaced;	/* earlier panics it replaced while they unwound */
	char message[FLRT_MESSAGE_MAX];
};

/* A function's scope for deferred calls. Lives on the caller's stack;
 * the fields are the runtime's. */
struct flrt_frame {
	struct flrt_frame *outer;
	unsigned base;		/* the thread's pending deferred calls at begin */
	jmp_buf *landing;	/* set when the frame is a recover boundary */
};

/* A frame that stops panics: see flrt_boundary_begin. */
struct flrt_boundary {
	struct flrt_frame frame;
	jmp_buf landing;
	int recovered;
	struct flrt_panic panic;	/* what was recovered */
	int outer_panicking;		/* a panic that was unwinding when the */
	struct flrt_panic outer_panic;	/* boundary began (inside a deferred call) */
};

/* Opens a frame; flrt_frame_end runs its deferred calls, last in first
 * out, and closes it. Frames nest and must end in reverse order. */
void flrt_frame_begin(struct flrt_frame *frame);
void flrt_frame_end(struct flrt_frame *frame);

/* Declares a frame that ends by itself when the enclosing block is left
 * by return, break or its end, like a Go function's defers:
 *
 *     FLRT_SCOPE(scope);
 *     int fd = open(path, O_RDONLY);
 *     if (fd < 0)
 *             return -errno;
 *     flrt_defer(close_fd, &fd);
 */
#define FLRT_SCOPE(name)                                                       \
	struct flrt_frame name __attribute__((cleanup(flrt_frame_end))) =     \
		flrt_frame_open_(&name)
struct flrt_frame flrt_frame_open_(struct flrt_frame *frame);

/* Defers fn(arg) to the end of the innermost frame, or to the unwinding
 * of a panic through it. Without a frame, or with FLRT_DEFER_MAX calls
 * already pending, it runs fn(arg) at once and panics (EINVAL, ENOSPC):
 * the panic skips the code that would have used what fn releases. */
void flrt_defer(flrt_fn *fn, void *arg);

/* Raises a panic: runs the pending deferred calls of the thread, innermost
 * first, up to the nearest boundary, and resumes there. A panic raised by
 * a deferred call while another unwinds replaces it and goes on running
 * the remaining deferred calls, as in Go. With no boundary the thread runs
 * all its deferred calls, the panic is written to stderr, and the process
 * exits with status 2. */
#define flrt_panicf(code, ...)                                                 \
	flrt_panic_at(__FILE__, __LINE__, (code), NULL, NULL, __VA_ARGS__)
#define flrt_panic_value(code, value, ...)                                     \
	flrt_panic_at(__FILE__, __LINE__, (code), (value), NULL, __VA_ARGS__)
_Noreturn void flrt_panic_at(const char *file, int line, int code, void *value,
			     const char *point, const char *format, ...)
	__attribute__((format(printf, 6, 7)));

/* Panics when the point "fl/panic" fires (code: its errno). */
#define flrt_checkpoint() flrt_checkpoint_at(__FILE__, __LINE__)
void flrt_checkpoint_at(const char *file, int line);

/* The panic this thread is unwinding, or NULL: lets a deferred call tell
 * a normal return from a panic. */
const struct flrt_panic *flrt_panicking(void);

/* Runs fn(arg) inside a recover boundary. Returns 0 when it returned,
 * 1 when it panicked: the panic was recovered and, when out is not NULL,
 * copied there. */
int flrt_run(flrt_fn *fn, void *arg, struct flrt_panic *out);

/* The same, written inline:
 *
 *     struct flrt_boundary b;
 *     flrt_boundary_begin(&b);
 *     if (setjmp(b.landing) == 0)
 *             work();              // may panic
 *     if (flrt_recover(&b, &panic))
 *             ...                  // recovered
 *
 * setjmp must be called in the function that owns b, right after
 * flrt_boundary_begin; locals that work() changes and that are read after
 * a recovered panic must be volatile (the rules of setjmp). flrt_recover
 * closes the boundary (running its own deferred calls) and returns 1 with
 * the panic when one landed, else 0. */
void flrt_boundary_begin(struct flrt_boundary *boundary);
int flrt_recover(struct flrt_boundary *boundary, struct flrt_panic *out);

/* ------------------------------------------------------------------ */
/* Contexts: done and a deadline, as Go's context.Context */

struct flrt__waiter;

/* Lives where its owner puts it; the fields are the runtime's. */
struct flrt_ctx {
	pthread_mutex_t lock;
	struct flrt_ctx *parent, *children, *next, *prev;
	struct flrt__waiter *waiters;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	int has_deadline;
	int err;			/* 0, -ECANCELED or -ETIMEDOUT */
};

/* A context that is done when flrt_ctx_cancel is called, when its parent
 * (if any) is done, or timeout_ms after now (timeout_ms < 0: no deadline
 * of its own; a parent's deadline still applies). Returns 0 or -errno. */
int flrt_ctx_init(struct flrt_ctx *ctx, struct flrt_ctx *parent, long timeout_ms);

/* Makes ctx and its children done (-ECANCELED) and wakes everything
 * waiting on them. Idempotent. */
void flrt_ctx_cancel(struct flrt_ctx *ctx);

/* 0 while the context is live, -ECANCELED once cancelled, -ETIMEDOUT once
 * its deadline has passed. */
int flrt_ctx_err(struct flrt_ctx *ctx);

/* Waits until the context is done (<-ctx.Done()): returns its error, or 0
 * when timeout_ms (< 0: no limit) passed first. */
int flrt_ctx_wait(struct flrt_ctx *ctx, long timeout_ms);

/* Cancels it and detaches it from its parent. Nothing may still wait on
 * it, and its children must have been destroyed first. */
void flrt_ctx_destroy(struct flrt_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Channels */

struct flrt_chan;

/* A channel of elements of elem_size bytes with room for capacity of them
 * (0: unbuffered, a send waits for its receiver). Returns 0 or -ENOMEM. */
int flrt_chan_make(struct flrt_chan **out, size_t elem_size, size_t capacity);

/* Frees a channel nobody uses any more: -EBUSY (and nothing is freed) while
 * a thread still waits on it. */
int flrt_chan_free(struct flrt_chan *ch);

/* Closes it: blocked and later receivers get what is buffered, then
 * -EPIPE; blocked and later senders get -EPIPE. -EPIPE if already closed. */
int flrt_chan_close(struct flrt_chan *ch);

/* Sends a copy of *elem: 0 once a receiver has it (or it is buffered),
 * -EPIPE when the channel is or gets closed. The _timeout form gives up
 * after timeout_ms (-ETIMEDOUT), the _ctx form when ctx is done (its error:
 * -ECANCELED or -ETIMEDOUT), try_ at once (-EAGAIN). When the point
 * "fl/chan/send/block" fires, the send acts as if no receiver will ever
 * come: only a close, the timeout or the context ends it. */
int flrt_chan_send(struct flrt_chan *ch, const void *elem);
int flrt_chan_send_timeout(struct flrt_chan *ch, const void *elem, long timeout_ms);
int flrt_chan_send_ctx(struct flrt_chan *ch, const void *elem, struct flrt_ctx *ctx);
int flrt_chan_try_send(struct flrt_chan *ch, const void *elem);

/* Receives into *elem: 0, or -EPIPE once the channel is closed and empty
 * (*elem is then zeroed); the other forms as for send. */
int flrt_chan_recv(struct flrt_chan *ch, void *elem);
int flrt_chan_recv_timeout(struct flrt_chan *ch, void *elem, long timeout_ms);
int flrt_chan_recv_ctx(struct flrt_chan *ch, void *elem, struct flrt_ctx *ctx);
int flrt_chan_try_recv(struct flrt_chan *ch, void *elem);

/* Elements buffered now, and threads blocked on it now (senders,
 * receivers and sends held by fl/chan/send/block). */
size_t flrt_chan_len(struct flrt_chan *ch);
size_t flrt_chan_waiting(struct flrt_chan *ch);

/* ------------------------------------------------------------------ */
/* Workers: named threads with a recover boundary */

#define FLRT_NAME_MAX 16 /* with the NUL, as Linux's thread names */

/* Lives where its owner puts it, until flrt_worker_join. */
struct flrt_worker {
	pthread_t thread;
	char name[FLRT_NAME_MAX];
	flrt_fn *fn;
	void *arg;
	int panicked;
	struct flrt_panic panic;
};

/* Starts fn(arg) on a new thread named name (cut to 15 bytes; it shows in
 * /proc/PID/task/TID/comm), inside a recover boundary. The thread starts
 * with every signal blocked, so process signals go to the main thread.
 * Returns 0 or -errno (-EAGAIN when no thread can be created). */
int flrt_worker_start(struct flrt_worker *w, const char *name, flrt_fn *fn, void *arg);

/* Waits for it to end: 0 when fn returned, 1 when it panicked (the panic
 * is copied to out when not NULL), or -errno. */
int flrt_worker_join(struct flrt_worker *w, struct flrt_panic *out);

/* A detached worker, as a goroutine: nobody joins it. A panic in it is
 * recovered, counted, and passed to the panic hook. Returns 0 or -errno. */
int flrt_go(const char *name, flrt_fn *fn, void *arg);

/* Called on the worker's thread after a panic was recovered at a worker
 * boundary (both kinds of worker). NULL: none. */
typedef void flrt_panic_hook(const char *worker, const struct flrt_panic *panic);
void flrt_set_panic_hook(flrt_panic_hook *hook);

/* ------------------------------------------------------------------ */
/* Counters over the whole process, for a target's own statistics. */

struct flrt_stats {
	unsigned long panics;		/* raised, injected ones included */
	unsigned long recovered;	/* stopped at a boundary */
	unsigned long deferred;		/* deferred calls run */
	unsigned long defer_panics;	/* injected by fl/defer/panic */
	unsigned long blocked_sends;	/* sends fl/chan/send/block held */
	unsigned long stuck_sends;	/* of which still held now */
	unsigned long workers;		/* started */
	unsigned long workers_running;	/* started and not yet ended */
};

void flrt_stats_get(struct flrt_stats *out);

#ifdef __cplusplus
}
#endif

#endif
