#define _GNU_SOURCE
#include "scenario.h"

#include "../lib/agent_proto.h"
#include "ctx.h"
#include "forensics.h"
#include "guardian.h"
#include "monitor.h"
#include "elf.h"
#include "points.h"
#include "probe.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_TIMEOUT_S 60.0
#define DEFAULT_HZ 200.0
#define DEFAULT_HOLD_NS (100 * FL_NS_PER_MS)
/* The final measurement is a median over this much time (at least five
 * samples): long enough that one sample caught in the middle of a batch
 * does not count, short enough to see the state the script just left. */
#define DEFAULT_FINAL_WINDOW_NS (50 * FL_NS_PER_MS)
#define AGENT_TIMEOUT_MS 2000
#define SERIES_MAX_POINTS 4000

/* ------------------------------------------------------------------ */
/* Discovery                                                            */
/* ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_dir(const char *dir, char ***files, int *n, int *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char **names = NULL;
	int nn = 0, nc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (nn == nc) {
			nc = nc ? nc * 2 : 16;
			names = fl_xrealloc(names, (size_t)nc * sizeof *names);
		}
		names[nn++] = fl_xstrdup(de->d_name);
	}
	closedir(d);
	if (nn > 1)
		qsort(names, (size_t)nn, sizeof *names, cmp_str);
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	for (int i = 0; i < nn; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%.*s/%s", (int)dlen, dir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			collect_dir(path, files, n, cap);
		} else {
			size_t len = strlen(names[i]);
			if (len > 4 && strcmp(names[i] + len - 4, ".lua") == 0) {
				if (*n == *cap) {
					*cap = *cap ? *cap * 2 : 32;
					*files = fl_xrealloc(
						*files,
						(size_t)*cap * sizeof **files);
				}
				(*files)[(*n)++] = fl_xstrdup(path);
			}
		}
		free(names[i]);
	}
	free(names);
}

/* A Lua state with the standard libraries, for reading scenario tables. */
static lua_State *new_state(void);
static int load_scenario_chunk(lua_State *L, const char *file, char *err,
			       size_t errlen, fl_ctx *ctx);

static void ref_add(fl_scenario_ref **v, int *n, int *cap, const char *file,
		    int index)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*v = fl_xrealloc(*v, (size_t)*cap * sizeof **v);
	}
	fl_scenario_ref *r = &(*v)[(*n)++];
	memset(r, 0, sizeof *r);
	r->file = fl_xstrdup(file);
	r->index = index;
}

/* Fills name, tags and seed of a reference from the scenario table on top
 * of the stack. */
static void ref_describe(lua_State *L, fl_scenario_ref *r)
{
	const char *base = strrchr(r->file, '/');
	base = base ? base + 1 : r->file;
	if (lua_getfield(L, -1, "name") == LUA_TSTRING)
		r->name = fl_xstrdup(lua_tostring(L, -1));
	else if (r->index > 0) {
		char buf[PATH_MAX];
		snprintf(buf, sizeof buf, "%s#%d", base, r->index);
		r->name = fl_xstrdup(buf);
	} else
		r->name = fl_xstrdup(base);
	lua_pop(L, 1);
	fl_buf tags;
	fl_buf_init(&tags);
	if (lua_getfield(L, -1, "tags") == LUA_TTABLE) {
		lua_Integer len = luaL_len(L, -1);
		for (lua_Integer i = 1; i <= len; i++) {
			if (lua_geti(L, -1, i) == LUA_TSTRING) {
				if (tags.len)
					fl_buf_putc(&tags, ',');
				fl_buf_puts(&tags, lua_tostring(L, -1));
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	r->tags = fl_buf_steal(&tags);
	r->seed = 1;
	if (lua_getfield(L, -1, "seed") == LUA_TNUMBER)
		r->seed = (uint64_t)lua_tointeger(L, -1);
	lua_pop(L, 1);
}

static void discover_file(const char *spec, fl_scenario_ref **v, int *n,
			  int *cap)
{
	char file[PATH_MAX];
	snprintf(file, sizeof file, "%s", spec);
	int want = 0;
	char *hash = strrchr(file, '#');
	if (hash && access(file, F_OK) != 0) {
		want = atoi(hash + 1);
		*hash = '\0';
	}
	lua_State *L = new_state();
	char err[1024];
	if (load_scenario_chunk(L, file, err, sizeof err, NULL) != 0) {
		ref_add(v, n, cap, file, want);
		(*v)[*n - 1].load_error = fl_xstrdup(err);
		const char *base = strrchr(file, '/');
		(*v)[*n - 1].name = fl_xstrdup(base ? base + 1 : file);
		(*v)[*n - 1].tags = fl_xstrdup("");
		lua_close(L);
		return;
	}
	/* A file returns one scenario (a table with run) or a list. */
	lua_getfield(L, -1, "run");
	int single = !lua_isnil(L, -1);
	lua_pop(L, 1);
	if (single || luaL_len(L, -1) == 0) {
		ref_add(v, n, cap, file, 0);
		ref_describe(L, &(*v)[*n - 1]);
	} else {
		lua_Integer len = luaL_len(L, -1);
		for (lua_Integer i = 1; i <= len; i++) {
			if (want && i != want)
				continue;
			ref_add(v, n, cap, file, (int)i);
			if (lua_geti(L, -1, i) == LUA_TTABLE)
				ref_describe(L, &(*v)[*n - 1]);
			else {
				(*v)[*n - 1].name = fl_xstrdup(file);
				(*v)[*n - 1].tags = fl_xstrdup("");
				(*v)[*n - 1].load_error = fl_xstrdup(
					"list entry is not a scenario table");
			}
			lua_pop(L, 1);
		}
	}
	lua_close(L);
}

int fl_scenario_discover(char *const *paths, int npaths, fl_scenario_ref **out,
			 char *err, size_t errlen)
{
	fl_scenario_ref *v = NULL;
	int n = 0, cap = 0;
	for (int i = 0; i < npaths; i++) {
		struct stat st;
		char plain[PATH_MAX];
		snprintf(plain, sizeof plain, "%s", paths[i]);
		char *hash = strrchr(plain, '#');
		if (stat(plain, &st) != 0 && hash)
			*hash = '\0';
		if (stat(plain, &st) != 0) {
			snprintf(err, errlen, "%s: %s", paths[i],
				 strerror(errno));
			fl_scenario_refs_free(v, n);
			return -ENOENT;
		}
		if (S_ISDIR(st.st_mode)) {
			char **files = NULL;
			int nf = 0, fc = 0;
			collect_dir(plain, &files, &nf, &fc);
			for (int j = 0; j < nf; j++) {
				discover_file(files[j], &v, &n, &cap);
				free(files[j]);
			}
			free(files);
		} else {
			discover_file(paths[i], &v, &n, &cap);
		}
	}
	*out = v;
	return n;
}

void fl_scenario_refs_free(fl_scenario_ref *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].file);
		free(v[i].name);
		free(v[i].tags);
		free(v[i].load_error);
	}
	free(v);
}

int fl_scenario_has_tag(const fl_scenario_ref *ref, const char *tags)
{
	char want[1024];
	snprintf(want, sizeof want, "%s", tags);
	char *save = NULL;
	for (char *t = strtok_r(want, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		size_t tl = strlen(t);
		for (const char *p = ref->tags; p && *p;) {
			size_t n = strcspn(p, ",");
			if (n == tl && strncmp(p, t, n) == 0)
				return 1;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The Lua state: sandbox, protected calls, watchdog                    */
/* ------------------------------------------------------------------ */

fl_ctx *fl_ctx_of(lua_State *L)
{
	return *(fl_ctx **)lua_getextraspace(L);
}

int64_t fl_ctx_now(fl_ctx *ctx)
{
	if (ctx->inst && ctx->inst->sess)
		return fl_session_now(ctx->inst->sess);
	return fl_now_ns() - ctx->start_ns;
}

void fl_ctx_check_abort(fl_ctx *ctx, lua_State *L)
{
	if (!ctx)
		return;
	if (ctx->abort == FL_ABORT_NONE) {
		int sig = fl_monitor_interrupted();
		if (sig) {
			ctx->abort = FL_ABORT_INTERRUPT;
			luaL_error(L, "interrupted by %s", fl_signal_name(sig));
		}
		if (ctx->deadline_ns && fl_now_ns() > ctx->deadline_ns) {
			ctx->abort = FL_ABORT_TIMEOUT;
			char secs[32];
			snprintf(secs, sizeof secs, "%.1f", ctx->timeout_s);
			luaL_error(L,
				   "scenario timed out after %s s (the "
				   "watchdog stopped it)",
				   secs);
		}
	} else {
		/* Already aborting: refuse to go on, whatever catches it. */
		luaL_error(L, "%s",
			   ctx->abort == FL_ABORT_TIMEOUT ? "scenario timed out"
			   : ctx->abort == FL_ABORT_INTERRUPT
				   ? "interrupted"
				   : "scenario aborted by a failed t:assert");
	}
}

/* The count hook: a script that loops forever still reaches it. */
static void watchdog_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	fl_ctx *ctx = fl_ctx_of(L);
	if (!ctx)
		return;
	if (ctx->abort != FL_ABORT_NONE || fl_monitor_interrupted() ||
	    (ctx->deadline_ns && fl_now_ns() > ctx->deadline_ns))
		fl_ctx_check_abort(ctx, L);
}

/* Message handler: remembers the message, returns it with a traceback. */
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
	fl_ctx *ctx = fl_ctx_of(L);
	if (ctx && !ctx->error_msg)
		ctx->error_msg = fl_xstrdup(msg);
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* The one way the harness calls into Lua: protected, with the handler.
 * Leaves nresults values (or the traceback on error) on the stack. */
static int docall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	int status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	return status;
}

/* pcall and xpcall for scripts: the same as Lua's, except that once the
 * watchdog fired, the run was interrupted or a t:assert failed, the error
 * keeps going up: a script cannot swallow it. */
static int sb_finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	fl_ctx *ctx = fl_ctx_of(L);
	if (status != LUA_OK && status != LUA_YIELD) {
		if (ctx && ctx->abort != FL_ABORT_NONE)
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
	fl_ctx *ctx = fl_ctx_of(L);
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
	if (ctx)
		fl_ctx_log(ctx, "%s", b.data ? b.data : "");
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

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	if (!L) {
		fprintf(stderr, "faultline: cannot create a Lua state\n");
		exit(3);
	}
	*(fl_ctx **)lua_getextraspace(L) = NULL;
	luaL_openlibs(L);
	return L;
}

/* Builds the environment of a scenario chunk: the safe parts of the
 * standard library, our pcall, print and os. Pushes the table. */
static void push_sandbox(lua_State *L)
{
	static const char *const globals[] = {
		"assert",   "error",	"ipairs",   "next",	"pairs",
		"rawequal", "rawget",	"rawlen",   "rawset",	"select",
		"setmetatable", "getmetatable", "tonumber", "tostring",
		"type",	    "string",	"table",    "math",	"utf8",
		"coroutine", "_VERSION", NULL};
	lua_newtable(L);
	for (int i = 0; globals[i]; i++) {
		lua_getglobal(L, globals[i]);
		lua_setfield(L, -2, globals[i]);
	}
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

	/* io: reading and writing files, no processes. */
	lua_newtable(L);
	static const char *const iokeys[] = {"open", "lines", "type", NULL};
	lua_getglobal(L, "io");
	for (int i = 0; iokeys[i]; i++) {
		lua_getfield(L, -1, iokeys[i]);
		lua_setfield(L, -3, iokeys[i]);
	}
	lua_pop(L, 1);
	lua_setfield(L, -2, "io");

	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
}

/* Loads the file as text in its own environment and runs it (under the
 * watchdog if ctx is given). Leaves the returned table on the stack.
 * Returns 0, or -1 with the error (file and line) in err. */
static int load_scenario_chunk(lua_State *L, const char *file, char *err,
			       size_t errlen, fl_ctx *ctx)
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
	if (ctx)
		lua_sethook(L, watchdog_hook, LUA_MASKCOUNT, 1000);
	st = docall(L, 0, 1);
	if (st != LUA_OK) {
		const char *msg = ctx && ctx->error_msg ? ctx->error_msg
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

/* ------------------------------------------------------------------ */
/* Logging and expectations                                             */
/* ------------------------------------------------------------------ */

void fl_ctx_log(fl_ctx *ctx, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	double t = (double)fl_ctx_now(ctx) / 1e9;
	if (json_array_size(ctx->log) < 2000)
		json_array_append_new(ctx->log,
				      json_pack("{s:f,s:s}", "t", t, "msg", msg));
	if (ctx->opts->verbose)
		fprintf(stderr, "[%s +%.3fs] %s\n", ctx->name, t, msg);
}

void fl_ctx_expect(fl_ctx *ctx, lua_State *L, const char *what, int ok,
		   const char *measured, const char *allowed,
		   const char *message)
{
	ctx->expects = fl_xrealloc(ctx->expects, (size_t)(ctx->nexpects + 1) *
							 sizeof *ctx->expects);
	fl_expect_rec *e = &ctx->expects[ctx->nexpects++];
	memset(e, 0, sizeof *e);
	snprintf(e->what, sizeof e->what, "%s", what);
	e->ok = ok;
	snprintf(e->measured, sizeof e->measured, "%s", measured ? measured : "");
	snprintf(e->allowed, sizeof e->allowed, "%s", allowed ? allowed : "");
	snprintf(e->message, sizeof e->message, "%s", message ? message : "");
	if (L) {
		luaL_where(L, 1);
		const char *w = lua_tostring(L, -1);
		snprintf(e->where, sizeof e->where, "%s", w ? w : "");
		size_t wl = strlen(e->where);
		while (wl > 0 && (e->where[wl - 1] == ' ' ||
				  e->where[wl - 1] == ':'))
			e->where[--wl] = '\0';
		lua_pop(L, 1);
	}
	if (!ok)
		fl_ctx_log(ctx, "FAILED: %s", e->message);
}

/* ------------------------------------------------------------------ */
/* Placeholders                                                         */
/* ------------------------------------------------------------------ */

static int named_port(fl_ctx *ctx, const char *name)
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

/* Replaces {port}, {port:NAME}, {tmpdir} and {seed}. Other braces are
 * left as they are. Returns a malloc'd string. */
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
							      named_port(ctx, key + 5));
					else if (strcmp(key, "tmpdir") == 0)
						fl_buf_puts(&b, ctx->tmpdir);
					else if (strcmp(key, "seed") == 0)
						fl_buf_printf(&b, "%llu",
							      (unsigned long long)ctx->seed);
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

/* ------------------------------------------------------------------ */
/* Reading the scenario table                                           */
/* ------------------------------------------------------------------ */

/* Configuration errors name the file and the field; they make the
 * scenario fail to load. */
static int cfg_error(fl_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int cfg_error(fl_ctx *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char full[1400];
	snprintf(full, sizeof full, "%s: %s", ctx->ref->file, msg);
	free(ctx->error_msg);
	ctx->error_msg = fl_xstrdup(full);
	ctx->load_error = 1;
	return -1;
}

static int opt_number(lua_State *L, int idx, const char *key, double *out,
		      fl_ctx *ctx, const char *where)
{
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TNUMBER) {
		lua_pop(L, 1);
		return cfg_error(ctx, "%s%s must be a number (got %s)", where,
				 key, lua_typename(L, t));
	}
	*out = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return 1;
}

static int opt_string(lua_State *L, int idx, const char *key, char **out,
		      fl_ctx *ctx, const char *where)
{
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TSTRING && t != LUA_TNUMBER) {
		lua_pop(L, 1);
		return cfg_error(ctx, "%s%s must be a string (got %s)", where,
				 key, lua_typename(L, t));
	}
	free(*out);
	*out = fl_xstrdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return 1;
}

static int parse_tolerance_field(lua_State *L, int idx, const char *key,
				 int bytes, fl_tolerance *out, fl_ctx *ctx)
{
	int t = lua_getfield(L, idx, key);
	int r = 0;
	if (t == LUA_TNUMBER) {
		fl_tolerance_from_number(lua_tonumber(L, -1), out);
	} else if (t == LUA_TSTRING) {
		char err[160];
		if (fl_tolerance_parse(lua_tostring(L, -1), bytes, out, err,
				       sizeof err) < 0)
			r = cfg_error(ctx, "steady.%s: %s", key, err);
	} else if (t != LUA_TNIL) {
		r = cfg_error(ctx, "steady.%s must be a string like '+2' (got %s)",
			      key, lua_typename(L, t));
	}
	lua_pop(L, 1);
	return r;
}

static const struct {
	const char *name;
	int resource;
	int bytes;
} rlimit_names[] = {
	{"nofile", RLIMIT_NOFILE, 0}, {"as", RLIMIT_AS, 1},
	{"nproc", RLIMIT_NPROC, 0},   {"core", RLIMIT_CORE, 1},
	{"stack", RLIMIT_STACK, 1},   {"data", RLIMIT_DATA, 1},
	{"fsize", RLIMIT_FSIZE, 1},   {"cpu", RLIMIT_CPU, 0},
};

int fl_rlimit_lookup(const char *name, int *resource, int *bytes);
int fl_rlimit_lookup(const char *name, int *resource, int *bytes)
{
	for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0];
	     i++) {
		if (strcmp(rlimit_names[i].name, name) == 0) {
			*resource = rlimit_names[i].resource;
			*bytes = rlimit_names[i].bytes;
			return 0;
		}
	}
	return -1;
}

