/* faultline's agent: preloaded into a target in front of libfiu's POSIX
 * wrappers (LD_PRELOAD=faultline-agent.so:fiu_posix_preload.so).
 *
 * It has no thread and no descriptor of its own. The harness creates one
 * shared memory region (lib/agent_proto.h) before it spawns the target;
 * the agent maps it in its constructor, before main(), and every forked
 * descendant shares the mapping. The harness writes the rules of its
 * fault windows there, so a window opened or closed reaches every process
 * of the tree at its next call, whenever it forked; each process
 * registers itself in the region's process table, counts its calls and
 * journals the faults it fires there.
 *
 * Decisions. libfiu's wrappers ask fiu_fail(name) whether a call fails and
 * fiu_failinfo() for its errno. The agent, first in LD_PRELOAD, defines
 * both, so every call of every point reaches it with its own name (a
 * custom point computed at run time too), without libfiu's lock, and each
 * thread reads back the errno of its own decision. (libfiu keeps the
 * failinfo on the point, where two threads failing it at once could read
 * each other's; and a '*' registration with fiu_enable_external gives the
 * callback the pattern, not the name of the point called, so it cannot
 * count per point.) A decision is a pure function of (seed, point, actor,
 * n):
 *  - the actor names the calling thread deterministically: the main
 *    thread is "0", the third thread it creates "0.3", that thread's first
 *    child "0.3.1" (pthread_create is wrapped); a forked child continues
 *    as "<actor>f<k>", k counting that thread's forks from 1 (from 0 again
 *    in the child); a program executed with the agent continues its
 *    process's actor; one started by posix_spawn is "<parent>s<k>";
 *  - n counts that actor's calls of that point from 1, from the start of
 *    the process (every point is counted from its first call, whether a
 *    window is open or not);
 *  - a hash of the four, never libc random(), decides; the errno is the
 *    scenario's or one of the function's valid errnos chosen by the hash.
 *
 * Not started by faultline (no FL_SHM_FD), the agent stays inert and
 * passes fiu_fail() and fiu_failinfo() through to libfiu.
 *
 * It also wraps close() so that an injected failure still releases the
 * fd, as Linux does (libfiu's own wrapper leaves it open, which would make
 * the harness create the very leaks it reports), and removes itself and
 * libfiu from the environment so programs the target executes run without
 * faults. With inherit set in the region, the environment and the
 * region's descriptor are left to them: the agent of the new image maps
 * the same region and registers again.
 *
 * Footprint: the region and the agent's and libfiu preload's own pages are
 * made resident when mapped, so they never grow with the faults fired; a
 * forked child inherits the mappings but not their page tables, so it maps
 * the control part again at fork and the journal's records at its first
 * fault. Their size, the per-thread TLS and the one descriptor kept with
 * inherit are written to the process's entry for the harness to
 * subtract.
 */
#define _GNU_SOURCE
#define FIU_ENABLE 1

#include "agent_internal.h"
#include "agent_proto.h"
#include "agent_ring.h"
#include "points_table.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The region, once mapped and registered; until then (and for good when
 * not started by faultline) the agent is inert. */
static fl_shm_view shm;
static _Atomic int active;
static void *region;
static size_t region_size;
static uint64_t agent_seed;
static int kept_fd = -1;	/* the region's fd, kept with inherit */
static pid_t my_pid;
static fl_shm_proc *my_proc;
/* The journal's records, mapped in this process yet? A forked child maps
 * them at its first fault, not at fork: most children that execute a
 * program right away never fire one. */
static _Atomic int records_mapped;

static int (*libc_close)(int);
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *,
				  void *(*)(void *), void *);
static int (*real_fiu_fail)(const char *);
static void *(*real_fiu_failinfo)(void);

/* Per thread: who it is, its call counts per point entry, and the errno
 * of its last failed call. */
static __thread int in_agent;
static __thread int in_close_wrapper;
static __thread char actor[FL_ACTOR_MAX];
static __thread uint64_t actor_hash;
static __thread uint32_t children;
static __thread uint32_t forks;
static __thread char fork_child_actor[FL_ACTOR_MAX];
static __thread char thread_name[16];
static __thread uint64_t thread_name_gen;
static __thread intptr_t failinfo;
static __thread uint64_t counts[FL_MAX_POINTS];
/* Bumped by every rename, so each thread re-reads its own name (which
 * another thread may have set) only when some name changed. */
