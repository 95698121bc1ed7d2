#!/usr/bin/env python3
"""Benchmark: how long copytruncate holds a writer that writes as fast as it can (issue 22,
item 6), and how many lines it loses, next to logrotate's copytruncate.

    tests/bench/logrotate/copytruncate_stall.py [BUILDDIR] [ROTATIONS]

The writer (tests/integration/logrotate_writer.py) records each gap of more than 1 ms between
two of its writes. With CPU=N, the writer and the rotation share CPU N (taskset), so that the
last pass at real-time priority holds the writer for as long as it lasts. LOG_MB (default 4)
is the size the log grows to before each rotation. For each tool, ROTATIONS copytruncates (default 10) are made 0.5 s apart
while it writes; the output is the longest gap that overlaps a rotation, the longest outside
any (the machine's own noise, for comparison), and the lines lost. Not run by `make check`.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.abspath(os.path.join(here, "..", "..", ".."))
builddir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else top
rotations = int(sys.argv[2]) if len(sys.argv) > 2 else 10
driver = os.path.join(builddir, "recipes", "logrotate", "lr-driver")
writer = os.path.join(top, "tests", "integration", "logrotate_writer.py")
logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
log_mb = int(os.environ.get("LOG_MB", "4"))    # the log's size at each rotation, MiB
pin = ["taskset", "-c", os.environ["CPU"]] if os.environ.get("CPU") else []
windows_us = []         # the recipe's own figure: its last pass, from the last read to the truncation


def first_last(path):
    """The first and last numbers (whole lines) of PATH, or None when it holds none."""
    with open(path, "rb") as f:
        head = f.read(64).split(b"\n")
        if len(head) < 2:
            return None
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64))
        tail = f.read().split(b"\n")
    last = tail[-2] if tail[-1] == b"" else tail[-2]
    return int(head[0]), int(last)


def lost_and_duplicated(d):
    """The writer's numbers are consecutive and each file holds a run of them: lines lost are
    the gaps between the runs of the files, duplicates their overlaps."""
    runs = sorted(filter(None, (first_last(os.path.join(d, n)) for n in os.listdir(d) if n.startswith("w.log"))))
    lost = runs[0][0]
    dup = 0
    for (a, b), (c, e) in zip(runs, runs[1:]):
        if c > b + 1:
            lost += c - b - 1
        elif c <= b:
            dup += b - c + 1
    return lost, dup, runs[-1][1]


def measure(name, rotate_once, base):
    d = os.path.join(base, name.replace(" ", "-"))
    os.makedirs(os.path.join(d, "log"))
    log, pidfile, count = os.path.join(d, "log", "w.log"), os.path.join(d, "w.pid"), os.path.join(d, "w.count")
    w = subprocess.Popen(pin + [sys.executable, writer, log, pidfile, count])
    try:
        run_writer(w, name, rotate_once, d, log, pidfile, count)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def run_writer(w, name, rotate_once, d, log, pidfile, count):
    deadline = time.monotonic() + 30 + log_mb
    while not (os.path.exists(pidfile) and os.path.getsize(log) > log_mb << 20):
        if time.monotonic() > deadline:
            sys.exit("the writer did not start")
        time.sleep(0.01)
    windows = []
    for i in range(rotations):
        if i > 0:           # let the log grow again
            while os.path.getsize(log) < log_mb << 20:
                time.sleep(0.01)
        t0 = time.monotonic()
        rotate_once(d, log)
        windows.append((t0, time.monotonic()))
        time.sleep(0.5)
    w.send_signal(signal.SIGTERM)
    w.wait(60)
    with open(count) as f:
        written = int(f.read())
    inside, outside = 0.0, 0.0
    with open(count + ".stalls") as f:
        for line in f:
            t, gap = (float(x) for x in line.split())
            if any(t < b and t + gap / 1000 > a for a, b in windows):
                inside = max(inside, gap)
            elif t > windows[0][0]:
                outside = max(outside, gap)
    lost, dup, top = lost_and_duplicated(os.path.join(d, "log"))
    lost += written - 1 - top
    print("%-24s longest stall during a rotation %7.2f ms, elsewhere %6.2f ms; lost %d of %d lines (%.4f%%), "
          "duplicated %d" % (name, inside, outside, lost, written, 100.0 * lost / written, dup), flush=True)


def ours(d, log):
    state = os.path.join(d, "state")
    os.makedirs(state, exist_ok=True)
    attrs = os.path.join(d, "attrs.json")
    with open(attrs, "w") as f:
        f.write('{"sets": {"w": {"paths": ["%s"], "size": 1, "rotate": 100, "method": "copytruncate", '
                '"compress": "none"}}}' % log)
    r = subprocess.run(pin + [driver, "--no-defaults", "--state-dir", state, attrs], check=True, capture_output=True,
                       text=True)
    m = re.search(r"copytruncate: (\d+) us between the last copy and the truncation", r.stdout)
    if m:
        windows_us.append(int(m.group(1)))


def theirs(d, log):
    conf = os.path.join(d, "logrotate.conf")
    with open(conf, "w") as f:
        f.write("%s {\n  size 1\n  rotate 100\n  copytruncate\n}\n" % log)
    subprocess.run(pin + [logrotate, "-s", os.path.join(d, "logrotate.state"), conf], check=True, capture_output=True)


base = tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR", "/work/tmp"), prefix="lr-stall.")
try:
    measure("opsagent copytruncate", ours, base)
    print("%-24s its last pass (last read to truncation, at real-time priority): %s us" %
          ("", ", ".join(str(w) for w in windows_us)), flush=True)
    measure("logrotate copytruncate", theirs, base)
finally:
    shutil.rmtree(base)
