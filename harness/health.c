#define _GNU_SOURCE
#include "health.h"

#include "probe.h"
#include "util.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void record(fl_ctx *ctx, const fl_health_result *r)
{
	if (ctx->nhealth == ctx->health_cap) {
		ctx->health_cap = ctx->health_cap ? ctx->health_cap * 2 : 256;
		ctx->health_results = fl_xrealloc(
			ctx->health_results,
			ctx->health_cap * sizeof *ctx->health_results);
	}
	ctx->health_results[ctx->nhealth++] = *r;
}

/* Calls the scenario's health function with the target object: it
 * returns ok and an optional reason; an error counts as a failed probe
 * and does not become the scenario's error. */
static void probe_function(fl_ctx *ctx, fl_health_result *r)
{
	lua_State *L = ctx->L;
	int64_t start = fl_now_ns();
	lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->cfg.health.fn_ref);
	ctx->push_target(L, ctx);
	char *saved = ctx->host.error_msg;
	ctx->host.error_msg = NULL;
	int st = fl_lua_call(L, 1, 2);
	if (st == LUA_OK) {
		r->ok = lua_toboolean(L, -2);
		if (!r->ok && lua_type(L, -1) == LUA_TSTRING)
			snprintf(r->detail, sizeof r->detail, "%s",
				 lua_tostring(L, -1));
		lua_pop(L, 2);
	} else {
		r->ok = 0;
		snprintf(r->detail, sizeof r->detail, "health function: %s",
			 ctx->host.error_msg ? ctx->host.error_msg : "error");
		lua_pop(L, 1);
	}
	free(ctx->host.error_msg);
	ctx->host.error_msg = saved;
	r->latency_ns = fl_now_ns() - start;
}

fl_health_result *fl_health_probe_now(fl_ctx *ctx)
{
	const fl_health_cfg *hc = &ctx->cfg.health;
	if (hc->kind == FL_HEALTH_NONE || !ctx->inst || !ctx->inst->sess)
		return NULL;
	fl_health_result r;
	memset(&r, 0, sizeof r);
	int64_t t0 = fl_ctx_now(ctx);
	if (hc->kind == FL_HEALTH_TCP) {
		fl_tcp_probe p = {.port = fl_ctx_port(ctx, hc->port),
				  .send = hc->send,
				  .send_len = hc->send_len,
				  .expect = hc->expect,
				  .timeout_ns = (int64_t)(hc->timeout_s * 1e9)};
		fl_probe_tcp(&p, &r);
	} else {
		probe_function(ctx, &r);
	}
	r.t_ns = t0;
	record(ctx, &r);
	return &ctx->health_results[ctx->nhealth - 1];
}

int fl_health_latest(const fl_ctx *ctx)
{
	if (ctx->nhealth == 0)
		return -1;
	return ctx->health_results[ctx->nhealth - 1].ok;
}

int64_t fl_health_next_due(fl_ctx *ctx)
{
	if (ctx->cfg.health.kind == FL_HEALTH_NONE || !fl_ctx_target_live(ctx))
		return INT64_MAX;
	return ctx->next_probe_ns;
}

int fl_health_tick(fl_ctx *ctx)
{
	if (fl_now_ns() < fl_health_next_due(ctx))
		return 0;
	fl_health_probe_now(ctx);
	ctx->next_probe_ns =
		fl_now_ns() + (int64_t)(ctx->cfg.health.interval_s * 1e9);
	return 1;
}

void fl_health_restart(fl_ctx *ctx)
{
	ctx->next_probe_ns = fl_now_ns();
}
