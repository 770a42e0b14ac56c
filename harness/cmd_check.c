/* faultline check: validates scenarios without running them, fast enough
 * to run on every save: the file loads, its table is what config.c
 * accepts (unknown keys with did-you-mean, types, numbers that make sense),
 * the calls on the target object its source shows use the methods and
 * options api.c describes (harness/luascan.c reads them),
 * the points it names exist (libfiu's and faultline's, or those the
 * target's binary declares), the binary exists and can be executed, and
 * its calls reach the points the scenario fails. Each finding is one line,
 * "file:line: message". */
#define _GNU_SOURCE
#include "api.h"
#include "cli.h"
#include "config.h"
#include "elf.h"
#include "lua_state.h"
#include "lua_target.h"
#include "luascan.h"
#include "points.h"
#include "scenario.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loading a scenario file may run its code: a loop is stopped here. */
#define CHECK_LOAD_TIMEOUT_S 5.0

static const char check_usage[] =
	"usage: faultline check PATH...\n"
	"\n"
	"Validates the scenarios in the given Lua files and directories without\n"
	"running them: the file loads; every field of the scenario table is\n"
	"known (with a did-you-mean), of the right type, and makes sense; the\n"
	"calls on the target object (t:fault(...), on whatever run's parameter\n"
	"is called) are read from the source, so an unknown method and an\n"
	"unknown option of a t: call, nested ones such as leaked = { ... }\n"
	"included, are found on lines the run would reach late or never (only\n"
	"keys written as name = or [\"name\"] =, never computed ones); the\n"
	"failure points it names exist (libfiu's and faultline's, or those its\n"
	"target declares); the target's program exists and is executable; and\n"
	"its calls reach the points the scenario fails. With target.inherit and\n"
	"a shell (sh -c '... exec PROGRAM ...'), PROGRAM is the program checked.\n"
	"One line per finding: FILE:LINE: MESSAGE. What check cannot see is\n"
	"said as FILE:LINE: note: MESSAGE, and is no finding.\n"
	"\n"
	"exit status: 0 no finding, 1 findings, 2 unusable input (a path that\n"
	"does not exist, no scenario under it).\n";

struct check {
	int findings;
	int notes;
	int scenarios;
	/* Lines already printed: a file of several scenarios shares its
	 * source and often its program. */
	char **said;
	size_t nsaid;
	/* The file read last and what its source shows: the scenarios of a
	 * file come one after the other, and share it. */
	char *file;
	char *text;
	int scanned;		/* scan holds the file's calls */
	fl_luascan scan;
};

/* Prints line unless it was printed before; 1 if it printed it. */
static int say(struct check *c, const char *line)
{
	for (size_t i = 0; i < c->nsaid; i++)
		if (!strcmp(c->said[i], line))
			return 0;
	c->said = fl_xrealloc(c->said, (c->nsaid + 1) * sizeof *c->said);
	c->said[c->nsaid++] = fl_xstrdup(line);
	puts(line);
	return 1;
}

static void vreport(struct check *c, int is_note, const char *file, int line,
		    const char *fmt, va_list ap)
{
	char msg[1024], out[1400];
	vsnprintf(msg, sizeof msg, fmt, ap);
	const char *kind = is_note ? "note: " : "";
	if (line > 0)
		snprintf(out, sizeof out, "%s:%d: %s%s", file, line, kind, msg);
	else
		snprintf(out, sizeof out, "%s: %s%s", file, kind, msg);
	if (say(c, out))
		(*(is_note ? &c->notes : &c->findings))++;
}

static void finding(struct check *c, const char *file, int line,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void finding(struct check *c, const char *file, int line,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, 0, file, line, fmt, ap);
	va_end(ap);
}

/* Something check cannot tell, said so that a clean result is not read
 * as more than it is; it does not count as a finding. */
