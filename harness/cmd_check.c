/* faultline check: validates scenarios without running them, fast enough
 * to run on every save: the file loads, its table is what config.c
 * accepts (unknown keys with did-you-mean, types, numbers that make sense),
 * the points it names exist (libfiu's and faultline's, or those the
 * target's binary declares), the binary exists and can be executed, and
 * its calls reach the points the scenario fails. Each finding is one line,
 * "file:line: message". */
#define _GNU_SOURCE
#include "cli.h"
#include "config.h"
#include "elf.h"
#include "lua_state.h"
#include "points.h"
#include "scenario.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <lauxlib.h>
#include <limits.h>
#include <regex.h>
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
	"running them: the file loads; every field and option is known (with a\n"
	"did-you-mean), of the right type, and makes sense; the failure points\n"
	"it names exist (libfiu's and faultline's, or those its target declares);\n"
	"the target's program exists and is executable; and its calls reach the\n"
	"points the scenario fails. One line per finding: FILE:LINE: MESSAGE.\n"
	"\n"
	"exit status: 0 no finding, 1 findings, 2 unusable input (a path that\n"
	"does not exist, no scenario under it).\n";

struct check {
	int findings;
	int scenarios;
	/* Lines already printed: a file of several scenarios shares its
	 * source and often its program. */
	char **said;
	size_t nsaid;
};

/* Prints line unless it was printed before; counts it as a finding. */
static void say(struct check *c, const char *line)
{
	for (size_t i = 0; i < c->nsaid; i++)
		if (!strcmp(c->said[i], line))
			return;
	c->said = fl_xrealloc(c->said, (c->nsaid + 1) * sizeof *c->said);
	c->said[c->nsaid++] = fl_xstrdup(line);
	puts(line);
	c->findings++;
}

static void finding(struct check *c, const char *file, int line,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void finding(struct check *c, const char *file, int line,
		    const char *fmt, ...)
{
	char msg[1024], out[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(out, sizeof out, "%s:%d: %s", file, line, msg);
	else
		snprintf(out, sizeof out, "%s: %s", file, msg);
	say(c, out);
}

/* A message that already starts with "file:" is printed as it is. */
static void finding_msg(struct check *c, const char *file, const char *msg)
{
	char out[2400];
	if (strncmp(msg, file, strlen(file)) == 0)
		snprintf(out, sizeof out, "%s", msg);
	else
		snprintf(out, sizeof out, "%s: %s", file, msg);
	say(c, out);
}

static int line_at(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

/* The program a scenario runs, resolved like the start will; NULL when its
 * name holds placeholders (known only at run time) or it is missing
 * (*missing set). */
static char *program_of(const fl_config *cfg, int *missing)
{
	*missing = 0;
	const char *argv0 = cfg->cmd[0];
	if (strchr(argv0, '{') || (cfg->cwd && strchr(cfg->cwd, '{') &&
				   strchr(argv0, '/') && argv0[0] != '/'))
		return NULL;
	char joined[PATH_MAX];
	const char *probe = argv0;
	if (cfg->cwd && strchr(argv0, '/') && argv0[0] != '/') {
		snprintf(joined, sizeof joined, "%s/%s", cfg->cwd, argv0);
		probe = joined;
	}
	char *path = fl_target_resolve(probe);
	if (!path)
		*missing = 1;
	return path;
}

/* The points the scenario names: the first argument of t:fault and the
 * point = of t:episodes and after = { point = }. Names are checked
 * wherever they are; whether the program reaches them only for those
 * inside the scenario's own run function (lines from..to): a file of
 * several scenarios may run several programs. */
static void check_points(struct check *c, const char *file, const char *text,
			 char *const *declared, int ndeclared,
			 const fl_points_reach *reach, const char *program,
			 int from, int to)
{
	static const char *const patterns[] = {
		":fault[[:space:]]*\\([[:space:]]*[\"']([^\"']+)[\"']",
		"point[[:space:]]*=[[:space:]]*[\"']([^\"']+)[\"']",
	};
	for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++) {
		regex_t re;
		if (regcomp(&re, patterns[k], REG_EXTENDED) != 0)
			continue;
		regmatch_t m[2];
		for (const char *p = text; regexec(&re, p, 2, m, 0) == 0;
		     p += m[0].rm_eo) {
			char name[128];
			snprintf(name, sizeof name, "%.*s",
				 (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
			int line = line_at(text, (size_t)(p - text + m[1].rm_so));
			char why[400];
			if (fl_points_check(name, why, sizeof why) < 0) {
				finding(c, file, line, "%s", why);
				continue;
			}
			if (fl_points_check_declared(name, declared, ndeclared,
						     why, sizeof why) < 0) {
				finding(c, file, line, "%s", why);
				continue;
			}
			int builtin = !strncmp(name, "posix/", 6) ||
				      !strncmp(name, "libc/", 5) ||
				      !strncmp(name, "linux/", 6);
			if (!builtin || !reach || fl_points_reaches(reach, name) ||
			    line < from || line > to)
				continue;
			char hint[300];
			fl_points_similar_calls(reach, name, hint, sizeof hint);
			finding(c, file, line,
				"%s: %s never calls a function that reaches it, "
				"so its faults would never fire%s%s%s",
				name, program, hint[0] ? " (it calls " : "",
				hint, hint[0] ? ")" : "");
		}
		regfree(&re);
	}
}

/* What the binary says: its declared points, whether it runs at all. */
static void check_program(struct check *c, const fl_scenario_ref *ref,
			  const fl_config *cfg, const char *text, int from,
			  int to)
{
	int missing;
	char *path = program_of(cfg, &missing);
	int cmd_line = fl_config_line_of(ref->file, "cmd", from);
	if (missing) {
		finding(c, ref->file, cmd_line,
			"target.cmd: '%s' is not an executable file (in PATH "
			"or the working directory)",
			cfg->cmd[0]);
		return;
	}
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
	check_points(c, ref->file, text, elf ? info.points : NULL,
		     elf ? (int)info.npoints : 0, have_reach ? &reach : NULL,
		     path ? path : cfg->cmd[0], from, to);
	if (have_reach)
		fl_points_reach_free(&reach);
	if (elf)
		fl_elf_info_free(&info);
	free(path);
}

static void check_one(struct check *c, const fl_scenario_ref *ref)
{
	c->scenarios++;
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
		char *text = NULL;
		if (fl_read_file(ref->file, &text, NULL) == 0)
			check_program(c, ref, &cfg, text, ar.linedefined,
				      ar.lastlinedefined);
		free(text);
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
	for (size_t i = 0; i < c.nsaid; i++)
		free(c.said[i]);
	free(c.said);
	fprintf(stderr, "%d scenario%s checked, %d finding%s\n", c.scenarios,
		c.scenarios == 1 ? "" : "s", c.findings,
		c.findings == 1 ? "" : "s");
	return c.findings ? FL_EXIT_FAILED : FL_EXIT_OK;
}
