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

/* ------------------------------------------------------------------ */
/* Run-length records: folded on the way out, expanded on the way in,   */
/* the digest the same either way.                                      */
/* ------------------------------------------------------------------ */

static fl_fault_rec call(const char *actor, const char *point, uint64_t n,
			 int err, double t)
{
	fl_fault_rec r;
	memset(&r, 0, sizeof r);
	snprintf(r.actor, sizeof r.actor, "%s", actor);
	snprintf(r.point, sizeof r.point, "%s", point);
	r.n = n;
	r.err = err;
	r.t = t;
	return r;
}

/* Two actors interleaved; a run ends at another errno, another point or
 * a call number that skips. */
Test(fold, consecutive_calls_of_an_actor_fold_into_runs)
{
	fl_fault_rec v[] = {
		call("0", "posix/io/oc/close", 5, EIO, 1.0),
		call("0.1", "posix/io/oc/close", 1, EIO, 1.1),
		call("0", "posix/io/oc/close", 6, EIO, 1.2),
		call("0.1", "posix/io/oc/close", 2, EIO, 1.3),
		call("0", "posix/io/oc/close", 7, EIO, 1.4),
		call("0", "posix/io/oc/close", 8, EINTR, 1.5),	/* errno */
		call("0", "posix/io/oc/open", 9, EINTR, 1.6),	/* point */
		call("0", "posix/io/oc/open", 11, EINTR, 1.7),	/* gap */
		call("0", "posix/io/oc/open", 12, EINTR, 1.8),
	};
	size_t nr;
	fl_fault_rec *runs = fl_journal_fold(v, 9, &nr);
	cr_assert_eq(nr, 5);
	struct {
		const char *actor, *point;
		uint64_t n, count;
		int err;
		double t, t_last;
	} want[] = {
		{"0", "posix/io/oc/close", 5, 3, EIO, 1.0, 1.4},
		{"0.1", "posix/io/oc/close", 1, 2, EIO, 1.1, 1.3},
		{"0", "posix/io/oc/close", 8, 1, EINTR, 1.5, 1.5},
		{"0", "posix/io/oc/open", 9, 1, EINTR, 1.6, 1.6},
		{"0", "posix/io/oc/open", 11, 2, EINTR, 1.7, 1.8},
	};
	for (size_t i = 0; i < nr; i++) {
		cr_assert_str_eq(runs[i].actor, want[i].actor, "run %zu", i);
		cr_assert_str_eq(runs[i].point, want[i].point, "run %zu", i);
		cr_assert_eq(runs[i].n, want[i].n, "run %zu", i);
		cr_assert_eq(runs[i].count, want[i].count, "run %zu", i);
		cr_assert_eq(runs[i].err, want[i].err, "run %zu", i);
		cr_assert_float_eq(runs[i].t, want[i].t, 1e-9, "run %zu", i);
		cr_assert_float_eq(runs[i].t_last, want[i].t_last, 1e-9, "run %zu", i);
	}
	free(runs);
}

/* Many actors (the folder's table grows), long runs broken now and then:
 * the runs expand back to exactly the calls, and the digest of the runs
 * is the digest of the calls, whole and per point. */
