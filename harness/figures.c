#define _GNU_SOURCE
#include "figures.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const fl_figure_def fl_figures[FL_FIG_COUNT] = {
	[FL_FIG_FDS] = {.id = FL_FIG_FDS,
			.key = "fds",
			.title = "open fds",
			.unit = "fds",
			.short_key = "fds",
			.count = 1,
			.gated = 1,
			.help = "Open file descriptors at the end minus the "
				"baseline."},
	[FL_FIG_THREADS] = {.id = FL_FIG_THREADS,
			    .key = "threads",
			    .title = "threads",
			    .unit = "threads",
			    .short_key = "thr",
			    .count = 1,
			    .gated = 1,
			    .help = "Threads at the end minus the baseline."},
	[FL_FIG_RSS] = {.id = FL_FIG_RSS,
			.key = "rss",
			.title = "RSS",
			.unit = "of RSS",
			.short_key = "rss",
			.bytes = 1,
			.gated = 0,
			.help = "Resident memory at the end minus the baseline, "
				"in bytes."},
	[FL_FIG_FILES] = {.id = FL_FIG_FILES,
			  .key = "files",
			  .title = "watched files",
			  .unit = "files",
			  .short_key = "fil",
			  .count = 1,
			  .optional = 1,
			  .gated = 1,
			  .tree = 1,
			  .help = "Entries of the watched directory at the end "
				  "minus the baseline."},
	[FL_FIG_PROCS] = {.id = FL_FIG_PROCS,
			  .key = "procs",
			  .title = "processes",
			  .unit = "processes",
			  .short_key = "prc",
			  .count = 1,
			  .gated = 1,
			  .tree = 1,
			  .help = "Processes of the target's tree (the process "
				  "faultline started and its descendants) at "
				  "the end minus the baseline."},
};

const fl_figure_def *fl_figure_by_key(const char *key)
{
	if (!key)
		return NULL;
	for (int i = 0; i < FL_FIG_COUNT; i++)
		if (strcmp(fl_figures[i].key, key) == 0)
			return &fl_figures[i];
	return NULL;
}

const char *fl_figure_key(enum fl_figure fig)
{
	if ((int)fig < 0 || fig >= FL_FIG_COUNT)
		return "?";
	return fl_figures[fig].key;
}

void fl_figure_format(enum fl_figure fig, double value, char *out,
		      size_t outlen)
{
	if (isnan(value)) {
		snprintf(out, outlen, "-");
		return;
	}
	if ((int)fig >= 0 && fig < FL_FIG_COUNT && fl_figures[fig].bytes)
		fl_fmt_bytes(out, outlen, value);
	else
		snprintf(out, outlen, "%g", value);
}

void fl_figure_format_delta(enum fl_figure fig, double value, char *out,
			    size_t outlen)
{
	char v[48];
	fl_figure_format(fig, value, v, sizeof v);
	snprintf(out, outlen, "%s%s", value > 0 ? "+" : "", v);
}
