#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fl_escape_xml(fl_buf *b, const char *str)
{
	if (!str)
		return;
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = fl_utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			fl_buf_puts(b, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		switch (cp) {
		case '<':
			fl_buf_puts(b, "&lt;");
			break;
		case '>':
			fl_buf_puts(b, "&gt;");
			break;
		case '&':
			fl_buf_puts(b, "&amp;");
			break;
		case '"':
			fl_buf_puts(b, "&quot;");
			break;
		case '\'':
			fl_buf_puts(b, "&#39;");
			break;
		default:
			if ((cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') ||
			    cp == 0x7F || cp == 0xFFFE || cp == 0xFFFF)
				fl_buf_puts(b, "\xEF\xBF\xBD");
			else
				fl_buf_append(b, s + i, n);
		}
		i += n;
	}
}

void fl_escape_script_json(fl_buf *b, const char *json)
{
	for (const char *p = json; *p; p++) {
		switch (*p) {
		case '<':
			fl_buf_puts(b, "\\u003c");
			break;
		case '>':
			fl_buf_puts(b, "\\u003e");
			break;
		case '&':
			fl_buf_puts(b, "\\u0026");
			break;
		default:
			fl_buf_putc(b, *p);
		}
	}
}

void fl_fmt_seconds(char *out, size_t len, double s)
{
	if (isnan(s))
		snprintf(out, len, "-");
	else if (!isfinite(s))
		snprintf(out, len, "%sinf s", s < 0 ? "-" : "");
	else if (fabs(s) >= 1e6)
		snprintf(out, len, "%.3g s", s);
	else
		fl_fmt_duration(out, len, (int64_t)llround(s * 1e9));
}

void fl_fmt_figure(enum fl_figure fig, double v, char *out, size_t len)
{
	int bytes = (int)fig >= 0 && fig < FL_FIG_COUNT && fl_figures[fig].bytes;
	if (isnan(v))
		snprintf(out, len, "-");
	else if (!isfinite(v))
		snprintf(out, len, "%sinf", v < 0 ? "-" : "");
	else if (fabs(v) >= 1e15)
		snprintf(out, len, "%.3g%s", v, bytes ? " B" : "");
	else
		fl_figure_format(fig, v, out, len);
}

/* What goes into a file: fill writes it to fd (0 or -errno), and may be
 * called again for another file when the first way fails early. */
typedef int (*fill_fn)(int fd, void *arg);

struct bytes {
	const char *data;
	size_t len;
};

static int fill_bytes(int fd, void *arg)
{
	const struct bytes *b = arg;
	return fl_write_all(fd, b->data, b->len);
}

/* Fills fd, then closes it: 0 or -errno. */
static int fill_and_close(int fd, fill_fn fill, void *arg)
{
	int r = fill(fd, arg);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int write_atomic(const char *path, fill_fn fill, void *arg)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof tmp)
		return -ENAMETOOLONG;
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	/* The data goes into a file without a name, which gets one only
	 * once complete: a faultline killed while writing leaves neither a
	 * cut file nor a stray temporary one. Where the file system has no
	 * unnamed files, a named temporary file does. */
	int r;
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		r = fill(fd, arg);
		if (r == 0) {
			unlink(tmp);
			if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0)
				r = -errno;
		}
		if (close(fd) < 0 && r == 0)
			r = -errno;
		if (r == -ENOENT) {
			/* No /proc to name it through: the plain way. */
			fd = -1;
		} else {
			if (r == 0 && rename(tmp, path) < 0)
				r = -errno;
			if (r < 0)
				unlink(tmp);
			return r;
		}
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = fill_and_close(fd, fill, arg);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int fl_write_file_atomic(const char *path, const char *data, size_t len)
{
	struct bytes b = {data, len};
	return write_atomic(path, fill_bytes, &b);
}

/* A results document is written as Jansson encodes it, through a
 * buffer: the text of a merged run is as large as its shards together,
 * and is never held whole. */
struct json_out {
	int fd, err;
	char buf[1 << 16];
	size_t len;
};

static int json_out_flush(struct json_out *o)
{
	if (o->len && !o->err) {
		int r = fl_write_all(o->fd, o->buf, o->len);
		if (r < 0)
			o->err = r;
	}
	o->len = 0;
	return o->err;
}

static int json_out_put(const char *data, size_t size, void *arg)
{
	struct json_out *o = arg;
	while (size) {
		if (o->len == sizeof o->buf && json_out_flush(o) < 0)
			return -1;
		size_t n = sizeof o->buf - o->len;
		if (n > size)
			n = size;
		memcpy(o->buf + o->len, data, n);
		o->len += n;
		data += n;
		size -= n;
	}
	return 0;
}

static int fill_json(int fd, void *arg)
{
	json_t *doc = arg;
	struct json_out *o = malloc(sizeof *o);
	if (!o)
		return -ENOMEM;
	o->fd = fd;
	o->err = 0;
	o->len = 0;
	int r = json_dump_callback(doc, json_out_put, o,
				   JSON_INDENT(1) | JSON_ENSURE_ASCII |
					   JSON_REAL_PRECISION(10));
	if (r == 0)
		r = json_out_put("\n", 1, o);
	/* The last flush writes whatever the buffer holds (a small
	 * document's whole text): its error is the write's error. */
	int e = json_out_flush(o);
	if (e < 0)
		r = e;
	else if (r < 0)
		r = -ENOMEM;
	free(o);
	return r;
}

int fl_report_json(json_t *doc, const char *path)
{
	return write_atomic(path, fill_json, doc);
}
