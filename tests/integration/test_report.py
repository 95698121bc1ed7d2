"""What opsagent sends to CloudWatch after a run and with `opsagent report`, checked against
what the AWS stand-in received (SigV4-checked, gzip bodies decompressed and validated with
botocore's model)."""
import os
import socket

import harness
import tap
from report_common import (LOADAVG, MEM_USED_PERCENT, SWAP_USED_PERCENT, ReportCase)


class RunMetrics(ReportCase):
    def test_run_sends_what_was_meant(self):
        self.set_stack(report_probe={"metrics": 3})
        self.run_probe()
        recs = self.records()
        self.assertEqual(len(recs), 1)
        self.assertEqual(len(recs[0]["metrics"]), 3)
        self.assertSameDatums(self.received(), self.meant_for_run(recs[0]))
        self.assertFalse(self.spool_exists())

    def test_failed_run_reports_zero(self):
        self.set_stack(report_probe={"metrics": 0, "fail": True})
        self.run_probe(expect=1)
        got = {d[0]: d for d in self.received()}
        self.assertEqual(got["RecipeSucceeded"][1], 0.0)
        self.assertSameDatums(self.received(), self.meant_for_run(self.records()[0]))

    def test_stack_name_dimension_on_every_metric(self):
        self.set_stack(opsagent={"stack_name": "plone-prod"}, report_probe={"metrics": 2})
        self.run_probe()
        got = self.received()
        self.assertEqual(len(got), 4)
        for d in got:
            self.assertEqual(d[3].get("StackName"), "plone-prod", d)
        self.assertSameDatums(got, self.meant_for_run(self.records()[0], stack_name="plone-prod"))

    def test_namespace_attribute(self):
        self.set_stack(cloudwatch={"namespace": "Plone/Ops"})
        self.run_probe()
        self.assertEqual(len(self.received("Plone/Ops")), 3)

    def test_no_report_skips_one_run(self):
        self.run_probe("--no-report")
        self.assertEqual(self.aws.calls().get("PutMetricData", 0), 0)
        self.run_probe()
        self.assertEqual(len(self.received()), 3)

    def test_disabled_sends_nothing(self):
        self.set_stack(cloudwatch={"enabled": False})
        self.run_probe()
        self.report()
        self.assertEqual(self.aws.calls().get("PutMetricData", 0), 0)
        self.assertFalse(self.spool_exists())

    def test_batching_above_1000_metrics(self):
        # moto needs many seconds for a request of 1000 datums on a busy machine: a generous
        # timeout keeps a slow answer from being retried.
        self.set_stack(report_probe={"metrics": 1001}, aws={"timeout_seconds": 300})
        self.run_probe()
        got = self.received()
        self.assertEqual(len(got), 1003)
        self.assertSameDatums(got, self.meant_for_run(self.records()[0]))
        # Two requests (1000 + 3), each accepted.
        self.assertEqual(self.aws.calls().get("PutMetricData"), 2)
        self.assertEqual(self.aws.ok_calls().get("PutMetricData"), 2)

    def test_gzip_bodies_accepted(self):
        self.set_stack(report_probe={"metrics": 5})
        self.run_probe()
        data = self.aws.metric_data()
        self.assertEqual(len(data), 7)
        self.assertTrue(all(d["Gzip"] for d in data), data)
        self.assertEqual(self.aws.calls().get("PutMetricData"), self.aws.ok_calls().get("PutMetricData"))


