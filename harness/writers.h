/* The formats a results document is written in, as one table. A row says
 * what the format is called, the command-line option that asks for an
 * extra copy (--junit FILE), its file in a report directory, and the
 * function that writes it. run, merge, report and replay write through
 * fl_writers_write and take their options from the table, so a new format
 * is one row here plus its write function. */
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
	/* Writes doc to path atomically: 0 or -errno. */
	int (*write)(json_t *doc, const char *path);
} fl_writer;

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
 * -errno (each failure is also passed to failed, when not NULL). */
int fl_writers_write(json_t *doc, const fl_outputs *out,
		     fl_writer_failed_fn failed, void *arg);

/* Appends an "--OPTION FILE  help" line of usage per format (only those
 * without a file in the directory when extra_only), the help starting at
 * column (like the command's other options) and wrapped at 72. */
void fl_writers_usage(fl_buf *b, int extra_only, int column);

#endif
