/* faultline sweep: fails every error path once and says what each one
 * does (docs/sweep.md).
 *
 * For each scenario: a reference run with its windows in record mode
 * finds every (point, call site) the windows reach and fails nothing;
 * then one run per site fails exactly the first (--nth K: the K-th) call
 * from that site by the actor that reached it first, judged by the
 * scenario's own expectations plus survival; a site whose run found
 * something (or did not reach the site) runs a second time, and a site
 * whose two runs disagree is flaky instead of a finding. Each per-site
 * run is an ordinary scenario run whose region is in the sweep's mode
 * (faults.c turns its windows into the sweep's rules); sweep.c holds the
 * rules that turn its result into an outcome and the runs into the map.
 * -j, --shard and the report directory work as for run (run.c). */
#define _GNU_SOURCE
#include "cli.h"
#include "console.h"
#include "monitor.h"
#include "progress.h"
#include "report.h"
#include "scenario.h"
#include "sites.h"
#include "sweep.h"
#include "text.h"
#include "util.h"
#include "writers.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_head[] =
	"usage: faultline sweep [options] SCENARIO...\n"
	"\n"
	"Fails every error path of the target once and says what each does.\n"
	"A reference run of each scenario records every call site its fault\n"
	"windows reach (the calling context of a call of a window's point,\n"
	"resolved to function and file:line) and fails nothing; then one run\n"
	"per site fails exactly the first call from that site, judged by the\n"
	"scenario's own expectations and survival (its xfail does not apply).\n"
	"Each site is handled, or crashed, exited, leaked (with where the\n"
	"leaked fds were opened), unrecovered or failed; a site with a finding\n"
	"runs twice, and is flaky when the two runs disagree. Every site's\n"
	"result carries the command that replays exactly its fault.\n"
	"\n"
	"options:\n"
	"  -j N, --jobs N      run N runs side by side (default 1)\n"
	"  --shard I/N         run only the I-th of N shares of the sites\n"
	"                      (as for run: 'auto', 'auto/N'); faultline merge\n"
	"                      puts the shares' maps together\n"
	"  --points P[,P...]   record and fail these points (prefix* allowed)\n"
	"                      from the first instruction to the stop, instead\n"
	"                      of the scenario's windows\n"
	"  --nth K             fail the K-th call from each site (default 1)\n"
	"  --depth N           return addresses that make a site, 1 to 8\n"
	"                      (default 4)\n"
	"  --budget N|TIME     at most N sites, or start no run after TIME\n"
	"                      (90s, 10m, 1h; the reference runs always run,\n"
	"                      a finding's second run counts in TIME); the\n"
	"                      sites not tried are listed, with why\n"
	"  --site ID           run only this site (the replay of one fault);\n"
	"                      with --actor A, the actor whose calls count\n"
	"                      (default: any)\n"
	"  --seed S            seed for every scenario (default: its own)\n"
	"  --timeout S         watchdog per run, in seconds\n"
	"  --tags T[,T...]     only scenarios carrying one of these tags\n";

static const char usage_tail[] =
	"  -v, --verbose       show the targets' output and scenario logs\n"
	"  -q, --quiet         print only findings and the closing line\n"
	"  -h, --help          this text\n"
	"\n"
	"On a terminal, a live line per running run shows its site, phase,\n"
	"time and faults fired (not with -q or -v, nor with TERM=dumb);\n"
	"NO_COLOR turns the colours off.\n"
	"\n"
	"exit status: 0 every site handled its failure; 1 a finding or a flaky\n"
	"site; 2 bad usage, a scenario that could not load, a reference run\n"
	"that failed without faults, or a site the harness could not judge\n"
	"(unreached, error); 3 internal error.\n";

static void usage(FILE *out)
{
	fl_buf b, text;
	fl_buf_init(&b);
	fl_buf_init(&text);
	fl_buf_puts(&b, usage_head);
	fl_buf_puts(&text, "where reports go (default: reports): results.json "
			   "with the map of the sites, junit.xml (a testcase "
			   "per site), index.html (the sites by file and "
			   "function), in DIR/<run id>/, and DIR/latest");
	fl_buf_wrap(&b, "  --report-dir DIR    ", 22, 72, text.data);
	fl_buf_puts(&b, "  --no-report         write no report directory\n");
	fl_writers_usage(&b, 0, 22);
	fl_buf_puts(&b, usage_tail);
	fputs(b.data, out);
	fl_buf_free(&b);
	fl_buf_free(&text);
}

struct sweep_cli {
	fl_run_opts opts;	/* what every run shares */
	const char *tags;
	const char *report_dir;
	int no_report;
	const char *extra[FL_WRITER_COUNT];
	int quiet, color;
	int jobs;
	int shard_index, shard_total;
	int depth;
	uint64_t nth;
	char *points_arg;	/* as given, for replay commands */
	char **points;
	int npoints;
	long budget_runs;	/* 0: none */
	double budget_s;	/* 0: none */
	char budget_arg[32];
	uint64_t only_site;	/* --site */
	const char *only_actor;
};

/* One scenario being swept. */
struct scen {
	const fl_scenario_ref *ref;
	char id[PATH_MAX + 16];
	json_t *reference;	/* its reference run's result */
	fl_verdict ref_verdict;
	json_t *map;		/* its object in sweep.scenarios */
};

