/* The fault journal's ring under ASan and UBSan: the writers' code the
 * agent runs (lib/agent_ring.h) against the harness's drainer
 * (harness/journal.c), with a ring made tiny through the test knobs so
 * that it is full all the time. Every record arrives, once, in each
 * writer's order, whether the writers are threads or forked processes;
 * a drainer that drains only for a waiting writer makes exactly one wait
 * per ring's worth; a harness that never drains costs one bounded wait
 * and counts every other record lost; a writer that dies between claim
 * and publish leaves a torn record that the last drain skips and counts.
 * No assertion depends on timing: what the writers wait for is the
 * drainer, never the clock. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/agent_ring.h"
#include "faults.h"
#include "journal.h"

static fl_faults f;
static fl_journal j;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fl_jentry *recs;
static size_t nrecs, cap;

/* A region whose ring holds capacity records; the knobs are read when
 * the region is made and when the drainer starts. */
static void make_region(int capacity, long wait_ms, const char *drain)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%d", capacity);
	setenv("FL_TEST_JOURNAL_CAPACITY", buf, 1);
	if (wait_ms >= 0) {
		snprintf(buf, sizeof buf, "%ld", wait_ms);
		setenv("FL_TEST_JOURNAL_WAIT_MS", buf, 1);
	} else {
		unsetenv("FL_TEST_JOURNAL_WAIT_MS");
	}
	if (drain)
		setenv("FL_TEST_JOURNAL_DRAIN", drain, 1);
	else
		unsetenv("FL_TEST_JOURNAL_DRAIN");
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	cr_assert_eq(fl_journal_attach(&j, f.shm, f.shm_size), 0);
	cr_assert_eq(j.hdr->capacity, (uint32_t)capacity);
	recs = NULL;
	nrecs = cap = 0;
}

static void teardown(void)
{
	fl_journal_close(&j);
	fl_faults_free(&f);
	free(recs);
}

/* What the agent does for one fired fault (lib/agent.c journal_write):
 * 1 if the record went in. */
static int write_one(const char *actor, uint64_t n, int err)
{
	uint64_t w;
	if (!fl_ring_claim(j.hdr, 1, NULL, &w))
		return 0;
	fl_journal_rec *r = fl_ring_rec(j.hdr, j.recs, w);
	r->t_ns = (uint64_t)fl_ring_now();
	r->n = n;
	r->kind = FL_JREC_FAULT;
	r->slot = 3;
	r->err = err;
	r->pid = (uint32_t)getpid();
	snprintf(r->actor, sizeof r->actor, "%s", actor);
	fl_ring_publish(j.hdr, j.recs, w);
	return 1;
}

static void start_pump(void)
{
	cr_assert_eq(fl_journal_pump_start(&j, &lock, 0, &recs, &nrecs, &cap,
					   1000000),
		     0);
}

/* Stops the drainer and drains what is left, as the harness does once
 * the target is gone. */
static void finish(void)
{
	fl_journal_pump_stop(&j);
	fl_journal_drain_final(&j, 0, &recs, &nrecs, &cap);
}

/* Each writer's records arrived once, n = 1..per in order. */
static void assert_complete(int writers, int per, const char *fmt)
{
	cr_assert_eq(nrecs, (size_t)writers * (size_t)per);
	uint64_t *next = calloc((size_t)writers, sizeof *next);
	for (size_t i = 0; i < nrecs; i++) {
		int k = -1;
		for (int w = 0; w < writers && k < 0; w++) {
			char name[FL_ACTOR_MAX];
			snprintf(name, sizeof name, fmt, w + 1);
			if (!strcmp(recs[i].actor, name))
				k = w;
		}
		cr_assert_geq(k, 0, "actor %s", recs[i].actor);
		cr_assert_eq(recs[i].n, next[k] + 1, "%s: n %llu after %llu",
			     recs[i].actor, (unsigned long long)recs[i].n,
			     (unsigned long long)next[k]);
		next[k] = recs[i].n;
	}
	free(next);
}

#define THREADS 8
#define PER_THREAD 20000

static void *writer(void *arg)
{
	int k = (int)(intptr_t)arg;
	char actor[16];
	snprintf(actor, sizeof actor, "0.%d", k);
	for (int n = 1; n <= PER_THREAD; n++)
		if (!write_one(actor, (uint64_t)n, EIO))
			return (void *)1;
	return NULL;
}

/* 160 000 records through a ring of 16: the writers wait for the
 * drainer all the time, and nothing is lost or duplicated. */
Test(journal, threads_through_a_tiny_ring_lose_nothing, .fini = teardown,
     .timeout = 120)
{
	make_region(16, -1, NULL);
	start_pump();
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, writer,
					    (void *)(intptr_t)(i + 1)),
			     0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		cr_assert_null(r, "writer %d lost a record", i + 1);
	}
	finish();
	fl_journal_stats st;
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.lost, 0);
	cr_assert_eq(st.torn, 0);
	assert_complete(THREADS, PER_THREAD, "0.%d");
	cr_assert_eq(atomic_load(&j.hdr->read_idx), (uint64_t)THREADS * PER_THREAD);
	cr_assert_eq(atomic_load(&j.hdr->waiters), 0);
}

/* Forked processes share the region, and its futexes: three children
 * write 5 000 records each through a ring of 8 that this process
 * drains. */
