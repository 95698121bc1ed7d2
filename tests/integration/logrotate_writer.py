"""A log writer for the zero-loss tests: appends numbered lines to LOG as fast as it can and,
on SIGUSR2, reopens LOG (as Zope and ZEO do). On SIGTERM it stops and writes the number of
lines it wrote to COUNTFILE, and to COUNTFILE.stalls its stalls: each gap of more than 1 ms
between two writes, as "START_MONOTONIC_S GAP_MS" lines (time.monotonic(), the clock of
CLOCK_MONOTONIC). With RATE, it writes about RATE lines a second instead (the demo).

    python3 logrotate_writer.py LOG PIDFILE COUNTFILE [RATE]
"""
import os
import signal
import sys
import time

log, pidfile, countfile = sys.argv[1:4]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0
reopen = False
stop = False


def on_usr2(signo, frame):
    global reopen
    reopen = True


def on_term(signo, frame):
    global stop
    stop = True


signal.signal(signal.SIGUSR2, on_usr2)
signal.signal(signal.SIGTERM, on_term)
flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
fd = os.open(log, flags, 0o644)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".tmp", pidfile)
n = 0
write = os.write
clock = time.monotonic
stalls = []
last = clock()
while not stop:
    # a batch of whole lines per write(2); the handler only sets a flag, so a reopen
    # always falls between two writes
    write(fd, b"".join(b"%d\n" % i for i in range(n, n + 20)))
    n += 20
    now = clock()
    if now - last > 0.001 and len(stalls) < 100000:
        stalls.append((last, now - last))
    last = now
    if rate:
        time.sleep(20 / rate)
    if reopen:
        reopen = False
        os.close(fd)
        fd = os.open(log, flags, 0o644)
os.close(fd)
with open(countfile + ".stalls", "w") as f:
    f.write("".join("%.6f %.3f\n" % (t, gap * 1000) for t, gap in stalls))
with open(countfile, "w") as f:
    f.write("%d\n" % n)
