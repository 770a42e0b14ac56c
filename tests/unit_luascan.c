/* The scanner of scenario sources (harness/luascan.c): Lua's strings,
 * long brackets, comments and numbers never hide or invent a call, lines
 * are counted across all of them, and only literal keys are read. */
#include "testutil.h"

#include "luascan.h"

static fl_luascan scan(const char *text)
{
	fl_luascan s;
	char err[256];
	int r = fl_luascan_scan(text, strlen(text), &s, err, sizeof err);
	cr_assert_eq(r, 0, "%s", err);
	return s;
}

Test(luascan, strings_comments_and_lines)
{
	fl_luascan s = scan(
		"#!/usr/bin/env lua\n"
		"local a = [[ t:fault('x') ]] .. [==[\n]] t:bad() \n]==]\n"
		"-- t:bad()\n"
		"--[[ t:bad(\n"
		"   ) ]] local b = 'it''s' .. \"t:bad() \\\" \\z\n"
		"     still\" .. 0x1p+4 .. 1e-3 .. 3..\"\"\n"
		"return { run = function(t)\n"
		"  t:fault(\"posix/io/\\x6fc/close\", { p = 0.5,\n"
		"    [\"errno\"] = 'EIO', [1 + 1] = 2, 'positional' })\n"
		"  t:log'hi' t:expect{ leaked = { fds = 0 } }\n"
		"end }\n");
	cr_assert_eq(s.nreceivers, 1);
	cr_assert_str_eq(s.receivers[0], "t");
	cr_assert_eq(s.ncalls, 3, "%zu calls", s.ncalls);
	const fl_luascan_call *f = &s.calls[0];
	cr_assert_str_eq(f->method, "fault");
	cr_assert_eq(f->line, 10);
	cr_assert_eq(f->nargs, 2);
	cr_assert_eq(f->args[0].kind, FL_LUASCAN_STRING);
	cr_assert_str_eq(f->args[0].str, "posix/io/oc/close");
	cr_assert_eq(f->args[1].kind, FL_LUASCAN_TABLE);
	cr_assert_eq(f->args[1].nfields, 4);
	cr_assert_str_eq(f->args[1].fields[0].key, "p");
	cr_assert_eq(f->args[1].fields[0].line, 10);
	cr_assert_str_eq(f->args[1].fields[1].key, "errno");
	cr_assert_eq(f->args[1].fields[1].line, 11);
	cr_assert_null(f->args[1].fields[2].key); /* computed */
	cr_assert_null(f->args[1].fields[3].key); /* positional */
	cr_assert_str_eq(s.calls[1].method, "log");
	cr_assert_eq(s.calls[1].args[0].kind, FL_LUASCAN_STRING);
	const fl_luascan_call *e = &s.calls[2];
	cr_assert_str_eq(e->method, "expect");
	cr_assert_eq(e->line, 12);
	const fl_luascan_value *leaked = fl_luascan_get(&e->args[0], "leaked");
	cr_assert_not_null(leaked);
	cr_assert_eq(leaked->kind, FL_LUASCAN_TABLE);
	cr_assert_str_eq(leaked->fields[0].key, "fds");
	fl_luascan_free(&s);
}

/* The receiver is the run function's parameter, also through a name; a
 * field (self.t:x) or another variable is not the target object; an
 * expression that starts with a table is no table; a function's body
 * inside a table does not split its fields. */
Test(luascan, receivers_and_expressions)
{
	fl_luascan s = scan(
		"local function body(tgt)\n"
		"  tgt:fault('a', { f = function(x) local q, r = 1, 2 end, g = 1 })\n"
		"  t:fault('b') self.tgt:fault('c') tgt.x:y() tgt : sleep ( 1 )\n"
		"  tgt:fault('d' .. 'e', {}.x, { } .. '')\n"
		"end\n"
		"return { run = body }\n");
	cr_assert_eq(s.nreceivers, 1);
	cr_assert_str_eq(s.receivers[0], "tgt");
	cr_assert_eq(s.ncalls, 3, "%zu calls", s.ncalls);
	const fl_luascan_value *o = &s.calls[0].args[1];
	cr_assert_eq(o->nfields, 2);
	cr_assert_str_eq(o->fields[0].key, "f");
	cr_assert_str_eq(o->fields[1].key, "g");
	cr_assert_str_eq(s.calls[1].method, "sleep");
	cr_assert_eq(s.calls[2].nargs, 3);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(s.calls[2].args[i].kind, FL_LUASCAN_OTHER, "%zu", i);
	fl_luascan_free(&s);
}

Test(luascan, unfinished_source)
{
	static const char *const bad[] = {"x = 'open", "x = [==[ open ]=]",
					  "--[[ open", "x = \"a\\\"", NULL};
	for (int i = 0; bad[i]; i++) {
		fl_luascan s;
		char err[256];
		cr_assert_eq(fl_luascan_scan(bad[i], strlen(bad[i]), &s, err,
					     sizeof err),
			     -EINVAL, "%s", bad[i]);
		cr_assert(strstr(err, "line 1: unfinished"), "%s", err);
		fl_luascan_free(&s);
	}
}
