/* The runs of faultline sweep: the reference runs and the plan of tasks
 * they make, a run per site and second runs of findings (-j of them side
 * by side), the line each run prints as it ends, and each site's entry of
 * the results with the command that replays its fault. cmd_sweep.c reads
 * the command line and writes the document; sweep.c holds the rules that
 * turn a run's result into an outcome. */
#define _GNU_SOURCE
#include "sweep_run.h"

#include "monitor.h"
#include "progress.h"
#include "results.h"
#include "sites.h"
#include "text.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Runs fn(arg, i) for i in [0, n), jobs of them side by side, in the
 * order of i; stops starting new ones once interrupted. */
struct pool {
	pthread_mutex_t lock;
	int next, n;
	void (*fn)(void *, int);
	void *arg;
};

static void *pool_worker(void *p_)
{
	struct pool *p = p_;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n || fl_monitor_interrupted())
			return NULL;
		p->fn(p->arg, i);
	}
}

static void run_pool(int jobs, int n, void (*fn)(void *, int), void *arg)
{
	struct pool p = {PTHREAD_MUTEX_INITIALIZER, 0, n, fn, arg};
	if (jobs > n)
		jobs = n;
	if (jobs <= 1) {
		pool_worker(&p);
		return;
	}
	pthread_t *th = fl_xcalloc((size_t)jobs, sizeof *th);
	int started = 0;
	for (; started < jobs; started++)
		if (pthread_create(&th[started], NULL, pool_worker, &p) != 0)
			break;
	if (started == 0)
		pool_worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

static int past_deadline(const fl_sweep_state *s)
{
	return s->deadline_ns && fl_now_ns() >= s->deadline_ns;
}

static void reference_run(void *arg, int i)
{
	fl_sweep_state *s = arg;
	fl_sweep_scen *sc = &s->scens[i];
	fl_sweep_opts sw;
	memset(&sw, 0, sizeof sw);
	sw.mode = FL_SWEEP_RECORD;
	sw.depth = s->c->depth;
	sw.points = s->c->points;
	sw.npoints = s->c->npoints;
	fl_run_opts opts = s->c->opts;
	opts.sweep = &sw;
	fl_progress_begin(sc->id);
	fl_progress_detail("reference run");
	sc->reference = fl_scenario_run(sc->ref, &opts);
	fl_progress_end();
	sc->ref_verdict = fl_results_verdict(sc->reference);
	if (!s->c->quiet) {
		json_t *sites = fl_results_obj(sc->reference, "sites");
		size_t reached = json_array_size(fl_results_arr(sites, "reached"));
		fl_buf b;
		fl_buf_init(&b);
		fl_buf_puts(&b, "reference ");
		fl_text_console(&b, sc->id);
		fl_buf_printf(&b, ": %s, %zu site%s reached (%.2f s)\n",
			      fl_verdict_name(sc->ref_verdict), reached,
			      reached == 1 ? "" : "s",
			      fl_results_num(sc->reference, "duration_s"));
		fl_progress_write(b.data);
		fl_buf_free(&b);
	}
}

/* How a task's site reads: "fileproc.c:292 (produce_file)", with the
 * innermost frame when the C library made the call for the program. */
static const char *task_label(const fl_sweep_task *t, char *buf, size_t len)
{
	const char *at = fl_results_opt_str(t->site, "at");
	const char *via = fl_results_opt_str(t->site, "via");
	snprintf(buf, len, "%s%s%s", at ? at : "?", via ? " via " : "",
		 via ? via : "");
	return buf;
}

static void print_task(fl_sweep_state *s, const fl_sweep_task *t, int second)
{
	fl_outcome o = second ? t->second : t->outcome;
	int bad = fl_outcome_is_finding(o) || o == FL_OUTCOME_FLAKY;
	if (s->c->quiet && !bad)
		return;
	const char *color = !s->c->color	   ? ""
			    : o == FL_OUTCOME_HANDLED ? "\033[32m"
			    : bad		      ? "\033[31m"
						      : "\033[35m";
	char label[900];
	fl_buf b;
	fl_buf_init(&b);
	/* The count and the line go out together, in the count's order. */
	pthread_mutex_lock(&print_lock);
	fl_buf_printf(&b, "[%d/%d] %s%-11s%s ", ++s->done, s->total, color,
		      fl_outcome_name(o), s->c->color ? "\033[0m" : "");
	/* Points, files and functions come from the target's debug
	 * information: shown, never obeyed (fl_text). */
	fl_text_console(&b, fl_results_str(t->site, "point"));
	fl_buf_puts(&b, " at ");
	fl_text_console(&b, task_label(t, label, sizeof label));
	fl_buf_printf(&b, "%s\n", second ? " (second run)" : "");
	const char *d = second ? t->second_detail : t->detail;
	if (*d && o != FL_OUTCOME_HANDLED) {
		fl_buf_puts(&b, "       ");
		fl_text_console(&b, d);
		fl_buf_putc(&b, '\n');
	}
	fl_progress_write(b.data);
	pthread_mutex_unlock(&print_lock);
	fl_buf_free(&b);
}

/* The opts of a task's runs. */
static void task_run(fl_sweep_state *s, fl_sweep_task *t, json_t **result,
		     fl_outcome *o, char *detail, size_t len)
{
	fl_run_opts opts = s->c->opts;
	opts.sweep = &t->sw;
	char label[900];
	fl_buf site;
	fl_buf_init(&site);
	fl_buf_printf(&site, "%s at %s", fl_results_str(t->site, "point"),
		      task_label(t, label, sizeof label));
	fl_progress_begin(t->sc->id);
	fl_progress_detail(site.data);
	fl_buf_free(&site);
	*result = fl_scenario_run(t->sc->ref, &opts);
	fl_progress_end();
	*o = fl_sweep_outcome(*result, detail, len);
}

static void one_site_map(fl_sweep_state *s, fl_sweep_task *t);

static void site_run(void *arg, int i)
{
	fl_sweep_state *s = arg;
	fl_sweep_task *t = &s->tasks[i];
	if (past_deadline(s)) {
		t->not_run = "not tried: the time budget was spent";
		return;
	}
	task_run(s, t, &t->result, &t->outcome, t->detail, sizeof t->detail);
	t->ran = 1;
	if (s->c->only_site)
		one_site_map(s, t);
	print_task(s, t, 0);
}

/* A finding, or a site the run did not reach, runs again: a finding
 * that does not come back is flaky, not reported. */
static int wants_second(const fl_sweep_task *t)
{
	return t->ran && (fl_outcome_is_finding(t->outcome) ||
			  t->outcome == FL_OUTCOME_UNREACHED);
}

static void second_run(void *arg, int i)
{
	fl_sweep_state *s = arg;
	fl_sweep_task *t = &s->tasks[i];
	if (!wants_second(t) || past_deadline(s))
		return;
	json_t *r;
	task_run(s, t, &r, &t->second, t->second_detail, sizeof t->second_detail);
	json_decref(r);
	t->second_ran = 1;
	print_task(s, t, 1);
}

/* Do two runs of a site agree? The same outcome, and for a crash the
 * same signal ("crashed: SIGSEGV at ..."), for an exit the same status
 * ("exited with status 3"); how much leaked may differ. */
static int same_outcome(fl_outcome a, const char *da, fl_outcome b,
			const char *db)
{
	if (a != b)
		return 0;
	if (a == FL_OUTCOME_EXITED)
		return !strcmp(da, db);
	if (a == FL_OUTCOME_CRASHED) {
		size_t na = strcspn(da, " "), nb = strcspn(db, " ");
		const char *sa = da + na, *sb = db + nb;
		na = strcspn(sa + (*sa == ' '), " ");
		nb = strcspn(sb + (*sb == ' '), " ");
		return na == nb && !strncmp(sa, sb, na + 1);
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* The map and the entries                                              */
/* ------------------------------------------------------------------ */

/* The command that replays exactly a site's fault. */
static void replay_command(const fl_sweep_cli *c, const fl_sweep_task *t,
			   char *out, size_t len)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "%s sweep --site %s", c->opts.self_path, t->site_id);
	if (t->sw.actor[0])
		fl_buf_printf(&b, " --actor %s", t->sw.actor);
	if (t->sw.nth > 1)
		fl_buf_printf(&b, " --nth %llu", (unsigned long long)t->sw.nth);
	if (c->depth && c->depth != FL_SITE_DEPTH_DEFAULT)
		fl_buf_printf(&b, " --depth %d", c->depth);
	if (c->points_arg)
		fl_buf_printf(&b, " --points '%s'", c->points_arg);
	if (c->opts.have_seed)
		fl_buf_printf(&b, " --seed %llu", (unsigned long long)c->opts.seed);
	fl_buf_printf(&b, " %s", t->sc->id);
	snprintf(out, len, "%s", b.data);
	fl_buf_free(&b);
}

/* The fault the site's run fired, from its journal: point, actor, call
 * number, errno. */
static json_t *fired_json(json_t *result)
{
	json_t *rec = json_array_get(
		fl_results_arr(fl_results_obj(result, "journal"), "records"), 0);
	return rec ? json_deep_copy(rec) : json_null();
}

/* Turns a task's first run into its entry of the results: the ordinary
 * result of a scenario, named after its site, with its verdict from the
 * site's outcome and the sweep_site object. */
static json_t *task_entry(fl_sweep_state *s, fl_sweep_task *t)
{
	json_t *r = t->result;
	t->result = NULL;
	fl_outcome o = t->outcome;
	char detail[1200];
	snprintf(detail, sizeof detail, "%s", t->detail);
	t->confirmed = !wants_second(t) || t->second_ran;
	if (t->second_ran &&
	    !same_outcome(t->outcome, t->detail, t->second, t->second_detail)) {
		o = FL_OUTCOME_FLAKY;
		snprintf(detail, sizeof detail,
			 "flaky: %s in the first run%s%s%s, %s in the second%s%s%s",
			 fl_outcome_name(t->outcome), *t->detail ? " (" : "",
			 t->detail, *t->detail ? ")" : "",
			 fl_outcome_name(t->second), *t->second_detail ? " (" : "",
			 t->second_detail, *t->second_detail ? ")" : "");
	}
	char id[PATH_MAX + 64], name[1024], replay[PATH_MAX * 2];
	if (t->sw.nth > 1)
		snprintf(id, sizeof id, "%s@%s#%llu", t->sc->id, t->site_id,
			 (unsigned long long)t->sw.nth);
	else
		snprintf(id, sizeof id, "%s@%s", t->sc->id, t->site_id);
	char label[900];
	snprintf(name, sizeof name, "%s: %s at %s", fl_results_str(r, "name"),
		 fl_results_str(t->site, "point"), task_label(t, label, sizeof label));
	replay_command(s->c, t, replay, sizeof replay);
	json_t *runs = json_array();
	json_array_append_new(runs, json_pack("{s:s,s:s}", "outcome",
					       fl_outcome_name(t->outcome), "detail",
					       t->detail));
	if (t->second_ran)
		json_array_append_new(runs,
				      json_pack("{s:s,s:s}", "outcome",
						fl_outcome_name(t->second), "detail",
						t->second_detail));
	json_t *ss = json_pack(
		"{s:s,s:s,s:o,s:I,s:s?,s:s,s:s,s:o,s:b,s:s,s:o}", "scenario",
		t->sc->id, "site_id", t->site_id, "site", json_deep_copy(t->site),
		"nth",
		(json_int_t)t->sw.nth, "actor", t->sw.actor[0] ? t->sw.actor : NULL,
		"outcome", fl_outcome_name(o), "detail", detail, "runs", runs,
		"confirmed", t->confirmed, "replay", replay, "fired", fired_json(r));
	int bad = !ss;
	bad |= json_object_set_new(r, "id", json_string(id));
	bad |= json_object_set_new(r, "name", json_string(name));
	bad |= json_object_set_new(r, "verdict",
				   json_string(fl_verdict_name(fl_outcome_verdict(o))));
	bad |= json_object_set_new(r, "message",
				   o == FL_OUTCOME_HANDLED ? json_null()
							   : json_string(detail));
	bad |= json_object_set_new(r, "rerun", json_string(replay));
	bad |= json_object_set_new(r, "sweep_site", ss);
	/* The map's site points at its entry. */
	bad |= json_object_set_new(t->site, "result", json_string(id));
	bad |= json_object_set_new(t->site, "replay", json_string(replay));
	if (bad)
		fl_out_of_memory();
	return r;
}

/* The reference's site list, in the map: every site a window reached. */
static json_t *reference_sites(json_t *reference)
{
	json_t *out = json_array();
	size_t i;
	json_t *site;
	json_array_foreach(fl_results_arr(fl_results_obj(reference, "sites"),
					  "reached"),
			   i, site)
	{
		if (!fl_results_opt_str(site, "point"))
			continue;
		json_array_append(out, site);
	}
	return out;
}

/* Does the site belong to this share? By its id, so every shard assigns
 * it the same way, whatever else its reference run found. */
static int in_share(const fl_sweep_cli *c, const char *site_id)
{
	if (!c->shard_total)
		return 1;
	uint64_t key = fl_site_parse_id(site_id);
	return fl_mix64(key) % (uint64_t)c->shard_total ==
	       (uint64_t)(c->shard_index - 1);
}

/* The map's object of a scenario: its reference and its sites. */
static json_t *scenario_map(fl_sweep_state *s, fl_sweep_scen *sc)
{
	json_t *ref = sc->reference;
	json_t *sites = fl_results_obj(ref, "sites");
	json_t *lost = fl_results_obj(sites, "lost");
	json_t *refj = json_pack(
		"{s:s,s:s?,s:f,s:I,s:O?}", "verdict",
		fl_verdict_name(sc->ref_verdict), "message",
		fl_results_opt_str(ref, "message"), "duration_s",
		fl_results_num(ref, "duration_s"), "sites",
		(json_int_t)json_array_size(fl_results_arr(sites, "reached")),
		"lost", lost);
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", sc->id, "file",
			      sc->ref->file, "name", fl_results_str(ref, "name"),
			      "reference", refj, "sites",
			      s->c->only_site ? json_array() : reference_sites(ref));
	if (!o)
		fl_out_of_memory();
	return o;
}

