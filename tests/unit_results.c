/* The results reader (harness/results.c): the schema check, including the
 * refusal from a file's head alone, the accessors and what absent or
 * mistyped fields read as, verdicts that fail closed, and the summary.
 * The repeat rule of verdict.c. The table of writers (harness/writers.c)
 * that run, merge, report and replay write through. */
#include "testutil.h"

#include "results.h"

#include <math.h>
#include <sys/wait.h>

static char *dir;

static void setup(void)
{
	dir = tu_tempdir();
}

static void teardown(void)
{
	tu_rmrf(dir);
	free(dir);
}

TestSuite(results, .init = setup, .fini = teardown);
TestSuite(writers, .init = setup, .fini = teardown);

/* Writes text to a file of the test's directory; returns its path. */
static const char *file_with(const char *name, const char *text)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	tu_write(path, text);
	return path;
}

static int load(const char *text, json_t **doc, char *err, size_t len)
{
	return fl_results_load(file_with("r.json", text), doc, err, len);
}

#define MINIMAL                                                                \
	"{\"schema\": \"faultline.results\", \"schema_version\": 1, "          \
	"\"scenarios\": []}"

Test(results, loads_a_results_document)
{
	json_t *doc;
	char err[512] = "";
	cr_assert_eq(load(MINIMAL, &doc, err, sizeof err), 0, "%s", err);
	cr_assert_not_null(doc);
	cr_assert_eq(fl_results_count(doc), 0);
	json_decref(doc);
}

/* A pipe cannot be read twice: it is parsed whole, and checked after. */
Test(results, loads_from_a_pipe)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], MINIMAL, strlen(MINIMAL)), (ssize_t)strlen(MINIMAL));
	close(p[1]);
	char path[64], err[512] = "";
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	json_t *doc;
	cr_assert_eq(fl_results_load(path, &doc, err, sizeof err), 0, "%s", err);
	json_decref(doc);
	close(p[0]);
}

Test(results, refuses_what_is_not_a_results_document)
{
	json_t *doc = (json_t *)1;
	char err[512];
	char missing[PATH_MAX + 16];
	snprintf(missing, sizeof missing, "%s/none.json", dir);
	cr_assert_eq(fl_results_load(missing, &doc, err, sizeof err), -ENOENT);
	cr_assert_null(doc);
	cr_assert(strstr(err, "none.json"), "%s", err);

	cr_assert_eq(load("{\"schema\": ", &doc, err, sizeof err), -EINVAL);
	cr_assert_null(doc);
	cr_assert_eq(load("[1, 2]", &doc, err, sizeof err), -EINVAL);
	cr_assert(strstr(err, "not a faultline results file"), "%s", err);
	cr_assert_eq(load("{\"schema\": \"faultline.journal\", \"schema_version\": 1, "
			  "\"scenarios\": []}",
			  &doc, err, sizeof err),
		     -EINVAL);
	cr_assert(strstr(err, "not a faultline results file"), "%s", err);
	cr_assert_eq(load("{\"schema\": 7, \"schema_version\": 1}", &doc, err,
			  sizeof err),
		     -EINVAL);
	/* The right schema and version but no scenarios. */
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"schema_version\": 1}",
			  &doc, err, sizeof err),
		     -EINVAL);
	cr_assert(strstr(err, "no scenarios array"), "%s", err);
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"schema_version\": 1, "
			  "\"scenarios\": {}}",
			  &doc, err, sizeof err),
		     -EINVAL);
}

Test(results, refuses_versions_it_does_not_read)
{
	json_t *doc;
	char err[512];
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"schema_version\": 2, "
			  "\"scenarios\": []}",
			  &doc, err, sizeof err),
		     -ENOTSUP);
	cr_assert(strstr(err, "version 2 is not supported"), "%s", err);
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"schema_version\": 0, "
			  "\"scenarios\": []}",
			  &doc, err, sizeof err),
		     -ENOTSUP);
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"schema_version\": "
			  "\"1\", \"scenarios\": []}",
			  &doc, err, sizeof err),
		     -ENOTSUP);
	/* No version at all. */
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"scenarios\": []}",
			  &doc, err, sizeof err),
		     -ENOTSUP);
	/* After a nested member, the head check cannot see the version; the
	 * full parse refuses it all the same. */
	cr_assert_eq(load("{\"schema\": \"faultline.results\", \"run\": {\"id\": \"x\"}, "
			  "\"schema_version\": 9, \"scenarios\": []}",
			  &doc, err, sizeof err),
		     -ENOTSUP);
	cr_assert(strstr(err, "version 9"), "%s", err);
}

/* A head that names another version or schema is refused before the rest
 * of the file is read: the rest here is not even JSON, so a full parse
 * would have failed with a syntax error instead. */
static void huge_with_head(const char *head, char **path_out)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/huge.json", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(head, f);
	for (int i = 0; i < 100000; i++)
		fputs("{\"not\" json at all ", f);
	fclose(f);
	*path_out = strdup(path);
}

Test(results, refuses_from_the_head_alone)
{
	char *path, err[512];
	json_t *doc;
	huge_with_head("{\n \"schema\": \"faultline.results\",\n \"schema_version\": 3,\n"
		       " \"scenarios\": [",
		       &path);
	cr_assert_eq(fl_results_load(path, &doc, err, sizeof err), -ENOTSUP, "%s", err);
	cr_assert(strstr(err, "version 3 is not supported"), "%s", err);
	free(path);
	huge_with_head("{\"schema\":\"faultline.trend\",\"x\":[", &path);
	cr_assert_eq(fl_results_load(path, &doc, err, sizeof err), -EINVAL, "%s", err);
	cr_assert(strstr(err, "not a faultline results file"), "%s", err);
	free(path);
	/* The right head over a broken body: the full parse says where. */
	huge_with_head("{\"schema\":\"faultline.results\",\"schema_version\":1,"
		       "\"scenarios\":[",
		       &path);
	cr_assert_eq(fl_results_load(path, &doc, err, sizeof err), -EINVAL, "%s", err);
	cr_assert(strstr(err, "huge.json:"), "%s", err);
	cr_assert_null(strstr(err, "not supported"), "%s", err);
	free(path);
}

