#!/usr/bin/env python3
"""Appends lines stamped with their write time to LOG at RATE lines a second for SECONDS, in
writes of RATE/100 lines every 10 ms (on a schedule, so a late tick catches up), then prints
the number of lines written. Each line: "UNIX_TIME SEQ" and access-log-like padding, about
120 bytes; tests/bench/logs/fast_logs.py turns the stamp into write-to-accept latency.

    python3 stamped_writer.py LOG RATE SECONDS
"""
import os
import sys
import time

log, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
pad = '10.1.2.3 - - "GET /Plone/front-page HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"'
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
tick = 0.01
per = max(1, int(round(rate * tick)))
start = time.monotonic()
n = 0
k = 0
while True:
    due = start + k * tick
    now = time.monotonic()
    if now - start >= seconds:
        break
    if due > now:
        time.sleep(due - now)
    t = time.time()
    os.write(fd, "".join("%.6f %d %s\n" % (t, n + i, pad) for i in range(per)).encode())
    n += per
    k += 1
os.close(fd)
print(n)
