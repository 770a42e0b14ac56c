/* The console of bin/faultline on a terminal and off it: the live lines
 * of run, replay and sweep on a pseudo-terminal (drawn, then cleared,
 * every result line left on the screen, an interruption included), none
 * through a pipe or with -q, NO_COLOR, the briefs of every failed
 * expectation on a result line, and the re-run hint only where a re-run
 * makes sense.
 *
 * What the terminal shows is read with a small screen model (below),
 * which applies the few sequences faultline writes: no assertion depends
 * on when the redraw thread happened to draw. */
#include "testutil.h"

#include <pty.h>
#include <sys/ioctl.h>

#define TGT "build/tests/targets/tgt"

/* ------------------------------------------------------------------ */
/* A pseudo-terminal                                                    */
/* ------------------------------------------------------------------ */

typedef struct pty_proc {
	pid_t pid;
	int fd;			/* the terminal's master side */
	char *buf;		/* all it printed so far */
	size_t len, cap;
} pty_proc;

/* Starts bin/faultline with args on a new 200-column terminal, in its own
 * session; TERM as given (NULL: xterm), NO_COLOR as given (NULL:
 * unset). */
static pty_proc pty_start_term(const char *const *args, const char *tmpdir,
			       const char *no_color, const char *term)
{
	struct winsize ws = {.ws_row = 50, .ws_col = 200};
	pty_proc p = {0};
	p.pid = forkpty(&p.fd, NULL, NULL, &ws);
	cr_assert(p.pid >= 0, "forkpty: %s", strerror(errno));
	if (p.pid == 0) {
		setenv("TERM", term ? term : "xterm", 1);
		if (no_color)
			setenv("NO_COLOR", no_color, 1);
		else
			unsetenv("NO_COLOR");
		setenv("TMPDIR", tmpdir, 1);
		setenv("ASAN_OPTIONS", "exitcode=99:detect_leaks=1", 1);
		char *av[40];
		int n = 0;
		av[n++] = (char *)tu_bin();
		for (int i = 0; args[i] && n < 39; i++)
			av[n++] = (char *)args[i];
		av[n] = NULL;
		execv(av[0], av);
		_exit(127);
	}
	p.cap = 65536;
	p.buf = malloc(p.cap);
	p.buf[0] = '\0';
	return p;
}

static pty_proc pty_start(const char *const *args, const char *tmpdir,
			  const char *no_color)
{
	return pty_start_term(args, tmpdir, no_color, NULL);
}

/* Reads what the terminal shows until text appears in it (NULL: until
 * the end), at most timeout_s. 1 found (or ended), 0 not. */
static int pty_read_until(pty_proc *p, const char *text, double timeout_s)
{
	double deadline = tu_now() + timeout_s;
	for (;;) {
		if (text && strstr(p->buf, text))
			return 1;
		double left = deadline - tu_now();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {p->fd, POLLIN, 0};
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		if (p->len + 4096 > p->cap) {
			p->cap *= 2;
			p->buf = realloc(p->buf, p->cap);
		}
		ssize_t n = read(p->fd, p->buf + p->len, p->cap - p->len - 1);
		/* EIO: every holder of the other side has closed it. */
		if (n <= 0)
			return text == NULL;
		p->len += (size_t)n;
		p->buf[p->len] = '\0';
	}
}

