/* Starting and stopping a target process: its own process group, captured
 * output, resource limits, and the harness's agent socket inherited. */
#ifndef FL_TARGET_H
#define FL_TARGET_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define FL_TARGET_MAX_RLIMITS 8
/* The variable every target starts with: FL_TARGET=<its pid>, inherited
 * by its descendants, so faultline knows an orphan's target (tree.h). */
#define FL_TARGET_MARKER "FL_TARGET"

/* A target's output streams, as bits (a line may be awaited on either). */
enum { FL_STDOUT = 1, FL_STDERR = 2 };

typedef struct fl_rlimit_spec {
	int resource;		/* RLIMIT_NOFILE, RLIMIT_AS, ... */
	rlim_t soft, hard;
} fl_rlimit_spec;

typedef struct fl_spawn_spec {
	char *const *argv;	/* argv[0] is looked up in PATH if it has no '/' */
	char *const *envp;	/* the complete environment */
	const char *cwd;	/* NULL: the harness's */
	int inherit_fds[4];	/* fds the child keeps open */
	int ninherit;
	fl_rlimit_spec rlimits[FL_TARGET_MAX_RLIMITS];
	int nrlimits;
	/* Run in the harness as soon as the child's exec went through (the
	 * vfork returns then), while the child's dynamic loader loads its
	 * libraries on the other core, and before the exec's outcome is
	 * read (NULL: nothing). */
	void (*after_fork)(void *arg);
	void *after_fork_arg;
} fl_spawn_spec;

typedef struct fl_child {
	pid_t pid;		/* also the process group id */
	int pidfd;		/* for exit notification and race-free signals */
	int procfd;		/* /proc/PID, opened while the pid is ours */
	int out_fd, err_fd;	/* read ends of the child's stdout and stderr */
	int64_t start_ns;	/* monotonic time of the fork */
} fl_child;

/* Starts a target. An exec failure (no such file, not executable) is
 * reported through a close-on-exec pipe and returned as -errno with a
 * sentence in err. 0 on success. */
int fl_target_spawn(const fl_spawn_spec *spec, fl_child *child, char *err,
		    size_t errlen);

/* Sends sig to the target's whole process group. 0 or -errno. */
int fl_target_kill_group(const fl_child *child, int sig);
/* Sends sig to the target process only (through its pidfd). */
int fl_target_signal(const fl_child *child, int sig);
/* Does any process of the target's group still exist? */
int fl_target_group_alive(const fl_child *child);

/* Decodes a wait status into words: "exit 0", "signal 9 (SIGKILL)". */
const char *fl_signal_name(int sig);
int fl_signal_from_name(const char *name);

/* Resolves argv0 through PATH like execvp would. Returns a malloc'd path or
 * NULL with errno set. */
char *fl_target_resolve(const char *argv0);

void fl_child_close(fl_child *child);

#endif
