"""Shared helpers for the logrotate recipe's integration tests.

The recipe runs through `$OPSAGENT --root ROOT run --recipe logrotate` once the agent has the
`run` command; until then (and when OPSAGENT_LOGROTATE_DRIVER=1) through lr-driver, the same
recipe code with a minimal context. Attributes go to etc/opsagent/stack.json either way.
"""
import glob
import gzip
import json
import lzma
import os
import random
import shutil
import signal
import subprocess
import time

import harness

DRIVER = os.path.join(harness.BUILDDIR, "recipes", "logrotate", "lr-driver")
HERE = os.path.dirname(os.path.abspath(__file__))
LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"

_agent_has_run = None


def agent_has_run():
    """True when the built opsagent knows `run --recipe`."""
    global _agent_has_run
    if _agent_has_run is None:
        if os.environ.get("OPSAGENT_LOGROTATE_DRIVER") == "1":
            _agent_has_run = False
        else:
            try:
                r = subprocess.run([harness.OPSAGENT, "run", "--help"], capture_output=True, text=True, timeout=10)
                _agent_has_run = r.returncode == 0 and "--recipe" in r.stdout
            except OSError:
                _agent_has_run = False
    return _agent_has_run


def decompress(path):
    """Bytes of PATH, decompressed by its extension (.gz, .xz, .zst)."""
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    if path.endswith(".xz"):
        with lzma.open(path, "rb") as f:
            return f.read()
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dcq", path], check=True, capture_output=True).stdout
    with open(path, "rb") as f:
        return f.read()


class LogrotateCase(harness.AgentTestCase):
    """A sandbox root with helpers to run the recipe and to fake the passing of days."""

    def setUp(self):
        super().setUp()
        self.env["TZ"] = "UTC"
        self.driver_state = os.path.join(self.root, "var", "lib", "opsagent", "logrotate")
        self.mounts = []

    def tearDown(self):
        for m in reversed(self.mounts):      # before the sandbox is removed
            subprocess.run(["umount", m], capture_output=True)
        super().tearDown()

    def run_recipe(self, attrs, *extra, dry_run=False, start=False, env=None):
        """Runs the recipe with ATTRS as logrotate's attributes. Returns the CompletedProcess,
        or with start=True the Popen (in its own session, so that kill9() reaches all of it)."""
        self.write_json("etc/opsagent/stack.json", {"logrotate": attrs})
        e = dict(self.env)
        if env:
            e.update(env)
        if agent_has_run():
            argv = [harness.OPSAGENT, "--root", self.root, "run", "--recipe", "logrotate"]
        else:
            os.makedirs(self.driver_state, exist_ok=True)
            argv = [DRIVER, "--root", self.root, "--state-dir", self.driver_state,
                    self.path("etc/opsagent/stack.json.attrs")]
            with open(argv[-1], "w") as f:
                json.dump(attrs, f)
        if dry_run and agent_has_run():
            argv.append("--dry-run")
        elif dry_run:
            argv.insert(1, "--dry-run")
        argv += list(extra)
        if start:
            return subprocess.Popen(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
        return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=300)

    def status_file(self):
        """The recipe's status.json, wherever the agent keeps the recipe's state."""
        found = glob.glob(os.path.join(self.root, "var", "lib", "**", "status.json"), recursive=True)
        return found[0] if found else None

    def age_state(self, days=1):
        """Moves every log's last rotation back by DAYS, as if that much time had passed."""
        p = self.status_file()
        self.assertIsNotNone(p, "no status.json under the sandbox's var/lib")
        with open(p) as f:
            st = json.load(f)
        for v in st["logs"].values():
            v["last_rotated"] -= int(days * 86400)
        with open(p, "w") as f:
            json.dump(st, f)

    def files(self, rel):
        """Names in ROOT/REL, sorted, temporaries included (a test wants to see them)."""
        return sorted(os.listdir(self.path(rel)))

    def leftover_temporaries(self):
        return [os.path.join(d, n) for d, _, names in os.walk(self.root) for n in names
                if n.endswith(".opsagent-tmp")]


def _descendants(pid):
    """PID and every process below it, from /proc (the agent runs each recipe in a child of
    its own process group, so a process-group kill would miss it)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def kill9(proc):
    """SIGKILL for PROC and all its descendants at once, as a crash or systemd would."""
    tree = _descendants(proc.pid)
    for p in tree:
        try:
            os.kill(p, signal.SIGSTOP)      # freeze first: nothing forks or finishes meanwhile
        except ProcessLookupError:
            pass
    for p in _descendants(proc.pid) + tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate()


def trial_seed(default_env="LR_TEST_SEED"):
    """The seed of a kill -9 trial loop: $LR_TEST_SEED when set (to replay a failure), else a
    fresh one. Printed as a TAP comment, so that the log of a failure says how to replay it."""
    v = os.environ.get(default_env)
    seed = int(v) if v else random.SystemRandom().randrange(1 << 31)
    print("# kill -9 trials: seed %d (%s=%d replays the same kill points)" % (seed, default_env, seed),
          flush=True)
    return seed


def wait_for(pred, timeout=harness.DEADLINE, step=0.005):
    """True once PRED holds, False if it still does not after TIMEOUT seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False
