#define _GNU_SOURCE
#include "result.h"

#include "instance.h"
#include "journal.h"
#include "measure.h"
#include "sites.h"
#include "sweep.h"
#include "util.h"
#include "windows.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series longer than this are thinned to an envelope for the report. */
#define SERIES_MAX_POINTS 4000
/* At most this many fired faults are listed in the results (all go to the
 * journal file). */
#define JOURNAL_RESULTS_MAX 1000
/* At most this many leaked fds are listed. */
#define FD_LIST_MAX 1000

/* ------------------------------------------------------------------ */
/* The targets                                                          */
/* ------------------------------------------------------------------ */

static void append_sample(json_t *t, json_t *cols[FL_FIG_COUNT],
			  int64_t t_ns, const int64_t v[FL_FIG_COUNT])
{
	json_array_append_new(t, json_real((double)t_ns / 1e9));
	for (int f = 0; f < FL_FIG_COUNT; f++)
		if (cols[f])
			json_array_append_new(cols[f], json_integer(v[f]));
}

static json_t *series_json(fl_session *s)
{
	json_t *t = json_array(), *cols[FL_FIG_COUNT];
	for (int f = 0; f < FL_FIG_COUNT; f++)
		/* An optional figure appears only when it was measured. */
		cols[f] = fl_figures[f].optional && !s->watch_path[0]
				  ? NULL
				  : json_array();
	pthread_mutex_lock(&s->lock);
	size_t n = s->nsamples;
	if (n <= SERIES_MAX_POINTS) {
		for (size_t i = 0; i < n; i++)
			append_sample(t, cols, s->samples[i].t_ns,
				      s->samples[i].v);
	} else {
		/* Long runs are thinned out to an envelope: each bucket of
		 * samples becomes two points, its lowest figures at its start
		 * and its highest at its end, so no spike is lost. */
		size_t buckets = SERIES_MAX_POINTS / 2;
		for (size_t b = 0; b < buckets; b++) {
			size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
			if (hi <= lo)
				continue;
			fl_sample mn = s->samples[lo], mx = s->samples[lo];
			for (size_t i = lo; i < hi; i++) {
				for (int f = 0; f < FL_FIG_COUNT; f++) {
					int64_t v = s->samples[i].v[f];
					if (v < mn.v[f])
						mn.v[f] = v;
					if (v > mx.v[f])
						mx.v[f] = v;
				}
			}
			append_sample(t, cols, s->samples[lo].t_ns, mn.v);
			if (hi - lo > 1)
				append_sample(t, cols, s->samples[hi - 1].t_ns,
					      mx.v);
		}
	}
	pthread_mutex_unlock(&s->lock);
	json_t *o = json_pack("{s:o,s:b}", "t", t, "downsampled",
			      n > SERIES_MAX_POINTS);
	for (int f = 0; f < FL_FIG_COUNT; f++)
		if (cols[f])
			json_object_set_new(o, fl_figures[f].key, cols[f]);
	return o;
}

static json_t *exit_json(const fl_ctx *ctx, const fl_instance *in)
{
	fl_exit_info e = fl_instance_exit(in);
	json_t *o = json_object();
	json_object_set_new(o, "exited", json_boolean(e.exited));
	json_object_set_new(o, "code", e.exited && !e.signal ? json_integer(e.code)
							     : json_null());
	json_object_set_new(o, "signal", e.signal ? json_string(fl_signal_name(
							    e.signal))
						  : json_null());
	json_object_set_new(o, "core_dumped", json_boolean(e.core));
	json_object_set_new(o, "t", e.exited ? json_real((double)e.t_ns / 1e9)
					     : json_null());
	json_object_set_new(o, "stopped_by", in->stopped_by[0]
						     ? json_string(in->stopped_by)
						     : json_null());
	json_object_set_new(o, "expected",
			    json_boolean(e.exited &&
					 !fl_instance_died_on_its_own(ctx, in)));
	json_object_set_new(o, "stragglers_killed",
			    json_boolean(in->stragglers));
	return o;
}

