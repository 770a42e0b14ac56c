/* Fault control: the one small interface through which the harness turns
 * failure points on and off inside a target. It writes the shared region
 * faultline's agent (lib/agent.c) maps in every process of the target's
 * tree (lib/agent_proto.h): a window opened or closed here reaches every
 * process at its next call, with no message and no reply; nothing above
 * this file knows how. */
#ifndef FL_FAULTS_H
#define FL_FAULTS_H

#include <jansson.h>
#include <stddef.h>
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
	uint64_t calls;		/* calls seen while a window was open, summed
				 * over every process */
	uint64_t fired;		/* faults injected, every process */
	int active;		/* a window is open now */
} fl_point_stats;

/* What the agent holds inside one process, to be left out of its
 * figures. */
typedef struct fl_footprint {
	int fds;
	int fd;			/* the descriptor's number, or -1 */
	int threads;
	int64_t bytes;		/* resident memory, constant */
	int64_t tls_bytes;	/* per thread of the process */
} fl_footprint;

enum fl_proc_state {
	FL_PROC_AGENT = 1,	/* runs the agent now */
	FL_PROC_EXECUTED,	/* executed a program without the agent */
	FL_PROC_GONE,		/* exited */
};

typedef struct fl_proc_info {
	pid_t pid, ppid;
	char actor[40];
	char exe[200];		/* the program that registered */
	char now[256];		/* FL_PROC_EXECUTED: what it runs now */
	int state;		/* enum fl_proc_state */
	int images;		/* program images that registered (1 + execs
				 * that kept the agent) */
	int64_t t_ns;		/* registration, CLOCK_MONOTONIC */
	uint64_t start_ticks;	/* with pid, names the process for good */
	fl_footprint footprint;
} fl_proc_info;

typedef struct fl_faults {
	int shm_fd;		/* the region's memfd, until the target has it */
	void *shm;		/* the region, mapped here too */
	size_t shm_size;
	pid_t root;		/* the process spawned, once it is */
	int registered;		/* its agent has registered */
	int inherit;		/* programs the target executes keep the agent */
	int target_fd;		/* the descriptor's number in the target */
	char close_mode[16];
	uint64_t next_version;	/* of rule slots */
	/* Every process seen registered, as last seen (fl_faults_procs). */
	fl_proc_info *seen;
	int nseen;
	/* Whether the first process still maps the region, looked at most
	 * every FL_FAULTS_RECHECK_NS (a look costs several sampling
	 * periods): for its registration (t_ns) as of checked_ns. */
	_Atomic int64_t root_checked_ns;
	_Atomic int64_t root_checked_reg;
	_Atomic int root_maps;
	/* The sweep's rule (fl_faults_set_sweep): every rule written is of
	 * this kind. */
	int sweep;		/* FL_SWEEP_* of lib/agent_proto.h, 0: none */
	uint64_t site_key;
	uint64_t site_actor;
	uint64_t site_nth;
} fl_faults;

#define FL_FAULTS_RECHECK_NS 50000000LL

/* Creates the shared region (its pages are not resident yet:
 * fl_faults_populate), with room for replay_records recorded calls
 * (0 when not replaying), and the call-site tables when site_flags asks
 * for something (FL_SITES_* of lib/agent_proto.h: sites of a sweep's
 * calls, fd origins, crashes; site_depth frames make a site's identity,
 * 0: the default). Rules can be written into it at once: a window enabled
 * before the target is spawned is open from its first instruction. 0 or
 * -errno. */
/* Makes every page of the region resident, so that no process of the
 * target makes it grow by touching it. The harness calls it once the
 * target's exec went through, while its dynamic loader loads its
 * libraries (fl_spawn_spec.after_fork): the pages are zeroed beside that
 * on the other core, not before the spawn, and
 * a page the agent reaches first is made by the agent, both at once being
 * harmless (a resident page is left as it is). */
void fl_faults_populate(fl_faults *f);

int fl_faults_create(fl_faults *f, uint64_t seed, const char *close_mode,
		     int inherit, size_t replay_records, unsigned site_flags,
		     int site_depth);
/* Makes every rule written from now on a sweep's (docs/sweep.md): with
 * FL_SWEEP_RECORD a window records the call site of each call it covers
 * and fails none; with FL_SWEEP_SITE it fails exactly the nth call from
 * the site whose key is site_key, by the actor named (NULL or "": by
 * anyone), once per run. The window's errno, if it has one, is kept. */
void fl_faults_set_sweep(fl_faults *f, int mode, uint64_t site_key,
			 const char *actor, uint64_t nth);
/* The descriptor the target inherits (its number goes in FL_SHM_FD). */
int fl_faults_fd(const fl_faults *f);
/* The target was spawned as pid (0: the spawn failed): closes the
 * harness's copy of the descriptor. */
