/* The sample store: an exact ring, a pin, peaks and trend sums that run
 * past the ring, and the reduced series, on synthetic samples. */
#include "testutil.h"

#include "series.h"

#include <math.h>

#define MS 1000000LL

static fl_sample smp(int64_t t_ms, int64_t fds, int64_t rss)
{
	fl_sample s;
	memset(&s, 0, sizeof s);
	s.t_ns = t_ms * MS;
	s.v[FL_FIG_FDS] = fds;
	s.v[FL_FIG_THREADS] = 1;
	s.v[FL_FIG_RSS] = rss;
	s.v[FL_FIG_FILES] = -1;
	s.v[FL_FIG_PROCS] = 1;
	return s;
}

Test(series, ring_keeps_the_latest_exactly)
{
	fl_series s;
	fl_series_init(&s, 16, 8);
	cr_assert_eq(fl_series_count(&s), 0);
	fl_sample last;
	cr_assert_eq(fl_series_last(&s, &last), 0);
	for (int i = 0; i < 40; i++) {
		fl_sample x = smp(i * 5, i % 7, 1000 + i);
		fl_series_append(&s, &x, NULL);
	}
	cr_assert_eq(fl_series_count(&s), 40);
	cr_assert_eq(fl_series_last(&s, &last), 1);
	cr_assert_eq(last.t_ns, 39 * 5 * MS);
	/* The last 16 (24..39) are kept. */
	cr_assert_eq(fl_series_oldest(&s), 24 * 5 * MS);
	cr_assert_eq(fl_series_back(&s, 0)->t_ns, 39 * 5 * MS);
	cr_assert_eq(fl_series_back(&s, 15)->t_ns, 24 * 5 * MS);
	cr_assert_null(fl_series_back(&s, 16));
	fl_sample *v;
	size_t n = fl_series_copy(&s, 0, INT64_MAX, &v, NULL);
	cr_assert_eq(n, 16);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v[i].t_ns, (int64_t)(24 + i) * 5 * MS);
	free(v);
	n = fl_series_copy(&s, 30 * 5 * MS, 32 * 5 * MS, &v, NULL);
	cr_assert_eq(n, 3);
	cr_assert_eq(v[0].v[FL_FIG_FDS], 30 % 7);
	free(v);
	/* Peaks run from the first sample, past the ring. */
	fl_sample peak;
	fl_series_peak(&s, &peak);
	cr_assert_eq(peak.v[FL_FIG_FDS], 6);
	cr_assert_eq(peak.v[FL_FIG_RSS], 1039);
	fl_series_free(&s);
}

/* Each bucket of the reduced series holds the lowest and highest of its
 * samples; buckets merge in pairs, so no spike is ever lost. */
Test(series, reduced_series_is_an_envelope)
{
	fl_series s;
	fl_series_init(&s, 16, 8);
	for (int i = 0; i < 100; i++) {
		fl_sample x = smp(i, i == 57 ? 1000 : i % 3, 10);
		fl_series_append(&s, &x, NULL);
	}
	size_t nb = fl_series_nbuckets(&s);
	cr_assert_leq(nb, 8);
	cr_assert(fl_series_downsampled(&s));
	uint64_t total = 0;
	int spike = 0;
	int64_t prev_last = -1;
	for (size_t i = 0; i < nb; i++) {
		const fl_series_bucket *b = fl_series_bucket_at(&s, i);
		cr_assert_gt(b->t_first, prev_last, "buckets in time order");
		prev_last = b->t_last;
		total += b->n;
		spike += b->max[FL_FIG_FDS] == 1000;
		cr_assert_eq(b->min[FL_FIG_FDS], 0);
	}
	cr_assert_eq(total, 100);
	cr_assert_eq(spike, 1);
	/* Few samples: exact points, not downsampled. */
	fl_series t;
	fl_series_init(&t, 16, 8);
	for (int i = 0; i < 8; i++) {
		fl_sample x = smp(i, i, 10);
		fl_series_append(&t, &x, NULL);
	}
	cr_assert_eq(fl_series_nbuckets(&t), 8);
	cr_assert_not(fl_series_downsampled(&t));
	cr_assert_eq(fl_series_bucket_at(&t, 3)->min[FL_FIG_FDS], 3);
	fl_series_free(&s);
	fl_series_free(&t);
}

/* The newest samples are folded into the buckets in batches
 * (FL_SERIES_FOLD), when the reduced series is asked for: the buckets
 * are the same whenever it is asked, whatever the ring's size, and no
 * sample the ring overwrote before a fold is missing from them. */
Test(series, buckets_are_the_same_whenever_they_are_read)
{
	static const size_t rings[] = {4096, 100, FL_SERIES_FOLD, 8};
	for (size_t r = 0; r < sizeof rings / sizeof rings[0]; r++) {
		fl_series often, once;
		fl_series_init(&often, rings[r], 64);
		fl_series_init(&once, rings[r], 64);
		for (int i = 0; i < 5000; i++) {
			fl_sample x = smp(i, (i * 7919) % 101, i % 13);
			fl_series_append(&often, &x, NULL);
			fl_series_append(&once, &x, NULL);
			if (i % 37 == 0)
				(void)fl_series_nbuckets(&often);
		}
		size_t nb = fl_series_nbuckets(&once);
		cr_assert_eq(fl_series_nbuckets(&often), nb, "ring %zu", rings[r]);
		uint64_t n = 0;
		for (size_t i = 0; i < nb; i++) {
			const fl_series_bucket *a = fl_series_bucket_at(&often, i);
			const fl_series_bucket *b = fl_series_bucket_at(&once, i);
			cr_assert_eq(memcmp(a, b, sizeof *a), 0,
				     "ring %zu: bucket %zu differs", rings[r], i);
			n += b->n;
		}
		cr_assert_eq(n, 5000, "ring %zu: every sample is in a bucket",
			     rings[r]);
		fl_series_free(&often);
		fl_series_free(&once);
	}
}

