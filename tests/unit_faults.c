/* The shared fault region from the harness's side and the agent's lookup
 * and rule-reading code (lib/agent_proto.h), under ASan and UBSan: names
 * added by many threads at once get one entry each; a rule being replaced
 * while threads read it is seen whole or not at all; replay sets, armed
 * windows, prefix windows, stats and the footprint of a process that never
 * registered. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../lib/agent_proto.h"
#include "faults.h"

static fl_faults f;
static fl_shm_view v;

static void setup(void)
{
	cr_assert_eq(fl_faults_create(&f, 42, "linux", 0, 100, 0, 0), 0);
	cr_assert_eq(fl_shm_view_of(f.shm, f.shm_size, &v), 0);
}

static void teardown(void)
{
	fl_faults_free(&f);
}

static fl_fault_spec spec_of(const char *point, double p)
{
	fl_fault_spec s;
	memset(&s, 0, sizeof s);
	snprintf(s.point, sizeof s.point, "%s", point);
	s.p = p;
	s.failnum = 1;
	return s;
}

TestSuite(faults, .init = setup, .fini = teardown);

enum { NAMES = 300, ADDERS = 8 };
static int seen[ADDERS][NAMES];

static void *adder(void *arg)
{
	int k = (int)(intptr_t)arg;
	char name[64];
	/* Each thread walks the names in its own order. */
	for (int j = 0; j < NAMES; j++) {
		int i = (j * 7 + k * 37) % NAMES;
		snprintf(name, sizeof name, "test/point/%d", i);
		seen[k][i] = fl_shm_point_get(&v, name, 1, NULL);
	}
	return NULL;
}

Test(faults, names_added_at_once_get_one_entry_each)
{
	pthread_t th[ADDERS];
	for (int k = 0; k < ADDERS; k++)
		pthread_create(&th[k], NULL, adder, (void *)(intptr_t)k);
	for (int k = 0; k < ADDERS; k++)
		pthread_join(th[k], NULL);
	for (int i = 0; i < NAMES; i++) {
		cr_assert_geq(seen[0][i], 0);
		for (int k = 1; k < ADDERS; k++)
			cr_assert_eq(seen[k][i], seen[0][i], "name %d: %d vs %d", i,
				     seen[k][i], seen[0][i]);
		char name[64];
		snprintf(name, sizeof name, "test/point/%d", i);
		cr_assert_str_eq(fl_faults_slot_name(&f, seen[0][i]), name);
		cr_assert_eq(fl_shm_point_get(&v, name, 0, NULL), seen[0][i]);
	}
	/* Entries that lost a race are dead; the live ones are the names. */
	int ready = 0;
	for (uint32_t i = 0; i < atomic_load(&v.hdr->npoints); i++)
		ready += atomic_load(&v.points[i].state) == FL_POINT_READY;
	cr_assert_eq(ready, NAMES);
	cr_assert_eq(fl_shm_point_get(&v, "test/never", 0, NULL), -1);
}

Test(faults, a_full_table_counts_the_names_it_loses)
{
	char name[64];
	for (int i = 0; i < FL_MAX_POINTS; i++) {
		snprintf(name, sizeof name, "fill/%d", i);
		cr_assert_geq(fl_shm_point_get(&v, name, 1, NULL), 0);
	}
	cr_assert_eq(fl_shm_point_get(&v, "one/more", 1, NULL), -1);
	cr_assert_eq(fl_shm_point_get(&v, "and/another", 1, NULL), -1);
	uint64_t points, procs;
	fl_faults_lost(&f, &points, &procs);
	cr_assert_eq(points, 2);
	cr_assert_eq(atomic_load(&v.hdr->npoints), FL_MAX_POINTS);
	/* Known names are still found. */
	cr_assert_geq(fl_shm_point_get(&v, "fill/7", 1, NULL), 0);
}

/* Readers decide from the rule of a point while the harness replaces it
 * again and again: each rule's errno and failnum are equal, so a copy
 * made of two rules would show. */
static _Atomic int stop_readers;
static _Atomic long long torn, consistent;

static void *reader(void *arg)
{
	int slot = (int)(intptr_t)arg;
	while (!atomic_load(&stop_readers)) {
		uint64_t ref = atomic_load(&v.points[slot].rule);
		if (!ref)
			continue;
		fl_rule_body b;
		int opened;
		if (!fl_shm_rule_read(&v, ref, &b, &opened))
			continue;
		if (b.err != b.failnum || b.actors[0] != 'a' + b.err % 26 ||
		    b.lo[FL_NTH_MAX - 1] != 0)
			atomic_fetch_add(&torn, 1);
		else
			atomic_fetch_add(&consistent, 1);
	}
	return NULL;
}

