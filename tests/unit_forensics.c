/* Leak forensics: which fds and threads are new, and how they are grouped
 * for people to read. Also the escaping every report relies on. */
#include "testutil.h"

#include "forensics.h"
#include "report.h"

static void glob_is(const char *a, const char *b, const char *want)
{
	char out[256];
	fl_forensics_merge_glob(a, b, out, sizeof out);
	cr_assert_str_eq(out, want, "merge('%s', '%s')", a, b);
}

Test(forensics, merge_glob)
{
	glob_is("/tmp/a/in-003.txt", "/tmp/a/in-017.txt", "/tmp/a/in-*.txt");
	glob_is("/tmp/fileproc.Ab12cd/in-1.txt", "/tmp/fileproc.Xy98zz/in-1.txt",
		"/tmp/fileproc.*/in-1.txt");
	glob_is("/tmp/fileproc.Ab12cd/x", "/tmp/fileproc.Abx9zz/x",
		"/tmp/fileproc.*/x");
	glob_is("worker-1", "worker-12", "worker-*");
	glob_is("/tmp/in-*.txt", "/tmp/in-005.txt", "/tmp/in-*.txt");
	glob_is("same", "same", "same");
	glob_is("/a/b", "/a/c", "/a/*");
}

static fl_fd_entry fd(int n, const char *t)
{
	/* Zeroed: an fd with no call site recorded (opened_at ""), as the
	 * agent gives for one it did not see opened. */
	fl_fd_entry e;
	memset(&e, 0, sizeof e);
	e.fd = n;
	snprintf(e.target, sizeof e.target, "%s", t);
	return e;
}

Test(forensics, new_fds_only_persistent_ones)
{
	fl_fd_entry base[] = {fd(0, "/dev/null"), fd(1, "pipe:[1]"),
			      fd(3, "socket:[9]")};
	fl_fd_entry fin[] = {fd(0, "/dev/null"), fd(1, "pipe:[1]"),
			     fd(3, "socket:[9]"), fd(4, "/tmp/x/in-001.txt"),
			     fd(5, "/tmp/x/in-002.txt"), fd(6, "/tmp/x/passing"),
			     fd(7, "socket:[77]")};
	/* The second look: fd 6 was closed in between, fd 5 was reused. */
	fl_fd_entry again[] = {fd(0, "/dev/null"), fd(1, "pipe:[1]"),
			       fd(3, "socket:[9]"), fd(4, "/tmp/x/in-001.txt"),
			       fd(5, "/tmp/x/other"), fd(7, "socket:[77]"),
			       fd(8, "/agent")};
	fl_fd_entry *out;
	int n = fl_forensics_new_fds(base, 3, fin, 7, again, 7, 7, &out);
	cr_assert_eq(n, 1, "only fd 4 is new and stayed (7 is skipped)");
	cr_assert_eq(out[0].fd, 4);
	free(out);
	n = fl_forensics_new_fds(base, 3, fin, 7, NULL, 0, -1, &out);
	cr_assert_eq(n, 4);
	free(out);
}

Test(forensics, groups_fds_by_shape)
{
	fl_fd_entry v[] = {fd(4, "/tmp/fp.Ab12cd/in-001.txt (deleted)"),
			   fd(5, "/tmp/fp.Ab12cd/in-002.txt (deleted)"),
			   fd(6, "socket:[100]"),
			   fd(7, "/tmp/fp.Ab12cd/in-013.txt (deleted)"),
			   fd(8, "socket:[101]"),
			   fd(9, "pipe:[5]"),
			   fd(10, "/var/log/app.log")};
	fl_group *g;
	int n = fl_forensics_group_fds(v, 7, &g);
	cr_assert_eq(n, 4);
	cr_assert_eq(g[0].count, 3);
	cr_assert_str_eq(g[0].pattern, "/tmp/fp.Ab12cd/in-*.txt (deleted)");
	cr_assert_eq(g[1].count, 2);
	cr_assert_str_eq(g[1].pattern, "socket");
	char summary[256];
	fl_forensics_summary(g, n, 2, summary, sizeof summary);
	cr_assert_str_eq(summary, "3 x /tmp/fp.Ab12cd/in-*.txt (deleted), 2 x "
				  "socket, 2 more");
	free(g);
}

Test(forensics, threads_new_and_grouped)
{
	fl_thread_entry base[] = {{.tid = 100, .name = "main"},
				  {.tid = 101, .name = "fl-agent"}};
	fl_thread_entry fin[] = {
		{.tid = 100, .name = "main", .syscall = "poll"},
		{.tid = 101, .name = "fl-agent", .syscall = "recvfrom"},
		{.tid = 150, .name = "worker-1", .syscall = "futex"},
		{.tid = 151, .name = "worker-2", .syscall = "futex"},
		{.tid = 152, .name = "worker-3", .syscall = "futex"},
		{.tid = 160, .name = "fl-agent2", .syscall = "read"}};
	fl_thread_entry *out;
	int n = fl_forensics_new_threads(base, 2, fin, 6, 160, &out);
	cr_assert_eq(n, 3);
	fl_group *g;
	int ng = fl_forensics_group_threads(out, n, &g);
	cr_assert_eq(ng, 1);
	cr_assert_eq(g[0].count, 3);
	cr_assert_str_eq(g[0].pattern, "worker-* (in futex)");
	free(g);
	free(out);
}

Test(report, escape_xml_neutralises_markup)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_escape_xml(&b, "<script>alert(1)</script> ]]> </textarea> \"x\" & 'y'");
	cr_assert_str_eq(b.data, "&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; "
				 "&lt;/textarea&gt; &quot;x&quot; &amp; &#39;y&#39;");
	fl_buf_free(&b);
}

Test(report, escape_xml_replaces_invalid_bytes)
{
	fl_buf b;
	fl_buf_init(&b);
	/* A control character, a lone continuation byte, an overlong '/',
	 * and valid UTF-8 (é) that must survive. */
	fl_escape_xml(&b, "a\x01" "b\x80" "c\xC0\xAF" "d\xC3\xA9");
	cr_assert_str_eq(b.data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD"
				 "\xEF\xBF\xBD" "d\xC3\xA9");
	fl_buf_free(&b);
}

Test(report, script_json_cannot_close_the_block)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_escape_script_json(&b, "{\"x\":\"</script><b>&\"}");
	cr_assert_null(strstr(b.data, "</"));
	cr_assert_str_eq(b.data, "{\"x\":\"\\u003c/script\\u003e\\u003cb\\u003e"
				 "\\u0026\"}");
	fl_buf_free(&b);
}
