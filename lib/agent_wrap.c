/* Failure points where libfiu's POSIX preload has no wrapper, compiled
 * into faultline's agent (lib/faultline-agent.so), which is preloaded in
 * front of libfiu's.
 *
 * Real servers call functions libfiu does not wrap: accept4, openat,
 * sendfile, recvmmsg, epoll_wait, and, when a distribution builds them with
 * _FORTIFY_SOURCE, __read_chk instead of read, __poll_chk instead of poll,
 * __fprintf_chk instead of fprintf. Without these wrappers a fault on
 * those calls silently never fires. lib/points_table.h lists every
 * function wrapped here with the point it reaches; a fortified or 64-bit
 * variant fails under the point of its plain function, so a scenario
 * written for read() reaches a fortified build.
 *
 * Each wrapper asks libfiu, fiu_fail(point), exactly as libfiu's own
 * wrappers do, so the agent's decision (lib/agent.c) applies unchanged.
 * On a failure it returns the function's error value with the errno the
 * decision chose (fiu_failinfo()), or the point's first valid errno; else
 * it calls the real function. It never allocates: the real function is
 * looked up once with dlsym(RTLD_NEXT), which works from any constructor,
 * and kept in an atomic slot.
 *
 * Built without _FORTIFY_SOURCE (GNUmakefile): the fortified headers
 * would define some of these names as inline functions. */
#define _GNU_SOURCE
#define FIU_ENABLE 1

#include "agent_internal.h"
#include "points_table.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* glibc's fortified entry points: declared by its headers only when the
 * includer is fortified, so declared here. */
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

/* ------------------------------------------------------------------ */
/* The recursion guard                                                  */
/* ------------------------------------------------------------------ */

/* libfiu's wrappers share a per-thread counter, _fiu_called, that its
 * preload defines: while it is raised they call the real function at once.
 * These wrappers read and raise the same counter, so that a call made from
 * inside libfiu, from the agent's decision or from another wrapper is
 * neither failed nor counted, and the agent's own thread (which raises it
 * for good) always passes through. As libfiu's wrappers do, the counter
 * stays raised during the real call, so what the real function calls
 * inside (an allocation in vfprintf) never fails on its behalf.
 *
 * dlsym returns the calling thread's copy of a thread-local symbol, so each
 * thread looks it up once. Without libfiu's preload, a counter of the
 * agent's own stands in. */
static __thread int *guard_ptr;
static __thread int own_guard;

static int *guard(void)
{
	if (!guard_ptr) {
		int *g = dlsym(RTLD_DEFAULT, "_fiu_called");
		guard_ptr = g ? g : &own_guard;
	}
	return guard_ptr;
}

enum { PASS_THROUGH = -1 };

/* The point's first valid errno: the failure's errno when the decision
 * gave none (a point enabled through libfiu directly). */
static int default_errno(const char *point)
{
	const fl_point_def *d = fl_point_def_find(point);
	return d && d->errnos[0] ? d->errnos[0] : EIO;
}

/* Decides one call. PASS_THROUGH: the guard was raised, call the real
 * function and nothing else. 0: call the real function, then wrap_end().
 * Otherwise the errno the call fails with. */
static int wrap_begin(const char *point)
{
	/* A call that goes on to the real function sees errno as its caller
	 * left it: readdir tells the end of a directory from an error only
	 * by errno. */
	int saved = errno;
	int *g = guard();
	if (*g > 0) {
		errno = saved;
		return PASS_THROUGH;
	}
	(*g)++;
	if (!fiu_fail(point)) {
		errno = saved;
		return 0;
	}
	intptr_t info = (intptr_t)fiu_failinfo();
	(*g)--;
	return info > 0 && info < 4096 ? (int)info : default_errno(point);
}

static void wrap_end(void)
{
	(*guard())--;
}

#define REAL(type, name)                                          \
	static _Atomic(void *) real_slot_;                        \
	__typeof__(type) real = (__typeof__(type))fl_agent_next(&real_slot_, name)

/* The body of a wrapper whose failure is a return value plus errno:
 * "call" is the real call, evaluated once. */
