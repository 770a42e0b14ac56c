#define _GNU_SOURCE
#include "series.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

/* A minute of exact samples, but at least 4,096 and at most 131,072
 * (13 s at 10 kHz): 6 MB at most, plus the same for a pin. */
#define RING_SECONDS 60
#define RING_MIN 4096
#define RING_MAX 131072

size_t fl_series_ring_for(double hz)
{
	double want = hz * RING_SECONDS;
	if (want < RING_MIN)
		return RING_MIN;
	if (want > RING_MAX)
		return RING_MAX;
	return (size_t)want;
}

void fl_series_init(fl_series *s, size_t ring_cap, size_t max_buckets)
{
	memset(s, 0, sizeof *s);
	s->ring_cap = ring_cap ? ring_cap : RING_MIN;
	s->ring = fl_xmalloc(s->ring_cap * sizeof *s->ring);
	s->pin_from = -1;
	if (max_buckets < 2)
		max_buckets = 2;
	s->max_buckets = max_buckets & ~(size_t)1;
	s->buckets = fl_xmalloc(s->max_buckets * sizeof *s->buckets);
	s->per_bucket = 1;
}

void fl_series_free(fl_series *s)
{
	free(s->ring);
	free(s->ring_worst);
	free(s->pin);
	free(s->pin_worst);
	free(s->buckets);
	memset(s, 0, sizeof *s);
	s->pin_from = -1;
}

/* Index in the ring of its k-th oldest sample. */
static size_t ring_index(const fl_series *s, size_t k)
{
	return (s->ring_start + k) % s->ring_cap;
}

static void mark_add(fl_series_acc *m, const fl_sample *x)
{
	double t = (double)(x->t_ns - m->from_ns) / 1e9;
	if (m->n == 0)
		for (int f = 0; f < FL_FIG_COUNT; f++)
			m->y0[f] = (double)x->v[f];
	m->n++;
	m->sx += t;
	m->sxx += t * t;
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		double y = (double)x->v[f] - m->y0[f];
		m->sy[f] += y;
		m->syy[f] += y * y;
		m->sxy[f] += t * y;
	}
}

static void bucket_start(fl_series_bucket *b, const fl_sample *x)
{
	b->t_first = b->t_last = x->t_ns;
	b->n = 1;
	memcpy(b->min, x->v, sizeof b->min);
	memcpy(b->max, x->v, sizeof b->max);
}

static void bucket_merge(fl_series_bucket *into, const fl_series_bucket *b)
{
	into->t_last = b->t_last;
	into->n += b->n;
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (b->min[f] < into->min[f])
			into->min[f] = b->min[f];
		if (b->max[f] > into->max[f])
			into->max[f] = b->max[f];
	}
}

static void reduce(fl_series *s, const fl_sample *x)
{
	if (s->nbuckets > 0 && s->buckets[s->nbuckets - 1].n < s->per_bucket) {
		fl_series_bucket one;
		bucket_start(&one, x);
		bucket_merge(&s->buckets[s->nbuckets - 1], &one);
		return;
	}
	if (s->nbuckets == s->max_buckets) {
		/* Full: pairs become one bucket twice as wide. */
		for (size_t i = 0; i < s->nbuckets / 2; i++) {
			fl_series_bucket b = s->buckets[2 * i];
			bucket_merge(&b, &s->buckets[2 * i + 1]);
			s->buckets[i] = b;
		}
		s->nbuckets /= 2;
		s->per_bucket *= 2;
	}
	bucket_start(&s->buckets[s->nbuckets++], x);
}

/* The samples not yet in the buckets, oldest first, into them: they are
 * the ring's newest (FL_SERIES_FOLD at most, and the ring holds more). */
static void fold(fl_series *s)
{
	size_t pending = (size_t)(s->total - s->reduced);
	for (size_t k = s->ring_len - pending; k < s->ring_len; k++)
		reduce(s, &s->ring[ring_index(s, k)]);
	s->reduced = s->total;
}