static _Atomic uint64_t names_gen = 1;

static void set_actor(const char *name)
{
	size_t n = strlen(name);
	if (n >= sizeof actor)
		n = sizeof actor - 1;
	memcpy(actor, name, n);
	actor[n] = '\0';
	actor_hash = fl_hash_str(actor);
	children = 0;
	forks = 0;
	memset(counts, 0, sizeof counts);
	thread_name_gen = 0;
}

/* Threads the agent did not see start (the main thread, or one made by a
 * raw clone) get their name on first use: the main thread is "0" (or its
 * process's actor, set when it registered). */
static void ensure_actor(void)
{
	if (actor[0])
		return;
	if (syscall(SYS_gettid) == syscall(SYS_getpid))
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

/* The valid errnos of a point: its row of lib/points_table.h, looked up
 * once and kept in the region (errclass: the row's index + 1, 0 for a
 * point without a row or without errnos, -1 not looked up yet). */
struct errno_family {
	const int *v;
	int n;
};

static struct errno_family family(fl_shm_point *p)
{
	int f = atomic_load_explicit(&p->errclass, memory_order_relaxed);
	if (f < 0) {
		const fl_point_def *d = fl_point_def_find(p->name);
		f = d && fl_point_def_nerrnos(d) ? (int)(d - fl_point_table) + 1
						 : 0;
		atomic_store_explicit(&p->errclass, f, memory_order_relaxed);
	}
	struct errno_family fam = {errnos_default, 1};
	if (f > 0) {
		const fl_point_def *d = &fl_point_table[f - 1];
		fam.v = d->errnos;
		fam.n = fl_point_def_nerrnos(d);
	}
	return fam;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void map_records(void);

/* A thread asleep in journal_write, waiting for room in the journal:
 * while it sleeps, a signal handler that runs on it has its calls
 * decided and counted as they would be at any other moment (in_agent
 * would pass them through undecided, and how long a wait lasts is
 * timing). */
static __thread int wait_saved_in_agent;
static void journal_waiting(int asleep)
{
	if (asleep) {
		wait_saved_in_agent = in_agent;
		in_agent = 0;
	} else {
		in_agent = wait_saved_in_agent;
	}
}

/* A record of this thread is claimed and not yet published: a signal
 * handler's record written meanwhile must not wait for room, since the
 * harness cannot drain past the unpublished one until the handler
 * returns. */
static __thread int journal_claimed;

/* Appends a record to the journal. A full journal makes the thread wait
 * for the harness to drain it (bounded: lib/agent_ring.h); a record that
 * still finds no room is counted lost, and the harness fails the run. */
static void journal_write(uint32_t kind, int slot, uint64_t n, int err)
{
	fl_journal_hdr *j = shm.jhdr;
	if (!atomic_load_explicit(&records_mapped, memory_order_relaxed))
		map_records();
	uint64_t w;
	int nested = journal_claimed;
	if (!fl_ring_claim(j, !nested, journal_waiting, &w))
		return;
	journal_claimed = 1;
	fl_journal_rec *rec = fl_ring_rec(j, shm.jrecs, w);
	rec->t_ns = (uint64_t)now_ns();
	rec->n = n;
	rec->kind = kind;
	rec->slot = (uint32_t)slot;
	rec->err = err;
	rec->pid = (uint32_t)my_pid;
	memcpy(rec->actor, actor, sizeof rec->actor);
	fl_ring_publish(j, shm.jrecs, w);
	journal_claimed = nested;
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

static int nth_contains(const fl_rule_body *r, uint64_t n)
{
	if (r->every && n % r->every == 0)
		return 1;
	for (int i = 0; i < r->nranges && i < FL_NTH_MAX; i++)
		if (n >= r->lo[i] && n <= r->hi[i])
			return 1;
	return 0;
}

static int replay_lookup(uint64_t key, int *err)
{
	if (!shm.replay)
		return 0;
	uint32_t mask = shm.hdr->replay_cap - 1;
	for (uint32_t i = 0; i <= mask; i++) {
		fl_shm_replay *e = &shm.replay[(key + i) & mask];
		uint64_t k = atomic_load_explicit(&e->key, memory_order_acquire);
		if (k == 0)
			return 0;
		if (k == key) {
			*err = e->err;
			return 1;
		}
	}
	return 0;
}

/* A point added now may be covered by a "prefix*" window opened before
 * it existed. The fence pairs with the harness's, which publishes a
 * pattern and then looks at the points: one of the two sees the other. */
static void apply_patterns(int slot)
{
	fl_shm_point *p = &shm.points[slot];
	atomic_thread_fence(memory_order_seq_cst);
	for (int i = 0; i < FL_MAX_PATTERNS; i++) {
		fl_shm_pattern *pat = &shm.patterns[i];
		uint64_t ref = atomic_load_explicit(&pat->rule,
						    memory_order_acquire);
		if (!ref)
			continue;
		size_t len = strnlen(pat->prefix, sizeof pat->prefix);
		int match = strncmp(p->name, pat->prefix, len) == 0;
		if (!match || atomic_load(&pat->rule) != ref)
			continue;
		uint64_t none = 0;
		atomic_compare_exchange_strong(&p->rule, &none, ref);
	}
}

/* Armed windows that count this point's calls: the call that reaches the
 * count opens the window, in the calling thread, at that exact call. */
static void check_triggers(int slot, uint64_t n)
{
	for (int i = 0; i < FL_MAX_ARMED; i++) {
		uint32_t a = atomic_load_explicit(&shm.hdr->armed[i],
						  memory_order_acquire);
		if (!a || a > FL_MAX_RULES)
			continue;
		fl_shm_rule *r = &shm.rules[a - 1];
		uint64_t ver = atomic_load_explicit(&r->version,
						    memory_order_acquire);
		if (ver & 1)
			continue;
		int32_t tslot = r->body.trigger_slot;
		uint64_t tn = r->body.trigger_n, tactor = r->body.trigger_actor;
		int32_t point = r->body.point;
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&r->version, memory_order_relaxed) != ver ||
		    tslot != slot || atomic_load(&r->opened) == ver)
			continue;
		uint64_t count;
		if (tactor) {
			if (tactor != actor_hash)
				continue;
			count = n;
		} else {
			/* Calls by anyone, in any process: one shared count,
			 * tagged with the rule's version. */
			uint64_t tag = ver & 0xffffff;
			uint64_t w = atomic_load(&r->trigger_count);
			int stale = 0;
			for (;;) {
				if ((w >> 40) != tag) {
					stale = 1;
					break;
				}
				if (atomic_compare_exchange_weak(&r->trigger_count,
								 &w, w + 1))
					break;
			}
			if (stale)
				continue;
			count = (w & ((1ULL << 40) - 1)) + 1;
		}
		if (count != tn)
			continue;
		uint64_t o = atomic_load(&r->opened);
		if (o != ver && atomic_compare_exchange_strong(&r->opened, &o, ver))
			journal_write(FL_JREC_WINDOW, point, n, 0);
	}
}

/* onetime: the first call to fail under this rule reference wins. */
static int claim_onetime(fl_shm_point *p, uint64_t ref)
{
	uint64_t prev = atomic_load(&p->onetime);
	for (;;) {
		if (prev == ref)
			return 0;
		if (atomic_compare_exchange_weak(&p->onetime, &prev, ref))
			return 1;
	}
}

/* Per thread: calls from the sweep's site counted so far (the sweep
 * fails one site per run, so one counter is enough). */
static __thread uint64_t site_counted_key, site_counted;

/* A sweep's rule (docs/sweep.md): in record mode, adds the call's site to
 * the site table and fails nothing; in site mode, fails exactly the
 * site_nth-th call from its site by its actor, once per run. 1: fail this
 * call. */
static int sweep_decide(fl_shm_point *p, int slot, const fl_rule_body *r)
{
	if (!shm.sites)
		return 0;
	/* Recording keeps every frame for the report; a site's run only
	 * needs those that make the identity. */
	fl_frames f;
	fl_sites_capture(&shm, &f,
			 r->sweep == FL_SWEEP_RECORD ? FL_SITE_FRAMES
						     : (int)shm.hdr->site_depth);
	uint64_t stack = fl_sites_stack(&f, (int)shm.hdr->site_depth);
	uint64_t key = fl_site_key(p->name_hash, stack);
	if (r->sweep == FL_SWEEP_RECORD) {
		fl_sites_record(&shm, key, stack, &f, slot, NULL, FL_SITE_REACHED);
		return 0;
	}
	if (key != r->site_key ||
	    (r->site_actor && r->site_actor != actor_hash))
		return 0;
	uint64_t count;
	if (r->site_actor) {
		/* One actor's own count: exact whatever the others do. */
		if (site_counted_key != key) {
			site_counted_key = key;
			site_counted = 0;
		}
		count = ++site_counted;
	} else {
		count = atomic_fetch_add(&shm.hdr->site_calls, 1) + 1;
	}
	if (count != r->site_nth)
		return 0;
	uint32_t none = 0;
	if (!atomic_compare_exchange_strong(&shm.hdr->site_fired, &none, 1))
		return 0;
	fl_sites_record(&shm, key, stack, &f, slot, NULL, FL_SITE_REACHED);
	return 1;
}

/* One call of a point: counted, and failed if its rule says so. Returns
 * the failnum, with the errno in this thread's failinfo. */
static int decide(const char *name)
{
	int created;
	int slot = fl_shm_point_get(&shm, name, 1, &created);
	if (slot < 0)
		return 0;
	fl_shm_point *p = &shm.points[slot];
	if (created)
		apply_patterns(slot);
	ensure_actor();
	uint64_t n = ++counts[slot];
	if (atomic_load_explicit(&p->triggers, memory_order_relaxed))
		check_triggers(slot, n);
	uint64_t ref = atomic_load_explicit(&p->rule, memory_order_acquire);
	if (!ref)
		return 0;
	fl_rule_body r;
	int opened, tries = 0;
	while (!fl_shm_rule_read(&shm, ref, &r, &opened)) {
		/* Replaced while we read it: take the new one; a reference
		 * that stays stale means no rule. */
		uint64_t again = atomic_load_explicit(&p->rule,
						      memory_order_acquire);
		if (!again || again == ref || ++tries == 4)
			return 0;
		ref = again;
	}
	if (r.trigger_slot >= 0 && !opened)
		return 0;
	atomic_fetch_add_explicit(&p->calls, 1, memory_order_relaxed);
	struct errno_family fam = family(p);
	int err = 0;
	if (r.replay) {
		if (!replay_lookup(fl_replay_key(p->name_hash, actor_hash, n),
				   &err))
			return 0;
	} else {
		/* A sweep's rule chooses its call by site, not by number. */
		if (!r.sweep && r.has_nth && !nth_contains(&r, n))
			return 0;
		if (r.actors[0] && !glob_match(r.actors, actor)) {
			uint64_t g = atomic_load_explicit(&names_gen,
							  memory_order_acquire);
			if (thread_name_gen != g) {
				prctl(PR_GET_NAME, thread_name);
				thread_name[sizeof thread_name - 1] = '\0';
				thread_name_gen = g;
			}
			if (!glob_match(r.actors, thread_name))
				return 0;
		}
		uint64_t h = fl_decision_hash(agent_seed, p->name_hash,
					      actor_hash, n);
		if (r.sweep) {
			if (!sweep_decide(p, slot, &r))
				return 0;
		} else {
			if (!r.always && h >= r.threshold)
				return 0;
			if (r.onetime && !claim_onetime(p, ref))
				return 0;
		}
		err = r.err ? r.err
			    : fam.v[fl_mix64(h ^ 0x5bd1e995) % (uint64_t)fam.n];
	}
	if (err <= 0)
		err = fam.v[0];
	atomic_fetch_add_explicit(&p->fired, 1, memory_order_relaxed);
	journal_write(FL_JREC_FAULT, slot, n, err);
	/* After the journal: a signal handler that ran while the record
	 * waited for room may have failed a call of its own. */
	failinfo = err;
	return r.failnum > 0 ? r.failnum : 1;
}

/* libfiu's wrappers, the target's own points and the runtime (lib/flrt)
 * all ask here. It must not allocate or lock; it blocks only when the
 * journal is full, until the harness drains it (bounded). */
int fiu_fail(const char *name)
{
	if (!atomic_load_explicit(&active, memory_order_acquire))
		return real_fiu_fail ? real_fiu_fail(name) : 0;
	if (in_agent || !name)
		return 0;
	in_agent = 1;
	int r = decide(name);
	in_agent = 0;
	return r;
}

void *fiu_failinfo(void)
{
	if (!atomic_load_explicit(&active, memory_order_acquire))
		return real_fiu_failinfo ? real_fiu_failinfo() : NULL;
	return (void *)failinfo;
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

/* close() in front of libfiu's: decides as its point "posix/io/oc/close"
 * and, on an injected failure, still releases the fd unless the scenario
 * asked for libfiu's behaviour. */
int close(int fd)
{
	if (in_close_wrapper || in_agent)
		return raw_close(fd);
	if (fd >= 0 && fd == kept_fd) {
		/* A target closing every fd it does not know (a daemon's
		 * closefrom loop) must not take the region from the programs
		 * it executes. */
		return 0;
	}
	in_close_wrapper++;
	int fail = fiu_fail("posix/io/oc/close");
	if (fail) {
		int err = (int)(intptr_t)fiu_failinfo();
		if (err <= 0)
			err = EIO;
		if (!shm.hdr ||
		    atomic_load(&shm.hdr->close_mode) == FL_CLOSE_LINUX) {
			fl_sites_fd_closed(fd);
			raw_close(fd);
		}
		in_close_wrapper--;
		errno = err;
		return -1;
	}
	in_close_wrapper--;
	fl_sites_fd_closed(fd);
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

/* ------------------------------------------------------------------ */
/* The footprint: pages made resident once, and their size              */
/* ------------------------------------------------------------------ */

/* Page ranges of the agent's and libfiu's preload's own segments, found
 * once in the constructor and populated again in each forked child. */
struct range {
	uintptr_t start;
	size_t len;
	int write;
};
#define MAX_RANGES 24
static struct range ranges[MAX_RANGES];
static int nranges;
static uint64_t footprint_bytes;
static uint64_t footprint_tls;
static long page_size = 4096;

/* Makes a range resident and mapped in this process. Kernels before 5.14
 * have no MADV_POPULATE_*: then every page is touched (a write is an
 * atomic add of 0, harmless to other processes writing the region). */
static int populate(uintptr_t start, size_t len, int write)
{
	if (len == 0)
		return 0;
	if (syscall(SYS_madvise, start, len,
		    write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	for (uintptr_t a = start; a < start + len; a += (uintptr_t)page_size) {
		if (write)
			atomic_fetch_add((_Atomic unsigned char *)a, 0);
		else
			(void)*(volatile const unsigned char *)a;
	}
	return 0;
}

static void add_range(uintptr_t start, uintptr_t end, int write)
{
	if (end > start && nranges < MAX_RANGES)
		ranges[nranges++] = (struct range){start, end - start, write};
}

static int collect_object(struct dl_phdr_info *info, size_t size, void *self)
{
	(void)size;
	int ours = (void *)info->dlpi_addr == self ||
		   (info->dlpi_name && strstr(info->dlpi_name, "fiu_posix_preload"));
	if (!ours)
		return 0;
	uintptr_t pg = (uintptr_t)page_size;
	uintptr_t relro_start = 0, relro_end = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO) {
			relro_start = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
			relro_end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) &
				    ~(pg - 1);
		}
		if (ph->p_type == PT_TLS)
			footprint_tls += ph->p_memsz;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
		uintptr_t e = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz +
			       pg - 1) & ~(pg - 1);
		if (!(ph->p_flags & PF_W)) {
			add_range(s, e, 0);
			continue;
		}
		/* The part made read-only after relocation stays read. */
		uintptr_t rs = relro_start > s ? relro_start : s;
		uintptr_t re = relro_end < e ? relro_end : e;
		if (re > rs) {
			add_range(s, rs, 1);
			add_range(rs, re, 0);
			add_range(re, e, 1);
		} else {
			add_range(s, e, 1);
		}
	}
	return 0;
}

/* Makes the region's control part (or all of it) and the recorded ranges
 * resident; returns the bytes that now are because of the agent. The
 * region's pages all exist (the harness made them), so mapping them for
 * reading is enough to count them, and three times cheaper than for
 * writing: a later write only makes the mapping writable. */
static uint64_t populate_all(int with_records)
{
	uint64_t bytes = 0;
	size_t control = shm.hdr->off_records;
	if (populate((uintptr_t)region, with_records ? region_size : control,
		     0) == 0)
		bytes += with_records ? region_size : control;
	for (int i = 0; i < nranges; i++)
		if (populate(ranges[i].start, ranges[i].len, ranges[i].write) == 0)
			bytes += ranges[i].len;
	atomic_store(&records_mapped, with_records);
	return bytes;
}

/* Before the first record this process writes (a fault in the journal,
 * a call site): the records and the site tables after them become
 * resident at once and its registration says so right after, so its
 * footprint never rises a page at a time with the faults it fires. */
static void map_records(void)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&records_mapped, &expected, 1))
		return;
	size_t control = shm.hdr->off_records;
	if (populate((uintptr_t)region + control, region_size - control, 0) < 0)
		return;
	footprint_bytes += region_size - control;
	if (my_proc)
		__atomic_store_n(&my_proc->bytes, footprint_bytes,
				 __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ */
/* The process table                                                    */
/* ------------------------------------------------------------------ */

/* Reads a small /proc file with raw system calls (libfiu must neither
 * see nor count them). */
static ssize_t read_proc(const char *path, char *buf, size_t len)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = syscall(SYS_read, (int)fd, buf, len - 1);
	syscall(SYS_close, (int)fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Field 22 of /proc/self/stat: the start time, which with the pid names
 * a process for good (a reused pid has another). */
static uint64_t self_start_ticks(void)
{
	char buf[1024];
	if (read_proc("/proc/self/stat", buf, sizeof buf) < 0)
		return 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* After the name: field 3 is the state, 22 the start time. */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static fl_shm_proc *claim_proc(void)
{
	for (int i = 0; i < FL_MAX_PROCS; i++) {
		uint32_t free_state = FL_PROC_FREE;
		if (atomic_compare_exchange_strong(&shm.procs[i].state,
						   &free_state, FL_PROC_CLAIMED))
			return &shm.procs[i];
	}
	atomic_fetch_add(&shm.hdr->procs_lost, 1);
	return NULL;
}

static fl_shm_proc *find_proc(pid_t pid, uint64_t start_ticks)
{
	fl_shm_proc *best = NULL;
	for (int i = 0; i < FL_MAX_PROCS; i++) {
		fl_shm_proc *e = &shm.procs[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) !=
			    FL_PROC_LIVE ||
		    e->pid != pid)
			continue;
		if (start_ticks && e->start_ticks != start_ticks)
			continue;
		if (!best || e->t_ns > best->t_ns)
			best = e;
	}
	return best;
}

/* Registers this process (forked: from the atfork child handler, with the
 * actor already set; otherwise from the constructor of a new image) and
 * names its main thread. */
static void register_process(int forked, const char *parent_exe)
{
	uint64_t ticks = self_start_ticks();
	pid_t ppid = (pid_t)syscall(SYS_getppid);
	fl_shm_proc *e = NULL;
	char name[FL_ACTOR_MAX];
	if (forked) {
		snprintf(name, sizeof name, "%s", actor);
	} else if ((e = find_proc(my_pid, ticks)) != NULL) {
		/* A program this process executed, the agent inherited. */
		snprintf(name, sizeof name, "%s", e->actor);
		e->images++;
	} else {
		fl_shm_proc *parent = find_proc(ppid, 0);
		unsigned root = 0;
		if (parent)
			snprintf(name, sizeof name, "%ss%u", parent->actor,
				 atomic_fetch_add(&parent->spawns, 1) + 1);
		else if (atomic_compare_exchange_strong(&shm.hdr->root_claimed,
							&root, 1))
			snprintf(name, sizeof name, "0");
		else
			snprintf(name, sizeof name, "?%d", (int)my_pid);
	}
	if (!forked)
		set_actor(name);
	if (!e) {
		e = claim_proc();
		if (!e)
			return;
		e->pid = (int32_t)my_pid;
		e->ppid = (int32_t)ppid;
		e->images = 1;
		atomic_store(&e->spawns, 0);
		e->start_ticks = ticks;
		snprintf(e->actor, sizeof e->actor, "%s", name);
	}
	e->version = FL_AGENT_PROTO_VERSION;
	e->t_ns = now_ns();
	e->fds = kept_fd >= 0 ? 1 : 0;
	e->fd = kept_fd;
	e->threads = 0;
	e->bytes = footprint_bytes;
	e->tls_bytes = footprint_tls;
	e->map_start = (uint64_t)(uintptr_t)region;
	e->map_end = (uint64_t)(uintptr_t)region + region_size;
	if (parent_exe) {
		snprintf(e->exe, sizeof e->exe, "%s", parent_exe);
	} else {
		long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe",
				 e->exe, sizeof e->exe - 1);
		e->exe[n > 0 ? n : 0] = '\0';
	}
	atomic_store_explicit(&e->state, FL_PROC_LIVE, memory_order_release);
	my_proc = e;
}

/* A forked child continues the forking thread's actor on a branch of its
 * own, with its counts from zero and its forks counted from 1 again. */
static void atfork_prepare(void)
{
	ensure_actor();
	snprintf(fork_child_actor, sizeof fork_child_actor, "%sf%u", actor,
		 ++forks);
}

static void atfork_child(void)
{
	in_agent++;
	int parent_pid = my_pid;
	const char *parent_exe = my_proc ? my_proc->exe : NULL;
	char exe[FL_PROC_EXE_MAX];
	if (parent_exe)
		snprintf(exe, sizeof exe, "%s", parent_exe);
	my_pid = (pid_t)syscall(SYS_getpid);
	my_proc = NULL;
	set_actor(fork_child_actor);
	/* The child shares the parent's mappings, not their page tables:
	 * without this its footprint would grow as it touches them. */
	footprint_bytes = populate_all(0);
	register_process(1, parent_exe ? exe : NULL);
	if (atomic_load(&active))
		fl_sites_forked(parent_pid);
	in_agent--;
}

/* ------------------------------------------------------------------ */
/* Start                                                                */
/* ------------------------------------------------------------------ */

/* Drops the agent and libfiu from LD_PRELOAD, and our variable, so that
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
	unsetenv(FL_ENV_SHM_FD);
}

static int map_region(int fd)
{
	struct stat st;
	if (syscall(SYS_fstat, fd, &st) < 0 || st.st_size < (off_t)sizeof(fl_shm_hdr))
		return -1;
	void *m = (void *)syscall(SYS_mmap, NULL, (size_t)st.st_size,
				  PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	fl_shm_view v;
	if (fl_shm_view_of(m, (size_t)st.st_size, &v) < 0) {
		syscall(SYS_munmap, m, (size_t)st.st_size);
		return -1;
	}
	region = m;
	region_size = (size_t)st.st_size;
	shm = v;
	return 0;
}

__attribute__((constructor)) static void agent_init(void)
{
	in_agent++;
	resolve_libc_close();
	real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	real_fiu_fail = (int (*)(const char *))dlsym(RTLD_NEXT, "fiu_fail");
	real_fiu_failinfo = (void *(*)(void))dlsym(RTLD_NEXT, "fiu_failinfo");
	my_pid = (pid_t)syscall(SYS_getpid);
	const char *fdenv = getenv(FL_ENV_SHM_FD);
	int fd = fdenv ? atoi(fdenv) : -1;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0 || map_region(fd) < 0) {
		/* Not started by faultline: stay inert. */
		in_agent--;
		return;
	}
	long ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		page_size = ps;
	agent_seed = shm.hdr->seed;
	if (shm.hdr->inherit) {
		kept_fd = fd;
	} else {
		strip_environment();
		/* The mapping keeps the memory: the fd would only be one more
		 * in the target's table. */
		raw_close(fd);
	}
	Dl_info self;
	if (dladdr((void *)agent_init, &self) && self.dli_fbase)
		dl_iterate_phdr(collect_object, self.dli_fbase);
	footprint_bytes = populate_all(1);
	fl_sites_init(&shm);
	pthread_atfork(atfork_prepare, NULL, atfork_child);
	ensure_actor();
	register_process(0, NULL);
	atomic_store_explicit(&active, 1, memory_order_release);
	in_agent--;
}

/* ------------------------------------------------------------------ */
/* For the agent's other files (lib/agent_internal.h)                   */
/* ------------------------------------------------------------------ */

const fl_shm_view *fl_agent_view(void)
{
	return atomic_load_explicit(&active, memory_order_acquire) ? &shm : NULL;
}

void fl_agent_who(const char **name, uint64_t *hash)
{
	ensure_actor();
	*name = actor;
	*hash = actor_hash;
}

int fl_agent_pid(void)
{
	return (int)my_pid;
}

void *fl_agent_next(_Atomic(void *) *slot, const char *name)
{
	void *f = atomic_load_explicit(slot, memory_order_acquire);
	if (!f) {
		int saved = errno;
		f = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, f, memory_order_release);
		errno = saved;
	}
	return f;
}

void fl_agent_map_tail(void)
{
	if (!atomic_load_explicit(&records_mapped, memory_order_relaxed))
		map_records();
}
