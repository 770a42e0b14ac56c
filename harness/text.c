#define _GNU_SOURCE
#include "text.h"

#include <stdio.h>
#include <string.h>

size_t fl_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (len == 0)
		return 0;
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

static const char replacement[] = "\xEF\xBF\xBD";

void fl_text_utf8(fl_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		/* Runs of valid text are copied in one piece. */
		size_t start = i;
		uint32_t cp;
		size_t n;
		while (i < len && (n = fl_utf8_decode(s + i, len - i, &cp)) > 0)
			i += n;
		fl_buf_append(b, str + start, i - start);
		if (i < len) {
			fl_buf_append(b, replacement, 3);
			i++;
		}
	}
}

/* Is the whole of s valid UTF-8 (the common case: no copy needed)? */
static int valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	for (size_t i = 0, n; i < len; i += n)
		if ((n = fl_utf8_decode(s + i, len - i, &cp)) == 0)
			return 0;
	return 1;
}

json_t *fl_text_jsonn(const char *s, size_t len)
{
	json_t *v;
	if (!s)
		s = "", len = 0;
	if (valid_utf8(s, len)) {
		v = json_stringn_nocheck(s, len);
	} else {
		fl_buf b;
		fl_buf_init(&b);
		fl_text_utf8(&b, s, len);
		v = json_stringn_nocheck(b.data ? b.data : "", b.len);
		fl_buf_free(&b);
	}
	if (!v)
		fl_out_of_memory();
	return v;
}

json_t *fl_text_json(const char *s)
{
	if (!s) {
		json_t *n = json_null();
		return n;
	}
	return fl_text_jsonn(s, strlen(s));
}

void fl_text_set(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		fl_out_of_memory();
	size_t len = strlen(key);
	int r;
	if (valid_utf8(key, len)) {
		r = json_object_set_new_nocheck(obj, key, value);
	} else {
		fl_buf b;
		fl_buf_init(&b);
		fl_text_utf8(&b, key, len);
		r = json_object_set_new_nocheck(obj, b.data, value);
		fl_buf_free(&b);
	}
	/* Jansson fails here only without memory (or on a NULL object,
	 * which is the same failure one call earlier). */
	if (r)
		fl_out_of_memory();
}

void fl_text_append(json_t *arr, json_t *value)
{
	if (!value || json_array_append_new(arr, value))
		fl_out_of_memory();
}

void fl_text_console(fl_buf *b, const char *str)
{
	if (!str)
		return;
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = fl_utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			fl_buf_append(b, replacement, 3);
			i++;
			continue;
		}
		if (cp == '\n')
			fl_buf_puts(b, "\\n");
		else if (cp == '\t')
			fl_buf_puts(b, "\\t");
		else if (cp == '\r')
			fl_buf_puts(b, "\\r");
		else if (cp == 0x1B)
			fl_buf_puts(b, "\\e");
		else if (cp < 0x20 || cp == 0x7F)
			fl_buf_printf(b, "\\x%02X", (unsigned)cp);
		else if (cp >= 0x80 && cp < 0xA0)
			fl_buf_printf(b, "\\u%04X", (unsigned)cp);
		else
			fl_buf_append(b, str + i, n);
		i += n;
	}
}
