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
int fl_cmd_sweep(int argc, char **argv);

/* Locates faultline-agent.so and libfiu's POSIX preload. NULL with a
 * message in err if one is missing. */
const char *fl_find_agent(char *err, size_t errlen);
const char *fl_find_fiu_preload(char *err, size_t errlen);

const char *fl_version(void);

/* Shared by run, replay and shrink (run.c). */
#include <jansson.h>
#include <stdint.h>

#include "writers.h"
/* Starts the guardian and the monitor and makes the run's temporary
 * directory. 0, or -1 after printing why. */
int fl_runtime_start(char *tmp_root, size_t len);
void fl_runtime_stop(const char *tmp_root);
/* The console line(s) of a result. Thread-safe. */
void fl_print_result(int color, int quiet, json_t *r);
/* Prints a file that could not be written (an fl_writer_failed_fn). */
void fl_print_write_failure(const char *path, int err, void *arg);
/* The reports of a run (run, replay): the directory report_dir/id (NULL:
 * none) with the journals moved out of doc into journal-K.json files,
 * every writer's file and the extra files asked for (extra[] by writer,
 * or NULL), then report_dir/latest. index_path gets the HTML page's path.
 * 0, or -1 after printing each file that could not be written. */
int fl_write_reports(json_t *doc, const char *report_dir, const char *id,
		     const char *const extra[FL_WRITER_COUNT], char *index_path,
		     size_t index_len);
json_t *fl_host_json(void);
void fl_run_id(char *id, size_t len, int64_t wall_ns);
/* --shard I/N, "auto" (GitLab's CI_NODE_INDEX/CI_NODE_TOTAL) or "auto/N"
 * (Kubernetes' JOB_COMPLETION_INDEX): 0, or -1 with the reason in err. */
int fl_parse_shard(const char *spec, int *index, int *total, char *err,
		   size_t errlen);

#endif
