/* The failure points faultline knows by name: libfiu's POSIX wrappers
 * (read from the installed preload at build time). Catches misspelled
 * names, which libfiu itself accepts without a word. */
#ifndef FL_POINTS_H
#define FL_POINTS_H

#include <stddef.h>

/* NULL-terminated list of libfiu's POSIX point names. */
const char *const *fl_points_posix(void);

/* Checks a point name a scenario uses. Names under posix/, libc/ and linux/
 * must be libfiu points (a trailing '*' matches a family); other names are
 * the target's own points. Returns 0, or -1 with a sentence in why that
 * suggests the closest known name. */
int fl_points_check(const char *name, char *why, size_t whylen);

/* Checks a set of call numbers: "3", "5-9", "every 4", or a comma list
 * of those (at most 16 ranges). 0, or -1 with a sentence in why. */
int fl_nth_check(const char *spec, char *why, size_t whylen);

/* Checks a custom point (not posix/, libc/, linux/) against the points a
 * target declares; with none declared, anything goes. 0, or -1 with a
 * sentence in why. */
int fl_points_check_declared(const char *name, char *const *declared, int n,
			     char *why, size_t whylen);

/* Edit distance between two strings (for suggestions). */
size_t fl_points_distance(const char *a, const char *b);

#endif
