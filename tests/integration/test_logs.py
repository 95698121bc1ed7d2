#!/usr/bin/env python3
"""The log shipper, `opsagent logs` (issue 19), against moto's CloudWatch Logs behind the
SigV4-checking, fault-injecting front: every line written arrives exactly once and in order
through rotations (opsagent's logrotate with reopen and copytruncate, logrotate 3.21 with create
and copytruncate) while the shipper is killed with -9 at random points (only the one batch in
flight may arrive twice); a CloudWatch outage mid-stream loses nothing within the buffer's
bound, and past it the oldest lines are dropped, counted and warned; multiline events,
timestamps, invalid UTF-8, every PutLogEvents limit, a 300 MB file, --status, configuration
errors, group and stream creation, the recipes' run log group, and no secret anywhere.

Knobs (environment): OPSAGENT_LOGS_TEST_SEED (replays the kill points), OPSAGENT_LOGS_TEST_KILLS
(kills per rotation mode, 5), OPSAGENT_LOGS_TEST_RATE (the writer's lines/s in the rotation trials,
20000; 0 = as fast as it can), OPSAGENT_LOGS_TEST_OUTAGE_SECONDS (60), OPSAGENT_LOGS_TEST_BIG_MB
(300)."""
import datetime
import glob
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

import harness
import tap
from logrotate_helper import LOGROTATE
from logs_common import (DAY_MS, GROUP, MAX_BYTES, MAX_EVENT, MAX_EVENTS, OVERHEAD, STATE, STREAM,
                         SECRET_ACCESS_KEY, LogsCase, env_int, files_summary, filter_matches, kill9, lines_in,
                         template_filters,
                         trial_seed, wait_for)

PLUGINS = os.environ.get("OPSAGENT_TEST_PLUGIN_DIR",
                         os.path.join(harness.BUILDDIR, "tests", "unit", "plugins", ".libs"))
TEMPLATE = os.path.join(harness.SRCDIR, "packaging", "cloudwatch-logs.yaml")
GENLOG = os.path.join(harness.SRCDIR, "tests", "bench", "logrotate", "genlog.py")
STATUS_KEYS = {"source", "path", "offset", "lag_bytes", "lag_seconds", "buffered_bytes", "dropped_events",
               "last_error"}


def pause(seconds):
    """A random kill or rotation point: not a wait for anything."""
    wait_for(lambda: False, timeout=seconds)


def stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class Limits:
    def assert_within_limits(self):
        sizes = self.aws.put_log_events_sizes()
        self.assertTrue(sizes, "no PutLogEvents accepted")
        for i, (n, b) in enumerate(sizes):
            self.assertLessEqual(n, MAX_EVENTS, "PutLogEvents %d: %d events" % (i, n))
            self.assertLessEqual(b, MAX_BYTES, "PutLogEvents %d: %d bytes" % (i, b))
        return sizes

    def assert_batches_chronological(self, group=GROUP, stream=STREAM):
        for i, batch in enumerate(self.batches(group, stream)):
            ts = [t for t, _ in batch]
            self.assertEqual(ts, sorted(ts), "batch %d is not in chronological order" % i)
            self.assertLessEqual(ts[-1] - ts[0], DAY_MS, "batch %d spans more than 24 h" % i)


