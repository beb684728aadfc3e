#!/usr/bin/env python3
"""Create a TUN/TAP device and hold its queues open without reading them.

usage: tun_hold.py NAME tun|tap QUEUES
Prints "ready" once every queue is attached, then sleeps until killed, so
everything sent to the device stays in (and then overflows) its rings.
"""
import fcntl
import os
import signal
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x0001, 0x0002, 0x1000, 0x0100


def main():
    name, kind, queues = sys.argv[1], sys.argv[2], int(sys.argv[3])
    flags = (IFF_TUN if kind == "tun" else IFF_TAP) | IFF_NO_PI
    if queues > 1:
        flags |= IFF_MULTI_QUEUE
    fds = []
    for _ in range(queues):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
        fds.append(fd)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pause()


if __name__ == "__main__":
    main()
