/* The fault journal: a ring in the shared fault region that the agent
 * writes every fired fault into, from whichever process of the target's
 * tree fired it (lib/agent_proto.h has the layout), drained here into plain
 * records, and what is computed from them: the digest that says whether
 * two runs failed the same calls, and the journal files replay reads. */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include <jansson.h>
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

typedef struct fl_journal {
	fl_journal_hdr *hdr;	/* in the fault region (harness/faults.c) */
	fl_journal_rec *recs;
} fl_journal;

/* Points the journal at the ring inside a fault region (the region that
 * fl_faults_create made); the region outlives the target and belongs to
 * its fl_faults. 0, or -EINVAL if region is not one. */
int fl_journal_attach(fl_journal *j, void *region, size_t size);
/* Forgets the ring (the region is unmapped by fl_faults_free). */
void fl_journal_close(fl_journal *j);

/* Moves completed records out of the ring, times made relative to
 * start_ns. Appends to *v (growing it); returns how many were added. */
size_t fl_journal_drain(fl_journal *j, int64_t start_ns, fl_jentry **v,
			size_t *n, size_t *cap);
uint64_t fl_journal_lost(const fl_journal *j);

/* One fired fault as replay and digests see it: no time, no pid. */
typedef struct fl_fault_rec {
	char point[112];
	char actor[FL_ACTOR_MAX];
	uint64_t n;
	int err;
	double t;		/* seconds, for people only */
} fl_fault_rec;

/* The digest of a set of faults: FNV-1a over "actor point n errno" lines
 * sorted by (actor, point, n). Sorts v. Writes 16 hex digits. */
void fl_journal_digest(fl_fault_rec *v, size_t n, char out[17]);
/* The same, restricted to one point. */
void fl_journal_digest_point(const fl_fault_rec *v, size_t n,
			     const char *point, char out[17]);

int fl_fault_rec_cmp(const void *a, const void *b);

/* A journal file: what `faultline replay` and `shrink` read. */
typedef struct fl_journal_file {
	char *scenario_file;
	int index;
	char *scenario_id;
	char *name;
	uint64_t seed;
	char *verdict;
	char **failed;		/* "what" of each failed expectation */
	int nfailed;
	fl_fault_rec *recs;
	size_t nrecs;
	uint64_t lost;
} fl_journal_file;

json_t *fl_journal_file_json(const fl_journal_file *f);
int fl_journal_file_load(const char *path, fl_journal_file *f, char *err,
			 size_t errlen);
void fl_journal_file_free(fl_journal_file *f);

#endif
