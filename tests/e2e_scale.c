/* Running suites at scale: -j N side by side, and --shard partitions that
 * are deterministic, disjoint and complete (also from GitLab's and
 * Kubernetes' variables). */
#include "testutil.h"

static char *ids_of(json_t *doc)
{
	/* The ids of a results file, one per line, sorted as they come. */
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "scenarios"), i, s)
	{
		const char *id = tu_str(s, "id");
		if (len + strlen(id) + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		len += (size_t)sprintf(out + len, "%s\n", id);
	}
	return out;
}

static json_t *run_json(char *const *extra, const char *tmp, const char *json,
			int *status)
{
	char *argv[24];
	int n = 0;
	argv[n++] = "faultline";
	argv[n++] = "run";
	argv[n++] = "--no-report";
	argv[n++] = "--json";
	argv[n++] = (char *)json;
	for (int i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	char *out;
	*status = tu_run(argv, tmp, &out, 120);
	free(out);
	return tu_load_json(json);
}

/* Eight scenarios at -j 2: they run at the same time, with the same
 * verdicts and faults as one at a time, and results in suite order. */
Test(scale, jobs_run_side_by_side, .timeout = 120)
{
	char *dir = tu_tempdir();
	char path[PATH_MAX + 32], json[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/eight.lua", dir);
	snprintf(json, sizeof json, "%s/r.json", dir);
	tu_write(path,
		 "local list = {}\n"
		 "for i = 1, 8 do list[i] = { name = string.format('eight %d', i), seed = i,\n"
		 "  target = { cmd = { 'build/tests/targets/tgt', '--port', '{port}' },\n"
		 "             ready = { stdout = 'READY' } },\n"
		 "  run = function(t) t:settle(0.3)\n"
		 "    t:fault('posix/io/oc/close', { p = 0.5 })\n"
		 "    t:log(t:tcp('CLOSEBURST 100\\n'))\n"
		 "    t:sleep(0.1); t:clear(); t:sleep(0.4); t:stop()\n"
		 "    t:expect { leaked = { fds = 0 } } end } end\n"
		 "return list\n");
	int status;
	char *a1[] = {"-j", "2", path, NULL};
	json_t *doc = run_json(a1, dir, json, &status);
	cr_assert_eq(status, 0);
	json_t *sc = json_object_get(doc, "scenarios");
	cr_assert_eq(json_array_size(sc), 8);
	for (size_t i = 0; i < 8; i++) {
		json_t *s = json_array_get(sc, i);
		char want[32];
		snprintf(want, sizeof want, "eight %zu", i + 1);
		cr_assert_str_eq(tu_str(s, "name"), want, "results keep suite order");
		cr_assert_str_eq(tu_str(s, "verdict"), "PASS");
		/* Each target was its own: its own port and process. */
		json_t *t = json_array_get(json_object_get(s, "targets"), 0);
		cr_assert_gt(tu_num(t, "pid"), 0);
	}
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(doc, "run"), "jobs")), 2);
	/* Side by side: some scenarios ran at the same time as others (how
	 * much faster that is, make bench measures). */
	int overlapping = 0;
	for (size_t i = 0; i < 8; i++)
		for (size_t k = i + 1; k < 8; k++) {
			json_t *a = json_array_get(sc, i), *b = json_array_get(sc, k);
			double as = tu_num(a, "started"), ae = as + tu_num(a, "duration_s");
			double bs = tu_num(b, "started"), be = bs + tu_num(b, "duration_s");
			overlapping += as < be && bs < ae;
		}
	cr_assert_geq(overlapping, 4, "%d pairs overlapped", overlapping);
	/* Same seeds, same faults, whatever ran beside them. */
	char digests[8][17];
	for (size_t i = 0; i < 8; i++)
		snprintf(digests[i], 17, "%s",
			 tu_str(json_object_get(json_array_get(sc, i), "journal"),
				"digest"));
	json_decref(doc);
	char *a2[] = {"-j", "1", path, NULL};
	doc = run_json(a2, dir, json, &status);
	cr_assert_eq(status, 0);
	sc = json_object_get(doc, "scenarios");
	for (size_t i = 0; i < 8; i++)
		cr_assert_str_eq(tu_str(json_object_get(json_array_get(sc, i),
							"journal"),
					"digest"),
				 digests[i]);
	json_decref(doc);
	tu_rmrf(dir);
	free(dir);
}

