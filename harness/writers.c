#define _GNU_SOURCE
#include "writers.h"

#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

const fl_writer fl_writers[FL_WRITER_COUNT] = {
	[FL_WRITER_JSON] = {.id = FL_WRITER_JSON,
			    .name = "results JSON",
			    .option = "json",
			    .file = "results.json",
			    .help = "also write the results to FILE",
			    .write = fl_report_json},
	[FL_WRITER_JUNIT] = {.id = FL_WRITER_JUNIT,
			     .name = "JUnit XML",
			     .option = "junit",
			     .file = "junit.xml",
			     .help = "also write JUnit XML to FILE",
			     .write = fl_report_junit},
	[FL_WRITER_HTML] = {.id = FL_WRITER_HTML,
			    .name = "HTML report",
			    .option = "html",
			    .file = "index.html",
			    .help = "also write the HTML report to FILE",
			    .write = fl_report_html},
	[FL_WRITER_OPENMETRICS] = {.id = FL_WRITER_OPENMETRICS,
				   .name = "OpenMetrics",
				   .option = "openmetrics",
				   .file = NULL,
				   .help = "also write OpenMetrics text (for "
					   "Prometheus' textfile collector) to FILE",
				   .write = fl_report_openmetrics},
};

const fl_writer *fl_writer_by_option(const char *option)
{
	for (int w = 0; option && w < FL_WRITER_COUNT; w++)
		if (!strcmp(fl_writers[w].option, option))
			return &fl_writers[w];
	return NULL;
}

/* Writes one file; the first error is kept in *first. */
static void write_one(const fl_writer *w, json_t *doc, const char *path,
		      fl_writer_failed_fn failed, void *arg, int *first)
{
	int r = w->write(doc, path);
	if (r == 0)
		return;
	if (failed)
		failed(path, r, arg);
	if (!*first)
		*first = r;
}

int fl_writers_write(json_t *doc, const fl_outputs *out,
		     fl_writer_failed_fn failed, void *arg)
{
	int first = 0;
	if (out->dir) {
		int r = fl_mkdirs(out->dir, 0755);
		if (r < 0) {
			if (failed)
				failed(out->dir, r, arg);
			first = r;
		}
		for (int w = 0; r == 0 && w < FL_WRITER_COUNT; w++) {
			if (!fl_writers[w].file || out->skip[w])
				continue;
			char path[PATH_MAX + 64];
			snprintf(path, sizeof path, "%s/%s", out->dir,
				 fl_writers[w].file);
			write_one(&fl_writers[w], doc, path, failed, arg, &first);
		}
	}
	for (int w = 0; w < FL_WRITER_COUNT; w++)
		if (out->extra[w])
			write_one(&fl_writers[w], doc, out->extra[w], failed, arg,
				  &first);
	return first;
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
