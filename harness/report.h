/* Reports made from a results document (results.json): JUnit XML for CI,
 * a self-contained HTML page for people, and the escaping both need. */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "figures.h"
#include "results.h"
#include "util.h"

/* Decodes one UTF-8 sequence at s (len bytes left): its length and code
 * point, or 0 for an invalid sequence (overlong, surrogate, too large). */
size_t fl_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Appends text escaped for XML/HTML text and attribute values. Bytes that
 * are not valid in XML 1.0 (control characters, invalid UTF-8) become
 * U+FFFD, so nothing a target prints can break the document. */
void fl_escape_xml(fl_buf *b, const char *s);
/* Same for a string embedded in an HTML <script> block as JSON: '<', '>'
 * and '&' become \u escapes so "</script>" cannot end the block. */
void fl_escape_script_json(fl_buf *b, const char *json);

/* Writes a document to path atomically (temporary file and rename).
 * 0 or -errno. */
int fl_write_file_atomic(const char *path, const char *data, size_t len);

int fl_report_json(json_t *doc, const char *path);
int fl_report_junit(json_t *doc, const char *path);
int fl_report_html(json_t *doc, const char *path);
/* OpenMetrics text (Prometheus' textfile collector reads it): verdicts,
 * durations, MTTR, leaks and faults per scenario, counts per run. */
int fl_report_openmetrics(json_t *doc, const char *path);

/* The colour of a verdict in HTML ("#2e7d32"); grey for an unknown one. */
const char *fl_html_verdict_color(fl_verdict v);
/* Appends a CSS rule for every verdict, UNKNOWN last: selector is a
 * format with one %s for the verdict's name (".v-%s"), property the
 * property its colour sets ("background"). */
void fl_html_verdict_css(fl_buf *b, const char *selector, const char *property);

/* How pages name a figure for people ("fds", "RSS"; its title when the
 * page has no shorter name), and its colour. */
const char *fl_html_figure_label(enum fl_figure f);
const char *fl_html_figure_color(enum fl_figure f);
/* A CSS rule per figure: selector has one %s for the figure's key. */
void fl_html_figure_css(fl_buf *b, const char *selector, const char *property);

/* Appends the <meta> Content-Security-Policy of a self-contained page:
 * nothing may be loaded, and only the given inline style and script (named
 * by their SHA-256; NULL for none) may apply or run. */
void fl_html_csp(fl_buf *b, const char *style, const char *script);

#endif
