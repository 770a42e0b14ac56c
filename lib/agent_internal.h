/* What the agent's files (lib/agent.c, lib/agent_sites.c, lib/agent_fd.c)
 * share inside the one shared object. Every name here is hidden: the
 * target never sees it, and cannot interpose it. */
#ifndef FL_AGENT_INTERNAL_H
#define FL_AGENT_INTERNAL_H

#include "agent_proto.h"

#include <stdint.h>

#define FL_HIDDEN __attribute__((visibility("hidden")))

/* From lib/agent.c. */

/* The mapped region once the agent is active, else NULL. */
FL_HIDDEN const fl_shm_view *fl_agent_view(void);
/* The calling thread's actor and its hash (named on first use). */
FL_HIDDEN void fl_agent_who(const char **actor, uint64_t *actor_hash);
/* This process's pid, as the agent registered it. */
FL_HIDDEN int fl_agent_pid(void);
/* Makes the part of the region after the control part (the journal's
 * records and the call-site tables) resident in this process before it
 * first writes there, and counts it in the process's footprint. */
FL_HIDDEN void fl_agent_map_tail(void);
/* The next definition of name after the agent (libfiu's preload, then the
 * C library), looked up once into *slot; errno is kept. */
FL_HIDDEN void *fl_agent_next(_Atomic(void *) *slot, const char *name);

/* From lib/agent_sites.c. */

/* A calling context as the agent captures it. */
typedef struct fl_frames {
	int n;
	uint16_t module[FL_CRASH_FRAMES];	/* index in the module table */
	uint64_t module_hash[FL_CRASH_FRAMES];	/* its base name's hash */
	uint64_t offset[FL_CRASH_FRAMES];
} fl_frames;

/* Once, in the constructor (and again in an exec'd image): which code is
 * the agent's and libfiu's (frames there are never a site), the
 * program's path, the unwinder made ready (its first use may allocate),
 * and the crash handler when the region asks for it. */
FL_HIDDEN void fl_sites_init(const fl_shm_view *v);
/* The calling context of the target's call that led here: the first max
 * (at most FL_SITE_FRAMES) return addresses outside the agent and libfiu.
 * Never allocates and takes no lock (the unwinder finds each frame's
 * unwind table through _dl_find_object). */
FL_HIDDEN void fl_sites_capture(const fl_shm_view *v, fl_frames *f, int max);
/* The stack hash of the first depth frames. */
FL_HIDDEN uint64_t fl_sites_stack(const fl_frames *f, int depth);
/* Adds one call to the site key (claiming its entry on its first call)
 * with flags FL_SITE_*; point is the point's slot or -1, what an origin's
 * function. Returns the entry's index, or -1 when the table is full
 * (counted in sites_lost). */
FL_HIDDEN int fl_sites_record(const fl_shm_view *v, uint64_t key,
			      uint64_t stack, const fl_frames *f, int point,
			      const char *what, uint32_t flags);

/* fd origins: the site of the calling context created fd (by the
 * function what), or fd was closed. Cheap no-ops unless the region asks
 * for origins. */
FL_HIDDEN void fl_sites_fd_created(int fd, const char *what);
FL_HIDDEN void fl_sites_fd_closed(int fd);
/* In a forked child: its origins start as a copy of its parent's. */
FL_HIDDEN void fl_sites_forked(int parent_pid);

#endif
