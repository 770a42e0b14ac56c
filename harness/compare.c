#define _GNU_SOURCE
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double fl_compare_quantile(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	if (lo + 1 >= n)
		return sorted[n - 1];
	double frac = pos - (double)lo;
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* The share of pairs (a from old, b from new) with b > a, ties counting
 * half; both arrays sorted. */
static double slower_share(const double *old, size_t n_old, const double *new_,
			   size_t n_new)
{
	double wins = 0;
	size_t below = 0, equal_end = 0;
	for (size_t j = 0; j < n_new; j++) {
		/* old[0..below) < new_[j], old[below..equal_end) == new_[j]. */
		while (below < n_old && old[below] < new_[j])
			below++;
		if (equal_end < below)
			equal_end = below;
		while (equal_end < n_old && old[equal_end] == new_[j])
			equal_end++;
		wins += (double)below + 0.5 * (double)(equal_end - below);
	}
	return wins / ((double)n_old * (double)n_new);
}

void fl_compare_mttr(double *old, size_t n_old, double res_old, double *new_,
		     size_t n_new, double res_new, const fl_compare_params *p,
		     fl_compare_result *out)
{
	memset(out, 0, sizeof *out);
	out->n_old = n_old;
	out->n_new = n_new;
	out->median_old = out->median_new = NAN;
	out->resolution = out->spread = out->relative = out->allowance = NAN;
	out->slower_pairs = NAN;
	if (n_old)
		qsort(old, n_old, sizeof *old, cmp_double);
	if (n_new)
		qsort(new_, n_new, sizeof *new_, cmp_double);
	out->median_old = fl_compare_quantile(old, n_old, 0.5);
	out->median_new = fl_compare_quantile(new_, n_new, 0.5);
	size_t need = p->min_episodes ? p->min_episodes : 1;
	if (n_old < need || n_new < need) {
		out->outcome = FL_COMPARE_NOT_COMPARED;
		return;
	}
	double res = p->floor_s;
	if (res_old > res)
		res = res_old;
	if (res_new > res)
		res = res_new;
	out->resolution = res;
	out->spread = fl_compare_quantile(old, n_old, 0.75) -
		      fl_compare_quantile(old, n_old, 0.25);
	out->relative = p->threshold * out->median_old;
	out->allowance = out->resolution + out->spread + out->relative;
	out->slower_pairs = slower_share(old, n_old, new_, n_new);
	double d = out->median_new - out->median_old;
	if (d > out->allowance && out->slower_pairs >= FL_COMPARE_DOMINANCE)
		out->outcome = FL_COMPARE_SLOWER;
	else if (-d > out->allowance &&
		 out->slower_pairs <= 1 - FL_COMPARE_DOMINANCE)
		out->outcome = FL_COMPARE_FASTER;
	else
		out->outcome = FL_COMPARE_WITHIN;
}
