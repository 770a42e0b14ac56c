#define _GNU_SOURCE
#include "instance.h"

#include "../lib/agent_proto.h"
#include "elf.h"
#include "guardian.h"
#include "health.h"
#include "measure.h"
#include "monitor.h"
#include "points.h"
#include "probe.h"
#include "progress.h"
#include "sites.h"
#include "sweep.h"
#include "util.h"
#include "windows.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long a ready target has to introduce its agent before the harness
 * says faults cannot reach it. */
#define REGISTER_WAIT_NS (500 * FL_NS_PER_MS)
/* A ready port is looked at this often (nothing announces it). */
#define READY_PORT_POLL_NS (20 * FL_NS_PER_MS)
/* After the exit, how long the output pipes may take to drain. */
#define DRAIN_NS (100 * FL_NS_PER_MS)
/* After SIGKILL, how long the harness waits for the exit. */
#define KILL_WAIT_NS (5 * FL_NS_PER_SEC)

/* ------------------------------------------------------------------ */
/* Before the start: points and what the binary says                    */
/* ------------------------------------------------------------------ */

static int has_point(char **v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

static void add_point_name(fl_ctx *ctx, const char *name)
{
	if (has_point(ctx->points, ctx->npoints, name))
		return;
	ctx->points = fl_xrealloc(ctx->points, (size_t)(ctx->npoints + 1) *
						       sizeof *ctx->points);
	ctx->points[ctx->npoints++] = fl_xstrdup(name);
}

/* The points the agent counts from the target's first call: libfiu's
 * POSIX points, and the string literals of the scenario that look like
 * point names (its custom points, replayed points), so that call numbers
 * never depend on when a window opened. */
static void collect_points(fl_ctx *ctx)
{
	for (const char *const *p = fl_points_posix(); *p; p++)
		add_point_name(ctx, *p);
	for (size_t i = 0; i < ctx->nreplay; i++)
		add_point_name(ctx, ctx->replay[i].point);
	char *text;
	if (fl_read_file(ctx->ref->file, &text, NULL) < 0)
		return;
	for (char *q = text; (q = strpbrk(q, "\"'")) != NULL;) {
		char quote = *q++;
		char *end = strchr(q, quote);
		if (!end)
			break;
		size_t len = (size_t)(end - q);
		int ok = len > 2 && len < 100 && memchr(q, '/', len) && q[0] != '/' &&
			 q[0] != '.' && q[len - 1] != '/';
		for (size_t k = 0; ok && k < len; k++)
			ok = (q[k] >= 'a' && q[k] <= 'z') ||
			     (q[k] >= '0' && q[k] <= '9') || q[k] == '_' ||
			     q[k] == '/' || q[k] == '-' || q[k] == '.';
		if (ok && ctx->npoints < FL_MAX_POINTS - 32) {
			char name[112];
			snprintf(name, sizeof name, "%.*s", (int)len, q);
			add_point_name(ctx, name);
		}
		q = end + 1;
	}
	free(text);
}

/* Why faults could not reach the binary: static, Go, its own libfiu,
 * fortified calls libfiu does not wrap. */
static void binary_warnings(fl_ctx *ctx, const char *path,
			    const fl_elf_info *info)
{
	if (info->is_static)
		fl_ctx_warn(ctx,
			    "%s is statically linked: LD_PRELOAD does not "
			    "apply, so no fault can reach it",
			    path);
	if (info->is_go)
		fl_ctx_warn(ctx,
			    "%s is a Go program: it makes its system calls "
			    "itself, past libfiu's wrappers",
			    path);
	if (info->own_libfiu)
		fl_ctx_warn(ctx,
			    "%s carries its own copy of libfiu (linked with "
			    "libfiu.a): its own points are invisible to the "
			    "agent; link it with -lfiu",
			    path);
	/* Once per program per run; `faultline points` says the same. */
	char w[1400];
	if (fl_points_fortify_warning_once(path, w, sizeof w) > 0)
		fl_ctx_warn(ctx, "%s", w);
}

/* What the target's binary says about itself: the points it declares
 * (counted from its first call, and used to catch typos), and why faults
 * could not reach it. */
static void inspect_target(fl_ctx *ctx)
{
	char *argv0 = fl_ctx_expand(ctx, ctx->cfg.cmd[0]);
	char *cwd = ctx->cfg.cwd ? fl_ctx_expand(ctx, ctx->cfg.cwd) : NULL;
	char joined[PATH_MAX];
	const char *probe = argv0;
	if (cwd && strchr(argv0, '/') && argv0[0] != '/') {
		snprintf(joined, sizeof joined, "%s/%s", cwd, argv0);
		probe = joined;
	}
	char *path = fl_target_resolve(probe);
	free(argv0);
	free(cwd);
	if (!path)
		return; /* the start will say why */
	fl_elf_info info;
	if (fl_elf_inspect(path, &info) < 0) {
		free(path);
		return; /* a script: nothing to say */
	}
	for (size_t i = 0; i < info.npoints; i++) {
		add_point_name(ctx, info.points[i]);
		ctx->declared = fl_xrealloc(ctx->declared,
					    (size_t)(ctx->ndeclared + 1) *
						    sizeof *ctx->declared);
		ctx->declared[ctx->ndeclared++] = fl_xstrdup(info.points[i]);
	}
	binary_warnings(ctx, path, &info);
	fl_elf_info_free(&info);
	free(ctx->program);
	ctx->program = path;
}

void fl_instance_prepare(fl_ctx *ctx)
{
	collect_points(ctx);
	inspect_target(ctx);
}

/* ------------------------------------------------------------------ */
/* Starting                                                             */
/* ------------------------------------------------------------------ */

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int scenario_sets(const fl_config *c, const char *name, size_t len)
{
	for (int i = 0; i < c->nenv; i++)
		if (strlen(c->env_names[i]) == len &&
		    strncmp(c->env_names[i], name, len) == 0)
			return 1;
	return 0;
}

/* The target's environment: the harness's, without its own and libfiu's
 * variables, the scenario's on top, and the agent preloaded in front of
 * libfiu's POSIX wrappers. */
static char **build_env(fl_ctx *ctx, int shm_fd)
{
	const fl_config *c = &ctx->cfg;
	size_t n = 0;
	while (environ[n])
		n++;
	size_t extra = (size_t)c->nenv + 8;
	char **env = fl_xcalloc(n + extra + 1, sizeof *env);
	size_t k = 0;
	const char *old_preload = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];
		if (strncmp(e, "LD_PRELOAD=", 11) == 0) {
			old_preload = e + 11;
			continue;
		}
		if (strncmp(e, "FL_", 3) == 0 || strncmp(e, "FIU_", 4) == 0)
			continue;
		/* Variables the scenario sets replace the harness's. */
		const char *eq = strchr(e, '=');
		if (eq && scenario_sets(c, e, (size_t)(eq - e)))
			continue;
		env[k++] = fl_xstrdup(e);
	}
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "LD_PRELOAD=%s:%s", ctx->opts->agent_path,
		      ctx->opts->fiu_preload_path);
	if (old_preload && *old_preload)
		fl_buf_printf(&b, ":%s", old_preload);
	env[k++] = fl_buf_steal(&b);
	/* Seed, close mode, inherit and the points are in the region. */
	fl_buf_init(&b);
	fl_buf_printf(&b, "%s=%d", FL_ENV_SHM_FD, shm_fd);
	env[k++] = fl_buf_steal(&b);
	for (int i = 0; i < c->nenv; i++) {
		char *v = fl_ctx_expand(ctx, c->env_values[i]);
		fl_buf_init(&b);
		fl_buf_printf(&b, "%s=%s", c->env_names[i], v);
		env[k++] = fl_buf_steal(&b);
		free(v);
	}
	env[k] = NULL;
	return env;
}