void fl_series_append(fl_series *s, const fl_sample *x, const fl_worst *w)
{
	if (w && !s->ring_worst) {
		/* Per-process judging started: what came before has no worst
		 * process (pid 0). */
		s->ring_worst = fl_xcalloc(s->ring_cap, sizeof *s->ring_worst);
		if (s->pin)
			s->pin_worst = fl_xcalloc(s->ring_cap,
						  sizeof *s->pin_worst);
	}
	size_t pos;
	if (s->ring_len < s->ring_cap) {
		pos = ring_index(s, s->ring_len);
		s->ring_len++;
	} else {
		pos = s->ring_start;
		s->ring_start = (s->ring_start + 1) % s->ring_cap;
	}
	s->ring[pos] = *x;
	if (s->ring_worst) {
		if (w)
			s->ring_worst[pos] = *w;
		else
			memset(&s->ring_worst[pos], 0, sizeof *w);
	}
	if (s->pin_from >= 0 && !s->pin_full && x->t_ns >= s->pin_from) {
		if (s->pin_len < s->ring_cap) {
			s->pin[s->pin_len] = *x;
			if (s->pin_worst) {
				if (w)
					s->pin_worst[s->pin_len] = *w;
				else
					memset(&s->pin_worst[s->pin_len], 0,
					       sizeof *w);
			}
			s->pin_len++;
		} else {
			s->pin_full = 1;
		}
	}
	if (s->total == 0) {
		s->peak = *x;
	} else {
		for (int f = 0; f < FL_FIG_COUNT; f++)
			if (x->v[f] > s->peak.v[f])
				s->peak.v[f] = x->v[f];
	}
	s->peak.t_ns = x->t_ns;
	s->total++;
	for (int i = 0; i < s->nmarks; i++)
		if (x->t_ns >= s->marks[i].from_ns)
			mark_add(&s->marks[i], x);
	/* Before the ring overwrites one not folded yet, however small. */
	if (s->total - s->reduced >= FL_SERIES_FOLD ||
	    s->total - s->reduced >= s->ring_cap)
		fold(s);
}

uint64_t fl_series_count(const fl_series *s)
{
	return s->total;
}

int fl_series_last(const fl_series *s, fl_sample *out)
{
	if (s->ring_len == 0) {
		memset(out, 0, sizeof *out);
		return 0;
	}
	*out = s->ring[ring_index(s, s->ring_len - 1)];
	return 1;
}

void fl_series_peak(const fl_series *s, fl_sample *out)
{
	if (s->total == 0) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = s->peak;
}

const fl_sample *fl_series_back(const fl_series *s, size_t k)
{
	if (k >= s->ring_len)
		return NULL;
	return &s->ring[ring_index(s, s->ring_len - 1 - k)];
}

int64_t fl_series_oldest(const fl_series *s)
{
	int64_t t = s->ring_len ? s->ring[s->ring_start].t_ns : -1;
	if (s->pin_len && (t < 0 || s->pin[0].t_ns < t))
		t = s->pin[0].t_ns;
	return t;
}

/* The first position k (0..ring_len) of the ring whose sample is at or
 * after t: the ring is in time order, so a binary search. */
