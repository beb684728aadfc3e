#include "task_filter.h"

#include <bpf/bpf.h>
#include <ctype.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

void user_set_open(struct user_set *s, const char *opt, const char *name, const char *path)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		usage_error("invalid %s '%s': %s (expected a pinned BPF hash map, e.g. made with bpftool map create)",
			    opt, path, errno == ENOENT ? "no such file" : "not a pinned BPF object");
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_MAP_TYPE_HASH ||
	    info.key_size != 8)
		usage_error("invalid %s '%s': not a BPF hash map with 8-byte keys", opt, path);
	s->name = name;
	s->fd = fd;
	s->value_size = info.value_size;
	s->flags = info.map_flags;
}

void cflags_user_set(struct cflags *cf, struct btf_query *btf, const struct user_set *s)
{
	char upper[32];
	size_t i;

	if (!s->name || s->fd < 0)
		return;
	for (i = 0; s->name[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)s->name[i]);
	upper[i] = '\0';
	cflags_add(cf, "-DFILTER_%s=1", upper);
	cflags_add(cf, "-D%s_VALUE_SIZE=%u", upper, s->value_size);
	cflags_add(cf, "-D%s_FLAGS=%u", upper, s->flags);
	if (strcmp(s->name, "mntnsmap") == 0) {
		cflags_offset(cf, btf, "OFF_TASK_NSPROXY", "task_struct", "nsproxy");
		cflags_offset(cf, btf, "OFF_NSPROXY_MNT_NS", "nsproxy", "mnt_ns");
		cflags_offset(cf, btf, "OFF_MNT_NS_INUM", "mnt_namespace", "ns.inum");
	}
}

int user_set_attach(const struct user_set *s, struct loader *l)
{
	uint32_t zero = 0, fd = (uint32_t)s->fd;
	int outer, rc;

	if (!s->name || s->fd < 0)
		return 0;
	outer = loader__map_fd(l, s->name);
	if (outer < 0) {
		log_error("%s", loader__error(l));
		return -1;
	}
	rc = loader__map_update(outer, &zero, &fd);
	if (rc) {
		log_error("--%s: cannot hand the map to the program: %s (is it a hash map of the same shape?)",
			  s->name, strerror(-rc));
		return -1;
	}
	return 0;
}
