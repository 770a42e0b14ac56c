/* Leak forensics: what the fds and threads that appeared since the baseline
 * are, grouped so a person can read them at a glance
 * (for example 17 fds grouped as one glob of in-NNN.txt paths). */
#ifndef FL_FORENSICS_H
#define FL_FORENSICS_H

#include "procfs.h"

typedef struct fl_group {
	int count;
	char pattern[256];	/* a glob covering every member */
	char example[256];	/* one member as it is */
	char proc[64];		/* the process they are in ("worker pid 12"),
				 * or "" when the target is one process */
	char opened_at[160];	/* fds: where they were opened (every
				 * member the same), "" when unknown */
} fl_group;

/* Entries of fin that are not in base (same fd number and same target) and,
 * if again is given, are also in again (so an fd opened and closed between
 * two looks is not taken for a leak). skip_fd is left out (-1: none).
 * *out malloc'd; returns the count. */
int fl_forensics_new_fds(const fl_fd_entry *base, int nbase,
			 const fl_fd_entry *fin, int nfin,
			 const fl_fd_entry *again, int nagain, int skip_fd,
			 fl_fd_entry **out);

/* Threads of fin whose tid is not in base, leaving out skip_tid.
 * *out malloc'd; returns the count. */
int fl_forensics_new_threads(const fl_thread_entry *base, int nbase,
			     const fl_thread_entry *fin, int nfin,
			     int skip_tid, fl_thread_entry **out);

/* Groups fd targets: sockets and pipes by kind, paths by shape, each with a
 * glob; fds opened at different call sites (fl_fd_entry.opened_at) are
 * different groups. Sorted by count, largest first. *out malloc'd;
 * returns the count. */
int fl_forensics_group_fds(const fl_fd_entry *v, int n, fl_group **out);

/* Groups processes by name; the example names one with its pid. */
int fl_forensics_group_procs(const fl_proc_entry *v, int n, fl_group **out);

/* Groups threads by name and where they are blocked. */
int fl_forensics_group_threads(const fl_thread_entry *v, int n,
			       fl_group **out);

/* The glob covering two names: common prefix and suffix kept (cut back to a
 * non-alphanumeric boundary), the rest a '*'. Exposed for tests. */
void fl_forensics_merge_glob(const char *a, const char *b, char *out,
			     size_t outlen);

/* Writes "17 x /tmp/a.*, 2 x socket" into out, at most max_groups groups;
 * a group in a named process reads "worker pid 12: 3 x socket";
 * groups that know where they were opened read "17 x /tmp/a.*, opened at
 * fileproc.c:123 (process_batch); 2 x socket". */
void fl_forensics_summary(const fl_group *g, int n, int max_groups, char *out,
			  size_t outlen);

#endif
