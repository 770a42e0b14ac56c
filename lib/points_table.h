/* The failure points faultline knows: one row per point, with the C
 * functions whose calls reach it and the errnos a failed call may take.
 *
 * This table is the one place that says so. The agent (lib/agent.c) reads
 * the errnos of a point from it; lib/agent_wrap.c wraps the functions in
 * the "faultline" column; the harness (harness/points.c) checks the names
 * scenarios use against it and tells which of a binary's imports reach
 * which point. A unit test (tests/unit_elf.c) checks the "libfiu" column
 * against the fiu_posix_preload.so the build found, and the "faultline"
 * column against lib/faultline-agent.so.
 *
 * Columns:
 *  - name: the point, in libfiu's scheme (family/subsystem/function);
 *  - libfiu: functions libfiu's POSIX preload wraps for this point;
 *  - faultline: functions faultline's agent wraps for it: calls libfiu
 *    has no wrapper for (accept4, openat, epoll_wait, ...), and the
 *    fortified or 64-bit variants a distribution's build calls instead of
 *    the plain function (__read_chk for read), so that a scenario written
 *    for read() reaches a program built with _FORTIFY_SOURCE;
 *  - errnos: after the functions' manual pages, those the environment can
 *    cause (EIO, ENOSPC, EMFILE, ECONNRESET...), not those that only a
 *    bug in the caller causes (EBADF, EFAULT, EINVAL). A failure whose
 *    errno the scenario did not choose takes one of them, picked by the
 *    decision's hash; the order is part of that choice, so a row's list
 *    only grows at its end. An empty list: the point does not set errno
 *    (ferror, the "reduce" points that shorten a transfer).
 *
 * Linux-only network calls (accept4, recvmmsg, sendfile, epoll_wait) are
 * named under posix/io/net/ with the calls they stand beside, so that a
 * wildcard over that family reaches every network call a server makes.
 *
 * Header only, for the agent (a shared object built on its own) and the
 * harness alike: each includer gets its own copy of the rows. */
#ifndef FL_POINTS_TABLE_H
#define FL_POINTS_TABLE_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define FL_POINT_MAX_ERRNOS 8

typedef struct fl_point_def {
	const char *name;
	const char *libfiu;	/* functions, separated by spaces */
	const char *faultline;	/* functions, separated by spaces */
	int errnos[FL_POINT_MAX_ERRNOS]; /* ends at the first 0 */
} fl_point_def;

/* Families of errnos that several points share. */
/* Functions the agent wraps only to remember the call site that created
 * (or released) an fd, for leak forensics (lib/agent_fd.c): each calls
 * the next definition (libfiu's wrapper where libfiu has one, whose point
 * still decides) and records the new fd. They are not points. The
 * functions of the "faultline" column that make an fd (openat, accept4,
 * the fortified opens) record in their own wrappers. */
#define FL_ORIGIN_FUNCTIONS                                                  \
	"open open64 creat creat64 mkstemp mkostemp mkstemps mkostemps "     \
	"memfd_create socket socketpair accept pipe pipe2 dup dup2 dup3 "    \
	"fcntl fcntl64 eventfd epoll_create epoll_create1 timerfd_create "   \
	"signalfd inotify_init inotify_init1 fopen fopen64 freopen "         \
	"freopen64 tmpfile tmpfile64 popen fclose pclose opendir closedir"

/* Functions the agent wraps only to learn how a child ended from its
 * parent's wait (lib/agent_reap.c): each calls the next definition
 * (libfiu's wrapper for wait, waitpid and waitid, whose points still
 * decide) and records the child it reaped. They are not points. */
#define FL_REAP_FUNCTIONS "wait waitpid waitid wait3 wait4"

#define FL_E_OPEN EACCES, EMFILE, ENFILE, ENOENT, ENOMEM, ENOSPC, EROFS
#define FL_E_CLOSE EIO, EINTR, ENOSPC
#define FL_E_READ EIO, EINTR, EAGAIN
#define FL_E_WRITE EIO, ENOSPC, EINTR, EPIPE, EDQUOT
#define FL_E_ACCEPT EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED, EINTR
#define FL_E_SEND ECONNRESET, EPIPE, EINTR, ENOBUFS
#define FL_E_RECV ECONNRESET, EINTR, ETIMEDOUT
#define FL_E_WAIT EINTR, ENOMEM
#define FL_E_SYNC EIO, ENOSPC, EDQUOT
#define FL_E_UNLINK EACCES, EBUSY, EIO, ENOENT, ENOMEM, EPERM, EROFS
#define FL_E_STDIO_IN EIO, EINTR
#define FL_E_STDIO_OUT EIO, ENOSPC, EPIPE, EINTR
#define FL_E_SEEK EIO, ENOSPC
#define FL_E_TELL EOVERFLOW, ESPIPE
#define FL_E_CHILD ECHILD, EINTR

