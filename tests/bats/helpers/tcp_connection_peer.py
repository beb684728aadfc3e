#!/usr/bin/env python3
"""TCP peers for tcp_connection.bats, each with its own COMM.

server COMM PIDFILE COUNT ADDR:PORT...
    listens on every ADDR:PORT ([v6]:port for IPv6), writes its PID to PIDFILE
    once listening, accepts COUNT connections in all (alternately with the
    accept4() and the accept() system call), then exits.
client COMM PIDFILE GOFILE COUNT ADDR:PORT...
    writes its PID to PIDFILE, waits (bounded: peerlib.GO_WAIT_S) for GOFILE to exist, then
    makes COUNT connections to each ADDR:PORT, printing one JSON line per
    connection ({"ip", "saddr", "sport", "daddr", "dport"}), and closes them.
Both do their socket calls in a second thread, so the thread ID that calls
connect()/accept() differs from the process ID (TGID).
"""
import ctypes
import json
import select
import socket
import sys
import time

from peerlib import (GO_WAIT_S, await_file, endpoint, in_second_thread, listen_all, set_comm,
                     write_pid)

libc = ctypes.CDLL(None, use_errno=True)


def accept_one(listener, use_plain_accept):
    if use_plain_accept:  # the accept() system call, not accept4()
        fd = libc.accept(listener.fileno(), None, None)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "accept")
        return socket.socket(fileno=fd)
    return listener.accept()[0]


def server(comm, pidfile, count, endpoints):
    set_comm(comm)
    listeners = listen_all(endpoints, 128)
    write_pid(pidfile)
    accepted = []
    deadline = time.monotonic() + GO_WAIT_S + 60  # the client waits for its go first
    while len(accepted) < count and time.monotonic() < deadline:
        ready, _, _ = select.select(listeners, [], [], 1)
        for s in ready:
            accepted.append(accept_one(s, len(accepted) % 2 == 1))
    for c in accepted:
        c.close()
    return 0 if len(accepted) == count else 1


def client(comm, pidfile, gofile, count, endpoints):
    set_comm(comm)
    write_pid(pidfile)
    await_file(gofile)
    conns = []
    for family, addr, port in endpoints:
        for _ in range(count):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.connect((addr, port))
            conns.append(c)
            local, peer = c.getsockname(), c.getpeername()
            print(json.dumps({"ip": 4 if family == socket.AF_INET else 6,
                              "saddr": local[0], "sport": local[1],
                              "daddr": peer[0], "dport": peer[1]}), flush=True)
    time.sleep(0.2)  # let the server accept before the FINs arrive
    for c in conns:
        c.close()
    return 0


def run(argv):
    if argv[1] == "server":
        return server(argv[2], argv[3], int(argv[4]), [endpoint(e) for e in argv[5:]])
    return client(argv[2], argv[3], argv[4], int(argv[5]), [endpoint(e) for e in argv[6:]])


if __name__ == "__main__":
    sys.exit(in_second_thread(run, sys.argv))
