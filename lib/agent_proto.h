/* What the harness and the in-target agent agree on: one shared memory
 * region and the environment that names it. Shared by harness/faults.c,
 * harness/journal.c and lib/agent.c.
 *
 * The harness creates the region (a memfd) before it spawns the target and
 * passes its descriptor in FL_SHM_FD. The agent maps it MAP_SHARED in its
 * constructor, before main(), and closes the descriptor (unless programs
 * the target executes inherit the agent). Every forked descendant shares
 * the mapping, so there is no control channel, no agent thread and no
 * agent descriptor: the harness writes rules into the region and every
 * process of the tree sees them at the next call; processes write their
 * registration, their counts and the faults they fired into it.
 *
 * Layout (offsets in the header; every part is a fixed-size array, so
 * nothing is ever allocated and nothing moves; the journal's records come
 * last, after the control part):
 *  - header: seed, close mode, inherit flag, counters, the armed list;
 *  - point table: one entry per point name ever called or named, appended
 *    by any process (or the harness) without a lock: claim an entry with a
 *    fetch-add, fill it, publish it with a compare-and-swap into an
 *    open-addressed index keyed by a hash of the name. Two processes that
 *    add the same name at once both fill an entry; the one whose swap
 *    loses marks its entry dead and uses the winner's;
 *  - rule pool: the decision rules of open windows. A point refers to a
 *    rule by (slot, version) in one 64-bit word; a deciding thread copies
 *    the rule and checks that its version did not change while it copied
 *    (a sequence lock read, never a wait), so it sees one consistent rule
 *    or none;
 *  - patterns: "prefix*" windows, applied by whoever adds a point later;
 *  - process table: one entry per process that runs the agent (pid, ppid,
 *    actor, program, start time, the agent's footprint in it);
 *  - reaped children: a ring of the ends a process of the tree learnt
 *    from its own wait for a child (pid, raw wait status, when, who
 *    reaped it), so the harness knows how a worker ended that its parent
 *    reaped before any sample saw the zombie, or that no sample ever saw
 *    at all (fl_shm_reaped);
 *  - journal: a ring of fixed-size records of fired faults, written
 *    without locks or allocation by the failing thread, drained by the
 *    harness; a thread that finds it full waits (bounded) for the
 *    harness to drain it (lib/agent_ring.h), so no record is dropped
 *    while the harness lives;
 *  - replay table: recorded (point, actor, n) -> errno, for replay;
 *  - call sites (only when the harness asks, site_cap > 0; after the
 *    journal's records, so a process maps them only when it first
 *    records): the modules frames are in, the sites (a calling context:
 *    the first return addresses as (module, offset)) with their counts,
 *    the site that created each fd of a process, and crash records.
 *
 * Call counts per thread stay private to each process (decisions must not
 * depend on other threads): see lib/agent.c.
 */
#ifndef FL_AGENT_PROTO_H
#define FL_AGENT_PROTO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FL_ENV_SHM_FD "FL_SHM_FD"
#define FL_AGENT_PROTO_VERSION 8
#define FL_ACTOR_MAX 40

#define FL_SHM_MAGIC 0x4d485346u /* "FSHM" */
#define FL_MAX_POINTS 512
#define FL_POINT_INDEX 2048	/* power of two, 4x the points */
#define FL_POINT_NAME_MAX 112
#define FL_MAX_RULES 256
#define FL_MAX_PATTERNS 32
#define FL_MAX_ARMED 32
#define FL_MAX_PROCS 512
#define FL_PROC_EXE_MAX 200
#define FL_NTH_MAX 16
/* The journal's ring, in records (80 bytes each): 320 KB of the region.
 * Every page of the region is made resident in the harness and in every
 * process of the target, which costs about 4 us a page on our 2-core VM:
 * at 32 768 records (2.6 MB) that was 3 ms of each scenario's start. A
 * full ring makes the writer wait for the drainer (nothing is lost), and
 * the drainer is rung at half full: 4 096 journals a fault at p = 1 as
 * fast as 32 768 did (make bench, section 14). */
