/* Targets that are process trees (tests/targets/tree.c, and nginx with a
 * master and two workers): every descendant is sampled and summed, leak
 * forensics name the process that leaked, figures are judged on the sum
 * or per process as the scenario says, a fork leak is a leak, a daemon
 * that left the session is killed and named, and the per-process figures
 * match a count of /proc made by hand. Nothing here depends on timing:
 * the tests wait for lines and files, never for durations. */
#include "testutil.h"

#include <sys/socket.h>
#include <netinet/in.h>

#define TREE "build/tests/targets/tree"

/* Runs a scenario file written from text in a fresh env. */
static json_t *run_text(tu_env *e, const char *text, const char *const *extra,
			int *status, char **out)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/s.lua", e->dir);
	tu_write(path, text);
	const char *args[8];
	int n = 0;
	for (int i = 0; extra && extra[i] && n < 6; i++)
		args[n++] = extra[i];
	args[n++] = path;
	args[n] = NULL;
	*status = tu_env_run(e, args, out, 90);
	return tu_latest(e);
}

/* The number after "prefix" in the scenario's captured stdout. */
static long stdout_number(json_t *s, const char *prefix)
{
	json_t *t = json_array_get(json_object_get(s, "targets"), 0);
	const char *tail =
		tu_str(json_object_get(t, "output"), "stdout_tail");
	const char *p = strstr(tail, prefix);
	cr_assert_not_null(p, "no '%s' in stdout: %s", prefix, tail);
	return atol(p + strlen(prefix));
}

static json_t *target0(json_t *s)
{
	return json_array_get(json_object_get(s, "targets"), 0);
}

/* The message of the scenario's expectation whose "what" is what. */
static const char *expectation(json_t *s, const char *what, int *ok)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(s, "expectations"), i, x)
	{
		if (strcmp(tu_str(x, "what"), what) == 0) {
			*ok = json_is_true(json_object_get(x, "ok"));
			return tu_str(x, "message");
		}
	}
	cr_assert_fail("no expectation '%s'", what);
	return "";
}

