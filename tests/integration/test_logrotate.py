"""Recipe logrotate end to end: rotation and compression, refusals, a corrupt state file,
a full filesystem, and a run killed with SIGKILL at many points."""
import json
import os
import random
import shutil
import subprocess
import sys
import unittest

import tap
from logrotate_helper import LogrotateCase, agent_has_run, decompress, kill9, trial_seed, wait_for


def app_set(**kw):
    s = {"paths": ["/var/log/app/*.log"], "method": "create", "rotate": 5}
    s.update(kw)
    return {"sets": {"app": s}}


class TestLogrotate(LogrotateCase):

    def write_lines(self, rel, first, count):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "a") as f:
            f.write("".join("line %d of a log that is rotated\n" % i for i in range(first, first + count)))
        return p

    def all_lines(self, rel_dir, base):
        """Every line of BASE and its rotations in REL_DIR, decompressed, oldest rotation first."""
        d = self.path(rel_dir)
        names = sorted((n for n in os.listdir(d) if n.startswith(base)),
                       key=lambda n: (n == base, -int(n[len(base) + 1:].split(".")[0]) if n != base else 0))
        data = b"".join(decompress(os.path.join(d, n)) for n in names)
        return data.decode().splitlines()

    def test_rotates_and_compresses_with_zstd_by_default(self):
        self.write_lines("var/log/app/a.log", 0, 1000)
        r = self.run_recipe(app_set(size="1k"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.files("var/log/app"), ["a.log", "a.log.1.zst"])
        self.assertEqual(self.all_lines("var/log/app", "a.log"),
                         ["line %d of a log that is rotated" % i for i in range(1000)])
        self.assertIn("rotated /var/log/app/a.log", r.stdout)

    def test_gzip_mode_is_no_bigger_than_gzip_6(self):
        """gzip mode at level 6 against `gzip -6` on the benchmark's generated logs (its access
        log and its varied log): libarchive's gzip filter made 1.0007x on the first."""
        if not shutil.which("gzip"):
            self.skipTest("no gzip to compare with")
        genlog = os.path.join(os.environ.get("abs_top_srcdir", "."), "tests", "bench", "logrotate", "genlog.py")
        for kind in ("access", "varied"):
            os.makedirs(self.path("var/log/app"), exist_ok=True)
            log = self.path("var/log/app/a.log")
            with open(log, "wb") as f:
                subprocess.run([sys.executable, genlog, str(8 << 20)] + (["varied"] if kind == "varied" else []),
                               stdout=f, check=True)
            theirs = len(subprocess.run(["gzip", "-6", "-c", log], capture_output=True, check=True).stdout)
            with open(log, "rb") as f:
                original = f.read()
            r = self.run_recipe(app_set(size=1, compress="gzip", compress_level=6, rotate=50))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            ours = os.path.getsize(self.path("var/log/app/a.log.1.gz"))
            self.assertEqual(decompress(self.path("var/log/app/a.log.1.gz")), original)
            print("# gzip mode, %s log: %.4fx gzip -6's size" % (kind, ours / theirs))
            self.assertLessEqual(ours, theirs, "%s log: %d bytes, gzip -6 %d" % (kind, ours, theirs))
            for n in os.listdir(self.path("var/log/app")):
                os.unlink(os.path.join(self.path("var/log/app"), n))

    def test_dry_run_changes_nothing(self):
        self.write_lines("var/log/app/a.log", 0, 10)
        r = self.run_recipe(app_set(size=1), dry_run=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("would rotate /var/log/app/a.log", r.stdout)
        self.assertEqual(self.files("var/log/app"), ["a.log"])

    def test_daily_rotation_over_simulated_days(self):
        for day in range(4):
            self.write_lines("var/log/app/a.log", day * 10, 10)
            r = self.run_recipe(app_set(rotate=2, compress="gzip"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.age_state(1)
        self.assertEqual(self.files("var/log/app"), ["a.log", "a.log.1.gz", "a.log.2.gz"])
        # day 0 only records the log; days 1, 2 and 3 rotate it, and rotate=2 keeps two
        self.assertEqual(decompress(self.path("var/log/app/a.log.1.gz")).decode().splitlines()[0],
                         "line 30 of a log that is rotated")
        self.assertEqual(decompress(self.path("var/log/app/a.log.2.gz")).decode().splitlines()[0],
                         "line 20 of a log that is rotated")

    def test_corrupt_state_is_moved_aside_and_rotation_goes_on(self):
        self.write_lines("var/log/app/a.log", 0, 10)
        r = self.run_recipe(app_set())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = self.status_file()
        with open(st, "w") as f:
            f.write('{"logs": {"/var/log/app/a.log": ')
        r = self.run_recipe(app_set(size=1))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("corrupt", r.stdout + r.stderr)
        self.assertTrue(any(n.startswith("status.json.corrupt-") for n in os.listdir(os.path.dirname(st))))
        self.assertIn("a.log.1.zst", self.files("var/log/app"))

    def test_insecure_parent_directory_is_refused(self):
        self.write_lines("var/log/app/a.log", 0, 10)
        os.chmod(self.path("var/log/app"), 0o777)
        r = self.run_recipe(app_set(size=1))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("writable by others", r.stdout + r.stderr)
        self.assertEqual(self.files("var/log/app"), ["a.log"])

    def test_symlinked_log_is_refused_and_its_target_untouched(self):
        self.write_lines("var/log/app/b.log", 0, 10)
        target = self.write("etc/shadow-like", "precious\n")
        os.symlink(target, self.path("var/log/app/a.log"))
        r = self.run_recipe(app_set(size=1))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("symbolic link", r.stdout + r.stderr)
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertTrue(os.path.islink(self.path("var/log/app/a.log")))
        self.assertIn("b.log.1.zst", self.files("var/log/app"))

    def full_filesystem(self, method):
        """A 600 KiB tmpfs holding a 400 KiB incompressible log: no room for a second copy."""
        d = self.path("var/log/full")
        os.makedirs(d)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k,mode=0755", "tmpfs", d],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root); the unit tests inject ENOSPC")
        self.mounts.append(d)
        with open(os.path.join(d, "a.log"), "wb") as f:
            f.write(os.urandom(400 * 1024))
        with open(os.path.join(d, "a.log"), "rb") as f:
            original = f.read()
        r = self.run_recipe({"sets": {"full": {"paths": ["/var/log/full/a.log"], "method": method, "size": 1}}})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("No space left", r.stdout + r.stderr)
        return d, original

    def test_full_filesystem_keeps_the_uncompressed_file(self):
        d, original = self.full_filesystem("create")
        self.assertEqual(sorted(os.listdir(d)), ["a.log", "a.log.1"])
        with open(os.path.join(d, "a.log.1"), "rb") as f:
            self.assertEqual(f.read(), original)

    def test_full_filesystem_copytruncate_leaves_the_log_whole(self):
        d, original = self.full_filesystem("copytruncate")
        self.assertEqual(sorted(os.listdir(d)), ["a.log"])
        with open(os.path.join(d, "a.log"), "rb") as f:
            self.assertEqual(f.read(), original)

    def test_full_state_directory_says_what_failed_where_and_what_to_do(self):
        """ENOSPC in the recipe's state directory used to end in "0 log(s) rotated, 1 refused or
        failed (see the lines above)" with nothing above, even at -vv."""
        self.write_lines("var/log/app/a.log", 0, 10)
        state = self.path("var/lib/opsagent/recipes/logrotate") if agent_has_run() else self.driver_state
        os.makedirs(state, exist_ok=True)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", state],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root)")
        self.mounts.append(state)
        with open(os.path.join(state, "filler"), "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass            # full
        # a log seen for the first time (its record in status.log), then a rotation (journal.json)
        for attrs, what in ((app_set(), "cannot record the rotation of /var/log/app/a.log in %s/status.log"),
                            (app_set(size=1), "cannot write %s/journal.json")):
            r = self.run_recipe(attrs)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 1, out)
            self.assertIn(what % (os.path.realpath(state) if agent_has_run() else state), out)
            self.assertIn("No space left on device; free space on its filesystem", out)
            self.assertEqual(self.files("var/log/app"), ["a.log"])

    def test_read_only_filesystem_leaves_everything_as_it_was(self):
        """The log's filesystem read-only, then the state directory's: one error naming the
        path and saying to remount it read-write; the log whole, nothing rotated, no
        temporary; the other set, elsewhere, rotated."""
        d = self.path("var/log/ro")
        os.makedirs(d)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", d],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.mounts.append(d)
        self.write_lines("var/log/ro/a.log", 0, 100)
        with open(os.path.join(d, "a.log"), "rb") as f:
            original = f.read()
        subprocess.run(["mount", "-o", "remount,ro", d], check=True)
        for method in ("create", "copytruncate"):
            self.write_lines("var/log/app/b.log", 0, 10)
            r = self.run_recipe({"sets": {"ro": {"paths": ["/var/log/ro/a.log"], "method": method, "size": 1},
                                          "app": {"paths": ["/var/log/app/b.log"], "method": "create", "size": 1,
                                                   "rotate": 50}}})
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 1, out)
            errors = [line for line in out.splitlines() if "/var/log/ro/a.log" in line and "read-only" in line]
            self.assertEqual(len(errors), 1, out)
            self.assertIn("remount it read-write", errors[0])
            self.assertEqual(self.files("var/log/ro"), ["a.log"])
            with open(os.path.join(d, "a.log"), "rb") as f:
                self.assertEqual(f.read(), original, method)
            self.assertIn("b.log.1.zst", self.files("var/log/app"), out)
            os.unlink(self.path("var/log/app/b.log.1.zst"))

        self.write_lines("var/log/app/a.log", 0, 10)
        state = self.path("var/lib/opsagent/recipes/logrotate") if agent_has_run() else self.driver_state
        os.makedirs(state, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k,mode=0700", "tmpfs", state], check=True)
        self.mounts.append(state)
        for attrs, what in ((app_set(), "cannot record the rotation of /var/log/app/a.log in %s/status.log"),
                            (app_set(size=1), "cannot write %s/journal.json")):
            r = self.run_recipe(attrs)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 1, out)
            self.assertIn(what % (os.path.realpath(state) if agent_has_run() else state), out)
            self.assertIn("Read-only file system; its filesystem is read-only: remount it read-write", out)
            self.assertEqual(self.files("var/log/app"), ["a.log", "b.log"])
        self.assertEqual(self.leftover_temporaries(), [])

    def test_value_errors_exit_2_and_the_other_sets_rotate(self):
        """Values the schema lets through (a size string, maxage 1e30, an empty dateformat or
        reopen.command, a bad signal or mode) are configuration errors: exit 2, a line naming
        the key, and only that set is refused."""
        bad = [{"size": "10MB"}, {"maxage": 1e30}, {"dateformat": ""}, {"reopen": {"command": ""}},
               {"reopen": {"pidfile": "/run/x.pid", "signal": "SIGNOPE"}},
               {"method": "create", "create": {"mode": "0999"}}]
        keys = ["size", "maxage", "dateformat", "reopen.command", "reopen.signal", "create.mode"]
        for i, (b, key) in enumerate(zip(bad, keys)):
            self.write_lines("var/log/app/a.log", 0, 10)
            self.write_lines("var/log/bad/b.log", 0, 10)
            s = {"paths": ["/var/log/bad/b.log"]}
            s.update(b)
            attrs = {"sets": {"bad": s, "good": {"paths": ["/var/log/app/a.log"], "method": "create",
                                                "size": 1, "rotate": 50}}}
            r = self.run_recipe(attrs)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 2, out)
            self.assertIn("logrotate.sets.bad.%s" % key, out)
            self.assertIn("set bad is refused", out)
            self.assertIn("a.log.1.zst", self.files("var/log/app"), out)
            self.assertEqual(self.files("var/log/bad"), ["b.log"])

    def test_a_5000_character_value_names_the_key(self):
        """It used to end in "FAILED after 0.0 s: failed"."""
        self.write_lines("var/log/app/a.log", 0, 10)
        r = self.run_recipe({"sets": {"app": {"paths": ["/var/log/app/a.log"],
                                              "reopen": {"pidfile": "/run/x.pid", "signal": "SIG" + "X" * 5000}}}})
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 2, out)
        self.assertIn("logrotate.sets.app.reopen.signal", out)
        self.assertIn("(5003 bytes) is not a signal", out)
        if agent_has_run():
            failed = [line for line in out.splitlines() if "FAILED after" in line]
            self.assertEqual(len(failed), 1, out)
            self.assertIn("logrotate.sets.app.reopen.signal", failed[0])
        self.assertLess(max(len(line) for line in out.splitlines()), 1000)

    def check_killed_run(self, attrs, delay, total):
        """Kills a run after DELAY seconds, runs again, and checks that every line is there
        exactly once and no temporary file is left."""
        p = self.run_recipe(attrs, start=True)
        if delay is None:
            self.assertTrue(wait_for(lambda: self.leftover_temporaries()),
                            "no compression under way to kill")
        else:
            wait_for(lambda: False, timeout=delay)     # a random kill point, not a wait
        kill9(p)
        r = self.run_recipe(attrs)
        self.assertIn(r.returncode, (0,), r.stdout + r.stderr)
        self.assertEqual(self.leftover_temporaries(), [])
        lines = self.all_lines("var/log/app", "a.log")
        self.assertEqual(len(lines), total, "lines lost or duplicated after kill -9 (%s)" % r.stdout)
        self.assertEqual(lines, ["line %d of a log that is rotated" % i for i in range(total)])

    def test_kill9_mid_compression_then_next_run_finishes(self):
        attrs = app_set(size=1, compress="xz", compress_level=6, rotate=100)
        self.write_lines("var/log/app/a.log", 0, 200000)
        self.check_killed_run(attrs, None, 200000)

    def test_kill9_at_random_points(self):
        rnd = random.Random(trial_seed())
        total = 0
        for i, method in enumerate(["create", "copytruncate"] * 3):
            attrs = app_set(size=1, method=method, compress="xz", compress_level=1 + i, rotate=100)
            self.write_lines("var/log/app/a.log", total, 60000)
            total += 60000
            self.check_killed_run(attrs, rnd.uniform(0.0, 0.15), total)

    def test_schema_refuses_bad_attributes_before_anything_changes(self):
        if not agent_has_run():
            self.skipTest("the agent has no `run` yet (schema validation is the core's)")
        self.write_lines("var/log/app/a.log", 0, 10)
        r = self.run_recipe(app_set(size=1, rotate="five"))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("logrotate.sets.app.rotate", r.stderr)
        self.assertEqual(self.files("var/log/app"), ["a.log"])

    def test_logrotate_import_command(self):
        if not agent_has_run():
            self.skipTest("the agent has no command table yet")
        conf = self.write("etc/logrotate.d/zope", "/srv/www/site/var/log/*.log {\n  daily\n  rotate 9\n"
                          "  postrotate\n    kill -USR2 $(cat /srv/www/site/var/instance.pid)\n  endscript\n"
                          "  su zope zope\n}\n")
        r = self.agent("logrotate-import", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)["logrotate"]["sets"]["zope"]
        self.assertEqual(s["method"], "reopen")
        self.assertEqual(s["reopen"], {"pidfile": "/srv/www/site/var/instance.pid", "signal": "SIGUSR2"})
        self.assertEqual((s["rotate"], s["frequency"], s["compress"]), (9, "daily", "none"))
        self.assertIn("zope:7: su: cannot carry over", r.stderr)
        # and the agent takes what it printed
        self.write("etc/opsagent/stack.json", r.stdout)
        r = self.agent("attributes", "logrotate.sets.zope.reopen.signal")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("SIGUSR2", r.stdout)


if __name__ == "__main__":
    tap.main()
