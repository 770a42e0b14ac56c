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
 * This file is the command: its options, the results document and the
 * closing lines; sweep_run.c runs the references and the sites.
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
#include "sweep_run.h"
#include "text.h"
#include "util.h"
#include "writers.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
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
static int parse_points(fl_sweep_cli *c, const char *arg)
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

enum { WRITER_OPT = 1000 };

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
#define NFIXED (sizeof fixed_opts / sizeof fixed_opts[0])

/* getopt's table (NFIXED + FL_WRITER_COUNT + 1 rows): the fixed options,
 * then one per output format as the table of writers names it (--junit
 * FILE, ...), then the end. */
static void build_longopts(struct option *longopts)
{
	memcpy(longopts, fixed_opts, sizeof fixed_opts);
	for (int w = 0; w < FL_WRITER_COUNT; w++)
		longopts[NFIXED + (size_t)w] =
			(struct option){fl_writers[w].option, required_argument,
					NULL, WRITER_OPT + w};
	memset(&longopts[NFIXED + FL_WRITER_COUNT], 0, sizeof longopts[0]);
}

/* The options below return -1 to go on, else the exit status (after
 * saying why). */

/* -j, --nth, --depth: a count within its bounds. */
static int set_count(fl_sweep_cli *c, int ch, const char *arg)
{
	long v;
	switch (ch) {
	case 'j':
		if (parse_count(arg, &v, 256) < 0) {
			fprintf(stderr, "faultline sweep: -j needs a number "
					"from 1 to 256\n");
			return FL_EXIT_USAGE;
		}
		c->jobs = (int)v;
		return -1;
	case 'n':
		if (parse_count(arg, &v, 1000000) < 0) {
			fprintf(stderr, "faultline sweep: --nth needs a "
					"positive number\n");
			return FL_EXIT_USAGE;
		}
		c->nth = (uint64_t)v;
		return -1;
	default: /* 'd' */
		if (parse_count(arg, &v, FL_SITE_FRAMES) < 0) {
			fprintf(stderr, "faultline sweep: --depth needs a "
					"number from 1 to %d\n",
				FL_SITE_FRAMES);
			return FL_EXIT_USAGE;
		}
		c->depth = (int)v;
		return -1;
	}
}

/* --shard, --points, --budget, --site, --actor: which sites run. */
static int set_sites(fl_sweep_cli *c, int ch, const char *arg)
{
	char err[1024];
	switch (ch) {
	case 'X':
		if (fl_parse_shard(arg, &c->shard_index, &c->shard_total, err,
				   sizeof err) < 0) {
			fprintf(stderr, "faultline sweep: %s\n", err);
			return FL_EXIT_USAGE;
		}
		return -1;
	case 'p':
		if (parse_points(c, arg) < 0) {
			fprintf(stderr, "faultline sweep: --points needs "
					"point names separated by commas\n");
			return FL_EXIT_USAGE;
		}
		return -1;
	case 'B':
		if (parse_budget(arg, &c->budget_runs, &c->budget_s) < 0) {
			fprintf(stderr, "faultline sweep: --budget needs a "
					"number of runs or a time like 90s, "
					"10m or 1h, not '%s'\n",
				arg);
			return FL_EXIT_USAGE;
		}
		snprintf(c->budget_arg, sizeof c->budget_arg, "%s", arg);
		return -1;
	case 's':
		c->only_site = fl_site_parse_id(arg);
		if (!c->only_site) {
			fprintf(stderr, "faultline sweep: --site needs a "
					"site id (16 hex digits), not '%s'\n",
				arg);
			return FL_EXIT_USAGE;
		}
		return -1;
	default: /* 'a' */
		if (!*arg || strlen(arg) >= FL_ACTOR_MAX) {
			fprintf(stderr, "faultline sweep: --actor needs an "
					"actor name like 0 or 0.2\n");
			return FL_EXIT_USAGE;
		}
		c->only_actor = arg;
		return -1;
	}
}

