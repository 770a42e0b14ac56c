/* faultline: runs Lua scenarios that inject faults into a target program
 * and judge whether it survived, cleaned up and recovered. */
#define _GNU_SOURCE
#include "cli.h"
#include "elf.h"
#include "points.h"
#include "scenario.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: faultline COMMAND [options] [args]\n"
	"\n"
	"Fault-injection test harness: Lua scenarios start a target under\n"
	"libfiu, fail its calls on purpose, sample its fds, RSS and threads,\n"
	"and judge whether it survived, cleaned up and recovered.\n"
	"\n"
	"commands:\n"
	"  run [options] PATH...    run scenario files or directories\n"
	"  list PATH...             list scenarios with their tags and seeds\n"
	"  replay JOURNAL           re-run a scenario failing exactly the\n"
	"                           calls its journal recorded\n"
	"  shrink JOURNAL           the smallest set of recorded faults that\n"
	"                           still fails the same expectation\n"
	"  points [TARGET]          the failure points scenarios can name; with\n"
	"                           TARGET, the ones it declares, and warnings\n"
	"                           when faults cannot reach it\n"
	"  merge RESULTS... -o DIR  one report from the results of CI shards\n"
	"  report RESULTS [-o DIR]  write junit.xml and index.html again\n"
	"  gate --baseline OLD NEW  release gate: new failures, new leaks,\n"
	"                           slower recovery (MTTR)\n"
	"  trend RESULTS... -o FILE MTTR and leaks across runs, as a page\n"
	"  help                     this text; 'faultline run --help' for run\n"
	"  version                  print the version\n"
	"\n"
	"exit status of run: 0 all passed or failed as expected, 1 a FAIL,\n"
	"XPASS or FLAKY, 2 bad usage or a scenario that could not load or\n"
	"ended in ERROR, 3 internal error.\n"
	"\n"
	"Scenario reference: docs/scenarios.md; tutorial: docs/tutorial.md.\n";

int fl_cmd_list(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("usage: faultline list PATH...\n"
		      "Lists the scenarios under the paths: id, name, tags and "
		      "seed.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? FL_EXIT_USAGE : FL_EXIT_OK;
	}
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
		if (refs[i].load_error) {
			printf("%s\tLOAD ERROR: %s\n", id, refs[i].load_error);
			bad = 1;
			continue;
		}
		printf("%s\t%s\ttags=%s\tseed=%llu\n", id, refs[i].name,
		       refs[i].tags[0] ? refs[i].tags : "-",
		       (unsigned long long)refs[i].seed);
	}
	fl_scenario_refs_free(refs, n);
	return bad ? FL_EXIT_USAGE : FL_EXIT_OK;
}

/* The POSIX point whose last part is the function's name (posix/io/rw/read
 * for read), or NULL. */
static const char *point_of_function(const char *function)
{
	size_t len = strlen(function);
	for (const char *const *p = fl_points_posix(); *p; p++) {
		size_t plen = strlen(*p);
		if (plen > len && (*p)[plen - len - 1] == '/' &&
		    strcmp(*p + plen - len, function) == 0)
			return *p;
	}
	return NULL;
}

/* Warns about fortified calls that bypass libfiu's wrappers: those whose
 * plain function libfiu's preload defines (read for __read_chk). Without
 * the preload to look at, every fortified import is named. */
static void warn_fortified(const char *target, const fl_elf_info *info)
{
	char err[512];
	const char *preload = fl_find_fiu_preload(err, sizeof err);
	char **wrapped = NULL;
	size_t nwrapped = 0;
	int known = preload && fl_elf_exports(preload, &wrapped, &nwrapped) == 0;
	char list[2048] = "";
	size_t used = 0, count = 0;
	for (size_t i = 0; i < info->nfortified; i++) {
		char base[256];
		if (fl_elf_fortified_base(info->fortified[i], base, sizeof base) != 0)
			continue;
		if (known && !fl_elf_names_contain(wrapped, nwrapped, base))
			continue;
		const char *point = point_of_function(base);
		int n = snprintf(list + used, sizeof list - used, "%s%s (instead of %s%s%s)",
				 count ? ", " : "", info->fortified[i], base,
				 point ? ", point " : "", point ? point : "");
		if (n < 0 || (size_t)n >= sizeof list - used) {
			/* Too many to name: the list ends with what fits. */
			snprintf(list + (used < sizeof list - 6 ? used : sizeof list - 6), 6,
				 ", ...");
			count++;
			break;
		}
		used += (size_t)n;
		count++;
	}
	fl_elf_names_free(wrapped, nwrapped);
	if (count == 0)
		return;
	fprintf(stderr,
		"faultline: warning: %s was built with _FORTIFY_SOURCE and calls %s; "
		"libfiu wraps only the plain functions, so faults injected there "
		"never reach these calls (build it with -U_FORTIFY_SOURCE)%s.\n",
		target, list,
		known ? "" : "; libfiu's preload could not be read, so every "
			     "fortified call is listed");
}

/* Each warning says why faults will not reach the target. */
static void warn_target(const char *target, const fl_elf_info *info)
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
	if (!info->is_static && !info->is_go)
		warn_fortified(target, info);
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

int fl_cmd_points(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: faultline points [TARGET]\n"
		     "Lists the failure points scenarios can name: with TARGET, the\n"
		     "points that program declares (FLRT_POINT, lib/flrt.h) first,\n"
		     "then libfiu's POSIX points; and warns on stderr when faults\n"
		     "cannot reach TARGET (static, fortified, Go, its own libfiu).\n"
		     "Exit status 2 when TARGET is not a readable ELF file.");
		return FL_EXIT_OK;
	}
	if (argc > 2) {
		fputs("usage: faultline points [TARGET]\n", stderr);
		return FL_EXIT_USAGE;
	}
	fl_elf_info info;
	const char *target = argc == 2 ? argv[1] : NULL;
	if (target) {
		int rc = fl_elf_inspect(target, &info);
		if (rc != 0) {
			fprintf(stderr, "faultline: %s: %s\n", target,
				rc == -ENOEXEC ? "not an ELF file (or a damaged one)"
				: rc == -ENOTSUP ? "an ELF file of the other byte order"
						 : strerror(-rc));
			return FL_EXIT_USAGE;
		}
		for (size_t i = 0; i < info.npoints; i++)
			puts(info.points[i]);
	}
	for (const char *const *p = fl_points_posix(); *p; p++)
		puts(*p);
	if (target) {
		fflush(stdout);
		warn_target(target, &info);
		fl_elf_info_free(&info);
	}
	return FL_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return FL_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return fl_cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return fl_cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "points"))
		return fl_cmd_points(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return fl_cmd_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "shrink"))
		return fl_cmd_shrink(argc - 1, argv + 1);
	if (!strcmp(cmd, "merge"))
		return fl_cmd_merge(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return fl_cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "gate"))
		return fl_cmd_gate(argc - 1, argv + 1);
	if (!strcmp(cmd, "trend"))
		return fl_cmd_trend(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage, stdout);
		return FL_EXIT_OK;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("faultline %s\n", fl_version());
		return FL_EXIT_OK;
	}
	fprintf(stderr, "faultline: unknown command '%s'\n\n%s", cmd, usage);
	return FL_EXIT_USAGE;
}
