/* Call sites, inside the target: the calling context of a call, the site
 * table in the shared region, the site that created each fd, and where a
 * process crashed. Used only when the harness asks (the region's
 * site_flags): a sweep, or a target with origins = true.
 *
 * A site is the first return addresses of the target's call, as (module,
 * offset) pairs: the same code gives the same site in every run, whatever
 * the load addresses. Frames in the agent and in libfiu's preload (the
 * wrapper the call went through) are never part of it.
 *
 * Unwinding. Debian's binaries have no frame pointers, so the frames come
 * from the unwind tables every x86-64 object carries (.eh_frame), read by
 * libgcc's _Unwind_Backtrace, which finds each frame's table through
 * glibc's _dl_find_object: no lock, no allocation, usable from a signal
 * handler and while malloc fails. glibc's backtrace() is the same
 * unwinder behind a dlopen (which allocates on first use) and walks the
 * whole depth it is given; libunwind would be one more library in every
 * target. `make bench` measures the three (docs/sweep.md has the
 * figures). The walk stops after FL_SITE_FRAMES frames of the target.
 *
 * Modules. A frame's module and load bias come from _dl_find_object; the
 * module's path goes into the region's module table once, and each
 * process keeps a small cache from the loader's link map to that entry,
 * so a recorded call costs a table lookup per frame, not a path hash. */
#define _GNU_SOURCE
#include "agent_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

/* The code that is never a site: the agent's and libfiu's. */
#define MAX_OWN 4
static uintptr_t own_lo[MAX_OWN], own_hi[MAX_OWN];
static int nown;
/* The main program's path (its link map has no name). */
static char exe_path[FL_MODULE_PATH_MAX];
/* Frames walked at most, own frames included: a bound on a corrupt or
 * very deep stack. */
#define MAX_STEPS 64

static int is_own(uintptr_t pc)
{
	for (int i = 0; i < nown; i++)
		if (pc >= own_lo[i] && pc < own_hi[i])
			return 1;
	return 0;
}