static int parse_port_value(lua_State *L, int idx, fl_ctx *ctx, int *out,
			    const char *what)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		*out = (int)lua_tointeger(L, idx);
		return 0;
	}
	if (lua_type(L, idx) == LUA_TSTRING) {
		char *s = fl_ctx_expand(ctx, lua_tostring(L, idx));
		char *end;
		long v = strtol(s, &end, 10);
		int bad = *end != '\0' || v <= 0 || v > 65535;
		free(s);
		if (!bad) {
			*out = (int)v;
			return 0;
		}
	}
	return cfg_error(ctx, "%s must be a port number or \"{port}\"", what);
}

static int parse_target(fl_ctx *ctx, lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	/* cmd */
	if (lua_getfield(L, idx, "cmd") != LUA_TTABLE) {
		lua_pop(L, 1);
		return cfg_error(ctx, "target.cmd must be a list of strings, "
				      "like { \"fixtures/bin/fileproc\", "
				      "\"--port\", \"{port}\" }");
	}
	lua_Integer n = luaL_len(L, -1);
	if (n < 1) {
		lua_pop(L, 1);
		return cfg_error(ctx, "target.cmd is empty");
	}
	ctx->cmd = fl_xcalloc((size_t)n + 1, sizeof *ctx->cmd);
	ctx->ncmd = (int)n;
	for (lua_Integer i = 1; i <= n; i++) {
		int t = lua_geti(L, -1, i);
		if (t != LUA_TSTRING && t != LUA_TNUMBER) {
			lua_pop(L, 2);
			return cfg_error(ctx, "target.cmd[%lld] must be a string",
					 (long long)i);
		}
		ctx->cmd[i - 1] = fl_xstrdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	/* env */
	if (lua_getfield(L, idx, "env") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			if (lua_type(L, -2) != LUA_TSTRING ||
			    (lua_type(L, -1) != LUA_TSTRING &&
			     lua_type(L, -1) != LUA_TNUMBER)) {
				lua_pop(L, 3);
				return cfg_error(ctx, "target.env must map names "
						      "to strings");
			}
			json_object_set_new(ctx->env, lua_tostring(L, -2),
					    json_string(lua_tostring(L, -1)));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	if (opt_string(L, idx, "cwd", &ctx->cwd, ctx, "target.") < 0)
		return -1;

	/* ready */
	int t = lua_getfield(L, idx, "ready");
	if (t == LUA_TTABLE) {
		int r = lua_absindex(L, -1);
		char *text = NULL;
		if (opt_string(L, r, "stdout", &text, ctx, "target.ready.") > 0)
			ctx->ready_streams = FL_STDOUT;
		else if (opt_string(L, r, "stderr", &text, ctx,
				    "target.ready.") > 0)
			ctx->ready_streams = FL_STDERR;
		else if (opt_string(L, r, "output", &text, ctx,
				    "target.ready.") > 0)
			ctx->ready_streams = FL_STDOUT | FL_STDERR;
		if (ctx->load_error) {
			free(text);
			lua_pop(L, 1);
			return -1;
		}
		ctx->ready_text = text;
		lua_getfield(L, r, "regex");
		ctx->ready_regex = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (lua_getfield(L, r, "port") != LUA_TNIL) {
			if (parse_port_value(L, -1, ctx, &ctx->ready_port,
					     "target.ready.port") < 0) {
				lua_pop(L, 2);
				return -1;
			}
		}
		lua_pop(L, 1);
		if (opt_number(L, r, "delay", &ctx->ready_delay_s, ctx,
			       "target.ready.") < 0 ||
		    opt_number(L, r, "timeout", &ctx->ready_timeout_s, ctx,
			       "target.ready.") < 0) {
			lua_pop(L, 1);
			return -1;
		}
	} else if (t != LUA_TNIL) {
		lua_pop(L, 1);
		return cfg_error(ctx, "target.ready must be a table like "
				      "{ stdout = \"READY\" }");
	}
	lua_pop(L, 1);

	/* health */
	t = lua_getfield(L, idx, "health");
	if (t == LUA_TFUNCTION) {
		ctx->health.kind = 2;
		lua_pushvalue(L, -1);
		ctx->health.fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	} else if (t == LUA_TTABLE) {
		int h = lua_absindex(L, -1);
		ctx->health.kind = 1;
		if (lua_getfield(L, h, "tcp") == LUA_TNIL) {
			lua_pop(L, 2);
			return cfg_error(ctx, "target.health needs tcp = "
					      "\"{port}\" (or be a function)");
		}
		if (parse_port_value(L, -1, ctx, &ctx->health.port,
				     "target.health.tcp") < 0) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
		if (lua_getfield(L, h, "send") == LUA_TSTRING) {
			size_t len;
			const char *s = lua_tolstring(L, -1, &len);
			ctx->health.send = fl_xmalloc(len + 1);
			memcpy(ctx->health.send, s, len + 1);
			ctx->health.send_len = len;
		}
		lua_pop(L, 1);
		if (opt_string(L, h, "expect", &ctx->health.expect, ctx,
			       "target.health.") < 0) {
			lua_pop(L, 1);
			return -1;
		}
		double to = 0.5, iv = 0.1;
		if (opt_number(L, h, "timeout", &to, ctx, "target.health.") < 0 ||
		    opt_number(L, h, "interval", &iv, ctx, "target.health.") <
			    0) {
			lua_pop(L, 1);
			return -1;
		}
		ctx->health.timeout_ns = (int64_t)(to * 1e9);
		ctx->health.interval_ns = (int64_t)(iv * 1e9);
	} else if (t != LUA_TNIL) {
		lua_pop(L, 1);
		return cfg_error(ctx, "target.health must be a table or a "
				      "function");
	}
	lua_pop(L, 1);
	if (ctx->health.kind == 2) {
		ctx->health.interval_ns = 100 * FL_NS_PER_MS;
		ctx->health.timeout_ns = 500 * FL_NS_PER_MS;
		lua_getfield(L, idx, "health_interval");
		if (lua_isnumber(L, -1))
			ctx->health.interval_ns =
				(int64_t)(lua_tonumber(L, -1) * 1e9);
		lua_pop(L, 1);
	}

	/* stop */
	if (lua_getfield(L, idx, "stop") == LUA_TTABLE) {
		int s = lua_absindex(L, -1);
		char *sig = NULL;
		if (opt_string(L, s, "signal", &sig, ctx, "target.stop.") < 0 ||
		    opt_number(L, s, "grace", &ctx->stop_grace_s, ctx,
			       "target.stop.") < 0) {
			free(sig);
			lua_pop(L, 1);
			return -1;
		}
		if (sig) {
			ctx->stop_signal = fl_signal_from_name(sig);
			if (ctx->stop_signal < 0) {
				cfg_error(ctx, "target.stop.signal: unknown "
					       "signal '%s'",
					  sig);
				free(sig);
				lua_pop(L, 1);
				return -1;
			}
			free(sig);
		}
	}
	lua_pop(L, 1);

	/* rlimits */
	if (lua_getfield(L, idx, "rlimits") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING
						? lua_tostring(L, -2)
						: "?";
			int res, bytes;
			if (fl_rlimit_lookup(k, &res, &bytes) < 0) {
				cfg_error(ctx,
					  "target.rlimits: unknown limit '%s' "
					  "(nofile, as, nproc, core, stack, "
					  "data, fsize, cpu)",
					  k);
				lua_pop(L, 3);
				return -1;
			}
			double v;
			if (lua_type(L, -1) == LUA_TNUMBER)
				v = lua_tonumber(L, -1);
			else if (lua_type(L, -1) == LUA_TSTRING && bytes &&
				 fl_parse_bytes(lua_tostring(L, -1), &v) == 0)
				;
			else {
				cfg_error(ctx, "target.rlimits.%s must be a "
					       "number%s",
					  k, bytes ? " or a size like '512MiB'"
						   : "");
				lua_pop(L, 3);
				return -1;
			}
			if (ctx->nrlimits < FL_TARGET_MAX_RLIMITS) {
				fl_rlimit_spec *r = &ctx->rlimits[ctx->nrlimits++];
				r->resource = res;
				r->soft = r->hard = (rlim_t)v;
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	char *close_mode = NULL;
	if (opt_string(L, idx, "close", &close_mode, ctx, "target.") < 0)
		return -1;
	if (close_mode) {
		if (strcmp(close_mode, "linux") != 0 &&
		    strcmp(close_mode, "libfiu") != 0) {
			free(close_mode);
			return cfg_error(ctx, "target.close must be \"linux\" "
					      "(a failed close releases the "
					      "fd, the default) or \"libfiu\" "
					      "(the fd stays open)");
		}
		snprintf(ctx->close_mode, sizeof ctx->close_mode, "%s",
			 close_mode);
		free(close_mode);
	}
	char *limit = NULL;
	if (opt_string(L, idx, "output_limit", &limit, ctx, "target.") < 0)
		return -1;
	if (limit) {
		double v;
		if (fl_parse_bytes(limit, &v) < 0 || v < 1024) {
			free(limit);
			return cfg_error(ctx, "target.output_limit must be a "
					      "size like '64KiB'");
		}
		ctx->output_limit = (size_t)v;
		free(limit);
	}
	lua_getfield(L, idx, "autostart");
	if (!lua_isnil(L, -1))
		ctx->autostart = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, idx, "exits");
	ctx->exits = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, idx, "inherit");
	ctx->inherit = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (opt_string(L, idx, "watch", &ctx->watch, ctx, "target.") < 0)
		return -1;
	t = lua_getfield(L, idx, "oom");
	if (t == LUA_TTABLE) {
		int o = lua_absindex(L, -1);
		char *rss = NULL;
		if (opt_string(L, o, "rss", &rss, ctx, "target.oom.") < 0) {
			lua_pop(L, 1);
			return -1;
		}
		if (!rss || fl_parse_bytes(rss, &ctx->oom_rss) < 0 ||
		    ctx->oom_rss <= 0) {
			free(rss);
			lua_pop(L, 1);
			return cfg_error(ctx, "target.oom.rss must be a size like "
					      "'200MiB'");
		}
		free(rss);
		lua_getfield(L, o, "core");
		ctx->oom_core = lua_toboolean(L, -1);
		lua_pop(L, 1);
	} else if (t != LUA_TNIL) {
		lua_pop(L, 1);
		return cfg_error(ctx, "target.oom must be a table like { rss = "
				      "\"200MiB\" }");
	}
	lua_pop(L, 1);
	return 0;
}

static int parse_scenario(fl_ctx *ctx, lua_State *L)
{
	int idx = lua_gettop(L);
	const char *base = strrchr(ctx->ref->file, '/');
	base = base ? base + 1 : ctx->ref->file;
	if (opt_string(L, idx, "name", &ctx->name, ctx, "") < 0)
		return -1;
	if (!ctx->name)
		ctx->name = fl_xstrdup(ctx->ref->name ? ctx->ref->name : base);
	if (opt_string(L, idx, "description", &ctx->description, ctx, "") < 0)
		return -1;
	if (lua_getfield(L, idx, "tags") == LUA_TTABLE) {
		lua_Integer n = luaL_len(L, -1);
		for (lua_Integer i = 1; i <= n; i++) {
			if (lua_geti(L, -1, i) == LUA_TSTRING)
				json_array_append_new(
					ctx->tags, json_string(lua_tostring(L, -1)));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	ctx->seed = 1;
	int t = lua_getfield(L, idx, "seed");
	if (t == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0)
		ctx->seed = (uint64_t)lua_tointeger(L, -1);
	else if (t != LUA_TNIL) {
		lua_pop(L, 1);
		return cfg_error(ctx, "seed must be a non-negative integer");
	}
	lua_pop(L, 1);
	if (ctx->opts->have_seed)
		ctx->seed = ctx->opts->seed;

	ctx->timeout_s = DEFAULT_TIMEOUT_S;
	if (opt_number(L, idx, "timeout", &ctx->timeout_s, ctx, "") < 0)
		return -1;
	if (ctx->opts->timeout_s > 0)
		ctx->timeout_s = ctx->opts->timeout_s;
	if (ctx->timeout_s <= 0)
		return cfg_error(ctx, "timeout must be positive");

	t = lua_getfield(L, idx, "xfail");
	if (t == LUA_TBOOLEAN) {
		ctx->xfail = lua_toboolean(L, -1);
	} else if (t == LUA_TSTRING) {
		ctx->xfail = 1;
		ctx->xfail_reason = fl_xstrdup(lua_tostring(L, -1));
	} else if (t == LUA_TTABLE) {
		ctx->xfail = 1;
		int x = lua_absindex(L, -1);
		if (opt_string(L, x, "reason", &ctx->xfail_reason, ctx,
			       "xfail.") < 0 ||
		    opt_string(L, x, "match", &ctx->xfail_match, ctx,
			       "xfail.") < 0) {
			lua_pop(L, 1);
			return -1;
		}
	} else if (t != LUA_TNIL) {
		lua_pop(L, 1);
		return cfg_error(ctx, "xfail must be true, a reason, or "
				      "{ reason = ..., match = ... }");
	}
	lua_pop(L, 1);

	/* Ports come before the target so placeholders expand. */
	ctx->port = fl_probe_free_port();
	if (ctx->port < 0)
		return cfg_error(ctx, "no free loopback port: %s",
				 strerror(-ctx->port));

	if (lua_getfield(L, idx, "target") != LUA_TTABLE) {
		lua_pop(L, 1);
		return cfg_error(ctx, "a scenario needs a target = { cmd = "
				      "{ ... } } table");
	}
	if (parse_target(ctx, L, -1) < 0) {
		lua_pop(L, 1);
		return -1;
	}
	lua_pop(L, 1);

	if (lua_getfield(L, idx, "sample") == LUA_TTABLE) {
		if (opt_number(L, lua_gettop(L), "hz", &ctx->hz, ctx,
			       "sample.") < 0) {
			lua_pop(L, 1);
			return -1;
		}
	}
	lua_pop(L, 1);
	if (ctx->hz < 1 || ctx->hz > 10000)
		return cfg_error(ctx, "sample.hz must be between 1 and 10000");

	if (lua_getfield(L, idx, "steady") == LUA_TTABLE) {
		int s = lua_gettop(L);
		if (parse_tolerance_field(L, s, "fds", 0, &ctx->steady.fds, ctx) <
			    0 ||
		    parse_tolerance_field(L, s, "threads", 0,
					  &ctx->steady.threads, ctx) < 0 ||
		    parse_tolerance_field(L, s, "rss", 1, &ctx->steady.rss,
					  ctx) < 0 ||
		    parse_tolerance_field(L, s, "files", 0, &ctx->steady.files,
					  ctx) < 0) {
			lua_pop(L, 1);
			return -1;
		}
		lua_getfield(L, s, "health");
		ctx->steady.health = lua_toboolean(L, -1);
		lua_pop(L, 1);
	} else {
		/* Without a hypothesis of its own a scenario still expects
		 * fds and threads to come back to where they were. */
		fl_tolerance_from_number(0, &ctx->steady.fds);
		fl_tolerance_from_number(0, &ctx->steady.threads);
	}
	lua_pop(L, 1);
	if (ctx->steady.files.set && !ctx->watch)
		return cfg_error(ctx, "steady.files needs target.watch = "
				      "\"DIR\" (the directory whose entries "
				      "are counted)");
	if (ctx->steady.health && ctx->health.kind == 0)
		return cfg_error(ctx, "steady.health = true needs a target.health "
				      "probe");

	if (lua_getfield(L, idx, "recovery") == LUA_TTABLE) {
		double hold = -1;
		if (opt_number(L, lua_gettop(L), "hold", &hold, ctx,
			       "recovery.") < 0) {
			lua_pop(L, 1);
			return -1;
		}
		if (hold >= 0)
			ctx->hold_ns = (int64_t)(hold * 1e9);
	}
	lua_pop(L, 1);

	if (lua_getfield(L, idx, "run") != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return cfg_error(ctx, "a scenario needs run = function(t) ... end");
	}
	ctx->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Starting and stopping the target                                     */
/* ------------------------------------------------------------------ */

static char **build_env(fl_ctx *ctx, int shm_fd)
{
	size_t n = 0;
	while (environ[n])
		n++;
	size_t extra = json_object_size(ctx->env) + 8;
	char **env = fl_xcalloc(n + extra + 1, sizeof *env);
	size_t k = 0;
	const char *old_preload = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];
		if (strncmp(e, "LD_PRELOAD=", 11) == 0) {
			old_preload = e + 11;
			continue;
		}
		if (strncmp(e, "FL_", 3) == 0 || strncmp(e, "FIU_", 4) == 0)
			continue;
		/* Variables the scenario sets replace the harness's. */
		const char *eq = strchr(e, '=');
		if (eq) {
			char name[256];
			snprintf(name, sizeof name, "%.*s", (int)(eq - e), e);
			if (json_object_get(ctx->env, name))
				continue;
		}
		env[k++] = fl_xstrdup(e);
	}
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "LD_PRELOAD=%s:%s", ctx->opts->agent_path,
		      ctx->opts->fiu_preload_path);
	if (old_preload && *old_preload)
		fl_buf_printf(&b, ":%s", old_preload);
	env[k++] = fl_buf_steal(&b);
	/* Seed, close mode, inherit and the points are in the region. */
	fl_buf_init(&b);
	fl_buf_printf(&b, "%s=%d", FL_ENV_SHM_FD, shm_fd);
	env[k++] = fl_buf_steal(&b);
	const char *key;
	json_t *val;
	json_object_foreach(ctx->env, key, val)
	{
		char *v = fl_ctx_expand(ctx, json_string_value(val));
		fl_buf_init(&b);
		fl_buf_printf(&b, "%s=%s", key, v);
		env[k++] = fl_buf_steal(&b);
		free(v);
	}
	env[k] = NULL;
	return env;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

fl_health_result *fl_ctx_probe_now(fl_ctx *ctx)
{
	if (ctx->health.kind == 0 || !ctx->inst || !ctx->inst->sess)
		return NULL;
	fl_health_result r;
	memset(&r, 0, sizeof r);
	int64_t t0 = fl_ctx_now(ctx);
	if (ctx->health.kind == 1) {
		fl_tcp_probe p = {.port = ctx->health.port,
				  .send = ctx->health.send,
				  .send_len = ctx->health.send_len,
				  .expect = ctx->health.expect,
				  .timeout_ns = ctx->health.timeout_ns};
		fl_probe_tcp(&p, &r);
	} else {
		lua_State *L = ctx->L;
		int64_t start = fl_now_ns();
		lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->health.fn_ref);
		fl_lua_push_target(L, ctx);
		char *saved = ctx->error_msg;
		ctx->error_msg = NULL;
		int st = docall(L, 1, 2);
		if (st == LUA_OK) {
			r.ok = lua_toboolean(L, -2);
			if (!r.ok && lua_type(L, -1) == LUA_TSTRING)
				snprintf(r.detail, sizeof r.detail, "%s",
					 lua_tostring(L, -1));
			lua_pop(L, 2);
		} else {
			r.ok = 0;
			snprintf(r.detail, sizeof r.detail, "health function: %s",
				 ctx->error_msg ? ctx->error_msg : "error");
			lua_pop(L, 1);
		}
		free(ctx->error_msg);
		ctx->error_msg = saved;
		r.latency_ns = fl_now_ns() - start;
	}
	r.t_ns = t0;
	if (ctx->nhealth == ctx->health_cap) {
		ctx->health_cap = ctx->health_cap ? ctx->health_cap * 2 : 256;
		ctx->health_results = fl_xrealloc(
			ctx->health_results,
			ctx->health_cap * sizeof *ctx->health_results);
	}
	ctx->health_results[ctx->nhealth] = r;
	return &ctx->health_results[ctx->nhealth++];
}

/* Learns whether the target's agent has registered. (Its footprint is
 * read from its registration at every sample by the monitor.) */
static void check_hello(fl_instance *in)
{
	fl_faults_registered(&in->faults);
}

void fl_ctx_wait(fl_ctx *ctx, int64_t deadline_ns, int return_on_news)
{
	lua_State *L = ctx->L;
	for (;;) {
		fl_ctx_check_abort(ctx, L);
		fl_ctx_poll_triggers(ctx);
		int64_t now = fl_now_ns();
		if (now >= deadline_ns)
			return;
		fl_instance *in = ctx->inst;
		int live = in && in->running && in->sess && !in->sess->exit.exited;
		if (live && ctx->health.kind && now >= ctx->next_probe_ns) {
			fl_ctx_probe_now(ctx);
			ctx->next_probe_ns = fl_now_ns() + ctx->health.interval_ns;
			continue;
		}
		int64_t wake = deadline_ns;
		if (live && ctx->health.kind && ctx->next_probe_ns < wake)
			wake = ctx->next_probe_ns;
		if (ctx->deadline_ns && ctx->deadline_ns + FL_NS_PER_MS < wake)
			wake = ctx->deadline_ns + FL_NS_PER_MS;
		/* Wake at least every 50 ms to notice signals. */
		if (wake > now + 50 * FL_NS_PER_MS)
			wake = now + 50 * FL_NS_PER_MS;
		if (in && in->sess) {
			int news = fl_session_wait(in->sess, wake, -1);
			check_hello(in);
			if (news && return_on_news)
				return;
		} else {
			int64_t left = wake - fl_now_ns();
			if (left > 0) {
				struct timespec ts = {left / FL_NS_PER_SEC,
						      left % FL_NS_PER_SEC};
				nanosleep(&ts, NULL);
			}
		}
	}
}

void fl_ctx_ack_exit(fl_ctx *ctx)
{
	if (ctx->inst)
		ctx->inst->exit_acknowledged = 1;
}

static void describe_exit(const fl_exit_info *e, char *out, size_t len)
{
	if (!e->exited)
		snprintf(out, len, "still running");
	else if (e->signal)
		snprintf(out, len, "killed by %s%s", fl_signal_name(e->signal),
			 e->core ? " (core dumped)" : "");
	else
		snprintf(out, len, "exit status %d", e->code);
}

static const char *last_line(const char *text, char *buf, size_t len)
{
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	size_t start = n;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	snprintf(buf, len, "%.*s", (int)(n - start), text + start);
	return buf;
}

/* Replay: hands the agent the recorded calls of each point and turns
 * them on for the whole run, so exactly those calls fail whenever they
 * happen; windows then only keep the episodes' books. */
static int load_replay(fl_ctx *ctx, fl_instance *in, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < ctx->nreplay) {
		const char *point = ctx->replay[i].point;
		fl_buf lines;
		fl_buf_init(&lines);
		size_t j = i;
		for (; j < ctx->nreplay && !strcmp(ctx->replay[j].point, point); j++)
			fl_buf_printf(&lines, "%s %llu %d\n", ctx->replay[j].actor,
				      (unsigned long long)ctx->replay[j].n,
				      ctx->replay[j].err);
		int r = fl_faults_replay(&in->faults, point, lines.data, err,
					 errlen, AGENT_TIMEOUT_MS);
		fl_buf_free(&lines);
		if (r < 0)
			return r;
		fl_fault_spec spec;
		memset(&spec, 0, sizeof spec);
		snprintf(spec.point, sizeof spec.point, "%s", point);
		spec.p = 1;
		spec.failnum = 1;
		spec.replay = 1;
		r = fl_faults_enable(&in->faults, &spec, err, errlen,
				     AGENT_TIMEOUT_MS);
		if (r < 0)
			return r;
		i = j;
	}
	fl_ctx_log(ctx, "replay: %zu recorded faults loaded", ctx->nreplay);
	return 0;
}

/* The point name of a journal entry of an instance. */
static const char *entry_point(const fl_instance *in, const fl_jentry *e)
{
	const char *name = fl_faults_slot_name(&in->faults, (int)e->slot);
	return name ? name : "?";
}

static void abbreviate_tmpdir(fl_ctx *ctx, fl_fd_entry *v, int n);
static json_t *fd_list_json(const fl_fd_entry *v, int n, int max);
static json_t *group_list_json(const fl_group *g, int n);
static json_t *thread_list_json(const fl_thread_entry *v, int n);

/* Runs gcore on the target, waiting at most a minute. Returns the core's
 * path (malloc'd) or NULL with the reason in why. */
static char *take_core(fl_ctx *ctx, pid_t pid, char *why, size_t whylen)
{
	if (!ctx->opts->artifact_dir) {
		snprintf(why, whylen, "no report directory to keep a core in");
		return NULL;
	}
	char prefix[PATH_MAX];
	snprintf(prefix, sizeof prefix, "%s/core-%s", ctx->opts->artifact_dir,
		 ctx->name);
	for (char *p = prefix + strlen(ctx->opts->artifact_dir) + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '_';
	char pidbuf[32];
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	pid_t g = fork();
	if (g == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("gcore", "gcore", "-o", prefix, pidbuf, (char *)NULL);
		_exit(127);
	}
	if (g < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return NULL;
	}
	int status = 0;
	int64_t deadline = fl_now_ns() + 60 * FL_NS_PER_SEC;
	while (waitpid(g, &status, WNOHANG) == 0) {
		if (fl_now_ns() > deadline) {
			kill(g, SIGKILL);
			waitpid(g, &status, 0);
			snprintf(why, whylen, "gcore did not finish within 60 s");
			return NULL;
		}
		struct timespec ts = {0, 20 * FL_NS_PER_MS};
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "gcore failed (exit %d; is gdb installed?)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return NULL;
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s.%d", prefix, (int)pid);
	return fl_xstrdup(path);
}

/* The OOM precursor: once RSS reached target.oom.rss, the monitor took a
 * snapshot; it becomes the report's dump (and a core, if asked). */
static void check_oom(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	if (ctx->oom || !in || !in->sess)
		return;
	fl_session *s = in->sess;
	pthread_mutex_lock(&s->lock);
	int hit = s->oom_hit;
	pthread_mutex_unlock(&s->lock);
	if (!hit)
		return;
	ctx->oom = json_object();
	json_object_set_new(ctx->oom, "t", json_real((double)s->oom_t_ns / 1e9));
	json_object_set_new(ctx->oom, "rss", json_integer(s->oom_sample_rss));
	json_object_set_new(ctx->oom, "threshold", json_integer((json_int_t)ctx->oom_rss));
	if (s->oom_nfds >= 0 && s->oom_fds) {
		abbreviate_tmpdir(ctx, s->oom_fds, s->oom_nfds);
		fl_group *g;
		int ng = fl_forensics_group_fds(s->oom_fds, s->oom_nfds, &g);
		json_object_set_new(ctx->oom, "fd_count", json_integer(s->oom_nfds));
		json_object_set_new(ctx->oom, "fds", fd_list_json(s->oom_fds, s->oom_nfds, 1000));
		json_object_set_new(ctx->oom, "fd_groups", group_list_json(g, ng));
		free(g);
	}
	if (s->oom_nthreads >= 0 && s->oom_threads) {
		fl_group *g;
		int ng = fl_forensics_group_threads(s->oom_threads, s->oom_nthreads, &g);
		json_object_set_new(ctx->oom, "threads", thread_list_json(s->oom_threads, s->oom_nthreads));
		json_object_set_new(ctx->oom, "thread_groups", group_list_json(g, ng));
		free(g);
	}
	json_object_set_new(ctx->oom, "smaps_rollup",
			    s->oom_smaps ? json_string(s->oom_smaps) : json_null());
	char rss[32], lim[32];
	fl_fmt_bytes(rss, sizeof rss, (double)s->oom_sample_rss);
	fl_fmt_bytes(lim, sizeof lim, ctx->oom_rss);
	fl_ctx_log(ctx, "OOM precursor: RSS %s reached %s at %.3f s: fd table, "
			"threads and smaps_rollup saved",
		   rss, lim, (double)s->oom_t_ns / 1e9);
	json_t *core = json_null();
	if (ctx->oom_core && !s->exit.exited) {
		char why[256];
		char *path = take_core(ctx, s->child.pid, why, sizeof why);
		if (path) {
			fl_ctx_log(ctx, "OOM precursor: core written to %s", path);
			const char *base = strrchr(path, '/');
			core = json_string(base ? base + 1 : path);
			free(path);
		} else {
			fl_ctx_log(ctx, "OOM precursor: no core: %s", why);
			json_object_set_new(ctx->oom, "core_error", json_string(why));
		}
	}
	json_object_set_new(ctx->oom, "core", core);
}

void fl_ctx_poll_triggers(fl_ctx *ctx)
{
	check_oom(ctx);
	for (int i = 0; i < ctx->nwindows; i++) {
		fl_window *w = &ctx->windows[i];
		/* Armed for a start that has not happened yet: no instance. */
		if (w->on_ns >= 0 || w->off_ns >= 0 ||
		    w->instance >= ctx->ninstances)
			continue;
		fl_instance *in = ctx->instances[w->instance];
		if (!in->sess)
			continue;
		if (w->waiter) {
			pthread_mutex_lock(&in->sess->lock);
			int matched = w->waiter->matched;
			int64_t at = w->waiter->t_ns;
			pthread_mutex_unlock(&in->sess->lock);
			if (!matched || !in->running)
				continue;
			fl_session_remove_waiter(in->sess, w->waiter);
			free(w->waiter);
			w->waiter = NULL;
			char err[256];
			if (!ctx->replay &&
			    fl_faults_enable(&in->faults, &w->spec, err, sizeof err,
					     AGENT_TIMEOUT_MS) < 0) {
				fl_ctx_log(ctx, "output trigger: %s", err);
				continue;
			}
			w->on_ns = fl_session_now(in->sess);
			fl_ctx_log(ctx, "fault on: %s (the line arrived at %.3f s)",
				   w->spec.point, (double)at / 1e9);
		}
	}
	/* Windows the agent opened itself, after a number of calls. */
	for (int k = 0; k < ctx->ninstances; k++) {
		fl_instance *in = ctx->instances[k];
		if (!in->sess)
			continue;
		pthread_mutex_lock(&in->sess->lock);
		for (; in->jseen < in->sess->njrecs; in->jseen++) {
			const fl_jentry *e = &in->sess->jrecs[in->jseen];
			if (e->kind != FL_JREC_WINDOW)
				continue;
			const char *point = entry_point(in, e);
			for (int i = 0; i < ctx->nwindows; i++) {
				fl_window *w = &ctx->windows[i];
				if (w->instance != k || w->on_ns >= 0 ||
				    strcmp(w->trigger, "calls") != 0 ||
				    strcmp(w->spec.point, point) != 0)
					continue;
				w->on_ns = e->t_ns;
				if (w->episode >= 0 &&
				    ctx->episodes[w->episode].on_ns < 0)
					ctx->episodes[w->episode].on_ns = e->t_ns;
				fl_ctx_log(ctx,
					   "fault on: %s (after call %llu of %s "
					   "by actor %s)",
					   w->spec.point,
					   (unsigned long long)w->spec.after_n,
					   w->spec.after_point, e->actor);
			}
		}
		pthread_mutex_unlock(&in->sess->lock);
	}
}

int fl_ctx_start(fl_ctx *ctx, char *err, size_t errlen)
{
	if (ctx->inst && ctx->inst->running) {
		snprintf(err, errlen, "the target is already running (pid %d)",
			 (int)ctx->inst->sess->child.pid);
		return -EBUSY;
	}
	fl_instance *in = fl_xcalloc(1, sizeof *in);
	ctx->instances = fl_xrealloc(ctx->instances,
				     (size_t)(ctx->ninstances + 1) *
					     sizeof *ctx->instances);
	ctx->instances[ctx->ninstances++] = in;
	ctx->inst = in;
	in->inherit = ctx->inherit;

	in->argv = fl_xcalloc((size_t)ctx->ncmd + 1, sizeof *in->argv);
	in->argc = ctx->ncmd;
	for (int i = 0; i < ctx->ncmd; i++)
		in->argv[i] = fl_ctx_expand(ctx, ctx->cmd[i]);
	char *cwd = ctx->cwd ? fl_ctx_expand(ctx, ctx->cwd) : NULL;

	int r = fl_faults_create(&in->faults, ctx->seed, ctx->close_mode,
				 ctx->inherit, ctx->replay ? ctx->nreplay : 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the fault region: %s",
			 strerror(-r));
		free(cwd);
		return r;
	}
	fl_journal_attach(&in->journal, in->faults.shm, in->faults.shm_size);
	fl_faults_set_slots(&in->faults, ctx->points, ctx->npoints);
	/* Before the first instruction: the recorded calls of a replay, and
	 * the windows the script opened before starting the target. */
	r = ctx->replay ? load_replay(ctx, in, err, errlen) : 0;
	for (int i = 0; i < ctx->nwindows && r == 0; i++) {
		fl_window *w = &ctx->windows[i];
		if (w->instance == ctx->ninstances - 1 && w->off_ns < 0 &&
		    !ctx->replay)
			r = fl_faults_enable(&in->faults, &w->spec, err, errlen,
					     AGENT_TIMEOUT_MS);
	}
	if (r < 0) {
		snprintf(in->start_error, sizeof in->start_error, "%s", err);
		free(cwd);
		return r;
	}
	int shm_fd = fl_faults_fd(&in->faults);
	char **env = build_env(ctx, shm_fd);
	fl_spawn_spec spec = {.argv = in->argv,
			      .envp = env,
			      .cwd = cwd,
			      .inherit_fds = {shm_fd},
			      .ninherit = 1,
			      .nrlimits = ctx->nrlimits};
	memcpy(spec.rlimits, ctx->rlimits, sizeof spec.rlimits);
	fl_child child;
	r = fl_target_spawn(&spec, &child, err, errlen);
	free_strv(env);
	free(cwd);
	fl_faults_spawned(&in->faults, r < 0 ? 0 : child.pid);
	if (r < 0) {
		snprintf(in->start_error, sizeof in->start_error, "%s", err);
		fl_faults_close(&in->faults);
		return r;
	}
	fl_guardian_watch_group(child.pid);
	in->sess = fl_xcalloc(1, sizeof *in->sess);
	fl_session_init(in->sess, &child, ctx->hz, ctx->output_limit);
	/* The monitor reads the agent's footprint in the target from its
	 * registration at every sample. */
	in->sess->faults = &in->faults;
	in->sess->journal = &in->journal;
	if (ctx->watch) {
		char *w = fl_ctx_expand(ctx, ctx->watch);
		snprintf(in->sess->watch_path, sizeof in->sess->watch_path, "%s",
			 w);
		free(w);
	}
	in->sess->oom_rss = (int64_t)ctx->oom_rss;
	if (ctx->opts->verbose) {
		in->sess->tee = 1;
		snprintf(in->sess->tee_prefix, sizeof in->sess->tee_prefix,
			 "[%.40s]", ctx->name);
	}
	fl_waiter ready;
	int have_waiter = 0;
	if (ctx->ready_streams && ctx->ready_text) {
		if (fl_session_add_waiter(in->sess, &ready, ctx->ready_streams,
					  ctx->ready_text, ctx->ready_regex, err,
					  errlen) < 0) {
			fl_monitor_add(in->sess);
			in->running = 1;
			fl_ctx_stop(ctx, SIGKILL, 0);
			return -EINVAL;
		}
		have_waiter = 1;
	}
	fl_monitor_add(in->sess);
	in->running = 1;
	fl_ctx_log(ctx, "started pid %d: %s", (int)child.pid, in->argv[0]);

	/* Wait until it is ready. */
	double timeout = ctx->ready_timeout_s > 0 ? ctx->ready_timeout_s : 10;
	int64_t ready_deadline = fl_now_ns() + (int64_t)(timeout * 1e9);
	int64_t delay_until = fl_now_ns() + (int64_t)(ctx->ready_delay_s * 1e9);
	int ok = 0;
	char why[512] = "";
	for (;;) {
		check_hello(in);
		pthread_mutex_lock(&in->sess->lock);
		int exited = in->sess->exit.exited;
		int line_ok = !have_waiter || ready.matched;
		pthread_mutex_unlock(&in->sess->lock);
		int port_ok = 1;
		if (line_ok && ctx->ready_port) {
			fl_tcp_probe p = {.port = ctx->ready_port,
					  .timeout_ns = 100 * FL_NS_PER_MS};
			fl_health_result hr;
			port_ok = !exited && fl_probe_tcp(&p, &hr);
		}
		/* A batch job (ready at once, or once it printed its line)
		 * may well have finished already: it was ready. */
		if (line_ok && port_ok && fl_now_ns() >= delay_until) {
			ok = 1;
			break;
		}
		if (exited)
			break;
		if (fl_now_ns() > ready_deadline)
			break;
		int64_t wake = fl_now_ns() + 20 * FL_NS_PER_MS;
		if (fl_monitor_interrupted() ||
		    (ctx->deadline_ns && fl_now_ns() > ctx->deadline_ns))
			break;
		fl_session_wait(in->sess, wake, -1);
	}
	if (have_waiter)
		fl_session_remove_waiter(in->sess, &ready);
	if (ok) {
		in->ready_ns = fl_session_now(in->sess);
		/* The agent registers before main(); a target that is ready
		 * without it never loads it. */
		int64_t hello_deadline = fl_now_ns() + 500 * FL_NS_PER_MS;
		while (!fl_faults_registered(&in->faults) &&
		       fl_now_ns() < hello_deadline && !in->sess->exit.exited)
			fl_session_wait(in->sess, fl_now_ns() + 10 * FL_NS_PER_MS,
					-1);
		if (!in->faults.registered)
			fl_ctx_log(ctx, "warning: no faultline agent in the "
					"target (static or Go binary?): faults "
					"cannot be injected");
		ctx->next_probe_ns = fl_now_ns();
		fl_ctx_log(ctx, "ready after %.3f s",
			   (double)in->ready_ns / 1e9);
		return 0;
	}

	/* Not ready: say why, with the last thing it printed. */
	pthread_mutex_lock(&in->sess->lock);
	fl_exit_info ex = in->sess->exit;
	pthread_mutex_unlock(&in->sess->lock);
	char *errtail = fl_stream_tail(in->sess, FL_STDERR, NULL);
	char lastline[256];
	last_line(errtail, lastline, sizeof lastline);
	free(errtail);
	if (ex.exited) {
		char desc[96];
		describe_exit(&ex, desc, sizeof desc);
		snprintf(why, sizeof why, "the target ended before it was ready (%s)%s%s",
			 desc, lastline[0] ? "; last stderr line: " : "",
			 lastline);
	} else if (fl_monitor_interrupted()) {
		snprintf(why, sizeof why, "interrupted while the target started");
	} else {
		fl_buf b;
		fl_buf_init(&b);
		fl_buf_printf(&b, "the target was not ready within %.1f s:",
			      timeout);
		if (have_waiter)
			fl_buf_printf(&b, " no line %s '%s' on %s",
				      ctx->ready_regex ? "matching" : "containing",
				      ctx->ready_text,
				      ctx->ready_streams == FL_STDOUT ? "stdout"
				      : ctx->ready_streams == FL_STDERR
					      ? "stderr"
					      : "its output");
		if (ctx->ready_port)
			fl_buf_printf(&b, "%s port %d not accepting",
				      have_waiter ? " or" : "", ctx->ready_port);
		if (lastline[0])
			fl_buf_printf(&b, "; last stderr line: %s", lastline);
		snprintf(why, sizeof why, "%s", b.data);
		fl_buf_free(&b);
	}
	snprintf(err, errlen, "%s", why);
	snprintf(in->start_error, sizeof in->start_error, "%s", why);
	in->exit_acknowledged = 1;
	fl_ctx_stop(ctx, SIGKILL, 0);
	return -ETIMEDOUT;
}

/* The final figures over the last window_ns up to end_ns: for counts
 * (fds, threads, files) the lowest sample, which is what stayed (a leak
 * shows in every sample; an fd a batch holds for a moment does not); for
 * RSS, which moves both ways, the median. */
static int window_final(fl_session *s, int64_t end_ns, int64_t window_ns,
			fl_sample *out)
{
	pthread_mutex_lock(&s->lock);
	fl_baseline b;
	int r = fl_judge_baseline(s->samples, s->nsamples, end_ns - window_ns,
				  end_ns, &b);
	if (r < 0 && s->nsamples > 0) {
		*out = s->samples[s->nsamples - 1];
		r = 0;
	} else if (r == 0) {
		out->t_ns = end_ns;
		out->rss = (int64_t)llround(b.rss);
		int first = 1;
		for (size_t i = 0; i < s->nsamples; i++) {
			const fl_sample *x = &s->samples[i];
			if (x->t_ns < end_ns - window_ns || x->t_ns > end_ns)
				continue;
			if (first || x->fds < out->fds)
				out->fds = x->fds;
			if (first || x->threads < out->threads)
				out->threads = x->threads;
			if (first || x->files < out->files)
				out->files = x->files;
			first = 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Paths under the scenario's own temporary directory read "{tmpdir}/...",
 * as the scenario wrote them, not /tmp/faultline.XXXXXX/s.XXXXXX/... */
static void abbreviate_tmpdir(fl_ctx *ctx, fl_fd_entry *v, int n)
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

/* The entries of a directory as "dir/name" paths, sorted by name (fd is
 * the position). Returns the count (0 for a missing directory). */
static int list_dir(const char *dir, fl_fd_entry **out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0, cap = 0;
	fl_fd_entry *v = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			v = fl_xrealloc(v, cap * sizeof *v);
		}
		snprintf(v[n].target, sizeof v[n].target, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	for (size_t i = 1; i < n; i++) {
		fl_fd_entry e = v[i];
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1].target, e.target) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = e;
	}
	for (size_t i = 0; i < n; i++)
		v[i].fd = (int)i;
	*out = v;
	return (int)n;
}

int fl_ctx_take_baseline(fl_ctx *ctx, int64_t window_ns, char *err,
			 size_t errlen)
{
	fl_instance *in = ctx->inst;
	if (!in || !in->running || in->sess->exit.exited) {
		snprintf(err, errlen, "no running target to take a baseline of");
		return -ESRCH;
	}
	int64_t now = fl_session_now(in->sess);
	pthread_mutex_lock(&in->sess->lock);
	int r = fl_judge_baseline(in->sess->samples, in->sess->nsamples,
				  now - window_ns, now, &ctx->base);
	pthread_mutex_unlock(&in->sess->lock);
	if (r < 0) {
		snprintf(err, errlen,
			 "no sample in the baseline window (sampling at %.0f Hz)",
			 ctx->hz);
		return r;
	}
	ctx->base_inst = ctx->ninstances - 1;
	/* A new baseline starts a new measurement: no final yet. */
	ctx->have_final = 0;
	json_decref(ctx->forensics);
	ctx->forensics = NULL;
	free(ctx->base_fds);
	free(ctx->base_threads);
	ctx->nbase_fds = fl_procfs_fd_table(in->sess->child.procfd,
					    &ctx->base_fds);
	if (ctx->nbase_fds < 0)
		ctx->nbase_fds = 0;
	abbreviate_tmpdir(ctx, ctx->base_fds, ctx->nbase_fds);
	free(ctx->base_files);
	ctx->nbase_files = in->sess->watch_path[0]
				   ? list_dir(in->sess->watch_path, &ctx->base_files)
				   : 0;
	ctx->nbase_threads = fl_procfs_threads(in->sess->child.procfd,
					       &ctx->base_threads);
	if (ctx->nbase_threads < 0)
		ctx->nbase_threads = 0;
	char rss[32];
	fl_fmt_bytes(rss, sizeof rss, ctx->base.rss);
	fl_ctx_log(ctx, "baseline over %.2f s (%zu samples): %g fds, %g threads, %s RSS",
		   (double)window_ns / 1e9, ctx->base.samples, ctx->base.fds,
		   ctx->base.threads, rss);
	return 0;
}

static json_t *fd_list_json(const fl_fd_entry *v, int n, int max)
{
	json_t *a = json_array();
	for (int i = 0; i < n && i < max; i++)
		json_array_append_new(a, json_pack("{s:i,s:s}", "fd", v[i].fd,
						   "target", v[i].target));
	return a;
}

static json_t *group_list_json(const fl_group *g, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:i,s:s,s:s}", "count",
						   g[i].count, "pattern",
						   g[i].pattern, "example",
						   g[i].example));
	return a;
}

