/* The runtime for C targets (lib/flrt*.c), built with AddressSanitizer and
 * UBSan: defer order, panics and recover, channels, contexts, workers, and
 * the runtime's failure points driven through libfiu's control API. Each
 * Criterion test runs in its own process, so enabling a point in one
 * test does not reach the others. */
#define _GNU_SOURCE
#define FIU_ENABLE 1
#include "flrt.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <sanitizer/lsan_interface.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* Waits (at most 5 s) until cond(arg) holds; returns whether it did. */
static int eventually(int (*cond)(void *), void *arg)
{
	double deadline = now_s() + 5;
	while (!cond(arg)) {
		if (now_s() > deadline)
			return 0;
		sleep_ms(2);
	}
	return 1;
}

/* Every test that allocates ends with this: LeakSanitizer's verdict now,
 * in the test's own process, rather than only at its exit. */
static void assert_no_leaks(void)
{
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found a leak");
}

/* ------------------------------------------------------------------ */
/* defer */

struct trace {
	char seen[64];
	int n;
};

struct step {
	struct trace *trace;
	char name;
};

static void record(void *arg)
{
	struct step *s = arg;
	if (s->trace->n < 63)
		s->trace->seen[s->trace->n++] = s->name;
	s->trace->seen[s->trace->n] = '\0';
}

Test(defer, runs_last_in_first_out)
{
	struct trace t = { .n = 0 };
	struct step a = { &t, 'a' }, b = { &t, 'b' }, c = { &t, 'c' };
	struct flrt_frame f;
	flrt_frame_begin(&f);
	flrt_defer(record, &a);
	flrt_defer(record, &b);
	flrt_defer(record, &c);
	cr_assert_eq(t.n, 0, "deferred calls ran before the frame ended");
	flrt_frame_end(&f);
	cr_assert_str_eq(t.seen, "cba");
}

static int scoped(struct trace *t, int early)
{
	FLRT_SCOPE(scope);
	static struct step a, b;
	a = (struct step){ t, 'a' };
	b = (struct step){ t, 'b' };
	flrt_defer(record, &a);
	if (early)
		return 1;
	flrt_defer(record, &b);
	return 2;
}

Test(defer, scope_runs_on_every_return)
{
	struct trace t = { .n = 0 };
	cr_assert_eq(scoped(&t, 1), 1);
	cr_assert_str_eq(t.seen, "a");
	cr_assert_eq(scoped(&t, 0), 2);
	cr_assert_str_eq(t.seen, "aba");
}

Test(defer, nested_frames_keep_their_own_calls)
{
	struct trace t = { .n = 0 };
	struct step o1 = { &t, '1' }, o2 = { &t, '2' }, i1 = { &t, 'x' }, i2 = { &t, 'y' };
	struct flrt_frame outer, inner;
	flrt_frame_begin(&outer);
	flrt_defer(record, &o1);
	flrt_frame_begin(&inner);
	flrt_defer(record, &i1);
	flrt_defer(record, &i2);
	flrt_frame_end(&inner);
	cr_assert_str_eq(t.seen, "yx", "the inner frame ran %s", t.seen);
	flrt_defer(record, &o2);
	flrt_frame_end(&outer);
	cr_assert_str_eq(t.seen, "yx21");
}

/* A loop that defers, as Go's defer in a loop: everything runs at the end
 * of the frame, not of the iteration. */
Test(defer, defers_in_a_loop_wait_for_the_frame)
{
	struct trace t = { .n = 0 };
	struct step steps[10];
	struct flrt_frame f;
	flrt_frame_begin(&f);
	for (int i = 0; i < 10; i++) {
		steps[i] = (struct step){ &t, (char)('0' + i) };
		flrt_defer(record, &steps[i]);
	}
	cr_assert_eq(t.n, 0);
	flrt_frame_end(&f);
	cr_assert_str_eq(t.seen, "9876543210");
}

/* ------------------------------------------------------------------ */
/* panic and recover */

struct unwind_case {
	struct trace trace;
	struct step s[6];
};

static void level3(struct unwind_case *u)
{
	FLRT_SCOPE(scope);
	flrt_defer(record, &u->s[4]);
	flrt_defer(record, &u->s[5]);
	flrt_panicf(EDOM, "deep trouble %d", 42);
}

static void level2(struct unwind_case *u)
{
	FLRT_SCOPE(scope);
	flrt_defer(record, &u->s[2]);
	flrt_defer(record, &u->s[3]);
	level3(u);
	record(&(struct step){ &u->trace, '!' }); /* never reached */
}

static void level1(void *arg)
{
	struct unwind_case *u = arg;
	FLRT_SCOPE(scope);
	flrt_defer(record, &u->s[0]);
	flrt_defer(record, &u->s[1]);
	level2(u);
}

