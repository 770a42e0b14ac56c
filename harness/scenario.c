/* Running one scenario, from its file to its result: load the table,
 * start the target, call run(t), stop the target whatever happened, judge
 * survival and build the result. The steps live in their modules (see
 * docs/hacking.md); this file only puts them in order. */
#define _GNU_SOURCE
#include "scenario.h"

#include "ctx.h"
#include "expect.h"
#include "health.h"
#include "instance.h"
#include "lua_target.h"
#include "measure.h"
#include "probe.h"
#include "progress.h"
#include "result.h"
#include "util.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The loader runs under a watchdog of its own: a scenario file that loops
 * while it is read is stopped too. */
#define LOAD_TIMEOUT_S 60.0
/* A run that ends on an error stops its target with this grace. */
#define ERROR_STOP_GRACE_S 0.5

static void log_print(void *user, const char *msg)
{
	fl_ctx_log(user, "%s", msg);
}

static void fail_load(fl_ctx *ctx, const char *msg)
{
	free(ctx->host.error_msg);
	ctx->host.error_msg = fl_xstrdup(msg);
	ctx->load_error = 1;
}

static void ctx_init(fl_ctx *ctx, const fl_scenario_ref *ref,
		     const fl_run_opts *opts)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->ref = ref;
	ctx->opts = opts;
	fl_config_defaults(&ctx->cfg);
	ctx->log = json_array();
	ctx->point_stats = json_object();
	ctx->warnings = json_array();
	ctx->replay = opts->replay;
	ctx->nreplay = opts->nreplay;
	ctx->push_target = fl_lua_push_target;
	ctx->start_inst = -1;
	ctx->start_ns = fl_now_ns();
	ctx->started_wall_ns = fl_wall_ns();
	ctx->host.user = ctx;
	ctx->host.log = log_print;
	ctx->host.timeout_s = LOAD_TIMEOUT_S;
	ctx->host.deadline_ns = ctx->start_ns + (int64_t)(LOAD_TIMEOUT_S * 1e9);
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void ctx_free(fl_ctx *ctx)
{
	fl_config_free(&ctx->cfg);
	free(ctx->host.error_msg);
	free(ctx->traceback);
	for (int i = 0; i < ctx->ninstances; i++)
		fl_instance_free(ctx->instances[i]);
	free(ctx->instances);
	fl_measure_base_free(&ctx->base_snap);
	free(ctx->start_files);
	fl_measure_final_free(&ctx->final);
	fl_oom *o = &ctx->oom;
	free(o->fds);
	free(o->fd_groups);
	free(o->threads);
	free(o->thread_groups);
	free(o->smaps);
	free(o->core);
	free(o->core_error);
	free(ctx->health_results);
	fl_health_release(ctx);
	for (int i = 0; i < ctx->nwindows; i++)
		free(ctx->windows[i].waiter);
	free(ctx->windows);
	free(ctx->episodes);
	free(ctx->expects);
	json_decref(ctx->log);
	json_decref(ctx->point_stats);
	json_decref(ctx->warnings);
	free(ctx->program);
	free_names(ctx->points, ctx->npoints);
	free_names(ctx->declared, ctx->ndeclared);
}

/* Reads the scenario table into ctx->cfg; on failure the scenario is a
 * load error. Returns 0 or -1. */
