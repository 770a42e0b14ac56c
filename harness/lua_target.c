/* The object a scenario's run(t) receives: the target under test, the
 * faults, the clock and the expectations. One C file for the one
 * Lua-facing type, in the luaL_Reg pattern. */
#define _GNU_SOURCE
#include "ctx.h"
#include "forensics.h"
#include "monitor.h"
#include "points.h"
#include "probe.h"
#include "util.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define TARGET_MT "faultline.target"

typedef struct {
	fl_ctx *ctx;
} target_ud;

static fl_ctx *check_target(lua_State *L)
{
	target_ud *u = luaL_checkudata(L, 1, TARGET_MT);
	return u->ctx;
}

/* Rejects option keys the method does not know: a typo ("prob" for "p")
 * must not pass silently. */
static void check_keys(lua_State *L, int idx, const char *fname,
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
		if (!ok) {
			fl_buf b;
			fl_buf_init(&b);
			for (int i = 0; allowed[i]; i++)
				fl_buf_printf(&b, "%s%s", i ? ", " : "",
					      allowed[i]);
			char known[512];
			snprintf(known, sizeof known, "%s", b.data ? b.data : "none");
			fl_buf_free(&b);
			luaL_error(L, "%s: unknown option '%s' (known: %s)", fname,
				   k, known);
		}
	}
}

static double opt_num(lua_State *L, int idx, const char *key, double def)
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
	}
	lua_pop(L, 1);
	return v;
}

static double check_seconds(lua_State *L, int idx, const char *what)
{
	double s = luaL_checknumber(L, idx);
	if (s < 0 || isnan(s))
		luaL_error(L, "%s must not be negative", what);
	return s;
}

static void push_sample(lua_State *L, const fl_sample *s)
{
	lua_createtable(L, 0, 5);
	if (s->files >= 0) {
		lua_pushinteger(L, s->files);
		lua_setfield(L, -2, "files");
	}
	lua_pushnumber(L, (double)s->t_ns / 1e9);
	lua_setfield(L, -2, "t");
	lua_pushinteger(L, s->fds);
	lua_setfield(L, -2, "fds");
	lua_pushinteger(L, s->threads);
	lua_setfield(L, -2, "threads");
	lua_pushinteger(L, s->rss);
	lua_setfield(L, -2, "rss");
}

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

static fl_instance *need_running(lua_State *L, fl_ctx *ctx, const char *what)
{
	fl_instance *in = ctx->inst;
	if (!in || !in->running || !in->sess)
		luaL_error(L, "%s: the target is not running (call t:start())",
			   what);
	return in;
}

/* t:start(): starts the target (done before run() unless autostart is
 * false) and waits until it is ready. */
static int t_start(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	char err[1024];
	if (fl_ctx_start(ctx, err, sizeof err) < 0)
		return luaL_error(L, "%s", err);
	return 0;
}

static int t_stop(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	static const char *const keys[] = {"grace", "signal", NULL};
	check_keys(L, 2, "stop", keys);
	double grace = opt_num(L, 2, "grace", ctx->stop_grace_s);
	int sig = ctx->stop_signal;
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_getfield(L, 2, "signal");
		if (!lua_isnil(L, -1)) {
			sig = fl_signal_from_name(luaL_checkstring(L, -1));
			if (sig < 0)
				return luaL_error(L, "stop: unknown signal '%s'",
						  lua_tostring(L, -1));
		}
		lua_pop(L, 1);
	}
	if (!ctx->inst)
		return luaL_error(L, "stop: the target was never started");
	fl_ctx_stop(ctx, sig, grace);
	push_exit(L, &ctx->inst->sess->exit);
	return 1;
}

static int t_restart(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	static const char *const keys[] = {"grace", NULL};
	check_keys(L, 2, "restart", keys);
	double grace = opt_num(L, 2, "grace", ctx->stop_grace_s);
	if (ctx->inst && ctx->inst->running)
		fl_ctx_stop(ctx, ctx->stop_signal, grace);
	char err[1024];
	if (fl_ctx_start(ctx, err, sizeof err) < 0)
		return luaL_error(L, "%s", err);
	return 0;
}

static int t_sleep(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	double s = check_seconds(L, 2, "sleep time");
	fl_ctx_wait(ctx, fl_now_ns() + (int64_t)(s * 1e9), 0);
	return 0;
}

static void push_baseline(lua_State *L, const fl_baseline *b)
{
	lua_createtable(L, 0, 5);
	lua_pushnumber(L, b->fds);
	lua_setfield(L, -2, "fds");
	lua_pushnumber(L, b->threads);
	lua_setfield(L, -2, "threads");
	lua_pushnumber(L, b->rss);
	lua_setfield(L, -2, "rss");
	lua_pushinteger(L, (lua_Integer)b->samples);
	lua_setfield(L, -2, "samples");
	if (b->files >= 0) {
		lua_pushnumber(L, b->files);
		lua_setfield(L, -2, "files");
	}
	lua_pushnumber(L, (double)b->to_ns / 1e9);
	lua_setfield(L, -2, "t");
}

/* t:settle(seconds): waits, then takes the baseline (medians) over that
 * window. Returns the baseline. */
static int t_settle(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	double s = luaL_optnumber(L, 2, 0.5);
	if (s <= 0)
		return luaL_error(L, "settle: the window must be positive");
	need_running(L, ctx, "settle");
	fl_ctx_wait(ctx, fl_now_ns() + (int64_t)(s * 1e9), 0);
	char err[256];
	if (fl_ctx_take_baseline(ctx, (int64_t)(s * 1e9), err, sizeof err) < 0)
		return luaL_error(L, "settle: %s", err);
	push_baseline(L, &ctx->base);
	return 1;
}

