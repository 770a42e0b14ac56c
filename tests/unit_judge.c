/* The judge on synthetic series: tolerances and their edges, baseline,
 * steady state, recovery time, MTTR, trends. */
#include "testutil.h"

#include "judge.h"

#include <math.h>

#define MS 1000000LL

/* A series at 100 Hz (every 10 ms) from fds[] with constant threads/RSS. */
static fl_sample *series(const int *fds, size_t n)
{
	fl_sample *s = calloc(n, sizeof *s);
	for (size_t i = 0; i < n; i++) {
		s[i].t_ns = (int64_t)i * 10 * MS;
		s[i].v[FL_FIG_FDS] = fds[i];
		s[i].v[FL_FIG_THREADS] = 2;
		s[i].v[FL_FIG_RSS] = 10 << 20;
		s[i].v[FL_FIG_FILES] = -1;
	}
	return s;
}

static fl_steady fds_within(const char *tol)
{
	fl_steady st;
	memset(&st, 0, sizeof st);
	char err[128];
	cr_assert_eq(fl_tolerance_parse(tol, 0, &st.tol[FL_FIG_FDS], err, sizeof err), 0);
	return st;
}

Test(tolerance, parse_forms)
{
	fl_tolerance t;
	char err[128];
	cr_assert_eq(fl_tolerance_parse("+2", 0, &t, err, sizeof err), 0);
	cr_assert_eq(fl_tolerance_upper(&t, 10), 12);
	cr_assert(isinf(fl_tolerance_lower(&t, 10)));
	cr_assert_eq(fl_tolerance_parse("±3", 0, &t, err, sizeof err), 0);
	cr_assert_eq(fl_tolerance_upper(&t, 10), 13);
	cr_assert_eq(fl_tolerance_lower(&t, 10), 7);
	cr_assert_eq(fl_tolerance_parse("+-1", 0, &t, err, sizeof err), 0);
	cr_assert_eq(fl_tolerance_lower(&t, 10), 9);
	cr_assert_eq(fl_tolerance_parse("-4", 0, &t, err, sizeof err), 0);
	cr_assert_eq(fl_tolerance_upper(&t, 10), 10);
	cr_assert_eq(fl_tolerance_lower(&t, 10), 6);
	cr_assert_eq(fl_tolerance_parse("10%", 0, &t, err, sizeof err), 0);
	cr_assert_float_eq(fl_tolerance_upper(&t, 200), 220, 1e-9);
	cr_assert_eq(fl_tolerance_parse("+8MiB", 1, &t, err, sizeof err), 0);
	cr_assert_float_eq(fl_tolerance_upper(&t, 1 << 20), 9 << 20, 1e-3);
	cr_assert_eq(fl_tolerance_parse("512 KiB", 1, &t, err, sizeof err), 0);
	cr_assert_float_eq(t.above, 512 * 1024, 1e-9);
	cr_assert_eq(fl_tolerance_parse("3", 0, &t, err, sizeof err), 0);
	cr_assert_eq(fl_tolerance_upper(&t, 1), 4);
}

Test(tolerance, parse_rejects)
{
	fl_tolerance t;
	char err[128];
	const char *bad[] = {"", "+", "abc", "+2x", "-%", "+8MiB"};
	int bytes[] = {0, 0, 0, 0, 0, 0};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(fl_tolerance_parse(bad[i], bytes[i], &t, err,
						sizeof err),
			     -EINVAL, "accepted '%s'", bad[i]);
	cr_assert_eq(fl_tolerance_parse("+8Mbananas", 1, &t, err, sizeof err),
		     -EINVAL);
	cr_assert(strstr(err, "+8Mbananas") != NULL, "reason: %s", err);
}

Test(tolerance, edges_are_inclusive)
{
	fl_tolerance t;
	char err[64];
	fl_tolerance_parse("+2", 0, &t, err, sizeof err);
	cr_assert(fl_tolerance_holds(&t, 10, 12));
	cr_assert_not(fl_tolerance_holds(&t, 10, 13));
	fl_tolerance_parse("+0", 0, &t, err, sizeof err);
	cr_assert(fl_tolerance_holds(&t, 5, 5));
	cr_assert_not(fl_tolerance_holds(&t, 5, 6));
	cr_assert(fl_tolerance_holds(&t, 5, 4), "+0 bounds only upwards");
	fl_tolerance_parse("±0", 0, &t, err, sizeof err);
	cr_assert_not(fl_tolerance_holds(&t, 5, 4));
	fl_tolerance none = {0};
	cr_assert(fl_tolerance_holds(&none, 5, 1e12));
}

