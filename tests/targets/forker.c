/* A pre-forking server for the agent's tests, shaped like nginx: the
 * master binds its loopback port, forks --workers N workers, says READY,
 * and then hands every command to all of them.
 *
 * Commands, one per line on the port:
 *   PING      -> PONG
 *   RUN n     every worker opens /dev/null n times, then forks a helper
 *             that opens it once and exits; the reply is
 *             "DONE <failed opens> <failed helper opens> <workers>"
 *   SPAWN     the master forks one more worker now
 *   WORKERS   -> "PIDS <pid> <pid> ..."
 * Workers make no other open() call, and the master none at all, so every
 * call of posix/io/oc/open is one of those the replies count.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 16

struct worker {
	pid_t pid;
	int cmd;	/* the master writes commands here */
	int res;	/* and reads the worker's answers here */
};

static struct worker workers[MAX_WORKERS];
static int nworkers;

/* Reads one line (without the newline) from fd, byte by byte. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

static int try_open(void)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

static void worker_main(int cmd, int res)
{
	char line[64];
	while (read_line(cmd, line, sizeof line) >= 0) {
		int n;
		if (sscanf(line, "RUN %d", &n) != 1)
			continue;
		int failed = 0;
		for (int i = 0; i < n; i++)
			failed += try_open();
		int helper_failed = 0;
		pid_t h = fork();
		if (h == 0)
			_exit(try_open());
		int st;
		if (h > 0 && waitpid(h, &st, 0) == h && WIFEXITED(st))
			helper_failed = WEXITSTATUS(st);
		char out[64];
		snprintf(out, sizeof out, "%d %d\n", failed, helper_failed);
		write_all(res, out);
	}
	_exit(0);
}

static int spawn_worker(void)
{
	if (nworkers == MAX_WORKERS)
		return -1;
	int c[2], r[2];
	if (pipe(c) < 0 || pipe(r) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(c[1]);
		close(r[0]);
		for (int i = 0; i < nworkers; i++) {
			close(workers[i].cmd);
			close(workers[i].res);
		}
		worker_main(c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	workers[nworkers++] = (struct worker){pid, c[1], r[0]};
	return 0;
}

int main(int argc, char **argv)
{
	int port = 0, n = 2;
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--workers"))
			n = atoi(argv[++i]);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 8) < 0) {
		perror("forker: bind");
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (spawn_worker() < 0) {
			perror("forker: fork");
			return 1;
		}
	printf("READY %d workers\n", nworkers);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		char line[64], out[512];
		if (read_line(c, line, sizeof line) < 0) {
			close(c);
			continue;
		}
		int k;
		if (!strcmp(line, "PING")) {
			write_all(c, "PONG\n");
		} else if (!strcmp(line, "SPAWN")) {
			write_all(c, spawn_worker() == 0 ? "SPAWNED\n" : "FAILED\n");
		} else if (!strcmp(line, "WORKERS")) {
			size_t len = (size_t)snprintf(out, sizeof out, "PIDS");
			for (int i = 0; i < nworkers; i++)
				len += (size_t)snprintf(out + len, sizeof out - len,
							" %d", (int)workers[i].pid);
			snprintf(out + len, sizeof out - len, "\n");
			write_all(c, out);
		} else if (sscanf(line, "RUN %d", &k) == 1) {
			char cmd[32];
			snprintf(cmd, sizeof cmd, "RUN %d\n", k);
			for (int i = 0; i < nworkers; i++)
				write_all(workers[i].cmd, cmd);
			int failed = 0, helpers = 0;
			for (int i = 0; i < nworkers; i++) {
				char res[64];
				int f, h;
				if (read_line(workers[i].res, res, sizeof res) >= 0 &&
				    sscanf(res, "%d %d", &f, &h) == 2) {
					failed += f;
					helpers += h;
				}
			}
			snprintf(out, sizeof out, "DONE %d %d %d\n", failed,
				 helpers, nworkers);
			write_all(c, out);
		}
		close(c);
	}
}
