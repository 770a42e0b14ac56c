#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t fl_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t n;
	uint32_t c;
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || c > 0x10FFFF ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

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

int fl_write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = fl_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int fl_report_json(json_t *doc, const char *path)
{
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII |
					  JSON_REAL_PRECISION(10));
	if (!s)
		return -ENOMEM;
	size_t len = strlen(s);
	char *withnl = realloc(s, len + 2);
	if (!withnl) {
		free(s);
		return -ENOMEM;
	}
	withnl[len] = '\n';
	withnl[len + 1] = '\0';
	int r = fl_write_file_atomic(path, withnl, len + 1);
	free(withnl);
	return r;
}
