#define _GNU_SOURCE
#include "sites.h"

#include "target.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int view(const fl_faults *f, fl_shm_view *v)
{
	if (!f->shm || fl_shm_view_of(f->shm, f->shm_size, v) < 0)
		return -1;
	return v->sites ? 0 : -1;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* ------------------------------------------------------------------ */
/* Frames                                                               */
/* ------------------------------------------------------------------ */

/* The C runtime's own libraries: a call from inside them (a malloc in
 * fopen, a write in printf) is named after the program's call into them.
 * By base name, up to the first '.' or '-' after the stem. */
static int runtime_library(const char *path)
{
	static const char *const libs[] = {"libc.so",	   "libm.so",
					   "libpthread.so", "libdl.so",
					   "librt.so",	   "libstdc++.so",
					   "libgcc_s.so",  "ld-linux",
					   "linux-vdso",   NULL};
	const char *b = base_name(path);
	for (int i = 0; libs[i]; i++)
		if (!strncmp(b, libs[i], strlen(libs[i])))
			return 1;
	return 0;
}

int fl_frames_resolve(fl_frame *frames, int n)
{
	int label = -1;
	for (int i = 0; i < n; i++) {
		fl_frame *fr = &frames[i];
		memset(&fr->sym, 0, sizeof fr->sym);
		/* A return address follows its call: the call is one byte
		 * before (a crash's first frame is stored one past its
		 * faulting instruction for the same reason). */
		if (fr->module[0] && fr->offset > 0)
			fl_symbolize(fr->module, fr->offset - 1, &fr->sym);
		if (label >= 0 || !fr->module[0])
			continue;
		if (runtime_library(fr->module) ||
		    !strncmp(fr->sym.function, "flrt_", 5) ||
		    !strncmp(base_name(fr->sym.file), "flrt_", 5))
			continue;
		label = i;
	}
	return label >= 0 ? label : 0;
}

void fl_frame_describe(const fl_frame *fr, char *out, size_t len)
{
	const fl_symbol *s = &fr->sym;
	if (s->file[0] && s->line > 0)
		snprintf(out, len, "%s:%d%s%s%s", base_name(s->file), s->line,
			 s->function[0] ? " (" : "", s->function,
			 s->function[0] ? ")" : "");
	else if (s->function[0])
		snprintf(out, len, "%s+0x%" PRIx64 " (%s)", s->function,
			 s->symbol_offset, fr->module[0] ? base_name(fr->module)
							 : "?");
	else if (fr->module[0])
		snprintf(out, len, "%s+0x%" PRIx64, base_name(fr->module),
			 fr->offset - (fr->offset > 0));
	else
		snprintf(out, len, "0x%" PRIx64, fr->offset);
}

void fl_site_id(uint64_t key, char *out, size_t len)
{
	snprintf(out, len, "%016" PRIx64, key);
}

uint64_t fl_site_parse_id(const char *s)
{
	if (!s || strlen(s) != 16)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	return *end || errno ? 0 : (uint64_t)v;
}

/* Copies a region's frames, naming their modules. */
static int copy_frames(const fl_shm_view *v, const uint16_t *module,
		       const uint64_t *offset, uint32_t n, fl_frame *out)
{
	if (n > FL_CRASH_FRAMES)
		n = FL_CRASH_FRAMES;
	uint32_t nmod = atomic_load(&v->hdr->nmodules);
	for (uint32_t i = 0; i < n; i++) {
		fl_frame *fr = &out[i];
		memset(fr, 0, sizeof *fr);
		fr->offset = offset[i];
		uint16_t m = module[i];
		if (m != FL_MODULE_NONE && m < nmod && m < FL_MAX_MODULES &&
		    atomic_load(&v->modules[m].state) == FL_POINT_READY)
			snprintf(fr->module, sizeof fr->module, "%s",
				 v->modules[m].path);
	}
	return (int)n;
}

/* ------------------------------------------------------------------ */
/* Sites                                                                */
/* ------------------------------------------------------------------ */

static void read_site(const fl_shm_view *v, const fl_shm_site *e, fl_site *s)
{
	memset(s, 0, sizeof *s);
	s->key = atomic_load(&e->key);
	s->stack = e->stack;
	s->flags = atomic_load(&e->flags);
	s->calls = atomic_load(&e->calls);
	s->actor_calls = atomic_load(&e->actor_calls);
	snprintf(s->actor, sizeof s->actor, "%.*s", FL_ACTOR_MAX - 1, e->actor);
	snprintf(s->what, sizeof s->what, "%.*s", (int)sizeof e->what - 1,
		 e->what);
	if (e->point >= 0 && e->point < FL_MAX_POINTS) {
		uint32_t st = atomic_load(&v->points[e->point].state);
		if (st == FL_POINT_READY || st == FL_POINT_DEAD)
			snprintf(s->point, sizeof s->point, "%s",
				 v->points[e->point].name);
	}
	s->nframes = copy_frames(v, e->module, e->offset, e->nframes, s->frames);
	s->label = fl_frames_resolve(s->frames, s->nframes);
}

static int cmp_site(const void *a, const void *b)
{
	const fl_site *x = a, *y = b;
	const fl_symbol *sx = &x->frames[x->label].sym, *sy = &y->frames[y->label].sym;
	int c = strcmp(base_name(sx->file), base_name(sy->file));
	if (!c)
		c = (sx->line > sy->line) - (sx->line < sy->line);
	if (!c)
		c = strcmp(sx->function, sy->function);
	if (!c)
		c = strcmp(x->point, y->point);
	if (!c)
		c = (x->key > y->key) - (x->key < y->key);
	return c;
}

int fl_sites_list(const fl_faults *f, unsigned mask, fl_site **out)
{
	*out = NULL;
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	uint32_t cap = v.hdr->site_cap;
	fl_site *list = NULL;
	int n = 0, have = 0;
	for (uint32_t i = 0; i < cap; i++) {
		const fl_shm_site *e = &v.sites[i];
		if (!atomic_load(&e->key) ||
		    atomic_load_explicit(&e->state, memory_order_acquire) !=
			    FL_POINT_READY ||
		    !(atomic_load(&e->flags) & mask))
			continue;
		if (n == have) {
			have = have ? have * 2 : 64;
			list = fl_xrealloc(list, (size_t)have * sizeof *list);
		}
		read_site(&v, e, &list[n++]);
	}
	if (n > 1)
		qsort(list, (size_t)n, sizeof *list, cmp_site);
	*out = list;
	return n;
}

/* The first frame of a crash past the machinery that raised its signal:
 * an abort's raise and assert frames say nothing of where it happened. */
static int crash_frame(const fl_frame *frames, int n)
{
	static const char *const machinery[] = {
		"__pthread_kill_implementation", "__pthread_kill_internal",
		"__pthread_kill", "pthread_kill", "raise", "__GI_raise", "abort",
		"__GI_abort", "__assert_fail_base", "__assert_fail",
		"__assert_perror_fail", "__libc_message", "__fortify_fail",
		"__chk_fail", "__stack_chk_fail", "malloc_printerr", NULL};
	for (int i = 0; i < n; i++) {
		int skip = 0;
		for (int k = 0; machinery[k] && !skip; k++)
			skip = !strcmp(frames[i].sym.function, machinery[k]);
		if (!skip)
			return i;
	}
	return 0;
}

int fl_sites_crashes(const fl_faults *f, fl_crash **out)
{
	*out = NULL;
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	uint32_t total = atomic_load(&v.hdr->ncrashes);
	if (total > FL_MAX_CRASHES)
		total = FL_MAX_CRASHES;
	fl_crash *list = fl_xcalloc((size_t)total + 1, sizeof *list);
	int n = 0;
	for (uint32_t i = 0; i < total; i++) {
		const fl_shm_crash *c = &v.crashes[i];
		if (atomic_load_explicit(&c->state, memory_order_acquire) !=
		    FL_POINT_READY)
			continue;
		fl_crash *x = &list[n++];
		x->pid = c->pid;
		x->sig = c->sig;
		x->code = c->code;
		x->addr = c->addr;
		snprintf(x->actor, sizeof x->actor, "%.*s", FL_ACTOR_MAX - 1,
			 c->actor);
		x->nframes = copy_frames(&v, c->module, c->offset, c->nframes,
					 x->frames);
		x->label = fl_frames_resolve(x->frames, x->nframes);
		x->at = crash_frame(x->frames, x->nframes);
	}
	*out = list;
	return n;
}

void fl_sites_origins(const fl_faults *f, pid_t pid, fl_fd_entry *fds, int n)
{
	fl_shm_view v;
	if (view(f, &v) < 0 || !v.origins)
		return;
	const fl_shm_origins *o = NULL;
	for (int i = 0; i < FL_ORIGIN_PROCS && !o; i++)
		if (atomic_load(&v.origins[i].pid) == pid)
			o = &v.origins[i];
	if (!o)
		return;
	/* Many fds share an origin (a loop that opens them): each site is
	 * resolved once. */
	struct known {
		uint32_t idx;
		uint64_t key;
		char at[160];
	} *known = NULL;
	int nknown = 0;
	for (int i = 0; i < n; i++) {
		fl_fd_entry *e = &fds[i];
		if (e->fd < 0 || e->fd >= FL_ORIGIN_FDS)
			continue;
		uint32_t s = atomic_load(&o->site[e->fd]);
		if (!s || s > v.hdr->site_cap)
			continue;
		int k = 0;
		while (k < nknown && known[k].idx != s - 1)
			k++;
		if (k == nknown) {
			const fl_shm_site *se = &v.sites[s - 1];
			if (atomic_load(&se->state) != FL_POINT_READY)
				continue;
			fl_site site;
			read_site(&v, se, &site);
			known = fl_xrealloc(known, (size_t)(nknown + 1) * sizeof *known);
			known[k].idx = s - 1;
			known[k].key = site.key;
			fl_frame_describe(&site.frames[site.label], known[k].at,
					  sizeof known[k].at);
			nknown++;
		}
		e->origin = known[k].key;
		snprintf(e->opened_at, sizeof e->opened_at, "%s", known[k].at);
	}
	free(known);
}

void fl_sites_lost(const fl_faults *f, uint64_t *sites, uint64_t *modules,
		   uint64_t *origins)
{
	*sites = *modules = *origins = 0;
	fl_shm_view v;
	if (view(f, &v) < 0)
		return;
	*sites = atomic_load(&v.hdr->sites_lost);
	*modules = atomic_load(&v.hdr->modules_lost);
	*origins = atomic_load(&v.hdr->origins_lost);
}

int fl_sites_fired(const fl_faults *f)
{
	fl_shm_view v;
	if (view(f, &v) < 0)
		return 0;
	return atomic_load(&v.hdr->site_fired) != 0;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */
/* ------------------------------------------------------------------ */

static json_t *frame_json(const fl_frame *fr)
{
	char at[400], off[32];
	fl_frame_describe(fr, at, sizeof at);
	snprintf(off, sizeof off, "0x%" PRIx64, fr->offset);
	json_t *o = json_object();
	json_object_set_new(o, "module", fr->module[0] ? json_string(fr->module)
						       : json_null());
	json_object_set_new(o, "offset", json_string(off));
	json_object_set_new(o, "function", fr->sym.function[0]
						   ? json_string(fr->sym.function)
						   : json_null());
	json_object_set_new(o, "file", fr->sym.file[0] ? json_string(fr->sym.file)
						       : json_null());
	json_object_set_new(o, "line", fr->sym.line > 0 ? json_integer(fr->sym.line)
							: json_null());
	json_object_set_new(o, "at", json_string(at));
	return o;
}

json_t *fl_frames_json(const fl_frame *frames, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, frame_json(&frames[i]));
	return a;
}

/* The label frame's fields, on the object of a site or a crash. */
static void label_fields(json_t *o, const fl_frame *frames, int n, int label)
{
	if (n == 0) {
		json_object_set_new(o, "at", json_string("?"));
		json_object_set_new(o, "function", json_null());
		json_object_set_new(o, "file", json_null());
		json_object_set_new(o, "line", json_null());
		return;
	}
	const fl_frame *fr = &frames[label];
	char at[400];
	fl_frame_describe(fr, at, sizeof at);
	json_object_set_new(o, "at", json_string(at));
	json_object_set_new(o, "function", fr->sym.function[0]
						   ? json_string(fr->sym.function)
						   : json_null());
	json_object_set_new(o, "file", fr->sym.file[0] ? json_string(fr->sym.file)
						       : json_null());
	json_object_set_new(o, "line", fr->sym.line > 0 ? json_integer(fr->sym.line)
							: json_null());
}

json_t *fl_site_json(const fl_site *s)
{
	char id[24];
	fl_site_id(s->key, id, sizeof id);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "point", s->point[0] ? json_string(s->point)
						    : json_null());
	json_object_set_new(o, "what", s->what[0] ? json_string(s->what)
						  : json_null());
	json_object_set_new(o, "calls", json_integer((json_int_t)s->calls));
	json_object_set_new(o, "actor", json_string(s->actor));
	json_object_set_new(o, "actor_calls",
			    json_integer((json_int_t)s->actor_calls));
	label_fields(o, s->frames, s->nframes, s->label);
	/* A call the C library made for the program (a malloc inside
	 * getpwuid): the innermost frame says which. */
	char via[400] = "";
	if (s->label > 0)
		fl_frame_describe(&s->frames[0], via, sizeof via);
	json_object_set_new(o, "via", via[0] ? json_string(via) : json_null());
	json_object_set_new(o, "stack", fl_frames_json(s->frames, s->nframes));
	return o;
}

json_t *fl_crash_json(const fl_crash *c)
{
	char addr[32];
	snprintf(addr, sizeof addr, "0x%" PRIx64, c->addr);
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(c->pid));
	json_object_set_new(o, "signal", json_string(fl_signal_name(c->sig)));
	json_object_set_new(o, "code", json_integer(c->code));
	json_object_set_new(o, "addr", json_string(addr));
	json_object_set_new(o, "actor", json_string(c->actor));
	label_fields(o, c->frames, c->nframes, c->at);
	char from[400] = "";
	if (c->nframes && c->label != c->at)
		fl_frame_describe(&c->frames[c->label], from, sizeof from);
	json_object_set_new(o, "from", from[0] ? json_string(from) : json_null());
	json_object_set_new(o, "stack", fl_frames_json(c->frames, c->nframes));
	return o;
}
