/* Fuzz target: faultline check's reading of a scenario's source
 * (fl_luascan_scan, harness/luascan.c) on any bytes: unfinished strings
 * and long brackets, escapes at the end of the input, NULs, nesting that
 * never closes. Every outcome but a crash, a sanitizer report or a leak
 * is fine; what it reads must stay inside what it was given (lines within
 * the input's, keys and methods that are names). */
#include "fuzz_common.h"

#include "luascan.h"

#include <ctype.h>

static void walk(const fl_luascan_value *v, int lines)
{
	if (v->line < 1 || v->line > lines)
		abort();
	for (size_t i = 0; i < v->nfields; i++) {
		if (v->fields[i].line < 1 || v->fields[i].line > lines)
			abort();
		walk(&v->fields[i].value, lines);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The reader takes NUL-terminated text, as fl_read_file gives. */
	char *text = fl_xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	int lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	fl_luascan s;
	char err[256];
	if (fl_luascan_scan(text, size, &s, err, sizeof err) == 0) {
		if (!s.nreceivers)
			abort();
		for (size_t i = 0; i < s.ncalls; i++) {
			const fl_luascan_call *c = &s.calls[i];
			if (c->line < 1 || c->line > lines || !c->method[0] ||
			    !(isalpha((unsigned char)c->method[0]) ||
			      c->method[0] == '_'))
				abort();
			for (size_t a = 0; a < c->nargs; a++)
				walk(&c->args[a], lines);
		}
	}
	fl_luascan_free(&s);
	free(text);
	return 0;
}
