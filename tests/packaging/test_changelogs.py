"""One changelog: packaging/debian/changelog and the rpm spec's %changelog are made from NEWS
by packaging/changelogs, and the newest release there is configure.ac's version."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

SRC = harness.SRCDIR


def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


class Changelogs(unittest.TestCase):
    def test_made_from_news(self):
        r = subprocess.run([sys.executable, os.path.join(SRC, "packaging", "changelogs")], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_newest_release_is_the_version(self):
        version = re.search(r"AC_INIT\(\[opsagent\], \[([^]]+)\]", read("configure.ac")).group(1)
        self.assertEqual(re.search(r"(?m)^## (\S+) ", read("NEWS")).group(1), version)
        self.assertTrue(read("packaging/debian/changelog").startswith("opsagent (%s) " % version))
        self.assertRegex(read("packaging/rpm/opsagent.spec"), r"(?m)^Version:\s+%s$" % re.escape(version))

    def test_a_stale_changelog_is_caught(self):
        # The check itself: NEWS with an item more than the changelogs have.
        import shutil
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "packaging", "debian"))
            os.makedirs(os.path.join(d, "packaging", "rpm"))
            for rel in ("packaging/changelogs", "packaging/debian/changelog", "packaging/rpm/opsagent.spec"):
                shutil.copy(os.path.join(SRC, rel), os.path.join(d, rel))
            with open(os.path.join(d, "NEWS"), "w") as f:
                f.write(read("NEWS").replace("\n- First release", "\n- Something new.\n- First release", 1))
            r = subprocess.run([sys.executable, os.path.join(d, "packaging", "changelogs")], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 1)
            self.assertIn("+  * Something new.", r.stdout)
            self.assertIn("+- Something new.", r.stdout)


if __name__ == "__main__":
    tap.main()
