/* The validated parsers of common/parse.c: what they accept and what they refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "parse.h"

static void test_uint_range(void **state)
{
	unsigned long long v = 7;

	(void)state;
	assert_int_equal(parse_uint_range("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	const char *bad[] = { "", "80abc", " 8", "-1", "+5", "101", "0", "1e2", "0x10",
			      "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(parse_uint_range(bad[i], 1, 100, &v), -1);
		assert_int_equal(v, 7); /* untouched on failure */
	}
}

/* -e MASK of tcp-insight: C notation, as strtoul(s, NULL, 0) reads it, digits only. */
static void test_uint_c(void **state)
{
	unsigned long long v = 7;

	(void)state;
	assert_int_equal(parse_uint_c("99", 0xffff, &v), 0);
	assert_int_equal(v, 99);
	assert_int_equal(parse_uint_c("0x63", 0xffff, &v), 0);
	assert_int_equal(v, 0x63);
	assert_int_equal(parse_uint_c("0X1C", 0xffff, &v), 0);
	assert_int_equal(v, 0x1c);
	assert_int_equal(parse_uint_c("0143", 0xffff, &v), 0);
	assert_int_equal(v, 0x63);
	assert_int_equal(parse_uint_c("0", 0xffff, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint_c("0xFFFF", 0xffff, &v), 0);
	assert_int_equal(v, 0xffff);
	const char *bad[] = { "", "0x", "0x-1", "0x 1", "-1", "+1", " 1", "0x10000", "65536",
			      "08", "1x2", "0xg", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(parse_uint_c(bad[i], 0xffff, &v), -1);
		assert_int_equal(v, 7);
	}
}

static void test_port_and_pid(void **state)
{
	uint16_t port;
	uint32_t pid;

	(void)state;
	assert_int_equal(parse_port("1", &port), 0);
	assert_int_equal(port, 1);
	assert_int_equal(parse_port("65535", &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(parse_port("0", &port), -1);
	assert_int_equal(parse_port("65536", &port), -1);
	assert_int_equal(parse_pid("4194304", &pid), 0);
	assert_int_equal(parse_pid("4194305", &pid), -1);
	assert_int_equal(parse_pid("0", &pid), -1);
}

static void test_port_list(void **state)
{
	uint16_t ports[4];
	size_t n = 0;

	(void)state;
	assert_int_equal(parse_port_list("80,81,443", ports, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ports[2], 443);
	const char *bad[] = { "", ",", "80,", ",80", "80,,81", "80,x", "1,2,3,4,5", "0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_port_list(bad[i], ports, 4, &n), -1);
}

static void test_seconds(void **state)
{
	double v;

	(void)state;
	assert_int_equal(parse_seconds("0.5", 0.001, 10, &v), 0);
	assert_true(v == 0.5);
	assert_int_equal(parse_seconds(".25", 0.001, 10, &v), 0);
	const char *bad[] = { "0", "-1", "nan", "inf", "1s", "", "11", "1e400" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_seconds(bad[i], 0.001, 10, &v), -1);
}

static void test_ip_addr(void **state)
{
	struct ip_addr a;
	uint64_t w[2];
	static const uint8_t v4[] = { 10, 77, 0, 1 };

	(void)state;
	assert_int_equal(parse_ip_addr("10.77.0.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.bytes, v4, 4);
	ip_addr_to_words(&a, w);
	assert_int_equal(w[1], 0);
	assert_int_equal(w[0], 0x1004d0a); /* the bytes as a little-endian word */
	assert_int_equal(parse_ip_addr("fd77::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.bytes[0], 0xfd);
	assert_int_equal(a.bytes[15], 1);
	const char *bad[] = { "10.0.0", "10.0.0.256", "1.2.3.4.5", "fd77:::1", "host", "", " 1.2.3.4" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_ip_addr(bad[i], &a), -1);
}

static void test_protocol(void **state)
{
	uint8_t p;

	(void)state;
	assert_int_equal(parse_protocol("tcp", &p), 0);
	assert_int_equal(p, IPPROTO_TCP);
	assert_int_equal(parse_protocol("UDP", &p), 0);
	assert_int_equal(p, IPPROTO_UDP);
	assert_int_equal(parse_protocol("sctp", &p), -1);
	assert_string_equal(protocol_name(IPPROTO_TCP), "TCP");
	assert_null(protocol_name(200));
}

static void test_ifname(void **state)
{
	uint64_t w[2];

	(void)state;
	assert_int_equal(validate_ifname("vnet12"), 0);
	assert_int_equal(validate_ifname("fifteen-bytes-x"), 0);
	const char *bad[] = { "", "sixteen-bytes-xx", "a/b", "a:b", "a b", "tab\tx", ".", ".." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(validate_ifname(bad[i]), -1);
	ifname_to_words("tun0", w);
	assert_int_equal(w[0], 0x306e7574);
	assert_int_equal(w[1], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_range), cmocka_unit_test(test_uint_c),
		cmocka_unit_test(test_port_and_pid),
		cmocka_unit_test(test_port_list),  cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_ip_addr),    cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_ifname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
