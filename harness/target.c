#define _GNU_SOURCE
#include "target.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static const struct {
	const char *name;
	int sig;
} signal_table[] = {
	{"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},
	{"SIGILL", SIGILL},   {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT},
	{"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},   {"SIGKILL", SIGKILL},
	{"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
	{"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM},
	{"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT}, {"SIGSTOP", SIGSTOP},
	{"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},
	{"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ}, {"SIGSYS", SIGSYS},
};

const char *fl_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof signal_table / sizeof signal_table[0];
	     i++)
		if (signal_table[i].sig == sig)
			return signal_table[i].name;
	return "SIG?";
}

int fl_signal_from_name(const char *name)
{
	char full[32];
	if (strncmp(name, "SIG", 3) != 0)
		snprintf(full, sizeof full, "SIG%s", name);
	else
		snprintf(full, sizeof full, "%s", name);
	for (size_t i = 0; i < sizeof signal_table / sizeof signal_table[0];
	     i++)
		if (strcmp(signal_table[i].name, full) == 0)
			return signal_table[i].sig;
	char *end;
	long n = strtol(name, &end, 10);
	if (*name && *end == '\0' && n > 0 && n < 65)
		return (int)n;
	return -1;
}

char *fl_target_resolve(const char *argv0)
{
	if (strchr(argv0, '/')) {
		if (access(argv0, X_OK) < 0)
			return NULL;
		return fl_xstrdup(argv0);
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int saved = ENOENT;
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		char cand[PATH_MAX];
		if (len == 0)
			snprintf(cand, sizeof cand, "./%s", argv0);
		else
			snprintf(cand, sizeof cand, "%.*s/%s", (int)len, path,
				 argv0);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0)
				return fl_xstrdup(cand);
			saved = EACCES;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	errno = saved;
	return NULL;
}

/* Writes "FL_TARGET=<pid>" into mark (async-signal-safe: no stdio). */
static void write_marker(char *mark, size_t len, pid_t pid)
{
	static const char name[] = FL_TARGET_MARKER "=";
	size_t k = 0;
	for (; name[k] && k + 1 < len; k++)
		mark[k] = name[k];
	char digits[16];
	int nd = 0;
	unsigned long v = (unsigned long)pid;
	do
		digits[nd++] = (char)('0' + v % 10);
	while ((v /= 10) && nd < (int)sizeof digits);
	while (nd > 0 && k + 1 < len)
		mark[k++] = digits[--nd];
	mark[k] = '\0';
}

/* Runs in the child between vfork and exec, in the harness's memory: only
 * async-signal-safe calls, nothing written but its own locals, errno and
 * mark.
 * Any failure is written to errpipe as an errno and a step number. */
static void child_exec(const fl_spawn_spec *spec, char *const *envp,
		       char *mark, size_t marklen, const char *path,
		       int out_w, int err_w, int errpipe, pid_t parent)
{
	int step = 0, err = 0;
	sigset_t none;

	/* Our own process group, so the whole target tree can be signalled
	 * and the terminal's Ctrl-C reaches the harness only. */
	step = 1;
	if (setpgid(0, 0) < 0)
		goto fail;
	/* If the harness dies before it can stop us, so do we. The guardian
	 * process covers the rest of the group. */
	step = 2;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	if (getppid() != parent)
		_exit(127);

	/* The harness blocks some signals and ignores SIGPIPE, and whatever
	 * started faultline may have left signals ignored (an exec keeps
	 * that), real-time ones included; a target starts with the defaults.
	 * The dispositions first: no handler of the harness (a sanitizer's)
	 * may run here, in its memory. Through the system call, since libc
	 * refuses the real-time signals it keeps for itself (32 and 33). */
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		struct {
			void (*handler)(int);
			unsigned long flags;
			void (*restorer)(void);
			unsigned long mask;
		} dfl = {SIG_DFL, 0, NULL, 0};
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	step = 3;
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0)
		goto fail;
	if (devnull != 0)
		close(devnull);
	if (dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		goto fail;
	/* Nothing faultline inherited itself reaches the target (a make
	 * jobserver's pipes, a CI runner's descriptors): its fd table starts
	 * as its own, plus faultline's region. */
	step = 8;
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	for (int i = 0; i < spec->ninherit; i++) {
		step = 4;
		int fd = spec->inherit_fds[i];
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
			goto fail;
	}
	if (spec->cwd) {
		step = 5;
		if (chdir(spec->cwd) < 0)
			goto fail;
	}
	step = 6;
	for (int i = 0; i < spec->nrlimits; i++) {
		struct rlimit rl = {spec->rlimits[i].soft,
				    spec->rlimits[i].hard};
		if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
			goto fail;
	}
	/* Every process of the target carries its root's pid in its
	 * environment: an orphan that comes to faultline is placed by it
	 * (tree.c). */
	write_marker(mark, marklen, getpid());
	step = 7;
	execve(path, spec->argv, envp);
fail:
	err = errno;
	{
		int msg[2] = {err, step};
		ssize_t w = write(errpipe, msg, sizeof msg);
		(void)w;
	}
	_exit(127);
}

struct child_args {
	const fl_spawn_spec *spec;
	char *const *envp;
	char *mark;
	size_t marklen;
	const char *path;
	int out_w, err_w, errpipe;
	pid_t parent;
};

/* The child, with vfork: it borrows the harness's memory until its exec
 * (no page tables are copied: a fork of the harness cost 0.2 ms here),
 * and this thread waits for that exec; the harness's other threads run
 * on. The child touches only its own stack frames, errno and the marker
 * (child_exec). Returns the pid, or -1 with errno. */
static __attribute__((noinline)) pid_t start_child(const struct child_args *a)
{
	pid_t pid = vfork();
	if (pid == 0)
		child_exec(a->spec, a->envp, a->mark, a->marklen, a->path,
			   a->out_w, a->err_w, a->errpipe, a->parent);
	return pid;
}

static const char *step_name(int step)
{
	switch (step) {
	case 8:
		return "close_range";
	case 1:
		return "setpgid";
	case 2:
		return "prctl(PR_SET_PDEATHSIG)";
	case 3:
		return "redirecting stdio";
	case 4:
		return "passing the agent socket";
	case 5:
		return "chdir to the target's cwd";
	case 6:
		return "setrlimit";
	case 7:
		return "exec";
	}
	return "starting";
}

/* The program a spawn runs, resolved as execvp would and made absolute.
 * A relative path with a '/' is relative to the target's working
 * directory, as it would be for a shell that cd'd there first; it is
 * made absolute here so the check and the exec agree. malloc'd, or NULL
 * with errno set. */
static char *spawn_path(const fl_spawn_spec *spec)
{
	char *path;
	const char *argv0 = spec->argv[0];
	if (strchr(argv0, '/') && argv0[0] != '/' && spec->cwd) {
		char joined[PATH_MAX];
		snprintf(joined, sizeof joined, "%s/%s", spec->cwd, argv0);
		path = fl_target_resolve(joined);
	} else {
		path = fl_target_resolve(argv0);
	}
	if (path && path[0] != '/') {
		char abs[PATH_MAX];
		if (realpath(path, abs)) {
			free(path);
			path = fl_xstrdup(abs);
		}
	}
	return path;
}

/* The pipes of a spawn: the child's stdout and stderr, and the
 * close-on-exec pipe an exec failure comes back through (-1: not open). */
struct spawn_pipes {
	int out[2], err[2], exec[2];
};

static void close_pipes(struct spawn_pipes *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->out[i] >= 0)
			close(p->out[i]);
		if (p->err[i] >= 0)
			close(p->err[i]);
		if (p->exec[i] >= 0)
			close(p->exec[i]);
	}
}

/* 0, or -errno with err and none of them left open. */
static int open_pipes(struct spawn_pipes *p, char *err, size_t errlen)
{
	for (int i = 0; i < 2; i++)
		p->out[i] = p->err[i] = p->exec[i] = -1;
	if (pipe2(p->out, O_CLOEXEC) < 0 || pipe2(p->err, O_CLOEXEC) < 0 ||
	    pipe2(p->exec, O_CLOEXEC) < 0) {
		int e = errno;
		snprintf(err, errlen, "pipe: %s", strerror(e));
		close_pipes(p);
		return -e;
	}
	return 0;
}

/* The environment with room for the marker, written in the child (it
 * knows its pid), without a marker the harness may carry. mark is the
 * last entry; the array is malloc'd, its strings are spec's. */
static char **child_env(const fl_spawn_spec *spec, char *mark)
{
	size_t nenv = 0;
	while (spec->envp[nenv])
		nenv++;
	char **envp = fl_xcalloc(nenv + 2, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(spec->envp[i], FL_TARGET_MARKER "=",
			    sizeof FL_TARGET_MARKER) != 0)
			envp[k++] = spec->envp[i];
	envp[k++] = mark;
	envp[k] = NULL;
	return envp;
}

/* The harness's side once the child is forked: its group, the child's
 * ends of the pipes closed, the child watched (pidfd, /proc/PID), then
 * whether its exec went through. 0, or -errno with err and the child
 * reaped. */
static int parent_side(const fl_spawn_spec *spec, struct spawn_pipes *p,
		       pid_t pid, int64_t start, fl_child *child, char *err,
		       size_t errlen)
{
	/* Set the group from this side too, so it is in place whichever of
	 * the two runs first. EACCES: the child already exec'd, fine. */
	setpgid(pid, pid);
	close(p->out[1]);
	close(p->err[1]);
	close(p->exec[1]);

	child->pid = pid;
	child->start_ns = start;
	child->out_fd = p->out[0];
	child->err_fd = p->err[0];
	/* The pid cannot be reused before we reap it, so these refer to our
	 * child whatever happens next. */
	child->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	char procpath[64];
	snprintf(procpath, sizeof procpath, "/proc/%d", (int)pid);
	child->procfd = open(procpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	int msg[2];
	ssize_t n;
	do
		n = read(p->exec[0], msg, sizeof msg);
	while (n < 0 && errno == EINTR);
	close(p->exec[0]);
	if (n == (ssize_t)sizeof msg) {
		snprintf(err, errlen, "cannot start '%s': %s: %s",
			 spec->argv[0], step_name(msg[1]), strerror(msg[0]));
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		fl_child_close(child);
		child->pid = -1;
		return -msg[0];
	}
	if (child->pidfd < 0 || child->procfd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot watch pid %d: %s", (int)pid,
			 strerror(e));
		kill(-pid, SIGKILL);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		fl_child_close(child);
		child->pid = -1;
		return -e;
	}
	return 0;
}

int fl_target_spawn(const fl_spawn_spec *spec, fl_child *child, char *err,
		    size_t errlen)
{
	memset(child, 0, sizeof *child);
	child->pid = -1;
	child->pidfd = child->procfd = child->out_fd = child->err_fd = -1;

	char *path = spawn_path(spec);
	if (!path) {
		int e = errno;
		snprintf(err, errlen, "cannot run '%s': %s", spec->argv[0],
			 strerror(e));
		return -e;
	}
	struct spawn_pipes p;
	int r = open_pipes(&p, err, errlen);
	if (r < 0) {
		free(path);
		return r;
	}
	char mark[48] = FL_TARGET_MARKER "=";
	char **envp = child_env(spec, mark);
	pid_t parent = getpid();
	int64_t start = fl_now_ns();
	struct child_args a = {spec, envp, mark, sizeof mark, path, p.out[1],
			       p.err[1], p.exec[1], parent};
	pid_t pid = start_child(&a);
	if (pid < 0) {
		int e = errno;
		snprintf(err, errlen, "fork: %s", strerror(e));
		close_pipes(&p);
		free(path);
		free(envp);
		return -e;
	}
	free(envp);
	free(path);
	if (spec->after_fork)
		spec->after_fork(spec->after_fork_arg);
	return parent_side(spec, &p, pid, start, child, err, errlen);
}

int fl_target_kill_group(const fl_child *child, int sig)
{
	if (child->pid <= 0)
		return -ESRCH;
	return kill(-child->pid, sig) < 0 ? -errno : 0;
}

int fl_target_signal(const fl_child *child, int sig)
{
	if (child->pidfd < 0)
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, child->pidfd, sig, NULL, 0) < 0)
		return -errno;
	return 0;
}

int fl_target_group_alive(const fl_child *child)
{
	if (child->pid <= 0)
		return 0;
	return kill(-child->pid, 0) == 0 || errno == EPERM;
}

void fl_child_close(fl_child *child)
{
	if (child->pidfd >= 0)
		close(child->pidfd);
	if (child->procfd >= 0)
		close(child->procfd);
	if (child->out_fd >= 0)
		close(child->out_fd);
	if (child->err_fd >= 0)
		close(child->err_fd);
	child->pidfd = child->procfd = child->out_fd = child->err_fd = -1;
}
