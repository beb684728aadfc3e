// tcp-insight and the running kernel: which of its tracepoints this kernel has (from BTF,
// with the argument variants as -D flags), struct offsets and enum values from BTF, and
// attaching the tracepoints of the selected events.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "log.h"
#include "netfmt.h"
#include "tcp_insight_int.h"

/* Raw tracepoints and the argument list the program reads (a prefix of TP_PROTO). */
struct hook {
	const char *tp, *args;
	unsigned events; /* 0: always needed (socket tracking) */
	/* -D<flag>=1 when this kernel passes more arguments than args, else 0 (NULL: no flag):
	 * tcp_retransmit_skb's err (Linux 6.7), tcp_send_reset's reason (6.10). */
	const char *more_args_flag;
};

#define PROBE_EVENTS \
	(TCPI_CWND_CHANGE | TCPI_RTT_UPDATE | TCPI_SLOW_START | TCPI_CONG_AVOID | TCPI_SACK)

static const struct hook hooks[] = {
	{ "inet_sock_set_state", "sock *,int,int", 0, NULL },
	{ "tcp_destroy_sock", "sock *", 0, NULL },
	{ "tcp_retransmit_skb", "sock *,sk_buff *", TCPI_RETRANSMIT, "RETRANS_HAS_ERR" },
	{ "tcp_retransmit_synack", "sock *,request_sock *", TCPI_RETRANSMIT, NULL },
	{ "tcp_send_reset", "sock *,sk_buff *", TCPI_RESET, "RST_HAS_REASON" },
	{ "tcp_receive_reset", "sock *", TCPI_RESET, NULL },
	{ "tcp_probe", "sock *,sk_buff *", PROBE_EVENTS, NULL },
	{ "tcp_cong_state_set", "sock *,u8", TCPI_FAST_RECOVERY | TCPI_TIMEOUT, NULL },
	{ "tcp_rcv_space_adjust", "sock *", TCPI_WINDOW_UPDATE, NULL },
};
#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))
_Static_assert(NHOOKS <= TCPI_MAX_HOOKS, "struct tcp_insight.hook_present has no room");

/* A struct member the program reads: -D<macro>=offset. */
static const struct member_offset {
	const char *macro, *type, *member;
	bool optional; /* missing: -D<macro>=-1 (the program does without) */
} offsets[] = {
	{ "OFF_SK_PROTOCOL", "sock", "sk_protocol", false },
	{ "OFF_SK_RCVBUF", "sock", "sk_rcvbuf", false },
	{ "OFF_TP_SND_CWND", "tcp_sock", "snd_cwnd", false },
	{ "OFF_TP_SND_SSTHRESH", "tcp_sock", "snd_ssthresh", false },
	{ "OFF_TP_SRTT_US", "tcp_sock", "srtt_us", false },
	{ "OFF_TP_MDEV_US", "tcp_sock", "mdev_us", false },
	{ "OFF_TP_SND_UNA", "tcp_sock", "snd_una", false },
	{ "OFF_TP_SND_NXT", "tcp_sock", "snd_nxt", false },
	{ "OFF_TP_SND_WND", "tcp_sock", "snd_wnd", false },
	{ "OFF_TP_RCV_WND", "tcp_sock", "rcv_wnd", false },
	{ "OFF_TP_WINDOW_CLAMP", "tcp_sock", "window_clamp", false },
	{ "OFF_TP_TOTAL_RETRANS", "tcp_sock", "total_retrans", false },
	{ "OFF_TP_BYTES_RETRANS", "tcp_sock", "bytes_retrans", true },
	{ "OFF_ICSK_CA_STATE", "inet_connection_sock", "icsk_ca_state", false },
	{ "OFF_ICSK_RETRANSMITS", "inet_connection_sock", "icsk_retransmits", false },
	{ "OFF_SKB_DATA", "sk_buff", "data", false },
	{ "OFF_SKB_HEAD", "sk_buff", "head", false },
	{ "OFF_SKB_NETWORK_HEADER", "sk_buff", "network_header", false },
	{ "OFF_SKB_TRANSPORT_HEADER", "sk_buff", "transport_header", false },
	{ "OFF_SKB_DEV", "sk_buff", "dev", false },
	{ "OFF_SKB_CB", "sk_buff", "cb", false },
	{ "OFF_DEV_ND_NET", "net_device", "nd_net.net", false },
	{ "OFF_TCB_SEQ", "tcp_skb_cb", "seq", false },
	{ "OFF_TCB_GSO_SEGS", "tcp_skb_cb", "tcp_gso_segs", false },
};

/* ---- which hooks, offsets and names (build_cflags) ---- */

