#!/usr/bin/env python3
"""Send COUNT packets of one flow: UDP datagrams or TCP SYN segments.

usage: pkt_send.py udp|tcp SRC_IP SRC_PORT DST_IP DST_PORT COUNT
TCP segments go out through a raw socket (the kernel adds the IP header),
so exactly COUNT segments leave: no handshake, no retransmissions.
Send errors (ENOBUFS when a queue is full) are counted, not fatal.
"""
import socket
import struct
import sys


def tcp_syn(sport, dport):
    # source port, destination port, seq, ack, data offset 5 words, flags SYN, window
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)


def main():
    proto, src, sport, dst, dport, count = sys.argv[1:7]
    sport, dport, count = int(sport), int(dport), int(count)
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    if proto == "udp":
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((src, sport))
        payload, addr = b"x" * 64, (dst, dport)
    else:
        s = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP)
        s.bind((src, 0))
        payload, addr = tcp_syn(sport, dport), (dst, 0)
    failed = 0
    for _ in range(count):
        try:
            s.sendto(payload, addr)
        except OSError:
            failed += 1
    print(f"sent={count - failed} failed={failed}")


if __name__ == "__main__":
    main()
