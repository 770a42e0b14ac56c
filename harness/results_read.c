#define _GNU_SOURCE
/* Reading a results document: the schema check from the head, the whole
 * parse or the read in blocks one scenario at a time, slimming what gate
 * and trend never read, and the index of scenarios by id. The reading half
 * of the results module (results.h, prefix fl_results_): it is apart from
 * results.c, whose accessors and rules every reader calls, because it is
 * the half that meets outside bytes (the fuzz target reads through it). */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fl_results_path(const char *arg, char *out, size_t len)
{
	struct stat st;
	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(out, len, "%s/results.json", arg);
	else
		snprintf(out, len, "%s", arg);
}

/* ------------------------------------------------------------------ */
/* The head check. Jansson parses a whole text or nothing, so the first
 * members of the top-level object are cut out of the head here (a scanner
 * that only finds where a token ends) and each token is decoded by
 * Jansson. It stops at the first member whose value is an object or an
 * array: what the head did not settle, the full parse does. */

struct head {
	const char *p, *end;
	json_t *schema, *version;	/* NULL until seen */
};

static void head_ws(struct head *h)
{
	while (h->p < h->end &&
	       (*h->p == ' ' || *h->p == '\n' || *h->p == '\r' || *h->p == '\t'))
		h->p++;
}

/* The length of the scalar token at h->p (a string with its quotes, a
 * number, true, false or null), or 0 when it is none or runs past the
 * head. */
static size_t head_token(const struct head *h)
{
	const char *q = h->p;
	if (q >= h->end)
		return 0;
	if (*q == '"') {
		for (q++; q < h->end; q++) {
			if (*q == '\\')
				q++;
			else if (*q == '"')
				return (size_t)(q + 1 - h->p);
		}
		return 0;
	}
	if (*q == '{' || *q == '[')
		return 0;
	while (q < h->end && !strchr(",}] \t\r\n", *q))
		q++;
	return q < h->end ? (size_t)(q - h->p) : 0;
}

static json_t *head_value(struct head *h)
{
	size_t n = head_token(h);
	if (!n)
		return NULL;
	json_error_t je;
	json_t *v = json_loadb(h->p, n, JSON_DECODE_ANY, &je);
	h->p += n;
	return v;
}

/* Reads members until the head runs out or a value is not a scalar. */
static void head_scan(struct head *h)
{
	head_ws(h);
	if (h->p >= h->end || *h->p != '{')
		return;
	h->p++;
	for (;;) {
		head_ws(h);
		json_t *key = head_value(h);
		if (!json_is_string(key)) {
			json_decref(key);
			return;
		}
		head_ws(h);
		if (h->p >= h->end || *h->p != ':') {
			json_decref(key);
			return;
		}
		h->p++;
		head_ws(h);
		json_t *value = head_value(h);
		const char *k = json_string_value(key);
		if (value && !strcmp(k, "schema") && !h->schema)
			h->schema = json_incref(value);
		else if (value && !strcmp(k, "schema_version") && !h->version)
			h->version = json_incref(value);
		json_decref(key);
		json_decref(value);
		if (!value || (h->schema && h->version))
			return;
		head_ws(h);
		if (h->p >= h->end || *h->p != ',')
			return;
		h->p++;
	}
}

/* A kind of faultline document: its schema name, the newest version this
 * faultline reads, and what it is called in messages. */
struct schema {
	const char *name;
	int max_version;
	const char *noun;	/* "results", "journal" */
	const char *not_one;	/* "not a faultline results file" */
};

static const struct schema results_schema = {
	FL_RESULTS_SCHEMA, FL_RESULTS_SCHEMA_VERSION, "results",
	"not a faultline results file"};

/* The schema rule, for the head's values and the parsed document's. */
static int check_schema(const char *path, const struct schema *sc,
			json_t *schema, json_t *version, char *err,
			size_t errlen)
{
	const char *name = json_string_value(schema);
	if (!name || strcmp(name, sc->name) != 0) {
		snprintf(err, errlen, "%s: %s", path, sc->not_one);
		return -EINVAL;
	}
	json_int_t v = json_is_integer(version) ? json_integer_value(version) : 0;
	if (v < 1 || v > sc->max_version) {
		snprintf(err, errlen,
			 "%s: %s schema version %lld is not supported "
			 "(this faultline reads 1 to %d)",
			 path, sc->noun, (long long)v, sc->max_version);
		return -ENOTSUP;
	}
	return 0;
}

