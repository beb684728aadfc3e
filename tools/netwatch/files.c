// netwatch --data-dir: the original's three files, in its line formats, with one label
// set in every mode ("-" where an option is off) and real values.
//   packets.log  one line per segment (and per HTTP line), appended
//   err.log      one line per bad segment, appended
//   connects.log every tracked connection, rewritten each second (atomically)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "netfmt.h"
#include "netwatch_int.h"
#include "runtime.h"

void nw_bytes_str(uint64_t n, char *buf, size_t len)
{
	if (n > 1000000000ull)
		snprintf(buf, len, "%.8fG", n / 1e9);
	else if (n > 1000000ull)
		snprintf(buf, len, "%.6fM", n / 1e6);
	else if (n > 1000ull)
		snprintf(buf, len, "%.3fK", n / 1e3);
	else
		snprintf(buf, len, "%llu", (unsigned long long)n);
}

static FILE *open_in(const char *dir, const char *name, const char *mode)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, mode);
	if (!f)
		log_error("cannot open %s: %s (does --data-dir %s exist and is it writable?)", path,
			  strerror(errno), dir);
	return f;
}

int nw_files_open(struct nw_files *f, const char *dir)
{
	f->packets = open_in(dir, "packets.log", "w");
	f->errors = f->packets ? open_in(dir, "err.log", "w") : NULL;
	if (!f->packets || !f->errors) {
		nw_files_close(f);
		return -1;
	}
	snprintf(f->connects_path, sizeof(f->connects_path), "%s/connects.log", dir);
	snprintf(f->connects_tmp, sizeof(f->connects_tmp), "%s/.connects.log.tmp", dir);
	return 0;
}

void nw_files_packet(struct netwatch *nw, const struct nw_packet_event *p, const char *http)
{
	char cols[3][24];

	if (!nw->files.packets)
		return;
	nw_time_columns(p, nw->opts.time, cols);
	fprintf(nw->files.packets,
		"packet{sock=\"%p\",seq=\"%u\",ack=\"%u\",mac_time=\"%s\",ip_time=\"%s\",tcp_time=\"%s\",http_info=\"%s\",rx=\"%d\"} 0\n",
		(void *)(uintptr_t)p->sk, p->seq, p->ack, cols[0], cols[1], cols[2],
		http ? http : "-", p->rx);
}

void nw_files_error(struct netwatch *nw, const struct nw_error_event *e)
{
	if (!nw->files.errors)
		return;
	fprintf(nw->files.errors, "error{sock=\"%p\",seq=\"%u\",ack=\"%u\",reason=\"%s\"} 0\n",
		(void *)(uintptr_t)e->sk, e->seq, e->ack,
		e->error == NW_ERR_CSUM ? "Invalid checksum" : "Invalid SEQ");
}

/* "%u" when the option is on, else "-". */
static const char *opt_u(bool on, unsigned long long v, char *buf, size_t len)
{
	if (!on)
		return "-";
	snprintf(buf, len, "%llu", v);
	return buf;
}

static void connects_line(FILE *f, const struct nw_conn *c, const struct nw_options *o,
			  uint64_t now_ns)
{
	const struct nw_extra *x = &c->extra;
	char src[64], dst[64], b[16][32], rx[32] = "-", tx[32] = "-";
	uint64_t end = c->end_ns ? c->end_ns : now_ns;

	nw_endpoint(&c->tuple, true, false, src, sizeof(src));
	nw_endpoint(&c->tuple, false, false, dst, sizeof(dst));
	if (o->extra) {
		nw_bytes_str(x->bytes_received, rx, sizeof(rx));
		nw_bytes_str(x->bytes_acked, tx, sizeof(tx));
	}
	fprintf(f,
		"connection{pid=\"%u\",sock=\"%p\",src=\"%s\",dst=\"%s\",is_server=\"%d\",backlog=\"%s\",maxbacklog=\"%s\",rwnd=\"%s\",cwnd=\"%s\",ssthresh=\"%s\",sndbuf=\"%s\",wmem_queued=\"%s\",rx_bytes=\"%s\",tx_bytes=\"%s\",srtt=\"%s\",duration=\"%s\",total_retrans=\"%s\",fast_retrans=\"%s\",timeout_retrans=\"%s\"} 0\n",
		c->pid, (void *)(uintptr_t)c->sk, src, dst, c->role == NW_ROLE_SERVER,
		opt_u(o->extra, x->backlog, b[0], 32), opt_u(o->extra, x->max_backlog, b[1], 32),
		opt_u(o->extra, x->rcv_wnd, b[2], 32), opt_u(o->extra, x->snd_cwnd, b[3], 32),
		opt_u(o->extra, x->snd_ssthresh, b[4], 32), opt_u(o->extra, x->sndbuf, b[5], 32),
		opt_u(o->extra, x->wmem_queued, b[6], 32), rx, tx,
		opt_u(o->extra, x->srtt_us, b[7], 32),
		opt_u(o->extra, (end - c->start_ns) / 1000, b[8], 32),
		opt_u(o->extra, x->total_retrans, b[9], 32),
		opt_u(o->retrans, c->counts.fast_retrans, b[10], 32),
		opt_u(o->retrans, c->counts.timeout_retrans, b[11], 32));
}

/* Written to a temporary file and renamed, so readers never see half a table. */
void nw_files_connects(struct netwatch *nw)
{
	size_t n, nlive, max = nw->opts.max_conns * 2ull;
	struct nw_conn *conns;
	uint64_t now = runtime_mono_ns();
	FILE *f;

	if (!nw->files.packets)
		return;
	conns = calloc(max, sizeof(*conns));
	f = conns ? fopen(nw->files.connects_tmp, "w") : NULL;
	if (!f) {
		free(conns);
		return;
	}
	n = nw_snapshot_conns(nw, conns, max, &nlive);
	for (size_t i = 0; i < n; i++)
		if (i < nlive || nw->opts.all)
			connects_line(f, &conns[i], &nw->opts, now);
	if (fclose(f) == 0)
		rename(nw->files.connects_tmp, nw->files.connects_path);
	free(conns);
}

void nw_files_flush(struct nw_files *f)
{
	if (f->packets)
		fflush(f->packets);
	if (f->errors)
		fflush(f->errors);
}

void nw_files_close(struct nw_files *f)
{
	if (f->packets)
		fclose(f->packets);
	if (f->errors)
		fclose(f->errors);
	f->packets = f->errors = NULL;
}