#define FL_JOURNAL_CAPACITY 4096
/* The most a test or the bench may ask for (FL_TEST_JOURNAL_CAPACITY). */
#define FL_JOURNAL_CAPACITY_MAX 32768
/* How long a writer waits for room in a full journal before it counts its
 * record lost: long enough for any harness that is alive, short enough
 * that a stopped one never hangs the target for good. */
#define FL_JOURNAL_WAIT_NS (10 * 1000000000ULL)
/* Call sites: return addresses kept per site (the site's identity hashes
 * the first site_depth of them), the site table (a power of two), the
 * modules frames can be in, the processes whose fd origins are kept and
 * the fds each, and crash records. */
#define FL_SITE_FRAMES 8
#define FL_CRASH_FRAMES 16	/* a crash keeps more: an abort's own frames
				 * come first */
#define FL_SITE_DEPTH_DEFAULT 4
#define FL_MAX_SITES 4096
#define FL_MAX_MODULES 128
#define FL_MODULE_PATH_MAX 240
#define FL_ORIGIN_PROCS 32
#define FL_ORIGIN_FDS 4096
#define FL_MAX_CRASHES 16
/* Ends of children their parent reaped: a ring, the newest kept. A
 * master that restarts crashed workers in a loop overwrites the oldest;
 * the harness reads them as processes go (harness/tree.c), long before
 * that. A power of two. */
#define FL_MAX_REAPED 1024
#define FL_MODULE_NONE 0xffff

enum { FL_CLOSE_LINUX = 0, FL_CLOSE_LIBFIU = 1 };

/* ------------------------------------------------------------------ */
/* Hashes: the same in every process and in the harness.               */
/* ------------------------------------------------------------------ */

/* 64-bit mixing (the splitmix64 finaliser): good avalanche, no state. */
static inline uint64_t fl_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The hash decisions use for point and actor names (FNV-1a, mixed). It
 * is part of what a seed means: changing it changes which calls fail. */
static inline uint64_t fl_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return fl_mix64(h);
}

/* The point table's lookup key: eight bytes at a time, since it runs on
 * every call of every point. */
static inline uint64_t fl_name_key(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = fl_mix64(h ^ w);
		s += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, len);
	return fl_mix64(h ^ w ^ 0xff51afd7ed558ccdULL);
}

/* The decision hash of one call. */
static inline uint64_t fl_decision_hash(uint64_t seed, uint64_t point_hash,
					uint64_t actor_hash, uint64_t n)
{
	return fl_mix64(seed ^ fl_mix64(point_hash ^ fl_mix64(actor_hash ^ n)));
}

/* The replay table's key of a recorded call (never 0). */
static inline uint64_t fl_replay_key(uint64_t point_hash, uint64_t actor_hash,
				     uint64_t n)
{
	uint64_t k = fl_mix64(point_hash ^
			      fl_mix64(actor_hash ^
				       fl_mix64(n + 0x9e3779b97f4a7c15ULL)));
	return k ? k : 1;
}

/* A calling context: hash of the first depth frames, each (its module's
 * base-name hash, its offset in the module), so the same code gives the
 * same hash whatever the load addresses. Never 0. */
static inline uint64_t fl_stack_hash(const uint64_t *module_hash,
				     const uint64_t *offset, int depth)
{
	uint64_t h = 0x243f6a8885a308d3ULL;
	for (int i = 0; i < depth; i++)
		h = fl_mix64(h ^ fl_mix64(module_hash[i] ^ fl_mix64(offset[i])));
	return h ? h : 1;
}

/* A site's key in the site table: the point (its name hash) and the
 * stack; an fd's origin uses FL_ORIGIN_TAG for the point. Never 0. This
 * is a site's id for people too (16 hex digits). */
#define FL_ORIGIN_TAG 0x6f726967696e2121ULL /* "origin!!" */
static inline uint64_t fl_site_key(uint64_t point_hash, uint64_t stack)
{
	uint64_t k = fl_mix64(point_hash ^ fl_mix64(stack + 0x632be59bd9b4e019ULL));
	return k ? k : 1;
}

