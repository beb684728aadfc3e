#!/usr/bin/env python3
"""Traffic generators for the benchmark; run inside the bench namespace.

  gen.py tun-hold NAME            create a TUN device, hold it open, never read it
                                  (prints "ready"; so every packet sent to it is
                                  one net_dev_start_xmit, then a ring-full drop)
  gen.py udp DST PORT COUNT RATE  send COUNT 64-byte UDP datagrams to DST:PORT,
                                  paced to RATE per second (0: as fast as possible);
                                  prints "sent=N failed=N seconds=S"
  gen.py conns HOST PORT SECONDS  many short TCP connections (connect, 1 byte each
                                  way, close) to a server this process forks;
                                  prints "connections=N seconds=S"
All loops are bounded by a count or a duration.
"""
import fcntl
import os
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def tun_hold(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pause()


def udp(dst, port, count, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload, addr, failed = b"x" * 64, (dst, int(port)), 0
    count, rate = int(count), float(rate)
    start = time.monotonic()
    for i in range(count):
        # Pace in bursts of 64 so the check costs little at high rates.
        if rate and i % 64 == 0:
            ahead = start + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        try:
            s.sendto(payload, addr)
        except OSError:
            failed += 1
    took = time.monotonic() - start
    print(f"sent={count - failed} failed={failed} seconds={took:.3f}")


def serve(listener):
    while True:
        c, _ = listener.accept()
        c.recv(1)
        c.sendall(b"y")
        c.close()


def conns(host, port, seconds):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(1024)
    child = os.fork()
    if child == 0:
        serve(listener)
    n, end = 0, time.monotonic() + float(seconds)
    start = time.monotonic()
    while time.monotonic() < end:
        c = socket.create_connection((host, int(port)))
        # RST on close: no TIME_WAIT pile-up, so the rate stays steady.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sendall(b"x")
        c.recv(1)
        c.close()
        n += 1
    took = time.monotonic() - start
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    print(f"connections={n} seconds={took:.3f}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"tun-hold": tun_hold, "udp": udp, "conns": conns}[cmd](*args)


if __name__ == "__main__":
    main()