# -- rotation and kill -9 --------------------------------------------------------------------------
class RotationKill9(LogsCase, Limits):
    """A writer appends numbered lines while the log is rotated and the shipper killed with -9
    at random points and started again. The seed is printed; OPSAGENT_LOGS_TEST_SEED replays it."""

    LOG = "/var/log/app/w.log"
    RATE = env_int("OPSAGENT_LOGS_TEST_RATE", 20000)
    KILLS = env_int("OPSAGENT_LOGS_TEST_KILLS", 5)

    def ours(self, method):
        s = {"paths": [self.LOG], "size": 1, "rotate": 1000, "compress": "none"}
        if method == "copytruncate":
            s["method"] = "copytruncate"
        else:
            s["reopen"] = {"pidfile": "/run/writer.pid", "signal": "SIGUSR2", "timeout": harness.DEADLINE}
        return {"logrotate": {"sets": {"w": s}}}

    def rotate_ours(self):
        r = subprocess.run([harness.OPSAGENT, "--root", self.root, "run", "--recipe", "logrotate", "--no-report"],
                           env=self.env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def rotate_theirs(self, method):
        log = self.path(self.LOG)
        if method == "create":
            body = "  create\n  postrotate\n    kill -USR2 $(cat %s)\n  endscript\n" % self.path("run/writer.pid")
        else:
            body = "  copytruncate\n"
        conf = os.path.join(self.tmp, "logrotate.conf")
        with open(conf, "w") as f:
            f.write("%s {\n  size 1\n  rotate 1000\n  nocompress\n%s}\n" % (log, body))
        state = os.path.join(self.tmp, "logrotate.state")

        def rotate():
            r = subprocess.run([LOGROTATE, "-s", state, conf], capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return rotate

    def trials(self, rotate, copytruncate, extra=None, label=""):
        rnd = random.Random(trial_seed("OPSAGENT_LOGS_TEST_SEED"))
        self.config({"w": self.source(self.LOG)}, extra=extra)
        log = self.path(self.LOG)
        self.start_writer(log, self.RATE or None)
        kills = rotations = 0
        self.events = []

        def arrived_so_far():
            return self.aws.log_event_count(GROUP, STREAM)
        for _ in range(self.KILLS):
            p = self.start_service()
            # a rotation before, during or after the shipper's life, at a random point
            when = rnd.choice(("while running", "while running", "while down"))
            pause(rnd.uniform(0.0, 1.0))
            if when == "while running":
                rotate()
                rotations += 1
                self.events.append("rotation (%d events in)" % arrived_so_far())
                pause(rnd.uniform(0.0, 1.0))
            kill9(p)
            kills += 1
            self.events.append("kill (%d events in)" % arrived_so_far())
            if when == "while down":
                rotate()
                rotations += 1
                self.events.append("rotation while down")
        # a last life that ends cleanly, with one more rotation while it runs (ready first: a
        # SIGTERM before the service has its handler ends it by the signal, which systemd also
        # takes as a clean stop, but which would say nothing here)
        p = self.start_service(ready=True)
        n = self.aws.log_event_count(GROUP, STREAM)
        self.assertTrue(harness.wait_until(lambda: self.aws.log_event_count(GROUP, STREAM) > n),
                        "the restarted shipper sent nothing\n" + self.output(p))
        rotate()
        rotations += 1
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 1000),
                        "the writer wrote nothing after the last rotation")
        written = self.stop_writer()
        self.stop_service(p)
        r = self.once_ok()        # whatever the service had not finished: rotated copies included
        files = sorted(glob.glob(log + "*"))
        on_disk = lines_in(files)
        if not copytruncate:
            self.assertEqual(sorted(on_disk), list(range(written)), "the rotation itself lost or doubled lines")
            expected, extra_ok = range(written), ()
        else:
            # copytruncate loses what is written between the copy and the truncation (and
            # logrotate's may keep a line twice): the shipper owes what is on disk, and may have
            # read a lost line before it was truncated away
            expected, extra_ok = set(on_disk), range(written)
        where = "\non disk: %s\nrotations and kills: %s" % (files_summary(files), ", ".join(self.events))
        arrived, repeats = self.assert_numbered(self.messages(), expected, kills, extra_ok, where)
        self.assert_within_limits()
        print("# %s: %d lines written, %d on disk in %d files, %d arrived, %d repeated, %d rotations, "
              "%d kills -9" % (label, written, len(set(on_disk)), len(files), arrived, repeats, rotations, kills))
        self.assertEqual(r.returncode, 0)

    def test_opsagent_logrotate_reopen(self):
        self.trials(self.rotate_ours, False, self.ours("reopen"), "opsagent logrotate, reopen")

    def test_opsagent_logrotate_copytruncate(self):
        self.trials(self.rotate_ours, True, self.ours("copytruncate"), "opsagent logrotate, copytruncate")

    def test_logrotate_create(self):
        if not os.path.exists(LOGROTATE):
            self.skipTest("logrotate is not installed (Debian: logrotate)")
        self.trials(self.rotate_theirs("create"), False, label="logrotate 3.21 create")

    def test_logrotate_copytruncate(self):
        """Known defect (tests/README.md, the log shipper's faults): with logrotate's copytruncate
        (a copy with a new inode, the log truncated in place) and kill -9 at random points, the
        shipper can send a copy again from its start after a restart (0 to 58,840 repeats in 5
        kills over 15 trials, 2 of them over the goal of one batch per kill). The loss it showed
        before (a copy's tail) is fixed: test_kill9_while_a_finished_copy_is_on_its_way. Skipped
        until fixed; OPSAGENT_LOGS_TEST_KNOWN_DEFECTS=1 runs it (it then asserts the goal:
        nothing lost, at most one batch per kill again)."""
        if not os.environ.get("OPSAGENT_LOGS_TEST_KNOWN_DEFECTS"):
            self.skipTest("known defect, not met (tests/README.md): logrotate's copytruncate with kill -9 can "
                          "send a copy again from its start; OPSAGENT_LOGS_TEST_KNOWN_DEFECTS=1 runs it")
        if not os.path.exists(LOGROTATE):
            self.skipTest("logrotate is not installed (Debian: logrotate)")
        self.trials(self.rotate_theirs("copytruncate"), True, label="logrotate 3.21 copytruncate")

    def test_kill9_while_a_finished_copy_is_on_its_way(self):
        """A copytruncate's copy read to its end and finished while the batch of its last lines
        is on its way, then kill -9: the checkpoint must not say the copy is done, or those
        lines are lost (they were, 200 to 6,420 lines in one of about ten kill -9 trials of
        opsagent's own copytruncate: the tail of a copy finished from the middle)."""
        log = self.path("/var/log/app/c.log")
        self.config({"c": self.source("/var/log/app/c.log")})
        os.makedirs(os.path.dirname(log), exist_ok=True)

        def append(a, b):
            with open(log, "a") as f:
                f.write("".join("%d\n" % i for i in range(a, b)))
        append(0, 100)
        self.once_ok()
        self.assertEqual(len(self.messages()), 100)
        # a copytruncate by hand: 100-149 only in the copy, 150-159 in the truncated log
        append(100, 150)
        with open(log, "rb") as src, open(log + ".1", "wb") as dst:
            dst.write(src.read())
        os.truncate(log, 0)
        append(150, 160)
        self.aws.set_faults(delay=600, delay_count=1, only=["PutLogEvents"])
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "logs", "--once"], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self.assertTrue(harness.wait_until(lambda: self.aws.held("PutLogEvents") >= 1),
                            "the batch with the copy's tail was never sent")
        finally:
            kill9(p)
        self.assertEqual(len(self.messages()), 100, "the held batch was accepted")
        self.aws.clear_faults()
        self.once_ok()
        self.assert_numbered(self.messages(), range(160), kills=1)

    def test_sigterm_then_restart_sends_nothing_twice(self):
        """Without a kill -9 there is no in-flight batch to repeat: a clean stop and restart
        sends every line exactly once."""
        self.config({"w": self.source(self.LOG)})
        log = self.path(self.LOG)
        self.start_writer(log, 20000)
        for _ in range(3):
            p = self.start_service(ready=True)
            n = self.aws.log_event_count(GROUP, STREAM)
            self.assertTrue(harness.wait_until(lambda: self.aws.log_event_count(GROUP, STREAM) > n),
                            self.output(p))
            self.stop_service(p)
        written = self.stop_writer()
        self.once_ok()
        self.assert_numbered(self.messages(), range(written), kills=0)


