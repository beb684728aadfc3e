"""Processes under measurement: start, wait for the ready line, read /proc, stop."""
import os
import re
import signal
import subprocess
import threading
import time


class Monitor:
    """A tool started with its output captured line by line (or sent to a file).

    ready: (stream, regex): the line that says the tool is attached. The time it
    was read, minus `ready_delay` (tools that print only after a first interval),
    is the start-up time.
    """

    def __init__(self, label, cmd, ready, env=None, stdout_path=None, ready_delay=0.0):
        self.label, self.cmd, self.ready = label, cmd, ready
        self.ready_delay = ready_delay
        self.lines = {"stdout": [], "stderr": []}
        self.ready_at = None
        self._ready = threading.Event()
        out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env,
                                     stdin=subprocess.DEVNULL)
        if stdout_path:
            out.close()
        for name in ("stdout", "stderr"):
            stream = getattr(self.proc, name)
            if stream:
                threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name, stream):
        stream_wanted, pattern = self.ready
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            if len(self.lines[name]) < 2000:
                self.lines[name].append(line)
            if not self._ready.is_set() and name == stream_wanted and re.search(pattern, line):
                self.ready_at = time.monotonic() - self.ready_delay
                self._ready.set()
        if name == "stderr":
            self._ready.set()  # process ended: stop waiting

    def wait_ready(self, timeout=60.0):
        """Start-up seconds, or None when the tool exited or timed out first."""
        self._ready.wait(timeout)
        return None if self.ready_at is None else self.ready_at - self.t0

    def failure(self):
        """The last stderr line, e.g. the exception a peer dies of."""
        err = [l for l in self.lines["stderr"] if l.strip()]
        return err[-1].strip() if err else "exit %s" % self.proc.poll()

    def memory_kb(self):
        """(VmRSS, VmHWM) in KiB from /proc/PID/status."""
        vals = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    vals[key] = int(rest.split()[0])
        return vals.get("VmRSS"), vals.get("VmHWM")

    def compiler_text_kb(self):
        """Resident KiB of LLVM/clang code (r-xp mappings): what the compiler
        leaves in RSS after it has been used and freed."""
        total, counting = 0, False
        with open("/proc/%d/smaps" % self.proc.pid) as f:
            for line in f:
                fields = line.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+$", fields[0]):
                    path = fields[5] if len(fields) > 5 else ""
                    counting = fields[1] == "r-xp" and re.search(r"lib(LLVM|clang)", path)
                elif counting and fields[0] == "Rss:":
                    total += int(fields[1])
        return total

    def stop(self, timeout=15.0, traced=False):
        """SIGINT (to the traced child when this is strace: strace would detach
        and leave it running), then SIGKILL after timeout."""
        if self.proc.poll() is None:
            target = self.traced_child() if traced else None
            if target:
                os.kill(target, signal.SIGINT)
            else:
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.05)  # let the reader threads drain the last lines
        return self.proc.returncode

    def traced_child(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None


def in_ns(ns, cmd):
    """Run cmd inside namespace ns with tracefs mounted (ip netns exec hides it)."""
    mount = ("mountpoint -q /sys/kernel/tracing || "
             "mount -t tracefs nodev /sys/kernel/tracing; exec \"$@\"")
    return ["ip", "netns", "exec", ns, "sh", "-c", mount, "sh"] + cmd


def run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def python_env():
    # Peers print through Python's stdout, block-buffered on a pipe: unbuffer it
    # so their first line arrives when they print it.
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env
