/* A batch job whose very first act is an open(): prints "first open: ok"
 * or "first open: <errno name number>", then opens /dev/null 9 more times
 * and prints how many of those failed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/dev/null", O_RDONLY);
	int err = errno;
	if (fd < 0)
		printf("first open: failed errno %d\n", err);
	else
		printf("first open: ok\n");
	if (fd >= 0)
		close(fd);
	int failed = 0;
	for (int i = 0; i < 9; i++) {
		int f = open("/dev/null", O_RDONLY);
		if (f < 0)
			failed++;
		else
			close(f);
	}
	printf("then %d of 9 failed\n", failed);
	return 0;
}
