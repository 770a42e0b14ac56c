/* Fuzz target: the scenario loader's reading of the scenario table
 * (fl_config_parse, harness/config.c), on tables built from the input.
 * The bytes are a small program: each byte picks what comes next (a key
 * from the scenario API's key lists or one made of the following bytes;
 * a number, including NaN, infinities and negatives; a string, including
 * placeholders and sizes; a boolean; a function; a nested table), so the
 * fuzzer reaches deep into valid-looking scenarios as well as nonsense.
 * Every outcome but a crash, a sanitizer report or a leak is fine. */
#include "fuzz_common.h"

#include "api.h"
#include "config.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>

struct cur {
	const uint8_t *p, *end;
};

static int next(struct cur *c)
{
	return c->p < c->end ? *c->p++ : -1;
}

/* Every key any table of the API takes, and a few it does not. */
static const char *keys[512];
static size_t nkeys;

static void add_key(const char *k)
{
	for (size_t i = 0; i < nkeys; i++)
		if (!strcmp(keys[i], k))
			return;
	if (nkeys < sizeof keys / sizeof keys[0])
		keys[nkeys++] = k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_scratch();
	for (size_t t = 0; t < fl_api_ntables; t++)
		for (const char *const *k = fl_api_keys(fl_api_tables[t].name); *k; k++)
			add_key(*k);
	static const char *const extra[] = {"run", "target", "steady", "recovery",
					    "sample", "oom", "rlimits", "xfail",
					    "fds", "threads", "rss", "files",
					    "steddy", "", "1"};
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		add_key(extra[i]);
	return 0;
}

static const char *const strings[] = {
	"{port}", "{port:web}", "{tmpdir}", "+1", "+0", "8MiB", "-1", "10%",
	"TERM", "KILL", "EIO", "posix/io/oc/close", "posix/io/*", "stdout",
	"any", "READY", "3,5-9,every 10", "every 0", "0.*", "::1", "1/s",
	"bin/true", "", "\377\001", "nofile",
};

/* Pushes a string made of the following bytes (up to 40). */
static void push_bytes(lua_State *L, struct cur *c)
{
	int n = next(c);
	n = n < 0 ? 0 : n % 41;
	char buf[41];
	int k = 0;
	for (; k < n; k++) {
		int b = next(c);
		if (b < 0)
			break;
		buf[k] = (char)b;
	}
	lua_pushlstring(L, buf, (size_t)k);
}

static void push_value(lua_State *L, struct cur *c, int depth);

/* Pushes a table of up to 8 entries. */
static void push_table(lua_State *L, struct cur *c, int depth)
{
	lua_newtable(L);
	int n = next(c);
	n = n < 0 ? 0 : n % 9;
	for (int i = 0; i < n; i++) {
		int how = next(c);
		if (how < 0)
			break;
		if (how % 4 == 0) {
			/* An array entry. */
			push_value(L, c, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
			continue;
		}
		if (how % 4 == 3)
			push_bytes(L, c);
		else
			lua_pushstring(L, keys[(size_t)next(c) % nkeys]);
		push_value(L, c, depth + 1);
		lua_rawset(L, -3);
	}
}

static void push_value(lua_State *L, struct cur *c, int depth)
{
	int kind = next(c);
	if (kind < 0) {
		lua_pushnil(L);
		return;
	}
	switch (kind % 10) {
	case 0: {
		static const double specials[] = {0, 1, -1, 0.5, 1e308, -1e-9,
						  65536, 4294967296.0};
		int b = next(c);
		double v = b < 0 ? 0 : specials[b % 8];
		if (b >= 0 && b % 16 == 9)
			v = NAN;
		else if (b >= 0 && b % 16 == 10)
			v = -INFINITY;
		else if (b >= 0 && b % 16 == 11)
			v = INFINITY;
		lua_pushnumber(L, v);
		break;
	}
	case 1:
		lua_pushinteger(L, (lua_Integer)(int8_t)next(c) * 37);
		break;
	case 2: {
		int b = next(c);
		lua_pushstring(L, strings[(size_t)(b < 0 ? 0 : b) %
					  (sizeof strings / sizeof strings[0])]);
		break;
	}
	case 3:
		push_bytes(L, c);
		break;
	case 4:
		lua_pushboolean(L, next(c) & 1);
		break;
	case 5:
	case 6:
		if (luaL_loadstring(L, "return function(t) return true end") != LUA_OK ||
		    lua_pcall(L, 0, 1, 0) != LUA_OK)
			lua_pushnil(L);
		break;
	default:
		if (depth < 5)
			push_table(L, c, depth);
		else
			lua_pushnil(L);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return 0;
	luaL_openlibs(L);
	struct cur c = {data, data + size};
	/* The top table is always a table: the loader's own check of that
	 * is one line. */
	push_table(L, &c, 0);
	fl_config cfg;
	fl_config_defaults(&cfg);
	char err[2048];
	fl_config_parse(L, -1, "fuzz-scenario.lua", &cfg, err, sizeof err);
	fl_config_free(&cfg);
	lua_close(L);
	return 0;
}
