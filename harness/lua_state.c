#define _GNU_SOURCE
#include "lua_state.h"

#include "monitor.h"
#include "target.h"
#include "util.h"

#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often (in VM instructions) the watchdog looks at the clock. */
#define WATCHDOG_COUNT 1000

fl_lua_host *fl_lua_host_of(lua_State *L)
{
	return *(fl_lua_host **)lua_getextraspace(L);
}

enum fl_abort fl_lua_abort_due(fl_lua_host *h)
{
	if (!h)
		return FL_ABORT_NONE;
	if (h->abort == FL_ABORT_NONE) {
		int sig = fl_monitor_interrupted();
		if (sig) {
			h->abort = FL_ABORT_INTERRUPT;
			h->abort_signal = sig;
		} else if (h->deadline_ns && fl_now_ns() > h->deadline_ns) {
			h->abort = FL_ABORT_TIMEOUT;
		}
	}
	return h->abort;
}

void fl_lua_check_abort(lua_State *L)
{
	fl_lua_host *h = fl_lua_host_of(L);
	enum fl_abort now = fl_lua_abort_due(h);
	/* The first error says why in full; later ones only keep it going. */
	int was = h && h->abort_raised;
	if (now != FL_ABORT_NONE)
		h->abort_raised = 1;
	switch (now) {
	case FL_ABORT_NONE:
		return;
	case FL_ABORT_INTERRUPT:
		if (!was)
			luaL_error(L, "interrupted by %s",
				   fl_signal_name(h->abort_signal));
		luaL_error(L, "interrupted");
		return;
	case FL_ABORT_TIMEOUT:
		if (!was) {
			/* lua_pushfstring knows no precision: format here. */
			char secs[32];
			snprintf(secs, sizeof secs, "%.1f", h->timeout_s);
			luaL_error(L,
				   "scenario timed out after %s s (the "
				   "watchdog stopped it)",
				   secs);
		}
		luaL_error(L, "scenario timed out");
		return;
	case FL_ABORT_ASSERT:
		luaL_error(L, "scenario aborted by a failed t:assert");
		return;
	}
}

void fl_lua_abort_assert(lua_State *L)
{
	fl_lua_host *h = fl_lua_host_of(L);
	if (h)
		h->abort = FL_ABORT_ASSERT;
}

/* The count hook: a script that loops forever still reaches it. */
static void watchdog_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	fl_lua_host *h = fl_lua_host_of(L);
	if (!h)
		return;
	if (fl_lua_abort_due(h) != FL_ABORT_NONE)
		fl_lua_check_abort(L);
}

void fl_lua_disarm(lua_State *L)
{
	lua_sethook(L, NULL, 0, 0);
}

/* Message handler: remembers the first message, returns it with a
 * traceback. */
static int msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)",
					      luaL_typename(L, 1));
	}
	fl_lua_host *h = fl_lua_host_of(L);
	if (h && !h->error_msg)
		h->error_msg = fl_xstrdup(msg);
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int fl_lua_call(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	int status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	fl_lua_host *h = fl_lua_host_of(L);
	if (status == LUA_ERRMEM && h && h->mem_exceeded && !h->error_msg) {
		/* The handler cannot run without memory: say it here. */
		char msg[128];
		snprintf(msg, sizeof msg, "the script used more than %zu MiB "
					  "(its memory limit)",
			 h->mem_limit >> 20);
		h->error_msg = fl_xstrdup(msg);
	}
	if (status != LUA_OK && h && !h->error_msg) {
		/* Every failed call leaves a message: an error never reads as
		 * a pass. */
		const char *m = lua_tostring(L, -1);
		h->error_msg = fl_xstrdup(m ? m : "error in the script");
	}
	return status;
}

/* pcall and xpcall for scripts: the same as Lua's, except that once the
 * watchdog fired, the run was interrupted or a t:assert failed, the error
 * keeps going up: a script cannot swallow it. */
static int sb_finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	fl_lua_host *h = fl_lua_host_of(L);
	if (status != LUA_OK && status != LUA_YIELD) {
		if (h && h->abort != FL_ABORT_NONE)
			return lua_error(L);
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L)
{
	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0,
				sb_finish_pcall);
	return sb_finish_pcall(L, status, 0);
}