static void note(struct check *c, const char *file, int line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void note(struct check *c, const char *file, int line,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(c, 1, file, line, fmt, ap);
	va_end(ap);
}

/* A message that already starts with "file:" is printed as it is. */
static void finding_msg(struct check *c, const char *file, const char *msg)
{
	char out[2400];
	if (strncmp(msg, file, strlen(file)) == 0)
		snprintf(out, sizeof out, "%s", msg);
	else
		snprintf(out, sizeof out, "%s: %s", file, msg);
	if (say(c, out))
		c->findings++;
}

/* "a, b, c" of a NULL-terminated list, for a key with no close match. */
static void join(const char *const *names, char *out, size_t len)
{
	fl_buf b;
	fl_buf_init(&b);
	for (size_t i = 0; names[i]; i++)
		fl_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
	snprintf(out, len, "%s", b.data ? b.data : "none");
	fl_buf_free(&b);
}

static int listed(const char *const *names, const char *name)
{
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* What the source shows: the calls on the target object               */
/* ------------------------------------------------------------------ */

/* A point name the scenario passes, and where. */
struct point_use {
	const char *name;
	int line;
};

struct uses {
	struct point_use *v;
	size_t n;
};

/* Checks a point name against the table; with u, also keeps it for the
 * checks against the program. */
static void use_point(struct check *c, struct uses *u,
		      const fl_luascan_value *v)
{
	if (!v || v->kind != FL_LUASCAN_STRING || strlen(v->str) != v->len)
		return;
	char why[400];
	if (fl_points_check(v->str, why, sizeof why) < 0) {
		finding(c, c->file, v->line, "%s", why);
		return;
	}
	if (!u)
		return;
	u->v = fl_xrealloc(u->v, (u->n + 1) * sizeof *u->v);
	u->v[u->n++] = (struct point_use){v->str, v->line};
}

/* The literal keys of a table passed as the options of api table name
 * ("t:fault"), and of the tables inside it that api.c describes
 * ("t:fault.after", "t:expect.leaked"); a point = is a point name. */
static void check_table(struct check *c, struct uses *u, const char *name,
			const fl_luascan_value *v)
{
	if (!fl_api_table_named(name))
		return;
	/* fl_api_keys' array is reused by the next call: copy it. */
	const char *const *keys0 = fl_api_keys(name);
	size_t nkeys = 0;
	while (keys0[nkeys])
		nkeys++;
	const char **keys = fl_xcalloc(nkeys + 1, sizeof *keys);
	memcpy(keys, keys0, nkeys * sizeof *keys);
	for (size_t i = 0; i < v->nfields; i++) {
		const fl_luascan_field *f = &v->fields[i];
		if (!f->key)
			continue;
		if (!listed(keys, f->key)) {
			const char *dym = fl_config_did_you_mean(f->key, keys);
			char known[600];
			join(keys, known, sizeof known);
			if (dym)
				finding(c, c->file, f->line,
					"%s: unknown option '%s' (did you mean "
					"'%s'?)",
					name, f->key, dym);
			else
				finding(c, c->file, f->line,
					"%s: unknown option '%s' (known: %s)",
					name, f->key, known);
			continue;
		}
		if (!strcmp(f->key, "point"))
			use_point(c, u, &f->value);
		if (f->value.kind == FL_LUASCAN_TABLE) {
			char inner[128];
			snprintf(inner, sizeof inner, "%s.%s", name, f->key);
			check_table(c, u, inner, &f->value);
		}
	}
	free(keys);
}

/* One call: a method the target object has, its option tables, its
 * point names (u: where the points of the lines being checked go). */
static void check_call(struct check *c, struct uses *u,
		       const fl_luascan_call *call)
{
	const char *const *methods = fl_lua_target_methods();
	if (!listed(methods, call->method)) {
		const char *dym = fl_config_did_you_mean(call->method, methods);
		if (dym)
			finding(c, c->file, call->line,
				"unknown method '%s:%s' (did you mean "
				"'%s:%s'?)",
				call->receiver, call->method, call->receiver,
				dym);
		else
			finding(c, c->file, call->line,
				"unknown method '%s:%s' (see the target "
				"object's methods in docs/scenarios.md)",
				call->receiver, call->method);
		return;
	}
	if ((!strcmp(call->method, "fault") || !strcmp(call->method, "clear")) &&
	    call->nargs > 0)
		use_point(c, u, &call->args[0]);
	char name[128];
	snprintf(name, sizeof name, "t:%s", call->method);
	for (size_t i = 0; i < call->nargs; i++)
		if (call->args[i].kind == FL_LUASCAN_TABLE)
			check_table(c, u, name, &call->args[i]);
}

/* Reads the file (once for the scenarios of a file) and checks every call
 * on the target object it shows. */
static void read_source(struct check *c, const char *file)
{
	if (c->file && !strcmp(c->file, file))
		return;
	free(c->file);
	free(c->text);
	if (c->scanned)
		fl_luascan_free(&c->scan);
	c->scanned = 0;
	c->text = NULL;
	c->file = fl_xstrdup(file);
	size_t len;
	if (fl_read_file(file, &c->text, &len) < 0)
		return;
	char err[256];
	/* Source the lexer cannot read does not load either: the loader's
	 * message says where. */
	if (fl_luascan_scan(c->text, len, &c->scan, err, sizeof err) < 0) {
		fl_luascan_free(&c->scan);
		return;
	}
	c->scanned = 1;
	for (size_t i = 0; i < c->scan.ncalls; i++)
		check_call(c, NULL, &c->scan.calls[i]);
}

/* The point names the calls on lines from..to pass (their findings were
 * said when the file was read, and are not said twice). */
static void points_between(struct check *c, int from, int to, struct uses *u)
{
	for (size_t i = 0; c->scanned && i < c->scan.ncalls; i++)
		if (c->scan.calls[i].line >= from && c->scan.calls[i].line <= to)
			check_call(c, u, &c->scan.calls[i]);
}

static void check_free(struct check *c)
{
	for (size_t i = 0; i < c->nsaid; i++)
		free(c->said[i]);
	free(c->said);
	free(c->file);
	free(c->text);
	if (c->scanned)
		fl_luascan_free(&c->scan);
}

/* ------------------------------------------------------------------ */
/* What the program shows                                              */
/* ------------------------------------------------------------------ */

/* Resolves a program name like the start will: relative to the target's
 * working directory when it holds a '/', else through PATH. NULL when it
 * holds placeholders (known only at run time) or is missing (*missing
 * set). */
static char *resolve(const char *argv0, const char *cwd, int *missing)
{
	*missing = 0;
	if (strchr(argv0, '{') || (cwd && strchr(cwd, '{') &&
				   strchr(argv0, '/') && argv0[0] != '/'))
		return NULL;
	char joined[PATH_MAX];
	const char *probe = argv0;
	if (cwd && strchr(argv0, '/') && argv0[0] != '/') {
		snprintf(joined, sizeof joined, "%s/%s", cwd, argv0);
		probe = joined;
	}
	char *path = fl_target_resolve(probe);
	if (!path)
		*missing = 1;
	return path;
}

/* Is the program (a path or a name) a shell? */
static int is_shell(const char *program)
{
	static const char *const shells[] = {"sh",  "bash", "dash", "zsh",
					     "ksh", "mksh", "ash",  NULL};
	const char *base = strrchr(program, '/');
	return listed(shells, base ? base + 1 : program);
}

/* The script of `sh [options] -c SCRIPT ...`, or NULL (a script file). */
static const char *shell_script(const fl_config *cfg)
{
	int dash_c = 0;
	for (int i = 1; i < cfg->ncmd; i++) {
		const char *a = cfg->cmd[i];
		if (!strcmp(a, "--"))
			return dash_c && i + 1 < cfg->ncmd ? cfg->cmd[i + 1] : NULL;
		if ((a[0] == '-' || a[0] == '+') && a[1]) {
			if (a[0] == '-' && a[1] != '-' && strchr(a, 'c'))
				dash_c = 1;
			/* -o NAME and +o NAME take a word. */
			if (!strcmp(a + 1, "o"))
				i++;
			continue;
		}
		return dash_c ? a : NULL;
	}
	return NULL;
}

/* The program a shell script runs with `exec PROGRAM ...` (its first exec
 * command), in out: 0, or -1 when it has none or its name is known only
 * when the shell runs (a variable, a substitution, a placeholder). The
 * words after it ({port}, $m) do not matter. */
static int exec_program(const char *script, char *out, size_t len)
{
	for (const char *p = script; (p = strstr(p, "exec")); p += 4) {
		if (p > script && !strchr(" \t\n;&|({", p[-1]))
			continue;
		const char *q = p + 4;
		if (*q != ' ' && *q != '\t')
			continue;
		for (;;) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q != '-')
				break;
			/* exec -a NAME, -c, -l: options of exec itself. */
			int takes_word = q[1] == 'a';
			q += strcspn(q, " \t");
			if (takes_word) {
				while (*q == ' ' || *q == '\t')
					q++;
				q += strcspn(q, " \t");
			}
		}
		size_t n = 0;
		char quote = 0;
		for (; *q; q++) {
			if (quote) {
				if (*q == quote)
					quote = 0;
				else if (n + 1 < len)
					out[n++] = *q;
				continue;
			}
			if (*q == '\'' || *q == '"') {
				quote = *q;
				continue;
			}
			if (strchr(" \t\n;&|<>()", *q))
				break;
			if (n + 1 < len)
				out[n++] = *q;
		}
		out[n] = '\0';
		if (!n || strpbrk(out, "$`{*?\\"))
			return -1;
		return 0;
	}
	return -1;
}

