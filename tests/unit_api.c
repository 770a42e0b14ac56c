/* The scenario API the harness accepts and the one types/faultline.lua (the
 * LuaLS definitions) describes are the same: every table's keys, every t:
 * method, every field of t. A field or method on one side only fails. */
#include "testutil.h"

#include "api.h"
#include "figures.h"
#include "lua_target.h"

#include <lauxlib.h>
#include <lualib.h>

#define TYPES "types/faultline.lua"

/* The names of the `---@field` lines of `---@class cls` in the types file,
 * comma-joined with leading and trailing commas (",a,b,"). */
static char *class_fields(const char *text, const char *cls)
{
	char head[128];
	snprintf(head, sizeof head, "---@class %s\n", cls);
	const char *p = strstr(text, head);
	cr_assert_not_null(p, "%s has no class %s", TYPES, cls);
	p += strlen(head);
	char *out = calloc(1, 4096);
	strcpy(out, ",");
	while (strncmp(p, "---@field ", 10) == 0) {
		p += 10;
		size_t n = strcspn(p, "? \n");
		strncat(out, p, n);
		strcat(out, ",");
		p = strchr(p, '\n') + 1;
	}
	return out;
}

static int has(const char *set, const char *name)
{
	char needle[128];
	snprintf(needle, sizeof needle, ",%s,", name);
	return strstr(set, needle) != NULL;
}

static size_t count(const char *set)
{
	size_t n = 0;
	for (const char *p = set + 1; *p; p++)
		n += *p == ',';
	return n;
}

Test(api, every_table_matches_its_class)
{
	char *text = tu_slurp(TYPES);
	cr_assert_not_null(text);
	for (size_t i = 0; i < fl_api_ntables; i++) {
		const fl_api_table *t = &fl_api_tables[i];
		char *fields = class_fields(text, t->lua_class);
		const char *const *keys = fl_api_keys(t->name);
		size_t n = 0;
		for (; keys[n]; n++)
			cr_assert(has(fields, keys[n]),
				  "%s takes '%s' but %s does not describe it "
				  "(its fields: %s)",
				  t->name, keys[n], t->lua_class, fields);
		cr_assert_eq(count(fields), n,
			     "%s describes fields %s, but %s takes %zu keys",
			     t->lua_class, fields, t->name, n);
		free(fields);
	}
	free(text);
}

Test(api, every_method_is_described)
{
	char *text = tu_slurp(TYPES);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	fl_lua_open_target(L);
	luaL_getmetatable(L, "faultline.target");
	cr_assert_eq(lua_getfield(L, -1, "methods"), LUA_TTABLE);
	size_t harness = 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		char decl[128];
		snprintf(decl, sizeof decl, "\nfunction T:%s(", lua_tostring(L, -1));
		cr_assert(strstr(text, decl), "t:%s exists but %s does not "
					      "describe it",
			  lua_tostring(L, -1), TYPES);
		harness++;
	}
	size_t described = 0;
	for (const char *p = text; (p = strstr(p, "\nfunction T:")); p++)
		described++;
	cr_assert_eq(described, harness,
		     "%s describes %zu methods, the harness has %zu", TYPES,
		     described, harness);
	lua_close(L);
	free(text);
}

Test(api, fields_of_t)
{
	char *text = tu_slurp(TYPES);
	char *fields = class_fields(text, "faultline.T");
	size_t n = 0;
	for (; fl_api_target_fields[n]; n++)
		cr_assert(has(fields, fl_api_target_fields[n]), "t.%s",
			  fl_api_target_fields[n]);
	cr_assert_eq(count(fields), n, "faultline.T: %s", fields);
	free(fields);
	free(text);
}

/* Every figure is a key of the tables of figures, so a new figure needs
 * its line in the types file too. */
Test(api, figures_tables_take_every_figure)
{
	const char *const *keys = fl_api_keys("t:expect.leaked");
	for (int f = 0; f < FL_FIG_COUNT; f++) {
		int found = 0;
		for (size_t i = 0; keys[i]; i++)
			found |= !strcmp(keys[i], fl_figures[f].key);
		cr_assert(found, "%s", fl_figures[f].key);
	}
}