static int sb_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);
	int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, sb_finish_pcall);
	return sb_finish_pcall(L, status, 2);
}

static int sb_print(lua_State *L)
{
	fl_lua_host *h = fl_lua_host_of(L);
	fl_buf b;
	fl_buf_init(&b);
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 1)
			fl_buf_putc(&b, '\t');
		fl_buf_append(&b, s, len);
		lua_pop(L, 1);
	}
	if (h && h->log)
		h->log(h->user, b.data ? b.data : "");
	else
		fprintf(stderr, "%s\n", b.data ? b.data : "");
	fl_buf_free(&b);
	return 0;
}

static int sb_os_exit(lua_State *L)
{
	return luaL_error(L, "os.exit is not available in a scenario (use "
			     "t:fail(message) to fail it)");
}

/* The allocator of a scenario's state: counts what the script holds and
 * refuses past the limit, which Lua raises as an error in the script. */
static void *counted_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	fl_lua_host *h = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		if (h)
			h->mem_used -= old;
		return NULL;
	}
	if (h && nsize > old && h->mem_used - old + nsize > h->mem_limit) {
		h->mem_exceeded = 1;
		return NULL;
	}
	void *p = realloc(ptr, nsize);
	if (p && h)
		h->mem_used = h->mem_used - old + nsize;
	return p;
}

lua_State *fl_lua_new(fl_lua_host *host)
{
	if (host && !host->mem_limit)
		host->mem_limit = FL_LUA_MEMORY_LIMIT;
	lua_State *L = lua_newstate(counted_alloc, host);
	if (!L) {
		fprintf(stderr, "faultline: cannot create a Lua state\n");
		exit(3);
	}
	*(fl_lua_host **)lua_getextraspace(L) = host;
	luaL_openlibs(L);
	return L;
}

/* Is path (resolved) one of faultline's own /proc entries? The scenario
 * must not read or write the harness's memory, fds or environment. */
static int own_proc_entry(const char *resolved)
{
	if (strncmp(resolved, "/proc/", 6) != 0)
		return 0;
	const char *p = resolved + 6;
	char *end;
	long n = strtol(p, &end, 10);
	if (end == p || (*end != '/' && *end != '\0'))
		return 0;
	if (n == (long)getpid())
		return 1;
	/* A thread of faultline's is faultline too. */
	char task[64];
	snprintf(task, sizeof task, "/proc/self/task/%ld", n);
	return access(task, F_OK) == 0;
}

/* The path with its directory resolved (the file itself may not exist
 * yet). 0, or -1 when the directory does not resolve. */
