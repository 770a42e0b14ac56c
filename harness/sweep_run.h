/* The runs of faultline sweep (cmd_sweep.c): a reference run of each
 * scenario, the tasks its sites make (unless another shard, the budget or
 * --nth says otherwise), a run per site and a second run of each finding,
 * side by side; a line per run as it ends; each site's entry of the
 * results. Part of the command's layer: it prints the progress lines, the
 * command prints the rest. */
#ifndef FL_SWEEP_RUN_H
#define FL_SWEEP_RUN_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#include "scenario.h"
#include "sweep.h"
#include "verdict.h"
#include "writers.h"

/* The command line of a sweep. */
typedef struct fl_sweep_cli {
	fl_run_opts opts;	/* what every run shares */
	const char *tags;
	const char *report_dir;
	int no_report;
	const char *extra[FL_WRITER_COUNT];
	int quiet, color;
	int jobs;
	int shard_index, shard_total;
	int depth;
	uint64_t nth;
	char *points_arg;	/* as given, for replay commands */
	char **points;
	int npoints;
	long budget_runs;	/* 0: none */
	double budget_s;	/* 0: none */
	char budget_arg[32];
	uint64_t only_site;	/* --site */
	const char *only_actor;
} fl_sweep_cli;

/* One scenario being swept. */
typedef struct fl_sweep_scen {
	const fl_scenario_ref *ref;
	char id[PATH_MAX + 16];
	json_t *reference;	/* its reference run's result */
	fl_verdict ref_verdict;
	json_t *map;		/* its object in sweep.scenarios */
} fl_sweep_scen;

/* One site's run (and its second run). */
typedef struct fl_sweep_task {
	fl_sweep_scen *sc;
	json_t *site;		/* its object in the map */
	char site_id[24];
	fl_sweep_opts sw;
	json_t *result;		/* the first run */
	fl_outcome outcome;
	char detail[1024];
	int ran, confirmed;
	fl_outcome second;
	char second_detail[1024];
	int second_ran;
	const char *not_run;	/* why it was not run, or NULL */
} fl_sweep_task;

/* A sweep under way. */
typedef struct fl_sweep_state {
	fl_sweep_cli *c;
	fl_sweep_scen *scens;
	int nscens;
	fl_sweep_task *tasks;
	int ntasks;
	int64_t deadline_ns;	/* --budget TIME: no run starts after it */
	int done, total;	/* progress */
} fl_sweep_state;

/* Runs the sweep: the reference runs and the tasks they make (--site: a
 * task per scenario for that site), every task, then the second runs.
 * Stops starting runs once interrupted. Returns the number of reference
 * runs. */
int fl_sweep_run_all(fl_sweep_state *s);
/* The results' entries: each reference that did not pass (once over the
 * shards), then each task's entry; a task not run is marked "not tried"
 * in the map with why. Adds the tasks' runs to *runs and sets *ref_failed
 * when a reference did not pass. */
json_t *fl_sweep_run_entries(fl_sweep_state *s, int *runs, int *ref_failed);

#endif
