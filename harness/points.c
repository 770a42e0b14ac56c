/* The failure points faultline knows (lib/points_table.h), the check of
 * the names scenarios use, and what a program's imports mean for fault
 * injection: which calls reach which point, and which I/O, network,
 * memory and process calls no point covers. */
#define _GNU_SOURCE
#include "points.h"

#include "../lib/points_table.h"
#include "elf.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every point's name, in the table's (sorted) order. */
static const char *point_names[FL_POINT_TABLE_LEN + 1];
static pthread_once_t point_names_once = PTHREAD_ONCE_INIT;

static void fill_point_names(void)
{
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++)
		point_names[i] = fl_point_table[i].name;
	point_names[FL_POINT_TABLE_LEN] = NULL;
}

const char *const *fl_points_posix(void)
{
	pthread_once(&point_names_once, fill_point_names);
	return point_names;
}

size_t fl_points_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 127 || lb > 127)
		return (size_t)-1;
	size_t row[128];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* The closest known point (or family such as posix/io/net/ for a name that
 * ends in '*') to name, and its distance. */
static const char *closest_point(const char *name, size_t *dist)
{
	static __thread char family[128];
	size_t len = strlen(name);
	int wildcard = len && name[len - 1] == '*';
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (const char *const *p = fl_points_posix(); *p; p++) {
		size_t d = fl_points_distance(name, *p);
		if (d < best_d) {
			best_d = d;
			best = *p;
		}
		/* A family: each prefix of the name that ends in '/'. */
		for (const char *s = *p; wildcard && (s = strchr(s, '/')); s++) {
			char f[128];
			int n = snprintf(f, sizeof f, "%.*s*", (int)(s - *p + 1), *p);
			if (n < 0 || (size_t)n >= sizeof f)
				break;
			d = fl_points_distance(name, f);
			if (d < best_d) {
				best_d = d;
				snprintf(family, sizeof family, "%s", f);
				best = family;
			}
		}
	}
	*dist = best_d;
	return best;
}

/* A name outside posix/, libc/ and linux/ whose family is one of them
 * misspelled ("posx/io/net/accept4", "linx/io") and whose rest then names
 * a known point or family: that point, else NULL. A target's own family
 * ("lib/db/open", "app/cache") matches no known point, so it passes. */
static const char *misspelled_family(const char *name)
{
	static const char *const families[] = {"posix", "libc", "linux"};
	const char *slash = strchr(name, '/');
	/* A whole family ("lib" and a star) says nothing beyond its name:
	 * it may be a target's own. */
	if (!slash || slash == name || slash - name > 16 || !strcmp(slash, "/*"))
		return NULL;
	char family[20];
	snprintf(family, sizeof family, "%.*s", (int)(slash - name), name);
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		size_t d = fl_points_distance(family, families[i]);
		if (d == 0 || d > 2 || strlen(family) < 3)
			continue;
		char fixed[256];
		snprintf(fixed, sizeof fixed, "%s%s", families[i], slash);
		size_t dist;
		const char *best = closest_point(fixed, &dist);
		if (best && dist <= 2)
			return best;
	}
	return NULL;
}

int fl_points_check(const char *name, char *why, size_t whylen)
{
	if (!name[0]) {
		snprintf(why, whylen, "empty point name");
		return -1;
	}
	if (strncmp(name, "posix/", 6) != 0 && strncmp(name, "libc/", 5) != 0 &&
	    strncmp(name, "linux/", 6) != 0) {
		const char *fixed = misspelled_family(name);
		if (!fixed)
			return 0;
		snprintf(why, whylen,
			 "unknown failure point '%s' (did you mean '%s'?)", name,
			 fixed);
		return -1;
	}
	size_t len = strlen(name);
	int wildcard = name[len - 1] == '*';
	for (const char *const *p = fl_points_posix(); *p; p++)
		if (wildcard ? strncmp(*p, name, len - 1) == 0
			     : strcmp(*p, name) == 0)
			return 0;
	size_t best_d;
	const char *best = closest_point(name, &best_d);
	if (best && best_d <= 4)
		snprintf(why, whylen,
			 "unknown failure point '%s' (did you mean '%s'?)", name,
			 best);
	else
		snprintf(why, whylen,
			 "unknown failure point '%s' (see 'faultline points' for "
			 "the list)",
			 name);
	return -1;
}