/* The tracepoint is in BTF and passes at least the arguments the program reads (in args). */
static bool hook_in_btf(struct btf_query *btf, const struct hook *h, char *args, size_t len)
{
	return btf_query_tp_args(btf, h->tp, args, len) == 0 &&
	       strncmp(args, h->args, strlen(h->args)) == 0;
}

static int report_missing_hook(const struct hook *h)
{
	struct utsname u;

	uname(&u);
	log_error("tracepoint %s is not in this kernel's BTF with arguments (%s) (kernel %s)", h->tp,
		  h->args, u.release);
	return -1;
}

int tcpi_check_hooks(struct tcp_insight *t, struct cflags *cf, struct btf_query *btf)
{
	char args[256];

	for (size_t i = 0; i < NHOOKS; i++) {
		const struct hook *h = &hooks[i];

		t->hook_present[i] = hook_in_btf(btf, h, args, sizeof(args));
		if (t->hook_present[i] && h->more_args_flag)
			cflags_add(cf, "-D%s=%d", h->more_args_flag, strcmp(args, h->args) != 0);
		if (!t->hook_present[i] && !h->events)
			return report_missing_hook(h);
	}
	return 0;
}

void tcpi_add_offsets(struct cflags *cf, struct btf_query *btf)
{
	cflags_sock_common(cf, btf);
	cflags_fd_walk(cf, btf);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		const struct member_offset *m = &offsets[i];

		if (m->optional)
			cflags_offset_opt(cf, btf, m->macro, m->type, m->member);
		else
			cflags_offset(cf, btf, m->macro, m->type, m->member);
	}
	cflags_enum(cf, btf, "TCP_CA_RECOVERY", "tcp_ca_state", "TCP_CA_Recovery");
	cflags_enum(cf, btf, "TCP_CA_LOSS", "tcp_ca_state", "TCP_CA_Loss");
}

/* enum sk_rst_reason names (SK_RST_REASON_ dropped), for the RESET details. */
void tcpi_load_reset_reasons(struct tcp_insight *t, struct btf_query *btf)
{
	for (int v = 0; v < TCPI_RESET_REASONS; v++) {
		const char *name = btf_query_enum_name(btf, "sk_rst_reason", v);

		if (name && strncmp(name, "SK_RST_REASON_", 14) == 0)
			name += 14;
		t->reset_reasons[v] = name ? strdup(name) : NULL;
	}
}

void tcpi_free_reset_reasons(struct tcp_insight *t)
{
	for (int v = 0; v < TCPI_RESET_REASONS; v++)
		free(t->reset_reasons[v]);
}

/* ---- attach ---- */

static void warn_unavailable(const struct tcp_insight *t, unsigned lost, const char *why)
{
	for (int i = 0; i < TCPI_NTYPES; i++)
		if (lost & t->mask & (1u << i))
			log_warn("%s events unavailable: %s", tcpi_event_names[i], why);
}

/* A selected event's tracepoint: attached, or reported missing (not an error). */
static int attach_hook(const struct tcp_insight *t, struct loader *l, size_t i)
{
	const struct hook *h = &hooks[i];
	char why[160];

	if (!t->hook_present[i]) {
		snprintf(why, sizeof(why), "tracepoint tcp:%s missing in this kernel", h->tp);
		warn_unavailable(t, h->events, why);
		return 0;
	}
	if (loader__attach_raw_tp(l, h->tp) == 0)
		return 0;
	log_error("%s", loader__error(l));
	return -1;
}

static int attach_raw_tracepoints(const struct tcp_insight *t, struct loader *l)
{
	for (size_t i = 0; i < NHOOKS; i++) {
		bool selected = !hooks[i].events || (hooks[i].events & t->mask);

		if (selected && attach_hook(t, l, i))
			return -1;
	}
	return 0;
}

static int attach_accept(const struct tcp_insight *t, struct loader *l)
{
	if (!loader__tracepoint_exists("syscalls", "sys_exit_accept4")) {
		warn_unavailable(t, TCPI_ACCEPT,
				 "tracepoint syscalls/sys_exit_accept4 missing (CONFIG_FTRACE_SYSCALLS off)");
		return 0;
	}
	if (loader__attach_tp(l, "syscalls", "sys_exit_accept4") ||
	    (loader__tracepoint_exists("syscalls", "sys_exit_accept") &&
	     loader__attach_tp(l, "syscalls", "sys_exit_accept"))) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

int tcpi_attach_hooks(const struct tcp_insight *t, struct loader *l)
{
	if (attach_raw_tracepoints(t, l) || attach_accept(t, l))
		return -1;
	return 0;
}