static json_t *sampling_json(fl_session *s)
{
	pthread_mutex_lock(&s->lock);
	json_t *o = json_pack(
		"{s:f,s:I,s:f,s:f,s:I,s:s}", "hz", 1e9 / (double)s->period_ns,
		"samples", (json_int_t)s->nsamples, "mean_cost_us",
		s->nsamples ? (double)s->sample_cost_total_ns /
				      (double)s->nsamples / 1e3
			    : 0.0,
		"max_cost_us", (double)s->sample_cost_max_ns / 1e3, "errors",
		(json_int_t)s->sample_errors, "fd_method",
		fl_sampler_method_name(s->sampler.method));
	pthread_mutex_unlock(&s->lock);
	return o;
}

static json_t *output_json(fl_session *s)
{
	size_t olen, elen;
	char *out = fl_stream_tail(s, FL_STDOUT, &olen);
	char *err = fl_stream_tail(s, FL_STDERR, &elen);
	pthread_mutex_lock(&s->lock);
	json_t *o = json_pack("{s:s%,s:s%,s:I,s:I,s:I,s:I}", "stdout_tail", out,
			      olen, "stderr_tail", err, elen, "stdout_bytes",
			      (json_int_t)s->out.bytes, "stderr_bytes",
			      (json_int_t)s->err.bytes, "stdout_lines",
			      (json_int_t)s->out.lines, "stderr_lines",
			      (json_int_t)s->err.lines);
	pthread_mutex_unlock(&s->lock);
	free(out);
	free(err);
	return o;
}

static json_t *target_json(const fl_ctx *ctx, const fl_instance *in)
{
	json_t *argv = json_array();
	for (int k = 0; k < in->argc; k++)
		json_array_append_new(argv, json_string(in->argv[k]));
	json_t *o = json_object();
	json_object_set_new(o, "argv", argv);
	if (!in->sess) {
		json_object_set_new(o, "start_error", json_string(in->start_error));
		return o;
	}
	fl_session *s = in->sess;
	json_object_set_new(o, "pid", json_integer(s->child.pid));
	json_object_set_new(o, "start_error", in->start_error[0]
						      ? json_string(in->start_error)
						      : json_null());
	json_object_set_new(o, "ready_s", json_real((double)in->ready_ns / 1e9));
	json_object_set_new(o, "exit", exit_json(ctx, in));
	/* Refreshes the agent's process list if the run still goes on. */
	json_object_set_new(o, "agent",
			    fl_faults_json((fl_faults *)&in->faults));
	json_object_set_new(o, "footprint",
			    fl_faults_footprint_json(&in->faults));
	json_object_set_new(o, "sampling", sampling_json(s));
	json_object_set_new(o, "series", series_json(s));
	json_object_set_new(o, "output", output_json(s));
	return o;
}

/* ------------------------------------------------------------------ */
/* Figures: hypothesis, baseline, final, leaks                          */
/* ------------------------------------------------------------------ */

static int measured(const fl_ctx *ctx, int f)
{
	return !fl_figures[f].optional || ctx->cfg.watch;
}

static json_t *steady_json(const fl_ctx *ctx)
{
	json_t *o = json_object();
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		const fl_tolerance *t = &ctx->cfg.steady.tol[f];
		json_object_set_new(o, fl_figures[f].key,
				    t->set ? json_string(t->text) : json_null());
	}
	json_object_set_new(o, "health", json_boolean(ctx->cfg.steady.health));
	return o;
}

static json_t *baseline_json(const fl_ctx *ctx)
{
	if (!ctx->base.valid)
		return json_null();
	const fl_base_snapshot *b = &ctx->base_snap;
	json_t *snap = json_pack("{s:i,s:i}", "fds", b->nfds, "threads",
				 b->nthreads);
	json_object_set_new(snap, "files", ctx->cfg.watch
						   ? json_integer(b->nfiles)
						   : json_null());
	json_t *o = json_pack("{s:f,s:f,s:I,s:o}", "from",
			      (double)ctx->base.from_ns / 1e9, "to",
			      (double)ctx->base.to_ns / 1e9, "samples",
			      (json_int_t)ctx->base.samples, "snapshot", snap);
	for (int f = 0; f < FL_FIG_COUNT; f++)
		json_object_set_new(o, fl_figures[f].key,
				    measured(ctx, f) ? json_real(ctx->base.v[f])
						     : json_null());
	return o;
}