/* ------------------------------------------------------------------ */
/* The parts of the region.                                             */
/* ------------------------------------------------------------------ */

enum { FL_POINT_EMPTY = 0, FL_POINT_FILLING, FL_POINT_READY, FL_POINT_DEAD };

typedef struct fl_shm_point {
	_Atomic uint32_t state;
	_Atomic int32_t errclass;	/* the agent's errno family, -1: unknown */
	uint64_t key;			/* fl_name_key of the full name */
	uint64_t name_hash;		/* fl_hash_str of the full name */
	uint32_t len;			/* of the full name */
	_Atomic uint32_t triggers;	/* armed windows counting its calls */
	_Atomic uint64_t rule;		/* FL_RULE_REF, 0: decisions off */
	_Atomic uint64_t onetime;	/* the rule reference that fired once */
	_Atomic uint64_t calls;		/* calls while a window was open, every
					 * process */
	_Atomic uint64_t fired;		/* faults injected, every process */
	char name[FL_POINT_NAME_MAX];	/* truncated if longer */
	uint8_t pad[16];
} fl_shm_point;

/* A rule reference: (version << 16) | slot. Versions are even and >= 2,
 * so a reference is never 0. */
#define FL_RULE_REF(slot, version) (((uint64_t)(version) << 16) | (slot))
#define FL_RULE_SLOT(ref) ((uint32_t)((ref) & 0xffff))
#define FL_RULE_VERSION(ref) ((ref) >> 16)

/* What a deciding thread copies. Written only by the harness while the
 * slot's version is odd. */
typedef struct fl_rule_body {
	uint64_t threshold;		/* fail when hash < threshold */
	int32_t always;			/* p = 1 */
	int32_t err;			/* 0: derived from the hash */
	int32_t onetime;
	int32_t failnum;		/* what fiu_fail() returns */
	int32_t replay;			/* fail exactly the replay table's calls */
	int32_t nranges;		/* nth: ranges, plus every */
	int32_t has_nth;
	int32_t point;			/* the point it was enabled on (journal) */
	uint64_t every;
	uint64_t lo[FL_NTH_MAX], hi[FL_NTH_MAX];
	char actors[64];		/* glob over actor or thread name, or "" */
	/* An armed window: it opens at the trigger_n-th call of
	 * trigger_slot, by the actor whose name hashes to trigger_actor
	 * (that actor's own count, from its start) or by anyone (calls
	 * summed over every thread of every process since the window was
	 * armed). trigger_slot < 0: open from the start. */
	int32_t trigger_slot;
	int32_t pad;
	uint64_t trigger_n;
	uint64_t trigger_actor;
	/* The sweep (docs/sweep.md): FL_SWEEP_RECORD records the call site
	 * of every call the rule covers and fails none; FL_SWEEP_SITE fails
	 * exactly the site_nth-th call whose site key is site_key, made by
	 * the actor hashing to site_actor (0: anyone), once per run. */
	int32_t sweep;
	int32_t pad2;
	uint64_t site_key;
	uint64_t site_actor;
	uint64_t site_nth;
} fl_rule_body;

enum { FL_SWEEP_OFF = 0, FL_SWEEP_RECORD = 1, FL_SWEEP_SITE = 2 };

typedef struct fl_shm_rule {
	_Atomic uint64_t version;	/* odd: being written or free */
	/* For armed windows: (version & 0xffffff) << 40 | calls so far, and
	 * the version that opened it. Tagged so a late update from a thread
	 * that read an older rule cannot touch the new one. */
	_Atomic uint64_t trigger_count;
	_Atomic uint64_t opened;
	uint64_t pad;
	fl_rule_body body;
} fl_shm_rule;

typedef struct fl_shm_pattern {
	_Atomic uint64_t rule;		/* 0: free */
	char prefix[FL_POINT_NAME_MAX];	/* without the '*' */
	uint8_t pad[8];
} fl_shm_pattern;

