/* faultline run: discovers scenarios, runs them (side by side with -j,
 * several times with --repeat, a deterministic share with --shard), prints
 * a line for each, and writes the results and reports. */
#define _GNU_SOURCE
#include "cli.h"
#include "guardian.h"
#include "monitor.h"
#include "report.h"
#include "scenario.h"
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
	"                      verdicts or the fault journals differ\n"
	"  --seed S            seed for every scenario (default: each\n"
	"                      scenario's own seed)\n"
	"  --timeout S         watchdog per scenario, in seconds (default:\n"
	"                      the scenario's timeout, else 60)\n"
	"  --tags T[,T...]     only scenarios carrying one of these tags\n";
/* ... --report-dir and an option per output format (writers.h) ... */
static const char usage_tail[] =
	"  -v, --verbose       show the targets' output and scenario logs\n"
	"  -q, --quiet         print only failures and the closing line\n"
	"  -h, --help          this text\n";

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

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

void fl_print_result(int color, int quiet, json_t *r)
{
	fl_verdict verdict = fl_results_verdict(r);
	const char *v = fl_verdict_name(verdict);
	const char *name = fl_results_str(r, "name");
	const char *msg = fl_results_opt_str(r, "message");
	int bad = !fl_verdict_good(verdict);
	if (quiet && !bad)
		return;
	pthread_mutex_lock(&print_lock);
	double d = fl_results_num(r, "duration_s");
	if (color)
		printf("%s%-6s\033[0m %s  (%.2f s)\n", verdict_color(verdict), v,
		       name, d);
	else
		printf("%-6s %s  (%.2f s)\n", v, name, d);
	if (msg && (bad || verdict == FL_VERDICT_XFAIL)) {
		/* One line per line of the message, indented under it. */
		const char *p = msg;
		int lines = 0;
		while (*p && lines < 6) {
			size_t n = strcspn(p, "\n");
			printf("       %.*s\n", (int)n, p);
			p += n;
			if (*p)
				p++;
			lines++;
		}
	}
	size_t i;
	json_t *w;
	json_array_foreach(fl_results_arr(r, "warnings"), i, w)
		printf("       warning: %s\n", json_string_value(w));
	if (bad) {
		json_t *e;
		json_array_foreach(fl_results_arr(r, "expectations"), i, e)
		{
			if (fl_results_bool(e, "ok"))
				continue;
			const char *where = fl_results_str(e, "where");
			if (*where)
				printf("       at %s\n", where);
			break;
		}
		printf("       re-run: %s\n", fl_results_str(r, "rerun"));
	}
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

static int update_latest(const char *dir, const char *id)
{
	char link[PATH_MAX], tmp[PATH_MAX];
	snprintf(link, sizeof link, "%s/latest", dir);
	snprintf(tmp, sizeof tmp, "%s/.latest.%d", dir, (int)getpid());
	unlink(tmp);
	if (symlink(id, tmp) < 0)
		return -errno;
	if (rename(tmp, link) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

json_t *fl_host_json(void)
{
	struct utsname u;
	char host[256] = "?";
	gethostname(host, sizeof host);
	host[sizeof host - 1] = '\0';
	json_t *o = json_object();
	json_object_set_new(o, "hostname", json_string(host));
	if (uname(&u) == 0) {
		char k[200];
		snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
		json_object_set_new(o, "kernel", json_string(k));
	}
	json_object_set_new(o, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(o, "libfiu", json_string(FL_LIBFIU_VERSION));
	return o;
}

/* Moves each scenario's full journal out of the results into
 * dir/journal-K.json, leaving its file name behind. */
static int write_journals(json_t *doc, const char *dir)
{
	int failed = 0;
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
	{
		json_t *data = json_object_get(s, "journal_file_data");
		if (!data)
			continue;
		if (dir) {
			char name[64], path[PATH_MAX + 64];
			snprintf(name, sizeof name, "journal-%zu.json", i + 1);
			snprintf(path, sizeof path, "%s/%s", dir, name);
			int r = fl_report_json(data, path);
			if (r == 0 && json_object_set_new(fl_results_obj(s, "journal"),
							  "file", json_string(name)))
				r = -ENOMEM;
			if (r < 0) {
				fl_print_write_failure(path, r, NULL);
				failed = 1;
			}
		}
		json_object_del(s, "journal_file_data");
	}
	return failed ? -1 : 0;
}

void fl_print_write_failure(const char *path, int err, void *arg)
{
	(void)arg;
	fprintf(stderr, "faultline: cannot write %s: %s\n", path, strerror(-err));
}

int fl_write_reports(json_t *doc, const char *report_dir, const char *id,
		     const char *const extra[FL_WRITER_COUNT], char *index_path,
		     size_t index_len)
{
	int failed = 0;
	index_path[0] = '\0';
	fl_outputs out;
	memset(&out, 0, sizeof out);
	char dir[PATH_MAX];
	if (report_dir) {
		snprintf(dir, sizeof dir, "%s/%s", report_dir, id);
		int r = fl_mkdirs(dir, 0755);
		if (r < 0) {
			fl_print_write_failure(dir, r, NULL);
			return -1;
		}
		out.dir = dir;
	}
	if (write_journals(doc, out.dir) < 0)
		failed = 1;
	for (int w = 0; extra && w < FL_WRITER_COUNT; w++)
		out.extra[w] = extra[w];
	if (fl_writers_write(doc, &out, fl_print_write_failure, NULL) < 0)
		failed = 1;
	if (report_dir) {
		snprintf(index_path, index_len, "%s/%s", dir,
			 fl_writers[FL_WRITER_HTML].file);
		if (update_latest(report_dir, id) < 0)
			fprintf(stderr, "faultline: cannot update %s/latest\n",
				report_dir);
	}
	return failed ? -1 : 0;
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

/* Runs a scenario repeat times; one result, whose verdict is the repeat
 * rule's (fl_verdict_repeat: FLAKY when the runs disagree). */
static json_t *run_repeated(const fl_scenario_ref *ref, const fl_run_opts *opts,
			    int repeat)
{
	json_t *first = fl_scenario_run(ref, opts);
	if (repeat <= 1)
		return first;
	fl_verdict *verdicts = fl_xcalloc((size_t)repeat, sizeof *verdicts);
	json_t *names = json_array(), *digests = json_array();
	json_t *durations = json_array();
	int runs = 0, bad = !names || !digests || !durations;
	for (json_t *r = first; r;) {
		const char *d = fl_results_opt_str(fl_results_obj(r, "journal"), "digest");
		verdicts[runs] = fl_results_verdict(r);
		bad |= json_array_append_new(names,
					     json_string(fl_verdict_name(verdicts[runs])));
		bad |= json_array_append_new(digests, json_string(d ? d : ""));
		double secs = fl_results_num(r, "duration_s");
		bad |= json_array_append_new(durations, json_real(isnan(secs) ? 0 : secs));
		if (r != first)
			json_decref(r);
		runs++;
		r = runs < repeat && !fl_monitor_interrupted() ? fl_scenario_run(ref, opts)
							      : NULL;
	}
	const char **digest_of = fl_xcalloc((size_t)runs, sizeof *digest_of);
	for (int k = 0; k < runs; k++)
		digest_of[k] = json_string_value(json_array_get(digests, k));
	char message[512];
	fl_verdict v = fl_verdict_repeat(verdicts, digest_of, (size_t)runs, message,
					 sizeof message);
	json_t *rep = json_pack("{s:i,s:o,s:o,s:o}", "runs", runs, "verdicts",
				names, "digests", digests, "durations_s",
				durations);
	bad |= json_object_set_new(first, "repeat", rep);
	if (v != fl_results_verdict(first)) {
		bad |= json_object_set_new(first, "verdict",
					   json_string(fl_verdict_name(v)));
		bad |= json_object_set_new(first, "message", json_string(message));
	}
	if (bad)
		fl_out_of_memory();
	free(digest_of);
	free(verdicts);
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
		json_t *r = run_repeated(p->selected[i], &p->c->opts, p->c->repeat);
		fl_print_result(p->c->color, p->c->quiet, r);
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
	while ((ch = getopt_long(argc, argv, "j:vqh", longopts, NULL)) != -1) {
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
			usage(stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "faultline run: no scenario given\n\n");
		usage(stderr);
		return FL_EXIT_USAGE;
	}
	return -1;
}

/* Runs the selected scenarios, -j of them side by side; their results in
 * the order of the suite, whatever finished first. */
static json_t *run_all(struct run_cli *c, fl_scenario_ref **selected,
		       int nselected)
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
		if (pool.results[i]) {
			if (json_array_append_new(scenarios, pool.results[i]))
				fl_out_of_memory();
		}
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
	json_t *run = json_pack(
		"{s:s,s:s,s:f,s:s,s:o,s:i,s:i,s:o,s:o,s:o}", "id", id, "started",
		started, "duration_s", (double)(fl_now_ns() - t0) / 1e9, "command",
		cmdline.data, "seed",
		c->opts.have_seed ? json_integer((json_int_t)c->opts.seed) : json_null(),
		"jobs", c->jobs, "repeat", c->repeat, "shard",
		c->shard_total ? json_pack("{s:i,s:i,s:i}", "index", c->shard_index,
					  "total", c->shard_total, "of", matched)
			      : json_null(),
		"interrupted",
		interrupted ? json_string(strsignal(interrupted)) : json_null(),
		"host", fl_host_json());
	fl_buf_free(&cmdline);
	return run;
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
	c.color = isatty(1) && !getenv("NO_COLOR");

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
	/* Tags first, then the share: every shard sees the same list. */
	fl_scenario_ref **selected = fl_xcalloc((size_t)n, sizeof *selected);
	int nselected = 0, matched = 0;
	for (int i = 0; i < n; i++) {
		if (c.tags && !fl_scenario_has_tag(&refs[i], c.tags))
			continue;
		if (!c.shard_total || matched % c.shard_total == c.shard_index - 1)
			selected[nselected++] = &refs[i];
		matched++;
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
	/* The report directory exists from the start: scenarios keep
	 * artifacts there (cores taken before an OOM). */
	char artifacts[PATH_MAX];
	if (!c.no_report) {
		snprintf(artifacts, sizeof artifacts, "%s/%s", c.report_dir, id);
		if (fl_mkdirs(artifacts, 0755) == 0)
			c.opts.artifact_dir = artifacts;
	}

	json_t *scenarios = run_all(&c, selected, nselected);
	int interrupted = fl_monitor_interrupted();

	json_t *run = run_json(&c, argc, argv, id, started, t0, matched,
			       interrupted);
	json_t *doc = fl_results_new(fl_version(), run, scenarios);
	if (!doc)
		fl_out_of_memory();

	char index_path[PATH_MAX + 32];
	int report_failed =
		fl_write_reports(doc, c.no_report ? NULL : c.report_dir, id, c.extra,
				 index_path, sizeof index_path) < 0;

	fl_buf line;
	fl_buf_init(&line);
	fl_results_summary_line(doc, &line);
	printf("%s (%.1f s", line.data, (double)(fl_now_ns() - t0) / 1e9);
	fl_buf_free(&line);
	if (c.shard_total)
		printf(", share %d of %d", c.shard_index, c.shard_total);
	printf(")");
	if (index_path[0])
		printf(" - report: %s", index_path);
	printf("\n");
	if (matched == 0)
		fprintf(stderr, "faultline: no scenario matched --tags %s\n",
			c.tags ? c.tags : "");
	fflush(stdout);

	status = fl_results_exit_status(doc);
	/* An empty share is fine (more shards than scenarios); no scenario
	 * at all is a usage error. */
	if (matched == 0)
		status = FL_EXIT_USAGE;
	if (report_failed && status == 0)
		status = FL_EXIT_INTERNAL;
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
