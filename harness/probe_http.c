/* HTTP for probes: the statuses that pass, the GET request, and the
 * parser of the reply (status line, headers, a body framed by
 * Content-Length, chunks or the server closing). The connection and the
 * conversation's deadline are probe.c's; probe.h says when a reply is
 * complete. */
#define _GNU_SOURCE
#include "probe_conv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Longest status line, and all header lines together, an HTTP reply may
 * have before the probe calls it broken. */
#define HTTP_MAX_STATUS_LINE 8192
#define HTTP_MAX_HEADERS (64 * 1024)
/* Longest chunk-size line (or unfinished line after a chunk). */
#define HTTP_MAX_CHUNK_LINE 1024

/* ------------------------------------------------------------------ */
/* Statuses. */

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
/* Checking an HTTP probe. */

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

int fl_probe__http_check(const fl_probe *p, char *err, size_t errlen)
{
	if (!p->http_path) {
		if (p->nstatus || p->http_host) {
			snprintf(err, errlen, "HTTP status or host without an "
					      "HTTP path");
			return -EINVAL;
		}
		return 0;
	}
	if (p->send) {
		snprintf(err, errlen,
			 "an HTTP probe sends its own request: drop send");
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
			 "HTTP path '%.40s' must start with '/' and hold no "
			 "spaces or control characters",
			 p->http_path);
		return -EINVAL;
	}
	if (p->http_host &&
	    (!*p->http_host || !header_safe(p->http_host, 0))) {
		snprintf(err, errlen,
			 "HTTP host '%.40s' must be a non-empty name without "
			 "spaces or control characters",
			 p->http_host);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The request. */

void fl_probe__http_request(const fl_probe *p, fl_buf *req)
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

/* ------------------------------------------------------------------ */
/* The body. */

/* Adds decoded body bytes. Returns 0, or -1 when the body outgrew the cap
 * (which fails a fetch, and a probe that is still looking for its text). */
static int body_add(conv *c, const char *s, size_t len)
{
	c->body_seen += len;
	if (c->body.len + len > c->cap) {
		if (c->p->expect || c->fetch) {
			char want[EXCERPT * 4 + 4] = "";
			if (c->p->expect) {
				fl_probe__excerpt(want, sizeof want,
						  c->p->expect, c->expect_len,
						  EXCERPT);
				return fl_probe__fail(
					c, FL_PROBE_TOO_LONG, 0,
					"no '%s' in the first %zu KiB of "
					"the body",
					want, c->cap / 1024);
			}
			return fl_probe__fail(c, FL_PROBE_TOO_LONG, 0,
					      "a body longer than %zu KiB",
					      c->cap / 1024);
		}
		len = c->cap - c->body.len;
	}
	if (fl_buf_append(&c->body, s, len) < 0)
		return fl_probe__fail(c, FL_PROBE_ERROR, ENOMEM,
				      "out of memory");
	return 0;
}

/* The verdict on a complete body: 1 pass or -1 fail (recorded). */
static int body_verdict(conv *c)
{
	const char *expect = c->p->expect;
	if (!expect)
		return fl_probe__pass(c);
	const char *d = c->body.data ? c->body.data : "";
	if (c->p->regex) {
		regmatch_t m[1] = {{0, (regoff_t)c->body.len}};
		if (regexec(c->p->re, d, 1, m, REG_STARTEND) == 0)
			return fl_probe__pass(c);
	} else if (memmem(d, c->body.len, expect, c->expect_len)) {
		return fl_probe__pass(c);
	}
	char got[EXCERPT * 4 + 4], want[EXCERPT * 4 + 4];
	fl_probe__excerpt(got, sizeof got, d, c->body.len, EXCERPT);
	fl_probe__excerpt(want, sizeof want, expect, c->expect_len, EXCERPT);
	return fl_probe__fail(c, FL_PROBE_MISMATCH, 0,
			      "HTTP %d body '%s' did not %s '%s'",
			      c->r->http_status, got,
			      c->p->regex ? "match" : "contain", want);
}

/* A text in the body decides a probe before the body ends. Returns 1
 * (pass, recorded) when the text has arrived, else 0. */
static int early_text(conv *c)
{
	if (c->fetch || !c->p->expect || c->p->regex ||
	    c->body.len <= c->expect_scan)
		return 0;
	if (memmem(c->body.data + c->expect_scan,
		   c->body.len - c->expect_scan, c->p->expect, c->expect_len))
		return fl_probe__pass(c);
	if (c->body.len >= c->expect_len)
		c->expect_scan = c->body.len - (c->expect_len - 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Headers. */

static int ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* The value of Content-Length in v..end, or -1 when it is not a number
 * that fits. */
static long long content_length(const char *v, const char *end)
{
	long long n = 0;
	if (v == end)
		return -1;
	for (const char *s = v; s < end; s++) {
		if (!isdigit((unsigned char)*s) || n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* One header line of the final response: framing and, for a fetch, the
 * copy kept for the caller. Returns 0 or -1 (failure recorded). */
static int http_header(conv *c, const char *line, size_t len)
{
	if (c->fetch && (fl_buf_append(&c->headers, line, len) < 0 ||
			 fl_buf_putc(&c->headers, '\n') < 0))
		return fl_probe__fail(c, FL_PROBE_ERROR, ENOMEM,
				      "out of memory");
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
		/* Two headers that disagree make the body's end unknown. */
		long long n = content_length(v, end);
		if (n < 0 ||
		    (c->content_length >= 0 && c->content_length != n)) {
			char got[EXCERPT * 4 + 4];
			fl_probe__excerpt(got, sizeof got, v, (size_t)(end - v),
					  EXCERPT);
			return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
					      "bad Content-Length '%s'", got);
		}
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

/* ------------------------------------------------------------------ */
/* The parser: one function per state.
 *
 * Each takes the conversation, the offset of the first unparsed byte in
 * c->raw (which it advances past what it used) and whether the peer has
 * closed, and returns one of these. The verdicts are the values
 * fl_probe__pass and fl_probe__fail return, so that a state can return
 * theirs; fl_probe__http_step passes the verdicts and STEP_MORE on to
 * converse, and never STEP_ON. */
enum {
	STEP_FAIL = -1,	/* a verdict: failed, and recorded */
	STEP_MORE = 0,	/* it needs bytes that have not arrived yet */
	STEP_PASS = 1,	/* a verdict: passed, and recorded */
	STEP_ON = 2,	/* it moved on: parse on, in c->hstate */
};

/* The unparsed bytes from pos on ("" when nothing has arrived). */
static const char *unparsed(const conv *c, size_t pos)
{
	return c->raw.data ? c->raw.data + pos : "";
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

/* The status of "HTTP/d.d nnn[ reason]", or -1 when the line is not one. */
static int status_of(const char *line, long ll)
{
	if (ll < 12 || !isdigit((unsigned char)line[5]) || line[6] != '.' ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
	    !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) ||
	    !isdigit((unsigned char)line[11]) || (ll > 12 && line[12] != ' '))
		return -1;
	return (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
}

/* A status has been read: is it interim, does it decide the probe, or
 * do its headers and body follow? */
static int http_status_seen(conv *c, int status)
{
	c->r->http_status = status;
	c->header_bytes = 0;
	/* 1xx replies other than 101 come before the real one (103 Early
	 * Hints, 100 Continue). */
	c->interim = status >= 100 && status < 200 && status != 101;
	c->hstate = H_HEADERS;
	if (c->interim)
		return STEP_ON;
	if (!status_ok(c->p, status)) {
		char want[96];
		fmt_statuses(c->p, want, sizeof want);
		return fl_probe__fail(c, FL_PROBE_STATUS, 0, "HTTP %d not %s",
				      status, want);
	}
	if (!c->p->expect && !c->fetch)
		return fl_probe__pass(c);
	fl_buf_reset(&c->headers);
	c->content_length = -1;
	c->chunked = 0;
	return STEP_ON;
}

/* H_STATUS. */
static int http_status_line(conv *c, size_t *pos, int eof)
{
	const char *b = unparsed(c, *pos);
	size_t n = c->raw.len - *pos;
	size_t k = n < 5 ? n : 5;
	if (memcmp(b, "HTTP/", k) != 0) {
		char got[EXCERPT * 4 + 4];
		fl_probe__excerpt(got, sizeof got, b, n, EXCERPT);
		return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
				      "not an HTTP reply: '%s'", got);
	}
	const char *line;
	size_t used = 0;
	long ll = take_line(c, *pos, &line, &used);
	if (ll < 0) {
		if (n > HTTP_MAX_STATUS_LINE)
			return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
					      "an HTTP status line longer "
					      "than %d bytes",
					      HTTP_MAX_STATUS_LINE);
		if (eof && n == 0)
			return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
					      "the connection closed without "
					      "a reply");
		if (eof)
			return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
					      "the connection closed in the "
					      "HTTP status line");
		return STEP_MORE;
	}
	*pos += used;
	int status = status_of(line, ll);
	if (status < 0) {
		char got[EXCERPT * 4 + 4];
		fl_probe__excerpt(got, sizeof got, line, (size_t)ll, EXCERPT);
		return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
				      "bad HTTP status line '%s'", got);
	}
	return http_status_seen(c, status);
}

/* Where the final response's body ends, once its headers are read. */
static enum http_state body_framing(conv *c)
{
	int st = c->r->http_status;
	if (st == 204 || st == 304 || st < 200)
		return H_DONE;
	if (c->chunked)
		return H_CHUNK_SIZE;
	if (c->content_length >= 0) {
		c->content_left = c->content_length;
		return c->content_left ? H_LENGTH : H_DONE;
	}
	return H_TO_CLOSE;
}

/* H_HEADERS. */
static int http_header_line(conv *c, size_t *pos, int eof)
{
	size_t n = c->raw.len - *pos;
	const char *line;
	size_t used = 0;
	long ll = take_line(c, *pos, &line, &used);
	if (ll < 0) {
		if (c->header_bytes + n > HTTP_MAX_HEADERS)
			return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
					      "HTTP headers longer than %d KiB",
					      HTTP_MAX_HEADERS / 1024);
		if (eof)
			return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
					      "the connection closed in the "
					      "HTTP headers");
		return STEP_MORE;
	}
	*pos += used;
	c->header_bytes += used;
	if (ll > 0) {
		if (!c->interim && http_header(c, line, (size_t)ll) < 0)
			return STEP_FAIL;
		return STEP_ON;
	}
	/* The blank line: an interim reply's end, or the body's start. */
	c->hstate = c->interim ? H_STATUS : body_framing(c);
	return STEP_ON;
}

