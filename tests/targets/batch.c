/* A batch job for the tests: writes --jobs files, each first as
 * SPOOL/job-N.tmp, then renamed to OUT/job-N.done. A failed call ends the
 * run: --mode fixed removes the job's temporary file first, --mode leaky
 * leaves it behind in the spool (the error path forgets its cleanup).
 * Exit status: 0 if every job was done, 1 if one failed, 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *spool = NULL, *out = NULL, *mode = "fixed";
	int jobs = 4;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--spool"))
			spool = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--jobs"))
			jobs = atoi(argv[i + 1]);
	}
	if (!spool || !out) {
		fprintf(stderr, "usage: batch --spool DIR --out DIR "
				"[--mode fixed|leaky] [--jobs N]\n");
		return 2;
	}
	const char *dirs[2] = {spool, out};
	for (int i = 0; i < 2; i++)
		if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "mkdir %s: %s\n", dirs[i],
				strerror(errno));
			return 2;
		}
	int leaky = !strcmp(mode, "leaky");
	int failed = 0;
	for (int j = 1; j <= jobs && !failed; j++) {
		char tmp[4096], done[4096];
		snprintf(tmp, sizeof tmp, "%s/job-%d.tmp", spool, j);
		snprintf(done, sizeof done, "%s/job-%d.done", out, j);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "job %d: open: %s\n", j, strerror(errno));
			failed = 1;
			break;
		}
		char line[64];
		int n = snprintf(line, sizeof line, "job %d\n", j);
		if (write(fd, line, (size_t)n) != n) {
			fprintf(stderr, "job %d: write: %s\n", j, strerror(errno));
			failed = 1;
			close(fd);
			if (!leaky)
				unlink(tmp);
			break;
		}
		close(fd);
		if (rename(tmp, done) < 0) {
			fprintf(stderr, "job %d: rename: %s\n", j, strerror(errno));
			failed = 1;
			if (!leaky)
				unlink(tmp);
		}
	}
	printf("%s\n", failed ? "FAILED" : "DONE");
	return failed;
}
