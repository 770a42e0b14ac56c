/* defer / panic / recover.
 *
 * Each thread has one stack of pending deferred calls (a fixed array, so
 * neither deferring nor panicking allocates: panics happen while malloc is
 * failing) and a chain of frames on the C stack, each remembering how deep
 * the deferred stack was when it began. A panic runs the deferred calls on
 * the panicking thread's stack, where the frames that deferred them are
 * still alive (their arguments may point at locals), frame by frame up to
 * the nearest boundary, and only then longjmps to it. */
#define _POSIX_C_SOURCE 200809L
#include "flrt_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct deferred_call {
	flrt_fn *fn;
	void *arg;
};

struct thread_state {
	struct flrt_frame *top;		/* innermost open frame */
	unsigned depth;			/* pending deferred calls */
	int panicking;			/* panic is unwinding */
	struct flrt_panic panic;
	struct deferred_call pending[FLRT_DEFER_MAX];
};

static _Thread_local struct thread_state self;

static _Noreturn void unwind(void);

/* Writes the whole buffer to stderr; nothing else is left to do on error. */
static void write_stderr(const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

/* An unrecovered panic ends the process as Go's does: every deferred call
 * of the thread has run, one line goes to stderr, exit status 2, and no
 * atexit handler runs (other threads may be using what they would free). */
static _Noreturn void die(void)
{
	char line[FLRT_MESSAGE_MAX + 160];
	const struct flrt_panic *p = &self.panic;
	int len = snprintf(line, sizeof line, "panic: %s [code %d] at %s:%d%s\n", p->message,
			   p->code, p->file ? p->file : "?", p->line,
			   p->replaced ? " (replaced an earlier panic)" : "");
	if (len > 0)
		write_stderr(line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
	_exit(2);
}

/* Runs one deferred call, unless fl/defer/panic fires: then the call
 * panics before doing its work, and the panic goes on with the rest. The
 * call is already off the stack, so it never runs twice. */
static void run_deferred(struct deferred_call call)
{
	int err = flrt_fail(flrt__point_defer_panic);
	if (err != 0) {
		atomic_fetch_add(&flrt__defer_panics, 1);
		flrt_panic_at(__FILE__, __LINE__, err, NULL, flrt__point_defer_panic,
			      "a deferred call panicked before doing its work (%s)",
			      flrt__point_defer_panic);
	}
	atomic_fetch_add(&flrt__deferred, 1);
	call.fn(call.arg);
}

static void run_pending_down_to(unsigned base)
{
	while (self.depth > base) {
		self.depth--;
		run_deferred(self.pending[self.depth]);
	}
}

void flrt_frame_begin(struct flrt_frame *frame)
{
	frame->outer = self.top;
	frame->base = self.depth;
	frame->landing = NULL;
	self.top = frame;
}

/* The frame is registered before its initialiser copies these values into
 * it; nothing can look at it in between. */
struct flrt_frame flrt_frame_open_(struct flrt_frame *frame)
{
	struct flrt_frame value = { .outer = self.top, .base = self.depth, .landing = NULL };
	self.top = frame;
	return value;
}

void flrt_frame_end(struct flrt_frame *frame)
{
	if (self.top != frame)
		flrt_panicf(EINVAL, "flrt_frame_end: frame %p is not the innermost one", (void *)frame);
	/* A deferred call that panics here unwinds from this same frame, so the
	 * calls after it still run. */
	run_pending_down_to(frame->base);
	self.top = frame->outer;
}

void flrt_defer(flrt_fn *fn, void *arg)
{
	if (self.top == NULL || self.depth == FLRT_DEFER_MAX) {
		fn(arg);
		if (self.top == NULL)
			flrt_panicf(EINVAL, "flrt_defer outside a frame");
		flrt_panicf(ENOSPC, "more than %d deferred calls pending", FLRT_DEFER_MAX);
	}
	self.pending[self.depth++] = (struct deferred_call){ fn, arg };
}

void flrt_panic_at(const char *file, int line, int code, void *value, const char *point,
		   const char *format, ...)
{
	/* Formatted aside first: the arguments may point into the panic being
	 * replaced. */
	char message[FLRT_MESSAGE_MAX];
	va_list args;
	va_start(args, format);
	if (vsnprintf(message, sizeof message, format, args) < 0)
		snprintf(message, sizeof message, "panic (unprintable message)");
	va_end(args);
	unsigned replaced = self.panicking ? self.panic.replaced + 1 : 0;
	self.panic = (struct flrt_panic){ .code = code, .value = value, .point = point,
					  .file = file, .line = line, .replaced = replaced };
	memcpy(self.panic.message, message, sizeof message);
	self.panicking = 1;
	atomic_fetch_add(&flrt__panics, 1);
	unwind();
}

/* Runs the deferred calls frame by frame until a boundary takes the panic.
 * A deferred call that panics re-enters here through flrt_panic_at with
 * the call already popped: the new panic takes over the same walk, and
 * this C frame is abandoned by the final longjmp. */
static _Noreturn void unwind(void)
{
	for (;;) {
		struct flrt_frame *frame = self.top;
		if (frame == NULL)
			die();
		run_pending_down_to(frame->base);
		self.top = frame->outer;
		if (frame->landing != NULL) {
			struct flrt_boundary *b = (struct flrt_boundary *)frame;
			b->panic = self.panic;
			b->recovered = 1;
			self.panicking = 0;
			atomic_fetch_add(&flrt__recovered, 1);
			longjmp(*frame->landing, 1);
		}
	}
}

void flrt_checkpoint_at(const char *file, int line)
{
	int err = flrt_fail(flrt__point_panic);
	if (err != 0)
		flrt_panic_at(file, line, err, NULL, flrt__point_panic, "injected panic (%s)",
			      flrt__point_panic);
}

const struct flrt_panic *flrt_panicking(void)
{
	return self.panicking ? &self.panic : NULL;
}

/* A boundary begun inside a deferred call of an unwinding panic runs its
 * body as ordinary code: the outer panic is put aside, and put back when
 * the boundary ends, so that a panic recovered in between cannot clobber
 * it. */
void flrt_boundary_begin(struct flrt_boundary *boundary)
{
	flrt_frame_begin(&boundary->frame);
	boundary->frame.landing = &boundary->landing;
	boundary->recovered = 0;
	boundary->outer_panicking = self.panicking;
	if (self.panicking)
		boundary->outer_panic = self.panic;
	self.panicking = 0;
}

int flrt_recover(struct flrt_boundary *boundary, struct flrt_panic *out)
{
	if (!boundary->recovered) {
		/* The body returned. A deferred call of the boundary itself that
		 * panics lands on this same boundary, and its owner's setjmp
		 * brings it back here with recovered set. */
		flrt_frame_end(&boundary->frame);
	}
	self.panicking = boundary->outer_panicking;
	if (boundary->outer_panicking)
		self.panic = boundary->outer_panic;
	if (boundary->recovered && out != NULL)
		*out = boundary->panic;
	return boundary->recovered;
}

/* The boundary is not changed by this function between setjmp and the
 * longjmp (only through the pointer the runtime keeps, and it lives in
 * memory because its address escapes), so reading it afterwards is safe. */
int flrt_run(flrt_fn *fn, void *arg, struct flrt_panic *out)
{
	struct flrt_boundary boundary;
	flrt_boundary_begin(&boundary);
	if (setjmp(boundary.landing) == 0)
		fn(arg);
	return flrt_recover(&boundary, out);
}
