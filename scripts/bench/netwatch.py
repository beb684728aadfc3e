#!/usr/bin/python3
"""netwatch's own benchmark (issue 9): kernel memory of its maps, per-event cost,
iperf3 throughput with `netwatch -t -x -r` attached, and /metrics latency with 10k
tracked connections. Everything runs in a namespace made here.

usage: sudo scripts/bench/netwatch.py [--build DIR] [--rounds N] [--seconds S] [--conns N]
Prints a markdown section on stdout; progress on stderr.
"""
import argparse
import ctypes
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

NS = "nwbench%d" % os.getpid()
METRICS_PORT = 24391
IPERF_PORT = 24301
CONN_PORT = 24302


def log(msg):
    print("netwatch.py: " + msg, file=sys.stderr, flush=True)


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


def in_ns(cmd):
    return ["ip", "netns", "exec", NS] + cmd


class Netwatch:
    def __init__(self, build, args):
        self.p = subprocess.Popen([build + "/netwatch", "--netns", NS] + args,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        if not line.startswith("Tracing"):
            raise SystemExit("netwatch did not start: " + line + self.p.stderr.read())

    def fds(self, kind):
        ids = set()
        fd_dir = "/proc/%d/fdinfo" % self.p.pid
        for fd in os.listdir(fd_dir):
            try:
                with open(os.path.join(fd_dir, fd)) as f:
                    for line in f:
                        if line.startswith(kind + ":"):
                            ids.add(int(line.split()[1]))
            except OSError:
                pass
        return sorted(ids)

    def map_memory(self):
        maps = []
        for i in self.fds("map_id"):
            m = json.loads(sh("bpftool", "map", "show", "id", str(i), "-j").stdout)
            maps.append((m.get("name", "?"), m["type"], m["max_entries"], m.get("bytes_memlock", 0)))
        return maps

    def prog_stats(self):
        """{program: (run ns, runs)} from its own self-metrics (full function names)."""
        out = {}
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % METRICS_PORT, timeout=30) as r:
            for line in r.read().decode().splitlines():
                for fam, i in (("netwatch_bpf_program_run_seconds_total", 0),
                               ("netwatch_bpf_program_runs_total", 1)):
                    if line.startswith(fam + "{"):
                        name = line.split('"')[1]
                        v = out.setdefault(name, [0, 0])
                        v[i] = float(line.split()[-1]) * (1e9 if i == 0 else 1)
        return out

    def rss_kb(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.p.send_signal(2)
        self.p.wait(timeout=30)


def iperf(seconds):
    r = sh(*in_ns(["iperf3", "-c", "127.0.0.1", "-p", str(IPERF_PORT), "-t", str(seconds), "-J"]))
    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"]


def throughput(build, rounds, seconds):
    """iperf3 Gbit/s with nothing attached and with netwatch -t -x -r, alternating."""
    none, tool, cost = [], [], {}
    for r in range(rounds):
        none.append(iperf(seconds))
        nw = Netwatch(build, ["-t", "-x", "-r", "-l", "127.0.0.1:%d" % METRICS_PORT])
        before = nw.prog_stats()
        tool.append(iperf(seconds))
        after = nw.prog_stats()
        nw.stop()
        for name, (ns, cnt) in after.items():
            b = before.get(name, (0, 0))
            c = cost.setdefault(name, [0, 0])
            c[0] += ns - b[0]
            c[1] += cnt - b[1]
        log("round %d: none %.2f Gbit/s, netwatch -t -x -r %.2f Gbit/s" % (r, none[-1] / 1e9, tool[-1] / 1e9))
    return none, tool, cost


def hold_connections(n, ready, stop):
    """n client connections to a listener in the namespace, held open until stop."""
    fd = os.open("/run/netns/" + NS, os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000):  # CLONE_NEWNET: this thread only
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", CONN_PORT))
    ls.listen(4096)
    clients, servers = [], []
    for _ in range(n):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", CONN_PORT))
        except BlockingIOError:
            pass
        clients.append(c)
        servers.append(ls.accept()[0])
    ready.set()
    stop.wait()
    for s in clients + servers + [ls]:
        s.close()


def scrape_ms(runs):
    times, size = [], 0
    for _ in range(runs):
        t0 = time.monotonic()
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % METRICS_PORT, timeout=30) as r:
            size = len(r.read())
        times.append((time.monotonic() - t0) * 1000)
    return times, size


