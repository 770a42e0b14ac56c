/* Calls every function faultline's agent wraps (the "faultline" column of
 * lib/points_table.h), run under LD_PRELOAD=faultline-agent.so plus
 * libfiu's preload by tests/unit_points.c. For each function:
 *  - with nothing enabled, the call goes through to the C library and
 *    does not fail with the marker errno;
 *  - with its point enabled through libfiu (fiu_enable, failinfo = the
 *    marker errno), it fails the way its manual page says (its error
 *    value; errno = the marker, or the return value for posix_memalign and
 *    readdir_r), and a stream function sets the stream's error indicator.
 * The agent is inert here (no harness): libfiu decides alone.
 *
 * It also checks that every wrapped function of the table has a probe
 * below and that each probe's point is the table's. It prints one line
 * per mismatch and "checked N wrong M"; exit status 0 when M is 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "points_table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#define FIU_ENABLE 1
#include <fiu.h>
#include <fiu-control.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define MARKER ENOTRECOVERABLE

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *addrlen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
		const sigset_t *ss, size_t fdslen);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...);
int __printf_chk(int flag, const char *fmt, ...);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
char *__fgets_chk(char *buf, size_t size, int n, FILE *fp);
size_t __fread_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp);
ssize_t __getdelim(char **line, size_t *n, int delim, FILE *fp);

/* Shared fixtures: a socket pair with data waiting, a file, a stream. */
static int sv[2];
static int devnull;
static char tmpl[] = "/tmp/fl-wrapprobe.XXXXXX";
static int filefd;
static FILE *stream;	/* a readable and writable temporary stream */

/* Each probe makes one call and returns the errno it failed with, or 0
 * when it did not fail. Stream probes also report a missing error
 * indicator as -1. */
typedef int (*probe_fn)(void);

#define RET_ERRNO(failed) ((failed) ? errno : 0)

static int stream_failed(int failed, FILE *fp)
{
	if (!failed)
		return 0;
	int e = errno;
	int flagged = ferror(fp);
	clearerr(fp);
	return flagged ? e : -1;
}

static int p_aligned_alloc(void) { void *p = aligned_alloc(64, 64); free(p); return RET_ERRNO(!p); }
static int p_memalign(void) { void *p = memalign(64, 64); free(p); return RET_ERRNO(!p); }
static int p_posix_memalign(void)
{
	void *p = NULL;
	int r = posix_memalign(&p, 64, 64);
	free(p);
	return r;
}
static int p_readdir64(void)
{
	DIR *d = opendir("/");
	errno = 0;
	struct dirent64 *e = readdir64(d);
	int r = RET_ERRNO(!e);
	closedir(d);
	return r;
}
static int p_readdir64_r(void)
{
	DIR *d = opendir("/");
	struct dirent64 ent, *res;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	int r = readdir64_r(d, &ent, &res);
#pragma GCC diagnostic pop
	closedir(d);
	return r;
}
static int p_accept4(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	bind(l, (struct sockaddr *)&a, sizeof a);
	listen(l, 4);
	getsockname(l, (struct sockaddr *)&a, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof a);
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	int r = RET_ERRNO(s < 0);
	if (s >= 0)
		close(s);
	close(c);
	close(l);
	return r;
}
static int p_epoll(int which)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
	struct timespec zero = { 0, 0 };
	int n = which == 0 ? epoll_wait(ep, &out, 1, 0)
		: which == 1 ? epoll_pwait(ep, &out, 1, 0, NULL)
			     : epoll_pwait2(ep, &out, 1, &zero, NULL);
	int r = RET_ERRNO(n < 0);
	close(ep);
	return r;
}
static int p_epoll_wait(void) { return p_epoll(0); }
static int p_epoll_pwait(void) { return p_epoll(1); }
static int p_epoll_pwait2(void) { return p_epoll(2); }
static int p_poll_chk(void)
{
	struct pollfd p = { .fd = sv[1], .events = POLLIN };
	return RET_ERRNO(__poll_chk(&p, 1, 0, sizeof p) < 0);
}
static int p_ppoll(void)
{
	struct pollfd p = { .fd = sv[1], .events = POLLIN };
	struct timespec zero = { 0, 0 };
	return RET_ERRNO(ppoll(&p, 1, &zero, NULL) < 0);
}
static int p_ppoll_chk(void)
{
	struct pollfd p = { .fd = sv[1], .events = POLLIN };
	struct timespec zero = { 0, 0 };
	return RET_ERRNO(__ppoll_chk(&p, 1, &zero, NULL, sizeof p) < 0);
}
/* The socket pair always has a byte waiting: each probe that reads one
 * puts one back. */
