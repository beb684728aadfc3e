"""Small pieces shared by the bats peer helpers (imported from this directory)."""
import ctypes
import os
import socket
import time

PR_SET_NAME = 15


def set_comm(name):
    """Sets the calling thread's COMM (what the tools print)."""
    ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


def endpoint(text):
    """'10.0.0.1:80' or '[fd00::1]:80' -> (family, address, port)."""
    addr, port = text.rsplit(":", 1)
    if addr.startswith("["):
        return socket.AF_INET6, addr[1:-1], int(port)
    return socket.AF_INET, addr, int(port)


def write_file(path, text):
    """Writes text so that readers never see a partial file."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def write_pid(path):
    write_file(path, "%d\n" % os.getpid())


def wait_for(path, seconds):
    """Bounded wait for a file to exist; True if it does."""
    for _ in range(int(seconds * 10)):
        if os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def listen_all(endpoints, backlog):
    """A listening TCP socket on each (family, address, port)."""
    listeners = []
    for family, addr, port in endpoints:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(backlog)
        listeners.append(s)
    return listeners