/* One site's run (and its second run). */
struct task {
	struct scen *sc;
	json_t *site;		/* its object in the map */
	char site_id[24];
	fl_sweep_opts sw;
	json_t *result;		/* the first run */
	fl_outcome outcome;
	char detail[1024];
	int ran, confirmed;
	fl_outcome second;
	char second_detail[1024];
	int second_ran;
	const char *not_run;	/* why it was not run, or NULL */
};

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ */
/* Options                                                              */
/* ------------------------------------------------------------------ */

static int parse_count(const char *s, long *out, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* --budget: a number of runs, or a time with its unit (s, m, h). */
static int parse_budget(const char *s, long *runs, double *secs)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v > 0))
		return -1;
	if (!*end) {
		if (v != floor(v) || v > 1e9)
			return -1;
		*runs = (long)v;
		return 0;
	}
	double unit = !strcmp(end, "s")	  ? 1
		      : !strcmp(end, "m") ? 60
		      : !strcmp(end, "h") ? 3600
					  : 0;
	if (!unit)
		return -1;
	*secs = v * unit;
	return 0;
}

/* --points a,b,c */
static int parse_points(struct sweep_cli *c, const char *arg)
{
	c->points_arg = fl_xstrdup(arg);
	char *copy = fl_xstrdup(arg);
	for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
		while (*tok == ' ')
			tok++;
		if (!*tok || strlen(tok) >= FL_POINT_NAME_MAX) {
			free(copy);
			return -1;
		}
		c->points = fl_xrealloc(c->points, (size_t)(c->npoints + 1) *
							   sizeof *c->points);
		c->points[c->npoints++] = fl_xstrdup(tok);
	}
	free(copy);
	return c->npoints ? 0 : -1;
}

/* -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct sweep_cli *c)
{
	static const struct option fixed_opts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"shard", required_argument, NULL, 'X'},
		{"points", required_argument, NULL, 'p'},
		{"nth", required_argument, NULL, 'n'},
		{"depth", required_argument, NULL, 'd'},
		{"budget", required_argument, NULL, 'B'},
		{"site", required_argument, NULL, 's'},
		{"actor", required_argument, NULL, 'a'},
		{"seed", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 'T'},
		{"tags", required_argument, NULL, 't'},
		{"report-dir", required_argument, NULL, 'R'},
		{"no-report", no_argument, NULL, 'N'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
	};
	enum { WRITER_OPT = 1000 };
	size_t nfixed = sizeof fixed_opts / sizeof fixed_opts[0];
	struct option longopts[sizeof fixed_opts / sizeof fixed_opts[0] +
			       FL_WRITER_COUNT + 1];
	memcpy(longopts, fixed_opts, sizeof fixed_opts);
	for (int w = 0; w < FL_WRITER_COUNT; w++)
		longopts[nfixed + (size_t)w] = (struct option){
			fl_writers[w].option, required_argument, NULL, WRITER_OPT + w};
	memset(&longopts[nfixed + FL_WRITER_COUNT], 0, sizeof longopts[0]);
	optind = 1;
	int ch;
	long v;
	char err[1024];
	while ((ch = fl_cli_getopt("sweep", argc, argv, "j:vqh", longopts)) != -1) {
		switch (ch) {
		case 'j':
			if (parse_count(optarg, &v, 256) < 0) {
				fprintf(stderr, "faultline sweep: -j needs a number "
						"from 1 to 256\n");
				return FL_EXIT_USAGE;
			}
			c->jobs = (int)v;
			break;
		case 'X':
			if (fl_parse_shard(optarg, &c->shard_index, &c->shard_total,
					   err, sizeof err) < 0) {
				fprintf(stderr, "faultline sweep: %s\n", err);
				return FL_EXIT_USAGE;
			}
			break;
		case 'p':
			if (parse_points(c, optarg) < 0) {
				fprintf(stderr, "faultline sweep: --points needs "
						"point names separated by commas\n");
				return FL_EXIT_USAGE;
			}
			break;
		case 'n':
			if (parse_count(optarg, &v, 1000000) < 0) {
				fprintf(stderr, "faultline sweep: --nth needs a "
						"positive number\n");
				return FL_EXIT_USAGE;
			}
			c->nth = (uint64_t)v;
			break;
		case 'd':
			if (parse_count(optarg, &v, FL_SITE_FRAMES) < 0) {
				fprintf(stderr, "faultline sweep: --depth needs a "
						"number from 1 to %d\n",
					FL_SITE_FRAMES);
				return FL_EXIT_USAGE;
			}
			c->depth = (int)v;
			break;
		case 'B':
			if (parse_budget(optarg, &c->budget_runs, &c->budget_s) < 0) {
				fprintf(stderr, "faultline sweep: --budget needs a "
						"number of runs or a time like 90s, "
						"10m or 1h, not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			snprintf(c->budget_arg, sizeof c->budget_arg, "%s", optarg);
			break;
		case 's':
			c->only_site = fl_site_parse_id(optarg);
			if (!c->only_site) {
				fprintf(stderr, "faultline sweep: --site needs a "
						"site id (16 hex digits), not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			break;
		case 'a':
			if (!*optarg || strlen(optarg) >= FL_ACTOR_MAX) {
				fprintf(stderr, "faultline sweep: --actor needs an "
						"actor name like 0 or 0.2\n");
				return FL_EXIT_USAGE;
			}
			c->only_actor = optarg;
			break;
		case 'S': {
			char *end;
			errno = 0;
			unsigned long long s = strtoull(optarg, &end, 10);
			if (end == optarg || *end || errno || optarg[0] == '-') {
				fprintf(stderr, "faultline sweep: --seed needs a "
						"non-negative integer, not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			c->opts.have_seed = 1;
			c->opts.seed = s;
			break;
		}
		case 'T': {
			char *end;
			double s = strtod(optarg, &end);
			if (end == optarg || *end || !(s > 0)) {
				fprintf(stderr, "faultline sweep: --timeout needs a "
						"positive number of seconds\n");
				return FL_EXIT_USAGE;
			}
			c->opts.timeout_s = s;
			break;
		}
		case 't':
			c->tags = optarg;
			break;
		case 'R':
			c->report_dir = optarg;
			break;
		case 'N':
			c->no_report = 1;
			break;
		case 'v':
			c->opts.verbose = 1;
			break;
		case 'q':
			c->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return FL_EXIT_OK;
		default:
			if (ch >= WRITER_OPT && ch < WRITER_OPT + FL_WRITER_COUNT) {
				c->extra[ch - WRITER_OPT] = optarg;
				break;
			}
			/* fl_cli_getopt said it in one line. */
			return FL_EXIT_USAGE;
		}
	}
	if (c->only_actor && !c->only_site) {
		fprintf(stderr, "faultline sweep: --actor goes with --site\n");
		return FL_EXIT_USAGE;
	}
	if (optind >= argc)
		return fl_cli_usage_error("sweep", "no scenario given");
	return -1;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                 */
