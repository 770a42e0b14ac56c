/* faultline: runs Lua scenarios that inject faults into a target program
 * and judge whether it survived, cleaned up and recovered. */
#define _GNU_SOURCE
#include "cli.h"
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
	"  points                   list the failure points faultline knows\n"
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

int fl_cmd_points(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: faultline points\n"
		     "Lists libfiu's POSIX failure points that scenarios can "
		     "name.");
		return FL_EXIT_OK;
	}
	for (const char *const *p = fl_points_posix(); *p; p++)
		puts(*p);
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
