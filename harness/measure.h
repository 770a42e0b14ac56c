/* Measurement: the baseline (medians over a settle window, and the fd
 * tables, threads, processes and watched files for forensics), the final
 * figures with the forensics that explain them (per process), the OOM
 * precursor, and the figures the scripts ask for (latest sample, peaks,
 * trends, quiet periods, recovery after a window). With snapshot.c
 * (which looks at the processes' fd tables, threads and files for it), the
 * only module that reads a session's samples (its series, series.h) and
 * its process tree (tree.h); delta.c says what changed between two
 * snapshots. */
#ifndef FL_MEASURE_H
#define FL_MEASURE_H

#include "ctx.h"

/* Takes the baseline of the current run over [from_ns, now] (target
 * time), waiting for min_samples (0: as many as the window holds, at
 * most five) if the machine is busy, and the
 * snapshot of its fd table, threads and watched files. 0, or -errno with
 * err. */
int fl_measure_baseline(fl_ctx *ctx, int64_t from_ns, size_t min_samples,
			char *err, size_t errlen);
/* Takes the final measurement of the current run and its forensics
 * (once per baseline). */
void fl_measure_final(fl_ctx *ctx);
/* Lists the watched directory just before a start (path expanded), so a
 * batch job can be judged on what it left there without a baseline. */
void fl_measure_before_start(fl_ctx *ctx, const char *watch_path);
/* The final measurement of a run that has no baseline: the watched
 * directory now against its state before the start, with the new
 * entries listed. 0, or -errno with err (no listing of this run). */
int fl_measure_final_since_start(fl_ctx *ctx, char *err, size_t errlen);
/* What a figure leaked: the final value minus what it is compared with
 * (needs a final measurement). */
double fl_measure_leak(const fl_ctx *ctx, enum fl_figure fig);
/* What one process leaked of a figure: the process that leaked the most
 * (its count in the final snapshot minus its count in the baseline's; a
 * process that was not there counts from zero; RSS: its latest sample
 * against its sample at the baseline). */
typedef struct fl_proc_leak {
	int found;
	pid_t pid;
	char comm[32];
	double leaked, base, fin;
	char summary[512];	/* "3 x socket" */
} fl_proc_leak;
/* 1 with *out filled, 0 when there is no per-process final (no
 * snapshot, or a figure of the whole tree). */
int fl_measure_leak_each(fl_ctx *ctx, enum fl_figure fig, fl_proc_leak *out);
/* Drops the final measurement and its forensics. */
void fl_measure_final_free(fl_final *f);
void fl_measure_base_free(fl_base_snapshot *b);

/* The OOM precursor: once RSS reached target.oom.rss, the monitor took a
 * snapshot; it becomes the report's dump (and a core, if asked). */
void fl_measure_check_oom(fl_ctx *ctx);

/* The latest sample of the current run: 1, or 0 when there is none. */
int fl_measure_last(fl_ctx *ctx, fl_sample *out);
/* How many samples the current run has. */
size_t fl_measure_count(fl_ctx *ctx);
/* The highest value of each figure over the current run (0 without
 * samples). */
void fl_measure_peak(fl_ctx *ctx, fl_sample *out);
/* The least-squares line of a figure over [from, to] of the current run. */
void fl_measure_trend(fl_ctx *ctx, enum fl_figure fig, int64_t from_ns,
		      int64_t to_ns, fl_trend *out);
/* Have fds and threads stayed the same for hold_ns up to the latest
 * sample? */
int fl_measure_quiet_for(fl_ctx *ctx, int64_t hold_ns);
/* One look at recovery after episode e, on what was measured up to now. */
void fl_measure_recovery(fl_ctx *ctx, const fl_episode *e, int64_t within_ns,
			 int64_t hold_ns, fl_recovery *out);
/* The end of the current run's measurements: its exit, or now. */
int64_t fl_measure_end(fl_ctx *ctx);
/* Does the steady state hold at the latest sample (per process where the
 * scenario says so)? health: the probe's result to judge with. 1 holds, 0
 * broken (why says how), -1 no sample. */
int fl_measure_steady(fl_ctx *ctx, int health, char *why, size_t whylen);
/* The processes of the current run's tree that are not reaped, with
 * their last sample's figures (nfds, nthreads, rss; a zombie's state
 * 'Z'). *out malloc'd; returns the count (0 without a run). */
int fl_measure_processes(fl_ctx *ctx, fl_proc_entry **out);
/* Trend sums from from_ns on (the ready moment), exact however long. */
void fl_measure_mark(fl_ctx *ctx, int64_t from_ns);
/* Called while the scenario thread waits: the OOM precursor, and the
 * samples after the last closed fault window kept exactly. */
void fl_measure_poll(fl_ctx *ctx);

#endif
