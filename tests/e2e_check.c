/* faultline check on scenarios with known mistakes: each finding is one
 * FILE:LINE: MESSAGE line; exit 0 when clean, 1 with findings, 2 for
 * unusable input. Nothing is run. */
#include "testutil.h"

static int check(const char *dir, const char *text, char **out)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/s.lua", dir);
	tu_write(path, text);
	char *argv[] = {"faultline", "check", path, NULL};
	return tu_run(argv, dir, out, 30);
}

#define TRUTH "'build/tests/targets/truth'"

Test(check, clean_scenario)
{
	char *dir = tu_tempdir(), *out;
	int status = check(dir,
			   "return { target = { cmd = { " TRUTH " } },\n"
			   "  run = function(t) t:fault('posix/io/rw/read', { p = 1 }) end }\n",
			   &out);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "1 scenario checked, 0 findings"), "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

Test(check, findings_name_file_and_line)
{
	char *dir = tu_tempdir(), *out;
	int status = check(
		dir,
		"return {\n"
		"  { target = { cmd = { " TRUTH " } }, steddy = {},\n"
		"    run = function(t) end },\n"
		"  { target = { cmd = { " TRUTH " } },\n"
		"    run = function(t)\n"
		"      t:fault('posix/io/oc/clsoe')\n"
		"      t:fault('posix/io/net/connect', { p = 1 })\n"
		"    end },\n"
		"  { target = { cmd = { 'build/tests/targets/no-such-program' } },\n"
		"    run = function(t) end },\n"
		"}\n",
		&out);
	cr_assert_eq(status, 1, "%s", out);
	char want[PATH_MAX + 256];
	snprintf(want, sizeof want,
		 "%s/s.lua:2: unknown field 'steddy' in the scenario (did you "
		 "mean 'steady'?)\n",
		 dir);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof want,
		 "%s/s.lua:6: unknown failure point 'posix/io/oc/clsoe' (did "
		 "you mean 'posix/io/oc/close'?)\n",
		 dir);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof want,
		 "%s/s.lua:7: posix/io/net/connect: build/tests/targets/truth "
		 "never calls a function that reaches it",
		 dir);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof want,
		 "%s/s.lua:9: target.cmd: 'build/tests/targets/no-such-program' "
		 "is not an executable file",
		 dir);
	cr_assert(strstr(out, want), "%s", out);
	cr_assert(strstr(out, "3 scenarios checked, 4 findings"), "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

Test(check, unusable_input)
{
	char *out;
	char *argv[] = {"faultline", "check", "/nonexistent/dir", NULL};
	cr_assert_eq(tu_run(argv, "/tmp", &out, 30), 2, "%s", out);
	free(out);
	char *argv2[] = {"faultline", "check", NULL};
	cr_assert_eq(tu_run(argv2, "/tmp", &out, 30), 2, "%s", out);
	cr_assert(strstr(out, "try 'faultline check --help'"), "%s", out);
	free(out);
}

/* Asserts that out holds the line "DIR/s.lua:LINE: rest" (rest a prefix
 * of the line's message). */
static void has_line(const char *out, const char *dir, int line,
		     const char *rest)
{
	char want[PATH_MAX + 512];
	snprintf(want, sizeof want, "%s/s.lua:%d: %s", dir, line, rest);
	cr_assert(strstr(out, want), "no line '%s' in:\n%s", want, out);
}

/* The options of t: calls are read from the source, so a misspelled one is
 * found on a line the run would reach late or never: nested tables that
 * api.c describes too, and methods the target object does not have, on
 * whatever the run function calls its parameter. Computed keys and tables
 * built elsewhere are left alone. */
Test(check, options_of_calls_and_methods)
{
	char *dir = tu_tempdir(), *out;
	int status = check(
		dir,
		"return { target = { cmd = { " TRUTH " } },\n"
		"  run = function(x)\n"
		"    x:settle(0.3)\n"
		"    if false then\n"
		"      x:fault('posix/io/net/accept', { p = 0.5, ernno = 'EIO' })\n"
		"    end\n"
		"    x:expect { exit = 0,\n"
		"               leaked = { fd = 0, [\"threds\"] = 0 } }\n"
		"    x:fualt('posix/io/net/accept', { p = 1 })\n"
		"    x:episodes { point = 'posix/io/net/accept', count = 2,\n"
		"                 on = 0.1, off = 0.1, within = 0.5, hlod = 1 }\n"
		"    local k = 'zzz'\n"
		"    x:fault('posix/io/net/accept', { p = 1, [k] = 1,\n"
		"      after = { point = 'posix/io/net/accept', cals = 2 } })\n"
		"    local s = \"x:fault('posix/io/net/accept', { bad = 1 })\"\n"
		"    --[==[ x:fault('posix/io/net/accept', { bad = 1 }) ]==]\n"
		"    x:wait_until(function(r) local a, bad = 1, 2 return a end, 1)\n"
		"  end }\n",
		&out);
	cr_assert_eq(status, 1, "%s", out);
	has_line(out, dir, 5, "t:fault: unknown option 'ernno' (did you mean "
			      "'errno'?)\n");
	has_line(out, dir, 8, "t:expect.leaked: unknown option 'fd' (did you "
			      "mean 'fds'?)\n");
	has_line(out, dir, 8, "t:expect.leaked: unknown option 'threds' (did "
			      "you mean 'threads'?)\n");
	has_line(out, dir, 9, "unknown method 'x:fualt' (did you mean "
			      "'x:fault'?)\n");
	has_line(out, dir, 11, "t:episodes: unknown option 'hlod' (did you "
			       "mean 'hold'?)\n");
	has_line(out, dir, 14, "t:fault.after: unknown option 'cals' (did "
			       "you mean 'calls'?)\n");
	/* Nothing from the string, the comment or the function's body. */
	cr_assert_null(strstr(out, "bad"), "%s", out);
	cr_assert(strstr(out, "1 scenario checked, 6 findings"), "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* A point whose family is posix/, libc/ or linux/ misspelled is no point
 * of the target's own: check (and run) name the one meant; a family glob
 * with a typo gets the family. A target's own family passes. */
Test(check, misspelled_point_family)
{
	char *dir = tu_tempdir(), *out;
	int status = check(
		dir,
		"return { target = { cmd = { " TRUTH " } },\n"
		"  run = function(t)\n"
		"    t:fault('posx/io/net/accept4', { p = 0.5 })\n"
		"    t:fault('posix/io/nett/*')\n"
		"    t:clear('linx/io/sync_file_range')\n"
		"    t:fault('app/cache/get')\n"
		"  end }\n",
		&out);
	cr_assert_eq(status, 1, "%s", out);
	has_line(out, dir, 3, "unknown failure point 'posx/io/net/accept4' "
			      "(did you mean 'posix/io/net/accept4'?)\n");
	has_line(out, dir, 4, "unknown failure point 'posix/io/nett/*' (did "
			      "you mean 'posix/io/net/*'?)\n");
	has_line(out, dir, 5, "unknown failure point 'linx/io/sync_file_range' "
			      "(did you mean 'linux/io/sync_file_range'?)\n");
	cr_assert_null(strstr(out, "app/cache/get"), "%s", out);
	cr_assert(strstr(out, "1 scenario checked, 3 findings"), "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* A scenario whose cmd is { "sh", "-c", script } with inherit = true and
 * a fault on point in its run function. */
static int check_shell(const char *dir, const char *script, int inherit,
		       const char *point, char **out)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "return { target = {\n"
		 "    cmd = { 'sh', '-c', '%s' },\n"
		 "    inherit = %s },\n"
		 "  run = function(t)\n"
		 "    t:fault('%s', { p = 0.5 })\n"
		 "  end }\n",
		 script, inherit ? "true" : "false", point);
	return check(dir, text, out);
}

/* With inherit, a shell's faults fire in the program it executes: check
 * looks at the program after exec ({port} and the shell's variables after
 * it do not matter), and says once, as a note that does not fail, when
 * the script names none it can see. Without inherit the shell's own calls
 * are the ones that count, and the finding says what inherit would do. */
Test(check, shell_with_inherit)
{
	char *dir = tu_tempdir(), *out;
	const char *script = "m=fixed; echo mode=$m; exec "
			     "build/tests/targets/truth --port {port} --mode $m";
	/* truth calls accept: clean, nothing said about sh. */
	int status = check_shell(dir, script, 1, "posix/io/net/accept", &out);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "1 scenario checked, 0 findings\n"), "%s", out);
	cr_assert_null(strstr(out, "/sh"), "%s", out);
	free(out);

	/* truth never connects: the finding names truth, not the shell. */
	status = check_shell(dir, script, 1, "posix/io/net/connect", &out);
	cr_assert_eq(status, 1, "%s", out);
	has_line(out, dir, 5, "posix/io/net/connect: build/tests/targets/truth "
			      "never calls a function that reaches it");
	cr_assert(strstr(out, "1 scenario checked, 1 finding\n"), "%s", out);
	free(out);

	/* No exec: a note, exit 0. */
	status = check_shell(dir, "build/tests/targets/truth --port {port}", 1,
			     "posix/io/net/connect", &out);
	cr_assert_eq(status, 0, "%s", out);
	has_line(out, dir, 2, "note: target.cmd runs ");
	cr_assert(strstr(out, "its script names no program after 'exec'"), "%s",
		  out);
	cr_assert(strstr(out, "1 scenario checked, 0 findings, 1 note\n"), "%s",
		  out);
	free(out);

	/* A program known only when the shell runs: a note too. */
	status = check_shell(dir, "exec $PROG --port {port}", 1,
			     "posix/io/net/accept", &out);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert(strstr(out, "0 findings, 1 note\n"), "%s", out);
	free(out);

	/* Without inherit the program runs without the agent. */
	status = check_shell(dir, script, 0, "posix/io/net/accept", &out);
	cr_assert_eq(status, 1, "%s", out);
	has_line(out, dir, 5, "posix/io/net/accept: ");
	cr_assert(strstr(out, "(it is a shell: with target.inherit = true the "
			      "program it runs keeps the faults)"),
		  "%s", out);
	free(out);
	tu_rmrf(dir);
	free(dir);
}

/* The N of "N scenarios checked, 0 findings" in out; -1 without. */
static int clean_count(const char *out)
{
	const char *p = strstr(out, " scenarios checked, 0 findings");
	if (!p)
		p = strstr(out, " scenario checked, 0 findings");
	if (!p)
		return -1;
	while (p > out && p[-1] != '\n')
		p--;
	return atoi(p);
}

/* Every shipped scenario checks clean. */
Test(check, shipped_scenarios_are_clean)
{
	char *out;
	char *argv[] = {"faultline", "check", "scenarios", "docs/sweep", NULL};
	int status = tu_run(argv, NULL, &out, 60);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert_geq(clean_count(out), 20, "%s", out);
	free(out);
}

/* The Lua of README.md and docs/: the whole scenarios check clean, and
 * no part of any (many are parts: a run function, a health table) uses
 * an option, method, field or point the harness does not know. */
Test(check, docs_examples_are_clean)
{
	static const char *const docs[] = {
		"README.md",	    "docs/scenarios.md", "docs/tutorial.md",
		"docs/sweep.md",    "docs/ci.md",	 "docs/determinism.md",
		"docs/hacking.md",  "docs/reports.md",	 "docs/results.md",
	};
	char *dir = tu_tempdir();
	int blocks = 0, clean = 0;
	for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
		char *text = tu_slurp(docs[d]);
		cr_assert_not_null(text, "%s", docs[d]);
		for (char *p = text; (p = strstr(p, "```lua\n"));) {
			p += 7;
			char *end = strstr(p, "```");
			cr_assert_not_null(end, "%s: an unclosed block", docs[d]);
			*end = '\0';
			char *out;
			int status = check(dir, p, &out);
			blocks++;
			clean += status == 0;
			static const char *const unknown[] = {
				"unknown option", "unknown method",
				"unknown failure point", "unknown field"};
			for (size_t u = 0; u < 4; u++)
				cr_assert_null(strstr(out, unknown[u]),
					       "%s, the block:\n%s\nchecks as:\n%s",
					       docs[d], p, out);
			free(out);
			p = end + 3;
		}
		free(text);
	}
	cr_assert_geq(blocks, 10, "%d blocks of Lua in the docs", blocks);
	/* README's scenario and the tutorial's first. */
	cr_assert_geq(clean, 2, "%d of %d blocks check clean", clean, blocks);
	tu_rmrf(dir);
	free(dir);
}
