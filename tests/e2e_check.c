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
