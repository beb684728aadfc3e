// linux_net_kernel's events: one segment at one stage, as a row of the seed's table
// (with the drop reason at kfree_skb and -d's debug lines) or as one JSON object,
// from the same calls.
#include <stdio.h>
#include <string.h>

#include "lnk_int.h"
#include "netfmt.h"
#include "output.h"
#include "runtime.h"

#define REASON_PREFIX "SKB_DROP_REASON_"

/* The seed's table: widths joined by " | ". */
static const struct column {
	const char *title;
	int width;
} columns[] = {
	{ "KERNEL FUNCTION", 20 }, { "SRC IP", 17 }, { "DST IP", 17 }, { "SRC PORT", 10 },
	{ "DST PORT", 10 },	   { "SEQ", 14 },    { "ACK SEQ", 14 }, { "TIMESTAMP", 26 },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))
#define SEPARATOR " | "

void lnk_load_drop_reasons(struct lnk *t, struct btf_query *btf)
{
	long long max;

	if (btf_query_enum_value(btf, "skb_drop_reason", REASON_PREFIX "MAX", &max) || max <= 0)
		return; /* a kernel without drop reasons: codes only */
	for (long long v = 0; v < max && v < LNK_MAX_REASONS; v++) {
		const char *name = btf_query_enum_name(btf, "skb_drop_reason", v);
		size_t skip = name && strncmp(name, REASON_PREFIX, strlen(REASON_PREFIX)) == 0 ?
				      strlen(REASON_PREFIX) : 0;

		if (name)
			snprintf(t->reasons[v], sizeof(t->reasons[v]), "%s", name + skip);
	}
}

static const char *drop_reason_name(const struct lnk *t, uint32_t reason)
{
	return reason < LNK_MAX_REASONS && t->reasons[reason][0] ? t->reasons[reason] : NULL;
}

/* The state of the event's stage (of stage 0 if the value is out of range). */
static const struct stage_state *event_stage(const struct lnk *t, const struct lnk_event *e)
{
	return &t->stage[e->stage < LNK_STAGES ? e->stage : 0];
}

void lnk_print_table_header(void)
{
	int width = 0;

	for (unsigned i = 0; i < NCOLUMNS; i++) {
		printf("%s%-*s", i ? SEPARATOR : "", columns[i].width, columns[i].title);
		width += columns[i].width + (i ? (int)strlen(SEPARATOR) : 0);
	}
	printf("\n%.*s\n", width, "------------------------------------------------------------------------------------------------------------------------------------------------------------------------");
}

/* An address as the seed printed it: "-" when zero. */
static void format_addr(const struct lnk_pkt_key *k, const __u64 *addr, char *buf, size_t len)
{
	if (!addr[0] && !addr[1])
		snprintf(buf, len, "-");
	else
		format_ip(k->family, addr, buf, len);
}

/* The event's interface name as text; anything else (a stale device pointer) is "?". */
static void event_ifname(const struct lnk_event *e, char name[LNK_IFNAME_LEN + 1])
{
	memcpy(name, e->ifname, LNK_IFNAME_LEN);
	name[LNK_IFNAME_LEN] = '\0';
	for (char *c = name; *c; c++)
		if (*c < 0x21 || *c > 0x7e) {
			strcpy(name, "?");
			return;
		}
}

/* The text format of column col: left-aligned in its width, conversion conv, then the
 * separator unless it is the last column. */
static void cell_format(unsigned col, const char *conv, char *fmt, size_t len)
{
	snprintf(fmt, len, "%%-%d%s%s", columns[col].width, conv,
		 col + 1 < NCOLUMNS ? SEPARATOR : "");
}

/* A text cell of the seed's table; JSON gets key (if any) with the value. */
static void cell_str(unsigned col, const char *key, const char *value)
{
	char fmt[16];

	cell_format(col, "s", fmt, sizeof(fmt));
	out_str(key, fmt, value);
}

static void cell_uint(unsigned col, const char *key, unsigned long long value)
{
	char fmt[16];

	cell_format(col, "llu", fmt, sizeof(fmt));
	out_uint(key, fmt, value);
}

static void print_row(const struct lnk_event *e)
{
	const struct lnk_pkt_key *k = &e->pkt;
	char func[40], saddr[48], daddr[48], when[40];

	snprintf(func, sizeof(func), "[%s]", lnk_stage_name(e->stage));
	format_addr(k, k->saddr, saddr, sizeof(saddr));
	format_addr(k, k->daddr, daddr, sizeof(daddr));
	runtime_format_ktime_date(e->ts_ns, when, sizeof(when));
	cell_str(0, NULL, func);
	out_str("stage", NULL, lnk_stage_name(e->stage));
	cell_str(1, "saddr", saddr);
	cell_str(2, "daddr", daddr);
	cell_uint(3, "sport", k->sport);
	cell_uint(4, "dport", k->dport);
	cell_uint(5, "seq", k->seq);
	cell_uint(6, "ack_seq", k->ack_seq);
	cell_str(7, "time", when);
}

/* kfree_skb rows end with the drop reason (a column the seed did not have). */
static void print_drop_reason(const struct lnk *t, const struct lnk_event *e)
{
	const char *name = drop_reason_name(t, e->aux);
	char code[24];

	if (e->stage != LNK_KFREE_SKB)
		return;
	snprintf(code, sizeof(code), "reason %u", e->aux);
	out_str("drop_reason", SEPARATOR "%s", name ? name : code);
	out_uint("drop_reason_code", NULL, e->aux);
}

/* JSON only: what the table has no room for. */
static void print_details(const struct lnk *t, const struct lnk_event *e)
{
	char ifname[LNK_IFNAME_LEN + 1];

	event_ifname(e, ifname);
	out_str("hook", NULL, lnk_hook_name(event_stage(t, e)->hook));
	out_uint("ip", NULL, e->pkt.family);
	out_uint("len", NULL, e->pkt.len);
	out_uint("tcp_flags", NULL, e->tcp_flags);
	out_str("ifname", NULL, ifname);
	out_uint("netns", NULL, e->netns);
	out_ptr("skb", NULL, e->skb);
	out_uint("ts_ns", NULL, e->ts_ns);
	out_double("since_first_us", NULL, e->since_first_ns / 1e3);
	if (e->stage == LNK_SKB_COPY_DATAGRAM_IOVEC)
		out_uint("copied", NULL, e->aux);
	if (e->prev_stage != LNK_NO_STAGE) {
		out_str("prev_stage", NULL, lnk_stage_name(e->prev_stage));
		out_double("since_prev_us", NULL, e->since_prev_ns / 1e3);
	}
}

/* -d: the seed's two lines, the hook named in the first. */
static void print_debug(const struct lnk *t, const struct lnk_event *e)
{
	const char *name = lnk_stage_name(e->stage);

	out_text("  Debug - Function name: '%s' (%s)\n  Debug - Raw bytes: [", name,
		 event_stage(t, e)->detail);
	for (const char *c = name; *c; c++)
		out_text("%s%u", c == name ? "" : ", ", (unsigned char)*c);
	out_text("]\n");
}

int lnk_on_event(void *ctx, void *data, size_t size)
{
	struct lnk *t = ctx;
	struct lnk_event e;

	if (size < sizeof(e)) {
		t->short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	t->events++;
	out_begin();
	out_str("type", NULL, "event");
	print_row(&e);
	print_drop_reason(t, &e);
	out_text("\n");
	print_details(t, &e);
	if (t->opts.debug)
		print_debug(t, &e);
	out_end();
	return 0;
}