/* Reads to the end and reaps it; its exit status. */
static int pty_finish(pty_proc *p, double timeout_s)
{
	if (!pty_read_until(p, NULL, timeout_s))
		kill(p->pid, SIGKILL);
	close(p->fd);
	int status;
	waitpid(p->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ------------------------------------------------------------------ */
/* The screen                                                           */
/* ------------------------------------------------------------------ */

#define SCREEN_ROWS 400
#define SCREEN_COLS 512

typedef struct screen {
	char line[SCREEN_ROWS][SCREEN_COLS];
	int rows;		/* lines written to so far */
	int row, col;
	int unknown;		/* escape sequences the model does not know */
} screen;

/* Applies what faultline wrote: text, \r, \n, ESC[nA (up), ESC[J (clear
 * to the end of the screen), ESC[...m (colours, which show nothing). A
 * line is kept as bytes, a column per byte: faultline erases whole lines
 * from their start, so that is all the model needs. */
static void screen_apply(screen *s, const char *text)
{
	memset(s, 0, sizeof *s);
	s->rows = 1;
	for (const char *p = text; *p; p++) {
		if (*p == '\r') {
			s->col = 0;
		} else if (*p == '\n') {
			if (s->row + 1 < SCREEN_ROWS)
				s->row++;
			if (s->row + 1 > s->rows)
				s->rows = s->row + 1;
		} else if (*p == '\033' && p[1] == '[') {
			const char *q = p + 2;
			int n = 0, have = 0;
			while ((*q >= '0' && *q <= '9') || *q == ';') {
				if (*q != ';') {
					n = n * 10 + (*q - '0');
					have = 1;
				}
				q++;
			}
			if (*q == 'A') {
				s->row -= have ? n : 1;
				if (s->row < 0)
					s->row = 0;
			} else if (*q == 'J') {
				s->line[s->row][s->col] = '\0';
				for (int r = s->row + 1; r < SCREEN_ROWS; r++)
					s->line[r][0] = '\0';
				s->rows = s->row + 1;
			} else if (*q != 'm') {
				s->unknown++;
			}
			if (!*q)
				break;
			p = q;
		} else if (s->col < SCREEN_COLS - 1) {
			char *l = s->line[s->row];
			size_t len = strlen(l);
			while ((int)len < s->col)
				l[len++] = ' ';
			l[s->col] = *p;
			if ((int)len <= s->col)
				l[s->col + 1] = '\0';
			s->col++;
		}
	}
}

/* The screen's lines as one text, a line each. */
static char *screen_text(const screen *s)
{
	size_t cap = (size_t)s->rows * (SCREEN_COLS + 1) + 1, len = 0;
	char *out = malloc(cap);
	out[0] = '\0';
	for (int r = 0; r < s->rows; r++)
		len += (size_t)snprintf(out + len, cap - len, "%s\n", s->line[r]);
	return out;
}

/* A live line on the screen: a phase in its first columns. */
static int live_lines(const screen *s)
{
	static const char *const phases[] = {"loading", "starting", "running",
					     "baseline", "fault window",
					     "recovery", "stopping"};
	int n = 0;
	for (int r = 0; r < s->rows; r++)
		for (size_t k = 0; k < sizeof phases / sizeof phases[0]; k++)
			if (!strncmp(s->line[r] + 2, phases[k], strlen(phases[k])) &&
			    !strncmp(s->line[r], "  ", 2))
				n++;
	return n;
}

/* ------------------------------------------------------------------ */

/* Three scenarios: one passes with a fault window, one fails two
 * expectations, one leaks nothing but ends quickly. */
static void write_suite(const char *path)
{
	tu_write(path,
		 "local tgt = '" TGT "'\n"
		 "return {\n"
		 "  { name = 'console: windowed pass',\n"
		 "    target = { cmd = { tgt, '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.2)\n"
		 "      t:fault('posix/io/oc/open', { p = 1, optional = 'nothing may open' })\n"
		 "      t:sleep(0.3)\n"
		 "      t:clear()\n"
		 "    end },\n"
		 "  { name = 'console: two failures',\n"
		 "    target = { cmd = { tgt, '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.2)\n"
		 "      t:tcp('LEAKFD 7\\n')\n"
		 "      t:tcp('THREADS 2 stuck\\n')\n"
		 "      t:sleep(0.3)\n"
		 "      t:stop()\n"
		 "      t:expect { leaked = { fds = 0, threads = 0 } }\n"
		 "    end },\n"
		 "  { name = 'console: quick',\n"
		 "    target = { cmd = { tgt, '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t) end },\n"
		 "}\n");
}

/* On a terminal: each scenario's live line is drawn (with its phases),
 * erased with the cursor moves, and at the end the screen holds every
 * result line and the closing line and no live line. */
Test(console, live_lines_on_a_terminal_then_cleared, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/suite.lua", e.dir);
	write_suite(path);
	const char *args[] = {"run", "-j", "2", "--report-dir", e.reports, path, NULL};
	pty_proc p = pty_start(args, e.tmp, NULL);
	int status = pty_finish(&p, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, p.buf);

	/* Drawn: the first line of each is "loading" with its file's
	 * scenario; the windowed one showed its window. */
	cr_assert(strstr(p.buf, "loading"), "%s", p.buf);
	cr_assert(strstr(p.buf, "fault window") , "%s", p.buf);
	cr_assert(strstr(p.buf, "console: windowed pass"), "%s", p.buf);
	/* Erased: the cursor went up over them and cleared below. */
	cr_assert(strstr(p.buf, "A\033[J"), "%s", p.buf);

	screen s;
	screen_apply(&s, p.buf);
	char *shown = screen_text(&s);
	cr_assert_eq(s.unknown, 0, "%s", p.buf);
	cr_assert_eq(live_lines(&s), 0, "a live line is left:\n%s", shown);
	cr_assert(strstr(shown, "PASS   console: windowed pass"), "%s", shown);
	cr_assert(strstr(shown, "FAIL   console: two failures"), "%s", shown);
	cr_assert(strstr(shown, "PASS   console: quick"), "%s", shown);
	/* Both failures, briefly, under the result line. */
	cr_assert(strstr(shown, "leaked 7 fds (allowed 0)"), "%s", shown);
	cr_assert(strstr(shown, "leaked 2 threads (allowed 0)"), "%s", shown);
	cr_assert(strstr(shown, "re-run: "), "%s", shown);
	cr_assert(strstr(shown, "2 passed, 1 failed"), "%s", shown);
	/* The closing line is the last thing on the screen. */
	const char *closing = strstr(shown, "2 passed, 1 failed");
	cr_assert_null(strstr(closing, "\n  "), "%s", shown);
	/* A terminal gets colour without NO_COLOR. */
	cr_assert(strstr(p.buf, "\033[32mPASS"), "%s", p.buf);
	free(shown);
	free(p.buf);
	tu_env_free(&e);
}

/* Not a terminal (a pipe), or -q on one: no live line, no cursor moves. */
Test(console, no_live_lines_through_a_pipe_or_with_q, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/suite.lua", e.dir);
	write_suite(path);
	char *out;
	const char *args[] = {path, NULL};
	cr_assert_eq(tu_env_run(&e, args, &out, 100), 1, "%s", out);
	cr_assert_null(strchr(out, '\033'), "%s", out);
	cr_assert_null(strstr(out, "loading"), "%s", out);
	cr_assert(strstr(out, "PASS   console: windowed pass"), "%s", out);
	cr_assert(strstr(out, "FAIL   console: two failures"), "%s", out);
	free(out);

	const char *qargs[] = {"run", "-q", "--report-dir", e.reports, path, NULL};
	pty_proc p = pty_start(qargs, e.tmp, NULL);
	int status = pty_finish(&p, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, p.buf);
	cr_assert_null(strstr(p.buf, "\033[J"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "loading"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "fault window"), "%s", p.buf);
	/* -q: the failure and the closing line only. */
	cr_assert(strstr(p.buf, "FAIL"), "%s", p.buf);
	cr_assert(strstr(p.buf, "console: two failures"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "console: quick"), "%s", p.buf);
	cr_assert(strstr(p.buf, "2 passed, 1 failed"), "%s", p.buf);
	free(p.buf);

	/* TERM=dumb: a terminal that cannot move its cursor or colour. */
	const char *dargs[] = {"run", "--report-dir", e.reports, path, NULL};
	p = pty_start_term(dargs, e.tmp, NULL, "dumb");
	status = pty_finish(&p, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, p.buf);
	cr_assert_null(strchr(p.buf, '\033'), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "loading"), "%s", p.buf);
	cr_assert(strstr(p.buf, "PASS   console: quick"), "%s", p.buf);
	free(p.buf);
	tu_env_free(&e);
}

/* NO_COLOR set and not empty: no colour on a terminal, from run, replay
 * and sweep; the live lines stay (they are not colour). Empty, as
 * no-color.org says, it asks for nothing. */
Test(console, no_color_is_honoured_by_run_replay_and_sweep, .timeout = 200)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/fail.lua", e.dir);
	tu_write(path,
		 "return { name = 'console: close faults',\n"
		 "  target = { cmd = { '" TGT "', '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "  run = function(t)\n"
		 "    t:settle(0.2)\n"
		 "    t:fault('posix/io/oc/close', { p = 1 })\n"
		 "    t:check(t:tcp('CLOSEBURST 5\\n') == 'none failed', 'closes failed')\n"
		 "    t:clear()\n"
		 "  end }\n");
	const char *args[] = {"run", "--report-dir", e.reports, path, NULL};
	pty_proc p = pty_start(args, e.tmp, "1");
	int status = pty_finish(&p, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, p.buf);
	cr_assert(strstr(p.buf, "A\033[J"), "the live lines stay:\n%s", p.buf);
	cr_assert(strstr(p.buf, "FAIL   console: close faults"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "\033[3"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "\033[0m"), "%s", p.buf);
	free(p.buf);

	/* NO_COLOR empty: colour. */
	p = pty_start(args, e.tmp, "");
	status = pty_finish(&p, 100);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, p.buf);
	cr_assert(strstr(p.buf, "\033[31mFAIL"), "%s", p.buf);
	free(p.buf);

	/* replay of the failed run's journal, both ways. */
	char journal[PATH_MAX + 64];
	snprintf(journal, sizeof journal, "%s/latest/journal-1.json", e.reports);
	const char *rargs[] = {"replay", "--no-report", journal, NULL};
	p = pty_start(rargs, e.tmp, "1");
	status = pty_finish(&p, 100);
	cr_assert(strstr(p.buf, "FAIL   console: close faults"), "%s", p.buf);
	cr_assert(strstr(p.buf, "A\033[J"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "\033[3"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "\033[0m"), "%s", p.buf);
	free(p.buf);
	p = pty_start(rargs, e.tmp, NULL);
	status = pty_finish(&p, 100);
	cr_assert(strstr(p.buf, "\033[31mFAIL"), "%s", p.buf);
	free(p.buf);

	/* sweep of two close() sites of a batch program, both ways. */
	snprintf(path, sizeof path, "%s/sites.lua", e.dir);
	tu_write(path,
		 "return { name = 'console: sites', seed = 1, timeout = 20,\n"
		 "  target = { cmd = { 'build/tests/targets/sitetgt', '--loops', '3' },\n"
		 "             autostart = false, exits = true },\n"
		 "  run = function(t)\n"
		 "    t:fault('posix/io/oc/close', { p = 0 })\n"
		 "    t:start()\n"
		 "    t:wait_exit(10)\n"
		 "    t:expect { exit = 0 }\n"
		 "  end }\n");
	const char *sargs[] = {"sweep", "--no-report", "--budget", "2", path, NULL};
	p = pty_start(sargs, e.tmp, "1");
	status = pty_finish(&p, 150);
	cr_assert(strstr(p.buf, "sweep: "), "exit %d:\n%s", status, p.buf);
	cr_assert(strstr(p.buf, "[2/2]"), "exit %d:\n%s", status, p.buf);
	cr_assert(strstr(p.buf, "reference run"), "the live line:\n%s", p.buf);
	cr_assert(strstr(p.buf, "A\033[J"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "\033[3"), "%s", p.buf);
	cr_assert_null(strstr(p.buf, "\033[0m"), "%s", p.buf);
	screen s;
	screen_apply(&s, p.buf);
	cr_assert_eq(live_lines(&s), 0, "%s", p.buf);
	free(p.buf);
	p = pty_start(sargs, e.tmp, NULL);
	status = pty_finish(&p, 150);
	cr_assert(strstr(p.buf, "[1/2] \033[3"), "exit %d:\n%s", status, p.buf);
	free(p.buf);
	tu_env_free(&e);
}

