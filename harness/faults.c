/* Fault control through the shared region (lib/agent_proto.h): rules,
 * points, replay sets and close mode written here, counts and process
 * registrations read back. The scenario thread is the only writer on the
 * harness's side; the monitor thread only reads the region
 * (fl_faults_footprint, which keeps its own small cache in atomics). */
#define _GNU_SOURCE
#include "faults.h"

#include "journal.h"

#include "../lib/agent_proto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int view(const fl_faults *f, fl_shm_view *v)
{
	if (!f->shm)
		return -1;
	return fl_shm_view_of(f->shm, f->shm_size, v);
}

int fl_faults_create(fl_faults *f, uint64_t seed, const char *close_mode,
		     int inherit, size_t replay_records, unsigned site_flags,
		     int site_depth)
{
	memset(f, 0, sizeof *f);
	f->shm_fd = -1;
	f->inherit = inherit;
	f->next_version = 1;
	snprintf(f->close_mode, sizeof f->close_mode, "%s",
		 close_mode && *close_mode ? close_mode : "linux");
	fl_shm_hdr layout;
	memset(&layout, 0, sizeof layout);
	uint32_t jcap = fl_journal_capacity();
	size_t size =
		fl_shm_layout(&layout, replay_records, site_flags != 0, jcap);
	int fd = memfd_create("faultline", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	fl_shm_hdr *h = m;
	*h = layout;
	h->version = FL_AGENT_PROTO_VERSION;
	h->seed = seed;
	h->inherit = inherit ? 1 : 0;
	atomic_store(&h->close_mode, strcmp(f->close_mode, "libfiu") == 0
					     ? FL_CLOSE_LIBFIU
					     : FL_CLOSE_LINUX);
	fl_journal_hdr *j = (fl_journal_hdr *)((char *)m + h->off_journal);
	fl_journal_init_region(j, jcap);
	h->site_depth = site_depth > 0 && site_depth <= FL_SITE_FRAMES
				? (uint32_t)site_depth
				: FL_SITE_DEPTH_DEFAULT;
	atomic_store(&h->site_flags, site_flags);
	fl_shm_rule *rules = (fl_shm_rule *)((char *)m + h->off_rules);
	for (int i = 0; i < FL_MAX_RULES; i++)
		atomic_store(&rules[i].version, 1); /* odd: free */
	/* The magic goes last: an agent never maps a half-made region. */
	atomic_thread_fence(memory_order_release);
	h->magic = FL_SHM_MAGIC;
	f->shm = m;
	f->shm_size = size;
	f->shm_fd = fd;
	return 0;
}

void fl_faults_populate(fl_faults *f)
{
	if (!f->shm)
		return;
	/* A kernel without MADV_POPULATE_WRITE (< 5.14): a write to each
	 * page, an atomic add of 0, harmless to a process that already
	 * writes there. */
	if (madvise(f->shm, f->shm_size, MADV_POPULATE_WRITE) == 0)
		return;
	long ps = sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < f->shm_size; off += (size_t)(ps > 0 ? ps : 4096))
		atomic_fetch_add((_Atomic unsigned char *)f->shm + off, 0);
}

int fl_faults_fd(const fl_faults *f)
{
	return f->shm_fd;
}

void fl_faults_spawned(fl_faults *f, pid_t pid)
{
	f->target_fd = f->shm_fd;
	if (f->shm_fd >= 0)
		close(f->shm_fd);
	f->shm_fd = -1;
	f->root = pid;
}

void fl_faults_close(fl_faults *f)
{
	if (f->shm_fd >= 0)
		close(f->shm_fd);
	f->shm_fd = -1;
}

void fl_faults_free(fl_faults *f)
{
	fl_faults_close(f);
	if (f->shm)
		munmap(f->shm, f->shm_size);
	f->shm = NULL;
	f->shm_size = 0;
	free(f->seen);
	f->seen = NULL;
	f->nseen = 0;
}

void fl_faults_set_slots(fl_faults *f, char *const *names, int n)
{
	fl_shm_view v;
	if (view(f, &v) < 0)
		return;
	for (int i = 0; i < n; i++)
		fl_shm_point_get(&v, names[i], 1, NULL);
}

