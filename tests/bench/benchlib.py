"""Shared pieces of the benchmark runner (tests/bench/run): how a command is measured, what a
row is, and where the built agent is. Python 3 stdlib only.

Measuring one command (measure()):
  * CPU seconds = user + system of the process and every descendant it waited for, from the
    rusage that wait4(2) returns, taken by the small C helper tests/bench/rusage (the same
    figures as /usr/bin/time, in microseconds: see rusage.c for why not from Python);
  * peak RSS = ru_maxrss of that rusage: the high-water mark of the largest single process
    of the tree (the kernel's own counter, so it is exact, not sampled);
  * USS and PSS are sampled (sample=True): a thread walks the process tree every
    SAMPLE_INTERVAL seconds (/proc/PID/task/*/children, so the agent's forked recipe child
    and each `aws` of a script are found) and reads /proc/PID/smaps_rollup of every process
    in it: USS = Private_Clean + Private_Dirty, PSS = Pss. For each sample it adds the
    figures of all the processes alive at that moment (what the node pays then); the result
    is the largest such sum. The largest single process's USS is kept too, and Private_Dirty
    alone (the pages the process wrote: heap, stacks, relocated library data), which does not
    depend on what else runs on the machine. USS does: the clean pages of a library that no
    other process maps count as private, and turn shared when another process maps it (or
    when the agent forks its recipe child).
"""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
SAMPLE_INTERVAL = 0.001


class Skip(Exception):
    """A row that cannot be measured here; the message says why (a missing tool...)."""


class Row:
    """One line of the table: WORK measured as MEASURE (with UNIT), opsagent's figure OURS,
    the alternative's THEIRS (named ALT). RATIO is theirs/ours unless given; LOWER says
    whether a smaller figure is better (for the ratio's direction, "x less")."""

    def __init__(self, group, work, measure, ours, theirs=None, alt=None, unit="", ratio=None,
                 note="", skipped=None, runs=None, spread=None):
        self.group = group
        self.work = work
        self.measure = measure
        self.ours = ours
        self.theirs = theirs
        self.alt = alt
        self.unit = unit
        if ratio is None and isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and ours:
            ratio = theirs / ours
        self.ratio = ratio
        self.note = note
        self.skipped = skipped
        self.runs = runs
        self.spread = spread or {}

    def as_dict(self):
        return {k: getattr(self, k) for k in ("group", "work", "measure", "unit", "ours", "alt", "theirs",
                                             "ratio", "note", "skipped", "runs", "spread")}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    """(min, max) of VALUES, to show the noise beside a median."""
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


