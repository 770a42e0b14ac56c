/* faultline: runs Lua scenarios that inject faults into a target program
 * and judge whether it survived, cleaned up and recovered. */
#define _GNU_SOURCE
#include "cli.h"
#include "elf.h"
#include "points.h"
#include "scenario.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: faultline COMMAND [options] [args]\n"
	"\n"
	"Fault-injection test harness: Lua scenarios start a target under\n"
	"libfiu, fail its calls on purpose, sample its fds, RSS, threads and\n"
	"processes (its whole process tree), and judge whether it survived,\n"
	"cleaned up and recovered.\n"
	"\n"
	"commands:\n"
	"  run [options] PATH...    run scenario files or directories\n"
	"  check PATH...            validate scenarios without running them\n"
	"  new NAME -- CMD...       write NAME.lua, a starting scenario for\n"
	"                           the command CMD\n"
	"  list PATH...             list scenarios with their tags and seeds\n"
	"  replay JOURNAL           re-run a scenario failing exactly the\n"
	"                           calls its journal recorded\n"
	"  shrink JOURNAL           the smallest set of recorded faults that\n"
	"                           still fails the same expectation\n"
	"  points [TARGET]          the failure points scenarios can name; with\n"
	"                           TARGET, the points its calls reach and the\n"
	"                           calls no point covers\n"
	"  merge RESULTS... -o DIR  one report from the results of CI shards\n"
	"  report RESULTS [-o DIR]  write junit.xml and index.html again\n"
	"  gate --baseline OLD NEW  release gate: new failures, new leaks,\n"
	"                           slower recovery (MTTR)\n"
	"  trend RESULTS... -o FILE MTTR and leaks across runs, as a page\n"
	"  sweep SCENARIO...        fail each error path (call site) once and\n"
	"                           say what it does: handled, crashed,\n"
	"                           leaked, ...\n"
	"  help [COMMAND]           this text, or a command's (= COMMAND --help)\n"
	"  version, -V              print the version\n"
	"\n"
	"exit status of run: 0 all passed or failed as expected, 1 a FAIL,\n"
	"XPASS or FLAKY, 2 bad usage or a scenario that could not load or\n"
	"ended in ERROR, 3 internal error or a report that could not be\n"
	"written, 128+N interrupted by signal N.\n"
	"\n";

/* The usage, with where this installation keeps its documentation. */
static void usage(FILE *out)
{
	const char *doc = fl_doc_dir();
	char path[PATH_MAX + 32];
	fputs(usage_text, out);
	fprintf(out, "Tutorial: %s/tutorial.md\nScenario reference: %s/scenarios.md\n",
		doc, doc);
	/* Installed, the examples are beside the documents and the manual is
	 * in man's path; in the build tree, the manual is in docs/. */
	snprintf(path, sizeof path, "%s/examples", doc);
	if (access(path, R_OK) == 0)
		fprintf(out, "Examples: %s/\n", path);
	snprintf(path, sizeof path, "%s/faultline.1", doc);
	if (access(path, R_OK) == 0)
		fprintf(out, "Manual: man -l %s\n", path);
	else
		fputs("Manual: man faultline\n", out);
}

