"""copytruncate with a writer at full speed (tests/bench/stall_writer.py, 20 numbered lines
per write(2)): the writer fills the log to 32 MiB (1 MiB with --smoke), then the rotation
runs while it keeps writing; the writer stops 0.3 s after. Lines lost = lines written minus
lines found in the rotated copy and the log; the stall = the longest gap between two writes
from just before the rotation started to the writer's end (the same writer's longest gap
before the rotation is its own noise). opsagent's set (method copytruncate, no compression)
vs logrotate 3.21's `copytruncate` (nocompress), same writer, same sizes."""
import json
import os
import shutil
import subprocess
import sys
import time

import benchlib
from benchlib import Row, median, spread

TITLE = "copytruncate with a writer at full speed"
GROUP = "copytruncate"
LOG = "var/log/app/app.log"


def _one(ctx, which, fill):
    root = ctx.new_root("lr-ct-")
    log = os.path.join(root, LOG)
    os.makedirs(os.path.dirname(log))
    res, arm = log + ".result", log + ".arm"
    w = subprocess.Popen([sys.executable, "-B", os.path.join(benchlib.HERE, "stall_writer.py"), log, res, arm])
    try:
        while not os.path.exists(log) or os.path.getsize(log) < fill:
            time.sleep(0.01)
        if which == "opsagent":
            benchlib.write_json(os.path.join(root, "etc/opsagent/stack.json"), {"logrotate": {"sets": {"bench": {
                "paths": ["/" + LOG], "size": 1, "rotate": 2, "method": "copytruncate", "compress": "none"}}}})
            benchlib.write_json(os.path.join(root, "var/lib/opsagent/recipes/logrotate/status.json"),
                                {"version": 1, "logs": {"/" + LOG: {"last_rotated": int(time.time()) - 86400}}})
            argv = [ctx.opsagent, "--root", root, "run", "--recipe", "logrotate", "--no-report"]
        else:
            conf = os.path.join(root, "logrotate.conf")
            with open(conf, "w") as f:
                f.write("%s {\n  size 1\n  rotate 2\n  copytruncate\n  nocompress\n}\n" % log)
            state = os.path.join(root, "logrotate.status")
            with open(state, "w") as f:
                f.write('logrotate state -- version 2\n"%s" 2020-1-1-0:0:0\n' % log)
            argv = ["logrotate", "-s", state, conf]
        open(arm, "w").close()
        time.sleep(0.05)
        r = benchlib.measure(argv, env=ctx.agent_env())
        time.sleep(0.3)
    finally:
        w.terminate()
        w.wait()
    with open(res) as f:
        wr = json.load(f)
    found = 0
    d = os.path.dirname(log)
    for name in os.listdir(d):
        if name.startswith("app.log") and not name.endswith((".result", ".arm")):
            with open(os.path.join(d, name), "rb") as f:
                while True:
                    b = f.read(1 << 24)
                    if not b:
                        break
                    found += b.count(b"\n")
    r.update(lost=wr["lines"] - found, stall_ms=wr["stall_ms"], noise_ms=wr["stall_before_ms"], lines=wr["lines"])
    shutil.rmtree(os.path.dirname(root))
    return r


def rows(ctx):
    if not benchlib.have("logrotate"):
        raise benchlib.Skip("logrotate is not installed")
    fill = (1 << 20) if ctx.smoke else (32 << 20)
    o = benchlib.repeat(ctx.runs, lambda: _one(ctx, "opsagent", fill))
    t = benchlib.repeat(ctx.runs, lambda: _one(ctx, "logrotate", fill))
    work = "copytruncate of a %d MiB log, writer at full speed" % (fill >> 20)
    for measure, key, unit, note in (
            ("lines lost", "lost", "", "lines written: %s (opsagent), %s (logrotate)"
             % (format(int(median(o["lines"])), ","), format(int(median(t["lines"])), ","))),
            ("writer's longest stall ms", "stall_ms", "ms",
             "the writer's own longest gap before rotation: %.2f / %.2f ms" % (median(o["noise_ms"]),
                                                                             median(t["noise_ms"]))),
            ("CPU s (user+sys)", "cpu", "s", ""), ("wall s", "wall", "s", "")):
        yield Row(GROUP, work, measure, median(o[key]), median(t[key]), "logrotate 3.21 copytruncate", unit,
                  runs=ctx.runs, note=note, spread={"opsagent": spread(o[key]), "alternative": spread(t[key])})
