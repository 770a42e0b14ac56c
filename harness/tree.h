/* A target as a tree of processes: the process faultline started and all
 * its descendants, including those that leave its process group or its
 * session. Each process is sampled in O(1) (sampler.c) and the tree is
 * summed; a process count is a figure of its own, so a fork leak is a
 * leak.
 *
 * Finding the descendants, without reading every thread's children file
 * at every sample (that costs O(threads)):
 *   - new pids: the kernel hands out pids in order, and /proc/loadavg
 *     names the last one. When it moved, each pid handed out since is
 *     looked at once (its parent, from task/PID/stat, O(1)); a child of a
 *     member is a member. Threads take pids too; pidfd_open refuses them.
 *     One read of /proc/loadavg per round when nothing was created.
 *   - orphans: faultline is a child subreaper (PR_SET_CHILD_SUBREAPER),
 *     so a descendant whose parent exits (the double fork of a daemon)
 *     becomes faultline's child instead of init's. Faultline's children
 *     that are no target are orphans of some target: the one whose marker
 *     (FL_TARGET=<root pid>, in the environment every target starts with)
 *     is in its environment, or the only target running.
 *   - a full walk (task/TID/children of every member, and faultline's
 *     own children), when the target starts, before the snapshots and
 *     at the end: exact at the moments that are judged.
 * Other sources (a cgroup, the registry the in-target agent may keep of
 * the processes that run it) fit as callers of fl_tree_add.
 *
 * A tree belongs to its session: the monitor thread samples and extends
 * it under the session's lock, the scenario thread reads it under the
 * same lock, and once the session is out of the monitor it is the
 * scenario thread's alone (fl_tree_end). */
#ifndef FL_TREE_H
#define FL_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "faults.h"
#include "judge.h"
#include "sampler.h"

#include "target.h"

/* The environment variable whose value is the root's pid (target.c
 * adds it to every target's environment). */
#define FL_TREE_MARKER FL_TARGET_MARKER

enum fl_member_state {
	FL_MEMBER_LIVE = 0,
	FL_MEMBER_ZOMBIE,		/* exited, not reaped yet: still a process */
	FL_MEMBER_GONE,		/* reaped */
};

/* Where the end of a process was learnt (results' end_from). */
enum fl_end_from {
	FL_END_WAIT = 0,	/* faultline's own wait, or the zombie's stat */
	FL_END_PARENT,		/* its parent's wait, recorded by the agent */
	FL_END_AGENT,		/* the agent's crash record (a sweep) */
	FL_END_FROM_COUNT
};

/* "wait", "parent", "agent". */
const char *fl_end_from_name(int from);

typedef struct fl_member {
	pid_t pid, ppid;
	char comm[32];
	unsigned long long starttime;	/* clock ticks after boot: identity */
	int pidfd;		/* -1 for the root (its child's pidfd) */
	fl_sampler sampler;	/* owns /proc/PID */
	int sampler_ok;
	enum fl_member_state state;
	int is_root;
	int left_group;		/* its process group is not the root's */
	int left_session;	/* its session is not the root's */
	int killed;		/* faultline killed it at the end */
	/* How it ended, when that is known: from waitid for those faultline
	 * reaped, from its zombie's stat (field 52) for those whose parent
	 * reaps them, from the parent's own wait (the agent's record) when
	 * the parent reaped it before any sample saw the zombie, or from
	 * the agent's crash record in a sweep; unknown when none says. The
	 * root's is its session's (fl_child). */
	int end_known;
	int end_signal;		/* killed by this signal; 0: it exited */
	int end_code;		/* its exit status when it exited */
	int end_core;		/* the signal dumped core */
	int end_from;		/* enum fl_end_from: where it was learnt */
	int parent_looked;	/* the parent's records were looked at once
				 * since it went */
	int end_expected;	/* the script judged this end itself
				 * (t:expect{pid=..., signal=...}) */
	uint64_t sent_signals;	/* the script sent it these with
				 * t:signal(name, pid) (bit sig - 1) */
	pid_t reaper;		/* the process whose wait reaped it, when
				 * its record told the end; else 0 */
	int unseen;		/* no sample ever saw it: it lived and was
				 * reaped between two rounds, and is known
				 * from its parent's record alone (found and
				 * exited are the record's moment; comm is
				 * "" when no name is known) */
	int crashed;		/* killed by a signal faultline did not
				 * send (fl_instance_judge_ends) */
	int crash_reported;	/* its survival failure is recorded */
	int64_t first_ns;	/* found, since the target started */
	int64_t exit_ns;	/* seen exited, or -1 */
	int64_t v[FL_FIG_COUNT];	/* its latest figures (-1: none yet) */
	int64_t peak[FL_FIG_COUNT];
	int has_base;		/* base holds its own baseline */
	int64_t base[FL_FIG_COUNT];
	/* What the agent holds in it (fl_faults_footprint), looked at
	 * again every FL_TREE_FOOTPRINT_NS: left out of its figures. */
	fl_footprint fp;
	int64_t fp_ns;		/* monotonic, when it was looked at; 0 never */
} fl_member;