#define WRAP(point, failret, call)                                 \
	do {                                                       \
		if (!real) {                                       \
			errno = ENOSYS;                            \
			return failret;                            \
		}                                                  \
		int e_ = wrap_begin(point);                        \
		if (e_ == PASS_THROUGH)                            \
			return call;                               \
		if (e_ > 0) {                                      \
			errno = e_;                                \
			return failret;                            \
		}                                                  \
		__typeof__(call) r_ = call;                        \
		wrap_end();                                        \
		return r_;                                         \
	} while (0)

/* The same, for a function that makes an fd: a new fd's origin is
 * recorded (lib/agent_fd.c). */
#define WRAP_FD(point, what, call)                                 \
	do {                                                       \
		if (!real) {                                       \
			errno = ENOSYS;                            \
			return -1;                                 \
		}                                                  \
		int e_ = wrap_begin(point);                        \
		if (e_ == PASS_THROUGH)                            \
			return call;                               \
		if (e_ > 0) {                                      \
			errno = e_;                                \
			return -1;                                 \
		}                                                  \
		int r_ = call;                                     \
		wrap_end();                                        \
		if (r_ >= 0) {                                     \
			int saved_ = errno;                        \
			fl_sites_fd_created(r_, what);             \
			errno = saved_;                            \
		}                                                  \
		return r_;                                         \
	} while (0)

/* The same, for a stream function: a failure also sets the stream's error
 * indicator, so ferror() reports it as it would a real failure. */
#define WRAP_STREAM(point, failret, fp, call)                      \
	do {                                                       \
		if (!real) {                                       \
			errno = ENOSYS;                            \
			return failret;                            \
		}                                                  \
		int e_ = wrap_begin(point);                        \
		if (e_ == PASS_THROUGH)                            \
			return call;                               \
		if (e_ > 0) {                                      \
			stream_error(fp);                          \
			errno = e_;                                \
			return failret;                            \
		}                                                  \
		__typeof__(call) r_ = call;                        \
		wrap_end();                                        \
		return r_;                                         \
	} while (0)

static void stream_error(FILE *fp)
{
#ifdef _IO_ERR_SEEN
	if (!fp)
		return;
	flockfile(fp);
	fp->_flags |= _IO_ERR_SEEN;
	funlockfile(fp);
#else
	(void)fp;
#endif
}

/* open's mode argument is there only when the flags create a file. */
static int wants_mode(int flags)
{
	return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

/* ------------------------------------------------------------------ */
/* Network                                                              */
/* ------------------------------------------------------------------ */

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	REAL(int (*)(int, struct sockaddr *, socklen_t *, int), "accept4");
	WRAP_FD("posix/io/net/accept4", "accept4", real(fd, addr, addrlen, flags));
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
	     struct timespec *timeout)
{
	REAL(int (*)(int, struct mmsghdr *, unsigned int, int,
		     struct timespec *), "recvmmsg");
	WRAP("posix/io/net/recvmmsg", -1, real(fd, v, n, flags, timeout));
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	REAL(int (*)(int, struct mmsghdr *, unsigned int, int), "sendmmsg");
	WRAP("posix/io/net/sendmmsg", -1, real(fd, v, n, flags));
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	REAL(ssize_t (*)(int, int, off_t *, size_t), "sendfile");
	WRAP("posix/io/net/sendfile", -1, real(out, in, off, count));
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	REAL(ssize_t (*)(int, int, off64_t *, size_t), "sendfile64");
	WRAP("posix/io/net/sendfile", -1, real(out, in, off, count));
}

int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	REAL(int (*)(int, struct epoll_event *, int, int), "epoll_wait");
	WRAP("posix/io/net/epoll_wait", -1, real(epfd, ev, max, timeout));
}

int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
		const sigset_t *ss)
{
	REAL(int (*)(int, struct epoll_event *, int, int, const sigset_t *),
	     "epoll_pwait");
	WRAP("posix/io/net/epoll_wait", -1, real(epfd, ev, max, timeout, ss));
}

#if __GLIBC_PREREQ(2, 35)
int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
		 const struct timespec *timeout, const sigset_t *ss)
{
	REAL(int (*)(int, struct epoll_event *, int, const struct timespec *,
		     const sigset_t *), "epoll_pwait2");
	WRAP("posix/io/net/epoll_wait", -1, real(epfd, ev, max, timeout, ss));
}
#endif

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
	  const sigset_t *ss)
{
	REAL(int (*)(struct pollfd *, nfds_t, const struct timespec *,
		     const sigset_t *), "ppoll");
	WRAP("posix/io/net/poll", -1, real(fds, nfds, timeout, ss));
}

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	REAL(int (*)(struct pollfd *, nfds_t, int, size_t), "__poll_chk");
	WRAP("posix/io/net/poll", -1, real(fds, nfds, timeout, fdslen));
}

