/* Health probes against tiny servers on loopback (TCP on 127.0.0.1 and
 * ::1, Unix sockets): line protocols and HTTP, replies that pass, fail,
 * dribble, never come or are cut short, and probing back to back. No
 * assertion depends on how long anything takes: a reply that fails must
 * fail for its own reason (not a timeout), and a probe that would wait
 * out its hour-long timeout would hit the test's timeout instead. */
#include "testutil.h"

#include "probe.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#define HOUR (3600LL * 1000000000LL)
#define MS 1000000LL

enum mode {
	M_PONG,		/* a line in, "PONG\n" out, then wait for the client */
	M_FAIL,		/* "FAIL\n", then wait */
	M_DRIBBLE,	/* "PONG\n" one byte at a time */
	M_SILENT,	/* reads the line and never answers */
	M_CLOSE,	/* closes as soon as it accepts */
	M_FAIL_CLOSE,	/* "FAIL" without a newline, then closes */
	M_MULTI,	/* three lines, one write each */
	M_OK_AFTER,	/* "FAIL\n" until its ok_after-th connection */
	M_HTTP,		/* HTTP, by path (see http_reply) */
	M_HTTP_DRIBBLE,	/* the same, one byte at a time */
	M_CANNED,	/* reads a request, sends canned, then closes or waits */
};

typedef struct server {
	int lfd;
	fl_probe_addr addr;
	char path[108];
	char dir[64];
	enum mode mode;
	int ok_after;
	const char *canned;	/* M_CANNED: the reply, canned_len bytes */
	size_t canned_len;
	int canned_close;	/* close after it instead of waiting */
	atomic_int conns;
	int stop[2];
	pthread_t th;
} server;

static void put(int fd, const char *s, size_t len, int dribble)
{
	if (!dribble) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
		(void)w;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (send(fd, s + i, 1, MSG_NOSIGNAL) != 1)
			return;
		usleep(200);
	}
}

static void puts_(int fd, const char *s, int dribble)
{
	put(fd, s, strlen(s), dribble);
}

/* Reads until the text ends with one of the markers (or EOF). */
static size_t read_until(int fd, char *buf, size_t cap, const char *mark)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, mark))
			break;
	}
	buf[n] = '\0';
	return n;
}

/* Keeps the connection until the client closes it: these servers do not
 * end a reply by closing unless the mode says so. */
static void wait_client(int fd)
{
	char buf[512];
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
}

static void http_reply(int fd, const char *req, int dribble)
{
	char path[256] = "", host[256] = "";
	sscanf(req, "GET %255s", path);
	const char *h = strstr(req, "\r\nHost: ");
	if (h)
		sscanf(h + 8, "%255[^\r]", host);
	char out[512];
	if (!strcmp(path, "/ok")) {
		puts_(fd,
		      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		      "Content-Length: 12\r\n\r\nstatus: good",
		      dribble);
	} else if (!strcmp(path, "/down")) {
		puts_(fd,
		      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4"
		      "\r\n\r\ndown",
		      dribble);
	} else if (!strcmp(path, "/chunked")) {
		/* "status: good" in two chunks that split the text. */
		puts_(fd,
		      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		      "4\r\nstat\r\n8;x=1\r\nus: good\r\n0\r\n\r\n",
		      dribble);
	} else if (!strcmp(path, "/close")) {
		puts_(fd, "HTTP/1.0 200 OK\r\n\r\nstatus: good", dribble);
		return;	/* closed by the caller: that ends the body */
	} else if (!strcmp(path, "/hints")) {
		puts_(fd,
		      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
		      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		      dribble);
	} else if (!strcmp(path, "/empty")) {
		puts_(fd, "HTTP/1.1 204 No Content\r\n\r\n", dribble);
	} else if (!strcmp(path, "/short")) {
		puts_(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello",
		      dribble);
		return;
	} else if (!strcmp(path, "/host")) {
		snprintf(out, sizeof out,
			 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(host), host);
		puts_(fd, out, dribble);
	} else if (!strcmp(path, "/big")) {
		puts_(fd, "HTTP/1.1 200 OK\r\n\r\n", 0);
		static char blob[100 * 1024];
		memset(blob, 'a', sizeof blob);
		put(fd, blob, sizeof blob, 0);
		return;
	} else {
		puts_(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		      dribble);
	}
	wait_client(fd);
}

static void serve_one(server *s, int fd, int n)
{
	char buf[8192];
	switch (s->mode) {
	case M_CLOSE:
		return;
	case M_HTTP:
	case M_HTTP_DRIBBLE:
		read_until(fd, buf, sizeof buf, "\r\n\r\n");
		http_reply(fd, buf, s->mode == M_HTTP_DRIBBLE);
		return;
	case M_CANNED:
		read_until(fd, buf, sizeof buf, "\r\n\r\n");
		put(fd, s->canned, s->canned_len, 0);
		if (!s->canned_close)
			wait_client(fd);
		return;
	default:
		break;
	}
	read_until(fd, buf, sizeof buf, "\n");
	switch (s->mode) {
	case M_PONG:
		puts_(fd, "PONG\n", 0);
		break;
	case M_FAIL:
		puts_(fd, "FAIL\n", 0);
		break;
	case M_DRIBBLE:
		puts_(fd, "PONG\n", 1);
		break;
	case M_FAIL_CLOSE:
		puts_(fd, "FAIL", 0);
		return;
	case M_MULTI:
		puts_(fd, "STAT a 1\n", 0);
		usleep(1000);
		puts_(fd, "STAT b 2\n", 0);
		usleep(1000);
		puts_(fd, "END\n", 0);
		break;
	case M_OK_AFTER:
		puts_(fd, n >= s->ok_after ? "PONG\n" : "FAIL\n", 0);
		break;
	default:
		break;
	}
	wait_client(fd);
}

static void *serve(void *arg)
{
	server *s = arg;
	for (;;) {
		struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int n = atomic_fetch_add(&s->conns, 1) + 1;
		serve_one(s, fd, n);
		close(fd);
	}
}

/* Is there an IPv6 loopback to test on? */
static int have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

#define NEED_IPV6()                                                         \
	do {                                                                \
		if (!have_ipv6())                                           \
			cr_skip_test("no IPv6 loopback (::1) on this "      \
				     "machine: the IPv6 probe is untested"); \
	} while (0)

