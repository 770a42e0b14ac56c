/* Fault windows and episodes: opening a point's window now or when its
 * trigger fires (a line of output, a number of calls), closing it, the
 * episodes they make up (the faults between two quiet periods), replay's
 * recorded faults, and what the agent counted per point. */
#ifndef FL_WINDOWS_H
#define FL_WINDOWS_H

#include "ctx.h"

/* A window that opens when a line of output arrives. */
typedef struct fl_output_trigger {
	const char *text;
	int streams;
	int regex;
} fl_output_trigger;

/* Opens a window on the current run (armed, if out or spec->after_point
 * says so). Takes the baseline first if there is none. 0, or -errno with
 * the reason in err. */
int fl_windows_open(fl_ctx *ctx, const fl_fault_spec *spec,
		    const fl_output_trigger *out, const char *optional,
		    char *err, size_t errlen);
/* Closes the windows of one point, or of all (point NULL or "*"). */
int fl_windows_close(fl_ctx *ctx, const char *point, char *err,
		     size_t errlen);
int fl_windows_any_open(const fl_ctx *ctx);
/* Opens windows whose trigger fired; called while waiting. */
void fl_windows_poll(fl_ctx *ctx);
/* Is the window exact: does the moment it opens and closes depend only on
 * the calls of one actor (after = { point, calls, actor }), or is it open
 * from the first instruction (opened before t:start()), so that the same
 * seed fails the same calls in every run? Windows opened at a script
 * moment, on a line of output, or after calls counted over several
 * threads are not. */
int fl_windows_exact(const fl_window *w);
/* Faults the window fired (journal records of its point and run while it
 * was open). */
size_t fl_windows_fired(const fl_ctx *ctx, const fl_window *w);
/* The latest episode, or NULL. */
fl_episode *fl_windows_last_episode(fl_ctx *ctx);

/* Before a start: writes the windows the script opened before it into the
 * new run's region, so they hold from its first instruction. */
int fl_windows_arm_start(fl_ctx *ctx, fl_instance *in, char *err,
			 size_t errlen);
/* Replay: writes the recorded calls into the new run's region before it
 * starts and turns them on for the whole run. */
/* In replay, before the final look: waits while recorded calls are still
 * firing and not all have (a target slower than in the recorded run, on a
 * busy machine, reaches them later), until all have, none fired for 2 s,
 * the target is gone or 15 s have passed. */
void fl_windows_replay_settle(fl_ctx *ctx);
int fl_windows_load_replay(fl_ctx *ctx, fl_instance *in, char *err,
			   size_t errlen);
/* A sweep's run (ctx->opts->sweep): the rules of its --points, from the
 * first instruction (the region is already in the sweep's mode, so the
 * script's windows record, or fail the one site, instead). */
int fl_windows_arm_sweep(fl_ctx *ctx, fl_instance *in, char *err,
			 size_t errlen);
/* Adds the agent's per-point counts to the scenario's (they are in the
 * shared region: there even after the target died). */
void fl_windows_collect_stats(fl_ctx *ctx, fl_instance *in);
/* The agent's counts now. *out malloc'd; count or -errno with err. */
int fl_windows_stats(fl_ctx *ctx, fl_point_stats **out, char *err,
		     size_t errlen);
/* What an injected close() failure does from now on. */
int fl_windows_set_close_mode(fl_ctx *ctx, const char *mode, char *err,
			      size_t errlen);

/* The point name of a journal entry of an instance. */
const char *fl_instance_point_name(const fl_instance *in,
				   const fl_jentry *e);

#endif
