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

/* "[episode 2 of 3: ]not recovered within 1.00 s after the fault window
 * on P (0.62 s to 2.62 s): WHY" reads "[episode 2 of 3: ]not recovered
 * within 1.00 s: WHY": the window is in the report, the reason is what
 * the user acts on. */
static void recovery(fl_buf *b, const char *msg, json_t *e)
{
	(void)e;
	const char *after = strstr(msg, " after the fault window");
	if (!after)
		return;
	fl_buf_append(b, msg, (size_t)(after - msg));
	const char *why = NULL;
	for (const char *p = after; (p = strstr(p, "): ")) != NULL; p++)
		why = p + 3;
	if (why && *why)
		fl_buf_printf(b, ": %s", why);
}

/* "fault window on P (0.10 s to 2.00 s) never fired: WHY (a scenario
 * whose faults never fire tests nothing; ...)" reads "fault window on P
 * never fired: WHY": the reason names the fix (target.inherit, a point
 * the program calls instead); the advice is the same every time. */
static void never_fired(fl_buf *b, const char *msg, json_t *e)
{
	(void)e;
	static const char never[] = " never fired";
	static const char advice[] = " (a scenario whose faults never fire";
	const char *at = strstr(msg, never);
	if (!at)
		return;
	size_t head = (size_t)(at - msg);
	/* Without the window's times, "(0.10 s to 2.00 s)". */
	if (head > 0 && msg[head - 1] == ')') {
		for (size_t k = head; k-- > 1;)
			if (msg[k] == '(' && msg[k - 1] == ' ') {
				head = k - 1;
				break;
			}
	}
	fl_buf_append(b, msg, head);
	fl_buf_puts(b, never);
	const char *why = at + strlen(never);
	if (strncmp(why, ": ", 2) != 0)
		return;
	why += 2;
	const char *end = strstr(why, advice);
	fl_buf_puts(b, ": ");
	fl_buf_append(b, why, end ? (size_t)(end - why) : strlen(why));
}

/* How the message of each kind of expectation ("what", or how it
 * starts) is made brief when it is too long to be shown whole. Any other
 * kind (check, assert, exit, signal, steady, trend ...) is cut to
 * FL_CONSOLE_BRIEF_MAX characters. */
static const struct brief_rule {
	const char *what;
	int prefix;		/* what starts with it ("leaked fds") */
	void (*brief)(fl_buf *b, const char *msg, json_t *e);
} brief_rules[] = {
	{"leaked ", 1, cut_colon},	   /* "leaked 37 fds (allowed 0): ..." */
	{"peak ", 1, cut_colon},
	{"recovery", 0, recovery},
	{"fault fired", 0, never_fired},
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

static int chars_of(const char *s, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

void fl_console_brief(json_t *e, fl_buf *b)
{
	const char *what = fl_results_str(e, "what");
	const char *msg = fl_results_str(e, "message");
	if (!*msg) {
		/* No message: what, and the value against the bound. */
		fl_buf_puts(b, *what ? what : "an expectation");
		const char *m = fl_results_str(e, "measured");
		const char *a = fl_results_str(e, "allowed");
		if (*m)
			fl_buf_printf(b, " %s", m);
		if (*a)
			fl_buf_printf(b, " (allowed %s)", a);
		return;
	}
	/* Its first line when that is short enough: a short message is its
	 * own brief ("leaked 1 fds (allowed 0): 1 x /dev/zero"). */
	size_t first = strcspn(msg, "\n");
	if (chars_of(msg, first) <= FL_CONSOLE_BRIEF_MAX) {
		fl_buf_append(b, msg, first);
		return;
	}
	const struct brief_rule *rule = NULL;
	for (size_t i = 0; i < sizeof brief_rules / sizeof brief_rules[0]; i++) {
		const struct brief_rule *r = &brief_rules[i];
		if (r->prefix ? !strncmp(what, r->what, strlen(r->what))
			      : !strcmp(what, r->what)) {
			rule = r;
			break;
		}
	}
	fl_buf one;
	fl_buf_init(&one);
	if (rule)
		rule->brief(&one, msg, e);
	if (one.len > 0) {
		/* A rule's brief is whole: it keeps what the user acts on. */
		fl_buf_append(b, one.data, strcspn(one.data, "\n"));
	} else {
		put_cut(b, msg, first, FL_CONSOLE_BRIEF_MAX);
	}
	fl_buf_free(&one);
}