/* ------------------------------------------------------------------ */

/* Runs fn(arg, i) for i in [0, n), jobs of them side by side, in the
 * order of i; stops starting new ones once interrupted. */
struct pool {
	pthread_mutex_t lock;
	int next, n;
	void (*fn)(void *, int);
	void *arg;
};

static void *pool_worker(void *p_)
{
	struct pool *p = p_;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n || fl_monitor_interrupted())
			return NULL;
		p->fn(p->arg, i);
	}
}

static void run_pool(int jobs, int n, void (*fn)(void *, int), void *arg)
{
	struct pool p = {PTHREAD_MUTEX_INITIALIZER, 0, n, fn, arg};
	if (jobs > n)
		jobs = n;
	if (jobs <= 1) {
		pool_worker(&p);
		return;
	}
	pthread_t *th = fl_xcalloc((size_t)jobs, sizeof *th);
	int started = 0;
	for (; started < jobs; started++)
		if (pthread_create(&th[started], NULL, pool_worker, &p) != 0)
			break;
	if (started == 0)
		pool_worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

struct sweep {
	struct sweep_cli *c;
	struct scen *scens;
	int nscens;
	struct task *tasks;
	int ntasks;
	int64_t deadline_ns;	/* --budget TIME: no run starts after it */
	int done, total;	/* progress */
};

static int past_deadline(const struct sweep *s)
{
	return s->deadline_ns && fl_now_ns() >= s->deadline_ns;
}

static void reference_run(void *arg, int i)
{
	struct sweep *s = arg;
	struct scen *sc = &s->scens[i];
	fl_sweep_opts sw;
	memset(&sw, 0, sizeof sw);
	sw.mode = FL_SWEEP_RECORD;
	sw.depth = s->c->depth;
	sw.points = s->c->points;
	sw.npoints = s->c->npoints;
	fl_run_opts opts = s->c->opts;
	opts.sweep = &sw;
	fl_progress_begin(sc->id);
	fl_progress_detail("reference run");
	sc->reference = fl_scenario_run(sc->ref, &opts);
	fl_progress_end();
	sc->ref_verdict = fl_results_verdict(sc->reference);
	if (!s->c->quiet) {
		json_t *sites = fl_results_obj(sc->reference, "sites");
		size_t reached = json_array_size(fl_results_arr(sites, "reached"));
		fl_buf b;
		fl_buf_init(&b);
		fl_buf_puts(&b, "reference ");
		fl_text_console(&b, sc->id);
		fl_buf_printf(&b, ": %s, %zu site%s reached (%.2f s)\n",
			      fl_verdict_name(sc->ref_verdict), reached,
			      reached == 1 ? "" : "s",
			      fl_results_num(sc->reference, "duration_s"));
		fl_progress_write(b.data);
		fl_buf_free(&b);
	}
}

/* How a task's site reads: "fileproc.c:292 (produce_file)", with the
 * innermost frame when the C library made the call for the program. */
static const char *task_label(const struct task *t, char *buf, size_t len)
{
	const char *at = fl_results_opt_str(t->site, "at");
	const char *via = fl_results_opt_str(t->site, "via");
	snprintf(buf, len, "%s%s%s", at ? at : "?", via ? " via " : "",
		 via ? via : "");
	return buf;
}

static void print_task(struct sweep *s, const struct task *t, int second)
{
	fl_outcome o = second ? t->second : t->outcome;
	int bad = fl_outcome_is_finding(o) || o == FL_OUTCOME_FLAKY;
	if (s->c->quiet && !bad)
		return;
	const char *color = !s->c->color	   ? ""
			    : o == FL_OUTCOME_HANDLED ? "\033[32m"
			    : bad		      ? "\033[31m"
						      : "\033[35m";
	char label[900];
	fl_buf b;
	fl_buf_init(&b);
	/* The count and the line go out together, in the count's order. */
	pthread_mutex_lock(&print_lock);
	fl_buf_printf(&b, "[%d/%d] %s%-11s%s ", ++s->done, s->total, color,
		      fl_outcome_name(o), s->c->color ? "\033[0m" : "");
	/* Points, files and functions come from the target's debug
	 * information: shown, never obeyed (fl_text). */
	fl_text_console(&b, fl_results_str(t->site, "point"));
	fl_buf_puts(&b, " at ");
	fl_text_console(&b, task_label(t, label, sizeof label));
	fl_buf_printf(&b, "%s\n", second ? " (second run)" : "");
	const char *d = second ? t->second_detail : t->detail;
	if (*d && o != FL_OUTCOME_HANDLED) {
		fl_buf_puts(&b, "       ");
		fl_text_console(&b, d);
		fl_buf_putc(&b, '\n');
	}
	fl_progress_write(b.data);
	pthread_mutex_unlock(&print_lock);
	fl_buf_free(&b);
}

/* The opts of a task's runs. */
static void task_run(struct sweep *s, struct task *t, json_t **result,
		     fl_outcome *o, char *detail, size_t len)
{
	fl_run_opts opts = s->c->opts;
	opts.sweep = &t->sw;
	char label[900];
	fl_buf site;
	fl_buf_init(&site);
	fl_buf_printf(&site, "%s at %s", fl_results_str(t->site, "point"),
		      task_label(t, label, sizeof label));
	fl_progress_begin(t->sc->id);
	fl_progress_detail(site.data);
	fl_buf_free(&site);
	*result = fl_scenario_run(t->sc->ref, &opts);
	fl_progress_end();
	*o = fl_sweep_outcome(*result, detail, len);
}

static void one_site_map(struct sweep *s, struct task *t);

static void site_run(void *arg, int i)
{
	struct sweep *s = arg;
	struct task *t = &s->tasks[i];
	if (past_deadline(s)) {
		t->not_run = "not tried: the time budget was spent";
		return;
	}
	task_run(s, t, &t->result, &t->outcome, t->detail, sizeof t->detail);
	t->ran = 1;
	if (s->c->only_site)
		one_site_map(s, t);
	print_task(s, t, 0);
}

/* A finding, or a site the run did not reach, runs again: a finding
 * that does not come back is flaky, not reported. */
static int wants_second(const struct task *t)
{
	return t->ran && (fl_outcome_is_finding(t->outcome) ||
			  t->outcome == FL_OUTCOME_UNREACHED);
}

static void second_run(void *arg, int i)
{
	struct sweep *s = arg;
	struct task *t = &s->tasks[i];
	if (!wants_second(t) || past_deadline(s))
		return;
	json_t *r;
	task_run(s, t, &r, &t->second, t->second_detail, sizeof t->second_detail);
	json_decref(r);
	t->second_ran = 1;
	print_task(s, t, 1);
}

/* Do two runs of a site agree? The same outcome, and for a crash the
 * same signal ("crashed: SIGSEGV at ..."), for an exit the same status
 * ("exited with status 3"); how much leaked may differ. */
static int same_outcome(fl_outcome a, const char *da, fl_outcome b,
			const char *db)
{
	if (a != b)
		return 0;
	if (a == FL_OUTCOME_EXITED)
		return !strcmp(da, db);
	if (a == FL_OUTCOME_CRASHED) {
		size_t na = strcspn(da, " "), nb = strcspn(db, " ");
		const char *sa = da + na, *sb = db + nb;
		na = strcspn(sa + (*sa == ' '), " ");
		nb = strcspn(sb + (*sb == ' '), " ");
		return na == nb && !strncmp(sa, sb, na + 1);
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* The map and the entries                                              */
/* ------------------------------------------------------------------ */

/* The command that replays exactly a site's fault. */
static void replay_command(const struct sweep_cli *c, const struct task *t,
			   char *out, size_t len)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "%s sweep --site %s", c->opts.self_path, t->site_id);
	if (t->sw.actor[0])
		fl_buf_printf(&b, " --actor %s", t->sw.actor);
	if (t->sw.nth > 1)
		fl_buf_printf(&b, " --nth %llu", (unsigned long long)t->sw.nth);
	if (c->depth && c->depth != FL_SITE_DEPTH_DEFAULT)
		fl_buf_printf(&b, " --depth %d", c->depth);
	if (c->points_arg)
		fl_buf_printf(&b, " --points '%s'", c->points_arg);
	if (c->opts.have_seed)
		fl_buf_printf(&b, " --seed %llu", (unsigned long long)c->opts.seed);
	fl_buf_printf(&b, " %s", t->sc->id);
	snprintf(out, len, "%s", b.data);
	fl_buf_free(&b);
}

/* The fault the site's run fired, from its journal: point, actor, call
 * number, errno. */
static json_t *fired_json(json_t *result)
{
	json_t *rec = json_array_get(
		fl_results_arr(fl_results_obj(result, "journal"), "records"), 0);
	return rec ? json_deep_copy(rec) : json_null();
}

/* Turns a task's first run into its entry of the results: the ordinary
 * result of a scenario, named after its site, with its verdict from the
 * site's outcome and the sweep_site object. */
static json_t *task_entry(struct sweep *s, struct task *t)
{
	json_t *r = t->result;
	t->result = NULL;
	fl_outcome o = t->outcome;
	char detail[1200];
	snprintf(detail, sizeof detail, "%s", t->detail);
	t->confirmed = !wants_second(t) || t->second_ran;
	if (t->second_ran &&
	    !same_outcome(t->outcome, t->detail, t->second, t->second_detail)) {
		o = FL_OUTCOME_FLAKY;
		snprintf(detail, sizeof detail,
			 "flaky: %s in the first run%s%s%s, %s in the second%s%s%s",
			 fl_outcome_name(t->outcome), *t->detail ? " (" : "",
			 t->detail, *t->detail ? ")" : "",
			 fl_outcome_name(t->second), *t->second_detail ? " (" : "",
			 t->second_detail, *t->second_detail ? ")" : "");
	}
	char id[PATH_MAX + 64], name[1024], replay[PATH_MAX * 2];
	if (t->sw.nth > 1)
		snprintf(id, sizeof id, "%s@%s#%llu", t->sc->id, t->site_id,
			 (unsigned long long)t->sw.nth);
	else
		snprintf(id, sizeof id, "%s@%s", t->sc->id, t->site_id);
	char label[900];
	snprintf(name, sizeof name, "%s: %s at %s", fl_results_str(r, "name"),
		 fl_results_str(t->site, "point"), task_label(t, label, sizeof label));
	replay_command(s->c, t, replay, sizeof replay);
	json_t *runs = json_array();
	json_array_append_new(runs, json_pack("{s:s,s:s}", "outcome",
					       fl_outcome_name(t->outcome), "detail",
					       t->detail));
	if (t->second_ran)
		json_array_append_new(runs,
				      json_pack("{s:s,s:s}", "outcome",
						fl_outcome_name(t->second), "detail",
						t->second_detail));
	json_t *ss = json_pack(
		"{s:s,s:s,s:o,s:I,s:s?,s:s,s:s,s:o,s:b,s:s,s:o}", "scenario",
		t->sc->id, "site_id", t->site_id, "site", json_deep_copy(t->site),
		"nth",
		(json_int_t)t->sw.nth, "actor", t->sw.actor[0] ? t->sw.actor : NULL,
		"outcome", fl_outcome_name(o), "detail", detail, "runs", runs,
		"confirmed", t->confirmed, "replay", replay, "fired", fired_json(r));
	int bad = !ss;
	bad |= json_object_set_new(r, "id", json_string(id));
	bad |= json_object_set_new(r, "name", json_string(name));
	bad |= json_object_set_new(r, "verdict",
				   json_string(fl_verdict_name(fl_outcome_verdict(o))));
	bad |= json_object_set_new(r, "message",
				   o == FL_OUTCOME_HANDLED ? json_null()
							   : json_string(detail));
	bad |= json_object_set_new(r, "rerun", json_string(replay));
	bad |= json_object_set_new(r, "sweep_site", ss);
	/* The map's site points at its entry. */
	bad |= json_object_set_new(t->site, "result", json_string(id));
	bad |= json_object_set_new(t->site, "replay", json_string(replay));
	if (bad)
		fl_out_of_memory();
	return r;
}

/* The reference's site list, in the map: every site a window reached. */
static json_t *reference_sites(json_t *reference)
{
	json_t *out = json_array();
	size_t i;
	json_t *site;
	json_array_foreach(fl_results_arr(fl_results_obj(reference, "sites"),
					  "reached"),
			   i, site)
	{
		if (!fl_results_opt_str(site, "point"))
			continue;
		json_array_append(out, site);
	}
	return out;
}

/* Does the site belong to this share? By its id, so every shard assigns
 * it the same way, whatever else its reference run found. */
static int in_share(const struct sweep_cli *c, const char *site_id)
{
	if (!c->shard_total)
		return 1;
	uint64_t key = fl_site_parse_id(site_id);
	return fl_mix64(key) % (uint64_t)c->shard_total ==
	       (uint64_t)(c->shard_index - 1);
}

/* The map's object of a scenario: its reference and its sites. */
static json_t *scenario_map(struct sweep *s, struct scen *sc)
{
	json_t *ref = sc->reference;
	json_t *sites = fl_results_obj(ref, "sites");
	json_t *lost = fl_results_obj(sites, "lost");
	json_t *refj = json_pack(
		"{s:s,s:s?,s:f,s:I,s:O?}", "verdict",
		fl_verdict_name(sc->ref_verdict), "message",
		fl_results_opt_str(ref, "message"), "duration_s",
		fl_results_num(ref, "duration_s"), "sites",
		(json_int_t)json_array_size(fl_results_arr(sites, "reached")),
		"lost", lost);
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", sc->id, "file",
			      sc->ref->file, "name", fl_results_str(ref, "name"),
			      "reference", refj, "sites",
			      s->c->only_site ? json_array() : reference_sites(ref));
	if (!o)
		fl_out_of_memory();
	return o;
}

