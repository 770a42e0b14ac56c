#define _GNU_SOURCE
#include "journal.h"

#include "util.h"

#include "../lib/agent_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A test knob: a non-negative integer from the environment, or -1. */
static long long test_knob(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return -1;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	return errno || *end || x < 0 ? -1 : x;
}

uint32_t fl_journal_capacity(void)
{
	long long cap = test_knob("FL_TEST_JOURNAL_CAPACITY");
	return cap >= 2 && cap <= FL_JOURNAL_CAPACITY_MAX ? (uint32_t)cap
							  : FL_JOURNAL_CAPACITY;
}

void fl_journal_init_region(fl_journal_hdr *h, uint32_t cap)
{
	long long wait_ms = test_knob("FL_TEST_JOURNAL_WAIT_MS");
	h->capacity = cap;
	h->record_size = sizeof(fl_journal_rec);
	h->wait_ns = wait_ms >= 0 ? (uint64_t)wait_ms * 1000000ULL
				  : FL_JOURNAL_WAIT_NS;
}

int fl_journal_attach(fl_journal *j, void *region, size_t size)
{
	memset(j, 0, sizeof *j);
	fl_shm_view v;
	if (!region || fl_shm_view_of(region, size, &v) < 0 ||
	    v.jhdr->record_size != sizeof(fl_journal_rec) ||
	    v.jhdr->capacity == 0 || v.jhdr->capacity > FL_JOURNAL_CAPACITY_MAX ||
	    v.hdr->off_records + (size_t)v.jhdr->capacity * sizeof(fl_journal_rec) >
		    size)
		return -EINVAL;
	j->hdr = v.jhdr;
	j->recs = v.jrecs;
	return 0;
}

void fl_journal_close(fl_journal *j)
{
	fl_journal_pump_stop(j);
	j->hdr = NULL;
	j->recs = NULL;
}

/* Drains [read_idx, write_idx): stops at the first record not yet
 * published (its writer is still filling it), or, when final, skips it
 * and counts it torn. */
static size_t drain(fl_journal *j, int64_t start_ns, fl_jentry **v, size_t *n,
		    size_t *cap, int final)
{
	if (!j->hdr)
		return 0;
	fl_journal_hdr *h = j->hdr;
	uint64_t r = atomic_load_explicit(&h->read_idx, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&h->write_idx, memory_order_acquire);
	uint64_t from = r;
	size_t added = 0;
	while (r < w) {
		fl_journal_rec *rec = fl_ring_rec(h, j->recs, r);
		if (atomic_load_explicit(&rec->seq, memory_order_acquire) != r + 1) {
			if (!final)
				break;
			j->torn++;
			r++;
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*v = fl_xrealloc(*v, *cap * sizeof **v);
		}
		fl_jentry *e = &(*v)[(*n)++];
		e->t_ns = (int64_t)rec->t_ns - start_ns;
		e->kind = rec->kind;
		e->slot = rec->slot;
		e->n = rec->n;
		e->err = rec->err;
		e->pid = rec->pid;
		memcpy(e->actor, rec->actor, sizeof e->actor);
		e->actor[sizeof e->actor - 1] = '\0';
		r++;
		added++;
	}
	/* Room given back, and the writers waiting for it woken. */
	if (r != from)
		fl_ring_consumed(h, r);
	return added;
}

size_t fl_journal_drain(fl_journal *j, int64_t start_ns, fl_jentry **v,
			size_t *n, size_t *cap)
{
	/* The test hooks leave draining to the drainer (or to the end). */
	if (j->drain_mode != FL_JOURNAL_DRAIN_PROMPT)
		return 0;
	return drain(j, start_ns, v, n, cap, 0);
}

size_t fl_journal_drain_final(fl_journal *j, int64_t start_ns, fl_jentry **v,
			      size_t *n, size_t *cap)
{
	return drain(j, start_ns, v, n, cap, 1);
}

void fl_journal_get_stats(const fl_journal *j, fl_journal_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!j->hdr)
		return;
	st->lost = atomic_load(&j->hdr->lost);
	st->torn = j->torn;
	st->waits = atomic_load(&j->hdr->waits);
	st->waited_ns = atomic_load(&j->hdr->waited_ns);
	st->wait_ns = j->hdr->wait_ns;
}