/* SIGINT while a scenario runs: the run ends as interrupted and the
 * terminal is left with no live line. A second signal, sent once the
 * first has the target stopping (a target that ignores SIGTERM keeps it
 * there for the error grace period), ends faultline at once: no live
 * line either. Whichever way the second run ended, the screen must be
 * clean. */
Test(console, an_interrupt_leaves_the_terminal_clean, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/long.lua", e.dir);
	tu_write(path,
		 "return { name = 'console: long',\n"
		 "  target = { cmd = { '" TGT "', '--port', '{port}', '--ignore-term' },\n"
		 "             ready = { stdout = 'READY' } },\n"
		 "  run = function(t)\n"
		 "    t:fault('posix/io/oc/open', { p = 1, optional = 'nothing may open' })\n"
		 "    t:sleep(60)\n"
		 "  end }\n");
	int second_seen = 0;
	for (int signals = 1; signals <= 2; signals++) {
		const char *args[] = {"run", "--report-dir", e.reports, path, NULL};
		pty_proc p = pty_start(args, e.tmp, NULL);
		/* The event: its window is open, on the screen. */
		cr_assert(pty_read_until(&p, "fault window", 60), "%s", p.buf);
		kill(p.pid, SIGINT);
		if (signals == 2) {
			cr_assert(pty_read_until(&p, "stopping", 60), "%s", p.buf);
			kill(p.pid, SIGINT);
		}
		int status = pty_finish(&p, 60);
		cr_assert_eq(status, 128 + SIGINT, "%d signals: exit %d:\n%s", signals,
			     status, p.buf);
		screen s;
		screen_apply(&s, p.buf);
		char *shown = screen_text(&s);
		cr_assert_eq(live_lines(&s), 0, "%d signals: a live line is left:\n%s",
			     signals, shown);
		if (signals == 1)
			cr_assert(strstr(shown, "ERROR  console: long") &&
					  strstr(shown, "faultline: interrupted by"),
				  "%s", shown);
		else
			second_seen = strstr(shown, "second signal, exiting now") != NULL;
		cr_assert(strstr(shown, "interrupted by") || strstr(shown, "second signal"),
			  "%s", shown);
		free(shown);
		free(p.buf);
	}
	/* Said, not judged: a slow machine may finish the grace period
	 * before the second signal comes. */
	if (!second_seen)
		cr_log_warn("the second signal came after the run had ended");
	tu_env_free(&e);
}