/* The head's tokens are decoded by Jansson: escapes and numbers read as
 * they would in the full parse. */
Test(results, head_reads_tokens_as_json)
{
	json_t *doc;
	char err[512] = "";
	cr_assert_eq(load("  {\"sch\\u0065ma\" : \"faultline\\u002eresults\" ,"
			  "\"schema_version\":1e0,\"scenarios\":[]}",
			  &doc, err, sizeof err),
		     -ENOTSUP, "1e0 is a real, not the integer 1: %s", err);
	cr_assert_eq(load("{\"a\": \"}\\\",\", \"b\": null, \"c\": true, "
			  "\"schema\": \"faultline\\u002eresults\", "
			  "\"schema_version\": 1, \"scenarios\": []}",
			  &doc, err, sizeof err),
		     0, "%s", err);
	json_decref(doc);
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	cr_assert_not_null(o, "%s", e.text);
	return o;
}

Test(results, accessors_say_what_absent_reads_as)
{
	json_t *o = parse("{\"s\": \"x\", \"n\": 2.6, \"i\": 7, \"t\": true, "
			  "\"f\": false, \"z\": null, \"o\": {\"k\": 1}, "
			  "\"a\": [1], \"big\": 9007199254740993}");
	cr_assert_str_eq(fl_results_str(o, "s"), "x");
	cr_assert_str_eq(fl_results_str(o, "n"), "");
	cr_assert_str_eq(fl_results_str(o, "missing"), "");
	cr_assert_str_eq(fl_results_str(NULL, "s"), "");
	cr_assert_null(fl_results_opt_str(o, "z"));
	cr_assert_str_eq(fl_results_opt_str(o, "s"), "x");
	cr_assert_float_eq(fl_results_num(o, "n"), 2.6, 1e-12);
	cr_assert_eq(fl_results_num(o, "i"), 7);
	cr_assert(isnan(fl_results_num(o, "s")), "a string is no number");
	cr_assert(isnan(fl_results_num(o, "z")), "null is no number");
	cr_assert(isnan(fl_results_num(o, "missing")));
	cr_assert(isnan(fl_results_num(NULL, "n")));
	cr_assert_eq(fl_results_int(o, "n"), 3, "a real is rounded");
	cr_assert_eq(fl_results_int(o, "i"), 7);
	cr_assert_eq(fl_results_int(o, "big"), 9007199254740993LL,
		     "an integer keeps all its digits");
	cr_assert_eq(fl_results_int(o, "s"), 0);
	cr_assert_eq(fl_results_int(o, "missing"), 0);
	cr_assert_eq(fl_results_bool(o, "t"), 1);
	cr_assert_eq(fl_results_bool(o, "f"), 0);
	cr_assert_eq(fl_results_bool(o, "i"), 0, "only true is true");
	cr_assert_eq(fl_results_obj(o, "o"), json_object_get(o, "o"));
	cr_assert_null(fl_results_obj(o, "a"));
	cr_assert_null(fl_results_obj(o, "z"));
	cr_assert_eq(fl_results_arr(o, "a"), json_object_get(o, "a"));
	cr_assert_null(fl_results_arr(o, "o"));
	cr_assert_null(fl_results_arr(NULL, "a"));
	json_decref(o);
}

/* Verdicts that are null, missing or misspelled read as UNKNOWN, and a
 * document with one does not pass. */
Test(results, unknown_verdicts_fail_closed)
{
	json_t *doc = parse("{\"scenarios\": ["
			    "{\"id\": \"a\", \"verdict\": \"PASS\"},"
			    "{\"id\": \"b\", \"verdict\": null},"
			    "{\"id\": \"c\"},"
			    "{\"id\": \"d\", \"verdict\": \"pass\"},"
			    "{\"id\": \"e\", \"verdict\": 1},"
			    "{\"id\": \"f\", \"verdict\": \"XFAIL\"}]}");
	cr_assert_eq(fl_results_verdict(fl_results_by_id(doc, "a")), FL_VERDICT_PASS);
	cr_assert_eq(fl_results_verdict(fl_results_by_id(doc, "f")), FL_VERDICT_XFAIL);
	static const char *const unknown[] = {"b", "c", "d", "e"};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(fl_results_verdict(fl_results_by_id(doc, unknown[i])),
			     FL_VERDICT_UNKNOWN, "scenario %s", unknown[i]);
	cr_assert_null(fl_results_by_id(doc, "nope"));
	cr_assert_eq(fl_results_count(doc), 6);

	fl_verdict_counts c;
	fl_results_counts(doc, &c);
	cr_assert_eq(c.unknown, 4);
	cr_assert_eq(c.total, 6);
	cr_assert_eq(fl_results_summarize(doc), 0);
	json_t *sum = json_object_get(doc, "summary");
	cr_assert_eq(fl_results_int(sum, "total"), 6);
	cr_assert_eq(fl_results_int(sum, "passed"), 1);
	cr_assert_eq(fl_results_int(sum, "xfailed"), 1);
	cr_assert_eq(fl_results_exit_status(doc), 2,
		     "unknown verdicts must not pass");
	cr_assert_eq(fl_results_summary_count(doc, FL_VERDICT_PASS), 1);
	json_decref(doc);
}

