/* A static look at a scenario's Lua source, for faultline check: the
 * method calls on the target object (t:fault(...), x:expect{...}) and the
 * table constructors and strings among their arguments, with the line of
 * each, without running a line of the script. It reads literal keys only
 * (`name =`, `["name"] =`); a computed key or a table built elsewhere is
 * left alone, so what it reports is what the author wrote. */
#ifndef FL_LUASCAN_H
#define FL_LUASCAN_H

#include <stddef.h>

enum fl_luascan_kind {
	FL_LUASCAN_OTHER = 0,	/* any other expression */
	FL_LUASCAN_STRING,	/* a string literal, nothing else */
	FL_LUASCAN_TABLE,	/* a table constructor, nothing else */
};

struct fl_luascan_field;

typedef struct fl_luascan_value {
	enum fl_luascan_kind kind;
	int line;
	char *str;		/* STRING: its value (escapes decoded) */
	size_t len;
	struct fl_luascan_field *fields; /* TABLE */
	size_t nfields;
} fl_luascan_value;

typedef struct fl_luascan_field {
	char *key;		/* a literal key; NULL: positional or computed */
	int line;		/* the key's line (the value's if no key) */
	fl_luascan_value value;
} fl_luascan_field;

typedef struct fl_luascan_call {
	char *receiver;		/* "t" */
	char *method;		/* "fault" */
	int line;		/* the method name's */
	fl_luascan_value *args;
	size_t nargs;
} fl_luascan_call;

typedef struct fl_luascan {
	fl_luascan_call *calls;	/* in the order of the source */
	size_t ncalls;
	char **receivers;	/* the names taken for the target object */
	size_t nreceivers;
} fl_luascan;

/* Scans text (len bytes, NUL-terminated). The target object is the first
 * parameter of each `run = function(NAME` (or of the function a `run =
 * NAME` names); "t" when the source shows none. 0, or -EINVAL with a
 * sentence in err for source the lexer cannot read (an unfinished string
 * or comment: the Lua loader says where); *out owns its lists either way
 * and is freed with fl_luascan_free. */
int fl_luascan_scan(const char *text, size_t len, fl_luascan *out, char *err,
		    size_t errlen);
void fl_luascan_free(fl_luascan *s);

/* The value of the field key of table v (a TABLE), or NULL. */
const fl_luascan_value *fl_luascan_get(const fl_luascan_value *v,
					 const char *key);

#endif
