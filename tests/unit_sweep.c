/* The sweep's rules (harness/sweep.c) on hand-made results: the outcome
 * of a site's run, the verdict each outcome gives, the map rebuilt from
 * the site entries, and the map of shards merged. */
#include <criterion/criterion.h>
#include <string.h>

#include "sweep.h"
#include "verdict.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	cr_assert_not_null(j, "%s: %s", text, e.text);
	return j;
}

static fl_outcome outcome_of(const char *result, char *detail)
{
	json_t *r = parse(result);
	fl_outcome o = fl_sweep_outcome(r, detail, 512);
	json_decref(r);
	return o;
}

#define FIRED "\"sites\": {\"mode\": \"site\", \"fired\": true, \"crashes\": []}"

Test(sweep_rules, outcome_of_a_sites_run)
{
	char d[512];
	cr_assert_eq(outcome_of("{\"verdict\": \"PASS\", " FIRED "}", d),
		     FL_OUTCOME_HANDLED);
	cr_assert_str_eq(d, "");
	/* Not reached: whatever else happened, nothing failed. */
	cr_assert_eq(outcome_of("{\"verdict\": \"FAIL\", \"sites\": {\"mode\": "
				"\"site\", \"fired\": false}}",
				d),
		     FL_OUTCOME_UNREACHED);
	/* A crash the agent saw, even after the script waited for the exit. */
	cr_assert_eq(outcome_of("{\"verdict\": \"FAIL\", \"sites\": {\"mode\": "
				"\"site\", \"fired\": true, \"crashes\": [{\"at\": "
				"\"a.c:9 (f)\"}]}, \"targets\": [{\"exit\": "
				"{\"exited\": true, \"signal\": \"SIGSEGV\", "
				"\"expected\": true}}]}",
				d),
		     FL_OUTCOME_CRASHED);
	cr_assert_str_eq(d, "crashed: SIGSEGV at a.c:9 (f)");
	cr_assert_eq(outcome_of("{\"verdict\": \"FAIL\", " FIRED ", \"targets\": "
				"[{\"exit\": {\"exited\": true, \"code\": 3, "
				"\"signal\": null, \"expected\": false}}]}",
				d),
		     FL_OUTCOME_EXITED);
	cr_assert_str_eq(d, "exited with status 3");
	/* Leaks before recovery before the other expectations. */
	cr_assert_eq(outcome_of("{\"verdict\": \"FAIL\", " FIRED ", "
				"\"expectations\": [{\"what\": \"recovery\", \"ok\": "
				"false, \"message\": \"not recovered\"}, {\"what\": "
				"\"leaked fds\", \"ok\": false, \"message\": \"leaked "
				"1 fds (allowed 0): 1 x f, opened at a.c:3 (g)\"}]}",
				d),
		     FL_OUTCOME_LEAKED);
	cr_assert_str_eq(d, "leaked 1 fds (allowed 0): 1 x f, opened at a.c:3 (g)");
	cr_assert_eq(outcome_of("{\"verdict\": \"FAIL\", " FIRED ", "
				"\"expectations\": [{\"what\": \"recovery\", \"ok\": "
				"false, \"message\": \"no steady state\"}]}",
				d),
		     FL_OUTCOME_UNRECOVERED);
	cr_assert_str_eq(d, "did not recover: no steady state");
	cr_assert_eq(outcome_of("{\"verdict\": \"FAIL\", " FIRED ", "
				"\"expectations\": [{\"what\": \"check\", \"ok\": "
				"false, \"message\": \"STATS says errors=0\"}]}",
				d),
		     FL_OUTCOME_FAILED);
	cr_assert_eq(outcome_of("{\"verdict\": \"ERROR\", " FIRED ", \"error\": "
				"{\"message\": \"script: boom\\nmore\"}}",
				d),
		     FL_OUTCOME_ERROR);
	cr_assert_str_eq(d, "error: script: boom");
}

Test(sweep_rules, verdicts_and_findings)
{
	cr_assert_eq(fl_outcome_verdict(FL_OUTCOME_HANDLED), FL_VERDICT_PASS);
	for (int o = FL_OUTCOME_CRASHED; o <= FL_OUTCOME_FAILED; o++) {
		cr_assert(fl_outcome_is_finding((fl_outcome)o));
		cr_assert_eq(fl_outcome_verdict((fl_outcome)o), FL_VERDICT_FAIL);
	}
	cr_assert_not(fl_outcome_is_finding(FL_OUTCOME_FLAKY));
	cr_assert_eq(fl_outcome_verdict(FL_OUTCOME_FLAKY), FL_VERDICT_FLAKY);
	cr_assert_eq(fl_outcome_verdict(FL_OUTCOME_UNREACHED), FL_VERDICT_ERROR);
	for (int o = 0; o < FL_OUTCOME_COUNT; o++)
		cr_assert_eq(fl_outcome_parse(fl_outcome_name((fl_outcome)o)), o);
	cr_assert_eq(fl_outcome_parse("not tried"), -1);
}