/* A socket bound on loopback (or a Unix path) but not yet listening. */
static int bound_socket(int family, fl_probe_addr *addr, char *path,
			char *dir)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	memset(addr, 0, sizeof *addr);
	addr->family = family;
	if (family == AF_UNIX) {
		strcpy(dir, "/tmp/fl-probe.XXXXXX");
		cr_assert_not_null(mkdtemp(dir));
		snprintf(path, 108, "%s/s.sock", dir);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
		cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0,
			     "bind %s: %s", path, strerror(errno));
		addr->path = path;
		return fd;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, sl), 0, "bind: %s",
		     strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	addr->port = ntohs(family == AF_INET6
				   ? ((struct sockaddr_in6 *)&ss)->sin6_port
				   : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Starts s (its mode and canned reply already set) on family. */
static server *server_listen(server *s, int family)
{
	s->lfd = bound_socket(family, &s->addr, s->path, s->dir);
	cr_assert_eq(listen(s->lfd, 16), 0, "listen: %s", strerror(errno));
	cr_assert_eq(pipe2(s->stop, O_CLOEXEC), 0);
	cr_assert_eq(pthread_create(&s->th, NULL, serve, s), 0);
	return s;
}

static server *server_start(int family, enum mode mode)
{
	server *s = calloc(1, sizeof *s);
	cr_assert_not_null(s);
	s->mode = mode;
	return server_listen(s, family);
}

/* A server on 127.0.0.1 that answers every request with len bytes of
 * reply, then closes (close_after) or waits for the client to close. The
 * reply must outlive the server. */
static server *canned_start(const char *reply, size_t len, int close_after)
{
	server *s = calloc(1, sizeof *s);
	cr_assert_not_null(s);
	s->mode = M_CANNED;
	s->canned = reply;
	s->canned_len = len;
	s->canned_close = close_after;
	return server_listen(s, AF_INET);
}

static void server_stop(server *s)
{
	ssize_t w = write(s->stop[1], "x", 1);
	(void)w;
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	if (s->dir[0]) {
		unlink(s->path);
		rmdir(s->dir);
	}
	free(s);
}

static fl_probe line_probe(const server *s, const char *expect)
{
	fl_probe p;
	memset(&p, 0, sizeof p);
	p.addr = s->addr;
	p.send = "PING\n";
	p.send_len = 5;
	p.expect = expect;
	p.timeout_ns = HOUR;
	return p;
}

static fl_probe http_probe(const server *s, const char *path)
{
	fl_probe p;
	memset(&p, 0, sizeof p);
	p.addr = s->addr;
	p.http_path = path;
	p.timeout_ns = HOUR;
	return p;
}

/* The times of a result that got a reply, in order. */
static void assert_times(const fl_probe_result *r)
{
	cr_assert_gt(r->start_ns, 0);
	cr_assert_geq(r->connected_ns, r->start_ns);
	cr_assert_geq(r->first_byte_ns, r->connected_ns,
		      "first byte %lld before the connection %lld",
		      (long long)r->first_byte_ns, (long long)r->connected_ns);
	cr_assert_geq(r->end_ns, r->first_byte_ns);
}

static void assert_reason(const fl_probe_result *r, enum fl_probe_reason want,
			  const char *detail)
{
	cr_assert_eq(r->ok, 0, "the probe passed; expected %s",
		     fl_probe_reason_name(want));
	cr_assert_eq(r->reason, want, "reason %s (%s), expected %s",
		     fl_probe_reason_name(r->reason), r->detail,
		     fl_probe_reason_name(want));
	if (detail)
		cr_assert(strstr(r->detail, detail), "detail '%s' lacks '%s'",
			  r->detail, detail);
}

/* ------------------------------------------------------------------ */
/* Line protocols. */

static void pong_passes(int family)
{
	server *s = server_start(family, M_PONG);
	fl_probe p = line_probe(s, "PONG");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 1, "probe failed: %s", r.detail);
	cr_assert_eq(r.reason, FL_PROBE_PASSED);
	cr_assert_eq(r.reply_bytes, 5);
	assert_times(&r);
	cr_assert_eq(fl_probe_result_time(&r), r.first_byte_ns);
	cr_assert_eq(atomic_load(&s->conns), 1);
	server_stop(s);
}

Test(probe_line, pong_passes_ipv4, .timeout = 60) { pong_passes(AF_INET); }

Test(probe_line, pong_passes_ipv6, .timeout = 60)
{
	NEED_IPV6();
	pong_passes(AF_INET6);
}

Test(probe_line, pong_passes_unix, .timeout = 60) { pong_passes(AF_UNIX); }

static void fail_fails_at_once(int family)
{
	server *s = server_start(family, M_FAIL);
	fl_probe p = line_probe(s, "PONG");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	/* Decided by the complete line, not by the hour-long timeout. */
	assert_reason(&r, FL_PROBE_MISMATCH,
		      "reply 'FAIL\\n' did not contain 'PONG'");
	cr_assert_eq(r.phase, FL_PROBE_AT_REPLY);
	cr_assert_lt(r.end_ns - r.start_ns, HOUR);
	assert_times(&r);
	server_stop(s);
}

Test(probe_line, fail_reply_fails_at_once_ipv4, .timeout = 60)
{
	fail_fails_at_once(AF_INET);
}

Test(probe_line, fail_reply_fails_at_once_ipv6, .timeout = 60)
{
	NEED_IPV6();
	fail_fails_at_once(AF_INET6);
}

Test(probe_line, fail_reply_fails_at_once_unix, .timeout = 60)
{
	fail_fails_at_once(AF_UNIX);
}

Test(probe_line, dribbled_reply_is_assembled, .timeout = 60)
{
	server *s = server_start(AF_INET, M_DRIBBLE);
	fl_probe p = line_probe(s, "PONG\n");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);
	assert_times(&r);
	cr_assert_eq(r.reply_bytes, 5);
	server_stop(s);
}

Test(probe_line, silence_times_out_with_the_timeout_in_the_reason,
     .timeout = 60)
{
	server *s = server_start(AF_INET, M_SILENT);
	fl_probe p = line_probe(s, "PONG");
	p.timeout_ns = 200 * MS;
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_TIMEOUT,
		      "timed out after 200 ms waiting for a reply");
	cr_assert_eq(r.phase, FL_PROBE_AT_REPLY);
	cr_assert_eq(r.first_byte_ns, 0);
	cr_assert_geq(r.end_ns - r.start_ns, 200 * MS);
	server_stop(s);
}