static json_t *final_json(const fl_ctx *ctx)
{
	if (!ctx->final.have)
		return json_null();
	/* What the final figures are compared with: the baseline snapshot's
	 * counts, or the baseline's medians where there is no snapshot. */
	json_t *against = json_object();
	for (int f = 0; f < FL_FIG_COUNT; f++)
		json_object_set_new(against, fl_figures[f].key,
				    measured(ctx, f)
					    ? json_real(ctx->final.base[f])
					    : json_null());
	json_t *o = json_pack("{s:f,s:s,s:b,s:o}", "t",
			      (double)ctx->final.at_ns / 1e9, "source",
			      ctx->final.snapshot ? "snapshot"
						  : "samples before the exit",
			      "quiet", ctx->final.quiet, "compared_with",
			      against);
	for (int f = 0; f < FL_FIG_COUNT; f++)
		json_object_set_new(o, fl_figures[f].key,
				    measured(ctx, f)
					    ? json_integer(ctx->final.fig.v[f])
					    : json_null());
	return o;
}

static json_t *leaks_json(const fl_ctx *ctx)
{
	if (!ctx->final.have || !ctx->base.valid)
		return json_null();
	json_t *o = json_object();
	for (int f = 0; f < FL_FIG_COUNT; f++)
		json_object_set_new(o, fl_figures[f].key,
				    measured(ctx, f)
					    ? json_real(fl_measure_leak(ctx, f))
					    : json_null());
	return o;
}

/* ------------------------------------------------------------------ */
/* Forensics                                                            */
/* ------------------------------------------------------------------ */

static json_t *fd_list_json(const fl_fd_entry *v, int n, int max)
{
	json_t *a = json_array();
	for (int i = 0; i < n && i < max; i++) {
		json_t *o = json_pack("{s:i,s:s}", "fd", v[i].fd, "target",
				      v[i].target);
		if (v[i].opened_at[0])
			json_object_set_new(o, "opened_at",
					    json_string(v[i].opened_at));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *group_list_json(const fl_group *g, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:i,s:s,s:s}", "count", g[i].count,
				      "pattern", g[i].pattern, "example",
				      g[i].example);
		if (g[i].opened_at[0])
			json_object_set_new(o, "opened_at",
					    json_string(g[i].opened_at));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *thread_list_json(const fl_thread_entry *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char st[2] = {v[i].state ? v[i].state : '?', 0};
		json_array_append_new(
			a, json_pack("{s:i,s:s,s:s,s:s,s:s}", "tid", v[i].tid,
				     "name", v[i].name, "state", st, "wchan",
				     v[i].wchan, "syscall", v[i].syscall));
	}
	return a;
}