/* The ring is full and a writer waits for room: the only moment the
 * test hook "waiters" drains, so that each drain follows exactly one
 * full ring. */
static int waited_on(fl_journal_hdr *h)
{
	uint64_t r = atomic_load(&h->read_idx);
	return atomic_load(&h->waiters) &&
	       atomic_load(&h->write_idx) - r >= h->capacity;
}

/* The drainer's loop: it sleeps on the doorbell, which a writer rings
 * when the ring is half full and again before it waits for room, so a
 * burst is drained as it comes, whatever the sampling rate. */
static void *pump_main(void *arg)
{
	fl_journal *j = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	fl_journal_hdr *h = j->hdr;
	for (;;) {
		uint32_t bell = atomic_load(&h->doorbell);
		if (atomic_load(&j->pump_stop))
			break;
		if (j->drain_mode != FL_JOURNAL_DRAIN_WAITERS || waited_on(h)) {
			pthread_mutex_lock(j->lock);
			drain(j, j->start_ns, j->v, j->n, j->cap, 0);
			pthread_mutex_unlock(j->lock);
		}
		fl_ring_futex(&h->doorbell, FUTEX_WAIT, bell,
			      j->drain_mode == FL_JOURNAL_DRAIN_WAITERS
				      ? -1
				      : j->period_ns);
	}
	return NULL;
}

/* The drainer's period: what it is asked, within these. */
#define PUMP_PERIOD_MIN_NS (1000000LL)
#define PUMP_PERIOD_MAX_NS (1000000000LL)

int fl_journal_pump_start(fl_journal *j, pthread_mutex_t *lock,
			  int64_t start_ns, fl_jentry **v, size_t *n,
			  size_t *cap, int64_t period_ns)
{
	if (!j->hdr || j->pump_running)
		return -EINVAL;
	const char *mode = getenv("FL_TEST_JOURNAL_DRAIN");
	j->drain_mode = !mode ? FL_JOURNAL_DRAIN_PROMPT
			: strcmp(mode, "waiters") == 0 ? FL_JOURNAL_DRAIN_WAITERS
			: strcmp(mode, "end") == 0     ? FL_JOURNAL_DRAIN_END
						       : FL_JOURNAL_DRAIN_PROMPT;
	if (j->drain_mode == FL_JOURNAL_DRAIN_END)
		return 0;
	j->lock = lock;
	j->start_ns = start_ns;
	j->v = v;
	j->n = n;
	j->cap = cap;
	j->period_ns = period_ns < PUMP_PERIOD_MIN_NS   ? PUMP_PERIOD_MIN_NS
		       : period_ns > PUMP_PERIOD_MAX_NS ? PUMP_PERIOD_MAX_NS
							: period_ns;
	atomic_store(&j->pump_stop, 0);
	int r = pthread_create(&j->pump, NULL, pump_main, j);
	if (r != 0)
		return -r;
	j->pump_running = 1;
	return 0;
}

void fl_journal_pump_stop(fl_journal *j)
{
	if (!j->pump_running)
		return;
	atomic_store(&j->pump_stop, 1);
	atomic_fetch_add(&j->hdr->doorbell, 1);
	fl_ring_futex(&j->hdr->doorbell, FUTEX_WAKE, INT_MAX, -1);
	pthread_join(j->pump, NULL);
	j->pump_running = 0;
}

/* Actor names compare as paths of numbers: "0.2" < "0.10". */
static int actor_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			char *ea, *eb;
			unsigned long long x = strtoull(a, &ea, 10);
			unsigned long long y = strtoull(b, &eb, 10);
			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return (*a != '\0') - (*b != '\0');
}

int fl_fault_rec_cmp(const void *pa, const void *pb)
{
	const fl_fault_rec *a = pa, *b = pb;
	int c = actor_cmp(a->actor, b->actor);
	/* Actors that read as the same numbers ("0.2", "0.02") stay
	 * apart: each actor's records are together in the order. */
	if (!c)
		c = strcmp(a->actor, b->actor);
	if (c)
		return c;
	c = strcmp(a->point, b->point);
	if (c)
		return c;
	if (a->n != b->n)
		return (a->n > b->n) - (a->n < b->n);
	/* The same call twice (a program executed with the agent counts
	 * from 1 again): the order of their lines does not depend on the
	 * sort. */
	return (a->err > b->err) - (a->err < b->err);
}