int fl_nth_check(const char *spec, char *why, size_t whylen)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", spec);
	int ranges = 0;
	char *save = NULL;
	for (char *part = strtok_r(buf, ",", &save); part;
	     part = strtok_r(NULL, ",", &save)) {
		while (*part == ' ')
			part++;
		char *end;
		if (strncmp(part, "every", 5) == 0) {
			char *q = part + 5;
			while (*q == ' ')
				q++;
			long long k = strtoll(q, &end, 10);
			if (end == q || k < 1 || *end)
				goto bad;
			continue;
		}
		long long lo = strtoll(part, &end, 10), hi = lo;
		if (end == part || lo < 1)
			goto bad;
		if (*end == '-') {
			char *e2;
			hi = strtoll(end + 1, &e2, 10);
			if (e2 == end + 1 || hi < lo)
				goto bad;
			end = e2;
		}
		while (*end == ' ')
			end++;
		if (*end || ++ranges > 16)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, whylen,
		 "nth '%s' must be call numbers like \"3\", \"5-9\", \"every 4\" "
		 "or a comma list of those (calls count from 1)",
		 spec);
	return -1;
}

int fl_points_check_declared(const char *name, char *const *declared, int n,
			     char *why, size_t whylen)
{
	if (n == 0 || strncmp(name, "posix/", 6) == 0 ||
	    strncmp(name, "libc/", 5) == 0 || strncmp(name, "linux/", 6) == 0)
		return 0;
	size_t len = strlen(name);
	int wildcard = len && name[len - 1] == '*';
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (int i = 0; i < n; i++) {
		if (wildcard ? strncmp(declared[i], name, len - 1) == 0
			     : strcmp(declared[i], name) == 0)
			return 0;
		size_t d = fl_points_distance(name, declared[i]);
		if (d < best_d) {
			best_d = d;
			best = declared[i];
		}
	}
	if (best && best_d <= 4)
		snprintf(why, whylen,
			 "the target declares no failure point '%s' (did you "
			 "mean '%s'?)",
			 name, best);
	else
		snprintf(why, whylen,
			 "the target declares no failure point '%s' (see "
			 "'faultline points TARGET')",
			 name);
	return -1;
}

/* ------------------------------------------------------------------ */
/* What a program's imports mean for fault injection                    */
/* ------------------------------------------------------------------ */

/* I/O, network, memory and process functions that neither libfiu nor
 * faultline wraps: a program that calls them cannot be faulted there, and
 * `faultline points TARGET` says so by name. Functions outside these four
 * kinds (strlen, pthread_mutex_lock) are not listed: nobody expects to
 * fault them. Sorted by name. */