/* The tasks of every scenario whose reference passed, each site a task
 * unless another shard, the budget or --nth says otherwise. */
static void plan(struct sweep *s)
{
	const struct sweep_cli *c = s->c;
	int cap = 0;
	long planned = 0;
	for (int k = 0; k < s->nscens; k++) {
		struct scen *sc = &s->scens[k];
		sc->map = scenario_map(s, sc);
		size_t i;
		json_t *site;
		json_array_foreach(fl_results_arr(sc->map, "sites"), i, site)
		{
			const char *why = NULL;
			char buf[200];
			const char *sid = fl_results_str(site, "id");
			if (sc->ref_verdict != FL_VERDICT_PASS) {
				why = "not tried: the reference run, with no "
				      "fault, did not pass";
			} else if (!in_share(c, sid)) {
				json_object_set_new(site, "outcome",
						    json_string("other shard"));
				continue;
			} else if ((uint64_t)fl_results_int(site, "calls") <
				   c->nth) {
				snprintf(buf, sizeof buf,
					 "not tried: the reference run reached it "
					 "%lld time%s, fewer than --nth %llu",
					 fl_results_int(site, "calls"),
					 fl_results_int(site, "calls") == 1 ? "" : "s",
					 (unsigned long long)c->nth);
				why = buf;
			} else if (c->budget_runs && planned >= c->budget_runs) {
				snprintf(buf, sizeof buf,
					 "not tried: the budget of %ld run%s was "
					 "spent",
					 c->budget_runs,
					 c->budget_runs == 1 ? "" : "s");
				why = buf;
			}
			if (why) {
				json_object_set_new(site, "outcome",
						    json_string("not tried"));
				json_object_set_new(site, "detail", json_string(why));
				continue;
			}
			if (s->ntasks == cap) {
				cap = cap ? cap * 2 : 32;
				s->tasks = fl_xrealloc(s->tasks,
						       (size_t)cap * sizeof *s->tasks);
			}
			struct task *t = &s->tasks[s->ntasks++];
			memset(t, 0, sizeof *t);
			t->sc = sc;
			t->site = site;
			snprintf(t->site_id, sizeof t->site_id, "%s", sid);
			t->sw.mode = FL_SWEEP_SITE;
			t->sw.site_key = fl_site_parse_id(sid);
			/* One actor reached it: that actor's K-th call, exact
			 * whatever the other threads do. Several (a thread per
			 * request, whose names depend on the order they come
			 * in): the K-th call from it by anyone, since the
			 * first actor may never reach it again. */
			if (fl_results_int(site, "calls") ==
			    fl_results_int(site, "actor_calls"))
				snprintf(t->sw.actor, sizeof t->sw.actor, "%s",
					 fl_results_str(site, "actor"));
			t->sw.nth = c->nth;
			t->sw.depth = c->depth;
			t->sw.points = c->points;
			t->sw.npoints = c->npoints;
			planned++;
		}
	}
}