void fl_exit_describe(const fl_exit_info *e, char *out, size_t len)
{
	if (!e->exited)
		snprintf(out, len, "still running");
	else if (e->signal)
		snprintf(out, len, "killed by %s%s", fl_signal_name(e->signal),
			 e->core ? " (core dumped)" : "");
	else
		snprintf(out, len, "exit status %d", e->code);
}

static void last_line(const char *text, char *buf, size_t len)
{
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	size_t start = n;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	snprintf(buf, len, "%.*s", (int)(n - start), text + start);
}

void fl_instance_last_stderr(fl_instance *in, char *out, size_t len)
{
	out[0] = '\0';
	if (!in || !in->sess)
		return;
	char *tail = fl_stream_tail(in->sess, FL_STDERR, NULL);
	last_line(tail, out, len);
	free(tail);
}

/* A run the monitor does not watch: killed and reaped here, and kept for
 * the report with the reason. */
static void abandon(fl_instance *in, const char *why)
{
	fl_child *c = &in->sess->child;
	fl_target_kill_group(c, SIGKILL);
	siginfo_t info;
	memset(&info, 0, sizeof info);
	waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &info, WEXITED);
	fl_guardian_forget_group(c->pid);
	pthread_mutex_lock(&in->sess->lock);
	in->sess->exit.exited = 1;
	in->sess->exit.signal = SIGKILL;
	in->sess->exit.t_ns = fl_session_now(in->sess);
	pthread_mutex_unlock(&in->sess->lock);
	in->exit_acknowledged = 1;
	snprintf(in->start_error, sizeof in->start_error, "%s", why);
}

