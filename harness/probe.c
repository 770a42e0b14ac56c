/* Health probes and requests: see probe.h for when a reply is complete. */
#define _GNU_SOURCE
#include "probe.h"

#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Longest status line, and all header lines together, an HTTP reply may
 * have before the probe calls it broken. */
#define HTTP_MAX_STATUS_LINE 8192
#define HTTP_MAX_HEADERS (64 * 1024)
/* How much of a reply or an expected text a message quotes. */
#define EXCERPT 32

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

/* Quotes up to max bytes of s, with control bytes as \n, \r, \t or \xNN
 * and "..." when cut, so that a reply never breaks a line of a report. */
static void excerpt(char *out, size_t outlen, const char *s, size_t len,
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
/* Hosts and statuses. */

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

int fl_probe_add_status(fl_probe *p, int lo, int hi, char *err,
			size_t errlen)
{
	if (lo < 100 || hi > 599 || lo > hi) {
		if (lo == hi)
			snprintf(err, errlen,
				 "HTTP status %d is outside 100-599", lo);
		else
			snprintf(err, errlen,
				 "HTTP statuses %d-%d are not a range within "
				 "100-599",
				 lo, hi);
		return -EINVAL;
	}
	if (p->nstatus >= FL_PROBE_MAX_STATUS) {
		snprintf(err, errlen, "more than %d HTTP status ranges",
			 FL_PROBE_MAX_STATUS);
		return -E2BIG;
	}
	p->status[p->nstatus].lo = lo;
	p->status[p->nstatus].hi = hi;
	p->nstatus++;
	return 0;
}

/* Reads 3 digits, or a digit and "xx", at s. Returns the length read
 * (3) with lo/hi set, or 0. */
static int status_item(const char *s, int *lo, int *hi)
{
	if (!isdigit((unsigned char)s[0]))
		return 0;
	if ((s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X')) {
		*lo = (s[0] - '0') * 100;
		*hi = *lo + 99;
		return 3;
	}
	if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
		return 0;
	*lo = *hi = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return 3;
}

int fl_probe_parse_status(fl_probe *p, const char *text, char *err,
			  size_t errlen)
{
	const char *s = text;
	int items = 0;
	for (;;) {
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		if (!*s)
			break;
		int lo, hi, lo2, hi2;
		int n = status_item(s, &lo, &hi);
		if (n && s[n] == '-') {
			int m = status_item(s + n + 1, &lo2, &hi2);
			if (!m || lo != hi || lo2 != hi2)
				n = 0;
			else {
				hi = lo2;
				n += 1 + m;
			}
		}
		if (!n || (s[n] && s[n] != ',' && s[n] != ' ' && s[n] != '\t')) {
			snprintf(err, errlen,
				 "HTTP status '%.40s' is not a status: use 200, "
				 "\"200-299\", \"2xx\" or a list of those",
				 text);
			return -EINVAL;
		}
		int r = fl_probe_add_status(p, lo, hi, err, errlen);
		if (r < 0)
			return r;
		items++;
		s += n;
	}
	if (!items) {
		snprintf(err, errlen, "HTTP status '%.40s' names no status",
			 text);
		return -EINVAL;
	}
	return 0;
}

static int status_ok(const fl_probe *p, int status)
{
	if (!p->nstatus)
		return status == 200;
	for (size_t i = 0; i < p->nstatus; i++)
		if (status >= p->status[i].lo && status <= p->status[i].hi)
			return 1;
	return 0;
}

/* "200", "in 200-299", "in 200, 204": what the statuses must be. */
static void fmt_statuses(const fl_probe *p, char *out, size_t outlen)
{
	if (!p->nstatus) {
		snprintf(out, outlen, "200");
		return;
	}
	size_t o = 0;
	if (p->nstatus > 1 || p->status[0].lo != p->status[0].hi)
		o += (size_t)snprintf(out, outlen, "in ");
	for (size_t i = 0; i < p->nstatus && o < outlen; i++) {
		const fl_probe_status *s = &p->status[i];
		if (s->lo == s->hi)
			o += (size_t)snprintf(out + o, outlen - o, "%s%d",
					      i ? ", " : "", s->lo);
		else
			o += (size_t)snprintf(out + o, outlen - o, "%s%d-%d",
					      i ? ", " : "", s->lo, s->hi);
	}
}

/* ------------------------------------------------------------------ */
/* Checking a probe. */

/* A path or a Host value goes into the request line as it is: it must not
 * be able to end the line or add a header. */
static int header_safe(const char *s, int allow_space)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f || (!allow_space && ch == ' '))
			return 0;
	}
	return 1;
}

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
	if (p->http_path) {
		if (p->send) {
			snprintf(err, errlen,
				 "an HTTP probe sends its own request: drop "
				 "send");
			return -EINVAL;
		}
		if (p->reply_end) {
			snprintf(err, errlen,
				 "an HTTP reply ends by its own framing: drop "
				 "reply_end");
			return -EINVAL;
		}
		if (p->http_path[0] != '/' || !header_safe(p->http_path, 0)) {
			snprintf(err, errlen,
				 "HTTP path '%.40s' must start with '/' and "
				 "hold no spaces or control characters",
				 p->http_path);
			return -EINVAL;
		}
		if (p->http_host &&
		    (!*p->http_host || !header_safe(p->http_host, 0))) {
			snprintf(err, errlen,
				 "HTTP host '%.40s' must be a non-empty name "
				 "without spaces or control characters",
				 p->http_host);
			return -EINVAL;
		}
	} else if (p->nstatus || p->http_host) {
		snprintf(err, errlen, "HTTP status or host without an HTTP "
				      "path");
		return -EINVAL;
	}
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
/* One conversation: connect, send, read until a verdict. */

