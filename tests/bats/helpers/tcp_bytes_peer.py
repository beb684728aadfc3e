#!/usr/bin/env python3
"""One TCP transfer of known size for tcp_bytes tests, over loopback.

server: listens on 127.0.0.1 or ::1 (TCP and UDP on the same port), writes
        "PID PORT" to --ready, reads exactly --up bytes (one MSG_WAITALL recv,
        which makes tcp_recvmsg loop), reads one UDP datagram, sends --down
        bytes, then waits for the client to close.
client: writes its PID to --pidfile, waits for the --go file, connects,
        writes its local port to --portfile, sends --up bytes in uneven
        chunks plus one UDP datagram (must not be counted), peeks at the
        --down bytes (MSG_PEEK: must not be counted), reads them, writes
        --done, and keeps the connection open until the --release file exists.
fanout: writes its PID to --pidfile, waits for --go, then opens --conns
        connections to a listener of its own and sends --up bytes once on
        each (nobody reads), writes --done and exits.
All set their comm with --comm. Every wait is bounded.
"""
import argparse
import os
import socket
import struct
import sys

from peerlib import GO_WAIT_S, await_file, set_comm, write_file

WAIT_S = 300  # bounded: one step of a transfer under emulation


def make_blocking(sock):
    """Blocking with kernel timeouts: Python's own timeouts make the socket
    non-blocking, and MSG_WAITALL then returns early."""
    sock.settimeout(None)
    tv = struct.pack("ll", WAIT_S, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def recv_exactly(sock, n, flags=0):
    data = sock.recv(n, socket.MSG_WAITALL | flags)
    if len(data) != n:
        sys.exit("short read: %d of %d bytes" % (len(data), n))
    return data


def family_and_host(family):
    return (socket.AF_INET, "127.0.0.1") if family == 4 else (socket.AF_INET6, "::1")


def server(a):
    af, host = family_and_host(a.family)
    tcp = socket.socket(af, socket.SOCK_STREAM)
    tcp.bind((host, 0))
    tcp.listen(1)
    port = tcp.getsockname()[1]
    udp = socket.socket(af, socket.SOCK_DGRAM)
    udp.bind((host, port))
    udp.settimeout(WAIT_S)
    write_file(a.ready, "%d %d\n" % (os.getpid(), port))
    tcp.settimeout(GO_WAIT_S + WAIT_S)  # the client connects after its go
    conn, _ = tcp.accept()
    make_blocking(conn)
    recv_exactly(conn, a.up)
    udp.recvfrom(65536)
    conn.sendall(b"d" * a.down)
    while conn.recv(4096):
        pass
    conn.close()


def client(a):
    af, host = family_and_host(a.family)
    write_file(a.pidfile, "%d\n" % os.getpid())
    await_file(a.go)
    sock = socket.create_connection((host, a.port), timeout=WAIT_S)
    make_blocking(sock)
    write_file(a.portfile, "%d\n" % sock.getsockname()[1])
    sent, chunk = 0, 7919
    while sent < a.up:  # uneven chunks: several sendmsg calls
        n = min(chunk, a.up - sent)
        sock.sendall(b"u" * n)
        sent += n
        chunk += 1000
    udp = socket.socket(af, socket.SOCK_DGRAM)
    udp.sendto(b"x" * 777, (host, a.port))
    recv_exactly(sock, a.down, socket.MSG_PEEK)
    recv_exactly(sock, a.down)
    write_file(a.done, "done\n")
    await_file(a.release)
    sock.close()


def fanout(a):
    af, host = family_and_host(a.family)
    write_file(a.pidfile, "%d\n" % os.getpid())
    await_file(a.go)
    lsn = socket.socket(af, socket.SOCK_STREAM)
    lsn.bind((host, 0))
    lsn.listen(a.conns)
    pairs = []
    for _ in range(a.conns):
        c = socket.create_connection(lsn.getsockname()[:2], timeout=WAIT_S)
        pairs.append((c, lsn.accept()[0]))
    for c, _ in pairs:
        c.sendall(b"f" * a.up)
    write_file(a.done, "done\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client", "fanout"])
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--family", type=int, choices=[4, 6], required=True)
    p.add_argument("--up", type=int, default=100000)
    p.add_argument("--down", type=int, default=5000)
    p.add_argument("--comm", required=True)
    p.add_argument("--ready")
    p.add_argument("--port", type=int)
    p.add_argument("--pidfile")
    p.add_argument("--portfile")
    p.add_argument("--go")
    p.add_argument("--done")
    p.add_argument("--release")
    a = p.parse_args()
    set_comm(a.comm)
    {"server": server, "client": client, "fanout": fanout}[a.role](a)


if __name__ == "__main__":
    main()
