#define _GNU_SOURCE
#include "result.h"

#include "bpfsample.h"

#include "instance.h"
#include "journal.h"
#include "measure.h"
#include "text.h"
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

/* The series the report draws: the tree's sums as the series module
 * reduced them while they streamed (an envelope: each bucket's lowest
 * figures at its start, its highest at its end, so no spike is lost). */
static json_t *series_json(fl_session *s)
{
	json_t *t = json_array(), *cols[FL_FIG_COUNT];
	for (int f = 0; f < FL_FIG_COUNT; f++)
		/* An optional figure appears only when it was measured. */
		cols[f] = fl_figures[f].optional && !s->watch_path[0]
				  ? NULL
				  : json_array();
	pthread_mutex_lock(&s->lock);
	size_t nb = fl_series_nbuckets(&s->series);
	for (size_t i = 0; i < nb; i++) {
		const fl_series_bucket *b = fl_series_bucket_at(&s->series, i);
		append_sample(t, cols, b->t_first, b->min);
		if (b->n > 1)
			append_sample(t, cols, b->t_last, b->max);
	}
	int down = fl_series_downsampled(&s->series);
	pthread_mutex_unlock(&s->lock);
	json_t *o = json_pack("{s:o,s:b}", "t", t, "downsampled", down);
	for (int f = 0; f < FL_FIG_COUNT; f++)
		if (cols[f])
			json_object_set_new(o, fl_figures[f].key, cols[f]);
	return o;
}

/* How a process ended, into o: "end" (running, exited, killed,
 * unknown: its parent reaped it before faultline saw it, and no record
 * of the agent says how), its exit status
 * or signal, where that was learnt, and whether it crashed (killed by a
 * signal faultline did not send: the survival rule). */
static void end_json(json_t *o, int live, int known, int sig, int code,
		     int core, const char *from, int crashed)
{
	json_object_set_new(o, "end", json_string(live	 ? "running"
						  : !known ? "unknown"
						  : sig	 ? "killed"
							 : "exited"));
	json_object_set_new(o, "exit_code", !live && known && !sig
						    ? json_integer(code)
						    : json_null());
	json_object_set_new(o, "signal", !live && known && sig
						 ? json_string(fl_signal_name(sig))
						 : json_null());
	json_object_set_new(o, "core", json_boolean(!live && known && sig && core));
	json_object_set_new(o, "end_from", !live && known ? json_string(from)
							  : json_null());
	json_object_set_new(o, "crashed", json_boolean(crashed));
}

/* The processes of the target's tree: each with its figures at its last
 * sample, its peaks, whether it left the target's group or session
 * (and was killed for it at the end), and how it ended. */
static json_t *processes_json(const fl_ctx *ctx, fl_instance *in)
{
	fl_session *s = in->sess;
	json_t *a = json_array();
	/* The first process's end is its session's; a crash is one the
	 * survival rule did not excuse. */
	fl_exit_info root = fl_instance_exit(in);
	int root_crashed = root.exited && root.signal &&
			   fl_instance_died_on_its_own(ctx, in);
	fl_instance_judge_ends(ctx, in);
	pthread_mutex_lock(&s->lock);
	const fl_tree *t = &s->tree;
	for (size_t i = 0; i < t->n; i++) {
		const fl_member *p = &t->procs[i];
		json_t *o = json_pack(
			"{s:i,s:i,s:o,s:b,s:f,s:o,s:b,s:b,s:b,s:s}", "pid",
			(int)p->pid, "ppid", (int)p->ppid, "name",
			p->comm[0] ? fl_text_json(p->comm) : json_null(), "root",
			p->is_root, "found", (double)p->first_ns / 1e9, "exited",
			p->exit_ns >= 0 ? json_real((double)p->exit_ns / 1e9)
			: p->is_root && root.exited
				? json_real((double)root.t_ns / 1e9)
				: json_null(),
			"left_group", p->left_group, "left_session",
			p->left_session, "killed", p->killed, "state",
			p->state == FL_MEMBER_LIVE     ? "running"
			: p->state == FL_MEMBER_ZOMBIE ? "zombie"
						     : "gone");
		if (p->is_root)
			end_json(o, !root.exited, 1, root.signal, root.code,
				 root.core, "wait", root_crashed);
		else
			end_json(o, p->state == FL_MEMBER_LIVE, p->end_known,
				 p->end_signal, p->end_code, p->end_core,
				 fl_end_from_name(p->end_from),
				 p->crashed);
		json_t *last = json_object(), *peak = json_object();
		for (int f = 0; f < FL_FIG_COUNT; f++) {
			if (fl_figures[f].tree)
				continue;
			json_object_set_new(last, fl_figures[f].key,
					    p->v[f] >= 0 ? json_integer(p->v[f])
							 : json_null());
			json_object_set_new(peak, fl_figures[f].key,
					    json_integer(p->peak[f]));
		}
		json_object_set_new(o, "last", last);
		json_object_set_new(o, "peak", peak);
		json_object_set_new(o, "unseen", json_boolean(p->unseen));
		json_object_set_new(o, "reaper", p->reaper > 0
							 ? json_integer(p->reaper)
							 : json_null());
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&s->lock);
	return a;
}