Test(probe_line, peer_closing_at_once_fails_without_timeout, .timeout = 60)
{
	server *s = server_start(AF_INET, M_CLOSE);
	fl_probe p = line_probe(s, "PONG");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	/* The close (FIN) or the reset our request provokes, whichever the
	 * kernel reports first. */
	cr_assert(r.reason == FL_PROBE_CLOSED || r.reason == FL_PROBE_RESET,
		  "reason %s: %s", fl_probe_reason_name(r.reason), r.detail);
	cr_assert_eq(r.reply_bytes, 0);
	server_stop(s);
}

Test(probe_line, partial_reply_then_close_is_a_mismatch, .timeout = 60)
{
	server *s = server_start(AF_UNIX, M_FAIL_CLOSE);
	fl_probe p = line_probe(s, "PONG");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_MISMATCH, "reply 'FAIL' did not contain");
	server_stop(s);
}

Test(probe_line, refused_ipv4, .timeout = 60)
{
	fl_probe_addr a;
	int fd = bound_socket(AF_INET, &a, NULL, NULL);
	fl_probe p = {.addr = a, .timeout_ns = HOUR};
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	char want[64];
	snprintf(want, sizeof want, "connect to 127.0.0.1:%d: connection refused",
		 a.port);
	assert_reason(&r, FL_PROBE_REFUSED, want);
	cr_assert_eq(r.phase, FL_PROBE_AT_CONNECT);
	cr_assert_eq(r.err, ECONNREFUSED);
	cr_assert_eq(r.connected_ns, 0);
	cr_assert_eq(r.first_byte_ns, 0);
	cr_assert_eq(fl_probe_result_time(&r), r.end_ns);
	close(fd);
}

Test(probe_line, refused_ipv6, .timeout = 60)
{
	NEED_IPV6();
	fl_probe_addr a;
	int fd = bound_socket(AF_INET6, &a, NULL, NULL);
	fl_probe p = {.addr = a, .timeout_ns = HOUR};
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	char want[64];
	snprintf(want, sizeof want, "connect to [::1]:%d: connection refused",
		 a.port);
	assert_reason(&r, FL_PROBE_REFUSED, want);
	close(fd);
}

Test(probe_line, unix_socket_without_listener_or_file_is_refused,
     .timeout = 60)
{
	fl_probe_addr a;
	char path[108], dir[64];
	int fd = bound_socket(AF_UNIX, &a, path, dir);
	fl_probe p = {.addr = a, .timeout_ns = HOUR};
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_REFUSED, "connection refused");
	close(fd);
	unlink(path);
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_REFUSED, "no such socket");
	cr_assert_eq(r.err, ENOENT);
	rmdir(dir);
}

Test(probe_line, connect_only_passes_once_connected, .timeout = 60)
{
	server *s = server_start(AF_INET, M_SILENT);
	fl_probe p = {.addr = s->addr, .timeout_ns = HOUR};
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);
	cr_assert_eq(r.first_byte_ns, 0);
	cr_assert_eq(fl_probe_result_time(&r), r.end_ns);
	server_stop(s);
}

/* A reply is complete at its first newline, unless expect spans more
 * lines or reply_end says where it ends. */
Test(probe_line, multi_line_replies_end_where_the_rules_say, .timeout = 60)
{
	server *s = server_start(AF_INET, M_MULTI);
	fl_probe p = line_probe(s, "END");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_MISMATCH,
		      "reply 'STAT a 1\\n' did not contain 'END'");

	p.reply_end = "END\n";
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);

	p.reply_end = NULL;
	p.expect = "a 1\nSTAT b";
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);

	p.expect = "a 1\nEND";
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_MISMATCH,
		      "reply 'STAT a 1\\nSTAT b 2\\n' did not contain");

	/* Only the close ends the reply: the server keeps it open, so no
	 * newline decides this one and it waits for its timeout. */
	p.expect = "nothing";
	p.reply_end = "";
	p.timeout_ns = 300 * MS;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_TIMEOUT, "timed out after 300 ms");
	cr_assert_eq(atomic_load(&s->conns), 5);
	server_stop(s);
}

Test(probe_line, regex_matches_the_complete_reply, .timeout = 60)
{
	server *s = server_start(AF_INET, M_PONG);
	char err[160];
	fl_probe p = line_probe(s, "^PO+NG$");
	p.regex = 1;
	cr_assert_eq(fl_probe_prepare(&p, err, sizeof err), 0, "%s", err);
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);
	fl_probe_release(&p);

	p.expect = "^PANG$";
	cr_assert_eq(fl_probe_prepare(&p, err, sizeof err), 0, "%s", err);
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_MISMATCH,
		      "reply 'PONG\\n' did not match '^PANG$'");
	fl_probe_release(&p);

	/* An unprepared regex probe is an error, not a pass. */
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_ERROR, "not compiled");
	server_stop(s);
}

/* ------------------------------------------------------------------ */
/* HTTP. */

Test(probe_http, status_200_passes_and_503_fails_with_the_status,
     .timeout = 60)
{
	server *s = server_start(AF_INET, M_HTTP);
	fl_probe p = http_probe(s, "/ok");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);
	cr_assert_eq(r.http_status, 200);
	assert_times(&r);

	p.http_path = "/down";
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_STATUS, "HTTP 503 not 200");
	cr_assert_eq(r.http_status, 503);
	assert_times(&r);

	char err[160];
	cr_assert_eq(fl_probe_parse_status(&p, "5xx", err, sizeof err), 0);
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);

	p.nstatus = 0;
	cr_assert_eq(fl_probe_parse_status(&p, "200, 204", err, sizeof err), 0);
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_STATUS, "HTTP 503 not in 200, 204");
	server_stop(s);
}

static void body_checks(enum mode mode, int family)
{
	server *s = server_start(family, mode);
	char err[160];
	static const char *const paths[] = {"/ok", "/chunked", "/close"};
	for (size_t i = 0; i < 3; i++) {
		fl_probe p = http_probe(s, paths[i]);
		p.expect = "status: good";
		fl_probe_result r;
		cr_assert_eq(fl_probe_run(&p, &r), 1, "%s: %s", paths[i],
			     r.detail);
		p.expect = "bad";
		cr_assert_eq(fl_probe_run(&p, &r), 0);
		assert_reason(&r, FL_PROBE_MISMATCH,
			      "HTTP 200 body 'status: good' did not contain "
			      "'bad'");
		/* A regex sees the whole body, whatever its framing. */
		p.expect = "^status: go+d$";
		p.regex = 1;
		cr_assert_eq(fl_probe_prepare(&p, err, sizeof err), 0, "%s",
			     err);
		cr_assert_eq(fl_probe_run(&p, &r), 1, "%s: %s", paths[i],
			     r.detail);
		fl_probe_release(&p);

		fl_probe_reply reply;
		p = http_probe(s, paths[i]);
		cr_assert_eq(fl_probe_fetch(&p, &r, &reply), 1, "%s", r.detail);
		cr_assert_eq(reply.status, 200);
		cr_assert_eq(reply.len, 12);
		cr_assert_str_eq(reply.data, "status: good");
		fl_probe_reply_free(&reply);
	}
	server_stop(s);
}

