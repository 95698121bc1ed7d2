#!/usr/bin/env python3
"""`opsagent logs` against moto's CloudWatch Logs behind the stand-in's front: a small smoke
test of the shipper's core (the large tests are tests/integration/test_logs_*.py of the tests
side): --once ships a file from its start exactly once and creates the group (with its
retention) and the stream; an outage keeps the lines in the buffer and sends them in order
when CloudWatch is back; the service follows a rename and a copytruncate, joins a traceback,
and exits 0 on SIGTERM with everything sent; configuration errors exit 2 naming file and key;
recipe runs go to opsagent.logs.run_log_group; a journal source."""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

import harness
import tap
from aws_common import AgentStandinCase

STATE = "var/lib/opsagent"


class Base(AgentStandinCase):
    def setUp(self):
        super().setUp()
        self.group = "/opsagent/%s" % self.id().rsplit(".", 1)[1]
        self.stack = {"aws": {"max_attempts": 2},
                      "cloudwatch_logs": {"flush_seconds": 0.2, "sources": {
                          "app": {"path": "/var/log/app/*.log", "log_group": self.group,
                                  "multiline_start": "^[^ ]", "retention_days": 7}}}}
        self.write_json("etc/opsagent/stack.json", self.stack)
        os.makedirs(self.path("var/log/app"), exist_ok=True)
        self.log = self.path("var/log/app/a.log")

    def messages(self, group=None):
        group = group or self.group
        out = []
        for g, s in self.aws.log_streams():
            if g == group:
                out += [m for _, m, *_ in self.aws.log_events(g, s)]
        return out

    def append(self, lines):
        with open(self.log, "a") as f:
            f.write("".join(line + "\n" for line in lines))

    def once(self, expect=0):
        r = self.agent("logs", "--once")
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
        return r


