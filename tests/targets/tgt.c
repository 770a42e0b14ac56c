/* A target for the harness's own tests: it does on command what a real
 * program does by accident (leaks fds, threads and memory, hangs on
 * SIGTERM, crashes, leaves children behind, prints hostile text), so the
 * tests can check the harness measures and reports each of those.
 *
 * Commands arrive one per line on its loopback port:
 *   PING                  -> PONG
 *   LEAKFD n              open n fds on /dev/null and keep them
 *   CLOSEFD               close them again
 *   THREADS n name        start n threads named name-1.. that block forever
 *   ALLOC mib             allocate and touch mib MiB (kept)
 *   FREE                  free it
 *   SICK / WELL           answer PING with SICK / PONG
 *   PRINT text            print text on stdout
 *   CLOSEBURST n          open and close /dev/null n times (close faults)
 *   PAIRLEAK              400 closes; when both the 137th and the 342nd
 *                         fail, an fd on /dev/zero is kept for good (a
 *                         bug that needs two faults together)
 *   EXIT code             exit(code)
 *   TOUCH dir n           create n empty files dir/tmp-<k> (left behind)
 *
 * Options: --port N, --ready TEXT (--ready-stderr), --no-ready,
 * --listen-after MS, --ignore-term, --crash-after MS, --exit-after MS
 * --code C, --child, --threads N, --print TEXT, --print-env NAME,
 * --print-cwd, --spam N, --churn (a thread that opens and closes
 * /dev/null every 100 µs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define MAX_LEAK 4096

static int leaked[MAX_LEAK];
static int nleaked;
static char *block;
static size_t block_len;
static int sick;

static void *blocked_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Opens and closes /dev/null every 100 µs for as long as the process
 * lives: how many calls a window sees depends on the clock. */
static void *churn(void *arg)
{
	(void)arg;
	for (;;) {
		int f = open("/dev/null", O_RDONLY);
		if (f >= 0)
			close(f);
		usleep(100);
	}
	return NULL;
}

static void start_threads(int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		pthread_t th;
		if (pthread_create(&th, NULL, blocked_thread, NULL) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return;
		}
		char nm[16];
		snprintf(nm, sizeof nm, "%.10s-%d", name, i + 1);
		pthread_setname_np(th, nm);
	}
}

