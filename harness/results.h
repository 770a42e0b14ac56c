/* The one reader of results documents (results.json, docs/results.md).
 * Every command and output that reads results goes through here: loading
 * with the schema check, the accessors that say what an absent or
 * mistyped field reads as, the scenarios and their verdicts, and the
 * summary of a run. */
#ifndef FL_RESULTS_H
#define FL_RESULTS_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"
#include "verdict.h"

#define FL_RESULTS_SCHEMA "faultline.results"
#define FL_RESULTS_SCHEMA_VERSION 1

/* Bytes of a results file read to check its schema before the whole file
 * is parsed: writers put "schema" and "schema_version" first. */
#define FL_RESULTS_HEAD_BYTES 4096

/* The results file an argument names: the argument itself, or the
 * results.json of a report directory. */
void fl_results_path(const char *arg, char *out, size_t len);

/* Reads and checks a results document into *doc. A file whose head names
 * another schema or an unsupported version is refused from its first
 * FL_RESULTS_HEAD_BYTES bytes, without parsing the rest. 0, or -errno
 * with a sentence in err: -ENOENT and the like from the file system,
 * -EINVAL for a file that is not JSON or not a results document,
 * -ENOTSUP for a schema version this faultline does not read. */
int fl_results_load(const char *path, json_t **doc, char *err, size_t errlen);

/* What a reader keeps of each scenario of a document. */
typedef enum fl_results_keep {
	/* Everything: what run, merge, report and replay write again. */
	FL_RESULTS_KEEP_ALL = 0,
	/* What the readers that compare and chart figures read (gate,
	 * trend): fl_results_slim of each scenario, applied as the
	 * scenarios are read, so a file's per-sample series never all sit
	 * in memory at once. */
	FL_RESULTS_KEEP_FIGURES,
} fl_results_keep;

/* fl_results_load with a choice of what to keep. The file is read in
 * large blocks and decoded one scenario at a time (the other top-level
 * members whole); with FL_RESULTS_KEEP_FIGURES each scenario is slimmed
 * as it is read, so memory is the slimmed document plus the largest
 * scenario. A text that is not one JSON object is handed to Jansson
 * whole, so a broken file gets its one message whichever way it is
 * read (from the piece Jansson refused, for a pipe). */
int fl_results_read(const char *path, fl_results_keep keep, json_t **doc,
		    char *err, size_t errlen);

/* Reads a results document a scenario at a time, none kept: fn gets
 * each scenario as it is decoded, with its number (the scenario is
 * released when fn returns: json_incref to keep it). *head gets the rest
 * of the document, every other member in its place and an empty
 * "scenarios" array. fn returns 0 to go on; anything else stops the read
 * and is returned. Otherwise 0, or what fl_results_load returns, with a
 * sentence in err. fn may be called before the file is found not to be
 * a results document (a schema named after the scenarios, a text broken
 * after them): act on what it saw only once this returned 0. A file with
 * two "scenarios" members is refused (-EINVAL), since the first array's
 * scenarios were handed out. Memory is the largest scenario and the
 * rest of the document. fn NULL reads the head alone: the scenarios are
 * scanned past without being decoded (so a broken one is not seen). */
typedef int (*fl_results_scenario_fn)(json_t *scenario, size_t idx, void *arg);
int fl_results_stream(const char *path, fl_results_scenario_fn fn, void *arg,
		      json_t **head, char *err, size_t errlen);

/* Drops from a scenario what only the report draws: the values of its
 * targets' sampled series and their output, the journal's records, the
 * health probes' per-probe arrays, the log and the forensics. Kept: every
 * other field, and of the times of the series and of the health probes
 * those that date an episode's recovery (the time equal to its
 * recovered_at and the one before), so fl_results_recovery_resolution
 * reads the same. A scenario that is not an object is left alone. */
void fl_results_slim(json_t *scenario);

/* The same refusal from the head for any faultline document (a journal:
 * "faultline.journal", version 1): 0 when the first
 * FL_RESULTS_HEAD_BYTES bytes do not name another schema or a version
 * past max_version, else -errno with a sentence in err (not_one for
 * another schema). Memory to refuse a file of any size stays bounded. */
int fl_results_check_head(const char *path, const char *schema,
			  int max_version, const char *not_one, char *err,
			  size_t errlen);

/* Fields. Each takes an object (NULL or a non-object reads as absent). */
/* A string; "" when absent or not a string. */
const char *fl_results_str(json_t *o, const char *key);
/* The same, but NULL when absent or not a string. */
const char *fl_results_opt_str(json_t *o, const char *key);
/* A number; NaN when absent or not a number (so "not measured" never
 * reads as 0). */
double fl_results_num(json_t *o, const char *key);
/* An integer; a real is rounded; 0 when absent or not a number. */
long long fl_results_int(json_t *o, const char *key);
/* 1 for true, 0 for anything else. */
int fl_results_bool(json_t *o, const char *key);
/* The value if it is an object (an array), else NULL. */
json_t *fl_results_obj(json_t *o, const char *key);
json_t *fl_results_arr(json_t *o, const char *key);

