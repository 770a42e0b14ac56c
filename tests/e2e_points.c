/* `faultline points [TARGET]`: a fixture's declared points come first,
 * then libfiu's POSIX points; warnings (on stderr, after the list) say why
 * faults cannot reach a static, fortified, Go or private-libfiu binary;
 * anything that is not an ELF file is exit status 2. */
#include "testutil.h"

#define ELF_DIR "build/tests/elf/"

static int points(const char *target, char **out)
{
	char *argv[] = { "faultline", "points", (char *)target, NULL };
	return tu_run(argv, NULL, out, 30);
}

static const char *line_starting(const char *out, const char *text)
{
	size_t len = strlen(text);
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, text, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			return p;
	return NULL;
}

Test(points, fixture_points_come_first, .timeout = 60)
{
	char *out;
	int status = points("fixtures/bin/chanworker", &out);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	const char *own = line_starting(out, "chanworker/slow");
	const char *block = line_starting(out, "fl/chan/send/block");
	const char *dpanic = line_starting(out, "fl/defer/panic");
	const char *panic = line_starting(out, "fl/panic");
	const char *posix = line_starting(out, "posix/io/oc/close");
	cr_assert(own && block && dpanic && panic && posix, "%s", out);
	cr_assert(own < block && block < posix && panic < posix, "declared points after POSIX:\n%s",
		  out);
	cr_assert_null(strstr(out, "warning"), "a warning for a fixture:\n%s", out);
	free(out);
}

Test(points, without_target_only_posix_points, .timeout = 60)
{
	char *argv[] = { "faultline", "points", NULL };
	char *out;
	cr_assert_eq(tu_run(argv, NULL, &out, 30), 0);
	cr_assert_not_null(line_starting(out, "libc/mm/malloc"));
	cr_assert_null(strstr(out, "fl/"), "%s", out);
	free(out);
}

Test(points, static_binary_is_warned_about, .timeout = 60)
{
	struct stat st;
	if (stat(ELF_DIR "static", &st) != 0)
		cr_skip_test("no static libc to build " ELF_DIR "static with (libc6-dev)");
	char *out;
	cr_assert_eq(points(ELF_DIR "static", &out), 0);
	cr_assert(strstr(out, "warning: " ELF_DIR "static is statically linked") != NULL, "%s", out);
	cr_assert(strstr(out, "LD_PRELOAD is ignored") != NULL, "%s", out);
	free(out);
}

Test(points, fortified_calls_are_named, .timeout = 60)
{
	char *out;
	cr_assert_eq(points(ELF_DIR "fortified", &out), 0);
	cr_assert(strstr(out, "built with _FORTIFY_SOURCE") != NULL, "%s", out);
	cr_assert(strstr(out, "__read_chk (instead of read, point posix/io/rw/read)") != NULL,
		  "%s", out);
	cr_assert(strstr(out, "__open_2 (instead of open, point posix/io/oc/open)") != NULL, "%s",
		  out);
	free(out);
	/* The same program built without fortification gets no warning. */
	cr_assert_eq(points(ELF_DIR "plain", &out), 0);
	cr_assert_null(strstr(out, "warning"), "%s", out);
	free(out);
}

Test(points, go_and_private_libfiu_are_warned_about, .timeout = 60)
{
	char *out;
	cr_assert_eq(points(ELF_DIR "golike", &out), 0);
	cr_assert(strstr(out, "is a Go program") != NULL, "%s", out);
	free(out);
	cr_assert_eq(points(ELF_DIR "fiustatic", &out), 0);
	cr_assert(strstr(out, "contains its own copy of libfiu") != NULL, "%s", out);
	free(out);
}

Test(points, not_an_elf_file_is_exit_2, .timeout = 60)
{
	char *out;
	cr_assert_eq(points("README.md", &out), 2);
	cr_assert(strstr(out, "README.md: not an ELF file") != NULL, "%s", out);
	free(out);
	cr_assert_eq(points("no/such/program", &out), 2);
	cr_assert(strstr(out, "No such file or directory") != NULL, "%s", out);
	free(out);
	char *argv[] = { "faultline", "points", "a", "b", NULL };
	cr_assert_eq(tu_run(argv, NULL, &out, 30), 2);
	free(out);
}
