/* Workers: named threads that run a function inside a recover boundary,
 * joinable (flrt_worker_start/join) or detached like goroutines (flrt_go). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "flrt_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Atomic(flrt_panic_hook *) panic_hook;

void flrt_set_panic_hook(flrt_panic_hook *hook)
{
	atomic_store(&panic_hook, hook);
}

/* The name is set by the thread itself: for the calling thread glibc uses
 * prctl(PR_SET_NAME), where naming another thread would write its comm
 * file through open() and write(), calls a scenario may be failing. */
static void run_worker(struct flrt_worker *w)
{
	pthread_setname_np(pthread_self(), w->name);
	w->panicked = flrt_run(w->fn, w->arg, &w->panic);
	flrt_panic_hook *hook = atomic_load(&panic_hook);
	if (w->panicked && hook != NULL)
		hook(w->name, &w->panic);
	atomic_fetch_sub(&flrt__workers_running, 1);
}

static void *joinable_main(void *arg)
{
	run_worker(arg);
	return NULL;
}

static void *detached_main(void *arg)
{
	run_worker(arg);
	free(arg);
	return NULL;
}

/* Every signal is blocked while the thread is created, so it starts with
 * all of them blocked and process-directed signals (SIGTERM) reach a
 * thread that expects them, as in a Go program where only the runtime
 * sees signals. */
static int start(struct flrt_worker *w, const char *name, flrt_fn *fn, void *arg, int detached)
{
	memset(w, 0, sizeof *w);
	strncpy(w->name, name, sizeof w->name - 1);
	w->fn = fn;
	w->arg = arg;
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);
	if (rc != 0)
		return -rc;
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_fetch_add(&flrt__workers_running, 1);
	rc = pthread_create(&w->thread, &attr, detached ? detached_main : joinable_main, w);
	if (rc != 0)
		atomic_fetch_sub(&flrt__workers_running, 1);
	else
		atomic_fetch_add(&flrt__workers, 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -rc;
}

int flrt_worker_start(struct flrt_worker *w, const char *name, flrt_fn *fn, void *arg)
{
	return start(w, name, fn, arg, 0);
}

int flrt_worker_join(struct flrt_worker *w, struct flrt_panic *out)
{
	int rc = pthread_join(w->thread, NULL);
	if (rc != 0)
		return -rc;
	if (w->panicked && out != NULL)
		*out = w->panic;
	return w->panicked;
}

int flrt_go(const char *name, flrt_fn *fn, void *arg)
{
	struct flrt_worker *w = malloc(sizeof *w);
	if (w == NULL)
		return -ENOMEM;
	int rc = start(w, name, fn, arg, 1);
	if (rc != 0)
		free(w);
	return rc;
}
