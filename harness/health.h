/* The health probe of a scenario: a TCP request on loopback or a Lua
 * function, run every interval while the script waits, its results kept
 * in time order for the judge. */
#ifndef FL_HEALTH_H
#define FL_HEALTH_H

#include "ctx.h"

/* Runs the probe now and records the result (NULL when the scenario has
 * no probe or no running target). */
fl_health_result *fl_health_probe_now(fl_ctx *ctx);
/* The latest result: 1 passed, 0 failed, -1 none yet. */
int fl_health_latest(const fl_ctx *ctx);
/* Probes if the interval has passed (and the target runs); returns 1 if it
 * probed. */
int fl_health_tick(fl_ctx *ctx);
/* When the next probe is due (monotonic), or INT64_MAX without a probe or
 * a running target. */
int64_t fl_health_next_due(fl_ctx *ctx);
/* Starts the schedule for a new run of the target: the next probe is due
 * now. */
void fl_health_restart(fl_ctx *ctx);
/* Probes back to back (as soon as the last probe ended) until one passes
 * or deadline_ns (monotonic), so the moment health returned is known to
 * about one probe's round trip. 1 passed, 0 not, -ECANCELED. */
int fl_health_until_ok(fl_ctx *ctx, int64_t deadline_ns);
/* Frees the prepared probe. */
void fl_health_release(fl_ctx *ctx);

#endif
