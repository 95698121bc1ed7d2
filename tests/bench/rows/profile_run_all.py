"""A callgrind profile of a full `opsagent run --all` against the stand-ins, set up as the demo
(tests/bench/profile_run_all.sh). Instructions are summed over the agent and its recipe
children (the agent's profile is dumped and zeroed before each fork, so that nothing is
counted twice); the top functions, inclusive (entry points such as main left out) and self, go
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


OBJECTS = {}      # function -> the object callgrind_annotate names for it


def _fixed(path):
    """A copy of PATH that callgrind_annotate reads right: a forked child's file starts inside
    the frames it inherited (main, cmd_run, runner_run ...), written as calls=0, which
    callgrind_annotate then counts as self cost of the caller; calls=1 makes them calls."""
    out = path + ".fixed"
    with open(path) as i, open(out, "w") as o:
        for line in i:
            o.write("calls=1 " + line[8:] if line.startswith("calls=0 ") else line)
    return out


def _annotate(path, inclusive):
    """{function [object]: instructions} from callgrind_annotate's function list (one entry per
    function: the lines it splits a function into, by source file of inlined code, are added for
    self cost; for inclusive cost the largest is kept)."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=%s" % ("yes" if inclusive else "no"), "--threshold=100",
                        "--auto=no", path], capture_output=True, text=True, check=True)
    text = r.stdout.split("file:function", 1)[-1]
    out = {}
    for line in text.splitlines()[2:]:
        m = re.match(r"^\s*([\d,]+)\s+(?:\([\d. %]+\)\s+)?(\S.*?)\s*$", line)
        if not m:
            if out:
                break
            continue
        where = m.group(2)
        obj = None
        if " [" in where:
            where, obj = where.rsplit(" [", 1)
            obj = os.path.basename(obj.rstrip("]"))
        fn = where.split(":", 1)[1] if ":" in where else where
        # a line without its object is a piece of a function listed with it (inlined code)
        if obj:
            OBJECTS.setdefault(fn, obj)
        key = fn
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
    r = subprocess.run(["bash", os.path.join(benchlib.HERE, "profile_run_all.sh"), os.path.join(d, "sandbox"),
                        os.path.join(d, "cg")], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("profile_run_all.sh failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
    files = [f for f in glob.glob(os.path.join(d, "cg", "callgrind.out.*")) if not f.endswith(".fixed")]
    incl, self_ = collections.Counter(), collections.Counter()
    total = 0
    for f in files:
        with open(f) as fh:
            m = re.search(r"^(?:summary|totals): (\d+)", fh.read(), re.M)
        n = int(m.group(1)) if m else 0
        total += n
        if n < 10000:
            continue      # a dump at an atfork handler: nothing to annotate
        fixed = _fixed(f)
        incl.update(_annotate(fixed, True))
        self_.update(_annotate(fixed, False))
    named = lambda k: "%s [%s]" % (k, OBJECTS.get(k, "?"))  # noqa: E731
    top_incl = [(named(k), v) for k, v in incl.most_common() if not ENTRY.match(k)][:10]
    top_self = [(named(k), v) for k, v in self_.most_common(10)]
    procs = len({os.path.basename(f).split(".")[2] for f in files})
    yield Row(GROUP, "opsagent run --all (4 recipes, demo set-up)", "instructions (callgrind, all processes)", total,
              None, None, "", runs=1, note="%d processes profiled" % procs)
    text = ["processes: %d, instructions in all: %s" % (procs, format(total, ",")),
            "(the agent's profile is dumped and zeroed before every fork, so that a child's file holds only",
            " what the child did: inclusive figures are per dump, summed; a function that spans a fork, such",
            " as cmd_run or runner_run, shows less than its true inclusive cost)",
            "inclusive (entry points left out):"]
    text += ["  %5.1f%%  %s" % (100.0 * v / total, k) for k, v in top_incl]
    text += ["self:"]
    text += ["  %5.1f%%  %s" % (100.0 * v / total, k) for k, v in top_self]
    yield Detail(GROUP, "callgrind of run --all: top functions", "\n".join(text),
                 {"total": total, "inclusive": top_incl, "self": top_self, "files": len(files)})
