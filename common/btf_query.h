/*
 * Kernel layouts from the running kernel's BTF (never from headers): member
 * offsets by name (through anonymous structs/unions, "a.b" paths into nested
 * structs), sizes, and enum values. Types private to a module (tun_file when
 * tun is a module) are looked up in /sys/kernel/btf/<module> as well.
 */
#ifndef BCCNET_BTF_QUERY_H
#define BCCNET_BTF_QUERY_H

#include <stddef.h>

struct btf_query;

struct btf_query *btf_query_open(const char *vmlinux_path, char *err, size_t errlen);
void btf_query_free(struct btf_query *q);

/* 0, or -ENOENT (no such struct/union) or -ESRCH (no such member) or
 * -EINVAL (member is a bitfield not on a byte boundary). */
int btf_query_offset(struct btf_query *q, const char *type, const char *member_path, long *off);
int btf_query_member_size(struct btf_query *q, const char *type, const char *member_path,
			   long *size);
int btf_query_sizeof(struct btf_query *q, const char *type, long *size);
int btf_query_enum_value(struct btf_query *q, const char *enum_name, const char *value_name,
			 long long *value);
/* Enumerator name for a value, or NULL. */
const char *btf_query_enum_name(struct btf_query *q, const char *enum_name, long long value);
/* The arguments a raw tracepoint passes (its TP_PROTO, from the btf_trace_<tp> typedef), as
 * "sk_buff *,int,net_device *,unsigned int": qualifiers dropped, structs by tag name. 0, or
 * -ENOENT (no such tracepoint in this kernel's BTF) or -ENOSPC (buf too small). */
int btf_query_tp_args(struct btf_query *q, const char *tp, char *buf, size_t len);

#endif
