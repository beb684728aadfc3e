/*
 * Shared by every bccnet BPF program; libbcc compiles it ahead of the tool's
 * header and program. Kernel struct fields are read only through offsets
 * from BTF (-DOFF_* numbers), never through header layouts.
 */

/* Events the ring buffer could not take; user space reports the total. */
BPF_ARRAY(bccnet_lost, u64, 1);

static __always_inline void bccnet_count_lost(void)
{
	int zero = 0;
	u64 *count = bccnet_lost.lookup(&zero);

	if (count)
		__sync_fetch_and_add(count, 1);
}

/*
 * Waking the reader costs ~5 us per event on our VMs (an IPI and a context
 * switch), 40x the rest of a program. Submit quietly and wake the reader
 * only every BCCNET_WAKEUP_BATCH events per CPU; user space also drains the
 * ring every 100 ms (loader__poll), so a lone event waits at most that long.
 */
#ifndef BCCNET_WAKEUP_BATCH
#define BCCNET_WAKEUP_BATCH 32
#endif
BPF_PERCPU_ARRAY(bccnet_since_wakeup, u32, 1);

static __always_inline u64 bccnet_submit_flags(void)
{
	int zero = 0;
	u32 *n = bccnet_since_wakeup.lookup(&zero);

	if (!n || ++*n >= BCCNET_WAKEUP_BATCH) {
		if (n)
			*n = 0;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

/* Reads a field of a kernel object at a BTF offset; leaves 0 on failure. */
#define READ_AT(dst, base, off)                                                     \
	({                                                                          \
		__builtin_memset(&(dst), 0, sizeof(dst));                           \
		bpf_probe_read_kernel(&(dst), sizeof(dst), (const char *)(base) + (off)); \
	})
