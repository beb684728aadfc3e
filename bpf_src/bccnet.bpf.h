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

/* Reads a field of a kernel object at a BTF offset; leaves 0 on failure. */
#define READ_AT(dst, base, off)                                                     \
	({                                                                          \
		__builtin_memset(&(dst), 0, sizeof(dst));                           \
		bpf_probe_read_kernel(&(dst), sizeof(dst), (const char *)(base) + (off)); \
	})