static json_t *thread_list_json(const fl_thread_entry *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char st[2] = {v[i].state ? v[i].state : '?', 0};
		json_array_append_new(
			a, json_pack("{s:i,s:s,s:s,s:s,s:s}", "tid", v[i].tid,
				     "name", v[i].name, "state", st, "wchan",
				     v[i].wchan, "syscall", v[i].syscall));
	}
	return a;
}

/* The watched directory's entries that were not there at the baseline.
 * Works after the target exited: a fatal exit is when files stay. */
static void files_forensics(fl_ctx *ctx, fl_instance *in)
{
	if (!in->sess->watch_path[0])
		return;
	fl_fd_entry *now;
	int n = list_dir(in->sess->watch_path, &now);
	json_t *names = json_array();
	fl_fd_entry *fresh = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *fresh);
	int k = 0;
	for (int i = 0; i < n; i++) {
		int old = 0;
		for (int j = 0; j < ctx->nbase_files && !old; j++)
			old = !strcmp(ctx->base_files[j].target, now[i].target);
		if (!old) {
			fresh[k] = now[i];
			fresh[k].fd = k;
			k++;
		}
	}
	abbreviate_tmpdir(ctx, fresh, k);
	for (int i = 0; i < k && i < 1000; i++)
		json_array_append_new(names, json_string(fresh[i].target));
	fl_group *g;
	int ng = fl_forensics_group_fds(fresh, k, &g);
	json_object_set_new(ctx->forensics, "new_files", names);
	json_object_set_new(ctx->forensics, "new_file_count", json_integer(k));
	json_object_set_new(ctx->forensics, "file_groups", group_list_json(g, ng));
	free(g);
	free(fresh);
	free(now);
}

