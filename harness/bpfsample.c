#define _GNU_SOURCE
#include "bpfsample.h"

#include "procfs.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The compiled program, in this object's read-only data. */
#ifndef FL_BPF_OBJ
#define FL_BPF_OBJ "build/bpf/sample.bpf.o"
#endif
__asm__(".section .rodata\n"
	".balign 8\n"
	".globl fl_bpfs_obj_start\n"
	".hidden fl_bpfs_obj_start\n"
	"fl_bpfs_obj_start:\n"
	".incbin \"" FL_BPF_OBJ "\"\n"
	".globl fl_bpfs_obj_end\n"
	".hidden fl_bpfs_obj_end\n"
	"fl_bpfs_obj_end:\n"
	".previous\n");
extern const char fl_bpfs_obj_start[], fl_bpfs_obj_end[];

static struct {
	pthread_mutex_t lock;	/* one run at a time: the entries are shared */
	int tried;
	int ok;
	char why[256];
	struct bpf_object *obj;
	int prog_fd;
	fl_bpfs_ent *ents;	/* the program's .bss, mapped */
	size_t ents_len;
	unsigned int ncpus;
	long tick_ns;		/* one clock tick of /proc/PID/stat */
	int rss_summed;		/* statm sums the CPUs' shares */
	int have_offsets;	/* the program found the per-CPU offsets */
	/* Set once the program is loaded and checked: read without the
	 * lock, which a load holds for its whole 35 ms (a tick must not
	 * wait for it). */
	_Atomic int ready;
	_Atomic int failed;	/* the same for a load that failed (why) */
} B = {.lock = PTHREAD_MUTEX_INITIALIZER, .prog_fd = -1};

int fl_bpfs_configure(enum fl_bpfs_mode *mode, char *err, size_t errlen)
{
	const char *v = getenv("FAULTLINE_SAMPLER");
	*mode = FL_BPFS_AUTO;
	if (!v || !*v || !strcmp(v, "auto"))
		return 0;
	if (!strcmp(v, "bpf")) {
		*mode = FL_BPFS_REQUIRED;
		return 0;
	}
	if (!strcmp(v, "procfs")) {
		*mode = FL_BPFS_OFF;
		return 0;
	}
	snprintf(err, errlen,
		 "FAULTLINE_SAMPLER='%s': expected auto, bpf or procfs", v);
	return -1;
}

/* libbpf's messages: the last warning is kept as the reason. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && !B.why[0]) {
		char line[256];
		vsnprintf(line, sizeof line, fmt, ap);
		line[strcspn(line, "\n")] = '\0';
		snprintf(B.why, sizeof B.why, "%s", line);
	}
	return 0;
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(B.why, sizeof B.why, fmt, ap);
	va_end(ap);
}

static int run_locked(size_t n)
{
	struct fl_bpfs_args args = {(unsigned int)n, B.ncpus, !B.have_offsets,
				    0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args,
		    .ctx_size_in = sizeof args);
	if (bpf_prog_test_run_opts(B.prog_fd, &opts) < 0)
		return -errno;
	if (opts.retval != 0)
		return -EINVAL;
	B.have_offsets = 1;
	return 0;
}

/* This process through the program against /proc/self/stat. */
static int check_self(void)
{
	fl_proc_stat st;
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0 || (buf[n] = '\0', fl_procfs_parse_stat(buf, (size_t)n, &st) < 0)) {
		fail("cannot read /proc/self/stat");
		return -1;
	}
	memset(B.ents, 0, sizeof *B.ents);
	B.ents[0].pid = getpid();
	int r = run_locked(1);
	if (r < 0) {
		fail("the program did not run: %s", strerror(-r));
		return -1;
	}
	if (B.ents[0].rc != FL_BPFS_OK) {
		fail("the program did not find this process (rc %d)",
		     B.ents[0].rc);
		return -1;
	}
	if (fl_bpfs_start_ticks(&B.ents[0]) != st.starttime) {
		fail("the program's start time of this process (%llu) is not "
		     "/proc's (%llu): a pid or time namespace",
		     fl_bpfs_start_ticks(&B.ents[0]), st.starttime);
		return -1;
	}
	return 0;
}

/* A child's resident pages by statm, and by the program both ways.
 * pages: what it touches before it waits. 0, or -1. */
