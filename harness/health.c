#define _GNU_SOURCE
#include "health.h"

#include "probe.h"
#include "util.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void record(fl_ctx *ctx, const fl_health_result *r)
{
	ctx->health_probes++;
	ctx->health_failed += !r->ok;
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

void fl_health_release(fl_ctx *ctx)
{
	if (ctx->health_ready)
		fl_probe_release(&ctx->health_probe);
	ctx->health_ready = 0;
	free(ctx->health_unix);
	ctx->health_unix = NULL;
}

/* The probe of the current run, its placeholders expanded. 0, or -EINVAL
 * (logged) when it cannot be made. */
static int prepare(fl_ctx *ctx)
{
	if (ctx->health_ready)
		return 0;
	const fl_health_cfg *hc = &ctx->cfg.health;
	free(ctx->health_unix);
	ctx->health_unix = hc->unix_path ? fl_ctx_expand(ctx, hc->unix_path)
					 : NULL;
	fl_health_probe_of(hc, hc->port ? fl_ctx_port(ctx, hc->port) : 0,
			   ctx->health_unix, &ctx->health_probe);
	char err[300];
	if (fl_probe_prepare(&ctx->health_probe, err, sizeof err) < 0) {
		fl_ctx_log(ctx, "health probe: %s", err);
		return -EINVAL;
	}
	ctx->health_ready = 1;
	return 0;
}

/* One probe of the current run, dated when its reply began to arrive. */
static void probe_socket(fl_ctx *ctx, fl_health_result *r)
{
	fl_probe_result pr;
	if (prepare(ctx) < 0) {
		memset(r, 0, sizeof *r);
		snprintf(r->detail, sizeof r->detail, "the probe cannot be made");
		return;
	}
	fl_probe_run(&ctx->health_probe, &pr);
	fl_probe_to_health(&pr, ctx->inst->sess->child.start_ns, r);
}

fl_health_result *fl_health_probe_now(fl_ctx *ctx)
{
	const fl_health_cfg *hc = &ctx->cfg.health;
	if (hc->kind == FL_HEALTH_NONE || !ctx->inst || !ctx->inst->sess)
		return NULL;
	fl_health_result r;
	memset(&r, 0, sizeof r);
	if (hc->kind == FL_HEALTH_TCP) {
		probe_socket(ctx, &r);
	} else {
		probe_function(ctx, &r);
		/* A function's verdict is known when it returns. */
		r.t_ns = fl_ctx_now(ctx);
	}
	record(ctx, &r);
	return &ctx->health_results[ctx->nhealth - 1];
}

/* Back-to-back probing keeps a result only when it changes the state,
 * and the last failure before a pass: the judge reads the state between
 * results, the pair brackets the moment the target recovered, and
 * thousands of equal failures a second would say nothing more. */
struct loop_arg {
	fl_ctx *ctx;
	fl_health_result last_fail;
	int have_fail;
};

static void record_change(struct loop_arg *a, const fl_health_result *r)
{
	fl_ctx *ctx = a->ctx;
	int same = ctx->nhealth && ctx->health_results[ctx->nhealth - 1].ok == r->ok;
	if (!r->ok) {
		if (!same) {
			record(ctx, r);
		} else {
			ctx->health_probes++;
			ctx->health_failed++;
			a->last_fail = *r;
			a->have_fail = 1;
		}
		return;
	}
	if (a->have_fail) {
		/* Counted already: stored only now, before the pass. */
		if (ctx->nhealth == ctx->health_cap) {
			ctx->health_cap = ctx->health_cap ? ctx->health_cap * 2 : 256;
			ctx->health_results = fl_xrealloc(
				ctx->health_results,
				ctx->health_cap * sizeof *ctx->health_results);
		}
		ctx->health_results[ctx->nhealth++] = a->last_fail;
		a->have_fail = 0;
	}
	if (same) {
		ctx->health_probes++;
		return;
	}
	record(ctx, r);
}

static int loop_each(void *arg, const fl_probe_result *pr)
{
	struct loop_arg *a = arg;
	fl_ctx *ctx = a->ctx;
	fl_health_result r;
	fl_probe_to_health(pr, ctx->inst->sess->child.start_ns, &r);
	record_change(a, &r);
	return !fl_ctx_target_live(ctx) ||
	       fl_lua_abort_due(&ctx->host) != FL_ABORT_NONE;
}

int fl_health_until_ok(fl_ctx *ctx, int64_t deadline_ns)
{
	const fl_health_cfg *hc = &ctx->cfg.health;
	if (hc->kind == FL_HEALTH_NONE || !fl_ctx_target_live(ctx))
		return 0;
	int passed = 0;
	struct loop_arg a = {.ctx = ctx};
	if (hc->kind == FL_HEALTH_TCP) {
		if (prepare(ctx) < 0)
			return 0;
		fl_probe_loop loop = {.deadline_ns = deadline_ns,
				      .each = loop_each,
				      .arg = &a};
		fl_probe_result last;
		passed = fl_probe_until_ok(&ctx->health_probe, &loop, &last) == 0;
	} else {
		while (!passed && fl_now_ns() < deadline_ns &&
		       fl_ctx_target_live(ctx) &&
		       fl_lua_abort_due(&ctx->host) == FL_ABORT_NONE) {
			fl_health_result r;
			memset(&r, 0, sizeof r);
			probe_function(ctx, &r);
			r.t_ns = fl_ctx_now(ctx);
			record_change(&a, &r);
			passed = r.ok;
		}
	}
	if (fl_lua_abort_due(&ctx->host) != FL_ABORT_NONE)
		return -ECANCELED;
	/* Interval probing goes on from here. */
	ctx->next_probe_ns = fl_now_ns() + (int64_t)(hc->interval_s * 1e9);
	return passed;
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
	/* A new run: its probe is made anew (a named port stays, a Unix
	 * socket's path is expanded again). */
	fl_health_release(ctx);
	ctx->next_probe_ns = fl_now_ns();
}