int fl_cmd_list(int argc, char **argv)
{
	int opt = fl_cli_no_options("list", argc, argv);
	if (opt > 0) {
		fputs("usage: faultline list PATH...\n"
		      "Lists the scenarios under the paths: id, name, tags and "
		      "seed.\n",
		      stdout);
		return FL_EXIT_OK;
	}
	if (opt < 0)
		return FL_EXIT_USAGE;
	if (argc < 2)
		return fl_cli_usage_error("list", "no scenario given");
	fl_scenario_ref *refs;
	char err[1024];
	int n = fl_scenario_discover(argv + 1, argc - 1, &refs, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	int bad = 0;
	for (int i = 0; i < n; i++) {
		char id[PATH_MAX + 16];
		if (refs[i].index)
			snprintf(id, sizeof id, "%s#%d", refs[i].file,
				 refs[i].index);
		else
			snprintf(id, sizeof id, "%s", refs[i].file);
		/* Names come from scenario files: shown, never obeyed. */
		fl_buf line;
		fl_buf_init(&line);
		fl_text_console(&line, id);
		fl_buf_putc(&line, '\t');
		if (refs[i].load_error) {
			fl_buf_puts(&line, "LOAD ERROR: ");
			fl_text_console(&line, refs[i].load_error);
			printf("%s\n", line.data);
			fl_buf_free(&line);
			bad = 1;
			continue;
		}
		fl_text_console(&line, refs[i].name);
		fl_buf_puts(&line, "\ttags=");
		fl_text_console(&line, refs[i].tags[0] ? refs[i].tags : "-");
		printf("%s\tseed=%llu\n", line.data, (unsigned long long)refs[i].seed);
		fl_buf_free(&line);
	}
	fl_scenario_refs_free(refs, n);
	return bad ? FL_EXIT_USAGE : FL_EXIT_OK;
}

/* Each warning says why faults will not reach the target. */
static void warn_target(const char *target, const fl_elf_info *info,
			const fl_points_reach *reach)
{
	if (info->is_static)
		fprintf(stderr,
			"faultline: warning: %s is statically linked: no dynamic "
			"loader runs, so LD_PRELOAD is ignored and neither libfiu's "
			"POSIX points nor faultline's agent can reach it.\n",
			target);
	if (info->is_go)
		fprintf(stderr,
			"faultline: warning: %s is a Go program: Go makes its system "
			"calls itself rather than through the C library, so "
			"libfiu's POSIX points never see them.\n",
			target);
	if (!info->is_static && !info->is_go && reach) {
		char w[1400];
		if (fl_points_fortify_warning(reach, target, w, sizeof w) > 0)
			fprintf(stderr, "faultline: warning: %s.\n", w);
	}
	int shared_libfiu = 0;
	for (size_t i = 0; i < info->nneeded; i++)
		shared_libfiu |= strncmp(info->needed[i], "libfiu.so", 9) == 0;
	if (info->own_libfiu && !shared_libfiu)
		fprintf(stderr,
			"faultline: warning: %s contains its own copy of libfiu "
			"(linked with libfiu.a): faultline enables points in the "
			"shared libfiu, so the points it declares never fire; link "
			"it with -lfiu.\n",
			target);
	else if (info->npoints > 0 && !shared_libfiu && !info->own_libfiu)
		fprintf(stderr,
			"faultline: warning: %s declares failure points but does not "
			"link libfiu, so they can never fire; link it with -lfiu.\n",
			target);
}

/* The calls of a target that reach failure points, one line per point:
 * the point, then the functions that reach it, with whose wrapper and,
 * for a library's call, which library. */
static void print_reached(const fl_points_reach *r)
{
	for (size_t i = 0; i < r->nreached;) {
		const char *point = r->reached[i].point;
		printf("%-30s", point);
		for (int first = 1; i < r->nreached && !strcmp(r->reached[i].point, point);
		     i++, first = 0) {
			const fl_points_call *c = &r->reached[i];
			printf("%s%s (%s%s%s)", first ? " " : ", ", c->function, c->wrapper,
			       c->from ? ", from " : "", c->from ? c->from : "");
		}
		putchar('\n');
	}
}

/* The calls no failure point covers, of the program itself (libs = 0) or
 * of its libraries: one comment line per kind, wrapped. */
static void print_uncovered(const fl_points_reach *r, int libs)
{
	for (size_t i = 0; i < r->nuncovered;) {
		const char *kind = r->uncovered[i].kind;
		int some = 0;
		for (size_t k = i; k < r->nuncovered && !strcmp(r->uncovered[k].kind, kind); k++)
			some |= !r->uncovered[k].from == !libs;
		if (!some) {
			while (i < r->nuncovered && !strcmp(r->uncovered[i].kind, kind))
				i++;
			continue;
		}
		int col = printf("#   %s:", kind);
		int indent = col;
		for (; i < r->nuncovered && !strcmp(r->uncovered[i].kind, kind); i++) {
			const fl_points_call *c = &r->uncovered[i];
			if (!c->from != !libs)
				continue;
			if (col + 1 + (int)strlen(c->function) > 78) {
				col = printf("\n#%*s", indent - 1, "") - 1;
			}
			col += printf(" %s", c->function);
		}
		putchar('\n');
	}
}

/* Whether any uncovered call is the program's own (libs = 0) or a
 * library's. */
static int any_uncovered(const fl_points_reach *r, int libs)
{
	for (size_t i = 0; i < r->nuncovered; i++)
		if (!r->uncovered[i].from == !libs)
			return 1;
	return 0;
}

int fl_cmd_points(int argc, char **argv)
{
	int opt = fl_cli_no_options("points", argc, argv);
	if (opt > 0) {
		printf("usage: faultline points [TARGET]\n"
		     "Without TARGET: every failure point a scenario may name, one a\n"
		     "line: libfiu's POSIX points and those faultline's agent adds\n"
		     "(accept4, openat, epoll_wait, sendfile, the fortified __read_chk\n"
		     "and friends; %s/scenarios.md lists them).\n"
		     "With TARGET, what faults can reach in that program, from the\n"
		     "functions it and its libraries import:\n"
		     "  - the failure points it declares (FLRT_POINT, lib/flrt.h);\n"
		     "  - each point its calls reach, with the functions that reach it\n"
		     "    and whose wrapper catches them (libfiu's or faultline's);\n"
		     "  - the I/O, network, memory and process calls no point covers:\n"
		     "    faults cannot reach those calls at all.\n"
		     "Lines that start with '#' are commentary; the others start with a\n"
		     "point's name. Warnings on stderr say when faults cannot reach\n"
		     "TARGET at all (static, Go, its own libfiu) or miss fortified calls.\n"
		     "Exit status 2 when TARGET is not a readable ELF file.\n",
		       fl_doc_dir());
		return FL_EXIT_OK;
	}
	if (opt < 0)
		return FL_EXIT_USAGE;
	if (argc > 2)
		return fl_cli_usage_error("points", "give one TARGET at most");
	if (argc < 2) {
		for (const char *const *p = fl_points_posix(); *p; p++)
			puts(*p);
		return FL_EXIT_OK;
	}
	const char *target = argv[1];
	fl_elf_info info;
	fl_points_reach reach;
	int rc = fl_elf_inspect(target, &info);
	if (rc == 0) {
		rc = fl_points_reach_of(target, &reach);
		if (rc != 0)
			fl_elf_info_free(&info);
	}
	if (rc != 0) {
		fprintf(stderr, "faultline: %s: %s\n", target,
			rc == -ENOEXEC	 ? "not an ELF file (or a damaged one)"
			: rc == -ENOTSUP ? "an ELF file of the other byte order"
					 : strerror(-rc));
		return FL_EXIT_USAGE;
	}
	if (info.npoints) {
		printf("# %s declares these failure points:\n", target);
		for (size_t i = 0; i < info.npoints; i++)
			puts(info.points[i]);
	}
	if (reach.nreached) {
		printf("# Its calls reach these points (function, whose wrapper):\n");
		print_reached(&reach);
	} else {
		printf("# None of its calls reaches a failure point.\n");
	}
	if (any_uncovered(&reach, 0)) {
		printf("# No failure point covers these calls: faults cannot reach them.\n");
		print_uncovered(&reach, 0);
	}
	if (any_uncovered(&reach, 1)) {
		printf("# Nor these, which only its libraries call:\n");
		print_uncovered(&reach, 1);
	}
	if (reach.nmissing) {
		printf("# Libraries not found, whose calls are not listed:");
		for (size_t i = 0; i < reach.nmissing; i++)
			printf(" %s", reach.missing[i]);
		putchar('\n');
	}
	fflush(stdout);
	warn_target(target, &info, &reach);
	fl_points_reach_free(&reach);
	fl_elf_info_free(&info);
	return FL_EXIT_OK;
}

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"run", fl_cmd_run},	   {"check", fl_cmd_check},
	{"list", fl_cmd_list},	   {"points", fl_cmd_points},
	{"replay", fl_cmd_replay}, {"shrink", fl_cmd_shrink},
	{"merge", fl_cmd_merge},   {"report", fl_cmd_report},
	{"gate", fl_cmd_gate},	   {"trend", fl_cmd_trend},
	{"new", fl_cmd_new},
	{"sweep", fl_cmd_sweep},
};

