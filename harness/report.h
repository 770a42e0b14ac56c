/* Reports made from a results document (results.json): JUnit XML for CI,
 * a self-contained HTML page for people, and the escaping both need. */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "figures.h"
#include "results.h"
#include "text.h"
#include "util.h"


/* Appends text escaped for XML/HTML text and attribute values. Bytes that
 * are not valid in XML 1.0 (control characters, invalid UTF-8) become
 * U+FFFD, so nothing a target prints can break the document. */
void fl_escape_xml(fl_buf *b, const char *s);
/* Same for a string embedded in an HTML <script> block as JSON: '<', '>'
 * and '&' become \u escapes so "</script>" cannot end the block. */
void fl_escape_script_json(fl_buf *b, const char *json);

/* Formats seconds for people ("350 µs", "12.4 ms", "3.20 s"), safely for
 * any double a results file may hold: "-" for NaN, "inf s", and "1e+308
 * s" rather than an overflowed integer. */
void fl_fmt_seconds(char *out, size_t len, double s);
/* A figure's value for people (fl_figure_format), as safely: "-" for
 * NaN, "inf", and exponent notation past 1e15. */
void fl_fmt_figure(enum fl_figure fig, double v, char *out, size_t len);

/* Writes a document to path atomically (temporary file and rename).
 * 0 or -errno. */
int fl_write_file_atomic(const char *path, const char *data, size_t len);

int fl_report_json(json_t *doc, const char *path);
int fl_report_junit(json_t *doc, const char *path);
int fl_report_html(json_t *doc, const char *path);
/* OpenMetrics text (Prometheus' textfile collector reads it): verdicts,
 * durations, MTTR, leaks and faults per scenario, counts per run. */
int fl_report_openmetrics(json_t *doc, const char *path);

#endif
