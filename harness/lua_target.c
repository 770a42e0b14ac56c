/* The object a scenario's run(t) receives. Its methods check their
 * arguments, call a module (instance, windows, measure, wait, expect,
 * health) and push the result; no locks, no samples, no JSON. This file
 * holds the type, its fields and the methods for the target's life, time,
 * output and the network; lua_faults.c and lua_expect.c the others. */
#define _GNU_SOURCE
#include "lua_target.h"

#include "api.h"
#include "ctx.h"
#include "expect.h"
#include "health.h"
#include "instance.h"
#include "lua_args.h"
#include "measure.h"
#include "points.h"
#include "probe.h"
#include "util.h"
#include "wait.h"
#include "windows.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

extern const luaL_Reg fl_lua_fault_methods[];
extern const luaL_Reg fl_lua_expect_methods[];

/* ------------------------------------------------------------------ */
/* Results                                                              */
/* ------------------------------------------------------------------ */

/* Pushes {t, fds, threads, rss[, files]}. */
static void push_sample(lua_State *L, const fl_sample *s)
{
	lua_createtable(L, 0, FL_FIG_COUNT + 1);
	lua_pushnumber(L, (double)s->t_ns / 1e9);
	lua_setfield(L, -2, "t");
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (fl_figures[f].optional && s->v[f] < 0)
			continue;
		lua_pushinteger(L, s->v[f]);
		lua_setfield(L, -2, fl_figures[f].key);
	}
}

/* Pushes {fds, threads, rss[, files], samples, t}. */
static void push_baseline(lua_State *L, const fl_baseline *b)
{
	lua_createtable(L, 0, FL_FIG_COUNT + 2);
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		if (fl_figures[f].optional && b->v[f] < 0)
			continue;
		lua_pushnumber(L, b->v[f]);
		lua_setfield(L, -2, fl_figures[f].key);
	}
	lua_pushinteger(L, (lua_Integer)b->samples);
	lua_setfield(L, -2, "samples");
	lua_pushnumber(L, (double)b->to_ns / 1e9);
	lua_setfield(L, -2, "t");
}

/* Pushes {exited, code?, signal?, core}. */
static void push_exit(lua_State *L, const fl_exit_info *e)
{
	lua_createtable(L, 0, 4);
	lua_pushboolean(L, e->exited);
	lua_setfield(L, -2, "exited");
	if (e->exited && !e->signal) {
		lua_pushinteger(L, e->code);
		lua_setfield(L, -2, "code");
	}
	if (e->signal) {
		lua_pushstring(L, fl_signal_name(e->signal));
		lua_setfield(L, -2, "signal");
	}
	lua_pushboolean(L, e->core);
	lua_setfield(L, -2, "core");
}

/* t:start(): starts the target (done before run() unless autostart is
 * false) and waits until it is ready. */
static int t_start(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	char err[1024];
	if (fl_instance_start(ctx, err, sizeof err) < 0)
		return luaL_error(L, "%s", err);
	return 0;
}

static int stop_signal_opt(lua_State *L, int idx, int def, const char *fname)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return def;
	int sig = def;
	lua_getfield(L, idx, "signal");
	if (!lua_isnil(L, -1)) {
		sig = fl_signal_from_name(luaL_checkstring(L, -1));
		if (sig < 0)
			return luaL_error(L, "%s: unknown signal '%s'", fname,
					  lua_tostring(L, -1));
	}
	lua_pop(L, 1);
	return sig;
}

/* t:stop{ grace =, signal = }: returns the exit table. */
static int t_stop(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_larg_keys(L, 2, "stop", fl_api_keys("t:stop"));
	double grace = fl_larg_seconds(L, 2, "grace", ctx->cfg.stop_grace_s);
	int sig = stop_signal_opt(L, 2, ctx->cfg.stop_signal, "stop");
	if (!ctx->inst)
		return luaL_error(L, "stop: the target was never started");
	fl_instance_stop(ctx, sig, grace);
	fl_exit_info e = fl_instance_exit(ctx->inst);
	push_exit(L, &e);
	return 1;
}

static int t_restart(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_larg_keys(L, 2, "restart", fl_api_keys("t:restart"));
	double grace = fl_larg_seconds(L, 2, "grace", ctx->cfg.stop_grace_s);
	if (ctx->inst && ctx->inst->running)
		fl_instance_stop(ctx, ctx->cfg.stop_signal, grace);
	char err[1024];
	if (fl_instance_start(ctx, err, sizeof err) < 0)
		return luaL_error(L, "%s", err);
	return 0;
}

/* t:wait_exit(timeout): waits for the target to exit on its own. Returns
 * the exit table, or nil on timeout. */
