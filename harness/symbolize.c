#define _GNU_SOURCE
#include "symbolize.h"

#include "util.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Debug files are looked for by build id under /usr/lib/debug only, never
 * through debuginfod: a sweep resolves thousands of addresses, and a
 * network look-up per module would stall it (and depend on the
 * network). */
static const Dwfl_Callbacks callbacks = {
	.find_debuginfo = dwfl_build_id_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct module {
	char *path;
	Dwfl *dwfl;		/* NULL: the file could not be read */
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	int err;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *mods;
static size_t nmods;

static struct module *module_for(const char *path)
{
	for (size_t i = 0; i < nmods; i++)
		if (!strcmp(mods[i].path, path))
			return &mods[i];
	mods = fl_xrealloc(mods, (nmods + 1) * sizeof *mods);
	struct module *m = &mods[nmods++];
	memset(m, 0, sizeof *m);
	m->path = fl_xstrdup(path);
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl) {
		m->err = -ENOMEM;
		return m;
	}
	const char *base = strrchr(path, '/');
	m->mod = dwfl_report_offline(m->dwfl, base ? base + 1 : path, path, -1);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod || !dwfl_module_getelf(m->mod, &m->bias)) {
		dwfl_end(m->dwfl);
		m->dwfl = NULL;
		m->mod = NULL;
		m->err = -ENOEXEC;
	}
	return m;
}

/* The innermost function around addr that the debug info names: an
 * inlined one when the line is in its body, so name and line agree. */
static int scope_name(Dwfl_Module *mod, Dwarf_Addr addr, char *out,
		      size_t len)
{
	Dwarf_Addr dbias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &dbias);
	if (!cu)
		return 0;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(cu, addr - dbias, &scopes);
	int found = 0;
	for (int i = 0; i < n && !found; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
			continue;
		const char *name = dwarf_diename(&scopes[i]);
		if (name) {
			snprintf(out, len, "%s", name);
			found = 1;
		}
	}
	free(scopes);
	return found;
}

int fl_symbolize(const char *path, uint64_t vaddr, fl_symbol *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&lock);
	struct module *m = module_for(path);
	if (!m->mod) {
		int e = m->err;
		pthread_mutex_unlock(&lock);
		return e;
	}
	Dwarf_Addr addr = vaddr + m->bias;
	int named = scope_name(m->mod, addr, out->function, sizeof out->function);
	Dwfl_Line *line = dwfl_module_getsrc(m->mod, addr);
	if (line) {
		int lineno = 0;
		const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL,
						NULL);
		if (src) {
			snprintf(out->file, sizeof out->file, "%s", src);
			out->line = lineno;
		}
	}
	out->debug = named || out->line > 0;
	if (!named) {
		GElf_Off off = 0;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym,
							NULL, NULL, NULL);
		if (name) {
			snprintf(out->function, sizeof out->function, "%s", name);
			out->symbol_offset = off;
		}
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

void fl_symbolize_reset(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nmods; i++) {
		if (mods[i].dwfl)
			dwfl_end(mods[i].dwfl);
		free(mods[i].path);
	}
	free(mods);
	mods = NULL;
	nmods = 0;
	pthread_mutex_unlock(&lock);
}