/* The program whose calls decide whether the points fire: cmd's, or with
 * target.inherit and a shell, the program its script runs with exec.
 * NULL with nothing said (placeholders), with a finding to make
 * (*missing), or after a note (*unknown: a shell's program that check
 * cannot see). *via_shell: the program is the one a shell executes. */
static char *program_of(struct check *c, const fl_config *cfg, int cmd_line,
			int *missing, int *unknown, int *via_shell)
{
	*unknown = 0;
	*via_shell = 0;
	char *path = resolve(cfg->cmd[0], cfg->cwd, missing);
	if (!path || !cfg->inherit || !is_shell(path))
		return path;
	const char *script = shell_script(cfg);
	char prog[PATH_MAX];
	int named = script && exec_program(script, prog, sizeof prog) == 0;
	int m;
	char *inner = named ? resolve(prog, cfg->cwd, &m) : NULL;
	if (!inner) {
		*unknown = 1;
		note(c, c->file, cmd_line,
		     "target.cmd runs %s with target.inherit: the program it "
		     "runs cannot be checked (%s), so whether its calls reach "
		     "the scenario's points is not checked",
		     path,
		     !script  ? "no -c script"
		     : !named ? "its script names no program after 'exec'"
			      : "the program after 'exec' is not an "
				"executable file");
		free(path);
		return NULL;
	}
	free(path);
	*via_shell = 1;
	return inner;
}