static uint64_t fnv_feed(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Decimal digits of x at the end of buf; returns where they start. */
static char *utoa_end(uint64_t x, char *end)
{
	do {
		*--end = (char)('0' + x % 10);
		x /= 10;
	} while (x);
	return end;
}

/* FNV-1a over the line "actor point n errno\n" of each call of v, sorted
 * (runs expanded in place: their calls are consecutive in the order). */
static uint64_t digest_runs(const fl_fault_rec *v, size_t n, const char *point)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		if (point && strcmp(v[i].point, point) != 0)
			continue;
		char head[256], tail[24];
		int hl = snprintf(head, sizeof head, "%s %s ", v[i].actor,
				  v[i].point);
		if (hl < 0 || (size_t)hl >= sizeof head)
			hl = (int)strlen(head);
		int tl = snprintf(tail, sizeof tail, " %d\n", v[i].err);
		uint64_t count = v[i].count ? v[i].count : 1;
		for (uint64_t c = 0; c < count; c++) {
			char num[24];
			char *d = utoa_end(v[i].n + c, num + sizeof num);
			h = fnv_feed(h, head, (size_t)hl);
			h = fnv_feed(h, d, (size_t)(num + sizeof num - d));
			h = fnv_feed(h, tail, (size_t)tl);
		}
	}
	return h;
}

/* Do two of the sorted runs share a call (the same actor, point and
 * n)? Then the runs' order is not the calls' order. */
static int runs_overlap(const fl_fault_rec *v, size_t n, const char *point)
{
	const fl_fault_rec *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		if (point && strcmp(v[i].point, point) != 0)
			continue;
		if (prev && !strcmp(prev->actor, v[i].actor) &&
		    !strcmp(prev->point, v[i].point) &&
		    v[i].n < prev->n + (prev->count ? prev->count : 1))
			return 1;
		prev = &v[i];
	}
	return 0;
}

/* The digest of sorted v (or of its records of one point): the calls'
 * lines in (actor, point, n, errno) order, whether v holds calls or
 * runs. */
static void digest_of(const fl_fault_rec *v, size_t n, const char *point,
		      char out[17])
{
	uint64_t h;
	if (!runs_overlap(v, n, point)) {
		h = digest_runs(v, n, point);
	} else {
		/* Calls numbered twice: expanded and sorted one by one. */
		size_t total = 0;
		for (size_t i = 0; i < n; i++)
			if (!point || !strcmp(v[i].point, point))
				total += v[i].count ? v[i].count : 1;
		fl_fault_rec *calls = fl_xmalloc((total + 1) * sizeof *calls);
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (point && strcmp(v[i].point, point) != 0)
				continue;
			uint64_t count = v[i].count ? v[i].count : 1;
			for (uint64_t c = 0; c < count; c++) {
				calls[k] = v[i];
				calls[k].n = v[i].n + c;
				calls[k].count = 1;
				k++;
			}
		}
		qsort(calls, k, sizeof *calls, fl_fault_rec_cmp);
		h = digest_runs(calls, k, NULL);
		free(calls);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void fl_journal_digest(fl_fault_rec *v, size_t n, char out[17])
{
	if (n > 1)
		qsort(v, n, sizeof *v, fl_fault_rec_cmp);
	digest_of(v, n, NULL, out);
}

void fl_journal_digest_point(const fl_fault_rec *v, size_t n,
			     const char *point, char out[17])
{
	digest_of(v, n, point, out);
}

/* The actor -> its last run table of fl_journal_fold: open addressing
 * on the actor's hash, grown at half full. */
static size_t *last_run_slot(struct fl_last_run *t, size_t mask,
			     const fl_fault_rec *runs, uint64_t h,
			     const char *actor)
{
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (!t[i].run || (t[i].hash == h &&
				  !strcmp(runs[t[i].run - 1].actor, actor))) {
			t[i].hash = h;
			return &t[i].run;
		}
	}
}

