#define _GNU_SOURCE
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* build/syscalls.inc is generated from the C library's <sys/syscall.h>:
 * one FL_SYSCALL(name, number) line per system call of this architecture,
 * so thread forensics can name the call a thread is blocked in. */

int fl_procfs_parse_stat(const char *text, size_t len, fl_proc_stat *out)
{
	memset(out, 0, sizeof *out);
	const char *end = text + len;
	const char *open = memchr(text, '(', len);
	if (!open)
		return -EINVAL;
	/* The name is whatever lies between the first '(' and the last ')'. */
	const char *close = NULL;
	for (const char *p = end; p > open;) {
		p--;
		if (*p == ')') {
			close = p;
			break;
		}
	}
	if (!close)
		return -EINVAL;

	char num[32];
	size_t nlen = (size_t)(open - text);
	while (nlen > 0 && text[nlen - 1] == ' ')
		nlen--;
	if (nlen == 0 || nlen >= sizeof num)
		return -EINVAL;
	memcpy(num, text, nlen);
	num[nlen] = '\0';
	char *nend;
	long pid = strtol(num, &nend, 10);
	if (*nend != '\0' || pid <= 0)
		return -EINVAL;
	out->pid = (pid_t)pid;

	size_t clen = (size_t)(close - open - 1);
	if (clen >= sizeof out->comm)
		clen = sizeof out->comm - 1;
	memcpy(out->comm, open + 1, clen);
	out->comm[clen] = '\0';

	/* Fields after the name, numbered as in proc(5): 3 is the state. */
	const char *p = close + 1;
	int field = 3;
	out->exit_code = -1;
	while (p < end && field <= 52) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end || *p == '\n')
			break;
		const char *tok = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		size_t tlen = (size_t)(p - tok);
		char tmp[32];
		if (tlen >= sizeof tmp)
			tlen = sizeof tmp - 1;
		memcpy(tmp, tok, tlen);
		tmp[tlen] = '\0';
		switch (field) {
		case 3:
			out->state = tmp[0];
			break;
		case 4:
			out->ppid = (pid_t)strtol(tmp, NULL, 10);
			break;
		case 5:
			out->pgrp = (pid_t)strtol(tmp, NULL, 10);
			break;
		case 6:
			out->session = (pid_t)strtol(tmp, NULL, 10);
			break;
		case 14:
			out->utime = strtoull(tmp, NULL, 10);
			break;
		case 15:
			out->stime = strtoull(tmp, NULL, 10);
			break;
		case 20:
			out->num_threads = strtol(tmp, NULL, 10);
			break;
		case 22:
			out->starttime = strtoull(tmp, NULL, 10);
			break;
		case 23:
			out->vsize = strtoull(tmp, NULL, 10);
			break;
		case 24:
			out->rss_pages = strtol(tmp, NULL, 10);
			break;
		case 52:
			out->exit_code = (int)strtol(tmp, NULL, 10);
			break;
		default:
			break;
		}
		field++;
	}
	if (field <= 24 || out->state == '\0')
		return -EINVAL;
	return 0;
}

int fl_procfs_parse_statm(const char *text, size_t len, long *size_pages,
			  long *resident_pages)
{
	char buf[128];
	if (len >= sizeof buf)
		len = sizeof buf - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *end;
	long size = strtol(buf, &end, 10);
	if (end == buf || *end != ' ')
		return -EINVAL;
	char *p = end;
	long rss = strtol(p, &end, 10);
	if (end == p || size < 0 || rss < 0)
		return -EINVAL;
	*size_pages = size;
	*resident_pages = rss;
	return 0;
}

long fl_procfs_parse_last_pid(const char *text, size_t len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	size_t start = len;
	while (start > 0 && text[start - 1] != ' ')
		start--;
	if (start == len || start == 0 || len - start > 12)
		return -EINVAL;
	long pid = 0;
	for (size_t i = start; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		pid = pid * 10 + (text[i] - '0');
	}
	return pid;
}

int fl_procfs_parse_pids(const char *text, pid_t **v, size_t *n,
			 size_t *cap)
{
	int added = 0;
	const char *p = text;
	for (;;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (*p < '0' || *p > '9')
			break;
		long pid = 0;
		while (*p >= '0' && *p <= '9')
			pid = pid * 10 + (*p++ - '0');
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			pid_t *nv = realloc(*v, *cap * sizeof **v);
			if (!nv)
				break;
			*v = nv;
		}
		(*v)[(*n)++] = (pid_t)pid;
		added++;
	}
	return added;
}

