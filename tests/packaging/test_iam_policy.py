"""packaging/iam-policy.json: least privilege for what the recipes and the report call.

A small evaluator (Allow statements, Action/Resource wildcards, StringEquals conditions; the
only elements the policy uses, and any other element makes the test fail) answers requests
the agent makes and requests it must never be allowed to make. cfn-lint checks the document
against AWS's own action lists, when it is installed."""
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

POLICY = os.path.join(harness.SRCDIR, "packaging", "iam-policy.json")
SNAP = "arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0"
VOL = "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0123456789abcdef0"
INST = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"
KNOWN = {"Sid", "Effect", "Action", "Resource", "Condition"}
NEEDED = {"ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:DescribeVolumes",
          "ec2:CreateSnapshot", "ec2:CreateSnapshots", "ec2:CreateTags",
          "ec2:DeleteSnapshot", "cloudwatch:PutMetricData",
          "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:PutRetentionPolicy",
          "ec2:DescribeTags", "ssm:GetParametersByPath", "kms:Decrypt", "s3:GetObject"}


def as_list(v):
    return v if isinstance(v, list) else [v]


def load():
    with open(POLICY) as f:
        return json.load(f)


def allowed(policy, action, resource, context=None):
    """True when some Allow statement matches ACTION on RESOURCE with CONTEXT's keys."""
    context = {k.lower(): v for k, v in (context or {}).items()}
    for st in policy["Statement"]:
        if set(st) - KNOWN:
            raise AssertionError("statement uses elements this test cannot judge: %s" % st)
        if st["Effect"] != "Allow":
            raise AssertionError("unexpected Effect %r" % st["Effect"])
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(st["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in as_list(st["Resource"])):
            continue
        ok = True
        for op, keys in st.get("Condition", {}).items():
            if op not in ("StringEquals", "StringLike"):
                raise AssertionError("unexpected condition operator %s" % op)
            for key, values in keys.items():
                got = context.get(key.lower())
                if op == "StringEquals" and got not in as_list(values):
                    ok = False
                if op == "StringLike" and not (got and any(fnmatch.fnmatchcase(got, v) for v in as_list(values))):
                    ok = False
        if ok:
            return True
    return False


class Policy(unittest.TestCase):
    def setUp(self):
        self.p = load()

    def test_document_shape(self):
        self.assertEqual(self.p["Version"], "2012-10-17")
        actions = set()
        for st in self.p["Statement"]:
            for a in as_list(st["Action"]):
                self.assertNotIn("*", a, "wildcard action %s" % a)
                actions.add(a)
        self.assertEqual(actions, NEEDED)

    def test_what_the_agent_does_is_allowed(self):
        for action in ("ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:DescribeVolumes"):
            self.assertTrue(allowed(self.p, action, "*"), action)
        tagged = {"aws:RequestTag/opsagent:managed": "true"}
        for action in ("ec2:CreateSnapshot", "ec2:CreateSnapshots"):
            self.assertTrue(allowed(self.p, action, VOL), action)
            self.assertTrue(allowed(self.p, action, SNAP, tagged), action)
        self.assertTrue(allowed(self.p, "ec2:CreateSnapshots", INST))
        for create in ("CreateSnapshot", "CreateSnapshots"):
            self.assertTrue(allowed(self.p, "ec2:CreateTags", SNAP, {"ec2:CreateAction": create}))
        self.assertTrue(allowed(self.p, "ec2:DeleteSnapshot", SNAP,
                                {"aws:ResourceTag/opsagent:managed": "true"}))
        self.assertTrue(allowed(self.p, "cloudwatch:PutMetricData", "*",
                                {"cloudwatch:namespace": "OpsAgent"}))

    def test_the_log_shipper_is_allowed_and_nothing_more_of_logs(self):
        stream = "arn:aws:logs:eu-west-1:123456789012:log-group:/opsagent/app:log-stream:i-0123456789abcdef0"
        group = "arn:aws:logs:eu-west-1:123456789012:log-group:/opsagent/app"
        for action in ("logs:PutLogEvents", "logs:CreateLogStream"):
            self.assertTrue(allowed(self.p, action, stream), action)
        for action in ("logs:CreateLogGroup", "logs:PutRetentionPolicy"):
            self.assertTrue(allowed(self.p, action, group), action)
        for action in ("logs:DeleteLogGroup", "logs:DeleteLogStream", "logs:GetLogEvents"):
            self.assertFalse(allowed(self.p, action, group), action)

    def test_stack_configuration_source_only_under_opsagent(self):
        """Issue 18: Parameter Store under /opsagent/, KMS only on SSM's behalf, S3 only under opsagent/."""
        self.assertTrue(allowed(self.p, "ec2:DescribeTags", "*"))
        self.assertTrue(allowed(self.p, "ssm:GetParametersByPath",
                                "arn:aws:ssm:eu-west-1:123456789012:parameter/opsagent/plone"))
        self.assertFalse(allowed(self.p, "ssm:GetParametersByPath",
                                 "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db"))
        self.assertFalse(allowed(self.p, "ssm:GetParameter",
                                 "arn:aws:ssm:eu-west-1:123456789012:parameter/opsagent/plone"))
        key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        self.assertTrue(allowed(self.p, "kms:Decrypt", key, {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}))
        self.assertFalse(allowed(self.p, "kms:Decrypt", key))
        self.assertFalse(allowed(self.p, "kms:Decrypt", key, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}))
        self.assertTrue(allowed(self.p, "s3:GetObject", "arn:aws:s3:::my-stacks/opsagent/plone.json"))
        self.assertFalse(allowed(self.p, "s3:GetObject", "arn:aws:s3:::my-stacks/other/plone.json"))
        self.assertFalse(allowed(self.p, "s3:PutObject", "arn:aws:s3:::my-stacks/opsagent/plone.json"))

    def test_never_deletes_what_it_did_not_tag(self):
        self.assertFalse(allowed(self.p, "ec2:DeleteSnapshot", SNAP))
        self.assertFalse(allowed(self.p, "ec2:DeleteSnapshot", SNAP,
                                 {"aws:ResourceTag/opsagent:managed": "false"}))
        self.assertFalse(allowed(self.p, "ec2:DeleteVolume", VOL))

    def test_untagged_snapshots_cannot_be_created(self):
        self.assertFalse(allowed(self.p, "ec2:CreateSnapshot", SNAP))

    def test_tags_only_at_creation_and_only_on_snapshots(self):
        # Tagging an existing snapshot would let anyone mark a manual snapshot as ours.
        self.assertFalse(allowed(self.p, "ec2:CreateTags", SNAP))
        self.assertFalse(allowed(self.p, "ec2:CreateTags", SNAP, {"aws:ResourceTag/opsagent:managed": "false"}))
        self.assertFalse(allowed(self.p, "ec2:CreateTags", VOL, {"ec2:CreateAction": "CreateSnapshot"}))
        self.assertFalse(allowed(self.p, "ec2:CreateTags", INST, {"ec2:CreateAction": "RunInstances"}))

    def test_tags_of_our_snapshots_can_be_completed(self):
        # A multi-volume set gets each snapshot's device after CreateSnapshots (the API has no
        # per-volume tags), and a run killed in between leaves that to the next run: only on
        # snapshots that are ours already, so no manual snapshot can be made ours.
        self.assertTrue(allowed(self.p, "ec2:CreateTags", SNAP, {"aws:ResourceTag/opsagent:managed": "true"}))
        self.assertFalse(allowed(self.p, "ec2:CreateTags", VOL, {"aws:ResourceTag/opsagent:managed": "true"}))

    def test_metrics_only_in_the_opsagent_namespace(self):
        self.assertFalse(allowed(self.p, "cloudwatch:PutMetricData", "*"))
        self.assertFalse(allowed(self.p, "cloudwatch:PutMetricData", "*",
                                 {"cloudwatch:namespace": "AWS/EC2"}))

    def test_evaluator_can_say_no(self):
        # The checks above mean something only if the evaluator refuses what no statement allows.
        self.assertFalse(allowed(self.p, "ec2:TerminateInstances", INST))
        self.assertFalse(allowed(self.p, "iam:PassRole", "*"))

    @unittest.skipUnless(shutil.which("cfn-lint"), "cfn-lint is not installed")
    def test_cfn_lint_knows_every_action(self):
        with tempfile.TemporaryDirectory() as d:
            t = os.path.join(d, "template.json")
            with open(t, "w") as f:
                json.dump({"AWSTemplateFormatVersion": "2010-09-09",
                           "Resources": {"OpsAgentPolicy": {
                               "Type": "AWS::IAM::ManagedPolicy",
                               "Properties": {"PolicyDocument": self.p}}}}, f)
            r = subprocess.run(["cfn-lint", t], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    tap.main()