/* How many processes but the first crashed (as processes_json judged
 * them): those listed, and those the tree no longer lists. */
static json_int_t crashed_processes(const fl_instance *in)
{
	fl_session *s = in->sess;
	pthread_mutex_lock(&s->lock);
	json_int_t n = (json_int_t)in->dropped_crashed;
	for (size_t i = 0; i < s->tree.n; i++)
		n += s->tree.procs[i].crashed;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The processes that left the target's session or group and were still
 * running at the end: faultline killed them. */
static json_t *escaped_json(fl_session *s)
{
	json_t *a = json_array();
	char msg[1024];
	pthread_mutex_lock(&s->lock);
	const fl_tree *t = &s->tree;
	int n = fl_tree_escapees(t, msg, sizeof msg);
	for (size_t i = 0; i < t->n; i++) {
		const fl_member *p = &t->procs[i];
		if (p->killed && (p->left_group || p->left_session))
			json_array_append_new(
				a, json_pack("{s:i,s:s,s:s}", "pid", (int)p->pid,
					     "name", p->comm, "left",
					     p->left_session ? "session"
							     : "group"));
	}
	pthread_mutex_unlock(&s->lock);
	return json_pack("{s:o,s:o}", "processes", a, "message",
			 n ? json_string(msg) : json_null());
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
						     ? fl_text_json(in->stopped_by)
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
	/* Why the BPF sampler did not read the samples, when it could not
	 * load: /proc read them, and the results say why. */
	char bpf_why[256] = "";
	int bpf_failed = fl_bpfs_error(bpf_why, sizeof bpf_why);
	pthread_mutex_lock(&s->lock);
	uint64_t n = fl_series_count(&s->series);
	json_t *o = json_pack(
		"{s:f,s:I,s:f,s:f,s:I,s:I,s:s,s:o,s:o,s:s,s:I,s:I,s:I,s:I,s:I}", "hz",
		1e9 / (double)s->period_ns, "samples", (json_int_t)n,
		"mean_cost_us",
		n ? (double)s->sample_cost_total_ns / (double)n / 1e3 : 0.0,
		"max_cost_us", (double)s->sample_cost_max_ns / 1e3, "errors",
		(json_int_t)(s->sample_errors + s->tree.sample_errors),
		"missed_ticks", (json_int_t)s->missed_ticks, "method",
		s->bpf_from_ns >= 0 ? "bpf" : "procfs", "bpf_from_s",
		s->bpf_from_ns >= 0 ? json_real((double)s->bpf_from_ns / 1e9)
				    : json_null(),
		"bpf_error", bpf_failed ? json_string(bpf_why) : json_null(),
		"fd_method",
		fl_sampler_method_name(s->tree.procs[0].sampler.method),
		"processes", (json_int_t)s->tree.seen, "unseen",
		(json_int_t)s->tree.unseen, "dropped",
		(json_int_t)s->tree.dropped_procs, "reaped_lost",
		(json_int_t)s->tree.reaped_lost, "kept_bytes",
		(json_int_t)fl_series_bytes(&s->series));
	pthread_mutex_unlock(&s->lock);
	return o;
}

static json_t *output_json(fl_session *s)
{
	size_t olen, elen;
	char *out = fl_stream_tail(s, FL_STDOUT, &olen);
	char *err = fl_stream_tail(s, FL_STDERR, &elen);
	pthread_mutex_lock(&s->lock);
	/* A tail is whatever the target wrote: kept byte for byte where it
	 * is text, with U+FFFD for each byte that is not (fl_text). */
	json_t *o = json_pack("{s:o,s:o,s:I,s:I,s:I,s:I}", "stdout_tail",
			      fl_text_jsonn(out, olen), "stderr_tail",
			      fl_text_jsonn(err, elen), "stdout_bytes",
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
		fl_text_append(argv, fl_text_json(in->argv[k]));
	json_t *o = json_object();
	json_object_set_new(o, "argv", argv);
	if (!in->sess) {
		json_object_set_new(o, "start_error", fl_text_json(in->start_error));
		return o;
	}
	fl_session *s = in->sess;
	json_object_set_new(o, "pid", json_integer(s->child.pid));
	json_object_set_new(o, "start_error", in->start_error[0]
						      ? fl_text_json(in->start_error)
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
	json_object_set_new(o, "processes", processes_json(ctx, (fl_instance *)in));
	json_object_set_new(o, "crashed_processes",
			    json_integer(crashed_processes(in)));
	json_object_set_new(o, "escaped", escaped_json(s));
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

/* Is figure f part of the final measurement? (Without a baseline only the
 * watched directory is.) */
static int in_final(const fl_ctx *ctx, int f)
{
	return measured(ctx, f) &&
	       (!ctx->final.since_start || f == FL_FIG_FILES);
}

static json_t *steady_json(const fl_ctx *ctx)
{
	json_t *o = json_object();
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		const fl_tolerance *t = &ctx->cfg.steady.tol[f];
		json_object_set_new(o, fl_figures[f].key,
				    t->set ? fl_text_json(t->text) : json_null());
	}
	json_object_set_new(o, "health", json_boolean(ctx->cfg.steady.health));
	json_object_set_new(o, "per", json_string(ctx->cfg.steady.per_process
							  ? "process"
							  : "tree"));
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
				    in_final(ctx, f)
					    ? json_real(ctx->final.base[f])
					    : json_null());
	json_t *o = json_pack(
		"{s:f,s:s,s:b,s:o}", "t", (double)ctx->final.at_ns / 1e9,
		"source",
		ctx->final.since_start ? "the watched directory against its "
					 "state before the start"
		: ctx->final.snapshot	? "snapshot"
					: "samples before the exit",
		"quiet", ctx->final.quiet, "compared_with", against);
	for (int f = 0; f < FL_FIG_COUNT; f++)
		json_object_set_new(o, fl_figures[f].key,
				    in_final(ctx, f)
					    ? json_integer(ctx->final.fig.v[f])
					    : json_null());
	return o;
}

static json_t *leaks_json(const fl_ctx *ctx)
{
	if (!ctx->final.have || (!ctx->base.valid && !ctx->final.since_start))
		return json_null();
	json_t *o = json_object();
	for (int f = 0; f < FL_FIG_COUNT; f++)
		json_object_set_new(o, fl_figures[f].key,
				    in_final(ctx, f)
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
		json_t *o = json_pack("{s:i,s:o}", "fd", v[i].fd, "target",
				      fl_text_json(v[i].target));
		if (v[i].pid)
			json_object_set_new(o, "pid", json_integer(v[i].pid));
		if (v[i].opened_at[0])
			json_object_set_new(o, "opened_at",
					    fl_text_json(v[i].opened_at));
		fl_text_append(a, o);
	}
	return a;
}

static json_t *group_list_json(const fl_group *g, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:i,s:o,s:o,s:o}", "count", g[i].count,
				      "pattern", fl_text_json(g[i].pattern),
				      "example", fl_text_json(g[i].example),
				      "process",
				      g[i].proc[0] ? fl_text_json(g[i].proc)
						   : json_null());
		if (g[i].opened_at[0])
			json_object_set_new(o, "opened_at",
					    fl_text_json(g[i].opened_at));
		fl_text_append(a, o);
	}
	return a;
}

