/* What the console shows and how: see console.h. */
#define _GNU_SOURCE
#include "console.h"

#include "results.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dumb_terminal(void)
{
	const char *term = getenv("TERM");
	return !term || !*term || !strcmp(term, "dumb");
}

int fl_console_color(int fd)
{
	const char *no = getenv("NO_COLOR");
	if (no && *no)
		return 0;
	return isatty(fd) && !dumb_terminal();
}

int fl_console_live(int fd, int quiet, int verbose)
{
	return !quiet && !verbose && isatty(fd) && !dumb_terminal();
}

/* The message up to the first sep (all of it without one). */
static void up_to(fl_buf *b, const char *msg, const char *sep)
{
	const char *end = strstr(msg, sep);
	fl_buf_append(b, msg, end ? (size_t)(end - msg) : strlen(msg));
}

static void cut_colon(fl_buf *b, const char *msg, json_t *e)
{
	(void)e;
	up_to(b, msg, ": ");
}

static void cut_paren(fl_buf *b, const char *msg, json_t *e)
{
	(void)e;
	up_to(b, msg, " (");
}

static void cut_semicolon(fl_buf *b, const char *msg, json_t *e)
{
	(void)e;
	up_to(b, msg, "; ");
}

/* "rss grows 62.4 MiB/s over 1.5 s (allowed 1.0 MiB/s, fit r²=1.00)"
 * reads "rss grows 62.4 MiB/s (allowed 1.0 MiB/s)". */
static void trend(fl_buf *b, const char *msg, json_t *e)
{
	const char *allowed = fl_results_str(e, "allowed");
	const char *over = strstr(msg, " over ");
	if (!over || !*allowed) {
		fl_buf_puts(b, msg);
		return;
	}
	fl_buf_append(b, msg, (size_t)(over - msg));
	fl_buf_printf(b, " (allowed %s)", allowed);
}

/* "[episode 2 of 3: ]not recovered within 1.00 s after the fault window
 * on P (0.62 s to 2.62 s): WHY" reads "[episode 2 of 3: ]not recovered
 * within 1.00 s: WHY": the window is in the report, the reason is what
 * the user acts on. */
static void recovery(fl_buf *b, const char *msg, json_t *e)
{
	(void)e;
	const char *after = strstr(msg, " after the fault window");
	if (!after) {
		fl_buf_puts(b, msg);
		return;
	}
	fl_buf_append(b, msg, (size_t)(after - msg));
	const char *why = NULL;
	for (const char *p = after; (p = strstr(p, "): ")) != NULL; p++)
		why = p + 3;
	if (why && *why)
		fl_buf_printf(b, ": %s", why);
}

/* Each kind of expectation ("what", or its first word) and how its
 * message is made brief; any other (check, assert, exit, signal,
 * steady, ...) keeps its message's first line, which is already short or
 * is the author's own. */
static const struct brief_rule {
	const char *what;
	int prefix;		/* what starts with it ("leaked fds") */
	void (*brief)(fl_buf *b, const char *msg, json_t *e);
} brief_rules[] = {
	{"leaked ", 1, cut_colon},	   /* "leaked 37 fds (allowed 0): ..." */
	{"peak ", 1, cut_colon},
	{"trend ", 1, trend},
	{"recovery", 0, recovery},
	{"fault fired", 0, cut_colon},	   /* "fault window on P never fired: why" */
	{"baseline health", 0, cut_paren}, /* "... during the baseline (3 probes ..." */
	{"survival", 0, cut_semicolon},	   /* "...: killed by SIGSEGV at 1.2 s; last stderr line: ..." */
};

/* Appends len bytes of s cut to at most max characters (a character per
 * UTF-8 lead byte), ending in "..." when cut. */
static void put_cut(fl_buf *b, const char *s, size_t len, int max)
{
	int chars = 0;
	size_t keep = 0;	/* the bytes of the first max - 3 characters */
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (chars == max - 3)
			keep = i;
		chars++;
	}
	if (chars <= max) {
		fl_buf_append(b, s, len);
		return;
	}
	fl_buf_append(b, s, keep);
	fl_buf_puts(b, "...");
}

void fl_console_brief(json_t *e, fl_buf *b)
{
	const char *what = fl_results_str(e, "what");
	const char *msg = fl_results_str(e, "message");
	fl_buf one;
	fl_buf_init(&one);
	if (!*msg) {
		/* No message: what, and the value against the bound. */
		fl_buf_puts(&one, *what ? what : "an expectation");
		const char *m = fl_results_str(e, "measured");
		const char *a = fl_results_str(e, "allowed");
		if (*m)
			fl_buf_printf(&one, " %s", m);
		if (*a)
			fl_buf_printf(&one, " (allowed %s)", a);
	} else {
		const struct brief_rule *rule = NULL;
		for (size_t i = 0; i < sizeof brief_rules / sizeof brief_rules[0]; i++) {
			const struct brief_rule *r = &brief_rules[i];
			if (r->prefix ? !strncmp(what, r->what, strlen(r->what))
				      : !strcmp(what, r->what)) {
				rule = r;
				break;
			}
		}
		if (rule)
			rule->brief(&one, msg, e);
		if (one.len == 0)
			fl_buf_puts(&one, msg);
	}
	/* One line, however the rule cut it. */
	const char *text = one.data ? one.data : "";
	put_cut(b, text, strcspn(text, "\n"), FL_CONSOLE_BRIEF_MAX);
	fl_buf_free(&one);
}
