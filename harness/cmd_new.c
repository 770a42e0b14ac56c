/* faultline new NAME -- CMD...: writes a starting scenario for a command,
 * one that runs as written: it starts CMD, waits until it is ready, probes
 * its health, opens a first fault window on a point the program's calls
 * reach (read from its binary, as `faultline points` does), expects it to
 * recover, stops it and expects no leaked fds or threads. Every part
 * carries a comment that says what to change. */
#define _GNU_SOURCE
#include "cli.h"
#include "points.h"
#include "target.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char new_usage[] =
	"usage: faultline new [options] NAME -- CMD [ARG...]\n"
	"\n"
	"Writes NAME.lua (NAME itself when it ends in .lua), a starting\n"
	"scenario for the command CMD that runs as written: it starts CMD,\n"
	"waits until it is ready, probes its health, fails some calls of a\n"
	"failure point CMD's binary reaches for 2 s, expects it to recover,\n"
	"stops it and expects no leaked fds or threads. Run it with\n"
	"'faultline run NAME.lua', then make it yours: each part says what to\n"
	"change.\n"
	"\n"
	"Write the port CMD should listen on as {port} (faultline picks a free\n"
	"one per run): the scenario then waits until the port accepts, probes\n"
	"it, and fails accept() calls. Without {port} it starts CMD, waits\n"
	"1 s and fails some of its writes.\n"
	"\n"
	"options:\n"
	"  -f, --force   overwrite the file if it exists\n"
	"  -h, --help    this text\n"
	"\n"
	"exit status: 0 written, 2 bad usage, a command that cannot be run or\n"
	"a file that could not be written.\n";

/* The first fault window's point, by preference: a server's accept calls
 * (the health probe's connections make them while the window is open),
 * else the calls any program makes. */
struct window {
	const char *point, *errno_name, *what;
};

static const struct window server_windows[] = {
	{"posix/io/net/accept4", "EMFILE", "accept4() fails as if the process had run out of fds"},
	{"posix/io/net/accept", "EMFILE", "accept() fails as if the process had run out of fds"},
};

static const struct window other_windows[] = {
	{"posix/io/rw/write", "EIO", "write() fails with an I/O error"},
	{"posix/io/rw/read", "EIO", "read() fails with an I/O error"},
	{"posix/io/oc/open", "EMFILE", "open() fails as if the process had run out of fds"},
	{"libc/mm/malloc", "ENOMEM", "malloc() returns NULL"},
};

/* A Lua string literal of s: quoted, every byte that could end or bend it
 * escaped. */
static void lua_quote(fl_buf *b, const char *s)
{
	fl_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fl_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			fl_buf_puts(b, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			fl_buf_printf(b, "\\%03d", *p);
		else
			fl_buf_putc(b, (char)*p);
	}
	fl_buf_putc(b, '"');
}

/* Text for a comment line: control characters (a newline would end the
 * comment) become '?'. */
static void comment_text(fl_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fl_buf_putc(b, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
}

/* The first "{port}" or "{port:NAME}" in the command, malloc'd, or NULL. */
static char *port_placeholder(char **cmd, int n)
{
	for (int i = 0; i < n; i++) {
		const char *p = strstr(cmd[i], "{port");
		for (; p; p = strstr(p + 1, "{port")) {
			size_t len = strcspn(p, "}");
			if (p[len] == '}' && (p[5] == '}' || p[5] == ':'))
				return strndup(p, len + 1);
		}
	}
	return NULL;
}

/* The program whose calls a command makes: the file itself, or for a
 * script the interpreter its "#!" line names ("#!/usr/bin/env python3":
 * python3 in PATH). malloc'd, or NULL. */
static char *program_of(const char *path)
{
	char head[256] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, head, sizeof head - 1);
	close(fd);
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return fl_xstrdup(path);
	head[n] = '\0';
	head[strcspn(head, "\n")] = '\0';
	char *save, *interp = strtok_r(head + 2, " \t", &save);
	if (!interp)
		return NULL;
	const char *base = strrchr(interp, '/');
	if (base && !strcmp(base + 1, "env")) {
		char *arg = strtok_r(NULL, " \t", &save);
		while (arg && arg[0] == '-')
			arg = strtok_r(NULL, " \t", &save);
		return arg ? fl_target_resolve(arg) : NULL;
	}
	return fl_target_resolve(interp);
}

/* The window for this program: the first of the list its calls reach.
 * *checked says whether its binary could be read at all (else the
 * first of the list is taken on trust). */
