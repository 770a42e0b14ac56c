/* Fuzz target: the results reader (harness/results.c) and what every
 * command that reads results does with a document: the writers (JSON,
 * JUnit, HTML, OpenMetrics), report, merge, gate (against itself and
 * against a fixed baseline, both ways) and trend. A crash, a sanitizer
 * report or a leak is a finding; exit statuses are not. */
#include "fuzz_common.h"

#include "cli.h"
#include "report.h"
#include "results.h"
#include "writers.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

static char base_path[PATH_MAX + 32];

/* A small valid results document with one scenario of each kind the
 * commands look at: episodes, leaks, a journal, a repeat. */
static const char base_doc[] =
	"{\"schema\":\"faultline.results\",\"schema_version\":1,"
	"\"faultline_version\":\"fuzz\",\"run\":{\"id\":\"base\","
	"\"started\":\"2026-01-01T00:00:00Z\",\"shard\":{\"index\":1,\"total\":2}},"
	"\"summary\":{\"total\":2,\"exit_status\":1},\"scenarios\":["
	"{\"id\":\"a.lua\",\"name\":\"a\",\"verdict\":\"PASS\","
	"\"leaks\":{\"fds\":0,\"threads\":0,\"rss\":0},"
	"\"mttr\":{\"n\":3,\"mean_s\":0.1,\"p50_s\":0.1,\"p95_s\":0.1,\"max_s\":0.1},"
	"\"episodes\":[{\"off\":1,\"recovery_s\":0.1,\"recovered_at\":1.1},"
	"{\"off\":2,\"recovery_s\":0.1,\"recovered_at\":2.1},"
	"{\"off\":3,\"recovery_s\":0.1,\"recovered_at\":3.1}],"
	"\"health\":{\"t\":[1.05,1.1,2.05,2.1,3.05,3.1],\"ok\":[false,true,false,true,false,true]},"
	"\"expectations\":[{\"what\":\"leaked fds\",\"ok\":true}]},"
	"{\"id\":\"b.lua\",\"name\":\"b\",\"verdict\":\"FAIL\",\"message\":\"m\","
	"\"journal\":{\"digest\":\"00\",\"total\":1,\"records\":[{\"point\":\"p\","
	"\"actor\":\"0\",\"n\":1,\"errno\":\"EIO\",\"t\":0.1}]},"
	"\"repeat\":{\"runs\":2,\"verdicts\":[\"FAIL\",\"FAIL\"]},"
	"\"expectations\":[{\"what\":\"survival\",\"ok\":false,\"measured\":\"exit 3\"}]}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file("base.json", (const uint8_t *)base_doc, sizeof base_doc - 1,
		  base_path, sizeof base_path);
	return 0;
}

/* What gate and trend read (one scenario at a time, each slimmed) must be
 * what a whole read gives, slimmed: the same refusal with the same
 * message, or the same document; and slimming never changes how finely a
 * recovery was dated. A difference is a finding. */
static void same_when_slimmed(const char *path, int loaded, json_t *doc,
			      const char *err)
{
	json_t *slim = NULL;
	char serr[PATH_MAX + 256] = "";
	int r = fl_results_read(path, FL_RESULTS_KEEP_FIGURES, &slim, serr,
				sizeof serr);
	if (r != loaded || (r < 0 && strcmp(err, serr)))
		abort();
	if (r < 0)
		return;
	json_t *want = json_deep_copy(doc);
	size_t i;
	json_t *s;
	fl_results_foreach(want, i, s)
	{
		double a = fl_results_recovery_resolution(s);
		fl_results_slim(s);
		double b = fl_results_recovery_resolution(s);
		if (!(a == b || (isnan(a) && isnan(b))))
			abort();
	}
	if (!json_equal(want, slim))
		abort();
	json_decref(want);
	json_decref(slim);
}

/* Collects what the streamed reader hands out. */
static int collect(json_t *sc, size_t k, void *arg)
{
	json_t *got = arg;
	if (k != json_array_size(got) || json_array_append(got, sc))
		abort();
	return 0;
}