/* Shares of a suite: disjoint, together the whole suite, the same from
 * I/N, GitLab's CI_NODE_INDEX/CI_NODE_TOTAL and Kubernetes'
 * JOB_COMPLETION_INDEX. */
Test(scale, shards_partition_the_suite, .timeout = 120)
{
	char *dir = tu_tempdir();
	char path[PATH_MAX + 32], json[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/seven.lua", dir);
	snprintf(json, sizeof json, "%s/r.json", dir);
	tu_write(path,
		 "local list = {}\n"
		 "for i = 1, 7 do list[i] = { name = 'seven ' .. i,\n"
		 "  target = { cmd = { 'build/tests/targets/tgt' }, ready = { stdout = 'READY' } },\n"
		 "  run = function(t) t:settle(0.05) end } end\n"
		 "return list\n");
	int status;
	char *shares[3];
	int counts[3];
	for (int i = 0; i < 3; i++) {
		char spec[16];
		snprintf(spec, sizeof spec, "%d/3", i + 1);
		char *a[] = {"--shard", spec, path, NULL};
		json_t *doc = run_json(a, dir, json, &status);
		cr_assert_eq(status, 0);
		counts[i] = (int)json_array_size(json_object_get(doc, "scenarios"));
		shares[i] = ids_of(doc);
		json_t *sh = json_object_get(json_object_get(doc, "run"), "shard");
		cr_assert_eq(tu_num(sh, "index"), i + 1);
		cr_assert_eq(tu_num(sh, "total"), 3);
		json_decref(doc);
	}
	/* 7 in 3 shares: 3, 2, 2, each scenario once. */
	cr_assert_eq(counts[0], 3);
	cr_assert_eq(counts[1], 2);
	cr_assert_eq(counts[2], 2);
	for (int k = 1; k <= 7; k++) {
		char id[PATH_MAX + 16];
		snprintf(id, sizeof id, "%s#%d\n", path, k);
		int found = 0;
		for (int i = 0; i < 3; i++)
			found += strstr(shares[i], id) != NULL;
		cr_assert_eq(found, 1, "%s is in %d shares", id, found);
	}

	/* GitLab: CI_NODE_INDEX is 1-based. */
	setenv("CI_NODE_INDEX", "2", 1);
	setenv("CI_NODE_TOTAL", "3", 1);
	char *g[] = {"--shard", "auto", path, NULL};
	json_t *doc = run_json(g, dir, json, &status);
	char *ids = ids_of(doc);
	cr_assert_str_eq(ids, shares[1]);
	free(ids);
	json_decref(doc);
	unsetenv("CI_NODE_INDEX");
	unsetenv("CI_NODE_TOTAL");

	/* Kubernetes: JOB_COMPLETION_INDEX is 0-based. */
	setenv("JOB_COMPLETION_INDEX", "2", 1);
	char *k[] = {"--shard", "auto/3", path, NULL};
	doc = run_json(k, dir, json, &status);
	ids = ids_of(doc);
	cr_assert_str_eq(ids, shares[2]);
	free(ids);
	json_decref(doc);
	unsetenv("JOB_COMPLETION_INDEX");

	/* Bad shares are usage errors. */
	char *out;
	char *bad1[] = {"faultline", "run", "--shard", "4/3", path, NULL};
	cr_assert_eq(tu_run(bad1, dir, &out, 10), 2);
	cr_assert(strstr(out, "share 4 of 3 does not exist"), "%s", out);
	free(out);
	char *bad2[] = {"faultline", "run", "--shard", "auto", path, NULL};
	cr_assert_eq(tu_run(bad2, dir, &out, 10), 2);
	cr_assert(strstr(out, "CI_NODE_INDEX"), "%s", out);
	free(out);
	for (int i = 0; i < 3; i++)
		free(shares[i]);
	tu_rmrf(dir);
	free(dir);
}