static json_t *thread_list_json(const fl_thread_entry *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char st[2] = {v[i].state ? v[i].state : '?', 0};
		fl_text_append(
			a, json_pack("{s:i,s:i,s:o,s:o,s:o,s:o}", "tid", v[i].tid,
				     "pid", v[i].pid ? v[i].pid : v[i].tid, "name",
				     fl_text_json(v[i].name), "state", fl_text_json(st),
				     "wchan", fl_text_json(v[i].wchan), "syscall",
				     fl_text_json(v[i].syscall)));
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
			fl_text_append(names, fl_text_json(f->files.items[i].target));
		json_object_set_new(o, "new_files", names);
		json_object_set_new(o, "new_file_count", json_integer(f->files.n));
		json_object_set_new(o, "gone_file_count",
				    json_integer(f->files.ngone));
		json_object_set_new(o, "file_groups",
				    group_list_json(f->files.groups,
						    f->files.ngroups));
	}
	if (f->unavailable) {
		json_object_set_new(o, "unavailable", fl_text_json(f->unavailable));
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
	if (f->procs.listed) {
		json_t *np = json_array();
		for (int i = 0; i < f->procs.n; i++)
			json_array_append_new(
				np, json_pack("{s:i,s:i,s:s}", "pid",
					      (int)f->procs.items[i].pid, "ppid",
					      (int)f->procs.items[i].ppid, "name",
					      f->procs.items[i].comm));
		json_object_set_new(o, "new_processes", np);
		json_object_set_new(o, "process_groups",
				    group_list_json(f->procs.groups,
						    f->procs.ngroups));
		json_object_set_new(o, "gone_process_count",
				    json_integer(f->procs.gone));
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
			    fl_text_json(o->smaps));
	if (o->core_error)
		json_object_set_new(j, "core_error", fl_text_json(o->core_error));
	json_object_set_new(j, "core", fl_text_json(o->core));
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
			json_pack("{s:o,s:o,s:o,s:f,s:o,s:b,s:s,s:i,s:I,s:o,s:b}",
				  "point",
				  fl_text_json(w->spec.point), "on",
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
				  w->optional[0] ? fl_text_json(w->optional)
						 : json_null(),
				  "exact", fl_windows_exact(w)));
		*time_based |= strcmp(w->trigger, "time") == 0;
		*all_exact &= fl_windows_exact(w);
	}
	return faults;
}

