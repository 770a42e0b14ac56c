/* A target for make bench: calls a wrapped function many times and prints
 * the cost per call. Started by build/bench/bench bare, under libfiu's
 * POSIX preload, and under faultline's agent. read() goes through libfiu's
 * wrapper, close() through the agent's, and __read_chk (what a fortified
 * build calls for read) through the agent's lib/agent_wrap.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	int delay_ms = argc > 2 ? atoi(argv[2]) : 0;
	/* Time for the bench to enable a point before the loop. */
	if (delay_ms)
		usleep((useconds_t)delay_ms * 1000);
	char buf[1];
	double best_read = 1e9, best_close = 1e9, best_chk = 1e9;
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		for (long i = 0; i < n; i++)
			if (read(-1, buf, 0) != -1)
				return 1;
		double t1 = now();
		for (long i = 0; i < n; i++)
			if (close(-1) != -1)
				return 1;
		double t2 = now();
		for (long i = 0; i < n; i++)
			if (__read_chk(-1, buf, 0, sizeof buf) != -1)
				return 1;
		double t3 = now();
		if ((t3 - t2) / n < best_chk)
			best_chk = (t3 - t2) / n;
		if ((t1 - t0) / n < best_read)
			best_read = (t1 - t0) / n;
		if ((t2 - t1) / n < best_close)
			best_close = (t2 - t1) / n;
	}
	printf("read %.1f close %.1f chk %.1f\n", best_read * 1e9, best_close * 1e9,
	       best_chk * 1e9);
	return 0;
}
