/* faultline merge: one report from the results files of CI shards; and
 * faultline report: the JUnit XML and HTML of a results file, made again
 * (after an upgrade, or from a results file copied off a CI machine).
 * Both write through the table of writers: the report directory gets
 * every format that has a file there, and an option asks for each of the
 * others (--openmetrics FILE). Neither holds a document whole: each
 * reads its inputs twice, a scenario at a time, and streams them to
 * every output in one pass. */
#define _GNU_SOURCE
#include "cli.h"
#include "report.h"
#include "sha256.h"
#include "text.h"
#include "sweep.h"
#include "util.h"
#include "writers.h"

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

static const char merge_head[] =
	"usage: faultline merge [options] RESULTS... -o DIR\n"
	"\n"
	"Merges the results files of CI shards (each shard ran\n"
	"'faultline run --shard I/N') into one run: DIR/results.json,\n"
	"DIR/junit.xml and DIR/index.html. RESULTS are results.json files, or\n"
	"report directories holding one.\n"
	"\n"
	"The scenarios are concatenated in shard order, the summary is counted\n"
	"again and run.merged_from lists the shards; the shards of a sweep\n"
	"(sweep --shard I/N) give one map of every site. A scenario id may appear\n"
	"in two inputs only with identical results (the same file given twice);\n"
	"otherwise the merge is refused, since one of the two would be lost.\n"
	"\n"
	"options:\n"
	"  -o, --output DIR       where to write the merged report (required)\n";

static const char merge_tail[] =
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 written; 1 written, but shards are missing (fewer\n"
	"distinct shards than their N); 2 bad usage, an unreadable input or\n"
	"conflicting scenarios; 3 a file could not be written.\n";

static const char report_head[] =
	"usage: faultline report [options] RESULTS [-o DIR]\n"
	"\n"
	"Writes DIR/junit.xml and DIR/index.html again from a results file\n"
	"(and DIR/results.json, when DIR is not where it came from). DIR\n"
	"defaults to the directory of RESULTS. RESULTS may be a report\n"
	"directory.\n"
	"\n"
	"options:\n"
	"  -o, --output DIR       where to write (default: beside RESULTS)\n";

static const char report_tail[] =
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"exit status: 0 written; 2 bad usage or an unreadable input; 3 a file\n"
	"could not be written.\n";

/* The options merge and report share. */
struct opts {
	const char *cmd;	/* "merge" or "report" */
	const char *head, *tail;
	const char *dir;
	const char *extra[FL_WRITER_COUNT];
	int quiet;
};

static void usage(const struct opts *o, FILE *out)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_puts(&b, o->head);
	fl_writers_usage(&b, 1, 25);
	fl_buf_puts(&b, o->tail);
	fputs(b.data, out);
	fl_buf_free(&b);
}

/* -1 to go on, else the exit status. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	enum { WRITER_OPT = 1000 };
	struct option longopts[3 + FL_WRITER_COUNT + 1];
	size_t n = 0;
	longopts[n++] = (struct option){"output", required_argument, NULL, 'o'};
	longopts[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	/* The formats the directory does not hold are asked for one by one. */
	for (int w = 0; w < FL_WRITER_COUNT; w++)
		if (!fl_writers[w].file)
			longopts[n++] = (struct option){fl_writers[w].option,
							required_argument, NULL,
							WRITER_OPT + w};
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	int ch;
	while ((ch = fl_cli_getopt(o->cmd, argc, argv, "o:qh", longopts)) != -1) {
		if (ch == 'o') {
			o->dir = optarg;
		} else if (ch == 'q') {
			o->quiet = 1;
		} else if (ch == 'h') {
			usage(o, stdout);
			return FL_EXIT_OK;
		} else if (ch >= WRITER_OPT && ch < WRITER_OPT + FL_WRITER_COUNT) {
			o->extra[ch - WRITER_OPT] = optarg;
		} else {
			return FL_EXIT_USAGE;
		}
	}
	return -1;
}