/* Copies a string into a fixed field, cut to fit. */
static void copy_field(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Every fired fault of every run of the target, as replay sees them,
 * folded as they come into runs (consecutive calls of an actor failed
 * the same way: a server's accept loop is hundreds of thousands of
 * them), in the order of their first calls. */
static fl_fault_rec *collect_faults(const fl_ctx *ctx, size_t *count,
				    fl_journal_stats *st)
{
	fl_journal_folder folder;
	memset(&folder, 0, sizeof folder);
	memset(st, 0, sizeof *st);
	for (int k = 0; k < ctx->ninstances; k++) {
		fl_instance *in = ctx->instances[k];
		st->lost += in->jstats.lost;
		st->torn += in->jstats.torn;
		st->waits += in->jstats.waits;
		st->waited_ns += in->jstats.waited_ns;
		if (!in->sess)
			continue;
		for (size_t i = 0; i < in->sess->njrecs; i++) {
			const fl_jentry *e = &in->sess->jrecs[i];
			if (e->kind != FL_JREC_FAULT)
				continue;
			fl_fault_rec f;
			copy_field(f.point, sizeof f.point,
				   fl_instance_point_name(in, e));
			/* A restarted target's actors are a new family. */
			if (k == 0)
				copy_field(f.actor, sizeof f.actor, e->actor);
			else
				snprintf(f.actor, sizeof f.actor, "r%d:%s", k,
					 e->actor);
			f.n = e->n;
			f.err = e->err;
			f.t = f.t_last = (double)e->t_ns / 1e9;
			f.count = 1;
			fl_journal_folder_add(&folder, &f);
		}
	}
	return fl_journal_folder_take(&folder, count);
}

static int cmp_by_time(const void *a, const void *b)
{
	const fl_fault_rec *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* src as valid UTF-8 (fl_text) in dst, cut at a character boundary:
 * the journal's writer packs plain strings, which Jansson refuses when
 * they are not UTF-8. */
static void clean_into(char *dst, size_t len, const char *src)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_text_utf8(&b, src, strlen(src));
	size_t n = b.len < len - 1 ? b.len : len - 1;
	while (n > 0 && n < b.len && ((unsigned char)b.data[n] & 0xC0) == 0x80)
		n--;
	memcpy(dst, b.data ? b.data : "", n);
	dst[n] = '\0';
	fl_buf_free(&b);
}

static char *clean_dup(const char *src)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_text_utf8(&b, src ? src : "", src ? strlen(src) : 0);
	return fl_buf_steal(&b);
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
	fl_fault_rec *runs = byt;
	size_t nruns = n;
	for (size_t i = 0; i < nruns; i++) {
		clean_into(runs[i].point, sizeof runs[i].point, runs[i].point);
		clean_into(runs[i].actor, sizeof runs[i].actor, runs[i].actor);
	}
	char *failed[64];
	int nfailed = 0;
	for (int i = 0; i < ctx->nexpects && nfailed < 64; i++)
		if (!ctx->expects[i].ok)
			failed[nfailed++] = clean_dup(ctx->expects[i].what);
	fl_journal_file jf = {
		.scenario_file = clean_dup(ctx->ref->file),
		.index = ctx->ref->index,
		.scenario_id = clean_dup(id),
		.name = clean_dup(ctx->cfg.name ? ctx->cfg.name : ctx->ref->name),
		.seed = ctx->cfg.seed,
		.verdict = (char *)verdict,
		.failed = failed,
		.nfailed = nfailed,
		.recs = runs,
		.nrecs = nruns,
		.lost = lost,
	};
	json_t *file = fl_journal_file_json(&jf);
	if (!file)
		fl_out_of_memory();
	free(jf.scenario_file);
	free(jf.scenario_id);
	free(jf.name);
	for (int i = 0; i < nfailed; i++)
		free(failed[i]);
	free(runs);
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
			if (strcmp(v[k].point, v[i].point) == 0)
				count += (json_int_t)(v[k].count ? v[k].count : 1);
		fl_text_set(ctx->point_stats, v[i].point,
			    json_pack("{s:n,s:I}", "calls", "fired", count));
	}
}

