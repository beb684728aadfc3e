#include "btf_query.h"

#include <bpf/btf.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODULE_BTF 256

struct btf_query {
	struct btf *vmlinux;
	char dir[256];
	struct btf *modules[MAX_MODULE_BTF];
	int nmodules;
	int modules_loaded;
};

struct btf_query *btf_query_open(const char *vmlinux_path, char *err, size_t errlen)
{
	struct btf_query *q = calloc(1, sizeof(*q));
	const char *slash;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!vmlinux_path)
		vmlinux_path = "/sys/kernel/btf/vmlinux";
	q->vmlinux = btf__parse(vmlinux_path, NULL);
	if (!q->vmlinux) {
		snprintf(err, errlen, "cannot read BTF from %s: %s (the kernel needs CONFIG_DEBUG_INFO_BTF=y)",
			 vmlinux_path, strerror(errno));
		free(q);
		return NULL;
	}
	slash = strrchr(vmlinux_path, '/');
	snprintf(q->dir, sizeof(q->dir), "%.*s", slash ? (int)(slash - vmlinux_path) : 1,
		 slash ? vmlinux_path : ".");
	return q;
}

void btf_query_free(struct btf_query *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->nmodules; i++)
		btf__free(q->modules[i]);
	btf__free(q->vmlinux);
	free(q);
}

static void load_module_btfs(struct btf_query *q)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	q->modules_loaded = 1;
	d = opendir(q->dir);
	if (!d)
		return;
	while ((de = readdir(d)) && q->nmodules < MAX_MODULE_BTF) {
		struct btf *b;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "vmlinux") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", q->dir, de->d_name);
		b = btf__parse_split(path, q->vmlinux);
		if (b)
			q->modules[q->nmodules++] = b;
	}
	closedir(d);
}

static int find_in(struct btf *b, const char *name, const int *kinds)
{
	for (const int *k = kinds; *k; k++) {
		int id = btf__find_by_name_kind(b, name, *k);
		if (id > 0)
			return id;
	}
	return -ENOENT;
}

/* Finds a named type of one of the given kinds, in vmlinux and then modules. */
static int find_type(struct btf_query *q, const char *name, const int *kinds, struct btf **owner)
{
	int id = find_in(q->vmlinux, name, kinds);

	*owner = q->vmlinux;
	if (id > 0)
		return id;
	if (!q->modules_loaded)
		load_module_btfs(q);
	for (int m = 0; m < q->nmodules; m++) {
		id = find_in(q->modules[m], name, kinds);
		if (id > 0) {
			*owner = q->modules[m];
			return id;
		}
	}
	return -ENOENT;
}

/* Searches t for member `name`, descending into anonymous structs/unions. */
static int find_member(const struct btf *b, const struct btf_type *t, const char *name,
		       long *bit_off, __u32 *type_id)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(b, m->name_off);
		long off = btf_member_bit_offset(t, i);

		if (mname && *mname) {
			if (strcmp(mname, name) == 0) {
				*bit_off = off;
				*type_id = m->type;
				return 0;
			}
			continue;
		}
		const struct btf_type *inner = btf__type_by_id(b, m->type);
		while (inner && btf_is_mod(inner))
			inner = btf__type_by_id(b, inner->type);
		if (inner && btf_is_composite(inner) && find_member(b, inner, name, bit_off, type_id) == 0) {
			*bit_off += off;
			return 0;
		}
	}
	return -ESRCH;
}

