"""Shared fixtures for integration tests: a fresh sandbox per test and a way to run the
built opsagent in it. Only loopback is ever contacted.

    class T(harness.AgentTestCase):
        def test_x(self):
            self.write_json("etc/opsagent/stack.json", {...})
            r = self.agent("run", "--recipe", "example")
            self.assertEqual(r.returncode, 0, r.stderr)
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

SRCDIR = os.environ.get("abs_top_srcdir", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
BUILDDIR = os.environ.get("abs_top_builddir", SRCDIR)
OPSAGENT = os.environ.get("OPSAGENT", os.path.join(BUILDDIR, "opsagent"))
DATA = os.path.join(SRCDIR, "tests", "data")

# How long a test waits for something that should happen at once: generous, because a loaded
# machine (CI beside other builds, ASan) can be slow; a wait ends as soon as its condition holds.
DEADLINE = 60


def wait_until(pred, timeout=DEADLINE, step=0.02):
    """Polls PRED until it returns something true or TIMEOUT seconds pass; returns what it last
    returned. For a condition, never a moment: `assertTrue(wait_until(lambda: ...), why)`."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def clean_env(**extra):
    """The environment for an agent run: no proxy, no real AWS, no IMDS unless a test asks."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    # Never this machine's ~/.aws: a test that wants shared config files writes its own.
    env["AWS_CONFIG_FILE"] = "/nonexistent/opsagent-tests/config"
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/opsagent-tests/credentials"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.pop("JOURNAL_STREAM", None)
    env.pop("INVOCATION_ID", None)
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
    return env


class AgentTestCase(unittest.TestCase):
    """Each test runs in its own temporary directory; `self.root` is the --root sandbox."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="opsagent-test-")
        self.root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(self.root, "etc", "opsagent"))
        self.env = clean_env()

    def tearDown(self):
        if os.environ.get("OPSAGENT_KEEP_TEST_DIRS"):
            print("# kept", self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def write(self, rel, text, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def write_json(self, rel, obj, mode=0o644):
        return self.write(rel, json.dumps(obj, indent=1), mode)

    def agent(self, *args, env=None, timeout=600, root=True, input=None):
        """Runs `opsagent [--root ROOT] ARGS...`; returns the CompletedProcess (text). TIMEOUT
        only catches a hang: a night of thousands of snapshots under ASan on a loaded machine
        takes minutes."""
        argv = [OPSAGENT]
        if root:
            argv += ["--root", self.root]
        argv += list(args)
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout,
                              input=input)

    def agent_json(self, *args, **kw):
        r = self.agent(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)
