/* The command line as a new user meets it: a bad option is one line that
 * points at the command's --help, for every command `faultline help`
 * lists; `help CMD` is `CMD --help`; the version carries the release
 * number of GNUmakefile; a tag filter that selects nothing is an error;
 * `faultline new` writes a scenario that checks clean and passes as
 * written; a target that never became ready is described with what it
 * printed; `make install` gives a tree whose help, examples and runtime
 * header work; the man page covers every command, variable and exit
 * status. */
#include "testutil.h"

#include <ctype.h>
#include <regex.h>

/* Runs argv (argv[0] is a path, not replaced) in dir (NULL: here) with
 * the environment of tu_start, stdout and stderr merged into *out. */
static int run_prog(char *const argv[], const char *dir, char **out,
		    double timeout_s)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (dir && chdir(dir) < 0)
			_exit(126);
		setenv("NO_COLOR", "1", 1);
		/* A make started by make check must not take its jobserver. */
		unsetenv("MAKEFLAGS");
		unsetenv("MFLAGS");
		unsetenv("MAKELEVEL");
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	return tu_finish((tu_proc){pid, p[0]}, out, timeout_s);
}

static int lines_of(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The commands `faultline help` lists (not help and version themselves),
 * NULL-terminated, in *cmds (freed by the caller). */
static int listed_commands(char ***cmds)
{
	char *out;
	char *argv[] = {"faultline", "help", NULL};
	cr_assert_eq(tu_run(argv, "/tmp", &out, 20), 0, "%s", out);
	char *list = strstr(out, "commands:\n");
	cr_assert_not_null(list, "%s", out);
	int n = 0;
	*cmds = calloc(64, sizeof **cmds);
	for (char *line = strchr(list, '\n') + 1; *line && *line != '\n' && n < 63;) {
		char *end = strchr(line, '\n');
		if (line[0] == ' ' && line[1] == ' ' && islower((unsigned char)line[2])) {
			size_t len = strcspn(line + 2, " ,\n");
			char *name = strndup(line + 2, len);
			if (strcmp(name, "help") && strcmp(name, "version"))
				(*cmds)[n++] = name;
			else
				free(name);
		}
		if (!end)
			break;
		line = end + 1;
	}
	free(out);
	return n;
}

/* Through bin/faultline, then bin/faultline-asan (its sanitizers exit 99
 * on an error: the dispatch of `help CMD` once read before its array). */
Test(cli, bad_option_is_one_line_for_every_command, .timeout = 90)
{
	char **cmds;
	int n = listed_commands(&cmds);
	cr_assert_geq(n, 11, "only %d commands listed", n);
	for (int i = 0; i < 2 * n; i++) {
		if (i == n)
			setenv("FL_TEST_ASAN", "1", 1);
		char *out, *help, *help2, want[256];
		char *bad[] = {"faultline", cmds[i % n], "--no-such-option", "x", NULL};
		cr_assert_eq(tu_run(bad, "/tmp", &out, 20), 2, "%s: %s", cmds[i % n], out);
		snprintf(want, sizeof want,
			 "faultline %s: unknown option '--no-such-option' (try "
			 "'faultline %s --help')\n",
			 cmds[i % n], cmds[i % n]);
		cr_assert_str_eq(out, want);
		free(out);

		char *h[] = {"faultline", cmds[i % n], "--help", NULL};
		cr_assert_eq(tu_run(h, "/tmp", &help, 20), 0, "%s: %s", cmds[i % n], help);
		snprintf(want, sizeof want, "usage: faultline %s", cmds[i % n]);
		cr_assert(!strncmp(help, want, strlen(want)), "%s --help: %s", cmds[i % n], help);
		cr_assert_gt(lines_of(help), 1);
		char *h2[] = {"faultline", "help", cmds[i % n], NULL};
		cr_assert_eq(tu_run(h2, "/tmp", &help2, 20), 0);
		cr_assert_str_eq(help2, help, "help %s differs from %s --help", cmds[i % n], cmds[i % n]);
		free(help);
		free(help2);
	}
	for (int i = 0; i < n; i++)
		free(cmds[i]);
	free(cmds);
}

/* The other ways an option goes wrong, each one line. */
Test(cli, option_mistakes_name_the_option, .timeout = 30)
{
	static const struct {
		const char *args[4];
		const char *want;
	} cases[] = {
		{{"run", "--seed", NULL}, "faultline run: option '--seed' needs a value"},
		{{"run", "-j", NULL}, "faultline run: option '-j' needs a value"},
		{{"run", "-qz", "x", NULL}, "faultline run: unknown option '-z'"},
		{{"run", "--quiet=1", "x", NULL}, "faultline run: option '--quiet' takes no value"},
		{{"run", "--re", "x", NULL},
		 "faultline run: ambiguous option '--re': --repeat, --report-dir"},
		{{"run", NULL}, "faultline run: no scenario given"},
		{{"trend", "x.json", NULL}, "faultline trend: say where the page goes with -o FILE"},
		{{"new", "x", "ls", NULL}, "faultline new: write the command after '--'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[6] = {"faultline"};
		for (int k = 0; cases[i].args[k]; k++)
			argv[k + 1] = (char *)cases[i].args[k];
		char *out;
		cr_assert_eq(tu_run(argv, "/tmp", &out, 20), 2, "%s", out);
		cr_assert(!strncmp(out, cases[i].want, strlen(cases[i].want)), "%s", out);
		cr_assert_eq(lines_of(out), 1, "%s", out);
		cr_assert(strstr(out, "(try 'faultline "), "%s", out);
		free(out);
	}
}

Test(cli, version_has_the_release_number, .timeout = 30)
{
	char *mk = tu_slurp("GNUmakefile");
	char *rel = strstr(mk, "\nRELEASE := ");
	cr_assert_not_null(rel, "GNUmakefile has no RELEASE");
	rel += strlen("\nRELEASE := ");
	char release[32];
	snprintf(release, sizeof release, "%.*s", (int)strcspn(rel, "\n"), rel);
	regex_t re;
	cr_assert_eq(regcomp(&re,
			     "^faultline [0-9]+\\.[0-9]+\\.[0-9]+( \\(git [0-9a-f]{7,}(-dirty)?\\))?\n$",
			     REG_EXTENDED | REG_NOSUB),
		     0);
	char *first = NULL;
	const char *forms[] = {"--version", "-V", "version"};
	for (int i = 0; i < 3; i++) {
		char *out;
		char *argv[] = {"faultline", (char *)forms[i], NULL};
		cr_assert_eq(tu_run(argv, "/tmp", &out, 20), 0, "%s", out);
		cr_assert_eq(regexec(&re, out, 0, NULL, 0), 0, "%s: %s", forms[i], out);
		char want[64];
		snprintf(want, sizeof want, "faultline %s", release);
		cr_assert(!strncmp(out, want, strlen(want)) &&
				  (out[strlen(want)] == '\n' || out[strlen(want)] == ' '),
			  "%s is not release %s", out, release);
		if (first)
			cr_assert_str_eq(out, first);
		free(first);
		first = out;
	}
	free(first);
	regfree(&re);
	free(mk);
}

Test(cli, tags_that_select_nothing_are_an_error, .timeout = 30)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/tagged.lua", e.dir);
	tu_write(path, "local tgt = 'build/tests/targets/tgt'\n"
		       "return {\n"
		       "  { name = 'a', tags = { 'smoke', 'net' }, target = { cmd = { tgt } },\n"
		       "    run = function(t) end },\n"
		       "  { name = 'b', tags = { 'fd', 'smoke' }, target = { cmd = { tgt } },\n"
		       "    run = function(t) end },\n"
		       "}\n");
	char *out;
	const char *args[] = {"--tags", "nosuch,smok", path, NULL};
	cr_assert_eq(tu_env_run(&e, args, &out, 30), 2, "%s", out);
	cr_assert_str_eq(out, "faultline run: no scenario carries the tags 'nosuch,smok'; "
			      "the tags there are: fd, net, smoke\n");
	/* Nothing ran and no report was written. */
	cr_assert_eq(tu_count_entries(e.reports), -1, "a report directory was made");
	free(out);
	tu_env_free(&e);
}

/* What a file holds, for comparing before and after. */
static char *file_or_empty(const char *path)
{
	return access(path, F_OK) == 0 ? tu_slurp(path) : strdup("");
}

Test(cli, new_writes_a_scenario_that_runs_as_written, .timeout = 90)
{
	tu_env e = tu_env_new();
	char name[PATH_MAX], file[PATH_MAX + 8], *out;
	snprintf(name, sizeof name, "%s/myserver", e.dir);
	snprintf(file, sizeof file, "%s.lua", name);
	/* An argument Lua must get back byte for byte. */
	const char *hostile = "say \"hi\" \\ then\nnext line";
	char *argv[] = {"faultline", "new", name, "--", "build/tests/targets/tgt",
			"--port", "{port}", "--print", (char *)hostile, NULL};
	cr_assert_eq(tu_run(argv, e.tmp, &out, 30), 0, "%s", out);
	cr_assert(strstr(out, "posix/io/net/accept4"), "%s", out);
	free(out);
	char *text = tu_slurp(file);
	cr_assert(strstr(text, "\n    ready  = { port = \"{port}\""), "%s", text);
	cr_assert(strstr(text, "\n    health = { tcp = \"{port}\""), "%s", text);
	cr_assert(strstr(text, "t:fault(\"posix/io/net/accept4\""), "%s", text);
	cr_assert(strstr(text, "t:expect { leaked = { fds = 0, threads = 0 } }"), "%s", text);

	char *check[] = {"faultline", "check", file, NULL};
	cr_assert_eq(tu_run(check, e.tmp, &out, 30), 0, "%s", out);
	cr_assert(strstr(out, "1 scenario checked, 0 findings"), "%s", out);
	free(out);

	const char *args[] = {file, NULL};
	cr_assert_eq(tu_env_run(&e, args, &out, 60), 0, "%s\n%s", out, text);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "myserver");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	json_t *pt = json_object_get(json_object_get(s, "points"), "posix/io/net/accept4");
	cr_assert_gt(tu_num(pt, "fired"), 0, "the window never fired");
	json_t *t0 = json_array_get(json_object_get(s, "targets"), 0);
	char want[128];
	snprintf(want, sizeof want, "%s\nREADY", hostile);
	cr_assert(strstr(tu_str(json_object_get(t0, "output"), "stdout_tail"), want),
		  "the argument did not survive quoting");
	json_decref(doc);
	free(out);

	/* It never overwrites a scenario, unless told to. */
	char *again[] = {"faultline", "new", name, "--", "build/tests/targets/tgt", NULL};
	cr_assert_eq(tu_run(again, e.tmp, &out, 30), 2, "%s", out);
	cr_assert(strstr(out, "File exists (--force overwrites it)"), "%s", out);
	free(out);
	char *now = file_or_empty(file);
	cr_assert_str_eq(now, text);
	free(now);
	char *forced[] = {"faultline", "new", "--force", name, "--", "build/tests/targets/tgt",
			  NULL};
	cr_assert_eq(tu_run(forced, e.tmp, &out, 30), 0, "%s", out);
	/* Without {port}: no port check or probe, and it says how to get
	 * them; still a scenario that checks clean. */
	cr_assert(strstr(out, "no {port} in the command"), "%s", out);
	free(out);
	now = tu_slurp(file);
	cr_assert_null(strstr(now, "\n    ready  = {"), "%s", now);
	cr_assert_null(strstr(now, "\n    health = {"), "%s", now);
	cr_assert_eq(tu_run(check, e.tmp, &out, 30), 0, "%s\n%s", out, now);
	free(out);
	free(now);

	char *missing[] = {"faultline", "new", name, "--", "build/tests/targets/no-such", NULL};
	cr_assert_eq(tu_run(missing, e.tmp, &out, 30), 2, "%s", out);
	cr_assert(strstr(out, "cannot run 'build/tests/targets/no-such'"), "%s", out);
	free(out);
	free(text);
	tu_env_free(&e);
}