/* Refuses the file from its head when the head settles it: 0 when it
 * does not (or the schema is right), -errno otherwise. */
static int check_head(int fd, const char *path, const struct schema *sc,
		      char *err, size_t errlen)
{
	char buf[FL_RESULTS_HEAD_BYTES];
	size_t len = 0;
	while (len < sizeof buf) {
		ssize_t n = pread(fd, buf + len, sizeof buf - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		/* A pipe cannot be read twice: the full parse decides. */
		if (n < 0 && errno == ESPIPE)
			return 0;
		if (n < 0) {
			int e = errno;
			snprintf(err, errlen, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	struct head h = {.p = buf, .end = buf + len};
	head_scan(&h);
	int r = 0;
	/* A schema name settles it alone; a version only beside it (a
	 * version of another schema says nothing). */
	if (h.schema && (!json_is_string(h.schema) ||
			 strcmp(json_string_value(h.schema), sc->name)))
		r = check_schema(path, sc, h.schema, NULL, err, errlen);
	else if (h.schema && h.version)
		r = check_schema(path, sc, h.schema, h.version, err, errlen);
	json_decref(h.schema);
	json_decref(h.version);
	return r;
}

int fl_results_check_head(const char *path, const char *schema,
			  int max_version, const char *not_one, char *err,
			  size_t errlen)
{
	const char *noun = strrchr(schema, '.');
	struct schema sc = {schema, max_version, noun ? noun + 1 : schema, not_one};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int r = check_head(fd, path, &sc, err, errlen);
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ */
/* Reading one scenario at a time. Jansson decodes a whole text or
 * nothing, so the top-level object is split here: a scanner finds where
 * each member's value (and each element of "scenarios") ends, and Jansson
 * decodes that piece alone. The scanner only finds ends; Jansson checks
 * every piece, and the grammar between pieces (braces, colons, commas)
 * is checked here, so what is accepted is what a whole parse accepts.
 * Anything unexpected gives up, and the whole parse decides. */

/* Bytes read at a time. */
#define STREAM_CHUNK (1 << 20)
/* Deeper pieces are left to the whole parse, which knows Jansson's limit
 * (2048 levels, counted from the top). */
#define STREAM_MAX_DEPTH 2000

struct stream {
	int fd;
	char *buf;
	size_t pos, len, cap;	/* next byte; bytes held; room */
	int eof, failed;	/* end of file seen; a read failed (errno) */
	int slim;		/* slim each scenario as it is read */
	size_t lines_dropped;	/* newlines in the bytes let go */
	/* Handing each scenario to fn rather than keeping it
	 * (fl_results_stream): how many it got, and what it returned to
	 * stop the read (0 while it goes on). */
	fl_results_scenario_fn fn;
	void *arg;
	size_t delivered;
	int stopped;
	int seen_scenarios;	/* a "scenarios" member was handed out */
	int two_arrays;		/* ...and another came */
	int skip;		/* scenarios are scanned past, not decoded */
};

/* Reads more bytes; 1 when some came, 0 at the end, -errno. Keeps every
 * byte from pos on (a piece being scanned stays where it is). */
static int stream_more(struct stream *st)
{
	if (st->eof)
		return 0;
	if (st->pos > st->cap / 2) {
		for (size_t i = 0; i < st->pos; i++)
			st->lines_dropped += st->buf[i] == '\n';
		memmove(st->buf, st->buf + st->pos, st->len - st->pos);
		st->len -= st->pos;
		st->pos = 0;
	}
	if (st->cap - st->len < STREAM_CHUNK) {
		size_t cap = st->cap ? st->cap * 2 : 2 * STREAM_CHUNK;
		while (cap - st->len < STREAM_CHUNK)
			cap *= 2;
		char *b = realloc(st->buf, cap);
		if (!b)
			fl_out_of_memory();
		st->buf = b;
		st->cap = cap;
	}
	for (;;) {
		ssize_t n = read(st->fd, st->buf + st->len, st->cap - st->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			st->eof = 1;
			return 0;
		}
		st->len += (size_t)n;
		return 1;
	}
}

/* The next byte past white space, without taking it; -1 at the end or
 * on a failed read. */
static int stream_peek(struct stream *st)
{
	for (;;) {
		while (st->pos < st->len) {
			char c = st->buf[st->pos];
			if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
				return (unsigned char)c;
			st->pos++;
		}
		int r = stream_more(st);
		if (r <= 0) {
			st->failed = r < 0 ? -r : 0;
			return -1;
		}
	}
}

/* Where the value starting at pos ends: 0 and *end (one past it), or -1
 * when the text is not one there (or runs out, or nests too deep). */
static int stream_value_end(struct stream *st, size_t *end)
{
	size_t q = st->pos;
	int depth = 0, in_string = 0, scalar = 0;
	if (q >= st->len)
		return -1;
	char first = st->buf[q];
	if (first != '{' && first != '[' && first != '"')
		scalar = 1;
	for (;;) {
		for (; q < st->len; q++) {
			char c = st->buf[q];
			if (scalar) {
				if (strchr(",}] \t\r\n", c)) {
					*end = q;
					return q > st->pos ? 0 : -1;
				}
				continue;
			}
			if (in_string) {
				if (c == '\\')
					q++;	/* may step past len: read more */
				else if (c == '"')
					in_string = 0;
				if (!in_string && depth == 0) {
					*end = q + 1;
					return 0;
				}
				continue;
			}
			if (c == '"') {
				in_string = 1;
			} else if (c == '{' || c == '[') {
				if (++depth > STREAM_MAX_DEPTH)
					return -1;
			} else if (c == '}' || c == ']') {
				if (--depth == 0) {
					*end = q + 1;
					return 0;
				}
				if (depth < 0)
					return -1;
			}
		}
		/* Reading more may move the bytes (from pos on) to the front. */
		size_t off = q - st->pos;
		int r = stream_more(st);
		q = st->pos + off;
		if (r < 0)
			st->failed = -r;
		if (r <= 0) {
			/* A number at the very end of the text ends there. */
			if (r == 0 && scalar && st->len > st->pos) {
				*end = st->len;
				return 0;
			}
			return -1;
		}
	}
}

/* Decodes the value at pos and steps past it; NULL when it is none
 * (Jansson's complaint in je, its line counted from the piece). */
static json_t *stream_value(struct stream *st, json_error_t *je, size_t *line)
{
	size_t end;
	if (stream_value_end(st, &end) < 0)
		return NULL;
	json_t *v = json_loadb(st->buf + st->pos, end - st->pos,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, je);
	if (!v) {
		*line = st->lines_dropped;
		for (size_t i = 0; i < st->pos; i++)
			*line += st->buf[i] == '\n';
		return NULL;
	}
	st->pos = end;
	return v;
}

/* Takes the byte c (after white space); 0, or -1 when another is there. */
static int stream_take(struct stream *st, char c)
{
	if (stream_peek(st) != (unsigned char)c)
		return -1;
	st->pos++;
	return 0;
}

/* The elements of the "scenarios" array, each slimmed as it is read
 * when st->slim. */
static json_t *stream_scenarios(struct stream *st, json_error_t *je,
				size_t *line)
{
	json_t *arr = json_array();
	if (!arr)
		fl_out_of_memory();
	if (stream_take(st, '[') < 0)
		goto bad;
	if (stream_peek(st) == ']') {
		st->pos++;
		return arr;
	}
	for (;;) {
		if (stream_peek(st) < 0)
			goto bad;
		size_t end;
		if (st->skip) {
			if (stream_value_end(st, &end) < 0)
				goto bad;
			st->pos = end;
			st->delivered++;
			goto next;
		}
		json_t *sc = stream_value(st, je, line);
		if (!sc)
			goto bad;
		if (st->slim)
			fl_results_slim(sc);
		if (st->fn) {
			int r = st->fn(sc, st->delivered++, st->arg);
			json_decref(sc);
			if (r) {
				st->stopped = r;
				goto bad;
			}
		} else if (json_array_append_new(arr, sc)) {
			fl_out_of_memory();
		}
	next:;
		int c = stream_peek(st);
		st->pos += c >= 0;
		if (c == ']')
			return arr;
		if (c != ',')
			goto bad;
	}
bad:
	json_decref(arr);
	return NULL;
}

/* The whole document, its scenarios slimmed; NULL when the text is not
 * one JSON object (then je and *line may say where Jansson stopped). */
static json_t *stream_document(struct stream *st, json_error_t *je,
			       size_t *line)
{
	json_t *doc = json_object();
	if (!doc)
		fl_out_of_memory();
	if (stream_take(st, '{') < 0)
		goto bad;
	if (stream_peek(st) == '}') {
		st->pos++;
		goto end;
	}
	for (;;) {
		if (stream_peek(st) != '"')
			goto bad;
		json_t *key = stream_value(st, je, line);
		const char *k = json_string_value(key);
		/* Jansson refuses a key with a NUL in it. */
		if (!k || strlen(k) != json_string_length(key) ||
		    stream_take(st, ':') < 0 || stream_peek(st) < 0) {
			json_decref(key);
			goto bad;
		}
		int scenarios = !strcmp(k, "scenarios") && st->buf[st->pos] == '[';
		/* Scenarios handed out cannot be taken back when a second
		 * array would replace them. */
		if (scenarios && (st->fn || st->skip) && st->seen_scenarios++) {
			st->two_arrays = st->stopped = 1;
			json_decref(key);
			goto bad;
		}
		json_t *v = scenarios ? stream_scenarios(st, je, line)
				      : stream_value(st, je, line);
		if (!v || json_object_set_new(doc, k, v)) {
			json_decref(key);
			goto bad;
		}
		json_decref(key);
		int c = stream_peek(st);
		st->pos += c >= 0;
		if (c == '}')
			break;
		if (c != ',')
			goto bad;
	}
end:
	/* Nothing but white space after the object. */
	if (stream_peek(st) >= 0 || st->failed)
		goto bad;
	return doc;
bad:
	json_decref(doc);
	return NULL;
}

/* The schema check of a parsed document and its scenarios array. */
static int check_document(const char *path, json_t *d, char *err, size_t errlen)
{
	int r = check_schema(path, &results_schema, json_object_get(d, "schema"),
			     json_object_get(d, "schema_version"), err, errlen);
	if (r == 0 && !json_is_array(json_object_get(d, "scenarios"))) {
		snprintf(err, errlen, "%s: no scenarios array", path);
		r = -EINVAL;
	}
	return r;
}

/* A whole parse of what remains of fd: the document, or NULL with
 * Jansson's complaint in err. */
static json_t *parse_whole(int fd, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	/* Text a target printed may hold NUL bytes, kept as \u0000 (fl_text). */
	json_t *d = json_loadfd(fd, JSON_ALLOW_NUL, &je);
	if (!d)
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
	return d;
}

/* Decodes fd one scenario at a time (slimmed, when slim); NULL with a
 * sentence in err. Also the fast way to read a whole document: Jansson's
 * own reader of a file descriptor makes a system call per byte. */
static json_t *parse_streamed(struct stream *stp, const char *path, char *err,
			      size_t errlen)
{
	struct stream st = *stp;
	int fd = st.fd, slim = st.slim;
	json_error_t je;
	je.text[0] = '\0';
	size_t line = 0;
	json_t *d = stream_document(&st, &je, &line);
	free(st.buf);
	st.buf = NULL;
	*stp = st;
	if (d)
		return d;
	if (st.two_arrays) {
		snprintf(err, errlen, "%s: two scenarios arrays", path);
		return NULL;
	}
	if (st.stopped)
		return NULL;
	/* What the whole parse says, when the file can be read again:
	 * the one message for a broken file, whichever reader met it. */
	if (lseek(fd, 0, SEEK_SET) == 0) {
		d = parse_whole(fd, path, err, errlen);
		size_t i;
		json_t *sc;
		if (slim)
			json_array_foreach(json_object_get(d, "scenarios"), i, sc)
				fl_results_slim(sc);
		/* The scenarios the scanner did not hand out (it gave up
		 * where the whole parse did not), to fn. */
		json_t *arr = json_object_get(d, "scenarios");
		if (d && (st.fn || st.skip) && json_is_array(arr)) {
			for (i = st.delivered; st.fn && i < json_array_size(arr); i++) {
				int r = st.fn(json_array_get(arr, i), i, st.arg);
				if (r) {
					stp->stopped = r;
					json_decref(d);
					return NULL;
				}
			}
			json_t *empty = json_array();
			if (!empty || json_object_set_new(d, "scenarios", empty))
				fl_out_of_memory();
		}
		return d;
	}
	if (st.failed)
		snprintf(err, errlen, "%s: %s", path, strerror(st.failed));
	else if (je.text[0])
		snprintf(err, errlen, "%s:%d: %s", path,
			 (int)(line + (size_t)(je.line > 0 ? je.line : 1)), je.text);
	else
		snprintf(err, errlen, "%s:%d: not a JSON object", path,
			 (int)(st.lines_dropped + 1));
	return NULL;
}

/* Opens a results file and checks its head (the schema): the fd, or
 * -errno after saying why in err. */
static int open_results(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int r = check_head(fd, path, &results_schema, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int fl_results_read(const char *path, fl_results_keep keep, json_t **doc,
		    char *err, size_t errlen)
{
	*doc = NULL;
	int fd = open_results(path, err, errlen);
	if (fd < 0)
		return fd;
	struct stream st = {.fd = fd, .slim = keep == FL_RESULTS_KEEP_FIGURES};
	json_t *d = parse_streamed(&st, path, err, errlen);
	close(fd);
	if (!d)
		return -EINVAL;
	int r = check_document(path, d, err, errlen);
	if (r < 0) {
		json_decref(d);
		return r;
	}
	*doc = d;
	return 0;
}

int fl_results_load(const char *path, json_t **doc, char *err, size_t errlen)
{
	return fl_results_read(path, FL_RESULTS_KEEP_ALL, doc, err, errlen);
}

int fl_results_stream(const char *path, fl_results_scenario_fn fn, void *arg,
		      json_t **head, char *err, size_t errlen)
{
	*head = NULL;
	int fd = open_results(path, err, errlen);
	if (fd < 0)
		return fd;
	struct stream st = {.fd = fd, .fn = fn, .arg = arg, .skip = !fn};
	json_t *d = parse_streamed(&st, path, err, errlen);
	close(fd);
	if (!d)
		return st.stopped && !st.two_arrays ? st.stopped : -EINVAL;
	int r = check_document(path, d, err, errlen);
	if (r < 0) {
		json_decref(d);
		return r;
	}
	*head = d;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The index by id: open addressing, linear probing, at most half full. */

struct index_slot {
	const char *id;		/* NULL: empty */
	json_t *first;
	size_t count;
};

struct fl_results_index {
	struct index_slot *slots;
	size_t mask;		/* slots - 1, a power of two less one */
};

/* FNV-1a, 64 bits. */
static uint64_t hash_id(const char *id)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct index_slot *index_slot(const fl_results_index *ix, const char *id)
{
	size_t i = (size_t)hash_id(id) & ix->mask;
	while (ix->slots[i].id && strcmp(ix->slots[i].id, id))
		i = (i + 1) & ix->mask;
	return &ix->slots[i];
}

fl_results_index *fl_results_index_new(json_t *doc)
{
	size_t n = fl_results_count(doc), cap = 16;
	while (cap < 2 * n + 2)
		cap *= 2;
	fl_results_index *ix = fl_xmalloc(sizeof *ix);
	ix->slots = fl_xcalloc(cap, sizeof *ix->slots);
	ix->mask = cap - 1;
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
	{
		const char *id = fl_results_id(s);
		struct index_slot *slot = index_slot(ix, id);
		if (!slot->id) {
			slot->id = id;
			slot->first = s;
		}
		slot->count++;
	}
	return ix;
}

json_t *fl_results_index_get(const fl_results_index *ix, const char *id)
{
	return index_slot(ix, id)->first;
}

size_t fl_results_index_count(const fl_results_index *ix, const char *id)
{
	return index_slot(ix, id)->count;
}

void fl_results_index_free(fl_results_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix);
}

/* ------------------------------------------------------------------ */
/* Slimming                                                             */

static int cmp_num(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Is x in the sorted v[0..n)? */
static int sorted_holds(const double *v, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

/* A new array of the numbers of t that date a recovery of the episodes:
 * for each recovered_at, the times within a nanosecond of it and the
 * latest before it, by the very tests of holds() and before() below. */
static json_t *dating_times(json_t *t, json_t *episodes)
{
	size_t n = json_array_size(t), k = 0, i;
	double *sorted = fl_xmalloc((n + 1) * sizeof *sorted);
	json_t *v;
	json_array_foreach(t, i, v)
		if (json_is_number(v))
			sorted[k++] = json_number_value(v);
	qsort(sorted, k, sizeof *sorted, cmp_num);
	double *keep = fl_xmalloc((2 * json_array_size(episodes) + 1) * sizeof *keep);
	size_t nkeep = 0;
	json_t *e;
	json_array_foreach(episodes, i, e)
	{
		double at = fl_results_num(e, "recovered_at");
		if (!isfinite(at))
			continue;
		/* The first time not below at - 1e-9: the one before it is
		 * what before() finds. */
		size_t lo = 0, hi = k;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (sorted[mid] < at - 1e-9)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0)
			keep[nkeep++] = sorted[lo - 1];
		/* What holds() finds lies about there (from a little below:
		 * the two tests round apart in the last place). */
		for (size_t j = lo > 2 ? lo - 2 : 0; j < k && sorted[j] <= at + 2e-9; j++)
			if (fabs(sorted[j] - at) < 1e-9) {
				keep[nkeep++] = sorted[j];
				break;
			}
	}
	qsort(keep, nkeep, sizeof *keep, cmp_num);
	json_t *out = json_array();
	if (!out)
		fl_out_of_memory();
	json_array_foreach(t, i, v)
		if (json_is_number(v) && sorted_holds(keep, nkeep, json_number_value(v)) &&
		    json_array_append(out, v))
			fl_out_of_memory();
	free(sorted);
	free(keep);
	return out;
}

/* Replaces o's member "t" by its dating times and drops every other
 * member but those named in keep. */
static void slim_times(json_t *o, json_t *episodes, const char *const *keep)
{
	if (!json_is_object(o))
		return;
	json_t *t = json_object_get(o, "t");
	json_t *dated = json_is_array(t) ? dating_times(t, episodes) : NULL;
	void *it = json_object_iter(o);
	while (it) {
		const char *k = json_object_iter_key(it);
		int kept = !strcmp(k, "t");
		for (size_t i = 0; keep[i] && !kept; i++)
			kept = !strcmp(k, keep[i]);
		/* The next member first: deleting this one ends its
		 * iterator. */
		it = json_object_iter_next(o, it);
		if (!kept)
			json_object_del(o, k);
	}
	if (dated && json_object_set_new(o, "t", dated))
		fl_out_of_memory();
}

void fl_results_slim(json_t *scenario)
{
	if (!json_is_object(scenario))
		return;
	json_t *episodes = fl_results_arr(scenario, "episodes");
	static const char *const series_keep[] = {"downsampled", NULL};
	static const char *const health_keep[] = {"probes", "failed", "kind",
						  NULL};
	size_t i;
	json_t *tg;
	json_array_foreach(fl_results_arr(scenario, "targets"), i, tg)
	{
		if (!json_is_object(tg))
			continue;
		slim_times(json_object_get(tg, "series"), episodes, series_keep);
		json_object_del(tg, "output");
	}
	slim_times(json_object_get(scenario, "health"), episodes, health_keep);
	json_t *j = json_object_get(scenario, "journal");
	if (json_is_object(j))
		json_object_del(j, "records");
	json_object_del(scenario, "log");
	json_object_del(scenario, "forensics");
}