/* The points used on the scenario's lines against the program: the ones
 * it declares, and whether its calls reach posix/, libc/ and linux/. */
static void check_reach(struct check *c, const struct uses *u,
			char *const *declared, int ndeclared,
			const fl_points_reach *reach, const char *program,
			const fl_config *cfg, int via_shell)
{
	for (size_t i = 0; i < u->n; i++) {
		const char *name = u->v[i].name;
		int line = u->v[i].line;
		char why[400];
		if (fl_points_check_declared(name, declared, ndeclared, why,
					     sizeof why) < 0) {
			finding(c, c->file, line, "%s", why);
			continue;
		}
		int builtin = !strncmp(name, "posix/", 6) ||
			      !strncmp(name, "libc/", 5) ||
			      !strncmp(name, "linux/", 6);
		if (!builtin || !reach || fl_points_reaches(reach, name))
			continue;
		if (cfg->inherit && !via_shell) {
			/* The programs it executes keep the agent: they may
			 * make the calls it does not. */
			note(c, c->file, line,
			     "%s: %s never calls a function that reaches it "
			     "itself; with target.inherit the programs it runs "
			     "may, and check cannot see them",
			     name, program);
			continue;
		}
		char hint[300];
		fl_points_similar_calls(reach, name, hint, sizeof hint);
		finding(c, c->file, line,
			"%s: %s never calls a function that reaches it, so its "
			"faults would never fire%s%s%s%s",
			name, program, hint[0] ? " (it calls " : "", hint,
			hint[0] ? ")" : "",
			!cfg->inherit && is_shell(program)
				? " (it is a shell: with target.inherit = "
				  "true the program it runs keeps the faults)"
				: "");
	}
}

