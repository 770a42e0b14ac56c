/* Text from outside faultline (harness/text.c): any bytes become a JSON
 * string, with U+FFFD for each byte that is not valid UTF-8, and nothing
 * is lost around them; the console shows control characters instead of
 * obeying them. The MTTR comparison of the gate (harness/compare.c). */
#include "testutil.h"

#include "compare.h"
#include "report.h"
#include "text.h"

#include <math.h>

#define FFFD "\xEF\xBF\xBD"

static char *dumped(json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY);
	cr_assert_not_null(s);
	return s;
}

Test(text, invalid_bytes_become_replacement_characters)
{
	json_t *v = fl_text_json("ok \377 then \xC3\xA9 and \xC3");
	cr_assert_not_null(v);
	cr_assert_str_eq(json_string_value(v), "ok " FFFD " then \xC3\xA9 and " FFFD);
	json_decref(v);
	/* Overlong, surrogate, too large: one U+FFFD per byte. */
	v = fl_text_json("\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80");
	cr_assert_str_eq(json_string_value(v),
			 FFFD FFFD "|" FFFD FFFD FFFD "|" FFFD FFFD FFFD FFFD);
	json_decref(v);
	/* NUL bytes are kept, as \u0000. */
	v = fl_text_jsonn("a\0b", 3);
	cr_assert_eq(json_string_length(v), 3);
	char *s = dumped(v);
	cr_assert_str_eq(s, "\"a\\u0000b\"");
	free(s);
	json_decref(v);
	cr_assert(json_is_null(fl_text_json(NULL)));
}

/* One stray byte on stdout no longer removes the whole object. */
Test(text, keys_and_members_are_never_dropped)
{
	json_t *o = json_object();
	fl_text_set(o, "tail", fl_text_json("\377"));
	fl_text_set(o, "bad\377key", json_integer(1));
	cr_assert_eq(json_object_size(o), 2);
	cr_assert_str_eq(json_string_value(json_object_get(o, "tail")), FFFD);
	cr_assert_eq(json_integer_value(json_object_get(o, "bad" FFFD "key")), 1);
	json_decref(o);
}

Test(text, console_shows_control_characters)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_text_console(&b, "a\033[2Jb\nc\td\r\x01\x7F\xC2\x85\377 é");
	cr_assert_str_eq(b.data, "a\\e[2Jb\\nc\\td\\r\\x01\\x7F\\u0085" FFFD " é");
	fl_buf_free(&b);
}

Test(text, xml_escaping_keeps_the_rest)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_escape_xml(&b, "<\377>\x01&");
	cr_assert_str_eq(b.data, "&lt;" FFFD "&gt;" FFFD "&amp;");
	fl_buf_free(&b);
}

/* Seconds and figures print as what they are, whatever the double. */
Test(text, figures_format_safely)
{
	char out[64];
	fl_fmt_seconds(out, sizeof out, 1e308);
	cr_assert_str_eq(out, "1e+308 s");
	fl_fmt_seconds(out, sizeof out, -0.0123);
	cr_assert_str_eq(out, "-12.3 ms");
	fl_fmt_seconds(out, sizeof out, NAN);
	cr_assert_str_eq(out, "-");
	fl_fmt_seconds(out, sizeof out, -INFINITY);
	cr_assert_str_eq(out, "-inf s");
	fl_fmt_figure(FL_FIG_RSS, 1e300, out, sizeof out);
	cr_assert_str_eq(out, "1e+300 B");
	fl_fmt_figure(FL_FIG_FDS, 3, out, sizeof out);
	cr_assert_str_eq(out, "3");
}

/* ------------------------------------------------------------------ */
/* The gate's MTTR rule. */

static const fl_compare_params params = {.threshold = 0.2, .floor_s = 0.005,
					  .min_episodes = 3};

static enum fl_compare_outcome cmp(const double *a, size_t na, const double *b,
				   size_t nb, fl_compare_result *r)
{
	double x[16], y[16];
	memcpy(x, a, na * sizeof *a);
	memcpy(y, b, nb * sizeof *b);
	fl_compare_mttr(x, na, NAN, y, nb, NAN, &params, r);
	return r->outcome;
}