enum { FL_PROC_FREE = 0, FL_PROC_CLAIMED, FL_PROC_LIVE };

typedef struct fl_shm_proc {
	_Atomic uint32_t state;
	int32_t pid;
	int32_t ppid;
	uint32_t images;		/* program images that registered */
	_Atomic uint32_t spawns;	/* children that registered without a
					 * fork record (posix_spawn, vfork) */
	uint32_t version;		/* FL_AGENT_PROTO_VERSION */
	uint64_t start_ticks;		/* /proc/PID/stat starttime */
	int64_t t_ns;			/* CLOCK_MONOTONIC at registration */
	/* The agent's footprint in this process: what the harness
	 * subtracts from its figures. */
	int32_t fds;			/* the region's fd, kept with inherit */
	int32_t fd;			/* its number, or -1 */
	int32_t threads;		/* always 0: the agent has none */
	int32_t pad;
	uint64_t bytes;			/* resident from registration on */
	uint64_t tls_bytes;		/* per thread */
	uint64_t map_start, map_end;	/* the region in this process */
	char actor[FL_ACTOR_MAX];	/* its main thread's actor */
	char exe[FL_PROC_EXE_MAX];	/* /proc/self/exe at registration */
	uint8_t pad2[24];
} fl_shm_proc;

/* The end of a child as its parent's wait returned it: written by the
 * agent in the reaping process right after the wait, from any context (a
 * SIGCHLD handler included: atomics only, no lock), read by the harness.
 * seq is a sequence lock tagged with the record's number: 2n+1 while the
 * n-th record is written, 2n+2 once it is complete, so a reader never
 * takes a torn or overwritten record for a whole one. */
typedef struct fl_shm_reaped {
	_Atomic uint64_t seq;
	_Atomic int64_t t_ns;		/* CLOCK_MONOTONIC right after the wait */
	_Atomic int32_t pid;		/* the child */
	_Atomic int32_t status;		/* a wait status: WIFEXITED/WIFSIGNALED */
	_Atomic int32_t reaper;		/* the process whose wait reaped it */
	uint32_t pad;
} fl_shm_reaped;

enum fl_journal_kind {
	FL_JREC_FAULT = 1,	/* a call was failed */
	FL_JREC_WINDOW = 2,	/* an armed window opened (after=...) */
};

typedef struct fl_journal_rec {
	_Atomic uint64_t seq;	/* index + 1 once the record is complete */
	uint64_t t_ns;		/* CLOCK_MONOTONIC */
	uint64_t n;		/* the actor's call number of the point */
	uint32_t kind;
	uint32_t slot;		/* the point's entry in the point table */
	int32_t err;
	uint32_t pid;
	char actor[FL_ACTOR_MAX];
} fl_journal_rec;

/* The ring's header. The writers and the reader are lib/agent_ring.h. */
typedef struct fl_journal_hdr {
	uint32_t capacity;		/* records (FL_JOURNAL_CAPACITY, or
					 * another for a test) */
	uint32_t record_size;
	_Atomic uint64_t write_idx;	/* records claimed by writers */
	_Atomic uint64_t read_idx;	/* records consumed by the harness */
	_Atomic uint64_t lost;		/* records that found no room within
					 * wait_ns: the run is an ERROR */
	/* Backpressure: a writer that finds the ring full waits, at most
	 * wait_ns (0: never), for the harness to drain it. */
	uint64_t wait_ns;
	_Atomic uint32_t doorbell;	/* futex: a writer asks for a drain */
	_Atomic uint32_t drained;	/* futex: the harness made room */
	_Atomic uint32_t waiters;	/* writers asleep on drained */
	_Atomic uint32_t stalled;	/* a wait ran out: nobody waits until
					 * the next drain */
	_Atomic uint64_t waits;		/* records that had to wait */
	_Atomic uint64_t waited_ns;	/* how long, summed */
	uint64_t reserved[2];
} fl_journal_hdr;

