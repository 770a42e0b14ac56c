/* A tiny program the ELF tests build several ways (see GNUmakefile:
 * build/tests/elf/): plain, static, with _FORTIFY_SOURCE (read() into a
 * buffer of known size, for a length known only at run time, becomes
 * __read_chk; open() with flags known only at
 * run time becomes __open_2), with declared failure points (WITH_POINTS),
 * and with its own libfiu.a (WITH_FIU). It reads a few bytes of a file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef WITH_POINTS
#include "flrt.h"
#endif
#ifdef WITH_FIU
#define FIU_ENABLE 1
#include <fiu.h>
#endif

int main(int argc, char **argv)
{
	char buf[64];
	int flags = argc > 2 ? O_RDONLY | O_CLOEXEC : O_RDONLY;
	int fd = open(argc > 1 ? argv[1] : "/dev/null", flags);
	if (fd < 0)
		return 1;
	/* A length only known at run time: fortified, that is __read_chk. */
	size_t want = argc > 3 ? strtoul(argv[3], NULL, 10) : 16;
	ssize_t n = read(fd, buf, want);
#ifdef WITH_POINTS
	if (flrt_fail(FLRT_POINT("elfprobe/read")) != 0 ||
	    flrt_fail(FLRT_POINT("elfprobe/second")) != 0)
		n = -1;
#endif
#ifdef WITH_FIU
	if (fiu_fail("elfprobe/fiu"))
		n = -1;
#endif
	close(fd);
	printf("%zd\n", n);
	return n < 0;
}
