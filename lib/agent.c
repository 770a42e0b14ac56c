/* faultline's agent: preloaded into a target in front of libfiu's POSIX
 * wrappers (LD_PRELOAD=faultline-agent.so:fiu_posix_preload.so).
 *
 * It does three things:
 *  - takes the harness's commands over an inherited socket and turns them
 *    into libfiu points decided by decide_cb() below, so that a decision
 *    depends only on (seed, point, call number) and never on libc random();
 *  - wraps close() so that an injected failure still releases the fd, as
 *    Linux does (libfiu's own wrapper leaves it open, which would make the
 *    harness create the very leaks it reports);
 *  - removes itself and libfiu from the environment, so programs the target
 *    executes run without faults.
 *
 * With FL_INHERIT=1 the environment and the socket are left to programs
 * the target executes (wrappers like valgrind or sh -c): the agent of the
 * new program image takes the socket over and introduces itself again.
 *
 * The agent's own thread never passes through libfiu's wrappers (it raises
 * their recursion guard) and makes its I/O with raw system calls, so a
 * failing point can never break the control channel.
 */
#define _GNU_SOURCE
#define FIU_ENABLE 1

#include "agent_proto.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { CLOSE_LINUX = 0, CLOSE_LIBFIU = 1 };

struct point {
	char name[112];
	uint64_t name_hash;
	_Atomic int active;
	_Atomic uint64_t threshold;	/* fail when hash < threshold */
	_Atomic int always;		/* p = 1 */
	_Atomic int err;		/* 0: derive from the seed */
	_Atomic uint64_t calls;
	_Atomic uint64_t fired;
	const int *errnos;		/* the function's valid errnos */
	int nerrnos;
};

static struct point points[FL_AGENT_MAX_POINTS];
static _Atomic int npoints;
/* Open-addressed index from name hash to slot + 1; slots are never
 * removed, so readers need no lock. */
#define INDEX_SIZE 512
static _Atomic int point_index[INDEX_SIZE];

static int agent_fd = -1;
static uint64_t agent_seed;
static _Atomic int close_mode = CLOSE_LINUX;
static int (*libc_close)(int);
static __thread int in_agent_thread;
static __thread int in_close_wrapper;

/* 64-bit mixing (the splitmix64 finaliser): good avalanche, no state. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

/* Valid errnos per point, after the functions' manual pages. A failure
 * whose errno the scenario did not choose takes one of these, picked by the
 * same hash that decided the failure. */
static const int errnos_close[] = {EIO, EINTR, ENOSPC};
static const int errnos_open[] = {EACCES, EMFILE, ENFILE, ENOENT,
				  ENOMEM, ENOSPC, EROFS};
static const int errnos_read[] = {EIO, EINTR, EAGAIN};
static const int errnos_write[] = {EIO, ENOSPC, EINTR, EPIPE, EDQUOT};
static const int errnos_connect[] = {ECONNREFUSED, ETIMEDOUT, ENETUNREACH,
				     EHOSTUNREACH, EADDRNOTAVAIL, EINTR};
static const int errnos_accept[] = {EMFILE, ENFILE, ENOBUFS, ENOMEM,
				    ECONNABORTED, EINTR};
static const int errnos_send[] = {ECONNRESET, EPIPE, EINTR, ENOBUFS};
static const int errnos_recv[] = {ECONNRESET, EINTR, ETIMEDOUT};
static const int errnos_mm[] = {ENOMEM};
static const int errnos_default[] = {EIO};

#define SET_ERRNOS(p, arr)                                  \
	do {                                                \
		(p)->errnos = (arr);                        \
		(p)->nerrnos = sizeof(arr) / sizeof(arr)[0]; \
	} while (0)

