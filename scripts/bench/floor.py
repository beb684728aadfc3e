#!/usr/bin/env python3
"""The floor for per-event cost: an empty BPF program on each given hook.

  floor.py tp:CATEGORY:EVENT ... raw:EVENT ...
Prints "Tracing" to stderr once everything is attached, then waits for
SIGINT/SIGTERM. The programs do nothing but return 0, so their
run_time_ns / run_cnt is what any program on that hook costs at least.
"""
import signal
import sys

from bcc import BPF


def program(hooks):
    text = []
    for i, hook in enumerate(hooks):
        kind, _, rest = hook.partition(":")
        if kind == "tp":
            text.append("int floor_%d(void *ctx) { return 0; }" % i)
        elif kind == "raw":
            text.append("int floor_%d(struct bpf_raw_tracepoint_args *ctx) { return 0; }" % i)
        else:
            sys.exit("floor.py: bad hook '%s': expected tp:CAT:EVENT or raw:EVENT" % hook)
    return "\n".join(text)


def main():
    hooks = sys.argv[1:]
    b = BPF(text=program(hooks))
    for i, hook in enumerate(hooks):
        kind, _, rest = hook.partition(":")
        if kind == "tp":
            b.attach_tracepoint(tp=rest, fn_name="floor_%d" % i)
        else:
            b.attach_raw_tracepoint(tp=rest, fn_name="floor_%d" % i)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("Tracing (floor)", file=sys.stderr, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
