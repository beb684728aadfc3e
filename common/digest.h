/*
 * Digests for the program cache: SHA-256 (FIPS 180-4) for cache keys and
 * entry verification, and a fast non-cryptographic 256-bit hash for large
 * inputs read on every start (the kernel's BTF, ~5 MB: SHA-256 in portable
 * C would cost ~25 ms there).
 */
#ifndef BCCNET_DIGEST_H
#define BCCNET_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[DIGEST_LEN]);
void sha256(const void *data, size_t len, uint8_t out[DIGEST_LEN]);

/* Four independent 64-bit multiply-rotate lanes over 32-byte blocks. */
void fasthash256(const void *data, size_t len, uint8_t out[DIGEST_LEN]);

/* Lower-case hex of a digest: out must hold 2 * DIGEST_LEN + 1 bytes. */
void digest_hex(const uint8_t d[DIGEST_LEN], char *out);

#endif