int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
		const sigset_t *ss, size_t fdslen)
{
	REAL(int (*)(struct pollfd *, nfds_t, const struct timespec *,
		     const sigset_t *, size_t), "__ppoll_chk");
	WRAP("posix/io/net/poll", -1, real(fds, nfds, timeout, ss, fdslen));
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	REAL(ssize_t (*)(int, void *, size_t, size_t, int), "__recv_chk");
	WRAP("posix/io/net/recv", -1, real(fd, buf, n, buflen, flags));
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *addrlen)
{
	REAL(ssize_t (*)(int, void *, size_t, size_t, int, struct sockaddr *,
			 socklen_t *), "__recvfrom_chk");
	WRAP("posix/io/net/recvfrom", -1,
	     real(fd, buf, n, buflen, flags, addr, addrlen));
}

/* ------------------------------------------------------------------ */
/* Opening, reading, directories                                        */
/* ------------------------------------------------------------------ */

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (wants_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	REAL(int (*)(int, const char *, int, ...), "openat");
	WRAP_FD("posix/io/oc/openat", "openat", real(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (wants_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	REAL(int (*)(int, const char *, int, ...), "openat64");
	WRAP_FD("posix/io/oc/openat", "openat", real(dirfd, path, flags, mode));
}

int __open_2(const char *path, int flags)
{
	REAL(int (*)(const char *, int), "__open_2");
	WRAP_FD("posix/io/oc/open", "open", real(path, flags));
}

int __open64_2(const char *path, int flags)
{
	REAL(int (*)(const char *, int), "__open64_2");
	WRAP_FD("posix/io/oc/open", "open", real(path, flags));
}

int __openat_2(int dirfd, const char *path, int flags)
{
	REAL(int (*)(int, const char *, int), "__openat_2");
	WRAP_FD("posix/io/oc/openat", "openat", real(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	REAL(int (*)(int, const char *, int), "__openat64_2");
	WRAP_FD("posix/io/oc/openat", "openat", real(dirfd, path, flags));
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	REAL(ssize_t (*)(int, void *, size_t, size_t), "__read_chk");
	WRAP("posix/io/rw/read", -1, real(fd, buf, n, buflen));
}

ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	REAL(ssize_t (*)(int, void *, size_t, off_t, size_t), "__pread_chk");
	WRAP("posix/io/rw/pread", -1, real(fd, buf, n, off, buflen));
}

ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	REAL(ssize_t (*)(int, void *, size_t, off64_t, size_t), "__pread64_chk");
	WRAP("posix/io/rw/pread", -1, real(fd, buf, n, off, buflen));
}

struct dirent64 *readdir64(DIR *dir)
{
	REAL(struct dirent64 *(*)(DIR *), "readdir64");
	WRAP("posix/io/dir/readdir", NULL, real(dir));
}

/* readdir_r reports its error as the return value, not in errno. */
int readdir64_r(DIR *dir, struct dirent64 *entry, struct dirent64 **result)
{
	REAL(int (*)(DIR *, struct dirent64 *, struct dirent64 **),
	     "readdir64_r");
	if (!real)
		return ENOSYS;
	int e = wrap_begin("posix/io/dir/readdir_r");
	if (e == PASS_THROUGH)
		return real(dir, entry, result);
	if (e > 0) {
		*result = NULL;
		return e;
	}
	int r = real(dir, entry, result);
	wrap_end();
	return r;
}

/* libfiu wraps only __sysv_signal, which programs built with the default
 * feature macros never call: their signal() is this one. */
sighandler_t signal(int sig, sighandler_t handler)
{
	REAL(sighandler_t (*)(int, sighandler_t), "signal");
	WRAP("posix/proc/signal", SIG_ERR, real(sig, handler));
}

/* ------------------------------------------------------------------ */
/* Memory                                                               */
/* ------------------------------------------------------------------ */

/* posix_memalign reports its error as the return value; errno is left
 * alone, as the real one leaves it. */
int posix_memalign(void **out, size_t align, size_t size)
{
	REAL(int (*)(void **, size_t, size_t), "posix_memalign");
	if (!real)
		return ENOMEM;
	int saved = errno;
	int e = wrap_begin("libc/mm/posix_memalign");
	if (e == PASS_THROUGH)
		return real(out, align, size);
	if (e > 0) {
		errno = saved;
		return e;
	}
	int r = real(out, align, size);
	wrap_end();
	return r;
}

void *aligned_alloc(size_t align, size_t size)
{
	REAL(void *(*)(size_t, size_t), "aligned_alloc");
	WRAP("libc/mm/aligned_alloc", NULL, real(align, size));
}

void *memalign(size_t align, size_t size)
{
	REAL(void *(*)(size_t, size_t), "memalign");
	WRAP("libc/mm/aligned_alloc", NULL, real(align, size));
}

/* ------------------------------------------------------------------ */
/* Streams                                                              */
/* ------------------------------------------------------------------ */

int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
	REAL(int (*)(FILE *, int, const char *, va_list), "__vfprintf_chk");
	WRAP_STREAM("posix/stdio/sp/vfprintf", -1, fp, real(fp, flag, fmt, ap));
}

int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	REAL(int (*)(int, const char *, va_list), "__vprintf_chk");
	WRAP_STREAM("posix/stdio/sp/vprintf", -1, stdout, real(flag, fmt, ap));
}

int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	REAL(int (*)(int, int, const char *, va_list), "__vdprintf_chk");
	WRAP("posix/stdio/sp/vdprintf", -1, real(fd, flag, fmt, ap));
}

