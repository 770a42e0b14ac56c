/* faultline run: discovers scenarios, runs them, prints a line for each,
 * and writes the results and reports. */
#define _GNU_SOURCE
#include "cli.h"
#include "guardian.h"
#include "monitor.h"
#include "report.h"
#include "scenario.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
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

static const char run_usage[] =
	"usage: faultline run [options] PATH...\n"
	"\n"
	"Runs the scenarios in the given Lua files and directories (searched\n"
	"recursively for *.lua; FILE#N picks the N-th scenario of a file that\n"
	"returns a list).\n"
	"\n"
	"options:\n"
	"  --seed S            seed for every scenario (default: each\n"
	"                      scenario's own seed)\n"
	"  --timeout S         watchdog per scenario, in seconds (default:\n"
	"                      the scenario's timeout, else 60)\n"
	"  --tags T[,T...]     only scenarios carrying one of these tags\n"
	"  --report-dir DIR    where reports go (default: reports); each run\n"
	"                      writes DIR/<run id>/{results.json,junit.xml,\n"
	"                      index.html} and points DIR/latest at it\n"
	"  --no-report         write no report directory\n"
	"  --json FILE         also write the results to FILE\n"
	"  --junit FILE        also write JUnit XML to FILE\n"
	"  --html FILE         also write the HTML report to FILE\n"
	"  -v, --verbose       show the targets' output and scenario logs\n"
	"  -q, --quiet         print only failures and the closing line\n"
	"  -h, --help          this text\n";

struct run_cli {
	fl_run_opts opts;
	const char *tags;
	const char *report_dir;
	int no_report;
	const char *json_file;
	const char *junit_file;
	const char *html_file;
	int quiet;
	int color;
};

