/* A target that dies when a close() fails, in a way chosen on its command
 * line: --mode exit3 exits with status 3, --mode usr1 kills itself with
 * SIGUSR1, --mode alternate does one, then the other, counting its runs in
 * the file --state names. Replay and shrink must tell these deaths apart
 * (tests/e2e_replay.c): the same expectation, "survival", fails in both,
 * with another outcome.
 *
 * --mode churn never dies: after SIGUSR2 it closes an fd on /dev/null every
 * 100 µs, failed or not, until stopped (how many calls a run makes is up
 * to the clock: an exact window's journal that still varies).
 *
 * Prints READY, then closes an fd on /dev/null every millisecond. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr2(int sig)
{
	(void)sig;
	go = 1;
}

/* The number of earlier runs recorded in path, which this run bumps. */
static int bump(const char *path)
{
	int n = 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d\n", n + 1);
		fclose(f);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = "exit3", *state = NULL;
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--mode"))
			mode = argv[++i];
		else if (!strcmp(argv[i], "--state"))
			state = argv[++i];
	}
	int usr1 = !strcmp(mode, "usr1");
	if (!strcmp(mode, "alternate") && state)
		usr1 = bump(state) % 2 == 1;
	if (!strcmp(mode, "churn")) {
		sigset_t block, old;
		sigemptyset(&block);
		sigaddset(&block, SIGUSR2);
		sigprocmask(SIG_BLOCK, &block, &old);
		signal(SIGUSR2, on_usr2);
		printf("READY\n");
		fflush(stdout);
		while (!go)
			sigsuspend(&old);
		for (;;) {
			int fd = open("/dev/null", O_RDONLY);
			if (fd >= 0)
				close(fd);
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0 && close(fd) < 0) {
			if (usr1)
				raise(SIGUSR1);
			exit(3);
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}