Test(tree, a_worker_leak_is_named_by_process, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'tree: a worker leaks',\n"
		"  target = { cmd = { '" TREE "', 'workers', '2' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    t:check(#t:processes() == 3, 'three processes: ' .. #t:processes())\n"
		"    t:signal('USR1')\n"
		"    t:wait_output('LEAKED')\n"
		"    t:stop()\n"
		"    t:expect { leaked = { fds = 0, threads = 0, procs = 0 } }\n"
		"    t:expect { leaked = { fds = 0, threads = 0, per = 'process' } }\n"
		"  end }\n",
		NULL, &status, &out);
	cr_assert_eq(status, 1, "%s", out);
	json_t *s = tu_scenario(doc, "a worker leaks");
	long worker = stdout_number(s, "LEAKED pid=");
	char want[200];
	snprintf(want, sizeof want,
		 "leaked 3 fds (allowed 0): worker pid %ld: 3 x socket", worker);
	cr_assert_str_eq(tu_str(s, "message"), want);
	int ok;
	const char *m = expectation(s, "leaked fds per process", &ok);
	snprintf(want, sizeof want,
		 "leaked 3 fds in worker pid %ld (allowed 0): 3 x socket", worker);
	cr_assert_str_eq(m, want);
	cr_assert_not(ok);
	m = expectation(s, "leaked threads per process", &ok);
	cr_assert(ok, "%s", m);
	m = expectation(s, "leaked procs", &ok);
	cr_assert(ok, "%s", m);
	cr_assert_str_eq(m, "leaked 0 processes (allowed 0)");
	/* Three processes at the baseline and at the end. */
	cr_assert_eq(tu_num(json_object_get(s, "baseline"), "procs"), 3);
	cr_assert_eq(tu_num(json_object_get(s, "final"), "procs"), 3);
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "fds"), 3);
	/* The root and two workers, its children. */
	json_t *t = target0(s);
	json_t *procs = json_object_get(t, "processes");
	cr_assert_eq(json_array_size(procs), 3);
	long root = (long)tu_num(t, "pid");
	int workers = 0, leaker = 0;
	size_t i;
	json_t *p;
	json_array_foreach(procs, i, p)
	{
		if (json_is_true(json_object_get(p, "root"))) {
			cr_assert_eq((long)tu_num(p, "pid"), root);
			continue;
		}
		cr_assert_str_eq(tu_str(p, "name"), "worker");
		cr_assert_eq((long)tu_num(p, "ppid"), root);
		workers++;
		leaker += (long)tu_num(p, "pid") == worker;
	}
	cr_assert_eq(workers, 2);
	cr_assert_eq(leaker, 1);
	cr_assert_eq(tu_num(json_object_get(t, "sampling"), "processes"), 3);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(tree, steady_on_the_sum_or_per_process, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	/* Both workers leak 3 fds: +6 on the sum, +3 in each process. */
	json_t *doc = run_text(
		&e,
		"local function scenario(name, steady)\n"
		"  return { name = name, steady = steady,\n"
		"    target = { cmd = { '" TREE "', 'workers', '2' }, ready = { stdout = 'READY' } },\n"
		"    run = function(t)\n"
		"      local b = t:settle(0.2)\n"
		"      t:signal('USR2')\n"
		"      t:wait_until(function(s) return s.fds >= b.fds + 6 end, 30)\n"
		"      t:expect_steady()\n"
		"      t:stop()\n"
		"    end }\n"
		"end\n"
		"return {\n"
		"  scenario('per process +4', { fds = '+4', per = 'process' }),\n"
		"  scenario('sum +4', { fds = '+4' }),\n"
		"  scenario('per process +2', { fds = '+2', per = 'process' }),\n"
		"}\n",
		NULL, &status, &out);
	cr_assert_eq(status, 1, "%s", out);
	json_t *s = tu_scenario(doc, "per process +4");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	s = tu_scenario(doc, "sum +4");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	cr_assert(strstr(tu_str(s, "message"), "steady state broken: fds "),
		  "%s", tu_str(s, "message"));
	s = tu_scenario(doc, "per process +2");
	cr_assert_str_eq(tu_str(s, "verdict"), "FAIL");
	/* The process is named: one of the two workers. */
	const char *m = tu_str(s, "message");
	const char *pid = strstr(m, "steady state broken: pid ");
	cr_assert_not_null(pid, "%s", m);
	long named = atol(pid + strlen("steady state broken: pid "));
	int found = 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(target0(s), "processes"), i, p)
		found += (long)tu_num(p, "pid") == named &&
			 !strcmp(tu_str(p, "name"), "worker");
	cr_assert_eq(found, 1, "%s", m);
	cr_assert(strstr(m, ": fds "), "%s", m);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(tree, a_fork_leak_is_a_leak, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'tree: fork leak',\n"
		"  target = { cmd = { '" TREE "', 'forkleak' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    t:settle(0.2)\n"
		"    t:signal('USR1')\n"
		"    t:wait_output('FORKED')\n"
		"    t:stop()\n"
		"    t:expect { leaked = { procs = 0 } }\n"
		"  end }\n",
		NULL, &status, &out);
	cr_assert_eq(status, 1, "%s", out);
	json_t *s = tu_scenario(doc, "fork leak");
	cr_assert_str_eq(tu_str(s, "message"),
			 "leaked 1 processes (allowed 0): 1 x leaker");
	cr_assert_eq(tu_num(json_object_get(s, "leaks"), "procs"), 1);
	long leaker = stdout_number(s, "FORKED pid=");
	/* It outlived its parent: faultline ended it. */
	cr_assert_not(tu_alive((pid_t)leaker), "pid %ld survived", leaker);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* Two daemons at once (-j 2): each is found as its own target's, killed
 * and named; none survives. */
