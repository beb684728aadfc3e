#!/usr/bin/python3
"""A TCP server and a client that move exact byte counts, for netwatch's tests.

usage: netwatch_peer.py server COMM ADDR PORT N_IN N_OUT CONNS
       netwatch_peer.py client COMM ADDR PORT N_OUT N_IN CONNS [HOLD_S]

server: listens on ADDR:PORT (prints "ready PID"), accepts CONNS connections one
  after another; on each, reads exactly N_IN bytes, sends N_OUT bytes, then
  waits for the client to close.
client: makes CONNS connections; on each, sends N_OUT bytes, reads exactly
  N_IN bytes, holds the connection HOLD_S seconds, closes; prints one JSON
  line per connection: {"pid", "laddr", "lport", "raddr", "rport"}.
Both set their COMM (prctl) so tests can tell them from other processes.
"""
import ctypes
import json
import os
import socket
import sys
import time


def set_comm(name):
    ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME


def read_exactly(sock, n):
    got = 0
    while got < n:
        chunk = sock.recv(min(65536, n - got))
        if not chunk:
            sys.exit("peer closed after %d of %d bytes" % (got, n))
        got += len(chunk)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(addr, port, n_in, n_out, conns):
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(64)
    print("ready", os.getpid(), flush=True)
    for _ in range(conns):
        s, _ = ls.accept()
        read_exactly(s, n_in)
        s.sendall(b"r" * n_out)
        s.settimeout(30)
        while s.recv(65536):
            pass
        s.close()


def client(addr, port, n_out, n_in, conns, hold):
    for _ in range(conns):
        s = socket.create_connection((addr, port), timeout=30)
        s.sendall(b"s" * n_out)
        read_exactly(s, n_in)
        la, lp = s.getsockname()[:2]
        print(json.dumps({"pid": os.getpid(), "laddr": la, "lport": lp,
                          "raddr": addr, "rport": port}), flush=True)
        time.sleep(hold)
        s.close()


def main():
    role, comm, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    a, b, conns = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    set_comm(comm)
    if role == "server":
        server(addr, port, a, b, conns)
    else:
        client(addr, port, a, b, conns, float(sys.argv[8]) if len(sys.argv) > 8 else 0)


main()
