/* The state of one running scenario: its configuration, the runs of its
 * target, its fault windows and episodes, what was measured and what was
 * expected. Internal to the harness: the modules that run a scenario
 * (instance, windows, measure, health, wait, expect, result) share it, and
 * scenario.c owns it. */
#ifndef FL_CTX_H
#define FL_CTX_H

#include <jansson.h>
#include <limits.h>
#include <lua.h>
#include <stdint.h>

#include "config.h"
#include "faults.h"
#include "forensics.h"
#include "journal.h"
#include "judge.h"
#include "lua_state.h"
#include "procfs.h"
#include "scenario.h"
#include "session.h"
#include "target.h"
#include "verdict.h"

#define FL_MAX_NAMED_PORTS 8
/* How long the harness waits for the agent to answer a command. */
#define FL_AGENT_TIMEOUT_MS 2000

/* One fault window: a point enabled from on_ns until off_ns. */
typedef struct fl_window {
	fl_fault_spec spec;
	int64_t on_ns, off_ns;	/* off_ns < 0: still open; on_ns < 0: armed,
				 * not open yet */
	char trigger[32];	/* "time", "calls" (after=) or "output" */
	int episode;		/* index into episodes, or -1 */
	int instance;		/* the run of the target it belongs to */
	fl_waiter *waiter;	/* an output trigger still waiting */
	int64_t sent_ns;	/* when the harness asked for it: the agent
				 * applied it between this and on_ns */
	/* Why it is fine that it never fired ("" : it must fire). */
	char optional[200];
	int closed_at_stop;	/* still open when the target stopped */
} fl_window;

/* An episode: the faults between two quiet periods, and what recovery
 * after it looked like. */
typedef struct fl_episode {
	int64_t on_ns, off_ns;
	char points[256];
	int judged;		/* an MTTR bound was checked */
	double within_s;	/* the bound, or < 0 */
	fl_recovery rec;
} fl_episode;

typedef struct fl_named_port {
	char name[32];
	int port;
} fl_named_port;

/* A started target, kept until the end so its series goes in the report. */
typedef struct fl_instance {
	fl_session *sess;
	fl_faults faults;
	int running;		/* in the monitor, not yet stopped */
	int stop_requested;	/* an exit now is expected */
	int exit_acknowledged;	/* the script looked at the exit */
	char stopped_by[64];	/* "SIGTERM", "SIGKILL after 2.0 s", ... */
	int64_t stop_ns;	/* session time of the stop's request */
	uint64_t sent_signals;	/* t:signal sent these (bit sig - 1) */
	/* Processes compact() dropped whose end failed survival, as last
	 * judged (fl_instance_judge_ends), and how many of them a failure
	 * already told. */
	uint64_t dropped_crashed, dropped_crashed_reported;
	int stragglers;		/* processes left in its group at the end */
	char start_error[1024];	/* with the lines it printed: instance.c */
	int64_t ready_ns;
	char **argv;
	int argc;
	int inherit;		/* programs it executes keep the agent */
	fl_journal journal;
	size_t jseen;		/* journal entries already looked at */
	fl_journal_stats jstats;	/* at the end */
} fl_instance;

/* What was new at the end against the baseline, of one kind (fds,
 * threads, files): the items and their groups. */
typedef struct fl_new_fds {
	int listed;		/* the list was taken */
	fl_fd_entry *items;	/* at the end, not at the baseline */
	int n;
	fl_group *groups;
	int ngroups;
	fl_fd_entry *gone;	/* at the baseline, not at the end */
	int ngone;
} fl_new_fds;

/* Processes at the end that were not at the baseline. */
typedef struct fl_new_procs {
	int listed;
	fl_proc_entry *items;
	int n;
	int gone;		/* baseline processes no longer there */
	fl_group *groups;
	int ngroups;
} fl_new_procs;

typedef struct fl_new_threads {
	int listed;
	fl_thread_entry *items;
	int n;
	int gone;		/* baseline threads no longer there */
	fl_group *groups;
	int ngroups;
	fl_thread_entry *all;	/* every thread at the end */
	int nall;
} fl_new_threads;

/* The fd tables, threads and watched files of the target's processes at
 * one look (each entry names its process). */
typedef struct fl_base_snapshot {
	fl_fd_entry *fds;
	int nfds;
	fl_thread_entry *threads;
	int nthreads;
	fl_fd_entry *files;
	int nfiles;
	fl_proc_entry *procs;	/* the processes looked at */
	int nprocs;
} fl_base_snapshot;

/* The final measurement: the figures at the end and the forensics that
 * explain them. With a snapshot, each count is the size of the snapshot's
 * list and its leak is the snapshot's difference with the baseline's, so
 * a count and the items it names never disagree. */
typedef struct fl_final {
	int have;
	fl_sample fig;
	double base[FL_FIG_COUNT]; /* what fig is compared with: the
				    * baseline snapshot's counts, else the
				    * baseline's medians */
	int snapshot;		/* fds, threads, files from one snapshot */
	int since_start;	/* no baseline: only the watched directory,
				 * compared with its state before the start
				 * (a batch job's leftovers) */
	int quiet;		/* ...taken once the target was quiet */
	int64_t at_ns;
	const char *unavailable; /* why there are no fd/thread forensics */
	fl_new_fds fds;
	fl_new_threads threads;
	fl_new_fds files;	/* entries of the watched directory */
	fl_new_procs procs;	/* processes of the tree */
	int baseline_fd_count;
	/* The final snapshot itself (its fds, threads and processes), for
	 * judging per process. */
	fl_base_snapshot snap;
} fl_final;

