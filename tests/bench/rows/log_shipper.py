"""The log shipper (`opsagent logs`, issue 19) against tests/bench/logs/fast_logs.py (SigV4 and
PutLogEvents' limits checked, nothing stored): 1 GiB of access log (logrotate/genlog.py, the
same cached file as the logrotate row; 8 MiB with --smoke) shipped from the start with
`logs --once`: CPU seconds per GiB, peak RSS and how far above the library floor
(libs_floor.c, init) it is, PutLogEvents calls (the least possible is about
size / 1 MiB); then the service at 1,000 and 20,000 lines a second (logs/stamped_writer.py,
30 s each, 3 s with --smoke, then 6 s more unmeasured so that the last measured lines do not
wait as the end of a stream does) with its default flush_seconds of 2: the time from a line's
write to CloudWatch's acceptance (p50, p99, server-side) and the service's CPU as a share of
one core. No other shipper is installed here to run beside it: the goals of issue 19 (under
2 s CPU per GiB, under 10 MB RSS above the floor, p99 under 5 s, the CloudWatch agent's
force_flush_interval) are the yardstick, and the CloudWatch agent documents about 2% of a
core and tens of MB at light load."""
import os
import shutil
import subprocess
import sys
import time

import benchlib
from benchlib import Goal, Row, median, spread

TITLE = "log shipper: 1 GiB to CloudWatch Logs, latency at 1,000 and 20,000 lines/s"
GROUP = "log shipper"
LOG = "var/log/web/access.log"
LOGS_DIR = os.path.join(benchlib.HERE, "logs")
sys.path.insert(0, LOGS_DIR)


def _source(ctx, size):
    """The cached access log of SIZE bytes (the logrotate row's cache) and its line count."""
    cache = os.environ.get("BENCH_CACHE", "/var/tmp/opsagent-bench-cache")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, "access-%d.log" % size)
    if not os.path.exists(path):
        ctx.log("  generating %d bytes of access log in %s" % (size, path))
        with open(path + ".tmp", "w") as f:
            subprocess.run([sys.executable, "-B", os.path.join(benchlib.HERE, "logrotate", "genlog.py"), str(size)],
                           stdout=f, check=True)
        os.rename(path + ".tmp", path)
    lines = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 24)
            if not b:
                break
            lines += b.count(b"\n")
    return path, lines


def _stack(**cw):
    s = {"cloudwatch_logs": {"sources": {"access": {"path": "/" + LOG, "log_group": "/bench/access",
                                                    "log_stream": "bench"}}}}
    s["cloudwatch_logs"].update(cw)
    return s


def _once(ctx, src, lines):
    from fast_logs import FastLogs
    root = ctx.new_root("logs-once-", _stack())
    log = os.path.join(root, LOG)
    os.makedirs(os.path.dirname(log))
    shutil.copyfile(src, log)
    with open(log, "rb") as f:          # page cache warm, as for the logrotate row
        while f.read(1 << 24):
            pass
    with FastLogs(os.path.dirname(root)) as fl:
        r = benchlib.measure([ctx.opsagent, "--root", root, "logs", "--once"], env=ctx.agent_env(**fl.env()))
        c = fl.calls()
    if c["events"] != lines:
        raise RuntimeError("the stand-in accepted %d events of %d lines" % (c["events"], lines))
    r["puts"] = c["calls"].get("PutLogEvents", 0)
    r["api_bytes"] = c["bytes"]
    shutil.rmtree(os.path.dirname(root))
    return r


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def _wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _latency(ctx, rate, seconds):
    from fast_logs import FastLogs
    root = ctx.new_root("logs-lat-", _stack())
    log = os.path.join(root, LOG)
    os.makedirs(os.path.dirname(log))
    with open(log, "w") as f:
        f.write("warm-up\n")
    with FastLogs(os.path.dirname(root)) as fl:
        err = open(os.path.join(os.path.dirname(root), "service.err"), "w")
        p = subprocess.Popen([ctx.opsagent, "--root", root, "logs"], env=ctx.agent_env(**fl.env()),
                             stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT)
        try:
            # the service is up and shipping (the warm-up line arrived): measure from here
            if not _wait(lambda: fl.calls()["events"] >= 1, 120):
                raise RuntimeError("the service shipped nothing in 120 s")
            fl.latency_on()
            cpu0 = _cpu_seconds(p.pid)
            t0 = time.monotonic()
            # SECONDS measured, then 6 s more of the same (over flush_seconds + 1) so that the last
            # measured lines travel in the steady state, not as the end of the stream
            w = subprocess.run([sys.executable, "-B", os.path.join(LOGS_DIR, "stamped_writer.py"), log, str(rate),
                                str(seconds), "6"], capture_output=True, text=True, check=True)
            busy = _cpu_seconds(p.pid) - cpu0
            wall = time.monotonic() - t0
            n, until = w.stdout.split()
            n = int(n)
            fl.latency_until(float(until))
            if not _wait(lambda: fl.latency()["n"] >= n, 120):
                raise RuntimeError("%d of %d lines accepted after 120 s" % (fl.latency()["n"], n))
            lat = fl.latency()
        finally:
            p.terminate()
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            err.close()
    shutil.rmtree(os.path.dirname(root))
    return {"p50": lat["p50"], "p99": lat["p99"], "max": lat["max"], "cpu_pct": 100.0 * busy / wall,
            "lines": n, "rate": n / seconds}