Test(probe_http, body_by_length_chunks_and_close, .timeout = 60)
{
	body_checks(M_HTTP, AF_INET);
}

Test(probe_http, body_dribbled_byte_by_byte, .timeout = 60)
{
	body_checks(M_HTTP_DRIBBLE, AF_INET);
}

Test(probe_http, body_over_ipv6, .timeout = 60)
{
	NEED_IPV6();
	body_checks(M_HTTP, AF_INET6);
}

Test(probe_http, body_over_a_unix_socket, .timeout = 60)
{
	body_checks(M_HTTP, AF_UNIX);
}

Test(probe_http, interim_replies_empty_bodies_and_cut_bodies, .timeout = 60)
{
	server *s = server_start(AF_INET, M_HTTP_DRIBBLE);
	char err[160];
	fl_probe p = http_probe(s, "/hints");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 1, "%s", r.detail);
	cr_assert_eq(r.http_status, 200);

	p.http_path = "/empty";
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_STATUS, "HTTP 204 not 200");
	cr_assert_eq(fl_probe_parse_status(&p, "2xx", err, sizeof err), 0);
	p.expect = "x";
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_MISMATCH, "HTTP 204 body '' did not contain");

	p = http_probe(s, "/short");
	p.expect = "world";
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_CLOSED,
		      "the connection closed after 5 of 100 body bytes");
	server_stop(s);
}

Test(probe_http, big_body_without_the_text_is_too_long, .timeout = 60)
{
	server *s = server_start(AF_INET, M_HTTP);
	fl_probe p = http_probe(s, "/big");
	p.expect = "needle";
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_TOO_LONG,
		      "no 'needle' in the first 64 KiB of the body");
	server_stop(s);
}

Test(probe_http, a_line_server_is_not_http, .timeout = 60)
{
	server *s = server_start(AF_INET, M_FAIL);
	fl_probe p = http_probe(s, "/");
	fl_probe_result r;
	cr_assert_eq(fl_probe_run(&p, &r), 0);
	assert_reason(&r, FL_PROBE_PROTOCOL, "not an HTTP reply: 'FAIL\\n'");
	server_stop(s);
}

Test(probe_http, host_header_and_reply_headers, .timeout = 60)
{
	server *s = server_start(AF_INET, M_HTTP);
	fl_probe p = http_probe(s, "/host");
	fl_probe_result r;
	fl_probe_reply reply;
	cr_assert_eq(fl_probe_fetch(&p, &r, &reply), 1, "%s", r.detail);
	char want[64];
	snprintf(want, sizeof want, "127.0.0.1:%d", s->addr.port);
	cr_assert_str_eq(reply.data, want);
	size_t len;
	const char *v = fl_probe_reply_header(&reply, "content-LENGTH", &len);
	cr_assert_not_null(v);
	char n[16];
	snprintf(n, sizeof n, "%zu", strlen(want));
	cr_assert_eq(len, strlen(n));
	cr_assert(!strncmp(v, n, len));
	cr_assert_null(fl_probe_reply_header(&reply, "X-None", NULL));
	fl_probe_reply_free(&reply);

	p.http_host = "example.test";
	cr_assert_eq(fl_probe_fetch(&p, &r, &reply), 1, "%s", r.detail);
	cr_assert_str_eq(reply.data, "example.test");
	fl_probe_reply_free(&reply);

	p = http_probe(s, "/chunked");
	cr_assert_eq(fl_probe_fetch(&p, &r, &reply), 1, "%s", r.detail);
	v = fl_probe_reply_header(&reply, "Transfer-Encoding", &len);
	cr_assert(v && len == 7 && !strncmp(v, "chunked", 7));
	fl_probe_reply_free(&reply);
	server_stop(s);

	s = server_start(AF_UNIX, M_HTTP);
	p = http_probe(s, "/host");
	cr_assert_eq(fl_probe_fetch(&p, &r, &reply), 1, "%s", r.detail);
	cr_assert_str_eq(reply.data, "localhost");
	fl_probe_reply_free(&reply);
	server_stop(s);
}

/* ------------------------------------------------------------------ */
/* HTTP framing: each way a reply can break, against a server that sends
 * a canned reply. Unless a case is about the server closing, the server
 * keeps the connection open after its reply, so a probe that did not
 * decide on the bytes alone would wait out its hour-long timeout and hit
 * the test's. */

/* Runs p (an HTTP probe; its address, "/" and an hour's timeout are
 * filled in here) against a server that answers with len bytes of reply,
 * then closes (close_after) or waits. With out, fetches and keeps the
 * reply there. Returns r->ok. */
static int canned(const char *reply, size_t len, int close_after, fl_probe *p,
		  fl_probe_result *r, fl_probe_reply *out)
{
	server *s = canned_start(reply, len, close_after);
	p->addr = s->addr;
	if (!p->http_path)
		p->http_path = "/";
	if (!p->timeout_ns)
		p->timeout_ns = HOUR;
	int ok = out ? fl_probe_fetch(p, r, out) : fl_probe_run(p, r);
	server_stop(s);
	return ok;
}

/* A probe that looks for expect (NULL: none) in the body of reply. */
static fl_probe_result canned_probe(const char *reply, int close_after,
				    const char *expect)
{
	fl_probe p;
	memset(&p, 0, sizeof p);
	p.expect = expect;
	fl_probe_result r;
	canned(reply, strlen(reply), close_after, &p, &r, NULL);
	return r;
}

/* The probe failed while reading the reply, for this reason, with this
 * message exactly. */
static void assert_failure(const fl_probe_result *r, enum fl_probe_reason want,
			   const char *detail)
{
	cr_assert_eq(r->ok, 0, "the probe passed; expected %s: '%s'",
		     fl_probe_reason_name(want), detail);
	cr_assert_eq(r->reason, want, "reason %s ('%s'), expected %s ('%s')",
		     fl_probe_reason_name(r->reason), r->detail,
		     fl_probe_reason_name(want), detail);
	cr_assert_str_eq(r->detail, detail, "detail '%s', expected '%s'",
			 r->detail, detail);
	cr_assert_eq(r->phase, FL_PROBE_AT_REPLY, "phase %d", (int)r->phase);
}