Test(judge, baseline_is_the_median)
{
	int fds[] = {5, 5, 100, 5, 6, 5, 4, 5, 5, 9};
	fl_sample *s = series(fds, 10);
	fl_baseline b;
	cr_assert_eq(fl_judge_baseline(s, 10, 0, 90 * MS, &b), 0);
	cr_assert_eq(b.samples, 10);
	cr_assert_float_eq(b.v[FL_FIG_FDS], 5, 1e-9, "one spike must not move it");
	cr_assert_float_eq(b.v[FL_FIG_THREADS], 2, 1e-9);
	/* A window holding 4 samples: 5,6,5,4 -> median 5 (mean of 5 and 5). */
	cr_assert_eq(fl_judge_baseline(s, 10, 30 * MS, 60 * MS, &b), 0);
	cr_assert_eq(b.samples, 4);
	cr_assert_float_eq(b.v[FL_FIG_FDS], 5, 1e-9);
	cr_assert_eq(fl_judge_baseline(s, 10, 500 * MS, 600 * MS, &b), -ENODATA);
	free(s);
}

/* Counts take the lower median of an even number of samples, so a leak is
 * a whole number; RSS, a measure, takes the mean of the middle two. */
Test(judge, baseline_of_counts_is_a_count)
{
	int fds[] = {9, 10, 9, 10};
	fl_sample *s = series(fds, 4);
	s[0].v[FL_FIG_RSS] = 100;
	s[1].v[FL_FIG_RSS] = 200;
	s[2].v[FL_FIG_RSS] = 300;
	s[3].v[FL_FIG_RSS] = 400;
	fl_baseline b;
	cr_assert_eq(fl_judge_baseline(s, 4, 0, 30 * MS, &b), 0);
	cr_assert_float_eq(b.v[FL_FIG_FDS], 9, 1e-9, "got %g", b.v[FL_FIG_FDS]);
	cr_assert_float_eq(b.v[FL_FIG_RSS], 250, 1e-9, "got %g",
			   b.v[FL_FIG_RSS]);
	free(s);
}

