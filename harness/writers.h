/* The formats a results document is written in, as one table. A row says
 * what the format is called, the command-line option that asks for an
 * extra copy (--junit FILE), its file in a report directory, and the
 * functions that write it. run, merge, report and replay write through
 * fl_writers_* and take their options from the table, so a new format is
 * one row here plus its functions.
 *
 * Every format is written one scenario at a time, all of a call's files
 * in one pass over the scenarios: merge and report never hold a document
 * whole (docs/results.md). A format that must know something of every
 * scenario before it writes the first (the HTML report's table columns,
 * JUnit's counts) surveys them in an earlier pass, keeping only that. */
#ifndef FL_WRITERS_H
#define FL_WRITERS_H

#include <jansson.h>

#include "util.h"

enum fl_writer_id {
	FL_WRITER_JSON = 0,
	FL_WRITER_JUNIT,
	FL_WRITER_HTML,
	FL_WRITER_OPENMETRICS,
	FL_WRITER_COUNT
};

typedef struct fl_writer {
	enum fl_writer_id id;
	const char *name;	/* "JUnit XML", for messages */
	const char *option;	/* "junit": --junit FILE */
	/* Its name in a report directory ("junit.xml"); NULL for a format
	 * written only when asked for (OpenMetrics, which a collector reads
	 * from a directory of its own). */
	const char *file;
	const char *help;	/* "also write JUnit XML to FILE" */
	const struct fl_writer_ops *ops;
} fl_writer;

/* How a format is written, one scenario at a time, into one file. The
 * calls come in this order: create; survey for each scenario (only when
 * not NULL), in order; begin; scenario for each scenario, in the same
 * order; end. destroy may come at any point after create (end calls
 * nothing after it). The head is the document without its scenarios:
 * every member in its place, the value of "scenarios" not to be read. */
typedef struct fl_writer_ops {
	void *(*create)(void);
	void (*survey)(void *state, json_t *scenario);
	/* Opens path (written atomically) and writes what comes before the
	 * scenarios. 0 or -errno. */
	int (*begin)(void *state, json_t *head, const char *path);
	/* 0 or -errno (the file is then not written). */
	int (*scenario)(void *state, json_t *scenario);
	/* Writes the rest, names the file and frees the state: 0 or
	 * -errno (no file then). */
	int (*end)(void *state);
	/* Frees the state; an unfinished file is left unwritten. */
	void (*destroy)(void *state);
} fl_writer_ops;

extern const fl_writer_ops fl_report_json_ops, fl_report_junit_ops,
	fl_report_html_ops, fl_report_openmetrics_ops;

/* Writes a whole document in one format, through its ops (the
 * scenarios of doc streamed): 0 or -errno. */
int fl_writer_write(const fl_writer *w, json_t *doc, const char *path);

extern const fl_writer fl_writers[FL_WRITER_COUNT];

/* The row whose option is this ("junit"), or NULL. */
const fl_writer *fl_writer_by_option(const char *option);

/* What to write: a report directory and extra files. */
typedef struct fl_outputs {
	/* The report directory (made if missing), or NULL for none. */
	const char *dir;
	/* Files of the directory not to write: the results file when it is
	 * the very file the document was read from. */
	int skip[FL_WRITER_COUNT];
	/* An extra file per format (--json FILE ...), or NULL. */
	const char *extra[FL_WRITER_COUNT];
} fl_outputs;

/* Told of each file that could not be written (the directory's path when
 * it could not be made), with -errno. */
typedef void (*fl_writer_failed_fn)(const char *path, int err, void *arg);

/* Writes the directory's files and the extra files. A failure does not
 * stop the others: every file that can be written is. 0, or the first
 * -errno (each failure is also passed to failed, when not NULL). The
 * scenarios of doc are streamed through fl_writers_new ... _end. */
int fl_writers_write(json_t *doc, const fl_outputs *out,
		     fl_writer_failed_fn failed, void *arg);

/* The same, a scenario at a time, for a document never whole in memory:
 * new; survey each scenario when fl_writers_survey_wanted; begin with
 * the head; each scenario, in the order surveyed; end. out must outlive
 * the set. Nothing is written before begin (which makes the
 * directory). */
typedef struct fl_writers_set fl_writers_set;
fl_writers_set *fl_writers_new(const fl_outputs *out);
int fl_writers_survey_wanted(const fl_writers_set *ws);
void fl_writers_survey(fl_writers_set *ws, json_t *scenario);
void fl_writers_begin(fl_writers_set *ws, json_t *head);
void fl_writers_scenario(fl_writers_set *ws, json_t *scenario);
/* Finishes every file and frees ws: 0 or the first -errno, every
 * failure passed to failed as fl_writers_write does. */
int fl_writers_end(fl_writers_set *ws, fl_writer_failed_fn failed, void *arg);
/* Frees ws, writing no file (a later input turned out bad). */
void fl_writers_abort(fl_writers_set *ws);

/* Appends an "--OPTION FILE  help" line of usage per format (only those
 * without a file in the directory when extra_only), the help starting at
 * column (like the command's other options) and wrapped at 72. */
void fl_writers_usage(fl_buf *b, int extra_only, int column);

#endif