/* What the binary says: its declared points, whether it runs at all. */
static void check_program(struct check *c, const fl_scenario_ref *ref,
			  const fl_config *cfg, int from, int to)
{
	int missing, unknown, via_shell;
	int cmd_line = fl_config_line_of(ref->file, "cmd", from);
	char *path = program_of(c, cfg, cmd_line, &missing, &unknown,
				&via_shell);
	if (missing) {
		finding(c, ref->file, cmd_line,
			"target.cmd: '%s' is not an executable file (in PATH "
			"or the working directory)",
			cfg->cmd[0]);
		return;
	}
	struct uses u = {0};
	points_between(c, from, to, &u);
	fl_elf_info info;
	memset(&info, 0, sizeof info);
	fl_points_reach reach;
	memset(&reach, 0, sizeof reach);
	int elf = path && fl_elf_inspect(path, &info) == 0;
	int have_reach = elf && fl_points_reach_of(path, &reach) == 0;
	if (elf && (info.is_static || info.is_go))
		finding(c, ref->file, cmd_line,
			"%s is %s: faults cannot reach it", path,
			info.is_static ? "statically linked" : "a Go program");
	char w[1400];
	if (have_reach && fl_points_fortify_warning(&reach, path, w, sizeof w) > 0)
		finding(c, ref->file, cmd_line, "%s", w);
	if (!unknown)
		check_reach(c, &u, elf ? info.points : NULL,
			    elf ? (int)info.npoints : 0,
			    have_reach ? &reach : NULL,
			    path ? path : cfg->cmd[0], cfg, via_shell);
	free(u.v);
	if (have_reach)
		fl_points_reach_free(&reach);
	if (elf)
		fl_elf_info_free(&info);
	free(path);
}

static void check_one(struct check *c, const fl_scenario_ref *ref)
{
	c->scenarios++;
	/* The source first: its findings stand when the table does not
	 * parse too, so that one check shows every mistake it can. */
	read_source(c, ref->file);
	if (ref->load_error) {
		finding_msg(c, ref->file, ref->load_error);
		return;
	}
	fl_lua_host host;
	memset(&host, 0, sizeof host);
	host.timeout_s = CHECK_LOAD_TIMEOUT_S;
	host.deadline_ns = fl_now_ns() + (int64_t)(CHECK_LOAD_TIMEOUT_S * 1e9);
	lua_State *L = fl_lua_new(&host);
	char err[2048];
	fl_config cfg;
	fl_config_defaults(&cfg);
	int ok = fl_lua_load_scenario(L, ref->file, err, sizeof err) == 0;
	if (ok && ref->index > 0) {
		lua_geti(L, -1, ref->index);
		lua_remove(L, -2);
	}
	if (ok && fl_config_parse(L, -1, ref->file, &cfg, err, sizeof err) < 0)
		ok = 0;
	if (!ok) {
		finding_msg(c, ref->file, err);
	} else {
		/* The lines of the scenario's run function. */
		lua_Debug ar;
		lua_rawgeti(L, LUA_REGISTRYINDEX, cfg.run_ref);
		lua_getinfo(L, ">S", &ar);
		check_program(c, ref, &cfg, ar.linedefined, ar.lastlinedefined);
	}
	fl_config_free(&cfg);
	lua_close(L);
	free(host.error_msg);
}

int fl_cmd_check(int argc, char **argv)
{
	int opt = fl_cli_no_options("check", argc, argv);
	if (opt > 0) {
		fputs(check_usage, stdout);
		return FL_EXIT_OK;
	}
	if (opt < 0)
		return FL_EXIT_USAGE;
	if (argc < 2)
		return fl_cli_usage_error("check", "no scenario given");
	fl_scenario_ref *refs;
	char err[1024];
	int n = fl_scenario_discover(argv + 1, argc - 1, &refs, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "faultline check: %s\n", err);
		return FL_EXIT_USAGE;
	}
	if (n == 0) {
		fprintf(stderr, "faultline check: no scenario (*.lua) under the "
				"given paths\n");
		fl_scenario_refs_free(refs, n);
		return FL_EXIT_USAGE;
	}
	struct check c = {0};
	for (int i = 0; i < n; i++)
		check_one(&c, &refs[i]);
	fl_scenario_refs_free(refs, n);
	check_free(&c);
	fprintf(stderr, "%d scenario%s checked, %d finding%s", c.scenarios,
		c.scenarios == 1 ? "" : "s", c.findings,
		c.findings == 1 ? "" : "s");
	if (c.notes)
		fprintf(stderr, ", %d note%s", c.notes, c.notes == 1 ? "" : "s");
	fputc('\n', stderr);
	return c.findings ? FL_EXIT_FAILED : FL_EXIT_OK;
}