/* len bytes: head, then fill repeated up to len. */
static char *filled(const char *head, char fill, size_t len)
{
	char *s = malloc(len + 1);
	cr_assert_not_null(s);
	memset(s, fill, len);
	memcpy(s, head, strlen(head));
	s[len] = '\0';
	return s;
}

#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

Test(probe_http_framing, status_line_longer_than_8_KiB, .timeout = 60)
{
	/* 13 + 8000 + 2 bytes: long but complete, and legal. */
	char *ok = filled("HTTP/1.1 200 ", 'a', 8015);
	ok[8013] = '\r';
	ok[8014] = '\n';
	fl_probe_result r = canned_probe(ok, 0, NULL);
	cr_assert_eq(r.ok, 1, "%s", r.detail);
	cr_assert_eq(r.http_status, 200);
	free(ok);

	char *bad = filled("HTTP/1.1 200 ", 'a', 9000);
	r = canned_probe(bad, 0, NULL);
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "an HTTP status line longer than 8192 bytes");
	free(bad);
}

Test(probe_http_framing, bad_status_lines, .timeout = 60)
{
	fl_probe_result r = canned_probe("HTTP/1.1 2000 OK\r\n\r\n", 0, NULL);
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "bad HTTP status line 'HTTP/1.1 2000 OK'");
	r = canned_probe("HTTP/1.1 200OK\r\n\r\n", 0, NULL);
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "bad HTTP status line 'HTTP/1.1 200OK'");
	/* No reason phrase is still a status line. */
	r = canned_probe("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 0,
			 "ok");
	cr_assert_eq(r.ok, 1, "%s", r.detail);
}

Test(probe_http_framing, headers_longer_than_64_KiB, .timeout = 60)
{
	/* Header lines of 102 bytes: 600 (61200 bytes) fit, 700 do not. */
	static const char pad[] =
		"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
	cr_assert_eq(strlen(pad), 102);
	fl_buf fits, too_long;
	fl_buf_init(&fits);
	fl_buf_init(&too_long);
	cr_assert_eq(fl_buf_puts(&fits, "HTTP/1.1 200 OK\r\n"), 0);
	cr_assert_eq(fl_buf_puts(&too_long, "HTTP/1.1 200 OK\r\n"), 0);
	for (int i = 0; i < 700; i++) {
		if (i < 600)
			cr_assert_eq(fl_buf_puts(&fits, pad), 0);
		cr_assert_eq(fl_buf_puts(&too_long, pad), 0);
	}
	cr_assert_eq(fl_buf_puts(&fits, "Content-Length: 2\r\n\r\nok"), 0);

	fl_probe_result r = canned_probe(fits.data, 0, "ok");
	cr_assert_eq(r.ok, 1, "%s", r.detail);
	r = canned_probe(too_long.data, 0, "ok");
	assert_failure(&r, FL_PROBE_PROTOCOL, "HTTP headers longer than 64 KiB");
	fl_buf_free(&fits);
	fl_buf_free(&too_long);
}

Test(probe_http_framing, content_length_that_is_no_number_or_disagrees,
     .timeout = 60)
{
	fl_probe_result r = canned_probe("HTTP/1.1 200 OK\r\nContent-Length: 2"
					 "\r\nContent-Length: 3\r\n\r\nok",
					 0, "absent");
	assert_failure(&r, FL_PROBE_PROTOCOL, "bad Content-Length '3'");
	r = canned_probe("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nok", 0,
			 "absent");
	assert_failure(&r, FL_PROBE_PROTOCOL, "bad Content-Length '1x'");
	r = canned_probe("HTTP/1.1 200 OK\r\nContent-Length:  \r\n\r\nok", 0,
			 "absent");
	assert_failure(&r, FL_PROBE_PROTOCOL, "bad Content-Length ''");
	r = canned_probe("HTTP/1.1 200 OK\r\nContent-Length: "
			 "99999999999999999999\r\n\r\nok",
			 0, "absent");
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "bad Content-Length '99999999999999999999'");

	/* The same length twice is one length. */
	static const char twice[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				    "content-length: 2\r\n\r\nok";
	fl_probe p;
	memset(&p, 0, sizeof p);
	fl_probe_reply reply;
	cr_assert_eq(canned(twice, strlen(twice), 0, &p, &r, &reply), 1, "%s",
		     r.detail);
	cr_assert_eq(reply.len, 2);
	cr_assert_str_eq(reply.data, "ok");
	fl_probe_reply_free(&reply);
}

Test(probe_http_framing, chunk_sizes_that_overflow_or_are_no_number,
     .timeout = 60)
{
	/* The largest size there is parses (its first bytes decide the
	 * probe); one more does not fit. */
	fl_probe_result r = canned_probe(CHUNKED "7fffffffffffffff\r\nok", 0,
					 "ok");
	cr_assert_eq(r.ok, 1, "%s", r.detail);
	r = canned_probe(CHUNKED "8000000000000000\r\nok", 0, "ok");
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "bad chunk size '8000000000000000'");
	r = canned_probe(CHUNKED "100000000000000000000\r\nok", 0, "ok");
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "bad chunk size '100000000000000000000'");
	r = canned_probe(CHUNKED "zz\r\nok", 0, "ok");
	assert_failure(&r, FL_PROBE_PROTOCOL, "bad chunk size 'zz'");
	r = canned_probe(CHUNKED "2x\r\nok", 0, "ok");
	assert_failure(&r, FL_PROBE_PROTOCOL, "bad chunk size '2x'");

	char *long_line = filled(CHUNKED, '1', strlen(CHUNKED) + 2000);
	r = canned_probe(long_line, 0, "ok");
	assert_failure(&r, FL_PROBE_PROTOCOL,
		       "a chunk-size line longer than 1 KiB");
	free(long_line);
}

Test(probe_http_framing, a_chunk_not_followed_by_crlf, .timeout = 60)
{
	static const char reply[] = CHUNKED "2\r\nokX\r\n0\r\n\r\n";
	fl_probe_result r = canned_probe(reply, 0, "absent");
	assert_failure(&r, FL_PROBE_PROTOCOL, "a chunk not followed by CRLF");
	fl_probe p;
	memset(&p, 0, sizeof p);
	fl_probe_reply got;
	cr_assert_eq(canned(reply, strlen(reply), 0, &p, &r, &got), 0);
	assert_failure(&r, FL_PROBE_PROTOCOL, "a chunk not followed by CRLF");
	fl_probe_reply_free(&got);
}

