#!/usr/bin/env python3
"""Every typed AWS call of the agent against the local stand-in (signatures checked by
botocore, parameters by the service models), the AWS CLI checking what was done, and every
fault switch ending in success after retries or in one clear error."""
import json
import os
import socket
import subprocess
import unittest

import tap
from aws_common import AwsStandin, SECRET_ACCESS_KEY, run_tool, tool_env


class AwsCallsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin().start()

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def setUp(self):
        self.aws.clear_faults()
        self.aws.reset_calls()
        self.aws.set_instance(imds_v1=False, user_data="")

    def ok(self, *args, **kw):
        r = run_tool(self.aws, *args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def failed(self, *args, **kw):
        r = run_tool(self.aws, *args, **kw)
        self.assertEqual(r.returncode, 1, "expected one clear error\n" + r.stdout + r.stderr)
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        self.assertEqual(len(errors), 1, r.stderr)
        return errors[0]

    def cli(self, *args):
        env = dict(os.environ)
        env.update(tool_env(self.aws))
        r = subprocess.run(["aws", "--endpoint-url", self.aws.url, "--output", "json"] + list(args), env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def cli_snapshots(self, tag_value):
        return self.cli("ec2", "describe-snapshots", "--owner-ids", "self", "--filters",
                        "Name=tag:opsagent:test,Values=%s" % tag_value)["Snapshots"]

    # -- the typed calls --------------------------------------------------------------------
    def test_describe_instance_lists_attached_volumes(self):
        out = self.ok("describe-instance").stdout
        self.assertIn("instance %s " % self.aws.instance_id, out)
        for dev, vol in self.aws.devices.items():
            self.assertIn("attachment %s %s attached%s" % (dev, vol, " root" if vol == self.aws.root_volume_id else ""),
                          out)
        self.assertEqual(self.aws.ok_calls(), {"DescribeInstances": 1})

    def test_describe_unknown_instance_is_enoent(self):
        err = self.failed("describe-instance", "i-0000000000000dead")
        self.assertIn("DescribeInstances: InvalidInstanceID.NotFound", err)
        self.assertIn("No such file or directory", err)

    def test_describe_volumes(self):
        out = self.ok("describe-volumes", *self.aws.volume_ids).stdout
        for v in self.cli("ec2", "describe-volumes", "--volume-ids", *self.aws.volume_ids)["Volumes"]:
            self.assertIn("volume %s state=%s type=%s size=%d az=%s" % (
                v["VolumeId"], v["State"], v["VolumeType"], v["Size"], v["AvailabilityZone"]), out)

    def test_describe_snapshots_follows_next_token(self):
        for i in range(12):
            self.aws.seed_snapshot(tags={"opsagent:test": "paging", "n": str(i)}, start_time=1700000000 + i)
        out = self.ok("--attrs", '{"aws":{"snapshots_page_size":5}}', "describe-snapshots",
                      "tag:opsagent:test=paging").stdout
        self.assertIn("count 12\n", out)
        self.assertEqual(self.aws.ok_calls()["DescribeSnapshots"], 3)
        cli_ids = sorted(s["SnapshotId"] for s in self.cli_snapshots("paging"))
        ids = sorted(line.split()[1] for line in out.splitlines() if line.startswith("snapshot "))
        self.assertEqual(ids, cli_ids)
        self.assertIn("start=1700000011", out)

    def test_create_snapshot_per_volume_seen_by_cli(self):
        out = self.ok("create-snapshot", *self.aws.volume_ids).stdout
        self.assertEqual(self.aws.mutating_calls(), {"CreateSnapshot": len(self.aws.volume_ids)})
        created = {line.split()[1]: line.split()[2] for line in out.splitlines() if line.startswith("created ")}
        snaps = self.cli_snapshots("aws_tool")
        seen = {s["VolumeId"]: s["SnapshotId"] for s in snaps if s["SnapshotId"] in created.values()}
        self.assertEqual(seen, created)
        for s in snaps:
            if s["SnapshotId"] in created.values():
                self.assertEqual(s["Description"], "aws_tool")

    def test_create_snapshots_multi_excludes_boot(self):
        out = self.ok("create-snapshots-multi", "--exclude-boot").stdout
        self.assertIn("count %d\n" % (len(self.aws.volume_ids) - 1), out)
        self.assertNotIn(self.aws.root_volume_id, out)
        self.assertEqual(self.aws.mutating_calls(), {"CreateSnapshots": 1})

    def test_delete_snapshot_seen_by_cli(self):
        sid = self.aws.seed_snapshot(tags={"opsagent:test": "delete"})
        self.ok("delete-snapshot", sid)
        self.assertEqual(self.cli_snapshots("delete"), [])
        self.assertEqual(self.aws.mutating_calls(), {"DeleteSnapshot": 1})

    def test_delete_snapshot_in_use_is_ebusy(self):
        sid = self.aws.seed_snapshot(in_use=True)
        err = self.failed("delete-snapshot", sid)
        self.assertIn("DeleteSnapshot: InvalidSnapshot.InUse: The snapshot %s is currently in use" % sid, err)
        self.assertIn("Device or resource busy", err)
        self.assertRegex(err, r"request id [0-9a-f-]{36}")
        self.assertEqual(self.aws.calls()["DeleteSnapshot"], 1)

    def test_delete_missing_snapshot_is_enoent(self):
        err = self.failed("delete-snapshot", "snap-0123456789abcdef0")
        self.assertIn("InvalidSnapshot.NotFound", err)
        self.assertIn("No such file or directory", err)

    def test_create_tags_seen_by_cli(self):
        sid = self.aws.seed_snapshot()
        self.ok("create-tags", sid, "opsagent:test=tagged", "k2=v 2")
        snaps = self.cli_snapshots("tagged")
        self.assertEqual([s["SnapshotId"] for s in snaps], [sid])
        self.assertIn({"Key": "k2", "Value": "v 2"}, snaps[0]["Tags"])

    def test_put_metric_data_batches_gzip(self):
        self.ok("put-metrics", 2500, "OpsAgent")
        self.assertEqual(self.aws.ok_calls(), {"PutMetricData": 3})
        md = self.aws.metric_data()
        self.assertEqual(len(md), 2500)
        self.assertTrue(all(d["Gzip"] for d in md))
        self.assertEqual(md[0]["Dimensions"], {"InstanceId": "i-test", "Recipe": "aws_tool"})
        self.assertEqual({d["Namespace"] for d in md}, {"OpsAgent"})

    def test_put_metric_data_rejects_nan_before_sending(self):
        r = run_tool(self.aws, "put-metrics", 3, env={"AWS_TOOL_NAN": "1"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a finite number", r.stderr)
        self.assertEqual(self.aws.calls(), {})

    # -- instance facts ---------------------------------------------------------------------
    def test_facts_from_imds(self):
        self.aws.set_instance(user_data='{"ebs_snapshots": {"keep": 3}}')
        out = self.ok("facts").stdout.splitlines()
        facts = json.loads(out[0])
        self.assertEqual(facts["id"], self.aws.instance_id)
        self.assertEqual(facts["region"], self.aws.region)
        self.assertEqual(facts["availability_zone"], self.aws.availability_zone)
        self.assertEqual(facts["account_id"], "123456789012")
        self.assertEqual(facts["instance_type"], "m4.xlarge")
        self.assertEqual(facts["block_devices"]["root"], "/dev/sda1")
        self.assertEqual(out[1], 'user-data: {"ebs_snapshots": {"keep": 3}}')

    def test_facts_with_metadata_disabled(self):
        r = run_tool(self.aws, "--attrs", '{"aws":{"instance_id":"i-0abc"}}', "facts", imds=False,
                     AWS_REGION="eu-west-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"region": "eu-west-1", "id": "i-0abc"})
        self.assertEqual(self.aws.calls(), {})

    def test_off_ec2_fails_fast_naming_the_variables(self):
        # A port that accepts connections and never answers: what a black hole looks like.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            r = run_tool(self.aws, "facts", timeout=10,
                         AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:%d" % s.getsockname()[1])
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("AWS_EC2_METADATA_SERVICE_ENDPOINT", lines[0])
        self.assertIn("AWS_EC2_METADATA_DISABLED", lines[0])

    def test_no_region_says_where_to_set_it(self):
        r = run_tool(self.aws, "describe-volumes", imds=False, AWS_REGION=None, AWS_DEFAULT_REGION=None)
        self.assertEqual(r.returncode, 1)
        self.assertIn("aws.region", r.stderr)
        self.assertIn("AWS_REGION", r.stderr)

    # -- credentials ------------------------------------------------------------------------
    def test_instance_role_credentials(self):
        self.ok("describe-volumes", keys=False)
        self.assertEqual(self.aws.ok_calls()["DescribeVolumes"], 1)

    def test_recipe_keys_win_over_environment(self):
        err = self.failed("--recipe-attrs", '{"aws_key":"AKIASTANDIN0EXAMPLE","aws_secret":"wrong-secret-value"}',
                          "describe-volumes")
        self.assertIn("AuthFailure", err)
        self.assertNotIn("wrong-secret-value", err)
        self.ok("--recipe-attrs", json.dumps({"aws_key": "AKIASTANDIN0EXAMPLE", "aws_secret": SECRET_ACCESS_KEY}),
                "describe-volumes", keys=False)

    def test_half_a_key_pair_is_refused(self):
        err = self.failed("--recipe-attrs", '{"aws_key":"AKIASTANDIN0EXAMPLE"}', "describe-volumes")
        self.assertIn("aws_secret", err)

    def test_secrets_never_printed(self):
        role = self.aws.role_credentials()
        r = run_tool(self.aws, "describe-volumes", keys=False, AWS_TOOL_DEBUG="1")
        self.assertEqual(r.returncode, 0, r.stderr)
        for secret in (role["SecretAccessKey"], role["Token"], SECRET_ACCESS_KEY):
            self.assertNotIn(secret, r.stdout + r.stderr)
        self.assertNotIn("Signature=", r.stderr)

    # -- faults -----------------------------------------------------------------------------
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
        self.aws.set_faults(delay=3, delay_count=1)
        self.ok("--attrs", '{"aws":{"timeout_seconds":1}}', "describe-volumes")
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