/* The tasks of every scenario whose reference passed, each site a task
 * unless another shard, the budget or --nth says otherwise. */
static void plan(fl_sweep_state *s)
{
	const fl_sweep_cli *c = s->c;
	int cap = 0;
	long planned = 0;
	for (int k = 0; k < s->nscens; k++) {
		fl_sweep_scen *sc = &s->scens[k];
		sc->map = scenario_map(s, sc);
		size_t i;
		json_t *site;
		json_array_foreach(fl_results_arr(sc->map, "sites"), i, site)
		{
			const char *why = NULL;
			char buf[200];
			const char *sid = fl_results_str(site, "id");
			if (sc->ref_verdict != FL_VERDICT_PASS) {
				why = "not tried: the reference run, with no "
				      "fault, did not pass";
			} else if (!in_share(c, sid)) {
				json_object_set_new(site, "outcome",
						    json_string("other shard"));
				continue;
			} else if ((uint64_t)fl_results_int(site, "calls") <
				   c->nth) {
				snprintf(buf, sizeof buf,
					 "not tried: the reference run reached it "
					 "%lld time%s, fewer than --nth %llu",
					 fl_results_int(site, "calls"),
					 fl_results_int(site, "calls") == 1 ? "" : "s",
					 (unsigned long long)c->nth);
				why = buf;
			} else if (c->budget_runs && planned >= c->budget_runs) {
				snprintf(buf, sizeof buf,
					 "not tried: the budget of %ld run%s was "
					 "spent",
					 c->budget_runs,
					 c->budget_runs == 1 ? "" : "s");
				why = buf;
			}
			if (why) {
				json_object_set_new(site, "outcome",
						    json_string("not tried"));
				json_object_set_new(site, "detail", json_string(why));
				continue;
			}
			if (s->ntasks == cap) {
				cap = cap ? cap * 2 : 32;
				s->tasks = fl_xrealloc(s->tasks,
						       (size_t)cap * sizeof *s->tasks);
			}
			fl_sweep_task *t = &s->tasks[s->ntasks++];
			memset(t, 0, sizeof *t);
			t->sc = sc;
			t->site = site;
			snprintf(t->site_id, sizeof t->site_id, "%s", sid);
			t->sw.mode = FL_SWEEP_SITE;
			t->sw.site_key = fl_site_parse_id(sid);
			/* One actor reached it: that actor's K-th call, exact
			 * whatever the other threads do. Several (a thread per
			 * request, whose names depend on the order they come
			 * in): the K-th call from it by anyone, since the
			 * first actor may never reach it again. */
			if (fl_results_int(site, "calls") ==
			    fl_results_int(site, "actor_calls"))
				snprintf(t->sw.actor, sizeof t->sw.actor, "%s",
					 fl_results_str(site, "actor"));
			t->sw.nth = c->nth;
			t->sw.depth = c->depth;
			t->sw.points = c->points;
			t->sw.npoints = c->npoints;
			planned++;
		}
	}
}