/* The region's pages made resident while the target's loader runs (the
 * spawn's after_fork): off the start's critical path on a machine with a
 * core to spare. */
static void populate_region(void *faults)
{
	fl_faults_populate(faults);
}

/* Creates the instance's fault region (with the replayed calls and the
 * windows the script opened before starting: they hold from the first
 * instruction) and spawns it. 0 or -errno with err. */
static int spawn(fl_ctx *ctx, fl_instance *in, char *err, size_t errlen)
{
	const fl_config *c = &ctx->cfg;
	in->inherit = c->inherit;
	in->argv = fl_xcalloc((size_t)c->ncmd + 1, sizeof *in->argv);
	in->argc = c->ncmd;
	for (int i = 0; i < c->ncmd; i++)
		in->argv[i] = fl_ctx_expand(ctx, c->cmd[i]);
	/* A sweep records sites, fd origins and crashes; a scenario may
	 * ask for fd origins alone. */
	const fl_sweep_opts *sw = ctx->opts->sweep;
	unsigned site_flags = sw ? FL_SITES_RECORD | FL_SITES_ORIGINS |
					   FL_SITES_CRASHES
			     : c->origins ? FL_SITES_ORIGINS
					  : 0;
	int r = fl_faults_create(&in->faults, c->seed, c->close_mode,
				 c->inherit, ctx->replay ? ctx->nreplay : 0,
				 site_flags, sw ? sw->depth : 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the fault region: %s",
			 strerror(-r));
		snprintf(in->start_error, sizeof in->start_error, "%s", err);
		return r;
	}
	fl_journal_attach(&in->journal, in->faults.shm, in->faults.shm_size);
	fl_faults_set_slots(&in->faults, ctx->points, ctx->npoints);
	if (sw)
		fl_faults_set_sweep(&in->faults, sw->mode, sw->site_key,
				    sw->actor, sw->nth);
	r = ctx->replay ? fl_windows_load_replay(ctx, in, err, errlen)
			: fl_windows_arm_start(ctx, in, err, errlen);
	if (r == 0 && sw)
		r = fl_windows_arm_sweep(ctx, in, err, errlen);
	if (r < 0) {
		snprintf(in->start_error, sizeof in->start_error, "%s", err);
		return r;
	}
	if (c->watch) {
		char *w = fl_ctx_expand(ctx, c->watch);
		fl_measure_before_start(ctx, w);
		free(w);
	}
	char *cwd = c->cwd ? fl_ctx_expand(ctx, c->cwd) : NULL;
	int shm_fd = fl_faults_fd(&in->faults);
	char **env = build_env(ctx, shm_fd);
	fl_spawn_spec spec = {.argv = in->argv,
			      .envp = env,
			      .cwd = cwd,
			      .inherit_fds = {shm_fd},
			      .ninherit = 1,
			      .nrlimits = c->nrlimits,
			      .after_fork = populate_region,
			      .after_fork_arg = &in->faults};
	memcpy(spec.rlimits, c->rlimits, sizeof spec.rlimits);
	fl_child child;
	r = fl_target_spawn(&spec, &child, err, errlen);
	free_strv(env);
	free(cwd);
	fl_faults_spawned(&in->faults, r < 0 ? 0 : child.pid);
	if (r < 0) {
		snprintf(in->start_error, sizeof in->start_error, "%s", err);
		fl_faults_close(&in->faults);
		return r;
	}
	fl_guardian_watch_group(child.pid);
	in->sess = fl_xcalloc(1, sizeof *in->sess);
	r = fl_session_init(in->sess, &child, c->hz, c->output_limit);
	if (r < 0) {
		snprintf(err, errlen, "cannot sample the target (/proc/%d): %s",
			 (int)child.pid, strerror(-r));
		abandon(in, err);
		return r;
	}
	/* The monitor reads the agent's footprint in the target from its
	 * registration at every sample. */
	in->sess->faults = &in->faults;
	in->sess->journal = &in->journal;
	/* Drained at every sample (monitor.c) and, whatever the sampling
	 * rate, as soon as the agent rings (half full, or a writer waits
	 * for room: a full journal makes the target wait); once a second
	 * besides, for when sampling has stopped and the tree has not. */
	r = fl_journal_pump_start(&in->journal, &in->sess->lock,
				  child.start_ns, &in->sess->jrecs,
				  &in->sess->njrecs, &in->sess->jcap,
				  FL_NS_PER_SEC);
	if (r < 0) {
		snprintf(err, errlen, "cannot drain the fault journal: %s",
			 strerror(-r));
		abandon(in, err);
		return r;
	}
	if (c->watch) {
		char *w = fl_ctx_expand(ctx, c->watch);
		snprintf(in->sess->watch_path, sizeof in->sess->watch_path, "%s",
			 w);
		free(w);
	}
	in->sess->oom_rss = (int64_t)c->oom_rss;
	if (ctx->opts->verbose) {
		in->sess->tee = 1;
		snprintf(in->sess->tee_prefix, sizeof in->sess->tee_prefix,
			 "[%.40s]", c->name);
	}
	return 0;
}

