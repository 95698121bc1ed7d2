#!/usr/bin/env python3
"""A log writer at full speed for the copytruncate benchmark: appends numbered lines (20 per
write(2), O_APPEND) to LOG as fast as it can and times every write. On SIGTERM it stops and
writes JSON to RESULT: lines written, the longest time between the starts of two consecutive
writes (the stall a rotation imposed), and the same before ARMFILE appeared (the writer's own
noise, without rotation).

    python3 stall_writer.py LOG RESULT ARMFILE
"""
import json
import os
import signal
import sys
import time

log, result, armfile = sys.argv[1:4]
stop = False


def on_term(signo, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
n = 0
write = os.write
clock = time.monotonic_ns
last = clock()
worst = worst_before = 0
armed = False
checks = 0
while not stop:
    write(fd, b"".join(b"%d\n" % i for i in range(n, n + 20)))
    n += 20
    now = clock()
    gap = now - last
    last = now
    if gap > worst:
        worst = gap
    checks += 1
    if not armed and checks % 256 == 0:
        if os.path.exists(armfile):
            armed = True
            worst_before, worst = worst, 0
os.close(fd)
with open(result, "w") as f:
    json.dump({"lines": n, "stall_ms": worst / 1e6, "stall_before_ms": worst_before / 1e6}, f)