Test(panic, unwinds_every_frame_to_the_boundary)
{
	struct unwind_case u = { .trace.n = 0 };
	for (int i = 0; i < 6; i++)
		u.s[i] = (struct step){ &u.trace, (char)('a' + i) };
	struct flrt_panic p;
	cr_assert_eq(flrt_run(level1, &u, &p), 1, "the panic was not recovered");
	cr_assert_str_eq(u.trace.seen, "fedcba");
	cr_assert_eq(p.code, EDOM);
	cr_assert_str_eq(p.message, "deep trouble 42");
	cr_assert_eq(p.replaced, 0u);
	cr_assert_null(p.point);
	cr_assert(strstr(p.file, "unit_runtime.c") != NULL, "file %s", p.file);
	cr_assert_gt(p.line, 0);
	cr_assert_null(flrt_panicking(), "still panicking after the recover");
}

static void returns_normally(void *arg)
{
	(*(int *)arg)++;
}

Test(panic, run_returns_0_without_a_panic)
{
	int calls = 0;
	struct flrt_panic p = { .code = 12345 };
	cr_assert_eq(flrt_run(returns_normally, &calls, &p), 0);
	cr_assert_eq(calls, 1);
	cr_assert_eq(p.code, 12345, "out was written without a panic");
}

struct deferred_panic_case {
	struct trace trace;
	struct step a, c;
	int body_panics;
	const struct flrt_panic *seen_in_a;
	int code_seen_in_a;
};

static void panic_in_defer(void *arg)
{
	(void)arg;
	flrt_panicf(EIO, "cleanup failed");
}

static void remember_panic(void *arg)
{
	struct deferred_panic_case *d = arg;
	record(&d->a);
	d->seen_in_a = flrt_panicking();
	d->code_seen_in_a = d->seen_in_a ? d->seen_in_a->code : 0;
}

static void defers_with_a_panicking_one(void *arg)
{
	struct deferred_panic_case *d = arg;
	FLRT_SCOPE(scope);
	flrt_defer(remember_panic, d);
	flrt_defer(panic_in_defer, NULL);
	flrt_defer(record, &d->c);
	if (d->body_panics)
		flrt_panicf(EPERM, "first");
}

/* Go: a deferred call that panics does not stop the others; the calls
 * after it still run, and the boundary gets the newest panic. */
Test(panic, panic_in_a_deferred_call_keeps_unwinding_on_return)
{
	struct deferred_panic_case d = { .trace.n = 0, .body_panics = 0 };
	d.a = (struct step){ &d.trace, 'a' };
	d.c = (struct step){ &d.trace, 'c' };
	struct flrt_panic p;
	cr_assert_eq(flrt_run(defers_with_a_panicking_one, &d, &p), 1);
	cr_assert_str_eq(d.trace.seen, "ca", "ran %s", d.trace.seen);
	cr_assert_eq(d.code_seen_in_a, EIO, "the later deferred call did not see the panic");
	cr_assert_eq(p.code, EIO);
	cr_assert_str_eq(p.message, "cleanup failed");
	cr_assert_eq(p.replaced, 0u);
}

Test(panic, panic_in_a_deferred_call_replaces_the_unwinding_one)
{
	struct deferred_panic_case d = { .trace.n = 0, .body_panics = 1 };
	d.a = (struct step){ &d.trace, 'a' };
	d.c = (struct step){ &d.trace, 'c' };
	struct flrt_panic p;
	cr_assert_eq(flrt_run(defers_with_a_panicking_one, &d, &p), 1);
	cr_assert_str_eq(d.trace.seen, "ca");
	cr_assert_eq(p.code, EIO, "the boundary got the first panic, not the newest");
	cr_assert_eq(p.replaced, 1u);
}

static int payload = 7;

static void panic_with_value(void *arg)
{
	(void)arg;
	flrt_panic_value(1000, &payload, "with a payload");
}

Test(panic, recover_returns_the_value)
{
	struct flrt_panic p;
	cr_assert_eq(flrt_run(panic_with_value, NULL, &p), 1);
	cr_assert_eq(p.value, &payload);
	cr_assert_eq(*(int *)p.value, 7);
	cr_assert_eq(p.code, 1000);
}

static void maybe_panic(int n)
{
	if (n == 3)
		flrt_panicf(ERANGE, "n is %d", n);
}

/* The inline form, with a volatile local changed before the panic. */
Test(panic, explicit_boundary_with_setjmp)
{
	volatile int reached = 0;
	struct flrt_boundary b;
	struct flrt_panic p;
	flrt_boundary_begin(&b);
	if (setjmp(b.landing) == 0) {
		for (int i = 0; i < 10; i++) {
			reached = i;
			maybe_panic(i);
		}
	}
	cr_assert_eq(flrt_recover(&b, &p), 1);
	cr_assert_eq(reached, 3);
	cr_assert_eq(p.code, ERANGE);
	cr_assert_str_eq(p.message, "n is 3");

	flrt_boundary_begin(&b);
	if (setjmp(b.landing) == 0)
		maybe_panic(1);
	cr_assert_eq(flrt_recover(&b, &p), 0);
}

static void inner_panics(void *arg)
{
	(void)arg;
	flrt_panicf(ENOENT, "inner");
}

static void defer_with_own_boundary(void *arg)
{
	struct flrt_panic inner;
	*(int *)arg = flrt_run(inner_panics, NULL, &inner) == 1 && inner.code == ENOENT;
}

