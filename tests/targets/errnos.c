/* Per-thread errnos: N threads (actors 0.1 .. 0.N, created in that order
 * by the main thread) start together and each calls open("/dev/null") K
 * times; for every call that fails, the thread records the errno it saw.
 * At the end each thread's record is written to OUT, one line per failed
 * call: "<thread k> <call n> <errno>". The test compares these with the
 * fault journal, where the agent recorded the errno it chose.
 *
 *   errnos OUT N K
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	int k;
	int calls;
	int *err;	/* per call: 0 if it succeeded */
};

static pthread_barrier_t start;

static void *work(void *arg)
{
	struct job *j = arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < j->calls; i++) {
		int fd = open("/dev/null", O_RDONLY);
		j->err[i] = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int n = atoi(argv[2]), k = atoi(argv[3]);
	if (n < 1 || n > 64 || k < 1)
		return 2;
	pthread_t th[64];
	struct job jobs[64];
	/* Allocated before any window can make malloc fail. */
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct job){i + 1, k, calloc((size_t)k, sizeof(int))};
		if (!jobs[i].err)
			return 1;
	}
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, work, &jobs[i]) != 0)
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	FILE *out = fopen(argv[1], "w");
	if (!out)
		return 1;
	long failed = 0;
	for (int i = 0; i < n; i++)
		for (int c = 0; c < k; c++)
			if (jobs[i].err[c]) {
				fprintf(out, "%d %d %d\n", i + 1, c + 1, jobs[i].err[c]);
				failed++;
			}
	fclose(out);
	printf("failed %ld\n", failed);
	return 0;
}
