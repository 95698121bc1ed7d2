"""Many small logs (issue 22): 10, 100, 1,000 and 5,000 logs of 4 KiB each in one directory
(10 and 100 with --smoke), every one due. opsagent (one set, a glob, its default zstd) vs
logrotate 3.21 (one block with the same glob, `compress`: gzip -6 per log) on the same files.
CPU per log from the medians; fsyncs per log (fsync + fdatasync + syncfs + sync_file_range)
counted in one extra run of each under `strace -f -c` (the count does not vary between runs;
strace's own overhead stays out of the CPU figures)."""
import os
import re
import shutil
import subprocess
import time

import benchlib
from benchlib import Row, Goal, median, spread

TITLE = "many small logs vs logrotate + gzip"
GROUP = "small logs"
DIR = "var/log/many"
SYNCS = "fsync,fdatasync,syncfs,sync_file_range"


def _tree(ctx, n, chunk):
    root = ctx.new_root("lr-small-")
    d = os.path.join(root, DIR)
    os.makedirs(d)
    for i in range(n):
        with open(os.path.join(d, "app%05d.log" % i), "wb") as f:
            f.write(chunk[i % len(chunk)])
    return root


def _argv(ctx, which, root, n):
    if which == "opsagent":
        benchlib.write_json(os.path.join(root, "etc/opsagent/stack.json"), {"logrotate": {"sets": {"many": {
            "paths": ["/" + DIR + "/*.log"], "size": 1, "rotate": 2, "method": "create"}}}})
        benchlib.write_json(os.path.join(root, "var/lib/opsagent/recipes/logrotate/status.json"),
                            {"version": 1, "logs": {"/%s/app%05d.log" % (DIR, i): {"last_rotated": int(time.time()) -
                                                                                  86400} for i in range(n)}})
        return [ctx.opsagent, "--root", root, "run", "--recipe", "logrotate", "--no-report"]
    conf = os.path.join(root, "logrotate.conf")
    with open(conf, "w") as f:
        f.write("%s/*.log {\n  size 1\n  rotate 2\n  create\n  compress\n}\n" % os.path.join(root, DIR))
    state = os.path.join(root, "logrotate.status")
    with open(state, "w") as f:
        f.write("logrotate state -- version 2\n")
        for i in range(n):
            f.write('"%s/app%05d.log" 2020-1-1-0:0:0\n' % (os.path.join(root, DIR), i))
    return ["logrotate", "-s", state, conf]


def _check(root, n):
    names = os.listdir(os.path.join(root, DIR))
    rotated = sum(1 for x in names if x.endswith((".1.gz", ".1.zst")))
    if rotated != n:
        raise RuntimeError("%d of %d logs rotated" % (rotated, n))


def _one(ctx, which, n, chunk):
    root = _tree(ctx, n, chunk)
    r = benchlib.measure(_argv(ctx, which, root, n), env=ctx.agent_env())
    _check(root, n)
    shutil.rmtree(os.path.dirname(root))
    return r


def _syncs(ctx, which, n, chunk):
    root = _tree(ctx, n, chunk)
    out = os.path.join(ctx.scratch, "strace.out")
    env = ctx.agent_env()
    # LeakSanitizer cannot run under ptrace (an ASan build would abort at exit)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    subprocess.run(["strace", "-f", "-c", "-o", out, "-e", "trace=" + SYNCS] + _argv(ctx, which, root, n),
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    _check(root, n)
    shutil.rmtree(os.path.dirname(root))
    with open(out) as f:
        text = f.read()
    total = 0
    for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", text, re.M):
        if m.group(2) in SYNCS.split(","):
            total += int(m.group(1))
    return total


def rows(ctx):
    if not benchlib.have("logrotate"):
        raise benchlib.Skip("logrotate is not installed")
    big = benchlib.import_path("lr_big", os.path.join(benchlib.HERE, "rows", "logrotate_big.py"))
    sizes = [10, 100] if ctx.smoke else [10, 100, 1000, 5000]
    with open(big.source(ctx, 1 << 20 if ctx.smoke else 32 << 20), "rb") as f:
        data = f.read()
    chunk = [data[i:i + 4096] for i in range(0, len(data) - 4096, 4096)]
    strace = benchlib.have("strace")
    cheaper = []
    for n in sizes:
        runs = ctx.runs
        o = benchlib.repeat(runs, lambda: _one(ctx, "opsagent", n, chunk))
        t = benchlib.repeat(runs, lambda: _one(ctx, "logrotate", n, chunk))
        work = "%s logs of 4 KiB" % format(n, ",")
        alt = "logrotate 3.21 + gzip -6"
        sp = {"opsagent": spread([c / n for c in o["cpu"]]), "alternative": spread([c / n for c in t["cpu"]])}
        yield Row(GROUP, work, "CPU ms per log", 1000 * median(o["cpu"]) / n, 1000 * median(t["cpu"]) / n, alt, "ms",
                  runs=runs, spread=sp)
        yield Row(GROUP, work, "CPU s (user+sys)", median(o["cpu"]), median(t["cpu"]), alt, "s", runs=runs)
        cheaper.append((n, median(o["cpu"]), median(t["cpu"])))
        if strace:
            yield Row(GROUP, work, "fsyncs per log", _syncs(ctx, "opsagent", n, chunk) / n,
                      _syncs(ctx, "logrotate", n, chunk) / n, alt, "", runs=1, note="strace -f -c, one run each")
        else:
            yield Row(GROUP, work, "fsyncs per log", None, None, alt, skipped="strace is not installed")
    yield Goal(GROUP, "opsagent cheaper than logrotate at every log count (issue 22)",
               all(o < t for _, o, t in cheaper),
               ", ".join("%s: %.3f s vs %.3f s" % (format(n, ","), o, t) for n, o, t in cheaper))
