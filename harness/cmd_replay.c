/* faultline replay JOURNAL: runs a scenario again failing exactly the
 * calls its journal recorded, and says whether the verdict came back.
 * faultline shrink JOURNAL: searches for the smallest subset of those
 * faults that still fails the same expectation (delta debugging). */
#define _GNU_SOURCE
#include "cli.h"
#include "journal.h"
#include "monitor.h"
#include "report.h"
#include "scenario.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char replay_usage[] =
	"usage: faultline replay [options] JOURNAL\n"
	"\n"
	"Runs the journal's scenario again, failing exactly the calls the\n"
	"journal recorded (by point, actor and call number) and deciding no\n"
	"others. Exit status 0 when the verdict and the journal's digest come\n"
	"back, 1 when they do not, 2 on bad usage, 3 when the report could not\n"
	"be written.\n"
	"\n"
	"JOURNAL is a journal-K.json file that 'faultline run' writes next to\n"
	"results.json.\n"
	"\n"
	"options:\n"
	"  --report-dir DIR   where the report goes (default: reports)\n"
	"  --no-report        write no report\n"
	"  -v, --verbose      show the target's output and the scenario log\n"
	"  -h, --help         this text\n";

static const char shrink_usage[] =
	"usage: faultline shrink [options] JOURNAL\n"
	"\n"
	"Replays subsets of the journal's faults to find a smallest set that\n"
	"still fails the same expectation as the recorded run (delta\n"
	"debugging: each step replays the scenario). Prints the faults that\n"
	"remain and writes them as a journal that 'faultline replay' takes.\n"
	"\n"
	"options:\n"
	"  -o FILE            the minimal journal (default: JOURNAL with\n"
	"                     .min.json in place of .json)\n"
	"  --expect WHAT      the expectation that must keep failing, as the\n"
	"                     results name it (\"leaked fds\", \"recovery\",\n"
	"                     ...; default: the first that failed)\n"
	"  --max-runs N       give up after N replays (default 500)\n"
	"  -v, --verbose      show each replay's verdict\n"
	"  -h, --help         this text\n";

struct replay_env {
	char tmp_root[PATH_MAX];
	fl_run_opts opts;
	fl_scenario_ref ref;
	fl_journal_file jf;
};

static int env_open(struct replay_env *e, const char *path, const char *self,
		    int verbose)
{
	memset(e, 0, sizeof *e);
	char err[1024];
	if (fl_journal_file_load(path, &e->jf, err, sizeof err) < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return -1;
	}
	if (access(e->jf.scenario_file, R_OK) != 0) {
		fprintf(stderr,
			"faultline: %s: the scenario %s is not readable from "
			"here (%s); run from the directory the run was made "
			"in\n",
			path, e->jf.scenario_file, strerror(errno));
		fl_journal_file_free(&e->jf);
		return -1;
	}
	e->opts.agent_path = fl_find_agent(err, sizeof err);
	if (e->opts.agent_path)
		e->opts.fiu_preload_path = fl_find_fiu_preload(err, sizeof err);
	if (!e->opts.agent_path || !e->opts.fiu_preload_path) {
		fprintf(stderr, "faultline: %s\n", err);
		fl_journal_file_free(&e->jf);
		return -1;
	}
	/* The scenario as the journal names it; its seed, so that what is
	 * decided outside the replayed points is decided the same way. */
	fl_scenario_ref *refs;
	char spec[PATH_MAX + 16];
	if (e->jf.index)
		snprintf(spec, sizeof spec, "%s#%d", e->jf.scenario_file,
			 e->jf.index);
	else
		snprintf(spec, sizeof spec, "%s", e->jf.scenario_file);
	char *paths[1] = {spec};
	int n = fl_scenario_discover(paths, 1, &refs, err, sizeof err);
	if (n != 1) {
		fprintf(stderr, "faultline: %s: cannot find scenario %s%s%s\n",
			path, spec, n < 0 ? ": " : "", n < 0 ? err : "");
		if (n > 0)
			fl_scenario_refs_free(refs, n);
		fl_journal_file_free(&e->jf);
		return -1;
	}
	e->ref = refs[0];
	free(refs);
	e->opts.have_seed = 1;
	e->opts.seed = e->jf.seed;
	e->opts.verbose = verbose;
	e->opts.self_path = self;
	if (fl_runtime_start(e->tmp_root, sizeof e->tmp_root) < 0) {
		fl_journal_file_free(&e->jf);
		return -1;
	}
	e->opts.tmp_root = e->tmp_root;
	return 0;
}

static void env_close(struct replay_env *e)
{
	fl_runtime_stop(e->tmp_root);
	free(e->ref.file);
	free(e->ref.name);
	free(e->ref.tags);
	free(e->ref.load_error);
	fl_journal_file_free(&e->jf);
}

/* Sorted by point so the harness hands the agent one set per point. */
static int cmp_point(const void *a, const void *b)
{
	const fl_fault_rec *x = a, *y = b;
	int c = strcmp(x->point, y->point);
	return c ? c : fl_fault_rec_cmp(a, b);
}

