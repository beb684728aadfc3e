#include "sockbytes.h"

#include <bpf/btf.h>
#include <stdint.h>
#include <string.h>

#include "kallsyms.h"
#include "log.h"

/* Position (1-based) of tcp_recvmsg's "flags": 4 since Linux 5.19, 5 before
 * (commit "net: remove noblock parameter from recvmsg() entities"). */
static int recvmsg_flags_arg(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *fn, *proto;
	const struct btf_param *params;
	int id, arg = 4;

	if (!btf)
		return arg;
	id = btf__find_by_name_kind(btf, "tcp_recvmsg", BTF_KIND_FUNC);
	fn = id > 0 ? btf__type_by_id(btf, id) : NULL;
	proto = fn ? btf__type_by_id(btf, fn->type) : NULL;
	params = proto ? btf_params(proto) : NULL;
	for (int i = 0; params && i < btf_vlen(proto); i++)
		if (strcmp(btf__name_by_offset(btf, params[i].name_off), "flags") == 0)
			arg = i + 1;
	btf__free(btf);
	return arg;
}

bool sockbytes_tracepoints_exist(void)
{
	return loader__tracepoint_exists("sock", "sock_send_length") &&
	       loader__tracepoint_exists("sock", "sock_recv_length");
}

void cflags_sockbytes(struct cflags *cf, bool use_tp, bool with_kprobe_args)
{
	cflags_add(cf, "-DUSE_SOCK_TP=%d", use_tp);
	if (!use_tp || with_kprobe_args)
		cflags_add(cf, "-DTCP_RECVMSG_FLAGS_ARG=%d", recvmsg_flags_arg());
}

/* Entry and return probes on tcp_sendmsg (+ tcp_sendpage before Linux 6.5) and tcp_recvmsg. */
static int attach_kprobes(struct loader *l)
{
	uint64_t addr;

	if (loader__attach_kprobe(l, "tcp_sendmsg_entry", "tcp_sendmsg", false) ||
	    loader__attach_kprobe(l, "tcp_sendmsg_return", "tcp_sendmsg", true) ||
	    loader__attach_kprobe(l, "tcp_recvmsg_entry", "tcp_recvmsg", false) ||
	    loader__attach_kprobe(l, "tcp_recvmsg_return", "tcp_recvmsg", true))
		return -1;
	if (kallsyms_text_addr("tcp_sendpage", &addr) == 0 &&
	    (loader__attach_kprobe(l, "tcp_sendmsg_entry", "tcp_sendpage", false) ||
	     loader__attach_kprobe(l, "tcp_sendmsg_return", "tcp_sendpage", true)))
		return -1;
	return 0;
}

static int attach_kprobe_path(struct loader *l, bool forced)
{
	if (!loader__kprobes_supported()) {
		if (forced)
			log_error("--kprobes: this kernel has no kprobes (CONFIG_KPROBES is off); run without --kprobes to use the sock tracepoints");
		else
			log_error("this kernel has neither the sock:sock_send_length/sock_recv_length tracepoints (Linux 6.3+) nor kprobes (CONFIG_KPROBES): nothing to attach to");
		return -1;
	}
	if (attach_kprobes(l)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

int sockbytes_attach(struct loader *l, bool use_tp, bool forced)
{
	if (!use_tp)
		return attach_kprobe_path(l, forced);
	if (loader__attach_tp(l, "sock", "sock_send_length") ||
	    loader__attach_tp(l, "sock", "sock_recv_length")) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}
