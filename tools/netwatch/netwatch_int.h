/* netwatch: the state the frontend's files share (tools/netwatch*.c). */
#ifndef NETWATCH_INT_H
#define NETWATCH_INT_H

#include <linux/types.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "loader.h"
#include "netwatch.h"

#define NW_HIST_BUCKETS 12 /* bounds of netwatch_layer_latency_seconds */
#define NW_LAYERS 2        /* timed layers per direction: stamps 0->1 and 1->2 */
#define NW_HTTP_METHODS 9
#define NW_HTTP_PARTIALS 64 /* HTTP lines split across reads/writes being joined */
#define NW_HELD_MAX 4096    /* -t: received data segments waiting for their copy */
#define NW_HOLD_NS 500000000ull /* ... for at most this long */

struct nw_options {
	struct common_opts common;
	bool all, err, http, retrans, time, extra;
	bool tcp_probe; /* --tcp-probe: -e finds sockets through tcp:tcp_probe even with rx_sk */
	uint16_t sport, dport;
	const char *data_dir;
	bool listen;
	struct ip_addr listen_addr;
	uint16_t listen_port;
	uint32_t max_conns;
};

struct nw_files {
	FILE *packets, *errors;
	char connects_path[4096], connects_tmp[4096];
};

/* A line being assembled from pieces of one connection's reads or writes. */
struct nw_http_partial {
	uint64_t sk;
	uint8_t rx;
	uint16_t len;
	char text[NW_HTTP_CAP];
};

struct nw_http_stats {
	/* [role][method index]; [role][status code] */
	uint64_t requests[3][NW_HTTP_METHODS];
	uint64_t responses[3][600];
	struct nw_http_partial partial[NW_HTTP_PARTIALS];
	unsigned next_partial;
};

struct nw_hist {
	uint64_t counts[2][NW_LAYERS][NW_HIST_BUCKETS + 1]; /* [rx][layer][bucket] */
	double sum[2][NW_LAYERS];
};

struct netwatch {
	struct nw_options opts;
	pthread_mutex_t lock; /* what the exporter thread reads: everything below */
	pthread_cond_t polled; /* signalled after each drain of the ring buffer */
	uint64_t polls;        /* drains so far */
	uint64_t closes_seen;  /* NW_EV_CLOSE events handled */
	uint64_t closes_waited; /* kernel close count a scrape last waited for */
	int conns_fd, totals_fd, lost_fd;
	struct loader *loader;
	bool cong_state_tp; /* tcp:tcp_cong_state_set exists (-r fast/timeout counts) */
	bool rx_sk;         /* skb:kfree_skb has rx_sk (Linux 6.8+) */
	/* Connections closed since the last scrape (all of them with -a). */
	struct nw_conn *closed;
	uint8_t *closed_scraped;
	size_t nclosed, closed_cap;
	uint64_t closed_dropped; /* closed connections forgotten at the --max-conns cap */
	struct nw_http_stats http;
	struct nw_hist hist;
	uint64_t short_events, packets_seen, errors_seen, http_lines;
	struct nw_files files;
	struct http_server *server;
	struct nw_packet_event *held; /* -t: see NW_HELD_MAX */
	size_t nheld;
};

extern const char *const nw_http_methods[NW_HTTP_METHODS];
extern const double nw_hist_bounds[NW_HIST_BUCKETS];

/* netwatch/metrics.c: the /metrics text (runs in the exporter's thread). */
char *nw_render_metrics(void *self, size_t *len);
/* Every tracked connection now: the live ones from the kernel map, then the closed ones
 * kept. Returns how many were put in out (at most max). */
size_t nw_snapshot_conns(struct netwatch *nw, struct nw_conn *out, size_t max, size_t *nlive);
/* "[fd00::1]:80" / "10.0.0.1:80" */
void nw_endpoint(const struct sock_tuple *t, bool local, bool brackets, char *buf, size_t len);
const char *nw_role_name(uint8_t role);
/* The name of timed layer i (0, 1) of a direction, after the hooks that bound it. */
const char *nw_layer_name(bool rx, int layer);

/* netwatch.c: the console's MAC_TIME, IP_TIME, TCP_TIME of a segment, in us ("-": no
 * hook bounds that layer on this path, or -t is off). */
void nw_time_columns(const struct nw_packet_event *p, bool timed, char out[3][24]);
/* ns between stamps of timed layer i, or -1 when a stamp is missing. */
long long nw_layer_ns(const struct nw_packet_event *p, int layer);

/* netwatch/files.c: --data-dir (the original's connects.log, packets.log, err.log). */
int nw_files_open(struct nw_files *f, const char *dir);
void nw_files_packet(struct netwatch *nw, const struct nw_packet_event *p, const char *http);
void nw_files_error(struct netwatch *nw, const struct nw_error_event *e);
void nw_files_connects(struct netwatch *nw);
void nw_files_flush(struct nw_files *f);
void nw_files_close(struct nw_files *f);
/* The original's bytes_to_str ("1.500K"), with room for every value. */
void nw_bytes_str(uint64_t n, char *buf, size_t len);

/* netwatch/http.c: -i. The HTTP/1.x line that starts in this read/write (joined with
 * earlier pieces of the same connection and direction), or false. Counts it. */
bool nw_http_line(struct netwatch *nw, const struct nw_data_event *d, uint8_t role, char *line,
		  size_t len);

#endif
