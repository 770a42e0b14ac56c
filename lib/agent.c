/* faultline's agent: preloaded into a target in front of libfiu's POSIX
 * wrappers (LD_PRELOAD=faultline-agent.so:fiu_posix_preload.so).
 *
 * It makes every fault decision itself, through libfiu's
 * fiu_enable_external(), as a pure function of (seed, point, actor, n):
 *  - the actor names the calling thread deterministically: the main thread
 *    is "0", the third thread it creates "0.3", that thread's first child
 *    "0.3.1" (pthread_create is wrapped); a forked child continues as
 *    "<actor>f<k>";
 *  - n counts that actor's calls of that point from 1, from the start of
 *    the process (every point named in FL_POINTS is enabled at start with
 *    decisions off, so counting never depends on when a window opened);
 *  - a hash of the four, never libc random(), decides; the errno is the
 *    scenario's or one of the function's valid errnos chosen by the hash.
 * So a decision does not depend on thread interleaving, timing, or which
 * other points are enabled.
 *
 * Every fired fault is written to a shared journal without a lock or an
 * allocation; records the harness has not drained in time are counted as
 * lost, never waited for.
 *
 * It also wraps close() so that an injected failure still releases the fd,
 * as Linux does (libfiu's own wrapper leaves it open, which would make the
 * harness create the very leaks it reports), and removes itself and libfiu
 * from the environment so programs the target executes run without faults.
 * With FL_INHERIT=1 the environment, the socket and the journal are left to
 * programs the target executes (wrappers like valgrind or sh -c): the agent
 * of the new image takes them over and introduces itself again.
 *
 * The agent's own thread never passes through libfiu's wrappers (it raises
 * their recursion guard) and makes its I/O with raw system calls, so a
 * failing point can never break the control channel.
 */
#define _GNU_SOURCE
#define FIU_ENABLE 1

#include "agent_proto.h"
#include "points_table.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { CLOSE_LINUX = 0, CLOSE_LIBFIU = 1 };

#define NTH_MAX 16

/* A set of call numbers: ranges, plus "every k". Immutable once
 * published. */
struct nth_set {
	int nranges;
	uint64_t lo[NTH_MAX], hi[NTH_MAX];
	uint64_t every;
};

/* Recorded calls to fail in replay: an open-addressed table of
 * (actor hash, n) -> errno, built by the agent thread. */
struct replay_set {
	uint64_t size;		/* power of two */
	uint64_t count;
	uint64_t *keys;		/* 0: empty */
	int32_t *errs;
};

/* The decision rule of a point while its window is open. Published as a
 * whole (pointer swap), so a deciding thread sees one consistent rule. */
struct rule {
	uint64_t threshold;	/* fail when hash < threshold */
	int always;		/* p = 1 */
	int err;		/* 0: derived from the hash */
	int onetime;
	int has_nth;
	struct nth_set nth;
	char actors[64];	/* glob, or "" */
	struct replay_set *replay;
};

struct point {
	char name[112];
	uint64_t name_hash;
	_Atomic(struct rule *) rule;	/* NULL: decisions off */
	_Atomic int fired_once;
	_Atomic uint64_t calls;		/* calls while a rule was set */
	_Atomic uint64_t fired;
	int enabled_in_libfiu;
	const int *errnos;		/* the function's valid errnos */
	int nerrnos;
	/* An armed window: when trigger_slot's calls (by trigger_actor)
	 * reach trigger_n, pending_rule is published. */
	_Atomic(struct rule *) pending_rule;
	int trigger_slot;
	uint64_t trigger_n;
	uint64_t trigger_actor_hash;	/* 0: any actor */
	_Atomic uint64_t trigger_count;
};

static struct point points[FL_AGENT_MAX_POINTS];
static _Atomic int npoints;
/* Open-addressed index from name hash to slot + 1; slots are never
 * removed, so readers need no lock. */
#define INDEX_SIZE 2048
static _Atomic int point_index[INDEX_SIZE];
/* Slots that are somebody's trigger: their calls are checked against the
 * armed windows. */
static _Atomic int is_trigger[FL_AGENT_MAX_POINTS];

static int agent_fd = -1;
static int inherit;
static uint64_t agent_seed;
static _Atomic int close_mode = CLOSE_LINUX;
static int (*libc_close)(int);
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *,
				  void *(*)(void *), void *);
