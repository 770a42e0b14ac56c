#define _GNU_SOURCE
#include "config.h"

#include "api.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/resource.h>

#define DEFAULT_TIMEOUT_S 60.0
#define DEFAULT_HZ 200.0
#define DEFAULT_HOLD_NS (100 * FL_NS_PER_MS)
/* The final measurement looks back over this much time (at least five
 * samples): long enough that one sample caught in the middle of a batch
 * does not count, short enough to see the state the script just left. */
#define DEFAULT_FINAL_WINDOW_NS (50 * FL_NS_PER_MS)
#define DEFAULT_READY_TIMEOUT_S 10.0
#define DEFAULT_STOP_GRACE_S 2.0
#define DEFAULT_HEALTH_TIMEOUT_S 0.5
#define DEFAULT_HEALTH_INTERVAL_S 0.1
#define DEFAULT_OUTPUT_LIMIT 65536

void fl_config_defaults(fl_config *c)
{
	memset(c, 0, sizeof *c);
	c->seed = 1;
	c->timeout_s = DEFAULT_TIMEOUT_S;
	c->ready.timeout_s = DEFAULT_READY_TIMEOUT_S;
	c->health.fn_ref = LUA_NOREF;
	c->health.family = AF_INET;
	c->health.timeout_s = DEFAULT_HEALTH_TIMEOUT_S;
	c->health.interval_s = DEFAULT_HEALTH_INTERVAL_S;
	c->stop_signal = SIGTERM;
	c->stop_grace_s = DEFAULT_STOP_GRACE_S;
	snprintf(c->close_mode, sizeof c->close_mode, "linux");
	c->output_limit = DEFAULT_OUTPUT_LIMIT;
	c->autostart = 1;
	c->hz = DEFAULT_HZ;
	/* Without a hypothesis of its own a scenario still expects fds and
	 * threads to come back to where they were. */
	fl_tolerance_from_number(0, &c->steady.tol[FL_FIG_FDS]);
	fl_tolerance_from_number(0, &c->steady.tol[FL_FIG_THREADS]);
	c->hold_ns = DEFAULT_HOLD_NS;
	c->final_window_ns = DEFAULT_FINAL_WINDOW_NS;
	c->run_ref = LUA_NOREF;
}