/* --site: one task per scenario, for the site named; its map entry is
 * what the run's failed call recorded. */
static void plan_one_site(struct sweep *s)
{
	const struct sweep_cli *c = s->c;
	s->tasks = fl_xcalloc((size_t)s->nscens + 1, sizeof *s->tasks);
	for (int k = 0; k < s->nscens; k++) {
		struct scen *sc = &s->scens[k];
		struct task *t = &s->tasks[s->ntasks++];
		t->sc = sc;
		fl_site_id(c->only_site, t->site_id, sizeof t->site_id);
		t->sw.mode = FL_SWEEP_SITE;
		t->sw.site_key = c->only_site;
		snprintf(t->sw.actor, sizeof t->sw.actor, "%s",
			 c->only_actor ? c->only_actor : "");
		t->sw.nth = c->nth;
		t->sw.depth = c->depth;
		t->sw.points = c->points;
		t->sw.npoints = c->npoints;
	}
}

/* After a --site run: the map gets the site as the run recorded it. */
static void one_site_map(struct sweep *s, struct task *t)
{
	struct scen *sc = t->sc;
	json_t *ref = t->result;
	json_t *reached = fl_results_arr(fl_results_obj(ref, "sites"), "reached");
	json_t *site = NULL;
	size_t i;
	json_t *x;
	json_array_foreach(reached, i, x)
		if (!strcmp(fl_results_str(x, "id"), t->site_id))
			site = x;
	site = site ? json_deep_copy(site)
		    : json_pack("{s:s,s:n,s:s}", "id", t->site_id, "point", "at",
				"(not reached)");
	json_t *refj = json_pack("{s:n}", "verdict");
	sc->map = json_pack("{s:s,s:s,s:s,s:o,s:[o]}", "id", sc->id, "file",
			    sc->ref->file, "name", fl_results_str(ref, "name"),
			    "reference", refj, "sites", site);
	t->site = json_array_get(fl_results_arr(sc->map, "sites"), 0);
	(void)s;
}

