/*
 * Command-line glue shared by every tool: the parsers of parse.h wrapped so
 * that bad input ends with one line naming the value and what is accepted,
 * exit status 2; and the options every tool has (--json, --duration,
 * --print-bpf, --help).
 */
#ifndef BCCNET_CLI_H
#define BCCNET_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

enum {
	OPT_JSON = 1000,
	OPT_DURATION,
	OPT_PRINT_BPF,
	OPT_HELP,
	OPT_VERBOSE,
	OPT_NETNS,
	OPT_NO_CACHE,
};

#define CLI_COMMON_LONG_OPTS                                                    \
	{ "json", no_argument, NULL, OPT_JSON },                                \
	{ "duration", required_argument, NULL, OPT_DURATION },                  \
	{ "print-bpf", no_argument, NULL, OPT_PRINT_BPF },                      \
	{ "help", no_argument, NULL, 'h' },                                     \
	{ "verbose", no_argument, NULL, OPT_VERBOSE },                          \
	{ "netns", required_argument, NULL, OPT_NETNS },                        \
	{ "no-cache", no_argument, NULL, OPT_NO_CACHE }

#define CLI_COMMON_HELP                                                         \
	"      --json             one JSON object per line on stdout\n"         \
	"      --duration SECS    stop after SECS seconds (default: until Ctrl-C)\n" \
	"      --print-bpf        print the cflags and BPF text, load nothing\n" \
	"      --netns NS         only network namespace NS: a name in /run/netns, a path, or pid:PID\n" \
	"      --verbose          also show compiler diagnostics and load details\n" \
	"      --no-cache         compile afresh; neither use nor fill the program cache\n" \
	"  -h, --help             show this help\n"

struct common_opts {
	bool json;
	bool print_bpf;
	bool verbose;
	bool no_cache;
	double duration_s; /* 0: run until a signal */
	uint32_t netns_ino;  /* --netns: the namespace's inode; 0: not given */
	char netns_path[128]; /* --netns: the namespace file (for setns) */
};

/* Handles a common option (and -v, when the tool's optstring has it); returns false if c
 * is not one. */
bool cli_common_option(int c, const char *arg, struct common_opts *o, const char *usage);
_Noreturn void cli_bad_option(void);

uint16_t cli_port(const char *opt, const char *arg);
size_t cli_port_list(const char *opt, const char *arg, uint16_t *ports, size_t max);
uint32_t cli_pid(const char *opt, const char *arg);
/* A count 1..max of `what` (e.g. "connections"), or exit 2 naming the range. */
uint32_t cli_count(const char *opt, const char *arg, uint32_t max, const char *what);
double cli_seconds(const char *opt, const char *arg, double min, double max);
struct ip_addr cli_ip(const char *opt, const char *arg);
uint8_t cli_protocol(const char *opt, const char *arg, bool allow_icmp);
const char *cli_ifname(const char *opt, const char *arg);
/* --netns NS: resolves NS to its namespace file and inode, or exits 2. */
void cli_netns(const char *opt, const char *arg, struct common_opts *o);
void cli_no_extra_args(int argc, char **argv);
/* -4 / -6: returns `requested`, or exits 2 when the other family was given before. */
int cli_family(int current, int requested);

#endif
