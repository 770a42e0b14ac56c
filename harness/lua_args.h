/* Argument checking for the methods of the target object. Every function
 * raises a Lua error naming the method and the option on a bad
 * argument. */
#ifndef FL_LUA_ARGS_H
#define FL_LUA_ARGS_H

#include <lua.h>
#include <stddef.h>

#include "ctx.h"

#define FL_TARGET_MT "faultline.target"

/* The userdata behind t. */
typedef struct fl_target_ud {
	fl_ctx *ctx;
} fl_target_ud;

/* The context of the target object at stack index 1. */
fl_ctx *fl_larg_target(lua_State *L);
/* Every key of the option table at idx (if it is a table) is one of
 * allowed; otherwise "fname: unknown option 'x' (did you mean 'y'?)". */
void fl_larg_keys(lua_State *L, int idx, const char *fname,
		  const char *const *allowed);
/* A finite number option of the table at idx; def when absent. */
double fl_larg_num(lua_State *L, int idx, const char *key, double def);
/* The same, not negative: a duration. */
double fl_larg_seconds(lua_State *L, int idx, const char *key, double def);
/* A duration argument at idx. */
double fl_larg_check_seconds(lua_State *L, int idx, const char *what);
/* A duration argument at idx, def when absent. */
double fl_larg_opt_seconds(lua_State *L, int idx, double def,
			   const char *what);
/* A boolean option (false when absent). */
int fl_larg_bool(lua_State *L, int idx, const char *key);
/* stream = "stdout" | "stderr" | "any" (the default): FL_STDOUT bits. */
int fl_larg_stream(lua_State *L, int idx, const char *fname);
/* An amount of a figure: a number, or a size for a figure of bytes. */
double fl_larg_amount(lua_State *L, int idx, enum fl_figure f,
		      const char *where);
/* The script's file:line that called the method. */
void fl_larg_where(lua_State *L, char *out, size_t len);
/* After a wait that returned r: raises the watchdog's, interrupt's or
 * assert's error if the run is aborting. */
void fl_larg_after_wait(lua_State *L, int r);
/* Raises "what: the target is not running" unless it is. */
void fl_larg_need_running(lua_State *L, fl_ctx *ctx, const char *what);

#endif