/* H_LENGTH and H_CHUNK_DATA: content_left bytes of body. */
static int http_body_bytes(conv *c, size_t *pos, int eof)
{
	const char *b = unparsed(c, *pos);
	size_t n = c->raw.len - *pos;
	size_t take = n < (unsigned long long)c->content_left
			      ? n
			      : (size_t)c->content_left;
	if (take && body_add(c, b, take) < 0)
		return STEP_FAIL;
	*pos += take;
	c->content_left -= (long long)take;
	if (c->content_left == 0) {
		c->hstate = c->hstate == H_LENGTH ? H_DONE : H_CHUNK_END;
		return STEP_ON;
	}
	if (!eof)
		return STEP_MORE;
	if (c->hstate == H_LENGTH)
		return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
				      "the connection closed after %zu of "
				      "%lld body bytes",
				      c->body_seen, c->content_length);
	return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
			      "the connection closed in a chunk of the body");
}

/* The size on a chunk-size line (extensions after ';' ignored), or -1
 * when it is not hex digits or does not fit. */
static long long chunk_size(const char *line, long ll)
{
	long long size = 0;
	long i = 0;
	for (; i < ll && isxdigit((unsigned char)line[i]); i++) {
		if (size > (LLONG_MAX >> 4))
			return -1;
		int d = isdigit((unsigned char)line[i])
				? line[i] - '0'
				: (tolower((unsigned char)line[i]) - 'a' + 10);
		size = size * 16 + d;
	}
	if (i == 0 ||
	    (i < ll && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
		return -1;
	return size;
}

/* H_CHUNK_SIZE and H_CHUNK_END: a chunk-size line, or the empty line
 * after a chunk's data. */
static int http_chunk_line(conv *c, size_t *pos, int eof)
{
	size_t n = c->raw.len - *pos;
	const char *line;
	size_t used = 0;
	long ll = take_line(c, *pos, &line, &used);
	if (ll < 0) {
		if (n > HTTP_MAX_CHUNK_LINE)
			return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
					      "a chunk-size line longer than "
					      "1 KiB");
		if (eof)
			return fl_probe__fail(c, FL_PROBE_CLOSED, 0,
					      "the connection closed before "
					      "the last chunk");
		return STEP_MORE;
	}
	*pos += used;
	if (c->hstate == H_CHUNK_END) {
		if (ll != 0)
			return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
					      "a chunk not followed by CRLF");
		c->hstate = H_CHUNK_SIZE;
		return STEP_ON;
	}
	long long size = chunk_size(line, ll);
	if (size < 0) {
		char got[EXCERPT * 4 + 4];
		fl_probe__excerpt(got, sizeof got, line, (size_t)ll, EXCERPT);
		return fl_probe__fail(c, FL_PROBE_PROTOCOL, 0,
				      "bad chunk size '%s'", got);
	}
	/* The last chunk ends the body; trailers, if any, do not change the
	 * verdict. */
	if (size == 0) {
		c->hstate = H_DONE;
	} else {
		c->content_left = size;
		c->hstate = H_CHUNK_DATA;
	}
	return STEP_ON;
}

