/* A master that forks two workers and never restarts them, for the
 * survival tests of forked workers (tests/e2e_survival.c):
 *
 *   workercrash              each worker calls close() once at its start,
 *                            worker 0 at one site and worker 1 at another;
 *                            worker 1 dies by SIGSEGV if its close
 *                            failed, worker 0 carries on. READY once both
 *                            said they are up (or died).
 *   workercrash --crash 1    the same, and right after READY worker 1 prints
 *                            "CRASH pid=P" and dies by SIGSEGV.
 *
 * The master does not reap a worker until SIGTERM (a crashed one stays a
 * zombie), then ends its workers with SIGTERM, reaps them and exits 0.
 * Workers print "WORKER n pid=P". No fd is closed anywhere else, so the
 * sites of close() a sweep finds are the workers' two. Output is
 * line-buffered so the harness sees each line as it is printed. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t term;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void crash(void)
{
	volatile int *nowhere = NULL;
	*nowhere = 1; /* SITE nowhere */
}

/* Worker 0 handles a failed close: it only says so. */
__attribute__((noinline)) static void worker0_close(void)
{
	int fd = dup(1);
	if (close(fd) < 0) /* SITE w0-close */
		printf("worker 0: close failed, carrying on\n");
}

/* Worker 1 does not. */
__attribute__((noinline)) static void worker1_close(void)
{
	int fd = dup(1);
	if (close(fd) < 0) /* SITE w1-close */
		crash();
}

static void worker(int n, int up, int cmd)
{
	signal(SIGTERM, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	printf("WORKER %d pid=%d\n", n, (int)getpid());
	if (n == 0)
		worker0_close();
	else
		worker1_close();
	char c = 'u';
	if (write(up, &c, 1) != 1)
		_exit(2);
	/* A byte on cmd: crash. */
	while (read(cmd, &c, 1) == 1) {
		printf("CRASH pid=%d\n", (int)getpid());
		crash();
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int crash_worker = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--crash") && i + 1 < argc)
			crash_worker = atoi(argv[++i]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* SIGTERM is taken only in sigsuspend: none is lost before it. */
	sigset_t blocked;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	pid_t kids[2];
	int cmd[2][2], up[2][2];
	for (int w = 0; w < 2; w++) {
		if (pipe(cmd[w]) < 0 || pipe(up[w]) < 0)
			return 1;
		kids[w] = fork();
		if (kids[w] < 0)
			return 1;
		if (kids[w] == 0)
			worker(w, up[w][1], cmd[w][0]);
	}
	/* Each worker says it is up, or dies first (the master holds the
	 * pipe's write end too, so no end of file says it: its exit does,
	 * looked at without reaping it). */
	for (int w = 0; w < 2; w++) {
		for (;;) {
			siginfo_t info;
			memset(&info, 0, sizeof info);
			if (waitid(P_PID, (id_t)kids[w], &info,
				   WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    info.si_pid == kids[w])
				break;
			struct pollfd pf = {up[w][0], POLLIN, 0};
			char c;
			if (poll(&pf, 1, 10) > 0 && read(up[w][0], &c, 1) == 1)
				break;
		}
	}
	printf("READY\n");
	if (crash_worker >= 0 && crash_worker < 2) {
		char c = 'c';
		if (write(cmd[crash_worker][1], &c, 1) != 1)
			return 1;
	}
	sigset_t none;
	sigemptyset(&none);
	while (!term)
		sigsuspend(&none);
	for (int w = 0; w < 2; w++)
		kill(kids[w], SIGTERM);
	for (int w = 0; w < 2; w++)
		waitpid(kids[w], NULL, 0);
	printf("BYE\n");
	return 0;
}