enum http_state {
	H_STATUS,	/* waiting for a status line */
	H_HEADERS,	/* reading header lines */
	H_LENGTH,	/* a body of content_left bytes */
	H_CHUNK_SIZE,	/* a chunk-size line */
	H_CHUNK_DATA,	/* content_left bytes of a chunk */
	H_CHUNK_END,	/* the CRLF after a chunk */
	H_TO_CLOSE,	/* a body that ends when the server closes */
	H_DONE,
};

typedef struct conv {
	const fl_probe *p;
	fl_probe_result *r;
	int fetch;		/* a request: keep and finish the reply */
	size_t cap;		/* the most a reply (or body) may hold */
	int64_t timeout_ns, deadline;
	fl_buf raw;		/* line: the reply; HTTP: bytes not parsed yet */
	size_t expect_len;
	size_t expect_scan;	/* no match can start before this */
	/* Line protocols. */
	const char *end_text;
	size_t end_len;
	size_t lines_needed, lines_seen;
	size_t end_scan;	/* where to look for the next reply_end */
	size_t reply_len;	/* the complete reply's length; 0: not yet */
	/* HTTP. */
	enum http_state hstate;
	int interim;		/* skipping a 1xx reply */
	int chunked;
	long long content_length;	/* -1: no header */
	long long content_left;
	size_t header_bytes;
	fl_buf headers;
	fl_buf body;
	size_t body_seen;	/* body bytes received, kept or not */
} conv;

static int fail(conv *c, enum fl_probe_reason reason, int err,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records a failure; returns -1 so that steps can "return fail(...)". */
static int fail(conv *c, enum fl_probe_reason reason, int err,
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

static int pass(conv *c)
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
		excerpt(got, sizeof got, c->raw.data, c->raw.len, EXCERPT);
		return fail(c, FL_PROBE_TIMEOUT, ETIMEDOUT,
			    "timed out after %s %s (got '%s')", d, doing, got);
	}
	return fail(c, FL_PROBE_TIMEOUT, ETIMEDOUT, "timed out after %s %s", d,
		    doing);
}

