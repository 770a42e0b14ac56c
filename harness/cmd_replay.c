/* faultline replay JOURNAL: runs a scenario again failing exactly the
 * calls its journal recorded, and says whether the verdict came back.
 * faultline shrink JOURNAL: searches for the smallest subset of those
 * faults that still fails the same expectation (delta debugging). */
#define _GNU_SOURCE
#include "cli.h"
#include "console.h"
#include "journal.h"
#include "monitor.h"
#include "progress.h"
#include "report.h"
#include "scenario.h"
#include "text.h"
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
	"others, and says whether the set of faults that fired equals the\n"
	"recorded set (its digest, and how many were recorded but did not fire\n"
	"and fired but were not recorded). Exit status 0 when the verdict and\n"
	"the fault set come back, 1 when they do not, 2 on bad usage, 3 when\n"
	"the report could not be written.\n"
	"\n"
	"JOURNAL is a journal-K.json file that 'faultline run' writes next to\n"
	"results.json.\n"
	"\n"
	"options:\n"
	"  --report-dir DIR   where the report goes (default: reports)\n"
	"  --no-report        write no report\n"
	"  -v, --verbose      show the target's output and the scenario log,\n"
	"                     and every failed expectation in full\n"
	"  -h, --help         this text\n"
	"\n"
	"On a terminal, a live line shows the scenario's phase, time and\n"
	"faults fired (not with -v, nor with TERM=dumb); NO_COLOR turns the\n"
	"colours off.\n";

static const char shrink_usage[] =
	"usage: faultline shrink [options] JOURNAL\n"
	"\n"
	"Replays subsets of the journal's faults to find a smallest set that\n"
	"still fails the same way as the recorded run (delta debugging: each\n"
	"step replays the scenario). It checks itself: first it replays the\n"
	"whole journal --verify times and stops with \"not reproducible\" unless\n"
	"every replay fails the recorded expectation the same way; \"the same\n"
	"way\" is the expectation and its measured outcome (an exit status, a\n"
	"signal: a death by SIGUSR1 is not \"exit 3\"). Then it searches, and\n"
	"replays the answer --verify times before printing it. Prints the\n"
	"faults that remain and writes them as a journal that 'faultline\n"
	"replay' takes.\n"
	"\n"
	"options:\n"
	"  -o FILE            the minimal journal (default: JOURNAL with\n"
	"                     .min.json in place of .json)\n"
	"  --expect WHAT      the expectation that must keep failing, as the\n"
	"                     results name it (\"leaked fds\", \"recovery\",\n"
	"                     ...; default: the first that failed)\n"
	"  --max-runs N       give up after N replays (default 500)\n"
	"  --verify N         replays of the recorded failure and of the\n"
	"                     answer that must all fail the same way\n"
	"                     (default 3)\n"
	"  -v, --verbose      show each replay's verdict\n"
	"  -h, --help         this text\n"
	"\n"
	"exit status: 0 a verified smallest set was written; 1 the recorded\n"
	"failure is not reproducible, or the answer did not verify; 2 bad\n"
	"usage; 3 the minimal journal could not be written.\n";

struct replay_env {
	char tmp_root[PATH_MAX];
	fl_run_opts opts;
	fl_scenario_ref ref;
	fl_journal_file jf;
	/* How the recorded run failed (the journal's "failure", which run
	 * adds: { verdict, signature, by_expectation }), or NULL for a
	 * journal without it. */
	json_t *failure;
};

/* The journal's "failure" object, or NULL. The journal was read once
 * already; reading it again keeps fl_journal_file_load to what replay
 * needs to run. */
static json_t *recorded_failure(const char *path)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	json_t *f = json_object_get(doc, "failure");
	f = json_is_object(f) ? json_incref(f) : NULL;
	json_decref(doc);
	return f;
}