static const fl_point_def fl_point_table[] = {
	/* Memory */
	{ "libc/mm/aligned_alloc", "", "aligned_alloc memalign", { ENOMEM } },
	{ "libc/mm/calloc", "calloc", "", { ENOMEM } },
	{ "libc/mm/malloc", "malloc", "", { ENOMEM } },
	{ "libc/mm/posix_memalign", "", "posix_memalign", { ENOMEM } },
	{ "libc/mm/realloc", "realloc", "", { ENOMEM } },
	{ "libc/str/strdup", "strdup", "", { ENOMEM } },
	{ "libc/str/strndup", "strndup", "", { ENOMEM } },
	{ "linux/io/sync_file_range", "sync_file_range", "", { EIO, ENOMEM, ENOSPC } },
	/* Directories and names */
	{ "posix/io/dir/closedir", "closedir", "", { EBADF } },
	{ "posix/io/dir/fdopendir", "fdopendir", "", { ENOMEM } },
	{ "posix/io/dir/opendir", "opendir", "",
	  { EACCES, EMFILE, ENFILE, ENOENT, ENOMEM, ENOTDIR } },
	{ "posix/io/dir/readdir", "readdir", "readdir64", { EBADF } },
	{ "posix/io/dir/readdir_r", "readdir_r", "readdir64_r", { EBADF } },
	{ "posix/io/dir/rename", "rename", "",
	  { EACCES, EBUSY, EDQUOT, ENOENT, ENOMEM, ENOSPC, EROFS, EXDEV } },
	{ "posix/io/dir/unlink", "unlink", "", { FL_E_UNLINK } },
	/* Network */
	{ "posix/io/net/accept", "accept", "", { FL_E_ACCEPT } },
	{ "posix/io/net/accept4", "", "accept4", { FL_E_ACCEPT } },
	{ "posix/io/net/bind", "bind", "",
	  { EADDRINUSE, EACCES, EADDRNOTAVAIL, ENOMEM } },
	{ "posix/io/net/connect", "connect", "",
	  { ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL,
	    EINTR } },
	{ "posix/io/net/epoll_wait", "", "epoll_wait epoll_pwait epoll_pwait2",
	  { EINTR } },
	{ "posix/io/net/listen", "listen", "", { EADDRINUSE } },
	{ "posix/io/net/poll", "poll", "__poll_chk ppoll __ppoll_chk", { FL_E_WAIT } },
	{ "posix/io/net/pselect", "pselect", "", { FL_E_WAIT } },
	{ "posix/io/net/recv", "recv", "__recv_chk", { FL_E_RECV } },
	{ "posix/io/net/recvfrom", "recvfrom", "__recvfrom_chk", { FL_E_RECV } },
	{ "posix/io/net/recvmmsg", "", "recvmmsg", { FL_E_RECV } },
	{ "posix/io/net/recvmsg", "recvmsg", "", { FL_E_RECV } },
	{ "posix/io/net/select", "select", "", { FL_E_WAIT } },
	{ "posix/io/net/send", "send", "", { FL_E_SEND } },
	{ "posix/io/net/sendfile", "", "sendfile sendfile64", { EAGAIN, EIO, ENOMEM } },
	{ "posix/io/net/sendmmsg", "", "sendmmsg", { FL_E_SEND } },
	{ "posix/io/net/sendmsg", "sendmsg", "", { FL_E_SEND } },
	{ "posix/io/net/sendto", "sendto", "", { FL_E_SEND } },
	{ "posix/io/net/shutdown", "shutdown", "", { ENOTCONN } },
	{ "posix/io/net/socket", "socket", "", { EMFILE, ENFILE, ENOBUFS, ENOMEM, EACCES } },
	/* Opening and closing. close() is the agent's, in front of libfiu's:
	 * a failed close still releases the fd, as on Linux. */
	{ "posix/io/oc/close", "", "close", { FL_E_CLOSE } },
	{ "posix/io/oc/open", "open open64", "__open_2 __open64_2", { FL_E_OPEN } },
	{ "posix/io/oc/openat", "", "openat openat64 __openat_2 __openat64_2",
	  { FL_E_OPEN } },
	/* Reading and writing */
	{ "posix/io/rw/ftruncate", "ftruncate ftruncate64", "", { EIO, EFBIG, EINTR } },
	{ "posix/io/rw/pread", "pread pread64", "__pread_chk __pread64_chk", { FL_E_READ } },
	{ "posix/io/rw/pread/reduce", "pread pread64", "", { 0 } },
	{ "posix/io/rw/preadv", "preadv preadv64", "", { FL_E_READ } },
	{ "posix/io/rw/preadv/reduce", "preadv preadv64", "", { 0 } },
	{ "posix/io/rw/pwrite", "pwrite pwrite64", "", { FL_E_WRITE } },
	{ "posix/io/rw/pwrite/reduce", "pwrite pwrite64", "", { 0 } },
	{ "posix/io/rw/pwritev", "pwritev pwritev64", "", { FL_E_WRITE } },
	{ "posix/io/rw/pwritev/reduce", "pwritev pwritev64", "", { 0 } },
	{ "posix/io/rw/read", "read", "__read_chk", { FL_E_READ } },
	{ "posix/io/rw/read/reduce", "read", "", { 0 } },
	{ "posix/io/rw/readv", "readv", "", { FL_E_READ } },
	{ "posix/io/rw/readv/reduce", "readv", "", { 0 } },
	{ "posix/io/rw/truncate", "truncate truncate64", "",
	  { EACCES, EIO, EFBIG, ENOENT, EROFS, EINTR } },
	{ "posix/io/rw/write", "write", "", { FL_E_WRITE } },
	{ "posix/io/rw/write/reduce", "write", "", { 0 } },
	{ "posix/io/rw/writev", "writev", "", { FL_E_WRITE } },
	{ "posix/io/rw/writev/reduce", "writev", "", { 0 } },
	{ "posix/io/sync/fdatasync", "fdatasync", "", { FL_E_SYNC } },
	{ "posix/io/sync/fsync", "fsync", "", { FL_E_SYNC } },
	/* Memory mappings */
	{ "posix/mm/madvise", "madvise", "", { EAGAIN, ENOMEM } },
	{ "posix/mm/mlock", "mlock", "", { ENOMEM, EAGAIN, EPERM } },
	{ "posix/mm/mlockall", "mlockall", "", { ENOMEM, EAGAIN, EPERM } },
	{ "posix/mm/mmap", "mmap mmap64", "", { ENOMEM, EAGAIN, ENFILE } },
	{ "posix/mm/mprotect", "mprotect", "", { ENOMEM } },
	{ "posix/mm/msync", "msync", "", { ENOMEM, EBUSY } },
	{ "posix/mm/munlock", "munlock", "", { ENOMEM } },
	{ "posix/mm/munlockall", "munlockall", "", { EPERM } },
	{ "posix/mm/munmap", "munmap", "", { ENOMEM } },
	/* Processes */
	{ "posix/proc/fork", "fork", "", { EAGAIN, ENOMEM } },
	{ "posix/proc/kill", "kill", "", { EPERM, ESRCH } },
	{ "posix/proc/sigaction", "sigaction", "", { EINVAL } },
	{ "posix/proc/signal", "__sysv_signal", "signal", { EINVAL } },
	{ "posix/proc/wait", "wait", "", { FL_E_CHILD } },
	{ "posix/proc/waitid", "waitid", "", { FL_E_CHILD } },
	{ "posix/proc/waitpid", "waitpid", "", { FL_E_CHILD } },
	/* Streams (stdio). A failed call also sets the stream's error
	 * indicator, so ferror() reports it. */
	{ "posix/stdio/error/ferror", "ferror", "", { 0 } },
	{ "posix/stdio/fflush", "fflush", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/ftrylockfile", "ftrylockfile", "", { 0 } },
	{ "posix/stdio/gp/fgetc", "fgetc", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/gp/fgets", "fgets", "__fgets_chk", { FL_E_STDIO_IN } },
	{ "posix/stdio/gp/fputc", "fputc", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/gp/fputs", "fputs", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/gp/getc", "getc", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/gp/getchar", "getchar", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/gp/getdelim", "getdelim", "", { FL_E_STDIO_IN, ENOMEM } },
	/* An optimised build's getline() is an inline call of __getdelim. */
	{ "posix/stdio/gp/getline", "getline", "__getdelim", { FL_E_STDIO_IN, ENOMEM } },
	{ "posix/stdio/gp/gets", "gets", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/gp/putc", "putc", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/gp/putchar", "putchar", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/gp/puts", "puts", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/gp/ungetc", "ungetc", "", { 0 } },
	{ "posix/stdio/oc/fclose", "fclose", "", { FL_E_CLOSE } },
	{ "posix/stdio/oc/fdopen", "fdopen", "", { ENOMEM, EMFILE } },
	{ "posix/stdio/oc/fmemopen", "fmemopen", "", { ENOMEM } },
	{ "posix/stdio/oc/fopen", "fopen fopen64", "", { FL_E_OPEN } },
	{ "posix/stdio/oc/freopen", "freopen freopen64", "", { FL_E_OPEN } },
	{ "posix/stdio/oc/open_memstream", "open_memstream", "", { ENOMEM } },
	{ "posix/stdio/oc/pclose", "pclose", "", { ECHILD } },
	{ "posix/stdio/oc/popen", "popen", "", { EMFILE, ENFILE, ENOMEM, EAGAIN } },
	{ "posix/stdio/remove", "remove", "", { FL_E_UNLINK } },
	{ "posix/stdio/rw/fread", "fread", "__fread_chk", { FL_E_STDIO_IN } },
	{ "posix/stdio/rw/fwrite", "fwrite", "", { FL_E_STDIO_OUT } },
	{ "posix/stdio/seek/fgetpos", "fgetpos", "fgetpos64", { FL_E_TELL } },
	{ "posix/stdio/seek/fseek", "fseek", "", { FL_E_SEEK } },
	{ "posix/stdio/seek/fseeko", "fseeko fseeko64", "", { FL_E_SEEK } },
	{ "posix/stdio/seek/fsetpos", "fsetpos fsetpos64", "", { FL_E_SEEK } },
	{ "posix/stdio/seek/ftell", "ftell", "", { FL_E_TELL } },
	{ "posix/stdio/seek/ftello", "ftello ftello64", "", { FL_E_TELL } },
	{ "posix/stdio/setvbuf", "setvbuf", "", { ENOMEM } },
	{ "posix/stdio/sp/dprintf", "dprintf", "__dprintf_chk", { FL_E_STDIO_OUT } },
	{ "posix/stdio/sp/fprintf", "fprintf", "__fprintf_chk", { FL_E_STDIO_OUT } },
	{ "posix/stdio/sp/fscanf", "__isoc99_fscanf", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/sp/printf", "printf", "__printf_chk", { FL_E_STDIO_OUT } },
	{ "posix/stdio/sp/scanf", "__isoc99_scanf", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/sp/vdprintf", "vdprintf", "__vdprintf_chk", { FL_E_STDIO_OUT } },
	{ "posix/stdio/sp/vfprintf", "vfprintf", "__vfprintf_chk", { FL_E_STDIO_OUT } },
	{ "posix/stdio/sp/vfscanf", "__isoc99_vfscanf", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/sp/vprintf", "vprintf", "__vprintf_chk", { FL_E_STDIO_OUT } },
	{ "posix/stdio/sp/vscanf", "__isoc99_vscanf", "", { FL_E_STDIO_IN } },
	{ "posix/stdio/tmp/tempnam", "tempnam", "", { ENOMEM } },
	{ "posix/stdio/tmp/tmpfile", "tmpfile tmpfile64", "",
	  { EMFILE, ENFILE, ENOSPC, EROFS, EACCES } },
	{ "posix/stdio/tmp/tmpnam", "tmpnam", "", { 0 } },
};

#define FL_POINT_TABLE_LEN (sizeof fl_point_table / sizeof fl_point_table[0])

/* The row of a point, or NULL. */
static inline const fl_point_def *fl_point_def_find(const char *name)
{
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++)
		if (strcmp(fl_point_table[i].name, name) == 0)
			return &fl_point_table[i];
	return NULL;
}

/* How many errnos a row lists. */
static inline int fl_point_def_nerrnos(const fl_point_def *d)
{
	int n = 0;
	while (n < FL_POINT_MAX_ERRNOS && d->errnos[n] != 0)
		n++;
	return n;
}

/* Whether a list of functions separated by spaces holds fn. */
static inline int fl_point_list_has(const char *list, const char *fn)
{
	size_t len = strlen(fn);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, fn, len) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

#endif
