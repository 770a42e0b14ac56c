/* What the fuzz targets share: the harness's out-of-memory policy for
 * Jansson (as bin/faultline sets it), a scratch directory, and a file
 * holding the input, since the readers under test take paths. */
#ifndef FL_FUZZ_COMMON_H
#define FL_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static char fuzz_dir[PATH_MAX];

/* Makes the scratch directory (under TMPDIR) once; its path. */
static const char *fuzz_scratch(void)
{
	if (fuzz_dir[0])
		return fuzz_dir;
	json_set_alloc_funcs(fl_xmalloc, free);
	const char *t = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fl-fuzz.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror("mkdtemp");
		abort();
	}
	return fuzz_dir;
}

/* Writes the input to dir/name; its path in out. */
__attribute__((unused)) static void fuzz_file(const char *name, const uint8_t *data, size_t size,
		      char *out, size_t len)
{
	snprintf(out, len, "%s/%s", fuzz_scratch(), name);
	FILE *f = fopen(out, "wb");
	if (!f) {
		perror(out);
		abort();
	}
	if (size && fwrite(data, 1, size, f) != size) {
		perror(out);
		abort();
	}
	if (fclose(f) != 0) {
		perror(out);
		abort();
	}
}

#endif