static json_t *forensics_json(const fl_final *f)
{
	if (!f->have)
		return json_null();
	json_t *o = json_object();
	if (f->files.listed) {
		json_t *names = json_array();
		for (int i = 0; i < f->files.n && i < FD_LIST_MAX; i++)
			json_array_append_new(names,
					      json_string(f->files.items[i].target));
		json_object_set_new(o, "new_files", names);
		json_object_set_new(o, "new_file_count", json_integer(f->files.n));
		json_object_set_new(o, "gone_file_count",
				    json_integer(f->files.ngone));
		json_object_set_new(o, "file_groups",
				    group_list_json(f->files.groups,
						    f->files.ngroups));
	}
	if (f->unavailable) {
		json_object_set_new(o, "unavailable", json_string(f->unavailable));
		return o;
	}
	if (f->fds.listed) {
		json_object_set_new(o, "new_fds", fd_list_json(f->fds.items, f->fds.n,
							      FD_LIST_MAX));
		json_object_set_new(o, "new_fd_count", json_integer(f->fds.n));
		json_object_set_new(o, "gone_fds", fd_list_json(f->fds.gone,
							       f->fds.ngone,
							       FD_LIST_MAX));
		json_object_set_new(o, "fd_groups",
				    group_list_json(f->fds.groups, f->fds.ngroups));
	}
	if (f->threads.listed) {
		json_object_set_new(o, "new_threads",
				    thread_list_json(f->threads.items,
						     f->threads.n));
		json_object_set_new(o, "thread_groups",
				    group_list_json(f->threads.groups,
						    f->threads.ngroups));
		json_object_set_new(o, "gone_thread_count",
				    json_integer(f->threads.gone));
		json_object_set_new(o, "threads",
				    thread_list_json(f->threads.all,
						     f->threads.nall));
	}
	json_object_set_new(o, "baseline_fd_count",
			    json_integer(f->baseline_fd_count));
	return o;
}

static json_t *oom_json(const fl_oom *o)
{
	if (!o->hit)
		return json_null();
	json_t *j = json_object();
	json_object_set_new(j, "t", json_real((double)o->t_ns / 1e9));
	json_object_set_new(j, "rss", json_integer(o->rss));
	json_object_set_new(j, "threshold", json_integer((json_int_t)o->threshold));
	if (o->fds) {
		json_object_set_new(j, "fd_count", json_integer(o->nfds));
		json_object_set_new(j, "fds", fd_list_json(o->fds, o->nfds,
							   FD_LIST_MAX));
		json_object_set_new(j, "fd_groups",
				    group_list_json(o->fd_groups, o->nfd_groups));
	}
	if (o->threads) {
		json_object_set_new(j, "threads",
				    thread_list_json(o->threads, o->nthreads));
		json_object_set_new(j, "thread_groups",
				    group_list_json(o->thread_groups,
						    o->nthread_groups));
	}
	json_object_set_new(j, "smaps_rollup",
			    o->smaps ? json_string(o->smaps) : json_null());
	if (o->core_error)
		json_object_set_new(j, "core_error", json_string(o->core_error));
	json_object_set_new(j, "core", o->core ? json_string(o->core) : json_null());
	return j;
}

/* ------------------------------------------------------------------ */
/* Faults, journal, coverage                                            */
/* ------------------------------------------------------------------ */

static json_t *windows_json(const fl_ctx *ctx, int *time_based,
			    int *all_exact)
{
	json_t *faults = json_array();
	*time_based = 0;
	*all_exact = 1;
	for (int i = 0; i < ctx->nwindows; i++) {
		const fl_window *w = &ctx->windows[i];
		const char *en = w->spec.err ? fl_errno_name(w->spec.err) : NULL;
		json_array_append_new(
			faults,
			json_pack("{s:s,s:o,s:o,s:f,s:o,s:b,s:s,s:i,s:I,s:o,s:b}",
				  "point",
				  w->spec.point, "on",
				  w->on_ns >= 0 ? json_real((double)w->on_ns / 1e9)
						: json_null(),
				  "off",
				  w->off_ns >= 0
					  ? json_real((double)w->off_ns / 1e9)
					  : json_null(),
				  "p", w->spec.p, "errno",
				  en ? json_string(en)
				     : (w->spec.err ? json_integer(w->spec.err)
						    : json_null()),
				  "onetime", w->spec.onetime, "trigger",
				  w->trigger, "episode", w->episode, "fired",
				  (json_int_t)fl_windows_fired(ctx, w), "optional",
				  w->optional[0] ? json_string(w->optional)
						 : json_null(),
				  "exact", fl_windows_exact(w)));
		*time_based |= strcmp(w->trigger, "time") == 0;
		*all_exact &= fl_windows_exact(w);
	}
	return faults;
}

