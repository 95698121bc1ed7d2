"""README.md's launch examples work as written: the cfn-init metadata sits in a
template cfn-lint accepts, the Custom JSON it writes and the user-data example are JSON
objects, the recipes they turn on have timers, and the command run is `opsagent setup`."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

README = os.path.join(harness.SRCDIR, "README.md")
ALARMS = os.path.join(harness.SRCDIR, "packaging", "cloudwatch-alarms.yaml")


def blocks(lang):
    with open(README) as f:
        return re.findall(r"```%s\n(.*?)```" % lang, f.read(), re.S)


def cfn_init_yaml():
    b = [x for x in blocks("yaml") if "AWS::CloudFormation::Init" in x]
    assert len(b) == 1, "expected one cfn-init yaml block in the README"
    return b[0]


def stack_json_from_yaml(y):
    """The `content: !Sub |` literal of /etc/opsagent/stack.json, substituted as CFN would."""
    m = re.search(r"/etc/opsagent/stack.json:\n(?:.*\n)*?( +)content: !Sub \|\n((?:\1 +.*\n)+)", y)
    assert m, "no stack.json content in the cfn-init example"
    text = m.group(2).replace("${AWS::StackName}", "my-stack")
    return json.loads(text)


def timers():
    return {os.path.basename(d) for d in os.listdir(os.path.join(harness.SRCDIR, "recipes"))
            if os.path.exists(os.path.join(harness.SRCDIR, "recipes", d, "opsagent-%s.timer" % d))}


class Readme(unittest.TestCase):
    def test_cfn_init_writes_valid_custom_json(self):
        attrs = stack_json_from_yaml(cfn_init_yaml())
        self.assertIsInstance(attrs, dict)
        self.assertEqual(attrs["opsagent"]["stack_name"], "my-stack")
        for name, on in attrs["opsagent"]["recipes"].items():
            self.assertIn(name, timers(), "README turns on %s, which has no timer" % name)
            self.assertIs(on, True)

    def test_cfn_init_runs_setup(self):
        self.assertRegex(cfn_init_yaml(), r"\n +command: /usr/bin/opsagent setup\n")

    def test_user_data_example_is_a_json_object(self):
        with open(README) as f:
            text = f.read()
        section = text[text.index("### Launch with user-data only"):]
        section = section[:section.index("\n## ")] if "\n## " in section else section
        b = re.findall(r"```json\n(.*?)```", section, re.S)
        self.assertEqual(len(b), 1)
        attrs = json.loads(b[0])
        self.assertIsInstance(attrs, dict)
        self.assertTrue(set(attrs["opsagent"]["recipes"]) <= timers())

    @unittest.skipUnless(shutil.which("cfn-lint"), "cfn-lint is not installed")
    def test_cfn_init_example_lints_in_a_template(self):
        y = cfn_init_yaml()
        t = ("AWSTemplateFormatVersion: \"2010-09-09\"\n"
             "Parameters:\n  ImageId:\n    Type: AWS::EC2::Image::Id\n"
             "Resources:\n  Node:\n    Type: AWS::EC2::Instance\n"
             + "".join(("    " + l if l else "") + "\n" for l in y.splitlines())
             + "    Properties:\n      ImageId: !Ref ImageId\n      InstanceType: t3.small\n")
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "template.yaml")
            with open(p, "w") as f:
                f.write(t)
            r = subprocess.run(["cfn-lint", p], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_alarms_shown_are_the_linted_template(self):
        """The alarms snippet in the README is packaging/cloudwatch-alarms.yaml, which
        test_report_alarms.py runs through cfn-lint."""
        shown = [x for x in blocks("yaml") if "AWS::CloudWatch::Alarm" in x]
        self.assertEqual(len(shown), 1)
        with open(ALARMS) as f:
            self.assertEqual(shown[0], f.read())


if __name__ == "__main__":
    tap.main()