# -- outages ---------------------------------------------------------------------------------------
class Outage(LogsCase, Limits):

    def test_outage_mid_stream_loses_nothing_within_the_bound(self):
        seconds = env_int("OPSAGENT_LOGS_TEST_OUTAGE_SECONDS", 60)
        self.config({"w": self.source("/var/log/app/w.log")})
        self.start_writer(self.path("var/log/app/w.log"), 2000)
        p = self.start_service()
        self.assertTrue(harness.wait_until(lambda: self.aws.log_event_count(GROUP, STREAM) > 1000),
                        "nothing shipped before the outage\n" + self.output(p))
        self.aws.set_faults(throttle=-1, only=["PutLogEvents"])
        start = time.monotonic()
        self.assertTrue(harness.wait_until(
            lambda: "ThrottlingException" in str((self.status_of("w") or {}).get("last_error"))),
            "--status does not show the throttling: %s" % self.status())
        pause(seconds - (time.monotonic() - start))          # the outage lasts this long
        st = self.status_of("w")
        self.assertGreater(st["lag_bytes"], 0, st)
        self.assertGreater(st["lag_seconds"], 0, st)
        self.aws.clear_faults()
        written = self.stop_writer()
        self.assertTrue(harness.wait_until(
            lambda: self.aws.log_event_count(GROUP, STREAM) >= written, timeout=10 * harness.DEADLINE),
            "%d of %d lines arrived after the outage" % (len(set(self.messages())), written))
        self.stop_service(p)
        arrived, _ = self.assert_numbered(self.messages(), range(written), kills=0)
        self.assertEqual(self.status_of("w")["dropped_events"], 0)
        self.assert_within_limits()
        self.assert_batches_chronological()
        print("# outage of %d s: %d lines written, all arrived once, in order" % (seconds, written))

    def test_refused_connections_then_back(self):
        """Connections reset before CloudWatch acts: --once exits 1, nothing advanced; the next
        --once sends everything exactly once."""
        lines = ["%d" % i for i in range(5000)]
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source()})
        self.aws.set_faults(connection_reset=-1, only=["PutLogEvents"])
        r = self.once(timeout=600)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("PutLogEvents", r.stderr)
        st = self.status_of("app")
        self.assertGreater(st["lag_bytes"], 0, st)
        self.assertTrue(st["last_error"], st)
        self.aws.clear_faults()
        self.once_ok()
        self.assertEqual(self.messages(), lines)
        st = self.status_of("app")
        self.assertEqual((st["lag_bytes"], st["offset"]),
                         (0, os.path.getsize(self.path("var/log/app/app.log"))), st)

    def test_throttled_once_is_retried_by_the_shared_policy(self):
        lines = ["%d" % i for i in range(100)]
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        logs = self.aws.logs_client()          # no CreateLogGroup after a ResourceNotFound to count
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        self.config({"app": self.source()})
        self.aws.set_faults(throttle=1, only=["PutLogEvents"])
        self.once_ok()
        self.assertEqual(self.messages(), lines)
        # the one throttled call was sent again; nothing else was
        self.assertEqual(self.aws.calls().get("PutLogEvents"), self.aws.ok_calls().get("PutLogEvents") + 1)

    def test_data_already_accepted_and_invalid_sequence_token(self):
        """Older endpoints' answers: the batch already accepted is not sent again; a wrong
        sequence token is corrected from the answer and the batch sent."""
        for fault in ("data_already_accepted", "invalid_sequence_token"):
            with self.subTest(fault=fault):
                self.aws.reset()
                lines = ["%s %d" % (fault, i) for i in range(50)]
                self.write("var/log/app/app.log", "\n".join(lines) + "\n")
                for p in glob.glob(self.path(STATE + "/logs/*.json")):
                    os.unlink(p)
                self.config({"app": self.source()})
                self.aws.set_faults(**{fault: 1})
                self.once_ok()
                self.assertEqual(self.messages(), lines)

    def test_over_the_buffer_bound_the_oldest_are_dropped_counted_and_warned(self):
        n, bound = 50000, 1048576
        lines = ["%d %s" % (i, "x" * 90) for i in range(n)]           # about 5 MB
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source()}, buffer_max_bytes=bound)
        self.aws.set_faults(throttle=-1, only=["PutLogEvents"])
        p = self.start_service()
        self.assertTrue(harness.wait_until(
            lambda: ((self.status_of("app") or {}).get("dropped_events") or 0) > 0,
            timeout=3 * harness.DEADLINE), "nothing dropped over the bound: %s" % self.status())
        # whatever it had not read yet when CloudWatch comes back goes through as usual: in the
        # end, what arrived and what was dropped add up to what was written
        self.aws.clear_faults()
        self.assertTrue(harness.wait_until(
            lambda: len(self.messages()) + self.status_of("app")["dropped_events"] >= n, timeout=5 * harness.DEADLINE),
            "the buffer did not drain: %d arrived, %s" % (len(self.messages()), self.status()))
        self.stop_service(p)
        dropped = self.status_of("app")["dropped_events"]
        msgs = self.messages()
        got = [int(m.split()[0]) for m in msgs]
        self.assertEqual(got, sorted(set(got)), "repeated or out of order")
        self.assertEqual(len(got) + dropped, n, "dropped_events does not count what is missing")
        # the newest (well within the bound) are all there: the oldest went first
        self.assertEqual(got[-5000:], list(range(n - 5000, n)))
        missing = sorted(set(range(n)) - set(got))
        self.assertLess(missing[-1], n - 5000)
        out = self.output(p)
        warned = [int(n) for n in re.findall(r"warning: .*?(\d+) log events? .*dropped", out)]
        self.assertTrue(warned, "no warning about the dropped events:\n" + out[-3000:])
        self.assertEqual(sum(warned), dropped, "the warnings do not add up to what was dropped")
        # counted as a metric: in the report spool, or already sent to CloudWatch
        spool = b"".join(open(f, "rb").read() for f in glob.glob(self.path(STATE + "/spool/*")) if os.path.isfile(f))
        sent = [d for d in self.aws.metric_data() if d["MetricName"] == "LogEventsDropped"]
        self.assertTrue(b"LogEventsDropped" in spool or sent, "LogEventsDropped neither spooled nor sent")
        if sent:
            self.assertEqual(sum(float(d["Value"]) for d in sent), dropped)


