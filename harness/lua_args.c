/* Argument checking shared by the methods of the target object (lua_target.c,
 * lua_faults.c, lua_expect.c): option tables with known keys only, numbers
 * that make sense, the script's file:line, and what a cut-short wait
 * raises. Each raises a Lua error on a bad argument. */
#define _GNU_SOURCE
#include "lua_args.h"

#include "config.h"
#include "util.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

fl_ctx *fl_larg_target(lua_State *L)
{
	fl_target_ud *u = luaL_checkudata(L, 1, FL_TARGET_MT);
	return u->ctx;
}

/* Rejects option keys the method does not know: a typo ("prob" for "p")
 * must not pass silently. */
void fl_larg_keys(lua_State *L, int idx, const char *fname,
		       const char *const *allowed)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			luaL_error(L, "%s: option keys must be names", fname);
			return;
		}
		const char *k = lua_tostring(L, -1);
		int ok = 0;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (ok)
			continue;
		const char *dym = fl_config_did_you_mean(k, allowed);
		if (dym) {
			luaL_error(L, "%s: unknown option '%s' (did you mean "
				      "'%s'?)",
				   fname, k, dym);
			return;
		}
		fl_buf b;
		fl_buf_init(&b);
		for (int i = 0; allowed[i]; i++)
			fl_buf_printf(&b, "%s%s", i ? ", " : "", allowed[i]);
		char known[512];
		snprintf(known, sizeof known, "%s", b.data ? b.data : "none");
		fl_buf_free(&b);
		luaL_error(L, "%s: unknown option '%s' (known: %s)", fname, k,
			   known);
	}
}

/* A number option: finite, def when absent. */
double fl_larg_num(lua_State *L, int idx, const char *key, double def)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return def;
	lua_getfield(L, idx, key);
	double v = def;
	if (!lua_isnil(L, -1)) {
		if (!lua_isnumber(L, -1))
			luaL_error(L, "option '%s' must be a number (got %s)",
				   key, luaL_typename(L, -1));
		v = lua_tonumber(L, -1);
		if (!isfinite(v))
			luaL_error(L, "option '%s' must be a finite number", key);
	}
	lua_pop(L, 1);
	return v;
}

/* A duration option: finite and not negative. */
double fl_larg_seconds(lua_State *L, int idx, const char *key, double def)
{
	double v = fl_larg_num(L, idx, key, def);
	if (v < 0)
		luaL_error(L, "option '%s' must not be negative", key);
	return v;
}

double fl_larg_check_seconds(lua_State *L, int idx, const char *what)
{
	double s = luaL_checknumber(L, idx);
	if (s < 0 || !isfinite(s))
		luaL_error(L, "%s must be a finite number of seconds, not "
			      "negative",
			   what);
	return s;
}

double fl_larg_opt_seconds(lua_State *L, int idx, double def,
			      const char *what)
{
	if (lua_isnoneornil(L, idx))
		return def;
	return fl_larg_check_seconds(L, idx, what);
}

/* The script's file:line that called the method. */
void fl_larg_where(lua_State *L, char *out, size_t len)
{
	luaL_where(L, 1);
	snprintf(out, len, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	size_t n = strlen(out);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == ':'))
		out[--n] = '\0';
}

/* After a wait that was cut short: raises the watchdog's, interrupt's or
 * assert's error. */
void fl_larg_after_wait(lua_State *L, int r)
{
	if (r == -ECANCELED)
		fl_lua_check_abort(L);
}

void fl_larg_need_running(lua_State *L, fl_ctx *ctx, const char *what)
{
	if (!fl_ctx_target_live(ctx))
		luaL_error(L, "%s: the target is not running (call t:start())",
			   what);
}

/* A figure amount: a number, or a size like "4MiB" for a figure of
 * bytes. */
double fl_larg_amount(lua_State *L, int idx, enum fl_figure f,
			   const char *where_)
{
	double v;
	if (lua_type(L, idx) == LUA_TNUMBER)
		v = lua_tonumber(L, idx);
	else if (lua_type(L, idx) == LUA_TSTRING && fl_figures[f].bytes &&
		 fl_parse_bytes(lua_tostring(L, idx), &v) == 0)
		;
	else
		return luaL_error(L, "%s.%s must be a number%s", where_,
				  fl_figures[f].key,
				  fl_figures[f].bytes ? " or a size like '4MiB'"
						      : "");
	if (!isfinite(v))
		return luaL_error(L, "%s.%s must be finite", where_,
				  fl_figures[f].key);
	return v;
}

/* ------------------------------------------------------------------ */

int fl_larg_stream(lua_State *L, int idx, const char *fname)
{
	int streams = FL_STDOUT | FL_STDERR;
	if (lua_type(L, idx) != LUA_TTABLE)
		return streams;
	lua_getfield(L, idx, "stream");
	if (!lua_isnil(L, -1)) {
		const char *s = luaL_checkstring(L, -1);
		if (strcmp(s, "stdout") == 0)
			streams = FL_STDOUT;
		else if (strcmp(s, "stderr") == 0)
			streams = FL_STDERR;
		else if (strcmp(s, "any") != 0)
			luaL_error(L, "%s: stream must be stdout, stderr or any",
				   fname);
	}
	lua_pop(L, 1);
	return streams;
}

int fl_larg_bool(lua_State *L, int idx, const char *key)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return 0;
	lua_getfield(L, idx, key);
	int v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}