/* --site: one task per scenario, for the site named; its map entry is
 * what the run's failed call recorded. */
static void plan_one_site(fl_sweep_state *s)
{
	const fl_sweep_cli *c = s->c;
	s->tasks = fl_xcalloc((size_t)s->nscens + 1, sizeof *s->tasks);
	for (int k = 0; k < s->nscens; k++) {
		fl_sweep_scen *sc = &s->scens[k];
		fl_sweep_task *t = &s->tasks[s->ntasks++];
		t->sc = sc;
		fl_site_id(c->only_site, t->site_id, sizeof t->site_id);
		t->sw.mode = FL_SWEEP_SITE;
		t->sw.site_key = c->only_site;
		snprintf(t->sw.actor, sizeof t->sw.actor, "%s",
			 c->only_actor ? c->only_actor : "");
		t->sw.nth = c->nth;
		t->sw.depth = c->depth;
		t->sw.points = c->points;
		t->sw.npoints = c->npoints;
	}
}

/* After a --site run: the map gets the site as the run recorded it. */
static void one_site_map(fl_sweep_state *s, fl_sweep_task *t)
{
	fl_sweep_scen *sc = t->sc;
	json_t *ref = t->result;
	json_t *reached = fl_results_arr(fl_results_obj(ref, "sites"), "reached");
	json_t *site = NULL;
	size_t i;
	json_t *x;
	json_array_foreach(reached, i, x)
		if (!strcmp(fl_results_str(x, "id"), t->site_id))
			site = x;
	site = site ? json_deep_copy(site)
		    : json_pack("{s:s,s:n,s:s}", "id", t->site_id, "point", "at",
				"(not reached)");
	json_t *refj = json_pack("{s:n}", "verdict");
	sc->map = json_pack("{s:s,s:s,s:s,s:o,s:[o]}", "id", sc->id, "file",
			    sc->ref->file, "name", fl_results_str(ref, "name"),
			    "reference", refj, "sites", site);
	t->site = json_array_get(fl_results_arr(sc->map, "sites"), 0);
	(void)s;
}

