// linux_net_kernel's stages: the kernel function each one names, the hook that serves
// it on this kernel (its tracepoint, else its kprobe), attaching them, and the report
// of which stages are traced and why the others are not.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kallsyms.h"
#include "lnk_int.h"
#include "output.h"

/* A stage: the kernel function it names, and the hooks that can serve it,
 * tracepoint first. The BPF functions are raw_tracepoint__<tp> and kp_<name>. */
struct stage_def {
	const char *name;
	const char *tp_cat, *tp; /* tracepoint (attached raw: its TP_PROTO arguments) */
	const char *tp_args;     /* the arguments the program reads, as BTF names them */
	const char *kfunc;       /* kprobe target */
	bool tx;
};

static const struct stage_def stage_defs[LNK_STAGES] = {
	[LNK_NETIF_RECEIVE_SKB] = { "netif_receive_skb", "net", "netif_receive_skb", "sk_buff *", NULL, false },
	[LNK_IP_RCV_FINISH] = { "ip_rcv_finish", NULL, NULL, NULL, "ip_rcv_finish", false },
	[LNK_TCP_V4_DO_RCV] = { "tcp_v4_do_rcv", NULL, NULL, NULL, "tcp_v4_do_rcv", false },
	[LNK_TCP_V6_DO_RCV] = { "tcp_v6_do_rcv", NULL, NULL, NULL, "tcp_v6_do_rcv", false },
	[LNK_TCP_RCV_ESTABLISHED] = { "tcp_rcv_established", "tcp", "tcp_probe", "sock *,sk_buff *", "tcp_rcv_established", false },
	[LNK_TCP_QUEUE_RCV] = { "tcp_queue_rcv", NULL, NULL, NULL, "tcp_queue_rcv", false },
	[LNK_SOCK_DEF_READABLE] = { "sock_def_readable", "sock", "sk_data_ready", "sock *", "sock_def_readable", false },
	[LNK_SKB_COPY_DATAGRAM_IOVEC] = { "skb_copy_datagram_iovec", "skb", "skb_copy_datagram_iovec", "sk_buff *,int", NULL, false },
	[LNK_KFREE_SKB] = { "kfree_skb", "skb", "kfree_skb", "sk_buff *,void *", NULL, false },
	[LNK_TCP_SENDMSG_LOCKED] = { "tcp_sendmsg_locked", "tcp", "tcp_sendmsg_locked", "sock *,msghdr *,sk_buff *,int", NULL, true },
	[LNK_TCP_TRANSMIT_SKB] = { "tcp_transmit_skb", NULL, NULL, NULL, "__tcp_transmit_skb", true },
	[LNK_NET_DEV_QUEUE] = { "net_dev_queue", "net", "net_dev_queue", "sk_buff *", NULL, true },
	[LNK_QDISC_DEQUEUE] = { "qdisc_dequeue", "qdisc", "qdisc_dequeue", "Qdisc *,netdev_queue *,int,sk_buff *", NULL, true },
	[LNK_NET_DEV_START_XMIT] = { "net_dev_start_xmit", "net", "net_dev_start_xmit", "sk_buff *,net_device *", NULL, true },
	[LNK_NET_DEV_XMIT] = { "net_dev_xmit", "net", "net_dev_xmit", "sk_buff *,int,net_device *", NULL, true },
};

const char *lnk_stage_name(unsigned stage)
{
	return stage < LNK_STAGES ? stage_defs[stage].name : "?";
}

const char *lnk_hook_name(enum hook_kind hook)
{
	return hook == HOOK_TP ? "tracepoint" : hook == HOOK_KPROBE ? "kprobe" : "unavailable";
}

bool lnk_stage_traced(const struct stage_state *st)
{
	return st->hook == HOOK_TP || st->hook == HOOK_KPROBE;
}

/* ---- which hook serves each stage ---- */

static void mark_unavailable(struct stage_state *st, const char *why, const char *detail)
{
	st->hook = HOOK_UNAVAILABLE;
	snprintf(st->why, sizeof(st->why), "%s", why);
	snprintf(st->detail, sizeof(st->detail), "%s", detail);
}

/* The stage's tracepoint exists and passes the arguments the program reads. */
static bool tracepoint_serves(struct stage_state *st, const struct stage_def *d,
			      struct btf_query *btf)
{
	char args[256], detail[256];
	int err = btf_query_tp_args(btf, d->tp, args, sizeof(args));

	if (!err && strncmp(args, d->tp_args, strlen(d->tp_args)) == 0) {
		st->hook = HOOK_TP;
		snprintf(st->detail, sizeof(st->detail), "tracepoint %s:%s", d->tp_cat, d->tp);
		return true;
	}
	if (err)
		snprintf(detail, sizeof(detail), "no tracepoint %s:%s in this kernel", d->tp_cat, d->tp);
	else
		snprintf(detail, sizeof(detail), "tracepoint %s:%s passes (%.100s), the program reads (%s)",
			 d->tp_cat, d->tp, args, d->tp_args);
	mark_unavailable(st, err ? "no tracepoint" : "tracepoint arguments changed", detail);
	return false;
}

/* No kprobes at all: said after why the tracepoint (if the stage has one) does not serve. */
static void mark_no_kprobes(struct stage_state *st, const struct stage_def *d)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "%.150s%skprobe %s: this kernel has no kprobes (CONFIG_KPROBES off)",
		 d->tp ? st->detail : "", d->tp ? "; " : "", d->kfunc);
	mark_unavailable(st, "no kprobes on this kernel", detail);
}