typedef struct fl_shm_replay {
	_Atomic uint64_t key;		/* fl_replay_key, 0: empty */
	int32_t err;
	uint32_t pad;
} fl_shm_replay;

/* What the agent records of call sites (hdr.site_flags). */
enum {
	FL_SITES_RECORD = 1,	/* sites of the calls FL_SWEEP_* rules cover */
	FL_SITES_ORIGINS = 2,	/* the site that created each fd */
	FL_SITES_CRASHES = 4,	/* where a crashing signal was raised */
};

/* A module frames can be in: an executable or shared object, by path. */
typedef struct fl_shm_module {
	_Atomic uint32_t state;		/* FL_POINT_EMPTY/FILLING/READY */
	uint32_t pad;
	uint64_t name_hash;		/* fl_hash_str of its base name */
	char path[FL_MODULE_PATH_MAX];
} fl_shm_module;

enum { FL_SITE_REACHED = 1, FL_SITE_ORIGIN = 2 };

/* One call site: claimed by a compare-and-swap on its key, filled, then
 * made READY; its counts grow from any process. */
typedef struct fl_shm_site {
	_Atomic uint64_t key;		/* fl_site_key, 0: empty */
	_Atomic uint32_t state;		/* FL_POINT_FILLING, FL_POINT_READY */
	_Atomic uint32_t flags;		/* FL_SITE_* */
	uint64_t stack;			/* fl_stack_hash */
	_Atomic uint64_t calls;		/* calls from it, every actor */
	_Atomic uint64_t actor_calls;	/* ...by its first actor */
	uint64_t actor_hash;		/* the first actor to reach it */
	int32_t point;			/* slot of its point, -1: an origin */
	uint32_t nframes;
	char actor[FL_ACTOR_MAX];
	char what[16];			/* an origin's function: "open" */
	uint16_t module[FL_SITE_FRAMES];	/* FL_MODULE_NONE: unknown */
	uint64_t offset[FL_SITE_FRAMES];	/* in the module (its vaddr) */
} fl_shm_site;

/* The sites that created the fds of one process: site index + 1 per fd
 * number (0: not known). A forked child starts from a copy of its
 * parent's. */
typedef struct fl_shm_origins {
	_Atomic int32_t pid;		/* 0: free */
	uint32_t pad;
	_Atomic uint32_t site[FL_ORIGIN_FDS];
} fl_shm_origins;

/* Where a process received a crashing signal (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT): the faulting instruction and its callers. */
typedef struct fl_shm_crash {
	_Atomic uint32_t state;		/* FL_POINT_FILLING, FL_POINT_READY */
	int32_t pid;
	int32_t sig;
	int32_t code;
	uint64_t addr;			/* si_addr */
	uint32_t nframes;
	uint32_t pad;
	char actor[FL_ACTOR_MAX];
	uint16_t module[FL_CRASH_FRAMES];
	uint64_t offset[FL_CRASH_FRAMES];
} fl_shm_crash;

