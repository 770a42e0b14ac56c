/* The scenario table turned into fl_config, without running anything:
 * every field, its default, and each error with its message. */
#include "testutil.h"

#include "config.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>

/* Parses the Lua expression text (a table) as a scenario named file.
 * Returns parse's status; the message lands in err. */
static int parse_text(const char *text, const char *file, fl_config *c,
		      char *err, size_t errlen)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	char chunk[8192];
	snprintf(chunk, sizeof chunk, "return %s", text);
	cr_assert_eq(luaL_dostring(L, chunk), LUA_OK, "the test's Lua: %s",
		     lua_tostring(L, -1));
	fl_config_defaults(c);
	err[0] = '\0';
	int r = fl_config_parse(L, -1, file, c, err, errlen);
	cr_assert_eq(lua_gettop(L), 1, "parse must leave the stack as it was");
	lua_close(L);
	return r;
}

#define MINIMAL "target = { cmd = { 'prog' } }, run = function(t) end"

/* Parses a scenario that must fail and checks its message contains want. */
static void expect_error(const char *text, const char *want)
{
	fl_config c;
	char err[1024];
	int r = parse_text(text, "s.lua", &c, err, sizeof err);
	cr_assert_eq(r, -1, "accepted: %s", text);
	cr_assert(strstr(err, want) != NULL,
		  "for %s\n  message: %s\n  expected to contain: %s", text, err,
		  want);
	fl_config_free(&c);
}

Test(config, defaults)
{
	fl_config c;
	char err[1024];
	cr_assert_eq(parse_text("{" MINIMAL "}", "s.lua", &c, err, sizeof err),
		     0, "%s", err);
	cr_assert_null(c.name, "the runner names it after the file");
	cr_assert_eq(c.seed, 1);
	cr_assert_float_eq(c.timeout_s, 60.0, 1e-9);
	cr_assert_eq(c.xfail, 0);
	cr_assert_eq(c.ncmd, 1);
	cr_assert_str_eq(c.cmd[0], "prog");
	cr_assert_eq(c.nenv, 0);
	cr_assert_null(c.cwd);
	cr_assert_eq(c.ready.streams, 0);
	cr_assert_null(c.ready.port);
	cr_assert_float_eq(c.ready.delay_s, 0, 1e-9);
	cr_assert_float_eq(c.ready.timeout_s, 10.0, 1e-9);
	cr_assert_eq(c.health.kind, FL_HEALTH_NONE);
	cr_assert_float_eq(c.health.timeout_s, 0.5, 1e-9);
	cr_assert_float_eq(c.health.interval_s, 0.1, 1e-9);
	cr_assert_eq(c.stop_signal, SIGTERM);
	cr_assert_float_eq(c.stop_grace_s, 2.0, 1e-9);
	cr_assert_eq(c.nrlimits, 0);
	cr_assert_str_eq(c.close_mode, "linux");
	cr_assert_eq(c.output_limit, 65536);
	cr_assert_eq(c.autostart, 1);
	cr_assert_eq(c.exits, 0);
	cr_assert_eq(c.inherit, 0);
	cr_assert_null(c.watch);
	cr_assert_float_eq(c.oom_rss, 0, 1e-9);
	cr_assert_float_eq(c.hz, 200, 1e-9);
	cr_assert(c.steady.tol[FL_FIG_FDS].set);
	cr_assert_str_eq(c.steady.tol[FL_FIG_FDS].text, "+0");
	cr_assert(c.steady.tol[FL_FIG_THREADS].set);
	cr_assert_not(c.steady.tol[FL_FIG_RSS].set);
	cr_assert_not(c.steady.tol[FL_FIG_FILES].set);
	cr_assert_eq(c.steady.health, 0);
	cr_assert_eq(c.steady.per_process, 0, "the tree's sum by default");
	cr_assert_not(c.steady.tol[FL_FIG_PROCS].set);
	cr_assert_eq(c.hold_ns, 100 * 1000000LL);
	cr_assert_eq(c.final_window_ns, 50 * 1000000LL);
	cr_assert_neq(c.run_ref, LUA_NOREF);
	fl_config_free(&c);
}

