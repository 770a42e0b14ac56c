/* What the harness and the in-target agent agree on: environment variables
 * and the control protocol. Shared by harness/faults.c and lib/agent.c.
 *
 * Transport: one SOCK_SEQPACKET socket pair per target; the target inherits
 * one end, whose number is in FL_AGENT_FD. Every message is one line of
 * text (no trailing newline needed), every request gets exactly one reply.
 *
 *   agent -> harness, once at start (and again from each program the
 *   target executes when FL_INHERIT=1, since the new image's agent takes
 *   the socket over):
 *     hello pid=<pid> tid=<agent thread id> fd=<socket fd> version=<n>
 *           close=<linux|libfiu>
 *   harness -> agent:
 *     enable point=<name> [p=<0..1>] [errno=<n>] [onetime=1] [failnum=<n>]
 *     disable point=<name>          (point=* clears every point)
 *     set close=<linux|libfiu>
 *     stats
 *     ping
 *   agent -> harness:
 *     ok | err <message> | pong
 *     stats <count>\n<point> <calls> <fired>\n...
 */
#ifndef FL_AGENT_PROTO_H
#define FL_AGENT_PROTO_H

#define FL_ENV_AGENT_FD "FL_AGENT_FD"
#define FL_ENV_SEED "FL_SEED"
#define FL_ENV_CLOSE "FL_CLOSE"
#define FL_ENV_INHERIT "FL_INHERIT"
#define FL_AGENT_PROTO_VERSION 1
#define FL_AGENT_MSG_MAX 65536
#define FL_AGENT_MAX_POINTS 128
#define FL_AGENT_THREAD_NAME "fl-agent"

#endif
