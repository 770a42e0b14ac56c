/* faultline run: discovers scenarios, runs them (side by side with -j,
 * several times with --repeat, a deterministic share with --shard), prints
 * a line for each, and writes the results and reports (the report
 * directory is run_reports.c's). */
#define _GNU_SOURCE
#include "cli.h"
#include "console.h"
#include "guardian.h"
#include "monitor.h"
#include "progress.h"
#include "report.h"
#include "scenario.h"
#include "text.h"
#include "util.h"
#include "writers.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef FL_LIBFIU_VERSION
#define FL_LIBFIU_VERSION "unknown"
#endif

static const char usage_head[] =
	"usage: faultline run [options] PATH...\n"
	"\n"
	"Runs the scenarios in the given Lua files and directories (searched\n"
	"recursively for *.lua; FILE#N picks the N-th scenario of a file that\n"
	"returns a list).\n"
	"\n"
	"options:\n"
	"  -j N, --jobs N      run N scenarios side by side (default 1)\n"
	"  --shard I/N         run only the I-th of N shares of the suite\n"
	"                      (1-based; scenario k goes to share k mod N);\n"
	"                      'auto' reads GitLab's CI_NODE_INDEX and\n"
	"                      CI_NODE_TOTAL, 'auto/N' Kubernetes'\n"
	"                      JOB_COMPLETION_INDEX (or CI_NODE_INDEX)\n"
	"  --repeat N          run each scenario N times; FLAKY when the\n"
	"                      outcome changes (the verdict, or what\n"
	"                      failed), or when an exact scenario's fault\n"
	"                      journals differ; every run's journal is kept\n"
	"  --seed S            seed for every scenario (default: each\n"
	"                      scenario's own seed)\n"
	"  --timeout S         watchdog per scenario, in seconds (default:\n"
	"                      the scenario's timeout, else 60)\n"
	"  --tags T[,T...]     only scenarios carrying one of these tags\n";
/* ... --report-dir and an option per output format (writers.h) ... */
static const char usage_tail[] =
	"  -v, --verbose       show the targets' output and scenario logs,\n"
	"                      and every failed expectation in full\n"
	"  -q, --quiet         print only failures and the closing line\n"
	"  -h, --help          this text\n"
	"\n"
	"A result line per scenario lists every failed expectation briefly.\n"
	"On a terminal, a live line per running scenario shows its phase,\n"
	"time and faults fired (not with -q or -v, nor with TERM=dumb);\n"
	"NO_COLOR turns the colours off.\n";

/* The usage, whose report files and output options come from the table
 * of writers. */
static void usage(FILE *out)
{
	fl_buf b, text;
	fl_buf_init(&b);
	fl_buf_init(&text);
	fl_buf_puts(&text, "where reports go (default: reports); each run writes");
	for (int w = 0; w < FL_WRITER_COUNT; w++)
		if (fl_writers[w].file)
			fl_buf_printf(&text, " %s,", fl_writers[w].file);
	fl_buf_puts(&text, " and journal-K.json files into DIR/<run id>/ and "
			   "points DIR/latest at it");
	fl_buf_puts(&b, usage_head);
	fl_buf_wrap(&b, "  --report-dir DIR    ", 22, 72, text.data);
	fl_buf_puts(&b, "  --no-report         write no report directory\n");
	fl_writers_usage(&b, 0, 22);
	fl_buf_puts(&b, usage_tail);
	fputs(b.data, out);
	fl_buf_free(&b);
	fl_buf_free(&text);
}

struct run_cli {
	fl_run_opts opts;
	const char *tags;
	const char *report_dir;
	int no_report;
	const char *extra[FL_WRITER_COUNT];	/* --json FILE ... */
	int quiet;
	int color;
	int jobs;
	int repeat;
	int shard_index;	/* 1-based; 0: no sharding */
	int shard_total;
};