static json_t *replay_once(struct replay_env *e, fl_fault_rec *recs, size_t n)
{
	qsort(recs, n, sizeof *recs, cmp_point);
	e->opts.replay = recs;
	e->opts.nreplay = n;
	return fl_scenario_run(&e->ref, &e->opts);
}

int fl_cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"report-dir", required_argument, NULL, 'R'},
		{"no-report", no_argument, NULL, 'N'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *report_dir = "reports";
	int verbose = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'R':
			report_dir = optarg;
			break;
		case 'N':
			report_dir = NULL;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(replay_usage, stdout);
			return FL_EXIT_OK;
		default:
			fputs(replay_usage, stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(replay_usage, stderr);
		return FL_EXIT_USAGE;
	}
	struct replay_env e;
	if (env_open(&e, argv[optind], argv[-1], verbose) < 0)
		return FL_EXIT_USAGE;
	fl_fault_rec *recs = fl_xmalloc((e.jf.nrecs + 1) * sizeof *recs);
	memcpy(recs, e.jf.recs, e.jf.nrecs * sizeof *recs);
	char recorded_digest[17];
	fl_fault_rec *sorted = fl_xmalloc((e.jf.nrecs + 1) * sizeof *sorted);
	memcpy(sorted, e.jf.recs, e.jf.nrecs * sizeof *sorted);
	fl_journal_digest(sorted, e.jf.nrecs, recorded_digest);
	free(sorted);
	printf("replaying %zu recorded faults of %s (seed %llu)\n", e.jf.nrecs,
	       e.jf.scenario_id, (unsigned long long)e.jf.seed);
	if (e.jf.lost)
		printf("warning: the journal lost %llu records: those calls "
		       "will not fail\n",
		       (unsigned long long)e.jf.lost);
	json_t *r = replay_once(&e, recs, e.jf.nrecs);
	fl_print_result(isatty(1) && !getenv("NO_COLOR"), 0, r);
	fl_verdict verdict = fl_results_verdict(r);
	const char *digest =
		fl_results_opt_str(fl_results_obj(r, "journal"), "digest");
	int same_verdict = verdict != FL_VERDICT_UNKNOWN &&
			   verdict == fl_verdict_parse(e.jf.verdict);
	int same_digest = digest && !strcmp(digest, recorded_digest);
	printf("verdict %s (recorded %s); faults %s (%lld fired, %zu "
	       "recorded)\n",
	       fl_verdict_name(verdict), e.jf.verdict ? e.jf.verdict : "none",
	       same_digest ? "identical" : "differ",
	       fl_results_int(fl_results_obj(r, "journal"), "total"),
	       e.jf.nrecs);

	char id[96];
	fl_run_id(id, sizeof id, fl_wall_ns());
	json_t *run = json_pack("{s:s,s:s,s:I,s:o}", "id", id, "replay_of",
				argv[optind], "seed", (json_int_t)e.jf.seed, "host",
				fl_host_json());
	json_t *doc = fl_results_new(fl_version(), run, json_pack("[o]", r));
	if (!doc)
		fl_out_of_memory();
	char index[PATH_MAX + 32];
	int report_failed = fl_write_reports(doc, report_dir, id, NULL, index,
					     sizeof index) < 0;
	if (index[0])
		printf("report: %s\n", index);
	json_decref(doc);
	free(recs);
	int interrupted = fl_monitor_interrupted();
	env_close(&e);
	if (interrupted)
		return 128 + interrupted;
	/* A replay that came back still fails if its report is missing. */
	if (same_verdict && same_digest)
		return report_failed ? FL_EXIT_INTERNAL : FL_EXIT_OK;
	return FL_EXIT_FAILED;
}

/* ------------------------------------------------------------------ */
/* shrink                                                               */
/* ------------------------------------------------------------------ */

struct shrink {
	struct replay_env *e;
	const char *want;	/* the expectation that must fail */
	int runs, max_runs, verbose;
};

/* Does replaying this subset still fail the expectation? */
static int still_fails(struct shrink *s, const fl_fault_rec *set, size_t n)
{
	if (s->runs >= s->max_runs || fl_monitor_interrupted())
		return 0;
	fl_fault_rec *copy = fl_xmalloc((n + 1) * sizeof *copy);
	memcpy(copy, set, n * sizeof *copy);
	json_t *r = replay_once(s->e, copy, n);
	free(copy);
	s->runs++;
	int fails = 0;
	size_t i;
	json_t *x;
	json_array_foreach(fl_results_arr(r, "expectations"), i, x)
	{
		if (!fl_results_bool(x, "ok") &&
		    !strcmp(fl_results_str(x, "what"), s->want))
			fails = 1;
	}
	if (s->verbose)
		printf("  replay %d: %zu faults -> %s%s\n", s->runs, n,
		       fl_verdict_name(fl_results_verdict(r)),
		       fails ? " (still fails)" : "");
	json_decref(r);
	return fails;
}

/* Zeller's ddmin: split into n parts; keep a part, or a complement,
 * that still fails; else split finer. */
