#!/usr/bin/python3
"""Experiment: what does a ring-buffer wakeup cost per event on this machine?

  sudo scripts/bench/ringbuf_wakeup.py [SECONDS]

Three programs on sock:inet_sock_set_state, side by side: one submits a
64-byte event with the default wakeup (what bccnet tools do), one with
BPF_RB_NO_WAKEUP, one empty. Short TCP connections run in a namespace this
script creates (and removes); prints run_time_ns / run_cnt of each.
"""
import json
import os
import subprocess
import sys

from bcc import BPF

TEXT = r"""
BPF_RINGBUF_OUTPUT(woken, 64);
BPF_RINGBUF_OUTPUT(quiet, 64);
struct ev { u64 a[8]; };
int submit_wakeup(void *ctx) {
    struct ev *e = woken.ringbuf_reserve(sizeof(*e));
    if (!e) return 0;
    e->a[0] = bpf_ktime_get_ns();
    woken.ringbuf_submit(e, 0);
    return 0;
}
int submit_no_wakeup(void *ctx) {
    struct ev *e = quiet.ringbuf_reserve(sizeof(*e));
    if (!e) return 0;
    e->a[0] = bpf_ktime_get_ns();
    quiet.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    return 0;
}
int empty(void *ctx) { return 0; }
"""
NAMES = ("submit_wakeup", "submit_no_wakeup", "empty")


def stats():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True).stdout
    return {p["name"]: (p.get("run_cnt", 0), p.get("run_time_ns", 0))
            for p in json.loads(out) if p.get("name") in NAMES}


def main():
    seconds = sys.argv[1] if len(sys.argv) > 1 else "3"
    ns = "bccrb-%d" % os.getpid()
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen.py")
    b = BPF(text=TEXT)
    for fn in NAMES:
        b.attach_tracepoint(tp="sock:inet_sock_set_state", fn_name=fn)
    b["woken"].open_ring_buffer(lambda *_: 0)
    stats_was = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        gen_proc = subprocess.Popen(["ip", "netns", "exec", ns, "python3", gen, "conns",
                                     "127.0.0.1", "5301", seconds])
        before = stats()
        while gen_proc.poll() is None:
            b.ring_buffer_poll(100)  # a consumer that sleeps, as the tools do
        after = stats()
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=" + stats_was])
    for name in NAMES:
        cnt = after[name][0] - before[name][0]
        print("%-18s %8d events %8.0f ns/event" % (name, cnt, (after[name][1] - before[name][1])
                                                    / max(cnt, 1)))


if __name__ == "__main__":
    main()
