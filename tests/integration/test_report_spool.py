"""Outages: metrics that cannot be sent are spooled with their original timestamps and arrive
exactly once when CloudWatch answers again; the spool's bound and MetricsDropped; a torn
spool record; the fault matrix's reporting column (tests/README.md)."""
import collections
import os
import random
import socket
import subprocess

import harness
import tap
from logrotate_helper import kill9
from report_common import SPOOL, STATE, ReportCase


class Outage(ReportCase):
    def outage_runs(self, n, env=None, **faults):
        """N runs while CloudWatch fails; they succeed (exit 0) and their metrics are spooled."""
        for i in range(n):
            if faults:
                self.aws.set_faults(**faults)
            r = self.run_probe(env=env)
            self.assertIn("spool", r.stderr + r.stdout)
        self.aws.clear_faults()
        self.assertTrue(self.spool_exists())

    def meant_all(self):
        meant = []
        for rec in self.records():
            meant += self.meant_for_run(rec)
        return meant

    def recovered(self):
        """What arrived after recovery, without the heartbeat that carried it."""
        return [d for d in self.received() if d[0] not in ("Heartbeat", "mem_used_percent", "swap_used_percent",
                                                             "disk_used_percent", "system_load1", "system_load5",
                                                             "system_load15", "SecondsSinceLastSuccess")]

    def test_503_outage_spools_and_everything_arrives_once(self):
        self.set_stack(report_probe={"metrics": 2})
        self.outage_runs(3, http_503=1000)
        self.assertEqual(self.aws.metric_data(), [])
        # Every attempt was answered 503, after a retry each.
        self.assertGreaterEqual(self.aws.calls().get("PutMetricData", 0), 6)
        self.report()
        self.assertSameDatums(self.recovered(), self.meant_all())
        self.assertFalse(self.spool_exists())
        # And nothing again on the next send.
        self.aws.reset_calls()
        self.report()
        self.assertEqual(self.recovered(), [])

    def test_connection_refused_spools_and_everything_arrives_once(self):
        self.outage_runs(2, env=self.refused_env())
        self.assertEqual(self.aws.calls().get("PutMetricData", 0), 0)
        # The next run sends the spool first (oldest first), then its own metrics.
        self.run_probe()
        got = self.recovered()
        self.assertSameDatums(got, self.meant_all())
        ends = [d[4] for d in got if d[0] == "RecipeSucceeded"]
        self.assertEqual(ends, sorted(ends))
        self.assertEqual(len(ends), 3)

    def test_throttling_spools(self):
        self.outage_runs(1, throttle=1000)
        self.report()
        self.assertSameDatums(self.recovered(), self.meant_all())

    def test_heartbeat_during_outage_spooled_too(self):
        r = self.report(env=self.refused_env())
        self.assertIn("spool", r.stderr + r.stdout)
        self.report()
        hb = [d for d in self.received() if d[0] == "Heartbeat"]
        self.assertEqual(len(hb), 2)
        self.assertLess(hb[0][4], hb[1][4] + 1)

    def test_bound_drops_oldest_and_reports_metrics_dropped(self):
        # 4 KiB of spool holds a few runs of 7 datums, not 7 runs.
        self.set_stack(cloudwatch={"spool_max_bytes": 4096}, report_probe={"metrics": 5}, aws={"max_attempts": 1})
        self.outage_runs(7, env=self.refused_env())
        self.assertLessEqual(os.path.getsize(self.path(SPOOL)), 2 * 4096)
        self.report()
        got = self.recovered()
        dropped = [d for d in got if d[0] == "MetricsDropped"]
        self.assertEqual(len(dropped), 1, got)
        self.assertEqual(dropped[0][2], "Count")
        self.assertEqual(dropped[0][3], {"InstanceId": self.instance_id()})
        arrived = [d for d in got if d[0] != "MetricsDropped"]
        meant = self.meant_all()
        self.assertEqual(len(meant), 7 * 7)
        self.assertGreater(dropped[0][1], 0)
        self.assertEqual(len(arrived) + dropped[0][1], len(meant))
        # What arrived is the newest part of what was meant, each once.
        keys = [(d[0], d[4]) for d in arrived]
        self.assertEqual(len(keys), len(set(keys)))
        newest = sorted(meant, key=lambda d: d[4])[-len(arrived):]
        self.assertSameDatums(arrived, newest)
        # The count is reported once.
        self.aws.reset_calls()
        self.report()
        self.assertNotIn("MetricsDropped", [d[0] for d in self.received()])

    def test_torn_last_record_skipped_rest_arrives(self):
        self.outage_runs(2, env=self.refused_env())
        size = os.path.getsize(self.path(SPOOL))
        with open(self.path(SPOOL), "r+b") as f:
            f.truncate(size - 10)       # the second run's record, cut by a power loss
        r = self.report()
        self.assertIn("torn", r.stderr)
        first = self.records()[0]
        self.assertSameDatums(self.recovered(), self.meant_for_run(first))
        self.assertFalse(self.spool_exists())


