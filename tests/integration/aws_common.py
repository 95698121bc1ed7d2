"""Shared helpers for the AWS integration tests: the stand-in, the test driver of the AWS
modules (tests/tools/aws_tool) and the environment pointing both at each other."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from standin.aws_standin import AwsStandin, ACCESS_KEY_ID, SECRET_ACCESS_KEY  # noqa: E402,F401

AWS_TOOL = os.path.join(harness.BUILDDIR, "tests", "tools", "aws_tool")


def tool_env(aws, keys=True, imds=True, **extra):
    env = harness.clean_env()
    env.update(aws.env(keys=keys, imds=imds))
    if not imds:
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_tool(aws, *args, keys=True, imds=True, timeout=90, env=None, **extra):
    e = tool_env(aws, keys=keys, imds=imds, **extra)
    if env:
        e.update(env)
    return subprocess.run([AWS_TOOL] + [str(a) for a in args], env=e, capture_output=True, text=True,
                          timeout=timeout)


class AgentStandinCase(harness.AgentTestCase):
    """A sandbox root running the real opsagent, and one stand-in per test class: faults and
    counters reset and an IMDSv2-only instance without user-data before each test, the agent's
    environment pointed at the stand-in. STANDIN_ENV: the arguments of AwsStandin.env()."""

    aws = None
    STANDIN_ENV = {}

    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin().start()

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def setUp(self):
        super().setUp()
        self.aws.clear_faults()
        self.aws.reset_calls()
        self.aws.set_instance(imds_v1=False, user_data="")
        self.env.update(self.aws.env(**self.STANDIN_ENV))


class SsmSourceCase(harness.AgentTestCase):
    """The stack configuration source's tests: one stand-in per class, reset before each test
    (self.aws), the agent pointed at it, CONFIG/source.json naming STACK in Parameter Store,
    and self.ssm to seed parameters directly (neither checked nor counted)."""

    STACK = "/opsagent/plone"
    standin = None

    @classmethod
    def setUpClass(cls):
        cls.standin = AwsStandin().start()

    @classmethod
    def tearDownClass(cls):
        cls.standin.stop()

    def setUp(self):
        super().setUp()
        self.aws = self.standin.reset()
        self.env.update(self.aws.env())
        self.ssm = self.aws.client("ssm", direct=True)
        self.write_json("etc/opsagent/source.json", {"ssm": {"path": self.STACK}})

    def put(self, name, value, secure=False):
        """STACK/NAME set to VALUE (JSON text when not a string); its new version."""
        if not isinstance(value, str):
            value = json.dumps(value)
        return self.ssm.put_parameter(Name=self.STACK + "/" + name, Value=value, Overwrite=True,
                                      Type="SecureString" if secure else "String")["Version"]


class StandinCase(unittest.TestCase):
    """One stand-in per test class; faults and counters reset before each test."""

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
