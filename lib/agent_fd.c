/* Where each fd was born: wrappers of the functions that create (and
 * close) descriptors, so that the agent can remember the call site that
 * created each fd of a process (lib/agent_sites.c) and the harness can
 * say where a leaked one was opened ("opened at fileproc.c:123
 * (process_batch)").
 *
 * Each wrapper calls the next definition of its function (libfiu's
 * wrapper where libfiu has one, so its point still decides; else the C
 * library's) and, on success, records the new fd. Recording costs nothing
 * unless the region asks for origins (target.origins, or a sweep): one
 * load and a predictable branch. The functions lib/agent_wrap.c already
 * wraps (openat, accept4, the fortified opens) record there.
 *
 * Like lib/agent_wrap.c, built without _FORTIFY_SOURCE and never
 * allocating: the next function is looked up once with dlsym(RTLD_NEXT)
 * and kept in an atomic slot. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>


#define NEXT(type, name)                                           \
	static _Atomic(void *) next_slot_;                         \
	__typeof__(type) next = (__typeof__(type))fl_agent_next(&next_slot_, name)

/* Records fd (if the call made one) without touching errno. */
static int born(int fd, const char *what)
{
	if (fd >= 0) {
		int saved = errno;
		fl_sites_fd_created(fd, what);
		errno = saved;
	}
	return fd;
}

static int wants_mode(int flags)
{
	return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

#define NOT_FOUND(ret)                     \
	do {                               \
		if (!next) {               \
			errno = ENOSYS;    \
			return ret;        \
		}                          \
	} while (0)

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (wants_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	NEXT(int (*)(const char *, int, ...), "open");
	NOT_FOUND(-1);
	return born(next(path, flags, mode), "open");
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (wants_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	NEXT(int (*)(const char *, int, ...), "open64");
	NOT_FOUND(-1);
	return born(next(path, flags, mode), "open");
}

int creat(const char *path, mode_t mode)
{
	NEXT(int (*)(const char *, mode_t), "creat");
	NOT_FOUND(-1);
	return born(next(path, mode), "creat");
}

int creat64(const char *path, mode_t mode)
{
	NEXT(int (*)(const char *, mode_t), "creat64");
	NOT_FOUND(-1);
	return born(next(path, mode), "creat");
}

int mkstemp(char *tmpl)
{
	NEXT(int (*)(char *), "mkstemp");
	NOT_FOUND(-1);
	return born(next(tmpl), "mkstemp");
}

int mkostemp(char *tmpl, int flags)
{
	NEXT(int (*)(char *, int), "mkostemp");
	NOT_FOUND(-1);
	return born(next(tmpl, flags), "mkostemp");
}

int mkstemps(char *tmpl, int suffixlen)
{
	NEXT(int (*)(char *, int), "mkstemps");
	NOT_FOUND(-1);
	return born(next(tmpl, suffixlen), "mkstemps");
}

int mkostemps(char *tmpl, int suffixlen, int flags)
{
	NEXT(int (*)(char *, int, int), "mkostemps");
	NOT_FOUND(-1);
	return born(next(tmpl, suffixlen, flags), "mkostemps");
}

int memfd_create(const char *name, unsigned int flags)
{
	NEXT(int (*)(const char *, unsigned int), "memfd_create");
	NOT_FOUND(-1);
	return born(next(name, flags), "memfd_create");
}

/* ------------------------------------------------------------------ */
/* Sockets, pipes, duplicates                                           */
/* ------------------------------------------------------------------ */

int socket(int domain, int type, int protocol)
{
	NEXT(int (*)(int, int, int), "socket");
	NOT_FOUND(-1);
	return born(next(domain, type, protocol), "socket");
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
	NEXT(int (*)(int, int, int, int[2]), "socketpair");
	NOT_FOUND(-1);
	int r = next(domain, type, protocol, sv);
	if (r == 0) {
		born(sv[0], "socketpair");
		born(sv[1], "socketpair");
	}
	return r;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	NEXT(int (*)(int, struct sockaddr *, socklen_t *), "accept");
	NOT_FOUND(-1);
	return born(next(fd, addr, addrlen), "accept");
}

int pipe(int fds[2])
{
	NEXT(int (*)(int[2]), "pipe");
	NOT_FOUND(-1);
	int r = next(fds);
	if (r == 0) {
		born(fds[0], "pipe");
		born(fds[1], "pipe");
	}
	return r;
}

int pipe2(int fds[2], int flags)
{
	NEXT(int (*)(int[2], int), "pipe2");
	NOT_FOUND(-1);
	int r = next(fds, flags);
	if (r == 0) {
		born(fds[0], "pipe2");
		born(fds[1], "pipe2");
	}
	return r;
}

int dup(int fd)
{
	NEXT(int (*)(int), "dup");
	NOT_FOUND(-1);
	return born(next(fd), "dup");
}

int dup2(int fd, int to)
{
	NEXT(int (*)(int, int), "dup2");
	NOT_FOUND(-1);
	return born(next(fd, to), "dup2");
}

int dup3(int fd, int to, int flags)
{
	NEXT(int (*)(int, int, int), "dup3");
	NOT_FOUND(-1);
	return born(next(fd, to, flags), "dup3");
}

/* F_DUPFD and F_DUPFD_CLOEXEC make an fd; every other command passes
 * through with its argument as the C library reads it (one word). */
int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	NEXT(int (*)(int, int, ...), "fcntl");
	NOT_FOUND(-1);
	int r = next(fd, cmd, arg);
	return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? born(r, "fcntl") : r;
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	NEXT(int (*)(int, int, ...), "fcntl64");
	NOT_FOUND(-1);
	int r = next(fd, cmd, arg);
	return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? born(r, "fcntl") : r;
}

/* ------------------------------------------------------------------ */
/* Event descriptors                                                    */
/* ------------------------------------------------------------------ */

int eventfd(unsigned int initval, int flags)
{
	NEXT(int (*)(unsigned int, int), "eventfd");
	NOT_FOUND(-1);
	return born(next(initval, flags), "eventfd");
}

int epoll_create(int size)
{
	NEXT(int (*)(int), "epoll_create");
	NOT_FOUND(-1);
	return born(next(size), "epoll_create");
}

int epoll_create1(int flags)
{
	NEXT(int (*)(int), "epoll_create1");
	NOT_FOUND(-1);
	return born(next(flags), "epoll_create1");
}

int timerfd_create(int clockid, int flags)
{
	NEXT(int (*)(int, int), "timerfd_create");
	NOT_FOUND(-1);
	return born(next(clockid, flags), "timerfd_create");
}

int signalfd(int fd, const sigset_t *mask, int flags)
{
	NEXT(int (*)(int, const sigset_t *, int), "signalfd");
	NOT_FOUND(-1);
	int r = next(fd, mask, flags);
	/* Given an fd, it changes that one's mask: nothing new. */
	return fd == -1 ? born(r, "signalfd") : r;
}

int inotify_init(void)
{
	NEXT(int (*)(void), "inotify_init");
	NOT_FOUND(-1);
	return born(next(), "inotify_init");
}

int inotify_init1(int flags)
{
	NEXT(int (*)(int), "inotify_init1");
	NOT_FOUND(-1);
	return born(next(flags), "inotify_init1");
}

/* ------------------------------------------------------------------ */
/* Streams and directories: their fd is made inside the C library       */
/* ------------------------------------------------------------------ */

static FILE *born_stream(FILE *fp, const char *what)
{
	if (fp)
		born(fileno(fp), what);
	return fp;
}

FILE *fopen(const char *path, const char *mode)
{
	NEXT(FILE * (*)(const char *, const char *), "fopen");
	NOT_FOUND(NULL);
	return born_stream(next(path, mode), "fopen");
}

FILE *fopen64(const char *path, const char *mode)
{
	NEXT(FILE * (*)(const char *, const char *), "fopen64");
	NOT_FOUND(NULL);
	return born_stream(next(path, mode), "fopen");
}

FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	NEXT(FILE * (*)(const char *, const char *, FILE *), "freopen");
	NOT_FOUND(NULL);
	return born_stream(next(path, mode, fp), "freopen");
}

FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	NEXT(FILE * (*)(const char *, const char *, FILE *), "freopen64");
	NOT_FOUND(NULL);
	return born_stream(next(path, mode, fp), "freopen");
}

FILE *tmpfile(void)
{
	NEXT(FILE * (*)(void), "tmpfile");
	NOT_FOUND(NULL);
	return born_stream(next(), "tmpfile");
}

FILE *tmpfile64(void)
{
	NEXT(FILE * (*)(void), "tmpfile64");
	NOT_FOUND(NULL);
	return born_stream(next(), "tmpfile");
}

FILE *popen(const char *cmd, const char *mode)
{
	NEXT(FILE * (*)(const char *, const char *), "popen");
	NOT_FOUND(NULL);
	return born_stream(next(cmd, mode), "popen");
}

int fclose(FILE *fp)
{
	NEXT(int (*)(FILE *), "fclose");
	NOT_FOUND(EOF);
	if (fp)
		fl_sites_fd_closed(fileno(fp));
	return next(fp);
}

int pclose(FILE *fp)
{
	NEXT(int (*)(FILE *), "pclose");
	NOT_FOUND(-1);
	if (fp)
		fl_sites_fd_closed(fileno(fp));
	return next(fp);
}

DIR *opendir(const char *path)
{
	NEXT(DIR * (*)(const char *), "opendir");
	NOT_FOUND(NULL);
	DIR *d = next(path);
	if (d)
		born(dirfd(d), "opendir");
	return d;
}

int closedir(DIR *d)
{
	NEXT(int (*)(DIR *), "closedir");
	NOT_FOUND(-1);
	/* Declared nonnull: closedir(NULL) is the caller's bug either way. */
	fl_sites_fd_closed(dirfd(d));
	return next(d);
}