static int resolve(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	if (realpath(path, buf)) {
		snprintf(out, len, "%s", buf);
		return 0;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	const char *base = path;
	if (slash) {
		base = path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	} else {
		snprintf(dir, sizeof dir, ".");
	}
	if (!realpath(dir, buf))
		return -1;
	snprintf(out, len, "%s/%s", strcmp(buf, "/") ? buf : "", base);
	return 0;
}

/* May the script open path with mode? Raises the reason if not. */
static void check_open(lua_State *L, const char *path, const char *mode)
{
	fl_lua_host *h = fl_lua_host_of(L);
	char resolved[PATH_MAX];
	if (resolve(path, resolved, sizeof resolved) < 0)
		return; /* fopen will say why */
	/* /proc/self itself resolves to /proc/<pid>. */
	if (own_proc_entry(resolved) || strncmp(path, "/proc/self", 10) == 0 ||
	    strncmp(path, "/proc/thread-self", 17) == 0)
		luaL_error(L, "io: %s is faultline's own process: a scenario may "
			      "not open it",
			   path);
	int writes = strpbrk(mode, "wa+") != NULL;
	if (!writes)
		return;
	const char *dir = h ? h->write_dir : "";
	size_t dl = strlen(dir);
	if (!dl || strncmp(resolved, dir, dl) != 0 ||
	    (resolved[dl] != '/' && resolved[dl] != '\0'))
		luaL_error(L, "io: a scenario writes files only under its "
			      "{tmpdir} (%s), not %s",
			   dl ? dir : "none", path);
}

/* io.open with the checks above; the file object is Lua's own. */
static int sb_io_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *mode = luaL_optstring(L, 2, "r");
	check_open(L, path, mode);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* io.lines(path, ...) reads: the same checks. */
static int sb_io_lines(lua_State *L)
{
	if (!lua_isnoneornil(L, 1))
		check_open(L, luaL_checkstring(L, 1), "r");
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* setmetatable without finalizers: Lua runs __gc with hooks off, so a
 * finalizer that loops would escape the watchdog. */
static int sb_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE &&
	    lua_getfield(L, 2, "__gc") != LUA_TNIL)
		return luaL_error(L, "setmetatable: __gc finalizers are not "
				     "available in a scenario (the watchdog "
				     "cannot stop them)");
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* Builds the environment of a scenario chunk: the safe parts of the
 * standard library, our pcall, print and os. Pushes the table. */
static void push_sandbox(lua_State *L)
{
	static const char *const globals[] = {
		"assert",   "error",	"ipairs",   "next",	"pairs",
		"rawequal", "rawget",	"rawlen",   "rawset",	"select",
		"getmetatable", "tonumber", "tostring",
		"type",	    "string",	"table",    "math",	"utf8",
		"coroutine", "_VERSION", NULL};
	lua_newtable(L);
	for (int i = 0; globals[i]; i++) {
		lua_getglobal(L, globals[i]);
		lua_setfield(L, -2, globals[i]);
	}
	lua_getglobal(L, "setmetatable");
	lua_pushcclosure(L, sb_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	lua_pushcfunction(L, sb_pcall);
	lua_setfield(L, -2, "pcall");
	lua_pushcfunction(L, sb_xpcall);
	lua_setfield(L, -2, "xpcall");
	lua_pushcfunction(L, sb_print);
	lua_setfield(L, -2, "print");

	/* os: time and environment only. */
	lua_newtable(L);
	static const char *const oskeys[] = {"clock", "date", "difftime",
					     "getenv", "time", NULL};
	lua_getglobal(L, "os");
	for (int i = 0; oskeys[i]; i++) {
		lua_getfield(L, -1, oskeys[i]);
		lua_setfield(L, -3, oskeys[i]);
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, sb_os_exit);
	lua_setfield(L, -2, "exit");
	lua_setfield(L, -2, "os");

	/* io: reading files, and writing under {tmpdir}; no processes, not
	 * faultline's own /proc. */
	lua_newtable(L);
	lua_getglobal(L, "io");
	lua_getfield(L, -1, "type");
	lua_setfield(L, -3, "type");
	lua_getfield(L, -1, "open");
	lua_pushcclosure(L, sb_io_open, 1);
	lua_setfield(L, -3, "open");
	lua_getfield(L, -1, "lines");
	lua_pushcclosure(L, sb_io_lines, 1);
	lua_setfield(L, -3, "lines");
	lua_pop(L, 1);
	lua_setfield(L, -2, "io");

	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
}

int fl_lua_load_scenario(lua_State *L, const char *file, char *err,
			 size_t errlen)
{
	char *text;
	size_t len;
	int r = fl_read_file(file, &text, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(-r));
		return -1;
	}
	char chunkname[PATH_MAX + 1];
	snprintf(chunkname, sizeof chunkname, "@%s", file);
	int st = luaL_loadbufferx(L, text, len, chunkname, "t");
	free(text);
	if (st != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	push_sandbox(L);
	lua_setupvalue(L, -2, 1);
	fl_lua_host *h = fl_lua_host_of(L);
	if (h)
		lua_sethook(L, watchdog_hook, LUA_MASKCOUNT, WATCHDOG_COUNT);
	st = fl_lua_call(L, 0, 1);
	if (st != LUA_OK) {
		const char *msg = h && h->error_msg ? h->error_msg
						    : lua_tostring(L, -1);
		snprintf(err, errlen, "%s", msg ? msg : "error");
		lua_pop(L, 1);
		return -1;
	}
	if (!lua_istable(L, -1)) {
		snprintf(err, errlen,
			 "%s: the file must return a scenario table (got %s)",
			 file, luaL_typename(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}
