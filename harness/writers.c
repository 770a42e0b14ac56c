#define _GNU_SOURCE
#include "writers.h"

#include "report.h"
#include "results.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const fl_writer fl_writers[FL_WRITER_COUNT] = {
	[FL_WRITER_JSON] = {.id = FL_WRITER_JSON,
			    .name = "results JSON",
			    .option = "json",
			    .file = "results.json",
			    .help = "also write the results to FILE",
			    .ops = &fl_report_json_ops},
	[FL_WRITER_JUNIT] = {.id = FL_WRITER_JUNIT,
			     .name = "JUnit XML",
			     .option = "junit",
			     .file = "junit.xml",
			     .help = "also write JUnit XML to FILE",
			     .ops = &fl_report_junit_ops},
	[FL_WRITER_HTML] = {.id = FL_WRITER_HTML,
			    .name = "HTML report",
			    .option = "html",
			    .file = "index.html",
			    .help = "also write the HTML report to FILE",
			    .ops = &fl_report_html_ops},
	[FL_WRITER_OPENMETRICS] = {.id = FL_WRITER_OPENMETRICS,
				   .name = "OpenMetrics",
				   .option = "openmetrics",
				   .file = NULL,
				   .help = "also write OpenMetrics text (for "
					   "Prometheus' textfile collector) to FILE",
				   .ops = &fl_report_openmetrics_ops},
};

const fl_writer *fl_writer_by_option(const char *option)
{
	for (int w = 0; option && w < FL_WRITER_COUNT; w++)
		if (!strcmp(fl_writers[w].option, option))
			return &fl_writers[w];
	return NULL;
}

int fl_writer_write(const fl_writer *w, json_t *doc, const char *path)
{
	const fl_writer_ops *ops = w->ops;
	void *st = ops->create();
	size_t i;
	json_t *sc;
	if (ops->survey)
		fl_results_foreach(doc, i, sc)
			ops->survey(st, sc);
	int r = ops->begin(st, doc, path);
	fl_results_foreach(doc, i, sc)
	{
		if (r < 0)
			break;
		r = ops->scenario(st, sc);
	}
	if (r < 0) {
		ops->destroy(st);
		return r;
	}
	return ops->end(st);
}

/* One file of a set: its format, where it goes, its writer's state (NULL
 * once it failed or finished) and its first error. */
struct output {
	const fl_writer *w;
	char path[PATH_MAX + 64];
	void *state;
	int err;
};

struct fl_writers_set {
	const fl_outputs *out;
	int dir_err;		/* the directory could not be made */
	struct output o[2 * FL_WRITER_COUNT];
	int n, ndir;		/* outputs; the first ndir in the directory */
};

fl_writers_set *fl_writers_new(const fl_outputs *out)
{
	fl_writers_set *ws = fl_xcalloc(1, sizeof *ws);
	ws->out = out;
	for (int w = 0; out->dir && w < FL_WRITER_COUNT; w++) {
		if (!fl_writers[w].file || out->skip[w])
			continue;
		struct output *o = &ws->o[ws->n++];
		o->w = &fl_writers[w];
		snprintf(o->path, sizeof o->path, "%s/%s", out->dir,
			 fl_writers[w].file);
	}
	ws->ndir = ws->n;
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		if (!out->extra[w])
			continue;
		struct output *o = &ws->o[ws->n++];
		o->w = &fl_writers[w];
		snprintf(o->path, sizeof o->path, "%s", out->extra[w]);
	}
	for (int i = 0; i < ws->n; i++)
		ws->o[i].state = ws->o[i].w->ops->create();
	return ws;
}

int fl_writers_survey_wanted(const fl_writers_set *ws)
{
	for (int i = 0; i < ws->n; i++)
		if (ws->o[i].w->ops->survey)
			return 1;
	return 0;
}

void fl_writers_survey(fl_writers_set *ws, json_t *scenario)
{
	for (int i = 0; i < ws->n; i++)
		if (ws->o[i].state && ws->o[i].w->ops->survey)
			ws->o[i].w->ops->survey(ws->o[i].state, scenario);
}

/* Output o failed with r: its file is given up. */
static void give_up(struct output *o, int r)
{
	o->w->ops->destroy(o->state);
	o->state = NULL;
	o->err = r;
}

void fl_writers_begin(fl_writers_set *ws, json_t *head)
{
	if (ws->out->dir) {
		int r = fl_mkdirs(ws->out->dir, 0755);
		if (r < 0)
			ws->dir_err = r;
	}
	for (int i = 0; i < ws->n; i++) {
		struct output *o = &ws->o[i];
		/* The directory's files go nowhere without it: its failure is
		 * theirs, said once. */
		if (ws->dir_err && i < ws->ndir) {
			give_up(o, 0);
			continue;
		}
		int r = o->w->ops->begin(o->state, head, o->path);
		if (r < 0)
			give_up(o, r);
	}
}

void fl_writers_scenario(fl_writers_set *ws, json_t *scenario)
{
	for (int i = 0; i < ws->n; i++) {
		struct output *o = &ws->o[i];
		if (!o->state)
			continue;
		int r = o->w->ops->scenario(o->state, scenario);
		if (r < 0)
			give_up(o, r);
	}
}

int fl_writers_end(fl_writers_set *ws, fl_writer_failed_fn failed, void *arg)
{
	int first = 0;
	if (ws->dir_err) {
		if (failed)
			failed(ws->out->dir, ws->dir_err, arg);
		first = ws->dir_err;
	}
	for (int i = 0; i < ws->n; i++) {
		struct output *o = &ws->o[i];
		if (o->state) {
			o->err = o->w->ops->end(o->state);
			o->state = NULL;
		}
		if (!o->err)
			continue;
		if (failed)
			failed(o->path, o->err, arg);
		if (!first)
			first = o->err;
	}
	free(ws);
	return first;
}

void fl_writers_abort(fl_writers_set *ws)
{
	if (!ws)
		return;
	for (int i = 0; i < ws->n; i++)
		if (ws->o[i].state)
			ws->o[i].w->ops->destroy(ws->o[i].state);
	free(ws);
}

int fl_writers_write(json_t *doc, const fl_outputs *out,
		     fl_writer_failed_fn failed, void *arg)
{
	fl_writers_set *ws = fl_writers_new(out);
	size_t i;
	json_t *sc;
	if (fl_writers_survey_wanted(ws))
		fl_results_foreach(doc, i, sc)
			fl_writers_survey(ws, sc);
	/* The document is its own head: no writer reads its scenarios
	 * there. */
	fl_writers_begin(ws, doc);
	fl_results_foreach(doc, i, sc)
		fl_writers_scenario(ws, sc);
	return fl_writers_end(ws, failed, arg);
}

void fl_writers_usage(fl_buf *b, int extra_only, int column)
{
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		if (extra_only && fl_writers[w].file)
			continue;
		char opt[64], first[128];
		snprintf(opt, sizeof opt, "--%s FILE", fl_writers[w].option);
		/* An option too long for its column gets a line of its own. */
		if (strlen(opt) + 4 > (size_t)column)
			snprintf(first, sizeof first, "  %s\n%*s", opt, column, "");
		else
			snprintf(first, sizeof first, "  %-*s", column - 2, opt);
		fl_buf_wrap(b, first, column, 72, fl_writers[w].help);
	}
}