const char *fl_faults_slot_name(const fl_faults *f, int slot)
{
	fl_shm_view v;
	if (slot < 0 || slot >= FL_MAX_POINTS || view(f, &v) < 0)
		return NULL;
	uint32_t st = atomic_load(&v.points[slot].state);
	return st == FL_POINT_READY || st == FL_POINT_DEAD ? v.points[slot].name
							     : NULL;
}

void fl_faults_set_sweep(fl_faults *f, int mode, uint64_t site_key,
			 const char *actor, uint64_t nth)
{
	f->sweep = mode;
	f->site_key = site_key;
	f->site_actor = actor && *actor ? fl_hash_str(actor) : 0;
	f->site_nth = nth ? nth : 1;
}

/* ------------------------------------------------------------------ */
/* Rules                                                                */
/* ------------------------------------------------------------------ */

/* Is ref the current, valid reference of its slot? */
static int ref_valid(const fl_shm_view *v, uint64_t ref)
{
	uint32_t slot = FL_RULE_SLOT(ref);
	return ref && slot < FL_MAX_RULES &&
	       atomic_load(&v->rules[slot].version) == FL_RULE_VERSION(ref);
}

/* Rule slots nobody refers to any more (no point, pattern or armed
 * entry) become free: their version turns odd, so a thread still holding
 * an old reference sees it is stale. */
static void free_unused_rules(const fl_shm_view *v)
{
	int used[FL_MAX_RULES];
	memset(used, 0, sizeof used);
	uint32_t np = atomic_load(&v->hdr->npoints);
	if (np > FL_MAX_POINTS)
		np = FL_MAX_POINTS;
	for (uint32_t i = 0; i < np; i++) {
		uint64_t ref = atomic_load(&v->points[i].rule);
		if (ref_valid(v, ref))
			used[FL_RULE_SLOT(ref)] = 1;
	}
	for (int i = 0; i < FL_MAX_PATTERNS; i++) {
		uint64_t ref = atomic_load(&v->patterns[i].rule);
		if (ref_valid(v, ref))
			used[FL_RULE_SLOT(ref)] = 1;
	}
	for (int i = 0; i < FL_MAX_RULES; i++) {
		uint64_t ver = atomic_load(&v->rules[i].version);
		if (!(ver & 1) && !used[i])
			atomic_store(&v->rules[i].version, ver + 1);
	}
	/* Armed entries of freed rules go, and each point's count of the
	 * armed windows waiting on its calls is recomputed. */
	uint32_t triggers[FL_MAX_POINTS];
	memset(triggers, 0, sizeof triggers);
	for (int i = 0; i < FL_MAX_ARMED; i++) {
		uint32_t a = atomic_load(&v->hdr->armed[i]);
		if (!a)
			continue;
		fl_shm_rule *r = &v->rules[a - 1];
		if (atomic_load(&r->version) & 1) {
			atomic_store(&v->hdr->armed[i], 0);
			continue;
		}
		int32_t t = r->body.trigger_slot;
		if (t >= 0 && t < FL_MAX_POINTS)
			triggers[t]++;
	}
	for (uint32_t i = 0; i < np; i++)
		atomic_store(&v->points[i].triggers, triggers[i]);
}

/* Writes a rule into a free slot and returns its reference, or 0. */
static uint64_t publish_rule(fl_faults *f, const fl_shm_view *v,
			     const fl_rule_body *body)
{
	for (int i = 0; i < FL_MAX_RULES; i++) {
		fl_shm_rule *r = &v->rules[i];
		uint64_t old = atomic_load(&r->version);
		if (!(old & 1))
			continue;
		/* Versions only grow (a freed slot is at its last version
		 * plus one), so no old reference ever becomes valid again. */
		uint64_t ver = ++f->next_version * 2;
		atomic_store(&r->version, ver - 1);
		atomic_thread_fence(memory_order_release);
		memcpy((void *)&r->body, body, sizeof *body);
		atomic_store(&r->trigger_count, (ver & 0xffffff) << 40);
		atomic_store(&r->opened, 0);
		atomic_store_explicit(&r->version, ver, memory_order_release);
		return FL_RULE_REF(i, ver);
	}
	return 0;
}