static void iso_time(char *out, size_t len, int64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / FL_NS_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The console's colour of each verdict: green what passed, cyan an
 * expected failure, red a failure, magenta an error or no verdict. */
static const char *const verdict_colors[FL_VERDICT_COUNT] = {
	[FL_VERDICT_PASS] = "\033[32m",  [FL_VERDICT_XFAIL] = "\033[36m",
	[FL_VERDICT_FAIL] = "\033[31m",  [FL_VERDICT_XPASS] = "\033[31m",
	[FL_VERDICT_FLAKY] = "\033[31m", [FL_VERDICT_ERROR] = "\033[35m",
};

static const char *verdict_color(fl_verdict v)
{
	const char *c = (int)v >= 0 && v < FL_VERDICT_COUNT ? verdict_colors[v] : NULL;
	return c ? c : "\033[35m";
}

/* Width of a line of briefs, the indent included. */
#define BRIEF_LINE_COLS 100
#define INDENT "       "

/* Appends the lines of text (at most max), each indented, with control
 * characters shown (fl_text_console). */
static void put_lines(fl_buf *out, const char *text, int max)
{
	const char *p = text;
	for (int lines = 0; *p && lines < max; lines++) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		if (!line)
			fl_out_of_memory();
		fl_buf_puts(out, INDENT);
		fl_text_console(out, line);
		fl_buf_putc(out, '\n');
		free(line);
		p += n;
		if (*p)
			p++;
	}
}

/* The briefs of every failed expectation, joined by "; " and wrapped
 * between them at BRIEF_LINE_COLS (the one per failed expectation that
 * -v gives in full below); the number of failed expectations. */
static int put_briefs(fl_buf *out, json_t *r, const char *message,
		      int *message_is_one)
{
	size_t i;
	json_t *e;
	int n = 0, col = 0;
	json_array_foreach(fl_results_arr(r, "expectations"), i, e)
	{
		if (fl_results_bool(e, "ok"))
			continue;
		if (message && !strcmp(message, fl_results_str(e, "message")))
			*message_is_one = 1;
		fl_buf brief, shown;
		fl_buf_init(&brief);
		fl_buf_init(&shown);
		fl_console_brief(e, &brief);
		fl_text_console(&shown, brief.data ? brief.data : "");
		int cols = 0;
		for (size_t k = 0; k < shown.len; k++)
			cols += ((unsigned char)shown.data[k] & 0xc0) != 0x80;
		if (n == 0 || col + 2 + cols > BRIEF_LINE_COLS) {
			if (n > 0)
				fl_buf_puts(out, ";\n");
			fl_buf_puts(out, INDENT);
			col = (int)strlen(INDENT);
		} else {
			fl_buf_puts(out, "; ");
			col += 2;
		}
		fl_buf_append(out, shown.data ? shown.data : "", shown.len);
		col += cols;
		fl_buf_free(&brief);
		fl_buf_free(&shown);
		n++;
	}
	if (n > 0)
		fl_buf_putc(out, '\n');
	return n;
}

