/* The live lines of a run on a terminal: see progress.h. */
#define _GNU_SOURCE
#include "progress.h"

#include "text.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* How often the elapsed times move. */
#define REDRAW_NS (250 * FL_NS_PER_MS)
/* How long fl_progress_abandon waits for the display. */
#define ABANDON_WAIT_NS (200 * FL_NS_PER_MS)
/* Columns when the terminal does not say. */
#define DEFAULT_WIDTH 80

typedef struct slot {
	int used;
	char name[160];
	char detail[160];	/* after the name: a sweep's site */
	enum fl_phase phase;
	int64_t started_ns;
	uint64_t faults;
} slot;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int started;
	int stopping;
	FILE *out;
	slot *slots;
	int nslots;
	int drawn;		/* live lines on the screen now */
	pthread_t thread;
} g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static _Thread_local int my_slot = -1;

static const char *const phase_names[FL_PHASE_COUNT] = {
	[FL_PHASE_LOADING] = "loading",
	[FL_PHASE_STARTING] = "starting",
	[FL_PHASE_RUNNING] = "running",
	[FL_PHASE_BASELINE] = "baseline",
	[FL_PHASE_FAULTS] = "fault window",
	[FL_PHASE_RECOVERY] = "recovery",
	[FL_PHASE_STOPPING] = "stopping",
};

const char *fl_phase_name(enum fl_phase phase)
{
	return (int)phase >= 0 && phase < FL_PHASE_COUNT ? phase_names[phase]
							 : "?";
}

/* A name as it may go to a terminal, as the result lines show it
 * (fl_text_console): control bytes (an escape sequence in a scenario's
 * name) written as \e, \n, \xNN, never obeyed; invalid UTF-8 as U+FFFD.
 * Cut to fit dst, never inside a UTF-8 sequence. */
static void copy_name(char *dst, size_t len, const char *src)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_text_console(&b, src ? src : "");
	size_t n = b.len < len - 1 ? b.len : len - 1;
	/* Back to the start of a character when the cut fell inside one. */
	if (n < b.len)
		while (n > 0 && ((unsigned char)b.data[n] & 0xc0) == 0x80)
			n--;
	if (n)
		memcpy(dst, b.data, n);
	dst[n] = '\0';
	fl_buf_free(&b);
}

/* Cuts s to at most width columns (a column per UTF-8 character). */
static void cut_to_width(char *s, int width)
{
	int cols = 0;
	for (char *p = s; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (cols == width) {
			*p = '\0';
			return;
		}
		cols++;
	}
}

/* With the lock held. */
static int render_locked(char *out, size_t len, int64_t now_ns, int width)
{
	if (len == 0)
		return 0;
	out[0] = '\0';
	size_t used = 0;
	int lines = 0;
	for (int i = 0; i < g.nslots; i++) {
		const slot *s = &g.slots[i];
		if (!s->used)
			continue;
		char line[400];
		double secs = (double)(now_ns - s->started_ns) / 1e9;
		snprintf(line, sizeof line, "  %-12s %6.1f s %7llu fault%s  %s%s%s",
			 fl_phase_name(s->phase), secs > 0 ? secs : 0.0,
			 (unsigned long long)s->faults, s->faults == 1 ? " " : "s",
			 s->name, s->detail[0] ? "  " : "", s->detail);
		cut_to_width(line, width > 1 ? width - 1 : 1);
		int n = snprintf(out + used, len - used, "%s\n", line);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
		lines++;
	}
	return lines;
}

int fl_progress_render(char *out, size_t len, int64_t now_ns, int width)
{
	pthread_mutex_lock(&g.lock);
	int n = render_locked(out, len, now_ns, width);
	pthread_mutex_unlock(&g.lock);
	return n;
}

static int terminal_width(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return DEFAULT_WIDTH;
}

/* With the lock held: the erasing of the live lines, into b. */
static void erase_into(fl_buf *b)
{
	if (g.drawn > 0)
		fl_buf_printf(b, "\033[%dA\033[J", g.drawn);
	g.drawn = 0;
}

/* With the lock held: the live lines as they are now, into b. */
static void lines_into(fl_buf *b)
{
	char buf[8192];
	int n = render_locked(buf, sizeof buf, fl_now_ns(), terminal_width(g.out));
	fl_buf_puts(b, buf);
	g.drawn = n;
}

/* With the lock held: b goes to the terminal in one write, so that it
 * never shows half a redraw (a line-buffered stdout would write each
 * line on its own). A stream without a descriptor (the tests' memory
 * stream) gets it through stdio. */
static void put(fl_buf *b)
{
	if (!b->len)
		return;
	int fd = fileno(g.out);
	fflush(g.out);
	if (fd < 0) {
		fwrite(b->data, 1, b->len, g.out);
		fflush(g.out);
		return;
	}
	/* A terminal that cannot be written to any more (closed, hung up)
	 * has nobody to show anything: nothing to do but go on. */
	(void)fl_write_all(fd, b->data, b->len);
}

/* With the lock held: the live lines go. */
static void erase(void)
{
	fl_buf b;
	fl_buf_init(&b);
	erase_into(&b);
	put(&b);
	fl_buf_free(&b);
}

