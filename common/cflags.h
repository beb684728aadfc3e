/*
 * The -D numbers handed to libbcc: filter values and kernel layouts. The
 * first failure is kept (with a message naming the struct, member and
 * kernel) and later adds are ignored, so a tool checks once at the end.
 */
#ifndef BCCNET_CFLAGS_H
#define BCCNET_CFLAGS_H

#include <stdbool.h>

#include "btf_query.h"
#include "log.h"

#define CFLAGS_MAX 128

struct cflags {
	char *argv[CFLAGS_MAX];
	int n;
	bool failed;
	char err[256];
};

void cflags_add(struct cflags *cf, const char *fmt, ...) BCCNET_PRINTF(2, 3);
/* -D<macro>=<offset of type.member_path> */
void cflags_offset(struct cflags *cf, struct btf_query *q, const char *macro, const char *type,
		   const char *member_path);
/* Like cflags_offset, but a missing member is not an error: -D<macro>=-1. */
void cflags_offset_opt(struct cflags *cf, struct btf_query *q, const char *macro,
		       const char *type, const char *member_path);
void cflags_member_size(struct cflags *cf, struct btf_query *q, const char *macro,
			const char *type, const char *member_path);
void cflags_sizeof(struct cflags *cf, struct btf_query *q, const char *macro, const char *type);
void cflags_enum(struct cflags *cf, struct btf_query *q, const char *macro, const char *enum_name,
		 const char *value_name);
void cflags_free(struct cflags *cf);
/* --print-bpf: the exact cflags and text that would be compiled. */
void cflags_print_program(const struct cflags *cf, const char *text);

#endif
