#!/usr/bin/env python3
"""Appends lines stamped with their write time to LOG at RATE lines a second for SECONDS and
then TAIL seconds more, in writes of RATE/100 lines every 10 ms (on a schedule, so a late tick
catches up), then prints the number of lines written in the first SECONDS and the unix time
they ended. The tail keeps the shipper in its steady state while the last measured lines are
on their way (else they would all wait for flush_seconds, as the end of any stream does). Each line: "UNIX_TIME SEQ" and access-log-like padding, about
120 bytes; tests/bench/logs/fast_logs.py turns the stamp into write-to-accept latency.

    python3 stamped_writer.py LOG RATE SECONDS [TAIL]
"""
import os
import sys
import time

log, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
tail = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
pad = '10.1.2.3 - - "GET /Plone/front-page HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"'
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
tick = 0.01
per = max(1, int(round(rate * tick)))
start = time.monotonic()
n = 0
k = 0
window = None
while True:
    due = start + k * tick
    now = time.monotonic()
    if window is None and now - start >= seconds:
        window = (n, time.time())
    if now - start >= seconds + tail:
        break
    if due > now:
        time.sleep(due - now)
    t = time.time()
    os.write(fd, "".join("%.6f %d %s\n" % (t, n + i, pad) for i in range(per)).encode())
    n += per
    k += 1
os.close(fd)
print(window[0], "%.6f" % window[1])