static void print_summary(json_t *doc, const char *what, const char *dir)
{
	long long total = fl_results_int(fl_results_obj(doc, "summary"), "total");
	fl_buf line;
	fl_buf_init(&line);
	fl_results_summary_line(doc, &line);
	printf("%s: %lld scenario%s: %s - report: %s/%s\n", what, total,
	       total == 1 ? "" : "s", line.data, dir,
	       fl_writers[FL_WRITER_HTML].file);
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
	/* A copy of the object alone: its records are shared, not copied
	 * (only "file" changes). */
	json_t *copy = json_copy(j);
	if (!copy || json_object_set_new(sc, "journal", copy))
		fl_out_of_memory();
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
			file, fl_results_id(sc), strerror(-r));
		json_object_del(copy, "file");
		return;
	}
	if (json_object_set_new(copy, "file", json_string(name)))
		fl_out_of_memory();
}

/* ------------------------------------------------------------------ */
/* merge                                                               */

/* Merge reads its inputs a scenario at a time and never holds one
 * whole: a first pass checks them and gathers what the merged head needs
 * (the summary, run.merged_from, the sweep map) and what the writers
 * survey; a second reads them again and streams each kept scenario to
 * every output. Memory is the heads, an entry per scenario id and the
 * largest scenario, however large the shards are together. */

struct input {
	char path[PATH_MAX];
	json_t *head;		/* the document without its scenarios */
	long long shard_index, shard_total;	/* -1 when not a shard */
	int order;
	long added;		/* scenarios kept from it */
};

static int input_cmp(const void *a, const void *b)
{
	const struct input *x = a, *y = b;
	if (x->shard_index != y->shard_index)
		return x->shard_index < y->shard_index ? -1 : 1;
	return x->order - y->order;
}

struct merge {
	struct input *in;
	int n, quiet;
	/* id -> [digest, input, position]: the scenario kept for each id,
	 * the SHA-256 of its canonical text (scenario_digest) and where it
	 * is. */
	json_t *index;
	json_t *from;		/* run.merged_from */
	json_t *site_runs;	/* the sweep_site of each kept scenario */
	fl_verdict_counts counts;
	size_t kept;		/* pass one: scenarios kept */
	size_t written;		/* pass two: scenarios written */
	int duplicates;
	long long shards, shards_seen;	/* N of the shards; distinct ones */
	double first_start, last_end;
	const char *first_started;
	json_t *seed, *interrupted;
	int same_seed;
	/* The pass under way: the input read, the outputs. */
	int cur;
	int failed;		/* a message was printed: stop */
	fl_writers_set *ws;
	const char *dir;
	int journals_ok;	/* the directory is there for them */
};

/* Reads the heads of the inputs (their scenarios scanned past), in
 * shard order, and checks they are of one split. */
static int load_inputs(struct merge *m, char **args)
{
	for (int i = 0; i < m->n; i++) {
		struct input *in = &m->in[i];
		char err[PATH_MAX + 256];
		fl_results_path(args[i], in->path, sizeof in->path);
		if (fl_results_stream(in->path, NULL, NULL, &in->head, err,
				      sizeof err) < 0) {
			fprintf(stderr, "faultline merge: %s\n", err);
			return -1;
		}
		in->order = i;
		json_t *sh = fl_results_obj(fl_results_obj(in->head, "run"), "shard");
		in->shard_index = sh ? fl_results_int(sh, "index") : -1;
		in->shard_total = sh ? fl_results_int(sh, "total") : -1;
	}
	qsort(m->in, (size_t)m->n, sizeof *m->in, input_cmp);
	/* Shards of one suite say the same N; anything else is a mix-up of
	 * artifacts from different pipelines. */
	m->shards = -1;
	for (int i = 0; i < m->n; i++) {
		struct input *in = &m->in[i];
		if (in->shard_total < 0)
			continue;
		if (m->shards >= 0 && in->shard_total != m->shards) {
			fprintf(stderr, "faultline merge: %s is shard %lld/%lld but "
					"another input is one of %lld shards: "
					"results of different splits\n",
				in->path, in->shard_index, in->shard_total, m->shards);
			return -1;
		}
		m->shards = in->shard_total;
		if (i == 0 || m->in[i - 1].shard_index != in->shard_index)
			m->shards_seen++;
	}
	return 0;
}

/* The SHA-256 of a scenario's canonical text (compact, keys sorted), in
 * hex. Two scenarios with one id are the same result when their digests
 * are: a collision of SHA-256 is not a thing two shards produce, so the
 * digest stands for the scenario and none has to be kept to compare. The
 * text is Jansson's, whose numbers read back as the same doubles, so
 * equal texts are equal documents (json_equal), and unequal texts are
 * unequal ones but for a real -0.0 beside a 0.0 (refused as different,
 * on the safe side). */
