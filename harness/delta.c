/* What changed between two snapshots of a target (snapshot.h): what two
 * looks have in common (a held snapshot keeps it), and what is new and
 * what is gone since the baseline, grouped per process when there are
 * several. Pure functions on the snapshots: they read no /proc and take no
 * lock, so measure.c and snapshot.c share one rule of what "the same fd"
 * and "the same process" are. */
#define _GNU_SOURCE
#include "delta.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Do two looks at an fd see the same open file? The same target, or the
 * same path once one of them reads " (deleted)": a file the program
 * unlinked while it kept it open is still the fd it leaked (a leaky
 * batch's files are deleted by the next batch). */
static int same_target(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return 1;
	static const char del[] = " (deleted)";
	size_t la = strlen(a), lb = strlen(b), ld = sizeof del - 1;
	if (la == lb + ld && !strcmp(a + lb, del))
		return !strncmp(a, b, lb);
	if (lb == la + ld && !strcmp(b + la, del))
		return !strncmp(a, b, la);
	return 0;
}

/* The same process: its pid and its start time, so a pid the kernel
 * handed out again is another process. */
static int same_proc(const fl_proc_entry *a, const fl_proc_entry *b)
{
	return a->pid == b->pid && a->starttime == b->starttime;
}

/* The same fd: by process, number and target, or by target alone for the
 * entries of a watched directory (by_name). */
static int same_fd(const fl_fd_entry *a, const fl_fd_entry *b, int by_name)
{
	if (by_name)
		return strcmp(a->target, b->target) == 0;
	return a->fd == b->fd && a->pid == b->pid &&
	       same_target(a->target, b->target);
}

/* What two looks have in common: the processes, the fds (same process,
 * number and target), threads and files present in both. Fills out
 * (owned). */
void fl_delta_common(const fl_base_snapshot *a, const fl_base_snapshot *b,
		     fl_base_snapshot *out)
{
	memset(out, 0, sizeof *out);
	out->procs = fl_xmalloc((size_t)(b->nprocs + 1) * sizeof *out->procs);
	for (int i = 0; i < b->nprocs; i++)
		for (int j = 0; j < a->nprocs; j++)
			if (same_proc(&a->procs[j], &b->procs[i])) {
				fl_proc_entry e = b->procs[i];
				e.nfds = e.nthreads = 0;
				out->procs[out->nprocs++] = e;
				break;
			}
	out->fds = fl_xmalloc((size_t)(b->nfds + 1) * sizeof *out->fds);
	for (int i = 0; i < b->nfds; i++)
		for (int j = 0; j < a->nfds; j++)
			if (a->fds[j].pid == b->fds[i].pid &&
			    a->fds[j].fd == b->fds[i].fd &&
			    same_target(a->fds[j].target, b->fds[i].target)) {
				out->fds[out->nfds++] = b->fds[i];
				break;
			}
	out->threads = fl_xmalloc((size_t)(b->nthreads + 1) *
				  sizeof *out->threads);
	for (int i = 0; i < b->nthreads; i++)
		for (int j = 0; j < a->nthreads; j++)
			if (a->threads[j].tid == b->threads[i].tid) {
				out->threads[out->nthreads++] = b->threads[i];
				break;
			}
	out->files = fl_xmalloc((size_t)(b->nfiles + 1) * sizeof *out->files);
	for (int i = 0; i < b->nfiles; i++)
		for (int j = 0; j < a->nfiles; j++)
			if (strcmp(a->files[j].target, b->files[i].target) == 0) {
				out->files[out->nfiles++] = b->files[i];
				break;
			}
	/* Each process's counts are what was kept of it. */
	for (int k = 0; k < out->nprocs; k++) {
		fl_proc_entry *e = &out->procs[k];
		for (int i = 0; i < out->nfds; i++)
			e->nfds += out->fds[i].pid == e->pid;
		for (int i = 0; i < out->nthreads; i++)
			e->nthreads += out->threads[i].pid == e->pid;
	}
}

void fl_delta_proc_label(const fl_proc_entry *procs, int nprocs, pid_t pid,
			 char *out, size_t len)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == pid) {
			snprintf(out, len, "%s pid %d", procs[i].comm, (int)pid);
			return;
		}
	snprintf(out, len, "pid %d", (int)pid);
}

/* A process's count of a figure in a snapshot (fds, threads), or -1 when
 * it is not in it. */
int fl_delta_proc_count(const fl_base_snapshot *b, const fl_proc_entry *p,
			enum fl_figure fig)
{
	for (int i = 0; i < b->nprocs; i++)
		if (same_proc(&b->procs[i], p))
			return fig == FL_FIG_FDS ? b->procs[i].nfds
						 : b->procs[i].nthreads;
	return -1;
}

/* Groups items of several processes: each process's own groups, labelled
 * with the process when there is more than one (multi), largest first. */
