// tcp-insight's events: the column header and one row per event, console text and JSON
// from the same calls (out_*), with each type's DETAILS.
#include <stdio.h>

#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "tcp_insight_int.h"

#define SSTHRESH_INF 0x7fffffffu /* tcp_sock.snd_ssthresh before the first loss */

const char *const tcpi_event_names[TCPI_NTYPES] = {
	"CONNECT",     "ACCEPT",	"SEND",		 "RECEIVE",	  "RETRANSMIT",
	"CLOSE",       "RESET",		"CWND_CHANGE",	 "RTT_UPDATE",	  "SLOW_START",
	"CONG_AVOID",  "FAST_RECOVERY", "WINDOW_UPDATE", "SACK",	  "TIMEOUT",
};

static const char *const ca_names[] = { "Open", "Disorder", "CWR", "Recovery", "Loss" };

int tcpi_type_index(uint32_t type)
{
	for (int i = 0; i < TCPI_NTYPES; i++)
		if (type == 1u << i)
			return i;
	return -1;
}

static const char *ca_name(unsigned ca)
{
	return ca < sizeof(ca_names) / sizeof(ca_names[0]) ? ca_names[ca] : "UNKNOWN";
}

static void fmt_ssthresh(uint32_t v, char *buf, size_t len)
{
	if (v >= SSTHRESH_INF)
		snprintf(buf, len, "inf");
	else
		snprintf(buf, len, "%u", v);
}

static void details_state(const struct tcpi_event *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s->%s", tcp_state_name(e->d.state.oldstate),
		 tcp_state_name(e->d.state.newstate));
	out_str("old_state", NULL, tcp_state_name(e->d.state.oldstate));
	out_str("new_state", NULL, tcp_state_name(e->d.state.newstate));
}

static void details_bytes(const struct tcpi_event *e, char *buf, size_t len)
{
	if (e->known)
		snprintf(buf, len, "total=%llu",
			 (unsigned long long)(e->type == TCPI_SEND ? e->conn_tx : e->conn_rx));
}

static void details_retrans(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_retrans *r = &e->d.retrans;

	if (r->synack)
		snprintf(buf, len, "synack segs=%u", r->segs);
	else if (r->err)
		snprintf(buf, len, "seq=%u segs=%u err=%d", r->seq, r->segs, r->err);
	else
		snprintf(buf, len, "seq=%u segs=%u", r->seq, r->segs);
	out_uint("segs", NULL, r->segs);
	if (!r->synack)
		out_uint("seq", NULL, r->seq);
	out_int("err", NULL, r->err);
	out_bool("synack", r->synack);
}

/* The enum sk_rst_reason name of a RESET (kernels 6.10+), or NULL. */
static const char *reset_reason(const struct tcp_insight *t, const struct tcpi_reset *r)
{
	return r->has_reason && r->reason < TCPI_RESET_REASONS ? t->reset_reasons[r->reason] : NULL;
}

static void details_reset(const struct tcp_insight *t, const struct tcpi_event *e, char *buf,
			  size_t len)
{
	const struct tcpi_reset *r = &e->d.reset;
	const char *reason = reset_reason(t, r), *direction = r->sent ? "sent" : "received";

	if (reason)
		snprintf(buf, len, "%s reason=%s", direction, reason);
	else
		snprintf(buf, len, "%s", direction);
	out_str("direction", NULL, direction);
	if (reason)
		out_str("reason", NULL, reason);
}

static void details_cwnd(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_cwnd *c = &e->d.cwnd;
	char ss[16];

	fmt_ssthresh(c->ssthresh, ss, sizeof(ss));
	if (e->type == TCPI_CWND_CHANGE)
		snprintf(buf, len, "cwnd %u->%u ssthresh=%s", c->old_cwnd, c->cwnd, ss);
	else
		snprintf(buf, len, "cwnd=%u ssthresh=%s", c->cwnd, ss);
	if (e->type == TCPI_CWND_CHANGE)
		out_uint("old_cwnd", NULL, c->old_cwnd);
	out_uint("new_cwnd", NULL, c->cwnd);
	out_uint("ssthresh", NULL, c->ssthresh);
}

static void details_rtt(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_rtt *r = &e->d.rtt;

	snprintf(buf, len, "srtt %u->%u us mdev=%u us", r->old_srtt_us, r->srtt_us, r->mdev_us);
	out_uint("old_srtt_us", NULL, r->old_srtt_us);
	out_uint("srtt_us", NULL, r->srtt_us);
	out_uint("mdev_us", NULL, r->mdev_us);
}

static void details_ca(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_ca *c = &e->d.ca;
	char ss[16];

	fmt_ssthresh(c->ssthresh, ss, sizeof(ss));
	snprintf(buf, len, "%s->%s ssthresh=%s rto_count=%u", ca_name(c->old_ca), ca_name(c->ca), ss,
		 c->retransmits);
	out_str("old_ca_state", NULL, ca_name(c->old_ca));
	out_str("ca_state", NULL, ca_name(c->ca));
	out_uint("ssthresh", NULL, c->ssthresh);
	out_uint("rto_count", NULL, c->retransmits);
}

static void details_window(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_window *w = &e->d.win;

	snprintf(buf, len, "rcvbuf %u->%u clamp %u->%u rcv_wnd=%u", w->old_rcvbuf, w->rcvbuf,
		 w->old_clamp, w->clamp, w->rcv_wnd);
	out_uint("old_rcvbuf", NULL, w->old_rcvbuf);
	out_uint("rcvbuf", NULL, w->rcvbuf);
	out_uint("old_window_clamp", NULL, w->old_clamp);
	out_uint("window_clamp", NULL, w->clamp);
	out_uint("rcv_wnd", NULL, w->rcv_wnd);
}

