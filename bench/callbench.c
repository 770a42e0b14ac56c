/* A target for make bench, started by build/bench/bench bare, under
 * libfiu's POSIX preload, and under faultline's agent:
 *   callbench calls   calls a wrapped function many times and prints the
 *                     CPU time per call: "read NS close NS";
 *   callbench calls N the same with N calls a round (a recording window
 *                     makes each call cost microseconds);
 *   callbench unwind  the CPU time to take 8 return addresses from a call
 *                     12 frames deep with each unwinder a sweep could use:
 *                     libgcc's _Unwind_Backtrace (the agent's), glibc's
 *                     backtrace() and libunwind's unw_backtrace (loaded
 *                     with dlopen, when installed): "gcc NS glibc NS
 *                     libunwind NS" (-1: not there);
 *   callbench forks   forks children that exit at once and prints the
 *                     CPU time of a fork, the child and the wait, and the
 *                     size of faultline's region if mapped:
 *                     "fork US region KIB".
 * read() goes through libfiu's wrapper, close() through the agent's, and
 * __read_chk (what a fortified build calls for read) through the agent's
 * lib/agent_wrap.c.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

/* The calling thread's CPU time (user and system): what a call costs,
 * whatever else the machine runs meanwhile. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int calls(long n)
{
	char buf[1];
	double best_read = 1e9, best_close = 1e9, best_chk = 1e9;
	for (int round = 0; round < 5; round++) {
		double t0 = cpu_now();
		for (long i = 0; i < n; i++)
			if (read(-1, buf, 0) != -1)
				return 1;
		double t1 = cpu_now();
		for (long i = 0; i < n; i++)
			if (close(-1) != -1)
				return 1;
		double t2 = cpu_now();
		for (long i = 0; i < n; i++)
			if (__read_chk(-1, buf, 0, sizeof buf) != -1)
				return 1;
		double t3 = cpu_now();
		if ((t3 - t2) / n < best_chk)
			best_chk = (t3 - t2) / n;
		if ((t1 - t0) / n < best_read)
			best_read = (t1 - t0) / n;
		if ((t2 - t1) / n < best_close)
			best_close = (t2 - t1) / n;
	}
	printf("read %.1f close %.1f chk %.1f\n", best_read * 1e9, best_close * 1e9,
	       best_chk * 1e9);
	return 0;
}

/* The size of faultline's region in this process, from /proc/self/maps. */
static double region_kib(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[512];
	double kib = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (strstr(line, "memfd:faultline") &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			kib += (double)(hi - lo) / 1024;
	}
	fclose(f);
	return kib;
}

static double rusage_s(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The CPU time of a fork, the child's life (its exit) and the wait: the
 * parent's and the children's together, so a busy machine does not move
 * it. */
static int forks(void)
{
	enum { N = 400 };
	double self0 = rusage_s(RUSAGE_SELF), kids0 = rusage_s(RUSAGE_CHILDREN);
	for (int i = 0; i < N; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			return 1;
		waitpid(pid, NULL, 0);
	}
	double cpu = rusage_s(RUSAGE_SELF) - self0 + rusage_s(RUSAGE_CHILDREN) - kids0;
	printf("fork %.1f region %.0f\n", cpu / N * 1e6, region_kib());
	return 0;
}

/* ------------------------------------------------------------------ */
/* Unwinders                                                            */

enum { FRAMES = 8, NEST = 12, UNWINDS = 20000 };

struct walk {
	void *pc[FRAMES];
	int n;
};

static _Unwind_Reason_Code step(struct _Unwind_Context *c, void *arg)
{
	struct walk *w = arg;
	int before;
	w->pc[w->n++] = (void *)_Unwind_GetIPInfo(c, &before);
	return w->n >= FRAMES ? _URC_END_OF_STACK : _URC_NO_REASON;
}

static int (*unw_backtrace_fn)(void **, int);

/* The best of 5 rounds of UNWINDS walks, ns each. */
static double time_unwinder(int which)
{
	double best = 1e9;
	for (int round = 0; round < 5; round++) {
		double t0 = cpu_now();
		for (int i = 0; i < UNWINDS; i++) {
			if (which == 0) {
				struct walk w = {.n = 0};
				_Unwind_Backtrace(step, &w);
				if (w.n < FRAMES)
					return -1;
			} else {
				void *pc[FRAMES];
				int n = which == 1 ? backtrace(pc, FRAMES)
						   : unw_backtrace_fn(pc, FRAMES);
				if (n < FRAMES)
					return -1;
			}
		}
		double t = (cpu_now() - t0) / UNWINDS;
		if (t < best)
			best = t;
	}
	return best * 1e9;
}

/* Calls itself d deep, then times the unwinder: the walks start as deep
 * as a call of a real program's does. */
__attribute__((noinline)) static double nest(int d, int which)
{
	if (d == 0)
		return time_unwinder(which);
	volatile double r = nest(d - 1, which);
	return r;
}

static int unwind(void)
{
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (h)
		unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	double gcc = nest(NEST, 0), glibc = nest(NEST, 1);
	double lu = unw_backtrace_fn ? nest(NEST, 2) : -1;
	printf("gcc %.1f glibc %.1f libunwind %.1f\n", gcc, glibc, lu);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "calls";
	if (strcmp(mode, "forks") == 0)
		return forks();
	if (strcmp(mode, "unwind") == 0)
		return unwind();
	return calls(argc > 2 ? atol(argv[2]) : 2000000);
}
