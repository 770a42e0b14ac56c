/* One run of the target: what its binary says about itself, its
 * environment (the agent preloaded), starting it in its own process group
 * and waiting until it is ready, and stopping it (the windows close, the
 * final measurement is taken, then the stop signal, the grace period and
 * SIGKILL for the whole group). */
#ifndef FL_INSTANCE_H
#define FL_INSTANCE_H

#include "ctx.h"

/* Before the first start: the points the agent counts from the first call
 * (libfiu's, the scenario's literals, the binary's declared points), and
 * warnings about faults that cannot reach the binary. */
void fl_instance_prepare(fl_ctx *ctx);

/* Starts a new run and waits until it is ready. 0, or -errno with the
 * reason in err (the run is then stopped and kept for the report). */
int fl_instance_start(fl_ctx *ctx, char *err, size_t errlen);
/* Stops the current run (a no-op when it is not running). */
int fl_instance_stop(fl_ctx *ctx, int sig, double grace_s);

/* "exit status 3", "killed by SIGSEGV (core dumped)", "still running". */
void fl_exit_describe(const fl_exit_info *e, char *out, size_t len);
/* The last line the run printed on stderr, or "". */
void fl_instance_last_stderr(fl_instance *in, char *out, size_t len);

/* Sends a signal to the current run's process. 0 or -errno. */
int fl_instance_signal(fl_ctx *ctx, int sig);
/* Sends sig to process pid of the current run's tree alone (the first
 * process: as fl_instance_signal); that process's end by it is then the
 * script's doing, not a crash. -ESRCH when pid is no live process of the
 * tree. */
int fl_instance_signal_pid(fl_ctx *ctx, int sig, pid_t pid);
/* Changes a resource limit of the current run (prlimit); *old receives the
 * previous soft limit (RLIM_INFINITY for none). 0 or -errno. */
int fl_instance_setrlimit(fl_ctx *ctx, int resource, double value,
			  rlim_t *old);
/* Did this run end without the scenario asking for or expecting it (a
 * crash, an exit in the middle of a server's life)? */
int fl_instance_died_on_its_own(const fl_ctx *ctx, const fl_instance *in);
/* Settles how each process of the run's tree went that faultline did
 * not see end: from its parent's wait as the agent recorded it, else
 * from the agent's crash record (a sweep). The one place an end comes
 * from the agent; call it before reading ends. */
void fl_instance_settle_ends(fl_instance *in);
/* How many records of the agent's ring of reaped children the run lost
 * (overwritten unread, or torn by a writer that died), its ends settled
 * first so that the ring is read to its end. */
uint64_t fl_instance_reaped_lost(fl_instance *in);
/* Marks each process of the run's tree but the first that was killed by
 * a signal faultline did not send (fl_member.crashed), its end settled
 * first (fl_instance_settle_ends). Returns how many crashed. */
int fl_instance_judge_ends(const fl_ctx *ctx, fl_instance *in);
/* The current run's pid, or 0. */
pid_t fl_instance_pid(const fl_ctx *ctx);

void fl_instance_free(fl_instance *in);

#endif
