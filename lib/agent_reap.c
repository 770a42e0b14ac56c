/* How a child ended, learnt from its parent's own wait: wrappers of wait,
 * waitpid, wait3, wait4 and waitid that record each child they reap in
 * the shared region's ring of reaped children (lib/agent_proto.h,
 * fl_shm_reaped_put).
 *
 * Why: faultline judges the survival of every process of the tree, and
 * learns how a process ended from its zombie or from its own wait. A
 * master that reaps a crashed worker at once from a SIGCHLD handler
 * (nginx, any pre-fork server) leaves no zombie for a sample to see, so
 * without this the crash would go unseen and the run would pass.
 *
 * Each wrapper calls the next definition of its function: libfiu's
 * wrapper for wait, waitpid and waitid (so their points still decide,
 * and a failure injected there reaps nothing and records nothing), the C
 * library's for wait3 and wait4. Only a call that reaped a child that
 * exited or was killed records: a stopped or continued child, WNOWAIT (a
 * peek: the child stays a zombie, and a later wait reaps it), WNOHANG
 * with no child ready and a failed call record nothing. A caller that
 * passes no status gets the call made with one of the wrapper's own, and
 * sees nothing of it.
 *
 * These run in signal handlers: recording takes no lock, allocates
 * nothing and keeps errno. The next functions are looked up in a
 * constructor (dlsym takes a lock a handler must not), and again lazily
 * only if a wait comes before it. Not started by faultline, the agent
 * records nothing and the wrappers only pass the calls on. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef pid_t (*wait_fn)(int *);
typedef pid_t (*waitpid_fn)(pid_t, int *, int);
typedef pid_t (*wait3_fn)(int *, int, struct rusage *);
typedef pid_t (*wait4_fn)(pid_t, int *, int, struct rusage *);
typedef int (*waitid_fn)(idtype_t, id_t, siginfo_t *, int);

static _Atomic(void *) next_wait, next_waitpid, next_wait3, next_wait4,
	next_waitid;


__attribute__((constructor)) static void reap_init(void)
{
	fl_agent_next(&next_wait, "wait");
	fl_agent_next(&next_waitpid, "waitpid");
	fl_agent_next(&next_wait3, "wait3");
	fl_agent_next(&next_wait4, "wait4");
	fl_agent_next(&next_waitid, "waitid");
}

/* Records that pid ended with status, if it reaped an end. */
static void reaped(pid_t pid, int status)
{
	if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)))
		return;
	const fl_shm_view *v = fl_agent_view();
	if (!v)
		return;
	int saved = errno;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* The agent's own pid: set at start and by its atfork child
	 * handler, so a forked child that reaps its own children names
	 * itself, with no system call per child. */
	fl_shm_reaped_put(v, (int32_t)pid, (int32_t)status,
			  (int32_t)fl_agent_pid(),
			  (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	errno = saved;
}

#define NOT_FOUND(next)                  \
	do {                             \
		if (!(next)) {           \
			errno = ENOSYS;  \
			return -1;       \
		}                        \
	} while (0)

pid_t wait(int *status)
{
	wait_fn next = (wait_fn)fl_agent_next(&next_wait, "wait");
	NOT_FOUND(next);
	int own;
	int *st = status ? status : &own;
	pid_t r = next(st);
	if (r > 0)
		reaped(r, *st);
	return r;
}

/* WNOWAIT is waitid's alone; Linux refuses it from the others, so a
 * call that passed it reaped nothing. */
pid_t waitpid(pid_t pid, int *status, int options)
{
	waitpid_fn next = (waitpid_fn)fl_agent_next(&next_waitpid, "waitpid");
	NOT_FOUND(next);
	int own;
	int *st = status ? status : &own;
	pid_t r = next(pid, st, options);
	if (r > 0 && !(options & WNOWAIT))
		reaped(r, *st);
	return r;
}

pid_t wait3(int *status, int options, struct rusage *ru)
{
	wait3_fn next = (wait3_fn)fl_agent_next(&next_wait3, "wait3");
	NOT_FOUND(next);
	int own;
	int *st = status ? status : &own;
	pid_t r = next(st, options, ru);
	if (r > 0 && !(options & WNOWAIT))
		reaped(r, *st);
	return r;
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	wait4_fn next = (wait4_fn)fl_agent_next(&next_wait4, "wait4");
	NOT_FOUND(next);
	int own;
	int *st = status ? status : &own;
	pid_t r = next(pid, st, options, ru);
	if (r > 0 && !(options & WNOWAIT))
		reaped(r, *st);
	return r;
}

/* waitid says how the child ended in a siginfo; the ring keeps a wait
 * status, built the way the kernel builds one. */
int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	waitid_fn next = (waitid_fn)fl_agent_next(&next_waitid, "waitid");
	NOT_FOUND(next);
	siginfo_t own;
	siginfo_t *si = info ? info : &own;
	if (!info) {
		/* WNOHANG with no child ready leaves it as it was. */
		own.si_pid = 0;
	}
	int r = next(idtype, id, si, options);
	if (r != 0 || si->si_pid <= 0 || (options & WNOWAIT) ||
	    !(options & WEXITED))
		return r;
	int status;
	switch (si->si_code) {
	case CLD_EXITED:
		status = (si->si_status & 0xff) << 8;
		break;
	case CLD_KILLED:
		status = si->si_status & 0x7f;
		break;
	case CLD_DUMPED:
		status = (si->si_status & 0x7f) | 0x80;
		break;
	default:
		return r;	/* stopped, continued, trapped */
	}
	reaped(si->si_pid, status);
	return r;
}
