#define _GNU_SOURCE
#include "forensics.h"

#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_fd(const fl_fd_entry *a, const fl_fd_entry *b)
{
	return a->fd == b->fd && strcmp(a->target, b->target) == 0;
}

static int contains(const fl_fd_entry *v, int n, const fl_fd_entry *e)
{
	/* Both tables are sorted by fd: binary search on the number. */
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (v[mid].fd == e->fd)
			return same_fd(&v[mid], e);
		if (v[mid].fd < e->fd)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

int fl_forensics_new_fds(const fl_fd_entry *base, int nbase,
			 const fl_fd_entry *fin, int nfin,
			 const fl_fd_entry *again, int nagain, int skip_fd,
			 fl_fd_entry **out)
{
	fl_fd_entry *v = fl_xmalloc((size_t)(nfin > 0 ? nfin : 1) * sizeof *v);
	int k = 0;
	for (int i = 0; i < nfin; i++) {
		if (fin[i].fd == skip_fd)
			continue;
		if (contains(base, nbase, &fin[i]))
			continue;
		if (again && !contains(again, nagain, &fin[i]))
			continue;
		v[k++] = fin[i];
	}
	*out = v;
	return k;
}

int fl_forensics_new_threads(const fl_thread_entry *base, int nbase,
			     const fl_thread_entry *fin, int nfin,
			     int skip_tid, fl_thread_entry **out)
{
	fl_thread_entry *v =
		fl_xmalloc((size_t)(nfin > 0 ? nfin : 1) * sizeof *v);
	int k = 0;
	for (int i = 0; i < nfin; i++) {
		if (fin[i].tid == skip_tid)
			continue;
		int found = 0;
		for (int j = 0; j < nbase && !found; j++)
			found = base[j].tid == fin[i].tid;
		if (!found)
			v[k++] = fin[i];
	}
	*out = v;
	return k;
}

static int has_digit_and_alpha(const char *s, size_t n)
{
	int d = 0, a = 0;
	for (size_t i = 0; i < n; i++) {
		d |= isdigit((unsigned char)s[i]) != 0;
		a |= isalpha((unsigned char)s[i]) != 0;
	}
	return d && a;
}

/* Merges one component (no '/'). */
static void merge_component(const char *a, const char *b, char *out,
			    size_t outlen)
{
	if (strcmp(a, b) == 0) {
		snprintf(out, outlen, "%s", a);
		return;
	}
	size_t la = strlen(a), lb = strlen(b);
	size_t p = 0;
	while (p < la && p < lb && a[p] == b[p])
		p++;
	size_t s = 0;
	while (s < la - p && s < lb - p && a[la - 1 - s] == b[lb - 1 - s])
		s++;
	/* A run of digits (a counter) is never part of what is common:
	 * "in-003" and "in-017" share "in-0" but are "in-*". */
	while (p > 0 && isdigit((unsigned char)a[p - 1]))
		p--;
	while (s > 0 && isdigit((unsigned char)a[la - s]))
		s--;
	/* Random-looking middles (letters and digits mixed, like mkdtemp's
	 * suffix) take the whole token with them. */
	if (has_digit_and_alpha(a + p, la - p - s) ||
	    has_digit_and_alpha(b + p, lb - p - s)) {
		while (p > 0 && isalnum((unsigned char)a[p - 1]))
			p--;
		while (s > 0 && isalnum((unsigned char)a[la - s]))
			s--;
	}
	/* A '*' already in a glob stays inside the wildcard. */
	while (p > 0 && (a[p - 1] == '*' || b[p - 1] == '*'))
		p--;
	while (s > 0 && (a[la - s] == '*' || b[lb - s] == '*'))
		s--;
	snprintf(out, outlen, "%.*s*%s", (int)p, a, a + la - s);
}

void fl_forensics_merge_glob(const char *a, const char *b, char *out,
			     size_t outlen)
{
	char result[512] = "";
	size_t rlen = 0;
	const char *pa = a, *pb = b;
	for (;;) {
		size_t na = strcspn(pa, "/"), nb = strcspn(pb, "/");
		char ca[256], cb[256], m[256];
		snprintf(ca, sizeof ca, "%.*s", (int)na, pa);
		snprintf(cb, sizeof cb, "%.*s", (int)nb, pb);
		merge_component(ca, cb, m, sizeof m);
		rlen += (size_t)snprintf(result + rlen, sizeof result - rlen,
					 "%s", m);
		if (rlen >= sizeof result)
			break;
		pa += na;
		pb += nb;
		if (*pa != '/' || *pb != '/')
			break;
		pa++;
		pb++;
		rlen += (size_t)snprintf(result + rlen, sizeof result - rlen,
					 "/");
	}
	snprintf(out, outlen, "%s", result);
}

/* What an fd points to, reduced to a kind for sockets, pipes and the like. */
static void fd_kind(const char *target, char *out, size_t outlen)
{
	if (strncmp(target, "socket:", 7) == 0)
		snprintf(out, outlen, "socket");
	else if (strncmp(target, "pipe:", 5) == 0)
		snprintf(out, outlen, "pipe");
	else
		snprintf(out, outlen, "%s", target);
}

/* The shape of a name: every run of letters and digits becomes 'a', so that
 * names that differ only in counters and random parts share a shape. */
static void shape(const char *s, char *out, size_t outlen)
{
	size_t k = 0;
	int in_run = 0;
	for (; *s && k + 1 < outlen; s++) {
		if (isalnum((unsigned char)*s)) {
			if (!in_run)
				out[k++] = 'a';
			in_run = 1;
		} else {
			out[k++] = *s;
			in_run = 0;
		}
	}
	out[k] = '\0';
}

struct gacc {
	char key[256];
	fl_group g;
};

static int cmp_group(const void *a, const void *b)
{
	const fl_group *x = a, *y = b;
	if (x->count != y->count)
		return y->count - x->count;
	return strcmp(x->pattern, y->pattern);
}

static int group_items(const char *const *names, const char *const *keys,
		       const char *const *opened, int n, fl_group **out)
{
	struct gacc *acc = fl_xcalloc((size_t)(n > 0 ? n : 1), sizeof *acc);
	int ng = 0;
	for (int i = 0; i < n; i++) {
		int j;
		for (j = 0; j < ng; j++)
			if (strcmp(acc[j].key, keys[i]) == 0)
				break;
		if (j == ng) {
			snprintf(acc[ng].key, sizeof acc[ng].key, "%s", keys[i]);
			snprintf(acc[ng].g.pattern, sizeof acc[ng].g.pattern,
				 "%s", names[i]);
			snprintf(acc[ng].g.example, sizeof acc[ng].g.example,
				 "%s", names[i]);
			snprintf(acc[ng].g.opened_at, sizeof acc[ng].g.opened_at,
				 "%s", opened ? opened[i] : "");
			acc[ng].g.count = 1;
			ng++;
			continue;
		}
		char merged[256];
		fl_forensics_merge_glob(acc[j].g.pattern, names[i], merged,
					sizeof merged);
		snprintf(acc[j].g.pattern, sizeof acc[j].g.pattern, "%s",
			 merged);
		acc[j].g.count++;
	}
	fl_group *g = fl_xmalloc((size_t)(ng > 0 ? ng : 1) * sizeof *g);
	for (int i = 0; i < ng; i++)
		g[i] = acc[i].g;
	free(acc);
	if (ng > 1)
		qsort(g, (size_t)ng, sizeof *g, cmp_group);
	*out = g;
	return ng;
}

int fl_forensics_group_fds(const fl_fd_entry *v, int n, fl_group **out)
{
	char(*names)[256] = fl_xmalloc((size_t)(n > 0 ? n : 1) * 256);
	char(*keys)[256] = fl_xmalloc((size_t)(n > 0 ? n : 1) * 256);
	const char **np = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *np);
	const char **kp = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *kp);
	const char **op = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *op);
	for (int i = 0; i < n; i++) {
		fd_kind(v[i].target, names[i], sizeof names[i]);
		char sh[256];
		if (strchr(names[i], '/'))
			shape(names[i], sh, sizeof sh);
		else
			snprintf(sh, sizeof sh, "%s", names[i]);
		/* The same kind of file from two call sites: two leaks. */
		snprintf(keys[i], sizeof keys[i], "%.200s|%s", sh, v[i].opened_at);
		np[i] = names[i];
		kp[i] = keys[i];
		op[i] = v[i].opened_at;
	}
	int r = group_items(np, kp, op, n, out);
	free(op);
	free(names);
	free(keys);
	free(np);
	free(kp);
	return r;
}