static int load(fl_ctx *ctx)
{
	const fl_scenario_ref *ref = ctx->ref;
	lua_State *L = ctx->L;
	char err[2048];
	if (ref->load_error) {
		fail_load(ctx, ref->load_error);
		return -1;
	}
	if (fl_lua_load_scenario(L, ref->file, err, sizeof err) != 0) {
		fail_load(ctx, err);
		return -1;
	}
	if (ref->index > 0) {
		lua_geti(L, -1, ref->index);
		lua_remove(L, -2);
	}
	int r = 0;
	if (!lua_istable(L, -1)) {
		snprintf(err, sizeof err, "%s: scenario #%d is not a table",
			 ref->file, ref->index);
		r = -1;
	} else {
		r = fl_config_parse(L, -1, ref->file, &ctx->cfg, err, sizeof err);
	}
	lua_pop(L, 1);
	if (r < 0) {
		fail_load(ctx, err);
		return -1;
	}
	fl_config *c = &ctx->cfg;
	if (!c->name)
		c->name = fl_xstrdup(ref->name ? ref->name : ref->file);
	if (ctx->opts->have_seed)
		c->seed = ctx->opts->seed;
	if (ctx->opts->timeout_s > 0)
		c->timeout_s = ctx->opts->timeout_s;
	ctx->port = fl_probe_free_port();
	if (ctx->port < 0) {
		snprintf(err, sizeof err, "%s: no free loopback port: %s",
			 ref->file, strerror(-ctx->port));
		fail_load(ctx, err);
		return -1;
	}
	return 0;
}

/* Starts the target (unless the scenario does it) and calls run(t). */
static void run_script(fl_ctx *ctx)
{
	lua_State *L = ctx->L;
	char err[2048];
	ctx->start_ns = fl_now_ns();
	ctx->started_wall_ns = fl_wall_ns();
	ctx->host.timeout_s = ctx->cfg.timeout_s;
	ctx->host.deadline_ns =
		ctx->start_ns + (int64_t)(ctx->cfg.timeout_s * 1e9);
	if (ctx->cfg.autostart && fl_instance_start(ctx, err, sizeof err) < 0) {
		ctx->host.error_msg = fl_xstrdup(err);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->cfg.run_ref);
	fl_lua_push_target(L, ctx);
	if (fl_lua_call(L, 1, 0) == LUA_OK)
		return;
	ctx->traceback = fl_xstrdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	if (ctx->host.abort == FL_ABORT_ASSERT) {
		/* t:assert recorded its failure: that is a FAIL, not an
		 * ERROR. */
		free(ctx->host.error_msg);
		ctx->host.error_msg = NULL;
		free(ctx->traceback);
		ctx->traceback = NULL;
	}
}

/* A target that died on its own (or one of whose processes a signal
 * killed) fails its scenario, whatever the script
 * did afterwards: the script's next call errs ("the target is not
 * running"), and that error is the crash's consequence, not a script
 * error. An interruption stays an ERROR. */
static void crash_over_error(fl_ctx *ctx)
{
	if (!ctx->host.error_msg || ctx->load_error ||
	    ctx->host.abort == FL_ABORT_INTERRUPT)
		return;
	int died = 0;
	for (int i = 0; i < ctx->ninstances && !died; i++)
		died = fl_instance_died_on_its_own(ctx, ctx->instances[i]) ||
		       fl_instance_judge_ends(ctx, ctx->instances[i]) > 0;
	if (!died)
		return;
	fl_ctx_warn(ctx, "the script stopped after the target died: %s",
		    ctx->host.error_msg);
	free(ctx->host.error_msg);
	ctx->host.error_msg = NULL;
	free(ctx->traceback);
	ctx->traceback = NULL;
}

/* A fault the agent could not journal leaves the journal, its digest,
 * replay and shrink without it: the run cannot be judged (fail closed),
 * whatever its expectations say. */
static void journal_lost_error(fl_ctx *ctx)
{
	uint64_t lost = 0, wait_ns = 0;
	for (int i = 0; i < ctx->ninstances; i++) {
		lost += ctx->instances[i]->jstats.lost;
		if (ctx->instances[i]->jstats.wait_ns > wait_ns)
			wait_ns = ctx->instances[i]->jstats.wait_ns;
	}
	if (!lost)
		return;
	char msg[512];
	snprintf(msg, sizeof msg,
		 "the fault journal lost %llu record%s: the target found it "
		 "full and the harness did not drain it within %.3g s (starved, "
		 "stopped or gone), so the faults that fired are not all known "
		 "and the run is not judged",
		 (unsigned long long)lost, lost == 1 ? "" : "s",
		 (double)wait_ns / 1e9);
	if (ctx->host.error_msg) {
		fl_ctx_warn(ctx, "%s", msg);
		return;
	}
	ctx->host.error_msg = fl_xstrdup(msg);
}

