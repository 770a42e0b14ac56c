#define _GNU_SOURCE
#include "probe.h"

#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {fd, events, 0};
	for (;;) {
		int64_t left = deadline - fl_now_ns();
		if (left <= 0)
			return 0;
		int ms = (int)((left + FL_NS_PER_MS - 1) / FL_NS_PER_MS);
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 1;
	}
}

int fl_probe_tcp(const fl_tcp_probe *p, fl_health_result *out)
{
	int64_t start = fl_now_ns();
	int64_t deadline = start + (p->timeout_ns > 0 ? p->timeout_ns
						       : 500 * FL_NS_PER_MS);
	out->ok = 0;
	out->detail[0] = '\0';
	int fd = socket(p->ipv6 ? AF_INET6 : AF_INET,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(out->detail, sizeof out->detail, "socket: %s",
			 strerror(errno));
		goto done;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (p->ipv6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p->port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p->port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(out->detail, sizeof out->detail, "connect: %s",
			 strerror(errno));
		goto done;
	}
	int w = wait_fd(fd, POLLOUT, deadline);
	if (w <= 0) {
		snprintf(out->detail, sizeof out->detail, "connect: %s",
			 w == 0 ? "timed out" : strerror(-w));
		goto done;
	}
	int soerr = 0;
	socklen_t len = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr) {
		snprintf(out->detail, sizeof out->detail, "connect: %s",
			 strerror(soerr));
		goto done;
	}
	if (p->send && p->send_len) {
		size_t sent = 0;
		while (sent < p->send_len) {
			ssize_t n = send(fd, p->send + sent, p->send_len - sent,
					 MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN) {
				if (wait_fd(fd, POLLOUT, deadline) <= 0)
					break;
				continue;
			}
			if (n < 0) {
				snprintf(out->detail, sizeof out->detail,
					 "send: %s", strerror(errno));
				goto done;
			}
			sent += (size_t)n;
		}
		if (sent < p->send_len) {
			snprintf(out->detail, sizeof out->detail,
				 "send: timed out");
			goto done;
		}
	}
	if (p->expect && *p->expect) {
		char buf[4096];
		size_t have = 0;
		for (;;) {
			int r = wait_fd(fd, POLLIN, deadline);
			if (r <= 0) {
				snprintf(out->detail, sizeof out->detail,
					 "no '%.40s' in the reply: %s",
					 p->expect,
					 r == 0 ? "timed out" : strerror(-r));
				goto done;
			}
			ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				snprintf(out->detail, sizeof out->detail,
					 "connection closed before '%.40s'",
					 p->expect);
				goto done;
			}
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, p->expect))
				break;
			if (have >= sizeof buf - 1) {
				snprintf(out->detail, sizeof out->detail,
					 "no '%.40s' in the first 4 KiB",
					 p->expect);
				goto done;
			}
		}
	}
	out->ok = 1;
done:
	if (fd >= 0)
		close(fd);
	out->latency_ns = fl_now_ns() - start;
	return out->ok;
}

static int connect_loopback(int port, int64_t deadline, char *err,
			    size_t errlen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "connect to port %d: %s", port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	int w = wait_fd(fd, POLLOUT, deadline);
	int soerr = 0;
	socklen_t len = sizeof soerr;
	if (w > 0)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (w <= 0 || soerr) {
		snprintf(err, errlen, "connect to port %d: %s", port,
			 w == 0 ? "timed out" : strerror(soerr ? soerr : -w));
		close(fd);
		return -1;
	}
	return fd;
}

char *fl_tcp_request(int port, const char *send_buf, size_t send_len,
		     const char *expect, int64_t timeout_ns, char *err,
		     size_t errlen)
{
	int64_t deadline = fl_now_ns() + timeout_ns;
	int fd = connect_loopback(port, deadline, err, errlen);
	if (fd < 0)
		return NULL;
	size_t sent = 0;
	while (sent < send_len) {
		ssize_t n = send(fd, send_buf + sent, send_len - sent,
				 MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) <= 0)
				break;
			continue;
		}
		if (n < 0) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			close(fd);
			return NULL;
		}
		sent += (size_t)n;
	}
	if (sent < send_len) {
		snprintf(err, errlen, "send: timed out");
		close(fd);
		return NULL;
	}
	fl_buf b;
	fl_buf_init(&b);
	for (;;) {
		if (b.len && (expect ? strstr(b.data, expect) != NULL
				     : memchr(b.data, '\n', b.len) != NULL))
			break;
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			snprintf(err, errlen, "no %s%s%s in the reply: %s",
				 expect ? "'" : "", expect ? expect : "newline",
				 expect ? "'" : "",
				 r == 0 ? "timed out" : strerror(-r));
			close(fd);
			fl_buf_free(&b);
			return NULL;
		}
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			if (expect || b.len == 0) {
				snprintf(err, errlen,
					 "the connection closed before %s%s%s",
					 expect ? "'" : "",
					 expect ? expect : "a reply",
					 expect ? "'" : "");
				close(fd);
				fl_buf_free(&b);
				return NULL;
			}
			break;
		}
		if (b.len + (size_t)n > 1 << 20) {
			snprintf(err, errlen, "reply longer than 1 MiB");
			close(fd);
			fl_buf_free(&b);
			return NULL;
		}
		fl_buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	return fl_buf_steal(&b);
}

/* Ports handed out recently by this process, so that scenarios running
 * side by side never get the same one even if a target is slow to bind. */
static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static int recent_ports[256];
static unsigned recent_next;

static int recently_given(int port)
{
	for (unsigned i = 0; i < sizeof recent_ports / sizeof recent_ports[0];
	     i++)
		if (recent_ports[i] == port)
			return 1;
	return 0;
}

int fl_probe_free_port(void)
{
	for (int attempt = 0; attempt < 64; attempt++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = 0;
		socklen_t len = sizeof a;
		if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		close(fd);
		int port = ntohs(a.sin_port);
		pthread_mutex_lock(&ports_lock);
		int taken = recently_given(port);
		if (!taken) {
			recent_ports[recent_next++ %
				     (sizeof recent_ports /
				      sizeof recent_ports[0])] = port;
		}
		pthread_mutex_unlock(&ports_lock);
		if (!taken)
			return port;
	}
	return -EADDRINUSE;
}
