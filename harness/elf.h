/* Reading a program's ELF file for `faultline points TARGET`: the failure
 * points it declares (the "fl_points" section that lib/flrt.h's
 * FLRT_POINT fills), and what would keep faults from reaching it: static
 * linking, fortified calls libfiu does not wrap, Go, a private libfiu.
 * Functions return 0 or -errno and never print. */
#ifndef FL_ELF_H
#define FL_ELF_H

#include <stddef.h>

typedef struct fl_elf_info {
	int bits;		/* 32 or 64 */
	char **points;		/* declared failure points, sorted, unique */
	size_t npoints;
	char **fortified;	/* imported fortified functions (__read_chk,
				 * __open_2, ...), sorted, unique */
	size_t nfortified;
	char **needed;		/* DT_NEEDED libraries, in file order */
	size_t nneeded;
	char **imports;		/* functions it imports (undefined dynamic
				 * symbols that are not data), sorted, unique */
	size_t nimports;
	char *runpath;		/* DT_RUNPATH, else DT_RPATH, or NULL */
	int is_static;		/* no interpreter and no needed library */
	int is_go;		/* .go.buildinfo, .gopclntab or runtime.main */
	int own_libfiu;		/* defines fiu_fail itself (linked libfiu.a) */
} fl_elf_info;

/* Reads path. -ENOEXEC when it is not an ELF file or is malformed,
 * -ENOTSUP for the other byte order, -ENOMEM, or the error of opening or
 * reading it. On success *out owns its lists (fl_elf_info_free). */
int fl_elf_inspect(const char *path, fl_elf_info *out);
void fl_elf_info_free(fl_elf_info *info);

/* Finds the file of a needed library the way the dynamic loader would:
 * the object's runpath ($ORIGIN is origin_dir), the directories of
 * /etc/ld.so.conf, then /lib and /usr/lib; a candidate of another word
 * size (bits) is passed over. -ENOENT when none fits. */
int fl_elf_find_library(const char *soname, const char *runpath,
			const char *origin_dir, int bits, char *out, size_t outlen);

/* The functions a shared object defines in its dynamic symbol table (what
 * a preload such as libfiu's wraps), sorted and unique. */
int fl_elf_exports(const char *path, char ***names, size_t *count);
void fl_elf_names_free(char **names, size_t count);

/* Whether sorted names contain name. */
int fl_elf_names_contain(char *const *names, size_t count, const char *name);

/* The plain function a fortified one stands for: "__read_chk" -> "read",
 * "__open64_2" -> "open64". -EINVAL when name is not a fortified name. */
int fl_elf_fortified_base(const char *name, char *base, size_t len);

#endif