def metrics_latency(build, conns):
    nw = Netwatch(build, ["-l", "127.0.0.1:%d" % METRICS_PORT, "--max-conns", str(2 * conns + 1024)])
    ready, stop = threading.Event(), threading.Event()
    t = threading.Thread(target=hold_connections, args=(conns, ready, stop), daemon=True)
    t.start()
    ready.wait(300)
    time.sleep(1)
    times, size = scrape_ms(11)
    tracked = 0
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % METRICS_PORT) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("netwatch_connections_tracked "):
                tracked = int(line.split()[1])
    rss = nw.rss_kb()
    stop.set()
    t.join()
    nw.stop()
    return times, size, tracked, rss


def report(maps, rss_idle, none, tool, cost, lat):
    total = sum(m[3] for m in maps)
    print("### netwatch (issue 9)\n")
    print("Kernel memory of every map at the defaults (`bpftool map show`, bytes_memlock; "
          "--max-conns 10240): **%.1f MiB** (target ≤ 32 MiB; the original preallocated "
          "hundreds of MB). VmRSS attached and idle: %d KiB.\n" % (total / 1048576, rss_idle))
    print("| map | type | entries | bytes |\n| --- | --- | ---: | ---: |")
    for m in sorted(maps, key=lambda m: -m[3]):
        print("| %s | %s | %d | %d |" % m)
    ratio = statistics.median(tool) / statistics.median(none)
    noise = (max(none) - min(none)) / statistics.median(none)
    print("\nThroughput, iperf3 over lo in a namespace, median of %d alternating rounds: "
          "nothing attached %.2f Gbit/s, `netwatch -t -x -r` (stdout to /dev/null) %.2f Gbit/s: "
          "**%.2f×** (target ≥ 0.9×); noise of the runs without it (max − min) / median: %.0f%%.\n"
          % (len(none), statistics.median(none) / 1e9, statistics.median(tool) / 1e9, ratio,
             noise * 100))
    print("Per-event cost during those runs (kernel.bpf_stats_enabled=1):\n")
    print("| program | runs | ns/run |\n| --- | ---: | ---: |")
    for name, (ns, cnt) in sorted(cost.items(), key=lambda kv: -kv[1][0]):
        if cnt:
            print("| %s | %d | %.0f |" % (name, cnt, ns / cnt))
    times, size, tracked, rss = lat
    print("\n`/metrics` with %d tracked connections: median %.0f ms, max %.0f ms over %d scrapes, "
          "%d KiB of text; VmRSS %d KiB.\n" % (tracked, statistics.median(times), max(times),
                                               len(times), size // 1024, rss))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "../../build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=5000, help="connection pairs (2 sockets each)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stats = sh("sysctl", "-n", "kernel.bpf_stats_enabled").stdout.strip()
    sh("ip", "netns", "add", NS)
    srv = None
    try:
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        srv = subprocess.Popen(in_ns(["iperf3", "-s", "-p", str(IPERF_PORT)]),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        sh("sysctl", "-qw", "kernel.bpf_stats_enabled=1")
        nw = Netwatch(build, [])
        time.sleep(1)
        maps, rss_idle = nw.map_memory(), nw.rss_kb()
        nw.stop()
        none, tool, cost = throughput(build, a.rounds, a.seconds)
        lat = metrics_latency(build, a.conns)
        report(maps, rss_idle, none, tool, cost, lat)
    finally:
        if srv:
            srv.kill()
        sh("sysctl", "-qw", "kernel.bpf_stats_enabled=" + stats, check=False)
        sh("ip", "netns", "del", NS, check=False)


main()