static int parse_nth(const char *spec, fl_rule_body *b)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", spec);
	for (char *p = buf; p && *p;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		while (*p == ' ' || *p == '+')
			p++;
		char *end;
		if (strncmp(p, "every", 5) == 0) {
			p += 5;
			while (*p == ' ' || *p == '+' || *p == '_')
				p++;
			unsigned long long k = strtoull(p, &end, 10);
			if (end == p || k == 0)
				return -1;
			b->every = k;
		} else {
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
			while (*end == ' ')
				end++;
			if (*end != '\0' || b->nranges == FL_NTH_MAX)
				return -1;
			b->lo[b->nranges] = lo;
			b->hi[b->nranges] = hi;
			b->nranges++;
		}
		p = comma ? comma + 1 : NULL;
	}
	b->has_nth = 1;
	return 0;
}

/* Points the rule for name covers: its own entry, or every entry a
 * "prefix*" name covers. */
static int covers(const char *pattern, size_t plen, int wild, const char *name)
{
	return wild ? strncmp(name, pattern, plen - 1) == 0
		    : strcmp(name, pattern) == 0;
}

/* The rule a window's spec asks for, into b: probability, errno, nth,
 * actors, the sweep's site, and the after= trigger (whose point is added
 * to the table here). 0, or -EINVAL with a sentence in err. */
static int rule_of_spec(const fl_faults *f, const fl_shm_view *v,
			const fl_fault_spec *spec, fl_rule_body *b, char *err,
			size_t errlen)
{
	memset(b, 0, sizeof *b);
	b->always = spec->p >= 1.0;
	b->threshold = spec->p >= 1.0 ? UINT64_MAX
				      : (uint64_t)(spec->p * 18446744073709551616.0);
	b->err = spec->err > 0 ? spec->err : 0;
	b->onetime = spec->onetime != 0;
	b->failnum = spec->failnum ? spec->failnum : 1;
	b->replay = spec->replay != 0;
	b->trigger_slot = -1;
	b->point = -1;
	if (spec->nth[0] && parse_nth(spec->nth, b) < 0) {
		snprintf(err, errlen,
			 "nth must be like 3, 5-9, every 4, or a comma list of "
			 "those");
		return -EINVAL;
	}
	snprintf(b->actors, sizeof b->actors, "%s", spec->actors);
	if (f->sweep && !spec->replay) {
		/* The window says when and on which points; the sweep says
		 * which call. */
		b->sweep = f->sweep;
		b->site_key = f->site_key;
		b->site_actor = f->site_actor;
		b->site_nth = f->site_nth;
		b->onetime = 0;
	}
	if (spec->after_point[0]) {
		int t = fl_shm_point_get(v, spec->after_point, 1, NULL);
		if (t < 0 || spec->after_n == 0) {
			snprintf(err, errlen, "bad after= trigger (%s)",
				 t < 0 ? "the point table is full"
				       : "calls must be at least 1");
			return -EINVAL;
		}
		b->trigger_slot = t;
		b->trigger_n = spec->after_n;
		b->trigger_actor = spec->after_actor[0]
					   ? fl_hash_str(spec->after_actor)
					   : 0;
	}
	return 0;
}

/* A free slot of the armed-trigger table, or -ENOSPC (err says so). */
static int free_armed_slot(const fl_shm_view *v, char *err, size_t errlen)
{
	int armed_at = -1;
	for (int i = 0; i < FL_MAX_ARMED && armed_at < 0; i++)
		if (!atomic_load(&v->hdr->armed[i]))
			armed_at = i;
	if (armed_at < 0) {
		snprintf(err, errlen, "too many armed windows at once (%d)",
			 FL_MAX_ARMED);
		return -ENOSPC;
	}
	return armed_at;
}

/* A free slot of the prefix-pattern table, or -ENOSPC (err says so). */
static int free_pattern_slot(const fl_shm_view *v, char *err, size_t errlen)
{
	int pat = -1;
	for (int i = 0; i < FL_MAX_PATTERNS && pat < 0; i++)
		if (!atomic_load(&v->patterns[i].rule))
			pat = i;
	if (pat < 0) {
		snprintf(err, errlen, "too many prefix windows at once (%d)",
			 FL_MAX_PATTERNS);
		return -ENOSPC;
	}
	return pat;
}

/* Points added later take the pattern name* (len counts the '*') when
 * they are added; those that exist now take the rule ref here. The
 * fence pairs with the agent's (see apply_patterns in lib/agent.c). */