/* ------------------------------------------------------------------ */

static void iso_time(char *out, size_t len, int64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / FL_NS_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *run_json(const struct sweep_cli *c, int argc, char **argv,
			const char *id, const char *started, int64_t t0,
			int interrupted)
{
	fl_buf cmdline;
	fl_buf_init(&cmdline);
	fl_buf_puts(&cmdline, c->opts.self_path);
	for (int i = 0; i < argc; i++)
		fl_buf_printf(&cmdline, " %s", argv[i]);
	json_t *run = json_pack(
		"{s:s,s:s,s:f,s:s,s:o,s:i,s:i,s:o,s:o,s:o}", "id", id, "started",
		started, "duration_s", (double)(fl_now_ns() - t0) / 1e9, "command",
		cmdline.data, "seed",
		c->opts.have_seed ? json_integer((json_int_t)c->opts.seed) : json_null(),
		"jobs", c->jobs, "repeat", 1, "shard",
		c->shard_total ? json_pack("{s:i,s:i}", "index", c->shard_index,
					  "total", c->shard_total)
			      : json_null(),
		"interrupted",
		interrupted ? json_string(strsignal(interrupted)) : json_null(),
		"host", fl_host_json());
	fl_buf_free(&cmdline);
	return run;
}

/* results.json's "sweep": how it was run and the map. */
static json_t *sweep_json(struct sweep *s)
{
	const struct sweep_cli *c = s->c;
	json_t *points = json_null();
	if (c->npoints) {
		points = json_array();
		for (int i = 0; i < c->npoints; i++)
			json_array_append_new(points, json_string(c->points[i]));
	}
	json_t *scs = json_array();
	for (int k = 0; k < s->nscens; k++)
		if (s->scens[k].map)
			json_array_append(scs, s->scens[k].map);
	json_t *o = json_pack(
		"{s:i,s:I,s:o,s:o,s:o,s:o,s:o}", "depth",
		c->depth ? c->depth : FL_SITE_DEPTH_DEFAULT, "nth",
		(json_int_t)c->nth, "points", points, "budget",
		c->budget_arg[0] ? json_pack("{s:s,s:o,s:o}", "given", c->budget_arg,
					    "runs",
					    c->budget_runs
						    ? json_integer(c->budget_runs)
						    : json_null(),
					    "seconds",
					    c->budget_s ? json_real(c->budget_s)
							: json_null())
				 : json_null(),
		"site", c->only_site ? json_string(s->tasks[0].site_id) : json_null(),
		"shard",
		c->shard_total ? json_pack("{s:i,s:i}", "index", c->shard_index,
					  "total", c->shard_total)
			      : json_null(),
		"scenarios", scs);
	if (!o)
		fl_out_of_memory();
	return o;
}

/* Prints text from a target or a scenario (a point, a file, a message)
 * to stdout as fl_text_console shows it. */
static void put_console(const char *text)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_text_console(&b, text);
	if (b.data)
		fputs(b.data, stdout);
	fl_buf_free(&b);
}

