/* A parent that reaps its children itself, at once, for the tests of the
 * agent's record of how a reaped child ended (lib/agent_reap.c):
 *
 *   reaper waits      one child per way of reaping it, each ended its own
 *                     way, and a child that reaps a child of its own:
 *                     "CASE name pid=P" per child, in order (see
 *                     cases[] in tests/unit_reaped.c, which checks each
 *                     record). Exits 0 once every child is reaped.
 *   reaper faulted    a child that exits 4; its first waitpid is expected
 *                     to fail (the test opens a window on
 *                     posix/proc/waitpid): "WAITPID r=R errno=E", then it
 *                     is reaped with wait4 (no point): "CASE faulted pid=P".
 *   reaper serve --go PATH [--how segv|exit0] [--block]
 *                     a master and one worker, "WORKER pid=P". The worker
 *                     waits for PATH to exist, removes it and raises
 *                     SIGSEGV (segv, the default) or exits 0. The master
 *                     reaps it at once, in its SIGCHLD handler (a loop of
 *                     waitpid(-1, WNOHANG), as nginx's master does) or
 *                     with --block in a blocking waitpid, prints
 *                     "REAPED pid=P" and starts a new worker. SIGTERM: the
 *                     master ends its worker, reaps it, prints BYE and
 *                     exits 0.
 *   reaper loop N [--how segv|abort|exit0]
 *                     a master that starts N workers one after another,
 *                     as a master whose workers die at start does: each
 *                     raises SIGSEGV (the default), aborts or exits 0 as
 *                     its first action ("WORKER pid=P" is printed by the
 *                     master, after the worker is reaped), and the master
 *                     reaps it at once in its SIGCHLD handler and starts
 *                     the next. Then "LOOPED n=N", and it runs until
 *                     SIGTERM: BYE, exit 0.
 *
 * Children that die by a signal do so without a core file (RLIMIT_CORE
 * 0), so their status is the same on every machine. Output is
 * line-buffered, and flushed before each fork. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void no_core(void)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
}

/* Forks a child that runs fn(arg); the parent gets its pid. */
static pid_t child(void (*fn)(int), int arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		no_core();
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void exits(int code)
{
	_exit(code);
}

static void raises(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(100);
}

static void aborts(int unused)
{
	(void)unused;
	abort();
}

/* Blocks until a byte comes on fd, then exits with it. */
static void waits_for_byte(int fd)
{
	unsigned char c = 0;
	if (read(fd, &c, 1) != 1)
		_exit(101);
	_exit(c);
}

static void stops_then_exits(int code)
{
	raise(SIGSTOP);
	_exit(code);
}

static void say(const char *name, pid_t pid)
{
	printf("CASE %s pid=%d\n", name, (int)pid);
}

/* A child that reaps a child of its own: the record names it as the
 * reaper, not the process it was forked from. */
static void reaps_own(int unused)
{
	(void)unused;
	say("middle", getpid());
	pid_t g = child(exits, 13);
	int st;
	if (waitpid(g, &st, 0) != g)
		_exit(102);
	say("grandchild-exit13", g);
	fflush(stdout);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* waits                                                                */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t handler_reaped;
static volatile sig_atomic_t handler_pid;

static void on_chld_once(int sig)
{
	(void)sig;
	int saved = errno, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		handler_pid = p;
		handler_reaped = 1;
	}
	errno = saved;
}

static int waits(void)
{
	int st;
	struct rusage ru;
	pid_t p;

	say("main", getpid());

	p = child(exits, 3);
	if (wait(&st) != p)
		return 1;
	say("wait-exit3", p);

	p = child(raises, SIGSEGV);
	if (waitpid(p, &st, 0) != p)
		return 1;
	say("waitpid-segv", p);

	p = child(exits, 5);
	if (waitpid(p, NULL, 0) != p)
		return 1;
	say("waitpid-nostatus-exit5", p);

	p = child(aborts, 0);
	if (wait3(&st, 0, NULL) != p)
		return 1;
	say("wait3-abrt", p);

	p = child(exits, 0);
	if (wait4(p, &st, 0, &ru) != p)
		return 1;
	say("wait4-exit0", p);

	p = child(raises, SIGKILL);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p, &si, WEXITED) != 0 || si.si_pid != p)
		return 1;
	say("waitid-kill", p);

	/* A peek leaves the zombie: only the wait that reaps records. */
	p = child(exits, 7);
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT) != 0 ||
	    si.si_pid != p)
		return 1;
	if (waitpid(p, &st, 0) != p)
		return 1;
	say("waitid-nowait-exit7", p);

	/* WNOHANG before the child has ended: 0, nothing recorded. */
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return 1;
	p = child(waits_for_byte, pipefd[0]);
	if (waitpid(p, &st, WNOHANG) != 0)
		return 1;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG) != 0 ||
	    si.si_pid != 0)
		return 1;
	unsigned char nine = 9;
	if (write(pipefd[1], &nine, 1) != 1 || waitpid(p, &st, 0) != p)
		return 1;
	close(pipefd[0]);
	close(pipefd[1]);
	say("wnohang-exit9", p);

	/* Stopped and continued are no end. */
	p = child(stops_then_exits, 11);
	if (waitpid(p, &st, WUNTRACED) != p || !WIFSTOPPED(st))
		return 1;
	kill(p, SIGCONT);
	/* Continued, or already exited (and then reaped by this call). */
	if (waitpid(p, &st, WCONTINUED) != p)
		return 1;
	if (WIFCONTINUED(st) && waitpid(p, &st, 0) != p)
		return 1;
	say("stopped-exit11", p);

	/* Its child reaps the grandchild; it is reaped here. */
	p = child(reaps_own, 0);
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;

	/* Reaped in a SIGCHLD handler. */
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld_once;
	sigaction(SIGCHLD, &sa, NULL);
	p = child(raises, SIGSEGV);
	while (!handler_reaped)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (handler_pid != p)
		return 1;
	say("handler-segv", p);
	return 0;
}