static void install_pattern(const fl_shm_view *v, int pat, const char *name,
			    size_t len, uint64_t ref)
{
	snprintf(v->patterns[pat].prefix, sizeof v->patterns[pat].prefix,
		 "%.*s", (int)(len - 1), name);
	atomic_store(&v->patterns[pat].rule, ref);
	atomic_thread_fence(memory_order_seq_cst);
	uint32_t np = atomic_load(&v->hdr->npoints);
	if (np > FL_MAX_POINTS)
		np = FL_MAX_POINTS;
	for (uint32_t i = 0; i < np; i++) {
		fl_shm_point *p = &v->points[i];
		if (atomic_load(&p->state) != FL_POINT_READY ||
		    !covers(name, len, 1, p->name))
			continue;
		atomic_store(&p->onetime, 0);
		atomic_store_explicit(&p->rule, ref, memory_order_release);
	}
}

int fl_faults_enable(fl_faults *f, const fl_fault_spec *spec, char *err,
		     size_t errlen, int timeout_ms)
{
	(void)timeout_ms;
	fl_shm_view v;
	if (view(f, &v) < 0) {
		snprintf(err, errlen, "no fault region for this target");
		return -EBADF;
	}
	const char *name = spec->point;
	size_t len = strlen(name);
	if (!len || len >= FL_POINT_NAME_MAX) {
		snprintf(err, errlen, "a point name has 1 to %d characters",
			 FL_POINT_NAME_MAX - 1);
		return -EINVAL;
	}
	if (!(spec->p >= 0 && spec->p <= 1)) {
		snprintf(err, errlen, "p must be a number from 0 to 1");
		return -EINVAL;
	}
	fl_rule_body b;
	int rc = rule_of_spec(f, &v, spec, &b, err, errlen);
	if (rc < 0)
		return rc;
	int wild = name[len - 1] == '*';
	int slot = -1;
	if (!wild) {
		slot = fl_shm_point_get(&v, name, 1, NULL);
		if (slot < 0) {
			snprintf(err, errlen,
				 "the point table is full (%d points)",
				 FL_MAX_POINTS);
			return -ENOSPC;
		}
		b.point = slot;
	}
	int armed_at = -1;
	if (b.trigger_slot >= 0) {
		armed_at = free_armed_slot(&v, err, errlen);
		if (armed_at < 0)
			return armed_at;
	}
	int pat = -1;
	if (wild) {
		pat = free_pattern_slot(&v, err, errlen);
		if (pat < 0)
			return pat;
	}
	uint64_t ref = publish_rule(f, &v, &b);
	if (!ref) {
		snprintf(err, errlen, "too many fault windows at once (%d)",
			 FL_MAX_RULES);
		return -ENOSPC;
	}
	if (armed_at >= 0) {
		atomic_store(&v.hdr->armed[armed_at], FL_RULE_SLOT(ref) + 1);
		atomic_fetch_add(&v.points[b.trigger_slot].triggers, 1);
	}
	if (!wild) {
		atomic_store(&v.points[slot].onetime, 0);
		atomic_store_explicit(&v.points[slot].rule, ref,
				      memory_order_release);
	} else {
		install_pattern(&v, pat, name, len, ref);
	}
	free_unused_rules(&v);
	return 0;
}

int fl_faults_disable(fl_faults *f, const char *point, char *err,
		      size_t errlen, int timeout_ms)
{
	(void)timeout_ms;
	fl_shm_view v;
	if (view(f, &v) < 0) {
		snprintf(err, errlen, "no fault region for this target");
		return -EBADF;
	}
	if (!point)
		point = "*";
	size_t len = strlen(point);
	int all = strcmp(point, "*") == 0;
	int wild = len > 0 && point[len - 1] == '*';
	/* Patterns first, so no point added from now on takes one. */
	for (int i = 0; i < FL_MAX_PATTERNS; i++) {
		fl_shm_pattern *pat = &v.patterns[i];
		if (!atomic_load(&pat->rule))
			continue;
		if (all || (wild && strncmp(pat->prefix, point, len - 1) == 0))
			atomic_store(&pat->rule, 0);
	}
	atomic_thread_fence(memory_order_seq_cst);
	uint32_t np = atomic_load(&v.hdr->npoints);
	if (np > FL_MAX_POINTS)
		np = FL_MAX_POINTS;
	for (uint32_t i = 0; i < np; i++) {
		fl_shm_point *p = &v.points[i];
		uint32_t st = atomic_load(&p->state);
		if (st != FL_POINT_READY && st != FL_POINT_DEAD)
			continue;
		if (all || covers(point, len, wild, p->name))
			atomic_store_explicit(&p->rule, 0, memory_order_release);
	}
	free_unused_rules(&v);
	return 0;
}