/* The variadic ones format through the real v-variant, as glibc does. */
int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	REAL(int (*)(FILE *, int, const char *, va_list), "__vfprintf_chk");
	va_list ap;
	va_start(ap, fmt);
	int r;
	int e = real ? wrap_begin("posix/stdio/sp/fprintf") : ENOSYS;
	if (e == PASS_THROUGH) {
		r = real(fp, flag, fmt, ap);
	} else if (e > 0) {
		stream_error(fp);
		errno = e;
		r = -1;
	} else {
		r = real(fp, flag, fmt, ap);
		wrap_end();
	}
	va_end(ap);
	return r;
}

int __printf_chk(int flag, const char *fmt, ...)
{
	REAL(int (*)(FILE *, int, const char *, va_list), "__vfprintf_chk");
	va_list ap;
	va_start(ap, fmt);
	int r;
	int e = real ? wrap_begin("posix/stdio/sp/printf") : ENOSYS;
	if (e == PASS_THROUGH) {
		r = real(stdout, flag, fmt, ap);
	} else if (e > 0) {
		stream_error(stdout);
		errno = e;
		r = -1;
	} else {
		r = real(stdout, flag, fmt, ap);
		wrap_end();
	}
	va_end(ap);
	return r;
}

int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	REAL(int (*)(int, int, const char *, va_list), "__vdprintf_chk");
	va_list ap;
	va_start(ap, fmt);
	int r;
	int e = real ? wrap_begin("posix/stdio/sp/dprintf") : ENOSYS;
	if (e == PASS_THROUGH) {
		r = real(fd, flag, fmt, ap);
	} else if (e > 0) {
		errno = e;
		r = -1;
	} else {
		r = real(fd, flag, fmt, ap);
		wrap_end();
	}
	va_end(ap);
	return r;
}

char *__fgets_chk(char *buf, size_t size, int n, FILE *fp)
{
	REAL(char *(*)(char *, size_t, int, FILE *), "__fgets_chk");
	WRAP_STREAM("posix/stdio/gp/fgets", NULL, fp, real(buf, size, n, fp));
}

size_t __fread_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp)
{
	REAL(size_t (*)(void *, size_t, size_t, size_t, FILE *), "__fread_chk");
	WRAP_STREAM("posix/stdio/rw/fread", 0, fp, real(ptr, ptrlen, size, n, fp));
}

ssize_t __getdelim(char **line, size_t *n, int delim, FILE *fp)
{
	REAL(ssize_t (*)(char **, size_t *, int, FILE *), "__getdelim");
	WRAP_STREAM("posix/stdio/gp/getline", -1, fp, real(line, n, delim, fp));
}

int fgetpos64(FILE *fp, fpos64_t *pos)
{
	REAL(int (*)(FILE *, fpos64_t *), "fgetpos64");
	WRAP("posix/stdio/seek/fgetpos", -1, real(fp, pos));
}
