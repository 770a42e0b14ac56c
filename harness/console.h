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

/* Longest message shown whole as a brief, in characters. */
#define FL_CONSOLE_BRIEF_MAX 100

/* Appends the brief of a failed expectation (an element of a result's
 * "expectations") to b, as raw text for fl_text_console, on one line: its
 * message's first line when that has at most FL_CONSOLE_BRIEF_MAX
 * characters; else what failed and by how much, by the kind of
 * expectation ("leaked 37 fds (allowed 0)", "not recovered within
 * 1.00 s: fds 200 > 13 (...)", "fault window on P never fired: WHY"),
 * and for any other kind the first line cut to FL_CONSOLE_BRIEF_MAX
 * characters, ending in "...". The details behind it are in -v and the
 * reports. */
void fl_console_brief(json_t *expectation, fl_buf *b);

#endif
