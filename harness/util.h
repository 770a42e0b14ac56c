/* Small helpers shared by the harness: growable strings, clocks, parsing. */
#ifndef FL_UTIL_H
#define FL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A growable, always NUL-terminated byte string. Appending never fails:
 * out of memory aborts with a message (fl_out_of_memory), so the functions
 * that return int return 0, or -EINVAL for a format vsnprintf refuses. */
typedef struct fl_buf {
	char *data;
	size_t len;
	size_t cap;
} fl_buf;

void fl_buf_init(fl_buf *b);
void fl_buf_free(fl_buf *b);
/* Empties b, keeping its memory. */
void fl_buf_reset(fl_buf *b);
int fl_buf_append(fl_buf *b, const void *data, size_t len);
int fl_buf_puts(fl_buf *b, const char *s);
int fl_buf_putc(fl_buf *b, char c);
int fl_buf_printf(fl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int fl_buf_vprintf(fl_buf *b, const char *fmt, va_list ap);
/* Hands the string over to the caller (who frees it) and resets b. */
char *fl_buf_steal(fl_buf *b);
/* Appends first, then the words of text wrapped at width columns, each
 * line after the first indented by indent columns, and a newline: a
 * paragraph of --help. The first word goes right after first. */
void fl_buf_wrap(fl_buf *b, const char *first, int indent, int width,
		 const char *text);

/* Monotonic and wall clocks, in nanoseconds. */
int64_t fl_now_ns(void);
int64_t fl_wall_ns(void);
#define FL_NS_PER_SEC 1000000000LL
#define FL_NS_PER_MS 1000000LL

/* Formats a duration (ns) for people: "350 µs", "12.4 ms", "3.20 s". */
void fl_fmt_duration(char *out, size_t outlen, int64_t ns);
/* Formats a byte count for people: "812 KiB", "12.3 MiB". */
void fl_fmt_bytes(char *out, size_t outlen, double bytes);

/* Parses "8MiB", "512k", "1.5 GiB", "4096" into bytes. Returns 0 or -EINVAL. */
int fl_parse_bytes(const char *s, double *out);

/* Maps an errno name ("EIO") to its number and back. Unknown: -1 / NULL. */
int fl_errno_from_name(const char *name);
const char *fl_errno_name(int err);

/* strdup that aborts the process on allocation failure: the harness has no
 * sensible way to go on without memory, and a NULL here would only move the
 * crash. */
char *fl_xstrdup(const char *s);
/* The same policy for an allocation that failed elsewhere (Jansson's):
 * says so on stderr and aborts. */
_Noreturn void fl_out_of_memory(void);
void *fl_xmalloc(size_t n);
void *fl_xcalloc(size_t n, size_t size);
void *fl_xrealloc(void *p, size_t n);

/* Writes all of buf to fd, retrying on EINTR and short writes. 0 or -errno. */
int fl_write_all(int fd, const void *buf, size_t len);
/* Adds one to an eventfd's counter, the way one thread wakes another. A
 * failed write would leave the other asleep for good, and an eventfd
 * refuses only what never happens here (a counter near 2^64) or a closed
 * fd: anything else (EINTR, a failure injected into faultline itself) is
 * tried again. 0 or -errno (EBADF, EINVAL). */
int fl_eventfd_signal(int fd);
/* Reads a whole (small) file into a NUL-terminated malloc'd buffer. */
int fl_read_file(const char *path, char **out, size_t *outlen);
/* mkdir -p. 0 or -errno. */
int fl_mkdirs(const char *path, unsigned mode);
/* rm -rf. 0 or -errno of the first failure. */
int fl_rmtree(const char *path);

/* Directory containing the running executable (no trailing slash). */
const char *fl_exe_dir(void);

#endif
