/*
 * User side of bpf_src/task_filter.bpf.h: --cgroupmap / --mntnsmap, BPF hash
 * maps the user pinned (8-byte keys: cgroup IDs, mount namespace IDs). The map
 * is opened by its path here and handed to the program by descriptor.
 */
#ifndef BCCNET_TASK_FILTER_H
#define BCCNET_TASK_FILTER_H

#include <stdint.h>

#include "btf_query.h"
#include "cflags.h"
#include "loader.h"

struct user_set {
	const char *name; /* "cgroupmap" or "mntnsmap": the program's map and -D prefix */
	int fd;           /* -1: not given */
	uint32_t value_size, flags;
};

/* Opens the pinned map at path; exits 2 with one line unless it is a BPF hash map with
 * 8-byte keys. */
void user_set_open(struct user_set *s, const char *opt, const char *name, const char *path);
/* -DFILTER_<NAME>=1 and the map's shape (nothing when not given); mntnsmap also adds the
 * task->nsproxy->mnt_ns offsets. */
void cflags_user_set(struct cflags *cf, struct btf_query *btf, const struct user_set *s);
/* Puts the user's map into the program's slot; 0, or -1 after log_error(). */
int user_set_attach(const struct user_set *s, struct loader *l);

#endif