static int collect_own(struct dl_phdr_info *info, size_t size, void *self)
{
	(void)size;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	int ours = (void *)info->dlpi_addr == self ||
		   strstr(name, "fiu_posix_preload") ||
		   strstr(name, "/libfiu.so");
	if (!ours || nown == MAX_OWN)
		return 0;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		uintptr_t e = s + ph->p_memsz;
		if (s < lo)
			lo = s;
		if (e > hi)
			hi = e;
	}
	if (hi > lo) {
		own_lo[nown] = lo;
		own_hi[nown] = hi;
		nown++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Modules                                                              */
/* ------------------------------------------------------------------ */

/* Per process: link map -> module table entry. Claimed with a state
 * word, so a reader never sees a half-filled entry; two threads may add
 * the same module twice, which only costs a slot. */
#define MODCACHE 64
struct modcache {
	_Atomic int state;	/* 0 free, 1 filling, 2 ready */
	const void *map;
	uint16_t index;
	uint64_t hash;
};
static struct modcache modcache[MODCACHE];

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The module table entry of a path, added if new. */
static uint16_t module_entry(const fl_shm_view *v, const char *path,
			     uint64_t hash)
{
	uint32_t n = atomic_load(&v->hdr->nmodules);
	if (n > FL_MAX_MODULES)
		n = FL_MAX_MODULES;
	for (uint32_t i = 0; i < n; i++) {
		fl_shm_module *m = &v->modules[i];
		if (atomic_load_explicit(&m->state, memory_order_acquire) ==
			    FL_POINT_READY &&
		    m->name_hash == hash &&
		    strncmp(m->path, path, sizeof m->path - 1) == 0)
			return (uint16_t)i;
	}
	do {
		if (n >= FL_MAX_MODULES) {
			atomic_fetch_add(&v->hdr->modules_lost, 1);
			return FL_MODULE_NONE;
		}
	} while (!atomic_compare_exchange_weak(&v->hdr->nmodules, &n, n + 1));
	fl_shm_module *m = &v->modules[n];
	atomic_store_explicit(&m->state, FL_POINT_FILLING, memory_order_relaxed);
	m->name_hash = hash;
	size_t len = strlen(path);
	if (len >= sizeof m->path)
		len = sizeof m->path - 1;
	memcpy(m->path, path, len);
	m->path[len] = '\0';
	atomic_store_explicit(&m->state, FL_POINT_READY, memory_order_release);
	return (uint16_t)n;
}

/* The module, its name's hash and the offset of pc in it (the address
 * the module's own symbols and line tables use). */
static void module_of(const fl_shm_view *v, uintptr_t pc, uint16_t *index,
		      uint64_t *hash, uint64_t *offset)
{
	struct dl_find_object r;
	if (_dl_find_object((void *)pc, &r) != 0 || !r.dlfo_link_map) {
		/* Code no loader mapped (generated at run time): only its
		 * address, which is not stable from run to run. */
		*index = FL_MODULE_NONE;
		*hash = 0;
		*offset = pc;
		return;
	}
	const struct link_map *lm = r.dlfo_link_map;
	*offset = pc - lm->l_addr;
	for (int i = 0; i < MODCACHE; i++) {
		struct modcache *c = &modcache[i];
		if (atomic_load_explicit(&c->state, memory_order_acquire) == 2 &&
		    c->map == lm) {
			*index = c->index;
			*hash = c->hash;
			return;
		}
	}
	const char *path = lm->l_name && lm->l_name[0] ? lm->l_name : exe_path;
	*hash = fl_hash_str(base_name(path));
	*index = module_entry(v, path, *hash);
	for (int i = 0; i < MODCACHE; i++) {
		int free_slot = 0;
		if (atomic_compare_exchange_strong(&modcache[i].state,
						   &free_slot, 1)) {
			modcache[i].map = lm;
			modcache[i].index = *index;
			modcache[i].hash = *hash;
			atomic_store_explicit(&modcache[i].state, 2,
					      memory_order_release);
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Unwinding                                                            */
/* ------------------------------------------------------------------ */

struct walk {
	const fl_shm_view *v;
	fl_frames *f;
	uintptr_t want;		/* a crash: skip to this instruction */
	int max;		/* frames wanted */
	int leading;		/* still in the agent's or libfiu's frames */
	int steps;
};

static _Unwind_Reason_Code walk_step(struct _Unwind_Context *c, void *arg)
{
	struct walk *w = arg;
	if (++w->steps > MAX_STEPS)
		return _URC_END_OF_STACK;
	int before = 0;
	uintptr_t ip = (uintptr_t)_Unwind_GetIPInfo(c, &before);
	if (!ip)
		return _URC_END_OF_STACK;
	if (w->want) {
		/* The handler's frames and the signal trampoline come first;
		 * the interrupted frame's ip is the faulting instruction. */
		if (ip != w->want)
			return _URC_NO_REASON;
		w->want = 0;
		w->leading = 0;
		/* Stored as if it were a return address (one past the
		 * instruction), so every frame resolves at offset - 1. */
		ip++;
	} else if (w->leading) {
		if (is_own(ip))
			return _URC_NO_REASON;
		w->leading = 0;
	}
	fl_frames *f = w->f;
	module_of(w->v, ip, &f->module[f->n], &f->module_hash[f->n],
		  &f->offset[f->n]);
	f->n++;
	return f->n >= w->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

void fl_sites_capture(const fl_shm_view *v, fl_frames *f, int max)
{
	f->n = 0;
	if (max > FL_SITE_FRAMES || max < 1)
		max = FL_SITE_FRAMES;
	/* (A crash walks up to FL_CRASH_FRAMES: crash_handler.) */
	struct walk w = {.v = v, .f = f, .leading = 1, .max = max};
	_Unwind_Backtrace(walk_step, &w);
}

uint64_t fl_sites_stack(const fl_frames *f, int depth)
{
	if (depth > f->n)
		depth = f->n;
	return fl_stack_hash(f->module_hash, f->offset, depth);
}

/* ------------------------------------------------------------------ */
/* The site table                                                       */
/* ------------------------------------------------------------------ */

int fl_sites_record(const fl_shm_view *v, uint64_t key, uint64_t stack,
		    const fl_frames *f, int point, const char *what,
		    uint32_t flags)
{
	if (!v->sites)
		return -1;
	fl_agent_map_tail();
	const char *actor;
	uint64_t actor_hash;
	fl_agent_who(&actor, &actor_hash);
	uint32_t mask = v->hdr->site_cap - 1;
	for (uint32_t i = 0; i <= mask; i++) {
		uint32_t idx = (uint32_t)(key + i) & mask;
		fl_shm_site *e = &v->sites[idx];
		uint64_t k = atomic_load_explicit(&e->key, memory_order_acquire);
		if (k == 0) {
			if (atomic_compare_exchange_strong(&e->key, &k, key)) {
				atomic_store_explicit(&e->state, FL_POINT_FILLING,
						      memory_order_relaxed);
				e->stack = stack;
				e->actor_hash = actor_hash;
				size_t an = strnlen(actor, FL_ACTOR_MAX - 1);
				memcpy(e->actor, actor, an);
				e->actor[an] = '\0';
				e->point = point;
				size_t wn = what ? strnlen(what, sizeof e->what - 1)
						 : 0;
				if (wn)
					memcpy(e->what, what, wn);
				e->what[wn] = '\0';
				e->nframes = (uint32_t)f->n;
				for (int j = 0; j < f->n; j++) {
					e->module[j] = f->module[j];
					e->offset[j] = f->offset[j];
				}
				atomic_fetch_or(&e->flags, flags);
				atomic_fetch_add(&e->calls, 1);
				atomic_fetch_add(&e->actor_calls, 1);
				atomic_store_explicit(&e->state, FL_POINT_READY,
						      memory_order_release);
				return (int)idx;
			}
			/* Lost the race: k is now the winner's key. */
		}
		if (k == key) {
			if ((atomic_load_explicit(&e->flags, memory_order_relaxed) &
			     flags) != flags)
				atomic_fetch_or(&e->flags, flags);
			atomic_fetch_add_explicit(&e->calls, 1,
						  memory_order_relaxed);
			if (atomic_load_explicit(&e->state, memory_order_acquire) ==
				    FL_POINT_READY &&
			    e->actor_hash == actor_hash)
				atomic_fetch_add_explicit(&e->actor_calls, 1,
							  memory_order_relaxed);
			return (int)idx;
		}
	}
	atomic_fetch_add(&v->hdr->sites_lost, 1);
	return -1;
}

/* ------------------------------------------------------------------ */
/* fd origins                                                           */
/* ------------------------------------------------------------------ */

/* This process's table of origins, found or claimed once. */
static fl_shm_origins *my_origins;
static int my_origins_pid;

static fl_shm_origins *origins_of(const fl_shm_view *v, int pid, int create)
{
	if (my_origins && my_origins_pid == pid)
		return my_origins;
	for (int i = 0; i < FL_ORIGIN_PROCS; i++)
		if (atomic_load(&v->origins[i].pid) == pid) {
			my_origins = &v->origins[i];
			my_origins_pid = pid;
			return my_origins;
		}
	if (!create)
		return NULL;
	for (int i = 0; i < FL_ORIGIN_PROCS; i++) {
		int32_t none = 0;
		/* The harness empties a table before it frees it. */
		if (atomic_compare_exchange_strong(&v->origins[i].pid, &none, pid)) {
			my_origins = &v->origins[i];
			my_origins_pid = pid;
			return my_origins;
		}
	}
	return NULL;
}

static const fl_shm_view *origins_view(void)
{
	const fl_shm_view *v = fl_agent_view();
	if (!v || !v->origins ||
	    !(atomic_load_explicit(&v->hdr->site_flags, memory_order_relaxed) &
	      FL_SITES_ORIGINS))
		return NULL;
	return v;
}

void fl_sites_fd_created(int fd, const char *what)
{
	const fl_shm_view *v = origins_view();
	if (!v || fd < 0)
		return;
	fl_agent_map_tail();
	fl_shm_origins *o = origins_of(v, fl_agent_pid(), 1);
	if (!o || fd >= FL_ORIGIN_FDS) {
		atomic_fetch_add(&v->hdr->origins_lost, 1);
		return;
	}
	fl_frames f;
	fl_sites_capture(v, &f, FL_SITE_FRAMES);
	uint64_t stack = fl_sites_stack(&f, (int)v->hdr->site_depth);
	int idx = fl_sites_record(v, fl_site_key(FL_ORIGIN_TAG, stack), stack,
				  &f, -1, what, FL_SITE_ORIGIN);
	atomic_store_explicit(&o->site[fd], idx >= 0 ? (uint32_t)idx + 1 : 0,
			      memory_order_release);
}

void fl_sites_fd_closed(int fd)
{
	const fl_shm_view *v = origins_view();
	if (!v || fd < 0 || fd >= FL_ORIGIN_FDS)
		return;
	fl_shm_origins *o = origins_of(v, fl_agent_pid(), 0);
	if (o)
		atomic_store_explicit(&o->site[fd], 0, memory_order_relaxed);
}

void fl_sites_forked(int parent_pid)
{
	const fl_shm_view *v = origins_view();
	if (!v)
		return;
	fl_shm_origins *parent = NULL;
	for (int i = 0; i < FL_ORIGIN_PROCS && !parent; i++)
		if (atomic_load(&v->origins[i].pid) == parent_pid)
			parent = &v->origins[i];
	my_origins = NULL;
	if (!parent)
		return;
	fl_shm_origins *mine = origins_of(v, fl_agent_pid(), 1);
	if (!mine) {
		atomic_fetch_add(&v->hdr->origins_lost, 1);
		return;
	}
	/* The child holds its parent's fds: their origins too. */
	for (int fd = 0; fd < FL_ORIGIN_FDS; fd++) {
		uint32_t s = atomic_load_explicit(&parent->site[fd],
						  memory_order_relaxed);
		if (s)
			atomic_store_explicit(&mine->site[fd], s,
					      memory_order_relaxed);
	}
}

/* ------------------------------------------------------------------ */
/* Crashes                                                              */
/* ------------------------------------------------------------------ */

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

static uintptr_t context_pc(const void *uc_)
{
	const ucontext_t *uc = uc_;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	(void)uc;
	return 0;
#endif
}

/* Records where the signal was raised, then lets it do what it would
 * have done: the handler was installed with SA_RESETHAND, so a faulting
 * instruction faults again under the default action when the handler
 * returns, and a signal sent by kill or raise is raised again. Only
 * async-signal-safe calls. */
static void crash_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	const fl_shm_view *v = fl_agent_view();
	if (v && v->crashes) {
		fl_agent_map_tail();
		uint32_t n = atomic_fetch_add(&v->hdr->ncrashes, 1);
		if (n < FL_MAX_CRASHES) {
			fl_shm_crash *c = &v->crashes[n];
			atomic_store(&c->state, FL_POINT_FILLING);
			c->pid = fl_agent_pid();
			c->sig = sig;
			c->code = si ? si->si_code : 0;
			c->addr = si ? (uint64_t)(uintptr_t)si->si_addr : 0;
			const char *actor;
			uint64_t actor_hash;
			fl_agent_who(&actor, &actor_hash);
			size_t an = strnlen(actor, FL_ACTOR_MAX - 1);
			memcpy(c->actor, actor, an);
			c->actor[an] = '\0';
			fl_frames f;
			f.n = 0;
			struct walk w = {.v = v,
					 .f = &f,
					 .want = context_pc(uc),
					 .max = FL_CRASH_FRAMES};
			w.leading = w.want == 0;
			_Unwind_Backtrace(walk_step, &w);
			c->nframes = (uint32_t)f.n;
			/* fl_sites_record copies at most FL_SITE_FRAMES; a
			 * crash keeps them all. */
			for (int i = 0; i < f.n; i++) {
				c->module[i] = f.module[i];
				c->offset[i] = f.offset[i];
			}
			atomic_store_explicit(&c->state, FL_POINT_READY,
					      memory_order_release);
		}
	}
	errno = saved;
	if (!si || si->si_code <= 0)
		raise(sig);
}

static void install_crash_handler(void)
{
	for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0];
	     i++) {
		struct sigaction old, sa;
		if (sigaction(crash_signals[i], NULL, &old) < 0)
			continue;
		/* A disposition the program inherited (ignored, or a
		 * handler) stays as it is. */
		if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL)
			continue;
		if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = crash_handler;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		sigaction(crash_signals[i], &sa, NULL);
	}
}

/* ------------------------------------------------------------------ */

static _Unwind_Reason_Code warm_step(struct _Unwind_Context *c, void *arg)
{
	(void)c;
	(void)arg;
	return _URC_END_OF_STACK;
}

void fl_sites_init(const fl_shm_view *v)
{
	nown = 0;
	Dl_info self;
	if (dladdr((void *)fl_sites_init, &self) && self.dli_fbase)
		dl_iterate_phdr(collect_own, self.dli_fbase);
	long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe_path,
			 sizeof exe_path - 1);
	exe_path[n > 0 ? n : 0] = '\0';
	for (int i = 0; i < MODCACHE; i++)
		atomic_store(&modcache[i].state, 0);
	my_origins = NULL;
	if (!v->sites)
		return;
	/* The unwinder's first use may initialise itself: here, not in a
	 * call where malloc fails or in a signal handler. */
	_Unwind_Backtrace(warm_step, NULL);
	if (atomic_load(&v->hdr->site_flags) & FL_SITES_CRASHES)
		install_crash_handler();
}