/* Every failed expectation on the console, briefly; -v adds each in
 * full; the re-run hint only where a re-run makes sense. */
Test(console, briefs_and_rerun_hints, .timeout = 120)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/mixed.lua", e.dir);
	tu_write(path,
		 "local tgt = '" TGT "'\n"
		 "return {\n"
		 "  { name = 'console: three failures',\n"
		 "    target = { cmd = { tgt, '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.2)\n"
		 "      t:tcp('LEAKFD 37\\n')\n"
		 "      t:sleep(0.2)\n"
		 "      t:check(false, 'the answer was wrong')\n"
		 "      t:stop()\n"
		 "      t:expect { leaked = { fds = 0 }, exit = 3 }\n"
		 "    end },\n"
		 "  { name = 'console: no such key', targte = {}, run = function(t) end },\n"
		 "  { name = 'console: missing program',\n"
		 "    target = { cmd = { 'build/tests/targets/no-such-program' } },\n"
		 "    run = function(t) end },\n"
		 "  { name = 'console: script error after start',\n"
		 "    target = { cmd = { tgt, '--port', '{port}' }, ready = { stdout = 'READY' } },\n"
		 "    run = function(t) error('boom') end },\n"
		 "}\n");
	char *out;
	const char *args[] = {path, NULL};
	cr_assert_eq(tu_env_run(&e, args, &out, 100), 2, "%s", out);
	/* The three failures under the result line, briefly. */
	const char *fail = strstr(out, "FAIL   console: three failures");
	cr_assert_not_null(fail, "%s", out);
	const char *next = strstr(fail, "\nERROR");
	cr_assert_not_null(next, "%s", out);
	char *block = strndup(fail, (size_t)(next - fail));
	cr_assert(strstr(block, "leaked 37 fds (allowed 0)"), "%s", block);
	cr_assert(strstr(block, "the answer was wrong"), "%s", block);
	cr_assert(strstr(block, "exit status: "), "%s", block);
	/* Each once: the briefs are the verdict's message too. */
	cr_assert_eq(tu_count(block, "the answer was wrong"), 1, "%s", block);
	cr_assert(strstr(block, "re-run: "), "%s", block);
	free(block);

	/* A load error and a program that cannot run: no re-run hint; a
	 * script error after the target started: one. */
	const char *s;
	s = strstr(out, "ERROR  console: no such key");
	cr_assert_not_null(s, "%s", out);
	next = strstr(s + 1, "\nERROR");
	block = strndup(s, next ? (size_t)(next - s) : strlen(s));
	cr_assert(strstr(block, "unknown field 'targte'"), "%s", block);
	cr_assert_null(strstr(block, "re-run"), "%s", block);
	free(block);
	s = strstr(out, "ERROR  console: missing program");
	cr_assert_not_null(s, "%s", out);
	next = strstr(s + 1, "\nERROR");
	block = strndup(s, next ? (size_t)(next - s) : strlen(s));
	cr_assert_null(strstr(block, "re-run"), "%s", block);
	free(block);
	s = strstr(out, "ERROR  console: script error after start");
	cr_assert_not_null(s, "%s", out);
	cr_assert(strstr(s, "boom"), "%s", s);
	cr_assert(strstr(s, "re-run: "), "%s", s);
	free(out);

	/* -v: each failure in full, the list of what leaked included. */
	char single[PATH_MAX + 40];
	snprintf(single, sizeof single, "%s#1", path);
	const char *vargs[] = {"-v", single, NULL};
	cr_assert_eq(tu_env_run(&e, vargs, &out, 100), 1, "%s", out);
	cr_assert(strstr(out, "failed: leaked fds"), "%s", out);
	cr_assert(strstr(out, "37 x /dev/null"), "%s", out);
	free(out);
	tu_env_free(&e);
}
