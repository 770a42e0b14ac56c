#define _GNU_SOURCE
#include "journal.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int fl_journal_attach(fl_journal *j, void *region, size_t size)
{
	memset(j, 0, sizeof *j);
	fl_shm_view v;
	if (!region || fl_shm_view_of(region, size, &v) < 0 ||
	    v.jhdr->record_size != sizeof(fl_journal_rec) ||
	    v.jhdr->capacity == 0)
		return -EINVAL;
	j->hdr = v.jhdr;
	j->recs = v.jrecs;
	return 0;
}

void fl_journal_close(fl_journal *j)
{
	j->hdr = NULL;
	j->recs = NULL;
}

size_t fl_journal_drain(fl_journal *j, int64_t start_ns, fl_jentry **v,
			size_t *n, size_t *cap)
{
	if (!j->hdr)
		return 0;
	fl_journal_hdr *h = j->hdr;
	uint64_t r = atomic_load_explicit(&h->read_idx, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&h->write_idx, memory_order_acquire);
	size_t added = 0;
	while (r < w) {
		fl_journal_rec *rec = &j->recs[r % h->capacity];
		/* Claimed but not yet written: wait for the next drain. */
		if (atomic_load_explicit(&rec->seq, memory_order_acquire) != r + 1)
			break;
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
	atomic_store_explicit(&h->read_idx, r, memory_order_release);
	return added;
}

uint64_t fl_journal_lost(const fl_journal *j)
{
	return j->hdr ? atomic_load(&j->hdr->lost) : 0;
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
	if (c)
		return c;
	c = strcmp(a->point, b->point);
	if (c)
		return c;
	return (a->n > b->n) - (a->n < b->n);
}

static uint64_t fnv_feed(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void digest_of(const fl_fault_rec *v, size_t n, const char *point,
		      char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		if (point && strcmp(v[i].point, point) != 0)
			continue;
		char line[256];
		snprintf(line, sizeof line, "%s %s %llu %d\n", v[i].actor,
			 v[i].point, (unsigned long long)v[i].n, v[i].err);
		h = fnv_feed(h, line);
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

json_t *fl_journal_file_json(const fl_journal_file *f)
{
	json_t *failed = json_array();
	for (int i = 0; i < f->nfailed; i++)
		json_array_append_new(failed, json_string(f->failed[i]));
	json_t *recs = json_array();
	for (size_t i = 0; i < f->nrecs; i++) {
		const char *en = fl_errno_name(f->recs[i].err);
		json_array_append_new(
			recs, json_pack("{s:s,s:s,s:I,s:o,s:f}", "point",
					f->recs[i].point, "actor", f->recs[i].actor,
					"n", (json_int_t)f->recs[i].n, "errno",
					en ? json_string(en)
					   : json_integer(f->recs[i].err),
					"t", f->recs[i].t));
	}
	return json_pack("{s:s,s:i,s:{s:s,s:i,s:s,s:s},s:I,s:s,s:o,s:I,s:o}",
			 "schema", "faultline.journal", "schema_version", 1,
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
	f->nrecs = json_array_size(recs);
	f->recs = fl_xcalloc(f->nrecs + 1, sizeof *f->recs);
	for (size_t i = 0; i < f->nrecs; i++) {
		json_t *r = json_array_get(recs, i);
		fl_fault_rec *x = &f->recs[i];
		const char *pt = json_string_value(json_object_get(r, "point"));
		const char *ac = json_string_value(json_object_get(r, "actor"));
		snprintf(x->point, sizeof x->point, "%s", pt ? pt : "");
		snprintf(x->actor, sizeof x->actor, "%s", ac ? ac : "");
		x->n = (uint64_t)json_integer_value(json_object_get(r, "n"));
		json_t *e = json_object_get(r, "errno");
		x->err = json_is_string(e) ? fl_errno_from_name(json_string_value(e))
					   : (int)json_integer_value(e);
		x->t = json_number_value(json_object_get(r, "t"));
		if (!x->point[0] || !x->actor[0] || x->n == 0) {
			snprintf(err, errlen, "%s: record %zu is incomplete",
				 path, i + 1);
			json_decref(doc);
			fl_journal_file_free(f);
			return -EINVAL;
		}
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
