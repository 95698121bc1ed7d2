#!/usr/bin/env python3
"""The log shipper's journal source (`cloudwatch_logs.sources.NAME.journal`): entries of the
configured units at or above the priority arrive once each, in order, and the saved cursor
means a second --once sends nothing again.

Under --root the shipper reads the journal files in ROOT/var/log/journal (LOGS-SPEC.md). The
test writes such a file with systemd-journal-remote from the journal export format; without
it (Debian: systemd-journal-remote) the test is skipped: no journald runs in the sandbox, and
the test must not write to the host's journal."""
import os
import shutil
import subprocess
import time

import tap
from logs_common import GROUP, STREAM, LogsCase

JOURNAL_REMOTE = next((p for p in ("/usr/lib/systemd/systemd-journal-remote", "/lib/systemd/systemd-journal-remote",
                                   shutil.which("systemd-journal-remote") or "") if p and os.path.exists(p)), None)


def export_entry(cursor_n, unit, priority, message, t_us):
    fields = {
        "__CURSOR": "s=0123456789abcdef0123456789abcdef;i=%x" % cursor_n,
        "__REALTIME_TIMESTAMP": str(t_us),
        "__MONOTONIC_TIMESTAMP": str(cursor_n * 1000),
        "_BOOT_ID": "0123456789abcdef0123456789abcdef",
        "_SYSTEMD_UNIT": unit,
        "PRIORITY": str(priority),
        "SYSLOG_IDENTIFIER": unit.split(".")[0],
        "MESSAGE": message,
    }
    return "".join("%s=%s\n" % kv for kv in fields.items()) + "\n"


class Journal(LogsCase):

    def setUp(self):
        super().setUp()
        if not JOURNAL_REMOTE:
            self.skipTest("systemd-journal-remote is not installed (Debian: systemd-journal-remote): no way to "
                          "write a journal file into the sandbox without journald")

    def write_journal(self, entries):
        d = self.path("var/log/journal")
        os.makedirs(d, exist_ok=True)
        out = os.path.join(d, "remote-test.journal")
        r = subprocess.run([JOURNAL_REMOTE, "--output=" + out, "-"], input="".join(entries).encode(),
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def test_units_and_priority_once_in_order(self):
        now = int(time.time() * 1e6)
        entries, want = [], []
        for i in range(200):
            unit = ("nginx.service", "other.service")[i % 2]
            prio = (3, 4, 6)[i % 3]
            msg = "entry %d of %s" % (i, unit)
            entries.append(export_entry(i + 1, unit, prio, msg, now - (200 - i) * 1000))
            if unit == "nginx.service" and prio <= 4:
                want.append(msg)
        self.write_journal(entries)
        self.config({"j": {"journal": {"units": ["nginx.service"], "priority": "warning"},
                           "log_group": GROUP, "log_stream": STREAM}})
        self.once_ok()
        self.assertEqual(self.messages(), want)
        self.once_ok()
        self.assertEqual(self.messages(), want, "sent again after the cursor was saved")
        st = self.status_of("j")
        self.assertEqual(st["lag_bytes"], 0, st)


if __name__ == "__main__":
    tap.main()
