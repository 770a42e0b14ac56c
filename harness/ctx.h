/* The state of one running scenario, shared by the runner (scenario.c) and
 * the Lua-facing target object (lua_target.c). Internal to the harness. */
#ifndef FL_CTX_H
#define FL_CTX_H

#include <jansson.h>
#include <limits.h>
#include <lua.h>
#include <stdint.h>

#include "faults.h"
#include "journal.h"
#include "judge.h"
#include "procfs.h"
#include "scenario.h"
#include "session.h"
#include "target.h"

#define FL_MAX_NAMED_PORTS 8

/* Why a run stops early. */
enum fl_abort {
	FL_ABORT_NONE = 0,
	FL_ABORT_ASSERT,	/* t:assert() failed: verdict FAIL */
	FL_ABORT_TIMEOUT,	/* the watchdog: ERROR */
	FL_ABORT_INTERRUPT,	/* SIGINT/SIGTERM: ERROR */
};

typedef struct fl_expect_rec {
	char what[96];
	int ok;
	char measured[128];
	char allowed[128];
	char message[1024];
	char where[256];
} fl_expect_rec;

/* One fault window: a point enabled from on_ns until off_ns. */
typedef struct fl_window {
	fl_fault_spec spec;
	int64_t on_ns, off_ns;	/* off_ns < 0: still open; on_ns < 0: armed,
				 * not open yet */
	char trigger[32];	/* "time", "calls" (after=) or "output" */
	int episode;		/* index into episodes, or -1 */
	int instance;		/* the run of the target it belongs to */
	fl_waiter *waiter;	/* an output trigger still waiting */
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
	int stragglers;		/* processes left in its group at the end */
	char start_error[512];
	int64_t ready_ns;
	char **argv;
	int argc;
	int inherit;		/* programs it executes keep the agent */
	fl_journal journal;
	size_t jseen;		/* journal entries already looked at */
	uint64_t jlost;
} fl_instance;

typedef struct fl_health_cfg {
	int kind;		/* 0 none, 1 tcp, 2 Lua function */
	int port;
	char *send;
	size_t send_len;
	char *expect;
	int64_t timeout_ns;
	int64_t interval_ns;
	int fn_ref;		/* registry reference of the Lua function */
} fl_health_cfg;

typedef struct fl_ctx {
	const fl_scenario_ref *ref;
	const fl_run_opts *opts;
	lua_State *L;

	/* Configuration from the scenario table. */
	char *name;
	char *description;
	json_t *tags;
	uint64_t seed;
	double timeout_s;
	int xfail;
	char *xfail_reason;
	char *xfail_match;	/* Lua pattern the failure must match */
	char **cmd;		/* unexpanded */
	int ncmd;
	json_t *env;		/* object: name -> value (unexpanded) */
	char *cwd;
	int ready_streams;	/* FL_STDOUT/FL_STDERR, 0: none */
	char *ready_text;
	int ready_regex;
	int ready_port;		/* wait until this port accepts */
	double ready_delay_s;
	double ready_timeout_s;
	fl_health_cfg health;
	int stop_signal;
	double stop_grace_s;
	fl_rlimit_spec rlimits[FL_TARGET_MAX_RLIMITS];
	int nrlimits;
	char close_mode[16];
	char *watch;		/* directory whose entries are a figure */
	double oom_rss;		/* RSS at which to take OOM forensics */
	int oom_core;		/* ...and a core with gcore */
	double hz;
	size_t output_limit;
	int autostart;
	int exits;		/* the target is expected to exit by itself */
	int inherit;		/* programs it executes get the faults too */
	fl_steady steady;
	int64_t hold_ns;
	int64_t final_window_ns;
	int run_ref;		/* registry reference of run() */

	/* Runtime. */
	int64_t start_ns;	/* monotonic, scenario start */
	int64_t started_wall_ns;	/* the same moment, wall clock */
	int64_t deadline_ns;	/* monotonic, when the watchdog fires */
	enum fl_abort abort;
	char *error_msg;	/* script error (ERROR verdict) */
	char *traceback;
	int load_error;		/* the scenario could not be loaded */
	int port;
	fl_named_port named_ports[FL_MAX_NAMED_PORTS];
	int nnamed_ports;
	char tmpdir[PATH_MAX];

	fl_instance *inst;	/* the current target, or NULL */
	fl_instance **instances;
	int ninstances;

	fl_baseline base;
	int base_inst;		/* instance the baseline belongs to */
	fl_fd_entry *base_fds;
	int nbase_fds;
	fl_thread_entry *base_threads;
	int nbase_threads;
	fl_fd_entry *base_files;	/* the watched directory's entries */
	int nbase_files;
	json_t *oom;			/* the OOM-precursor snapshot */

	int have_final;
	fl_sample final;	/* medians over the final window */
	int64_t final_at_ns;
	json_t *forensics;	/* set when the final look is taken */
	int leaked_fds_listed;

	fl_health_result *health_results;
	size_t nhealth, health_cap;
	int64_t next_probe_ns;

	fl_window *windows;
	int nwindows;
	fl_episode *episodes;
	int nepisodes;

	fl_expect_rec *expects;
	int nexpects;
	json_t *log;		/* array of {t, msg} */
	json_t *point_stats;	/* from the agent at the end */
	json_t *warnings;	/* array of strings */

	/* Points counted from the target's first call (FL_POINTS). */
	char **points;
	int npoints;
	/* The points the target's binary declares (FLRT_POINT), to catch a
	 * misspelled custom point. */
	char **declared;
	int ndeclared;
	/* Replay: the recorded faults to fail, instead of deciding. */
	const fl_fault_rec *replay;
	size_t nreplay;
} fl_ctx;