int fl_forensics_group_threads(const fl_thread_entry *v, int n,
			       fl_group **out)
{
	char(*names)[256] = fl_xmalloc((size_t)(n > 0 ? n : 1) * 256);
	char(*keys)[256] = fl_xmalloc((size_t)(n > 0 ? n : 1) * 256);
	const char **np = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *np);
	const char **kp = fl_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *kp);
	for (int i = 0; i < n; i++) {
		char sh[64];
		shape(v[i].name, sh, sizeof sh);
		snprintf(names[i], sizeof names[i], "%s (in %s)", v[i].name,
			 v[i].syscall);
		snprintf(keys[i], sizeof keys[i], "%s|%s", sh, v[i].syscall);
		np[i] = names[i];
		kp[i] = keys[i];
	}
	int r = group_items(np, kp, NULL, n, out);
	free(names);
	free(keys);
	free(np);
	free(kp);
	return r;
}

void fl_forensics_summary(const fl_group *g, int n, int max_groups, char *out,
			  size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	int shown = n < max_groups ? n : max_groups;
	/* ", opened at" inside a group: groups are then set apart by ";". */
	int origins = 0;
	for (int i = 0; i < shown; i++)
		origins |= g[i].opened_at[0] != '\0';
	const char *sep = origins ? "; " : ", ";
	for (int i = 0; i < shown && len < outlen; i++) {
		len += (size_t)snprintf(out + len, outlen - len, "%s%s%s%d x %s",
					i ? sep : "", g[i].proc,
					g[i].proc[0] ? ": " : "", g[i].count,
					g[i].pattern);
		if (g[i].opened_at[0] && len < outlen)
			len += (size_t)snprintf(out + len, outlen - len,
						", opened at %s", g[i].opened_at);
	}
	if (n > shown && len < outlen) {
		int rest = 0;
		for (int i = shown; i < n; i++)
			rest += g[i].count;
		snprintf(out + len, outlen - len, "%s%d more", sep, rest);
	}
}

int fl_forensics_group_procs(const fl_proc_entry *v, int n, fl_group **out)
{
	fl_group *g = fl_xcalloc((size_t)(n > 0 ? n : 1), sizeof *g);
	int ng = 0;
	for (int i = 0; i < n; i++) {
		int j;
		for (j = 0; j < ng; j++)
			if (strcmp(g[j].pattern, v[i].comm) == 0)
				break;
		if (j == ng) {
			snprintf(g[ng].pattern, sizeof g[ng].pattern, "%s",
				 v[i].comm);
			snprintf(g[ng].example, sizeof g[ng].example,
				 "%s (pid %d)", v[i].comm, (int)v[i].pid);
			ng++;
		}
		g[j].count++;
	}
	if (ng > 1)
		qsort(g, (size_t)ng, sizeof *g, cmp_group);
	*out = g;
	return ng;
}