/* A target that never became ready: the message says what it printed
 * last (a few lines, bounded), and asks about {port} when the command
 * never mentions it. */
Test(cli, not_ready_shows_what_the_target_printed, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/notready.lua", e.dir);
	tu_write(path,
		 "local tgt = 'build/tests/targets/tgt'\n"
		 "return {\n"
		 "  { name = 'port never told',\n"
		 "    target = { cmd = { tgt, '--print', 'config loaded' },\n"
		 "               ready = { port = '{port}', timeout = 0.3 } },\n"
		 "    run = function(t) end },\n"
		 "  { name = 'chatty',\n"
		 "    target = { cmd = { tgt, '--no-ready', '--spam', '50', '--print',\n"
		 "                       string.rep('x', 400) },\n"
		 "               ready = { stdout = 'LISTENING', timeout = 0.3 } },\n"
		 "    run = function(t) end },\n"
		 "  { name = 'told its port',\n"
		 "    target = { cmd = { tgt, '--no-ready', '--listen-after', '5000', '--port', '{port}' },\n"
		 "               ready = { port = '{port}', timeout = 0.3 } },\n"
		 "    run = function(t) end },\n"
		 "}\n");
	char *out;
	const char *args[] = {path, NULL};
	cr_assert_eq(tu_env_run(&e, args, &out, 40), 2, "%s", out);
	json_t *doc = tu_latest(&e);

	const char *m = tu_str(tu_scenario(doc, "port never told"), "message");
	cr_assert(strstr(m, "not accepting (is {port} in target.cmd? neither the command "
			    "nor target.env mentions it"),
		  "%s", m);
	cr_assert(strstr(m, "\n  stdout: config loaded\n  stdout: READY pid="), "%s", m);
	cr_assert(strstr(m, "\n  stderr: config loaded"), "%s", m);

	/* 51 lines on stdout and a 400-byte one on stderr: four lines in
	 * all, stdout's three last, a line cut at 160 bytes. */
	m = tu_str(tu_scenario(doc, "chatty"), "message");
	cr_assert(strstr(m, "no line containing 'LISTENING' on stdout; it printed (the last "
			    "lines):\n  stdout: spam line 47"),
		  "%s", m);
	cr_assert(strstr(m, "\n  stdout: spam line 48"), "%s", m);
	cr_assert(strstr(m, "\n  stdout: spam line 49"), "%s", m);
	cr_assert_null(strstr(m, "spam line 46"), "%s", m);
	cr_assert_eq(lines_of(m), 4, "%s", m);
	char cut[200];
	snprintf(cut, sizeof cut, "\n  stderr: %.*s...", 160,
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	cr_assert(strstr(m, cut), "%s", m);

	m = tu_str(tu_scenario(doc, "told its port"), "message");
	cr_assert(strstr(m, "not accepting; it printed nothing"), "%s", m);
	cr_assert_null(strstr(m, "is {port} in"), "%s", m);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* make install into a fresh prefix: the installed faultline finds its
 * agent from its own place, its help names the installed documents, the
 * examples run as written from anywhere, the runtime's header is
 * <faultline/flrt.h>. */
Test(cli, install_tree_works_as_installed, .timeout = 120)
{
	char *dir = tu_tempdir(), prefix[PATH_MAX], arg[PATH_MAX + 16], *out;
	snprintf(prefix, sizeof prefix, "%s/usr", dir);
	snprintf(arg, sizeof arg, "PREFIX=%s", prefix);
	char *make[] = {"make", "-s", "--no-print-directory", "install", arg, NULL};
	cr_assert_eq(run_prog(make, NULL, &out, 100), 0, "%s", out);
	free(out);

	char bin[PATH_MAX + 32], docs[PATH_MAX + 32], want[PATH_MAX + 64];
	snprintf(bin, sizeof bin, "%s/bin/faultline", prefix);
	snprintf(docs, sizeof docs, "%s/share/doc/faultline", prefix);
	char *help[] = {bin, "--help", NULL};
	cr_assert_eq(run_prog(help, dir, &out, 20), 0, "%s", out);
	snprintf(want, sizeof want, "Scenario reference: %s/scenarios.md\n", docs);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof want, "Examples: %s/examples/\n", docs);
	cr_assert(strstr(out, want), "%s", out);
	cr_assert_null(strstr(out, " docs/"), "%s", out);
	free(out);
	snprintf(want, sizeof want, "%s/scenarios.md", docs);
	cr_assert_eq(access(want, R_OK), 0, "%s", want);
	snprintf(want, sizeof want, "%s/share/man/man1/faultline.1", prefix);
	cr_assert_eq(access(want, R_OK), 0, "%s", want);
	snprintf(want, sizeof want, "%s/lib/faultline/faultline-agent.so", prefix);
	cr_assert_eq(access(want, R_OK), 0, "%s", want);
	snprintf(want, sizeof want, "%s/share/faultline/types/faultline.lua", prefix);
	cr_assert_eq(access(want, R_OK), 0, "%s", want);

	/* The examples: at least three, run from another directory. */
	char examples[PATH_MAX + 32];
	snprintf(examples, sizeof examples, "%s/examples", docs);
	cr_assert_geq(tu_count_entries(examples), 4, "%s", examples);
	char *run[] = {bin, "run", "-j", "3", "--no-report", examples, NULL};
	int status = run_prog(run, dir, &out, 90);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "2 passed, 0 failed, 1 xfailed"), "%s", out);
	free(out);

	/* A program of one's own against the installed runtime. */
	char src[PATH_MAX + 16], prog[PATH_MAX + 16], inc[PATH_MAX + 16], lib[PATH_MAX + 32];
	snprintf(src, sizeof src, "%s/p.c", dir);
	snprintf(prog, sizeof prog, "%s/p", dir);
	snprintf(inc, sizeof inc, "-I%s/include", prefix);
	snprintf(lib, sizeof lib, "%s/lib/faultline/libflrt.a", prefix);
	tu_write(src, "#include <faultline/flrt.h>\n"
		      "int main(void) { return 0; }\n");
	char *cc[] = {"cc", "-std=c11", "-Werror", inc, "-o", prog, src, lib, "-lfiu",
		      "-lpthread", NULL};
	cr_assert_eq(run_prog(cc, NULL, &out, 60), 0, "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* The text between ".SH TITLE" and the next ".SH". */
static char *man_section(const char *man, const char *title)
{
	char head[64];
	snprintf(head, sizeof head, "\n.SH %s\n", title);
	const char *p = strstr(man, head);
	cr_assert_not_null(p, "the man page has no %s section", title);
	p += strlen(head);
	const char *end = strstr(p, "\n.SH ");
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

/* The manual keeps up with the code: a SYNOPSIS line for every command
 * `faultline help` lists, every variable the harness reads in
 * ENVIRONMENT, every exit status and verdict that makes one. */
Test(cli, man_page_covers_commands_environment_and_exit_status, .timeout = 30)
{
	char *man = tu_slurp("docs/faultline.1");
	char **cmds;
	int n = listed_commands(&cmds);
	char *synopsis = man_section(man, "SYNOPSIS");
	for (int i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof want, ".B faultline %s\n", cmds[i]);
		cr_assert(strstr(synopsis, want), "SYNOPSIS lacks %s", cmds[i]);
		free(cmds[i]);
	}
	free(cmds);

	char *env = man_section(man, "ENVIRONMENT");
	FILE *ls = popen("grep -ho 'getenv(\"[A-Z_]*\")' harness/*.c | sort -u", "r");
	cr_assert_not_null(ls);
	char line[256];
	int vars = 0;
	while (fgets(line, sizeof line, ls)) {
		char name[128];
		if (sscanf(line, "getenv(\"%127[A-Z_]\")", name) != 1)
			continue;
		char want[160];
		snprintf(want, sizeof want, ".B %s\n", name);
		cr_assert(strstr(env, want), "ENVIRONMENT lacks %s", name);
		vars++;
	}
	pclose(ls);
	cr_assert_geq(vars, 6, "only %d variables found in harness/", vars);

	char *status = man_section(man, "EXIT STATUS");
	const char *musts[] = {"FLAKY", "XPASS", "FAIL", "ERROR", ".B 0\n", ".B 1\n",
			       ".B 2\n", ".B 3\n", "128"};
	for (size_t i = 0; i < sizeof musts / sizeof musts[0]; i++)
		cr_assert(strstr(status, musts[i]), "EXIT STATUS lacks %s", musts[i]);

	char *examples = man_section(man, "EXAMPLES");
	cr_assert(strstr(examples, "faultline new "), "%s", examples);
	cr_assert(strstr(examples, "faultline run "), "%s", examples);
	free(examples);
	free(status);
	free(env);
	free(synopsis);
	free(man);
}
