/* A scenario's result: the JSON object docs/results.md describes, made
 * from its context once the run is over. Every report is made from it. */
#ifndef FL_RESULT_H
#define FL_RESULT_H

#include <jansson.h>

#include "ctx.h"

/* The result, verdict included (never NULL). */
json_t *fl_result_build(fl_ctx *ctx, double duration_s);

#endif
