#define _GNU_SOURCE
#include "sampler.h"

#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fl_sampler_open_dir(fl_sampler *s, pid_t pid, int procfd,
			enum fl_fd_method force_method)
{
	memset(s, 0, sizeof *s);
	s->pid = pid;
	s->procfd = procfd;
	s->fddirfd = -1;
	s->page_size = sysconf(_SC_PAGESIZE);
	s->statfd = openat(procfd, "stat", O_RDONLY | O_CLOEXEC);
	if (s->statfd < 0) {
		int err = -errno;
		close(procfd);
		s->procfd = -1;
		return err;
	}
	s->method = force_method;
	if (!s->method) {
		/* A live process always has a non-empty fd table while it
		 * starts (at least the harness's agent socket or stdio), so a
		 * zero size means the kernel does not report it (< 6.2). */
		struct stat st;
		if (fstatat(procfd, "fd", &st, 0) == 0 && st.st_size > 0)
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
		s->procfd = s->statfd = s->fddirfd = -1;
		return -errno;
	}
	return fl_sampler_open_dir(s, pid, procfd, force_method);
}

static int count_fds(fl_sampler *s)
{
	if (s->method == FL_FDS_FSTATAT) {
		struct stat st;
		if (fstatat(s->procfd, "fd", &st, 0) < 0)
			return -errno;
		if (st.st_size > 0)
			return (int)st.st_size;
		/* Zero: either no fds at all or a kernel that stopped
		 * reporting; counting costs nothing when there are none. */
	}
	if (s->fddirfd < 0) {
		s->fddirfd = openat(s->procfd, "fd",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->fddirfd < 0)
			return -errno;
	}
	return fl_procfs_count_dir(s->fddirfd);
}

int fl_sampler_read(fl_sampler *s, fl_sample *out)
{
	char buf[1024];
	ssize_t n = pread(s->statfd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ESRCH;
	buf[n] = '\0';
	fl_proc_stat st;
	if (fl_procfs_parse_stat(buf, (size_t)n, &st) < 0)
		return -EINVAL;
	if (st.state == 'Z' || st.state == 'X')
		return -ESRCH;
	int fds = count_fds(s);
	if (fds < 0)
		return fds == -ENOENT ? -ESRCH : fds;
	out->v[FL_FIG_FDS] = fds;
	out->v[FL_FIG_THREADS] = st.num_threads;
	out->v[FL_FIG_RSS] = (int64_t)st.rss_pages * s->page_size;
	return 0;
}

void fl_sampler_close(fl_sampler *s)
{
	if (s->fddirfd >= 0)
		close(s->fddirfd);
	if (s->statfd >= 0)
		close(s->statfd);
	if (s->procfd >= 0)
		close(s->procfd);
	s->fddirfd = s->statfd = s->procfd = -1;
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