static void outer_body(void *arg)
{
	FLRT_SCOPE(scope);
	flrt_defer(defer_with_own_boundary, arg);
	flrt_panicf(EXDEV, "outer");
}

/* A deferred call may recover panics of its own without touching the one
 * that is unwinding around it. */
Test(panic, boundary_inside_a_deferred_call_keeps_the_outer_panic)
{
	int inner_ok = 0;
	struct flrt_panic p;
	cr_assert_eq(flrt_run(outer_body, &inner_ok, &p), 1);
	cr_assert_eq(inner_ok, 1, "the inner boundary did not recover its panic");
	cr_assert_eq(p.code, EXDEV);
	cr_assert_str_eq(p.message, "outer");
	cr_assert_eq(p.replaced, 0u);
}

static void count_call(void *arg)
{
	(*(int *)arg)++;
}

static void defer_too_many(void *arg)
{
	FLRT_SCOPE(scope);
	for (int i = 0; i <= FLRT_DEFER_MAX; i++)
		flrt_defer(count_call, arg);
}

/* The deferred stack is fixed; the call that does not fit runs at once
 * and the panic runs the others, so nothing is lost. */
Test(panic, a_full_defer_stack_panics_and_loses_nothing)
{
	int calls = 0;
	struct flrt_panic p;
	cr_assert_eq(flrt_run(defer_too_many, &calls, &p), 1);
	cr_assert_eq(p.code, ENOSPC);
	cr_assert_eq(calls, FLRT_DEFER_MAX + 1);
}

/* A panic nobody recovers: every deferred call runs, one line on stderr,
 * exit status 2, as Go's runtime does. Run in a child process. */
static int marker_fd = -1;

static void write_marker(void *arg)
{
	if (write(marker_fd, arg, 1) != 1)
		_exit(5);
}

Test(panic, unrecovered_runs_defers_then_exits_2)
{
	int out[2], err[2];
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(err), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(err[1], 2);
		marker_fd = out[1];
		struct flrt_frame f, g;
		flrt_frame_begin(&f);
		flrt_defer(write_marker, "1");
		flrt_frame_begin(&g);
		flrt_defer(write_marker, "2");
		flrt_panicf(EBADF, "nobody recovers %s", "this");
	}
	close(out[1]);
	close(err[1]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child did not exit");
	cr_assert_eq(WEXITSTATUS(status), 2);
	char buf[512] = { 0 }, marks[8] = { 0 };
	cr_assert_eq(read(out[0], marks, sizeof marks - 1), 2);
	cr_assert_str_eq(marks, "21", "deferred calls ran as %s", marks);
	ssize_t n = read(err[0], buf, sizeof buf - 1);
	cr_assert_gt(n, 0);
	cr_assert(strstr(buf, "panic: nobody recovers this [code 9] at ") != NULL, "stderr: %s", buf);
	close(out[0]);
	close(err[0]);
}

/* ------------------------------------------------------------------ */
/* the runtime's failure points */

static void three_deferred(void *arg)
{
	struct trace *t = arg;
	static struct step a, b, c;
	a = (struct step){ t, 'a' };
	b = (struct step){ t, 'b' };
	c = (struct step){ t, 'c' };
	FLRT_SCOPE(scope);
	flrt_defer(record, &a);
	flrt_defer(record, &b);
	flrt_defer(record, &c);
}

/* fl/defer/panic: the first deferred call to run (c) panics before doing
 * its work; b and a still run; the boundary gets an injected panic. */
Test(points, defer_panic_skips_one_call_and_keeps_unwinding)
{
	cr_assert_eq(fiu_init(0), 0);
	cr_assert_eq(fiu_enable("fl/defer/panic", 1, (void *)(intptr_t)ENOSPC, FIU_ONETIME), 0);
	struct flrt_stats before, after;
	flrt_stats_get(&before);
	struct trace t = { .n = 0 };
	struct flrt_panic p;
	cr_assert_eq(flrt_run(three_deferred, &t, &p), 1);
	cr_assert_str_eq(t.seen, "ba");
	cr_assert_eq(p.code, ENOSPC);
	cr_assert_str_eq(p.point, "fl/defer/panic");
	flrt_stats_get(&after);
	cr_assert_eq(after.defer_panics - before.defer_panics, 1ul);
	cr_assert_eq(after.recovered - before.recovered, 1ul);
	cr_assert_eq(after.deferred - before.deferred, 2ul);

	/* Once only: the next run is clean. */
	t.n = 0;
	cr_assert_eq(flrt_run(three_deferred, &t, &p), 0);
	cr_assert_str_eq(t.seen, "cba");
}

static void checkpoints(void *arg)
{
	for (int i = 0; i < 5; i++) {
		flrt_checkpoint();
		(*(int *)arg)++;
	}
}

Test(points, checkpoint_panics_when_fl_panic_fires)
{
	cr_assert_eq(fiu_init(0), 0);
	int reached = 0;
	struct flrt_panic p;
	cr_assert_eq(flrt_run(checkpoints, &reached, &p), 0);
	cr_assert_eq(reached, 5);
	cr_assert_eq(fiu_enable("fl/panic", 1, (void *)(intptr_t)EAGAIN, 0), 0);
	reached = 0;
	cr_assert_eq(flrt_run(checkpoints, &reached, &p), 1);
	cr_assert_eq(reached, 0);
	cr_assert_eq(p.code, EAGAIN);
	cr_assert_str_eq(p.point, "fl/panic");
	cr_assert_eq(fiu_disable("fl/panic"), 0);
}