class FaultMatrix(ReportCase):
    """Issue 15's fault matrix for reporting: each fault ends in the metrics sent, or spooled and
    sent later, or one clear error; never in a datum lost without saying so."""
    RUN_DATUMS = ("RecipeSucceeded", "RecipeDuration", "Probe0000", "Probe0001")

    def run_datums(self):
        return [d for d in self.received() if d[0] in self.RUN_DATUMS]

    def key(self, d):
        return (d[0], repr(sorted(d[3].items())), d[4], d[1])

    def test_timeouts_spool_and_everything_arrives_once(self):
        """Every attempt held past the client's timeout, before CloudWatch saw it: spooled, then
        each datum arrives once."""
        self.set_stack(report_probe={"metrics": 2}, aws={"timeout_seconds": 2})
        self.aws.set_faults(delay=120, delay_count=100, only=["PutMetricData"])
        r = self.run_probe()
        self.aws.clear_faults()               # the held requests are dropped, never carried out
        self.assertIn("RequestTimeout", r.stderr)
        self.assertIn("kept in the spool", r.stdout + r.stderr)
        self.assertEqual(self.aws.calls()["PutMetricData"], 2)
        self.assertEqual(self.aws.metric_data(), [])
        self.report()
        self.assertSameDatums(self.run_datums(), self.meant_for_run(self.records()[0]))
        self.assertFalse(self.spool_exists())

    def test_answer_lost_after_cloudwatch_stored_it_arrives_twice_never_lost(self):
        """PutMetricData has no client token and nothing to look for afterwards: when its
        answer is lost after CloudWatch stored the datums (a 500, a reset, a timeout, an
        unreadable answer), the batch is sent again (retried, or spooled and sent by the next
        report). Every datum arrives; the batch whose answer was lost arrives twice, identical
        (same timestamps and values), and nothing else is repeated."""
        for faults in ({"http_500_after": 1}, {"connection_reset_after": 1},
                       {"delay_after": 120, "delay_after_count": 1}, {"malformed_xml": 1}, {"truncated_xml": 1}):
            self.aws.reset_calls()
            for p in self.records_paths():
                os.unlink(p)
            self.set_stack(report_probe={"metrics": 2}, aws={"timeout_seconds": 2})
            self.aws.set_faults(only=["PutMetricData"], **faults)
            r = self.run_probe()
            self.aws.clear_faults()
            self.report()
            meant = self.meant_for_run(self.records()[0])
            got = self.run_datums()
            once = list({self.key(d): d for d in got}.values())
            self.assertSameDatums(once, meant)                            # nothing lost
            twice = collections.Counter(self.key(d) for d in got)
            self.assertEqual(sorted(twice.values()), [2] * len(meant), "%s\n%s" % (faults, r.stderr))
            self.assertFalse(self.spool_exists(), faults)

    def test_kill9_at_random_points_of_a_flush_sends_nothing_twice(self):
        """Three runs spooled (1,206 datums: two requests once merged, then the heartbeat's),
        and `opsagent report` killed with -9 while one of its requests is on its way, before
        CloudWatch got it; the next report sends every datum exactly once. The point is a
        request the stand-in holds (before it is carried out) until the kill. The seed is
        printed; OPSAGENT_TEST_SEED replays it."""
        seed = int(os.environ.get("OPSAGENT_TEST_SEED") or random.randrange(1 << 32))
        print("# %s: seed %d (OPSAGENT_TEST_SEED=%d replays it)" % (self.id(), seed, seed), flush=True)
        rng = random.Random(seed)
        self.set_stack(report_probe={"metrics": 400})
        for trial in range(int(os.environ.get("OPSAGENT_KILL_TRIALS", "4"))):
            for p in self.records_paths():
                os.unlink(p)
            for _ in range(3):
                self.run_probe(env=self.refused_env())
            self.aws.reset_calls()
            point = rng.randrange(3)
            what = "trial %d of seed %d: kill -9 before request %d of the flush" % (trial, seed, point + 1)
            self.aws.set_faults(delay=120, delay_count=1, delay_skip=point, only=["PutMetricData"])
            p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "report"], env=self.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
            self.assertTrue(harness.wait_until(lambda: self.aws.held("PutMetricData") or p.poll() is not None),
                            what + ": never reached")
            self.assertIsNone(p.poll(), what + ": the report ended first")
            kill9(p)
            self.aws.clear_faults()             # the held request is dropped, never carried out
            self.report()
            self.assertSameDatums(self.recovered(), self.meant_all())
            self.assertEqual(len(self.recovered()), 3 * 402, what)
            self.assertFalse(self.spool_exists(), what)

    def recovered(self):
        return [d for d in self.received() if d[0] in ("RecipeSucceeded", "RecipeDuration") or
                d[0].startswith("Probe")]

    def meant_all(self):
        meant = []
        for rec in self.records():
            meant += self.meant_for_run(rec)
        return meant

    def records_paths(self):
        d = self.path(STATE + "/runs")
        return [os.path.join(d, n) for n in os.listdir(d)] if os.path.isdir(d) else []

    def test_imds_token_refused_still_reports_and_says_why(self):
        """On EC2 with the session token refused, the heartbeat and the run's metrics still go
        out (under the host name, as off EC2), with a warning naming aws.imds.allow_v1: they
        used to go out under the host name without a word."""
        self.aws.set_faults(imds_token_refused=-1)
        for args in (("report",), ("run", "--recipe", "report_probe")):
            self.aws.reset_calls()
            r = self.agent(*args)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            warnings = [line for line in r.stderr.splitlines() if "instance facts unavailable" in line]
            self.assertEqual(len(warnings), 1, r.stderr)
            self.assertIn("refused a session token", warnings[0])
            self.assertIn("aws.imds.allow_v1", warnings[0])
            got = self.received()
            self.assertTrue(got, args)
            self.assertEqual({d[3]["InstanceId"] for d in got}, {socket.gethostname()}, args)
            self.assertEqual(self.aws.calls()["PutMetricData"], 1, args)
        self.assertFalse(self.spool_exists())

    def test_credentials_expiring_are_refreshed_and_sent_once(self):
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            self.env.pop(k)                   # the instance role's, from IMDS
        self.set_stack(report_probe={"metrics": 2})
        self.aws.set_faults(credentials_expired=1, only=["PutMetricData"])
        self.run_probe()
        self.assertEqual(self.aws.calls()["IMDS:credentials"], 2)           # fetched again
        self.assertEqual(self.aws.calls()["PutMetricData"], 2)              # refused once, then sent
        self.assertSameDatums(self.run_datums(), self.meant_for_run(self.records()[0]))
        self.assertFalse(self.spool_exists())

    def test_read_only_spool_directory(self):
        """A spool on a read-only filesystem: the heartbeat goes out directly, with one warning
        naming the spool; CloudWatch unreachable too: one error saying the metrics are lost."""
        d = self.path(STATE + "/spool")
        os.makedirs(d, mode=0o700)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k,mode=0700", "tmpfs", d],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a read-only tmpfs here (needs root)")
        self.addCleanup(subprocess.run, ["umount", d], capture_output=True)
        r = self.report()
        warnings = [line for line in r.stderr.splitlines() if "warning:" in line]
        self.assertEqual(len(warnings), 1, r.stderr)
        self.assertIn(d, warnings[0])
        self.assertIn("Read-only file system", warnings[0])
        self.assertIn("sending without the spool", warnings[0])
        self.assertEqual([x[0] for x in self.received()].count("Heartbeat"), 1)
        self.aws.reset_calls()
        r = self.report(expect=1, env=self.refused_env())
        errors = [line for line in r.stderr.splitlines() if "error:" in line]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn("the spool in %s cannot be used" % d, errors[0])
        self.assertIn("metrics lost", errors[0])
        self.assertEqual(os.listdir(d), [])


if __name__ == "__main__":
    tap.main()
