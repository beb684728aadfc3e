#include "bcc_compiler.h"

#include <bcc/bcc_common.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BCCNET_LIBBCC_PATH
#define BCCNET_LIBBCC_PATH "libbcc.so.0"
#endif

/* Child exit codes. */
enum { CHILD_OK, CHILD_NO_LIBBCC, CHILD_COMPILE, CHILD_RECORD, CHILD_WRITE };

/* The libbcc calls we need, resolved with dlsym (declared in <bcc/bcc_common.h>). */
struct bcc_api {
	__typeof__(bpf_module_create_c_from_string) *create;
	__typeof__(bpf_module_destroy) *destroy;
	__typeof__(bpf_module_license) *license;
	__typeof__(bpf_module_kern_version) *kern_version;
	__typeof__(bpf_num_functions) *num_functions;
	__typeof__(bpf_function_name) *function_name;
	__typeof__(bpf_function_start_id) *function_start;
	__typeof__(bpf_function_size_id) *function_size;
	__typeof__(bpf_num_tables) *num_tables;
	__typeof__(bpf_table_name) *table_name;
	__typeof__(bpf_table_fd_id) *table_fd;
	__typeof__(bpf_table_type_id) *table_type;
	__typeof__(bpf_table_key_size_id) *key_size;
	__typeof__(bpf_table_leaf_size_id) *leaf_size;
	__typeof__(bpf_table_max_entries_id) *max_entries;
	__typeof__(bpf_table_flags_id) *flags;
};

#define BCC_SYM(api, field, name) ((api)->field = (__typeof__((api)->field))dlsym(lib, #name))

static int bcc_api_open(struct bcc_api *a)
{
	void *lib = dlopen(BCCNET_LIBBCC_PATH, RTLD_LAZY | RTLD_LOCAL);

	if (!lib)
		lib = dlopen("libbcc.so.0", RTLD_LAZY | RTLD_LOCAL);
	if (!lib)
		return -1;
	return BCC_SYM(a, create, bpf_module_create_c_from_string) &&
			       BCC_SYM(a, destroy, bpf_module_destroy) &&
			       BCC_SYM(a, license, bpf_module_license) &&
			       BCC_SYM(a, kern_version, bpf_module_kern_version) &&
			       BCC_SYM(a, num_functions, bpf_num_functions) &&
			       BCC_SYM(a, function_name, bpf_function_name) &&
			       BCC_SYM(a, function_start, bpf_function_start_id) &&
			       BCC_SYM(a, function_size, bpf_function_size_id) &&
			       BCC_SYM(a, num_tables, bpf_num_tables) &&
			       BCC_SYM(a, table_name, bpf_table_name) &&
			       BCC_SYM(a, table_fd, bpf_table_fd_id) &&
			       BCC_SYM(a, table_type, bpf_table_type_id) &&
			       BCC_SYM(a, key_size, bpf_table_key_size_id) &&
			       BCC_SYM(a, leaf_size, bpf_table_leaf_size_id) &&
			       BCC_SYM(a, max_entries, bpf_table_max_entries_id) &&
			       BCC_SYM(a, flags, bpf_table_flags_id)
		       ? 0
		       : -1;
}

static int record_maps(const struct bcc_api *a, void *mod, struct pc_entry *e, int *fds)
{
	size_t n = a->num_tables(mod);

	if (n > PC_MAX_MAPS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct pc_map *m = &e->maps[i];

		snprintf(m->name, sizeof(m->name), "%s", a->table_name(mod, i));
		m->type = (uint32_t)a->table_type(mod, i);
		m->key_size = (uint32_t)a->key_size(mod, i);
		m->value_size = (uint32_t)a->leaf_size(mod, i);
		m->max_entries = (uint32_t)a->max_entries(mod, i);
		m->flags = (uint32_t)a->flags(mod, i);
		fds[i] = a->table_fd(mod, i);
	}
	e->nmaps = (uint32_t)n;
	return 0;
}

static int map_of_fd(const struct pc_entry *e, const int *fds, int32_t fd)
{
	for (uint32_t i = 0; i < e->nmaps; i++)
		if (fds[i] == fd)
			return (int)i;
	return -1;
}

