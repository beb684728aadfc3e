#!/usr/bin/python3
"""A TCP client that sends segments of known sizes, one segment per write.

usage: lnk_flow.py SERVER_ADDR SERVER_PORT SIZE [SIZE...] [--burst N] [--bind ADDR] [--echo]

Connects (TCP_NODELAY), then for each SIZE sends SIZE bytes and waits until
the server has acknowledged them (nothing left unacknowledged), so every
write leaves as one segment of exactly that size. With --echo (the server
is tcp_inerrs_server.py --echo) it also waits for the server's one-byte answer: the
server has read the write, so no two writes share an skb when copied. With --burst N, afterwards
sends N more writes of the last SIZE without waiting (a burst). Prints one
JSON line: the client's address and port, and the number of bytes sent.
"""
import json
import socket
import struct
import sys
import time

TCP_INFO_UNACKED = 4 * 4  # struct tcp_info: 8 u8 fields, then rto, ato, snd_mss, rcv_mss, unacked


def unacked(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 8 + TCP_INFO_UNACKED)[0]


def wait_acked(sock):
    for _ in range(500):  # at most 5 s
        if unacked(sock) == 0:
            return
        time.sleep(0.01)
    sys.exit("data not acknowledged within 5 s")


def main():
    args = sys.argv[1:]
    burst, bind, echo = 0, None, False
    if "--echo" in args:
        args.remove("--echo")
        echo = True
    if "--burst" in args:
        i = args.index("--burst")
        burst = int(args[i + 1])
        del args[i:i + 2]
    if "--bind" in args:
        i = args.index("--bind")
        bind = args[i + 1]
        del args[i:i + 2]
    server, port, sizes = args[0], int(args[1]), [int(x) for x in args[2:]]
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if bind:
        sock.bind((bind, 0))
    sock.settimeout(5)
    sock.connect((server, port))
    wait_acked(sock)
    sent = 0
    for size in sizes:
        sock.sendall(b"s" * size)
        sent += size
        wait_acked(sock)
        if echo and sock.recv(1) != b"k":
            sys.exit("no answer from the server")
    for _ in range(burst):
        sock.sendall(b"b" * sizes[-1])
        sent += sizes[-1]
    wait_acked(sock)
    laddr, lport = sock.getsockname()[:2]
    print(json.dumps({"laddr": laddr, "lport": lport, "bytes": sent}), flush=True)
    time.sleep(0.2)  # the server reads what is left before the FIN
    sock.close()


main()
