/* Reading a process's state from /proc: the fast per-sample figures and the
 * slower forensic snapshots (fd table, threads). Parsing is split from I/O
 * so the parsers can be tested on canned text. */
#ifndef FL_PROCFS_H
#define FL_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/PID/stat the harness uses. */
typedef struct fl_proc_stat {
	pid_t pid;
	char comm[64];		/* between the first '(' and the last ')' */
	char state;		/* R, S, D, Z, T, t, X, I */
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
	unsigned long long utime;	/* clock ticks */
	unsigned long long stime;
	long num_threads;
	unsigned long long starttime;	/* clock ticks after boot */
	unsigned long long vsize;	/* bytes */
	long rss_pages;
	/* Field 52 (Linux 3.5 on): the status a wait would return, set once
	 * the process exited (a zombie's says how it ended); -1 when the
	 * line has no such field. */
	int exit_code;
} fl_proc_stat;

/* Parses the text of /proc/PID/stat (or /proc/PID/task/TID/stat). The
 * command name may contain spaces and parentheses: it ends at the last ')'.
 * Returns 0, or -EINVAL on text that is not a stat line. */
int fl_procfs_parse_stat(const char *text, size_t len, fl_proc_stat *out);

/* Parses /proc/PID/statm: its first two fields, the program's size and
 * its resident set, in pages. A process whose memory is gone (a zombie,
 * or one past exit_mm) reads 0 for both. 0 or -EINVAL. */
int fl_procfs_parse_statm(const char *text, size_t len, long *size_pages,
			  long *resident_pages);

/* The pid the kernel handed out last in this pid namespace: the last
 * field of /proc/loadavg ("0.00 0.01 0.05 1/123 4567"). Threads take
 * pids too. Returns it, or -EINVAL. */
long fl_procfs_parse_last_pid(const char *text, size_t len);

/* Appends the pids of a "1 2 3" list (a task's children file) to *v
 * (growing it). Returns how many were appended. */
int fl_procfs_parse_pids(const char *text, pid_t **v, size_t *n,
			 size_t *cap);

/* The children of every thread of the process whose /proc/PID directory
 * is procfd (task/TID/children). *out malloc'd. Count or -errno. This
 * costs one read per thread: the tree's full walk, not a sample. */
int fl_procfs_children(int procfd, pid_t **out);

/* The value of NAME in the environment the process was started with
 * (environ), copied into out: 1 found, 0 not there, or -errno; -EAGAIN
 * when the environment reads empty, as it does while the process is
 * inside an exec (or when it was started with none). */
int fl_procfs_environ_value(int procfd, const char *name, char *out,
			    size_t outlen);

/* Parses one "Key:   value kB" field of /proc/PID/status or smaps_rollup into
 * *out (bytes for kB fields, the bare number otherwise). 0 or -ENOENT. */
int fl_procfs_status_field(const char *text, const char *key, long long *out);

/* Counts the entries of an open directory (without "." and "..") with
 * getdents64. The directory fd's offset is rewound first. */
int fl_procfs_count_dir(int dirfd);

/* One entry of a process's fd table. */
typedef struct fl_fd_entry {
	int fd;
	char target[256];	/* readlink of /proc/PID/fd/N */
	pid_t pid;		/* the process it belongs to (0: unsaid) */
	/* Where it was opened, when the agent kept fd origins (sites.c):
	 * the site's key (0: unknown) and "fileproc.c:123 (process_batch)". */
	uint64_t origin;
	char opened_at[160];
} fl_fd_entry;

/* One thread of a process. */
typedef struct fl_thread_entry {
	pid_t tid;
	pid_t pid;		/* its process (0: unsaid) */
	char name[32];		/* comm */
	char state;
	char wchan[64];		/* kernel function it sleeps in, or "0" */
	char syscall[64];	/* syscall name (or number) it is blocked in */
} fl_thread_entry;

/* One process of a target's tree, as a snapshot saw it. */
typedef struct fl_proc_entry {
	pid_t pid, ppid;
	unsigned long long starttime;	/* with pid, its identity */
	char comm[32];
	char state;		/* 'Z' for a zombie */
	int is_root;
	int left_group, left_session;
	int nfds, nthreads;	/* its entries in the snapshot (or its last
				 * sample's counts, fl_measure_processes) */
	int64_t rss;		/* its last sample's RSS */
} fl_proc_entry;

/* Reads the fd table of the process whose /proc/PID directory is procfd.
 * *out is malloc'd and sorted by fd. Returns the count, or -errno. */
int fl_procfs_fd_table(int procfd, fl_fd_entry **out);

/* Reads the thread list. *out malloc'd, sorted by tid. Count or -errno. */
int fl_procfs_threads(int procfd, fl_thread_entry **out);
/* The thread ids alone (name, state and where it waits left empty): one
 * directory read, for looks that only compare which threads are there.
 * *out malloc'd, sorted by tid. Count or -errno. */
int fl_procfs_thread_ids(int procfd, fl_thread_entry **out);
/* Fills in a thread's name, state, wchan and syscall (e->pid and e->tid
 * say which); "?" for what cannot be read (it ended). */
void fl_procfs_thread_detail(fl_thread_entry *e);

/* Names the syscall with x86-64 number nr ("read", "futex", ...), or NULL. */
const char *fl_procfs_syscall_name(long nr);

/* Parses the first field of /proc/PID/task/TID/syscall into a readable
 * description: "running", "futex", "read", ... Writes into out. */
void fl_procfs_describe_syscall(const char *text, char *out, size_t outlen);

#endif
