"""Rotation and compression of one big access log (tests/bench/logrotate/genlog.py; 1 GiB,
1 MiB with --smoke). Every side gets a fresh copy of the same file with the page cache warm,
on the same disk, in the same run:
  * opsagent run --recipe logrotate, method create, in its default (zstd 2), gzip (6) and
    xz (6) modes;
  * logrotate 3.21 with `compress` (its default: an external gzip -6);
  * the command lines `zstd -3` and `pigz -6` (pigz is installed with apt when missing and
    this runs as root; the row is skipped with the reason otherwise).
CPU is user+sys of everything the command ran (logrotate's gzip child included). xz at level
6 takes about 9 minutes a GiB on this machine, so the xz rows use the first 32 MiB of the log
(512 KiB with --smoke) for both sides: opsagent's xz mode against `xz -6` of the same bytes."""
import os
import shutil
import subprocess

import benchlib
from benchlib import Row, Goal, median, spread

TITLE = "logrotate of a big access log"
GROUP = "logrotate 1 GiB"
LOG = "var/log/web/access.log"


def source(ctx, size):
    """A cached generated log of SIZE bytes (generation is deterministic)."""
    cache = os.environ.get("BENCH_CACHE", "/var/tmp/opsagent-bench-cache")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, "access-%d.log" % size)
    if not os.path.exists(path):
        ctx.log("  generating %d bytes of access log in %s" % (size, path))
        with open(path + ".tmp", "w") as f:
            subprocess.run(["python3", os.path.join(benchlib.HERE, "logrotate", "genlog.py"), str(size)], stdout=f,
                           check=True)
        os.rename(path + ".tmp", path)
    return path


def prefix(ctx, src, size):
    path = "%s.first-%d" % (src, size)
    if not os.path.exists(path):
        with open(src, "rb") as i, open(path + ".tmp", "wb") as o:
            data = i.read(size)
            o.write(data[:data.rfind(b"\n") + 1])
        os.rename(path + ".tmp", path)
    return path


def fresh(ctx, src):
    """A sandbox root holding a fresh copy of SRC as the log, page cache warm."""
    root = ctx.new_root("lr-big-")
    log = os.path.join(root, LOG)
    os.makedirs(os.path.dirname(log))
    shutil.copyfile(src, log)
    with open(log, "rb") as f:
        while f.read(1 << 24):
            pass
    return root, log


def outputs(log):
    d = os.path.dirname(log)
    outs = [os.path.join(d, f) for f in os.listdir(d) if f != os.path.basename(log)]
    if len(outs) != 1:
        raise RuntimeError("expected one rotated file in %s, found %s" % (d, os.listdir(d)))
    return os.path.getsize(outs[0])


def seed_state(root, paths):
    """status.json saying these logs were rotated yesterday, so that this run rotates them."""
    import time
    benchlib.write_json(os.path.join(root, "var/lib/opsagent/recipes/logrotate/status.json"),
                        {"version": 1, "logs": {p: {"last_rotated": int(time.time()) - 86400} for p in paths}})


def opsagent(ctx, src, mode):
    root, log = fresh(ctx, src)
    s = {"paths": ["/" + LOG], "size": 1, "rotate": 2, "method": "create"}
    if mode != "default":
        s["compress"] = mode
    benchlib.write_json(os.path.join(root, "etc/opsagent/stack.json"), {"logrotate": {"sets": {"bench": s}}})
    seed_state(root, ["/" + LOG])
    r = benchlib.measure([ctx.opsagent, "--root", root, "run", "--recipe", "logrotate", "--no-report"],
                         env=ctx.agent_env())
    r["bytes"] = outputs(log)
    shutil.rmtree(os.path.dirname(root))
    return r


def logrotate(ctx, src):
    root, log = fresh(ctx, src)
    conf = os.path.join(root, "logrotate.conf")
    with open(conf, "w") as f:
        f.write("%s {\n  size 1\n  rotate 2\n  create\n  compress\n}\n" % log)
    state = os.path.join(root, "logrotate.status")
    with open(state, "w") as f:
        f.write('logrotate state -- version 2\n"%s" 2020-1-1-0:0:0\n' % log)
    r = benchlib.measure(["logrotate", "-s", state, conf], env=ctx.agent_env())
    r["bytes"] = outputs(log)
    shutil.rmtree(os.path.dirname(root))
    return r


