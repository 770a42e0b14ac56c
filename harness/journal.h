/* The fault journal: a ring in the shared fault region that the agent
 * writes every fired fault into, from whichever process of the target's
 * tree fired it (lib/agent_proto.h has the layout), drained here into plain
 * records, and what is computed from them: the digest that says whether
 * two runs failed the same calls, and the journal files replay reads. */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/agent_proto.h"

typedef struct fl_jentry {
	int64_t t_ns;		/* since the target started */
	uint32_t kind;		/* FL_JREC_FAULT or FL_JREC_WINDOW */
	uint32_t slot;
	uint64_t n;
	int32_t err;
	uint32_t pid;
	char actor[FL_ACTOR_MAX];
} fl_jentry;

/* How the harness drains (a test hook, FL_TEST_JOURNAL_DRAIN): as the
 * agent asks and at least every period (the default), only when a
 * writer is waiting for room ("waiters": every full ring makes a writer
 * wait), or only at the end ("end": a full ring stays full). */
enum { FL_JOURNAL_DRAIN_PROMPT = 0, FL_JOURNAL_DRAIN_WAITERS,
       FL_JOURNAL_DRAIN_END };

typedef struct fl_journal {
	fl_journal_hdr *hdr;	/* in the fault region (harness/faults.c) */
	fl_journal_rec *recs;
	/* The drainer: a thread that empties the ring into the caller's
	 * vector, under the caller's lock, whenever a writer rings and at
	 * least every period. */
	pthread_t pump;
	int pump_running;
	_Atomic int pump_stop;
	int drain_mode;
	pthread_mutex_t *lock;
	int64_t start_ns, period_ns;
	fl_jentry **v;
	size_t *n, *cap;
	/* Records claimed but never published: their writer died in the
	 * middle (its call never returned), counted by the last drain. */
	uint64_t torn;
} fl_journal;

/* What the run's journal says about itself. */
typedef struct fl_journal_stats {
	uint64_t lost;		/* found no room within the bound: ERROR */
	uint64_t torn;		/* writer died while writing */
	uint64_t waits;		/* records whose writer waited for room */
	uint64_t waited_ns;	/* the target's time spent waiting */
	uint64_t wait_ns;	/* the bound on one record's wait */
} fl_journal_stats;

/* The ring's capacity in records for a new fault region:
 * FL_JOURNAL_CAPACITY, or FL_TEST_JOURNAL_CAPACITY (2 to
 * FL_JOURNAL_CAPACITY_MAX) for the tests and the bench (docs/hacking.md). */
uint32_t fl_journal_capacity(void);

/* Sets up the journal's header in a new fault region (harness/faults.c),
 * laid out for cap records: its capacity and how long a writer waits for
 * room. FL_TEST_JOURNAL_WAIT_MS (0: never wait) changes the wait for the
 * tests. */
void fl_journal_init_region(fl_journal_hdr *h, uint32_t cap);

/* Points the journal at the ring inside a fault region (the region that
 * fl_faults_create made); the region outlives the target and belongs to
 * its fl_faults. 0, or -EINVAL if region is not one. */
int fl_journal_attach(fl_journal *j, void *region, size_t size);
/* Forgets the ring (the region is unmapped by fl_faults_free); stops the
 * drainer if it still runs. */
void fl_journal_close(fl_journal *j);

/* Starts the drainer: it appends to *v (growing it) under lock, times
 * made relative to start_ns, when a writer rings and at least every
 * period_ns. 0 or -errno. */
int fl_journal_pump_start(fl_journal *j, pthread_mutex_t *lock,
			  int64_t start_ns, fl_jentry **v, size_t *n,
			  size_t *cap, int64_t period_ns);
/* Stops the drainer and waits for it (the caller drains last). */
void fl_journal_pump_stop(fl_journal *j);

/* Moves completed records out of the ring, times made relative to
 * start_ns. Appends to *v (growing it); returns how many were added.
 * The caller makes sure only one thread drains at a time (the monitor
 * and the drainer hold the session's lock). Under the test hooks
 * "waiters" and "end" only the drainer and the last drain drain. */
