/* What changed between two snapshots of a target's processes
 * (snapshot.h): what two looks have in common, what is new and what is
 * gone, grouped per process when there are several. Pure functions on the
 * snapshots (no /proc, no lock): the one rule of what "the same fd" and
 * "the same process" are. */
#ifndef FL_DELTA_H
#define FL_DELTA_H

#include "ctx.h"

/* What a and b both hold: the processes, the fds (same process, number
 * and target, a deleted file the same as its path), threads and files;
 * each process's counts are what was kept of it. Fills out (owned). */
void fl_delta_common(const fl_base_snapshot *a, const fl_base_snapshot *b,
		     fl_base_snapshot *out);
/* What of now was not in base (out->items, grouped) and what of base is
 * not in now (out->gone): by process, number and target, or by target
 * alone (by_name: a watched directory's entries). With multi, the groups
 * are each process's own, labelled with it. Fills out (owned). */
void fl_delta_fds(const fl_fd_entry *base, int nbase, const fl_fd_entry *now,
		  int nnow, int by_name, const fl_proc_entry *procs,
		  int nprocs, int multi, fl_new_fds *out);
/* The threads of now that were not in base, grouped (per process when
 * either look saw several), and every thread of now. */
void fl_delta_threads(const fl_base_snapshot *base,
		      const fl_base_snapshot *now, fl_new_threads *out);
/* The processes of now that were not in base, grouped by name. */
void fl_delta_procs(const fl_base_snapshot *base,
		    const fl_base_snapshot *now, fl_new_procs *out);
/* More than one process at either look: forensics name the process. */
int fl_delta_multi_process(const fl_base_snapshot *a,
			   const fl_base_snapshot *b);
/* "nginx pid 12": how a process is named in forensics. */
void fl_delta_proc_label(const fl_proc_entry *procs, int nprocs, pid_t pid,
			 char *out, size_t len);
/* A process's count of fds (fig FL_FIG_FDS) or threads in a snapshot, or
 * -1 when it is not in it. */
int fl_delta_proc_count(const fl_base_snapshot *b, const fl_proc_entry *p,
			enum fl_figure fig);

#endif
