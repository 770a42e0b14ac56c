#define _GNU_SOURCE
#include "monitor.h"

#include "bpfsample.h"
#include "faults.h"

#include "procfs.h"
#include "progress.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum { KIND_TIMER = 1, KIND_OUT, KIND_ERR, KIND_PIDFD, KIND_CTL, KIND_SIG };

/* New pids are looked for at most this often (at most every tick): a
 * process is found within this long of its fork, the walks before each
 * snapshot find the rest. */
#define DISCOVERY_NS (2 * FL_NS_PER_MS)
/* Faultline's own children are looked at for orphans at most this often
 * (and whenever a new pid was one of them). */
#define ORPHAN_SCAN_NS (250 * FL_NS_PER_MS)

struct slot {
	fl_session *s;
};

/* One timerfd per sampling period: the targets sampled at the same rate
 * share it, so one wake-up of the monitor samples them all. */
struct timer {
	int64_t period_ns;
	int fd;			/* -1: free */
	size_t users;
};

static struct {
	pthread_t thread;
	pid_t tid;
	int running;
	int epfd;
	int ctlfd;		/* eventfd: requests are queued */
	int sigfd;
	pthread_mutex_t lock;
	int stop;
	struct slot *slots;
	size_t nslots;
	struct timer *timers;
	size_t ntimers;
	int64_t last_orphan_scan;
	int64_t last_discovery;
	/* Sampling through BPF (bpfsample.h): the mode, when the first
	 * tick came, the thread that loads the program (started once the
	 * monitor has sampled for FL_BPFS_LOAD_AFTER_NS), and the batch of
	 * a tick. */
	enum fl_bpfs_mode bpf_mode;
	int bpf_configured;
	int64_t first_tick_ns;
	pthread_t loader;
	int loader_started;
	fl_bpfs_ent *batch;
	size_t batch_cap;
	volatile sig_atomic_t interrupted;
} mon = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.epfd = -1,
	.ctlfd = -1,
	.sigfd = -1,
};

static void stop_sampling(fl_session *s);

static void notify(fl_session *s)
{
	(void)fl_eventfd_signal(s->notify_fd);
}

int fl_session_init(fl_session *s, const fl_child *child, double hz,
		    size_t ring_cap)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->child = *child;
	s->timer = -1;
	s->bpf_from_ns = -1;
	s->batch_at = SIZE_MAX;
	s->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->notify_fd < 0)
		return -errno;
	if (hz <= 0)
		hz = 200;
	s->period_ns = (int64_t)(1e9 / hz);
	if (s->period_ns < 100000)
		s->period_ns = 100000; /* 10 kHz is the ceiling */
	s->ring_cap = ring_cap ? ring_cap : 65536;
	s->out.ring = fl_xmalloc(s->ring_cap);
	s->out.cap = s->ring_cap;
	s->err.ring = fl_xmalloc(s->ring_cap);
	s->err.cap = s->ring_cap;
	fl_series_init(&s->series, fl_series_ring_for(1e9 / (double)s->period_ns),
		       FL_SERIES_REPORT_BUCKETS);

	/* The tree takes its own reference to /proc/PID. A target that
	 * cannot be sampled cannot be judged: that is an error, never a run
	 * without samples. */
	int procfd = fcntl(child->procfd, F_DUPFD_CLOEXEC, 0);
	if (procfd < 0)
		return -errno;
	int r = fl_tree_init(&s->tree, child->pid, procfd, child->pidfd,
			     child->start_ns);
	if (r < 0)
		return r;
	s->tree_ok = 1;
	return 0;
}

void fl_session_destroy(fl_session *s)
{
	if (s->tree_ok)
		fl_tree_free(&s->tree);
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	fl_child_close(&s->child);
	free(s->out.ring);
	free(s->err.ring);
	fl_series_free(&s->series);
	free(s->jrecs);
	free(s->oom_fds);
	free(s->oom_threads);
	free(s->oom_smaps);
	/* Waiters belong to their callers; they are only unlinked. */
	s->waiters = NULL;
	pthread_mutex_destroy(&s->lock);
}

