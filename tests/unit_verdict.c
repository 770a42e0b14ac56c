/* The verdict rule and the exit-status rule, on synthetic expectations:
 * every verdict, xfail with and without match, survival, errors, and the
 * names results files carry. */
#include "testutil.h"

#include "verdict.h"

static fl_expectation ex(const char *what, int ok, const char *message)
{
	fl_expectation e;
	memset(&e, 0, sizeof e);
	snprintf(e.what, sizeof e.what, "%s", what);
	e.ok = ok;
	snprintf(e.message, sizeof e.message, "%s", message);
	return e;
}

static fl_verdict decide(const fl_verdict_input *in, char *msg)
{
	return fl_verdict_decide(in, msg, 1024);
}

#define assert_verdict(got, want, msg)                                       \
	cr_assert_eq((got), (want), "verdict %s, expected %s (message: %s)", \
		     fl_verdict_name(got), fl_verdict_name(want), (msg))

Test(verdict, pass_and_fail)
{
	char msg[1024];
	fl_expectation held[] = {ex("leaked fds", 1, "leaked 0 fds"),
				 ex("recovery", 1, "recovered in 0.1 s")};
	fl_verdict_input in = {.expects = held, .nexpects = 2};
	fl_verdict v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_PASS, msg);
	cr_assert_str_eq(msg, "");

	fl_expectation mixed[] = {ex("recovery", 1, "recovered"),
				  ex("leaked fds", 0, "leaked 3 fds (allowed 0)"),
				  ex("leaked threads", 0, "leaked 1 threads")};
	in.expects = mixed;
	in.nexpects = 3;
	v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_FAIL, msg);
	cr_assert_str_eq(msg, "leaked 3 fds (allowed 0)",
			 "the first failed expectation explains it");
}

Test(verdict, no_expectations_is_a_pass)
{
	char msg[1024];
	fl_verdict_input in = {0};
	assert_verdict(decide(&in, msg), FL_VERDICT_PASS, msg);
}

Test(verdict, error_wins)
{
	char msg[1024];
	fl_expectation failed[] = {ex("exit", 0, "exit status 3")};
	fl_verdict_input in = {.error = "s.lua:9: attempt to index a nil value",
			       .expects = failed,
			       .nexpects = 1,
			       .xfail = 1};
	fl_verdict v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_ERROR, msg);
	cr_assert_str_eq(msg, "s.lua:9: attempt to index a nil value");
}

Test(verdict, survival_fails_the_scenario)
{
	char msg[1024];
	fl_expectation e[] = {
		ex("survival", 0,
		   "target did not survive: killed by SIGSEGV at 1.23 s")};
	fl_verdict_input in = {.expects = e, .nexpects = 1};
	fl_verdict v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_FAIL, msg);
	cr_assert(strstr(msg, "killed by SIGSEGV"));
}

/* Survival first: the crash is the headline whatever failed before it
 * (a recovery that could not come, a script's own check). */
Test(verdict, survival_is_the_headline_over_earlier_failures)
{
	char msg[1024];
	fl_expectation e[] = {
		ex("recovery", 0, "not recovered within 0.50 s: the target exited"),
		ex("leaked fds", 0, "leaked 2 fds (allowed 0)"),
		ex("survival", 0, "target did not survive: killed by SIGSEGV at 0.61 s")};
	fl_verdict_input in = {.expects = e, .nexpects = 3};
	assert_verdict(decide(&in, msg), FL_VERDICT_FAIL, msg);
	cr_assert_str_eq(msg, "target did not survive: killed by SIGSEGV at 0.61 s");
	/* Without a survival failure, the first failure still leads. */
	in.nexpects = 2;
	decide(&in, msg);
	cr_assert_str_eq(msg, "not recovered within 0.50 s: the target exited");
}

Test(verdict, xfail_without_match)
{
	char msg[1024];
	fl_expectation failed[] = {ex("leaked fds", 0, "leaked 270 fds")};
	fl_verdict_input in = {.expects = failed, .nexpects = 1, .xfail = 1};
	fl_verdict v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_XFAIL, msg);
	cr_assert_str_eq(msg, "leaked 270 fds");

	fl_expectation held[] = {ex("leaked fds", 1, "leaked 0 fds")};
	in.expects = held;
	v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_XPASS, msg);
	cr_assert_str_eq(msg, "expected to fail, but every expectation held");
}