/* Every fired fault of every run of the target, as replay sees them. */
static fl_fault_rec *collect_faults(const fl_ctx *ctx, size_t *count,
				    uint64_t *lost)
{
	size_t n = 0, cap = 0;
	fl_fault_rec *v = NULL;
	*lost = 0;
	for (int k = 0; k < ctx->ninstances; k++) {
		fl_instance *in = ctx->instances[k];
		*lost += in->jlost;
		if (!in->sess)
			continue;
		for (size_t i = 0; i < in->sess->njrecs; i++) {
			const fl_jentry *e = &in->sess->jrecs[i];
			if (e->kind != FL_JREC_FAULT)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = fl_xrealloc(v, cap * sizeof *v);
			}
			fl_fault_rec *f = &v[n++];
			snprintf(f->point, sizeof f->point, "%s",
				 fl_instance_point_name(in, e));
			/* A restarted target's actors are a new family. */
			if (k == 0)
				snprintf(f->actor, sizeof f->actor, "%s", e->actor);
			else
				snprintf(f->actor, sizeof f->actor, "r%d:%s", k,
					 e->actor);
			f->n = e->n;
			f->err = e->err;
			f->t = (double)e->t_ns / 1e9;
		}
	}
	*count = n;
	return v;
}

static int cmp_by_time(const void *a, const void *b)
{
	const fl_fault_rec *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* The journal file replay and shrink read (run.c writes it next to
 * results.json). */
static json_t *journal_file(const fl_ctx *ctx, const char *id,
			    const char *verdict, fl_fault_rec *v, size_t n,
			    uint64_t lost)
{
	/* People read the journal in time order. */
	fl_fault_rec *byt = fl_xmalloc((n + 1) * sizeof *byt);
	if (n)
		memcpy(byt, v, n * sizeof *v);
	qsort(byt, n, sizeof *byt, cmp_by_time);
	char *failed[64];
	int nfailed = 0;
	for (int i = 0; i < ctx->nexpects && nfailed < 64; i++)
		if (!ctx->expects[i].ok)
			failed[nfailed++] = (char *)ctx->expects[i].what;
	fl_journal_file jf = {
		.scenario_file = ctx->ref->file,
		.index = ctx->ref->index,
		.scenario_id = (char *)id,
		.name = ctx->cfg.name ? ctx->cfg.name : ctx->ref->name,
		.seed = ctx->cfg.seed,
		.verdict = (char *)verdict,
		.failed = failed,
		.nfailed = nfailed,
		.recs = byt,
		.nrecs = n,
		.lost = lost,
	};
	json_t *file = fl_journal_file_json(&jf);
	free(byt);
	return file;
}

/* Faults fired per point when the agent could not report its counts (a
 * target that died): the journal still knows what fired. */
static void fill_point_stats(fl_ctx *ctx, const fl_fault_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(ctx->point_stats, v[i].point))
			continue;
		json_int_t count = 0;
		for (size_t k = 0; k < n; k++)
			count += strcmp(v[k].point, v[i].point) == 0;
		json_object_set_new(ctx->point_stats, v[i].point,
				    json_pack("{s:n,s:I}", "calls", "fired", count));
	}
}

/* The journal's digest and records, and the journal file. */
static void journal_results(fl_ctx *ctx, json_t *r, const char *id,
			    const char *verdict)
{
	size_t n;
	uint64_t lost;
	fl_fault_rec *v = collect_faults(ctx, &n, &lost);
	json_t *file = journal_file(ctx, id, verdict, v, n, lost);
	char digest[17];
	fl_journal_digest(v, n, digest);
	json_t *per = json_object();
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(per, v[i].point))
			continue;
		char d[17];
		fl_journal_digest_point(v, n, v[i].point, d);
		json_object_set_new(per, v[i].point, json_string(d));
	}
	json_t *records = json_array();
	json_t *all = json_object_get(file, "records");
	for (size_t i = 0; i < n && i < JOURNAL_RESULTS_MAX; i++)
		json_array_append(records, json_array_get(all, i));
	json_object_set_new(r, "journal",
			    json_pack("{s:s,s:o,s:I,s:I,s:b,s:o}", "digest", digest,
				      "digests", per, "total", (json_int_t)n,
				      "lost", (json_int_t)lost, "truncated",
				      n > JOURNAL_RESULTS_MAX, "records", records));
	if (n)
		json_object_set_new(r, "journal_file_data", file);
	else
		json_decref(file);
	if (lost)
		fl_ctx_warn(ctx,
			    "the journal lost %llu records (the ring was full): "
			    "the digest does not cover them",
			    (unsigned long long)lost);
	fill_point_stats(ctx, v, n);
	free(v);
}

