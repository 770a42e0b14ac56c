/* A server that knows when it recovers: a worker writes and fsyncs a
 * scratch file every millisecond; after a failed fsync the server answers
 * FAIL to every probe for 300 ms (a cooldown), then PONG again, and logs
 * the moment it recovered. Its recovery time after a fault window is
 * therefore the window's last failed fsync plus 300 ms, which the tests
 * (tests/e2e_truth.c) compare with faultline's MTTR.
 *
 * Options: --port N (required), --cooldown MS (default 300).
 * Protocol: one line in, one line out (PING -> PONG or FAIL).
 * Prints READY, then "RECOVERED <monotonic ns>" after each cooldown.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static _Atomic int64_t sick_until;	/* monotonic ns; 0: healthy */
static int64_t cooldown_ns = 300 * 1000000LL;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker(void *arg)
{
	(void)arg;
	char path[] = "/tmp/fl-cooldown.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	unlink(path);
	int logged = 1;
	for (;;) {
		if (write(fd, "x", 1) < 0)
			perror("write");
		if (fsync(fd) < 0) {
			atomic_store(&sick_until, now_ns() + cooldown_ns);
			logged = 0;
		}
		int64_t until = atomic_load(&sick_until);
		if (!logged && now_ns() >= until) {
			printf("RECOVERED %lld\n", (long long)until);
			fflush(stdout);
			logged = 1;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int port = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cooldown") && i + 1 < argc)
			cooldown_ns = atoll(argv[++i]) * 1000000LL;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (!port || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(s, 64) < 0) {
		perror("cooldown: listen");
		return 2;
	}
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		char buf[64];
		if (read(c, buf, sizeof buf) > 0) {
			const char *reply = now_ns() < atomic_load(&sick_until)
						    ? "FAIL\n"
						    : "PONG\n";
			if (write(c, reply, strlen(reply)) < 0)
				perror("write");
		}
		close(c);
	}
}
