/* The guardian: a small process forked when the harness starts that outlives
 * it. It learns the process groups and temporary directories the harness
 * creates, and the target processes that left their group; when the
 * harness goes away in any manner (even SIGKILL), it kills those groups and
 * processes and removes those directories, so no target process, fifo or
 * temporary file is ever left behind. */
#ifndef FL_GUARDIAN_H
#define FL_GUARDIAN_H

#include <sys/types.h>

/* Forks the guardian. Call before any thread is created. 0 or -errno. */
int fl_guardian_start(void);
/* Registers or forgets a target's process group. Thread-safe. */
void fl_guardian_watch_group(pid_t pgid);
void fl_guardian_forget_group(pid_t pgid);
/* Registers or forgets one process that left its target's group (pid and
 * its start time, so a reused pid is never killed). Thread-safe. */
void fl_guardian_watch_pid(pid_t pid, unsigned long long starttime);
void fl_guardian_forget_pid(pid_t pid);
/* The guardian's pid (0 before it started). */
pid_t fl_guardian_pid(void);
/* Registers or forgets a directory to remove. Thread-safe. */
void fl_guardian_watch_dir(const char *path);
void fl_guardian_forget_dir(const char *path);
/* Registers or forgets a directory to remove only if it is empty then (a
 * run's report directory, made at the start for artifacts: it must not
 * stay behind empty, nor lose what was written into it). Absolute paths
 * only. Thread-safe. */
void fl_guardian_watch_empty_dir(const char *path);
void fl_guardian_forget_empty_dir(const char *path);

#endif
