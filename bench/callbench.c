/* A target for make bench, started by build/bench/bench bare, under
 * libfiu's POSIX preload, and under faultline's agent:
 *   callbench calls   calls a wrapped function many times and prints the
 *                     CPU time per call: "read NS close NS";
 *   callbench forks   forks children that exit at once and prints the
 *                     CPU time of a fork, the child and the wait, and the
 *                     size of faultline's region if mapped:
 *                     "fork US region KIB".
 * read() goes through libfiu's wrapper, close() through the agent's, and
 * __read_chk (what a fortified build calls for read) through the agent's
 * lib/agent_wrap.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

/* The calling thread's CPU time (user and system): what a call costs,
 * whatever else the machine runs meanwhile. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int calls(void)
{
	long n = 2000000;
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

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "calls";
	return strcmp(mode, "forks") == 0 ? forks() : calls();
}
