/* The cache key: everything that changes what libbcc compiles. */
#include "progcache.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef BCCNET_LIBBCC_PATH
#define BCCNET_LIBBCC_PATH "libbcc.so.0"
#endif

#define PC_KEY_VERSION "bccnet program cache key 1"
#define TRACEFS_EVENTS "/sys/kernel/tracing/events"

static void add_bytes(struct sha256 *s, const void *p, size_t n)
{
	uint64_t len = n;

	sha256_update(s, &len, sizeof(len));
	sha256_update(s, p, n);
}

static void add_str(struct sha256 *s, const char *str) { add_bytes(s, str, strlen(str)); }

/* A whole small file, or its absence. */
static void add_file(struct sha256 *s, const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	add_str(s, path);
	if (fd < 0) {
		add_str(s, "(missing)");
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(s, buf, (size_t)n);
	close(fd);
}

/* A file's identity without reading it: device, inode, size, mtime. */
static void add_stat(struct sha256 *s, const char *path)
{
	struct stat st;
	uint64_t v[5] = { 0 };

	add_str(s, path);
	if (stat(path, &st) == 0) {
		v[0] = st.st_dev;
		v[1] = st.st_ino;
		v[2] = (uint64_t)st.st_size;
		v[3] = (uint64_t)st.st_mtim.tv_sec;
		v[4] = (uint64_t)st.st_mtim.tv_nsec;
	}
	sha256_update(s, v, sizeof(v));
}

/* The running kernel's BTF, ~5 MB read on every start: a fast digest of each
 * 64 KiB chunk goes into the key (no buffer of the whole file, no SHA-256 of it). */
static void add_btf(struct sha256 *s)
{
	static uint8_t chunk[64 << 10];
	uint8_t d[DIGEST_LEN];
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	size_t fill = 0;
	ssize_t n = 1;

	add_str(s, fd < 0 ? "(no BTF)" : "BTF");
	while (fd >= 0 && n > 0) {
		n = read(fd, chunk + fill, sizeof(chunk) - fill);
		if (n > 0)
			fill += (size_t)n;
		if (fill == sizeof(chunk) || (n <= 0 && fill)) {
			fasthash256(chunk, fill, d);
			sha256_update(s, d, sizeof(d));
			fill = 0;
		}
	}
	if (fd >= 0)
		close(fd);
}

/* TRACEPOINT_PROBE(cat, ev): libbcc builds the args struct from the format file. */
static void add_tracepoint_formats(struct sha256 *s, const char *text)
{
	const char *p = text;
	char cat[64], ev[128], path[256];

	while ((p = strstr(p, "TRACEPOINT_PROBE(")) != NULL) {
		p += strlen("TRACEPOINT_PROBE(");
		if (sscanf(p, " %63[A-Za-z0-9_] , %127[A-Za-z0-9_] )", cat, ev) != 2)
			continue;
		snprintf(path, sizeof(path), TRACEFS_EVENTS "/%s/%s/format", cat, ev);
		add_file(s, path);
	}
}

/* The kernel headers libbcc compiles against: where they are and key files' identity. */
static void add_headers(struct sha256 *s, const char *release)
{
	static const char *const dirs[] = { "build", "source" };
	static const char *const files[] = {
		"Makefile", "include/generated/autoconf.h", "include/config/auto.conf",
		"include/generated/uapi/linux/version.h", "include/linux/kconfig.h",
		"include/linux/types.h",
	};
	char path[PATH_MAX], real[PATH_MAX];

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", release, dirs[d]);
		add_str(s, realpath(path, real) ? real : "(missing)");
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			snprintf(path, sizeof(path), "/lib/modules/%s/%s/%s", release, dirs[d],
				 files[f]);
			add_stat(s, path);
		}
	}
}

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	struct sha256 *s = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;

		while (ph->p_type == PT_NOTE && p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const char *desc = p + sizeof(*n) + ((n->n_namesz + 3) & ~3u);

			if (n->n_type == NT_GNU_BUILD_ID && desc + n->n_descsz <= end) {
				add_bytes(s, desc, n->n_descsz);
				return 1;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1; /* only the executable itself (the first object) */
}

/* This binary: its GNU build id, or if it has none, its whole contents. */
static void add_self(struct sha256 *s)
{
	struct sha256 probe = *s;

	dl_iterate_phdr(find_build_id, &probe);
	if (memcmp(&probe, s, sizeof(probe))) {
		*s = probe;
		return;
	}
	add_file(s, "/proc/self/exe");
}

void progcache_key(const char *text, char *const *cflags, int ncflags, uint8_t key[DIGEST_LEN])
{
	struct sha256 s;
	struct utsname u;

	sha256_init(&s);
	add_str(&s, PC_KEY_VERSION);
	add_str(&s, text);
	add_bytes(&s, &ncflags, sizeof(ncflags));
	for (int i = 0; i < ncflags; i++)
		add_str(&s, cflags[i]);
	uname(&u);
	add_str(&s, u.sysname);
	add_str(&s, u.release);
	add_str(&s, u.version);
	add_str(&s, u.machine);
	add_btf(&s);
	add_tracepoint_formats(&s, text);
	add_headers(&s, u.release);
	add_stat(&s, BCCNET_LIBBCC_PATH);
	add_self(&s);
	sha256_final(&s, key);
}
