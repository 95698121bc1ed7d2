#!/usr/bin/env python3
"""Every typed AWS call of the agent against the local stand-in (signatures checked by
botocore, parameters by the service models), the AWS CLI checking what was done, and every
fault switch ending in success after retries or in one clear error."""
import json
import socket
import time

import tap
from aws_common import SECRET_ACCESS_KEY, StandinCase, run_tool


class AwsCallsTest(StandinCase):
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
        self.assertEqual(self.aws.connections(), 1)     # the three pages went over one connection
        cli_ids = sorted(s["SnapshotId"] for s in self.cli_snapshots("paging"))
        ids = sorted(line.split()[1] for line in out.splitlines() if line.startswith("snapshot "))
        self.assertEqual(ids, cli_ids)
        self.assertIn("start=1700000011", out)

    def test_describe_snapshots_streamed_sees_what_the_list_sees(self):
        for i in range(12):
            self.aws.seed_snapshot(tags={"opsagent:test": "stream", "n": str(i)}, start_time=1700000000 + i)
        args = ("--attrs", '{"aws":{"snapshots_page_size":5}}')
        listed = self.ok(*args, "describe-snapshots", "tag:opsagent:test=stream").stdout
        self.aws.reset_calls()
        streamed = self.ok(*args, "describe-snapshots-each", "tag:opsagent:test=stream").stdout
        self.assertEqual(self.aws.ok_calls()["DescribeSnapshots"], 3)
        self.assertIn("count 12\n", streamed)
        lines = lambda out: sorted(line for line in out.splitlines() if line.startswith("snapshot "))
        self.assertEqual(lines(streamed), lines(listed))
        self.assertIn("n=11", streamed)

    def test_fan_out_is_concurrent_and_bounded(self):
        self.aws.set_faults(delay=1, delay_count=100, only=["CreateSnapshot"])
        vols = self.aws.volume_ids * 2
        self.ok("--attrs", '{"aws":{"parallel_requests":2}}', "create-snapshot", *vols)
        self.assertEqual(self.aws.max_in_flight(), 2)
        self.assertEqual(self.aws.ok_calls()["CreateSnapshot"], len(vols))
        self.aws.reset_calls()
        self.ok("create-snapshot", *vols)
        self.assertEqual(self.aws.max_in_flight(), 4)    # the default bound

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
        names = {m["MetricName"] for m in self.cli("cloudwatch", "list-metrics", "--namespace", "OpsAgent")["Metrics"]}
        self.assertEqual(names, {"Success", "Duration"})

    def test_put_metric_data_stays_under_one_megabyte(self):
        # 30 dimensions of 255-byte values: far fewer than 1000 datums fill 1 MB.
        r = run_tool(self.aws, "put-metrics", 250, env={"AWS_TOOL_BIG_DIMENSIONS": "1"})
        self.assertEqual(r.returncode, 0, r.stderr)
        sizes = self.aws.body_sizes()["PutMetricData"]
        self.assertGreater(len(sizes), 1)
        self.assertTrue(all(s <= 1024 * 1024 for s in sizes), sizes)
        self.assertGreater(max(sizes), 900 * 1024)
        self.assertEqual(len(self.aws.metric_data()), 250)

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

    def test_imds_never_through_a_proxy(self):
        proxy = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "all_proxy":
                 "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
        r = run_tool(self.aws, "facts", env=proxy)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout.splitlines()[0])["id"], self.aws.instance_id)
        # ... while the AWS APIs do honour the proxy (which here leads nowhere).
        r = run_tool(self.aws, "describe-volumes", env=proxy)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.aws.calls().get("DescribeVolumes"), None)

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
            t0 = time.monotonic()
            r = run_tool(self.aws, "facts", AWS_METADATA_SERVICE_TIMEOUT="1",
                         AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:%d" % s.getsockname()[1])
            # fast: the metadata service's 1 s timeouts, not the AWS calls' 30 s ones
            self.assertLess(time.monotonic() - t0, 30, r.stderr)
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

    def test_role_credentials_refreshed_before_expiration(self):
        for i in range(10):
            self.aws.seed_snapshot(tags={"opsagent:test": "refresh"})
        try:
            self.aws.rotate_role_credentials(ttl=6 * 3600)
            self.ok("--attrs", '{"aws":{"snapshots_page_size":5}}', "describe-snapshots",
                    "tag:opsagent:test=refresh", keys=False)
            self.assertEqual(self.aws.calls()["IMDS:credentials"], 1)     # fresh: fetched once
            self.aws.reset_calls()
            self.aws.rotate_role_credentials(ttl=120)                      # inside the refresh window
            self.ok("--attrs", '{"aws":{"snapshots_page_size":5}}', "describe-snapshots",
                    "tag:opsagent:test=refresh", keys=False)
            self.assertEqual(self.aws.ok_calls()["DescribeSnapshots"], 2)
            self.assertEqual(self.aws.calls()["IMDS:credentials"], 2)     # refreshed before each call
        finally:
            self.aws.rotate_role_credentials(ttl=6 * 3600)

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


if __name__ == "__main__":
    tap.main()
