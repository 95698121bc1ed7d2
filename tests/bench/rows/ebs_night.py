"""One ebs_snapshots night, 5 volumes with 6 older snapshots each, keep 3: `opsagent run
--recipe ebs_snapshots` vs tests/bench/ebs_snapshots/night.sh (the AWS CLI script), each
against a fresh moto stand-in seeded identically (tests/bench/ebs_snapshots/compare.py's seed
and check: each side must leave exactly 3 of ours per volume). Then the library floor
program (tests/bench/libs_floor.c) in its load and init modes, and what the agent's own
memory is made of (which mappings are resident and private in the agent and its recipe child
at their peak)."""
import os
import threading
import time

import benchlib
from benchlib import Row, Detail, median, spread

TITLE = "ebs_snapshots night vs the AWS CLI script"
GROUP = "ebs night"


def _compare():
    return benchlib.import_path("ebs_compare", os.path.join(benchlib.HERE, "ebs_snapshots", "compare.py"))


def _one(ctx, cmp, which, volumes):
    from standin.aws_standin import AwsStandin
    with AwsStandin(n_volumes=volumes) as aws:
        cmp.seed(aws)
        env = ctx.agent_env(**aws.env())
        if which == "cli":
            env["AWS_EC2_METADATA_DISABLED"] = "true"
            env.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT", None)
            r = benchlib.measure(["bash", os.path.join(benchlib.HERE, "ebs_snapshots", "night.sh"), aws.instance_id,
                                  str(cmp.KEEP)], env=env, sample=True, check=False)
        else:
            env.pop("AWS_EC2_METADATA_DISABLED", None)
            root = ctx.new_root("ebs-night-", {"ebs_snapshots": {"keep": cmp.KEEP}})
            r = benchlib.measure([ctx.opsagent, "--root", root, "run", "--recipe", "ebs_snapshots"], env=env,
                                 sample=True, check=False)
        p = type("P", (), {"returncode": r["rc"], "stdout": r["out"], "stderr": ""})
        try:
            cmp.check(aws, which, p)
        except SystemExit as e:
            raise RuntimeError(str(e))
        r["calls"] = sum(aws.calls().values())
        return r


