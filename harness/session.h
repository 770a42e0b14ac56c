/* A running target as the harness watches it: samples, captured output,
 * line waiters and exit status. The monitor thread fills it in; the
 * scenario thread reads it under the lock and sleeps on notify_fd. */
#ifndef FL_SESSION_H
#define FL_SESSION_H

#include <pthread.h>
#include <regex.h>
#include <stdint.h>

#include "faults.h"
#include "journal.h"
#include "procfs.h"
#include "sampler.h"
#include "target.h"

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
	fl_sampler sampler;
	int sampler_ok;
	int64_t period_ns;
	int timerfd;

	fl_sample *samples;
	size_t nsamples, cap;
	uint64_t sample_cost_total_ns;
	int64_t sample_cost_max_ns;
	uint64_t sample_errors;
	int sampling_stopped;

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

	/* The fault journal the agent writes, drained at every sample. */
	fl_journal *journal;
	fl_jentry *jrecs;
	size_t njrecs, jcap;

	/* Monitor bookkeeping. */
	int registered;
	int add_done;		/* the monitor answered the add request */
	int add_result;		/* 0, or -errno: why it could not watch */
	int removing;
	struct fl_session *next_pending;
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

/* Registers a waiter for a line; must be called before the line can arrive
 * (or lines already seen will not match). 0 or -EINVAL for a bad regex. */
int fl_session_add_waiter(fl_session *s, fl_waiter *w, int streams,
			  const char *text, int is_regex, char *err,
			  size_t errlen);
void fl_session_remove_waiter(fl_session *s, fl_waiter *w);

/* Copies the tail of a stream (caller frees). */
char *fl_stream_tail(fl_session *s, int stream, size_t *len);

/* The time since the target started. */
int64_t fl_session_now(const fl_session *s);

#endif
