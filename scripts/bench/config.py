"""What is measured: each bccnet tool, its Python/BCC peers, filters, workloads.

Tools run inside the bench namespace (NS) where they need its devices; the
bench namespace has lo (iperf3, short connections), tun0 (a TUN device held
open and never read, 10.77.0.1/24) and an idle veth pair bv0/bv1.
"""

SBIN = "/usr/sbin/"
IDLE_SECONDS = 1.0  # attached and idle before VmRSS is read

# Python/BCC peers from Debian's bpfcc-tools. ready: the stream and line that
# says "attached". netqtop prints nothing until its first interval has passed:
# its start-up is that first line minus the interval.
PEERS = {
    "tcpstates": {"cmd": [SBIN + "tcpstates-bpfcc"], "ready": ("stdout", r"\S")},
    "tcplife": {"cmd": [SBIN + "tcplife-bpfcc"], "ready": ("stdout", r"\S")},
    "tcpretrans": {"cmd": [SBIN + "tcpretrans-bpfcc"], "ready": ("stdout", r"\S")},
    "tcpconnect": {"cmd": [SBIN + "tcpconnect-bpfcc"], "ready": ("stdout", r"\S")},
    "tcpaccept": {"cmd": [SBIN + "tcpaccept-bpfcc"], "ready": ("stdout", r"\S")},
    "tcptop": {"cmd": [SBIN + "tcptop-bpfcc", "-C", "1"], "ready": ("stdout", r"\S")},
    "tcpdrop": {"cmd": [SBIN + "tcpdrop-bpfcc"], "ready": ("stdout", r"\S")},
    "netqtop": {"cmd": [SBIN + "netqtop-bpfcc", "-n", "lo", "-i", "0.2"],
                "ready": ("stdout", r"\S"), "ready_delay": 0.2},
}

