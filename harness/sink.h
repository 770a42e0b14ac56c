/* Output written through a buffer: a file made atomically (an unnamed
 * file that gets its name once complete, so a reader never sees half of
 * it), or a spool (an unnamed temporary file beside one) that holds a
 * part of a report written before the part that precedes it, copied in
 * later. The writers of reports stream through these, so no report is
 * ever whole in memory. The first error sticks: later writes do nothing,
 * and commit returns it. */
#ifndef FL_SINK_H
#define FL_SINK_H

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

typedef struct fl_sink fl_sink;

/* A new file to be named path by fl_sink_commit. 0 or -errno. */
int fl_sink_open(const char *path, fl_sink **out);
/* A spool: an unnamed temporary file in the directory of path (on the
 * disk the report goes to, rather than in memory). 0 or -errno. */
int fl_sink_spool(const char *path, fl_sink **out);

void fl_sink_write(fl_sink *s, const void *data, size_t len);
void fl_sink_puts(fl_sink *s, const char *str);
void fl_sink_printf(fl_sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends b's bytes and empties b. */
void fl_sink_take(fl_sink *s, fl_buf *b);
/* Appends every byte written to the spool so far. */
void fl_sink_copy(fl_sink *s, fl_sink *spool);
/* Bytes written to it so far. */
size_t fl_sink_size(const fl_sink *s);
/* 0, or the first error. */
int fl_sink_error(const fl_sink *s);

/* Flushes the file and gives it its name (a spool is just closed);
 * frees s. 0 or -errno (the first error met); on an error no file is
 * left behind. */
int fl_sink_commit(fl_sink *s);
/* Frees s and leaves no file; NULL does nothing. */
void fl_sink_discard(fl_sink *s);

/* Writes data to path atomically: 0 or -errno. */
int fl_sink_write_file(const char *path, const char *data, size_t len);

#endif