/* The streamed reader (merge's and report's) accepts what the whole
 * read accepts, with the same message when it refuses, and hands out
 * the same scenarios in order, its head the rest of the document. The
 * one difference is by design: a second "scenarios" member is refused,
 * since the first one's were handed out. */
static void same_when_streamed(const char *path, int loaded, json_t *doc,
			       const char *err)
{
	json_t *got = json_array(), *head = NULL;
	char serr[PATH_MAX + 256] = "";
	if (!got)
		abort();
	int r = fl_results_stream(path, collect, got, &head, serr, sizeof serr);
	if (r < 0 && loaded == 0 && strstr(serr, "two scenarios arrays")) {
		json_decref(got);
		return;
	}
	if (r != loaded || (r < 0 && strcmp(err, serr)))
		abort();
	if (r == 0) {
		json_t *rest = json_copy(doc);
		if (!rest || json_object_set_new(rest, "scenarios", json_array()))
			abort();
		if (!json_equal(got, fl_results_scenarios(doc)) || !json_equal(rest, head))
			abort();
		json_decref(rest);
		json_decref(head);
	}
	json_decref(got);
}

/* Runs a command the way main() does: argv[-1] is the program. */
static void command(int (*cmd)(int, char **), char **argv)
{
	int argc = 0;
	while (argv[argc + 1])
		argc++;
	cmd(argc, argv + 1);
	fflush(stdout);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[PATH_MAX + 32], out[PATH_MAX + 64];
	fuzz_file("in.json", data, size, path, sizeof path);
	const char *dir = fuzz_scratch();

	json_t *doc;
	char err[PATH_MAX + 256];
	int loaded = fl_results_load(path, &doc, err, sizeof err);
	same_when_slimmed(path, loaded, doc, err);
	same_when_streamed(path, loaded, doc, err);
	if (loaded == 0) {
		for (int w = 0; w < FL_WRITER_COUNT; w++) {
			snprintf(out, sizeof out, "%s/out.%s", dir, fl_writers[w].option);
			fl_writer_write(&fl_writers[w], doc, out);
		}
		size_t i;
		json_t *s;
		fl_buf b;
		fl_buf_init(&b);
		fl_results_foreach(doc, i, s)
		{
			double *v;
			size_t n;
			fl_results_failure_signature(s, NULL, &b);
			if (fl_results_recoveries(s, &v, &n, err, sizeof err) == 0)
				free(v);
			fl_results_recovery_resolution(s);
			fl_results_bad_figures(s, &b);
		}
		fl_results_summary_line(doc, &b);
		fl_buf_free(&b);
		json_decref(doc);
	} else {
		/* What the commands do with a file they refuse is to say so:
		 * no need to run them all. */
		return 0;
	}

	char rep[PATH_MAX + 64], merged[PATH_MAX + 64], trend[PATH_MAX + 64];
	snprintf(rep, sizeof rep, "%s/report", dir);
	snprintf(merged, sizeof merged, "%s/merged", dir);
	snprintf(trend, sizeof trend, "%s/trend.html", dir);
	char *report_argv[] = {"faultline", "report", "-q", "-o", rep, path, NULL};
	command(fl_cmd_report, report_argv);
	char *merge_argv[] = {"faultline", "merge", "-q", "-o", merged, path,
			      base_path, NULL};
	command(fl_cmd_merge, merge_argv);
	char *gate_self[] = {"faultline", "gate", "--baseline", path, path, NULL};
	command(fl_cmd_gate, gate_self);
	char *gate_new[] = {"faultline", "gate", "--baseline", base_path, path, NULL};
	command(fl_cmd_gate, gate_new);
	char *gate_old[] = {"faultline", "gate", "--mttr-min-episodes", "2",
			    "--baseline", path, base_path, NULL};
	command(fl_cmd_gate, gate_old);
	char *trend_argv[] = {"faultline", "trend", "-q", "-o", trend, path,
			      base_path, NULL};
	command(fl_cmd_trend, trend_argv);
	return 0;
}
