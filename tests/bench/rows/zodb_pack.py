"""zodb_pack: one pack of storage "1" through the ZEO stand-in (tests/zeo/zeo_standin.py, TCP on
127.0.0.1), `opsagent run --recipe zodb_pack` vs a zeopack client. The server's work is the
same for both; the figures are the client's. ZODB/ZEO (and so zeopack) are not in Debian
12's archive, and the stand-in has no Python client of its own: the alternative is
tests/bench/zeo_pack_client.py, a minimal stdlib client that sends what zeopack sends and
imports none of ZODB/ZEO, clearly cheaper than zeopack (a lower bound on the ratio). A real
zeopack on PATH is used instead when there is one."""
import os
import shutil
import sys

import benchlib
from benchlib import Row, Goal, median, spread

TITLE = "zodb_pack vs zeopack"
GROUP = "zodb_pack"


def rows(ctx):
    sys.path.insert(0, os.path.join(benchlib.SRCDIR, "tests", "zeo"))
    import zeo_standin
    real = shutil.which("zeopack")
    with zeo_standin.Process([]) as z:
        root = ctx.new_root("zodb-", {"zodb_pack": {"servers": [{"address": z.address, "storages": ["1"]}]}})
        o = benchlib.repeat(ctx.runs, lambda: benchlib.measure(
            [ctx.opsagent, "--root", root, "run", "--recipe", "zodb_pack", "--no-report"], env=ctx.agent_env()))
        if real:
            argv, alt = [real, "-d", "0", z.address], "zeopack -d 0"
        else:
            argv = [sys.executable, os.path.join(benchlib.HERE, "zeo_pack_client.py"), z.address]
            alt = "stdlib ZEO client (zeopack not in Debian 12)"
        t = benchlib.repeat(ctx.runs, lambda: benchlib.measure(argv, env=ctx.agent_env()))
    note = "" if real else "ZODB/ZEO not installable from Debian's archive: tests/bench/zeo_pack_client.py " \
                           "stands in for zeopack (sends the same calls, imports no ZODB: a lower bound)"
    for measure, key, unit in (("client CPU s (user+sys)", "cpu", "s"), ("client peak RSS KiB", "maxrss_kb", "KiB"),
                               ("wall s", "wall", "s")):
        yield Row(GROUP, "one pack of storage 1 (ZEO stand-in, TCP)", measure, median(o[key]), median(t[key]), alt,
                  unit, runs=ctx.runs, note=note, spread={"opsagent": spread(o[key]), "alternative": spread(t[key])})
    x = median(t["cpu"]) / median(o["cpu"])
    yield Goal(GROUP, "client CPU at least 20x lower than zeopack's", x >= 20,
               "%.4f s vs %.4f s (%s): %.1fx%s" % (median(o["cpu"]), median(t["cpu"]), alt, x,
                                                    "" if real else "; against a client cheaper than zeopack"))
