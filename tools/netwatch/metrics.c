// netwatch's /metrics: Prometheus text 0.0.4, rendered in the exporter's thread from
// the kernel's connection map (live connections), the closed ones kept until scraped
// once (always with -a), and the counters the event loop keeps under nw->lock.
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>

#include "metrics.h"
#include "netfmt.h"
#include "netwatch_int.h"

#ifndef BCCNET_VERSION
#define BCCNET_VERSION "0.1"
#endif

#define CONN_LABELS 6

const double nw_hist_bounds[NW_HIST_BUCKETS] = {
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1, 1,
};

const char *nw_role_name(uint8_t role)
{
	static const char *const names[] = { "unknown", "client", "server" };

	return role < 3 ? names[role] : "unknown";
}

const char *nw_layer_name(bool rx, int layer)
{
	static const char *const names[2][NW_LAYERS] = {
		{ "net_dev_queue..net_dev_start_xmit", "net_dev_start_xmit..net_dev_xmit" },
		{ "netif_receive_skb..tcp_probe", "tcp_probe..skb_copy_datagram_iovec" },
	};

	return names[rx ? 1 : 0][layer & 1];
}

void nw_endpoint(const struct sock_tuple *t, bool local, bool brackets, char *buf, size_t len)
{
	char ip[64];

	format_ip(t->family, local ? t->saddr : t->daddr, ip, sizeof(ip));
	if (brackets && t->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, local ? t->sport : t->dport);
	else
		snprintf(buf, len, "%s:%u", ip, local ? t->sport : t->dport);
}

/* The closed connections after the live ones; a scrape forgets them unless -a. */
static size_t take_closed(struct netwatch *nw, struct nw_conn *out, size_t max, bool scrape)
{
	size_t n = 0;

	pthread_mutex_lock(&nw->lock);
	for (size_t i = 0; i < nw->nclosed && n < max; i++)
		out[n++] = nw->closed[i];
	if (scrape && !nw->opts.all)
		nw->nclosed = 0;
	pthread_mutex_unlock(&nw->lock);
	return n;
}

static size_t live_conns(struct netwatch *nw, struct nw_conn *out, size_t max)
{
	uint32_t count = (uint32_t)max;
	uint64_t *keys = calloc(max, sizeof(*keys));
	size_t n = 0;

	if (keys && loader__map_lookup_batch(nw->conns_fd, keys, out, &count) == 0)
		n = count;
	free(keys);
	return n;
}

size_t nw_snapshot_conns(struct netwatch *nw, struct nw_conn *out, size_t max, size_t *nlive)
{
	*nlive = live_conns(nw, out, max);
	return *nlive + take_closed(nw, out + *nlive, max - *nlive, false);
}

struct conn_labels {
	char src[64], dst[64], pid[16], comm[NW_COMM_LEN + 1], netns[16];
	struct metrics_label l[CONN_LABELS + 1];
};

static void make_labels(struct conn_labels *cl, const struct nw_conn *c)
{
	nw_endpoint(&c->tuple, true, true, cl->src, sizeof(cl->src));
	nw_endpoint(&c->tuple, false, true, cl->dst, sizeof(cl->dst));
	snprintf(cl->pid, sizeof(cl->pid), "%u", c->pid);
	snprintf(cl->comm, sizeof(cl->comm), "%.*s", NW_COMM_LEN, c->comm);
	snprintf(cl->netns, sizeof(cl->netns), "%u", c->netns);
	cl->l[0] = (struct metrics_label){ "src", cl->src };
	cl->l[1] = (struct metrics_label){ "dst", cl->dst };
	cl->l[2] = (struct metrics_label){ "pid", cl->pid };
	cl->l[3] = (struct metrics_label){ "comm", cl->comm };
	cl->l[4] = (struct metrics_label){ "role", nw_role_name(c->role) };
	cl->l[5] = (struct metrics_label){ "netns", cl->netns };
}

enum conn_metric {
	CM_RX_BYTES, CM_ACKED, CM_SRTT, CM_CWND, CM_RETRANS, CM_OPEN, CM_FAST, CM_TIMEOUT,
	CM_RETRANS_SEGS, CM_RX_PACKETS, CM_TX_PACKETS, CM_COUNT,
};