static const struct {
	const char *name;
	const char *kind;
} uncovered[] = {
	{ "__fxstat", "I/O" }, { "__fxstat64", "I/O" }, { "__fxstatat", "I/O" },
	{ "__fxstatat64", "I/O" }, { "__lxstat", "I/O" }, { "__lxstat64", "I/O" },
	{ "__xstat", "I/O" }, { "__xstat64", "I/O" },
	{ "access", "I/O" }, { "aio_read", "I/O" }, { "aio_read64", "I/O" },
	{ "aio_write", "I/O" }, { "aio_write64", "I/O" },
	{ "brk", "memory" }, { "chdir", "I/O" }, { "chmod", "I/O" }, { "chown", "I/O" },
	{ "clone", "process" }, { "clone3", "process" },
	{ "copy_file_range", "I/O" }, { "creat", "I/O" }, { "creat64", "I/O" },
	{ "daemon", "process" }, { "dup", "I/O" }, { "dup2", "I/O" }, { "dup3", "I/O" },
	{ "epoll_create", "network" }, { "epoll_create1", "network" },
	{ "epoll_ctl", "network" }, { "euidaccess", "I/O" },
	{ "eventfd", "I/O" }, { "eventfd_read", "I/O" }, { "eventfd_write", "I/O" },
	{ "execl", "process" }, { "execle", "process" }, { "execlp", "process" },
	{ "execv", "process" }, { "execve", "process" }, { "execvp", "process" },
	{ "execvpe", "process" }, { "faccessat", "I/O" }, { "fallocate", "I/O" },
	{ "fallocate64", "I/O" }, { "fchdir", "I/O" }, { "fchmod", "I/O" },
	{ "fchmodat", "I/O" }, { "fchown", "I/O" }, { "fchownat", "I/O" },
	{ "fcntl", "I/O" }, { "fcntl64", "I/O" }, { "fexecve", "process" },
	{ "fflush_unlocked", "I/O" }, { "fgets_unlocked", "I/O" }, { "fgetwc", "I/O" },
	{ "fgetws", "I/O" }, { "flock", "I/O" }, { "fputs_unlocked", "I/O" },
	{ "fputwc", "I/O" }, { "fputws", "I/O" }, { "fread_unlocked", "I/O" },
	{ "fstat", "I/O" }, { "fstat64", "I/O" }, { "fstatat", "I/O" },
	{ "fstatat64", "I/O" }, { "fstatfs", "I/O" }, { "fstatfs64", "I/O" },
	{ "ftw", "I/O" }, { "futimens", "I/O" }, { "futimes", "I/O" },
	{ "fwprintf", "I/O" }, { "fwrite_unlocked", "I/O" },
	{ "get_current_dir_name", "I/O" }, { "getaddrinfo", "network" },
	{ "getcwd", "I/O" }, { "getdents64", "I/O" }, { "gethostbyaddr", "network" },
	{ "gethostbyname", "network" }, { "gethostbyname2", "network" },
	{ "gethostbyname_r", "network" }, { "getnameinfo", "network" },
	{ "getpeername", "network" }, { "getsockname", "network" },
	{ "getsockopt", "network" }, { "glob", "I/O" }, { "glob64", "I/O" },
	{ "inotify_add_watch", "I/O" }, { "inotify_init", "I/O" },
	{ "inotify_init1", "I/O" }, { "ioctl", "I/O" }, { "lchown", "I/O" },
	{ "link", "I/O" }, { "linkat", "I/O" }, { "lockf", "I/O" }, { "lockf64", "I/O" },
	{ "lseek", "I/O" }, { "lseek64", "I/O" }, { "lstat", "I/O" }, { "lstat64", "I/O" },
	{ "memfd_create", "I/O" }, { "mkdir", "I/O" }, { "mkdirat", "I/O" },
	{ "mkdtemp", "I/O" }, { "mkfifo", "I/O" }, { "mknod", "I/O" },
	{ "mkostemp", "I/O" }, { "mkostemp64", "I/O" }, { "mkostemps", "I/O" },
	{ "mkstemp", "I/O" }, { "mkstemp64", "I/O" }, { "mkstemps", "I/O" },
	{ "mlock2", "memory" }, { "mremap", "memory" }, { "nftw", "I/O" },
	{ "nftw64", "I/O" }, { "pipe", "I/O" }, { "pipe2", "I/O" },
	{ "posix_fadvise", "I/O" }, { "posix_fadvise64", "I/O" },
	{ "posix_fallocate", "I/O" }, { "posix_fallocate64", "I/O" },
	{ "posix_spawn", "process" }, { "posix_spawnp", "process" },
	{ "preadv2", "I/O" }, { "preadv64v2", "I/O" }, { "prlimit", "process" },
	{ "prlimit64", "process" }, { "pthread_create", "process" },
	{ "pvalloc", "memory" }, { "pwritev2", "I/O" }, { "pwritev64v2", "I/O" },
	{ "readlink", "I/O" }, { "readlinkat", "I/O" }, { "reallocarray", "memory" },
	{ "realpath", "I/O" }, { "renameat", "I/O" }, { "renameat2", "I/O" },
	{ "rmdir", "I/O" }, { "sbrk", "memory" }, { "scandir", "I/O" },
	{ "scandir64", "I/O" }, { "setgid", "process" }, { "setgroups", "process" },
	{ "setrlimit", "process" }, { "setrlimit64", "process" }, { "setsid", "process" },
	{ "setsockopt", "network" }, { "setuid", "process" }, { "shm_open", "memory" },
	{ "shmat", "memory" }, { "shmget", "memory" }, { "signalfd", "I/O" },
	{ "socketpair", "network" }, { "splice", "I/O" }, { "stat", "I/O" },
	{ "stat64", "I/O" }, { "statfs", "I/O" }, { "statfs64", "I/O" },
	{ "statvfs", "I/O" }, { "statvfs64", "I/O" }, { "statx", "I/O" },
	{ "symlink", "I/O" }, { "symlinkat", "I/O" }, { "sync", "I/O" },
	{ "syncfs", "I/O" }, { "syslog", "I/O" }, { "system", "process" },
	{ "tee", "I/O" }, { "timerfd_create", "I/O" }, { "unlinkat", "I/O" },
	{ "utime", "I/O" }, { "utimensat", "I/O" }, { "utimes", "I/O" },
	{ "valloc", "memory" }, { "vfork", "process" }, { "vmsplice", "I/O" },
	{ "vsyslog", "I/O" }, { "wait3", "process" }, { "wait4", "process" },
};

