/* Scenarios: loading Lua scenario files and running one scenario from start
 * to verdict. The result of a run is a JSON object (see docs/results.md):
 * every report is made from it. */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct fl_fault_rec;
struct fl_sweep_opts;

typedef struct fl_run_opts {
	int have_seed;		/* --seed given: overrides the scenario's */
	uint64_t seed;
	double timeout_s;	/* --timeout: overrides the scenario's own
				 * when above 0 */
	int verbose;		/* -v: target output and logs on stderr */
	const char *agent_path;	/* faultline-agent.so */
	const char *fiu_preload_path; /* libfiu's fiu_posix_preload.so */
	const char *tmp_root;	/* per-run temporary directory */
	const char *self_path;	/* how to invoke faultline in re-run lines */
	/* Where artifacts (cores) go: the run's report directory, or NULL. */
	const char *artifact_dir;
	/* Replay: fail exactly these calls (and decide nothing). */
	const struct fl_fault_rec *replay;
	size_t nreplay;
	/* A sweep's run (sweep.h): record the sites the windows reach, or
	 * fail one site's call. NULL: an ordinary run. */
	const struct fl_sweep_opts *sweep;
} fl_run_opts;

/* One scenario found in a file (a file may return a list of them). */
typedef struct fl_scenario_ref {
	char *file;
	int index;		/* 1-based position in the file's list; 0:
				 * the file returns a single scenario */
	char *name;
	char *tags;		/* comma-separated */
	uint64_t seed;
	char *load_error;	/* the file could not be loaded */
} fl_scenario_ref;

/* Expands files and directories (recursively, *.lua, sorted) into
 * scenarios. "file.lua#N" selects the N-th scenario of a list file.
 * Returns the count, or -errno with a message in err. */
int fl_scenario_discover(char *const *paths, int npaths, fl_scenario_ref **out,
			 char *err, size_t errlen);
void fl_scenario_refs_free(fl_scenario_ref *v, int n);

/* Does the scenario carry one of the comma-separated tags? */
int fl_scenario_has_tag(const fl_scenario_ref *ref, const char *tags);
/* The message for --tags that selects none of the scenarios: the tags
 * asked for and those the scenarios carry (sorted, each once), or that
 * they carry none. */
void fl_scenario_no_tag_match(const fl_scenario_ref *refs, int n,
			      const char *tags, char *msg, size_t len);

/* Runs one scenario and returns its result object (never NULL). */
json_t *fl_scenario_run(const fl_scenario_ref *ref, const fl_run_opts *opts);

#endif
