/* Call sites as the agent recorded them in the shared region (the site
 * table, the modules, fd origins, crashes: lib/agent_proto.h), read back
 * and resolved to function and file:line (symbolize.c). A site is the
 * calling context of a call: its first return addresses as (module,
 * offset), stable from run to run whatever the load addresses. */
#ifndef FL_SITES_H
#define FL_SITES_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/agent_proto.h"
#include "faults.h"
#include "procfs.h"
#include "symbolize.h"

typedef struct fl_frame {
	char module[FL_MODULE_PATH_MAX];	/* "" when unknown */
	uint64_t offset;	/* a return address in the module (its vaddr) */
	fl_symbol sym;		/* of offset - 1: the call instruction */
} fl_frame;

typedef struct fl_site {
	uint64_t key;		/* its id: fl_site_key(point, stack) */
	uint64_t stack;
	char point[FL_POINT_NAME_MAX];	/* "" for an fd's origin */
	char what[16];		/* an origin's function ("open") */
	unsigned flags;		/* FL_SITE_REACHED, FL_SITE_ORIGIN */
	uint64_t calls;		/* from it, every actor */
	uint64_t actor_calls;	/* by its first actor */
	char actor[FL_ACTOR_MAX];
	int nframes;
	fl_frame frames[FL_SITE_FRAMES];
	int label;		/* the frame that names it (fl_site_label) */
} fl_site;

typedef struct fl_crash {
	pid_t pid;
	int sig;
	int code;
	uint64_t addr;
	char actor[FL_ACTOR_MAX];
	int nframes;
	fl_frame frames[FL_CRASH_FRAMES];
	int label;		/* the first frame in the program's code */
	int at;			/* where it crashed: the first frame past the
				 * C library's abort and signal machinery
				 * (raise, abort, __assert_fail...) */
} fl_crash;

/* The sites the region holds whose flags include any of mask, resolved,
 * sorted by their label (file, line, function), then key. *out malloc'd;
 * returns the count (0 without site tables). */
int fl_sites_list(const fl_faults *f, unsigned mask, fl_site **out);
/* The crashes the agent recorded, resolved. *out malloc'd; the count. */
int fl_sites_crashes(const fl_faults *f, fl_crash **out);
/* Writes where each fd of process pid was opened into v[i].origin and
 * v[i].opened_at, when the agent kept origins; entries it knows nothing
 * of are left empty. */
void fl_sites_origins(const fl_faults *f, pid_t pid, fl_fd_entry *v, int n);
/* Counts the agent could not record: sites, modules, fds. */
void fl_sites_lost(const fl_faults *f, uint64_t *sites, uint64_t *modules,
		   uint64_t *origins);
/* Whether a sweep's site rule fired in this region. */
int fl_sites_fired(const fl_faults *f);

/* Resolves frames and picks the label frame: the first in the program's
 * own code, past the C runtime's libraries (libc, libstdc++, the loader)
 * and faultline's runtime (flrt_* functions and files), so a site reads
 * where the program called; the first frame when all are there. Returns
 * the label index. */
int fl_frames_resolve(fl_frame *frames, int n);
/* "fileproc.c:123 (process_batch)", "sqlite3_exec+0x1f (libsqlite3.so.0)"
 * or "fileproc+0x1a2b": how a frame reads. */
void fl_frame_describe(const fl_frame *fr, char *out, size_t len);
/* A site's id as people see it: 16 hex digits. */
void fl_site_id(uint64_t key, char *out, size_t len);
/* Parses an id; 0 when it is not one. */
uint64_t fl_site_parse_id(const char *s);

/* { id, point, what, calls, actor, actor_calls, at, function, file,
 * line, via, stack: [ { module, offset, function, file, line, at } ] };
 * via: the innermost frame, when the call was made inside the C runtime
 * on the program's behalf (a malloc in getpwuid), else null. */
json_t *fl_site_json(const fl_site *s);
json_t *fl_frames_json(const fl_frame *frames, int n);
/* { pid, signal, code, addr, actor, at, function, file, line, from,
 * stack }: "at" where it crashed, "from" the program's own frame that led
 * there when that is another (a crash inside the C library). */
json_t *fl_crash_json(const fl_crash *c);

#endif
