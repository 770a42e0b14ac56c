/* The live lines of a run on a terminal: one per running scenario (its
 * name, its phase, how long it has run, the faults fired so far), drawn
 * when a scenario begins and when its phase changes, redrawn a few times
 * a second below the result lines printed so far, and replaced by each
 * scenario's result line when it ends. Names are shown as the result
 * lines show them (fl_text_console: control bytes never obeyed).
 *
 * run, replay and sweep start the display only when stdout is a terminal
 * (fl_console_live: not with -q or -v, not with TERM=dumb). Scenario
 * code reports through the calling thread: each -j worker runs one
 * scenario at a time, so fl_progress_begin ties
 * the thread to a line and the other calls need no handle. Without a
 * started display, or on a thread that began nothing, they do nothing. */
#ifndef FL_PROGRESS_H
#define FL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fl_phase {
	FL_PHASE_LOADING = 0,	/* the script is being loaded */
	FL_PHASE_STARTING,	/* the target starts, waiting until ready */
	FL_PHASE_RUNNING,	/* the script runs, no window open */
	FL_PHASE_BASELINE,	/* taking the baseline */
	FL_PHASE_FAULTS,	/* a fault window is open */
	FL_PHASE_RECOVERY,	/* waiting for the steady state to return */
	FL_PHASE_STOPPING,	/* final look, signal, grace period */
	FL_PHASE_COUNT
};

const char *fl_phase_name(enum fl_phase phase);

/* Starts the display on out with room for nslots running scenarios (the
 * -j count) and its redraw thread. 0 or -errno. */
int fl_progress_start(FILE *out, int nslots);
/* Erases the live lines and stops the thread. */
void fl_progress_stop(void);
/* The process ends now (a second SIGINT): erases the live lines so the
 * terminal is left clean, and draws nothing after. Never blocks for
 * long; without a display it does nothing. */
void fl_progress_abandon(void);

/* This thread runs a scenario from now on, named name (its id until it
 * has loaded; fl_progress_rename gives the scenario's name). */
void fl_progress_begin(const char *name);
void fl_progress_rename(const char *name);
/* Shown after the name, kept when it is renamed (a sweep's "site
 * posix/io/oc/close at fileproc.c:292"). */
void fl_progress_detail(const char *detail);
void fl_progress_phase(enum fl_phase phase);
/* The faults fired so far by this thread's scenario. */
void fl_progress_faults(uint64_t fired);
/* This thread's scenario has ended: its line goes. */
void fl_progress_end(void);

/* Writes text (whole lines: result lines) to the display's stream above
 * the live lines, which are drawn again below it. Without a display it
 * writes text to stdout. */
void fl_progress_write(const char *text);

/* The live lines as they would be drawn at now_ns (monotonic), at most
 * width columns each, into out (NUL-terminated, truncated to len).
 * Returns the number of lines. For the redraw thread and the tests. */
int fl_progress_render(char *out, size_t len, int64_t now_ns, int width);

#endif