/* What the target printed last, for a message: up to NOT_READY_LINES
 * lines in all, of at most NOT_READY_COLS bytes each, "  stdout: ..." and
 * "  stderr: ...", each stream's share the lines the other leaves. */
#define NOT_READY_LINES 4
#define NOT_READY_COLS 160

/* The start of each of the last max lines of text (empty lines skipped),
 * oldest first; the count. */
static int last_lines(const char *text, const char **starts, int max)
{
	int n = 0;
	size_t end = strlen(text);
	while (n < max && end > 0) {
		while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
			end--;
		if (end == 0)
			break;
		size_t start = end;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		starts[n++] = text + start;
		end = start;
	}
	for (int i = 0; i < n / 2; i++) {
		const char *t = starts[i];
		starts[i] = starts[n - 1 - i];
		starts[n - 1 - i] = t;
	}
	return n;
}

static void put_lines(fl_buf *b, const char *label, const char **starts, int n,
		      int take)
{
	for (int i = n - take; i < n; i++) {
		size_t len = strcspn(starts[i], "\r\n");
		fl_buf_printf(b, "\n  %s: %.*s%s", label,
			      (int)(len > NOT_READY_COLS ? NOT_READY_COLS : len),
			      starts[i], len > NOT_READY_COLS ? "..." : "");
	}
}

static void printed_lines(fl_instance *in, fl_buf *b)
{
	char *out = fl_stream_tail(in->sess, FL_STDOUT, NULL);
	char *err = fl_stream_tail(in->sess, FL_STDERR, NULL);
	const char *o[NOT_READY_LINES], *e[NOT_READY_LINES];
	int no = last_lines(out, o, NOT_READY_LINES);
	int ne = last_lines(err, e, NOT_READY_LINES);
	int take_e = ne < NOT_READY_LINES / 2 ? ne : NOT_READY_LINES / 2;
	int take_o = no < NOT_READY_LINES - take_e ? no : NOT_READY_LINES - take_e;
	take_e = ne < NOT_READY_LINES - take_o ? ne : NOT_READY_LINES - take_o;
	if (!no && !ne)
		fl_buf_puts(b, "; it printed nothing");
	else
		fl_buf_printf(b, "; it printed (the last %s):",
			      take_o + take_e == 1 ? "line" : "lines");
	put_lines(b, "stdout", o, no, take_o);
	put_lines(b, "stderr", e, ne, take_e);
	free(out);
	free(err);
}

/* Whether the command or the environment mentions a port placeholder:
 * a program never told its port cannot listen on it. */
static int mentions(const fl_config *c, const char *placeholder)
{
	for (int i = 0; i < c->ncmd; i++)
		if (strstr(c->cmd[i], placeholder))
			return 1;
	for (int i = 0; i < c->nenv; i++)
		if (strstr(c->env_values[i], placeholder))
			return 1;
	return 0;
}

/* Why the target did not become ready, with the last lines it printed. */
static void not_ready_reason(fl_ctx *ctx, fl_instance *in, int have_waiter,
			     char *why, size_t len)
{
	const fl_ready_cfg *rc = &ctx->cfg.ready;
	fl_exit_info ex = fl_instance_exit(in);
	fl_buf b;
	fl_buf_init(&b);
	if (ex.exited) {
		char desc[96];
		fl_exit_describe(&ex, desc, sizeof desc);
		fl_buf_printf(&b, "the target ended before it was ready (%s)", desc);
	} else if (fl_monitor_interrupted()) {
		snprintf(why, len, "interrupted while the target started");
		fl_buf_free(&b);
		return;
	} else {
		fl_buf_printf(&b, "the target was not ready within %.1f s:",
			      rc->timeout_s);
		if (have_waiter)
			fl_buf_printf(&b, " no line %s '%s' on %s",
				      rc->regex ? "matching" : "containing", rc->text,
				      rc->streams == FL_STDOUT	 ? "stdout"
				      : rc->streams == FL_STDERR ? "stderr"
								 : "its output");
		if (rc->port) {
			fl_buf_printf(&b, "%s port %d not accepting",
				      have_waiter ? " or" : "",
				      fl_ctx_port(ctx, rc->port));
			if (rc->port[0] == '{' && !mentions(&ctx->cfg, rc->port))
				fl_buf_printf(&b, " (is %s in target.cmd? neither "
						  "the command nor target.env "
						  "mentions it, so the program "
						  "cannot know the port)",
					      rc->port);
		}
	}
	printed_lines(in, &b);
	snprintf(why, len, "%s", b.data);
	fl_buf_free(&b);
}

