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

#ifndef FL_VERSION
#define FL_VERSION "0.1.0-dev"
#endif
#ifndef FL_FIU_PRELOAD
#define FL_FIU_PRELOAD "/usr/lib/fiu/fiu_posix_preload.so"
#endif

const char *fl_version(void)
{
	return FL_VERSION;
}

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

const char *fl_find_agent(char *err, size_t errlen)
{
	static char path[PATH_MAX];
	const char *env = getenv("FAULTLINE_AGENT");
	if (env && *env) {
		if (access(env, R_OK) == 0) {
			snprintf(path, sizeof path, "%s", env);
			return path;
		}
		snprintf(err, errlen, "FAULTLINE_AGENT=%s: %s", env,
			 strerror(errno));
		return NULL;
	}
	const char *dir = fl_exe_dir();
	/* Installed: PREFIX/bin/faultline and PREFIX/lib/faultline/. In the
	 * build tree: bin/faultline and lib/. */
	static const char *const rel[] = {"../lib/faultline/faultline-agent.so",
					  "../lib/faultline-agent.so", NULL};
	for (int i = 0; rel[i]; i++) {
		char cand[PATH_MAX];
		snprintf(cand, sizeof cand, "%s/%s", dir, rel[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, path))
			return path;
	}
	snprintf(err, errlen,
		 "cannot find faultline-agent.so next to %s (set "
		 "FAULTLINE_AGENT)",
		 dir);
	return NULL;
}

const char *fl_find_fiu_preload(char *err, size_t errlen)
{
	const char *env = getenv("FAULTLINE_FIU_PRELOAD");
	const char *p = env && *env ? env : FL_FIU_PRELOAD;
	if (access(p, R_OK) == 0)
		return p;
	snprintf(err, errlen,
		 "cannot find libfiu's POSIX preload %s: %s (install libfiu0, "
		 "or set FAULTLINE_FIU_PRELOAD)",
		 p, strerror(errno));
	return NULL;
}

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
