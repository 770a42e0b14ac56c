/* The runtime's failure points, the question "does this point fire now?"
 * put to libfiu, and the process-wide counters. */
#define _POSIX_C_SOURCE 200809L
#define FIU_ENABLE 1
#include "flrt_internal.h"

#include <errno.h>
#include <fiu.h>
#include <stdint.h>

/* Declared here, in the same section FLRT_POINT uses. Defers, channels and
 * workers all reach this file through flrt_fail, so a binary that uses any
 * of them lists all three points. */
#define FLRT_DECLARE(var, name)                                                \
	const char var[] __attribute__((used, section("fl_points"), aligned(1))) = name

FLRT_DECLARE(flrt__point_panic, "fl/panic");
FLRT_DECLARE(flrt__point_defer_panic, "fl/defer/panic");
FLRT_DECLARE(flrt__point_chan_send_block, "fl/chan/send/block");

atomic_ulong flrt__panics, flrt__recovered, flrt__deferred, flrt__defer_panics,
	flrt__blocked_sends, flrt__stuck_sends, flrt__workers, flrt__workers_running;

/* libfiu answers 0 for every point until a controller (faultline's agent,
 * libfiu's preload) has called fiu_init and enabled one, so the runtime
 * needs no initialisation of its own. The failinfo faultline's agent sets
 * is the errno the scenario chose. */
int flrt_fail(const char *point)
{
	if (!fiu_fail(point))
		return 0;
	intptr_t err = (intptr_t)fiu_failinfo();
	return err > 0 && err < 4096 ? (int)err : EIO;
}

void flrt_stats_get(struct flrt_stats *out)
{
	out->panics = atomic_load(&flrt__panics);
	out->recovered = atomic_load(&flrt__recovered);
	out->deferred = atomic_load(&flrt__deferred);
	out->defer_panics = atomic_load(&flrt__defer_panics);
	out->blocked_sends = atomic_load(&flrt__blocked_sends);
	out->stuck_sends = atomic_load(&flrt__stuck_sends);
	out->workers = atomic_load(&flrt__workers);
	out->workers_running = atomic_load(&flrt__workers_running);
}
