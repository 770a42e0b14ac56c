/* Health probes and requests: see probe.h for when a reply is complete.
 * This file holds the connection, the line protocol and the conversation
 * that runs either; HTTP (statuses, request, reply parser) is
 * probe_http.c's, and the state both share is in probe_conv.h. */
#define _GNU_SOURCE
#include "probe_conv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Text for people. */

static const char *const reason_names[] = {
	[FL_PROBE_PASSED] = "passed",	  [FL_PROBE_REFUSED] = "refused",
	[FL_PROBE_CONNECT] = "connect",	  [FL_PROBE_TIMEOUT] = "timeout",
	[FL_PROBE_RESET] = "reset",	  [FL_PROBE_CLOSED] = "closed",
	[FL_PROBE_MISMATCH] = "mismatch", [FL_PROBE_STATUS] = "status",
	[FL_PROBE_PROTOCOL] = "protocol", [FL_PROBE_TOO_LONG] = "too_long",
	[FL_PROBE_ERROR] = "error",
};

const char *fl_probe_reason_name(enum fl_probe_reason reason)
{
	if ((unsigned)reason < sizeof reason_names / sizeof reason_names[0] &&
	    reason_names[reason])
		return reason_names[reason];
	return "unknown";
}

void fl_probe__excerpt(char *out, size_t outlen, const char *s, size_t len,
		       size_t max)
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		char tmp[5];
		if (ch == '\n')
			snprintf(tmp, sizeof tmp, "\\n");
		else if (ch == '\r')
			snprintf(tmp, sizeof tmp, "\\r");
		else if (ch == '\t')
			snprintf(tmp, sizeof tmp, "\\t");
		else if (ch == '\\')
			snprintf(tmp, sizeof tmp, "\\\\");
		else if (ch < 0x20 || ch == 0x7f)
			snprintf(tmp, sizeof tmp, "\\x%02x", ch);
		else
			tmp[0] = (char)ch, tmp[1] = '\0';
		size_t tl = strlen(tmp);
		if (o + tl + 4 > outlen)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	if (len > max && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = '\0';
}

void fl_probe_addr_format(const fl_probe_addr *a, char *out, size_t outlen)
{
	if (a->family == AF_UNIX)
		snprintf(out, outlen, "unix:%s", a->path ? a->path : "");
	else if (a->family == AF_INET6)
		snprintf(out, outlen, "[::1]:%d", a->port);
	else
		snprintf(out, outlen, "127.0.0.1:%d", a->port);
}

static void fmt_duration_ms(char *out, size_t outlen, int64_t ns)
{
	if (ns % FL_NS_PER_MS == 0 || ns >= 10 * FL_NS_PER_MS)
		snprintf(out, outlen, "%lld ms",
			 (long long)((ns + FL_NS_PER_MS / 2) / FL_NS_PER_MS));
	else
		snprintf(out, outlen, "%.1f ms", (double)ns / 1e6);
}

/* ------------------------------------------------------------------ */
/* Hosts. */

