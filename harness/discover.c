/* Finding scenarios: files and directories expanded into the scenarios
 * they hold, with their names, tags and seeds (for run, list and shard
 * selection). The functions are declared in scenario.h. */
#define _GNU_SOURCE
#include "scenario.h"

#include "lua_state.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_dir(const char *dir, char ***files, int *n, int *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char **names = NULL;
	int nn = 0, nc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (nn == nc) {
			nc = nc ? nc * 2 : 16;
			names = fl_xrealloc(names, (size_t)nc * sizeof *names);
		}
		names[nn++] = fl_xstrdup(de->d_name);
	}
	closedir(d);
	if (nn > 1)
		qsort(names, (size_t)nn, sizeof *names, cmp_str);
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	for (int i = 0; i < nn; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%.*s/%s", (int)dlen, dir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			collect_dir(path, files, n, cap);
		} else {
			size_t len = strlen(names[i]);
			if (len > 4 && strcmp(names[i] + len - 4, ".lua") == 0) {
				if (*n == *cap) {
					*cap = *cap ? *cap * 2 : 32;
					*files = fl_xrealloc(
						*files,
						(size_t)*cap * sizeof **files);
				}
				(*files)[(*n)++] = fl_xstrdup(path);
			}
		}
		free(names[i]);
	}
	free(names);
}

static void ref_add(fl_scenario_ref **v, int *n, int *cap, const char *file,
		    int index)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*v = fl_xrealloc(*v, (size_t)*cap * sizeof **v);
	}
	fl_scenario_ref *r = &(*v)[(*n)++];
	memset(r, 0, sizeof *r);
	r->file = fl_xstrdup(file);
	r->index = index;
}

/* Fills name, tags and seed of a reference from the scenario table on top
 * of the stack. */
static void ref_describe(lua_State *L, fl_scenario_ref *r)
{
	const char *base = strrchr(r->file, '/');
	base = base ? base + 1 : r->file;
	if (lua_getfield(L, -1, "name") == LUA_TSTRING)
		r->name = fl_xstrdup(lua_tostring(L, -1));
	else if (r->index > 0) {
		char buf[PATH_MAX];
		snprintf(buf, sizeof buf, "%s#%d", base, r->index);
		r->name = fl_xstrdup(buf);
	} else
		r->name = fl_xstrdup(base);
	lua_pop(L, 1);
	fl_buf tags;
	fl_buf_init(&tags);
	if (lua_getfield(L, -1, "tags") == LUA_TTABLE) {
		lua_Integer len = luaL_len(L, -1);
		for (lua_Integer i = 1; i <= len; i++) {
			if (lua_geti(L, -1, i) == LUA_TSTRING) {
				if (tags.len)
					fl_buf_putc(&tags, ',');
				fl_buf_puts(&tags, lua_tostring(L, -1));
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	r->tags = fl_buf_steal(&tags);
	r->seed = 1;
	if (lua_getfield(L, -1, "seed") == LUA_TNUMBER)
		r->seed = (uint64_t)lua_tointeger(L, -1);
	lua_pop(L, 1);
}

static void discover_file(const char *spec, fl_scenario_ref **v, int *n,
			  int *cap)
{
	char file[PATH_MAX];
	snprintf(file, sizeof file, "%s", spec);
	int want = 0;
	char *hash = strrchr(file, '#');
	if (hash && access(file, F_OK) != 0) {
		want = atoi(hash + 1);
		*hash = '\0';
	}
	lua_State *L = fl_lua_new(NULL);
	char err[1024];
	if (fl_lua_load_scenario(L, file, err, sizeof err) != 0) {
		ref_add(v, n, cap, file, want);
		(*v)[*n - 1].load_error = fl_xstrdup(err);
		const char *base = strrchr(file, '/');
		(*v)[*n - 1].name = fl_xstrdup(base ? base + 1 : file);
		(*v)[*n - 1].tags = fl_xstrdup("");
		lua_close(L);
		return;
	}
	/* A file returns one scenario (a table with run) or a list. */
	lua_getfield(L, -1, "run");
	int single = !lua_isnil(L, -1);
	lua_pop(L, 1);
	if (single || luaL_len(L, -1) == 0) {
		ref_add(v, n, cap, file, 0);
		ref_describe(L, &(*v)[*n - 1]);
	} else {
		lua_Integer len = luaL_len(L, -1);
		for (lua_Integer i = 1; i <= len; i++) {
			if (want && i != want)
				continue;
			ref_add(v, n, cap, file, (int)i);
			if (lua_geti(L, -1, i) == LUA_TTABLE)
				ref_describe(L, &(*v)[*n - 1]);
			else {
				(*v)[*n - 1].name = fl_xstrdup(file);
				(*v)[*n - 1].tags = fl_xstrdup("");
				(*v)[*n - 1].load_error = fl_xstrdup(
					"list entry is not a scenario table");
			}
			lua_pop(L, 1);
		}
	}
	lua_close(L);
}

int fl_scenario_discover(char *const *paths, int npaths, fl_scenario_ref **out,
			 char *err, size_t errlen)
{
	fl_scenario_ref *v = NULL;
	int n = 0, cap = 0;
	for (int i = 0; i < npaths; i++) {
		struct stat st;
		char plain[PATH_MAX];
		snprintf(plain, sizeof plain, "%s", paths[i]);
		char *hash = strrchr(plain, '#');
		if (stat(plain, &st) != 0 && hash)
			*hash = '\0';
		if (stat(plain, &st) != 0) {
			snprintf(err, errlen, "%s: %s", paths[i],
				 strerror(errno));
			fl_scenario_refs_free(v, n);
			return -ENOENT;
		}
		if (S_ISDIR(st.st_mode)) {
			char **files = NULL;
			int nf = 0, fc = 0;
			collect_dir(plain, &files, &nf, &fc);
			for (int j = 0; j < nf; j++) {
				discover_file(files[j], &v, &n, &cap);
				free(files[j]);
			}
			free(files);
		} else {
			discover_file(paths[i], &v, &n, &cap);
		}
	}
	*out = v;
	return n;
}

void fl_scenario_refs_free(fl_scenario_ref *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].file);
		free(v[i].name);
		free(v[i].tags);
		free(v[i].load_error);
	}
	free(v);
}

