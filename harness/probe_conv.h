/* Internal to probe.c and probe_http.c: the state of one conversation
 * with a target, shared by the connection and line protocol (probe.c)
 * and the HTTP parser (probe_http.c). Nothing else includes this file;
 * the module's interface is probe.h.
 *
 * Names that cross between the two files take the fl_probe__ prefix (two
 * underscores: internal to the module, as libuv's uv__). */
#ifndef FL_PROBE_CONV_H
#define FL_PROBE_CONV_H

#include "probe.h"
#include "util.h"

#include <stddef.h>

/* How much of a reply or an expected text a message quotes. A quote
 * needs EXCERPT * 4 + 4 bytes: every byte may become \xNN, and "..." and
 * the terminator follow. */
#define EXCERPT 32

/* Where the HTTP parser is in a reply. The order matters: from H_LENGTH
 * on, the final response's headers have been read and a body begun. */
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

/* Records a failure in c->r; returns -1 so that steps can
 * "return fl_probe__fail(...)". */
int fl_probe__fail(conv *c, enum fl_probe_reason reason, int err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Records a pass in c->r; returns 1. */
int fl_probe__pass(conv *c);

/* Quotes up to max bytes of s into out, with control bytes as \n, \r, \t
 * or \xNN and "..." when cut, so that a reply never breaks a line of a
 * report. */
void fl_probe__excerpt(char *out, size_t outlen, const char *s, size_t len,
		       size_t max);

/* HTTP (probe_http.c). Checks what only HTTP probes have (path, Host,
 * statuses) and that an HTTP probe has no line-protocol fields. Returns
 * 0, or -EINVAL with a reason in err. */
int fl_probe__http_check(const fl_probe *p, char *err, size_t errlen);
/* Parses what has arrived in c->raw and drops the
 * bytes it used; eof: the peer closed. Returns 1 pass, -1 fail (both
 * recorded in c->r), 0 when it needs more bytes. */
int fl_probe__http_step(conv *c, int eof);
/* The GET request of an HTTP probe, appended to req; req is left empty
 * when memory runs out. */
void fl_probe__http_request(const fl_probe *p, fl_buf *req);

#endif