static int parse_errno_value(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		int e = (int)lua_tointeger(L, idx);
		if (e <= 0 || e > 4095)
			luaL_error(L, "errno %d is out of range", e);
		return e;
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

/* Reads a fault's options. out_text (may be NULL) receives the on_output
 * trigger. */
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
	static const char *const keys[] = {"p",	     "errno", "onetime",
					   "failnum", "nth",   "actors",
					   "after",   "on_output", NULL};
	if (!lua_isnoneornil(L, oidx))
		luaL_checktype(L, oidx, LUA_TTABLE);
	check_keys(L, oidx, "fault", keys);
	spec->p = opt_num(L, oidx, "p", 1.0);
	if (spec->p < 0 || spec->p > 1)
		luaL_error(L, "fault: p must be between 0 and 1 (got %f)",
			   spec->p);
	spec->failnum = (int)opt_num(L, oidx, "failnum", 1);
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
	if (!lua_isnil(L, -1)) {
		int a = lua_gettop(L);
		luaL_checktype(L, a, LUA_TTABLE);
		static const char *const akeys[] = {"point", "calls", "actor",
						    NULL};
		check_keys(L, a, "fault.after", akeys);
		copy_opt_string(L, a, "point", spec->after_point,
				sizeof spec->after_point, "fault.after");
		if (!spec->after_point[0])
			luaL_error(L, "fault.after needs point = <name>");
		if (fl_points_check(spec->after_point, why, sizeof why) < 0)
			luaL_error(L, "fault.after: %s", why);
		double calls = opt_num(L, a, "calls", 0);
		if (calls < 1)
			luaL_error(L, "fault.after needs calls >= 1");
		spec->after_n = (uint64_t)calls;
		copy_opt_string(L, a, "actor", spec->after_actor,
				sizeof spec->after_actor, "fault.after");
	}
	lua_pop(L, 1);
	lua_getfield(L, oidx, "on_output");
	if (!lua_isnil(L, -1)) {
		if (!out)
			luaL_error(L, "on_output is not available here");
		if (spec->after_point[0])
			luaL_error(L, "fault: after and on_output exclude each "
				      "other");
		out->streams = FL_STDOUT | FL_STDERR;
		if (lua_isstring(L, -1)) {
			snprintf(out_text, out_len, "%s", lua_tostring(L, -1));
		} else {
			int o = lua_gettop(L);
			luaL_checktype(L, o, LUA_TTABLE);
			static const char *const okeys[] = {"text", "stream",
							    "regex", NULL};
			check_keys(L, o, "fault.on_output", okeys);
			copy_opt_string(L, o, "text", out_text, out_len,
					"fault.on_output");
			char stream[16] = "any";
			copy_opt_string(L, o, "stream", stream, sizeof stream,
					"fault.on_output");
			if (!strcmp(stream, "stdout"))
				out->streams = FL_STDOUT;
			else if (!strcmp(stream, "stderr"))
				out->streams = FL_STDERR;
			else if (strcmp(stream, "any"))
				luaL_error(L, "fault.on_output: stream must be "
					      "stdout, stderr or any");
			lua_getfield(L, o, "regex");
			out->regex = lua_toboolean(L, -1);
			lua_pop(L, 1);
		}
		if (!out_text[0])
			luaL_error(L, "fault.on_output needs the text of a line");
		out->text = out_text;
	}
	lua_pop(L, 1);
}

/* t:fault(point, { p=, errno=, onetime=, failnum=, nth=, actors=, after=,
 * on_output= }): opens a fault window on a point, now or when its
 * trigger fires. */
static int t_fault(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	fl_fault_spec spec;
	fl_output_trigger out;
	char text[256] = "";
	parse_fault(L, 2, 3, &spec, &out, text, sizeof text);
	char why[300];
	if (fl_points_check_declared(spec.point, ctx->declared, ctx->ndeclared,
				     why, sizeof why) < 0)
		return luaL_error(L, "fault: %s", why);
	/* Before t:start() the window is open from the target's first
	 * instruction. */
	char err[512];
	if (fl_ctx_open_window(ctx, &spec, out.text ? &out : NULL, err,
			       sizeof err) < 0)
		return luaL_error(L, "fault %s: %s", spec.point, err);
	return 0;
}

/* t:clear([point]): closes the window of one point, or of all. */
static int t_clear(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *point = luaL_optstring(L, 2, NULL);
	char err[512];
	if (fl_ctx_close_windows(ctx, point, err, sizeof err) < 0)
		return luaL_error(L, "clear: %s", err);
	return 0;
}

static void fmt_recovery_failure(fl_ctx *ctx, const fl_recovery *rec,
				 double within, char *out, size_t len)
{
	fl_episode *e = &ctx->episodes[ctx->nepisodes - 1];
	snprintf(out, len,
		 "not recovered within %.2f s after the fault window on %s "
		 "(%.2f s to %.2f s): %s",
		 within, e->points, (double)e->on_ns / 1e9,
		 (double)e->off_ns / 1e9, rec->why);
}

/* t:expect_recovery{ within = s, hold = s }: after t:clear(), waits
 * until the steady state holds again for the hold period, and fails the
 * expectation if that takes longer than within. Returns ok, seconds. */
static int t_expect_recovery(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	static const char *const keys[] = {"within", "hold", NULL};
	check_keys(L, 2, "expect_recovery", keys);
	double within = opt_num(L, 2, "within", -1);
	double hold = opt_num(L, 2, "hold", (double)ctx->hold_ns / 1e9);
	if (within < 0 && lua_type(L, 2) == LUA_TTABLE)
		return luaL_error(L, "expect_recovery: within must be given");
	if (within < 0)
		within = 5.0;
	fl_recovery rec;
	fl_ctx_judge_recovery(ctx, L, within, (int64_t)(hold * 1e9), &rec);
	char msg[600], measured[64], allowed[64];
	int ok = rec.state == FL_RECOVERY_OK;
	if (ok) {
		snprintf(measured, sizeof measured, "%.3f s",
			 (double)rec.recovery_ns / 1e9);
		snprintf(msg, sizeof msg, "recovered in %.3f s (allowed %.2f s)",
			 (double)rec.recovery_ns / 1e9, within);
	} else {
		snprintf(measured, sizeof measured, "not recovered");
		fmt_recovery_failure(ctx, &rec, within, msg, sizeof msg);
	}
	snprintf(allowed, sizeof allowed, "%.3f s", within);
	fl_ctx_expect(ctx, L, "recovery", ok, measured, allowed, msg);
	lua_pushboolean(L, ok);
	if (ok)
		lua_pushnumber(L, (double)rec.recovery_ns / 1e9);
	else
		lua_pushnil(L);
	return 2;
}

