/* The console's rules (harness/console.c, results.c's fl_results_rerun):
 * the brief of each kind of failed expectation, cut to its width; when
 * colour and live lines are wanted on a stream (a terminal, -q, -v,
 * NO_COLOR, TERM); where a re-run makes sense. */
#include "testutil.h"

#include <stdlib.h>

#include "console.h"
#include "results.h"
#include "util.h"

static char *brief_of(const char *what, const char *measured, const char *allowed,
		      const char *message)
{
	json_t *e = json_pack("{s:s,s:b,s:s,s:s,s:s}", "what", what, "ok", 0,
			      "measured", measured, "allowed", allowed, "message",
			      message);
	cr_assert_not_null(e);
	fl_buf b;
	fl_buf_init(&b);
	fl_console_brief(e, &b);
	json_decref(e);
	return fl_buf_steal(&b);
}

struct brief_case {
	const char *what, *measured, *allowed, *message, *brief;
};

#define GROUPS                                                                \
	"12 x /tmp/fp.Ab12cd/in-*.txt (deleted), 9 x socket, 7 x pipe, "       \
	"5 x /var/log/app.log, 4 x /tmp/fp.Ab12cd/out-*.txt, ..."

/* One row per kind of expectation, with messages as expect.c writes
 * them: a short one is its own brief, a long one is made brief by its
 * kind's rule. */
static const struct brief_case cases[] = {
	{"leaked fds", "1", "0", "leaked 1 fds (allowed 0): 1 x /dev/zero",
	 "leaked 1 fds (allowed 0): 1 x /dev/zero"},
	{"leaked fds", "37", "0", "leaked 37 fds (allowed 0): " GROUPS,
	 "leaked 37 fds (allowed 0)"},
	{"leaked fds per process", "37", "0",
	 "leaked 37 fds in srv pid 12 (allowed 0): " GROUPS,
	 "leaked 37 fds in srv pid 12 (allowed 0)"},
	{"leaked rss", "12.0 MiB", "4.0 MiB",
	 "leaked 12.0 MiB of RSS (allowed 4.0 MiB): 17.8 MiB at the end, 5.8 MiB at the baseline",
	 "leaked 12.0 MiB of RSS (allowed 4.0 MiB): 17.8 MiB at the end, 5.8 MiB at the baseline"},
	{"peak threads", "40", "10", "peak threads 40 (allowed 10)",
	 "peak threads 40 (allowed 10)"},
	{"trend rss", "62.4 MiB/s", "1.0 MiB/s",
	 "rss grows 62.4 MiB/s over 1.5 s (allowed 1.0 MiB/s, fit r\xc2\xb2=1.00)",
	 "rss grows 62.4 MiB/s over 1.5 s (allowed 1.0 MiB/s, fit r\xc2\xb2=1.00)"},
	{"recovery", "not recovered", "1.000 s",
	 "not recovered within 1.00 s after the fault window on posix/io/net/connect, "
	 "posix/io/net/send (0.62 s to 2.62 s): fds 200 > 13 (baseline 5, tolerance +8)",
	 "not recovered within 1.00 s: fds 200 > 13 (baseline 5, tolerance +8)"},
	{"recovery", "not recovered", "0.500 s",
	 "episode 2 of 3: not recovered within 0.50 s after the fault window on "
	 "posix/io/oc/close (1.00 s to 1.50 s): health probe failing",
	 "episode 2 of 3: not recovered within 0.50 s: health probe failing"},
	{"exit", "exit 0", "exit 3", "exit status: exit 0 (expected exit 3)",
	 "exit status: exit 0 (expected exit 3)"},
	{"survival", "killed by SIGSEGV", "running",
	 "target did not survive: killed by SIGSEGV at 1.23 s; last stderr line: "
	 "segmentation fault while parsing the request header of a client connection",
	 "target did not survive: killed by SIGSEGV at 1.23 s"},
	{"fault fired", "0 faults", "at least 1",
	 "fault window on posix/io/oc/close (0.33 s to 0.33 s) never fired: the target "
	 "executed /usr/bin/tgt without the agent, so no fault reached it "
	 "(target.inherit = true keeps the agent across exec) (a scenario whose "
	 "faults never fire tests nothing; say optional = \"why\" if that is fine)",
	 "fault window on posix/io/oc/close never fired: the target executed "
	 "/usr/bin/tgt without the agent, so no fault reached it (target.inherit = "
	 "true keeps the agent across exec)"},
	{"fault fired", "0 faults", "at least 1",
	 "2 of 3 fault windows on libc/mm/malloc never fired: 0 calls: the target "
	 "never reached libc/mm/malloc through a wrapped call (a scenario whose "
	 "faults never fire tests nothing; say optional = \"why\" if that is fine)",
	 "2 of 3 fault windows on libc/mm/malloc never fired: 0 calls: the target "
	 "never reached libc/mm/malloc through a wrapped call"},
	{"baseline health", "never passed", "passes",
	 "the health probe never passed during the baseline (3 probes from 0.10 s "
	 "to 0.60 s; first: refused): the steady state it is part of was never observed",
	 "the health probe never passed during the baseline"},
	/* An author's own message: its first line, with its colons. */
	{"check", "false", "true", "answer: 41\nexpected: 42", "answer: 41"},
};