int fl_probe_parse_host(const char *host, int *family, char *err,
			size_t errlen)
{
	if (!strcmp(host, "127.0.0.1") || !strcmp(host, "localhost")) {
		*family = AF_INET;
		return 0;
	}
	if (!strcmp(host, "::1") || !strcmp(host, "[::1]")) {
		*family = AF_INET6;
		return 0;
	}
	snprintf(err, errlen,
		 "host '%.64s' is not this machine: use \"127.0.0.1\" or "
		 "\"::1\"",
		 host);
	return -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Checking a probe. */

static int check_probe(const fl_probe *p, char *err, size_t errlen)
{
	const fl_probe_addr *a = &p->addr;
	if (a->family == AF_INET || a->family == AF_INET6) {
		if (a->port < 1 || a->port > 65535) {
			snprintf(err, errlen, "port %d is outside 1-65535",
				 a->port);
			return -EINVAL;
		}
	} else if (a->family == AF_UNIX) {
		struct sockaddr_un un;
		if (!a->path || !*a->path) {
			snprintf(err, errlen, "no Unix socket path");
			return -EINVAL;
		}
		if (strlen(a->path) >= sizeof un.sun_path) {
			snprintf(err, errlen,
				 "Unix socket path longer than %zu bytes: "
				 "%.40s...",
				 sizeof un.sun_path - 1, a->path);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "unknown address family %d", a->family);
		return -EINVAL;
	}
	if (p->expect && !*p->expect) {
		snprintf(err, errlen, "expect is empty");
		return -EINVAL;
	}
	if (p->timeout_ns < 0) {
		snprintf(err, errlen, "negative timeout");
		return -EINVAL;
	}
	int r = fl_probe__http_check(p, err, errlen);
	if (r < 0)
		return r;
	if (p->regex && !p->expect) {
		snprintf(err, errlen, "regex without expect");
		return -EINVAL;
	}
	return 0;
}

int fl_probe_prepare(fl_probe *p, char *err, size_t errlen)
{
	p->re = NULL;
	int r = check_probe(p, err, errlen);
	if (r < 0)
		return r;
	if (p->regex) {
		regex_t *re = fl_xmalloc(sizeof *re);
		int rc = regcomp(re, p->expect,
				 REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
		if (rc != 0) {
			char msg[128];
			regerror(rc, re, msg, sizeof msg);
			snprintf(err, errlen,
				 "expect '%.40s' is not a regular expression: "
				 "%s",
				 p->expect, msg);
			free(re);
			return -EINVAL;
		}
		p->re = re;
	}
	return 0;
}

void fl_probe_release(fl_probe *p)
{
	if (p->re) {
		regfree(p->re);
		free(p->re);
		p->re = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Verdicts and the deadline. */

int fl_probe__fail(conv *c, enum fl_probe_reason reason, int err,
		   const char *fmt, ...)
{
	c->r->ok = 0;
	c->r->reason = reason;
	c->r->err = err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->r->detail, sizeof c->r->detail, fmt, ap);
	va_end(ap);
	return -1;
}

int fl_probe__pass(conv *c)
{
	c->r->ok = 1;
	c->r->reason = FL_PROBE_PASSED;
	c->r->detail[0] = '\0';
	return 1;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, or
 * -errno. Looks at least once, so that what already happened (a reply, a
 * refused connection) is never reported as a timeout. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {fd, events, 0};
	for (;;) {
		int64_t left = deadline - fl_now_ns();
		int ms = left <= 0 ? 0
				   : (int)((left + FL_NS_PER_MS - 1) /
					   FL_NS_PER_MS);
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 1;
		if (left <= 0)
			return 0;
	}
}

static int timed_out(conv *c, const char *doing)
{
	char d[32];
	fmt_duration_ms(d, sizeof d, c->timeout_ns);
	if (c->r->reply_bytes && !c->p->http_path) {
		char got[EXCERPT * 4 + 4];
		fl_probe__excerpt(got, sizeof got, c->raw.data, c->raw.len,
				  EXCERPT);
		return fl_probe__fail(c, FL_PROBE_TIMEOUT, ETIMEDOUT,
				      "timed out after %s %s (got '%s')", d,
				      doing, got);
	}
	return fl_probe__fail(c, FL_PROBE_TIMEOUT, ETIMEDOUT,
			      "timed out after %s %s", d, doing);
}

/* ------------------------------------------------------------------ */
/* The connection. */

static int connect_failed(conv *c, int e)
{
	char where[160];
	fl_probe_addr_format(&c->p->addr, where, sizeof where);
	if (e == ECONNREFUSED)
		return fl_probe__fail(c, FL_PROBE_REFUSED, e,
				      "connect to %s: connection refused",
				      where);
	if (e == ENOENT)
		return fl_probe__fail(c, FL_PROBE_REFUSED, e,
				      "connect to %s: no such socket", where);
	return fl_probe__fail(c,
			      e == EMFILE || e == ENFILE || e == ENOBUFS ||
					      e == ENOMEM
				      ? FL_PROBE_ERROR
				      : FL_PROBE_CONNECT,
			      e, "connect to %s: %s", where, strerror(e));
}

/* The socket address of a probe's (checked) address; returns its
 * length. */
static socklen_t probe_sockaddr(const fl_probe_addr *a,
				struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)a->port);
		in6->sin6_addr = in6addr_loopback;
		return sizeof *in6;
	}
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)a->port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *in;
	}
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, a->path, strlen(a->path) + 1);
	return (socklen_t)sizeof *un;
}