/* The journal's digest and records, and the journal file. */
static void journal_results(fl_ctx *ctx, json_t *r, const char *id,
			    const char *verdict)
{
	size_t n;
	fl_journal_stats st;
	fl_fault_rec *v = collect_faults(ctx, &n, &st);
	/* v holds runs: the calls are their counts. */
	uint64_t calls = 0;
	for (size_t i = 0; i < n; i++)
		calls += v[i].count ? v[i].count : 1;
	json_t *file = journal_file(ctx, id, verdict, v, n, st.lost);
	char digest[17];
	fl_journal_digest(v, n, digest);
	json_t *per = json_object();
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(per, v[i].point))
			continue;
		char d[17];
		fl_journal_digest_point(v, n, v[i].point, d);
		fl_text_set(per, v[i].point, json_string(d));
	}
	json_t *records = json_array();
	json_t *all = json_object_get(file, "records");
	size_t nruns = json_array_size(all);
	for (size_t i = 0; i < nruns && i < JOURNAL_RESULTS_MAX; i++)
		json_array_append(records, json_array_get(all, i));
	json_object_set_new(r, "journal",
			    json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:f,s:b,s:o}",
				      "digest", digest, "digests", per, "total",
				      (json_int_t)calls, "runs", (json_int_t)nruns,
				      "lost", (json_int_t)st.lost, "torn",
				      (json_int_t)st.torn, "waits",
				      (json_int_t)st.waits, "waited_s",
				      (double)st.waited_ns / 1e9, "truncated",
				      nruns > JOURNAL_RESULTS_MAX, "records",
				      records));
	if (n)
		json_object_set_new(r, "journal_file_data", file);
	else
		json_decref(file);
	/* Lost records make the run an ERROR (scenario.c); these two only
	 * say what happened. */
	if (st.torn)
		fl_ctx_warn(ctx,
			    "%llu fault%s of the journal were being recorded when "
			    "their process died: those calls never returned, "
			    "and are not in the journal",
			    (unsigned long long)st.torn, st.torn == 1 ? "" : "s");
	if (st.waits)
		fl_ctx_log(ctx,
			   "the target waited %.3f s in all (%llu records) for "
			   "the harness to drain a full fault journal",
			   (double)st.waited_ns / 1e9,
			   (unsigned long long)st.waits);
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
			json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o?}", "points",
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
					  ? fl_text_json(e->rec.why)
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
							 : fl_text_json(h->detail));
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
		fl_text_append(
			ex, json_pack("{s:o,s:b,s:o,s:o,s:o,s:o}", "what",
				      fl_text_json(e->what), "ok", e->ok, "measured",
				      fl_text_json(e->measured), "allowed",
				      fl_text_json(e->allowed), "message",
				      fl_text_json(e->message), "where",
				      fl_text_json(e->where)));
	}
	return ex;
}

