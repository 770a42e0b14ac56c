/* One sample of a process: open fds, threads and resident memory, in three
 * system calls whose cost depends on neither the fd count nor the thread
 * count, so it can run at 10 kHz on a process with thousands of either:
 *   fds      st_size of /proc/PID/fd (Linux >= 6.2), or counting
 *            its entries with getdents64 where the size reads 0;
 *   threads  st_nlink of /proc/PID/task, which is the thread count + 2
 *            ("." and ".."; checked by tests/unit_procfs.c);
 *   RSS      the second field of /proc/PID/statm (pread of a kept fd).
 * fd/ and task/ are kept open too: fstat of an open directory asks the
 * kernel for the same figure without the path walk and the revalidation
 * of /proc/PID's entries that fstatat pays, 0.5 µs against 1.4-1.7 µs on
 * this VM. Where no fd is left for them, fstatat by name does the same.
 * /proc/PID/stat would give threads and RSS in one read, but the kernel
 * sums every thread's times to print it: 4 µs at 10 threads, 200 µs at
 * 5,000 (make bench, section 1). */
#ifndef FL_SAMPLER_H
#define FL_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>

#include "figures.h"


enum fl_fd_method {
	FL_FDS_FSTATAT = 1,	/* st_size of /proc/PID/fd: O(1), Linux >= 6.2 */
	FL_FDS_GETDENTS,	/* counting the directory's entries */
};

typedef struct fl_sampler {
	pid_t pid;
	int procfd;		/* /proc/PID, opened once: ESRCH after reaping */
	int statmfd;		/* /proc/PID/statm, read with pread */
	int fddirfd;		/* /proc/PID/fd (-1: fstatat by name) */
	int taskfd;		/* /proc/PID/task, O_PATH (-1: by name) */
	int pidfd;		/* borrowed (-1: none): tells an exit apart
				 * from a main thread that ended alone */
	enum fl_fd_method method;
	long page_size;
} fl_sampler;

/* Opens /proc/PID and /proc/PID/statm and chooses the fd-count method.
 * force_method 0 picks the best that works. 0 or -errno. */
int fl_sampler_open(fl_sampler *s, pid_t pid, enum fl_fd_method force_method);
/* Opens a sampler on an already-open /proc/PID directory (takes it over);
 * pidfd (or -1) is borrowed. */
int fl_sampler_open_dir(fl_sampler *s, pid_t pid, int procfd, int pidfd,
			enum fl_fd_method force_method);
/* Takes one sample (t_ns and the figures a process does not have are left
 * to the caller). -ESRCH once the process has exited (a zombie included),
 * -ENODATA when its main thread ended but other threads run on (its
 * memory cannot be read through /proc/PID then). */
int fl_sampler_read(fl_sampler *s, fl_sample *out);
/* The same sample from a batch's entry (harness/bpfsample.h), with the
 * same returns: the entry's figures, -ESRCH for a pid no task has (or a
 * zombie), -ENODATA for a process without memory whose threads run on;
 * an entry without an fd table (exiting) is read from /proc instead. */
struct fl_bpfs_ent;
int fl_sampler_from_batch(fl_sampler *s, const struct fl_bpfs_ent *e,
			  fl_sample *out);
void fl_sampler_close(fl_sampler *s);
const char *fl_sampler_method_name(enum fl_fd_method m);

/* Each figure alone, for the bench: the fd count by the sampler's method,
 * the thread count from the link count of task/, resident bytes from
 * statm. Each returns the figure or -errno. */
int fl_sampler_fds(fl_sampler *s);
long fl_sampler_threads(fl_sampler *s);
int64_t fl_sampler_rss(fl_sampler *s);

#endif
