/* What the console shows and how: whether colour and the live lines are
 * wanted on a stream, and the brief of a failed expectation that a
 * result line lists. The rules here are the ones run, replay and sweep
 * share. */
#ifndef FL_CONSOLE_H
#define FL_CONSOLE_H

#include <jansson.h>

#include "util.h"

/* Colour on fd: a terminal, NO_COLOR unset or empty (no-color.org), and
 * TERM not "dumb". */
int fl_console_color(int fd);

/* The live lines (progress.h) on fd: a terminal whose TERM is set and is
 * not "dumb", and neither -q (only failures are wanted) nor -v (the
 * targets' output and the logs go to the terminal as they come, and
 * would be drawn over). */
int fl_console_live(int fd, int quiet, int verbose);

/* Longest brief, in characters; a longer one is cut and ends in "...". */
#define FL_CONSOLE_BRIEF_MAX 100

/* Appends the brief of a failed expectation (an element of a result's
 * "expectations") to b, as raw text for fl_text_console: what failed and
 * by how much, "leaked 37 fds (allowed 0)", "not recovered within
 * 1.000 s: fds 200 > 13 (...)", "exit status: exit 3 (expected exit 0)",
 * never the details behind it (which -v and the reports give). */
void fl_console_brief(json_t *expectation, fl_buf *b);

#endif