/* With the lock held: the live lines are drawn again. */
static void draw(void)
{
	if (!g.started)
		return;
	fl_buf b;
	fl_buf_init(&b);
	erase_into(&b);
	lines_into(&b);
	put(&b);
	fl_buf_free(&b);
}

static void *redraw_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.lock);
	while (!g.stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += REDRAW_NS;
		if (ts.tv_nsec >= FL_NS_PER_SEC) {
			ts.tv_sec++;
			ts.tv_nsec -= FL_NS_PER_SEC;
		}
		pthread_cond_timedwait(&g.wake, &g.lock, &ts);
		if (!g.stopping)
			draw();
	}
	pthread_mutex_unlock(&g.lock);
	return NULL;
}

int fl_progress_start(FILE *out, int nslots)
{
	if (nslots < 1)
		nslots = 1;
	pthread_mutex_lock(&g.lock);
	if (g.started) {
		pthread_mutex_unlock(&g.lock);
		return -EBUSY;
	}
	g.slots = fl_xcalloc((size_t)nslots, sizeof *g.slots);
	g.nslots = nslots;
	g.out = out;
	g.drawn = 0;
	g.stopping = 0;
	g.started = 1;
	pthread_mutex_unlock(&g.lock);
	int r = pthread_create(&g.thread, NULL, redraw_thread, NULL);
	if (r != 0) {
		pthread_mutex_lock(&g.lock);
		g.started = 0;
		free(g.slots);
		g.slots = NULL;
		g.nslots = 0;
		pthread_mutex_unlock(&g.lock);
		return -r;
	}
	return 0;
}

void fl_progress_stop(void)
{
	pthread_mutex_lock(&g.lock);
	if (!g.started) {
		pthread_mutex_unlock(&g.lock);
		return;
	}
	erase();
	fflush(g.out);
	g.stopping = 1;
	pthread_cond_broadcast(&g.wake);
	pthread_mutex_unlock(&g.lock);
	pthread_join(g.thread, NULL);
	pthread_mutex_lock(&g.lock);
	g.started = 0;
	free(g.slots);
	g.slots = NULL;
	g.nslots = 0;
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_begin(const char *name)
{
	pthread_mutex_lock(&g.lock);
	my_slot = -1;
	for (int i = 0; g.started && i < g.nslots; i++) {
		slot *s = &g.slots[i];
		if (s->used)
			continue;
		memset(s, 0, sizeof *s);
		s->used = 1;
		copy_name(s->name, sizeof s->name, name);
		s->phase = FL_PHASE_LOADING;
		s->started_ns = fl_now_ns();
		my_slot = i;
		/* Drawn at once: every scenario's line is seen, however
		 * soon it ends. */
		draw();
		break;
	}
	pthread_mutex_unlock(&g.lock);
}

/* This thread's slot, with the lock held; NULL when it has none. */
static slot *mine(void)
{
	if (!g.started || my_slot < 0 || my_slot >= g.nslots ||
	    !g.slots[my_slot].used)
		return NULL;
	return &g.slots[my_slot];
}

void fl_progress_rename(const char *name)
{
	pthread_mutex_lock(&g.lock);
	slot *s = mine();
	if (s)
		copy_name(s->name, sizeof s->name, name);
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_detail(const char *detail)
{
	pthread_mutex_lock(&g.lock);
	slot *s = mine();
	if (s)
		copy_name(s->detail, sizeof s->detail, detail);
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_phase(enum fl_phase phase)
{
	pthread_mutex_lock(&g.lock);
	slot *s = mine();
	/* A new phase is drawn at once: every phase a scenario goes
	 * through is seen, however short. */
	if (s && s->phase != phase) {
		s->phase = phase;
		draw();
	}
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_faults(uint64_t fired)
{
	pthread_mutex_lock(&g.lock);
	slot *s = mine();
	if (s)
		s->faults = fired;
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_end(void)
{
	pthread_mutex_lock(&g.lock);
	slot *s = mine();
	if (s)
		s->used = 0;
	my_slot = -1;
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_write(const char *text)
{
	pthread_mutex_lock(&g.lock);
	if (!g.started) {
		pthread_mutex_unlock(&g.lock);
		fputs(text, stdout);
		fflush(stdout);
		return;
	}
	/* The live lines go, the text takes their place, and they come
	 * back at once below it: one write. */
	fl_buf b;
	fl_buf_init(&b);
	erase_into(&b);
	fl_buf_puts(&b, text);
	lines_into(&b);
	put(&b);
	fl_buf_free(&b);
	pthread_mutex_unlock(&g.lock);
}

void fl_progress_abandon(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ABANDON_WAIT_NS;
	if (until.tv_nsec >= FL_NS_PER_SEC) {
		until.tv_sec++;
		until.tv_nsec -= FL_NS_PER_SEC;
	}
	/* A writer stuck on a terminal that does not read (Ctrl-S) holds
	 * the lock: then the lines stay rather than faultline hanging. */
	if (pthread_mutex_timedlock(&g.lock, &until) != 0)
		return;
	if (g.started)
		erase();
	/* The lock stays held: nothing is drawn again before the exit. */
}