/* A child's end the agent recorded and faultline never read (its
 * record overwritten in the ring of FL_MAX_REAPED before the harness
 * came to it, or torn by a writer that died) may have been a crash that
 * no sample saw: survival cannot be judged (fail closed), whatever the
 * expectations say. */
static void reaped_lost_error(fl_ctx *ctx)
{
	uint64_t lost = 0;
	for (int i = 0; i < ctx->ninstances; i++)
		lost += fl_instance_reaped_lost(ctx->instances[i]);
	if (!lost)
		return;
	char msg[512];
	snprintf(msg, sizeof msg,
		 "the ring of reaped children lost %llu record%s: more than "
		 "%d children were reaped between two reads of it, or a "
		 "process died while writing one, so the ends of the target's "
		 "processes are not all known and the run is not judged",
		 (unsigned long long)lost, lost == 1 ? "" : "s",
		 FL_MAX_REAPED);
	fl_ctx_log(ctx, "%s", msg);
	if (ctx->host.error_msg) {
		fl_ctx_warn(ctx, "%s", msg);
		return;
	}
	ctx->host.error_msg = fl_xstrdup(msg);
}

json_t *fl_scenario_run(const fl_scenario_ref *ref, const fl_run_opts *opts)
{
	fl_ctx ctx;
	ctx_init(&ctx, ref, opts);
	snprintf(ctx.tmpdir, sizeof ctx.tmpdir, "%s/s.XXXXXX", opts->tmp_root);
	if (!mkdtemp(ctx.tmpdir)) {
		ctx.host.error_msg = fl_xstrdup("cannot create the scenario's "
						"temporary directory");
		ctx.tmpdir[0] = '\0';
	} else {
		/* 0711, as the run's directory above it: a worker that drops
		 * privileges opens what the scenario put there by name; no
		 * other user can list it. */
		chmod(ctx.tmpdir, 0711);
	}
	/* The script writes files under its {tmpdir} only. */
	char resolved[PATH_MAX];
	if (ctx.tmpdir[0] && realpath(ctx.tmpdir, resolved))
		snprintf(ctx.host.write_dir, sizeof ctx.host.write_dir, "%s",
			 resolved);
	ctx.L = fl_lua_new(&ctx.host);
	fl_lua_open_target(ctx.L);

	if (!ctx.host.error_msg && load(&ctx) == 0) {
		fl_progress_rename(ctx.cfg.name);
		fl_instance_prepare(&ctx);
		run_script(&ctx);
	}
	/* Whatever happened, the target goes. */
	fl_lua_disarm(ctx.L);
	if (ctx.inst && ctx.inst->running)
		fl_instance_stop(&ctx, ctx.cfg.stop_signal,
				 ctx.host.error_msg ? ERROR_STOP_GRACE_S
						    : ctx.cfg.stop_grace_s);
	crash_over_error(&ctx);
	if (!ctx.host.error_msg) {
		fl_expect_survival(&ctx);
		fl_expect_baseline_health(&ctx);
		fl_expect_windows_fired(&ctx);
	}
	journal_lost_error(&ctx);
	reaped_lost_error(&ctx);

	double duration = (double)(fl_now_ns() - ctx.start_ns) / 1e9;
	json_t *result = fl_result_build(&ctx, duration);
	lua_close(ctx.L);
	ctx.L = NULL;
	if (ctx.tmpdir[0])
		fl_rmtree(ctx.tmpdir);
	ctx_free(&ctx);
	return result;
}