static void free_strv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void fl_config_free(fl_config *c)
{
	free(c->name);
	free(c->description);
	free_strv(c->tags, c->ntags);
	free(c->xfail_reason);
	free(c->xfail_match);
	free_strv(c->cmd, c->ncmd);
	free_strv(c->env_names, c->nenv);
	free_strv(c->env_values, c->nenv);
	free(c->cwd);
	free(c->ready.text);
	free(c->ready.port);
	free(c->health.port);
	free(c->health.unix_path);
	free(c->health.send);
	free(c->health.expect);
	free(c->health.reply_end);
	free(c->health.http);
	free(c->health.http_host);
	free(c->watch);
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ */
/* Resource limits                                                      */
/* ------------------------------------------------------------------ */

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

const char *fl_rlimit_names(void)
{
	return "nofile, as, nproc, core, stack, data, fsize, cpu";
}

/* ------------------------------------------------------------------ */
/* Keys: did you mean, and where                                        */
/* ------------------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	size_t d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
					      tolower((unsigned char)b[j - 1])
					      ? 0
					      : 1;
			size_t best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			/* A swap of two neighbours is one mistake. */
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *fl_config_did_you_mean(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = 99;
	size_t len = strlen(key);
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	for (int i = 0; known[i]; i++) {
		size_t d = edit_distance(key, known[i]);
		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

int fl_config_line_of(const char *file, const char *key, int near)
{
	char *text;
	if (!file || fl_read_file(file, &text, NULL) < 0)
		return 0;
	size_t kl = strlen(key);
	int line = 1, best = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
			continue;
		}
		if (strncmp(p, key, kl) != 0 ||
		    (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
			continue;
		const char *q = p + kl;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=' || q[1] == '=')
			continue;
		/* The last one at or before near; else the first after it. */
		if (near <= 0) {
			best = line;
			break;
		}
		if (line <= near || !best)
			best = line;
		if (line > near)
			break;
	}
	free(text);
	return best;
}

int fl_config_port_valid(const char *text)
{
	if (!text || !*text)
		return 0;
	if (strcmp(text, "{port}") == 0)
		return 1;
	if (strncmp(text, "{port:", 6) == 0) {
		size_t n = strlen(text);
		return n > 7 && text[n - 1] == '}' &&
		       strcspn(text + 6, "{}") == n - 7;
	}
	char *end;
	long v = strtol(text, &end, 10);
	return *end == '\0' && v > 0 && v <= 65535;
}

/* ------------------------------------------------------------------ */
/* The parser: runs in protected mode, so a bad field raises an error   */
/* naming it and the parse stops there.                                 */
/* ------------------------------------------------------------------ */

struct parse {
	fl_config *c;
	const char *file;
	int idx;		/* the scenario table, absolute */
	int near;		/* a line of this scenario (its run function), for
				 * a file of several; 0: none */
};

/* Raises "file:line: message", with the line where key is set, if the
 * source shows it. */
static void fail(lua_State *L, const struct parse *p, const char *key,
		 const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
static void fail(lua_State *L, const struct parse *p, const char *key,
		 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int line = key ? fl_config_line_of(p->file, key, p->near) : 0;
	if (line)
		luaL_error(L, "%s:%d: %s", p->file, line, msg);
	else
		luaL_error(L, "%s: %s", p->file, msg);
	abort(); /* luaL_error does not return */
}

/* Every key of the table at idx must be one of known. */
static void check_keys(lua_State *L, const struct parse *p, int idx,
		       const char *where, const char *const *known)
{
	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			/* Lists (cmd, tags) are checked where they are read;
			 * a table of fields has only names. */
			fail(L, p, NULL, "%s has a key that is not a name (%s)",
			     where, luaL_typename(L, -1));
		}
		const char *k = lua_tostring(L, -1);
		int ok = 0;
		for (int i = 0; known[i] && !ok; i++)
			ok = strcmp(known[i], k) == 0;
		if (ok)
			continue;
		const char *dym = fl_config_did_you_mean(k, known);
		fl_buf b;
		fl_buf_init(&b);
		for (int i = 0; known[i]; i++)
			fl_buf_printf(&b, "%s%s", i ? ", " : "", known[i]);
		char list[600];
		snprintf(list, sizeof list, "%s", b.data ? b.data : "");
		fl_buf_free(&b);
		if (dym)
			fail(L, p, k, "unknown field '%s' in %s (did you mean '%s'?)",
			     k, where, dym);
		fail(L, p, k, "unknown field '%s' in %s (known: %s)", k, where,
		     list);
	}
}

/* A number that makes sense: finite, and at least min. */
static double get_number(lua_State *L, const struct parse *p, int idx,
			 const char *key, const char *where, double def,
			 double min, int min_exclusive)
{
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	if (t != LUA_TNUMBER)
		fail(L, p, key, "%s%s must be a number (got %s)", where, key,
		     lua_typename(L, t));
	double v = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (!isfinite(v))
		fail(L, p, key, "%s%s must be a finite number (got %g)", where,
		     key, v);
	if (min_exclusive ? v <= min : v < min)
		fail(L, p, key, "%s%s must be %s %g (got %g)", where, key,
		     min_exclusive ? "greater than" : "at least", min, v);
	return v;
}

/* A string (numbers are taken as their text); NULL when absent. */
static char *get_string(lua_State *L, const struct parse *p, int idx,
			const char *key, const char *where)
{
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	if (t != LUA_TSTRING && t != LUA_TNUMBER)
		fail(L, p, key, "%s%s must be a string (got %s)", where, key,
		     lua_typename(L, t));
	char *s = fl_xstrdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return s;
}

/* A boolean; def when absent. Anything but a boolean is an error: `exits
 * = "yes"` must not read as true by accident. */
static int get_bool(lua_State *L, const struct parse *p, int idx,
		    const char *key, const char *where, int def)
{
	int t = lua_getfield(L, idx, key);
	int v = def;
	if (t == LUA_TBOOLEAN)
		v = lua_toboolean(L, -1);
	else if (t != LUA_TNIL)
		fail(L, p, key, "%s%s must be true or false (got %s)", where,
		     key, lua_typename(L, t));
	lua_pop(L, 1);
	return v;
}

/* A size: a number of bytes or a string like "64KiB". */
static double get_size(lua_State *L, const struct parse *p, int idx,
		       const char *key, const char *where, double def)
{
	int t = lua_getfield(L, idx, key);
	double v = def;
	if (t == LUA_TNUMBER) {
		v = lua_tonumber(L, -1);
	} else if (t == LUA_TSTRING) {
		if (fl_parse_bytes(lua_tostring(L, -1), &v) < 0)
			fail(L, p, key,
			     "%s%s: '%s' is not a size (a number of bytes or "
			     "like '64KiB', '200MiB')",
			     where, key, lua_tostring(L, -1));
	} else if (t != LUA_TNIL) {
		fail(L, p, key, "%s%s must be a size like '64KiB' (got %s)",
		     where, key, lua_typename(L, t));
	}
	lua_pop(L, 1);
	if (!isfinite(v) || v < 0)
		fail(L, p, key, "%s%s must be a size of at least 0", where, key);
	return v;
}

static char *get_port(lua_State *L, const struct parse *p, int idx,
		      const char *key, const char *where)
{
	int t = lua_getfield(L, idx, key);
	char *s = NULL;
	if (t == LUA_TNUMBER || t == LUA_TSTRING) {
		s = fl_xstrdup(lua_tostring(L, -1));
		if (!fl_config_port_valid(s)) {
			free(s);
			fail(L, p, key,
			     "%s%s must be a port number or \"{port}\" (or "
			     "\"{port:NAME}\")",
			     where, key);
		}
	} else if (t != LUA_TNIL) {
		fail(L, p, key, "%s%s must be a port number or \"{port}\"",
		     where, key);
	}
	lua_pop(L, 1);
	return s;
}

/* A list of strings at key: cmd, tags. */
static char **get_list(lua_State *L, const struct parse *p, int idx,
		       const char *key, const char *where, int *n)
{
	*n = 0;
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	if (t != LUA_TTABLE)
		fail(L, p, key, "%s%s must be a list of strings (got %s)", where,
		     key, lua_typename(L, t));
	int list = lua_gettop(L);
	lua_Integer len = luaL_len(L, list);
	/* Only 1..len: a named field in a list is a mistake. */
	lua_pushnil(L);
	while (lua_next(L, list)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > len)
			fail(L, p, key, "%s%s must be a list (it has the key %s)",
			     where, key, lua_tostring(L, -1));
	}
	char **v = fl_xcalloc((size_t)len + 1, sizeof *v);
	for (lua_Integer i = 1; i <= len; i++) {
		int et = lua_geti(L, list, i);
		if (et != LUA_TSTRING && et != LUA_TNUMBER) {
			free_strv(v, (int)i - 1);
			fail(L, p, key, "%s%s[%lld] must be a string (got %s)",
			     where, key, (long long)i, lua_typename(L, et));
		}
		v[i - 1] = fl_xstrdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	*n = (int)len;
	return v;
}

/* Pushes the sub-table at key, or returns 0 (nothing pushed) when it is
 * absent; anything but a table is an error. */
static int push_table(lua_State *L, const struct parse *p, int idx,
		      const char *key, const char *where, const char *example)
{
	int t = lua_getfield(L, idx, key);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TTABLE)
		fail(L, p, key, "%s%s must be a table like %s (got %s)", where,
		     key, example, lua_typename(L, t));
	return lua_gettop(L);
}

static void parse_ready(lua_State *L, const struct parse *p, int r)
{
	fl_config *c = p->c;
	check_keys(L, p, r, "target.ready", fl_api_keys("target.ready"));
	static const struct {
		const char *key;
		int streams;
	} lines[] = {{"stdout", FL_STDOUT},
		     {"stderr", FL_STDERR},
		     {"output", FL_STDOUT | FL_STDERR}};
	for (size_t i = 0; i < 3; i++) {
		char *text = get_string(L, p, r, lines[i].key, "target.ready.");
		if (!text)
			continue;
		if (c->ready.text) {
			free(text);
			fail(L, p, lines[i].key,
			     "target.ready takes one of stdout, stderr and "
			     "output");
		}
		if (!*text) {
			free(text);
			fail(L, p, lines[i].key,
			     "target.ready.%s must not be empty", lines[i].key);
		}
		c->ready.text = text;
		c->ready.streams = lines[i].streams;
	}
	c->ready.regex = get_bool(L, p, r, "regex", "target.ready.", 0);
	if (c->ready.regex && !c->ready.text)
		fail(L, p, "regex",
		     "target.ready.regex needs stdout, stderr or output");
	if (c->ready.regex) {
		regex_t re;
		int rc = regcomp(&re, c->ready.text, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof why);
			fail(L, p, "regex",
			     "target.ready: '%s' is not a POSIX extended regular "
			     "expression: %s",
			     c->ready.text, why);
		}
		regfree(&re);
	}
	c->ready.port = get_port(L, p, r, "port", "target.ready.");
	c->ready.delay_s = get_number(L, p, r, "delay", "target.ready.", 0, 0, 0);
	c->ready.timeout_s = get_number(L, p, r, "timeout", "target.ready.",
					c->ready.timeout_s, 0, 1);
}

