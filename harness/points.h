/* The failure points faultline knows by name (lib/points_table.h:
 * libfiu's POSIX wrappers and the agent's own), the check of the names a
 * scenario uses (libfiu itself accepts a misspelled name without a word),
 * and what a program's imports mean for fault injection. */
#ifndef FL_POINTS_H
#define FL_POINTS_H

#include <stddef.h>

/* NULL-terminated list of every point a scenario may name under posix/,
 * libc/ and linux/: libfiu's and faultline's, sorted. */
const char *const *fl_points_posix(void);

/* What one imported function means for fault injection. */
enum fl_call_class {
	FL_CALL_OTHER = 0,	/* none of I/O, network, memory, process */
	FL_CALL_REACHED,	/* its calls reach *point (*wrapper's wrapper) */
	FL_CALL_FORTIFIED,	/* a fortified call no wrapper covers, whose
				 * plain function would reach *point */
	FL_CALL_UNCOVERED,	/* an I/O, network, memory or process call
				 * no point covers */
};

/* Classifies a function by name. *point and *wrapper ("libfiu",
 * "faultline") are set for a reached call, *point for a fortified one,
 * *kind ("I/O", "network", "memory", "process") for every class but
 * FL_CALL_OTHER. The strings are static. */
int fl_points_classify(const char *function, const char **point,
		       const char **wrapper, const char **kind);

typedef struct fl_points_call {
	char *function;
	char *from;		/* NULL: the program itself; else the soname
				 * of the library that imports it */
	const char *point;	/* the point it reaches (or would reach) */
	const char *wrapper;	/* "libfiu" or "faultline", when reached */
	const char *kind;
} fl_points_call;

/* A program's calls, sorted out: those that reach a failure point
 * (sorted by point), and those no point covers (by kind, then name;
 * fortified ones carry the point they would reach). The program's own
 * imports come first; its libraries' imports (what they call through the
 * preloaded wrappers too) add the functions the program does not import
 * itself. */
typedef struct fl_points_reach {
	fl_points_call *reached;
	size_t nreached;
	fl_points_call *uncovered;
	size_t nuncovered;
	char **libraries;	/* sonames inspected, in loader order */
	size_t nlibraries;
	char **missing;		/* needed libraries that were not found */
	size_t nmissing;
} fl_points_reach;

/* Inspects the program at path and its libraries. 0, or the error of
 * reading path (fl_elf_inspect's); on success *out owns its lists. */
int fl_points_reach_of(const char *path, fl_points_reach *out);
void fl_points_reach_free(fl_points_reach *r);

/* The warning `points` and `run` give for fortified calls no wrapper
 * covers (only calls that would be points: never __memcpy_chk). 1 with
 * the sentence in buf, 0 with "" when there is nothing to say. */
int fl_points_fortify_warning(const fl_points_reach *r, const char *target,
			      char *buf, size_t len);

/* For `run`: the same warning for the program at path, the first time a
 * path is asked about in this process (1, with the sentence in buf);
 * 0 with "" afterwards or when there is nothing to say; or -errno. */
int fl_points_fortify_warning_once(const char *path, char *buf, size_t len);

/* Does the program (or a library it loads) call something that reaches
 * point (a trailing '*': any point of the family)? */
int fl_points_reaches(const fl_points_reach *r, const char *point);
/* The calls that reach points like this one: those whose function starts
 * like the point's ("accept4 (posix/io/net/accept4)" for
 * posix/io/net/accept), comma-separated in out ("" for none). */
void fl_points_similar_calls(const fl_points_reach *r, const char *point,
			     char *out, size_t len);

/* Checks a point name a scenario uses. Names under posix/, libc/ and linux/
 * must be libfiu points (a trailing '*' matches a family); other names are
 * the target's own points, unless their family is one of those three
 * misspelled with the rest naming a known point ("posx/io/net/accept4").
 * Returns 0, or -1 with a sentence in why that suggests the closest known
 * name (or family, for a name that ends in '*'). */
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
