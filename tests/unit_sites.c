/* Call sites: the hash that names a calling context, resolving an address
 * to function and file:line with libdw (on this test's own code, built
 * with -g), and the agent recording the sites of a real target's calls
 * (tests/targets/sitetgt.c, whose calls carry marker comments) the same
 * way in every run, whatever its load addresses: the sites of a window in
 * record mode, one site's call failed in site mode, fd origins and where
 * a crash happened. */
#include "testutil.h"

#include "../lib/agent_proto.h"
#include "faults.h"
#include "sites.h"
#include "symbolize.h"

#include <dlfcn.h>
#include <link.h>

#define AGENT "lib/faultline-agent.so"
#define TARGET "build/tests/targets/sitetgt"
#define TARGET_SRC "tests/targets/sitetgt.c"

/* The line of the marker "SITE name" in a source file. */
static int marker_line(const char *file, const char *name)
{
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f, "%s: %s", file, strerror(errno));
	char want[64], line[512];
	snprintf(want, sizeof want, "SITE %s */", name);
	int n = 0, found = 0;
	while (fgets(line, sizeof line, f)) {
		n++;
		if (strstr(line, want)) {
			found = n;
			break;
		}
	}
	fclose(f);
	cr_assert_gt(found, 0, "no marker %s in %s", name, file);
	return found;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

TestSuite(sites, .fini = fl_symbolize_reset);

Test(sites, stack_hash_names_module_and_offset)
{
	uint64_t m[3] = {11, 22, 33}, o[3] = {0x100, 0x200, 0x300};
	uint64_t h = fl_stack_hash(m, o, 3);
	cr_assert_eq(h, fl_stack_hash(m, o, 3), "a pure function");
	cr_assert_neq(h, 0);
	uint64_t o2[3] = {0x100, 0x200, 0x301};
	cr_assert_neq(h, fl_stack_hash(m, o2, 3), "another offset, another site");
	uint64_t m2[3] = {11, 23, 33};
	cr_assert_neq(h, fl_stack_hash(m2, o, 3), "another module, another site");
	cr_assert_eq(fl_stack_hash(m, o, 2), fl_stack_hash(m, o2, 2),
		     "frames past the depth do not count");
	cr_assert_neq(fl_site_key(1, h), fl_site_key(2, h),
		      "the same stack at two points is two sites");
	char id[24];
	fl_site_id(0x0123456789abcdefULL, id, sizeof id);
	cr_assert_str_eq(id, "0123456789abcdef");
	cr_assert_eq(fl_site_parse_id(id), 0x0123456789abcdefULL);
	cr_assert_eq(fl_site_parse_id("12"), 0);
	cr_assert_eq(fl_site_parse_id("0123456789abcdeg"), 0);
}

/* A return address of this test (a call on a known line), as the agent
 * would record it: the module's path and the address minus its load
 * bias. */
__attribute__((noinline)) static void *return_address(void)
{
	return __builtin_extract_return_addr(__builtin_return_address(0));
}

static void module_offset(void *pc, char *path, size_t len, uint64_t *offset)
{
	Dl_info info;
	struct link_map *lm = NULL;
	cr_assert(dladdr1(pc, &info, (void **)&lm, RTLD_DL_LINKMAP));
	cr_assert_not_null(lm);
	if (lm->l_name && lm->l_name[0])
		snprintf(path, len, "%s", lm->l_name);
	else {
		ssize_t n = readlink("/proc/self/exe", path, len - 1);
		cr_assert_gt(n, 0);
		path[n] = '\0';
	}
	*offset = (uint64_t)(uintptr_t)pc - lm->l_addr;
}

Test(sites, resolves_its_own_call_to_file_and_line)
{
	void *ra = return_address(); int line = __LINE__;
	char path[PATH_MAX];
	uint64_t offset;
	module_offset(ra, path, sizeof path, &offset);
	fl_frame fr;
	memset(&fr, 0, sizeof fr);
	snprintf(fr.module, sizeof fr.module, "%s", path);
	fr.offset = offset;
	int label = fl_frames_resolve(&fr, 1);
	cr_assert_eq(label, 0);
	cr_assert(fr.sym.debug, "built with -g: debug info");
	cr_assert_str_eq(base(fr.sym.file), "unit_sites.c");
	cr_assert_eq(fr.sym.line, line, "line %d, want %d", fr.sym.line, line);
	cr_assert(strstr(fr.sym.function, "resolves_its_own_call"),
		  "function %s", fr.sym.function);
	char at[400], want[64];
	fl_frame_describe(&fr, at, sizeof at);
	snprintf(want, sizeof want, "unit_sites.c:%d (", line);
	cr_assert(!strncmp(at, want, strlen(want)), "%s", at);
}

