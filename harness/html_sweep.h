/* The HTML report's map of a sweep's sites (html_sweep.c). */
#ifndef FL_HTML_SWEEP_H
#define FL_HTML_SWEEP_H

#include <jansson.h>

#include "results.h"
#include "util.h"

/* The "Error paths" section, when doc holds a sweep; nothing otherwise.
 * A site links to its run through ids: each scenario id, the number of
 * the first scenario entry with it (its section is #s<number>). */
void fl_html_sweep(fl_buf *b, json_t *doc, json_t *ids);

#endif