#define NUNCOVERED (sizeof uncovered / sizeof uncovered[0])

static const char *uncovered_kind(const char *fn)
{
	size_t lo = 0, hi = NUNCOVERED;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(fn, uncovered[mid].name);
		if (c == 0)
			return uncovered[mid].kind;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The kind of call a point stands for, after its family. */
static const char *point_kind(const char *point)
{
	if (strncmp(point, "libc/mm/", 8) == 0 || strncmp(point, "posix/mm/", 9) == 0 ||
	    strncmp(point, "libc/str/", 9) == 0)
		return "memory";
	if (strncmp(point, "posix/io/net/", 13) == 0)
		return "network";
	if (strncmp(point, "posix/proc/", 11) == 0)
		return "process";
	return "I/O";
}

/* The point whose wrappers include fn, and whose wrapper it is. */
static const char *point_of(const char *fn, const char **wrapper)
{
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++) {
		const fl_point_def *d = &fl_point_table[i];
		/* The reduce points share their function with the failing
		 * point; the function reaches the failing one first. */
		if (fl_point_list_has(d->faultline, fn)) {
			*wrapper = "faultline";
			return d->name;
		}
		if (fl_point_list_has(d->libfiu, fn)) {
			*wrapper = "libfiu";
			return d->name;
		}
	}
	return NULL;
}

int fl_points_classify(const char *fn, const char **point, const char **wrapper,
		       const char **kind)
{
	*point = *wrapper = *kind = NULL;
	const char *p = point_of(fn, wrapper);
	if (p) {
		*point = p;
		*kind = point_kind(p);
		return FL_CALL_REACHED;
	}
	char base[256];
	if (fl_elf_fortified_base(fn, base, sizeof base) == 0) {
		const char *w;
		const char *bp = point_of(base, &w);
		if (bp) {
			/* A fortified call whose plain function is a point,
			 * and which no wrapper covers. */
			*point = bp;
			*kind = point_kind(bp);
			return FL_CALL_FORTIFIED;
		}
		fn = base;
	}
	*kind = uncovered_kind(fn);
	return *kind ? FL_CALL_UNCOVERED : FL_CALL_OTHER;
}

/* glibc's own libraries: their calls into the C library are internal
 * (no PLT), so what they import says nothing a preload could reach. */
static int part_of_libc(const char *soname)
{
	static const char *const libc_parts[] = {
		"libc.so", "ld-linux", "libm.so", "libpthread.so", "libdl.so",
		"librt.so", "libresolv.so", "libanl.so", "libutil.so", "libmvec.so",
		"libfiu.so",
	};
	for (size_t i = 0; i < sizeof libc_parts / sizeof libc_parts[0]; i++)
		if (strncmp(soname, libc_parts[i], strlen(libc_parts[i])) == 0)
			return 1;
	return 0;
}

/* A growable array of calls. */
static int calls_add(fl_points_call **v, size_t *n, const char *fn, const char *from,
		     const char *point, const char *wrapper, const char *kind)
{
	fl_points_call *nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	fl_points_call *c = &nv[*n];
	c->function = strdup(fn);
	c->from = from ? strdup(from) : NULL;
	if (!c->function || (from && !c->from)) {
		free(c->function);
		free(c->from);
		return -ENOMEM;
	}
	c->point = point;
	c->wrapper = wrapper;
	c->kind = kind;
	(*n)++;
	return 0;
}