/* How often each process's footprint is looked at again (a look at
 * map_files costs more than a sample). */
#define FL_TREE_FOOTPRINT_NS (50 * 1000000LL)

/* Reaped processes kept for the report beyond which the oldest are
 * dropped: a target that forks thousands of short-lived children costs
 * no more to sample than one with a few. What the dropped ones' ends say
 * for survival is kept as counts (fl_tree.dropped). */
#define FL_TREE_KEEP_GONE 64

/* What the survival rule (fl_instance_judge_ends) looks at in one
 * process's end: the same for a process of the tree and for the counts
 * of those dropped. */
typedef struct fl_end_key {
	int sig;		/* the signal that killed it (never 0) */
	int after_stop;		/* it ended once the stop was asked for */
	int killed;		/* faultline killed it at the end */
	int expected;		/* the script judged it (t:expect{pid=}) */
	int sent;		/* the script sent it that very signal
				 * (t:signal(name, pid)) */
} fl_end_key;

/* The ends of the dropped processes that a signal killed, counted by
 * what the rule looks at. */
typedef struct fl_end_count {
	fl_end_key key;
	uint64_t n;
} fl_end_count;

/* The most recently dropped processes, kept to know a record of their
 * parent's wait that comes after they were dropped for theirs. */
#define FL_TREE_RECENT_DROPS 256

typedef struct fl_tree {
	fl_member *procs;		/* in the order found; [0] is the root */
	size_t n, cap;
	pid_t pgid, sid;	/* the root's */
	int64_t start_ns;	/* monotonic: the root's fork */
	int ending;		/* the scenario thread is ending it */
	int ended;		/* fl_tree_end killed every process of it:
				 * none is left to write the agent's rings */
	uint64_t sample_errors;
	uint64_t batch_reads;	/* process samples read from a batch */
	size_t found_orphans;	/* members found as faultline's children */
	size_t seen;		/* processes ever found, the root included;
				 * procs keeps the reaped ones only while
				 * they are few (FL_TREE_KEEP_GONE) */
	size_t unseen;		/* of them, those no sample saw (known from
				 * their parent's record alone) */
	int64_t stop_ns;	/* since start: when the stop was asked
				 * for; -1 until then */
	/* The ring of reaped children (fl_faults_reaped_next): where the
	 * next read starts, and the records lost unread (the scenario is
	 * then an ERROR: harness/scenario.c). */
	uint64_t reaped_cursor, reaped_lost;
	/* A test knob (FL_TEST_REAPED_READ=end, docs/hacking.md): the ring
	 * is read only once the tree has ended, so more reaps than it holds
	 * lose records for certain. */
	int reaped_read_at_end;
	/* The ends the processes compact() dropped said, for survival. */
	fl_end_count *dropped;
	size_t ndropped, dropped_procs;
	struct {
		pid_t pid;
		int64_t first_ns;
		int end_unknown;	/* its parent's record is to come */
	} recent_drops[FL_TREE_RECENT_DROPS];
	size_t nrecent_drops;	/* ever dropped; the newest are kept */
} fl_tree;

/* Starts a tree at its root: pid, its /proc/PID (taken over) and its pidfd
 * (borrowed). Reads the test knob FL_TEST_REAPED_READ. 0 or -errno (the
 * root cannot be sampled). */
int fl_tree_init(fl_tree *t, pid_t pid, int procfd, int pidfd,
		 int64_t start_ns);
/* Closes what the processes hold. */
void fl_tree_free(fl_tree *t);

/* Samples every process of the tree once: each process's figures less
 * what the agent holds in it (faults, or NULL: nothing), their sums into
 * out (fds, threads, RSS and procs; the caller adds files and the time),
 * the sum of RSS as the processes see it into *raw_rss (the OOM
 * precursor's), exits noticed (a process whose pidfd says it exited is a
 * zombie until its parent reaps it; faultline reaps those it adopted).
 * Returns the processes counted, or -ESRCH when the root has exited.
 * batch (or NULL): the figures of the processes fl_tree_batch_pids named,
 * read together (harness/bpfsample.h); a process is read from /proc when
 * it has no entry there or the entry's start time is not its own. */
struct fl_bpfs_ent;
int fl_tree_sample(fl_tree *t, int64_t now_ns, struct fl_faults *faults,
		   const struct fl_bpfs_ent *batch, size_t nbatch,
		   fl_sample *out, int64_t *raw_rss);

/* Writes the pids of the processes a sample reads into out (up to cap of
 * them; out may be NULL). Returns how many there are. */
size_t fl_tree_batch_pids(const fl_tree *t, struct fl_bpfs_ent *out,
			  size_t cap);