static const struct {
	const char *name, *type, *help;
	bool retrans_option;
} conn_families[CM_COUNT] = {
	[CM_RX_BYTES] = { "netwatch_connection_bytes_received_total", "counter", "Bytes received on the connection (tcp_sock.bytes_received)." },
	[CM_ACKED] = { "netwatch_connection_bytes_acked_total", "counter", "Bytes sent and acknowledged by the peer (tcp_sock.bytes_acked)." },
	[CM_SRTT] = { "netwatch_connection_srtt_seconds", "gauge", "Smoothed round-trip time of the connection." },
	[CM_CWND] = { "netwatch_connection_cwnd_segments", "gauge", "Congestion window of the connection, in segments." },
	[CM_RETRANS] = { "netwatch_connection_retransmits_total", "counter", "Segments the connection retransmitted (tcp_sock.total_retrans)." },
	[CM_OPEN] = { "netwatch_connection_open", "gauge", "1 while the connection is open, 0 once closed (kept until scraped once, or with -a)." },
	[CM_FAST] = { "netwatch_connection_fast_retransmits_total", "counter", "Times the connection entered fast recovery (-r).", true },
	[CM_TIMEOUT] = { "netwatch_connection_timeout_retransmits_total", "counter", "Retransmission timeouts of the connection: entered Loss (-r).", true },
	[CM_RETRANS_SEGS] = { "netwatch_connection_retransmitted_segments_total", "counter", "Segments retransmitted while tracked, as the kernel counts them (TcpRetransSegs), updated at tcp:tcp_retransmit_skb (-r).", true },
	[CM_RX_PACKETS] = { "netwatch_connection_packets_received_total", "counter", "Segments received on the connection while traced." },
	[CM_TX_PACKETS] = { "netwatch_connection_packets_sent_total", "counter", "Segments sent on the connection while traced." },
};

static void conn_sample(struct mbuf *b, int m, const struct nw_conn *c,
			const struct metrics_label *l)
{
	const struct nw_extra *x = &c->extra;
	const char *name = conn_families[m].name;

	switch (m) {
	case CM_RX_BYTES: metrics_u64(b, name, l, CONN_LABELS, x->bytes_received); break;
	case CM_ACKED: metrics_u64(b, name, l, CONN_LABELS, x->bytes_acked); break;
	case CM_SRTT: metrics_double(b, name, l, CONN_LABELS, x->srtt_us / 1e6); break;
	case CM_CWND: metrics_u64(b, name, l, CONN_LABELS, x->snd_cwnd); break;
	case CM_RETRANS: metrics_u64(b, name, l, CONN_LABELS, x->total_retrans); break;
	case CM_OPEN: metrics_u64(b, name, l, CONN_LABELS, c->end_ns == 0); break;
	case CM_FAST: metrics_u64(b, name, l, CONN_LABELS, c->counts.fast_retrans); break;
	case CM_TIMEOUT: metrics_u64(b, name, l, CONN_LABELS, c->counts.timeout_retrans); break;
	case CM_RETRANS_SEGS: metrics_u64(b, name, l, CONN_LABELS, c->counts.retrans_segs); break;
	case CM_RX_PACKETS: metrics_u64(b, name, l, CONN_LABELS, c->counts.rx_packets); break;
	case CM_TX_PACKETS: metrics_u64(b, name, l, CONN_LABELS, c->counts.tx_packets); break;
	}
}

