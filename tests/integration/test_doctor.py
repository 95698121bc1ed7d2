#!/usr/bin/env python3
"""opsagent doctor against the stand-in: every check's verdict, the permissions of the enabled
recipes found by DryRun and Describe calls (one denied action at a time), the hop-limit
diagnosis, clock skew, what --json gives (the endpoints it would use included), the exit
status, and no secret anywhere."""
import json
import os
import subprocess

import harness
import tap
from aws_common import SECRET_ACCESS_KEY, AgentStandinCase

POLICY = os.path.join(harness.SRCDIR, "packaging", "iam-policy.json")


class Doctor(AgentStandinCase):
    STANDIN_ENV = {"keys": False, "sts": True}

    def setUp(self):
        super().setUp()
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"ebs_snapshots": True}}})

    def doctor(self, *args, env=None):
        r = self.agent("doctor", "--json", *args, env=env)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        for out in (r.stdout, r.stderr):
            self.assertNotIn(SECRET_ACCESS_KEY, out)
            self.assertNotIn(self.aws.role_credentials()["SecretAccessKey"], out)
            self.assertNotIn(self.aws.role_credentials()["Token"], out)
        d = json.loads(r.stdout)
        self.assertEqual(d["ok"], r.returncode == 0)
        return r.returncode, d, {c["check"]: c for c in d["checks"]}

    def test_all_there(self):
        rc, d, checks = self.doctor()
        self.assertEqual(rc, 0, json.dumps(d["checks"], indent=1))
        for name in ("attributes", "profile", "imds", "instance", "region", "credentials", "identity", "clock",
                     "retries", "endpoint ec2", "endpoint sts", "ebs_snapshots ec2:DescribeInstances",
                     "ebs_snapshots ec2:CreateSnapshot", "ebs_snapshots ec2:DeleteSnapshot"):
            self.assertEqual(checks[name]["verdict"], "ok", (name, checks[name]))
        self.assertIn("IMDSv2", checks["imds"]["text"])
        self.assertIn(self.aws.instance_id, checks["instance"]["text"])
        self.assertEqual((d["region"], d["region_origin"]), ("us-east-1", "AWS_REGION"))
        self.assertEqual(d["credentials"]["source"], "instance-role")
        self.assertTrue(d["credentials"]["access_key_id"].startswith("****************"))
        skipped = [t["source"] for t in d["credentials"]["trace"] if not t["chosen"]]
        self.assertEqual(skipped[:3], ["recipe-attributes", "environment", "assume-role"])
        self.assertEqual(checks["reporting cloudwatch:PutMetricData"]["verdict"], "skip")
        self.assertIn("no dry run", checks["reporting cloudwatch:PutMetricData"]["text"])
        # the DryRun calls changed nothing
        self.assertEqual(self.aws.mutating_calls(), {})
        dry = [q["op"] for q in self.aws.requests() if q["op"] in ("CreateSnapshot", "CreateSnapshots", "CreateTags",
                                                                   "DeleteSnapshot")]
        self.assertEqual(sorted(dry), ["CreateSnapshot", "CreateSnapshots", "CreateTags", "DeleteSnapshot"])

    def test_one_denied_action_fails_naming_it_and_its_statement(self):
        self.aws.set_deny("CreateSnapshot")
        rc, d, checks = self.doctor()
        self.assertEqual(rc, 1)
        c = checks["ebs_snapshots ec2:CreateSnapshot"]
        self.assertEqual(c["verdict"], "FAIL")
        self.assertIn("missing (DryRun)", c["text"])
        self.assertIn("UnauthorizedOperation", c["text"])
        self.assertIn("SnapshotTheVolumesOfAnInstance", c["details"][0])
        self.assertIn("/usr/share/doc/opsagent/iam-policy.json", c["details"][0])
        # the others are still allowed, and nothing else failed
        self.assertEqual([n for n, c in checks.items() if c["verdict"] == "FAIL"], ["ebs_snapshots ec2:CreateSnapshot"])
        r = self.agent("doctor")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"(?m)^FAIL  ebs_snapshots ec2:CreateSnapshot +missing \(DryRun\)")
        self.assertIn("something this node needs is missing", r.stdout)

    def test_denied_describe_found_by_calling_it(self):
        self.aws.set_deny("DescribeSnapshots")
        rc, d, checks = self.doctor()
        self.assertEqual(rc, 1)
        self.assertEqual(checks["ebs_snapshots ec2:DescribeSnapshots"]["verdict"], "FAIL")
        self.assertIn("missing (called)", checks["ebs_snapshots ec2:DescribeSnapshots"]["text"])

    def test_what_the_mode_does_not_use_is_a_warning(self):
        self.aws.set_deny("CreateSnapshots")
        rc, d, checks = self.doctor()
        self.assertEqual(rc, 0)
        self.assertEqual(checks["ebs_snapshots ec2:CreateSnapshots"]["verdict"], "warn")
        self.write_json("etc/opsagent/local.json", {"ebs_snapshots": {"mode": "multi-volume"}})
        rc, d, checks = self.doctor()
        self.assertEqual(rc, 1)
        self.assertEqual(checks["ebs_snapshots ec2:CreateSnapshots"]["verdict"], "FAIL")

    def test_recipe_not_enabled_not_checked(self):
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {}}, "cloudwatch": {"enabled": False}})
        rc, d, checks = self.doctor()
        self.assertEqual(rc, 0)
        self.assertEqual(checks["ebs_snapshots"]["verdict"], "skip")
        self.assertEqual(checks["reporting"]["verdict"], "skip")
        self.assertFalse([q for q in self.aws.requests() if q["service"] == "ec2"])

    def test_hop_limit_diagnosed(self):
        self.aws.set_faults(imds_token_hang=-1)
        rc, d, checks = self.doctor(env={"AWS_METADATA_SERVICE_TIMEOUT": "1"})
        self.assertEqual(rc, 1)
        self.assertIn("HttpPutResponseHopLimit", checks["imds"]["text"])
        self.assertIn("--http-put-response-hop-limit 2", checks["imds"]["text"])
        self.assertIn("AWS_METADATA_SERVICE_TIMEOUT", checks["imds"]["details"][0])
        self.assertEqual(checks["instance"]["verdict"], "FAIL")

    def test_clock_skew(self):
        self.aws.set_faults(skew=400)
        rc, d, checks = self.doctor()
        self.assertEqual(checks["clock"]["verdict"], "FAIL")
        self.assertLessEqual(d["clock_skew_seconds"], -399)
        self.assertIn("fix the clock", checks["clock"]["text"])
        self.aws.set_faults(skew=90)
        rc, d, checks = self.doctor()
        self.assertEqual(checks["clock"]["verdict"], "warn")

    def test_environment_keys_and_profile_shown_never_the_secret(self):
        env = dict(self.aws.env(keys=True, sts=True), AWS_EC2_METADATA_DISABLED="true")
        env.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        self.write_json("etc/opsagent/local.json", {"aws": {"instance_id": self.aws.instance_id}})
        rc, d, checks = self.doctor(env=env)
        self.assertEqual(rc, 0, json.dumps(d["checks"], indent=1))
        self.assertEqual(checks["imds"]["verdict"], "skip")
        self.assertEqual(d["credentials"]["source"], "environment")
        self.assertEqual(d["credentials"]["access_key_id"], "****************MPLE")
        self.assertIn("arn:aws:sts::", checks["identity"]["text"])

    def test_endpoints_it_would_use(self):
        """FIPS in GovCloud, through a proxy: the names doctor shows are what the SDKs build. No
        credentials here, so that nothing is sent to those names."""
        env = {"AWS_REGION": "us-gov-west-1", "AWS_USE_FIPS_ENDPOINT": "true", "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_ENDPOINT_URL_EC2": None, "AWS_ENDPOINT_URL_CLOUDWATCH": None, "AWS_ENDPOINT_URL_STS": None,
               "AWS_ENDPOINT_URL_LOGS": None, "AWS_ENDPOINT_URL_SSM": None,
               "AWS_EC2_METADATA_SERVICE_ENDPOINT": None, "https_proxy": "http://127.0.0.1:9"}
        e = dict(self.env)
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        r = subprocess.run([harness.OPSAGENT, "--root", self.root, "doctor", "--json"], env=e,
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        d = json.loads(r.stdout)
        self.assertEqual(d["endpoints"]["ec2"]["url"], "https://ec2.us-gov-west-1.amazonaws.com")
        self.assertEqual(d["endpoints"]["cloudwatch"]["url"], "https://monitoring.us-gov-west-1.amazonaws.com")
        self.assertEqual(d["endpoints"]["sts"]["url"], "https://sts.us-gov-west-1.amazonaws.com")
        self.assertIn("FIPS", d["endpoints"]["ec2"]["origin"])
        self.assertEqual(d["endpoints"]["ec2"]["proxy"], "http://127.0.0.1:9")
        checks = {c["check"]: c for c in d["checks"]}
        self.assertEqual(checks["credentials"]["verdict"], "FAIL")

    def test_what_doctor_says_a_recipe_needs_is_what_the_policy_grants(self):
        with open(POLICY) as f:
            statements = {s["Sid"]: s for s in json.load(f)["Statement"]}
        rc, d, checks = self.doctor()
        self.assertTrue(d["needs"])
        for need in d["needs"]:
            for sid in [x.strip() for x in need["sids"].split(",")]:
                self.assertIn(sid, statements, need)
                actions = statements[sid]["Action"]
                self.assertIn(need["action"], actions if isinstance(actions, list) else [actions], (sid, need))


if __name__ == "__main__":
    tap.main()
