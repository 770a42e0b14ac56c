/* The fault methods of the target object: opening and closing windows, the
 * agent's counts, and recovery after a window (t:expect_recovery,
 * t:episodes). */
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

static int parse_errno_value(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		if (!lua_isinteger(L, idx))
			luaL_error(L, "errno must be a whole number");
		lua_Integer e = lua_tointeger(L, idx);
		if (e <= 0 || e > 4095)
			luaL_error(L, "errno %d is out of range", (int)e);
		return (int)e;
	}
	const char *name = luaL_checkstring(L, idx);
	int e = fl_errno_from_name(name);
	if (e < 0)
		luaL_error(L, "unknown errno '%s' (use a name like \"EIO\" or a "
			      "number)",
			   name);
	return e;
}

static void copy_opt_string(lua_State *L, int idx, const char *key, char *out,
			    size_t outlen, const char *what)
{
	lua_getfield(L, idx, key);
	if (!lua_isnil(L, -1)) {
		if (!lua_isstring(L, -1))
			luaL_error(L, "%s: %s must be a string", what, key);
		size_t len;
		const char *v = lua_tolstring(L, -1, &len);
		if (len >= outlen)
			luaL_error(L, "%s: %s is too long", what, key);
		memcpy(out, v, len + 1);
	}
	lua_pop(L, 1);
}

/* fault.after = { point =, calls =, actor = } */
static void parse_after(lua_State *L, int a, fl_fault_spec *spec)
{
	luaL_checktype(L, a, LUA_TTABLE);
	fl_larg_keys(L, a, "fault.after", fl_api_keys("t:fault.after"));
	copy_opt_string(L, a, "point", spec->after_point,
			sizeof spec->after_point, "fault.after");
	if (!spec->after_point[0])
		luaL_error(L, "fault.after needs point = <name>");
	char why[256];
	if (fl_points_check(spec->after_point, why, sizeof why) < 0)
		luaL_error(L, "fault.after: %s", why);
	double calls = fl_larg_num(L, a, "calls", 0);
	if (calls < 1 || calls != floor(calls))
		luaL_error(L, "fault.after needs calls >= 1 (a whole number)");
	spec->after_n = (uint64_t)calls;
	copy_opt_string(L, a, "actor", spec->after_actor,
			sizeof spec->after_actor, "fault.after");
}

/* fault.on_output = "text" or { text =, stream =, regex = } */
static void parse_on_output(lua_State *L, int o, fl_output_trigger *out,
			    char *text, size_t len)
{
	out->streams = FL_STDOUT | FL_STDERR;
	if (lua_isstring(L, o)) {
		snprintf(text, len, "%s", lua_tostring(L, o));
	} else {
		luaL_checktype(L, o, LUA_TTABLE);
		fl_larg_keys(L, o, "fault.on_output",
			     fl_api_keys("t:fault.on_output"));
		copy_opt_string(L, o, "text", text, len, "fault.on_output");
		char stream[16] = "any";
		copy_opt_string(L, o, "stream", stream, sizeof stream,
				"fault.on_output");
		if (!strcmp(stream, "stdout"))
			out->streams = FL_STDOUT;
		else if (!strcmp(stream, "stderr"))
			out->streams = FL_STDERR;
		else if (strcmp(stream, "any"))
			luaL_error(L, "fault.on_output: stream must be stdout, "
				      "stderr or any");
		lua_getfield(L, o, "regex");
		out->regex = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	if (!text[0])
		luaL_error(L, "fault.on_output needs the text of a line");
	out->text = text;
}

/* optional = "why it may never fire": a non-empty reason. */
static void parse_optional(lua_State *L, int oidx, char *out, size_t len)
{
	out[0] = '\0';
	if (lua_type(L, oidx) != LUA_TTABLE)
		return;
	lua_getfield(L, oidx, "optional");
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TSTRING || !*lua_tostring(L, -1))
			luaL_error(L, "fault: optional must be the reason why "
				      "the window may never fire (a string)");
		snprintf(out, len, "%s", lua_tostring(L, -1));
	}
	lua_pop(L, 1);
}