Test(tree, a_double_forked_daemon_is_killed_and_named, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	static const char *const jobs[] = {"-j", "2", NULL};
	json_t *doc = run_text(
		&e,
		"local function daemon(name)\n"
		"  return { name = name,\n"
		"    target = { cmd = { '" TREE "', 'daemon' }, ready = { stdout = 'READY' } },\n"
		"    run = function(t)\n"
		"      t:settle(0.2)\n"
		"      t:stop()\n"
		"      t:expect { leaked = { procs = 0 } }\n"
		"    end }\n"
		"end\n"
		"return { daemon('daemon one'), daemon('daemon two') }\n",
		jobs, &status, &out);
	cr_assert_eq(status, 0, "%s", out);
	const char *names[2] = {"daemon one", "daemon two"};
	long pids[2];
	for (int k = 0; k < 2; k++) {
		json_t *s = tu_scenario(doc, names[k]);
		cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s",
				 tu_str(s, "message"));
		pids[k] = stdout_number(s, "DAEMON pid=");
		json_t *esc = json_object_get(target0(s), "escaped");
		char want[200];
		snprintf(want, sizeof want,
			 "1 process left the target's session: sleep (pid %ld), "
			 "killed",
			 pids[k]);
		cr_assert_str_eq(tu_str(esc, "message"), want);
		cr_assert_eq(tu_num(json_object_get(s, "baseline"), "procs"), 2);
		cr_assert(json_is_true(json_object_get(
			json_object_get(target0(s), "exit"), "stragglers_killed")));
		cr_assert_not(tu_alive((pid_t)pids[k]), "daemon %ld survived",
			      pids[k]);
		/* Its log says so too. */
		cr_assert(strstr(json_dumps(json_object_get(s, "log"), 0), want),
			  "not in the log: %s", want);
	}
	cr_assert_neq(pids[0], pids[1]);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

Test(tree, a_thousand_threads, .timeout = 120)
{
	tu_env e = tu_env_new();
	int status;
	char *out;
	json_t *doc = run_text(
		&e,
		"return { name = 'tree: 1200 threads', sample = { hz = 1000 },\n"
		"  target = { cmd = { '" TREE "', 'threads', '1200' }, ready = { stdout = 'READY' } },\n"
		"  run = function(t)\n"
		"    local b = t:settle(0.2)\n"
		"    t:check(b.threads == 1200, 'baseline threads ' .. b.threads)\n"
		"    t:check(t:sample().threads == 1200, 'sample threads ' .. t:sample().threads)\n"
		"    t:stop()\n"
		"    t:expect { leaked = { threads = 0 } }\n"
		"  end }\n",
		NULL, &status, &out);
	cr_assert_eq(status, 0, "%s", out);
	json_t *s = tu_scenario(doc, "1200 threads");
	cr_assert_str_eq(tu_str(s, "verdict"), "PASS", "%s", tu_str(s, "message"));
	cr_assert_eq(tu_num(json_object_get(s, "final"), "threads"), 1200);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}

/* ------------------------------------------------------------------ */
/* nginx: master and two workers against a count of /proc by hand.     */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* The children of pid (every thread's). */
static int children_of(pid_t pid, pid_t *out, int max)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char cp[128], buf[4096];
		snprintf(cp, sizeof cp, "%s/%s/children", path, de->d_name);
		FILE *f = fopen(cp, "r");
		if (!f)
			continue;
		size_t got = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[got] = '\0';
		for (char *p = buf; *p && n < max;) {
			long v = strtol(p, &p, 10);
			if (v > 0)
				out[n++] = (pid_t)v;
			while (*p == ' ')
				p++;
			if (!v)
				break;
		}
	}
	if (d)
		closedir(d);
	return n;
}

static int count_dir(pid_t pid, const char *sub)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, sub);
	return tu_count_entries(path);
}