Test(config, every_field)
{
	fl_config c;
	char err[1024];
	const char *text =
		"{ name = 'n', description = 'd', tags = { 'a', 'b' }, seed = 7,"
		"  timeout = 3.5, xfail = { reason = 'r', match = 'leak' },"
		"  target = { cmd = { 'prog', '--port', '{port}' },"
		"    env = { A = 'x', B = 2 }, cwd = '{tmpdir}',"
		"    ready = { stderr = 'UP', regex = true, port = '{port}',"
		"              delay = 0.25, timeout = 4 },"
		"    health = { tcp = '{port:web}', send = 'PING\\n',"
		"               expect = 'PONG', timeout = 0.2, interval = 0.05 },"
		"    stop = { signal = 'INT', grace = 1 },"
		"    rlimits = { nofile = 64, as = '512MiB' },"
		"    close = 'libfiu', output_limit = '128KiB', autostart = false,"
		"    exits = true, inherit = true, watch = '{tmpdir}/spool',"
		"    oom = { rss = '200MiB', core = true } },"
		"  sample = { hz = 1000 },"
		"  steady = { fds = '+2', threads = 1, rss = '+8MiB', files = '±3',"
		"             health = true },"
		"  recovery = { hold = 0.3 },"
		"  run = function(t) end }";
	cr_assert_eq(parse_text(text, "s.lua", &c, err, sizeof err), 0, "%s",
		     err);
	cr_assert_str_eq(c.name, "n");
	cr_assert_str_eq(c.description, "d");
	cr_assert_eq(c.ntags, 2);
	cr_assert_str_eq(c.tags[1], "b");
	cr_assert_eq(c.seed, 7);
	cr_assert_float_eq(c.timeout_s, 3.5, 1e-9);
	cr_assert_eq(c.xfail, 1);
	cr_assert_str_eq(c.xfail_reason, "r");
	cr_assert_str_eq(c.xfail_match, "leak");
	cr_assert_eq(c.ncmd, 3);
	cr_assert_str_eq(c.cmd[2], "{port}", "placeholders stay unexpanded");
	cr_assert_eq(c.nenv, 2);
	cr_assert_str_eq(c.cwd, "{tmpdir}");
	cr_assert_eq(c.ready.streams, 2);
	cr_assert_str_eq(c.ready.text, "UP");
	cr_assert_eq(c.ready.regex, 1);
	cr_assert_str_eq(c.ready.port, "{port}");
	cr_assert_float_eq(c.ready.delay_s, 0.25, 1e-9);
	cr_assert_float_eq(c.ready.timeout_s, 4, 1e-9);
	cr_assert_eq(c.health.kind, FL_HEALTH_TCP);
	cr_assert_str_eq(c.health.port, "{port:web}");
	cr_assert_eq(c.health.send_len, 5);
	cr_assert_str_eq(c.health.expect, "PONG");
	cr_assert_float_eq(c.health.timeout_s, 0.2, 1e-9);
	cr_assert_float_eq(c.health.interval_s, 0.05, 1e-9);
	cr_assert_eq(c.stop_signal, SIGINT);
	cr_assert_float_eq(c.stop_grace_s, 1, 1e-9);
	cr_assert_eq(c.nrlimits, 2);
	int found_as = 0;
	for (int i = 0; i < c.nrlimits; i++)
		if (c.rlimits[i].resource == RLIMIT_AS) {
			found_as = 1;
			cr_assert_eq(c.rlimits[i].soft, 512ULL << 20);
		}
	cr_assert(found_as);
	cr_assert_str_eq(c.close_mode, "libfiu");
	cr_assert_eq(c.output_limit, 128 * 1024);
	cr_assert_eq(c.autostart, 0);
	cr_assert_eq(c.exits, 1);
	cr_assert_eq(c.inherit, 1);
	cr_assert_str_eq(c.watch, "{tmpdir}/spool");
	cr_assert_float_eq(c.oom_rss, 200.0 * 1024 * 1024, 1);
	cr_assert_eq(c.oom_core, 1);
	cr_assert_float_eq(c.hz, 1000, 1e-9);
	cr_assert_str_eq(c.steady.tol[FL_FIG_FDS].text, "+2");
	cr_assert_float_eq(c.steady.tol[FL_FIG_THREADS].above, 1, 1e-9);
	cr_assert_float_eq(c.steady.tol[FL_FIG_RSS].above, 8 << 20, 1e-9);
	cr_assert_float_eq(c.steady.tol[FL_FIG_FILES].below, 3, 1e-9);
	cr_assert_eq(c.steady.health, 1);
	cr_assert_eq(c.hold_ns, 300 * 1000000LL);
	fl_config_free(&c);
}