static const struct btf_type *resolve_composite(const struct btf *b, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(b, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(b, t->type);
	return t && btf_is_composite(t) ? t : NULL;
}

/* Walks "a.b.c" from type; gives the byte offset and the last member's type. */
static int member_path(struct btf_query *q, const char *type, const char *path_in, long *off,
		       struct btf **owner, __u32 *last_type)
{
	static const int kinds[] = { BTF_KIND_STRUCT, BTF_KIND_UNION, 0 };
	char path[256], *tok, *save = NULL;
	const struct btf_type *t;
	long total = 0;
	int id = find_type(q, type, kinds, owner);

	if (id < 0)
		return id;
	t = btf__type_by_id(*owner, id);
	snprintf(path, sizeof(path), "%s", path_in);
	for (tok = strtok_r(path, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		long bit_off;

		if (!t || find_member(*owner, t, tok, &bit_off, last_type))
			return -ESRCH;
		total += bit_off;
		t = resolve_composite(*owner, *last_type);
	}
	if (total % 8)
		return -EINVAL;
	*off = total / 8;
	return 0;
}

int btf_query_offset(struct btf_query *q, const char *type, const char *path, long *off)
{
	struct btf *b;
	__u32 member_type;

	return member_path(q, type, path, off, &b, &member_type);
}

int btf_query_member_size(struct btf_query *q, const char *type, const char *path, long *size)
{
	struct btf *b;
	__u32 member_type;
	long off;
	__s64 sz;
	int err = member_path(q, type, path, &off, &b, &member_type);

	if (err)
		return err;
	sz = btf__resolve_size(b, member_type);
	if (sz < 0)
		return (int)sz;
	*size = (long)sz;
	return 0;
}

int btf_query_sizeof(struct btf_query *q, const char *type, long *size)
{
	static const int kinds[] = { BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF, 0 };
	struct btf *b;
	int id = find_type(q, type, kinds, &b);
	__s64 sz;

	if (id < 0)
		return id;
	sz = btf__resolve_size(b, id);
	if (sz < 0)
		return (int)sz;
	*size = (long)sz;
	return 0;
}

/* Calls fn on each enumerator of the named enum until it returns nonzero. */
static int enum_walk(struct btf_query *q, const char *enum_name,
		     int (*fn)(const char *name, long long value, void *ctx), void *ctx)
{
	static const int kinds[] = { BTF_KIND_ENUM, BTF_KIND_ENUM64, 0 };
	struct btf *b;
	int id = find_type(q, enum_name, kinds, &b);
	const struct btf_type *t;

	if (id < 0)
		return id;
	t = btf__type_by_id(b, id);
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *name;
		long long value;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;
			name = btf__name_by_offset(b, e->name_off);
			value = btf_kflag(t) ? (long long)e->val : (long long)(__u32)e->val;
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;
			name = btf__name_by_offset(b, e->name_off);
			value = (long long)btf_enum64_value(e);
		}
		if (fn(name, value, ctx))
			return 0;
	}
	return -ESRCH;
}

struct enum_match {
	const char *name;
	long long value;
};

static int match_by_name(const char *name, long long value, void *ctx)
{
	struct enum_match *m = ctx;

	if (strcmp(name, m->name))
		return 0;
	m->value = value;
	return 1;
}

static int match_by_value(const char *name, long long value, void *ctx)
{
	struct enum_match *m = ctx;

	if (value != m->value)
		return 0;
	m->name = name;
	return 1;
}

int btf_query_enum_value(struct btf_query *q, const char *enum_name, const char *value_name,
			 long long *value)
{
	struct enum_match m = { .name = value_name };
	int err = enum_walk(q, enum_name, match_by_name, &m);

	if (err)
		return err;
	*value = m.value;
	return 0;
}

const char *btf_query_enum_name(struct btf_query *q, const char *enum_name, long long value)
{
	struct enum_match m = { .value = value };

	return enum_walk(q, enum_name, match_by_value, &m) ? NULL : m.name;
}

static const struct btf_type *skip_mods(const struct btf *b, const struct btf_type *t)
{
	while (t && btf_is_mod(t))
		t = btf__type_by_id(b, t->type);
	return t;
}

/* Appends the name of a parameter type: "int", "sk_buff *", "void *"; "?" if unnamed. */
static void append_type_name(const struct btf *b, __u32 id, char *buf, size_t len)
{
	const struct btf_type *t = skip_mods(b, btf__type_by_id(b, id));
	bool ptr = t && btf_is_ptr(t);
	const char *name = "?";
	size_t used = strlen(buf);

	if (ptr)
		t = t->type ? skip_mods(b, btf__type_by_id(b, t->type)) : NULL;
	if (t && t->name_off)
		name = btf__name_by_offset(b, t->name_off);
	else if (ptr && !t)
		name = "void";
	snprintf(buf + used, len - used, "%s%s", name, ptr ? " *" : "");
}

int btf_query_tp_args(struct btf_query *q, const char *tp, char *buf, size_t len)
{
	static const int kinds[] = { BTF_KIND_TYPEDEF, 0 };
	const struct btf_type *t;
	const struct btf_param *p;
	char name[128];
	struct btf *b;
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = find_type(q, name, kinds, &b);
	if (id < 0)
		return id;
	t = btf__type_by_id(b, id); /* typedef -> pointer -> func proto */
	t = t ? btf__type_by_id(b, t->type) : NULL;
	t = t && btf_is_ptr(t) ? btf__type_by_id(b, t->type) : NULL;
	if (!t || !btf_is_func_proto(t))
		return -ENOENT;
	buf[0] = '\0';
	p = btf_params(t);
	/* The first parameter is the probe's own data pointer, not a tracepoint argument. */
	for (int i = 1; i < btf_vlen(t); i++) {
		if (i > 1)
			strncat(buf, ",", len - strlen(buf) - 1);
		append_type_name(b, p[i].type, buf, len);
	}
	return strlen(buf) + 1 >= len ? -ENOSPC : 0;
}