/* Opens windows whose trigger has fired; call while waiting. */
void fl_ctx_poll_triggers(fl_ctx *ctx);

/* From lua_target.c */
void fl_lua_open_target(lua_State *L);
void fl_lua_push_target(lua_State *L, fl_ctx *ctx);

/* From scenario.c, used by the target object. */
fl_ctx *fl_ctx_of(lua_State *L);
int fl_ctx_start(fl_ctx *ctx, char *err, size_t errlen);
int fl_ctx_stop(fl_ctx *ctx, int sig, double grace_s);
/* Waits until deadline (monotonic) while keeping health probes going;
 * raises a Lua error on timeout of the scenario or interruption. Returns
 * early when the monitor has news and return_on_news is set. */
void fl_ctx_wait(fl_ctx *ctx, int64_t deadline_ns, int return_on_news);
/* Takes the baseline over [now - window, now]. */
int fl_ctx_take_baseline(fl_ctx *ctx, int64_t window_ns, char *err,
			 size_t errlen);
/* Takes the final measurement (median of the last window) and forensics. */
void fl_ctx_take_final(fl_ctx *ctx);
void fl_ctx_expect(fl_ctx *ctx, lua_State *L, const char *what, int ok,
		   const char *measured, const char *allowed,
		   const char *message);
/* A window that opens when a line of output arrives. */
typedef struct fl_output_trigger {
	const char *text;
	int streams;
	int regex;
} fl_output_trigger;
int fl_ctx_open_window(fl_ctx *ctx, const fl_fault_spec *spec,
		       const fl_output_trigger *out, char *err, size_t errlen);
int fl_ctx_close_windows(fl_ctx *ctx, const char *point, char *err,
			 size_t errlen);
/* Judges recovery after the latest episode, waiting as needed. */
int fl_ctx_judge_recovery(fl_ctx *ctx, lua_State *L, double within_s,
			  int64_t hold_ns, fl_recovery *out);
void fl_ctx_log(fl_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Raises the watchdog's or the interrupt's error if due. */
void fl_ctx_check_abort(fl_ctx *ctx, lua_State *L);
int64_t fl_ctx_now(fl_ctx *ctx);
fl_health_result *fl_ctx_probe_now(fl_ctx *ctx);
char *fl_ctx_expand(fl_ctx *ctx, const char *text);
void fl_ctx_ack_exit(fl_ctx *ctx);

#endif
