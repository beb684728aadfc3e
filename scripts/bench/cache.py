#!/usr/bin/env python3
"""Start-up and memory with the program cache (issue 12), beside libbpf-tools'
CO-RE tcpstates and the Python/BCC tcpstates.

For each bccnet tool: a miss (empty cache directory: libbcc compiles in a
child process), then hits (the same options again), and optionally the same
tool from an older build (--baseline DIR: e.g. a build from before the cache,
which links and runs LLVM in the tool itself). Per run: exec to the "Tracing"
line, VmRSS 1 s after it (attached, idle), VmHWM (peak) of the tool process,
and the peak of the tool and every process it waited for (the compiler child
on a miss), from wait4()'s rusage. Medians over --runs runs, alternating.

    sudo python3 scripts/bench/cache.py [--build DIR] [--baseline DIR] [--runs N] [--tools a,b]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import Monitor  # noqa: E402

TOOLS = {
    "tcp_connection": [],
    "tcp_bytes": [],
    "tcp_inerrs": [],
    "nic_throughput": ["-n", "lo"],
    "tun_ring_monitor": [],
    "linux_net_kernel": [],
    "tcp-insight": [],
    "netwatch": [],
}
PEERS = {
    # stdbuf: its header goes to a pipe, block-buffered, until the first event.
    "tcpstates (libbpf-tools, CO-RE)": (["stdbuf", "-oL", "/usr/sbin/tcpstates"],
                                        ("stdout", r"\S")),
    "tcpstates (Python/BCC)": (["/usr/sbin/tcpstates-bpfcc"], ("stdout", r"\S")),
}


def one_run(label, cmd, ready, env, settle=1.0):
    """(start-up s, RSS KiB, tool peak KiB, peak with children KiB) or None."""
    m = Monitor(label, cmd, ready, env=env)
    start = m.wait_ready(120)
    if start is None:
        m.proc.kill()
        m.proc.wait()
        print("cache.py: %s did not start: %s" % (label, m.failure()), file=sys.stderr)
        return None
    time.sleep(settle)
    rss, hwm = m.memory_kb()
    m.proc.send_signal(2)
    _, _, usage = os.wait4(m.proc.pid, 0)
    return start, rss, hwm, usage.ru_maxrss


def env_with(cache_dir):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("BCCNET_NO_CACHE", None)
    env["BCCNET_CACHE_DIR"] = cache_dir
    return env


def bccnet_cmd(bindir, tool):
    return [os.path.join(bindir, tool)] + TOOLS[tool]


def measure_tool(args, tool, tmp):
    """Rows: miss, hit, and the baseline build (if given)."""
    ready = ("stderr", r"^Tracing")
    rows = {"miss": [], "hit": [], "baseline": []}
    for i in range(args.runs):
        d = os.path.join(tmp, "%s-%d" % (tool, i))
        os.mkdir(d, 0o700)
        env = env_with(d)
        rows["miss"].append(one_run(tool, bccnet_cmd(args.build, tool), ready, env))
        rows["hit"].append(one_run(tool, bccnet_cmd(args.build, tool), ready, env))
        if args.baseline and os.path.exists(os.path.join(args.baseline, tool)):
            rows["baseline"].append(one_run(tool, bccnet_cmd(args.baseline, tool), ready, env))
        shutil.rmtree(d)
    return rows


def median_row(runs):
    runs = [r for r in runs if r]
    if not runs:
        return None
    return [statistics.median(col) for col in zip(*runs)] + [len(runs)]


def fmt(label, row):
    if not row:
        return "| %s | did not start | | | | |" % label
    start, rss, hwm, peak, n = row
    return "| %s | %.0f | %.1f | %.1f | %.1f | %d |" % (
        label, start * 1000, rss / 1024, hwm / 1024, peak / 1024, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--baseline", help="build directory of an older bccnet to compare with")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tools", default=",".join(TOOLS))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bccnet-cache-bench.")
    os.chmod(tmp, 0o700)
    print("| run | start-up ms | RSS attached MiB | peak RSS (tool) MiB "
          "| peak RSS (tool + compiler child) MiB | runs |")
    print("|---|---|---|---|---|---|")
    for name, (cmd, ready) in PEERS.items():
        if not shutil.which(cmd[-1]):
            print("| %s | not installed | | | | |" % name)
            continue
        env = env_with(tmp)
        print(fmt(name, median_row([one_run(name, cmd, ready, env)
                                    for _ in range(args.runs)])), flush=True)
    for tool in args.tools.split(","):
        if not os.path.exists(os.path.join(args.build, tool)):
            print("cache.py: %s not built, skipped" % tool, file=sys.stderr)
            continue
        rows = measure_tool(args, tool, tmp)
        print(fmt(tool + ": hit", median_row(rows["hit"])))
        print(fmt(tool + ": miss", median_row(rows["miss"])))
        if rows["baseline"]:
            print(fmt(tool + ": before the cache", median_row(rows["baseline"])), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
