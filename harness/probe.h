/* Health probes on loopback: connect, optionally send a request and expect
 * a reply, all within a time limit. */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"

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

/* Sends a request on loopback and reads the reply: until it contains
 * expect (or, without expect, a newline), the peer closes, or timeout.
 * Returns a malloc'd reply, or NULL with a reason in err. */
char *fl_tcp_request(int port, const char *send, size_t send_len,
		     const char *expect, int64_t timeout_ns, char *err,
		     size_t errlen);

/* Asks the kernel for a free loopback TCP port. Returns it or -errno. */
int fl_probe_free_port(void);

#endif
