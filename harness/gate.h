/* The gate's list of checks and how it is shown: cmd_gate.c makes the
 * checks (verdicts, figures, leaks, MTTR, sweep sites, identity) and adds
 * each here; this module prints them as a table and a closing line and
 * writes them as JUnit. Apart from the command because the checks are the
 * rules a release must meet, and how they are shown is a second concern
 * that changes for other reasons (a CI's view, the terminal). */
#ifndef FL_GATE_H
#define FL_GATE_H

#include "compare.h"
#include "util.h"

#include <stddef.h>

/* What a check found. */
typedef enum {
	FL_GATE_OK,
	FL_GATE_INFO,
	FL_GATE_BETTER,
	FL_GATE_FAILED
} fl_gate_outcome;

/* What can fail the gate, in the order the closing line counts them; a
 * failed check's JUnit failure type is its kind's name. */
enum fl_gate_kind {
	FL_GATE_NEWLY_FAILING,
	FL_GATE_NO_VERDICT,
	FL_GATE_REMOVED,
	FL_GATE_BAD_SCENARIO,
	FL_GATE_BAD_FIGURES,
	FL_GATE_NEW_LEAK,
	FL_GATE_MTTR,
	FL_GATE_KINDS
};

/* One row of the table, one testcase of the JUnit. */
typedef struct {
	char *scenario;
	const char *name;	/* verdict, leaks, mttr, figures, id */
	fl_gate_outcome outcome;
	char *old_value, *new_value, *detail;
	int kind;		/* for a failure: its kind */
} fl_gate_check;

/* The gate's options that the outputs show, and its checks. */
typedef struct {
	fl_compare_params mttr;
	int allow_removed;
	fl_gate_check *checks;
	size_t n, cap;
	int failures[FL_GATE_KINDS];
	int improvements;
	size_t removed;
} fl_gate;

/* Adds a check to g; a failed one counts against its kind (an
 * fl_gate_kind, -1 for none), a better one as an improvement. */
void fl_gate_add(fl_gate *g, const char *scenario, const char *name,
		 fl_gate_outcome outcome, int kind, const char *old_value,
		 const char *new_value, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
/* How many checks failed. */
int fl_gate_failed_total(const fl_gate *g);
/* Text from the results for the terminal (malloc'd). */
char *fl_gate_console(const char *s);
/* The table of checks on stdout: failures, improvements, the rest (with
 * quiet, the failures only). */
void fl_gate_print_table(const fl_gate *g, int quiet);
/* "gate: FAIL: 1 newly failing, 2 new leaks (11 scenarios compared, ...)" */
void fl_gate_print_closing(const fl_gate *g, size_t compared);
/* The checks as JUnit XML at path, written atomically: 0 or -errno. */
int fl_gate_write_junit(const fl_gate *g, const char *path,
			const char *old_path, const char *new_path);

#endif