static int seen_function(const fl_points_reach *r, const char *fn)
{
	for (size_t i = 0; i < r->nreached; i++)
		if (strcmp(r->reached[i].function, fn) == 0)
			return 1;
	for (size_t i = 0; i < r->nuncovered; i++)
		if (strcmp(r->uncovered[i].function, fn) == 0)
			return 1;
	return 0;
}

/* Classifies the imports of one object (from: NULL for the target). */
static int add_imports(fl_points_reach *r, const fl_elf_info *info, const char *from)
{
	for (size_t i = 0; i < info->nimports; i++) {
		const char *fn = info->imports[i];
		const char *point, *wrapper, *kind;
		int c = fl_points_classify(fn, &point, &wrapper, &kind);
		if (c == FL_CALL_OTHER || (from && seen_function(r, fn)))
			continue;
		int rc = c == FL_CALL_REACHED
				 ? calls_add(&r->reached, &r->nreached, fn, from, point,
					     wrapper, kind)
				 : calls_add(&r->uncovered, &r->nuncovered, fn, from, point,
					     NULL, kind);
		if (rc)
			return rc;
	}
	return 0;
}

static int names_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int has_name(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* A library to inspect: its needed name, and what its finder needs from
 * the object that needs it. */
typedef struct pending_lib {
	char *soname;
	char *origin;	/* the directory of the object that needs it */
	char *runpath;	/* that object's runpath, or NULL */
} pending_lib;

#define MAX_LIBRARIES 64

static int queue_needed(pending_lib **q, size_t *n, const fl_elf_info *from,
			const char *from_path)
{
	for (size_t i = 0; i < from->nneeded; i++) {
		const char *so = from->needed[i];
		int dup = part_of_libc(so);
		for (size_t k = 0; !dup && k < *n; k++)
			dup = strcmp((*q)[k].soname, so) == 0;
		if (dup || *n >= MAX_LIBRARIES)
			continue;
		pending_lib *nq = realloc(*q, (*n + 1) * sizeof **q);
		if (!nq)
			return -ENOMEM;
		*q = nq;
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", from_path);
		pending_lib *p = &nq[*n];
		p->soname = strdup(so);
		p->origin = strdup(dirname(dir));
		p->runpath = from->runpath ? strdup(from->runpath) : NULL;
		(*n)++;
		if (!p->soname || !p->origin || (from->runpath && !p->runpath))
			return -ENOMEM;
	}
	return 0;
}

/* Adds the imports of the needed libraries, breadth first as the loader
 * orders them: their calls go through the same preloaded wrappers. */
static int add_libraries(fl_points_reach *r, const char *path, const fl_elf_info *top)
{
	pending_lib *q = NULL;
	size_t nq = 0;
	int rc = queue_needed(&q, &nq, top, path);
	for (size_t i = 0; rc == 0 && i < nq; i++) {
		char file[PATH_MAX];
		fl_elf_info lib;
		if (fl_elf_find_library(q[i].soname, q[i].runpath, q[i].origin, top->bits,
					file, sizeof file) != 0 ||
		    fl_elf_inspect(file, &lib) != 0) {
			rc = names_push(&r->missing, &r->nmissing, q[i].soname);
			continue;
		}
		rc = names_push(&r->libraries, &r->nlibraries, q[i].soname);
		if (rc == 0)
			rc = add_imports(r, &lib, q[i].soname);
		if (rc == 0)
			rc = queue_needed(&q, &nq, &lib, file);
		fl_elf_info_free(&lib);
	}
	for (size_t i = 0; i < nq; i++) {
		free(q[i].soname);
		free(q[i].origin);
		free(q[i].runpath);
	}
	free(q);
	return rc;
}

static int cmp_reached(const void *a, const void *b)
{
	const fl_points_call *x = a, *y = b;
	int c = strcmp(x->point, y->point);
	if (c)
		return c;
	if (!x->from != !y->from)
		return x->from ? 1 : -1;
	return strcmp(x->function, y->function);
}

static const char *const kinds[] = { "I/O", "network", "memory", "process" };

static int kind_rank(const char *kind)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return i;
	return 4;
}