Test(config, health_function_and_its_interval)
{
	fl_config c;
	char err[1024];
	cr_assert_eq(parse_text("{ target = { cmd = { 'p' },"
				" health = function(t) return true end,"
				" health_interval = 0.02 }, run = function() end }",
				"s.lua", &c, err, sizeof err),
		     0, "%s", err);
	cr_assert_eq(c.health.kind, FL_HEALTH_FUNCTION);
	cr_assert_neq(c.health.fn_ref, LUA_NOREF);
	cr_assert_float_eq(c.health.interval_s, 0.02, 1e-9);
	fl_config_free(&c);
}

Test(config, unknown_fields_say_did_you_mean)
{
	expect_error("{ steddy = { fds = 1 }, " MINIMAL "}",
		     "unknown field 'steddy' in the scenario (did you mean "
		     "'steady'?)");
	expect_error("{ target = { cmd = { 'p' }, ready = { timout = 2 } }, "
		     "run = function() end }",
		     "unknown field 'timout' in target.ready (did you mean "
		     "'timeout'?)");
	expect_error("{ target = { cmd = { 'p' }, health = { tcp = 1, expct = "
		     "'x' } }, run = function() end }",
		     "unknown field 'expct' in target.health (did you mean "
		     "'expect'?)");
	expect_error("{ target = { cmd = { 'p' }, comand = 'x' }, run = "
		     "function() end }",
		     "unknown field 'comand' in target");
	expect_error("{ xfail = { reasn = 'x' }, " MINIMAL "}",
		     "(did you mean 'reason'?)");
	expect_error("{ sample = { herz = 5 }, " MINIMAL "}",
		     "unknown field 'herz' in sample");
	expect_error("{ recovery = { hld = 1 }, " MINIMAL "}",
		     "(did you mean 'hold'?)");
	expect_error("{ target = { cmd = { 'p' }, stop = { grase = 1 } }, run "
		     "= function() end }",
		     "(did you mean 'grace'?)");
	expect_error("{ target = { cmd = { 'p' }, oom = { rss = '1MiB', cores "
		     "= true } }, run = function() end }",
		     "(did you mean 'core'?)");
	expect_error("{ steady = { fd = '+1' }, " MINIMAL "}",
		     "(did you mean 'fds'?)");
	expect_error("{ target = { cmd = { 'p' }, rlimits = { nofiles = 3 } },"
		     " run = function() end }",
		     "unknown limit 'nofiles' (did you mean 'nofile'?)");
	expect_error("{ zzzzzzzz = 1, " MINIMAL "}",
		     "unknown field 'zzzzzzzz' in the scenario (known: name,");
}