/* t:episodes{ point=, p=, errno=, onetime=, count=, on=, off=, within=,
 * hold= }: count fault windows of `on` seconds, each followed by a
 * recovery check and a quiet period of `off` seconds. Returns the MTTR
 * figures of these episodes. */
static int t_episodes(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	static const char *const keys[] = {"point", "p",     "errno",  "onetime",
					   "failnum", "nth", "actors", "count",
					   "on",    "off",   "within", "hold",
					   NULL};
	check_keys(L, 2, "episodes", keys);
	lua_getfield(L, 2, "point");
	int pidx = lua_gettop(L);
	/* parse_fault reads p, errno, onetime, failnum from the same table;
	 * the other keys are ours. */
	fl_fault_spec spec;
	{
		lua_newtable(L);
		int o = lua_gettop(L);
		static const char *const fk[] = {"p", "errno", "onetime",
						 "failnum", "nth", "actors",
						 NULL};
		for (int i = 0; fk[i]; i++) {
			lua_getfield(L, 2, fk[i]);
			lua_setfield(L, o, fk[i]);
		}
		parse_fault(L, pidx, o, &spec, NULL, NULL, 0);
	}
	int count = (int)opt_num(L, 2, "count", 5);
	double on = opt_num(L, 2, "on", 0.5);
	double off = opt_num(L, 2, "off", 1.0);
	double within = opt_num(L, 2, "within", off);
	double hold = opt_num(L, 2, "hold", (double)ctx->hold_ns / 1e9);
	if (count < 1 || on <= 0 || off < 0)
		return luaL_error(L, "episodes: count >= 1, on > 0 and off >= 0");
	need_running(L, ctx, "episodes");
	int64_t *times = fl_xmalloc((size_t)count * sizeof *times);
	int nrec = 0, failures = 0;
	for (int i = 0; i < count; i++) {
		char err[512];
		if (fl_ctx_open_window(ctx, &spec, NULL, err, sizeof err) < 0) {
			free(times);
			return luaL_error(L, "episodes: %s", err);
		}
		fl_ctx_wait(ctx, fl_now_ns() + (int64_t)(on * 1e9), 0);
		if (fl_ctx_close_windows(ctx, spec.point, err, sizeof err) < 0) {
			free(times);
			return luaL_error(L, "episodes: %s", err);
		}
		int64_t quiet_end = fl_now_ns() + (int64_t)(off * 1e9);
		fl_recovery rec;
		fl_ctx_judge_recovery(ctx, L, within, (int64_t)(hold * 1e9),
				      &rec);
		if (rec.state == FL_RECOVERY_OK) {
			times[nrec++] = rec.recovery_ns;
		} else {
			char msg[600];
			fmt_recovery_failure(ctx, &rec, within, msg, sizeof msg);
			char ep[700];
			snprintf(ep, sizeof ep, "episode %d of %d: %s", i + 1,
				 count, msg);
			char allowed[32];
			snprintf(allowed, sizeof allowed, "%.3f s", within);
			fl_ctx_expect(ctx, L, "recovery", 0, "not recovered",
				      allowed, ep);
			failures++;
		}
		if (fl_now_ns() < quiet_end)
			fl_ctx_wait(ctx, quiet_end, 0);
	}
	fl_mttr m;
	fl_judge_mttr(times, (size_t)nrec, &m);
	free(times);
	if (failures == 0) {
		char msg[200], measured[64], allowed[64];
		snprintf(msg, sizeof msg,
			 "%d episodes recovered: MTTR %.3f s (p95 %.3f s, max "
			 "%.3f s, allowed %.2f s)",
			 count, m.mean_s, m.p95_s, m.max_s, within);
		snprintf(measured, sizeof measured, "max %.3f s", m.max_s);
		snprintf(allowed, sizeof allowed, "%.3f s", within);
		fl_ctx_expect(ctx, L, "recovery", 1, measured, allowed, msg);
	}
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, nrec);
	lua_setfield(L, -2, "recovered");
	lua_pushinteger(L, failures);
	lua_setfield(L, -2, "failed");
	if (nrec) {
		lua_pushnumber(L, m.mean_s);
		lua_setfield(L, -2, "mean");
		lua_pushnumber(L, m.p50_s);
		lua_setfield(L, -2, "p50");
		lua_pushnumber(L, m.p95_s);
		lua_setfield(L, -2, "p95");
		lua_pushnumber(L, m.max_s);
		lua_setfield(L, -2, "max");
	}
	return 1;
}

