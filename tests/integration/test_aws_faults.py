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

    def test_skewed_clock_cloudwatch_corrected(self):
        self.aws.set_faults(skew=-1800)
        self.ok("put-metrics", 1)
        self.assertEqual(self.aws.ok_calls()["PutMetricData"], 1)

    def test_connection_reset_retried(self):
        self.aws.set_faults(connection_reset=1)
        self.ok("describe-volumes")



if __name__ == "__main__":
    tap.main()