static int connect_failed(conv *c, int e)
{
	char where[160];
	fl_probe_addr_format(&c->p->addr, where, sizeof where);
	if (e == ECONNREFUSED)
		return fail(c, FL_PROBE_REFUSED, e,
			    "connect to %s: connection refused", where);
	if (e == ENOENT)
		return fail(c, FL_PROBE_REFUSED, e,
			    "connect to %s: no such socket", where);
	return fail(c, e == EMFILE || e == ENFILE || e == ENOBUFS ||
				       e == ENOMEM
			       ? FL_PROBE_ERROR
			       : FL_PROBE_CONNECT,
		    e, "connect to %s: %s", where, strerror(e));
}

/* Connects within the deadline. Returns the fd, or -1 with the failure
 * recorded. */
static int open_connection(conv *c)
{
	const fl_probe_addr *a = &c->p->addr;
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)a->port);
		in6->sin6_addr = in6addr_loopback;
		sl = sizeof *in6;
	} else if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)a->port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *in;
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, a->path, strlen(a->path) + 1);
		sl = (socklen_t)sizeof *un;
	}
	c->r->phase = FL_PROBE_AT_CONNECT;
	if (a->family == AF_UNIX) {
		/* A Unix connect never says EINPROGRESS: non-blocking, a full
		 * listen queue is EAGAIN at once. A blocking connect waits
		 * for room up to the socket's send timeout, which is the time
		 * left. */
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail(c, FL_PROBE_ERROR, errno, "socket: %s",
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
				.tv_usec = (suseconds_t)(left % FL_NS_PER_SEC /
							 1000)};
			if (tv.tv_sec == 0 && tv.tv_usec == 0)
				tv.tv_usec = 1;
			if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
				       sizeof tv) < 0) {
				fail(c, FL_PROBE_ERROR, errno,
				     "setsockopt: %s", strerror(errno));
				close(fd);
				return -1;
			}
			if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
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
			fail(c, FL_PROBE_ERROR, errno, "fcntl: %s",
			     strerror(errno));
			close(fd);
			return -1;
		}
		return fd;
	}
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0) {
		fail(c, FL_PROBE_ERROR, errno, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
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
			fail(c, FL_PROBE_ERROR, -w, "poll: %s", strerror(-w));
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
				return fail(c, FL_PROBE_ERROR, -w, "poll: %s",
					    strerror(-w));
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return 1;
		return fail(c, FL_PROBE_ERROR, errno, "send: %s",
			    strerror(errno));
	}
	return 0;
}

/* Where the reply ends and whether it holds the expected text. Returns 1
 * pass, -1 fail, 0 need more. */
