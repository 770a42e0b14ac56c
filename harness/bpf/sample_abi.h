/* What the sampling BPF program (harness/bpf/sample.bpf.c) and the
 * harness (harness/bpfsample.c) share: one entry per process, its pid
 * written by the harness, the rest by the program. Plain C types only:
 * this header is compiled for the BPF target too. */
#ifndef FL_BPF_SAMPLE_ABI_H
#define FL_BPF_SAMPLE_ABI_H

/* Entries in one run of the program (its .bss holds them: 48 KiB). */
#define FL_BPFS_BATCH 1024
/* CPUs whose share of a per-CPU counter the program adds (the kernel's
 * NR_CPUS of a distribution kernel is 8192; a machine with more possible
 * CPUs than this is sampled through /proc). */
#define FL_BPFS_MAX_CPUS 1024

enum {
	FL_BPFS_OK = 0,
	FL_BPFS_NOTASK = 1,	/* no task has the pid: gone (reaped) */
	FL_BPFS_NOMM = 2,	/* no memory: a zombie, or a main thread that
				 * exited alone while others run */
	FL_BPFS_NOFILES = 3,	/* no fd table (exiting): ask /proc */
	FL_BPFS_ASK_PROC = 4,	/* set by the harness: figures it will not
				 * take (no thread), /proc is asked */
};

struct fl_bpfs_ent {
	int pid;		/* in: the process */
	int rc;			/* out: FL_BPFS_* */
	long long fds;		/* open fds: set bits of the fd table */
	long long threads;	/* signal->nr_threads */
	long long rss_pages;	/* file + anon + shmem, summed over CPUs */
	long long rss_quick;	/* the same without the CPUs' shares: what
				 * statm said before Linux summed them */
	unsigned long long start_ns;	/* start_boottime: identity */
};

/* The program's context (BPF_PROG_TEST_RUN's ctx_in). */
struct fl_bpfs_args {
	unsigned int n;		/* entries to fill */
	unsigned int ncpus;	/* possible CPUs */
	unsigned int find_offsets;	/* find each CPU's per-CPU offset
					 * first: at the first run (they are
					 * fixed from boot on) */
	unsigned int pad;
};

#endif