/* The closing lines: the findings with their replay commands, what was
 * not tried, the counts. */
static void print_closing(const struct sweep *s, json_t *doc, double secs,
			  int runs, const char *index_path)
{
	json_t *sweep = fl_results_obj(doc, "sweep");
	size_t i, j;
	json_t *sc, *site;
	int not_tried = 0, findings = 0;
	json_array_foreach(fl_results_arr(sweep, "scenarios"), i, sc)
	{
		json_array_foreach(fl_results_arr(sc, "sites"), j, site)
		{
			const char *o = fl_results_str(site, "outcome");
			int k = fl_outcome_parse(o);
			if (!strcmp(o, "not tried"))
				not_tried++;
			if (k < 0 || k == FL_OUTCOME_HANDLED)
				continue;
			findings += fl_outcome_is_finding((fl_outcome)k);
			const char *via = fl_results_opt_str(site, "via");
			printf("%-11s ", o);
			put_console(fl_results_str(site, "point"));
			fputs(" at ", stdout);
			put_console(fl_results_str(site, "at"));
			if (via) {
				fputs(" via ", stdout);
				put_console(via);
			}
			fputs("\n            ", stdout);
			put_console(fl_results_str(site, "detail"));
			fputs("\n            replay: ", stdout);
			put_console(fl_results_str(site, "replay"));
			fputs("\n", stdout);
		}
		json_t *ref = fl_results_obj(sc, "reference");
		const char *rv = fl_results_opt_str(ref, "verdict");
		if (rv && strcmp(rv, "PASS")) {
			fputs("reference  ", stdout);
			put_console(fl_results_str(sc, "id"));
			printf(": %s without any fault: ", rv);
			put_console(fl_results_str(ref, "message"));
			fputs("\n", stdout);
		}
	}
	if (not_tried && !s->c->quiet) {
		printf("not tried:\n");
		json_array_foreach(fl_results_arr(sweep, "scenarios"), i, sc)
			json_array_foreach(fl_results_arr(sc, "sites"), j, site)
			{
				if (strcmp(fl_results_str(site, "outcome"), "not tried"))
					continue;
				fputs("  ", stdout);
				put_console(fl_results_str(site, "point"));
				fputs(" at ", stdout);
				put_console(fl_results_str(site, "at"));
				printf(" (%s): ", fl_results_str(site, "id"));
				put_console(fl_results_str(site, "detail"));
				fputs("\n", stdout);
			}
	}
	printf("sweep: ");
	const char *k;
	json_t *v;
	int first = 1, total = 0;
	json_object_foreach(fl_results_obj(sweep, "counts"), k, v)
		total += (int)json_integer_value(v);
	printf("%d site%s", total, total == 1 ? "" : "s");
	json_object_foreach(fl_results_obj(sweep, "counts"), k, v)
	{
		printf("%s%lld %s", first ? ": " : ", ",
		       (long long)json_integer_value(v), k);
		first = 0;
	}
	printf(" (%d finding%s; %d run%s, %.1f s", findings,
	       findings == 1 ? "" : "s", runs, runs == 1 ? "" : "s", secs);
	if (s->c->shard_total)
		printf(", share %d of %d", s->c->shard_index, s->c->shard_total);
	printf(")");
	if (index_path[0])
		printf(" - report: %s", index_path);
	printf("\n");
	fflush(stdout);
}

