/* The expectation methods of the target object: t:expect{...} and its
 * parts, t:check, t:assert, t:fail, t:log. */
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

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Reads { fds =, threads =, rss =, files =, procs = } at idx into amounts
 * (NAN for the figures not named); with per_process, also per = "tree" or
 * "process". */
static void figure_amounts(lua_State *L, int idx, const char *what,
			   double amounts[FL_FIG_COUNT], int *per_process)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	/* what is "expect.leaked" or "expect.peak": the API table "t:" what. */
	char table[64];
	snprintf(table, sizeof table, "t:%s", what);
	fl_larg_keys(L, idx, what, fl_api_keys(table));
	if (per_process) {
		*per_process = 0;
		lua_getfield(L, idx, "per");
		if (!lua_isnil(L, -1) &&
		    (lua_type(L, -1) != LUA_TSTRING ||
		     fl_config_per_process(lua_tostring(L, -1), per_process) < 0))
			luaL_error(L, "%s.per must be \"tree\" or \"process\"",
				   what);
		lua_pop(L, 1);
	}
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		amounts[f] = NAN;
		lua_getfield(L, idx, fl_figures[f].key);
		if (!lua_isnil(L, -1))
			amounts[f] = fl_larg_amount(L, lua_gettop(L), f, what);
		lua_pop(L, 1);
	}
}

/* Parses a rate: "1MiB/s", "512KiB/s", "2/s", "30/min", or a number (per
 * second). Returns 0 or -1. */
static int parse_rate(lua_State *L, int idx, int bytes, double *per_s)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		*per_s = lua_tonumber(L, idx);
		return isfinite(*per_s) ? 0 : -1;
	}
	if (lua_type(L, idx) != LUA_TSTRING)
		return -1;
	char buf[64];
	snprintf(buf, sizeof buf, "%s", lua_tostring(L, idx));
	char *slash = strchr(buf, '/');
	double div = 1;
	if (slash) {
		if (!strcmp(slash, "/s"))
			div = 1;
		else if (!strcmp(slash, "/min"))
			div = 60;
		else if (!strcmp(slash, "/h"))
			div = 3600;
		else
			return -1;
		*slash = '\0';
	}
	double v;
	if (bytes) {
		if (fl_parse_bytes(buf, &v) < 0)
			return -1;
	} else {
		char *end;
		v = strtod(buf, &end);
		if (end == buf || *end)
			return -1;
	}
	*per_s = v / div;
	return isfinite(*per_s) ? 0 : -1;
}

/* expect.trend = { rss = "1MiB/s", fds = "2/s", threads =, files =,
 * window = s } */
static void expect_trend(lua_State *L, fl_ctx *ctx, int tidx, const char *w)
{
	luaL_checktype(L, tidx, LUA_TTABLE);
	fl_larg_keys(L, tidx, "expect.trend", fl_api_keys("t:expect.trend"));
	double window = fl_larg_num(L, tidx, "window", -1);
	double allowed[FL_FIG_COUNT];
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		allowed[f] = NAN;
		lua_getfield(L, tidx, fl_figures[f].key);
		if (!lua_isnil(L, -1) &&
		    parse_rate(L, lua_gettop(L), fl_figures[f].bytes,
			       &allowed[f]) < 0)
			luaL_error(L, "expect.trend.%s must be a rate like %s",
				   fl_figures[f].key,
				   fl_figures[f].bytes
					   ? "\"1MiB/s\" or \"10MiB/min\""
					   : "\"2/s\" or \"30/min\"");
		lua_pop(L, 1);
	}
	char err[256];
	if (fl_expect_trends(ctx, w, allowed, window, err, sizeof err) < 0)
		luaL_error(L, "expect: %s", err);
}

/* t:expect{ exit=, signal=, pid=, leaked={...}, peak={...}, trend={...},
 * survived=true, steady=true }: checks the end state. Every failed
 * expectation is recorded (the run goes on); returns true if all held. */