static void scenario_digest(json_t *sc, char hex[65])
{
	char *text = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!text)
		fl_out_of_memory();
	unsigned char d[32];
	fl_sha256(text, strlen(text), d);
	free(text);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Pass one, for each scenario of input m->cur: a scenario seen before
 * must be identical; a new one is counted and surveyed. 0, or 1 after
 * saying why not. */
static int first_pass(json_t *sc, size_t k, void *arg)
{
	struct merge *m = arg;
	struct input *in = &m->in[m->cur];
	const char *id = fl_results_opt_str(sc, "id");
	if (!id) {
		fprintf(stderr, "faultline merge: %s: scenario %zu has no id\n",
			in->path, k);
		return 1;
	}
	char hex[65];
	scenario_digest(sc, hex);
	json_t *seen = json_object_get(m->index, id);
	if (seen) {
		int src = (int)json_integer_value(json_array_get(seen, 1));
		if (!strcmp(json_string_value(json_array_get(seen, 0)), hex)) {
			m->duplicates++;
			return 0;
		}
		fprintf(stderr, "faultline merge: scenario %s is in both %s "
				"and %s, with different results; merge the "
				"shards of one run only\n",
			id, m->in[src].path, in->path);
		return 1;
	}
	if (json_object_set_new(m->index, id,
				json_pack("[s,i,I]", hex, m->cur, (json_int_t)k)))
		fl_out_of_memory();
	fl_verdict_count(&m->counts, fl_results_verdict(sc),
			 fl_results_bool(sc, "load_error"));
	/* What the sweep map takes from a site's run (fl_sweep_map_update). */
	json_t *ss = fl_results_obj(sc, "sweep_site");
	if (ss) {
		json_t *run = json_pack("{s:s,s:{s:O*,s:O*,s:O*}}", "id", id,
					"sweep_site", "outcome",
					json_object_get(ss, "outcome"), "detail",
					json_object_get(ss, "detail"), "confirmed",
					json_object_get(ss, "confirmed"));
		if (!run || json_array_append_new(m->site_runs, run))
			fl_out_of_memory();
	}
	if (fl_writers_survey_wanted(m->ws))
		fl_writers_survey(m->ws, sc);
	m->kept++;
	in->added++;
	return 0;
}

/* Copies from[key] into to when it is there. */
static void copy_field(json_t *to, const char *key, json_t *from)
{
	json_t *v = json_object_get(from, key);
	if (v && json_object_set(to, key, v))
		fl_out_of_memory();
}

/* Input i's entry of run.merged_from, and what the merged run takes from
 * it: the span of time, the seed, an interruption. */
static void note_input(struct merge *m, int i, long added)
{
	json_t *doc = m->in[i].head, *run = fl_results_obj(doc, "run");
	const char *started = fl_results_opt_str(run, "started");
	double st = iso_seconds(started);
	double dur = fl_results_num(run, "duration_s");
	if (isnan(dur))
		dur = 0;
	if (st >= 0 && (m->first_start < 0 || st < m->first_start)) {
		m->first_start = st;
		m->first_started = started;
	}
	if (st >= 0 && st + dur > m->last_end)
		m->last_end = st + dur;
	json_t *s = json_object_get(run, "seed");
	if (!m->seed)
		m->seed = s;
	else if (!json_equal(m->seed, s))
		m->same_seed = 0;
	if (fl_results_opt_str(run, "interrupted") && json_is_null(m->interrupted))
		m->interrupted = json_object_get(run, "interrupted");

	json_t *f = json_object();
	if (!f || json_object_set_new(f, "file", fl_text_json(m->in[i].path)))
		fl_out_of_memory();
	static const char *const from_run[] = {"id", "started", "duration_s"};
	for (size_t k = 0; k < 3; k++)
		copy_field(f, from_run[k], run);
	copy_field(f, "faultline_version", doc);
	copy_field(f, "command", run);
	copy_field(f, "shard", run);
	copy_field(f, "host", run);
	if (json_object_set_new(f, "scenarios", json_integer((json_int_t)added)) ||
	    json_object_set_new(f, "exit_status",
				json_integer(fl_results_exit_status(doc))) ||
	    json_array_append_new(m->from, f))
		fl_out_of_memory();
}

