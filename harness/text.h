/* Text from outside faultline (a target's output, its fd targets and
 * thread names, a scenario's names, messages and log lines, paths) as it
 * lands in results, reports and the console. Any bytes are kept: a byte
 * that is not part of valid UTF-8 becomes U+FFFD, one per byte, so a
 * single stray byte can never drop a field (Jansson refuses invalid UTF-8,
 * and a refused value used to vanish with its key). */
#ifndef FL_TEXT_H
#define FL_TEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Decodes one UTF-8 sequence at s (len bytes left): its length and code
 * point, or 0 for an invalid sequence (overlong, surrogate, too large,
 * cut short). */
size_t fl_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Appends len bytes of s to b as valid UTF-8: each byte that does not
 * belong to a valid sequence becomes U+FFFD. NUL bytes are kept. */
void fl_text_utf8(fl_buf *b, const char *s, size_t len);

/* A JSON string of len bytes of s, made valid as fl_text_utf8 does. Never
 * NULL: out of memory aborts (util.h's policy). */
json_t *fl_text_jsonn(const char *s, size_t len);
/* The same for a C string; NULL gives JSON null. */
json_t *fl_text_json(const char *s);
/* The same as an object member: the key made valid too. Out of memory
 * aborts, so the member is never silently missing. */
void fl_text_set(json_t *obj, const char *key, json_t *value);
/* Appends a string value to an array, or aborts. */
void fl_text_append(json_t *arr, json_t *value);

/* Appends s for a terminal: valid UTF-8 with U+FFFD for invalid bytes,
 * and control characters (C0, DEL, C1) written as \n, \t, \r, \e or
 * \xNN, so a name cannot move the cursor, clear the screen or fake a
 * line of output. */
void fl_text_console(fl_buf *b, const char *s);

#endif
