/* The object a scenario's run(t) receives (the Lua binding of a running
 * scenario): it checks arguments, calls the modules and pushes results. */
#ifndef FL_LUA_TARGET_H
#define FL_LUA_TARGET_H

#include <lua.h>

struct fl_ctx;

/* Registers the object's metatable in L. */
void fl_lua_open_target(lua_State *L);
/* Pushes the object for ctx. */
void fl_lua_push_target(lua_State *L, struct fl_ctx *ctx);

#endif
