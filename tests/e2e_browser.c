/* The HTML report in a real browser: Debian's chromium, headless (make
 * check installs it through `make deps-browser`; where it could not, these
 * tests say so and are skipped). A target prints hostile text on stdout and
 * stderr and fails with it; the report of that run must render with no
 * console message at all (no error, no refused script), draw its charts,
 * and keep the probe as text: no injected element, the title unchanged.
 * A control page with the same probe left raw proves that the checks see
 * an injection when there is one. */
#include "testutil.h"

#include <ctype.h>

#define CHROMIUM "/usr/bin/chromium"

/* Written into a Lua string in double quotes. */
#define PROBE                                                                  \
	"<script>document.title='PWNED'</script><img src=x "                   \
	"onerror=alert(1)></textarea>]]>"

static void need_chromium(void)
{
	if (access(CHROMIUM, X_OK) != 0)
		cr_skip_test("chromium is not installed (make deps-browser could "
			     "not install it here): browser test skipped");
}

/* Reads a pipe to the end into a growing buffer. */
struct sink {
	int fd;
	char *data;
	size_t len, cap;
};

static int sink_read(struct sink *s)
{
	if (s->len + 65536 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 262144;
		s->data = realloc(s->data, s->cap);
	}
	ssize_t n = read(s->fd, s->data + s->len, s->cap - s->len - 1);
	if (n > 0)
		s->len += (size_t)n;
	s->data[s->len] = '\0';
	return n > 0;
}

/* Loads url in headless chromium with a fresh profile and returns the DOM
 * after the scripts ran (stdout) and the log (stderr), where console
 * messages and uncaught errors appear as INFO:CONSOLE lines. Chromium runs
 * in a process group of its own, which is killed afterwards. */