static void details_sack(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_sack *s = &e->d.sack;
	unsigned n = s->nblocks < TCPI_MAX_SACK ? s->nblocks : TCPI_MAX_SACK;
	int used = snprintf(buf, len, "una=%u nxt=%u blocks=", s->snd_una, s->snd_nxt);

	out_uint("snd_una", NULL, s->snd_una);
	out_uint("snd_nxt", NULL, s->snd_nxt);
	out_array_begin("sack_blocks");
	for (unsigned i = 0; i < n; i++) {
		if (used > 0 && (size_t)used < len)
			used += snprintf(buf + used, len - used, "%s%u-%u", i ? "," : "", s->start[i],
					 s->end[i]);
		out_object_begin(NULL);
		out_uint("start", NULL, s->start[i]);
		out_uint("end", NULL, s->end[i]);
		out_object_end();
	}
	out_array_end();
}

/* DETAILS text into buf (empty: "-"); the same facts as JSON fields. */
static void print_details(const struct tcp_insight *t, const struct tcpi_event *e, char *buf,
			  size_t len)
{
	buf[0] = '\0';
	switch (e->type) {
	case TCPI_CONNECT: case TCPI_ACCEPT: case TCPI_CLOSE: details_state(e, buf, len); break;
	case TCPI_SEND: case TCPI_RECEIVE: details_bytes(e, buf, len); break;
	case TCPI_RETRANSMIT: details_retrans(e, buf, len); break;
	case TCPI_RESET: details_reset(t, e, buf, len); break;
	case TCPI_CWND_CHANGE: case TCPI_SLOW_START:
	case TCPI_CONG_AVOID: details_cwnd(e, buf, len); break;
	case TCPI_RTT_UPDATE: details_rtt(e, buf, len); break;
	case TCPI_FAST_RECOVERY: case TCPI_TIMEOUT: details_ca(e, buf, len); break;
	case TCPI_WINDOW_UPDATE: details_window(e, buf, len); break;
	case TCPI_SACK: details_sack(e, buf, len); break;
	}
}

static bool has_bytes(uint32_t type)
{
	return type == TCPI_SEND || type == TCPI_RECEIVE || type == TCPI_RETRANSMIT;
}

static void print_who(const struct tcpi_event *e)
{
	if (!e->who.pid) {
		out_null("comm", "%-16s ");
		out_null("pid", "%-6s ");
		out_null("tid", "%-6s ");
		return;
	}
	out_str("comm", "%-16s ", e->who.comm);
	out_uint("pid", "%-6llu ", e->who.pid);
	out_uint("tid", "%-6llu ", e->who.tid);
}

/* One end: ADDR:PORT in the console; the address and the port as JSON fields. */
static void print_endpoint(const struct sock_tuple *tu, bool local)
{
	const __u64 *addr = local ? tu->saddr : tu->daddr;
	uint16_t port = local ? tu->sport : tu->dport;
	char ip[64], ep[80];

	format_ip_port(tu->family, addr, port, ep, sizeof(ep));
	out_str(NULL, "%-22s ", ep);
	format_ip(tu->family, addr, ip, sizeof(ip));
	out_str(local ? "saddr" : "daddr", NULL, ip);
	out_uint(local ? "sport" : "dport", NULL, port);
}

static void print_metrics(const struct tcpi_event *e)
{
	out_str("state", "%-12s ", tcp_state_name(e->tuple.state));
	if (e->has_tcp) {
		out_uint("cwnd", "%-6llu ", e->cwnd);
		out_uint("rtt_us", "%-6llu ", e->srtt_us);
	} else {
		out_null("cwnd", "%-6s ");
		out_null("rtt_us", "%-6s ");
	}
	if (has_bytes(e->type))
		out_uint("bytes", "%-8llu ", e->bytes);
	else
		out_null("bytes", "%-8s ");
}

void tcpi_print_columns(bool timestamp)
{
	if (timestamp)
		printf("%-12s ", "TIME");
	printf("%-16s %-6s %-6s %-15s %-22s %-22s %-12s %-6s %-6s %-8s %s\n", "COMM", "PID", "TID",
	       "EVENT", "SADDR:SPORT", "DADDR:DPORT", "STATE", "CWND", "RTT", "BYTES", "DETAILS");
}

void tcpi_print_event(const struct tcp_insight *t, const struct tcpi_event *e)
{
	char when[32], details[192];

	runtime_format_ktime(e->ts_ns, when, sizeof(when));
	out_begin();
	out_str("type", NULL, "event");
	out_str("time", t->opts.timestamp ? "%-12s " : NULL, when);
	print_who(e);
	out_str("event", "%-15s ", tcpi_event_names[tcpi_type_index(e->type)]);
	print_endpoint(&e->tuple, true);
	print_endpoint(&e->tuple, false);
	print_metrics(e);
	out_uint("netns", NULL, e->netns);
	if (e->known) {
		out_uint("age_ms", NULL, (e->ts_ns - e->start_ns) / 1000000);
		out_uint("conn_tx_bytes", NULL, e->conn_tx);
		out_uint("conn_rx_bytes", NULL, e->conn_rx);
	}
	print_details(t, e, details, sizeof(details));
	out_str(NULL, "%s\n", details[0] ? details : "-");
	out_end();
}
