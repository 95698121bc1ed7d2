"""A callgrind profile of a full `opsagent run --all` against the stand-ins, set up as the demo
(tests/bench/profile_run_all.sh). Instructions are summed over the agent and its recipe
children; the top functions, inclusive (entry points such as main left out) and self, go
to a detail block (and tests/bench/README.md says what could be cut)."""
import collections
import glob
import os
import re
import subprocess

import benchlib
from benchlib import Row, Detail

TITLE = "callgrind profile of run --all"
GROUP = "profile"
ENTRY = re.compile(r"^(\(below main\)|_start|main|__libc_start_main.*|__libc_start_call_main|0x[0-9a-f]+|\?\?\?|"
                   r"_dl_start.*|_dl_start_user)$")


def _annotate(path, inclusive):
    """{function [object]: instructions} from callgrind_annotate's function list (one entry per
    function: the lines it splits a function into, by source file of inlined code, are added for
    self cost; for inclusive cost the largest is kept)."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=%s" % ("yes" if inclusive else "no"), "--threshold=100",
                        "--auto=no", path], capture_output=True, text=True, check=True)
    text = r.stdout.split("file:function", 1)[-1]
    out = {}
    obj = ""
    for line in text.splitlines()[2:]:
        m = re.match(r"^\s*([\d,]+)\s+(?:\([\d. %]+\)\s+)?(\S.*?)\s*$", line)
        if not m:
            if out:
                break
            continue
        where = m.group(2)
        if " [" in where:
            where, obj = where.rsplit(" [", 1)
            obj = os.path.basename(obj.rstrip("]"))
        fn = where.split(":", 1)[1] if ":" in where else where
        key = "%s [%s]" % (fn, obj)
        n = int(m.group(1).replace(",", ""))
        # self cost of the pieces adds up; inclusive pieces overlap, so the largest stands
        out[key] = max(out.get(key, 0), n) if inclusive else out.get(key, 0) + n
    return out


def rows(ctx):
    if not benchlib.have("valgrind") or not benchlib.have("callgrind_annotate"):
        raise benchlib.Skip("valgrind is not installed")
    if ctx.asan():
        raise benchlib.Skip("ASan build: valgrind cannot run it")
    d = ctx.tmpdir("profile-")
    env = ctx.agent_env(OPSAGENT=ctx.opsagent)
    env.pop("AWS_EC2_METADATA_DISABLED", None)
    r = subprocess.run([os.path.join(benchlib.HERE, "profile_run_all.sh"), os.path.join(d, "sandbox"),
                        os.path.join(d, "cg")], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("profile_run_all.sh failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
    files = glob.glob(os.path.join(d, "cg", "callgrind.out.*"))
    incl, self_ = collections.Counter(), collections.Counter()
    total = 0
    for f in files:
        with open(f) as fh:
            m = re.search(r"^(?:summary|totals): (\d+)", fh.read(), re.M)
        total += int(m.group(1)) if m else 0
        incl.update(_annotate(f, True))
        self_.update(_annotate(f, False))
    top_incl = [(k, v) for k, v in incl.most_common() if not ENTRY.match(k.split(" [")[0])][:10]
    top_self = self_.most_common(10)
    yield Row(GROUP, "opsagent run --all (4 recipes, demo set-up)", "instructions (callgrind, all processes)", total,
              None, None, "", runs=1, note="%d processes profiled" % len(files))
    text = ["processes: %d, instructions in all: %s" % (len(files), format(total, ",")), "inclusive (entry points left out):"]
    text += ["  %5.1f%%  %s" % (100.0 * v / total, k) for k, v in top_incl]
    text += ["self:"]
    text += ["  %5.1f%%  %s" % (100.0 * v / total, k) for k, v in top_self]
    yield Detail(GROUP, "callgrind of run --all: top functions", "\n".join(text),
                 {"total": total, "inclusive": top_incl, "self": top_self, "files": len(files)})
