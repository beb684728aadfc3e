#!/usr/bin/env python3
"""Send COUNT UDP datagrams from SRC_PORT to DST:DST_PORT (IPv4 or IPv6).

usage: udp_send.py DST DST_PORT SRC_PORT COUNT
Sends as fast as possible; errors such as ENOBUFS are counted, not fatal.
"""
import socket
import sys


def main():
    dst, dport, sport, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
    failed = 0
    for _ in range(count):
        try:
            s.sendto(b"x" * 64, (dst, dport))
        except OSError:
            failed += 1
    print(f"sent={count - failed} failed={failed}")


if __name__ == "__main__":
    main()