int fl_procfs_children(int procfd, pid_t **out)
{
	*out = NULL;
	int tfd = openat(procfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return -errno;
	DIR *d = fdopendir(tfd);
	if (!d) {
		int err = -errno;
		close(tfd);
		return err;
	}
	size_t n = 0, cap = 0;
	pid_t *v = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[96];
		snprintf(path, sizeof path, "%s/children", de->d_name);
		int fd = openat(tfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* the thread ended meanwhile */
		char buf[8192];
		size_t have = 0;
		for (;;) {
			ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
			if (r <= 0)
				break;
			have += (size_t)r;
			buf[have] = '\0';
			/* Parse whole numbers only; keep a partial one. */
			size_t keep = have;
			while (keep > 0 && buf[keep - 1] >= '0' &&
			       buf[keep - 1] <= '9')
				keep--;
			char tail[16];
			size_t tl = have - keep;
			if (tl >= sizeof tail)
				tl = 0;
			memcpy(tail, buf + keep, tl);
			buf[keep] = '\0';
			fl_procfs_parse_pids(buf, &v, &n, &cap);
			memcpy(buf, tail, tl);
			have = tl;
		}
		buf[have] = '\0';
		fl_procfs_parse_pids(buf, &v, &n, &cap);
		close(fd);
	}
	closedir(d);
	*out = v;
	return (int)n;
}

int fl_procfs_environ_value(int procfd, const char *name, char *out,
			    size_t outlen)
{
	int fd = openat(procfd, "environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t nlen = strlen(name);
	/* Entries are NUL-terminated; one may straddle two reads, so the
	 * unfinished one is carried over (entries longer than the buffer
	 * are skipped: the variables looked for are short). */
	char buf[8192];
	size_t have = 0, total = 0;
	int found = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r < 0 && errno == EINTR)
			continue;
		int last = r <= 0;
		if (r > 0) {
			have += (size_t)r;
			total += (size_t)r;
		}
		size_t start = 0;
		for (size_t i = 0; i <= have && !found; i++) {
			if (i < have && buf[i] != '\0')
				continue;
			if (i == have && !last)
				break; /* unfinished: carried over */
			size_t len = i - start;
			if (len > nlen && buf[start + nlen] == '=' &&
			    memcmp(buf + start, name, nlen) == 0) {
				size_t vlen = len - nlen - 1;
				if (vlen >= outlen)
					vlen = outlen - 1;
				memcpy(out, buf + start + nlen + 1, vlen);
				out[vlen] = '\0';
				found = 1;
			}
			start = i + 1;
		}
		if (found || last)
			break;
		if (start == 0 && have == sizeof buf) {
			have = 0; /* an entry longer than the buffer */
		} else {
			memmove(buf, buf + start, have - start);
			have -= start;
		}
	}
	close(fd);
	return found ? 1 : total == 0 ? -EAGAIN : 0;
}

int fl_procfs_status_field(const char *text, const char *key, long long *out)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *v = line + klen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			char *end;
			long long n = strtoll(v, &end, 10);
			if (end == v)
				return -EINVAL;
			while (*end == ' ')
				end++;
			if (strncmp(end, "kB", 2) == 0)
				n *= 1024;
			*out = n;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int fl_procfs_count_dir(int dirfd)
{
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return -errno;
	char buf[32768] __attribute__((aligned(8)));
	int count = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			const char *nm = d->d_name;
			if (!(nm[0] == '.' &&
			      (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))))
				count++;
			off += d->d_reclen;
		}
	}
	return count;
}

static int cmp_fd(const void *a, const void *b)
{
	const fl_fd_entry *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

int fl_procfs_fd_table(int procfd, fl_fd_entry **out)
{
	*out = NULL;
	int dfd = openat(procfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int err = -errno;
		close(dfd);
		return err;
	}
	size_t n = 0, cap = 0;
	fl_fd_entry *v = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			fl_fd_entry *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		fl_fd_entry *e = &v[n];
		memset(e, 0, sizeof *e);
		e->fd = atoi(de->d_name);
		e->pid = 0;
		ssize_t len = readlinkat(dfd, de->d_name, e->target,
					 sizeof e->target - 1);
		if (len < 0) {
			/* Closed between readdir and readlink: not an entry. */
			if (errno == ENOENT)
				continue;
			len = 0;
		}
		e->target[len] = '\0';
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_fd);
	*out = v;
	return (int)n;
}

