/* SHA-256 (FIPS 180-4) of a byte string, in one call. */
#ifndef FL_SHA256_H
#define FL_SHA256_H

#include <stddef.h>

/* The 32-byte digest of data[0..len). */
void fl_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
