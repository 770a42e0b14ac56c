/* Blocks SIGTERM and takes it from a signalfd, as nginx's master and many
 * daemons do: alone it prints "READY", then "got SIGTERM" when the signal
 * comes, and exits 0. A process that has a thread with SIGTERM unblocked
 * would be killed by it instead (that thread takes the signal). With
 * --threads N it starts N threads first, which block it too. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 && !strcmp(argv[1], "--threads") ? atoi(argv[2]) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		perror("sigfd: sigprocmask");
		return 1;
	}
	for (int i = 0; i < threads; i++) {
		pthread_t th;
		if (pthread_create(&th, NULL, idle, NULL) != 0)
			return 1;
	}
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0) {
		perror("sigfd: signalfd");
		return 1;
	}
	printf("READY\n");
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof si) != (ssize_t)sizeof si) {
		perror("sigfd: read");
		return 1;
	}
	printf("got %s\n", si.ssi_signo == SIGTERM ? "SIGTERM" : "another signal");
	return si.ssi_signo == SIGTERM ? 0 : 2;
}
