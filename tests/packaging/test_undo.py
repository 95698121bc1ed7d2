"""What opsagent changed in files it does not own is recorded before its first change, and put
back by `opsagent setup --undo` and by the package's purge (the shell function opsagent_undo in
packaging/debian/opsagent.postrm and the rpm spec's %postun, which run once the program is
gone): byte for byte, with mode and owner, and files opsagent created are removed. The changes
are made by the test recipe `good` (tests/unit/plugins), whose output file is an attribute."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

PLUGINS = os.environ.get("OPSAGENT_TEST_PLUGIN_DIR",
                         os.path.join(harness.BUILDDIR, "tests", "unit", "plugins", ".libs"))
POSTRM = os.path.join(harness.SRCDIR, "packaging", "debian", "opsagent.postrm")
SPEC = os.path.join(harness.SRCDIR, "packaging", "rpm", "opsagent.spec")


def undo_function(path):
    with open(path) as f:
        text = f.read()
    m = re.search(r"^# opsagent-undo: begin.*?^# opsagent-undo: end\n", text, re.S | re.M)
    assert m, "%s has no opsagent-undo block" % path
    return m.group(0).replace("%%", "%")


class Undo(harness.AgentTestCase):
    def setUp(self):
        super().setUp()
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGINS
        self.env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)

    def change(self, output):
        self.write_json("etc/opsagent/stack.json", {"good": {"output": output, "count": 1, "greeting": "opsagent's"}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def read(self, rel):
        with open(self.path(rel)) as f:
            return f.read()

    def make_changes(self):
        """An existing file changed, a new one created, an existing one changed twice."""
        self.write("etc/app/existing.conf", "the admin's\n", 0o640)
        self.change("/etc/app/existing.conf")
        self.change("/etc/app/created.conf")
        self.write_json("etc/opsagent/stack.json", {"good": {"output": "/etc/app/existing.conf", "count": 2}})
        self.assertEqual(self.agent("run", "--recipe", "good").returncode, 0)
        self.assertEqual(self.read("etc/app/existing.conf"), "hello x2\n")

    def assert_put_back(self):
        self.assertEqual(self.read("etc/app/existing.conf"), "the admin's\n")
        self.assertEqual(os.stat(self.path("etc/app/existing.conf")).st_mode & 0o7777, 0o640)
        self.assertFalse(os.path.exists(self.path("etc/app/created.conf")))

    def test_record_is_made_for_a_shell_to_read(self):
        self.make_changes()
        with open(self.path("var/lib/opsagent/undo/changes")) as f:
            lines = [l.rstrip("\n").split("\t") for l in f]
        self.assertEqual(lines, [
            ["file", "/etc/app/existing.conf", "saved/1", "0640", str(os.getuid()), str(os.getgid())],
            ["file", "/etc/app/created.conf", "-"],
        ])
        self.assertEqual(self.read("var/lib/opsagent/undo/saved/1"), "the admin's\n")
        self.assertEqual(os.stat(self.path("var/lib/opsagent/undo/saved/1")).st_mode & 0o777, 0o600)

    def test_setup_undo_puts_back_what_was_changed(self):
        self.make_changes()
        r = self.agent("setup", "--undo", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("/etc/app/existing.conf: would be put back as it was", r.stdout)
        self.assertIn("/etc/app/created.conf: would be removed (opsagent created it)", r.stdout)
        self.assertEqual(self.read("etc/app/existing.conf"), "hello x2\n")
        r = self.agent("setup", "--undo")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("setup --undo: 2 changes put back", r.stdout)
        self.assert_put_back()
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/undo/changes")))
        r = self.agent("setup", "--undo")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing to put back", r.stdout)
        r = self.agent("setup", "--undo", "--json")
        self.assertEqual(r.returncode, 2)

    def test_the_package_scripts_share_one_undo(self):
        self.assertEqual(undo_function(POSTRM), undo_function(SPEC))

    def test_purge_script_puts_back_the_same(self):
        # The postrm's function, run against the sandbox as purge runs it against /.
        self.make_changes()
        r = subprocess.run(["sh", "-ec", undo_function(POSTRM) + '\nopsagent_undo "$1"\n', "postrm", self.root],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assert_put_back()

    def test_purge_script_writes_through_no_planted_link(self):
        # The temporary name the script used to write to, made a link to a file of root's:
        # the file pointed to stays as it was, and the change is put back all the same.
        self.make_changes()
        self.write("secret", "root's\n", 0o600)
        os.symlink(self.path("secret"), self.path("etc/app/existing.conf.opsagent-undo"))
        r = subprocess.run(["sh", "-ec", undo_function(POSTRM) + '\nopsagent_undo "$1"\n', "postrm", self.root],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(self.read("secret"), "root's\n")
        self.assert_put_back()
        self.assertEqual([n for n in os.listdir(self.path("etc/app")) if "opsagent-undo." in n], [])

    def test_a_change_that_cannot_be_recorded_is_not_made(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"output": "/etc/app/a\tb.conf", "count": 1}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot be recorded for undo", r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.path("etc/app/a\tb.conf")))


if __name__ == "__main__":
    tap.main()
