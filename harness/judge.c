#define _GNU_SOURCE
#include "judge.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_tolerance_from_number(double n, fl_tolerance *out)
{
	memset(out, 0, sizeof *out);
	out->set = 1;
	out->above = n < 0 ? -n : n;
	out->below = INFINITY;
	snprintf(out->text, sizeof out->text, "+%g", out->above);
}

int fl_tolerance_parse(const char *text, int bytes, fl_tolerance *out,
		       char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	snprintf(out->text, sizeof out->text, "%s", text);
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	int up = 0, down = 0;
	if (strncmp(p, "±", strlen("±")) == 0) {
		up = down = 1;
		p += strlen("±");
	} else if (strncmp(p, "+-", 2) == 0 || strncmp(p, "-+", 2) == 0) {
		up = down = 1;
		p += 2;
	} else if (*p == '+') {
		up = 1;
		p++;
	} else if (*p == '-') {
		down = 1;
		p++;
	} else {
		up = 1;
	}
	while (isspace((unsigned char)*p))
		p++;
	char num[32];
	snprintf(num, sizeof num, "%s", p);
	size_t len = strlen(num);
	while (len > 0 && isspace((unsigned char)num[len - 1]))
		num[--len] = '\0';
	double v;
	if (len > 0 && num[len - 1] == '%') {
		num[len - 1] = '\0';
		char *end;
		v = strtod(num, &end);
		if (end == num || *end != '\0' || v < 0) {
			snprintf(err, errlen,
				 "bad tolerance '%s' (a percentage like "
				 "'10%%' expected)",
				 text);
			return -EINVAL;
		}
		out->relative = 1;
		v /= 100.0;
	} else if (bytes) {
		if (fl_parse_bytes(num, &v) < 0 || v < 0) {
			snprintf(err, errlen,
				 "bad tolerance '%s' (like '+8MiB', '±512KiB' "
				 "or '10%%')",
				 text);
			return -EINVAL;
		}
	} else {
		char *end;
		v = strtod(num, &end);
		if (end == num || *end != '\0' || v < 0) {
			snprintf(err, errlen,
				 "bad tolerance '%s' (like '+2', '±1' or "
				 "'10%%')",
				 text);
			return -EINVAL;
		}
	}
	out->set = 1;
	out->above = up ? v : 0;
	out->below = down ? v : INFINITY;
	return 0;
}

double fl_tolerance_upper(const fl_tolerance *t, double baseline)
{
	if (!t->set)
		return INFINITY;
	return t->relative ? baseline * (1.0 + t->above) : baseline + t->above;
}

double fl_tolerance_lower(const fl_tolerance *t, double baseline)
{
	if (!t->set || isinf(t->below))
		return -INFINITY;
	return t->relative ? baseline * (1.0 - t->below) : baseline - t->below;
}

int fl_tolerance_holds(const fl_tolerance *t, double baseline, double value)
{
	if (!t->set)
		return 1;
	/* A small epsilon keeps "+0" exact for integer counts while
	 * absorbing rounding in relative bounds. */
	return value <= fl_tolerance_upper(t, baseline) + 1e-9 &&
	       value >= fl_tolerance_lower(t, baseline) - 1e-9;
}

double fl_tolerance_excess(const fl_tolerance *t, double baseline,
			   double value)
{
	if (!t->set)
		return -INFINITY;
	double up = value - fl_tolerance_upper(t, baseline);
	double down = fl_tolerance_lower(t, baseline) - value;
	return up > down ? up : down;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double fl_percentile(double *values, size_t n, double p)
{
	if (n == 0)
		return NAN;
	qsort(values, n, sizeof *values, cmp_double);
	/* Nearest rank: the smallest value with at least p % at or below. */
	double rank = ceil(p / 100.0 * (double)n);
	size_t idx = rank < 1 ? 0 : (size_t)rank - 1;
	if (idx >= n)
		idx = n - 1;
	return values[idx];
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double lower_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return v[(n - 1) / 2];
}

int fl_judge_baseline(const fl_sample *s, size_t n, int64_t from_ns,
		      int64_t to_ns, fl_baseline *out)
{
	memset(out, 0, sizeof *out);
	out->from_ns = from_ns;
	out->to_ns = to_ns;
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i].t_ns >= from_ns && s[i].t_ns <= to_ns)
			count++;
	if (count == 0)
		return -ENODATA;
	double *col = fl_xmalloc(count * sizeof *col);
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (s[i].t_ns >= from_ns && s[i].t_ns <= to_ns)
				col[k++] = fl_sample_figure(&s[i], f);
		/* A count's baseline is a count that was seen (the lower
		 * median): leaks are then whole numbers, never "3.5 fds". */
		out->v[f] = fl_figures[f].count ? lower_median(col, count)
						: median(col, count);
	}
	free(col);
	out->samples = count;
	out->valid = 1;
	return 0;
}

static void describe_violation(char *why, size_t len, enum fl_figure fig,
			       const fl_tolerance *t, double base, double v)
{
	if (!why)
		return;
	char vb[32], bb[32], lim[32];
	double upper = fl_tolerance_upper(t, base);
	int over = v > upper;
	double limit = over ? upper : fl_tolerance_lower(t, base);
	fl_figure_format(fig, v, vb, sizeof vb);
	fl_figure_format(fig, base, bb, sizeof bb);
	fl_figure_format(fig, limit, lim, sizeof lim);
	snprintf(why, len, "%s %s %s %s (baseline %s, tolerance %s)",
		 fl_figure_key(fig), vb, over ? ">" : "<", lim, bb, t->text);
}

