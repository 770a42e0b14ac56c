/* Expectations: each check of what a scenario expects (leaks, peaks,
 * trends, how the target ended, survival, the steady state, recovery)
 * compares a measurement with what is allowed and records the outcome with
 * a message that names both. Returns 1 held, 0 failed, or -errno with err
 * when the check cannot be made (a script error). where is the script's
 * file:line (or NULL). */
#ifndef FL_EXPECT_H
#define FL_EXPECT_H

#include "ctx.h"

/* allowed[f]: the most each figure may have leaked; NAN: not checked.
 * per_process: by each process of the target's tree (the one that leaked
 * most is named), rather than by the tree's sum. */
int fl_expect_leaks(fl_ctx *ctx, const char *where,
		    const double allowed[FL_FIG_COUNT], int per_process,
		    char *err, size_t errlen);
/* allowed[f]: the highest sample allowed; NAN: not checked. */
int fl_expect_peaks(fl_ctx *ctx, const char *where,
		    const double allowed[FL_FIG_COUNT], char *err,
		    size_t errlen);
/* allowed[f]: the steepest slope allowed, per second; NAN: not checked.
 * window_s <= 0: since the baseline (or the ready moment). */
int fl_expect_trends(fl_ctx *ctx, const char *where,
		     const double allowed[FL_FIG_COUNT], double window_s,
		     char *err, size_t errlen);
int fl_expect_exit(fl_ctx *ctx, const char *where, long long code);
int fl_expect_signal(fl_ctx *ctx, const char *where, int sig);
/* The end of process pid of the current run's tree (not its first):
 * killed by sig, or (sig 0) exited with code. Its end is then the
 * script's: no survival failure for it. 1 held, 0 not. */
int fl_expect_process_end(fl_ctx *ctx, const char *where, pid_t pid, int sig,
			  long long code);
int fl_expect_survived(fl_ctx *ctx, const char *where);
/* The steady state holds now (health judged on a probe made now). */
int fl_expect_steady(fl_ctx *ctx, const char *where, char *err,
		     size_t errlen);
/* Records the recovery after the latest episode (from fl_wait_recovery). */
int fl_expect_recovery(fl_ctx *ctx, const char *where,
		       const fl_recovery *rec, double within_s);
/* One failed episode of t:episodes. */
void fl_expect_episode_failed(fl_ctx *ctx, const char *where, int index,
			      int count, const fl_recovery *rec,
			      double within_s);
/* The episodes of t:episodes all recovered: one expectation with MTTR. */
void fl_expect_episodes_held(fl_ctx *ctx, const char *where, int count,
			     const fl_mttr *m, double within_s);

/* The checks every scenario gets: a target must not die on its own
 * unless the scenario said it would, or looked at the exit. */
void fl_expect_survival(fl_ctx *ctx);
/* ...and every fault window must fire at least once, unless the scenario
 * said why it need not (optional = "why"). */
void fl_expect_windows_fired(fl_ctx *ctx);
/* ...and a steady state that includes health must have been seen: a
 * probe that never passed during the baseline fails the scenario. */
void fl_expect_baseline_health(fl_ctx *ctx);

#endif
