/* End-to-end: the shipped scenarios of scenarios/servers/ against Debian's
 * redis-server and nginx-light (make deps installs both), and faultline's
 * figures of redis against a count of /proc made by hand. The scenarios
 * must PASS on the servers as Debian ships them; their windows must have
 * fired, in nginx's workers too. Nothing here waits for a duration: the
 * hand count is a handshake of files. */
#include "testutil.h"

static int installed(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The records of journal-K.json of the newest run. */
static json_t *journal(tu_env *e, int k)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/latest/journal-%d.json", e->reports, k);
	json_t *j = tu_load_json(path);
	json_t *r = tu_calls(json_object_get(j, "records"));
	json_decref(j);
	return r;
}

/* The number of the scenario named like needle in results.json (1-based),
 * which is its journal's number. */
static int scenario_number(json_t *doc, const char *needle)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		if (strstr(tu_str(s, "name"), needle))
			return (int)i + 1;
	}
	cr_assert_fail("no scenario like '%s'", needle);
	return 0;
}

Test(servers, shipped_scenarios_pass_on_debians_servers, .timeout = 180)
{
	if (!installed("/usr/bin/redis-server") || !installed("/usr/sbin/nginx"))
		cr_skip_test("redis-server or nginx-light is not installed (make deps "
			     "installs them)");
	tu_env e = tu_env_new();
	/* nginx's workers run as nobody: the path to {tmpdir} must be
	 * traversable (faultline makes its own directories 0711). */
	chmod(e.dir, 0711);
	chmod(e.tmp, 0711);
	const char *args[] = {"scenarios/servers/", NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 170);
	cr_assert_eq(status, 0, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	size_t i;
	json_t *s;
	int nredis = 0, nnginx = 0;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		const char *name = tu_str(s, "name");
		cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s: %s", name,
				 tu_str(s, "message"));
		nredis += strncmp(name, "redis:", 6) == 0;
		nnginx += strncmp(name, "nginx:", 6) == 0;
		/* Every window fired: a PASS never rests on faults that did
		 * not happen. */
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(s, "faults"), k, w)
			cr_assert_gt(tu_num(w, "fired"), 0, "%s: %s", name,
				     tu_str(w, "point"));
	}
	cr_assert_eq(nredis, 4);
	cr_assert_eq(nnginx, 3);
	/* nginx's recv window opened after the workers forked; the faults
	 * it fired are the workers' (actors 0f1, 0f2: forked children of
	 * the master), none the master's. */
	json_t *recs = journal(&e, scenario_number(doc, "nginx: recv fails"));
	cr_assert_gt(json_array_size(recs), 0);
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		cr_assert_str_eq(tu_str(r, "point"), "posix/io/net/recv");
		cr_assert(strncmp(tu_str(r, "actor"), "0f", 2) == 0, "actor %s",
			  tu_str(r, "actor"));
	}
	json_decref(recs);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* The figures faultline samples of redis-server are what /proc says: the
 * scenario logs the pid (faultline -v prints it), waits for this test's
 * count of /proc/PID/fd and /proc/PID/task, and compares it with its own
 * latest sample; redis holds still meanwhile (no client). */
Test(servers, redis_figures_match_a_hand_count, .timeout = 90)
{
	if (!installed("/usr/bin/redis-server"))
		cr_skip_test("redis-server is not installed (make deps installs it)");
	tu_env e = tu_env_new();
	char counted[PATH_MAX + 32], scen[PATH_MAX + 32];
	snprintf(counted, sizeof counted, "%s/counted", e.dir);
	snprintf(scen, sizeof scen, "%s/count.lua", e.dir);
	char text[4096];
	snprintf(text, sizeof text,
		 "return { name = 'redis: hand count', timeout = 60,\n"
		 "  target = { cmd = { '/usr/bin/redis-server', '--port', '{port}', '--bind',\n"
		 "    '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '{tmpdir}' },\n"
		 "    ready = { port = '{port}' } },\n"
		 "  run = function(t)\n"
		 "    t:settle(0.2)\n"
		 "    t:log('PID=' .. t.pid .. '.')\n"
		 "    while not io.open('%s') do t:sleep(0.02) end\n"
		 "    local c = io.open('%s'):read('a')\n"
		 "    local fds, threads = c:match('(%%d+) (%%d+)')\n"
		 "    t:sleep(0.1)\n"
		 "    local s = t:sample()\n"
		 "    t:check(s.fds == tonumber(fds), 'fds: sampled ' .. s.fds .. ', counted ' .. fds)\n"
		 "    t:check(s.threads == tonumber(threads), 'threads: sampled ' .. s.threads .. ', counted ' .. threads)\n"
		 "  end }\n",
		 counted, counted);
	tu_write(scen, text);
	char *argv[] = {"faultline", "run", "-v", "--report-dir", e.reports, scen, NULL};
	tu_proc pr = tu_start(argv, e.tmp);
	/* Read faultline's output until the pid line. */
	char buf[65536];
	size_t len = 0;
	pid_t pid = 0;
	while (!pid && len + 1 < sizeof buf) {
		ssize_t n = read(pr.out_fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		const char *p = strstr(buf, "PID=");
		if (p && strchr(p, '.'))
			pid = (pid_t)atoi(p + 4);
	}
	cr_assert_gt(pid, 0, "no pid line:\n%.*s", (int)len, buf);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	int nfds = tu_count_entries(path);
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	int nthreads = tu_count_entries(path);
	char line[64];
	snprintf(line, sizeof line, "%d %d\n", nfds, nthreads);
	char tmp[PATH_MAX + 40];
	snprintf(tmp, sizeof tmp, "%s.tmp", counted);
	tu_write(tmp, line);
	cr_assert_eq(rename(tmp, counted), 0);
	char *out;
	int status = tu_finish(pr, &out, 60);
	cr_assert_eq(status, 0, "exit %d (counted %d fds, %d threads):\n%s", status,
		     nfds, nthreads, out);
	/* redis at rest on Debian 12: 7 fds (stdin, stdout, stderr, a pipe's
	 * two ends, its epoll and its listening socket) and 5 threads; the
	 * agent keeps no fd and no thread, and the target inherits nothing
	 * of faultline's own descriptors. */
	cr_assert_eq(nfds, 7, "%d fds", nfds);
	cr_assert_eq(nthreads, 5, "%d threads", nthreads);
	free(out);
	tu_env_free(&e);
}