/* The HTTP statuses that pass: 200, "2xx", "200-299", { 200, 204 }. */
static void parse_status(lua_State *L, const struct parse *p, int h)
{
	fl_health_cfg *hc = &p->c->health;
	fl_probe tmp;
	memset(&tmp, 0, sizeof tmp);
	char err[200];
	int t = lua_getfield(L, h, "status");
	int r = 0;
	if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
		int v = (int)lua_tointeger(L, -1);
		r = fl_probe_add_status(&tmp, v, v, err, sizeof err);
	} else if (t == LUA_TSTRING) {
		r = fl_probe_parse_status(&tmp, lua_tostring(L, -1), err,
					  sizeof err);
	} else if (t == LUA_TTABLE) {
		lua_Integer n = luaL_len(L, -1);
		for (lua_Integer i = 1; i <= n && r == 0; i++) {
			if (lua_geti(L, -1, i) == LUA_TNUMBER &&
			    lua_isinteger(L, -1)) {
				int v = (int)lua_tointeger(L, -1);
				r = fl_probe_add_status(&tmp, v, v, err,
							sizeof err);
			} else if (lua_type(L, -1) == LUA_TSTRING) {
				r = fl_probe_parse_status(&tmp,
							  lua_tostring(L, -1),
							  err, sizeof err);
			} else {
				snprintf(err, sizeof err,
					 "a status is a number or text like "
					 "\"2xx\"");
				r = -EINVAL;
			}
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		snprintf(err, sizeof err,
			 "must be a status like 200, \"2xx\" or a list");
		r = -EINVAL;
	}
	lua_pop(L, 1);
	if (r < 0)
		fail(L, p, "status", "target.health.status: %s", err);
	memcpy(hc->status, tmp.status, sizeof hc->status);
	hc->nstatus = tmp.nstatus;
}