static const struct window *pick_window(const char *program, int server,
					int *checked)
{
	const struct window *list = server ? server_windows : other_windows;
	size_t n = server ? sizeof server_windows / sizeof server_windows[0]
			  : sizeof other_windows / sizeof other_windows[0];
	fl_points_reach reach;
	*checked = program && fl_points_reach_of(program, &reach) == 0;
	if (!*checked)
		return &list[0];
	const struct window *w = NULL;
	for (size_t i = 0; i < n && !w; i++)
		if (fl_points_reaches(&reach, list[i].point))
			w = &list[i];
	/* A server that accepts through neither call: a call any program
	 * makes. */
	for (size_t i = 0; !w && i < sizeof other_windows / sizeof other_windows[0]; i++)
		if (fl_points_reaches(&reach, other_windows[i].point))
			w = &other_windows[i];
	fl_points_reach_free(&reach);
	return w ? w : &list[0];
}

/* The scenario's text. */
static void scenario_text(fl_buf *b, const char *name, char **cmd, int ncmd,
			  const char *port, const struct window *w, int checked,
			  const char *program)
{
	fl_buf_puts(b, "-- A starting scenario for");
	for (int i = 0; i < ncmd; i++) {
		fl_buf_putc(b, ' ');
		comment_text(b, cmd[i]);
	}
	fl_buf_printf(b, ",\n"
			 "-- written by `faultline new`. It runs as written; then make it yours.\n"
			 "-- Reference: %s/scenarios.md\n"
			 "---@type faultline.Scenario\n"
			 "return {\n"
			 "  name    = ",
		      fl_doc_dir());
	lua_quote(b, name);
	fl_buf_puts(b, ",\n"
		       "  tags    = { \"new\" },\n"
		       "  seed    = 1,          -- every fault decision follows from it\n"
		       "  timeout = 60,\n"
		       "  target  = {\n"
		       "    cmd    = {");
	for (int i = 0; i < ncmd; i++) {
		fl_buf_puts(b, i ? ", " : " ");
		lua_quote(b, cmd[i]);
	}
	fl_buf_puts(b, " },\n");
	if (port) {
		fl_buf_puts(b, "    -- Ready once the port accepts a connection; or wait for a line it\n"
			       "    -- prints: ready = { stdout = \"listening\" }.\n"
			       "    ready  = { port = ");
		lua_quote(b, port);
		fl_buf_puts(b, ", timeout = 10 },\n"
			       "    -- Healthy while the port accepts; ask something real with\n"
			       "    -- send = \"PING\\n\", expect = \"PONG\", or http = \"/health\".\n"
			       "    health = { tcp = ");
		lua_quote(b, port);
		fl_buf_puts(b, ", interval = 0.1 },\n");
	} else {
		fl_buf_puts(b, "    -- Ready at once. Better: a line it prints when it is,\n"
			       "    -- ready = { stdout = \"ready\" }; a port it listens on, written as\n"
			       "    -- {port} in cmd, with ready = { port = \"{port}\" } and\n"
			       "    -- health = { tcp = \"{port}\" }. For a job that ends by itself:\n"
			       "    -- exits = true.\n");
	}
	fl_buf_puts(b, "  },\n"
		       "  -- The steady state it must come back to after each fault window: its\n"
		       "  -- fds and threads within these margins of the baseline");
	fl_buf_puts(b, port ? ", and health.\n" : ".\n");
	fl_buf_printf(b, "  steady  = { fds = \"+2\", threads = \"+0\"%s },\n",
		      port ? ", health = true" : "");
	fl_buf_puts(b, "  run = function(t)\n");
	fl_buf_printf(b, "    t:settle(%s)             -- the baseline, once it has started\n",
		      port ? "0.5" : "1.0");
	fl_buf_printf(b, "    -- The first fault window: %s.\n", w->what);
	if (!checked) {
		fl_buf_puts(b, "    -- (faultline could not read ");
		comment_text(b, program);
		fl_buf_puts(b, " to see which points its\n"
			       "    -- calls reach: `faultline points PROGRAM` lists them.)\n");
	} else {
		fl_buf_puts(b, "    -- `faultline points ");
		comment_text(b, program);
		fl_buf_puts(b, "` lists the others its calls reach.\n");
	}
	if (!port)
		fl_buf_puts(b, "    -- A window the program never reaches while it is open fails the\n"
			       "    -- scenario with why: make it do something here (t:tcp, a file\n"
			       "    -- it reads) or pick another point.\n");
	fl_buf_printf(b, "    t:fault(\"%s\", { p = 0.5, errno = \"%s\" })\n", w->point,
		      w->errno_name);
	fl_buf_puts(b, "    t:sleep(2)\n"
		       "    t:clear()\n"
		       "    -- Back to the steady state within 2 s (its MTTR is in the report).\n"
		       "    t:expect_recovery { within = 2 }\n"
		       "    t:stop()                -- SIGTERM, then SIGKILL after the grace period\n"
		       "    -- Nothing left behind: the fds and threads of the baseline. Add\n"
		       "    -- exit = 0 if it exits 0 on SIGTERM, rss = \"1MiB\" for memory.\n"
		       "    t:expect { leaked = { fds = 0, threads = 0 } }\n"
		       "  end,\n"
		       "}\n");
}

