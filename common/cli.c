#include "cli.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "netdev.h"

bool cli_common_option(int c, const char *arg, struct common_opts *o, const char *usage)
{
	switch (c) {
	case OPT_JSON:
		o->json = true;
		return true;
	case OPT_DURATION:
		o->duration_s = cli_seconds("--duration", arg, 0.001, 31536000);
		return true;
	case OPT_PRINT_BPF:
		o->print_bpf = true;
		return true;
	case 'v':
	case OPT_VERBOSE:
		o->verbose = true;
		return true;
	case OPT_NO_CACHE:
		o->no_cache = true;
		return true;
	case OPT_NETNS:
		cli_netns("--netns", arg, o);
		return true;
	case 'h':
		fputs(usage, stdout);
		exit(0);
	default:
		return false;
	}
}

void cli_bad_option(void)
{
	/* getopt_long has already printed which option was wrong. */
	usage_error("try '%s --help' for the accepted options", log_tool());
}

uint16_t cli_port(const char *opt, const char *arg)
{
	uint16_t port;

	if (parse_port(arg, &port))
		usage_error("invalid %s '%s': expected a port number 1-65535", opt, arg);
	return port;
}

size_t cli_port_list(const char *opt, const char *arg, uint16_t *ports, size_t max)
{
	size_t n;

	if (parse_port_list(arg, ports, max, &n))
		usage_error("invalid %s '%s': expected up to %zu comma-separated ports 1-65535", opt,
			    arg, max);
	return n;
}

uint32_t cli_pid(const char *opt, const char *arg)
{
	uint32_t pid;

	if (parse_pid(arg, &pid))
		usage_error("invalid %s '%s': expected a process ID 1-%u", opt, arg, PID_MAX_LIMIT);
	return pid;
}

double cli_seconds(const char *opt, const char *arg, double min, double max)
{
	double v;

	if (parse_seconds(arg, min, max, &v))
		usage_error("invalid %s '%s': expected seconds from %g to %g", opt, arg, min, max);
	return v;
}

struct ip_addr cli_ip(const char *opt, const char *arg)
{
	struct ip_addr a;

	if (parse_ip_addr(arg, &a))
		usage_error("invalid %s '%s': expected an IPv4 or IPv6 address", opt, arg);
	return a;
}

uint8_t cli_protocol(const char *opt, const char *arg, bool allow_icmp)
{
	uint8_t p;

	if (parse_protocol(arg, &p) || (!allow_icmp && p != IPPROTO_TCP && p != IPPROTO_UDP))
		usage_error("invalid %s '%s': expected %s", opt, arg,
			    allow_icmp ? "tcp, udp, icmp or icmpv6" : "tcp or udp");
	return p;
}

const char *cli_ifname(const char *opt, const char *arg)
{
	if (validate_ifname(arg))
		usage_error("invalid %s '%s': expected an interface name of 1-15 bytes without '/', ':' or whitespace",
			    opt, arg);
	return arg;
}

int cli_family(int current, int requested)
{
	if (current && current != requested)
		usage_error("-4/--ipv4 and -6/--ipv6 are mutually exclusive");
	return requested;
}

uint32_t cli_count(const char *opt, const char *arg, uint32_t max, const char *what)
{
	unsigned long long v;

	if (parse_uint_range(arg, 1, max, &v))
		usage_error("invalid %s '%s': expected a number of %s 1-%u", opt, arg, what, max);
	return (uint32_t)v;
}

void cli_no_extra_args(int argc, char **argv)
{
	if (optind < argc)
		usage_error("unexpected argument '%s'; try '%s --help'", argv[optind], log_tool());
}

void cli_netns(const char *opt, const char *arg, struct common_opts *o)
{
	int rc = netns_resolve(arg, o->netns_path, sizeof(o->netns_path), &o->netns_ino);

	if (rc)
		usage_error("invalid %s '%s': %s (expected a name in /run/netns, a namespace file, or pid:PID)",
			    opt, arg, netns_resolve_error(rc));
}
