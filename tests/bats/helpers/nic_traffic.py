#!/usr/bin/env python3
"""Traffic for the nic_throughput tests.

usage:
  nic_traffic.py udp DST DPORT FIRST_SPORT FLOWS SIZE [GOFILE]
      one datagram of SIZE payload bytes from each of FLOWS source ports
      (FIRST_SPORT, FIRST_SPORT+1, ...), so the flows hash onto several queues;
      with GOFILE, sockets first, then a bounded wait for GOFILE, then the datagrams
      (all inside a short window, whatever Python's start-up took)
  nic_traffic.py sink PORT READY_FILE
      a UDP socket on [::]:PORT (IPv4 and IPv6) that keeps what arrives, so no
      ICMP port-unreachable answers add traffic; writes READY_FILE once bound
  nic_traffic.py tcp-server PORT READY_FILE
      accepts one connection on [::]:PORT and reads it to the end
  nic_traffic.py tcp-client DST PORT BYTES
      connects, sends BYTES bytes, closes, waits for the server's close
  nic_traffic.py feature DEV gro|tso on|off
      switches an offload of DEV (the ethtool ioctl; no ethtool binary needed)
Prints what it did as one JSON line on stdout.
"""
import array
import fcntl
import json
import socket
import struct
import sys
import time

from peerlib import await_file

SIOCETHTOOL = 0x8946
ETHTOOL_SET = {"tso": 0x1F, "gro": 0x2C}  # ETHTOOL_STSO, ETHTOOL_SGRO


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp(dst, dport, first_sport, flows, size, gofile=None):
    socks = []
    for i in range(flows):
        s = socket.socket(family_of(dst), socket.SOCK_DGRAM)
        s.bind(("", first_sport + i))
        socks.append(s)
    if gofile:
        await_file(gofile)
    sent = sum(s.sendto(b"u" * size, (dst, dport)) == size for s in socks)
    for s in socks:
        s.close()
    print(json.dumps({"datagrams": sent, "payload_bytes": size}))


def dual_stack(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    return s


def ready(path):
    with open(path, "w") as f:
        f.write("ready\n")


def sink(port, ready_file):
    s = dual_stack(socket.SOCK_DGRAM, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    ready(ready_file)
    while True:  # the test kills it
        time.sleep(3600)


def tcp_server(port, ready_file):
    s = dual_stack(socket.SOCK_STREAM, port)
    s.listen(1)
    ready(ready_file)
    conn, _ = s.accept()
    got = 0
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        got += len(chunk)
    conn.close()
    print(json.dumps({"received": got}))


def tcp_client(dst, port, nbytes):
    with socket.create_connection((dst, port), timeout=30) as s:
        s.sendall(b"t" * nbytes)
        s.shutdown(socket.SHUT_WR)
        while s.recv(1 << 16):
            pass
    print(json.dumps({"sent": nbytes}))


def feature(dev, name, state):
    value = array.array("B", struct.pack("II", ETHTOOL_SET[name], state == "on"))
    ifreq = struct.pack("16sP", dev.encode(), value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, SIOCETHTOOL, ifreq)
    print(json.dumps({"device": dev, name: state}))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]), *args[5:6])
    elif cmd == "sink":
        sink(int(args[0]), args[1])
    elif cmd == "tcp-server":
        tcp_server(int(args[0]), args[1])
    elif cmd == "tcp-client":
        tcp_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "feature":
        feature(args[0], args[1], args[2])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