static int child_rss(long pages, long *statm, fl_bpfs_ent *e)
{
	int ready[2], hold[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* The child of a threaded process: raw system calls only (no
		 * allocator, no sanitizer's interceptor, whose locks another
		 * thread may have held at the fork), a byte a page. */
		syscall(SYS_close, ready[0]);
		syscall(SYS_close, hold[1]);
		long len = pages * 4096;
		long m = syscall(SYS_mmap, 0L, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1L, 0L);
		if (m != -1)
			for (long at = 0; at < len; at += 4096)
				*(volatile char *)(m + at) = 1;
		char c = 'x';
		if (syscall(SYS_write, ready[1], &c, 1L) == 1)
			while (syscall(SYS_read, hold[0], &c, 1L) < 0 &&
			       errno == EINTR)
				;
		syscall(SYS_exit_group, 0);
	}
	close(ready[1]);
	close(hold[0]);
	int r = -1;
	char c, path[64], buf[256];
	/* A child that is not ready within 5 s is given up: nothing waits
	 * on it for longer (the monitor joins this thread at its end). */
	struct pollfd pf = {ready[0], POLLIN, 0};
	if (pid > 0 && poll(&pf, 1, 5000) == 1 && read(ready[0], &c, 1) == 1) {
		snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
		if (fd >= 0)
			close(fd);
		long size;
		memset(B.ents, 0, sizeof *B.ents);
		B.ents[0].pid = pid;
		if (n > 0 && (buf[n] = '\0', 1) &&
		    fl_procfs_parse_statm(buf, (size_t)n, &size, statm) == 0 &&
		    run_locked(1) == 0 && B.ents[0].rc == FL_BPFS_OK) {
			*e = B.ents[0];
			r = 0;
		}
	}
	close(hold[1]);
	close(ready[0]);
	if (pid > 0) {
		if (r < 0)
			kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return r;
}

/* Which RSS this kernel's statm gives: each counter summed over the CPUs
 * (percpu_counter_sum, newer kernels) or its shared count alone (older
 * ones), told apart on a child whose two differ. */
static int find_statm_kind(void)
{
	for (long k = 0; k < 8; k++) {
		long statm;
		fl_bpfs_ent e;
		if (child_rss(3 + 5 * k, &statm, &e) < 0) {
			fail("cannot compare the program's RSS with statm's");
			return -1;
		}
		if (e.rss_pages == e.rss_quick)
			continue;
		if (statm == e.rss_pages) {
			B.rss_summed = 1;
			return 0;
		}
		if (statm == e.rss_quick) {
			B.rss_summed = 0;
			return 0;
		}
		fail("statm's resident pages (%ld) are neither the program's "
		     "sum (%lld) nor its count (%lld)",
		     statm, e.rss_pages, e.rss_quick);
		return -1;
	}
	/* They never differed: either reads the same. */
	B.rss_summed = 1;
	return 0;
}

static int load_locked(void)
{
	/* Tests: a machine where the program cannot load. */
	if (getenv("FL_TEST_BPFS_FAIL")) {
		fail("FL_TEST_BPFS_FAIL is set");
		return -1;
	}
	libbpf_set_print(quiet);
	int ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || ncpus > FL_BPFS_MAX_CPUS) {
		fail("%d possible CPUs", ncpus);
		return -1;
	}
	B.ncpus = (unsigned int)ncpus;
	long hz = sysconf(_SC_CLK_TCK);
	B.tick_ns = hz > 0 ? 1000000000L / hz : 10000000L;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "fl_sample");
	B.obj = bpf_object__open_mem(fl_bpfs_obj_start,
				     (size_t)(fl_bpfs_obj_end - fl_bpfs_obj_start),
				     &oo);
	if (!B.obj) {
		fail("cannot open the program: %s", strerror(errno));
		return -1;
	}
	B.why[0] = '\0';
	int r = bpf_object__load(B.obj);
	if (r == -EPERM) {
		fail("not permitted: the BPF sampler needs root (CAP_BPF and "
		     "CAP_PERFMON)");
		return -1;
	}
	if (r < 0) {
		char lib[256];
		snprintf(lib, sizeof lib, "%s", B.why);
		fail("cannot load the program: %s%s%s", strerror(-r),
		     lib[0] ? ": " : "", lib);
		return -1;
	}
	struct bpf_program *prog =
		bpf_object__find_program_by_name(B.obj, "fl_sample");
	struct bpf_map *bss = NULL, *m;
	bpf_object__for_each_map(m, B.obj) {
		const char *name = bpf_map__name(m);
		size_t len = strlen(name);
		if (len >= 4 && !strcmp(name + len - 4, ".bss"))
			bss = m;
	}
	if (!prog || !bss) {
		fail("the program or its entries are missing");
		return -1;
	}
	B.prog_fd = bpf_program__fd(prog);
	B.ents_len = bpf_map__value_size(bss);
	if (B.ents_len < FL_BPFS_BATCH * sizeof *B.ents) {
		fail("the program's entries are %zu bytes", B.ents_len);
		return -1;
	}
	void *p = mmap(NULL, B.ents_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(bss), 0);
	if (p == MAP_FAILED) {
		fail("cannot map the program's entries: %s", strerror(errno));
		return -1;
	}
	B.ents = p;
	if (check_self() < 0)
		return -1;
	return find_statm_kind();
}

