/*
 * BTF lookups of common/btf_query.c checked against bpftool's raw dump of
 * this kernel's BTF (`bpftool btf dump file /sys/kernel/btf/vmlinux format raw`),
 * including members inside anonymous unions/structs, sizes and enum values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btf_query.h"

#define MAX_LINES 400000

static char **lines;
static int nlines;
static struct btf_query *q;

static int load_dump(void **state)
{
	char buf[512], err[256];
	FILE *p = popen("bpftool btf dump file /sys/kernel/btf/vmlinux format raw", "r");

	(void)state;
	if (!p)
		return -1;
	lines = calloc(MAX_LINES, sizeof(*lines));
	while (nlines < MAX_LINES && fgets(buf, sizeof(buf), p))
		lines[nlines++] = strdup(buf);
	pclose(p);
	q = btf_query_open(NULL, err, sizeof(err));
	return nlines > 1000 && q ? 0 : -1;
}

/* Line index of "[ID] KIND 'name'" (by id when name is NULL). */
static int find_type_line(const char *kind, const char *name, long id)
{
	char want[160];

	if (name)
		snprintf(want, sizeof(want), "] %s '%s' ", kind, name);
	else
		snprintf(want, sizeof(want), "[%ld] ", id);
	for (int i = 0; i < nlines; i++)
		if (lines[i][0] == '[' && (name ? strstr(lines[i], want) != NULL
					       : strncmp(lines[i], want, strlen(want)) == 0))
			return i;
	return -1;
}

/* Bit offset of `member` in the type starting at line t, descending into
 * anonymous members as the kernel's C does; -1 if absent. */
static long dump_member_bits(int t, const char *member)
{
	char want[160];
	long bits, type_id, inner;

	snprintf(want, sizeof(want), "\t'%s' type_id=", member);
	for (int i = t + 1; i < nlines && lines[i][0] == '\t'; i++) {
		sscanf(strstr(lines[i], "type_id="), "type_id=%ld bits_offset=%ld", &type_id, &bits);
		if (strncmp(lines[i], want, strlen(want)) == 0)
			return bits;
		if (strncmp(lines[i], "\t'(anon)'", 9) == 0 &&
		    (inner = dump_member_bits(find_type_line(NULL, NULL, type_id), member)) >= 0)
			return bits + inner;
	}
	return -1;
}

/* Byte offset of a member of a struct per bpftool's dump. */
static long dump_offset(const char *st, const char *member)
{
	int t = find_type_line("STRUCT", st, 0);
	long bits;

	assert_true(t >= 0);
	bits = dump_member_bits(t, member);
	assert_true(bits >= 0);
	return bits / 8;
}

static long ours(const char *st, const char *member)
{
	long off = -1;

	assert_int_equal(btf_query_offset(q, st, member, &off), 0);
	return off;
}

static void test_direct_members(void **state)
{
	(void)state;
	const char *ring[] = { "producer", "consumer_head", "consumer_tail", "size", "queue" };
	for (size_t i = 0; i < sizeof(ring) / sizeof(ring[0]); i++)
		assert_int_equal(ours("ptr_ring", ring[i]), dump_offset("ptr_ring", ring[i]));
	assert_int_equal(ours("tun_file", "tx_ring"), dump_offset("tun_file", "tx_ring"));
	assert_int_equal(ours("tun_struct", "numqueues"), dump_offset("tun_struct", "numqueues"));
	assert_int_equal(ours("net_device", "name"), dump_offset("net_device", "name"));
}

static void test_members_in_anonymous_unions(void **state)
{
	(void)state;
	/* sock_common: skc_daddr sits in a struct in a union, skc_num in a struct in a union. */
	assert_int_equal(ours("sock_common", "skc_daddr"), dump_offset("sock_common", "skc_daddr"));
	assert_int_equal(ours("sock_common", "skc_rcv_saddr"),
			 dump_offset("sock_common", "skc_rcv_saddr"));
	assert_int_equal(ours("sock_common", "skc_num"), dump_offset("sock_common", "skc_num"));
	assert_int_equal(ours("sock_common", "skc_dport"), dump_offset("sock_common", "skc_dport"));
}

static void test_member_paths(void **state)
{
	(void)state;
	assert_int_equal(ours("tun_file", "tx_ring.queue"),
			 ours("tun_file", "tx_ring") + ours("ptr_ring", "queue"));
	assert_int_equal(ours("net", "ns.inum"), ours("net", "ns") + ours("ns_common", "inum"));
}

static void test_sizes(void **state)
{
	long size, dump_size;
	int t = find_type_line("STRUCT", "net_device", 0);

	(void)state;
	sscanf(strstr(lines[t], "size="), "size=%ld", &dump_size);
	assert_int_equal(btf_query_sizeof(q, "net_device", &size), 0);
	assert_int_equal(size, dump_size);
	assert_int_equal(btf_query_member_size(q, "tun_struct", "tfiles", &size), 0);
	assert_int_equal(size, ours("tun_struct", "numqueues") - ours("tun_struct", "tfiles"));
}

static void test_enums(void **state)
{
	long long v = -1;
	long dump_val = -2;
	int t = find_type_line("ENUM", "skb_drop_reason", 0);

	(void)state;
	assert_true(t >= 0);
	for (int i = t + 1; i < nlines && lines[i][0] == '\t'; i++)
		if (strstr(lines[i], "'SKB_DROP_REASON_TCP_CSUM' val="))
			sscanf(strstr(lines[i], "val="), "val=%ld", &dump_val);
	assert_int_equal(btf_query_enum_value(q, "skb_drop_reason", "SKB_DROP_REASON_TCP_CSUM", &v), 0);
	assert_int_equal(v, dump_val);
	assert_string_equal(btf_query_enum_name(q, "skb_drop_reason", dump_val),
			    "SKB_DROP_REASON_TCP_CSUM");
}

static void test_errors(void **state)
{
	long off;
	long long v;

	(void)state;
	assert_int_equal(btf_query_offset(q, "no_such_struct_bccnet", "x", &off), -ENOENT);
	assert_int_equal(btf_query_offset(q, "ptr_ring", "no_such_member", &off), -ESRCH);
	assert_int_equal(btf_query_offset(q, "sock_common", "skc_reuseport", &off), -EINVAL);
	assert_int_equal(btf_query_enum_value(q, "skb_drop_reason", "NOPE", &v), -ESRCH);
	assert_null(btf_query_enum_name(q, "skb_drop_reason", -12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_members), cmocka_unit_test(test_members_in_anonymous_unions),
		cmocka_unit_test(test_member_paths),   cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_enums),          cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, load_dump, NULL);
}
