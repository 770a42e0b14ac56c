/* The gate's checks as a list, printed and written (gate.h). */
#define _GNU_SOURCE
#include "gate.h"

#include "report.h"
#include "text.h"
#include "verdict.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the table's first column says: a failed check reads like a failed
 * scenario. */
static const char *outcome_name(fl_gate_outcome o)
{
	static const char *const names[] = {"ok", "info", "better"};
	return o == FL_GATE_FAILED ? fl_verdict_name(FL_VERDICT_FAIL) : names[o];
}

static const struct {
	const char *one, *many;
} kinds[FL_GATE_KINDS] = {
	[FL_GATE_NEWLY_FAILING] = {"newly failing", "newly failing"},
	[FL_GATE_NO_VERDICT] = {"without a verdict", "without a verdict"},
	[FL_GATE_REMOVED] = {"removed", "removed"},
	[FL_GATE_BAD_SCENARIO] = {"bad scenario", "bad scenarios"},
	[FL_GATE_BAD_FIGURES] = {"with bad figures", "with bad figures"},
	[FL_GATE_NEW_LEAK] = {"new leak", "new leaks"},
	[FL_GATE_MTTR] = {"MTTR regression", "MTTR regressions"},
};

void fl_gate_add(fl_gate *g, const char *scenario, const char *name,
		 fl_gate_outcome outcome, int kind, const char *old_value,
		 const char *new_value, const char *fmt, ...)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->checks = fl_xrealloc(g->checks, g->cap * sizeof *g->checks);
	}
	fl_gate_check *c = &g->checks[g->n++];
	c->scenario = fl_xstrdup(scenario);
	c->name = name;
	c->outcome = outcome;
	c->kind = kind;
	c->old_value = fl_xstrdup(old_value);
	c->new_value = fl_xstrdup(new_value);
	fl_buf d;
	fl_buf_init(&d);
	va_list ap;
	va_start(ap, fmt);
	fl_buf_vprintf(&d, fmt, ap);
	va_end(ap);
	c->detail = fl_buf_steal(&d);
	if (outcome == FL_GATE_BETTER)
		g->improvements++;
	if (outcome == FL_GATE_FAILED && kind >= 0 && kind < FL_GATE_KINDS)
		g->failures[kind]++;
}

int fl_gate_failed_total(const fl_gate *g)
{
	int n = 0;
	for (int k = 0; k < FL_GATE_KINDS; k++)
		n += g->failures[k];
	return n;
}

/* "scenarios/fd/close.lua#2" -> "gate.scenarios.fd.close#2", as the
 * run's JUnit names its classes, so the two line up in a CI's view. */
static void classname(const char *id, char *out, size_t len)
{
	snprintf(out, len, "gate.%s", id);
	char *lua = strstr(out, ".lua");
	if (lua && (lua[4] == '\0' || lua[4] == '#'))
		memmove(lua, lua + 4, strlen(lua + 4) + 1);
	for (char *p = out; *p; p++)
		if (*p == '/')
			*p = '.';
}

static void attr(fl_buf *b, const char *name, const char *value)
{
	fl_buf_printf(b, " %s=\"", name);
	fl_escape_xml(b, value);
	fl_buf_putc(b, '"');
}

int fl_gate_write_junit(const fl_gate *g, const char *path,
			const char *old_path, const char *new_path)
{
	size_t failures = 0;
	for (size_t i = 0; i < g->n; i++)
		failures += g->checks[i].outcome == FL_GATE_FAILED;
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fl_buf_printf(&b,
		      "<testsuites name=\"faultline gate\" tests=\"%zu\" "
		      "failures=\"%zu\" errors=\"0\">\n"
		      "  <testsuite name=\"faultline gate\" tests=\"%zu\" "
		      "failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"0\">\n"
		      "    <properties>\n",
		      g->n, failures, g->n, failures);
	fl_buf_puts(&b, "      <property name=\"baseline\"");
	attr(&b, "value", old_path);
	fl_buf_puts(&b, "/>\n      <property name=\"results\"");
	attr(&b, "value", new_path);
	fl_buf_printf(&b,
		      "/>\n      <property name=\"mttr_threshold\" value=\"%g\"/>\n"
		      "      <property name=\"mttr_floor_s\" value=\"%g\"/>\n"
		      "      <property name=\"mttr_min_episodes\" value=\"%zu\"/>\n"
		      "      <property name=\"allow_removed\" value=\"%s\"/>\n"
		      "    </properties>\n",
		      g->mttr.threshold, g->mttr.floor_s, g->mttr.min_episodes,
		      g->allow_removed ? "true" : "false");
	for (size_t i = 0; i < g->n; i++) {
		const fl_gate_check *c = &g->checks[i];
		char cls[PATH_MAX + 16];
		classname(c->scenario, cls, sizeof cls);
		fl_buf_puts(&b, "    <testcase");
		attr(&b, "classname", cls);
		attr(&b, "name", c->name);
		fl_buf_puts(&b, " time=\"0\">");
		fl_buf local;
		fl_buf_init(&local);
		fl_buf_printf(&local, "%s: %s -> %s: %s", c->scenario, c->old_value,
			      c->new_value, c->detail);
		if (c->outcome == FL_GATE_FAILED) {
			fl_buf_puts(&b, "\n      <failure");
			attr(&b, "type", kinds[c->kind].one);
			attr(&b, "message", local.data);
			fl_buf_puts(&b, ">");
			fl_escape_xml(&b, local.data);
			fl_buf_puts(&b, "</failure>\n    ");
		} else if (c->outcome != FL_GATE_OK) {
			fl_buf_puts(&b, "\n      <system-out>");
			fl_escape_xml(&b, outcome_name(c->outcome));
			fl_buf_puts(&b, ": ");
			fl_escape_xml(&b, local.data);
			fl_buf_puts(&b, "</system-out>\n    ");
		}
		fl_buf_free(&local);
		fl_buf_puts(&b, "</testcase>\n");
	}
	fl_buf_puts(&b, "  </testsuite>\n</testsuites>\n");
	int r = fl_write_file_atomic(path, b.data, b.len);
	fl_buf_free(&b);
	return r;
}

