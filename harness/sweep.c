#define _GNU_SOURCE
#include "sweep.h"

#include "results.h"
#include "verdict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[FL_OUTCOME_COUNT] = {
	[FL_OUTCOME_HANDLED] = "handled",
	[FL_OUTCOME_CRASHED] = "crashed",
	[FL_OUTCOME_EXITED] = "exited",
	[FL_OUTCOME_LEAKED] = "leaked",
	[FL_OUTCOME_UNRECOVERED] = "unrecovered",
	[FL_OUTCOME_FAILED] = "failed",
	[FL_OUTCOME_UNREACHED] = "unreached",
	[FL_OUTCOME_ERROR] = "error",
	[FL_OUTCOME_FLAKY] = "flaky",
};

const char *fl_outcome_name(fl_outcome o)
{
	return (int)o >= 0 && o < FL_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

int fl_outcome_parse(const char *name)
{
	for (int i = 0; name && i < FL_OUTCOME_COUNT; i++)
		if (!strcmp(outcome_names[i], name))
			return i;
	return -1;
}

int fl_outcome_is_finding(fl_outcome o)
{
	return o == FL_OUTCOME_CRASHED || o == FL_OUTCOME_EXITED ||
	       o == FL_OUTCOME_LEAKED || o == FL_OUTCOME_UNRECOVERED ||
	       o == FL_OUTCOME_FAILED;
}

int fl_outcome_verdict(fl_outcome o)
{
	if (o == FL_OUTCOME_HANDLED)
		return FL_VERDICT_PASS;
	if (o == FL_OUTCOME_FLAKY)
		return FL_VERDICT_FLAKY;
	if (fl_outcome_is_finding(o))
		return FL_VERDICT_FAIL;
	return FL_VERDICT_ERROR;
}

/* ------------------------------------------------------------------ */
/* One site's run                                                       */
/* ------------------------------------------------------------------ */

/* The first failed expectation whose what starts with prefix (or is it,
 * when exact), or NULL. */
static json_t *failed(json_t *result, const char *prefix, int exact)
{
	size_t i;
	json_t *e;
	json_array_foreach(fl_results_arr(result, "expectations"), i, e)
	{
		if (fl_results_bool(e, "ok"))
			continue;
		const char *what = fl_results_str(e, "what");
		if (exact ? !strcmp(what, prefix)
			  : !strncmp(what, prefix, strlen(prefix)))
			return e;
	}
	return NULL;
}

/* The exit of the last run of the target that ended in a way the
 * scenario did not ask for (died on its own), or NULL. */
static json_t *unexpected_exit(json_t *result)
{
	json_t *found = NULL;
	size_t i;
	json_t *t;
	json_array_foreach(fl_results_arr(result, "targets"), i, t)
	{
		json_t *x = fl_results_obj(t, "exit");
		if (fl_results_bool(x, "exited") && !fl_results_bool(x, "expected"))
			found = x;
	}
	return found;
}

/* The last target's exit. */
static json_t *last_exit(json_t *result)
{
	json_t *targets = fl_results_arr(result, "targets");
	size_t n = json_array_size(targets);
	return n ? fl_results_obj(json_array_get(targets, n - 1), "exit") : NULL;
}

/* The first process of any run, other than a run's first, that was
 * killed by a signal faultline did not send (processes[].crashed), or
 * NULL. */
static json_t *crashed_process(json_t *result)
{
	size_t i, j;
	json_t *t, *p;
	json_array_foreach(fl_results_arr(result, "targets"), i, t)
	{
		json_array_foreach(fl_results_arr(t, "processes"), j, p)
		{
			if (!fl_results_bool(p, "root") &&
			    fl_results_bool(p, "crashed") &&
			    fl_results_opt_str(p, "signal"))
				return p;
		}
	}
	return NULL;
}

/* The agent's crash record of process pid, or dflt. */
static json_t *crash_of(json_t *sites, long long pid, json_t *dflt)
{
	size_t i;
	json_t *c;
	json_array_foreach(fl_results_arr(sites, "crashes"), i, c)
	{
		if (fl_results_int(c, "pid") == pid)
			return c;
	}
	return dflt;
}

static void first_line(char *out, size_t len, const char *msg)
{
	size_t n = strcspn(msg, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

fl_outcome fl_sweep_outcome(json_t *result, char *detail, size_t len)
{
	detail[0] = '\0';
	json_t *sites = fl_results_obj(result, "sites");
	json_t *err = fl_results_obj(result, "error");
	/* The site's call never failed: whatever the run did, it says
	 * nothing about that site. */
	if (sites && !strcmp(fl_results_str(sites, "mode"), "site") &&
	    !fl_results_bool(sites, "fired")) {
		snprintf(detail, len, "the call was not made in this run: "
				      "nothing failed");
		return FL_OUTCOME_UNREACHED;
	}
	/* A crash is a crash even when the script waited for the exit: the
	 * agent saw the signal raised (and where), and a run ended by it. */
	json_t *crash = json_array_get(fl_results_arr(sites, "crashes"), 0);
	json_t *x = unexpected_exit(result);
	const char *sig = x ? fl_results_opt_str(x, "signal") : NULL;
	json_t *le = last_exit(result);
	if (!sig && crash && le && fl_results_opt_str(le, "signal"))
		sig = fl_results_opt_str(le, "signal");
	char who[80] = "";
	if (!sig) {
		/* Another process of the tree killed by a signal faultline
		 * did not send (a forked worker): the run's own survival rule
		 * said so in its processes. */
		json_t *p = crashed_process(result);
		if (p) {
			/* Named by its actor where the agent ran in it: the
			 * same in every run, where a pid is not. */
			sig = fl_results_opt_str(p, "signal");
			crash = crash_of(sites, fl_results_int(p, "pid"), NULL);
			const char *actor = fl_results_opt_str(crash, "actor");
			const char *pname = fl_results_opt_str(p, "name");
			if (!pname)
				pname = "a process of unknown name";
			if (actor)
				snprintf(who, sizeof who, " in %s (actor %s)",
					 pname, actor);
			else
				snprintf(who, sizeof who, " in %s pid %lld",
					 pname, fl_results_int(p, "pid"));
		}
	}
	if (sig) {
		const char *at = fl_results_opt_str(crash, "at");
		const char *from = fl_results_opt_str(crash, "from");
		snprintf(detail, len, "crashed: %s%s%s%s%s%s", sig, who,
			 at ? " at " : "", at ? at : "",
			 from ? ", called from " : "", from ? from : "");
		return FL_OUTCOME_CRASHED;
	}
	if (x) {
		snprintf(detail, len, "exited with status %lld",
			 fl_results_int(x, "code"));
		return FL_OUTCOME_EXITED;
	}
	if (err) {
		char line[600];
		first_line(line, sizeof line, fl_results_str(err, "message"));
		snprintf(detail, len, "error: %s", line);
		return FL_OUTCOME_ERROR;
	}
	json_t *e;
	if ((e = failed(result, "exit", 1)) != NULL) {
		const char *s = le ? fl_results_opt_str(le, "signal") : NULL;
		if (s)
			snprintf(detail, len, "crashed: %s at its stop", s);
		else
			snprintf(detail, len, "exited with status %lld",
				 fl_results_int(le, "code"));
		return s ? FL_OUTCOME_CRASHED : FL_OUTCOME_EXITED;
	}
	if ((e = failed(result, "leaked ", 0)) != NULL) {
		first_line(detail, len, fl_results_str(e, "message"));
		return FL_OUTCOME_LEAKED;
	}
	if ((e = failed(result, "recovery", 1)) != NULL) {
		char line[600];
		first_line(line, sizeof line, fl_results_str(e, "message"));
		snprintf(detail, len, "did not recover: %s", line);
		return FL_OUTCOME_UNRECOVERED;
	}
	size_t i;
	json_array_foreach(fl_results_arr(result, "expectations"), i, e)
	{
		if (fl_results_bool(e, "ok"))
			continue;
		first_line(detail, len, fl_results_str(e, "message"));
		return FL_OUTCOME_FAILED;
	}
	fl_verdict v = fl_results_verdict(result);
	if (v == FL_VERDICT_PASS)
		return FL_OUTCOME_HANDLED;
	first_line(detail, len, fl_results_str(result, "message"));
	return v == FL_VERDICT_FAIL ? FL_OUTCOME_FAILED : FL_OUTCOME_ERROR;
}

/* ------------------------------------------------------------------ */
/* The map                                                              */
/* ------------------------------------------------------------------ */

/* The outcomes of sites that have no run: their site lists say why. */
#define NOT_TRIED "not tried"
#define OTHER_SHARD "other shard"

int fl_sweep_map_update(json_t *doc)
{
	json_t *sweep = fl_results_obj(doc, "sweep");
	if (!sweep)
		return 0;
	json_t *total = json_object();
	int bad = !total;
	size_t i, j;
	json_t *sc, *site;
	/* A site names its run by id: one index for all of them. */
	fl_results_index *ix = fl_results_index_new(doc);
	json_array_foreach(fl_results_arr(sweep, "scenarios"), i, sc)
	{
		json_t *counts = json_object();
		bad |= !counts;
		json_array_foreach(fl_results_arr(sc, "sites"), j, site)
		{
			const char *rid = fl_results_opt_str(site, "result");
			json_t *r = rid ? fl_results_index_get(ix, rid) : NULL;
			json_t *ss = fl_results_obj(r, "sweep_site");
			if (ss) {
				bad |= json_object_set(site, "outcome",
						       json_object_get(ss, "outcome"));
				bad |= json_object_set(site, "detail",
						       json_object_get(ss, "detail"));
				bad |= json_object_set(site, "confirmed",
						       json_object_get(ss, "confirmed"));
			}
			const char *o = fl_results_str(site, "outcome");
			if (!*o)
				o = NOT_TRIED;
			json_int_t n = json_integer_value(json_object_get(counts, o));
			bad |= json_object_set_new(counts, o, json_integer(n + 1));
			n = json_integer_value(json_object_get(total, o));
			bad |= json_object_set_new(total, o, json_integer(n + 1));
		}
		bad |= json_object_set_new(sc, "counts", counts);
	}
	bad |= json_object_set_new(sweep, "counts", total);
	fl_results_index_free(ix);
	return bad ? -ENOMEM : 0;
}

static json_t *by_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
		if (!strcmp(fl_results_str(o, "id"), id))
			return o;
	return NULL;
}

int fl_sweep_merge(json_t *into, json_t *from)
{
	json_t *fs = fl_results_obj(from, "sweep");
	if (!fs)
		return 0;
	json_t *is = fl_results_obj(into, "sweep");
	if (!is) {
		json_t *copy = json_deep_copy(fs);
		if (!copy || json_object_set_new(into, "sweep", copy))
			return -ENOMEM;
		return json_object_set_new(copy, "shard", json_null()) ? -ENOMEM : 0;
	}
	json_t *iscs = fl_results_arr(is, "scenarios");
	if (!iscs)
		return -EINVAL;
	int bad = 0;
	size_t i, j;
	json_t *sc, *site;
	json_array_foreach(fl_results_arr(fs, "scenarios"), i, sc)
	{
		json_t *mine = by_id(iscs, fl_results_str(sc, "id"));
		if (!mine) {
			bad |= json_array_append_new(iscs, json_deep_copy(sc));
			continue;
		}
		json_t *msites = fl_results_arr(mine, "sites");
		json_array_foreach(fl_results_arr(sc, "sites"), j, site)
		{
			json_t *m = by_id(msites, fl_results_str(site, "id"));
			if (!m) {
				bad |= json_array_append_new(msites,
							     json_deep_copy(site));
				continue;
			}
			if (!fl_results_opt_str(m, "result") &&
			    fl_results_opt_str(site, "result"))
				bad |= json_object_update(m, site);
		}
	}
	return bad ? -ENOMEM : 0;
}

void fl_sweep_site_match(json_t *scenario, json_t *site, char *out, size_t len)
{
	int n = snprintf(out, len, "%s|%s|", fl_results_str(scenario, "id"),
			 fl_results_str(site, "point"));
	json_t *stack = fl_results_arr(site, "stack");
	/* As deep as a site's identity goes. */
	size_t depth = json_array_size(stack) < FL_SITE_DEPTH_DEFAULT
			       ? json_array_size(stack)
			       : FL_SITE_DEPTH_DEFAULT;
	for (size_t i = 0; i < depth && n >= 0 && (size_t)n < len; i++) {
		json_t *fr = json_array_get(stack, i);
		const char *fn = fl_results_opt_str(fr, "function");
		const char *mod = fl_results_str(fr, "module");
		const char *base = strrchr(mod, '/');
		n += snprintf(out + n, len - (size_t)n, "%s%s", i ? "<" : "",
			      fn ? fn : base ? base + 1 : "?");
	}
}

void fl_sweep_each_site(json_t *doc, void (*fn)(json_t *, json_t *, void *),
			void *arg)
{
	size_t i, j;
	json_t *sc, *site;
	json_array_foreach(fl_results_arr(fl_results_obj(doc, "sweep"), "scenarios"),
			   i, sc)
		json_array_foreach(fl_results_arr(sc, "sites"), j, site)
			fn(sc, site, arg);
}