Test(fold, runs_expand_to_the_calls_and_keep_the_digest)
{
	enum { ACTORS = 300, PER = 200 };
	size_t n = ACTORS * PER;
	fl_fault_rec *v = calloc(n, sizeof *v);
	size_t k = 0;
	for (int c = 1; c <= PER; c++)
		for (int a = 0; a < ACTORS; a++) {
			char actor[16];
			snprintf(actor, sizeof actor, "0.%d", a + 1);
			/* Every 7th call of an actor another errno, every
			 * 50th another point. */
			v[k] = call(actor, c % 50 ? "posix/io/oc/close" : "posix/io/rw/read",
				    (uint64_t)c, c % 7 ? EIO : EINTR, (double)k);
			k++;
		}
	size_t nr;
	fl_fault_rec *runs = fl_journal_fold(v, n, &nr);
	cr_assert_lt(nr, n / 3, "%zu runs of %zu calls", nr, n);
	uint64_t sum = 0;
	for (size_t i = 0; i < nr; i++)
		sum += runs[i].count;
	cr_assert_eq(sum, n);

	/* Through a journal file's JSON and back. */
	fl_journal_file jf = {.scenario_file = "s.lua", .scenario_id = "s.lua",
			      .name = "s", .verdict = "PASS", .recs = runs, .nrecs = nr};
	json_t *doc = fl_journal_file_json(&jf);
	cr_assert_not_null(doc);
	cr_assert_eq(json_array_size(json_object_get(doc, "records")), nr);
	char path[] = "/tmp/fl-unit-journal-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
	fl_journal_file back;
	char err[256];
	cr_assert_eq(fl_journal_file_load(path, &back, err, sizeof err), 0, "%s", err);
	unlink(path);
	cr_assert_eq(back.nrecs, n);
	fl_fault_rec *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
	memcpy(a, v, n * sizeof *a);
	memcpy(b, back.recs, n * sizeof *b);
	qsort(a, n, sizeof *a, fl_fault_rec_cmp);
	qsort(b, n, sizeof *b, fl_fault_rec_cmp);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(a[i].actor, b[i].actor);
		cr_assert_str_eq(a[i].point, b[i].point);
		cr_assert_eq(a[i].n, b[i].n);
		cr_assert_eq(a[i].err, b[i].err);
	}

	char d_calls[17], d_runs[17], d_back[17];
	fl_journal_digest(a, n, d_calls);
	fl_journal_digest(runs, nr, d_runs);
	fl_journal_digest(b, n, d_back);
	cr_assert_str_eq(d_runs, d_calls);
	cr_assert_str_eq(d_back, d_calls);
	const char *points[] = {"posix/io/oc/close", "posix/io/rw/read"};
	for (int p = 0; p < 2; p++) {
		fl_journal_digest_point(a, n, points[p], d_calls);
		fl_journal_digest_point(runs, nr, points[p], d_runs);
		cr_assert_str_eq(d_runs, d_calls, "%s", points[p]);
	}
	fl_journal_file_free(&back);
	free(a);
	free(b);
	free(runs);
	free(v);
}

/* The same calls twice (a program executed with the agent counts from 1
 * again, with the same actor): the runs overlap, and the digest is still
 * that of the calls in (actor, point, n, errno) order. */
Test(fold, overlapping_runs_digest_like_their_calls)
{
	fl_fault_rec v[] = {
		call("0", "posix/io/oc/close", 1, EIO, 1.0),
		call("0", "posix/io/oc/close", 2, EIO, 1.1),
		call("0", "posix/io/oc/close", 3, EIO, 1.2),
		/* exec: the new image's calls 1, 2 */
		call("0", "posix/io/oc/close", 1, EINTR, 2.0),
		call("0", "posix/io/oc/close", 2, EINTR, 2.1),
	};
	size_t nr;
	fl_fault_rec *runs = fl_journal_fold(v, 5, &nr);
	cr_assert_eq(nr, 2);
	char d_calls[17], d_runs[17];
	fl_journal_digest(v, 5, d_calls);
	fl_journal_digest(runs, nr, d_runs);
	cr_assert_str_eq(d_runs, d_calls);
	free(runs);
}

/* A journal file's counts are checked before anything is allocated: a
 * bad one, or more calls than replay takes, is an error that says so. */
Test(fold, a_files_counts_are_bounded)
{
	char err[256];
	fl_fault_rec *v;
	size_t n;
	json_t *bad = json_pack("[{s:s,s:s,s:i,s:s,s:f,s:i}]", "point", "p", "actor", "0",
				"n", 1, "errno", "EIO", "t", 0.5, "count", 0);
	cr_assert_eq(fl_journal_calls_of(bad, "j.json", &v, &n, err, sizeof err), -EINVAL);
	cr_assert_str_eq(err, "j.json: record 1 has a bad count");
	json_decref(bad);
	json_t *huge = json_pack("[{s:s,s:s,s:i,s:s,s:f,s:I}]", "point", "p", "actor", "0",
				 "n", 1, "errno", "EIO", "t", 0.5, "count",
				 (json_int_t)FL_JOURNAL_CALLS_MAX + 1);
	cr_assert_eq(fl_journal_calls_of(huge, "j.json", &v, &n, err, sizeof err), -EINVAL);
	cr_assert(strstr(err, "more than 4194304 calls"), "%s", err);
	json_decref(huge);
	json_t *ok = json_pack("[{s:s,s:s,s:i,s:s,s:f,s:i,s:f}]", "point", "p", "actor", "0",
			       "n", 10, "errno", "EIO", "t", 1.0, "count", 3, "t_last", 2.0);
	cr_assert_eq(fl_journal_calls_of(ok, "j.json", &v, &n, err, sizeof err), 0, "%s", err);
	cr_assert_eq(n, 3);
	cr_assert_eq(v[0].n, 10);
	cr_assert_eq(v[2].n, 12);
	cr_assert_float_eq(v[1].t, 1.5, 1e-9);
	cr_assert_eq(v[2].err, EIO);
	free(v);
	json_decref(ok);
}
