#define _GNU_SOURCE
#include "verdict.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
	const char *name;
	const char *summary_key;
	int good;
	int rank;
} verdicts[FL_VERDICT_COUNT] = {
	[FL_VERDICT_PASS] = {"PASS", "passed", 1, 6},
	[FL_VERDICT_FAIL] = {"FAIL", "failed", 0, 2},
	[FL_VERDICT_ERROR] = {"ERROR", "errors", 0, 1},
	[FL_VERDICT_XFAIL] = {"XFAIL", "xfailed", 1, 5},
	[FL_VERDICT_XPASS] = {"XPASS", "xpassed", 0, 3},
	[FL_VERDICT_FLAKY] = {"FLAKY", "flaky", 0, 4},
};

static int valid(fl_verdict v)
{
	return (int)v >= 0 && v < FL_VERDICT_COUNT;
}

const char *fl_verdict_name(fl_verdict v)
{
	return valid(v) ? verdicts[v].name : "UNKNOWN";
}

fl_verdict fl_verdict_parse(const char *name)
{
	if (!name)
		return FL_VERDICT_UNKNOWN;
	for (int i = 0; i < FL_VERDICT_COUNT; i++)
		if (strcmp(verdicts[i].name, name) == 0)
			return (fl_verdict)i;
	return FL_VERDICT_UNKNOWN;
}

int fl_verdict_good(fl_verdict v)
{
	return valid(v) && verdicts[v].good;
}

const char *fl_verdict_summary_key(fl_verdict v)
{
	return valid(v) ? verdicts[v].summary_key : "unknown";
}

int fl_verdict_rank(fl_verdict v)
{
	return valid(v) ? verdicts[v].rank : 0;
}

/* Lua patterns are what scenario authors know; a throwaway state with only
 * the string library runs string.find in plain C terms. */
int fl_verdict_lua_match(const char *message, const char *pattern)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return 0;
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
	lua_getfield(L, -1, "find");
	lua_pushstring(L, message ? message : "");
	lua_pushstring(L, pattern ? pattern : "");
	int found = lua_pcall(L, 2, 1, 0) == LUA_OK && !lua_isnil(L, -1);
	lua_close(L);
	return found;
}

fl_verdict fl_verdict_decide(const fl_verdict_input *in, char *message,
			     size_t len)
{
	snprintf(message, len, "%s", "");
	if (in->error) {
		snprintf(message, len, "%s", in->error);
		return FL_VERDICT_ERROR;
	}
	const char *first = NULL;
	for (int i = 0; i < in->nexpects && !first; i++)
		if (!in->expects[i].ok)
			first = in->expects[i].message;
	if (!in->xfail) {
		if (!first)
			return FL_VERDICT_PASS;
		snprintf(message, len, "%s", first);
		return FL_VERDICT_FAIL;
	}
	if (!first) {
		snprintf(message, len,
			 "expected to fail, but every expectation held");
		return FL_VERDICT_XPASS;
	}
	if (!in->xfail_match) {
		snprintf(message, len, "%s", first);
		return FL_VERDICT_XFAIL;
	}
	/* The failure must be the expected one. */
	fl_pattern_match_fn match = in->match ? in->match : fl_verdict_lua_match;
	for (int i = 0; i < in->nexpects; i++) {
		if (in->expects[i].ok)
			continue;
		if (match(in->expects[i].message, in->xfail_match)) {
			snprintf(message, len, "%s", in->expects[i].message);
			return FL_VERDICT_XFAIL;
		}
	}
	snprintf(message, len, "failed, but not as expected (xfail.match '%s'): %s",
		 in->xfail_match, first);
	return FL_VERDICT_FAIL;
}

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How many different digests (a missing one counts as ""). */
static size_t distinct_digests(const char *const *digests, size_t n)
{
	const char **sorted = fl_xmalloc(n * sizeof *sorted);
	for (size_t i = 0; i < n; i++)
		sorted[i] = digests[i] ? digests[i] : "";
	qsort(sorted, n, sizeof *sorted, cmp_digest);
	size_t distinct = n ? 1 : 0;
	for (size_t i = 1; i < n; i++)
		distinct += strcmp(sorted[i], sorted[i - 1]) != 0;
	free(sorted);
	return distinct;
}

fl_verdict fl_verdict_repeat(const fl_verdict *runs,
			     const char *const *digests, size_t n,
			     char *message, size_t len)
{
	if (len)
		message[0] = '\0';
	if (n == 0)
		return FL_VERDICT_UNKNOWN;
	size_t digests_seen = distinct_digests(digests, n);
	int verdict_differs = 0;
	for (size_t i = 1; i < n; i++)
		verdict_differs |= runs[i] != runs[0];
	if (!verdict_differs && digests_seen <= 1)
		return runs[0];
	/* Each verdict with its count, in the order they first came. */
	fl_verdict order[FL_VERDICT_COUNT + 1];
	size_t count[FL_VERDICT_COUNT + 1] = {0}, norder = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < norder && order[k] != runs[i])
			k++;
		if (k == norder)
			order[norder++] = runs[i];
		count[k]++;
	}
	size_t used = 0;
	int w = snprintf(message, len, "flaky over %zu runs:", n);
	used = w > 0 ? (size_t)w : 0;
	for (size_t k = 0; k < norder && used < len; k++) {
		w = snprintf(message + used, len - used, " %s x%zu",
			     fl_verdict_name(order[k]), count[k]);
		used += w > 0 ? (size_t)w : 0;
	}
	if (digests_seen > 1 && used < len)
		snprintf(message + used, len - used,
			 "; %zu different fault journals", digests_seen);
	return FL_VERDICT_FLAKY;
}

void fl_verdict_count(fl_verdict_counts *c, fl_verdict v, int load_error)
{
	c->total++;
	if (valid(v))
		c->n[v]++;
	else
		c->unknown++;
	if (load_error)
		c->load_errors++;
}

int fl_verdict_exit_status(const fl_verdict_counts *c)
{
	if (c->n[FL_VERDICT_ERROR] || c->load_errors || c->unknown)
		return 2;
	if (c->n[FL_VERDICT_FAIL] || c->n[FL_VERDICT_XPASS] ||
	    c->n[FL_VERDICT_FLAKY])
		return 1;
	return 0;
}