typedef struct fl_shm_hdr {
	uint32_t magic;
	uint32_t version;		/* FL_AGENT_PROTO_VERSION */
	uint64_t size;			/* of the whole region */
	uint64_t off_points, off_index, off_rules, off_patterns, off_procs,
		off_reaped, off_journal, off_replay;
	/* The journal's records come last: everything before them is the
	 * control part, which every process maps in full from its start; the
	 * records are mapped by each process when it first journals. */
	uint64_t off_records;
	uint32_t replay_cap;		/* power of two, or 0 */
	uint32_t inherit;		/* programs the target executes keep
					 * the agent */
	uint64_t seed;
	_Atomic uint32_t close_mode;	/* FL_CLOSE_* */
	_Atomic uint32_t npoints;	/* point entries claimed */
	_Atomic uint64_t points_lost;	/* names that found no entry */
	_Atomic uint64_t procs_lost;	/* processes that found no entry */
	_Atomic uint32_t root_claimed;	/* a process registered as "0" */
	uint32_t pad;
	/* Rule slots (+1) of armed windows, for the calls that count. */
	_Atomic uint32_t armed[FL_MAX_ARMED];
	/* Call sites: where their tables are (after the journal's records;
	 * site_cap 0: none), what is recorded and how deep. */
	uint64_t off_modules, off_sites, off_origins, off_crashes;
	uint32_t site_cap;		/* entries of the site table, or 0 */
	uint32_t site_depth;		/* frames a site's identity hashes */
	_Atomic uint32_t site_flags;	/* FL_SITES_* */
	_Atomic uint32_t nmodules;
	_Atomic uint64_t sites_lost;	/* sites that found no entry */
	_Atomic uint64_t modules_lost;
	_Atomic uint64_t origins_lost;	/* fds beyond the origin tables */
	_Atomic uint32_t site_fired;	/* an FL_SWEEP_SITE rule fired */
	_Atomic uint32_t ncrashes;
	_Atomic uint64_t site_calls;	/* its calls by anyone (site_actor 0) */
	_Atomic uint64_t nreaped;	/* records ever claimed in the reaped
					 * ring */
} fl_shm_hdr;

/* Pointers into a mapped region. */
typedef struct fl_shm_view {
	fl_shm_hdr *hdr;
	fl_shm_point *points;
	_Atomic uint32_t *index;
	fl_shm_rule *rules;
	fl_shm_pattern *patterns;
	fl_shm_proc *procs;
	fl_shm_reaped *reaped;
	fl_journal_hdr *jhdr;
	fl_journal_rec *jrecs;
	fl_shm_replay *replay;
	fl_shm_module *modules;		/* these four NULL without sites */
	fl_shm_site *sites;
	fl_shm_origins *origins;
	fl_shm_crash *crashes;
} fl_shm_view;