def rows(ctx):
    r = subprocess.run([ctx.opsagent, "logs", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("this opsagent has no `logs` command: %s" % (r.stderr.strip() or r.stdout.strip()))
    size = (8 << 20) if ctx.smoke else (1 << 30)
    src, lines = _source(ctx, size)
    gib = size / float(1 << 30)
    o = benchlib.repeat(ctx.runs, lambda: _once(ctx, src, lines))
    floor = ctx.libs_floor()
    f = benchlib.repeat(ctx.runs, lambda: benchlib.measure([floor, "init"], env=ctx.agent_env()))
    work = "ship %s of access log from the start (logs --once, %s lines)" % (
        "1 GiB" if not ctx.smoke else "%d MiB" % (size >> 20), format(lines, ","))
    cpu_gib = [c / gib for c in o["cpu"]]
    above = median(o["maxrss_kb"]) - median(f["maxrss_kb"])
    yield Row(GROUP, work, "CPU s per GiB (user+sys)", median(cpu_gib), None, None, "s", runs=ctx.runs,
              spread={"opsagent": spread(cpu_gib)})
    yield Row(GROUP, work, "peak RSS KiB", median(o["maxrss_kb"]), median(f["maxrss_kb"]), "libs_floor init", "KiB",
              runs=ctx.runs, note="above the floor: %+d KiB" % above,
              spread={"opsagent": spread(o["maxrss_kb"]), "alternative": spread(f["maxrss_kb"])})
    yield Row(GROUP, work, "PutLogEvents calls", median(o["puts"]), None, None, "", runs=ctx.runs,
              note="at least %d: %s bytes as the API counts them, 1 MiB a call"
              % (-(-median(o["api_bytes"]) // (1 << 20)), format(int(median(o["api_bytes"])), ",")))
    yield Row(GROUP, work, "wall s", median(o["wall"]), None, None, "s", runs=ctx.runs,
              note="includes the stand-in's signature checks", spread={"opsagent": spread(o["wall"])})
    seconds = 3 if ctx.smoke else 30
    lat = {}
    for rate in (1000, 20000):
        L = benchlib.repeat(ctx.runs, lambda: _latency(ctx, rate, seconds))
        lat[rate] = L
        lw = "service at %s lines/s for %d s, flush_seconds 2 (default)" % (format(rate, ","), seconds)
        yield Row(GROUP, lw, "write to accept p50 s", median(L["p50"]), None, None, "s", runs=ctx.runs,
                  spread={"opsagent": spread(L["p50"])})
        yield Row(GROUP, lw, "write to accept p99 s", median(L["p99"]), None, None, "s", runs=ctx.runs,
                  note="max %.2f s" % median(L["max"]), spread={"opsagent": spread(L["p99"])})
        yield Row(GROUP, lw, "CPU % of one core", median(L["cpu_pct"]), None, None, "%", runs=ctx.runs,
                  note="the CloudWatch agent documents about 2%% at light load", spread={"opsagent": spread(L["cpu_pct"])})
    yield Goal(GROUP, "under 2 s CPU per GiB shipped", median(cpu_gib) < 2.0,
               "%.2f s per GiB (%s)" % (median(cpu_gib), "smoke size" if ctx.smoke else "1 GiB"))
    yield Goal(GROUP, "under 10 MB peak RSS above the library floor", above < 10 * 1024,
               "%d KiB vs floor %d KiB: %+d KiB" % (median(o["maxrss_kb"]), median(f["maxrss_kb"]), above))
    yield Goal(GROUP, "write-to-accept p99 under 5 s at 1,000 and 20,000 lines/s",
               all(median(lat[r]["p99"]) < 5.0 for r in lat),
               ", ".join("%s/s: p50 %.2f s, p99 %.2f s" % (format(r, ","), median(lat[r]["p50"]), median(lat[r]["p99"]))
                         for r in sorted(lat)))