# For each bccnet tool:
#   startup_args  arguments for the start-up / memory runs (root namespace)
#   peers         Python peers for start-up / memory (closest first)
#   hook_peer     peer (command, in NS) whose programs share the tool's hooks
#   cost          labelled argument lists run side by side under `workload`;
#                 "reject" instances see the same events but their filter drops them
#   workload      "tun" (UDP into tun0) and/or "tcp" (iperf3 + short connections on lo)
#   overhead      tool arguments for the throughput / request-rate runs (in NS)
#   aggregating   the issue's <5% throughput-overhead target applies
#   loss          event-streaming tool: how to drive it to its limit
TOOLS = {
    "tun_ring_monitor": {
        "startup_args": [],
        "peers": ["tcpstates", "netqtop"],
        "hook_peer": [SBIN + "netqtop-bpfcc", "-n", "tun0", "-i", "1"],
        "cost": {
            "--all -d tun0 (every packet reported)": ["--all", "-d", "tun0", "--json"],
            "-d tun0 (default: ring-full only)": ["-d", "tun0", "--json"],
            "--all -d tun0 --dst-port 9 (filter rejects)": ["--all", "-d", "tun0",
                                                            "--dst-port", "9", "--json"],
            "--all -d tun9 (absent device: filter rejects)": ["--all", "-d", "tun9", "--json"],
        },
        "workload": ["tun"],
        "overhead": [],
        "overhead_peer": [SBIN + "netqtop-bpfcc", "-n", "lo", "-i", "1"],
        "aggregating": False,
        "loss": "tun",
    },
    "nic_throughput": {
        "startup_args": ["-n", "lo"],
        "peers": ["netqtop"],
        "hook_peer": [SBIN + "netqtop-bpfcc", "-n", "lo", "-i", "1"],
        "cost": {
            "-n lo (device traced)": ["-n", "lo", "--json"],
            "-n bv0 (filter rejects)": ["-n", "bv0", "--json"],
        },
        "workload": ["tcp"],
        "overhead": ["-n", "lo"],
        "overhead_peer": [SBIN + "netqtop-bpfcc", "-n", "lo", "-i", "1"],
        "aggregating": True,
    },
    "tcp_connection": {
        "startup_args": [],
        "peers": ["tcpconnect", "tcpaccept", "tcpstates"],
        "hook_peer": [SBIN + "tcpstates-bpfcc"],
        "cost": {
            "(no filter)": ["--json"],
            "-P 1 (filter rejects)": ["-P", "1", "--json"],
        },
        "workload": ["tcp"],
        "overhead": [],
        "overhead_peer": [SBIN + "tcpstates-bpfcc"],
        "aggregating": False,
        "loss": "conns",
    },
    "tcp_bytes": {
        "startup_args": [],
        "peers": ["tcptop", "tcplife"],
        "hook_peer": None,
        "cost": {
            "(no filter)": ["--json"],
            "-p 1 (filter rejects)": ["-p", "1", "--json"],
        },
        "workload": ["tcp"],
        "overhead": [],
        "overhead_peer": [SBIN + "tcptop-bpfcc", "-C", "1"],
        "aggregating": True,
    },
    "tcp_inerrs": {
        "startup_args": [],
        "peers": ["tcpdrop", "tcpretrans"],
        "hook_peer": None,
        # tun0 ring-full drops: kfree_skb events that are not TCP, so every
        # instance rejects them (the no-filter one by drop reason).
        "cost": {
            "(no filter: drop reason rejects)": ["--json"],
            "-p 1 (filter rejects)": ["-p", "1", "--json"],
        },
        "workload": ["tun"],
        "overhead": [],
        "overhead_peer": [SBIN + "tcpdrop-bpfcc"],
        "aggregating": False,
    },
    "linux_net_kernel": {
        "startup_args": [],
        "peers": ["tcpretrans"],  # the seed's own Python tool is not packaged
        "hook_peer": None,
        # iperf3 on lo (port 5201) and short connections (port 5301): every
        # receive stage this kernel offers; the kprobe stages where it has them.
        "cost": {
            "-p 5201 --rate-limit 0 (every iperf3 segment reported)":
                ["-p", "5201", "--rate-limit", "0", "--json"],
            "-p 5201 (default 10000 events/s, the rest counted)": ["-p", "5201", "--json"],
            "-s -p 5201 (counts and latency, no events)": ["-s", "-p", "5201", "--json"],
            "-p 1 (port filter rejects)": ["-p", "1", "--json"],
            "-i 10.9.9.9 (address filter rejects)": ["-i", "10.9.9.9", "--json"],
        },
        "workload": ["tcp"],
        "overhead": ["-s", "-p", "5201"],
        "overhead_peer": [SBIN + "tcpretrans-bpfcc"],
        "aggregating": True,
    },
    # Its own deeper run (tcp_probe against empty programs, event rate kept up with):
    # scripts/bench/tcp_insight.py.
    "tcp-insight": {
        "startup_args": [],
        "peers": ["tcpstates", "tcpretrans"],  # tcpcong, tcprtt: parts of it (tcprtt needs kprobes)
        "hook_peer": [SBIN + "tcpstates-bpfcc"],
        "cost": {
            "(every event)": ["--json"],
            "-e 0x7e7f (all but CWND_CHANGE, RTT_UPDATE)": ["-e", "0x7e7f", "--json"],
            "--dport 1 (filter rejects)": ["--dport", "1", "--json"],
        },
        "workload": ["tcp"],
        "overhead": ["--json"],
        "overhead_peer": [SBIN + "tcpretrans-bpfcc"],
        "aggregating": False,
    },
    "netwatch": {
        "startup_args": [],
        "peers": ["tcpstates", "tcplife", "tcpretrans"],
        "hook_peer": [SBIN + "tcpstates-bpfcc"],
        "cost": {
            "(every segment reported)": ["--json"],
            "-t -x -r (layer times, extra fields, retransmits)": ["-t", "-x", "-r", "--json"],
            "-s 1 (port filter: nothing tracked)": ["-s", "1", "--json"],
        },
        "workload": ["tcp"],
        "overhead": ["-t", "-x", "-r"],
        "overhead_peer": [SBIN + "tcpretrans-bpfcc"],
        "aggregating": False,
    },
}

# Full run and --quick run.
PROFILES = {
    "full": {"startup_runs": 5, "peer_startup_runs": 5, "overhead_rounds": 3, "seconds": 2,
             "cost_packets": 50000, "loss_rates": [10000, 20000, 40000, 60000, 80000, 0], "loss_seconds": 2},
    "quick": {"startup_runs": 3, "peer_startup_runs": 1, "overhead_rounds": 1, "seconds": 1,
              "cost_packets": 20000, "loss_rates": [20000, 0], "loss_seconds": 1},
}
