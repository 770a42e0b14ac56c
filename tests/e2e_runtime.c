/* The runtime under valgrind: a program that uses every part of it
 * (tests/targets/flrt_demo.c) runs clean, with no definite leak and no
 * memory error; the same program losing a block on purpose is caught, so
 * the check can fail. */
#include "testutil.h"

#define DEMO "build/tests/targets/flrt_demo"

/* Runs argv (argv[0] the program) with stdout and stderr merged into
 * *out; returns the exit status (128+signal when killed). */
static int run_program(char *const argv[], char **out, double timeout_s)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	return tu_finish((tu_proc){ pid, p[0] }, out, timeout_s);
}

static char *valgrind_argv[] = { "valgrind", "--error-exitcode=9", "--leak-check=full",
				 "--errors-for-leak-kinds=definite", DEMO, NULL, NULL };

Test(runtime, clean_under_valgrind, .timeout = 120)
{
	char *out;
	int status = run_program(valgrind_argv, &out, 100);
	cr_assert_eq(status, 0, "valgrind exit %d:\n%s", status, out);
	cr_assert(strstr(out, "flrt_demo: ok panics=4 recovered=3") != NULL, "%s", out);
	cr_assert(strstr(out, "ERROR SUMMARY: 0 errors") != NULL, "%s", out);
	cr_assert(strstr(out, "definitely lost: 0 bytes") != NULL ||
		  strstr(out, "All heap blocks were freed") != NULL, "%s", out);
	free(out);
}

Test(runtime, valgrind_catches_a_lost_block, .timeout = 120)
{
	valgrind_argv[5] = "--leak";
	char *out;
	int status = run_program(valgrind_argv, &out, 100);
	valgrind_argv[5] = NULL;
	cr_assert_eq(status, 9, "valgrind exit %d:\n%s", status, out);
	cr_assert(strstr(out, "definitely lost: 123 bytes in 1 blocks") != NULL, "%s", out);
	free(out);
}

/* Without valgrind, the program's own checks hold. */
Test(runtime, demo_runs_natively)
{
	char *argv[] = { DEMO, NULL };
	char *out;
	int status = run_program(argv, &out, 30);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "flrt_demo: ok") != NULL, "%s", out);
	free(out);
}