# -- what an event is ------------------------------------------------------------------------------
class Events(LogsCase, Limits):

    def test_java_and_python_tracebacks_are_one_event_each(self):
        now = int(time.time()) - 600
        t = [stamp(now + i) for i in range(5)]
        java = ("%s ERROR [main] com.example.App - request failed\n"
                "java.lang.IllegalStateException: boom\n"
                "\tat com.example.Foo.bar(Foo.java:10)\n"
                "\tat com.example.App.main(App.java:5)\n"
                "Caused by: java.io.IOException: disk full\n"
                "\tat com.example.Disk.write(Disk.java:77)\n"
                "\t... 2 more" % t[1])
        python = ("%s ERROR Zope.SiteErrorLog http://web1/Plone/news\n"
                  "Traceback (most recent call last):\n"
                  "  File \"/srv/app/main.py\", line 3, in <module>\n"
                  "    main()\n"
                  "  File \"/srv/app/main.py\", line 2, in main\n"
                  "    raise ValueError(\"bad\")\n"
                  "ValueError: bad" % t[3])
        events = ["%s INFO start" % t[0], java, "%s INFO between" % t[2], python, "%s INFO end" % t[4]]
        self.write("var/log/app/app.log", "\n".join(events) + "\n")
        self.config({"app": self.source(multiline_start="^[0-9]{4}-[0-9]{2}-[0-9]{2} ",
                                        timestamp="%Y-%m-%d %H:%M:%S")})
        self.once_ok()
        got = self.aws.log_events(GROUP, STREAM)
        self.assertEqual([m for _, m, _ in got], events)
        self.assertEqual([ts for ts, _, _ in got], [(now + i) * 1000 for i in range(5)])

    def test_default_is_one_event_per_line(self):
        lines = ["a", " indented", "\tcontinued?", "b"]
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source()})
        self.once_ok()
        self.assertEqual(self.messages(), lines)

    def test_timestamps_parsed_read_time_otherwise_and_out_of_window_dropped(self):
        now = int(time.time())
        good = ["%s ok %d" % (stamp(now - 3600 + i), i) for i in range(3)]
        stale = "%s stale" % stamp(now - 15 * 86400)
        future = "%s future" % stamp(now + 3 * 3600)
        unstamped = "no stamp here"
        # the unstamped line last: an event's time never goes below the one before it (a stream's
        # events stay in the file's order), so an older stamp after it would be raised to its time
        self.write("var/log/app/app.log", "\n".join([good[0], stale, good[1], future, good[2], unstamped]) + "\n")
        self.config({"app": self.source(timestamp="%Y-%m-%d %H:%M:%S")})
        before = time.time()
        r = self.once_ok()
        after = time.time()
        got = self.aws.log_events(GROUP, STREAM)
        msgs = [m for _, m, _ in got]
        self.assertEqual(msgs, good + [unstamped])
        ts = dict((m, t) for t, m, _ in got)
        for i, m in enumerate(good):
            self.assertEqual(ts[m], (now - 3600 + i) * 1000)
        self.assertGreaterEqual(ts[unstamped], int(before * 1000) - 1000)
        self.assertLessEqual(ts[unstamped], int(after * 1000) + 1000)
        self.assertRegex(r.stdout + r.stderr, r"(?i)dropped", "no warning for the stale and future events")
        self.assert_batches_chronological()

    def test_invalid_utf8_becomes_replacement_characters_nothing_dropped(self):
        raw = [b"plain", b"bad \xff byte", b"\xfe\xfe two", b"cut \xe2\x82", b"overlong \xc0\xaf end",
               b"ok \xc3\xa9t\xc3\xa9", b"surrogate \xed\xa0\x80 x", b"\x80 leading continuation"]
        self.write("var/log/app/app.log", "")
        with open(self.path("var/log/app/app.log"), "wb") as f:
            f.write(b"\n".join(raw) + b"\n")
        self.config({"app": self.source()})
        self.once_ok()
        got = self.messages()
        self.assertEqual(len(got), len(raw), got)

        def norm(s):        # how many U+FFFD one bad sequence gives is the decoder's choice
            return re.sub("\ufffd+", "\ufffd", s)
        self.assertEqual([norm(m) for m in got], [norm(b.decode("utf-8", "replace")) for b in raw])
        self.assertEqual(got[5], "ok été")