void fl_print_result(int color, int quiet, int verbose, json_t *r)
{
	fl_verdict verdict = fl_results_verdict(r);
	const char *v = fl_verdict_name(verdict);
	const char *msg = fl_results_opt_str(r, "message");
	int bad = !fl_verdict_good(verdict);
	if (quiet && !bad)
		return;
	/* Names, messages and warnings come from scenarios and targets:
	 * their control characters are shown, never obeyed (fl_text). */
	fl_buf out;
	fl_buf_init(&out);
	double d = fl_results_num(r, "duration_s");
	if (color)
		fl_buf_printf(&out, "%s%-6s\033[0m ", verdict_color(verdict), v);
	else
		fl_buf_printf(&out, "%-6s ", v);
	fl_text_console(&out, fl_results_str(r, "name"));
	if (isfinite(d))
		fl_buf_printf(&out, "  (%.2f s)\n", d);
	else
		fl_buf_puts(&out, "  (? s)\n");
	if (bad || verdict == FL_VERDICT_XFAIL) {
		/* Every failed expectation, briefly; the verdict's message
		 * too when it says something else (an error, an XPASS, a
		 * FLAKY, a failure that is not the expected one). */
		int message_is_one = 0;
		put_briefs(&out, r, msg, &message_is_one);
		if (msg && !message_is_one)
			put_lines(&out, msg, 6);
	}
	size_t i;
	json_t *w;
	json_array_foreach(fl_results_arr(r, "warnings"), i, w)
	{
		/* Its lines are the harness's own (a target's lines quoted in
		 * it never hold one): only what is on them is escaped. */
		const char *p = json_string_value(w);
		fl_buf_puts(&out, INDENT "warning: ");
		while (p && *p) {
			size_t n = strcspn(p, "\n");
			char *line = strndup(p, n);
			if (!line)
				fl_out_of_memory();
			fl_text_console(&out, line);
			fl_buf_putc(&out, '\n');
			free(line);
			p += n;
			if (*p && *++p)
				fl_buf_puts(&out, INDENT);
		}
	}
	if (bad || (verbose && verdict == FL_VERDICT_XFAIL)) {
		/* -v: each failure in full, where it was said; else where
		 * the headline's expectation was made (the first failed
		 * one's when the headline is none's). */
		json_t *e, *at = NULL;
		int at_is_headline = 0;
		json_array_foreach(fl_results_arr(r, "expectations"), i, e)
		{
			if (fl_results_bool(e, "ok"))
				continue;
			if (verbose) {
				fl_buf_puts(&out, INDENT "failed: ");
				fl_text_console(&out, fl_results_str(e, "what"));
				fl_buf_putc(&out, '\n');
				put_lines(&out, fl_results_str(e, "message"), 12);
				const char *where = fl_results_str(e, "where");
				if (*where) {
					fl_buf_puts(&out, INDENT "at ");
					fl_text_console(&out, where);
					fl_buf_putc(&out, '\n');
				}
			}
			if (!at_is_headline && msg &&
			    !strcmp(fl_results_str(e, "message"), msg)) {
				at = e;
				at_is_headline = 1;
			} else if (!at) {
				at = e;
			}
		}
		const char *where = at && !verbose ? fl_results_str(at, "where") : "";
		if (*where) {
			fl_buf_puts(&out, INDENT "at ");
			fl_text_console(&out, where);
			fl_buf_putc(&out, '\n');
		}
	}
	const char *rerun = bad ? fl_results_rerun(r) : NULL;
	if (rerun) {
		fl_buf_puts(&out, INDENT "re-run: ");
		fl_text_console(&out, rerun);
		fl_buf_putc(&out, '\n');
	}
	fl_progress_write(out.data);
	fl_buf_free(&out);
}

