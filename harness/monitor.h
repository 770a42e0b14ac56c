/* The monitor thread: one per harness, shared by every running scenario.
 * It samples each target at its own rate from a timerfd, reads their
 * output, notices their exit through a pidfd, and turns SIGINT, SIGTERM and
 * SIGHUP into an orderly stop. */
#ifndef FL_MONITOR_H
#define FL_MONITOR_H

#include "session.h"

/* Blocks the stop signals in the calling thread (call before creating any
 * other thread, so every thread inherits the mask) and starts the monitor.
 * 0 or -errno. */
int fl_monitor_start(void);
void fl_monitor_stop(void);

/* Hands a session to the monitor (0, or -errno when its fds or its sample
 * timer could not be set up: then the monitor does not watch it) / takes
 * it back. Removal waits until the monitor no longer touches the
 * session. */
int fl_monitor_add(fl_session *s);
void fl_monitor_remove(fl_session *s);

/* The stop signal received (SIGINT, SIGTERM, SIGHUP), or 0. */
int fl_monitor_interrupted(void);

#endif