int fl_scenario_has_tag(const fl_scenario_ref *ref, const char *tags)
{
	char want[1024];
	snprintf(want, sizeof want, "%s", tags);
	char *save = NULL;
	for (char *t = strtok_r(want, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		size_t tl = strlen(t);
		for (const char *p = ref->tags; p && *p;) {
			size_t n = strcspn(p, ",");
			if (n == tl && strncmp(p, t, n) == 0)
				return 1;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	return 0;
}

void fl_scenario_no_tag_match(const fl_scenario_ref *refs, int n,
			      const char *tags, char *msg, size_t len)
{
	char **known = NULL;
	size_t nknown = 0;
	for (int i = 0; i < n; i++) {
		for (const char *p = refs[i].tags; p && *p;) {
			size_t tl = strcspn(p, ",");
			size_t k;
			for (k = 0; k < nknown; k++)
				if (strlen(known[k]) == tl && !strncmp(known[k], p, tl))
					break;
			if (k == nknown && tl) {
				known = fl_xrealloc(known, (nknown + 1) * sizeof *known);
				known[nknown++] = strndup(p, tl);
				if (!known[nknown - 1])
					fl_out_of_memory();
			}
			p += tl;
			if (*p == ',')
				p++;
		}
	}
	qsort(known, nknown, sizeof *known, cmp_str);
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "no scenario carries the tag%s '%s'",
		      strchr(tags, ',') ? "s" : "", tags);
	if (!nknown)
		fl_buf_printf(&b, ": none of the %d scenario%s has tags", n,
			      n == 1 ? "" : "s");
	for (size_t k = 0; k < nknown; k++)
		fl_buf_printf(&b, "%s%s", k ? ", " : "; the tags there are: ",
			      known[k]);
	snprintf(msg, len, "%s", b.data);
	fl_buf_free(&b);
	for (size_t k = 0; k < nknown; k++)
		free(known[k]);
	free(known);
}