int fl_cmd_sweep(int argc, char **argv)
{
	struct sweep_cli c;
	memset(&c, 0, sizeof c);
	c.report_dir = "reports";
	c.jobs = 1;
	c.nth = 1;
	int status = parse_opts(argc, argv, &c);
	if (status >= 0)
		return status;
	char err[1024];
	c.opts.agent_path = fl_find_agent(err, sizeof err);
	if (!c.opts.agent_path) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	c.opts.fiu_preload_path = fl_find_fiu_preload(err, sizeof err);
	if (!c.opts.fiu_preload_path) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	c.color = fl_console_color(1);
	fl_scenario_ref *refs;
	int n = fl_scenario_discover(argv + optind, argc - optind, &refs, err,
				     sizeof err);
	if (n < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	struct sweep s;
	memset(&s, 0, sizeof s);
	s.c = &c;
	s.scens = fl_xcalloc((size_t)n + 1, sizeof *s.scens);
	for (int i = 0; i < n; i++) {
		if (c.tags && !fl_scenario_has_tag(&refs[i], c.tags))
			continue;
		struct scen *sc = &s.scens[s.nscens++];
		sc->ref = &refs[i];
		if (refs[i].index)
			snprintf(sc->id, sizeof sc->id, "%s#%d", refs[i].file,
				 refs[i].index);
		else
			snprintf(sc->id, sizeof sc->id, "%s", refs[i].file);
	}
	if (s.nscens == 0) {
		fprintf(stderr, "faultline: no scenario (*.lua) under the given "
				"paths%s\n",
			c.tags ? " matches --tags" : "");
		fl_scenario_refs_free(refs, n);
		free(s.scens);
		return FL_EXIT_USAGE;
	}
	char tmp_root[PATH_MAX];
	if (fl_runtime_start(tmp_root, sizeof tmp_root) < 0) {
		fl_scenario_refs_free(refs, n);
		free(s.scens);
		return FL_EXIT_INTERNAL;
	}
	c.opts.tmp_root = tmp_root;
	c.opts.self_path = argv[-1] ? argv[-1] : "faultline";
	int64_t wall0 = fl_wall_ns(), t0 = fl_now_ns();
	char started[64], id[96];
	iso_time(started, sizeof started, wall0);
	fl_run_id(id, sizeof id, wall0);
	char artifacts[PATH_MAX];
	if (!c.no_report) {
		snprintf(artifacts, sizeof artifacts, "%s/%s", c.report_dir, id);
		if (fl_mkdirs(artifacts, 0755) == 0)
			c.opts.artifact_dir = artifacts;
	}
	if (c.budget_s > 0)
		s.deadline_ns = t0 + (int64_t)(c.budget_s * 1e9);

	/* The live lines, a terminal's only (not with -q or -v). */
	int live = fl_console_live(1, c.quiet, c.opts.verbose) &&
		   fl_progress_start(stdout, c.jobs) == 0;
	int runs = 0;
	if (c.only_site) {
		plan_one_site(&s);
	} else {
		run_pool(c.jobs, s.nscens, reference_run, &s);
		runs += s.nscens;
		plan(&s);
	}
	s.total = s.ntasks;
	run_pool(c.jobs, s.ntasks, site_run, &s);
	/* A replay (--site) is one run: the user asked for that fault. */
	if (!c.only_site) {
		int again = 0;
		for (int i = 0; i < s.ntasks; i++)
			again += wants_second(&s.tasks[i]);
		s.done = 0;
		s.total = again;
		run_pool(c.jobs, s.ntasks, second_run, &s);
	}
	if (live)
		fl_progress_stop();
	int interrupted = fl_monitor_interrupted();

	json_t *entries = json_array();
	int ref_failed = 0;
	for (int k = 0; k < s.nscens; k++) {
		struct scen *sc = &s.scens[k];
		if (!sc->reference)
			continue;
		if (sc->ref_verdict != FL_VERDICT_PASS) {
			ref_failed = 1;
			/* One shard says so (every shard ran the reference):
			 * merged shards must not hold the same id twice. */
			if (c.shard_index <= 1) {
				char rid[PATH_MAX + 32];
				snprintf(rid, sizeof rid, "%s@reference", sc->id);
				json_object_set_new(sc->reference, "id",
						    json_string(rid));
				json_array_append(entries, sc->reference);
			}
		}
	}
	for (int i = 0; i < s.ntasks; i++) {
		struct task *t = &s.tasks[i];
		runs += t->ran + t->second_ran;
		if (!t->ran) {
			if (t->site) {
				json_object_set_new(t->site, "outcome",
						    json_string("not tried"));
				json_object_set_new(
					t->site, "detail",
					json_string(t->not_run ? t->not_run
							       : "not tried: "
								 "interrupted"));
			}
			continue;
		}
		json_array_append_new(entries, task_entry(&s, t));
	}
	json_t *run = run_json(&c, argc, argv, id, started, t0, interrupted);
	json_t *doc = fl_results_new(fl_version(), run, entries);
	if (!doc || json_object_set_new(doc, "sweep", sweep_json(&s)) ||
	    fl_sweep_map_update(doc) < 0)
		fl_out_of_memory();

	char index_path[PATH_MAX + 32];
	int report_failed =
		fl_write_reports(doc, c.no_report ? NULL : c.report_dir, id, c.extra,
				 index_path, sizeof index_path) < 0;
	print_closing(&s, doc, (double)(fl_now_ns() - t0) / 1e9, runs, index_path);

	status = fl_results_exit_status(doc);
	if (ref_failed && status == FL_EXIT_OK)
		status = FL_EXIT_USAGE;
	if (report_failed && status == FL_EXIT_OK)
		status = FL_EXIT_INTERNAL;
	json_decref(doc);
	for (int k = 0; k < s.nscens; k++) {
		json_decref(s.scens[k].reference);
		json_decref(s.scens[k].map);
	}
	for (int i = 0; i < s.ntasks; i++)
		json_decref(s.tasks[i].result);
	free(s.tasks);
	free(s.scens);
	for (int i = 0; i < c.npoints; i++)
		free(c.points[i]);
	free(c.points);
	free(c.points_arg);
	fl_scenario_refs_free(refs, n);
	fl_runtime_stop(tmp_root);
	if (interrupted) {
		fprintf(stderr, "faultline: interrupted by %s\n",
			strsignal(interrupted));
		return 128 + interrupted;
	}
	return status;
}
