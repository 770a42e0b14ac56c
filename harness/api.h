/* The scenario API as data: every table a scenario passes (the scenario,
 * target, ready, health, ... and the options of every t: method) with the
 * keys it takes, and the LuaLS class that describes it in
 * types/faultline.lua. The parser (config.c) and the Lua binding
 * (lua_*.c) check keys against these lists, and tests/unit_api.c checks
 * them against the types file, so the two can never drift apart. */
#ifndef FL_API_H
#define FL_API_H

#include <stddef.h>

typedef struct fl_api_table {
	const char *name;	/* "target.ready", "t:fault", "t:expect.leaked" */
	const char *lua_class;	/* "faultline.Ready" in types/faultline.lua */
	/* The keys; NULL-terminated. A table of figures (steady, leaked,
	 * peak, trend) lists its other keys here and takes every figure's
	 * key from the table of figures too. */
	const char *const *keys;
	int figures;		/* also every key of fl_figures */
} fl_api_table;

/* The fields of the target object t (t.port, ...), in the order of enum
 * fl_api_field; NULL-terminated. */
enum fl_api_field {
	FL_FIELD_PORT,
	FL_FIELD_PID,
	FL_FIELD_SEED,
	FL_FIELD_TMPDIR,
	FL_FIELD_NAME,
};
extern const char *const fl_api_target_fields[];
/* The field a key names, or -1. */
int fl_api_target_field(const char *key);

extern const fl_api_table fl_api_tables[];
extern const size_t fl_api_ntables;

/* The table called name; NULL if there is none. */
const fl_api_table *fl_api_table_named(const char *name);
/* Its keys, the figures' included, NULL-terminated, in a static array
 * (valid until the next call from the same thread). */
const char *const *fl_api_keys(const char *name);

#endif
