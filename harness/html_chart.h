/* The chart of one run of a target in the HTML report: a pane per figure
 * of figures.h on one time axis, the fault windows, the baseline and its
 * tolerance, recovery markers, health probes and fired faults, and the
 * per-column figures the page's script shows under the mouse. */
#ifndef FL_HTML_CHART_H
#define FL_HTML_CHART_H

#include <jansson.h>

#include "util.h"

/* Appends the chart of target (a scenario's targets[tidx]) of scenario
 * number idx: the SVG, its legend and its hover data. Health probes and
 * fired faults are drawn only when the scenario ran a single target (they
 * share its clock). Nothing when the target has no series. */
void fl_html_chart(fl_buf *b, json_t *scenario, json_t *target, int idx,
		   int tidx, int single_target);

#endif
