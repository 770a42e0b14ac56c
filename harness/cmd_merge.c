/* faultline merge: one report from the results files of CI shards; and
 * faultline report: the JUnit XML and HTML of a results file, made again
 * (after an upgrade, or from a results file copied off a CI machine). */
#define _GNU_SOURCE
#include "cli.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char merge_usage[] =
	"usage: faultline merge [options] RESULTS... -o DIR\n"
	"\n"
	"Merges the results files of CI shards (each shard ran\n"
	"'faultline run --shard I/N') into one run: DIR/results.json,\n"
	"DIR/junit.xml and DIR/index.html. RESULTS are results.json files, or\n"
	"report directories holding one.\n"
	"\n"
	"The scenarios are concatenated in shard order, the summary is counted\n"
	"again and run.merged_from lists the shards. A scenario id may appear\n"
	"in two inputs only with identical results (the same file given twice);\n"
	"otherwise the merge is refused, since one of the two would be lost.\n"
	"\n"
	"options:\n"
	"  -o, --output DIR       where to write the merged report (required)\n"
	"  --openmetrics FILE     also write the merged results as OpenMetrics\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 written; 1 written, but shards are missing (fewer\n"
	"distinct shards than their N); 2 bad usage, an unreadable input or\n"
	"conflicting scenarios; 3 the report could not be written.\n";

static const char report_usage[] =
	"usage: faultline report [options] RESULTS [-o DIR]\n"
	"\n"
	"Writes DIR/junit.xml and DIR/index.html again from a results file\n"
	"(and DIR/results.json, when DIR is not where it came from). DIR\n"
	"defaults to the directory of RESULTS. RESULTS may be a report\n"
	"directory.\n"
	"\n"
	"options:\n"
	"  -o, --output DIR       where to write (default: beside RESULTS)\n"
	"  --openmetrics FILE     also write the results as OpenMetrics\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 written; 2 bad usage or an unreadable input; 3 the\n"
	"report could not be written.\n";

static int write_one(const char *dir, const char *name, json_t *doc,
		     int (*writer)(json_t *, const char *))
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int r = writer(doc, path);
	if (r < 0)
		fprintf(stderr, "faultline: %s: %s\n", path, strerror(-r));
	return r;
}

static void print_summary(json_t *doc, const char *what, const char *dir)
{
	long long total = fl_results_int(fl_results_obj(doc, "summary"), "total");
	fl_buf line;
	fl_buf_init(&line);
	fl_results_summary_line(doc, &line);
	printf("%s: %lld scenario%s: %s - report: %s/index.html\n", what, total,
	       total == 1 ? "" : "s", line.data, dir);
	fl_buf_free(&line);
}

/* Seconds since the epoch of an ISO 8601 UTC time as run.started writes
 * it; -1 if it does not parse. */
static double iso_seconds(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!s)
		return -1;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	return (double)timegm(&tm);
}

/* Copies the fault journal a scenario names (journal.file, a file beside
 * its results file) into dir as `name`, and points the scenario at the
 * copy. Only a plain file name is followed: a results file cannot make
 * this read anything outside its own directory. A journal that cannot be
 * copied is unlinked from the scenario, with a note. */
static void carry_journal(json_t *sc, const char *results_path, const char *dir,
			  const char *name)
{
	json_t *j = fl_results_obj(sc, "journal");
	const char *file = fl_results_opt_str(j, "file");
	if (!file)
		return;
	json_t *copy = json_deep_copy(j);
	json_object_set_new(sc, "journal", copy);
	file = fl_results_opt_str(copy, "file");
	char src[PATH_MAX * 2], dst[PATH_MAX + 64], here[PATH_MAX];
	snprintf(here, sizeof here, "%s", results_path);
	snprintf(src, sizeof src, "%s/%s", dirname(here), file);
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	char *data = NULL;
	size_t len = 0;
	int r = -EINVAL;
	if (!strchr(file, '/') && file[0] != '.' &&
	    (r = fl_read_file(src, &data, &len)) == 0)
		r = strcmp(src, dst) ? fl_write_file_atomic(dst, data, len) : 0;
	free(data);
	if (r < 0) {
		fprintf(stderr, "faultline: note: journal %s of %s not copied: %s\n",
			file, fl_results_id(sc),
			strerror(-r));
		json_object_del(copy, "file");
		return;
	}
	json_object_set_new(copy, "file", json_string(name));
}