/* Reads a fault's options. out (may be NULL) receives the on_output
 * trigger, its text in out_text. */
static void parse_fault(lua_State *L, int pidx, int oidx, fl_fault_spec *spec,
			fl_output_trigger *out, char *out_text, size_t out_len)
{
	const char *point = luaL_checkstring(L, pidx);
	memset(spec, 0, sizeof *spec);
	if (out)
		memset(out, 0, sizeof *out);
	if (strlen(point) >= sizeof spec->point)
		luaL_error(L, "fault: point name too long");
	char why[256];
	if (fl_points_check(point, why, sizeof why) < 0)
		luaL_error(L, "fault: %s", why);
	snprintf(spec->point, sizeof spec->point, "%s", point);
	if (!lua_isnoneornil(L, oidx))
		luaL_checktype(L, oidx, LUA_TTABLE);
	fl_larg_keys(L, oidx, "fault", fl_api_keys("t:fault"));
	spec->p = fl_larg_num(L, oidx, "p", 1.0);
	if (spec->p < 0 || spec->p > 1)
		luaL_error(L, "fault: p must be between 0 and 1 (got %f)",
			   spec->p);
	spec->failnum = (int)fl_larg_num(L, oidx, "failnum", 1);
	if (spec->failnum == 0)
		luaL_error(L, "fault: failnum must not be 0 (libfiu ignores it)");
	if (lua_type(L, oidx) != LUA_TTABLE)
		return;
	lua_getfield(L, oidx, "errno");
	if (!lua_isnil(L, -1))
		spec->err = parse_errno_value(L, lua_gettop(L));
	lua_pop(L, 1);
	lua_getfield(L, oidx, "onetime");
	spec->onetime = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, oidx, "nth");
	if (lua_type(L, -1) == LUA_TNUMBER)
		snprintf(spec->nth, sizeof spec->nth, "%lld",
			 (long long)lua_tointeger(L, -1));
	lua_pop(L, 1);
	if (!spec->nth[0])
		copy_opt_string(L, oidx, "nth", spec->nth, sizeof spec->nth,
				"fault");
	if (spec->nth[0] && fl_nth_check(spec->nth, why, sizeof why) < 0)
		luaL_error(L, "fault: %s", why);
	copy_opt_string(L, oidx, "actors", spec->actors, sizeof spec->actors,
			"fault");
	lua_getfield(L, oidx, "after");
	if (!lua_isnil(L, -1))
		parse_after(L, lua_gettop(L), spec);
	lua_pop(L, 1);
	lua_getfield(L, oidx, "on_output");
	if (!lua_isnil(L, -1)) {
		if (!out)
			luaL_error(L, "on_output is not available here");
		if (spec->after_point[0])
			luaL_error(L, "fault: after and on_output exclude each "
				      "other");
		parse_on_output(L, lua_gettop(L), out, out_text, out_len);
	}
	lua_pop(L, 1);
}

/* t:fault(point, { p=, errno=, onetime=, failnum=, nth=, actors=, after=,
 * on_output= }): opens a fault window on a point, now or when its
 * trigger fires. */
static int t_fault(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_fault_spec spec;
	fl_output_trigger out;
	char text[256] = "";
	parse_fault(L, 2, 3, &spec, &out, text, sizeof text);
	char optional[200];
	parse_optional(L, 3, optional, sizeof optional);
	char why[300];
	if (fl_points_check_declared(spec.point, ctx->declared, ctx->ndeclared,
				     why, sizeof why) < 0)
		return luaL_error(L, "fault: %s", why);
	/* Before t:start() the window holds from the target's first
	 * instruction. */
	char err[512];
	if (fl_windows_open(ctx, &spec, out.text ? &out : NULL,
			    optional[0] ? optional : NULL, err, sizeof err) < 0)
		return luaL_error(L, "fault %s: %s", spec.point, err);
	return 0;
}

