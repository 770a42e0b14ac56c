/* The subcommands of the faultline command line. Each returns the process
 * exit status. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stddef.h>

#define FL_EXIT_OK 0
#define FL_EXIT_FAILED 1
#define FL_EXIT_USAGE 2
#define FL_EXIT_INTERNAL 3

int fl_cmd_run(int argc, char **argv);
int fl_cmd_list(int argc, char **argv);
int fl_cmd_points(int argc, char **argv);
int fl_cmd_replay(int argc, char **argv);
int fl_cmd_shrink(int argc, char **argv);
int fl_cmd_gate(int argc, char **argv);
int fl_cmd_trend(int argc, char **argv);
int fl_cmd_merge(int argc, char **argv);
int fl_cmd_report(int argc, char **argv);
int fl_cmd_check(int argc, char **argv);
int fl_cmd_new(int argc, char **argv);

/* The command line of a subcommand (cli.c). */
struct option;
/* getopt_long for subcommand cmd ("run"): an unknown option, a missing
 * value or a value given to a flag is one line on stderr, "faultline run:
 * unknown option '--x' (try 'faultline run --help')", and returns '?';
 * the caller returns FL_EXIT_USAGE without printing more. */
int fl_cli_getopt(const char *cmd, int argc, char **argv,
		  const char *shortopts, const struct option *longopts);
/* Prints "faultline CMD: MESSAGE (try 'faultline CMD --help')" and returns
 * FL_EXIT_USAGE: a missing or surplus operand. */
int fl_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* For a subcommand that takes no options: 1 when argv asks for --help or
 * -h, -1 after printing the line for any other option, else 0. */
int fl_cli_no_options(const char *cmd, int argc, char **argv);
int fl_cmd_sweep(int argc, char **argv);

/* Locates faultline-agent.so and libfiu's POSIX preload. NULL with a
 * message in err if one is missing. */
const char *fl_find_agent(char *err, size_t errlen);
const char *fl_find_fiu_preload(char *err, size_t errlen);

/* "0.1.0 (git abc1234)": the release number and the commit it was built
 * from. */
const char *fl_version(void);
/* The directory of the documentation (scenarios.md, tutorial.md, the
 * examples): the installed one beside the binary, the build tree's docs/,
 * or where make install puts it. */
const char *fl_doc_dir(void);

/* Shared by run, replay and shrink (run.c). */
#include <jansson.h>
#include <stdint.h>

#include "writers.h"
/* Starts the guardian and the monitor and makes the run's temporary
 * directory. 0, or -1 after printing why. */
int fl_runtime_start(char *tmp_root, size_t len);
void fl_runtime_stop(const char *tmp_root);
/* The console lines of a result: the verdict and name, every failed
 * expectation briefly (console.h), the verdict's message when it says
 * more, warnings, where the first failure was said and how to re-run it
 * (where that makes sense: fl_results_rerun); with verbose every failed
 * expectation in full. Written through the live display (progress.h)
 * when there is one. Thread-safe. */
void fl_print_result(int color, int quiet, int verbose, json_t *r);
/* Prints a file that could not be written (an fl_writer_failed_fn). */
void fl_print_write_failure(const char *path, int err, void *arg);
/* The reports of a run (run, replay): the directory report_dir/id (NULL:
 * none) with the journals moved out of doc into journal-K.json files,
 * results.json first, then every other writer's file and the extra files
 * asked for (extra[] by writer, or NULL), and report_dir/latest only once
 * results.json is complete. index_path gets the HTML page's path. Prints
 * each file that could not be written, and returns: */
#define FL_REPORTS_OK 0
/* a file other than the results could not be written; */
#define FL_REPORTS_PARTIAL (-1)
/* the results file (results.json, --json FILE) or latest could not be
 * written: the run has no complete results where they are looked for. */
#define FL_REPORTS_NO_RESULTS (-2)
int fl_write_reports(json_t *doc, const char *report_dir, const char *id,
		     const char *const extra[FL_WRITER_COUNT], char *index_path,
		     size_t index_len);
/* Adds to a journal document (NULL or a non-object: nothing) how its run
 * failed, which replay and shrink compare with theirs: "failure" is
 * { verdict, signature, by_expectation { what: signature } }
 * (fl_results_failure_signature). fl_write_reports does it for each
 * scenario's journal; run, for every run's with --repeat. */
void fl_annotate_journal(json_t *journal, json_t *result);
json_t *fl_host_json(void);
void fl_run_id(char *id, size_t len, int64_t wall_ns);
/* --shard I/N, "auto" (GitLab's CI_NODE_INDEX/CI_NODE_TOTAL) or "auto/N"
 * (Kubernetes' JOB_COMPLETION_INDEX): 0, or -1 with the reason in err. */
int fl_parse_shard(const char *spec, int *index, int *total, char *err,
		   size_t errlen);

#endif
