#!/usr/bin/env python3
"""Every fault switch of the AWS stand-in against the agent's AWS modules: each ends in
success after retries or in one clear error, never a hang."""
import json

import tap
from aws_common import StandinCase, run_tool


class AwsFaultsTest(StandinCase):
    def test_throttling_retried_then_success(self):
        self.aws.set_faults(throttle=2)
        self.ok("describe-volumes", self.aws.volume_ids[0])
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 3)

    def test_throttling_past_attempts_is_one_clear_error(self):
        self.aws.set_faults(throttle=10)
        err = self.failed("describe-volumes")
        self.assertIn("DescribeVolumes: RequestLimitExceeded", err)
        self.assertIn("Resource temporarily unavailable", err)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 3)

    def test_max_attempts_attribute(self):
        self.aws.set_faults(throttle=10)
        self.failed("--attrs", '{"aws":{"max_attempts":2}}', "describe-volumes")
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_cloudwatch_throttling_retried(self):
        self.aws.set_faults(throttle=1)
        self.ok("put-metrics", 2)
        self.assertEqual(self.aws.calls()["PutMetricData"], 2)
        self.assertEqual(len(self.aws.metric_data()), 2)

    def test_http_500_retried_then_success(self):
        self.aws.set_faults(http_500=2)
        self.ok("describe-volumes")

    def test_http_503_past_attempts_is_eio(self):
        self.aws.set_faults(http_503=5)
        err = self.failed("describe-snapshots")
        self.assertIn("DescribeSnapshots: Unavailable", err)
        self.assertIn("Input/output error", err)

    def test_delay_past_timeout_retried(self):
        # The first answer comes long after the timeout; the retry has the whole timeout to be
        # answered, even on a loaded machine (with 1 s it could time out too).
        self.aws.set_faults(delay=25, delay_count=1)
        self.ok("--attrs", '{"aws":{"timeout_seconds":10}}', "describe-volumes")
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_truncated_xml_on_a_read_is_retried(self):
        self.aws.set_faults(truncated_xml=1)
        self.ok("describe-volumes")
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_malformed_xml_on_a_create_is_not_repeated(self):
        self.aws.set_faults(malformed_xml=1)
        r = run_tool(self.aws, "create-snapshot", self.aws.volume_ids[1])
        self.assertEqual(r.returncode, 1)
        self.assertIn("MalformedResponse", r.stdout)
        self.assertIn("check before repeating", r.stdout)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 1)

    def test_truncated_xml_on_every_read_is_one_clear_error(self):
        self.aws.set_faults(truncated_xml=-1)
        err = self.failed("describe-volumes")
        self.assertIn("MalformedResponse", err)

    def test_imds_token_refused(self):
        self.aws.set_faults(imds_token_refused=-1)
        r = run_tool(self.aws, "facts")
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused a session token", r.stderr)
        self.assertIn("aws.imds.allow_v1", r.stderr)

    def test_imds_token_refused_v1_allowed(self):
        self.aws.set_faults(imds_token_refused=-1)
        self.aws.set_instance(imds_v1=True)
        r = run_tool(self.aws, "--attrs", '{"aws":{"imds":{"allow_v1":true}}}', "facts")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout.splitlines()[0])["id"], self.aws.instance_id)

    def test_expired_role_credentials_refreshed(self):
        self.aws.set_faults(credentials_expired=1)
        self.ok("describe-volumes", keys=False)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_skewed_clock_corrected(self):
        self.aws.set_faults(skew=3600)
        r = self.ok("describe-volumes")
        self.assertIn("correcting", r.stderr)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_request_time_too_skewed_corrected_once(self):
        self.aws.set_faults(skew=-3600, skew_code="RequestTimeTooSkewed")
        r = self.ok("describe-volumes")
        self.assertIn("RequestTimeTooSkewed: AWS's clock is -3600 s from ours", r.stderr)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_skewed_clock_cloudwatch_corrected(self):
        self.aws.set_faults(skew=-1800)
        self.ok("put-metrics", 1)
        self.assertEqual(self.aws.ok_calls()["PutMetricData"], 1)

    def test_connection_reset_retried(self):
        self.aws.set_faults(connection_reset=1)
        self.ok("describe-volumes")

    # -- a create or a delete whose outcome is unknown (issue 15): looked for, never doubled ----
    def marked(self, mark):
        return [s for s in self.aws.snapshots()
                if {"Key": "opsagent:run-id", "Value": mark} in s.get("Tags", [])]

    def create_checked(self, mark, *extra, vols=None, **faults):
        self.aws.set_faults(only=["CreateSnapshot"], **faults)
        vols = vols or self.aws.volume_ids[1:]
        r = run_tool(self.aws, "--attrs", '{"aws":{"timeout_seconds":1}}', "--mark", "opsagent:run-id=" + mark,
                     *extra, "create-snapshot", *vols)
        self.aws.clear_faults()
        return r, vols

    def assert_one_each(self, r, mark, vols):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        made = self.marked(mark)
        self.assertEqual(sorted(s["VolumeId"] for s in made), sorted(vols), r.stdout)
        created = {line.split()[1]: line.split()[2] for line in r.stdout.splitlines() if line.startswith("created ")}
        self.assertEqual(created, {s["VolumeId"]: s["SnapshotId"] for s in made})

    def test_create_5xx_after_the_server_acted_is_found_not_repeated(self):
        r, vols = self.create_checked("t-500-after", http_500_after=100)
        self.assert_one_each(r, "t-500-after", vols)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(vols))       # none sent twice
        self.assertEqual(self.aws.calls()["DescribeSnapshots"], 1)            # one look for all
        self.assertIn("InternalError", r.stderr)
        self.assertIn("it was made, so it is not made again", r.stderr)

    def test_create_reset_after_sending_is_found_not_repeated(self):
        r, vols = self.create_checked("t-reset-after", connection_reset_after=100)
        self.assert_one_each(r, "t-reset-after", vols)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(vols))

    def test_create_timeout_after_acting_is_found_not_repeated(self):
        r, vols = self.create_checked("t-slow-after", delay_after=5, delay_after_count=100)
        self.assert_one_each(r, "t-slow-after", vols)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(vols))
        self.assertIn("RequestTimeout", r.stderr)

    def test_create_5xx_before_acting_is_sent_again(self):
        r, vols = self.create_checked("t-500-before", vols=self.aws.volume_ids[1:2], http_500=1)
        self.assert_one_each(r, "t-500-before", vols)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 2)
        self.assertIn("sending it again", r.stderr)

    def test_create_reset_before_acting_is_sent_again(self):
        r, vols = self.create_checked("t-reset-before", vols=self.aws.volume_ids[1:2], connection_reset=1)
        self.assert_one_each(r, "t-reset-before", vols)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 2)

    def test_create_timeout_before_acting_is_sent_again(self):
        r, vols = self.create_checked("t-slow-before", vols=self.aws.volume_ids[1:2], delay=5, delay_count=1)
        self.assert_one_each(r, "t-slow-before", vols)
        self.assertEqual(self.aws.ok_calls()["CreateSnapshot"], 1)

    def test_create_unreadable_answer_is_found(self):
        r, vols = self.create_checked("t-malformed", vols=self.aws.volume_ids[1:2], malformed_xml=1)
        self.assert_one_each(r, "t-malformed", vols)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 1)
        r, vols = self.create_checked("t-truncated", vols=self.aws.volume_ids[1:2], truncated_xml=1)
        self.assert_one_each(r, "t-truncated", vols)

    def test_create_that_never_succeeds_is_one_clear_error(self):
        r, vols = self.create_checked("t-500-always", vols=self.aws.volume_ids[1:2], http_500=100)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.marked("t-500-always"), [])
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 3)
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn("CreateSnapshot: InternalError", errors[0])
        self.assertIn("none was made", errors[0])
        self.assertRegex(errors[0], r"request id [0-9a-f-]{36}")

    def test_create_without_mark_is_not_repeated_and_says_so(self):
        self.aws.set_faults(only=["CreateSnapshot"], http_500_after=1)
        r = run_tool(self.aws, "create-snapshot", self.aws.volume_ids[1])
        self.assertEqual(r.returncode, 1)
        self.assertIn("outcome is unknown", r.stderr)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 1)

    def test_multi_volume_5xx_after_acting_is_found_not_repeated(self):
        self.aws.set_faults(only=["CreateSnapshots"], http_500_after=100)
        r = run_tool(self.aws, "--mark", "opsagent:run-id=t-multi", "create-snapshots-multi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.aws.calls()["CreateSnapshots"], 1)
        made = self.marked("t-multi")
        self.assertEqual(sorted(s["VolumeId"] for s in made), sorted(self.aws.volume_ids))
        self.assertIn("count %d\n" % len(self.aws.volume_ids), r.stdout)

    def test_multi_volume_5xx_before_acting_is_sent_again(self):
        self.aws.set_faults(only=["CreateSnapshots"], http_503=1)
        r = run_tool(self.aws, "--mark", "opsagent:run-id=t-multi-2", "create-snapshots-multi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.aws.ok_calls()["CreateSnapshots"], 1)
        self.assertEqual(len(self.marked("t-multi-2")), len(self.aws.volume_ids))

    def test_delete_whose_outcome_is_unknown_then_not_found_is_success(self):
        for fault in ({"http_500_after": 1}, {"connection_reset_after": 1}, {"delay_after": 5, "delay_after_count": 1}):
            sid = self.aws.seed_snapshot(tags={"opsagent:test": "delete-unknown"})
            self.aws.reset_calls()
            self.aws.set_faults(only=["DeleteSnapshot"], **fault)
            r = run_tool(self.aws, "--attrs", '{"aws":{"timeout_seconds":1}}', "delete-snapshot", sid)
            self.aws.clear_faults()
            self.assertEqual(r.returncode, 0, "%s: %s" % (fault, r.stderr))
            self.assertEqual(r.stdout, "deleted %s\n" % sid)
            self.assertEqual(self.aws.calls()["DeleteSnapshot"], 2, fault)
            self.assertEqual(self.aws.ok_calls()["DeleteSnapshot"], 1, fault)
            self.assertNotIn(sid, {s["SnapshotId"] for s in self.aws.snapshots()})

    def test_delete_of_a_missing_snapshot_is_still_enoent(self):
        err = self.failed("delete-snapshot", "snap-0123456789abcdef0")
        self.assertIn("InvalidSnapshot.NotFound", err)



if __name__ == "__main__":
    tap.main()