static int p_recv_chk(void)
{
	char b[4];
	ssize_t n = __recv_chk(sv[1], b, 1, sizeof b, MSG_DONTWAIT);
	if (n == 1)
		send(sv[0], "x", 1, 0);
	return RET_ERRNO(n < 0);
}
static int p_recvfrom_chk(void)
{
	char b[4];
	ssize_t n = __recvfrom_chk(sv[1], b, 1, sizeof b, MSG_DONTWAIT, NULL, NULL);
	if (n == 1)
		send(sv[0], "x", 1, 0);
	return RET_ERRNO(n < 0);
}
static int p_recvmmsg(void)
{
	char b[4];
	struct iovec iov = { b, 1 };
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	int n = recvmmsg(sv[1], &m, 1, MSG_DONTWAIT, NULL);
	if (n == 1)
		send(sv[0], "x", 1, 0);
	return RET_ERRNO(n < 0);
}
static int p_sendmmsg(void)
{
	char b[1] = { 'y' };
	struct iovec iov = { b, 1 };
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	/* What it sends joins the byte waiting on the other end. */
	return RET_ERRNO(sendmmsg(sv[0], &m, 1, 0) < 0);
}
static int p_sendfile(void)
{
	off_t off = 0;
	return RET_ERRNO(sendfile(devnull, filefd, &off, 4) < 0);
}
static int p_sendfile64(void)
{
	off64_t off = 0;
	return RET_ERRNO(sendfile64(devnull, filefd, &off, 4) < 0);
}
static int p_signal(void) { return RET_ERRNO(signal(SIGUSR2, SIG_IGN) == SIG_ERR); }
static int p_close(void) { return RET_ERRNO(close(dup(devnull)) < 0); }
static int p_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return RET_ERRNO(fd < 0);
}
static int p_open_2(void) { return p_fd(__open_2("/dev/null", O_RDONLY)); }
static int p_open64_2(void) { return p_fd(__open64_2("/dev/null", O_RDONLY)); }
static int p_openat(void) { return p_fd(openat(AT_FDCWD, "/dev/null", O_RDONLY)); }
static int p_openat64(void) { return p_fd(openat64(AT_FDCWD, "/dev/null", O_RDONLY)); }
static int p_openat_2(void) { return p_fd(__openat_2(AT_FDCWD, "/dev/null", O_RDONLY)); }
static int p_openat64_2(void) { return p_fd(__openat64_2(AT_FDCWD, "/dev/null", O_RDONLY)); }
static int p_read_chk(void)
{
	char b[8];
	return RET_ERRNO(__read_chk(filefd, b, 4, sizeof b) < 0);
}
static int p_pread_chk(void)
{
	char b[8];
	return RET_ERRNO(__pread_chk(filefd, b, 4, 0, sizeof b) < 0);
}
static int p_pread64_chk(void)
{
	char b[8];
	return RET_ERRNO(__pread64_chk(filefd, b, 4, 0, sizeof b) < 0);
}
static int p_fgets_chk(void)
{
	char b[8];
	rewind(stream);
	return stream_failed(__fgets_chk(b, sizeof b, 4, stream) == NULL, stream);
}
static int p_fread_chk(void)
{
	char b[8];
	rewind(stream);
	return stream_failed(__fread_chk(b, sizeof b, 1, 4, stream) == 0, stream);
}
static int p_getdelim(void)
{
	char *line = NULL;
	size_t n = 0;
	rewind(stream);
	ssize_t r = __getdelim(&line, &n, '\n', stream);
	free(line);
	return stream_failed(r < 0, stream);
}
static int p_fgetpos64(void)
{
	fpos64_t pos;
	return RET_ERRNO(fgetpos64(stream, &pos) != 0);
}
static int p_dprintf_chk(void) { return RET_ERRNO(__dprintf_chk(devnull, 1, "%d", 1) < 0); }
static int p_fprintf_chk(void) { return stream_failed(__fprintf_chk(stream, 1, "%d", 1) < 0, stream); }
static int p_printf_chk(void) { return stream_failed(__printf_chk(1, "%s", "") < 0, stdout); }
static int vcall(int which, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = which == 0 ? __vdprintf_chk(devnull, 1, fmt, ap)
		: which == 1 ? __vfprintf_chk(stream, 1, fmt, ap)
			     : __vprintf_chk(1, fmt, ap);
	va_end(ap);
	return r;
}
static int p_vdprintf_chk(void) { return RET_ERRNO(vcall(0, "%d", 1) < 0); }
static int p_vfprintf_chk(void) { return stream_failed(vcall(1, "%d", 1) < 0, stream); }
static int p_vprintf_chk(void) { return stream_failed(vcall(2, "%s", "") < 0, stdout); }