/* ------------------------------------------------------------------ */
/* Call sites (a sweep's run)                                           */
/* ------------------------------------------------------------------ */

/* What the agent recorded of call sites in every run of the target: the
 * sites the windows reached (the same site in two runs counted once, its
 * calls summed), whether the sweep's site rule fired, the crashes, and
 * what the tables had no room for. */
static json_t *sites_json(fl_ctx *ctx)
{
	json_t *reached = json_array(), *crashes = json_array();
	uint64_t lost[3] = {0, 0, 0};
	int fired = 0;
	for (int i = 0; i < ctx->ninstances; i++) {
		const fl_faults *f = &ctx->instances[i]->faults;
		fl_site *s;
		int n = fl_sites_list(f, FL_SITE_REACHED, &s);
		for (int k = 0; k < n; k++) {
			char id[24];
			fl_site_id(s[k].key, id, sizeof id);
			json_t *old = NULL;
			size_t j;
			json_t *o;
			json_array_foreach(reached, j, o)
				if (!strcmp(json_string_value(json_object_get(o, "id")), id))
					old = o;
			if (old) {
				json_int_t c = json_integer_value(json_object_get(old, "calls"));
				json_object_set_new(old, "calls",
						    json_integer(c + (json_int_t)s[k].calls));
				continue;
			}
			json_array_append_new(reached, fl_site_json(&s[k]));
		}
		free(s);
		fl_crash *c;
		n = fl_sites_crashes(f, &c);
		for (int k = 0; k < n; k++)
			json_array_append_new(crashes, fl_crash_json(&c[k]));
		free(c);
		uint64_t ls, lm, lo;
		fl_sites_lost(f, &ls, &lm, &lo);
		lost[0] += ls;
		lost[1] += lm;
		lost[2] += lo;
		fired |= fl_sites_fired(f);
	}
	const fl_sweep_opts *sw = ctx->opts->sweep;
	return json_pack("{s:s,s:i,s:o,s:b,s:o,s:{s:I,s:I,s:I}}", "mode",
			 sw->mode == FL_SWEEP_RECORD ? "record" : "site", "depth",
			 sw->depth > 0 ? sw->depth : FL_SITE_DEPTH_DEFAULT,
			 "reached", reached, "fired", fired, "crashes", crashes,
			 "lost", "sites", (json_int_t)lost[0], "modules",
			 (json_int_t)lost[1], "origins", (json_int_t)lost[2]);
}

/* ------------------------------------------------------------------ */
/* Episodes, health, expectations                                       */
/* ------------------------------------------------------------------ */