/* ------------------------------------------------------------------ */
/* The sweep                                                            */
/* ------------------------------------------------------------------ */

int fl_sweep_run_all(fl_sweep_state *s)
{
	const fl_sweep_cli *c = s->c;
	int runs = 0;
	if (c->only_site) {
		plan_one_site(s);
	} else {
		run_pool(c->jobs, s->nscens, reference_run, s);
		runs += s->nscens;
		plan(s);
	}
	s->total = s->ntasks;
	run_pool(c->jobs, s->ntasks, site_run, s);
	/* A replay (--site) is one run: the user asked for that fault. */
	if (!c->only_site) {
		int again = 0;
		for (int i = 0; i < s->ntasks; i++)
			again += wants_second(&s->tasks[i]);
		s->done = 0;
		s->total = again;
		run_pool(c->jobs, s->ntasks, second_run, s);
	}
	return runs;
}

json_t *fl_sweep_run_entries(fl_sweep_state *s, int *runs, int *ref_failed)
{
	json_t *entries = json_array();
	*ref_failed = 0;
	for (int k = 0; k < s->nscens; k++) {
		fl_sweep_scen *sc = &s->scens[k];
		if (!sc->reference)
			continue;
		if (sc->ref_verdict != FL_VERDICT_PASS) {
			*ref_failed = 1;
			/* One shard says so (every shard ran the reference):
			 * merged shards must not hold the same id twice. */
			if (s->c->shard_index <= 1) {
				char rid[PATH_MAX + 32];
				snprintf(rid, sizeof rid, "%s@reference", sc->id);
				json_object_set_new(sc->reference, "id",
						    json_string(rid));
				json_array_append(entries, sc->reference);
			}
		}
	}
	for (int i = 0; i < s->ntasks; i++) {
		fl_sweep_task *t = &s->tasks[i];
		*runs += t->ran + t->second_ran;
		if (!t->ran) {
			if (t->site) {
				json_object_set_new(t->site, "outcome",
						    json_string("not tried"));
				json_object_set_new(
					t->site, "detail",
					json_string(t->not_run ? t->not_run
							       : "not tried: "
								 "interrupted"));
			}
			continue;
		}
		json_array_append_new(entries, task_entry(s, t));
	}
	return entries;
}
