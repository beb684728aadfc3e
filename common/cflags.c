#include "cflags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

static void fail(struct cflags *cf, const char *what, const char *type, const char *member, int err)
{
	struct utsname u;
	const char *why = err == -ENOENT ? "not in this kernel's BTF"
			  : err == -EINVAL ? "is a bitfield"
					   : "has no such member in this kernel's BTF";

	if (cf->failed)
		return;
	uname(&u);
	cf->failed = true;
	snprintf(cf->err, sizeof(cf->err), "%s %s%s%s %s (kernel %s)", what, type, member ? "." : "",
		 member ? member : "", why, u.release);
}

void cflags_add(struct cflags *cf, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (cf->n >= CFLAGS_MAX) {
		cf->failed = true;
		snprintf(cf->err, sizeof(cf->err), "too many cflags");
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		cf->failed = true;
		snprintf(cf->err, sizeof(cf->err), "out of memory");
		return;
	}
	cf->argv[cf->n++] = s;
}

void cflags_offset(struct cflags *cf, struct btf_query *q, const char *macro, const char *type,
		   const char *member_path)
{
	long off;
	int err = btf_query_offset(q, type, member_path, &off);

	if (err) {
		fail(cf, "struct", type, member_path, err);
		return;
	}
	cflags_add(cf, "-D%s=%ld", macro, off);
}

void cflags_offset_opt(struct cflags *cf, struct btf_query *q, const char *macro,
		       const char *type, const char *member_path)
{
	long off;

	if (btf_query_offset(q, type, member_path, &off))
		off = -1;
	cflags_add(cf, "-D%s=%ld", macro, off);
}

void cflags_member_size(struct cflags *cf, struct btf_query *q, const char *macro,
			const char *type, const char *member_path)
{
	long size;
	int err = btf_query_member_size(q, type, member_path, &size);

	if (err) {
		fail(cf, "struct", type, member_path, err);
		return;
	}
	cflags_add(cf, "-D%s=%ld", macro, size);
}

void cflags_sizeof(struct cflags *cf, struct btf_query *q, const char *macro, const char *type)
{
	long size;
	int err = btf_query_sizeof(q, type, &size);

	if (err) {
		fail(cf, "type", type, NULL, err);
		return;
	}
	cflags_add(cf, "-D%s=%ld", macro, size);
}

void cflags_enum(struct cflags *cf, struct btf_query *q, const char *macro, const char *enum_name,
		 const char *value_name)
{
	long long v;
	int err = btf_query_enum_value(q, enum_name, value_name, &v);

	if (err) {
		fail(cf, "enum", enum_name, value_name, err);
		return;
	}
	cflags_add(cf, "-D%s=%lld", macro, v);
}

void cflags_free(struct cflags *cf)
{
	for (int i = 0; i < cf->n; i++)
		free(cf->argv[i]);
	cf->n = 0;
}

void cflags_print_program(const struct cflags *cf, const char *text)
{
	printf("// cflags:");
	for (int i = 0; i < cf->n; i++)
		printf(" %s", cf->argv[i]);
	printf("\n%s", text);
}
