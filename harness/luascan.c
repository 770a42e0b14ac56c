/* A static look at a scenario's Lua source: a lexer for Lua 5.4 (names,
 * numbers, strings with their escapes, long brackets, comments) and a
 * reader of the calls on the target object and their arguments. It never
 * runs the script, so faultline check can point at a misspelled option on
 * a line the run would reach only after a minute, or never. */
#define _GNU_SOURCE
#include "luascan.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind { TK_EOF = 0, TK_NAME, TK_STRING, TK_NUMBER, TK_OP };

struct tok {
	enum tok_kind kind;
	int line;
	const char *p;		/* the source text (NAME, NUMBER, OP) */
	size_t n;
	char *str;		/* STRING: the value */
	size_t slen;
};

struct lexer {
	const char *s, *end;
	int line;
	struct tok *v;
	size_t n, cap;
	char *err;
	size_t errlen;
};

/* n bytes of p (which may hold NULs), NUL-terminated. */
static char *dupn(const char *p, size_t n)
{
	char *s = fl_xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static int is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

static void push(struct lexer *lx, struct tok t)
{
	if (lx->n == lx->cap) {
		lx->cap = lx->cap ? lx->cap * 2 : 256;
		lx->v = fl_xrealloc(lx->v, lx->cap * sizeof *lx->v);
	}
	lx->v[lx->n++] = t;
}

/* At "[", "[=", "[==" ...: the level of a long bracket ("[==[" is 2), or
 * -1 when this is no long bracket. */
static int long_level(const char *p, const char *end)
{
	if (p >= end || *p != '[')
		return -1;
	int level = 0;
	for (p++; p < end && *p == '='; p++)
		level++;
	return p < end && *p == '[' ? level : -1;
}

/* Reads a long bracket at lx->s (its level known); its value (without the
 * first newline, as Lua drops it) in *out if out is not NULL. */
static int long_bracket(struct lexer *lx, int level, char **out, size_t *outlen)
{
	int line0 = lx->line;
	const char *p = lx->s + level + 2;
	if (p < lx->end && (*p == '\r' || *p == '\n')) {
		char c = *p++;
		lx->line += c == '\n';
		if (p < lx->end && (*p == '\r' || *p == '\n') && *p != c)
			lx->line += *p++ == '\n';
	}
	const char *start = p;
	for (; p < lx->end; p++) {
		if (*p == '\n') {
			lx->line++;
			continue;
		}
		if (*p != ']')
			continue;
		const char *q = p + 1;
		int l = 0;
		while (q < lx->end && *q == '=') {
			l++;
			q++;
		}
		if (l == level && q < lx->end && *q == ']') {
			if (out) {
				*outlen = (size_t)(p - start);
				*out = dupn(start, *outlen);
			}
			lx->s = q + 1;
			return 0;
		}
	}
	snprintf(lx->err, lx->errlen, "line %d: unfinished long %s", line0,
		 out ? "string" : "comment");
	return -EINVAL;
}

/* Appends the UTF-8 form of code point cp (Lua allows up to 2^31). */
static void put_utf8(fl_buf *b, unsigned long cp)
{
	unsigned char u[6];
	int n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else {
		int len = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : cp < 0x200000 ? 4
			  : cp < 0x4000000 ? 5 : 6;
		for (int i = len - 1; i > 0; i--) {
			u[i] = (unsigned char)(0x80 | (cp & 0x3f));
			cp >>= 6;
		}
		static const unsigned char first[] = {0, 0, 0xc0, 0xe0, 0xf0,
						      0xf8, 0xfc};
		u[0] = (unsigned char)(first[len] | cp);
		n = len;
	}
	fl_buf_append(b, (const char *)u, (size_t)n);
}

/* A quoted string at lx->s, escapes decoded as Lua does. A malformed
 * escape is kept as it is: the Lua loader reports it, and a key or point
 * name that holds one is not a name anyway. */
static int quoted(struct lexer *lx, struct tok *t)
{
	char q = *lx->s;
	const char *p = lx->s + 1;
	fl_buf b;
	fl_buf_init(&b);
	while (p < lx->end && *p != q) {
		if (*p == '\n' || *p == '\r')
			break;
		if (*p != '\\') {
			fl_buf_append(&b, p++, 1);
			continue;
		}
		p++;
		if (p >= lx->end)
			break;
		char c = *p;
		static const char from[] = "abfnrtv\\\"'", to[] = "\a\b\f\n\r\t\v\\\"'";
		const char *e = strchr(from, c);
		if (c && e) {
			fl_buf_append(&b, &to[e - from], 1);
			p++;
		} else if (c == '\n' || c == '\r') {
			fl_buf_append(&b, "\n", 1);
			lx->line += c == '\n';
			p++;
			if (p < lx->end && (*p == '\n' || *p == '\r') && *p != c)
				lx->line += *p++ == '\n';
		} else if (c == 'z') {
			for (p++; p < lx->end && isspace((unsigned char)*p); p++)
				lx->line += *p == '\n';
		} else if (c == 'x' && p + 2 < lx->end &&
			   isxdigit((unsigned char)p[1]) &&
			   isxdigit((unsigned char)p[2])) {
			char h[3] = {p[1], p[2], 0};
			char v = (char)strtol(h, NULL, 16);
			fl_buf_append(&b, &v, 1);
			p += 3;
		} else if (isdigit((unsigned char)c)) {
			int v = 0, k = 0;
			while (k < 3 && p < lx->end && isdigit((unsigned char)*p)) {
				v = v * 10 + (*p++ - '0');
				k++;
			}
			char ch = (char)v;
			fl_buf_append(&b, &ch, 1);
		} else if (c == 'u' && p + 1 < lx->end && p[1] == '{') {
			char *close;
			unsigned long cp = strtoul(p + 2, &close, 16);
			if (close < lx->end && *close == '}') {
				put_utf8(&b, cp);
				p = close + 1;
			} else {
				fl_buf_append(&b, "\\", 1);
			}
		} else {
			fl_buf_append(&b, "\\", 1);
		}
	}
	if (p >= lx->end || *p != q) {
		fl_buf_free(&b);
		snprintf(lx->err, lx->errlen, "line %d: unfinished string",
			 lx->line);
		return -EINVAL;
	}
	t->slen = b.len;
	t->str = b.data ? b.data : fl_xstrdup("");
	lx->s = p + 1;
	return 0;
}

static int lex(struct lexer *lx)
{
	static const char *const ops3[] = {"...", NULL};
	static const char *const ops2[] = {"..", "::", "==", "~=", "<=", ">=",
					   "//", "<<", ">>", NULL};
	while (lx->s < lx->end) {
		const char *p = lx->s;
		unsigned char c = (unsigned char)*p;
		if (c == '\n') {
			lx->line++;
			lx->s++;
			continue;
		}
		if (isspace(c)) {
			lx->s++;
			continue;
		}
		struct tok t = {.line = lx->line, .p = p};
		if (c == '-' && p + 1 < lx->end && p[1] == '-') {
			lx->s = p + 2;
			int level = long_level(lx->s, lx->end);
			if (level >= 0) {
				int r = long_bracket(lx, level, NULL, NULL);
				if (r < 0)
					return r;
				continue;
			}
			while (lx->s < lx->end && *lx->s != '\n')
				lx->s++;
			continue;
		}
		if (is_name_start(c)) {
			while (lx->s < lx->end && is_name_char((unsigned char)*lx->s))
				lx->s++;
			t.kind = TK_NAME;
		} else if (isdigit(c) || (c == '.' && p + 1 < lx->end &&
					  isdigit((unsigned char)p[1]))) {
			/* Digits, letters (hex digits, exponent markers), dots,
			 * and a sign right after an exponent marker. */
			int hex = c == '0' && p + 1 < lx->end &&
				  (p[1] == 'x' || p[1] == 'X');
			lx->s++;
			while (lx->s < lx->end) {
				char d = *lx->s;
				if (is_name_char((unsigned char)d) || d == '.') {
					lx->s++;
				} else if ((d == '+' || d == '-') &&
					   (hex ? strchr("pP", lx->s[-1])
						: strchr("eE", lx->s[-1]))) {
					lx->s++;
				} else {
					break;
				}
			}
			t.kind = TK_NUMBER;
		} else if (c == '"' || c == '\'') {
			t.kind = TK_STRING;
			int r = quoted(lx, &t);
			if (r < 0)
				return r;
		} else if (long_level(p, lx->end) >= 0) {
			t.kind = TK_STRING;
			int r = long_bracket(lx, long_level(p, lx->end), &t.str,
					     &t.slen);
			if (r < 0)
				return r;
		} else {
			t.kind = TK_OP;
			size_t n = 1;
			size_t left = (size_t)(lx->end - p);
			for (int i = 0; ops3[i]; i++)
				if (left >= 3 && !strncmp(p, ops3[i], 3))
					n = 3;
			for (int i = 0; n == 1 && ops2[i]; i++)
				if (left >= 2 && !strncmp(p, ops2[i], 2))
					n = 2;
			lx->s = p + n;
		}
		t.n = (size_t)(lx->s - p);
		push(lx, t);
	}
	push(lx, (struct tok){.kind = TK_EOF, .line = lx->line, .p = lx->end});
	return 0;
}

/* ------------------------------------------------------------------ */
/* The reader                                                          */
/* ------------------------------------------------------------------ */

static int is(const struct tok *t, enum tok_kind k, const char *text)
{
	return t->kind == k && t->n == strlen(text) && !strncmp(t->p, text, t->n);
}

static int is_op(const struct tok *t, const char *op)
{
	return is(t, TK_OP, op);
}

static int is_kw(const struct tok *t, const char *kw)
{
	return is(t, TK_NAME, kw);
}

/* The index after the expression that starts at i and ends before a
 * separator at its own depth (",", ";" or a closing bracket that it did
 * not open): brackets and blocks (function ... end, do ... end, if ...
 * end, repeat ... until) are stepped over whole, so the commas of a
 * function's body never split a table's fields. */
static size_t skip_expr(const struct tok *v, size_t i)
{
	int depth = 0;
	for (; v[i].kind != TK_EOF; i++) {
		const struct tok *t = &v[i];
		if (t->kind == TK_OP && t->n == 1 && strchr("([{", *t->p)) {
			depth++;
		} else if (t->kind == TK_OP && t->n == 1 && strchr(")]}", *t->p)) {
			if (depth == 0)
				return i;
			depth--;
		} else if (is_kw(t, "function") || is_kw(t, "do") ||
			   is_kw(t, "if") || is_kw(t, "repeat")) {
			depth++;
		} else if (is_kw(t, "end") || is_kw(t, "until")) {
			if (depth == 0)
				return i;
			depth--;
		} else if (depth == 0 && (is_op(t, ",") || is_op(t, ";"))) {
			return i;
		}
	}
	return i;
}

/* Tables deeper than this are stepped over: a scenario nests a few, and
 * the reader's recursion stays bounded on any input. */
#define MAX_DEPTH 32

static size_t read_value(const struct tok *v, size_t i, fl_luascan_value *out,
			 int depth);

static void value_free(fl_luascan_value *val)
{
	free(val->str);
	for (size_t i = 0; i < val->nfields; i++) {
		free(val->fields[i].key);
		value_free(&val->fields[i].value);
	}
	free(val->fields);
	memset(val, 0, sizeof *val);
}

/* A table constructor at v[i] ("{"); returns the index after its "}". */
static size_t read_table(const struct tok *v, size_t i, fl_luascan_value *out,
			 int depth)
{
	out->kind = FL_LUASCAN_TABLE;
	out->line = v[i].line;
	i++;
	size_t cap = 0;
	while (v[i].kind != TK_EOF && !is_op(&v[i], "}")) {
		fl_luascan_field f = {.line = v[i].line};
		if (v[i].kind == TK_NAME && is_op(&v[i + 1], "=")) {
			f.key = dupn(v[i].p, v[i].n);
			i += 2;
		} else if (is_op(&v[i], "[")) {
			size_t close = skip_expr(v, i + 1);
			if (!is_op(&v[close], "]"))
				break;
			if (close == i + 2 && v[i + 1].kind == TK_STRING &&
			    strlen(v[i + 1].str) == v[i + 1].slen)
				f.key = fl_xstrdup(v[i + 1].str);
			i = close + 1;
			if (!is_op(&v[i], "="))
				break;
			i++;
		}
		i = read_value(v, i, &f.value, depth + 1);
		if (cap == out->nfields) {
			cap = cap ? cap * 2 : 8;
			out->fields = fl_xrealloc(out->fields, cap * sizeof *out->fields);
		}
		out->fields[out->nfields++] = f;
		if (is_op(&v[i], ",") || is_op(&v[i], ";"))
			i++;
		else if (!is_op(&v[i], "}"))
			break; /* not Lua: the loader says so */
	}
	return is_op(&v[i], "}") ? i + 1 : i;
}

/* One expression at v[i]: a lone string or table is read, anything else
 * is stepped over. Returns the index of the separator after it. */
static size_t read_value(const struct tok *v, size_t i, fl_luascan_value *out,
			 int depth)
{
	memset(out, 0, sizeof *out);
	out->line = v[i].line;
	size_t end = skip_expr(v, i);
	if (v[i].kind == TK_STRING && end == i + 1) {
		out->kind = FL_LUASCAN_STRING;
		out->str = dupn(v[i].str, v[i].slen);
		out->len = v[i].slen;
	} else if (is_op(&v[i], "{") && depth < MAX_DEPTH) {
		size_t after = read_table(v, i, out, depth);
		if (after != end) {
			/* {...}.x or {...} .. y: an expression, not a table. */
			value_free(out);
			out->line = v[i].line;
		}
	}
	return end;
}

static void add_receiver(fl_luascan *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->nreceivers; i++)
		if (strlen(s->receivers[i]) == n && !strncmp(s->receivers[i], p, n))
			return;
	s->receivers = fl_xrealloc(s->receivers,
				   (s->nreceivers + 1) * sizeof *s->receivers);
	s->receivers[s->nreceivers++] = dupn(p, n);
}

