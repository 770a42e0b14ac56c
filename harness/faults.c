#define _GNU_SOURCE
#include "faults.h"

#include "../lib/agent_proto.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int fl_faults_create(fl_faults *f)
{
	memset(f, 0, sizeof *f);
	f->fd = f->peer_fd = -1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	f->fd = sv[0];
	f->peer_fd = sv[1];
	return 0;
}

void fl_faults_spawned(fl_faults *f)
{
	if (f->peer_fd >= 0)
		close(f->peer_fd);
	f->peer_fd = -1;
}

void fl_faults_close(fl_faults *f)
{
	fl_faults_spawned(f);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

void fl_faults_free(fl_faults *f)
{
	fl_faults_close(f);
	for (int i = 0; i < f->nslots; i++)
		free(f->slot_names[i]);
	free(f->slot_names);
	f->slot_names = NULL;
	f->nslots = 0;
}

static void set_slot(fl_faults *f, int slot, const char *name)
{
	if (slot < 0 || slot > 100000)
		return;
	if (slot >= f->nslots) {
		f->slot_names = fl_xrealloc(f->slot_names,
					    (size_t)(slot + 1) * sizeof *f->slot_names);
		for (int i = f->nslots; i <= slot; i++)
			f->slot_names[i] = NULL;
		f->nslots = slot + 1;
	}
	if (!f->slot_names[slot])
		f->slot_names[slot] = fl_xstrdup(name);
}

void fl_faults_set_slots(fl_faults *f, char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		set_slot(f, i, names[i]);
}

const char *fl_faults_slot_name(const fl_faults *f, int slot)
{
	if (slot < 0 || slot >= f->nslots)
		return NULL;
	return f->slot_names[slot];
}

static int parse_hello(fl_faults *f, const char *msg)
{
	if (strncmp(msg, "hello ", 6) != 0)
		return -EPROTO;
	const char *p;
	if ((p = strstr(msg, "pid=")))
		f->agent_pid = (pid_t)atoi(p + 4);
	if ((p = strstr(msg, "tid=")))
		f->agent_tid = (pid_t)atoi(p + 4);
	if ((p = strstr(msg, "fd=")))
		f->agent_fd = atoi(p + 3);
	if ((p = strstr(msg, "thread=")))
		f->agent_thread = atoi(p + 7);
	if ((p = strstr(msg, "journal=")))
		f->agent_journal = atoi(p + 8);
	if ((p = strstr(msg, "close="))) {
		size_t n = strcspn(p + 6, " ");
		if (n >= sizeof f->close_mode)
			n = sizeof f->close_mode - 1;
		memcpy(f->close_mode, p + 6, n);
		f->close_mode[n] = '\0';
	}
	f->hello = 1;
	return 0;
}

/* Receives one message, waiting up to timeout_ms (-1: forever, 0: not at
 * all). Returns its length, 0 on timeout, or -errno (-EPIPE: the agent is
 * gone). */
static ssize_t recv_msg(fl_faults *f, char *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = {f->fd, POLLIN, 0};
	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		ssize_t n = recv(f->fd, buf, len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		buf[n] = '\0';
		return n;
	}
}

int fl_faults_poll_hello(fl_faults *f)
{
	if (f->hello)
		return 1;
	if (f->fd < 0)
		return -EBADF;
	char buf[256];
	ssize_t n = recv_msg(f, buf, sizeof buf, 0);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return 0;
	return parse_hello(f, buf) == 0 ? 1 : -EPROTO;
}

/* Sends cmd and waits for the reply, consuming a hello that arrives
 * first. */
static int request(fl_faults *f, const char *cmd, char *reply, size_t len,
		   char *err, size_t errlen, int timeout_ms)
{
	if (f->fd < 0) {
		snprintf(err, errlen, "no control channel to the target");
		return -EBADF;
	}
	if (!f->hello) {
		int h = fl_faults_poll_hello(f);
		if (h == 0) {
			/* Give a target that is still starting a moment. */
			char buf[256];
			ssize_t n = recv_msg(f, buf, sizeof buf, timeout_ms);
			if (n > 0)
				h = parse_hello(f, buf) == 0 ? 1 : -EPROTO;
		}
		if (h <= 0) {
			snprintf(err, errlen,
				 "the target has no faultline agent (is it a "
				 "static or Go binary, or did it exit?)");
			return -ENOTCONN;
		}
	}
	if (send(f->fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0) {
		int e = errno;
		snprintf(err, errlen, "the target's agent is gone: %s",
			 strerror(e));
		return -e;
	}
	ssize_t n;
	for (;;) {
		n = recv_msg(f, reply, len, timeout_ms);
		/* A program the target executed (with inherit) introduces
		 * itself: note it and keep waiting for the reply. */
		if (n > 0 && strncmp(reply, "hello ", 6) == 0) {
			parse_hello(f, reply);
			continue;
		}
		break;
	}
	if (n == 0) {
		snprintf(err, errlen,
			 "the target's agent did not answer within %d ms "
			 "(stopped or blocked?)",
			 timeout_ms);
		return -ETIMEDOUT;
	}
	if (n < 0) {
		snprintf(err, errlen, "the target's agent is gone: %s",
			 strerror((int)-n));
		return (int)n;
	}
	if (strncmp(reply, "err ", 4) == 0) {
		snprintf(err, errlen, "the agent refused: %s", reply + 4);
		return -EINVAL;
	}
	return 0;
}

int fl_faults_enable(fl_faults *f, const fl_fault_spec *spec, char *err,
		     size_t errlen, int timeout_ms)
{
	char reply[256];
	fl_buf b;
	fl_buf_init(&b);
	fl_buf_printf(&b, "enable point=%s p=%.17g", spec->point, spec->p);
	if (spec->err > 0)
		fl_buf_printf(&b, " errno=%d", spec->err);
	if (spec->onetime)
		fl_buf_puts(&b, " onetime=1");
	if (spec->failnum)
		fl_buf_printf(&b, " failnum=%d", spec->failnum);
	if (spec->nth[0]) {
		/* Spaces separate arguments: "every 4" travels as
		 * "every_4". */
		fl_buf_puts(&b, " nth=");
		for (const char *c = spec->nth; *c; c++)
			fl_buf_putc(&b, *c == ' ' ? '_' : *c);
	}
	if (spec->actors[0])
		fl_buf_printf(&b, " actors=%s", spec->actors);
	if (spec->after_point[0])
		fl_buf_printf(&b, " after=%s:%llu%s%s", spec->after_point,
			      (unsigned long long)spec->after_n,
			      spec->after_actor[0] ? ":" : "", spec->after_actor);
	if (spec->replay)
		fl_buf_puts(&b, " replay=1");
	int r = request(f, b.data, reply, sizeof reply, err, errlen, timeout_ms);
	fl_buf_free(&b);
	const char *slot = strstr(reply, "slot=");
	if (r == 0 && slot && !strchr(spec->point, '*'))
		set_slot(f, atoi(slot + 5), spec->point);
	return r;
}

int fl_faults_disable(fl_faults *f, const char *point, char *err,
		      size_t errlen, int timeout_ms)
{
	char cmd[160], reply[256];
	snprintf(cmd, sizeof cmd, "disable point=%s", point ? point : "*");
	return request(f, cmd, reply, sizeof reply, err, errlen, timeout_ms);
}

int fl_faults_set_close(fl_faults *f, const char *mode, char *err,
			size_t errlen, int timeout_ms)
{
	char cmd[64], reply[256];
	snprintf(cmd, sizeof cmd, "set close=%s", mode);
	return request(f, cmd, reply, sizeof reply, err, errlen, timeout_ms);
}

int fl_faults_stats(fl_faults *f, fl_point_stats **out, char *err,
		    size_t errlen, int timeout_ms)
{
	*out = NULL;
	char *reply = fl_xmalloc(FL_AGENT_MSG_MAX);
	int r = request(f, "stats", reply, FL_AGENT_MSG_MAX, err, errlen,
			timeout_ms);
	if (r < 0) {
		free(reply);
		return r;
	}
	int count = 0;
	if (sscanf(reply, "stats %d", &count) != 1 || count < 0) {
		snprintf(err, errlen, "bad stats reply from the agent");
		free(reply);
		return -EPROTO;
	}
	fl_point_stats *v = fl_xcalloc((size_t)count + 1, sizeof *v);
	int k = 0;
	char *line = strchr(reply, '\n');
	while (line && k < count) {
		line++;
		unsigned long long calls, fired;
		char name[112];
		int slot, active;
		if (sscanf(line, "%d %111s %llu %llu %d", &slot, name, &calls,
			   &fired, &active) == 5) {
			v[k].slot = slot;
			snprintf(v[k].point, sizeof v[k].point, "%s", name);
			v[k].calls = calls;
			v[k].fired = fired;
			v[k].active = active;
			set_slot(f, slot, name);
			k++;
		}
		line = strchr(line, '\n');
	}
	free(reply);
	*out = v;
	return k;
}

int fl_faults_replay(fl_faults *f, const char *point, const char *lines,
		     char *err, size_t errlen, int timeout_ms)
{
	/* In messages that fit the agent's buffer, cut at line ends. */
	char reply[256];
	size_t budget = FL_AGENT_MSG_MAX - 256;
	const char *p = lines;
	do {
		fl_buf b;
		fl_buf_init(&b);
		fl_buf_printf(&b, "replay point=%s\n", point);
		while (*p && b.len < budget) {
			size_t n = strcspn(p, "\n");
			fl_buf_append(&b, p, n);
			fl_buf_putc(&b, '\n');
			p += n;
			if (*p == '\n')
				p++;
		}
		int r = request(f, b.data, reply, sizeof reply, err, errlen,
				timeout_ms);
		fl_buf_free(&b);
		if (r < 0)
			return r;
	} while (*p);
	return 0;
}

int fl_faults_ping(fl_faults *f, int timeout_ms)
{
	char reply[64], err[256];
	return request(f, "ping", reply, sizeof reply, err, sizeof err,
		       timeout_ms);
}