static void iso_time(char *out, size_t len, int64_t wall_ns)
{
	time_t t = (time_t)(wall_ns / FL_NS_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *verdict_color(const char *v)
{
	if (!strcmp(v, "PASS"))
		return "\033[32m";
	if (!strcmp(v, "XFAIL"))
		return "\033[36m";
	if (!strcmp(v, "FAIL") || !strcmp(v, "XPASS") || !strcmp(v, "FLAKY"))
		return "\033[31m";
	return "\033[35m";
}

static void print_result(const struct run_cli *c, json_t *r)
{
	const char *v = json_string_value(json_object_get(r, "verdict"));
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *msg = json_string_value(json_object_get(r, "message"));
	int bad = strcmp(v, "PASS") && strcmp(v, "XFAIL");
	if (c->quiet && !bad)
		return;
	double d = json_number_value(json_object_get(r, "duration_s"));
	if (c->color)
		printf("%s%-6s\033[0m %s  (%.2f s)\n", verdict_color(v), v,
		       name, d);
	else
		printf("%-6s %s  (%.2f s)\n", v, name, d);
	if (msg && (bad || !strcmp(v, "XFAIL"))) {
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
	if (bad) {
		json_t *e;
		size_t i;
		json_array_foreach(json_object_get(r, "expectations"), i, e)
		{
			if (json_is_true(json_object_get(e, "ok")))
				continue;
			const char *where = json_string_value(json_object_get(e, "where"));
			if (where && *where)
				printf("       at %s\n", where);
			break;
		}
		printf("       re-run: %s\n",
		       json_string_value(json_object_get(r, "rerun")));
	}
	fflush(stdout);
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

static json_t *host_json(void)
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

static int write_reports(const struct run_cli *c, json_t *doc, const char *id,
			 char *index_path, size_t index_len)
{
	int failed = 0;
	index_path[0] = '\0';
	if (!c->no_report) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s/%s", c->report_dir, id);
		int r = fl_mkdirs(dir, 0755);
		if (r < 0) {
			fprintf(stderr, "faultline: cannot create %s: %s\n", dir,
				strerror(-r));
			return -1;
		}
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/results.json", dir);
		if ((r = fl_report_json(doc, path)) < 0) {
			fprintf(stderr, "faultline: %s: %s\n", path, strerror(-r));
			failed = 1;
		}
		snprintf(path, sizeof path, "%s/junit.xml", dir);
		if ((r = fl_report_junit(doc, path)) < 0) {
			fprintf(stderr, "faultline: %s: %s\n", path, strerror(-r));
			failed = 1;
		}
		snprintf(path, sizeof path, "%s/index.html", dir);
		if ((r = fl_report_html(doc, path)) < 0) {
			fprintf(stderr, "faultline: %s: %s\n", path, strerror(-r));
			failed = 1;
		}
		snprintf(index_path, index_len, "%s", path);
		if (update_latest(c->report_dir, id) < 0)
			fprintf(stderr, "faultline: cannot update %s/latest\n",
				c->report_dir);
	}
	int r;
	if (c->json_file && (r = fl_report_json(doc, c->json_file)) < 0) {
		fprintf(stderr, "faultline: %s: %s\n", c->json_file, strerror(-r));
		failed = 1;
	}
	if (c->junit_file && (r = fl_report_junit(doc, c->junit_file)) < 0) {
		fprintf(stderr, "faultline: %s: %s\n", c->junit_file, strerror(-r));
		failed = 1;
	}
	if (c->html_file && (r = fl_report_html(doc, c->html_file)) < 0) {
		fprintf(stderr, "faultline: %s: %s\n", c->html_file, strerror(-r));
		failed = 1;
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

int fl_cmd_run(int argc, char **argv)
{
	struct run_cli c;
	memset(&c, 0, sizeof c);
	c.report_dir = "reports";
	static const struct option longopts[] = {
		{"seed", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 'T'},
		{"tags", required_argument, NULL, 't'},
		{"report-dir", required_argument, NULL, 'R'},
		{"no-report", no_argument, NULL, 'N'},
		{"json", required_argument, NULL, 'J'},
		{"junit", required_argument, NULL, 'U'},
		{"html", required_argument, NULL, 'H'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		switch (ch) {
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
			c.opts.have_seed = 1;
			c.opts.seed = s;
			break;
		}
		case 'T':
			if (parse_seconds(optarg, &c.opts.timeout_s) < 0) {
				fprintf(stderr, "faultline run: --timeout needs "
						"a positive number of seconds\n");
				return FL_EXIT_USAGE;
			}
			break;
		case 't':
			c.tags = optarg;
			break;
		case 'R':
			c.report_dir = optarg;
			break;
		case 'N':
			c.no_report = 1;
			break;
		case 'J':
			c.json_file = optarg;
			break;
		case 'U':
			c.junit_file = optarg;
			break;
		case 'H':
			c.html_file = optarg;
			break;
		case 'v':
			c.opts.verbose = 1;
			break;
		case 'q':
			c.quiet = 1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return FL_EXIT_OK;
		default:
			fputs(run_usage, stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "faultline run: no scenario given\n\n%s", run_usage);
		return FL_EXIT_USAGE;
	}
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

	/* The guardian first (it must be forked before any thread), then
	 * the monitor thread. */
	if (fl_guardian_start() < 0 || fl_monitor_start() < 0) {
		fprintf(stderr, "faultline: cannot start: %s\n", strerror(errno));
		fl_scenario_refs_free(refs, n);
		return FL_EXIT_INTERNAL;
	}
	const char *tmpbase = getenv("TMPDIR");
	char tmp_root[PATH_MAX];
	snprintf(tmp_root, sizeof tmp_root, "%s/faultline.XXXXXX",
		 tmpbase && *tmpbase ? tmpbase : "/tmp");
	if (!mkdtemp(tmp_root)) {
		fprintf(stderr, "faultline: cannot create a temporary "
				"directory in %s: %s\n",
			tmpbase && *tmpbase ? tmpbase : "/tmp", strerror(errno));
		fl_scenario_refs_free(refs, n);
		return FL_EXIT_INTERNAL;
	}
	fl_guardian_watch_dir(tmp_root);
	c.opts.tmp_root = tmp_root;
	c.opts.self_path = argv[-1] ? argv[-1] : "faultline";
	/* argv[-1] is the program as invoked: re-run lines use it. */

	int64_t wall0 = fl_wall_ns(), t0 = fl_now_ns();
	char started[64], id[96];
	iso_time(started, sizeof started, wall0);
	{
		time_t t = (time_t)(wall0 / FL_NS_PER_SEC);
		struct tm tm;
		gmtime_r(&t, &tm);
		char stamp[32];
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(id, sizeof id, "%s-%d", stamp, (int)getpid());
	}

	json_t *scenarios = json_array();
	int ran = 0;
	for (int i = 0; i < n; i++) {
		if (c.tags && !fl_scenario_has_tag(&refs[i], c.tags))
			continue;
		if (fl_monitor_interrupted())
			break;
		json_t *r = fl_scenario_run(&refs[i], &c.opts);
		print_result(&c, r);
		json_array_append_new(scenarios, r);
		ran++;
	}
	int interrupted = fl_monitor_interrupted();

	json_t *doc = json_object();
	json_object_set_new(doc, "schema", json_string(FL_RESULTS_SCHEMA));
	json_object_set_new(doc, "schema_version",
			    json_integer(FL_RESULTS_SCHEMA_VERSION));
	json_object_set_new(doc, "faultline_version", json_string(fl_version()));
	json_t *run = json_object();
	json_object_set_new(run, "id", json_string(id));
	json_object_set_new(run, "started", json_string(started));
	json_object_set_new(run, "duration_s",
			    json_real((double)(fl_now_ns() - t0) / 1e9));
	fl_buf cmdline;
	fl_buf_init(&cmdline);
	fl_buf_puts(&cmdline, c.opts.self_path);
	for (int i = 0; i < argc; i++)
		fl_buf_printf(&cmdline, " %s", argv[i]);
	json_object_set_new(run, "command", json_string(cmdline.data));
	fl_buf_free(&cmdline);
	json_object_set_new(run, "seed", c.opts.have_seed
						 ? json_integer((json_int_t)c.opts.seed)
						 : json_null());
	json_object_set_new(run, "interrupted",
			    interrupted ? json_string(strsignal(interrupted))
					: json_null());
	json_object_set_new(run, "host", host_json());
	json_object_set_new(doc, "run", run);
	json_object_set_new(doc, "scenarios", scenarios);
	fl_results_summarize(doc);

	char index_path[PATH_MAX + 32];
	int report_failed = write_reports(&c, doc, id, index_path,
					  sizeof index_path) < 0;

	json_t *sum = json_object_get(doc, "summary");
	long long passed = json_integer_value(json_object_get(sum, "passed"));
	long long failed = json_integer_value(json_object_get(sum, "failed"));
	long long errors = json_integer_value(json_object_get(sum, "errors"));
	long long xfailed = json_integer_value(json_object_get(sum, "xfailed"));
	long long xpassed = json_integer_value(json_object_get(sum, "xpassed"));
	printf("%lld passed, %lld failed", passed, failed);
	if (xfailed)
		printf(", %lld xfailed", xfailed);
	if (xpassed)
		printf(", %lld xpassed", xpassed);
	if (errors)
		printf(", %lld errors", errors);
	printf(" (%.1f s)", (double)(fl_now_ns() - t0) / 1e9);
	if (index_path[0])
		printf(" - report: %s", index_path);
	printf("\n");
	if (ran == 0)
		fprintf(stderr, "faultline: no scenario matched --tags %s\n",
			c.tags ? c.tags : "");
	fflush(stdout);

	int status = (int)json_integer_value(json_object_get(sum, "exit_status"));
	if (ran == 0)
		status = FL_EXIT_USAGE;
	if (report_failed && status == 0)
		status = FL_EXIT_INTERNAL;
	json_decref(doc);
	fl_scenario_refs_free(refs, n);
	fl_monitor_stop();
	fl_rmtree(tmp_root);
	fl_guardian_forget_dir(tmp_root);
	if (interrupted) {
		fprintf(stderr, "faultline: interrupted by %s\n",
			strsignal(interrupted));
		return 128 + interrupted;
	}
	return status;
}