/* The merged run: when it began and how long the slowest shard took, the
 * merge command, and where it came from. */
static json_t *merged_run(struct merge *m, const char *command)
{
	char id[96], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, sizeof id, "%s-%d", stamp, (int)getpid());
	json_t *first_run = fl_results_obj(m->in[0].head, "run");
	const char *started = m->first_started
				      ? m->first_started
				      : fl_results_opt_str(first_run, "started");
	json_t *host = json_object_get(first_run, "host");
	/* The inputs' times are whatever their files say: a span that is
	 * not a finite number is no span. */
	double span = m->first_start >= 0 ? m->last_end - m->first_start : 0.0;
	json_t *run = json_pack(
		"{s:s,s:o,s:o,s:o,s:O,s:O,s:O,s:O}", "id", id, "started",
		started ? json_string(started) : json_null(), "duration_s",
		isfinite(span) ? json_real(span) : json_null(), "command",
		fl_text_json(command), "seed",
		m->same_seed && m->seed ? m->seed : json_null(),
		"interrupted", m->interrupted, "host", host ? host : json_null(),
		"merged_from", m->from);
	if (!run)
		fl_out_of_memory();
	/* The first input's machine; none when it named none. */
	if (!host)
		json_object_del(run, "host");
	return run;
}

/* Pass one over every input: the merged head (the document without its
 * scenarios), or NULL after saying why not. */
static json_t *merge_inputs(struct merge *m, const char *command)
{
	const char *version = fl_results_opt_str(m->in[0].head, "faultline_version");
	for (int i = 0; i < m->n; i++) {
		const char *v = fl_results_opt_str(m->in[i].head, "faultline_version");
		if (!m->quiet && version && v && strcmp(v, version))
			fprintf(stderr, "faultline merge: note: %s was written by "
					"faultline %s, %s by %s\n",
				m->in[0].path, version, m->in[i].path, v);
		char err[PATH_MAX + 256];
		json_t *head;
		m->cur = i;
		int r = fl_results_stream(m->in[i].path, first_pass, m, &head, err,
					  sizeof err);
		if (r == 1)
			return NULL;
		if (r < 0) {
			fprintf(stderr, "faultline merge: %s\n", err);
			return NULL;
		}
		json_decref(head);
		note_input(m, i, m->in[i].added);
	}
	json_t *doc = fl_results_new(version ? version : fl_version(),
				     merged_run(m, command), json_array());
	json_t *sum = fl_results_summary_new(&m->counts);
	if (!doc || !sum || json_object_set_new(doc, "summary", sum))
		fl_out_of_memory();
	/* Shards of a sweep: one map of every site, each with the outcome of
	 * the shard that ran it (sweep.c), counted over the runs of the
	 * sites, which is all of the scenarios the map reads. */
	for (int i = 0; i < m->n; i++)
		if (fl_sweep_merge(doc, m->in[i].head) < 0)
			fl_out_of_memory();
	json_t *sweep = json_object_get(doc, "sweep");
	if (sweep) {
		json_t *runs = json_pack("{s:O,s:O}", "scenarios", m->site_runs,
					 "sweep", sweep);
		if (!runs || fl_sweep_map_update(runs) < 0)
			fl_out_of_memory();
		json_decref(runs);
	}
	return doc;
}

/* Pass two, for each scenario of input m->cur: the kept ones (the entry
 * of their id is this one) go to every output, their journals beside. */
static int second_pass(json_t *sc, size_t k, void *arg)
{
	struct merge *m = arg;
	json_t *at = json_object_get(m->index, fl_results_id(sc));
	if (json_integer_value(json_array_get(at, 1)) != m->cur ||
	    json_integer_value(json_array_get(at, 2)) != (json_int_t)k)
		return 0;
	/* What pass one counted and checked is what is written: a shard
	 * rewritten between the passes (a CI job still uploading) would
	 * give a summary that its scenarios contradict. */
	char hex[65];
	scenario_digest(sc, hex);
	if (strcmp(hex, json_string_value(json_array_get(at, 0)))) {
		fprintf(stderr, "faultline merge: %s changed while it was merged "
				"(scenario %s): nothing written\n",
			m->in[m->cur].path, fl_results_id(sc));
		return 1;
	}
	m->written++;
	/* Journals follow their scenarios, renamed after their new
	 * place. */
	if (m->journals_ok) {
		char name[64];
		snprintf(name, sizeof name, "journal-%zu.json", m->written);
		carry_journal(sc, m->in[m->cur].path, m->dir, name);
	}
	fl_writers_scenario(m->ws, sc);
	return 0;
}