def _children(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    return out


def _rollup(pid):
    """(uss_kb, pss_kb, rss_kb, private_dirty_kb) of PID from smaps_rollup, or None once gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            text = f.read()
    except OSError:
        return None
    vals = dict(re.findall(r"^(\w+):\s+(\d+) kB", text, re.M))
    if not vals:
        return None   # a zombie: nothing mapped any more
    uss = int(vals.get("Private_Clean", 0)) + int(vals.get("Private_Dirty", 0))
    return uss, int(vals.get("Pss", 0)), int(vals.get("Rss", 0)), int(vals.get("Private_Dirty", 0))


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


class _Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.samples = 0
        self.tree_uss = 0
        self.tree_pss = 0
        self.tree_dirty = 0
        self.proc_uss = {}        # "comm" -> largest USS seen of a process of that name
        self.processes = set()

    def run(self):
        while not self.stop.is_set():
            todo = _children(self.pid)      # the root is the rusage helper: not counted
            uss = pss = dirty = 0
            seen = False
            while todo:
                p = todo.pop()
                r = _rollup(p)
                if r:
                    seen = True
                    uss += r[0]
                    pss += r[1]
                    dirty += r[3]
                    name = _comm(p)
                    self.processes.add((p, name))
                    if r[0] > self.proc_uss.get(name, 0):
                        self.proc_uss[name] = r[0]
                todo.extend(_children(p))
            if seen:
                self.samples += 1
                self.tree_uss = max(self.tree_uss, uss)
                self.tree_pss = max(self.tree_pss, pss)
                self.tree_dirty = max(self.tree_dirty, dirty)
            self.stop.wait(SAMPLE_INTERVAL)


RUSAGE = None      # set by the runner: the built tests/bench/rusage helper


def rusage_helper(builddir, scratch):
    """The rusage helper (tests/bench/rusage.c): the build's, else compiled into SCRATCH."""
    built = os.path.join(builddir, "tests", "bench", "rusage")
    if os.access(built, os.X_OK):
        return built
    out = os.path.join(scratch, "rusage")
    r = subprocess.run(["cc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
                        os.path.join(HERE, "rusage.c")], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("cannot compile tests/bench/rusage.c:\n" + r.stderr)
    return out


def measure(argv, env=None, cwd=None, sample=False, timeout=3600, stdin=None, check=True, stdout=None):
    """Runs ARGV under the rusage helper; returns a dict: cpu (s), user, sys, wall (s), maxrss_kb,
    rc, out (stdout+stderr text, unless STDOUT is a file), and with SAMPLE uss_kb, pss_kb
    (largest sums over the tree), proc_uss (largest per process name), samples."""
    with tempfile.TemporaryFile("w+") as out, tempfile.NamedTemporaryFile("r", suffix=".rusage") as tf:
        t0 = time.monotonic()
        p = subprocess.Popen([RUSAGE, tf.name] + [str(a) for a in argv],
                             env=env, cwd=cwd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                             stdout=stdout or out, stderr=subprocess.STDOUT if stdout is None else out,
                             start_new_session=True)
        s = None
        if sample:
            s = _Sampler(p.pid)
            s.start()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        wall = time.monotonic() - t0
        if s:
            s.stop.set()
            s.join()
        out.seek(0)
        text = out.read()
        line = tf.read().split()
    try:
        u, sy, m, x = int(line[0]) / 1e6, int(line[1]) / 1e6, int(line[2]), int(line[3])
    except (IndexError, ValueError):
        raise RuntimeError("%s: no figures from the rusage helper (exit %s)\n%s" % (argv[0], p.returncode,
                                                                                    text[-2000:]))
    res = {"cpu": u + sy, "user": u, "sys": sy, "wall": wall, "maxrss_kb": m, "rc": x, "out": text}
    if s:
        res.update(uss_kb=s.tree_uss, pss_kb=s.tree_pss, dirty_kb=s.tree_dirty, proc_uss=dict(s.proc_uss),
                   samples=s.samples)
    if check and x != 0:
        raise RuntimeError("%s exited %d:\n%s" % (" ".join(map(str, argv)), x, text[-3000:]))
    return res


def repeat(n, fn):
    """Calls FN() N times; returns {key: [values]} of the numeric results."""
    acc = {}
    for _ in range(n):
        r = fn()
        for k, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                acc.setdefault(k, []).append(v)
    return acc


def have(tool):
    return shutil.which(tool) is not None


class Context:
    """What every benchmark module gets: sizes (smoke/quick/full), the built tree, a scratch
    directory, and helpers."""

    def __init__(self, builddir, runs, mode, scratch, log=print, only=None):
        self.builddir = builddir
        self.runs = runs
        self.mode = mode                  # "smoke", "quick" or "full"
        self.scratch = scratch
        self.log = log
        self.only = only
        self.opsagent = os.environ.get("OPSAGENT") or os.path.join(builddir, "opsagent")
        self.plugin_path = os.environ.get("OPSAGENT_PLUGIN_PATH") or self._plugin_path()

    @property
    def smoke(self):
        return self.mode == "smoke"

    def _plugin_path(self):
        dirs = []
        for top, subdirs, files in os.walk(self.builddir):
            if top.endswith("/.libs") and any(f.endswith(".so") and not f.startswith("lib") for f in files):
                if "/tests/" not in top + "/" and "/plugins/example" not in top:
                    dirs.append(top)
            subdirs[:] = [d for d in subdirs if d not in ("tests", "autom4te.cache")]
        return ":".join(sorted(dirs))

    def tmpdir(self, prefix):
        return tempfile.mkdtemp(prefix=prefix, dir=self.scratch)

    def agent_env(self, **extra):
        """The environment for an agent run: no proxy, nothing of the caller's AWS settings."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.pop("JOURNAL_STREAM", None)
        env.pop("INVOCATION_ID", None)
        env["NO_PROXY"] = "127.0.0.1,localhost"
        env["OPSAGENT_PLUGIN_PATH"] = self.plugin_path
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["LC_ALL"] = "C.UTF-8"
        env["TZ"] = "UTC"
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def new_root(self, prefix, stack=None):
        root = os.path.join(self.tmpdir(prefix), "root")
        os.makedirs(os.path.join(root, "etc", "opsagent"))
        if stack is not None:
            write_json(os.path.join(root, "etc", "opsagent", "stack.json"), stack)
        return root

    def asan(self):
        """True when the agent is built with AddressSanitizer (valgrind cannot run it)."""
        try:
            with open(self.opsagent, "rb") as f:
                return b"__asan_init" in f.read()
        except OSError:
            return False

    def libs_floor(self):
        """The libs_floor program of this build: the make target, or compiled here with the
        flags pkg-config gives for the same libraries when the target is gone."""
        path = os.path.join(self.builddir, "tests", "bench", "libs_floor")
        if os.access(path, os.X_OK):
            return path
        if self.mode != "smoke":
            r = subprocess.run(["make", "-s", "tests/bench/libs_floor"], cwd=self.builddir,
                               capture_output=True, text=True)
            if r.returncode == 0 and os.access(path, os.X_OK):
                return path
        out = os.path.join(self.scratch, "libs_floor")
        if os.access(out, os.X_OK):
            return out
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl", "json-c", "libsystemd", "libcrypto",
                                "expat", "zlib"], capture_output=True, text=True)
        if flags.returncode != 0:
            raise Skip("libs_floor not built and pkg-config cannot give its flags")
        r = subprocess.run(["cc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
                            os.path.join(HERE, "libs_floor.c")] + flags.stdout.split(),
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip("cannot compile libs_floor.c: " + r.stderr[-300:])
        return out


def write_json(path, obj, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
    os.chmod(path, mode)


def fmt(v, unit=""):
    """A figure for the table: three significant digits, thousands separated."""
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if unit in ("KiB",) or (isinstance(v, int) and not isinstance(v, bool)):
        return "{:,}".format(int(round(v)))
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return "{:,.0f}".format(v)
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    if a >= 0.01:
        return "%.3f" % v
    return "%.2g" % v


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Detail:
    """A block of text printed after the table (and kept in --json): how a figure breaks down."""

    def __init__(self, group, title, text, data=None):
        self.group = group
        self.title = title
        self.text = text
        self.data = data

    def as_dict(self):
        return {"group": self.group, "title": self.title, "text": self.text, "data": self.data}


def import_path(name, path):
    """Imports the Python file PATH as module NAME (for scripts that are not in a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def smaps_by_file(pid):
    """{mapping name: [rss_kb, private_kb, private_dirty_kb]} of PID from /proc/PID/smaps, or None."""
    try:
        with open("/proc/%d/smaps" % pid) as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    name = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if not parts[0].endswith(":") or "-" in parts[0] and len(parts) >= 5:
            name = parts[5] if len(parts) > 5 else "[anon]"
            name = os.path.basename(name) if name.startswith("/") else name
            out.setdefault(name, [0, 0, 0])
        elif parts[0] == "Rss:" and name:
            out[name][0] += int(parts[1])
        elif parts[0] in ("Private_Clean:", "Private_Dirty:") and name:
            out[name][1] += int(parts[1])
            if parts[0] == "Private_Dirty:":
                out[name][2] += int(parts[1])
    return out or None


class Goal:
    """One of the issues' goals: met or not, with the figures that decide it."""

    def __init__(self, group, goal, met, figures):
        self.group = group
        self.goal = goal
        self.met = met
        self.figures = figures

    def as_dict(self):
        return {"group": self.group, "goal": self.goal, "met": self.met, "figures": self.figures}