Test(config, numbers_that_make_no_sense)
{
	expect_error("{ timeout = 0/0, " MINIMAL "}",
		     "timeout must be a finite number");
	expect_error("{ timeout = -1, " MINIMAL "}",
		     "timeout must be greater than 0");
	expect_error("{ sample = { hz = 1/0 }, " MINIMAL "}",
		     "sample.hz must be a finite number");
	expect_error("{ sample = { hz = 20000 }, " MINIMAL "}",
		     "sample.hz must be between 1 and 10000");
	expect_error("{ target = { cmd = { 'p' }, ready = { delay = -0.5 } }, "
		     "run = function() end }",
		     "target.ready.delay must be at least 0");
	expect_error("{ target = { cmd = { 'p' }, health = { tcp = 1, timeout "
		     "= 0 } }, run = function() end }",
		     "target.health.timeout must be greater than 0");
	expect_error("{ recovery = { hold = -1 }, " MINIMAL "}",
		     "recovery.hold must be at least 0");
	expect_error("{ target = { cmd = { 'p' }, output_limit = '64 KiBs' }, "
		     "run = function() end }",
		     "target.output_limit: '64 KiBs' is not a size");
	expect_error("{ target = { cmd = { 'p' }, output_limit = 'nan' }, run "
		     "= function() end }",
		     "target.output_limit: 'nan' is not a size");
	expect_error("{ target = { cmd = { 'p' }, oom = { rss = '2 parsecs' } "
		     "}, run = function() end }",
		     "target.oom.rss: '2 parsecs' is not a size");
	expect_error("{ target = { cmd = { 'p' }, rlimits = { as = '1 XB' } },"
		     " run = function() end }",
		     "target.rlimits.as must be a number or a size");
	expect_error("{ target = { cmd = { 'p' }, rlimits = { nofile = 0/0 } "
		     "}, run = function() end }",
		     "target.rlimits.nofile must be a finite number");
	expect_error("{ steady = { rss = '+8 megs' }, " MINIMAL "}",
		     "steady.rss: bad tolerance '+8 megs'");
	expect_error("{ steady = { fds = 0/0 }, " MINIMAL "}",
		     "steady.fds must be finite");
	expect_error("{ seed = 1.5, " MINIMAL "}",
		     "seed must be a non-negative integer");
}

Test(config, required_and_typed_fields)
{
	expect_error("{ run = function() end }", "a scenario needs a target");
	expect_error("{ target = { cmd = { 'p' } } }", "a scenario needs run");
	expect_error("{ target = { }, run = function() end }",
		     "target.cmd must be a list of strings");
	expect_error("{ target = { cmd = { } }, run = function() end }",
		     "target.cmd is empty");
	expect_error("{ target = { cmd = { 'p', {} } }, run = function() end }",
		     "target.cmd[2] must be a string (got table)");
	expect_error("{ target = { cmd = { 'p', x = 'y' } }, run = function() "
		     "end }",
		     "target.cmd must be a list (it has the key x)");
	expect_error("{ target = { cmd = { 'p' }, exits = 'yes' }, run = "
		     "function() end }",
		     "target.exits must be true or false (got string)");
	expect_error("{ target = { cmd = { 'p' }, health = { tcp = 'port' } },"
		     " run = function() end }",
		     "target.health.tcp must be a port number or \"{port}\"");
	expect_error("{ target = { cmd = { 'p' }, health = { send = 'x' } }, "
		     "run = function() end }",
		     "target.health needs tcp");
	expect_error("{ target = { cmd = { 'p' }, stop = { signal = 'NOPE' } "
		     "}, run = function() end }",
		     "target.stop.signal: unknown signal 'NOPE'");
	expect_error("{ target = { cmd = { 'p' }, close = 'windows' }, run = "
		     "function() end }",
		     "target.close must be \"linux\"");
	expect_error("{ steady = { files = 1 }, " MINIMAL "}",
		     "steady.files needs target.watch");
	expect_error("{ steady = { health = true }, " MINIMAL "}",
		     "steady.health = true needs a target.health probe");
	expect_error("{ xfail = 3, " MINIMAL "}", "xfail must be true, a reason");
	expect_error("{ target = { cmd = { 'p' }, ready = { stdout = 'A', "
		     "stderr = 'B' } }, run = function() end }",
		     "target.ready takes one of stdout, stderr and output");
	expect_error("{ target = { cmd = { 'p' }, ready = { regex = true } }, "
		     "run = function() end }",
		     "target.ready.regex needs stdout, stderr or output");
	expect_error("{ target = { cmd = { 'p' }, ready = { stdout = 'a(', "
		     "regex = true } }, run = function() end }",
		     "target.ready: 'a(' is not a POSIX extended regular "
		     "expression");
	expect_error("{ target = { cmd = { 'p' }, health_interval = 1 }, run = "
		     "function() end }",
		     "target.health_interval needs a health function");
	expect_error("{ target = { cmd = { 'p' }, env = { ['A=B'] = 'x' } }, "
		     "run = function() end }",
		     "target.env: 'A=B' is not a variable name");
}

