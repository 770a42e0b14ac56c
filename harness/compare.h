/* Comparing the recovery times of two runs of a scenario (the release
 * gate's MTTR check) on their distributions, with an allowance for what
 * the measurement cannot tell apart. Pure arithmetic on arrays: the gate
 * reads the episodes (results.c), this decides.
 *
 * The rule: with at least min_episodes recovered episodes on each side,
 * NEW is slower when both hold:
 *   - its median exceeds OLD's by more than the allowance, which is the
 *     resolution (the larger of the two runs' and the floor) plus OLD's
 *     own spread (its interquartile range) plus threshold x OLD's median;
 *   - at least 3 in 4 of the (OLD episode, NEW episode) pairs have the
 *     NEW one slower (a tie counts half): the distributions, not one
 *     episode, moved.
 * Faster is the mirror image. With fewer episodes nothing is compared,
 * and the caller says so. */
#ifndef FL_COMPARE_H
#define FL_COMPARE_H

#include <stddef.h>

/* The share of pairs that must agree on the direction. */
#define FL_COMPARE_DOMINANCE 0.75

typedef struct fl_compare_params {
	double threshold;	/* allowed growth, a share of OLD's median */
	double floor_s;		/* the least resolution assumed, seconds */
	size_t min_episodes;	/* fewer on either side: not compared */
} fl_compare_params;

enum fl_compare_outcome {
	FL_COMPARE_NOT_COMPARED = 0,
	FL_COMPARE_WITHIN,
	FL_COMPARE_SLOWER,
	FL_COMPARE_FASTER,
};

typedef struct fl_compare_result {
	enum fl_compare_outcome outcome;
	size_t n_old, n_new;
	double median_old, median_new;	/* seconds */
	double resolution, spread, relative;	/* the allowance's parts */
	double allowance;
	double slower_pairs;	/* share of pairs with NEW slower, 0..1 */
} fl_compare_result;

/* Compares OLD's recovery times with NEW's (seconds, finite and
 * non-negative; the arrays are sorted in place). res_old and res_new are
 * the runs' own resolutions (NaN when unknown). */
void fl_compare_mttr(double *old, size_t n_old, double res_old, double *new_,
		     size_t n_new, double res_new, const fl_compare_params *p,
		     fl_compare_result *out);

/* The q-quantile (0..1) of n sorted values, interpolated linearly between
 * the nearest ranks. NaN for n = 0. */
double fl_compare_quantile(const double *sorted, size_t n, double q);

#endif
