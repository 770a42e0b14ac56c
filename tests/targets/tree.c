/* A target that is a tree of processes, for tests/e2e_tree.c:
 *
 *   tree workers N   forks N workers (named worker); READY once all run.
 *                    SIGUSR1: worker 1 opens 3 sockets and keeps them
 *                    ("LEAKED pid=P"); SIGUSR2: every worker does.
 *   tree daemon      double-forks a daemon that leaves the session
 *                    (setsid) and becomes `sleep 1000`; prints
 *                    "DAEMON pid=P" then READY.
 *   tree forkleak    SIGUSR1: forks a child (named leaker) that sleeps
 *                    and is never reaped ("FORKED pid=P").
 *   tree threads N   N threads in all; READY once they run.
 *
 * Every process stays until killed; the root exits 0 on SIGTERM (and
 * leaves its workers for faultline to end). Output is line-buffered so
 * the harness sees each line as it is printed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, usr2, term;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		usr1 = 1;
	else if (sig == SIGUSR2)
		usr2 = 1;
	else
		term = 1;
}

static void handle(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(sig, &sa, NULL);
}

/* A worker: waits for a byte on its pipe, then leaks 3 sockets. */
static void worker(int cmd, int up)
{
	prctl(PR_SET_NAME, "worker");
	char c = 'u';
	if (write(up, &c, 1) != 1)
		_exit(1);
	close(up);
	for (;;) {
		ssize_t r = read(cmd, &c, 1);
		if (r == 0)
			pause(); /* the root went away: wait to be killed */
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			_exit(1);
		for (int i = 0; i < 3; i++)
			if (socket(AF_INET, SOCK_STREAM, 0) < 0)
				_exit(1);
		printf("LEAKED pid=%d\n", (int)getpid());
		fflush(stdout);
	}
}

static int workers(int n)
{
	int up[2];
	if (pipe(up) < 0)
		return 1;
	int *cmd = calloc((size_t)n, sizeof *cmd);
	for (int i = 0; i < n; i++) {
		int p[2];
		if (pipe(p) < 0)
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			close(p[1]);
			close(up[0]);
			worker(p[0], up[1]);
		}
		close(p[0]);
		cmd[i] = p[1];
	}
	close(up[1]);
	for (int i = 0; i < n; i++) {
		char c;
		if (read(up[0], &c, 1) != 1)
			return 1;
	}
	close(up[0]);
	printf("READY\n");
	fflush(stdout);
	while (!term) {
		pause();
		if (usr1 || usr2) {
			for (int i = 0; i < (usr2 ? n : 1); i++)
				if (write(cmd[i], "x", 1) != 1)
					return 1;
			usr1 = usr2 = 0;
		}
	}
	return 0;
}

static int daemon_mode(void)
{
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t a = fork();
	if (a == 0) {
		if (fork() == 0) {
			/* The daemon: out of the session and the group, the
			 * pipe left behind, then another program. */
			setsid();
			char line[64];
			int len = snprintf(line, sizeof line, "DAEMON pid=%d\n",
					   (int)getpid());
			if (write(p[1], line, (size_t)len) != len)
				_exit(1);
			close(p[0]);
			close(p[1]);
			execlp("sleep", "sleep", "1000", (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(a, NULL, 0);
	char line[64];
	ssize_t r = read(p[0], line, sizeof line - 1);
	if (r <= 0)
		return 1;
	line[r] = '\0';
	printf("%sREADY\n", line);
	fflush(stdout);
	while (!term)
		pause();
	return 0;
}

static int forkleak(void)
{
	printf("READY\n");
	fflush(stdout);
	while (!term) {
		pause();
		if (usr1) {
			usr1 = 0;
			pid_t pid = fork();
			if (pid == 0) {
				prctl(PR_SET_NAME, "leaker");
				for (;;)
					pause();
			}
			printf("FORKED pid=%d\n", (int)pid);
			fflush(stdout);
		}
	}
	return 0;
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static int threads(int n)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (int i = 1; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, idle, NULL) != 0) {
			fprintf(stderr, "pthread_create: thread %d\n", i);
			return 1;
		}
	}
	printf("READY\n");
	fflush(stdout);
	while (!term)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	handle(SIGUSR1);
	handle(SIGUSR2);
	handle(SIGTERM);
	if (argc >= 3 && !strcmp(argv[1], "workers"))
		return workers(atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "daemon"))
		return daemon_mode();
	if (argc >= 2 && !strcmp(argv[1], "forkleak"))
		return forkleak();
	if (argc >= 3 && !strcmp(argv[1], "threads"))
		return threads(atoi(argv[2]));
	fprintf(stderr, "usage: tree workers N | daemon | forkleak | threads N\n");
	return 2;
}