/* Scenarios. */
/* The scenarios array (NULL for a document without one). */
json_t *fl_results_scenarios(json_t *doc);
size_t fl_results_count(json_t *doc);
/* The scenario with this id (the first, when several have it), or NULL.
 * One look-up walks the scenarios: for many, build an index. */
json_t *fl_results_by_id(json_t *doc, const char *id);

/* The scenarios of a document by id, built once (a hash table): the first
 * scenario with each id, and how many have it. It points into the
 * document, which must outlive it and keep its scenarios' ids. A
 * scenario without an id is indexed under "" (fl_results_id). Out of
 * memory aborts (fl_out_of_memory). */
typedef struct fl_results_index fl_results_index;
fl_results_index *fl_results_index_new(json_t *doc);
/* What fl_results_by_id(doc, id) returns, in constant time. */
json_t *fl_results_index_get(const fl_results_index *ix, const char *id);
/* How many scenarios have this id. */
size_t fl_results_index_count(const fl_results_index *ix, const char *id);
void fl_results_index_free(fl_results_index *ix);
/* Its id ("" when it has none). */
const char *fl_results_id(json_t *scenario);
/* Its verdict; FL_VERDICT_UNKNOWN when missing, null or misspelled. */
fl_verdict fl_results_verdict(json_t *scenario);

/* The command that runs a scenario again ("rerun"), or NULL where that
 * makes no sense: a scenario that could not load, or an ERROR in which no
 * target ever started (it could not be executed, or never became
 * ready): running it again with the same seed fails the same way before
 * any fault, and the fix is in the scenario or the machine. The one rule
 * the console, the HTML report and JUnit follow. */
const char *fl_results_rerun(json_t *scenario);

/* How a scenario failed, as one line that two runs of the same failure
 * share: the "what" of each failed expectation, sorted and once each, and
 * for "survival", "exit" and "signal" the measured outcome too ("exit
 * (exit 3)", "survival (killed by SIGUSR1)"), joined by "; ". Only the
 * expectations named `only` when it is not NULL. Empty for a scenario
 * that failed no (such) expectation. The one rule that --repeat (FLAKY)
 * and shrink use to say "the same failure". */
void fl_results_failure_signature(json_t *scenario, const char *only,
				  fl_buf *out);

/* The recovery times (seconds) of a scenario's recovered episodes, in
 * order, in a malloc'd array (*out, *n; NULL and 0 for none). 0, or
 * -EINVAL with the episode and why in err: a recovery_s that is neither
 * null nor a finite, non-negative number. */
int fl_results_recoveries(json_t *scenario, double **out, size_t *n,
			  char *err, size_t errlen);
/* How finely the scenario's recoveries were dated, in seconds: for each
 * recovered episode, the time from the observation before the one that
 * dated it (the previous health probe, or the previous sample) to it; the
 * median over the episodes. NaN when the results do not say. */
double fl_results_recovery_resolution(json_t *scenario);
/* Appends to why, "; "-separated, each figure of the scenario that no
 * measurement can have given: an MTTR figure or an episode's recovery
 * time that is negative, not finite or not a number, a leak that is not
 * finite or not a number, a figures object that is not an object.
 * Returns how many. */
int fl_results_bad_figures(json_t *scenario, fl_buf *why);

/* Iterates the scenarios of a document: size_t i, json_t *s. */
#define fl_results_foreach(doc, i, s)                                          \
	json_array_foreach(fl_results_scenarios(doc), i, s)

/* A new results document: the schema, faultline's version, run and
 * scenarios (both taken over, also on failure) and the summary counted
 * from them. NULL when out of memory or given NULL. */
json_t *fl_results_new(const char *faultline_version, json_t *run,
		       json_t *scenarios);

/* Counts the verdicts of a document's scenarios (unknown ones included)
 * into c. */
void fl_results_counts(json_t *doc, fl_verdict_counts *c);
/* The "summary" object of these counts: the total, a count per verdict,
 * load errors and the exit status. NULL when out of memory. */
json_t *fl_results_summary_new(const fl_verdict_counts *c);
/* Writes the document's "summary" from its scenarios: the total, a count
 * per verdict, load errors and the exit status. 0 or -ENOMEM. */
int fl_results_summarize(json_t *doc);
/* A count of the summary: fl_verdict_summary_key(v) ("passed", ...). */
long long fl_results_summary_count(json_t *doc, fl_verdict v);
/* Appends the summary's counts for people: "3 passed, 1 failed", then
 * the other verdicts that occurred ("2 xfailed"), in verdict order. */
void fl_results_summary_line(json_t *doc, fl_buf *b);
/* The summary's exit status; 2 when it has none (a document nobody
 * summarised did not pass). */
int fl_results_exit_status(json_t *doc);

#endif
