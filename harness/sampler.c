#define _GNU_SOURCE
#include "sampler.h"

#include "bpfsample.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fl_sampler_open_dir(fl_sampler *s, pid_t pid, int procfd, int pidfd,
			enum fl_fd_method force_method)
{
	memset(s, 0, sizeof *s);
	s->pid = pid;
	s->procfd = procfd;
	s->fddirfd = s->taskfd = -1;
	s->pidfd = pidfd;
	s->page_size = sysconf(_SC_PAGESIZE);
	s->statmfd = openat(procfd, "statm", O_RDONLY | O_CLOEXEC);
	if (s->statmfd < 0) {
		int err = -errno;
		close(procfd);
		s->procfd = -1;
		return err;
	}
	/* Kept open when the harness has fds to spare (a large tree may
	 * not): each figure is then an fstat of an open directory. */
	s->fddirfd = openat(procfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->taskfd = openat(procfd, "task", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->method = force_method;
	if (!s->method) {
		/* A live process always has a non-empty fd table while it
		 * starts (at least the harness's agent socket or stdio), so a
		 * zero size means the kernel does not report it (< 6.2). */
		struct stat st;
		int r = s->fddirfd >= 0 ? fstat(s->fddirfd, &st)
					: fstatat(procfd, "fd", &st, 0);
		if (r == 0 && st.st_size > 0)
			s->method = FL_FDS_FSTATAT;
		else
			s->method = FL_FDS_GETDENTS;
	}
	return 0;
}

int fl_sampler_open(fl_sampler *s, pid_t pid, enum fl_fd_method force_method)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		memset(s, 0, sizeof *s);
		s->procfd = s->statmfd = s->fddirfd = s->taskfd = s->pidfd = -1;
		return -errno;
	}
	return fl_sampler_open_dir(s, pid, procfd, -1, force_method);
}

int fl_sampler_fds(fl_sampler *s)
{
	if (s->method == FL_FDS_FSTATAT) {
		struct stat st;
		int r = s->fddirfd >= 0 ? fstat(s->fddirfd, &st)
					: fstatat(s->procfd, "fd", &st, 0);
		if (r < 0)
			return errno == ENOENT ? -ESRCH : -errno;
		if (st.st_size > 0)
			return (int)st.st_size;
		/* Zero: either no fds at all or a kernel that stopped
		 * reporting; counting costs nothing when there are none. */
	}
	if (s->fddirfd < 0) {
		s->fddirfd = openat(s->procfd, "fd",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->fddirfd < 0)
			return errno == ENOENT ? -ESRCH : -errno;
	}
	int n = fl_procfs_count_dir(s->fddirfd);
	return n == -ENOENT ? -ESRCH : n;
}

long fl_sampler_threads(fl_sampler *s)
{
	struct stat st;
	int r = s->taskfd >= 0 ? fstat(s->taskfd, &st)
			       : fstatat(s->procfd, "task", &st, 0);
	if (r < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* "." and ".." are the other two links. An open task/ of a reaped
	 * process still answers, with no thread: a process has at least
	 * one until it is gone (a zombie keeps its leader). */
	if (st.st_nlink <= 2)
		return -ESRCH;
	return (long)st.st_nlink - 2;
}

/* Resident pages and program size from statm. */
static int read_statm(fl_sampler *s, long *size, long *rss)
{
	char buf[256];
	ssize_t n = pread(s->statmfd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (n == 0)
		return -ESRCH;
	buf[n] = '\0';
	return fl_procfs_parse_statm(buf, (size_t)n, size, rss) < 0 ? -EINVAL
								    : 0;
}

int64_t fl_sampler_rss(fl_sampler *s)
{
	long size, rss;
	int r = read_statm(s, &size, &rss);
	return r < 0 ? r : (int64_t)rss * s->page_size;
}

/* Has the process (every thread of it) exited? Its pidfd says so. */
static int exited(const fl_sampler *s)
{
	if (s->pidfd < 0)
		return 1;
	struct pollfd p = {s->pidfd, POLLIN, 0};
	return poll(&p, 1, 0) > 0;
}

int fl_sampler_read(fl_sampler *s, fl_sample *out)
{
	/* The order matters: the kernel releases a process's memory
	 * (exit_mm) before its fd table (exit_files), so a statm read last
	 * that still shows memory proves the fd count before it was not
	 * that of a process tearing down. */
	int fds = fl_sampler_fds(s);
	if (fds < 0)
		return fds;
	long threads = fl_sampler_threads(s);
	if (threads < 0)
		return (int)threads;
	long size, rss;
	int r = read_statm(s, &size, &rss);
	if (r < 0)
		return r;
	if (size == 0)
		/* No memory: a zombie, or a main thread that exited alone
		 * (pthread_exit in main) while others run. */
		return exited(s) ? -ESRCH : -ENODATA;
	out->v[FL_FIG_FDS] = fds;
	out->v[FL_FIG_THREADS] = threads;
	out->v[FL_FIG_RSS] = (int64_t)rss * s->page_size;
	return 0;
}

int fl_sampler_from_batch(fl_sampler *s, const struct fl_bpfs_ent *e,
			  fl_sample *out)
{
	switch (e->rc) {
	case FL_BPFS_OK:
		out->v[FL_FIG_FDS] = e->fds;
		out->v[FL_FIG_THREADS] = e->threads;
		out->v[FL_FIG_RSS] = e->rss_pages * s->page_size;
		return 0;
	case FL_BPFS_NOTASK:
		return -ESRCH;
	case FL_BPFS_NOMM:
		return exited(s) ? -ESRCH : -ENODATA;
	default:
		return fl_sampler_read(s, out);
	}
}

void fl_sampler_close(fl_sampler *s)
{
	if (s->fddirfd >= 0)
		close(s->fddirfd);
	if (s->taskfd >= 0)
		close(s->taskfd);
	if (s->statmfd >= 0)
		close(s->statmfd);
	if (s->procfd >= 0)
		close(s->procfd);
	s->fddirfd = s->taskfd = s->statmfd = s->procfd = -1;
}

const char *fl_sampler_method_name(enum fl_fd_method m)
{
	switch (m) {
	case FL_FDS_FSTATAT:
		return "fstatat";
	case FL_FDS_GETDENTS:
		return "getdents64";
	}
	return "?";
}
