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
	while (p < end && field <= 24) {
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
		default:
			break;
		}
		field++;
	}
	if (field <= 24 || out->state == '\0')
		return -EINVAL;
	return 0;
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

int fl_procfs_threads(int procfd, fl_thread_entry **out)
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
		char path[96], buf[512];
		snprintf(path, sizeof path, "%s/comm", de->d_name);
		if (read_small(tfd, path, e->name, sizeof e->name) < 0)
			continue; /* the thread ended meanwhile */
		snprintf(path, sizeof path, "%s/stat", de->d_name);
		ssize_t sl = read_small(tfd, path, buf, sizeof buf);
		fl_proc_stat st;
		if (sl > 0 && fl_procfs_parse_stat(buf, (size_t)sl, &st) == 0)
			e->state = st.state;
		snprintf(path, sizeof path, "%s/wchan", de->d_name);
		if (read_small(tfd, path, e->wchan, sizeof e->wchan) < 0)
			snprintf(e->wchan, sizeof e->wchan, "?");
		snprintf(path, sizeof path, "%s/syscall", de->d_name);
		if (read_small(tfd, path, buf, sizeof buf) >= 0)
			fl_procfs_describe_syscall(buf, e->syscall,
						   sizeof e->syscall);
		else
			snprintf(e->syscall, sizeof e->syscall, "?");
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_tid);
	*out = v;
	return (int)n;
}