/* health = { tcp =, host =, unix =, send =, expect =, regex =,
 * reply_end =, http =, status =, http_host =, timeout =, interval = } */
static void parse_health_table(lua_State *L, const struct parse *p, int h)
{
	fl_health_cfg *hc = &p->c->health;
	check_keys(L, p, h, "target.health", fl_api_keys("target.health"));
	hc->kind = FL_HEALTH_TCP;
	hc->port = get_port(L, p, h, "tcp", "target.health.");
	hc->unix_path = get_string(L, p, h, "unix", "target.health.");
	if (!hc->port && !hc->unix_path)
		fail(L, p, "health",
		     "target.health needs tcp = \"{port}\" or unix = \"path\" "
		     "(or be a function)");
	if (hc->port && hc->unix_path)
		fail(L, p, "unix",
		     "target.health: tcp and unix exclude each other");
	char *host = get_string(L, p, h, "host", "target.health.");
	if (host) {
		char err[200];
		int r = fl_probe_parse_host(host, &hc->family, err, sizeof err);
		free(host);
		if (r < 0 || hc->unix_path)
			fail(L, p, "host", "target.health.host: %s",
			     r < 0 ? err : "a Unix socket has no host");
	}
	int st = lua_getfield(L, h, "send");
	if (st == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		hc->send = fl_xmalloc(len + 1);
		memcpy(hc->send, s, len + 1);
		hc->send_len = len;
	} else if (st != LUA_TNIL) {
		fail(L, p, "send", "target.health.send must be a string (got %s)",
		     lua_typename(L, st));
	}
	lua_pop(L, 1);
	hc->expect = get_string(L, p, h, "expect", "target.health.");
	hc->regex = get_bool(L, p, h, "regex", "target.health.", 0);
	hc->reply_end = get_string(L, p, h, "reply_end", "target.health.");
	hc->http = get_string(L, p, h, "http", "target.health.");
	hc->http_host = get_string(L, p, h, "http_host", "target.health.");
	parse_status(L, p, h);
	hc->timeout_s = get_number(L, p, h, "timeout", "target.health.",
				   hc->timeout_s, 0, 1);
	hc->interval_s = get_number(L, p, h, "interval", "target.health.",
				    hc->interval_s, 0, 1);
	/* The probe's own checks (an HTTP probe takes no send, a path starts
	 * with '/', a regex compiles), on a stand-in address. */
	fl_probe pr;
	fl_health_probe_of(hc, 1, "/nonexistent", &pr);
	char err[300];
	int r = fl_probe_prepare(&pr, err, sizeof err);
	fl_probe_release(&pr);
	if (r < 0)
		fail(L, p, "health", "target.health: %s", err);
}