Test(probe_http_framing, interim_replies_are_skipped, .timeout = 60)
{
	fl_probe_result r = canned_probe(
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
		"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
		0, NULL);
	assert_failure(&r, FL_PROBE_STATUS, "HTTP 503 not 200");
	cr_assert_eq(r.http_status, 503);

	/* A fetch keeps the final reply's headers, not the interim ones. */
	static const char reply[] = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
				    "HTTP/1.1 200 OK\r\nX-Final: 1\r\n"
				    "Content-Length: 2\r\n\r\nok";
	fl_probe p;
	memset(&p, 0, sizeof p);
	fl_probe_reply got;
	cr_assert_eq(canned(reply, strlen(reply), 0, &p, &r, &got), 1, "%s",
		     r.detail);
	cr_assert_eq(got.status, 200);
	cr_assert_str_eq(got.data, "ok");
	cr_assert_not_null(fl_probe_reply_header(&got, "X-Final", NULL));
	cr_assert_null(fl_probe_reply_header(&got, "X-Interim", NULL));
	fl_probe_reply_free(&got);

	/* 101 is final: it is the reply, and it has no body. */
	r = canned_probe("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
			 0, NULL);
	assert_failure(&r, FL_PROBE_STATUS, "HTTP 101 not 200");
	static const char upgrade[] =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nx";
	memset(&p, 0, sizeof p);
	char err[160];
	cr_assert_eq(fl_probe_parse_status(&p, "101", err, sizeof err), 0);
	p.expect = "x";
	cr_assert_eq(canned(upgrade, strlen(upgrade), 0, &p, &r, NULL), 0);
	assert_failure(&r, FL_PROBE_MISMATCH,
		       "HTTP 101 body '' did not contain 'x'");
}

Test(probe_http_framing, replies_204_and_304_have_no_body, .timeout = 60)
{
	/* Their Content-Length, if any, is not a body to wait for. */
	static const char not_modified[] =
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n";
	fl_probe p;
	memset(&p, 0, sizeof p);
	char err[160];
	cr_assert_eq(fl_probe_parse_status(&p, "304", err, sizeof err), 0);
	p.expect = "x";
	fl_probe_result r;
	cr_assert_eq(canned(not_modified, strlen(not_modified), 0, &p, &r,
			    NULL),
		     0);
	assert_failure(&r, FL_PROBE_MISMATCH,
		       "HTTP 304 body '' did not contain 'x'");

	static const char no_content[] =
		"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
	memset(&p, 0, sizeof p);
	cr_assert_eq(fl_probe_parse_status(&p, "204", err, sizeof err), 0);
	fl_probe_reply got;
	cr_assert_eq(canned(no_content, strlen(no_content), 0, &p, &r, &got),
		     1, "%s", r.detail);
	cr_assert_eq(got.status, 204);
	cr_assert_eq(got.len, 0);
	fl_probe_reply_free(&got);
}

Test(probe_http_framing, replies_cut_by_the_server_closing, .timeout = 60)
{
	fl_probe_result r = canned_probe("", 1, NULL);
	assert_failure(&r, FL_PROBE_CLOSED,
		       "the connection closed without a reply");
	r = canned_probe("HTTP/1.1 20", 1, NULL);
	assert_failure(&r, FL_PROBE_CLOSED,
		       "the connection closed in the HTTP status line");
	r = canned_probe("HTTP/1.1 200 OK\r\nContent-Len", 1, "ok");
	assert_failure(&r, FL_PROBE_CLOSED,
		       "the connection closed in the HTTP headers");
	r = canned_probe(CHUNKED "5\r\nab", 1, "absent");
	assert_failure(&r, FL_PROBE_CLOSED,
		       "the connection closed in a chunk of the body");
	r = canned_probe(CHUNKED "2\r\nab\r\n", 1, "absent");
	assert_failure(&r, FL_PROBE_CLOSED,
		       "the connection closed before the last chunk");
	r = canned_probe("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 1,
			 "absent");
	assert_failure(&r, FL_PROBE_CLOSED,
		       "the connection closed after 2 of 5 body bytes");
}

