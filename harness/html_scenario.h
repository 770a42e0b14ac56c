/* A scenario's section of the HTML report: its message, re-run command,
 * repetitions, expectations, a chart per run of the target, fault windows
 * and recovery, leak forensics, the fault journal, coverage, output tails
 * and log. */
#ifndef FL_HTML_SCENARIO_H
#define FL_HTML_SCENARIO_H

#include <jansson.h>

#include "util.h"

/* Appends the section of scenario number idx (its anchor is #s<idx>). */
void fl_html_scenario(fl_buf *b, json_t *scenario, int idx);

#endif
