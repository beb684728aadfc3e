"""Small pieces shared by the bats peer helpers (imported from this directory)."""
import ctypes
import os
import socket
import sys
import threading
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


# A peer's go comes once every tool the test starts has attached: under emulation on a busy
# machine that can take many minutes (tcp-insight.bats starts 16 instances, each compiling).
GO_WAIT_S = 1800


def await_file(path, seconds=GO_WAIT_S):
    """Bounded wait for a file to exist; the peer exits (status 1, saying so) when it does
    not: going on without its go would make traffic before the tools trace."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit("no %s after %d s" % (path, seconds))
        time.sleep(0.1)


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


def in_second_thread(fn, *args):
    """fn(*args) in a second thread, so that the socket calls' thread ID differs from the
    PID (as in a server with worker threads); its exit status. A sys.exit() there ends
    the peer as it would in the main thread (threads otherwise drop it silently)."""
    status = [1]

    def body():
        try:
            status[0] = fn(*args)
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr, flush=True)
            status[0] = e.code if isinstance(e.code, int) else 1

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    return status[0]
