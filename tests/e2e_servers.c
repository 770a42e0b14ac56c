/* End-to-end: the shipped scenarios of scenarios/servers/ against Debian's
 * redis-server and nginx-light (make deps installs both), and faultline's
 * figures of redis against a count of /proc made by hand. The scenarios
 * must PASS on the servers as Debian ships them; their windows must have
 * fired, in nginx's workers too. Nothing here waits for a duration: the
 * hand count is a handshake of files. */
#include "testutil.h"

#include <glob.h>

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
	cr_assert_eq(nnginx, 4);
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

/* The other half of the shipped 'a worker killed by SIGSEGV is
 * replaced': a worker that crashes without the script sending the signal
 * (here this test kills it, from outside faultline) fails the run, named,
 * though nginx's master reaps it at once and forks another. The script
 * writes the worker's pid to a file; a helper of this test waits for the
 * file (a handshake, not a duration) and kills that pid. */
Test(servers, an_nginx_worker_that_crashes_on_its_own_fails, .timeout = 120)
{
	if (!installed("/usr/sbin/nginx"))
		cr_skip_test("nginx-light is not installed (make deps installs it)");
	tu_env e = tu_env_new();
	chmod(e.dir, 0711);
	chmod(e.tmp, 0711);
	/* The script writes only under its {tmpdir}, which faultline makes
	 * under TMPDIR (e.tmp). */
	char victim[PATH_MAX + 32], scen[PATH_MAX + 32];
	snprintf(victim, sizeof victim, "%s/faultline.*/*/victim", e.tmp);
	snprintf(scen, sizeof scen, "%s/crash.lua", e.dir);
	char killed[PATH_MAX + 32];
	snprintf(killed, sizeof killed, "%s/killed", e.dir);
	char text[4096];
	snprintf(text, sizeof text,
		 "local conf = [[\n"
		 "daemon off; master_process on; worker_processes 2;\n"
		 "pid TMP/nginx.pid; error_log stderr crit;\n"
		 "events { worker_connections 64; }\n"
		 "http { access_log off; client_body_temp_path TMP/cb; proxy_temp_path TMP/px;\n"
		 "  fastcgi_temp_path TMP/fc; uwsgi_temp_path TMP/uw; scgi_temp_path TMP/sc;\n"
		 "  server { listen 127.0.0.1:PORT; location = /health { return 200; } } }\n"
		 "]]\n"
		 "return { name = 'nginx: a worker crashes on its own', timeout = 60,\n"
		 "  target = { autostart = false,\n"
		 "    cmd = { '/usr/sbin/nginx', '-p', '{tmpdir}', '-c', '{tmpdir}/nginx.conf', '-e', 'stderr' },\n"
		 "    ready = { port = '{port}' } },\n"
		 "  run = function(t)\n"
		 "    local f = assert(io.open(t.tmpdir .. '/nginx.conf', 'w'))\n"
		 "    f:write((conf:gsub('TMP', t.tmpdir):gsub('PORT', tostring(t.port))))\n"
		 "    f:close()\n"
		 "    t:start()\n"
		 "    local victim\n"
		 "    assert(t:wait_until(function()\n"
		 "      for _, p in ipairs(t:processes()) do\n"
		 "        if not p.root then victim = p.pid; return true end\n"
		 "      end\n"
		 "      return false\n"
		 "    end, 30), 'no worker')\n"
		 "    f = assert(io.open(t.tmpdir .. '/victim', 'w'))\n"
		 "    f:write(victim .. '\\n')\n"
		 "    f:close()\n"
		 "    assert(t:wait_until(function()\n"
		 "      for _, p in ipairs(t:processes()) do\n"
		 "        if p.pid == victim then return false end\n"
		 "      end\n"
		 "      return true\n"
		 "    end, 60), 'the worker did not go')\n"
		 "    t:stop()\n"
		 "  end,\n"
		 "}\n");
	tu_write(scen, text);
	pid_t helper = fork();
	cr_assert_geq(helper, 0);
	if (helper == 0) {
		/* Waits for a whole line (the script writes it at once), at
		 * most as long as the test may run. */
		for (int i = 0; i < 12000; i++) {
			glob_t g;
			FILE *f = NULL;
			if (glob(victim, 0, NULL, &g) == 0) {
				f = fopen(g.gl_pathv[0], "r");
				globfree(&g);
			}
			char line[32] = "";
			if (f) {
				if (!fgets(line, sizeof line, f))
					line[0] = '\0';
				fclose(f);
			}
			if (strchr(line, '\n')) {
				/* {tmpdir} goes with the run: the pid is kept
				 * here for the test. */
				tu_write(killed, line);
				kill((pid_t)atol(line), SIGSEGV);
				_exit(0);
			}
			usleep(10000);
		}
		_exit(1);
	}
	const char *args[] = {scen, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 110);
	int hst;
	/* The run is over: the helper has killed the worker, or never
	 * will. */
	if (waitpid(helper, &hst, WNOHANG) == 0) {
		kill(helper, SIGKILL);
		waitpid(helper, &hst, 0);
	}
	cr_assert(WIFEXITED(hst) && WEXITSTATUS(hst) == 0, "the helper killed it");
	json_t *doc = tu_latest(&e);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_eq(status, 1, "a FAIL exits 1 (%d)\n%s", status, out);
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL", "%s", out);
	char *vt = tu_slurp(killed), want[96];
	snprintf(want, sizeof want, "target did not survive: nginx pid %ld ",
		 atol(vt));
	free(vt);
	const char *msg = tu_str(s, "message");
	cr_assert(!strncmp(msg, want, strlen(want)), "message: %s", msg);
	cr_assert(strstr(msg, "killed by SIGSEGV at "), "message: %s", msg);
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	cr_assert_eq(json_integer_value(json_object_get(t, "crashed_processes")), 1);
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