/* The first line of the captured output that the waiter would match. */
static char *find_in_tail(fl_session *sess, const fl_waiter *w)
{
	static const int streams[2] = {FL_STDOUT, FL_STDERR};
	for (int k = 0; k < 2; k++) {
		if (!(w->streams & streams[k]))
			continue;
		char *tail = fl_stream_tail(sess, streams[k], NULL);
		char *save = NULL;
		for (char *line = strtok_r(tail, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			int hit = w->is_regex
					  ? regexec(&w->re, line, 0, NULL, 0) == 0
					  : strstr(line, w->text) != NULL;
			if (hit) {
				char *copy = fl_xstrdup(line);
				free(tail);
				return copy;
			}
		}
		free(tail);
	}
	return NULL;
}

/* t:wait_output(text, { stream=, regex=, timeout= }): waits for a line of
 * output containing text (from now on). Returns the line, or nil on
 * timeout. */
static int t_wait_output(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *text = luaL_checkstring(L, 2);
	static const char *const keys[] = {"stream", "regex", "timeout", "past",
					   NULL};
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	check_keys(L, 3, "wait_output", keys);
	int past = 0;
	if (lua_type(L, 3) == LUA_TTABLE) {
		lua_getfield(L, 3, "past");
		past = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	double timeout = opt_num(L, 3, "timeout", 5);
	int streams = FL_STDOUT | FL_STDERR, regex = 0;
	if (lua_type(L, 3) == LUA_TTABLE) {
		lua_getfield(L, 3, "stream");
		if (!lua_isnil(L, -1)) {
			const char *s = luaL_checkstring(L, -1);
			if (strcmp(s, "stdout") == 0)
				streams = FL_STDOUT;
			else if (strcmp(s, "stderr") == 0)
				streams = FL_STDERR;
			else if (strcmp(s, "any") != 0)
				return luaL_error(L, "wait_output: stream must "
						     "be stdout, stderr or any");
		}
		lua_pop(L, 1);
		lua_getfield(L, 3, "regex");
		regex = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	fl_instance *in = need_running(L, ctx, "wait_output");
	fl_waiter w;
	char err[256];
	if (fl_session_add_waiter(in->sess, &w, streams, text, regex, err,
				  sizeof err) < 0)
		return luaL_error(L, "wait_output: %s", err);
	if (past) {
		/* Lines printed before the call, as far as the captured tail
		 * of each stream reaches. */
		char *line = find_in_tail(in->sess, &w);
		if (line) {
			fl_session_remove_waiter(in->sess, &w);
			lua_pushstring(L, line);
			free(line);
			return 1;
		}
	}
	int64_t deadline = fl_now_ns() + (int64_t)(timeout * 1e9);
	for (;;) {
		pthread_mutex_lock(&in->sess->lock);
		int matched = w.matched, exited = in->sess->exit.exited &&
						 in->sess->out.eof &&
						 in->sess->err.eof;
		pthread_mutex_unlock(&in->sess->lock);
		if (matched || exited || fl_now_ns() >= deadline)
			break;
		/* The waiter is removed even if the scenario errors out. */
		if (fl_monitor_interrupted() ||
		    (ctx->deadline_ns && fl_now_ns() > ctx->deadline_ns)) {
			fl_session_remove_waiter(in->sess, &w);
			fl_ctx_check_abort(ctx, L);
		}
		fl_ctx_wait(ctx, deadline, 1);
	}
	if (w.matched)
		lua_pushstring(L, w.line);
	else
		lua_pushnil(L);
	fl_session_remove_waiter(in->sess, &w);
	return 1;
}

/* t:wait_until(fn, timeout): calls fn(sample) on each new sample until it
 * returns true. Returns true, or false on timeout. */
static int t_wait_until(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	double timeout = luaL_optnumber(L, 3, 5);
	fl_instance *in = need_running(L, ctx, "wait_until");
	int64_t deadline = fl_now_ns() + (int64_t)(timeout * 1e9);
	size_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&in->sess->lock);
		size_t n = in->sess->nsamples;
		fl_sample last = n ? in->sess->samples[n - 1] : (fl_sample){0};
		pthread_mutex_unlock(&in->sess->lock);
		if (n > seen) {
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
		if (fl_now_ns() >= deadline || in->sess->exit.exited)
			break;
		fl_ctx_wait(ctx, deadline, 1);
	}
	lua_pushboolean(L, 0);
	return 1;
}

/* t:wait_exit(timeout): waits for the target to exit on its own. Returns
 * the exit table, or nil on timeout. */
static int t_wait_exit(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	double timeout = luaL_optnumber(L, 2, 10);
	if (!ctx->inst || !ctx->inst->sess)
		return luaL_error(L, "wait_exit: the target was never started");
	fl_instance *in = ctx->inst;
	int64_t deadline = fl_now_ns() + (int64_t)(timeout * 1e9);
	while (!in->sess->exit.exited && fl_now_ns() < deadline)
		fl_ctx_wait(ctx, deadline, 1);
	if (!in->sess->exit.exited) {
		lua_pushnil(L);
		return 1;
	}
	in->exit_acknowledged = 1;
	if (in->running) {
		if (ctx->base.valid)
			fl_ctx_take_final(ctx);
		fl_ctx_stop(ctx, 0, 0);
	}
	push_exit(L, &in->sess->exit);
	return 1;
}

/* t:signal(name): sends a signal to the target process ("STOP", "CONT",
 * "USR1", ...). */
static int t_signal(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *name = luaL_checkstring(L, 2);
	int sig = fl_signal_from_name(name);
	if (sig < 0)
		return luaL_error(L, "signal: unknown signal '%s'", name);
	fl_instance *in = need_running(L, ctx, "signal");
	int r = fl_target_signal(&in->sess->child, sig);
	if (r < 0)
		return luaL_error(L, "signal %s: %s", name, strerror(-r));
	fl_ctx_log(ctx, "sent %s", fl_signal_name(sig));
	return 0;
}

int fl_rlimit_lookup(const char *name, int *resource, int *bytes);

/* t:setrlimit(name, value): changes a resource limit of the running target
 * (prlimit). Returns the previous soft limit. */
static int t_setrlimit(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *name = luaL_checkstring(L, 2);
	int res, bytes;
	if (fl_rlimit_lookup(name, &res, &bytes) < 0)
		return luaL_error(L, "setrlimit: unknown limit '%s'", name);
	double v;
	if (lua_type(L, 3) == LUA_TSTRING && bytes) {
		if (fl_parse_bytes(lua_tostring(L, 3), &v) < 0)
			return luaL_error(L, "setrlimit: bad size '%s'",
					  lua_tostring(L, 3));
	} else {
		v = luaL_checknumber(L, 3);
	}
	fl_instance *in = need_running(L, ctx, "setrlimit");
	struct rlimit old, nl;
	if (prlimit(in->sess->child.pid, res, NULL, &old) < 0)
		return luaL_error(L, "setrlimit: %s", strerror(errno));
	nl.rlim_cur = (rlim_t)v;
	nl.rlim_max = old.rlim_max;
	if (nl.rlim_cur > nl.rlim_max && old.rlim_max != RLIM_INFINITY)
		nl.rlim_max = nl.rlim_cur;
	if (prlimit(in->sess->child.pid, res, &nl, NULL) < 0)
		return luaL_error(L, "setrlimit %s: %s", name, strerror(errno));
	fl_ctx_log(ctx, "rlimit %s set to %.0f", name, v);
	if (old.rlim_cur == RLIM_INFINITY)
		lua_pushnumber(L, HUGE_VAL);
	else
		lua_pushinteger(L, (lua_Integer)old.rlim_cur);
	return 1;
}

static void fmt_value(char *out, size_t len, double v, int bytes)
{
	if (bytes)
		fl_fmt_bytes(out, len, v);
	else
		snprintf(out, len, "%g", v);
}

/* Checks one leaked figure against what the scenario allows. */
static void expect_leak(fl_ctx *ctx, lua_State *L, const char *figure,
			int vidx)
{
	int bytes = strcmp(figure, "rss") == 0;
	double allowed;
	if (lua_type(L, vidx) == LUA_TNUMBER)
		allowed = lua_tonumber(L, vidx);
	else if (lua_type(L, vidx) == LUA_TSTRING && bytes &&
		 fl_parse_bytes(lua_tostring(L, vidx), &allowed) == 0)
		;
	else {
		luaL_error(L, "expect: leaked.%s must be a number%s", figure,
			   bytes ? " or a size like '4MiB'" : "");
		return;
	}
	int files = strcmp(figure, "files") == 0;
	if (files && !ctx->watch) {
		luaL_error(L, "expect: leaked.files needs target.watch = \"DIR\"");
		return;
	}
	double base = strcmp(figure, "fds") == 0	 ? ctx->base.fds
		      : strcmp(figure, "threads") == 0 ? ctx->base.threads
		      : files			       ? ctx->base.files
						       : ctx->base.rss;
	double fin = strcmp(figure, "fds") == 0	       ? ctx->final.fds
		     : strcmp(figure, "threads") == 0 ? ctx->final.threads
		     : files			      ? ctx->final.files
						      : (double)ctx->final.rss;
	double leaked = fin - base;
	int ok = leaked <= allowed + 1e-9;
	char lv[32], av[32], msg[1024], what[32];
	fmt_value(lv, sizeof lv, leaked, bytes);
	fmt_value(av, sizeof av, allowed, bytes);
	snprintf(what, sizeof what, "leaked %s", figure);
	if (bytes) {
		char bb[32], fb[32];
		fl_fmt_bytes(bb, sizeof bb, base);
		fl_fmt_bytes(fb, sizeof fb, fin);
		snprintf(msg, sizeof msg,
			 "leaked %s of RSS (allowed %s): %s at the end, %s at "
			 "the baseline",
			 lv, av, fb, bb);
	} else {
		const char *unit = strcmp(figure, "fds") == 0 ? "fds"
				   : files		   ? "files"
							   : "threads";
		int n = snprintf(msg, sizeof msg, "leaked %s %s (allowed %s)", lv,
				 unit, av);
		const char *gkey = strcmp(figure, "fds") == 0 ? "fd_groups"
				   : files		   ? "file_groups"
							   : "thread_groups";
		json_t *groups = ctx->forensics
					 ? json_object_get(ctx->forensics, gkey)
					 : NULL;
		if (groups && json_array_size(groups) > 0) {
			fl_group g[6];
			int ng = 0;
			size_t i;
			json_t *v;
			json_array_foreach(groups, i, v)
			{
				if (ng == 6)
					break;
				g[ng].count = (int)json_integer_value(
					json_object_get(v, "count"));
				snprintf(g[ng].pattern, sizeof g[ng].pattern,
					 "%s",
					 json_string_value(
						 json_object_get(v, "pattern")));
				ng++;
			}
			char summary[700];
			fl_forensics_summary(g, ng, 4, summary, sizeof summary);
			if (json_array_size(groups) > 6)
				strncat(summary, ", ...",
					sizeof summary - strlen(summary) - 1);
			snprintf(msg + n, sizeof msg - (size_t)n, ": %s", summary);
		}
	}
	fl_ctx_expect(ctx, L, what, ok, lv, av, msg);
}

/* Parses a rate: "1MiB/s", "512KiB/s", "2/s", "30/min", or a number
 * (per second). Returns 0 or -1. */
static int parse_rate(lua_State *L, int idx, int bytes, double *per_s)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		*per_s = lua_tonumber(L, idx);
		return 0;
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
	return 0;
}

/* t:expect{ trend = { rss = "1MiB/s", fds = "2/s", threads =, files =,
 * window = s } }: the least-squares slope of each figure over the last
 * window seconds (default: since the baseline) is at most the rate. */
static void expect_trend(fl_ctx *ctx, lua_State *L, int tidx, fl_instance *in)
{
	luaL_checktype(L, tidx, LUA_TTABLE);
	static const char *const tk[] = {"fds", "threads", "rss", "files",
					 "window", NULL};
	check_keys(L, tidx, "expect.trend", tk);
	double window = opt_num(L, tidx, "window", -1);
	int64_t end = fl_session_now(in->sess);
	if (in->sess->exit.exited)
		end = in->sess->exit.t_ns;
	int64_t from;
	if (window > 0)
		from = end - (int64_t)(window * 1e9);
	else if (ctx->base.valid && ctx->base_inst == ctx->ninstances - 1)
		from = ctx->base.to_ns;
	else
		from = in->ready_ns;
	static const enum fl_figure figs[] = {FL_FIG_FDS, FL_FIG_THREADS,
					      FL_FIG_RSS, FL_FIG_FILES};
	for (int i = 0; i < 4; i++) {
		lua_getfield(L, tidx, tk[i]);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			continue;
		}
		int bytes = figs[i] == FL_FIG_RSS;
		double allowed = 0;
		if (parse_rate(L, lua_gettop(L), bytes, &allowed) < 0)
			luaL_error(L, "expect.trend.%s must be a rate like %s",
				   tk[i], bytes ? "\"1MiB/s\" or \"10MiB/min\""
						: "\"2/s\" or \"30/min\"");
		lua_pop(L, 1);
		if (figs[i] == FL_FIG_FILES && !ctx->watch)
			luaL_error(L, "expect.trend.files needs target.watch");
		fl_trend tr;
		pthread_mutex_lock(&in->sess->lock);
		fl_judge_trend(in->sess->samples, in->sess->nsamples, figs[i],
			       from, end, &tr);
		pthread_mutex_unlock(&in->sess->lock);
		char what[32], measured[64], allow[64], msg[300];
		snprintf(what, sizeof what, "trend %s", tk[i]);
		if (!tr.valid) {
			snprintf(msg, sizeof msg,
				 "%s trend: not enough samples over %.1f s", tk[i],
				 (double)(end - from) / 1e9);
			fl_ctx_expect(ctx, L, what, 0, "no data", "", msg);
			continue;
		}
		if (bytes) {
			char a[32], b[32];
			fl_fmt_bytes(a, sizeof a, tr.slope_per_s);
			fl_fmt_bytes(b, sizeof b, allowed);
			snprintf(measured, sizeof measured, "%s/s", a);
			snprintf(allow, sizeof allow, "%s/s", b);
		} else {
			snprintf(measured, sizeof measured, "%.2f/s", tr.slope_per_s);
			snprintf(allow, sizeof allow, "%.2f/s", allowed);
		}
		int ok = tr.slope_per_s <= allowed;
		snprintf(msg, sizeof msg,
			 "%s %s %s over %.1f s (allowed %s, fit r²=%.2f)", tk[i],
			 tr.slope_per_s >= 0 ? "grows" : "shrinks", measured,
			 (double)(end - from) / 1e9, allow, tr.r2);
		fl_ctx_expect(ctx, L, what, ok, measured, allow, msg);
	}
}

