#!/usr/bin/env python3
"""bccnet benchmark driver (run through scripts/bench/run.sh, as root).

Measures every bccnet binary found in the build directory beside its
Python/BCC peers: start-up and where it goes, memory, in-kernel ns per event
against an empty program on the same hook, overhead on TCP throughput and
connection rate, and event loss. Prints markdown tables.
"""
import argparse
import json
import os
import statistics
import sys
import time

import config
import measure
from procs import Monitor, in_ns, python_env, run

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen.py")


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.ns = args.ns
        self.p = config.PROFILES["quick" if args.quick else "full"]
        self.tmp = args.tmp
        self.bg = []
        self.peer_startup = {}  # peer -> start-up row, measured once

    # ---- namespace -------------------------------------------------------
    def setup_ns(self):
        ns = self.ns
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "link", "add", "bv0", "type", "veth", "peer", "name", "bv1"])
        run(["ip", "-n", ns, "link", "set", "bv0", "up"])
        hold = Monitor("tun-hold", in_ns(ns, ["python3", GEN, "tun-hold", "tun0"]),
                       ("stdout", "ready"))
        if hold.wait_ready(10) is None:
            sys.exit("bench: cannot create tun0: %s" % hold.failure())
        self.bg.append(hold)
        run(["ip", "-n", ns, "addr", "add", "10.77.0.1/24", "dev", "tun0"])
        run(["ip", "-n", ns, "link", "set", "tun0", "up"])
        srv = Monitor("iperf3-server", in_ns(ns, ["iperf3", "-s", "-p", "5201"]),
                      ("stdout", "listening"))
        srv.wait_ready(10)
        self.bg.append(srv)

    def cleanup(self):
        for m in self.bg:
            m.proc.kill()
            m.proc.wait()
        run(["ip", "netns", "del", self.ns])

    # ---- tool commands ---------------------------------------------------
    def tool_path(self, tool):
        return os.path.join(self.args.build, tool)

    def tool_monitor(self, tool, args, ns=False, stdout_path=None, label=None):
        cmd = [self.tool_path(tool)] + args
        return Monitor(label or tool, in_ns(self.ns, cmd) if ns else cmd,
                       ("stderr", r"^Tracing"), stdout_path=stdout_path)

    def peer_monitor(self, peer, cmd=None, ns=False, label=None):
        spec = config.PEERS.get(peer, {"ready": ("stdout", r"\S")})
        cmd = cmd or spec["cmd"]
        return Monitor(label or peer, in_ns(self.ns, cmd) if ns else cmd, spec["ready"],
                       env=python_env(), ready_delay=spec.get("ready_delay", 0.0))

    # ---- workloads (inside the namespace) --------------------------------
    def iperf(self, seconds):
        r = run(in_ns(self.ns, ["iperf3", "-c", "127.0.0.1", "-p", "5201", "-t", str(seconds),
                                "-J"]), timeout=seconds + 30)
        try:
            return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"]
        except (ValueError, KeyError):
            log("iperf3 failed: %s" % (r.stdout[-300:] + r.stderr[-300:]))
            return None

    def conns(self, seconds, count=False):
        """Connections per second (or (connections, seconds) with count=True)."""
        r = run(in_ns(self.ns, ["python3", GEN, "conns", "127.0.0.1", "5301", str(seconds)]),
                timeout=seconds + 30)
        kv = dict(x.split("=") for x in r.stdout.split())
        if "connections" not in kv:
            log("connection generator failed: %s" % r.stderr[-300:])
            return (0, 1.0) if count else None
        n, took = int(kv["connections"]), float(kv["seconds"])
        return (n, took) if count else n / took

    def udp_to_tun(self, count, rate=0):
        r = run(in_ns(self.ns, ["python3", GEN, "udp", "10.77.0.2", "9000", str(count),
                                str(rate)]), timeout=120)
        return dict((k, float(v)) for k, v in (x.split("=") for x in r.stdout.split()))

    def workload(self, kinds):
        if "tun" in kinds:
            self.udp_to_tun(self.p["cost_packets"])
        if "tcp" in kinds:
            self.iperf(self.p["seconds"])
            self.conns(self.p["seconds"])


def parse_args():
    ap = argparse.ArgumentParser(description="bccnet benchmark (root)")
    ap.add_argument("--build", required=True)
    ap.add_argument("--ns", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tools", default="", help="comma-separated subset")
    ap.add_argument("--only", default="startup,cost,overhead,loss",
                    help="comma-separated subset of startup,cost,overhead,loss")
    return ap.parse_args()


def tools_to_run(args):
    wanted = [t for t in args.tools.split(",") if t] or list(config.TOOLS)
    found = [t for t in wanted if os.access(os.path.join(args.build, t), os.X_OK)]
    for t in set(wanted) - set(found):
        log("%s: not built in %s, skipped" % (t, args.build))
    return found


def main():
    args = parse_args()
    bench = Bench(args)
    tools = tools_to_run(args)
    parts = args.only.split(",")
    run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"])
    try:
        bench.setup_ns()
        report = measure.run_all(bench, tools, parts, log)
    finally:
        bench.cleanup()  # run.sh restores kernel.bpf_stats_enabled
    print(report)


if __name__ == "__main__":
    main()
