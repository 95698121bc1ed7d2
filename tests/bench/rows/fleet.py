"""One night of a fleet (issue 18): N nodes' `opsagent run --recipe ebs_snapshots` against one
EC2 stand-in that throttles as EC2 documents (tests/bench/fleet/: fleet_ec2.py, fleet.py,
README.md), starts spread uniformly over the timer's RandomizedDelaySec window, in the
standard and the adaptive retry mode. Per night: nodes succeeded, calls per node (mean, max),
throttled calls, duplicate snapshots, the longest node night (simulated seconds). Time is
compressed by libfaketime for long windows (the factor K is in every row's note).

--smoke: 5 nodes, window 0, both modes (a few seconds). --quick: 1,000 nodes at windows
0, 300, 600 and 900 s. Otherwise the whole sweep, N = 100, 300, 1,000 and windows 0, 60, 300,
900, 1,800 and 3,600 s, and for 1,000 also 350, 400, 450 and 600 s (about 30 minutes here)."""
import os
import sys

import benchlib
from benchlib import Row, Detail, Goal

TITLE = "fleet night: N nodes' ebs_snapshots against EC2's request throttling"
GROUP = "fleet night"
VOLUMES = 2


def _fleet():
    sys.path.insert(0, os.path.join(benchlib.HERE, "fleet"))
    import fleet
    return fleet


def sweep(ctx):
    if ctx.smoke:
        return [(5, 0)]
    if ctx.mode == "quick":
        return [(1000, w) for w in (0, 300, 600, 900)]
    out = []
    for n in (100, 300, 1000):
        for w in (0, 60, 300, 350, 400, 450, 600, 900, 1800, 3600):
            if n < 1000 and w in (350, 400, 450, 600):
                continue          # the windows around 1,000 nodes' bound (380 s)
            out.append((n, w))
    return out


def bound(n):
    """The shortest window in which the fleet's calls fit the documented buckets if the starts
    were spread perfectly evenly: per action, (calls - bucket maximum) / refill rate."""
    import fleet_ec2
    need = {"CreateSnapshot": (VOLUMES * n,) + fleet_ec2.BUCKETS["CreateSnapshot"],
            "DeleteSnapshot": (VOLUMES * n,) + fleet_ec2.BUCKETS["DeleteSnapshot"],
            "DescribeInstances (unfiltered)": (n,) + fleet_ec2.UNFILTERED,
            "DescribeSnapshots": (n,) + fleet_ec2.NON_MUTATING}
    return {k: (calls, cap, rate, max(0.0, (calls - cap) / rate)) for k, (calls, cap, rate) in need.items()}


def rows(ctx):
    fleet = _fleet()
    if not fleet.libfaketime() and not ctx.smoke:
        raise benchlib.Skip("libfaketime is not installed (apt-get install libfaketime)")
    results = []
    for n, w in sweep(ctx):
        for mode in ("standard", "adaptive"):
            r = fleet.night(ctx.opsagent, ctx.plugin_path, n, mode, w, ctx.scratch, log=ctx.log, smoke=ctx.smoke)
            ctx.log("   %d nodes, %s, window %d s (K %g): %d succeeded, %d throttled, %d duplicates, longest %.0f s"
                    % (n, mode, w, r["speed"], r["succeeded"], r["throttled"], r["duplicates"],
                       r["longest_night_s"] or 0))
            results.append(r)
    for r in results:
        work = "%s nodes, %s retries, window %s s" % (format(r["nodes"], ","), r["mode"], format(r["window"], ","))
        note = "K = %g (simulated s per real s)" % r["speed"]
        for measure, key, unit in (("nodes succeeded", "succeeded", ""), ("calls per node (mean)", "calls_mean", ""),
                                   ("calls per node (max)", "calls_max", ""), ("throttled calls", "throttled", ""),
                                   ("duplicate snapshots", "duplicates", ""),
                                   ("longest node night s (simulated)", "longest_night_s", "s")):
            if r["nodes"] != max(x["nodes"] for x in results) and key not in ("succeeded", "duplicates"):
                continue     # the table keeps the largest N's every figure; the detail has all
            yield Row(GROUP, work, measure, r[key], note=note, runs=1)
    yield Detail(GROUP, "every night of the sweep", fleet.table(results) + "\n\n" + explain(results),
                 data=[{k: v for k, v in r.items() if not k.startswith("node_")} for r in results])
    yield from goals_of(results)


def smallest(results, n, mode):
    """The smallest window of the sweep from which on every night of N nodes in MODE had every
    node succeed and no duplicate (None if the largest window did not)."""
    nights = sorted((r for r in results if r["nodes"] == n and r["mode"] == mode), key=lambda r: r["window"])
    best = None
    for r in reversed(nights):
        if r["succeeded"] == r["nodes"] and r["duplicates"] == 0:
            best = r["window"]
        else:
            break
    return best


def explain(results):
    lines = []
    for n in sorted({r["nodes"] for r in results}):
        b = bound(n)
        lines.append("%s nodes: per action, (calls - bucket maximum) / refill rate = the shortest evenly spread "
                     "window: %s" % (format(n, ","), "; ".join("%s %d calls, %d/%g: %.0f s" % (k, c, cap, rate, s)
                                                              for k, (c, cap, rate, s) in b.items())))
        for mode in ("standard", "adaptive"):
            w = smallest(results, n, mode)
            lines.append("  %s: smallest window of the sweep with every node succeeding and no duplicate: %s"
                         % (mode, "%d s" % w if w is not None else "none"))
        for r in results:
            if r["nodes"] != n or r["succeeded"] == n:
                continue
            got = {a: r["calls_by_action"].get(a, 0) - r["throttled_by_action"].get(a, 0)
                   for a in ("DescribeInstances", "CreateSnapshot")}
            span = (r["first_call_spread_s"] or 0) + 3      # + the last calls' ~3 s of retries
            lines.append("  %s, window %d s: CreateSnapshot answered %d of the %d needed; the bucket holds "
                         "100 + 5 x (%.0f s of first calls + 3 s) = %.0f; DescribeInstances answered %d, its "
                         "bucket 50 + 10 x %.0f s = %.0f" % (r["mode"], r["window"], got["CreateSnapshot"], VOLUMES * n,
                                                            span - 3, 100 + 5 * span, got["DescribeInstances"], span,
                                                            50 + 10 * span))
    return "\n".join(lines)


def goals_of(results):
    dups = sum(r["duplicates"] for r in results)
    yield Goal(GROUP, "no duplicate snapshot in any night", dups == 0,
               "%d duplicates over %d nights" % (dups, len(results)))
    top = max(r["nodes"] for r in results)
    if top >= 1000:
        figs = []
        met = True
        for mode in ("standard", "adaptive"):
            w = smallest(results, top, mode)
            figs.append("%s: %s" % (mode, "from a %d s window on" % w if w is not None else "no window of the sweep"))
            met = met and w is not None
        yield Goal(GROUP, "every node of 1,000 succeeds with zero duplicates (smallest window)", met, "; ".join(figs))