json_t *fl_host_json(void)
{
	struct utsname u;
	char host[256] = "?";
	gethostname(host, sizeof host);
	host[sizeof host - 1] = '\0';
	json_t *o = json_object();
	fl_text_set(o, "hostname", fl_text_json(host));
	if (uname(&u) == 0) {
		char k[200];
		snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
		fl_text_set(o, "kernel", fl_text_json(k));
	}
	fl_text_set(o, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	fl_text_set(o, "libfiu", fl_text_json(FL_LIBFIU_VERSION));
	return o;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_count(const char *s, int *out, int max)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* --shard I/N, auto (GitLab) or auto/N (Kubernetes Indexed Jobs). */
int fl_parse_shard(const char *spec, int *index, int *total, char *err,
		   size_t errlen)
{
	const char *gl_i = getenv("CI_NODE_INDEX"), *gl_n = getenv("CI_NODE_TOTAL");
	const char *k8s_i = getenv("JOB_COMPLETION_INDEX");
	if (strcmp(spec, "auto") == 0) {
		if (!gl_i || !gl_n) {
			snprintf(err, errlen,
				 "--shard auto needs CI_NODE_INDEX and "
				 "CI_NODE_TOTAL (GitLab's parallel:); on "
				 "Kubernetes use --shard auto/N");
			return -1;
		}
		*index = atoi(gl_i);
		*total = atoi(gl_n);
	} else if (strncmp(spec, "auto/", 5) == 0) {
		*total = atoi(spec + 5);
		if (k8s_i && *k8s_i)
			*index = atoi(k8s_i) + 1; /* 0-based there */
		else if (gl_i && *gl_i)
			*index = atoi(gl_i);
		else {
			snprintf(err, errlen,
				 "--shard auto/N needs JOB_COMPLETION_INDEX "
				 "(Kubernetes Indexed Job) or CI_NODE_INDEX");
			return -1;
		}
	} else {
		char *slash;
		long i = strtol(spec, &slash, 10);
		if (*slash != '/') {
			snprintf(err, errlen, "--shard needs I/N, like 2/4");
			return -1;
		}
		*index = (int)i;
		*total = atoi(slash + 1);
	}
	if (*total < 1 || *index < 1 || *index > *total) {
		snprintf(err, errlen,
			 "--shard: share %d of %d does not exist (I counts from "
			 "1 to N)",
			 *index, *total);
		return -1;
	}
	return 0;
}

int fl_runtime_start(char *tmp_root, size_t len)
{
	/* How the monitor samples, before anything starts: a run that
	 * asked for what it cannot have does not start. */
	char serr[320];
	if (fl_monitor_sampler_setup(serr, sizeof serr) < 0) {
		fprintf(stderr, "faultline: %s\n", serr);
		return -1;
	}
	/* The guardian first (it must be forked before any thread), then
	 * the monitor thread. */
	if (fl_guardian_start() < 0 || fl_monitor_start() < 0) {
		fprintf(stderr, "faultline: cannot start: %s\n", strerror(errno));
		return -1;
	}
	const char *tmpbase = getenv("TMPDIR");
	snprintf(tmp_root, len, "%s/faultline.XXXXXX",
		 tmpbase && *tmpbase ? tmpbase : "/tmp");
	if (!mkdtemp(tmp_root)) {
		fprintf(stderr,
			"faultline: cannot create a temporary directory in "
			"%s: %s\n",
			tmpbase && *tmpbase ? tmpbase : "/tmp", strerror(errno));
		return -1;
	}
	/* Traversable but not listable by others: a target's worker that
	 * drops privileges (nginx's user nobody) reaches {tmpdir} below. */
	chmod(tmp_root, 0711);
	fl_guardian_watch_dir(tmp_root);
	return 0;
}

void fl_runtime_stop(const char *tmp_root)
{
	fl_monitor_stop();
	if (tmp_root && tmp_root[0]) {
		fl_rmtree(tmp_root);
		fl_guardian_forget_dir(tmp_root);
	}
}

void fl_run_id(char *id, size_t len, int64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / FL_NS_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, len, "%s-%d", stamp, (int)getpid());
}

/* Runs a scenario repeat times; one result, the first run's, whose
 * verdict is the repeat rule's (fl_verdict_repeat: FLAKY when the outcome
 * changed) and which keeps every run's journal for write_journals. */
static json_t *run_repeated(const fl_scenario_ref *ref, const fl_run_opts *opts,
			    int repeat)
{
	json_t *first = fl_scenario_run(ref, opts);
	if (repeat <= 1 || !first)
		return first;
	fl_repeat_run *runs = fl_xcalloc((size_t)repeat, sizeof *runs);
	json_t *names = json_array(), *digests = json_array();
	json_t *durations = json_array(), *failures = json_array();
	json_t *journals = json_array();
	int n = 0, exact = 1;
	for (json_t *r = first; r;) {
		const char *d = fl_results_opt_str(fl_results_obj(r, "journal"), "digest");
		fl_buf sig;
		fl_buf_init(&sig);
		fl_results_failure_signature(r, NULL, &sig);
		fl_text_append(names, json_string(fl_verdict_name(fl_results_verdict(r))));
		fl_text_append(digests, fl_text_json(d ? d : ""));
		fl_text_append(failures, fl_text_jsonn(sig.data ? sig.data : "", sig.len));
		double secs = fl_results_num(r, "duration_s");
		fl_text_append(durations, json_real(isfinite(secs) ? secs : 0));
		json_t *jd = json_object_get(r, "journal_file_data");
		fl_annotate_journal(jd, r);
		fl_text_append(journals, jd ? json_incref(jd) : json_null());
		fl_buf_free(&sig);
		runs[n].verdict = fl_results_verdict(r);
		exact &= fl_results_bool(r, "exact");
		if (r != first)
			json_decref(r);
		n++;
		r = NULL;
		if (n < repeat && !fl_monitor_interrupted()) {
			/* The live line says which run it is. */
			char which[64];
			snprintf(which, sizeof which, "(run %d of %d)", n + 1, repeat);
			fl_progress_detail(which);
			r = fl_scenario_run(ref, opts);
		}
	}
	/* The strings live in the arrays, which outlive the rule. */
	for (int k = 0; k < n; k++) {
		runs[k].digest = json_string_value(json_array_get(digests, (size_t)k));
		runs[k].signature = json_string_value(json_array_get(failures, (size_t)k));
	}
	char message[1024], note[256];
	fl_verdict v = fl_verdict_repeat(runs, (size_t)n, exact, message,
					 sizeof message, note, sizeof note);
	json_t *rep = json_pack("{s:i,s:o,s:o,s:o,s:o,s:b}", "runs", n, "verdicts",
				names, "failures", failures, "digests", digests,
				"durations_s", durations, "journal_varies",
				note[0] != '\0');
	if (!rep)
		fl_out_of_memory();
	fl_text_set(first, "repeat", rep);
	fl_text_set(first, "journal_runs_data", journals);
	if (note[0])
		fl_text_append(fl_results_arr(first, "warnings"), fl_text_json(note));
	if (v != fl_results_verdict(first)) {
		fl_text_set(first, "verdict", json_string(fl_verdict_name(v)));
		fl_text_set(first, "message", fl_text_json(message));
	}
	free(runs);
	return first;
}

struct pool {
	struct run_cli *c;
	fl_scenario_ref **selected;
	int nselected;
	json_t **results;
	int next;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->nselected || fl_monitor_interrupted())
			break;
		const fl_scenario_ref *ref = p->selected[i];
		/* The live line (when there is a display): the scenario's
		 * name once it has loaded, replaced by its result line. */
		fl_progress_begin(ref->name ? ref->name : ref->file);
		json_t *r = run_repeated(ref, &p->c->opts, p->c->repeat);
		fl_progress_end();
		fl_print_result(p->c->color, p->c->quiet, p->c->opts.verbose, r);
		p->results[i] = r;
	}
	return NULL;
}

