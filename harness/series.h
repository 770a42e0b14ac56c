/* The samples of one run of the target, kept in bounded memory however
 * long the run: an hour at 1 kHz is 3.6 million samples, which kept whole
 * would be 170 MB. Four parts:
 *   - a ring of the latest samples, exact (about a minute's worth), which
 *     the baseline, the final figures, quiet periods, the sampled floor
 *     and trends over recent windows read;
 *   - a pin: exact samples from one moment on (the end of the last fault
 *     window), so recovery after it is judged on every sample even when
 *     the script asks long after, up to the ring's size again;
 *   - running accumulators: the peak of each figure since the start, and
 *     least-squares sums from marks (the baseline's end, the ready
 *     moment), so a trend since then is exact whatever its length;
 *   - the reduced series the report draws: an envelope, each bucket the
 *     lowest and highest of each figure over consecutive samples, buckets
 *     merged in pairs (doubling their width) when there are too many.
 * Per-process judging adds, for each sample in the ring and the pin, the
 * process furthest from its own baseline (fl_worst), kept in parallel.
 * Not thread-safe: the session's lock guards it. */
#ifndef FL_SERIES_H
#define FL_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"

#define FL_SERIES_MAX_MARKS 8
/* The reduced series: buckets of two points each, 4,000 points drawn. */
#define FL_SERIES_REPORT_BUCKETS 2000

typedef struct fl_series_bucket {
	int64_t t_first, t_last;
	uint64_t n;		/* samples in it */
	int64_t min[FL_FIG_COUNT], max[FL_FIG_COUNT];
} fl_series_bucket;

/* Least-squares sums of every figure over the samples from one moment on
 * (x in seconds from that moment; y less the first value, which leaves
 * the slope and the fit as they are and keeps RSS sums precise). */
typedef struct fl_series_acc {
	int64_t from_ns;
	uint64_t n;
	double sx, sxx;
	double y0[FL_FIG_COUNT];
	double sy[FL_FIG_COUNT], syy[FL_FIG_COUNT], sxy[FL_FIG_COUNT];
} fl_series_acc;

typedef struct fl_series {
	/* The ring: ring_len samples from ring_start (oldest first). */
	fl_sample *ring;
	fl_worst *ring_worst;	/* parallel, or NULL */
	size_t ring_cap, ring_start, ring_len;
	/* The pin: exact samples with t >= pin_from, at most ring_cap. */
	fl_sample *pin;
	fl_worst *pin_worst;
	size_t pin_len;
	int64_t pin_from;	/* -1: no pin */
	int pin_full;		/* samples after the last pinned one were
				 * only in the ring */
	uint64_t total;		/* samples ever appended */
	fl_sample peak;
	fl_series_acc marks[FL_SERIES_MAX_MARKS];
	int nmarks;
	/* The reduced series. */
	fl_series_bucket *buckets;
	size_t nbuckets, max_buckets;
	uint64_t per_bucket;	/* samples a full bucket holds */
	uint64_t reduced;	/* samples folded into the buckets: the
				 * others are the ring's newest */
} fl_series;

/* ring_cap: exact samples kept; max_buckets: the reduced series' size
 * (even, at least 2). */
void fl_series_init(fl_series *s, size_t ring_cap, size_t max_buckets);
void fl_series_free(fl_series *s);
/* The exact ring's size for a sampling rate: a minute, within bounds. */
size_t fl_series_ring_for(double hz);

/* Appends a sample (times never decrease). w: the worst processes (or
 * NULL); once given, each later sample should give one too. */
void fl_series_append(fl_series *s, const fl_sample *x, const fl_worst *w);

/* Samples ever appended. */
uint64_t fl_series_count(const fl_series *s);
/* The latest sample: 1, or 0 when there is none. */
int fl_series_last(const fl_series *s, fl_sample *out);
/* The highest value of each figure since the start (0 without samples). */
void fl_series_peak(const fl_series *s, fl_sample *out);
/* The k-th latest exact sample of the ring (0: the latest), or NULL past
 * its oldest. */
const fl_sample *fl_series_back(const fl_series *s, size_t k);
/* The time of the oldest sample kept exactly (ring or pin), or -1. */
int64_t fl_series_oldest(const fl_series *s);

/* The exact samples kept with from <= t <= to, in time order, from the
 * pin and the ring (*w: their worst processes, or NULL when none were
 * given). *out and *w are malloc'd (free both). Returns the count. Where
 * the pin filled up, samples between it and the ring are missing. */
size_t fl_series_copy(const fl_series *s, int64_t from_ns, int64_t to_ns,
		      fl_sample **out, fl_worst **w);

/* Starts the least-squares sums from from_ns (the samples of the ring from
 * then on are counted at once). Marks beyond FL_SERIES_MAX_MARKS replace
 * the oldest. */
void fl_series_mark(fl_series *s, int64_t from_ns);
/* The least-squares line of a figure over [from, to]: from the exact
 * samples when they reach back to from, else from a mark at from (to must
 * then be at or after the latest sample), else from the exact samples
 * there are (out->n says how many). */
void fl_series_trend(const fl_series *s, enum fl_figure fig, int64_t from_ns,
		     int64_t to_ns, fl_trend *out);

/* Keeps every sample from from_ns on exactly (replacing an earlier pin),
 * up to the ring's size. */
void fl_series_pin(fl_series *s, int64_t from_ns);

/* The reduced series: nbuckets buckets; downsampled when a bucket holds
 * more than one sample. The newest samples are folded in when the reduced
 * series is asked for (fl_series_nbuckets and fl_series_downsampled do
 * it first), not one by one as they come: the monitor then touches the
 * buckets once every FL_SERIES_FOLD samples, not at every one. */
#define FL_SERIES_FOLD 64
size_t fl_series_nbuckets(fl_series *s);
const fl_series_bucket *fl_series_bucket_at(const fl_series *s, size_t i);
int fl_series_downsampled(fl_series *s);

/* Bytes the series holds (for the bench and the soak). */
size_t fl_series_bytes(const fl_series *s);

#endif