/* Waits until the line, the port and the delay all say ready. 1 ready,
 * 0 not (exited, interrupted, timed out). The line and the exit wake it;
 * only a port, which nothing announces, is polled. */
static int wait_ready(fl_ctx *ctx, fl_instance *in, fl_waiter *ready,
		      int have_waiter)
{
	const fl_ready_cfg *rc = &ctx->cfg.ready;
	int64_t ready_deadline = fl_now_ns() + (int64_t)(rc->timeout_s * 1e9);
	int64_t delay_until = fl_now_ns() + (int64_t)(rc->delay_s * 1e9);
	int port = rc->port ? fl_ctx_port(ctx, rc->port) : 0;
	for (;;) {
		pthread_mutex_lock(&in->sess->lock);
		int exited = in->sess->exit.exited;
		int line_ok = !have_waiter || ready->matched;
		pthread_mutex_unlock(&in->sess->lock);
		int port_ok = 1;
		if (line_ok && port) {
			fl_tcp_probe p = {.port = port,
					  .timeout_ns = 100 * FL_NS_PER_MS};
			fl_health_result hr;
			port_ok = !exited && fl_probe_tcp(&p, &hr);
		}
		/* A batch job (ready at once, or once it printed its line)
		 * may well have finished already: it was ready. */
		int64_t now = fl_now_ns();
		if (line_ok && port_ok && now >= delay_until)
			return 1;
		if (exited || now > ready_deadline || fl_monitor_interrupted() ||
		    (ctx->host.deadline_ns && now > ctx->host.deadline_ns))
			return 0;
		/* The line, the exit and signals wake it (the monitor); only a
		 * port, which nothing announces, and the delay are waited
		 * for by time. */
		int64_t wake = ready_deadline;
		if (line_ok && !port_ok && now + READY_PORT_POLL_NS < wake)
			wake = now + READY_PORT_POLL_NS;
		if (line_ok && port_ok && delay_until < wake)
			wake = delay_until;
		if (ctx->host.deadline_ns && ctx->host.deadline_ns < wake)
			wake = ctx->host.deadline_ns + FL_NS_PER_MS;
		fl_session_wait(in->sess, wake, -1);
	}
}

/* The agent registers before main(); a target that is ready without it
 * never loads it (or is a batch job that already ended). */
static void wait_registered(fl_ctx *ctx, fl_instance *in)
{
	int64_t deadline = fl_now_ns() + REGISTER_WAIT_NS;
	while (!fl_faults_registered(&in->faults) && fl_now_ns() < deadline &&
	       !fl_instance_exit(in).exited)
		fl_session_wait(in->sess, fl_now_ns() + 10 * FL_NS_PER_MS, -1);
	if (!fl_faults_registered(&in->faults))
		fl_ctx_log(ctx, "warning: no faultline agent in the target "
				"(static or Go binary?): faults cannot be "
				"injected");
}

int fl_instance_start(fl_ctx *ctx, char *err, size_t errlen)
{
	if (ctx->inst && ctx->inst->running) {
		snprintf(err, errlen, "the target is already running (pid %d)",
			 (int)ctx->inst->sess->child.pid);
		return -EBUSY;
	}
	fl_instance *in = fl_xcalloc(1, sizeof *in);
	ctx->instances = fl_xrealloc(ctx->instances,
				     (size_t)(ctx->ninstances + 1) *
					     sizeof *ctx->instances);
	ctx->instances[ctx->ninstances++] = in;
	ctx->inst = in;
	int r = spawn(ctx, in, err, errlen);
	if (r < 0)
		return r;
	const fl_ready_cfg *rc = &ctx->cfg.ready;
	fl_waiter ready;
	int have_waiter = 0;
	if (rc->streams && rc->text) {
		if (fl_session_add_waiter(in->sess, &ready, rc->streams, rc->text,
					  rc->regex, err, errlen) < 0) {
			abandon(in, err);
			return -EINVAL;
		}
		have_waiter = 1;
	}
	r = fl_monitor_add(in->sess);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch the target (its output, "
				      "exit and sample timer): %s",
			 strerror(-r));
		if (have_waiter)
			fl_session_remove_waiter(in->sess, &ready);
		abandon(in, err);
		return r;
	}
	in->running = 1;
	fl_progress_phase(FL_PHASE_STARTING);
	fl_ctx_log(ctx, "started pid %d: %s", (int)in->sess->child.pid,
		   in->argv[0]);

	int ok = wait_ready(ctx, in, &ready, have_waiter);
	if (have_waiter)
		fl_session_remove_waiter(in->sess, &ready);
	if (!ok) {
		char why[sizeof in->start_error];
		not_ready_reason(ctx, in, have_waiter, why, sizeof why);
		snprintf(err, errlen, "%s", why);
		snprintf(in->start_error, sizeof in->start_error, "%s", why);
		/* A target killed by a signal before it was ready crashed:
		 * that is its failure, not a setup error. */
		fl_exit_info ex = fl_instance_exit(in);
		if (!(ex.exited && ex.signal))
			in->exit_acknowledged = 1;
		fl_instance_stop(ctx, SIGKILL, 0);
		return -ETIMEDOUT;
	}
	in->ready_ns = fl_session_now(in->sess);
	/* A trend since the ready moment is exact however long the run. */
	fl_measure_mark(ctx, in->ready_ns);
	wait_registered(ctx, in);
	fl_health_restart(ctx);
	fl_ctx_log(ctx, "ready after %.3f s", (double)in->ready_ns / 1e9);
	fl_progress_phase(FL_PHASE_RUNNING);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stopping                                                             */