static json_t *episodes_json(const fl_ctx *ctx, json_t **mttr)
{
	json_t *eps = json_array();
	int64_t *rec = fl_xmalloc((size_t)(ctx->nepisodes + 1) * sizeof *rec);
	size_t nrec = 0;
	for (int i = 0; i < ctx->nepisodes; i++) {
		const fl_episode *e = &ctx->episodes[i];
		int ok = e->judged && e->rec.state == FL_RECOVERY_OK;
		const char *state = !e->judged ? "not judged"
				    : ok       ? "recovered"
					       : "not recovered";
		json_array_append_new(
			eps,
			json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:s?}", "points",
				  e->points, "on",
				  e->on_ns >= 0 ? json_real((double)e->on_ns / 1e9)
						: json_null(),
				  "off",
				  e->off_ns >= 0
					  ? json_real((double)e->off_ns / 1e9)
					  : json_null(),
				  "state", state, "recovery_s",
				  ok ? json_real((double)e->rec.recovery_ns / 1e9)
				     : json_null(),
				  "recovered_at",
				  ok ? json_real((double)e->rec.at_ns / 1e9)
				     : json_null(),
				  "within_s",
				  e->within_s >= 0 ? json_real(e->within_s)
						   : json_null(),
				  "why",
				  e->judged && e->rec.state == FL_RECOVERY_FAILED
					  ? e->rec.why
					  : NULL));
		if (ok)
			rec[nrec++] = e->rec.recovery_ns;
	}
	fl_mttr m;
	fl_judge_mttr(rec, nrec, &m);
	free(rec);
	*mttr = nrec ? json_pack("{s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)m.n,
				 "mean_s", m.mean_s, "p50_s", m.p50_s, "p95_s",
				 m.p95_s, "max_s", m.max_s)
		     : json_null();
	return eps;
}

static json_t *health_json(const fl_ctx *ctx)
{
	json_t *ht = json_array(), *hok = json_array(), *hlat = json_array();
	json_t *why = json_array();
	size_t step = ctx->nhealth > SERIES_MAX_POINTS
			      ? ctx->nhealth / SERIES_MAX_POINTS + 1
			      : 1;
	for (size_t i = 0; i < ctx->nhealth; i++) {
		const fl_health_result *h = &ctx->health_results[i];
		if (i % step == 0 || !h->ok) {
			json_array_append_new(ht, json_real((double)h->t_ns / 1e9));
			json_array_append_new(hok, json_boolean(h->ok));
			json_array_append_new(
				hlat, json_real((double)h->latency_ns / 1e6));
			json_array_append_new(why, h->ok ? json_null()
							 : json_string(h->detail));
		}
	}
	size_t failed = ctx->health_failed;
	static const char *const kinds[] = {
		[FL_HEALTH_NONE] = "none",
		[FL_HEALTH_TCP] = "tcp",
		[FL_HEALTH_FUNCTION] = "function",
	};
	return json_pack("{s:I,s:I,s:s,s:o,s:o,s:o,s:o}", "probes",
			 (json_int_t)ctx->health_probes, "failed",
			 (json_int_t)failed, "kind", kinds[ctx->cfg.health.kind],
			 "t", ht, "ok", hok, "latency_ms", hlat, "why", why);
}

static json_t *expectations_json(const fl_ctx *ctx)
{
	json_t *ex = json_array();
	for (int i = 0; i < ctx->nexpects; i++) {
		const fl_expectation *e = &ctx->expects[i];
		json_array_append_new(
			ex, json_pack("{s:s,s:b,s:s,s:s,s:s,s:s}", "what", e->what,
				      "ok", e->ok, "measured", e->measured,
				      "allowed", e->allowed, "message",
				      e->message, "where", e->where));
	}
	return ex;
}

static json_t *tags_json(const fl_config *c)
{
	json_t *a = json_array();
	for (int i = 0; i < c->ntags; i++)
		json_array_append_new(a, json_string(c->tags[i]));
	return a;
}

/* ------------------------------------------------------------------ */