static inline size_t fl_shm_align(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* Fills in the header's layout for a region with room for replay_records
 * recorded calls, and the call-site tables when sites is set; returns the
 * region's size. */
static inline size_t fl_shm_layout(fl_shm_hdr *h, size_t replay_records,
				   int sites, uint32_t journal_cap)
{
	uint32_t cap = 0;
	if (replay_records) {
		cap = 64;
		while (cap < replay_records * 2)
			cap *= 2;
	}
	size_t off = fl_shm_align(sizeof(fl_shm_hdr));
	h->off_points = off;
	off = fl_shm_align(off + FL_MAX_POINTS * sizeof(fl_shm_point));
	h->off_index = off;
	off = fl_shm_align(off + FL_POINT_INDEX * sizeof(uint32_t));
	h->off_rules = off;
	off = fl_shm_align(off + FL_MAX_RULES * sizeof(fl_shm_rule));
	h->off_patterns = off;
	off = fl_shm_align(off + FL_MAX_PATTERNS * sizeof(fl_shm_pattern));
	h->off_procs = off;
	off = fl_shm_align(off + FL_MAX_PROCS * sizeof(fl_shm_proc));
	h->off_reaped = off;
	off = fl_shm_align(off + FL_MAX_REAPED * sizeof(fl_shm_reaped));
	h->off_journal = off;
	off = fl_shm_align(off + sizeof(fl_journal_hdr));
	h->off_replay = off;
	off = fl_shm_align(off + (size_t)cap * sizeof(fl_shm_replay));
	h->off_records = off;
	off = fl_shm_align(off + (size_t)journal_cap * sizeof(fl_journal_rec));
	h->replay_cap = cap;
	h->site_cap = 0;
	h->off_modules = h->off_sites = h->off_origins = h->off_crashes = 0;
	if (sites) {
		h->off_modules = off;
		off = fl_shm_align(off + FL_MAX_MODULES * sizeof(fl_shm_module));
		h->off_sites = off;
		off = fl_shm_align(off + FL_MAX_SITES * sizeof(fl_shm_site));
		h->off_origins = off;
		off = fl_shm_align(off + FL_ORIGIN_PROCS * sizeof(fl_shm_origins));
		h->off_crashes = off;
		off = fl_shm_align(off + FL_MAX_CRASHES * sizeof(fl_shm_crash));
		h->site_cap = FL_MAX_SITES;
	}
	h->size = off;
	return off;
}

/* Sets up a view of a mapped region; 0, or -1 if it is not one. */
static inline int fl_shm_view_of(void *base, size_t mapped, fl_shm_view *v)
{
	fl_shm_hdr *h = base;
	if (mapped < sizeof *h || h->magic != FL_SHM_MAGIC ||
	    h->version != FL_AGENT_PROTO_VERSION || h->size > mapped)
		return -1;
	char *b = base;
	v->hdr = h;
	v->points = (fl_shm_point *)(b + h->off_points);
	v->index = (_Atomic uint32_t *)(b + h->off_index);
	v->rules = (fl_shm_rule *)(b + h->off_rules);
	v->patterns = (fl_shm_pattern *)(b + h->off_patterns);
	v->procs = (fl_shm_proc *)(b + h->off_procs);
	v->reaped = (fl_shm_reaped *)(b + h->off_reaped);
	v->jhdr = (fl_journal_hdr *)(b + h->off_journal);
	v->jrecs = (fl_journal_rec *)(b + h->off_records);
	v->replay = h->replay_cap ? (fl_shm_replay *)(b + h->off_replay) : NULL;
	v->modules = h->site_cap ? (fl_shm_module *)(b + h->off_modules) : NULL;
	v->sites = h->site_cap ? (fl_shm_site *)(b + h->off_sites) : NULL;
	v->origins = h->site_cap ? (fl_shm_origins *)(b + h->off_origins) : NULL;
	v->crashes = h->site_cap ? (fl_shm_crash *)(b + h->off_crashes) : NULL;
	return 0;
}

/* Does entry p hold this name? */
static inline int fl_shm_point_is(const fl_shm_point *p, const char *name,
				  size_t len, uint64_t key)
{
	if (p->key != key || p->len != len)
		return 0;
	size_t cmp = len < FL_POINT_NAME_MAX ? len : FL_POINT_NAME_MAX - 1;
	return memcmp(p->name, name, cmp) == 0;
}

/* The entry of a point name: found, or added when create is set. Runs in
 * every call of every point, in any process, with no lock and no
 * allocation. *created is set when this call added it. -1: not found, or
 * the table is full (counted in points_lost). */
static inline int fl_shm_point_get(const fl_shm_view *v, const char *name,
				   int create, int *created)
{
	size_t len = strlen(name);
	uint64_t key = fl_name_key(name, len);
	uint32_t mask = FL_POINT_INDEX - 1;
	int mine = -1;
	if (created)
		*created = 0;
	for (uint32_t i = 0; i < FL_POINT_INDEX; i++) {
		_Atomic uint32_t *cell = &v->index[(key + i) & mask];
		uint32_t c = atomic_load_explicit(cell, memory_order_acquire);
		if (c == 0) {
			if (!create)
				return -1;
			if (mine < 0) {
				/* Claimed only while there is room, so the count
				 * never runs past the table. */
				uint32_t n = atomic_load(&v->hdr->npoints);
				do {
					if (n >= FL_MAX_POINTS) {
						atomic_fetch_add(&v->hdr->points_lost, 1);
						return -1;
					}
				} while (!atomic_compare_exchange_weak(
					&v->hdr->npoints, &n, n + 1));
				fl_shm_point *p = &v->points[n];
				atomic_store_explicit(&p->state, FL_POINT_FILLING,
						      memory_order_relaxed);
				p->key = key;
				p->len = (uint32_t)len;
				p->name_hash = fl_hash_str(name);
				size_t cp = len < FL_POINT_NAME_MAX
						    ? len
						    : FL_POINT_NAME_MAX - 1;
				memcpy(p->name, name, cp);
				p->name[cp] = '\0';
				atomic_store_explicit(&p->errclass, -1,
						      memory_order_relaxed);
				mine = (int)n;
			}
			uint32_t want = (uint32_t)mine + 1;
			if (atomic_compare_exchange_strong(cell, &c, want)) {
				atomic_store(&v->points[mine].state,
					     FL_POINT_READY);
				if (created)
					*created = 1;
				return mine;
			}
			/* Someone else filled this cell first: is it ours? */
		}
		if (c - 1 >= FL_MAX_POINTS)
			continue;
		if (fl_shm_point_is(&v->points[c - 1], name, len, key)) {
			if (mine >= 0)
				atomic_store(&v->points[mine].state,
					     FL_POINT_DEAD);
			return (int)(c - 1);
		}
	}
	if (mine >= 0)
		atomic_store(&v->points[mine].state, FL_POINT_DEAD);
	return -1;
}

/* Copies the rule a reference names. 1 if the copy is consistent and the
 * reference still current, 0 if the rule was replaced or freed meanwhile
 * (the caller treats that as no rule). *opened says whether an armed
 * window has opened. */
static inline int fl_shm_rule_read(const fl_shm_view *v, uint64_t ref,
				   fl_rule_body *out, int *opened)
{
	uint32_t slot = FL_RULE_SLOT(ref);
	uint64_t ver = FL_RULE_VERSION(ref);
	if (slot >= FL_MAX_RULES)
		return 0;
	fl_shm_rule *r = &v->rules[slot];
	if (atomic_load_explicit(&r->version, memory_order_acquire) != ver)
		return 0;
	/* The copy may race with the harness rewriting the slot; the
	 * version check after it tells, and a torn copy is never used. */
	memcpy(out, (const void *)&r->body, sizeof *out);
	*opened = atomic_load_explicit(&r->opened, memory_order_relaxed) == ver;
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&r->version, memory_order_relaxed) == ver;
}

