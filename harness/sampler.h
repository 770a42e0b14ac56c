/* One sample of a process: open fds, threads and resident memory, read with
 * as few system calls as possible so it can run at 1000 Hz. */
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
	int statfd;		/* /proc/PID/stat, read with pread */
	int fddirfd;		/* /proc/PID/fd, only for the getdents method */
	enum fl_fd_method method;
	long page_size;
} fl_sampler;

/* Opens /proc/PID and /proc/PID/stat and chooses the fd-count method.
 * force_method 0 picks the best that works. 0 or -errno. */
int fl_sampler_open(fl_sampler *s, pid_t pid, enum fl_fd_method force_method);
/* Opens a sampler on an already-open /proc/PID directory (takes it over). */
int fl_sampler_open_dir(fl_sampler *s, pid_t pid, int procfd,
			enum fl_fd_method force_method);
/* Takes one sample (t_ns is left to the caller). -ESRCH once the process is
 * gone. */
int fl_sampler_read(fl_sampler *s, fl_sample *out);
void fl_sampler_close(fl_sampler *s);
const char *fl_sampler_method_name(enum fl_fd_method m);

#endif
