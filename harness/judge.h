/* Judging series of samples: baseline, steady state, recovery after a fault
 * window, MTTR, leaks and trends. Pure functions over arrays, so they are
 * tested on synthetic series. */
#ifndef FL_JUDGE_H
#define FL_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "figures.h"

/* How far a figure may move from its baseline. Parsed from "+2" (at most 2
 * above), "-1" (at most 1 below), "±2" or "+-2" (both ways), "10%" (at most
 * 10 % above), "+8MiB" (bytes, for RSS) or a bare number (same as "+N"). */
typedef struct fl_tolerance {
	int set;		/* 0: no condition on this figure */
	double above;		/* allowed increase, absolute or fraction */
	double below;		/* allowed decrease; INFINITY when unbounded */
	int relative;		/* above/below are fractions of the baseline */
	char text[32];		/* as the scenario wrote it */
} fl_tolerance;

/* Parses a tolerance. bytes: accept size suffixes (KiB, MiB...). Returns 0
 * or -EINVAL with a reason in err. */
int fl_tolerance_parse(const char *text, int bytes, fl_tolerance *out,
		       char *err, size_t errlen);
/* Makes "+N" from a number. */
void fl_tolerance_from_number(double n, fl_tolerance *out);
/* Highest and lowest value allowed around a baseline. */
double fl_tolerance_upper(const fl_tolerance *t, double baseline);
double fl_tolerance_lower(const fl_tolerance *t, double baseline);
int fl_tolerance_holds(const fl_tolerance *t, double baseline, double value);

typedef struct fl_health_result {
	int64_t t_ns;
	int ok;
	int64_t latency_ns;
	char detail[96];	/* why it failed */
} fl_health_result;

/* How far value lies outside what t allows around baseline: > 0 outside
 * (by that much), <= 0 inside (minus the distance to the nearer bound);
 * -INFINITY without a condition. */
double fl_tolerance_excess(const fl_tolerance *t, double baseline,
			   double value);

/* The steady-state hypothesis of a scenario. */
typedef struct fl_steady {
	fl_tolerance tol[FL_FIG_COUNT];	/* per figure; unset: no condition */
	int health;		/* the health probe must pass */
	/* Each process of the target's tree against its own baseline,
	 * rather than the tree's sum against the sum's (figures of the
	 * whole tree, procs and files, are judged on the tree). */
	int per_process;
} fl_steady;

/* Judging per process: for each figure, the process furthest from its
 * own baseline at one sample (pid 0: none judged). */
typedef struct fl_worst {
	int32_t pid[FL_FIG_COUNT];
	int64_t v[FL_FIG_COUNT];
	int64_t base[FL_FIG_COUNT];
} fl_worst;

typedef struct fl_baseline {
	int valid;
	int64_t from_ns, to_ns;
	size_t samples;
	double v[FL_FIG_COUNT];	/* medians over the window; an optional
				 * figure not measured reads -1 */
} fl_baseline;

/* Median of each figure over samples with from <= t <= to (for counts, the
 * lower median, so the baseline is a count that was seen). Returns 0, or
 * -ENODATA when no sample lies in the window. */
int fl_judge_baseline(const fl_sample *s, size_t n, int64_t from_ns,
		      int64_t to_ns, fl_baseline *out);

/* Does the steady state hold for this sample? w: its worst processes when
 * the hypothesis is judged per process (NULL: the sums are judged).
 * health_ok: the latest probe result at the sample's time (1 pass, 0 fail,
 * -1 none yet). Returns 1 if it holds; otherwise 0 and, if why is given,
 * the first broken condition. */
int fl_judge_steady(const fl_steady *st, const fl_baseline *b,
		    const fl_sample *s, const fl_worst *w, int health_ok,
		    char *why, size_t whylen);

enum fl_recovery_state {
	FL_RECOVERY_PENDING = 0,	/* not decided yet: need more samples */
	FL_RECOVERY_OK,
	FL_RECOVERY_FAILED,
};

typedef struct fl_recovery {
	enum fl_recovery_state state;
	int64_t at_ns;		/* moment from which steady state held */
	int64_t recovery_ns;	/* at_ns - off_ns */
	char why[192];		/* for FAILED: the condition that kept failing */
} fl_recovery;

/* Recovery after a fault window that closed at off_ns: the first moment
 * after off_ns from which the steady state holds for hold_ns, checked on
 * samples (with their worst processes w, or NULL) and health results up to
 * now_ns. It must start no later than
 * off_ns + within_ns (within_ns < 0: no bound). Decides FAILED once now_ns
 * is past the bound plus the hold period without such a moment. */
void fl_judge_recovery(const fl_sample *s, const fl_worst *w, size_t n,
		       const fl_health_result *h, size_t nh,
		       const fl_steady *st, const fl_baseline *b,
		       int64_t off_ns, int64_t hold_ns, int64_t within_ns,
		       int64_t now_ns, fl_recovery *out);

typedef struct fl_mttr {
	size_t n;
	double mean_s, p50_s, p95_s, max_s;
} fl_mttr;

/* Mean, nearest-rank p50 and p95, and maximum of recovery times (ns). */
void fl_judge_mttr(const int64_t *recovery_ns, size_t n, fl_mttr *out);

/* Percentile p (0..100) of values by nearest rank; values get sorted. */
double fl_percentile(double *values, size_t n, double p);

typedef struct fl_trend {
	int valid;
	double slope_per_s;	/* figure units per second */
	double r2;		/* how well the line fits, 0..1 */
	size_t n;
} fl_trend;

/* Least-squares line through one figure over from..to. */
void fl_judge_trend(const fl_sample *s, size_t n, enum fl_figure fig,
		    int64_t from_ns, int64_t to_ns, fl_trend *out);

#endif
