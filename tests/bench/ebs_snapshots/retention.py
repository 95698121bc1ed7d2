#!/usr/bin/env python3
"""Benchmark (not a test): retention over N existing snapshots of one volume.

For each N (100, 1,000, 10,000, 100,000 by default) a fresh fast EC2 stand-in
(fast_ec2.py beside this file: pages 100,000 snapshots quickly, checks signatures and
parameters) holds N snapshots of ours on one data volume, N - 10 of them younger than
max_age_days (30) and 10 older, and one `opsagent run --recipe ebs_snapshots --no-report`
with {"devices": [that volume], "max_age_days": 30} plans over all N, creates one snapshot
and deletes the same 10. Each row:

    N, CPU seconds (user+sys of the agent and its recipe child, from getrusage), peak RSS (the
    largest process, /usr/bin/time's %M),
    peak private dirty memory of the recipe's child and of the agent (/proc/PID/smaps_rollup,
    sampled every 5 ms), DescribeSnapshots calls (counted by the stand-in), wall seconds.

    python3 tests/bench/ebs_snapshots/retention.py [--sizes 100,1000,10000,100000] [--runs 3] [--json FILE]

OPSAGENT (default: ./opsagent of the build tree, or ./build/opsagent) and OPSAGENT_PLUGIN_PATH
(default: the build tree's recipes/*/.libs) say what is measured. Figures are medians of --runs.
A run that does not end with exactly 1 create and 10 deletes stops the benchmark.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from fast_ec2 import FastEc2, INSTANCE_ID  # noqa: E402

DAY = 86400
OLD = 10
MAX_AGE = 30


def builddir():
    for d in (os.environ.get("abs_top_builddir"), TOP, os.path.join(TOP, "build")):
        if d and os.path.exists(os.path.join(d, "opsagent")):
            return d
    sys.exit("no built opsagent: build first, or set OPSAGENT and OPSAGENT_PLUGIN_PATH")


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out.extend(kids)
        todo.extend(kids)
    return out


def rollup(pid):
    """(Rss, Private_Dirty) in KiB of PID, or None."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            text = f.read()
    except OSError:
        return None
    vals = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":"):
            vals[parts[0][:-1]] = int(parts[1])
    return vals.get("Rss", 0), vals.get("Private_Dirty", 0)


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.agent_dirty = 0
        self.child_dirty = 0

    def run(self):
        # PID is /usr/bin/time; its child is the agent, whose children run the recipe
        while not self.stop.is_set():
            kids = descendants(self.pid)
            for i, c in enumerate(kids):
                r = rollup(c)
                if not r:
                    continue
                if i == 0:
                    self.agent_dirty = max(self.agent_dirty, r[1])
                else:
                    self.child_dirty = max(self.child_dirty, r[1])
            self.stop.wait(0.005)


def one(n, agent, plugin_path):
    with FastEc2(n_volumes=2) as ec2:
        vol = ec2.volume_ids[1]
        now = time.time()
        tags = {"Name": "bench /dev/sdf", "opsagent:managed": "true", "opsagent:instance-id": INSTANCE_ID,
                "opsagent:device": "/dev/sdf", "opsagent:hostname": "bench"}
        ec2.seed(vol, OLD, now - (MAX_AGE + 20) * DAY, now - (MAX_AGE + 10) * DAY, tags)
        ec2.seed(vol, n - OLD, now - (MAX_AGE - 1) * DAY, now - 3600, tags)
        root = tempfile.mkdtemp(prefix="opsagent-bench-retention-")
        try:
            os.makedirs(os.path.join(root, "etc", "opsagent"))
            with open(os.path.join(root, "etc", "opsagent", "stack.json"), "w") as f:
                json.dump({"aws": {"instance_id": INSTANCE_ID},
                           "ebs_snapshots": {"devices": [vol], "max_age_days": MAX_AGE}}, f)
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(ec2.env())
            env["OPSAGENT_PLUGIN_PATH"] = plugin_path
            t0 = time.monotonic()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            times = os.path.join(root, "time")
            # measured under /usr/bin/time: a child forked from this Python would count Python's
            # pages in its peak RSS until it execs the agent
            with open(os.path.join(root, "out"), "w") as out:
                p = subprocess.Popen(["/usr/bin/time", "-o", times, "-f", "%M", agent, "--root", root, "run",
                                      "--recipe", "ebs_snapshots", "--no-report"],
                                     env=env, stdout=out, stderr=subprocess.STDOUT)
                s = Sampler(p.pid)
                s.start()
                p.wait()
                s.stop.set()
                s.join()
            wall = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            with open(times) as f:
                maxrss = f.read().split()[-1]
            calls = ec2.calls()
            if p.returncode != 0 or calls.get("CreateSnapshot") != 1 or calls.get("DeleteSnapshot") != OLD:
                with open(os.path.join(root, "out")) as f:
                    tail = f.read()[-3000:]
                sys.exit("retention over %d: exit %d, calls %s (expected 1 create and %d deletes):\n%s"
                         % (n, p.returncode, calls, OLD, tail))
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            return {"cpu_s": cpu, "peak_rss_kib": int(maxrss),
                    "child_private_dirty_kib": s.child_dirty, "agent_private_dirty_kib": s.agent_dirty,
                    "describe_calls": calls.get("DescribeSnapshots", 0), "wall_s": wall}
        finally:
            shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args()
    bd = builddir()
    agent = os.environ.get("OPSAGENT", os.path.join(bd, "opsagent"))
    plugin_path = os.environ.get("OPSAGENT_PLUGIN_PATH", os.path.join(bd, "recipes", "ebs_snapshots", ".libs"))
    rows = []
    print("| snapshots | CPU s | peak RSS MB | child private dirty MB | agent private dirty MB | DescribeSnapshots "
          "calls | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in [int(x) for x in a.sizes.split(",")]:
        runs = [one(n, agent, plugin_path) for _ in range(a.runs)]
        row = {"snapshots": n}
        for k in runs[0]:
            row[k] = statistics.median(r[k] for r in runs)
        rows.append(row)
        print("| {:,} | {:.3f} | {:.1f} | {:.1f} | {:.1f} | {} | {:.2f} |".format(
            n, row["cpu_s"], row["peak_rss_kib"] / 1024, row["child_private_dirty_kib"] / 1024,
            row["agent_private_dirty_kib"] / 1024, int(row["describe_calls"]), row["wall_s"]), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
