/* The sampling program: the open fds, threads and resident pages of up to
 * FL_BPFS_BATCH processes in one run, run by the monitor once a tick with
 * bpf(BPF_PROG_TEST_RUN) (harness/bpfsample.c). It reads what /proc reads
 * for the same figures, the same way:
 *   fds      the set bits of the fd table's open_fds, as the size of
 *            /proc/PID/fd (proc_readfd_count) counts them;
 *   threads  signal->nr_threads, the link count of /proc/PID/task less 2;
 *   RSS      the file, anon and shmem counters of the mm, each summed over
 *            every CPU as /proc/PID/statm sums them (percpu_counter_sum),
 *            and without the CPUs' shares, as statm read them before
 *            (the harness finds which of the two this kernel's statm is).
 * The kernel's structures are declared here with only the fields read;
 * libbpf relocates each field against the running kernel's BTF (CO-RE),
 * so the object does not depend on the headers of one kernel. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "sample_abi.h"

#define KERNEL_STRUCT __attribute__((preserve_access_index))

struct percpu_counter {
	long long count;
	int *counters;		/* __percpu */
} KERNEL_STRUCT;

struct mm_struct {
	struct percpu_counter rss_stat[4];	/* NR_MM_COUNTERS */
} KERNEL_STRUCT;

struct fdtable {
	unsigned int max_fds;
	unsigned long *open_fds;
} KERNEL_STRUCT;

struct files_struct {
	struct fdtable *fdt;
} KERNEL_STRUCT;

struct signal_struct {
	int nr_threads;
} KERNEL_STRUCT;

struct task_struct {
	struct mm_struct *mm;
	struct files_struct *files;
	struct signal_struct *signal;
	unsigned long long start_boottime;
} KERNEL_STRUCT;

struct bpf_map {
	int dummy;
} KERNEL_STRUCT;

/* Only its size is used: the per-CPU pointers of a per-CPU array follow
 * the struct. */
struct bpf_array {
	struct bpf_map map;
} KERNEL_STRUCT;

/* The MM_* counters (include/linux/mm_types_task.h): an anonymous enum,
 * which BTF cannot relocate by name; its order has held since Linux 4.5. */
enum {
	MM_FILEPAGES = 0,
	MM_ANONPAGES = 1,
	MM_SHMEMPAGES = 3,
};

