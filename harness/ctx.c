#define _GNU_SOURCE
#include "ctx.h"

#include "probe.h"
#include "text.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many log lines go into a result. */
#define LOG_MAX 2000

fl_ctx *fl_ctx_of(lua_State *L)
{
	fl_lua_host *h = fl_lua_host_of(L);
	return h ? h->user : NULL;
}

int64_t fl_ctx_now(fl_ctx *ctx)
{
	if (ctx->inst && ctx->inst->sess)
		return fl_session_now(ctx->inst->sess);
	return fl_now_ns() - ctx->start_ns;
}

void fl_ctx_log(fl_ctx *ctx, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	double t = (double)fl_ctx_now(ctx) / 1e9;
	if (json_array_size(ctx->log) < LOG_MAX)
		fl_text_append(ctx->log, json_pack("{s:f,s:o}", "t", t, "msg",
						   fl_text_json(msg)));
	if (ctx->opts->verbose)
		fprintf(stderr, "[%s +%.3fs] %s\n",
			ctx->cfg.name ? ctx->cfg.name : ctx->ref->name, t, msg);
}

void fl_ctx_warn(fl_ctx *ctx, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fl_text_append(ctx->warnings, fl_text_json(msg));
}

fl_expectation *fl_ctx_expect(fl_ctx *ctx, const char *where,
			      const char *what, int ok, const char *measured,
			      const char *allowed, const char *message)
{
	ctx->expects = fl_xrealloc(ctx->expects, (size_t)(ctx->nexpects + 1) *
							 sizeof *ctx->expects);
	fl_expectation *e = &ctx->expects[ctx->nexpects++];
	memset(e, 0, sizeof *e);
	snprintf(e->what, sizeof e->what, "%s", what);
	e->ok = ok;
	snprintf(e->measured, sizeof e->measured, "%s", measured ? measured : "");
	snprintf(e->allowed, sizeof e->allowed, "%s", allowed ? allowed : "");
	snprintf(e->message, sizeof e->message, "%s", message ? message : "");
	snprintf(e->where, sizeof e->where, "%s", where ? where : "");
	if (!ok)
		fl_ctx_log(ctx, "FAILED: %s", e->message);
	return e;
}

int fl_ctx_named_port(fl_ctx *ctx, const char *name)
{
	for (int i = 0; i < ctx->nnamed_ports; i++)
		if (strcmp(ctx->named_ports[i].name, name) == 0)
			return ctx->named_ports[i].port;
	if (ctx->nnamed_ports == FL_MAX_NAMED_PORTS)
		return -1;
	int p = fl_probe_free_port();
	if (p < 0)
		return -1;
	fl_named_port *np = &ctx->named_ports[ctx->nnamed_ports++];
	snprintf(np->name, sizeof np->name, "%s", name);
	np->port = p;
	return p;
}

char *fl_ctx_expand(fl_ctx *ctx, const char *text)
{
	fl_buf b;
	fl_buf_init(&b);
	for (const char *p = text; *p;) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (close) {
				char key[64];
				size_t kl = (size_t)(close - p - 1);
				if (kl < sizeof key) {
					memcpy(key, p + 1, kl);
					key[kl] = '\0';
					int done = 1;
					if (strcmp(key, "port") == 0)
						fl_buf_printf(&b, "%d", ctx->port);
					else if (strncmp(key, "port:", 5) == 0)
						fl_buf_printf(&b, "%d",
							      fl_ctx_named_port(
								      ctx, key + 5));
					else if (strcmp(key, "tmpdir") == 0)
						fl_buf_puts(&b, ctx->tmpdir);
					else if (strcmp(key, "seed") == 0)
						fl_buf_printf(&b, "%llu",
							      (unsigned long long)
								      ctx->cfg.seed);
					else
						done = 0;
					if (done) {
						p = close + 1;
						continue;
					}
				}
			}
		}
		fl_buf_putc(&b, *p++);
	}
	return fl_buf_steal(&b);
}

int fl_ctx_port(fl_ctx *ctx, const char *text)
{
	if (!text)
		return -1;
	char *s = fl_ctx_expand(ctx, text);
	char *end;
	long v = strtol(s, &end, 10);
	int ok = end != s && *end == '\0' && v > 0 && v <= 65535;
	free(s);
	return ok ? (int)v : -1;
}

void fl_ctx_abbreviate(fl_ctx *ctx, fl_fd_entry *v, int n)
{
	size_t tl = strlen(ctx->tmpdir);
	if (tl == 0)
		return;
	for (int i = 0; i < n; i++) {
		if (strncmp(v[i].target, ctx->tmpdir, tl) != 0 ||
		    (v[i].target[tl] != '/' && v[i].target[tl] != '\0'))
			continue;
		char rest[sizeof v[i].target];
		snprintf(rest, sizeof rest, "%s", v[i].target + tl);
		snprintf(v[i].target, sizeof v[i].target, "{tmpdir}%s", rest);
	}
}

fl_exit_info fl_instance_exit(const fl_instance *in)
{
	fl_exit_info e;
	memset(&e, 0, sizeof e);
	if (!in || !in->sess)
		return e;
	pthread_mutex_lock(&in->sess->lock);
	e = in->sess->exit;
	pthread_mutex_unlock(&in->sess->lock);
	return e;
}

int fl_ctx_target_live(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	return in && in->running && in->sess && !fl_instance_exit(in).exited;
}