static fl_journal_hdr *journal;
static fl_journal_rec *journal_recs;

/* Per thread: who it is, and its call counts per point slot. */
static __thread int in_agent_thread;
static __thread int in_close_wrapper;
static __thread char actor[FL_ACTOR_MAX];
static __thread uint64_t actor_hash;
static __thread uint32_t children;
static __thread char thread_name[16];
static __thread uint64_t thread_name_gen;
/* Bumped by every rename, so each thread re-reads its own name (which
 * another thread may have set) only when some name changed. */
static _Atomic uint64_t names_gen = 1;
static __thread uint64_t counts[FL_AGENT_MAX_POINTS];

/* 64-bit mixing (the splitmix64 finaliser): good avalanche, no state. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

static void set_actor(const char *name)
{
	size_t n = strlen(name);
	if (n >= sizeof actor)
		n = sizeof actor - 1;
	memcpy(actor, name, n);
	actor[n] = '\0';
	actor_hash = hash_str(actor);
	children = 0;
	memset(counts, 0, sizeof counts);
	thread_name_gen = 0;
}

/* Threads the agent did not see start (the main thread, or one made by a
 * raw clone) get their name on first use: the main thread is "0". */
static void ensure_actor(void)
{
	if (actor[0])
		return;
	if (syscall(SYS_gettid) == getpid())
		set_actor("0");
	else {
		char name[32];
		snprintf(name, sizeof name, "?%ld", (long)syscall(SYS_gettid));
		set_actor(name);
	}
}

/* A point's valid errnos are its row in lib/points_table.h; a failure
 * whose errno the scenario did not choose takes one of them, picked by the
 * same hash that decided the failure. A point with no row (the target's
 * own) or no errnos fails with EIO. */
static const int errnos_default[] = {EIO};

static void choose_errnos(struct point *p)
{
	const fl_point_def *d = fl_point_def_find(p->name);
	int n = d ? fl_point_def_nerrnos(d) : 0;
	p->errnos = n ? d->errnos : errnos_default;
	p->nerrnos = n ? n : 1;
}

static int find_slot(const char *name, uint64_t h)
{
	for (unsigned i = 0; i < INDEX_SIZE; i++) {
		int slot = atomic_load_explicit(
			&point_index[(h + i) % INDEX_SIZE],
			memory_order_acquire);
		if (slot == 0)
			return -1;
		struct point *p = &points[slot - 1];
		if (p->name_hash == h && strcmp(p->name, name) == 0)
			return slot - 1;
	}
	return -1;
}

/* The raw allocator of the agent thread: mmap through the system call, so
 * it neither passes through libfiu nor can be failed by it. */