def command(ctx, src, argv):
    root, log = fresh(ctx, src)
    out = log + ".out"
    with open(out, "wb") as f:
        r = benchlib.measure(argv + [log], env=ctx.agent_env(), stdout=f)
    r["bytes"] = os.path.getsize(out)
    shutil.rmtree(os.path.dirname(root))
    return r


def ensure_pigz(ctx):
    if benchlib.have("pigz"):
        return None
    if ctx.smoke or os.geteuid() != 0:
        return "pigz is not installed (apt-get install pigz)"
    subprocess.run(["apt-get", "install", "-y", "-qq", "pigz"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return None if benchlib.have("pigz") else "pigz could not be installed with apt"


def rows(ctx):
    size = 1 << 20 if ctx.smoke else 1 << 30
    xz_size = 512 << 10 if ctx.smoke else 32 << 20
    if not benchlib.have("logrotate"):
        raise benchlib.Skip("logrotate is not installed")
    src = source(ctx, size)
    n = ctx.runs
    res = {}
    res["logrotate"] = benchlib.repeat(n, lambda: logrotate(ctx, src))
    for mode in ("default", "gzip"):
        res[mode] = benchlib.repeat(n, lambda: opsagent(ctx, src, mode))
    res["zstd -3"] = benchlib.repeat(n, lambda: command(ctx, src, ["zstd", "-3", "-q", "-c"])) \
        if benchlib.have("zstd") else None
    pigz_missing = ensure_pigz(ctx)
    res["pigz"] = benchlib.repeat(n, lambda: command(ctx, src, ["pigz", "-6", "-c"])) if not pigz_missing else None
    xsrc = prefix(ctx, src, xz_size)
    res["xz"] = benchlib.repeat(n, lambda: opsagent(ctx, xsrc, "xz"))
    res["xz -6"] = benchlib.repeat(n, lambda: command(ctx, xsrc, ["xz", "-6", "-T1", "-c"])) \
        if benchlib.have("xz") else None
    big = "%s access log" % ("1 GiB" if size == 1 << 30 else "%d KiB" % (size >> 10))
    small = "%d KiB access log" % (xz_size >> 10) if xz_size < 1 << 20 else "%d MiB access log" % (xz_size >> 20)
    pairs = [
        ("default (zstd 2)", "default", "logrotate 3.21 + gzip -6", "logrotate", big),
        ("gzip mode (6)", "gzip", "logrotate 3.21 + gzip -6", "logrotate", big),
        ("default (zstd 2)", "default", "zstd -3", "zstd -3", big),
        ("gzip mode (6)", "gzip", "pigz -6", "pigz", big),
        ("xz mode (6)", "xz", "xz -6 -T1", "xz -6", small),
    ]
    for what, ours, alt, theirs, input_ in pairs:
        o, t = res[ours], res[theirs]
        work = "%s: opsagent %s" % (input_, what)
        if t is None:
            reason = pigz_missing if theirs == "pigz" else "%s is not installed" % theirs.split()[0]
            yield Row(GROUP, work, "CPU s", median(o["cpu"]), None, alt, "s", skipped=reason)
            continue
        for measure, key, unit in (("CPU s (user+sys)", "cpu", "s"), ("output bytes", "bytes", ""),
                                   ("wall s", "wall", "s")):
            yield Row(GROUP, work, measure, median(o[key]), median(t[key]), alt, unit, runs=n,
                      spread={"opsagent": spread(o[key]), "alternative": spread(t[key])})
    d, g, lr = res["default"], res["gzip"], res["logrotate"]
    cpu_x = median(lr["cpu"]) / median(d["cpu"])
    size_x = median(d["bytes"]) / median(lr["bytes"])
    yield Goal(GROUP, "default mode: at least 4x less CPU than logrotate + gzip -6 at no more than 1.1x its output",
               cpu_x >= 4 and size_x <= 1.1, "%.2f s vs %.2f s: %.2fx less CPU; output %.4fx"
               % (median(d["cpu"]), median(lr["cpu"]), cpu_x, size_x))
    gz_x = median(g["bytes"]) / median(lr["bytes"])
    yield Goal(GROUP, "gzip mode no larger than gzip -6's output", gz_x <= 1.0,
               "%d vs %d bytes: %.5fx" % (median(g["bytes"]), median(lr["bytes"]), gz_x))