/* H_TO_CLOSE: everything until the server closes is body. */
static int http_to_close(conv *c, size_t *pos, int eof)
{
	size_t n = c->raw.len - *pos;
	if (n && body_add(c, unparsed(c, *pos), n) < 0)
		return STEP_FAIL;
	*pos += n;
	if (!eof)
		return STEP_MORE;
	c->hstate = H_DONE;
	return STEP_ON;
}

/* Runs the states over the unparsed bytes until one needs more or a
 * verdict is reached. Returns STEP_MORE, STEP_PASS or STEP_FAIL. */
static int http_parse(conv *c, size_t *pos, int eof)
{
	for (;;) {
		int v;
		switch (c->hstate) {
		case H_STATUS:
			v = http_status_line(c, pos, eof);
			break;
		case H_HEADERS:
			v = http_header_line(c, pos, eof);
			break;
		case H_LENGTH:
		case H_CHUNK_DATA:
			v = http_body_bytes(c, pos, eof);
			break;
		case H_CHUNK_SIZE:
		case H_CHUNK_END:
			v = http_chunk_line(c, pos, eof);
			break;
		case H_TO_CLOSE:
			v = http_to_close(c, pos, eof);
			break;
		case H_DONE:
		default:
			v = body_verdict(c);
			break;
		}
		if (v != STEP_ON)
			return v;
	}
}

int fl_probe__http_step(conv *c, int eof)
{
	size_t pos = 0;
	int v = http_parse(c, &pos, eof);
	if (v == STEP_MORE)
		v = early_text(c);
	/* Parsed bytes are dropped: raw holds only what is still to come. */
	if (pos) {
		memmove(c->raw.data, c->raw.data + pos, c->raw.len - pos);
		c->raw.len -= pos;
		c->raw.data[c->raw.len] = '\0';
	}
	return v;
}