static int t_wait_exit(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	double timeout = fl_larg_opt_seconds(L, 2, 10, "wait_exit: the timeout");
	int r = fl_wait_exit(ctx, timeout);
	if (r == -ESRCH)
		return luaL_error(L, "wait_exit: the target was never started");
	fl_larg_after_wait(L, r);
	if (r == 0) {
		lua_pushnil(L);
		return 1;
	}
	ctx->inst->exit_acknowledged = 1;
	if (ctx->inst->running) {
		if (ctx->base.valid)
			fl_measure_final(ctx);
		fl_instance_stop(ctx, 0, 0);
	}
	fl_exit_info e = fl_instance_exit(ctx->inst);
	push_exit(L, &e);
	return 1;
}

/* t:signal(name [, pid]): sends a signal to the target process ("STOP",
 * "CONT", "USR1", ...), or to process pid of its tree alone (one of
 * t:processes()). */
static int t_signal(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *name = luaL_checkstring(L, 2);
	int sig = fl_signal_from_name(name);
	if (sig < 0)
		return luaL_error(L, "signal: unknown signal '%s'", name);
	lua_Integer pid = luaL_optinteger(L, 3, 0);
	if (lua_gettop(L) >= 3 && pid <= 0)
		return luaL_argerror(L, 3, "a pid from t:processes() expected");
	fl_larg_need_running(L, ctx, "signal");
	int r = pid ? fl_instance_signal_pid(ctx, sig, (pid_t)pid)
		    : fl_instance_signal(ctx, sig);
	if (r == -ESRCH && pid)
		return luaL_error(L,
				  "signal %s: pid %d is not a live process of "
				  "this target's tree (see t:processes())",
				  name, (int)pid);
	if (r < 0)
		return luaL_error(L, "signal %s: %s", name, strerror(-r));
	return 0;
}

/* t:setrlimit(name, value): changes a resource limit of the running target
 * (prlimit). Returns the previous soft limit. */
static int t_setrlimit(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *name = luaL_checkstring(L, 2);
	int res, bytes;
	if (fl_rlimit_lookup(name, &res, &bytes) < 0)
		return luaL_error(L, "setrlimit: unknown limit '%s' (%s)", name,
				  fl_rlimit_names());
	double v;
	if (lua_type(L, 3) == LUA_TSTRING && bytes) {
		if (fl_parse_bytes(lua_tostring(L, 3), &v) < 0)
			return luaL_error(L, "setrlimit: bad size '%s'",
					  lua_tostring(L, 3));
	} else {
		v = luaL_checknumber(L, 3);
	}
	if (!isfinite(v) || v < 0)
		return luaL_error(L, "setrlimit: the value must be a finite "
				     "number of at least 0");
	fl_larg_need_running(L, ctx, "setrlimit");
	rlim_t old;
	int r = fl_instance_setrlimit(ctx, res, v, &old);
	if (r < 0)
		return luaL_error(L, "setrlimit %s: %s", name, strerror(-r));
	fl_ctx_log(ctx, "rlimit %s set to %.0f", name, v);
	if (old == RLIM_INFINITY)
		lua_pushnumber(L, HUGE_VAL);
	else
		lua_pushinteger(L, (lua_Integer)old);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Time and baseline                                                    */
/* ------------------------------------------------------------------ */

static int t_sleep(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	double s = fl_larg_check_seconds(L, 2, "sleep time");
	fl_larg_after_wait(L, fl_wait(ctx, fl_now_ns() + (int64_t)(s * 1e9), 0));
	return 0;
}

/* t:settle(seconds): waits, then takes the baseline (medians) over that
 * window. Returns the baseline. */
static int t_settle(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	double s = lua_isnoneornil(L, 2) ? 0.5
					 : fl_larg_check_seconds(L, 2, "settle: the window");
	if (s <= 0)
		return luaL_error(L, "settle: the window must be positive");
	fl_larg_need_running(L, ctx, "settle");
	fl_larg_after_wait(L, fl_wait(ctx, fl_now_ns() + (int64_t)(s * 1e9), 0));
	char err[256];
	if (fl_measure_baseline(ctx, fl_ctx_now(ctx) - (int64_t)(s * 1e9), 0,
				err, sizeof err) < 0)
		return luaL_error(L, "settle: %s", err);
	push_baseline(L, &ctx->base);
	return 1;
}

static int t_baseline(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	if (!ctx->base.valid)
		lua_pushnil(L);
	else
		push_baseline(L, &ctx->base);
	return 1;
}

/* t:sample(): the latest sample {t, fds, threads, rss}, or nil. */
static int t_sample(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_sample last;
	if (!fl_measure_last(ctx, &last))
		lua_pushnil(L);
	else
		push_sample(L, &last);
	return 1;
}

/* t:processes(): the processes of the target's tree, each {pid, ppid,
 * name, fds, threads, rss, root, zombie, left_group, left_session} with
 * its last sample's figures (the root's without the harness's own). */
static int t_processes(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_proc_entry *v;
	int n = fl_measure_processes(ctx, &v);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_createtable(L, 0, 10);
		lua_pushinteger(L, v[i].pid);
		lua_setfield(L, -2, "pid");
		lua_pushinteger(L, v[i].ppid);
		lua_setfield(L, -2, "ppid");
		lua_pushstring(L, v[i].comm);
		lua_setfield(L, -2, "name");
		lua_pushinteger(L, v[i].nfds);
		lua_setfield(L, -2, "fds");
		lua_pushinteger(L, v[i].nthreads);
		lua_setfield(L, -2, "threads");
		lua_pushinteger(L, (lua_Integer)v[i].rss);
		lua_setfield(L, -2, "rss");
		lua_pushboolean(L, v[i].is_root);
		lua_setfield(L, -2, "root");
		lua_pushboolean(L, v[i].state == 'Z');
		lua_setfield(L, -2, "zombie");
		lua_pushboolean(L, v[i].left_group);
		lua_setfield(L, -2, "left_group");
		lua_pushboolean(L, v[i].left_session);
		lua_setfield(L, -2, "left_session");
		lua_rawseti(L, -2, i + 1);
	}
	free(v);
	return 1;
}

