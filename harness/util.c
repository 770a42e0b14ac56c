#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void fl_buf_init(fl_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void fl_buf_free(fl_buf *b)
{
	free(b->data);
	fl_buf_init(b);
}

/* Out of memory follows the one policy (fl_out_of_memory): a string the
 * caller goes on using as if it were complete must never come back
 * short, and nobody checked the -ENOMEM this used to return. */
static void buf_reserve(fl_buf *b, size_t extra)
{
	if (extra > SIZE_MAX / 2 - b->len - 1)
		fl_out_of_memory();
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = fl_xrealloc(b->data, cap);
	b->cap = cap;
}

void fl_buf_reset(fl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int fl_buf_append(fl_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int fl_buf_puts(fl_buf *b, const char *s)
{
	return fl_buf_append(b, s, strlen(s));
}

int fl_buf_putc(fl_buf *b, char c)
{
	return fl_buf_append(b, &c, 1);
}

int fl_buf_vprintf(fl_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int fl_buf_printf(fl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fl_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *fl_buf_steal(fl_buf *b)
{
	char *s = b->data;
	if (!s)
		s = fl_xstrdup("");
	fl_buf_init(b);
	return s;
}

void fl_buf_wrap(fl_buf *b, const char *first, int indent, int width,
		 const char *text)
{
	fl_buf_puts(b, first);
	const char *line = strrchr(first, '\n');
	size_t col = strlen(line ? line + 1 : first), start = col;
	for (const char *p = text; *p;) {
		p += strspn(p, " ");
		size_t n = strcspn(p, " ");
		if (!n)
			break;
		if (col > start && col + 1 + n > (size_t)width) {
			fl_buf_printf(b, "\n%*s", indent, "");
			col = start = (size_t)indent;
		} else if (col > start) {
			fl_buf_putc(b, ' ');
			col++;
		}
		fl_buf_append(b, p, n);
		col += n;
		p += n;
	}
	fl_buf_putc(b, '\n');
}

int64_t fl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * FL_NS_PER_SEC + ts.tv_nsec;
}

int64_t fl_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * FL_NS_PER_SEC + ts.tv_nsec;
}

void fl_fmt_duration(char *out, size_t outlen, int64_t ns)
{
	double v = (double)ns;
	if (ns < 0)
		v = -v;
	const char *sign = ns < 0 ? "-" : "";
	if (v < 1e3)
		snprintf(out, outlen, "%s%.0f ns", sign, v);
	else if (v < 1e6)
		snprintf(out, outlen, "%s%.1f µs", sign, v / 1e3);
	else if (v < 1e9)
		snprintf(out, outlen, "%s%.1f ms", sign, v / 1e6);
	else
		snprintf(out, outlen, "%s%.2f s", sign, v / 1e9);
}

void fl_fmt_bytes(char *out, size_t outlen, double bytes)
{
	double v = bytes < 0 ? -bytes : bytes;
	const char *sign = bytes < 0 ? "-" : "";
	if (v < 1024)
		snprintf(out, outlen, "%s%.0f B", sign, v);
	else if (v < 1024.0 * 1024)
		snprintf(out, outlen, "%s%.1f KiB", sign, v / 1024);
	else if (v < 1024.0 * 1024 * 1024)
		snprintf(out, outlen, "%s%.1f MiB", sign, v / (1024.0 * 1024));
	else
		snprintf(out, outlen, "%s%.2f GiB", sign,
			 v / (1024.0 * 1024 * 1024));
}

int fl_parse_bytes(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return -EINVAL;
	while (*end == ' ')
		end++;
	double mul = 1;
	if (*end == '\0' || strcasecmp(end, "b") == 0)
		mul = 1;
	else if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kib") == 0)
		mul = 1024;
	else if (strcasecmp(end, "kb") == 0)
		mul = 1000;
	else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mib") == 0)
		mul = 1024.0 * 1024;
	else if (strcasecmp(end, "mb") == 0)
		mul = 1000.0 * 1000;
	else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gib") == 0)
		mul = 1024.0 * 1024 * 1024;
	else if (strcasecmp(end, "gb") == 0)
		mul = 1000.0 * 1000 * 1000;
	else
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* The errnos a scenario can name. The list covers every errno the libfiu
 * POSIX wrappers document as valid for their functions, plus a few that
 * targets commonly handle. */
#define ERRNO_LIST(X)                                                        \
	X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG)         \
	X(ENOEXEC) X(EBADF) X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) \
	X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL)  \
	X(ENFILE) X(EMFILE) X(ENOTTY) X(ETXTBSY) X(EFBIG) X(ENOSPC)           \
	X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(ERANGE) X(EDEADLK)    \
	X(ENAMETOOLONG) X(ENOLCK) X(ENOSYS) X(ENOTEMPTY) X(ELOOP)             \
	X(EOVERFLOW) X(EILSEQ) X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE)        \
	X(EPROTOTYPE) X(ENOPROTOOPT) X(EPROTONOSUPPORT) X(EOPNOTSUPP)         \
	X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN)            \
	X(ENETUNREACH) X(ENETRESET) X(ECONNABORTED) X(ECONNRESET)             \
	X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ETIMEDOUT) X(ECONNREFUSED)        \
	X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(EDQUOT) X(ECANCELED)