/* The first parameter of the function named (p, n): `function NAME(P`,
 * `local function NAME(P` or `NAME = function(P`. */
static void receiver_of_named(fl_luascan *s, const struct tok *v, size_t ntok,
			      const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < ntok; i++) {
		size_t open = 0;
		if (is_kw(&v[i], "function") && v[i + 1].kind == TK_NAME &&
		    v[i + 1].n == n && !strncmp(v[i + 1].p, p, n))
			open = i + 2;
		else if (v[i].kind == TK_NAME && v[i].n == n &&
			 !strncmp(v[i].p, p, n) && is_op(&v[i + 1], "=") &&
			 is_kw(&v[i + 2], "function"))
			open = i + 3;
		if (open && open + 1 < ntok && is_op(&v[open], "(") &&
		    v[open + 1].kind == TK_NAME)
			add_receiver(s, v[open + 1].p, v[open + 1].n);
	}
}

static void find_receivers(fl_luascan *s, const struct tok *v, size_t ntok)
{
	for (size_t i = 0; i + 2 < ntok; i++) {
		if (!is_kw(&v[i], "run") || !is_op(&v[i + 1], "=") ||
		    (i > 0 && (is_op(&v[i - 1], ".") || is_op(&v[i - 1], ":"))))
			continue;
		if (is_kw(&v[i + 2], "function")) {
			if (i + 4 < ntok && is_op(&v[i + 3], "(") &&
			    v[i + 4].kind == TK_NAME)
				add_receiver(s, v[i + 4].p, v[i + 4].n);
		} else if (v[i + 2].kind == TK_NAME) {
			receiver_of_named(s, v, ntok, v[i + 2].p, v[i + 2].n);
		}
	}
	if (!s->nreceivers)
		add_receiver(s, "t", 1);
}