static int t_now(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	lua_pushnumber(L, (double)fl_ctx_now(ctx) / 1e9);
	return 1;
}

/* t:wait_until(fn, timeout): calls fn(sample) on each new sample until it
 * returns true. Returns true, or false on timeout. */
static int t_wait_until(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	double timeout = fl_larg_opt_seconds(L, 3, 5, "wait_until: the timeout");
	fl_larg_need_running(L, ctx, "wait_until");
	int64_t deadline = fl_now_ns() + (int64_t)(timeout * 1e9);
	size_t seen = 0;
	for (;;) {
		size_t n = fl_measure_count(ctx);
		fl_sample last;
		if (n > seen && fl_measure_last(ctx, &last)) {
			seen = n;
			lua_pushvalue(L, 2);
			push_sample(L, &last);
			lua_call(L, 1, 1);
			int ok = lua_toboolean(L, -1);
			lua_pop(L, 1);
			if (ok) {
				lua_pushboolean(L, 1);
				return 1;
			}
		}
		if (fl_now_ns() >= deadline || !fl_ctx_target_live(ctx))
			break;
		fl_larg_after_wait(L, fl_wait(ctx, deadline, 1));
	}
	lua_pushboolean(L, 0);
	return 1;
}

/* t:quiesce{ hold=, within= }: waits until fds and threads have not moved
 * for hold seconds. Returns true, or false if that did not happen. */
static int t_quiesce(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_larg_keys(L, 2, "quiesce", fl_api_keys("t:quiesce"));
	double hold = fl_larg_seconds(L, 2, "hold", 0.2);
	double within = fl_larg_seconds(L, 2, "within", 5);
	fl_larg_need_running(L, ctx, "quiesce");
	int r = fl_wait_quiet(ctx, hold, within);
	fl_larg_after_wait(L, r);
	lua_pushboolean(L, r == 1);
	return 1;
}

/* t:wait_output(text, { stream=, regex=, timeout=, past= }): waits for a
 * line of output containing text (from now on). Returns the line, or nil
 * on timeout. */
static int t_wait_output(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *text = luaL_checkstring(L, 2);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	fl_larg_keys(L, 3, "wait_output", fl_api_keys("t:wait_output"));
	int past = fl_larg_bool(L, 3, "past");
	int regex = fl_larg_bool(L, 3, "regex");
	double timeout = fl_larg_seconds(L, 3, "timeout", 5);
	int streams = fl_larg_stream(L, 3, "wait_output");
	fl_larg_need_running(L, ctx, "wait_output");
	char *line;
	char err[256];
	int r = fl_wait_output(ctx, text, streams, regex, past, timeout, &line,
			       err, sizeof err);
	fl_larg_after_wait(L, r);
	if (r < 0)
		return luaL_error(L, "wait_output: %s", err);
	if (r == 1) {
		lua_pushstring(L, line);
		free(line);
	} else {
		lua_pushnil(L);
	}
	return 1;
}