static void chromium_load(const char *url, char **dom, char **log)
{
	char profile[] = "/tmp/fl-chromium.XXXXXX";
	cr_assert_not_null(mkdtemp(profile));
	int out[2], err[2];
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	char user_data[PATH_MAX];
	snprintf(user_data, sizeof user_data, "--user-data-dir=%s", profile);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execl(CHROMIUM, "chromium", "--headless", "--no-sandbox",
		      "--disable-gpu", "--no-first-run",
		      "--disable-background-networking",
		      "--disable-component-update", "--disable-sync",
		      "--enable-logging=stderr", "--v=0", "--window-size=1200,3000",
		      "--virtual-time-budget=3000", user_data, "--dump-dom", url,
		      (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(out[1]);
	close(err[1]);
	struct sink so = {.fd = out[0], .data = calloc(1, 1)},
		    se = {.fd = err[0], .data = calloc(1, 1)};
	int open_out = 1, open_err = 1;
	double deadline = tu_now() + 90;
	while ((open_out || open_err) && tu_now() < deadline) {
		struct pollfd p[2] = {{open_out ? out[0] : -1, POLLIN, 0},
				      {open_err ? err[0] : -1, POLLIN, 0}};
		if (poll(p, 2, 500) <= 0)
			continue;
		if (p[0].revents && !sink_read(&so))
			open_out = 0;
		if (p[1].revents && !sink_read(&se))
			open_err = 0;
	}
	kill(-pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	close(out[0]);
	close(err[0]);
	tu_rmrf(profile);
	cr_assert(!open_out && !open_err, "chromium did not finish in 90 s");
	*dom = so.data;
	*log = se.data;
}

/* The console messages in chromium's log, one per line. */
static char *console_lines(const char *log)
{
	size_t cap = strlen(log) + 1, len = 0;
	char *lines = calloc(1, cap);
	const char *p = log;
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (memmem(p, n, ":CONSOLE", 8) || memmem(p, n, "Uncaught", 8)) {
			memcpy(lines + len, p, n);
			len += n;
			lines[len++] = '\n';
		}
		p += n;
		if (*p)
			p++;
	}
	lines[len] = '\0';
	return lines;
}

/* Counts the elements named `tag` in serialized DOM, and in *with_handler
 * how many elements of any name carry an on...= event-handler attribute.
 * In a serialization every '<' of text and of attribute values is escaped,
 * so each raw '<' starts markup; attribute values are skipped whole, and
 * the text of a script element is skipped to its end tag. */
static int count_elements(const char *dom, const char *tag, int *with_handler)
{
	int n = 0, handlers = 0;
	size_t tl = strlen(tag);
	const char *p = dom;
	while ((p = strchr(p, '<')) != NULL) {
		p++;
		if (*p == '/' || *p == '!') {
			p = strchr(p, '>');
			if (!p)
				break;
			continue;
		}
		size_t nl = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789-");
		if (!nl)
			continue;
		int is_script = nl == 6 && !strncasecmp(p, "script", 6);
		if (nl == tl && !strncasecmp(p, tag, tl))
			n++;
		p += nl;
		/* Attributes up to the end of the tag. */
		for (;;) {
			while (isspace((unsigned char)*p) || *p == '/')
				p++;
			if (!*p || *p == '>')
				break;
			size_t an = strcspn(p, " \t\n\r=>/");
			if (an >= 3 && !strncasecmp(p, "on", 2))
				handlers++;
			p += an;
			if (*p == '=') {
				p++;
				if (*p == '"' || *p == '\'') {
					const char *q = strchr(p + 1, *p);
					p = q ? q + 1 : p + strlen(p);
				} else {
					p += strcspn(p, " \t\n\r>");
				}
			}
		}
		if (is_script && *p) {
			const char *end = strstr(p, "</script>");
			if (end)
				p = end;
		}
	}
	if (with_handler)
		*with_handler = handlers;
	return n;
}

static char *title_of(const char *dom)
{
	const char *a = strstr(dom, "<title>");
	cr_assert_not_null(a, "no title in the DOM");
	a += 7;
	const char *z = strstr(a, "</title>");
	cr_assert_not_null(z);
	return strndup(a, (size_t)(z - a));
}

/* Runs the probe scenarios; returns the report directory (latest). */
static void run_probe(const char *dir, char *report, size_t len)
{
	char scen[PATH_MAX], reports[PATH_MAX], tmp[PATH_MAX];
	snprintf(scen, sizeof scen, "%s/probe.lua", dir);
	snprintf(reports, sizeof reports, "%s/reports", dir);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	mkdir(tmp, 0700);
	tu_write(scen,
		 "local PROBE = \"" PROBE "\"\n"
		 "local target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}',\n"
		 "    '--print', PROBE }, ready = { stdout = 'READY' },\n"
		 "  health = { tcp = '{port}', send = 'PING\\n', expect = 'PONG', interval = 0.05 } }\n"
		 "return {\n"
		 "  { name = 'a: hostile output ' .. PROBE, target = target,\n"
		 "    sample = { hz = 500 },\n"
		 "    steady = { fds = '+2', threads = '+0', rss = '+8MiB', health = true },\n"
		 "    run = function(t)\n"
		 "      t:settle(0.3)\n"
		 "      t:fault('posix/io/oc/close', { p = 0.5, errno = 'EIO' })\n"
		 "      t:tcp('CLOSEBURST 200\\n')\n"
		 "      t:tcp('LEAKFD 4\\n')\n"
		 "      t:sleep(0.3)\n"
		 "      t:clear()\n"
		 "      t:tcp('CLOSEFD\\n')\n"
		 "      t:tcp('PRINT ' .. PROBE .. '\\n')\n"
		 "      t:expect_recovery { within = 1 }\n"
		 "      t:stop()\n"
		 "      t:fail(PROBE)\n"
		 "    end },\n"
		 "  { name = 'b: passes', target = target,\n"
		 "    run = function(t) t:settle(0.2); t:stop(); t:expect { exit = 0 } end },\n"
		 "}\n");
	char *out;
	char *argv[] = {"faultline", "run", "--report-dir", reports, scen, NULL};
	int status = tu_run(argv, tmp, &out, 60);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	cr_assert(strstr(out, "1 passed, 1 failed"), "%s", out);
	free(out);
	snprintf(report, len, "%s/latest", reports);
}

Test(browser, report_renders_and_probe_stays_inert, .timeout = 240)
{
	need_chromium();
	char *dir = tu_tempdir();
	char report[PATH_MAX], path[PATH_MAX + 64], url[PATH_MAX + 80];
	run_probe(dir, report, sizeof report);
	char *real = realpath(report, NULL);
	cr_assert_not_null(real);
	snprintf(path, sizeof path, "%s/index.html", real);
	char *html = tu_slurp(path);
	/* The probe reached the page, as text. */
	cr_assert_gt(tu_count(html, "&lt;script&gt;document.title=&#39;PWNED&#39;"), 3);

	snprintf(url, sizeof url, "file://%s", path);
	char *dom, *log;
	chromium_load(url, &dom, &log);
	char *console = console_lines(log);
	cr_assert_str_eq(console, "", "console messages:\n%s", console);
	cr_assert(strstr(dom, "data-fl-ready=\"1\""),
		  "the page's script did not run to its end:\n%.2000s", log);
	char *title = title_of(dom);
	cr_assert_str_eq(title, "faultline: FAIL, 1 passed, 1 failed");
	/* Exactly the script elements the report wrote: its own and one data
	 * block per chart; no img, textarea or event handler anywhere. */
	int handlers;
	int charts = (int)tu_count(html, "<div class=\"chart\"");
	cr_assert_eq(charts, 2);
	cr_assert_eq(count_elements(dom, "script", &handlers), 1 + charts);
	cr_assert_eq(handlers, 0);
	cr_assert_eq(count_elements(dom, "img", NULL), 0);
	cr_assert_eq(count_elements(dom, "textarea", NULL), 0);
	cr_assert_gt(tu_count(dom, "&lt;img src=x onerror=alert(1)&gt;&lt;/textarea&gt;]]&gt;"),
		     3);
	/* The charts are drawn: a line per figure with real paths (fds,
	 * threads, RSS and processes; no watched files here), the fault
	 * window shaded, the recovery marked. */
	cr_assert_eq(count_elements(dom, "svg", NULL), charts);
	const char *p = dom;
	int lines = 0;
	while ((p = strstr(p, "<path class=\"line ")) != NULL) {
		const char *d = strstr(p, " d=\"M");
		cr_assert_not_null(d);
		size_t len = strcspn(d + 4, "\"");
		cr_assert_gt(len, 10, "an empty line");
		lines++;
		p++;
	}
	cr_assert_eq(lines, 4 * charts);
	cr_assert_geq(tu_count(dom, "class=\"win\""), 1);
	cr_assert_geq(tu_count(dom, "class=\"rec\""), 1);

	/* The JUnit XML of the same run: well formed, the probe escaped. */
	snprintf(path, sizeof path, "%s/junit.xml", real);
	char *junit = tu_slurp(path);
	cr_assert_null(strstr(junit, "<script"));
	cr_assert_null(strstr(junit, "]]>"));
	cr_assert_null(strstr(junit, "<img"));
	cr_assert(strstr(junit, "&lt;script&gt;document.title=&#39;PWNED&#39;"));
	if (access("/usr/bin/xmllint", X_OK) == 0) {
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
		cr_assert_eq(system(cmd), 0, "xmllint refused %s", path);
	} else {
		cr_log_warn("xmllint is not installed (libxml2-utils): the XML "
			    "was checked for raw markup only");
	}
	free(junit);
	free(title);
	free(console);
	free(dom);
	free(log);
	free(html);
	free(real);
	tu_rmrf(dir);
	free(dir);
}

/* The checks above can see an injection: the same probe, raw, in a page
 * with no policy, shows as an img element with a handler and a changed
 * title. */
Test(browser, control_page_shows_what_an_injection_looks_like, .timeout = 120)
{
	need_chromium();
	char *dir = tu_tempdir();
	char path[PATH_MAX + 32], url[PATH_MAX + 48];
	snprintf(path, sizeof path, "%s/control.html", dir);
	tu_write(path, "<!DOCTYPE html><html><head><title>control</title></head>"
		       "<body><pre><script>document.title='PWNED'</script><img "
		       "src=x onerror=console.error(1)></textarea>]]></pre>"
		       "<script>console.error('seen')</script></body></html>\n");
	snprintf(url, sizeof url, "file://%s", path);
	char *dom, *log;
	chromium_load(url, &dom, &log);
	char *title = title_of(dom);
	cr_assert_str_eq(title, "PWNED");
	int handlers;
	cr_assert_eq(count_elements(dom, "img", &handlers), 1);
	cr_assert_geq(handlers, 1);
	char *console = console_lines(log);
	cr_assert(strstr(console, "seen"), "the console is not visible:\n%s", log);
	free(console);
	free(title);
	free(dom);
	free(log);
	tu_rmrf(dir);
	free(dir);
}

/* The page's controls work: sorting, the filter, the verdict buttons and
 * the values under the mouse. The report is loaded with a test script
 * added (and so without its policy, which would refuse that script). */
Test(browser, sorting_filtering_and_hover_work, .timeout = 240)
{
	need_chromium();
	char *dir = tu_tempdir();
	char report[PATH_MAX], path[PATH_MAX + 64], url[PATH_MAX + 80];
	run_probe(dir, report, sizeof report);
	snprintf(path, sizeof path, "%s/index.html", report);
	char *html = tu_slurp(path);
	char *meta = strstr(html, "<meta http-equiv=\"Content-Security-Policy\"");
	cr_assert_not_null(meta);
	char *meta_end = strchr(meta, '>');
	memmove(meta, meta_end + 1, strlen(meta_end + 1) + 1);
	char *body_end = strstr(html, "</body>");
	cr_assert_not_null(body_end);
	*body_end = '\0';
	static const char test_js[] =
		"<script>(function(){var o={},D=document,t=D.getElementById('sc');"
		"function rows(){return Array.prototype.map.call(t.tBodies[0].rows,"
		"function(r){return r.dataset.verdict;});}"
		"function shown(){return Array.prototype.filter.call(t.tBodies[0].rows,"
		"function(r){return !r.hidden;}).map(function(r){return r.dataset.verdict;});}"
		"var h=t.tHead.rows[0].cells[1];h.click();o.asc=rows();"
		"o.sort=h.getAttribute('aria-sort');h.click();o.desc=rows();"
		"var f=D.getElementById('filter');f.value='zzz no such';"
		"f.dispatchEvent(new Event('input'));o.none=shown();"
		"o.count=D.getElementById('shown').textContent;"
		"f.value='passes';f.dispatchEvent(new Event('input'));o.named=shown();"
		"f.value='';f.dispatchEvent(new Event('input'));"
		"var b=D.querySelector('button[data-verdict=FAIL]');b.click();"
		"o.failOnly=shown();b.click();o.all=shown();"
		"var c=D.querySelector('.chart'),svg=c.querySelector('svg'),"
		"r=svg.getBoundingClientRect();"
		"svg.dispatchEvent(new MouseEvent('mousemove',{clientX:r.left+r.width*0.6,"
		"clientY:r.top+40,bubbles:true}));var tip=c.querySelector('.tip');"
		"o.tip=tip.hidden?'':tip.textContent;"
		"o.cursor=svg.querySelector('.cursor').getAttribute('visibility');"
		"svg.dispatchEvent(new MouseEvent('mouseleave'));o.after=tip.hidden;"
		"D.body.setAttribute('data-test',JSON.stringify(o));})();</script>"
		"</body></html>\n";
	char test_page[PATH_MAX + 32];
	snprintf(test_page, sizeof test_page, "%s/test.html", dir);
	FILE *f = fopen(test_page, "w");
	fputs(html, f);
	fputs(test_js, f);
	fclose(f);
	snprintf(url, sizeof url, "file://%s", test_page);
	char *dom, *log;
	chromium_load(url, &dom, &log);
	char *console = console_lines(log);
	cr_assert_str_eq(console, "", "console messages:\n%s", console);
	/* The attribute's value, unescaped. */
	const char *a = strstr(dom, "data-test=\"");
	cr_assert_not_null(a, "the test script did not run:\n%.3000s", log);
	a += strlen("data-test=\"");
	char *json = calloc(1, strlen(a) + 1);
	size_t n = 0;
	while (*a && *a != '"') {
		if (!strncmp(a, "&quot;", 6)) {
			json[n++] = '"';
			a += 6;
		} else if (!strncmp(a, "&amp;", 5)) {
			json[n++] = '&';
			a += 5;
		} else {
			json[n++] = *a++;
		}
	}
	json_error_t e;
	json_t *o = json_loads(json, 0, &e);
	cr_assert_not_null(o, "%s: %s", e.text, json);
	/* By name: "a: hostile..." (FAIL) before "b: passes" (PASS). */
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "asc"), 0)), "FAIL");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "desc"), 0)), "PASS");
	cr_assert_str_eq(tu_str(o, "sort"), "ascending");
	cr_assert_eq(json_array_size(json_object_get(o, "none")), 0);
	cr_assert_str_eq(tu_str(o, "count"), "0 of 2 shown");
	cr_assert_eq(json_array_size(json_object_get(o, "named")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "named"), 0)), "PASS");
	cr_assert_eq(json_array_size(json_object_get(o, "failOnly")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "failOnly"), 0)), "FAIL");
	cr_assert_eq(json_array_size(json_object_get(o, "all")), 2);
	const char *tip = tu_str(o, "tip");
	cr_assert(strstr(tip, "t ") && strstr(tip, "\nfds ") &&
			  strstr(tip, "\nthreads ") && strstr(tip, "\nRSS ") &&
			  strstr(tip, "iB"),
		  "tooltip: '%s'", tip);
	cr_assert_str_eq(tu_str(o, "cursor"), "visible");
	cr_assert(json_is_true(json_object_get(o, "after")));
	json_decref(o);
	free(json);
	free(console);
	free(dom);
	free(log);
	free(html);
	tu_rmrf(dir);
	free(dir);
}