static void *raw_alloc(size_t len)
{
	void *p = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int decide_cb(const char *name, int *failnum, void **failinfo,
		     unsigned int *flags);

/* Only the agent thread (and the constructor) add points. */
static int add_point(const char *name)
{
	uint64_t h = hash_str(name);
	int found = find_slot(name, h);
	if (found >= 0)
		return found;
	int n = atomic_load(&npoints);
	if (n >= FL_AGENT_MAX_POINTS)
		return -1;
	struct point *p = &points[n];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->name_hash = h;
	p->trigger_slot = -1;
	choose_errnos(p);
	for (unsigned i = 0; i < INDEX_SIZE; i++) {
		_Atomic int *cell = &point_index[(h + i) % INDEX_SIZE];
		if (atomic_load(cell) == 0) {
			atomic_store_explicit(cell, n + 1,
					      memory_order_release);
			break;
		}
	}
	atomic_store(&npoints, n + 1);
	/* Enabled in libfiu for good: the decision is ours, and calls are
	 * counted whether or not a window is open. */
	if (fiu_enable_external(name, 1, (void *)(intptr_t)EIO, 0, decide_cb) ==
	    0)
		p->enabled_in_libfiu = 1;
	return n;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Appends a record to the journal, or counts it lost: never blocks. */
static void journal_write(uint32_t kind, int slot, uint64_t n, int err)
{
	fl_journal_hdr *j = journal;
	if (!j)
		return;
	uint64_t w = atomic_load_explicit(&j->write_idx, memory_order_relaxed);
	for (;;) {
		uint64_t r = atomic_load_explicit(&j->read_idx,
						  memory_order_acquire);
		if (w - r >= j->capacity) {
			atomic_fetch_add(&j->lost, 1);
			return;
		}
		if (atomic_compare_exchange_weak(&j->write_idx, &w, w + 1))
			break;
	}
	fl_journal_rec *rec = &journal_recs[w % j->capacity];
	rec->t_ns = (uint64_t)now_ns();
	rec->n = n;
	rec->kind = kind;
	rec->slot = (uint32_t)slot;
	rec->err = err;
	rec->pid = (uint32_t)getpid();
	memcpy(rec->actor, actor, sizeof rec->actor);
	atomic_store_explicit(&rec->seq, w + 1, memory_order_release);
}

/* '*' and '?' globbing, enough for actor and thread names. */
static int glob_match(const char *pat, const char *s)
{
	while (*pat) {
		if (*pat == '*') {
			pat++;
			if (!*pat)
				return 1;
			for (; *s; s++)
				if (glob_match(pat, s))
					return 1;
			return 0;
		}
		if (!*s || (*pat != '?' && *pat != *s))
			return 0;
		pat++;
		s++;
	}
	return *s == '\0';
}

static int nth_contains(const struct nth_set *set, uint64_t n)
{
	if (set->every && n % set->every == 0)
		return 1;
	for (int i = 0; i < set->nranges; i++)
		if (n >= set->lo[i] && n <= set->hi[i])
			return 1;
	return 0;
}

static int replay_lookup(const struct replay_set *rs, uint64_t key, int *err)
{
	if (!rs || !rs->size)
		return 0;
	uint64_t mask = rs->size - 1;
	for (uint64_t i = key & mask;; i = (i + 1) & mask) {
		if (rs->keys[i] == 0)
			return 0;
		if (rs->keys[i] == key) {
			*err = rs->errs[i];
			return 1;
		}
	}
}

static uint64_t replay_key(uint64_t ahash, uint64_t n)
{
	uint64_t k = mix64(ahash ^ mix64(n + 0x9e3779b97f4a7c15ULL));
	return k ? k : 1;
}

/* An armed window waits on calls of this slot. */
static void check_triggers(int slot, uint64_t n)
{
	int np = atomic_load(&npoints);
	for (int i = 0; i < np; i++) {
		struct point *p = &points[i];
		if (p->trigger_slot != slot ||
		    !atomic_load_explicit(&p->pending_rule, memory_order_acquire))
			continue;
		uint64_t count;
		if (p->trigger_actor_hash) {
			if (p->trigger_actor_hash != actor_hash)
				continue;
			count = n;
		} else {
			count = atomic_fetch_add(&p->trigger_count, 1) + 1;
		}
		if (count != p->trigger_n)
			continue;
		struct rule *r = atomic_exchange(&p->pending_rule, NULL);
		if (r) {
			atomic_store_explicit(&p->rule, r, memory_order_release);
			journal_write(FL_JREC_WINDOW, i, n, 0);
		}
	}
}

/* libfiu calls this, with its read lock held, for every call of an enabled
 * point. It must not allocate, lock or block. */
static int decide_cb(const char *name, int *failnum, void **failinfo,
		     unsigned int *flags)
{
	(void)failnum;
	(void)flags;
	if (in_agent_thread)
		return 0;
	int slot = find_slot(name, hash_str(name));
	if (slot < 0)
		return 0;
	ensure_actor();
	uint64_t n = ++counts[slot];
	if (atomic_load_explicit(&is_trigger[slot], memory_order_relaxed))
		check_triggers(slot, n);
	struct point *p = &points[slot];
	struct rule *r = atomic_load_explicit(&p->rule, memory_order_acquire);
	if (!r)
		return 0;
	atomic_fetch_add_explicit(&p->calls, 1, memory_order_relaxed);
	int err = 0;
	if (r->replay) {
		if (!replay_lookup(r->replay, replay_key(actor_hash, n), &err))
			return 0;
	} else {
		if (r->has_nth && !nth_contains(&r->nth, n))
			return 0;
		if (r->actors[0] && !glob_match(r->actors, actor)) {
			uint64_t g = atomic_load_explicit(&names_gen,
							  memory_order_acquire);
			if (thread_name_gen != g) {
				prctl(PR_GET_NAME, thread_name);
				thread_name[sizeof thread_name - 1] = '\0';
				thread_name_gen = g;
			}
			if (!glob_match(r->actors, thread_name))
				return 0;
		}
		uint64_t h = mix64(agent_seed ^
				   mix64(p->name_hash ^ mix64(actor_hash ^ n)));
		if (!r->always && h >= r->threshold)
			return 0;
		if (r->onetime && atomic_exchange(&p->fired_once, 1))
			return 0;
		err = r->err ? r->err
			     : p->errnos[mix64(h ^ 0x5bd1e995) %
					 (uint64_t)p->nerrnos];
	}
	if (err <= 0)
		err = p->errnos[0];
	*failinfo = (void *)(intptr_t)err;
	atomic_fetch_add_explicit(&p->fired, 1, memory_order_relaxed);
	journal_write(FL_JREC_FAULT, slot, n, err);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Wrapped functions                                                    */
/* ------------------------------------------------------------------ */

static int (*resolve_libc_close(void))(int)
{
	if (!libc_close) {
		void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			libc_close = (int (*)(int))dlsym(h, "close");
	}
	return libc_close;
}

static int raw_close(int fd)
{
	int (*c)(int) = resolve_libc_close();
	if (c)
		return c(fd);
	return (int)syscall(SYS_close, fd);
}

/* close() in front of libfiu's: decides through libfiu (so the scenario's
 * point "posix/io/oc/close" applies) and, on an injected failure, still
 * releases the fd unless the scenario asked for libfiu's behaviour. */
int close(int fd)
{
	if (in_close_wrapper || in_agent_thread)
		return raw_close(fd);
	if (fd >= 0 && fd == agent_fd) {
		/* A target closing every fd it does not know (a daemon's
		 * closefrom loop) must not cut the harness off. */
		return 0;
	}
	in_close_wrapper++;
	int fail = fiu_fail("posix/io/oc/close");
	if (fail) {
		int err = (int)(intptr_t)fiu_failinfo();
		if (err <= 0)
			err = EIO;
		if (atomic_load(&close_mode) == CLOSE_LINUX)
			raw_close(fd);
		in_close_wrapper--;
		errno = err;
		return -1;
	}
	in_close_wrapper--;
	return raw_close(fd);
}

/* Threads are named after their creator: the k-th thread that actor A
 * creates is "A.k". The name travels in a slot of a static pool (no
 * allocation: pthread_create must keep working while malloc fails). */
struct start_slot {
	_Atomic int used;
	void *(*fn)(void *);
	void *arg;
	char actor[FL_ACTOR_MAX];
};
#define START_SLOTS 256
static struct start_slot start_slots[START_SLOTS];

static void *thread_start(void *p)
{
	struct start_slot *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	set_actor(s->actor);
	atomic_store_explicit(&s->used, 0, memory_order_release);
	return fn(arg);
}

int pthread_create(pthread_t *th, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	if (!real_pthread_create)
		real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	if (in_agent_thread)
		return real_pthread_create(th, attr, fn, arg);
	ensure_actor();
	struct start_slot *s = NULL;
	for (int i = 0; i < START_SLOTS; i++) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&start_slots[i].used,
						   &expected, 1)) {
			s = &start_slots[i];
			break;
		}
	}
	uint32_t k = ++children;
	if (!s) {
		/* More than START_SLOTS threads starting at the same moment:
		 * this one goes unnamed (it becomes "?tid"). */
		return real_pthread_create(th, attr, fn, arg);
	}
	s->fn = fn;
	s->arg = arg;
	snprintf(s->actor, sizeof s->actor, "%s.%u", actor, k);
	int r = real_pthread_create(th, attr, thread_start, s);
	if (r != 0) {
		children--;
		atomic_store(&s->used, 0);
	}
	return r;
}

