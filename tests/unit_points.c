/* The table of failure points (lib/points_table.h) against what really
 * wraps the functions it names (libfiu's preload, faultline's agent), the
 * agent's wrappers called one by one (tests/targets/wrapprobe.c), and the
 * sorting of a program's imports into calls that reach a point and calls
 * no point covers (harness/points.c) on binaries built for it. */
#include "testutil.h"
#include "../lib/points_table.h"
#include "elf.h"
#include "points.h"

#define ELF_DIR "build/tests/elf/"
#define AGENT "lib/faultline-agent.so"

/* The libfiu points the build found in its preload (build/points.inc). */
static const char *const preload_points[] = {
#define FL_POINT(name) name,
#include "points.inc"
#undef FL_POINT
};
#define NPRELOAD_POINTS (sizeof preload_points / sizeof preload_points[0])

static int is_preload_point(const char *name)
{
	for (size_t i = 0; i < NPRELOAD_POINTS; i++)
		if (!strcmp(preload_points[i], name))
			return 1;
	return 0;
}

static int is_reduce(const char *name)
{
	size_t n = strlen(name);
	return n > 7 && !strcmp(name + n - 7, "/reduce");
}

/* Calls fn(row, function, wrapper) for every function of the table. */
static void each_function(void (*fn)(const fl_point_def *, const char *, const char *, void *),
			  void *arg)
{
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++) {
		const fl_point_def *d = &fl_point_table[i];
		const char *cols[2] = { d->libfiu, d->faultline };
		const char *who[2] = { "libfiu", "faultline" };
		for (int c = 0; c < 2; c++)
			for (const char *p = cols[c]; *p;) {
				size_t n = strcspn(p, " ");
				char f[64];
				cr_assert_lt(n, sizeof f);
				snprintf(f, sizeof f, "%.*s", (int)n, p);
				fn(d, f, who[c], arg);
				p += n;
				while (*p == ' ')
					p++;
			}
	}
}

static void count_failing_rows(const fl_point_def *d, const char *f, const char *who, void *arg)
{
	(void)who;
	if (is_reduce(d->name))
		return;
	/* A function reaches exactly one failing point. */
	size_t rows = 0;
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++)
		if (!is_reduce(fl_point_table[i].name) &&
		    (fl_point_list_has(fl_point_table[i].libfiu, f) ||
		     fl_point_list_has(fl_point_table[i].faultline, f)))
			rows++;
	cr_assert_eq(rows, 1u, "%s reaches %zu points", f, rows);
	(*(size_t *)arg)++;
}

Test(points_table, rows_are_sorted_named_and_have_valid_errnos)
{
	size_t functions = 0;
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++) {
		const fl_point_def *d = &fl_point_table[i];
		if (i)
			cr_assert_lt(strcmp(fl_point_table[i - 1].name, d->name), 0,
				     "not sorted and unique at %s", d->name);
		cr_assert(d->libfiu[0] || d->faultline[0], "%s: no function reaches it", d->name);
		int n = fl_point_def_nerrnos(d);
		cr_assert(n > 0 || is_reduce(d->name) || !strcmp(d->name, "posix/stdio/error/ferror") ||
				  !strcmp(d->name, "posix/stdio/ftrylockfile") ||
				  !strcmp(d->name, "posix/stdio/gp/ungetc") ||
				  !strcmp(d->name, "posix/stdio/tmp/tmpnam"),
			  "%s has no errnos", d->name);
		for (int k = 0; k < n; k++) {
			cr_assert(d->errnos[k] > 0 && d->errnos[k] < 4096, "%s", d->name);
			cr_assert_neq(strncmp(strerror(d->errnos[k]), "Unknown error", 13), 0,
				      "%s", d->name);
			/* Errors only a caller's bug causes are not injected
			 * (sigaction and signal have no other). */
			cr_assert((d->errnos[k] != EFAULT && d->errnos[k] != EINVAL) ||
					  !strcmp(d->name, "posix/proc/sigaction") ||
					  !strcmp(d->name, "posix/proc/signal"),
				  "%s lists %s", d->name, strerror(d->errnos[k]));
		}
		cr_assert_eq(fl_point_def_find(d->name), d);
	}
	each_function(count_failing_rows, &functions);
	cr_assert_gt(functions, 150u);
	cr_assert_null(fl_point_def_find("posix/io/oc/opne"));
}

