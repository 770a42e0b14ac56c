/* A tiny program the ELF tests build several ways (see GNUmakefile:
 * build/tests/elf/): plain, static, with _FORTIFY_SOURCE (read() into a
 * buffer of known size, for a length known only at run time, becomes
 * __read_chk; open() with flags known only at
 * run time becomes __open_2), with declared failure points (WITH_POINTS),
 * with its own libfiu.a (WITH_FIU), and fortified with a call no wrapper
 * covers (WITH_GAP: __write_chk, from a library built from this file with
 * GAP_LIB, stands in for a fortified variant of a wrapped function that
 * faultline does not wrap yet; a memcpy of a length known only at run
 * time adds __memcpy_chk, which is no point's, and stderr an imported
 * object that is not a function). It reads a few bytes of a
 * file. */
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

#if defined(WITH_GAP) || defined(GAP_LIB)
#include <string.h>
ssize_t __write_chk(int fd, const void *buf, size_t n, size_t buflen);
#endif

#ifdef GAP_LIB
ssize_t __write_chk(int fd, const void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		abort();
	return write(fd, buf, n);
}
#else
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
#ifdef WITH_GAP
	static char source[64];
	char copy[64];
	memcpy(copy, source, want);
	n += copy[0];
	if (__write_chk(1, "gap\n", 4, 4) != 4)
		n = -1;
	/* stderr is data the program imports, not a call. */
	fflush(stderr);
#endif
	close(fd);
	printf("%zd\n", n);
	return n < 0;
}
#endif