void fl_ctx_take_final(fl_ctx *ctx)
{
	fl_instance *in = ctx->inst;
	if (ctx->have_final || !in || !in->sess)
		return;
	fl_session *s = in->sess;
	pthread_mutex_lock(&s->lock);
	int exited = s->exit.exited;
	int64_t exit_ns = s->exit.t_ns;
	size_t nsamples = s->nsamples;
	pthread_mutex_unlock(&s->lock);
	if (nsamples == 0)
		return;
	/* The final figures come after the faults: from the last window's
	 * end (or the last final_window, if that is shorter), over at least
	 * a few samples, waiting for them if the script stops right after
	 * t:clear(). */
	int64_t last_off = -1;
	for (int i = 0; i < ctx->nwindows; i++)
		if (ctx->windows[i].instance == ctx->ninstances - 1 &&
		    ctx->windows[i].off_ns > last_off)
			last_off = ctx->windows[i].off_ns;
	int64_t min_span = 5 * s->period_ns;
	if (min_span > 300 * FL_NS_PER_MS)
		min_span = 300 * FL_NS_PER_MS;
	if (!exited && last_off >= 0) {
		int64_t since = fl_session_now(s) - last_off;
		if (since < min_span) {
			int64_t until = fl_now_ns() + (min_span - since);
			while (fl_now_ns() < until && !s->exit.exited)
				fl_session_wait(s, until, -1);
		}
	}
	pthread_mutex_lock(&s->lock);
	exited = s->exit.exited;
	exit_ns = s->exit.t_ns;
	pthread_mutex_unlock(&s->lock);
	int64_t end = exited ? exit_ns : fl_session_now(s);
	int64_t span = ctx->final_window_ns;
	if (span < min_span)
		span = min_span;
	if (last_off >= 0 && end - last_off < span && end - last_off >= min_span)
		span = end - last_off;
	if (window_final(s, end, span, &ctx->final) < 0)
		return;
	ctx->have_final = 1;
	ctx->final_at_ns = end;
	json_decref(ctx->forensics);
	ctx->forensics = json_object();
	files_forensics(ctx, in);
	if (exited && s->watch_path[0]) {
		/* What a dead target left on disk is what is there now. */
		fl_fd_entry *left;
		ctx->final.files = list_dir(s->watch_path, &left);
		free(left);
	}
	if (exited) {
		json_object_set_new(ctx->forensics, "unavailable",
				    json_string("the target had exited before "
						"the final look"));
		return;
	}
	/* Two looks at the fd table, a few samples apart: an fd that is only
	 * passing through (opened and closed between them) is not a leak. */
	fl_fd_entry *a = NULL, *b = NULL;
	int na = fl_procfs_fd_table(s->child.procfd, &a);
	int64_t gap = 3 * s->period_ns;
	if (gap < 30 * FL_NS_PER_MS)
		gap = 30 * FL_NS_PER_MS;
	struct timespec ts = {gap / FL_NS_PER_SEC, gap % FL_NS_PER_SEC};
	nanosleep(&ts, NULL);
	int nb = fl_procfs_fd_table(s->child.procfd, &b);
	abbreviate_tmpdir(ctx, a, na);
	abbreviate_tmpdir(ctx, b, nb);
	fl_thread_entry *th = NULL;
	int nth = fl_procfs_threads(s->child.procfd, &th);
	int same_instance = ctx->base.valid &&
			    ctx->base_inst == ctx->ninstances - 1;
	/* The agent has no thread; its fd is there only with inherit. */
	fl_footprint agent_fp;
	fl_faults_footprint(&in->faults, s->child.procfd, s->child.pid,
			    &agent_fp);
	if (na >= 0 && nb >= 0) {
		fl_fd_entry *newfds;
		int n = fl_forensics_new_fds(
			same_instance ? ctx->base_fds : NULL,
			same_instance ? ctx->nbase_fds : 0, a, na, b, nb,
			agent_fp.fds ? agent_fp.fd : -1, &newfds);
		fl_group *g;
		int ng = fl_forensics_group_fds(newfds, n, &g);
		json_object_set_new(ctx->forensics, "new_fds",
				    fd_list_json(newfds, n, 1000));
		json_object_set_new(ctx->forensics, "new_fd_count",
				    json_integer(n));
		json_object_set_new(ctx->forensics, "fd_groups",
				    group_list_json(g, ng));
		free(newfds);
		free(g);
	}
	if (nth >= 0) {
		fl_thread_entry *newth;
		int n = fl_forensics_new_threads(
			same_instance ? ctx->base_threads : NULL,
			same_instance ? ctx->nbase_threads : 0, th, nth, -1,
			&newth);
		fl_group *g;
		int ng = fl_forensics_group_threads(newth, n, &g);
		json_object_set_new(ctx->forensics, "new_threads",
				    thread_list_json(newth, n));
		json_object_set_new(ctx->forensics, "thread_groups",
				    group_list_json(g, ng));
		json_object_set_new(ctx->forensics, "threads",
				    thread_list_json(th, nth));
		free(newth);
		free(g);
	}
	json_object_set_new(ctx->forensics, "baseline_fd_count",
			    json_integer(same_instance ? ctx->nbase_fds : 0));
	free(a);
	free(b);
	free(th);
}

