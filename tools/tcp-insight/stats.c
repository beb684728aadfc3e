// tcp-insight's statistics: sums of the events printed, per connection with -T (the top 20 by
// bytes at exit), and the exit summary: lost events and untracked sockets.
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "netfmt.h"
#include "output.h"
#include "tcp_insight_int.h"

#define CONN_SLOTS 16384 /* connections -T keeps (open addressing) */
#define TOP_CONNS 20

/* One connection (a socket from its start) in the -T table. */
struct tcpi_conn_stat {
	uint64_t sk, start_ns, first_ns, last_ns, tx, rx, retrans;
	struct tcpi_samples rtt_us;
	struct sock_tuple tuple;
	struct tcpi_owner who;
	bool used, closed;
};

/* ---- counting ---- */

static void add_sample(struct tcpi_samples *s, uint64_t v)
{
	s->min = s->n && s->min < v ? s->min : v;
	s->max = s->max > v ? s->max : v;
	s->sum += v;
	s->n++;
}

static uint64_t sample_avg(const struct tcpi_samples *s)
{
	return s->n ? s->sum / s->n : 0;
}

int tcpi_stats_start(struct tcp_insight *t)
{
	if (!t->opts.stats)
		return 0;
	t->stats.conns = calloc(CONN_SLOTS, sizeof(*t->stats.conns));
	if (!t->stats.conns) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

void tcpi_stats_free(struct tcp_insight *t)
{
	free(t->stats.conns);
}

/* The event's connection in the table, a new entry for it, or NULL when the table is full. */
static struct tcpi_conn_stat *conn_slot(struct tcpi_stats *s, const struct tcpi_event *e)
{
	uint64_t h = (e->sk ^ e->start_ns) * 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < CONN_SLOTS; i++) {
		struct tcpi_conn_stat *c = &s->conns[(h + i) % CONN_SLOTS];

		if (c->used && c->sk == e->sk && c->start_ns == e->start_ns)
			return c;
		if (!c->used) {
			c->used = true;
			c->sk = e->sk;
			c->start_ns = e->start_ns;
			c->first_ns = e->ts_ns;
			return c;
		}
	}
	s->conns_dropped++;
	return NULL;
}

static void count_conn(struct tcpi_stats *s, const struct tcpi_event *e)
{
	struct tcpi_conn_stat *c = e->sk ? conn_slot(s, e) : NULL;

	if (!c)
		return;
	c->last_ns = e->ts_ns;
	c->tuple = e->tuple;
	if (e->who.pid && (!c->who.pid || e->type == TCPI_ACCEPT || e->type == TCPI_CONNECT))
		c->who = e->who;
	if (e->known) {
		c->tx = e->conn_tx;
		c->rx = e->conn_rx;
	}
	if (e->type == TCPI_RETRANSMIT)
		c->retrans += e->d.retrans.segs;
	if (e->type == TCPI_CLOSE)
		c->closed = true;
	if (e->has_tcp && e->srtt_us)
		add_sample(&c->rtt_us, e->srtt_us);
}

void tcpi_count_event(struct tcp_insight *t, const struct tcpi_event *e)
{
	struct tcpi_stats *s = &t->stats;

	s->events++;
	s->by_type[tcpi_type_index(e->type)]++;
	if (e->type == TCPI_SEND)
		s->tx_bytes += e->bytes;
	if (e->type == TCPI_RECEIVE)
		s->rx_bytes += e->bytes;
	if (e->type == TCPI_RETRANSMIT) {
		s->retrans_segs += e->d.retrans.segs;
		s->retrans_bytes += e->bytes;
	}
	if (e->has_tcp && e->srtt_us)
		add_sample(&s->rtt_us, e->srtt_us);
	if (e->has_tcp && e->cwnd)
		add_sample(&s->cwnd, e->cwnd);
	if (s->conns)
		count_conn(s, e);
}

/* ---- at exit ---- */

static uint64_t lost_events(const struct tcp_insight *t, struct loader *l)
{
	return loader__lost_events(l) + t->stats.short_events;
}

static uint64_t untracked_sockets(const struct tcp_insight *t)
{
	uint32_t key = TCPI_CNT_CONNS_FULL;
	uint64_t v = 0;

	if (t->counters_fd >= 0)
		loader__map_lookup(t->counters_fd, &key, &v);
	return v;
}

static uint64_t events_of_type(const struct tcpi_stats *s, uint32_t type)
{
	return s->by_type[tcpi_type_index(type)];
}