Test(tree, nginx_matches_a_hand_count, .timeout = 120)
{
	if (access("/usr/sbin/nginx", X_OK) != 0)
		cr_skip_test("nginx is not installed (apt-get install -y "
			     "nginx-light; make deps-bench installs it)");
	tu_env e = tu_env_new();
	int port = free_port();
	char conf[PATH_MAX + 32], path[PATH_MAX + 32], counted[PATH_MAX + 32];
	snprintf(conf, sizeof conf, "%s/nginx.conf", e.dir);
	snprintf(counted, sizeof counted, "%s/counted", e.dir);
	char text[4096];
	snprintf(text, sizeof text,
		 "daemon off; master_process on; worker_processes 2;\n"
		 "pid %s/nginx.pid; error_log stderr;\n"
		 "events { worker_connections 64; }\n"
		 "http { access_log off;\n"
		 "  client_body_temp_path %s/cb; proxy_temp_path %s/px;\n"
		 "  fastcgi_temp_path %s/fc; uwsgi_temp_path %s/uw;\n"
		 "  scgi_temp_path %s/sc;\n"
		 "  server { listen 127.0.0.1:%d;\n"
		 "    location = /health { return 200 \"ok\\n\"; } } }\n",
		 e.dir, e.dir, e.dir, e.dir, e.dir, e.dir, port);
	tu_write(conf, text);
	/* The scenario waits for the hand count, then writes what faultline
	 * measured of each process into its expectations. */
	snprintf(text, sizeof text,
		 "local d = '%s'\n"
		 "return { name = 'nginx: per process', timeout = 90,\n"
		 "  target = { cmd = { '/usr/sbin/nginx', '-p', d, '-c', d .. '/nginx.conf',\n"
		 "                     '-e', 'stderr' }, ready = { port = '%d' } },\n"
		 "  run = function(t)\n"
		 "    t:settle(0.2)\n"
		 "    while not io.open(d .. '/counted') do t:sleep(0.05) end\n"
		 "    t:sleep(0.1)\n"
		 "    for _, p in ipairs(t:processes()) do\n"
		 "      t:check(true, string.format('proc %%d %%d %%d %%s', p.pid, p.fds, p.threads, p.name))\n"
		 "    end\n"
		 "    t:stop()\n"
		 "  end }\n",
		 e.dir, port);
	snprintf(path, sizeof path, "%s/s.lua", e.dir);
	tu_write(path, text);
	char *argv[] = {"faultline", "run", "--report-dir", e.reports, path, NULL};
	tu_proc pr = tu_start(argv, e.tmp);

	/* The master's pid from its pid file; then its two workers. */
	char pidfile[PATH_MAX + 32];
	snprintf(pidfile, sizeof pidfile, "%s/nginx.pid", e.dir);
	pid_t master = 0, kids[8];
	int nk = 0;
	double deadline = tu_now() + 60;
	while (tu_now() < deadline) {
		FILE *f = fopen(pidfile, "r");
		if (f) {
			long v = 0;
			if (fscanf(f, "%ld", &v) == 1)
				master = (pid_t)v;
			fclose(f);
		}
		if (master > 0 && (nk = children_of(master, kids, 8)) == 2)
			break;
		usleep(20000);
	}
	cr_assert_eq(nk, 2, "nginx's workers did not start (master %d)",
		     (int)master);
	/* Counted once the fd tables have stayed the same for a while. */
	pid_t pids[3] = {master, kids[0], kids[1]};
	int fds[3], threads[3], stable = 0;
	for (int round = 0; round < 500 && stable < 10; round++) {
		int same = 1;
		for (int k = 0; k < 3; k++) {
			int f = count_dir(pids[k], "fd"), t = count_dir(pids[k], "task");
			same &= round > 0 && f == fds[k] && t == threads[k];
			fds[k] = f;
			threads[k] = t;
		}
		stable = same ? stable + 1 : 0;
		usleep(20000);
	}
	tu_write(counted, "1\n");
	char *out;
	int status = tu_finish(pr, &out, 90);
	cr_assert_eq(status, 0, "%s", out);
	json_t *doc = tu_latest(&e);
	json_t *s = tu_scenario(doc, "nginx: per process");
	json_t *t = target0(s);
	json_t *fp = json_object_get(t, "footprint");
	cr_assert_eq((pid_t)tu_num(t, "pid"), master);
	int seen = 0;
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(s, "expectations"), i, x)
	{
		long pid, f, th;
		char name[64];
		if (sscanf(tu_str(x, "message"), "proc %ld %ld %ld %63s", &pid, &f,
			   &th, name) != 4)
			continue;
		for (int k = 0; k < 3; k++) {
			if (pids[k] != (pid_t)pid)
				continue;
			/* faultline leaves out its agent's footprint in the
			 * process it started. */
			long hf = fds[k] - (k == 0 ? (long)tu_num(fp, "fds") : 0);
			long ht = threads[k] - (k == 0 ? (long)tu_num(fp, "threads") : 0);
			cr_assert_eq(f, hf, "pid %ld (%s): %ld fds, by hand %ld", pid,
				     name, f, hf);
			cr_assert_eq(th, ht, "pid %ld (%s): %ld threads, by hand %ld",
				     pid, name, th, ht);
			seen++;
		}
	}
	cr_assert_eq(seen, 3, "faultline did not report the 3 processes");
	cr_assert_eq(json_array_size(json_object_get(t, "processes")), 3);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}