/* Collects the agent's per-point counts while it can still answer. */
static void collect_point_stats(fl_ctx *ctx, fl_instance *in)
{
	fl_point_stats *ps;
	char err[256];
	int n = fl_faults_stats(&in->faults, &ps, err, sizeof err, 500);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		/* Every known point is counted; the report shows those the
		 * scenario touched. */
		int named = 0;
		for (int w = 0; w < ctx->nwindows && !named; w++)
			named = strcmp(ctx->windows[w].spec.point, ps[i].point) == 0;
		if (!ps[i].calls && !ps[i].fired && !ps[i].active && !named)
			continue;
		json_t *o = json_object_get(ctx->point_stats, ps[i].point);
		if (!o) {
			o = json_pack("{s:I,s:I}", "calls", (json_int_t)0,
				      "fired", (json_int_t)0);
			json_object_set_new(ctx->point_stats, ps[i].point, o);
		}
		json_object_set_new(
			o, "calls",
			json_integer(json_integer_value(json_object_get(o, "calls")) +
				     (json_int_t)ps[i].calls));
		json_object_set_new(
			o, "fired",
			json_integer(json_integer_value(json_object_get(o, "fired")) +
				     (json_int_t)ps[i].fired));
	}
	free(ps);
}

int fl_ctx_stop(fl_ctx *ctx, int sig, double grace_s)
{
	fl_instance *in = ctx->inst;
	if (!in || !in->running)
		return 0;
	fl_session *s = in->sess;
	char err[256];
	/* Windows still open end here; the faults stop before the signal so
	 * the target's shutdown path runs clean. */
	for (int i = 0; i < ctx->nwindows; i++)
		if (ctx->windows[i].off_ns < 0)
			fl_ctx_close_windows(ctx, NULL, err, sizeof err);
	if (!s->exit.exited && ctx->base.valid)
		fl_ctx_take_final(ctx);
	/* The counts are in the shared region: there even if it died. */
	collect_point_stats(ctx, in);
	/* Which processes ran the agent, and which executed another
	 * program, while they can still be looked at. */
	fl_proc_info *procs;
	fl_faults_procs(&in->faults, &procs);
	free(procs);
	in->stop_requested = 1;
	int64_t t0 = fl_now_ns();
	if (!s->exit.exited) {
		if (sig == 0)
			sig = SIGTERM;
		fl_target_signal(&s->child, sig);
		snprintf(in->stopped_by, sizeof in->stopped_by, "%s",
			 fl_signal_name(sig));
		int64_t deadline = t0 + (int64_t)(grace_s * 1e9);
		while (!s->exit.exited && fl_now_ns() < deadline)
			fl_session_wait(s, deadline, -1);
		if (!s->exit.exited) {
			fl_target_kill_group(&s->child, SIGKILL);
			snprintf(in->stopped_by, sizeof in->stopped_by,
				 "%s, then SIGKILL after %.1f s",
				 fl_signal_name(sig), grace_s);
			fl_ctx_log(ctx, "no exit %.1f s after %s: SIGKILL",
				   grace_s, fl_signal_name(sig));
			int64_t kdeadline = fl_now_ns() + 5 * FL_NS_PER_SEC;
			while (!s->exit.exited && fl_now_ns() < kdeadline)
				fl_session_wait(s, kdeadline, -1);
		}
	}
	/* Whatever the target left in its process group goes too. */
	if (fl_target_group_alive(&s->child)) {
		in->stragglers = 1;
		fl_target_kill_group(&s->child, SIGKILL);
		fl_ctx_log(ctx, "processes were left in the target's group: "
				"killed");
	}
	/* Let the pipes drain for a moment after the exit. */
	int64_t drain = fl_now_ns() + 100 * FL_NS_PER_MS;
	while ((!s->out.eof || !s->err.eof) && fl_now_ns() < drain)
		fl_session_wait(s, drain, -1);
	fl_monitor_remove(s);
	fl_guardian_forget_group(s->child.pid);
	fl_faults_close(&in->faults);
	/* What the agent wrote after the last sample. */
	fl_journal_drain(&in->journal, s->child.start_ns, &s->jrecs,
			 &s->njrecs, &s->jcap);
	in->jlost = fl_journal_lost(&in->journal);
	fl_ctx_poll_triggers(ctx);
	in->running = 0;
	char desc[96];
	describe_exit(&s->exit, desc, sizeof desc);
	fl_ctx_log(ctx, "target %s", desc);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fault windows and recovery                                           */
/* ------------------------------------------------------------------ */

/* Processes of the target that executed a program without the agent are
 * out of the window's reach: say so. */
static void note_executed(fl_ctx *ctx, fl_instance *in)
{
	fl_proc_info *procs;
	int n = fl_faults_procs(&in->faults, &procs);
	for (int i = 0; i < n; i++)
		if (procs[i].state == FL_PROC_EXECUTED)
			fl_ctx_log(ctx,
				   "note: process %d (actor %s) executed %s "
				   "without the agent: no fault reaches it",
				   (int)procs[i].pid, procs[i].actor,
				   procs[i].now[0] ? procs[i].now : "a program");
	free(procs);
}

int fl_ctx_open_window(fl_ctx *ctx, const fl_fault_spec *spec,
		       const fl_output_trigger *out, char *err, size_t errlen)
{
	fl_instance *in = ctx->inst;
	/* Before the target runs, the window is written into the region of
	 * its next start, before its first instruction (batch jobs). */
	int before_start = !in || !in->running;
	if (before_start && out && out->text) {
		snprintf(err, errlen, "on_output needs a running target");
		return -ESRCH;
	}
	if (!before_start && in->sess->exit.exited) {
		snprintf(err, errlen, "no running target to inject faults into");
		return -ESRCH;
	}
	if (!before_start && !ctx->base.valid) {
		/* Faults without a settled baseline: take it over what was
		 * seen since the target became ready. */
		int64_t now = fl_session_now(in->sess);
		int64_t window = now - in->ready_ns;
		if (window < 50 * FL_NS_PER_MS)
			window = 50 * FL_NS_PER_MS;
		if (fl_ctx_take_baseline(ctx, window, err, errlen) < 0)
			return -ENODATA;
		fl_ctx_log(ctx, "(baseline taken automatically before the "
				"first fault; call t:settle() to choose it)");
	}
	fl_waiter *waiter = NULL;
	if (out && out->text) {
		/* Opened by the monitor's sighting of the line, not now. */
		waiter = fl_xcalloc(1, sizeof *waiter);
		if (fl_session_add_waiter(in->sess, waiter, out->streams,
					  out->text, out->regex, err,
					  errlen) < 0) {
			free(waiter);
			return -EINVAL;
		}
	} else if (!ctx->replay && !before_start) {
		/* In replay the recorded calls are on for the whole run. */
		int r = fl_faults_enable(&in->faults, spec, err, errlen,
					 AGENT_TIMEOUT_MS);
		if (r < 0)
			return r;
	}
	int armed = waiter || spec->after_point[0];
	int64_t now = before_start ? 0 : fl_session_now(in->sess);
	/* A window opened while no other is open starts a new episode. */
	int open = 0;
	for (int i = 0; i < ctx->nwindows; i++)
		open |= ctx->windows[i].off_ns < 0;
	if (!open) {
		ctx->episodes = fl_xrealloc(ctx->episodes,
					    (size_t)(ctx->nepisodes + 1) *
						    sizeof *ctx->episodes);
		fl_episode *e = &ctx->episodes[ctx->nepisodes++];
		memset(e, 0, sizeof *e);
		e->on_ns = armed ? -1 : now;
		e->off_ns = -1;
		e->within_s = -1;
	}
	fl_episode *e = &ctx->episodes[ctx->nepisodes - 1];
	size_t pl = strlen(e->points);
	if (!strstr(e->points, spec->point))
		snprintf(e->points + pl, sizeof e->points - pl, "%s%s",
			 pl ? ", " : "", spec->point);
	ctx->windows = fl_xrealloc(ctx->windows, (size_t)(ctx->nwindows + 1) *
							 sizeof *ctx->windows);
	fl_window *w = &ctx->windows[ctx->nwindows++];
	memset(w, 0, sizeof *w);
	w->spec = *spec;
	w->on_ns = armed ? -1 : now;
	w->off_ns = -1;
	w->episode = ctx->nepisodes - 1;
	w->instance = before_start ? ctx->ninstances : ctx->ninstances - 1;
	w->waiter = waiter;
	snprintf(w->trigger, sizeof w->trigger, "%s",
		 waiter			  ? "output"
		 : spec->after_point[0] ? "calls"
		 : before_start		  ? "start"
					  : "time");
	const char *en = spec->err ? fl_errno_name(spec->err) : NULL;
	char how[256] = "";
	if (waiter)
		snprintf(how, sizeof how, ", armed: on a line with '%s'",
			 out->text);
	else if (spec->after_point[0])
		snprintf(how, sizeof how, ", armed: after call %llu of %s%s%s",
			 (unsigned long long)spec->after_n, spec->after_point,
			 spec->after_actor[0] ? " by " : "", spec->after_actor);
	fl_ctx_log(ctx, "fault %s: %s p=%g%s%s%s%s%s%s%s", armed ? "armed" : "on",
		   spec->point, spec->p, spec->err ? " errno=" : "",
		   en ? en : (spec->err ? "?" : ""),
		   spec->onetime ? " onetime" : "", spec->nth[0] ? " nth=" : "",
		   spec->nth, spec->actors[0] ? " actors=" : "", spec->actors);
	if (how[0])
		fl_ctx_log(ctx, "%s", how + 2);
	if (before_start)
		fl_ctx_log(ctx, "(from the first instruction of the next start)");
	else
		note_executed(ctx, in);
	return 0;
}

int fl_ctx_close_windows(fl_ctx *ctx, const char *point, char *err,
			 size_t errlen)
{
	fl_instance *in = ctx->inst;
	int r = 0;
	if (in && in->running && !in->sess->exit.exited && !ctx->replay)
		r = fl_faults_disable(&in->faults, point, err, errlen,
				      AGENT_TIMEOUT_MS);
	/* A trigger that fired since the last look opened its window before
	 * this moment. */
	fl_ctx_poll_triggers(ctx);
	int64_t now = fl_ctx_now(ctx);
	int still_open = 0, closed = 0;
	for (int i = 0; i < ctx->nwindows; i++) {
		fl_window *w = &ctx->windows[i];
		if (w->off_ns >= 0)
			continue;
		if (!point || strcmp(point, "*") == 0 ||
		    strcmp(point, w->spec.point) == 0) {
			if (w->waiter) {
				fl_session_remove_waiter(
					ctx->instances[w->instance]->sess,
					w->waiter);
				free(w->waiter);
				w->waiter = NULL;
			}
			w->off_ns = now;
			closed++;
			fl_ctx_log(ctx, "fault off: %s", w->spec.point);
		} else {
			still_open = 1;
		}
	}
	if (closed && !still_open && ctx->nepisodes > 0 &&
	    ctx->episodes[ctx->nepisodes - 1].off_ns < 0)
		ctx->episodes[ctx->nepisodes - 1].off_ns = now;
	return r;
}

int fl_ctx_judge_recovery(fl_ctx *ctx, lua_State *L, double within_s,
			  int64_t hold_ns, fl_recovery *out)
{
	memset(out, 0, sizeof *out);
	if (ctx->nepisodes == 0)
		return luaL_error(L, "no fault window to recover from (call "
				     "t:fault() and t:clear() first)");
	fl_episode *e = &ctx->episodes[ctx->nepisodes - 1];
	if (e->off_ns < 0)
		return luaL_error(L, "the fault window is still open (call "
				     "t:clear() before t:expect_recovery())");
	if (!ctx->base.valid)
		return luaL_error(L, "no baseline to recover to");
	fl_instance *in = ctx->inst;
	int64_t within_ns = within_s >= 0 ? (int64_t)(within_s * 1e9) : -1;
	/* Without a bound, wait at most until the scenario's deadline. */
	for (;;) {
		fl_session *s = in->sess;
		int64_t now = fl_session_now(s);
		pthread_mutex_lock(&s->lock);
		fl_judge_recovery(s->samples, s->nsamples, ctx->health_results,
				  ctx->nhealth, &ctx->steady, &ctx->base,
				  e->off_ns, hold_ns, within_ns, now, out);
		int exited = s->exit.exited;
		pthread_mutex_unlock(&s->lock);
		if (out->state != FL_RECOVERY_PENDING)
			break;
		if (exited || !in->running) {
			out->state = FL_RECOVERY_FAILED;
			snprintf(out->why, sizeof out->why,
				 "the target exited before it recovered");
			break;
		}
		fl_ctx_wait(ctx, fl_now_ns() + 20 * FL_NS_PER_MS, 1);
	}
	e->rec = *out;
	e->judged = 1;
	e->within_s = within_s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Verdict and results                                                  */
/* ------------------------------------------------------------------ */

static void append_sample(json_t *t, json_t *fds, json_t *th, json_t *rss,
			  json_t *files, double ts, int32_t f, int32_t h,
			  int64_t r, int32_t d)
{
	json_array_append_new(t, json_real(ts));
	json_array_append_new(fds, json_integer(f));
	json_array_append_new(th, json_integer(h));
	json_array_append_new(rss, json_integer(r));
	if (files)
		json_array_append_new(files, json_integer(d));
}

static json_t *series_json(fl_session *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->nsamples;
	json_t *t = json_array(), *fds = json_array(), *th = json_array(),
	       *rss = json_array();
	json_t *files = s->watch_path[0] ? json_array() : NULL;
	if (n <= SERIES_MAX_POINTS) {
		for (size_t i = 0; i < n; i++) {
			const fl_sample *x = &s->samples[i];
			append_sample(t, fds, th, rss, files, (double)x->t_ns / 1e9,
				      x->fds, x->threads, x->rss, x->files);
		}
	} else {
		/* Long runs are thinned out to an envelope: each bucket of
		 * samples becomes two points, its lowest figures at its start
		 * and its highest at its end, so no spike is lost. */
		size_t buckets = SERIES_MAX_POINTS / 2;
		for (size_t b = 0; b < buckets; b++) {
			size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
			if (hi <= lo)
				continue;
			fl_sample mn = s->samples[lo], mx = s->samples[lo];
			for (size_t i = lo; i < hi; i++) {
				const fl_sample *x = &s->samples[i];
				if (x->fds < mn.fds) mn.fds = x->fds;
				if (x->fds > mx.fds) mx.fds = x->fds;
				if (x->threads < mn.threads) mn.threads = x->threads;
				if (x->threads > mx.threads) mx.threads = x->threads;
				if (x->rss < mn.rss) mn.rss = x->rss;
				if (x->rss > mx.rss) mx.rss = x->rss;
				if (x->files < mn.files) mn.files = x->files;
				if (x->files > mx.files) mx.files = x->files;
			}
			append_sample(t, fds, th, rss, files,
				      (double)s->samples[lo].t_ns / 1e9, mn.fds,
				      mn.threads, mn.rss, mn.files);
			if (hi - lo > 1)
				append_sample(t, fds, th, rss, files,
					      (double)s->samples[hi - 1].t_ns / 1e9,
					      mx.fds, mx.threads, mx.rss, mx.files);
		}
	}
	pthread_mutex_unlock(&s->lock);
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:b}", "t", t, "fds", fds,
			      "threads", th, "rss", rss, "downsampled",
			      n > SERIES_MAX_POINTS);
	if (files)
		json_object_set_new(o, "files", files);
	return o;
}