void fl_journal_folder_add(fl_journal_folder *f, const fl_fault_rec *call)
{
	if (f->used * 2 >= f->size) {
		size_t nsize = f->size ? f->size * 2 : 64;
		struct fl_last_run *nt = fl_xcalloc(nsize, sizeof *nt);
		for (size_t k = 0; k < f->size; k++)
			if (f->table[k].run)
				*last_run_slot(nt, nsize - 1, f->runs,
					       f->table[k].hash,
					       f->runs[f->table[k].run - 1].actor) =
					f->table[k].run;
		free(f->table);
		f->table = nt;
		f->size = nsize;
	}
	uint64_t h = fl_hash_str(call->actor);
	size_t *slot = last_run_slot(f->table, f->size - 1, f->runs, h,
				     call->actor);
	uint64_t calls = call->count ? call->count : 1;
	if (*slot) {
		fl_fault_rec *r = &f->runs[*slot - 1];
		uint64_t count = r->count ? r->count : 1;
		if (r->err == call->err && call->n == r->n + count &&
		    !strcmp(r->point, call->point)) {
			r->count = count + calls;
			r->t_last = calls > 1 ? call->t_last : call->t;
			return;
		}
	} else {
		f->used++;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 256;
		f->runs = fl_xrealloc(f->runs, f->cap * sizeof *f->runs);
	}
	fl_fault_rec *r = &f->runs[f->n];
	*r = *call;
	r->count = calls;
	r->t_last = calls > 1 ? call->t_last : call->t;
	*slot = ++f->n;
}

fl_fault_rec *fl_journal_folder_take(fl_journal_folder *f, size_t *nruns)
{
	fl_fault_rec *runs = f->runs ? f->runs : fl_xcalloc(1, sizeof *runs);
	*nruns = f->n;
	free(f->table);
	memset(f, 0, sizeof *f);
	return runs;
}

fl_fault_rec *fl_journal_fold(const fl_fault_rec *v, size_t n, size_t *nruns)
{
	fl_journal_folder f;
	memset(&f, 0, sizeof f);
	for (size_t i = 0; i < n; i++)
		fl_journal_folder_add(&f, &v[i]);
	return fl_journal_folder_take(&f, nruns);
}

