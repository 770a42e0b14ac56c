/* The live lines of a run (harness/progress.c): what a line says, its
 * width, names that carry control bytes, result lines written above the
 * live ones, and calls that do nothing without a display. The redraw
 * thread may draw at any moment: the assertions look for what must be
 * there and in which order, never at how often it was drawn. */
#include "testutil.h"

#include <pthread.h>

#include "progress.h"
#include "util.h"

Test(progress, nothing_without_a_display)
{
	char buf[512];
	fl_progress_begin("alone");
	fl_progress_phase(FL_PHASE_FAULTS);
	fl_progress_faults(3);
	cr_assert_eq(fl_progress_render(buf, sizeof buf, fl_now_ns(), 80), 0);
	cr_assert_str_eq(buf, "");
	fl_progress_end();
}

Test(progress, a_line_says_phase_time_faults_and_name)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	cr_assert_eq(fl_progress_start(f, 2), 0);
	fl_progress_begin("scenarios/a.lua#1");
	int64_t t0 = fl_now_ns();
	char buf[1024];
	cr_assert_eq(fl_progress_render(buf, sizeof buf, t0, 200), 1);
	cr_assert(strstr(buf, "loading") && strstr(buf, "scenarios/a.lua#1"), "%s", buf);
	fl_progress_rename("redis: accept4 fails");
	fl_progress_phase(FL_PHASE_FAULTS);
	fl_progress_faults(37);
	/* 2.5 s later than the start, whatever the clock says now. */
	cr_assert_eq(fl_progress_render(buf, sizeof buf, t0 + 2500 * FL_NS_PER_MS, 200), 1);
	cr_assert(strstr(buf, "fault window") && strstr(buf, "2.5 s") &&
			  strstr(buf, "37 faults") && strstr(buf, "redis: accept4 fails"),
		  "%s", buf);
	fl_progress_faults(1);
	fl_progress_render(buf, sizeof buf, t0, 200);
	cr_assert(strstr(buf, "1 fault ") && !strstr(buf, "1 faults"), "%s", buf);
	fl_progress_end();
	cr_assert_eq(fl_progress_render(buf, sizeof buf, t0, 200), 0);
	fl_progress_stop();
	fclose(f);
	free(mem);
}

Test(progress, lines_fit_the_width_and_never_carry_control_bytes)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	cr_assert_eq(fl_progress_start(f, 1), 0);
	fl_progress_begin("evil\033[2Jname \xc3\xa9\xc3\xa9\xc3\xa9 and a very long tail "
			  "that goes on and on beyond any terminal's width");
	char buf[1024];
	cr_assert_eq(fl_progress_render(buf, sizeof buf, fl_now_ns(), 60), 1);
	cr_assert_null(strchr(buf, '\033'), "%s", buf);
	cr_assert(strstr(buf, "evil\\e[2Jname"), "%s", buf);
	/* 59 columns (a column per UTF-8 character) and the newline. */
	int cols = 0;
	for (const char *p = buf; *p && *p != '\n'; p++)
		cols += ((unsigned char)*p & 0xc0) != 0x80;
	cr_assert_eq(cols, 59, "%d columns: %s", cols, buf);
	fl_progress_end();
	fl_progress_stop();
	fclose(f);
	free(mem);
}

Test(progress, results_are_written_above_the_live_lines)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	cr_assert_eq(fl_progress_start(f, 1), 0);
	fl_progress_begin("running one");
	fl_progress_write("PASS   first  (1.00 s)\n");
	fl_progress_write("PASS   second  (1.00 s)\n");
	fl_progress_end();
	fl_progress_stop();
	fflush(f);
	/* Each result, then the live line below it; before the second
	 * result the live line was erased (cursor up one line, clear). */
	const char *a = strstr(mem, "PASS   first");
	cr_assert_not_null(a, "%s", mem);
	const char *live = strstr(a, "running one");
	cr_assert_not_null(live, "%s", mem);
	const char *b = strstr(live, "\033[1A\033[JPASS   second");
	cr_assert_not_null(b, "%s", mem);
	/* Stopping erased the live lines: the output ends with a clear. */
	size_t n = strlen(mem);
	cr_assert(n > 3 && strcmp(mem + n - 3, "\033[J") == 0, "%s", mem);
	fclose(f);
	free(mem);
}

/* More scenarios than slots: the extra one has no line, and its calls do
 * nothing. */
static void *second(void *arg)
{
	(void)arg;
	fl_progress_begin("no room");
	fl_progress_phase(FL_PHASE_STOPPING);
	fl_progress_end();
	return NULL;
}

Test(progress, more_scenarios_than_slots)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	cr_assert_eq(fl_progress_start(f, 1), 0);
	fl_progress_begin("has the slot");
	fl_progress_phase(FL_PHASE_BASELINE);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, second, NULL), 0);
	pthread_join(t, NULL);
	char buf[512];
	cr_assert_eq(fl_progress_render(buf, sizeof buf, fl_now_ns(), 120), 1);
	cr_assert(strstr(buf, "baseline") && strstr(buf, "has the slot") &&
			  !strstr(buf, "no room"),
		  "%s", buf);
	fl_progress_end();
	fl_progress_stop();
	fclose(f);
	free(mem);
}

/* A sweep's site stays after the name when the scenario renames its
 * line; the next scenario on the thread starts without it. Invalid UTF-8
 * in a name is shown as U+FFFD, as on the result lines. */
Test(progress, detail_survives_a_rename_and_names_are_lossless)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	cr_assert_eq(fl_progress_start(f, 1), 0);
	fl_progress_begin("scenarios/a.lua");
	fl_progress_detail("posix/io/oc/close at fileproc.c:292");
	fl_progress_rename("fileproc \xff keeps no fd");
	char buf[1024];
	cr_assert_eq(fl_progress_render(buf, sizeof buf, fl_now_ns(), 200), 1);
	cr_assert(strstr(buf, "fileproc \xef\xbf\xbd keeps no fd  posix/io/oc/close at "
			      "fileproc.c:292"),
		  "%s", buf);
	fl_progress_end();
	fl_progress_begin("next");
	cr_assert_eq(fl_progress_render(buf, sizeof buf, fl_now_ns(), 200), 1);
	cr_assert_null(strstr(buf, "fileproc.c"), "%s", buf);
	fl_progress_end();
	fl_progress_stop();
	fclose(f);
	free(mem);
}