/* For judging per process: the process furthest from its own baseline
 * for each figure under st (processes found after the baseline count
 * from zero). */
void fl_tree_worst(const fl_tree *t, const fl_steady *st, fl_worst *out);

/* Records each live process's latest figures as its own baseline. */
void fl_tree_set_baseline(fl_tree *t);

/* Is pid a process of the tree that is not reaped? Its index, or -1. */
long fl_tree_find(const fl_tree *t, pid_t pid);

/* Adds pid as a member (a child of ppid, or an orphan when ppid is not a
 * member). pidfd is taken over. 0, or -errno (it is already gone). */
int fl_tree_add(fl_tree *t, pid_t pid, int pidfd, int64_t now_ns);

/* The full walk: the children of every live member, added until none is
 * new. Returns how many were added. */
int fl_tree_walk(fl_tree *t, int64_t now_ns);

/* Has a pid been handed out since the last round of discovery? (One read
 * of /proc/loadavg.) */
int fl_tree_pids_moved(void);

/* Discovery across the trees of every running target (the monitor's, at
 * each round): the pids handed out since the last round, and faultline's
 * own children that no tree knows. full: also read faultline's children
 * (otherwise only when a pid was handed out to one of them). */
void fl_tree_discover(fl_tree **trees, size_t ntrees, int full,
		      int64_t now_ns);

/* How many processes of the tree other than the root were alive at the
 * last look. */
int fl_tree_live_others(const fl_tree *t);

/* The end of a target: a last full walk, then every live process of the
 * tree is killed (SIGKILL through its pidfd), waited for at most
 * wait_ns, and reaped where faultline adopted it; those that left the
 * root's group or session are marked. Returns how many processes were
 * killed. The tree must be out of the monitor or marked ending. It is
 * then ended: every process of it was sent SIGKILL (or was gone), so
 * none runs another instruction of the agent. */
int fl_tree_end(fl_tree *t, int64_t wait_ns);

/* The processes faultline killed at the end that had left the root's
 * group or session: how many, and the sentence that names them ("1
 * process left the target's session: sleep (pid 123), killed"; "" when
 * none). */
int fl_tree_escapees(const fl_tree *t, char *msg, size_t len);

/* The ends its parent's wait recorded (fl_faults_reaped) of the
 * processes that went without faultline seeing how: each such member
 * takes the record's status (end_from FL_END_PARENT). again: look at
 * every such member (else only at those not looked at yet; the monitor
 * looks once as each goes, the judgement again, since the record follows
 * the parent's wait by a moment). Returns how many were settled. */
int fl_tree_settle_ends(fl_tree *t, const struct fl_faults *faults,
			int again);

/* The records of its parent's wait for a process of the tree that no
 * sample saw (a worker that crashed at once, between two rounds): every
 * record of the ring (fl_faults_reaped_next) whose pid is no process the
 * tree found before that moment becomes a member that is gone (unseen,
 * parent the reaping process, end_from FL_END_PARENT). A record's pid
 * names such a process only once: the ring is read once, in order. Every
 * process that writes the ring is of this tree (the region is this run's
 * alone), and records from before its start are left out. Records the
 * ring lost are counted in reaped_lost; once the tree has ended, a record
 * still being written is one of them (its writer died in the middle).
 * With the test knob (reaped_read_at_end), nothing is read before the
 * tree has ended. Returns how many were added. */
int fl_tree_take_reaped(fl_tree *t, const struct fl_faults *faults);

/* What the survival rule looks at in member p's end: 1 with *k, or 0
 * when there is nothing to judge (the root, an end not known, an exit). */
int fl_tree_end_key(const fl_tree *t, const fl_member *p, fl_end_key *k);

/* Sends sig to process pid of the tree (through its pidfd, so never to
 * another process that took its pid) and records that the script sent
 * it (fl_member.sent_signals). 0, -ESRCH when pid is no live process of
 * the tree but the first (or is a zombie), or -errno. */
int fl_tree_signal(fl_tree *t, pid_t pid, int sig);

/* Looks at member i now: if its pidfd says it exited, it is marked
 * exited (and its end noted) as a sample would. */
void fl_tree_look(fl_tree *t, size_t i, int64_t now_ns);

/* A full walk, then a look at each member: before the stop's signal,
 * what crashed since the last round is found while its parent still
 * keeps it a zombie. */
void fl_tree_check(fl_tree *t, int64_t now_ns);

/* Re-reads each live process's name, parent, group and session (the
 * snapshots and the end use it). */
void fl_tree_refresh(fl_tree *t);

/* Faultline's own setup: becomes the child subreaper (call once, before
 * any target starts). 0 or -errno. */
int fl_tree_become_subreaper(void);
/* Kills and reaps adopted processes that no tree claimed (at the end of
 * a run). */
void fl_tree_end_strays(void);

#endif