# -- the API's limits ------------------------------------------------------------------------------
class ApiLimits(LogsCase, Limits):

    def test_10000_events_per_batch(self):
        lines = ["%d" % i for i in range(25000)]
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source()})
        self.once_ok()
        self.assertEqual(self.messages(), lines)
        sizes = self.assert_within_limits()
        self.assertEqual(max(n for n, _ in sizes), MAX_EVENTS, sizes)
        self.assertEqual(sum(n for n, _ in sizes), 25000)

    def test_1_mib_per_batch_counting_26_bytes_per_event(self):
        # events of 100,000 bytes: 10 fit (1,000,260 bytes), 11 do not; then small ones fill up
        lines = ["%06d %s" % (i, "y" * 99993) for i in range(35)] + ["%d small" % i for i in range(2000)]
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source()})
        self.once_ok()
        self.assertEqual(self.messages(), lines)
        sizes = self.assert_within_limits()
        self.assertTrue(any(b > MAX_BYTES - 100000 - OVERHEAD for _, b in sizes),
                        "no batch was filled up to the byte limit: %s" % sizes)

    def test_batches_span_at_most_24_hours(self):
        now = int(time.time())
        lines = ["%s n=%d" % (stamp(now - 72 * 3600 + i * 1200), i) for i in range(216)]   # 3 days, every 20 min
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source(timestamp="%Y-%m-%d %H:%M:%S")})
        self.once_ok()
        self.assertEqual(self.messages(), lines)
        self.assert_within_limits()
        self.assert_batches_chronological()
        self.assertGreaterEqual(len(self.batches()), 3)

    def test_event_over_256_kib_is_split_not_dropped(self):
        big = "start " + "é" * 300000 + " end"                   # 600,010 bytes of UTF-8
        lines = ["before", big, "after"]
        self.write("var/log/app/app.log", "\n".join(lines) + "\n")
        self.config({"app": self.source()})
        self.once_ok()
        got = self.messages()
        self.assertEqual(got[0], "before")
        self.assertEqual(got[-1], "after")
        pieces = got[1:-1]
        self.assertGreaterEqual(len(pieces), 3)
        for p in pieces:
            self.assertLessEqual(len(p.encode()), MAX_EVENT)
            self.assertNotIn("\ufffd", p, "split inside a UTF-8 sequence")
        self.assertEqual("".join(pieces), big)
        self.assert_within_limits()

    def test_300_mb_file_from_the_start(self):
        mb = env_int("OPSAGENT_LOGS_TEST_BIG_MB", 300)
        log = self.path("var/log/app/access.log")
        os.makedirs(os.path.dirname(log))
        with open(log, "wb") as f:
            subprocess.run([sys.executable, "-B", GENLOG, str(mb << 20)], stdout=f, check=True, timeout=900)
        want = hashlib.sha256()
        want_n = 0
        with open(log, "rb") as f:
            for line in f:
                want.update(line)
                want_n += 1
        got = {"n": 0, "sha": hashlib.sha256(), "streams": set(), "late": 0, "max_event": 0}
        lock = threading.Lock()

        def sink(group, stream, events, now):
            with lock:
                got["streams"].add((group, stream))
                for e in events:
                    m = e["message"].encode()
                    got["sha"].update(m + b"\n")
                    got["max_event"] = max(got["max_event"], len(m))
                got["n"] += len(events)
        self.aws.logs_sink = sink
        self.config({"access": self.source("/var/log/app/access.log")})
        self.once_ok(timeout=3600)
        self.assertEqual(got["streams"], {(GROUP, STREAM)})
        self.assertEqual(got["n"], want_n)
        self.assertEqual(got["sha"].hexdigest(), want.hexdigest(), "the messages differ from the lines, or their order")
        sizes = self.assert_within_limits()
        print("# %d MB: %d lines in %d PutLogEvents" % (mb, want_n, len(sizes)))
        st = self.status_of("access")
        self.assertEqual((st["offset"], st["lag_bytes"]), (os.path.getsize(log), 0))


