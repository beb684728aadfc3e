/*
 * The compiled-program cache: what libbcc produced for one program (the
 * instructions of every function, the map definitions, which instructions
 * refer to which map, license, kernel version), stored under a key that
 * covers everything that changes the compiled program, so that a repeated
 * run loads without the compiler.
 *
 * File: header (magic, format version, payload length, key, SHA-256 of the
 * payload) + payload. Nothing here prints; errors come back as -errno with
 * a message.
 */
#ifndef BCCNET_PROGCACHE_H
#define BCCNET_PROGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define PC_MAX_MAPS 32
#define PC_MAX_FUNCS 64
#define PC_NAME_LEN 128
#define PC_DEFAULT_DIR "/var/cache/bccnet"
/* Entries kept (3-80 KB each): each new filter value is a new entry; the least recently used go. */
#define PC_MAX_ENTRIES 256

struct pc_map {
	char name[PC_NAME_LEN];
	uint32_t type, key_size, value_size, max_entries, flags;
};

struct pc_reloc {
	uint32_t insn; /* index of an ld_imm64 (src_reg BPF_PSEUDO_MAP_FD) */
	uint32_t map;  /* index into pc_entry.maps */
};

struct pc_func {
	char name[PC_NAME_LEN];
	uint32_t prog_type; /* as loaded when recorded; 0: not loaded then */
	uint32_t ninsns;
	uint64_t *insns; /* struct bpf_insn, 8 bytes each; map fds zeroed */
	uint32_t nrelocs;
	struct pc_reloc *relocs;
};

struct pc_entry {
	char license[PC_NAME_LEN];
	uint32_t kern_version;
	uint32_t nmaps, nfuncs;
	struct pc_map maps[PC_MAX_MAPS];
	struct pc_func funcs[PC_MAX_FUNCS];
};

/* The whole file (header + payload) in a malloc'ed buffer. */
int pc_entry_encode(const struct pc_entry *e, const uint8_t key[DIGEST_LEN], void **buf,
		    size_t *len);
/* Verifies magic, version, length, digest and key, then parses (bounds-checked). */
int pc_entry_decode(const void *buf, size_t len, const uint8_t key[DIGEST_LEN],
		    struct pc_entry *e, char *err, size_t errlen);
void pc_entry_free(struct pc_entry *e);
/* write() until done (EINTR retried): 0 or -errno. */
int pc_write_all(int fd, const void *buf, size_t len);
struct pc_func *pc_entry_func(struct pc_entry *e, const char *name);

/* Key of a program: text, cflags, kernel (release, build, BTF, tracepoint
 * formats the text uses), kernel headers, libbcc, this binary. */
void progcache_key(const char *text, char *const *cflags, int ncflags, uint8_t key[DIGEST_LEN]);

/* The cache directory: $BCCNET_CACHE_DIR, or PC_DEFAULT_DIR. Created (0700)
 * if missing; -EPERM with a message naming it if it is not a root-owned
 * directory that only root can write. */
int progcache_dir(char *dir, size_t len, char *err, size_t errlen);
/* 0 and the entry; -ENOENT: no entry; -EPERM: unsafe file (named in err);
 * -EBADMSG: corrupt (err says how). */
int progcache_load(const char *dir, const uint8_t key[DIGEST_LEN], struct pc_entry *e,
		   char *err, size_t errlen);
/* Atomically (temp file + rename) writes the entry; 0 or -errno. */
int progcache_store(const char *dir, const uint8_t key[DIGEST_LEN], const struct pc_entry *e,
		    char *err, size_t errlen);
void progcache_path(const char *dir, const uint8_t key[DIGEST_LEN], char *path, size_t len);
/* Removes the least recently used entries (stored or loaded: their mtime) beyond keep;
 * the number removed, or -errno. Other files in dir are left alone. */
int progcache_prune(const char *dir, int keep);

#endif