static int cmp_tid(const void *a, const void *b)
{
	const fl_thread_entry *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Reads a small file relative to dirfd into buf (NUL-terminated, trailing
 * newline removed). Returns the length or -errno. */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

const char *fl_procfs_syscall_name(long nr)
{
	switch (nr) {
#define FL_SYSCALL(name, num) \
	case num:             \
		return #name;
#include "syscalls.inc"
#undef FL_SYSCALL
	default:
		return NULL;
	}
}

void fl_procfs_describe_syscall(const char *text, char *out, size_t outlen)
{
	while (*text == ' ')
		text++;
	if (strncmp(text, "running", 7) == 0) {
		snprintf(out, outlen, "running");
		return;
	}
	char *end;
	long nr = strtol(text, &end, 10);
	if (end == text) {
		snprintf(out, outlen, "%s", *text ? text : "?");
		return;
	}
	if (nr < 0) {
		snprintf(out, outlen, "in user space");
		return;
	}
	const char *name = fl_procfs_syscall_name(nr);
	if (name)
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "syscall %ld", nr);
}

/* Reads a thread's name, state, wchan and syscall from its task/TID
 * directory (relative to dirfd). Returns -1 when it ended. */
static int thread_detail_at(int dirfd, const char *tid, fl_thread_entry *e)
{
	char path[96], buf[512];
	snprintf(path, sizeof path, "%s/comm", tid);
	if (read_small(dirfd, path, e->name, sizeof e->name) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/stat", tid);
	ssize_t sl = read_small(dirfd, path, buf, sizeof buf);
	fl_proc_stat st;
	if (sl > 0 && fl_procfs_parse_stat(buf, (size_t)sl, &st) == 0)
		e->state = st.state;
	snprintf(path, sizeof path, "%s/wchan", tid);
	if (read_small(dirfd, path, e->wchan, sizeof e->wchan) < 0)
		snprintf(e->wchan, sizeof e->wchan, "?");
	snprintf(path, sizeof path, "%s/syscall", tid);
	if (read_small(dirfd, path, buf, sizeof buf) >= 0)
		fl_procfs_describe_syscall(buf, e->syscall, sizeof e->syscall);
	else
		snprintf(e->syscall, sizeof e->syscall, "?");
	return 0;
}

static int list_threads(int procfd, int detail, fl_thread_entry **out)
{
	*out = NULL;
	int tfd = openat(procfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return -errno;
	DIR *d = fdopendir(tfd);
	if (!d) {
		int err = -errno;
		close(tfd);
		return err;
	}
	size_t n = 0, cap = 0;
	fl_thread_entry *v = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			fl_thread_entry *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		fl_thread_entry *e = &v[n];
		memset(e, 0, sizeof *e);
		e->tid = (pid_t)atoi(de->d_name);
		if (detail && thread_detail_at(tfd, de->d_name, e) < 0)
			continue; /* the thread ended meanwhile */
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_tid);
	*out = v;
	return (int)n;
}

int fl_procfs_threads(int procfd, fl_thread_entry **out)
{
	return list_threads(procfd, 1, out);
}

int fl_procfs_thread_ids(int procfd, fl_thread_entry **out)
{
	return list_threads(procfd, 0, out);
}

void fl_procfs_thread_detail(fl_thread_entry *e)
{
	char dir[64], tid[16];
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)(e->pid ? e->pid : e->tid));
	snprintf(tid, sizeof tid, "%d", (int)e->tid);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || thread_detail_at(dfd, tid, e) < 0) {
		if (!e->name[0])
			snprintf(e->name, sizeof e->name, "?");
		if (!e->state)
			e->state = '?';
		snprintf(e->wchan, sizeof e->wchan, "?");
		snprintf(e->syscall, sizeof e->syscall, "?");
	}
	if (dfd >= 0)
		close(dfd);
}
