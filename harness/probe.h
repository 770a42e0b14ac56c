/* Health probes and requests to a target on this machine.
 *
 * A probe connects to 127.0.0.1 or ::1 over TCP, or to a Unix-domain
 * stream socket; it either speaks a line protocol (optionally sends a
 * request, then looks for a text in the reply) or makes an HTTP GET and
 * checks the status and, optionally, the body. Connecting, sending and
 * reading share one deadline.
 *
 * A probe that gets a complete reply decides at once: a reply that does
 * not match fails as soon as it is complete, it never waits out the
 * timeout. When a reply is complete:
 *   - line protocols: at the first `reply_end` (a newline by default), or,
 *     when `expect` spans several lines, after as many lines as it spans;
 *     or when the peer closes; with reply_end = "" only when the peer
 *     closes. A text `expect` passes as soon as it appears, a regular
 *     expression is matched against the complete reply.
 *   - HTTP: the status line decides the status at once; a body check
 *     needs the body, which ends after Content-Length bytes, at the last
 *     chunk of a chunked body, or when the server closes (the probe sends
 *     "Connection: close"); 204, 304 and 1xx replies have no body.
 *   - any reply: when it passes 64 KiB (probes) or 1 MiB (requests)
 *     without a verdict.
 * A text cannot be ruled out earlier: it may begin at any byte until the
 * reply ends.
 *
 * Every result records when the probe started, when the first byte of
 * the reply arrived and when the verdict was known, and why it failed. */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "judge.h"

/* A probe's timeout when it gives none: connecting, sending and reading
 * the reply must all be done within it. */
#define FL_PROBE_DEFAULT_TIMEOUT_NS (500 * 1000000LL)
/* Replies longer than these without a verdict fail. */
#define FL_PROBE_MAX_REPLY (64 * 1024)
#define FL_PROBE_MAX_REQUEST_REPLY (1024 * 1024)
#define FL_PROBE_MAX_STATUS 8

/* Where a probe connects. */
typedef struct fl_probe_addr {
	int family;		/* AF_INET (127.0.0.1), AF_INET6 (::1), AF_UNIX */
	int port;		/* AF_INET, AF_INET6: 1..65535 */
	const char *path;	/* AF_UNIX: the socket's file */
} fl_probe_addr;

/* A range of HTTP statuses, both ends included. */
typedef struct fl_probe_status {
	int lo, hi;
} fl_probe_status;

/* One probe: where, what to say, what to expect, how long to wait. The
 * strings are borrowed: they must outlive the probe. */
typedef struct fl_probe {
	fl_probe_addr addr;
	/* A line protocol: bytes written once connected (NULL: none). */
	const char *send;
	size_t send_len;
	/* The reply (line protocol) or the body (HTTP) must contain this
	 * text, or match it as a POSIX extended regular expression when
	 * regex is set (^ and $ also match at newlines; matched once the
	 * reply or body is complete). NULL: no check (a line probe then
	 * passes once connected and its request written). */
	const char *expect;
	int regex;
	/* Line protocols: where a reply ends. NULL: "\n"; "": only when the
	 * peer closes. */
	const char *reply_end;
	/* HTTP: GET this path (it starts with '/'); NULL: not HTTP. */
	const char *http_path;
	/* The Host header; NULL: the address ("127.0.0.1:8080", "[::1]:8080",
	 * "localhost" for a Unix socket). */
	const char *http_host;
	/* Statuses that pass; none given: 200 only. */
	fl_probe_status status[FL_PROBE_MAX_STATUS];
	size_t nstatus;
	int64_t timeout_ns;	/* <= 0: FL_PROBE_DEFAULT_TIMEOUT_NS */
	regex_t *re;		/* compiled by fl_probe_prepare */
} fl_probe;

/* Why a probe failed. A row of fl_probe_reason_name's table each. */
enum fl_probe_reason {
	FL_PROBE_PASSED = 0,
	FL_PROBE_REFUSED,	/* nobody listens: ECONNREFUSED, or no socket file */
	FL_PROBE_CONNECT,	/* another connect error */
	FL_PROBE_TIMEOUT,	/* the deadline passed (r.phase says where) */
	FL_PROBE_RESET,		/* the peer reset the connection */
	FL_PROBE_CLOSED,	/* the peer closed before a complete reply */
	FL_PROBE_MISMATCH,	/* a complete reply without the expected text */
	FL_PROBE_STATUS,	/* an HTTP status that is not expected */
	FL_PROBE_PROTOCOL,	/* not HTTP, or broken HTTP framing */
	FL_PROBE_TOO_LONG,	/* no verdict within the size limit */
	FL_PROBE_ERROR,		/* a local failure: socket(), a bad probe, ... */
};

/* Where a probe was when it failed. */
enum fl_probe_phase {
	FL_PROBE_AT_CONNECT = 0,
	FL_PROBE_AT_SEND,
	FL_PROBE_AT_REPLY,
};

/* What one probe found. Times are fl_now_ns() (monotonic). */
typedef struct fl_probe_result {
	int ok;
	enum fl_probe_reason reason;
	enum fl_probe_phase phase;
	int err;		/* the errno behind it, 0 if none */
	int http_status;	/* the final status seen, 0 if none */
	int64_t start_ns;	/* the probe began (before socket()) */
	int64_t connected_ns;	/* the connection was up; 0 if never */
	int64_t first_byte_ns;	/* the first byte of the reply; 0 if none */
	int64_t end_ns;		/* the verdict was known */
	size_t reply_bytes;	/* bytes received */
	char detail[160];	/* why it failed, for people */
} fl_probe_result;