static void handle(int fd, char *line)
{
	char reply[256] = "OK\n";
	int n;
	char word[64];
	if (strcmp(line, "PING") == 0) {
		snprintf(reply, sizeof reply, "%s\n", sick ? "SICK" : "PONG");
	} else if (sscanf(line, "LEAKFD %d", &n) == 1) {
		for (int i = 0; i < n && nleaked < MAX_LEAK; i++) {
			int f = open("/dev/null", O_RDONLY);
			if (f >= 0)
				leaked[nleaked++] = f;
		}
	} else if (strcmp(line, "CLOSEFD") == 0) {
		while (nleaked > 0)
			close(leaked[--nleaked]);
	} else if (sscanf(line, "THREADS %d %63s", &n, word) == 2) {
		start_threads(n, word);
	} else if (sscanf(line, "ALLOC %d", &n) == 1) {
		free(block);
		block_len = (size_t)n << 20;
		block = malloc(block_len);
		if (block)
			memset(block, 0x5a, block_len);
	} else if (strcmp(line, "FREE") == 0) {
		free(block);
		block = NULL;
	} else if (strcmp(line, "SICK") == 0) {
		sick = 1;
	} else if (strcmp(line, "WELL") == 0) {
		sick = 0;
	} else if (strncmp(line, "PRINT ", 6) == 0) {
		printf("%s\n", line + 6);
		fflush(stdout);
	} else if (sscanf(line, "CLOSEBURST %d", &n) == 1) {
		int failed = 0;
		for (int i = 0; i < n; i++) {
			int f = open("/dev/null", O_RDONLY);
			if (f >= 0 && close(f) != 0)
				failed++;
		}
		snprintf(reply, sizeof reply, "FAILED %d\n", failed);
	} else if (strcmp(line, "PAIRLEAK") == 0) {
		int f137 = 0, f342 = 0;
		for (int i = 1; i <= 400; i++) {
			int f = open("/dev/null", O_RDONLY);
			if (f >= 0 && close(f) != 0) {
				f137 |= i == 137;
				f342 |= i == 342;
			}
		}
		if (f137 && f342 && nleaked < MAX_LEAK) {
			int z = open("/dev/zero", O_RDONLY);
			if (z >= 0)
				leaked[nleaked++] = z;
		}
		snprintf(reply, sizeof reply, "PAIR %d %d\n", f137, f342);
	} else if (sscanf(line, "TOUCH %63s %d", word, &n) == 2) {
		for (int i = 0; i < n; i++) {
			char path[160];
			snprintf(path, sizeof path, "%s/tmp-%d", word, i);
			int f = open(path, O_CREAT | O_WRONLY, 0600);
			if (f >= 0)
				close(f);
		}
	} else if (sscanf(line, "EXIT %d", &n) == 1) {
		exit(n);
	} else {
		snprintf(reply, sizeof reply, "ERR\n");
	}
	ssize_t w = send(fd, reply, strlen(reply), MSG_NOSIGNAL);
	(void)w;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int port = 0, ignore_term = 0, no_ready = 0, crash_ms = -1, exit_ms = -1,
	    exit_code = 0, child = 0, spam = 0, threads = 0, listen_after = 0,
	    ready_stderr = 0, print_cwd = 0, churning = 0;
	const char *ready = "READY", *print = NULL, *print_env = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : "0";
		if (!strcmp(a, "--port"))
			port = atoi(v), i++;
		else if (!strcmp(a, "--ready"))
			ready = v, i++;
		else if (!strcmp(a, "--ignore-term"))
			ignore_term = 1;
		else if (!strcmp(a, "--no-ready"))
			no_ready = 1;
		else if (!strcmp(a, "--crash-after"))
			crash_ms = atoi(v), i++;
		else if (!strcmp(a, "--exit-after"))
			exit_ms = atoi(v), i++;
		else if (!strcmp(a, "--code"))
			exit_code = atoi(v), i++;
		else if (!strcmp(a, "--child"))
			child = 1;
		else if (!strcmp(a, "--print"))
			print = v, i++;
		else if (!strcmp(a, "--spam"))
			spam = atoi(v), i++;
		else if (!strcmp(a, "--threads"))
			threads = atoi(v), i++;
		else if (!strcmp(a, "--listen-after"))
			listen_after = atoi(v), i++;
		else if (!strcmp(a, "--ready-stderr"))
			ready_stderr = 1;
		else if (!strcmp(a, "--print-env"))
			print_env = v, i++;
		else if (!strcmp(a, "--print-cwd"))
			print_cwd = 1;
		else if (!strcmp(a, "--churn"))
			churning = 1;
		else {
			fprintf(stderr, "tgt: unknown argument %s\n", a);
			return 2;
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ignore_term ? SIG_IGN : on_term;
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (child && fork() == 0) {
		/* Stays in the target's process group, doing nothing. */
		for (;;)
			pause();
	}
	if (threads)
		start_threads(threads, "worker");
	if (churning) {
		pthread_t th;
		pthread_create(&th, NULL, churn, NULL);
	}
	if (print) {
		printf("%s\n", print);
		fprintf(stderr, "%s\n", print);
	}
	for (int i = 0; i < spam; i++)
		printf("spam line %d: the quick brown fox jumps over the lazy dog\n",
		       i);

	if (print_env) {
		const char *val = getenv(print_env);
		printf("ENV %s=%s\n", print_env, val ? val : "(unset)");
	}
	if (print_cwd) {
		char cwd[4096];
		printf("CWD %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
	}
	if (listen_after)
		usleep((useconds_t)listen_after * 1000);
	int lfd = -1;
	if (port) {
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
		    listen(lfd, 16) < 0) {
			perror("tgt: bind/listen");
			return 1;
		}
	}
	if (!no_ready)
		fprintf(ready_stderr ? stderr : stdout, "%s pid=%d\n", ready,
			(int)getpid());

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct pollfd pfd[1 + MAX_CLIENTS];
	char buf[MAX_CLIENTS][512];
	size_t have[MAX_CLIENTS];
	int clients[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
	while (!stop) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - start.tv_sec) * 1000 +
			  (now.tv_nsec - start.tv_nsec) / 1000000;
		if (crash_ms >= 0 && ms >= crash_ms)
			raise(SIGSEGV);
		if (exit_ms >= 0 && ms >= exit_ms)
			return exit_code;
		int n = 0;
		if (lfd >= 0)
			pfd[n++] = (struct pollfd){lfd, POLLIN, 0};
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (clients[i] >= 0)
				pfd[n++] = (struct pollfd){clients[i], POLLIN, 0};
		if (poll(pfd, (nfds_t)n, 10) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (pfd[k].fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				int slot = -1;
				for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
					if (clients[i] < 0)
						slot = i;
				if (c >= 0 && slot >= 0) {
					clients[slot] = c;
					have[slot] = 0;
				} else if (c >= 0) {
					close(c);
				}
				continue;
			}
			int slot = -1;
			for (int i = 0; i < MAX_CLIENTS; i++)
				if (clients[i] == pfd[k].fd)
					slot = i;
			ssize_t r = recv(pfd[k].fd, buf[slot] + have[slot],
					 sizeof buf[slot] - 1 - have[slot], 0);
			if (r <= 0) {
				close(clients[slot]);
				clients[slot] = -1;
				continue;
			}
			have[slot] += (size_t)r;
			buf[slot][have[slot]] = '\0';
			char *nl;
			while ((nl = strchr(buf[slot], '\n')) != NULL) {
				*nl = '\0';
				if (nl > buf[slot] && nl[-1] == '\r')
					nl[-1] = '\0';
				handle(clients[slot], buf[slot]);
				size_t used = (size_t)(nl + 1 - buf[slot]);
				memmove(buf[slot], nl + 1, have[slot] - used + 1);
				have[slot] -= used;
			}
			if (have[slot] >= sizeof buf[slot] - 1)
				have[slot] = 0;
		}
	}
	printf("BYE\n");
	return 0;
}