/* Pass two over every input, then the outputs finished: the exit
 * status. */
static int write_merged(struct merge *m, json_t *head)
{
	m->journals_ok = fl_mkdirs(m->dir, 0755) == 0;
	m->written = 0;
	fl_writers_begin(m->ws, head);
	for (int i = 0; i < m->n; i++) {
		char err[PATH_MAX + 256];
		json_t *again;
		m->cur = i;
		int r = fl_results_stream(m->in[i].path, second_pass, m, &again,
					  err, sizeof err);
		json_decref(again);
		if (r < 0)
			fprintf(stderr, "faultline merge: %s\n", err);
		if (r == 0 && i == m->n - 1 && m->written != m->kept) {
			fprintf(stderr, "faultline merge: %zu of %zu scenarios "
					"were there on the second read: the inputs "
					"changed while they were merged; nothing "
					"written\n",
				m->written, m->kept);
			r = 1;
		}
		if (r != 0) {
			/* Changed since the first pass: nothing is named. */
			fl_writers_abort(m->ws);
			m->ws = NULL;
			return FL_EXIT_USAGE;
		}
	}
	int r = fl_writers_end(m->ws, fl_print_write_failure, NULL);
	m->ws = NULL;
	return r < 0 ? FL_EXIT_INTERNAL : FL_EXIT_OK;
}

/* What the outputs are, for these options. */
static void outputs_of(fl_outputs *out, const struct opts *o, int skip_results)
{
	memset(out, 0, sizeof *out);
	out->dir = o->dir;
	out->skip[FL_WRITER_JSON] = skip_results;
	memcpy(out->extra, o->extra, sizeof out->extra);
}

int fl_cmd_merge(int argc, char **argv)
{
	struct opts o = {.cmd = "merge", .head = merge_head, .tail = merge_tail};
	/* The command line as typed, for run.command: getopt_long reorders
	 * argv. */
	fl_buf cmd;
	fl_buf_init(&cmd);
	fl_buf_puts(&cmd, argv[-1] ? argv[-1] : "faultline");
	for (int i = 0; i < argc; i++)
		fl_buf_printf(&cmd, " %s", argv[i]);
	int status = parse_opts(&o, argc, argv);
	if (status >= 0) {
		fl_buf_free(&cmd);
		return status;
	}
	if (!o.dir || argc - optind < 1) {
		fl_buf_free(&cmd);
		return fl_cli_usage_error(
			"merge", "%s",
			!o.dir ? "say where the merged report goes with -o DIR"
			       : "no results file given");
	}
	fl_outputs out;
	outputs_of(&out, &o, 0);
	struct merge m = {.n = argc - optind,
			  .quiet = o.quiet,
			  .index = json_object(),
			  .from = json_array(),
			  .site_runs = json_array(),
			  .first_start = -1,
			  .last_end = -1,
			  .interrupted = json_null(),
			  .same_seed = 1,
			  .dir = o.dir};
	if (!m.index || !m.from || !m.site_runs)
		fl_out_of_memory();
	m.in = fl_xcalloc((size_t)m.n, sizeof *m.in);
	m.ws = fl_writers_new(&out);
	json_t *merged = NULL;
	status = FL_EXIT_USAGE;
	if (load_inputs(&m, argv + optind) == 0)
		merged = merge_inputs(&m, cmd.data);
	if (merged) {
		/* A test hook: FROM:TO renamed between the passes, a shard
		 * replaced while it is merged (tests/e2e_reports.c). */
		const char *swap = getenv("FL_TEST_MERGE_RENAME");
		const char *colon = swap ? strchr(swap, ':') : NULL;
		if (colon) {
			char from[PATH_MAX];
			snprintf(from, sizeof from, "%.*s", (int)(colon - swap), swap);
			if (rename(from, colon + 1) < 0)
				perror("faultline merge: FL_TEST_MERGE_RENAME");
		}
		status = write_merged(&m, merged);
	}
	if (status == FL_EXIT_OK && !o.quiet) {
		char what[128];
		snprintf(what, sizeof what, "merged %d results file%s", m.n,
			 m.n == 1 ? "" : "s");
		print_summary(merged, what, o.dir);
		if (m.duplicates)
			printf("%d scenario%s given twice with identical results, "
			       "kept once\n",
			       m.duplicates, m.duplicates == 1 ? "" : "s");
	}
	if (status == FL_EXIT_OK && m.shards > 0 && m.shards_seen < m.shards) {
		fprintf(stderr, "faultline merge: only %lld of %lld shards: the "
				"merged report is incomplete\n",
			m.shards_seen, m.shards);
		status = FL_EXIT_FAILED;
	}
	fl_writers_abort(m.ws);
	fl_buf_free(&cmd);
	for (int i = 0; i < m.n; i++)
		json_decref(m.in[i].head);
	free(m.in);
	json_decref(m.from);
	json_decref(m.index);
	json_decref(m.site_runs);
	json_decref(merged);
	return status;
}