static size_t ring_lower_bound(const fl_series *s, int64_t t)
{
	size_t lo = 0, hi = s->ring_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ring[ring_index(s, mid)].t_ns < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t fl_series_copy(const fl_series *s, int64_t from_ns, int64_t to_ns,
		      fl_sample **out, fl_worst **w)
{
	size_t cap = s->pin_len + s->ring_len + 1;
	fl_sample *v = fl_xmalloc(cap * sizeof *v);
	int worst = s->ring_worst != NULL;
	fl_worst *vw = worst ? fl_xmalloc(cap * sizeof *vw) : NULL;
	size_t n = 0;
	int64_t last = INT64_MIN;
	for (size_t i = 0; i < s->pin_len; i++) {
		const fl_sample *x = &s->pin[i];
		if (x->t_ns < from_ns || x->t_ns > to_ns)
			continue;
		v[n] = *x;
		if (worst) {
			if (s->pin_worst)
				vw[n] = s->pin_worst[i];
			else
				memset(&vw[n], 0, sizeof vw[n]);
		}
		n++;
		last = x->t_ns;
	}
	int64_t start = from_ns;
	if (last != INT64_MIN && last + 1 > start)
		start = last + 1;
	for (size_t k = ring_lower_bound(s, start); k < s->ring_len; k++) {
		size_t pos = ring_index(s, k);
		const fl_sample *x = &s->ring[pos];
		if (x->t_ns > to_ns)
			break;
		v[n] = *x;
		if (worst)
			vw[n] = s->ring_worst[pos];
		n++;
	}
	*out = v;
	if (w)
		*w = vw;
	else
		free(vw);
	return n;
}

void fl_series_mark(fl_series *s, int64_t from_ns)
{
	for (int i = 0; i < s->nmarks; i++)
		if (s->marks[i].from_ns == from_ns)
			return;
	if (s->nmarks == FL_SERIES_MAX_MARKS) {
		memmove(&s->marks[0], &s->marks[1],
			(FL_SERIES_MAX_MARKS - 1) * sizeof s->marks[0]);
		s->nmarks--;
	}
	fl_series_acc *m = &s->marks[s->nmarks++];
	memset(m, 0, sizeof *m);
	m->from_ns = from_ns;
	for (size_t k = ring_lower_bound(s, from_ns); k < s->ring_len; k++)
		mark_add(m, &s->ring[ring_index(s, k)]);
}

/* The line from least-squares sums, as fl_judge_trend computes it. */
static void trend_of_sums(const fl_series_acc *m, enum fl_figure fig,
			  fl_trend *out)
{
	memset(out, 0, sizeof *out);
	out->n = (size_t)m->n;
	if (m->n < 2)
		return;
	double dk = (double)m->n;
	double vx = m->sxx - m->sx * m->sx / dk;
	double vy = m->syy[fig] - m->sy[fig] * m->sy[fig] / dk;
	double cxy = m->sxy[fig] - m->sx * m->sy[fig] / dk;
	if (vx <= 0)
		return;
	out->valid = 1;
	out->slope_per_s = cxy / vx;
	out->r2 = vy <= 0 ? 1.0 : (cxy * cxy) / (vx * vy);
}

void fl_series_trend(const fl_series *s, enum fl_figure fig, int64_t from_ns,
		     int64_t to_ns, fl_trend *out)
{
	/* Exact when the ring reaches back to from, or a complete pin
	 * does. */
	int exact = s->total == s->ring_len ||
		    (s->ring_len && s->ring[s->ring_start].t_ns <= from_ns) ||
		    (s->pin_from >= 0 && s->pin_from <= from_ns && !s->pin_full);
	if (!exact) {
		fl_sample last;
		int have = fl_series_last(s, &last);
		for (int i = 0; i < s->nmarks; i++) {
			if (s->marks[i].from_ns != from_ns)
				continue;
			if (!have || to_ns >= last.t_ns) {
				trend_of_sums(&s->marks[i], fig, out);
				return;
			}
		}
	}
	fl_sample *v;
	size_t n = fl_series_copy(s, from_ns, to_ns, &v, NULL);
	fl_judge_trend(v, n, fig, from_ns, to_ns, out);
	free(v);
}

void fl_series_pin(fl_series *s, int64_t from_ns)
{
	if (s->pin_from == from_ns)
		return;
	if (!s->pin)
		s->pin = fl_xmalloc(s->ring_cap * sizeof *s->pin);
	if (s->ring_worst && !s->pin_worst)
		s->pin_worst = fl_xcalloc(s->ring_cap, sizeof *s->pin_worst);
	s->pin_from = from_ns;
	s->pin_len = 0;
	s->pin_full = 0;
	for (size_t k = ring_lower_bound(s, from_ns); k < s->ring_len; k++) {
		size_t pos = ring_index(s, k);
		s->pin[s->pin_len] = s->ring[pos];
		if (s->pin_worst)
			s->pin_worst[s->pin_len] = s->ring_worst[pos];
		s->pin_len++;
	}
}

size_t fl_series_nbuckets(fl_series *s)
{
	fold(s);
	return s->nbuckets;
}

const fl_series_bucket *fl_series_bucket_at(const fl_series *s, size_t i)
{
	return i < s->nbuckets ? &s->buckets[i] : NULL;
}

int fl_series_downsampled(fl_series *s)
{
	fold(s);
	return s->per_bucket > 1;
}

size_t fl_series_bytes(const fl_series *s)
{
	size_t b = s->ring_cap * sizeof *s->ring +
		   s->max_buckets * sizeof *s->buckets;
	if (s->ring_worst)
		b += s->ring_cap * sizeof *s->ring_worst;
	if (s->pin)
		b += s->ring_cap * sizeof *s->pin;
	if (s->pin_worst)
		b += s->ring_cap * sizeof *s->pin_worst;
	return b;
}
