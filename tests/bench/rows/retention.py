"""Retention over N existing snapshots of one volume (100, 1,000, 10,000, and 100,000 unless
--smoke), against tests/bench/fast_aws.py (moto's tag filter is too slow past 10,000): N
snapshots of ours, 10 of them older than max_age_days (30), so that every run plans over all
N and deletes the same 10. opsagent's figures: DescribeSnapshots calls (counted by the
stand-in), CPU, peak RSS, USS. The alternative is the listing alone by the AWS CLI
(`aws ec2 describe-snapshots` with the same filters, --page-size 1000) against the same
stand-in: less work than opsagent's whole night, so the ratio is a lower bound."""
import math
import os
import time

import benchlib
from benchlib import Row, Goal, median, spread

TITLE = "retention over N snapshots of one volume"
GROUP = "retention"
OLD = 10
VOLUME = "vol-0be7c4b0000000000"


def _seeded(ctx, n):
    from fast_aws import FastAws
    aws = FastAws(ctx.tmpdir("fast-aws-"))
    now = time.time()
    tags = {"opsagent:managed": "true", "opsagent:instance-id": aws.instance_id, "opsagent:device": "/dev/xvda"}
    aws.seed(volume_id=VOLUME, n=OLD, start=now - 60 * 86400, end=now - 40 * 86400, tags=tags)
    aws.seed(volume_id=VOLUME, n=n - OLD, start=now - 29 * 86400, end=now - 3600, tags=tags)
    return aws


def _agent(ctx, n):
    with _seeded(ctx, n) as aws:
        root = ctx.new_root("retention-", {"aws": {"instance_id": aws.instance_id},
                                           "ebs_snapshots": {"max_age_days": 30}})
        r = benchlib.measure([ctx.opsagent, "--root", root, "run", "--recipe", "ebs_snapshots", "--no-report"],
                             env=ctx.agent_env(**aws.env()), sample=True)
        calls = aws.calls()["calls"]
        if calls.get("DeleteSnapshot") != OLD or calls.get("CreateSnapshot") != 1:
            raise RuntimeError("retention over %d: expected 1 create and %d deletes, got %s" % (n, OLD, calls))
        r["describe_calls"] = calls.get("DescribeSnapshots", 0)
        return r


def _cli(ctx, n):
    with _seeded(ctx, n) as aws:
        out = os.path.join(ctx.scratch, "cli-snapshots.json")
        with open(out, "w") as f:
            r = benchlib.measure(["aws", "ec2", "describe-snapshots", "--owner-ids", "self", "--page-size", "1000",
                                  "--filters", "Name=tag:opsagent:managed,Values=true",
                                  "Name=volume-id,Values=" + VOLUME, "--query", "Snapshots[].[SnapshotId,StartTime]",
                                  "--output", "text"], env=ctx.agent_env(**aws.env()), sample=True, stdout=f)
        with open(out) as f:
            got = sum(1 for _ in f)
        if got != n:
            raise RuntimeError("the CLI listed %d snapshots, not %d" % (got, n))
        r["describe_calls"] = aws.calls()["calls"].get("DescribeSnapshots", 0)
        return r


def rows(ctx):
    sizes = [100] if ctx.smoke else [100, 1000, 10000, 100000]
    cli = benchlib.have("aws")
    results = {}
    for n in sizes:
        o = benchlib.repeat(ctx.runs, lambda: _agent(ctx, n))
        c = benchlib.repeat(ctx.runs, lambda: _cli(ctx, n)) if cli else {}
        results[n] = o
        work = "retention over %s snapshots" % format(n, ",")
        alt = "aws ec2 describe-snapshots (listing only)" if cli else None
        for measure, key, unit in (("DescribeSnapshots calls", "describe_calls", ""), ("CPU s (user+sys)", "cpu", "s"),
                                   ("peak RSS KiB", "maxrss_kb", "KiB"), ("USS KiB (tree at peak)", "uss_kb", "KiB"),
                                   ("private dirty KiB (tree at peak)", "dirty_kb", "KiB")):
            yield Row(GROUP, work, measure, median(o[key]), median(c.get(key, [])) if cli else None, alt, unit,
                      runs=ctx.runs, spread={"opsagent": spread(o[key]), "alternative": spread(c.get(key, []))},
                      note="" if cli else "AWS CLI not installed")
    yield from _goals(results)


def _goals(results):
    pages = {n: median(r["describe_calls"]) for n, r in results.items()}
    ok = all(pages[n] == math.ceil(n / 1000) for n in pages)
    figs = ", ".join("%s: %d (want %d)" % (format(n, ","), pages[n], math.ceil(n / 1000)) for n in sorted(pages))
    lo, hi = min(results), max(results)
    r_lo, r_hi = median(results[lo]["maxrss_kb"]), median(results[hi]["maxrss_kb"])
    flat = r_hi - r_lo <= 2048
    return [Goal(GROUP, "ceil(N/1000) DescribeSnapshots pages", ok, figs),
            Goal(GROUP, "memory flat in N (peak RSS within 2 MiB from the smallest N to the largest)", flat,
                 "peak RSS %d KiB at %s, %d KiB at %s (%+d KiB)" % (r_lo, format(lo, ","), r_hi, format(hi, ","),
                                                                   r_hi - r_lo))]