/* -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, struct run_cli *c)
{
	static const struct option fixed_opts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"shard", required_argument, NULL, 'X'},
		{"repeat", required_argument, NULL, 'P'},
		{"seed", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 'T'},
		{"tags", required_argument, NULL, 't'},
		{"report-dir", required_argument, NULL, 'R'},
		{"no-report", no_argument, NULL, 'N'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
	};
	/* An option per output format: --json FILE, --junit FILE, ... */
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
	char err[1024];
	while ((ch = fl_cli_getopt("run", argc, argv, "j:vqh", longopts)) != -1) {
		switch (ch) {
		case 'j':
			if (parse_count(optarg, &c->jobs, 256) < 0) {
				fprintf(stderr, "faultline run: -j needs a number "
						"from 1 to 256\n");
				return FL_EXIT_USAGE;
			}
			break;
		case 'X':
			if (fl_parse_shard(optarg, &c->shard_index, &c->shard_total,
					err, sizeof err) < 0) {
				fprintf(stderr, "faultline run: %s\n", err);
				return FL_EXIT_USAGE;
			}
			break;
		case 'P':
			if (parse_count(optarg, &c->repeat, 100000) < 0) {
				fprintf(stderr, "faultline run: --repeat needs a "
						"positive number\n");
				return FL_EXIT_USAGE;
			}
			break;
		case 'S': {
			char *end;
			errno = 0;
			unsigned long long s = strtoull(optarg, &end, 10);
			if (end == optarg || *end || errno || optarg[0] == '-') {
				fprintf(stderr, "faultline run: --seed needs a "
						"non-negative integer, not '%s'\n",
					optarg);
				return FL_EXIT_USAGE;
			}
			c->opts.have_seed = 1;
			c->opts.seed = s;
			break;
		}
		case 'T':
			if (parse_seconds(optarg, &c->opts.timeout_s) < 0) {
				fprintf(stderr, "faultline run: --timeout needs "
						"a positive number of seconds\n");
				return FL_EXIT_USAGE;
			}
			break;
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
			return FL_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return fl_cli_usage_error("run", "no scenario given");
	return -1;
}

/* Runs the selected scenarios, -j of them side by side; their results in
 * the order of the suite, whatever finished first. *missing counts the
 * scenarios that produced no result though the run was not
 * interrupted. */
static json_t *run_all(struct run_cli *c, fl_scenario_ref **selected,
		       int nselected, int *missing)
{
	struct pool pool = {.c = c,
			    .selected = selected,
			    .nselected = nselected,
			    .results = fl_xcalloc((size_t)nselected + 1,
						  sizeof(json_t *)),
			    .lock = PTHREAD_MUTEX_INITIALIZER};
	int jobs = c->jobs < nselected ? c->jobs : nselected;
	if (jobs <= 1) {
		worker(&pool);
	} else {
		pthread_t *th = fl_xcalloc((size_t)jobs, sizeof *th);
		for (int i = 0; i < jobs; i++)
			if (pthread_create(&th[i], NULL, worker, &pool) != 0) {
				fprintf(stderr, "faultline: cannot start worker "
						"threads\n");
				jobs = i;
				break;
			}
		for (int i = 0; i < jobs; i++)
			pthread_join(th[i], NULL);
		free(th);
		if (jobs == 0)
			worker(&pool);
	}
	json_t *scenarios = json_array();
	for (int i = 0; i < nselected; i++) {
		if (pool.results[i])
			fl_text_append(scenarios, pool.results[i]);
		else if (!fl_monitor_interrupted())
			(*missing)++;
	}
	free(pool.results);
	return scenarios;
}

/* The "run" object of the results. */
static json_t *run_json(const struct run_cli *c, int argc, char **argv,
			const char *id, const char *started, int64_t t0,
			int matched, int interrupted)
{
	fl_buf cmdline;
	fl_buf_init(&cmdline);
	fl_buf_puts(&cmdline, c->opts.self_path);
	for (int i = 0; i < argc; i++)
		fl_buf_printf(&cmdline, " %s", argv[i]);
	/* The command line holds paths, which need not be UTF-8. */
	json_t *run = json_pack(
		"{s:s,s:s,s:f,s:o,s:o,s:i,s:i,s:o,s:o,s:o}", "id", id, "started",
		started, "duration_s", (double)(fl_now_ns() - t0) / 1e9, "command",
		fl_text_json(cmdline.data), "seed",
		c->opts.have_seed ? json_integer((json_int_t)c->opts.seed) : json_null(),
		"jobs", c->jobs, "repeat", c->repeat, "shard",
		c->shard_total ? json_pack("{s:i,s:i,s:i}", "index", c->shard_index,
					  "total", c->shard_total, "of", matched)
			      : json_null(),
		"interrupted",
		interrupted ? fl_text_json(strsignal(interrupted)) : json_null(),
		"host", fl_host_json());
	fl_buf_free(&cmdline);
	if (!run)
		fl_out_of_memory();
	return run;
}

/* The agent and libfiu's preload library, into c's options. Returns -1
 * when both were found, else the exit status (a sentence printed). */
static int find_tools(struct run_cli *c)
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
	return -1;
}

