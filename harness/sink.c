#define _GNU_SOURCE
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINK_BUF (1 << 16)

struct fl_sink {
	int fd, err;
	int unnamed;		/* an O_TMPFILE file, named through /proc */
	int spool;
	char path[PATH_MAX];	/* what it becomes (not for a spool) */
	char tmp[PATH_MAX];	/* path.tmp.PID */
	size_t size, len;	/* bytes written in all; in buf */
	char buf[SINK_BUF];
};

/* The directory of path ("." for a bare name). */
static void dir_of(const char *path, char *dir, size_t len)
{
	snprintf(dir, len, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/* An unnamed file in dir that /proc can name later; -1 (and errno)
 * where there is none. */
static int open_unnamed(const char *dir, int need_proc)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0 || !need_proc)
		return fd;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	/* No /proc to name it through: the caller takes the plain way. */
	if (access(proc, F_OK) < 0) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

int fl_sink_open(const char *path, fl_sink **out)
{
	*out = NULL;
	fl_sink *s = fl_xcalloc(1, sizeof *s);
	if (snprintf(s->tmp, sizeof s->tmp, "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof s->tmp) {
		free(s);
		return -ENAMETOOLONG;
	}
	snprintf(s->path, sizeof s->path, "%s", path);
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof dir);
	/* The data goes into a file without a name, which gets one only
	 * once complete: a faultline killed while writing leaves neither a
	 * cut file nor a stray temporary one. Where the file system has no
	 * unnamed files, a named temporary file does. */
	s->fd = open_unnamed(dir, 1);
	s->unnamed = s->fd >= 0;
	if (s->fd < 0)
		s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	*out = s;
	return 0;
}

int fl_sink_spool(const char *path, fl_sink **out)
{
	*out = NULL;
	fl_sink *s = fl_xcalloc(1, sizeof *s);
	s->spool = 1;
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof dir);
	s->fd = open_unnamed(dir, 0);
	if (s->fd < 0) {
		/* A named file, unlinked at once: unnamed all the same. */
		snprintf(s->tmp, sizeof s->tmp, "%s/.faultline-spool.XXXXXX", dir);
		s->fd = mkostemp(s->tmp, O_CLOEXEC);
		if (s->fd >= 0)
			unlink(s->tmp);
	}
	if (s->fd < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	*out = s;
	return 0;
}

static void sink_flush(fl_sink *s)
{
	if (s->len && !s->err) {
		int r = fl_write_all(s->fd, s->buf, s->len);
		if (r < 0)
			s->err = r;
	}
	s->len = 0;
}

void fl_sink_write(fl_sink *s, const void *data, size_t len)
{
	const char *p = data;
	s->size += len;
	while (len && !s->err) {
		if (s->len == SINK_BUF)
			sink_flush(s);
		size_t n = SINK_BUF - s->len;
		if (n > len)
			n = len;
		memcpy(s->buf + s->len, p, n);
		s->len += n;
		p += n;
		len -= n;
	}
}

void fl_sink_puts(fl_sink *s, const char *str)
{
	fl_sink_write(s, str, strlen(str));
}

void fl_sink_printf(fl_sink *s, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!s->err)
			s->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof small) {
		fl_sink_write(s, small, (size_t)n);
		return;
	}
	fl_buf b;
	fl_buf_init(&b);
	va_start(ap, fmt);
	fl_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	fl_sink_take(s, &b);
	fl_buf_free(&b);
}

void fl_sink_take(fl_sink *s, fl_buf *b)
{
	if (b->len)
		fl_sink_write(s, b->data, b->len);
	fl_buf_reset(b);
}

void fl_sink_copy(fl_sink *s, fl_sink *spool)
{
	sink_flush(spool);
	if (spool->err && !s->err)
		s->err = spool->err;
	char *chunk = fl_xmalloc(SINK_BUF);
	off_t at = 0;
	while (!s->err && (size_t)at < spool->size) {
		ssize_t n = pread(spool->fd, chunk, SINK_BUF, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->err = n < 0 ? -errno : -EIO;
			break;
		}
		fl_sink_write(s, chunk, (size_t)n);
		at += n;
	}
	free(chunk);
}

size_t fl_sink_size(const fl_sink *s)
{
	return s->size;
}

int fl_sink_error(const fl_sink *s)
{
	return s->err;
}

int fl_sink_commit(fl_sink *s)
{
	sink_flush(s);
	int r = s->err;
	if (s->spool) {
		close(s->fd);
		free(s);
		return r;
	}
	if (r == 0 && s->unnamed) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
		unlink(s->tmp);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, s->tmp, AT_SYMLINK_FOLLOW) < 0)
			r = -errno;
	}
	if (close(s->fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(s->tmp, s->path) < 0)
		r = -errno;
	if (r < 0)
		unlink(s->tmp);
	free(s);
	return r;
}

void fl_sink_discard(fl_sink *s)
{
	if (!s)
		return;
	close(s->fd);
	/* Only a named temporary file has a name to take back. */
	if (!s->spool && !s->unnamed)
		unlink(s->tmp);
	free(s);
}

int fl_sink_write_file(const char *path, const char *data, size_t len)
{
	fl_sink *s;
	int r = fl_sink_open(path, &s);
	if (r < 0)
		return r;
	/* Large data goes straight to the file, not through the buffer. */
	s->size = len;
	r = fl_write_all(s->fd, data, len);
	if (r < 0)
		s->err = r;
	return fl_sink_commit(s);
}