int fl_faults_set_close(fl_faults *f, const char *mode, char *err,
			size_t errlen, int timeout_ms)
{
	(void)timeout_ms;
	fl_shm_view v;
	if (view(f, &v) < 0) {
		snprintf(err, errlen, "no fault region for this target");
		return -EBADF;
	}
	int m;
	if (strcmp(mode, "linux") == 0)
		m = FL_CLOSE_LINUX;
	else if (strcmp(mode, "libfiu") == 0)
		m = FL_CLOSE_LIBFIU;
	else {
		snprintf(err, errlen, "close must be linux or libfiu");
		return -EINVAL;
	}
	atomic_store(&v.hdr->close_mode, (uint32_t)m);
	snprintf(f->close_mode, sizeof f->close_mode, "%s", mode);
	return 0;
}

int fl_faults_stats(fl_faults *f, fl_point_stats **out, char *err,
		    size_t errlen, int timeout_ms)
{
	(void)timeout_ms;
	*out = NULL;
	fl_shm_view v;
	if (view(f, &v) < 0) {
		snprintf(err, errlen, "no fault region for this target");
		return -EBADF;
	}
	uint32_t np = atomic_load(&v.hdr->npoints);
	if (np > FL_MAX_POINTS)
		np = FL_MAX_POINTS;
	fl_point_stats *s = fl_xcalloc((size_t)np + 1, sizeof *s);
	int k = 0;
	for (uint32_t i = 0; i < np; i++) {
		fl_shm_point *p = &v.points[i];
		if (atomic_load(&p->state) != FL_POINT_READY)
			continue;
		s[k].slot = (int)i;
		snprintf(s[k].point, sizeof s[k].point, "%s", p->name);
		s[k].calls = atomic_load(&p->calls);
		s[k].fired = atomic_load(&p->fired);
		uint64_t ref = atomic_load(&p->rule);
		fl_rule_body b;
		int opened;
		s[k].active = ref && fl_shm_rule_read(&v, ref, &b, &opened) &&
			      (b.trigger_slot < 0 || opened);
		k++;
	}
	*out = s;
	return k;
}