/* t:clear([point]): closes the window of one point, or of all. */
static int t_clear(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	const char *point = luaL_optstring(L, 2, NULL);
	char err[512];
	if (fl_windows_close(ctx, point, err, sizeof err) < 0)
		return luaL_error(L, "clear: %s", err);
	return 0;
}

/* t:stats(): per point, the calls seen and faults fired so far. */
static int t_stats(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_larg_need_running(L, ctx, "stats");
	fl_point_stats *ps;
	char err[256];
	int n = fl_windows_stats(ctx, &ps, err, sizeof err);
	if (n < 0)
		return luaL_error(L, "stats: %s", err);
	lua_createtable(L, 0, n);
	for (int i = 0; i < n; i++) {
		lua_createtable(L, 0, 2);
		lua_pushinteger(L, (lua_Integer)ps[i].calls);
		lua_setfield(L, -2, "calls");
		lua_pushinteger(L, (lua_Integer)ps[i].fired);
		lua_setfield(L, -2, "fired");
		lua_setfield(L, -2, ps[i].point);
	}
	free(ps);
	return 1;
}

/* t:close_mode("linux" | "libfiu"): how an injected close() failure
 * treats the fd from now on. */
static int t_close_mode(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	static const char *const modes[] = {"linux", "libfiu", NULL};
	int m = luaL_checkoption(L, 2, NULL, modes);
	fl_larg_need_running(L, ctx, "close_mode");
	char err[256];
	if (fl_windows_set_close_mode(ctx, modes[m], err, sizeof err) < 0)
		return luaL_error(L, "close_mode: %s", err);
	return 0;
}


/* Waits for the latest episode's recovery; raises on misuse. */
static void wait_recovery(lua_State *L, fl_ctx *ctx, double within,
			  double hold, fl_recovery *rec)
{
	int r = fl_wait_recovery(ctx, within, (int64_t)(hold * 1e9), rec);
	fl_larg_after_wait(L, r);
	if (r == -ENOENT)
		luaL_error(L, "no fault window to recover from (call t:fault() "
			      "and t:clear() first)");
	if (r == -EBUSY)
		luaL_error(L, "the fault window is still open (call t:clear() "
			      "before t:expect_recovery())");
	if (r == -ENODATA)
		luaL_error(L, "no baseline to recover to");
}

/* t:expect_recovery{ within = s, hold = s }: after t:clear(), waits
 * until the steady state holds again for the hold period, and fails the
 * expectation if that takes longer than within. Returns ok, seconds. */
static int t_expect_recovery(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	fl_larg_keys(L, 2, "expect_recovery", fl_api_keys("t:expect_recovery"));
	double within = fl_larg_num(L, 2, "within", -1);
	double hold = fl_larg_seconds(L, 2, "hold", (double)ctx->cfg.hold_ns / 1e9);
	if (within < 0 && lua_type(L, 2) == LUA_TTABLE)
		return luaL_error(L, "expect_recovery: within must be given "
				     "(seconds, not negative)");
	if (within < 0)
		within = 5.0;
	fl_recovery rec;
	wait_recovery(L, ctx, within, hold, &rec);
	char w[256];
	fl_larg_where(L, w, sizeof w);
	int ok = fl_expect_recovery(ctx, w, &rec, within);
	lua_pushboolean(L, ok);
	if (ok)
		lua_pushnumber(L, (double)rec.recovery_ns / 1e9);
	else
		lua_pushnil(L);
	return 2;
}

/* Pushes { recovered, failed, mean, p50, p95, max }. */
static void push_mttr(lua_State *L, int nrec, int failures, const fl_mttr *m)
{
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, nrec);
	lua_setfield(L, -2, "recovered");
	lua_pushinteger(L, failures);
	lua_setfield(L, -2, "failed");
	if (!nrec)
		return;
	lua_pushnumber(L, m->mean_s);
	lua_setfield(L, -2, "mean");
	lua_pushnumber(L, m->p50_s);
	lua_setfield(L, -2, "p50");
	lua_pushnumber(L, m->p95_s);
	lua_setfield(L, -2, "p95");
	lua_pushnumber(L, m->max_s);
	lua_setfield(L, -2, "max");
}

