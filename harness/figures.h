/* The figures faultline measures, as one table: each row says what a figure
 * is called in scenarios and results, how it is printed, what its
 * tolerances accept and whether it counts things. The judge, the Lua API,
 * the results JSON, the HTML report, the gate, the trend page and the
 * OpenMetrics export iterate this table, so a new figure is one row here
 * plus the code that samples it. */
#ifndef FL_FIGURES_H
#define FL_FIGURES_H

#include <stddef.h>
#include <stdint.h>

enum fl_figure {
	FL_FIG_FDS = 0,
	FL_FIG_THREADS,
	FL_FIG_RSS,
	FL_FIG_FILES,
	FL_FIG_PROCS,
	FL_FIG_COUNT
};

typedef struct fl_figure_def {
	enum fl_figure id;
	const char *key;	/* "fds": scenario fields, results, metrics */
	const char *title;	/* "open fds": chart titles, tables */
	const char *unit;	/* "fds": "leaked 3 fds" */
	const char *short_key;	/* three letters for compact tables */
	int bytes;		/* a size: "8MiB" accepted, printed in KiB/MiB */
	int count;		/* counts things: leaks are whole numbers */
	int optional;		/* only measured when the scenario asks
				 * (files: target.watch) */
	int gated;		/* the release gate compares its leak */
	int tree;		/* a figure of the whole process tree, never
				 * of one process (judged on the tree even
				 * where the scenario judges per process) */
	const char *help;	/* one sentence for OpenMetrics' HELP */
} fl_figure_def;

extern const fl_figure_def fl_figures[FL_FIG_COUNT];

/* The row of a figure by its key ("fds"), or NULL. */
const fl_figure_def *fl_figure_by_key(const char *key);
/* Its key; "?" for a number out of range. */
const char *fl_figure_key(enum fl_figure fig);

/* A value of a figure for people: "3", "12.4 MiB", "-1.5". */
void fl_figure_format(enum fl_figure fig, double value, char *out,
		      size_t outlen);
/* The same with a sign: "+3", "-12.4 MiB". */
void fl_figure_format_delta(enum fl_figure fig, double value, char *out,
			    size_t outlen);

/* One sample of a target: its figures at one moment. A figure the
 * scenario did not ask for (optional) reads -1. */
typedef struct fl_sample {
	int64_t t_ns;		/* since the target started (monotonic) */
	int64_t v[FL_FIG_COUNT];
} fl_sample;

static inline double fl_sample_figure(const fl_sample *s, enum fl_figure fig)
{
	return (double)s->v[fig];
}

#endif
