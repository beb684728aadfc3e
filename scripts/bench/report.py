"""Markdown tables from the measurements."""
import os
import platform
import subprocess
import time

import config



def fmt(x, spec="%.0f", none="–"):
    return none if x is None else spec % x


def mib(kb):
    return fmt(None if kb is None else kb / 1024.0, "%.1f")


def ratio(a, b, spec="%.2f×"):
    return "–" if a is None or not b else spec % (a / b)


def machine():
    bcc = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libbpfcc"],
                         capture_output=True, text=True).stdout or "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return ("Machine: kernel %s, %d CPUs (%s), libbpfcc %s, python %s; %s UTC" %
            (platform.release(), os.cpu_count(), cpu, bcc, platform.python_version(),
             time.strftime("%Y-%m-%d %H:%M", time.gmtime())))


def startup_table(results):
    out = ["### Start-up and memory",
           "",
           "Start-up: exec to the \"Tracing\" line (Python peers: their first line; netqtop: "
           "its first line minus its interval), median of alternating runs. RSS: VmRSS "
           "%.0f s after that line, attached and idle; peak: VmHWM. Phases: one extra run "
           "under strace (see docs/performance.md for their definition)." %
           config.IDLE_SECONDS,
           "",
           "| tool | start-up s | vs peer | RSS idle MiB | vs peer | of which LLVM/clang code "
           "| peak RSS MiB | runs | before compile | compile | load | attach | attached→ready |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for tool, res in results.items():
        rows = res.get("startup") or []
        peer = next((r for r in rows[1:] if not r["failed"]), None)
        for r in rows:
            out.append(startup_row(r, rows[0], peer))
    return out


def startup_row(r, tool_row, peer):
    if r["failed"]:
        return "| %s | **does not start**: %s | | | | | | | | | | | |" % (
            r["name"], r["failed"][:110].replace("|", "/"))
    ph = r["phases"] or {}
    cells = [fmt(ph.get(k), "%.3f") for k in
             ("before compile", "compile", "load", "attach", "attached -> ready line")]
    is_tool = r is tool_row
    return "| %s | %.3f | %s | %s | %s | %s | %s | %d | %s |" % (
        r["name"], r["startup"],
        ratio(r["startup"], peer["startup"]) if is_tool and peer else "",
        mib(r["rss"]), ratio(r["rss"], peer["rss"]) if is_tool and peer else "",
        mib(r["text"]), mib(r["hwm"]), r["runs"], " | ".join(cells))


def cost_table(results):
    out = ["### In-kernel cost per event",
           "",
           "run_time_ns / run_cnt (kernel.bpf_stats_enabled=1) of every program, all "
           "attached side by side under the same workload; × floor = against an empty "
           "program on the same hook (same event and type: tracepoint or raw tracepoint). "
           "Hooks with fewer than 100 events under the workload are left out.",
           "",
           "| tool | hook | program | events | ns/event | × floor |",
           "|---|---|---|---|---|---|"]
    for tool, res in results.items():
        rows = res.get("cost") or []
        floors = {r["hook"]: r["ns"] for r in rows if r["kind"] == "floor"}
        order = {"floor": 0, "tool": 1, "peer": 2}
        rows = [r for r in rows if r["events"] >= 100]  # hooks the workload hardly reaches
        for r in sorted(rows, key=lambda r: (r["hook"].rsplit(":", 1)[-1], r["hook"],
                                             order[r["kind"]])):
            name = {"floor": "empty program", "tool": tool + " " + r["label"],
                    "peer": "BCC " + r["label"]}[r["kind"]]
            out.append("| %s | %s | %s | %d | %s | %s |" % (
                tool, r["hook"], name, r["events"], fmt(r["ns"], "%.0f"),
                ratio(r["ns"], floors.get(r["hook"]))))
    return out


def overhead_table(results):
    out = ["### Overhead on the workload",
           "",
           "iperf3 over lo and short TCP connections (connect, 1 byte each way, close) "
           "inside the bench namespace; medians of alternating rounds; ratio = with / without; "
           "noise = (max − min) / median of the runs without a tool (iperf3 / connections).",
           "",
           "| tool | peer | rounds | iperf3 Gbit/s none | noise | tool | peer | tool ratio | "
           "peer ratio | conn/s none | tool | peer | tool ratio | peer ratio |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for tool, res in results.items():
        r = res.get("overhead")
        if not r:
            continue
        g = lambda c: None if r[c]["bps"] is None else r[c]["bps"] / 1e9
        peer = r["peer_name"] + (" (**does not start**)" if r["peer_fail"] else "")
        out.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            tool, peer, r["rounds"], fmt(g("none"), "%.2f"),
            noise(r), fmt(g("tool"), "%.2f"),
            fmt(g("peer"), "%.2f"), ratio(g("tool"), g("none"), "%.3f"),
            ratio(g("peer"), g("none"), "%.3f"), fmt(r["none"]["cps"]),
            fmt(r["tool"]["cps"]), fmt(r["peer"]["cps"]),
            ratio(r["tool"]["cps"], r["none"]["cps"], "%.3f"),
            ratio(r["peer"]["cps"], r["none"]["cps"], "%.3f")))
    return out


def noise(r):
    pct = lambda x: fmt(None if x is None else 100 * x, "%.0f%%")
    return "%s / %s" % (pct(r["spread"]), pct(r.get("spread_cps")))


def loss_table(results):
    out = ["### Event loss",
           "",
           "tun_ring_monitor: UDP into tun0 (held open, never read) at a paced rate (max = as "
           "fast as the sender can); the tool runs `--all -d tun0 --json` to a file; expected = "
           "tun0 tx packets + tx dropped (the kernel's count). tcp_connection: short "
           "connections as fast as the generator can, `--json` to a file; expected = 2 × "
           "connections made (connect + accept). unaccounted = expected − events − lost.",
           "",
           "| tool | rate asked /s | rate sent /s | expected events | events reported | "
           "lost reported | unaccounted |",
           "|---|---|---|---|---|---|---|"]
    for tool, res in results.items():
        for r in res.get("loss") or []:
            ev, lost = r["events"], r["lost"]
            unacc = None if ev is None or lost is None else r["kernel"] - ev - lost
            out.append("| %s | %s | %.0f | %d | %s | %s | %s |" % (
                tool, r["rate_asked"] or "max", r["rate"], r["kernel"], fmt(ev), fmt(lost),
                fmt(unacc)))
    return out


def render(results, bench):
    lines = ["## bccnet benchmark (%s)" % ("quick" if bench.args.quick else "full"), "",
             machine(), ""]
    for table in (startup_table, cost_table, overhead_table, loss_table):
        lines += table(results) + [""]
    return "\n".join(lines)