/* ------------------------------------------------------------------ */

/* Sends sig, waits grace_s, then SIGKILLs the group. */
static void end_process(fl_ctx *ctx, fl_instance *in, int sig, double grace_s)
{
	fl_session *s = in->sess;
	if (fl_instance_exit(in).exited)
		return;
	if (sig == 0)
		sig = SIGTERM;
	fl_target_signal(&s->child, sig);
	snprintf(in->stopped_by, sizeof in->stopped_by, "%s",
		 fl_signal_name(sig));
	/* Woken by the root's pidfd itself, and reaped here: no detour
	 * through the monitor thread. */
	int64_t deadline = fl_now_ns() + (int64_t)(grace_s * 1e9);
	while (!fl_session_reap(s) && fl_now_ns() < deadline)
		fl_session_wait(s, deadline, s->child.pidfd);
	if (fl_instance_exit(in).exited)
		return;
	/* What else of the tree still runs dies with this SIGKILL: left
	 * behind by the target, whichever kill reaches it first. */
	pthread_mutex_lock(&s->lock);
	if (s->tree_ok && fl_tree_live_others(&s->tree) > 0)
		in->stragglers = 1;
	pthread_mutex_unlock(&s->lock);
	fl_target_kill_group(&s->child, SIGKILL);
	snprintf(in->stopped_by, sizeof in->stopped_by,
		 "%s, then SIGKILL after %.1f s", fl_signal_name(sig), grace_s);
	fl_ctx_log(ctx, "no exit %.1f s after %s: SIGKILL", grace_s,
		   fl_signal_name(sig));
	int64_t kdeadline = fl_now_ns() + KILL_WAIT_NS;
	while (!fl_session_reap(s) && fl_now_ns() < kdeadline)
		fl_session_wait(s, kdeadline, s->child.pidfd);
}