static int faulted(void)
{
	pid_t p = child(exits, 4);
	int st;
	errno = 0;
	pid_t r = waitpid(p, &st, 0);
	printf("WAITPID r=%d errno=%d\n", (int)r, r < 0 ? errno : 0);
	if (r != p && wait4(p, &st, 0, NULL) != p)
		return 1;
	say("faulted", p);
	return 0;
}

/* ------------------------------------------------------------------ */
/* serve                                                                */
/* ------------------------------------------------------------------ */

static const char *go_path;
static int how_segv = 1;
static volatile sig_atomic_t term;
static volatile sig_atomic_t reaped_pid;

static void worker(int unused)
{
	(void)unused;
	signal(SIGTERM, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	printf("WORKER pid=%d\n", (int)getpid());
	fflush(stdout);
	struct stat sb;
	for (;;) {
		if (stat(go_path, &sb) == 0 && unlink(go_path) == 0)
			break;
		usleep(1000);
	}
	if (how_segv)
		raises(SIGSEGV);
	_exit(0);
}

static volatile sig_atomic_t worker_pid;

/* The worker goes too, so a master blocked in waitpid returns even when
 * SIGTERM came between its look at term and its wait. */
static void on_term(int sig)
{
	(void)sig;
	term = 1;
	if (worker_pid > 0)
		kill(worker_pid, SIGTERM);
}

/* Reaps at once, as a pre-fork server's master does. */
static void on_chld(int sig)
{
	(void)sig;
	int saved = errno, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		reaped_pid = p;
	errno = saved;
}

static int serve(int block)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigset_t mask, old;
	sigemptyset(&mask);
	if (!block) {
		sa.sa_handler = on_chld;
		sigaction(SIGCHLD, &sa, NULL);
		sigaddset(&mask, SIGCHLD);
	}
	sigaddset(&mask, SIGTERM);
	/* Blocked but in sigsuspend or waitpid: none is lost in between. */
	sigprocmask(SIG_BLOCK, &mask, &old);
	pid_t w = child(worker, 0);
	worker_pid = w;
	while (!term) {
		pid_t p = 0;
		if (block) {
			/* SIGTERM interrupts the wait (no SA_RESTART). */
			sigprocmask(SIG_SETMASK, &old, NULL);
			int st;
			p = waitpid(-1, &st, 0);
			sigprocmask(SIG_BLOCK, &mask, NULL);
			if (p < 0 && errno != EINTR)
				return 1;
		} else {
			sigsuspend(&old);
			p = reaped_pid;
			reaped_pid = 0;
		}
		if (p > 0) {
			printf("REAPED pid=%d\n", (int)p);
			if (!term)
				worker_pid = w = child(worker, 0);
		}
	}
	kill(w, SIGTERM);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGCHLD, SIG_DFL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	printf("BYE\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* loop                                                                 */
/* ------------------------------------------------------------------ */

static void crashes_at_once(int how)
{
	if (how == 1)
		raises(SIGSEGV);
	if (how == 2)
		aborts(0);
	_exit(0);
}

static int loop(int n, int how)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	for (int i = 0; i < n && !term; i++) {
		reaped_pid = 0;
		pid_t w = child(crashes_at_once, how);
		/* Reaped in the handler before the next starts. */
		while (reaped_pid != w && !term)
			sigsuspend(&old);
		printf("WORKER pid=%d\n", (int)w);
	}
	printf("LOOPED n=%d\n", n);
	while (!term)
		sigsuspend(&old);
	printf("BYE\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "waits"))
		return waits();
	if (!strcmp(argv[1], "faulted"))
		return faulted();
	if (!strcmp(argv[1], "loop") && argc >= 3) {
		int how = 1;
		if (argc == 5 && !strcmp(argv[3], "--how"))
			how = !strcmp(argv[4], "abort")   ? 2
			      : !strcmp(argv[4], "exit0") ? 0
							  : 1;
		else if (argc != 3)
			return 2;
		return loop(atoi(argv[2]), how);
	}
	if (strcmp(argv[1], "serve"))
		return 2;
	int block = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--go") && i + 1 < argc)
			go_path = argv[++i];
		else if (!strcmp(argv[i], "--how") && i + 1 < argc)
			how_segv = strcmp(argv[++i], "exit0") != 0;
		else if (!strcmp(argv[i], "--block"))
			block = 1;
		else
			return 2;
	}
	if (!go_path)
		return 2;
	return serve(block);
}
