/* A scenario's configuration: its Lua table turned into a plain C struct,
 * with every default in one place (fl_config_defaults), so nothing reads
 * the table after parsing. Unknown keys, wrong types and numbers that make
 * no sense are errors that name the field (and the line, where the source
 * shows it), never silent defaults. */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "probe.h"
#include "target.h"

/* When the target counts as ready. */
typedef struct fl_ready_cfg {
	int streams;		/* FL_STDOUT/FL_STDERR a line comes from; 0 */
	char *text;		/* the line contains it (or matches it) */
	int regex;		/* text is a POSIX extended regex */
	char *port;		/* a port that must accept: "{port}", "8080" */
	double delay_s;		/* then wait this long */
	double timeout_s;	/* give up after this long */
} fl_ready_cfg;

enum fl_health_kind {
	FL_HEALTH_NONE = 0,
	FL_HEALTH_TCP,
	FL_HEALTH_FUNCTION,
};

typedef struct fl_health_cfg {
	enum fl_health_kind kind;
	char *port;		/* TCP: "{port}", "{port:name}" or a number */
	int family;		/* AF_INET (127.0.0.1) or AF_INET6 (::1) */
	char *unix_path;	/* or a Unix-domain stream socket (unexpanded) */
	char *send;		/* bytes to send (may hold NULs), or NULL */
	size_t send_len;
	char *expect;		/* the reply (or body) must contain it, or NULL */
	int regex;		/* expect is a POSIX extended regex */
	char *reply_end;	/* where a line reply ends (NULL: "\n") */
	char *http;		/* HTTP: the path to GET, or NULL */
	char *http_host;	/* HTTP: the Host header (NULL: the address) */
	fl_probe_status status[FL_PROBE_MAX_STATUS]; /* HTTP: that pass */
	size_t nstatus;
	double timeout_s;
	double interval_s;
	int fn_ref;		/* FUNCTION: registry reference, LUA_NOREF */
} fl_health_cfg;

typedef struct fl_config {
	char *name;
	char *description;
	char **tags;
	int ntags;
	uint64_t seed;
	double timeout_s;	/* the watchdog */
	int xfail;
	char *xfail_reason;
	char *xfail_match;	/* Lua pattern the failure must match */

	/* target */
	char **cmd;		/* unexpanded: placeholders stay */
	int ncmd;
	char **env_names;	/* target.env, in the table's order */
	char **env_values;	/* unexpanded */
	int nenv;
	char *cwd;
	fl_ready_cfg ready;
	fl_health_cfg health;
	int stop_signal;
	double stop_grace_s;
	fl_rlimit_spec rlimits[FL_TARGET_MAX_RLIMITS];
	int nrlimits;
	char close_mode[16];	/* "linux" or "libfiu" */
	size_t output_limit;	/* bytes kept of each stream */
	int autostart;		/* start before run() */
	int exits;		/* the target is expected to exit by itself */
	int inherit;		/* programs it executes keep the agent */
	int origins;		/* the agent remembers where each fd was
				 * opened (leak forensics say so) */
	char *watch;		/* directory whose entries are a figure */
	double oom_rss;		/* RSS at which to take OOM forensics; 0 */
	int oom_core;		/* ...and a core with gcore */

	double hz;		/* samples per second */
	fl_steady steady;	/* the steady-state hypothesis */
	int64_t hold_ns;	/* how long the steady state must hold */
	/* The final measurement looks at least this far back. */
	int64_t final_window_ns;
	int run_ref;		/* registry reference of run() */
} fl_config;

/* The probe a health table describes, at port or unix_path (the
 * placeholders already expanded); strings are borrowed from hc. */
void fl_health_probe_of(const fl_health_cfg *hc, int port,
			const char *unix_path, fl_probe *out);

/* What a per = field says: "tree" (0, the figures summed over the target's
 * processes) or "process" (1, each process against its own baseline).
 * 0 or -EINVAL. */
int fl_config_per_process(const char *text, int *per_process);

/* Every default. */
void fl_config_defaults(fl_config *c);

/* Reads the scenario table at idx of L into c (which holds the defaults).
 * file names the scenario in messages and is read for line numbers.
 * Returns 0, or -1 with a message in err ("scenarios/x.lua:12: unknown
 * field 'steddy' in the scenario (did you mean 'steady'?)"). Registry
 * references for run() and a health function are taken in L. */
int fl_config_parse(lua_State *L, int idx, const char *file, fl_config *c,
		    char *err, size_t errlen);
void fl_config_free(fl_config *c);

/* The resource limit a name stands for ("nofile" -> RLIMIT_NOFILE), and
 * whether its values are sizes. 0, or -1 for an unknown name. */
int fl_rlimit_lookup(const char *name, int *resource, int *bytes);
/* "nofile, as, nproc, ..." for messages. */
const char *fl_rlimit_names(void);

/* A port field is a number, "{port}" or "{port:NAME}"; is text one? */
int fl_config_port_valid(const char *text);

/* Keys: the key closest to a misspelled one (edit distance at most 2, or
 * a third of its length), or NULL. */
const char *fl_config_did_you_mean(const char *key,
				   const char *const *known);
/* The line of file where `key =` appears: the first, or with near > 0 the
 * last at or before line near (else the first after it); 0 if none. */
int fl_config_line_of(const char *file, const char *key, int near);

#endif
