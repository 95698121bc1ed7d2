"""Start-up of the read-only commands: `opsagent recipes`, `attributes` and `status` with
1,000 run records in the state directory (copies of one real record, one minute apart).
Instructions are counted with valgrind --tool=callgrind (the figure is repeatable; forked
children traced too), wall and CPU are medians of plain runs. There is no alternative to
compare with: the figures stand alone (the ratio column is empty)."""
import glob
import json
import os
import re
import shutil
import subprocess
import uuid

import benchlib
from benchlib import Row, median, spread

TITLE = "start-up with 1,000 run records"
GROUP = "start-up"


def _root(ctx, n):
    root = ctx.new_root("startup-", {"opsagent": {"records": {"keep": 5000}}})
    subprocess.run([ctx.opsagent, "--root", root, "run", "--recipe", "logrotate", "--no-report"], env=ctx.agent_env(),
                   check=True, capture_output=True)
    runs = os.path.join(root, "var/lib/opsagent/runs")
    (first,) = glob.glob(os.path.join(runs, "*.json"))
    with open(first) as f:
        rec = json.load(f)
    os.unlink(first)
    for i in range(n):
        r = dict(rec)
        r["run_id"] = uuid.uuid4().hex
        r["start_usec"] = rec["start_usec"] - (n - i) * 60 * 1000000
        r["end_usec"] = r["start_usec"] + 3000
        import datetime
        t = datetime.datetime.fromtimestamp(r["start_usec"] / 1e6, datetime.timezone.utc)
        r["start"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        r["end"] = (t + datetime.timedelta(microseconds=3000)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        name = "%s-%s-%s.json" % (t.strftime("%Y%m%dT%H%M%S.%fZ"), r["recipe"], r["run_id"])
        with open(os.path.join(runs, name), "w") as f:
            json.dump(r, f, indent=2)
        os.chmod(os.path.join(runs, name), 0o600)
    return root


def _instructions(ctx, argv):
    d = ctx.tmpdir("callgrind-")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(d, "cg.%p")] + argv,
                   env=ctx.agent_env(), check=True, capture_output=True)
    total = 0
    for f in glob.glob(os.path.join(d, "cg.*")):
        with open(f) as fh:
            m = re.search(r"^(?:summary|totals): (\d+)", fh.read(), re.M)
            total += int(m.group(1)) if m else 0
    shutil.rmtree(d)
    return total


def rows(ctx):
    n = 100 if ctx.smoke else 1000
    root = _root(ctx, n)
    vg = benchlib.have("valgrind") and not ctx.asan()
    why = "valgrind is not installed" if not benchlib.have("valgrind") else "ASan build: valgrind cannot run it"
    for cmd in (["recipes"], ["attributes"], ["status"]):
        argv = [ctx.opsagent, "--root", root] + cmd
        o = benchlib.repeat(ctx.runs, lambda: benchlib.measure(argv, env=ctx.agent_env()))
        work = "opsagent %s (%s run records)" % (cmd[0], format(n, ","))
        if vg:
            yield Row(GROUP, work, "instructions (callgrind)", _instructions(ctx, argv), None, None, "", runs=1)
        else:
            yield Row(GROUP, work, "instructions (callgrind)", None, skipped=why)
        for measure, key, unit in (("wall s", "wall", "s"), ("CPU s (user+sys)", "cpu", "s"),
                                   ("peak RSS KiB", "maxrss_kb", "KiB")):
            yield Row(GROUP, work, measure, median(o[key]), None, None, unit, runs=ctx.runs,
                      spread={"opsagent": spread(o[key])})
