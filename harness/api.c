#define _GNU_SOURCE
#include "api.h"

#include "figures.h"

#include <stdlib.h>
#include <string.h>

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

const fl_api_table fl_api_tables[] = {
	/* The scenario table and what it holds. */
	{"the scenario", "faultline.Scenario",
	 KEYS("name", "description", "tags", "seed", "timeout", "xfail",
	      "target", "sample", "steady", "recovery", "run"),
	 0},
	{"target", "faultline.Target",
	 KEYS("cmd", "env", "cwd", "ready", "health", "health_interval", "stop",
	      "rlimits", "close", "output_limit", "autostart", "exits",
	      "inherit", "origins", "watch", "oom"),
	 0},
	{"target.ready", "faultline.Ready",
	 KEYS("stdout", "stderr", "output", "regex", "port", "delay",
	      "timeout"),
	 0},
	{"target.health", "faultline.Health",
	 KEYS("tcp", "host", "unix", "send", "expect", "regex", "reply_end",
	      "http", "status", "http_host", "timeout", "interval"),
	 0},
	{"target.stop", "faultline.Stop", KEYS("signal", "grace"), 0},
	{"target.rlimits", "faultline.Rlimits",
	 KEYS("nofile", "as", "nproc", "core", "stack", "data", "fsize", "cpu"),
	 0},
	{"target.oom", "faultline.Oom", KEYS("rss", "core"), 0},
	{"xfail", "faultline.Xfail", KEYS("reason", "match"), 0},
	{"sample", "faultline.Sample", KEYS("hz"), 0},
	{"steady", "faultline.Steady", KEYS("health", "per"), 1},
	{"recovery", "faultline.Recovery", KEYS("hold"), 0},
	/* The options of the t: methods. */
	{"t:stop", "faultline.StopOptions", KEYS("grace", "signal"), 0},
	{"t:restart", "faultline.RestartOptions", KEYS("grace"), 0},
	{"t:quiesce", "faultline.QuiesceOptions", KEYS("hold", "within"), 0},
	{"t:wait_output", "faultline.WaitOutputOptions",
	 KEYS("stream", "regex", "timeout", "past"), 0},
	{"t:tcp", "faultline.TcpOptions",
	 KEYS("port", "host", "unix", "expect", "reply_end", "timeout"), 0},
	{"t:http", "faultline.HttpOptions",
	 KEYS("port", "host", "unix", "http_host", "timeout"), 0},
	{"t:fault", "faultline.FaultOptions",
	 KEYS("p", "errno", "onetime", "failnum", "nth", "actors", "after",
	      "on_output", "optional"),
	 0},
	{"t:fault.after", "faultline.After", KEYS("point", "calls", "actor"), 0},
	{"t:fault.on_output", "faultline.OnOutput",
	 KEYS("text", "stream", "regex"), 0},
	{"t:expect_recovery", "faultline.RecoveryOptions",
	 KEYS("within", "hold"), 0},
	{"t:episodes", "faultline.EpisodesOptions",
	 KEYS("point", "p", "errno", "onetime", "failnum", "nth", "actors",
	      "count", "on", "off", "within", "hold", "optional"),
	 0},
	{"t:expect", "faultline.ExpectOptions",
	 KEYS("exit", "signal", "pid", "leaked", "peak", "steady",
	      "survived", "trend"),
	 0},
	{"t:expect.leaked", "faultline.Leaked", KEYS("per"), 1},
	{"t:expect.peak", "faultline.Figures", (const char *const[]){NULL}, 1},
	{"t:expect.trend", "faultline.Trend", KEYS("window"), 1},
};

const size_t fl_api_ntables = sizeof fl_api_tables / sizeof fl_api_tables[0];

const char *const fl_api_target_fields[] = {
	[FL_FIELD_PORT] = "port",     [FL_FIELD_PID] = "pid",
	[FL_FIELD_SEED] = "seed",     [FL_FIELD_TMPDIR] = "tmpdir",
	[FL_FIELD_NAME] = "name",     NULL,
};

int fl_api_target_field(const char *key)
{
	for (int i = 0; fl_api_target_fields[i]; i++)
		if (strcmp(fl_api_target_fields[i], key) == 0)
			return i;
	return -1;
}

const fl_api_table *fl_api_table_named(const char *name)
{
	for (size_t i = 0; i < fl_api_ntables; i++)
		if (strcmp(fl_api_tables[i].name, name) == 0)
			return &fl_api_tables[i];
	return NULL;
}

const char *const *fl_api_keys(const char *name)
{
	static __thread const char *keys[64];
	const fl_api_table *t = fl_api_table_named(name);
	if (!t) {
		/* A bug in the caller: no table of that name. */
		abort();
	}
	size_t n = 0;
	for (size_t i = 0; t->keys[i] && n < 63; i++)
		keys[n++] = t->keys[i];
	if (t->figures)
		for (int f = 0; f < FL_FIG_COUNT && n < 63; f++)
			keys[n++] = fl_figures[f].key;
	keys[n] = NULL;
	return keys;
}