/* Column widths count characters, not bytes: µs is two bytes wide. */
static int width(const char *s)
{
	int w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xC0) != 0x80;
	return w;
}

static void cell(fl_buf *out, const char *s, int w)
{
	fl_buf_puts(out, s);
	for (int i = width(s); i < w; i++)
		fl_buf_putc(out, ' ');
}

/* Text from the results for the terminal: what a scenario id or message
 * holds is shown, never obeyed. */
char *fl_gate_console(const char *s)
{
	fl_buf b;
	fl_buf_init(&b);
	fl_text_console(&b, s);
	return fl_buf_steal(&b);
}

void fl_gate_print_table(const fl_gate *g, int quiet)
{
	int ws = 8, wo = 3, wn = 3;
	char **ids = fl_xcalloc(g->n + 1, sizeof *ids);
	for (size_t i = 0; i < g->n; i++) {
		const fl_gate_check *c = &g->checks[i];
		ids[i] = fl_gate_console(c->scenario);
		if (c->outcome == FL_GATE_OK || (quiet && c->outcome != FL_GATE_FAILED))
			continue;
		if (width(ids[i]) > ws)
			ws = width(ids[i]);
		if (width(c->old_value) > wo)
			wo = width(c->old_value);
		if (width(c->new_value) > wn)
			wn = width(c->new_value);
	}
	if (ws > 60)
		ws = 60;
	fl_buf out;
	fl_buf_init(&out);
	int header = 0;
	/* Failures first, then improvements, then the rest. */
	static const fl_gate_outcome order[] = {FL_GATE_FAILED, FL_GATE_BETTER, FL_GATE_INFO};
	for (size_t o = 0; o < 3; o++) {
		for (size_t i = 0; i < g->n; i++) {
			const fl_gate_check *c = &g->checks[i];
			if (c->outcome != order[o] || (quiet && c->outcome != FL_GATE_FAILED))
				continue;
			if (!header) {
				cell(&out, "RESULT", 7);
				cell(&out, " CHECK", 11);
				fl_buf_putc(&out, ' ');
				cell(&out, "SCENARIO", ws);
				fl_buf_putc(&out, ' ');
				cell(&out, "OLD", wo);
				fl_buf_putc(&out, ' ');
				cell(&out, "NEW", wn);
				fl_buf_puts(&out, " WHAT\n");
				header = 1;
			}
			cell(&out, outcome_name(c->outcome), 7);
			fl_buf_putc(&out, ' ');
			cell(&out, c->name, 10);
			fl_buf_putc(&out, ' ');
			cell(&out, ids[i], ws);
			fl_buf_putc(&out, ' ');
			cell(&out, c->old_value, wo);
			fl_buf_putc(&out, ' ');
			cell(&out, c->new_value, wn);
			fl_buf_putc(&out, ' ');
			fl_text_console(&out, c->detail);
			fl_buf_putc(&out, '\n');
		}
	}
	if (!header && !quiet)
		fl_buf_puts(&out, "no change\n");
	fputs(out.data ? out.data : "", stdout);
	fl_buf_free(&out);
	for (size_t i = 0; i < g->n; i++)
		free(ids[i]);
	free(ids);
}

void fl_gate_print_closing(const fl_gate *g, size_t compared)
{
	int failed = fl_gate_failed_total(g);
	printf("\ngate: %s",
	       fl_verdict_name(failed ? FL_VERDICT_FAIL : FL_VERDICT_PASS));
	const char *sep = ": ";
	for (int k = 0; k < FL_GATE_KINDS; k++) {
		if (!g->failures[k])
			continue;
		printf("%s%d %s", sep, g->failures[k],
		       g->failures[k] == 1 ? kinds[k].one : kinds[k].many);
		sep = ", ";
	}
	printf(" (%zu scenarios compared, %d improvement%s", compared,
	       g->improvements, g->improvements == 1 ? "" : "s");
	if (g->removed && g->allow_removed)
		printf(", %zu removed, allowed", g->removed);
	printf(")\n");
}