static void choose_errnos(struct point *p)
{
	const char *n = p->name;
	if (strstr(n, "/oc/close") || strstr(n, "fclose"))
		SET_ERRNOS(p, errnos_close);
	else if (strstr(n, "/oc/open") || strstr(n, "fopen"))
		SET_ERRNOS(p, errnos_open);
	else if (strstr(n, "/net/connect"))
		SET_ERRNOS(p, errnos_connect);
	else if (strstr(n, "/net/accept"))
		SET_ERRNOS(p, errnos_accept);
	else if (strstr(n, "/net/send"))
		SET_ERRNOS(p, errnos_send);
	else if (strstr(n, "/net/recv"))
		SET_ERRNOS(p, errnos_recv);
	else if (strstr(n, "/rw/read") || strstr(n, "/rw/pread"))
		SET_ERRNOS(p, errnos_read);
	else if (strstr(n, "/rw/write") || strstr(n, "/rw/pwrite"))
		SET_ERRNOS(p, errnos_write);
	else if (strncmp(n, "libc/mm/", 8) == 0 || strstr(n, "/mm/"))
		SET_ERRNOS(p, errnos_mm);
	else
		SET_ERRNOS(p, errnos_default);
}

static struct point *find_point(const char *name, uint64_t h)
{
	for (unsigned i = 0; i < INDEX_SIZE; i++) {
		int slot = atomic_load_explicit(
			&point_index[(h + i) % INDEX_SIZE],
			memory_order_acquire);
		if (slot == 0)
			return NULL;
		struct point *p = &points[slot - 1];
		if (p->name_hash == h && strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

/* Only the agent thread adds points. */
static struct point *add_point(const char *name)
{
	uint64_t h = hash_name(name);
	struct point *p = find_point(name, h);
	if (p)
		return p;
	int n = atomic_load(&npoints);
	if (n >= FL_AGENT_MAX_POINTS)
		return NULL;
	p = &points[n];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->name_hash = h;
	choose_errnos(p);
	atomic_store(&npoints, n + 1);
	for (unsigned i = 0; i < INDEX_SIZE; i++) {
		_Atomic int *cell = &point_index[(h + i) % INDEX_SIZE];
		if (atomic_load(cell) == 0) {
			atomic_store_explicit(cell, n + 1,
					      memory_order_release);
			break;
		}
	}
	return p;
}

/* libfiu calls this, with its read lock held, for every call of an enabled
 * point. It must not allocate or block. */
static int decide_cb(const char *name, int *failnum, void **failinfo,
		     unsigned int *flags)
{
	(void)failnum;
	(void)flags;
	if (in_agent_thread)
		return 0;
	struct point *p = find_point(name, hash_name(name));
	if (!p || !atomic_load_explicit(&p->active, memory_order_acquire))
		return 0;
	uint64_t n = atomic_fetch_add(&p->calls, 1) + 1;
	uint64_t h = mix64(agent_seed ^ mix64(p->name_hash ^ mix64(n)));
	if (!atomic_load(&p->always) && h >= atomic_load(&p->threshold))
		return 0;
	int err = atomic_load(&p->err);
	if (err == 0)
		err = p->errnos[mix64(h) % (uint64_t)p->nerrnos];
	*failinfo = (void *)(intptr_t)err;
	atomic_fetch_add(&p->fired, 1);
	return 1;
}

static int (*resolve_libc_close(void))(int)
{
	if (!libc_close) {
		void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			libc_close = (int (*)(int))dlsym(h, "close");
	}
	return libc_close;
}

static int raw_close(int fd)
{
	int (*c)(int) = resolve_libc_close();
	if (c)
		return c(fd);
	return (int)syscall(SYS_close, fd);
}

/* close() in front of libfiu's: decides through libfiu (so the scenario's
 * point "posix/io/oc/close" applies) and, on an injected failure, still
 * releases the fd unless the scenario asked for libfiu's behaviour. */
int close(int fd)
{
	if (in_close_wrapper || in_agent_thread)
		return raw_close(fd);
	if (fd >= 0 && fd == agent_fd) {
		/* A target closing every fd it does not know (a daemon's
		 * closefrom loop) must not cut the harness off. */
		return 0;
	}
	in_close_wrapper++;
	int fail = fiu_fail("posix/io/oc/close");
	if (fail) {
		int err = (int)(intptr_t)fiu_failinfo();
		if (err <= 0)
			err = EIO;
		if (atomic_load(&close_mode) == CLOSE_LINUX)
			raw_close(fd);
		in_close_wrapper--;
		errno = err;
		return -1;
	}
	in_close_wrapper--;
	return raw_close(fd);
}

static void send_msg(const char *msg, size_t len)
{
	while (syscall(SYS_sendto, agent_fd, msg, len, MSG_NOSIGNAL, NULL, 0) <
		       0 &&
	       errno == EINTR)
		;
}

static void reply(const char *msg)
{
	send_msg(msg, strlen(msg));
}

/* Finds key=value in a command; copies the value. */
static int arg(const char *cmd, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	for (const char *p = cmd; (p = strstr(p, key)) != NULL; p++) {
		if ((p == cmd || p[-1] == ' ') && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t n = strcspn(v, " \n");
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

static void cmd_enable(const char *cmd)
{
	char name[112], val[64];
	if (!arg(cmd, "point", name, sizeof name) || !name[0]) {
		reply("err enable needs point=<name>");
		return;
	}
	double prob = 1.0;
	if (arg(cmd, "p", val, sizeof val)) {
		char *end;
		prob = strtod(val, &end);
		if (end == val || prob < 0 || prob > 1) {
			reply("err p must be a number from 0 to 1");
			return;
		}
	}
	int err = 0;
	if (arg(cmd, "errno", val, sizeof val))
		err = atoi(val);
	int failnum = 1;
	if (arg(cmd, "failnum", val, sizeof val) && atoi(val) != 0)
		failnum = atoi(val);
	unsigned flags = 0;
	if (arg(cmd, "onetime", val, sizeof val) && atoi(val))
		flags |= FIU_ONETIME;

	struct point *p = add_point(name);
	if (!p) {
		reply("err too many points");
		return;
	}
	atomic_store(&p->active, 0);
	atomic_store(&p->err, err);
	atomic_store(&p->always, prob >= 1.0);
	atomic_store(&p->threshold,
		     prob >= 1.0 ? UINT64_MAX
				 : (uint64_t)(prob * 18446744073709551616.0));
	atomic_store_explicit(&p->active, 1, memory_order_release);
	if (fiu_enable_external(name, failnum, (void *)(intptr_t)EIO, flags,
				decide_cb) != 0) {
		atomic_store(&p->active, 0);
		reply("err libfiu refused to enable the point");
		return;
	}
	reply("ok");
}

static void cmd_disable(const char *cmd)
{
	char name[112];
	if (!arg(cmd, "point", name, sizeof name)) {
		reply("err disable needs point=<name>");
		return;
	}
	int n = atomic_load(&npoints);
	for (int i = 0; i < n; i++) {
		struct point *p = &points[i];
		if (strcmp(name, "*") != 0 && strcmp(name, p->name) != 0)
			continue;
		if (atomic_exchange(&p->active, 0))
			fiu_disable(p->name);
	}
	reply("ok");
}

static void cmd_stats(void)
{
	static char buf[FL_AGENT_MSG_MAX];
	int n = atomic_load(&npoints);
	size_t len = (size_t)snprintf(buf, sizeof buf, "stats %d\n", n);
	for (int i = 0; i < n && len < sizeof buf; i++) {
		struct point *p = &points[i];
		len += (size_t)snprintf(buf + len, sizeof buf - len,
					"%s %llu %llu\n", p->name,
					(unsigned long long)atomic_load(&p->calls),
					(unsigned long long)atomic_load(&p->fired));
	}
	if (len >= sizeof buf)
		len = sizeof buf - 1;
	send_msg(buf, len);
}

static void handle(char *cmd)
{
	if (strncmp(cmd, "enable ", 7) == 0)
		cmd_enable(cmd);
	else if (strncmp(cmd, "disable ", 8) == 0)
		cmd_disable(cmd);
	else if (strcmp(cmd, "stats") == 0)
		cmd_stats();
	else if (strcmp(cmd, "ping") == 0)
		reply("pong");
	else if (strncmp(cmd, "set close=", 10) == 0) {
		if (strcmp(cmd + 10, "linux") == 0)
			atomic_store(&close_mode, CLOSE_LINUX);
		else if (strcmp(cmd + 10, "libfiu") == 0)
			atomic_store(&close_mode, CLOSE_LIBFIU);
		else {
			reply("err close must be linux or libfiu");
			return;
		}
		reply("ok");
	} else
		reply("err unknown command");
}

static void *agent_main(void *arg)
{
	(void)arg;
	in_agent_thread = 1;
	/* libfiu's wrappers let calls through untouched while their
	 * per-thread recursion counter is raised; raise it for good here. */
	int *fiu_called = dlsym(RTLD_DEFAULT, "_fiu_called");
	if (fiu_called)
		(*fiu_called)++;
	prctl(PR_SET_NAME, FL_AGENT_THREAD_NAME);

	static char buf[FL_AGENT_MSG_MAX];
	for (;;) {
		long n = syscall(SYS_recvfrom, agent_fd, buf, sizeof buf - 1,
				 0, NULL, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the harness went away */
		buf[n] = '\0';
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		handle(buf);
	}
	return NULL;
}

/* Drops the agent and libfiu from LD_PRELOAD, and our variables, so that
 * programs the target executes start clean. */
static void strip_environment(void)
{
	const char *pre = getenv("LD_PRELOAD");
	if (pre) {
		char out[4096];
		size_t len = 0;
		const char *p = pre;
		while (*p) {
			size_t n = strcspn(p, ": ");
			int ours = memmem(p, n, "faultline-agent", 15) != NULL ||
				   memmem(p, n, "fiu_posix_preload", 17) != NULL;
			if (!ours && n > 0 && len + n + 2 < sizeof out) {
				if (len)
					out[len++] = ':';
				memcpy(out + len, p, n);
				len += n;
			}
			p += n;
			while (*p == ':' || *p == ' ')
				p++;
		}
		out[len] = '\0';
		if (len)
			setenv("LD_PRELOAD", out, 1);
		else
			unsetenv("LD_PRELOAD");
	}
	unsetenv(FL_ENV_AGENT_FD);
	unsetenv(FL_ENV_SEED);
	unsetenv(FL_ENV_CLOSE);
	unsetenv(FL_ENV_INHERIT);
}

__attribute__((constructor)) static void agent_init(void)
{
	const char *fdenv = getenv(FL_ENV_AGENT_FD);
	const char *seedenv = getenv(FL_ENV_SEED);
	const char *closeenv = getenv(FL_ENV_CLOSE);
	resolve_libc_close();
	if (seedenv)
		agent_seed = strtoull(seedenv, NULL, 10);
	if (closeenv && strcmp(closeenv, "libfiu") == 0)
		atomic_store(&close_mode, CLOSE_LIBFIU);
	const char *inheritenv = getenv(FL_ENV_INHERIT);
	int inherit = inheritenv && strcmp(inheritenv, "1") == 0;
	int fd = fdenv ? atoi(fdenv) : -1;
	if (!inherit)
		strip_environment();
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return; /* not started by faultline: stay inert */
	/* Unless asked otherwise, the socket must not reach programs the
	 * target executes. */
	if (!inherit)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	agent_fd = fd;
	fiu_init(0);

	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&th, &attr, agent_main, NULL);
	pthread_attr_destroy(&attr);
	char hello[160];
	snprintf(hello, sizeof hello,
		 "hello pid=%d tid=%d fd=%d version=%d close=%s thread=%d",
		 (int)getpid(), (int)syscall(SYS_gettid), fd,
		 FL_AGENT_PROTO_VERSION,
		 atomic_load(&close_mode) == CLOSE_LINUX ? "linux" : "libfiu",
		 rc == 0);
	send_msg(hello, strlen(hello));
}