class _MapSampler(threading.Thread):
    """Keeps, for the agent (depth 1) and each recipe child (depth 2), /proc/PID/smaps by
    mapping at the sample where that process's private memory was largest."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.best = {}

    def run(self):
        while not self.stop.is_set():
            todo = [(c, 1) for c in benchlib._children(self.pid)]
            while todo:
                p, depth = todo.pop()
                m = benchlib.smaps_by_file(p)
                if m:
                    key = "agent" if depth == 1 else "recipe child" if depth == 2 else "grandchild"
                    priv = sum(v[1] for v in m.values())
                    if priv > self.best.get(key, (0, None))[0]:
                        self.best[key] = (priv, m)
                todo.extend((c, depth + 1) for c in benchlib._children(p))
            self.stop.wait(0.001)


def _memory_map(ctx, cmp, volumes):
    """The agent's mappings at its peak, in one extra run (not timed)."""
    import subprocess
    import tempfile
    from standin.aws_standin import AwsStandin
    with AwsStandin(n_volumes=volumes) as aws:
        cmp.seed(aws)
        env = ctx.agent_env(**aws.env())
        env.pop("AWS_EC2_METADATA_DISABLED", None)
        root = ctx.new_root("ebs-map-", {"ebs_snapshots": {"keep": cmp.KEEP}})
        with tempfile.NamedTemporaryFile("r") as tf:
            p = subprocess.Popen([benchlib.RUSAGE, tf.name, ctx.opsagent, "--root", root, "run", "--recipe",
                                  "ebs_snapshots"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            s = _MapSampler(p.pid)
            s.start()
            p.wait()
            s.stop.set()
            s.join()
    lines = []
    data = {}
    for who in ("agent", "recipe child"):
        if who not in s.best:
            continue
        priv, m = s.best[who]
        rss = sum(v[0] for v in m.values())
        data[who] = {k: {"rss_kb": v[0], "private_kb": v[1], "private_dirty_kb": v[2]} for k, v in m.items()}
        lines.append("%s: RSS %d KiB, private %d KiB (dirty %d) at its peak; by mapping (RSS / private / "
                     "private dirty KiB):" % (who, rss, priv, sum(v[2] for v in m.values())))
        libs = sorted(m.items(), key=lambda kv: -kv[1][1] * 1000 - kv[1][0])
        shown = [(k, v) for k, v in libs if v[0] >= 64 or v[1] >= 16][:18]
        for k, v in shown:
            lines.append("    %-34s %6d / %5d / %5d" % (k, v[0], v[1], v[2]))
        mapped = sorted(k for k in m if k.startswith("lib"))
        for lib in ("libarchive", "libexpat", "libzstd", "liblzma", "libxml2", "libssl", "libsystemd",
                    "libcurl", "libgnutls", "libldap", "libkrb5", "libssh2", "librtmp", "libnghttp2"):
            hit = [k for k in mapped if k.startswith(lib + ".") or k.startswith(lib + "-")]
            if hit:
                rs = sum(m[k][0] for k in hit)
                pv = sum(m[k][1] for k in hit)
                lines.append("    %s mapped: %d KiB resident, %d KiB private (%d dirty)"
                             % (lib, rs, pv, sum(m[k][2] for k in hit)))
            else:
                lines.append("    %s not mapped" % lib)
        lines.append("    %d shared objects mapped in all" % sum(1 for k in m if ".so" in k))
    return Detail(GROUP, "what the agent's memory is made of (one extra, untimed ebs night)", "\n".join(lines), data)


def rows(ctx):
    import sys
    sys.path.insert(0, os.path.join(benchlib.SRCDIR, "tests"))
    cmp = _compare()
    volumes = 5
    if ctx.smoke:
        volumes, cmp.OLD, cmp.KEEP = 2, 3, 2
    work = "night: %d volumes, %d older snapshots each, keep %d" % (volumes, cmp.OLD, cmp.KEEP)
    if not benchlib.have("aws"):
        raise benchlib.Skip("the AWS CLI (aws) is not installed")
    res = {}
    for which in ("cli", "opsagent"):
        res[which] = benchlib.repeat(ctx.runs, lambda: _one(ctx, cmp, which, volumes))
        ctx.log("  %s: CPU %s" % (which, res[which]["cpu"]))
    o, c = res["opsagent"], res["cli"]
    alt = "night.sh (AWS CLI)"
    n = ctx.runs

    def row(measure, key, unit, note=""):
        return Row(GROUP, work, measure, median(o[key]), median(c[key]), alt, unit, note=note, runs=n,
                   spread={"opsagent": spread(o[key]), "alternative": spread(c[key])})
    yield row("CPU s (user+sys)", "cpu", "s")
    yield row("peak RSS KiB (largest process)", "maxrss_kb", "KiB")
    yield row("USS KiB (private, whole tree at peak)", "uss_kb", "KiB",
              "opsagent: agent + recipe child; script: bash + aws")
    yield row("private dirty KiB (whole tree at peak)", "dirty_kb", "KiB",
              "the part of USS the processes wrote; does not depend on what else maps the libraries")
    yield row("PSS KiB (whole tree at peak)", "pss_kb", "KiB")
    yield row("wall s", "wall", "s", "includes moto's time")

    floor = ctx.libs_floor()
    for mode in ("load", "init"):
        f = benchlib.repeat(ctx.runs, lambda: benchlib.measure([floor, mode], env=ctx.agent_env(), sample=True))
        fw = "library floor (libs_floor %s)" % mode
        for measure, key, unit in (("CPU s (user+sys)", "cpu", "s"), ("peak RSS KiB", "maxrss_kb", "KiB"),
                                   ("USS KiB (sampled)", "uss_kb", "KiB"), ("private dirty KiB (sampled)", "dirty_kb", "KiB"),
                                   ("PSS KiB (sampled)", "pss_kb", "KiB")):
            yield Row(GROUP, fw, measure, median(o[key]), median(f[key]), "libs_floor " + mode, unit, runs=n,
                      note="opsagent's night vs a program that only loads%s the same libraries"
                      % ("" if mode == "load" else " and initialises"),
                      spread={"alternative": spread(f[key])})
    yield _memory_map(ctx, cmp, volumes)


def goals(rows):
    """The ebs_snapshots goals of issue 20, from this module's rows."""
    from benchlib import Goal
    by = {(r.work.split(" (")[0] if r.work.startswith("library") else "night", r.measure): r for r in rows
          if isinstance(r, Row)}
    cpu = by.get(("night", "CPU s (user+sys)"))
    uss = by.get(("night", "USS KiB (private, whole tree at peak)"))
    rss = by.get(("night", "peak RSS KiB (largest process)"))
    floor = [r for r in rows if isinstance(r, Row) and r.work.startswith("library floor (libs_floor init")
             and r.measure == "peak RSS KiB"]
    out = []
    if cpu and cpu.ratio:
        out.append(Goal(GROUP, "CPU at least 100x less than the AWS CLI script", cpu.ratio >= 100,
                        "%.4f s vs %.2f s: %.0fx" % (cpu.ours, cpu.theirs, cpu.ratio)))
    if uss and uss.ratio:
        out.append(Goal(GROUP, "private memory (USS) at least 10x less than the script's", uss.ratio >= 10,
                        "%d KiB vs %d KiB: %.1fx" % (uss.ours, uss.theirs, uss.ratio)))
    if rss and floor:
        d = rss.ours - floor[0].theirs
        out.append(Goal(GROUP, "peak RSS no more than 1 MB above the library floor (init)", d <= 1024,
                        "%d KiB vs floor %d KiB: %+d KiB" % (rss.ours, floor[0].theirs, d)))
    return out