size_t fl_journal_drain(fl_journal *j, int64_t start_ns, fl_jentry **v,
			size_t *n, size_t *cap);
/* The last drain, once every process that could write is gone: a record
 * claimed but never published is skipped and counted in torn. */
size_t fl_journal_drain_final(fl_journal *j, int64_t start_ns, fl_jentry **v,
			      size_t *n, size_t *cap);
void fl_journal_get_stats(const fl_journal *j, fl_journal_stats *st);

/* One fired fault as replay and digests see it: no time, no pid. In a
 * journal file, a run of them: count consecutive calls n, n+1, ...,
 * n+count-1 of one actor and one point, failed with one errno. */
typedef struct fl_fault_rec {
	char point[112];
	char actor[FL_ACTOR_MAX];
	uint64_t n;
	int err;
	double t;		/* seconds, for people only */
	uint64_t count;		/* calls in the run; 0 or 1: one call */
	double t_last;		/* the run's last call */
} fl_fault_rec;

/* The most calls a journal file may expand to: replay and shrink hold
 * every call in memory (about 200 bytes each). */
#define FL_JOURNAL_CALLS_MAX (4u * 1024 * 1024)

/* Folds calls (in time order) into runs: a call joins the run its actor
 * made last when it has the same point and errno and the next call
 * number. Returns the runs (in the order of their first calls, the
 * caller frees them) and their number in *nruns. Expanding them gives
 * back exactly the calls. */
fl_fault_rec *fl_journal_fold(const fl_fault_rec *v, size_t n, size_t *nruns);
/* The same, a call (or a run) at a time: start from a zeroed folder. */
struct fl_last_run {
	uint64_t hash;
	size_t run;		/* index + 1; 0: empty */
};
typedef struct fl_journal_folder {
	fl_fault_rec *runs;
	size_t n, cap;
	struct fl_last_run *table;	/* actor -> its last run */
	size_t size, used;
} fl_journal_folder;
void fl_journal_folder_add(fl_journal_folder *f, const fl_fault_rec *call);
/* The runs (the caller frees them); the folder is empty again. */
fl_fault_rec *fl_journal_folder_take(fl_journal_folder *f, size_t *nruns);
/* The calls of a journal's records (runs or single calls), each run
 * expanded, in the records' order. 0, or -EINVAL with a message in err
 * (prefixed with what) for an incomplete record or more than
 * FL_JOURNAL_CALLS_MAX calls. */
int fl_journal_calls_of(json_t *records, const char *what, fl_fault_rec **out,
			size_t *n, char *err, size_t errlen);

/* The digest of a set of faults: FNV-1a over "actor point n errno" lines
 * sorted by (actor, point, n), one line per call (a journal file's runs
 * are expanded first, so folding never changes a digest). Sorts v.
 * Writes 16 hex digits. */
void fl_journal_digest(fl_fault_rec *v, size_t n, char out[17]);
/* The same, restricted to one point. */
void fl_journal_digest_point(const fl_fault_rec *v, size_t n,
			     const char *point, char out[17]);

int fl_fault_rec_cmp(const void *a, const void *b);

/* A journal file: what `faultline replay` and `shrink` read. Version 2
 * has run-length records (count, t_last); version 1 files are read as
 * they are (every record one call). */
#define FL_JOURNAL_SCHEMA_VERSION 2
typedef struct fl_journal_file {
	char *scenario_file;
	int index;
	char *scenario_id;
	char *name;
	uint64_t seed;
	char *verdict;
	char **failed;		/* "what" of each failed expectation */
	int nfailed;
	fl_fault_rec *recs;	/* calls, or runs (written as they are) */
	size_t nrecs;
	uint64_t lost;
} fl_journal_file;

/* The file's JSON: its records as they are in f (fold them first for a
 * short file). */
json_t *fl_journal_file_json(const fl_journal_file *f);
/* Reads a journal file; its recs are the calls, runs expanded. */
int fl_journal_file_load(const char *path, fl_journal_file *f, char *err,
			 size_t errlen);
void fl_journal_file_free(fl_journal_file *f);

#endif