Test(faults, a_rule_replaced_while_read_is_seen_whole_or_not_at_all, .timeout = 60)
{
	int slot = fl_shm_point_get(&v, "posix/io/oc/close", 1, NULL);
	pthread_t th[3];
	for (int k = 0; k < 3; k++)
		pthread_create(&th[k], NULL, reader, (void *)(intptr_t)slot);
	char err[256];
	for (int i = 1; i <= 20000; i++) {
		fl_fault_spec s = spec_of("posix/io/oc/close", 0.5);
		s.err = i % 1000 + 1;
		s.failnum = s.err;
		s.actors[0] = (char)('a' + s.err % 26);
		cr_assert_eq(fl_faults_enable(&f, &s, err, sizeof err, 0), 0, "%s", err);
		if (i % 3 == 0)
			cr_assert_eq(fl_faults_disable(&f, "posix/io/oc/close", err,
						       sizeof err, 0), 0);
	}
	atomic_store(&stop_readers, 1);
	for (int k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	cr_assert_eq(atomic_load(&torn), 0, "%lld torn copies",
		     (long long)atomic_load(&torn));
	cr_assert_gt(atomic_load(&consistent), 0);
	/* Replaced rules were freed: the pool did not run out. */
	int live = 0;
	for (int i = 0; i < FL_MAX_RULES; i++)
		live += !(atomic_load(&v.rules[i].version) & 1);
	cr_assert_leq(live, 1);
}

Test(faults, disable_turns_decisions_off_and_frees_the_rules)
{
	char err[256];
	fl_fault_spec a = spec_of("posix/io/rw/read", 1), b = spec_of("posix/io/rw/write", 0.2);
	cr_assert_eq(fl_faults_enable(&f, &a, err, sizeof err, 0), 0);
	cr_assert_eq(fl_faults_enable(&f, &b, err, sizeof err, 0), 0);
	fl_point_stats *ps;
	int n = fl_faults_stats(&f, &ps, err, sizeof err, 0);
	int active = 0;
	for (int i = 0; i < n; i++)
		active += ps[i].active;
	free(ps);
	cr_assert_eq(active, 2);
	cr_assert_eq(fl_faults_disable(&f, NULL, err, sizeof err, 0), 0);
	n = fl_faults_stats(&f, &ps, err, sizeof err, 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(ps[i].active, 0, "%s", ps[i].point);
	free(ps);
	for (int i = 0; i < FL_MAX_RULES; i++)
		cr_assert(atomic_load(&v.rules[i].version) & 1, "rule %d still live", i);
}

Test(faults, an_armed_window_is_not_active_until_it_opens)
{
	char err[256];
	fl_fault_spec s = spec_of("posix/io/oc/close", 1);
	snprintf(s.after_point, sizeof s.after_point, "posix/io/oc/open");
	s.after_n = 40;
	snprintf(s.after_actor, sizeof s.after_actor, "0.1");
	cr_assert_eq(fl_faults_enable(&f, &s, err, sizeof err, 0), 0, "%s", err);
	int open_slot = fl_shm_point_get(&v, "posix/io/oc/open", 0, NULL);
	int close_slot = fl_shm_point_get(&v, "posix/io/oc/close", 0, NULL);
	cr_assert_eq(atomic_load(&v.points[open_slot].triggers), 1);
	uint64_t ref = atomic_load(&v.points[close_slot].rule);
	fl_rule_body b;
	int opened;
	cr_assert(fl_shm_rule_read(&v, ref, &b, &opened));
	cr_assert_eq(b.trigger_slot, open_slot);
	cr_assert_eq(b.trigger_n, 40);
	cr_assert_eq(b.trigger_actor, fl_hash_str("0.1"));
	cr_assert_eq(opened, 0);
	fl_point_stats *ps;
	int n = fl_faults_stats(&f, &ps, err, sizeof err, 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(ps[i].active, 0);
	free(ps);
	/* The agent opens it with the version of the rule it read. */
	atomic_store(&v.rules[FL_RULE_SLOT(ref)].opened, FL_RULE_VERSION(ref));
	n = fl_faults_stats(&f, &ps, err, sizeof err, 0);
	int active = 0;
	for (int i = 0; i < n; i++)
		active += ps[i].active && ps[i].slot == close_slot;
	free(ps);
	cr_assert_eq(active, 1);
	/* Closing it stops its trigger from counting. */
	cr_assert_eq(fl_faults_disable(&f, "posix/io/oc/close", err, sizeof err, 0), 0);
	cr_assert_eq(atomic_load(&v.points[open_slot].triggers), 0);
}

Test(faults, a_prefix_window_covers_the_points_it_names)
{
	char err[256];
	fl_shm_point_get(&v, "posix/io/net/connect", 1, NULL);
	fl_shm_point_get(&v, "posix/io/oc/open", 1, NULL);
	fl_fault_spec s = spec_of("posix/io/net/*", 1);
	cr_assert_eq(fl_faults_enable(&f, &s, err, sizeof err, 0), 0, "%s", err);
	int c = fl_shm_point_get(&v, "posix/io/net/connect", 0, NULL);
	int o = fl_shm_point_get(&v, "posix/io/oc/open", 0, NULL);
	cr_assert_neq(atomic_load(&v.points[c].rule), 0);
	cr_assert_eq(atomic_load(&v.points[o].rule), 0);
	/* Left for points added later (the agent applies it). */
	int patterns = 0;
	for (int i = 0; i < FL_MAX_PATTERNS; i++)
		patterns += atomic_load(&v.patterns[i].rule) != 0 &&
			    !strcmp(v.patterns[i].prefix, "posix/io/net/");
	cr_assert_eq(patterns, 1);
	cr_assert_eq(fl_faults_disable(&f, "posix/io/*", err, sizeof err, 0), 0);
	cr_assert_eq(atomic_load(&v.points[c].rule), 0);
	for (int i = 0; i < FL_MAX_PATTERNS; i++)
		cr_assert_eq(atomic_load(&v.patterns[i].rule), 0);
}

Test(faults, replay_sets_hold_the_recorded_calls)
{
	char err[256];
	cr_assert_eq(fl_faults_replay(&f, "posix/io/oc/close",
				      "0 3 5\n0.2 7 28\n0f1 1 4\n", err, sizeof err, 0),
		     0, "%s", err);
	uint64_t ph = fl_hash_str("posix/io/oc/close");
	struct {
		const char *actor;
		uint64_t n;
		int err;
	} want[] = {{"0", 3, 5}, {"0.2", 7, 28}, {"0f1", 1, 4}, {"0", 4, 0}, {"0f2", 1, 0}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		uint64_t key = fl_replay_key(ph, fl_hash_str(want[i].actor), want[i].n);
		uint32_t mask = v.hdr->replay_cap - 1;
		int found = 0;
		for (uint32_t k = 0; k <= mask; k++) {
			fl_shm_replay *r = &v.replay[(key + k) & mask];
			if (!r->key)
				break;
			if (r->key == key) {
				found = r->err;
				break;
			}
		}
		cr_assert_eq(found, want[i].err, "%s %llu", want[i].actor,
			     (unsigned long long)want[i].n);
	}
}

Test(faults, bad_rules_are_refused_with_a_reason)
{
	char err[256];
	fl_fault_spec s = spec_of("posix/io/oc/close", 1.5);
	cr_assert_eq(fl_faults_enable(&f, &s, err, sizeof err, 0), -EINVAL);
	cr_assert(strstr(err, "p must be"), "%s", err);
	s = spec_of("posix/io/oc/close", 1);
	snprintf(s.nth, sizeof s.nth, "0-3");
	cr_assert_eq(fl_faults_enable(&f, &s, err, sizeof err, 0), -EINVAL);
	cr_assert(strstr(err, "nth"), "%s", err);
	s = spec_of("posix/io/oc/close", 1);
	snprintf(s.after_point, sizeof s.after_point, "posix/io/oc/open");
	cr_assert_eq(fl_faults_enable(&f, &s, err, sizeof err, 0), -EINVAL);
	cr_assert(strstr(err, "after"), "%s", err);
	cr_assert_eq(fl_faults_set_close(&f, "sometimes", err, sizeof err, 0), -EINVAL);
	cr_assert_eq(fl_faults_set_close(&f, "libfiu", err, sizeof err, 0), 0);
	cr_assert_eq(atomic_load(&v.hdr->close_mode), FL_CLOSE_LIBFIU);
}

Test(faults, a_process_that_never_registered_holds_only_the_fd)
{
	fl_faults_spawned(&f, 999999);
	fl_footprint fp;
	fl_faults_footprint(&f, -1, 999999, &fp);
	cr_assert_eq(fp.fds, 1);
	cr_assert_eq(fp.threads, 0);
	cr_assert_eq(fp.bytes, 0);
	cr_assert_eq(fl_faults_registered(&f), 0);
	fl_proc_info *procs;
	cr_assert_eq(fl_faults_procs(&f, &procs), 0);
	free(procs);
	/* The region's seed and layout are what the agent will read. */
	cr_assert_eq(v.hdr->seed, 42);
	cr_assert_eq(v.jhdr->capacity, FL_JOURNAL_CAPACITY);
	cr_assert_geq(v.hdr->replay_cap, 200);
	cr_assert_eq(v.hdr->size, f.shm_size);
}
