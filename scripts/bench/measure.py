"""The five measurements of issue 3, each returning rows for report.py."""
import glob
import json
import os
import re
import statistics
import time

import config
import report
from procs import Monitor, python_env, run




def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- 1 + 2: start-up and memory ---------------------------------------------
def startup_once(bench, who):
    """(seconds to ready, VmRSS, VmHWM, LLVM+clang text resident; KiB) or a failure."""
    tool, peer = who
    m = bench.tool_monitor(tool, config.TOOLS[tool]["startup_args"]) if tool else \
        bench.peer_monitor(peer)
    secs = m.wait_ready(60)
    if secs is None:
        m.stop()
        return m.failure()
    time.sleep(config.IDLE_SECONDS)
    rss, hwm = m.memory_kb()
    text = m.compiler_text_kb()
    m.stop()
    return secs, rss, hwm, text


def startup(bench, tool, log):
    """Alternating runs of the tool and each peer not measured yet for an
    earlier tool; a peer that fails runs once."""
    who = [(tool, None)] + [(None, p) for p in config.TOOLS[tool]["peers"]
                            if p not in bench.peer_startup]
    runs = {w: [] for w in who}
    failed = {}
    for i in range(bench.p["startup_runs"]):
        for w in who:
            if w in failed or (w[1] and i >= bench.p["peer_startup_runs"]):
                continue
            r = startup_once(bench, w)
            if isinstance(r, str):
                failed[w] = r
                log("%s: does not start: %s" % (w[0] or w[1], r))
            else:
                runs[w].append(r)
    rows = [startup_row(bench, w, runs[w], failed.get(w)) for w in who]
    for w, row in zip(who[1:], rows[1:]):
        bench.peer_startup[w[1]] = row
    return rows[:1] + [bench.peer_startup[p] for p in config.TOOLS[tool]["peers"]]


def startup_row(bench, w, runs, failed):
    breakdown_wanted = not failed and (w[0] or not bench.args.quick)
    return {"name": w[0] or w[1] + " (BCC)", "failed": failed,
            "startup": median([r[0] for r in runs]), "rss": median([r[1] for r in runs]),
            "hwm": median([r[2] for r in runs]), "text": median([r[3] for r in runs]),
            "runs": len(runs), "phases": breakdown(bench, w) if breakdown_wanted else None}


# Where the start-up time goes, from one run under strace (syscall timestamps;
# --seccomp-bpf stops only on the traced calls, so the tool runs near full speed).
STRACE = ["strace", "-f", "--seccomp-bpf", "-ttt", "-qq",
          "-e", "trace=execve,openat,bpf,perf_event_open,ioctl,write"]


def breakdown(bench, who):
    tool, peer = who
    path = os.path.join(bench.tmp, "strace-%s.txt" % (tool or peer))
    cmd = [bench.tool_path(tool)] + config.TOOLS[tool]["startup_args"] if tool else \
        config.PEERS[peer]["cmd"]
    m = Monitor("strace", STRACE + ["-o", path] + cmd,
                ("stderr", r"^Tracing") if tool else config.PEERS[peer]["ready"],
                env=None if tool else python_env())
    m.wait_ready(90)
    m.stop(traced=True)
    delay = 0.0 if tool else config.PEERS[peer].get("ready_delay", 0.0)
    return phases_from_strace(path, delay)


def phases_from_strace(path, ready_delay):
    """Seconds: before compile, compile, load, attach, attached->ready line."""
    t = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*\d+\s+(\d+\.\d+)\s+(.*)", line)
            if not m:
                continue
            ts, call = float(m.group(1)), m.group(2)
            note_event(t, ts, call)
    if not all(k in t for k in ("exec", "hdr", "bpf", "load", "attach")):
        return None
    ready = t.get("ready", t["attach"]) - ready_delay
    return {"before compile": t["hdr"] - t["exec"], "compile": t["bpf"] - t["hdr"],
            "load": t["load"] - t["bpf"], "attach": t["attach"] - t["load"],
            "attached -> ready line": max(0.0, ready - t["attach"])}


def note_event(t, ts, call):
    if call.startswith("execve(") and "exec" not in t:
        t["exec"] = ts
    elif call.startswith("openat(") and "/lib/modules/" in call and "hdr" not in t:
        t["hdr"] = ts  # clang opens the first kernel header: the compile is under way
    elif call.startswith("bpf(") and "hdr" in t:
        t.setdefault("bpf", ts)
        if "BPF_PROG_LOAD" in call and "SOCKET_FILTER" not in call:
            t["load"] = ts
        if "BPF_RAW_TRACEPOINT_OPEN" in call:
            t["attach"] = ts
    elif call.startswith("ioctl(") and "PERF_EVENT_IOC_ENABLE" in call:
        t["attach"] = ts
    elif call.startswith("write(") and "attach" in t and "ready" not in t:
        if "Tracing" in call or call.startswith("write(1,"):
            t["ready"] = ts