void fl_health_probe_of(const fl_health_cfg *hc, int port,
			const char *unix_path, fl_probe *out)
{
	memset(out, 0, sizeof *out);
	if (hc->unix_path) {
		out->addr.family = AF_UNIX;
		out->addr.path = unix_path;
	} else {
		out->addr.family = hc->family;
		out->addr.port = port;
	}
	out->send = hc->send;
	out->send_len = hc->send_len;
	out->expect = hc->expect;
	out->regex = hc->regex;
	out->reply_end = hc->reply_end;
	out->http_path = hc->http;
	out->http_host = hc->http_host;
	memcpy(out->status, hc->status, sizeof out->status);
	out->nstatus = hc->nstatus;
	out->timeout_ns = (int64_t)(hc->timeout_s * 1e9);
}

static void parse_health(lua_State *L, const struct parse *p, int target)
{
	fl_config *c = p->c;
	int t = lua_getfield(L, target, "health");
	if (t == LUA_TFUNCTION) {
		c->health.kind = FL_HEALTH_FUNCTION;
		c->health.fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		c->health.interval_s =
			get_number(L, p, target, "health_interval", "target.",
				   c->health.interval_s, 0, 1);
		return;
	}
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		if (lua_getfield(L, target, "health_interval") != LUA_TNIL)
			fail(L, p, "health_interval",
			     "target.health_interval needs a health function");
		lua_pop(L, 1);
		return;
	}
	if (t != LUA_TTABLE)
		fail(L, p, "health",
		     "target.health must be a table like { tcp = \"{port}\" } "
		     "or a function (got %s)",
		     lua_typename(L, t));
	int h = lua_gettop(L);
	parse_health_table(L, p, h);
	lua_pop(L, 1);
	if (lua_getfield(L, target, "health_interval") != LUA_TNIL)
		fail(L, p, "health_interval",
		     "target.health_interval is for a health function; a table "
		     "takes interval");
	lua_pop(L, 1);
}

static void parse_stop(lua_State *L, const struct parse *p, int target)
{
	fl_config *c = p->c;
	int s = push_table(L, p, target, "stop", "target.",
			   "{ signal = \"TERM\", grace = 2 }");
	if (!s)
		return;
	check_keys(L, p, s, "target.stop", fl_api_keys("target.stop"));
	char *sig = get_string(L, p, s, "signal", "target.stop.");
	if (sig) {
		c->stop_signal = fl_signal_from_name(sig);
		if (c->stop_signal < 0) {
			char copy[64];
			snprintf(copy, sizeof copy, "%s", sig);
			free(sig);
			fail(L, p, "signal", "target.stop.signal: unknown signal '%s'",
			     copy);
		}
		free(sig);
	}
	c->stop_grace_s = get_number(L, p, s, "grace", "target.stop.",
				     c->stop_grace_s, 0, 0);
	lua_pop(L, 1);
}

