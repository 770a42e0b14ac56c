/* The shell of faultline's HTML pages (the report, the trend page): the
 * Content-Security-Policy and the SHA-256 hashes it names, the palette of
 * verdicts and figures, and the report's style sheet and script. The
 * charts are html_chart.c's, the sections report_html.c's and
 * html_scenario.c's. */
#ifndef FL_HTML_H
#define FL_HTML_H

#include "figures.h"
#include "util.h"
#include "verdict.h"

/* Appends the <meta> Content-Security-Policy of a self-contained page:
 * nothing may be loaded, and only the given inline style and script (named
 * by their SHA-256; NULL for none) may apply or run. */
void fl_html_csp(fl_buf *b, const char *style, const char *script);

/* The colour of a verdict ("#2e7d32"); grey for an unknown one. */
const char *fl_html_verdict_color(fl_verdict v);
/* Appends a CSS rule for every verdict, UNKNOWN last: selector is a
 * format with one %s for the verdict's name (".v-%s"), property the
 * property its colour sets ("background"). */
void fl_html_verdict_css(fl_buf *b, const char *selector, const char *property);

/* How pages name a figure for people ("fds", "RSS"; its title when the
 * palette has no shorter name), and its colour (grey when it has none). */
const char *fl_html_figure_label(enum fl_figure f);
const char *fl_html_figure_color(enum fl_figure f);
/* A CSS rule per figure: selector has one %s for the figure's key. */
void fl_html_figure_css(fl_buf *b, const char *selector, const char *property);

/* The report's style sheet, and its script (sorting and filtering the
 * table, the values under the mouse on the charts), whole. */
void fl_html_report_css(fl_buf *b);
void fl_html_report_script(fl_buf *b);

/* A duration in seconds for people: "350 µs", "12.4 ms", "3.20 s". */
void fl_html_seconds(char *out, size_t len, double s);

#endif