/* ------------------------------------------------------------------ */
/* report                                                              */

/* Is path the results.json of dir (the same file, by inode)? */
static int is_results_of(const char *path, const char *dir)
{
	char copy[PATH_MAX + 32];
	snprintf(copy, sizeof copy, "%s/%s", dir, fl_writers[FL_WRITER_JSON].file);
	struct stat a, b;
	return stat(path, &a) == 0 && stat(copy, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* What report's passes share. */
struct report {
	const char *path, *dir;
	int carry;		/* journals are copied into dir */
	fl_writers_set *ws;
};

static int report_survey(json_t *sc, size_t k, void *arg)
{
	struct report *rp = arg;
	if (fl_writers_survey_wanted(rp->ws))
		fl_writers_survey(rp->ws, sc);
	return 0;
}

static int report_write(json_t *sc, size_t k, void *arg)
{
	struct report *rp = arg;
	const char *file = fl_results_opt_str(fl_results_obj(sc, "journal"), "file");
	if (file && rp->carry) {
		char name[PATH_MAX];
		snprintf(name, sizeof name, "%s", file);
		carry_journal(sc, rp->path, rp->dir, name);
	}
	fl_writers_scenario(rp->ws, sc);
	return 0;
}

int fl_cmd_report(int argc, char **argv)
{
	struct opts o = {.cmd = "report", .head = report_head, .tail = report_tail};
	int status = parse_opts(&o, argc, argv);
	if (status >= 0)
		return status;
	if (argc - optind != 1)
		return fl_cli_usage_error("report", "give exactly one results "
						    "file");
	char path[PATH_MAX], err[PATH_MAX + 256];
	fl_results_path(argv[optind], path, sizeof path);
	char here[PATH_MAX];
	snprintf(here, sizeof here, "%s", path);
	if (!o.dir)
		o.dir = dirname(here);
	/* A report directory holds its results file: written unless it is
	 * the very file to be read, with the journals it names. */
	int same = is_results_of(path, o.dir);
	fl_outputs out;
	outputs_of(&out, &o, same);
	struct report rp = {.path = path, .dir = o.dir, .ws = fl_writers_new(&out)};
	/* Two passes over the file, a scenario at a time: the first checks
	 * it all and lets the writers survey, the second writes. */
	json_t *head = NULL;
	if (fl_results_stream(path, report_survey, &rp, &head, err, sizeof err) < 0) {
		fprintf(stderr, "faultline report: %s\n", err);
		fl_writers_abort(rp.ws);
		return FL_EXIT_USAGE;
	}
	rp.carry = !same && fl_mkdirs(o.dir, 0755) == 0;
	fl_writers_begin(rp.ws, head);
	json_t *again = NULL;
	if (fl_results_stream(path, report_write, &rp, &again, err, sizeof err) < 0) {
		/* Changed since the first pass: nothing is named. */
		fprintf(stderr, "faultline report: %s\n", err);
		fl_writers_abort(rp.ws);
		json_decref(head);
		return FL_EXIT_USAGE;
	}
	json_decref(again);
	status = fl_writers_end(rp.ws, fl_print_write_failure, NULL) < 0
			 ? FL_EXIT_INTERNAL
			 : FL_EXIT_OK;
	if (status == FL_EXIT_OK && !o.quiet)
		print_summary(head, "report", o.dir);
	json_decref(head);
	return status;
}
