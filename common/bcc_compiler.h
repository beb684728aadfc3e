/*
 * libbcc's compiler, used only when the program cache misses: a child
 * process dlopen()s libbcc.so.0 (which links LLVM and clang), compiles the
 * BPF text with the cflags and hands back a pc_entry (instructions with map
 * references resolved to map indexes, map definitions, license, kernel
 * version). The tool itself never maps LLVM. The child's compiler messages
 * go to the tool's stderr.
 */
#ifndef BCCNET_BCC_COMPILER_H
#define BCCNET_BCC_COMPILER_H

#include <stddef.h>

#include "progcache.h"

/* 0, or -ENOEXEC when the program does not compile (libbcc printed why), or -EINVAL. */
int bcc_compile(const char *text, char *const *cflags, int ncflags, struct pc_entry *e,
		char *err, size_t errlen);

#endif