static const struct command *command_named(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	/* Jansson allocates through the harness's policy: without memory
	 * faultline says so and aborts, instead of a value that silently
	 * went missing (a NULL from json_object() set into a result drops
	 * the key, and nobody could check every one of those calls). */
	json_set_alloc_funcs(fl_xmalloc, free);
	if (argc < 2) {
		usage(stderr);
		return FL_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	const struct command *c = command_named(cmd);
	if (c)
		return c->fn(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		if (argc > 2) {
			/* faultline help CMD is faultline CMD --help. */
			const struct command *h = command_named(argv[2]);
			if (!h) {
				fprintf(stderr,
					"faultline: no command '%s' (try "
					"'faultline help')\n",
					argv[2]);
				return FL_EXIT_USAGE;
			}
			/* Commands read argv[-1], the program as invoked. */
			char *hargv[] = {argv[0], argv[2], "--help", NULL};
			return h->fn(2, hargv + 1);
		}
		usage(stdout);
		return FL_EXIT_OK;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version") ||
	    !strcmp(cmd, "-V")) {
		printf("faultline %s\n", fl_version());
		return FL_EXIT_OK;
	}
	fprintf(stderr, "faultline: unknown command '%s' (try 'faultline help')\n",
		cmd);
	return FL_EXIT_USAGE;
}