/* The scenarios of refs this run runs, into selected (*nselected of
 * them). Tags first, then the share: every shard sees the same list.
 * Returns how many matched the tags (0: none, a sentence in err). */
static int select_scenarios(const struct run_cli *c, fl_scenario_ref *refs,
			    int n, fl_scenario_ref **selected, int *nselected,
			    char *err, size_t errlen)
{
	int matched = 0;
	*nselected = 0;
	for (int i = 0; i < n; i++) {
		if (c->tags && !fl_scenario_has_tag(&refs[i], c->tags))
			continue;
		if (!c->shard_total || matched % c->shard_total == c->shard_index - 1)
			selected[(*nselected)++] = &refs[i];
		matched++;
	}
	if (matched == 0)
		fl_scenario_no_tag_match(refs, n, c->tags ? c->tags : "", err, errlen);
	return matched;
}

/* The report directory exists from the start: scenarios keep artifacts
 * there (cores taken before an OOM). Until the results are written into
 * it, the guardian removes it if faultline dies and it is still empty.
 * artifacts: its path (PATH_MAX); artifacts_abs: its absolute path, ""
 * when the guardian does not watch it. */
static void open_artifacts(struct run_cli *c, const char *id, char *artifacts,
			   char *artifacts_abs)
{
	artifacts_abs[0] = '\0';
	if (c->no_report)
		return;
	snprintf(artifacts, PATH_MAX, "%s/%s", c->report_dir, id);
	if (fl_mkdirs(artifacts, 0755) == 0) {
		c->opts.artifact_dir = artifacts;
		if (realpath(artifacts, artifacts_abs))
			fl_guardian_watch_empty_dir(artifacts_abs);
		else
			artifacts_abs[0] = '\0';
	}
}

