"""Smoke test of the benchmark runner (tests/bench/run --smoke): one run of a tiny size of every
row, so that the runner does not rot. It asserts only that every row produced numbers (or
says which tool is missing here), never anything about speed: benchmarks are not tests."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("abs_top_builddir", os.path.abspath(os.path.join(HERE, "..", "..")))
# A row may be skipped only because something is not installed here (or cannot run this build).
ALLOWED_SKIPS = ("is not installed", "not installable", "could not be installed", "ASan build")


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="bench-smoke-")
        out = os.path.join(cls.tmp, "rows.json")
        env = dict(os.environ, BENCH_DIR=cls.tmp, BENCH_CACHE=os.path.join(cls.tmp, "cache"))
        cls.proc = subprocess.run([sys.executable, "-B", os.path.join(HERE, "run"), "--smoke", "--no-build",
                                   "--builddir", BUILDDIR, "--json", out], env=env, capture_output=True, text=True,
                                  timeout=1800)
        cls.data = None
        if os.path.exists(out):
            with open(out) as f:
                cls.data = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_runner_succeeds_and_writes_json(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stdout[-4000:] + self.proc.stderr[-4000:])
        self.assertIsNotNone(self.data)
        self.assertIn("| work", self.proc.stdout)

    def test_every_row_has_numbers(self):
        self.assertIsNotNone(self.data, self.proc.stderr[-4000:])
        self.assertTrue(self.data["rows"])
        for r in self.data["rows"]:
            what = "%s / %s / %s" % (r["group"], r["work"], r["measure"])
            if r["skipped"]:
                self.assertTrue(any(s in r["skipped"] for s in ALLOWED_SKIPS), "%s: skipped: %s" % (what, r["skipped"]))
                continue
            self.assertIsInstance(r["ours"], (int, float), what)
            if r["alt"]:
                self.assertIsInstance(r["theirs"], (int, float), what)

    def test_every_module_reported(self):
        self.assertIsNotNone(self.data, self.proc.stderr[-4000:])
        sys.path.insert(0, HERE)
        import rows
        groups = {r["group"] for r in self.data["rows"]} | {p.split(":")[0] for p in self.data["pending"]}
        self.assertEqual(len(groups), len(rows.MODULES), groups)
        self.assertEqual(self.data["errors"], [])


if __name__ == "__main__":
    tap.main()