static void render_conns(struct mbuf *b, const struct netwatch *nw, const struct nw_conn *conns,
			 size_t n)
{
	struct conn_labels *cl = calloc(n ? n : 1, sizeof(*cl));

	if (!cl) {
		b->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		make_labels(&cl[i], &conns[i]);
	for (int m = 0; m < CM_COUNT; m++) {
		if (conn_families[m].retrans_option && !nw->opts.retrans)
			continue;
		metrics_family(b, conn_families[m].name, conn_families[m].type,
			       conn_families[m].help);
		for (size_t i = 0; i < n; i++)
			conn_sample(b, m, &conns[i], cl[i].l);
	}
	free(cl);
}

/* A slot of the per-CPU totals, summed over CPUs. */
static uint64_t total(const struct netwatch *nw, int slot)
{
	uint64_t sum = 0;

	loader__percpu_u64(nw->totals_fd, (uint32_t)slot, &sum, NULL);
	return sum;
}

static void render_totals(struct mbuf *b, const struct netwatch *nw)
{
	struct metrics_label l;

	metrics_family(b, "netwatch_packets_total", "counter",
		       "TCP segments sent and received on tracked connections.");
	l = (struct metrics_label){ "direction", "rx" };
	metrics_u64(b, "netwatch_packets_total", &l, 1, total(nw, NW_TOT_RX_PACKETS));
	l = (struct metrics_label){ "direction", "tx" };
	metrics_u64(b, "netwatch_packets_total", &l, 1, total(nw, NW_TOT_TX_PACKETS));
	if (!nw->opts.err)
		return;
	metrics_family(b, "netwatch_packet_errors_total", "counter",
		       "Bad segments received on tracked connections, by the kernel's verdict (-e).");
	l = (struct metrics_label){ "reason", "invalid_seq" };
	metrics_u64(b, "netwatch_packet_errors_total", &l, 1, total(nw, NW_TOT_BAD_SEQ));
	l = (struct metrics_label){ "reason", "bad_checksum" };
	metrics_u64(b, "netwatch_packet_errors_total", &l, 1, total(nw, NW_TOT_BAD_CSUM));
}

static void render_http(struct mbuf *b, const struct netwatch *nw)
{
	struct metrics_label l[2];
	char code[8];

	metrics_family(b, "netwatch_http_requests_total", "counter",
		       "HTTP/1.x request lines seen (-i), by method and the side that saw them.");
	for (int r = NW_ROLE_UNKNOWN; r <= NW_ROLE_SERVER; r++)
		for (int m = 0; m < NW_HTTP_METHODS; m++) {
			if (!nw->http.requests[r][m])
				continue;
			l[0] = (struct metrics_label){ "method", nw_http_methods[m] };
			l[1] = (struct metrics_label){ "role", nw_role_name((uint8_t)r) };
			metrics_u64(b, "netwatch_http_requests_total", l, 2, nw->http.requests[r][m]);
		}
	metrics_family(b, "netwatch_http_responses_total", "counter",
		       "HTTP/1.x status lines seen (-i), by code and the side that saw them.");
	for (int r = NW_ROLE_UNKNOWN; r <= NW_ROLE_SERVER; r++)
		for (int c = 100; c < 600; c++) {
			if (!nw->http.responses[r][c])
				continue;
			snprintf(code, sizeof(code), "%d", c);
			l[0] = (struct metrics_label){ "code", code };
			l[1] = (struct metrics_label){ "role", nw_role_name((uint8_t)r) };
			metrics_u64(b, "netwatch_http_responses_total", l, 2, nw->http.responses[r][c]);
		}
}

static void render_latency(struct mbuf *b, const struct netwatch *nw)
{
	struct metrics_label l[2];
	struct metrics_histogram h = { .bounds = nw_hist_bounds, .nbounds = NW_HIST_BUCKETS };

	metrics_family(b, "netwatch_layer_latency_seconds", "histogram",
		       "Time segments spent between two hooks (-t); the layer is named after them.");
	for (int rx = 0; rx < 2; rx++)
		for (int layer = 0; layer < NW_LAYERS; layer++) {
			l[0] = (struct metrics_label){ "direction", rx ? "rx" : "tx" };
			l[1] = (struct metrics_label){ "layer", nw_layer_name(rx, layer) };
			h.counts = nw->hist.counts[rx][layer];
			h.sum = nw->hist.sum[rx][layer];
			metrics_histogram(b, "netwatch_layer_latency_seconds", l, 2, &h);
		}
}

static void render_programs(struct mbuf *b, const struct netwatch *nw)
{
	const char *fams[2][2] = {
		{ "netwatch_bpf_program_run_seconds_total", "Time the kernel spent in each BPF program (needs sysctl kernel.bpf_stats_enabled=1)." },
		{ "netwatch_bpf_program_runs_total", "Runs of each BPF program (needs sysctl kernel.bpf_stats_enabled=1)." },
	};
	struct metrics_label l;
	uint64_t ns, cnt;
	const char *name;

	for (int f = 0; f < 2; f++) {
		metrics_family(b, fams[f][0], "counter", fams[f][1]);
		for (int i = 0; loader__prog_stats(nw->loader, i, &name, &ns, &cnt) == 0; i++) {
			l = (struct metrics_label){ "program", name };
			if (f == 0)
				metrics_double(b, fams[f][0], &l, 1, ns / 1e9);
			else
				metrics_u64(b, fams[f][0], &l, 1, cnt);
		}
	}
}

static void render_self(struct mbuf *b, const struct netwatch *nw, size_t nlive)
{
	struct metrics_label l[2];
	struct utsname u;
	uint64_t lost = 0;
	uint32_t zero = 0;

	loader__map_lookup(nw->lost_fd, &zero, &lost);
	metrics_family(b, "netwatch_lost_events_total", "counter",
		       "Events the kernel could not hand over (ring buffer full) or that came short.");
	metrics_u64(b, "netwatch_lost_events_total", NULL, 0, lost + nw->short_events);
	metrics_family(b, "netwatch_connections_evicted_total", "counter",
		       "Connections not tracked when established because --max-conns entries were in use (tracked from a later sent segment once there is room).");
	metrics_u64(b, "netwatch_connections_evicted_total", NULL, 0, total(nw, NW_TOT_NOT_TRACKED));
	metrics_family(b, "netwatch_closed_connections_dropped_total", "counter",
		       "Closed connections forgotten before a scrape showed them: more than --max-conns closed between two scrapes (with -a: the oldest beyond --max-conns).");
	metrics_u64(b, "netwatch_closed_connections_dropped_total", NULL, 0, nw->closed_dropped);
	metrics_family(b, "netwatch_connections_tracked", "gauge", "Open connections tracked now.");
	metrics_u64(b, "netwatch_connections_tracked", NULL, 0, nlive);
	render_programs(b, nw);
	uname(&u);
	l[0] = (struct metrics_label){ "version", BCCNET_VERSION };
	l[1] = (struct metrics_label){ "kernel", u.release };
	metrics_family(b, "netwatch_build_info", "gauge", "Version of netwatch and the kernel it runs on.");
	metrics_u64(b, "netwatch_build_info", l, 2, 1);
}

static uint64_t total(const struct netwatch *nw, int slot);

/* A connection that left the kernel map must be in the closed list when we look: if the
 * kernel closed more than the event loop has handled, wait (at most 250 ms, once per
 * count: a lost event must not slow every scrape) for the loop to drain the ring again. */
static void wait_for_drain(struct netwatch *nw)
{
	uint64_t closed = total(nw, NW_TOT_CLOSED), seen;
	struct timespec until;
	bool behind;

	pthread_mutex_lock(&nw->lock);
	behind = closed > nw->closes_seen && closed != nw->closes_waited;
	nw->closes_waited = closed;
	pthread_mutex_unlock(&nw->lock);
	if (!behind)
		return;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 250000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&nw->lock);
	seen = nw->polls;
	while (nw->polls == seen)
		if (pthread_cond_timedwait(&nw->polled, &nw->lock, &until))
			break;
	pthread_mutex_unlock(&nw->lock);
}

char *nw_render_metrics(void *self, size_t *len)
{
	struct netwatch *nw = self;
	size_t max = nw->opts.max_conns * 2ull, n, nlive;
	struct nw_conn *conns = calloc(max, sizeof(*conns));
	struct mbuf b = { 0 };

	if (!conns)
		return NULL;
	wait_for_drain(nw);
	nlive = live_conns(nw, conns, max);
	n = nlive + take_closed(nw, conns + nlive, max - nlive, true);
	render_conns(&b, nw, conns, n);
	free(conns);
	render_totals(&b, nw);
	pthread_mutex_lock(&nw->lock);
	if (nw->opts.http)
		render_http(&b, nw);
	if (nw->opts.time)
		render_latency(&b, nw);
	render_self(&b, nw, nlive);
	pthread_mutex_unlock(&nw->lock);
	return mbuf_take(&b, len);
}