int fl_faults_replay(fl_faults *f, const char *point, const char *lines,
		     char *err, size_t errlen, int timeout_ms)
{
	(void)timeout_ms;
	fl_shm_view v;
	if (view(f, &v) < 0) {
		snprintf(err, errlen, "no fault region for this target");
		return -EBADF;
	}
	if (!v.replay) {
		snprintf(err, errlen,
			 "the fault region was made without room for replay");
		return -ENOSPC;
	}
	uint64_t point_hash = fl_hash_str(point);
	uint32_t mask = v.hdr->replay_cap - 1;
	for (const char *line = lines; line && *line;) {
		char act[FL_ACTOR_MAX];
		unsigned long long n;
		int e;
		if (sscanf(line, "%39s %llu %d", act, &n, &e) == 3) {
			uint64_t key = fl_replay_key(point_hash, fl_hash_str(act), n);
			uint32_t i = 0;
			for (; i <= mask; i++) {
				fl_shm_replay *r = &v.replay[(key + i) & mask];
				uint64_t k = atomic_load(&r->key);
				if (k == key || k == 0) {
					r->err = e;
					atomic_store(&r->key, key);
					break;
				}
			}
			if (i > mask) {
				snprintf(err, errlen,
					 "the replay table is full (%u calls)",
					 v.hdr->replay_cap);
				return -ENOSPC;
			}
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Processes                                                            */
/* ------------------------------------------------------------------ */

static fl_shm_proc *live_entry(const fl_shm_view *v, pid_t pid)
{
	fl_shm_proc *best = NULL;
	for (int i = 0; i < FL_MAX_PROCS; i++) {
		fl_shm_proc *e = &v->procs[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) !=
			    FL_PROC_LIVE ||
		    e->pid != pid)
			continue;
		if (!best || e->t_ns > best->t_ns)
			best = e;
	}
	return best;
}

int fl_faults_registered(fl_faults *f)
{
	if (f->registered)
		return 1;
	fl_shm_view v;
	if (f->root <= 0 || view(f, &v) < 0)
		return 0;
	f->registered = live_entry(&v, f->root) != NULL;
	return f->registered;
}

/* Does process pid still map the region where it registered it? After
 * an exec the mapping is gone (unless the new image's agent mapped it
 * again and registered). 1 yes, 0 no, -1 cannot tell. */
static int maps_region(int procfd, pid_t pid, const fl_shm_proc *e)
{
	char name[96], link[128];
	snprintf(name, sizeof name, "map_files/%llx-%llx",
		 (unsigned long long)e->map_start,
		 (unsigned long long)e->map_end);
	ssize_t n;
	if (procfd >= 0) {
		n = readlinkat(procfd, name, link, sizeof link - 1);
	} else {
		char path[128];
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
		n = readlink(path, link, sizeof link - 1);
	}
	if (n < 0)
		return errno == ENOENT ? 0 : -1;
	link[n] = '\0';
	return strncmp(link, "/memfd:faultline", 16) == 0;
}

/* maps_region for the first process, looked at again only when its
 * registration changed or FL_FAULTS_RECHECK_NS passed: a look at
 * map_files costs more than a whole sample. */
static int root_maps_region(fl_faults *f, int procfd, const fl_shm_proc *e)
{
	int64_t now = fl_now_ns();
	if (atomic_load(&f->root_checked_reg) == e->t_ns &&
	    now - atomic_load(&f->root_checked_ns) < FL_FAULTS_RECHECK_NS)
		return atomic_load(&f->root_maps);
	int maps = maps_region(procfd, e->pid, e);
	atomic_store(&f->root_maps, maps);
	atomic_store(&f->root_checked_reg, e->t_ns);
	atomic_store(&f->root_checked_ns, now);
	return maps;
}

void fl_faults_footprint(fl_faults *f, int procfd, pid_t pid,
			 fl_footprint *out)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	fl_shm_view v;
	if (view(f, &v) < 0)
		return;
	fl_shm_proc *e = live_entry(&v, pid);
	if (!e) {
		/* Not registered (yet, or ever: a static binary): the
		 * descriptor it inherited is ours. */
		out->fds = 1;
		out->fd = f->target_fd;
		return;
	}
	out->fds = e->fds;
	out->fd = e->fd;
	int maps = pid == f->root ? root_maps_region(f, procfd, e)
				  : maps_region(procfd, pid, e);
	if (maps == 0) {
		/* It executed a program without the agent; with inherit the
		 * descriptor stayed open across the exec. */
		return;
	}
	out->threads = e->threads;
	out->bytes = (int64_t)e->bytes;
	out->tls_bytes = (int64_t)e->tls_bytes;
}

static void reaped_end(const fl_reaped_rec *r, fl_reaped_end *out)
{
	out->pid = r->pid;
	out->reaper = r->reaper;
	out->status = r->status;
	out->t_ns = r->t_ns;
}

int fl_faults_reaped(const fl_faults *f, pid_t pid, int64_t since_ns,
		     fl_reaped_end *out)
{
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	/* The ring keeps the newest FL_MAX_REAPED records: the oldest of
	 * them first, so the first record of pid since since_ns wins. */
	uint64_t end = atomic_load(&v.hdr->nreaped);
	uint64_t n = end > FL_MAX_REAPED ? end - FL_MAX_REAPED : 0;
	for (; n < end; n++) {
		fl_reaped_rec r;
		if (fl_shm_reaped_get(&v, n, &r) != 1 || r.pid != pid ||
		    r.t_ns < since_ns)
			continue;
		reaped_end(&r, out);
		return 1;
	}
	return 0;
}

/* A record still being written this many records behind the newest has
 * a writer that died in the middle of it (a few stores, with no call in
 * between): it is given up. */
#define REAPED_STUCK 64

size_t fl_faults_reaped_next(const fl_faults *f, uint64_t *cursor,
			     fl_reaped_end *out, size_t max, uint64_t *lost,
			     int ended)
{
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	uint64_t end = atomic_load(&v.hdr->nreaped);
	size_t got = 0;
	/* Records the ring no longer holds were overwritten unread. */
	if (end > FL_MAX_REAPED && *cursor < end - FL_MAX_REAPED) {
		*lost += end - FL_MAX_REAPED - *cursor;
		*cursor = end - FL_MAX_REAPED;
	}
	while (*cursor < end && got < max) {
		fl_reaped_rec rec;
		int r = fl_shm_reaped_get(&v, *cursor, &rec);
		/* Being written: read at the next call. Once no writer is
		 * left, it never will be: its writer died in the middle. */
		if (r == 0 && end - *cursor <= REAPED_STUCK && !ended)
			break;
		if (r == 1)
			reaped_end(&rec, &out[got++]);
		else
			(*lost)++;
		(*cursor)++;
	}
	return got;
}

int fl_faults_proc_name(const fl_faults *f, pid_t pid, int64_t before_ns,
			char *name, size_t len)
{
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	/* The latest registration of pid before the moment: its program
	 * (a forked worker registers with its parent's). An entry is
	 * written before its state says it is live, and a released one
	 * (free) keeps its fields until it is claimed again: only one being
	 * claimed is left alone. */
	const fl_shm_proc *best = NULL;
	for (int i = 0; i < FL_MAX_PROCS; i++) {
		const fl_shm_proc *e = &v.procs[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) ==
			    FL_PROC_CLAIMED ||
		    e->pid != pid || e->t_ns > before_ns)
			continue;
		if (!best || e->t_ns > best->t_ns)
			best = e;
	}
	if (!best)
		return 0;
	char exe[FL_PROC_EXE_MAX];
	memcpy(exe, best->exe, sizeof exe);
	exe[sizeof exe - 1] = '\0';
	const char *base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	if (!*base)
		return 0;
	/* As the kernel names a process: its program's first 15 bytes. */
	snprintf(name, len < 16 ? len : 16, "%s", base);
	return 1;
}

