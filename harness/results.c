#define _GNU_SOURCE
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
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

/* The schema rule, for the head's values and the parsed document's. */
static int check_schema(const char *path, json_t *schema, json_t *version,
			char *err, size_t errlen)
{
	const char *name = json_string_value(schema);
	if (!name || strcmp(name, FL_RESULTS_SCHEMA) != 0) {
		snprintf(err, errlen, "%s: not a faultline results file", path);
		return -EINVAL;
	}
	json_int_t v = json_is_integer(version) ? json_integer_value(version) : 0;
	if (v < 1 || v > FL_RESULTS_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: results schema version %lld is not supported "
			 "(this faultline reads 1 to %d)",
			 path, (long long)v, FL_RESULTS_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

/* Refuses the file from its head when the head settles it: 0 when it
 * does not (or the schema is right), -errno otherwise. */
static int check_head(int fd, const char *path, char *err, size_t errlen)
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
			 strcmp(json_string_value(h.schema), FL_RESULTS_SCHEMA)))
		r = check_schema(path, h.schema, NULL, err, errlen);
	else if (h.schema && h.version)
		r = check_schema(path, h.schema, h.version, err, errlen);
	json_decref(h.schema);
	json_decref(h.version);
	return r;
}

int fl_results_load(const char *path, json_t **doc, char *err, size_t errlen)
{
	*doc = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int r = check_head(fd, path, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	json_error_t je;
	json_t *d = json_loadfd(fd, 0, &je);
	close(fd);
	if (!d) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	r = check_schema(path, json_object_get(d, "schema"),
			 json_object_get(d, "schema_version"), err, errlen);
	if (r == 0 && !json_is_array(json_object_get(d, "scenarios"))) {
		snprintf(err, errlen, "%s: no scenarios array", path);
		r = -EINVAL;
	}
	if (r < 0) {
		json_decref(d);
		return r;
	}
	*doc = d;
	return 0;
}

/* ------------------------------------------------------------------ */

const char *fl_results_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

const char *fl_results_opt_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

double fl_results_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

long long fl_results_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v) && isfinite(json_real_value(v)))
		return llround(json_real_value(v));
	return 0;
}

int fl_results_bool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

json_t *fl_results_obj(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_object(v) ? v : NULL;
}

json_t *fl_results_arr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_array(v) ? v : NULL;
}

json_t *fl_results_scenarios(json_t *doc)
{
	return fl_results_arr(doc, "scenarios");
}

size_t fl_results_count(json_t *doc)
{
	return json_array_size(fl_results_scenarios(doc));
}

const char *fl_results_id(json_t *scenario)
{
	return fl_results_str(scenario, "id");
}

json_t *fl_results_by_id(json_t *doc, const char *id)
{
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
		if (!strcmp(fl_results_id(s), id))
			return s;
	return NULL;
}

fl_verdict fl_results_verdict(json_t *scenario)
{
	return fl_verdict_parse(
		json_string_value(json_object_get(scenario, "verdict")));
}

json_t *fl_results_new(const char *faultline_version, json_t *run,
		       json_t *scenarios)
{
	json_t *doc = json_object();
	int bad = !doc || !run || !json_is_array(scenarios);
	bad = bad || json_object_set_new(doc, "schema", json_string(FL_RESULTS_SCHEMA));
	bad = bad || json_object_set_new(doc, "schema_version",
					 json_integer(FL_RESULTS_SCHEMA_VERSION));
	bad = bad || json_object_set_new(doc, "faultline_version",
					 json_string(faultline_version));
	bad = bad || json_object_set(doc, "run", run);
	bad = bad || json_object_set(doc, "scenarios", scenarios);
	bad = bad || fl_results_summarize(doc) < 0;
	json_decref(run);
	json_decref(scenarios);
	if (bad) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void fl_results_counts(json_t *doc, fl_verdict_counts *c)
{
	memset(c, 0, sizeof *c);
	size_t i;
	json_t *s;
	fl_results_foreach(doc, i, s)
		fl_verdict_count(c, fl_results_verdict(s),
				 fl_results_bool(s, "load_error"));
}

int fl_results_summarize(json_t *doc)
{
	fl_verdict_counts c;
	fl_results_counts(doc, &c);
	json_t *sum = json_object();
	if (!sum)
		return -ENOMEM;
	int bad = json_object_set_new(sum, "total", json_integer((json_int_t)c.total));
	for (int v = 0; v < FL_VERDICT_COUNT; v++)
		bad |= json_object_set_new(sum, fl_verdict_summary_key((fl_verdict)v),
					   json_integer((json_int_t)c.n[v]));
	bad |= json_object_set_new(sum, "load_errors",
				   json_integer((json_int_t)c.load_errors));
	bad |= json_object_set_new(sum, "exit_status",
				   json_integer(fl_verdict_exit_status(&c)));
	if (bad) {
		json_decref(sum);
		return -ENOMEM;
	}
	return json_object_set_new(doc, "summary", sum) ? -ENOMEM : 0;
}

long long fl_results_summary_count(json_t *doc, fl_verdict v)
{
	return fl_results_int(fl_results_obj(doc, "summary"),
			      fl_verdict_summary_key(v));
}

void fl_results_summary_line(json_t *doc, fl_buf *b)
{
	for (int v = 0; v < FL_VERDICT_COUNT; v++) {
		long long n = fl_results_summary_count(doc, (fl_verdict)v);
		if (n || v == FL_VERDICT_PASS || v == FL_VERDICT_FAIL)
			fl_buf_printf(b, "%s%lld %s", v ? ", " : "", n,
				      fl_verdict_summary_key((fl_verdict)v));
	}
}

int fl_results_exit_status(json_t *doc)
{
	json_t *v = json_object_get(fl_results_obj(doc, "summary"), "exit_status");
	return json_is_integer(v) ? (int)json_integer_value(v) : 2;
}