/* NAME -> NAME.lua unless it ends in .lua; the scenario's name is the
 * file's, without directory and extension. */
static void file_and_name(const char *arg, char *file, size_t flen, char *name,
			  size_t nlen)
{
	size_t len = strlen(arg);
	int has_ext = len > 4 && !strcmp(arg + len - 4, ".lua");
	snprintf(file, flen, "%s%s", arg, has_ext ? "" : ".lua");
	const char *base = strrchr(arg, '/');
	base = base ? base + 1 : arg;
	snprintf(name, nlen, "%.*s", (int)(strlen(base) - (has_ext ? 4 : 0)), base);
}

int fl_cmd_new(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int force = 0, ch;
	optind = 1;
	/* '+': options end at NAME, so CMD's own options stay CMD's. */
	while ((ch = fl_cli_getopt("new", argc, argv, "+fh", longopts)) != -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		case 'h':
			fputs(new_usage, stdout);
			return FL_EXIT_OK;
		default:
			return FL_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return fl_cli_usage_error("new", "no NAME given");
	const char *arg = argv[optind];
	if (optind + 1 >= argc || strcmp(argv[optind + 1], "--") != 0)
		return fl_cli_usage_error("new", "write the command after '--': "
						 "faultline new %s -- CMD [ARG...]",
					  arg);
	char **cmd = argv + optind + 2;
	int ncmd = argc - optind - 2;
	if (ncmd < 1 || !*cmd[0])
		return fl_cli_usage_error("new", "no command after '--'");
	if (!*arg || arg[strlen(arg) - 1] == '/')
		return fl_cli_usage_error("new", "NAME must name a file, not '%s'", arg);

	/* The scenario must run as written: its program must exist. */
	char *resolved = fl_target_resolve(cmd[0]);
	if (!resolved) {
		fprintf(stderr, "faultline new: cannot run '%s': %s\n", cmd[0],
			strchr(cmd[0], '/') ? "not an executable file"
					    : "not found in PATH");
		return FL_EXIT_USAGE;
	}
	char *program = program_of(resolved);
	char *port = port_placeholder(cmd, ncmd);
	int checked;
	const struct window *w = pick_window(program, port != NULL, &checked);

	char file[PATH_MAX], name[256];
	file_and_name(arg, file, sizeof file, name, sizeof name);
	fl_buf text;
	fl_buf_init(&text);
	scenario_text(&text, name, cmd, ncmd, port, w, checked,
		      program ? program : resolved);

	int status = FL_EXIT_OK, err = 0;
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		err = errno;
	} else {
		int r = fl_write_all(fd, text.data, text.len);
		err = r < 0 ? -r : 0;
		if (close(fd) < 0 && !err)
			err = errno;
		if (err)
			unlink(file);	/* no half a scenario */
	}
	if (err) {
		fprintf(stderr, "faultline new: cannot write %s: %s%s\n", file,
			strerror(err), err == EEXIST ? " (--force overwrites it)" : "");
		status = FL_EXIT_USAGE;
	} else {
		printf("wrote %s: %s, then %s for 2 s\n", file,
		       port ? "ready once its port accepts, health probed"
			    : "ready at once",
		       w->point);
		if (!port)
			printf("note: no {port} in the command: if it listens, write "
			       "its port as {port} (e.g. --port {port}) and run "
			       "faultline new again to get a port check and a health "
			       "probe\n");
		printf("run it: faultline run %s\n", file);
	}
	fl_buf_free(&text);
	free(port);
	free(program);
	free(resolved);
	return status;
}