/* The OOM precursor: the moment RSS reached target.oom.rss, and what the
 * process looked like then. */
typedef struct fl_oom {
	int hit;
	int64_t t_ns;
	int64_t rss;
	double threshold;
	fl_fd_entry *fds;	/* NULL when the table could not be read */
	int nfds;
	fl_group *fd_groups;
	int nfd_groups;
	fl_thread_entry *threads;
	int nthreads;
	fl_group *thread_groups;
	int nthread_groups;
	char *smaps;		/* smaps_rollup, or NULL */
	int core_asked;
	char *core;		/* the core's file name in the report dir */
	char *core_error;	/* why there is none */
} fl_oom;


typedef struct fl_ctx {
	const fl_scenario_ref *ref;
	const fl_run_opts *opts;
	lua_State *L;
	fl_lua_host host;	/* watchdog, abort state, first error */
	fl_config cfg;		/* the scenario table, parsed */
	/* Pushes the Lua object of the target (lua_target.c): the health
	 * function gets it as its argument. */
	void (*push_target)(lua_State *L, struct fl_ctx *ctx);

	/* Runtime. */
	int64_t start_ns;	/* monotonic, scenario start */
	int64_t started_wall_ns; /* the same moment, wall clock */
	char *traceback;
	int load_error;		/* the scenario could not be loaded */
	int port;
	fl_named_port named_ports[FL_MAX_NAMED_PORTS];
	int nnamed_ports;
	char tmpdir[PATH_MAX];

	int stopping;		/* the current run is being stopped */
	fl_instance *inst;	/* the current target, or NULL */
	fl_instance **instances;
	int ninstances;

	fl_baseline base;
	int base_inst;		/* instance the baseline belongs to */
	fl_base_snapshot base_snap;
	/* The watched directory just before the latest start, for a batch
	 * job judged without a baseline. */
	fl_fd_entry *start_files;
	int nstart_files;
	int start_inst;		/* its instance, or -1 */
	fl_oom oom;
	fl_final final;

	fl_health_result *health_results; /* in time order; back-to-back
					   * probing keeps only changes */
	size_t nhealth, health_cap;
	size_t health_probes;	/* every probe made */
	size_t health_failed;	/* ...and how many failed */
	int64_t next_probe_ns;
	fl_probe health_probe;	/* the prepared probe of the current run */
	char *health_unix;	/* its Unix socket path, expanded */
	int health_ready;	/* health_probe is prepared */

	fl_window *windows;
	int nwindows;
	fl_episode *episodes;
	int nepisodes;

	fl_expectation *expects;
	int nexpects;
	json_t *log;		/* array of {t, msg} */
	json_t *point_stats;	/* from the agent at the end */
	json_t *warnings;	/* array of strings */

	char *program;		/* the target's binary, resolved, or NULL */
	/* Points counted from the target's first call (FL_POINTS). */
	char **points;
	int npoints;
	/* The points the target's binary declares (FLRT_POINT), to catch a
	 * misspelled custom point. */
	char **declared;
	int ndeclared;
	/* Replay: the recorded faults to fail, instead of deciding. */
	const struct fl_fault_rec *replay;
	size_t nreplay;
} fl_ctx;

/* The context of a Lua state that runs a scenario. */
fl_ctx *fl_ctx_of(lua_State *L);
/* Seconds since the current target started (or the scenario, before). */
int64_t fl_ctx_now(fl_ctx *ctx);
/* Appends to the scenario's log (and prints it with -v). */
void fl_ctx_log(fl_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records a warning for the result. */
void fl_ctx_warn(fl_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records an expectation; where (may be NULL) is the script's file:line. */
fl_expectation *fl_ctx_expect(fl_ctx *ctx, const char *where,
			      const char *what, int ok, const char *measured,
			      const char *allowed, const char *message);
/* Replaces {port}, {port:NAME}, {tmpdir} and {seed}. Other braces are
 * left as they are. Returns a malloc'd string. */
char *fl_ctx_expand(fl_ctx *ctx, const char *text);
/* A port field of the configuration ("{port}", "8080"), resolved; -1 if
 * it is not one. */
int fl_ctx_port(fl_ctx *ctx, const char *text);
/* The port {port:name} stands for (chosen on first use), or -1. */
int fl_ctx_named_port(fl_ctx *ctx, const char *name);
/* Paths under the scenario's own temporary directory read "{tmpdir}/...",
 * as the scenario wrote them. */
void fl_ctx_abbreviate(fl_ctx *ctx, fl_fd_entry *v, int n);

/* The current target's exit as the monitor last saw it (locked copy). */
fl_exit_info fl_instance_exit(const fl_instance *in);
/* Is the current target running (started, not stopped, not exited)? */
int fl_ctx_target_live(fl_ctx *ctx);

#endif
