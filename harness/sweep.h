/* The error-path sweep (docs/sweep.md): how one run of a scenario takes
 * part in it, and the rules that turn a site's run into its outcome and
 * a sweep's runs into its map. cmd_sweep.c is the command that drives
 * the runs; this module holds what the command, merge, the reports and
 * the gate share, so each rule lives in one place. */
#ifndef FL_SWEEP_H
#define FL_SWEEP_H

#include <jansson.h>
#include <stdint.h>

#include "../lib/agent_proto.h"

/* What a scenario run does for the sweep (fl_run_opts.sweep). */
typedef struct fl_sweep_opts {
	int mode;		/* FL_SWEEP_RECORD or FL_SWEEP_SITE */
	uint64_t site_key;	/* FL_SWEEP_SITE: the site */
	char actor[FL_ACTOR_MAX]; /* ...the actor whose calls count ("": any) */
	uint64_t nth;		/* ...the call from it that fails (1: first) */
	int depth;		/* frames in a site's identity */
	/* --points: these points, open from the first instruction to the
	 * stop, instead of the scenario's own windows (which then fail
	 * nothing and record nothing). */
	char **points;
	int npoints;
} fl_sweep_opts;

/* What happened to a site when its call failed. */
typedef enum fl_outcome {
	FL_OUTCOME_HANDLED = 0,	/* every expectation held: PASS */
	FL_OUTCOME_CRASHED,	/* died by a signal */
	FL_OUTCOME_EXITED,	/* exited on its own, with a status */
	FL_OUTCOME_LEAKED,	/* a leak expectation failed */
	FL_OUTCOME_UNRECOVERED,	/* did not recover */
	FL_OUTCOME_FAILED,	/* another expectation failed */
	FL_OUTCOME_UNREACHED,	/* the call was not made: nothing failed */
	FL_OUTCOME_ERROR,	/* the harness could not judge */
	FL_OUTCOME_FLAKY,	/* two runs of the site disagreed */
	FL_OUTCOME_COUNT
} fl_outcome;

/* "handled", "crashed", ...; "unknown" out of range. */
const char *fl_outcome_name(fl_outcome o);
/* The outcome a name stands for, or -1. */
int fl_outcome_parse(const char *name);
/* A finding: a site whose failed call the program did not handle
 * (crashed, exited, leaked, unrecovered, failed). */
int fl_outcome_is_finding(fl_outcome o);
/* The verdict of a site's run with this outcome: PASS, FAIL, ERROR
 * (unreached, error) or FLAKY. */
int fl_outcome_verdict(fl_outcome o);

/* The outcome of a site's run, from its result (a scenario result of
 * results.json, judged without its xfail), and in detail the sentence
 * that says it: "crashed: SIGSEGV at allocfail.c:88 (make_record)",
 * "leaked 7 fds: 7 x {tmpdir}/in-*.txt, opened at fileproc.c:123
 * (process_batch)", "exited with status 1", ... */
fl_outcome fl_sweep_outcome(json_t *result, char *detail, size_t len);

/* The map of a sweep document (results.json's "sweep"), made again from
 * its per-scenario site lists and the site results among its scenarios:
 * each site's outcome and the counts. Merge calls it on the union of
 * shards. 0 or -ENOMEM. */
int fl_sweep_map_update(json_t *doc);
/* A site's identity across builds, for comparing two sweeps (the gate):
 * its scenario, its point and the functions of the first frames of its
 * stack (lines and offsets move with every change; functions rarely do),
 * "scenarios/x.lua|posix/io/oc/close|produce_file<run_batch<main". */
void fl_sweep_site_match(json_t *scenario, json_t *site, char *out,
			 size_t len);
/* Calls fn for each site of a document's map with its scenario. */
void fl_sweep_each_site(json_t *doc, void (*fn)(json_t *scenario, json_t *site,
						 void *arg),
			void *arg);

/* Adds the sweep map of from (a shard's results) to into's: scenarios by
 * id, their sites by id; a site one shard ran wins over the others'
 * entries for it ("other shard", "not tried"). Call fl_sweep_map_update
 * once every shard is in. 0 or -ENOMEM. */
int fl_sweep_merge(json_t *into, json_t *from);

#endif