Test(results, summary_counts_every_verdict)
{
	json_t *doc = parse("{\"scenarios\": ["
			    "{\"verdict\": \"PASS\"}, {\"verdict\": \"PASS\"},"
			    "{\"verdict\": \"XFAIL\"}]}");
	cr_assert_eq(fl_results_summarize(doc), 0);
	cr_assert_eq(fl_results_exit_status(doc), 0);
	/* The keys in the order docs/results.md lists them. */
	char *text = json_dumps(json_object_get(doc, "summary"), JSON_COMPACT);
	cr_assert_str_eq(text, "{\"total\":3,\"passed\":2,\"failed\":0,\"errors\":0,"
			       "\"xfailed\":1,\"xpassed\":0,\"flaky\":0,"
			       "\"load_errors\":0,\"exit_status\":0}");
	free(text);
	json_array_append_new(json_object_get(doc, "scenarios"),
			      parse("{\"verdict\": \"FLAKY\"}"));
	cr_assert_eq(fl_results_summarize(doc), 0);
	cr_assert_eq(fl_results_exit_status(doc), 1);
	json_array_append_new(json_object_get(doc, "scenarios"),
			      parse("{\"verdict\": \"ERROR\", \"load_error\": true}"));
	cr_assert_eq(fl_results_summarize(doc), 0);
	cr_assert_eq(fl_results_exit_status(doc), 2);
	cr_assert_eq(fl_results_summary_count(doc, FL_VERDICT_ERROR), 1);
	cr_assert_eq(fl_results_int(json_object_get(doc, "summary"), "load_errors"), 1);
	json_decref(doc);
	/* A document nobody summarised has not passed. */
	doc = parse("{\"scenarios\": []}");
	cr_assert_eq(fl_results_exit_status(doc), 2);
	json_decref(doc);
}

Test(results, path_of_a_report_directory)
{
	char out[PATH_MAX + 32];
	fl_results_path(dir, out, sizeof out);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof want, "%s/results.json", dir);
	cr_assert_str_eq(out, want);
	fl_results_path("some/file.json", out, sizeof out);
	cr_assert_str_eq(out, "some/file.json");
}

/* --repeat: the verdict of several runs (fl_verdict_repeat). */
static fl_verdict repeat3(fl_verdict a, fl_verdict b, fl_verdict c,
			  const char *const sig[3], const char *const dig[3],
			  int exact, char *msg, size_t len, char *note,
			  size_t notelen)
{
	fl_repeat_run r[3] = {{a, sig[0], dig[0]}, {b, sig[1], dig[1]},
			      {c, sig[2], dig[2]}};
	return fl_verdict_repeat(r, 3, exact, msg, len, note, notelen);
}

