/* The Lua state a scenario runs in: the sandboxed environment of its chunk,
 * the one protected-call helper with its message handler, and the watchdog
 * that stops a script that runs too long, was interrupted, or failed a
 * t:assert (even one that swallows errors with pcall). */
#ifndef FL_LUA_STATE_H
#define FL_LUA_STATE_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

/* Why a run stops early. */
enum fl_abort {
	FL_ABORT_NONE = 0,
	FL_ABORT_ASSERT,	/* t:assert() failed: verdict FAIL */
	FL_ABORT_TIMEOUT,	/* the watchdog: ERROR */
	FL_ABORT_INTERRUPT,	/* SIGINT/SIGTERM: ERROR */
};

/* What the state knows of the run it serves; its extra space points at
 * it. A state made only to read scenario tables has none. */
typedef struct fl_lua_host {
	int64_t deadline_ns;	/* monotonic; 0: no watchdog */
	double timeout_s;	/* for the watchdog's message */
	enum fl_abort abort;
	int abort_signal;	/* for FL_ABORT_INTERRUPT */
	int abort_raised;	/* the full message was raised once */
	char *error_msg;	/* the first error the handler saw (malloc'd) */
	void *user;		/* the scenario's context */
	/* Where the script may write files ("" : nowhere). */
	char write_dir[4096];
	/* The memory the script's state holds, and the most it may. */
	size_t mem_used, mem_limit;
	int mem_exceeded;	/* an allocation was refused */
	/* Where print() goes; NULL: stderr. */
	void (*log)(void *user, const char *msg);
} fl_lua_host;

/* The most memory a scenario's Lua state may hold. */
#define FL_LUA_MEMORY_LIMIT ((size_t)256 << 20)

/* A new state with the standard libraries, its memory counted against
 * host->mem_limit (FL_LUA_MEMORY_LIMIT when 0); exits the process
 * (status 3) when Lua cannot allocate one. */
lua_State *fl_lua_new(fl_lua_host *host);
fl_lua_host *fl_lua_host_of(lua_State *L);

/* Loads the file as text in its own sandboxed environment and runs it
 * (under the watchdog when the state has a host). Leaves the returned
 * table on the stack. Returns 0, or -1 with the error (file and line) in
 * err. */
int fl_lua_load_scenario(lua_State *L, const char *file, char *err,
			 size_t errlen);

/* The one way the harness calls into Lua: protected, with the message
 * handler. Leaves nresults values (or the traceback on error) on the
 * stack and returns the lua_pcall status. */
int fl_lua_call(lua_State *L, int nargs, int nresults);

/* Is the run aborting (the watchdog fired, an interrupt arrived, a
 * t:assert failed)? Notices a due watchdog or interrupt and records it;
 * never raises. FL_ABORT_NONE when the run goes on. */
enum fl_abort fl_lua_abort_due(fl_lua_host *h);
/* Raises the watchdog's or the interrupt's error if it is due, and keeps
 * raising once the run is aborting, whatever catches it. */
void fl_lua_check_abort(lua_State *L);
/* Marks the run as stopped by a failed t:assert. */
void fl_lua_abort_assert(lua_State *L);

/* Stops the watchdog (before the harness cleans up). */
void fl_lua_disarm(lua_State *L);

#endif