Test(verdict, xfail_with_match)
{
	char msg[1024];
	fl_expectation failed[] = {
		ex("recovery", 0, "not recovered within 0.50 s"),
		ex("leaked fds", 0, "leaked 12 fds (allowed 0): 12 x socket")};
	fl_verdict_input in = {.expects = failed,
			       .nexpects = 2,
			       .xfail = 1,
			       .xfail_match = "leaked %d+ fds"};
	fl_verdict v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_XFAIL, msg);
	cr_assert_str_eq(msg, "leaked 12 fds (allowed 0): 12 x socket",
			 "the matching expectation explains it");

	in.xfail_match = "leaked %d+ threads";
	v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_FAIL, msg);
	cr_assert_str_eq(msg, "failed, but not as expected (xfail.match "
			      "'leaked %d+ threads'): not recovered within "
			      "0.50 s");

	/* A bad pattern never matches: the failure is not the expected one. */
	in.xfail_match = "leaked (";
	v = decide(&in, msg);
	assert_verdict(v, FL_VERDICT_FAIL, msg);
}

static int match_prefix(const char *message, const char *pattern)
{
	return strncmp(message, pattern, strlen(pattern)) == 0;
}

Test(verdict, xfail_match_uses_the_given_matcher)
{
	char msg[1024];
	fl_expectation failed[] = {ex("exit", 0, "exit status: exit 3")};
	fl_verdict_input in = {.expects = failed,
			       .nexpects = 1,
			       .xfail = 1,
			       .xfail_match = "exit status",
			       .match = match_prefix};
	assert_verdict(decide(&in, msg), FL_VERDICT_XFAIL, msg);
	in.xfail_match = "status";
	assert_verdict(decide(&in, msg), FL_VERDICT_FAIL, msg);
}

Test(verdict, names_round_trip_and_unknown_fails_closed)
{
	for (int v = 0; v < FL_VERDICT_COUNT; v++)
		cr_assert_eq(fl_verdict_parse(fl_verdict_name(v)), v);
	cr_assert_eq(fl_verdict_parse(NULL), FL_VERDICT_UNKNOWN);
	cr_assert_eq(fl_verdict_parse("CRASHED"), FL_VERDICT_UNKNOWN);
	cr_assert_eq(fl_verdict_parse("pass"), FL_VERDICT_UNKNOWN);
	cr_assert_eq(fl_verdict_parse(""), FL_VERDICT_UNKNOWN);
	cr_assert(fl_verdict_good(FL_VERDICT_PASS));
	cr_assert(fl_verdict_good(FL_VERDICT_XFAIL));
	cr_assert_not(fl_verdict_good(FL_VERDICT_FAIL));
	cr_assert_not(fl_verdict_good(FL_VERDICT_ERROR));
	cr_assert_not(fl_verdict_good(FL_VERDICT_XPASS));
	cr_assert_not(fl_verdict_good(FL_VERDICT_FLAKY));
	cr_assert_not(fl_verdict_good(FL_VERDICT_UNKNOWN));
	cr_assert_str_eq(fl_verdict_name(FL_VERDICT_UNKNOWN), "UNKNOWN");
	cr_assert_lt(fl_verdict_rank(FL_VERDICT_ERROR),
		     fl_verdict_rank(FL_VERDICT_FAIL));
	cr_assert_lt(fl_verdict_rank(FL_VERDICT_FLAKY),
		     fl_verdict_rank(FL_VERDICT_XFAIL));
	cr_assert_lt(fl_verdict_rank(FL_VERDICT_XFAIL),
		     fl_verdict_rank(FL_VERDICT_PASS));
}

static int status_of(const fl_verdict *v, size_t n, int load_errors)
{
	fl_verdict_counts c;
	memset(&c, 0, sizeof c);
	for (size_t i = 0; i < n; i++)
		fl_verdict_count(&c, v[i], (int)i < load_errors);
	return fl_verdict_exit_status(&c);
}

Test(verdict, exit_status)
{
	fl_verdict good[] = {FL_VERDICT_PASS, FL_VERDICT_XFAIL};
	cr_assert_eq(status_of(good, 2, 0), 0);
	cr_assert_eq(status_of(good, 0, 0), 0);
	fl_verdict fail[] = {FL_VERDICT_PASS, FL_VERDICT_FAIL};
	cr_assert_eq(status_of(fail, 2, 0), 1);
	fl_verdict xpass[] = {FL_VERDICT_XPASS};
	cr_assert_eq(status_of(xpass, 1, 0), 1);
	fl_verdict flaky[] = {FL_VERDICT_FLAKY, FL_VERDICT_PASS};
	cr_assert_eq(status_of(flaky, 2, 0), 1);
	fl_verdict error[] = {FL_VERDICT_FAIL, FL_VERDICT_ERROR};
	cr_assert_eq(status_of(error, 2, 0), 2);
	cr_assert_eq(status_of(good, 2, 1), 2, "a load error is bad usage");
	fl_verdict unknown[] = {FL_VERDICT_PASS, FL_VERDICT_UNKNOWN};
	cr_assert_eq(status_of(unknown, 2, 0), 2,
		     "a scenario without a verdict is never a pass");
}