Test(points, declared_point_names_itself)
{
	const char *name = FLRT_POINT("test/declared");
	cr_assert_str_eq(name, "test/declared");
	cr_assert_eq(fiu_init(0), 0);
	cr_assert_eq(flrt_fail(name), 0);
	cr_assert_eq(fiu_enable("test/declared", 1, (void *)(intptr_t)ENOMEM, 0), 0);
	cr_assert_eq(flrt_fail(name), ENOMEM);
	/* A failinfo that is not an errno reads as EIO. (Disabled first:
	 * libfiu 1.1 leaks the name of a point enabled twice.) */
	cr_assert_eq(fiu_disable("test/declared"), 0);
	cr_assert_eq(flrt_fail(name), 0);
	cr_assert_eq(fiu_enable("test/declared", 1, NULL, 0), 0);
	cr_assert_eq(flrt_fail(name), EIO);
	cr_assert_eq(fiu_disable("test/declared"), 0);
}

/* ------------------------------------------------------------------ */
/* channels */

struct sender_arg {
	struct flrt_chan *ch;
	int first, count, rc;
	struct flrt_ctx *ctx;
	long timeout_ms;
	double took;
};

static void send_range(void *arg)
{
	struct sender_arg *s = arg;
	for (int i = 0; i < s->count; i++) {
		int v = s->first + i;
		s->rc = flrt_chan_send(s->ch, &v);
		if (s->rc != 0)
			return;
	}
}

Test(chan, unbuffered_hands_values_over_in_order)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	struct sender_arg s = { .ch = ch, .first = 100, .count = 1000 };
	struct flrt_worker w;
	cr_assert_eq(flrt_worker_start(&w, "sender", send_range, &s), 0);
	for (int i = 0; i < 1000; i++) {
		int v = -1;
		cr_assert_eq(flrt_chan_recv(ch, &v), 0);
		cr_assert_eq(v, 100 + i);
	}
	cr_assert_eq(flrt_worker_join(&w, NULL), 0);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(flrt_chan_len(ch), 0u);
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

static int waiting_is(void *arg)
{
	struct sender_arg *s = arg;
	return flrt_chan_waiting(s->ch) == (size_t)s->count;
}

/* An unbuffered send does not return before a receiver took the value. */
Test(chan, unbuffered_send_waits_for_its_receiver)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	struct sender_arg s = { .ch = ch, .first = 5, .count = 1, .rc = -1 };
	struct flrt_worker w;
	cr_assert_eq(flrt_worker_start(&w, "sender", send_range, &s), 0);
	struct sender_arg probe = { .ch = ch, .count = 1 };
	cr_assert(eventually(waiting_is, &probe), "the sender never blocked");
	sleep_ms(50);
	cr_assert_eq(flrt_chan_waiting(ch), 1u, "the send returned without a receiver");
	int v;
	cr_assert_eq(flrt_chan_recv(ch, &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(flrt_worker_join(&w, NULL), 0);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(flrt_chan_free(ch), 0);
}

Test(chan, buffered_is_fifo_and_try_ops_do_not_block)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(long), 3), 0);
	long v = 0;
	cr_assert_eq(flrt_chan_try_recv(ch, &v), -EAGAIN);
	for (long i = 1; i <= 3; i++)
		cr_assert_eq(flrt_chan_try_send(ch, &i), 0);
	long extra = 4;
	cr_assert_eq(flrt_chan_try_send(ch, &extra), -EAGAIN);
	cr_assert_eq(flrt_chan_len(ch), 3u);
	for (long i = 1; i <= 3; i++) {
		cr_assert_eq(flrt_chan_recv(ch, &v), 0);
		cr_assert_eq(v, i);
	}
	/* Wraps around the ring. */
	for (int round = 0; round < 10; round++) {
		long a = round, b = round + 100;
		cr_assert_eq(flrt_chan_send(ch, &a), 0);
		cr_assert_eq(flrt_chan_send(ch, &b), 0);
		cr_assert_eq(flrt_chan_recv(ch, &v), 0);
		cr_assert_eq(v, a);
		cr_assert_eq(flrt_chan_recv(ch, &v), 0);
		cr_assert_eq(v, b);
	}
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

struct receiver_arg {
	struct flrt_chan *ch;
	int rc, value;
	long timeout_ms;
	struct flrt_ctx *ctx;
	double took;
};

static void recv_one(void *arg)
{
	struct receiver_arg *r = arg;
	double start = now_s();
	if (r->ctx != NULL)
		r->rc = flrt_chan_recv_ctx(r->ch, &r->value, r->ctx);
	else if (r->timeout_ms >= 0)
		r->rc = flrt_chan_recv_timeout(r->ch, &r->value, r->timeout_ms);
	else
		r->rc = flrt_chan_recv(r->ch, &r->value);
	r->took = now_s() - start;
}

