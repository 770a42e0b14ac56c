#define _GNU_SOURCE
#include "points.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* build/points.inc is generated from the strings of libfiu's
 * fiu_posix_preload.so: one FL_POINT("name") line per point. */
static const char *const posix_points[] = {
#define FL_POINT(name) name,
#include "points.inc"
#undef FL_POINT
	NULL,
};

const char *const *fl_points_posix(void)
{
	return posix_points;
}

size_t fl_points_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 127 || lb > 127)
		return (size_t)-1;
	size_t row[128];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

int fl_points_check(const char *name, char *why, size_t whylen)
{
	if (!name[0]) {
		snprintf(why, whylen, "empty point name");
		return -1;
	}
	if (strncmp(name, "posix/", 6) != 0 && strncmp(name, "libc/", 5) != 0 &&
	    strncmp(name, "linux/", 6) != 0)
		return 0;
	size_t len = strlen(name);
	int wildcard = name[len - 1] == '*';
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (const char *const *p = posix_points; *p; p++) {
		if (wildcard ? strncmp(*p, name, len - 1) == 0
			     : strcmp(*p, name) == 0)
			return 0;
		size_t d = fl_points_distance(name, *p);
		if (d < best_d) {
			best_d = d;
			best = *p;
		}
	}
	if (best && best_d <= 4)
		snprintf(why, whylen,
			 "unknown failure point '%s' (did you mean '%s'?)", name,
			 best);
	else
		snprintf(why, whylen,
			 "unknown failure point '%s' (see 'faultline points' for "
			 "the list)",
			 name);
	return -1;
}

int fl_nth_check(const char *spec, char *why, size_t whylen)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", spec);
	int ranges = 0;
	char *save = NULL;
	for (char *part = strtok_r(buf, ",", &save); part;
	     part = strtok_r(NULL, ",", &save)) {
		while (*part == ' ')
			part++;
		char *end;
		if (strncmp(part, "every", 5) == 0) {
			char *q = part + 5;
			while (*q == ' ')
				q++;
			long long k = strtoll(q, &end, 10);
			if (end == q || k < 1 || *end)
				goto bad;
			continue;
		}
		long long lo = strtoll(part, &end, 10), hi = lo;
		if (end == part || lo < 1)
			goto bad;
		if (*end == '-') {
			char *e2;
			hi = strtoll(end + 1, &e2, 10);
			if (e2 == end + 1 || hi < lo)
				goto bad;
			end = e2;
		}
		while (*end == ' ')
			end++;
		if (*end || ++ranges > 16)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, whylen,
		 "nth '%s' must be call numbers like \"3\", \"5-9\", \"every 4\" "
		 "or a comma list of those (calls count from 1)",
		 spec);
	return -1;
}

int fl_points_check_declared(const char *name, char *const *declared, int n,
			     char *why, size_t whylen)
{
	if (n == 0 || strncmp(name, "posix/", 6) == 0 ||
	    strncmp(name, "libc/", 5) == 0 || strncmp(name, "linux/", 6) == 0)
		return 0;
	size_t len = strlen(name);
	int wildcard = len && name[len - 1] == '*';
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (int i = 0; i < n; i++) {
		if (wildcard ? strncmp(declared[i], name, len - 1) == 0
			     : strcmp(declared[i], name) == 0)
			return 0;
		size_t d = fl_points_distance(name, declared[i]);
		if (d < best_d) {
			best_d = d;
			best = declared[i];
		}
	}
	if (best && best_d <= 4)
		snprintf(why, whylen,
			 "the target declares no failure point '%s' (did you "
			 "mean '%s'?)",
			 name, best);
	else
		snprintf(why, whylen,
			 "the target declares no failure point '%s' (see "
			 "'faultline points TARGET')",
			 name);
	return -1;
}