Test(points_table, the_points_a_scenario_may_name)
{
	const char *const *names = fl_points_posix();
	size_t n = 0;
	while (names[n])
		n++;
	cr_assert_eq(n, FL_POINT_TABLE_LEN);
	char why[256];
	const char *ours[] = { "posix/io/net/accept4", "posix/io/oc/openat",
			       "posix/io/net/epoll_wait", "posix/io/net/sendfile",
			       "posix/io/net/recvmmsg", "posix/io/net/sendmmsg",
			       "libc/mm/posix_memalign", "libc/mm/aligned_alloc" };
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
		cr_assert_eq(fl_points_check(ours[i], why, sizeof why), 0, "%s: %s", ours[i], why);
	cr_assert_eq(fl_points_check("posix/io/net/accept5", why, sizeof why), -1);
	cr_assert(strstr(why, "did you mean 'posix/io/net/accept4'") ||
			  strstr(why, "did you mean 'posix/io/net/accept'"),
		  "%s", why);
}

/* A family that is posix/, libc/ or linux/ misspelled, with the rest a
 * known point, is no target's own point; a target's own family passes
 * (even one a letter from libc/ whose rest is no libc point). */
Test(points, misspelled_family)
{
	char why[256];
	cr_assert_eq(fl_points_check("posx/io/net/accept4", why, sizeof why), -1);
	cr_assert(strstr(why, "(did you mean 'posix/io/net/accept4'?)"), "%s", why);
	cr_assert_eq(fl_points_check("lbc/mm/malloc", why, sizeof why), -1);
	cr_assert(strstr(why, "(did you mean 'libc/mm/malloc'?)"), "%s", why);
	cr_assert_eq(fl_points_check("posix/io/nett/*", why, sizeof why), -1);
	cr_assert(strstr(why, "(did you mean 'posix/io/net/*'?)"), "%s", why);
	const char *own[] = {"lib/db/open", "app/cache/get", "posix_like/x",
			     "fl/chan/send/block", "lib/*"};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		cr_assert_eq(fl_points_check(own[i], why, sizeof why), 0, "%s: %s",
			     own[i], why);
}

/* The libfiu column is what the installed preload wraps; its points are
 * the preload's; the other points are faultline's own. */
typedef struct exports {
	char **names;
	size_t n;
} exports;

static void in_preload(const fl_point_def *d, const char *f, const char *who, void *arg)
{
	const exports *e = arg;
	if (!strcmp(who, "libfiu"))
		cr_assert(fl_elf_names_contain(e->names, e->n, f), "%s (%s) is not in libfiu's preload",
			  f, d->name);
}

Test(points_table, libfiu_column_is_what_the_preload_wraps)
{
	for (size_t i = 0; i < NPRELOAD_POINTS; i++)
		cr_assert_not_null(fl_point_def_find(preload_points[i]),
				   "libfiu's %s is not in the table", preload_points[i]);
	for (size_t i = 0; i < FL_POINT_TABLE_LEN; i++) {
		const fl_point_def *d = &fl_point_table[i];
		if (!is_preload_point(d->name))
			cr_assert(!d->libfiu[0] && d->faultline[0],
				  "%s is not libfiu's, so faultline must wrap it", d->name);
	}
	char **names;
	size_t n;
	cr_assert_eq(fl_elf_exports(FL_FIU_PRELOAD, &names, &n), 0);
	exports e = { names, n };
	each_function(in_preload, &e);
	/* Every function the preload wraps is in the table, but its own
	 * helpers. */
	const char *helpers[] = { "cache_create", "cache_del", "cache_free", "cache_get",
				  "cache_invalidate", "cache_resize", "cache_set", "clearerr",
				  "entry_for_key", "hash_create", "hash_del", "hash_free",
				  "hash_get", "hash_set", "libc_symbol", "set_ferror" };
	for (size_t i = 0; i < n; i++) {
		int helper = 0;
		for (size_t k = 0; k < sizeof helpers / sizeof helpers[0]; k++)
			helper |= !strcmp(names[i], helpers[k]);
		const char *point, *wrapper, *kind;
		cr_assert(helper || fl_points_classify(names[i], &point, &wrapper, &kind) ==
					    FL_CALL_REACHED,
			  "libfiu wraps %s, which the table does not list", names[i]);
	}
	fl_elf_names_free(names, n);
}