# ---- 3: in-kernel cost per event --------------------------------------------
def prog_hooks(pid):
    """{prog_id: hook} for the programs process pid has attached (bpftool perf)."""
    out = run(["bpftool", "perf", "show", "-j"]).stdout or "[]"
    hooks = {}
    for e in json.loads(out):
        if e.get("pid") != pid:
            continue
        if e.get("fd_type") == "raw_tracepoint":
            hooks[e["prog_id"]] = "raw:" + e["tracepoint"]
        elif e.get("fd_type") == "tracepoint":
            hooks[e["prog_id"]] = "tp:" + tracepoint_category(e["tracepoint"]) + ":" + \
                e["tracepoint"]
        else:
            hooks[e["prog_id"]] = "%s:%s" % (e.get("fd_type"), e.get("func", "?"))
    return hooks


def tracepoint_category(event):
    found = glob.glob("/sys/kernel/tracing/events/*/%s" % event)
    return found[0].split("/")[-2] if found else "?"


def prog_stats():
    """{prog_id: (run_cnt, run_time_ns)} with kernel.bpf_stats_enabled=1."""
    out = run(["bpftool", "prog", "show", "-j"]).stdout or "[]"
    return {p["id"]: (p.get("run_cnt", 0), p.get("run_time_ns", 0)) for p in json.loads(out)}


def start_ready(m, log):
    if m.wait_ready(90) is None:
        log("%s: did not attach: %s" % (m.label, m.failure()))
        m.stop()
        return None
    return m


def cost(bench, tool, log):
    """ns/event per hook: empty program, tool (each filter setting), hook peer."""
    cfg = config.TOOLS[tool]
    monitors = []
    try:
        for label, args in cfg["cost"].items():
            m = start_ready(bench.tool_monitor(tool, args, ns=True, label=label,
                                               stdout_path=os.devnull), log)
            if m:
                monitors.append(("tool", label, m))
        if cfg.get("hook_peer"):
            peer = start_ready(bench.peer_monitor(os.path.basename(cfg["hook_peer"][0]),
                                                  cfg["hook_peer"], ns=True), log)
            if peer:
                monitors.append(("peer", " ".join(cfg["hook_peer"]).replace(
                    config.SBIN, ""), peer))
        progs = {(kind, label): prog_hooks(m.proc.pid) for kind, label, m in monitors}
        tool_events = set(event_of(h) for (kind, _), ph in progs.items() if kind == "tool"
                          for h in ph.values())
        hooks = sorted(set(h for ph in progs.values() for h in ph.values()
                           if event_of(h) in tool_events))
        if not hooks:
            return []
        # The floor on every hook type seen (a peer may use the tracepoint
        # where the tool uses the raw tracepoint of the same event).
        floor = start_ready(Monitor("empty program", ["/usr/bin/python3", os.path.join(
            os.path.dirname(__file__), "floor.py")] + hooks, ("stderr", "^Tracing")), log)
        if floor:
            monitors.append(("floor", "empty program", floor))
            progs[("floor", "empty program")] = prog_hooks(floor.proc.pid)
        return measure_cost(bench, cfg, progs, hooks)
    finally:
        for _, _, m in monitors:
            m.stop()


def event_of(hook):
    return hook.rsplit(":", 1)[-1]


def measure_cost(bench, cfg, progs, hooks):
    before = prog_stats()
    bench.workload(cfg["workload"])
    after = prog_stats()
    rows = []
    for (kind, label), ph in progs.items():
        for prog, hook in ph.items():
            if hook not in hooks or prog not in after or prog not in before:
                continue
            cnt = after[prog][0] - before[prog][0]
            ns = after[prog][1] - before[prog][1]
            rows.append({"hook": hook, "kind": kind, "label": label, "events": cnt,
                         "ns": ns / cnt if cnt else None})
    return rows