static void send_one(void *arg)
{
	struct sender_arg *s = arg;
	double start = now_s();
	int v = s->first;
	if (s->ctx != NULL)
		s->rc = flrt_chan_send_ctx(s->ch, &v, s->ctx);
	else if (s->timeout_ms >= 0)
		s->rc = flrt_chan_send_timeout(s->ch, &v, s->timeout_ms);
	else
		s->rc = flrt_chan_send(s->ch, &v);
	s->took = now_s() - start;
}

#define CROWD 8

Test(chan, close_wakes_every_blocked_receiver)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 2), 0);
	struct receiver_arg r[CROWD];
	struct flrt_worker w[CROWD];
	for (int i = 0; i < CROWD; i++) {
		r[i] = (struct receiver_arg){ .ch = ch, .rc = 1, .value = 99, .timeout_ms = -1 };
		cr_assert_eq(flrt_worker_start(&w[i], "receiver", recv_one, &r[i]), 0);
	}
	struct sender_arg probe = { .ch = ch, .count = CROWD };
	cr_assert(eventually(waiting_is, &probe), "the receivers never blocked");
	cr_assert_eq(flrt_chan_close(ch), 0);
	cr_assert_eq(flrt_chan_close(ch), -EPIPE, "a second close succeeded");
	for (int i = 0; i < CROWD; i++) {
		cr_assert_eq(flrt_worker_join(&w[i], NULL), 0);
		cr_assert_eq(r[i].rc, -EPIPE, "receiver %d got %d", i, r[i].rc);
		cr_assert_eq(r[i].value, 0, "a closed channel did not zero the element");
	}
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

Test(chan, close_wakes_every_blocked_sender)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	struct sender_arg s[CROWD];
	struct flrt_worker w[CROWD];
	for (int i = 0; i < CROWD; i++) {
		s[i] = (struct sender_arg){ .ch = ch, .first = i, .rc = 1, .timeout_ms = -1 };
		cr_assert_eq(flrt_worker_start(&w[i], "sender", send_one, &s[i]), 0);
	}
	struct sender_arg probe = { .ch = ch, .count = CROWD };
	cr_assert(eventually(waiting_is, &probe), "the senders never blocked");
	cr_assert_eq(flrt_chan_free(ch), -EBUSY, "freed a channel threads wait on");
	cr_assert_eq(flrt_chan_close(ch), 0);
	for (int i = 0; i < CROWD; i++) {
		cr_assert_eq(flrt_worker_join(&w[i], NULL), 0);
		cr_assert_eq(s[i].rc, -EPIPE);
	}
	int v = 1;
	cr_assert_eq(flrt_chan_send(ch, &v), -EPIPE, "sent on a closed channel");
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

Test(chan, closed_channel_drains_before_reporting_closed)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 4), 0);
	for (int i = 1; i <= 3; i++)
		cr_assert_eq(flrt_chan_send(ch, &i), 0);
	cr_assert_eq(flrt_chan_close(ch), 0);
	int v;
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(flrt_chan_recv(ch, &v), 0);
		cr_assert_eq(v, i);
	}
	cr_assert_eq(flrt_chan_recv(ch, &v), -EPIPE);
	cr_assert_eq(flrt_chan_try_recv(ch, &v), -EPIPE);
	cr_assert_eq(flrt_chan_free(ch), 0);
}

Test(chan, receive_and_send_time_out)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 1), 0);
	int v = 3;
	double start = now_s();
	cr_assert_eq(flrt_chan_recv_timeout(ch, &v, 80), -ETIMEDOUT);
	double took = now_s() - start;
	cr_assert_geq(took, 0.079, "returned after %.3f s", took);
	cr_assert_lt(took, 2.0, "returned after %.3f s", took);
	cr_assert_eq(flrt_chan_send_timeout(ch, &v, 80), 0, "a free slot did not take the value");
	start = now_s();
	cr_assert_eq(flrt_chan_send_timeout(ch, &v, 80), -ETIMEDOUT);
	took = now_s() - start;
	cr_assert_geq(took, 0.079, "returned after %.3f s", took);
	cr_assert_lt(took, 2.0);
	cr_assert_eq(flrt_chan_waiting(ch), 0u, "a timed-out sender stayed queued");
	cr_assert_eq(flrt_chan_recv_timeout(ch, &v, 0), 0);
	cr_assert_eq(v, 3);
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

/* A receiver that timed out must not swallow a later value. */
Test(chan, value_after_a_timeout_goes_to_the_next_receiver)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	int v = 0;
	for (int i = 0; i < 20; i++)
		cr_assert_eq(flrt_chan_recv_timeout(ch, &v, 1), -ETIMEDOUT);
	struct sender_arg s = { .ch = ch, .first = 77, .timeout_ms = 2000 };
	struct flrt_worker w;
	cr_assert_eq(flrt_worker_start(&w, "sender", send_one, &s), 0);
	cr_assert_eq(flrt_chan_recv_timeout(ch, &v, 2000), 0);
	cr_assert_eq(v, 77);
	cr_assert_eq(flrt_worker_join(&w, NULL), 0);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(flrt_chan_free(ch), 0);
}