Test(compare, quantiles_interpolate)
{
	double v[] = {1, 2, 3, 4};
	cr_assert_float_eq(fl_compare_quantile(v, 4, 0.5), 2.5, 1e-12);
	cr_assert_float_eq(fl_compare_quantile(v, 4, 0.25), 1.75, 1e-12);
	cr_assert_float_eq(fl_compare_quantile(v, 1, 0.75), 1, 1e-12);
	cr_assert(isnan(fl_compare_quantile(v, 0, 0.5)));
}

Test(compare, doubled_recovery_is_slower)
{
	double a[] = {0.030, 0.029, 0.031, 0.030, 0.0295};
	double b[] = {0.060, 0.061, 0.059, 0.060, 0.0605};
	fl_compare_result r;
	cr_assert_eq(cmp(a, 5, b, 5, &r), FL_COMPARE_SLOWER);
	cr_assert_float_eq(r.median_old, 0.030, 1e-12);
	cr_assert_float_eq(r.median_new, 0.060, 1e-12);
	/* 5 ms + the IQR of a (0.5 ms) + 20 % of 30 ms. */
	cr_assert_float_eq(r.allowance, 0.005 + 0.0005 + 0.006, 1e-12);
	cr_assert_float_eq(r.slower_pairs, 1.0, 1e-12);
	/* The other way round: faster. */
	cr_assert_eq(cmp(b, 5, a, 5, &r), FL_COMPARE_FASTER);
}

Test(compare, the_same_distribution_is_within)
{
	double a[] = {0.030, 0.029, 0.031, 0.030, 0.0295};
	double b[] = {0.031, 0.0305, 0.029, 0.0302, 0.033};
	fl_compare_result r;
	cr_assert_eq(cmp(a, 5, b, 5, &r), FL_COMPARE_WITHIN);
}

/* One slow episode moves no median; a shift inside the baseline's own
 * spread is noise. */
Test(compare, one_outlier_and_a_wide_baseline_are_noise)
{
	double a[] = {0.030, 0.029, 0.031, 0.030, 0.0295};
	double b[] = {0.030, 0.031, 0.029, 0.090, 0.030};
	fl_compare_result r;
	cr_assert_eq(cmp(a, 5, b, 5, &r), FL_COMPARE_WITHIN);
	double wide[] = {0.05, 0.10, 0.15, 0.20, 0.25};
	double later[] = {0.10, 0.15, 0.20, 0.25, 0.30};
	cr_assert_eq(cmp(wide, 5, later, 5, &r), FL_COMPARE_WITHIN);
	cr_assert_float_eq(r.spread, 0.10, 1e-12);
}

/* The median alone is not enough: most pairs must agree. */
Test(compare, pairs_must_agree)
{
	double a[] = {0.010, 0.010, 0.010, 0.100, 0.100, 0.100};
	double b[] = {0.010, 0.010, 0.100, 0.100, 0.100, 0.100};
	fl_compare_result r;
	cr_assert_eq(cmp(a, 6, b, 6, &r), FL_COMPARE_WITHIN);
	cr_assert_lt(r.slower_pairs, FL_COMPARE_DOMINANCE);
}

Test(compare, too_few_episodes_are_not_compared)
{
	double a[] = {0.001}, b[] = {0.080};
	fl_compare_result r;
	cr_assert_eq(cmp(a, 1, b, 1, &r), FL_COMPARE_NOT_COMPARED);
	cr_assert_eq(r.n_old, 1);
	cr_assert_eq(r.n_new, 1);
	cr_assert_eq(cmp(a, 0, b, 1, &r), FL_COMPARE_NOT_COMPARED);
}

/* A run's own resolution widens the allowance past the floor. */
Test(compare, resolution_is_the_coarser_run)
{
	double a[] = {0.030, 0.030, 0.030}, b[] = {0.050, 0.050, 0.050};
	double x[3], y[3];
	fl_compare_result r;
	memcpy(x, a, sizeof a);
	memcpy(y, b, sizeof b);
	fl_compare_mttr(x, 3, 0.001, y, 3, NAN, &params, &r);
	cr_assert_eq(r.outcome, FL_COMPARE_SLOWER);
	memcpy(x, a, sizeof a);
	memcpy(y, b, sizeof b);
	fl_compare_mttr(x, 3, 0.001, y, 3, 0.020, &params, &r);
	cr_assert_float_eq(r.resolution, 0.020, 1e-12);
	cr_assert_eq(r.outcome, FL_COMPARE_WITHIN);
}