static int is_receiver(const fl_luascan *s, const struct tok *t)
{
	for (size_t i = 0; i < s->nreceivers; i++)
		if (t->n == strlen(s->receivers[i]) &&
		    !strncmp(t->p, s->receivers[i], t->n))
			return 1;
	return 0;
}

/* RECEIVER ':' NAME followed by '(' args ')', a table or a string, where
 * RECEIVER is a variable (not a field: x.t:fault is someone else's). */
static void read_calls(fl_luascan *s, const struct tok *v, size_t ntok)
{
	size_t cap = 0;
	for (size_t i = 0; i + 3 < ntok; i++) {
		if (v[i].kind != TK_NAME || !is_receiver(s, &v[i]) ||
		    !is_op(&v[i + 1], ":") || v[i + 2].kind != TK_NAME)
			continue;
		if (i > 0 && (is_op(&v[i - 1], ".") || is_op(&v[i - 1], ":")))
			continue;
		const struct tok *a = &v[i + 3];
		if (!is_op(a, "(") && !is_op(a, "{") && a->kind != TK_STRING)
			continue;
		fl_luascan_call c = {
			.receiver = dupn(v[i].p, v[i].n),
			.method = dupn(v[i + 2].p, v[i + 2].n),
			.line = v[i + 2].line,
		};
		size_t acap = 0;
		if (is_op(a, "(")) {
			size_t j = i + 4;
			while (v[j].kind != TK_EOF && !is_op(&v[j], ")")) {
				fl_luascan_value val;
				j = read_value(v, j, &val, 0);
				if (acap == c.nargs) {
					acap = acap ? acap * 2 : 4;
					c.args = fl_xrealloc(c.args, acap * sizeof *c.args);
				}
				c.args[c.nargs++] = val;
				if (!is_op(&v[j], ","))
					break;
				j++;
			}
		} else {
			c.args = fl_xcalloc(1, sizeof *c.args);
			c.nargs = 1;
			if (a->kind == TK_STRING) {
				c.args[0].kind = FL_LUASCAN_STRING;
				c.args[0].line = a->line;
				c.args[0].str = dupn(a->str, a->slen);
				c.args[0].len = a->slen;
			} else {
				read_table(v, i + 3, &c.args[0], 0);
			}
		}
		if (cap == s->ncalls) {
			cap = cap ? cap * 2 : 16;
			s->calls = fl_xrealloc(s->calls, cap * sizeof *s->calls);
		}
		s->calls[s->ncalls++] = c;
	}
}