/* Many senders and receivers at once: every value arrives exactly once. */
Test(chan, concurrent_senders_and_receivers_lose_nothing, .timeout = 30)
{
	enum { SENDERS = 4, PER = 2000 };
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 2), 0);
	struct sender_arg s[SENDERS];
	struct flrt_worker w[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		s[i] = (struct sender_arg){ .ch = ch, .first = i * PER, .count = PER };
		cr_assert_eq(flrt_worker_start(&w[i], "sender", send_range, &s[i]), 0);
	}
	static unsigned char seen[SENDERS * PER];
	memset(seen, 0, sizeof seen);
	for (int i = 0; i < SENDERS * PER; i++) {
		int v;
		/* Timeouts here race with senders on purpose. */
		int rc;
		while ((rc = flrt_chan_recv_timeout(ch, &v, i % 3)) == -ETIMEDOUT)
			;
		cr_assert_eq(rc, 0);
		cr_assert(v >= 0 && v < SENDERS * PER);
		cr_assert_eq(seen[v], 0, "value %d arrived twice", v);
		seen[v] = 1;
	}
	for (int i = 0; i < SENDERS; i++) {
		cr_assert_eq(flrt_worker_join(&w[i], NULL), 0);
		cr_assert_eq(s[i].rc, 0);
	}
	cr_assert_eq(flrt_chan_len(ch), 0u);
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

/* ------------------------------------------------------------------ */
/* contexts */

Test(ctx, cancel_wakes_a_blocked_send_and_receive)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	struct flrt_ctx ctx;
	cr_assert_eq(flrt_ctx_init(&ctx, NULL, -1), 0);
	struct sender_arg s = { .ch = ch, .first = 1, .rc = 1, .ctx = &ctx };
	struct flrt_chan *other;
	cr_assert_eq(flrt_chan_make(&other, sizeof(int), 0), 0);
	struct receiver_arg r = { .ch = other, .rc = 1, .ctx = &ctx };
	struct flrt_worker ws, wr;
	cr_assert_eq(flrt_worker_start(&ws, "sender", send_one, &s), 0);
	cr_assert_eq(flrt_worker_start(&wr, "receiver", recv_one, &r), 0);
	struct sender_arg probe = { .ch = ch, .count = 1 }, probe2 = { .ch = other, .count = 1 };
	cr_assert(eventually(waiting_is, &probe));
	cr_assert(eventually(waiting_is, &probe2));
	cr_assert_eq(flrt_ctx_err(&ctx), 0);
	flrt_ctx_cancel(&ctx);
	cr_assert_eq(flrt_worker_join(&ws, NULL), 0);
	cr_assert_eq(flrt_worker_join(&wr, NULL), 0);
	cr_assert_eq(s.rc, -ECANCELED);
	cr_assert_eq(r.rc, -ECANCELED);
	cr_assert_eq(flrt_ctx_err(&ctx), -ECANCELED);
	cr_assert_eq(flrt_chan_waiting(ch), 0u);
	/* A done context fails at once. */
	int v = 0;
	cr_assert_eq(flrt_chan_send_ctx(ch, &v, &ctx), -ECANCELED);
	flrt_ctx_destroy(&ctx);
	cr_assert_eq(flrt_chan_free(ch), 0);
	cr_assert_eq(flrt_chan_free(other), 0);
	assert_no_leaks();
}

Test(ctx, deadline_ends_a_blocked_receive)
{
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	struct flrt_ctx ctx;
	cr_assert_eq(flrt_ctx_init(&ctx, NULL, 100), 0);
	int v;
	double start = now_s();
	cr_assert_eq(flrt_chan_recv_ctx(ch, &v, &ctx), -ETIMEDOUT);
	double took = now_s() - start;
	cr_assert_geq(took, 0.099, "returned after %.3f s", took);
	cr_assert_lt(took, 2.0);
	cr_assert_eq(flrt_ctx_err(&ctx), -ETIMEDOUT);
	flrt_ctx_cancel(&ctx);
	cr_assert_eq(flrt_ctx_err(&ctx), -ETIMEDOUT, "cancel after the deadline changed the error");
	flrt_ctx_destroy(&ctx);
	cr_assert_eq(flrt_chan_free(ch), 0);
}

Test(ctx, children_follow_their_parent)
{
	struct flrt_ctx root, child, grandchild, timed;
	cr_assert_eq(flrt_ctx_init(&root, NULL, -1), 0);
	cr_assert_eq(flrt_ctx_init(&child, &root, -1), 0);
	cr_assert_eq(flrt_ctx_init(&grandchild, &child, -1), 0);
	cr_assert_eq(flrt_ctx_init(&timed, &root, 60000), 0);
	cr_assert_eq(flrt_ctx_wait(&grandchild, 20), 0, "a live context reported done");
	flrt_ctx_cancel(&root);
	cr_assert_eq(flrt_ctx_err(&child), -ECANCELED);
	cr_assert_eq(flrt_ctx_err(&grandchild), -ECANCELED);
	cr_assert_eq(flrt_ctx_err(&timed), -ECANCELED);
	cr_assert_eq(flrt_ctx_wait(&grandchild, -1), -ECANCELED);
	/* A child of a done parent is born done. */
	struct flrt_ctx late;
	cr_assert_eq(flrt_ctx_init(&late, &child, -1), 0);
	cr_assert_eq(flrt_ctx_err(&late), -ECANCELED);
	flrt_ctx_destroy(&late);
	flrt_ctx_destroy(&timed);
	flrt_ctx_destroy(&grandchild);
	flrt_ctx_destroy(&child);
	flrt_ctx_destroy(&root);
}