Test(sites, a_library_without_debug_info_reads_by_symbol)
{
	/* Jansson's library as Debian ships it: stripped of its debug info
	 * (libc6-dbg may be installed, so not the C library), symbols only. */
	void *fn = dlsym(RTLD_DEFAULT, "json_object");
	cr_assert_not_null(fn);
	char path[PATH_MAX];
	uint64_t offset;
	module_offset(fn, path, sizeof path, &offset);
	fl_frame fr;
	memset(&fr, 0, sizeof fr);
	snprintf(fr.module, sizeof fr.module, "%s", path);
	fr.offset = offset + 2; /* inside the function, past its start */
	fl_frames_resolve(&fr, 1);
	cr_assert(!fr.sym.debug, "no debug info");
	cr_assert_str_eq(fr.sym.function, "json_object");
	char at[400];
	fl_frame_describe(&fr, at, sizeof at);
	cr_assert(strstr(at, "json_object+0x1 (libjansson.so"), "%s", at);
}

Test(sites, an_unreadable_module_is_an_error_not_a_name)
{
	fl_symbol s;
	cr_assert_lt(fl_symbolize("/nonexistent/lib.so", 0x1000, &s), 0);
	cr_assert_str_eq(s.function, "");
}

/* ------------------------------------------------------------------ */
/* The agent, on a real target                                          */
/* ------------------------------------------------------------------ */

extern char **environ;

/* Runs sitetgt under the agent with the region f; its exit status, or
 * 128 + the signal that ended it. */
static int run_target(fl_faults *f, char *const args[])
{
	int fd = fl_faults_fd(f);
	fcntl(fd, F_SETFD, 0);
	char pre[PATH_MAX], shm[64];
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s:%s", AGENT,
		 "/usr/lib/fiu/fiu_posix_preload.so");
	snprintf(shm, sizeof shm, "%s=%d", FL_ENV_SHM_FD, fd);
	char *env[] = {pre, shm, "PATH=/usr/bin:/bin", NULL};
	char *argv[16] = {TARGET};
	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execve(TARGET, argv, env);
		_exit(127);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	fl_faults_spawned(f, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void window_on(fl_faults *f, const char *point)
{
	fl_fault_spec spec;
	memset(&spec, 0, sizeof spec);
	snprintf(spec.point, sizeof spec.point, "%s", point);
	spec.p = 1;
	spec.failnum = 1;
	char err[256];
	cr_assert_eq(fl_faults_enable(f, &spec, err, sizeof err, 0), 0, "%s", err);
}

/* The site of sitetgt's call at marker name, among the sites. */
static const fl_site *site_at(const fl_site *s, int n, const char *name)
{
	int line = marker_line(TARGET_SRC, name);
	for (int i = 0; i < n; i++) {
		const fl_symbol *sym = &s[i].frames[s[i].label].sym;
		if (!strcmp(base(sym->file), "sitetgt.c") && sym->line == line)
			return &s[i];
	}
	return NULL;
}

/* The keys of the close sites of one recorded run. */
static int record_close_sites(uint64_t keys[2], fl_site *out_a)
{
	fl_faults f;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0,
				      FL_SITES_RECORD | FL_SITES_ORIGINS, 0), 0);
	fl_faults_set_sweep(&f, FL_SWEEP_RECORD, 0, NULL, 1);
	window_on(&f, "posix/io/oc/close");
	char *args[] = {"--loops", "3", NULL};
	cr_assert_eq(run_target(&f, args), 0, "record mode fails nothing");
	fl_site *s;
	int n = fl_sites_list(&f, FL_SITE_REACHED, &s);
	const fl_site *a = site_at(s, n, "close-a");
	const fl_site *b = site_at(s, n, "close-b");
	cr_assert_not_null(a, "close_a's call was recorded (%d sites)", n);
	cr_assert_not_null(b, "close_b's call was recorded");
	cr_assert_str_eq(a->point, "posix/io/oc/close");
	cr_assert_eq(a->calls, 3, "once per loop: %llu", (unsigned long long)a->calls);
	cr_assert_eq(a->actor_calls, 3);
	cr_assert_str_eq(a->actor, "0");
	cr_assert(strstr(a->frames[a->label].sym.function, "close_a"), "%s",
		  a->frames[a->label].sym.function);
	cr_assert_neq(a->key, b->key);
	keys[0] = a->key;
	keys[1] = b->key;
	*out_a = *a;
	/* Origins: every fd came from open_null(), and the table of sites
	 * holds that call as an origin. */
	fl_site *o;
	int no = fl_sites_list(&f, FL_SITE_ORIGIN, &o);
	cr_assert_not_null(site_at(o, no, "open-null"), "the origin of the fds");
	free(o);
	free(s);
	fl_faults_free(&f);
	return n;
}