static json_t *exit_json(const fl_instance *in)
{
	const fl_exit_info *e = &in->sess->exit;
	json_t *o = json_object();
	json_object_set_new(o, "exited", json_boolean(e->exited));
	json_object_set_new(o, "code", e->exited && !e->signal ? json_integer(e->code) : json_null());
	json_object_set_new(o, "signal", e->signal ? json_string(fl_signal_name(e->signal)) : json_null());
	json_object_set_new(o, "core_dumped", json_boolean(e->core));
	json_object_set_new(o, "t", e->exited ? json_real((double)e->t_ns / 1e9) : json_null());
	json_object_set_new(o, "stopped_by", in->stopped_by[0] ? json_string(in->stopped_by) : json_null());
	json_object_set_new(o, "expected", json_boolean(in->stop_requested || in->exit_acknowledged));
	json_object_set_new(o, "stragglers_killed", json_boolean(in->stragglers));
	return o;
}

static json_t *tolerance_json(const fl_tolerance *t)
{
	return t->set ? json_string(t->text) : json_null();
}

static const char *verdict_of(fl_ctx *ctx, const char **message)
{
	*message = NULL;
	if (ctx->error_msg || ctx->abort == FL_ABORT_TIMEOUT ||
	    ctx->abort == FL_ABORT_INTERRUPT) {
		*message = ctx->error_msg ? ctx->error_msg : "error";
		return "ERROR";
	}
	int failed = 0;
	for (int i = 0; i < ctx->nexpects; i++) {
		if (!ctx->expects[i].ok) {
			if (!failed)
				*message = ctx->expects[i].message;
			failed = 1;
		}
	}
	if (!ctx->xfail)
		return failed ? "FAIL" : "PASS";
	if (!failed) {
		*message = "expected to fail, but every expectation held";
		return "XPASS";
	}
	if (ctx->xfail_match) {
		/* The failure must be the expected one. */
		lua_State *L = ctx->L;
		for (int i = 0; i < ctx->nexpects; i++) {
			if (ctx->expects[i].ok)
				continue;
			lua_getglobal(L, "string");
			lua_getfield(L, -1, "find");
			lua_pushstring(L, ctx->expects[i].message);
			lua_pushstring(L, ctx->xfail_match);
			int found = lua_pcall(L, 2, 1, 0) == LUA_OK &&
				    !lua_isnil(L, -1);
			lua_pop(L, 2);
			if (found) {
				*message = ctx->expects[i].message;
				return "XFAIL";
			}
		}
		return "FAIL";
	}
	return "XFAIL";
}