int pthread_setname_np(pthread_t th, const char *name)
{
	static int (*real)(pthread_t, const char *);
	if (!real)
		real = dlsym(RTLD_NEXT, "pthread_setname_np");
	int r = real ? real(th, name) : ENOSYS;
	atomic_fetch_add_explicit(&names_gen, 1, memory_order_release);
	return r;
}

/* A forked child continues the forking thread's actor on a branch of its
 * own, with its counts from zero. */
static __thread uint32_t forks;
static char fork_child_actor[FL_ACTOR_MAX];

static void atfork_prepare(void)
{
	ensure_actor();
	snprintf(fork_child_actor, sizeof fork_child_actor, "%sf%u", actor,
		 ++forks);
}

static void atfork_child(void)
{
	set_actor(fork_child_actor);
}

/* ------------------------------------------------------------------ */
/* The control channel                                                  */
/* ------------------------------------------------------------------ */

static void send_msg(const char *msg, size_t len)
{
	while (syscall(SYS_sendto, agent_fd, msg, len, MSG_NOSIGNAL, NULL, 0) <
		       0 &&
	       errno == EINTR)
		;
}

static void reply(const char *msg)
{
	send_msg(msg, strlen(msg));
}

/* Finds key=value in a command's first line; copies the value. */
static int arg(const char *cmd, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	size_t line = strcspn(cmd, "\n");
	for (const char *p = cmd; (p = strstr(p, key)) != NULL &&
				  (size_t)(p - cmd) < line;
	     p++) {
		if ((p == cmd || p[-1] == ' ') && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t n = strcspn(v, " \n");
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

static int parse_nth(const char *spec, struct nth_set *set)
{
	memset(set, 0, sizeof *set);
	char buf[128];
	snprintf(buf, sizeof buf, "%s", spec);
	for (char *p = buf; p && *p;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		while (*p == ' ' || *p == '+')
			p++;
		if (strncmp(p, "every", 5) == 0) {
			p += 5;
			while (*p == ' ' || *p == '+' || *p == '_')
				p++;
			char *end;
			unsigned long long k = strtoull(p, &end, 10);
			if (end == p || k == 0)
				return -1;
			set->every = k;
		} else {
			char *end;
			unsigned long long lo = strtoull(p, &end, 10), hi = lo;
			if (end == p || lo == 0)
				return -1;
			if (*end == '-') {
				char *e2;
				hi = strtoull(end + 1, &e2, 10);
				if (e2 == end + 1 || hi < lo)
					return -1;
				end = e2;
			}
			if (*end != '\0' || set->nranges == NTH_MAX)
				return -1;
			set->lo[set->nranges] = lo;
			set->hi[set->nranges] = hi;
			set->nranges++;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* Rules are never freed: a deciding thread may still hold one. They are
 * small and a scenario makes few. */
static struct rule *new_rule(void)
{
	static struct rule *pool;
	static size_t left;
	if (left == 0) {
		pool = raw_alloc(64 * sizeof *pool);
		if (!pool)
			return NULL;
		left = 64;
	}
	left--;
	struct rule *r = pool++;
	memset(r, 0, sizeof *r);
	return r;
}

/* Replay sets per point, filled by "replay" messages before the window. */
static struct replay_set *replay_sets[FL_AGENT_MAX_POINTS];

static int replay_add(int slot, uint64_t key, int err)
{
	struct replay_set *rs = replay_sets[slot];
	if (!rs) {
		rs = raw_alloc(sizeof *rs);
		if (!rs)
			return -1;
		replay_sets[slot] = rs;
	}
	if ((rs->count + 1) * 2 > rs->size) {
		uint64_t nsize = rs->size ? rs->size * 2 : 1024;
		uint64_t *keys = raw_alloc(nsize * sizeof *keys);
		int32_t *errs = raw_alloc(nsize * sizeof *errs);
		if (!keys || !errs)
			return -1;
		for (uint64_t i = 0; i < rs->size; i++) {
			if (!rs->keys[i])
				continue;
			uint64_t j = rs->keys[i] & (nsize - 1);
			while (keys[j])
				j = (j + 1) & (nsize - 1);
			keys[j] = rs->keys[i];
			errs[j] = rs->errs[i];
		}
		/* The old arrays stay mapped: replay sets are loaded before
		 * any window uses them, but a stale reader must not fault. */
		rs->keys = keys;
		rs->errs = errs;
		rs->size = nsize;
	}
	uint64_t j = key & (rs->size - 1);
	while (rs->keys[j] && rs->keys[j] != key)
		j = (j + 1) & (rs->size - 1);
	if (!rs->keys[j])
		rs->count++;
	rs->keys[j] = key;
	rs->errs[j] = err;
	return 0;
}

static void cmd_replay(char *cmd)
{
	char name[112];
	if (!arg(cmd, "point", name, sizeof name)) {
		reply("err replay needs point=<name>");
		return;
	}
	int slot = add_point(name);
	if (slot < 0) {
		reply("err too many points");
		return;
	}
	char *line = strchr(cmd, '\n');
	while (line) {
		line++;
		char act[FL_ACTOR_MAX];
		unsigned long long n;
		int err;
		if (sscanf(line, "%39s %llu %d", act, &n, &err) == 3 &&
		    replay_add(slot, replay_key(hash_str(act), n), err) < 0) {
			reply("err out of memory for the replay set");
			return;
		}
		line = strchr(line, '\n');
	}
	reply("ok");
}

/* Applies rule r to one slot, or arms it behind a trigger. */
static int apply_rule(int slot, struct rule *r, int trigger, uint64_t after_n,
		      const char *after_actor)
{
	struct point *p = &points[slot];
	if (trigger >= 0) {
		p->trigger_slot = trigger;
		p->trigger_n = after_n;
		p->trigger_actor_hash = after_actor[0] ? hash_str(after_actor) : 0;
		atomic_store(&p->trigger_count, 0);
		atomic_store_explicit(&p->pending_rule, r, memory_order_release);
		atomic_store(&is_trigger[trigger], 1);
		return 0;
	}
	atomic_store(&p->fired_once, 0);
	atomic_store_explicit(&p->rule, r, memory_order_release);
	return 0;
}

static void cmd_enable(const char *cmd)
{
	char name[112], val[128];
	if (!arg(cmd, "point", name, sizeof name) || !name[0]) {
		reply("err enable needs point=<name>");
		return;
	}
	struct rule proto;
	memset(&proto, 0, sizeof proto);
	double prob = 1.0;
	if (arg(cmd, "p", val, sizeof val)) {
		char *end;
		prob = strtod(val, &end);
		if (end == val || prob < 0 || prob > 1) {
			reply("err p must be a number from 0 to 1");
			return;
		}
	}
	proto.always = prob >= 1.0;
	proto.threshold = prob >= 1.0 ? UINT64_MAX
				      : (uint64_t)(prob * 18446744073709551616.0);
	if (arg(cmd, "errno", val, sizeof val))
		proto.err = atoi(val);
	if (arg(cmd, "onetime", val, sizeof val))
		proto.onetime = atoi(val) != 0;
	if (arg(cmd, "nth", val, sizeof val)) {
		for (char *q = val; *q; q++)
			if (*q == '_')
				*q = ' ';
		if (parse_nth(val, &proto.nth) < 0) {
			reply("err nth must be like 3, 5-9, every 4, or a comma "
			      "list of those");
			return;
		}
		proto.has_nth = 1;
	}
	if (arg(cmd, "actors", val, sizeof val))
		snprintf(proto.actors, sizeof proto.actors, "%s", val);
	int replay = arg(cmd, "replay", val, sizeof val) && atoi(val);
	int trigger = -1;
	uint64_t after_n = 0;
	char after_actor[FL_ACTOR_MAX] = "";
	if (arg(cmd, "after", val, sizeof val)) {
		char *c1 = strchr(val, ':');
		if (!c1) {
			reply("err after must be <point>:<n>[:<actor>]");
			return;
		}
		*c1 = '\0';
		char *c2 = strchr(c1 + 1, ':');
		if (c2) {
			*c2 = '\0';
			snprintf(after_actor, sizeof after_actor, "%s", c2 + 1);
		}
		after_n = strtoull(c1 + 1, NULL, 10);
		trigger = add_point(val);
		if (trigger < 0 || after_n == 0) {
			reply("err bad after= trigger");
			return;
		}
	}

	/* A trailing '*' applies the rule to every known point it covers. */
	size_t len = strlen(name);
	int first_slot = -1, applied = 0;
	if (len > 0 && name[len - 1] == '*') {
		int np = atomic_load(&npoints);
		for (int i = 0; i < np; i++) {
			if (strncmp(points[i].name, name, len - 1) != 0)
				continue;
			struct rule *r = new_rule();
			if (!r) {
				reply("err out of memory");
				return;
			}
			*r = proto;
			if (replay) {
				r->replay = replay_sets[i];
				if (!r->replay) {
					r->always = 0;
					r->threshold = 0;
				}
			}
			apply_rule(i, r, trigger, after_n, after_actor);
			if (first_slot < 0)
				first_slot = i;
			applied++;
		}
		if (!applied) {
			reply("err no known point matches the wildcard");
			return;
		}
	} else {
		int slot = add_point(name);
		if (slot < 0) {
			reply("err too many points");
			return;
		}
		if (!points[slot].enabled_in_libfiu) {
			reply("err libfiu refused to enable the point");
			return;
		}
		struct rule *r = new_rule();
		if (!r) {
			reply("err out of memory");
			return;
		}
		*r = proto;
		if (replay) {
			/* Only the recorded calls fail; with none recorded
			 * for this point, none does. */
			r->replay = replay_sets[slot];
			if (!r->replay) {
				r->always = 0;
				r->threshold = 0;
			}
		}
		apply_rule(slot, r, trigger, after_n, after_actor);
		first_slot = slot;
	}
	char out[64];
	snprintf(out, sizeof out, "ok slot=%d", first_slot);
	reply(out);
}

static void cmd_disable(const char *cmd)
{
	char name[112];
	if (!arg(cmd, "point", name, sizeof name)) {
		reply("err disable needs point=<name>");
		return;
	}
	size_t len = strlen(name);
	int all = strcmp(name, "*") == 0;
	int wild = len > 0 && name[len - 1] == '*';
	int np = atomic_load(&npoints);
	for (int i = 0; i < np; i++) {
		struct point *p = &points[i];
		if (!all && !(wild ? strncmp(name, p->name, len - 1) == 0
				   : strcmp(name, p->name) == 0))
			continue;
		atomic_store(&p->pending_rule, NULL);
		atomic_store_explicit(&p->rule, NULL, memory_order_release);
	}
	reply("ok");
}

static void cmd_stats(void)
{
	static char buf[FL_AGENT_MSG_MAX];
	int n = atomic_load(&npoints);
	size_t len = (size_t)snprintf(buf, sizeof buf, "stats %d\n", n);
	for (int i = 0; i < n && len < sizeof buf; i++) {
		struct point *p = &points[i];
		len += (size_t)snprintf(
			buf + len, sizeof buf - len, "%d %s %llu %llu %d\n", i,
			p->name, (unsigned long long)atomic_load(&p->calls),
			(unsigned long long)atomic_load(&p->fired),
			atomic_load(&p->rule) != NULL);
	}
	if (len >= sizeof buf)
		len = sizeof buf - 1;
	send_msg(buf, len);
}

static void handle(char *cmd)
{
	if (strncmp(cmd, "enable ", 7) == 0)
		cmd_enable(cmd);
	else if (strncmp(cmd, "disable ", 8) == 0)
		cmd_disable(cmd);
	else if (strncmp(cmd, "replay ", 7) == 0)
		cmd_replay(cmd);
	else if (strcmp(cmd, "stats") == 0)
		cmd_stats();
	else if (strcmp(cmd, "ping") == 0)
		reply("pong");
	else if (strncmp(cmd, "set close=", 10) == 0) {
		if (strcmp(cmd + 10, "linux") == 0)
			atomic_store(&close_mode, CLOSE_LINUX);
		else if (strcmp(cmd + 10, "libfiu") == 0)
			atomic_store(&close_mode, CLOSE_LIBFIU);
		else {
			reply("err close must be linux or libfiu");
			return;
		}
		reply("ok");
	} else
		reply("err unknown command");
}

/* Introduces the agent; sent from its own thread, so tid names the thread
 * the harness leaves out of the target's figures. */
static void send_hello(int thread)
{
	char hello[200];
	snprintf(hello, sizeof hello,
		 "hello pid=%d tid=%d fd=%d version=%d close=%s thread=%d "
		 "journal=%d points=%d",
		 (int)getpid(), (int)syscall(SYS_gettid), agent_fd,
		 FL_AGENT_PROTO_VERSION,
		 atomic_load(&close_mode) == CLOSE_LINUX ? "linux" : "libfiu",
		 thread, journal != NULL, atomic_load(&npoints));
	send_msg(hello, strlen(hello));
}

static void *agent_main(void *unused)
{
	(void)unused;
	in_agent_thread = 1;
	/* libfiu's wrappers let calls through untouched while their
	 * per-thread recursion counter is raised; raise it for good here. */
	int *fiu_called = dlsym(RTLD_DEFAULT, "_fiu_called");
	if (fiu_called)
		(*fiu_called)++;
	prctl(PR_SET_NAME, FL_AGENT_THREAD_NAME);
	send_hello(1);

	static char buf[FL_AGENT_MSG_MAX];
	for (;;) {
		long n = syscall(SYS_recvfrom, agent_fd, buf, sizeof buf - 1,
				 0, NULL, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the harness went away */
		buf[n] = '\0';
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		handle(buf);
	}
	return NULL;
}

/* Drops the agent and libfiu from LD_PRELOAD, and our variables, so that
 * programs the target executes start clean. */
static void strip_environment(void)
{
	const char *pre = getenv("LD_PRELOAD");
	if (pre) {
		char out[4096];
		size_t len = 0;
		const char *p = pre;
		while (*p) {
			size_t n = strcspn(p, ": ");
			int ours = memmem(p, n, "faultline-agent", 15) != NULL ||
				   memmem(p, n, "fiu_posix_preload", 17) != NULL;
			if (!ours && n > 0 && len + n + 2 < sizeof out) {
				if (len)
					out[len++] = ':';
				memcpy(out + len, p, n);
				len += n;
			}
			p += n;
			while (*p == ':' || *p == ' ')
				p++;
		}
		out[len] = '\0';
		if (len)
			setenv("LD_PRELOAD", out, 1);
		else
			unsetenv("LD_PRELOAD");
	}
	unsetenv(FL_ENV_AGENT_FD);
	unsetenv(FL_ENV_SEED);
	unsetenv(FL_ENV_CLOSE);
	unsetenv(FL_ENV_INHERIT);
	unsetenv(FL_ENV_POINTS);
	unsetenv(FL_ENV_JOURNAL_FD);
}

static void map_journal(int fd)
{
	void *m = mmap(NULL, FL_JOURNAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	if (m == MAP_FAILED)
		return;
	fl_journal_hdr *h = m;
	if (h->magic != FL_JOURNAL_MAGIC || h->record_size != sizeof(fl_journal_rec)) {
		munmap(m, FL_JOURNAL_SIZE);
		return;
	}
	journal = h;
	journal_recs = (fl_journal_rec *)(h + 1);
}

__attribute__((constructor)) static void agent_init(void)
{
	const char *fdenv = getenv(FL_ENV_AGENT_FD);
	const char *seedenv = getenv(FL_ENV_SEED);
	const char *closeenv = getenv(FL_ENV_CLOSE);
	const char *inheritenv = getenv(FL_ENV_INHERIT);
	const char *jenv = getenv(FL_ENV_JOURNAL_FD);
	resolve_libc_close();
	real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	pthread_atfork(atfork_prepare, NULL, atfork_child);
	ensure_actor();
	inherit = inheritenv && strcmp(inheritenv, "1") == 0;
	if (seedenv)
		agent_seed = strtoull(seedenv, NULL, 10);
	if (closeenv && strcmp(closeenv, "libfiu") == 0)
		atomic_store(&close_mode, CLOSE_LIBFIU);
	int fd = fdenv ? atoi(fdenv) : -1;
	int jfd = jenv ? atoi(jenv) : -1;
	char points_env[16384] = "";
	const char *pe = getenv(FL_ENV_POINTS);
	if (pe)
		snprintf(points_env, sizeof points_env, "%s", pe);
	if (!inherit)
		strip_environment();
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return; /* not started by faultline: stay inert */
	/* Unless asked otherwise, the socket must not reach programs the
	 * target executes. */
	if (!inherit)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	agent_fd = fd;
	fiu_init(0);
	if (jfd >= 0 && fcntl(jfd, F_GETFD) >= 0) {
		map_journal(jfd);
		/* The mapping keeps the memory: the fd itself would only be
		 * one more fd in the target's table. */
		if (!inherit)
			raw_close(jfd);
	}
	/* Count every named point from the first call on. */
	for (char *p = points_env; *p;) {
		char *colon = strchr(p, ':');
		if (colon)
			*colon = '\0';
		if (*p)
			add_point(p);
		if (!colon)
			break;
		p = colon + 1;
	}

	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = real_pthread_create ? real_pthread_create(&th, &attr,
							   agent_main, NULL)
				     : EAGAIN;
	pthread_attr_destroy(&attr);
	if (rc != 0)
		send_hello(0);
}