static int by_bytes_desc(const void *a, const void *b)
{
	const struct tcpi_conn_stat *x = *(const struct tcpi_conn_stat *const *)a;
	const struct tcpi_conn_stat *y = *(const struct tcpi_conn_stat *const *)b;
	uint64_t bx = x->tx + x->rx, by = y->tx + y->rx;

	if (bx != by)
		return bx < by ? 1 : -1;
	return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

static size_t active_conns(const struct tcpi_stats *s)
{
	size_t n = 0;

	for (size_t i = 0; i < CONN_SLOTS; i++)
		n += s->conns[i].used && !s->conns[i].closed;
	return n;
}

static void print_conn_row(const struct tcpi_conn_stat *c)
{
	char ep[80];
	uint64_t dur_ns = c->last_ns - (c->start_ns ? c->start_ns : c->first_ns);

	out_object_begin(NULL);
	format_ip_port(c->tuple.family, c->tuple.saddr, c->tuple.sport, ep, sizeof(ep));
	out_str("local", "%-22s ", ep);
	format_ip_port(c->tuple.family, c->tuple.daddr, c->tuple.dport, ep, sizeof(ep));
	out_str("remote", "%-22s ", ep);
	out_uint("pid", "%-7llu ", c->who.pid);
	out_str("comm", "%-16s ", c->who.pid ? c->who.comm : "-");
	out_double("duration_ms", "%11.1f ", (double)dur_ns / 1e6);
	out_uint("tx_bytes", "%12llu ", c->tx);
	out_uint("rx_bytes", "%12llu ", c->rx);
	out_uint("retrans_segs", "%7llu ", c->retrans);
	out_uint("rtt_min_us", "%8llu ", c->rtt_us.min);
	out_uint("rtt_avg_us", "%8llu ", sample_avg(&c->rtt_us));
	out_uint("rtt_max_us", "%8llu\n", c->rtt_us.max);
	out_object_end();
}

/* The top 20 connections by bytes; in JSON an array inside the stats object. */
static void print_top_conns(const struct tcpi_stats *s)
{
	static const struct tcpi_conn_stat *order[CONN_SLOTS];
	size_t n = 0;

	for (size_t i = 0; i < CONN_SLOTS; i++)
		if (s->conns[i].used)
			order[n++] = &s->conns[i];
	qsort(order, n, sizeof(order[0]), by_bytes_desc);
	out_text("\nTop connections by bytes (%zu of %zu):\n", n < TOP_CONNS ? n : TOP_CONNS, n);
	out_text("%-22s %-22s %-7s %-16s %11s %12s %12s %7s %8s %8s %8s\n", "LOCAL", "REMOTE", "PID",
		 "COMM", "DURATION_MS", "TX_BYTES", "RX_BYTES", "RETRANS", "RTT_MIN", "RTT_AVG",
		 "RTT_MAX");
	out_array_begin("connections");
	for (size_t i = 0; i < n && i < TOP_CONNS; i++)
		print_conn_row(order[i]);
	out_array_end();
}

static void print_type_counts(const struct tcpi_stats *s)
{
	out_object_begin("by_type");
	for (int i = 0; i < TCPI_NTYPES; i++) {
		out_text("  %-15s ", tcpi_event_names[i]);
		out_uint(tcpi_event_names[i], "%llu\n", s->by_type[i]);
	}
	out_object_end();
}

static void print_totals(const struct tcp_insight *t, struct loader *l)
{
	const struct tcpi_stats *s = &t->stats;

	out_uint("events", "Total events: %llu\n", s->events);
	print_type_counts(s);
	out_uint("connections_opened", "Connections opened: %llu\n",
		 events_of_type(s, TCPI_CONNECT) + events_of_type(s, TCPI_ACCEPT));
	out_uint("connections_closed", "Connections closed: %llu\n", events_of_type(s, TCPI_CLOSE));
	out_uint("connections_active", "Active connections: %llu\n", active_conns(s));
	out_uint("bytes_sent", "Bytes sent: %llu\n", s->tx_bytes);
	out_uint("bytes_received", "Bytes received: %llu\n", s->rx_bytes);
	out_uint("retransmit_segs", "Retransmits: %llu segments", s->retrans_segs);
	out_uint("retransmit_bytes", " (%llu bytes)\n", s->retrans_bytes);
	out_uint("rtt_avg_us", "Average RTT: %llu us", sample_avg(&s->rtt_us));
	out_uint("rtt_max_us", " (max %llu us)\n", s->rtt_us.max);
	out_uint("cwnd_avg", "Average CWND: %llu", sample_avg(&s->cwnd));
	out_uint("cwnd_max", " (max %llu)\n", s->cwnd.max);
	out_uint("lost_events", "Lost events: %llu\n", lost_events(t, l));
	out_uint("untracked_sockets", "Untracked sockets (state map full): %llu\n",
		 untracked_sockets(t));
	out_uint("connections_not_listed", NULL, s->conns_dropped);
}

/* -T: the totals and the top connections, as text or one JSON object. */
static void print_stats(const struct tcp_insight *t, struct loader *l)
{
	out_begin();
	out_str("type", NULL, "stats");
	out_text("\n=== TCP Insight Statistics ===\n");
	print_totals(t, l);
	print_top_conns(&t->stats);
	out_end();
}

static void print_json_summary(const struct tcp_insight *t, uint64_t lost, uint64_t untracked)
{
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("events", NULL, t->stats.events);
	out_uint("lost_events", NULL, lost);
	out_uint("untracked_sockets", NULL, untracked);
	out_end();
}

void tcpi_print_summary(void *self, struct loader *l)
{
	const struct tcp_insight *t = self;
	uint64_t lost = lost_events(t, l), untracked = untracked_sockets(t);

	if (t->opts.stats)
		print_stats(t, l);
	else if (out_is_json())
		print_json_summary(t, lost, untracked);
	if (lost && !out_is_json())
		log_warn("%llu events lost (ring buffer full)", (unsigned long long)lost);
	if (untracked && !out_is_json())
		log_warn("%llu sockets not tracked (state map full: %d entries)",
			 (unsigned long long)untracked, TCPI_MAX_CONNS);
}