/* t:expect{ exit=, signal=, leaked={fds=,threads=,rss=}, peak={...},
 * steady=true }: checks the end state. Every failed expectation is
 * recorded (the run goes on); returns true if all held. */
static int t_expect(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	static const char *const keys[] = {"exit", "signal", "leaked", "peak",
					   "steady", "survived", "trend", NULL};
	check_keys(L, 2, "expect", keys);
	int before = ctx->nexpects;
	fl_instance *in = ctx->inst;
	if (!in || !in->sess)
		return luaL_error(L, "expect: the target was never started");

	lua_getfield(L, 2, "leaked");
	if (!lua_isnil(L, -1)) {
		luaL_checktype(L, -1, LUA_TTABLE);
		int lidx = lua_gettop(L);
		static const char *const lk[] = {"fds", "threads", "rss", "files",
						 NULL};
		check_keys(L, lidx, "expect.leaked", lk);
		if (!ctx->base.valid)
			return luaL_error(L, "expect: leaks need a baseline "
					     "(call t:settle() first)");
		if (!ctx->have_final && in->running && ctx->base_inst == ctx->ninstances - 1)
			fl_ctx_take_final(ctx);
		if (!ctx->have_final)
			return luaL_error(L, "expect: no final measurement "
					     "(no samples at the end)");
		for (int i = 0; lk[i]; i++) {
			lua_getfield(L, lidx, lk[i]);
			if (!lua_isnil(L, -1))
				expect_leak(ctx, L, lk[i], lua_gettop(L));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	lua_getfield(L, 2, "peak");
	if (!lua_isnil(L, -1)) {
		luaL_checktype(L, -1, LUA_TTABLE);
		int pidx = lua_gettop(L);
		static const char *const pk[] = {"fds", "threads", "rss", "files",
						 NULL};
		check_keys(L, pidx, "expect.peak", pk);
		fl_sample peak = {0};
		pthread_mutex_lock(&in->sess->lock);
		for (size_t i = 0; i < in->sess->nsamples; i++) {
			const fl_sample *s = &in->sess->samples[i];
			if (s->fds > peak.fds)
				peak.fds = s->fds;
			if (s->threads > peak.threads)
				peak.threads = s->threads;
			if (s->rss > peak.rss)
				peak.rss = s->rss;
			if (s->files > peak.files)
				peak.files = s->files;
		}
		pthread_mutex_unlock(&in->sess->lock);
		for (int i = 0; pk[i]; i++) {
			lua_getfield(L, pidx, pk[i]);
			if (!lua_isnil(L, -1)) {
				int bytes = i == 2;
				double allowed;
				if (lua_type(L, -1) == LUA_TSTRING && bytes) {
					if (fl_parse_bytes(lua_tostring(L, -1),
							   &allowed) < 0)
						return luaL_error(L, "expect: bad size");
				} else {
					allowed = luaL_checknumber(L, -1);
				}
				double v = i == 0   ? peak.fds
					   : i == 1 ? peak.threads
					   : i == 2 ? (double)peak.rss
						    : peak.files;
				char mv[32], av[32], msg[200], what[32];
				fmt_value(mv, sizeof mv, v, bytes);
				fmt_value(av, sizeof av, allowed, bytes);
				snprintf(what, sizeof what, "peak %s", pk[i]);
				snprintf(msg, sizeof msg, "peak %s %s (allowed %s)",
					 pk[i], mv, av);
				fl_ctx_expect(ctx, L, what, v <= allowed, mv, av,
					      msg);
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	lua_getfield(L, 2, "trend");
	if (!lua_isnil(L, -1))
		expect_trend(ctx, L, lua_gettop(L), in);
	lua_pop(L, 1);

	const fl_exit_info *e = &in->sess->exit;
	char desc[96];
	snprintf(desc, sizeof desc, "%s",
		 !e->exited  ? "still running"
		 : e->signal ? fl_signal_name(e->signal)
			     : "exited");
	if (e->exited && !e->signal)
		snprintf(desc, sizeof desc, "exit %d", e->code);

	lua_getfield(L, 2, "exit");
	if (!lua_isnil(L, -1)) {
		lua_Integer want = luaL_checkinteger(L, -1);
		int ok = e->exited && !e->signal && e->code == want;
		char av[32], msg[256];
		snprintf(av, sizeof av, "exit %lld", (long long)want);
		snprintf(msg, sizeof msg, "exit status: %s (expected exit %lld)",
			 desc, (long long)want);
		fl_ctx_expect(ctx, L, "exit", ok, desc, av, msg);
		in->exit_acknowledged = 1;
	}
	lua_pop(L, 1);

	lua_getfield(L, 2, "signal");
	if (!lua_isnil(L, -1)) {
		int want = fl_signal_from_name(luaL_checkstring(L, -1));
		if (want < 0)
			return luaL_error(L, "expect: unknown signal '%s'",
					  lua_tostring(L, -1));
		int ok = e->exited && e->signal == want;
		char msg[256];
		snprintf(msg, sizeof msg, "ended by: %s (expected %s)", desc,
			 fl_signal_name(want));
		fl_ctx_expect(ctx, L, "signal", ok, desc, fl_signal_name(want),
			      msg);
		in->exit_acknowledged = 1;
	}
	lua_pop(L, 1);

	lua_getfield(L, 2, "survived");
	if (lua_toboolean(L, -1)) {
		int ok = !e->exited || in->stop_requested;
		if (e->exited && e->signal && e->signal != SIGTERM &&
		    e->signal != SIGKILL)
			ok = 0;
		char msg[256];
		snprintf(msg, sizeof msg, "survival: %s", desc);
		fl_ctx_expect(ctx, L, "survived", ok, desc, "running", msg);
		in->exit_acknowledged = 1;
	}
	lua_pop(L, 1);

	lua_getfield(L, 2, "steady");
	if (lua_toboolean(L, -1)) {
		if (!ctx->base.valid)
			return luaL_error(L, "expect: steady needs a baseline");
		pthread_mutex_lock(&in->sess->lock);
		size_t n = in->sess->nsamples;
		fl_sample last = n ? in->sess->samples[n - 1] : (fl_sample){0};
		pthread_mutex_unlock(&in->sess->lock);
		/* The health condition is judged on a probe made now, not on
		 * one made before the last action of the script. */
		int health = -1;
		if (ctx->steady.health && in->running && !in->sess->exit.exited)
			health = fl_ctx_probe_now(ctx)->ok;
		else if (ctx->nhealth)
			health = ctx->health_results[ctx->nhealth - 1].ok;
		char why[192] = "";
		int ok = n > 0 && fl_judge_steady(&ctx->steady, &ctx->base,
						  &last, health, why, sizeof why);
		char msg[300];
		snprintf(msg, sizeof msg, "steady state %s%s%s",
			 ok ? "holds" : "broken", ok ? "" : ": ", why);
		fl_ctx_expect(ctx, L, "steady", ok, ok ? "holds" : why, "holds",
			      msg);
	}
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
	check_target(L);
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
	fl_ctx *ctx = check_target(L);
	luaL_checkany(L, 2);
	int ok = lua_toboolean(L, 2);
	const char *msg = message_arg(L, 3, "check failed");
	fl_ctx_expect(ctx, L, "check", ok, ok ? "true" : "false", "true", msg);
	lua_pushboolean(L, ok);
	return 1;
}

/* t:assert(cond, message): like check, but a failure ends the run (the
 * verdict is FAIL, not ERROR). */
static int t_assert(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	luaL_checkany(L, 2);
	if (lua_toboolean(L, 2)) {
		lua_settop(L, 2);
		return 1;
	}
	const char *msg = message_arg(L, 3, "assertion failed");
	fl_ctx_expect(ctx, L, "assert", 0, "false", "true", msg);
	ctx->abort = FL_ABORT_ASSERT;
	return luaL_error(L, "%s", msg);
}

/* t:fail(message): fails the scenario and ends the run. */
static int t_fail(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *msg = message_arg(L, 2, "failed");
	fl_ctx_expect(ctx, L, "fail", 0, "", "", msg);
	ctx->abort = FL_ABORT_ASSERT;
	return luaL_error(L, "%s", msg);
}

static int t_log(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
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

/* t:sample(): the latest sample {t, fds, threads, rss}, or nil. */
static int t_sample(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	fl_instance *in = ctx->inst;
	if (!in || !in->sess) {
		lua_pushnil(L);
		return 1;
	}
	pthread_mutex_lock(&in->sess->lock);
	size_t n = in->sess->nsamples;
	fl_sample last = n ? in->sess->samples[n - 1] : (fl_sample){0};
	pthread_mutex_unlock(&in->sess->lock);
	if (!n)
		lua_pushnil(L);
	else
		push_sample(L, &last);
	return 1;
}

static int t_baseline(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	if (!ctx->base.valid)
		lua_pushnil(L);
	else
		push_baseline(L, &ctx->base);
	return 1;
}

/* t:health(): runs the health probe now. Returns ok, detail, latency. */
static int t_health(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	if (ctx->health.kind == 0)
		return luaL_error(L, "health: the target has no health probe");
	need_running(L, ctx, "health");
	fl_health_result *r = fl_ctx_probe_now(ctx);
	lua_pushboolean(L, r->ok);
	lua_pushstring(L, r->detail);
	lua_pushnumber(L, (double)r->latency_ns / 1e9);
	return 3;
}

static int t_now(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	lua_pushnumber(L, (double)fl_ctx_now(ctx) / 1e9);
	return 1;
}

/* t:stats(): per point, the calls seen and faults fired so far. */
static int t_stats(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	fl_instance *in = need_running(L, ctx, "stats");
	fl_point_stats *ps;
	char err[256];
	int n = fl_faults_stats(&in->faults, &ps, err, sizeof err, 2000);
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

/* t:quiesce{ hold=, within= }: waits until fds and threads have not moved
 * for hold seconds. Returns true, or false if that did not happen. */
static int t_quiesce(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	static const char *const keys[] = {"hold", "within", NULL};
	check_keys(L, 2, "quiesce", keys);
	double hold = opt_num(L, 2, "hold", 0.2);
	double within = opt_num(L, 2, "within", 5);
	fl_instance *in = need_running(L, ctx, "quiesce");
	int64_t deadline = fl_now_ns() + (int64_t)(within * 1e9);
	int64_t hold_ns = (int64_t)(hold * 1e9);
	for (;;) {
		pthread_mutex_lock(&in->sess->lock);
		size_t n = in->sess->nsamples;
		int quiet = 0;
		if (n > 1) {
			const fl_sample *last = &in->sess->samples[n - 1];
			size_t i = n - 1;
			while (i > 0 && in->sess->samples[i - 1].fds == last->fds &&
			       in->sess->samples[i - 1].threads == last->threads)
				i--;
			quiet = last->t_ns - in->sess->samples[i].t_ns >= hold_ns;
		}
		int exited = in->sess->exit.exited;
		pthread_mutex_unlock(&in->sess->lock);
		if (quiet) {
			lua_pushboolean(L, 1);
			return 1;
		}
		if (exited || fl_now_ns() >= deadline)
			break;
		fl_ctx_wait(ctx, deadline, 1);
	}
	lua_pushboolean(L, 0);
	return 1;
}

/* t:close_mode("linux" | "libfiu"): how an injected close() failure
 * treats the fd from now on. */
static int t_close_mode(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	static const char *const modes[] = {"linux", "libfiu", NULL};
	int m = luaL_checkoption(L, 2, NULL, modes);
	fl_instance *in = need_running(L, ctx, "close_mode");
	char err[256];
	if (fl_faults_set_close(&in->faults, modes[m], err, sizeof err, 2000) < 0)
		return luaL_error(L, "close_mode: %s", err);
	return 0;
}

/* t:tcp(text, { port=, expect=, timeout= }): sends text to the target on
 * loopback and returns its reply (up to expect, or the first newline), or
 * nil and the reason. */
static int t_tcp(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);
	static const char *const keys[] = {"port", "expect", "timeout", NULL};
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	check_keys(L, 3, "tcp", keys);
	int port = (int)opt_num(L, 3, "port", ctx->port);
	double timeout = opt_num(L, 3, "timeout", 2);
	const char *expect = NULL;
	if (lua_type(L, 3) == LUA_TTABLE) {
		lua_getfield(L, 3, "expect");
		expect = lua_tostring(L, -1);
		lua_pop(L, 1);
	}
	fl_ctx_check_abort(ctx, L);
	char err[256];
	char *reply = fl_tcp_request(port, text, len, expect,
				     (int64_t)(timeout * 1e9), err, sizeof err);
	if (!reply) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	lua_pushstring(L, reply);
	free(reply);
	return 1;
}

/* t:port_named(name): the port that {port:name} expands to. */
static int t_port_named(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *name = luaL_checkstring(L, 2);
	char key[64];
	snprintf(key, sizeof key, "{port:%s}", name);
	char *s = fl_ctx_expand(ctx, key);
	lua_pushinteger(L, atoi(s));
	free(s);
	return 1;
}

static const luaL_Reg methods[] = {
	{"start", t_start},
	{"stop", t_stop},
	{"restart", t_restart},
	{"sleep", t_sleep},
	{"settle", t_settle},
	{"fault", t_fault},
	{"clear", t_clear},
	{"expect_recovery", t_expect_recovery},
	{"episodes", t_episodes},
	{"wait_output", t_wait_output},
	{"wait_until", t_wait_until},
	{"wait_exit", t_wait_exit},
	{"signal", t_signal},
	{"setrlimit", t_setrlimit},
	{"expect", t_expect},
	{"expect_steady", t_expect_steady},
	{"check", t_check},
	{"assert", t_assert},
	{"fail", t_fail},
	{"log", t_log},
	{"sample", t_sample},
	{"baseline", t_baseline},
	{"health", t_health},
	{"now", t_now},
	{"stats", t_stats},
	{"quiesce", t_quiesce},
	{"close_mode", t_close_mode},
	{"port_named", t_port_named},
	{"tcp", t_tcp},
	{NULL, NULL},
};

/* Fields: t.port, t.pid, t.seed, t.tmpdir, t.name; then the methods. */
static int t_index(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	const char *k = luaL_checkstring(L, 2);
	if (strcmp(k, "port") == 0)
		lua_pushinteger(L, ctx->port);
	else if (strcmp(k, "pid") == 0) {
		if (ctx->inst && ctx->inst->sess)
			lua_pushinteger(L, ctx->inst->sess->child.pid);
		else
			lua_pushnil(L);
	} else if (strcmp(k, "seed") == 0)
		lua_pushinteger(L, (lua_Integer)ctx->seed);
	else if (strcmp(k, "tmpdir") == 0)
		lua_pushstring(L, ctx->tmpdir);
	else if (strcmp(k, "name") == 0)
		lua_pushstring(L, ctx->name);
	else {
		lua_getmetatable(L, 1);
		lua_getfield(L, -1, "methods");
		lua_getfield(L, -1, k);
	}
	return 1;
}

static int t_tostring(lua_State *L)
{
	fl_ctx *ctx = check_target(L);
	lua_pushfstring(L, "target(%s)", ctx->name ? ctx->name : "?");
	return 1;
}

void fl_lua_open_target(lua_State *L)
{
	luaL_newmetatable(L, TARGET_MT);
	luaL_newlib(L, methods);
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

void fl_lua_push_target(lua_State *L, fl_ctx *ctx)
{
	target_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->ctx = ctx;
	luaL_setmetatable(L, TARGET_MT);
}