Test(probe_http_framing, a_body_without_framing_ends_at_close, .timeout = 60)
{
	/* chunked counts only as the last coding: otherwise the body runs
	 * to the close, as it came. */
	static const char last[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
				   "gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
	static const char first[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
				    "chunked, gzip\r\n\r\n2\r\nok\r\n0\r\n\r\n";
	fl_probe p;
	memset(&p, 0, sizeof p);
	fl_probe_result r;
	fl_probe_reply got;
	cr_assert_eq(canned(last, strlen(last), 0, &p, &r, &got), 1, "%s",
		     r.detail);
	cr_assert_str_eq(got.data, "ok");
	fl_probe_reply_free(&got);
	memset(&p, 0, sizeof p);
	cr_assert_eq(canned(first, strlen(first), 1, &p, &r, &got), 1, "%s",
		     r.detail);
	cr_assert_eq(got.len, 12);
	cr_assert_str_eq(got.data, "2\r\nok\r\n0\r\n\r\n");
	fl_probe_reply_free(&got);

	r = canned_probe("HTTP/1.0 200 OK\r\n\r\nhello", 1, "world");
	assert_failure(&r, FL_PROBE_MISMATCH,
		       "HTTP 200 body 'hello' did not contain 'world'");
}

Test(probe_http_framing, a_fetched_body_over_1_MiB_fails, .timeout = 60)
{
	static const char head[] = "HTTP/1.1 200 OK\r\n\r\n";
	size_t len = strlen(head) + FL_PROBE_MAX_REQUEST_REPLY + 1;
	char *reply = filled(head, 'a', len);
	fl_probe p;
	memset(&p, 0, sizeof p);
	fl_probe_result r;
	fl_probe_reply got;
	cr_assert_eq(canned(reply, len, 0, &p, &r, &got), 0);
	assert_failure(&r, FL_PROBE_TOO_LONG, "a body longer than 1024 KiB");
	fl_probe_reply_free(&got);
	free(reply);
}

/* ------------------------------------------------------------------ */
/* Back to back. */

typedef struct seen {
	int n;
	int ok[16];
	enum fl_probe_reason reason[16];
	int64_t start[16], end[16];
	int stop_after;
} seen;

static int record(void *arg, const fl_probe_result *r)
{
	seen *s = arg;
	if (s->n < 16) {
		s->ok[s->n] = r->ok;
		s->reason[s->n] = r->reason;
		s->start[s->n] = r->start_ns;
		s->end[s->n] = r->end_ns;
	}
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

Test(probe_loop, returns_the_first_success_after_n_connections, .timeout = 60)
{
	server *s = server_start(AF_INET, M_OK_AFTER);
	s->ok_after = 5;
	fl_probe p = line_probe(s, "PONG");
	seen log = {0};
	fl_probe_loop loop = {.deadline_ns = fl_now_ns() + HOUR,
			      .each = record,
			      .arg = &log};
	fl_probe_result r;
	cr_assert_eq(fl_probe_until_ok(&p, &loop, &r), 0, "%s", r.detail);
	cr_assert_eq(loop.attempts, 5);
	cr_assert_eq(log.n, 5);
	cr_assert_eq(atomic_load(&s->conns), 5);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(log.ok[i], 0);
		cr_assert_eq(log.reason[i], FL_PROBE_MISMATCH);
	}
	cr_assert_eq(log.ok[4], 1);
	cr_assert_eq(r.ok, 1);
	assert_times(&r);
	cr_assert_eq(fl_probe_result_time(&r), r.first_byte_ns);
	/* Back to back: each probe starts once the previous one ended. */
	for (int i = 1; i < 5; i++)
		cr_assert_geq(log.start[i], log.end[i - 1]);
	server_stop(s);
}

Test(probe_loop, gap_spaces_the_starts, .timeout = 60)
{
	server *s = server_start(AF_UNIX, M_OK_AFTER);
	s->ok_after = 4;
	fl_probe p = line_probe(s, "PONG");
	seen log = {0};
	fl_probe_loop loop = {.deadline_ns = fl_now_ns() + HOUR,
			      .gap_ns = 5 * MS,
			      .each = record,
			      .arg = &log};
	fl_probe_result r;
	cr_assert_eq(fl_probe_until_ok(&p, &loop, &r), 0, "%s", r.detail);
	cr_assert_eq(loop.attempts, 4);
	for (int i = 1; i < 4; i++)
		cr_assert_geq(log.start[i] - log.start[i - 1], 5 * MS);
	server_stop(s);
}

Test(probe_loop, stops_when_told_and_at_the_deadline, .timeout = 60)
{
	server *s = server_start(AF_INET, M_FAIL);
	fl_probe p = line_probe(s, "PONG");
	seen log = {.stop_after = 3};
	fl_probe_loop loop = {.deadline_ns = fl_now_ns() + HOUR,
			      .each = record,
			      .arg = &log};
	fl_probe_result r;
	cr_assert_eq(fl_probe_until_ok(&p, &loop, &r), -ECANCELED);
	cr_assert_eq(loop.attempts, 3);
	assert_reason(&r, FL_PROBE_MISMATCH, NULL);
	server_stop(s);

	/* Nobody listens: probes fail until the deadline, which also cuts
	 * the last probe's timeout (so that one may time out). */
	fl_probe_addr a;
	int fd = bound_socket(AF_INET, &a, NULL, NULL);
	p = (fl_probe){.addr = a, .timeout_ns = HOUR};
	seen refused = {0};
	loop = (fl_probe_loop){.deadline_ns = fl_now_ns() + 1000 * MS,
			       .gap_ns = 1 * MS,
			       .each = record,
			       .arg = &refused};
	cr_assert_eq(fl_probe_until_ok(&p, &loop, &r), -ETIMEDOUT);
	cr_assert_geq(loop.attempts, 1);
	cr_assert_eq((unsigned)refused.n, loop.attempts);
	int nrefused = 0;
	for (int i = 0; i < refused.n && i < 16; i++) {
		cr_assert(refused.reason[i] == FL_PROBE_REFUSED ||
				  refused.reason[i] == FL_PROBE_TIMEOUT,
			  "probe %d: %s", i,
			  fl_probe_reason_name(refused.reason[i]));
		nrefused += refused.reason[i] == FL_PROBE_REFUSED;
	}
	cr_assert_gt(nrefused, 0);
	close(fd);

	loop = (fl_probe_loop){.deadline_ns = fl_now_ns() - 1};
	cr_assert_eq(fl_probe_until_ok(&p, &loop, &r), -ETIMEDOUT);
	cr_assert_eq(loop.attempts, 0);
	assert_reason(&r, FL_PROBE_TIMEOUT, "no time left");
}

Test(probe_loop, a_silent_target_is_cut_at_the_deadline, .timeout = 60)
{
	server *s = server_start(AF_INET, M_SILENT);
	fl_probe p = line_probe(s, "PONG");
	int64_t deadline = fl_now_ns() + 150 * MS;
	fl_probe_loop loop = {.deadline_ns = deadline};
	fl_probe_result r;
	cr_assert_eq(fl_probe_until_ok(&p, &loop, &r), -ETIMEDOUT);
	assert_reason(&r, FL_PROBE_TIMEOUT, NULL);
	cr_assert_geq(r.end_ns, deadline);
	server_stop(s);
}

/* ------------------------------------------------------------------ */
/* Requests (t:tcp) and the older shapes. */

Test(probe_request, reaches_ipv4_ipv6_and_unix, .timeout = 60)
{
	int fams[] = {AF_INET, AF_INET6, AF_UNIX};
	for (size_t i = 0; i < 3; i++) {
		if (fams[i] == AF_INET6 && !have_ipv6())
			continue;
		server *s = server_start(fams[i], M_PONG);
		char err[160] = "";
		size_t len = 0;
		char *reply = fl_probe_request(&s->addr, "PING\n", 5, NULL, NULL,
					       HOUR, &len, err, sizeof err);
		cr_assert_not_null(reply, "family %d: %s", fams[i], err);
		cr_assert_str_eq(reply, "PONG\n");
		cr_assert_eq(len, 5);
		free(reply);
		server_stop(s);
	}
	if (!have_ipv6())
		cr_skip_test("no IPv6 loopback (::1): requests over IPv6 "
			     "untested");
}

Test(probe_request, a_wrong_reply_is_an_error_at_once, .timeout = 60)
{
	server *s = server_start(AF_INET, M_FAIL);
	char err[160] = "";
	char *reply = fl_tcp_request(s->addr.port, "PING\n", 5, "OK", HOUR, err,
				     sizeof err);
	cr_assert_null(reply);
	cr_assert(strstr(err, "reply 'FAIL\\n' did not contain 'OK'"), "%s",
		  err);
	server_stop(s);

	fl_probe_addr a;
	int fd = bound_socket(AF_INET, &a, NULL, NULL);
	reply = fl_tcp_request(a.port, "PING\n", 5, NULL, HOUR, err, sizeof err);
	cr_assert_null(reply);
	cr_assert(strstr(err, "connect"), "%s", err);
	close(fd);
}

Test(probe_request, reply_end_close_reads_to_the_end, .timeout = 60)
{
	server *s = server_start(AF_INET, M_FAIL_CLOSE);
	char err[160] = "";
	char *reply = fl_probe_request(&s->addr, "X\n", 2, NULL, "", HOUR, NULL,
				       err, sizeof err);
	cr_assert_not_null(reply, "%s", err);
	cr_assert_str_eq(reply, "FAIL");
	free(reply);
	server_stop(s);
}

Test(probe_compat, tcp_probe_fails_a_wrong_reply_at_once, .timeout = 60)
{
	server *s = server_start(AF_INET, M_FAIL);
	fl_tcp_probe tp = {.port = s->addr.port,
			   .send = "PING\n",
			   .send_len = 5,
			   .expect = "PONG",
			   .timeout_ns = HOUR};
	fl_health_result h;
	memset(&h, 0, sizeof h);
	h.t_ns = 42;
	cr_assert_eq(fl_probe_tcp(&tp, &h), 0);
	cr_assert(strstr(h.detail, "did not contain 'PONG'"), "%s", h.detail);
	cr_assert_eq(h.t_ns, 42, "t_ns is the caller's");
	cr_assert_gt(h.latency_ns, 0);
	server_stop(s);
}

Test(probe_compat, to_health_dates_the_reply, .timeout = 60)
{
	fl_probe_result r = {.ok = 1,
			     .start_ns = 1000,
			     .connected_ns = 1100,
			     .first_byte_ns = 1500,
			     .end_ns = 1600};
	snprintf(r.detail, sizeof r.detail, "x");
	fl_health_result h;
	fl_probe_to_health(&r, 1000, &h);
	cr_assert_eq(h.t_ns, 500);
	cr_assert_eq(h.latency_ns, 600);
	cr_assert_eq(h.ok, 1);
	r.first_byte_ns = 0;
	fl_probe_to_health(&r, 1000, &h);
	cr_assert_eq(h.t_ns, 600);
}

/* ------------------------------------------------------------------ */
/* Checking probes. */

static void assert_bad(fl_probe *p, const char *why)
{
	char err[160] = "";
	cr_assert_eq(fl_probe_prepare(p, err, sizeof err), -EINVAL,
		     "accepted; expected '%s'", why);
	cr_assert(strstr(err, why), "'%s' lacks '%s'", err, why);
}

Test(probe_check, bad_probes_are_refused_with_a_reason)
{
	fl_probe p = {.addr = {.family = AF_INET, .port = 0}};
	assert_bad(&p, "port 0 is outside 1-65535");
	p.addr.port = 80;
	p.expect = "";
	assert_bad(&p, "expect is empty");
	p.expect = "(";
	p.regex = 1;
	assert_bad(&p, "is not a regular expression");
	p.regex = 0;
	p.expect = NULL;
	p.http_path = "index.html";
	assert_bad(&p, "must start with '/'");
	p.http_path = "/a b";
	assert_bad(&p, "must start with '/'");
	p.http_path = "/";
	p.send = "x";
	assert_bad(&p, "drop send");
	p.send = NULL;
	p.reply_end = "\n";
	assert_bad(&p, "drop reply_end");
	p.reply_end = NULL;
	p.http_host = "a\r\nX-Evil: 1";
	assert_bad(&p, "HTTP host");
	p.http_host = NULL;
	p.http_path = NULL;
	p.nstatus = 1;
	assert_bad(&p, "without an HTTP path");
	p.nstatus = 0;
	p.addr.family = AF_UNIX;
	p.addr.path = "";
	assert_bad(&p, "no Unix socket path");
	char longpath[200];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	p.addr.path = longpath;
	assert_bad(&p, "longer than 107 bytes");
	p.addr.path = "/tmp/x.sock";
	char err[160];
	cr_assert_eq(fl_probe_prepare(&p, err, sizeof err), 0, "%s", err);
	fl_probe_release(&p);
}

Test(probe_check, statuses_and_hosts)
{
	fl_probe p;
	memset(&p, 0, sizeof p);
	char err[160];
	cr_assert_eq(fl_probe_parse_status(&p, "2xx, 301-302 404", err,
					   sizeof err),
		     0, "%s", err);
	cr_assert_eq(p.nstatus, 3);
	cr_assert_eq(p.status[0].lo, 200);
	cr_assert_eq(p.status[0].hi, 299);
	cr_assert_eq(p.status[1].lo, 301);
	cr_assert_eq(p.status[1].hi, 302);
	cr_assert_eq(p.status[2].lo, 404);
	cr_assert_eq(p.status[2].hi, 404);
	static const char *const bad[] = {"abc", "20", "2000", "600", "302-301",
					  "2xx-3xx", "", "200;"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fl_probe q;
		memset(&q, 0, sizeof q);
		cr_assert_eq(fl_probe_parse_status(&q, bad[i], err, sizeof err),
			     -EINVAL, "'%s' accepted", bad[i]);
	}
	for (int i = 0; i < FL_PROBE_MAX_STATUS - 3; i++)
		cr_assert_eq(fl_probe_add_status(&p, 500, 500, err, sizeof err),
			     0);
	cr_assert_eq(fl_probe_add_status(&p, 500, 500, err, sizeof err), -E2BIG);

	int fam = 0;
	cr_assert_eq(fl_probe_parse_host("127.0.0.1", &fam, err, sizeof err), 0);
	cr_assert_eq(fam, AF_INET);
	cr_assert_eq(fl_probe_parse_host("localhost", &fam, err, sizeof err), 0);
	cr_assert_eq(fam, AF_INET);
	cr_assert_eq(fl_probe_parse_host("::1", &fam, err, sizeof err), 0);
	cr_assert_eq(fam, AF_INET6);
	cr_assert_eq(fl_probe_parse_host("[::1]", &fam, err, sizeof err), 0);
	cr_assert_eq(fam, AF_INET6);
	cr_assert_eq(fl_probe_parse_host("10.0.0.1", &fam, err, sizeof err),
		     -EINVAL);
	cr_assert(strstr(err, "not this machine"), "%s", err);
}

Test(probe_check, every_reason_has_a_name)
{
	for (int r = FL_PROBE_PASSED; r <= FL_PROBE_ERROR; r++)
		cr_assert_str_neq(fl_probe_reason_name(r), "unknown", "reason %d",
				  r);
	cr_assert_str_eq(fl_probe_reason_name(FL_PROBE_ERROR + 1), "unknown");
}