extern struct task_struct *bpf_task_from_pid(int pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

/* Open-coded loops (Linux >= 6.4): the verifier checks one iteration, not
 * every one, so the bounds can be the fd table's and the CPUs'. */
struct bpf_iter_num {
	unsigned long long opaque[1];
} __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/* The entries: the only variable in .bss, which the harness maps. */
struct fl_bpfs_ent ents[FL_BPFS_BATCH];
/* Each CPU's per-CPU offset, found at the first run (below). */
unsigned long cpu_off[FL_BPFS_MAX_CPUS] SEC(".data.cpu_off");

/* A per-CPU array of one element: the addresses of its per-CPU copies,
 * against the per-CPU pointer the map keeps, give each CPU's offset. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, unsigned int);
	__type(value, long long);
} pcpu SEC(".maps");

/* A pointer's value as a number (needs CAP_PERFMON, as the rest). */
static __always_inline unsigned long address_of(void *p)
{
	void *volatile slot = p;
	unsigned long v = 0;
	bpf_probe_read_kernel(&v, sizeof v, (void *)&slot);
	return v;
}

static __always_inline int find_cpu_offsets(unsigned int ncpus)
{
	unsigned long arr = address_of(&pcpu), base = 0;
	unsigned int key = 0;
	int err = 0;
	if (bpf_probe_read_kernel(&base, sizeof base,
				  (void *)(arr + bpf_core_type_size(struct bpf_array))))
		return -1;
	struct bpf_iter_num it;
	int *i;
	bpf_iter_num_new(&it, 0, (int)ncpus);
	while ((i = bpf_iter_num_next(&it))) {
		unsigned int cpu = (unsigned int)*i;
		if (cpu >= FL_BPFS_MAX_CPUS) {
			err = -1;
			break;
		}
		void *p = bpf_map_lookup_percpu_elem(&pcpu, &key, cpu);
		if (!p) {
			err = -1;
			break;
		}
		cpu_off[cpu] = address_of(p) - base;
	}
	bpf_iter_num_destroy(&it);
	return err;
}

static __always_inline long long positive(long long v)
{
	return v < 0 ? 0 : v;
}

static __always_inline long long popcount(unsigned long x)
{
	x = x - ((x >> 1) & 0x5555555555555555UL);
	x = (x & 0x3333333333333333UL) + ((x >> 2) & 0x3333333333333333UL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fUL;
	return (long long)((x * 0x0101010101010101UL) >> 56);
}

/* The fd table's open_fds bitmap, FDS_CHUNK words a read. */
#define FDS_CHUNK 8
static __always_inline long long count_fds(struct fdtable *fdt)
{
	unsigned int words = fdt->max_fds / 64;
	unsigned long *bits = fdt->open_fds;
	long long n = 0;
	struct bpf_iter_num it;
	int *i;
	bpf_iter_num_new(&it, 0, (int)((words + FDS_CHUNK - 1) / FDS_CHUNK));
	while ((i = bpf_iter_num_next(&it))) {
		unsigned int at = (unsigned int)*i * FDS_CHUNK;
		unsigned long w[FDS_CHUNK] = {0};
		unsigned int k = words - at < FDS_CHUNK ? words - at : FDS_CHUNK;
		if (k == FDS_CHUNK)
			bpf_probe_read_kernel(w, sizeof w, bits + at);
		else
			for (unsigned int j = 0; j < FDS_CHUNK; j++)
				if (j < k)
					bpf_probe_read_kernel(&w[j], sizeof w[j],
							      bits + at + j);
		for (unsigned int j = 0; j < FDS_CHUNK; j++)
			n += popcount(w[j]);
	}
	bpf_iter_num_destroy(&it);
	return n;
}

/* The file, anon and shmem counters: each summed over every CPU
 * (percpu_counter_sum_positive) into *sum, and their shared counts alone
 * (percpu_counter_read_positive) into *quick. Linux allocates an mm's
 * counters' per-CPU parts together (percpu_counter_init_many), so where
 * they follow each other one read a CPU takes all of them. */
static __always_inline void rss_of(struct mm_struct *mm, unsigned int ncpus,
				   long long *sum, long long *quick)
{
	/* Each field by a constant index: CO-RE relocates the whole path,
	 * the kernel's element size included. */
	long long c[4] = {mm->rss_stat[0].count, mm->rss_stat[1].count,
			  mm->rss_stat[2].count, mm->rss_stat[3].count};
	char *pc[4] = {(char *)mm->rss_stat[0].counters,
		       (char *)mm->rss_stat[1].counters,
		       (char *)mm->rss_stat[2].counters,
		       (char *)mm->rss_stat[3].counters};
	int together = pc[1] == pc[0] + 4 && pc[2] == pc[0] + 8 &&
		       pc[3] == pc[0] + 12;
	struct bpf_iter_num it;
	int *i;
	long long cpu_sum[4] = {0, 0, 0, 0};
	bpf_iter_num_new(&it, 0, (int)ncpus);
	while ((i = bpf_iter_num_next(&it))) {
		unsigned int cpu = (unsigned int)*i;
		if (cpu >= FL_BPFS_MAX_CPUS)
			break;
		int v[4] = {0, 0, 0, 0};
		if (together) {
			bpf_probe_read_kernel(v, sizeof v, pc[0] + cpu_off[cpu]);
		} else {
			bpf_probe_read_kernel(&v[MM_FILEPAGES], sizeof v[0],
					      pc[MM_FILEPAGES] + cpu_off[cpu]);
			bpf_probe_read_kernel(&v[MM_ANONPAGES], sizeof v[0],
					      pc[MM_ANONPAGES] + cpu_off[cpu]);
			bpf_probe_read_kernel(&v[MM_SHMEMPAGES], sizeof v[0],
					      pc[MM_SHMEMPAGES] + cpu_off[cpu]);
		}
		for (int k = 0; k < 4; k++)
			cpu_sum[k] += v[k];
	}
	bpf_iter_num_destroy(&it);
	*sum = positive(c[MM_FILEPAGES] + cpu_sum[MM_FILEPAGES]) +
	       positive(c[MM_ANONPAGES] + cpu_sum[MM_ANONPAGES]) +
	       positive(c[MM_SHMEMPAGES] + cpu_sum[MM_SHMEMPAGES]);
	*quick = positive(c[MM_FILEPAGES]) + positive(c[MM_ANONPAGES]) +
		 positive(c[MM_SHMEMPAGES]);
}

static __always_inline void sample_one(struct fl_bpfs_ent *e, unsigned int ncpus)
{
	struct task_struct *t = bpf_task_from_pid(e->pid);
	if (!t) {
		e->rc = FL_BPFS_NOTASK;
		return;
	}
	e->start_ns = t->start_boottime;
	bpf_rcu_read_lock();
	/* The order /proc's sampler keeps: the kernel releases the memory
	 * (exit_mm) before the fd table (exit_files), so memory read last
	 * proves the fd count before it was not that of a teardown. Each
	 * field is a load the kernel's fault handler guards (a pointer of
	 * the kernel's type), not a helper call. */
	struct files_struct *files = t->files;
	struct fdtable *fdt = files ? files->fdt : 0;
	if (!fdt) {
		e->rc = FL_BPFS_NOFILES;
	} else {
		e->fds = count_fds(fdt);
		e->threads = t->signal->nr_threads;
		struct mm_struct *mm = t->mm;
		if (!mm) {
			e->rc = FL_BPFS_NOMM;
		} else {
			rss_of(mm, ncpus, &e->rss_pages, &e->rss_quick);
			e->rc = FL_BPFS_OK;
		}
	}
	bpf_rcu_read_unlock();
	bpf_task_release(t);
}

SEC("syscall")
int fl_sample(struct fl_bpfs_args *args)
{
	unsigned int n = args->n, ncpus = args->ncpus;
	if (n > FL_BPFS_BATCH || ncpus == 0 || ncpus > FL_BPFS_MAX_CPUS)
		return 1;
	if (args->find_offsets && find_cpu_offsets(ncpus) < 0)
		return 2;
	struct bpf_iter_num it;
	int *i;
	bpf_iter_num_new(&it, 0, (int)n);
	while ((i = bpf_iter_num_next(&it))) {
		unsigned int k = (unsigned int)*i;
		if (k >= FL_BPFS_BATCH)
			break;
		sample_one(&ents[k], ncpus);
	}
	bpf_iter_num_destroy(&it);
	return 0;
}

/* The kernel lets only programs under a GPL-compatible licence call
 * bpf_probe_read_kernel and the task kfuncs. */
char LICENSE[] SEC("license") = "GPL";