# -- operating it ----------------------------------------------------------------------------------
class Operating(LogsCase):

    def test_status_fields(self):
        self.write("var/log/app/a.log", "one\ntwo\n")
        self.write("var/log/other/b.log", "three\n")
        self.config({"a": self.source("/var/log/app/a.log"),
                     "b": self.source("/var/log/other/b.log", log_stream="b")})
        self.once_ok()
        st = self.status()
        self.assertIsInstance(st, list)
        self.assertEqual(sorted(s["source"] for s in st), ["a", "b"])
        for s in st:
            self.assertLessEqual(STATUS_KEYS, set(s), s)
            # the configured path, or where it is under --root
            size = os.path.getsize(s["path"] if s["path"].startswith(self.root) else self.path(s["path"]))
            self.assertEqual((s["offset"], s["lag_bytes"], s["buffered_bytes"], s["dropped_events"]), (size, 0, 0, 0), s)
            self.assertFalse(s["last_error"], s)
            self.assertIsInstance(s["lag_seconds"], (int, float))
        self.assertTrue(any(s["path"].endswith("/var/log/app/a.log") for s in st), st)
        r = self.agent("logs", "--status")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("a", "b", "a.log", "b.log"):
            self.assertIn(word, r.stdout)
        self.assertEqual(self.messages(), ["one", "two"])
        self.assertEqual(self.messages(stream="b"), ["three"])

    def test_status_shows_the_lag_and_the_last_error(self):
        self.write("var/log/app/app.log", "one\ntwo\n")
        self.config({"app": self.source()})
        self.aws.set_faults(throttle=-1, only=["PutLogEvents"])
        r = self.once(timeout=600)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        s = self.status_of("app")
        self.assertEqual(s["lag_bytes"], 8, s)
        self.assertIn("ThrottlingException", s["last_error"])
        self.assertIn("PutLogEvents", s["last_error"])
        r = self.agent("logs", "--status")
        self.assertIn("ThrottlingException", r.stdout)

    def test_configuration_errors_exit_2_naming_file_and_key(self):
        cases = [
            ({"app": {"path": "/var/log/a.log"}}, {}, "cloudwatch_logs.sources.app.log_group"),
            ({"app": {"path": "/var/log/a.log", "journal": {"units": ["x.service"]}, "log_group": "/g"}}, {},
             "cloudwatch_logs.sources.app"),
            ({"app": {"log_group": "/g"}}, {}, "cloudwatch_logs.sources.app"),
            ({"app": {"path": "/var/log/a.log", "log_group": "/g"}}, {"flush_seconds": 0},
             "cloudwatch_logs.flush_seconds"),
            ({"app": {"path": "/var/log/a.log", "log_group": "/g", "multiline_start": "(unclosed"}}, {},
             "cloudwatch_logs.sources.app.multiline_start"),
            ({"app": {"path": "/var/log/a.log", "log_group": "/g", "encoding": "latin-1"}}, {},
             "cloudwatch_logs.sources.app.encoding"),
            ({"app": {"path": "/var/log/a.log", "log_group": "/g", "retention_days": "30"}}, {},
             "cloudwatch_logs.sources.app.retention_days"),
            ({"app": {"path": "/var/log/a.log", "log_group": "/g", "log_groop": "/g"}}, {},
             "cloudwatch_logs.sources.app.log_groop"),
        ]
        for sources, top, key in cases:
            with self.subTest(key=key, sources=sources):
                cw = {"sources": sources}
                cw.update(top)
                p = self.write_json("etc/opsagent/stack.json", {"cloudwatch_logs": cw})
                for args in (("logs", "--once"), ("logs",)):
                    r = self.agent(*args, timeout=120)
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertIn(p, r.stderr)
                    self.assertIn(key, r.stderr)
        self.assertEqual(self.aws.calls().get("PutLogEvents"), None)

    def test_group_and_stream_created_with_retention(self):
        self.write("var/log/app/app.log", "hello\n")
        self.config({"app": self.source(retention_days=30)})
        self.once_ok()
        logs = self.aws.logs_client()
        g = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
        self.assertEqual([(x["logGroupName"], x.get("retentionInDays")) for x in g], [(GROUP, 30)])
        s = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
        self.assertEqual([x["logStreamName"] for x in s], [STREAM])
        self.assertEqual(self.messages(), ["hello"])
        calls = self.aws.ok_calls()
        self.assertEqual((calls.get("CreateLogGroup"), calls.get("CreateLogStream"), calls.get("PutRetentionPolicy")),
                         (1, 1, 1), calls)

    def test_existing_group_is_not_recreated_nor_its_retention_changed(self):
        logs = self.aws.logs_client()
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        self.write("var/log/app/app.log", "hello\n")
        self.config({"app": self.source(retention_days=30)})
        self.once_ok()
        g = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
        self.assertIsNone(g[0].get("retentionInDays"))
        calls = self.aws.ok_calls()
        self.assertFalse(calls.get("CreateLogGroup") or calls.get("PutRetentionPolicy"), calls)
        self.assertEqual(self.messages(), ["hello"])

    def test_stream_names(self):
        self.write("var/log/app/a.log", "A\n")
        self.write("var/log/app/b.log", "B\n")
        self.write("var/log/db/x.log", "X\n")
        self.config({"files": {"path": "/var/log/app/*.log", "log_group": GROUP, "log_stream": "{file}"},
                     "db": {"path": "/var/log/db/x.log", "log_group": GROUP}})
        self.once_ok()
        self.assertEqual(self.messages(stream="a.log"), ["A"])
        self.assertEqual(self.messages(stream="b.log"), ["B"])
        self.assertEqual(self.messages(stream=self.aws.instance_id), ["X"], self.aws.log_streams())

    def test_new_file_matching_the_glob_is_picked_up_by_the_service(self):
        self.write("var/log/app/a.log", "A\n")
        self.config({"files": {"path": "/var/log/app/*.log", "log_group": GROUP, "log_stream": "{file}"}})
        p = self.start_service()
        self.assertTrue(harness.wait_until(lambda: self.messages(stream="a.log") == ["A"]), self.output(p))
        self.write("var/log/app/c.log", "C1\nC2\n")
        self.assertTrue(harness.wait_until(lambda: self.messages(stream="c.log") == ["C1", "C2"]), self.output(p))
        with open(self.path("var/log/app/a.log"), "a") as f:
            f.write("A2\n")
        self.assertTrue(harness.wait_until(lambda: self.messages(stream="a.log") == ["A", "A2"]), self.output(p))
        self.stop_service(p)

    def test_sd_notify_ready_watchdog_and_stopping(self):
        """Type=notify: READY=1 once the sources are open, WATCHDOG=1 at half of WATCHDOG_USEC,
        STOPPING=1 on SIGTERM, then exit 0."""
        import socket
        self.write("var/log/app/app.log", "one\n")
        self.config({"app": self.source()})
        path = os.path.join(self.tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.setblocking(False)
        self.addCleanup(sock.close)
        got = []

        def seen(word):
            while True:
                try:
                    got.extend(sock.recv(4096).decode().split("\n"))
                except BlockingIOError:
                    break
            return word in got
        self.env["NOTIFY_SOCKET"] = path
        self.env["WATCHDOG_USEC"] = "1000000"
        p = self.start_service()
        self.assertTrue(harness.wait_until(lambda: seen("READY=1")), "no READY=1: %s\n%s" % (got, self.output(p)))
        self.assertTrue(harness.wait_until(lambda: seen("WATCHDOG=1") and got.count("WATCHDOG=1") >= 2),
                        "no WATCHDOG=1 pings: %s" % got)
        self.assertTrue(harness.wait_until(lambda: self.messages() == ["one"]), self.output(p))
        self.stop_service(p)
        self.assertTrue(seen("STOPPING=1"), got)
        self.assertEqual(self.messages(), ["one"])

    def test_run_log_group_ships_one_line_per_run(self):
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGINS
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"logs": {"run_log_group": "/opsagent/runs"}}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ok_id = re.search(r"good: running \(run ([0-9a-f]{8})\)", r.stdout).group(1)
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"logs": {"run_log_group": "/opsagent/runs"}},
                                                    "good": {"fail": True}})
        r = self.agent("run", "--recipe", "good")
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        bad_id = re.search(r"good: running \(run ([0-9a-f]{8})\)", r.stdout).group(1)
        self.once_ok()
        streams = [s for g, s in self.aws.log_streams() if g == "/opsagent/runs"]
        self.assertEqual(streams, [self.aws.instance_id], self.aws.log_streams())
        msgs = self.messages("/opsagent/runs", self.aws.instance_id)
        # one JSON object per run end (LOGS-SPEC.md), the fields packaging/cloudwatch-logs.yaml's
        # metric filter reads: {"RECIPE", "RUN_ID", "outcome", ...}
        ends = {}
        for m in msgs:
            o = json.loads(m)
            if "outcome" in o:
                # RUN_ID is the whole id (as in the journal); `run` prints its first 8 digits
                short = o["RUN_ID"][:8]
                self.assertRegex(o["RUN_ID"], r"^[0-9a-f]{8,}$")
                self.assertNotIn(short, ends, "two end lines for one run: %s" % msgs)
                ends[short] = (o["RECIPE"], o["outcome"])
        self.assertEqual(ends, {ok_id: ("good", "success"), bad_id: ("good", "failed")}, msgs)
        # the template's metric filter counts the failed run, not the one that succeeded
        try:
            pattern = template_filters(TEMPLATE)["RecipeRunsFailedFilter"]
        except ImportError:
            pattern = None
        if pattern:
            self.assertEqual([json.loads(m)["RUN_ID"][:8] for m in msgs if filter_matches(pattern, m)], [bad_id])
        before = len(msgs)
        self.once_ok()                      # nothing twice
        self.assertEqual(len(self.messages("/opsagent/runs", self.aws.instance_id)), before)

    def test_no_secret_in_output_or_state(self):
        self.write("var/log/app/app.log", "line\n")
        self.config({"app": self.source()})
        texts = []
        r = self.agent("-v", "logs", "--once")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        texts.append(r.stdout + r.stderr)
        # the instance role's credentials from IMDS: the secret and the session token
        self.env = harness.clean_env(TZ="UTC")
        self.env.update(self.aws.env(keys=False))
        role = self.aws.role_credentials()
        with open(self.path("var/log/app/app.log"), "a") as f:
            f.write("line 2\n")
        p = self.start_service()
        self.assertTrue(harness.wait_until(lambda: self.messages() == ["line", "line 2"]), self.output(p))
        self.aws.set_faults(throttle=-1, only=["PutLogEvents"])
        with open(self.path("var/log/app/app.log"), "a") as f:
            f.write("line 3\n")
        self.assertTrue(harness.wait_until(lambda: (self.status_of("app") or {}).get("last_error")))
        self.aws.clear_faults()
        self.stop_service(p)
        texts.append(self.output(p))
        for args in (("logs", "--status"), ("logs", "--status", "--json"), ("-v", "logs", "--once")):
            r = self.agent(*args)
            texts.append(r.stdout + r.stderr)
        self.secrets_absent(texts, [SECRET_ACCESS_KEY, role["SecretAccessKey"], role["Token"]])
        cp = self.path(STATE + "/logs/checkpoints.json")
        self.assertTrue(os.path.exists(cp))
        self.assertEqual(os.stat(cp).st_mode & 0o077, 0, "checkpoints.json is readable by others")


if __name__ == "__main__":
    # These two run from their own files (test_logs_rotation.py, test_logs_outage.py): the
    # longest of the suite, so that make -j runs them beside the rest.
    del RotationKill9, Outage
    tap.main()
