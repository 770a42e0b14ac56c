/* A multi-threaded target for the determinism tests: on "RUN k\n" its
 * port starts four named threads (mt-worker-1..4), each of which opens and
 * closes /dev/null k times, then answers "DONE failed_open failed_close".
 * Every thread calls close() even when its open() failed, so the close()
 * call numbers of a thread never depend on other points. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define THREADS 4

struct job {
	int iterations;
	int failed_open, failed_close;
};

/* Workers start together, once they have their names. */
static pthread_barrier_t start;

static void *work(void *arg)
{
	struct job *j = arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < j->iterations; i++) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0)
			j->failed_open++;
		if (close(fd) != 0 && fd >= 0)
			j->failed_close++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int port = argc > 2 && !strcmp(argv[1], "--port") ? atoi(argv[2]) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 8) < 0) {
		perror("mt: bind");
		return 1;
	}
	printf("READY\n");
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		char buf[64];
		ssize_t n = recv(c, buf, sizeof buf - 1, 0);
		int k;
		if (n > 0) {
			buf[n] = '\0';
			if (sscanf(buf, "RUN %d", &k) == 1) {
				pthread_t th[THREADS];
				struct job jobs[THREADS];
				pthread_barrier_init(&start, NULL, THREADS + 1);
				for (int i = 0; i < THREADS; i++) {
					jobs[i] = (struct job){k, 0, 0};
					pthread_create(&th[i], NULL, work, &jobs[i]);
					char name[16];
					snprintf(name, sizeof name, "mt-worker-%d", i + 1);
					pthread_setname_np(th[i], name);
				}
				pthread_barrier_wait(&start);
				int fo = 0, fc = 0;
				for (int i = 0; i < THREADS; i++) {
					pthread_join(th[i], NULL);
					fo += jobs[i].failed_open;
					fc += jobs[i].failed_close;
				}
				pthread_barrier_destroy(&start);
				char reply[64];
				int len = snprintf(reply, sizeof reply, "DONE %d %d\n",
						   fo, fc);
				send(c, reply, (size_t)len, MSG_NOSIGNAL);
			}
		}
		close(c);
	}
}