static int env_open(struct replay_env *e, const char *path, const char *self,
		    int verbose)
{
	memset(e, 0, sizeof *e);
	char err[1024];
	/* Another file given by mistake is refused from its head, before a
	 * full parse whose memory grows with the file. */
	if (fl_results_check_head(path, "faultline.journal",
				  FL_JOURNAL_SCHEMA_VERSION,
				  "not a faultline journal (faultline run writes "
				  "them as journal-N.json next to results.json)",
				  err, sizeof err) < 0 ||
	    fl_journal_file_load(path, &e->jf, err, sizeof err) < 0) {
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
	e->failure = recorded_failure(path);
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
	json_decref(e->failure);
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

/* How the faults that fired compare with the recorded ones, as multisets
 * of (point, actor, n, errno). */
struct fired_cmp {
	size_t fired, recorded;
	size_t missing;		/* recorded, did not fire */
	size_t extra;		/* fired, not recorded */
};

static int cmp_fault(const void *a, const void *b)
{
	const fl_fault_rec *x = a, *y = b;
	int c = fl_fault_rec_cmp(a, b);
	if (c)
		return c;
	return (x->err > y->err) - (x->err < y->err);
}

static void compare_sets(fl_fault_rec *rec, size_t nrec, fl_fault_rec *fired,
			 size_t nfired, struct fired_cmp *out)
{
	qsort(rec, nrec, sizeof *rec, cmp_fault);
	qsort(fired, nfired, sizeof *fired, cmp_fault);
	memset(out, 0, sizeof *out);
	out->recorded = nrec;
	out->fired = nfired;
	size_t i = 0, j = 0;
	while (i < nrec || j < nfired) {
		int c = i >= nrec ? 1 : j >= nfired ? -1 : cmp_fault(&rec[i], &fired[j]);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			out->missing++;
			i++;
		} else {
			out->extra++;
			j++;
		}
	}
}

/* The faults a replay fired, from its full journal (the result's
 * journal_file_data, before the reports move it out). */
static fl_fault_rec *fired_of(json_t *r, size_t *n)
{
	json_t *recs = fl_results_arr(json_object_get(r, "journal_file_data"),
				      "records");
	fl_fault_rec *v;
	char err[256];
	/* Its runs expanded: the calls, as the recorded journal's are. A
	 * replay fires at most what was recorded, well within the bound. */
	if (fl_journal_calls_of(recs, "the replay's journal", &v, n, err,
				sizeof err) < 0) {
		*n = 0;
		return fl_xcalloc(1, sizeof *v);
	}
	return v;
}

/* replay's command line. Returns -1 to go on (argv[optind] is the
 * journal), else the exit status to return at once. */
static int replay_args(int argc, char **argv, const char **report_dir,
		       int *verbose)
{
	static const struct option longopts[] = {
		{"report-dir", required_argument, NULL, 'R'},
		{"no-report", no_argument, NULL, 'N'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = fl_cli_getopt("replay", argc, argv, "vh", longopts)) != -1) {
		switch (ch) {
		case 'R':
			*report_dir = optarg;
			break;
		case 'N':
			*report_dir = NULL;
			break;
		case 'v':
			*verbose = 1;
			break;
		case 'h':
			fputs(replay_usage, stdout);
			return FL_EXIT_OK;
		default:
			return FL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return fl_cli_usage_error("replay", "%s",
					  optind == argc ? "no journal given"
							 : "give one journal");
	return -1;
}

/* Whether the faults that fired in the replay r are the recorded ones,
 * printed as two lines; the comparison goes into *cmp. The digest and
 * the counts must both say so: one alone could agree by accident (a
 * lost record, a record the journal cut). recs: room for the recorded
 * faults (it is sorted). */
static int replay_same_set(const struct replay_env *e, json_t *r,
			   fl_fault_rec *recs, const char *recorded_digest,
			   struct fired_cmp *cmp)
{
	fl_verdict verdict = fl_results_verdict(r);
	const char *digest =
		fl_results_opt_str(fl_results_obj(r, "journal"), "digest");
	size_t nfired;
	fl_fault_rec *fired = fired_of(r, &nfired);
	memcpy(recs, e->jf.recs, e->jf.nrecs * sizeof *recs);
	compare_sets(recs, e->jf.nrecs, fired, nfired, cmp);
	free(fired);
	int same_digest = digest && !strcmp(digest, recorded_digest);
	int same_set = same_digest && cmp->missing == 0 && cmp->extra == 0 &&
		       (long long)cmp->fired ==
			       fl_results_int(fl_results_obj(r, "journal"), "total");
	char *rv = NULL;
	{
		fl_buf b;
		fl_buf_init(&b);
		fl_text_console(&b, e->jf.verdict ? e->jf.verdict : "none");
		rv = fl_buf_steal(&b);
	}
	printf("verdict %s (recorded %s); faults %s (%lld fired, %zu "
	       "recorded)\n",
	       fl_verdict_name(verdict), rv, same_set ? "identical" : "differ",
	       fl_results_int(fl_results_obj(r, "journal"), "total"),
	       e->jf.nrecs);
	printf("fired set %s the recorded set: digest %s (recorded %s); %zu "
	       "recorded did not fire, %zu fired were not recorded\n",
	       same_set ? "equals" : "differs from", digest ? digest : "none",
	       recorded_digest, cmp->missing, cmp->extra);
	free(rv);
	return same_set;
}

/* Whether the replay r failed as the recorded run did (the same
 * verdict can hide another failure: a death by SIGUSR1 is not "exit
 * 3"); a line says so when the journal recorded how. */
static int replay_same_failure(const struct replay_env *e, json_t *r)
{
	const char *recorded_sig = fl_results_opt_str(e->failure, "signature");
	fl_buf sig;
	fl_buf_init(&sig);
	fl_results_failure_signature(r, NULL, &sig);
	int same_failure = !recorded_sig || !strcmp(recorded_sig, sig.data ? sig.data : "");
	if (recorded_sig) {
		fl_buf line;
		fl_buf_init(&line);
		fl_buf_puts(&line, "failure ");
		fl_text_console(&line, sig.len ? sig.data : "none");
		fl_buf_printf(&line, " (recorded ");
		fl_text_console(&line, *recorded_sig ? recorded_sig : "none");
		fl_buf_printf(&line, "): %s\n", same_failure ? "the same" : "differs");
		fputs(line.data, stdout);
		fl_buf_free(&line);
	}
	fl_buf_free(&sig);
	return same_failure;
}

/* The replay's results document (r and the run that replayed journal),
 * with its reports written to report_dir (NULL: none). Takes r; returns
 * what fl_write_reports returns. */
static int replay_reports(const struct replay_env *e, json_t *r,
			  const char *journal, const char *report_dir)
{
	char id[96];
	fl_run_id(id, sizeof id, fl_wall_ns());
	json_t *run = json_pack("{s:s,s:o,s:I,s:o}", "id", id, "replay_of",
				fl_text_json(journal), "seed",
				(json_int_t)e->jf.seed, "host", fl_host_json());
	if (!run)
		fl_out_of_memory();
	json_t *doc = fl_results_new(fl_version(), run, json_pack("[o]", r));
	if (!doc)
		fl_out_of_memory();
	char index[PATH_MAX + 32];
	int reports = fl_write_reports(doc, report_dir, id, NULL, index, sizeof index);
	if (index[0] && reports != FL_REPORTS_NO_RESULTS)
		printf("report: %s\n", index);
	json_decref(doc);
	return reports;
}

int fl_cmd_replay(int argc, char **argv)
{
	const char *report_dir = "reports";
	int verbose = 0;
	int st = replay_args(argc, argv, &report_dir, &verbose);
	if (st >= 0)
		return st;
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
	/* The live line of the replayed scenario, on a terminal. */
	int live = fl_console_live(1, 0, verbose) && fl_progress_start(stdout, 1) == 0;
	fl_progress_begin(e.jf.scenario_id);
	json_t *r = replay_once(&e, recs, e.jf.nrecs);
	fl_progress_end();
	if (live)
		fl_progress_stop();
	fl_print_result(fl_console_color(1), 0, verbose, r);
	fl_verdict verdict = fl_results_verdict(r);
	int same_verdict = verdict != FL_VERDICT_UNKNOWN &&
			   verdict == fl_verdict_parse(e.jf.verdict);
	struct fired_cmp cmp;
	int same_set = replay_same_set(&e, r, recs, recorded_digest, &cmp);
	int same_failure = replay_same_failure(&e, r);
	const char *digest =
		fl_results_opt_str(fl_results_obj(r, "journal"), "digest");
	json_t *rj = json_pack("{s:I,s:b,s:s,s:o,s:I,s:I,s:I}", "faults",
			       (json_int_t)e.jf.nrecs, "fired_equals_recorded",
			       same_set, "recorded_digest", recorded_digest,
			       "digest", fl_text_json(digest), "fired",
			       (json_int_t)cmp.fired, "recorded_not_fired",
			       (json_int_t)cmp.missing, "fired_not_recorded",
			       (json_int_t)cmp.extra);
	fl_text_set(r, "replay", rj);
	int reports = replay_reports(&e, r, argv[optind], report_dir);
	free(recs);
	int interrupted = fl_monitor_interrupted();
	env_close(&e);
	if (interrupted)
		return 128 + interrupted;
	if (fflush(stdout) != 0)
		return FL_EXIT_INTERNAL;
	/* A replay that came back still fails if its report is missing. */
	if (same_verdict && same_set && same_failure)
		return reports != FL_REPORTS_OK ? FL_EXIT_INTERNAL : FL_EXIT_OK;
	return FL_EXIT_FAILED;
}

/* ------------------------------------------------------------------ */
/* shrink                                                               */
/* ------------------------------------------------------------------ */

struct shrink {
	struct replay_env *e;
	const char *want;	/* the expectation that must fail */
	/* How it must fail (fl_results_failure_signature of want): what,
	 * and its outcome for survival, exit and signal. */
	char *target;
	int runs, max_runs, verbose, verify_runs;
};

/* Replays a subset; how it fails the wanted expectation (malloc'd, ""
 * when it does not). */
static char *replay_failure(struct shrink *s, const fl_fault_rec *set, size_t n)
{
	fl_fault_rec *copy = fl_xmalloc((n + 1) * sizeof *copy);
	memcpy(copy, set, n * sizeof *copy);
	json_t *r = replay_once(s->e, copy, n);
	free(copy);
	fl_buf sig;
	fl_buf_init(&sig);
	fl_results_failure_signature(r, s->want, &sig);
	if (s->verbose) {
		fl_buf line;
		fl_buf_init(&line);
		fl_text_console(&line, sig.len ? sig.data : "does not fail it");
		printf("  replay: %zu faults -> %s: %s\n", n,
		       fl_verdict_name(fl_results_verdict(r)), line.data);
		fl_buf_free(&line);
	}
	json_decref(r);
	return fl_buf_steal(&sig);
}

/* Does replaying this subset still fail the expectation the same way? */
static int still_fails(struct shrink *s, const fl_fault_rec *set, size_t n)
{
	if (s->runs >= s->max_runs || fl_monitor_interrupted())
		return 0;
	s->runs++;
	char *sig = replay_failure(s, set, n);
	int same = !strcmp(sig, s->target);
	free(sig);
	return same;
}

/* Replays a set verify_runs times. Returns how many failed as the
 * target; with no target yet, the first replay's failure becomes it,
 * and each replay's failure is listed in how (for "not reproducible"). */
static int verify(struct shrink *s, const fl_fault_rec *set, size_t n,
		  fl_buf *how)
{
	int same = 0;
	for (int k = 0; k < s->verify_runs && !fl_monitor_interrupted(); k++) {
		char *sig = replay_failure(s, set, n);
		if (!s->target && *sig)
			s->target = fl_xstrdup(sig);
		int ok = *sig && s->target && !strcmp(sig, s->target);
		same += ok;
		fl_buf_printf(how, "%s  replay %d: ", k ? "\n" : "", k + 1);
		fl_text_console(how, *sig ? sig : "does not fail it");
		free(sig);
	}
	return same;
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

/* shrink's command line, into a. Returns -1 to go on (argv[optind] is
 * the journal), else the exit status to return at once. */
struct shrink_args {
	const char *out, *want;
	int verbose, max_runs, verify_runs;
};

static int shrink_args(int argc, char **argv, struct shrink_args *a)
{
	static const struct option longopts[] = {
		{"expect", required_argument, NULL, 'E'},
		{"max-runs", required_argument, NULL, 'M'},
		{"verify", required_argument, NULL, 'V'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = fl_cli_getopt("shrink", argc, argv, "o:vh", longopts)) != -1) {
		switch (ch) {
		case 'o':
			a->out = optarg;
			break;
		case 'E':
			a->want = optarg;
			break;
		case 'M':
		case 'V': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 100000) {
				fprintf(stderr, "faultline shrink: %s needs a "
						"positive number\n",
					ch == 'M' ? "--max-runs" : "--verify");
				return FL_EXIT_USAGE;
			}
			*(ch == 'M' ? &a->max_runs : &a->verify_runs) = (int)v;
			break;
		}
		case 'v':
			a->verbose = 1;
			break;
		case 'h':
			fputs(shrink_usage, stdout);
			return FL_EXIT_OK;
		default:
			return FL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return fl_cli_usage_error("shrink", "%s",
					  optind == argc ? "no journal given"
							 : "give one journal");
	return -1;
}

/* The recorded failure must come back, the same way, every time: a
 * search on a failure that comes and goes finds noise. Replays the n
 * recorded faults and says how they failed; 0 when each replay failed
 * the same way, else FL_EXIT_FAILED. recorded: how the journal says the
 * run failed (NULL or "" when it does not say). */
static int shrink_check_recorded(struct shrink *s, const fl_fault_rec *c,
				 size_t n, const char *recorded,
				 const char *want_shown, fl_buf *how)
{
	int same = verify(s, c, n, how);
	if (same < s->verify_runs) {
		fl_buf t;
		fl_buf_init(&t);
		if (recorded && *recorded) {
			fl_buf_puts(&t, " as the recorded run did (");
			fl_text_console(&t, recorded);
			fl_buf_puts(&t, ")");
		} else if (!s->target) {
			fl_buf_puts(&t, " (none failed it)");
		}
		printf("not reproducible: %d of %d replays of the %zu recorded "
		       "faults failed '%s' the same way%s\n%s\n",
		       same, s->verify_runs, n, want_shown,
		       t.data ? t.data : "", how->data);
		fl_buf_free(&t);
		return FL_EXIT_FAILED;
	}
	fl_buf t;
	fl_buf_init(&t);
	fl_text_console(&t, s->target);
	printf("the recorded faults fail '%s' in each of %d replays: %s\n",
	       want_shown, s->verify_runs, t.data);
	fl_buf_free(&t);
	return 0;
}

/* The answer's closing lines: how many faults remain, and each of them. */
static void shrink_print_answer(const struct shrink *s, const fl_fault_rec *c,
				size_t len, const char *want_shown)
{
	printf("%zu of %zu faults still fail '%s' the same way (%d replays%s, "
	       "the answer verified by %d more):\n",
	       len, s->e->jf.nrecs, want_shown, s->runs,
	       s->runs >= s->max_runs ? ", stopped at --max-runs" : "",
	       s->verify_runs);
	for (size_t i = 0; i < len; i++) {
		const char *en = fl_errno_name(c[i].err);
		fl_buf line;
		fl_buf_init(&line);
		fl_text_console(&line, c[i].point);
		fl_buf_puts(&line, "  actor ");
		fl_text_console(&line, c[i].actor);
		printf("  %s  call %llu  %s\n", line.data, (unsigned long long)c[i].n,
		       en ? en : "");
		fl_buf_free(&line);
	}
}

/* Writes the answer as a journal that replay takes: to out, or else next
 * to the journal at path with .min.json in place of .json. Returns
 * FL_EXIT_OK, or FL_EXIT_INTERNAL when it could not be written. */
static int shrink_write_answer(const struct shrink *s, fl_fault_rec *c,
			       size_t len, const char *path, const char *out)
{
	char outpath[PATH_MAX];
	if (out) {
		snprintf(outpath, sizeof outpath, "%s", out);
	} else {
		snprintf(outpath, sizeof outpath, "%s", path);
		size_t pl = strlen(outpath);
		if (pl > 5 && !strcmp(outpath + pl - 5, ".json"))
			outpath[pl - 5] = '\0';
		strncat(outpath, ".min.json", sizeof outpath - strlen(outpath) - 1);
	}
	fl_journal_file mf = s->e->jf;
	mf.recs = c;
	mf.nrecs = len;
	json_t *doc = fl_journal_file_json(&mf);
	if (doc) {
		/* How the answer fails: the wanted expectation, verified. */
		json_t *by = json_object();
		fl_text_set(by, s->want, fl_text_json(s->target));
		fl_text_set(doc, "failure", json_pack("{s:o}", "by_expectation", by));
	}
	int r = doc ? fl_report_json(doc, outpath) : -ENOMEM;
	json_decref(doc);
	if (r < 0) {
		fprintf(stderr, "faultline: %s: %s\n", outpath, strerror(-r));
		return FL_EXIT_INTERNAL;
	}
	printf("minimal journal: %s (faultline replay %s)\n", outpath,
	       outpath);
	return FL_EXIT_OK;
}

int fl_cmd_shrink(int argc, char **argv)
{
	struct shrink_args a = {.max_runs = 500, .verify_runs = 3};
	int st = shrink_args(argc, argv, &a);
	if (st >= 0)
		return st;
	const char *path = argv[optind], *want = a.want;
	struct replay_env e;
	if (env_open(&e, path, argv[-1], 0) < 0)
		return FL_EXIT_USAGE;
	if (!want) {
		if (e.jf.nfailed == 0) {
			fprintf(stderr,
				"faultline shrink: the recorded run failed no "
				"expectation (verdict %s): nothing to keep "
				"failing\n",
				e.jf.verdict ? e.jf.verdict : "none");
			env_close(&e);
			return FL_EXIT_USAGE;
		}
		want = e.jf.failed[0];
	}
	struct shrink s = {.e = &e, .want = want, .max_runs = a.max_runs,
			   .verbose = a.verbose, .verify_runs = a.verify_runs};
	/* How the recorded run failed it, when the journal says: the
	 * replays must fail it that way, not merely fail it. */
	const char *recorded = fl_results_opt_str(
		fl_results_obj(e.failure, "by_expectation"), want);
	if (recorded && *recorded)
		s.target = fl_xstrdup(recorded);
	char *want_shown;
	{
		fl_buf b;
		fl_buf_init(&b);
		fl_text_console(&b, want);
		want_shown = fl_buf_steal(&b);
	}
	printf("shrinking %zu faults of %s: keep '%s' failing the same way\n",
	       e.jf.nrecs, e.jf.scenario_id, want_shown);
	fl_fault_rec *c = fl_xmalloc((e.jf.nrecs + 1) * sizeof *c);
	memcpy(c, e.jf.recs, e.jf.nrecs * sizeof *c);
	int status = FL_EXIT_OK;
	fl_buf how;
	fl_buf_init(&how);
	status = shrink_check_recorded(&s, c, e.jf.nrecs, recorded, want_shown,
				       &how);
	if (status != FL_EXIT_OK)
		goto done;
	size_t len = ddmin(&s, c, e.jf.nrecs);
	/* The answer is replayed too before anyone reads it. */
	fl_buf_reset(&how);
	int same = verify(&s, c, len, &how);
	if (same < a.verify_runs) {
		printf("%zu of %zu faults failed '%s' the same way during the "
		       "search, but only %d of %d replays of them do: no answer\n"
		       "%s\n",
		       len, e.jf.nrecs, want_shown, same, a.verify_runs, how.data);
		status = FL_EXIT_FAILED;
		goto done;
	}
	shrink_print_answer(&s, c, len, want_shown);
	status = shrink_write_answer(&s, c, len, path, a.out);
done:
	fl_buf_free(&how);
	free(want_shown);
	free(s.target);
	free(c);
	int interrupted = fl_monitor_interrupted();
	env_close(&e);
	if (fflush(stdout) != 0 && status == FL_EXIT_OK)
		status = FL_EXIT_INTERNAL;
	return interrupted ? 128 + interrupted : status;
}
