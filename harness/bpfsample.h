/* The figures of many processes in one system call: a BPF program
 * (harness/bpf/sample.bpf.c) that reads what /proc/PID/fd's size,
 * /proc/PID/task's link count and /proc/PID/statm read, for every process
 * the monitor samples at a tick, in one bpf(BPF_PROG_TEST_RUN). /proc
 * costs three system calls a process (2.5 µs here); this costs one a
 * tick. Needs CAP_BPF and CAP_PERFMON (root), BTF (/sys/kernel/btf/vmlinux)
 * and Linux >= 6.4; where any is missing, /proc samples as before.
 *
 * FAULTLINE_SAMPLER chooses: "auto" (the default: BPF once the monitor has
 * sampled for FL_BPFS_LOAD_AFTER_NS, /proc until then and where BPF cannot
 * load), "bpf" (loaded at the start; a run where it cannot load does not
 * start) or "procfs" (never BPF). */
#ifndef FL_BPFSAMPLE_H
#define FL_BPFSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/sample_abi.h"

/* Loading costs about 35 ms of CPU here (17 ms of it libbpf reading the
 * kernel's BTF): a short run never pays it. */
#define FL_BPFS_LOAD_AFTER_NS (250 * 1000000LL)

typedef struct fl_bpfs_ent fl_bpfs_ent;

enum fl_bpfs_mode { FL_BPFS_AUTO, FL_BPFS_REQUIRED, FL_BPFS_OFF };

/* Reads FAULTLINE_SAMPLER. 0, or -1 with err set (an unknown value). */
int fl_bpfs_configure(enum fl_bpfs_mode *mode, char *err, size_t errlen);

/* Loads the program (once; later calls return the first result) and
 * checks it on this process: its start time must be the one /proc gives
 * (a pid or time namespace makes them differ). 0, or -1 with the reason
 * in err. Thread-safe. */
int fl_bpfs_load(char *err, size_t errlen);

/* Loaded and checked. */
int fl_bpfs_ready(void);

/* 1 with the reason in err when a load was tried and failed (auto then
 * samples through /proc, and the results say why); else 0. A load in
 * progress has not failed. */
int fl_bpfs_error(char *err, size_t errlen);

/* Fills ents[i] (rc and figures) for each ents[i].pid, in runs of
 * FL_BPFS_BATCH. 0, or -errno when the program could not run. */
int fl_bpfs_read(fl_bpfs_ent *ents, size_t n);

/* What fl_bpfs_read does to each run's entries before it hands them
 * over: figures it will not take (a live process with no thread) become
 * FL_BPFS_ASK_PROC, which the sampler reads from /proc. */
void fl_bpfs_vet(fl_bpfs_ent *ents, size_t n);

/* start_ns of an entry in the clock ticks of /proc/PID/stat's field 22. */
unsigned long long fl_bpfs_start_ticks(const fl_bpfs_ent *e);

/* Unloads (tests). */
void fl_bpfs_unload(void);

#endif
