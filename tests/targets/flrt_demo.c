/* A short program that uses every part of the runtime (lib/flrt*.c), for
 * tests/e2e_runtime.c to run under valgrind: defers in nested frames, a
 * panic in a deferred call, recover, buffered and unbuffered channels with
 * close and timeouts, a context cancelled and one that expires, joinable
 * and detached workers, and the runtime's own points fired through libfiu.
 * It prints "flrt_demo: ok <numbers>" and exits 0 when every step gave the
 * expected result. With --leak it loses one block on purpose (the test's
 * proof that valgrind would notice). */
#define _GNU_SOURCE
#define FIU_ENABLE 1
#include "flrt.h"

#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;
void *volatile flrt_demo_lost;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "flrt_demo: %s:%d: %s\n", __FILE__,    \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

static void free_it(void *arg)
{
	free(*(void **)arg);
}

static void count(void *arg)
{
	(*(int *)arg)++;
}

static void panic_in_defer(void *arg)
{
	(void)arg;
	flrt_panicf(EIO, "cleanup failed");
}

static void deep(void *arg)
{
	int *ran = arg;
	FLRT_SCOPE(scope);
	void *block = malloc(1000);
	flrt_defer(free_it, &block);
	flrt_defer(count, ran);
	flrt_defer(panic_in_defer, NULL);
	flrt_defer(count, ran);
	flrt_panicf(EPERM, "first");
}

struct pipe_arg {
	struct flrt_chan *in, *out;
};

static void doubler(void *arg)
{
	struct pipe_arg *p = arg;
	int v;
	while (flrt_chan_recv(p->in, &v) == 0) {
		int twice = 2 * v;
		if (flrt_chan_send(p->out, &twice) != 0)
			return;
	}
	flrt_chan_close(p->out);
}

static void detached_panics(void *arg)
{
	char *buf = malloc(64);
	FLRT_SCOPE(scope);
	flrt_defer(free_it, &buf);
	atomic_fetch_add((atomic_int *)arg, 1);
	flrt_panicf(ENOTSUP, "detached");
}

static void blocked_send(void *arg)
{
	struct flrt_chan *ch = arg;
	int v = 1;
	flrt_chan_send(ch, &v); /* Held by fl/chan/send/block until the close. */
}

int main(int argc, char **argv)
{
	int leak = argc > 1 && strcmp(argv[1], "--leak") == 0;

	/* defer, panic in a deferred call, recover */
	int ran = 0;
	struct flrt_panic p;
	CHECK(flrt_run(deep, &ran, &p) == 1);
	CHECK(ran == 2 && p.code == EIO && p.replaced == 1);

	/* channels between two workers, then close */
	struct pipe_arg pa;
	CHECK(flrt_chan_make(&pa.in, sizeof(int), 4) == 0);
	CHECK(flrt_chan_make(&pa.out, sizeof(int), 0) == 0);
	struct flrt_worker w;
	CHECK(flrt_worker_start(&w, "doubler", doubler, &pa) == 0);
	long sum = 0;
	for (int i = 1; i <= 100; i++) {
		int v;
		CHECK(flrt_chan_send(pa.in, &i) == 0);
		CHECK(flrt_chan_recv(pa.out, &v) == 0);
		sum += v;
	}
	CHECK(flrt_chan_close(pa.in) == 0);
	int v;
	CHECK(flrt_chan_recv(pa.out, &v) == -EPIPE);
	CHECK(flrt_worker_join(&w, NULL) == 0);
	CHECK(sum == 10100);
	CHECK(flrt_chan_recv_timeout(pa.in, &v, 10) == -EPIPE);
	CHECK(flrt_chan_free(pa.in) == 0 && flrt_chan_free(pa.out) == 0);

	/* contexts: cancel and deadline */
	struct flrt_chan *ch;
	CHECK(flrt_chan_make(&ch, sizeof(int), 0) == 0);
	struct flrt_ctx parent, child;
	CHECK(flrt_ctx_init(&parent, NULL, -1) == 0);
	CHECK(flrt_ctx_init(&child, &parent, 30) == 0);
	CHECK(flrt_chan_recv_ctx(ch, &v, &child) == -ETIMEDOUT);
	flrt_ctx_cancel(&parent);
	CHECK(flrt_chan_send_ctx(ch, &v, &parent) == -ECANCELED);
	CHECK(flrt_chan_send_timeout(ch, &v, 10) == -ETIMEDOUT);
	flrt_ctx_destroy(&child);
	flrt_ctx_destroy(&parent);

	/* a detached worker that panics */
	atomic_int started = 0;
	CHECK(flrt_go("detached", detached_panics, &started) == 0);

	/* the runtime's points */
	CHECK(fiu_init(0) == 0);
	CHECK(fiu_enable("fl/chan/send/block", 1, NULL, FIU_ONETIME) == 0);
	struct flrt_worker stuck;
	CHECK(flrt_worker_start(&stuck, "stuck", blocked_send, ch) == 0);
	struct flrt_stats st;
	for (int i = 0; i < 2000; i++) {
		flrt_stats_get(&st);
		if (st.stuck_sends == 1)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	CHECK(st.stuck_sends == 1);
	CHECK(flrt_chan_close(ch) == 0);
	CHECK(flrt_worker_join(&stuck, NULL) == 0);
	CHECK(flrt_chan_free(ch) == 0);
	CHECK(fiu_enable("fl/panic", 1, (void *)(intptr_t)EAGAIN, FIU_ONETIME) == 0);
	struct flrt_boundary b;
	flrt_boundary_begin(&b);
	if (setjmp(b.landing) == 0)
		flrt_checkpoint();
	CHECK(flrt_recover(&b, &p) == 1 && p.code == EAGAIN);
	fiu_disable("fl/chan/send/block");
	fiu_disable("fl/panic");

	/* every worker has ended before the process does */
	for (int i = 0; i < 5000; i++) {
		flrt_stats_get(&st);
		if (st.workers_running == 0)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	CHECK(st.workers_running == 0 && atomic_load(&started) == 1);
	CHECK(st.recovered >= 3);

	if (leak) {
		/* Through a volatile global, or the compiler may drop an
		 * allocation nobody uses. */
		flrt_demo_lost = malloc(123);
		flrt_demo_lost = NULL;
	}
	if (failures)
		return 1;
	printf("flrt_demo: ok panics=%lu recovered=%lu deferred=%lu workers=%lu\n", st.panics,
	       st.recovered, st.deferred, st.workers);
	return 0;
}