# ---- 4: overhead on the workload --------------------------------------------
def overhead(bench, tool, log):
    """Throughput and connection rate: nothing, tool, peer; alternating rounds."""
    cfg = config.TOOLS[tool]
    conds = ["none", "tool", "peer"]
    res = {c: {"bps": [], "cps": []} for c in conds}
    peer_fail = None
    for r in range(bench.p["overhead_rounds"]):
        for c in conds[r % 3:] + conds[:r % 3]:
            if c == "peer" and peer_fail:
                continue
            m = None
            if c == "tool":
                m = start_ready(bench.tool_monitor(tool, cfg["overhead"], ns=True,
                                                   stdout_path=os.devnull), log)
            elif c == "peer":
                m = start_ready(bench.peer_monitor(
                    os.path.basename(cfg["overhead_peer"][0]), cfg["overhead_peer"], ns=True), log)
                if m is None:
                    peer_fail = "does not start"
                    continue
            res[c]["bps"].append(bench.iperf(bench.p["seconds"]))
            res[c]["cps"].append(bench.conns(bench.p["seconds"]))
            if m:
                m.stop()
    row = {c: {k: median(v) for k, v in res[c].items()} for c in conds}
    row["peer_name"] = " ".join(cfg["overhead_peer"]).replace(config.SBIN, "")
    row["peer_fail"] = peer_fail
    row["rounds"] = bench.p["overhead_rounds"]
    row["spread"] = spread(res["none"]["bps"])
    row["spread_cps"] = spread(res["none"]["cps"])
    return row


def spread(xs):
    """(max - min) / median of the runs without a tool: the noise floor."""
    xs = [x for x in xs if x is not None]
    return (max(xs) - min(xs)) / statistics.median(xs) if len(xs) > 1 else None


# ---- 5: loss ------------------------------------------------------------------
def tun_counters(bench):
    out = run(["ip", "-n", bench.ns, "-j", "-s", "link", "show", "tun0"]).stdout
    tx = json.loads(out)[0]["stats64"]["tx"]
    return tx["packets"] + tx["dropped"]


def loss_tun(bench, tool, rate, log):
    """One rate step: packets into tun0 vs events reported + lost."""
    out_path = os.path.join(bench.tmp, "loss-%s-%d.json" % (tool, rate))
    m = start_ready(bench.tool_monitor(tool, ["--all", "-d", "tun0", "--json"], ns=True,
                                       stdout_path=out_path), log)
    if not m:
        return None
    count = int((rate or 200000) * bench.p["loss_seconds"])
    k0 = tun_counters(bench)
    sent = bench.udp_to_tun(count, rate)
    k1 = tun_counters(bench)
    time.sleep(0.5)  # let the tool drain its ring buffer
    m.stop()
    summary = summary_line(out_path)
    return {"rate_asked": rate, "rate": sent.get("sent", 0) / max(sent.get("seconds", 1), 1e-9),
            "kernel": k1 - k0, "events": summary.get("events"),
            "lost": summary.get("lost_events")}


def summary_line(path):
    last = {}
    with open(path) as f:
        for line in f:
            if '"summary"' in line:
                try:
                    last = json.loads(line)
                except ValueError:
                    pass
    return last


def loss_conns(bench, tool, log):
    """Short connections as fast as the generator can: each is one connect and
    one accept event on port 5301."""
    out_path = os.path.join(bench.tmp, "loss-%s.json" % tool)
    m = start_ready(bench.tool_monitor(tool, ["--json"], ns=True, stdout_path=out_path), log)
    if not m:
        return []
    made, took = bench.conns(bench.p["loss_seconds"] * 2, count=True)
    time.sleep(0.5)
    m.stop()
    expected, rate = 2 * made, made / took
    ours = 0
    with open(out_path) as f:
        for line in f:
            if '"connection"' in line and ('"dport":5301' in line or '"sport":5301' in line):
                ours += 1
    summary = summary_line(out_path)
    return [{"rate_asked": 0, "rate": rate * 2, "kernel": expected, "events": ours,
             "lost": summary.get("lost_events")}]


def loss(bench, tool, log):
    kind = config.TOOLS[tool].get("loss")
    if kind == "conns":
        return loss_conns(bench, tool, log)
    if kind != "tun":
        return []
    return [r for r in (loss_tun(bench, tool, rate, log) for rate in bench.p["loss_rates"]) if r]


# ---- all ---------------------------------------------------------------------
def run_all(bench, tools, parts, log):
    results = {}
    for tool in tools:
        res = results[tool] = {}
        for part, fn in (("startup", startup), ("cost", cost), ("overhead", overhead),
                         ("loss", loss)):
            if part in parts:
                log("%s: %s" % (tool, part))
                res[part] = fn(bench, tool, log)
    with open(os.path.join(bench.tmp, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    return report.render(results, bench)
