/* Lossless text: a target that prints bytes that are not UTF-8 and
 * control characters, a scenario whose name, log lines, messages and
 * thread names hold them too. Nothing is dropped: results.json keeps
 * every field with U+FFFD for each invalid byte (one \377 used to remove
 * the whole "output" object), the HTML and the JUnit XML show them, and
 * the console shows control characters instead of obeying them. */
#include "testutil.h"

#define FFFD "\xEF\xBF\xBD"

static const char scenario[] =
	"return { name = 'text: \\255 bytes \\27[31m and \\1 controls',\n"
	"  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}',\n"
	"                     '--print', 'out \\255\\254 end \\27[2J' },\n"
	"             ready = { port = '{port}' } },\n"
	"  run = function(t)\n"
	"    t:settle(0.2)\n"
	"    t:tcp('THREADS 1 w\\255x\\n')\n"
	"    t:wait_output('end', { past = true })\n"
	"    t:log('log \\255 line \\27[2J')\n"
	"    t:check(false, 'message \\255 with \\27[31m escape')\n"
	"    t:expect { leaked = { threads = 0 } }\n"
	"  end }\n";

static json_t *first_target(json_t *s)
{
	return json_array_get(json_object_get(s, "targets"), 0);
}

Test(text, nothing_is_dropped, .timeout = 60)
{
	tu_env e = tu_env_new();
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/text.lua", e.dir);
	tu_write(path, scenario);
	const char *args[] = {path, NULL};
	char *out;
	int status = tu_env_run(&e, args, &out, 50);
	cr_assert_eq(status, 1, "exit %d:\n%s", status, out);
	json_t *doc = tu_latest(&e);
	json_t *s = json_array_get(json_object_get(doc, "scenarios"), 0);
	cr_assert_str_eq(tu_str(s, "name"), "text: " FFFD " bytes \033[31m and \001 controls");
	/* The output object is there, with its tail and the other stream. */
	json_t *o = json_object_get(first_target(s), "output");
	cr_assert(json_is_object(o), "no output object");
	cr_assert(strstr(tu_str(o, "stdout_tail"), "out " FFFD FFFD " end \033[2J"), "%s",
		  tu_str(o, "stdout_tail"));
	cr_assert(json_is_string(json_object_get(o, "stderr_tail")));
	json_t *argv = json_object_get(first_target(s), "argv");
	cr_assert_str_eq(json_string_value(json_array_get(argv, 4)),
			 "out " FFFD FFFD " end \033[2J");
	/* The message, the expectation, the log line, the thread name. */
	cr_assert(strstr(tu_str(s, "message"), "message " FFFD " with \033[31m escape"),
		  "%s", tu_str(s, "message"));
	json_t *ex = json_array_get(json_object_get(s, "expectations"), 0);
	cr_assert_str_eq(tu_str(ex, "message"), "message " FFFD " with \033[31m escape");
	int logged = 0;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(s, "log"), i, l)
		logged |= !strcmp(tu_str(l, "msg"), "log " FFFD " line \033[2J");
	cr_assert(logged, "the log line is missing");
	int named = 0;
	json_t *th;
	json_array_foreach(json_object_get(json_object_get(s, "forensics"), "new_threads"),
			   i, th)
		named |= !strncmp(tu_str(th, "name"), "w" FFFD "x", strlen("w" FFFD "x"));
	cr_assert(named, "the thread's name is missing");

	/* The console: shown, not obeyed. */
	cr_assert_null(strchr(out, '\033'), "a raw escape reached the console:\n%s", out);
	cr_assert(strstr(out, "text: " FFFD " bytes \\e[31m and \\x01 controls"), "%s", out);
	cr_assert(strstr(out, "message " FFFD " with \\e[31m escape"), "%s", out);

	/* The HTML and the JUnit XML keep them, escaped for their format. */
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/latest/index.html", e.reports);
	char *html = tu_slurp(p);
	cr_assert(strstr(html, "text: " FFFD " bytes"), "name missing from the HTML");
	cr_assert(strstr(html, "message " FFFD " with"), "message missing from the HTML");
	cr_assert(strstr(html, "out " FFFD FFFD " end"), "output missing from the HTML");
	cr_assert_null(strchr(html, '\377'));
	free(html);
	snprintf(p, sizeof p, "%s/latest/junit.xml", e.reports);
	char *xml = tu_slurp(p);
	cr_assert(strstr(xml, "message " FFFD " with"), "%s", xml);
	cr_assert_null(strchr(xml, '\033'), "%s", xml);
	cr_assert_null(strchr(xml, '\377'), "%s", xml);
	free(xml);
	if (access("/usr/bin/xmllint", X_OK) == 0) {
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", p);
		cr_assert_eq(system(cmd), 0, "xmllint refused %s", p);
	}
	/* And every reader takes the results back. */
	snprintf(p, sizeof p, "%s/latest", e.reports);
	char *gate[] = {"faultline", "gate", "--baseline", p, p, NULL};
	free(out);
	status = tu_run(gate, NULL, &out, 20);
	cr_assert_eq(status, 0, "%s", out);
	cr_assert_null(strchr(out, '\033'), "%s", out);
	json_decref(doc);
	free(out);
	tu_env_free(&e);
}
