/* A run's report directory (report-dir/ID): each scenario's fault journal
 * moved out of the results into journal-K.json, results.json first, then
 * the other writers' files, and report-dir/latest pointed at the run once
 * its results are complete. run, sweep and replay all write through
 * here, so a run's directory looks the same whichever command made it
 * (merge writes its files through the writers directly). */
#define _GNU_SOURCE
#include "cli.h"
#include "report.h"
#include "results.h"
#include "text.h"
#include "util.h"
#include "writers.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

void fl_annotate_journal(json_t *journal, json_t *result)
{
	if (!json_is_object(journal) || json_object_get(journal, "failure"))
		return;
	fl_buf sig;
	fl_buf_init(&sig);
	fl_results_failure_signature(result, NULL, &sig);
	json_t *by = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(fl_results_arr(result, "expectations"), i, e)
	{
		const char *what = fl_results_str(e, "what");
		if (fl_results_bool(e, "ok") || json_object_get(by, what))
			continue;
		fl_buf one;
		fl_buf_init(&one);
		fl_results_failure_signature(result, what, &one);
		fl_text_set(by, what, fl_text_jsonn(one.data ? one.data : "", one.len));
		fl_buf_free(&one);
	}
	json_t *f = json_pack("{s:s,s:o,s:o}", "verdict",
			      fl_verdict_name(fl_results_verdict(result)), "signature",
			      fl_text_jsonn(sig.data ? sig.data : "", sig.len),
			      "by_expectation", by);
	fl_buf_free(&sig);
	fl_text_set(journal, "failure", f);
}

/* Writes one journal document into dir as name; 0 or -1 after saying
 * why not. */
static int write_journal(json_t *data, const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int r = fl_report_json(data, path);
	if (r < 0) {
		fl_print_write_failure(path, r, NULL);
		return -1;
	}
	return 0;
}

/* Moves each scenario's full journal out of the results into
 * dir/journal-K.json, leaving its file name behind; with --repeat, every
 * run's: journal-K.json is the first run's, journal-K-R.json run R's,
 * and repeat.journals names them in run order (null for a run that fired
 * nothing). */
static int write_journals(json_t *doc, const char *dir)
{
	int failed = 0;
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
	{
		json_t *data = json_object_get(s, "journal_file_data");
		json_t *runs = json_object_get(s, "journal_runs_data");
		int first_written = 0;
		fl_annotate_journal(data, s);
		if (dir && data) {
			char name[64];
			snprintf(name, sizeof name, "journal-%zu.json", i + 1);
			first_written = write_journal(data, dir, name) == 0;
			if (first_written)
				fl_text_set(fl_results_obj(s, "journal"), "file",
					    fl_text_json(name));
			else
				failed = 1;
		}
		json_t *rep = fl_results_obj(s, "repeat");
		if (dir && json_is_array(runs) && rep) {
			json_t *names = json_array();
			size_t k;
			json_t *d;
			json_array_foreach(runs, k, d)
			{
				char name[80];
				if (k == 0)
					snprintf(name, sizeof name, "journal-%zu.json", i + 1);
				else
					snprintf(name, sizeof name, "journal-%zu-%zu.json",
						 i + 1, k + 1);
				int ok = json_is_object(d) &&
					 (k == 0 ? first_written
						 : write_journal(d, dir, name) == 0);
				if (json_is_object(d) && !ok)
					failed = 1;
				fl_text_append(names, ok ? fl_text_json(name) : json_null());
			}
			fl_text_set(rep, "journals", names);
		}
		json_object_del(s, "journal_file_data");
		json_object_del(s, "journal_runs_data");
	}
	return failed ? -1 : 0;
}

void fl_print_write_failure(const char *path, int err, void *arg)
{
	(void)arg;
	fprintf(stderr, "faultline: cannot write %s: %s\n", path, strerror(-err));
}

/* What fl_write_reports learns of each file it could not write. */
struct write_state {
	const char *extra_json;
	int results_failed, others_failed;
};

static void note_failure(const char *path, int err, void *arg)
{
	struct write_state *ws = arg;
	fl_print_write_failure(path, err, NULL);
	if (ws->extra_json && !strcmp(path, ws->extra_json))
		ws->results_failed = 1;
	else
		ws->others_failed = 1;
}

int fl_write_reports(json_t *doc, const char *report_dir, const char *id,
		     const char *const extra[FL_WRITER_COUNT], char *index_path,
		     size_t index_len)
{
	struct write_state ws = {
		.extra_json = extra ? extra[FL_WRITER_JSON] : NULL};
	index_path[0] = '\0';
	fl_outputs out;
	memset(&out, 0, sizeof out);
	char dir[PATH_MAX];
	if (report_dir) {
		snprintf(dir, sizeof dir, "%s/%s", report_dir, id);
		int r = fl_mkdirs(dir, 0755);
		if (r < 0) {
			fl_print_write_failure(dir, r, NULL);
			return FL_REPORTS_NO_RESULTS;
		}
	}
	if (write_journals(doc, report_dir ? dir : NULL) < 0)
		ws.others_failed = 1;
	/* The results file first: every other file is made from it, and
	 * `latest` may point at the run only once it is complete. */
	int results_written = 0;
	if (report_dir) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/%s", dir,
			 fl_writers[FL_WRITER_JSON].file);
		int r = fl_writer_write(&fl_writers[FL_WRITER_JSON], doc, path);
		if (r < 0) {
			fl_print_write_failure(path, r, NULL);
			ws.results_failed = 1;
		} else {
			results_written = 1;
		}
		out.dir = dir;
		out.skip[FL_WRITER_JSON] = 1;
	}
	for (int w = 0; extra && w < FL_WRITER_COUNT; w++)
		out.extra[w] = extra[w];
	fl_writers_write(doc, &out, note_failure, &ws);
	if (report_dir) {
		snprintf(index_path, index_len, "%s/%s", dir,
			 fl_writers[FL_WRITER_HTML].file);
		int r = results_written ? update_latest(report_dir, id) : -ENOENT;
		if (r < 0 && results_written) {
			fprintf(stderr, "faultline: cannot update %s/latest: %s\n",
				report_dir, strerror(-r));
			/* A stale latest would hand the previous run's results
			 * to whatever reads it next. */
			ws.results_failed = 1;
		}
	}
	if (ws.results_failed)
		return FL_REPORTS_NO_RESULTS;
	return ws.others_failed ? FL_REPORTS_PARTIAL : FL_REPORTS_OK;
}