Test(config, messages_name_the_line)
{
	char path[] = "/tmp/fl-unit-config.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *text = "return {\n"
			   "  name = 'x',\n"
			   "  target = { cmd = { 'p' } },\n"
			   "  run = function(t) end,\n"
			   "  steddy = { fds = 1 },\n"
			   "}\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	cr_assert_eq(luaL_dofile(L, path), LUA_OK);
	fl_config c;
	fl_config_defaults(&c);
	char err[1024];
	cr_assert_eq(fl_config_parse(L, -1, path, &c, err, sizeof err), -1);
	char want[512];
	snprintf(want, sizeof want, "%s:5: unknown field 'steddy'", path);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "message: %s\nwant: %s",
		  err, want);
	fl_config_free(&c);
	lua_close(L);
	unlink(path);
}

Test(config, did_you_mean)
{
	static const char *const known[] = {"timeout", "interval", "expect",
					    "send", NULL};
	cr_assert_str_eq(fl_config_did_you_mean("timout", known), "timeout");
	cr_assert_str_eq(fl_config_did_you_mean("TIMEOUT", known), "timeout");
	cr_assert_str_eq(fl_config_did_you_mean("intervall", known), "interval");
	cr_assert_str_eq(fl_config_did_you_mean("sned", known), "send",
			 "a swap of two letters is one mistake");
	cr_assert_null(fl_config_did_you_mean("colour", known));
}

Test(config, port_fields)
{
	cr_assert(fl_config_port_valid("{port}"));
	cr_assert(fl_config_port_valid("{port:web}"));
	cr_assert(fl_config_port_valid("8080"));
	cr_assert_not(fl_config_port_valid("0"));
	cr_assert_not(fl_config_port_valid("70000"));
	cr_assert_not(fl_config_port_valid("{port:}"));
	cr_assert_not(fl_config_port_valid("{prot}"));
	cr_assert_not(fl_config_port_valid("80x"));
}

/* steady.per: the sum over the tree, or each process against its own
 * baseline. */
Test(config, steady_per_process)
{
	fl_config c;
	char err[1024];
	cr_assert_eq(parse_text("{ steady = { fds = '+1', procs = '+0', per = "
				"'process' }, " MINIMAL "}",
				"s.lua", &c, err, sizeof err),
		     0, "%s", err);
	cr_assert_eq(c.steady.per_process, 1);
	cr_assert(c.steady.tol[FL_FIG_PROCS].set);
	cr_assert_float_eq(c.steady.tol[FL_FIG_PROCS].above, 0, 1e-9);
	fl_config_free(&c);
	cr_assert_eq(parse_text("{ steady = { fds = '+1', per = 'tree' }, " MINIMAL
				"}",
				"s.lua", &c, err, sizeof err),
		     0, "%s", err);
	cr_assert_eq(c.steady.per_process, 0);
	fl_config_free(&c);
	expect_error("{ steady = { fds = '+1', per = 'each' }, " MINIMAL "}",
		     "steady.per must be \"tree\" (the sum over the target's "
		     "processes) or \"process\" (each process against its own "
		     "baseline), not 'each'");
	expect_error("{ steady = { fds = '+1', per = true }, " MINIMAL "}",
		     "steady.per must be a string (got boolean)");
	expect_error("{ steady = { fds = '+1', pre = 'process' }, " MINIMAL "}",
		     "(did you mean 'per'?)");
	int per = -1;
	cr_assert_eq(fl_config_per_process("process", &per), 0);
	cr_assert_eq(per, 1);
	cr_assert_eq(fl_config_per_process("tree", &per), 0);
	cr_assert_eq(per, 0);
	cr_assert_eq(fl_config_per_process("Process", &per), -EINVAL);
}