int fl_luascan_scan(const char *text, size_t len, fl_luascan *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct lexer lx = {.s = text, .end = text + len, .line = 1,
			   .err = err, .errlen = errlen};
	/* A first line "#!..." is skipped by Lua's loader. */
	if (len && text[0] == '#')
		while (lx.s < lx.end && *lx.s != '\n')
			lx.s++;
	int r = lex(&lx);
	if (r == 0) {
		find_receivers(out, lx.v, lx.n);
		read_calls(out, lx.v, lx.n);
	}
	for (size_t i = 0; i < lx.n; i++)
		free(lx.v[i].str);
	free(lx.v);
	return r;
}

void fl_luascan_free(fl_luascan *s)
{
	for (size_t i = 0; i < s->ncalls; i++) {
		fl_luascan_call *c = &s->calls[i];
		free(c->receiver);
		free(c->method);
		for (size_t k = 0; k < c->nargs; k++)
			value_free(&c->args[k]);
		free(c->args);
	}
	free(s->calls);
	for (size_t i = 0; i < s->nreceivers; i++)
		free(s->receivers[i]);
	free(s->receivers);
	memset(s, 0, sizeof *s);
}

const fl_luascan_value *fl_luascan_get(const fl_luascan_value *v,
					 const char *key)
{
	if (!v || v->kind != FL_LUASCAN_TABLE)
		return NULL;
	for (size_t i = 0; i < v->nfields; i++)
		if (v->fields[i].key && !strcmp(v->fields[i].key, key))
			return &v->fields[i].value;
	return NULL;
}