/* The start time of a live process, or 0 if it is gone. */
static uint64_t start_ticks_of(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	if (p[2] == 'Z' || p[2] == 'X')
		return 0; /* a zombie is gone for our purpose */
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Keeps the latest look at each process (by pid and start time),
 * so processes that are gone are still known. */
static void remember(fl_faults *f, const fl_proc_info *list, int n)
{
	for (int i = 0; i < n; i++) {
		int k = 0;
		while (k < f->nseen &&
		       !(f->seen[k].pid == list[i].pid &&
			 f->seen[k].start_ticks == list[i].start_ticks))
			k++;
		if (k == f->nseen) {
			f->seen = fl_xrealloc(f->seen, (size_t)(f->nseen + 1) *
							      sizeof *f->seen);
			f->nseen++;
		} else if (list[i].state == FL_PROC_GONE) {
			/* Gone: keep what it ran before. */
			f->seen[k].state = FL_PROC_GONE;
			continue;
		}
		f->seen[k] = list[i];
	}
}

/* A process that is gone no longer needs the table of its fds'
 * origins: emptied, then freed for another. */
static void free_origins(const fl_shm_view *v, pid_t pid)
{
	if (!v->origins)
		return;
	for (int i = 0; i < FL_ORIGIN_PROCS; i++) {
		fl_shm_origins *o = &v->origins[i];
		if (atomic_load(&o->pid) != pid)
			continue;
		for (int fd = 0; fd < FL_ORIGIN_FDS; fd++)
			atomic_store_explicit(&o->site[fd], 0, memory_order_relaxed);
		atomic_store(&o->pid, 0);
	}
}

int fl_faults_procs(fl_faults *f, fl_proc_info **out)
{
	*out = NULL;
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	fl_proc_info *list = fl_xcalloc(FL_MAX_PROCS + 1, sizeof *list);
	int n = 0;
	for (int i = 0; i < FL_MAX_PROCS; i++) {
		fl_shm_proc *e = &v.procs[i];
		if (atomic_load_explicit(&e->state, memory_order_acquire) !=
		    FL_PROC_LIVE)
			continue;
		fl_proc_info *p = &list[n++];
		p->pid = e->pid;
		p->ppid = e->ppid;
		snprintf(p->actor, sizeof p->actor, "%s", e->actor);
		snprintf(p->exe, sizeof p->exe, "%s", e->exe);
		p->images = (int)e->images;
		p->t_ns = e->t_ns;
		p->start_ticks = e->start_ticks;
		/* What it registered; while it runs another program only the
		 * descriptor kept with inherit remains. */
		p->footprint.fds = e->fds;
		p->footprint.fd = e->fd;
		p->footprint.threads = e->threads;
		p->footprint.bytes = (int64_t)e->bytes;
		p->footprint.tls_bytes = (int64_t)e->tls_bytes;
		uint64_t ticks = start_ticks_of(e->pid);
		if (!ticks || ticks != e->start_ticks) {
			p->state = FL_PROC_GONE;
			free_origins(&v, e->pid);
			/* Its entry can serve another process now. */
			atomic_store(&e->state, FL_PROC_FREE);
		} else if (maps_region(-1, e->pid, e) == 0) {
			p->state = FL_PROC_EXECUTED;
			char path[64];
			snprintf(path, sizeof path, "/proc/%d/exe", (int)e->pid);
			ssize_t k = readlink(path, p->now, sizeof p->now - 1);
			p->now[k > 0 ? k : 0] = '\0';
		} else {
			p->state = FL_PROC_AGENT;
		}
	}
	remember(f, list, n);
	*out = list;
	return n;
}

void fl_faults_lost(const fl_faults *f, uint64_t *points, uint64_t *procs)
{
	fl_shm_view v;
	*points = *procs = 0;
	if (view(f, &v) < 0)
		return;
	*points = atomic_load(&v.hdr->points_lost);
	*procs = atomic_load(&v.hdr->procs_lost);
}

static const char *state_name(int state)
{
	switch (state) {
	case FL_PROC_AGENT:
		return "agent";
	case FL_PROC_EXECUTED:
		return "executed";
	default:
		return "gone";
	}
}

json_t *fl_faults_json(fl_faults *f)
{
	fl_proc_info *list;
	int n = fl_faults_procs(f, &list);
	free(list);
	(void)n;
	/* A target that forks thousands of processes: the first ones tell. */
	json_t *procs = json_array();
	for (int i = 0; i < f->nseen && i < 200; i++) {
		const fl_proc_info *p = &f->seen[i];
		json_array_append_new(
			procs, json_pack("{s:i,s:i,s:s,s:s,s:s,s:s?,s:i}", "pid",
					 (int)p->pid, "ppid", (int)p->ppid, "actor",
					 p->actor, "program", p->exe, "state",
					 state_name(p->state), "now",
					 p->now[0] ? p->now : NULL, "images",
					 p->images));
	}
	uint64_t lost_points, lost_procs;
	fl_faults_lost(f, &lost_points, &lost_procs);
	return json_pack("{s:b,s:s,s:i,s:o,s:i,s:I,s:I}", "registered",
			 f->registered, "close", f->close_mode, "threads", 0,
			 "processes", procs, "processes_total", f->nseen,
			 "points_lost", (json_int_t)lost_points,
			 "processes_lost", (json_int_t)lost_procs);
}

json_t *fl_faults_footprint_json(const fl_faults *f)
{
	const fl_proc_info *root = NULL;
	for (int i = 0; i < f->nseen; i++)
		if (f->seen[i].pid == f->root)
			root = &f->seen[i];
	fl_footprint fp = {.fds = 1, .fd = f->target_fd};
	char what[400];
	if (!root) {
		snprintf(what, sizeof what,
			 "the fault region's fd (no faultline agent registered)");
	} else if (root->now[0]) {
		/* It executed a program without the agent: from then on only
		 * the fd kept with inherit was ours. */
		memset(&fp, 0, sizeof fp);
		fp.fds = root->footprint.fds;
		snprintf(what, sizeof what,
			 "none since it executed %s without the faultline agent%s",
			 root->now, fp.fds ? ", but the region's fd" : "");
	} else {
		fp = root->footprint;
		snprintf(what, sizeof what,
			 "faultline agent: its shared fault region and its own "
			 "pages (%.1f KiB, resident from the start), %.1f KiB of "
			 "TLS per thread; no thread%s",
			 (double)fp.bytes / 1024, (double)fp.tls_bytes / 1024,
			 fp.fds ? "; the region's fd, kept for programs it "
				  "executes"
				: ", no fd");
	}
	return json_pack("{s:i,s:i,s:I,s:I,s:s}", "fds", fp.fds, "threads",
			 fp.threads, "bytes", (json_int_t)fp.bytes, "tls_bytes",
			 (json_int_t)fp.tls_bytes, "what", what);
}
