/* A target whose ground truth is known, for the tests of what a verdict
 * may claim (tests/e2e_truth.c): it crashes when a read fails, holds fds
 * only for a moment, starts threads only after a slow start, or answers
 * its probe with what the test asks.
 *
 * Options:
 *   --port N             listen on 127.0.0.1:N; each line gets the answer
 *                        (PONG unless --answer TEXT), then the connection
 *                        closes; "PREAD n" does n preads of /dev/zero
 *                        instead, and keeps an fd on /dev/null open for
 *                        each that fails (the bug of an error path that
 *                        forgets what it opened), answering "DONE f"
 *   --answer TEXT        what to answer
 *   --slow-start MS      before READY: wait MS ms, then start the threads
 *   --threads N          ...N threads that sleep forever (default 0)
 *   --linger MS          each connection is closed MS ms after its reply,
 *                        by a thread of its own (a burst of requests
 *                        leaves fds and threads that go by themselves)
 *   --transient MS       a thread that opens /dev/null every 200 ms and
 *                        closes it MS ms later
 *   --reader             a thread that reads /dev/zero (opened once) every
 *                        5 ms and ignores failures
 *   --crash-on-read-error
 *                        the same thread, dying by SIGSEGV when a read
 *                        fails
 * Prints READY on stdout when it is ready.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *answer = "PONG";
static int transient_ms = -1;
static int linger_ms;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *transient(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		sleep_ms(transient_ms);
		if (fd >= 0)
			close(fd);
		sleep_ms(200 - transient_ms);
	}
	return NULL;
}

static void *reader(void *arg)
{
	int crash = arg != NULL;
	/* Opened once: the reads are the only calls that come and go. */
	int fd = open("/dev/zero", O_RDONLY);
	for (;;) {
		char buf[16];
		if (read(fd, buf, sizeof buf) < 0 && crash)
			raise(SIGSEGV);
		sleep_ms(5);
	}
	return NULL;
}

/* n preads of /dev/zero; a failed one leaks an fd. Returns the failures. */
static int preads(int n)
{
	int zero = open("/dev/zero", O_RDONLY), failed = 0;
	for (int i = 0; i < n; i++) {
		char buf[16];
		if (pread(zero, buf, sizeof buf, 0) < 0) {
			failed++;
			/* The bug: an error path that forgets an fd. */
			if (open("/dev/null", O_RDONLY) < 0)
				perror("open");
		}
	}
	close(zero);
	return failed;
}

static void *linger(void *arg)
{
	sleep_ms(linger_ms);
	close((int)(intptr_t)arg);
	return NULL;
}

/* Closes c now, or linger_ms from now by a thread of its own. */
static void finish(int c)
{
	pthread_t th;
	if (linger_ms > 0 &&
	    pthread_create(&th, NULL, linger, (void *)(intptr_t)c) == 0) {
		pthread_detach(th);
		return;
	}
	close(c);
}

static void serve(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
		perror("listen");
		exit(2);
	}
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		char buf[256];
		ssize_t n = read(c, buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = '\0';
			char out[300];
			int len;
			if (strncmp(buf, "PREAD ", 6) == 0)
				len = snprintf(out, sizeof out, "DONE %d\n",
					       preads(atoi(buf + 6)));
			else
				len = snprintf(out, sizeof out, "%s\n", answer);
			if (write(c, out, (size_t)len) < 0)
				perror("write");
		}
		finish(c);
	}
}

int main(int argc, char **argv)
{
	int port = 0, threads = 0, crash = 0, read = 0;
	long slow = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--answer") && i + 1 < argc)
			answer = argv[++i];
		else if (!strcmp(argv[i], "--slow-start") && i + 1 < argc)
			slow = atol(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--linger") && i + 1 < argc)
			linger_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--transient") && i + 1 < argc)
			transient_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--crash-on-read-error"))
			crash = 1;
		else if (!strcmp(argv[i], "--reader"))
			read = 1;
		else {
			fprintf(stderr, "truth: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (slow)
		sleep_ms(slow);
	pthread_t th;
	for (int i = 0; i < threads; i++)
		pthread_create(&th, NULL, sleeper, NULL);
	if (transient_ms >= 0)
		pthread_create(&th, NULL, transient, NULL);
	if (crash || read)
		pthread_create(&th, NULL, reader, crash ? (void *)1 : NULL);
	if (port)
		serve(port);
	printf("READY\n");
	fflush(stdout);
	for (;;)
		pause();
}