/* Records the end of a reaped child (status as wait returns it). Lock
 * free and async-signal-safe: a claim with one fetch-add, the fields
 * under the record's sequence lock. */
static inline void fl_shm_reaped_put(const fl_shm_view *v, int32_t pid,
				     int32_t status, int32_t reaper,
				     int64_t t_ns)
{
	uint64_t n = atomic_fetch_add(&v->hdr->nreaped, 1);
	fl_shm_reaped *r = &v->reaped[n & (FL_MAX_REAPED - 1)];
	atomic_store_explicit(&r->seq, 2 * n + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&r->pid, pid, memory_order_relaxed);
	atomic_store_explicit(&r->status, status, memory_order_relaxed);
	atomic_store_explicit(&r->reaper, reaper, memory_order_relaxed);
	atomic_store_explicit(&r->t_ns, t_ns, memory_order_relaxed);
	atomic_store_explicit(&r->seq, 2 * n + 2, memory_order_release);
}

/* One record of the ring, as read. */
typedef struct fl_reaped_rec {
	int32_t pid, status, reaper;
	int64_t t_ns;
} fl_reaped_rec;

/* Reads the n-th record (counted from 0, of the nreaped claimed so far).
 * 1: *out is that record; 0: not complete yet (being written, or its
 * writer died in the middle); -1: overwritten (a later record claimed its
 * slot), so it never will be read. */
static inline int fl_shm_reaped_get(const fl_shm_view *v, uint64_t n,
				    fl_reaped_rec *out)
{
	const fl_shm_reaped *r = &v->reaped[n & (FL_MAX_REAPED - 1)];
	uint64_t want = 2 * n + 2;
	uint64_t seq = atomic_load_explicit(&r->seq, memory_order_acquire);
	if (seq != want)
		return seq > want ? -1 : 0;
	out->pid = atomic_load_explicit(&r->pid, memory_order_relaxed);
	out->status = atomic_load_explicit(&r->status, memory_order_relaxed);
	out->reaper = atomic_load_explicit(&r->reaper, memory_order_relaxed);
	out->t_ns = atomic_load_explicit(&r->t_ns, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
	return seq == want ? 1 : -1;
}

#endif
