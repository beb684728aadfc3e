#!/usr/bin/env python3
"""TCP peers for tcp-insight.bats, each with its own COMM and socket calls in a second thread
(so the thread ID differs from the PID).

server COMM PIDFILE COUNT ADDR:PORT...
    listens on every ADDR:PORT ([v6]:port for IPv6), writes its PID to PIDFILE once
    listening, then for COUNT connections in all: accepts, reads until the client's FIN
    (or a reset), answers with the number of bytes it read + 1000 bytes of 'r' if the
    connection is still up, closes. Prints one JSON line per connection:
    {"sport", "dport", "received", "sent", "reset"} (its own view: sport local).
client COMM PIDFILE GOFILE COUNTS LINGER0 ADDR:PORT...
    writes its PID, waits (bounded: peerlib.GO_WAIT_S) for GOFILE, then makes COUNTS[k] connections
    to the k-th ADDR:PORT (COUNTS: comma-separated); connection i sends 1000 + 37 * i bytes in two writes, shuts down
    its sending side and reads the answer; the first LINGER0 connections of each
    endpoint instead close at once with SO_LINGER 0 (an abortive close: a RST).
    Prints one JSON line per connection: {"ip", "sport", "dport", "sent", "received",
    "linger0"}.
Clients bind to the source address in $TI_BIND4 / $TI_BIND6 when set (both peers in one
namespace).
bulk-server COMM PIDFILE ADDR:PORT [RCVBUF]
    accepts one connection and reads it to the end (slowly for the first second when
    RCVBUF is given, to make the window matter); prints {"received": N}.
bulk-client COMM PIDFILE GOFILE BYTES ADDR:PORT [PAUSEDIR]
    waits for GOFILE, sends BYTES in 64 KiB writes, closes; prints {"sport", "sent"}.
    With PAUSEDIR: after half of BYTES it creates PAUSEDIR/half and waits (bounded) for
    PAUSEDIR/resume before sending the rest.
"""
import json
import os
import select
import socket
import struct
import sys
import time

from peerlib import (GO_WAIT_S, await_file, endpoint, in_second_thread, listen_all, set_comm,
                     write_pid)


def read_all(c):
    n, reset = 0, False
    while True:
        try:
            data = c.recv(65536)
        except ConnectionResetError:
            reset = True
            break
        if not data:
            break
        n += len(data)
    return n, reset


def serve_one(c):
    received, reset = read_all(c)
    sent = 0
    if not reset:
        try:
            c.sendall(b"r" * (received + 1000))
            sent = received + 1000
        except OSError:
            reset = True
    local, peer = c.getsockname(), c.getpeername() if not reset else (None, 0)
    print(json.dumps({"sport": local[1], "dport": peer[1], "received": received,
                      "sent": sent, "reset": reset}), flush=True)
    c.close()


def server(comm, pidfile, count, endpoints):
    set_comm(comm)
    listeners = listen_all(endpoints, 256)
    write_pid(pidfile)
    done = 0
    deadline = time.monotonic() + GO_WAIT_S + 300  # the clients wait for their go first
    while done < count and time.monotonic() < deadline:
        ready, _, _ = select.select(listeners, [], [], 1)
        for s in ready:
            c, _ = s.accept()
            serve_one(c)
            done += 1
    return 0 if done == count else 1


def connected(family, addr, port):
    """A TCP socket connected to addr:port, from $TI_BIND4/$TI_BIND6 if set."""
    c = socket.socket(family, socket.SOCK_STREAM)
    src = os.environ.get("TI_BIND4" if family == socket.AF_INET else "TI_BIND6")
    if src:
        c.bind((src, 0))
    c.connect((addr, port))
    return c


def one_connection(family, addr, port, i, linger0):
    c = connected(family, addr, port)
    local = c.getsockname()
    size = 1000 + 37 * i
    if linger0:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        return {"sport": local[1], "sent": 0, "received": 0, "linger0": True}
    c.sendall(b"s" * (size // 2))
    c.sendall(b"s" * (size - size // 2))
    c.shutdown(socket.SHUT_WR)
    received, _ = read_all(c)
    c.close()
    return {"sport": local[1], "sent": size, "received": received, "linger0": False}


def client(comm, pidfile, gofile, counts, linger0, endpoints):
    set_comm(comm)
    write_pid(pidfile)
    await_file(gofile)
    for (family, addr, port), count in zip(endpoints, counts):
        for i in range(count):
            row = one_connection(family, addr, port, i, i < linger0)
            row.update({"ip": 4 if family == socket.AF_INET else 6, "dport": port})
            print(json.dumps(row), flush=True)
    return 0


def bulk_server(comm, pidfile, ep, rcvbuf):
    set_comm(comm)
    (s,) = listen_all([ep], 8)
    write_pid(pidfile)
    c, _ = s.accept()
    if rcvbuf:
        time.sleep(1)
    n, _ = read_all(c)
    print(json.dumps({"received": n}), flush=True)
    c.close()
    return 0


def send_bytes(c, nbytes):
    chunk, sent = b"b" * 65536, 0
    while sent < nbytes:
        sent += c.send(chunk[: min(len(chunk), nbytes - sent)])
    return sent


def bulk_client(comm, pidfile, gofile, nbytes, ep, pausedir):
    set_comm(comm)
    write_pid(pidfile)
    await_file(gofile)
    c = connected(*ep)
    sport = c.getsockname()[1]
    sent = send_bytes(c, nbytes // 2)
    if pausedir:
        write_pid(pausedir + "/half")
        await_file(pausedir + "/resume")
    sent += send_bytes(c, nbytes - sent)
    c.shutdown(socket.SHUT_WR)
    read_all(c)
    c.close()
    print(json.dumps({"sport": sport, "sent": sent}), flush=True)
    return 0


def run(argv):
    mode = argv[1]
    if mode == "server":
        return server(argv[2], argv[3], int(argv[4]), [endpoint(e) for e in argv[5:]])
    if mode == "client":
        return client(argv[2], argv[3], argv[4], [int(n) for n in argv[5].split(",")], int(argv[6]),
                      [endpoint(e) for e in argv[7:]])
    if mode == "bulk-server":
        return bulk_server(argv[2], argv[3], endpoint(argv[4]), len(argv) > 5)
    return bulk_client(argv[2], argv[3], argv[4], int(argv[5]), endpoint(argv[6]),
                       argv[7] if len(argv) > 7 else None)


if __name__ == "__main__":
    sys.exit(in_second_thread(run, sys.argv))