/* t:episodes{ point=, p=, errno=, onetime=, count=, on=, off=, within=,
 * hold= }: count fault windows of `on` seconds, each followed by a
 * recovery check and a quiet period of `off` seconds. Returns the MTTR
 * figures of these episodes. */
static int t_episodes(lua_State *L)
{
	fl_ctx *ctx = fl_larg_target(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	fl_larg_keys(L, 2, "episodes", fl_api_keys("t:episodes"));
	lua_getfield(L, 2, "point");
	int pidx = lua_gettop(L);
	/* parse_fault reads the fault's options from a table of their own;
	 * the other keys are the episodes'. */
	fl_fault_spec spec;
	lua_newtable(L);
	int o = lua_gettop(L);
	static const char *const fk[] = {"p",	   "errno",  "onetime",
					 "failnum", "nth",    "actors",
					 "optional", NULL};
	for (int i = 0; fk[i]; i++) {
		lua_getfield(L, 2, fk[i]);
		lua_setfield(L, o, fk[i]);
	}
	parse_fault(L, pidx, o, &spec, NULL, NULL, 0);
	char optional[200];
	parse_optional(L, o, optional, sizeof optional);
	double count_d = fl_larg_num(L, 2, "count", 5);
	double on = fl_larg_num(L, 2, "on", 0.5);
	double off = fl_larg_num(L, 2, "off", 1.0);
	double within = fl_larg_seconds(L, 2, "within", off);
	double hold = fl_larg_seconds(L, 2, "hold", (double)ctx->cfg.hold_ns / 1e9);
	if (count_d < 1 || count_d > 100000 || on <= 0 || off < 0)
		return luaL_error(L, "episodes: count >= 1, on > 0 and off >= 0");
	int count = (int)count_d;
	fl_larg_need_running(L, ctx, "episodes");
	char w[256];
	fl_larg_where(L, w, sizeof w);
	int64_t *times = lua_newuserdatauv(L, (size_t)count * sizeof *times, 0);
	int nrec = 0, failures = 0;
	for (int i = 0; i < count; i++) {
		char err[512];
		if (fl_windows_open(ctx, &spec, NULL,
				    optional[0] ? optional : NULL, err,
				    sizeof err) < 0)
			return luaL_error(L, "episodes: %s", err);
		fl_larg_after_wait(L, fl_wait(ctx, fl_now_ns() + (int64_t)(on * 1e9), 0));
		if (fl_windows_close(ctx, spec.point, err, sizeof err) < 0)
			return luaL_error(L, "episodes: %s", err);
		int64_t quiet_end = fl_now_ns() + (int64_t)(off * 1e9);
		fl_recovery rec;
		wait_recovery(L, ctx, within, hold, &rec);
		if (rec.state == FL_RECOVERY_OK) {
			times[nrec++] = rec.recovery_ns;
		} else {
			fl_expect_episode_failed(ctx, w, i + 1, count, &rec,
						 within);
			failures++;
		}
		if (fl_now_ns() < quiet_end)
			fl_larg_after_wait(L, fl_wait(ctx, quiet_end, 0));
	}
	fl_mttr m;
	fl_judge_mttr(times, (size_t)nrec, &m);
	if (failures == 0)
		fl_expect_episodes_held(ctx, w, count, &m, within);
	push_mttr(L, nrec, failures, &m);
	return 1;
}


const luaL_Reg fl_lua_fault_methods[] = {
	{"fault", t_fault},
	{"clear", t_clear},
	{"stats", t_stats},
	{"close_mode", t_close_mode},
	{"expect_recovery", t_expect_recovery},
	{"episodes", t_episodes},
	{NULL, NULL},
};