int fl_instance_stop(fl_ctx *ctx, int sig, double grace_s)
{
	fl_instance *in = ctx->inst;
	if (!in || !in->running)
		return 0;
	fl_session *s = in->sess;
	/* Windows still open end here; the faults stop before the signal so
	 * the target's shutdown path runs clean. */
	char err[256];
	fl_progress_phase(FL_PHASE_STOPPING);
	fl_windows_replay_settle(ctx);
	ctx->stopping = 1;
	if (fl_windows_any_open(ctx))
		fl_windows_close(ctx, NULL, err, sizeof err);
	ctx->stopping = 0;
	if (!fl_instance_exit(in).exited && ctx->base.valid)
		fl_measure_final(ctx);
	/* The counts are in the shared region: there even if it died. */
	fl_windows_collect_stats(ctx, in);
	/* Which processes ran the agent, and which executed another program,
	 * while they can still be looked at. */
	fl_proc_info *procs;
	fl_faults_procs(&in->faults, &procs);
	free(procs);
	/* Asked to stop only if it still ran: a target that had died on its
	 * own must not look like one that was stopped. */
	/* What crashed since the monitor's last round, while its parent
	 * (the stop may make it reap it) still keeps it a zombie. */
	pthread_mutex_lock(&s->lock);
	if (s->tree_ok && !s->tree.ending)
		fl_tree_check(&s->tree, fl_now_ns());
	pthread_mutex_unlock(&s->lock);
	if (!fl_instance_exit(in).exited) {
		in->stop_requested = 1;
		in->stop_ns = fl_session_now(s);
		/* The tree judges by it the ends it drops from now on. */
		pthread_mutex_lock(&s->lock);
		s->tree.stop_ns = in->stop_ns;
		pthread_mutex_unlock(&s->lock);
	}
	end_process(ctx, in, sig, grace_s);
	/* Whatever the target left goes too: its descendants, in its
	 * process group or out of it (a daemon's double fork), and then
	 * anything still in its group. */
	char left[512];
	int killed = fl_session_end_tree(s, KILL_WAIT_NS, left, sizeof left);
	if (killed > 0) {
		in->stragglers = 1;
		fl_ctx_log(ctx, "%d process%s of the target outlived it: killed",
			   killed, killed == 1 ? "" : "es");
	}
	if (left[0])
		fl_ctx_log(ctx, "%s", left);
	if (fl_target_group_alive(&s->child)) {
		in->stragglers = 1;
		fl_target_kill_group(&s->child, SIGKILL);
		fl_ctx_log(ctx, "processes were left in the target's group: "
				"killed");
	}
	/* Let the pipes drain for a moment after the exit. */
	int64_t drain = fl_now_ns() + DRAIN_NS;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		int eof = s->out.eof && s->err.eof;
		pthread_mutex_unlock(&s->lock);
		if (eof || fl_now_ns() >= drain)
			break;
		fl_session_wait(s, drain, -1);
	}
	fl_monitor_remove(s);
	fl_guardian_forget_group(s->child.pid);
	fl_faults_close(&in->faults);
	/* Every process that could write is gone: the drainer stops and
	 * what it had not taken yet is taken here. */
	fl_journal_pump_stop(&in->journal);
	pthread_mutex_lock(&s->lock);
	fl_journal_drain_final(&in->journal, s->child.start_ns, &s->jrecs,
			       &s->njrecs, &s->jcap);
	pthread_mutex_unlock(&s->lock);
	fl_journal_get_stats(&in->journal, &in->jstats);
	fl_windows_poll(ctx);
	in->running = 0;
	char desc[96];
	fl_exit_info ex = fl_instance_exit(in);
	fl_exit_describe(&ex, desc, sizeof desc);
	fl_ctx_log(ctx, "target %s", desc);
	return 0;
}

int fl_instance_signal(fl_ctx *ctx, int sig)
{
	if (!fl_ctx_target_live(ctx))
		return -ESRCH;
	int r = fl_target_signal(&ctx->inst->sess->child, sig);
	if (r == 0)
		fl_ctx_log(ctx, "sent %s", fl_signal_name(sig));
	/* A target passes it on to its workers: their end by it is the
	 * script's doing, not a crash. */
	if (r == 0 && sig > 0 && sig <= 64)
		ctx->inst->sent_signals |= 1ULL << (sig - 1);
	return r;
}

int fl_instance_signal_pid(fl_ctx *ctx, int sig, pid_t pid)
{
	if (!fl_ctx_target_live(ctx))
		return -ESRCH;
	fl_session *s = ctx->inst->sess;
	if (pid == s->child.pid)
		return fl_instance_signal(ctx, sig);
	if (!s->tree_ok)
		return -ESRCH;
	pthread_mutex_lock(&s->lock);
	/* A process that came since the last round is found first. */
	fl_tree_walk(&s->tree, fl_now_ns());
	int r = fl_tree_signal(&s->tree, pid, sig);
	pthread_mutex_unlock(&s->lock);
	if (r == 0)
		fl_ctx_log(ctx, "sent %s to pid %d", fl_signal_name(sig), (int)pid);
	return r;
}

int fl_instance_setrlimit(fl_ctx *ctx, int resource, double value,
			  rlim_t *old)
{
	if (!fl_ctx_target_live(ctx))
		return -ESRCH;
	pid_t pid = ctx->inst->sess->child.pid;
	struct rlimit cur, nl;
	if (prlimit(pid, resource, NULL, &cur) < 0)
		return -errno;
	nl.rlim_cur = (rlim_t)value;
	nl.rlim_max = cur.rlim_max;
	if (nl.rlim_cur > nl.rlim_max && cur.rlim_max != RLIM_INFINITY)
		nl.rlim_max = nl.rlim_cur;
	if (prlimit(pid, resource, &nl, NULL) < 0)
		return -errno;
	*old = cur.rlim_cur;
	return 0;
}

int fl_instance_died_on_its_own(const fl_ctx *ctx, const fl_instance *in)
{
	fl_exit_info e = fl_instance_exit(in);
	if (!in->sess || !e.exited || in->exit_acknowledged)
		return 0;
	if (in->stop_requested)
		/* Stopped by the harness: only a signal other than the
		 * stop's own (a crash during shutdown) is the target's. */
		return e.signal && e.signal != SIGTERM && e.signal != SIGKILL &&
		       e.signal != SIGINT && e.signal != ctx->cfg.stop_signal;
	/* A batch job may exit with a status; no target may die by a
	 * signal unannounced. */
	return !(ctx->cfg.exits && !e.signal);
}