/* libbcc put map fds into ld_imm64 instructions; record them as map indexes. */
static int record_relocs(struct pc_func *f, const struct pc_entry *e, const int *fds)
{
	struct bpf_insn *insns = (struct bpf_insn *)f->insns;

	f->relocs = calloc(f->ninsns ? f->ninsns : 1, sizeof(*f->relocs));
	if (!f->relocs)
		return -1;
	for (uint32_t i = 0; i + 1 < f->ninsns; i++) {
		int map;

		if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (insns[i].src_reg == BPF_PSEUDO_MAP_FD) {
			map = map_of_fd(e, fds, insns[i].imm);
			if (map < 0)
				return -1;
			insns[i].imm = 0;
			f->relocs[f->nrelocs++] = (struct pc_reloc){ i, (uint32_t)map };
		} else if (insns[i].src_reg != 0) {
			return -1; /* map values, BTF ids, ...: not produced by our programs */
		}
		i++;
	}
	return 0;
}

static int record_funcs(const struct bcc_api *a, void *mod, struct pc_entry *e, const int *fds)
{
	size_t n = a->num_functions(mod);

	if (n > PC_MAX_FUNCS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct pc_func *f = &e->funcs[i];
		size_t size = a->function_size(mod, i);

		e->nfuncs = (uint32_t)i + 1;
		snprintf(f->name, sizeof(f->name), "%s", a->function_name(mod, i));
		f->ninsns = (uint32_t)(size / 8);
		f->insns = malloc(size ? size : 1);
		if (!f->insns)
			return -1;
		memcpy(f->insns, a->function_start(mod, i), size);
		if (record_relocs(f, e, fds))
			return -1;
	}
	return 0;
}

static const uint8_t pipe_key[DIGEST_LEN];

static _Noreturn void child(const char *text, char *const *cflags, int ncflags, int out)
{
	struct bcc_api a;
	struct pc_entry e;
	int fds[PC_MAX_MAPS];
	void *mod, *buf;
	size_t len;

	if (bcc_api_open(&a))
		_exit(CHILD_NO_LIBBCC);
	mod = a.create(text, 0, (const char **)cflags, ncflags, true, NULL);
	if (!mod)
		_exit(CHILD_COMPILE);
	memset(&e, 0, sizeof(e));
	snprintf(e.license, sizeof(e.license), "%s", a.license(mod));
	e.kern_version = a.kern_version(mod);
	if (record_maps(&a, mod, &e, fds) || record_funcs(&a, mod, &e, fds) ||
	    pc_entry_encode(&e, pipe_key, &buf, &len))
		_exit(CHILD_RECORD);
	_exit(pc_write_all(out, buf, len) ? CHILD_WRITE : CHILD_OK);
}

static ssize_t read_pipe(int fd, void **out)
{
	size_t cap = 0, len = 0;
	char *buf = NULL, *p;
	ssize_t n = 0;

	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				n = -1;
				break;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	return n == 0 ? (ssize_t)len : -1;
}

static int child_error(int status, const char *why, char *err, size_t errlen)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

	if (code == CHILD_COMPILE) {
		snprintf(err, errlen, "cannot compile the BPF program");
		return -ENOEXEC;
	}
	if (code == CHILD_NO_LIBBCC)
		snprintf(err, errlen, "cannot load libbcc (%s): install libbpfcc", BCCNET_LIBBCC_PATH);
	else if (code == CHILD_RECORD)
		snprintf(err, errlen, "cannot record the compiled program (unsupported instruction or too many maps/functions)");
	else
		snprintf(err, errlen, "the compiler process failed (%s, status %d)", why, status);
	return -EINVAL;
}

/* 0 or the error of the child (rc from decoding, or its exit status). */
int bcc_compile(const char *text, char *const *cflags, int ncflags, struct pc_entry *e,
		char *err, size_t errlen)
{
	char why[128] = "no output";
	int p[2], status = 0, rc = -EINVAL;
	void *buf = NULL;
	ssize_t len;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(text, cflags, ncflags, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return snprintf(err, errlen, "fork: %s", strerror(errno)), -errno;
	}
	len = read_pipe(p[0], &buf);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OK && len > 0)
		rc = pc_entry_decode(buf, (size_t)len, pipe_key, e, why, sizeof(why));
	free(buf);
	return rc ? child_error(status, why, err, errlen) : 0;
}
