/* A target whose calls come from known lines, for the call-site tests
 * (tests/unit_sites.c, tests/e2e_sweep.c). The tests find a call's line
 * by its marker comment ("SITE close-a"), so the file can change freely.
 *
 *   sitetgt [--crash-b] [--flaky STATE] [--leak-c] [--loops N]
 *
 * Each loop: close_a() opens /dev/null and closes it (a failed close is
 * reported and handled); close_b() the same, but with --crash-b a failed
 * close there writes through NULL (SIGSEGV); open_c() opens /dev/null and
 * closes it, and with --leak-c keeps it open when its read fails. With
 * --flaky STATE a failed close in close_a exits with status 3 in every
 * other run (a counter in the file STATE), so its outcome differs from
 * run to run. Prints READY first and DONE at the end; exits 0. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int crash_b, leak_c;
static const char *flaky;
static int kept = -1;

static int open_null(void)
{
	return open("/dev/null", O_RDONLY); /* SITE open-null */
}

/* Odd runs of a --flaky target exit on a failed close_a. */
static int flaky_turn(void)
{
	int n = 0;
	FILE *f = fopen(flaky, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	f = fopen(flaky, "w");
	if (f) {
		fprintf(f, "%d\n", n + 1);
		fclose(f);
	}
	return n % 2 == 0;
}

__attribute__((noinline)) static void close_a(void)
{
	int fd = open_null();
	if (fd < 0)
		return;
	if (close(fd) != 0) { /* SITE close-a */
		fprintf(stderr, "close_a failed\n");
		if (flaky && flaky_turn())
			exit(3);
	}
}

__attribute__((noinline)) static void close_b(void)
{
	int fd = open_null();
	if (fd < 0)
		return;
	if (close(fd) != 0) { /* SITE close-b */
		fprintf(stderr, "close_b failed\n");
		if (crash_b) {
			volatile int *p = NULL;
			*p = 1; /* SITE crash-b */
		}
	}
}

__attribute__((noinline)) static void open_c(void)
{
	int fd = open("/dev/null", O_RDONLY); /* SITE open-c */
	if (fd < 0)
		return;
	char buf[1];
	if (read(fd, buf, sizeof buf) < 0) { /* SITE read-c */
		if (leak_c) {
			kept = fd; /* the error path forgets to close it */
			return;
		}
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int loops = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--crash-b"))
			crash_b = 1;
		else if (!strcmp(argv[i], "--leak-c"))
			leak_c = 1;
		else if (!strcmp(argv[i], "--flaky") && i + 1 < argc)
			flaky = argv[++i];
		else if (!strcmp(argv[i], "--loops") && i + 1 < argc)
			loops = atoi(argv[++i]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY\n");
	for (int i = 0; i < loops; i++) {
		close_a();
		close_b();
		open_c();
	}
	printf("DONE kept=%d\n", kept);
	return 0;
}
