"""`opsagent report` draining 10,000 spooled datapoints (200 with --smoke). The spool is made
the way a node makes one: `opsagent report` run again and again while CloudWatch cannot be
used (here: no AWS region known, which spools at once; an unreachable endpoint spools the
same records after 3 attempts, 0.7 s each run), until 10,000 datums wait. Each run then
drains a fresh copy of that spool into tests/bench/fast_aws.py (SigV4 checked, every request
parsed against botocore's CloudWatch model, PutMetricData calls and datums counted
server-side). The alternative puts the same number of datums with the AWS CLI, 1,000 per
`aws cloudwatch put-metric-data` (the API's limit), into the same stand-in."""
import json
import os
import re
import shutil
import time

import benchlib
from benchlib import Row, median, spread

TITLE = "report draining 10,000 spooled datapoints"
GROUP = "report spool"


def _make_spool(ctx, want):
    root = ctx.new_root("spool-src-", {"aws": {"instance_id": "i-0be7c4bench000001"},
                                       "cloudwatch": {"spool_max_bytes": 64 << 20}})
    env = ctx.agent_env()
    waiting = 0
    runs = 0
    while waiting < want:
        r = benchlib.measure([ctx.opsagent, "--root", root, "report"], env=env)
        m = re.search(r"\((\d+) waiting in all\)", r["out"])
        if not m:
            raise RuntimeError("report did not spool:\n" + r["out"])
        waiting = int(m.group(1))
        runs += 1
    return root, waiting, runs


def _drain(ctx, src):
    from fast_aws import FastAws
    root = os.path.join(ctx.tmpdir("spool-"), "root")
    shutil.copytree(src, root, symlinks=True)
    with FastAws(ctx.tmpdir("fast-aws-")) as aws:
        r = benchlib.measure([ctx.opsagent, "--root", root, "report"], env=ctx.agent_env(**aws.env()), sample=True)
        c = aws.calls()
    if "waiting" in r["out"] and "kept" in r["out"]:
        raise RuntimeError("the drain spooled again:\n" + r["out"])
    r["calls"] = c["calls"].get("PutMetricData", 0)
    r["datums"] = c["datums"]
    shutil.rmtree(os.path.dirname(root))
    return r


def _cli(ctx, n):
    from fast_aws import FastAws
    d = ctx.tmpdir("cw-cli-")
    now = time.time()
    files = []
    names = ["Heartbeat", "disk_used_percent", "mem_used_percent", "swap_used_percent", "system_load1",
             "system_load5", "system_load15"]
    for b in range(0, n, 1000):
        data = [{"MetricName": names[i % len(names)], "Value": float(i % 97), "Unit": "Percent",
                 "Timestamp": now - (n - i), "Dimensions": [{"Name": "InstanceId", "Value": "i-0be7c4bench000001"}]}
                for i in range(b, min(n, b + 1000))]
        p = os.path.join(d, "batch%04d.json" % (b // 1000))
        with open(p, "w") as f:
            json.dump(data, f)
        files.append(p)
    script = "set -e\nfor f in %s; do aws cloudwatch put-metric-data --namespace OpsAgent --metric-data " \
             "\"file://$f\"; done\n" % " ".join(files)
    with FastAws(ctx.tmpdir("fast-aws-")) as aws:
        r = benchlib.measure(["sh", "-c", script], env=ctx.agent_env(**aws.env()), sample=True)
        c = aws.calls()
    r["calls"] = c["calls"].get("PutMetricData", 0)
    r["datums"] = c["datums"]
    shutil.rmtree(d)
    return r


def rows(ctx):
    want = 200 if ctx.smoke else 10000
    src, waiting, made = _make_spool(ctx, want)
    ctx.log("  spool: %d datums from %d reports" % (waiting, made))
    o = benchlib.repeat(ctx.runs, lambda: _drain(ctx, src))
    cli = benchlib.have("aws")
    t = benchlib.repeat(ctx.runs, lambda: _cli(ctx, waiting)) if cli else {}
    work = "drain %s spooled datums" % format(waiting, ",")
    alt = "aws cloudwatch put-metric-data x%d" % ((waiting + 999) // 1000) if cli else None
    for measure, key, unit, note in (
            ("PutMetricData calls", "calls", "", "datums received: %s (opsagent, the spool plus this report's own)"
             % format(int(median(o["datums"])), ",")),
            ("drain time s (wall)", "wall", "s", "includes the stand-in's parsing and signature checks"),
            ("CPU s (user+sys)", "cpu", "s", ""), ("peak RSS KiB", "maxrss_kb", "KiB", ""),
            ("USS KiB (tree at peak)", "uss_kb", "KiB", "")):
        yield Row(GROUP, work, measure, median(o[key]), median(t[key]) if cli else None, alt, unit, runs=ctx.runs,
                  note=note, spread={"opsagent": spread(o[key]), "alternative": spread(t.get(key, []))})
