#!/usr/bin/env python3
"""Abortive-close churn for churn.bats: what load-balancer health checks do.

server COMM PIDFILE GOFILE COUNT BYTES ADDR:PORT...
    listens on every ADDR:PORT ([v6]:port for IPv6) with a backlog of COUNT,
    writes its PID to PIDFILE, waits (bounded: peerlib.GO_WAIT_S) for GOFILE, then accepts
    COUNT connections on each listener (most of them already reset by the
    peer, so the kernel has cleared their local port), reads up to BYTES from
    each (what the peer sent before its reset), closes them, prints
    {"accepted": [per listener], "received": total bytes} and exits 0 if every
    connection was accepted.
client COMM PIDFILE DONEFILE COUNT BYTES ADDR:PORT...
    writes its PID to PIDFILE, then makes COUNT connections to each ADDR:PORT,
    sends BYTES on each and closes it at once with SO_LINGER 0 (an RST, no
    FIN), printing one JSON line per connection ({"ip", "saddr", "sport",
    "daddr", "dport"}); creates DONEFILE at the end.
"""
import json
import select
import socket
import struct
import sys
import time

from peerlib import await_file, endpoint, listen_all, set_comm, write_pid

LINGER_0 = struct.pack("ii", 1, 0)


def read_some(conn, nbytes):
    """What the peer sent before its reset (the reset itself comes after)."""
    got = 0
    try:
        while got < nbytes:
            data = conn.recv(nbytes - got)
            if not data:
                break
            got += len(data)
    except ConnectionResetError:
        pass
    return got


def accept_all(listener, count, nbytes, deadline):
    accepted = received = 0
    while accepted < count and time.monotonic() < deadline:
        if select.select([listener], [], [], 1)[0]:
            conn = listener.accept()[0]
            received += read_some(conn, nbytes)
            conn.close()
            accepted += 1
    return accepted, received


def server(comm, pidfile, gofile, count, nbytes, endpoints):
    set_comm(comm)
    listeners = listen_all(endpoints, count)
    write_pid(pidfile)
    await_file(gofile)
    deadline = time.monotonic() + 300
    done = [accept_all(s, count, nbytes, deadline) for s in listeners]
    print(json.dumps({"accepted": [a for a, _ in done], "received": sum(r for _, r in done)}),
          flush=True)
    return 0 if all(a == count for a, _ in done) else 1


def client(comm, pidfile, donefile, count, nbytes, endpoints):
    set_comm(comm)
    write_pid(pidfile)
    out = []
    for family, addr, port in endpoints:
        for _ in range(count):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.connect((addr, port))
            local, peer = c.getsockname(), c.getpeername()
            c.sendall(b"c" * nbytes)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
            c.close()
            out.append(json.dumps({"ip": 4 if family == socket.AF_INET else 6,
                                   "saddr": local[0], "sport": local[1],
                                   "daddr": peer[0], "dport": peer[1]}))
    print("\n".join(out), flush=True)
    open(donefile, "w").close()
    return 0


def main(argv):
    eps = [endpoint(e) for e in argv[7:]]
    role = server if argv[1] == "server" else client
    return role(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), eps)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