Test(sites, the_agent_records_each_call_site_the_same_in_every_run)
{
	uint64_t k1[2], k2[2];
	fl_site a;
	record_close_sites(k1, &a);
	/* Another process, other load addresses (ASLR): the same sites. */
	record_close_sites(k2, &a);
	cr_assert_eq(k1[0], k2[0]);
	cr_assert_eq(k1[1], k2[1]);
}

Test(sites, site_mode_fails_exactly_that_sites_call_and_a_crash_is_located)
{
	uint64_t keys[2];
	fl_site a;
	record_close_sites(keys, &a);
	/* Fail the first call from close_b's site, where the target then
	 * writes through NULL. */
	fl_faults f;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0,
				      FL_SITES_RECORD | FL_SITES_CRASHES, 0), 0);
	fl_faults_set_sweep(&f, FL_SWEEP_SITE, keys[1], "0", 1);
	window_on(&f, "posix/io/oc/close");
	char *args[] = {"--loops", "3", "--crash-b", NULL};
	int st = run_target(&f, args);
	cr_assert_eq(st, 128 + SIGSEGV, "status %d", st);
	cr_assert(fl_sites_fired(&f));
	fl_crash *c;
	int n = fl_sites_crashes(&f, &c);
	cr_assert_eq(n, 1);
	cr_assert_eq(c[0].sig, SIGSEGV);
	const fl_symbol *sym = &c[0].frames[c[0].at].sym;
	cr_assert_str_eq(base(sym->file), "sitetgt.c");
	cr_assert_eq(sym->line, marker_line(TARGET_SRC, "crash-b"),
		     "crashed at line %d", sym->line);
	free(c);
	fl_faults_free(&f);

	/* Failing close_a's site instead: handled, nothing crashes. */
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0,
				      FL_SITES_RECORD | FL_SITES_CRASHES, 0), 0);
	fl_faults_set_sweep(&f, FL_SWEEP_SITE, keys[0], "0", 2);
	window_on(&f, "posix/io/oc/close");
	cr_assert_eq(run_target(&f, args), 0);
	cr_assert(fl_sites_fired(&f), "the second call from close_a failed");
	n = fl_sites_crashes(&f, &c);
	cr_assert_eq(n, 0);
	free(c);
	fl_faults_free(&f);

	/* A site the run never reaches K times: nothing fails. */
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, FL_SITES_RECORD, 0), 0);
	fl_faults_set_sweep(&f, FL_SWEEP_SITE, keys[1], "0", 4);
	window_on(&f, "posix/io/oc/close");
	cr_assert_eq(run_target(&f, args), 0);
	cr_assert(!fl_sites_fired(&f), "3 loops: no 4th call from close_b");
	fl_faults_free(&f);
}

Test(sites, origins_name_where_a_kept_fd_was_opened)
{
	fl_faults f;
	cr_assert_eq(fl_faults_create(&f, 1, "linux", 0, 0, FL_SITES_ORIGINS, 0), 0);
	/* Every read fails: with --leak-c, open_c keeps its fd. The target
	 * is gone when the test looks, so its origin table is still there
	 * (nothing freed it). */
	fl_fault_spec spec;
	memset(&spec, 0, sizeof spec);
	snprintf(spec.point, sizeof spec.point, "posix/io/rw/read");
	spec.p = 1;
	spec.failnum = 1;
	char err[256];
	cr_assert_eq(fl_faults_enable(&f, &spec, err, sizeof err, 0), 0);
	char *args[] = {"--leak-c", NULL};
	cr_assert_eq(run_target(&f, args), 0);
	/* The fd open_c kept is the lowest free one after stdio: look it up
	 * in the agent's table of that process. */
	fl_shm_view v;
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
	int found = 0;
	for (int i = 0; i < FL_ORIGIN_PROCS; i++) {
		int pid = atomic_load(&v.origins[i].pid);
		if (!pid)
			continue;
		fl_fd_entry e[FL_ORIGIN_FDS > 64 ? 64 : FL_ORIGIN_FDS];
		memset(e, 0, sizeof e);
		for (int fd = 0; fd < 64; fd++)
			e[fd].fd = fd;
		fl_sites_origins(&f, pid, e, 64);
		char want[64];
		snprintf(want, sizeof want, "sitetgt.c:%d (open_c)",
			 marker_line(TARGET_SRC, "open-c"));
		for (int fd = 0; fd < 64; fd++)
			if (e[fd].origin && !strcmp(e[fd].opened_at, want))
				found++;
	}
	cr_assert_eq(found, 1, "one fd left open, opened at open_c's call");
	fl_faults_free(&f);
}
