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
	/* Survival first: a target that crashed failed for that, whatever
	 * else failed after (the crash's consequences, mostly); the others
	 * are still listed. */
	const char *first = NULL;
	for (int i = 0; i < in->nexpects && !first; i++)
		if (!in->expects[i].ok && !strcmp(in->expects[i].what, "survival"))
			first = in->expects[i].message;
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The digest or signature of run i: "" for none. */
static const char *digest_of(const fl_repeat_run *r)
{
	return r->digest ? r->digest : "";
}

static const char *signature_of(const fl_repeat_run *r)
{
	return r->signature ? r->signature : "";
}

/* How many different strings get() gives over the runs. */
static size_t distinct(const fl_repeat_run *runs, size_t n,
		       const char *(*get)(const fl_repeat_run *))
{
	const char **sorted = fl_xmalloc((n + 1) * sizeof *sorted);
	for (size_t i = 0; i < n; i++)
		sorted[i] = get(&runs[i]);
	qsort(sorted, n, sizeof *sorted, cmp_str);
	size_t count = n ? 1 : 0;
	for (size_t i = 1; i < n; i++)
		count += strcmp(sorted[i], sorted[i - 1]) != 0;
	free(sorted);
	return count;
}

/* Appends to message what each run's value was, with its count, in the
 * order the values first came: " PASS x2 FAIL x1". */
static void tally(fl_buf *b, const fl_repeat_run *runs, size_t n,
		  const char *(*get)(const fl_repeat_run *), const char *sep)
{
	int *done = fl_xcalloc(n + 1, sizeof *done);
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		size_t count = 0;
		for (size_t k = i; k < n; k++)
			if (!done[k] && !strcmp(get(&runs[k]), get(&runs[i]))) {
				done[k] = 1;
				count++;
			}
		const char *v = get(&runs[i]);
		fl_buf_printf(b, "%s%s x%zu", first ? " " : sep,
			      *v ? v : "nothing failed", count);
		first = 0;
	}
	free(done);
}

static const char *verdict_of(const fl_repeat_run *r)
{
	return fl_verdict_name(r->verdict);
}

fl_verdict fl_verdict_repeat(const fl_repeat_run *runs, size_t n, int exact,
			     char *message, size_t len, char *note,
			     size_t notelen)
{
	if (len)
		message[0] = '\0';
	if (notelen)
		note[0] = '\0';
	if (n == 0)
		return FL_VERDICT_UNKNOWN;
	size_t nverdicts = distinct(runs, n, verdict_of);
	size_t failures = distinct(runs, n, signature_of);
	size_t journals = distinct(runs, n, digest_of);
	/* Journals of windows opened at script moments or on output may
	 * differ from run to run without the outcome changing: said, not
	 * judged. */
	if (journals > 1 && !exact && notelen)
		snprintf(note, notelen,
			 "journal varies (windows not tied to target events): "
			 "%zu different fault journals in %zu runs",
			 journals, n);
	int journal_counts = journals > 1 && exact;
	if (nverdicts == 1 && failures == 1 && !journal_counts)
		return runs[0].verdict;
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "flaky over %zu runs:", n);
	tally(&b, runs, n, verdict_of, " ");
	if (nverdicts == 1 && failures > 1) {
		fl_buf_puts(&b, "; the failure differs:");
		tally(&b, runs, n, signature_of, ", ");
	}
	if (journal_counts)
		fl_buf_printf(&b, "; %zu different fault journals", journals);
	if (len)
		snprintf(message, len, "%s", b.data);
	fl_buf_free(&b);
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
