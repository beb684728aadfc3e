/*
 * Validated parsers for everything a user types. Pure functions: they return
 * 0 on success and -1 on bad input, print nothing, and never leave a partial
 * result in *out. cli.h turns a failure into the standard usage error.
 */
#ifndef BCCNET_PARSE_H
#define BCCNET_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PID_MAX_LIMIT 4194304u /* the kernel's upper bound for pid_max */
#define IFNAME_MAX_LEN 15      /* IFNAMSIZ - 1 */

struct ip_addr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4 bytes */
};

int parse_uint_range(const char *s, unsigned long long min, unsigned long long max,
		     unsigned long long *out);
/* C notation as strtoul(s, NULL, 0): decimal, 0x hex or 0 octal; digits only, no sign. */
int parse_uint_c(const char *s, unsigned long long max, unsigned long long *out);
int parse_port(const char *s, uint16_t *out);
int parse_port_list(const char *s, uint16_t *ports, size_t max_ports, size_t *count);
int parse_pid(const char *s, uint32_t *out);
int parse_seconds(const char *s, double min, double max, double *out);
int parse_ip_addr(const char *s, struct ip_addr *out);
int parse_protocol(const char *s, uint8_t *out);
const char *protocol_name(uint8_t proto);
int validate_ifname(const char *s);
/* The device name as the kernel stores it (16 bytes, NUL padded), as two words. */
void ifname_to_words(const char *name, uint64_t words[2]);
/* The address as two native-endian words of its 16 bytes (IPv4: first word only). */
void ip_addr_to_words(const struct ip_addr *a, uint64_t words[2]);

#endif
