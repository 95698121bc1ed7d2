"""Shared helpers for the AWS integration tests: the stand-in, the test driver of the AWS
modules (tests/tools/aws_tool) and the environment pointing both at each other."""
import os
import subprocess
import sys

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