static json_t *tags_json(const fl_config *c)
{
	json_t *a = json_array();
	for (int i = 0; i < c->ntags; i++)
		fl_text_append(a, fl_text_json(c->tags[i]));
	return a;
}

/* ------------------------------------------------------------------ */

/* The scenario's identity, verdict and how to run it again. */
static void head_json(fl_ctx *ctx, json_t *r, const char *id, double duration_s,
		      fl_verdict verdict, const char *message)
{
	const fl_config *c = &ctx->cfg;
	fl_text_set(r, "file", fl_text_json(ctx->ref->file));
	json_object_set_new(r, "index", json_integer(ctx->ref->index));
	fl_text_set(r, "id", fl_text_json(id));
	fl_text_set(r, "name", fl_text_json(c->name ? c->name : ctx->ref->name));
	json_object_set_new(r, "description", fl_text_json(c->description));
	json_object_set_new(r, "tags", tags_json(c));
	json_object_set_new(r, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(r, "verdict", json_string(fl_verdict_name(verdict)));
	json_object_set_new(r, "message",
			    message[0] ? fl_text_json(message) : json_null());
	json_object_set_new(r, "load_error", json_boolean(ctx->load_error));
	json_object_set_new(r, "duration_s", json_real(duration_s));
	json_object_set_new(r, "started",
			    json_real((double)ctx->started_wall_ns / 1e9));
	json_object_set_new(r, "xfail",
			    c->xfail ? json_pack("{s:o,s:o}", "reason",
						 fl_text_json(c->xfail_reason), "match",
						 fl_text_json(c->xfail_match))
				     : json_null());
	char rerun[PATH_MAX + 128];
	snprintf(rerun, sizeof rerun, "%s run --seed %llu %s",
		 ctx->opts->self_path ? ctx->opts->self_path : "faultline",
		 (unsigned long long)c->seed, id);
	json_object_set_new(r, "rerun", fl_text_json(rerun));
	json_object_set_new(r, "error",
			    ctx->host.error_msg
				    ? json_pack("{s:o,s:o}", "message",
						fl_text_json(ctx->host.error_msg),
						"traceback", fl_text_json(ctx->traceback))
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