/* A reply kept by fl_probe_fetch. */
typedef struct fl_probe_reply {
	char *data;		/* line: the reply; HTTP: the decoded body */
	size_t len;
	char *headers;		/* HTTP: the final response's header lines */
	size_t headers_len;
	int status;		/* HTTP: the final status, 0 if none */
} fl_probe_reply;

/* Reads a host: "127.0.0.1" or "localhost" give AF_INET, "::1" or
 * "[::1]" AF_INET6. Anything else is -EINVAL with a reason: probes reach
 * this machine only. */
int fl_probe_parse_host(const char *host, int *family, char *err,
			size_t errlen);

/* "127.0.0.1:8080", "[::1]:8080" or "unix:/path". */
void fl_probe_addr_format(const fl_probe_addr *a, char *out, size_t outlen);

/* Adds statuses that pass: lo..hi (lo == hi for one). Returns 0, or
 * -EINVAL (outside 100..599, lo > hi) or -E2BIG, with a reason. */
int fl_probe_add_status(fl_probe *p, int lo, int hi, char *err,
			size_t errlen);
/* Adds statuses from text: "200", "200-299", "2xx", or a list of those
 * separated by commas or spaces. 0 or -EINVAL/-E2BIG with a reason. */
int fl_probe_parse_status(fl_probe *p, const char *text, char *err,
			  size_t errlen);

/* Checks a probe and compiles its regular expression. Returns 0, or
 * -EINVAL with a reason. A prepared probe is released with
 * fl_probe_release. */
int fl_probe_prepare(fl_probe *p, char *err, size_t errlen);
void fl_probe_release(fl_probe *p);

/* Runs one probe. Fills out and returns out->ok. */
int fl_probe_run(const fl_probe *p, fl_probe_result *out);

/* Runs a request and keeps its reply: like fl_probe_run, but a line
 * probe without expect waits for a reply (up to reply_end or the peer
 * closing), an HTTP reply is read to its end, and replies may be up to
 * 1 MiB. reply is filled whenever a reply arrived, even when the check
 * failed; free it with fl_probe_reply_free. Returns out->ok. */
int fl_probe_fetch(const fl_probe *p, fl_probe_result *out,
		   fl_probe_reply *reply);
void fl_probe_reply_free(fl_probe_reply *reply);
/* The value of the first header called name (any case) of an HTTP reply,
 * without surrounding blanks; NULL if there is none. */
const char *fl_probe_reply_header(const fl_probe_reply *reply,
				  const char *name, size_t *len);

/* The moment a result stands for: when its reply began to arrive, or,
 * without a reply, when its verdict was known. A good reply dates the
 * target's recovery. */
int64_t fl_probe_result_time(const fl_probe_result *r);

/* A result as the judge stores it; t_ns on a clock that starts at
 * origin_ns (fl_now_ns() of the target's start). */
void fl_probe_to_health(const fl_probe_result *r, int64_t origin_ns,
			fl_health_result *out);

/* "refused", "timeout", "mismatch", ...: a stable name for results. */
const char *fl_probe_reason_name(enum fl_probe_reason reason);

/* Probing back to back, for the moment a target recovers. */
typedef struct fl_probe_loop {
	int64_t deadline_ns;	/* fl_now_ns(): no probe starts after it */
	int64_t gap_ns;		/* least time between two probes' starts;
				 * 0: the next starts as the last ends */
	/* Called after every probe (NULL: not called). A nonzero return
	 * stops the loop: the target exited, the scenario was stopped. */
	int (*each)(void *arg, const fl_probe_result *r);
	void *arg;
	unsigned attempts;	/* out: probes made */
} fl_probe_loop;

/* Probes again as soon as the previous probe ends, until one passes or
 * the deadline. Each probe's timeout is cut so that it ends by the
 * deadline. Returns 0 with out the first passing result (its
 * fl_probe_result_time is when the good reply arrived), -ETIMEDOUT with
 * out the last failure (or a timeout if none could start), or
 * -ECANCELED if each() stopped it. */
int fl_probe_until_ok(const fl_probe *p, fl_probe_loop *loop,
		      fl_probe_result *out);

/* A TCP probe on loopback, the shape the harness has used so far; new
 * code uses fl_probe. */
typedef struct fl_tcp_probe {
	int port;
	int ipv6;		/* ::1 instead of 127.0.0.1 */
	const char *send;	/* NULL: connect only */
	size_t send_len;
	const char *expect;	/* NULL: any reply (or none) will do */
	int64_t timeout_ns;
} fl_tcp_probe;

/* Runs one probe; fills out (t_ns is left to the caller). Returns out->ok. */
int fl_probe_tcp(const fl_tcp_probe *p, fl_health_result *out);

/* Sends a request to addr and reads the reply: up to expect, or with no
 * expect up to reply_end (NULL: a newline; "": the peer closing), with
 * the completion rules above. Returns a malloc'd reply (its length in
 * *reply_len if given), or NULL with a reason in err. */
char *fl_probe_request(const fl_probe_addr *addr, const char *send,
		       size_t send_len, const char *expect,
		       const char *reply_end, int64_t timeout_ns,
		       size_t *reply_len, char *err, size_t errlen);

/* fl_probe_request to 127.0.0.1:port with a newline ending the reply. */
char *fl_tcp_request(int port, const char *send, size_t send_len,
		     const char *expect, int64_t timeout_ns, char *err,
		     size_t errlen);

/* Asks the kernel for a free loopback TCP port. Returns it or -errno. */
int fl_probe_free_port(void);

#endif
