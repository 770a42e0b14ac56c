/* Snapshots of a target's processes: the fd tables, threads and watched
 * directory of every process of its tree at one look, and what they hold
 * over a hold period (looked at again and again, keeping what was there
 * at every look). With measure.c, the only reader of a session's process
 * tree (tree.h) and samples (series.h); delta.h compares two snapshots. */
#ifndef FL_SNAPSHOT_H
#define FL_SNAPSHOT_H

#include "ctx.h"
#include "util.h"

/* The final snapshot waits at most this long for the target to be quiet;
 * a held snapshot whose harness was starved looks past its window at most
 * this much longer. */
#define FL_SNAPSHOT_QUIET_MAX_NS (2 * FL_NS_PER_SEC)

/* What the run's processes hold over window_ns (at least two sample
 * periods): what was there at every look, the threads then described.
 * quiet: the sampler never saw fewer fds, threads or processes over the
 * window than the snapshot keeps. Fills out (owned); 0, or -ESRCH when the
 * root is gone. */
int fl_snapshot_held(fl_ctx *ctx, fl_instance *in, int64_t window_ns,
		     fl_base_snapshot *out, int *quiet);
/* Held snapshots over hold_ns until one is quiet, for at most max_ns (or
 * the scenario's deadline): then the last one, with *quiet = 0. */
int fl_snapshot_quiet(fl_ctx *ctx, fl_instance *in, int64_t hold_ns,
		      int64_t max_ns, fl_base_snapshot *out, int *quiet);
/* The entries of a directory as "dir/name" paths, sorted by name (fd is
 * the position). *out malloc'd; returns the count (0 for a missing
 * directory). */
int fl_snapshot_list_dir(const char *dir, fl_fd_entry **out);
/* Drops a snapshot's lists and zeroes it. */
void fl_snapshot_free(fl_base_snapshot *b);

#endif