/* Is f one of the functions the agent wraps for its bookkeeping alone:
 * fd origins, or the ends of the children a process reaps? */
static int origin_function(const char *f)
{
	return fl_point_list_has(FL_ORIGIN_FUNCTIONS, f) ||
	       fl_point_list_has(FL_REAP_FUNCTIONS, f);
}

static void in_agent(const fl_point_def *d, const char *f, const char *who, void *arg)
{
	const exports *e = arg;
	if (!strcmp(who, "faultline"))
		cr_assert(fl_elf_names_contain(e->names, e->n, f),
			  "the agent does not define %s (%s)", f, d->name);
	else
		/* libfiu's wrapper decides; the agent's, in front of it, only
		 * records where an fd was made, or which child a wait reaped. */
		cr_assert(!fl_elf_names_contain(e->names, e->n, f) ||
				  origin_function(f),
			  "the agent defines %s, listed as libfiu's", f);
}

Test(points_table, faultline_column_is_what_the_agent_wraps)
{
	char **names;
	size_t n;
	cr_assert_eq(fl_elf_exports(AGENT, &names, &n), 0);
	exports e = { names, n };
	each_function(in_agent, &e);
	/* Every function of the origin and reap lists is the agent's. */
	const char *lists[] = { FL_ORIGIN_FUNCTIONS, FL_REAP_FUNCTIONS };
	for (size_t l = 0; l < 2; l++)
		for (const char *p = lists[l]; *p;) {
			size_t k = strcspn(p, " ");
			char f[64];
			snprintf(f, sizeof f, "%.*s", (int)k, p);
			cr_assert(fl_elf_names_contain(names, n, f),
				  "the agent does not define %s (%s)", f,
				  l ? "FL_REAP_FUNCTIONS" : "FL_ORIGIN_FUNCTIONS");
			p += k;
			while (*p == ' ')
				p++;
		}
	/* And the agent defines nothing else but its bookkeeping: fd origins
	 * (FL_ORIGIN_FUNCTIONS), reaped children (FL_REAP_FUNCTIONS), actors
	 * (pthread_create, pthread_setname_np) and the decision every
	 * wrapper asks for (libfiu's fiu_fail and fiu_failinfo, which the
	 * agent answers itself, per thread). */
	for (size_t i = 0; i < n; i++) {
		const char *point, *wrapper, *kind;
		int reached = fl_points_classify(names[i], &point, &wrapper, &kind) ==
			      FL_CALL_REACHED;
		if (origin_function(names[i]))
			continue; /* fd origins, reaps: checked above */
		cr_assert(reached ? !strcmp(wrapper, "faultline")
				  : !strcmp(names[i], "pthread_create") ||
					    !strcmp(names[i], "pthread_setname_np") ||
					    !strcmp(names[i], "fiu_fail") ||
					    !strcmp(names[i], "fiu_failinfo"),
			  "the agent defines %s", names[i]);
	}
	fl_elf_names_free(names, n);
}

static void count_ours(const fl_point_def *d, const char *f, const char *who, void *arg)
{
	(void)d;
	(void)f;
	if (!strcmp(who, "faultline"))
		(*(size_t *)arg)++;
}

/* Every wrapper of the agent, off, on, and off again, under the real
 * preloads (tests/targets/wrapprobe.c says what it checks). */