int fl_bpfs_load(char *err, size_t errlen)
{
	pthread_mutex_lock(&B.lock);
	if (!B.tried) {
		B.tried = 1;
		B.ok = load_locked() == 0;
		if (B.ok) {
			B.why[0] = '\0';
			atomic_store(&B.ready, 1);
		} else {
			if (B.obj) {
				if (B.ents)
					munmap(B.ents, B.ents_len);
				B.ents = NULL;
				bpf_object__close(B.obj);
				B.obj = NULL;
				B.prog_fd = -1;
			}
			atomic_store(&B.failed, 1);
		}
	}
	int ok = B.ok;
	if (!ok && err)
		snprintf(err, errlen, "%s", B.why);
	pthread_mutex_unlock(&B.lock);
	return ok ? 0 : -1;
}

int fl_bpfs_error(char *err, size_t errlen)
{
	/* Without the lock: a load in progress holds it, and the results
	 * of a short scenario are not to wait for it. why is not written
	 * again once failed is set. */
	int failed = atomic_load(&B.failed);
	if (failed)
		snprintf(err, errlen, "%s", B.why);
	return failed;
}

int fl_bpfs_ready(void)
{
	return atomic_load(&B.ready);
}

int fl_bpfs_read(fl_bpfs_ent *ents, size_t n)
{
	pthread_mutex_lock(&B.lock);
	if (!B.ok) {
		pthread_mutex_unlock(&B.lock);
		return -ENOSYS;
	}
	int r = 0;
	for (size_t at = 0; at < n && r == 0; at += FL_BPFS_BATCH) {
		size_t k = n - at < FL_BPFS_BATCH ? n - at : FL_BPFS_BATCH;
		for (size_t i = 0; i < k; i++) {
			B.ents[i].pid = ents[at + i].pid;
			B.ents[i].rc = FL_BPFS_NOTASK;
		}
		r = run_locked(k);
		if (r != 0)
			break;
		memcpy(ents + at, B.ents, k * sizeof *ents);
		fl_bpfs_vet(ents + at, k);
		if (!B.rss_summed)
			for (size_t i = 0; i < k; i++)
				ents[at + i].rss_pages = ents[at + i].rss_quick;
	}
	pthread_mutex_unlock(&B.lock);
	return r;
}

void fl_bpfs_vet(fl_bpfs_ent *ents, size_t n)
{
	/* A live process has a thread: a read that says none (a guarded
	 * load that faulted reads 0) is asked of /proc. */
	for (size_t i = 0; i < n; i++)
		if (ents[i].rc == FL_BPFS_OK && ents[i].threads <= 0)
			ents[i].rc = FL_BPFS_ASK_PROC;
}

unsigned long long fl_bpfs_start_ticks(const fl_bpfs_ent *e)
{
	long tick = B.tick_ns > 0 ? B.tick_ns : 10000000L;
	return e->start_ns / (unsigned long long)tick;
}

void fl_bpfs_unload(void)
{
	pthread_mutex_lock(&B.lock);
	if (B.ents)
		munmap(B.ents, B.ents_len);
	B.ents = NULL;
	if (B.obj)
		bpf_object__close(B.obj);
	B.obj = NULL;
	B.prog_fd = -1;
	atomic_store(&B.ready, 0);
	atomic_store(&B.failed, 0);
	B.tried = B.ok = B.have_offsets = 0;
	B.why[0] = '\0';
	pthread_mutex_unlock(&B.lock);
}
