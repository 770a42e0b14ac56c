/* A target built the way distributions build servers, with
 * -O2 -D_FORTIFY_SOURCE=2 (GNUmakefile), that makes the calls libfiu has
 * no wrapper for: accept4 on loopback, openat (plain and, with flags known
 * only at run time, the fortified __openat_2), and read() of a length
 * known only at run time, which the fortified build turns into
 * __read_chk. The end-to-end tests fault each of them through faultline's
 * agent and compare what the program saw with the fault journal.
 *
 * It prints READY and its data port, then takes commands, one per
 * connection on --port: "RUN n" does n rounds of openat + read + accept4
 * and answers with what failed:
 *   DONE openat=<fails> read=<fails> accept4=<fails> errnos=<e,e,...>
 * (the errnos of the failures in the order they happened). Every call
 * happens on the main thread (actor "0"), and none of them happens before
 * the first RUN, so call numbers count from the first round. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Flags the compiler cannot see through: openat() with them is
 * __openat_2 in a fortified build. */
static volatile int runtime_flags = O_RDONLY | O_CLOEXEC;
/* A read length known only at run time: __read_chk. */
static volatile size_t runtime_len = 16;

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	return ntohs(a.sin_port);
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct tally {
	int openat, read, accept4;
	char errnos[4096];
	size_t used;
};

static void failed(struct tally *t, int *count, int err)
{
	(*count)++;
	int n = snprintf(t->errnos + t->used, sizeof t->errnos - t->used, "%s%d",
			 t->used ? "," : "", err);
	if (n > 0 && (size_t)n < sizeof t->errnos - t->used)
		t->used += (size_t)n;
}

/* One round: openat, read, accept4. A connection whose accept4 failed
 * stays in the backlog for the next round's accept4. */
static void round_once(int k, int data_fd, int data_port, int *pending, struct tally *t)
{
	char buf[64];
	int fd = k % 2 ? openat(AT_FDCWD, "/dev/zero", O_RDONLY | O_CLOEXEC)
		       : openat(AT_FDCWD, "/dev/zero", runtime_flags);
	int err = errno;
	if (fd < 0)
		failed(t, &t->openat, err);
	int rfd = fd >= 0 ? fd : open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ssize_t n = read(rfd, buf, runtime_len);
	err = errno;
	if (n < 0)
		failed(t, &t->read, err);
	close(rfd);

	if (*pending < 0)
		*pending = connect_to(data_port);
	int c = accept4(data_fd, NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	if (c < 0) {
		failed(t, &t->accept4, err);
		return;
	}
	close(c);
	close(*pending);
	*pending = -1;
}

int main(int argc, char **argv)
{
	int port = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
	int ctl = listen_on(port);
	int data = listen_on(0);
	if (ctl < 0 || data < 0) {
		perror("fortio: listen");
		return 1;
	}
	int data_port = local_port(data);
	printf("READY data=%d\n", data_port);
	fflush(stdout);
	int pending = -1;
	for (;;) {
		int c = accept(ctl, NULL, NULL);
		if (c < 0)
			continue;
		char cmd[64] = "";
		ssize_t n = recv(c, cmd, sizeof cmd - 1, 0);
		if (n > 0) {
			cmd[n] = '\0';
			int rounds = 0;
			if (sscanf(cmd, "RUN %d", &rounds) == 1 && rounds > 0) {
				struct tally t = { 0 };
				for (int k = 1; k <= rounds; k++)
					round_once(k, data, data_port, &pending, &t);
				char reply[4200];
				int len = snprintf(reply, sizeof reply,
						   "DONE openat=%d read=%d accept4=%d errnos=%s\n",
						   t.openat, t.read, t.accept4,
						   t.used ? t.errnos : "-");
				send(c, reply, (size_t)len, MSG_NOSIGNAL);
			}
		}
		close(c);
	}
}