Test(repeat, agreeing_runs_keep_their_verdict)
{
	char msg[256] = "x", note[256] = "x";
	const char *sig[3] = {"leaked fds", "leaked fds", "leaked fds"};
	const char *d[3] = {"00ff", "00ff", "00ff"};
	cr_assert_eq(repeat3(FL_VERDICT_XFAIL, FL_VERDICT_XFAIL, FL_VERDICT_XFAIL,
			     sig, d, 1, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_XFAIL);
	cr_assert_str_eq(msg, "");
	cr_assert_str_eq(note, "");
	/* No journal and an empty one are the same journal; no signature and
	 * an empty one the same failure. */
	fl_repeat_run none[2] = {{FL_VERDICT_PASS, NULL, NULL},
				 {FL_VERDICT_PASS, "", ""}};
	cr_assert_eq(fl_verdict_repeat(none, 2, 1, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_PASS);
	cr_assert_eq(fl_verdict_repeat(none, 1, 1, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_PASS);
}

Test(repeat, differing_verdicts_are_flaky)
{
	char msg[256], note[256];
	const char *sig[3] = {"", "leaked fds", ""};
	const char *d[3] = {"a", "a", "a"};
	cr_assert_eq(repeat3(FL_VERDICT_PASS, FL_VERDICT_FAIL, FL_VERDICT_PASS, sig,
			     d, 0, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_FLAKY);
	cr_assert_str_eq(msg, "flaky over 3 runs: PASS x2 FAIL x1");
	/* In the order the verdicts first came; a missing one says so. */
	fl_repeat_run w[4] = {{FL_VERDICT_FAIL, "x", "a"},
			      {FL_VERDICT_UNKNOWN, "", "b"},
			      {FL_VERDICT_PASS, "", NULL},
			      {FL_VERDICT_FAIL, "x", "b"}};
	cr_assert_eq(fl_verdict_repeat(w, 4, 1, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_FLAKY);
	cr_assert_str_eq(msg, "flaky over 4 runs: FAIL x2 UNKNOWN x1 PASS x1; 3 "
			      "different fault journals");
}

/* The same verdict, failed another way: a SIGUSR1 death is not an exit
 * status of 3. */
Test(repeat, a_different_failure_is_flaky)
{
	char msg[256], note[256];
	const char *sig[3] = {"survival (exit status 3)", "survival (killed by SIGUSR1)",
			      "survival (exit status 3)"};
	const char *d[3] = {"a", "a", "a"};
	cr_assert_eq(repeat3(FL_VERDICT_FAIL, FL_VERDICT_FAIL, FL_VERDICT_FAIL, sig, d,
			     1, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_FLAKY);
	cr_assert_str_eq(msg, "flaky over 3 runs: FAIL x3; the failure differs: "
			      "survival (exit status 3) x2, survival (killed by "
			      "SIGUSR1) x1");
}

/* Journals count only where the scenario is exact; elsewhere they are
 * said to vary and the verdict stands. */
Test(repeat, differing_journals_are_flaky_only_when_exact)
{
	char msg[256], note[256];
	const char *sig[3] = {"", "", ""};
	const char *d[3] = {"0123456789abcdef", "0123456789abcdee", "0123456789abcdef"};
	cr_assert_eq(repeat3(FL_VERDICT_PASS, FL_VERDICT_PASS, FL_VERDICT_PASS, sig, d,
			     1, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_FLAKY);
	cr_assert_str_eq(msg, "flaky over 3 runs: PASS x3; 2 different fault journals");
	cr_assert_str_eq(note, "");
	cr_assert_eq(repeat3(FL_VERDICT_PASS, FL_VERDICT_PASS, FL_VERDICT_PASS, sig, d,
			     0, msg, sizeof msg, note, sizeof note),
		     FL_VERDICT_PASS);
	cr_assert_str_eq(msg, "");
	cr_assert_str_eq(note, "journal varies (windows not tied to target events): "
			       "2 different fault journals in 3 runs");
	/* A short buffer is cut, never overrun. */
	char tiny[12];
	cr_assert_eq(repeat3(FL_VERDICT_PASS, FL_VERDICT_PASS, FL_VERDICT_PASS, sig, d,
			     1, tiny, sizeof tiny, note, sizeof note),
		     FL_VERDICT_FLAKY);
	cr_assert_str_eq(tiny, "flaky over ");
}

/* The failure signature: which expectations failed, once each, sorted,
 * with the outcome of survival, exit and signal. */
Test(results, failure_signature_names_the_outcome)
{
	json_t *s = json_loads(
		"{\"expectations\": ["
		" {\"what\": \"leaked fds\", \"ok\": false, \"measured\": \"3\"},"
		" {\"what\": \"recovery\", \"ok\": true, \"measured\": \"x\"},"
		" {\"what\": \"survival\", \"ok\": false, \"measured\": \"killed by SIGUSR1\"},"
		" {\"what\": \"leaked fds\", \"ok\": false, \"measured\": \"5\"}]}",
		0, NULL);
	cr_assert_not_null(s);
	fl_buf b;
	fl_buf_init(&b);
	fl_results_failure_signature(s, NULL, &b);
	cr_assert_str_eq(b.data, "leaked fds; survival (killed by SIGUSR1)");
	fl_buf_reset(&b);
	fl_results_failure_signature(s, "survival", &b);
	cr_assert_str_eq(b.data, "survival (killed by SIGUSR1)");
	json_decref(s);
	fl_buf_reset(&b);
	s = json_loads("{\"expectations\": [{\"what\": \"exit\", \"ok\": false, "
		       "\"measured\": \"exit 3\"}]}",
		       0, NULL);
	fl_results_failure_signature(s, NULL, &b);
	cr_assert_str_eq(b.data, "exit (exit 3)");
	json_decref(s);
	fl_buf_reset(&b);
	s = json_loads("{\"expectations\": [{\"what\": \"exit\", \"ok\": true}]}", 0, NULL);
	fl_results_failure_signature(s, NULL, &b);
	cr_assert_eq(b.len, 0);
	json_decref(s);
	fl_buf_free(&b);
}

/* Recovery times are read as given, refused when impossible; the
 * resolution is the time from the observation before the one that dated
 * each recovery. */
Test(results, recoveries_and_their_resolution)
{
	json_t *s = json_loads(
		"{\"episodes\": ["
		" {\"off\": 1.0, \"recovery_s\": 0.03, \"recovered_at\": 1.03},"
		" {\"off\": 2.0, \"recovery_s\": null},"
		" {\"off\": 3.0, \"recovery_s\": 0.05, \"recovered_at\": 3.05}],"
		" \"health\": {\"t\": [0.5, 1.01, 1.028, 1.03, 3.01, 3.046, 3.05]},"
		" \"targets\": [{\"series\": {\"t\": [1.0, 1.005, 3.0]}}]}",
		0, NULL);
	cr_assert_not_null(s);
	double *v;
	size_t n;
	char err[128];
	cr_assert_eq(fl_results_recoveries(s, &v, &n, err, sizeof err), 0);
	cr_assert_eq(n, 2);
	cr_assert_float_eq(v[0], 0.03, 1e-12);
	cr_assert_float_eq(v[1], 0.05, 1e-12);
	free(v);
	/* Gaps of 2 ms and 4 ms: the median of two is their mean. */
	cr_assert_float_eq(fl_results_recovery_resolution(s), 0.003, 1e-9);
	json_object_set_new(json_array_get(json_object_get(s, "episodes"), 1),
			    "recovery_s", json_real(-1));
	cr_assert_eq(fl_results_recoveries(s, &v, &n, err, sizeof err), -EINVAL);
	cr_assert_str_eq(err, "episode 2: recovery_s is negative");
	fl_buf b;
	fl_buf_init(&b);
	cr_assert_eq(fl_results_bad_figures(s, &b), 1);
	cr_assert_str_eq(b.data, "episode 2's recovery_s is negative");
	fl_buf_free(&b);
	json_decref(s);
}

/* ------------------------------------------------------------------ */
/* The index by id, slimming, and reading one scenario at a time.      */

/* Many ids, some given twice and three times, one empty: the index finds
 * what a walk finds, the first of each, and counts them. */
Test(results, index_finds_the_first_of_each_id)
{
	json_t *scs = json_array();
	for (int i = 0; i < 3000; i++) {
		char id[32];
		/* s0..s2999, s7 again at 1000 and s9 at 2000 and 2999. */
		snprintf(id, sizeof id, "s%d", i == 1000 ? 7 : i == 2000 || i == 2999 ? 9 : i);
		json_array_append_new(scs, json_pack("{s:s,s:i}", "id", id, "k", i));
	}
	json_array_append_new(scs, json_pack("{s:i}", "k", 3000));
	json_array_append_new(scs, json_pack("{s:i,s:i}", "id", 5, "k", 3001));
	json_t *doc = json_pack("{s:o}", "scenarios", scs);
	fl_results_index *ix = fl_results_index_new(doc);
	for (int i = 0; i < 3000; i++) {
		char id[32];
		snprintf(id, sizeof id, "s%d", i);
		json_t *want = fl_results_by_id(doc, id);
		cr_assert_eq(fl_results_index_get(ix, id), want, "%s", id);
		cr_assert_eq(fl_results_index_count(ix, id),
			     i == 7 ? 2 : i == 9 ? 3 : i == 1000 || i == 2000 || i == 2999 ? 0 : 1,
			     "%s", id);
	}
	cr_assert_eq(fl_results_int(fl_results_index_get(ix, "s7"), "k"), 7);
	cr_assert_eq(fl_results_int(fl_results_index_get(ix, "s9"), "k"), 9);
	cr_assert_null(fl_results_index_get(ix, "s3000"));
	cr_assert_eq(fl_results_index_count(ix, "s3000"), 0);
	/* Without an id, or with one that is not a string: "". */
	cr_assert_eq(fl_results_index_count(ix, ""), 2);
	cr_assert_eq(fl_results_int(fl_results_index_get(ix, ""), "k"), 3000);
	fl_results_index_free(ix);
	json_t *empty = json_pack("{s:[]}", "scenarios");
	ix = fl_results_index_new(empty);
	cr_assert_null(fl_results_index_get(ix, "s1"));
	fl_results_index_free(ix);
	json_decref(empty);
	json_decref(doc);
}

/* A scenario with everything the report draws: 5,000 samples, probes,
 * journal records, log lines, and three recovered episodes dated by a
 * probe, by a sample, and by neither. */
static json_t *heavy_scenario(void)
{
	json_t *t = json_array(), *fds = json_array(), *ht = json_array(),
	       *ok = json_array(), *recs = json_array();
	for (int i = 0; i < 5000; i++) {
		json_array_append_new(t, json_real(i * 0.001));
		json_array_append_new(fds, json_integer(5 + i % 3));
	}
	for (int i = 0; i < 300; i++) {
		json_array_append_new(ht, json_real(0.0005 + i * 0.01));
		json_array_append_new(ok, json_boolean(i % 2));
		json_array_append_new(recs, json_pack("{s:s,s:i}", "point", "p", "n", i));
	}
	json_t *s = json_pack(
		"{s:s,s:s,s:s,s:[{s:o,s:f},{s:o,s:f},{s:o,s:f}],"
		"s:{s:i,s:o,s:o},s:[{s:[],s:{s:o,s:o,s:b},s:{s:s}}],"
		"s:{s:i,s:o},s:[{s:s}],s:{s:[]},s:{s:f,s:f}}",
		"id", "heavy.lua", "name", "heavy", "verdict", "PASS", "episodes",
		"recovered_at", json_real(0.0105), "recovery_s", 0.01,
		/* A sample's time, a few ulps off (to the nanosecond test). */
		"recovered_at", json_real(2.0000000001), "recovery_s", 0.02,
		"recovered_at", json_real(7.5), "recovery_s", 0.03,
		"health", "probes", 300, "t", ht, "ok", ok, "targets", "argv",
		"series", "t", t, "fds", fds, "downsampled", 0, "output",
		"stdout_tail", "x", "journal", "total", 300, "records", recs, "log",
		"msg", "m", "forensics", "new_fds", "mttr", "mean_s", 0.02,
		"max_s", 0.03);
	cr_assert_not_null(s);
	return s;
}

/* Slimming drops the series, records and logs, keeps the rest, and keeps
 * the times that date a recovery: the resolution reads the same. */
Test(results, slim_keeps_what_gate_and_trend_read)
{
	json_t *s = heavy_scenario();
	double before = fl_results_recovery_resolution(s);
	cr_assert(isfinite(before));
	json_t *copy = json_deep_copy(s);
	fl_results_slim(s);
	cr_assert_float_eq(fl_results_recovery_resolution(s), before, 1e-15);
	json_t *tg = json_array_get(fl_results_arr(s, "targets"), 0);
	json_t *series = fl_results_obj(tg, "series");
	cr_assert_null(json_object_get(series, "fds"));
	cr_assert_not_null(json_object_get(series, "downsampled"));
	/* For each episode, the sample at its recovery and the one before:
	 * 0.010 (before 0.0105), 1.999 and 2.0, 4.999 (the last, before
	 * 7.5): 4 of 5,000. */
	cr_assert_eq(json_array_size(fl_results_arr(series, "t")), 4);
	cr_assert_null(json_object_get(tg, "output"));
	cr_assert_not_null(json_object_get(tg, "argv"));
	json_t *h = fl_results_obj(s, "health");
	cr_assert_null(json_object_get(h, "ok"));
	cr_assert_eq(fl_results_int(h, "probes"), 300);
	/* 0.0005 and 0.0105, 1.9905 (before 2.0), 2.9905 (before 7.5). */
	cr_assert_eq(json_array_size(fl_results_arr(h, "t")), 4);
	cr_assert_null(json_object_get(fl_results_obj(s, "journal"), "records"));
	cr_assert_eq(fl_results_int(fl_results_obj(s, "journal"), "total"), 300);
	cr_assert_null(json_object_get(s, "log"));
	cr_assert_null(json_object_get(s, "forensics"));
	cr_assert(json_equal(json_object_get(s, "episodes"),
			     json_object_get(copy, "episodes")));
	cr_assert(json_equal(json_object_get(s, "mttr"), json_object_get(copy, "mttr")));
	/* Slimming twice changes nothing more. */
	json_t *once = json_deep_copy(s);
	fl_results_slim(s);
	cr_assert(json_equal(s, once));
	json_decref(once);
	json_decref(copy);
	json_decref(s);
}

/* A document of n heavy scenarios whose strings hold what the scanner
 * must step over (brackets, quotes, escapes, a long text across the
 * reader's 1 MiB blocks), written as a run writes it. */
static char *heavy_document(int n)
{
	json_t *scs = json_array();
	for (int i = 0; i < n; i++) {
		json_t *s = heavy_scenario();
		char id[64];
		snprintf(id, sizeof id, "dir/s%d.lua#1 ]}\"\\[{", i);
		json_object_set_new(s, "id", json_string(id));
		json_object_set_new(s, "message", json_string("a \\\" ] } [ { \" \\"));
		json_array_append_new(scs, s);
	}
	char *big = malloc(3000001);
	for (int i = 0; i < 3000000; i++)
		big[i] = "]}\"\\[{ x\n"[i % 9];
	big[3000000] = '\0';
	json_object_set_new(json_array_get(scs, n / 2), "message", json_string(big));
	free(big);
	json_t *doc = json_pack("{s:s,s:i,s:{s:s},s:o,s:{s:i}}", "schema",
				FL_RESULTS_SCHEMA, "schema_version", 1, "run", "id",
				"r1", "scenarios", scs, "summary", "total", n);
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(doc);
	return text;
}

/* Reading scenario by scenario gives what a whole parse gives: the same
 * document, and with KEEP_FIGURES the same slimmed. */
Test(results, reading_in_pieces_is_a_whole_parse)
{
	char *text = heavy_document(40);
	cr_assert_gt(strlen(text), 4u << 20, "the text spans several blocks");
	json_t *whole = json_loads(text, JSON_ALLOW_NUL, NULL);
	cr_assert_not_null(whole);
	const char *path = file_with("heavy.json", text);
	json_t *all, *figures;
	char err[512] = "";
	cr_assert_eq(fl_results_read(path, FL_RESULTS_KEEP_ALL, &all, err, sizeof err),
		     0, "%s", err);
	cr_assert(json_equal(all, whole));
	cr_assert_eq(fl_results_read(path, FL_RESULTS_KEEP_FIGURES, &figures, err,
				     sizeof err),
		     0, "%s", err);
	size_t i;
	json_t *s;
	fl_results_foreach(whole, i, s)
		fl_results_slim(s);
	cr_assert(json_equal(figures, whole));
	json_decref(figures);

	/* The same from a pipe, which cannot be read twice. */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		size_t len = strlen(text), off = 0;
		while (off < len) {
			ssize_t w = write(p[1], text + off, len - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	char fdpath[64];
	snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", p[0]);
	cr_assert_eq(fl_results_read(fdpath, FL_RESULTS_KEEP_FIGURES, &figures, err,
				     sizeof err),
		     0, "%s", err);
	close(p[0]);
	waitpid(pid, NULL, 0);
	cr_assert(json_equal(figures, whole));
	json_decref(figures);
	json_decref(all);
	json_decref(whole);
	free(text);
}

/* A broken file is refused alike, with the same message, whichever way it
 * is read; so is what is not an object, or has something after it. */
Test(results, broken_text_is_refused_alike)
{
	static const char *const broken[] = {
		"",
		"[]",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		"\"scenarios\": [{\"id\": \"a\"}, {\"id\": \"b\",}]}",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		"\"scenarios\": [{\"id\": \"a\"}\n {\"id\": \"b\"}]}",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		"\"scenarios\": [{\"id\": \"a\"}]} x",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		"\"scenarios\": [{\"id\": \"a\"}], \"scenarios\": 3}",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1,\n\n"
		"\"scenarios\": [{\"id\": \"\\u00\"}]}",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		"\"a\\u0000b\": 1, \"scenarios\": []}",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		"\"scenarios\": [{\"id\": \"a\"",
		"{\"schema\": \"faultline.results\", \"schema_version\": 1 "
		"\"scenarios\": []}",
	};
	for (size_t k = 0; k < sizeof broken / sizeof *broken; k++) {
		const char *path = file_with("broken.json", broken[k]);
		json_t *a = NULL, *f = NULL;
		char ea[512] = "", ef[512] = "";
		int ra = fl_results_read(path, FL_RESULTS_KEEP_ALL, &a, ea, sizeof ea);
		int rf = fl_results_read(path, FL_RESULTS_KEEP_FIGURES, &f, ef, sizeof ef);
		cr_assert_lt(ra, 0, "%zu: read", k);
		cr_assert_eq(ra, rf, "%zu", k);
		cr_assert_str_eq(ea, ef, "%zu", k);
		/* What Jansson says of the whole text. */
		json_error_t je;
		json_t *d = json_loads(broken[k], JSON_ALLOW_NUL, &je);
		if (!d) {
			char want[512];
			snprintf(want, sizeof want, "%s:%d: %s", path, je.line, je.text);
			cr_assert_str_eq(ea, want, "%zu", k);
		}
		json_decref(d);
	}
}

/* ------------------------------------------------------------------ */
/* The table of writers (harness/writers.c). */

#include "report.h"
#include "writers.h"

Test(writers, table_is_complete_and_unambiguous)
{
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		const fl_writer *a = &fl_writers[w];
		cr_assert_eq((int)a->id, w, "row %d", w);
		cr_assert(a->name && *a->name && a->option && *a->option && a->help &&
				  a->ops && a->ops->create && a->ops->begin &&
				  a->ops->scenario && a->ops->end && a->ops->destroy,
			  "row %d is incomplete", w);
		cr_assert_eq(fl_writer_by_option(a->option), a);
		for (int v = w + 1; v < FL_WRITER_COUNT; v++) {
			const fl_writer *b = &fl_writers[v];
			cr_assert_str_neq(a->option, b->option);
			cr_assert(!a->file || !b->file || strcmp(a->file, b->file),
				  "%s and %s share a file", a->name, b->name);
		}
	}
	cr_assert_null(fl_writer_by_option("pdf"));
	cr_assert_null(fl_writer_by_option(NULL));
	/* run, merge and report print the help of each. */
	fl_buf b;
	fl_buf_init(&b);
	fl_writers_usage(&b, 0, 22);
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		char opt[64];
		snprintf(opt, sizeof opt, "  --%s FILE ", fl_writers[w].option);
		cr_assert(strstr(b.data, opt), "%s", b.data);
	}
	fl_buf_reset(&b);
	fl_writers_usage(&b, 1, 25);
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		char opt[64];
		snprintf(opt, sizeof opt, "--%s FILE", fl_writers[w].option);
		cr_assert_eq(strstr(b.data, opt) != NULL, fl_writers[w].file == NULL,
			     "extra_only lists only formats outside the directory: %s",
			     b.data);
	}
	fl_buf_free(&b);
}

static json_t *small_doc(void)
{
	json_t *doc = fl_results_new("test",
				     json_pack("{s:s,s:s,s:f}", "id", "r1", "started",
					       "2026-01-01T00:00:00Z", "duration_s", 1.0),
				     json_pack("[{s:s,s:s,s:s}]", "id", "a.lua", "name",
					       "a", "verdict", "PASS"));
	cr_assert_not_null(doc);
	return doc;
}

struct failures {
	int n;
	char paths[8][PATH_MAX];
	int errs[8];
};

static void note_failure(const char *path, int err, void *arg)
{
	struct failures *f = arg;
	cr_assert_lt(f->n, 8);
	snprintf(f->paths[f->n], sizeof f->paths[0], "%s", path);
	f->errs[f->n++] = err;
}

static int exists(const char *dir_, const char *name)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof p, "%s/%s", dir_, name);
	struct stat st;
	return stat(p, &st) == 0 && st.st_size > 0;
}

Test(writers, writes_the_directory_and_the_extra_files)
{
	json_t *doc = small_doc();
	cr_assert_eq(fl_results_exit_status(doc), 0);
	char rdir[PATH_MAX], extra[FL_WRITER_COUNT][PATH_MAX + 32];
	snprintf(rdir, sizeof rdir, "%s/report/deep", dir);
	fl_outputs out;
	memset(&out, 0, sizeof out);
	out.dir = rdir;
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		snprintf(extra[w], sizeof extra[w], "%s/extra-%s", dir,
			 fl_writers[w].option);
		out.extra[w] = extra[w];
	}
	struct failures f = {0};
	cr_assert_eq(fl_writers_write(doc, &out, note_failure, &f), 0);
	cr_assert_eq(f.n, 0);
	int in_dir = 0;
	for (int w = 0; w < FL_WRITER_COUNT; w++) {
		if (fl_writers[w].file) {
			cr_assert(exists(rdir, fl_writers[w].file), "%s", fl_writers[w].file);
			in_dir++;
		}
		struct stat st;
		cr_assert_eq(stat(extra[w], &st), 0, "%s", extra[w]);
		cr_assert_gt(st.st_size, 0);
	}
	cr_assert_eq(tu_count_entries(rdir), in_dir, "nothing else in the directory");
	/* The results file written is a results file. */
	char results[PATH_MAX + 32], err[512];
	snprintf(results, sizeof results, "%s/%s", rdir, fl_writers[FL_WRITER_JSON].file);
	json_t *back;
	cr_assert_eq(fl_results_load(results, &back, err, sizeof err), 0, "%s", err);
	cr_assert(json_equal(back, doc));
	json_decref(back);

	/* skip: the results file stays as it was. */
	tu_write(results, "kept");
	memset(&out, 0, sizeof out);
	out.dir = rdir;
	out.skip[FL_WRITER_JSON] = 1;
	cr_assert_eq(fl_writers_write(doc, &out, note_failure, &f), 0);
	char *kept = tu_slurp(results);
	cr_assert_str_eq(kept, "kept");
	free(kept);
	json_decref(doc);
}

/* A file that cannot be written is reported with its errno and makes the
 * whole call fail, but does not stop the others. */
Test(writers, failures_are_reported_and_do_not_stop_the_rest)
{
	json_t *doc = small_doc();
	char afile[PATH_MAX], bad_dir[PATH_MAX + 16], bad_extra[PATH_MAX + 16],
		good_extra[PATH_MAX + 16];
	snprintf(afile, sizeof afile, "%s/plain", dir);
	tu_write(afile, "x");
	snprintf(bad_dir, sizeof bad_dir, "%s/sub", afile);
	snprintf(bad_extra, sizeof bad_extra, "%s/no/such/dir/r.xml", dir);
	snprintf(good_extra, sizeof good_extra, "%s/r.prom", dir);
	fl_outputs out;
	memset(&out, 0, sizeof out);
	out.dir = bad_dir;
	out.extra[FL_WRITER_JUNIT] = bad_extra;
	out.extra[FL_WRITER_OPENMETRICS] = good_extra;
	struct failures f = {0};
	cr_assert_eq(fl_writers_write(doc, &out, note_failure, &f), -ENOTDIR);
	cr_assert_eq(f.n, 2);
	cr_assert_str_eq(f.paths[0], bad_dir);
	cr_assert_eq(f.errs[0], -ENOTDIR);
	cr_assert_str_eq(f.paths[1], bad_extra);
	cr_assert_eq(f.errs[1], -ENOENT);
	struct stat st;
	cr_assert_eq(stat(good_extra, &st), 0, "the other file was still written");
	/* No temporary file is left behind by the failed ones. */
	cr_assert_eq(tu_count_entries(dir), 2, "plain and r.prom only");
	json_decref(doc);
}

/* The streamed results JSON is byte for byte what Jansson writes of the
 * whole document (fl_report_json), for documents of every shape: the
 * shipped shards and the test data, members after the scenarios, no
 * scenarios, text that needs escaping, reals, nested empty values. */
Test(writers, streamed_json_is_the_whole_dump)
{
	static const char *const files[] = {
		"tests/data/shard_1.json", "tests/data/shard_2.json",
		"tests/data/features.json", "tests/data/gate_old.json",
		"tests/data/trend_1.json"};
	json_t *docs[8];
	size_t n = 0;
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		docs[n++] = tu_load_json(files[i]);
	json_t *odd = small_doc();
	json_t *sc = json_array_get(json_object_get(odd, "scenarios"), 0);
	json_object_set_new(sc, "text", json_string("a\nb\t\"c\" \xc3\xa9 \xe2\x82\xac </script>"));
	json_object_set_new(sc, "reals", json_pack("[f,f,f,i]", 0.1, 1e300, -2.5, -3));
	json_object_set_new(sc, "empty", json_pack("{s:[],s:{},s:[{}]}", "a", "o", "n"));
	json_object_set_new(odd, "after", json_pack("{s:[i,i]}", "x", 1, 2));
	docs[n++] = odd;
	json_t *none = small_doc();
	json_array_clear(json_object_get(none, "scenarios"));
	docs[n++] = none;
	for (size_t i = 0; i < n; i++) {
		char a[PATH_MAX + 16], b[PATH_MAX + 16];
		snprintf(a, sizeof a, "%s/whole-%zu.json", dir, i);
		snprintf(b, sizeof b, "%s/streamed-%zu.json", dir, i);
		cr_assert_eq(fl_report_json(docs[i], a), 0);
		cr_assert_eq(fl_writer_write(&fl_writers[FL_WRITER_JSON], docs[i], b), 0);
		char *ta = tu_slurp(a), *tb = tu_slurp(b);
		cr_assert_gt(strlen(ta), 100);
		cr_assert_str_eq(ta, tb, "document %zu", i);
		free(ta);
		free(tb);
		json_decref(docs[i]);
	}
}

/* What fl_results_stream hands out, for the scenarios of a file. */
struct handed {
	json_t *got;
	int stop_at;		/* -1: never */
};

static int take_scenario(json_t *sc, size_t k, void *arg)
{
	struct handed *h = arg;
	cr_assert_eq(k, json_array_size(h->got), "numbered in order");
	if ((int)k == h->stop_at)
		return 7;
	json_array_append(h->got, sc);
	return 0;
}

/* The streamed reader hands out every scenario in order, once, equal to
 * what the whole read gives, and the head is the rest of the document;
 * a stop is returned; two scenarios arrays are refused; without fn the
 * scenarios are skipped. */
Test(results, stream_hands_out_each_scenario)
{
	char err[512];
	json_t *whole, *head;
	const char *path = "tests/data/shard_1.json";
	cr_assert_eq(fl_results_load(path, &whole, err, sizeof err), 0, "%s", err);
	struct handed h = {json_array(), -1};
	cr_assert_eq(fl_results_stream(path, take_scenario, &h, &head, err, sizeof err),
		     0, "%s", err);
	cr_assert_gt(json_array_size(h.got), 1);
	cr_assert(json_equal(h.got, json_object_get(whole, "scenarios")));
	cr_assert_eq(json_array_size(json_object_get(head, "scenarios")), 0);
	json_t *copy = json_copy(whole);
	json_object_set_new(copy, "scenarios", json_array());
	cr_assert(json_equal(copy, head), "the head is the rest of the document");
	json_decref(copy);
	json_decref(head);
	json_array_clear(h.got);

	/* A stop. */
	h.stop_at = 1;
	head = NULL;
	cr_assert_eq(fl_results_stream(path, take_scenario, &h, &head, err, sizeof err), 7);
	cr_assert_null(head);
	cr_assert_eq(json_array_size(h.got), 1);

	/* Skipped, not decoded. */
	cr_assert_eq(fl_results_stream(path, NULL, NULL, &head, err, sizeof err), 0,
		     "%s", err);
	cr_assert_eq(json_array_size(json_object_get(head, "scenarios")), 0);
	cr_assert(json_equal(json_object_get(head, "run"), json_object_get(whole, "run")));
	json_decref(head);

	/* Two arrays: the first one's scenarios were handed out already. */
	char two[PATH_MAX + 16];
	snprintf(two, sizeof two, "%s/two.json", dir);
	tu_write(two, "{\"schema\": \"faultline.results\", \"schema_version\": 1, "
		      "\"scenarios\": [{\"id\": \"a\"}], \"scenarios\": [{\"id\": \"b\"}]}");
	h.stop_at = -1;
	json_array_clear(h.got);
	cr_assert_eq(fl_results_stream(two, take_scenario, &h, &head, err, sizeof err),
		     -EINVAL);
	cr_assert(strstr(err, "two scenarios arrays"), "%s", err);
	/* A broken file after its scenarios: refused once read. */
	char broken[PATH_MAX + 16];
	snprintf(broken, sizeof broken, "%s/broken.json", dir);
	tu_write(broken, "{\"schema\": \"faultline.results\", \"schema_version\": 1, "
			 "\"scenarios\": [{\"id\": \"a\"}, {\"id\": \"b\"}], \"x\": }");
	json_array_clear(h.got);
	cr_assert_eq(fl_results_stream(broken, take_scenario, &h, &head, err, sizeof err),
		     -EINVAL);
	cr_assert(strstr(err, "broken.json:1:"), "Jansson's message: %s", err);
	json_decref(h.got);
	json_decref(whole);
}
