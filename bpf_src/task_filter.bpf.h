/*
 * --cgroupmap MAP / --mntnsmap MAP (BCC tcptop's options): only processes whose
 * cgroup ID (v2) or mount namespace ID is a key of a BPF hash map the user
 * pinned. User space puts the user's map into slot 0 of an array of maps after
 * load, so its path never becomes BPF text and every change the user makes to
 * it counts at once. NAME_inner is the template of the slot: the user map's
 * shape, as -D numbers read from the map itself (common/task_filter.c).
 */
#ifndef FILTER_CGROUPMAP
#define FILTER_CGROUPMAP 0
#endif
#ifndef FILTER_MNTNSMAP
#define FILTER_MNTNSMAP 0
#endif

/* The slot `name` for the user's map and its template name_inner (the user map's shape). */
#define BCCNET_USER_SET(name, value_size, flags)                                     \
	struct name##_value {                                                        \
		u8 bytes[value_size];                                                \
	};                                                                           \
	BPF_F_TABLE("hash", u64, struct name##_value, name##_inner, 1, flags);       \
	BPF_ARRAY_OF_MAPS(name, #name "_inner", 1)

#if FILTER_CGROUPMAP
BCCNET_USER_SET(cgroupmap, CGROUPMAP_VALUE_SIZE, CGROUPMAP_FLAGS);
#endif

#if FILTER_MNTNSMAP
BCCNET_USER_SET(mntnsmap, MNTNSMAP_VALUE_SIZE, MNTNSMAP_FLAGS);

/* current->nsproxy->mnt_ns->ns.inum, what `ls -i /proc/PID/ns/mnt` shows. */
static __always_inline u64 bccnet_mntns_id(void)
{
	void *task = (void *)bpf_get_current_task(), *nsproxy, *mnt_ns;
	u32 inum;

	READ_AT(nsproxy, task, OFF_TASK_NSPROXY);
	if (!nsproxy)
		return 0;
	READ_AT(mnt_ns, nsproxy, OFF_NSPROXY_MNT_NS);
	READ_AT(inum, mnt_ns, OFF_MNT_NS_INUM);
	return inum;
}
#endif

/* Is key in the user's map, the inner map `set` (NULL: the slot is empty)? */
static __always_inline bool bccnet_in_user_set(void *set, u64 key)
{
	return set && bpf_map_lookup_elem(set, &key);
}

/* The current process passes --cgroupmap and --mntnsmap (each when given). */
static __always_inline bool bccnet_task_wanted(void)
{
	int zero = 0;

#if FILTER_CGROUPMAP
	if (!bccnet_in_user_set((void *)cgroupmap.lookup(&zero), bpf_get_current_cgroup_id()))
		return false;
#endif
#if FILTER_MNTNSMAP
	if (!bccnet_in_user_set((void *)mntnsmap.lookup(&zero), bccnet_mntns_id()))
		return false;
#endif
	(void)zero;
	return true;
}
