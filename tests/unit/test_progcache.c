/* The program cache's entry format and its checks: every corruption is a clean miss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "progcache.h"

static const uint8_t key_a[DIGEST_LEN] = { 1, 2, 3 };
static const uint8_t key_b[DIGEST_LEN] = { 1, 2, 4 };

/* Two maps, two functions; the second refers to both maps. */
static void make_entry(struct pc_entry *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->license, sizeof(e->license), "GPL");
	e->kern_version = 0x061200;
	e->nmaps = 2;
	e->maps[0] = (struct pc_map){ "events", 27, 0, 0, 1 << 20, 0 };
	e->maps[1] = (struct pc_map){ "bccnet_lost", 2, 4, 8, 1, 0 };
	e->nfuncs = 2;
	for (int f = 0; f < 2; f++) {
		snprintf(e->funcs[f].name, PC_NAME_LEN, "tracepoint__f%d", f);
		e->funcs[f].prog_type = (uint32_t)f * 5;
		e->funcs[f].ninsns = 6;
		e->funcs[f].insns = calloc(6, 8);
		for (int i = 0; i < 6; i++)
			e->funcs[f].insns[i] = 0x1000u * (uint64_t)f + (uint64_t)i;
	}
	e->funcs[1].nrelocs = 2;
	e->funcs[1].relocs = calloc(2, sizeof(struct pc_reloc));
	e->funcs[1].relocs[0] = (struct pc_reloc){ 0, 1 };
	e->funcs[1].relocs[1] = (struct pc_reloc){ 3, 0 };
}

static void encode(uint8_t **buf, size_t *len)
{
	struct pc_entry e;

	make_entry(&e);
	assert_int_equal(pc_entry_encode(&e, key_a, (void **)buf, len), 0);
	pc_entry_free(&e);
}

static int decode(const uint8_t *buf, size_t len, const uint8_t *key)
{
	struct pc_entry e;
	char err[128];
	int rc = pc_entry_decode(buf, len, key, &e, err, sizeof(err));

	pc_entry_free(&e);
	return rc;
}

static void sha256_matches_fips_vectors(void **state)
{
	uint8_t d[DIGEST_LEN];
	char hex[2 * DIGEST_LEN + 1];
	char *million = malloc(1000000);

	(void)state;
	sha256("abc", 3, d);
	digest_hex(d, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, d);
	digest_hex(d, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	memset(million, 'a', 1000000);
	sha256(million, 1000000, d);
	digest_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

static void fasthash_sees_every_byte(void **state)
{
	uint8_t buf[100] = { 0 }, a[DIGEST_LEN], b[DIGEST_LEN];

	(void)state;
	fasthash256(buf, sizeof(buf), a);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] ^= 0x10;
		fasthash256(buf, sizeof(buf), b);
		assert_memory_not_equal(a, b, DIGEST_LEN);
		buf[i] ^= 0x10;
	}
	fasthash256(buf, sizeof(buf) - 1, b);
	assert_memory_not_equal(a, b, DIGEST_LEN);
}

static void round_trip_keeps_everything(void **state)
{
	uint8_t *buf;
	size_t len;
	struct pc_entry e;
	char err[128];

	(void)state;
	encode(&buf, &len);
	assert_int_equal(pc_entry_decode(buf, len, key_a, &e, err, sizeof(err)), 0);
	assert_string_equal(e.license, "GPL");
	assert_int_equal(e.kern_version, 0x061200);
	assert_int_equal(e.nmaps, 2);
	assert_string_equal(e.maps[1].name, "bccnet_lost");
	assert_int_equal(e.maps[1].value_size, 8);
	assert_int_equal(e.maps[0].max_entries, 1 << 20);
	assert_int_equal(e.nfuncs, 2);
	assert_string_equal(pc_entry_func(&e, "tracepoint__f1")->name, "tracepoint__f1");
	assert_null(pc_entry_func(&e, "tracepoint__f2"));
	assert_int_equal(e.funcs[1].prog_type, 5);
	assert_int_equal(e.funcs[1].insns[5], 0x1005);
	assert_int_equal(e.funcs[1].nrelocs, 2);
	assert_int_equal(e.funcs[1].relocs[1].insn, 3);
	assert_int_equal(e.funcs[1].relocs[1].map, 0);
	pc_entry_free(&e);
	free(buf);
}

static void every_flipped_byte_is_detected(void **state)
{
	uint8_t *buf;
	size_t len;

	(void)state;
	encode(&buf, &len);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x40;
		assert_int_equal(decode(buf, len, key_a), -EBADMSG);
		buf[i] ^= 0x40;
	}
	assert_int_equal(decode(buf, len, key_a), 0);
	free(buf);
}