/* The scenario's identity, verdict and how to run it again. */
static void head_json(fl_ctx *ctx, json_t *r, const char *id, double duration_s,
		      fl_verdict verdict, const char *message)
{
	const fl_config *c = &ctx->cfg;
	json_object_set_new(r, "file", json_string(ctx->ref->file));
	json_object_set_new(r, "index", json_integer(ctx->ref->index));
	json_object_set_new(r, "id", json_string(id));
	json_object_set_new(r, "name",
			    json_string(c->name ? c->name : ctx->ref->name));
	json_object_set_new(r, "description", c->description
						      ? json_string(c->description)
						      : json_null());
	json_object_set_new(r, "tags", tags_json(c));
	json_object_set_new(r, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(r, "verdict", json_string(fl_verdict_name(verdict)));
	json_object_set_new(r, "message",
			    message[0] ? json_string(message) : json_null());
	json_object_set_new(r, "load_error", json_boolean(ctx->load_error));
	json_object_set_new(r, "duration_s", json_real(duration_s));
	json_object_set_new(r, "started",
			    json_real((double)ctx->started_wall_ns / 1e9));
	json_object_set_new(r, "xfail",
			    c->xfail ? json_pack("{s:s?,s:s?}", "reason",
						 c->xfail_reason, "match",
						 c->xfail_match)
				     : json_null());
	char rerun[PATH_MAX + 128];
	snprintf(rerun, sizeof rerun, "%s run --seed %llu %s",
		 ctx->opts->self_path ? ctx->opts->self_path : "faultline",
		 (unsigned long long)c->seed, id);
	json_object_set_new(r, "rerun", json_string(rerun));
	json_object_set_new(r, "error",
			    ctx->host.error_msg
				    ? json_pack("{s:s,s:s?}", "message",
						ctx->host.error_msg, "traceback",
						ctx->traceback)
				    : json_null());
}

json_t *fl_result_build(fl_ctx *ctx, double duration_s)
{
	/* A sweep judges what each failed call did to the program, whatever
	 * the scenario expects of its own faults: no xfail. */
	fl_verdict_input vin = {.error = ctx->host.error_msg,
				.expects = ctx->expects,
				.nexpects = ctx->nexpects,
				.xfail = ctx->cfg.xfail && !ctx->opts->sweep,
				.xfail_match = ctx->cfg.xfail_match};
	char message[1400];
	fl_verdict verdict = fl_verdict_decide(&vin, message, sizeof message);
	char id[PATH_MAX + 16];
	if (ctx->ref->index)
		snprintf(id, sizeof id, "%s#%d", ctx->ref->file, ctx->ref->index);
	else
		snprintf(id, sizeof id, "%s", ctx->ref->file);

	json_t *r = json_object();
	head_json(ctx, r, id, duration_s, verdict, message);
	json_t *insts = json_array();
	for (int i = 0; i < ctx->ninstances; i++)
		json_array_append_new(insts, target_json(ctx, ctx->instances[i]));
	json_object_set_new(r, "targets", insts);
	json_object_set_new(r, "steady", steady_json(ctx));
	json_object_set_new(r, "hold_s", json_real((double)ctx->cfg.hold_ns / 1e9));
	json_object_set_new(r, "baseline", baseline_json(ctx));
	json_object_set_new(r, "final", final_json(ctx));
	json_object_set_new(r, "leaks", leaks_json(ctx));
	json_object_set_new(r, "forensics", forensics_json(&ctx->final));
	json_object_set_new(r, "oom_precursor", oom_json(&ctx->oom));
	int time_based, exact;
	json_object_set_new(r, "faults", windows_json(ctx, &time_based, &exact));
	json_object_set_new(r, "time_based_windows", json_boolean(time_based));
	/* Whether the same seed must give the same journal: every window is
	 * exact (no window at all: nothing fires, trivially the same). */
	json_object_set_new(r, "exact", json_boolean(exact));
	journal_results(ctx, r, id, fl_verdict_name(verdict));
	json_object_set_new(r, "points", json_incref(ctx->point_stats));
	json_object_set_new(r, "warnings", json_incref(ctx->warnings));
	json_object_set_new(r, "replay", ctx->replay
						 ? json_pack("{s:I}", "faults",
							     (json_int_t)ctx->nreplay)
						 : json_null());
	json_t *mttr;
	json_object_set_new(r, "episodes", episodes_json(ctx, &mttr));
	json_object_set_new(r, "mttr", mttr);
	json_object_set_new(r, "health", health_json(ctx));
	json_object_set_new(r, "expectations", expectations_json(ctx));
	json_object_set_new(r, "log", json_incref(ctx->log));
	if (ctx->opts->sweep)
		json_object_set_new(r, "sites", sites_json(ctx));
	return r;
}