class LogsCase(Base):
    def test_once_ships_a_file_exactly_once(self):
        lines = ["line %d" % i for i in range(25000)]
        self.append(lines)
        self.once()
        self.append(["tail"])
        self.once()
        self.assertEqual(self.messages(), lines + ["tail"])
        calls = self.aws.ok_calls()
        self.assertEqual(calls.get("CreateLogGroup"), 1)
        self.assertEqual(calls.get("PutRetentionPolicy"), 1)
        self.assertEqual(calls.get("CreateLogStream"), 1)
        for n, size in self.aws.put_log_events_sizes():
            self.assertLessEqual(n, 10000)
            self.assertLessEqual(size, 1048576)
        st = os.stat(self.path(STATE + "/logs/checkpoints.json"))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        status = json.loads(self.agent("logs", "--status", "--json").stdout)
        self.assertEqual(status[0]["source"], "app")
        self.assertEqual(status[0]["lag_bytes"], 0)
        self.assertEqual(set(status[0]), {"source", "path", "offset", "lag_bytes", "lag_seconds",
                                          "buffered_bytes", "dropped_events", "last_error"})

    def test_outage_keeps_lines_in_the_buffer_and_sends_them_in_order(self):
        self.append(["a %d" % i for i in range(50)])
        self.aws.set_faults(http_503=-1, only=["PutLogEvents"])
        self.once(expect=1)
        self.assertTrue(os.listdir(self.path(STATE + "/logs/buffer")))
        self.append(["b %d" % i for i in range(50)])
        self.once(expect=1)
        self.aws.clear_faults()
        self.once()
        self.assertEqual(self.messages(), ["a %d" % i for i in range(50)] + ["b %d" % i for i in range(50)])
        self.assertEqual(os.listdir(self.path(STATE + "/logs/buffer")), [])

    def test_service_follows_rotation_and_stops_cleanly(self):
        self.append(["x 0"])
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "logs"], env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(harness.wait_until(lambda: len(self.messages()) == 1, timeout=30))
            self.append(["x 1", "Traceback (most recent call last):", "  File \"a.py\"", "x 2"])
            os.rename(self.log, self.log + ".1")
            with open(self.log + ".1", "a") as f:
                f.write("x 3\n")
            self.append(["x 4"])
            self.assertTrue(harness.wait_until(lambda: "x 4" in self.messages(), timeout=30))
            shutil.copyfile(self.log, self.log + "-20261204")
            with open(self.log + "-20261204", "a") as f:
                f.write("x 5\n")          # written before the truncation: in the copy only
            os.truncate(self.log, 0)
            self.append(["x 6"])
            self.assertTrue(harness.wait_until(lambda: "x 6" in self.messages(), timeout=30))
            self.append(["x 7"])
            time.sleep(0.5)
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(self.messages(), ["x 0", "x 1", "Traceback (most recent call last):\n  File \"a.py\"",
                                           "x 2", "x 3", "x 4", "x 5", "x 6", "x 7"])

    def test_configuration_errors_exit_2_naming_file_and_key(self):
        self.stack["cloudwatch_logs"]["sources"]["app"]["retention_days"] = 2
        self.write_json("etc/opsagent/stack.json", self.stack)
        r = self.agent("logs", "--once")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("stack.json: cloudwatch_logs.sources.app.retention_days: ", r.stderr)

    def test_recipe_runs_go_to_the_run_log_group(self):
        self.stack["opsagent"] = {"logs": {"run_log_group": self.group + "-runs"}}
        self.write_json("etc/opsagent/stack.json", self.stack)
        env = {"OPSAGENT_PLUGIN_PATH": os.path.join(harness.BUILDDIR, "tests", "integration", "plugins", ".libs")}
        r = self.agent("run", "--recipe", "report_probe", "--no-report", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path(STATE + "/logs/runs/runs.log")) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(len(lines), 1)
        self.once()
        got = [json.loads(m) for m in self.messages(self.group + "-runs")]
        self.assertEqual([(g["RECIPE"], g["outcome"]) for g in got], [("report_probe", "success")])
        self.assertEqual(got[0]["RUN_ID"], lines[0]["RUN_ID"])
        self.assertEqual([g for g, _ in self.aws.log_streams() if g == self.group + "-runs"], [self.group + "-runs"])


JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
MACHINE = "0123456789abcdef0123456789abcdef"


class JournalCase(Base):
    """A journal source, read from the journal files under --root (written with
    systemd-journal-remote): the units and priority filter, the cursor saved so that a second
    run sends nothing twice."""

    def write_journal(self, entries):
        now = int(time.time() * 1e6)
        text = []
        for i, (unit, prio, msg) in enumerate(entries):
            text.append("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n_SYSTEMD_UNIT=%s\n"
                        "PRIORITY=%d\nMESSAGE=%s\n" % (now + i, i + 1, MACHINE, unit, prio, msg))
        d = self.path("var/log/journal/" + MACHINE)
        os.makedirs(d, exist_ok=True)
        r = subprocess.run([JOURNAL_REMOTE, "-o", os.path.join(d, "system.journal"), "--split-mode=none", "-"],
                           input="\n".join(text) + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(os.access(JOURNAL_REMOTE, os.X_OK), "systemd-journal-remote is not installed")
    def test_journal_units_and_priority_from_a_saved_cursor(self):
        self.stack["cloudwatch_logs"]["sources"] = {"ng": {"journal": {"units": ["nginx.service"], "priority": "err"},
                                                           "log_group": self.group}}
        self.write_json("etc/opsagent/stack.json", self.stack)
        self.write_journal([("nginx.service", 3, "e%d" % i) for i in range(3)] +
                           [("nginx.service", 6, "info"), ("other.service", 3, "other")])
        self.once()
        self.once()
        self.assertEqual(self.messages(), ["e0", "e1", "e2"])
        with open(self.path(STATE + "/logs/checkpoints.json")) as f:
            self.assertIn("cursor", json.load(f)["sources"]["ng"])


if __name__ == "__main__":
    tap.main()