struct input {
	char path[PATH_MAX];
	json_t *doc;
	long long shard_index, shard_total;	/* -1 when not a shard */
	int order;
};

static int input_cmp(const void *a, const void *b)
{
	const struct input *x = a, *y = b;
	if (x->shard_index != y->shard_index)
		return x->shard_index < y->shard_index ? -1 : 1;
	return x->order - y->order;
}

int fl_cmd_merge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"openmetrics", required_argument, NULL, 'M'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *metrics = NULL;
	int quiet = 0, ch;
	/* The command line as typed, for run.command: getopt_long reorders
	 * argv. */
	fl_buf cmd;
	fl_buf_init(&cmd);
	fl_buf_puts(&cmd, argv[-1] ? argv[-1] : "faultline");
	for (int i = 0; i < argc; i++)
		fl_buf_printf(&cmd, " %s", argv[i]);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			dir = optarg;
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fl_buf_free(&cmd);
			fputs(merge_usage, stdout);
			return FL_EXIT_OK;
		default:
			fl_buf_free(&cmd);
			fputs(merge_usage, stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (!dir) {
		fl_buf_free(&cmd);
		fprintf(stderr, "faultline merge: say where the merged report "
				"goes with -o DIR\n\n%s",
			merge_usage);
		return FL_EXIT_USAGE;
	}
	int n = argc - optind;
	if (n < 1) {
		fl_buf_free(&cmd);
		fprintf(stderr, "faultline merge: no results file given\n\n%s",
			merge_usage);
		return FL_EXIT_USAGE;
	}
	struct input *in = fl_xcalloc((size_t)n, sizeof *in);
	int status = FL_EXIT_OK;
	/* Every object below is released at `out`; those handed to the
	 * merged document are handed with a reference of their own. */
	json_t *merged = NULL, *index = json_object(), *scenarios = json_array(),
	       *from = json_array(), *sources = json_array();
	for (int i = 0; i < n; i++) {
		char err[PATH_MAX + 256];
		fl_results_path(argv[optind + i], in[i].path, sizeof in[i].path);
		if (fl_results_load(in[i].path, &in[i].doc, err, sizeof err) < 0) {
			fprintf(stderr, "faultline merge: %s\n", err);
			status = FL_EXIT_USAGE;
			goto out;
		}
		in[i].order = i;
		json_t *sh = fl_results_obj(fl_results_obj(in[i].doc, "run"), "shard");
		in[i].shard_index = sh ? fl_results_int(sh, "index") : -1;
		in[i].shard_total = sh ? fl_results_int(sh, "total") : -1;
	}
	qsort(in, (size_t)n, sizeof *in, input_cmp);

	/* Shards of one suite say the same N; anything else is a mix-up of
	 * artifacts from different pipelines. */
	long long total = -1;
	for (int i = 0; i < n; i++) {
		if (in[i].shard_total < 0)
			continue;
		if (total >= 0 && in[i].shard_total != total) {
			fprintf(stderr, "faultline merge: %s is shard %lld/%lld but "
					"another input is one of %lld shards: "
					"results of different splits\n",
				in[i].path, in[i].shard_index, in[i].shard_total, total);
			status = FL_EXIT_USAGE;
			goto out;
		}
		total = in[i].shard_total;
	}

	merged = json_object();
	const char *version = fl_results_opt_str(in[0].doc, "faultline_version");
	double first_start = -1, last_end = -1;
	const char *first_started = NULL;
	json_t *seed = NULL, *interrupted = json_null();
	int same_seed = 1, duplicates = 0;
	long long shards_seen = 0;
	for (int i = 0; i < n; i++) {
		json_t *doc = in[i].doc, *run = fl_results_obj(doc, "run");
		const char *v = fl_results_opt_str(doc, "faultline_version");
		if (!quiet && version && v && strcmp(v, version))
			fprintf(stderr, "faultline merge: note: %s was written by "
					"faultline %s, %s by %s\n",
				in[0].path, version, in[i].path, v);
		const char *started = fl_results_opt_str(run, "started");
		double st = iso_seconds(started);
		double dur = fl_results_num(run, "duration_s");
		if (isnan(dur))
			dur = 0;
		if (st >= 0 && (first_start < 0 || st < first_start)) {
			first_start = st;
			first_started = started;
		}
		if (st >= 0 && st + dur > last_end)
			last_end = st + dur;
		json_t *s = json_object_get(run, "seed");
		if (!seed)
			seed = s;
		else if (!json_equal(seed, s))
			same_seed = 0;
		if (fl_results_opt_str(run, "interrupted") &&
		    json_is_null(interrupted))
			interrupted = json_object_get(run, "interrupted");
		if (in[i].shard_index >= 0 &&
		    (i == 0 || in[i - 1].shard_index != in[i].shard_index))
			shards_seen++;

		size_t k;
		json_t *sc;
		size_t added = 0;
		fl_results_foreach(doc, k, sc)
		{
			const char *id = fl_results_opt_str(sc, "id");
			if (!id) {
				fprintf(stderr, "faultline merge: %s: scenario %zu "
						"has no id\n",
					in[i].path, k);
				status = FL_EXIT_USAGE;
				goto out;
			}
			json_t *seen = json_object_get(index, id);
			if (seen) {
				size_t at = (size_t)json_integer_value(
					json_array_get(seen, 0));
				int src = (int)json_integer_value(json_array_get(seen, 1));
				if (json_equal(json_array_get(scenarios, at), sc)) {
					duplicates++;
					continue;
				}
				fprintf(stderr, "faultline merge: scenario %s is in "
						"both %s and %s, with different "
						"results; merge the shards of one "
						"run only\n",
					id, in[src].path, in[i].path);
				status = FL_EXIT_USAGE;
				goto out;
			}
			json_object_set_new(index, id,
					    json_pack("[I,i]",
						      (json_int_t)json_array_size(scenarios),
						      i));
			json_array_append(scenarios, sc);
			json_array_append_new(sources, json_integer(i));
			added++;
		}
		json_t *f = json_object();
		json_object_set_new(f, "file", json_string(in[i].path));
		json_object_set(f, "id", json_object_get(run, "id"));
		json_object_set(f, "started", json_object_get(run, "started"));
		json_object_set(f, "duration_s", json_object_get(run, "duration_s"));
		json_object_set(f, "faultline_version",
				json_object_get(doc, "faultline_version"));
		json_object_set(f, "command", json_object_get(run, "command"));
		if (json_object_get(run, "shard"))
			json_object_set(f, "shard", json_object_get(run, "shard"));
		json_object_set(f, "host", json_object_get(run, "host"));
		json_object_set_new(f, "scenarios", json_integer((json_int_t)added));
		json_object_set_new(f, "exit_status",
				    json_integer(fl_results_exit_status(doc)));
		json_array_append_new(from, f);
	}

	/* The merged run: when it began and how long the slowest shard took,
	 * the merge command, and where it came from. */
	char id[96], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, sizeof id, "%s-%d", stamp, (int)getpid());
	json_t *run = json_object();
	json_object_set_new(run, "id", json_string(id));
	if (!first_started)
		first_started = fl_results_opt_str(fl_results_obj(in[0].doc, "run"),
						   "started");
	json_object_set_new(run, "started",
			    first_started ? json_string(first_started) : json_null());
	double wall = first_start >= 0 ? last_end - first_start : 0;
	json_object_set_new(run, "duration_s", json_real(wall));
	json_object_set_new(run, "command", json_string(cmd.data));
	json_object_set(run, "seed", same_seed && seed ? seed : json_null());
	json_object_set(run, "interrupted", interrupted);
	json_object_set(run, "host",
			json_object_get(fl_results_obj(in[0].doc, "run"), "host"));
	json_object_set(run, "merged_from", from);
	json_object_set_new(merged, "schema", json_string(FL_RESULTS_SCHEMA));
	json_object_set_new(merged, "schema_version",
			    json_integer(FL_RESULTS_SCHEMA_VERSION));
	json_object_set_new(merged, "faultline_version",
			    json_string(version ? version : fl_version()));
	json_object_set_new(merged, "run", run);
	json_object_set(merged, "scenarios", scenarios);
	fl_results_summarize(merged);

	int r = fl_mkdirs(dir, 0755);
	if (r < 0) {
		fprintf(stderr, "faultline merge: cannot create %s: %s\n", dir,
			strerror(-r));
		status = FL_EXIT_INTERNAL;
		goto out;
	}
	/* Journals follow their scenarios, renamed after their new place. */
	for (size_t k = 0; k < json_array_size(scenarios); k++) {
		char name[64];
		snprintf(name, sizeof name, "journal-%zu.json", k + 1);
		int src = (int)json_integer_value(json_array_get(sources, k));
		carry_journal(json_array_get(scenarios, k), in[src].path, dir, name);
	}
	if (write_one(dir, "results.json", merged, fl_report_json) < 0 ||
	    write_one(dir, "junit.xml", merged, fl_report_junit) < 0 ||
	    write_one(dir, "index.html", merged, fl_report_html) < 0) {
		status = FL_EXIT_INTERNAL;
		goto out;
	}
	if (metrics && (r = fl_report_openmetrics(merged, metrics)) < 0) {
		fprintf(stderr, "faultline merge: %s: %s\n", metrics, strerror(-r));
		status = FL_EXIT_INTERNAL;
		goto out;
	}
	if (!quiet) {
		char what[128];
		snprintf(what, sizeof what, "merged %d results file%s", n,
			 n == 1 ? "" : "s");
		print_summary(merged, what, dir);
		if (duplicates)
			printf("%d scenario%s given twice with identical results, "
			       "kept once\n",
			       duplicates, duplicates == 1 ? "" : "s");
	}
	if (total > 0 && shards_seen < total) {
		fprintf(stderr, "faultline merge: only %lld of %lld shards: the "
				"merged report is incomplete\n",
			shards_seen, total);
		status = FL_EXIT_FAILED;
	}