int fl_judge_steady(const fl_steady *st, const fl_baseline *b,
		    const fl_sample *s, const fl_worst *w, int health_ok,
		    char *why, size_t whylen)
{
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		double v = fl_sample_figure(s, f);
		/* An optional figure that was not measured has no say. */
		if (fl_figures[f].optional && v < 0)
			continue;
		if (st->per_process && !fl_figures[f].tree && w &&
		    w->pid[f] > 0) {
			double pb = (double)w->base[f], pv = (double)w->v[f];
			if (!fl_tolerance_holds(&st->tol[f], pb, pv)) {
				char tmp[160];
				describe_violation(tmp, sizeof tmp, f,
						   &st->tol[f], pb, pv);
				if (why)
					snprintf(why, whylen, "pid %d: %s",
						 (int)w->pid[f], tmp);
				return 0;
			}
			continue;
		}
		if (!fl_tolerance_holds(&st->tol[f], b->v[f], v)) {
			describe_violation(why, whylen, f, &st->tol[f], b->v[f],
					   v);
			return 0;
		}
	}
	if (st->health && health_ok != 1) {
		if (why)
			snprintf(why, whylen, "%s",
				 health_ok == 0 ? "health probe failing"
						: "no health probe result yet");
		return 0;
	}
	return 1;
}

void fl_judge_recovery(const fl_sample *s, const fl_worst *w, size_t n,
		       const fl_health_result *h, size_t nh,
		       const fl_steady *st, const fl_baseline *b,
		       int64_t off_ns, int64_t hold_ns, int64_t within_ns,
		       int64_t now_ns, fl_recovery *out)
{
	memset(out, 0, sizeof *out);
	out->state = FL_RECOVERY_PENDING;
	int64_t bound = within_ns >= 0 ? off_ns + within_ns : INT64_MAX;

	/* Walk samples and health results in time order from off_ns. The
	 * state at any moment is: the latest sample's figures within
	 * tolerance, and the latest health result passing. */
	size_t i = 0, j = 0;
	while (i < n && s[i].t_ns < off_ns)
		i++;
	int health = -1;
	while (j < nh && h[j].t_ns < off_ns) {
		health = h[j].ok;
		j++;
	}
	/* Health results older than the window still describe the target
	 * until a newer one arrives, but a steady moment can only begin at a
	 * sample taken after off_ns. */
	const fl_sample *cur = NULL;
	const fl_worst *curw = NULL;
	int64_t candidate = -1;
	int64_t data_end = off_ns;
	char why[192] = "no sample after the fault window";
	while (i < n || j < nh) {
		int take_sample;
		if (i < n && j < nh)
			take_sample = s[i].t_ns <= h[j].t_ns;
		else
			take_sample = i < n;
		int64_t t = take_sample ? s[i].t_ns : h[j].t_ns;
		if (t > now_ns)
			break;
		if (take_sample) {
			curw = w ? &w[i] : NULL;
			cur = &s[i++];
		} else
			health = h[j++].ok;
		data_end = t;
		if (!cur)
			continue;
		int ok = fl_judge_steady(st, b, cur, curw, health, why,
					 sizeof why);
		if (ok) {
			if (candidate < 0)
				candidate = t;
			if (candidate <= bound && t - candidate >= hold_ns) {
				out->state = FL_RECOVERY_OK;
				out->at_ns = candidate;
				out->recovery_ns = candidate - off_ns;
				return;
			}
		} else {
			candidate = -1;
		}
		if (t > bound && (candidate < 0 || candidate > bound))
			break;
	}
	if (data_end > bound && (candidate < 0 || candidate > bound)) {
		out->state = FL_RECOVERY_FAILED;
		snprintf(out->why, sizeof out->why, "%s", why);
	} else if (now_ns > bound + hold_ns && candidate < 0) {
		/* No data at all past the bound (the target stopped being
		 * sampled): that is no recovery either. */
		out->state = FL_RECOVERY_FAILED;
		snprintf(out->why, sizeof out->why, "%s", why);
	}
}

void fl_judge_mttr(const int64_t *recovery_ns, size_t n, fl_mttr *out)
{
	memset(out, 0, sizeof *out);
	out->n = n;
	if (n == 0) {
		out->mean_s = out->p50_s = out->p95_s = out->max_s = NAN;
		return;
	}
	double *v = fl_xmalloc(n * sizeof *v);
	double sum = 0, max = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = (double)recovery_ns[i] / 1e9;
		sum += v[i];
		if (v[i] > max)
			max = v[i];
	}
	out->mean_s = sum / (double)n;
	out->max_s = max;
	out->p50_s = fl_percentile(v, n, 50);
	out->p95_s = fl_percentile(v, n, 95);
	free(v);
}

void fl_judge_trend(const fl_sample *s, size_t n, enum fl_figure fig,
		    int64_t from_ns, int64_t to_ns, fl_trend *out)
{
	memset(out, 0, sizeof *out);
	double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i].t_ns < from_ns || s[i].t_ns > to_ns)
			continue;
		double x = (double)(s[i].t_ns - from_ns) / 1e9;
		double y = fl_sample_figure(&s[i], fig);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		syy += y * y;
		k++;
	}
	out->n = k;
	if (k < 2)
		return;
	double dk = (double)k;
	double vx = sxx - sx * sx / dk;
	double vy = syy - sy * sy / dk;
	double cxy = sxy - sx * sy / dk;
	if (vx <= 0)
		return;
	out->valid = 1;
	out->slope_per_s = cxy / vx;
	/* A flat series fits a flat line perfectly. */
	out->r2 = vy <= 0 ? 1.0 : (cxy * cxy) / (vx * vy);
}