/* A Unix connect never says EINPROGRESS: non-blocking, a full listen
 * queue is EAGAIN at once. A blocking connect waits for room up to the
 * socket's send timeout, which is the time left; the socket turns
 * non-blocking once connected. Returns the fd, or -1 with the failure
 * recorded. */
static int connect_unix(conv *c, const struct sockaddr_storage *ss,
			socklen_t sl)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fl_probe__fail(c, FL_PROBE_ERROR, errno, "socket: %s",
			       strerror(errno));
		return -1;
	}
	for (;;) {
		int64_t left = c->deadline - fl_now_ns();
		if (left <= 0) {
			close(fd);
			timed_out(c, "connecting (listen queue full)");
			return -1;
		}
		struct timeval tv = {
			.tv_sec = (time_t)(left / FL_NS_PER_SEC),
			.tv_usec = (suseconds_t)(left % FL_NS_PER_SEC / 1000)};
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) <
		    0) {
			fl_probe__fail(c, FL_PROBE_ERROR, errno,
				       "setsockopt: %s", strerror(errno));
			close(fd);
			return -1;
		}
		if (connect(fd, (const struct sockaddr *)ss, sl) == 0)
			break;
		int e = errno;
		if (e == EINTR || e == EAGAIN)
			continue;
		close(fd);
		connect_failed(c, e);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		fl_probe__fail(c, FL_PROBE_ERROR, errno, "fcntl: %s",
			       strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* TCP: a non-blocking connect, waited for until the deadline. Returns
 * the fd, or -1 with the failure recorded. */
static int connect_tcp(conv *c, const struct sockaddr_storage *ss,
		       socklen_t sl)
{
	int fd = socket(c->p->addr.family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fl_probe__fail(c, FL_PROBE_ERROR, errno, "socket: %s",
			       strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		connect_failed(c, e);
		return -1;
	}
	int w = wait_fd(fd, POLLOUT, c->deadline);
	if (w <= 0) {
		close(fd);
		if (w == 0)
			timed_out(c, "connecting");
		else
			fl_probe__fail(c, FL_PROBE_ERROR, -w, "poll: %s",
				       strerror(-w));
		return -1;
	}
	int soerr = 0;
	socklen_t len = sizeof soerr;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr) {
		close(fd);
		connect_failed(c, soerr);
		return -1;
	}
	return fd;
}

/* Connects within the deadline. Returns the fd, or -1 with the failure
 * recorded. */
static int open_connection(conv *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = probe_sockaddr(&c->p->addr, &ss);
	c->r->phase = FL_PROBE_AT_CONNECT;
	if (c->p->addr.family == AF_UNIX)
		return connect_unix(c, &ss, sl);
	return connect_tcp(c, &ss, sl);
}

/* Writes the request. Returns 0, 1 when the peer is gone (its reply, if
 * any, may still be read), or -1 with the failure recorded. */
static int send_request(conv *c, int fd, const char *buf, size_t len)
{
	c->r->phase = FL_PROBE_AT_SEND;
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
		if (n >= 0) {
			sent += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int w = wait_fd(fd, POLLOUT, c->deadline);
			if (w == 0)
				return timed_out(c, "sending the request");
			if (w < 0)
				return fl_probe__fail(c, FL_PROBE_ERROR, -w,
						      "poll: %s",
						      strerror(-w));
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return 1;
		return fl_probe__fail(c, FL_PROBE_ERROR, errno, "send: %s",
				      strerror(errno));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The line protocol. */

/* Looks for the reply_end texts that complete a line reply, and sets
 * reply_len once as many as it needs have arrived. */
static void line_find_end(conv *c)
{
	const char *d = c->raw.data ? c->raw.data : "";
	size_t n = c->raw.len;
	while (c->lines_seen < c->lines_needed) {
		const char *e = n > c->end_scan
					? memmem(d + c->end_scan,
						 n - c->end_scan, c->end_text,
						 c->end_len)
					: NULL;
		if (!e)
			break;
		c->lines_seen++;
		c->end_scan = (size_t)(e - d) + c->end_len;
	}
	if (c->lines_seen >= c->lines_needed)
		c->reply_len = c->end_scan;
	else if (n >= c->end_len && n - (c->end_len - 1) > c->end_scan)
		c->end_scan = n - (c->end_len - 1);
}

/* Where the reply ends and whether it holds the expected text. Returns 1
 * pass, -1 fail (both recorded), 0 need more. */
static int line_step(conv *c, int eof)
{
	const char *d = c->raw.data ? c->raw.data : "";
	size_t n = c->raw.len;
	if (c->end_len && !c->reply_len)
		line_find_end(c);
	int complete = c->reply_len > 0 || eof;
	size_t limit = c->reply_len ? c->reply_len : n;
	const char *expect = c->p->expect;
	if (!expect) {
		if (complete && n == 0)
			return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
					      "the connection closed without "
					      "a reply");
		if (complete)
			return fl_probe__pass(c);
		if (n >= c->cap)
			return fl_probe__fail(c, FL_PROBE_TOO_LONG, 0,
					      "a reply longer than %zu KiB",
					      c->cap / 1024);
		return 0;
	}
	if (!c->p->regex) {
		size_t from = c->expect_scan;
		if (limit > from &&
		    memmem(d + from, limit - from, expect, c->expect_len))
			return fl_probe__pass(c);
		if (limit >= c->expect_len &&
		    limit - (c->expect_len - 1) > c->expect_scan)
			c->expect_scan = limit - (c->expect_len - 1);
	} else if (complete) {
		regmatch_t m[1] = {{0, (regoff_t)limit}};
		if (regexec(c->p->re, d, 1, m, REG_STARTEND) == 0)
			return fl_probe__pass(c);
	}
	if (complete && n == 0)
		return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
				      "the connection closed without a reply");
	if (!complete && n < c->cap)
		return 0;
	char got[EXCERPT * 4 + 4], want[EXCERPT * 4 + 4];
	fl_probe__excerpt(want, sizeof want, expect, c->expect_len, EXCERPT);
	if (!complete)
		return fl_probe__fail(c, FL_PROBE_TOO_LONG, 0,
				      "no '%s' in the first %zu KiB of the "
				      "reply",
				      want, c->cap / 1024);
	fl_probe__excerpt(got, sizeof got, d, limit, EXCERPT);
	return fl_probe__fail(c, FL_PROBE_MISMATCH, 0,
			      "reply '%s' did not %s '%s'", got,
			      c->p->regex ? "match" : "contain", want);
}

/* How many reply_end texts a reply must hold before it is complete: as
 * many lines as expect spans, at least one. */
static size_t lines_needed(const char *expect, const char *end, size_t elen)
{
	if (!expect || !elen)
		return 1;
	size_t n = 0, len = strlen(expect);
	for (const char *s = expect; (s = strstr(s, end)) != NULL; s += elen)
		n++;
	if (len < elen || memcmp(expect + len - elen, end, elen) != 0)
		n++;
	return n ? n : 1;
}

/* ------------------------------------------------------------------ */
/* The conversation, in steps: conv_begin, open_connection, conv_send,
 * conv_read, conv_finish. Every step records its failure in c->r; the
 * deadline, set once in conv_begin, bounds connecting, sending and
 * reading together. */

/* The verdict on what has arrived (eof: the peer closed): 1 pass, -1
 * fail, both recorded, or 0 when more is needed. */
static int step(conv *c, int eof)
{
	return c->p->http_path ? fl_probe__http_step(c, eof)
			       : line_step(c, eof);
}

/* Reads what is already there after a verdict, so that closing does not
 * send the peer a reset for unread bytes when it can be helped. */
static void drain(int fd)
{
	char buf[4096];
	for (int i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
			return;
}

/* Starts the clock and checks the probe. Returns 0, or -1 with the
 * failure recorded; c is ready for conv_finish either way. */
static int conv_begin(conv *c, const fl_probe *p, int fetch,
		      fl_probe_result *r)
{
	memset(r, 0, sizeof *r);
	r->start_ns = fl_now_ns();
	memset(c, 0, sizeof *c);
	c->p = p;
	c->r = r;
	c->fetch = fetch;
	c->cap = fetch ? FL_PROBE_MAX_REQUEST_REPLY : FL_PROBE_MAX_REPLY;
	c->timeout_ns = p->timeout_ns > 0 ? p->timeout_ns
					  : FL_PROBE_DEFAULT_TIMEOUT_NS;
	c->deadline = r->start_ns + c->timeout_ns;
	c->content_length = -1;
	fl_buf_init(&c->raw);
	fl_buf_init(&c->headers);
	fl_buf_init(&c->body);
	char err[160];
	if (check_probe(p, err, sizeof err) < 0)
		return fl_probe__fail(c, FL_PROBE_ERROR, EINVAL,
				      "bad probe: %s", err);
	if (p->regex && !p->re)
		return fl_probe__fail(c, FL_PROBE_ERROR, EINVAL,
				      "bad probe: its regular expression was "
				      "not compiled");
	c->expect_len = p->expect ? strlen(p->expect) : 0;
	c->end_text = p->reply_end ? p->reply_end : "\n";
	c->end_len = strlen(c->end_text);
	c->lines_needed = lines_needed(p->expect, c->end_text, c->end_len);
	return 0;
}

/* Sends the probe's request, if it has one. Returns 0, 1 when the peer
 * is gone (its reply may still be read), or -1 with the failure
 * recorded. */
static int conv_send(conv *c, int fd)
{
	const fl_probe *p = c->p;
	if (p->http_path) {
		fl_buf req;
		fl_buf_init(&req);
		fl_probe__http_request(p, &req);
		int gone = req.len ? send_request(c, fd, req.data, req.len)
				   : fl_probe__fail(c, FL_PROBE_ERROR, ENOMEM,
						    "out of memory");
		fl_buf_free(&req);
		return gone;
	}
	if (p->send && p->send_len)
		return send_request(c, fd, p->send, p->send_len);
	return 0;
}

/* recv failed with e: a reset, said for where it happened, or a local
 * error. */
static void recv_failed(conv *c, int e, int gone)
{
	fl_probe_result *r = c->r;
	if (e == ECONNRESET || e == EPIPE) {
		if (gone && !r->reply_bytes)
			r->phase = FL_PROBE_AT_SEND;
		fl_probe__fail(c, FL_PROBE_RESET, e,
			       "the connection was reset %s",
			       r->phase == FL_PROBE_AT_SEND
				       ? "while sending the request"
			       : r->reply_bytes ? "in the middle of the reply"
						: "before a reply");
		return;
	}
	fl_probe__fail(c, FL_PROBE_ERROR, e, "recv: %s", strerror(e));
}

/* Keeps n bytes that arrived. Returns 0, or -1 with the failure
 * recorded. */
static int conv_received(conv *c, const char *bytes, size_t n)
{
	if (!c->r->first_byte_ns)
		c->r->first_byte_ns = fl_now_ns();
	c->r->reply_bytes += n;
	/* A line reply is kept up to its cap; step() fails it there. */
	size_t keep = n;
	if (!c->p->http_path && c->raw.len + keep > c->cap)
		keep = c->cap - c->raw.len;
	if (fl_buf_append(&c->raw, bytes, keep) < 0)
		return fl_probe__fail(c, FL_PROBE_ERROR, ENOMEM,
				      "out of memory");
	return 0;
}

/* Reads until a step reaches a verdict, the peer closes or the deadline
 * passes; the verdict is recorded in c->r. */
static void conv_read(conv *c, int fd, int gone)
{
	c->r->phase = FL_PROBE_AT_REPLY;
	for (;;) {
		int w = wait_fd(fd, POLLIN, c->deadline);
		if (w == 0) {
			timed_out(c, c->r->reply_bytes ? "reading the reply"
						       : "waiting for a reply");
			return;
		}
		if (w < 0) {
			fl_probe__fail(c, FL_PROBE_ERROR, -w, "poll: %s",
				       strerror(-w));
			return;
		}
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			recv_failed(c, errno, gone);
			return;
		}
		if (n > 0 && conv_received(c, chunk, (size_t)n) < 0)
			return;
		if (step(c, n == 0))
			return;
		if (n == 0) {
			/* Every step decides at the end of the stream; this
			 * is a bug if it is ever reached. */
			fl_probe__fail(c, FL_PROBE_ERROR, 0,
				       "no verdict at the end of the reply");
			return;
		}
	}
}

/* Stops the clock, closes, hands the reply over (when asked for) and
 * frees the rest. */
static void conv_finish(conv *c, int fd, fl_probe_reply *reply)
{
	fl_probe_result *r = c->r;
	r->end_ns = fl_now_ns();
	if (fd >= 0) {
		drain(fd);
		close(fd);
	}
	if (reply) {
		memset(reply, 0, sizeof *reply);
		reply->status = r->http_status;
		if (c->p->http_path) {
			if (c->hstate >= H_LENGTH) {
				reply->len = c->body.len;
				reply->data = fl_buf_steal(&c->body);
				reply->headers_len = c->headers.len;
				reply->headers = fl_buf_steal(&c->headers);
			}
		} else if (r->reply_bytes) {
			size_t len = c->reply_len ? c->reply_len : c->raw.len;
			reply->len = len;
			reply->data = fl_buf_steal(&c->raw);
			if (reply->data)
				reply->data[len] = '\0';
		}
	}
	fl_buf_free(&c->raw);
	fl_buf_free(&c->headers);
	fl_buf_free(&c->body);
}

/* One probe or request: connect, send, read, finish. */
static int converse(const fl_probe *p, int fetch, fl_probe_result *r,
		    fl_probe_reply *reply)
{
	conv c;
	int fd = -1;
	if (conv_begin(&c, p, fetch, r) < 0)
		goto done;
	fd = open_connection(&c);
	if (fd < 0)
		goto done;
	r->connected_ns = fl_now_ns();
	int gone = conv_send(&c, fd);
	if (gone < 0)
		goto done;
	/* A line probe that expects nothing is done once its request is
	 * written. */
	if (!p->http_path && !p->expect && !fetch) {
		if (gone)
			fl_probe__fail(&c, FL_PROBE_RESET, EPIPE,
				       "the connection was reset while "
				       "sending the request");
		else
			fl_probe__pass(&c);
		goto done;
	}
	conv_read(&c, fd, gone);
done:
	conv_finish(&c, fd, reply);
	return r->ok;
}

int fl_probe_run(const fl_probe *p, fl_probe_result *out)
{
	return converse(p, 0, out, NULL);
}

int fl_probe_fetch(const fl_probe *p, fl_probe_result *out,
		   fl_probe_reply *reply)
{
	return converse(p, 1, out, reply);
}

void fl_probe_reply_free(fl_probe_reply *reply)
{
	free(reply->data);
	free(reply->headers);
	memset(reply, 0, sizeof *reply);
}

int64_t fl_probe_result_time(const fl_probe_result *r)
{
	return r->first_byte_ns ? r->first_byte_ns : r->end_ns;
}

void fl_probe_to_health(const fl_probe_result *r, int64_t origin_ns,
			fl_health_result *out)
{
	memset(out, 0, sizeof *out);
	out->t_ns = fl_probe_result_time(r) - origin_ns;
	out->ok = r->ok;
	out->latency_ns = r->end_ns - r->start_ns;
	snprintf(out->detail, sizeof out->detail, "%s", r->detail);
}

/* ------------------------------------------------------------------ */
/* Back to back. */

static void sleep_until(int64_t t_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(t_ns / FL_NS_PER_SEC),
			      .tv_nsec = (long)(t_ns % FL_NS_PER_SEC)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

int fl_probe_until_ok(const fl_probe *p, fl_probe_loop *loop,
		      fl_probe_result *out)
{
	int64_t each_timeout =
		p->timeout_ns > 0 ? p->timeout_ns : FL_PROBE_DEFAULT_TIMEOUT_NS;
	int64_t next = 0;
	loop->attempts = 0;
	for (;;) {
		int64_t now = fl_now_ns();
		if (next > now && next < loop->deadline_ns) {
			sleep_until(next);
			now = fl_now_ns();
		}
		if (now >= loop->deadline_ns) {
			if (!loop->attempts) {
				memset(out, 0, sizeof *out);
				out->reason = FL_PROBE_TIMEOUT;
				out->err = ETIMEDOUT;
				out->start_ns = out->end_ns = now;
				snprintf(out->detail, sizeof out->detail,
					 "no time left to probe");
			}
			return -ETIMEDOUT;
		}
		fl_probe q = *p;
		q.timeout_ns = loop->deadline_ns - now < each_timeout
				       ? loop->deadline_ns - now
				       : each_timeout;
		fl_probe_run(&q, out);
		loop->attempts++;
		if (loop->each && loop->each(loop->arg, out))
			return out->ok ? 0 : -ECANCELED;
		if (out->ok)
			return 0;
		next = out->start_ns + loop->gap_ns;
	}
}

/* ------------------------------------------------------------------ */
/* The shapes the harness called before fl_probe existed. */

int fl_probe_tcp(const fl_tcp_probe *tp, fl_health_result *out)
{
	fl_probe p;
	memset(&p, 0, sizeof p);
	p.addr.family = tp->ipv6 ? AF_INET6 : AF_INET;
	p.addr.port = tp->port;
	p.send = tp->send;
	p.send_len = tp->send ? tp->send_len : 0;
	p.expect = tp->expect && *tp->expect ? tp->expect : NULL;
	p.timeout_ns = tp->timeout_ns;
	fl_probe_result r;
	fl_probe_run(&p, &r);
	out->ok = r.ok;
	out->latency_ns = r.end_ns - r.start_ns;
	snprintf(out->detail, sizeof out->detail, "%s", r.detail);
	return out->ok;
}

char *fl_probe_request(const fl_probe_addr *addr, const char *send,
		       size_t send_len, const char *expect,
		       const char *reply_end, int64_t timeout_ns,
		       size_t *reply_len, char *err, size_t errlen)
{
	fl_probe p;
	memset(&p, 0, sizeof p);
	p.addr = *addr;
	p.send = send;
	p.send_len = send ? send_len : 0;
	p.expect = expect && *expect ? expect : NULL;
	p.reply_end = reply_end;
	p.timeout_ns = timeout_ns;
	fl_probe_result r;
	fl_probe_reply reply;
	if (!fl_probe_fetch(&p, &r, &reply)) {
		snprintf(err, errlen, "%s", r.detail);
		fl_probe_reply_free(&reply);
		return NULL;
	}
	if (reply_len)
		*reply_len = reply.len;
	char *data = reply.data;
	reply.data = NULL;
	fl_probe_reply_free(&reply);
	return data ? data : fl_xstrdup("");
}

char *fl_tcp_request(int port, const char *send_buf, size_t send_len,
		     const char *expect, int64_t timeout_ns, char *err,
		     size_t errlen)
{
	fl_probe_addr a = {.family = AF_INET, .port = port};
	return fl_probe_request(&a, send_buf, send_len, expect, NULL,
				timeout_ns, NULL, err, errlen);
}

/* ------------------------------------------------------------------ */
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
