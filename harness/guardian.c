#define _GNU_SOURCE
#include "guardian.h"

#include "procfs.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int guardian_fd = -1;
static pid_t guardian_pid;

/* Lines are shorter than PIPE_BUF, so writes from several threads never
 * interleave. */
static void send_line(char kind, char op, const char *arg)
{
	if (guardian_fd < 0)
		return;
	char line[PATH_MAX + 8];
	int n = snprintf(line, sizeof line, "%c%c %s\n", kind, op, arg);
	if (n <= 0 || n >= (int)sizeof line || n >= PIPE_BUF)
		return;
	fl_write_all(guardian_fd, line, (size_t)n);
}

void fl_guardian_watch_group(pid_t pgid)
{
	char num[32];
	snprintf(num, sizeof num, "%d", (int)pgid);
	send_line('G', '+', num);
}

void fl_guardian_forget_group(pid_t pgid)
{
	char num[32];
	snprintf(num, sizeof num, "%d", (int)pgid);
	send_line('G', '-', num);
}

void fl_guardian_watch_pid(pid_t pid, unsigned long long starttime)
{
	char arg[64];
	snprintf(arg, sizeof arg, "%d %llu", (int)pid, starttime);
	send_line('P', '+', arg);
}

void fl_guardian_forget_pid(pid_t pid)
{
	/* Entries are matched by pid alone; the start time follows it. */
	char arg[32];
	snprintf(arg, sizeof arg, "%d", (int)pid);
	send_line('P', '-', arg);
}

pid_t fl_guardian_pid(void)
{
	return guardian_pid;
}

void fl_guardian_watch_dir(const char *path)
{
	send_line('D', '+', path);
}

void fl_guardian_forget_dir(const char *path)
{
	send_line('D', '-', path);
}

void fl_guardian_watch_empty_dir(const char *path)
{
	send_line('E', '+', path);
}

void fl_guardian_forget_empty_dir(const char *path)
{
	send_line('E', '-', path);
}

struct list {
	char **items;
	size_t n, cap;
};

static void list_add(struct list *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = fl_xrealloc(l->items, l->cap * sizeof *l->items);
	}
	l->items[l->n++] = fl_xstrdup(s);
}

/* An entry equals s, or starts with s and a space (a pid and its start
 * time are forgotten by the pid). */
static int same_entry(const char *item, const char *s)
{
	size_t n = strlen(s);
	return strncmp(item, s, n) == 0 && (item[n] == '\0' || item[n] == ' ');
}

static void list_del(struct list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (same_entry(l->items[i], s)) {
			free(l->items[i]);
			l->items[i] = l->items[--l->n];
			return;
		}
	}
}

static void close_other_fds(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (fd > 2 && fd != keep && fd != self)
			close(fd);
	}
	closedir(d);
}

/* A process's start time (from its stat), or 0. */
static unsigned long long start_time(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	fl_proc_stat st;
	if (n <= 0 || fl_procfs_parse_stat(buf, (size_t)n, &st) < 0)
		return 0;
	return st.starttime;
}

static void guardian_main(int rfd)
{
	/* Out of the harness's session: a Ctrl-C, a hangup or a kill of the
	 * harness's process group must not take the guardian with it. */
	setsid();
	prctl(PR_SET_NAME, "fl-guardian");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	close_other_fds(rfd);
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (devnull > 2)
			close(devnull);
	}

	struct list groups = {0}, dirs = {0}, empties = {0}, pids = {0};
	char buf[8192];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(rfd, buf + have, sizeof buf - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (strlen(line) > 3) {
				struct list *l = line[0] == 'G'	  ? &groups
						 : line[0] == 'E' ? &empties
						 : line[0] == 'P' ? &pids
								  : &dirs;
				if (line[1] == '+')
					list_add(l, line + 3);
				else
					list_del(l, line + 3);
			}
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
	}

	/* The harness is gone. Whatever it left registered is ours to end. */
	for (size_t i = 0; i < groups.n; i++) {
		pid_t pg = (pid_t)atoi(groups.items[i]);
		if (pg > 1)
			kill(-pg, SIGKILL);
	}
	for (size_t i = 0; i < pids.n; i++) {
		int pid = 0;
		unsigned long long start = 0;
		if (sscanf(pids.items[i], "%d %llu", &pid, &start) == 2 &&
		    pid > 1 && start_time(pid) == start)
			kill(pid, SIGKILL);
	}
	for (size_t i = 0; i < dirs.n; i++)
		if (dirs.items[i][0] == '/')
			fl_rmtree(dirs.items[i]);
	/* rmdir removes a directory only when it is empty. */
	for (size_t i = 0; i < empties.n; i++)
		if (empties.items[i][0] == '/')
			rmdir(empties.items[i]);
	_exit(0);
}

int fl_guardian_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		close(p[1]);
		guardian_main(p[0]);
	}
	close(p[0]);
	guardian_fd = p[1];
	guardian_pid = pid;
	return 0;
}
