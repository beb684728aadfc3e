#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_uint_range(const char *s, unsigned long long min, unsigned long long max,
		     unsigned long long *out)
{
	char *end;
	unsigned long long v;

	/* strtoull accepts leading space and '-' (wrapping); we accept digits only. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_uint_c(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	if ((s[1] == 'x' || s[1] == 'X') && !isxdigit((unsigned char)s[2]))
		return -1; /* strtoull would read "0x-1" as 0 followed by junk, or wrap */
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_port(const char *s, uint16_t *out)
{
	unsigned long long v;

	if (parse_uint_range(s, 1, 65535, &v))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int parse_port_list(const char *s, uint16_t *ports, size_t max_ports, size_t *count)
{
	char buf[512], *tok, *save = NULL;
	size_t n = 0;

	if (!s || strlen(s) >= sizeof(buf) || !*s || s[strlen(s) - 1] == ',')
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max_ports || parse_port(tok, &ports[n]))
			return -1;
		n++;
	}
	if (n == 0 || strstr(s, ",,") || s[0] == ',')
		return -1;
	*count = n;
	return 0;
}

int parse_pid(const char *s, uint32_t *out)
{
	unsigned long long v;

	if (parse_uint_range(s, 1, PID_MAX_LIMIT, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_ip_addr(const char *s, struct ip_addr *out)
{
	struct ip_addr a;

	memset(&a, 0, sizeof(a));
	if (!s)
		return -1;
	/* inet_pton(AF_INET) takes only the full dotted quad, unlike inet_aton. */
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	else
		return -1;
	*out = a;
	return 0;
}

static const struct {
	const char *name;
	uint8_t number;
} protocols[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },
};

int parse_protocol(const char *s, uint8_t *out)
{
	for (size_t i = 0; s && i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (strcasecmp(s, protocols[i].name) == 0) {
			*out = protocols[i].number;
			return 0;
		}
	}
	return -1;
}

const char *protocol_name(uint8_t proto)
{
	static const char *const names[] = {
		[IPPROTO_TCP] = "TCP",
		[IPPROTO_UDP] = "UDP",
		[IPPROTO_ICMP] = "ICMP",
		[IPPROTO_ICMPV6] = "ICMPv6",
	};

	if (proto < sizeof(names) / sizeof(names[0]) && names[proto])
		return names[proto];
	return NULL;
}

int validate_ifname(const char *s)
{
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	if (len == 0 || len > IFNAME_MAX_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* The kernel's dev_valid_name(): no '/', ':' or whitespace. */
		if (c == '/' || c == ':' || isspace(c) || c < 0x20 || c == 0x7f)
			return -1;
	}
	return 0;
}

void ifname_to_words(const char *name, uint64_t words[2])
{
	char buf[16] = { 0 };

	strncpy(buf, name, sizeof(buf) - 1);
	memcpy(words, buf, sizeof(buf));
}

void ip_addr_to_words(const struct ip_addr *a, uint64_t words[2])
{
	memcpy(words, a->bytes, 16);
}
