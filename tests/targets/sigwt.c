/* Blocks SIGUSR1 and waits for it with sigwait: alone it prints "READY",
 * then "got SIGUSR1" when the signal comes, and exits 0. Any thread of the
 * process with SIGUSR1 unblocked would take the signal instead and the
 * default action would kill the process. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		perror("sigwt: sigprocmask");
		return 1;
	}
	printf("READY\n");
	int sig = 0;
	if (sigwait(&set, &sig) != 0) {
		perror("sigwt: sigwait");
		return 1;
	}
	printf("got %s\n", sig == SIGUSR1 ? "SIGUSR1" : "another signal");
	return sig == SIGUSR1 ? 0 : 2;
}