int fl_session_end_tree(fl_session *s, int64_t wait_ns, char *left,
			size_t leftlen)
{
	left[0] = '\0';
	if (!s->tree_ok)
		return 0;
	/* The monitor no longer samples the tree nor adds to it: it is this
	 * thread's from here. */
	pthread_mutex_lock(&s->lock);
	s->sampling_stopped = 1;
	s->tree.ending = 1;
	pthread_mutex_unlock(&s->lock);
	int killed = fl_tree_end(&s->tree, wait_ns);
	fl_tree_escapees(&s->tree, left, leftlen);
	return killed;
}

void fl_session_want_sample(fl_session *s)
{
	pthread_mutex_lock(&s->lock);
	s->want_sample = 1;
	pthread_mutex_unlock(&s->lock);
}

int64_t fl_session_now(const fl_session *s)
{
	return fl_now_ns() - s->child.start_ns;
}

int fl_session_wait(fl_session *s, int64_t deadline_ns, int extra_fd)
{
	struct pollfd pfd[2] = {{s->notify_fd, POLLIN, 0}, {extra_fd, POLLIN, 0}};
	int nfds = extra_fd >= 0 ? 2 : 1;
	for (;;) {
		int64_t left = deadline_ns - fl_now_ns();
		if (left <= 0)
			return 0;
		struct timespec ts = {left / FL_NS_PER_SEC,
				      left % FL_NS_PER_SEC};
		int r = ppoll(pfd, (nfds_t)nfds, &ts, NULL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		if (pfd[0].revents) {
			uint64_t v;
			ssize_t n = read(s->notify_fd, &v, sizeof v);
			(void)n;
		}
		return 1;
	}
}

int fl_session_add_waiter(fl_session *s, fl_waiter *w, int streams,
			  const char *text, int is_regex, char *err,
			  size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->streams = streams;
	w->text = fl_xstrdup(text);
	w->is_regex = is_regex;
	if (is_regex) {
		int rc = regcomp(&w->re, text, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[128];
			regerror(rc, &w->re, msg, sizeof msg);
			snprintf(err, errlen, "bad regular expression '%s': %s",
				 text, msg);
			free(w->text);
			w->text = NULL;
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&s->lock);
	w->next = s->waiters;
	s->waiters = w;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void fl_session_remove_waiter(fl_session *s, fl_waiter *w)
{
	pthread_mutex_lock(&s->lock);
	for (fl_waiter **pp = &s->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (w->is_regex && w->text)
		regfree(&w->re);
	free(w->text);
	free(w->line);
	w->text = NULL;
	w->line = NULL;
}

char *fl_stream_tail(fl_session *s, int stream, size_t *len)
{
	pthread_mutex_lock(&s->lock);
	fl_stream *st = stream == FL_STDERR ? &s->err : &s->out;
	char *out = fl_xmalloc(st->len + 1);
	for (size_t i = 0; i < st->len; i++)
		out[i] = st->ring[(st->start + i) % st->cap];
	out[st->len] = '\0';
	if (len)
		*len = st->len;
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* Called with the session locked. */
static void ring_append(fl_stream *st, const char *data, size_t n)
{
	st->bytes += n;
	if (n >= st->cap) {
		memcpy(st->ring, data + n - st->cap, st->cap);
		st->start = 0;
		st->len = st->cap;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t pos = (st->start + st->len) % st->cap;
		st->ring[pos] = data[i];
		if (st->len < st->cap)
			st->len++;
		else
			st->start = (st->start + 1) % st->cap;
	}
}

/* Called with the session locked, for every complete line. */
static void line_done(fl_session *s, int which, const char *line, size_t len)
{
	fl_stream *st = which == FL_STDERR ? &s->err : &s->out;
	st->lines++;
	int64_t now = fl_session_now(s);
	int news = 0;
	for (fl_waiter *w = s->waiters; w; w = w->next) {
		if (w->matched || !(w->streams & which))
			continue;
		int hit;
		if (w->is_regex)
			hit = regexec(&w->re, line, 0, NULL, 0) == 0;
		else
			hit = strstr(line, w->text) != NULL;
		if (hit) {
			w->matched = 1;
			w->line = strndup(line, len);
			w->t_ns = now;
			news = 1;
		}
	}
	if (s->tee) {
		char buf[4300];
		int n = snprintf(buf, sizeof buf, "%s%s %.*s\n", s->tee_prefix,
				 which == FL_STDERR ? "!" : "|", (int)len, line);
		if (n > 0)
			fl_write_all(2, buf,
				     (size_t)n < sizeof buf ? (size_t)n
							    : sizeof buf - 1);
	}
	if (news)
		notify(s);
}

static void read_stream(fl_session *s, int which)
{
	int fd = which == FL_STDERR ? s->child.err_fd : s->child.out_fd;
	fl_stream *st = which == FL_STDERR ? &s->err : &s->out;
	char buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		pthread_mutex_lock(&s->lock);
		if (n <= 0) {
			if (st->linelen) {
				st->line[st->linelen] = '\0';
				line_done(s, which, st->line, st->linelen);
				st->linelen = 0;
			}
			st->eof = 1;
			pthread_mutex_unlock(&s->lock);
			epoll_ctl(mon.epfd, EPOLL_CTL_DEL, fd, NULL);
			notify(s);
			return;
		}
		ring_append(st, buf, (size_t)n);
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (c == '\n' || st->linelen == sizeof st->line - 1) {
				st->line[st->linelen] = '\0';
				line_done(s, which, st->line, st->linelen);
				st->linelen = 0;
				if (c == '\n')
					continue;
			}
			st->line[st->linelen++] = c;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

static void stop_sampling(fl_session *s)
{
	s->sampling_stopped = 1;
}

/* The OOM precursor's snapshot of the root, taken at the sample that
 * reached the level (the target may not live long after). Called with
 * the session locked. */
static void oom_snapshot(fl_session *s, int64_t rss, int64_t t_ns)
{
	s->oom_hit = 1;
	s->oom_t_ns = t_ns;
	s->oom_sample_rss = rss;
	s->oom_nfds = fl_procfs_fd_table(s->child.procfd, &s->oom_fds);
	s->oom_nthreads = fl_procfs_threads(s->child.procfd, &s->oom_threads);
	int fd = openat(s->child.procfd, "smaps_rollup", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[4096];
		ssize_t got = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (got > 0) {
			buf[got] = '\0';
			s->oom_smaps = fl_xstrdup(buf);
		}
	}
}

/* One sample of the session's tree. expirations: timer ticks since the
 * last (more than one: ticks missed). batch (or NULL): the figures of its
 * processes, read together with every tree of the tick from b0
 * (fl_bpfs_read); share_ns: this tree's share of that read's time. */
static void take_sample(fl_session *s, uint64_t expirations,
			const fl_bpfs_ent *batch, size_t nbatch, int64_t b0,
			int64_t share_ns)
{
	if (!s->tree_ok)
		return;
	fl_sample smp;
	memset(&smp, 0, sizeof smp);
	int64_t t0 = fl_now_ns();
	/* The watched directory is opened at every sample: the target may
	 * create, remove and create it again. Missing counts as empty. */
	int64_t files = -1;
	if (s->watch_path[0]) {
		int dfd = open(s->watch_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		files = 0;
		if (dfd >= 0) {
			int c = fl_procfs_count_dir(dfd);
			files = c > 0 ? c : 0;
			close(dfd);
		}
	}
	pthread_mutex_lock(&s->lock);
	if (s->sampling_stopped) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (expirations > 1)
		s->missed_ticks += expirations - 1;
	int64_t raw_rss;
	uint64_t batch_reads = s->tree.batch_reads;
	int r = fl_tree_sample(&s->tree, batch ? b0 : t0, s->faults, batch,
			       nbatch, &smp, &raw_rss);
	int64_t t1 = fl_now_ns();
	if (batch) {
		/* The figures were read in the batch: the sample's moment
		 * is the batch's, its cost its share of the batch (by its
		 * processes) and whatever this tree read from /proc on its
		 * own. */
		t1 = b0 + share_ns + (t1 - t0);
		t0 = b0;
		if (s->bpf_from_ns < 0 && s->tree.batch_reads > batch_reads)
			s->bpf_from_ns = t0 - s->child.start_ns;
	}
	if (r < 0) {
		if (r == -ESRCH)
			stop_sampling(s);
		else
			s->sample_errors++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	smp.t_ns = t0 - s->child.start_ns;
	smp.v[FL_FIG_FILES] = files;
	fl_worst worst;
	int each = s->each_on;
	if (each)
		fl_tree_worst(&s->tree, &s->each_steady, &worst);
	fl_series_append(&s->series, &smp, each ? &worst : NULL);
	int wake = s->want_sample;
	s->want_sample = 0;
	/* RSS (the tree's as its processes see it, with the agent's
	 * memory) reached the OOM precursor level: the scenario thread takes
	 * it from here. */
	if (s->oom_rss > 0 && !s->oom_hit && raw_rss >= s->oom_rss) {
		oom_snapshot(s, raw_rss, smp.t_ns);
		wake = 1;
	}
	s->sample_cost_total_ns += (uint64_t)(t1 - t0);
	if (t1 - t0 > s->sample_cost_max_ns)
		s->sample_cost_max_ns = t1 - t0;
	/* The journal too, under the lock its drainer takes: one consumer
	 * at a time. The drainer (harness/journal.c) wakes only when the
	 * agent rings, so a sample costs no extra wake-up. */
	if (s->journal)
		fl_journal_drain(s->journal, s->child.start_ns, &s->jrecs,
				 &s->njrecs, &s->jcap);
	pthread_mutex_unlock(&s->lock);
	if (wake)
		notify(s);
}

int fl_session_reap(fl_session *s)
{
	pthread_mutex_lock(&s->lock);
	int done = s->exit.exited;
	if (!done) {
		siginfo_t info;
		memset(&info, 0, sizeof info);
		if (waitid((idtype_t)P_PIDFD, (id_t)s->child.pidfd, &info,
			   WEXITED | WNOHANG) == 0 &&
		    info.si_pid != 0) {
			s->exit.exited = done = 1;
			s->exit.t_ns = fl_session_now(s);
			if (info.si_code == CLD_EXITED) {
				s->exit.code = info.si_status;
			} else {
				s->exit.signal = info.si_status;
				s->exit.core = info.si_code == CLD_DUMPED;
			}
			stop_sampling(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return done;
}

/* The root's pidfd said it exited (or the scenario thread reaped it
 * already: then the pidfd only needs to leave the epoll set, where it
 * would stay readable). */
static void reap(fl_session *s)
{
	if (!fl_session_reap(s))
		return;
	epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.pidfd, NULL);
	notify(s);
}

static int add_fd(int fd, size_t index, int kind)
{
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = ((uint64_t)index << 4) | (uint64_t)kind};
	return epoll_ctl(mon.epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The timer that ticks every period_ns, created on first use. Its index,
 * or -errno. */
static int timer_for(int64_t period_ns)
{
	size_t free_idx = mon.ntimers;
	for (size_t i = 0; i < mon.ntimers; i++) {
		if (mon.timers[i].fd >= 0 && mon.timers[i].period_ns == period_ns) {
			mon.timers[i].users++;
			return (int)i;
		}
		if (mon.timers[i].fd < 0 && free_idx == mon.ntimers)
			free_idx = i;
	}
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct itimerspec its;
	its.it_interval.tv_sec = period_ns / FL_NS_PER_SEC;
	its.it_interval.tv_nsec = period_ns % FL_NS_PER_SEC;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0 ||
	    add_fd(fd, free_idx, KIND_TIMER) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (free_idx == mon.ntimers) {
		mon.timers = fl_xrealloc(mon.timers, (mon.ntimers + 1) *
							     sizeof *mon.timers);
		mon.ntimers++;
	}
	mon.timers[free_idx] = (struct timer){period_ns, fd, 1};
	return (int)free_idx;
}

static void timer_release(int idx)
{
	if (idx < 0 || (size_t)idx >= mon.ntimers)
		return;
	struct timer *t = &mon.timers[idx];
	if (--t->users > 0)
		return;
	epoll_ctl(mon.epfd, EPOLL_CTL_DEL, t->fd, NULL);
	close(t->fd);
	t->fd = -1;
}

/* Adds the session's fds to the epoll set and puts it on the timer of its
 * period. A session that cannot be watched completely is not watched at
 * all: add_result says why, and the scenario fails with that error. */
static int register_session(fl_session *s)
{
	size_t slot = mon.nslots;
	for (size_t i = 0; i < mon.nslots; i++)
		if (!mon.slots[i].s) {
			slot = i;
			break;
		}
	if (fcntl(s->child.out_fd, F_SETFL,
		  fcntl(s->child.out_fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(s->child.err_fd, F_SETFL,
		  fcntl(s->child.err_fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	int timer = timer_for(s->period_ns);
	if (timer < 0)
		return timer;
	if (add_fd(s->child.out_fd, slot, KIND_OUT) < 0 ||
	    add_fd(s->child.err_fd, slot, KIND_ERR) < 0 ||
	    add_fd(s->child.pidfd, slot, KIND_PIDFD) < 0) {
		int r = -errno;
		epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.out_fd, NULL);
		epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.err_fd, NULL);
		epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.pidfd, NULL);
		timer_release(timer);
		return r;
	}
	if (slot == mon.nslots) {
		mon.slots = fl_xrealloc(mon.slots,
					(mon.nslots + 1) * sizeof *mon.slots);
		mon.nslots++;
	}
	mon.slots[slot].s = s;
	s->timer = timer;
	s->registered = 1;
	/* The first sample right away: it shows the process as exec left
	 * it, and its descendants from the first round. */
	pthread_mutex_lock(&s->lock);
	fl_tree_walk(&s->tree, fl_now_ns());
	pthread_mutex_unlock(&s->lock);
	take_sample(s, 1, NULL, 0, 0, 0);
	return 0;
}

static void unregister_session(fl_session *s)
{
	for (size_t i = 0; i < mon.nslots; i++)
		if (mon.slots[i].s == s)
			mon.slots[i].s = NULL;
	/* Deleting an fd that is not (or no longer) in the set is harmless. */
	epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.out_fd, NULL);
	epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.err_fd, NULL);
	epoll_ctl(mon.epfd, EPOLL_CTL_DEL, s->child.pidfd, NULL);
	timer_release(s->timer);
	s->timer = -1;
	pthread_mutex_lock(&s->lock);
	stop_sampling(s);
	pthread_mutex_unlock(&s->lock);
	s->registered = 0;
}

/* Looks for new processes of every watched tree: the pids handed out
 * since the last round (only when there are any), and faultline's own
 * children now and then. Every session is locked meanwhile: the scenario
 * threads read their trees. */
static void discover(int64_t now)
{
	if (now - mon.last_discovery < DISCOVERY_NS)
		return;
	mon.last_discovery = now;
	int full = now - mon.last_orphan_scan >= ORPHAN_SCAN_NS;
	if (!full && !fl_tree_pids_moved())
		return;
	if (full)
		mon.last_orphan_scan = now;
	fl_tree *trees[64], **tv = trees;
	fl_session *sess[64], **sv = sess;
	if (mon.nslots > 64) {
		tv = fl_xmalloc(mon.nslots * sizeof *tv);
		sv = fl_xmalloc(mon.nslots * sizeof *sv);
	}
	size_t n = 0;
	for (size_t i = 0; i < mon.nslots; i++) {
		fl_session *s = mon.slots[i].s;
		if (!s || !s->tree_ok)
			continue;
		pthread_mutex_lock(&s->lock);
		if (s->tree.ending) {
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		sv[n] = s;
		tv[n++] = &s->tree;
	}
	fl_tree_discover(tv, n, full, now);
	for (size_t i = 0; i < n; i++)
		pthread_mutex_unlock(&sv[i]->lock);
	if (tv != trees) {
		free(tv);
		free(sv);
	}
}

static void *loader_main(void *arg)
{
	(void)arg;
	(void)fl_bpfs_load(NULL, 0);
	return NULL;
}

/* In auto mode, the program is loaded on its own thread once the monitor
 * has sampled for FL_BPFS_LOAD_AFTER_NS: a short run never pays for it,
 * and no tick waits for it. */
static void maybe_load(int64_t now)
{
	if (mon.bpf_mode != FL_BPFS_AUTO || mon.loader_started)
		return;
	if (!mon.first_tick_ns)
		mon.first_tick_ns = now;
	if (now - mon.first_tick_ns < FL_BPFS_LOAD_AFTER_NS)
		return;
	mon.loader_started =
		pthread_create(&mon.loader, NULL, loader_main, NULL) == 0;
	if (!mon.loader_started)
		mon.bpf_mode = FL_BPFS_OFF;
}

/* The pids of every process the sessions on timer idx sample, in one
 * batch, read with one system call. Returns how many (0: none, or the
 * program is not loaded: each session reads /proc). */
static size_t batch_read(size_t idx, int64_t *b0, int64_t *b1)
{
	if (mon.bpf_mode == FL_BPFS_OFF || !fl_bpfs_ready())
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < mon.nslots; i++) {
		fl_session *s = mon.slots[i].s;
		if (!s || s->timer != (int)idx)
			continue;
		s->batch_at = SIZE_MAX;
		pthread_mutex_lock(&s->lock);
		if (!s->sampling_stopped && s->tree_ok && !s->tree.ending) {
			/* Room for every member: one pass fills it. */
			size_t most = s->tree.n;
			if (n + most > mon.batch_cap) {
				mon.batch_cap = (n + most) * 2;
				mon.batch = fl_xrealloc(
					mon.batch,
					mon.batch_cap * sizeof *mon.batch);
			}
			s->batch_n = fl_tree_batch_pids(&s->tree, mon.batch + n,
							most);
			s->batch_at = n;
			n += s->batch_n;
		}
		pthread_mutex_unlock(&s->lock);
	}
	*b0 = fl_now_ns();
	int r = n ? fl_bpfs_read(mon.batch, n) : -ENODATA;
	*b1 = fl_now_ns();
	return r == 0 ? n : 0;
}

/* A tick of timer idx: every session sampled at its rate gets a sample. */
static void tick(size_t idx)
{
	uint64_t expirations = 0;
	if (read(mon.timers[idx].fd, &expirations, sizeof expirations) !=
	    (ssize_t)sizeof expirations)
		return;
	int64_t now = fl_now_ns();
	discover(now);
	maybe_load(now);
	int64_t b0 = 0, b1 = 0;
	size_t n = batch_read(idx, &b0, &b1);
	for (size_t i = 0; i < mon.nslots; i++) {
		fl_session *s = mon.slots[i].s;
		if (!s || s->timer != (int)idx)
			continue;
		if (n && s->batch_at != SIZE_MAX)
			take_sample(s, expirations, mon.batch + s->batch_at,
				    s->batch_n, b0,
				    (b1 - b0) * (int64_t)s->batch_n / (int64_t)n);
		else
			take_sample(s, expirations, NULL, 0, 0, 0);
	}
}

/* The control eventfd: only the stop request uses it now. */
static void handle_requests(void)
{
	uint64_t v;
	ssize_t n = read(mon.ctlfd, &v, sizeof v);
	(void)n;
}

static void handle_signal(void)
{
	struct signalfd_siginfo si;
	if (read(mon.sigfd, &si, sizeof si) != (ssize_t)sizeof si)
		return;
	if (mon.interrupted) {
		/* A second signal: stop waiting for an orderly end. The
		 * guardian kills the targets and removes temporary files. */
		static const char msg[] =
			"faultline: second signal, exiting now\n";
		fl_progress_abandon();
		fl_write_all(2, msg, sizeof msg - 1);
		_exit(128 + (int)si.ssi_signo);
	}
	mon.interrupted = (int)si.ssi_signo;
	for (size_t i = 0; i < mon.nslots; i++)
		if (mon.slots[i].s)
			notify(mon.slots[i].s);
}

static void *monitor_main(void *arg)
{
	(void)arg;
	mon.tid = (pid_t)syscall(SYS_gettid);
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(mon.epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		int requests = 0;
		/* Sessions are added and removed by their own threads under
		 * this lock (no wake-up of this thread for it), so a batch is
		 * handled whole under it. An event left over from a removed
		 * session lands on a free or reused slot or timer: every
		 * handler below does nothing when there is nothing for it. */
		pthread_mutex_lock(&mon.lock);
		for (int i = 0; i < n; i++) {
			int kind = (int)(evs[i].data.u64 & 15);
			size_t idx = (size_t)(evs[i].data.u64 >> 4);
			if (kind == KIND_CTL) {
				requests = 1;
				continue;
			}
			if (kind == KIND_SIG) {
				handle_signal();
				continue;
			}
			if (kind == KIND_TIMER) {
				if (idx < mon.ntimers && mon.timers[idx].fd >= 0)
					tick(idx);
				continue;
			}
			if (idx >= mon.nslots || !mon.slots[idx].s)
				continue;
			fl_session *s = mon.slots[idx].s;
			switch (kind) {
			case KIND_OUT:
				read_stream(s, FL_STDOUT);
				break;
			case KIND_ERR:
				read_stream(s, FL_STDERR);
				break;
			case KIND_PIDFD:
				/* Drain output first so that lines written
				 * just before the exit are seen before it. */
				read_stream(s, FL_STDOUT);
				read_stream(s, FL_STDERR);
				reap(s);
				break;
			}
		}
		int stop = mon.stop;
		pthread_mutex_unlock(&mon.lock);
		if (requests)
			handle_requests();
		if (stop)
			break;
	}
	return NULL;
}

int fl_monitor_sampler_setup(char *err, size_t errlen)
{
	if (mon.bpf_configured)
		return 0;
	if (fl_bpfs_configure(&mon.bpf_mode, err, errlen) < 0)
		return -1;
	mon.bpf_configured = 1;
	if (mon.bpf_mode == FL_BPFS_REQUIRED) {
		char why[256];
		if (fl_bpfs_load(why, sizeof why) < 0) {
			snprintf(err, errlen,
				 "FAULTLINE_SAMPLER=bpf, but the BPF sampler "
				 "cannot load: %s",
				 why);
			return -1;
		}
	}
	return 0;
}

int fl_monitor_use_bpf(int on)
{
	if (on && fl_bpfs_load(NULL, 0) < 0)
		return -1;
	pthread_mutex_lock(&mon.lock);
	mon.bpf_configured = 1;
	mon.bpf_mode = on ? FL_BPFS_REQUIRED : FL_BPFS_OFF;
	pthread_mutex_unlock(&mon.lock);
	return 0;
}

int fl_monitor_start(void)
{
	char err[320];
	if (fl_monitor_sampler_setup(err, sizeof err) < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		errno = EINVAL;
		return -EINVAL;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Descendants whose parent exits come to faultline, not to init:
	 * they stay findable, and faultline ends them (tree.h). */
	fl_tree_become_subreaper();
	mon.epfd = epoll_create1(EPOLL_CLOEXEC);
	mon.ctlfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mon.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (mon.epfd < 0 || mon.ctlfd < 0 || mon.sigfd < 0)
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KIND_CTL};
	epoll_ctl(mon.epfd, EPOLL_CTL_ADD, mon.ctlfd, &ev);
	ev.data.u64 = KIND_SIG;
	epoll_ctl(mon.epfd, EPOLL_CTL_ADD, mon.sigfd, &ev);
	int r = pthread_create(&mon.thread, NULL, monitor_main, NULL);
	if (r != 0)
		return -r;
	mon.running = 1;
	return 0;
}

static void wake_monitor(void)
{
	(void)fl_eventfd_signal(mon.ctlfd);
}

void fl_monitor_stop(void)
{
	if (!mon.running)
		return;
	pthread_mutex_lock(&mon.lock);
	mon.stop = 1;
	pthread_mutex_unlock(&mon.lock);
	wake_monitor();
	pthread_join(mon.thread, NULL);
	if (mon.loader_started)
		pthread_join(mon.loader, NULL);
	mon.loader_started = 0;
	mon.first_tick_ns = 0;
	free(mon.batch);
	mon.batch = NULL;
	mon.batch_cap = 0;
	mon.running = 0;
	close(mon.epfd);
	close(mon.ctlfd);
	close(mon.sigfd);
	free(mon.slots);
	mon.slots = NULL;
	mon.nslots = 0;
	for (size_t i = 0; i < mon.ntimers; i++)
		if (mon.timers[i].fd >= 0)
			close(mon.timers[i].fd);
	free(mon.timers);
	mon.timers = NULL;
	mon.ntimers = 0;
	fl_tree_end_strays();
}

int fl_monitor_add(fl_session *s)
{
	pthread_mutex_lock(&mon.lock);
	int r = register_session(s);
	s->add_result = r;
	s->add_done = 1;
	pthread_mutex_unlock(&mon.lock);
	return r;
}

void fl_monitor_remove(fl_session *s)
{
	pthread_mutex_lock(&mon.lock);
	if (s->registered)
		unregister_session(s);
	pthread_mutex_unlock(&mon.lock);
}

int fl_monitor_interrupted(void)
{
	return mon.interrupted;
}

pid_t fl_monitor_tid(void)
{
	return mon.running ? mon.tid : 0;
}

int64_t fl_monitor_cpu_ns(void)
{
	clockid_t c;
	struct timespec ts;
	if (!mon.running || pthread_getcpuclockid(mon.thread, &c) != 0 ||
	    clock_gettime(c, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * FL_NS_PER_SEC + ts.tv_nsec;
}