struct errno_entry {
	const char *name;
	int value;
};

#define ERRNO_ENTRY(e) {#e, e},
static const struct errno_entry errno_table[] = {ERRNO_LIST(ERRNO_ENTRY)};
#undef ERRNO_ENTRY


int fl_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0]; i++)
		if (strcmp(errno_table[i].name, name) == 0)
			return errno_table[i].value;
	if (strcmp(name, "EWOULDBLOCK") == 0)
		return EWOULDBLOCK;
	return -1;
}

const char *fl_errno_name(int err)
{
	for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0]; i++)
		if (errno_table[i].value == err)
			return errno_table[i].name;
	return NULL;
}

_Noreturn void fl_out_of_memory(void)
{
	static const char msg[] = "faultline: out of memory\n";
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* Nothing more can be done. */
	}
	abort();
}

char *fl_xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		fl_out_of_memory();
	return p;
}

void *fl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		fl_out_of_memory();
	return p;
}

void *fl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		fl_out_of_memory();
	return p;
}

void *fl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		fl_out_of_memory();
	return q;
}

int fl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fl_eventfd_signal(int fd)
{
	uint64_t one = 1;
	for (int tries = 0; tries < 1000; tries++) {
		if (write(fd, &one, sizeof one) == (ssize_t)sizeof one)
			return 0;
		if (errno == EBADF || errno == EINVAL)
			return -errno;
	}
	return -EIO;
}

int fl_read_file(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fl_buf b;
	fl_buf_init(&b);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			close(fd);
			fl_buf_free(&b);
			return err;
		}
		if (n == 0)
			break;
		fl_buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (outlen)
		*outlen = b.len;
	*out = fl_buf_steal(&b);
	return 0;
}

int fl_mkdirs(const char *path, unsigned mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Removes everything under the directory dirfd refers to. Uses the *at()
 * calls and no global state, so scenario threads can clean up side by side
 * (nftw() has neither property). */
static int rmtree_at(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		int err = -errno;
		close(dirfd);
		return err;
	}
	int first_error = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			if (!first_error)
				first_error = -errno;
			continue;
		}
		int sub = openat(dirfd, de->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (!first_error)
				first_error = -errno;
			continue;
		}
		int r = rmtree_at(sub);
		if (r < 0 && !first_error)
			first_error = r;
		if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 &&
		    errno != ENOENT && !first_error)
			first_error = -errno;
	}
	closedir(d);
	return first_error;
}

int fl_rmtree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP)
			return unlink(path) < 0 ? -errno : 0;
		return -errno;
	}
	int r = rmtree_at(fd);
	if (rmdir(path) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

const char *fl_exe_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (n <= 0) {
		strcpy(dir, ".");
		return dir;
	}
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	return dir;
}