static void parse_rlimits(lua_State *L, const struct parse *p, int target)
{
	fl_config *c = p->c;
	int r = push_table(L, p, target, "rlimits", "target.",
			   "{ nofile = 64 }");
	if (!r)
		return;
	lua_pushnil(L);
	while (lua_next(L, r)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING
					? lua_tostring(L, -2)
					: "?";
		int res, bytes;
		if (fl_rlimit_lookup(k, &res, &bytes) < 0) {
			const char *dym = fl_config_did_you_mean(
				k, fl_api_keys("target.rlimits"));
			if (dym)
				fail(L, p, k,
				     "target.rlimits: unknown limit '%s' (did "
				     "you mean '%s'?)",
				     k, dym);
			fail(L, p, k, "target.rlimits: unknown limit '%s' (%s)",
			     k, fl_rlimit_names());
		}
		double v = -1;
		if (lua_type(L, -1) == LUA_TNUMBER)
			v = lua_tonumber(L, -1);
		else if (lua_type(L, -1) == LUA_TSTRING && bytes &&
			 fl_parse_bytes(lua_tostring(L, -1), &v) == 0)
			;
		else
			fail(L, p, k, "target.rlimits.%s must be a number%s", k,
			     bytes ? " or a size like '512MiB'" : "");
		if (!isfinite(v) || v < 0)
			fail(L, p, k,
			     "target.rlimits.%s must be a finite number of at "
			     "least 0",
			     k);
		if (c->nrlimits == FL_TARGET_MAX_RLIMITS)
			fail(L, p, k, "target.rlimits: at most %d limits",
			     FL_TARGET_MAX_RLIMITS);
		fl_rlimit_spec *rl = &c->rlimits[c->nrlimits++];
		rl->resource = res;
		rl->soft = rl->hard = (rlim_t)v;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void parse_env(lua_State *L, const struct parse *p, int target)
{
	fl_config *c = p->c;
	int e = push_table(L, p, target, "env", "target.",
			   "{ NAME = \"value\" }");
	if (!e)
		return;
	lua_pushnil(L);
	while (lua_next(L, e)) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    (lua_type(L, -1) != LUA_TSTRING &&
		     lua_type(L, -1) != LUA_TNUMBER))
			fail(L, p, "env", "target.env must map names to strings");
		const char *name = lua_tostring(L, -2);
		if (!*name || strchr(name, '='))
			fail(L, p, "env",
			     "target.env: '%s' is not a variable name", name);
		c->env_names = fl_xrealloc(c->env_names, (size_t)(c->nenv + 1) *
								  sizeof(char *));
		c->env_values = fl_xrealloc(c->env_values,
					    (size_t)(c->nenv + 1) *
						    sizeof(char *));
		c->env_names[c->nenv] = fl_xstrdup(name);
		/* lua_tostring on a number key would confuse lua_next; the
		 * value is safe to convert. */
		c->env_values[c->nenv] = fl_xstrdup(lua_tostring(L, -1));
		c->nenv++;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void parse_oom(lua_State *L, const struct parse *p, int target)
{
	fl_config *c = p->c;
	int o = push_table(L, p, target, "oom", "target.", "{ rss = \"200MiB\" }");
	if (!o)
		return;
	check_keys(L, p, o, "target.oom", fl_api_keys("target.oom"));
	c->oom_rss = get_size(L, p, o, "rss", "target.oom.", 0);
	if (c->oom_rss <= 0)
		fail(L, p, "oom", "target.oom.rss must be a size like '200MiB'");
	c->oom_core = get_bool(L, p, o, "core", "target.oom.", 0);
	lua_pop(L, 1);
}

static void parse_target(lua_State *L, const struct parse *p, int t)
{
	fl_config *c = p->c;
	check_keys(L, p, t, "target", fl_api_keys("target"));
	c->cmd = get_list(L, p, t, "cmd", "target.", &c->ncmd);
	if (!c->cmd)
		fail(L, p, "target",
		     "target.cmd must be a list of strings, like { "
		     "\"fixtures/bin/fileproc\", \"--port\", \"{port}\" }");
	if (c->ncmd < 1)
		fail(L, p, "cmd", "target.cmd is empty");
	parse_env(L, p, t);
	c->cwd = get_string(L, p, t, "cwd", "target.");
	int r = push_table(L, p, t, "ready", "target.", "{ stdout = \"READY\" }");
	if (r) {
		parse_ready(L, p, r);
		lua_pop(L, 1);
	}
	parse_health(L, p, t);
	parse_stop(L, p, t);
	parse_rlimits(L, p, t);
	char *close_mode = get_string(L, p, t, "close", "target.");
	if (close_mode) {
		int ok = !strcmp(close_mode, "linux") || !strcmp(close_mode, "libfiu");
		if (ok)
			snprintf(c->close_mode, sizeof c->close_mode, "%s",
				 close_mode);
		free(close_mode);
		if (!ok)
			fail(L, p, "close",
			     "target.close must be \"linux\" (a failed close "
			     "releases the fd, the default) or \"libfiu\" (the "
			     "fd stays open)");
	}
	double limit = get_size(L, p, t, "output_limit", "target.",
				(double)c->output_limit);
	if (limit < 1024)
		fail(L, p, "output_limit",
		     "target.output_limit must be a size of at least 1KiB, "
		     "like '64KiB'");
	c->output_limit = (size_t)limit;
	c->autostart = get_bool(L, p, t, "autostart", "target.", c->autostart);
	c->exits = get_bool(L, p, t, "exits", "target.", 0);
	c->inherit = get_bool(L, p, t, "inherit", "target.", 0);
	c->origins = get_bool(L, p, t, "origins", "target.", 0);
	c->watch = get_string(L, p, t, "watch", "target.");
	if (c->watch && !*c->watch)
		fail(L, p, "watch", "target.watch must name a directory");
	parse_oom(L, p, t);
}

/* steady = { fds = "+2", threads = "+0", rss = "+8MiB", files =, procs =,
 * health = true, per = "tree" | "process" } */
static void parse_steady(lua_State *L, const struct parse *p)
{
	fl_config *c = p->c;
	int s = push_table(L, p, p->idx, "steady", "",
			   "{ fds = \"+2\", threads = \"+0\" }");
	if (!s)
		return;
	check_keys(L, p, s, "steady", fl_api_keys("steady"));
	/* A table of its own replaces the default hypothesis. */
	memset(&c->steady, 0, sizeof c->steady);
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		const char *key = fl_figures[f].key;
		int t = lua_getfield(L, s, key);
		if (t == LUA_TNUMBER) {
			double v = lua_tonumber(L, -1);
			if (!isfinite(v))
				fail(L, p, key, "steady.%s must be finite", key);
			fl_tolerance_from_number(v, &c->steady.tol[f]);
		} else if (t == LUA_TSTRING) {
			char err[160];
			if (fl_tolerance_parse(lua_tostring(L, -1),
					       fl_figures[f].bytes,
					       &c->steady.tol[f], err,
					       sizeof err) < 0)
				fail(L, p, key, "steady.%s: %s", key, err);
		} else if (t != LUA_TNIL) {
			fail(L, p, key,
			     "steady.%s must be a string like '+2' (got %s)",
			     key, lua_typename(L, t));
		}
		lua_pop(L, 1);
	}
	c->steady.health = get_bool(L, p, s, "health", "steady.", 0);
	char *per = get_string(L, p, s, "per", "steady.");
	if (per) {
		/* fail() does not return: nothing may stay allocated. */
		char text[32];
		snprintf(text, sizeof text, "%s", per);
		free(per);
		if (fl_config_per_process(text, &c->steady.per_process) < 0)
			fail(L, p, "per",
			     "steady.per must be \"tree\" (the sum over the "
			     "target's processes) or \"process\" (each process "
			     "against its own baseline), not '%s'",
			     text);
	}
	lua_pop(L, 1);
}

int fl_config_per_process(const char *text, int *per_process)
{
	if (strcmp(text, "tree") == 0)
		*per_process = 0;
	else if (strcmp(text, "process") == 0)
		*per_process = 1;
	else
		return -EINVAL;
	return 0;
}

static void parse_xfail(lua_State *L, const struct parse *p)
{
	fl_config *c = p->c;
	int t = lua_getfield(L, p->idx, "xfail");
	if (t == LUA_TBOOLEAN) {
		c->xfail = lua_toboolean(L, -1);
	} else if (t == LUA_TSTRING) {
		c->xfail = 1;
		c->xfail_reason = fl_xstrdup(lua_tostring(L, -1));
	} else if (t == LUA_TTABLE) {
		int x = lua_gettop(L);
		check_keys(L, p, x, "xfail", fl_api_keys("xfail"));
		c->xfail = 1;
		c->xfail_reason = get_string(L, p, x, "reason", "xfail.");
		c->xfail_match = get_string(L, p, x, "match", "xfail.");
	} else if (t != LUA_TNIL) {
		fail(L, p, "xfail",
		     "xfail must be true, a reason, or { reason = ..., match = "
		     "... }");
	}
	lua_pop(L, 1);
}

static int parse_all(lua_State *L)
{
	struct parse *p = lua_touserdata(L, 1);
	/* The scenario table is the second argument of this call. */
	p->idx = 2;
	fl_config *c = p->c;
	check_keys(L, p, p->idx, "the scenario", fl_api_keys("the scenario"));
	c->name = get_string(L, p, p->idx, "name", "");
	c->description = get_string(L, p, p->idx, "description", "");
	c->tags = get_list(L, p, p->idx, "tags", "", &c->ntags);

	int t = lua_getfield(L, p->idx, "seed");
	if (t == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0)
		c->seed = (uint64_t)lua_tointeger(L, -1);
	else if (t != LUA_TNIL)
		fail(L, p, "seed", "seed must be a non-negative integer");
	lua_pop(L, 1);
	c->timeout_s = get_number(L, p, p->idx, "timeout", "", c->timeout_s, 0, 1);
	parse_xfail(L, p);

	int target = push_table(L, p, p->idx, "target", "",
				"{ cmd = { ... } }");
	if (!target)
		fail(L, p, NULL, "a scenario needs a target = { cmd = { ... } } "
				 "table");
	parse_target(L, p, target);
	lua_pop(L, 1);

	int s = push_table(L, p, p->idx, "sample", "", "{ hz = 200 }");
	if (s) {
		check_keys(L, p, s, "sample", fl_api_keys("sample"));
		c->hz = get_number(L, p, s, "hz", "sample.", c->hz, 0, 0);
		lua_pop(L, 1);
	}
	if (c->hz < 1 || c->hz > 10000)
		fail(L, p, "hz", "sample.hz must be between 1 and 10000");

	parse_steady(L, p);
	if (c->steady.tol[FL_FIG_FILES].set && !c->watch)
		fail(L, p, "files",
		     "steady.files needs target.watch = \"DIR\" (the directory "
		     "whose entries are counted)");
	if (c->steady.health && c->health.kind == FL_HEALTH_NONE)
		fail(L, p, "health",
		     "steady.health = true needs a target.health probe");

	int r = push_table(L, p, p->idx, "recovery", "", "{ hold = 0.1 }");
	if (r) {
		check_keys(L, p, r, "recovery", fl_api_keys("recovery"));
		double hold = get_number(L, p, r, "hold", "recovery.",
					 (double)c->hold_ns / 1e9, 0, 0);
		c->hold_ns = (int64_t)(hold * 1e9);
		lua_pop(L, 1);
	}

	if (lua_getfield(L, p->idx, "run") != LUA_TFUNCTION)
		fail(L, p, NULL, "a scenario needs run = function(t) ... end");
	c->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int fl_config_parse(lua_State *L, int idx, const char *file, fl_config *c,
		    char *err, size_t errlen)
{
	struct parse p = {.c = c, .file = file, .idx = lua_absindex(L, idx)};
	int top = lua_gettop(L);
	if (!lua_istable(L, p.idx)) {
		snprintf(err, errlen, "%s: the scenario is not a table", file);
		return -1;
	}
	/* Where this scenario is in its file: its run function's line. */
	if (lua_getfield(L, p.idx, "run") == LUA_TFUNCTION) {
		lua_Debug ar;
		lua_getinfo(L, ">S", &ar);
		p.near = ar.linedefined;
	} else {
		lua_pop(L, 1);
	}
	lua_pushcfunction(L, parse_all);
	lua_pushlightuserdata(L, &p);
	lua_pushvalue(L, p.idx);
	int st = lua_pcall(L, 2, 0, 0);
	if (st != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		snprintf(err, errlen, "%s", msg ? msg : "bad scenario table");
		lua_settop(L, top);
		return -1;
	}
	lua_settop(L, top);
	return 0;
}