Test(ctx, child_inherits_the_earlier_deadline)
{
	struct flrt_ctx parent, child;
	cr_assert_eq(flrt_ctx_init(&parent, NULL, 80), 0);
	cr_assert_eq(flrt_ctx_init(&child, &parent, 60000), 0);
	double start = now_s();
	cr_assert_eq(flrt_ctx_wait(&child, 5000), -ETIMEDOUT);
	double took = now_s() - start;
	cr_assert_geq(took, 0.079);
	cr_assert_lt(took, 2.0, "the child kept its own, later deadline (%.3f s)", took);
	flrt_ctx_destroy(&child);
	flrt_ctx_destroy(&parent);
}

struct ctx_waiter_arg {
	struct flrt_ctx *ctx;
	int rc;
};

static void wait_ctx(void *arg)
{
	struct ctx_waiter_arg *a = arg;
	a->rc = flrt_ctx_wait(a->ctx, -1);
}

Test(ctx, cancel_wakes_context_waiters)
{
	struct flrt_ctx ctx;
	cr_assert_eq(flrt_ctx_init(&ctx, NULL, -1), 0);
	struct ctx_waiter_arg a[4];
	struct flrt_worker w[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct ctx_waiter_arg){ &ctx, 1 };
		cr_assert_eq(flrt_worker_start(&w[i], "waiter", wait_ctx, &a[i]), 0);
	}
	sleep_ms(50);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(a[i].rc, 1, "a waiter returned before the cancel");
	flrt_ctx_cancel(&ctx);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(flrt_worker_join(&w[i], NULL), 0);
		cr_assert_eq(a[i].rc, -ECANCELED);
	}
	flrt_ctx_destroy(&ctx);
}

/* ------------------------------------------------------------------ */
/* workers */

struct named_arg {
	atomic_int tid;
	struct flrt_chan *release;
};

static void park_until_released(void *arg)
{
	struct named_arg *n = arg;
	atomic_store(&n->tid, (int)gettid());
	int v;
	flrt_chan_recv(n->release, &v);
}

static int tid_known(void *arg)
{
	return atomic_load(&((struct named_arg *)arg)->tid) != 0;
}