Test(judge, steady_names_the_broken_condition)
{
	fl_steady st = fds_within("+2");
	char err[64];
	fl_tolerance_parse("+1MiB", 1, &st.tol[FL_FIG_RSS], err, sizeof err);
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_sample ok = {.v = {[FL_FIG_FDS] = 12, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_sample bad = {.v = {[FL_FIG_FDS] = 13, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_sample fat = {.v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 12 << 20, [FL_FIG_FILES] = -1}};
	char why[192];
	cr_assert(fl_judge_steady(&st, &b, &ok, NULL, -1, why, sizeof why));
	cr_assert_not(fl_judge_steady(&st, &b, &bad, NULL, -1, why, sizeof why));
	cr_assert_str_eq(why, "fds 13 > 12 (baseline 10, tolerance +2)");
	cr_assert_not(fl_judge_steady(&st, &b, &fat, NULL, -1, why, sizeof why));
	cr_assert(strstr(why, "rss 12.0 MiB > 11.0 MiB") != NULL, "%s", why);
	st.health = 1;
	cr_assert_not(fl_judge_steady(&st, &b, &ok, NULL, 0, why, sizeof why));
	cr_assert_str_eq(why, "health probe failing");
	cr_assert(fl_judge_steady(&st, &b, &ok, NULL, 1, why, sizeof why));
}

/* The window closed at 200 ms; fds come back at 300 ms. */
Test(judge, recovery_time)
{
	int fds[60];
	for (int i = 0; i < 60; i++)
		fds[i] = i < 30 ? 20 : 10;
	fl_sample *s = series(fds, 60);
	fl_steady st = fds_within("+2");
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_recovery r;
	fl_judge_recovery(s, NULL, 60, NULL, 0, &st, &b, 200 * MS, 100 * MS, 500 * MS,
			  590 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_OK);
	cr_assert_eq(r.at_ns, 300 * MS);
	cr_assert_eq(r.recovery_ns, 100 * MS);
	free(s);
}

Test(judge, recovery_pending_until_the_hold_is_seen)
{
	int fds[35];
	for (int i = 0; i < 35; i++)
		fds[i] = i < 30 ? 20 : 10;
	fl_sample *s = series(fds, 35);
	fl_steady st = fds_within("+2");
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_recovery r;
	/* Steady from 300 ms, data up to 340 ms: a 100 ms hold is not seen
	 * yet. */
	fl_judge_recovery(s, NULL, 35, NULL, 0, &st, &b, 200 * MS, 100 * MS, 500 * MS,
			  340 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_PENDING);
	free(s);
}

Test(judge, a_relapse_restarts_the_hold)
{
	/* Steady at 300-340 ms, relapse at 350, steady again from 360 ms. */
	int fds[60];
	for (int i = 0; i < 60; i++)
		fds[i] = (i < 30 || i == 35) ? 20 : 10;
	fl_sample *s = series(fds, 60);
	fl_steady st = fds_within("+2");
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_recovery r;
	fl_judge_recovery(s, NULL, 60, NULL, 0, &st, &b, 200 * MS, 100 * MS, 500 * MS,
			  590 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_OK);
	cr_assert_eq(r.at_ns, 360 * MS);
	cr_assert_eq(r.recovery_ns, 160 * MS);
	free(s);
}

Test(judge, recovery_bound_edges)
{
	int fds[80];
	for (int i = 0; i < 80; i++)
		fds[i] = i < 30 ? 20 : 10;
	fl_sample *s = series(fds, 80);
	fl_steady st = fds_within("+2");
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_recovery r;
	/* Recovery takes exactly 100 ms: a 100 ms bound holds... */
	fl_judge_recovery(s, NULL, 80, NULL, 0, &st, &b, 200 * MS, 100 * MS, 100 * MS,
			  790 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_OK);
	/* ...a 90 ms bound does not. */
	fl_judge_recovery(s, NULL, 80, NULL, 0, &st, &b, 200 * MS, 100 * MS, 90 * MS,
			  790 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_FAILED);
	cr_assert_str_eq(r.why, "fds 20 > 12 (baseline 10, tolerance +2)");
	free(s);
}

Test(judge, never_recovers)
{
	int fds[100];
	for (int i = 0; i < 100; i++)
		fds[i] = 20 + i / 10;	/* a climbing leak */
	fl_sample *s = series(fds, 100);
	fl_steady st = fds_within("+2");
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	fl_recovery r;
	fl_judge_recovery(s, NULL, 100, NULL, 0, &st, &b, 200 * MS, 100 * MS, 500 * MS,
			  600 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_PENDING, "bound not passed yet");
	fl_judge_recovery(s, NULL, 100, NULL, 0, &st, &b, 200 * MS, 100 * MS, 500 * MS,
			  990 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_FAILED);
	/* The reason is the state when the bound passed (710 ms). */
	cr_assert_str_eq(r.why, "fds 27 > 12 (baseline 10, tolerance +2)");
	free(s);
}

Test(judge, health_keeps_it_from_recovering)
{
	int fds[60];
	for (int i = 0; i < 60; i++)
		fds[i] = 10;
	fl_sample *s = series(fds, 60);
	fl_steady st = fds_within("+2");
	st.health = 1;
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 10, [FL_FIG_THREADS] = 2, [FL_FIG_RSS] = 10 << 20, [FL_FIG_FILES] = -1}};
	/* Health fails until 400 ms, passes from 405 ms. */
	fl_health_result h[] = {{150 * MS, 0, 0, ""}, {250 * MS, 0, 0, ""},
				{400 * MS, 0, 0, ""}, {405 * MS, 1, 0, ""},
				{500 * MS, 1, 0, ""}};
	fl_recovery r;
	fl_judge_recovery(s, NULL, 60, h, 5, &st, &b, 200 * MS, 100 * MS, 500 * MS,
			  590 * MS, &r);
	cr_assert_eq(r.state, FL_RECOVERY_OK);
	cr_assert_eq(r.at_ns, 405 * MS);
	cr_assert_eq(r.recovery_ns, 205 * MS);
	free(s);
}

Test(judge, mttr)
{
	int64_t rec[] = {100 * MS, 300 * MS, 200 * MS, 400 * MS, 1000 * MS};
	fl_mttr m;
	fl_judge_mttr(rec, 5, &m);
	cr_assert_eq(m.n, 5);
	cr_assert_float_eq(m.mean_s, 0.4, 1e-9);
	cr_assert_float_eq(m.p50_s, 0.3, 1e-9);
	cr_assert_float_eq(m.p95_s, 1.0, 1e-9);
	cr_assert_float_eq(m.max_s, 1.0, 1e-9);
	fl_judge_mttr(rec, 0, &m);
	cr_assert(isnan(m.mean_s));
}

Test(judge, percentile_nearest_rank)
{
	double v[20];
	for (int i = 0; i < 20; i++)
		v[i] = 20 - i; /* unsorted on purpose */
	cr_assert_float_eq(fl_percentile(v, 20, 95), 19, 1e-9);
	cr_assert_float_eq(fl_percentile(v, 20, 50), 10, 1e-9);
	cr_assert_float_eq(fl_percentile(v, 20, 100), 20, 1e-9);
	cr_assert_float_eq(fl_percentile(v, 20, 0), 1, 1e-9);
}

Test(judge, trend)
{
	int fds[101];
	for (int i = 0; i <= 100; i++)
		fds[i] = 10 + i / 2; /* 50 fds per second, in steps */
	fl_sample *s = series(fds, 101);
	fl_trend t;
	fl_judge_trend(s, 101, FL_FIG_FDS, 0, 1000 * MS, &t);
	cr_assert(t.valid);
	cr_assert_float_eq(t.slope_per_s, 50, 0.5);
	cr_assert_gt(t.r2, 0.99);
	fl_judge_trend(s, 101, FL_FIG_THREADS, 0, 1000 * MS, &t);
	cr_assert_float_eq(t.slope_per_s, 0, 1e-9);
	free(s);
}

/* Per process: each process against its own baseline (the worst one is
 * what the sample carries), while the tree's figures stay on the sum. */
Test(judge, steady_per_process_judges_the_worst_process)
{
	fl_steady st = fds_within("+4");
	char err[64];
	fl_tolerance_parse("+0", 0, &st.tol[FL_FIG_PROCS], err, sizeof err);
	st.per_process = 1;
	fl_baseline b = {.valid = 1, .v = {[FL_FIG_FDS] = 20, [FL_FIG_THREADS] = 3, [FL_FIG_FILES] = -1, [FL_FIG_PROCS] = 3}};
	/* Two workers each 3 above their own: +6 on the sum. */
	fl_sample x = {.v = {[FL_FIG_FDS] = 26, [FL_FIG_THREADS] = 3, [FL_FIG_FILES] = -1, [FL_FIG_PROCS] = 3}};
	fl_worst w = {.pid = {[FL_FIG_FDS] = 1234}, .v = {[FL_FIG_FDS] = 11}, .base = {[FL_FIG_FDS] = 8}};
	char why[192];
	cr_assert(fl_judge_steady(&st, &b, &x, &w, -1, why, sizeof why), "%s", why);
	/* Judged on the sum, the same sample is out. */
	st.per_process = 0;
	cr_assert_not(fl_judge_steady(&st, &b, &x, &w, -1, why, sizeof why));
	cr_assert_str_eq(why, "fds 26 > 24 (baseline 20, tolerance +4)");
	/* A worker 5 above its own baseline is named. */
	st.per_process = 1;
	w.v[FL_FIG_FDS] = 13;
	cr_assert_not(fl_judge_steady(&st, &b, &x, &w, -1, why, sizeof why));
	cr_assert_str_eq(why, "pid 1234: fds 13 > 12 (baseline 8, tolerance +4)");
	/* procs is the tree's, per process or not. */
	w.v[FL_FIG_FDS] = 9;
	x.v[FL_FIG_PROCS] = 4;
	cr_assert_not(fl_judge_steady(&st, &b, &x, &w, -1, why, sizeof why));
	cr_assert_str_eq(why, "procs 4 > 3 (baseline 3, tolerance +0)");
}

Test(judge, tolerance_excess)
{
	fl_tolerance t;
	char err[64];
	fl_tolerance_parse("±2", 0, &t, err, sizeof err);
	cr_assert_float_eq(fl_tolerance_excess(&t, 10, 13), 1, 1e-9);
	cr_assert_float_eq(fl_tolerance_excess(&t, 10, 7), 1, 1e-9);
	cr_assert_float_eq(fl_tolerance_excess(&t, 10, 11), -1, 1e-9);
	fl_tolerance_parse("+2", 0, &t, err, sizeof err);
	cr_assert_float_eq(fl_tolerance_excess(&t, 10, 0), -12, 1e-9);
	fl_tolerance none = {0};
	cr_assert(isinf(fl_tolerance_excess(&none, 10, 1000)));
}