static void truncated_empty_and_grown_entries_are_rejected(void **state)
{
	uint8_t *buf, *grown;
	size_t len;

	(void)state;
	encode(&buf, &len);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(decode(buf, n, key_a), -EBADMSG);
	grown = calloc(1, len + 1);
	memcpy(grown, buf, len);
	assert_int_equal(decode(grown, len + 1, key_a), -EBADMSG);
	free(grown);
	free(buf);
}

static void entry_of_another_key_is_rejected(void **state)
{
	uint8_t *buf;
	size_t len;

	(void)state;
	encode(&buf, &len);
	assert_int_equal(decode(buf, len, key_b), -EBADMSG);
	free(buf);
}

/* A well-formed digest over a bad payload (reloc past the end) is still refused. */
static void out_of_range_relocation_is_rejected(void **state)
{
	struct pc_entry e;
	void *buf;
	size_t len;

	(void)state;
	make_entry(&e);
	e.funcs[1].relocs[0].insn = 5; /* the last instruction: no room for ld_imm64 */
	assert_int_equal(pc_entry_encode(&e, key_a, &buf, &len), 0);
	assert_int_equal(decode(buf, len, key_a), -EBADMSG);
	free(buf);
	e.funcs[1].relocs[0].insn = 0;
	e.funcs[1].relocs[0].map = 2; /* no such map */
	assert_int_equal(pc_entry_encode(&e, key_a, &buf, &len), 0);
	assert_int_equal(decode(buf, len, key_a), -EBADMSG);
	free(buf);
	pc_entry_free(&e);
}

static void store_then_load_and_refuse_unsafe_files(void **state)
{
	char dir[] = "/tmp/bccnet-pc-XXXXXX", path[4096], err[512], got[256];
	struct pc_entry e, back;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the cache accepts only root-owned files */
	assert_non_null(mkdtemp(dir));
	setenv("BCCNET_CACHE_DIR", dir, 1);
	assert_int_equal(progcache_dir(got, sizeof(got), err, sizeof(err)), 0);
	assert_string_equal(got, dir);
	make_entry(&e);
	assert_int_equal(progcache_load(dir, key_a, &back, err, sizeof(err)), -ENOENT);
	assert_int_equal(progcache_store(dir, key_a, &e, err, sizeof(err)), 0);
	assert_int_equal(progcache_load(dir, key_a, &back, err, sizeof(err)), 0);
	assert_int_equal(back.funcs[1].relocs[1].insn, 3);
	pc_entry_free(&back);
	progcache_path(dir, key_a, path, sizeof(path));
	assert_int_equal(chmod(path, 0622), 0);
	assert_int_equal(progcache_load(dir, key_a, &back, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, path));
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(progcache_dir(got, sizeof(got), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, dir));
	unlink(path);
	rmdir(dir);
	pc_entry_free(&e);
}

static void key_covers_text_and_every_cflag(void **state)
{
	char *a[] = { "-DFILTER_PID=1", "-DOFF_X=8" }, *b[] = { "-DFILTER_PID=2", "-DOFF_X=8" };
	char *joined[] = { "-DFILTER_PID=1-DOFF_X=8" };
	uint8_t k1[DIGEST_LEN], k2[DIGEST_LEN];

	(void)state;
	progcache_key("int x;", a, 2, k1);
	progcache_key("int x;", a, 2, k2);
	assert_memory_equal(k1, k2, DIGEST_LEN);
	progcache_key("int x;", b, 2, k2);
	assert_memory_not_equal(k1, k2, DIGEST_LEN);
	progcache_key("int x;", a, 1, k2);
	assert_memory_not_equal(k1, k2, DIGEST_LEN);
	progcache_key("int x;", joined, 1, k2);
	assert_memory_not_equal(k1, k2, DIGEST_LEN);
	progcache_key("int y;", a, 2, k2);
	assert_memory_not_equal(k1, k2, DIGEST_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_matches_fips_vectors),
		cmocka_unit_test(fasthash_sees_every_byte),
		cmocka_unit_test(round_trip_keeps_everything),
		cmocka_unit_test(every_flipped_byte_is_detected),
		cmocka_unit_test(truncated_empty_and_grown_entries_are_rejected),
		cmocka_unit_test(entry_of_another_key_is_rejected),
		cmocka_unit_test(out_of_range_relocation_is_rejected),
		cmocka_unit_test(store_then_load_and_refuse_unsafe_files),
		cmocka_unit_test(key_covers_text_and_every_cflag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
