/* What the harness and the in-target agent agree on: environment variables,
 * the control protocol and the shared fault journal. Shared by
 * harness/faults.c, harness/journal.c and lib/agent.c.
 *
 * Transport: one SOCK_SEQPACKET socket pair per target; the target inherits
 * one end, whose number is in FL_AGENT_FD. Every message is text, every
 * request gets exactly one reply.
 *
 *   agent -> harness, once at start (and again from each program the
 *   target executes when FL_INHERIT=1, since the new image's agent takes
 *   the socket over):
 *     hello pid=<pid> tid=<agent thread id> fd=<socket fd> version=<n>
 *           close=<linux|libfiu> thread=<0|1> journal=<0|1>
 *   harness -> agent:
 *     enable point=<name> [p=<0..1>] [errno=<n>] [onetime=1] [failnum=<n>]
 *            [nth=<spec>] [actors=<glob>] [after=<point>:<n>[:<actor>]]
 *            [replay=1]
 *        <name> may end in '*' (every known point with that prefix).
 *        nth: "3", "5-9", "every 4", or a comma list of those.
 *        actors: a glob over the actor name ("0.2*") or thread name.
 *        after: the window opens when <point> has been called <n> times
 *        (by <actor>, if given); the journal records the moment.
 *        replay=1: fail exactly the calls loaded with "replay" below.
 *     disable point=<name>          (point=* clears every point)
 *     replay point=<name>\n<actor> <n> <errno>\n...
 *        adds recorded calls to fail; may come in several messages
 *     set close=<linux|libfiu>
 *     stats
 *     ping
 *   agent -> harness:
 *     ok [slot=<n>] | err <message> | pong
 *     stats <count>\n<slot> <point> <calls> <fired> <active>\n...
 *
 * Points: at start the agent enables every name in FL_POINTS (a list
 * separated by ':') so that calls are counted from the first one on;
 * windows only switch decisions on and off. A decision is
 * fail = hash(seed, point, actor, n) < p, with n counted per actor and
 * point from 1, so it does not depend on thread interleaving, timing or
 * other points.
 *
 * Journal: FL_JOURNAL_FD is a memory file the agent maps (shared) and
 * closes: a header and a ring of fixed-size records, written without locks
 * or allocation by the failing thread and drained by the harness.
 */
#ifndef FL_AGENT_PROTO_H
#define FL_AGENT_PROTO_H

#include <stdatomic.h>
#include <stdint.h>

#define FL_ENV_AGENT_FD "FL_AGENT_FD"
#define FL_ENV_SEED "FL_SEED"
#define FL_ENV_CLOSE "FL_CLOSE"
#define FL_ENV_INHERIT "FL_INHERIT"
#define FL_ENV_POINTS "FL_POINTS"
#define FL_ENV_JOURNAL_FD "FL_JOURNAL_FD"
#define FL_AGENT_PROTO_VERSION 2
#define FL_AGENT_MSG_MAX 65536
#define FL_AGENT_MAX_POINTS 512
#define FL_AGENT_THREAD_NAME "fl-agent"
#define FL_ACTOR_MAX 40

#define FL_JOURNAL_MAGIC 0x4c4e4a46u /* "FJNL" */
#define FL_JOURNAL_VERSION 1
#define FL_JOURNAL_CAPACITY 32768

enum fl_journal_kind {
	FL_JREC_FAULT = 1,	/* a call was failed */
	FL_JREC_WINDOW = 2,	/* an armed window opened (after=...) */
};

typedef struct fl_journal_rec {
	_Atomic uint64_t seq;	/* index + 1 once the record is complete */
	uint64_t t_ns;		/* CLOCK_MONOTONIC */
	uint64_t n;		/* the actor's call number of the point */
	uint32_t kind;
	uint32_t slot;		/* the agent's point slot */
	int32_t err;
	uint32_t pid;
	char actor[FL_ACTOR_MAX];
} fl_journal_rec;

typedef struct fl_journal_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t capacity;
	uint32_t record_size;
	_Atomic uint64_t write_idx;	/* records claimed by writers */
	_Atomic uint64_t read_idx;	/* records consumed by the harness */
	_Atomic uint64_t lost;		/* records dropped: the ring was full */
	uint64_t reserved[3];
} fl_journal_hdr;

#define FL_JOURNAL_SIZE \
	(sizeof(fl_journal_hdr) + FL_JOURNAL_CAPACITY * sizeof(fl_journal_rec))

#endif
