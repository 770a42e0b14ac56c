/* The object a scenario's run(t) receives (the Lua binding of a running
 * scenario): it checks arguments, calls the modules and pushes results. */
#ifndef FL_LUA_TARGET_H
#define FL_LUA_TARGET_H

#include <lua.h>

struct fl_ctx;

/* Registers the object's metatable in L. */
void fl_lua_open_target(lua_State *L);
/* The names of its methods ("fault", "expect", ...), NULL-terminated. */
const char *const *fl_lua_target_methods(void);
/* Pushes the object for ctx. */
void fl_lua_push_target(lua_State *L, struct fl_ctx *ctx);

#endif