/* The run's closing line: its summary, time, share and report. */
static void print_closing(const struct run_cli *c, json_t *doc, int64_t t0,
			  int matched, int reports, const char *index_path)
{
	fl_buf line;
	fl_buf_init(&line);
	fl_results_summary_line(doc, &line);
	printf("%s (%.1f s", line.data, (double)(fl_now_ns() - t0) / 1e9);
	fl_buf_free(&line);
	if (c->shard_total)
		printf(", share %d of %d", c->shard_index, c->shard_total);
	printf(")");
	if (index_path[0] && reports != FL_REPORTS_NO_RESULTS)
		printf(" - report: %s", index_path);
	printf("\n");
	if (matched == 0)
		fprintf(stderr, "faultline: no scenario matched --tags %s\n",
			c->tags ? c->tags : "");
	fflush(stdout);
}

/* The run's exit status: the verdicts', unless the run itself fell
 * short (no scenario, missing results, reports not written, stdout). */
static int run_status(json_t *doc, int matched, int missing, int reports)
{
	int status = fl_results_exit_status(doc);
	/* An empty share is fine (more shards than scenarios); no scenario
	 * at all is a usage error. */
	if (matched == 0)
		status = FL_EXIT_USAGE;
	if (missing) {
		fprintf(stderr, "faultline: %d scenario%s produced no result: "
				"the results are incomplete\n",
			missing, missing == 1 ? "" : "s");
		status = FL_EXIT_INTERNAL;
	}
	/* Without its results file a run has nothing to show for itself,
	 * whatever its verdicts: a CI step that reads 1 as "results to
	 * merge" must not go on. */
	if (reports == FL_REPORTS_NO_RESULTS) {
		fprintf(stderr, "faultline: the run's results could not be "
				"written (see above)\n");
		status = FL_EXIT_INTERNAL;
	} else if (reports == FL_REPORTS_PARTIAL && status == 0) {
		status = FL_EXIT_INTERNAL;
	}
	if (fflush(stdout) != 0 && status == 0) {
		fprintf(stderr, "faultline: cannot write to standard output\n");
		status = FL_EXIT_INTERNAL;
	}
	return status;
}