static void mark_kfunc_missing(struct stage_state *st, const struct stage_def *d, int err)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "kprobe %s: %s", d->kfunc,
		 err == -ENOENT ? "not in /proc/kallsyms (inlined or renamed on this kernel)" :
				  strerror(-err));
	mark_unavailable(st, err == -ENOENT ? "inlined or renamed" : "not in /proc/kallsyms", detail);
}

static void kprobe_serves(struct stage_state *st, const struct stage_def *d, bool kprobes)
{
	uint64_t addr;
	int err;

	if (!kprobes) {
		mark_no_kprobes(st, d);
		return;
	}
	err = kallsyms_text_addr(d->kfunc, &addr);
	if (err) {
		mark_kfunc_missing(st, d, err);
		return;
	}
	st->hook = HOOK_KPROBE;
	snprintf(st->detail, sizeof(st->detail), "kprobe %s", d->kfunc);
}

void lnk_choose_hooks(struct lnk *t, struct btf_query *btf)
{
	bool kprobes = loader__kprobes_supported();

	for (int s = 0; s < LNK_STAGES; s++) {
		const struct stage_def *d = &stage_defs[s];
		struct stage_state *st = &t->stage[s];

		st->hook = HOOK_NOT_WANTED;
		if (d->tx && !t->opts.tx)
			continue;
		if (d->tp && tracepoint_serves(st, d, btf))
			continue;
		if (d->kfunc)
			kprobe_serves(st, d, kprobes);
	}
}

/* ---- attach ---- */

/* 1 when attached; 0 when the stage has no hook or attaching failed. */
static int attach_stage(struct stage_state *st, const struct stage_def *d, struct loader *l)
{
	char func[64], detail[256];
	int err;

	if (st->hook == HOOK_TP) {
		err = loader__attach_raw_tp(l, d->tp);
	} else if (st->hook == HOOK_KPROBE) {
		snprintf(func, sizeof(func), "kp_%s", d->name);
		err = loader__attach_kprobe(l, func, d->kfunc, false);
	} else {
		return 0;
	}
	if (err) {
		snprintf(detail, sizeof(detail), "%s", loader__error(l));
		mark_unavailable(st, "attach failed", detail);
	}
	return err ? 0 : 1;
}

int lnk_attach_stages(struct lnk *t, struct loader *l)
{
	int attached = 0;

	for (int s = 0; s < LNK_STAGES; s++)
		attached += attach_stage(&t->stage[s], &stage_defs[s], l);
	return attached;
}

/* ---- the report at start ---- */

static void print_traced_stages(const struct lnk *t)
{
	int n = 0;

	fprintf(stderr, "Stages traced:");
	for (int s = 0; s < LNK_STAGES; s++)
		if (lnk_stage_traced(&t->stage[s]))
			fprintf(stderr, "%s %s", n++ ? "," : "", stage_defs[s].name);
}

/* " a, b (why)": the unavailable stages from first on that share its reason; marks
 * them printed. */
static void print_unavailable_group(const struct lnk *t, int first, bool *printed)
{
	const char *why = t->stage[first].why;

	for (int s = first; s < LNK_STAGES; s++) {
		if (t->stage[s].hook != HOOK_UNAVAILABLE || strcmp(t->stage[s].why, why))
			continue;
		fprintf(stderr, "%s %s", s == first ? "" : ",", stage_defs[s].name);
		printed[s] = true;
	}
	fprintf(stderr, " (%s)", why);
}

/* One line: the traced stages, then the unavailable ones grouped by reason. */
static void print_stage_line(const struct lnk *t)
{
	bool printed[LNK_STAGES] = { false };
	const char *lead = "; not available on this kernel:";

	print_traced_stages(t);
	for (int s = 0; s < LNK_STAGES; s++) {
		if (t->stage[s].hook != HOOK_UNAVAILABLE || printed[s])
			continue;
		fprintf(stderr, "%s", lead);
		lead = ";";
		print_unavailable_group(t, s, printed);
	}
	fprintf(stderr, "\n");
}

static void print_stage_details(const struct lnk *t)
{
	for (int s = 0; s < LNK_STAGES; s++)
		if (t->stage[s].hook != HOOK_NOT_WANTED)
			fprintf(stderr, "  %-24s %s%s\n", stage_defs[s].name,
				t->stage[s].hook == HOOK_UNAVAILABLE ? "not available: " : "",
				t->stage[s].detail);
}

void lnk_print_stage_availability(const struct lnk *t)
{
	print_stage_line(t);
	if (t->opts.common.verbose)
		print_stage_details(t);
}

void lnk_print_stages_json(const struct lnk *t)
{
	out_begin();
	out_str("type", NULL, "start");
	out_array_begin("stages");
	for (int s = 0; s < LNK_STAGES; s++) {
		const struct stage_state *st = &t->stage[s];

		if (st->hook == HOOK_NOT_WANTED)
			continue;
		out_object_begin(NULL);
		out_str("stage", NULL, stage_defs[s].name);
		out_str("hook", NULL, lnk_hook_name(st->hook));
		out_bool("available", st->hook != HOOK_UNAVAILABLE);
		out_str(st->hook == HOOK_UNAVAILABLE ? "why" : "detail", NULL,
			st->hook == HOOK_UNAVAILABLE ? st->why : st->detail);
		out_object_end();
	}
	out_array_end();
	out_end();
}