static int t_expect(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	fl_larg_keys(L, 2, "expect", fl_api_keys("t:expect"));
	if (!ctx->inst || !ctx->inst->sess)
		return luaL_error(L, "expect: the target was never started");
	int before = ctx->nexpects;
	char w[256], err[256];
	fl_larg_where(L, w, sizeof w);
	double amounts[FL_FIG_COUNT];

	lua_getfield(L, 2, "leaked");
	if (!lua_isnil(L, -1)) {
		int per_process;
		figure_amounts(L, lua_gettop(L), "expect.leaked", amounts,
			       &per_process);
		if (fl_expect_leaks(ctx, w, amounts, per_process, err,
				    sizeof err) < 0)
			return luaL_error(L, "expect: %s", err);
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "peak");
	if (!lua_isnil(L, -1)) {
		figure_amounts(L, lua_gettop(L), "expect.peak", amounts, NULL);
		if (fl_expect_peaks(ctx, w, amounts, err, sizeof err) < 0)
			return luaL_error(L, "expect: %s", err);
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "trend");
	if (!lua_isnil(L, -1))
		expect_trend(L, ctx, lua_gettop(L), w);
	lua_pop(L, 1);
	/* pid = N: exit and signal judge that process of the tree (one of
	 * t:processes()) instead of the first. */
	lua_getfield(L, 2, "pid");
	pid_t pid = lua_isnil(L, -1) ? 0 : (pid_t)luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	if (pid == fl_instance_pid(ctx))
		pid = 0;
	lua_getfield(L, 2, "exit");
	if (!lua_isnil(L, -1) && pid)
		fl_expect_process_end(ctx, w, pid, 0,
				      (long long)luaL_checkinteger(L, -1));
	else if (!lua_isnil(L, -1))
		fl_expect_exit(ctx, w, (long long)luaL_checkinteger(L, -1));
	lua_pop(L, 1);
	lua_getfield(L, 2, "signal");
	if (!lua_isnil(L, -1)) {
		int want = fl_signal_from_name(luaL_checkstring(L, -1));
		if (want < 0)
			return luaL_error(L, "expect: unknown signal '%s'",
					  lua_tostring(L, -1));
		if (pid)
			fl_expect_process_end(ctx, w, pid, want, 0);
		else
			fl_expect_signal(ctx, w, want);
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "survived");
	if (lua_toboolean(L, -1))
		fl_expect_survived(ctx, w);
	lua_pop(L, 1);
	lua_getfield(L, 2, "steady");
	if (lua_toboolean(L, -1) &&
	    fl_expect_steady(ctx, w, err, sizeof err) < 0)
		return luaL_error(L, "expect: %s", err);
	lua_pop(L, 1);

	int all = 1;
	for (int i = before; i < ctx->nexpects; i++)
		all &= ctx->expects[i].ok;
	lua_pushboolean(L, all);
	return 1;
}

/* t:expect_steady(): the steady state holds right now. */
static int t_expect_steady(lua_State *L)
{
	fl_larg_target(L);
	lua_settop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "steady");
	return t_expect(L);
}

static const char *message_arg(lua_State *L, int idx, const char *def)
{
	if (lua_isnoneornil(L, idx))
		return def;
	return luaL_tolstring(L, idx, NULL);
}

/* t:check(cond, message): records an expectation; the run goes on. */
static int t_check(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	luaL_checkany(L, 2);
	int ok = lua_toboolean(L, 2);
	const char *msg = message_arg(L, 3, "check failed");
	char w[256];
	fl_larg_where(L, w, sizeof w);
	fl_ctx_expect(ctx, w, "check", ok, ok ? "true" : "false", "true", msg);
	lua_pushboolean(L, ok);
	return 1;
}

/* t:assert(cond, message): like check, but a failure ends the run (the
 * verdict is FAIL, not ERROR). */
static int t_assert(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	luaL_checkany(L, 2);
	if (lua_toboolean(L, 2)) {
		lua_settop(L, 2);
		return 1;
	}
	const char *msg = message_arg(L, 3, "assertion failed");
	char w[256];
	fl_larg_where(L, w, sizeof w);
	fl_ctx_expect(ctx, w, "assert", 0, "false", "true", msg);
	fl_lua_abort_assert(L);
	return luaL_error(L, "%s", msg);
}

/* t:fail(message): fails the scenario and ends the run. */
static int t_fail(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *msg = message_arg(L, 2, "failed");
	char w[256];
	fl_larg_where(L, w, sizeof w);
	fl_ctx_expect(ctx, w, "fail", 0, "", "", msg);
	fl_lua_abort_assert(L);
	return luaL_error(L, "%s", msg);
}

static int t_log(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_buf b;
	fl_buf_init(&b);
	int n = lua_gettop(L);
	for (int i = 2; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 2)
			fl_buf_putc(&b, ' ');
		fl_buf_append(&b, s, len);
		lua_pop(L, 1);
	}
	fl_ctx_log(ctx, "%s", b.data ? b.data : "");
	fl_buf_free(&b);
	return 0;
}


const luaL_Reg fl_lua_expect_methods[] = {
	{"expect", t_expect},
	{"expect_steady", t_expect_steady},
	{"check", t_check},
	{"assert", t_assert},
	{"fail", t_fail},
	{"log", t_log},
	{NULL, NULL},
};