static int read_comm(int tid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

Test(worker, names_show_in_proc)
{
	struct flrt_chan *release;
	cr_assert_eq(flrt_chan_make(&release, sizeof(int), 0), 0);
	struct named_arg n[3];
	struct flrt_worker w[3];
	const char *names[3] = { "worker-1", "worker-2", "a-name-longer-than-15" };
	for (int i = 0; i < 3; i++) {
		atomic_init(&n[i].tid, 0);
		n[i].release = release;
		cr_assert_eq(flrt_worker_start(&w[i], names[i], park_until_released, &n[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert(eventually(tid_known, &n[i]));
		char comm[32];
		/* The name is set by the thread as it starts; give it a moment. */
		double deadline = now_s() + 5;
		while (read_comm(atomic_load(&n[i].tid), comm, sizeof comm) == 0 &&
		       strncmp(comm, names[i], 15) != 0 && now_s() < deadline)
			sleep_ms(2);
		cr_assert_eq(read_comm(atomic_load(&n[i].tid), comm, sizeof comm), 0);
		cr_assert_eq(strncmp(comm, names[i], 15), 0, "thread %d is named '%s'", i, comm);
		cr_assert_eq(strlen(comm), strlen(names[i]) < 15 ? strlen(names[i]) : 15u);
	}
	struct flrt_stats st;
	flrt_stats_get(&st);
	cr_assert_geq(st.workers_running, 3ul);
	cr_assert_eq(flrt_chan_close(release), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(flrt_worker_join(&w[i], NULL), 0);
	flrt_stats_get(&st);
	cr_assert_eq(st.workers_running, 0ul);
	cr_assert_eq(flrt_chan_free(release), 0);
	assert_no_leaks();
}

static void worker_panics(void *arg)
{
	(void)arg;
	flrt_panicf(ENOTSUP, "worker gave up");
}

Test(worker, boundary_recovers_a_panic)
{
	struct flrt_worker w;
	struct flrt_panic p;
	cr_assert_eq(flrt_worker_start(&w, "panicky", worker_panics, NULL), 0);
	cr_assert_eq(flrt_worker_join(&w, &p), 1);
	cr_assert_eq(p.code, ENOTSUP);
	cr_assert_str_eq(p.message, "worker gave up");
}

static atomic_int hook_calls;
static char hook_worker[FLRT_NAME_MAX];

static void on_panic(const char *worker, const struct flrt_panic *p)
{
	if (p->code == ENOTSUP)
		snprintf(hook_worker, sizeof hook_worker, "%s", worker);
	atomic_fetch_add(&hook_calls, 1);
}

static int hook_called(void *arg)
{
	(void)arg;
	return atomic_load(&hook_calls) > 0;
}

static int no_worker_running(void *arg)
{
	(void)arg;
	struct flrt_stats st;
	flrt_stats_get(&st);
	return st.workers_running == 0;
}

Test(worker, detached_worker_panic_reaches_the_hook)
{
	flrt_set_panic_hook(on_panic);
	cr_assert_eq(flrt_go("goroutine-7", worker_panics, NULL), 0);
	cr_assert(eventually(hook_called, NULL), "the hook was never called");
	cr_assert_str_eq(hook_worker, "goroutine-7");
	/* The detached worker frees its own record as it ends. */
	cr_assert(eventually(no_worker_running, NULL));
	sleep_ms(20);
	flrt_set_panic_hook(NULL);
	assert_no_leaks();
}

/* ------------------------------------------------------------------ */
/* fl/chan/send/block */

static char thread_state(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

struct blocked_send {
	struct flrt_chan *ch;
	atomic_int tid;
	int rc;
};

static void plain_send(void *arg)
{
	struct blocked_send *b = arg;
	atomic_store(&b->tid, (int)gettid());
	int v = 1;
	b->rc = flrt_chan_send(b->ch, &v);
}

static int stuck_is_one(void *arg)
{
	(void)arg;
	struct flrt_stats st;
	flrt_stats_get(&st);
	return st.stuck_sends == 1;
}

/* The point makes a plain send block although a receiver is waiting (the
 * bug: a leaked, sleeping thread); the same send with a timeout or a
 * context returns that way; closing the channel frees the blocked one. */
Test(points, chan_send_block_holds_a_plain_send_for_good, .timeout = 20)
{
	cr_assert_eq(fiu_init(0), 0);
	struct flrt_chan *ch;
	cr_assert_eq(flrt_chan_make(&ch, sizeof(int), 0), 0);
	cr_assert_eq(fiu_enable("fl/chan/send/block", 1, NULL, 0), 0);

	struct blocked_send b = { .ch = ch, .rc = 1 };
	atomic_init(&b.tid, 0);
	struct flrt_worker w;
	cr_assert_eq(flrt_worker_start(&w, "stuck-sender", plain_send, &b), 0);
	cr_assert(eventually(stuck_is_one, NULL), "the send was not held");
	int v = 0;
	cr_assert_eq(flrt_chan_recv_timeout(ch, &v, 200), -ETIMEDOUT,
		     "a receiver got the value of a held send");
	sleep_ms(100);
	cr_assert_eq(b.rc, 1, "the held send returned (%d)", b.rc);
	cr_assert_eq(thread_state(atomic_load(&b.tid)), 'S', "the held sender is not asleep");

	double start = now_s();
	cr_assert_eq(flrt_chan_send_timeout(ch, &v, 100), -ETIMEDOUT);
	cr_assert_lt(now_s() - start, 2.0);
	struct flrt_ctx ctx;
	cr_assert_eq(flrt_ctx_init(&ctx, NULL, -1), 0);
	struct sender_arg s = { .ch = ch, .rc = 1, .ctx = &ctx };
	struct flrt_worker w2;
	cr_assert_eq(flrt_worker_start(&w2, "ctx-sender", send_one, &s), 0);
	sleep_ms(50);
	cr_assert_eq(s.rc, 1);
	flrt_ctx_cancel(&ctx);
	cr_assert_eq(flrt_worker_join(&w2, NULL), 0);
	cr_assert_eq(s.rc, -ECANCELED);
	flrt_ctx_destroy(&ctx);

	struct flrt_stats st;
	flrt_stats_get(&st);
	cr_assert_eq(st.blocked_sends, 3ul);
	cr_assert_eq(st.stuck_sends, 1ul);

	/* A try-send never blocks, so the point leaves it alone. */
	cr_assert_eq(flrt_chan_try_send(ch, &v), -EAGAIN);

	cr_assert_eq(flrt_chan_close(ch), 0);
	cr_assert_eq(flrt_worker_join(&w, NULL), 0);
	cr_assert_eq(b.rc, -EPIPE);
	cr_assert_eq(fiu_disable("fl/chan/send/block"), 0);
	cr_assert_eq(flrt_chan_free(ch), 0);
	assert_no_leaks();
}

/* ------------------------------------------------------------------ */
/* the leak check itself */

/* Proves that assert_no_leaks can fail: a block nobody points to any more
 * is reported. The pointer is kept only in a disguised form LeakSanitizer
 * cannot recognise, so the block can be freed afterwards and the test
 * process still exits clean. */
Test(leaks, the_leak_check_sees_a_leak)
{
	static volatile uintptr_t disguised;
	char *p = malloc(4096);
	cr_assert_not_null(p);
	memset(p, 1, 4096);
	disguised = (uintptr_t)p ^ (uintptr_t)0x5a5a5a5a5a5a5a5aULL;
	p = NULL;
	cr_assert_neq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer missed a leak");
	free((void *)(disguised ^ (uintptr_t)0x5a5a5a5a5a5a5a5aULL));
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0);
}