Test(points_table, every_wrapper_fails_as_its_point_says, .timeout = 60)
{
	size_t ours = 0;
	each_function(count_ours, &ours);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		char preload[PATH_MAX * 2];
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			_exit(126);
		snprintf(preload, sizeof preload, "%s/%s:%s", cwd, AGENT, FL_FIU_PRELOAD);
		setenv("LD_PRELOAD", preload, 1);
		unsetenv("FL_AGENT_FD");
		execl("build/tests/targets/wrapprobe", "wrapprobe", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char out[16384];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof out - 1 && (n = read(p[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	char want[64];
	snprintf(want, sizeof want, "checked %zu wrong 0\n", ours);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d:\n%s", status, out);
	cr_assert_str_eq(out, want);
}

Test(points_classify, each_kind_of_call)
{
	const struct {
		const char *fn;
		int class;
		const char *point, *wrapper, *kind;
	} cases[] = {
		{ "accept4", FL_CALL_REACHED, "posix/io/net/accept4", "faultline", "network" },
		{ "accept", FL_CALL_REACHED, "posix/io/net/accept", "libfiu", "network" },
		{ "read", FL_CALL_REACHED, "posix/io/rw/read", "libfiu", "I/O" },
		{ "__read_chk", FL_CALL_REACHED, "posix/io/rw/read", "faultline", "I/O" },
		{ "openat64", FL_CALL_REACHED, "posix/io/oc/openat", "faultline", "I/O" },
		{ "__poll_chk", FL_CALL_REACHED, "posix/io/net/poll", "faultline", "network" },
		{ "close", FL_CALL_REACHED, "posix/io/oc/close", "faultline", "I/O" },
		{ "malloc", FL_CALL_REACHED, "libc/mm/malloc", "libfiu", "memory" },
		{ "posix_memalign", FL_CALL_REACHED, "libc/mm/posix_memalign", "faultline",
		  "memory" },
		{ "fork", FL_CALL_REACHED, "posix/proc/fork", "libfiu", "process" },
		{ "__getdelim", FL_CALL_REACHED, "posix/stdio/gp/getline", "faultline", "I/O" },
		/* Not glibc's, but the shape of one faultline would miss. */
		{ "__write_chk", FL_CALL_FORTIFIED, "posix/io/rw/write", NULL, "I/O" },
		{ "__realpath_chk", FL_CALL_UNCOVERED, NULL, NULL, "I/O" },
		{ "pipe2", FL_CALL_UNCOVERED, NULL, NULL, "I/O" },
		{ "setsockopt", FL_CALL_UNCOVERED, NULL, NULL, "network" },
		{ "reallocarray", FL_CALL_UNCOVERED, NULL, NULL, "memory" },
		{ "pthread_create", FL_CALL_UNCOVERED, NULL, NULL, "process" },
		{ "__memcpy_chk", FL_CALL_OTHER, NULL, NULL, NULL },
		{ "__stack_chk_fail", FL_CALL_OTHER, NULL, NULL, NULL },
		{ "strlen", FL_CALL_OTHER, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *point, *wrapper, *kind;
		int c = fl_points_classify(cases[i].fn, &point, &wrapper, &kind);
		cr_assert_eq(c, cases[i].class, "%s: class %d", cases[i].fn, c);
		cr_assert(cases[i].point ? point && !strcmp(point, cases[i].point) : !point,
			  "%s: point %s", cases[i].fn, point ? point : "-");
		cr_assert(cases[i].wrapper ? wrapper && !strcmp(wrapper, cases[i].wrapper)
					   : !wrapper,
			  "%s: wrapper %s", cases[i].fn, wrapper ? wrapper : "-");
		cr_assert(cases[i].kind ? kind && !strcmp(kind, cases[i].kind) : !kind,
			  "%s: kind %s", cases[i].fn, kind ? kind : "-");
	}
}

static const fl_points_call *find_call(fl_points_call *v, size_t n, const char *fn)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].function, fn))
			return &v[i];
	return NULL;
}

/* The fortified test target (-O2 -D_FORTIFY_SOURCE=2): its accept4,
 * openat, __openat_2 and __read_chk all reach points; nothing to warn. */
Test(points_reach, a_fortified_server_is_reached)
{
	fl_points_reach r;
	cr_assert_eq(fl_points_reach_of("build/tests/targets/fortio", &r), 0);
	const struct {
		const char *fn, *point, *wrapper;
	} want[] = {
		{ "accept4", "posix/io/net/accept4", "faultline" },
		{ "openat", "posix/io/oc/openat", "faultline" },
		{ "__openat_2", "posix/io/oc/openat", "faultline" },
		{ "__read_chk", "posix/io/rw/read", "faultline" },
		{ "__printf_chk", "posix/stdio/sp/printf", "faultline" },
		{ "accept", "posix/io/net/accept", "libfiu" },
		{ "recv", "posix/io/net/recv", "libfiu" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const fl_points_call *c = find_call(r.reached, r.nreached, want[i].fn);
		cr_assert_not_null(c, "%s not reached", want[i].fn);
		cr_assert_str_eq(c->point, want[i].point);
		cr_assert_str_eq(c->wrapper, want[i].wrapper);
		cr_assert_null(c->from, "%s is the program's own import", want[i].fn);
	}
	/* Sorted by point. */
	for (size_t i = 1; i < r.nreached; i++)
		cr_assert_leq(strcmp(r.reached[i - 1].point, r.reached[i].point), 0);
	const fl_points_call *c = find_call(r.uncovered, r.nuncovered, "setsockopt");
	cr_assert(c && !strcmp(c->kind, "network"));
	cr_assert_null(find_call(r.uncovered, r.nuncovered, "__snprintf_chk"));
	cr_assert_null(find_call(r.reached, r.nreached, "__snprintf_chk"));
	cr_assert_eq(r.nmissing, 0u);
	char w[1024];
	cr_assert_eq(fl_points_fortify_warning(&r, "fortio", w, sizeof w), 0);
	cr_assert_str_eq(w, "");
	fl_points_reach_free(&r);
}

/* A fortified call no wrapper covers is named, with the point it would
 * reach; __memcpy_chk never is. The library that provides __write_chk is
 * found through the binary's runpath ($ORIGIN). */
Test(points_reach, a_fortified_call_no_wrapper_covers_is_named)
{
	fl_points_reach r;
	cr_assert_eq(fl_points_reach_of(ELF_DIR "gap", &r), 0);
	const fl_points_call *c = find_call(r.uncovered, r.nuncovered, "__write_chk");
	cr_assert_not_null(c);
	cr_assert_str_eq(c->point, "posix/io/rw/write");
	cr_assert_null(find_call(r.uncovered, r.nuncovered, "__memcpy_chk"));
	cr_assert_eq(r.nlibraries, 1u);
	cr_assert_str_eq(r.libraries[0], "libgap.so");
	/* libgap.so calls write(): the binary does not, its library does. */
	c = find_call(r.reached, r.nreached, "write");
	cr_assert(c && c->from && !strcmp(c->from, "libgap.so"));
	char w[1024];
	cr_assert_eq(fl_points_fortify_warning(&r, "gap", w, sizeof w), 1);
	cr_assert(strstr(w, "gap was built with _FORTIFY_SOURCE and calls __write_chk "
			    "(instead of write, point posix/io/rw/write)"),
		  "%s", w);
	cr_assert_null(strstr(w, "memcpy"), "%s", w);
	cr_assert_null(strstr(w, "__read_chk"), "%s", w);
	fl_points_reach_free(&r);

	/* run asks once per program: the second time there is nothing new. */
	char path[PATH_MAX];
	cr_assert_not_null(realpath(ELF_DIR "gap", path));
	cr_assert_eq(fl_points_fortify_warning_once(path, w, sizeof w), 1);
	cr_assert(strstr(w, "__write_chk"), "%s", w);
	cr_assert_eq(fl_points_fortify_warning_once(path, w, sizeof w), 0);
	cr_assert_str_eq(w, "");
	cr_assert_eq(fl_points_fortify_warning_once("no/such/program", w, sizeof w), -ENOENT);
}

/* A library's calls count: memcached's epoll_wait is libevent's. */
Test(points_reach, library_calls_are_attributed)
{
	struct stat st;
	if (stat("/usr/bin/memcached", &st) != 0)
		cr_skip_test("memcached is not installed");
	fl_points_reach r;
	cr_assert_eq(fl_points_reach_of("/usr/bin/memcached", &r), 0);
	const fl_points_call *c = find_call(r.reached, r.nreached, "epoll_wait");
	cr_assert(c && c->from && !strncmp(c->from, "libevent", 8), "%s",
		  c && c->from ? c->from : "-");
	c = find_call(r.reached, r.nreached, "accept4");
	cr_assert(c && !c->from && !strcmp(c->point, "posix/io/net/accept4"));
	c = find_call(r.reached, r.nreached, "__poll_chk");
	cr_assert(c && !strcmp(c->point, "posix/io/net/poll"));
	fl_points_reach_free(&r);
}