/* The rule for every process of the tree but the first (the first's is
 * fl_instance_died_on_its_own), on what fl_tree_end_key says of its end:
 * killed by a signal faultline did not send. Faultline's signals are the
 * end-of-run kill of what is left, the stop's signal and SIGKILL once the
 * stop was asked for, and whatever t:signal sent (a target passes it on
 * to its workers). An exit with a status is the target's own business;
 * an end the script judged with t:expect{pid=...} is its. The processes
 * the tree dropped are judged by the same rule, on their counts. */
static int end_crashed(const fl_ctx *ctx, const fl_instance *in,
		       const fl_end_key *k)
{
	int sig = k->sig;
	if (k->expected || k->sent)
		return 0;
	if (sig <= 64 && (in->sent_signals >> (sig - 1)) & 1)
		return 0;
	if (k->killed && sig == SIGKILL)
		return 0;
	if (k->after_stop &&
	    (sig == SIGTERM || sig == SIGKILL || sig == SIGINT ||
	     sig == ctx->cfg.stop_signal))
		return 0;
	return 1;
}

void fl_instance_settle_ends(fl_instance *in)
{
	if (!in->sess || !in->sess->tree_ok)
		return;
	fl_session *s = in->sess;
	/* Its parent's wait first (the agent recorded it, in any run): the
	 * status itself, exit codes included. */
	pthread_mutex_lock(&s->lock);
	fl_tree_settle_ends(&s->tree, &in->faults, 1);
	/* And those no sample saw, from their parent's record alone. */
	fl_tree_take_reaped(&s->tree, &in->faults);
	int unknown = 0;
	for (size_t i = 0; i < s->tree.n; i++)
		unknown |= !s->tree.procs[i].is_root &&
			   s->tree.procs[i].state == FL_MEMBER_GONE &&
			   !s->tree.procs[i].end_known;
	pthread_mutex_unlock(&s->lock);
	if (!unknown)
		return;
	/* Else, where the agent recorded a crashing signal (a sweep), its
	 * record says how a process ended (a parent that reaps through a
	 * call the agent does not wrap: a raw system call). */
	fl_crash *cr = NULL;
	int ncr = fl_sites_crashes(&in->faults, &cr);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->tree.n; i++) {
		fl_member *p = &s->tree.procs[i];
		if (!p->is_root && p->state == FL_MEMBER_GONE && !p->end_known)
			for (int k = 0; k < ncr; k++)
				if (cr[k].pid == p->pid) {
					p->end_known = 1;
					p->end_from = FL_END_AGENT;
					p->end_signal = cr[k].sig;
					break;
				}
	}
	pthread_mutex_unlock(&s->lock);
	free(cr);
}

uint64_t fl_instance_reaped_lost(fl_instance *in)
{
	if (!in->sess || !in->sess->tree_ok)
		return 0;
	fl_instance_settle_ends(in);
	fl_session *s = in->sess;
	pthread_mutex_lock(&s->lock);
	uint64_t lost = s->tree.reaped_lost;
	pthread_mutex_unlock(&s->lock);
	return lost;
}

int fl_instance_judge_ends(const fl_ctx *ctx, fl_instance *in)
{
	if (!in->sess || !in->sess->tree_ok)
		return 0;
	fl_session *s = in->sess;
	fl_instance_settle_ends(in);
	int crashed = 0;
	fl_end_key k;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->tree.n; i++) {
		fl_member *p = &s->tree.procs[i];
		p->crashed = fl_tree_end_key(&s->tree, p, &k) &&
			     end_crashed(ctx, in, &k);
		crashed += p->crashed;
	}
	uint64_t dropped = 0;
	for (size_t i = 0; i < s->tree.ndropped; i++)
		if (end_crashed(ctx, in, &s->tree.dropped[i].key))
			dropped += s->tree.dropped[i].n;
	in->dropped_crashed = dropped;
	pthread_mutex_unlock(&s->lock);
	return crashed + (int)(dropped > INT32_MAX ? INT32_MAX : dropped);
}

pid_t fl_instance_pid(const fl_ctx *ctx)
{
	return ctx->inst && ctx->inst->sess ? ctx->inst->sess->child.pid : 0;
}

void fl_instance_free(fl_instance *in)
{
	/* The drainer uses the session and the region: it goes first. */
	fl_journal_pump_stop(&in->journal);
	if (in->sess) {
		fl_session_destroy(in->sess);
		free(in->sess);
	}
	fl_faults_free(&in->faults);
	fl_journal_close(&in->journal);
	free_strv(in->argv);
	free(in);
}