Test(console, a_brief_per_kind_of_expectation)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct brief_case *c = &cases[i];
		char *b = brief_of(c->what, c->measured, c->allowed, c->message);
		cr_assert_str_eq(b, c->brief, "%s", c->what);
		free(b);
	}
}

/* Without a message: what, the value and the bound. */
Test(console, a_brief_without_a_message)
{
	char *b = brief_of("peak fds", "12", "4", "");
	cr_assert_str_eq(b, "peak fds 12 (allowed 4)");
	free(b);
}

/* A long message of a kind without a rule is cut to FL_CONSOLE_BRIEF_MAX
 * characters, never inside a UTF-8 character, ending in "..."; one that
 * fits is whole. */
Test(console, a_long_brief_is_cut_by_characters)
{
	char msg[1024] = "";
	for (int i = 0; i < 150; i++)
		strcat(msg, "\xc3\xa9");	/* é: two bytes, one character */
	char *b = brief_of("check", "false", "true", msg);
	size_t len = strlen(b);
	cr_assert(len > 3 && !strcmp(b + len - 3, "..."), "%s", b);
	int chars = 0;
	for (const char *p = b; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	cr_assert_eq(chars, FL_CONSOLE_BRIEF_MAX, "%d: %s", chars, b);
	/* Every é whole: an even number of bytes before the dots. */
	cr_assert_eq((len - 3) % 2, 0, "%s", b);
	free(b);

	char exact[FL_CONSOLE_BRIEF_MAX + 1];
	memset(exact, 'x', FL_CONSOLE_BRIEF_MAX);
	exact[FL_CONSOLE_BRIEF_MAX] = '\0';
	b = brief_of("check", "false", "true", exact);
	cr_assert_str_eq(b, exact);
	free(b);
}

/* A pseudo-terminal's slave side: a terminal for isatty. */
static int open_terminal(int *master)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert(*master >= 0);
	cr_assert_eq(grantpt(*master), 0);
	cr_assert_eq(unlockpt(*master), 0);
	int fd = open(ptsname(*master), O_RDWR | O_NOCTTY);
	cr_assert(fd >= 0);
	return fd;
}

Test(console, colour_and_live_lines_by_stream_and_environment)
{
	int master, tty = open_terminal(&master);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	cr_assert_eq(fl_console_color(tty), 1);
	cr_assert_eq(fl_console_live(tty, 0, 0), 1);
	/* Not a terminal. */
	cr_assert_eq(fl_console_color(p[1]), 0);
	cr_assert_eq(fl_console_live(p[1], 0, 0), 0);
	/* -q, -v. */
	cr_assert_eq(fl_console_live(tty, 1, 0), 0);
	cr_assert_eq(fl_console_live(tty, 0, 1), 0);
	/* NO_COLOR: set and not empty turns colour off, not the lines. */
	setenv("NO_COLOR", "1", 1);
	cr_assert_eq(fl_console_color(tty), 0);
	cr_assert_eq(fl_console_live(tty, 0, 0), 1);
	setenv("NO_COLOR", "", 1);
	cr_assert_eq(fl_console_color(tty), 1);
	unsetenv("NO_COLOR");
	/* TERM dumb or unset: neither. */
	setenv("TERM", "dumb", 1);
	cr_assert_eq(fl_console_color(tty), 0);
	cr_assert_eq(fl_console_live(tty, 0, 0), 0);
	unsetenv("TERM");
	cr_assert_eq(fl_console_color(tty), 0);
	cr_assert_eq(fl_console_live(tty, 0, 0), 0);
	close(p[0]);
	close(p[1]);
	close(tty);
	close(master);
}

static json_t *scenario(const char *verdict, int load_error, json_t *targets)
{
	json_t *s = json_pack("{s:s,s:b,s:s,s:o}", "verdict", verdict, "load_error",
			      load_error, "rerun", "faultline run --seed 1 a.lua",
			      "targets", targets ? targets : json_array());
	cr_assert_not_null(s);
	return s;
}

Test(console, a_rerun_only_where_it_makes_sense)
{
	json_t *started = json_pack("[{s:i,s:n}]", "pid", 42, "start_error");
	json_t *never_ready = json_pack("[{s:i,s:s}]", "pid", 42, "start_error",
					"the target was not ready within 2.0 s");
	json_t *not_run = json_pack("[{s:s}]", "start_error", "cannot run 'x'");
	struct {
		json_t *s;
		int rerun;
	} rows[] = {
		{scenario("FAIL", 0, json_incref(started)), 1},
		{scenario("XPASS", 0, NULL), 1},
		{scenario("FLAKY", 0, NULL), 1},
		{scenario("ERROR", 0, json_incref(started)), 1},
		{scenario("ERROR", 1, NULL), 0},
		{scenario("ERROR", 0, NULL), 0},
		{scenario("ERROR", 0, never_ready), 0},
		{scenario("ERROR", 0, not_run), 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *r = fl_results_rerun(rows[i].s);
		cr_assert_eq(r != NULL, rows[i].rerun, "row %zu", i);
		if (r)
			cr_assert_str_eq(r, "faultline run --seed 1 a.lua");
		json_decref(rows[i].s);
	}
	json_decref(started);
}
