/* Fault control: the one small interface through which the harness turns
 * failure points on and off inside a target. Today it talks to faultline's
 * agent (lib/agent.c) over an inherited socket; nothing above this file
 * knows how. */
#ifndef FL_FAULTS_H
#define FL_FAULTS_H

#include <stdint.h>
#include <sys/types.h>

typedef struct fl_fault_spec {
	char point[112];	/* libfiu name: "posix/io/oc/close", ... */
	double p;		/* probability, 0..1 (1: every call) */
	int err;		/* errno to report; 0: derived from the seed */
	int onetime;		/* fail once, then never again */
	int failnum;		/* value libfiu's fiu_fail() returns; 1 */
	char nth[64];		/* call numbers: "3", "5-9", "every 4", ... */
	char actors[64];	/* glob over actor or thread names */
	char after_point[112];	/* open once this point was called... */
	uint64_t after_n;	/* ...this many times */
	char after_actor[40];	/* ...by this actor ("" : by anyone) */
	int replay;		/* fail exactly the calls loaded by replay */
} fl_fault_spec;

typedef struct fl_point_stats {
	int slot;
	char point[112];
	uint64_t calls;		/* calls seen while a window was open */
	uint64_t fired;		/* faults injected */
	int active;		/* a window is open now */
} fl_point_stats;

typedef struct fl_faults {
	int fd;			/* harness end of the socket pair */
	int peer_fd;		/* the end the target inherits (closed after
				 * spawn) */
	int hello;		/* the agent has introduced itself */
	pid_t agent_pid;
	pid_t agent_tid;
	int agent_fd;		/* the socket's number inside the target */
	int agent_thread;	/* the agent runs its own thread */
	int agent_journal;	/* the agent mapped the journal */
	char close_mode[16];
	/* The agent's point slots, by number (journal records name a slot):
	 * the FL_POINTS list in order, then what enable/replay added. */
	char **slot_names;
	int nslots;
} fl_faults;

/* Records slot numbers for a list of names (FL_POINTS, in order). */
void fl_faults_set_slots(fl_faults *f, char *const *names, int n);
/* The point name of a slot, or NULL. */
const char *fl_faults_slot_name(const fl_faults *f, int slot);
/* Loads recorded calls for replay: lines "<actor> <n> <errno>". */
int fl_faults_replay(fl_faults *f, const char *point, const char *lines,
		     char *err, size_t errlen, int timeout_ms);

/* Creates the socket pair. 0 or -errno. */
int fl_faults_create(fl_faults *f);
/* Closes the harness's copy of the target's end, once it is spawned. */
void fl_faults_spawned(fl_faults *f);
/* Closes the channel; slot names stay for the journal. */
void fl_faults_close(fl_faults *f);
/* Closes and frees everything. */
void fl_faults_free(fl_faults *f);

/* Reads the agent's hello if it has arrived, without blocking: 1 if the
 * agent is known, 0 if not yet, <0 if the channel broke. */
int fl_faults_poll_hello(fl_faults *f);

/* Each of these sends one command and waits (up to timeout_ms) for the
 * reply. 0, or -errno with a sentence in err. */
int fl_faults_enable(fl_faults *f, const fl_fault_spec *spec, char *err,
		     size_t errlen, int timeout_ms);
/* point NULL or "*": every point. */
int fl_faults_disable(fl_faults *f, const char *point, char *err,
		      size_t errlen, int timeout_ms);
int fl_faults_set_close(fl_faults *f, const char *mode, char *err,
			size_t errlen, int timeout_ms);
/* *out malloc'd; returns the count or -errno. */
int fl_faults_stats(fl_faults *f, fl_point_stats **out, char *err,
		    size_t errlen, int timeout_ms);
int fl_faults_ping(fl_faults *f, int timeout_ms);

#endif