/* Every fired fault of every run of the target, as replay sees them. */
static fl_fault_rec *collect_faults(fl_ctx *ctx, size_t *count, uint64_t *lost)
{
	size_t n = 0, cap = 0;
	fl_fault_rec *v = NULL;
	*lost = 0;
	for (int k = 0; k < ctx->ninstances; k++) {
		fl_instance *in = ctx->instances[k];
		*lost += in->jlost;
		if (!in->sess)
			continue;
		for (size_t i = 0; i < in->sess->njrecs; i++) {
			const fl_jentry *e = &in->sess->jrecs[i];
			if (e->kind != FL_JREC_FAULT)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = fl_xrealloc(v, cap * sizeof *v);
			}
			fl_fault_rec *f = &v[n++];
			snprintf(f->point, sizeof f->point, "%s", entry_point(in, e));
			/* A restarted target's actors are a new family. */
			if (k == 0)
				snprintf(f->actor, sizeof f->actor, "%s", e->actor);
			else
				snprintf(f->actor, sizeof f->actor, "r%d:%s", k,
					 e->actor);
			f->n = e->n;
			f->err = e->err;
			f->t = (double)e->t_ns / 1e9;
		}
	}
	*count = n;
	return v;
}

static int cmp_by_time(const void *a, const void *b)
{
	const fl_fault_rec *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

#define JOURNAL_RESULTS_MAX 1000

/* The journal's digest and records, coverage per point, and warnings for
 * points that were enabled but never fired. */
static void journal_results(fl_ctx *ctx, json_t *r)
{
	size_t n;
	uint64_t lost;
	fl_fault_rec *v = collect_faults(ctx, &n, &lost);
	char digest[17];
	fl_journal_digest(v, n, digest);
	json_t *per = json_object();
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(per, v[i].point))
			continue;
		char d[17];
		fl_journal_digest_point(v, n, v[i].point, d);
		json_object_set_new(per, v[i].point, json_string(d));
	}
	/* People read the journal in time order. */
	fl_fault_rec *byt = fl_xmalloc((n + 1) * sizeof *byt);
	if (n)
		memcpy(byt, v, n * sizeof *v);
	qsort(byt, n, sizeof *byt, cmp_by_time);
	fl_journal_file jf = {
		.scenario_file = ctx->ref->file,
		.index = ctx->ref->index,
		.name = ctx->name ? ctx->name : ctx->ref->name,
		.seed = ctx->seed,
		.recs = byt,
		.nrecs = n,
		.lost = lost,
	};
	char id[PATH_MAX + 16];
	if (ctx->ref->index)
		snprintf(id, sizeof id, "%s#%d", ctx->ref->file, ctx->ref->index);
	else
		snprintf(id, sizeof id, "%s", ctx->ref->file);
	jf.scenario_id = id;
	jf.verdict = (char *)json_string_value(json_object_get(r, "verdict"));
	char *failed[64];
	for (int i = 0; i < ctx->nexpects && jf.nfailed < 64; i++)
		if (!ctx->expects[i].ok)
			failed[jf.nfailed++] = ctx->expects[i].what;
	jf.failed = failed;
	json_t *file = fl_journal_file_json(&jf);
	json_t *records = json_array();
	json_t *all = json_object_get(file, "records");
	for (size_t i = 0; i < n && i < JOURNAL_RESULTS_MAX; i++)
		json_array_append(records, json_array_get(all, i));
	json_object_set_new(r, "journal",
			    json_pack("{s:s,s:o,s:I,s:I,s:b,s:o}", "digest", digest,
				      "digests", per, "total", (json_int_t)n,
				      "lost", (json_int_t)lost, "truncated",
				      n > JOURNAL_RESULTS_MAX, "records", records));
	/* run.c writes it next to results.json for replay and shrink. */
	if (n)
		json_object_set_new(r, "journal_file_data", file);
	else
		json_decref(file);
	if (lost) {
		char w[200];
		snprintf(w, sizeof w,
			 "the journal lost %llu records (the ring was full): "
			 "the digest does not cover them",
			 (unsigned long long)lost);
		json_array_append_new(ctx->warnings, json_string(w));
	}
	/* A target that died could not report its counts: the journal still
	 * knows what fired. */
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(ctx->point_stats, v[i].point))
			continue;
		json_int_t count = 0;
		for (size_t k = 0; k < n; k++)
			count += strcmp(v[k].point, v[i].point) == 0;
		json_object_set_new(ctx->point_stats, v[i].point,
				    json_pack("{s:n,s:I}", "calls", "fired", count));
	}
	free(byt);
	free(v);

	/* Coverage: a point the scenario enabled that never fired. */
	json_t *fired = json_object();
	for (int i = 0; i < ctx->nwindows; i++) {
		const char *pt = ctx->windows[i].spec.point;
		if (strchr(pt, '*') || json_object_get(fired, pt))
			continue;
		json_t *st = json_object_get(ctx->point_stats, pt);
		json_int_t f = json_integer_value(json_object_get(st, "fired"));
		json_object_set_new(fired, pt, json_integer(f));
		if (st && f == 0) {
			char w[400];
			snprintf(w, sizeof w,
				 "point %s was enabled but never fired (%lld "
				 "calls seen): the target does not reach it, or "
				 "calls it through a path libfiu does not wrap",
				 pt,
				 (long long)json_integer_value(
					 json_object_get(st, "calls")));
			json_array_append_new(ctx->warnings, json_string(w));
		}
	}
	json_decref(fired);
}

