#!/usr/bin/python3
"""Open a real TCP connection, then inject bad segments into it with scapy.

usage: tcp_inerrs_inject.py IFACE SERVER_ADDR SERVER_PORT N_CSUM_LONG N_CSUM_SHORT N_OOW N_OLD [GO_FILE]

With GO_FILE, first prints {"pid": PID} and waits (at most 30 s) until that
file exists, so a test can learn this process's PID before it sends.

Connects to SERVER_ADDR:SERVER_PORT through IFACE, sends one byte and
sniffs it to learn the connection's next sequence number, ACK number and the
server's MAC address. Then sends through IFACE, with the connection's
4-tuple:
  N_CSUM_LONG  segments with 100 bytes of data and a wrong TCP checksum
               (long enough that the kernel checks the checksum once it has
               found the socket),
  N_CSUM_SHORT segments without data and a wrong TCP checksum (checked
               before the socket lookup),
  N_OOW        segments with a correct checksum and a sequence number 2^30
               beyond the receive window,
  N_OLD        segments with a correct checksum and a sequence number 2^30
               before it (older than anything the server still expects).
Prints one JSON line: the client's (local) address and port. Keeps the
connection open for a moment so every segment meets an ESTABLISHED socket.
"""
import json
import os
import socket
import sys
import time

from scapy.all import IP, TCP, AsyncSniffer, Ether, IPv6, Raw, conf, raw, sendp

from peerlib import await_file

conf.verb = 0


def learn_next_segment(sock, iface, lport):
    """Sends one byte, sniffs it; returns (ether dst, next seq, ack)."""
    sniffer = AsyncSniffer(
        iface=iface, count=1, timeout=5,
        lfilter=lambda p: TCP in p and p[TCP].sport == lport and len(p[TCP].payload) > 0)
    sniffer.start()
    time.sleep(0.3)  # the sniffer's socket must be open before the byte leaves
    sock.send(b"x")
    sniffer.join()
    if not sniffer.results:
        sys.exit("did not see our own segment on " + iface)
    p = sniffer.results[0]
    return p[Ether].dst, p[TCP].seq + 1, p[TCP].ack


def segment(ip, lport, rport, seq, ack, payload):
    return ip / TCP(sport=lport, dport=rport, seq=seq, ack=ack, flags="A", window=502) / payload


def with_bad_checksum(pkt):
    """The same segment with its TCP checksum flipped (never equivalent to the right one)."""
    good = pkt.__class__(raw(pkt))[TCP].chksum
    pkt[TCP].chksum = good ^ 0x5555
    return pkt


def main():
    iface, server, rport = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n_long, n_short, n_oow, n_old = (int(x) for x in sys.argv[4:8])
    if len(sys.argv) > 8:
        print(json.dumps({"pid": os.getpid()}), flush=True)
        await_file(sys.argv[8])
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.create_connection((server, rport), timeout=5)
    laddr, lport = sock.getsockname()[:2]
    mac, seq, ack = learn_next_segment(sock, iface, lport)
    time.sleep(0.2)  # the server has taken the byte: its rcv_nxt is seq
    ip = IPv6(src=laddr, dst=server) if family == socket.AF_INET6 else IP(src=laddr, dst=server)
    eth = Ether(dst=mac)
    pkts = [eth / with_bad_checksum(segment(ip, lport, rport, seq, ack, Raw(b"b" * 100)))
            for _ in range(n_long)]
    pkts += [eth / with_bad_checksum(segment(ip, lport, rport, seq, ack, b""))
             for _ in range(n_short)]
    pkts += [eth / segment(ip, lport, rport, (seq + (1 << 30)) & 0xffffffff, ack, Raw(b"o" * 10))
             for _ in range(n_oow)]
    pkts += [eth / segment(ip, lport, rport, (seq - (1 << 30)) & 0xffffffff, ack, Raw(b"d" * 10))
             for _ in range(n_old)]
    for p in pkts:
        sendp(p, iface=iface)
    print(json.dumps({"laddr": laddr, "lport": lport, "pid": os.getpid()}), flush=True)
    time.sleep(0.5)
    sock.close()


main()
