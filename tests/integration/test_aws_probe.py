#!/usr/bin/env python3
"""The real `opsagent run` against the AWS stand-in: a test-only recipe (tests/plugins/aws_probe)
calls every ctx->aws op; instance facts reach the recipe; user-data stands in for a missing
stack.json; credentials come from the recipe, the environment or the instance role; secrets
never show; faults end in success or in one clear error, never a hang."""
import glob
import json
import os
import re
import socket
import subprocess
import time

import harness
import tap
from aws_common import AgentStandinCase, SECRET_ACCESS_KEY

PROBE_DIR = os.path.join(harness.BUILDDIR, "tests", "plugins", ".libs")


class ProbeTest(AgentStandinCase):
    def setUp(self):
        super().setUp()
        path = os.environ.get("OPSAGENT_PLUGIN_PATH", "")
        self.env["OPSAGENT_PLUGIN_PATH"] = (path + ":" if path else "") + PROBE_DIR

    def probe(self, ops, extra=None, env=None, mode=0o600, timeout=600):
        attrs = {"aws_probe": {"ops": ops}}
        if extra:
            attrs["aws_probe"].update(extra)
        self.write_json("etc/opsagent/stack.json", attrs, mode=mode)
        return self.agent("run", "--recipe", "aws_probe", "--no-report", env=env, timeout=timeout)

    def lines(self, r, op):
        return [l.strip()[len("probe %s " % op):] for l in r.stdout.splitlines()
                if l.strip().startswith("probe %s " % op)]

    def cli(self, *args):
        env = dict(os.environ)
        env.update(self.aws.env())
        r = subprocess.run(["aws", "--endpoint-url", self.aws.url, "--output", "json"] + list(args), env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    # -- every op through the context -------------------------------------------------------
    def test_describe_instance_and_facts(self):
        r = self.probe([{"op": "describe_instance"}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("probe fact id=%s region=%s" % (self.aws.instance_id, self.aws.region), r.stdout)
        ok = self.lines(r, "describe_instance")
        self.assertTrue(ok[0].startswith("ok %s root=/dev/sda1" % self.aws.instance_id), ok)
        self.assertIn("attachment /dev/sda1 %s root" % self.aws.root_volume_id, ok)
        self.assertEqual(len([l for l in ok if l.startswith("attachment")]), len(self.aws.volume_ids))

    def test_describe_volumes(self):
        r = self.probe([{"op": "describe_volumes", "ids": self.aws.volume_ids[1:]}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = self.lines(r, "describe_volumes")
        self.assertEqual(out[0], "ok %d" % (len(self.aws.volume_ids) - 1))
        for v in self.cli("ec2", "describe-volumes", "--volume-ids", *self.aws.volume_ids[1:])["Volumes"]:
            self.assertIn("volume %s state=%s size=%d" % (v["VolumeId"], v["State"], v["Size"]), out)

    def test_create_each_describe_tag_delete_seen_by_cli(self):
        r = self.probe([{"op": "create_snapshots_each", "volumes": self.aws.volume_ids, "parallel": 2,
                         "tags": {"opsagent:test": "probe-each"}}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        created = [l.split()[2] for l in self.lines(r, "create_snapshots_each") if l.startswith("created")]
        self.assertEqual(len(created), len(self.aws.volume_ids))
        self.assertEqual(self.aws.mutating_calls(), {"CreateSnapshot": len(self.aws.volume_ids)})
        cli = self.cli("ec2", "describe-snapshots", "--owner-ids", "self", "--filters",
                       "Name=tag:opsagent:test,Values=probe-each")["Snapshots"]
        self.assertEqual(sorted(s["SnapshotId"] for s in cli), sorted(created))

        self.aws.reset_calls()
        r = self.probe([{"op": "describe_snapshots", "filters": {"tag:opsagent:test": ["probe-each"]}},
                        {"op": "create_tags", "ids": created[:1], "tags": {"opsagent:extra": "yes"}},
                        {"op": "delete_snapshot", "id": created[1]}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.lines(r, "describe_snapshots")[0], "ok %d" % len(created))
        self.assertEqual(self.aws.mutating_calls(), {"CreateTags": 1, "DeleteSnapshot": 1})
        cli = {s["SnapshotId"]: s for s in self.cli("ec2", "describe-snapshots", "--owner-ids", "self", "--filters",
                                                     "Name=tag:opsagent:test,Values=probe-each")["Snapshots"]}
        self.assertNotIn(created[1], cli)
        self.assertIn({"Key": "opsagent:extra", "Value": "yes"}, cli[created[0]]["Tags"])

    def test_create_snapshots_multi(self):
        r = self.probe([{"op": "create_snapshots_multi", "exclude_boot": True, "tags": {"opsagent:test": "multi"}}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = self.lines(r, "create_snapshots_multi")
        self.assertEqual(out[0], "ok %d" % (len(self.aws.volume_ids) - 1))
        self.assertFalse(any(self.aws.root_volume_id in l for l in out))

    def test_in_use_snapshot_is_one_clear_failure(self):
        sid = self.aws.seed_snapshot(in_use=True)
        r = self.probe([{"op": "delete_snapshot", "id": sid}])
        self.assertEqual(r.returncode, 1)
        err = self.lines(r, "delete_snapshot")
        self.assertEqual(len(err), 1, r.stdout)
        self.assertRegex(err[0], r"^error 16 InvalidSnapshot\.InUse: The snapshot %s is currently in use by ami-\S+ "
                                 r"\(operation DeleteSnapshot, HTTP 400, request id [0-9a-f-]{36}\)$" % sid)

    # -- instance facts and user-data -------------------------------------------------------
    def test_user_data_is_the_stack_json_when_absent(self):
        self.aws.set_instance(user_data=json.dumps({"aws_probe": {"ops": [{"op": "describe_volumes"}]}}))
        os.makedirs(self.path("etc/opsagent"), exist_ok=True)
        r = self.agent("run", "--recipe", "aws_probe")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.lines(r, "describe_volumes")[0], "ok %d" % len(self.aws.volume_ids))

    def test_off_ec2_one_line_naming_the_variables(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            t0 = time.monotonic()
            r = self.probe([{"op": "describe_instance"}],
                           env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:%d" % s.getsockname()[1],
                                "AWS_METADATA_SERVICE_TIMEOUT": "1"})
            # fast: the metadata service's 1 s timeouts, not the AWS calls' 30 s ones
            self.assertLess(time.monotonic() - t0, 30, r.stderr)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("AWS_EC2_METADATA_SERVICE_ENDPOINT", lines[0])
        self.assertIn("AWS_EC2_METADATA_DISABLED", lines[0])
        self.assertNotIn("probe", r.stdout)

    def test_metadata_disabled_uses_attributes(self):
        self.write_json("etc/opsagent/local.json", {"aws": {"instance_id": self.aws.instance_id}})
        r = self.probe([{"op": "describe_instance"}], env={"AWS_EC2_METADATA_DISABLED": "true"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("probe fact id=%s region=%s" % (self.aws.instance_id, self.aws.region), r.stdout)
        self.assertEqual(self.aws.calls().get("IMDS:GET"), None)

    def test_metadata_disabled_without_instance_id_says_so(self):
        r = self.probe([{"op": "describe_instance"}], env={"AWS_EC2_METADATA_DISABLED": "true"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("aws.instance_id", r.stdout + r.stderr)

    # -- credentials and secrets ------------------------------------------------------------
    def test_instance_role_credentials(self):
        r = self.probe([{"op": "describe_volumes"}], env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_recipe_keys_first_and_never_shown(self):
        bad = "recipe-secret-that-must-not-leak"
        self.write_json("etc/opsagent/stack.json", {"aws_probe": {
            "ops": [{"op": "describe_volumes"}], "aws_key": "AKIASTANDIN0EXAMPLE", "aws_secret": bad}}, mode=0o600)
        r = self.agent("-vv", "run", "--recipe", "aws_probe",
                       env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        self.assertEqual(r.returncode, 1)
        self.assertIn("DescribeVolumes: attempt 1", r.stderr)     # debug output was on
        self.assertNotIn("Signature=", r.stdout + r.stderr)
        self.assertIn("AuthFailure", r.stdout)
        self.assertNotIn(bad, r.stdout + r.stderr)
        for f in glob.glob(os.path.join(self.root, "var", "**", "*"), recursive=True):
            if os.path.isfile(f):
                with open(f, errors="replace") as fh:
                    self.assertNotIn(bad, fh.read(), f)
        r = self.probe([{"op": "describe_volumes"}],
                       extra={"aws_key": "AKIASTANDIN0EXAMPLE", "aws_secret": SECRET_ACCESS_KEY},
                       env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(SECRET_ACCESS_KEY, r.stdout + r.stderr)

    def test_key_file_readable_by_others_warned(self):
        extra = {"aws_key": "AKIASTANDIN0EXAMPLE", "aws_secret": SECRET_ACCESS_KEY}
        r = self.probe([{"op": "describe_volumes"}], extra=extra, mode=0o644)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        warnings = [l for l in r.stderr.splitlines() if "chmod 600 " + self.path("etc/opsagent/stack.json") in l]
        self.assertEqual(len(warnings), 1, r.stderr)
        r = self.probe([{"op": "describe_volumes"}], extra=extra, mode=0o600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("chmod 600", r.stderr)

    def test_profile_role_assumed_once_per_run_and_never_shown(self):
        """A role from ~/.aws/config whose source is a credential_process: the agent resolves it
        once before the run (for the report), the recipe's child and the report after it take
        what the process resolved; no secret of the process, of STS or of the role shows."""
        script = self.write("creds.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"%s\", "
                            "\"SecretAccessKey\": \"%s\"}'\necho ran >> %s\n"
                            % ("AKIASTANDIN0EXAMPLE", SECRET_ACCESS_KEY, self.path("process-runs")), mode=0o755)
        config = self.write("aws/config", "[default]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/"
                            "Nightly\nsource_profile = base\n[profile base]\ncredential_process = %s\n" % script)
        self.write_json("etc/opsagent/stack.json", {"aws_probe": {"ops": [{"op": "describe_instance"}]},
                                                    "opsagent": {"recipes": {"aws_probe": True}}}, mode=0o600)
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONFIG_FILE": config,
               "AWS_ENDPOINT_URL_STS": self.aws.url}
        r = self.agent("-vv", "run", "--recipe", "aws_probe", env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        assumed = self.aws.assumed()
        self.assertEqual(len(assumed), 1, assumed)
        self.assertEqual(assumed[0]["caller"], "AKIASTANDIN0EXAMPLE")
        with open(self.path("process-runs")) as f:
            self.assertEqual(f.read(), "ran\n")
        key = assumed[0]["key"]
        self.assertEqual({q["key"] for q in self.aws.requests() if q["service"] in ("ec2", "monitoring")}, {key})
        self.assertTrue(self.aws.ok_calls().get("PutMetricData"), self.aws.ok_calls())
        secret, token = self.aws.credentials[key]
        for text in [r.stdout, r.stderr] + [open(f, errors="replace").read() for f in
                                            glob.glob(os.path.join(self.root, "var", "**", "*"), recursive=True)
                                            if os.path.isfile(f)]:
            for s in (SECRET_ACCESS_KEY, secret, token):
                self.assertNotIn(s, text)

    # -- faults through the whole agent -----------------------------------------------------
    def test_throttled_then_success(self):
        self.aws.set_faults(throttle=2, only=["DescribeVolumes"])
        r = self.probe([{"op": "describe_volumes"}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 3)

    def test_throttled_past_retries_is_one_clear_error(self):
        self.aws.set_faults(throttle=-1, only=["DescribeSnapshots"])
        r = self.probe([{"op": "describe_snapshots"}])
        self.assertEqual(r.returncode, 1)
        err = self.lines(r, "describe_snapshots")
        self.assertEqual(len(err), 1, r.stdout)
        self.assertTrue(err[0].startswith("error 11 RequestLimitExceeded"), err)

    def test_create_with_malformed_answer_not_repeated(self):
        # Issue 15: an unreadable answer to CreateSnapshot leaves its outcome unknown; the
        # context tags every create with the run's id, so the agent looks for the snapshot by it
        # and reports the one the create made instead of failing (or making a second one).
        self.aws.set_faults(malformed_xml=1, only=["CreateSnapshot"])
        r = self.probe([{"op": "create_snapshots_each", "volumes": self.aws.volume_ids[:1]}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 1)
        self.assertEqual(self.aws.calls()["DescribeSnapshots"], 1)
        self.assertIn("MalformedResponse", r.stderr)
        run = re.search(r"\(run ([0-9a-f]{8})\)", r.stdout + r.stderr).group(1)
        made = [s for s in self.aws.snapshots() if s["VolumeId"] == self.aws.volume_ids[0]
                and any(t["Key"] == "opsagent:run-id" and t["Value"].startswith(run) for t in s.get("Tags", []))]
        self.assertEqual(len(made), 1)

    def test_skewed_clock_and_expired_role_credentials(self):
        self.aws.set_faults(skew=-7200)
        r = self.probe([{"op": "describe_volumes"}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.aws.clear_faults()
        self.aws.set_faults(credentials_expired=1)
        r = self.probe([{"op": "describe_volumes"}], env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_server_errors_retried_then_success(self):
        self.aws.set_faults(http_500=1, http_503=1, only=["DescribeVolumes"])
        r = self.probe([{"op": "describe_volumes"}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 3)

    def test_server_errors_past_retries_is_one_clear_error(self):
        self.aws.set_faults(http_503=-1, only=["CreateTags"])
        r = self.probe([{"op": "create_tags", "ids": [self.aws.volume_ids[0]], "tags": {"k": "v"}}])
        self.assertEqual(r.returncode, 1)
        err = self.lines(r, "create_tags")
        self.assertEqual(len(err), 1, r.stdout)
        self.assertTrue(err[0].startswith("error 5 Unavailable"), err)
        self.assertEqual(self.aws.calls()["CreateTags"], 3)

    def test_delay_past_timeout_then_success(self):
        # As in test_aws_faults: a retry with time to be answered on a loaded machine.
        self.write_json("etc/opsagent/local.json", {"aws": {"timeout_seconds": 10}})
        self.aws.set_faults(delay=25, delay_count=1, only=["DescribeVolumes"])
        r = self.probe([{"op": "describe_volumes"}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws.calls()["DescribeVolumes"], 2)

    def test_truncated_answer_and_reset_connection_retried(self):
        self.aws.set_faults(truncated_xml=1, connection_reset=1, only=["DescribeSnapshots"])
        r = self.probe([{"op": "describe_snapshots"}])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aws.calls()["DescribeSnapshots"], 3)

    def test_imds_token_refused_is_one_clear_error(self):
        self.aws.set_faults(imds_token_refused=-1)
        r = self.probe([{"op": "describe_volumes"}])
        self.assertEqual(r.returncode, 2)
        self.assertIn("refused a session token", r.stderr)


if __name__ == "__main__":
    tap.main()
