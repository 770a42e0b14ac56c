/* The monitor thread: one per harness, shared by every running scenario.
 * It samples each target's process tree at the target's rate (one timerfd
 * per rate, shared by the targets at that rate), finds new processes of
 * the trees, reads their output, notices their exit through a pidfd, and
 * turns SIGINT, SIGTERM and SIGHUP into an orderly stop. It wakes a
 * scenario thread only when something it waits for can have changed. */
#ifndef FL_MONITOR_H
#define FL_MONITOR_H

#include <stddef.h>

#include "session.h"

/* Blocks the stop signals in the calling thread (call before creating any
 * other thread, so every thread inherits the mask) and starts the monitor.
 * 0 or -errno. */
/* Reads FAULTLINE_SAMPLER (bpfsample.h) and, when it says "bpf", loads the
 * BPF sampler. 0, or -1 with err set: the run must not start. Called by
 * fl_monitor_start when nobody called it before. */
int fl_monitor_sampler_setup(char *err, size_t errlen);
int fl_monitor_start(void);
/* The bench's switch between the samplers, with sessions running: 1 reads
 * through BPF from the next tick (loading it now; -1 when it cannot
 * load), 0 through /proc. */
int fl_monitor_use_bpf(int on);
void fl_monitor_stop(void);

/* Hands a session to the monitor (0, or -errno when its fds or its sample
 * timer could not be set up: then the monitor does not watch it) / takes
 * it back. Removal waits until the monitor no longer touches the
 * session. */
int fl_monitor_add(fl_session *s);
void fl_monitor_remove(fl_session *s);

/* The stop signal received (SIGINT, SIGTERM, SIGHUP), or 0. */
int fl_monitor_interrupted(void);

/* The monitor thread's id (its CPU time is in /proc/self/task/TID/stat),
 * or 0 when it is not running. */
pid_t fl_monitor_tid(void);
/* The CPU time the monitor thread has used, in ns (-1: not running). */
int64_t fl_monitor_cpu_ns(void);

#endif