class Heartbeat(ReportCase):
    def heartbeat(self):
        got = self.received()
        hb = [d for d in got if d[0] == "Heartbeat"]
        self.assertEqual(len(hb), 1, got)
        return got, hb[0][4]

    @staticmethod
    def used_percent(path):
        st = os.statvfs(path)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        return 100.0 * used / (used + st.f_bavail * st.f_frsize)

    def test_report_sends_heartbeat_and_host_metrics(self):
        # The sandbox's filesystem is shared (other builds write to it): what the agent measured
        # lies between what it was just before and just after, not at one later moment.
        before = self.used_percent(self.root)
        self.report()
        after = self.used_percent(self.root)
        got, ts = self.heartbeat()
        iid = {"InstanceId": self.instance_id()}
        by = {(d[0], d[3].get("path")): d for d in got}
        self.assertEqual(by[("Heartbeat", None)][1:4], (1.0, "Count", iid))
        disk = by[("disk_used_percent", "/")]
        self.assertEqual(disk[2], "Percent")
        self.assertEqual(disk[3], dict(iid, path="/", fstype="ext4"))
        self.assertGreaterEqual(disk[1], min(before, after) - 0.1)
        self.assertLessEqual(disk[1], max(before, after) + 0.1)
        self.assertAlmostEqual(by[("mem_used_percent", None)][1], MEM_USED_PERCENT, places=6)
        self.assertAlmostEqual(by[("swap_used_percent", None)][1], SWAP_USED_PERCENT, places=6)
        loads = [float(x) for x in LOADAVG.split()[:3]]
        for name, v in zip(("system_load1", "system_load5", "system_load15"), loads):
            self.assertEqual(by[(name, None)][1:4], (v, "None", iid))
        # Pseudo filesystems are not reported; every datum has the heartbeat's time.
        self.assertEqual([d[3]["path"] for d in got if d[0] == "disk_used_percent"], ["/"])
        self.assertTrue(all(d[4] == ts for d in got))
        # The recipe never ran: no SecondsSinceLastSuccess yet; and nothing else was sent.
        self.assertEqual(sorted(d[0] for d in got),
                         sorted(["Heartbeat", "disk_used_percent", "mem_used_percent", "swap_used_percent",
                                 "system_load1", "system_load5", "system_load15"]))

    def test_seconds_since_last_success(self):
        self.run_probe()
        rec = self.records()[0]
        self.aws.reset_calls()
        self.report()
        got, ts = self.heartbeat()
        ages = [d for d in got if d[0] == "SecondsSinceLastSuccess"]
        self.assertEqual(len(ages), 1)
        self.assertEqual(ages[0][2], "Seconds")
        self.assertEqual(ages[0][3], {"InstanceId": self.instance_id(), "Recipe": "report_probe"})
        self.assertEqual(ages[0][1], float((ts * 1000 - rec["end_usec"]) // 1000000))

    def test_failed_runs_do_not_reset_the_age(self):
        self.run_probe()
        first = self.records()[0]
        self.set_stack(report_probe={"fail": True})
        self.run_probe(expect=1)
        self.aws.reset_calls()
        self.report()
        got, ts = self.heartbeat()
        age = [d for d in got if d[0] == "SecondsSinceLastSuccess"][0]
        self.assertEqual(age[1], float((ts * 1000 - first["end_usec"]) // 1000000))

    def test_bad_recipe_attribute_does_not_silence_the_heartbeat(self):
        self.set_stack(report_probe={"metrics": "many"})
        self.run_probe(expect=2)
        self.report()
        self.heartbeat()

    def test_bad_cloudwatch_attribute_is_a_config_error(self):
        self.set_stack(cloudwatch={"spool_max_bytes": "big"})
        r = self.report(expect=2)
        self.assertIn("spool_max_bytes", r.stderr)
        self.assertEqual(self.aws.calls().get("PutMetricData", 0), 0)

    def test_disabled_recipe_has_no_age(self):
        self.run_probe()
        self.set_stack(opsagent={"recipes": {"report_probe": False}})
        self.aws.reset_calls()
        self.report()
        got, _ = self.heartbeat()
        self.assertNotIn("SecondsSinceLastSuccess", [d[0] for d in got])


class SilentMetadata(harness.AgentTestCase):
    """Issue 22, item 5: off EC2, where the metadata address accepts connections and never
    answers, a command waits for it once, not once per lookup (the instance facts, then the
    credentials for CloudWatch). Each wait is a connection the silent listener was made: they
    are counted once the command is done, so nothing here depends on how long a wait took."""

    def setUp(self):
        super().setUp()
        self.silent = socket.socket()
        self.silent.bind(("127.0.0.1", 0))
        self.silent.listen(64)
        self.silent.setblocking(False)
        self.addCleanup(self.silent.close)
        self.env.pop("AWS_EC2_METADATA_DISABLED", None)
        self.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:%d" % self.silent.getsockname()[1]
        self.env["AWS_METADATA_SERVICE_TIMEOUT"] = "1"      # what is counted is the waits, not their length
        self.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"      # CloudWatch: nothing there either
        self.env["AWS_REGION"] = "eu-west-1"
        self.write_json("etc/opsagent/stack.json", {})

    def waits(self):
        """Connections made to the silent listener so far."""
        n = 0
        while True:
            try:
                c, _ = self.silent.accept()
            except BlockingIOError:
                return n
            c.close()
            n += 1

    def test_report_waits_once(self):
        r = self.agent("report")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kept in the spool", r.stdout)
        self.assertEqual(self.waits(), 1, r.stderr)

    def test_report_without_a_region_waits_once(self):
        del self.env["AWS_REGION"]
        r = self.agent("report")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.waits(), 1, r.stderr)

    def test_report_with_user_data_lookup_waits_once(self):
        os.unlink(self.path("etc/opsagent/stack.json"))   # no stack.json: user-data is looked for too
        r = self.agent("report")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.waits(), 1, r.stderr)

    def test_a_recipe_that_needs_the_instance_waits_once(self):
        r = self.agent("run", "--recipe", "ebs_snapshots")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("AWS_EC2_METADATA_DISABLED", r.stderr)
        self.assertEqual(self.waits(), 1, r.stderr)

    def test_status_never_asks(self):
        r = self.agent("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.waits(), 0)


if __name__ == "__main__":
    tap.main()