static int cmp_uncovered(const void *a, const void *b)
{
	const fl_points_call *x = a, *y = b;
	int c = kind_rank(x->kind) - kind_rank(y->kind);
	if (c)
		return c;
	if (!x->from != !y->from)
		return x->from ? 1 : -1;
	return strcmp(x->function, y->function);
}

int fl_points_reach_of(const char *path, fl_points_reach *out)
{
	memset(out, 0, sizeof *out);
	fl_elf_info info;
	int rc = fl_elf_inspect(path, &info);
	if (rc)
		return rc;
	rc = add_imports(out, &info, NULL);
	if (rc == 0)
		rc = add_libraries(out, path, &info);
	fl_elf_info_free(&info);
	if (rc) {
		fl_points_reach_free(out);
		return rc;
	}
	if (out->nreached)
		qsort(out->reached, out->nreached, sizeof *out->reached, cmp_reached);
	if (out->nuncovered)
		qsort(out->uncovered, out->nuncovered, sizeof *out->uncovered, cmp_uncovered);
	return 0;
}

static void calls_free(fl_points_call *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].function);
		free(v[i].from);
	}
	free(v);
}

static void strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void fl_points_reach_free(fl_points_reach *r)
{
	calls_free(r->reached, r->nreached);
	calls_free(r->uncovered, r->nuncovered);
	strings_free(r->libraries, r->nlibraries);
	strings_free(r->missing, r->nmissing);
	memset(r, 0, sizeof *r);
}

int fl_points_fortify_warning(const fl_points_reach *r, const char *target, char *buf,
			      size_t len)
{
	char list[1024] = "";
	size_t used = 0, count = 0;
	for (size_t i = 0; i < r->nuncovered; i++) {
		const fl_points_call *c = &r->uncovered[i];
		if (!c->point)
			continue;
		char base[256] = "";
		fl_elf_fortified_base(c->function, base, sizeof base);
		int n = snprintf(list + used, sizeof list - used,
				 "%s%s (instead of %s, point %s%s%s)", count ? ", " : "",
				 c->function, base, c->point, c->from ? ", in " : "",
				 c->from ? c->from : "");
		count++;
		if (n < 0 || (size_t)n >= sizeof list - used) {
			/* Too many to name: the list ends with what fits. */
			snprintf(list + (used < sizeof list - 6 ? used : sizeof list - 6), 6,
				 ", ...");
			break;
		}
		used += (size_t)n;
	}
	if (count == 0) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	snprintf(buf, len,
		 "%s was built with _FORTIFY_SOURCE and calls %s: no wrapper covers "
		 "these fortified calls, so faults on their points never reach them "
		 "(build it with -U_FORTIFY_SOURCE)",
		 target, list);
	return 1;
}

/* The programs `run` has already warned about (or found nothing to say
 * about): one warning per program per run, however many scenarios start
 * it. */
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static char **warned;
static size_t nwarned;

int fl_points_fortify_warning_once(const char *path, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	pthread_mutex_lock(&warned_lock);
	int first = !has_name(warned, nwarned, path);
	int rc = first ? names_push(&warned, &nwarned, path) : 0;
	pthread_mutex_unlock(&warned_lock);
	if (!first || rc)
		return rc;
	fl_points_reach r;
	rc = fl_points_reach_of(path, &r);
	if (rc)
		return rc;
	rc = fl_points_fortify_warning(&r, path, buf, len);
	fl_points_reach_free(&r);
	return rc;
}

int fl_points_reaches(const fl_points_reach *r, const char *point)
{
	size_t pl = strlen(point);
	int family = pl && point[pl - 1] == '*';
	for (size_t i = 0; i < r->nreached; i++)
		if (family ? strncmp(r->reached[i].point, point, pl - 1) == 0
			   : strcmp(r->reached[i].point, point) == 0)
			return 1;
	return 0;
}

void fl_points_similar_calls(const fl_points_reach *r, const char *point,
			     char *out, size_t len)
{
	const char *fn = strrchr(point, '/');
	fn = fn ? fn + 1 : point;
	size_t fl = strlen(fn);
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->nreached && used + 64 < len; i++) {
		const fl_points_call *c = &r->reached[i];
		if (strncmp(c->function, fn, fl) != 0 || strstr(out, c->point) ||
		    strcmp(c->point, point) == 0)
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s (%s)",
					 used ? ", " : "", c->function, c->point);
	}
}