/* The address of t:tcp and t:http: { port = t.port, host = "127.0.0.1"
 * | "::1", unix = "path" } (unix expanded; *unix_path owns it). */
static void opt_addr(lua_State *L, fl_ctx *ctx, int idx, const char *fname,
		     fl_probe_addr *addr, char **unix_path)
{
	*unix_path = NULL;
	memset(addr, 0, sizeof *addr);
	addr->family = AF_INET;
	double port = fl_larg_num(L, idx, "port", ctx->port);
	if (port < 1 || port > 65535 || port != floor(port))
		luaL_error(L, "%s: port must be a port number", fname);
	addr->port = (int)port;
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	lua_getfield(L, idx, "host");
	if (!lua_isnil(L, -1)) {
		char err[200];
		if (fl_probe_parse_host(luaL_checkstring(L, -1), &addr->family,
					err, sizeof err) < 0)
			luaL_error(L, "%s: %s", fname, err);
	}
	lua_pop(L, 1);
	lua_getfield(L, idx, "unix");
	if (!lua_isnil(L, -1)) {
		*unix_path = fl_ctx_expand(ctx, luaL_checkstring(L, -1));
		addr->family = AF_UNIX;
		addr->path = *unix_path;
	}
	lua_pop(L, 1);
}

static const char *opt_string(lua_State *L, int idx, const char *key)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return NULL;
	lua_getfield(L, idx, key);
	const char *v = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
	lua_pop(L, 1); /* the table keeps the string alive */
	return v;
}

/* t:tcp(text, { port=, host=, unix=, expect=, reply_end=, timeout= }):
 * sends text to the target and returns its reply (up to expect, or to
 * reply_end, a newline by default), or nil and the reason. A complete
 * reply that lacks expect is an answer at once, not a timeout. */
static int t_tcp(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	fl_larg_keys(L, 3, "tcp", fl_api_keys("t:tcp"));
	double timeout = fl_larg_seconds(L, 3, "timeout", 2);
	const char *expect = opt_string(L, 3, "expect");
	const char *reply_end = opt_string(L, 3, "reply_end");
	fl_probe_addr addr;
	char *unix_path;
	opt_addr(L, ctx, 3, "tcp", &addr, &unix_path);
	fl_lua_check_abort(L);
	char err[256];
	size_t rlen;
	char *reply = fl_probe_request(&addr, text, len, expect, reply_end,
				       (int64_t)(timeout * 1e9), &rlen, err,
				       sizeof err);
	free(unix_path);
	if (!reply) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	lua_pushlstring(L, reply, rlen);
	free(reply);
	return 1;
}

/* Pushes the headers of an HTTP reply as a table, names in lower case. */
static void push_headers(lua_State *L, const fl_probe_reply *rep)
{
	lua_newtable(L);
	const char *p = rep->headers, *end = rep->headers + rep->headers_len;
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(stop - p));
		if (colon) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (const char *q = p; q < colon; q++)
				luaL_addchar(&b, (char)tolower((unsigned char)*q));
			luaL_pushresult(&b);
			const char *v = colon + 1;
			while (v < stop && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = stop;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			lua_pushlstring(L, v, (size_t)(ve - v));
			lua_settable(L, -3);
		}
		p = eol ? eol + 1 : NULL;
	}
}

/* t:http(path, { port=, host=, unix=, http_host=, timeout= }): a GET on
 * the target. Returns status, body, headers (names in lower case), or nil
 * and the reason; any status is an answer, the script judges it. */
static int t_http(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *path = luaL_checkstring(L, 2);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	fl_larg_keys(L, 3, "http", fl_api_keys("t:http"));
	double timeout = fl_larg_seconds(L, 3, "timeout", 2);
	fl_probe p;
	memset(&p, 0, sizeof p);
	char *unix_path;
	opt_addr(L, ctx, 3, "http", &p.addr, &unix_path);
	p.http_path = path;
	p.http_host = opt_string(L, 3, "http_host");
	p.timeout_ns = (int64_t)(timeout * 1e9);
	char err[300];
	if (fl_probe_add_status(&p, 100, 599, err, sizeof err) < 0 ||
	    fl_probe_prepare(&p, err, sizeof err) < 0) {
		free(unix_path);
		return luaL_error(L, "http: %s", err);
	}
	fl_lua_check_abort(L);
	fl_probe_result r;
	fl_probe_reply rep;
	memset(&rep, 0, sizeof rep);
	int ok = fl_probe_fetch(&p, &r, &rep);
	fl_probe_release(&p);
	free(unix_path);
	if (!ok) {
		fl_probe_reply_free(&rep);
		lua_pushnil(L);
		lua_pushstring(L, r.detail);
		return 2;
	}
	lua_pushinteger(L, rep.status);
	lua_pushlstring(L, rep.data ? rep.data : "", rep.len);
	push_headers(L, &rep);
	fl_probe_reply_free(&rep);
	return 3;
}