static size_t ddmin(struct shrink *s, fl_fault_rec *c, size_t len)
{
	size_t parts = 2;
	fl_fault_rec *tmp = fl_xmalloc((len + 1) * sizeof *tmp);
	while (len >= 2 && s->runs < s->max_runs && !fl_monitor_interrupted()) {
		size_t chunk = (len + parts - 1) / parts;
		int reduced = 0;
		for (size_t k = 0; k < parts && !reduced; k++) {
			size_t lo = k * chunk, hi = lo + chunk < len ? lo + chunk : len;
			if (lo >= hi)
				break;
			if (still_fails(s, c + lo, hi - lo)) {
				memmove(c, c + lo, (hi - lo) * sizeof *c);
				len = hi - lo;
				parts = 2;
				reduced = 1;
			}
		}
		for (size_t k = 0; k < parts && !reduced && parts > 2; k++) {
			size_t lo = k * chunk, hi = lo + chunk < len ? lo + chunk : len;
			if (lo >= hi)
				break;
			size_t m = 0;
			for (size_t i = 0; i < len; i++)
				if (i < lo || i >= hi)
					tmp[m++] = c[i];
			if (still_fails(s, tmp, m)) {
				memcpy(c, tmp, m * sizeof *c);
				len = m;
				parts = parts - 1 > 2 ? parts - 1 : 2;
				reduced = 1;
			}
		}
		if (!reduced) {
			if (parts >= len)
				break;
			parts = parts * 2 < len ? parts * 2 : len;
		}
	}
	free(tmp);
	return len;
}

int fl_cmd_shrink(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"expect", required_argument, NULL, 'E'},
		{"max-runs", required_argument, NULL, 'M'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *want = NULL;
	int verbose = 0, max_runs = 500, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'E':
			want = optarg;
			break;
		case 'M':
			max_runs = atoi(optarg);
			if (max_runs < 1) {
				fprintf(stderr, "faultline shrink: --max-runs needs "
						"a positive number\n");
				return FL_EXIT_USAGE;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(shrink_usage, stdout);
			return FL_EXIT_OK;
		default:
			fputs(shrink_usage, stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(shrink_usage, stderr);
		return FL_EXIT_USAGE;
	}
	const char *path = argv[optind];
	struct replay_env e;
	if (env_open(&e, path, argv[-1], 0) < 0)
		return FL_EXIT_USAGE;
	if (!want) {
		if (e.jf.nfailed == 0) {
			fprintf(stderr,
				"faultline shrink: the recorded run failed no "
				"expectation (verdict %s): nothing to keep "
				"failing\n",
				e.jf.verdict);
			env_close(&e);
			return FL_EXIT_USAGE;
		}
		want = e.jf.failed[0];
	}
	struct shrink s = {.e = &e, .want = want, .max_runs = max_runs,
			   .verbose = verbose};
	printf("shrinking %zu faults of %s: keep '%s' failing\n", e.jf.nrecs,
	       e.jf.scenario_id, want);
	fl_fault_rec *c = fl_xmalloc((e.jf.nrecs + 1) * sizeof *c);
	memcpy(c, e.jf.recs, e.jf.nrecs * sizeof *c);
	int status = FL_EXIT_OK;
	if (!still_fails(&s, c, e.jf.nrecs)) {
		printf("the full journal does not fail '%s' when replayed: "
		       "nothing to shrink\n",
		       want);
		status = FL_EXIT_FAILED;
	} else {
		size_t len = ddmin(&s, c, e.jf.nrecs);
		printf("%zu of %zu faults still fail '%s' (%d replays%s):\n", len,
		       e.jf.nrecs, want, s.runs,
		       s.runs >= max_runs ? ", stopped at --max-runs" : "");
		for (size_t i = 0; i < len; i++) {
			const char *en = fl_errno_name(c[i].err);
			printf("  %s  actor %s  call %llu  %s\n", c[i].point,
			       c[i].actor, (unsigned long long)c[i].n,
			       en ? en : "");
		}
		char outpath[PATH_MAX];
		if (out) {
			snprintf(outpath, sizeof outpath, "%s", out);
		} else {
			snprintf(outpath, sizeof outpath, "%s", path);
			size_t pl = strlen(outpath);
			if (pl > 5 && !strcmp(outpath + pl - 5, ".json"))
				outpath[pl - 5] = '\0';
			strncat(outpath, ".min.json",
				sizeof outpath - strlen(outpath) - 1);
		}
		fl_journal_file mf = e.jf;
		mf.recs = c;
		mf.nrecs = len;
		json_t *doc = fl_journal_file_json(&mf);
		int r = fl_report_json(doc, outpath);
		json_decref(doc);
		if (r < 0) {
			fprintf(stderr, "faultline: %s: %s\n", outpath,
				strerror(-r));
			status = FL_EXIT_INTERNAL;
		} else {
			printf("minimal journal: %s (faultline replay %s)\n",
			       outpath, outpath);
		}
	}
	free(c);
	int interrupted = fl_monitor_interrupted();
	env_close(&e);
	return interrupted ? 128 + interrupted : status;
}