static json_t *build_result(fl_ctx *ctx, double duration_s)
{
	json_t *r = json_object();
	const char *message;
	const char *verdict = verdict_of(ctx, &message);
	/* Scenarios run on several threads with -j: no static buffers. */
	char buf[1400];
	if (strcmp(verdict, "FAIL") == 0 && ctx->xfail && ctx->xfail_match) {
		const char *first = "";
		for (int i = 0; i < ctx->nexpects; i++)
			if (!ctx->expects[i].ok) {
				first = ctx->expects[i].message;
				break;
			}
		snprintf(buf, sizeof buf,
			 "failed, but not as expected (xfail.match '%s'): %s",
			 ctx->xfail_match, first);
		message = buf;
	}
	json_object_set_new(r, "file", json_string(ctx->ref->file));
	json_object_set_new(r, "index", json_integer(ctx->ref->index));
	char id[PATH_MAX + 16];
	if (ctx->ref->index)
		snprintf(id, sizeof id, "%s#%d", ctx->ref->file, ctx->ref->index);
	else
		snprintf(id, sizeof id, "%s", ctx->ref->file);
	json_object_set_new(r, "id", json_string(id));
	json_object_set_new(r, "name", json_string(ctx->name ? ctx->name : ctx->ref->name));
	json_object_set_new(r, "description", ctx->description ? json_string(ctx->description) : json_null());
	json_object_set_new(r, "tags", json_incref(ctx->tags));
	json_object_set_new(r, "seed", json_integer((json_int_t)ctx->seed));
	json_object_set_new(r, "verdict", json_string(verdict));
	json_object_set_new(r, "message", message ? json_string(message) : json_null());
	json_object_set_new(r, "load_error", json_boolean(ctx->load_error));
	json_object_set_new(r, "duration_s", json_real(duration_s));
	json_object_set_new(r, "started", json_real((double)ctx->started_wall_ns / 1e9));
	json_object_set_new(r, "xfail", ctx->xfail ? json_pack("{s:s?,s:s?}", "reason", ctx->xfail_reason, "match", ctx->xfail_match) : json_null());
	char rerun[PATH_MAX + 128];
	snprintf(rerun, sizeof rerun, "%s run --seed %llu %s",
		 ctx->opts->self_path ? ctx->opts->self_path : "faultline",
		 (unsigned long long)ctx->seed, id);
	json_object_set_new(r, "rerun", json_string(rerun));
	if (ctx->error_msg)
		json_object_set_new(r, "error", json_pack("{s:s,s:s?}", "message", ctx->error_msg, "traceback", ctx->traceback));
	else
		json_object_set_new(r, "error", json_null());

	/* The target(s). */
	json_t *insts = json_array();
	for (int i = 0; i < ctx->ninstances; i++) {
		fl_instance *in = ctx->instances[i];
		json_t *argv = json_array();
		for (int k = 0; k < in->argc; k++)
			json_array_append_new(argv, json_string(in->argv[k]));
		json_t *o = json_object();
		json_object_set_new(o, "argv", argv);
		if (!in->sess) {
			json_object_set_new(o, "start_error", json_string(in->start_error));
			json_array_append_new(insts, o);
			continue;
		}
		fl_session *s = in->sess;
		json_object_set_new(o, "pid", json_integer(s->child.pid));
		json_object_set_new(o, "start_error", in->start_error[0] ? json_string(in->start_error) : json_null());
		json_object_set_new(o, "ready_s", json_real((double)in->ready_ns / 1e9));
		json_object_set_new(o, "exit", exit_json(in));
		json_object_set_new(o, "agent", fl_faults_json(&in->faults));
		json_object_set_new(o, "footprint", fl_faults_footprint_json(&in->faults));
		json_object_set_new(o, "sampling", json_pack("{s:f,s:I,s:f,s:f,s:I,s:s}", "hz", 1e9 / (double)s->period_ns, "samples", (json_int_t)s->nsamples, "mean_cost_us", s->nsamples ? (double)s->sample_cost_total_ns / (double)s->nsamples / 1e3 : 0.0, "max_cost_us", (double)s->sample_cost_max_ns / 1e3, "errors", (json_int_t)s->sample_errors, "fd_method", fl_sampler_method_name(s->sampler.method)));
		json_object_set_new(o, "series", series_json(s));
		size_t olen, elen;
		char *out = fl_stream_tail(s, FL_STDOUT, &olen);
		char *err = fl_stream_tail(s, FL_STDERR, &elen);
		json_object_set_new(o, "output", json_pack("{s:s%,s:s%,s:I,s:I,s:I,s:I}", "stdout_tail", out, olen, "stderr_tail", err, elen, "stdout_bytes", (json_int_t)s->out.bytes, "stderr_bytes", (json_int_t)s->err.bytes, "stdout_lines", (json_int_t)s->out.lines, "stderr_lines", (json_int_t)s->err.lines));
		free(out);
		free(err);
		json_array_append_new(insts, o);
	}
	json_object_set_new(r, "targets", insts);

	json_object_set_new(r, "steady", json_pack("{s:o,s:o,s:o,s:b}", "fds", tolerance_json(&ctx->steady.fds), "threads", tolerance_json(&ctx->steady.threads), "rss", tolerance_json(&ctx->steady.rss), "health", ctx->steady.health));
	json_object_set_new(r, "hold_s", json_real((double)ctx->hold_ns / 1e9));
	if (ctx->base.valid)
		json_object_set_new(r, "baseline", json_pack("{s:f,s:f,s:I,s:f,s:f,s:f,s:o}", "from", (double)ctx->base.from_ns / 1e9, "to", (double)ctx->base.to_ns / 1e9, "samples", (json_int_t)ctx->base.samples, "fds", ctx->base.fds, "threads", ctx->base.threads, "rss", ctx->base.rss, "files", ctx->watch ? json_real(ctx->base.files) : json_null()));
	else
		json_object_set_new(r, "baseline", json_null());
	if (ctx->have_final)
		json_object_set_new(r, "final", json_pack("{s:f,s:i,s:i,s:I,s:o}", "t", (double)ctx->final_at_ns / 1e9, "fds", ctx->final.fds, "threads", ctx->final.threads, "rss", (json_int_t)ctx->final.rss, "files", ctx->watch ? json_integer(ctx->final.files) : json_null()));
	else
		json_object_set_new(r, "final", json_null());
	if (ctx->have_final && ctx->base.valid)
		json_object_set_new(r, "leaks", json_pack("{s:f,s:f,s:f,s:o}", "fds", ctx->final.fds - ctx->base.fds, "threads", ctx->final.threads - ctx->base.threads, "rss", (double)ctx->final.rss - ctx->base.rss, "files", ctx->watch ? json_real(ctx->final.files - ctx->base.files) : json_null()));
	else
		json_object_set_new(r, "leaks", json_null());
	json_object_set_new(r, "forensics", ctx->forensics ? json_incref(ctx->forensics) : json_null());
	json_object_set_new(r, "oom_precursor", ctx->oom ? json_incref(ctx->oom) : json_null());

	json_t *faults = json_array();
	int time_based = 0;
	for (int i = 0; i < ctx->nwindows; i++) {
		fl_window *w = &ctx->windows[i];
		const char *en = w->spec.err ? fl_errno_name(w->spec.err) : NULL;
		json_array_append_new(faults, json_pack("{s:s,s:o,s:o,s:f,s:o,s:b,s:s,s:i}", "point", w->spec.point, "on", w->on_ns >= 0 ? json_real((double)w->on_ns / 1e9) : json_null(), "off", w->off_ns >= 0 ? json_real((double)w->off_ns / 1e9) : json_null(), "p", w->spec.p, "errno", en ? json_string(en) : (w->spec.err ? json_integer(w->spec.err) : json_null()), "onetime", w->spec.onetime, "trigger", w->trigger, "episode", w->episode));
		time_based |= strcmp(w->trigger, "time") == 0;
	}
	json_object_set_new(r, "faults", faults);
	json_object_set_new(r, "time_based_windows", json_boolean(time_based));
	journal_results(ctx, r);
	json_object_set_new(r, "points", json_incref(ctx->point_stats));
	json_object_set_new(r, "warnings", json_incref(ctx->warnings));
	json_object_set_new(r, "replay", ctx->replay ? json_pack("{s:I}", "faults", (json_int_t)ctx->nreplay) : json_null());

	json_t *eps = json_array();
	int64_t *rec = fl_xmalloc((size_t)(ctx->nepisodes + 1) * sizeof *rec);
	size_t nrec = 0;
	for (int i = 0; i < ctx->nepisodes; i++) {
		fl_episode *e = &ctx->episodes[i];
		const char *state = !e->judged ? "not judged" : e->rec.state == FL_RECOVERY_OK ? "recovered" : "not recovered";
		json_array_append_new(eps, json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:s?}", "points", e->points, "on", e->on_ns >= 0 ? json_real((double)e->on_ns / 1e9) : json_null(), "off", e->off_ns >= 0 ? json_real((double)e->off_ns / 1e9) : json_null(), "state", state, "recovery_s", e->judged && e->rec.state == FL_RECOVERY_OK ? json_real((double)e->rec.recovery_ns / 1e9) : json_null(), "recovered_at", e->judged && e->rec.state == FL_RECOVERY_OK ? json_real((double)e->rec.at_ns / 1e9) : json_null(), "within_s", e->within_s >= 0 ? json_real(e->within_s) : json_null(), "why", e->judged && e->rec.state == FL_RECOVERY_FAILED ? e->rec.why : NULL));
		if (e->judged && e->rec.state == FL_RECOVERY_OK)
			rec[nrec++] = e->rec.recovery_ns;
	}
	json_object_set_new(r, "episodes", eps);
	fl_mttr m;
	fl_judge_mttr(rec, nrec, &m);
	free(rec);
	if (nrec)
		json_object_set_new(r, "mttr", json_pack("{s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)m.n, "mean_s", m.mean_s, "p50_s", m.p50_s, "p95_s", m.p95_s, "max_s", m.max_s));
	else
		json_object_set_new(r, "mttr", json_null());

	json_t *hs = json_object();
	size_t failed = 0;
	json_t *ht = json_array(), *hok = json_array(), *hlat = json_array();
	size_t step = ctx->nhealth > SERIES_MAX_POINTS ? ctx->nhealth / SERIES_MAX_POINTS + 1 : 1;
	for (size_t i = 0; i < ctx->nhealth; i++) {
		failed += !ctx->health_results[i].ok;
		if (i % step == 0 || !ctx->health_results[i].ok) {
			json_array_append_new(ht, json_real((double)ctx->health_results[i].t_ns / 1e9));
			json_array_append_new(hok, json_boolean(ctx->health_results[i].ok));
			json_array_append_new(hlat, json_real((double)ctx->health_results[i].latency_ns / 1e6));
		}
	}
	json_object_set_new(hs, "probes", json_integer((json_int_t)ctx->nhealth));
	json_object_set_new(hs, "failed", json_integer((json_int_t)failed));
	json_object_set_new(hs, "kind", json_string(ctx->health.kind == 1 ? "tcp" : ctx->health.kind == 2 ? "function" : "none"));
	json_object_set_new(hs, "t", ht);
	json_object_set_new(hs, "ok", hok);
	json_object_set_new(hs, "latency_ms", hlat);
	json_object_set_new(r, "health", hs);

	json_t *ex = json_array();
	for (int i = 0; i < ctx->nexpects; i++) {
		fl_expect_rec *e = &ctx->expects[i];
		json_array_append_new(ex, json_pack("{s:s,s:b,s:s,s:s,s:s,s:s}", "what", e->what, "ok", e->ok, "measured", e->measured, "allowed", e->allowed, "message", e->message, "where", e->where));
	}
	json_object_set_new(r, "expectations", ex);
	json_object_set_new(r, "log", json_incref(ctx->log));
	return r;
}

/* ------------------------------------------------------------------ */
/* Running a scenario                                                   */
/* ------------------------------------------------------------------ */

static void ctx_free(fl_ctx *ctx)
{
	free(ctx->name);
	free(ctx->description);
	json_decref(ctx->tags);
	free(ctx->xfail_reason);
	free(ctx->xfail_match);
	for (int i = 0; i < ctx->ncmd; i++)
		free(ctx->cmd[i]);
	free(ctx->cmd);
	json_decref(ctx->env);
	free(ctx->cwd);
	free(ctx->ready_text);
	free(ctx->health.send);
	free(ctx->health.expect);
	free(ctx->error_msg);
	free(ctx->traceback);
	for (int i = 0; i < ctx->ninstances; i++) {
		fl_instance *in = ctx->instances[i];
		if (in->sess) {
			fl_session_destroy(in->sess);
			free(in->sess);
		}
		fl_faults_free(&in->faults);
		fl_journal_close(&in->journal);
		free_strv(in->argv);
		free(in);
	}
	free(ctx->instances);
	free(ctx->base_fds);
	free(ctx->base_threads);
	free(ctx->base_files);
	free(ctx->watch);
	json_decref(ctx->oom);
	json_decref(ctx->forensics);
	free(ctx->health_results);
	free(ctx->windows);
	free(ctx->episodes);
	free(ctx->expects);
	json_decref(ctx->log);
	json_decref(ctx->point_stats);
	json_decref(ctx->warnings);
	for (int i = 0; i < ctx->npoints; i++)
		free(ctx->points[i]);
	free(ctx->points);
	for (int i = 0; i < ctx->ndeclared; i++)
		free(ctx->declared[i]);
	free(ctx->declared);
}

/* The checks every scenario gets without asking: the target must not die
 * on its own unless the scenario said it would, or looked at the exit. */
static void judge_survival(fl_ctx *ctx)
{
	for (int i = 0; i < ctx->ninstances; i++) {
		fl_instance *in = ctx->instances[i];
		if (!in->sess || !in->sess->exit.exited)
			continue;
		if (in->stop_requested && !in->sess->exit.signal)
			continue;
		if (in->exit_acknowledged || (ctx->exits && !in->sess->exit.signal))
			continue;
		if (in->stop_requested && in->sess->exit.signal &&
		    (in->sess->exit.signal == SIGTERM ||
		     in->sess->exit.signal == SIGKILL ||
		     in->sess->exit.signal == SIGINT))
			continue;
		char desc[96], msg[512];
		describe_exit(&in->sess->exit, desc, sizeof desc);
		char *errtail = fl_stream_tail(in->sess, FL_STDERR, NULL);
		char line[256];
		last_line(errtail, line, sizeof line);
		free(errtail);
		snprintf(msg, sizeof msg,
			 "target did not survive: %s at %.2f s%s%s", desc,
			 (double)in->sess->exit.t_ns / 1e9,
			 line[0] ? "; last stderr line: " : "", line);
		fl_ctx_expect(ctx, NULL, "survival", 0, desc, "running", msg);
	}
}

static int has_point(char **v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

static void add_point_name(fl_ctx *ctx, const char *name)
{
	if (has_point(ctx->points, ctx->npoints, name))
		return;
	ctx->points = fl_xrealloc(ctx->points, (size_t)(ctx->npoints + 1) *
						       sizeof *ctx->points);
	ctx->points[ctx->npoints++] = fl_xstrdup(name);
}

/* The points registered in the fault region before the target starts:
 * libfiu's POSIX points, and the string literals of the scenario that look
 * like point names (its custom points, replayed points). The agent counts
 * every point from its first call anyway; registered ones have stable
 * entries and are covered by a prefix window before their first call. */
static void collect_points(fl_ctx *ctx)
{
	for (const char *const *p = fl_points_posix(); *p; p++)
		add_point_name(ctx, *p);
	for (size_t i = 0; i < ctx->nreplay; i++)
		add_point_name(ctx, ctx->replay[i].point);
	char *text;
	if (fl_read_file(ctx->ref->file, &text, NULL) < 0)
		return;
	for (char *q = text; (q = strpbrk(q, "\"'")) != NULL;) {
		char quote = *q++;
		char *end = strchr(q, quote);
		if (!end)
			break;
		size_t len = (size_t)(end - q);
		int ok = len > 2 && len < 100 && memchr(q, '/', len) && q[0] != '/' &&
			 q[0] != '.' && q[len - 1] != '/';
		for (size_t k = 0; ok && k < len; k++)
			ok = (q[k] >= 'a' && q[k] <= 'z') ||
			     (q[k] >= '0' && q[k] <= '9') || q[k] == '_' ||
			     q[k] == '/' || q[k] == '-' || q[k] == '.';
		if (ok && ctx->npoints < FL_MAX_POINTS - 32) {
			char name[112];
			snprintf(name, sizeof name, "%.*s", (int)len, q);
			add_point_name(ctx, name);
		}
		q = end + 1;
	}
	free(text);
}

/* What the target's binary says about itself: the points it declares
 * (counted from its first call, and used to catch typos), and why faults
 * could not reach it (static, Go, fortified calls, its own libfiu). */
static void inspect_target(fl_ctx *ctx)
{
	char *argv0 = fl_ctx_expand(ctx, ctx->cmd[0]);
	char *cwd = ctx->cwd ? fl_ctx_expand(ctx, ctx->cwd) : NULL;
	char joined[PATH_MAX];
	const char *probe = argv0;
	if (cwd && strchr(argv0, '/') && argv0[0] != '/') {
		snprintf(joined, sizeof joined, "%s/%s", cwd, argv0);
		probe = joined;
	}
	char *path = fl_target_resolve(probe);
	free(argv0);
	free(cwd);
	if (!path)
		return; /* the start will say why */
	fl_elf_info info;
	if (fl_elf_inspect(path, &info) < 0) {
		free(path);
		return; /* a script: nothing to say */
	}
	for (size_t i = 0; i < info.npoints; i++) {
		add_point_name(ctx, info.points[i]);
		ctx->declared = fl_xrealloc(ctx->declared,
					    (size_t)(ctx->ndeclared + 1) *
						    sizeof *ctx->declared);
		ctx->declared[ctx->ndeclared++] = fl_xstrdup(info.points[i]);
	}
	char w[600];
	if (info.is_static) {
		snprintf(w, sizeof w,
			 "%s is statically linked: LD_PRELOAD does not apply, "
			 "so no fault can reach it",
			 path);
		json_array_append_new(ctx->warnings, json_string(w));
	}
	if (info.is_go) {
		snprintf(w, sizeof w,
			 "%s is a Go program: it makes its system calls "
			 "itself, past libfiu's wrappers",
			 path);
		json_array_append_new(ctx->warnings, json_string(w));
	}
	if (info.own_libfiu) {
		snprintf(w, sizeof w,
			 "%s carries its own copy of libfiu (linked with "
			 "libfiu.a): its own points are invisible to the agent; "
			 "link it with -lfiu",
			 path);
		json_array_append_new(ctx->warnings, json_string(w));
	}
	if (info.nfortified) {
		fl_buf b;
		fl_buf_init(&b);
		for (size_t i = 0; i < info.nfortified && i < 8; i++)
			fl_buf_printf(&b, "%s%s", i ? ", " : "", info.fortified[i]);
		snprintf(w, sizeof w,
			 "%s calls fortified functions libfiu does not wrap (%s%s): "
			 "faults on those calls never fire; build it without "
			 "_FORTIFY_SOURCE",
			 path, b.data ? b.data : "", info.nfortified > 8 ? ", ..." : "");
		fl_buf_free(&b);
		json_array_append_new(ctx->warnings, json_string(w));
	}
	fl_elf_info_free(&info);
	free(path);
}

json_t *fl_scenario_run(const fl_scenario_ref *ref, const fl_run_opts *opts)
{
	fl_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.ref = ref;
	ctx.opts = opts;
	ctx.tags = json_array();
	ctx.env = json_object();
	ctx.log = json_array();
	ctx.point_stats = json_object();
	ctx.warnings = json_array();
	ctx.replay = opts->replay;
	ctx.nreplay = opts->nreplay;
	ctx.hz = DEFAULT_HZ;
	ctx.hold_ns = DEFAULT_HOLD_NS;
	ctx.final_window_ns = DEFAULT_FINAL_WINDOW_NS;
	ctx.stop_grace_s = 2.0;
	ctx.stop_signal = SIGTERM;
	ctx.autostart = 1;
	ctx.health.fn_ref = LUA_NOREF;
	ctx.run_ref = LUA_NOREF;
	ctx.start_ns = fl_now_ns();
	ctx.started_wall_ns = fl_wall_ns();
	/* The loader runs under a generous watchdog of its own. */
	ctx.timeout_s = DEFAULT_TIMEOUT_S;
	ctx.deadline_ns = ctx.start_ns + (int64_t)(DEFAULT_TIMEOUT_S * 1e9);

	snprintf(ctx.tmpdir, sizeof ctx.tmpdir, "%s/s.XXXXXX", opts->tmp_root);
	if (!mkdtemp(ctx.tmpdir)) {
		ctx.error_msg = fl_xstrdup("cannot create the scenario's "
					   "temporary directory");
		ctx.tmpdir[0] = '\0';
	}

	lua_State *L = new_state();
	ctx.L = L;
	*(fl_ctx **)lua_getextraspace(L) = &ctx;
	fl_lua_open_target(L);

	char err[2048];
	if (ref->load_error) {
		ctx.error_msg = fl_xstrdup(ref->load_error);
		ctx.load_error = 1;
	} else if (!ctx.error_msg) {
		if (load_scenario_chunk(L, ref->file, err, sizeof err, &ctx) != 0) {
			free(ctx.error_msg);
			ctx.error_msg = fl_xstrdup(err);
			ctx.load_error = 1;
		} else {
			if (ref->index > 0) {
				lua_geti(L, -1, ref->index);
				lua_remove(L, -2);
			}
			if (!lua_istable(L, -1))
				cfg_error(&ctx, "scenario #%d is not a table",
					  ref->index);
			else
				parse_scenario(&ctx, L);
			lua_pop(L, 1);
		}
	}
	if (ctx.error_msg && !ctx.name)
		ctx.name = fl_xstrdup(ref->name ? ref->name : ref->file);

	if (!ctx.error_msg) {
		collect_points(&ctx);
		inspect_target(&ctx);
	}
	if (!ctx.error_msg) {
		ctx.start_ns = fl_now_ns();
	ctx.started_wall_ns = fl_wall_ns();
		ctx.deadline_ns = ctx.start_ns + (int64_t)(ctx.timeout_s * 1e9);
		int ok = 1;
		if (ctx.autostart && fl_ctx_start(&ctx, err, sizeof err) < 0) {
			ctx.error_msg = fl_xstrdup(err);
			ok = 0;
		}
		if (ok) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, ctx.run_ref);
			fl_lua_push_target(L, &ctx);
			int st = docall(L, 1, 0);
			if (st != LUA_OK) {
				ctx.traceback = fl_xstrdup(lua_tostring(L, -1));
				lua_pop(L, 1);
				if (ctx.abort == FL_ABORT_ASSERT) {
					/* t:assert recorded its failure:
					 * that is a FAIL, not an ERROR. */
					free(ctx.error_msg);
					ctx.error_msg = NULL;
					free(ctx.traceback);
					ctx.traceback = NULL;
				}
			}
		}
	}
	/* Whatever happened, the target goes. */
	lua_sethook(L, NULL, 0, 0);
	if (ctx.inst && ctx.inst->running)
		fl_ctx_stop(&ctx, ctx.stop_signal,
			    ctx.error_msg ? 0.5 : ctx.stop_grace_s);
	if (!ctx.error_msg)
		judge_survival(&ctx);

	double duration = (double)(fl_now_ns() - ctx.start_ns) / 1e9;
	json_t *result = build_result(&ctx, duration);
	lua_close(L);
	ctx.L = NULL;
	if (ctx.tmpdir[0])
		fl_rmtree(ctx.tmpdir);
	ctx_free(&ctx);
	return result;
}
