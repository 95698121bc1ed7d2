#!/usr/bin/env python3
"""The AWS stand-in itself must be faithful: it rejects what AWS would reject (bad signatures,
unknown or ill-typed parameters, IMDS without a token) and shows the AWS CLI what was done."""
import gzip
import json
import os
import subprocess
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tap  # noqa: E402
from standin.aws_standin import AwsStandin, ACCESS_KEY_ID  # noqa: E402

import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.config  # noqa: E402
import botocore.credentials  # noqa: E402
import botocore.exceptions  # noqa: E402

NO_RETRY = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})


class StandinTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin().start()

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def setUp(self):
        self.aws.clear_faults()
        self.aws.reset_calls()

    def signed_post(self, service, params, secret=None, gzip_body=False, headers=None):
        body = urllib.parse.urlencode(params).encode()
        h = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if gzip_body:
            body = gzip.compress(body)
            h["Content-Encoding"] = "gzip"
        h.update(headers or {})
        req = botocore.awsrequest.AWSRequest("POST", self.aws.url + "/", data=body, headers=h)
        creds = botocore.credentials.Credentials(ACCESS_KEY_ID, secret or self.aws.credentials[ACCESS_KEY_ID][0])
        botocore.auth.SigV4Auth(creds, service, self.aws.region).add_auth(req)
        p = req.prepare()
        r = urllib.request.Request(p.url, data=p.body, headers=dict(p.headers), method="POST")
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_good_request_is_forwarded_and_counted(self):
        st, body = self.signed_post("ec2", {"Action": "DescribeVolumes", "Version": "2016-11-15"})
        self.assertEqual(st, 200, body)
        for v in self.aws.volume_ids:
            self.assertIn(v, body)
        self.assertEqual(self.aws.calls().get("DescribeVolumes"), 1)

    def test_wrong_secret_gets_auth_failure(self):
        st, body = self.signed_post("ec2", {"Action": "DescribeVolumes", "Version": "2016-11-15"},
                                    secret="not-the-secret")
        self.assertEqual(st, 401)
        self.assertIn("<Code>AuthFailure</Code>", body)
        self.assertEqual(self.aws.ok_calls(), {})

    def test_wrong_secret_cloudwatch_signature_does_not_match(self):
        st, body = self.signed_post("monitoring", {"Action": "ListMetrics", "Version": "2010-08-01"},
                                    secret="not-the-secret")
        self.assertEqual(st, 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", body)
        self.assertIn("<ErrorResponse", body)

    def test_unknown_parameter_rejected(self):
        st, body = self.signed_post("ec2", {"Action": "DescribeVolumes", "Version": "2016-11-15", "Bogus": "1"})
        self.assertEqual(st, 400)
        self.assertIn("<Code>UnknownParameter</Code>", body)

    def test_ill_typed_parameter_rejected(self):
        st, body = self.signed_post("ec2", {"Action": "DescribeVolumes", "Version": "2016-11-15",
                                            "MaxResults": "many"})
        self.assertEqual(st, 400)
        self.assertIn("<Code>InvalidParameterValue</Code>", body)

    def test_missing_required_parameter_rejected(self):
        st, body = self.signed_post("ec2", {"Action": "CreateSnapshot", "Version": "2016-11-15"})
        self.assertEqual(st, 400)
        self.assertIn("<Code>MissingParameter</Code>", body)
        self.assertNotIn("CreateSnapshot", self.aws.ok_calls())

    def test_wrong_version_rejected(self):
        st, body = self.signed_post("monitoring", {"Action": "ListMetrics", "Version": "2016-11-15"})
        self.assertEqual(st, 400)

    def test_gzip_put_metric_data_recorded(self):
        st, body = self.signed_post("monitoring", {
            "Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "OpsAgent",
            "MetricData.member.1.MetricName": "Success", "MetricData.member.1.Value": "1",
            "MetricData.member.1.Unit": "Count",
            "MetricData.member.1.Dimensions.member.1.Name": "Recipe",
            "MetricData.member.1.Dimensions.member.1.Value": "x"}, gzip_body=True)
        self.assertEqual(st, 200, body)
        md = self.aws.metric_data()
        self.assertEqual(len(md), 1)
        self.assertEqual(md[0]["MetricName"], "Success")
        self.assertEqual(md[0]["Dimensions"], {"Recipe": "x"})
        self.assertTrue(md[0]["Gzip"])

    def test_imds_requires_token(self):
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(self.aws.url + "/latest/meta-data/instance-id")
        self.assertEqual(cm.exception.code, 401)
        tok = urllib.request.urlopen(urllib.request.Request(
            self.aws.url + "/latest/api/token", method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})).read().decode()
        got = urllib.request.urlopen(urllib.request.Request(
            self.aws.url + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": tok})).read()
        self.assertEqual(got.decode(), self.aws.instance_id)

    def test_imds_token_refused_fault(self):
        self.aws.set_faults(imds_token_refused=1)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(urllib.request.Request(
                self.aws.url + "/latest/api/token", method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}))
        self.assertEqual(cm.exception.code, 403)

    def test_throttle_fault_is_aws_shaped(self):
        self.aws.set_faults(throttle=1)
        c = self.aws.client("ec2", config=NO_RETRY)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            c.describe_volumes()
        self.assertEqual(cm.exception.response["Error"]["Code"], "RequestLimitExceeded")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        c.describe_volumes()
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)
        self.assertEqual(self.aws.ok_calls()["DescribeVolumes"], 1)

    def test_in_use_snapshot_cannot_be_deleted(self):
        sid = self.aws.seed_snapshot(in_use=True)
        st, body = self.signed_post("ec2", {"Action": "DeleteSnapshot", "Version": "2016-11-15", "SnapshotId": sid})
        self.assertEqual(st, 400)
        self.assertIn("InvalidSnapshot.InUse", body)

    def test_cli_sees_what_was_done(self):
        st, body = self.signed_post("ec2", {
            "Action": "CreateSnapshot", "Version": "2016-11-15", "VolumeId": self.aws.volume_ids[1],
            "TagSpecification.1.ResourceType": "snapshot",
            "TagSpecification.1.Tag.1.Key": "opsagent:managed", "TagSpecification.1.Tag.1.Value": "standin-test"})
        self.assertEqual(st, 200, body)
        env = dict(os.environ)
        env.update(self.aws.env())
        r = subprocess.run(["aws", "--endpoint-url", self.aws.url, "ec2", "describe-snapshots", "--owner-ids", "self",
                            "--filters", "Name=tag:opsagent:managed,Values=standin-test", "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = json.loads(r.stdout)["Snapshots"]
        self.assertEqual([s["VolumeId"] for s in snaps], [self.aws.volume_ids[1]])

    def test_pending_snapshots_stay_pending(self):
        sid = self.aws.seed_snapshot(state="pending", tags={"opsagent:test": "pending"})
        snaps = {x["SnapshotId"]: x for x in self.aws.snapshots()}
        self.assertEqual(snaps[sid]["State"], "pending")
        self.assertNotEqual(snaps[sid]["Progress"], "100%")

    def test_seeded_start_time_is_what_describe_says(self):
        sid = self.aws.seed_snapshot(start_time=1600000000)
        snaps = {x["SnapshotId"]: x for x in self.aws.snapshots()}
        self.assertEqual(int(snaps[sid]["StartTime"].timestamp()), 1600000000)

    def test_control_api(self):
        def post(path, obj):
            req = urllib.request.Request(self.aws.url + path, data=json.dumps(obj).encode(), method="POST")
            with urllib.request.urlopen(req) as r:
                return json.loads(r.read())

        post("/_standin/faults", {"http_500": 2})
        with urllib.request.urlopen(self.aws.url + "/_standin/faults") as r:
            self.assertEqual(json.loads(r.read()), {"http_500": 2})
        sid = post("/_standin/snapshots", {"tags": {"opsagent:test": "control"}})["id"]
        post("/_standin/snapshots/in_use", {"snapshot_id": sid})
        post("/_standin/reset", {})
        st, body = self.signed_post("ec2", {"Action": "DeleteSnapshot", "Version": "2016-11-15", "SnapshotId": sid})
        self.assertEqual(st, 400)
        self.assertIn("InvalidSnapshot.InUse", body)
        with urllib.request.urlopen(self.aws.url + "/_standin/calls") as r:
            self.assertEqual(json.loads(r.read())["calls"], {"DeleteSnapshot": 1})


class StandinCommandLineTest(unittest.TestCase):
    """The demo's entry point: writes shell exports, serves until killed."""

    def test_env_file_then_terminate(self):
        import tempfile
        import time
        with tempfile.TemporaryDirectory() as d:
            env_file = os.path.join(d, "standin.env")
            p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "..", "standin",
                                                              "aws_standin.py"), "--env-file", env_file])
            try:
                deadline = time.time() + 60
                while not os.path.exists(env_file) and time.time() < deadline and p.poll() is None:
                    time.sleep(0.1)
                with open(env_file) as f:
                    exports = dict(line[len("export "):].strip().replace("'", "").split("=", 1)
                                   for line in f if line.startswith("export "))
                self.assertEqual(exports["AWS_REGION"], "us-east-1")
                with urllib.request.urlopen(exports["AWS_ENDPOINT_URL_EC2"] + "/_standin/instance") as r:
                    self.assertTrue(json.loads(r.read())["instance_id"].startswith("i-"))
            finally:
                p.terminate()
                self.assertEqual(p.wait(60), 0)


if __name__ == "__main__":
    tap.main()