/* --seed, --timeout: what every run shares. */
static int set_run_opt(fl_sweep_cli *c, int ch, const char *arg)
{
	char *end;
	if (ch == 'S') {
		errno = 0;
		unsigned long long s = strtoull(arg, &end, 10);
		if (end == arg || *end || errno || arg[0] == '-') {
			fprintf(stderr, "faultline sweep: --seed needs a "
					"non-negative integer, not '%s'\n",
				arg);
			return FL_EXIT_USAGE;
		}
		c->opts.have_seed = 1;
		c->opts.seed = s;
		return -1;
	}
	double s = strtod(arg, &end);
	if (end == arg || *end || !(s > 0)) {
		fprintf(stderr, "faultline sweep: --timeout needs a "
				"positive number of seconds\n");
		return FL_EXIT_USAGE;
	}
	c->opts.timeout_s = s;
	return -1;
}

/* One option as getopt returned it. */
static int set_option(fl_sweep_cli *c, int ch, const char *arg)
{
	switch (ch) {
	case 'j':
	case 'n':
	case 'd':
		return set_count(c, ch, arg);
	case 'X':
	case 'p':
	case 'B':
	case 's':
	case 'a':
		return set_sites(c, ch, arg);
	case 'S':
	case 'T':
		return set_run_opt(c, ch, arg);
	case 't':
		c->tags = arg;
		return -1;
	case 'R':
		c->report_dir = arg;
		return -1;
	case 'N':
		c->no_report = 1;
		return -1;
	case 'v':
		c->opts.verbose = 1;
		return -1;
	case 'q':
		c->quiet = 1;
		return -1;
	case 'h':
		usage(stdout);
		return FL_EXIT_OK;
	default:
		if (ch >= WRITER_OPT && ch < WRITER_OPT + FL_WRITER_COUNT) {
			c->extra[ch - WRITER_OPT] = arg;
			return -1;
		}
		return FL_EXIT_USAGE; /* fl_cli_getopt said why */
	}
}

/* -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, fl_sweep_cli *c)
{
	struct option longopts[NFIXED + FL_WRITER_COUNT + 1];
	build_longopts(longopts);
	optind = 1;
	int ch;
	while ((ch = fl_cli_getopt("sweep", argc, argv, "j:vqh", longopts)) != -1) {
		int status = set_option(c, ch, optarg);
		if (status >= 0)
			return status;
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
/* The document and the closing lines                                   */
/* ------------------------------------------------------------------ */

