"""The journal catalog (packaging/systemd/opsagent.catalog): journalctl compiles it, and it
names the same MESSAGE_IDs as the runner (agent/run/runner.h) and opsagent(8)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

CATALOG = os.path.join(harness.SRCDIR, "packaging", "systemd", "opsagent.catalog")


def runner_ids():
    with open(os.path.join(harness.SRCDIR, "agent", "run", "runner.h")) as f:
        return dict(re.findall(r'#define RUNNER_MESSAGE_(\w+) "([0-9a-f]{32})"', f.read()))


class Catalog(unittest.TestCase):
    def test_the_ids_are_the_runners_and_the_man_pages(self):
        ids = runner_ids()
        self.assertEqual(set(ids), {"STARTED", "SUCCEEDED", "FAILED"})
        with open(CATALOG) as f:
            cat = re.findall(r"(?m)^-- ([0-9a-f]{32})$", f.read())
        self.assertEqual(sorted(cat), sorted(ids.values()))
        with open(os.path.join(harness.SRCDIR, "man", "opsagent.8")) as f:
            man = f.read()
        for i in ids.values():
            self.assertIn(".It " + i + "\n", man)

    @unittest.skipUnless(shutil.which("journalctl"), "no journalctl here")
    def test_journalctl_compiles_it(self):
        with tempfile.TemporaryDirectory() as root:
            d = os.path.join(root, "usr", "lib", "systemd", "catalog")
            os.makedirs(d)
            shutil.copy(CATALOG, d)
            r = subprocess.run(["journalctl", "--root=" + root, "--update-catalog"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = subprocess.run(["journalctl", "--root=" + root, "--list-catalog"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            for i in runner_ids().values():
                self.assertRegex(r.stdout, r"(?m)^%s opsagent: recipe @RECIPE@ " % i)


if __name__ == "__main__":
    tap.main()
