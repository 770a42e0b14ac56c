/* Verdicts: their names, the one rule that turns what a scenario measured
 * into its verdict, the rule for repeated runs, and the one rule that turns
 * a run's verdicts into the exit status. Reports, gate, trend, merge and
 * the metrics export use these and nothing else. */
#ifndef FL_VERDICT_H
#define FL_VERDICT_H

#include <stddef.h>

typedef enum fl_verdict {
	FL_VERDICT_UNKNOWN = -1,	/* missing or not a verdict: never good */
	FL_VERDICT_PASS = 0,
	FL_VERDICT_FAIL,
	FL_VERDICT_ERROR,
	FL_VERDICT_XFAIL,
	FL_VERDICT_XPASS,
	FL_VERDICT_FLAKY,
	FL_VERDICT_COUNT
} fl_verdict;

/* "PASS", ...; "UNKNOWN" for FL_VERDICT_UNKNOWN. */
const char *fl_verdict_name(fl_verdict v);
/* The verdict a name stands for; FL_VERDICT_UNKNOWN for NULL or anything
 * else (so a results file with a misspelled verdict fails closed). */
fl_verdict fl_verdict_parse(const char *name);
/* PASS and XFAIL: the scenario did what was expected of it. Everything
 * else, UNKNOWN included, is not. */
int fl_verdict_good(fl_verdict v);
/* The key of the verdict's count in a results summary ("passed", ...). */
const char *fl_verdict_summary_key(fl_verdict v);
/* Worst first: ERROR, FAIL, XPASS, FLAKY, XFAIL, PASS (UNKNOWN before all),
 * for sorting reports. */
int fl_verdict_rank(fl_verdict v);

/* One expectation a scenario checked. */
typedef struct fl_expectation {
	char what[96];		/* "leaked fds", "recovery", "exit", ... */
	int ok;
	char measured[128];
	char allowed[128];
	char message[1024];
	char where[256];	/* file:line of the script */
} fl_expectation;

/* Does message match the xfail pattern? (Lua's string.find semantics.)
 * The default uses a private Lua state. */
typedef int (*fl_pattern_match_fn)(const char *message, const char *pattern);
int fl_verdict_lua_match(const char *message, const char *pattern);

/* Everything the verdict of one run depends on. */
typedef struct fl_verdict_input {
	/* The script stopped on an error, the watchdog fired, the run was
	 * interrupted, or the harness could not measure: the message. NULL
	 * when none of that happened. */
	const char *error;
	/* The expectations the run recorded, in order; a failed survival
	 * check is one of them (what = "survival"). */
	const fl_expectation *expects;
	int nexpects;
	int xfail;		/* the scenario is expected to fail */
	const char *xfail_match; /* ...with a message matching this, or NULL */
	fl_pattern_match_fn match; /* NULL: fl_verdict_lua_match */
} fl_verdict_input;

/* The verdict, and in message the sentence that explains it (the first
 * failed expectation, the error, ...; "" for a plain PASS). */
fl_verdict fl_verdict_decide(const fl_verdict_input *in, char *message,
			     size_t len);

/* One run of a scenario repeated with --repeat, as the repeat rule sees
 * it. */
typedef struct fl_repeat_run {
	fl_verdict verdict;
	/* How it failed (fl_results_failure_signature: which expectations,
	 * and for survival, exit and signal the status or signal); "" or
	 * NULL for a run that failed nothing. */
	const char *signature;
	/* The digest of the faults it fired; NULL or "" when none fired. */
	const char *digest;
} fl_repeat_run;

/* The verdict of a scenario run n times (--repeat). FLAKY when the
 * outcome changed: the verdicts differ, or the failure (its signature)
 * does; or, for an exact scenario (every window tied to target events,
 * results' "exact"), the fault journals differ. Otherwise the first run's
 * verdict. In message, why it is FLAKY ("flaky over 3 runs: PASS x2 FAIL
 * x1", "flaky over 2 runs: FAIL x2; the failure differs: ...", "...; 2
 * different fault journals"), else "". In note, for a scenario that is
 * not exact and whose journals differ, "journal varies (windows not tied
 * to target events): 3 different fault journals in 5 runs", else "". */
fl_verdict fl_verdict_repeat(const fl_repeat_run *runs, size_t n, int exact,
			     char *message, size_t len, char *note,
			     size_t notelen);

/* Counts of verdicts in a run, and scenarios that could not be loaded. */
typedef struct fl_verdict_counts {
	size_t n[FL_VERDICT_COUNT];
	size_t unknown;		/* scenarios without a readable verdict */
	size_t load_errors;
	size_t total;
} fl_verdict_counts;

void fl_verdict_count(fl_verdict_counts *c, fl_verdict v, int load_error);
/* 0 every scenario passed or failed as expected; 1 a FAIL, XPASS or FLAKY;
 * 2 a scenario that could not load, ended in ERROR, or has no verdict. */
int fl_verdict_exit_status(const fl_verdict_counts *c);

#endif
