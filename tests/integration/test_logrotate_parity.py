"""Parity with Debian's logrotate: the same trees, rotated by logrotate and by the recipe over
several simulated days (faked through each tool's state file, as logrotate's own suite does),
end with the same file names and the same (decompressed) contents."""
import datetime
import os
import re
import shutil
import subprocess
import time
import unittest

import tap
from logrotate_helper import LOGROTATE, LogrotateCase, decompress

STATE_LINE = re.compile(r'^("(?:[^"\\]|\\.)*") (\d+)-(\d+)-(\d+)-(\d+):(\d+):(\d+)$')


class TestParity(LogrotateCase):

    def setUp(self):
        super().setUp()
        if not os.access(LOGROTATE, os.X_OK):
            self.skipTest("logrotate is not installed (apt-get install logrotate)")
        self.lr_root = os.path.join(self.tmp, "lr")
        self.lr_state = os.path.join(self.tmp, "logrotate.state")

    # -- logrotate's side --

    def logrotate(self, conf_body):
        conf = os.path.join(self.tmp, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(conf_body.replace("ROOT", self.lr_root))
        os.chmod(conf, 0o644)
        r = subprocess.run([LOGROTATE, "-s", self.lr_state, conf], capture_output=True, text=True,
                           env=dict(self.env))
        self.assertEqual(r.returncode, 0, "logrotate: " + r.stderr)

    def age_logrotate_state(self, seconds):
        if not os.path.exists(self.lr_state):
            return
        out = []
        with open(self.lr_state) as f:
            for line in f.read().splitlines():
                m = STATE_LINE.match(line)
                if m:
                    t = datetime.datetime(*map(int, m.groups()[1:])) - datetime.timedelta(seconds=seconds)
                    line = "%s %d-%d-%d-%d:%d:%d" % (m.group(1), t.year, t.month, t.day, t.hour, t.minute, t.second)
                out.append(line)
        with open(self.lr_state, "w") as f:
            f.write("\n".join(out) + "\n")

    # -- both --

    def append(self, rel, text):
        for root in (self.root, self.lr_root):
            p = os.path.join(root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "a") as f:
                f.write(text)

    def mkdir(self, rel):
        for root in (self.root, self.lr_root):
            os.makedirs(os.path.join(root, rel), exist_ok=True)

    def tree(self, root, rel):
        """{relative name: decompressed bytes} of every file under ROOT/REL."""
        out = {}
        base = os.path.join(root, rel)
        for d, _, names in os.walk(base):
            for n in names:
                p = os.path.join(d, n)
                out[os.path.relpath(p, base)] = decompress(p)
        return out

    def assert_same_trees(self, rel="var/log/app"):
        ours, theirs = self.tree(self.root, rel), self.tree(self.lr_root, rel)
        self.assertEqual(sorted(ours), sorted(theirs), "file names differ (ours first)")
        for name in ours:
            self.assertEqual(ours[name], theirs[name], "contents of %s differ" % name)

    def clear_of_boundary(self, period, margin=120):
        """Waits (at most MARGIN seconds) until the clock is more than MARGIN seconds before the
        next multiple of PERIOD (UTC midnight, or the top of the hour): each tool decides and
        names by the clock, and the two must not run on either side of a day's or an hour's
        end."""
        left = period - time.time() % period
        if left <= margin:
            time.sleep(left + 1)

    def simulate(self, days, conf, attrs, logs=("a.log",), step=86400, write=None):
        """DAYS runs of both tools, STEP seconds apart, each after appending a day's lines."""
        self.clear_of_boundary(3600 if step < 86400 else 86400)
        for day in range(days):
            for log in logs:
                text = write(day, log) if write else "".join(
                    "%s day %d line %d\n" % (log, day, i) for i in range(50))
                if text is not None:
                    self.append("var/log/app/" + log, text)
            self.logrotate(conf)
            r = self.run_recipe(attrs)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.age_logrotate_state(step)
            self.age_state(step / 86400)
        self.assert_same_trees()

    def test_numbered_create_gzip(self):
        self.simulate(6, "ROOT/var/log/app/*.log {\n daily\n rotate 3\n create\n compress\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/*.log"], "frequency": "daily", "rotate": 3,
                                        "method": "create", "compress": "gzip"}}},
                      logs=("a.log", "b.log"))

    def test_delaycompress(self):
        self.simulate(5, "ROOT/var/log/app/a.log {\n daily\n rotate 2\n create\n compress\n delaycompress\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "rotate": 2, "method": "create",
                                        "compress": "gzip", "delaycompress": True}}})

    def test_copytruncate_uncompressed(self):
        self.simulate(4, "ROOT/var/log/app/a.log {\n daily\n rotate 2\n copytruncate\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "rotate": 2, "method": "copytruncate",
                                        "compress": "none"}}})

    def test_notifempty_and_missingok(self):
        def write(day, log):
            return None if log == "empty.log" and day > 0 else ("" if log == "empty.log" else "x %d\n" % day)
        self.simulate(4, "ROOT/var/log/app/*.log ROOT/var/log/none/*.log {\n daily\n rotate 5\n create\n"
                      " notifempty\n missingok\n compress\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/*.log", "/var/log/none/*.log"], "rotate": 5,
                                        "method": "create", "notifempty": True, "missingok": True,
                                        "compress": "gzip"}}},
                      logs=("a.log", "empty.log"), write=write)

    def test_size(self):
        def write(day, log):
            return "".join("%d %d ................................\n" % (day, i) for i in range(40))
        self.simulate(6, "ROOT/var/log/app/a.log {\n size 2k\n rotate 9\n create\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "size": "2k", "rotate": 9,
                                        "method": "create", "compress": "none"}}}, write=write)

    def test_olddir(self):
        self.mkdir("var/log/app/old")
        self.simulate(4, "ROOT/var/log/app/a.log {\n daily\n rotate 2\n create\n compress\n olddir old\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "rotate": 2, "method": "create",
                                        "compress": "gzip", "olddir": "old"}}})

    def test_weekly(self):
        self.simulate(10, "ROOT/var/log/app/a.log {\n weekly\n rotate 4\n create\n compress\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "frequency": "weekly", "rotate": 4,
                                        "method": "create", "compress": "gzip"}}})

    def test_hourly(self):
        self.simulate(5, "ROOT/var/log/app/a.log {\n hourly\n rotate 3\n create\n compress\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "frequency": "hourly", "rotate": 3,
                                        "method": "create", "compress": "gzip"}}}, step=3600)

    def test_dateext_prunes_like_logrotate(self):
        for old in ("20261101", "20261102", "20261103"):
            for root in (self.root, self.lr_root):
                p = os.path.join(root, "var/log/app/a.log-%s" % old)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                subprocess.run("echo old %s | gzip > %s.gz" % (old, p), shell=True, check=True)
        self.simulate(2, "ROOT/var/log/app/a.log {\n daily\n rotate 2\n create\n compress\n dateext\n}\n",
                      {"sets": {"app": {"paths": ["/var/log/app/a.log"], "rotate": 2, "method": "create",
                                        "compress": "gzip", "dateext": True}}})
        today = time.strftime("-%Y%m%d", time.gmtime())     # simulate() kept clear of midnight
        self.assertIn("a.log%s.gz" % today, os.listdir(self.path("var/log/app")))


if __name__ == "__main__":
    tap.main()