static int group_per_process(const void *items, size_t size, int n,
			     pid_t (*pid_of)(const void *),
			     int (*group)(const void *, int, fl_group **),
			     const fl_proc_entry *procs, int nprocs, int multi,
			     fl_group **out)
{
	if (!multi)
		return group(items, n, out);
	const char *v = items;
	fl_group *all = NULL;
	int nall = 0;
	char *subset = fl_xmalloc((size_t)(n > 0 ? n : 1) * size);
	pid_t *done = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *done);
	int ndone = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = pid_of(v + (size_t)i * size);
		int seen = 0;
		for (int k = 0; k < ndone && !seen; k++)
			seen = done[k] == pid;
		if (seen)
			continue;
		done[ndone++] = pid;
		int ns = 0;
		for (int k = i; k < n; k++)
			if (pid_of(v + (size_t)k * size) == pid)
				memcpy(subset + (size_t)ns++ * size,
				       v + (size_t)k * size, size);
		fl_group *g;
		int ng = group(subset, ns, &g);
		char label[64];
		fl_delta_proc_label(procs, nprocs, pid, label, sizeof label);
		all = fl_xrealloc(all, (size_t)(nall + ng + 1) * sizeof *all);
		for (int k = 0; k < ng; k++) {
			all[nall + k] = g[k];
			snprintf(all[nall + k].proc, sizeof all[nall + k].proc,
				 "%s", label);
		}
		nall += ng;
		free(g);
	}
	free(subset);
	free(done);
	/* Largest first, as for one process (a stable insertion sort). */
	for (int i = 1; i < nall; i++) {
		fl_group g = all[i];
		int j = i;
		while (j > 0 && all[j - 1].count < g.count) {
			all[j] = all[j - 1];
			j--;
		}
		all[j] = g;
	}
	if (!all)
		all = fl_xmalloc(sizeof *all);
	*out = all;
	return nall;
}

static pid_t fd_pid(const void *x)
{
	return ((const fl_fd_entry *)x)->pid;
}

static pid_t thread_pid(const void *x)
{
	return ((const fl_thread_entry *)x)->pid;
}

static int group_fds(const void *v, int n, fl_group **out)
{
	return fl_forensics_group_fds(v, n, out);
}

static int group_threads(const void *v, int n, fl_group **out)
{
	return fl_forensics_group_threads(v, n, out);
}

/* More than one process at either look: forensics name the process. */
int fl_delta_multi_process(const fl_base_snapshot *a,
			   const fl_base_snapshot *b)
{
	return a->nprocs > 1 || b->nprocs > 1;
}

/* What of now was not in base (new) and what of base is not in now
 * (gone); entries match by process, number and target (by target alone
 * for files). */
void fl_delta_fds(const fl_fd_entry *base, int nbase, const fl_fd_entry *now,
		  int nnow, int by_name, const fl_proc_entry *procs,
		  int nprocs, int multi, fl_new_fds *out)
{
	out->listed = 1;
	out->items = fl_xmalloc((size_t)(nnow + 1) * sizeof *out->items);
	out->gone = fl_xmalloc((size_t)(nbase + 1) * sizeof *out->gone);
	for (int i = 0; i < nnow; i++) {
		int old = 0;
		for (int j = 0; j < nbase && !old; j++)
			old = same_fd(&base[j], &now[i], by_name);
		if (!old)
			out->items[out->n++] = now[i];
	}
	for (int j = 0; j < nbase; j++) {
		int kept = 0;
		for (int i = 0; i < nnow && !kept; i++)
			kept = same_fd(&base[j], &now[i], by_name);
		if (!kept)
			out->gone[out->ngone++] = base[j];
	}
	out->ngroups = group_per_process(out->items, sizeof *out->items,
					 out->n, fd_pid, group_fds, procs,
					 nprocs, multi && !by_name,
					 &out->groups);
}

void fl_delta_threads(const fl_base_snapshot *base,
		      const fl_base_snapshot *now, fl_new_threads *out)
{
	out->listed = 1;
	out->n = fl_forensics_new_threads(base->threads, base->nthreads,
					  now->threads, now->nthreads, -1,
					  &out->items);
	out->ngroups = group_per_process(out->items, sizeof *out->items,
					 out->n, thread_pid, group_threads,
					 now->procs, now->nprocs,
					 fl_delta_multi_process(base, now),
					 &out->groups);
	out->gone = base->nthreads - (now->nthreads - out->n);
	out->all = fl_xmalloc((size_t)(now->nthreads + 1) * sizeof *out->all);
	memcpy(out->all, now->threads, (size_t)now->nthreads * sizeof *out->all);
	out->nall = now->nthreads;
}

void fl_delta_procs(const fl_base_snapshot *base,
		    const fl_base_snapshot *now, fl_new_procs *out)
{
	out->listed = 1;
	out->items = fl_xmalloc((size_t)(now->nprocs + 1) * sizeof *out->items);
	for (int i = 0; i < now->nprocs; i++) {
		int old = 0;
		for (int j = 0; j < base->nprocs && !old; j++)
			old = same_proc(&base->procs[j], &now->procs[i]);
		if (!old)
			out->items[out->n++] = now->procs[i];
	}
	out->gone = base->nprocs - (now->nprocs - out->n);
	out->ngroups = fl_forensics_group_procs(out->items, out->n,
						&out->groups);
}
