#define _GNU_SOURCE
#include "report.h"

#include "sink.h"
#include "writers.h"

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

int fl_write_file_atomic(const char *path, const char *data, size_t len)
{
	return fl_sink_write_file(path, data, len);
}

/* ------------------------------------------------------------------ */
/* The results JSON, as Jansson encodes it (JSON_INDENT(1),
 * JSON_ENSURE_ASCII, JSON_REAL_PRECISION(10)) and byte for byte what
 * json_dump_callback writes of the whole document, but a member and a
 * scenario at a time: each is encoded alone and indented to its depth.
 * With JSON_INDENT a newline in Jansson's text is always one it put
 * between tokens (a newline in a string is written as \n), so adding the
 * depth's spaces after each one is the indentation of the whole. */

#define JSON_FLAGS (JSON_INDENT(1) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10))

struct indented {
	fl_sink *out;
	int depth;
};

static int put_indented(const char *data, size_t size, void *arg)
{
	struct indented *in = arg;
	static const char spaces[] = "        ";
	const char *nl;
	while (size && (nl = memchr(data, '\n', size)) != NULL) {
		size_t n = (size_t)(nl - data) + 1;
		fl_sink_write(in->out, data, n);
		fl_sink_write(in->out, spaces, (size_t)in->depth);
		data += n;
		size -= n;
	}
	fl_sink_write(in->out, data, size);
	return fl_sink_error(in->out) ? -1 : 0;
}

/* Writes v as Jansson would at this depth of a document. */
static int put_value(fl_sink *out, json_t *v, int depth)
{
	struct indented in = {out, depth};
	if (json_dump_callback(v, put_indented, &in, JSON_FLAGS | JSON_ENCODE_ANY) < 0)
		return fl_sink_error(out) ? fl_sink_error(out) : -ENOMEM;
	return 0;
}

/* The member separator and key at depth 1: ",\n \"key\": ". */
static int put_key(fl_sink *out, const char *key, int first)
{
	fl_sink_puts(out, first ? "\n " : ",\n ");
	json_t *k = json_string(key);
	if (!k)
		return -ENOMEM;
	int r = put_value(out, k, 1);
	json_decref(k);
	fl_sink_puts(out, ": ");
	return r;
}

struct json_writer {
	fl_sink *out;
	json_t *head;
	void *rest;		/* the head's member after "scenarios" */
	int has_scenarios;
	size_t written;		/* scenarios */
};

static void *json_create(void)
{
	return fl_xcalloc(1, sizeof(struct json_writer));
}

static void json_destroy(void *state)
{
	struct json_writer *jw = state;
	fl_sink_discard(jw->out);
	json_decref(jw->head);
	free(jw);
}

static int json_begin(void *state, json_t *head, const char *path)
{
	struct json_writer *jw = state;
	int r = fl_sink_open(path, &jw->out);
	if (r < 0)
		return r;
	jw->head = json_incref(head);
	fl_sink_puts(jw->out, "{");
	/* The members up to the scenarios; the rest at the end. */
	int first = 1;
	for (void *it = json_object_iter(head); it && r == 0;
	     it = json_object_iter_next(head, it)) {
		const char *key = json_object_iter_key(it);
		r = put_key(jw->out, key, first);
		first = 0;
		if (r == 0 && !strcmp(key, "scenarios")) {
			jw->has_scenarios = 1;
			jw->rest = json_object_iter_next(head, it);
			break;
		}
		if (r == 0)
			r = put_value(jw->out, json_object_iter_value(it), 1);
	}
	return r ? r : fl_sink_error(jw->out);
}

static int json_scenario(void *state, json_t *sc)
{
	struct json_writer *jw = state;
	/* A head without scenarios has nowhere to put them. */
	if (!jw->has_scenarios)
		return 0;
	fl_sink_puts(jw->out, jw->written++ ? ",\n  " : "[\n  ");
	int r = put_value(jw->out, sc, 2);
	return r ? r : fl_sink_error(jw->out);
}

static int json_end(void *state)
{
	struct json_writer *jw = state;
	int r = 0;
	if (jw->has_scenarios) {
		fl_sink_puts(jw->out, jw->written ? "\n ]" : "[]");
		for (void *it = jw->rest; it && r == 0;
		     it = json_object_iter_next(jw->head, it)) {
			r = put_key(jw->out, json_object_iter_key(it), 0);
			if (r == 0)
				r = put_value(jw->out, json_object_iter_value(it), 1);
		}
	}
	/* An empty object is "{}" to Jansson. */
	fl_sink_puts(jw->out, json_object_size(jw->head) ? "\n}\n" : "}\n");
	fl_sink *out = jw->out;
	jw->out = NULL;
	json_destroy(jw);
	if (r < 0) {
		fl_sink_discard(out);
		return r;
	}
	return fl_sink_commit(out);
}

const fl_writer_ops fl_report_json_ops = {
	.create = json_create,
	.begin = json_begin,
	.scenario = json_scenario,
	.end = json_end,
	.destroy = json_destroy,
};

static int put_plain(const char *data, size_t size, void *arg)
{
	fl_sink_write(arg, data, size);
	return fl_sink_error(arg) ? -1 : 0;
}

int fl_report_json(json_t *doc, const char *path)
{
	fl_sink *out;
	int r = fl_sink_open(path, &out);
	if (r < 0)
		return r;
	r = json_dump_callback(doc, put_plain, out, JSON_FLAGS);
	fl_sink_puts(out, "\n");
	if (r < 0) {
		r = fl_sink_error(out) ? fl_sink_error(out) : -ENOMEM;
		fl_sink_discard(out);
		return r;
	}
	return fl_sink_commit(out);
}