int fl_journal_calls_of(json_t *records, const char *what, fl_fault_rec **out,
			size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	size_t total = 0, nrec = json_array_size(records);
	/* Counted first: a file's counts decide the memory, so they are
	 * bounded before anything is allocated. */
	for (size_t i = 0; i < nrec; i++) {
		json_t *c = json_object_get(json_array_get(records, i), "count");
		json_int_t k = c ? json_integer_value(c) : 1;
		if ((c && !json_is_integer(c)) || k < 1) {
			snprintf(err, errlen, "%s: record %zu has a bad count",
				 what, i + 1);
			return -EINVAL;
		}
		if ((uint64_t)k > FL_JOURNAL_CALLS_MAX - total) {
			snprintf(err, errlen,
				 "%s: more than %zu calls (at record %zu): more "
				 "than replay and shrink take",
				 what, (size_t)FL_JOURNAL_CALLS_MAX, i + 1);
			return -EINVAL;
		}
		total += (size_t)k;
	}
	fl_fault_rec *v = fl_xcalloc(total + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < nrec; i++) {
		json_t *r = json_array_get(records, i);
		fl_fault_rec x;
		memset(&x, 0, sizeof x);
		const char *pt = json_string_value(json_object_get(r, "point"));
		const char *ac = json_string_value(json_object_get(r, "actor"));
		snprintf(x.point, sizeof x.point, "%s", pt ? pt : "");
		snprintf(x.actor, sizeof x.actor, "%s", ac ? ac : "");
		x.n = (uint64_t)json_integer_value(json_object_get(r, "n"));
		json_t *e = json_object_get(r, "errno");
		x.err = json_is_string(e) ? fl_errno_from_name(json_string_value(e))
					  : (int)json_integer_value(e);
		x.t = json_number_value(json_object_get(r, "t"));
		json_t *c = json_object_get(r, "count");
		uint64_t count = c ? (uint64_t)json_integer_value(c) : 1;
		json_t *tl = json_object_get(r, "t_last");
		double t_last = json_is_number(tl) ? json_number_value(tl) : x.t;
		if (!x.point[0] || !x.actor[0] || x.n == 0 ||
		    x.n > UINT64_MAX - count) {
			snprintf(err, errlen, "%s: record %zu is incomplete", what,
				 i + 1);
			free(v);
			return -EINVAL;
		}
		/* The calls inside a run keep no time of their own: spread
		 * evenly between its first and last, for people only. */
		for (uint64_t c2 = 0; c2 < count; c2++) {
			v[k] = x;
			v[k].n = x.n + c2;
			v[k].count = 1;
			v[k].t = count > 1 ? x.t + (t_last - x.t) * (double)c2 /
							(double)(count - 1)
					   : x.t;
			v[k].t_last = v[k].t;
			k++;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

json_t *fl_journal_file_json(const fl_journal_file *f)
{
	json_t *failed = json_array();
	for (int i = 0; i < f->nfailed; i++)
		json_array_append_new(failed, json_string(f->failed[i]));
	json_t *recs = json_array();
	for (size_t i = 0; i < f->nrecs; i++) {
		const fl_fault_rec *x = &f->recs[i];
		const char *en = fl_errno_name(x->err);
		json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:f}", "point", x->point,
				      "actor", x->actor, "n", (json_int_t)x->n,
				      "errno",
				      en ? json_string(en) : json_integer(x->err),
				      "t", x->t);
		/* A run says how many calls, and when the last was. */
		if (o && x->count > 1) {
			json_object_set_new(o, "count",
					    json_integer((json_int_t)x->count));
			json_object_set_new(o, "t_last", json_real(x->t_last));
		}
		json_array_append_new(recs, o);
	}
	return json_pack("{s:s,s:i,s:{s:s,s:i,s:s,s:s},s:I,s:s,s:o,s:I,s:o}",
			 "schema", "faultline.journal", "schema_version",
			 FL_JOURNAL_SCHEMA_VERSION,
			 "scenario", "file", f->scenario_file, "index", f->index,
			 "id", f->scenario_id, "name", f->name, "seed",
			 (json_int_t)f->seed, "verdict", f->verdict, "failed",
			 failed, "lost", (json_int_t)f->lost, "records", recs);
}

int fl_journal_file_load(const char *path, fl_journal_file *f, char *err,
			 size_t errlen)
{
	memset(f, 0, sizeof *f);
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	if (!doc) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	json_t *sc = json_object_get(doc, "scenario");
	json_t *recs = json_object_get(doc, "records");
	if (!schema || strcmp(schema, "faultline.journal") != 0 ||
	    !json_is_object(sc) || !json_is_array(recs)) {
		snprintf(err, errlen,
			 "%s: not a faultline journal (faultline run writes "
			 "them as journal-N.json next to results.json)",
			 path);
		json_decref(doc);
		return -EINVAL;
	}
	f->scenario_file = fl_xstrdup(json_string_value(json_object_get(sc, "file")));
	f->index = (int)json_integer_value(json_object_get(sc, "index"));
	f->scenario_id = fl_xstrdup(json_string_value(json_object_get(sc, "id")));
	f->name = fl_xstrdup(json_string_value(json_object_get(sc, "name")));
	f->seed = (uint64_t)json_integer_value(json_object_get(doc, "seed"));
	f->verdict = fl_xstrdup(json_string_value(json_object_get(doc, "verdict")));
	f->lost = (uint64_t)json_integer_value(json_object_get(doc, "lost"));
	json_t *failed = json_object_get(doc, "failed");
	f->nfailed = (int)json_array_size(failed);
	f->failed = fl_xcalloc((size_t)f->nfailed + 1, sizeof *f->failed);
	for (int i = 0; i < f->nfailed; i++)
		f->failed[i] = fl_xstrdup(
			json_string_value(json_array_get(failed, (size_t)i)));
	if (fl_journal_calls_of(recs, path, &f->recs, &f->nrecs, err, errlen) <
	    0) {
		json_decref(doc);
		fl_journal_file_free(f);
		return -EINVAL;
	}
	json_decref(doc);
	if (!f->scenario_file || !f->scenario_file[0]) {
		snprintf(err, errlen, "%s: the journal names no scenario file",
			 path);
		fl_journal_file_free(f);
		return -EINVAL;
	}
	return 0;
}

void fl_journal_file_free(fl_journal_file *f)
{
	free(f->scenario_file);
	free(f->scenario_id);
	free(f->name);
	free(f->verdict);
	for (int i = 0; i < f->nfailed; i++)
		free(f->failed[i]);
	free(f->failed);
	free(f->recs);
	memset(f, 0, sizeof *f);
}
