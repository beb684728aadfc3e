#!/usr/bin/env python3
"""tcp-insight's own benchmark (issue 10), as root:

  scripts/bench/tcp_insight.py --build build [--seconds 5] [--rounds 3]

1. BPF ns per event on tcp:tcp_probe (every segment an ESTABLISHED socket receives)
   under an iperf3 run: an empty raw-tracepoint program and an empty tracepoint program
   (the floors), the tool with -e excluding CWND_CHANGE/RTT_UPDATE (SLOW_START,
   CONG_AVOID and SACK still need the program), the tool with every event, and the
   tool with -e 0x63 (no tcp_probe program at all). kernel.bpf_stats_enabled=1.
2. iperf3 throughput in a namespace with nothing attached vs the tool with every event,
   its JSON written to a file, in alternating rounds (medians).
3. The event rate it keeps up with: iperf3 with small writes at rising rates (one SEND
   event per write, plus the ACK-driven events), every event type, JSON to a file;
   events written vs lost (ring buffer full) per step.
Everything runs inside a namespace made here (its loopback); the machine is shared, so
other traffic also runs the programs (counted in the ns/event averages, not in events).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import prog_hooks, prog_stats  # noqa: E402
from procs import Monitor, in_ns, run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 5211


def log(msg):
    print("[tcp-insight bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.ns = "tibench-%d" % os.getpid()
        self.tmp = tempfile.mkdtemp(prefix="tibench.")
        self.server = None

    def setup(self):
        run(["ip", "netns", "add", self.ns])
        run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        self.server = Monitor("iperf3 -s", in_ns(self.ns, ["iperf3", "-s", "-p", str(PORT)]),
                              ("stdout", "listening"))
        self.server.wait_ready(10)

    def cleanup(self):
        if self.server:
            self.server.proc.kill()
            self.server.proc.wait()
        run(["ip", "netns", "del", self.ns])

    def tool(self, args, out=os.devnull, label="tcp-insight"):
        m = Monitor(label, in_ns(self.ns, [os.path.join(self.args.build, "tcp-insight")] + args),
                    ("stderr", r"^Tracing"), stdout_path=out)
        if m.wait_ready(120) is None:
            sys.exit("tcp-insight did not start: %s" % m.failure())
        return m

    def iperf(self, seconds, extra=()):
        r = run(in_ns(self.ns, ["iperf3", "-c", "127.0.0.1", "-p", str(PORT), "-t", str(seconds),
                                "-J"] + list(extra)), timeout=seconds + 60)
        try:
            end = json.loads(r.stdout)["end"]
            return end["sum_received"]["bits_per_second"], end["sum_sent"]["bytes"]
        except (ValueError, KeyError):
            log("iperf3 failed: %s" % (r.stdout[-200:] + r.stderr[-200:]))
            return None, None


def probe_cost(b):
    """ns/run of every program on tcp_probe, all attached at once, one iperf3 run."""
    mons = [("empty raw tracepoint program", Monitor(
        "floor", ["/usr/bin/python3", os.path.join(HERE, "floor.py"), "raw:tcp_probe", "tp:tcp:tcp_probe"],
        ("stderr", "^Tracing")))]
    mons[0][1].wait_ready(60)
    for label, args in (("-e 0x7e7f (all but CWND_CHANGE, RTT_UPDATE)", ["-e", "0x7e7f"]),
                        ("-e 0x2000 (SACK only: no per-socket state)", ["-e", "0x2000"]),
                        ("every event", []),
                        ("-e 0x63 (CONNECT, ACCEPT, CLOSE, RESET)", ["-e", "0x63"])):
        mons.append((label, b.tool(args + ["--json"], label=label)))
    hooks = {label: prog_hooks(m.proc.pid) for label, m in mons}
    before = prog_stats()
    bps, _ = b.iperf(b.args.seconds)
    after = prog_stats()
    rows = []
    for label, m in mons:
        found = False
        for prog, hook in hooks[label].items():
            if not hook.endswith("tcp_probe") or prog not in after:
                continue
            found = True
            cnt = after[prog][0] - before[prog][0]
            ns = after[prog][1] - before[prog][1]
            name = label if label.startswith("-") or label == "every event" else \
                "empty program (%s)" % ("raw tracepoint" if hook.startswith("raw") else "tracepoint")
            rows.append((name, cnt, ns / cnt if cnt else None))
        if not found:
            rows.append((label, 0, None))
        m.stop()
    return rows, bps


def throughput(b):
    """Alternating rounds: nothing attached / the tool (every event, JSON to a file)."""
    res = {"none": [], "tool": []}
    events = []
    for r in range(b.args.rounds):
        for cond in (("none", "tool") if r % 2 == 0 else ("tool", "none")):
            m = None
            if cond == "tool":
                out = os.path.join(b.tmp, "tput-%d.json" % r)
                m = b.tool(["--json"], out=out)
            bps, _ = b.iperf(b.args.seconds)
            res[cond].append(bps)
            if m:
                m.stop()
                events.append(summary(out))
    return res, events


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(path):
    last = {}
    with open(path) as f:
        for line in f:
            if '"summary"' in line:
                last = json.loads(line)
    return last


def event_rate(b):
    """Small writes at rising rates; every event type of the namespace, JSON to a file."""
    rows = []
    for rate in b.args.write_rates:
        out = os.path.join(b.tmp, "rate-%d.json" % rate)
        m = b.tool(["--json", "--netns", b.ns], out=out)
        cpu0 = cpu_seconds(m.proc.pid)  # the start-up (compile or cache load) is not the consumer
        extra = ["-l", "256"] + (["-b", str(rate * 256 * 8)] if rate else [])
        t0 = time.monotonic()
        b.iperf(b.args.seconds, extra)
        took = time.monotonic() - t0
        time.sleep(0.5)
        cpu = cpu_seconds(m.proc.pid) - cpu0
        m.stop()
        s = summary(out)
        rows.append((rate, s.get("events", 0), s.get("lost_events", 0), took, cpu))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--write-rates", type=lambda s: [int(x) for x in s.split(",")],
                    default=[10000, 50000, 100000, 200000, 0],
                    help="iperf3 writes/s per step (0: unlimited)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tcp_insight.py: run as root")
    stats_before = run(["sysctl", "-n", "kernel.bpf_stats_enabled"]).stdout.strip() or "0"
    run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"])
    b = Bench(args)
    try:
        b.setup()
        log("per-event cost on tcp_probe")
        cost, bps = probe_cost(b)
        print("## tcp:tcp_probe, ns per run (iperf3 %.1f Gbit/s meanwhile)\n" % (bps / 1e9 if bps else 0))
        print("| program | runs | ns/run |\n| --- | --- | --- |")
        for name, cnt, ns in cost:
            print("| %s | %d | %s |" % (name, cnt, "%.0f" % ns if ns else "not attached"))
        log("throughput")
        runs, evs = throughput(b)
        tput = {k: statistics.median([x for x in v if x]) for k, v in runs.items()}
        print("\n## iperf3 throughput (median of %d rounds of %gs)\n" % (args.rounds, args.seconds))
        print("| | median | every round (Gbit/s) |\n| --- | --- | --- |")
        for k, name in (("none", "nothing attached"), ("tool", "tcp-insight, every event, JSON to a file")):
            print("| %s | %.2f Gbit/s | %s |" % (name, tput[k] / 1e9,
                                               ", ".join("%.2f" % (x / 1e9) for x in runs[k] if x)))
        print("\nratio %.2f; events written per tool run: %s" % (tput["tool"] / tput["none"], ", ".join(
            "%d (lost %d)" % (e.get("events", 0), e.get("lost_events", 0)) for e in evs)))
        log("event rate")
        print("\n## Events kept up with (iperf3 -l 256 at a write rate; every event type)\n")
        print("| writes/s asked | events written | events/s | lost | tool CPU s | µs CPU per event |")
        print("| --- | --- | --- | --- | --- | --- |")
        for rate, n, lost, took, cpu in event_rate(b):
            print("| %s | %d | %.0f | %d | %.2f | %.1f |" % (rate or "unlimited", n, n / took, lost,
                                                          cpu, cpu * 1e6 / n if n else 0))
    finally:
        b.cleanup()
        run(["sysctl", "-q", "kernel.bpf_stats_enabled=%s" % stats_before])
    print("\n(raw outputs in %s)" % b.tmp)


if __name__ == "__main__":
    main()