Test(journal, forked_writers_wait_for_the_harness, .fini = teardown,
     .timeout = 120)
{
	make_region(8, -1, NULL);
	start_pump();
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		cr_assert_geq(kids[i], 0);
		if (kids[i] == 0) {
			char actor[16];
			snprintf(actor, sizeof actor, "0f%d", i + 1);
			for (int n = 1; n <= 5000; n++)
				if (!write_one(actor, (uint64_t)n, EIO))
					_exit(1);
			_exit(0);
		}
	}
	for (int i = 0; i < 3; i++) {
		int status;
		cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "child %d lost a record", i + 1);
	}
	finish();
	fl_journal_stats st;
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.lost, 0);
	assert_complete(3, 5000, "0f%d");
}

/* A drainer that empties the ring only for a waiting writer (the test
 * hook "waiters"): with one writer and a ring of 8, every 8th record
 * after the first 8 waits, 124 times for 1 000 records. */
Test(journal, a_full_ring_makes_the_writer_wait_once_per_ring,
     .fini = teardown, .timeout = 60)
{
	make_region(8, -1, "waiters");
	start_pump();
	for (int n = 1; n <= 1000; n++)
		cr_assert(write_one("0.1", (uint64_t)n, EIO), "record %d", n);
	finish();
	fl_journal_stats st;
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.lost, 0);
	cr_assert_eq(st.waits, 124);
	cr_assert_gt(st.waited_ns, 0);
	assert_complete(1, 1000, "0.%d");
}

/* A harness that never drains (stopped, gone): the first writer to find
 * the ring full waits once for the bound, then it and every later one
 * count their records lost at once; the next drain ends the stall and
 * the writers wait again. */
Test(journal, a_harness_that_never_drains_costs_one_bounded_wait,
     .fini = teardown, .timeout = 60)
{
	make_region(8, 30, "end");
	int written = 0;
	for (int n = 1; n <= 100; n++)
		written += write_one("0", (uint64_t)n, EIO);
	cr_assert_eq(written, 8);
	fl_journal_stats st;
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.lost, 92);
	cr_assert_eq(st.waits, 1);
	cr_assert_geq(st.waited_ns, 30 * 1000000ULL);
	cr_assert_eq(atomic_load(&j.hdr->stalled), 1);
	/* The harness comes back: the eight are there, the stall is over. */
	cr_assert_eq(fl_journal_drain(&j, 0, &recs, &nrecs, &cap), 8);
	cr_assert_eq(atomic_load(&j.hdr->stalled), 0);
	for (int n = 101; n <= 108; n++)
		cr_assert(write_one("0", (uint64_t)n, EIO));
	cr_assert_eq(fl_journal_drain(&j, 0, &recs, &nrecs, &cap), 8);
	cr_assert_eq(recs[0].n, 1);
	cr_assert_eq(recs[7].n, 8);
	cr_assert_eq(recs[8].n, 101);
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.lost, 92);
}

/* wait 0 is the old rule: a full ring counts the record lost, never
 * waits (what make bench compares with). */
Test(journal, wait_zero_never_waits, .fini = teardown)
{
	make_region(4, 0, "end");
	int written = 0;
	for (int n = 1; n <= 10; n++)
		written += write_one("0", (uint64_t)n, EIO);
	cr_assert_eq(written, 4);
	fl_journal_stats st;
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.lost, 6);
	cr_assert_eq(st.waits, 0);
}

/* A writer that died between claim and publish: a drain stops there
 * (the writer might still be filling it), the last drain skips it and
 * counts it torn, and takes the records after it. */
Test(journal, a_record_never_published_is_torn_at_the_end, .fini = teardown)
{
	make_region(8, -1, "end");
	cr_assert(write_one("0", 1, EIO));
	uint64_t w;
	cr_assert(fl_ring_claim(j.hdr, 1, NULL, &w));
	cr_assert_eq(w, 1);
	cr_assert(write_one("0", 3, EIO));
	cr_assert_eq(fl_journal_drain(&j, 0, &recs, &nrecs, &cap), 1);
	cr_assert_eq(fl_journal_drain(&j, 0, &recs, &nrecs, &cap), 0);
	cr_assert_eq(fl_journal_drain_final(&j, 0, &recs, &nrecs, &cap), 1);
	cr_assert_eq(nrecs, 2);
	cr_assert_eq(recs[1].n, 3);
	fl_journal_stats st;
	fl_journal_get_stats(&j, &st);
	cr_assert_eq(st.torn, 1);
	cr_assert_eq(st.lost, 0);
}

/* The region's defaults: the full capacity, and the 10 s bound. */
Test(journal, defaults_without_knobs, .fini = teardown)
{
	unsetenv("FL_TEST_JOURNAL_CAPACITY");
	unsetenv("FL_TEST_JOURNAL_WAIT_MS");
	unsetenv("FL_TEST_JOURNAL_DRAIN");
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, 0, 0), 0);
	cr_assert_eq(fl_journal_attach(&j, f.shm, f.shm_size), 0);
	cr_assert_eq(j.hdr->capacity, FL_JOURNAL_CAPACITY);
	cr_assert_eq(j.hdr->wait_ns, FL_JOURNAL_WAIT_NS);
	recs = NULL;
	nrecs = cap = 0;
}