static const char shard1[] =
	"{\"scenarios\": [{\"id\": \"s.lua@aaaa\", \"sweep_site\": {\"outcome\": "
	"\"leaked\", \"detail\": \"leaked 2 fds\", \"confirmed\": true}}],"
	" \"sweep\": {\"shard\": {\"index\": 1, \"total\": 2}, \"scenarios\": "
	"[{\"id\": \"s.lua\", \"sites\": [{\"id\": \"aaaa\", \"result\": "
	"\"s.lua@aaaa\"}, {\"id\": \"bbbb\", \"outcome\": \"other shard\"}]}]}}";
static const char shard2[] =
	"{\"scenarios\": [{\"id\": \"s.lua@bbbb\", \"sweep_site\": {\"outcome\": "
	"\"handled\", \"detail\": \"\", \"confirmed\": true}}],"
	" \"sweep\": {\"shard\": {\"index\": 2, \"total\": 2}, \"scenarios\": "
	"[{\"id\": \"s.lua\", \"sites\": [{\"id\": \"aaaa\", \"outcome\": "
	"\"other shard\"}, {\"id\": \"bbbb\", \"result\": \"s.lua@bbbb\"}]}]}}";

Test(sweep_rules, the_map_of_shards_merged)
{
	json_t *a = parse(shard1), *b = parse(shard2);
	/* What merge does: the union of the entries, then the maps. */
	json_t *doc = json_pack("{s:[]}", "scenarios");
	json_array_extend(json_object_get(doc, "scenarios"),
			  json_object_get(a, "scenarios"));
	json_array_extend(json_object_get(doc, "scenarios"),
			  json_object_get(b, "scenarios"));
	cr_assert_eq(fl_sweep_merge(doc, a), 0);
	cr_assert_eq(fl_sweep_merge(doc, b), 0);
	cr_assert_eq(fl_sweep_map_update(doc), 0);
	json_t *sweep = json_object_get(doc, "sweep");
	cr_assert(json_is_null(json_object_get(sweep, "shard")));
	json_t *counts = json_object_get(sweep, "counts");
	cr_assert_eq(json_integer_value(json_object_get(counts, "leaked")), 1);
	cr_assert_eq(json_integer_value(json_object_get(counts, "handled")), 1);
	cr_assert_null(json_object_get(counts, "other shard"));
	json_t *sites = json_object_get(
		json_array_get(json_object_get(sweep, "scenarios"), 0), "sites");
	cr_assert_eq(json_array_size(sites), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sites, 0),
							    "detail")),
			 "leaked 2 fds");
	json_decref(doc);
	json_decref(a);
	json_decref(b);
}

Test(sweep_rules, a_site_matches_across_builds_by_its_functions)
{
	json_t *sc = parse("{\"id\": \"s.lua\"}");
	json_t *s1 = parse("{\"point\": \"p\", \"stack\": [{\"function\": \"f\", "
			   "\"offset\": \"0x10\"}, {\"function\": \"main\", "
			   "\"offset\": \"0x20\"}]}");
	json_t *s2 = parse("{\"point\": \"p\", \"stack\": [{\"function\": \"f\", "
			   "\"offset\": \"0x99\"}, {\"function\": \"main\", "
			   "\"offset\": \"0x88\"}]}");
	json_t *s3 = parse("{\"point\": \"p\", \"stack\": [{\"module\": "
			   "\"/usr/lib/libx.so\", \"offset\": \"0x10\"}]}");
	char k1[256], k2[256], k3[256];
	fl_sweep_site_match(sc, s1, k1, sizeof k1);
	fl_sweep_site_match(sc, s2, k2, sizeof k2);
	fl_sweep_site_match(sc, s3, k3, sizeof k3);
	cr_assert_str_eq(k1, "s.lua|p|f<main");
	cr_assert_str_eq(k1, k2, "offsets move, functions stay");
	cr_assert_str_eq(k3, "s.lua|p|libx.so");
	json_decref(sc);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
}