out:
	fl_buf_free(&cmd);
	for (int i = 0; i < n; i++)
		json_decref(in[i].doc);
	free(in);
	json_decref(sources);
	json_decref(scenarios);
	json_decref(from);
	json_decref(index);
	json_decref(merged);
	return status;
}

int fl_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"openmetrics", required_argument, NULL, 'M'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *metrics = NULL;
	int quiet = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			dir = optarg;
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return FL_EXIT_OK;
		default:
			fputs(report_usage, stderr);
			return FL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "faultline report: give exactly one results "
				"file\n\n%s",
			report_usage);
		return FL_EXIT_USAGE;
	}
	char path[PATH_MAX], err[PATH_MAX + 256];
	fl_results_path(argv[optind], path, sizeof path);
	json_t *doc;
	if (fl_results_load(path, &doc, err, sizeof err) < 0) {
		fprintf(stderr, "faultline report: %s\n", err);
		return FL_EXIT_USAGE;
	}
	char here[PATH_MAX];
	snprintf(here, sizeof here, "%s", path);
	if (!dir)
		dir = dirname(here);
	int status = FL_EXIT_OK;
	int r = fl_mkdirs(dir, 0755);
	if (r < 0) {
		fprintf(stderr, "faultline report: cannot create %s: %s\n", dir,
			strerror(-r));
		json_decref(doc);
		return FL_EXIT_INTERNAL;
	}
	/* A report directory holds its results file; write it unless it is
	 * the very file just read. */
	char copy[PATH_MAX + 32];
	snprintf(copy, sizeof copy, "%s/results.json", dir);
	struct stat a, b;
	int same = stat(path, &a) == 0 && stat(copy, &b) == 0 &&
		   a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	if (!same) {
		size_t k;
		json_t *sc;
		fl_results_foreach(doc, k, sc)
		{
			const char *file =
				fl_results_opt_str(fl_results_obj(sc, "journal"), "file");
			if (file) {
				char name[PATH_MAX];
				snprintf(name, sizeof name, "%s", file);
				carry_journal(sc, path, dir, name);
			}
		}
	}
	if ((!same && write_one(dir, "results.json", doc, fl_report_json) < 0) ||
	    write_one(dir, "junit.xml", doc, fl_report_junit) < 0 ||
	    write_one(dir, "index.html", doc, fl_report_html) < 0)
		status = FL_EXIT_INTERNAL;
	if (status == FL_EXIT_OK && metrics &&
	    (r = fl_report_openmetrics(doc, metrics)) < 0) {
		fprintf(stderr, "faultline report: %s: %s\n", metrics, strerror(-r));
		status = FL_EXIT_INTERNAL;
	}
	if (status == FL_EXIT_OK && !quiet)
		print_summary(doc, "report", dir);
	json_decref(doc);
	return status;
}