static int line_step(conv *c, int eof)
{
	const char *d = c->raw.data ? c->raw.data : "";
	size_t n = c->raw.len;
	if (c->end_len && !c->reply_len) {
		while (c->lines_seen < c->lines_needed) {
			const char *e = n > c->end_scan
						? memmem(d + c->end_scan,
							 n - c->end_scan,
							 c->end_text, c->end_len)
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
	int complete = c->reply_len > 0 || eof;
	size_t limit = c->reply_len ? c->reply_len : n;
	const char *expect = c->p->expect;
	if (expect) {
		if (!c->p->regex) {
			size_t from = c->expect_scan;
			if (limit > from &&
			    memmem(d + from, limit - from, expect, c->expect_len))
				return pass(c);
			if (limit >= c->expect_len &&
			    limit - (c->expect_len - 1) > c->expect_scan)
				c->expect_scan = limit - (c->expect_len - 1);
		} else if (complete) {
			regmatch_t m[1] = {{0, (regoff_t)limit}};
			if (regexec(c->p->re, d, 1, m, REG_STARTEND) == 0)
				return pass(c);
		}
		if (complete && n == 0)
			return fail(c, FL_PROBE_CLOSED, 0,
				    "the connection closed without a reply");
		if (complete) {
			char got[EXCERPT * 4 + 4], want[EXCERPT * 4 + 4];
			excerpt(got, sizeof got, d, limit, EXCERPT);
			excerpt(want, sizeof want, expect, c->expect_len,
				EXCERPT);
			return fail(c, FL_PROBE_MISMATCH, 0,
				    "reply '%s' did not %s '%s'", got,
				    c->p->regex ? "match" : "contain", want);
		}
		if (n >= c->cap) {
			char want[EXCERPT * 4 + 4];
			excerpt(want, sizeof want, expect, c->expect_len,
				EXCERPT);
			return fail(c, FL_PROBE_TOO_LONG, 0,
				    "no '%s' in the first %zu KiB of the reply",
				    want, c->cap / 1024);
		}
		return 0;
	}
	if (complete) {
		if (n == 0)
			return fail(c, FL_PROBE_CLOSED, 0,
				    "the connection closed without a reply");
		return pass(c);
	}
	if (n >= c->cap)
		return fail(c, FL_PROBE_TOO_LONG, 0,
			    "a reply longer than %zu KiB", c->cap / 1024);
	return 0;
}

/* Adds decoded body bytes. Returns 0, or -1 when the body outgrew the cap
 * (which fails a fetch, and a probe that is still looking for its text). */
static int body_add(conv *c, const char *s, size_t len)
{
	c->body_seen += len;
	if (c->body.len + len > c->cap) {
		if (c->p->expect || c->fetch) {
			char want[EXCERPT * 4 + 4] = "";
			if (c->p->expect) {
				excerpt(want, sizeof want, c->p->expect,
					c->expect_len, EXCERPT);
				return fail(c, FL_PROBE_TOO_LONG, 0,
					    "no '%s' in the first %zu KiB of "
					    "the body",
					    want, c->cap / 1024);
			}
			return fail(c, FL_PROBE_TOO_LONG, 0,
				    "a body longer than %zu KiB",
				    c->cap / 1024);
		}
		len = c->cap - c->body.len;
	}
	if (fl_buf_append(&c->body, s, len) < 0)
		return fail(c, FL_PROBE_ERROR, ENOMEM, "out of memory");
	return 0;
}

static int body_verdict(conv *c)
{
	const char *expect = c->p->expect;
	if (!expect)
		return pass(c);
	const char *d = c->body.data ? c->body.data : "";
	if (c->p->regex) {
		regmatch_t m[1] = {{0, (regoff_t)c->body.len}};
		if (regexec(c->p->re, d, 1, m, REG_STARTEND) == 0)
			return pass(c);
	} else if (memmem(d, c->body.len, expect, c->expect_len)) {
		return pass(c);
	}
	char got[EXCERPT * 4 + 4], want[EXCERPT * 4 + 4];
	excerpt(got, sizeof got, d, c->body.len, EXCERPT);
	excerpt(want, sizeof want, expect, c->expect_len, EXCERPT);
	return fail(c, FL_PROBE_MISMATCH, 0, "HTTP %d body '%s' did not %s '%s'",
		    c->r->http_status, got, c->p->regex ? "match" : "contain",
		    want);
}

static int ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* One header line of the final response: framing and, for a fetch, the
 * copy kept for the caller. Returns 0 or -1 (failure recorded). */
static int http_header(conv *c, const char *line, size_t len)
{
	if (c->fetch && (fl_buf_append(&c->headers, line, len) < 0 ||
			 fl_buf_putc(&c->headers, '\n') < 0))
		return fail(c, FL_PROBE_ERROR, ENOMEM, "out of memory");
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return 0;
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (ieq(line, nlen, "content-length")) {
		long long n = 0;
		if (v == end)
			goto bad_length;
		for (const char *s = v; s < end; s++) {
			if (!isdigit((unsigned char)*s) ||
			    n > (LLONG_MAX - 9) / 10)
				goto bad_length;
			n = n * 10 + (*s - '0');
		}
		if (c->content_length >= 0 && c->content_length != n)
			goto bad_length;
		c->content_length = n;
	} else if (ieq(line, nlen, "transfer-encoding")) {
		/* The body is chunked when chunked is the last coding. */
		const char *last = v;
		for (const char *s = v; s < end; s++)
			if (*s == ',')
				last = s + 1;
		while (last < end && (*last == ' ' || *last == '\t'))
			last++;
		c->chunked = ieq(last, (size_t)(end - last), "chunked");
	}
	return 0;
bad_length:;
	char got[EXCERPT * 4 + 4];
	excerpt(got, sizeof got, v, (size_t)(end - v), EXCERPT);
	return fail(c, FL_PROBE_PROTOCOL, 0, "bad Content-Length '%s'", got);
}

/* Takes a line ending in LF (CRLF accepted) from the unparsed bytes.
 * Returns its length without the line end (*used: with it), or -1 when
 * it is incomplete. */
static long take_line(conv *c, size_t pos, const char **line,
		      size_t *used)
{
	if (c->raw.len <= pos)
		return -1;
	const char *b = c->raw.data + pos;
	const char *nl = memchr(b, '\n', c->raw.len - pos);
	if (!nl)
		return -1;
	size_t len = (size_t)(nl - b);
	*line = b;
	*used = len + 1;
	if (len && b[len - 1] == '\r')
		len--;
	return (long)len;
}

static int http_step(conv *c, int eof)
{
	size_t pos = 0;
	int v = 0;
	for (;;) {
		const char *b = c->raw.data ? c->raw.data + pos : "";
		size_t n = c->raw.len - pos;
		const char *line;
		size_t used = 0;
		long ll;
		if (c->hstate == H_STATUS) {
			size_t k = n < 5 ? n : 5;
			if (memcmp(b, "HTTP/", k) != 0) {
				char got[EXCERPT * 4 + 4];
				excerpt(got, sizeof got, b, n, EXCERPT);
				v = fail(c, FL_PROBE_PROTOCOL, 0,
					 "not an HTTP reply: '%s'", got);
				break;
			}
			ll = take_line(c, pos, &line, &used);
			if (ll < 0) {
				if (n > HTTP_MAX_STATUS_LINE)
					v = fail(c, FL_PROBE_PROTOCOL, 0,
						 "an HTTP status line longer "
						 "than %d bytes",
						 HTTP_MAX_STATUS_LINE);
				else if (eof && n == 0)
					v = fail(c, FL_PROBE_CLOSED, 0,
						 "the connection closed "
						 "without a reply");
				else if (eof)
					v = fail(c, FL_PROBE_CLOSED, 0,
						 "the connection closed in "
						 "the HTTP status line");
				break;
			}
			pos += used;
			if (ll < 12 || !isdigit((unsigned char)line[5]) ||
			    line[6] != '.' || !isdigit((unsigned char)line[7]) ||
			    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
			    !isdigit((unsigned char)line[10]) ||
			    !isdigit((unsigned char)line[11]) ||
			    (ll > 12 && line[12] != ' ')) {
				char got[EXCERPT * 4 + 4];
				excerpt(got, sizeof got, line, (size_t)ll,
					EXCERPT);
				v = fail(c, FL_PROBE_PROTOCOL, 0,
					 "bad HTTP status line '%s'", got);
				break;
			}
			int status = (line[9] - '0') * 100 +
				     (line[10] - '0') * 10 + (line[11] - '0');
			c->r->http_status = status;
			c->header_bytes = 0;
			/* 1xx replies other than 101 come before the real
			 * one (103 Early Hints, 100 Continue). */
			c->interim = status >= 100 && status < 200 &&
				     status != 101;
			c->hstate = H_HEADERS;
			if (c->interim)
				continue;
			if (!status_ok(c->p, status)) {
				char want[96];
				fmt_statuses(c->p, want, sizeof want);
				v = fail(c, FL_PROBE_STATUS, 0,
					 "HTTP %d not %s", status, want);
				break;
			}
			if (!c->p->expect && !c->fetch) {
				v = pass(c);
				break;
			}
			fl_buf_reset(&c->headers);
			c->content_length = -1;
			c->chunked = 0;
			continue;
		}
		if (c->hstate == H_HEADERS) {
			ll = take_line(c, pos, &line, &used);
			if (ll < 0) {
				if (c->header_bytes + n > HTTP_MAX_HEADERS)
					v = fail(c, FL_PROBE_PROTOCOL, 0,
						 "HTTP headers longer than "
						 "%d KiB",
						 HTTP_MAX_HEADERS / 1024);
				else if (eof)
					v = fail(c, FL_PROBE_CLOSED, 0,
						 "the connection closed in "
						 "the HTTP headers");
				break;
			}
			pos += used;
			c->header_bytes += used;
			if (ll > 0) {
				if (!c->interim &&
				    http_header(c, line, (size_t)ll) < 0) {
					v = -1;
					break;
				}
				continue;
			}
			if (c->interim) {
				c->hstate = H_STATUS;
				continue;
			}
			int st = c->r->http_status;
			if (st == 204 || st == 304 || st < 200)
				c->hstate = H_DONE;
			else if (c->chunked)
				c->hstate = H_CHUNK_SIZE;
			else if (c->content_length >= 0) {
				c->content_left = c->content_length;
				c->hstate = c->content_left ? H_LENGTH : H_DONE;
			} else
				c->hstate = H_TO_CLOSE;
			continue;
		}
		if (c->hstate == H_LENGTH || c->hstate == H_CHUNK_DATA) {
			size_t take = n < (unsigned long long)c->content_left
					      ? n
					      : (size_t)c->content_left;
			if (take && body_add(c, b, take) < 0) {
				v = -1;
				break;
			}
			pos += take;
			c->content_left -= (long long)take;
			if (c->content_left == 0) {
				c->hstate = c->hstate == H_LENGTH ? H_DONE
								  : H_CHUNK_END;
				continue;
			}
			if (eof) {
				if (c->hstate == H_LENGTH)
					v = fail(c, FL_PROBE_CLOSED, 0,
						 "the connection closed after "
						 "%zu of %lld body bytes",
						 c->body_seen,
						 c->content_length);
				else
					v = fail(c, FL_PROBE_CLOSED, 0,
						 "the connection closed in a "
						 "chunk of the body");
			}
			break;
		}
		if (c->hstate == H_CHUNK_SIZE || c->hstate == H_CHUNK_END) {
			ll = take_line(c, pos, &line, &used);
			if (ll < 0) {
				if (n > 1024)
					v = fail(c, FL_PROBE_PROTOCOL, 0,
						 "a chunk-size line longer "
						 "than 1 KiB");
				else if (eof)
					v = fail(c, FL_PROBE_CLOSED, 0,
						 "the connection closed "
						 "before the last chunk");
				break;
			}
			pos += used;
			if (c->hstate == H_CHUNK_END) {
				if (ll != 0) {
					v = fail(c, FL_PROBE_PROTOCOL, 0,
						 "a chunk not followed by "
						 "CRLF");
					break;
				}
				c->hstate = H_CHUNK_SIZE;
				continue;
			}
			long long size = 0;
			long i = 0;
			for (; i < ll && isxdigit((unsigned char)line[i]); i++) {
				if (size > (LLONG_MAX >> 4)) {
					i = 0;
					break;
				}
				int d = isdigit((unsigned char)line[i])
						? line[i] - '0'
						: (tolower((unsigned char)line[i]) -
						   'a' + 10);
				size = size * 16 + d;
			}
			if (i == 0 || (i < ll && line[i] != ';' &&
				       line[i] != ' ' && line[i] != '\t')) {
				char got[EXCERPT * 4 + 4];
				excerpt(got, sizeof got, line, (size_t)ll,
					EXCERPT);
				v = fail(c, FL_PROBE_PROTOCOL, 0,
					 "bad chunk size '%s'", got);
				break;
			}
			/* The last chunk ends the body; trailers, if any,
			 * do not change the verdict. */
			if (size == 0) {
				c->hstate = H_DONE;
			} else {
				c->content_left = size;
				c->hstate = H_CHUNK_DATA;
			}
			continue;
		}
		if (c->hstate == H_TO_CLOSE) {
			if (n && body_add(c, b, n) < 0) {
				v = -1;
				break;
			}
			pos += n;
			if (eof) {
				c->hstate = H_DONE;
				continue;
			}
			break;
		}
		/* H_DONE */
		v = body_verdict(c);
		break;
	}
	/* A text in the body decides a probe before the body ends. */
	if (v == 0 && !c->fetch && c->p->expect && !c->p->regex &&
	    c->body.len > c->expect_scan) {
		if (memmem(c->body.data + c->expect_scan,
			   c->body.len - c->expect_scan, c->p->expect,
			   c->expect_len))
			v = pass(c);
		else if (c->body.len >= c->expect_len)
			c->expect_scan = c->body.len - (c->expect_len - 1);
	}
	/* Parsed bytes are dropped: raw holds only what is still to come. */
	if (pos) {
		memmove(c->raw.data, c->raw.data + pos, c->raw.len - pos);
		c->raw.len -= pos;
		c->raw.data[c->raw.len] = '\0';
	}
	return v;
}

static int step(conv *c, int eof)
{
	return c->p->http_path ? http_step(c, eof) : line_step(c, eof);
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

static void build_http_request(const fl_probe *p, fl_buf *req)
{
	char host[160];
	if (p->http_host)
		snprintf(host, sizeof host, "%s", p->http_host);
	else if (p->addr.family == AF_UNIX)
		snprintf(host, sizeof host, "localhost");
	else
		fl_probe_addr_format(&p->addr, host, sizeof host);
	if (fl_buf_printf(req,
			  "GET %s HTTP/1.1\r\nHost: %s\r\n"
			  "User-Agent: faultline-probe\r\nAccept: */*\r\n"
			  "Connection: close\r\n\r\n",
			  p->http_path, p->http_host ? p->http_host : host) < 0)
		fl_buf_reset(req);
}

static int converse(const fl_probe *p, int fetch, fl_probe_result *r,
		    fl_probe_reply *reply)
{
	memset(r, 0, sizeof *r);
	r->start_ns = fl_now_ns();
	conv c;
	memset(&c, 0, sizeof c);
	c.p = p;
	c.r = r;
	c.fetch = fetch;
	c.cap = fetch ? FL_PROBE_MAX_REQUEST_REPLY : FL_PROBE_MAX_REPLY;
	c.timeout_ns = p->timeout_ns > 0 ? p->timeout_ns
					 : FL_PROBE_DEFAULT_TIMEOUT_NS;
	c.deadline = r->start_ns + c.timeout_ns;
	c.content_length = -1;
	fl_buf_init(&c.raw);
	fl_buf_init(&c.headers);
	fl_buf_init(&c.body);
	int fd = -1;
	char err[160];
	if (check_probe(p, err, sizeof err) < 0) {
		fail(&c, FL_PROBE_ERROR, EINVAL, "bad probe: %s", err);
		goto done;
	}
	if (p->regex && !p->re) {
		fail(&c, FL_PROBE_ERROR, EINVAL,
		     "bad probe: its regular expression was not compiled");
		goto done;
	}
	c.expect_len = p->expect ? strlen(p->expect) : 0;
	c.end_text = p->reply_end ? p->reply_end : "\n";
	c.end_len = strlen(c.end_text);
	c.lines_needed = lines_needed(p->expect, c.end_text, c.end_len);

	fd = open_connection(&c);
	if (fd < 0)
		goto done;
	r->connected_ns = fl_now_ns();
	int gone = 0;
	if (p->http_path) {
		fl_buf req;
		fl_buf_init(&req);
		build_http_request(p, &req);
		gone = req.len ? send_request(&c, fd, req.data, req.len)
			       : fail(&c, FL_PROBE_ERROR, ENOMEM,
				      "out of memory");
		fl_buf_free(&req);
	} else if (p->send && p->send_len) {
		gone = send_request(&c, fd, p->send, p->send_len);
	}
	if (gone < 0)
		goto done;
	if (!p->http_path && !p->expect && !fetch) {
		if (gone)
			fail(&c, FL_PROBE_RESET, EPIPE,
			     "the connection was reset while sending the "
			     "request");
		else
			pass(&c);
		goto done;
	}
	r->phase = FL_PROBE_AT_REPLY;
	for (;;) {
		int w = wait_fd(fd, POLLIN, c.deadline);
		if (w == 0) {
			timed_out(&c, r->reply_bytes ? "reading the reply"
						     : "waiting for a reply");
			break;
		}
		if (w < 0) {
			fail(&c, FL_PROBE_ERROR, -w, "poll: %s", strerror(-w));
			break;
		}
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) {
			if (gone && !r->reply_bytes)
				r->phase = FL_PROBE_AT_SEND;
			fail(&c, FL_PROBE_RESET, errno,
			     "the connection was reset %s",
			     r->phase == FL_PROBE_AT_SEND
				     ? "while sending the request"
			     : r->reply_bytes ? "in the middle of the reply"
					      : "before a reply");
			break;
		}
		if (n < 0) {
			fail(&c, FL_PROBE_ERROR, errno, "recv: %s",
			     strerror(errno));
			break;
		}
		if (n > 0) {
			if (!r->first_byte_ns)
				r->first_byte_ns = fl_now_ns();
			r->reply_bytes += (size_t)n;
			/* A line reply is kept up to its cap; step() fails it
			 * there. */
			size_t keep = (size_t)n;
			if (!p->http_path && c.raw.len + keep > c.cap)
				keep = c.cap - c.raw.len;
			if (fl_buf_append(&c.raw, chunk, keep) < 0) {
				fail(&c, FL_PROBE_ERROR, ENOMEM,
				     "out of memory");
				break;
			}
		}
		int v = step(&c, n == 0);
		if (v)
			break;
		if (n == 0) {
			/* Every step decides at the end of the stream; this
			 * is a bug if it is ever reached. */
			fail(&c, FL_PROBE_ERROR, 0, "no verdict at the end of "
						    "the reply");
			break;
		}
	}
done:
	r->end_ns = fl_now_ns();
	if (fd >= 0) {
		drain(fd);
		close(fd);
	}
	if (reply) {
		memset(reply, 0, sizeof *reply);
		reply->status = r->http_status;
		if (p->http_path) {
			if (c.hstate >= H_LENGTH) {
				reply->len = c.body.len;
				reply->data = fl_buf_steal(&c.body);
				reply->headers_len = c.headers.len;
				reply->headers = fl_buf_steal(&c.headers);
			}
		} else if (r->reply_bytes) {
			size_t len = c.reply_len ? c.reply_len : c.raw.len;
			reply->len = len;
			reply->data = fl_buf_steal(&c.raw);
			if (reply->data)
				reply->data[len] = '\0';
		}
	}
	fl_buf_free(&c.raw);
	fl_buf_free(&c.headers);
	fl_buf_free(&c.body);
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

const char *fl_probe_reply_header(const fl_probe_reply *reply,
				  const char *name, size_t *len)
{
	const char *s = reply->headers;
	if (!s)
		return NULL;
	while (*s) {
		const char *eol = strchr(s, '\n');
		if (!eol)
			eol = s + strlen(s);
		const char *colon = memchr(s, ':', (size_t)(eol - s));
		if (colon && ieq(s, (size_t)(colon - s), name)) {
			const char *v = colon + 1, *end = eol;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if (len)
				*len = (size_t)(end - v);
			return v;
		}
		s = *eol ? eol + 1 : eol;
	}
	return NULL;
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