/* t:port_named(name): the port that {port:name} expands to. */
static int t_port_named(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *name = luaL_checkstring(L, 2);
	int port = fl_ctx_named_port(ctx, name);
	if (port < 0)
		return luaL_error(L, "port_named: no port for '%s' (at most %d "
				     "names)",
				  name, FL_MAX_NAMED_PORTS);
	lua_pushinteger(L, port);
	return 1;
}

/* t:health(): runs the health probe now. Returns ok, detail, latency. */
static int t_health(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	if (ctx->cfg.health.kind == FL_HEALTH_NONE)
		return luaL_error(L, "health: the target has no health probe");
	fl_larg_need_running(L, ctx, "health");
	fl_health_result *r = fl_health_probe_now(ctx);
	lua_pushboolean(L, r->ok);
	lua_pushstring(L, r->detail);
	lua_pushnumber(L, (double)r->latency_ns / 1e9);
	return 3;
}

static const luaL_Reg methods[] = {
	{"start", t_start},
	{"stop", t_stop},
	{"restart", t_restart},
	{"sleep", t_sleep},
	{"settle", t_settle},
	{"wait_output", t_wait_output},
	{"wait_until", t_wait_until},
	{"wait_exit", t_wait_exit},
	{"signal", t_signal},
	{"setrlimit", t_setrlimit},
	{"sample", t_sample},
	{"processes", t_processes},
	{"baseline", t_baseline},
	{"health", t_health},
	{"now", t_now},
	{"quiesce", t_quiesce},
	{"port_named", t_port_named},
	{"tcp", t_tcp},
	{"http", t_http},
	{NULL, NULL},
};

/* Fields: t.port, t.pid, t.seed, t.tmpdir, t.name (api.c's list); then
 * the methods. */
static int t_index(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *k = luaL_checkstring(L, 2);
	switch (fl_api_target_field(k)) {
	case FL_FIELD_PORT:
		lua_pushinteger(L, ctx->port);
		break;
	case FL_FIELD_PID: {
		pid_t pid = fl_instance_pid(ctx);
		if (pid)
			lua_pushinteger(L, pid);
		else
			lua_pushnil(L);
		break;
	}
	case FL_FIELD_SEED:
		lua_pushinteger(L, (lua_Integer)ctx->cfg.seed);
		break;
	case FL_FIELD_TMPDIR:
		lua_pushstring(L, ctx->tmpdir);
		break;
	case FL_FIELD_NAME:
		lua_pushstring(L, ctx->cfg.name);
		break;
	default:
		lua_getmetatable(L, 1);
		lua_getfield(L, -1, "methods");
		lua_getfield(L, -1, k);
	}
	return 1;
}

static int t_tostring(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	lua_pushfstring(L, "target(%s)", ctx->cfg.name ? ctx->cfg.name : "?");
	return 1;
}

/* Every method's name, NULL-terminated. */
static const char *names_of_methods[64];

static void fill_method_names(void)
{
	const luaL_Reg *const lists[] = {methods, fl_lua_fault_methods,
					 fl_lua_expect_methods};
	size_t n = 0;
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (const luaL_Reg *r = lists[l]; r->name; r++) {
			if (n + 1 >= sizeof names_of_methods / sizeof names_of_methods[0])
				abort(); /* a bug: raise the array's size */
			names_of_methods[n++] = r->name;
		}
	names_of_methods[n] = NULL;
}

void fl_lua_open_target(lua_State *L)
{
	luaL_newmetatable(L, FL_TARGET_MT);
	luaL_newlib(L, methods);
	luaL_setfuncs(L, fl_lua_fault_methods, 0);
	luaL_setfuncs(L, fl_lua_expect_methods, 0);
	lua_setfield(L, -2, "methods");
	lua_pushcfunction(L, t_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, t_tostring);
	lua_setfield(L, -2, "__tostring");
	/* Scripts see the object, not its insides. */
	lua_pushliteral(L, "faultline.target");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
}

const char *const *fl_lua_target_methods(void)
{
	/* Built from the registrations themselves, so that faultline check
	 * knows exactly the methods a run has. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, fill_method_names);
	return names_of_methods;
}

void fl_lua_push_target(lua_State *L, fl_ctx *ctx)
{
	fl_target_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->ctx = ctx;
	luaL_setmetatable(L, FL_TARGET_MT);
}