static const struct {
	const char *function;
	const char *point;
	probe_fn probe;
} probes[] = {
	{ "aligned_alloc", "libc/mm/aligned_alloc", p_aligned_alloc },
	{ "memalign", "libc/mm/aligned_alloc", p_memalign },
	{ "posix_memalign", "libc/mm/posix_memalign", p_posix_memalign },
	{ "readdir64", "posix/io/dir/readdir", p_readdir64 },
	{ "readdir64_r", "posix/io/dir/readdir_r", p_readdir64_r },
	{ "accept4", "posix/io/net/accept4", p_accept4 },
	{ "epoll_wait", "posix/io/net/epoll_wait", p_epoll_wait },
	{ "epoll_pwait", "posix/io/net/epoll_wait", p_epoll_pwait },
	{ "epoll_pwait2", "posix/io/net/epoll_wait", p_epoll_pwait2 },
	{ "__poll_chk", "posix/io/net/poll", p_poll_chk },
	{ "ppoll", "posix/io/net/poll", p_ppoll },
	{ "__ppoll_chk", "posix/io/net/poll", p_ppoll_chk },
	{ "__recv_chk", "posix/io/net/recv", p_recv_chk },
	{ "__recvfrom_chk", "posix/io/net/recvfrom", p_recvfrom_chk },
	{ "recvmmsg", "posix/io/net/recvmmsg", p_recvmmsg },
	{ "sendfile", "posix/io/net/sendfile", p_sendfile },
	{ "sendfile64", "posix/io/net/sendfile", p_sendfile64 },
	{ "sendmmsg", "posix/io/net/sendmmsg", p_sendmmsg },
	{ "close", "posix/io/oc/close", p_close },
	{ "signal", "posix/proc/signal", p_signal },
	{ "__open_2", "posix/io/oc/open", p_open_2 },
	{ "__open64_2", "posix/io/oc/open", p_open64_2 },
	{ "openat", "posix/io/oc/openat", p_openat },
	{ "openat64", "posix/io/oc/openat", p_openat64 },
	{ "__openat_2", "posix/io/oc/openat", p_openat_2 },
	{ "__openat64_2", "posix/io/oc/openat", p_openat64_2 },
	{ "__pread_chk", "posix/io/rw/pread", p_pread_chk },
	{ "__pread64_chk", "posix/io/rw/pread", p_pread64_chk },
	{ "__read_chk", "posix/io/rw/read", p_read_chk },
	{ "__fgets_chk", "posix/stdio/gp/fgets", p_fgets_chk },
	{ "__getdelim", "posix/stdio/gp/getline", p_getdelim },
	{ "__fread_chk", "posix/stdio/rw/fread", p_fread_chk },
	{ "fgetpos64", "posix/stdio/seek/fgetpos", p_fgetpos64 },
	{ "__dprintf_chk", "posix/stdio/sp/dprintf", p_dprintf_chk },
	{ "__fprintf_chk", "posix/stdio/sp/fprintf", p_fprintf_chk },
	{ "__printf_chk", "posix/stdio/sp/printf", p_printf_chk },
	{ "__vdprintf_chk", "posix/stdio/sp/vdprintf", p_vdprintf_chk },
	{ "__vfprintf_chk", "posix/stdio/sp/vfprintf", p_vfprintf_chk },
	{ "__vprintf_chk", "posix/stdio/sp/vprintf", p_vprintf_chk },
};
#define NPROBES (sizeof probes / sizeof probes[0])

static int wrong;

static void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	wrong++;
}

int main(void)
{
	if (fiu_init(0) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 2;
	send(sv[0], "x", 1, 0);
	devnull = open("/dev/null", O_WRONLY);
	filefd = mkstemp(tmpl);
	if (devnull < 0 || filefd < 0 || write(filefd, "abc\ndef\n", 8) != 8)
		return 2;
	unlink(tmpl);
	stream = tmpfile();
	if (!stream || fputs("abc\ndef\n", stream) == EOF || fflush(stream) != 0)
		return 2;

	/* Every wrapped function of the table has a probe with its point. */
	size_t listed = 0;
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++) {
		const char *p = fl_point_table[i].faultline;
		while (*p) {
			size_t n = strcspn(p, " ");
			char fn[64];
			snprintf(fn, sizeof fn, "%.*s", (int)n, p);
			int found = 0;
			for (size_t k = 0; k < NPROBES; k++)
				if (!strcmp(probes[k].function, fn)) {
					found = 1;
					if (strcmp(probes[k].point, fl_point_table[i].name))
						bad("%s: probe says %s, table %s", fn,
						    probes[k].point, fl_point_table[i].name);
				}
			if (!found)
				bad("%s (%s): no probe", fn, fl_point_table[i].name);
			listed++;
			p += n;
			while (*p == ' ')
				p++;
		}
	}
	if (listed != NPROBES)
		bad("the table wraps %zu functions, %zu probes", listed, NPROBES);

	for (size_t k = 0; k < NPROBES; k++) {
		errno = 0;
		int r = probes[k].probe();
		if (r == MARKER || r == -1)
			bad("%s failed (%d) with its point off", probes[k].function, r);
		if (fiu_enable(probes[k].point, 1, (void *)(long)MARKER, 0) != 0)
			bad("%s: fiu_enable(%s) refused", probes[k].function, probes[k].point);
		errno = 0;
		r = probes[k].probe();
		fiu_disable(probes[k].point);
		if (r == -1)
			bad("%s: failed without setting the stream's error", probes[k].function);
		else if (r != MARKER)
			bad("%s: with %s on, got %d, not %d", probes[k].function,
			    probes[k].point, r, MARKER);
		/* After the fault, the function works again. */
		errno = 0;
		r = probes[k].probe();
		if (r == MARKER || r == -1)
			bad("%s failed (%d) after its point was disabled", probes[k].function, r);
	}
	fflush(stdout);
	printf("checked %zu wrong %d\n", NPROBES, wrong);
	return wrong != 0;
}