void fl_faults_spawned(fl_faults *f, pid_t pid);
/* The target is gone: nothing changes any more. The region stays mapped
 * for its journal, counts and point names until fl_faults_free. */
void fl_faults_close(fl_faults *f);
void fl_faults_free(fl_faults *f);

/* Registers point names before the target starts, so "prefix*" windows
 * cover them before their first call, and their entries are stable. */
void fl_faults_set_slots(fl_faults *f, char *const *names, int n);
/* The point name of a journal record's slot, or NULL. */
const char *fl_faults_slot_name(const fl_faults *f, int slot);
/* Loads recorded calls for replay: lines "<actor> <n> <errno>". */
int fl_faults_replay(fl_faults *f, const char *point, const char *lines,
		     char *err, size_t errlen, int timeout_ms);

/* 1 once the spawned process's agent has registered, 0 if not yet (a
 * static or Go binary never does). */
int fl_faults_registered(fl_faults *f);

/* These write the region; they take effect in every process at its next
 * call (timeout_ms is unused: nothing waits). 0, or -errno with a
 * sentence in err. They work before the target is spawned. */
int fl_faults_enable(fl_faults *f, const fl_fault_spec *spec, char *err,
		     size_t errlen, int timeout_ms);
/* point NULL or "*": every point. */
int fl_faults_disable(fl_faults *f, const char *point, char *err,
		      size_t errlen, int timeout_ms);
int fl_faults_set_close(fl_faults *f, const char *mode, char *err,
			size_t errlen, int timeout_ms);
/* Per point, summed over every process; *out malloc'd; returns the
 * count or -errno. Works after the target exited too. */
int fl_faults_stats(fl_faults *f, fl_point_stats **out, char *err,
		    size_t errlen, int timeout_ms);

/* What the agent holds in process pid (procfd: its /proc/PID directory,
 * or -1), to be subtracted from its figures: the registration's figures
 * while the process runs the agent; nothing once it executed a program
 * without it (noticed within FL_FAULTS_RECHECK_NS for the first process,
 * at once for others); the inherited descriptor before the agent
 * registered (or in a target that never loads it). Safe to call from
 * the monitor thread while the scenario thread writes rules. */
void fl_faults_footprint(fl_faults *f, int procfd, pid_t pid,
			 fl_footprint *out);

/* A child's end as its parent's wait returned it. */
typedef struct fl_reaped_end {
	pid_t pid;		/* the child */
	pid_t reaper;		/* the process whose wait reaped it */
	int status;		/* a wait status */
	int64_t t_ns;		/* CLOCK_MONOTONIC right after the wait */
} fl_reaped_end;

/* How process pid ended, as its parent's own wait returned it (the
 * agent's ring of reaped children, lib/agent_proto.h): the first record
 * of pid made at since_ns or later (CLOCK_MONOTONIC; pass when the
 * process was found, so a reaped process whose pid a later one reuses is
 * never taken for it). 1 with *out (its wait status, when it was reaped
 * and by whom), 0 when no record says. Reads only: safe from the
 * monitor thread. */
int fl_faults_reaped(const fl_faults *f, pid_t pid, int64_t since_ns,
		     fl_reaped_end *out);

/* The records of the ring in order, from *cursor (0 at first) on: up to
 * max into out, *cursor moved past them. A record still being written
 * ends the call (it is read at the next); records overwritten before
 * they were read, or whose writer died writing them, are added to *lost.
 * ended: no process that writes the ring is left (the tree has ended),
 * so a record still being written never will be: it is lost too.
 * Returns how many were read. */
size_t fl_faults_reaped_next(const fl_faults *f, uint64_t *cursor,
			     fl_reaped_end *out, size_t max, uint64_t *lost,
			     int ended);

/* The name of process pid from the agent's process table: the program it
 * registered with at or before before_ns (CLOCK_MONOTONIC), cut as the
 * kernel cuts a process's name (15 bytes). 1, or 0 when it never
 * registered (it did not run the agent) or its entry was reused. */
int fl_faults_proc_name(const fl_faults *f, pid_t pid, int64_t before_ns,
			char *name, size_t len);

/* Every process that registered: which run the agent now, which executed
 * another program (named) and which are gone. *out malloc'd; returns the
 * count. Entries of processes that are gone are released for reuse. */
int fl_faults_procs(fl_faults *f, fl_proc_info **out);

/* The agent's part of a target's results: whether it registered, its
 * close mode, the processes it ran in (and what those that executed
 * another program run now). Refreshes the process list if the target
 * still runs. */
json_t *fl_faults_json(fl_faults *f);
/* The footprint the samples of the first process were corrected by:
 * { fds, threads, bytes, tls_bytes, what }. */
json_t *fl_faults_footprint_json(const fl_faults *f);

/* Points whose names found no entry, and processes that found no room in
 * the process table (both 0 unless the tables overflowed). */
void fl_faults_lost(const fl_faults *f, uint64_t *points, uint64_t *procs);

#endif