int fl_cmd_run(int argc, char **argv)
{
	struct run_cli c;
	memset(&c, 0, sizeof c);
	c.report_dir = "reports";
	c.jobs = 1;
	c.repeat = 1;
	int status = parse_opts(argc, argv, &c);
	if (status >= 0)
		return status;
	status = find_tools(&c);
	if (status >= 0)
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
	if (n == 0) {
		fprintf(stderr, "faultline: no scenario (*.lua) under the given "
				"paths\n");
		return FL_EXIT_USAGE;
	}
	fl_scenario_ref **selected = fl_xcalloc((size_t)n, sizeof *selected);
	int nselected;
	int matched = select_scenarios(&c, refs, n, selected, &nselected, err,
				       sizeof err);
	/* A tag filter that selects nothing is a mistake, not an empty run. */
	if (matched == 0) {
		fprintf(stderr, "faultline run: %s\n", err);
		free(selected);
		fl_scenario_refs_free(refs, n);
		return FL_EXIT_USAGE;
	}

	char tmp_root[PATH_MAX];
	if (fl_runtime_start(tmp_root, sizeof tmp_root) < 0) {
		free(selected);
		fl_scenario_refs_free(refs, n);
		return FL_EXIT_INTERNAL;
	}
	c.opts.tmp_root = tmp_root;
	/* argv[-1] is the program as invoked: re-run lines use it. */
	c.opts.self_path = argv[-1] ? argv[-1] : "faultline";

	int64_t wall0 = fl_wall_ns(), t0 = fl_now_ns();
	char started[64], id[96];
	iso_time(started, sizeof started, wall0);
	fl_run_id(id, sizeof id, wall0);
	char artifacts[PATH_MAX], artifacts_abs[PATH_MAX];
	open_artifacts(&c, id, artifacts, artifacts_abs);

	/* The live lines, a terminal's only: a log or a pipe gets the
	 * result lines alone. */
	int jobs = c.jobs < nselected ? c.jobs : nselected;
	int live = fl_console_live(1, c.quiet, c.opts.verbose) &&
		   fl_progress_start(stdout, jobs) == 0;
	int missing = 0;
	json_t *scenarios = run_all(&c, selected, nselected, &missing);
	/* Gone before anything else is printed, an interruption included. */
	if (live)
		fl_progress_stop();
	int interrupted = fl_monitor_interrupted();

	json_t *run = run_json(&c, argc, argv, id, started, t0, matched,
			       interrupted);
	json_t *doc = fl_results_new(fl_version(), run, scenarios);
	if (!doc)
		fl_out_of_memory();

	char index_path[PATH_MAX + 32];
	int reports = fl_write_reports(doc, c.no_report ? NULL : c.report_dir, id,
				       c.extra, index_path, sizeof index_path);
	if (artifacts_abs[0]) {
		/* Kept when anything was written into it; else it goes. */
		if (reports == FL_REPORTS_NO_RESULTS)
			rmdir(artifacts);
		fl_guardian_forget_empty_dir(artifacts_abs);
	}
	print_closing(&c, doc, t0, matched, reports, index_path);
	status = run_status(doc, matched, missing, reports);
	json_decref(doc);
	free(selected);
	fl_scenario_refs_free(refs, n);
	fl_runtime_stop(tmp_root);
	if (interrupted) {
		fprintf(stderr, "faultline: interrupted by %s\n",
			strsignal(interrupted));
		return 128 + interrupted;
	}
	return status;
}