/* A trend since a mark is the same as over every sample, however few of
 * them the ring still holds. */
Test(series, trend_from_a_mark_outlives_the_ring)
{
	fl_series s;
	fl_series_init(&s, 16, 8);
	enum { N = 1000 };
	fl_sample *all = calloc(N, sizeof *all);
	for (int i = 0; i < 10; i++) {
		fl_sample x = smp(i, 0, 5000);
		fl_series_append(&s, &x, NULL);
	}
	fl_series_mark(&s, 5 * MS);
	size_t k = 0;
	for (int i = 5; i < 10; i++)
		all[k++] = smp(i, 0, 5000);
	for (int i = 10; i < N; i++) {
		/* RSS grows 3 bytes per ms with a wobble; fds steps. */
		fl_sample x = smp(i, i / 100, 5000 + 3 * i + (i % 5));
		fl_series_append(&s, &x, NULL);
		all[k++] = x;
	}
	fl_trend a, b;
	fl_series_trend(&s, FL_FIG_RSS, 5 * MS, (N - 1) * MS, &a);
	fl_judge_trend(all, k, FL_FIG_RSS, 5 * MS, (N - 1) * MS, &b);
	cr_assert(a.valid && b.valid);
	cr_assert_eq(a.n, b.n);
	cr_assert_float_eq(a.slope_per_s, b.slope_per_s, 1e-6 * fabs(b.slope_per_s));
	cr_assert_float_eq(a.r2, b.r2, 1e-9);
	cr_assert_float_eq(a.slope_per_s, 3000, 50);
	fl_series_trend(&s, FL_FIG_FDS, 5 * MS, (N - 1) * MS, &a);
	fl_judge_trend(all, k, FL_FIG_FDS, 5 * MS, (N - 1) * MS, &b);
	cr_assert_float_eq(a.slope_per_s, b.slope_per_s, 1e-6);
	/* Within the ring, the exact samples are used. */
	fl_series_trend(&s, FL_FIG_RSS, (N - 10) * MS, (N - 1) * MS, &a);
	cr_assert_eq(a.n, 10);
	free(all);
	fl_series_free(&s);
}

/* After a pin, every sample from then on stays exact (up to the ring's
 * size), whatever the ring dropped. */
Test(series, pin_keeps_what_follows_a_window)
{
	fl_series s;
	fl_series_init(&s, 16, 8);
	for (int i = 0; i < 10; i++) {
		fl_sample x = smp(i, 1, 10);
		fl_series_append(&s, &x, NULL);
	}
	fl_series_pin(&s, 8 * MS);
	for (int i = 10; i < 30; i++) {
		fl_sample x = smp(i, i, 10);
		fl_series_append(&s, &x, NULL);
	}
	/* The ring holds 14..29; the pin 8..23 (16 samples). */
	fl_sample *v;
	size_t n = fl_series_copy(&s, 8 * MS, INT64_MAX, &v, NULL);
	cr_assert_eq(n, 22, "8..29 without a gap");
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v[i].t_ns, (int64_t)(8 + i) * MS);
	free(v);
	cr_assert_eq(fl_series_oldest(&s), 8 * MS);
	/* Past the pin's size: what the ring has, after a gap. */
	for (int i = 30; i < 60; i++) {
		fl_sample x = smp(i, i, 10);
		fl_series_append(&s, &x, NULL);
	}
	n = fl_series_copy(&s, 8 * MS, INT64_MAX, &v, NULL);
	cr_assert_eq(n, 32, "16 pinned and the ring's 16");
	cr_assert_eq(v[15].t_ns, 23 * MS);
	cr_assert_eq(v[16].t_ns, 44 * MS);
	free(v);
	fl_series_free(&s);
}

/* The worst processes travel with their samples. */
Test(series, worst_processes_are_kept_in_parallel)
{
	fl_series s;
	fl_series_init(&s, 8, 8);
	fl_sample x = smp(0, 3, 10);
	fl_series_append(&s, &x, NULL);
	for (int i = 1; i < 12; i++) {
		fl_worst w;
		memset(&w, 0, sizeof w);
		w.pid[FL_FIG_FDS] = 100 + i;
		w.v[FL_FIG_FDS] = i;
		x = smp(i, 3 + i, 10);
		fl_series_append(&s, &x, &w);
	}
	fl_sample *v;
	fl_worst *w;
	size_t n = fl_series_copy(&s, 0, INT64_MAX, &v, &w);
	cr_assert_eq(n, 8);
	cr_assert_not_null(w);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(w[i].pid[FL_FIG_FDS], (int32_t)(100 + 4 + i));
		cr_assert_eq(w[i].v[FL_FIG_FDS], v[i].v[FL_FIG_FDS] - 3);
	}
	free(v);
	free(w);
	/* Bounded: what a series holds does not grow with the samples. */
	size_t bytes = fl_series_bytes(&s);
	for (int i = 12; i < 100000; i++) {
		x = smp(i, 3, 10);
		fl_series_append(&s, &x, NULL);
	}
	cr_assert_eq(fl_series_bytes(&s), bytes);
	cr_assert_leq(fl_series_nbuckets(&s), 8);
	fl_series_free(&s);
}

Test(series, ring_size_for_a_rate)
{
	cr_assert_eq(fl_series_ring_for(200), 12000);
	cr_assert_eq(fl_series_ring_for(1000), 60000);
	cr_assert_eq(fl_series_ring_for(10000), 131072);
	cr_assert_eq(fl_series_ring_for(1), 4096);
}