static void iso_time(char *out, size_t len, int64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / FL_NS_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *run_json(const fl_sweep_cli *c, int argc, char **argv,
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
static json_t *sweep_json(fl_sweep_state *s)
{
	const fl_sweep_cli *c = s->c;
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
static void print_closing(const fl_sweep_state *s, json_t *doc, double secs,
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

/* ------------------------------------------------------------------ */
/* The command                                                          */
/* ------------------------------------------------------------------ */

/* The agent and libfiu's preload, which every run needs: 0, or the exit
 * status after saying why. */
static int find_tools(fl_sweep_cli *c)
{
	char err[1024];
	c->opts.agent_path = fl_find_agent(err, sizeof err);
	if (!c->opts.agent_path) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	c->opts.fiu_preload_path = fl_find_fiu_preload(err, sizeof err);
	if (!c->opts.fiu_preload_path) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	return 0;
}

/* The scenarios found that carry one of --tags, each with its id
 * ("file", or "file#2" for the second of a file): 0, or the exit status
 * after saying why. */
static int select_scenarios(fl_sweep_state *s, fl_scenario_ref *refs, int n)
{
	const fl_sweep_cli *c = s->c;
	s->scens = fl_xcalloc((size_t)n + 1, sizeof *s->scens);
	for (int i = 0; i < n; i++) {
		if (c->tags && !fl_scenario_has_tag(&refs[i], c->tags))
			continue;
		fl_sweep_scen *sc = &s->scens[s->nscens++];
		sc->ref = &refs[i];
		if (refs[i].index)
			snprintf(sc->id, sizeof sc->id, "%s#%d", refs[i].file,
				 refs[i].index);
		else
			snprintf(sc->id, sizeof sc->id, "%s", refs[i].file);
	}
	if (s->nscens == 0) {
		fprintf(stderr, "faultline: no scenario (*.lua) under the given "
				"paths%s\n",
			c->tags ? " matches --tags" : "");
		return FL_EXIT_USAGE;
	}
	return 0;
}

/* When the sweep started: its run id, the time in UTC, the monotonic
 * clock. */
struct start {
	char id[96];
	char at[64];
	int64_t t0;
};

/* The results document from the runs, the reports written, the closing
 * lines printed; returns the exit status. */
static int finish(fl_sweep_state *s, int argc, char **argv,
		  const struct start *st, int runs, int interrupted)
{
	fl_sweep_cli *c = s->c;
	int ref_failed;
	json_t *entries = fl_sweep_run_entries(s, &runs, &ref_failed);
	json_t *run = run_json(c, argc, argv, st->id, st->at, st->t0,
			       interrupted);
	json_t *doc = fl_results_new(fl_version(), run, entries);
	if (!doc || json_object_set_new(doc, "sweep", sweep_json(s)) ||
	    fl_sweep_map_update(doc) < 0)
		fl_out_of_memory();

	char index_path[PATH_MAX + 32];
	int report_failed =
		fl_write_reports(doc, c->no_report ? NULL : c->report_dir,
				 st->id, c->extra, index_path,
				 sizeof index_path) < 0;
	print_closing(s, doc, (double)(fl_now_ns() - st->t0) / 1e9, runs,
		      index_path);

	int status = fl_results_exit_status(doc);
	if (ref_failed && status == FL_EXIT_OK)
		status = FL_EXIT_USAGE;
	if (report_failed && status == FL_EXIT_OK)
		status = FL_EXIT_INTERNAL;
	json_decref(doc);
	return status;
}

static void sweep_free(fl_sweep_state *s)
{
	for (int k = 0; k < s->nscens; k++) {
		json_decref(s->scens[k].reference);
		json_decref(s->scens[k].map);
	}
	for (int i = 0; i < s->ntasks; i++)
		json_decref(s->tasks[i].result);
	free(s->tasks);
	free(s->scens);
	for (int i = 0; i < s->c->npoints; i++)
		free(s->c->points[i]);
	free(s->c->points);
	free(s->c->points_arg);
}

int fl_cmd_sweep(int argc, char **argv)
{
	fl_sweep_cli c;
	memset(&c, 0, sizeof c);
	c.report_dir = "reports";
	c.jobs = 1;
	c.nth = 1;
	int status = parse_opts(argc, argv, &c);
	if (status >= 0)
		return status;
	status = find_tools(&c);
	if (status)
		return status;
	c.color = fl_console_color(1);
	char err[1024];
	fl_scenario_ref *refs;
	int n = fl_scenario_discover(argv + optind, argc - optind, &refs, err,
				     sizeof err);
	if (n < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		return FL_EXIT_USAGE;
	}
	fl_sweep_state s;
	memset(&s, 0, sizeof s);
	s.c = &c;
	char tmp_root[PATH_MAX];
	status = select_scenarios(&s, refs, n);
	if (!status && fl_runtime_start(tmp_root, sizeof tmp_root) < 0)
		status = FL_EXIT_INTERNAL;
	if (status) {
		fl_scenario_refs_free(refs, n);
		free(s.scens);
		return status;
	}
	c.opts.tmp_root = tmp_root;
	c.opts.self_path = argv[-1] ? argv[-1] : "faultline";
	struct start st;
	int64_t wall0 = fl_wall_ns();
	st.t0 = fl_now_ns();
	iso_time(st.at, sizeof st.at, wall0);
	fl_run_id(st.id, sizeof st.id, wall0);
	char artifacts[PATH_MAX];
	if (!c.no_report) {
		snprintf(artifacts, sizeof artifacts, "%s/%s", c.report_dir,
			 st.id);
		if (fl_mkdirs(artifacts, 0755) == 0)
			c.opts.artifact_dir = artifacts;
	}
	if (c.budget_s > 0)
		s.deadline_ns = st.t0 + (int64_t)(c.budget_s * 1e9);

	/* The live lines, a terminal's only (not with -q or -v). */
	int live = fl_console_live(1, c.quiet, c.opts.verbose) &&
		   fl_progress_start(stdout, c.jobs) == 0;
	int runs = fl_sweep_run_all(&s);
	if (live)
		fl_progress_stop();
	int interrupted = fl_monitor_interrupted();
	status = finish(&s, argc, argv, &st, runs, interrupted);
	sweep_free(&s);
	fl_scenario_refs_free(refs, n);
	fl_runtime_stop(tmp_root);
	if (interrupted) {
		fprintf(stderr, "faultline: interrupted by %s\n",
			strsignal(interrupted));
		return 128 + interrupted;
	}
	return status;
}
