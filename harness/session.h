/* A running target as the harness watches it: its process tree, its
 * samples, captured output, line waiters and exit status. The monitor
 * thread fills it in; the scenario thread reads it under the lock and
 * sleeps on notify_fd, which the monitor writes only when something the
 * scenario thread waits for can have changed: a line a waiter matches, an
 * exit, the end of output, the OOM precursor, or a sample it asked to see
 * (fl_session_want_sample). A sample nobody waits for wakes nobody. */
#ifndef FL_SESSION_H
#define FL_SESSION_H

#include <pthread.h>
#include <regex.h>
#include <stdint.h>

#include "faults.h"
#include "journal.h"
#include "procfs.h"
#include "sampler.h"
#include "series.h"
#include "target.h"
#include "tree.h"

/* Captured output of one stream: the last bytes in a ring, plus counts. */
typedef struct fl_stream {
	char *ring;
	size_t cap, start, len;
	uint64_t bytes, lines;
	char line[4096];	/* the line being assembled */
	size_t linelen;
	int eof;
} fl_stream;

/* Someone waiting for a line of output that contains text (or matches a
 * POSIX extended regular expression). */
typedef struct fl_waiter {
	struct fl_waiter *next;
	int streams;		/* FL_STDOUT | FL_STDERR */
	char *text;
	int is_regex;
	regex_t re;
	int matched;
	char *line;		/* the first matching line */
	int64_t t_ns;		/* when it arrived, since target start */
} fl_waiter;

typedef struct fl_exit_info {
	int exited;		/* the process has been reaped */
	int code;		/* exit code if it exited */
	int signal;		/* signal that ended it, or 0 */
	int core;		/* it dumped core */
	int64_t t_ns;		/* since target start */
} fl_exit_info;

typedef struct fl_session {
	pthread_mutex_t lock;
	int notify_fd;		/* eventfd: the monitor writes on news */
	fl_child child;
	fl_tree tree;		/* the root and its descendants */
	int tree_ok;
	int64_t period_ns;

	fl_series series;	/* the samples (sums over the tree) */
	uint64_t sample_cost_total_ns;
	int64_t sample_cost_max_ns;
	uint64_t sample_errors;
	/* Timer expirations that came together: samples that could not be
	 * taken at their moment (a busy monitor or machine). */
	uint64_t missed_ticks;
	/* When the first sample read through BPF was taken (since the
	 * target started), or -1: every sample came from /proc. */
	int64_t bpf_from_ns;
	/* The monitor's own: where this session's processes are in the
	 * tick's batch (batch_at is SIZE_MAX when they are not in it). */
	size_t batch_at, batch_n;
	int sampling_stopped;
	/* The scenario thread asked to be woken by the next sample. */
	int want_sample;
	/* Judging per process: the hypothesis each sample's worst process
	 * is found under, once per-process baselines are set. */
	fl_steady each_steady;
	int each_on;

	/* The target's fault region: what the agent holds inside the
	 * target (its registration says) is subtracted from every sample. */
	struct fl_faults *faults;

	fl_stream out, err;
	size_t ring_cap;
	fl_waiter *waiters;
	int tee;		/* copy target output to our stderr (-v) */
	char tee_prefix[64];

	fl_exit_info exit;

	/* A directory whose entries are counted at every sample ("" : none):
	 * the temporary files a target leaves behind. */
	char watch_path[4096];

	/* An RSS level at which forensics are taken once, before an OOM. */
	int64_t oom_rss;
	int oom_hit;		/* the monitor saw RSS reach it */
	int64_t oom_t_ns;
	int64_t oom_sample_rss;
	/* Taken by the monitor at that moment (the target may not live long
	 * after): its fd table, threads and smaps_rollup. */
	fl_fd_entry *oom_fds;
	int oom_nfds;
	fl_thread_entry *oom_threads;
	int oom_nthreads;
	char *oom_smaps;

	/* The fault journal the agent writes, drained into jrecs under lock
	 * at every sample and by its own thread when the agent rings
	 * (fl_journal_pump_start). */
	fl_journal *journal;
	fl_jentry *jrecs;
	size_t njrecs, jcap;

	/* Monitor bookkeeping. */
	int timer;		/* index of the monitor's timer for period_ns */
	int registered;
	int add_done;		/* fl_monitor_add was answered */
	int add_result;		/* 0, or -errno: why it could not watch */
} fl_session;

/* Prepares a session for a spawned child (which it takes over). */
int fl_session_init(fl_session *s, const fl_child *child, double hz,
		    size_t ring_cap);
/* Frees everything; the session must be out of the monitor. */
void fl_session_destroy(fl_session *s);

/* Waits until the monitor reports news or until deadline_ns (monotonic
 * absolute) passes, whichever is first. extra_fd (or -1) also wakes it.
 * Returns 1 on news, 0 on timeout. */
int fl_session_wait(fl_session *s, int64_t deadline_ns, int extra_fd);
/* Asks the monitor to wake the scenario thread at the next sample (once):
 * call before fl_session_wait when a new sample is what it waits for. */
void fl_session_want_sample(fl_session *s);

/* Registers a waiter for a line; must be called before the line can arrive
 * (or lines already seen will not match). 0 or -EINVAL for a bad regex. */
int fl_session_add_waiter(fl_session *s, fl_waiter *w, int streams,
			  const char *text, int is_regex, char *err,
			  size_t errlen);
void fl_session_remove_waiter(fl_session *s, fl_waiter *w);

/* Reaps the root if it has exited (the monitor does when its pidfd says
 * so; a thread waiting on the pidfd itself may, one wake-up sooner).
 * Returns 1 once it is reaped (exit holds how it ended), else 0. */
int fl_session_reap(fl_session *s);

/* The end of the target's tree once its root has exited (or was killed):
 * sampling stops, every remaining descendant is killed and waited for at
 * most wait_ns. left receives "1 process left the target's session: sleep
 * (pid 123), killed" when some had left its group or session ("" if
 * none). Returns how many were killed. */
int fl_session_end_tree(fl_session *s, int64_t wait_ns, char *left,
			size_t leftlen);

/* Copies the tail of a stream (caller frees). */
char *fl_stream_tail(fl_session *s, int stream, size_t *len);

/* The time since the target started. */
int64_t fl_session_now(const fl_session *s);

#endif
